#!/bin/bash
# ESP reachability after a TCP-first separate-transports setup
# (draft-ietf-ipsecme-ikev2-reliable-transport-04 §3.7, RT-23..28), at
# namespace level: two tcpiked on backend none, whose inbound ESP is
# simulated per encapsulation (kb_none.h, TCPIKE_KB_NONE_ESP: ESP "arrives"
# on an inbound SA 250 ms after it is on an encapsulation in the list).
# vm/32 runs the same cases with kernel ESP; here the decisions are checked
# on the wire (the probe datagrams to the discard port, the IKE messages in
# a capture) and in what each backend was asked to install (kb_sas):
#
#   raw,udp   ESP gets through on IP: confirmed there, nothing moves (RT-24)
#   udp       ESP on IP never arrives: after esp_probe_delay both ends move
#             the Child SAs to UDP 4500 and the probe is confirmed there
#             (RT-27, RT-28)
#   (none)    ESP arrives nowhere: a deletes the IKE SA with a Delete and
#             builds it again over TCP without SEPARATE_TRANSPORTS, ESP in
#             the stream (RT-25)
#   udp, NAT  with a NAT the probe is in UDP 4500 from the start (RT-26)
#   UDP first ESP never arrives, and yet no probe: IKE_SA_INIT over UDP
#             proved the path (RT-23)
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)
PROBE="esp_probe_delay = 500ms;esp_probe_timeout = 3s"

# pair [nat]: fresh namespaces, routes between the inner networks (the
# probe datagrams travel in the clear on backend none), wire counters and
# the probe datagrams (UDP to the discard port 9) counted at each end.
pair() {
	ns_cleanup
	if [ "${1:-}" = nat ]; then
		topo_nat "pn$$" || return 1
		A_ARGS[0]=local=10.1.0.2
		ip -n "$NS_A" route add 192.168.2.0/24 via 10.1.0.1 src 192.168.1.1
		ip -n "$NS_R" route add 192.168.2.0/24 via 10.0.0.2
		ip -n "$NS_R" route add 192.168.1.0/24 via 10.1.0.2
		ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
	else
		topo_pair "pr$$" || return 1
		A_ARGS[0]=local=10.0.0.1
		ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
		ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
	fi
	wire_count a="$NS_A" b="$NS_B" || return 1
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" nft -f - <<'NFT'
table inet probe {
	counter probes_in {}
	chain in { type filter hook input priority -50; udp dport 9 counter name probes_in; }
}
NFT
	done
}
probes_in() { cnt "$1" probes_in "inet probe"; }
probe_is() { test "$(ike_jq a "[i['esp_probe_text'] for i in s['ike_sas'] if i['state']=='ESTABLISHED']")" = "$1"; }
probe_text() { ike_jq a "[i['esp_probe_text'] for i in s['ike_sas']]"; }
probe_ok_on() { ike_jq a "[i['esp_probe_text'] for i in s['ike_sas']]" | grep -q "confirmed $1"; }

# --- ESP gets through on IP ---------------------------------------------------------
pair || tap_skip_all "cannot build the namespace pair"
export TCPIKE_KB_NONE_ESP=raw,udp
ike_up "conn_extra=transport = separate-tcp-first;$PROBE"
expect_established "raw,udp: established"
if wait_for 10 probe_ok_on "on IP"; then
	tap_ok "raw,udp: a confirmed ESP on IP (RT-24)"
else
	tap_fail "raw,udp: a confirmed ESP on IP (RT-24)" "$(probe_text)"; ike_log a
fi
tap_check "raw,udp: a's probe datagrams reached b, b answered ($(probes_in "$NS_B") / $(probes_in "$NS_A"))" \
	test "$(probes_in "$NS_B")" -ge 1 -a "$(probes_in "$NS_A")" -ge 1
tap_expect_eq "raw,udp: the Child SAs stayed on IP at both ends' backends, never moved (RT-28)" \
	"in:raw:0:0 out:raw:0:0 | in:raw:0:0 out:raw:0:0 | 0" \
	"$(kb_encaps a) | $(kb_encaps b) | $(cat "$IKE_DIR/a.kb" "$IKE_DIR/b.kb" | grep -c '^sa-steer')"
