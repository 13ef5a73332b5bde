#!/bin/bash
# IKE over TCP (RFC 9329) and separate transports for IKE and ESP
# (draft-ietf-ipsecme-ikev2-reliable-transport) between two tcpiked
# (backend none) in two namespaces.  Evidence from outside the daemons:
# nft counters of what each end sends and receives, per transport and port
# (lib.sh wire_count), a capture of the link read by selftests/ikepcap.py,
# the kernel's sockets (ss), and what each backend was asked to install
# (kb_sas); the daemons' status only for what they themselves decide.
#
#   tcp                 IKE and ESP in one TCP connection, rekeys both ways,
#                       no retransmission over a live connection but a
#                       timeout, connection killed (ss -K) on each side,
#                       the originator closes when its last SA is gone,
#                       cookies, a second port, INVALID_KE and
#                       NO_PROPOSAL_CHOSEN over TCP
#   separate            SA_INIT on UDP 4500 with the notify, the rest on TCP,
#                       ESP on IP; responder with the extension off; TCP 4500
#                       blocked (RT-7 cancel, RT-8 UDP retry, none when the
#                       request is too big for UDP, or no retry configured)
#   separate-tcp-first  notify echoed (ESP on IP) and not (RFC 9329, RT-11)
#   auto                UDP blocked: TCP fallback
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "iket$$" || tap_skip_all "cannot build the namespace pair"
WIRE_TCP_PORTS="4500, 443" wire_count a="$NS_A" b="$NS_B"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)
# tcp_conns NS: the established TCP connections with port 4500 or 443 in NS
tcp_conns() {
	ip netns exec "$1" ss -Htn state established '( sport = :4500 or dport = :4500 or sport = :443 or dport = :443 )' | wc -l
}
# a_port: a's local port of its one TCP connection to b
a_port() { ip netns exec "$NS_A" ss -Htn state established '( dport = :4500 or dport = :443 )' | awk '{split($3, x, ":"); print x[2]; exit}'; }
sa_gone() { test "$(ike_count "$1")" = 0; }

# --- RFC 9329: IKE and ESP over TCP ------------------------------------------------
ike_up "conn_extra=transport = tcp;retransmit_base = 500ms"
expect_established "tcp: IKE and Child SA established"
tap_check "tcp: both ends report IKE on TCP with ESP in the stream (RFC 9329)" \
	test "$(ike1 a transport) $(ike1 a esp_in_tcp) $(ike1 b transport) $(ike1 b esp_in_tcp)" = "tcp True tcp True"
p=$(a_port)
tap_expect_eq "tcp: both backends were asked for the Child SA's ESP in TCP on the connection's ports (TCP-14)" \
	"in:tcp:4500:$p out:tcp:$p:4500 | in:tcp:$p:4500 out:tcp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"
# Least privilege: only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (bits 12, 10)
# stay, in the bounding set too, and no_new_privs is set.
caps() { awk '/^CapEff|^CapPrm|^CapBnd|^NoNewPrivs/{printf "%s%s ", $1, $2}' "/proc/${IKE_PID[a]}/status"; }
tap_expect_eq "tcpiked runs with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only, no_new_privs" \
	"CapPrm:0000000000001400 CapEff:0000000000001400 CapBnd:0000000000001400 NoNewPrivs:1 " "$(caps)"
tap_check "tcp: a is the TCP originator, b is not" \
	test "$(ike1 a tcp_originator) $(ike1 b tcp_originator)" = "True False"
wire_check "tcp: IKE only over TCP, both ways, at both ends; one connection, opened by a (TCP-2, TCP-11, TCP-14)" \
	a:out_syn=1 b:in_syn=1 b:out_syn=0 a:in_syn=0 a:out_tcp\>0 b:out_tcp\>0 "${WIRE_NO_UDP_IKE[@]}"
# Rekeys both ways stay on the connection (TCP-1, TCP-22), no UDP.
wire_mark rk
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
tap_check "tcp: after the rekeys a is still the TCP originator" test "$(ike1 a tcp_originator)" = True
wire_check -d rk "tcp: the rekeys of both sides on the same connection, no UDP at either end (TCP-1, TCP-22)" \
	a:out_syn=0 b:in_syn=0 b:out_syn=0 a:out_tcp\>=4 b:out_tcp\>=4 "${WIRE_NO_UDP_IKE[@]}"

