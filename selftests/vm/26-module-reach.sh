#!/bin/bash
# tcpike.ko policy dump: every policy the module made in the namespace, as
# the kernel holds it, once, resumed across buffers, not the others.
#
# tcpike.ko reachability events: a watch on the outbound SA of a live
# tunnel starts unknown and reports "up" for the first inbound ESP on the
# paired SA after it was set, "down" once outbound ESP went on for its
# timeout with no inbound ESP (the peer's ESP is dropped on its way out),
# not before, "up" again when inbound ESP comes back, and, set again, "up"
# for the next inbound ESP; bad requests are refused with their sentence;
# the watch goes with its SA; unload with a live watch is clean.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair rc
tap_check "tunnel through the module" module_tunnel

nl_a() { ip netns exec "$NS_A" "$NL" "$@" 2>&1; }
refused() { # description expected-sentence output
	case "$3" in *"$2"*) tap_ok "$1" ;; *) tap_fail "$1" "$3" ;; esac
}
ip netns exec "$NS_A" "$NL" policy-new --dir out --from 10.7.0.0/16 --to 10.8.0.0/16 \
	--mode transport --proto 6 --priority 5 --reqid 9
ip -n "$NS_A" xfrm policy add dir out src 10.9.0.0/16 dst 10.10.0.0/16 tmpl proto esp mode transport
tap_expect_eq "policy dump: the module's policies with selector, priority and template" \
"fwd 192.168.2.0/24 -> 192.168.1.0/24 proto 0 priority 0 reqid 7 tunnel 10.0.0.2 -> 10.0.0.1
in 192.168.2.0/24 -> 192.168.1.0/24 proto 0 priority 0 reqid 7 tunnel 10.0.0.2 -> 10.0.0.1
out 10.7.0.0/16 -> 10.8.0.0/16 proto 6 priority 5 reqid 9 transport
out 192.168.1.0/24 -> 192.168.2.0/24 proto 0 priority 0 reqid 7 tunnel 10.0.0.1 -> 10.0.0.2" \
	"$(ip netns exec "$NS_A" "$NL" policy-dump | sort)"
FAST=$TOP/build/tools/tcpike-nl
[ -x "$FAST" ] || FAST=$NL
ok=1
for i in $(seq 1 60); do
	ip netns exec "$NS_A" "$FAST" policy-new --dir in --from 10.20.$i.0/24 --to 10.30.0.0/16 \
		--mode transport --reqid 9 || ok=0
done
tap_expect_eq "60 more policies made" 1 "$ok"
tap_expect_eq "policy dump over several buffers lists each of the 64 once" 64 \
	"$(ip netns exec "$NS_A" "$NL" policy-dump | sort -u | wc -l)"
tap_expect_eq "the other namespace dumps its own 3" 3 "$(ip netns exec "$NS_B" "$NL" policy-dump | wc -l)"
ip netns exec "$NS_A" "$NL" policy-del --dir out --from 10.7.0.0/16 --to 10.8.0.0/16 --proto 6
for i in $(seq 1 60); do
	ip netns exec "$NS_A" "$FAST" policy-del --dir in --from 10.20.$i.0/24 --to 10.30.0.0/16
done
ip -n "$NS_A" xfrm policy del dir out src 10.9.0.0/16 dst 10.10.0.0/16
tap_expect_eq "after the deletes the dump shows the tunnel's 3" 3 \
	"$(ip netns exec "$NS_A" "$NL" policy-dump | wc -l)"

refused "watch on an unknown SA refused" "no SA with this SPI and destination" \
	"$(nl_a reach --spi 0x7777 --dst 10.0.0.2 --pair-spi 0x2002 --timeout 2)"
refused "watch with an unknown pair refused" "no paired SA" \
	"$(nl_a reach --spi 0x1001 --dst 10.0.0.2 --pair-spi 0x7777 --timeout 2)"
refused "watch without a pair refused" "missing paired inbound SA" \
	"$(nl_a reach --spi 0x1001 --dst 10.0.0.2 --timeout 2)"
