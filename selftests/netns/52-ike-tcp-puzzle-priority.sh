#!/bin/bash
# RFC 8019 §7.1.4-7.1.5 over TCP (issue 18): a request that returns the
# cookie without solving the puzzle has the lowest priority.  tcpiked
# serves such requests only while half-open SAs take less than half of
# half_open_max; above that they get a new cookie and puzzle, so the other
# half stays for initiators that solve puzzles.
#   30 cookie-returning requests without a solution from 10.0.0.3 against
#   half_open_max = 20: at most 10 half-open SAs, the rest asked again;
#   then tcpiked a (10.0.0.1, IKE over TCP, solves puzzles) gets its SA.
# Bounded: about 20 s, 60 connections.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ikq$$" || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" addr add 10.0.0.3/24 dev va

ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	"conn_extra=transport = tcp"
ike_conf b local=10.0.0.2 "remote=10.0.0.1, 10.0.0.3" lts=192.168.2.0/24 rts=192.168.1.0/24 \
	"daemon_extra=cookie_threshold = 0;half_open_max = 20;half_open_per_ip = 100;tcp_puzzle_difficulty = 4"
ike_start "$NS_B" b && ike_start "$NS_A" a || { tap_diag "$(tail -n 3 "$IKE_DIR/b.log")"; tap_skip_all "tcpiked did not start"; }

acts=(prefix)
for i in $(seq 30); do
	acts+=(init:u$i expect-cookie:3 reconnect prefix init-cookie:u$i expect-frame:1 reconnect prefix)
done
t0=$(date +%s.%N)
out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" --src 10.0.0.3 10.0.0.2 4500 \
	"${acts[@]}" 2>&1)
t1=$(date +%s.%N)
# The flood's half-open SAs live 30 s: a comes while they are there.
ike_ctl a initiate c --no-wait >/dev/null
if wait_for 15 ike_established a; then
	tap_ok "a, which solves puzzles, established beside the unsolved half-open SAs in $(echo "scale=1; ($(date +%s.%N) - $t1) / 1" | bc) s (bound 15 s)"
else
	tap_fail "a, which solves puzzles, established beside the unsolved half-open SAs within 15 s"
	ike_log a; ike_log b
fi
ho=$(ike_jq b "s['half_open']")
tap_diag "flood took $(echo "scale=1; ($t1 - $t0) / 1" | bc) s: $(grep -c '^frame' <<<"$out") answers to 30 unsolved retries; half-open $ho; unsolved $(ike_counter b puzzles_unsolved), deferred $(ike_counter b puzzles_deferred)"
tap_check "the flood ran to its end" test "$(grep -c '^frame' <<<"$out")" = 30
tap_check "unsolved requests held to half of half_open_max = 20 (half-open $ho)" \
	test "$ho" -ge 5 -a "$ho" -le 10
tap_check "the others were asked again, counted as deferred ($(ike_counter b puzzles_deferred))" \
	test "$(ike_counter b puzzles_deferred)" -ge 20
tap_check "b counted a's solved puzzle" test "$(ike_counter b puzzles_solved)" -ge 1
ike_stop a
ike_stop b
tap_done
