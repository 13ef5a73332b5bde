#!/bin/bash
# The TCP connect race (tcp_connect_race, default 250 ms) between two
# tcpiked (backend none) in two namespaces.  Linux retransmits a lost SYN
# only after 1 s (TCP_TIMEOUT_INIT); tcpiked starts a second connect() to
# the same address and port when the first has not completed within the
# delay, keeps the first to complete and closes the other before a byte
# went on it (RFC 9329 section 6: one TCP connection per IKE SA).
# Evidence from outside the daemons: nft counters (lib.sh wire_count) and
# a capture at b (SYNs and data segments per source port), the kernel's
# sockets (ss); times from a's own log.
#
#   clean path          separate: one SYN, no race
#   first SYN lost      separate (the connection tcp_preconnect opens) and
#                       tcp: established well under the kernel's 1 s, two
#                       SYNs from two ports, data on one only, the other
#                       never retransmitted (closed), one connection at b
#   race off            tcp_connect_race = 0: the kernel's 1 s (control)
#   SYN and IKE_SA_INIT  separate: both losses hidden (tcp_race_delay and
#   lost                 the connect race), well under 1 s
#
# strongSwan 5.9.8 (selftests/peers) has no IKE over TCP (RFC 9329), so no
# charon responder here.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikcr$$" || tap_skip_all "cannot build the namespace pair"
wire_count a="$NS_A" b="$NS_B"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)
PCAP=$IKE_DIR/race.pcap
# TCP connections with port 4500 established in NS
tcp_conns() { ip netns exec "$1" ss -Htn state established '( sport = :4500 or dport = :4500 )' | wc -l; }
# a's source ports of the segments to b's TCP 4500 in the capture that
# match FILTER, one line per segment
seg_ports() {
	tcpdump -nn -r "$PCAP" "ip src 10.0.0.1 and tcp dst port 4500 and ($1)" 2>/dev/null |
		awk '{n = split($3, x, "."); print x[n]}'
}
syn_ports() { seg_ports 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' | sort -n | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' '; }
# ports of a that carried data to b, each once
data_ports() { seg_ports '(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0' | sort -nu | tr '\n' ' '; }
# ms from a's initiate to its IKE SA (with the Child SA) established
setup_ms() { log_ms a "initiating to" "IKE SA established"; }

# --- clean path: one SYN ---------------------------------------------------------
ike_up "conn_extra=transport = separate"
expect_established "separate, clean path: IKE and Child SA established"
wire_check "separate, clean path: exactly one SYN, and it carried the connection" \
	a:out_syn=1 b:in_syn=1 'a:out_tcp>0'
tap_check "separate, clean path: no second connect (tcp_connect_race 250 ms above the round trip)" \
	test "$(ike_tcp a connect_races)" = 0

# --- the first SYN to TCP 4500 lost at b -------------------------------------
# (after the previous daemons stopped, with their Deletes: ike_up's hook)
ike_up_hook() {
	pcap_start "$NS_B" vb "$PCAP" tcp port 4500
	lose_first "$NS_B" ${LOSE_INIT:+init}
}

lost_syn() {	# lost_syn TRANSPORT [EXTRA]: the TAP lines of one setup
	local t=$1 ms syns data
	ike_up "conn_extra=transport = $t;${2:-}"
	expect_established "$t, first SYN lost: IKE and Child SA established" || return
	ms=$(setup_ms)
	# past the first SYN's retransmission (1 s) had it stayed open
	sleep 1.3
	pcap_stop
	syns=$(syn_ports) data=$(data_ports)
	tap_diag "$t, first SYN lost: established ${ms} ms after initiate; SYNs per port: $syns; data from: $data"
	if [ -n "${2:-}" ]; then
		tap_check "$t, first SYN lost, $2: the kernel's 1 s retransmission (at least 0.9 s)" \
			test "$ms" -ge 900
		tap_check "$t, first SYN lost, $2: no second connect" \
			test "$(ike_tcp a connect_races)" = 0
		return
	fi
	tap_check "$t, first SYN lost: established in under 700 ms, not after the kernel's 1 s SYN retransmission" \
		test "$ms" -lt 700
	wire_check "$t, first SYN lost: exactly two SYNs (b's count is before the test's drop)" \
		a:out_syn=2 b:in_syn=2
	tap_check "$t, first SYN lost: two SYNs from two ports, one each (the loser never retransmitted: closed)" \
		eval '[[ "$syns" =~ ^[0-9]+:1\ [0-9]+:1\ $ ]]'
	tap_check "$t, first SYN lost: data (IKETCP, IKE) on one connection only, the loser's none (RFC 9329 section 6)" \
		eval '[[ "$data" =~ ^[0-9]+\ $ ]] && [[ " $syns" == *" ${data% }:1 "* ]]'
	tap_check "$t, first SYN lost: one connection at each end" \
		test "$(tcp_conns "$NS_A") $(tcp_conns "$NS_B")" = "1 1"
	tap_check "$t, first SYN lost: a counted one race, won by the second connect" \
		test "$(ike_tcp a connect_races) $(ike_tcp a connect_races_won)" = "1 1"
}
lost_syn separate
lost_syn tcp
lost_syn tcp "tcp_connect_race = 0"
# The first IKE_SA_INIT (UDP) lost too: tcp_race_delay (250 ms) sends it
# again and races a TCP SA on the connection, which the connect race has
# up by then; the UDP SA, answered first, connects again for IKE_AUTH.
LOSE_INIT=1
ike_up "conn_extra=transport = separate"
expect_established "separate, first SYN and first IKE_SA_INIT lost: IKE and Child SA established"
ms=$(setup_ms)
tap_diag "separate, first SYN and first IKE_SA_INIT lost: established $ms ms after initiate; connects $(ike_counter a tcp_connects), races $(ike_tcp a connect_races)"
tap_check "separate, first SYN and first IKE_SA_INIT lost: both hidden, established in under 700 ms" \
	test "$ms" -lt 700
pcap_stop
unset LOSE_INIT
unset -f ike_up_hook
lose_first_off "$NS_B"
ike_stop a
ike_stop b
tap_done
