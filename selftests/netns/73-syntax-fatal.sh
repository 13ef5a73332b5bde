#!/bin/bash
# RFC 7296 §2.21.3: an INVALID_SYNTAX notification returned for a request
# "is considered fatal in both peers, meaning that the IKE SA is deleted
# without needing an explicit Delete payload".  tcpiked (a) is the
# initiator of an IKE SA with the Python responder (selftests/ikepeer.py at
# b's address, a peer that is not tcpiked), which answers one request of
# a's with an encrypted response holding N(INVALID_SYNTAX) alone
# (--invalid-syntax):
#   - ike-rekey: a's CREATE_CHILD_SA rekeying the IKE SA (tcpikectl rekey c ike)
#   - child: a's CREATE_CHILD_SA rekeying the Child SA (tcpikectl rekey c child)
#   - info: a's INFORMATIONAL, its liveness check (dpd_delay = 1s)
# Each time a holds no IKE SA within 2 s of the answer (tcpikectl status),
# sends nothing more on it, neither a Delete nor any other request (the
# peer watches for 2 s after its answer: "syntax-end silent"), and its log
# says why, citing RFC 7296 2.21.3; no IKE message leaves a from the
# answer to the peer's exit (nft counters).
# Bounded: about 3 s a case alone on this host.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
command -v nft >/dev/null || tap_skip_all "nft not installed"
require_py_crypto
topo_pair "iks$$" || tap_skip_all "cannot build the namespace pair"
wire_count a="$NS_A"
. "$TOP/selftests/ikepeer.sh"
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)

# fatal KIND WHAT EXCH -- A-CONF-ARGS... -- TRIGGER...: one case
fatal() {
	local kind=$1 what=$2 exch=$3 conf=() trig=()
	shift 4
	while [ $# -gt 0 ] && [ "$1" != -- ]; do conf+=("$1"); shift; done
	shift
	trig=("$@")
	a_run "$kind" --invalid-syntax "$kind" resp expect-syntax-end:10 -- "${conf[@]}"
	expect_established "$what: a established with the Python responder" a
	[ ${#trig[@]} -gt 0 ] && "${trig[@]}" >/dev/null
	if ! wait_for 10 grep -q "^$kind-req answered INVALID_SYNTAX\$" "$PO"; then
		tap_fail "$what: the peer answered it INVALID_SYNTAX" "$(tail -n 5 "$PO")"
		peer_wait 1
		ike_stop a
		return
	fi
	wire_reset
	tap_ok "$what: the peer answered it INVALID_SYNTAX alone"
	tap_check "... a keeps no IKE SA within 2 s (RFC 7296 2.21.3)" ike_gone_soon a
	peer_wait 6
	peer_ok $? "... a sent nothing more on the IKE SA, no Delete (RFC 7296 2.21.3)"
	saw "... the peer watched for 2 s after its answer" '^syntax-end silent$'
	wire_check "... nor any IKE message on the wire out of a since the answer" \
		a:out_ike500=0 a:out_ike4500=0
	tap_check "... a's log says why, citing RFC 7296 2.21.3" grep -qF \
		"our $exch request answered INVALID_SYNTAX: the IKE SA ends without a Delete (RFC 7296 2.21.3)" \
		"$IKE_DIR/a.log"
	ike_stop a
}

fatal ike-rekey "a's IKE SA rekey" CREATE_CHILD_SA -- -- ike_ctl a rekey c ike
fatal child "a's Child SA rekey" CREATE_CHILD_SA -- -- ike_ctl a rekey c child
fatal info "a's liveness check (INFORMATIONAL)" INFORMATIONAL -- conn_extra="dpd_delay = 1s" --
tap_done
