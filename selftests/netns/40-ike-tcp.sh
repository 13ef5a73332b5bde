#!/bin/bash
# IKE over TCP (RFC 9329) and separate transports for IKE and ESP
# (draft-ietf-ipsecme-ikev2-reliable-transport) between two tcpiked
# (backend none) in two namespaces.  What goes over which transport is
# counted with nft counters on b's input, not taken from the daemons' word.
#
#   tcp                 IKE and ESP in one TCP connection, rekeys both ways,
#                       connection killed (ss -K) on each side, cookies
#   separate            SA_INIT on UDP 4500 with the notify, the rest on TCP,
#                       ESP on IP; responder with the extension off; TCP 4500
#                       blocked (RT-7 cancel, RT-8 UDP retry or failure)
#   separate-tcp-first  notify echoed (ESP on IP) and not (RFC 9329, RT-11)
#   auto                UDP blocked: TCP fallback, time reported
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
command -v nft >/dev/null || tap_skip_all "nft not installed"
. "$TOP/selftests/ike.sh"
topo_pair "iket$$" || tap_skip_all "cannot build the namespace pair"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)

# Counters of what reaches b (input) from a, per transport.
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet cnt {
	counter udp500 {}
	counter udp4500 {}
	counter tcp4500 {}
	counter tcp4500syn {}
	chain in {
		type filter hook input priority -10;
		udp dport 500 counter name udp500
		udp dport 4500 counter name udp4500
		tcp dport 4500 tcp flags & (syn|ack) == syn counter name tcp4500syn
		tcp dport 4500 counter name tcp4500
	}
}
NFT
cnt() {
	ip netns exec "$NS_B" nft -j list counter inet cnt "$1" |
		python3 -c "import json,sys; print([o['counter']['packets'] for o in json.load(sys.stdin)['nftables'] if 'counter' in o][0])"
}
cnt_reset() { ip netns exec "$NS_B" nft reset counters table inet cnt >/dev/null; }
# block NS RULE...: drop rule in NS's own table (cleared by unblock NS)
block() {
	local ns=$1; shift
	ip netns exec "$ns" nft -f - <<NFT
table inet blk {
	chain in { type filter hook input priority -20; $* ; }
}
NFT
}
unblock() { ip netns exec "$1" nft delete table inet blk 2>/dev/null; true; }

# up "A conn_extra" "B daemon_extra" [A daemon_extra]: restart both, a initiates
up() {
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a >/dev/null
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b >/dev/null
	ike_conf a "${A_ARGS[@]}" "conn_extra=$1" "daemon_extra=${3:-}"
	ike_conf b "${B_ARGS[@]}" "daemon_extra=${2:-}"
	cnt_reset
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c >/dev/null
}
# both_stop: the pair's clean-exit checks (two TAP lines)
both_stop() { ike_stop a; ike_stop b; }
j() { ike_jq "$@"; }
ike1() { j "$1" "[i for i in s['ike_sas'] if i['state']=='ESTABLISHED'][0]['$2']"; }
child1() { j "$1" "[c for i in s['ike_sas'] if i['state']=='ESTABLISHED' for c in i['children'] if c['state']=='INSTALLED'][0]['$2']"; }
counter() { j "$1" "s['counters']['$2']"; }
rekeyed() {	# rekeyed NAME ike|child N: that many rekeys done and established again
	ike_established "$1" &&
	[ "$(j "$1" "sum(i['rekeys'] for i in s['ike_sas']) if '$2'=='ike' else sum(c['rekeys'] for i in s['ike_sas'] for c in i['children'])")" -ge "$3" ] 2>/dev/null
}
child_rekeys() { j "$1" "sum(c['rekeys'] for i in s['ike_sas'] for c in i['children'])"; }
ike_rekeys() { j "$1" "sum(i['rekeys'] for i in s['ike_sas'])"; }

# --- RFC 9329: IKE and ESP over TCP ------------------------------------------------
up "transport = tcp"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "tcp: IKE and Child SA established"
else
	tap_fail "tcp: IKE and Child SA established"; ike_log a; ike_log b
fi
tap_check "tcp: both ends see IKE on TCP with ESP in the stream (RFC 9329)" \
	test "$(ike1 a transport) $(ike1 a esp_in_tcp) $(ike1 b transport) $(ike1 b esp_in_tcp) $(child1 a esp_transport) $(child1 b esp_transport)" = "tcp True tcp True tcp tcp"
