#!/bin/bash
# tcpike.ko steer after XFRM_MSG_NEWAE lowered a replay window: NEWAE may
# lower replay_window and keeps bmp_len (the size of the bitmap), so the
# steered state's anti-replay state must be a copy of the old one's, sized
# from bmp_len (xfrm_replay_clone), never rebuilt from replay_window: a
# bitmap sized from the lowered window overflows when the old one is
# copied into it (KASAN under make check-debug), and a window of 32 or
# less without ESN loses the bitmap state and restarts the output
# sequence at 1 (a reused AES-GCM nonce).  The anti-replay state is read
# through XFRM netlink (selftests/xfrm_ae.py) before and after.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
AE="python3 $TOP/selftests/xfrm_ae.py"
module_load
topo_pair ae
encap_sockets ae-enc
tap_check "tunnel with 1024-packet replay windows (a 32-word bitmap)" module_tunnel --replay 1024
tap_check "traffic through it" ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1
# B's inbound window down to 64, A's outbound one down to 32.
tap_check "NEWAE lowers B's inbound window to 64" ip netns exec "$NS_B" $AE set-window 10.0.0.2 0x1001 64
tap_check "NEWAE lowers A's outbound window to 32" ip netns exec "$NS_A" $AE set-window 10.0.0.2 0x1001 32
b0=$(ip netns exec "$NS_B" $AE get 10.0.0.2 0x1001)
a0=$(ip netns exec "$NS_A" $AE get 10.0.0.2 0x1001)
case "$b0 / $a0" in
"window 64 bmp_len 32 seq 5 "*"/ window 32 bmp_len 32 seq 0 oseq 5 "*) tap_ok "the windows are lowered, the bitmaps keep 32 words" ;;
*) tap_fail "the windows are lowered, the bitmaps keep 32 words" "B: $b0; A: $a0" ;;
esac
steer() { # encap [ports]
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 "$@" &&
		ip netns exec "$ns" "$NL" sa-steer --spi 0x2002 --dst 10.0.0.1 "$@" || return 1
	done
}
tap_check "steer raw -> udp on both ends" steer --encap udp --sport 4500 --dport 4500
tap_expect_eq "B's inbound anti-replay state carried over whole (window 64, 32 words, seq, bitmap)" \
	"$b0" "$(ip netns exec "$NS_B" $AE get 10.0.0.2 0x1001)"
tap_expect_eq "A's outbound anti-replay state carried over whole (window 32, 32 words, oseq)" \
	"$a0" "$(ip netns exec "$NS_A" $AE get 10.0.0.2 0x1001)"
tap_check "traffic through the steered tunnel" ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1
a1=$(ip netns exec "$NS_A" $AE get 10.0.0.2 0x1001)
case "$a1" in
*" oseq 8 "*) tap_ok "A's output sequence went on from 5 to 8 (no restart at 1)" ;;
*) tap_fail "A's output sequence went on from 5 to 8 (no restart at 1)" "$a1" ;;
esac
b1=$(ip netns exec "$NS_B" $AE get 10.0.0.2 0x1001)
case "$b1" in
"window 64 bmp_len 32 seq 8 "*) tap_ok "B accepted 6-8 in the carried window" ;;
*) tap_fail "B accepted 6-8 in the carried window" "$b1" ;;
esac
tap_check "steer back udp -> raw" steer --encap raw
tap_expect_eq "and back: the same state" "$b1" "$(ip netns exec "$NS_B" $AE get 10.0.0.2 0x1001)"
module_unload "rmmod once the namespaces are gone"
tap_done