# TCP-28: no retransmission over a live connection.  b's answer is held
# back (IKE-sized segments from b dropped at a's input) for 2.5 s, where
# over UDP a would have retransmitted at 0.5 s and 1.5 s: a writes its
# request once, the TCP stack alone retransmits b's answer.
wire_mark hold
r0=$(child_rekeys a)
block "$NS_A" "tcp sport 4500 ip length > 120 drop"
ike_ctl a rekey c child >/dev/null
sleep 2.5
wire_check -d hold "tcp: b's answer held up 2.5 s: a wrote its request once, no IKE retransmission over TCP (TCP-28)" \
	a:out_tcp=1 b:in_tcp=1
unblock "$NS_A"
tap_check "tcp: the answer let through: the rekey completes" wait_for 10 rekeyed a child $((r0 + 1))

# The connection dies under the SAs: killed on a (the originator) ...
wire_mark kill
ip netns exec "$NS_A" ss -K dst 10.0.0.2 dport = 4500 >/dev/null 2>&1
if wait_for 10 wire_grew kill a out_syn 1; then
	tap_ok "tcp: connection killed on the originator: it reconnects (TCP-19)"
else
	tap_fail "tcp: connection killed on the originator: it reconnects (TCP-19)"
	ike_log a
fi
tap_check "tcp: the IKE SA survived the lost connection" ike_established a
n=$(child_rekeys b)
ike_ctl b rekey c child >/dev/null
tap_check "tcp: b (not the originator) rekeys over the new connection" \
	wait_for 10 rekeyed b child $((n + 1))
# ... and on b: only a reconnects; b's next request goes out once a is back.
ip netns exec "$NS_B" ss -K src 10.0.0.2 sport = 4500 >/dev/null 2>&1
if wait_for 10 wire_grew kill a out_syn 2; then
	tap_ok "tcp: connection killed on the responder: the originator reconnects"
else
	tap_fail "tcp: connection killed on the responder: the originator reconnects"
	ike_log a; ike_log b
fi
n=$(child_rekeys b)
ike_ctl b rekey c child >/dev/null
tap_check "tcp: b's rekey after the reconnect completes on the new connection" \
	wait_for 10 rekeyed b child $((n + 1))
wire_check -d kill "tcp: after the kills only a opened connections, each with a new IKETCP stream (TCP-19, TCP-21); no UDP" \
	a:out_syn=2 b:out_syn=0 b:in_syn=2 "${WIRE_NO_UDP_IKE[@]}"
tap_check "tcp: one connection open at each end" test "$(tcp_conns "$NS_A") $(tcp_conns "$NS_B")" = "1 1"
# TCP-18: the SA ends (a Delete from b); a, the originator, has no more use
# for the connection and closes it at once (b would only after its 30 s
# tcp_idle_timeout).
wire_mark end
ike_ctl b terminate c >/dev/null
tap_check "tcp: b terminated the SA: a has none left" wait_for 5 sa_gone a
tap_check "tcp: a, the originator, closed the connection when its last SA was gone (TCP-18)" \
	wait_for 3 wire_grew end a out_fin 1
ike_ctl a initiate c --no-wait >/dev/null
wait_for 10 ike_established a
wire_mark end
ike_ctl a terminate c >/dev/null
tap_check "tcp: a terminated: its Delete reached b over TCP, b has no SA left" wait_for 5 sa_gone b
tap_check "tcp: a closed the connection after its own Delete (TCP-18)" wait_for 3 wire_grew end a out_fin 1

# TCP-28: the exchange still times out over a live connection.  b's
# answers held for good: a gives up after its retransmission schedule
# (0.5 + 1 s), deletes the SA, and closes the connection (TCP-18).
ike_up "conn_extra=transport = tcp;retransmit_base = 500ms;retransmit_tries = 1"
expect_established "tcp (short timeout): established"
wire_mark to
block "$NS_A" "tcp sport 4500 ip length > 120 drop"
ike_ctl a rekey c child >/dev/null
if wait_for 6 sa_gone a; then
	tap_ok "tcp: no answer over a live connection: a's exchange timed out and the IKE SA was deleted (TCP-28)"
else
	tap_fail "tcp: no answer over a live connection: a's exchange timed out and the IKE SA was deleted (TCP-28)"
	ike_log a
