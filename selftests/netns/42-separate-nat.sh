#!/bin/bash
# Separate transports (draft-ietf-ipsecme-ikev2-reliable-transport) with the
# initiator behind a NAT: two tcpiked (backend none), a -- r (masquerade) -- b.
# What each end sends and receives is counted with nft on a and on b, per
# transport and port (lib.sh wire_count); the ESP encapsulation is read
# from what each backend was asked to install (kb_sas), the NAT mapping
# from r's conntrack.
#
#   separate            NAT detected over UDP, IKE moves to TCP, ESP in UDP
#                       4500 with the NAT's ports (RT-20); NAT-keepalives
#                       (one byte FF) from a at exactly its interval on UDP
#                       4500 while IKE runs, and exchanges, on TCP (RT-21,
#                       RT-22)
#   separate-tcp-first  NAT-D over the TCP ports finds the NAT (RT-18 over
#                       TCP, TCP-31); ESP still in UDP 4500 (RT-20), kept
#                       alive the same way (RT-21)
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_nat "ikn$$" || tap_skip_all "cannot build the NAT topology"
wire_count a="$NS_A" b="$NS_B"
# r maps a's UDP to ports 40000-40009, so ESP at the NAT's own port can be
# told apart from ESP at an assumed 4500.
ip netns exec "$NS_R" nft -f - <<'NFT'
flush chain ip nat post
add rule ip nat post oifname "rb" meta l4proto udp masquerade to :40000-40009
add rule ip nat post oifname "rb" masquerade
NFT

# b sees a only as the router's address 10.0.0.1.
A_ARGS=(local=10.1.0.2 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:b.test)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:a.test)

