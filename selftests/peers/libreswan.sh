#!/bin/bash
# Libreswan 4.10 (pluto) as an interop peer inside the VM, from the private
# root made by scripts/libreswan-root.sh (TCPIKE_LIBRESWAN_ROOT).  Sourced by
# test scripts after selftests/lib.sh.  Each pluto gets its own run
# directory, NSS database and control socket, so several can run at once.

LSW_ROOT=${TCPIKE_LIBRESWAN_ROOT:-}
LSW=$LSW_ROOT/usr/libexec/ipsec
declare -A LSW_PID

lsw_available() {
	[ -n "$LSW_ROOT" ] && [ -x "$LSW/pluto" ] && command -v certutil >/dev/null
}

# pluto forks $LIBEXEC/ipsec/addconn from a compiled-in /usr/libexec path:
# the root is read-only in the VM, so bind a symlink farm over /usr/libexec
# once (tmpfs under /run).
lsw_setup() {
	[ -L /usr/libexec/ipsec ] && return 0
	mkdir -p /run/libexec.orig /run/libexec
	mount --bind /usr/libexec /run/libexec.orig || return 1
	local f
	for f in /run/libexec.orig/*; do ln -sf "$f" /run/libexec/; done
	ln -sfn "$LSW" /run/libexec/ipsec
	mount --bind /run/libexec /usr/libexec
}

# lsw_start NS CONFIG: pluto in NS, connections of CONFIG loaded (again
# after lsw_kill: the NSS database is kept).
lsw_start() {
	local ns=$1 conf=$2 i
	lsw_setup || return 1
	mkdir -p "/run/pluto-$ns" "/run/nss-$ns"
	[ -e "/run/nss-$ns/cert9.db" ] ||
		certutil -N -d "sql:/run/nss-$ns" --empty-password || return 1
	ip netns exec "$ns" "$LSW/pluto" --config "$conf" --nofork --rundir "/run/pluto-$ns" \
		--nssdir "/run/nss-$ns" --ipsecdir "$LSW_ROOT/etc/ipsec.d" \
		>"/run/pluto-$ns/stdout" 2>&1 &
	LSW_PID[$ns]=$!
	for i in $(seq 1 150); do
		[ -S "/run/pluto-$ns/pluto.ctl" ] && break
		sleep 0.1
	done
	[ -S "/run/pluto-$ns/pluto.ctl" ] || { cat "/run/pluto-$ns/stdout"; return 1; }
	ip netns exec "$ns" "$LSW/addconn" --config "$conf" \
		--ctlsocket "/run/pluto-$ns/pluto.ctl" --autoall >/dev/null
}

lsw_whack() {
	local ns=$1
	shift
	ip netns exec "$ns" "$LSW/whack" --ctlsocket "/run/pluto-$ns/pluto.ctl" "$@"
}

lsw_stop() {
	lsw_whack "$1" --shutdown >/dev/null 2>&1
}

# lsw_kill NS: pluto in NS killed like a crash (SIGKILL: no Delete, its
# kernel SAs left behind); its control socket and lock file are removed so
# that lsw_start waits for the new one.
lsw_kill() {
	kill -9 "${LSW_PID[$1]}" 2>/dev/null
	wait "${LSW_PID[$1]}" 2>/dev/null
	unset "LSW_PID[$1]"
	rm -f "/run/pluto-$1/pluto.ctl" "/run/pluto-$1/pluto.pid"
}

# The pluto log without the algorithm self-test noise.
lsw_log() {
	grep -v -E '^.{27}(  |testing|RFC|CAVP)' "/run/pluto-$1/pluto.log" 2>/dev/null
}
