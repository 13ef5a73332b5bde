#!/bin/bash
# tcpike.ko SA steer: a live tunnel's ESP moves from raw IP to UDP
# encapsulation and back while a ping stream runs; SPIs stay, sequence
# numbers continue, at most a handful of packets are lost, and the wire
# shows the change (nft counters on the receiver's link).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair st
tap_check "tunnel through the module" module_tunnel

# An RFC 3948 encapsulation socket on UDP 4500 in each namespace, as the
# daemon holds it.
encap_sockets encap
wire_in "esp=meta l4proto esp" "udp4500=udp dport 4500"
# Both ends of each direction switch together, as two daemons would: XFRM
# drops ESP whose encapsulation does not match the receiving state.  The
# plain (non-ASan) client keeps the gap short under emulation.
FAST=$TOP/build/tools/tcpike-nl
[ -x "$FAST" ] || FAST=$NL
steer_all() { # encap [ports...]
	local pids=() p rc=0
	ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 "$@" & pids+=($!)
	ip netns exec "$NS_B" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 "$@" & pids+=($!)
	ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x2002 --dst 10.0.0.1 "$@" & pids+=($!)
	ip netns exec "$NS_B" "$FAST" sa-steer --spi 0x2002 --dst 10.0.0.1 "$@" & pids+=($!)
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

ping_start /tmp/steer-ping.log
sleep 2
s0=$((16#$(sa_oseq)))
tap_check "steer raw -> udp (4500 -> 4500) on both sides" steer_all --encap udp --sport 4500 --dport 4500
e0=$(rule_cnt esp) u0=$(rule_cnt udp4500)
sleep 3
e1=$(rule_cnt esp) u1=$(rule_cnt udp4500) s1=$((16#$(sa_oseq)))
[ $((u1 - u0)) -ge 20 ] && [ $((e1 - e0)) -le 1 ] &&
	tap_ok "ESP moved into UDP 4500 on the wire (udp +$((u1 - u0)), raw +$((e1 - e0)))" ||
	tap_fail "ESP moved into UDP 4500 on the wire" "udp +$((u1 - u0)), raw +$((e1 - e0))"
[ "$s1" -gt "$s0" ] && tap_ok "sequence numbers continued across the steer ($s0 -> $s1)" ||
	tap_fail "sequence numbers continued across the steer" "$s0 -> $s1"
tap_check "ip xfrm shows the same SPI with UDP encapsulation" sh -c \
	"ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 | grep -q 'encap type espinudp sport 4500 dport 4500'"
out=$(ip netns exec "$NS_A" "$NL" sa-get --spi 0x1001 --dst 10.0.0.2)
tap_check "sa-get reports the UDP transport" sh -c "printf '%s' '$out' | grep -q 'encap udp 4500 -> 4500'"
# A NAT port change as B sees it: A's outbound SA now leaves from 4600.
# B's key manager hears of it once the packet authenticated.
ip netns exec "$NS_B" "$NL" monitor --count 1 --timeout 30 >/tmp/steer-map.log 2>&1 &
MON=$!
wait_for 10 grep -q listening /tmp/steer-map.log
ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4600 --dport 4500
wait $MON
tap_expect_eq "NAT port change reported as a mapping event" \
	"mapping spi 0x00001001 dst 10.0.0.2 peer 10.0.0.1:4500 now 10.0.0.1:4600" \
	"$(grep mapping /tmp/steer-map.log)"
ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500
tap_check "steer udp -> raw on both sides" steer_all --encap raw
e1=$(rule_cnt esp) u1=$(rule_cnt udp4500)
sleep 3
e2=$(rule_cnt esp) u2=$(rule_cnt udp4500)
[ $((e2 - e1)) -ge 20 ] && [ $((u2 - u1)) -le 1 ] &&
	tap_ok "ESP back on raw IP (raw +$((e2 - e1)), udp +$((u2 - u1)))" ||
	tap_fail "ESP back on raw IP" "raw +$((e2 - e1)), udp +$((u2 - u1))"
# Four steers on the path (two of both ends, two of A alone): a handful
# (at most 5) lost per steer.
ping_check "ping stream survived four steers" /tmp/steer-ping.log 20
n=$(ip -n "$NS_A" xfrm state | grep -c '^src')
tap_expect_eq "each steer replaced its state (no leftovers)" 2 "$n"

out=$(ip netns exec "$NS_A" "$NL" sa-steer --spi 0x7777 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500 2>&1)
case "$out" in *"no SA with this SPI"*) tap_ok "steer of an unknown SA refused" ;;
*) tap_fail "steer of an unknown SA refused" "$out" ;; esac
out=$(ip netns exec "$NS_A" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp 2>&1)
case "$out" in *"needs both ports"*) tap_ok "UDP steer without ports refused" ;;
*) tap_fail "UDP steer without ports refused" "$out" ;; esac
out=$(ip netns exec "$NS_A" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap tcp 2>&1)
case "$out" in *"TCP encapsulation needs both ports"*) tap_ok "TCP steer without ports refused" ;;
*) tap_fail "TCP steer without ports refused" "$out" ;; esac
st=$(ip netns exec "$NS_A" "$NL" stats)
tap_expect_eq "steer counter" "steers 6" "$(echo "$st" | grep -o 'steers [0-9]*')"
module_unload_refused "rmmod refused with the steered SAs live"
module_unload "rmmod once the namespaces are gone"
tap_done
