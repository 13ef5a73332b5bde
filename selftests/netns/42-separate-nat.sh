#!/bin/bash
# Separate transports (draft-ietf-ipsecme-ikev2-reliable-transport) with the
# initiator behind a NAT: two tcpiked (backend none), a -- r (masquerade) -- b.
# What reaches b is counted with nft on b's input.
#
#   separate            NAT detected over UDP, IKE moves to TCP, ESP in UDP
#                       4500 (RT-20); NAT-keepalives (one byte FF) keep going
#                       on UDP 4500 while IKE runs, and exchanges, on TCP
#                       (RT-21, RT-22)
#   separate-tcp-first  NAT-D over the TCP ports finds the NAT (RT-18 over
#                       TCP, TCP-31); ESP still in UDP 4500 (RT-20)
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
command -v nft >/dev/null || tap_skip_all "nft not installed"
. "$TOP/selftests/ike.sh"
topo_nat "ikn$$" || tap_skip_all "cannot build the NAT topology"

# b sees a only as the router's address 10.0.0.1.
A_ARGS=(local=10.1.0.2 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)

ip netns exec "$NS_B" nft -f - <<'NFT'
table inet cnt {
	counter udp500 {}
	counter udp4500 {}	# keepalives excluded
	counter ka4500 {}
	counter tcp4500syn {}
	chain in {
		type filter hook input priority -10;
		udp dport 500 counter name udp500
		udp dport 4500 udp length 9 @th,64,8 0xff counter name ka4500
		udp dport 4500 udp length != 9 counter name udp4500
		tcp dport 4500 tcp flags & (syn|ack) == syn counter name tcp4500syn
	}
}
NFT
cnt() {
	ip netns exec "$NS_B" nft -j list counter inet cnt "$1" |
		python3 -c "import json,sys; print([o['counter']['packets'] for o in json.load(sys.stdin)['nftables'] if 'counter' in o][0])"
}
cnt_reset() { ip netns exec "$NS_B" nft reset counters table inet cnt >/dev/null; }

# up "A conn_extra": restart both daemons, a initiates
up() {
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a >/dev/null
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b >/dev/null
	ike_conf a "${A_ARGS[@]}" "conn_extra=$1"
	ike_conf b "${B_ARGS[@]}"
	cnt_reset
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c >/dev/null
}
j() { ike_jq "$@"; }
ike1() { j "$1" "[i for i in s['ike_sas'] if i['state']=='ESTABLISHED'][0]['$2']"; }
child1() { j "$1" "[c for i in s['ike_sas'] if i['state']=='ESTABLISHED' for c in i['children'] if c['state']=='INSTALLED'][0]['$2']"; }
child_rekeys() { j "$1" "sum(c['rekeys'] for i in s['ike_sas'] for c in i['children'])"; }

# --- separate, UDP first, behind a NAT -----------------------------------------------
up "transport = separate;keepalive_interval = 1s"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "separate behind a NAT: IKE and Child SA established"
else
	tap_fail "separate behind a NAT: IKE and Child SA established"; ike_log a; ike_log b
fi
tap_check "separate behind a NAT: NAT seen by both, separate negotiated, IKE on TCP" \
	test "$(ike1 a nat_local) $(ike1 b nat_remote) $(ike1 a separate) $(ike1 b separate) $(ike1 a transport) $(ike1 b transport)" = "True True True True tcp tcp"
tap_check "separate behind a NAT: ESP in UDP 4500 on both ends (RT-20)" \
	test "$(child1 a esp_transport) $(child1 b esp_transport)" = "udp udp"
tap_check "separate behind a NAT: IKE_SA_INIT on UDP 4500, then one TCP connection" \
	test "$(cnt udp500) $(cnt tcp4500syn)" = "0 1"
# Over about 4 s with IKE busy on TCP (a Child SA rekey each way), the NAT
# mapping for ESP is still kept alive on UDP 4500 by a (RT-21, RT-22).
k0=$(cnt ka4500) u0=$(cnt udp4500) r0=$(child_rekeys a)
sleep 1
ike_ctl a rekey c child >/dev/null
sleep 1
ike_ctl b rekey c child >/dev/null
sleep 2
k1=$(cnt ka4500)
more_rekeys() { test "$(child_rekeys a)" -ge $((r0 + 2)); }
tap_check "separate behind a NAT: two Child SA rekeys meanwhile" wait_for 5 more_rekeys
tap_check "separate behind a NAT: nothing but keepalives on UDP 4500 meanwhile (IKE on TCP)" \
	test "$(cnt udp4500)" = "$u0"
tap_diag "NAT-keepalives seen by b in 4 s: $((k1 - k0))"
tap_check "separate behind a NAT: NAT-keepalives (FF) on UDP 4500 while IKE runs on TCP (RT-21, RT-22)" \
	test $((k1 - k0)) -ge 2

# Not more than one per second either (keepalive_interval = 1s): the
# rekeys did not leave extra keepalive timers behind.
k0=$(cnt ka4500)
sleep 4
k1=$(cnt ka4500)
tap_diag "NAT-keepalives seen by b in the next 4 s: $((k1 - k0))"
tap_check "separate behind a NAT: at most one keepalive per second after the rekeys" \
	test $((k1 - k0)) -le 5
ike_stop a
ike_stop b

# --- separate-tcp-first behind a NAT ---------------------------------------------------
up "transport = separate-tcp-first;keepalive_interval = 1s"
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "separate-tcp-first behind a NAT: established"
else
	tap_fail "separate-tcp-first behind a NAT: established"; ike_log a; ike_log b
fi
tap_check "separate-tcp-first behind a NAT: NAT-D over the TCP ports finds the NAT on both ends (RT-18, TCP-31)" \
	test "$(ike1 a nat_local) $(ike1 b nat_remote) $(ike1 a separate) $(cnt udp500)" = "True True True 0"
tap_check "separate-tcp-first behind a NAT: ESP in UDP 4500, not in the stream (RT-20)" \
	test "$(child1 a esp_transport) $(child1 b esp_transport) $(ike1 a esp_in_tcp)" = "udp udp False"
k0=$(cnt ka4500)
sleep 3
tap_check "separate-tcp-first behind a NAT: NAT-keepalives on UDP 4500 (RT-21)" \
	test $(( $(cnt ka4500) - k0 )) -ge 2
ike_stop a
ike_stop b
tap_done
