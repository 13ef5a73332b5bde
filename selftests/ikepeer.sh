# SPDX-License-Identifier: GPL-2.0
# Running selftests/ikepeer.py from a netns test (38, 59, 60): source after
# lib.sh and ike.sh; PO is the peer's output file, which saw (lib.sh) reads.
PEER=$TOP/selftests/ikepeer.py

# a_run "case" PEER-ARGS... -- A-CONF-ARGS...: the peer answers at 10.0.0.2
# (in NS_B), a (A_ARGS and the conf args) starts in NS_A and initiates;
# a_run_hook, when defined, runs before the peer starts
a_run() {
	local peer=() conf=() x side=p
	PO=$IKE_DIR/peer-$1.out; shift
	for x in "$@"; do
		[ "$x" = -- ] && { side=a; continue; }
		if [ $side = p ]; then peer+=("$x"); else conf+=("$x"); fi
	done
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a
	declare -F a_run_hook >/dev/null && a_run_hook
	peer_start "$NS_B" "$PO" --local 10.0.0.2 --id py.test "${peer[@]}" ||
		{ tap_fail "the peer started"; return 1; }
	ike_conf a "${A_ARGS[@]}" "${conf[@]}"
	ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
}

# peer_start NS OUTFILE ARGS...: the Python peer in the background; returns
# once its sockets are bound ("ready")
peer_start() {
	local ns=$1 out=$2; shift 2
	: >"$out"
	ip netns exec "$ns" python3 -u "$PEER" "$@" >"$out" 2>&1 &
	PEER_PID=$!
	wait_for 5 grep -q '^ready' "$out"
}
# peer_wait SECONDS: the peer's exit status (killed after SECONDS)
peer_wait() {
	local t=$(( $1 * 10 ))
	while kill -0 "$PEER_PID" 2>/dev/null && [ $t -gt 0 ]; do sleep 0.1; t=$((t - 1)); done
	kill "$PEER_PID" 2>/dev/null
	wait "$PEER_PID"
}
not_saw() {
	if grep -qE "$2" "$PO"; then
		tap_fail "$1" "the peer printed: $(grep -m1 -E "$2" "$PO")"
	else
		tap_ok "$1"
	fi
}
# peer_ok STATUS "description": ok when the peer exited 0, else its output
# and the daemons' logs
peer_ok() {
	if [ "$1" = 0 ]; then
		tap_ok "$2"
	else
		tap_fail "$2" "ikepeer.py exited $1: $(grep -m1 FAIL "$PO")"
		sed 's/^/#   /' "$PO" | tail -n 25
		ike_log a 20 2>/dev/null; ike_log b 20 2>/dev/null
	fi
}
