#!/bin/bash
# IKE_INTERMEDIATE (RFC 9242) against a peer that is not tcpiked:
# selftests/ikepeer.py --intermediate computes IntAuth itself, from the RFC
# (selftests/ikev2.py int_auth_step), over the messages before
# fragmentation, checks tcpiked's AUTH with it and fails on any mistake;
# tcpiked (backend none) checks the peer's.
#
#   the peer initiates from 10.0.0.1, tcpiked answers (b):
#   udp              §3.1: b answers N(INTERMEDIATE_EXCHANGE_SUPPORTED)
#                    encoded protocol 0, no SPI, no data (also to one with
#                    data, which it ignores); §3.2: the
#                    exchange with Message ID 1, IKE_AUTH with 2, a later
#                    request with 3; §3.3.2: both AUTHs over IntAuth
#   udp fragments    §3.2, §3.3.2: 3000 bytes in the IKE_INTERMEDIATE, sent
#                    in RFC 7383 fragments; IntAuth over the whole message
#   separate         the draft §3.1: after the echo IKE_INTERMEDIATE is the
#                    first message on TCP (IKETCP first), IKE_AUTH follows
#                    on TCP; with 3000 bytes in it too
#   mistakes         the peer's IntAuth wrong on purpose (Length fields as
#                    on the wire, IntAuth_r before IntAuth_i, IKE_AUTH_MID
#                    1): b refuses AUTH with AUTHENTICATION_FAILED, no SA
#   intermediate=no  b does not answer the notify: plain IKE_AUTH, ID 1
#
#   tcpiked initiates (a, intermediate = yes), the peer answers with
#   --intermediate and checks a's AUTH with its own IntAuth:
#     udp            §3.1: the notify as a encodes it; §3.2: Message IDs
#     separate       IKE_INTERMEDIATE the first request on TCP
#     unsupported    a peer that does not answer the notify gets IKE_AUTH
#
#   two tcpiked with certificates (ECDSA, RSA): signatures over IntAuth
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "iki$$" || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"

B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test)
# b_run "case" "B conf extra" PEER-ARGS...: b starts, the peer initiates
# from 10.0.0.1 and runs its actions; returns once it is established or
# has failed
b_run() {
	PO=$IKE_DIR/peer-$1.out
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf b "${B_ARGS[@]}" ${2:+"$2"} && ike_start "$NS_B" b || { tap_fail "b started"; return 1; }
	shift 2
	peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test "$@" ||
		tap_fail "the peer started"
	wait_for 15 grep -qE '^(established|FAIL)' "$PO"
}

# --- over UDP ---------------------------------------------------------------------
b_run udp "" --start udp500 --no-notify --intermediate init 10.0.0.2 info
peer_wait 10; peer_ok $? "udp: the peer established with IKE_INTERMEDIATE, b's AUTH verified with IntAuth"
saw "b answered N(INTERMEDIATE_EXCHANGE_SUPPORTED), protocol 0, no SPI, no data (RFC 9242 3.1)" \
	'^init-resp udp500 .*N=16438/0/0/8'
saw "IKE_INTERMEDIATE with Message ID 1 answered on UDP (3.2)" '^inter-resp udp500 msgid=1 frags=1$'
saw "IKE_AUTH followed with Message ID 2 (3.2)" '^rx udp500 IKE_AUTH resp msgid=2$'
saw "the next request took Message ID 3" '^tx udp500 INFORMATIONAL req msgid=3$'
expect_established "udp: b established" b
tap_expect_eq "b counts one IKE_INTERMEDIATE exchange" 1 "$(ike1 b intermediate)"

b_run notify-data "" --start udp500 --no-notify --intermediate --inter-notify-data 6a756e6b \
	init 10.0.0.2
peer_wait 10; peer_ok $? "a notify with 4 data bytes: established with IKE_INTERMEDIATE"
saw "b answered it without data (3.1: data it does not understand is ignored)" \
	'^init-resp udp500 .*N=16438/0/0/8'

b_run udp-frag "" --start udp500 --no-notify --intermediate --inter-pad 3000 --frag-size 1000 \
	init 10.0.0.2
peer_wait 10; peer_ok $? "udp fragments: established after a 3000-byte IKE_INTERMEDIATE in RFC 7383 fragments"
saw "the IKE_INTERMEDIATE went in 4 fragments and was answered" '^inter-resp udp500 msgid=1 frags=4$'
tap_check "b reassembled it" test "$(ike_counter b fragments_reassembled)" -ge 1
expect_established "udp fragments: b established (IntAuth over the message before fragmentation)" b

# --- separate transports ----------------------------------------------------------------
b_run separate "" --intermediate init 10.0.0.2
peer_wait 10; peer_ok $? "separate: established with IKE_INTERMEDIATE"
saw "b echoed SEPARATE_TRANSPORTS and answered INTERMEDIATE_EXCHANGE_SUPPORTED" \
	'^init-resp udp4500 echo=yes.*N=16438/0/0/8'
