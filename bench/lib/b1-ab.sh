#!/bin/bash
# B1's responder CPU per IKE SA, two builds against each other:
#
#   bench/lib/b1-ab.sh TREE_A TREE_B [ROUNDS [N...]]
#
# TREE_A and TREE_B are two checkouts of tcpike (each with B1_ONLY in its
# bench/run.sh, this script's own commit or later).  For ROUNDS (4) rounds,
# and in each round for every N (4000 60000), runs `B1_ONLY=tcpiked B1_N=N
# B1_RUNS=1 bench/run.sh 1` in TREE_A, then in TREE_B (ABAB...), so that
# drift in the machine's speed falls on both alike; each run is a fresh
# responder on one core, as in B1.  The figures are wall-clock CPU (the
# responder's schedstat): on a shared or virtual machine only a
# difference that holds in every round means anything.  Prints a line per
# run ("ROUND A|B N us_per_SA rate load1") and, per N, the median us of
# each tree; the runs' reports go to $B1AB_OUT (/tmp/b1-ab.XXXXXX).
# Run as root, with nothing else on the machine.
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }
a=$(cd "$1" && pwd) && b=$(cd "$2" && pwd) || exit 2
rounds=${3:-4}
shift $(( $# < 3 ? $# : 3 ))
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(4000 60000)
for t in "$a" "$b"; do
	grep -q 'B1_ONLY' "$t/bench/run.sh" ||
		{ echo "b1-ab: $t/bench/run.sh has no B1_ONLY (older than this script)" >&2; exit 2; }
done
out=${B1AB_OUT:-$(mktemp -d /tmp/b1-ab.XXXXXX)}
mkdir -p "$out" || exit 1
sum=$out/summary.txt
: >"$sum"
for r in $(seq "$rounds"); do
	for n in "${ns[@]}"; do
		for side in A B; do
			t=$a
			[ $side = B ] && t=$b
			log=$out/$side-$n-$r.log
			(cd "$t" && B1_ONLY=tcpiked B1_N=$n B1_RUNS=1 B1_SWEEP=$n \
				BENCH_OUT=$out/$side-$n-$r bench/run.sh 1) >"$log" 2>&1
			l=$(grep "^B1 tcpiked (none) udp N=$n:" "$log") ||
				{ echo "b1-ab: no B1 line in $log" >&2; tail -n 5 "$log" >&2; exit 1; }
			us=$(sed 's/.* IKE SAs\/s, \([0-9.]*\) us responder CPU.*/\1/' <<<"$l")
			rate=$(sed 's/.*median \([0-9.]*\) IKE SAs\/s.*/\1/' <<<"$l")
			echo "$r $side $n $us $rate $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$sum"
		done
	done
done
for n in "${ns[@]}"; do
	for side in A B; do
		printf 'N=%s %s median %s us per IKE SA over %s runs\n' "$n" "$side" \
			"$(awk -v s=$side -v n="$n" '$2 == s && $3 == n {print $4}' "$sum" | sort -g |
			   awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')" \
			"$(awk -v s=$side -v n="$n" '$2 == s && $3 == n' "$sum" | wc -l)"
	done
done
echo "b1-ab: A = $a ($(git -C "$a" rev-parse --short HEAD)), B = $b ($(git -C "$b" rev-parse --short HEAD)); runs in $out"
