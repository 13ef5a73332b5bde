#!/bin/bash
# B4's VM part: with UDP blocked, time from initiate to the first ping reply
# through a kernel-ESP tunnel, tcpiked (transport auto and separate) against
# Libreswan 4.10's enable-tcp=fallback at its defaults and at the
# retransmit-timeout ipsec.conf(5) recommends for fallback (10 s).
#
#   bench/udp-blocked/host.sh [OUTDIR]        (make bench B=4 runs it after the
#                                          host part; B4_VM=0 skips it)
#   bench/udp-blocked/host.sh --from-raw FILE [OUTDIR]
#
# Boots the 6.12 test VM once (TCG) and runs bench/udp-blocked/guest.sh there
# (what it measures is described in that file).  Writes OUTDIR/b4vm.md and
# keeps the raw lines in OUTDIR/b4vm-raw.txt.  Exit status 1 when the
# harness broke or tcpiked missed the 2 s goal.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. "$top/bench/lib/vm.sh"
vm_bench_args bench-b4vm "$@"
export B4_RUNS=${B4_RUNS:-3} B4_LSW_DEFAULT_RUNS=${B4_LSW_DEFAULT_RUNS:-1} B4_LIMIT=${B4_LIMIT:-120}
raw=$out/b4vm-raw.txt
if [ -z "$from" ]; then
	# Libreswan 4.10 from Debian, unpacked into a private root (cached)
	TCPIKE_LIBRESWAN_ROOT=$(scripts/libreswan-root.sh 2>"$out/.lsw.log") ||
		{ echo "bench-b4vm: no Libreswan root (scripts/libreswan-root.sh):" >&2; cat "$out/.lsw.log" >&2; }
	rm -f "$out/.lsw.log"
	export TCPIKE_LIBRESWAN_ROOT
fi
vm_bench_raw bench-b4vm B4 1500 "$raw" "$from" bench/udp-blocked/guest.sh \
	B4_RUNS B4_LSW_DEFAULT_RUNS B4_LIMIT
vm_bench_show bench-b4vm B4 '^B4VM ' || exit 1

python3 "$top/bench/udp-blocked/report.py" "$raw" "$out" "${rc:-1}" "${vm_s:-?}" "$*"
py=$?
[ "${rc:-1}" = 0 ] && [ $py = 0 ]