ike_stop a
ike_stop b

# --- ESP on IP never arrives: UDP 4500 after the delay ------------------------------------
pair || tap_skip_all "cannot build the namespace pair"
export TCPIKE_KB_NONE_ESP=udp
pcap_start "$NS_B" vb "$IKE_DIR/udp.pcap" tcp port 4500
ike_up "conn_extra=transport = separate-tcp-first;$PROBE"
expect_established "udp: established"
if wait_for 10 probe_ok_on "in UDP 4500"; then
	tap_ok "udp: no ESP on IP: a confirmed ESP in UDP 4500 (RT-27, RT-28)"
else
	tap_fail "udp: no ESP on IP: a confirmed ESP in UDP 4500 (RT-27, RT-28)" "$(probe_text)"
	ike_log a; ike_log b
fi
pcap_stop
tap_expect_eq "udp: both backends were asked to move every Child SA to UDP 4500 (RT-27)" \
	"in:udp:4500:4500 out:udp:4500:4500 | in:udp:4500:4500 out:udp:4500:4500" "$(kb_encaps a) | $(kb_encaps b)"
tap_check "udp: the SAs were installed on IP first, then moved (not installed in UDP)" \
	test "$(grep -c '^sa-add .* encap raw 0 0$' "$IKE_DIR/a.kb") $(grep -c '^sa-steer .* encap udp 4500 4500$' "$IKE_DIR/a.kb")" = "2 2"
ike=$(python3 "$TOP/selftests/ikepcap.py" --ike "$IKE_DIR/udp.pcap")
tap_diag "$ike"
tap_check "udp: the move was agreed in one INFORMATIONAL exchange over TCP, a asking" \
	test "$(grep -cE '^tcp 10.0.0.1:[0-9]+>10.0.0.2:4500 INFORMATIONAL req' <<<"$ike") $(grep -cE '^tcp 10.0.0.2:4500>10.0.0.1:[0-9]+ INFORMATIONAL resp' <<<"$ike")" = "1 1"
wire_check "udp: no IKE on UDP at either end (RT-12)" \
	a:out_ike500=0 a:out_ike4500=0 b:out_ike500=0 b:out_ike4500=0
ike_stop a
ike_stop b

# --- ESP arrives nowhere: delete, rebuild in RFC 9329 mode ---------------------------------
pair || tap_skip_all "cannot build the namespace pair"
export TCPIKE_KB_NONE_ESP=
pcap_start "$NS_B" vb "$IKE_DIR/none.pcap" tcp port 4500
ike_up "conn_extra=transport = separate-tcp-first;$PROBE"
rebuilt() {
	test "$(ike_jq a "[(i['rfc9329_rebuild'], i['esp_in_tcp'], i['separate'], i['state']) for i in s['ike_sas']]")" = \
		"[(True, True, False, 'ESTABLISHED')]"
}
if wait_for 15 rebuilt; then
	tap_ok "none: ESP not confirmed: a rebuilt the IKE SA in RFC 9329 mode, ESP in the stream (RT-25)"
else
	tap_fail "none: ESP not confirmed: a rebuilt the IKE SA in RFC 9329 mode (RT-25)" "$(probe_text)"
	ike_log a; ike_log b
fi
b_one() { test "$(ike_count b)" = 1 && ike_established b; }
tap_check "none: b has only the rebuilt IKE SA" wait_for 5 b_one
pcap_stop
ike=$(python3 "$TOP/selftests/ikepcap.py" --ike "$IKE_DIR/none.pcap")
tap_diag "$ike"
spi1=$(grep -m1 ' IKE_SA_INIT req ' <<<"$ike" | sed 's/.* spi_i=\([0-9a-f]*\).*/\1/')
tap_check "none: the first IKE_SA_INIT offered separate transports over TCP (RT-9)" \
	grep -q "IKE_SA_INIT req msgid=0 spi_i=$spi1 .*N=49152/0/0/8" <<<"$ike"
