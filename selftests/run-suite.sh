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
	timeout -k 5 "${TCPIKE_TEST_TIMEOUT:-300}" bash "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		failed=1
		if ! grep -q '^not ok ' "$out"; then
			[ "$rc" = 124 ] && why="timed out" || why="exited with status $rc"
			echo "not ok 999 $name: script $why without reporting a failure"
		fi
	fi
	rm -f "$out"
done
exit $failed
