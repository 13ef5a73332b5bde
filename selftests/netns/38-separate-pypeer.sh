#!/bin/bash
# Separate transports (draft-ietf-ipsecme-ikev2-reliable-transport-04)
# against a peer that is not tcpiked: selftests/ikepeer.py, an IKEv2
# initiator and responder written from the draft and the RFCs, in both
# roles against one tcpiked (backend none).  What the Python peer saw is
# its own output (every message with its transport, the notifies as
# encoded, NAT-D checked against the packet); what tcpiked sent is also
# counted at its end (lib.sh wire_count), and what its backend was asked to
# install read from its record (kb_sas).
#
#   tcpiked initiates (a), the peer answers at 10.0.0.2:
#     echo             RT-1, RT-2, RT-13, RT-18 (the request as the peer
#                      saw it), RT-4, RT-6 (IKE_AUTH on TCP after IKETCP),
#                      RT-12 (tcpiked's rekey, liveness checks and Delete
#                      all on TCP), RT-15 (ESP on IP)
#     echo with data   RT-14 (the initiator ignores the data)
#     NAT claimed      RT-20 (ESP in UDP 4500 once a NAT is seen)
#     TCP closed       RT-7, RT-8 (cancelled; new IKE_SA_INIT on UDP 500,
#                      no notify, no IKE_AUTH of the first SA on UDP)
#     TCP first        RT-9, RT-10 (echo: ESP on IP), RT-11 (none: ESP in
#                      the stream)
#     Child SA refused RFC 7296 §2.21.2: the peer authenticates in IKE_AUTH
#                      but refuses the Child SA with TEMPORARY_FAILURE; a
#                      keeps the IKE SA and (§2.25) asks again 2-10 s later
#   the peer initiates (10.0.0.1), tcpiked answers (b):
#     UDP 4500         RT-3, RT-13 (the echo as encoded), RT-14 (data in
#                      the request ignored), RT-5 (IKE_AUTH taken over a
#                      fresh TCP connection), RT-12 (b's rekey and
#                      liveness checks on TCP), the notify in a later
#                      exchange not echoed
#     UDP 500          the notify outside the draft's discovery: no echo,
#                      plain RFC 7296 (CONFORMANCE.md "RT-38")
#     TCP first        RT-9 from the responder's side: echoed, ESP on IP
#     TCP blocked      RT-8 by the peer: its UDP retry is served
#     extension off    RT-3: no echo, IKE stays on UDP
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikp$$" || tap_skip_all "cannot build the namespace pair"
wire_count a="$NS_A" b="$NS_B"
. "$TOP/selftests/ikepeer.sh"
NO_UDP_AFTER=(a:out_ike500=0 a:in_ike500=0 b:out_ike500=0 b:in_ike500=0)

# --- tcpiked initiates ------------------------------------------------------------
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)
# a_run (ikepeer.sh): the peer answers, a initiates; the wire counted anew
a_run_hook() { wire_reset; }

a_run echo resp expect-delete:20 -- "conn_extra=transport = separate;dpd_delay = 1s"
expect_established "tcpiked initiates, separate: established with the Python responder" a
saw "the request went to UDP 4500 behind the marker with N(SEPARATE_TRANSPORTS) encoded protocol 0, no SPI, no data; NAT-D right (RT-1, RT-2, RT-13, RT-18)" \
	'^init-req udp4500 .*N=49152/0/0/8 natd=yes$'
saw "IKE_AUTH came on a TCP connection that began with IKETCP, Message ID 1, the same SPIs (RT-4, RT-6)" \
	'^tcp prefix=yes$'
saw "... and IKE_AUTH itself: over TCP, Message ID 1, same SPIs" '^auth-req tcp msgid=1 spis=same$'
tap_check "a reports separate transports, IKE on TCP" \
	test "$(ike1 a separate) $(ike1 a transport)" = "True tcp"
tap_expect_eq "a's backend was asked for ESP on IP (RT-15)" "in:raw:0:0 out:raw:0:0" "$(kb_encaps a)"
n=$(child_rekeys a)
ike_ctl a rekey c child >/dev/null
tap_check "a's Child SA rekey answered by the peer" wait_for 10 rekeyed a child $((n + 1))
dpd() { test "$(grep -c '^rx tcp INFORMATIONAL req' "$PO")" -ge 3; }
tap_check "a's liveness checks (dpd_delay 1s) reach the peer" wait_for 10 dpd
ike_ctl a terminate c >/dev/null
peer_wait 10; peer_ok $? "the peer saw a's Delete of the IKE SA"
saw "a's requests all came over TCP: rekey, liveness checks, Delete (RT-12)" \
	'^rx tcp CREATE_CHILD_SA req'
