#!/bin/bash
# A remote-access gateway against strongSwan 5.9.8 road warriors (charon,
# kernel-libipsec; tcpiked backend none): tcpiked's connection admits any
# peer (remote_addrs = %any) and hands out virtual IPs from a pool (RFC
# 7296 §3.15) to charons asking with vips = 0.0.0.0 (and, through charon's
# resolve plugin, for DNS).  Each address is checked on both sides:
# charon's --list-sas and log, tcpiked's status (the IKE SA's vips, the
# Child SA's remote selector, the pool's leases).
#
#   - carol (10.0.0.2) gets the pool's first address and its DNS server;
#     tcpiked narrows TSi to that address /32
#   - dave, another identity from another address (10.0.1.2), gets another
#   - carol's charon restarted: the same address back (its lease was kept);
#     charon rekeys the IKE SA: the new one keeps the address
#   - two connections fit (%any and 10.0.0.0/16): the longer prefix wins,
#     logged; its pool has one address: carol gets it, dave gets
#     INTERNAL_ADDRESS_FAILURE (§3.15.4) and no Child SA, the IKE SA stays
#   - not over TCP (RFC 9329): charon 5.9.8 has no TCP encapsulation;
#     test_engine.c's vip_over_tcp runs the gateway over TCP
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swrw
[ -e /usr/lib/ipsec/plugins/libstrongswan-resolve.so ] ||
	tap_skip_all "charon's resolve plugin (strongswan-charon) not installed"

# dave's namespace, on a second link to tcpiked's
swt_third_ns swrw$$-c

PSK=tcpike-roadwarrior-psk-0123456789

# t_conf [CONNS [POOLS]]: tcpiked with connection rw (%any, pool rw) and more
t_conf() {
	: >"$IKE_DIR/t.conf"
	chmod 600 "$IKE_DIR/t.conf"
	cat >"$IKE_DIR/t.conf" <<EOF
daemon {
	backend = none
	control_socket = $IKE_DIR/t.sock
	log_level = debug
}
pools {
	rw {
		addrs = 10.10.0.0/24
		dns = 10.10.0.53
	}
	$2
}
connections {
	rw {
		remote_addrs = %any
		pools = rw
		proposals = aes256gcm16-prfsha256-x25519
		local {
			auth = psk
			id = fqdn:t.tcpike.test
		}
		remote {
			auth = psk
		}
		children {
			net {
				local_ts = 192.168.1.0/24
				remote_ts = 10.0.0.0/8
				esp_proposals = aes256gcm16
			}
		}
	}
	$1
}
secrets {
	rw {
		id = t.tcpike.test
		id2 = carol@tcpike.test
		id3 = dave@tcpike.test
		secret = "$PSK"
	}
}
EOF
}

# rw_conf NAME LOCAL REMOTE ID: a road warrior asking for an IPv4 address
# and DNS; its resolve plugin writes what it gets to NAME's resolv.conf
# (the address goes on an interface of its namespace: kernel-libipsec
# routes the Child SA from it)
rw_conf() {
	local d=$SW_DIR/$1
	sw_conf "$1" local="$2" remote="$3" lid="$4" rid=t.tcpike.test psk="$PSK" \
		lts=dynamic rts=192.168.1.0/24 kernel=libipsec conn_extra="vips = 0.0.0.0" \
		charon_extra="install_virtual_ip = yes;plugins {;resolve {;file = $d/resolv.conf;};}" || return 1
	sed -i 's/^\(\tload = .*\) vici$/\1 vici resolve/' "$d/strongswan.conf"
	: >"$d/resolv.conf"
}

