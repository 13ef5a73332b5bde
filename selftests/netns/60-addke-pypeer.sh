#!/bin/bash
# Multiple key exchanges in IKEv2 (RFC 9370) against a peer that is not
# tcpiked: selftests/ikepeer.py --addke negotiates the Additional Key
# Exchange transform types, runs one IKE_INTERMEDIATE per additional key
# exchange and updates the keys after each (ikev2.py Keys.update), all from
# the RFC's text; a wrong key update, group or KE anywhere fails a check.
#
#   the peer initiates from 10.0.0.1, tcpiked answers (b):
#   one over UDP     x25519 + ADDKE1 ecp384: b chooses it (2.2.1), the
#                    IKE_INTERMEDIATE with Message ID 1 carries KEr(1) of
#                    ecp384, IKE_AUTH (ID 2) goes under the updated keys
#                    (2.2.2) and its AUTH over IntAuth (2.2.3)
#   two over TCP     ADDKE1 ecp384, ADDKE2 x448 in that order (2.2.1),
#                    IntAuth chained over both, IKE_AUTH with ID 3
#   NONE             ADDKE1 ecp384 or NONE offered, b with no ADDKE: NONE
#                    chosen, no key exchange in IKE_INTERMEDIATE
#   not offered      b requires ADDKE1, the peer offers none:
#                    NO_PROPOSAL_CHOSEN
#   mistakes         the peer's KE of the wrong method: INVALID_KE_PAYLOAD
#                    naming the negotiated one; no KE: INVALID_SYNTAX; its
#                    keys not updated: IKE_AUTH does not decrypt at b;
#                    IKE_AUTH straight after IKE_SA_INIT: INVALID_SYNTAX; no
#                    SA at b in any
#   no duplicates    ecp384 offered for ADDKE1 and ADDKE2: b takes x448 for
#                    the second (2.2.1)
#
#   tcpiked initiates (a), the peer answers:
#   one over UDP, two over TCP (transport = tcp), ke1_none chosen by a peer
#   without ADDKE; the peer's mistakes (wrong method, no KE, keys not
#   updated): a gives up, no SA
#
#   two tcpiked, ADDKE1 and ADDKE2, both ways established; an IKE SA rekey
#   (without additional key exchanges: IKE_FOLLOWUP_KE is not implemented)
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikk$$" || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"

P1=aes256gcm16-prfsha256-x25519-ke1_ecp384
P2=aes256gcm16-prfsha256-x25519-ke1_ecp384-ke2_x448
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test)
# b_run "case" "proposals" PEER-ARGS...: b starts, the peer initiates
b_run() {
	PO=$IKE_DIR/peer-$1.out
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf b "${B_ARGS[@]}" proposals="$2" && ike_start "$NS_B" b ||
		{ tap_fail "b started"; return 1; }
	shift 2
	peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test "$@" ||
		tap_fail "the peer started"
	wait_for 15 grep -qE '^(established|FAIL)' "$PO"
}

# --- the peer initiates ----------------------------------------------------------------
b_run one-udp "$P1" --start udp500 --no-notify --intermediate --addke 1=20 init 10.0.0.2 info
peer_wait 10; peer_ok $? "one ADDKE over UDP: the peer established, b's AUTH verified under the updated keys"
saw "b chose ADDKE1 ecp384 (RFC 9370 2.2.1)" '^addke chosen=20$'
saw "IKE_INTERMEDIATE 1 carried KEr(1) of ecp384 (2.2.2)" '^addke-resp msgid=1 ke=20$'
saw "IKE_AUTH followed with Message ID 2, decrypted with SK_er(1)" '^rx udp500 IKE_AUTH resp msgid=2$'
saw "the next request under the updated keys took Message ID 3" '^tx udp500 INFORMATIONAL req msgid=3$'
expect_established "one ADDKE over UDP: b established" b
tap_expect_eq "b counts one IKE_INTERMEDIATE exchange" 1 "$(ike1 b intermediate)"

# IKE_FOLLOWUP_KE (2.2.4) is not implemented: an IKE SA rekey that
# requires an additional key exchange is refused, one that allows NONE
# gets it
b_run rekey-addke "$P1" --start udp500 --no-notify --intermediate --addke 1=20 init 10.0.0.2 \
	rekey-addke:20 rekey-addke:20,0
peer_wait 10; peer_ok $? "rekey requests with ADDKE1 answered"
saw "CREATE_CHILD_SA with ADDKE1 ecp384 required: NO_PROPOSAL_CHOSEN" \
	'^rekey-addke answered notify=14$'
saw "CREATE_CHILD_SA with ADDKE1 ecp384 or NONE: NONE chosen" '^rekey-addke answered sa addke=6:0$'

b_run two-tcp "$P2" --start tcp --no-notify --intermediate --addke 1=20 --addke 2=32 \
	init 10.0.0.2 info
peer_wait 10; peer_ok $? "two ADDKEs over TCP: the peer established, IntAuth chained over both"
saw "b chose ecp384 then x448" '^addke chosen=20,32$'
saw "the first exchange: ecp384" '^addke-resp msgid=1 ke=20$'
saw "the second exchange: x448, under the keys of the first" '^addke-resp msgid=2 ke=32$'
saw "IKE_AUTH with Message ID 3 on TCP" '^rx tcp IKE_AUTH resp msgid=3$'
expect_established "two ADDKEs over TCP: b established" b
tap_expect_eq "b counts two IKE_INTERMEDIATE exchanges" 2 "$(ike1 b intermediate)"

b_run none aes256gcm16-prfsha256-x25519 --start udp500 --no-notify --intermediate \
	--addke 1=20,0 init 10.0.0.2
