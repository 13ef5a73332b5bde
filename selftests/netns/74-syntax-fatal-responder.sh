#!/bin/bash
# RFC 7296 §2.21.3 with tcpiked the responder: "If a peer parsing a request
# notices that it is badly formatted (after it has passed the message
# authentication code checks and window checks) and it returns an
# INVALID_SYNTAX notification, then this error notification is considered
# fatal in both peers, meaning that the IKE SA is deleted without needing
# an explicit Delete payload" (no RFC 2119 keyword there; RFC 6989 §2.5
# has the responder MUST drop the IKE SA after an invalid KE).  73 is the
# other side: INVALID_SYNTAX in a response to tcpiked's request.
#
# selftests/ikepeer.py (Python, not tcpiked) initiates to tcpiked b and,
# once established, sends one request that b must answer INVALID_SYNTAX:
#   chain     an INFORMATIONAL whose inner chain is malformed (a Notify
#             whose Payload Length runs past the end, §3.2), over UDP 500
#   delete    an INFORMATIONAL with a Delete of ESP with a 3-byte SPI
#             (§3.11), over TCP (separate transports: the peer moved IKE
#             to TCP after IKE_SA_INIT), so the answer leaves on a
#             connection that b keeps
#   followup  an IKE SA rekey with ADDKE1 ecp384 (RFC 9370 §2.2.4) whose
#             IKE_FOLLOWUP_KE carries the link but no KE
# Each time the peer reads INVALID_SYNTAX in the encrypted answer, then
# sends a liveness check on the IKE SA, which goes unanswered, and sees
# nothing else come on it for 2 s (no Delete: "gone silent"); b holds no
# IKE SA (tcpikectl status), its backend none of the Child SAs it had
# installed, and its log says why, citing RFC 7296 2.21.3.
# Bounded: about 4 s a case alone on this host.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
require_py_crypto
topo_pair "iky$$" || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test)

# fatal KIND WHAT EXCH PROPOSALS ANSWER-REGEX PEER-OPTIONS... -- ACTIONS...:
# b starts with those IKE proposals, the peer initiates and runs the case
fatal() {
	local kind=$1 what=$2 exch=$3 props=$4 answer=$5 opts=()
	shift 5
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	PO=$IKE_DIR/peer-$kind.out
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	if ! ike_conf b "${B_ARGS[@]}" proposals="$props" || ! ike_start "$NS_B" b; then
		tap_fail "$what: b started"
		return
	fi
	peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test --timeout 5 "${opts[@]}" init 10.0.0.2 "$@" ||
		tap_fail "$what: the peer started"
	peer_wait 20
	peer_ok $? "$what: the peer established with b, sent it, b answered INVALID_SYNTAX and went silent"
	saw "... b answered it INVALID_SYNTAX alone, in the encrypted response" "$answer"
	saw "... then a liveness check on the IKE SA unanswered and nothing else on it for 2 s, no Delete (RFC 7296 2.21.3)" \
		'^gone silent$'
	tap_check "... b keeps no IKE SA (RFC 7296 2.21.3)" ike_gone_soon b
	tap_check "... b's backend holds none of the Child SAs it had installed" eval \
		'[ "$(grep -c "^sa-add" "$IKE_DIR/b.kb")" -ge 2 ] && [ -z "$(kb_sas b)" ]'
	tap_check "... b's log says why, citing RFC 7296 2.21.3" grep -qF \
		"$exch request answered INVALID_SYNTAX: the IKE SA ends without a Delete (RFC 7296 2.21.3)" \
		"$IKE_DIR/b.log"
}

fatal chain "an INFORMATIONAL with a malformed payload chain inside SK (UDP)" INFORMATIONAL \
	aes256gcm16-prfsha256-x25519 '^bad-chain answered notify=7$' \
	--start udp500 --no-notify -- bad-chain expect-gone:2
fatal delete "an INFORMATIONAL with a Delete of ESP with a 3-byte SPI (TCP)" INFORMATIONAL \
	aes256gcm16-prfsha256-x25519 '^bad-delete answered notify=7$' \
	-- bad-delete expect-gone:2
saw "... the answer came over TCP (separate transports)" '^rx tcp INFORMATIONAL resp msgid=2$'
fatal followup "an IKE SA rekey whose IKE_FOLLOWUP_KE has no KE (RFC 9370 2.2.4)" IKE_FOLLOWUP_KE \
	aes256gcm16-prfsha256-x25519-ke1_ecp384 '^followup answered notify=7$' \
	--start udp500 --no-notify --intermediate --addke 1=20 --followup-mistake no-ke \
	-- rekey-addke:20 expect-gone:2
ike_stop b
tap_done
