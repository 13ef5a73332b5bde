#!/bin/bash
# B2 in the test VM: big IKE messages under loss, with delay and a
# bandwidth limit on the path.
#
#   bench/large-messages/host.sh [OUTDIR]        (OUTDIR defaults to
#                                           bench/results/<date>)
#   bench/large-messages/host.sh --pq [OUTDIR]   B6 (post-quantum) the same way
#   bench/large-messages/host.sh [--pq] --from-raw FILE [OUTDIR]
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
# transports (retransmit_base, which times its IKE_SA_INIT on UDP, at
# every timer of the sweep; the 1 s default is "separate"; with tcp_connect_race
# B2_TCP_RACE, 250ms, the default: a second SYN when the connect has not
# completed by then), and charon (strongSwan 5.9.8, kernel-libipsec) over UDP
# with retransmit_timeout swept the same way (retransmit_base 2), each
# against a tcpiked responder.  B2_N (20) setups per point, in B2_ROUNDS
# (1) interleaved rounds (run.sh: every point in turn with its share of N).  Writes
# OUTDIR/b2vm.md (bench/large-messages/report.py) and keeps the raw lines
# in OUTDIR/b2vm-raw.txt.  Exit status 1 when the harness broke (a setup
# failed at 0 % loss, a daemon did not start, the VM failed); goals met
# or not are reported, not failed.  The certificates are made on the host
# (run.sh --certs) and read in the VM from ~/.cache over the 9p root.
#
# --pq: B6's setups (run.sh --pq: X25519 + ML-KEM-1024 in IKE_INTERMEDIATE,
# ML-DSA-87 end entity and intermediate each way, tcpiked built against
# OpenSSL 3.5 in the Debian 13 root) on the same path, systems tcpiked
# udp@B2_RT_SWEEP, tcp and separate, B2_N 12 per point; run.sh --certs --pq
# makes the certificates and build-trixie/tcpiked on the host before the
# boot, TCPIKE_DEBIAN13_ROOT names the root in the VM.  Writes
# OUTDIR/b2pq-vm.md and OUTDIR/b2pq-vm-raw.txt.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. "$top/bench/lib/vm.sh"
pq=
[ "${1:-}" = --pq ] && { pq=--pq; shift; }
vm_bench_args bench-b2vm "$@"
export B2_PQ=${pq:+1}
export B2_N=${B2_N:-$([ -n "$pq" ] && echo 12 || echo 20)} B2_LOSSES=${B2_LOSSES:-0 1 5 10} B2_DELAY=${B2_DELAY:-25ms} \
	B2_RATE=${B2_RATE:-10mbit} B2_RT_SWEEP=${B2_RT_SWEEP:-250ms 500ms 1s} \
	B2_SYSTEMS=${B2_SYSTEMS:-} B2_TCP_RACE=${B2_TCP_RACE:-250ms} B2_ROUNDS=${B2_ROUNDS:-1}
name=b2vm
[ -n "$pq" ] && name=b2pq-vm
raw=$out/$name-raw.txt
if [ -z "$from" ]; then
	if [ -n "$pq" ]; then
		# the root the VM's tcpiked runs in, by name (vm-run passes TCPIKE_*)
		TCPIKE_DEBIAN13_ROOT=${TCPIKE_DEBIAN13_ROOT:-$(scripts/trixie-root.sh)} || exit 1
		export TCPIKE_DEBIAN13_ROOT
	fi
	bench/large-messages/run.sh --certs $pq || exit 1
fi
vm_bench_raw bench-b2vm B2 ${B2_VM_TIMEOUT:-2700} "$raw" "$from" bench/large-messages/guest.sh \
	B2_N B2_LOSSES B2_DELAY B2_RATE B2_RT_SWEEP B2_SYSTEMS B2_PQ B2_TCP_RACE B2_ROUNDS
vm_bench_show bench-b2vm B2 '^B2(pq)? ' || exit 1

python3 "$top/bench/large-messages/report.py" $pq "$raw" "$out" "${rc:-1}" "${vm_s:-?}" "$pq $*"
py=$?
echo "bench-b2vm: $out/$name.md"
[ "${rc:-1}" = 0 ] && [ $py = 0 ]