saw "IKE_INTERMEDIATE was the first request on TCP (draft 3.1, RT-4)" '^tx tcp IKE_INTERMEDIATE req msgid=1$'
saw "... and answered on TCP" '^inter-resp tcp msgid=1 frags=1$'
saw "IKE_AUTH followed on TCP with Message ID 2" '^rx tcp IKE_AUTH resp msgid=2$'
not_saw "no IKE_INTERMEDIATE or IKE_AUTH on UDP" '^(tx|rx) udp[0-9]* (IKE_INTERMEDIATE|IKE_AUTH)'
tap_check "b reports separate transports, IKE on TCP, one IKE_INTERMEDIATE" \
	test "$(ike1 b separate) $(ike1 b transport) $(ike1 b intermediate)" = "True tcp 1"

b_run separate-big "" --intermediate --inter-pad 3000 init 10.0.0.2
peer_wait 10; peer_ok $? "separate: a 3000-byte IKE_INTERMEDIATE over TCP, established"
expect_established "separate with 3000 bytes: b established" b

# --- IntAuth computed wrongly: AUTH fails ----------------------------------------------
for m in wire-length swap mid; do
	start=(--start udp500 --no-notify)
	[ "$m" = swap ] && start=()
	b_run "mistake-$m" "" "${start[@]}" --intermediate --int-auth-mistake "$m" init 10.0.0.2
	peer_wait 10
	rc=$?
	tap_check "IntAuth mistake $m: the peer's IKE_INTERMEDIATE was answered" \
		grep -qE '^inter-resp (udp500|tcp) msgid=1' "$PO"
	tap_check "IntAuth mistake $m: b refused AUTH with AUTHENTICATION_FAILED" \
		grep -q '^FAIL: IKE_AUTH error notify 24$' "$PO"
	tap_check "IntAuth mistake $m: the peer did not establish" test "$rc" != 0
	tap_expect_eq "IntAuth mistake $m: no IKE SA at b" 0 "$(ike_counter b ike_established)"
done

# --- b without RFC 9242 ------------------------------------------------------------------
b_run inter-no "conn_extra=intermediate = no" --start udp500 --no-notify --intermediate \
	init 10.0.0.2
peer_wait 10; peer_ok $? "intermediate = no at b: established all the same"
not_saw "b did not answer the notify" '^init-resp .*N=16438/'
not_saw "no IKE_INTERMEDIATE was sent" 'IKE_INTERMEDIATE'
saw "IKE_AUTH with Message ID 1" '^rx udp500 IKE_AUTH resp msgid=1$'
tap_expect_eq "b counts no IKE_INTERMEDIATE" 0 "$(ike1 b intermediate)"

ike_stop b

# --- tcpiked initiates (a), the peer answers at 10.0.0.2 ------------------------------
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)

a_run init-udp --intermediate resp serve:3 -- "conn_extra=intermediate = yes"
expect_established "a initiates over UDP with IKE_INTERMEDIATE: established" a
peer_wait 10; peer_ok $? "the peer verified a's AUTH with its own IntAuth, a verified the peer's"
saw "a announced N(INTERMEDIATE_EXCHANGE_SUPPORTED), protocol 0, no SPI, no data (3.1)" \
	'^init-req udp500 .*N=16438/0/0/8'
saw "a's IKE_INTERMEDIATE came with Message ID 1 (3.2)" '^inter-req udp500 msgid=1$'
saw "a's IKE_AUTH followed with Message ID 2 (3.2)" '^auth-req udp500 msgid=2 spis=same$'

a_run init-separate --intermediate resp serve:3 -- \
	"conn_extra=transport = separate;intermediate = yes"
expect_established "a initiates with separate transports and IKE_INTERMEDIATE: established" a
peer_wait 10; peer_ok $? "separate: AUTH verified both ways with IntAuth"
saw "a's IKE_INTERMEDIATE was its first request on TCP (draft 3.1)" '^inter-req tcp msgid=1$'
saw "a's IKE_AUTH followed on TCP with Message ID 2" '^auth-req tcp msgid=2 spis=same$'

a_run init-unsupported resp serve:3 -- "conn_extra=intermediate = yes"
expect_established "a initiates, the peer does not answer the notify: established" a
peer_wait 10; peer_ok $? "the peer without IKE_INTERMEDIATE was not sent one"
saw "a's IKE_AUTH came with Message ID 1" '^auth-req udp500 msgid=1 spis=same$'
ike_stop a

# --- signatures: two tcpiked with certificates ----------------------------------------
# AUTH's signed octets gain IntAuth as PSK's do (exch_auth.c octets_for);
# here both ends are tcpiked, ECDSA one way and RSA the other, and IKE_AUTH
# goes in RFC 7383 fragments after the IKE_INTERMEDIATE.
ike_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:rsa.tcpike.test \
	conn_extra="intermediate = yes;fragment_size = 576" \
   -- auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec.tcpike.test \
	conn_extra="fragment_size = 576"
expect_established "certificates: ECDSA initiator, RSA responder, after IKE_INTERMEDIATE" a b
tap_expect_eq "certificates: one IKE_INTERMEDIATE at each end" "1 1" \
	"$(ike1 a intermediate) $(ike1 b intermediate)"
tap_check "certificates: b's IKE_AUTH went in fragments, reassembled by a" \
	test "$(ike_counter a fragments_reassembled)" -ge 1
ike_stop a
ike_stop b
tap_done
