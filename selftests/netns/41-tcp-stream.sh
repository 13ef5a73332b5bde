#!/bin/bash
# RFC 9329 stream handling of a live tcpiked responder (backend none),
# driven by crafted TCP streams from selftests/ikestream.py in a second
# namespace.  Outcomes are read from the socket (answer, quiet, closed) and
# from the daemon's own TCP counters (`tcpikectl status --json`, "tcp").
#
#   prefix split byte by byte, then IKE_SA_INIT answered (TCP-17)
#   wrong prefix and slow prefix closed (TCP-17, tcp_prefix_timeout)
#   Length 0 and 1 close (TCP-9), Length 2 ignored (TCP-8),
#   00 03 FF dropped silently (TCP-32), frame over max_ike_message closes;
#   UDP datagrams over max_ike_message dropped and counted (status "udp")
#   retransmitted IKE_SA_INIT on a new connection answered there (TCP-28);
#   the same message without the prefix never delivered (TCP-24)
#   random garbage streams: all closed, daemon answers, memory bounded
#   per-address connection limit (tcp_per_ip): the oldest unproven one goes
#   N(SEPARATE_TRANSPORTS) with data echoed without it (RT-3, RT-13, RT-14)
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
. "$TOP/selftests/ike.sh"
topo_pair "iks$$" || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" addr add 10.0.0.3/24 dev va

# ASan's quarantine keeps freed memory for a while; a small one lets VmRSS
# show what the daemon really holds after the garbage connections.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8

B_ARGS=(local=10.0.0.2 "remote=10.0.0.1, 10.0.0.3" lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)
# b with the limits under test: prefix 1 s, no message 2 s, 1280-byte
# messages, 300 connections from one address.
start_b() {
	ike_conf b "${B_ARGS[@]}" \
		"daemon_extra=tcp_prefix_timeout = 1s;tcp_idle_timeout = 2s;max_ike_message = 1280;tcp_per_ip = ${1:-300}"
	ike_start "$NS_B" b
}
start_b || tap_skip_all "tcpiked did not start"

# st [--src ADDR] ACTION...: one ikestream.py run from a against b's TCP 4500
st() {
	local src=()
	[ "$1" = --src ] && { src=(--src "$2"); shift 2; }
	ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" "${src[@]}" \
		10.0.0.2 4500 "$@"
}
# st_run "description" ACTION...: one connection from a; ok when every
# expectation of ACTIONs held
st_run() {
	local desc=$1 out
	shift
	if out=$(st "$@" 2>&1); then
		tap_ok "$desc"
	else
		tap_fail "$desc" "ikestream: $*"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
	fi
}
tcpc() { ike_jq b "s['tcp']['$1']"; }
# delta NAME BEFORE: how much counter NAME grew since BEFORE
delta() { echo $(( $(tcpc "$1") - $2 )); }
conns_zero() { test "$(tcpc connections)" = 0; }

tap_check "status JSON carries the TCP counters" \
	test "$(tcpc accepted) $(tcpc connections)" = "0 0"

# --- prefix (RFC 9329 §4, §6.1: TCP-11, TCP-17) -----------------------------------
i0=$(tcpc frames_ike)
st_run "prefix one byte per segment, then IKE_SA_INIT: answered on the connection" \
	prefix-slow init:split expect-init-resp:3
tap_check "the daemon counted one accepted connection and one IKE frame" \
	test "$(tcpc accepted) $(delta frames_ike "$i0")" = "1 1"

b0=$(tcpc bad_prefix) i0=$(tcpc frames_ike)
st_run "wrong prefix (IKETCX): closed at once, no answer" \
	raw:494b45544358 init:wrong expect-close:1
tap_check "wrong prefix: counted as bad_prefix, nothing delivered" \
	test "$(delta bad_prefix "$b0") $(delta frames_ike "$i0")" = "1 0"

p0=$(tcpc prefix_timeout)
st_run "slow prefix (IKE, then nothing): open for 0.5 s, closed by the 1 s tcp_prefix_timeout" \
	raw:494b45 expect-open:0.5 expect-close:2
tap_check "slow prefix: counted as prefix_timeout" test "$(delta prefix_timeout "$p0")" = 1

