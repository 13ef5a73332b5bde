#!/bin/bash
# B5's VM part: SA install rate through tcpike.ko against XFRM netlink, and
# the module's CPU cost of NAT keepalives for 100,000 peers.
#
#   bench/sa-scale/host.sh [OUTDIR]        (make bench B=5 runs it after the
#                                          host part)
#   bench/sa-scale/host.sh --from-raw FILE [OUTDIR]
#
# Boots the 6.12 test VM once (TCG) and runs bench/sa-scale/guest.sh there
# (what it measures is described in that file).  Writes OUTDIR/b5vm.md and
# keeps the raw lines in OUTDIR/b5vm-raw.txt.  Exit status 1 when the
# harness broke (a refused request, states left behind, no result).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. "$top/bench/lib/vm.sh"
vm_bench_args bench-b5vm "$@"
export B5_PAIRS=${B5_PAIRS:-10000} B5_RUNS=${B5_RUNS:-3} B5_PEERS=${B5_PEERS:-100000} B5_HOLD=${B5_HOLD:-40} B5_BUDGET=${B5_BUDGET:-300}
raw=$out/b5vm-raw.txt
vm_bench_raw bench-b5vm B5 1500 "$raw" "$from" bench/sa-scale/guest.sh \
	B5_PAIRS B5_RUNS B5_PEERS B5_HOLD B5_BUDGET
vm_bench_show bench-b5vm B5 '^B5(SA|KA) ' || exit 1

python3 "$top/bench/sa-scale/report.py" "$raw" "$out" "${rc:-1}" "${vm_s:-?}" "$*" || exit 1
[ "${rc:-1}" = 0 ]
