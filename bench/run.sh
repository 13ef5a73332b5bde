#!/bin/bash
# make bench: benchmarks, written to bench/results/<date>/report.md.
#
#   bench/run.sh [--quick] [B...]      (make bench [B=4] [QUICK=1])
#   bench/run.sh --plot DIR [OUTDIR]   draws B1's b1-n.png and B4's b4.png
#       again from DIR's b1.csv and b4.csv, running nothing (bench/lib/plots.sh)
#
# What exists today:
#   B1  handshake rate: tools/tcpike-bench opens N IKE SAs (PSK, AES-GCM-16-256,
#       PRF-HMAC-SHA2-256, X25519, one Child SA each, every SA with its own
#       identity), W in flight, against one responder pinned to one CPU (the
#       generator on the other): tcpiked (backend none: no data plane) over
#       UDP, TCP (RFC 9329) and separate transports; over UDP the like-for-
#       like charon (charon-lt: strongSwan 5.9.8 with the load-tester's fake
#       kernel, no data plane either, built by scripts/charon-loadtester.sh,
#       which the full run calls when the build is missing; without it the
#       row is left out and the report says so) and
#       Debian's charon with kernel-libipsec (a userspace data plane: not
#       like-for-like).  Every answer is verified (AUTH checked).  Median of
#       5 runs at N = 4000: rate, p50/p99 latency, the responder's CPU
#       microseconds per IKE SA (schedstat, all threads), the ratio to charon
#       and the `openssl speed` ceiling; then tcpiked and the charons over
#       N = 250, 1000, 10000.  Every run is a line of b1.csv beside the report;
#       b1.png (bars at N = 4000) and b1-n.png (IKE SAs/s and us per SA against
#       N, the goal of a third of charon-lt's us per SA as a line, from b1.csv).
#       --quick: 200 SAs, one run each, no sweep; every handshake must
#       verify, and charon-lt (when built) must list 20 distinct remote
#       identities after 20 clients.
#   B3  ESP throughput per transport in the test VM (bench/esp-throughput/host.sh,
#       its own section b3.md + b3.png; about 12 minutes of VM).  Not in --quick.
#   B4  UDP blocked: time from `tcpikectl initiate` to an installed Child
#       SA, for auto's race (default, and 0), auto with the old fallback's
#       timing (tcp_race_delay = 1500ms) and separate's race, two tcpiked (backend
#       none, the optimised build) in host namespaces with nft dropping UDP
#       500/4500 at the responder.  Median, min and max over N runs, the
#       TCP connects counted; goal <= 0.5 s for the races.
#       The same with UDP open is measured in the same run as the
#       reference, so the report shows the fallback's cost as a ratio.
#       Every run is a line of b4.csv; b4.png draws it (median, min-max).
#       Then its VM part (bench/udp-blocked/host.sh, b4vm.md; B4_VM=0 skips it,
#       --quick too): time to the first ping reply through kernel ESP,
#       tcpiked against Libreswan 4.10's enable-tcp=fallback (defaults and
#       retransmit-timeout swept: 10, 5, 2 s), about 6 minutes of VM.
#   B5  scale (host part): 10,000 IKE SAs with one Child SA each on one
#       responder, resident memory per IKE SA ((RSS after - RSS before) / N)
#       for tcpiked (backend none), charon-lt (fake kernel: neither holds a
#       data plane, the like-for-like pair) and Debian's charon with
#       kernel-libipsec (userspace ESP state per Child SA on top) in the
#       same run.  Not in --quick.
#       Then its VM part (bench/sa-scale/host.sh, b5vm.md; B5_VM=0 skips it
#       and links the b5vm.md already in the output directory): SA pairs through
#       tcpike.ko vs. XFRM netlink, CPU of 100,000 peers' keepalives.
#   B7  a million IKE SAs (issue 21), not in the default run (bench/run.sh 7):
#       B7_N [100000] IKE SAs (a list: one run after the other, e.g.
#       '100000 1000000') with one Child SA each, every one with its own
#       identity, on one fresh tcpiked (backend none, DPD off, rekeys hours
#       away), tcpike-bench over UDP as in B5 (64 in flight; --deciles).
#       Reports the setup rate of the first and the last tenth of the SAs,
#       resident memory per IKE SA ((RSS after - before) / N, goal <= 4 KiB),
#       and, all SAs idle, the responder's CPU over B7_IDLE_S [60] seconds
#       from /proc/PID/task/*/schedstat (goal <= 1 % of a core); the
#       generator's peak memory (its key pairs are made ahead: about
#       1.2 GiB at 10^6).  Then the rekey storm (B7_STORM [10] % of the SAs,
#       0: none): the generator, which waited through the idle minute
#       (--rekey-wait, SIGUSR1), rekeys those IKE SAs within
#       B7_STORM_WINDOW [60] s, evenly paced, B7_STORM_ROUNDS [2] times in a
#       row (from the second round each is a rekeyed SA's rekey, as in
#       steady state): CREATE_CHILD_SA, the old SA's Delete, an
#       INFORMATIONAL on the new SA, every answer verified.  Reported: the
#       rate per tenth of the rekeys, latency p50/p99 and failures per
#       tenth, the responder's CPU per rekey (schedstat) against the latest
#       N = 100,000 run with the same storm in b7.csv, RSS and the held
#       IKE / Child SAs after it; goals: all verified, >= 0.95 of the
#       requested rate, last tenth >= 0.9x the first, CPU per rekey <= 1.2x
#       N = 100,000's.  Raw figures in b7.csv, one line per run; the
#       section is written from them.  B7_N=1000000 is the full run (the
#       responder then holds about 4 GB; ask for a quiet machine):
#       B7_N='100000 1000000' gives it the storm's CPU reference.
#   B2  big IKE messages under loss: bench/large-messages/run.sh (runnable alone),
#       which writes its own section b2.md (+ b2.png); report.md links it.
#       --quick: 2 setups per system at 0 % loss (must complete) and 6 at 5 %.
#       B2_VM=1 adds its VM part (bench/large-messages/host.sh, b2vm.md; not
#       in --quick): netem with 25 ms each way and 10 Mbit/s, the UDP
#       retransmission base swept for tcpiked and charon, N 20; up to about
#       30 minutes of VM.
#   B6  B2 with post-quantum sizes: bench/large-messages/run.sh --pq (b2pq.md,
#       b2pq.png, b2pq-raw/): tcpiked built against OpenSSL 3.5 in the Debian 13
#       root on both sides, X25519 + ML-KEM-1024 (IKE_INTERMEDIATE), ML-DSA-87
#       end entity + intermediate each way; UDP (retransmit_base 250 ms, 500 ms,
#       1 s), TCP, separate, at 0/1/5/10 % loss, N 100; message sizes and
#       fragments from the daemons' logs.  About 10 minutes.  --quick: as B2's
#       (the ASan build the netns layer made; skipped without the root).
#       B6_VM=1 adds its VM part (bench/large-messages/host.sh --pq,
#       b2pq-vm.md; not in --quick): B2's VM path (netem 25 ms each way,
#       10 Mbit/s), tcpiked udp@250ms/500ms/1s, tcp, separate, N 12.
# Goals are reported as met / not met; B1 and B5 fail the run only when the
# harness breaks (a handshake that does not verify, a responder that does
# not start).
set -uo pipefail
# The machine is shared.  With the scheduler's autogroups, nice only
# counts inside a session, so the benchmark runs in a session of its own
# whose group gets nice -20 (both responders and the generator alike).
if [ -z "${BENCH_SESSION:-}" ] && [ "$(id -u)" = 0 ] && command -v setsid >/dev/null &&
   [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ]; then
	BENCH_SESSION=1 exec setsid -w "$0" "$@"
fi
[ -n "${BENCH_SESSION:-}" ] && echo -20 2>/dev/null >"/proc/$$/autogroup"
top=$(cd "$(dirname "$0")/.." && pwd)
[ "${1:-}" = --plot ] && { shift; exec "$top/bench/lib/plots.sh" "$@"; }
cd "$top"
quick=0
want=()
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	B[0-9]|[0-9]) want+=("${a#B}") ;;
	*) echo "bench: unknown argument '$a' (expected --quick or B1..B7)" >&2; exit 2 ;;
	esac
