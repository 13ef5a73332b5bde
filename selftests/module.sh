#!/bin/bash
# Helpers for the tcpike.ko VM tests (sourced after lib.sh).
NL=$TOOL_BIN/tools/tcpike-nl
KEY_AB=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324
KEY_BA=0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4

# Loads the module under test, or ends the script with a failure.  One
# left by a test before goes first (once its namespaces are gone: see
# module_unload).
module_load() {
	local out
	[ -f "$TCPIKE_MODULE" ] || tap_skip_all "module not built ($TCPIKE_MODULE)"
	lsmod 2>/dev/null | grep -q '^tcpike ' && wait_for 30 rmmod tcpike
	# On a modular kernel (Debian's) the XFRM algorithm table is a module
	# of its own, and insmod, unlike modprobe, does not load dependencies.
	[ -d "/lib/modules/$(uname -r)/kernel" ] && modprobe -a xfrm_algo xfrm_user esp4 esp6 2>/dev/null
	if ! out=$(insmod "$TCPIKE_MODULE" 2>&1); then
		tap_fail "insmod tcpike.ko" "$out"
		tap_done
	fi
	tap_ok "insmod tcpike.ko"
}

# wire_in NAME=MATCH...: B's table inet wire, counting on its input from A
# (link vb) what each MATCH (nft) selects in a rule commented NAME.
wire_in() {
	local r rules=
	for r in "$@"; do
		rules+=$'\t\tiifname "vb" '"${r#*=} counter comment \"${r%%=*}\""$'\n'
	done
	ip netns exec "$NS_B" nft -f - <<NFT
table inet wire {
	chain in {
		type filter hook input priority -300;
$rules	}
}
NFT
}

# rule_cnt NAME: the packets counted by wire_in's rule NAME.
rule_cnt() {
	ip netns exec "$NS_B" nft list table inet wire |
		sed -n "s/.*counter packets \([0-9]*\) .*comment \"$1\".*/\1/p"
}

