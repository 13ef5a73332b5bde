#!/bin/bash
# What a stopping tcpiked (SIGTERM) tells its peers: one INFORMATIONAL with
# a Delete payload per IKE SA (RFC 7296 §1.4.1), sent once, never
# retransmitted, no answer awaited, and the daemon gone within a bound
# however many SAs it holds and however slowly its socket drains.
# Evidence from outside the daemon: nft counters at both ends (lib.sh
# wire_count, the receiving end's input: what got through the link) and the
# peers' own logs; of tcpiked only its exit, its time to exit and its
# summary line.
#   - gone peer: tcpiked (backend none) holds 2,000 IKE SAs from
#     tools/tcpike-bench, which has exited; SIGTERM: 2,000 datagrams, one
#     per IKE SA, out and across, exit within 5 s, "sent 2000 Deletes ...,
#     0 not sent"
#   - slow link (tbf 2 Mbit/s on the responder's side): the Deletes fill
#     the socket's send buffer; tcpiked waits for room, every one of the
#     2,000 still arrives (before: the ones refused with EAGAIN were lost,
#     silently)
#   - slower link (tbf 128 kbit/s: 2,000 Deletes need 13 s): tcpiked gives
#     up at its deadline, exits within 5 s, and says how many it did not
#     send; what it counts as sent is what left it
#   - delete_on_stop = no: nothing sent
#   - strongSwan 5.9.8 (charon, UDP; charon 5.9.8 has no RFC 9329 TCP):
#     its log has the Delete received and the IKE SA deleted, it holds no
#     IKE SA afterwards
#   - a tcpiked peer over UDP: the Child SA's two SAs leave the backend
#     (kb_sas), the peer logs "deleted by the peer"
#   - RFC 9329 TCP, a tcpiked peer: the Delete goes out on the connection
#     before it is closed; the peer logs "deleted by the peer"
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
require_netns
require_tcpiked
GEN=$TOOL_BIN/tools/tcpike-bench
[ -x "$GEN" ] || GEN=$BIN/tools/tcpike-bench
[ -x "$GEN" ] || tap_skip_all "tools/tcpike-bench not built (make asan)"
topo_pair stop$$ >/dev/null || tap_skip_all "cannot build the namespace pair"
wire_count a="$NS_A" b="$NS_B" || tap_skip_all "no nftables"
PSK=tcpike-stop-psk-0123456789
N=2000

# r_up [DAEMON-EXTRA]: a fresh responder r in b holding N IKE SAs from the
# generator in a, which has exited when this returns
r_up() {
	local out
	ike_conf r local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=10.128.0.0/9 \
		lid=fqdn:resp.tcpike.test rid=fqdn:bench.tcpike.test psk=$PSK \
		"daemon_extra=cookie_threshold = 10000000;half_open_max = 10000000;half_open_per_ip = 10000000;$1" \
		"conn_extra=dpd_delay = 0" >/dev/null || return 1
	# the generator's distinct identities, one PSK; per-SA lines are not
	# what is measured here
	sed -i -e 's/log_level = debug/log_level = info/' \
		-e '/^\t\t\tid = fqdn:bench.tcpike.test$/d' "$IKE_DIR/r.conf"
	ike_start "$NS_B" r >/dev/null || return 1
	out=$(ip netns exec "$NS_A" "$GEN" --dst 10.0.0.2 --psk "$PSK" --mode udp --count "$N" \
		--window 64 --timeout 120 --distinct-ids 2>&1)
	tap_diag "generator: $out"
	[ "$(printf '%s\n' "$out" | sed -n 's/.* ok=\([0-9]*\) .*/\1/p')" = "$N" ]
}

