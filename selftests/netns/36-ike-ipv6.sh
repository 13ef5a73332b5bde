#!/bin/bash
# IKE over IPv6: two tcpiked (backend none) in two namespaces whose link has
# only IPv6 addresses, inner networks IPv6 too.  What reaches each side is
# counted with nft, per transport and per source address.
#
#   udp        IKE_SA_INIT and IKE_AUTH on UDP 500, Child SA, Child and IKE
#              SA rekeys
#   two addresses  b's sockets are on [::] and it has fd00::2 and fd00::ff;
#              asked at fd00::2 (udp) and at fd00::ff (without local_addrs),
#              every answer leaves from the address asked (IPV6_PKTINFO),
#              none from the other: whichever the kernel would pick as the
#              source toward a, one of the two cases would see it
#   tcp        RFC 9329 over IPv6 (TCP 4500, no UDP)
#   separate   IKE_SA_INIT on UDP 4500 with the notify, the rest on TCP 4500
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
command -v nft >/dev/null || tap_skip_all "nft not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ik6$$" || tap_skip_all "cannot build the namespace pair"
# IPv6 only between them (the IPv4 addresses of the pair go away).
ip -n "$NS_A" addr flush dev va
ip -n "$NS_B" addr flush dev vb
ip -n "$NS_A" addr add fd00::1/64 dev va nodad &&
ip -n "$NS_B" addr add fd00::2/64 dev vb nodad &&
ip -n "$NS_B" addr add fd00::ff/64 dev vb nodad ||
	tap_skip_all "no IPv6 in the namespaces"
wait_for 5 ip netns exec "$NS_A" ping -6 -c 1 -W 1 fd00::ff >/dev/null 2>&1 ||
	tap_skip_all "fd00::ff does not answer from the other namespace"

