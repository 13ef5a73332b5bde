#!/bin/bash
# Entry point inside the debug-kernel VM (scripts/check --layer vm-debug,
# make check-debug): the module tests under KASAN, lockdep, the
# sleep-in-atomic checks and kmemleak.
#
#   TCPIKE_MODULE=build/kmod-debug/tcpike.ko \
#   scripts/vm-run --kernel <debug tree>/arch/x86/boot/bzImage --mem 2048 -- \
#       selftests/run-vm-debug.sh [NAME-PREFIX...]     (default prefix: 2)
#
# Prints the tests' TAP, then one line per kind of kernel report: any
# KASAN report, WARNING, lockdep splat, sleep in atomic context, other BUG
# or Oops fails, and so does any kmemleak object that appeared after the
# module tests began (a baseline scan before them is cleared first), and a
# lockdep that switched itself off.  Exit status 0 only when all is clean.
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- 2
# KASAN under TCG is ten times slower: vm/2c's load steers 10 rounds and
# must put 200 packets on the wire (the race, not the rate, is checked).
export TCPIKE_STEER_ROUNDS=${TCPIKE_STEER_ROUNDS:-10} TCPIKE_STEER_MIN_PACKETS=${TCPIKE_STEER_MIN_PACKETS:-200}
kml=/sys/kernel/debug/kmemleak
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; failed=1; }

# The whole kernel log from boot on, independent of any "dmesg -c" in a test.
cat /dev/kmsg >/tmp/kmsg.raw 2>/dev/null &
kmsg_pid=$!

cfg=$(zcat /proc/config.gz 2>/dev/null)
missing=
for sym in KASAN PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK; do
	printf '%s\n' "$cfg" | grep -q "^CONFIG_$sym=y" || missing="$missing $sym"
done
if [ -n "$missing" ]; then
	not_ok "running a debug kernel ($(uname -r) lacks:$missing)"
	exit 1
fi
ok "debug kernel $(uname -r): KASAN, PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, DEBUG_KMEMLEAK"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
if [ ! -w "$kml" ]; then
	not_ok "kmemleak available at $kml"
	exit 1
fi

# Two scans with a pause: an object is reported once it has been seen
# unreferenced (and is at least 5 s old), so one scan can miss it.
kmemleak_scan() {
	echo scan >"$kml" && sleep 6 && echo scan >"$kml"
}
kmemleak_objects() { grep -c '^unreferenced object' "$kml"; }

kmemleak_scan
base=$(kmemleak_objects)
if [ "$base" = 0 ]; then
	ok "kmemleak baseline before the module tests is clean"
else
	# Not ours (the module is not loaded yet): reported, then set aside.
	echo "# kmemleak baseline: $base objects before any module test (not counted):"
	sed -n '1,40p' "$kml" | sed 's/^/#   /'
	ok "kmemleak baseline taken ($base objects before the module tests, cleared)"
fi
echo clear >"$kml"

export TCPIKE_PLAIN_TOOLS=1	# as run-vm.sh
TCPIKE_TEST_TIMEOUT=${TCPIKE_TEST_TIMEOUT:-900} "$top/selftests/run-suite.sh" selftests/vm "$@" || failed=1

# Whatever a failed test left behind is unloaded now, so its exit path is
# checked too.
if lsmod | grep -q '^tcpike '; then
	rmmod tcpike && ok "tcpike.ko left loaded by a test, unloaded now" ||
		not_ok "rmmod of the tcpike.ko a test left loaded"
fi
# Namespace teardown and RCU callbacks finish asynchronously; objects must
# also be older than kmemleak's minimum age before a scan reports them.
sleep 8
kmemleak_scan
n=$(kmemleak_objects)
if [ "$n" = 0 ]; then
	ok "kmemleak: no unreferenced object after the module tests"
else
	not_ok "kmemleak: $n unreferenced objects after the module tests"
	sed -n '1,120p' "$kml" | sed 's/^/#   /'
fi

# Lockdep switches itself off after its first report (or when a table
# overflows): still on at the end means it watched the whole run.
if grep -q 'debug_locks: *1' /proc/lockdep_stats 2>/dev/null; then
	ok "lockdep still active at the end (debug_locks 1)"
else
	not_ok "lockdep still active at the end ($(grep debug_locks /proc/lockdep_stats 2>/dev/null))"
fi

sleep 1
kill "$kmsg_pid" 2>/dev/null
wait "$kmsg_pid" 2>/dev/null
# /dev/kmsg records are "prio,seq,usec,flags;text" with continuation lines
# (" KEY=value") after them.
sed -n 's/^[0-9]*,[0-9]*,[0-9]*,[^;]*;//p' /tmp/kmsg.raw >/tmp/kmsg.log
report() { # description extended-regex
	local hits
	hits=$(grep -nE "$2" /tmp/kmsg.log)
	if [ -z "$hits" ]; then
		ok "no $1 in the kernel log"
	else
		not_ok "no $1 in the kernel log ($(printf '%s\n' "$hits" | wc -l) lines)"
		local first=${hits%%:*}
		sed -n "$((first > 3 ? first - 3 : 1)),$((first + 40))p" /tmp/kmsg.log | sed 's/^/#   /'
	fi
}
report "KASAN report" 'BUG: KASAN|KASAN: '
report "WARNING" 'WARNING:'
report "lockdep report" 'possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|lock held when returning|bad unlock balance|held lock freed|possible irq lock inversion|INFO: trying to register non-static key'
report "sleep in atomic context" 'sleeping function called from invalid context|scheduling while atomic'
report "other BUG or Oops" '^BUG:|Oops|kernel BUG|general protection fault|UBSAN'
report "kmemleak failure" 'kmemleak: .*(disabled|Cannot|failed)|Kernel memory leak detector disabled'
echo "# kernel log: $(wc -l </tmp/kmsg.log) lines"
exit $failed