fi
tap_check "tcp: a closed the connection of the dead SA (TCP-18)" wait_for 3 wire_grew to a out_fin 1
unblock "$NS_A"

# --- cookies over TCP (TCP-29: cookie request, then a new connection) -------------------
ike_up "conn_extra=transport = tcp" -- "daemon_extra=cookie_threshold = 0"
expect_established "tcp: established through a cookie exchange" a
wire_check "tcp: b sent a cookie and a retried on a second connection" \
	a:out_syn=2 b:in_syn=2 b:out_syn=0 "${WIRE_NO_UDP_IKE[@]}"
tap_check "tcp: the cookie came with an RFC 8019 puzzle, a solved it (TCP-29)" \
	test "$(ike_counter b cookies_sent) $(ike_counter b puzzles_sent) $(ike_counter b puzzles_solved) $(ike_counter b puzzles_bad)" = "1 1 1 0"

# --- a second listening port (TCP-3): b on 4500 and 443, a connects to 443 ---------
ike_up "conn_extra=transport = tcp;tcp_port = 443" -- "daemon_extra=tcp_ports = 4500, 443"
expect_established "tcp: b listens on 4500 and 443; a's IKE SA over TCP 443 is established (TCP-3)"
tap_expect_eq "tcp: the kernel's one connection at b is to its port 443" "1 1" \
	"$(ip netns exec "$NS_B" ss -Htn state established '( sport = :443 )' | wc -l) $(tcp_conns "$NS_B")"
ike_stop a
tap_check "tcp: a stopped, its Delete went out over TCP before the close: b has no IKE SA left" \
	wait_for 5 sa_gone b
tap_check "tcp: b logged the peer's Delete" grep -q "deleted by the peer" "$IKE_DIR/b.log"
ike_stop b

# --- IKE_SA_INIT errors over TCP (TCP-30) ----------------------------------------------
# INVALID_KE_PAYLOAD: b keeps the connection, a retries on it.
a_saved=("${A_ARGS[@]}")
A_ARGS+=(proposals=aes256gcm16-prfsha256-ecp256-x25519)
ike_up "conn_extra=transport = tcp"
A_ARGS=("${a_saved[@]}")
expect_established "tcp: INVALID_KE_PAYLOAD over TCP, a retried with b's group and is established"
wire_check "tcp: one INVALID_KE_PAYLOAD, the retry on the same connection (TCP-30)" \
	a:out_syn=1 b:in_syn=1 a:out_fin=0 "${WIRE_NO_UDP_IKE[@]}"
tap_expect_eq "tcp: b sent one INVALID_KE_PAYLOAD" 1 "$(ike_counter b invalid_ke_sent)"
# NO_PROPOSAL_CHOSEN: acted on at once, not after the 5 s retransmission
# schedule a waiting initiator would sit through (RFC 9329 §6.4).
A_ARGS+=(proposals=aes128gcm16-prfsha256-x25519)
t0=$(date +%s%N)
ike_up "conn_extra=transport = tcp;retransmit_base = 5s" -- proposals=aes256-sha256-modp2048
A_ARGS=("${a_saved[@]}")
failed() { test "$(ike_counter a ike_failed)" = 1; }
if wait_for 4 failed; then
	tap_ok "tcp: NO_PROPOSAL_CHOSEN over TCP ends the attempt at once ($(( ($(date +%s%N) - t0) / 1000000 )) ms including the daemons' start) (TCP-30)"
else
	tap_fail "tcp: NO_PROPOSAL_CHOSEN over TCP ends the attempt at once (TCP-30)"
	ike_log a
fi
tap_check "tcp: after NO_PROPOSAL_CHOSEN a has no SA" sa_gone a
tap_check "tcp: after NO_PROPOSAL_CHOSEN a closed its connection (TCP-18)" wait_for 2 wire_grew - a out_fin 1
wire_check "tcp: one IKE_SA_INIT over one connection, nothing more" a:out_syn=1 a:out_tcp\<=2 "${WIRE_NO_UDP_IKE[@]}"

