#!/bin/bash
# tcpike.ko NAT keepalives (RFC 3948): the kernel sends one 0xFF byte in
# UDP 4500 -> 4500 every interval, from one per-namespace work; they stop
# when removed; bad requests are refused; none is sent while an SA of the
# module sends ESP on the same addresses and ports (RFC 3948 §2.3), and
# they come again when it stops; unload with a live keepalive is clean.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair ka
wire_in "ka=ip saddr 10.0.0.1 udp sport 4500 udp dport 4500 udp length 9 @th,64,8 0xff"
KA="ip netns exec $NS_A $NL keepalive --src 10.0.0.1 --dst 10.0.0.2 --sport 4500 --dport 4500"
tap_check "keepalive every 1 s set" $KA --interval 1
# Reading the counter takes a while under emulation: the window is timed
# from before the first read to after the second.
t0=$(date +%s)
c0=$(rule_cnt ka)
sleep 5
c1=$(rule_cnt ka)
t1=$(date +%s)
n=$((c1 - c0)) d=$((t1 - t0))
[ $n -ge $((d / 2)) ] && [ $n -le $((d + 2)) ] &&
	tap_ok "0xFF keepalives on the wire, about one a second ($n in $d s)" ||
	tap_fail "0xFF keepalives on the wire, about one a second" "$n in $d s"
st=$(ip netns exec "$NS_A" "$NL" stats | sed -n 2p)
case "$st" in "keepalives 1 sent "[1-9]*) tap_ok "module counts the keepalives ($st)" ;;
*) tap_fail "module counts the keepalives" "$st" ;; esac
tap_check "keepalive removed" $KA --interval 0
sleep 1
c2=$(rule_cnt ka)
sleep 3
c3=$(rule_cnt ka)
tap_expect_eq "no keepalive after removal" "$c2" "$c3"
out=$($KA --interval 0 2>&1)
case "$out" in *"no keepalive for these"*) tap_ok "removing an unknown keepalive refused" ;;
*) tap_fail "removing an unknown keepalive refused" "$out" ;; esac
out=$($KA --interval 5000 2>&1)
case "$out" in *"tcpike"*|*"range"*|*"policy"*) tap_ok "interval above 3600 s refused ($out)" ;;
*) tap_fail "interval above 3600 s refused" "$out" ;; esac
out=$(ip netns exec "$NS_A" "$NL" keepalive --src 10.0.0.1 --dst 10.0.0.2 --sport 4500 --dport 0 --interval 1 2>&1)
case "$out" in *"usage"*|*"non-zero"*) tap_ok "port 0 refused" ;;
*) tap_fail "port 0 refused" "$out" ;; esac

# ESP in UDP 4500 -> 4500 from A (a ping stream through the tunnel, its SAs
# steered into UDP) makes the keepalive on those ports unnecessary.
skipped() { ip netns exec "$NS_A" "$NL" stats | sed -n 's/.* skipped \([0-9]*\) .*/\1/p'; }
steer_udp() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500 &&
		ip netns exec "$ns" "$NL" sa-steer --spi 0x2002 --dst 10.0.0.1 --encap udp --sport 4500 --dport 4500 ||
			return 1
	done
}
encap_sockets ka-enc
tunnel_udp() { module_tunnel && steer_udp; }
tap_check "tunnel through the module, its ESP in UDP 4500" tunnel_udp
tap_check "keepalive every 2 s set" $KA --interval 2
ping_start /tmp/ka-ping.log 100000 0.2
sleep 3
c0=$(rule_cnt ka) s0=$(skipped)
sleep 8
c1=$(rule_cnt ka) s1=$(skipped)
[ $((c1 - c0)) -le 1 ] && [ "${s1:-0}" -gt "${s0:-0}" ] &&
	tap_ok "no keepalive while the SA sent ESP on those ports ($((c1 - c0)) on the wire, $((s1 - s0)) skipped)" ||
	tap_fail "no keepalive while the SA sent ESP on those ports" "$((c1 - c0)) on the wire, skipped $s0 -> $s1"
ping_check "the ping stream went through meanwhile" /tmp/ka-ping.log 10
sleep 3
c2=$(rule_cnt ka)
sleep 8
c3=$(rule_cnt ka)
[ $((c3 - c2)) -ge 2 ] && tap_ok "keepalives again once ESP stopped ($((c3 - c2)) in 8 s)" ||
	tap_fail "keepalives again once ESP stopped" "$((c3 - c2)) in 8 s"
# The SAs and policies go (flushed: the module hears of it), the keepalive stays.
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" xfrm state flush
	ip -n "$ns" xfrm policy flush
done
tap_check "keepalive set again, left running" $KA --interval 1
# Only what unload logs is looked at; the log is not cleared (vm-init and
# the debug runner read all of it at the end).
mark=$(dmesg | wc -l)
tap_check "rmmod with a live keepalive" wait_for 10 rmmod tcpike
sleep 2
tap_expect_eq "no WARNING or BUG at unload" "" "$(dmesg | tail -n +$((mark + 1)) | grep -E 'WARNING|BUG|Oops')"
c4=$(rule_cnt ka)
sleep 2
tap_expect_eq "no keepalive after unload" "$c4" "$(rule_cnt ka)"
tap_done