saw "... and none of this SA's IKE over UDP after the switch (RT-12)" '^summary udp_after_switch=0 '
wire_check "at a: IKE_SA_INIT once each way on UDP 4500, nothing on 500, no other UDP IKE" \
	a:out_ike4500=1 a:in_ike4500=1 "${NO_UDP_AFTER[@]}"

a_run echo-data --echo data:6a756e6b resp serve:2 -- "conn_extra=transport = separate"
expect_established "the peer echoes with 4 bytes of data: a established" a
saw "a ignored the data and moved IKE to TCP (RT-14)" '^auth-req tcp msgid=1 spis=same$'
peer_wait 5 >/dev/null

a_run natd --bogus-natd resp serve:2 -- "conn_extra=transport = separate"
expect_established "the peer's NAT-D says it is behind a NAT: a established" a
tap_expect_eq "a's backend was asked for ESP in UDP 4500 (RT-20)" \
	"in:udp:4500:4500 out:udp:4500:4500" "$(kb_encaps a)"
tap_check "a reports the NAT on the peer's side" test "$(ike1 a nat_remote)" = True
peer_wait 5 >/dev/null

a_run notcp --no-tcp resp serve:1 -- "conn_extra=transport = separate"
expect_established "TCP 4500 closed at the peer: a established anyway" a
saw "a's first IKE_SA_INIT: UDP 4500 with the notify" '^init-req udp4500 .*N=49152/0/0/8'
saw "then the first attempt was given up: a new IKE_SA_INIT (RT-7, RT-8)" '^previous IKE SA abandoned'
saw "... on UDP 500 without the notify (RT-8)" '^init-req udp500( N=[0-9/]*)* natd=yes$'
not_saw "... and no IKE_SA_INIT of a's carries the notify on UDP 500" '^init-req udp500 .*N=49152'
saw "IKE_AUTH of the new SA over UDP 500" '^auth-req udp500 msgid=1 spis=same$'
tap_expect_eq "a counted one TCP failure and reports plain UDP" "1 False udp" \
	"$(ike_counter a separate_tcp_failed) $(ike1 a separate) $(ike1 a transport)"
peer_wait 5 >/dev/null

a_run tcpfirst resp serve:1 -- "conn_extra=transport = separate-tcp-first"
expect_established "TCP first, echoed: established" a
saw "the peer got IKE_SA_INIT over TCP with the notify (RT-9)" '^init-req tcp .*N=49152/0/0/8'
tap_expect_eq "a's backend was asked for ESP on IP, not in the stream (RT-10)" \
	"in:raw:0:0 out:raw:0:0" "$(kb_encaps a)"
peer_wait 5 >/dev/null

a_run tcpfirst-noecho --echo no resp serve:1 -- "conn_extra=transport = separate-tcp-first"
expect_established "TCP first, not echoed: established" a
p=$(ip netns exec "$NS_A" ss -Htn state established '( dport = :4500 )' | awk '{split($3, x, ":"); print x[2]; exit}')
tap_expect_eq "a's backend was asked for ESP in the TCP connection, plain RFC 9329 (RT-11)" \
	"in:tcp:4500:$p out:tcp:$p:4500" "$(kb_encaps a)"
peer_wait 5 >/dev/null

# 43: TEMPORARY_FAILURE
a_run childtmp --child-refuse 43 resp await-child:14 --
alone() { test "$(ike_jq a "[(i['state'], len(i['children'])) for i in s['ike_sas']]")" = "[('ESTABLISHED', 0)]"; }
wait_for 10 grep -qE '^(auth-resp|FAIL)' "$PO"
saw "the peer refused a's Child SA in IKE_AUTH with TEMPORARY_FAILURE" '^auth-resp child refused with 43$'
tap_check "a's IKE SA established without a Child SA (RFC 7296 §2.21.2)" wait_for 2 alone
tap_check "... a logged which notify refused which Child SA" grep -q \
	"Child SA net not established: the peer refused it in IKE_AUTH with TEMPORARY_FAILURE; the IKE SA stays up without it" "$IKE_DIR/a.log"
peer_wait 16; peer_ok $? "a asked for the Child SA again by CREATE_CHILD_SA"
saw "... 2-10 s after IKE_AUTH (§2.25)" '^child creation answered ([2-9]|10)\.[0-9] s after IKE_AUTH$'
tap_expect_eq "... in one request" 1 "$(grep -cE '^rx [a-z0-9]+ CREATE_CHILD_SA req' "$PO")"
tap_check "a has the IKE SA it had, now with the Child SA" \
	test "$(ike_jq a "[(i['state'], len(i['children'])) for i in s['ike_sas']]")" = "[('ESTABLISHED', 1)]"
