#!/bin/bash
# Cookies over TCP come with an RFC 8019 puzzle (RFC 9329 §6.3, TCP-29),
# against a live tcpiked responder (backend none, cookies always on),
# driven by crafted IKE_SA_INIT requests from selftests/ikestream.py:
#   the cookie request carries N(PUZZLE) (PRF of the request's proposal,
#   the configured difficulty) and closes the connection;
#   a retry with the cookie and no solution (an initiator without puzzle
#   support) is still served (§7.1.5), counted as unsolved;
#   a retry with a malformed solution gets a new cookie and puzzle.
# tcpiked as initiator solving the puzzle is in 40 ("the cookie came with an
# RFC 8019 puzzle, a solved it").
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ikz$$" || tap_skip_all "cannot build the namespace pair"

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test "daemon_extra=cookie_threshold = 0;tcp_puzzle_difficulty = 10"
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
st() { ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" 10.0.0.2 4500 "$@" 2>&1; }

out=$(st prefix init:z1 expect-cookie:3 expect-notify:16434:11 expect-close:3)
tap_check "cookie request over TCP carries N(PUZZLE), then the connection closes ($(echo $out))" \
	grep -q closed <<<"$out"
tap_check "b counted one puzzle sent" test "$(ike_counter b puzzles_sent)" = 1

out=$(st prefix init:z2 expect-cookie:3 reconnect prefix init-cookie:z2 expect-init-resp:3)
tap_check "retry with the cookie and no solution: served, as for an initiator without puzzles ($(echo $out))" \
	grep -q '^spi_r' <<<"$out"
tap_check "b counted it as unsolved, none as bad" test "$(ike_counter b puzzles_unsolved) $(ike_counter b puzzles_bad)" = "1 0"

out=$(st prefix init:z3 expect-cookie:3 reconnect prefix \
	init-cookie:z3:00000000000000000000000000000000 expect-cookie:3)
tap_check "retry with four equal keys as the solution: a new cookie, no SA ($(echo $out))" \
	test "$(grep -c '^cookie' <<<"$out")" = 2
tap_check "b counted one bad solution and sent a second puzzle for it" \
	test "$(ike_counter b puzzles_bad) $(ike_counter b puzzles_sent)" = "1 4"
tap_check "only the served request left a half-open SA" test "$(ike_jq b "s['half_open']")" = 1
ike_stop b
tap_done
