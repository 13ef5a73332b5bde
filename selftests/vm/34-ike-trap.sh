#!/bin/bash
# start_action = trap with real kernel ESP, tcpiked against tcpiked, with
# the plain XFRM backend and then the module: a's trap policies are in the
# kernel before any SA; a ping from a's inner network (the kernel's
# acquire) brings the tunnel up with the trap's reqid; 5 pings then all
# come back, ESP counted on the wire both ways; the Child SA deleted from
# the CLI leaves the trap, and the next ping brings it up again.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"

# a's outbound trap policy (its template's reqid); ping1, esp_states and
# two_states are datapath.sh's
trap_reqid() {
	ip -n "$NS_A" xfrm policy list dir out src 192.168.1.0/24 dst 192.168.2.0/24 |
		awk '/reqid/ { for (i = 1; i < NF; i++) if ($i == "reqid") { print $(i + 1); exit } }'
}
sa_reqids() {
	ip -n "$NS_A" xfrm state | awk '/reqid/ { for (i = 1; i < NF; i++) if ($i == "reqid") print $(i + 1) }' |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}
# the priority of a's outbound policy
out_prio() {
	ip -n "$NS_A" xfrm policy list dir out src 192.168.1.0/24 dst 192.168.2.0/24 |
		awk '$1 == "dir" && $2 == "out" && $3 == "priority" { print $4; exit }'
}
has_trap() { [ -n "$(trap_reqid)" ]; }
no_states() { [ "$(esp_states)" = 0 ]; }

trap_run() {
	local tag=$1 backend=$2 reqid out id tprio
	dp_pair "tr$$" || { tap_fail "$tag: topology"; return; }
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend="$backend" "conn_extra=start_action = trap"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend="$backend"
	if ! ike_start "$NS_B" b || ! ike_start "$NS_A" a; then
		tap_fail "$tag: both daemons start"; ike_log a; ike_log b
		return
	fi

	# The trap: out, in and fwd policies with a template, no SA, no IKE SA.
	wait_for 5 has_trap
	reqid=$(trap_reqid)
	tprio=$(out_prio)
	out=$(ip -n "$NS_A" xfrm policy | grep -c "tmpl src" || true)
	if [ -n "$reqid" ] && [ "$out" = 3 ] && no_states && [ "$(ike_count a)" = 0 ] &&
	   ike_ctl a status | grep -q "^trap c/net: .*, reqid $reqid$" &&
	   ike_ctl a list-conns | grep -q "start_action trap, trap installed (reqid $reqid)"; then
		tap_ok "$tag: trap policies (out, in, fwd, reqid $reqid) installed, no SA before traffic"
	else
		tap_fail "$tag: trap policies (out, in, fwd) installed, no SA before traffic" \
			"reqid '$reqid', $out templates, $(esp_states) states, $(ike_count a) IKE SAs"
		ip -n "$NS_A" xfrm policy | sed 's/^/# a: /'; ike_log a 15
	fi

	# The first packets: the acquire initiates, the tunnel comes up.
	ping1
	if wait_for 20 ike_established a && wait_for 5 ping1 && two_states &&
	   [ "$(sa_reqids)" = "$reqid" ]; then
		tap_ok "$tag: a ping brings the tunnel up, its SAs under the trap's reqid"
	else
		tap_fail "$tag: a ping brings the tunnel up, its SAs under the trap's reqid" \
			"SA reqids '$(sa_reqids)', trap '$reqid'"
		ip -n "$NS_A" xfrm state | sed 's/^/# a: /'; ike_log a 20; ike_log b 10
	fi
	tap_expect_eq "$tag: one IKE SA at a" 1 "$(ike_count a)"
	# The Child SA shares the trap's policies and, with the xfrm backend,
	# gives them an SA's priority (one better: XFRM_MSG_UPDPOLICY in
	# place); the module's family cannot update a policy, so there the
	# trap's priority stays.
	if [ "$backend" = xfrm ]; then
		tap_expect_eq "$tag: the shared out policy now has the SA's priority, one better than the trap's ($tprio)" \
			"$((${tprio:-0} - 1))" "$(out_prio)"
	fi

	wire_mark ping
	out=$(ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 2>&1)
	if printf '%s\n' "$out" | grep -q " 5 received"; then
		tap_ok "$tag: 5 pings through the tunnel, 5 answers"
	else
		tap_fail "$tag: 5 pings through the tunnel, 5 answers" "$(printf '%s\n' "$out" | tail -n 2)"
	fi
	wire_check -d ping "$tag: ESP on IP both ways at both ends" \
		a:out_esp\>=5 b:in_esp\>=5 b:out_esp\>=5 a:in_esp\>=5

	# The Child SA deleted from the CLI: the trap stays, traffic brings
	# a new Child SA (in the IKE SA that is up).
	id=$(child1 a id)
	ike_ctl a terminate --child "$id" >/dev/null
	if wait_for 10 no_states && [ "$(trap_reqid)" = "$reqid" ] &&
	   [ "$(ip -n "$NS_A" xfrm policy | grep -c "tmpl src" || true)" = 3 ]; then
		tap_ok "$tag: Child SA $id deleted, the trap policies stay"
	else
		tap_fail "$tag: Child SA $id deleted, the trap policies stay" \
			"$(esp_states) states, trap reqid '$(trap_reqid)'"
		ip -n "$NS_A" xfrm policy | sed 's/^/# a: /'; ike_log a 15
	fi
	ping1
	if wait_for 20 ike_established a && [ "$(sa_reqids)" = "$reqid" ] && ping_ok; then
		tap_ok "$tag: the next ping brings a new Child SA, the trap's reqid again"
	else
		tap_fail "$tag: the next ping brings a new Child SA, the trap's reqid again" \
			"SA reqids '$(sa_reqids)', trap '$reqid'"
		ike_log a 20
	fi
	tap_expect_eq "$tag: still one IKE SA at a" 1 "$(ike_count a)"
	dp_stop_clean "$tag"
}

trap_run "xfrm, trap" xfrm
module_load
trap_run "module, trap" module
module_unload "rmmod tcpike"
tap_done
