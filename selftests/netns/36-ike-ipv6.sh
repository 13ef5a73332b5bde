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
require_tcpiked
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

# What each end sends and receives, per transport (lib.sh); what reaches a,
# per source address of b.
wire_count a="$NS_A" b="$NS_B"
ip netns exec "$NS_A" nft -f - <<'NFT'
table inet src {
	counter from2 {}
	counter fromff {}
	chain in {
		type filter hook input priority -10;
		ip6 saddr fd00::2 meta l4proto { udp, tcp } th sport { 500, 4500 } counter name from2
		ip6 saddr fd00::ff meta l4proto { udp, tcp } th sport { 500, 4500 } counter name fromff
	}
}
NFT
from() { cnt "$NS_A" "from$1" "inet src"; }
ike_up_hook() { ip netns exec "$NS_A" nft reset counters table inet src >/dev/null; }
# up A-REMOTE B-LOCAL(or "") "A conn_extra": restart both, a initiates
up() { ike_up remote="$1" "conn_extra=$3" -- ${2:+local=$2}; }
child_ts() { ike_jq "$1" "' '.join(c['local_ts']+'='+c['remote_ts'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }

# --- UDP ------------------------------------------------------------------------
up fd00::2 fd00::2 ""
if expect_established "udp: IKE and Child SA established"; then
	tap_expect_eq "udp: a's peer is fd00::2 port 500, on UDP" "fd00::2 500 udp" \
		"$(ike1 a remote) $(ike1 a remote_port) $(ike1 a transport)"
	tap_expect_eq "udp: the Child SA's selectors are the IPv6 networks" \
		"fd01::-fd01::ffff:ffff:ffff:ffff=fd02::-fd02::ffff:ffff:ffff:ffff" "$(child_ts a)"
	tap_check "udp: every answer came from fd00::2, none from fd00::ff (from2 $(from 2), fromff $(from ff))" \
		test "$(from 2)" -ge 2 -a "$(from ff)" = 0
	wire_check "udp: UDP 500 only, both ways at both ends (no NAT between them)" \
		a:out_ike500\>=2 b:out_ike500\>=2 b:in_ike500\>=2 a:out_ike4500=0 b:out_ike4500=0 \
		a:out_syn=0 a:out_tcp=0 b:out_tcp=0
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
if expect_established "two addresses: IKE and Child SA established"; then
	tap_expect_eq "two addresses: a's peer is fd00::ff port 500" "fd00::ff 500" "$(ike1 a remote) $(ike1 a remote_port)"
	tap_check "two addresses: every answer came from fd00::ff, none from fd00::2 (fromff $(from ff), from2 $(from 2))" \
		test "$(from ff)" -ge 2 -a "$(from 2)" = 0
fi

# --- RFC 9329 over IPv6 ------------------------------------------------------------
up fd00::2 fd00::2 "transport = tcp"
if expect_established "tcp: IKE and Child SA established"; then
	tap_expect_eq "tcp: IKE on TCP with ESP in the stream, peer fd00::2 port 4500" \
		"tcp True fd00::2 4500" "$(ike1 a transport) $(ike1 a esp_in_tcp) $(ike1 a remote) $(ike1 a remote_port)"
	wire_check "tcp: one TCP connection from a, data both ways, no UDP at either end" \
		a:out_syn=1 b:in_syn=1 a:out_tcp\>0 b:out_tcp\>0 a:out_ike500=0 b:out_ike500=0 \
		a:out_ike4500=0 b:out_ike4500=0
fi

# --- separate transports over IPv6 --------------------------------------------------
up fd00::2 fd00::2 "transport = separate"
if expect_established "separate: IKE and Child SA established"; then
	tap_expect_eq "separate: IKE on TCP, ESP not in the stream" "tcp False" \
		"$(ike1 a transport) $(ike1 a esp_in_tcp)"
	tap_expect_eq "separate: both backends were asked for ESP on IP" \
		"in:raw:0:0 out:raw:0:0 | in:raw:0:0 out:raw:0:0" "$(kb_encaps a) | $(kb_encaps b)"
	wire_check "separate: IKE_SA_INIT once each way on UDP 4500, the rest on one TCP connection, nothing on 500" \
		"${WIRE_SEPARATE_SETUP[@]}"
fi
ike_stop a
ike_stop b
tap_done
