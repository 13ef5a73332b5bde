#!/bin/bash
# The unit test cases that need espintcp (CONFIG_INET_ESPINTCP), which the
# host running the unit layer lacks (they skip there by design), run here
# on the 6.12 test kernel, each in a namespace of its own:
#   test_transport tcp_wait_room_for_a_full_espintcp_socket: at stop, a
#   Delete that espintcp's socket refuses with EAGAIN is waited for within
#   stop_timeout (tcp_wait_room), not counted as not sent.
# Each case must run (not skip) and pass.
. "$(dirname "$0")/../lib.sh"
have_espintcp ||
	tap_skip_all_design "kernel without espintcp (CONFIG_INET_ESPINTCP), e.g. Debian's 6.1"

# unit PROGRAM CASE: one case of a unit test program, "ok" only when it ran
unit() {
	local prog=$BIN/tests/$1 out rc
	if [ ! -x "$prog" ]; then
		tap_fail "$1 $2 on espintcp" "$prog missing (make asan builds it)"
		return
	fi
	ns_add "ut$$" || { tap_fail "$1 $2 on espintcp" "cannot make a namespace"; return; }
	out=$(ip netns exec "ut$$" "$prog" -t "$2" 2>&1)
	rc=$?
	ns_cleanup
	if [ $rc = 0 ] && grep -qx "ok 1 global.$2" <<<"$out"; then
		tap_ok "$1 $2 on espintcp (ran, passed)"
	else
		tap_fail "$1 $2 on espintcp (ran, passed)" "exit $rc; $(tail -n 15 <<<"$out")"
	fi
}

unit test_transport tcp_wait_room_for_a_full_espintcp_socket
tap_done
