#!/bin/bash
# Denial of service: tcpiked (under ASan) as responder while four floods
# run at once from two other addresses of the initiator's namespace:
#   UDP half-open flood     tools/ike-flood, 4000 IKE_SA_INIT, cookies ignored
#   TCP half-open flood     100 connections, IKETCP + IKE_SA_INIT each
#   slow-prefix flood       100 connections sending "IKE" and stalling, from
#                           the legitimate peer's own address (tcp_per_ip 40:
#                           the oldest unproven connection makes room)
#   garbage-stream flood    200 connections of random bytes
# Bounds asserted: a legitimate tcpiked peer (IKE over TCP) establishes its
# IKE and Child SA within 15 s of initiating; b's VmRSS stays under 96 MB
# (ASan included; about 20 MB idle); half-open SAs stay at the cookie
# threshold; every flood connection is closed by the limits.  Then the
# global limits alone: tcp_max with three sources, half_open_max with two
# sources returning their cookies.  Then the plain build (build/tcpiked,
# `make userspace`: ASan's RSS says little) at the default limits: under
# 96 MB during the floods and back within 512 kB of its RSS before them a
# few seconds after (malloc_trim after a burst).  netns/57 drives the plain
# build to the default limits themselves.  Bounded: about 60 s, 9000
# packets.
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
[ -x "$BIN/tools/ike-flood" ] || tap_skip_all "$BIN/tools/ike-flood not built (make asan)"
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ikd$$" || tap_skip_all "cannot build the namespace pair"
for a in 10.0.0.3 10.0.0.4 10.0.0.5; do ip -n "$NS_A" addr add $a/24 dev va; done
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8

RSS_MAX_KB=$((96 * 1024))
PLAIN=${PLAIN:-$TOP/build}	# make userspace (scripts/check builds it with asan)
EST_MAX_S=15
LIMITS="cookie_threshold = 10;half_open_per_ip = 40;half_open_max = 60"
LIMITS+=";tcp_max = 100;tcp_per_ip = 40;tcp_prefix_timeout = 1s;tcp_idle_timeout = 2s"
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	"conn_extra=transport = tcp"
ike_conf b local=10.0.0.2 "remote=10.0.0.1, 10.0.0.3, 10.0.0.4, 10.0.0.5" \
	lts=192.168.2.0/24 rts=192.168.1.0/24 "daemon_extra=$LIMITS"
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"

