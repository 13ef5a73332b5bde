#!/bin/bash
# B3: ESP throughput per transport, in the test VM.
#
#   bench/esp-throughput/host.sh [OUTDIR]          (make bench B=3; OUTDIR defaults
#                                          to bench/results/<date>)
#   bench/esp-throughput/host.sh --from-raw FILE [OUTDIR]
#                                          the report again from a run's
#                                          b3-raw.txt, without the VM
#
# Boots the 6.12 test VM once (scripts/vm-run, TCG) and runs
# bench/esp-throughput/guest.sh there: bulk TCP (iperf3) through tunnel-mode
# AES-GCM-16-256 ESP between two namespaces, netem on the underlay
# (B3_DELAY, 10 ms, each way; B3_LOSSES, 0 1 3 %, both ways), for ESP on
# raw IP, in UDP and in TCP (espintcp), SAs programmed by tcpiked through
# tcpike.ko and the same SAs installed by hand with `ip xfrm`.  Median of
# B3_RUNS (10) runs of B3_SECS (8) seconds, every case interleaved with the
# others, module and hand back to back in ABBA order (the paired ratio).  Writes OUTDIR/b3.md and OUTDIR/b3.png; the raw lines stay in
# OUTDIR/b3-raw.txt.  Exit status 1 when the harness broke (a tunnel that
# did not come up, traffic outside the tunnel, a run without a result);
# goals met or not are reported, not failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. "$top/bench/lib/vm.sh"
vm_bench_args bench-b3 "$@"
export B3_RUNS=${B3_RUNS:-10} B3_SECS=${B3_SECS:-8} B3_LOSSES=${B3_LOSSES:-0 1 3} B3_DELAY=${B3_DELAY:-10ms}
raw=$out/b3-raw.txt
vm_bench_raw bench-b3 B3 1800 "$raw" "$from" bench/esp-throughput/guest.sh \
	B3_RUNS B3_SECS B3_LOSSES B3_DELAY
vm_bench_show bench-b3 B3 '^B3 ' || exit 1

python3 "$top/bench/esp-throughput/report.py" "$raw" "$out" "${rc:-1}" "${vm_s:-?}" "$*"
[ $? = 0 ] || { echo "bench-b3: report failed" >&2; exit 1; }

if command -v gnuplot >/dev/null; then
	dat=$out/.b3-cases.dat rat=$out/.b3-ratios.dat
	gnuplot <<GP 2>&1 | sed 's/^/bench-b3: gnuplot: /'
set terminal pngcairo size 1260,420 font "sans,9"
set output "$out/b3.png"
set multiplot layout 1,3 title "B3: bulk TCP through ESP, 10 ms each way, loss both ways (median of $B3_RUNS)"
set xlabel "loss %"
set xtics ("0" 0, "1" 1, "3" 3)
set xrange [-0.3:3.3]
set key top right
set ylabel "goodput Mbit/s"
set yrange [0:*]
set title "goodput"
plot "$dat" index 0 using 1:2 with linespoints dt 1 lc 1 pt 7 title "mod-raw", \
     "" index 1 using 1:2 with linespoints dt 1 lc 2 pt 7 title "mod-udp", \
     "" index 2 using 1:2 with linespoints dt 1 lc 3 pt 7 title "mod-tcp", \
     "" index 3 using 1:2 with linespoints dt 2 lc 1 pt 6 title "hand-raw", \
     "" index 4 using 1:2 with linespoints dt 2 lc 2 pt 6 title "hand-udp", \
     "" index 5 using 1:2 with linespoints dt 2 lc 3 pt 6 title "hand-tcp"
set title "inner TCP RTT (mean)"
set ylabel "ms"
set logscale y
set yrange [*:*]
plot "$dat" index 0 using 1:3 with linespoints dt 1 lc 1 pt 7 title "mod-raw", \
     "" index 1 using 1:3 with linespoints dt 1 lc 2 pt 7 title "mod-udp", \
     "" index 2 using 1:3 with linespoints dt 1 lc 3 pt 7 title "mod-tcp", \
     "" index 3 using 1:3 with linespoints dt 2 lc 1 pt 6 title "hand-raw", \
     "" index 4 using 1:3 with linespoints dt 2 lc 2 pt 6 title "hand-udp", \
     "" index 5 using 1:3 with linespoints dt 2 lc 3 pt 6 title "hand-tcp"
unset logscale y
set title "ratios (module SAs)"
set ylabel "ratio"
set logscale y
set yrange [0.3:*]
plot "$rat" using 1:2 with linespoints lc 1 pt 7 title "goodput module/hand, raw", \
     "" using 1:3 with linespoints lc 2 pt 7 title "goodput module/hand, UDP", \
     "" using 1:4 with linespoints lc 3 pt 7 title "goodput module/hand, TCP", \
     "" using 1:5 with linespoints lc 4 pt 5 title "inner RTT separate(raw)/UDP", \
     "" using 1:6 with linespoints lc rgb "#c00000" pt 5 title "inner RTT TCP/UDP", \
     0.97 with lines lc rgb "gray40" dashtype 3 title "0.97 / 1.03", 1.03 with lines lc rgb "gray40" dashtype 3 notitle, \
     1.2 with lines lc rgb "black" dashtype 2 title "1.2 (separate/UDP goal)"
unset multiplot
GP
	rm -f "$dat" "$rat"
	echo "" >>"$out/b3.md"
	echo "![B3](b3.png)" >>"$out/b3.md"
else
	echo "(gnuplot not installed: no plot)" >>"$out/b3.md"
fi
echo "bench-b3: $out/b3.md"
[ "${rc:-1}" = 0 ]
