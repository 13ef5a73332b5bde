#!/bin/bash
# Helpers for tcpike's shell tests: TAP output and network namespaces.
# A test script sources this, calls tap_* for each check, and ends with
# tap_done.  Every check prints exactly one "ok"/"not ok" line.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${BIN:-$TOP/build/asan}
# The clients the tests call again and again (tcpikectl, tcpike-nl, the
# helper programs under selftests/) come from TOOL_BIN, the code under test
# (tcpiked, the backend test programs) from BIN.  In the VM (run-vm.sh
# sets TCPIKE_PLAIN_TOOLS) they are the plain build's, which make check
# builds beside the ASan one: under TCG an ASan binary took 3.9 s to start
# (20 runs of tcpikectl --help: 78 s ASan, 8.6 s plain, 10.5 s /bin/true).
if [ -z "${TOOL_BIN:-}" ]; then
	TOOL_BIN=$BIN
	if [ "${TCPIKE_PLAIN_TOOLS:-}" = 1 ]; then
		[ -x "$TOP/build/tcpikectl" ] && [ -x "$TOP/build/tools/tcpike-nl" ] ||
			echo "# lib.sh: no plain build (make userspace): the clients are ASan's" >&2
		[ -x "$TOP/build/tcpikectl" ] && TOOL_BIN=$TOP/build
	fi
fi
# The module to insmod in VM tests: the 6.12 build at the top by default;
# the Debian 6.1 run points this at build/kmod-6.1/tcpike.ko.
TCPIKE_MODULE=${TCPIKE_MODULE:-$TOP/tcpike.ko}
TAP_N=0
TAP_FAILED=0

tap_ok()   { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1"; }
tap_fail() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N $1"
	[ -n "${2:-}" ] && echo "# $2"
	return 0
}
# A skip says why.  scripts/check fails a run on the machines the README
# names (Debian 12, root) for every skip but those of what a kernel lacks
# by design: tap_skip_design (reason "by design: ...").
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1 # SKIP ${2:-no reason given}"; }
tap_skip_design() { tap_skip "$1" "by design: $2"; }
# tap_check "description" command args... : ok when the command succeeds
tap_check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command failed (rc $rc): $*"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}
# tap_expect_eq "description" expected actual
tap_expect_eq() {
	if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1" "expected '$2', got '$3'"; fi
}
# saw "description" REGEX: ok when the file $PO (a peer's or a probe's
# output) has a line matching REGEX; otherwise its last lines, indented
saw() {
	if grep -qE "$2" "$PO"; then
		tap_ok "$1"
	else
		tap_fail "$1" "no line matching /$2/ in $(basename "$PO"):"
		sed 's/^/#   /' "$PO" | tail -n 25
	fi
}
tap_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
tap_done() { exit $((TAP_FAILED > 0)); }

# Skip the whole script (one SKIP line) when a prerequisite is missing.
tap_skip_all() { tap_skip "${TAP_NAME:-$(basename "$0")}" "$1"; exit 0; }
tap_skip_all_design() { tap_skip_all "by design: $1"; }