# The first SA's last exchange: a's INFORMATIONAL (its Delete; before it
# the request to move ESP to UDP 4500, which b accepted) and b's answer.
last=$(grep "^tcp .* spi_i=$spi1 " <<<"$ike" | tail -n 2 | cut -d' ' -f2-4 | tr '\n' ' ')
tap_check "none: a deleted the first IKE SA with an INFORMATIONAL on its connection, b answered (RT-25) ($last)" \
	grep -qE '^10.0.0.1:[0-9]+>10.0.0.2:4500 INFORMATIONAL req 10.0.0.2:4500>10.0.0.1:[0-9]+ INFORMATIONAL resp $' <<<"$last"
tap_check "none: b logged the peer's Delete" grep -q "deleted by the peer" "$IKE_DIR/b.log"
rebuild=$(grep ' IKE_SA_INIT req ' <<<"$ike" | grep -v "spi_i=$spi1")
tap_check "none: the rebuild is a new IKE_SA_INIT over TCP without SEPARATE_TRANSPORTS (RT-25)" \
	test "$(grep -cE '^tcp 10.0.0.1:[0-9]+>10.0.0.2:4500 IKE_SA_INIT req' <<<"$rebuild") $(grep -c 'N=49152' <<<"$rebuild")" = "1 0"
tap_check "none: on a new connection of a's, with IKETCP" \
	test "$(grep -cE '^stream 10.0.0.1:[0-9]+>10.0.0.2:4500 prefix=yes' <<<"$ike") $(cnt a out_syn)" = "2 2"
tap_expect_eq "none: the rebuilt SA's ESP at both backends: in the TCP connection" \
	"tcp tcp" "$(kb_sas a | awk '{print $5}' | sort -u) $(kb_sas b | awk '{print $5}' | sort -u)"
ike_stop a
ike_stop b

# --- with a NAT: the probe in UDP 4500 from the start ---------------------------------------
pair nat || tap_skip_all "cannot build the NAT topology"
export TCPIKE_KB_NONE_ESP=udp
ike_up "conn_extra=transport = separate-tcp-first;$PROBE" -- remote=10.0.0.1
expect_established "udp, NAT: established"
if wait_for 10 probe_ok_on "in UDP 4500"; then
	tap_ok "udp, NAT: a probed in UDP 4500 at once and confirmed it (RT-26)"
else
	tap_fail "udp, NAT: a probed in UDP 4500 at once and confirmed it (RT-26)" "$(probe_text)"
	ike_log a
fi
tap_check "udp, NAT: the Child SAs were installed in UDP 4500, nothing moved" \
	test "$(grep -c '^sa-add .* encap udp 4500 4500$' "$IKE_DIR/a.kb") $(grep -c '^sa-steer' "$IKE_DIR/a.kb")" = "2 0"
ike_stop a
ike_stop b

# --- UDP first: no probe at all -------------------------------------------------------------
pair || tap_skip_all "cannot build the namespace pair"
export TCPIKE_KB_NONE_ESP=
ike_up "conn_extra=transport = separate;$PROBE"
expect_established "UDP first: established"
# three times the probe's timeout: a probe would have failed and rebuilt
sleep 4	# a window in which nothing may happen, not a wait for an event
tap_check "UDP first: ESP never arrives, yet no probe: not needed after a UDP IKE_SA_INIT (RT-23)" \
	test "$(probes_in "$NS_B") $(ike_jq a "[(i['esp_probe'], i['separate'], i['rfc9329_rebuild']) for i in s['ike_sas']]")" = \
	     "0 [('none', True, False)]"
tap_expect_eq "UDP first: the Child SAs stay on IP, nothing moved or rebuilt" \
	"in:raw:0:0 out:raw:0:0 | 0 1" \
	"$(kb_encaps a) | $(grep -c '^sa-steer' "$IKE_DIR/a.kb") $(cnt a out_syn)"
ike_stop a
ike_stop b
unset TCPIKE_KB_NONE_ESP
tap_done
