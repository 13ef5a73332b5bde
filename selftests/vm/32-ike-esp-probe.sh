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

# probe_run CASE EXPECT(esp|espudp|tcpdata)
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
		"conn_extra=transport = separate-tcp-first;esp_probe_delay = 500ms;esp_probe_timeout = 4s;tcp_connect_timeout = 2s"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend=module
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
		;;
	esac
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
