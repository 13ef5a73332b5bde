#!/bin/bash
# Retransmission under loss (RFC 7296 §2.1, §2.4): b drops every fifth IKE
# packet it receives and every fifth it sends, starting with the first
# received and the second sent (nft numgen inc: the same packets on every
# run, no luck involved).  With a short retransmit_base, three rounds of
# establish, Child SA rekey, IKE SA rekey and delete all complete, and the
# counters show that retransmissions (and b's resent cached responses) did
# the work: the drops really happened.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikel$$" || tap_skip_all "cannot build the namespace pair"

ip netns exec "$NS_B" nft -f - <<'NFT'
table inet loss {
	counter dropped_in {}
	counter dropped_out {}
	chain in {
		type filter hook input priority 0;
		udp dport { 500, 4500 } numgen inc mod 5 == 0 counter name dropped_in drop
	}
	chain out {
		type filter hook output priority 0;
		udp sport { 500, 4500 } numgen inc mod 5 == 1 counter name dropped_out drop
	}
}
NFT

# 9 sends per request over ~4.6 s; with one packet in five lost each way
# no exchange loses more than two tries.  b removes an SA when the Delete
# arrives (as strongSwan does); if its answer is lost, a removes its side
# when the retransmissions run out, so that bound is also the delete's.
RETX="retransmit_base = 150ms;retransmit_factor = 1.3;retransmit_tries = 8"
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 conn_extra="$RETX"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 conn_extra="$RETX"
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_fail "tcpiked started"

for round in 1 2 3; do
	ike_ctl a initiate c --no-wait >/dev/null
	expect_established -t 15 "round $round: established with every fifth packet lost each way"
	old=$(child_spis a)
	ike_ctl a rekey c child >/dev/null
	if wait_for 15 child_new "$old"; then
		tap_ok "round $round: Child SA rekeyed, old SA gone on both sides"
	else
		tap_fail "round $round: Child SA rekey" "before '$old' a '$(child_spis a)' b '$(child_spis b)'"
	fi
	old=$(ike_spis a); oldc=$(child_spis a)
	ike_ctl a rekey c ike >/dev/null
	if wait_for 15 ike_new "$old" "$oldc"; then
		tap_ok "round $round: IKE SA rekeyed, Child SA inherited, old IKE SA deleted"
	else
		tap_fail "round $round: IKE SA rekey" "before $old a '$(ike_spis a)' b '$(ike_spis b)' count $(ike_count a)/$(ike_count b)"
	fi
	ike_ctl a terminate c >/dev/null
	if wait_for 15 no_sa a b; then
		tap_ok "round $round: delete completed on both sides"
	else
		tap_fail "round $round: delete" "IKE SAs left: a $(ike_count a), b $(ike_count b)"
	fi
done

din=$(cnt "$NS_B" dropped_in "inet loss"); dout=$(cnt "$NS_B" dropped_out "inet loss")
retx=$(ike_counter a retransmits)
tap_check "b dropped IKE packets both ways (in $din, out $dout)" test "$din" -gt 0 -a "$dout" -gt 0
tap_check "a retransmitted ($retx times)" test "$retx" -gt 0
# The second packet b sends, its first IKE_AUTH response (or a second
# IKE_SA_INIT response), was dropped: a's retransmission of that request
# was answered from b's cache.
tap_check "b answered retransmitted requests from its response cache" \
	grep -q "retransmitted request .*resending response" "$IKE_DIR/b.log"
tap_expect_eq "no IKE SA failed on either side" "0 0" \
	"$(ike_counter a ike_failed) $(ike_counter b ike_failed)"
ike_stop a
ike_stop b
tap_done
