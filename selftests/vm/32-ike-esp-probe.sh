#!/bin/bash
# ESP reachability after a TCP-first separate-transports setup
# (draft-ietf-ipsecme-ikev2-reliable-transport-04 §3.7, RT-24..28):
# tcpiked against tcpiked with kernel ESP through the module, no NAT,
# transport separate-tcp-first, with on b's input
#   open        nothing blocked; b's ICMP errors are dropped on output, so
#               only tcpiked's own answer to the probe can prove the path
#   no-esp      IP protocol 50 dropped: the probe moves both ends to UDP
#               4500 and ESP settles there (RT-27, RT-28)
#   no-esp-udp  protocol 50 and UDP 4500 dropped: the IKE SA is deleted and
#               built again over TCP without SEPARATE_TRANSPORTS, ESP
#               inside the TCP connection (RT-25)
# Each case pings through the tunnel and counts on the wire which
# transport carried the ESP both ways, at both ends (selftests/datapath.sh).
# With the module the outcomes come from its reachability events, not from
# reading counters: each end's watch on its Child SA shows in the module's
# stats while the probe runs and is gone after it, a's log names the event
# that confirmed ESP (and, in no-esp, the one that moved it to UDP 4500),
# and b's log the events it answered.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"
module_load

block() {
	case $1 in
	open) ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain out {
		type filter hook output priority 0;
		icmp type destination-unreachable drop
		icmpv6 type destination-unreachable drop
	}
}
NFT
	;;
	no-esp) ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain in {
		type filter hook input priority 0;
		meta l4proto esp drop
	}
}
NFT
	;;
	no-esp-udp) ip netns exec "$NS_B" nft -f - <<'NFT'
table inet blk {
	chain in {
		type filter hook input priority 0;
		meta l4proto esp drop
		udp dport 4500 udp length > 9 @th,64,32 != 0 drop
	}
}
NFT
	;;
	esac
}

probe_state() { ike_jq "$1" "[i['esp_probe'] for i in s['ike_sas']]"; }
a_state() { ike_jq a "[(i['esp_probe'], i['rfc9329_rebuild'], i['esp_in_tcp'], i['state']) for i in s['ike_sas']]"; }
probe_ok_on() {
	ike_ctl a status 2>/dev/null | grep -q "ESP reachability: confirmed $1"
}
rebuilt_up() {
	ike_ctl a status 2>/dev/null | grep -q 'rebuilt: ESP did not get through' &&
		ike_established a
}

# The module's reachability watches in a namespace, sampled every 50 ms
# into a file until the sampler is stopped (reach_stop).
reach_sample() { # NS FILE
	ip netns exec "$1" sh -c "while :; do $NL stats | grep '^reach' || echo 'reach watches 0'; sleep 0.05; done" \
		>"$2" 2>/dev/null &
	REACH_PIDS="$REACH_PIDS $!"
}
reach_stop() {
	[ -n "$REACH_PIDS" ] || return 0	# (a bare wait would wait for the daemons)
	kill $REACH_PIDS 2>/dev/null
	wait $REACH_PIDS 2>/dev/null
	REACH_PIDS=
}
reach_max() { sed -n 's/^reach watches //p' "$1" | sort -n | tail -1; }
no_watch() { ! ip netns exec "$1" "$NL" stats | grep -q '^reach'; }
no_watches() { no_watch "$NS_A" && no_watch "$NS_B"; }
running() { ike_jq "$1" "sum(i['esp_probe'] == 'running' for i in s['ike_sas'])"; }
probe_done() { [ "$(running a)" = 0 ] && [ "$(running b)" = 0 ]; }	# b: its answering window

# reach_checks TAG: the watches came and went, the logs name the events.
reach_checks() {
	local tag=$1
	tap_check "$tag: a's probe watched its Child SA in the module (max $(reach_max /tmp/pr-reach-a))" \
		test "$(reach_max /tmp/pr-reach-a)" -ge 1
	tap_check "$tag: b's answering watched its Child SA in the module (max $(reach_max /tmp/pr-reach-b))" \
		test "$(reach_max /tmp/pr-reach-b)" -ge 1
	wait_for 40 probe_done
	if wait_for 10 no_watches; then
		tap_ok "$tag: no reachability watch left in the module once the probe is over"
	else
		tap_fail "$tag: no reachability watch left in the module once the probe is over" \
			"a: $(ip netns exec "$NS_A" "$NL" stats | grep '^reach'); b: $(ip netns exec "$NS_B" "$NL" stats | grep '^reach')"
	fi
	reach_stop
	tap_check "$tag: a's log: the probe listened to the module's reachability events" \
		grep -q "the module's reachability events telling the outcome" "$IKE_DIR/a.log"
	tap_check "$tag: a read no counter to probe (no 'reading the Child SA's counters')" \
		sh -c "! grep -q \"reading the Child SA's counters\|reading its counters instead\" '$IKE_DIR/a.log' '$IKE_DIR/b.log'"
}