# --- Length field (RFC 9329 §3: TCP-8, TCP-9) ---------------------------------------
l0=$(tcpc bad_length)
st_run "Length 0 after the prefix: connection closed" prefix raw:0000 expect-close:1
st_run "Length 1 after the prefix: connection closed" prefix raw:0001 expect-close:1
tap_check "Length 0 and 1: two bad_length closes" test "$(delta bad_length "$l0")" = 2

e0=$(tcpc frames_empty)
st_run "Length 2 (empty message): ignored, connection stays, next IKE_SA_INIT answered" \
	prefix raw:0002 raw:00020002 expect-open:0.5 init:empty expect-init-resp:3
tap_check "Length 2: three empty frames counted" test "$(delta frames_empty "$e0")" = 3

k0=$(tcpc keepalives) l0=$(tcpc bad_length)
st_run "NAT-keepalive frame 00 03 FF: dropped silently, connection stays, IKE_SA_INIT answered" \
	prefix raw:0003ff expect-open:0.5 init:keepalive expect-init-resp:3
tap_check "00 03 FF: counted as keepalive, not as a bad length" \
	test "$(delta keepalives "$k0") $(delta bad_length "$l0")" = "1 0"

# A frame over max_ike_message (1280) closes the connection (logged), its
# body never buffered; the next connection is served as usual.
o0=$(tcpc oversized) i0=$(tcpc frames_ike) l0=$(tcpc bad_length)
st_run "IKE frame of 4000 bytes over max_ike_message: connection closed, nothing answered" \
	prefix big:4000 expect-close:3
tap_check "oversized frame: counted as oversized (not bad_length), not delivered" \
	test "$(delta oversized "$o0") $(delta frames_ike "$i0") $(delta bad_length "$l0")" = "1 0 0"
tap_check "oversized frame: the close is logged" \
	grep -q "closing: IKE message over max_ike_message" "$IKE_DIR/b.log"
st_run "after the oversized frame: a new connection's IKE_SA_INIT is answered" \
	prefix init:afterbig expect-init-resp:3

