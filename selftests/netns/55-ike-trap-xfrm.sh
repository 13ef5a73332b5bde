#!/bin/bash
# start_action = trap on the host kernel, plain XFRM backend: a's trap
# policies (out, in, fwd) are in the kernel before any SA; a ping from a's
# inner network meets them, the kernel's acquire (XFRM_MSG_ACQUIRE, on the
# acquire group tcpiked listens to) makes a initiate, once however often
# the kernel asks; the trap's policy has a trap's priority; a reload that
# drops the trap removes its policies.  (The Child SA sharing the trap's
# policy and giving it an SA's priority needs ESP: vm/34.)
# Policies need no ESP in the kernel, the Child SA does: on a host kernel
# without esp4 the IKE SA comes up without it (b's kernel refuses it),
# which is all this test looks at; the data path is selftests/vm/34.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "trx$$" || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || tap_skip_all "no xfrm_user in this kernel"
ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1

templates() { ip -n "$NS_A" xfrm policy | grep -c "tmpl src 10.0.0" || true; }
templates_are() { [ "$(templates)" = "$1" ]; }
ping1() { ip netns exec "$NS_A" ping -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
initiated() { grep -c "child net: traffic 192.168.1.1 -> 192.168.2.1 met its trap: initiating" "$IKE_DIR/a.log"; }
out_prio() {
	ip -n "$NS_A" xfrm policy list dir out |
		awk '$1 == "dir" && $2 == "out" && $3 == "priority" { print $4; exit }'
}
ike_up_a() { [ "$(ike_jq a "sum(1 for i in s['ike_sas'] if i['state']=='ESTABLISHED')")" = 1 ]; }

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test backend=xfrm)
ike_conf a "${A_ARGS[@]}" "conn_extra=start_action = trap"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test backend=xfrm
if ! ike_start "$NS_B" b || ! ike_start "$NS_A" a; then
	tap_fail "both daemons start"; ike_log a 5; tap_done
fi

wait_for 5 templates_are 3
reqid=$(ip -n "$NS_A" xfrm policy list dir out | awk '$1 == "proto" && $3 == "reqid" { print $4; exit }')
if [ "$(templates)" = 3 ] && [ -n "$reqid" ] && [ "$(ike_count a)" = 0 ] &&
   ike_ctl a status | grep -q "^trap c/net: .*, reqid $reqid$"; then
	tap_ok "trap policies out, in and fwd (reqid $reqid) installed at start, no IKE SA"
else
	tap_fail "trap policies out, in and fwd installed at start, no IKE SA" \
		"$(templates) templates, reqid '$reqid', $(ike_count a) IKE SAs"
	ip -n "$NS_A" xfrm policy | sed 's/^/# a: /'; ike_log a 10
fi

# child.c's policy priority: lower wins; 200000 less 512 a prefix bit
# (24 + 24), one less for an installed SA's policy than for a trap's.
tap_expect_eq "the trap's out policy has the trap priority for /24 === /24" 175424 "$(out_prio)"

ping1
if wait_for 10 ike_up_a; then
	tap_ok "a ping meets the trap: a initiates, its IKE SA is established"
else
	tap_fail "a ping meets the trap: a initiates, its IKE SA is established"; ike_log a 20
fi
ping1
ping1
tap_expect_eq "more pings: still one IKE SA at a" 1 "$(ike_count a)"
tap_expect_eq "... and one initiation on the acquire" 1 "$(initiated)"

ike_conf a "${A_ARGS[@]}"
ike_ctl a reload >/dev/null
if wait_for 5 templates_are 0; then
	tap_ok "reload without start_action = trap: the trap policies are removed"
else
	tap_fail "reload without start_action = trap: the trap policies are removed"
	ip -n "$NS_A" xfrm policy | sed 's/^/# a: /'
fi
ike_stop a
ike_stop b
tap_done
