#!/bin/bash
# start_action = trap against strongSwan 5.9.8 as the responder (RFC 7296
# §2.9): tcpiked's trap (plain XFRM backend, for the kernel's acquire) is
# 192.168.0.0/16 === 192.168.2.0/24; a ping from 192.168.1.1 meets it, and
# the IKE_AUTH request names the packet first (192.168.1.1/32 and
# 192.168.2.1/32, ICMP), then the configured ranges.  charon, configured
# for 192.168.1.0/24 only, narrows to that range, the one holding the
# packet, and no /32.  charon runs kernel-libipsec (userspace ESP, the host
# kernel has none), so its Child SA is established; tcpiked's kernel then
# refuses the SAs, which this test does not look at (VM test 34 has ESP).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swtn
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || tap_skip_all "no xfrm_user in this kernel"
ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1

ping1() { ip netns exec "$NS_A" ping -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
sw_established() { grep -q "CHILD_SA net{[0-9]*} established" "$SW_DIR/s/charon.log"; }

swt_up backend=xfrm lts=192.168.0.0/16 "conn_extra=start_action = trap" \
	-- rts=192.168.1.0/24
ping1
if swt_wait 15 sw_established; then
	tap_ok "a ping meets tcpiked's trap: charon establishes the Child SA it asked for"
else
	tap_fail "a ping meets tcpiked's trap: charon establishes the Child SA it asked for" \
		"$(swt_state)"
	swt_logs
fi
# charon's cfg log, one line a (configured, received) pair, in the
# order received: "config: 192.168.1.0/24, received: 192.168.1.1/32[icmp]"
first_received() {
	grep -oE "config: $1, received: [^ ]+" "$SW_DIR/s/charon.log" | head -1 | sed 's/.*received: //'
}
tap_expect_eq "the request named the packet first in TSi: 192.168.1.1/32, ICMP" \
	"192.168.1.1/32[icmp]" "$(first_received 192.168.1.0/24)"
tap_expect_eq "... and in TSr: 192.168.2.1/32, ICMP" \
	"192.168.2.1/32[icmp]" "$(first_received 192.168.2.0/24)"
swt_s_log_has "... then the configured range" 'config: 192\.168\.1\.0/24, received: 192\.168\.0\.0/16 '
swt_s_log_has "charon narrowed to its range that holds the packet, no /32" \
	'CHILD_SA net\{[0-9]+\} established .* TS 192\.168\.2\.0/24 === 192\.168\.1\.0/24$'
ike_stop t
sw_stop s
tap_done