done
[ ${#want[@]} -gt 0 ] || { [ $quick = 1 ] && want=(1 2 4 6) || want=(1 2 3 4 5 6); }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces)" >&2; exit 1; }
make -s -j"$(nproc)" userspace >/dev/null || { echo "bench: build failed" >&2; exit 1; }
BIN=$top/build
. "$top/selftests/lib.sh"
. "$top/selftests/ike.sh"
. "$top/selftests/peers/strongswan.sh"
. "$top/bench/lib/plots.sh"
trap 'sw_cleanup; ike_cleanup; rm -rf "${BENCH_TMP:-/nonexistent}"' EXIT
runs=$([ $quick = 1 ] && echo 3 || echo 9)
out=${BENCH_OUT:-bench/results/$(date -u +%Y-%m-%d)}
mkdir -p "$out"
BENCH_TMP=$(mktemp -d /tmp/tcpike-bench.XXXXXX)
report=$out/report.md
fail=0

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
stats() {	# numbers on stdin -> "median min max"
	sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%d %d %d\n", m, v[1], v[NR]}'
}

b4_once() {	# b4_once CONN_EXTRA BLOCK(0/1): B4_MS = ms to an installed Child SA
	# (not in a subshell: the daemons' pids must stay known here)
	local extra=$1 blocked=$2 t0 t1
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a >/dev/null
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b >/dev/null
	ip netns exec "$NS_B" nft delete table inet blk 2>/dev/null
	[ "$blocked" = 1 ] && ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain in { type filter hook input priority -20; udp dport { 500, 4500 } drop; }
}
NFT
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test "conn_extra=$extra" "daemon_extra=log_level = warning"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test "daemon_extra=log_level = warning"
	sed -i 's/log_level = debug//' "$IKE_DIR/a.conf" "$IKE_DIR/b.conf"
	ike_start "$NS_A" a >/dev/null && ike_start "$NS_B" b >/dev/null || return 1
	t0=$(now_ms)
	ike_ctl a initiate c --no-wait >/dev/null
	while ! ike_ctl a status 2>/dev/null | grep -q ': INSTALLED '; do
		if [ $(( $(now_ms) - t0 )) -gt 10000 ]; then
			tail -n 5 "$IKE_DIR/a.log" "$IKE_DIR/b.log" | sed 's/^/bench:   /' >&2
			return 1
		fi
		sleep 0.01
	done
	t1=$(now_ms)
	B4_MS=$((t1 - t0))
}

# B4's rows: key (b4.csv's row)|label|conn_extra|goal ms with UDP blocked
# (- for none).  The
# race at its default beside the old fallback's timing (before the race,
# auto dropped UDP for TCP after tcp_fallback_delay, 1.5 s: the race with
# that delay starts TCP at the same moment), the race with TCP at once, and
# separate transports' race (it fell back after 1.5 s before, with a second
# connect).
B4_ROWS=(
	"auto|auto (race, tcp_race_delay 250 ms)|transport = auto|500"
	"auto-1500ms|auto, TCP after 1.5 s (the old fallback's timing)|transport = auto;tcp_race_delay = 1500ms|-"
	"auto-0|auto, tcp_race_delay = 0 (both at once)|transport = auto;tcp_race_delay = 0|500"
	"separate|separate (race, tcp_race_delay 250 ms, on the pre-connection)|transport = separate|500"
)

b4() {
	local x b vals v s ok row rkey label extra goal i c
	topo_pair "bn$$" >/dev/null || { echo "bench: cannot build namespaces" >&2; return 1; }
	echo "row,udp,run,ms,tcp_connects" >"$out/b4.csv"
	{
		echo "## B4: UDP blocked, time to a working tunnel"
		echo
		echo "Two tcpiked (backend none, -O2 build) in host namespaces, $runs runs per row;"
		echo "time from \`tcpikectl initiate\` until the Child SA is installed on the"
		echo "initiator (polled every 10 ms).  Defaults: auto races TCP beside UDP after"
		echo "tcp_race_delay (250 ms, UDP sent once more first, RFC 9329 §5.1); separate"
		echo "races the same way, its TCP SA (separate-tcp-first, the notify from TCP)"
		echo "on the connection opened beside the UDP IKE_SA_INIT (tcp_preconnect), so"
		echo "with UDP open it makes one connect too (IKE_AUTH's).  The old fallback's row is auto"
		echo "with tcp_race_delay = 1500ms: TCP starts when the fallback used to.  With UDP"
		echo "open, a TCP connect is counted (the daemon's tcp_connects): the race costs"
		echo "nothing there unless its delay is 0.  Every run is a line of"
		echo "[b4.csv](b4.csv) (row, UDP, run, ms, the run's TCP connects)."
		echo
		echo "| transport | UDP | median ms | min | max | vs. UDP open | TCP connects | goal |"
		echo "|---|---|---|---|---|---|---|---|"
	} >>"$report"
	for row in "${B4_ROWS[@]}"; do
		local ref= conns
		IFS='|' read -r rkey label extra goal <<<"$row"
		x=$label
		for b in 0 1; do
			vals=()
			conns=0
			for i in $(seq "$runs"); do
				# every run a line of b4.csv, one without a tunnel
				# in 10 s with ms "fail"
				if ! b4_once "$extra" "$b"; then
					echo "bench: B4 $x blocked=$b: no tunnel in 10 s" >&2
					echo "$rkey,$([ "$b" = 1 ] && echo blocked || echo open),$i,fail,-" >>"$out/b4.csv"
					fail=1
					continue
				fi
				vals+=("$B4_MS")
				c=$(ike_counter a tcp_connects 2>/dev/null)
				c=${c:-0}
				conns=$((conns + c))
				echo "$rkey,$([ "$b" = 1 ] && echo blocked || echo open),$i,$B4_MS,$c" >>"$out/b4.csv"
			done
			[ ${#vals[@]} -gt 0 ] || continue
			read -r med mn mx < <(printf '%s\n' "${vals[@]}" | stats)
			[ "$b" = 0 ] && ref=$med
			ok=-
			if [ "$b" = 1 ] && [ "$goal" != - ]; then
				ok=$([ "$mx" -le "$goal" ] && echo "met (<= $goal ms)" || echo "MISSED (<= $goal ms)")
				[ "${ok%% *}" = met ] || fail=1
			fi
			printf '| %s | %s | %d | %d | %d | %s | %d in %d runs | %s |\n' "$x" \
				"$([ "$b" = 1 ] && echo blocked || echo open)" "$med" "$mn" "$mx" \
				"$([ -n "$ref" ] && [ "$ref" -gt 0 ] && awk -v a="$med" -v r="$ref" 'BEGIN{printf "%.1fx", a/r}' || echo -)" \
				"$conns" "${#vals[@]}" "$ok" >>"$report"
			echo "B4 $x UDP $([ "$b" = 1 ] && echo blocked || echo open): median ${med} ms (min $mn, max $mx), $conns TCP connects in ${#vals[@]} runs"
		done
	done
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a >/dev/null
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b >/dev/null
	echo >>"$report"
	if plot_b4 "$out/b4.csv" "$out/b4.png"; then
		{
			echo "![B4: time to a Child SA per row, UDP open and blocked](b4.png)"
			echo
		} >>"$report"
	fi
}

# --- B1 and B5: one responder, tools/tcpike-bench as the initiators ---------

B_SRC=10.0.0.1,10.0.0.11,10.0.0.12,10.0.0.13	# tcpiked takes 4 remote_addrs
B_PSK=tcpike-test-psk-0123456789
RESP_CPU=0
GEN_CPU=$(( $(nproc) > 1 ? 1 : 0 ))
RESP_PID=

# B1 and B5 share one pair of namespaces (B4 builds its own: NS_A/NS_B
# are set back here).
b_topo() {
	if [ -n "${B_NS_A:-}" ]; then
		NS_A=$B_NS_A NS_B=$B_NS_B
		return 0
	fi
	topo_pair "bb$$" >/dev/null || { echo "bench: cannot build namespaces" >&2; return 1; }
	local a
	for a in ${B_SRC//,/ }; do
		[ "$a" = 10.0.0.1 ] || ip -n "$NS_A" addr add "$a/24" dev va
	done
	B_NS_A=$NS_A B_NS_B=$NS_B
}

sw_ok() {
	sw_available && [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] &&
		[ -c /dev/net/tun ]
}

# The like-for-like charon, with the load-tester's fake kernel interface:
# built by scripts/charon-loadtester.sh (about 2 minutes at -j2, once);
# the full run builds it when it is missing, --quick only uses it.
SW_LT=$(scripts/charon-loadtester.sh --check 2>/dev/null)
if [ -z "$SW_LT" ] && [ $quick = 0 ] && [[ " ${want[*]} " == *" 1 "* || " ${want[*]} " == *" 5 "* ]]; then
	echo "bench: building charon with the load-tester (scripts/charon-loadtester.sh)" >&2
	SW_LT=$(scripts/charon-loadtester.sh 2>"$BENCH_TMP/charon-lt.log") ||
		{ SW_LT=; tail -n 5 "$BENCH_TMP/charon-lt.log" | sed 's/^/bench:   /' >&2; }
fi
lt_ok() { [ -n "$SW_LT" ] && command -v swanctl >/dev/null; }

# resp_start tcpiked|tcpiked2|charon|charon-lt: a fresh responder in NS_B
# pinned to RESP_CPU (all its threads); RESP_PID is its pid.  charon:
# kernel-libipsec (userspace ESP), charon-lt: the load-tester's fake kernel
# (no data plane, as tcpiked's backend none).  Every responder takes any
# peer identity with the one PSK (tcpike-bench --distinct-ids): tcpiked's
# connection has no remote id and its secret names the responder's id;
# charon's connection has no remote id and its secret no id.  tcpiked2: tcpiked with
# its key pair pool (a second thread making X25519 pairs ahead), that
# thread on GEN_CPU; plain tcpiked runs without the pool, as kex_pool = auto
# does on one CPU (it is pinned after it started, so auto would not see it).
resp_start() {
	local pool=no
	case $1 in
	tcpiked|tcpiked2)
		[ "$1" = tcpiked2 ] && pool=64
		# Per-IP and half-open limits raised (the generator is a few
		# addresses opening thousands of SAs), cookies off, no DPD:
		# the same as charon's settings below.
		ike_conf r local=10.0.0.2 remote=$B_SRC lts=192.168.2.0/24 rts=10.128.0.0/9 \
			lid=fqdn:resp.tcpike.test rid=fqdn:bench.tcpike.test psk=$B_PSK \
			"daemon_extra=log_level = warning;cookie_threshold = 10000000;half_open_max = 10000000;half_open_per_ip = 10000000;tcp_max = 100000;tcp_per_ip = 100000;kex_pool = $pool" \
			"conn_extra=dpd_delay = 0${RESP_CONN_EXTRA:+;$RESP_CONN_EXTRA}" \
			"child_extra=${RESP_CHILD_EXTRA:-}" || return 1
		sed -i -e 's/log_level = debug//' -e '/^\t\t\tid = fqdn:bench.tcpike.test$/d' "$IKE_DIR/r.conf"
		# Without the none backend's record (a test hook: a line
		# formatted and written per SA and policy, about 5 % of the
		# instructions of a handshake; charon writes nothing either).
		IKE_KB_RECORD= ike_start "$NS_B" r || { tail -n 5 "$IKE_DIR/r.log" >&2; return 1; }
		RESP_PID=${IKE_PID[r]}
		;;
	charon|charon-lt)
		sw_conf r local=10.0.0.2 remote=%any lts=192.168.2.0/24 rts=10.128.0.0/9 \
			lid=resp.tcpike.test psk=$B_PSK \
			kernel="$([ "$1" = charon ] && echo libipsec || echo loadtester)" || return 1
		# Fair sizing: a hash table for 10,000+ IKE SAs, no cookies or
		# per-IP blocking, no half-open limit; logging off (tcpiked
		# logs warnings only).
		sed -i -e 's/^charon {$/charon {\n\tikesa_table_size = 16384\n\tikesa_table_segments = 16\n\tcookie_threshold = 10000000\n\tcookie_threshold_ip = 10000000\n\tblock_threshold = 10000000\n\tinit_limit_half_open = 0/' \
			-e 's/^\t\t\tdefault = 1$/\t\t\tdefault = -1/' -e 's/^\t\t\t\(ike\|cfg\) = 2$/\t\t\t\1 = -1/' \
			"$SW_DIR/r/strongswan.conf"
		# Any identity with the one PSK: a secret without ids (charon
		# looks it up before it has chosen its own id: '%any').  No
		# CERTREQ (the load-tester adds a CA of its own that charon would
		# otherwise name in every IKE_SA_INIT response).
		sed -i -e 's/encap = yes/encap = no/' -e '/^\t\tid-[lr] =/d' \
			-e 's/^\t\tmobike = no$/\t\tmobike = no\n\t\tsend_certreq = no/' "$SW_DIR/r/swanctl.conf"
		sw_start "$NS_B" r || return 1
		RESP_PID=${SW_PID[r]}
		;;
	esac
	taskset -a -pc "$RESP_CPU" "$RESP_PID" >/dev/null
	if [ "$1" = tcpiked2 ]; then
		# The pool's thread (named kex-pool) on the second CPU, the event
		# loop on the first: left to the scheduler, the loop wanders onto
		# the generator's CPU.
		local t i
		for i in $(seq 50); do
			t=$(grep -lx kex-pool /proc/"$RESP_PID"/task/*/comm 2>/dev/null | head -n1)
			[ -n "$t" ] && break
			sleep 0.05
		done
		[ -n "$t" ] || { echo "bench: tcpiked2 has no kex-pool thread" >&2; return 1; }
		t=${t%/comm}
		taskset -pc "$GEN_CPU" "${t##*/}" >/dev/null
	fi
	# The machine is shared: against other load the scheduler splits a
	# CPU per thread, so a 16-thread charon would get 16 times the share
	# of tcpiked's event loop.  Nice -20 on every thread (threads made
	# later inherit it) lets either responder have its CPU.
	renice -n -20 -p $(ls "/proc/$RESP_PID/task") >/dev/null
}

resp_stop() {
	case $1 in
	tcpiked|tcpiked2) [ -n "${IKE_PID[r]:-}" ] && ike_stop r >/dev/null ;;
	charon|charon-lt) sw_stop r ;;
	esac
	RESP_PID=
}