# rw_vip NAME: the virtual IP charon NAME shows for its IKE SA ("local
# 'carol@tcpike.test' @ 10.0.0.2[4500] [10.10.0.1]")
rw_vip() {
	sw_ctl "$1" --list-sas 2>/dev/null |
		sed -n "s/^  local .* \[\([0-9.]*\)\]\$/\1/p" | head -n1
}
# t_vip ID: the virtual IP of tcpiked's established IKE SA with peer ID
t_vip() {
	ike_jq t "' '.join(v['address'] for i in s['ike_sas'] if i['state']=='ESTABLISHED' and i['peer_id']=='$1' for v in i['vips'])"
}
# t_lease ADDR: "pool identity online" of tcpiked's lease of ADDR
t_lease() {
	ike_jq t "' '.join('%s %s %s' % (l['pool'], l['identity'], l['online']) for l in s['leases'] if l['address']=='$1')"
}
t_child_rts() {
	ike_jq t "' '.join(c['remote_ts'] for i in s['ike_sas'] if i['peer_id']=='$1' for c in i['children'] if c['state']=='INSTALLED')"
}
vip_is() { [ "$(rw_vip "$1")" = "$2" ] && [ "$(t_vip "$3")" = "$2" ]; }
state() {
	echo "charon $1: vip '$(rw_vip "$1")'; tcpiked: $(ike_ctl t status | grep -E 'virtual IP|^lease|peer ')"
}
expect_vip() {	# expect_vip DESC CHARON ID ADDR
	if swt_wait 10 vip_is "$2" "$4" "$3"; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(state "$2")"
		ike_log t 20
		sw_log "$2" 25
	fi
}

t_conf
if ike_start "$NS_A" t; then
	tap_ok "tcpiked starts with remote_addrs = %any and a pool"
else
	tap_fail "tcpiked starts with remote_addrs = %any and a pool" "$(tail -n 5 "$IKE_DIR/t.log")"
	tap_done
fi
rw_conf s 10.0.0.2 10.0.0.1 carol@tcpike.test && sw_start "$NS_B" s ||
	tap_skip_all "charon carol did not start"
rw_conf d 10.0.1.2 10.0.1.1 dave@tcpike.test && sw_start "$NS_C" d ||
	tap_skip_all "charon dave did not start"

# --- carol: the pool's first address, with DNS ---------------------------------
sw_initiate s >/dev/null
expect_vip "carol asked for a virtual IP: both sides show 10.10.0.1, the pool's first address" \
	s carol@tcpike.test 10.10.0.1
tap_expect_eq "tcpiked's lease: pool rw, to carol, online" "rw carol@tcpike.test True" \
	"$(t_lease 10.10.0.1)"
swt_expect 10 "carol's Child SA is installed on both sides, with the same SPIs" swt_agreed
tap_expect_eq "tcpiked narrowed the Child SA's remote selector (TSi) to the address" \
	10.10.0.1-10.10.0.1 "$(t_child_rts carol@tcpike.test)"
swt_s_log_has "... which charon took for its own selector" \
	'config: 10\.10\.0\.1/32, received: 10\.10\.0\.1/32 => match: 10\.10\.0\.1/32$'
swt_s_log_has "charon asked with CFG_REQUEST for an address and DNS" \
	'generating IKE_AUTH request 1 \[ .*CPRQ\(ADDR DNS\)'
swt_s_log_has "tcpiked answered with CFG_REPLY: address and DNS" \
	'parsed IKE_AUTH response 1 \[ .*CPRP\(ADDR DNS\)'
swt_s_log_has "charon took the address" 'installing new virtual IP 10\.10\.0\.1$'
if grep -q '^nameserver 10\.10\.0\.53' "$SW_DIR/s/resolv.conf"; then
	tap_ok "charon's resolve plugin wrote the pool's DNS server, 10.10.0.53"
else
	tap_fail "charon's resolve plugin wrote the pool's DNS server" "$(cat "$SW_DIR/s/resolv.conf")"
	sw_log s 20
fi
swt_t_log_has "tcpiked logged the address it gave" \
	'rw\[1\]: virtual IP 10\.10\.0\.1 of pool rw for carol@tcpike\.test$'
ike_ctl t status >"$IKE_DIR/status.txt"
if grep -q '^  virtual IP 10\.10\.0\.1 from pool rw$' "$IKE_DIR/status.txt" &&
   grep -q '^lease rw: 10\.10\.0\.1 to carol@tcpike\.test, online$' "$IKE_DIR/status.txt"; then
	tap_ok "tcpikectl status (text) shows the IKE SA's virtual IP and the lease"
else
	tap_fail "tcpikectl status (text) shows the virtual IP and the lease" "$(cat "$IKE_DIR/status.txt")"
fi

# --- dave: another identity, another address -----------------------------------
sw_initiate d >/dev/null
expect_vip "dave, another identity from another address, gets another address: 10.10.0.2" \
	d dave@tcpike.test 10.10.0.2