# Least privilege: only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (bits 12, 10)
# stay, in the bounding set too, and no_new_privs is set.
caps() { awk '/^CapEff|^CapPrm|^CapBnd|^NoNewPrivs/{printf "%s%s ", $1, $2}' "/proc/${IKE_PID[a]}/status"; }
tap_expect_eq "tcpiked runs with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only, no_new_privs" \
	"CapPrm:0000000000001400 CapEff:0000000000001400 CapBnd:0000000000001400 NoNewPrivs:1 " "$(caps)"
tap_check "tcp: a is the TCP originator, b is not" \
	test "$(ike1 a tcp_originator) $(ike1 b tcp_originator)" = "True False"
tap_check "tcp: b's TCP 4500 saw the exchange and no UDP IKE at all" \
	test "$(cnt tcp4500)" -gt 0 -a "$(cnt udp500)" = 0 -a "$(cnt udp4500)" = 0
syn0=$(cnt tcp4500syn)
tap_check "tcp: one TCP connection for the IKE SA" test "$syn0" = 1
# Rekeys both ways stay on the connection (RT-12/TCP-22), no UDP.
ike_ctl a rekey c child >/dev/null
wait_for 10 rekeyed a child 1
ike_ctl b rekey c child >/dev/null
wait_for 10 rekeyed b child 2
ike_ctl a rekey c ike >/dev/null
wait_for 10 rekeyed a ike 1
ike_ctl b rekey c ike >/dev/null
if wait_for 10 rekeyed b ike 2 && wait_for 5 ike_established a; then
	tap_ok "tcp: Child SA and IKE SA rekeyed by each side"
else
	tap_fail "tcp: Child SA and IKE SA rekeyed by each side" \
		"child rekeys a=$(child_rekeys a) b=$(child_rekeys b), ike rekeys a=$(ike_rekeys a) b=$(ike_rekeys b)"
	ike_log a; ike_log b
fi
tap_check "tcp: after the rekeys a is still the TCP originator, still one connection, no UDP" \
	test "$(ike1 a tcp_originator) $(cnt tcp4500syn) $(cnt udp500) $(cnt udp4500)" = "True 1 0 0"
tap_check "tcp: retransmissions over TCP: none" test "$(counter a retransmits)" = 0

# The connection dies under the SAs: killed on a (the originator) ...
ip netns exec "$NS_A" ss -K dst 10.0.0.2 dport = 4500 >/dev/null 2>&1
syns_ge() { test "$(cnt tcp4500syn)" -ge "$1"; }
if wait_for 10 syns_ge 2; then
	tap_ok "tcp: connection killed on the originator: it reconnects (TCP-19)"
else
	tap_fail "tcp: connection killed on the originator: it reconnects (TCP-19)"
	ike_log a
fi
tap_check "tcp: the IKE SA survived the lost connection" ike_established a
n=$(child_rekeys b)
more_rekeys() { test "$(child_rekeys b)" -gt "$n"; }
ike_ctl b rekey c child >/dev/null
tap_check "tcp: b (not the originator) rekeys over the new connection" \
	wait_for 10 more_rekeys
# ... and on b: only a reconnects; b's next request goes out once a is back.
ip netns exec "$NS_B" ss -K src 10.0.0.2 sport = 4500 >/dev/null 2>&1
if wait_for 10 syns_ge 3; then
	tap_ok "tcp: connection killed on the responder: the originator reconnects"
else
	tap_fail "tcp: connection killed on the responder: the originator reconnects"
	ike_log a; ike_log b
fi
c0=$(child_rekeys b)
ike_ctl b rekey c child >/dev/null
ok_rekey() { test "$(child_rekeys b)" -gt "$c0"; }
tap_check "tcp: b's rekey after the reconnect completes on the new connection" \
	wait_for 10 ok_rekey
tap_check "tcp: a counted its reconnects" test "$(counter a tcp_reconnects)" -ge 2
both_stop

# --- cookies over TCP (TCP-29: cookie request, then a new connection) -------------------
up "transport = tcp" "cookie_threshold = 0"
if wait_for 10 ike_established a; then
	tap_ok "tcp: established through a cookie exchange"
else
	tap_fail "tcp: established through a cookie exchange"; ike_log a; ike_log b
