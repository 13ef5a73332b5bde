#!/bin/bash
# Retransmission under loss (RFC 7296 §2.1, §2.4): b drops 20 % of the IKE
# packets it receives and 20 % of those it sends (nft numgen).  With a short
# retransmit_base, three rounds of establish, Child SA rekey, IKE SA rekey and
# delete all complete, and the counters show that retransmissions (and
# b's resent cached responses) did the work: the drops really happened.
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
. "$TOP/selftests/ike.sh"
topo_pair "ikel$$" || tap_skip_all "cannot build the namespace pair"

ip netns exec "$NS_B" nft -f - <<'NFT'
table inet loss {
	counter dropped_in {}
	counter dropped_out {}
	chain in {
		type filter hook input priority 0;
		udp dport { 500, 4500 } numgen random mod 5 == 0 counter name dropped_in drop
	}
	chain out {
		type filter hook output priority 0;
		udp sport { 500, 4500 } numgen random mod 5 == 0 counter name dropped_out drop
	}
}
NFT
dropped() { ip netns exec "$NS_B" nft list counter inet loss "$1" | awk '/packets/ {print $2}'; }

# 9 sends per request over ~4.6 s: an exchange fails only when all 9 (or
# their answers) are lost, p = 0.36^9.  b removes an SA when the Delete
# arrives (as strongSwan does); if its answer is lost, a removes its side
# when the retransmissions run out, so that bound is also the delete's.
RETX="retransmit_base = 150ms;retransmit_factor = 1.3;retransmit_tries = 8"
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 conn_extra="$RETX"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 conn_extra="$RETX"
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"

spis() { ike_jq "$1" "' '.join(c['spi_in']+'/'+c['spi_out'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
ikespi() { ike_jq "$1" "' '.join(i['spi_i']+'/'+i['spi_r'] for i in s['ike_sas'] if i['state']=='ESTABLISHED')"; }
# both ends agree on one Child SA (mirrored SPIs) other than $1
child_new() {
	local a
	a=$(spis a)
	[ -n "$a" ] && [ "$a" != "$1" ] && [ "$(echo "$a" | wc -w)" = 1 ] &&
		[ "$(spis b | awk -F/ '{print $2"/"$1}')" = "$a" ]
}
# both ends on one IKE SA other than $1, the Child SA carried over
ike_new() {
	local a
	a=$(ikespi a)
	[ -n "$a" ] && [ "$a" != "$1" ] && [ "$(ikespi b)" = "$a" ] &&
		[ "$(ike_count a)" = 1 ] && [ "$(ike_count b)" = 1 ] && [ "$(spis a)" = "$2" ]
}
none_left() { [ "$(ike_count a)" = 0 ] && [ "$(ike_count b)" = 0 ]; }

for round in 1 2 3; do
	ike_ctl a initiate c >/dev/null
	if wait_for 15 ike_established a && wait_for 5 ike_established b; then
		tap_ok "round $round: established under 20 % loss each way"
	else
		tap_fail "round $round: established under 20 % loss each way"; ike_log a; ike_log b
	fi
	old=$(spis a)
	ike_ctl a rekey c child >/dev/null
	if wait_for 15 child_new "$old"; then
		tap_ok "round $round: Child SA rekeyed, old SA gone on both sides"
	else
		tap_fail "round $round: Child SA rekey" "before '$old' a '$(spis a)' b '$(spis b)'"
	fi
	old=$(ikespi a); oldc=$(spis a)
	ike_ctl a rekey c ike >/dev/null
	if wait_for 15 ike_new "$old" "$oldc"; then
		tap_ok "round $round: IKE SA rekeyed, Child SA inherited, old IKE SA deleted"
	else
		tap_fail "round $round: IKE SA rekey" "before $old a '$(ikespi a)' b '$(ikespi b)' count $(ike_count a)/$(ike_count b)"
	fi
	ike_ctl a terminate c >/dev/null
	if wait_for 15 none_left; then
		tap_ok "round $round: delete completed on both sides"
	else
		tap_fail "round $round: delete" "IKE SAs left: a $(ike_count a), b $(ike_count b)"
	fi
done

din=$(dropped dropped_in); dout=$(dropped dropped_out)
retx=$(ike_jq a "s['counters']['retransmits']")
tap_check "b dropped IKE packets (in $din, out $dout)" test $((din + dout)) -gt 0
tap_check "a retransmitted ($retx times)" test "$retx" -gt 0
# A dropped response forces a retransmission that b answers from its
# cache, unless the drop hit the answer to a Delete (b forgot the SA).
if [ "$(grep -c "retransmitted request .*resending response" "$IKE_DIR/b.log")" -gt 0 ]; then
	tap_ok "b answered retransmitted requests from its response cache"
elif [ "$dout" -le 2 ]; then
	tap_skip "b answered retransmitted requests from its response cache" "few responses dropped ($dout)"
else
	tap_fail "b answered retransmitted requests from its response cache" "$dout responses dropped"
fi
tap_expect_eq "no IKE SA failed on either side" "0 0" \
	"$(ike_jq a "s['counters']['ike_failed']") $(ike_jq b "s['counters']['ike_failed']")"
ike_stop a
ike_stop b
tap_done
