# tcpiked against tcpiked with real kernel ESP (sourced by the VM tests
# selftests/vm/3*-ike-*.sh after lib.sh; sources ike.sh and module.sh):
# dp_run TAG NAT BACKEND TRANSPORT EXPECT brings up a tunnel, pings between
# the inner networks and checks which transport carried the ESP both ways, counted on the wire at both ends
# (lib.sh wire_count); with IKE on TCP it also rekeys (Child SA by b,
# IKE SA by a) and pings again; at the end both daemons stop cleanly and
# leave no XFRM state or policy behind.
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/module.sh"

ping_ok() { ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
# One ping from a's inner address (a trap's first packet meets no SA and is
# dropped, as are those meeting the larval state: net.core.xfrm_larval_drop)
ping1() { ip netns exec "$NS_A" ping -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
# a's XFRM states, and "at least the two of one Child SA"
esp_states() { ip -n "$NS_A" xfrm state | grep -c '^src' || true; }
two_states() { [ "$(esp_states)" -ge 2 ]; }

# dp_ping_wire TAG EXPECT: ping between the inner networks; EXPECT (esp,
# espudp or tcpdata) is the transport that must carry the ESP both ways, at
# both ends (lib.sh wire counters: sent and received), the others none.
dp_ping_wire() {
	local tag=$1 expect=$2 t
	wire_mark ping
	if ping_ok; then
		tap_ok "$tag: ping through the tunnel"
	else
		tap_fail "$tag: ping through the tunnel"; ike_log a 15; ike_log b 15
		ip -n "$NS_A" xfrm state | sed 's/^/# a: /'; ip -n "$NS_B" xfrm state | sed 's/^/# b: /'
	fi
	case $expect in
	esp) wire_check -d ping "$tag: ESP on IP both ways at both ends, none in UDP or TCP" \
		a:out_esp\>=3 b:in_esp\>=3 b:out_esp\>=3 a:in_esp\>=3 \
		a:out_esp4500=0 b:out_esp4500=0 a:out_tcp=0 b:out_tcp=0 ;;
	espudp) wire_check -d ping "$tag: ESP in UDP 4500 both ways at both ends, none on IP" \
		a:out_esp4500\>=3 b:in_esp4500\>=3 b:out_esp4500\>=3 a:in_esp4500\>=3 \
		a:out_esp=0 b:out_esp=0 a:out_tcp=0 b:out_tcp=0 ;;
	tcpdata) wire_check -d ping "$tag: ESP inside the TCP connection both ways, none on IP or in UDP" \
		a:out_tcp\>=3 b:in_tcp\>=3 b:out_tcp\>=3 a:in_tcp\>=3 \
		a:out_esp=0 b:out_esp=0 a:out_esp4500=0 b:out_esp4500=0 ;;
	esac
}

# dp_pair PREFIX: a fresh pair of namespaces (a 10.0.0.1, b 10.0.0.2), the
# inner networks routed over the veth from the inner addresses, wire
# counters at both ends.
dp_pair() {
	ns_cleanup
	topo_pair "$1" || return 1
	ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
	wire_count a="$NS_A" b="$NS_B"
}

# dp_stop_clean TAG: both daemons stop cleanly and removed what they installed.
dp_stop_clean() {
	ike_stop a
	ike_stop b
	tap_check "$1: no XFRM state or policy left behind" \
		sh -c "[ -z \"\$(ip -n $NS_A xfrm state; ip -n $NS_A xfrm policy; ip -n $NS_B xfrm state; ip -n $NS_B xfrm policy)\" ]"
}

# dp_run TAG NAT(0/1) BACKEND TRANSPORT EXPECT: EXPECT is the counter that must
# carry the ping (esp, espudp or tcpdata) while the others stay at 0.
dp_run() {
	local tag=$1 nat=$2 backend=$3 xport=$4 expect=$5 remote_b
	# TCPIKE_DP_ONLY=substring runs only the matching cases (debugging)
	[ -n "${TCPIKE_DP_ONLY:-}" ] && [[ "$tag" != *"$TCPIKE_DP_ONLY"* ]] && return
	ns_cleanup
	if [ "$nat" = 1 ]; then
		topo_nat "dp$$" || { tap_fail "$tag: topology"; return; }
		ip -n "$NS_A" route add 192.168.2.0/24 via 10.1.0.1 src 192.168.1.1
		ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
		local_a=10.1.0.2 remote_b=10.0.0.1
	else
		topo_pair "dp$$" || { tap_fail "$tag: topology"; return; }
		ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
		ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
		local_a=10.0.0.1 remote_b=10.0.0.1
	fi
	wire_count a="$NS_A" b="$NS_B"
	ike_conf a local=$local_a remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend="$backend" "conn_extra=transport = $xport"
	ike_conf b local=10.0.0.2 remote=$remote_b lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend="$backend"
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
	if ! wait_for 20 ike_established a || ! wait_for 5 ike_established b; then
		tap_fail "$tag: tunnel up"; ike_log a; ike_log b
		ike_stop a >/dev/null; ike_stop b >/dev/null
		return
	fi
	# RT-23..26: a probe only after a TCP-first setup, in UDP with a NAT.
	case $xport in
	separate-tcp-first)
		local on="on IP"
		[ "$nat" = 1 ] && on="in UDP 4500"
		probed() { ike_ctl a status 2>/dev/null | grep -q "ESP reachability: confirmed $on"; }
		if wait_for 10 probed; then
			tap_ok "$tag: ESP reachability confirmed $on (RT-24, RT-26)"
		else
			tap_fail "$tag: ESP reachability confirmed $on (RT-24, RT-26)"
			ike_ctl a status | grep -i reachab | sed 's/^/# /'
		fi ;;
	separate)
		tap_expect_eq "$tag: no ESP probe after a UDP-first setup (RT-23)" \
			"['none']" "$(ike_jq a "[i['esp_probe'] for i in s['ike_sas']]")" ;;
	esac
	dp_ping_wire "$tag" "$expect"
	if [ "$xport" != udp ]; then
		# Rekeys over TCP, one by each side; traffic flows on the new SAs.
		local n0 i0
		n0=$(child_rekeys b) i0=$(ike_rekeys a)
		ike_ctl b rekey c child >/dev/null
		ike_ctl a rekey c ike >/dev/null
		more() { [ "$(child_rekeys b)" -gt "$n0" ] && [ "$(ike_rekeys a)" -gt "$i0" ] && ike_established a; }
		if wait_for 15 more && ping_ok; then
			tap_ok "$tag: Child SA rekey by b and IKE SA rekey by a over TCP, ping after"
		else
			tap_fail "$tag: Child SA rekey by b and IKE SA rekey by a over TCP, ping after"
			ike_log a 20; ike_log b 20
		fi
	fi
	dp_stop_clean "$tag"
}