A_ARGS=(local=fd00::1 lts=fd01::/64 rts=fd02::/64 lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(remote=fd00::1 lts=fd02::/64 rts=fd01::/64 lid=fqdn:b.test rid=fqdn:a.test)

# What reaches b, per transport; what reaches a, per source address of b.
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet cnt {
	counter udp500 {}
	counter udp4500 {}
	counter tcp4500 {}
	chain in {
		type filter hook input priority -10;
		udp dport 500 counter name udp500
		udp dport 4500 counter name udp4500
		tcp dport 4500 counter name tcp4500
	}
}
NFT
ip netns exec "$NS_A" nft -f - <<'NFT'
table inet cnt {
	counter from2 {}
	counter fromff {}
	chain in {
		type filter hook input priority -10;
		ip6 saddr fd00::2 meta l4proto { udp, tcp } th sport { 500, 4500 } counter name from2
		ip6 saddr fd00::ff meta l4proto { udp, tcp } th sport { 500, 4500 } counter name fromff
	}
}
NFT
cnt() {	# cnt NS COUNTER
	ip netns exec "$1" nft -j list counter inet cnt "$2" |
		python3 -c "import json,sys; print([o['counter']['packets'] for o in json.load(sys.stdin)['nftables'] if 'counter' in o][0])"
}
cnt_reset() {
	ip netns exec "$NS_A" nft reset counters table inet cnt >/dev/null
	ip netns exec "$NS_B" nft reset counters table inet cnt >/dev/null
}

# up A-REMOTE B-LOCAL(or "") "A conn_extra": restart both, a initiates
up() {
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf a "${A_ARGS[@]}" remote="$1" "conn_extra=$3"
	ike_conf b "${B_ARGS[@]}" ${2:+local=$2}
	cnt_reset
	ike_start "$NS_B" b && ike_start "$NS_A" a && ike_ctl a initiate c >/dev/null
}
j() { ike_jq "$@"; }
ike1() { j "$1" "[i for i in s['ike_sas'] if i['state']=='ESTABLISHED'][0]['$2']"; }
child_ts() { j "$1" "' '.join(c['local_ts']+'='+c['remote_ts'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
rekeyed() {	# rekeyed NAME ike|child N
	ike_established "$1" &&
	[ "$(j "$1" "sum(i['rekeys'] for i in s['ike_sas']) if '$2'=='ike' else sum(c['rekeys'] for i in s['ike_sas'] for c in i['children'])")" -ge "$3" ] 2>/dev/null
}
established() {	# established TAG: both sides have the IKE SA and its Child SA
	if wait_for 10 ike_established a && wait_for 5 ike_established b; then
		tap_ok "$1: IKE and Child SA established"
		return 0
	fi
	tap_fail "$1: IKE and Child SA established"
	ike_log a; ike_log b
	return 1
}

# --- UDP ------------------------------------------------------------------------
up fd00::2 fd00::2 ""
if established "udp"; then
	tap_expect_eq "udp: a's peer is fd00::2 port 500, on UDP" "fd00::2 500 udp" \
		"$(ike1 a remote) $(ike1 a remote_port) $(ike1 a transport)"
	tap_expect_eq "udp: the Child SA's selectors are the IPv6 networks" \
		"fd01::-fd01::ffff:ffff:ffff:ffff=fd02::-fd02::ffff:ffff:ffff:ffff" "$(child_ts a)"
	tap_check "udp: every answer came from fd00::2, none from fd00::ff (from2 $(cnt "$NS_A" from2), fromff $(cnt "$NS_A" fromff))" \
		test "$(cnt "$NS_A" from2)" -ge 2 -a "$(cnt "$NS_A" fromff)" = 0
	tap_check "udp: b saw UDP 500 only (no NAT between them)" \
		test "$(cnt "$NS_B" udp500)" -ge 2 -a "$(cnt "$NS_B" udp4500)" = 0 -a "$(cnt "$NS_B" tcp4500)" = 0
	ike_ctl a rekey c child >/dev/null
	wait_for 10 rekeyed a child 1
	ike_ctl b rekey c ike >/dev/null
	if wait_for 10 rekeyed b ike 1 && wait_for 5 ike_established a; then
		tap_ok "udp: Child SA rekeyed by a, IKE SA by b"
	else
		tap_fail "udp: Child SA rekeyed by a, IKE SA by b"; ike_log a; ike_log b
	fi
fi

# --- b asked at its other address, without local_addrs ---------------------------------
up fd00::ff "" ""
if established "two addresses"; then
	tap_expect_eq "two addresses: a's peer is fd00::ff port 500" "fd00::ff 500" "$(ike1 a remote) $(ike1 a remote_port)"
	tap_check "two addresses: every answer came from fd00::ff, none from fd00::2 (fromff $(cnt "$NS_A" fromff), from2 $(cnt "$NS_A" from2))" \
		test "$(cnt "$NS_A" fromff)" -ge 2 -a "$(cnt "$NS_A" from2)" = 0
fi

# --- RFC 9329 over IPv6 ------------------------------------------------------------
up fd00::2 fd00::2 "transport = tcp"
if established "tcp"; then
	tap_expect_eq "tcp: IKE on TCP with ESP in the stream, peer fd00::2 port 4500" \
		"tcp True fd00::2 4500" "$(ike1 a transport) $(ike1 a esp_in_tcp) $(ike1 a remote) $(ike1 a remote_port)"
	tap_check "tcp: b saw TCP 4500 and no UDP" \
		test "$(cnt "$NS_B" tcp4500)" -gt 0 -a "$(cnt "$NS_B" udp500)" = 0 -a "$(cnt "$NS_B" udp4500)" = 0
fi

# --- separate transports over IPv6 --------------------------------------------------
up fd00::2 fd00::2 "transport = separate"
if established "separate"; then
	tap_expect_eq "separate: IKE on TCP, ESP not in the stream" "tcp False" \
		"$(ike1 a transport) $(ike1 a esp_in_tcp)"
	tap_check "separate: b saw IKE_SA_INIT on UDP 4500, the rest on TCP 4500, nothing on 500" \
		test "$(cnt "$NS_B" udp4500)" -ge 1 -a "$(cnt "$NS_B" tcp4500)" -gt 0 -a "$(cnt "$NS_B" udp500)" = 0
fi
ike_stop a
ike_stop b
tap_done
