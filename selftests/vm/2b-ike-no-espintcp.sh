#!/bin/bash
# tcpiked on a kernel without espintcp (Debian 12's stock 6.1, booted by
# `make check` for the module tests): IKE over TCP still works, its framing
# is tcpiked's own; RFC 9329 ESP-in-TCP is refused with a clear log line
# and nothing half-made; separate transports (IKE on TCP, ESP on IP) carry
# traffic.  On a kernel with espintcp this test has nothing to show.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
have_espintcp &&
	tap_skip_all_design "this kernel has espintcp (the case is a kernel without it)"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/module.sh"
module_load

pair() {	# pair TRANSPORT
	ns_cleanup
	topo_pair "ne$$" || return 1
	ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend=module "conn_extra=transport = $1"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend=module
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
}
# An established IKE SA, whatever became of its Child SA (ike.sh's
# ike_established wants one installed).
ike_sa_up() { ike_ctl "$1" status 2>/dev/null | grep -q ": ESTABLISHED "; }

pair tcp || tap_fail "tcp: topology"
if wait_for 30 ike_sa_up a && wait_for 10 ike_sa_up b; then
	tap_ok "tcp (RFC 9329) without espintcp: the IKE SA is established over TCP"
else
	tap_fail "tcp (RFC 9329) without espintcp: the IKE SA is established over TCP"
	ike_log a; ike_log b
fi
tap_check "tcp: IKE really on TCP at both ends" \
	test "$(ike_jq a "s['ike_sas'][0]['transport']") $(ike_jq b "s['ike_sas'][0]['transport']")" = "tcp tcp"
# b (the responder) installs first: it logs why, a hears NO_ADDITIONAL_SAS.
if grep -q "ESP-in-TCP refused: the kernel cannot attach espintcp" "$IKE_DIR/b.log"; then
	tap_ok "tcp: b logged that ESP-in-TCP is refused by the kernel"
else
	tap_fail "tcp: b logged that ESP-in-TCP is refused by the kernel"; ike_log b 25
fi
tap_check "tcp: a logged the Child SA as not established" \
	grep -q "Child SA net not established" "$IKE_DIR/a.log"
tap_check "tcp: no Child SA half-installed (no XFRM state at either end)" \
	sh -c "[ -z \"\$(ip -n $NS_A xfrm state; ip -n $NS_B xfrm state)\" ]"
ike_stop a
ike_stop b

pair separate || tap_fail "separate: topology"
if wait_for 30 ike_established a && wait_for 10 ike_established b; then
	tap_ok "separate without espintcp: IKE on TCP, Child SA installed"
else
	tap_fail "separate without espintcp: IKE on TCP, Child SA installed"; ike_log a; ike_log b
fi
tap_check "separate: ESP on IP (no NAT)" \
	test "$(ike_jq a "[c['esp_transport'] for i in s['ike_sas'] for c in i['children']]")" = "['raw']"
tap_check "separate: ping through the tunnel" \
	ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1
ike_stop a
ike_stop b
tap_check "no XFRM state or policy left behind" \
	sh -c "[ -z \"\$(ip -n $NS_A xfrm state; ip -n $NS_A xfrm policy; ip -n $NS_B xfrm state; ip -n $NS_B xfrm policy)\" ]"
rmmod tcpike 2>/dev/null
tap_done