# sa_oseq [NS SRC DST SPI [SELECTOR...]]: the output sequence number (hex)
# of an ESP state; by default A's 0x1001 to B (module_tunnel's).
sa_oseq() {
	local ns=${1:-$NS_A} src=${2:-10.0.0.1} dst=${3:-10.0.0.2} spi=${4:-0x1001}

	shift $(($# < 4 ? $# : 4))
	ip -n "$ns" xfrm state get src "$src" dst "$dst" proto esp spi "$spi" "$@" |
		sed -n 's/.*oseq 0x\([0-9a-f]*\).*/\1/p'
}

# module_tunnel: after topo_pair, an AES-GCM tunnel 192.168.1.0/24 <->
# 192.168.2.0/24 between 10.0.0.1 and 10.0.0.2, SAs (0x1001 a->b, 0x2002
# b->a, reqid 7) and policies all through the module.
module_tunnel() {
	local n ns
	ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1 || return 1
	ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1 || return 1
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" "$NL" sa-new --spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2 \
			--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB "$@" || return 1
		ip netns exec "$ns" "$NL" sa-new --spi 0x2002 --src 10.0.0.2 --dst 10.0.0.1 \
			--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_BA "$@" || return 1
	done
	module_policies
}

# module_policies: the out/in/fwd policies of module_tunnel's tunnel
# (reqid 7), in both namespaces, through the module.
module_policies() {
	local n
	for n in "$NS_A 192.168.1.0/24 192.168.2.0/24 10.0.0.1 10.0.0.2" \
		 "$NS_B 192.168.2.0/24 192.168.1.0/24 10.0.0.2 10.0.0.1"; do
		set -- $n
		ip netns exec "$1" "$NL" policy-new --dir out --from "$2" --to "$3" --src "$4" --dst "$5" --reqid 7 &&
		ip netns exec "$1" "$NL" policy-new --dir in --from "$3" --to "$2" --src "$5" --dst "$4" --reqid 7 &&
		ip netns exec "$1" "$NL" policy-new --dir fwd --from "$3" --to "$2" --src "$5" --dst "$4" --reqid 7 ||
			return 1
	done
}

# expect_refusal DESC FRAGMENT CMD...: ok when CMD fails and says FRAGMENT
# (a refusal with its own sentence).
expect_refusal() {
	local desc=$1 frag=$2 out
	shift 2
	out=$("$@" 2>&1)
	if [ $? -ne 0 ] && printf '%s' "$out" | grep -qF "$frag"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "wanted a refusal containing '$frag', got: $out"
	fi
}

# ping_start LOG [COUNT [INTERVAL]]: a ping stream from a (192.168.1.1) to
# b (192.168.2.1) through the tunnel in the background, its output in LOG;
# PING is its pid, returned once it is ping's (the exec done): a signal
# that reaches the forked shell before its exec can be lost, and the ping
# then runs its whole COUNT (vm/29 hung so, its kill sent at once, 1 run
# in 3 under emulation).
ping_start() {
	ip netns exec "$NS_A" ping -i "${3:-0.1}" -c "${2:-3000}" -W 1 \
		-I 192.168.1.1 192.168.2.1 >"$1" 2>&1 &
	PING=$!
	wait_for 10 grep -qx ping "/proc/$PING/comm" ||
		echo "# ping_start: pid $PING is not ping after 10 s"
}

# ping_check DESC LOG MAX_LOST: stops the stream and reads its summary; ok
# when at least 40 pings went out and at most MAX_LOST got no answer.
# (Emulated time is slow and uneven, so the stream runs until here.)
ping_check() {
	local tx rx
	kill -INT "$PING"
	wait "$PING"
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$2")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$2")
	if [ -n "$tx" ] && [ -n "$rx" ] && [ "$tx" -ge 40 ] && [ $((tx - rx)) -le "$3" ]; then
		tap_ok "$1 ($((tx - rx)) of $tx lost)"
	else
		tap_fail "$1" "at most $3 lost: $(tail -2 "$2")"
	fi
}

# encap_sockets TAG [SECONDS]: an RFC 3948 encapsulation socket on UDP 4500
# (UDP_ENCAP_ESPINUDP), as the daemon holds it, in both namespaces, held
# open in the background for SECONDS (600); returns once both are bound
# (1 when one is not within 20 s).
encap_sockets() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		rm -f "/tmp/$1-$ns"
		ip netns exec "$ns" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
s.setsockopt(socket.IPPROTO_UDP, 100, 2)   # UDP_ENCAP, UDP_ENCAP_ESPINUDP
open(sys.argv[1], "w").write("ready")
time.sleep(float(sys.argv[2]))' "/tmp/$1-$ns" "${2:-600}" &
	done
	wait_for 20 test -s "/tmp/$1-$NS_A" && wait_for 20 test -s "/tmp/$1-$NS_B"
}

# module_unload DESC: rmmod, once nothing holds the module.  Each SA and
# policy it owns holds a reference on it (an unload must not leave traffic
# in clear), so the test's namespaces go first; their teardown, a kernel
# work, drops what the module owned there, and rmmod is retried meanwhile
# (2 min: under TCG and load, cleanup_net's RCU waits took over 30 s).
module_unload() {
	ns_cleanup
	if wait_for 120 rmmod tcpike; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(rmmod tcpike 2>&1); $(lsmod | grep '^tcpike ')"
	fi
}

# module_unload_refused DESC: rmmod fails, saying the module is in use.
module_unload_refused() {
	local out
	if out=$(rmmod tcpike 2>&1); then
		tap_fail "$1" "rmmod succeeded"
	else
		case "$out" in
		*"in use"*) tap_ok "$1" ;;
		*) tap_fail "$1" "$out" ;;
		esac
	fi
}

# nl_monitor NS FILE [COUNT [TIMEOUT]]: tcpike-nl monitor in NS in the
# background (MON its pid), returning once it listens.
nl_monitor() {
	ip netns exec "$1" "$NL" monitor --count "${3:-1000}" --timeout "${4:-120}" >"$2" 2>&1 &
	MON=$!
	wait_for 10 grep -q listening "$2"
}

# espintcp_conn NS READYFILE ARGS...: selftests/espintcp_conn in NS in the
# background (listen ADDR PORT, or connect LADDR LPORT RADDR RPORT; -n: no
# ULP); READYFILE gets "LPORT RPORT" once the connection holds the
# espintcp ULP, READYFILE.err its complaints.
espintcp_conn() {
	local ns=$1 f=$2
	shift 2
	rm -f "$f"
	ip netns exec "$ns" "$TOOL_BIN/selftests/espintcp_conn" "$@" "$f" 2>"$f.err" &
}