# --- separate transports, UDP first ---------------------------------------------------
pcap_start "$NS_B" vb "$IKE_DIR/sep.pcap" udp or tcp
ike_up "conn_extra=transport = separate"
expect_established "separate: IKE and Child SA established"
tap_check "separate: both ends report separate transports, IKE on TCP, ESP on IP" \
	test "$(ike1 a separate) $(ike1 b separate) $(ike1 a transport) $(ike1 b transport) $(child1 a esp_transport) $(child1 b esp_transport)" = "True True tcp tcp raw raw"
tap_expect_eq "separate: both backends were asked for ESP directly on IP (RT-15: no NAT)" \
	"in:raw:0:0 out:raw:0:0 | in:raw:0:0 out:raw:0:0" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "separate: IKE_SA_INIT once each way on UDP 4500 (RT-1), nothing on 500; then one connection, opened by a (RT-4)" \
	"${WIRE_SEPARATE_SETUP[@]}"
wire_mark rk
ike_ctl a rekey c child >/dev/null
wait_for 10 rekeyed a child 1
ike_ctl b rekey c child >/dev/null
wait_for 10 rekeyed b child 2
ike_ctl b rekey c ike >/dev/null
if wait_for 10 rekeyed b ike 1 && wait_for 5 ike_established a; then
	tap_ok "separate: Child SA rekeys by a and b, IKE SA rekey by b"
else
	tap_fail "separate: Child SA rekeys by a and b, IKE SA rekey by b"; ike_log a; ike_log b
fi
tap_check "separate: the new IKE SA is still separate on TCP" \
	test "$(ike1 a separate) $(ike1 a transport) $(ike1 b separate) $(ike1 b transport)" = "True tcp True tcp"
wire_check -d rk "separate: every later exchange, b's requests too, over TCP at both ends, no UDP (RT-12)" \
	a:out_syn=0 b:out_tcp\>=4 a:out_tcp\>=4 "${WIRE_NO_UDP_IKE[@]}"
pcap_stop
ike=$(python3 "$TOP/selftests/ikepcap.py" --ike "$IKE_DIR/sep.pcap")
tap_diag "$ike"
# The capture, message by message (49152: separate_transports_notify).
init_req=$(grep -m1 ' IKE_SA_INIT req ' <<<"$ike")
init_resp=$(grep -m1 ' IKE_SA_INIT resp ' <<<"$ike")
spis=$(sed -n 's/.* spi_i=\([0-9a-f]*\) spi_r=\([0-9a-f]*\).*/\1 \2/p' <<<"$init_resp")
tap_check "separate: the IKE_SA_INIT request went to UDP 4500 behind the non-ESP marker with N(SEPARATE_TRANSPORTS): protocol 0, no SPI, no data (RT-1, RT-2, RT-13)" \
	grep -q '^udp4500 10.0.0.1:4500>10.0.0.2:4500 IKE_SA_INIT req msgid=0 .* N=49152/0/0/8' <<<"$init_req"
tap_check "separate: b's IKE_SA_INIT response on UDP 4500 echoes it (RT-3)" \
	grep -q '^udp4500 10.0.0.2:4500>10.0.0.1:4500 IKE_SA_INIT resp msgid=0 .* N=49152/0/0/8' <<<"$init_resp"
auth_req=$(grep -m1 ' IKE_AUTH req ' <<<"$ike")
auth_resp=$(grep -m1 ' IKE_AUTH resp ' <<<"$ike")
tap_check "separate: IKE_AUTH request from a on TCP 4500, Message ID 1, the SPIs of IKE_SA_INIT (RT-4)" \
	grep -qE "^tcp 10.0.0.1:[0-9]+>10.0.0.2:4500 IKE_AUTH req msgid=1 spi_i=${spis% *} spi_r=${spis#* }$" <<<"$auth_req"
tap_check "separate: b answered IKE_AUTH on that TCP connection (RT-5)" \
	grep -qE "^tcp 10.0.0.2:4500>10.0.0.1:[0-9]+ IKE_AUTH resp msgid=1 spi_i=${spis% *} spi_r=${spis#* }$" <<<"$auth_resp"
tap_check "separate: a's stream starts with IKETCP, b's does not (RT-6, TCP-11)" \
	test "$(grep -cE '^stream 10.0.0.1:[0-9]+>10.0.0.2:4500 prefix=yes' <<<"$ike") $(grep -cE '^stream 10.0.0.2:4500>10.0.0.1:[0-9]+ prefix=no' <<<"$ike")" = "1 1"