peer_wait 10; peer_ok $? "ADDKE1 ecp384 or NONE, b without ADDKE: established"
saw "b chose NONE (2.2.1)" '^addke chosen=$'
not_saw "no additional key exchange took place" '^addke-resp'

b_run no-duplicates aes256gcm16-prfsha256-x25519-ke1_ecp384-ke1_x448-ke2_ecp384-ke2_x448 \
	--start udp500 --no-notify --intermediate --addke 1=20 --addke 2=20,32 init 10.0.0.2
peer_wait 10; peer_ok $? "ecp384 for ADDKE1, ecp384 or x448 for ADDKE2: established"
saw "b did not choose ecp384 twice (2.2.1)" '^addke chosen=20,32$'

b_run not-offered "$P1" --start udp500 --no-notify --intermediate --timeout 5 init 10.0.0.2
peer_wait 10
saw "b requires ADDKE1, none offered: NO_PROPOSAL_CHOSEN" '^FAIL: IKE_SA_INIT error notify 14$'

for m in wrong-group no-ke no-update skip; do
	b_run "mistake-$m" "$P1" --start udp500 --no-notify --intermediate --addke 1=20 \
		--addke-mistake "$m" --timeout 5 init 10.0.0.2
	peer_wait 10
	rc=$?
	case $m in
	wrong-group)
		saw "a KE of x448 for ecp384: INVALID_KE_PAYLOAD naming ecp384" \
			'^FAIL: IKE_INTERMEDIATE error notify 17 data=0014$' ;;
	no-ke)
		saw "no KE in the additional key exchange: INVALID_SYNTAX" \
			'^FAIL: IKE_INTERMEDIATE error notify 7$' ;;
	no-update)
		saw "keys not updated: the IKE_INTERMEDIATE was answered" '^addke-resp msgid=1 ke=20$'
		saw "... IKE_AUTH under the old keys got no answer" \
			'^FAIL: timed out waiting for the response to message 2$' ;;
	skip)
		saw "IKE_AUTH without the additional key exchange: INVALID_SYNTAX" \
			'^FAIL: IKE_AUTH error notify 7$' ;;
	esac
	tap_check "ADDKE mistake $m: the peer did not establish" test "$rc" != 0
	tap_expect_eq "ADDKE mistake $m: no IKE SA at b" 0 "$(ike_counter b ike_established)"
done
ike_stop b

# --- tcpiked initiates (a), the peer answers at 10.0.0.2 ------------------------------
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)
a_run init-one --intermediate --addke 1=20 resp serve:3 -- proposals="$P1"
expect_established "a initiates with ADDKE1 over UDP: established" a
peer_wait 10; peer_ok $? "the peer checked a's KE, its keys and AUTH"
saw "a announced INTERMEDIATE_EXCHANGE_SUPPORTED with ADDKE (2.2.1)" '^init-req udp500 .*N=16438/'
saw "a's KEi(1) was ecp384, Message ID 1" '^addke-req msgid=1 ke=20$'
saw "a's IKE_AUTH followed with Message ID 2 under the updated keys" '^auth-req udp500 msgid=2 spis=same$'

a_run init-two --intermediate --addke 1=20 --addke 2=32 resp serve:3 -- proposals="$P2" \
	"conn_extra=transport = tcp"
expect_established "a initiates with two ADDKEs over TCP: established" a
peer_wait 10; peer_ok $? "two ADDKEs over TCP: the peer checked both key exchanges and AUTH"
saw "a's first: ecp384" '^addke-req msgid=1 ke=20$'
saw "a's second: x448" '^addke-req msgid=2 ke=32$'
saw "a's IKE_AUTH with Message ID 3 on TCP" '^auth-req tcp msgid=3 spis=same$'

a_run init-none --intermediate resp serve:3 -- proposals="$P1-ke1_none"
expect_established "a offers ke1_none, the peer without ADDKE: established" a
peer_wait 10; peer_ok $? "NONE chosen: no additional key exchange"
saw "a's IKE_AUTH came with Message ID 1" '^auth-req udp500 msgid=1 spis=same$'

for m in wrong-group no-ke no-update; do
	a_run "init-mistake-$m" --intermediate --addke 1=20 --addke-mistake "$m" \
		--timeout 6 resp -- proposals="$P1"
	peer_wait 10
	rc=$?
	tap_check "peer mistake $m: the peer did not establish" test "$rc" != 0
	if [ "$m" = no-update ]; then
		saw "keys not updated: a's IKE_AUTH does not decrypt at the peer" \
			'^FAIL: .*does not decrypt'
	else
		saw "peer mistake $m: a sent no IKE_AUTH" '^FAIL: timed out waiting for IKE_AUTH$'
	fi
	tap_expect_eq "peer mistake $m: no IKE SA at a" 0 "$(ike_counter a ike_established)"
done
ike_stop a

# --- two tcpiked ----------------------------------------------------------------------------
ike_up proposals="$P2" rid=fqdn:b.test -- proposals="$P2" rid=fqdn:a.test
expect_established "two tcpiked, ADDKE1 and ADDKE2: established" a b
tap_expect_eq "two tcpiked: two IKE_INTERMEDIATE at each end" "2 2" \
	"$(ike1 a intermediate) $(ike1 b intermediate)"
# IKE_FOLLOWUP_KE (2.2.4) is not implemented: the rekey carries no ADDKE
# transform and runs the type-4 exchange alone; both ends take that
ike_ctl a rekey c ike >/dev/null
tap_check "two tcpiked: the IKE SA rekeys without additional key exchanges" \
	wait_for 5 rekeyed a ike 1
tap_check "... and b took the rekey" wait_for 5 rekeyed b ike 1
ike_stop a
ike_stop b
tap_done
