#!/bin/bash
# tcpiked as a road warrior (vips = 0.0.0.0) against a strongSwan 5.9.8
# gateway (charon, kernel-libipsec) that hands out virtual IPs from a
# swanctl pool to remote_addrs = %any (RFC 7296 §3.15).  tcpiked runs
# backend none (the host has no ESP): it records the address it would put
# on the host, and the rtnetlink half of that (kb_addr.c, used by the xfrm
# and module backends) is checked by itself with selftests/vip_addr.
#
#   - tcpiked asks with CFG_REQUEST for an address and DNS, gets the pool's
#     first address and the pool's DNS server: its status (text and
#     --json) shows both, its Child SA's local selector is the address,
#     charon's --list-sas shows tcpiked's TS narrowed to it, charon's log
#     the lease
#   - tcpiked rekeys the IKE SA: the address stays
#   - tcpiked terminates (the address "off the host") and initiates again:
#     it asks for the address it had, and gets it
#   - a gateway without a pool: tcpiked fails the Child SA (no address)
#   - rtnetlink: an address on the interface holding the IKE address, one
#     on lo, both taken off again
#   - not over TCP (RFC 9329): charon 5.9.8 has no TCP encapsulation;
#     selftests/vm/46-ike-roadwarrior-vip.sh runs tcpiked against tcpiked
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swvip

PSK=tcpike-roadwarrior-vip-psk-0123456789

# gw_conf POOL: charon as the gateway (10.0.0.2), pool rw when POOL is yes
gw_conf() {
	local pools=
	[ "$1" = yes ] && pools="pools = rw"
	sw_conf s local=10.0.0.2 remote=%any lid=s.tcpike.test rid=t.tcpike.test psk="$PSK" \
		lts=192.168.2.0/24 rts=dynamic kernel=libipsec conn_extra="$pools" || return 1
	cat >>"$SW_DIR/s/swanctl.conf" <<EOF
pools {
	rw {
		addrs = 10.10.0.0/24
		dns = 10.10.0.53
	}
}
EOF
}

t_conf() {
	ike_conf t local=10.0.0.1 remote=10.0.0.2 lid=fqdn:t.tcpike.test \
		rid=fqdn:s.tcpike.test psk="$PSK" lts=0.0.0.0/0 rts=192.168.2.0/24 \
		conn_extra="vips = 0.0.0.0"
}

t_vips() { ike_jq t "' '.join(' '.join(i['our_vips']) + '/' + ' '.join(i['dns']) for i in s['ike_sas'] if i['state']=='ESTABLISHED')"; }
t_lts() {
	ike_jq t "' '.join(c['local_ts'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"
}
t_has_vip() { [ "$(t_vips)" = "$1" ]; }
sw_remote_ts() {	# charon's remote selector of its installed Child SA
	sw_ctl s --list-sas 2>/dev/null | sed -n 's/^    remote \+\(.*\)$/\1/p' | head -n1
}

gw_conf yes && sw_start "$NS_B" s || tap_skip_all "charon did not start"
t_conf
if ike_start "$NS_A" t; then
	tap_ok "tcpiked starts with vips = 0.0.0.0"
else
	tap_fail "tcpiked starts with vips = 0.0.0.0" "$(tail -n 5 "$IKE_DIR/t.log")"
	tap_done
fi

# --- the pool's first address and its DNS server --------------------------------
ike_ctl t initiate c >/dev/null
swt_expect 15 "tcpiked got 10.10.0.1 and DNS 10.10.0.53 from charon's pool (status --json)" \
	t_has_vip "10.10.0.1/10.10.0.53"
swt_expect 10 "the Child SA is installed on both sides, with the same SPIs" swt_agreed
tap_expect_eq "tcpiked's Child SA's local selector (its TSi) is the address" \
	10.10.0.1-10.10.0.1 "$(t_lts)"
tap_expect_eq "charon's --list-sas shows tcpiked's TS narrowed to the address" \
	10.10.0.1/32 "$(sw_remote_ts)"
swt_s_log_has "charon's log: tcpiked asked with CFG_REQUEST for an address and DNS" \
	'parsed IKE_AUTH request 1 \[ .*CPRQ\(ADDR DNS\)'
swt_s_log_has "charon's log: the lease of 10.10.0.1 to tcpiked" \
	"assigning .*10\\.10\\.0\\.1 to .*t\\.tcpike\\.test"
ike_ctl t status >"$IKE_DIR/status.txt"
if grep -q '^  virtual IP 10\.10\.0\.1 (ours, from the peer)$' "$IKE_DIR/status.txt" &&
   grep -q '^  DNS server 10\.10\.0\.53 (from the peer, not applied)$' "$IKE_DIR/status.txt"; then
	tap_ok "tcpikectl status (text) shows the virtual IP and the DNS server"
else
	tap_fail "tcpikectl status (text) shows the virtual IP and the DNS server" "$(cat "$IKE_DIR/status.txt")"
