#!/bin/bash
# B2 in the test VM: big IKE messages under loss, with delay and a
# bandwidth limit on the path.
#
#   bench/large-messages/host.sh [OUTDIR]        (OUTDIR defaults to
#                                           bench/results/<date>)
#   bench/large-messages/host.sh --from-raw FILE [OUTDIR]
#                                           the report again from a run's
#                                           b2vm-raw.txt, without the VM
#
# Boots the 6.12 test VM once (scripts/vm-run, TCG) and runs
# bench/large-messages/run.sh --vm there (through guest.sh): B2's setups
# (RSA-4096 chains of about 42 KB per IKE_AUTH message, time from the
# initiator's "initiating" line to its installed Child SA) between two
# namespaces on a veth with netem on both ends: B2_DELAY (25ms) each way,
# so a 50 ms RTT, B2_RATE (10mbit) and the loss (B2_LOSSES, 0 1 5 10 %)
# each way.  Systems: tcpiked over UDP with retransmit_base swept over
# B2_RT_SWEEP (250ms 500ms 1s), tcpiked over TCP and with separate
# transports (retransmit_base, which times its IKE_SA_INIT on UDP, at the
# 1 s default and at the sweep's shortest), and charon (strongSwan 5.9.8, kernel-libipsec) over UDP
# with retransmit_timeout swept the same way (retransmit_base 2), each
# against a tcpiked responder.  B2_N (20) setups per point.  Writes
# OUTDIR/b2vm.md (bench/large-messages/report.py) and keeps the raw lines
# in OUTDIR/b2vm-raw.txt.  Exit status 1 when the harness broke (a setup
# failed at 0 % loss, a daemon did not start, the VM failed); goals met
# or not are reported, not failed.  The certificates are made on the host
# (run.sh --certs) and read in the VM from ~/.cache over the 9p root.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. "$top/bench/lib/vm.sh"
vm_bench_args bench-b2vm "$@"
export B2_N=${B2_N:-20} B2_LOSSES=${B2_LOSSES:-0 1 5 10} B2_DELAY=${B2_DELAY:-25ms} \
	B2_RATE=${B2_RATE:-10mbit} B2_RT_SWEEP=${B2_RT_SWEEP:-250ms 500ms 1s} \
	B2_SYSTEMS=${B2_SYSTEMS:-}
raw=$out/b2vm-raw.txt
if [ -z "$from" ]; then
	bench/large-messages/run.sh --certs || exit 1
fi
vm_bench_raw bench-b2vm B2 ${B2_VM_TIMEOUT:-2700} "$raw" "$from" bench/large-messages/guest.sh \
	B2_N B2_LOSSES B2_DELAY B2_RATE B2_RT_SWEEP B2_SYSTEMS
vm_bench_show bench-b2vm B2 '^B2 ' || exit 1

python3 "$top/bench/large-messages/report.py" "$raw" "$out" "${rc:-1}" "${vm_s:-?}" "$*"
py=$?
echo "bench-b2vm: $out/b2vm.md"
[ "${rc:-1}" = 0 ] && [ $py = 0 ]
