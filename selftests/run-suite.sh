#!/bin/bash
# Run the TAP shell tests of one directory (selftests/netns or selftests/vm).
#
#   selftests/run-suite.sh DIR [NAME-PREFIX...]
#
# Each test script prints TAP lines; this prints a header per script and
# the script's own lines.  A script that exits non-zero without printing a
# "not ok" line gets one added, so a crash can never count as a pass.
# Exit status: 0 when nothing failed.
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
export TOP=$top BIN=${BIN:-$top/build/asan}
failed=0

# After a timeout: every task still in uninterruptible sleep (a kill does
# not end those), with its kernel stack, so that a hang in the kernel says
# where it waits even without the hung-task detector.
blocked_tasks() {
	local d st
	for d in /proc/[0-9]*; do
		st=$(awk '/^State:/ {print $2}' "$d/status" 2>/dev/null)
		[ "$st" = D ] || continue
		echo "# blocked: pid ${d#/proc/} $(cat "$d/comm" 2>/dev/null) ($(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-120))"
		sed 's/^/#   /' "$d/stack" 2>/dev/null
	done
}

for t in "$top/$dir"/[0-9]*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		match=0
		for p in "$@"; do case "$name" in "$p"*) match=1 ;; esac; done
		[ $match = 1 ] || continue
	fi
	echo "# === $dir/$name"
	out=$(mktemp)
	t0=$SECONDS
	timeout -k 5 "${TCPIKE_TEST_TIMEOUT:-300}" bash "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	echo "# $dir/$name: $((SECONDS - t0)) s"
	if [ "$rc" != 0 ]; then
		failed=1
		if ! grep -q '^not ok ' "$out"; then
			[ "$rc" = 124 ] && why="timed out" || why="exited with status $rc"
			echo "not ok 999 $name: script $why without reporting a failure"
		fi
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			sleep 2
			blocked_tasks
		fi
	fi
	rm -f "$out"
done
exit $failed
