#!/bin/bash
# Helpers for tcpike's shell tests: TAP output and network namespaces.
# A test script sources this, calls tap_* for each check, and ends with
# tap_done.  Every check prints exactly one "ok"/"not ok" line.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${BIN:-$TOP/build/asan}
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
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1 # SKIP ${2:-no reason given}"; }
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
tap_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
tap_done() { exit $((TAP_FAILED > 0)); }

# Skip the whole script (one SKIP line) when a prerequisite is missing.
tap_skip_all() { tap_skip "${TAP_NAME:-$(basename "$0")}" "$1"; exit 0; }

require_root() { [ "$(id -u)" = 0 ] || tap_skip_all "needs root"; }
require_netns() {
	require_root
	ip netns add tcpike-probe-$$ 2>/dev/null || tap_skip_all "cannot create network namespaces"
	ip netns del tcpike-probe-$$
}

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

# wait_for SECONDS command... : poll every 0.1 s until the command succeeds
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
