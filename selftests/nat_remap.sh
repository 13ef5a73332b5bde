#!/bin/bash
# Real ESP-in-UDP through a NAT whose mapping changes (RFC 7296 §2.23,
# RFC 3948), once with the xfrm backend and once with the module: a (behind
# the masquerade router r) and b run tcpiked, ping flows through the tunnel;
# then r forgets the mapping and hands out a new port.  After a's next
# authenticated message (an IKE SA rekey) b's IKE SA and its existing Child
# SA (same SPIs: steered, not rekeyed) use the new port, and ping flows
# again.  Without the steer, b's ESP would still go to the dead mapping.
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
	ike_stop a
	ike_stop b
	ns_cleanup
	[ $backend = module ] && rmmod tcpike
done
tap_done