fi
tap_check "tcp: b sent a cookie and a retried on a second connection" \
	test "$(counter b cookies_sent) $(cnt tcp4500syn)" = "1 2"
tap_check "tcp: the cookie came with an RFC 8019 puzzle, a solved it (TCP-29)" \
	test "$(counter b puzzles_sent) $(counter b puzzles_solved) $(counter b puzzles_bad)" = "1 1 0"
both_stop

# --- a second listening port (TCP-3): b on 4500 and 443, a connects to 443 ---------
up "transport = tcp;tcp_port = 443" "tcp_ports = 4500, 443"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "tcp: b listens on 4500 and 443; a's IKE SA over TCP 443 is established (TCP-3)"
else
	tap_fail "tcp: b listens on 4500 and 443; a's IKE SA over TCP 443 is established (TCP-3)"
	ike_log a; ike_log b
fi
tap_check "tcp: the IKE SA's remote port at a is 443" test "$(ike1 a remote_port)" = 443
ike_stop a
b_empty() { test "$(ike_count b)" = 0; }
tap_check "tcp: a stopped, its Delete went out over TCP before the close: b has no IKE SA left" \
	wait_for 5 b_empty
tap_check "tcp: b logged the peer's Delete" grep -q "deleted by the peer" "$IKE_DIR/b.log"
ike_stop b

# --- INVALID_KE_PAYLOAD over TCP (TCP-30): b keeps the connection, a retries on it ---
a_saved=("${A_ARGS[@]}")
A_ARGS+=(proposals=aes256gcm16-prfsha256-ecp256-x25519)
up "transport = tcp"
A_ARGS=("${a_saved[@]}")
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "tcp: INVALID_KE_PAYLOAD over TCP, a retried with b's group and is established"
else
	tap_fail "tcp: INVALID_KE_PAYLOAD over TCP, a retried with b's group and is established"
	ike_log a; ike_log b
fi
tap_check "tcp: one INVALID_KE_PAYLOAD, the retry on the same connection (one SYN) (TCP-30)" \
	test "$(counter b invalid_ke_sent) $(cnt tcp4500syn)" = "1 1"
both_stop

# --- separate transports, UDP first ---------------------------------------------------
up "transport = separate"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "separate: IKE and Child SA established"
else
	tap_fail "separate: IKE and Child SA established"; ike_log a; ike_log b
fi
tap_check "separate: negotiated on both ends, IKE now on TCP, ESP on IP (no NAT)" \
	test "$(ike1 a separate) $(ike1 b separate) $(ike1 a transport) $(ike1 b transport) $(child1 a esp_transport) $(child1 b esp_transport)" = "True True tcp tcp raw raw"
tap_check "separate: IKE_SA_INIT went to UDP 4500 (RT-1), nothing to UDP 500" \
	test "$(cnt udp4500)" = 1 -a "$(cnt udp500)" = 0
tap_check "separate: IKE_AUTH came over TCP 4500 (RT-4)" test "$(cnt tcp4500syn)" = 1
u0=$(cnt udp4500)
ike_ctl a rekey c child >/dev/null
wait_for 10 rekeyed a child 1
ike_ctl b rekey c ike >/dev/null
if wait_for 10 rekeyed b ike 1 && wait_for 5 ike_established a; then
	tap_ok "separate: Child and IKE SA rekeys"
else
	tap_fail "separate: Child and IKE SA rekeys"; ike_log a; ike_log b
fi
tap_check "separate: rekeys ran over TCP, no IKE on UDP after IKE_SA_INIT (RT-12)" \
	test "$(cnt udp4500)" = "$u0" -a "$(cnt udp500)" = 0
tap_check "separate: the new IKE SA is still separate on TCP" \
	test "$(ike1 a separate) $(ike1 a transport)" = "True tcp"
both_stop

# The responder does not do it: no echo (RT-3 negative), plain IKE on UDP 4500.
up "transport = separate" "separate_transports = no"
if wait_for 10 ike_established a; then
	tap_ok "separate, responder without the extension: established over UDP"
else
	tap_fail "separate, responder without the extension: established over UDP"; ike_log a; ike_log b
fi
tap_check "separate, responder without the extension: no echo, IKE stays on UDP, no TCP" \
	test "$(ike1 a separate) $(ike1 a transport) $(cnt tcp4500)" = "False udp-natt 0"
both_stop

