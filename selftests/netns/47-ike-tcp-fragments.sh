#!/bin/bash
# RFC 9329 §7.5 (TCP-39): IKE fragments are not sent over TCP, but they MUST
# be accepted.  selftests/ikefrag.py, a minimal IKEv2 initiator over TCP,
# sends its IKE_AUTH in RFC 7383 fragments to a tcpiked responder (backend
# none); the SA must come up.  b answers with its RSA certificate chain at
# fragment_size 600, which over UDP it would send in fragments; over TCP
# the answer must be one SK payload (ikefrag.py checks).
. "$(dirname "$0")/../lib.sh"
require_tcpiked
require_py_crypto
. "$TOP/selftests/ike.sh"
topo_pair "ikf$$" || tap_skip_all "cannot build the namespace pair"

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:rsa.tcpike.test rid=fqdn:a.test auth=rsa rauth=psk "conn_extra=fragment_size = 600"
# b restarts for each case: the same selectors twice would collide.
for n in 3 1; do
	ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
	f0=$(ike_counter b fragments_reassembled)
	out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikefrag.py" 10.0.0.2 4500 \
		a.test b.test tcpike-test-psk-0123456789 $n 2>&1)
	tap_check "IKE_AUTH over TCP in $n fragment(s): answered, established ($out)" \
		grep -q '^established' <<<"$out"
	tap_check "b reassembled one message from $n fragment(s) (TCP-39)" \
		test "$(( $(ike_counter b fragments_reassembled) - f0 ))" = 1
	tap_check "b: the IKE SA and its Child SA are up" ike_established b
	ike_stop b
done

# max_frag_buffers (issue 7): a message in more fragments than that is
# dropped, authenticated or not; one within it still gets through.
sed -i 's/^daemon {/daemon {\n\tmax_frag_buffers = 2/' "$IKE_DIR/b.conf"
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikefrag.py" 10.0.0.2 4500 \
	a.test b.test tcpike-test-psk-0123456789 3 3 2>&1)
tap_check "max_frag_buffers = 2: IKE_AUTH in 3 fragments not answered ($out)" \
	grep -q 'FAIL: timed out' <<<"$out"
tap_check "max_frag_buffers = 2: b logged the limit" \
	grep -q "message in 3 fragments: more than the limit, dropped" "$IKE_DIR/b.log"
out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikefrag.py" 10.0.0.2 4500 \
	a.test b.test tcpike-test-psk-0123456789 2 2>&1)
tap_check "max_frag_buffers = 2: IKE_AUTH in 2 fragments established ($out)" \
	grep -q '^established' <<<"$out"
ike_stop b
tap_done