# probe_run CASE EXPECT(esp|espudp|tcpdata).  a's esp_probe_delay of 500 ms
# is a watch of 1 s (whole seconds), sampled by the module every 500 ms: the
# down comes 1.5 to 2 s in, and the up in UDP up to a second after the
# move, hence an esp_probe_timeout of 6 s.
probe_run() {
	local tag="probe $1" expect=$2
	ns_cleanup
	topo_pair "pr$$" || { tap_fail "$tag: topology"; return; }
	ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
	wire_count a="$NS_A" b="$NS_B"
	block "$1"
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend=module \
		"conn_extra=transport = separate-tcp-first;esp_probe_delay = 500ms;esp_probe_timeout = 6s;tcp_connect_timeout = 2s"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend=module
	reach_sample "$NS_A" /tmp/pr-reach-a
	reach_sample "$NS_B" /tmp/pr-reach-b
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
	case $1 in
	open)
		if wait_for 30 probe_ok_on "on IP"; then
			tap_ok "$tag: ESP confirmed on IP by the responder's answer (RT-24)"
		else
			tap_fail "$tag: ESP confirmed on IP by the responder's answer (RT-24)" "$(a_state)"
			ike_log a 20; ike_log b 10
		fi
		tap_check "$tag: b answered the probe ($(ike_jq b "[i['esp_probe_answered'] for i in s['ike_sas']]"))" \
			test "$(ike_jq b "sum(i['esp_probe_answered'] for i in s['ike_sas'])")" -ge 1
		reach_checks "$tag"
		tap_check "$tag: a's log: confirmed on IP by a module reachability event" \
			grep -q "ESP reachability confirmed on IP .*ESP came back: module reachability event" "$IKE_DIR/a.log"
		tap_check "$tag: b's log: the probe's arrival was a module reachability event" \
			grep -q "ESP probe arrived on IP (module reachability event): answering" "$IKE_DIR/b.log"
		;;
	no-esp)
		if wait_for 30 probe_ok_on "in UDP 4500"; then
			tap_ok "$tag: no ESP on IP: both ends moved to UDP 4500, confirmed there (RT-27, RT-28)"
		else
			tap_fail "$tag: no ESP on IP: both ends moved to UDP 4500, confirmed there (RT-27, RT-28)" "$(a_state)"
			ike_log a 25; ike_log b 10
		fi
		tap_check "$tag: Child SAs in UDP at both ends" \
			test "$(ike_jq a "[c['esp_transport'] for i in s['ike_sas'] for c in i['children']]")" = "['udp']" -a \
			     "$(ike_jq b "[c['esp_transport'] for i in s['ike_sas'] for c in i['children']]")" = "['udp']"
		reach_checks "$tag"
		tap_check "$tag: a's log: the move to UDP 4500 came from a module reachability event (down)" \
			grep -q "no ESP back on IP in [0-9]* ms (module reachability event): trying UDP 4500" "$IKE_DIR/a.log"
		tap_check "$tag: a's log: confirmed in UDP 4500 by a module reachability event" \
			grep -q "ESP reachability confirmed in UDP 4500 .*ESP came back: module reachability event" "$IKE_DIR/a.log"
		tap_check "$tag: b's log: answered the probe in UDP 4500 on a module reachability event" \
			grep -q "ESP probe arrived in UDP 4500 (module reachability event): answering" "$IKE_DIR/b.log"
		;;
	no-esp-udp)
		if wait_for 40 rebuilt_up; then
			tap_ok "$tag: ESP blocked beside TCP: IKE SA deleted and rebuilt in RFC 9329 mode (RT-25)"
		else
			tap_fail "$tag: ESP blocked beside TCP: IKE SA deleted and rebuilt in RFC 9329 mode (RT-25)" "$(a_state)"
			ike_log a 30; ike_log b 15
		fi
		tap_check "$tag: a logged the failed probe and the rebuild" \
			grep -q "ESP reachability not confirmed" "$IKE_DIR/a.log"
		tap_check "$tag: b saw the Delete of the first IKE SA" \
			grep -q "deleted by the peer" "$IKE_DIR/b.log"
		tap_check "$tag: one IKE SA left at each end, ESP in TCP, no notify on the rebuild" \
			test "$(ike_jq a "[(i['esp_in_tcp'], i['separate']) for i in s['ike_sas']]")" = "[(True, False)]" -a \
			     "$(ike_jq b "[(i['esp_in_tcp'], i['separate']) for i in s['ike_sas']]")" = "[(True, False)]"
		reach_checks "$tag"
		tap_check "$tag: a's log: the move to UDP 4500 came from a module reachability event (down)" \
			grep -q "no ESP back on IP in [0-9]* ms (module reachability event): trying UDP 4500" "$IKE_DIR/a.log"
		;;
	esac
	reach_stop
	dp_ping_wire "$tag" "$expect"
	dp_stop_clean "$tag"
}

probe_run open esp
probe_run no-esp espudp
if have_espintcp; then
	probe_run no-esp-udp tcpdata
else
	tap_skip_design "probe no-esp-udp: rebuild with ESP in TCP" "kernel without the espintcp ULP"
fi
rmmod tcpike 2>/dev/null
tap_done