# TCP 4500 blocked after the UDP IKE_SA_INIT: RT-7 cancel, RT-8 retry on UDP.
block "$NS_B" "tcp dport 4500 reject with tcp reset"
up "transport = separate"
if wait_for 10 ike_established a; then
	tap_ok "separate, TCP blocked: established over UDP without the notify (RT-8)"
else
	tap_fail "separate, TCP blocked: established over UDP without the notify (RT-8)"
	ike_log a; ike_log b
fi
tap_check "separate, TCP blocked: the first attempt was cancelled (RT-7)" \
	test "$(counter a separate_tcp_failed) $(ike1 a separate) $(ike1 a transport)" = "1 False udp"
tap_check "separate, TCP blocked: no IKE_AUTH went over UDP for the cancelled SA" \
	grep -q "TCP port 4500 unreachable" "$IKE_DIR/a.log"
both_stop
up "transport = separate;udp_retry_without_separate = no"
sleep 3
tap_check "separate, TCP blocked, no UDP retry: no SA, one failure counted" \
	test "$(ike_count a) $(counter a ike_failed)" = "0 1"
both_stop
unblock "$NS_B"

# --- separate transports, TCP first (RT-9..11) ------------------------------------------
up "transport = separate-tcp-first"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "separate-tcp-first: established"
else
	tap_fail "separate-tcp-first: established"; ike_log a; ike_log b
fi
tap_check "separate-tcp-first: notify echoed, IKE on TCP, ESP on IP, no UDP IKE" \
	test "$(ike1 a separate) $(ike1 b separate) $(child1 a esp_transport) $(cnt udp500) $(cnt udp4500)" = "True True raw 0 0"
both_stop
up "transport = separate-tcp-first" "separate_transports = no"
if wait_for 10 ike_established a; then
	tap_ok "separate-tcp-first, no echo: established"
else
	tap_fail "separate-tcp-first, no echo: established"; ike_log a; ike_log b
fi
tap_check "separate-tcp-first, no echo: plain RFC 9329, ESP in the stream (RT-11)" \
	test "$(ike1 a separate) $(ike1 a esp_in_tcp) $(child1 a esp_transport) $(child1 b esp_transport)" = "False True tcp tcp"
both_stop

# --- auto: UDP blocked, TCP fallback ---------------------------------------------------
block "$NS_B" "udp dport { 500, 4500 } drop"
t0=$(date +%s%N)
up "transport = auto;tcp_fallback_delay = 500ms"
if wait_for 10 ike_established a; then
	t1=$(date +%s%N)
	tap_ok "auto, UDP blocked: established over TCP"
	tap_diag "initiate to established: $(( (t1 - t0) / 1000000 )) ms including daemon start (a diagnostic, not asserted; make bench B=4 measures it)"
else
	tap_fail "auto, UDP blocked: established over TCP"; ike_log a; ike_log b
fi
tap_check "auto, UDP blocked: a shows the fallback, IKE and ESP on TCP" \
	test "$(ike1 a tcp_fallback) $(ike1 a transport) $(child1 a esp_transport) $(counter a tcp_fallbacks)" = "True tcp tcp 1"
both_stop
up "transport = separate;tcp_fallback_delay = 500ms"
if wait_for 10 ike_established a; then
	tap_ok "separate, UDP blocked: established over TCP"
else
	tap_fail "separate, UDP blocked: established over TCP"; ike_log a; ike_log b
fi
tap_check "separate, UDP blocked: fell back to separate-tcp-first (RT-9), ESP on IP" \
	test "$(ike1 a tcp_fallback) $(ike1 a xport_mode) $(ike1 a separate) $(child1 a esp_transport)" = "True separate-tcp-first True raw"
both_stop
unblock "$NS_B"
up "transport = auto"
wait_for 10 ike_established a
tap_check "auto, UDP open: stays on UDP, no fallback" \
	test "$(ike1 a transport) $(ike1 a tcp_fallback) $(cnt tcp4500)" = "udp False 0"
both_stop

# --- TCP blocked in tcp mode: a clear failure -------------------------------------------
block "$NS_B" "tcp dport 4500 reject with tcp reset"
up "transport = tcp"
sleep 2
tap_check "tcp, TCP blocked: no SA and the failure is logged" \
	sh -c "test '$(ike_count a)' = 0 && grep -q 'cannot reach the peer over TCP port 4500' '$IKE_DIR/a.log'"
both_stop
unblock "$NS_B"
tap_done