# r_term: SIGTERM to r (ike_stop: its TAP line), STOP_MS = milliseconds
# until it had exited (ike_stop polls every 0.1 s, gives up after 10 s)
r_term() {
	local t0
	wire_reset
	t0=$(date +%s%N)
	ike_stop r
	STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# sent_line: r's summary line's "sent S ..., U not sent" as "S U"
sent_line() {
	sed -n 's/.*stopping: sent \([0-9]*\) Deletes in [0-9.]* s, \([0-9]*\) not sent.*/\1 \2/p' \
		"$IKE_DIR/r.log" | tail -n1
}

# shape RATE: b's egress through a token bucket at RATE, a queue that holds
# all N (the socket's send buffer fills first, not the queue); none: off
shape() {
	ip netns exec "$NS_B" tc qdisc del dev vb root 2>/dev/null
	[ "$1" = none ] || ip netns exec "$NS_B" tc qdisc add dev vb root tbf rate "$1" burst 4k limit 4m
}

# --- a gone peer ----------------------------------------------------------------------
if r_up; then
	tap_ok "gone peer: $N IKE SAs set up by the generator, which has exited"
else
	tap_fail "gone peer: $N IKE SAs set up by the generator" "$(tail -n 3 "$IKE_DIR/r.log")"
fi
r_term
tap_check "gone peer: tcpiked exits within 5 s of SIGTERM (${STOP_MS} ms)" test "$STOP_MS" -le 5000
sleep 0.5
wire_check "gone peer: one datagram per IKE SA after SIGTERM, out of b and into a ($N)" \
	b:out_ike500=$N a:in_ike500=$N b:out_ike4500=0 b:out_tcp=0
tap_expect_eq "gone peer: its summary line: $N sent, 0 not sent" "$N 0" "$(sent_line)"

# --- a slow link: the send buffer fills --------------------------------------------
r_up >/dev/null || tap_fail "slow link: $N IKE SAs set up" "$(tail -n 3 "$IKE_DIR/r.log")"
shape 2mbit
r_term
# the queue drains at 2 Mbit/s: about 1 s for 2,000
wait_for 10 wire_grew - a in_ike500 "$N"
wire_check "slow link (2 Mbit/s): every Delete arrives, one per IKE SA ($N), none lost to a full send buffer" \
	b:out_ike500=$N a:in_ike500=$N
tap_check "slow link: tcpiked exits within 5 s of SIGTERM (${STOP_MS} ms)" test "$STOP_MS" -le 5000
tap_expect_eq "slow link: its summary line: $N sent, 0 not sent" "$N 0" "$(sent_line)"
shape none

# --- slower still: the deadline ------------------------------------------------------
r_up >/dev/null || tap_fail "slower link: $N IKE SAs set up" "$(tail -n 3 "$IKE_DIR/r.log")"
shape 128kbit
r_term
read -r s u <<<"$(sent_line)"
tap_check "slower link (128 kbit/s): tcpiked gives up at its deadline and exits within 5 s of SIGTERM (${STOP_MS} ms)" \
	test "$STOP_MS" -le 5000
tap_check "slower link: its summary line counts every IKE SA, some not sent (${s:-?} sent, ${u:-?} not sent)" \
	test "${s:-0}" -gt 0 -a "${u:-0}" -gt 0 -a "$(( ${s:-0} + ${u:-0} ))" = "$N"
wire_check "slower link: what it counts as sent is what left it (${s:-?})" b:out_ike500="${s:-0}"
shape none

# --- delete_on_stop = no --------------------------------------------------------------
N=200
r_up "delete_on_stop = no" >/dev/null || tap_fail "delete_on_stop = no: $N IKE SAs set up" "$(tail -n 3 "$IKE_DIR/r.log")"
r_term
wire_check "delete_on_stop = no: no Delete sent" b:out_ike500=0 b:out_ike4500=0
PO=$IKE_DIR/r.log saw "delete_on_stop = no: the log says $N IKE SAs went without a Delete" \
	"stopping: $N IKE SAs deleted without a Delete \(delete_on_stop = no\)"

# --- strongSwan over UDP ---------------------------------------------------------------
if sw_available && [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] &&
   [ -c /dev/net/tun ]; then
	swt_up
	ike_ctl t initiate c >/dev/null
	swt_expect 20 "charon: IKE and Child SA up with tcpiked" swt_agreed
	wire_reset
	ike_stop t
	swt_expect 5 "charon: no IKE SA left once tcpiked has stopped" test "$(sw_ike_count s)" = 0
	swt_s_log_has "charon: its log has the Delete received" 'received DELETE for IKE_SA c\[1\]$'
	swt_s_log_has "charon: ... and the IKE SA deleted" 'IKE_SA deleted$|deleting IKE_SA c\[1\]'
	# on 4500: charon's kernel-libipsec has ESP in UDP always, so it
	# fakes a NAT and the IKE SA moves there (RFC 7296 §2.23)
	wire_check "charon: one datagram from tcpiked after SIGTERM, no retransmission" \
		a:out_ike4500=1 b:in_ike4500=1 a:out_ike500=0
	sw_stop s
else
	tap_skip "charon: the Delete at stop" "strongSwan with kernel-libipsec and /dev/net/tun not available"
fi

# --- the Child SA leaves the kernel, a tcpiked peer on UDP --------------------------------
# (backend none's record, kb_sas: this host's kernel has no ESP for XFRM;
# the VM tests stop tcpiked on real kernels)
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)
ike_up
expect_established "udp: IKE and Child SA established with a tcpiked peer"
tap_expect_eq "udp: b's backend holds the Child SA's two SAs" 2 "$(kb_sas b | wc -l)"
wire_reset
ike_stop b
tap_expect_eq "udp: after the stop b's backend holds no SA" 0 "$(kb_sas b | wc -l)"
wait_for 5 test "$(ike_count a)" = 0
PO=$IKE_DIR/a.log saw "udp: the peer got the Delete" "IKE SA deleted: deleted by the peer"
wire_check "udp: one datagram from b after SIGTERM" b:out_ike500=1 a:in_ike500=1

# --- RFC 9329 TCP, a tcpiked peer ------------------------------------------------------
A_ARGS+=("conn_extra=transport = tcp")
B_ARGS+=("conn_extra=transport = tcp")
ike_up
expect_established "tcp: IKE and Child SA established over TCP"
wire_mark tcp
ike_stop b
wait_for 5 test "$(ike_count a)" = 0
PO=$IKE_DIR/a.log saw "tcp: the peer got the Delete on the connection before it closed" \
	"IKE SA deleted: deleted by the peer"
wire_check -d tcp "tcp: one segment with data from b after SIGTERM, then its FIN; no UDP" \
	b:out_tcp=1 a:in_tcp=1 'b:out_fin>=1' b:out_ike500=0 b:out_ike4500=0
ike_stop a
tap_done
