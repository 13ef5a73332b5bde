#!/bin/bash
# transport = auto with UDP blocked, checked on the wire (RFC 9329 §5.1):
# the UDP IKE_SA_INIT is retransmitted before the fallback (TCP-15), the
# TCP attempt is a new IKE_SA_INIT with a new SPIi (TCP-16), and every
# request's NAT-D hashes are computed over its own addresses and ports,
# the TCP ports for the TCP one (TCP-16, TCP-31, RT-18); with assume_no_nat
# none at all (RT-19).  A capture on b's link is read by
# selftests/ikepcap.py, which recomputes the hashes.
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
# The fallback delay leaves room for one UDP retransmission (1 s, then
# 2 s later): TCP-15 asks for at least one before TCP.
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test \
	"conn_extra=transport = auto;tcp_fallback_delay = 1500ms"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test
PCAP=$IKE_DIR/fallback.pcap
pcap_start "$NS_B" vb "$PCAP" 'udp port 500 or udp port 4500 or tcp port 4500'
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_fail "tcpiked started"
ike_ctl a initiate c --no-wait >/dev/null
expect_established "auto, UDP blocked: established over TCP"
pcap_stop
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
ike_stop a
ike_stop b

# RT-19: assume_no_nat = yes leaves NAT-D out of a's IKE_SA_INIT (UDP open
# now); the default above sent them.
ip netns exec "$NS_B" nft delete table inet blk
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
tap_done