ike_stop a

# --- the peer initiates, tcpiked answers ----------------------------------------------
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test)
# b_run "case" "B daemon/conn extra" PEER-ARGS...: b starts, the peer
# initiates from 10.0.0.1
b_run() {
	PO=$IKE_DIR/peer-$1.out
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	wire_reset
	ike_conf b "${B_ARGS[@]}" ${2:+"$2"} && ike_start "$NS_B" b || { tap_fail "b started"; return 1; }
	shift 2
	peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test "$@" ||
		tap_fail "the peer started"
	wait_for 15 grep -qE '^(established|FAIL)' "$PO"
}

b_run udp4500 "conn_extra=dpd_delay = 1s" --notify-data 6a756e6b init 10.0.0.2 \
	info info-notify serve:6
infos() { test "$(grep -c '^info answered' "$PO")" = 2; }
wait_for 10 infos
saw "b echoed N(SEPARATE_TRANSPORTS) on UDP 4500, protocol 0, no SPI, no data though the request had 4 bytes (RT-3, RT-13, RT-14)" \
	'^init-resp udp4500 echo=yes.* N=49152/0/0/8'
saw "the peer moved to TCP: established with IKE on TCP (RT-5)" '^established transport=tcp separate=yes'
tap_check "b reports separate transports" test "$(ike1 b separate) $(ike1 b transport)" = "True tcp"
tap_expect_eq "b's backend was asked for ESP on IP" "in:raw:0:0 out:raw:0:0" "$(kb_encaps b)"
n=$(child_rekeys b)
ike_ctl b rekey c child >/dev/null
if wait_for 10 rekeyed b child $((n + 1)); then
	tap_ok "b's Child SA rekey answered by the peer"
else
	tap_fail "b's Child SA rekey answered by the peer"; ike_log b 40
fi
tap_check "N(SEPARATE_TRANSPORTS) in an INFORMATIONAL: answered on TCP without it, nothing changed (RT-38)" \
	test "$(grep -c '^info answered on tcp notify=no' "$PO") $(ike1 b separate) $(ike1 b transport)" = "2 True tcp"
peer_wait 10; peer_ok $? "the peer's exchanges all answered"
saw "b's rekey and liveness checks came over TCP (RT-12)" '^rx tcp CREATE_CHILD_SA req'
saw "... none of this SA's IKE over UDP after the switch (RT-12)" '^summary udp_after_switch=0 tcp_requests_rx=([3-9]|[1-9][0-9])'
wire_check "at b: IKE_SA_INIT once each way on UDP 4500, nothing on 500, no other UDP IKE" \
	b:out_ike4500=1 b:in_ike4500=1 "${NO_UDP_AFTER[@]}"

b_run udp500 "" --start udp500 init 10.0.0.2 serve:1
peer_wait 10; peer_ok $? "the notify on UDP 500: established"
saw "b did not echo N(SEPARATE_TRANSPORTS) that came on UDP 500, outside the draft's discovery (RT-38)" \
	'^init-resp udp500 echo=no'
saw "... and the SA stays plain RFC 7296 on UDP 500" '^established transport=udp500 separate=no'
tap_check "b reports no separate transports, no TCP" \
	test "$(ike1 b separate) $(cnt b in_syn)" = "False 0"

b_run tcp "" --start tcp init 10.0.0.2 serve:1
peer_wait 10; peer_ok $? "TCP first: established"
saw "b echoed the notify over TCP (RT-9, RT-10)" '^init-resp tcp echo=yes.* N=49152/0/0/8'
tap_expect_eq "b's backend was asked for ESP on IP (RT-10)" "in:raw:0:0 out:raw:0:0" "$(kb_encaps b)"

block "$NS_B" "tcp dport 4500 reject with tcp reset"
b_run rt8 "" --rt8 init 10.0.0.2 serve:1
peer_wait 15; peer_ok $? "TCP blocked at b: the peer's UDP retry established"
saw "the peer's TCP connection was refused after the echo" '^tcp connect failed'
saw "b served the new IKE_SA_INIT on UDP 500 (RT-8)" '^established transport=udp500 separate=no'
tap_check "b has the SA up" ike_established b
unblock "$NS_B"

b_run off "daemon_extra=separate_transports = no" init 10.0.0.2 serve:1
peer_wait 10; peer_ok $? "extension off at b: established"
saw "b did not echo (RT-3)" '^init-resp udp4500 echo=no'
saw "IKE stays on UDP 4500" '^established transport=udp4500 separate=no'
ike_stop b
tap_done