# nat_port: the port r maps a's UDP 4500 to (r's conntrack)
nat_port() {
	ip netns exec "$NS_R" conntrack -L -p udp --orig-src 10.1.0.2 --orig-port-dst 4500 2>/dev/null |
		sed -n 's/.*src=10.0.0.2 dst=10.0.0.1 sport=4500 dport=\([0-9]*\).*/\1/p' | head -n 1
}
# ka_window TAG SECONDS "what ran meanwhile": a's keepalives over a window of
# about SECONDS (measured) since wire_mark TAG at time KA_T0 (ns): with
# keepalive_interval 1s, as many as whole seconds passed, give or take one
# (RT-21); every one of them reached b through the NAT; none from b (not
# behind the NAT); nothing else on UDP 4500 at either end (IKE on TCP).
# b is read before a, right after one another, so at the end of a window at
# most one keepalive counted by a is still on its way to b.  At its start
# one a counted before the window (its mark) may reach b after b's mark:
# windows follow each other at once (one was seen so: 5 received of 4).
# So kb and k differ by at most one, either way.  The zero counts are read afterwards (wire_check), the
# keepalive counts are not re-read there (a later read is a later window).
ka_window() {
	local tag=$1 secs=$2 what=$3 left ms k kb lo hi
	left=$(( secs * 1000 - ($(date +%s%N) - KA_T0) / 1000000 ))
	# the measurement window itself, not a wait for an event
	[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	kb=$(( $(cnt b in_ka4500) - WIRE_MARK[$tag:b:in_ka4500] ))
	k=$(( $(cnt a out_ka4500) - WIRE_MARK[$tag:a:out_ka4500] ))
	ms=$(( ($(date +%s%N) - KA_T0) / 1000000 ))
	lo=$(( ms / 1000 - 1 )) hi=$(( (ms + 999) / 1000 + 1 ))
	tap_diag "keepalives from a in $ms ms ($what): $k sent, $kb received by b"
	tap_check "$what: a sent one NAT-keepalive per second on UDP 4500 ($k in $ms ms, $lo to $hi expected) (RT-21, RT-22)" \
		test "$k" -ge "$lo" -a "$k" -le "$hi"
	tap_check "$what: every keepalive reached b through the NAT ($kb of $k, at most one in flight at each end)" \
		test "$kb" -le $((k + 1)) -a "$k" -le $((kb + 1))
	wire_check -d "$tag" "$what: none from b, nothing else on UDP 4500" \
		b:out_ka4500=0 a:in_ka4500=0 "${WIRE_NO_UDP_IKE[@]}"
}

# --- separate, UDP first, behind a NAT -----------------------------------------------
# a checks liveness every second over TCP: IKE traffic that must not stand
# in for keepalives (RT-22).
ike_up "conn_extra=transport = separate;keepalive_interval = 1s;dpd_delay = 1s"
expect_established "separate behind a NAT: IKE and Child SA established"
tap_check "separate behind a NAT: a and b report the NAT on a's side, separate transports, IKE on TCP" \
	test "$(ike1 a nat_local) $(ike1 b nat_remote) $(ike1 a separate) $(ike1 b separate) $(ike1 a transport) $(ike1 b transport)" = "True True True True tcp tcp"
p=$(nat_port)
tap_expect_eq "separate behind a NAT: both backends were asked for ESP in UDP 4500 over the NAT's mapping $p (RT-20)" \
	"in:udp:4500:4500 out:udp:4500:4500 | in:udp:$p:4500 out:udp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "separate behind a NAT: IKE_SA_INIT once each way on UDP 4500, nothing on 500, then one TCP connection from a" \
	"${WIRE_SEPARATE_SETUP[@]}"
# A window of 5 s with IKE busy on TCP (a Child SA rekey each way, liveness
# checks): the NAT
# mapping for ESP is still kept alive on UDP 4500 by a, at its interval.
wire_mark ka
KA_T0=$(date +%s%N)
r0=$(child_rekeys a)
ike_ctl a rekey c child >/dev/null
wait_for 5 rekeyed a child $((r0 + 1))
ike_ctl b rekey c child >/dev/null
tap_check "separate behind a NAT: two Child SA rekeys meanwhile" wait_for 5 rekeyed a child $((r0 + 2))
ka_window ka 5 "separate behind a NAT, rekeys on TCP"
# And after the rekeys: still one a second, no extra timers left behind.
wire_mark ka2
KA_T0=$(date +%s%N)
ka_window ka2 4 "separate behind a NAT, after the rekeys"
tap_expect_eq "separate behind a NAT: the rekeyed Child SAs' ESP is still in UDP 4500 over the mapping (RT-20)" \
	"in:udp:4500:4500 out:udp:4500:4500 | in:udp:$p:4500 out:udp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"

# --- separate-tcp-first behind a NAT ---------------------------------------------------
# Here b learns nothing of a's UDP mapping before ESP flows (IKE came over
# TCP), and with backend none no ESP flows: a NAT that keeps the port.
ip netns exec "$NS_R" nft -f - <<'NFT'
flush chain ip nat post
add rule ip nat post oifname "rb" masquerade
NFT
ip netns exec "$NS_R" conntrack -F 2>/dev/null
ike_up "conn_extra=transport = separate-tcp-first;keepalive_interval = 1s"
expect_established "separate-tcp-first behind a NAT: established"
tap_check "separate-tcp-first behind a NAT: NAT-D over the TCP ports finds the NAT on both ends (RT-18, TCP-31)" \
	test "$(ike1 a nat_local) $(ike1 b nat_remote) $(ike1 a separate) $(ike1 b separate)" = "True True True True"
wire_mark ka3
KA_T0=$(date +%s%N)
ka_window ka3 4 "separate-tcp-first behind a NAT"
p=$(nat_port)
tap_check "separate-tcp-first behind a NAT: r mapped a's UDP 4500 (from a's keepalives)" test -n "$p"
tap_expect_eq "separate-tcp-first behind a NAT: ESP in UDP 4500, not in the stream, at both backends (RT-20)" \
	"in:udp:4500:4500 out:udp:4500:4500 | in:udp:$p:4500 out:udp:4500:$p" "$(kb_encaps a) | $(kb_encaps b)"
wire_check "separate-tcp-first behind a NAT: IKE only on the one TCP connection (RT-9)" \
	a:out_syn=1 b:in_syn=1 "${WIRE_NO_UDP_IKE[@]}"
ike_stop a
ike_stop b
tap_done
