#!/bin/bash
# Real ESP-in-UDP through a NAT whose mapping changes (RFC 7296 §2.23,
# RFC 3948), once with the xfrm backend and once with the module: a (behind
# the masquerade router r) and b run tcpiked, ping flows through the tunnel;
# then r forgets the mapping and hands out a new port.  After a's next
# authenticated message (an IKE SA rekey) b's IKE SA and its existing Child
# SA (same SPIs: steered, not rekeyed) use the new port, and ping flows
# again.  Without the steer, b's ESP would still go to the dead mapping.
# Then r's public address changes (SNAT to a second address) under a
# running ping: b moves its Child SA (same SPIs) and the policies'
# templates to a's new address, and deleting the tunnel leaves nothing.
#
# One backend per script (38 runs the module): under emulation each takes
# minutes.  The test kernel has no ctnetlink, so the mapping is dropped by letting it
# time out: short UDP conntrack timeouts on r, a quiet moment, defaults back.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"

sa0="s['ike_sas'][0]"
ch0="$sa0['children'][0]"
ping_ok() { ip netns exec "$NS_A" ping -q -c 3 -i 0.3 -W 2 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
ct() { ip netns exec "$NS_R" sysctl -qw "net.netfilter.nf_conntrack_udp_timeout=$1" \
	"net.netfilter.nf_conntrack_udp_timeout_stream=$2"; }
# ESP in UDP 4500 from a, excluding IKE (non-ESP marker: 4 zero bytes)
# and keepalives (UDP length 9).
esp_cnt() { ip netns exec "$NS_R" nft list counter inet cnt espc | awk '/packets/ {print $2}'; }

for backend in ${NAT_REMAP_BACKEND:-xfrm}; do
	if [ $backend = module ]; then
		if [ ! -f "$TCPIKE_MODULE" ]; then
			tap_skip "module backend" "module not built ($TCPIKE_MODULE)"
			continue
		fi
		lsmod | grep -q '^tcpike ' || insmod "$TCPIKE_MODULE" ||
			{ tap_fail "module backend: insmod tcpike.ko"; continue; }
	fi
	topo_nat "vn$backend$$" || tap_skip_all "cannot build the NAT topology"
	ip -n "$NS_A" route add 192.168.2.0/24 via 10.1.0.1 src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
	ip netns exec "$NS_R" nft -f - <<'NFT'
table inet cnt {
	counter espc {}
	chain count {
		type filter hook forward priority 0;
		iifname "ra" udp dport 4500 udp length > 9 @th,64,32 != 0 counter name espc
	}
}
NFT
	ike_conf a backend=$backend local=10.1.0.2 remote=10.0.0.2 lts=192.168.1.0/24 \
		rts=192.168.2.0/24 lid=fqdn:a.test rid=fqdn:b.test conn_extra="keepalive_interval = 60s"
	ike_conf b backend=$backend local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 \
		rts=192.168.1.0/24 lid=fqdn:b.test rid=fqdn:a.test
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
	if wait_for 30 ike_established a && wait_for 10 ike_established b; then
		tap_ok "$backend: established through the NAT"
	else
		tap_fail "$backend: established through the NAT"; ike_log a; ike_log b
	fi
	tap_expect_eq "$backend: backend in use, Child SA UDP-encapsulated" "$backend udp udp" \
		"$(ike_jq a "s['backend']") $(ike_jq a "$ch0['esp_transport']") $(ike_jq b "$ch0['esp_transport']")"
	e0=$(esp_cnt)
	if wait_for 10 ping_ok; then
		tap_ok "$backend: ping through the tunnel"
	else
		tap_fail "$backend: ping through the tunnel"; ike_log b
	fi
	tap_check "$backend: the ping went as ESP in UDP 4500 through r ($e0 -> $(esp_cnt))" \
		test "$(esp_cnt)" -gt "$e0"

	# New mapping: the masquerade moves to 40000-40009; short timeouts,
	# one refreshing ping, quiet until the old entry is gone.
	spi_b=$(ike_jq b "$ch0['spi_in']")
	ip netns exec "$NS_R" nft -f - <<'NFT'
flush chain ip nat post
add rule ip nat post oifname "rb" meta l4proto udp masquerade to :40000-40009
NFT
	ct 1 1
	ping_ok
	sleep 4
	ct 30 120
	ike_ctl a rekey c ike >/dev/null
	moved() { p=$(ike_jq b "$sa0['remote_port']"); [ "$p" -ge 40000 ] && [ "$p" -le 40009 ]; }
	if wait_for 20 moved; then
		tap_ok "$backend: b's IKE SA follows the new mapping ($(ike_jq b "$sa0['remote_port']"))"
	else
		tap_fail "$backend: b's IKE SA follows the new mapping" "remote port $(ike_jq b "$sa0['remote_port']")"
		ike_log b
	fi
	new_port=$(ike_jq b "$sa0['remote_port']")
	moved || new_port=none
	tap_expect_eq "$backend: b's existing Child SA (same SPI) steered to the new port" \
		"$spi_b $new_port" "$(ike_jq b "$ch0['spi_in']") $(ike_jq b "$ch0['encap_remote_port']")"
	if wait_for 10 ping_ok; then
		tap_ok "$backend: ping through the tunnel over the new mapping"
	else
		tap_fail "$backend: ping through the tunnel over the new mapping"; ike_log b
	fi
	tap_check "$backend: no steering failure logged" sh -c "! grep -q 'moving .* ESP-in-UDP' '$IKE_DIR/b.log'"

	# The NAT's public address changes under a running ping: r takes
	# 10.0.0.3 as well and from now on a's UDP leaves as 10.0.0.3:4500
	# (stateless, untracked, rewritten both ways: the change is at once,
	# no conntrack entry keeps the old mapping), and what b sends to the
	# old public address is dropped (that mapping is gone).  a's ESP
	# reaches b from the new address, b's kernel reports the mapping
	# (the packet decrypted), and b moves its Child SA there: same SPIs,
	# both states and the policies' templates (XFRM_MSG_MIGRATE with
	# xfrm, the module's move with the module), RFC 7296 §2.23.
	ip -n "$NS_R" addr add 10.0.0.3/24 dev rb
	spi_b=$(ike_jq b "$ch0['spi_in']")
	spi_bo=$(ike_jq b "$ch0['spi_out']")
	ip netns exec "$NS_A" ping -q -c 75 -i 0.2 -W 1 -I 192.168.1.1 192.168.2.1 \
		>"$IKE_DIR/ping-move.txt" 2>&1 &
	ping_pid=$!
	sleep 2
	ip netns exec "$NS_R" nft -f - <<'NFT'
table ip renat {
	counter esp_new {}
	counter esp_old {}
	chain pre {
		type filter hook prerouting priority -300;
		iifname "ra" ip saddr 10.1.0.2 udp sport { 500, 4500 } notrack
		iifname "rb" ip daddr 10.0.0.3 udp dport 4500 udp length > 9 @th,64,32 != 0 counter name esp_new
		iifname "rb" ip daddr 10.0.0.3 udp dport { 500, 4500 } notrack ip daddr set 10.1.0.2
		iifname "rb" ip daddr 10.0.0.1 udp dport != 500 udp length > 9 @th,64,32 != 0 counter name esp_old
		iifname "rb" ip daddr 10.0.0.1 meta l4proto udp drop
	}
	chain post {
		type filter hook postrouting priority 0;
		oifname "rb" ip saddr 10.1.0.2 udp sport { 500, 4500 } ip saddr set 10.0.0.3
	}
}
NFT
	wait "$ping_pid"
	lost=$(awk '/packets transmitted/ {print $1 - $4}' "$IKE_DIR/ping-move.txt")
	if [ -n "$lost" ] && [ "$lost" -le 5 ]; then
		tap_ok "$backend: the ping kept going while the NAT's address changed ($lost of 75 lost)"
	else
		tap_fail "$backend: the ping kept going while the NAT's address changed" \
			"lost '$lost': $(tail -2 "$IKE_DIR/ping-move.txt")"
		ike_log b
	fi
	tap_expect_eq "$backend: b's IKE SA and Child SA (same SPIs) follow the new address" \
		"10.0.0.3 4500 $spi_b $spi_bo" \
		"$(ike_jq b "$sa0['remote']") $(ike_jq b "$sa0['remote_port']") $(ike_jq b "$ch0['spi_in']") $(ike_jq b "$ch0['spi_out']")"
	st=$(ip -n "$NS_B" xfrm state)
	tap_check "$backend: b's kernel SAs are on the new address, none on the old" \
		sh -c "echo '$st' | grep -q 'src 10.0.0.2 dst 10.0.0.3' &&
		       echo '$st' | grep -q 'src 10.0.0.3 dst 10.0.0.2' &&
		       ! echo '$st' | grep -q '10.0.0.1' && echo '$st' | grep -q 'dport 4500'"
	pol=$(ip -n "$NS_B" xfrm policy)
	tap_check "$backend: b's policies' templates name the new address, none the old" \
		sh -c "echo '$pol' | grep -q 'tmpl src 10.0.0.2 dst 10.0.0.3' &&
		       echo '$pol' | grep -q 'tmpl src 10.0.0.3 dst 10.0.0.2' &&
		       ! echo '$pol' | grep -q '10.0.0.1'"
	old0=$(ip netns exec "$NS_R" nft list counter ip renat esp_old | awk '/packets/ {print $2}')
	new0=$(ip netns exec "$NS_R" nft list counter ip renat esp_new | awk '/packets/ {print $2}')
	if wait_for 10 ping_ok; then
		tap_ok "$backend: ping through the tunnel on the new address"
	else
		tap_fail "$backend: ping through the tunnel on the new address"; ike_log b
	fi
	old1=$(ip netns exec "$NS_R" nft list counter ip renat esp_old | awk '/packets/ {print $2}')
	new1=$(ip netns exec "$NS_R" nft list counter ip renat esp_new | awk '/packets/ {print $2}')
	tap_check "$backend: b's ESP goes to the new address, no more to the old ($new0 -> $new1, old $old0 -> $old1)" \
		test "$new1" -gt "$new0" -a "$old1" = "$old0"
	tap_check "$backend: no move failure logged" sh -c "! grep -q 'moving it from' '$IKE_DIR/b.log'"
	ike_ctl b terminate c >/dev/null
	gone() { [ "$(ip -n "$NS_B" xfrm state | grep -c '^src')" = 0 ] &&
		 [ "$(ip -n "$NS_B" xfrm policy | grep -c '^src')" = 0 ]; }
	if wait_for 10 gone; then
		tap_ok "$backend: deleting the tunnel leaves no SA or policy on b"
	else
		tap_fail "$backend: deleting the tunnel leaves no SA or policy on b" \
			"$(ip -n "$NS_B" xfrm state; ip -n "$NS_B" xfrm policy)"
	fi
	ike_stop a
	ike_stop b
	ns_cleanup
	[ $backend = module ] && rmmod tcpike
done
tap_done