# The same limit over UDP (udp status counters): a datagram one byte over
# max_ike_message is dropped as oversize on 500; on 4500 the receive buffer
# holds the non-ESP marker plus max_ike_message, so a message one byte over
# is already a truncated datagram, as is a 3000-byte one on 500.  None
# reaches the engine, none is answered.
udpc() { ike_jq b "s['udp']['$1']"; }
# udp_send PORT LENGTH MARKER: one datagram of LENGTH bytes from a to b
udp_send() {
	ip netns exec "$NS_A" python3 -c '
import socket, sys
port, n, marker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
d = (b"\0" * 4 if marker else b"") + b"\x11" * (n - (4 if marker else 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(d, ("10.0.0.2", port))
s.settimeout(1)
try:
    s.recv(65535)
    sys.exit("answered")
except socket.timeout:
    pass' "$@"
}
# Fragment bursts must not overflow the receive buffer: 4 MB (the kernel
# reports twice what was set), forced past rmem_max.
rb=$(ip netns exec "$NS_B" ss -uamn 'sport = :500' | sed -n 's/.*skmem:(r[0-9]*,rb\([0-9]*\),.*/\1/p' | head -n 1)
tap_check "UDP 500: receive buffer of 4 MB (rb $rb)" test "${rb:-0}" -ge 8388608
o0=$(udpc drop_oversize) t0=$(udpc drop_truncated) rx0=$(ike_jq b "s['counters']['rx']")
tap_check "UDP 500: a 1281-byte datagram (max_ike_message 1280) is not answered" udp_send 500 1281 0
tap_check "UDP 4500: a 1285-byte datagram (marker + 1281) is not answered" udp_send 4500 1285 1
tap_check "UDP 500: a 3000-byte datagram is not answered" udp_send 500 3000 0
tap_check "UDP: one oversize and two truncated drops counted, nothing reached the engine" \
	test "$(( $(udpc drop_oversize) - o0 )) $(( $(udpc drop_truncated) - t0 )) $(( $(ike_jq b "s['counters']['rx']") - rx0 ))" = "1 2 0"

# A frame that looks like IKE (zero marker) but is no IKE message creates
# no SA: the connection is still closed by tcp_idle_timeout (2 s), so a
# client cannot hold connections open with it (RFC 9329 §6.1, TCP-18).
d0=$(tcpc idle_timeout)
st_run "IKE-marked frame that is not an IKE message: connection still closed by tcp_idle_timeout" \
	prefix raw:000a000000006a756e6b expect-open:1 expect-close:3
tap_check "IKE-marked junk: counted as idle_timeout" test "$(delta idle_timeout "$d0")" = 1

# --- SEPARATE_TRANSPORTS over TCP from a crafted initiator (RT-3, RT-13, RT-14) ------
n0=$(ike_jq b "s['counters']['separate_negotiated']")
st_run "IKE_SA_INIT with N(SEPARATE_TRANSPORTS) carrying 4 data bytes: echoed with protocol 0, no SPI, no data" \
	prefix init-notify:sep:49152 expect-init-resp:3 expect-notify:49152
tap_check "the data was ignored and separate transports negotiated" \
	test "$(( $(ike_jq b "s['counters']['separate_negotiated']") - n0 ))" = 1
st_run "IKE_SA_INIT without the notify: none in the response" \
	prefix init:plain expect-init-resp:3 expect-no-notify:49152

# --- one live (half-open) SA: retransmission and the prefix (TCP-28, TCP-24) --------
if out=$(st prefix init:live expect-init-resp:3 2>&1); then
	spi1=$(printf '%s\n' "$out" | sed -n 's/^spi_r //p')
	tap_ok "IKE_SA_INIT on a first connection creates a half-open SA"
	tap_diag "SPIr $spi1"
else
	spi1=; tap_fail "IKE_SA_INIT on a first connection creates a half-open SA" "$out"
fi
out=$(st prefix init:live expect-init-resp:3 2>&1)
spi2=$(printf '%s\n' "$out" | sed -n 's/^spi_r //p')
tap_check "the same request on a new connection (first one closed): the cached response comes back on it (TCP-28)" \
	test -n "$spi1" -a "$spi1" = "$spi2"
i0=$(tcpc frames_ike) b0=$(tcpc bad_prefix) rx0=$(ike_jq b "s['counters']['rx']")
st_run "the same request on a connection without IKETCP: closed, no answer (TCP-24)" \
	init:live expect-close:1
tap_check "without IKETCP: not delivered to the engine (frames_ike, rx unchanged; bad_prefix +1)" \
	test "$(delta frames_ike "$i0") $(( $(ike_jq b "s['counters']['rx']") - rx0 )) $(delta bad_prefix "$b0")" = "0 0 1"

# --- random garbage: closed, daemon alive, memory bounded ---------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/${IKE_PID[b]}/status"; }
c0=$(tcpc closed)
st_run "100 random garbage streams (warm-up): every one closed by the daemon" garbage:100:warm
r0=$(rss)
st_run "300 more random garbage streams: every one closed by the daemon" garbage:300:more
r1=$(rss)
tap_check "after the garbage: no connection left open in the daemon" wait_for 5 conns_zero
tap_check "after the garbage: 400 more closes counted" \
	test "$(delta closed "$c0")" -ge 400
tap_diag "VmRSS after warm-up ${r0} kB, after 300 more ${r1} kB"
tap_check "VmRSS grew by less than 4 MB over 300 garbage connections" \
	test $(( r1 - r0 )) -lt 4096
st_run "after the garbage: the daemon still answers IKE_SA_INIT" \
	prefix init:after expect-init-resp:3
tap_check "after the garbage: b's process is alive" kill -0 "${IKE_PID[b]}"
ike_stop b

# --- per-address connection limit ----------------------------------------------------
start_b 3 || tap_fail "tcpiked restarted with tcp_per_ip = 3"
out=$(st hold:4 2>&1)
tap_expect_eq "tcp_per_ip = 3: the fourth connection from 10.0.0.1 closed the oldest (no IKE SA on it)" \
	"closed open open open" "$out"
tap_check "tcp_per_ip: one displacement counted, no refusal" \
	test "$(tcpc evicted_per_ip) $(tcpc refused_per_ip)" = "1 0"
out=$(st --src 10.0.0.3 hold:3 2>&1)
tap_expect_eq "tcp_per_ip: another address gets its own three" "open open open" "$out"
ike_stop b
tap_done