# struct_size NAME: sizeof(struct NAME) in the tcpiked just built (gdb reads
# its debug information), "?" without gdb.
struct_size() {
	gdb -batch -ex "p sizeof(struct $1)" "$BIN/tcpiked" 2>/dev/null |
		sed -n 's/^\$1 = \([0-9]*\)$/\1/p' | grep . || echo "?"
}

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

# gen MODE COUNT WINDOW [OPTION...]: one tcpike-bench run (GEN_TIMEOUT
# seconds at most, 300 unless set; GEN_NAT=0: no NAT-D mismatch over UDP
# either); GEN is its output line.
# UDP and separate runs send NAT-D that cannot match, so both responders
# use UDP encapsulation (charon's kernel-libipsec installs nothing else)
# and IKE_AUTH floats to 4500 (RFC 7296 §2.23).
# GEN_BG=FILE: started in the background instead, its output into FILE,
# GEN_PID its pid (gen_wait then sets GEN).
gen() {
	local nat=--nat
	[ "$1" = tcp ] || [ "${GEN_NAT:-1}" = 0 ] && nat=
	local cmd=(nice -n -20 taskset -c "$GEN_CPU" ip netns exec "$NS_A" "$BIN/tools/tcpike-bench"
		--dst 10.0.0.2 --src "$B_SRC" --psk "$B_PSK" --sockets 64
		--mode "$1" --count "$2" --window "$3" --timeout "${GEN_TIMEOUT:-300}" --distinct-ids $nat
		"${@:4}")
	if [ -n "${GEN_BG:-}" ]; then
		"${cmd[@]}" >"$GEN_BG" 2>"$BENCH_TMP/gen.err" &
		GEN_PID=$! GEN_WHAT="$1 x$2"
		return 0
	fi
	GEN=$("${cmd[@]}" 2>"$BENCH_TMP/gen.err") && return 0
	gen_failed "$1 x$2"
}
gen_failed() {
	echo "bench: tcpike-bench $1: $GEN" >&2
	sed 's/^/bench:   /' "$BENCH_TMP/gen.err" >&2
	return 1
}
# gen_wait FILE: the end of gen's background run, GEN its output lines.
gen_wait() {
	wait "$GEN_PID"
	local rc=$?
	GEN=$(cat "$1")
	[ $rc = 0 ] && return 0
	gen_failed "$GEN_WHAT"
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$GEN"; }

median() { sort -g | awk '{v[NR]=$1} END{if (!NR) exit; m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; print m}'; }

# openssl speed on RESP_CPU: "x25519_ops hmac_ops gcm_ops" per second
crypto_speed() {
	local x h g
	x=$(taskset -c "$RESP_CPU" openssl speed -mr -seconds 2 ecdhx25519 2>/dev/null |
		awk -F: '/^\+F5:/{print $4}')
	h=$(taskset -c "$RESP_CPU" openssl speed -mr -seconds 1 -bytes 256 -hmac sha256 2>/dev/null |
		awk -F: '/^\+F:/{print $4 / 256}')
	g=$(taskset -c "$RESP_CPU" openssl speed -mr -seconds 1 -bytes 256 -evp aes-256-gcm 2>/dev/null |
		awk -F: '/^\+F:/{print $4 / 256}')
	echo "${x:-0} ${h:-0} ${g:-0}"
}

# The responder's CPU time so far, all threads (schedstat's first field:
# ns on a CPU), so that charon's thread pool counts as tcpiked's loop does.
resp_cpu_ns() {
	cat /proc/"$RESP_PID"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

resp_kernel() {
	case $1 in
	tcpiked|tcpiked2) echo "none" ;;
	charon) echo "kernel-libipsec" ;;
	charon-lt) echo "load-tester fake_kernel" ;;
	esac
}

