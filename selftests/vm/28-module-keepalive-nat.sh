#!/bin/bash
# tcpike.ko NAT keepalives through a NAT router (issue 3): a behind r
# (nft masquerade, conntrack UDP timeouts 2 s, both the one-way and the
# stream timeout, since the peer answered).  With the module's keepalive
# every 1 s, a's UDP 4500 mapping survives 6 s of idleness: b reaches a
# through it.  With the keepalive removed, the same idleness loses it.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_nat kn
ip netns exec "$NS_R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 &&
ip netns exec "$NS_R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=2 ||
	tap_fail "conntrack UDP timeouts of 2 s on the NAT router"

# b: one datagram in on UDP 4500; where it came from is a's mapping.
rm -f /tmp/kn-b.ready /tmp/kn-b.map /tmp/kn-a.log
ip netns exec "$NS_B" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
open(sys.argv[2], "w").write("bound\n")
s.settimeout(10)
d, a = s.recvfrom(100)
open(sys.argv[1], "w").write("%s %d\n" % a)' /tmp/kn-b.map /tmp/kn-b.ready &
RECV=$!
# a says hello once: b must be bound first (a hello before that is
# answered port-unreachable and lost; python's start-up under TCG took
# longer than a fixed half second once).
wait_for 10 test -s /tmp/kn-b.ready
# a: UDP 4500, says hello to b and logs every datagram it gets.
ip netns exec "$NS_A" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
open(sys.argv[1], "w").write("ready\n")
s.sendto(b"hello", ("10.0.0.2", 4500))
while True:
    d, a = s.recvfrom(100)
    with open(sys.argv[1], "a") as f:
        f.write(d.decode(errors="replace") + "\n")' /tmp/kn-a.log &
wait_for 10 grep -q ready /tmp/kn-a.log
wait $RECV
read -r maddr mport < /tmp/kn-b.map
[ "$maddr" = 10.0.0.1 ] && [ -n "$mport" ] &&
	tap_ok "a's UDP 4500 is mapped by the NAT to $maddr:$mport" ||
	tap_fail "a's UDP 4500 is mapped by the NAT" "$(cat /tmp/kn-b.map)"
b_send() { # text
	ip netns exec "$NS_B" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
s.sendto(sys.argv[1].encode(), (sys.argv[2], int(sys.argv[3])))' "$1" "$maddr" "$mport"
}

KA="ip netns exec $NS_A $NL keepalive --src 10.1.0.2 --dst 10.0.0.2 --sport 4500 --dport 4500"
tap_check "keepalive every 1 s through the NAT" $KA --interval 1
sleep 6
b_send one
wait_for 5 grep -qx one /tmp/kn-a.log &&
	tap_ok "with keepalives the mapping survived 6 s without traffic" ||
	tap_fail "with keepalives the mapping survived 6 s without traffic" "$(cat /tmp/kn-a.log)"
tap_check "keepalive removed" $KA --interval 0
sleep 6
b_send two
sleep 2
grep -qx two /tmp/kn-a.log &&
	tap_fail "without keepalives the mapping expired after 6 s" "a still got b's datagram" ||
	tap_ok "without keepalives the mapping expired after 6 s"
tap_check "keepalive set again, left running" $KA --interval 1
tap_check "rmmod with a live keepalive" rmmod tcpike
tap_done
