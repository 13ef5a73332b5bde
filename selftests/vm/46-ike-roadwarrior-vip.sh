#!/bin/bash
# tcpiked as a road warrior (vips = 0.0.0.0) behind a NAT reaching a
# tcpiked remote-access gateway (remote_addrs = %any, a pool) with real
# kernel ESP (issue 22's VM item):
#   a (10.1.0.2) -- r (nft masquerade) -- b (10.0.0.2, 192.168.2.1 behind it)
#   - transport = auto, plain XFRM backend: r drops every UDP packet a
#     sends (a network that blocks UDP; r's counter shows a tried UDP
#     first), a falls back to TCP (RFC 9329); a gets 10.10.0.1 from b's pool, the
#     address is on a's interface holding its IKE address (ip addr), its
#     Child SA's local selector and b's remote one are the address, a ping
#     from 10.10.0.1 to 192.168.2.1 goes as ESP inside the TCP connection
#     (no IKE or ESP on UDP anywhere); a terminates: the address is off
#     a's interfaces again, and no XFRM state or policy is left
#   - separate transports, module backend: r drops UDP 500 only, UDP 4500
#     gets through: IKE on TCP, ESP in UDP 4500 (behind the NAT), the same
#     checks (asking again for the address had before after a reconnect
#     is netns/62's, against charon)
# Runs alone: scripts/vm-run --timeout 900 -- selftests/run-vm.sh 46
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"

VIP=10.10.0.1

# rw_topo PREFIX BLOCK: a behind r's NAT; r drops a's UDP matching BLOCK
# (an nft expression); b routes the pool back towards r.
rw_topo() {
	ns_cleanup
	topo_nat "$1" || return 1
	ip -n "$NS_B" route add 10.10.0.0/24 via 10.0.0.1
	ip netns exec "$NS_R" nft -f - <<NFT
table inet blk {
	chain block {
		type filter hook forward priority filter - 10;
		iifname "ra" $2 counter drop
	}
}
NFT
	[ $? = 0 ] || return 1
	wire_count a="$NS_A" b="$NS_B"
}

rw_conf() {	# rw_conf BACKEND TRANSPORT
	ike_conf a local=10.1.0.2 remote=10.0.0.2 lts=0.0.0.0/0 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend="$1" \
		"conn_extra=transport = $2;vips = 0.0.0.0"
	ike_conf b local=10.0.0.2 remote=%any lts=192.168.2.0/24 rts=10.10.0.0/16 \
		lid=fqdn:b.test rid=fqdn:a.test backend="$1" "conn_extra=pools = rw"
	cat >>"$IKE_DIR/b.conf" <<EOF
pools {
	rw {
		addrs = 10.10.0.0/24
		dns = 10.10.0.53
	}
}
EOF
}

a_vips() { ike_jq a "' '.join(v for i in s['ike_sas'] if i['state']=='ESTABLISHED' for v in i['our_vips'])"; }
a_lts() { ike_jq a "' '.join(c['local_ts'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
b_rts() { ike_jq b "' '.join(c['remote_ts'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
vip_on_a() { ip -n "$NS_A" -o -4 addr show | grep -q " $VIP/32 "; }
vip_dev() { ip -n "$NS_A" -o -4 addr show | awk -v a="$VIP/32" '$4 == a { print $2 }'; }
# datapath.sh's ping, from the virtual IP
ping_ok() { ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I "$VIP" 192.168.2.1 >/dev/null 2>&1; }

# rw_run TAG BACKEND TRANSPORT BLOCK EXPECT: EXPECT (tcpdata, espudp) is the
# transport that must carry the ESP both ways.
rw_run() {
	local tag=$1 backend=$2 xport=$3 block=$4 expect=$5
	rw_topo "rv$$" "$block" || { tap_fail "$tag: topology"; return; }
	rw_conf "$backend" "$xport"
	if ! ike_start "$NS_B" b || ! ike_start "$NS_A" a; then
		tap_fail "$tag: both daemons start"; ike_log a; ike_log b
		return
	fi
	ike_ctl a initiate c --no-wait >/dev/null
	if wait_for 30 ike_established a && wait_for 5 ike_established b; then
		tap_ok "$tag: the road warrior's tunnel is up"
	else
		tap_fail "$tag: the road warrior's tunnel is up"; ike_log a 20; ike_log b 20
		ike_stop a >/dev/null; ike_stop b >/dev/null
		return
	fi
	tap_expect_eq "$tag: a got $VIP from b's pool" "$VIP" "$(a_vips)"
	tap_expect_eq "$tag: selectors narrowed to it on both ends (a's TSi, b's remote)" \
		"$VIP-$VIP|$VIP-$VIP" "$(a_lts)|$(b_rts)"
	tap_expect_eq "$tag: the address is on a's interface holding its IKE address (ip addr)" \
		va "$(vip_dev)"
	grep -q "c\[[0-9]*\]: virtual IP $VIP added to va$" "$IKE_DIR/a.log" &&
		tap_ok "$tag: a logged adding it" ||
		tap_fail "$tag: a logged adding it" "$(grep 'virtual IP' "$IKE_DIR/a.log" | tail -n 3)"
	dp_ping_wire "$tag" "$expect"	# ping_ok: from the virtual IP
	ike_ctl a terminate c >/dev/null
	if wait_for 10 sh -c "! ip -n $NS_A -o -4 addr show | grep -q ' $VIP/32 '"; then
		tap_ok "$tag: a terminated: the address is off a's interfaces"
	else
		tap_fail "$tag: a terminated: the address is off a's interfaces" \
			"$(ip -n "$NS_A" -o -4 addr show)"
		ike_log a 10
	fi
	dp_stop_clean "$tag"
}

# UDP dropped at r: what a sent on UDP (transport = auto tries it first)
r_dropped() { ip netns exec "$NS_R" nft list chain inet blk block | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
if have_espintcp; then
	rw_run "xfrm, auto -> tcp (RFC 9329), NAT, UDP blocked" xfrm auto "meta l4proto udp" tcpdata
	wire_check "xfrm, auto -> tcp: b never saw IKE on UDP" b:in_ike500=0 b:in_ike4500=0
	n=$(r_dropped)
	if [ "${n:-0}" -gt 0 ]; then
		tap_ok "xfrm, auto -> tcp: a tried UDP first, r dropped it ($n packets)"
	else
		tap_fail "xfrm, auto -> tcp: a tried UDP first, r dropped it" "counter: '$n'"
	fi
else
	tap_skip_design "tcp (RFC 9329): ESP in TCP" "kernel without the espintcp ULP"
fi
module_load
rw_run "module, separate, NAT, UDP 500 blocked" module separate "udp dport 500" espudp
rmmod tcpike 2>/dev/null
tap_done
