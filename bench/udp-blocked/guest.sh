#!/bin/bash
# B4's VM part inside the test VM (bench/udp-blocked/host.sh boots it):
#
#   scripts/vm-run -- bench/udp-blocked/guest.sh
#
# Time from the initiate command to the first ping reply through the tunnel
# (kernel ESP, AES-GCM-16-256, X25519, PSK), two namespaces on a veth,
# with UDP 500/4500 dropped at the responder's input and, as the reference,
# with UDP open:
#   tcpiked-auto       two tcpiked (backend module), transport auto, every
#                      timer at its default (tcp_race_delay 250 ms)
#   tcpiked-separate   the same with transport separate (it races too)
#   lsw-default        two Libreswan 4.10 pluto, enable-tcp=fallback,
#                      retransmit-timeout and -interval at their defaults
#                      (60 s, 500 ms)
#   lsw-rtN            the same with retransmit-timeout=Ns for each N of
#                      B4_LSW_TIMEOUTS (10 5 2: 10 s is the value
#                      ipsec.conf(5) recommends for fallback mode)
# Each B4_RUNS (3) times; lsw-default blocked only B4_LSW_DEFAULT_RUNS (1)
# times (its UDP phase alone is a fixed 64 s schedule).  A ping every 50 ms
# (iputils) from a's inner address to b's; clear ICMP never leaves either
# end (nft), so only a reply through the tunnel counts.
# Output lines:
#   B4VM CASE open|blocked RUN MS TRANSPORT     (MS "-": no reply in time)
#   B4INFO sentence, and B4ERR sentence on a harness failure (exit 1).
# TRANSPORT: how the installed SAs carry ESP (a's kernel: "espintcp",
# "espinudp" or "esp").
set -u
. "$(dirname "$0")/../lib/guest.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/libreswan.sh"
RUNS=${B4_RUNS:-3}
LSW_DEFAULT_RUNS=${B4_LSW_DEFAULT_RUNS:-1}
LIMIT=${B4_LIMIT:-120}		# seconds to wait for a reply
LSW_TIMEOUTS=${B4_LSW_TIMEOUTS:-10 5 2}
PSK=tcpike-b4-bench-psk-0123456789
err=0
berr() { echo "B4ERR $*"; err=1; }

echo "B4INFO kernel $(uname -r), $(nproc) cpus"
[ -x "$BIN/tcpiked" ] || { berr "$BIN/tcpiked not built"; exit 1; }
lsmod 2>/dev/null | grep -q '^tcpike ' || insmod "$TCPIKE_MODULE" ||
	{ berr "insmod $TCPIKE_MODULE failed"; exit 1; }
lsw=1
lsw_available || { lsw=0; berr "no Libreswan root (TCPIKE_LIBRESWAN_ROOT): Libreswan rows missing"; }
[ $lsw = 1 ] && echo "B4INFO $("$LSW/pluto" --version 2>&1 | head -n1 | cut -d' ' -f1-2)"

# fresh pair of namespaces, inner routes, clear ICMP dropped on egress
topo() {
	ns_cleanup
	topo_pair "b4$$" >/dev/null || return 1
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.va.disable_ipv6=1
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
	ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
	local n
	for n in "$NS_A va" "$NS_B vb"; do
		set -- $n
		ip netns exec "$1" nft -f - <<NFT || return 1
table inet clr {
	chain out { type filter hook postrouting priority 0; oifname "$2" meta l4proto icmp rt ipsec missing drop; }
}
NFT
	done
}
block() {
	ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain in { type filter hook input priority -20; udp dport { 500, 4500 } counter drop; }
}
NFT
}
dropped() { ip netns exec "$NS_B" nft list table inet blk 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }

# first_reply T0: ms from T0 (date +%s%N) to the first echo reply
first_reply() {
	ip netns exec "$NS_A" ping -q -n -c 1 -i 0.05 -w "$LIMIT" -I 192.168.1.1 192.168.2.1 \
		>/dev/null 2>&1 || return 1
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}
carrier() {	# how a's SAs carry ESP
	local s
	s=$(ip -n "$NS_A" xfrm state)
	if grep -q 'encap type espintcp' <<<"$s"; then echo espintcp
	elif grep -q 'encap type espinudp' <<<"$s"; then echo espinudp
	elif grep -q '^src' <<<"$s"; then echo esp
	else echo none
	fi
}

stop_tcpiked() { [ -n "${IKE_PID[$1]:-}" ] && ike_stop "$1" >/dev/null; true; }
# pluto in NS asked to shut down, and gone (its run directory is reused)
stop_pluto() {
	local i
	lsw_stop "$1"
	for i in $(seq 100); do
		pgrep -f "rundir /run/pluto-$1 " >/dev/null || return 0
		sleep 0.1
	done
	pkill -9 -f "rundir /run/pluto-$1 "
}