tap_expect_eq "two leases held" "rw carol@tcpike.test True|rw dave@tcpike.test True" \
	"$(t_lease 10.10.0.1)|$(t_lease 10.10.0.2)"

# --- carol reconnects: the same address ----------------------------------------
sw_stop s
carol_gone() { [ "$(ike_jq t "len([i for i in s['ike_sas'] if i['peer_id']=='carol@tcpike.test'])")" = 0 ]; }
swt_wait 10 carol_gone
tap_expect_eq "carol's charon stopped (its Delete): the lease is released and kept for carol" \
	"rw carol@tcpike.test False" "$(t_lease 10.10.0.1)"
swt_t_log_has "tcpiked logged the release" \
	'rw\[1\]: virtual IP 10\.10\.0\.1 of pool rw released by carol@tcpike\.test \(kept for it\)$'
sw_start "$NS_B" s
sw_initiate s >/dev/null
expect_vip "carol's charon restarted: carol gets 10.10.0.1 back" s carol@tcpike.test 10.10.0.1
old=$(ike_jq t "' '.join(i['spi_i'] for i in s['ike_sas'] if i['peer_id']=='carol@tcpike.test')")
sw_rekey s ike >/dev/null
rekeyed() {
	local now
	now=$(ike_jq t "' '.join(i['spi_i'] for i in s['ike_sas'] if i['peer_id']=='carol@tcpike.test' and i['state']=='ESTABLISHED')")
	[ -n "$now" ] && [ "$now" != "$old" ] && [ "$(t_vip carol@tcpike.test)" = 10.10.0.1 ]
}
swt_expect 10 "charon rekeyed carol's IKE SA: the new one holds 10.10.0.1" rekeyed
tap_expect_eq "... and the lease stayed held, once" "rw carol@tcpike.test True" "$(t_lease 10.10.0.1)"
tap_expect_eq "... by one IKE SA" 1 \
	"$(ike_jq t "[l['ike_sas'] for l in s['leases'] if l['address']=='10.10.0.1'][0]")"

# --- the most specific connection; its pool of one address exhausted -----------
ike_stop t
sw_stop s
sw_stop d
t_conf "lan {;remote_addrs = 10.0.0.0/16;pools = one;local {;auth = psk;id = fqdn:t.tcpike.test;};remote {;auth = psk;};children {;net {;local_ts = 192.168.1.0/24;remote_ts = 10.0.0.0/8;};};}" \
	"one {;addrs = 10.20.0.5/32;}"
sed -i 's/;/\n/g' "$IKE_DIR/t.conf"
ike_start "$NS_A" t
sw_start "$NS_B" s
sw_start "$NS_C" d
sw_initiate s >/dev/null
expect_vip "carol fits rw (%any) and lan (10.0.0.0/16): lan's pool gives 10.20.0.5" \
	s carol@tcpike.test 10.20.0.5
swt_t_log_has "tcpiked logged the choice between the two connections" \
	'2 connections fit peer carol@tcpike\.test at 10\.0\.0\.2: lan chosen, remote_addrs /16, over rw \(/0\)$'
sw_initiate d >/dev/null
swt_wait 10 grep -q 'parsed IKE_AUTH response 1 ' "$SW_DIR/d/charon.log"
if grep -qE 'parsed IKE_AUTH response 1 \[ .*N\(INT_ADDR_FAIL\)' "$SW_DIR/d/charon.log"; then
	tap_ok "dave, the pool's second identity: INTERNAL_ADDRESS_FAILURE in the IKE_AUTH response"
else
	tap_fail "dave: INTERNAL_ADDRESS_FAILURE in the IKE_AUTH response" "$(state d)"
	sw_log d 25
	ike_log t 20
fi
swt_t_log_has "tcpiked logged why" \
	"lan\\[2\\]: no virtual IP for dave@tcpike\\.test from connection lan's pools: every IPv4 pool exhausted; the Child SA is refused with INTERNAL_ADDRESS_FAILURE$"
tap_expect_eq "dave has an IKE SA without Child SA on tcpiked; carol keeps her lease" \
	"1||one carol@tcpike.test True" \
	"$(ike_jq t "len([i for i in s['ike_sas'] if i['peer_id']=='dave@tcpike.test'])")|$(t_child_rts dave@tcpike.test)|$(t_lease 10.20.0.5)"


ike_stop t
sw_stop s
sw_stop d
tap_done
