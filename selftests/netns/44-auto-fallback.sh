#!/bin/bash
# transport = auto with UDP blocked, checked on the wire (RFC 9329 §5.1):
# after tcp_race_delay (250 ms) the UDP IKE_SA_INIT goes once more (TCP-15)
# and a new IKE_SA_INIT over TCP with a new SPIi races it (TCP-16); TCP
# wins, the tunnel is up within 0.5 s of initiate, UDP goes quiet; every
# request's NAT-D hashes are computed over its own addresses and ports,
# the TCP ports for the TCP one (TCP-16, TCP-31, RT-18); with assume_no_nat
# none at all (RT-19).  A capture on b's link is read by
# selftests/ikepcap.py, which recomputes the hashes.  UDP answering only
# after the race started (its first request lost, TCP's SYN too): UDP wins
# and the TCP attempt is closed, no SYN retransmitted, no socket left.
# With UDP open auto opens no TCP connection: no SYN on the wire; with
# tcp_race_delay = 0 it opens one beside UDP at once.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikf$$" || tap_skip_all "cannot build the namespace pair"

# UDP blocked at b; the capture still sees it (taps come before nft).
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain in { type filter hook input priority -20; udp dport { 500, 4500 } drop; }
}
NFT
# auto_initiate PCAP FILTER: a with transport = auto, every timer at its
# default (tcp_race_delay 250 ms, retransmit_base 1 s), a capture on b's
# link; a initiates and waits: $ms is the time from initiate until
# tcpikectl saw the Child SA installed (it looks every 100 ms).
auto_initiate() {
	local t0
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test "conn_extra=transport = auto${AUTO_EXTRA:+;$AUTO_EXTRA}"
	PCAP=$IKE_DIR/$1
	pcap_start "$NS_B" vb "$PCAP" "$2"
	ike_start "$NS_A" a && ike_start "$NS_B" b || tap_fail "tcpiked started"
	t0=$(date +%s%N)
	ike_ctl a initiate c >/dev/null
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test
auto_initiate fallback.pcap 'udp port 500 or udp port 4500 or tcp port 4500'
expect_established "auto, UDP blocked: established over TCP"
# The goal (issue 21): a working tunnel within 0.5 s of initiate, by a's own
# log (initiating to the Child SA installed).  tcpikectl's clock adds its
# 100 ms poll and the time to start it: 0.25 s more for the ASan build on
# a shared 2-CPU host.
log_d=$(log_ms a "initiating to c" "installed: SPIs")
tap_check "auto, UDP blocked: a's log has the Child SA installed within 0.5 s of initiating ($log_d ms)" \
	test "$log_d" -lt 500
tap_check "auto, UDP blocked: initiate returned with the tunnel up within 0.75 s ($ms ms; goal 0.5 s plus tcpikectl's poll)" \
	test "$ms" -lt 750
won=$(grep -oE 'TCP answered first, [0-9]+ ms after initiating; [^ ]+ over UDP dropped' "$IKE_DIR/a.log")
tap_diag "a's log: $won"
tap_check "auto, UDP blocked: a logged that TCP won the race, and after how long (under 0.5 s)" \
	test -n "$won" -a "$(echo "$won" | awk '{ print $4 }')" -lt 500
# A second UDP retransmission would go at 1 s: none, the UDP SA lost.
sleep 1.5
pcap_stop
# The same times on the wire, from b's capture (outside the daemons): a's
# first UDP IKE_SA_INIT, a's first SYN to TCP 4500, and the last TCP
# segment with data from b (its IKE_AUTH response; backend none: no ESP).
wire_ms=$(tcpdump -tt -nn -r "$PCAP" 2>/dev/null | awk '
	function ms(t) { return int(t * 1000) }
	/10\.0\.0\.1\.500 > 10\.0\.0\.2\.500: / && !u { u = ms($1) }
	/10\.0\.0\.1\.[0-9]+ > 10\.0\.0\.2\.4500: Flags \[S\]/ && !s { s = ms($1) }
	/10\.0\.0\.2\.4500 > 10\.0\.0\.1\.[0-9]+: Flags/ && !/length 0$/ { r = ms($1) }
	END { if (u && s && r) print s - u, r - u; else print "none none" }')
tap_diag "on the wire: first SYN $(echo $wire_ms | cut -d' ' -f1) ms after the first UDP IKE_SA_INIT, b's last TCP data $(echo $wire_ms | cut -d' ' -f2) ms after it"
tap_check "on the wire: a's SYN within 0.5 s of its first UDP IKE_SA_INIT (the race, tcp_race_delay 250 ms)" \
	test "${wire_ms%% *}" != none -a "${wire_ms%% *}" -lt 500
tap_check "on the wire: b's IKE_AUTH response over TCP within 1.0 s of a's first UDP IKE_SA_INIT" \
	test "${wire_ms##* }" != none -a "${wire_ms##* }" -lt 1000
reqs=$(python3 "$TOP/selftests/ikepcap.py" "$PCAP")
tap_diag "$reqs"
udp=$(printf '%s\n' "$reqs" | grep -c '^udp ')
tcp=$(printf '%s\n' "$reqs" | grep -c '^tcp ')
tap_check "the UDP IKE_SA_INIT went out at least twice before the fallback (TCP-15)" \
	test "$udp" -ge 2
tap_expect_eq "exactly one IKE_SA_INIT over TCP" 1 "$tcp"
spis_udp=$(printf '%s\n' "$reqs" | sed -n 's/^udp .*SPIi=\([0-9a-f]*\).*/\1/p' | sort -u)
spi_tcp=$(printf '%s\n' "$reqs" | sed -n 's/^tcp .*SPIi=\([0-9a-f]*\).*/\1/p')
tap_check "the UDP retransmissions share one SPIi, the TCP request has a new one (TCP-16)" \
	test "$(printf '%s\n' "$spis_udp" | wc -l)" = 1 -a -n "$spi_tcp" -a "$spi_tcp" != "$spis_udp"
tap_check "NAT-D of every UDP request: its own addresses and ports" \
	test -z "$(printf '%s\n' "$reqs" | grep '^udp ' | grep -v 'natd_src=yes natd_dst=yes')"
tap_check "NAT-D of the TCP request: the TCP connection's addresses and ports (TCP-16, TCP-31)" \
	test -n "$(printf '%s\n' "$reqs" | grep '^tcp ' | grep 'natd_src=yes natd_dst=yes')"
tap_check "a reports the fallback, no NAT found" \
	test "$(ike1 a tcp_fallback) $(ike1 a nat_local)" = "True False"
tap_expect_eq "UDP twice, then TCP, then nothing more over UDP (the UDP SA was dropped)" \
	"udp udp tcp" "$(printf '%s\n' "$reqs" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
tap_expect_eq "a's counters: one race, won by TCP, one connection opened" "1 1 0 1" \
	"$(ike_counter a tcp_races) $(ike_counter a tcp_races_tcp_won) $(ike_counter a tcp_races_udp_won) $(ike_counter a tcp_connects)"
tap_expect_eq "auto, UDP blocked: one TCP connection at each end, the winner's (ss)" "1 1" \
	"$(ip netns exec "$NS_A" ss -Htn state established dport = :4500 | wc -l) $(ip netns exec "$NS_B" ss -Htn state established sport = :4500 | wc -l)"
ike_stop a
ike_stop b

# UDP answers late: b drops a's first UDP request and every SYN to 4500.
# After tcp_race_delay a sends the UDP request again (answered) and starts
# TCP (its SYN lost): UDP completes IKE_SA_INIT first and wins; the TCP
# attempt goes with its socket, so the kernel retransmits no SYN (it would
# at about 1.25 s) and no TCP socket is left at either end.
ip netns exec "$NS_B" nft delete table inet blk
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet late {
	set seen { type ipv4_addr; flags dynamic; }
	chain in {
		type filter hook input priority -20;
		udp dport 500 ip saddr @seen accept
		udp dport 500 add @seen { ip saddr } drop
		tcp dport 4500 tcp flags & (syn|ack) == syn drop
	}
}
NFT
auto_initiate late.pcap 'udp port 500 or tcp port 4500'
expect_established "auto, UDP answering after the race started: established over UDP"
sleep 2
pcap_stop
tap_diag "a's log: $(grep -oE '(UDP|TCP) answered first, [0-9]+ ms after[^;]*' "$IKE_DIR/a.log")"
tap_check "auto, UDP answering after the race started: a logged that UDP won the race" \
	grep -qE 'UDP answered first, [0-9]+ ms after initiating; [^ ]+ over TCP dropped' "$IKE_DIR/a.log"
tap_expect_eq "auto, UDP answering after the race started: a reports UDP; one race, won by UDP, one connect" \
	"udp 1 1 0 1" "$(ike1 a transport) $(ike_counter a tcp_races) $(ike_counter a tcp_races_udp_won) $(ike_counter a tcp_races_tcp_won) $(ike_counter a tcp_connects)"
tap_expect_eq "auto, UDP answering after the race started: the loser's SYN went once, never retransmitted (b's capture)" \
	1 "$(tcpdump -nr "$PCAP" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | wc -l)"
# (TIME-WAIT is left out: the TCP case above closed its connection, and
# the end that closed first keeps its TIME-WAIT for a minute; a socket the
# daemon still held would be SYN-SENT, ESTABLISHED or closing.)
socks_a=$(ip netns exec "$NS_A" ss -Htan exclude time-wait dport = :4500)
socks_b=$(ip netns exec "$NS_B" ss -Htan exclude time-wait sport = :4500 | grep -v LISTEN)
tap_diag "$socks_a" "$socks_b"
tap_expect_eq "auto, UDP answering after the race started: no TCP socket to or from 4500 left at a or b (ss)" \
	"0 0" "$(printf '%s' "$socks_a" | grep -c .) $(printf '%s' "$socks_b" | grep -c .)"
ike_stop a
ike_stop b
ip netns exec "$NS_B" nft delete table inet late

# RT-19: assume_no_nat = yes leaves NAT-D out of a's IKE_SA_INIT (UDP open
# now); the default above sent them.
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test "conn_extra=assume_no_nat = yes"
PCAP=$IKE_DIR/nonat.pcap
pcap_start "$NS_B" vb "$PCAP" 'udp port 500 or udp port 4500'
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_fail "tcpiked started"
ike_ctl a initiate c --no-wait >/dev/null
tap_check "assume_no_nat: established over UDP" wait_for 10 ike_established a
pcap_stop
reqs=$(python3 "$TOP/selftests/ikepcap.py" "$PCAP")
tap_diag "$reqs"
tap_check "assume_no_nat: the IKE_SA_INIT request carries no NAT-D (RT-19)" \
	test -n "$(printf '%s\n' "$reqs" | grep '^udp 500>500 .*natd_src=- natd_dst=-')" -a \
	-z "$(printf '%s\n' "$reqs" | grep 'natd_src=yes')"
ike_stop a
ike_stop b

# UDP open: auto is as fast as udp and opens no TCP connection (no SYN on
# the wire, counted by tcpdump on b's link, outside the daemons).
auto_initiate open.pcap 'udp port 500 or udp port 4500 or tcp'
expect_established "auto, UDP open: established over UDP"
log_d=$(log_ms a "initiating to c" "installed: SPIs")
tap_diag "auto, UDP open: initiate returned with the tunnel up in $ms ms ($log_d ms by a's log)"
tap_check "auto, UDP open: the Child SA installed before tcp_race_delay could pass (${log_d} ms < 250 ms by a's log: nothing waited for)" \
	test "$log_d" -lt 250
sleep 1
pcap_stop
syns=$(tcpdump -nr "$PCAP" 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null | wc -l)
udp=$(tcpdump -nr "$PCAP" 'udp port 500' 2>/dev/null | wc -l)
tap_expect_eq "auto, UDP open: no TCP SYN on the wire, IKE over UDP 500 both ways (TCP-4)" \
	"0 yes" "$syns $([ "$udp" -ge 4 ] && echo yes || echo "no ($udp)")"
tap_expect_eq "auto, UDP open: a reports UDP, no race, no connection" "udp 0 0" \
	"$(ike1 a transport) $(ike_counter a tcp_races) $(ike_counter a tcp_connects)"
ike_stop a
ike_stop b

# tcp_race_delay = 0, UDP open: TCP starts beside the first UDP request,
# which goes once; one of the two wins, and a keeps no connection of the
# loser (a SYN per setup is the price of 0).
AUTO_EXTRA="tcp_race_delay = 0" auto_initiate zero.pcap 'udp port 500 or tcp port 4500'
expect_established "auto, tcp_race_delay = 0, UDP open: established"
sleep 1
pcap_stop
won=$(grep -oE '(UDP|TCP) answered first, [0-9]+ ms after initiating' "$IKE_DIR/a.log")
tap_diag "tcp_race_delay = 0: $won; initiate returned after $ms ms"
tap_expect_eq "auto, tcp_race_delay = 0: one UDP IKE_SA_INIT request, one SYN, one race, one winner" "1 1 1 1" \
	"$(python3 "$TOP/selftests/ikepcap.py" "$PCAP" | grep -c '^udp ') $(tcpdump -nr "$PCAP" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | wc -l) $(ike_counter a tcp_races) $(( $(ike_counter a tcp_races_udp_won) + $(ike_counter a tcp_races_tcp_won) ))"
if [ "$(ike1 a transport)" = udp ]; then
	tap_expect_eq "auto, tcp_race_delay = 0: UDP won, a has no TCP connection left to 4500 (ss)" \
		0 "$(ip netns exec "$NS_A" ss -Htn state established dport = :4500 | wc -l)"
else
	tap_expect_eq "auto, tcp_race_delay = 0: TCP won, a has its one connection to 4500 (ss)" \
		1 "$(ip netns exec "$NS_A" ss -Htn state established dport = :4500 | wc -l)"
fi
ike_stop a
ike_stop b
tap_done
