#!/bin/bash
# Half-open flood against tcpiked (RFC 7296 §2.6).  ike-flood sends
# thousands of IKE_SA_INIT requests with random SPIs, nonces and KE values
# from many source ports of a second address.  With cookie_threshold = 10,
# b answers all but the first few with a COOKIE and keeps no state for
# them, its half-open count stays bounded, and a real initiator (which
# returns the cookie) still gets its SA during the flood.  A flood that
# returns its cookies is then held by half_open_per_ip.  b must stay up
# and exit cleanly.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
[ -x "$BIN/tools/ike-flood" ] || tap_skip_all "$BIN/tools/ike-flood not built (make asan)"
. "$TOP/selftests/ike.sh"
topo_pair "ikef$$" || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" addr add 10.0.0.3/24 dev va	# the flood's address

ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
ike_conf b local=10.0.0.2 remote=10.0.0.1,10.0.0.3 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	daemon_extra="cookie_threshold = 10;half_open_per_ip = 40;half_open_max = 200"
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"

# Samples b's half-open count every 0.2 s into $1 until killed.
sample_half_open() {
	while :; do
		ike_jq b "s['half_open']" >>"$1" 2>/dev/null
		sleep 0.2
	done
}
max_of() { sort -n "$1" | tail -n1; }

# --- flood that ignores its cookies, with a real initiator in the middle -----
ho=$IKE_DIR/ho1
sample_half_open "$ho" & sampler=$!
ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src 10.0.0.3 \
	--count 4000 --rate 800 --sockets 128 --wait 2 >"$IKE_DIR/flood1" 2>&1 &
flood=$!
sleep 1
ike_ctl a initiate c --no-wait >/dev/null
if wait_for 10 ike_established a && wait_for 2 ike_established b; then
	tap_ok "a real initiator establishes during the flood"
else
	tap_fail "a real initiator establishes during the flood"; ike_log a; ike_log b
fi
if kill -0 $flood 2>/dev/null; then
	tap_ok "the flood was still running when a's SA was up"
else
	tap_fail "the flood was still running when a's SA was up" "$(cat "$IKE_DIR/flood1")"
fi
wait $flood; rc=$?
kill $sampler; wait $sampler 2>/dev/null
out=$(cat "$IKE_DIR/flood1")
tap_diag "ike-flood: $out"
get() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
sent=$(get sent "$out"); cookies=$(get cookies "$out"); sainit=$(get sa_init "$out")
tap_check "ike-flood sent all 4000 requests (rc $rc)" test "$rc" = 0 -a "$sent" = 4000
# Above the threshold every request without a valid cookie gets one: all
# but the first 10 (and what the loss of a busy socket buffer takes).
tap_check "b answered the flood with COOKIE notifies ($cookies of 4000)" test "$cookies" -ge 3800
tap_check "only the first requests got a real IKE_SA_INIT answer ($sainit)" test "$sainit" -le 10
tap_check "b's cookie counter matches (cookies_sent >= $cookies)" \
	test "$(ike_jq b "s['counters']['cookies_sent']")" -ge "$cookies"
# (the threshold, plus the real initiator for the moment between its
# cookie-bearing IKE_SA_INIT and its IKE_AUTH)
tap_check "b's half-open count stayed at the threshold (max $(max_of "$ho") <= 10 + 1)" \
	test -s "$ho" -a "$(max_of "$ho")" -le 11 -a "$(max_of "$ho")" -ge 1
tap_check "the real initiator returned its cookie (cookies_ok >= 1)" \
	test "$(ike_jq b "s['counters']['cookies_ok']")" -ge 1

# --- flood that returns its cookies: half_open_per_ip holds it ----------------
ho=$IKE_DIR/ho2
sample_half_open "$ho" & sampler=$!
ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src 10.0.0.3 \
	--count 1000 --rate 500 --sockets 64 --wait 2 --answer-cookies >"$IKE_DIR/flood2" 2>&1
rc=$?
kill $sampler; wait $sampler 2>/dev/null
out=$(cat "$IKE_DIR/flood2")
tap_diag "ike-flood --answer-cookies: $out"
retries=$(get cookie_retries "$out"); sainit=$(get sa_init "$out")
tap_check "the flood returned its cookies ($retries)" test "$rc" = 0 -a "$retries" -ge 900
tap_check "b created half-open SAs only up to half_open_per_ip ($sainit answers, max half-open $(max_of "$ho"))" \
	test "$sainit" -ge 1 -a "$sainit" -le 40 -a "$(max_of "$ho")" -le 40
tap_check "b logged the per-address limit" grep -q "too many half-open IKE SAs" "$IKE_DIR/b.log"
tap_check "a's IKE SA survived both floods" ike_established a
ike_stop b
ike_stop a
tap_done
