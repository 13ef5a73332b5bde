#!/bin/bash
# dpd_action = trap and close_action = trap with real kernel ESP, tcpiked
# against tcpiked, plain XFRM backend (issue 17):
#   - dpd_action = trap: b killed with SIGKILL and its kernel state
#     flushed (a peer that rebooted); a's liveness check goes unanswered,
#     the IKE SA goes and its Child SA's policies pass to a trap: out, in
#     and fwd policies with a template and no SA, so a's traffic is held,
#     never sent in clear (no ICMP reaches b while it is away);
#     b back, the next ping from a's inner network initiates again (the
#     kernel's acquire) and the tunnel carries ESP both ways.
#   - close_action = trap: b deletes the IKE SA; a traps the same way and
#     a ping brings the tunnel back.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"

templates() { ip -n "$NS_A" xfrm policy | grep -c "tmpl src" || true; }
trapped() {
	[ "$(templates)" = 3 ] && [ "$(esp_states)" = 0 ] && [ "$(ike_count a)" = 0 ] &&
		ike_ctl a status | grep -q "^trap c/net: "
}

# action_run TAG KEY: KEY (dpd_action or close_action) = trap on a.
action_run() {
	local tag=$1 key=$2 out why wait
	dp_pair "dt$$" || { tap_fail "$tag: topology"; return; }
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend=xfrm \
		"conn_extra=$key = trap;dpd_delay = 2s;retransmit_base = 500ms;retransmit_tries = 2"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend=xfrm
	if ! ike_start "$NS_B" b || ! ike_start "$NS_A" a; then
		tap_fail "$tag: both daemons start"; ike_log a; ike_log b
		return
	fi
	ike_ctl a initiate c --no-wait >/dev/null
	if wait_for 20 ike_established a && wait_for 5 ping_ok; then
		tap_ok "$tag: tunnel up, ping through"
	else
		tap_fail "$tag: tunnel up, ping through"; ike_log a 15; ike_log b 15
		return
	fi

	# dpd_action: b crashes (SIGKILL) and its kernel state goes, as in a
	# reboot; a's liveness check (dpd_delay 2 s, then 0.5 + 1 + 2 s of
	# retransmissions) finds it dead.  close_action: b deletes the IKE SA.
	if [ "$key" = dpd_action ]; then
		ike_kill b
		why="b gone, a's liveness check unanswered" wait=20
	else
		ike_ctl b terminate c >/dev/null
		why="b deleted the IKE SA" wait=10
	fi
	if wait_for $wait trapped; then
		tap_ok "$tag: $why: the Child SA's policies are a trap (3 templates, no SA, no IKE SA)"
	else
		tap_fail "$tag: $why: the Child SA's policies became a trap" \
			"$(templates) templates, $(esp_states) states, $(ike_count a) IKE SAs"
		ip -n "$NS_A" xfrm policy | sed 's/^/# a: /'; ike_log a 20
	fi
	[ "$key" = dpd_action ] || ike_stop b >/dev/null
	ip -n "$NS_B" xfrm state flush
	ip -n "$NS_B" xfrm policy flush

	# While b is away: a's traffic meets the trap, nothing leaves in clear.
	wire_mark away
	ping1
	ping1
	wire_check -d away "$tag: while b is away, a's pings are held: none reaches b in clear, no ESP leaves a" \
		a:out_icmp\>=2 b:in_icmp=0 a:out_esp=0

	if ! ike_start "$NS_B" b; then
		tap_fail "$tag: b starts again"; ike_log b
		return
	fi
	ping1
	if wait_for 20 ike_established a && wait_for 5 two_states && ping_ok; then
		tap_ok "$tag: b back, a ping from a's network brings the tunnel up again (the trap's acquire)"
	else
		tap_fail "$tag: b back, a ping brings the tunnel up again" \
			"$(esp_states) states, $(ike_count a) IKE SAs"
		ike_log a 20; ike_log b 10
	fi
	grep -q "met its trap: initiating" "$IKE_DIR/a.log" &&
		tap_ok "$tag: a says the traffic met its trap and initiated" ||
		tap_fail "$tag: a says the traffic met its trap and initiated" "$(tail -n 5 "$IKE_DIR/a.log")"
	wire_mark ping
	out=$(ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 2>&1)
	printf '%s\n' "$out" | grep -q " 5 received" &&
		tap_ok "$tag: 5 pings through the new tunnel, 5 answers" ||
		tap_fail "$tag: 5 pings through the new tunnel, 5 answers" "$(printf '%s\n' "$out" | tail -n 2)"
	wire_check -d ping "$tag: ESP on IP both ways at both ends" \
		a:out_esp\>=5 b:in_esp\>=5 b:out_esp\>=5 a:in_esp\>=5
	dp_stop_clean "$tag"
}

action_run "dpd_action = trap" dpd_action
action_run "close_action = trap" close_action
tap_done