require_root() { [ "$(id -u)" = 0 ] || tap_skip_all "needs root"; }
require_netns() {
	require_root
	ip netns add tcpike-probe-$$ 2>/dev/null || tap_skip_all "cannot create network namespaces"
	ip netns del tcpike-probe-$$
}
# Namespaces and a built tcpiked: what every test of the daemon needs.
require_tcpiked() {
	require_netns
	[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
}
# The Python peers' cryptography (selftests/ikev2.py).
require_py_crypto() {
	python3 -c 'import cryptography' 2>/dev/null ||
		tap_skip_all "python3 has no cryptography module (Debian: python3-cryptography)"
}
# Does the kernel offer the espintcp ULP (ESP in TCP, RFC 9329)?
have_espintcp() { grep -qw espintcp /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; }

# Namespaces made through ns_add are removed on exit.
NS_LIST=()
ns_add() { ip netns add "$1" && NS_LIST+=("$1") && ip -n "$1" link set lo up; }
ns_cleanup() {
	local ns
	disown -a 2>/dev/null	# no "Killed" job reports for what is stopped here
	for ns in "${NS_LIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NS_LIST=()
}
trap ns_cleanup EXIT

# wait_for SECONDS command... : poll every 0.1 s until the command succeeds,
# SECONDS * 10 tries: SECONDS for a quick command, longer for a slow one
# (status queries of two daemons: swt_wait in peers/strongswan.sh keeps
# to the clock)
wait_for() {
	local t=$(( $1 * 10 ))
	shift
	while [ $t -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

# Two hosts a and b on one veth link, 10.0.0.1/24 and 10.0.0.2/24, with
# "inner" subnets 192.168.1.1/24 and 192.168.2.1/24 on lo (namespaces get a
# unique prefix so concurrent runs do not collide).
topo_pair() {
	local p=${1:-t$$}
	NS_A=$p-a NS_B=$p-b
	ns_add "$NS_A" && ns_add "$NS_B" || return 1
	ip link add va netns "$NS_A" type veth peer name vb netns "$NS_B" || return 1
	ip -n "$NS_A" addr add 10.0.0.1/24 dev va
	ip -n "$NS_B" addr add 10.0.0.2/24 dev vb
	ip -n "$NS_A" link set va up
	ip -n "$NS_B" link set vb up
	ip -n "$NS_A" addr add 192.168.1.1/24 dev lo
	ip -n "$NS_B" addr add 192.168.2.1/24 dev lo
}

# a -- r -- b with r masquerading a's traffic (a behind NAT).
# a: 10.1.0.2/24 (gw 10.1.0.1), r: 10.1.0.1 + 10.0.0.1, b: 10.0.0.2/24.
topo_nat() {
	local p=${1:-n$$}
	NS_A=$p-a NS_R=$p-r NS_B=$p-b
	ns_add "$NS_A" && ns_add "$NS_R" && ns_add "$NS_B" || return 1
	ip link add va netns "$NS_A" type veth peer name ra netns "$NS_R"
	ip link add rb netns "$NS_R" type veth peer name vb netns "$NS_B"
	ip -n "$NS_A" addr add 10.1.0.2/24 dev va
	ip -n "$NS_R" addr add 10.1.0.1/24 dev ra
	ip -n "$NS_R" addr add 10.0.0.1/24 dev rb
	ip -n "$NS_B" addr add 10.0.0.2/24 dev vb
	for l in "$NS_A va" "$NS_R ra" "$NS_R rb" "$NS_B vb"; do
		set -- $l; ip -n "$1" link set "$2" up
	done
	ip -n "$NS_A" route add default via 10.1.0.1
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NS_A" addr add 192.168.1.1/24 dev lo
	ip -n "$NS_B" addr add 192.168.2.1/24 dev lo
	ip netns exec "$NS_R" nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "rb" masquerade
	}
}
NFT
}

# --- counting on the wire ------------------------------------------------------
#
# wire_count HOST=NS...: nft counters (table inet wire) of everything each
# namespace receives (in_NAME) and sends (out_NAME), per transport and
# port, counted before any other rule of the namespace can drop it:
#   ike500   UDP with port 500 on either side
#   ike4500  UDP with port 4500 on either side, after the non-ESP marker (IKE)
#   ka4500   UDP 4500 NAT-keepalives (one byte 0xFF, RFC 3948 §2.3)
#   esp4500  UDP 4500 ESP (a non-zero SPI, RFC 3948 §2.1)
#   tcp      TCP segments with PSH (the end of each write: data was sent)
#            with a port of WIRE_TCP_PORTS (default 4500) on either side
#   syn      SYN without ACK to one of those ports (a connection opened)
#   fin      FIN on one of those ports
#   esp      IP protocol 50 (ESP on IP)
#   icmp     ICMP (IPv4); on output a local packet is counted before any
#            IPsec policy encrypts it or a trap holds it, so out_icmp says
#            only that it was sent; in_icmp counts clear ICMP and what ESP
#            decrypted
# HOST is the short name the checks use (a, b, r).
#
# cnt NS-or-HOST NAME [TABLE]   a counter's packets (TABLE "inet wire")
# wire_reset                    every wire counter to 0
# wire_mark TAG                 remember every counter now
# wire_check [-d TAG] "description" HOST:NAME<op>N...
#       one TAP line: ok when each counter (its growth since wire_mark TAG
#       with -d) compares with N by <op>: = != < <= > >=; the diagnostic
#       lists every counter that did not
# wire_show                     every non-zero counter as a TAP comment
declare -A WIRE_NS WIRE_MARK
WIRE_NAMES="ike500 ike4500 ka4500 esp4500 tcp syn fin esp icmp"
# Specs for wire_check between a (the initiator) and b: no IKE on UDP at
# either end; and a separate-transports setup: IKE_SA_INIT once each way on
# UDP 4500, nothing on 500, then one TCP connection, opened by a.
WIRE_NO_UDP_IKE=(a:out_ike500=0 a:in_ike500=0 b:out_ike500=0 b:in_ike500=0
		 a:out_ike4500=0 a:in_ike4500=0 b:out_ike4500=0 b:in_ike4500=0)
WIRE_SEPARATE_SETUP=(a:out_ike4500=1 a:in_ike4500=1 b:in_ike4500=1 b:out_ike4500=1
		     a:out_ike500=0 a:in_ike500=0 b:out_ike500=0 b:in_ike500=0
		     a:out_syn=1 b:in_syn=1 b:out_syn=0 'a:out_tcp>0' 'b:out_tcp>0')

wire_rules() {	# wire_rules PREFIX: the counting rules of one direction
	local p=$1 t="{ ${WIRE_TCP_PORTS:-4500} }"
	cat <<NFT
		udp sport 500 counter name ${p}_ike500
		udp dport 500 udp sport != 500 counter name ${p}_ike500
		udp sport 4500 udp length > 12 @th,64,32 0 counter name ${p}_ike4500
		udp dport 4500 udp sport != 4500 udp length > 12 @th,64,32 0 counter name ${p}_ike4500
		udp sport 4500 udp length 9 @th,64,8 0xff counter name ${p}_ka4500
		udp dport 4500 udp sport != 4500 udp length 9 @th,64,8 0xff counter name ${p}_ka4500
		udp sport 4500 udp length > 12 @th,64,32 != 0 counter name ${p}_esp4500
		udp dport 4500 udp sport != 4500 udp length > 12 @th,64,32 != 0 counter name ${p}_esp4500
		tcp sport $t tcp flags & psh == psh counter name ${p}_tcp
		tcp dport $t tcp sport != $t tcp flags & psh == psh counter name ${p}_tcp
		tcp dport $t tcp flags & (syn|ack) == syn counter name ${p}_syn
		tcp sport $t tcp flags & fin == fin counter name ${p}_fin
		tcp dport $t tcp sport != $t tcp flags & fin == fin counter name ${p}_fin
		meta l4proto esp counter name ${p}_esp
		meta l4proto icmp counter name ${p}_icmp
NFT
}

wire_count() {
	local hn host ns n
	for hn in "$@"; do
		host=${hn%%=*} ns=${hn#*=}
		WIRE_NS[$host]=$ns
		ip netns exec "$ns" nft -f - <<NFT || return 1
table inet wire {
$(for n in $WIRE_NAMES; do printf '\tcounter in_%s {}\n\tcounter out_%s {}\n' "$n" "$n"; done)
	chain in {
		type filter hook input priority -50;
$(wire_rules in)
	}
	chain out {
		type filter hook output priority -50;
$(wire_rules out)
	}
}
NFT
	done
}

cnt() {
	local ns=${WIRE_NS[$1]:-$1}
	ip netns exec "$ns" nft list counter ${3:-inet wire} "$2" | awk '/packets/ {print $2; exit}'
}

# wire_now HOST: "NAME PACKETS" for every counter of HOST, one nft call
wire_now() {
	ip netns exec "${WIRE_NS[$1]}" nft list table inet wire |
		awk '/^\tcounter / {n = $2} /packets/ && n {print n, $2; n = ""}'
}

wire_reset() {
	local h
	for h in "${!WIRE_NS[@]}"; do
		ip netns exec "${WIRE_NS[$h]}" nft reset counters table inet wire >/dev/null
	done
}

wire_mark() {
	local h n v
	for h in "${!WIRE_NS[@]}"; do
		while read -r n v; do WIRE_MARK[$1:$h:$n]=$v; done < <(wire_now "$h")
	done
}

wire_check() {
	local base= desc h n v spec host name op want got bad=()
	local -A now
	[ "$1" = -d ] && { base=$2; shift 2; }
	desc=$1; shift
	for h in "${!WIRE_NS[@]}"; do
		while read -r n v; do now[$h:$n]=$v; done < <(wire_now "$h")
	done
	for spec in "$@"; do
		if [[ ! $spec =~ ^([a-z0-9]+):([a-z0-9_]+)(=|!=|<=|>=|<|>)([0-9]+)$ ]]; then
			bad+=("bad spec '$spec'")
			continue
		fi
		host=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]} op=${BASH_REMATCH[3]} want=${BASH_REMATCH[4]}
		got=${now[$host:$name]:-}
		[ -z "$got" ] && { bad+=("$host:$name: no such counter"); continue; }
		[ -n "$base" ] && got=$((got - ${WIRE_MARK[$base:$host:$name]:-0}))
		case $op in
		=) [ "$got" -eq "$want" ] ;;
		!=) [ "$got" -ne "$want" ] ;;
		\<) [ "$got" -lt "$want" ] ;;
		\<=) [ "$got" -le "$want" ] ;;
		\>) [ "$got" -gt "$want" ] ;;
		\>=) [ "$got" -ge "$want" ] ;;
		esac || bad+=("$host:$name ${base:+grew by }$got, expected $op$want")
	done
	if [ ${#bad[@]} = 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$(IFS=';'; echo "${bad[*]}")"
		wire_show
	fi
}

wire_show() {
	local h
	for h in "${!WIRE_NS[@]}"; do
		tap_diag "$h: $(wire_now "$h" | awk '$2 != 0 {printf "%s=%s ", $1, $2}')"
	done
}

# block NS RULE...: drop (or reject) what RULE matches on NS's input, in a
# table of its own (inet blk) that unblock NS removes
block() {
	local ns=$1; shift
	ip netns exec "$ns" nft -f - <<NFT
table inet blk {
	chain in { type filter hook input priority -20; $* ; }
}
NFT
}
unblock() { ip netns exec "$1" nft delete table inet blk 2>/dev/null; true; }

# lose_first NS [init]: NS's input drops the first SYN to TCP 4500 from each
# address, and with init the first IKE_SA_INIT to UDP 4500 too (table inet
# lose1, replaced at each call; lose_first_off NS removes it)
lose_first() {
	local init=
	[ "${2:-}" = init ] && init='udp dport 4500 @th,64,32 0 @th,240,8 34 ip saddr @init accept
		udp dport 4500 @th,64,32 0 @th,240,8 34 add @init { ip saddr } drop'
	lose_first_off "$1"
	ip netns exec "$1" nft -f - <<NFT
table inet lose1 {
	set syn { type ipv4_addr; flags dynamic; }
	set init { type ipv4_addr; flags dynamic; }
	chain in {
		type filter hook input priority -20;
		tcp dport 4500 tcp flags & (syn|ack) == syn ip saddr @syn accept
		tcp dport 4500 tcp flags & (syn|ack) == syn add @syn { ip saddr } drop
		$init
	}
}
NFT
}
lose_first_off() { ip netns exec "$1" nft delete table inet lose1 2>/dev/null; true; }

# pcap_start NS DEV FILE FILTER...: capture on DEV in NS until pcap_stop;
# returns once tcpdump is capturing (its file header is written)
pcap_start() {
	local ns=$1 dev=$2 file=$3; shift 3
	rm -f "$file"
	ip netns exec "$ns" tcpdump --immediate-mode -U -s 0 -ni "$dev" -w "$file" "$@" \
		>/dev/null 2>&1 &
	PCAP_PID=$!
	wait_for 5 test -s "$file"
}
pcap_stop() {
	[ -n "${PCAP_PID:-}" ] || return 0
	kill "$PCAP_PID" 2>/dev/null
	wait "$PCAP_PID" 2>/dev/null
	PCAP_PID=
}

# wire_grew TAG HOST NAME N: the counter grew by N or more since wire_mark
# TAG (TAG "-": since the last reset); for wait_for
wire_grew() {
	local v
	v=$(cnt "$2" "$3") || return 1
	[ "$1" = - ] || v=$((v - ${WIRE_MARK[$1:$2:$3]:-0}))
	[ "$v" -ge "$4" ]
}