tcpiked_once() {	# tcpiked_once TRANSPORT BLOCKED RUN
	local x=$1 b=$2 run=$3 t0 ms
	topo || { berr "tcpiked-$x: namespaces"; return 1; }
	[ "$b" = 1 ] && block
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=10.0.0.1 rid=10.0.0.2 psk=$PSK backend=module \
		"conn_extra=transport = $x" "daemon_extra=log_level = info"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=10.0.0.2 rid=10.0.0.1 psk=$PSK backend=module "daemon_extra=log_level = info"
	sed -i 's/log_level = debug//' "$IKE_DIR/a.conf" "$IKE_DIR/b.conf"
	if ! ike_start "$NS_B" b || ! ike_start "$NS_A" a; then
		berr "tcpiked-$x: a daemon did not start"
		stop_tcpiked a; stop_tcpiked b
		return 1
	fi
	t0=$(date +%s%N)
	ike_ctl a initiate c --no-wait >/dev/null
	ms=$(first_reply "$t0") || { ms=-; berr "tcpiked-$x blocked=$b run $run: no ping reply in $LIMIT s"; tail -n 20 "$IKE_DIR/a.log" | sed 's/^/B4INFO a: /'; }
	echo "B4VM tcpiked-$x $([ "$b" = 1 ] && echo blocked || echo open) $run $ms $(carrier)"
	[ "$b" = 1 ] && [ "$(dropped)" -lt 1 ] && berr "tcpiked-$x run $run: no UDP reached the block"
	stop_tcpiked a
	stop_tcpiked b
}

lsw_conf() {	# lsw_conf SIDE RETRANSMIT-LINES
	local side=$1 extra=$2 l r lnet rnet
	if [ "$side" = a ]; then l=10.0.0.1 r=10.0.0.2 lnet=192.168.1.0/24 rnet=192.168.2.0/24
	else l=10.0.0.2 r=10.0.0.1 lnet=192.168.2.0/24 rnet=192.168.1.0/24
	fi
	local ns=$NS_A
	[ "$side" = b ] && ns=$NS_B
	cat >"$IKE_DIR/lsw-$side.conf" <<EOF
config setup
	logfile=/run/pluto-$ns/pluto.log
	logappend=no
	logtime=yes
	plutodebug=none
	secretsfile=$IKE_DIR/lsw.secrets
	dumpdir=/run/pluto-$ns
	listen-tcp=yes

conn fb
	ikev2=yes
	authby=secret
	left=$l
	leftid=$l
	leftsubnet=$lnet
	right=$r
	rightid=$r
	rightsubnet=$rnet
	ike=aes_gcm256-sha2_256;dh31
	esp=aes_gcm256
	enable-tcp=fallback
	tcp-remoteport=4500
	leftupdown=""
	auto=add
$extra
EOF
}

lsw_once() {	# lsw_once default|rtN BLOCKED RUN
	local v=$1 b=$2 run=$3 t0 ms extra=
	[ "$v" != default ] && extra=$'\tretransmit-timeout='"${v#rt}s"
	topo || { berr "lsw-$v: namespaces"; return 1; }
	[ "$b" = 1 ] && block
	printf '10.0.0.1 10.0.0.2 : PSK "%s"\n' "$PSK" >"$IKE_DIR/lsw.secrets"
	chmod 600 "$IKE_DIR/lsw.secrets"
	lsw_conf a "$extra"
	lsw_conf b ""
	rm -rf "/run/pluto-$NS_A" "/run/pluto-$NS_B" "/run/nss-$NS_A" "/run/nss-$NS_B"
	if ! lsw_start "$NS_B" "$IKE_DIR/lsw-b.conf" || ! lsw_start "$NS_A" "$IKE_DIR/lsw-a.conf"; then
		berr "lsw-$v: pluto did not start"
		stop_pluto "$NS_A"; stop_pluto "$NS_B"
		return 1
	fi
	t0=$(date +%s%N)
	lsw_whack "$NS_A" --initiate --asynchronous --name fb >/dev/null 2>&1
	ms=$(first_reply "$t0") || { ms=-; berr "lsw-$v blocked=$b run $run: no ping reply in $LIMIT s"; lsw_log "$NS_A" | tail -n 20 | sed 's/^/B4INFO a: /'; }
	echo "B4VM lsw-$v $([ "$b" = 1 ] && echo blocked || echo open) $run $ms $(carrier)"
	[ "$b" = 1 ] && [ "$(dropped)" -lt 1 ] && berr "lsw-$v run $run: no UDP reached the block"
	stop_pluto "$NS_A"
	stop_pluto "$NS_B"
}

# Rounds interleave the cases, so drift of the emulated machine falls on
# every case alike; the long Libreswan default runs come last.
for run in $(seq "$RUNS"); do
	for b in 0 1; do
		tcpiked_once auto "$b" "$run"
		tcpiked_once separate "$b" "$run"
		if [ $lsw = 1 ]; then
			for t in $LSW_TIMEOUTS; do
				lsw_once "rt$t" "$b" "$run"
			done
			[ "$b" = 0 ] && lsw_once default 0 "$run"
		fi
	done
done
if [ $lsw = 1 ]; then
	for run in $(seq "$LSW_DEFAULT_RUNS"); do
		lsw_once default 1 "$run"
	done
fi
ns_cleanup
exit $err