# b1_row SYS MODE N W RUNS: RUNS runs of N SAs against a fresh SYS each,
# every run a line of $out/b1.csv; the medians into RATE, P50, P99, CPU
# (generator %), US (responder CPU us per IKE SA), MIN, MAX under "SYS
# MODE N".  A handshake that does not verify fails the benchmark.
b1_row() {
	local sys=$1 mode=$2 n=$3 w=$4 runs=$5 key="$1 $2 $3" i c0 c1 us
	local rates=() p50s=() p99s=() cpus=() uss=()
	for i in $(seq "$runs"); do
		resp_start "$sys" || { echo "bench: B1: $sys does not start" >&2; fail=1; return 1; }
		c0=$(resp_cpu_ns)
		if gen "$mode" "$n" "$w"; then
			c1=$(resp_cpu_ns)
			us=$(awk -v a="$c0" -v b="$c1" -v k="$(kv ok)" 'BEGIN{printf "%.1f", (b - a) / 1000 / k}')
			rates+=("$(kv rate)") p50s+=("$(kv p50_ms)") p99s+=("$(kv p99_ms)")
			cpus+=("$(kv cpu_pct)") uss+=("$us")
			printf '%s,%s,%s,%s,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s\n' "$sys" \
				"$(resp_kernel "$sys")" "$mode" "$(kv ids)" "$n" "$w" "$i" "$(kv ok)" \
				"$(kv rate)" "$(kv p50_ms)" "$(kv p99_ms)" "$us" "$(kv cpu_pct)" \
				"$([ "$sys" = tcpiked2 ] && echo "$RESP_CPU+$GEN_CPU" || echo "$RESP_CPU")" \
				"$(cut -d' ' -f1 /proc/loadavg)" >>"$out/b1.csv"
		else
			fail=1	# a handshake that did not verify: the harness broke
		fi
		resp_stop "$sys"
	done
	[ ${#rates[@]} -gt 0 ] || return 1
	RATE[$key]=$(printf '%s\n' "${rates[@]}" | median)
	MIN[$key]=$(printf '%s\n' "${rates[@]}" | sort -g | head -n1)
	MAX[$key]=$(printf '%s\n' "${rates[@]}" | sort -g | tail -n1)
	P50[$key]=$(printf '%s\n' "${p50s[@]}" | median)
	P99[$key]=$(printf '%s\n' "${p99s[@]}" | median)
	CPU[$key]=$(printf '%s\n' "${cpus[@]}" | median)
	US[$key]=$(printf '%s\n' "${uss[@]}" | median)
	echo "B1 $sys ($(resp_kernel "$sys")) $mode N=$n: median ${RATE[$key]} IKE SAs/s, ${US[$key]} us responder CPU per SA over ${#rates[@]} run(s) (p50 ${P50[$key]} ms, p99 ${P99[$key]} ms), all verified, identities: $(kv ids)"
}

# charon-lt must have answered 20 clients as 20 identities: its own list of
# IKE SAs names 20 distinct remote ids (c0.bench.tcpike.test ...).
b1_ids_check() {
	local ids est
	resp_start charon-lt || { echo "bench: B1: charon-lt does not start" >&2; return 1; }
	if ! gen udp 20 10; then
		resp_stop charon-lt
		return 1
	fi
	ids=$(sw_ctl r --list-sas 2>/dev/null |
		sed -n "s/^  remote '\\(c[0-9]*\\.bench\\.tcpike\\.test\\)' @ .*/\\1/p" | sort -u | wc -l)
	est=$(sw_ctl r --list-sas 2>/dev/null | grep -c ': #[0-9]*, ESTABLISHED, IKEv2')
	resp_stop charon-lt
	echo "B1 charon-lt, 20 clients: $est IKE SAs established, $ids distinct remote identities"
	[ "$ids" = 20 ] && [ "$est" = 20 ]
}

# The charons of B1 unless B1_ONLY=tcpiked.
b1_lt() { [ "${B1_ONLY:-}" != tcpiked ] && lt_ok; }
b1_sw() { [ "${B1_ONLY:-}" != tcpiked ] && sw_ok; }

b1() {
	local n w runs sys mode r i key x nn
	declare -A RATE P50 P99 CPU MIN MAX US
	b_topo || return 1
	# The sweep over N (the like-for-like pair and, when there, charon
	# with kernel-libipsec); the table at B1_N with every responder.
	# B1_N, B1_RUNS, B1_SWEEP override them (to try the harness at small N).
	local sweep=(${B1_SWEEP:-250 1000 4000 10000})
	if [ $quick = 1 ]; then n=200 w=32 runs=1 sweep=(); else n=4000 w=64 runs=5; fi
	n=${B1_N:-$n} runs=${B1_RUNS:-$runs}
	local systems=("tcpiked udp" "tcpiked tcp" "tcpiked separate")
	[ "$GEN_CPU" != "$RESP_CPU" ] && systems+=("tcpiked2 udp")
	# B1_ONLY=tcpiked: tcpiked over UDP alone, no charon (A/B runs of two
	# builds: bench/lib/b1-ab.sh)
	[ "${B1_ONLY:-}" = tcpiked ] && systems=("tcpiked udp")
	local ref=
	if b1_lt; then
		systems+=("charon-lt udp")
		ref="charon-lt udp"
	else
		echo "bench: B1: no load-tester charon (scripts/charon-loadtester.sh builds it): no like-for-like charon row" >&2
	fi
	if b1_sw; then
		systems+=("charon udp")
		ref=${ref:-charon udp}
	else
		echo "bench: B1: strongSwan charon with kernel-libipsec not available" >&2
	fi
	echo "responder,kernel,transport,ids,n,window,run,ok,rate_per_s,p50_ms,p99_ms,resp_cpu_us_per_sa,gen_cpu_pct,resp_cpus,load1" >"$out/b1.csv"
	local ids=skipped
	if b1_lt; then
		if b1_ids_check; then ids=ok; else ids=FAILED; fail=1; fi
	fi
	for key in "${systems[@]}"; do
		read -r sys mode <<<"$key"
		b1_row "$sys" "$mode" "$n" "$w" "$runs"
	done
	local swept=("tcpiked udp")
	b1_lt && swept+=("charon-lt udp")
	b1_sw && swept+=("charon udp")
	for x in "${sweep[@]}"; do
		[ "$x" = "$n" ] && continue
		for key in "${swept[@]}"; do
			read -r sys mode <<<"$key"
			b1_row "$sys" "$mode" "$x" "$w" "$runs"
		done
	done
	# Negative control: with the wrong PSK no SA may count as done (the
	# responder refuses our AUTH; a generator that did not check answers
	# would still report a rate).
	local ctl=ok
	if resp_start tcpiked; then
		if GEN=$(taskset -c "$GEN_CPU" ip netns exec "$NS_A" "$BIN/tools/tcpike-bench" \
			 --dst 10.0.0.2 --src "$B_SRC" --psk "not-$B_PSK" --count 20 --window 10 \
			 --distinct-ids --timeout 30 2>/dev/null) || [ "$(kv ok)" != 0 ] || [ "$(kv failed)" != 20 ]; then
			echo "bench: B1: wrong PSK, yet tcpike-bench reported: $GEN" >&2
			ctl="FAILED"
			fail=1
		fi
		resp_stop tcpiked
	fi
	echo "B1 negative control (wrong PSK, 20 SAs): $ctl"
	local h g ceil
	read -r x h g < <(crypto_speed)
	ceil=$(awk -v x="$x" -v h="$h" -v g="$g" 'BEGIN{ if (x > 0 && h > 0 && g > 0) printf "%.0f", 1 / (2 / x + 16 / h + 2 / g); else print 0 }')
	local sw=${ref:+${RATE["$ref $n"]:-}}
	local t="tcpiked udp $n"
	{
		echo "## B1: handshake rate"
		echo
		echo "\`tcpike-bench\` (userspace/tools) opens N IKE SAs per run, $w in flight,"
		echo "PSK, AES-GCM-16-256 / PRF-HMAC-SHA2-256 / X25519, one Child SA each"
		echo "(ESP AES-GCM-16-256, its own /32 TSi), from 64 UDP sockets on 4"
		echo "source addresses, **every SA with its own identity** (IDi"
		echo "c<k>.bench.tcpike.test, \`--distinct-ids\`; every responder takes any"
		echo "identity with one PSK); every IKE_AUTH response is decrypted and its"
		echo "AUTH verified.  The responder (fresh for every run) is pinned to CPU"
		echo "$RESP_CPU with \`taskset -a\` (**one core**), the generator to CPU $GEN_CPU, both"
		echo "at nice -20 (the machine is shared; see the load averages).  Same"
		echo "proposals on every responder.  Responders:"
		echo
		echo "- tcpiked: backend none (no data plane), -O2 build, log level warning,"
		echo "  without the none backend's record file (a test hook that writes a line"
		echo "  per SA and policy; \`IKE_KB_RECORD=\`)."
		if b1_lt; then
			echo "- charon-lt: strongSwan $(cat "$SW_LT/VERSION" 2>/dev/null) built from Debian's source package"
			echo "  (scripts/charon-loadtester.sh; the installed charon is $(sw_version)):"
			echo "  the load-tester plugin's fake kernel interface (\`fake_kernel = yes\`,"
			echo "  \`initiators = 0\`): no SA or policy installed anywhere, the like-for-like"
			echo "  row; kernel-netlink only for addresses."
		elif [ "${B1_ONLY:-}" = tcpiked ]; then
			echo "- charon-lt and charon: **not run** (B1_ONLY=tcpiked: tcpiked alone, as"
			echo "  bench/lib/b1-ab.sh runs two builds against each other)."
		else
			echo "- charon-lt (the like-for-like row): **not run**, the load-tester build"
			echo "  is absent (scripts/charon-loadtester.sh builds it in about 2 minutes)."
		fi
		b1_sw && echo "- charon: Debian's $(sw_version) with kernel-libipsec, its userspace ESP
  stack, which keeps every Child SA in lists of its own: NOT like-for-like
  (it holds a data plane that tcpiked's backend none does not)."
		echo
		echo "Both charons: ikesa_table_size 16384, cookies/blocking/half-open limits"
		echo "off (tcpiked's raised the same way), logging off.  UDP and separate runs"
		echo "send NAT-D as from behind a NAT (kernel-libipsec only installs"
		echo "UDP-encapsulated SAs), so IKE_AUTH goes to 4500 for all.  Rate ="
		echo "verified IKE SAs / time from the first request to the last verified"
		echo "response; responder CPU per SA = the responder's CPU time over the"
		echo "run, all threads (/proc/PID/task/*/schedstat), / verified SAs; median"
		echo "of $runs run(s).  Every run's figures are in [b1.csv](b1.csv)."
		echo "Negative control: 20 SAs with the wrong PSK must all fail ($ctl)."
		echo "Distinct identities: charon-lt, 20 clients, lists 20 distinct remote ids ($ids)."
		echo
		echo "N = $n:"
		echo
		echo "| responder | kernel | transport | N | IKE SAs/s (median) | min | max | responder us/SA | p50 ms | p99 ms | generator CPU % | vs. ${ref%% *} UDP |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
		for key in "${systems[@]}"; do
			[ -n "${RATE[$key $n]:-}" ] || continue
			read -r sys mode <<<"$key"
			printf '| %s | %s | %s | %d | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s |\n' "$sys" \
				"$(resp_kernel "$sys")" "$mode" "$n" \
				"${RATE[$key $n]}" "${MIN[$key $n]}" "${MAX[$key $n]}" "${US[$key $n]}" \
				"${P50[$key $n]}" "${P99[$key $n]}" "${CPU[$key $n]}" \
				"$([ -n "$sw" ] && awk -v a="${RATE[$key $n]}" -v b="$sw" 'BEGIN{printf "%.2fx", a/b}' || echo -)"
		done
		echo
		if [ ${#sweep[@]} -gt 0 ]; then
			echo "Against N (UDP, one core, distinct identities; responder CPU per SA, median of $runs):"
			echo
			echo "| N | tcpiked (none) us/SA | IKE SAs/s | p50/p99 ms | charon-lt (fake kernel) us/SA | IKE SAs/s | p50/p99 ms | charon-lt / tcpiked per SA | goal >= 3x | charon (kernel-libipsec) us/SA | IKE SAs/s |"
			echo "|---|---|---|---|---|---|---|---|---|---|---|"
			# (not x: that is the X25519 rate printed below)
			for nn in "${sweep[@]}"; do
				local a="tcpiked udp $nn" b="charon-lt udp $nn" c="charon udp $nn" q=- gl=-
				if [ -n "${US[$a]:-}" ] && [ -n "${US[$b]:-}" ]; then
					q=$(awk -v a="${US[$a]}" -v b="${US[$b]}" 'BEGIN{printf "%.2f", b / a}')
					gl=$(awk -v q="$q" 'BEGIN{print (q >= 3) ? "met" : "not met"}')
					q=${q}x
				fi
				printf '| %d | %s | %.0f | %s/%s | %s | %.0f | %s/%s | %s | %s | %s | %.0f |\n' "$nn" \
					"${US[$a]:--}" "${RATE[$a]:-0}" "${P50[$a]:--}" "${P99[$a]:--}" \
					"${US[$b]:--}" "${RATE[$b]:-0}" "${P50[$b]:--}" "${P99[$b]:--}" \
					"$q" "$gl" "${US[$c]:--}" "${RATE[$c]:-0}"
			done
			echo
		fi
		echo "Crypto ceiling on CPU $RESP_CPU (\`openssl speed\`, $(openssl version | cut -d' ' -f1-2)):"
		echo "X25519 derive $(printf '%.0f' "$x")/s, HMAC-SHA-256 on 256 bytes $(printf '%.0f' "$h")/s,"
		echo "AES-256-GCM on 256 bytes $(printf '%.0f' "$g")/s.  A PSK responder does per IKE SA"
		echo "2 X25519 operations (key generation, counted as one derive, and the"
		echo "derive), 16 HMAC-SHA-256 (SKEYSEED 1, prf+ for 168 bytes of SK_* 6, the"
		echo "peer's AUTH 3 and its own 3: prf(SK_p, ID), prf(PSK, pad), prf(key,"
		echo "octets), KEYMAT for 72 bytes 3) and 2 AES-GCM operations (IKE_AUTH in"
		echo "and out):  ceiling = 1 / (2/X25519 + 16/HMAC + 2/GCM) = **$ceil IKE SAs/s**."
		echo
		echo "| goal | value | status |"
		echo "|---|---|---|"
		if [ -n "${RATE[$t]:-}" ] && [ -n "$sw" ]; then
			r=$(awk -v a="${RATE[$t]}" -v b="$sw" 'BEGIN{printf "%.2f", a/b}')
			printf '| tcpiked UDP >= 2x %s UDP (rate, N = %d) | %sx | %s |\n' "${ref%% *}" "$n" "$r" \
				"$(awk -v r="$r" 'BEGIN{print (r >= 2) ? "met" : "not met"}')"
		fi
		if [ -n "${RATE[$t]:-}" ] && [ "$ceil" -gt 0 ]; then
			# One decimal, and judged unrounded: 59.7 % is not 60.
			r=$(awk -v a="${RATE[$t]}" -v c="$ceil" 'BEGIN{printf "%.1f", 100 * a / c}')
			printf '| tcpiked UDP >= 70 %% of the ceiling | %s %% | %s |\n' "$r" \
				"$(awk -v r="$r" 'BEGIN{print (r >= 70) ? "met" : "not met"}')"
		fi
		echo
		echo "tcpiked runs its IKE work in one event loop.  *tcpiked2*: the same"
		echo "daemon with its key pair pool (\`kex_pool\`, on by default when a"
		echo "second CPU is there): a second thread, pinned to CPU $GEN_CPU (the event"
		echo "loop stays on CPU $RESP_CPU), makes the X25519 key pairs ahead, each used"
		echo "once, about a quarter of a PSK handshake's work; its CPU counts in"
		echo "us/SA.  This machine has $(nproc) CPUs and the generator needs most of"
		echo "CPU $GEN_CPU, so the row shows what the pool gains on a shared second CPU,"
		echo "not a dedicated one.  When the generator's CPU is near 100 %, it, not"
		echo "the responder, set the pace."
		echo
		if [ -n "${RATE["tcpiked2 udp $n"]:-}" ] && [ -n "${RATE[$t]:-}" ]; then
			printf 'Two CPUs against one: %s.\n\n' \
				"$(awk -v a="${RATE["tcpiked2 udp $n"]}" -v b="${RATE[$t]}" 'BEGIN{printf "%.2fx", a/b}')"
		fi
	} >>"$report"
	b1_plot "$ceil" "$sw" "$n" "${systems[@]}"
	if [ ${#sweep[@]} -gt 0 ] && plot_b1n "$out/b1.csv" "$out/b1-n.png"; then
		{
			echo "Against N, from b1.csv (\`bench/run.sh --plot DIR\` draws it again):"
			echo
			echo "![B1 against N: IKE SAs/s and responder us per IKE SA](b1-n.png)"
			echo
		} >>"$report"
	fi
}

# A bar per row with the ceiling and 2x charon as lines (gnuplot, SVG).
b1_plot() {
	local ceil=$1 sw=$2 n=$3 key sys mode; shift 3
	command -v gnuplot >/dev/null || { echo "(gnuplot not installed: no plot)" >>"$report"; return; }
	: >"$BENCH_TMP/b1.dat"
	for key in "$@"; do
		[ -n "${RATE[$key $n]:-}" ] || continue
		read -r sys mode <<<"$key"
		echo "\"$sys\\n$mode\" ${RATE[$key $n]}" >>"$BENCH_TMP/b1.dat"
	done
	gnuplot <<GP 2>/dev/null || return
set terminal pngcairo size 760,440 font "sans,10"
set output "$out/b1.png"
set title "B1: IKE SAs per second, N = $n, distinct identities, responder on one core (median)"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set ylabel "IKE SAs/s"
set key top right
set bmargin 4
plot "$BENCH_TMP/b1.dat" using 0:2:xtic(1) with boxes title "measured", \
     $ceil with lines dashtype 2 title "crypto ceiling", \
     $(awk -v c="$ceil" 'BEGIN{print 0.7 * c}') with lines dashtype 3 title "70 % of ceiling"$( [ -n "$sw" ] && echo ", \\
     $(awk -v s="$sw" 'BEGIN{print 2 * s}') with lines dashtype 4 title \"2x ${ref%% *} UDP\"")
GP
	echo "![B1 rates](b1.png)" >>"$report"
	echo >>"$report"
}

sw_version() { dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null; }

b5() {
	local n=10000 sys before after per cnt rows=() key
	b_topo || return 1
	local systems=(tcpiked)
	# charon-lt (the load-tester's fake kernel) holds no data plane, as
	# tcpiked's backend none: the like-for-like row; Debian's charon
	# keeps kernel-libipsec's userspace ESP state per Child SA on top.
	lt_ok && systems+=(charon-lt)
	sw_ok && systems+=(charon)
	for sys in "${systems[@]}"; do
		resp_start "$sys" || { echo "bench: B5: $sys does not start" >&2; fail=1; continue; }
		sleep 1
		before=$(rss_kib "$RESP_PID")
		if ! gen udp "$n" 64; then
			fail=1
			resp_stop "$sys"
			continue
		fi
		sleep 1
		after=$(rss_kib "$RESP_PID")
		# the responder still holds them all (counted after the RSS read)
		if [ "$sys" = tcpiked ]; then
			cnt=$(ike_jq r "sum(1 for i in s['ike_sas'] if i['state']=='ESTABLISHED' and len(i['children'])==1)")
		else
			cnt=$(sw_ctl r --stats 2>/dev/null | sed -n 's/^IKE_SAs: \([0-9]*\) total.*/\1/p')
		fi
		per=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN{printf "%.2f", (a - b) / n}')
		echo "B5 $sys: RSS $before -> $after KiB for $n IKE SAs: $per KiB per IKE SA (responder holds $cnt)"
		rows+=("| $sys | $(resp_kernel "$sys") | $before | $after | $cnt | $per | $(awk -v p="$per" 'BEGIN{print (p <= 4) ? "met" : "not met"}') |")
		[ "$cnt" = "$n" ] || { echo "bench: B5: $sys holds $cnt IKE SAs, not $n" >&2; fail=1; }
		resp_stop "$sys"
	done
	{
		echo "## B5: scale (host part): memory per IKE SA"
		echo
		echo "$n IKE SAs with one Child SA each (tcpike-bench over UDP as in B1,"
		echo "64 in flight) on one fresh responder; VmRSS read 1 s after start and"
		echo "1 s after the last SA was verified, then the responder's own count."
		echo "Every IKE SA has its own identity (tcpike-bench --distinct-ids, as in B1)."
		echo "Per IKE SA = (after - before) / $n.  Goal: <= 4 KiB per IKE SA."
		echo "The VM part (10,000 SA pairs through the module vs. XFRM netlink,"
		echo "keepalives for 100,000 peers) is in b5vm.md (bench/sa-scale/host.sh)."
		echo
		echo "| responder | kernel | RSS before KiB | RSS after KiB | IKE SAs held | KiB per IKE SA | goal <= 4 KiB |"
		echo "|---|---|---|---|---|---|---|"
		printf '%s\n' "${rows[@]}"
		echo
		echo "tcpiked's figure includes the none backend's own records, which"
		echo "the module and XFRM backends keep in the kernel instead: per Child"
		echo "SA two SA records ($(struct_size none_sa) bytes each on x86-64) and three"
		echo "policies ($(struct_size none_pol) bytes each), plus malloc's rounding.  struct"
		echo "ike_sa is $(struct_size ike_sa) bytes and struct child_sa $(struct_size child_sa) (this build)."
		echo
	} >>"$report"
}

# B7: N IKE SAs on one responder, then all idle.  Every figure of the
# section comes from the line this run adds to b7.csv.
B7_CSV_HEAD=utc,tcpike,n,window,backend,nat,ok,failed,elapsed_ms,rate,d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,rss_before_kib,rss_after_kib,kib_per_ike_sa,ike_held,child_held,setup_cpu_ns,idle_s,idle_cpu_ns,idle_cpu_pct,gen_cpu_pct,gen_maxrss_kib,ike_rekey,child_rekey,dpd,load_start,load_end,held_after,storm_pct,storm_window_s,storm_rounds,storm_sas,storm_n,storm_ok,storm_failed,storm_timeouts,storm_retransmits,storm_elapsed_ms,storm_rate,storm_requested,storm_p50_ms,storm_p99_ms,storm_max_ms,s1,s2,s3,s4,s5,s6,s7,s8,s9,s10,storm_p50s,storm_p99s,storm_fails,storm_cpu_ns,rss_storm_kib,gen_storm_cpu_pct
b7() {
	local n=$1 idle=${B7_IDLE_S:-60} w=64 csv=$out/b7.csv
	local storm=${B7_STORM:-10} swin=${B7_STORM_WINDOW:-60} srounds=${B7_STORM_ROUNDS:-2}
	local la0 la1 before after cs c0 c1 t0 t1 held per pct dec row s0 s1 srss sdec ref go=$BENCH_TMP/gen.out
	local RESP_CONN_EXTRA="rekey_time = 4h" RESP_CHILD_EXTRA="rekey_time = 1h"
	b_topo || return 1
	la0=$(cut -d' ' -f1-3 /proc/loadavg)
	resp_start tcpiked || { echo "bench: B7: tcpiked does not start" >&2; fail=1; return 1; }
	sleep 1
	before=$(rss_kib "$RESP_PID")
	cs=$(resp_cpu_ns)
	# at least 100 SAs/s (278 at 10^6: tcpike-bench waits an hour at most),
	# or the run counts as broken
	# No NAT (GEN_NAT=0): a responder that believes itself behind one
	# sends a keepalive per IKE SA every keepalive_interval (RFC 3948
	# §4), which is not idle (3.2 % of a core at 10^5 SAs, 20 s).
	if [ "$storm" = 0 ]; then
		GEN_NAT=0 GEN_TIMEOUT=$(( n / 100 > 3600 ? 3600 : n / 100 > 300 ? n / 100 : 300 )) \
			gen udp "$n" "$w" --deciles || fail=1
	else
		# The storm's generator prints the setup's line, then waits
		# for SIGUSR1 (--rekey-wait) while the idle responder is
		# measured.
		GEN_BG=$go GEN_NAT=0 GEN_TIMEOUT=$(( n / 100 > 3600 ? 3600 : n / 100 > 300 ? n / 100 : 300 )) \
			gen udp "$n" "$w" --deciles --rekey "$storm" --rekey-window "$swin" \
			--rekey-rounds "$srounds" --rekey-wait
		while kill -0 "$GEN_PID" 2>/dev/null && ! grep -qs '^mode=' "$go"; do
			sleep 0.5
		done
		GEN=$(head -n 1 "$go")
		[ "$(kv ok)" = "$n" ] || fail=1
	fi
	sleep 1
	after=$(rss_kib "$RESP_PID")
	# Idle: no message either way (DPD off, rekeys hours away); the
	# CPU the event loop spends on n SAs' timers and tables.
	c0=$(resp_cpu_ns) t0=$(now_ms)
	sleep "$idle"
	c1=$(resp_cpu_ns) t1=$(now_ms)
	if [ "$storm" != 0 ]; then
		# The storm: its responder CPU from schedstat as the setup's
		# (the generator sends nothing before SIGUSR1 or after its line).
		s0=$(resp_cpu_ns)
		kill -USR1 "$GEN_PID" 2>/dev/null
		gen_wait "$go" || fail=1
		s1=$(resp_cpu_ns)
		sleep 1
		srss=$(rss_kib "$RESP_PID")
	fi
	# Counted from the text status after the measurements (at 10^6 SAs
	# it is hundreds of MB, which the daemon builds in memory).
	held=$(timeout 900 "$TOOL_BIN/tcpikectl" -s "$IKE_DIR/r.sock" status |
		awk '/^[^ ].*\]: ESTABLISHED /{i++} /^  [^ ]+: INSTALLED /{c++} END{print i + 0, c + 0}')
	# Killed, not stopped: a clean exit would send N Deletes to a
	# generator that has gone (and take longer than ike_stop waits).
	ike_kill r
	RESP_PID=
	la1=$(cut -d' ' -f1-3 /proc/loadavg)
	per=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN{printf "%.3f", (a - b) / n}')
	pct=$(awk -v a="$c0" -v b="$c1" -v t="$((t1 - t0))" 'BEGIN{printf "%.3f", (b - a) / (t * 1e6) * 100}')
	dec=$(b7_tenths "$(kv deciles)")
	sdec=$(b7_tenths "$(kv rk_deciles)")
	[ -s "$csv" ] || echo "$B7_CSV_HEAD" >"$csv"
	row="$(date -u +%Y-%m-%dT%H:%M:%SZ),$(git rev-parse --short HEAD 2>/dev/null),$n,$w,none,no,$(kv ok),$(kv failed),$(kv elapsed_ms),$(kv rate),$dec,$before,$after,$per,${held% *},${held#* },$((c0 - cs)),$(( (t1 - t0) / 1000 )),$((c1 - c0)),$pct,$(kv cpu_pct),$(kv maxrss_kib),${RESP_CONN_EXTRA#rekey_time = },${RESP_CHILD_EXTRA#rekey_time = },off,${la0// /;},${la1// /;}"
	if [ "$storm" = 0 ]; then
		row+=",idle,0$(printf ',%.0s' $(seq 30))"
	else
		row+=",storm,$storm,$swin,$srounds,$(kv rk_sas),$(kv rk_count),$(kv rk_ok),$(kv rk_failed),$(kv rk_timeouts),$(kv rk_retransmits),$(kv rk_elapsed_ms),$(kv rk_rate),$(kv rk_requested),$(kv rk_p50_ms),$(kv rk_p99_ms),$(kv rk_max_ms),$sdec,$(kv rk_p50s | tr , ';'),$(kv rk_p99s | tr , ';'),$(kv rk_fails | tr , ';'),$((s1 - s0)),$srss,$(kv rk_cpu_pct)"
	fi
	echo "$row" >>"$csv"
	echo "B7 N=$n: ok $(kv ok), RSS $before -> $after KiB ($per KiB per IKE SA), held ${held% *} IKE / ${held#* } Child SAs, idle CPU $pct % over $(( (t1 - t0) / 1000 )) s, deciles $dec"
	[ "$storm" = 0 ] || echo "B7 N=$n storm: $(kv rk_ok)/$(kv rk_count) rekeys, $(kv rk_rate)/s, tenths $sdec, $(( (s1 - s0) / 1000 / ($(kv rk_ok) + 0 > 0 ? $(kv rk_ok) : 1) )) us CPU per rekey"
	[ "$(kv ok)" = "$n" ] && [ "${held% *}" = "$n" ] || { echo "bench: B7: $(kv ok) verified, ${held% *} held, not $n" >&2; fail=1; }
	[ "$storm" = 0 ] || [ "$(kv rk_ok)" = "$(kv rk_count)" ] || { echo "bench: B7: $(kv rk_ok) of $(kv rk_count) rekeys verified" >&2; fail=1; }
	# the storm's reference: the latest run at N = 100,000 with the same
	# share, window and rounds in this b7.csv (the row just added, at that N)
	ref=$(awk -F, -v head="$B7_CSV_HEAD" -v p="$storm" -v w="$swin" -v k="$srounds" '
		BEGIN { split(head, h, ",") }
		NR > 1 { for (i = 1; i <= NF; i++) v[h[i]] = $i
			if (v["n"] == 100000 && v["held_after"] == "storm" && v["storm_pct"] == p &&
			    v["storm_window_s"] == w && v["storm_rounds"] == k && v["storm_ok"] > 0) r = $0 }
		END { print r }' "$csv")
	b7_section "$row" "$ref" >>"$report"
}

# b7_tenths "R1,...,Rk": ten comma-separated fields, those not reached empty.
b7_tenths() {
	local d=$1
	[ -n "$d" ] && [ "$d" != - ] || d=
	awk -F, -v d="$d" 'BEGIN{n = split(d, v, ","); for (i = 1; i <= 10; i++) printf "%s%s", (i > 1 ? "," : ""), (i <= n ? v[i] : "")}'
}

# b7_section CSV-ROW [REF-ROW]: B7's part of the report, every number from
# the row (and the storm's reference row, N = 100,000).
b7_section() {
	awk -F, -v head="$B7_CSV_HEAD" -v nproc="$(nproc)" -v ref="${2:-}" '
	BEGIN { split(head, h, ","); }
	{
		for (i = 1; i <= NF; i++) v[h[i]] = $i
		gsub(/;/, " ", v["load_start"]); gsub(/;/, " ", v["load_end"])
		ratio = (v["d1"] > 0 && v["d10"] != "") ? v["d10"] / v["d1"] : 0
		print "## B7: a million IKE SAs (issue 21): " v["n"] " IKE SAs"
		print ""
		print v["n"] " IKE SAs with one Child SA each, every one with its own identity"
		print "(tcpike-bench --distinct-ids --deciles over UDP, " v["window"] " in flight, as in B5"
		print "but NAT: " v["nat"] " (B5 makes the responder believe both ends are behind one;"
		print "it would then send every IKE SA a NAT keepalive per keepalive_interval),"
		print "on one fresh tcpiked (backend " v["backend"] ", optimised build " v["tcpike"] "), pinned to"
		print "one CPU of " nproc ", the generator on the other.  DPD " v["dpd"] ", IKE rekey_time " v["ike_rekey"] ","
		print "Child SA rekey_time " v["child_rekey"] ": once set up, nothing is sent either way."
		print "Load average at the start " v["load_start"] ", at the end " v["load_end"] ": the machine"
		print "is shared with other work, so the rates are noisy (wall clock); the"
		print "memory and the idle CPU (the responder'"'"'s own schedstat) are not."
		print ""
		print "| measure | value | goal |"
		print "|---|---|---|"
		printf "| IKE SAs verified / failed (generator) | %s / %s | all |\n", v["ok"], v["failed"]
		printf "| IKE SAs / Child SAs held (responder status%s) | %s / %s | %s / %s |\n", (v["held_after"] == "storm" ? ", after the storm" : ""), v["ike_held"], v["child_held"], v["n"], v["n"]
		printf "| setup rate, whole run | %s IKE SAs/s in %.1f s | |\n", v["rate"], v["elapsed_ms"] / 1000
		printf "| setup rate, first 10 %% of the SAs | %s IKE SAs/s | |\n", v["d1"]
		printf "| setup rate, last 10 %% of the SAs | %s IKE SAs/s (%.2f of the first) | |\n", v["d10"], ratio
		printf "| responder RSS before / after | %s / %s KiB | |\n", v["rss_before_kib"], v["rss_after_kib"]
		printf "| RSS per IKE SA | %.2f KiB | <= 4 KiB: %s |\n", v["kib_per_ike_sa"], (v["kib_per_ike_sa"] <= 4 ? "met" : "not met")
		printf "| responder CPU, all SAs idle, over %s s | %.3f %% of a core (%.1f ms) | <= 1 %%: %s |\n", v["idle_s"], v["idle_cpu_pct"], v["idle_cpu_ns"] / 1e6, (v["idle_cpu_pct"] <= 1 ? "met" : "not met")
		printf "| responder CPU during setup | %.1f us per IKE SA | |\n", v["setup_cpu_ns"] / 1000 / v["n"]
		printf "| generator CPU during setup | %s %% of its core | |\n", v["gen_cpu_pct"]
		printf "| generator peak RSS | %.1f MiB (%.2f KiB per SA) | |\n", v["gen_maxrss_kib"] / 1024, v["gen_maxrss_kib"] / v["n"]
		print ""
		printf "Setup rate per tenth of the SAs (IKE SAs/s): %s.\n", v["d1"] ", " v["d2"] ", " v["d3"] ", " v["d4"] ", " v["d5"] ", " v["d6"] ", " v["d7"] ", " v["d8"] ", " v["d9"] ", " v["d10"]
		print "Per IKE SA = (RSS after - RSS before) / N, read 1 s after start and 1 s"
		print "after the last SA was verified; the none backend'"'"'s records (two SAs"
		print "and three policies per Child SA) count too.  Raw figures: b7.csv."
		print ""
		if (v["held_after"] == "storm")
			storm()
	}
	# The rekey storm: every figure from the row; the CPU per rekey
	# against the reference row (N = 100,000, same share and window).
	function storm(   i, k, which, ok, first, last, us, rus, ratio, req, rv) {
		k = split(ref, rv, ",")
		for (i = 1; i <= k; i++) r[h[i]] = rv[i]
		ok = v["storm_ok"] == v["storm_n"] && v["storm_failed"] == 0 && v["storm_n"] > 0
		first = v["s1"]; last = v["s10"]
		ratio = (first > 0 && last != "") ? last / first : 0
		us = v["storm_ok"] > 0 ? v["storm_cpu_ns"] / 1000 / v["storm_ok"] : 0
		rus = r["storm_ok"] > 0 ? r["storm_cpu_ns"] / 1000 / r["storm_ok"] : 0
		req = v["storm_requested"] > 0 ? v["storm_rate"] / v["storm_requested"] : 0
		print "### B7 rekey storm: " v["storm_pct"] " % of the IKE SAs rekeyed within " v["storm_window_s"] " s, " v["storm_rounds"] " rounds"
		print ""
		k = int(100 / v["storm_pct"] + 0.5)
		which = k > 1 ? "every\n" k "th by index" : "all\nof them"
		print "After the idle minute, tcpike-bench rekeys " v["storm_sas"] " of the " v["n"] " IKE SAs (" which ") within " v["storm_window_s"] " s, evenly paced (one every " v["storm_window_s"] " s / " v["storm_sas"] "),"
		print "and then the same SAs again, " v["storm_rounds"] " rounds in all (" v["storm_n"] " rekeys): from the second"
		print "round on, each rekeyed SA is itself the product of a rekey, as every SA"
		print "is once it has lived past its first rekey_time.  Each is an IKE SA"
		print "rekey (CREATE_CHILD_SA with SA, Ni, KEi and a new SPI, RFC 7296 §1.3.2;"
		print "the new keys from SK_d, §2.18), then the old IKE SA'"'"'s Delete (§2.8) and an"
		print "empty INFORMATIONAL on the new one.  A rekey counts when all three"
		print "responses decrypted and checked (the CREATE_CHILD_SA response'"'"'s proposal,"
		print "Nr and KEr; both INFORMATIONAL responses empty).  The Child SA moves to"
		print "the new IKE SA (§2.8), so the responder must still hold N / N afterwards."
		print "The responder'"'"'s CPU is its schedstat (all threads) from the start of"
		print "the storm to the generator'"'"'s exit; the rates are wall clock on a shared"
		print "machine."
		print ""
		print "| measure | value | goal |"
		print "|---|---|---|"
		printf "| rekeys verified / failed / unanswered | %s / %s / %s (%s retransmissions) | all: %s |\n", v["storm_ok"], v["storm_failed"], v["storm_timeouts"], v["storm_retransmits"], (ok ? "met" : "not met")
		printf "| rekey rate, whole storm | %s rekeys/s in %.1f s (requested %s/s: %.3f of it) | >= 0.95 of the requested: %s |\n", v["storm_rate"], v["storm_elapsed_ms"] / 1000, v["storm_requested"], req, (req >= 0.95 ? "met" : "not met")
		printf "| rekey rate, first / last tenth | %s / %s rekeys/s (%.2f) | last >= 0.9 x first: %s |\n", first, last, ratio, (ratio >= 0.9 ? "met" : "not met")
		printf "| rekey latency p50 / p99 / max | %s / %s / %s ms | |\n", v["storm_p50_ms"], v["storm_p99_ms"], v["storm_max_ms"]
		printf "| responder CPU per rekey | %.1f us | |\n", us
		if (v["n"] == 100000)
			printf "| responder CPU per rekey against N = 100,000 | this run is the reference | |\n"
		else if (rus > 0)
			printf "| responder CPU per rekey against N = 100,000 (%s, %s) | %.1f / %.1f us = %.2f | <= 1.2: %s |\n", r["utc"], r["tcpike"], us, rus, us / rus, (us / rus <= 1.2 ? "met" : "not met")
		else
			printf "| responder CPU per rekey against N = 100,000 | no run at N = 100,000 in b7.csv | <= 1.2: not shown |\n"
		printf "| responder RSS after the storm | %s KiB (%+.3f KiB per IKE SA against after setup) | |\n", v["rss_storm_kib"], (v["rss_storm_kib"] - v["rss_after_kib"]) / v["n"]
		printf "| generator CPU during the storm | %s %% of its core | |\n", v["gen_storm_cpu_pct"]
		print ""
		gsub(/;/, ", ", v["storm_p50s"]); gsub(/;/, ", ", v["storm_p99s"]); gsub(/;/, ", ", v["storm_fails"])
		printf "Per tenth of the storm: rekeys/s (in the order they completed) %s;\n", v["s1"] ", " v["s2"] ", " v["s3"] ", " v["s4"] ", " v["s5"] ", " v["s6"] ", " v["s7"] ", " v["s8"] ", " v["s9"] ", " v["s10"]
		printf "latency p50 (ms, by start) %s; p99 %s; failures %s.\n", v["storm_p50s"], v["storm_p99s"], v["storm_fails"]
		print "No drop in the rate means all four goals above met (the CPU goal at N"
		print "other than 100,000): nothing on the rekey path grows with N."
		print ""
	}' <<<"$1"
}

# B2 runs on its own (bench/large-messages/run.sh); the report links its section.
b2() {
	local q=
	[ $quick = 1 ] && q=--quick
	local goal
	"$top/bench/large-messages/run.sh" $q "$out" || fail=1
	goal=$(grep -m1 '^| separate p95 / UDP' "$out/b2.md" 2>/dev/null | cut -d'|' -f2-4 |
		sed 's/ *| */: /g; s/^ //; s/[: ]*$//')
	{
		echo "## B2: big IKE messages under loss"
		echo
		echo "In [b2.md](b2.md) (with the plot b2.png): ${goal:-no result}."
		echo
	} >>"$report"
	if [ $quick = 0 ] && [ "${B2_VM:-0}" = 1 ]; then
		bench/large-messages/host.sh "$out" || fail=1
	fi
	[ $quick = 0 ] && [ -f "$out/b2vm.md" ] &&
		echo "## B2 (VM part: delay, rate limit, timer sweep): see [b2vm.md](b2vm.md)" >>"$report"
}

# B6: B2 with post-quantum sizes (bench/large-messages/run.sh --pq)
b6() {
	local q= row
	[ $quick = 1 ] && q=--quick
	"$top/bench/large-messages/run.sh" $q --pq "$out" || fail=1
	row=$(grep -m1 '^| 5 |' "$out/b2pq.md" 2>/dev/null | cut -d'|' -f3- |
		awk -F'|' '{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i)
			printf "at 5 %% loss, p50 / p95 ms: UDP best-tuned (retransmit_base %s) %s, TCP %s, separate %s", $1, $2, $4, $6 }')
	{
		echo "## B6: B2 with post-quantum sizes"
		echo
		echo "In [b2pq.md](b2pq.md) (with the plot b2pq.png): ${row:-no result}."
		echo
	} >>"$report"
	if [ $quick = 0 ] && [ "${B6_VM:-0}" = 1 ]; then
		bench/large-messages/host.sh --pq "$out" || fail=1
	fi
	[ $quick = 0 ] && [ -f "$out/b2pq-vm.md" ] &&
		echo "## B6 (VM part: delay, rate limit): see [b2pq-vm.md](b2pq-vm.md)" >>"$report"
}

{
	echo "# tcpike benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`$(for v in B1_N B1_RUNS B1_SWEEP B2_VM B4_VM B5_VM B5_RUNS B6_VM B7_N B7_IDLE_S B7_STORM B7_STORM_WINDOW B7_STORM_ROUNDS; do [ -n "${!v:-}" ] && printf "%s='%s' " "$v" "${!v}"; done)bench/run.sh $*\`"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "- kernel: $(uname -r)"
	# (the report being written here is itself a tracked file)
	echo "- tcpike: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . ':!bench/results' 2>/dev/null || echo ' (modified)')"
	echo "- OpenSSL: $(openssl version 2>/dev/null)"
	echo "- strongSwan: $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo 'not installed')"
	echo "- memory: $(awk '/^MemTotal:/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "- gnuplot: $(gnuplot --version 2>/dev/null || echo 'not installed')"
	echo "- load average at the start (the machine is shared): $(cut -d' ' -f1-3 /proc/loadavg);"
	echo "  this run's scheduler group: $(cat /proc/$$/autogroup 2>/dev/null || echo 'no autogroups')"
	echo
} >"$report"
for b in "${want[@]}"; do
	case $b in
	1) b1 ;;
	2) b2 ;;
	6) b6 ;;
	3) bench/esp-throughput/host.sh "$out" || fail=1
	   [ -f "$out/b3.md" ] && echo "## B3: see [b3.md](b3.md)" >>"$report" ;;
	4) b4
	   if [ $quick = 0 ] && [ "${B4_VM:-1}" = 1 ]; then
		bench/udp-blocked/host.sh "$out" || fail=1
	   fi
	   [ $quick = 0 ] && [ -f "$out/b4vm.md" ] &&
		echo "## B4 (VM part, against Libreswan): see [b4vm.md](b4vm.md)" >>"$report" ;;
	7) for n in ${B7_N:-100000}; do b7 "$n"; done ;;
	5) b5
	   if [ "${B5_VM:-1}" = 1 ]; then
		bench/sa-scale/host.sh "$out" || fail=1
	   fi
	   [ -f "$out/b5vm.md" ] && echo "## B5 (VM part): see [b5vm.md](b5vm.md)" >>"$report" ;;
	*) echo "bench: B$b is not written yet (see the benchmark issue)" | tee -a "$report" ;;
	esac
done
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$report"
echo "bench: report in $report"
exit $fail