st() { local src=$1; shift; ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" --src "$src" 10.0.0.2 4500 "$@"; }
tcpc() { ike_tcp b "$1"; }
rss() { ike_rss b; }
sample() { ike_sample b "$1"; }
sample_end() { ike_sample_end "$1" b "$2"; }
F=$IKE_DIR/flood

# --- all four floods at once, a legitimate peer in the middle -----------------------
r0=$(rss) pto0=$(tcpc prefix_timeout) rpi0=$(( $(tcpc refused_per_ip) + $(tcpc evicted_per_ip) ))
sample "$F" & sampler=$!
ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src 10.0.0.3 \
	--count 4000 --rate 800 --sockets 128 --wait 2 >"$F.udp" 2>&1 & p_udp=$!
st 10.0.0.3 inits:100:dos >"$F.inits" 2>&1 & p_inits=$!
st 10.0.0.1 slow:100:6 >"$F.slow" 2>&1 & p_slow=$!	# a's own address
st 10.0.0.4 garbage:200:48 >"$F.garbage" 2>&1 & p_garbage=$!
sleep 1
t0=$(date +%s.%N)
ike_ctl a initiate c --no-wait >/dev/null
if wait_for $EST_MAX_S ike_established a && wait_for 2 ike_established b; then
	t1=$(date +%s.%N)
	tap_ok "legitimate peer over TCP established during the floods in $(echo "scale=1; ($t1 - $t0) / 1" | bc) s (bound ${EST_MAX_S} s)"
else
	tap_fail "legitimate peer over TCP established during the floods within ${EST_MAX_S} s"; ike_log a; ike_log b
fi
tap_check "the UDP flood was still running when a's SA was up" kill -0 $p_udp
wait $p_udp; rc_udp=$?
wait $p_inits $p_slow; wait $p_garbage; rc_garbage=$?
sample_end $sampler "$F"
tap_diag "udp: $(cat "$F.udp")"
tap_diag "tcp inits: $(cat "$F.inits"); slow: $(cat "$F.slow"); garbage: $(cat "$F.garbage")"
tap_diag "b VmRSS before $r0 kB, max $(max_of "$F.rss") kB; half-open max $(max_of "$F.ho")"
tap_check "ike-flood sent its 4000 requests (rc $rc_udp)" test "$rc_udp" = 0
tap_check "b's VmRSS stayed under $((RSS_MAX_KB / 1024)) MB during the floods (max $(max_of "$F.rss") kB)" \
	test -s "$F.rss" -a "$(max_of "$F.rss")" -lt $RSS_MAX_KB
tap_check "half-open SAs stayed at the cookie threshold (max $(max_of "$F.ho") <= 10 + 1)" \
	test -s "$F.ho" -a "$(max_of "$F.ho")" -le 11
n=$(sed -n 's/^answered \([0-9]*\) cookies \([0-9]*\) closed \([0-9]*\) of 100$/\1 \2 \3/p' "$F.inits")
set -- $n
tap_check "TCP half-open flood: every connection answered with a cookie or refused ($n)" \
	test -n "$n" -a "$(( $2 + $3 ))" -ge 100 -a "$1" -le $(( $2 + 11 ))
rpi=$(( $(tcpc refused_per_ip) + $(tcpc evicted_per_ip) - rpi0 ))
# The slow flood's 100 stalled connections from one address meet
# tcp_per_ip = 40 while they are opened; how many are displaced depends on
# how fast they open against the 1 s prefix timeout, which frees places
# too (about 60 on an idle machine, 86 and 52 seen under load).  At least
# 20: without the limit there are none.  (netns/41 checks the bound
# itself connection by connection.)
tap_check "TCP floods held to tcp_per_ip = 40 (refused or displaced: $rpi)" test "$rpi" -ge 20
n=$(sed -n 's/^closed \([0-9]*\) of 100, refused \([0-9]*\), last close after \([0-9.]*\) s$/\1 \2 \3/p' "$F.slow")
set -- $n
tap_check "slow-prefix flood: all 100 closed, the last after $3 s (tcp_prefix_timeout 1 s, bound 4 s)" \
	test -n "$n" -a "$(( $1 + $2 ))" = 100 && awk "BEGIN { exit !($3 <= 4) }"
tap_check "slow-prefix flood: prefix timeouts counted ($(( $(tcpc prefix_timeout) - pto0 )))" \
	test "$(( $(tcpc prefix_timeout) - pto0 ))" -ge 1
tap_check "garbage-stream flood: every connection closed by b" test "$rc_garbage" = 0
conns_le1() { [ "$(tcpc connections)" -le 1 ]; }
tap_check "after the floods: only a's connection left in b" wait_for 5 conns_le1
tap_check "a's IKE SA is still up" ike_established a

# --- tcp_max: three sources of 40 against a global 100 -------------------------------
rg0=$(( $(tcpc refused_global) + $(tcpc evicted_global) ))
pids=()
for a in 10.0.0.3 10.0.0.4 10.0.0.5; do st $a hold:40 >"$F.hold.$a" 2>&1 & pids+=($!); done
wait "${pids[@]}"
open=$(cat "$F.hold."* | tr ' ' '\n' | grep -c '^open$')
rg=$(( $(tcpc refused_global) + $(tcpc evicted_global) - rg0 ))
tap_diag "hold: $open of 120 connections stayed open; refused or displaced by tcp_max: $rg"
tap_check "tcp_max = 100: at most 99 flood connections open beside a's ($open)" test "$open" -le 99 -a "$open" -ge 80
tap_check "tcp_max: refusals and displacements counted ($rg)" test "$rg" -ge 21
tap_check "b logged the global connection limit" grep -q "(tcp_max)" "$IKE_DIR/b.log"
tap_check "a's connection, proven by its IKE SA, was not displaced" ike_established a

# --- half_open_max: two sources returning cookies, 40 each allowed, 60 in all --------
sample "$F.2" & sampler=$!
pids=()
for a in 10.0.0.3 10.0.0.4; do
	ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src $a --count 500 \
		--rate 400 --sockets 64 --wait 2 --answer-cookies >"$F.ac.$a" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
sample_end $sampler "$F.2"
tap_diag "half-open max with two cookie-returning sources: $(max_of "$F.2.ho")"
tap_check "half_open_max = 60 binds (max $(max_of "$F.2.ho"): above one source's 40, at most 60)" \
	test "$(max_of "$F.2.ho")" -gt 40 -a "$(max_of "$F.2.ho")" -le 60
tap_check "b's VmRSS still under $((RSS_MAX_KB / 1024)) MB ($(max_of "$F.2.rss") kB)" \
	test "$(max_of "$F.2.rss")" -lt $RSS_MAX_KB
tap_check "a's IKE SA survived every flood" ike_established a
ike_stop b
ike_stop a

# --- the plain build at the default limits: the bound, and memory given back ----------
# ASan's allocator keeps what is freed (its quarantine) and says little about
# RSS; the build that is installed does.  b runs it with the default limits
# (cookie_threshold 50, half_open_per_ip 100, tcp_per_ip 50, tcp_prefix_timeout
# 5 s) against the four floods above at once, and a fifth: three sources each
# holding 45 connections (under tcp_per_ip) with 40 KB of a 60 KB frame in
# flight, about 9 MB of stream buffers, for 2 s.  Its VmRSS stays under the
# bound, grows by the held buffers, and is back within RSS_BACK_KB of what it
# was before once the flood connections are gone (without malloc_trim after
# the connection burst, 4 MB stayed).
RSS_BACK_KB=512
if [ -x "$PLAIN/tcpiked" ]; then
	for a in 10.0.0.6 10.0.0.7 10.0.0.8; do ip -n "$NS_A" addr add $a/24 dev va; done
	ike_conf b local=10.0.0.2 "remote=10.0.0.1, 10.0.0.3, 10.0.0.4, 10.0.0.5" \
		lts=192.168.2.0/24 rts=192.168.1.0/24
	BIN=$PLAIN ike_start "$NS_B" b || tap_fail "the plain tcpiked starts"
	part=EA6600000000$(head -c 40000 /dev/zero | od -An -v -tx1 | tr -d ' \n')
	# A little of each flood first: the code and the caches they touch
	# once (library pages, OpenSSL's) stay, and are not what is measured.
	ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src 10.0.0.3 \
		--count 200 --rate 800 --sockets 16 --wait 1 >/dev/null 2>&1
	st 10.0.0.3 inits:10:warm >/dev/null 2>&1
	st 10.0.0.4 garbage:20:50 >/dev/null 2>&1
	st 10.0.0.6 hold:5:$part:0.5 >/dev/null 2>&1
	sleep 1.5
	p0=$(rss)
	sample "$F.3" & sampler=$!
	pids=()
	ip netns exec "$NS_A" "$BIN/tools/ike-flood" --dst 10.0.0.2 --src 10.0.0.3 \
		--count 4000 --rate 800 --sockets 128 --wait 1 >"$F.3.udp" 2>&1 & pids+=($!)
	st 10.0.0.3 inits:100:dos3 >"$F.3.inits" 2>&1 & pids+=($!)
	st 10.0.0.5 slow:100:7 >"$F.3.slow" 2>&1 & pids+=($!)
	st 10.0.0.4 garbage:200:49 >"$F.3.garbage" 2>&1 & pids+=($!)
	for a in 10.0.0.6 10.0.0.7 10.0.0.8; do
		st $a hold:45:$part:2 >"$F.3.hold.$a" 2>&1 & pids+=($!)
	done
	wait "${pids[@]}"
	sample_end $sampler "$F.3"
	conns_0() { [ "$(tcpc connections)" = 0 ]; }
	wait_for 5 conns_0
	back() { [ "$(rss)" -le $((p0 + RSS_BACK_KB)) ]; }
	wait_for 5 back
	p1=$(rss)
	tap_diag "plain b VmRSS before $p0 kB, max $(max_of "$F.3.rss") kB, after $p1 kB; half-open max $(max_of "$F.3.ho"); memory trims $(ike_jq b "s['counters']['memory_trims']")"
	tap_check "plain build: b's VmRSS stayed under $((RSS_MAX_KB / 1024)) MB during the floods (max $(max_of "$F.3.rss") kB)" \
		test -s "$F.3.rss" -a "$(max_of "$F.3.rss")" -lt $RSS_MAX_KB
	tap_check "plain build: the floods held memory (max $(max_of "$F.3.rss") kB, at least 2 MB over $p0 kB)" \
		test "$(max_of "$F.3.rss")" -ge $((p0 + 2048))
	tap_check "plain build: b's VmRSS back within $RSS_BACK_KB kB of $p0 kB after the floods ($p1 kB)" \
		test "$p1" -le $((p0 + RSS_BACK_KB))
	ike_stop b
else
	tap_fail "plain build: $PLAIN/tcpiked not built (make userspace)"
fi
tap_done