refused "watch with a timeout above 3600 s refused" "tcpike-nl: reach:" \
	"$(nl_a reach --spi 0x1001 --dst 10.0.0.2 --pair-spi 0x2002 --timeout 3601)"
refused "removing an absent watch refused" "no reachability watch on this SA" \
	"$(nl_a reach --spi 0x1001 --dst 10.0.0.2 --timeout 0)"

tap_check "watch 0x1001 (pair 0x2002, 2 s) set" \
	ip netns exec "$NS_A" "$NL" reach --spi 0x1001 --dst 10.0.0.2 --pair-spi 0x2002 --timeout 2
tap_expect_eq "stats count the watch" "reach watches 1" "$(nl_a stats | grep '^reach')"
ip netns exec "$NS_A" "$NL" monitor --count 4 --timeout 90 >/tmp/rc-mon.log 2>&1 &
MON=$!
wait_for 10 grep -q listening /tmp/rc-mon.log
ups_at_least() { [ "$(grep -c '^reach up' /tmp/rc-mon.log)" -ge "$1" ]; }
UP="reach up spi 0x00001001 dst 10.0.0.2 pair 0x00002002 timeout 2"
ping_start /tmp/rc-ping.log
wait_for 10 ups_at_least 1
tap_expect_eq "up event for the first inbound ESP after the watch was set" "$UP" \
	"$(grep '^reach' /tmp/rc-mon.log)"
sleep 4
tap_expect_eq "no other event while ESP flows both ways" 1 "$(grep -c '^reach' /tmp/rc-mon.log)"
# B's ESP to A is dropped on its way out: A keeps sending, hears nothing.
ms() { echo $(($(date +%s%N) / 1000000)); }
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain out {
		type filter hook output priority 0;
		meta l4proto esp drop
	}
}
NFT
t0=$(ms)
wait_for 20 grep -q '^reach down' /tmp/rc-mon.log
t1=$(ms)
tap_expect_eq "down event for the watched SA" \
	"reach down spi 0x00001001 dst 10.0.0.2 pair 0x00002002 timeout 2" \
	"$(grep '^reach down' /tmp/rc-mon.log)"
[ $((t1 - t0)) -ge 1500 ] && tap_ok "not reported before the timeout ($((t1 - t0)) ms after the block)" ||
	tap_fail "not reported before the timeout" "$((t1 - t0)) ms after the block"
ip netns exec "$NS_B" nft delete table inet blk
wait_for 20 ups_at_least 2
tap_expect_eq "up event when inbound ESP resumes" "$UP" "$(grep '^reach up' /tmp/rc-mon.log | sed -n 2p)"
tap_check "watch set again while ESP flows" \
	ip netns exec "$NS_A" "$NL" reach --spi 0x1001 --dst 10.0.0.2 --pair-spi 0x2002 --timeout 2
wait_for 10 ups_at_least 3
tap_expect_eq "set again, the watch starts over: up for the next inbound ESP" \
	"up down up up" "$(grep '^reach' /tmp/rc-mon.log | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
wait $MON
kill -INT $PING
wait $PING
tap_check "watch removed" ip netns exec "$NS_A" "$NL" reach --spi 0x1001 --dst 10.0.0.2 --timeout 0
tap_expect_eq "stats show no watch" "" "$(nl_a stats | grep '^reach')"
tap_check "watch set again" \
	ip netns exec "$NS_A" "$NL" reach --spi 0x1001 --dst 10.0.0.2 --pair-spi 0x2002 --timeout 2
tap_check "its SA deleted" ip netns exec "$NS_A" "$NL" sa-del --spi 0x1001 --dst 10.0.0.2
wait_for 10 sh -c "! ip netns exec $NS_A $NL stats | grep -q '^reach'"
tap_expect_eq "the watch went with its SA" "" "$(nl_a stats | grep '^reach')"
tap_check "watch on the reverse SA in B" \
	ip netns exec "$NS_B" "$NL" reach --spi 0x2002 --dst 10.0.0.1 --pair-spi 0x1001 --timeout 5
module_unload_refused "rmmod refused while the watched SAs live"
module_unload "rmmod once the namespaces are gone (a watch live)"
tap_done
