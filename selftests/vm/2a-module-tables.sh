#!/bin/bash
# tcpike.ko's tables at size: thousands of SAs, policies and keepalives in
# namespaces of their own (selftests/module_tables.c, kselftest harness):
# dumps list each entry once across many buffers, counts follow creates
# and deletes, an SA or policy flushed with `ip xfrm` behind the module's
# back can be created again, a keepalive set twice is updated.  The
# namespaces exit with their entries live.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
T=$BIN/selftests/module_tables
[ -x "$T" ] || tap_skip_all "selftests/module_tables not built ($T)"
module_load
mark=$(dmesg | wc -l)
# The harness prints a TAP line per test, numbered from 1: they are
# renumbered after this script's own (plan and version dropped, this
# script's lines follow in the same stream); it fails when one failed.
out=$("$T" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v '^TAP version\|^1\.\.' | awk -v n="$TAP_N" '
	match($0, /^(not )?ok [0-9]+/) {
		print (/^not/ ? "not ok " : "ok ") (++n) substr($0, RLENGTH + 1)
		next
	}
	{ print }'
ran=$(printf '%s\n' "$out" | grep -c '^ok \|^not ok ')
TAP_N=$((TAP_N + ran))
[ "$ran" -ge 5 ] || tap_fail "module_tables ran its 5 tests" "$ran TAP lines, status $rc"
[ "$rc" = 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
tap_check "rmmod after the namespaces exited" wait_for 30 rmmod tcpike
tap_expect_eq "no WARNING or BUG" "" "$(dmesg | tail -n +$((mark + 1)) | grep -E 'WARNING|BUG|Oops')"
tap_done
