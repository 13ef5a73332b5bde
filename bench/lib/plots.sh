#!/bin/bash
# The benchmark figures drawn from the raw figures that bench/run.sh keeps
# beside its report (gnuplot, PNG), so that they can be drawn again without
# running anything:
#
#   bench/lib/plots.sh DIR [OUTDIR]    (bench/run.sh --plot DIR [OUTDIR])
#
# draws OUTDIR/b1-n.png from DIR/b1.csv and OUTDIR/b4.png from DIR/b4.csv
# (those of them that are there; OUTDIR defaults to DIR).  bench/run.sh
# sources this file and calls plot_b1n and plot_b4 after B1 and B4.
set -uo pipefail

# medians_by_n CSV RESPONDER COLUMN: "N median" per N of RESPONDER's UDP
# runs in a b1.csv, the median as bench/run.sh's (the mean of the middle
# two for an even count), N ascending
medians_by_n() {
	awk -F, -v r="$2" -v c="$3" 'NR > 1 && $1 == r && $3 == "udp" && $(c) != "" { print $5, $(c) }' "$1" |
		sort -k1,1n -k2,2g | awk '
		function out() { if (k) print n, (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
		$1 != n { out(); n = $1; k = 0 }
		{ v[++k] = $2 }
		END { out() }'
}

# plot_b1n CSV PNG: IKE SAs/s and the responder's CPU microseconds per IKE
# SA against N (UDP, medians per N) for tcpiked, charon-lt and charon, the
# goal (a third of charon-lt's us per SA) as a line.
plot_b1n() {
	local csv=$1 png=$2 tmp sys plots_r=() plots_u=() lt=
	command -v gnuplot >/dev/null || { echo "bench: gnuplot not installed: no $png" >&2; return 1; }
	tmp=$(mktemp -d /tmp/tcpike-plot.XXXXXX)
	for sys in tcpiked charon-lt charon; do
		# "N rate us" per N (the same Ns in both lists: every line has both)
		paste -d' ' <(medians_by_n "$csv" "$sys" 9) <(medians_by_n "$csv" "$sys" 12 | cut -d' ' -f2) \
			>"$tmp/$sys.dat"
		[ -s "$tmp/$sys.dat" ] || continue
		plots_r+=("\"$tmp/$sys.dat\" using 1:2 with linespoints lw 2 pt 7 title \"$sys ($(awk -F, -v r="$sys" 'NR > 1 && $1 == r { print $2; exit }' "$csv"))\"")
		plots_u+=("\"$tmp/$sys.dat\" using 1:3 with linespoints lw 2 pt 7 notitle")
		[ "$sys" = charon-lt ] && lt=$tmp/$sys.dat
	done
	if [ ${#plots_r[@]} = 0 ]; then
		echo "bench: no UDP runs of tcpiked or a charon in $csv: no $png" >&2
		rm -rf "$tmp"
		return 1
	fi
	[ -n "$lt" ] && plots_u+=("\"$lt\" using 1:(\$3 / 3) with linespoints lw 1 dashtype 2 pt 1 lc rgb \"gray30\" title \"goal: charon-lt / 3\"")
	gnuplot <<GP 2>"$tmp/err" || { sed 's/^/bench: gnuplot: /' "$tmp/err" >&2; rm -rf "$tmp"; return 1; }
set terminal pngcairo size 760,720 font "sans,10" noenhanced
set output "$png"
set multiplot layout 2,1 title "B1 against N: UDP, distinct identities, responder on one core (median per N, from $(basename "$csv"))"
set logscale x
set xtics ($(cut -d' ' -f1 "$tmp"/*.dat | sort -nu | paste -sd,))
set xrange [$(cut -d' ' -f1 "$tmp"/*.dat | sort -n | awk 'NR == 1 { a = $1 } END { print a / 1.5 ":" $1 * 1.5 }')]
set grid ytics
set key below
set yrange [0:*]
set ylabel "IKE SAs/s"
plot $(IFS=,; echo "${plots_r[*]}")
set xlabel "N (IKE SAs per run, log scale)"
set ylabel "responder CPU us per IKE SA"
set logscale y
set yrange [*:*]
set key top left
plot $(IFS=,; echo "${plots_u[*]}")
unset multiplot
GP
	rm -rf "$tmp"
}

# plot_b4 CSV PNG: time to a Child SA per B4 row (b4.csv: row, udp, run,
# ms, tcp_connects), UDP open and blocked side by side: the median (as
# bench/run.sh's table) as a bar, min to max as whiskers, the median and
# the runs without a tunnel written above; the 0.5 s goal as a line.
plot_b4() {
	local csv=$1 png=$2 tmp runs xtics xmax
	command -v gnuplot >/dev/null || { echo "bench: gnuplot not installed: no $png" >&2; return 1; }
	tmp=$(mktemp -d /tmp/tcpike-plot.XXXXXX)
	# a cluster of two bars per row at 3 * its place: tics between them
	xtics=$(awk -F, 'NR > 1 && !($1 in s) { s[$1] = ++n; printf "%s\"%s\" %d.5", (n > 1 ? ", " : ""), $1, 3 * n }' "$csv")
	xmax=$(awk -F, 'NR > 1 && !($1 in s) { s[$1] = ++n } END { print 3 * n + 2 }' "$csv")
	runs=$(awk -F, 'NR > 1 { n[$1 "," $2]++ } END { for (k in n) if (n[k] > m) m = n[k]; print m + 0 }' "$csv")
	# "x median min max label-y "label" udp" per row and udp, rows in b4.csv's order
	awk -F, '
	NR == 1 { next }
	!($1 in seen) { seen[$1] = ++nrows; key[nrows] = $1 }
	$4 == "fail" { failed[$1, $2]++; next }
	{ k = $1 SUBSEP $2; v[k, ++cnt[k]] = $4 + 0 }
	END {
		for (r = 1; r <= nrows; r++)
			for (b = 0; b < 2; b++) {
				u = b ? "blocked" : "open"; k = key[r] SUBSEP u; n = cnt[k] + 0
				if (!n) {	# no tunnel in any run: the words at 0
					if (failed[k])
						printf "%d NaN NaN NaN 0 \"all %d failed\" %s\n", 3 * r + b, failed[k], u
					continue
				}
				for (i = 2; i <= n; i++)	# insertion sort (mawk has no asort)
					for (j = i; j > 1 && v[k, j - 1] > v[k, j]; j--) {
						t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t
					}
				m = (n % 2) ? v[k, (n + 1) / 2] : int((v[k, n / 2] + v[k, n / 2 + 1]) / 2)
				printf "%d %d %d %d %d \"%d%s\" %s\n", 3 * r + b, m, v[k, 1], v[k, n], v[k, n], m,
					failed[k] ? sprintf(" (%d failed)", failed[k]) : "", u
			}
	}' "$csv" >"$tmp/b4.dat"
	if [ ! -s "$tmp/b4.dat" ]; then
		echo "bench: no run with a tunnel in $csv: no $png" >&2
		rm -rf "$tmp"
		return 1
	fi
	gnuplot <<GP 2>"$tmp/err" || { sed 's/^/bench: gnuplot: /' "$tmp/err" >&2; rm -rf "$tmp"; return 1; }
set terminal pngcairo size 760,480 font "sans,10" noenhanced
set output "$png"
set title "B4: time from initiate to an installed Child SA, $runs runs per bar (median, min-max), from $(basename "$csv")"
set style fill solid 0.6
set yrange [0:$(awk '$5 > m { m = $5 } END { print (m > 500 ? m : 500) * 1.1 }' "$tmp/b4.dat")]
set ylabel "ms"
set grid ytics
set key below
set xtics ($xtics)
set xrange [2:$xmax]
plot "$tmp/b4.dat" using 1:(stringcolumn(7) eq "open" ? \$2 : NaN):3:4:(0.45) with boxerrorbars lc rgb "#4d9de0" title "UDP open", \
     "" using 1:(stringcolumn(7) eq "blocked" ? \$2 : NaN):3:4:(0.45) with boxerrorbars lc rgb "#e15554" title "UDP blocked at the responder", \
     "" using 1:5:6 with labels offset 0,0.8 notitle, \
     500 with lines dashtype 2 lc rgb "gray30" title "goal with UDP blocked: 0.5 s (not for the 1.5 s row)"
GP
	rm -rf "$tmp"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
if [ $# = 0 ] || [ ! -d "$1" ]; then echo "usage: bench/lib/plots.sh DIR [OUTDIR]" >&2; exit 2; fi
dir=$1 to=${2:-$1} rc=0 drawn=0
mkdir -p "$to" || exit 1
if [ -f "$dir/b1.csv" ]; then
	plot_b1n "$dir/b1.csv" "$to/b1-n.png" && echo "bench: $to/b1-n.png" && drawn=1 || rc=1
fi
if [ -f "$dir/b4.csv" ]; then
	plot_b4 "$dir/b4.csv" "$to/b4.png" && echo "bench: $to/b4.png" && drawn=1 || rc=1
fi
[ $drawn = 1 ] || [ $rc = 1 ] || { echo "bench: no b1.csv or b4.csv in $dir" >&2; rc=1; }
exit $rc
