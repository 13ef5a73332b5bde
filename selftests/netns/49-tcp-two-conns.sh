#!/bin/bash
# RFC 9329 §6.1 (TCP-26, TCP-27): two TCP connections for one IKE SA.
# selftests/ikefrag.py (an IKEv2 initiator of its own, PSK, over TCP) sets
# the SA up on connection A, opens B and sends INFORMATIONALs: on B it is
# answered on B, then on A it is still answered on A (the old connection
# keeps being accepted), and a tampered one on B is not answered and does
# not move the return path.  The responder's own request (its DPD, after
# dpd_delay 2 s) then goes on A, the connection that last carried a valid
# message.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
require_py_crypto
. "$TOP/selftests/ike.sh"
topo_pair "itc$$" || tap_skip_all "cannot build the namespace pair"

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test "conn_extra=dpd_delay = 2s"
# conns MODE: one run of ikefrag.py against a fresh b; OUT is its output
conns() {
	ike_start "$NS_B" b || { tap_fail "tcpiked started" ""; return 1; }
	out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikefrag.py" 10.0.0.2 4500 \
		a.test b.test tcpike-test-psk-0123456789 "$1" 8 2>&1)
	printf '%s\n' "$out" | sed 's/^/# /'
}
conns conns
tap_check "the SA comes up on connection A" grep -q '^established' <<<"$out"
tap_check "INFORMATIONAL on the new connection B: answered on B (TCP-26)" \
	grep -q '^INFORMATIONAL 2 answered on B' <<<"$out"
tap_check "INFORMATIONAL on the old connection A: still accepted, answered on A (TCP-27)" \
	grep -q '^INFORMATIONAL 3 answered on A' <<<"$out"
tap_check "after a tampered message on B, the responder's own request comes on A (TCP-26: last valid message)" \
	grep -q '^request from the responder on A, exchange 37' <<<"$out"
tap_check "b counted the tampered message as bad" \
	test "$(ike_jq b "s['counters']['rx_bad']")" -ge 1
tap_check "b: two TCP connections were accepted" \
	test "$(ike_jq b "s['tcp']['accepted']")" = 2
ike_stop b
conns conns-b
tap_check "last valid message on B, a tampered one on A: the responder's request comes on B" \
	grep -q '^request from the responder on B, exchange 37' <<<"$out"
ike_stop b
tap_done