tap_expect_eq "separate: after the IKE_SA_INIT pair, no IKE on UDP either way (RT-4, RT-12)" \
	2 "$(grep -c '^udp' <<<"$ike")"
tap_check "separate: CREATE_CHILD_SA requests from both a and b, all on TCP (RT-12)" \
	test "$(grep -cE '^tcp 10.0.0.1:[0-9]+>10.0.0.2:4500 CREATE_CHILD_SA req' <<<"$ike") $(grep -cE '^tcp 10.0.0.2:4500>10.0.0.1:[0-9]+ CREATE_CHILD_SA req' <<<"$ike")" = "1 2"
# tcp_preconnect (the default): a's SYN reached b before b's IKE_SA_INIT
# response left it (capture times at b), and a counted no other connect.
syn_t=$(tcpdump -tt -nn -r "$IKE_DIR/sep.pcap" 'tcp dst port 4500 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | awk 'NR == 1 { print $1 }')
resp_t=$(tcpdump -tt -nn -r "$IKE_DIR/sep.pcap" 'udp and src host 10.0.0.2 and src port 4500' 2>/dev/null | awk 'NR == 1 { print $1 }')
tap_diag "first SYN at b $syn_t, first IKE_SA_INIT response from b $resp_t"
tap_check "separate: a's SYN arrived before the IKE_SA_INIT response left b (tcp_preconnect)" \
	awk -v s="$syn_t" -v r="$resp_t" 'BEGIN { exit !(s != "" && r != "" && s + 0 < r + 0) }'
tap_check "separate: one connect, the pre-connect, none unused" \
	test "$(ike_counter a tcp_connects) $(ike_counter a tcp_preconnects) $(ike_counter a tcp_preconnects_unused)" = "1 1 0"

# The responder does not do it: no echo (RT-3 negative), plain IKE on UDP 4500.
ike_up "conn_extra=transport = separate" -- "daemon_extra=separate_transports = no"
expect_established "separate, responder without the extension: established over UDP" a
tap_check "separate, responder without the extension: IKE stays on UDP 4500 (a reports no separate transports)" \
	test "$(ike1 a separate) $(ike1 a transport)" = "False udp-natt"
wire_check "separate, responder without the extension: IKE on UDP 4500; a's pre-connection carried the prefix only, b sent nothing on it, a closed it" \
	a:out_ike4500\>=2 b:out_ike4500\>=2 a:out_syn=1 b:in_syn=1 a:out_tcp\<=1 b:out_tcp=0 a:out_fin=1 a:out_ike500=0
tap_check "separate, responder without the extension: the pre-connection counted unused" \
	test "$(ike_counter a tcp_preconnects) $(ike_counter a tcp_preconnects_unused)" = "1 1"
ike_up "conn_extra=transport = separate;tcp_preconnect = no" -- "daemon_extra=separate_transports = no"
expect_established "separate, tcp_preconnect = no, responder without the extension: established over UDP" a
wire_check "separate, tcp_preconnect = no, responder without the extension: everything on UDP 4500, no TCP at all" \
	a:out_ike4500\>=2 b:out_ike4500\>=2 a:out_syn=0 b:in_syn=0 a:out_tcp=0 b:out_tcp=0 a:out_ike500=0

# tcp_preconnect: the first SYN and the first IKE_SA_INIT request are both
# lost at b.  Connecting after the echo, the two waits add up (the
# kernel's 1 s SYN retransmission after the 1 s IKE retransmission: 2 s at
# least); pre-connected they overlap (about 1 s).  The connect race is off
# (tcp_connect_race = 0): it would hide the lost SYN itself (netns 70),
# and the connection, up at 250 ms, would carry the racing TCP SA's
# IKE_SA_INIT and go with it when UDP wins: a second connect for IKE_AUTH.
ike_up_hook() { lose_first "$NS_B" init; }
# ms from a's first IKE_SA_INIT to its IKE SA established, by a's own log
# (a's initiate command may return late on a loaded machine)
lost_both() {	# lost_both yes|no: $ms
	ike_up "conn_extra=transport = separate;tcp_preconnect = $1;tcp_connect_race = 0"
	wait_for 10 ike_established a
	ms=$(log_ms a "sending IKE_SA_INIT request" "IKE SA established")
}
lost_both no
ms_no=$ms
lost_both yes
ms_pre=$ms
tap_diag "first SYN and first IKE_SA_INIT lost: established ${ms_no} ms after the first IKE_SA_INIT without the pre-connect, ${ms_pre} ms with it (a's log)"
# The race (tcp_race_delay, 250 ms) sends IKE_SA_INIT again long before
# its 1 s retransmission, and the racing TCP SA's connect, still waiting for
# its SYN's retransmission when UDP is answered, goes to IKE_AUTH: without
# the pre-connect 250 ms + 1 s (2 s and more when separate fell back after
# 1.5 s); with it the SYN was sent 250 ms sooner.
tap_check "separate, first SYN and first IKE_SA_INIT lost, tcp_preconnect = no: the race hides the lost IKE_SA_INIT (under 1.6 s)" \
	test "$ms_no" -lt 1600
tap_check "separate, first SYN and first IKE_SA_INIT lost: pre-connected, the losses overlap (at least 0.15 s sooner)" \
	test "$ms_pre" -le $((ms_no - 150))
tap_check "separate, first SYN and first IKE_SA_INIT lost: one connect, one IKE retransmission" \
	test "$(ike_counter a tcp_connects) $(ike_counter a retransmits)" = "1 1"
unset -f ike_up_hook
lose_first_off "$NS_B"

# TCP 4500 blocked after the UDP IKE_SA_INIT: RT-7 cancel, RT-8 retry on UDP.
block "$NS_B" "tcp dport 4500 reject with tcp reset"
pcap_start "$NS_B" vb "$IKE_DIR/rt8.pcap" udp or tcp
ike_up "conn_extra=transport = separate"
expect_established "separate, TCP blocked: established over UDP without the notify (RT-8)" a
pcap_stop
tap_check "separate, TCP blocked: a reports the first attempt cancelled, the SA on UDP (RT-7)" \
	test "$(ike_counter a separate_tcp_failed) $(ike1 a separate) $(ike1 a transport)" = "1 False udp"
ike=$(python3 "$TOP/selftests/ikepcap.py" --ike "$IKE_DIR/rt8.pcap")
tap_diag "$ike"
spi1=$(grep -m1 ' IKE_SA_INIT req ' <<<"$ike" | sed 's/.* spi_i=\([0-9a-f]*\).*/\1/')
tap_check "separate, TCP blocked: no IKE_AUTH or other exchange of the cancelled SA on UDP (RT-7)" \
	test -z "$(grep "^udp.* spi_i=$spi1 " <<<"$ike" | grep -v IKE_SA_INIT)"
tap_check "separate, TCP blocked: the retry is a new IKE_SA_INIT on UDP 500, new SPIi, without the notify (RT-8)" \
	grep -qE "^udp500 10.0.0.1:500>10.0.0.2:500 IKE_SA_INIT req msgid=0 spi_i=[0-9a-f]{16} " <<<"$(grep -v "spi_i=$spi1" <<<"$ike" | grep -v N=49152)"
# RT-8: the retry only "provided that UDP unreliability is not a critical
# issue for the proposed transforms": a request of 1200 bytes or more
# (MODP-4096 and five long proposals) is not retried over UDP.
big=aes256-aes192-aes128-sha256-sha384-sha512-prfsha256-prfsha384-prfsha512-modp4096-modp3072-modp2048-ecp256-ecp384-x25519
ike_up "conn_extra=transport = separate" "proposals=$big, $big, $big, $big, $big" -- "proposals=$big"
failed() { test "$(ike_counter a ike_failed)" -ge 1; }
wait_for 8 failed
# (The request may be retransmitted on 4500 when MODP-4096 keeps a loaded
# b past a's 1 s timer; RT-8's retry would be a new SA on 500.)
wire_check "separate, TCP blocked, a request too big for UDP: no retry over UDP (RT-8)" \
	a:out_ike4500\>=1 a:out_ike500=0 a:out_syn\>=1
tap_check "separate, TCP blocked, a request too big for UDP: no SA" sa_gone a
ike_up "conn_extra=transport = separate;udp_retry_without_separate = no"
wait_for 8 failed
wire_check "separate, TCP blocked, no UDP retry configured: one IKE_SA_INIT, no retry" \
	a:out_ike4500=1 a:out_ike500=0 a:out_syn\>=1
tap_check "separate, TCP blocked, no UDP retry configured: no SA, one failure counted" \
	test "$(ike_count a) $(ike_counter a ike_failed)" = "0 1"
unblock "$NS_B"

# --- separate transports, TCP first (RT-9..11) ------------------------------------------
ike_up "conn_extra=transport = separate-tcp-first"
expect_established "separate-tcp-first: established"
tap_check "separate-tcp-first: both ends report separate transports, ESP on IP" \
	test "$(ike1 a separate) $(ike1 b separate) $(child1 a esp_transport) $(child1 b esp_transport)" = "True True raw raw"
tap_expect_eq "separate-tcp-first: both backends were asked for ESP on IP, not in the stream (RT-10)" \
	"in:raw:0:0 out:raw:0:0 | in:raw:0:0 out:raw:0:0" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "separate-tcp-first: IKE from the start on one TCP connection, no UDP IKE (RT-9)" \
	a:out_syn=1 b:in_syn=1 "${WIRE_NO_UDP_IKE[@]}"
ike_up "conn_extra=transport = separate-tcp-first" -- "daemon_extra=separate_transports = no"
expect_established "separate-tcp-first, no echo: established"
p=$(a_port)
tap_expect_eq "separate-tcp-first, no echo: plain RFC 9329, both backends put ESP in the stream (RT-11)" \
	"in:tcp:4500:$p out:tcp:$p:4500 | in:tcp:$p:4500 out:tcp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"

# --- auto: UDP blocked, TCP races it after tcp_race_delay (250 ms) and wins ----------
block "$NS_B" "udp dport { 500, 4500 } drop"
ike_up "conn_extra=transport = auto"
expect_established "auto, UDP blocked: established over TCP"
tap_check "auto, UDP blocked: a reports the fallback (a race TCP won), IKE and ESP on TCP" \
	test "$(ike1 a tcp_fallback) $(ike1 a transport) $(ike_counter a tcp_races_tcp_won)" = "True tcp 1"
p=$(a_port)
tap_expect_eq "auto, UDP blocked: ESP in the stream at both ends' backends" \
	"in:tcp:4500:$p out:tcp:$p:4500 | in:tcp:$p:4500 out:tcp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "auto, UDP blocked: UDP 500 went unanswered, then one TCP connection" \
	a:out_ike500\>=1 a:in_ike500=0 b:out_ike500=0 a:out_syn=1
ike_up "conn_extra=transport = separate"
expect_established "separate, UDP blocked: established over TCP"
tap_check "separate, UDP blocked: a race TCP won, as separate-tcp-first (RT-9)" \
	test "$(ike1 a tcp_fallback) $(ike1 a xport_mode) $(ike1 a separate) $(ike_counter a tcp_races_tcp_won)" = "True separate-tcp-first True 1"
tap_expect_eq "separate, UDP blocked: ESP on IP at both ends' backends" \
	"in:raw:0:0 out:raw:0:0 | in:raw:0:0 out:raw:0:0" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "separate, UDP blocked: UDP 4500 went unanswered, and one TCP connection, the pre-connection, carried the racing IKE_SA_INIT (two before the race)" \
	a:out_ike4500\>=1 a:in_ike4500=0 a:out_ike500=0 a:out_syn=1
unblock "$NS_B"
ike_up "conn_extra=transport = auto"
expect_established "auto, UDP open: established"
tap_check "auto, UDP open: a reports UDP, no fallback" \
	test "$(ike1 a transport) $(ike1 a tcp_fallback)" = "udp False"
wire_check "auto, UDP open: UDP 500 both ways, no TCP (TCP-4)" \
	a:out_ike500\>=2 b:out_ike500\>=2 a:out_syn=0 a:out_tcp=0 b:out_tcp=0

# --- TCP blocked in tcp mode: a clear failure -------------------------------------------
block "$NS_B" "tcp dport 4500 reject with tcp reset"
ike_up "conn_extra=transport = tcp"
failed() { test "$(ike_counter a ike_failed)" -ge 1; }
wait_for 5 failed
tap_check "tcp, TCP blocked: no SA and the failure is logged" \
	grep -q 'cannot reach the peer over TCP port 4500' "$IKE_DIR/a.log"
tap_check "tcp, TCP blocked: no SA" sa_gone a
ike_stop a
ike_stop b
unblock "$NS_B"
tap_done