fi
swt_t_log_has "tcpiked logged the address" 'c\[1\]: virtual IP 10\.10\.0\.1 from the peer$'
swt_t_log_has "tcpiked logged the DNS server, not applied" \
	'c\[1\]: DNS server 10\.10\.0\.53 from the peer \(shown, not applied\)$'
swt_t_log_has "backend none: not put on the host, said at debug level" \
	'debug: c\[1\]: virtual IP 10\.10\.0\.1 not put on the host: backend none installs nothing$'
tap_expect_eq "backend none recorded the address going on the host" "vip-add 10.10.0.1" \
	"$(grep '^vip-' "$IKE_DIR/t.kb")"

# --- the IKE SA rekeyed: the address stays ---------------------------------------
old=$(swt_t_ike)
ike_ctl t rekey c ike >/dev/null
rekeyed() { local now; now=$(swt_t_ike); [ -n "$now" ] && [ "$now" != "$old" ] && t_has_vip "10.10.0.1/10.10.0.53"; }
swt_expect 15 "tcpiked rekeyed its IKE SA: the new one holds 10.10.0.1" rekeyed
tap_expect_eq "... and nothing went off the host" "vip-add 10.10.0.1" "$(grep '^vip-' "$IKE_DIR/t.kb")"

# --- terminate, reconnect: the address asked for again --------------------------
ike_ctl t terminate c >/dev/null
t_gone() { [ "$(swt_t_sas; echo "$T_COUNT")" = 0 ]; }
swt_expect 15 "tcpiked terminated" t_gone
tap_expect_eq "the address went off the host with the IKE SA" \
	"vip-add 10.10.0.1|vip-del 10.10.0.1" "$(grep '^vip-' "$IKE_DIR/t.kb" | paste -sd'|')"
ike_ctl t initiate c >/dev/null
swt_expect 15 "tcpiked initiated again: 10.10.0.1 again" t_has_vip "10.10.0.1/10.10.0.53"
swt_s_log_has "charon's log: tcpiked asked for 10.10.0.1, the address it had" \
	'peer requested virtual IP 10\.10\.0\.1$'

# --- a gateway without a pool ----------------------------------------------------
ike_stop t
sw_stop s
gw_conf no && sw_start "$NS_B" s || tap_skip_all "charon did not restart"
t_conf
ike_start "$NS_A" t
ike_ctl t initiate c >/dev/null
nochild() { swt_t_sas; [ "$T_COUNT" = 1 ] && [ -n "$T_IKE" ] && [ -z "$T_CHILD" ] && grep -q 'Child SA net not established' "$IKE_DIR/t.log"; }
swt_expect 15 "charon without a pool: tcpiked has the IKE SA and refused the Child SA" nochild
swt_t_log_has "... saying why" 'c\[1\]: the peer gave no virtual IP \(no CFG_REPLY in its IKE_AUTH response\)$'
tap_expect_eq "... counted as a failed Child SA, nothing put on the host" "1|" \
	"$(ike_jq t "s['counters']['child_failed']")|$(grep '^vip-' "$IKE_DIR/t.kb")"
ike_stop t
sw_stop s

# --- rtnetlink by itself ---------------------------------------------------------
P=$BIN/selftests/vip_addr
tap_expect_eq "rtnetlink: 10.10.0.9 added on the interface holding 10.0.0.1" "added on va" \
	"$(ip netns exec "$NS_A" "$P" add 10.10.0.9 10.0.0.1)"
tap_expect_eq "... as a /32 there" "10.10.0.9/32" \
	"$(ip -n "$NS_A" -o -4 addr show dev va | grep -o '10\.10\.0\.9/[0-9]*')"
tap_expect_eq "rtnetlink: fd00:10::9 with no interface holding the IKE address goes on lo" "added on lo" \
	"$(ip netns exec "$NS_A" "$P" add fd00:10::9 10.9.9.9)"
tap_expect_eq "... as a /128 there" "fd00:10::9/128" \
	"$(ip -n "$NS_A" -o -6 addr show dev lo | grep -o 'fd00:10::9/[0-9]*')"
tap_expect_eq "rtnetlink: the same address twice is refused" "failed: rtnetlink RTM_NEWADDR: File exists" \
	"$(ip netns exec "$NS_A" "$P" add 10.10.0.9 10.0.0.1)"
tap_expect_eq "rtnetlink: both taken off again" "deleted|deleted|" \
	"$(ip netns exec "$NS_A" "$P" del 10.10.0.9)|$(ip netns exec "$NS_A" "$P" del fd00:10::9)|$(ip -n "$NS_A" addr show | grep -E '10\.10\.0\.9|fd00:10::9')"
tap_expect_eq "rtnetlink: an address no interface has: refused" "failed: no interface has the address" \
	"$(ip netns exec "$NS_A" "$P" del 10.10.0.9)"
tap_done
