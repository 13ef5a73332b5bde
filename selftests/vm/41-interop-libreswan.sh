#!/bin/bash
# Interop with Libreswan 4.10 (pluto, Debian 12) over TCP: RFC 9329 /
# RFC 8229, IKE and ESP in one TCP connection, the kernel's espintcp on
# both ends.  tcpiked (backend xfrm) in a, pluto in b, tunnel
# 192.168.1.0/24 <-> 192.168.2.0/24, PSK.
#
#   1  tcpiked initiates, transport = tcp  -> pluto enable-tcp=yes
#   1b tcpiked transport = separate-tcp-first -> pluto, which does not
#      echo N(SEPARATE_TRANSPORTS): plain RFC 9329 (RT-11)
#   2  pluto initiates, enable-tcp=yes     -> tcpiked responds
#      (each: ping through, Child SA rekey started by tcpiked, ping again)
#   3  UDP 500/4500 dropped at the responder: tcpiked transport = auto ->
#      pluto, and pluto enable-tcp=fallback -> tcpiked; time from the
#      initiate to the first ping reply goes to the diagnostics
#   4  pluto (initiator) killed with SIGKILL, started again, initiates with
#      INITIAL_CONTACT: tcpiked deletes the old IKE SA and its Child SA,
#      one of each left, its kernel holds just the new pair of SAs, ping
#   5  tcpiked (initiator, transport = tcp) killed with SIGKILL, restarted,
#      initiates with INITIAL_CONTACT: pluto has one Child SA, the new
#      one; one IKE SA on tcpiked's side, ping (the old tcpiked's
#      policies are still in a's kernel: the new one replaces them)
#   6  pluto reauthenticates (reauth=yes, ikelifetime=20s): a new IKE SA
#      from IKE_SA_INIT with a new Child SA, the old ones deleted by
#      pluto; tcpiked ends with one IKE SA, another than the first, one
#      Child SA, its kernel with that Child SA's two SAs, ping
#   8  IKE_INTERMEDIATE (RFC 9242, no additional key exchange) over TCP:
#      pluto intermediate=yes -> tcpiked (intermediate = accept, the
#      default), and tcpiked intermediate = yes -> pluto: one exchange
#      each (tcpiked's status), the PSK AUTH over IntAuth verifies both
#      ways, ping
#   7  every capture dissects without "Malformed" in tshark
#
# What crossed the wire is taken from captures of both veth ends' egress
# (an ingress capture also sees the decrypted inner packets), dissected by
# tshark: ESP inside the TCP stream, none as IP protocol 50 or in UDP.
. "$(dirname "$0")/../lib.sh"
require_root
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
. "$TOP/selftests/peers/libreswan.sh"
lsw_available || tap_skip_all "no Libreswan root (TCPIKE_LIBRESWAN_ROOT from scripts/libreswan-root.sh) or no certutil"
have_espintcp ||
	tap_skip_all_design "kernel without espintcp (CONFIG_INET_ESPINTCP)"
for c in tcpdump tshark nft busybox python3; do
	command -v $c >/dev/null || tap_skip_all "$c not installed"
done
[ -e /proc/net/packet ] || tap_skip_all "no AF_PACKET (CONFIG_PACKET) for the captures"
. "$TOP/selftests/ike.sh"
topo_pair lsw || tap_skip_all "cannot build the namespace pair"
# No IPv6 on the wire (router solicitations would only add noise).
ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.va.disable_ipv6=1
ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
# Inner routes with the inner source: the XFRM policies do the rest.
ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1
ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1

# Clear ICMP never leaves either end (inner packets about to be encrypted
# have an IPsec route and pass): a ping reply proves the tunnel, also
# before the SAs exist, and the egress captures never hold clear ICMP.
for n in "$NS_A va" "$NS_B vb"; do
	set -- $n
	ip netns exec "$1" nft -f - <<NFT
table inet clr {
	chain out { type filter hook postrouting priority 0; oifname "$2" meta l4proto icmp rt ipsec missing drop; }
}
NFT
done

PSK=tcpike-lsw-interop-psk-0123456789
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=10.0.0.1 rid=10.0.0.2 psk=$PSK backend=xfrm)

# --- pluto in b ---------------------------------------------------------------
# Three conns for the same pair: "tcp" (enable-tcp=yes), "fb"
# (enable-tcp=fallback, short UDP phase: pluto checks retransmit-timeout only
# at retransmit instants, so 3 s + 250 ms back-off gives ~4 s of UDP) and
# "im" (enable-tcp=yes, intermediate=yes: one IKE_INTERMEDIATE, RFC 9242)
# and "ra" (enable-tcp=yes, reauth=yes: Libreswan 4.10 knows the key, though
# its ipsec.conf(5) does not list it; at the end of ikelifetime pluto
# replaces the IKE SA by a fresh IKE_SA_INIT instead of rekeying it).
# Only the one a case needs is loaded (auto=ignore here, addconn by name).
# initial-contact=yes on "tcp": without it Libreswan 4.10 sent no
# INITIAL_CONTACT after a restart (its IKE_AUTH: IDi AUTH SA TSi TSr),
# whatever ipsec.conf(5) says of the default.
# pfs=no: tcpiked's rekeys here carry no KE payload.
LSW_CONF=$IKE_DIR/lsw-b.conf
printf '10.0.0.2 10.0.0.1 : PSK "%s"\n' "$PSK" >"$IKE_DIR/lsw.secrets"
chmod 600 "$IKE_DIR/lsw.secrets"
cat >"$LSW_CONF" <<EOF
config setup
	logfile=/run/pluto-$NS_B/pluto.log
	logappend=no
	logtime=yes
	plutodebug=none
	secretsfile=$IKE_DIR/lsw.secrets
	dumpdir=/run/pluto-$NS_B
	listen-tcp=yes

conn %default
	ikev2=yes
	authby=secret
	left=10.0.0.2
	leftid=10.0.0.2
	leftsubnet=192.168.2.0/24
	right=10.0.0.1
	rightid=10.0.0.1
	rightsubnet=192.168.1.0/24
	ike=aes_gcm256-sha2_256;dh31
	esp=aes_gcm256
	pfs=no
	tcp-remoteport=4500
	leftupdown=""
	auto=ignore

conn tcp
	enable-tcp=yes
	initial-contact=yes

conn fb
	enable-tcp=fallback
	retransmit-timeout=3s
	retransmit-interval=250

conn im
	enable-tcp=yes
	intermediate=yes

conn ra
	enable-tcp=yes
	initial-contact=yes
	reauth=yes
	ikelifetime=20s
	rekeymargin=5s
	rekeyfuzz=0%
EOF
if lsw_start "$NS_B" "$LSW_CONF" &&
   wait_for 5 sh -c "ip netns exec $NS_B ss -Htln | grep -q '10.0.0.2:4500'"; then
	tap_ok "pluto runs in b and listens on TCP 4500"
else
	tap_fail "pluto runs in b and listens on TCP 4500"
	lsw_log "$NS_B" | tail -20 | sed 's/^/# /'
	tap_done
fi
T_START=$(date +%s)
# wait_s SECONDS command...: like wait_for, but by the clock (a poll costs
# far more than 0.1 s in an emulated guest)
wait_s() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}
step() { tap_diag "[$(( $(date +%s) - T_START ))s] $*"; }
# whack waits for pluto's answer; never longer than 20 s here
lsw_w() { timeout 20 ip netns exec "$NS_B" "$LSW/whack" --ctlsocket "/run/pluto-$NS_B/pluto.ctl" "$@"; }
lsw_conn() {	# lsw_conn NAME: only that conn loaded
	lsw_w --delete --name tcp >/dev/null 2>&1
	lsw_w --delete --name fb >/dev/null 2>&1
	lsw_w --delete --name im >/dev/null 2>&1
	lsw_w --delete --name ra >/dev/null 2>&1
	timeout 20 ip netns exec "$NS_B" "$LSW/addconn" --config "$LSW_CONF" \
		--ctlsocket "/run/pluto-$NS_B/pluto.ctl" "$1" >/dev/null
}
# pluto's view: an established Child SA of CONN with ESP in TCP
lsw_espintcp_up() {
	lsw_w --trafficstatus | grep -q "\"$1\"" &&
	lsw_log "$NS_B" | grep -q "\"$1\" #.*established Child SA.*ESPinTCP"
}

# --- captures -------------------------------------------------------------------
CAPS=()
cap_start() {	# cap_start TAG: egress of both veth ends
	local ns dev
	CAP=$IKE_DIR/cap-$1 CAP_TAG=$1
	CAP_T0[$1]=$(date +%s.%N)
	for ns in "$NS_A va" "$NS_B vb"; do
		set -- $ns
		ip netns exec "$1" tcpdump -n -i "$2" -Q out -U -w "$CAP-$2.pcap" not arp \
			>"$CAP-$2.log" 2>&1 &
		CAP_PIDS+=($!)
		CAPS+=("$CAP-$2.pcap")
	done
	for dev in va vb; do
		wait_for 5 grep -q listening "$CAP-$dev.log"
	done
}
cap_stop() {
	sleep 0.5
	kill -INT "${CAP_PIDS[@]}" 2>/dev/null
	wait "${CAP_PIDS[@]}" 2>/dev/null
	CAP_PIDS=()
	CAP_T1[$CAP_TAG]=$(date +%s.%N)
}
CAP_PIDS=()
# tshark starts slowly in the guest (seconds, minutes on a busy TCG host),
# so it runs once at the end on all captures concatenated, with each
# frame's time and protocol stack (e.g. eth:ethertype:ip:tcp:tcpencap:esp);
# a case's frames are those inside its capture window.  TCP 4500 is
# decoded as RFC 8229 explicitly.
declare -A CAP_T0 CAP_T1
WIRE_CASES=()
wire_check() {	# wire_check CASE PINGS: queued for the end
	WIRE_CASES+=("$CAP_TAG|$2|$1")
}
wire() {	# wire FILE ERE [ERE-NOT]: frames of FILE matching
	grep -E "$2" "$1" | { if [ -n "${3:-}" ]; then grep -vE "$3"; else cat; fi; } | wc -l
}
# ESP only inside TCP, none on IP or in UDP, no clear ICMP.  Every echo
# request and reply crossed the wire (ping_in wants all replies and clear
# ICMP is dropped), so all of them are ESP in TCP; tshark 4.0's tcpencap
# leaves a few stream segments undissected (seen: 11 of 12, 9 of 12), so
# the count asked for is one per ping, not two.
wire_report() {
	local tag pings name f intcp raw udp clear w
	for w in "${WIRE_CASES[@]}"; do
		IFS='|' read -r tag pings name <<<"$w"
		f=$IKE_DIR/case-$tag.proto
		awk -v t0="${CAP_T0[$tag]}" -v t1="${CAP_T1[$tag]}" \
			'$1 >= t0 && $1 <= t1 { print $2 }' "$IKE_DIR/all.proto" >"$f"
		# ESP messages in the stream (a segment may carry several)
		intcp=$(awk -F'\t' -v t0="${CAP_T0[$tag]}" -v t1="${CAP_T1[$tag]}" \
			'$1 >= t0 && $1 <= t1 && $2 ~ /:tcp:.*:esp/ { n += split($3, x, ",") }
			 END { print n + 0 }' "$IKE_DIR/all.proto")
		raw=$(wire "$f" ':esp' ':(tcp|udp):')
		udp=$(wire "$f" ':udp:.*:esp') clear=$(wire "$f" ':icmp')
		if [ "$intcp" -ge "$pings" ] && [ "$raw" = 0 ] && [ "$udp" = 0 ] && [ "$clear" = 0 ]; then
			tap_ok "$name: on the wire ESP only inside the TCP stream ($intcp ESP messages dissected, $((2 * pings)) pings crossed)"
		else
			tap_fail "$name: on the wire ESP only inside the TCP stream" \
				"ESP in TCP $intcp (want >= $pings), ESP on IP $raw, ESP in UDP $udp, clear ICMP $clear"
			sort "$f" | uniq -c | sed 's/^/#   /'
		fi
	done
}

ping_in() {	# ping_in COUNT: from a's inner address to b's, all replies
	ip netns exec "$NS_A" busybox ping -q -c "$1" -W 2 -I 192.168.1.1 192.168.2.1 2>&1 |
		grep -q " $1 packets received"
}
# a's kernel SAs: "N M" = states, states with ESP in TCP
xfrm_tcp() {
	echo "$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_A" xfrm state | grep -c 'encap type espintcp')"
}
# Polls read tcpikectl's text status (python3 costs seconds in the guest).
st_a() { ike_ctl a status 2>/dev/null; }
a_up() {
	local t
	t=$(st_a)
	[[ $t == *": ESTABLISHED "* && $t == *$'\n  net: INSTALLED '* ]]
}
a_spi() { st_a | sed -n 's/^  net: INSTALLED .*SPIs \([0-9a-f]*\)_i.*/\1/p' | head -n 1; }
a_rekeyed() {	# a_rekeyed OLD-SPI: one Child SA, a new one
	local t
	t=$(st_a)
	[ "$(printf '%s\n' "$t" | grep -c '^  net: ')" = 1 ] &&
	[ "$(printf '%s\n' "$t" | sed -n 's/^  net: INSTALLED .*SPIs \([0-9a-f]*\)_i.*/\1/p')" != "$1" ] &&
	[[ $t == *$'\n  net: INSTALLED '* ]]
}
a_log() {	# tcpiked's log without the status polls
	tap_diag "--- a log (tail)"
	grep -v 'control: status' "$IKE_DIR/a.log" | tail -n "${1:-40}" | sed 's/^/# /'
}
xfrm_is() { [ "$(xfrm_tcp)" = "$1" ]; }
# "IKE-SAs Child-SAs" in a's status, of any state
a_count() {
	local t
	t=$(st_a)
	echo "$(printf '%s\n' "$t" | grep -c '^  IKE: ') $(printf '%s\n' "$t" | grep -c '^  net: ')"
}
# the SPIs of a's IKE SAs ("I_i R_r", one line each)
a_ike() { st_a | sed -n 's/^  IKE: .*SPIs \([0-9a-f]*_i [0-9a-f]*_r\).*/\1/p'; }
# a_replaced OLD: one IKE SA, not OLD, with one installed Child SA
a_replaced() {
	local x
	x=$(a_ike)
	[ -n "$x" ] && [ "$x" != "$1" ] && [ "$(a_count)" = "1 1" ] && a_up
}
# the Child SAs' SPIs in a's status and in a's kernel, sorted, as 0x%08x
a_child_spis() {
	st_a | sed -n 's/^  net: .*SPIs \([0-9a-f]*\)_i \([0-9a-f]*\)_o.*/0x\1 0x\2/p' |
		tr ' ' '\n' | sort | tr '\n' ' '
}
a_xfrm_spis() {
	ip -n "$NS_A" xfrm state | sed -n 's/.* spi \(0x[0-9a-f]*\) .*/\1/p' | sort | tr '\n' ' '
}
# pluto's Child SAs of CONN (the N of "#N" of each trafficstatus line)
lsw_children() {
	lsw_w --trafficstatus | sed -n "s/.*#\([0-9]*\): \"$1\".*/\1/p" | tr '\n' ' ' | sed 's/ $//'
}
# lsw_child_new CONN OLD: pluto has one Child SA of CONN, not OLD
lsw_child_new() {
	local n
	n=$(lsw_children "$1")
	[ -n "$n" ] && [ "$n" = "${n%% *}" ] && [ "$n" != "$2" ]
}
logs() { a_log 40; lsw_log "$NS_B" | tail -20 | sed 's/^/# /'; }
case_end() {	# case_end CASE PINGS: a stopped, the capture too, queued
	ike_stop a
	cap_stop
	wire_check "$1" "$2"
}
# pluto_up CONN TAG: CONN alone loaded in pluto, capture TAG, a new
# tcpiked in a (responder), pluto initiates: true once a's SAs are up
pluto_up() {
	lsw_conn "$1"
	cap_start "$2"
	ike_conf a "${A_ARGS[@]}"
	ike_start "$NS_A" a
	lsw_w --initiate --asynchronous --name "$1" >/dev/null 2>&1
	wait_s 30 a_up
}
lsw_restart() {	# lsw_restart: pluto in b again after lsw_kill
	lsw_start "$NS_B" "$LSW_CONF" &&
	wait_s 10 sh -c "ip netns exec $NS_B ss -Htln | grep -q '10.0.0.2:4500'"
}
# facts: "transport esp_in_tcp tcp_fallback tcp_originator esp_transport" of
# a's established IKE SA and its installed Child SA, from the JSON status
facts() {
	ike_json a | python3 -c 'import json,sys
s=json.load(sys.stdin)
i=[i for i in s["ike_sas"] if i["state"]=="ESTABLISHED"][0]
c=[c for c in i["children"] if c["state"]=="INSTALLED"][0]
print(i["transport"], i["esp_in_tcp"], i["tcp_fallback"], i["tcp_originator"], c["esp_transport"])' 2>&1
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
first_reply() {	# first_reply T0 SECONDS: ping until one reply; prints ms
	local end=$(( $(date +%s) + $2 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		if ip netns exec "$NS_A" busybox ping -q -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; then
			ms_since "$1"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
block() {	# block NS: drop IKE/ESP over UDP arriving there
	ip netns exec "$1" nft -f - <<'NFT'
table inet blk {
	chain in { type filter hook input priority -20; udp dport { 500, 4500 } counter drop; }
}
NFT
}
unblock() { ip netns exec "$1" nft delete table inet blk 2>/dev/null; true; }
dropped() { ip netns exec "$1" nft list table inet blk | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }

# The common checks of cases 1 and 2 once the tunnel is up: transport as
# tcpiked reports it, the kernel SAs, pluto's word, ping, a Child SA rekey
# by tcpiked and ping again.
tcp_case() {
	local name=$1 conn=$2 orig=$3
	tap_expect_eq "$name: tcpiked reports IKE on TCP with ESP in the stream, TCP originator $orig" \
		"tcp True False $orig tcp" "$(facts)"
	tap_expect_eq "$name: a's kernel has both SAs as espintcp" "2 2" "$(xfrm_tcp)"
	tap_check "$name: pluto established the Child SA with ESPinTCP" lsw_espintcp_up "$conn"
	tap_check "$name: ping between the inner addresses" ping_in 3
	local spi0
	spi0=$(a_spi)
	ike_ctl a rekey c child >/dev/null
	if wait_s 20 a_rekeyed "$spi0"; then
		tap_ok "$name: Child SA rekeyed by tcpiked"
	else
		tap_fail "$name: Child SA rekeyed by tcpiked" "$(st_a)"
		a_log 40
		lsw_log "$NS_B" | tail -15 | sed 's/^/# /'
	fi
	wait_s 5 xfrm_is "2 2"
	tap_expect_eq "$name: after the rekey a's kernel has the two new SAs, espintcp" "2 2" "$(xfrm_tcp)"
	tap_check "$name: ping after the rekey" ping_in 3
}

# --- 1: tcpiked initiator, transport = tcp -----------------------------------------
step "case 1"
lsw_conn tcp
cap_start 1
ike_conf a "${A_ARGS[@]}" "conn_extra=transport = tcp"
ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
if wait_s 30 a_up; then
	tap_ok "1 tcpiked->pluto tcp: IKE and Child SA established"
	tcp_case "1 tcpiked->pluto tcp" tcp True
else
	tap_fail "1 tcpiked->pluto tcp: IKE and Child SA established"
	logs
fi
case_end "1 tcpiked->pluto tcp" 6

# --- 1b: tcpiked separate-tcp-first: pluto does not echo the notify -> RFC 9329 ---
step "case 1b"
cap_start 1b
ike_conf a "${A_ARGS[@]}" "conn_extra=transport = separate-tcp-first"
ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
if wait_s 30 a_up; then
	tap_ok "1b tcpiked separate-tcp-first->pluto: established"
	tap_expect_eq "1b: no echo of SEPARATE_TRANSPORTS from pluto: plain RFC 9329, ESP in the stream (RT-11)" \
		"tcp True False True tcp" "$(facts)"
	tap_check "1b: a logged that the peer did not echo the notify" \
		grep -q "peer did not echo SEPARATE_TRANSPORTS" "$IKE_DIR/a.log"
	tap_check "1b: pluto established the Child SA with ESPinTCP" lsw_espintcp_up tcp
	tap_check "1b: ping between the inner addresses" ping_in 3
else
	tap_fail "1b tcpiked separate-tcp-first->pluto: established"
	logs
fi
case_end "1b tcpiked separate-tcp-first->pluto" 3

# --- 2: pluto initiator, enable-tcp=yes -----------------------------------------
step "case 2"
if pluto_up tcp 2; then
	tap_ok "2 pluto->tcpiked tcp: IKE and Child SA established"
	tcp_case "2 pluto->tcpiked tcp" tcp False
else
	tap_fail "2 pluto->tcpiked tcp: IKE and Child SA established"
	logs
fi
case_end "2 pluto->tcpiked tcp" 6

# --- 8: IKE_INTERMEDIATE with pluto's intermediate=yes -----------------------------
# Before the restarts of cases 4 and 5: placed after them, the restarted
# pluto died with SIGSEGV when conn "im" was loaded (2026-12-06, once).
# inter_n: the IKE_INTERMEDIATE exchanges of a's established IKE SA
inter_n() { ike_jq a "[i['intermediate'] for i in s['ike_sas'] if i['state']=='ESTABLISHED']"; }
step "case 8a"
if pluto_up im 8a; then
	tap_ok "8a pluto intermediate=yes->tcpiked: IKE and Child SA established (AUTH over IntAuth verified both ways)"
	tap_expect_eq "8a: one IKE_INTERMEDIATE exchange before IKE_AUTH" "[1]" "$(inter_n)"
	tap_check "8a: tcpiked received it from pluto" \
		grep -q 'received IKE_INTERMEDIATE request 1 ' "$IKE_DIR/a.log"
	tap_check "8a: ping between the inner addresses" ping_in 3
else
	tap_fail "8a pluto intermediate=yes->tcpiked: IKE and Child SA established"
	logs
fi
case_end "8a pluto intermediate->tcpiked" 3

step "case 8b"
lsw_conn im
cap_start 8b
ike_conf a "${A_ARGS[@]}" "conn_extra=transport = tcp;intermediate = yes"
ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
if wait_s 30 a_up; then
	tap_ok "8b tcpiked intermediate = yes->pluto: IKE and Child SA established (AUTH over IntAuth verified both ways)"
	tap_expect_eq "8b: one IKE_INTERMEDIATE exchange before IKE_AUTH" "[1]" "$(inter_n)"
	tap_check "8b: pluto answered it" \
		grep -q 'received IKE_INTERMEDIATE response 1 ' "$IKE_DIR/a.log"
	tap_check "8b: ping between the inner addresses" ping_in 3
else
	tap_fail "8b tcpiked intermediate = yes->pluto: IKE and Child SA established"
	logs
fi
case_end "8b tcpiked intermediate->pluto" 3
if kill -0 "${LSW_PID[$NS_B]}" 2>/dev/null; then
	tap_ok "8: pluto still runs after both IKE_INTERMEDIATE cases"
else
	tap_fail "8: pluto still runs after both IKE_INTERMEDIATE cases" \
		"$(tail -n 15 "/run/pluto-$NS_B/stdout" 2>/dev/null)"
	lsw_log "$NS_B" | tail -n 15 | sed 's/^/#   /'
fi

# --- 3: UDP blocked at the responder, fallback to TCP -----------------------------
step "case 3a"
lsw_conn fb
block "$NS_B"
cap_start 3a
ike_conf a "${A_ARGS[@]}" "conn_extra=transport = auto"
ike_start "$NS_A" a
t0=$(date +%s%N)
ike_ctl a initiate c --no-wait >/dev/null
if ms=$(first_reply "$t0" 30); then
	tap_ok "3a tcpiked auto->pluto, UDP blocked: ping through"
	tap_diag "3a tcpiked auto -> pluto fallback: initiate to first ping reply $ms ms (tcp_race_delay 250 ms, the default)"
else
	tap_fail "3a tcpiked auto->pluto, UDP blocked: ping through"
	logs
fi
tap_expect_eq "3a: tcpiked fell back: IKE and ESP on TCP" "tcp True True True tcp" "$(facts)"
tap_check "3a: a's kernel SAs are espintcp, b dropped the UDP attempts" \
	test "$(xfrm_tcp)" = "2 2" -a "$(dropped "$NS_B")" -ge 1
case_end "3a tcpiked auto->pluto" 1
unblock "$NS_B"

step "case 3b"
lsw_conn fb
block "$NS_A"
cap_start 3b
ike_conf a "${A_ARGS[@]}"
ike_start "$NS_A" a
t0=$(date +%s%N)
lsw_w --initiate --asynchronous --name fb >/dev/null 2>&1
if ms=$(first_reply "$t0" 40); then
	tap_ok "3b pluto fallback->tcpiked, UDP blocked: ping through"
	tap_diag "3b pluto enable-tcp=fallback -> tcpiked: initiate to first ping reply $ms ms (retransmit-timeout 3s, interval 250ms)"
else
	tap_fail "3b pluto fallback->tcpiked, UDP blocked: ping through"
	logs
fi
tap_expect_eq "3b: tcpiked (responder) has IKE and ESP on TCP" "tcp True False False tcp" "$(facts)"
tap_check "3b: a's kernel SAs are espintcp, a dropped the UDP attempts" \
	test "$(xfrm_tcp)" = "2 2" -a "$(dropped "$NS_A")" -ge 1
tap_check "3b: pluto established the Child SA with ESPinTCP" lsw_espintcp_up fb
case_end "3b pluto fallback->tcpiked" 1
unblock "$NS_A"

# --- 4: pluto crashes and comes back with INITIAL_CONTACT ------------------------
step "case 4"
if pluto_up tcp 4; then
	old=$(a_ike)
	lsw_kill "$NS_B"
	if lsw_restart; then
		lsw_conn tcp
		lsw_w --initiate --asynchronous --name tcp >/dev/null 2>&1
		if wait_s 30 a_replaced "$old"; then
			tap_ok "4 pluto killed and back: tcpiked has one IKE SA, the new one, with one Child SA"
		else
			tap_fail "4 pluto killed and back: tcpiked has one IKE SA, the new one, with one Child SA" \
				"old IKE SA $old; now: $(st_a)"
			logs
		fi
		tap_check "4: pluto sent INITIAL_CONTACT in its IKE_AUTH" \
			grep -q 'sending INITIAL_CONTACT' "/run/pluto-$NS_B/pluto.log"
		tap_check "4: tcpiked received it in the IKE_AUTH request" \
			grep -q 'received IKE_AUTH request 1 \[.* N(INIT_CONTACT)' "$IKE_DIR/a.log"
		tap_check "4: tcpiked logged the INITIAL_CONTACT ..." \
			grep -q ': INITIAL_CONTACT from ' "$IKE_DIR/a.log"
		tap_check "4: ... and deleted the old IKE SA for it" \
			grep -q ': IKE SA deleted: replaced after INITIAL_CONTACT$' "$IKE_DIR/a.log"
		tap_expect_eq "4: one IKE SA and one Child SA on tcpiked" "1 1" "$(a_count)"
		wait_s 5 xfrm_is "2 2"
		tap_expect_eq "4: a's kernel has two SAs, espintcp, the new Child SA's (none of the old)" \
			"2 2 $(a_child_spis)" "$(xfrm_tcp) $(a_xfrm_spis)"
		tap_check "4: pluto established the Child SA with ESPinTCP" lsw_espintcp_up tcp
		tap_check "4: ping between the inner addresses" ping_in 3
	else
		tap_fail "4: pluto starts again after SIGKILL" "$(tail -n 5 "/run/pluto-$NS_B/stdout")"
	fi
else
	tap_fail "4 pluto->tcpiked tcp: IKE and Child SA established before the kill"
	logs
fi
case_end "4 pluto killed and back" 3

# --- 5: tcpiked crashes and comes back with INITIAL_CONTACT ----------------------
# The old tcpiked's kernel SAs and policies stay in a (nothing removes them
# after SIGKILL); the new one must still install its Child SA.
step "case 5"
lsw_conn tcp
cap_start 5
ike_conf a "${A_ARGS[@]}" "conn_extra=transport = tcp"
ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
if wait_s 30 a_up && wait_s 10 lsw_espintcp_up tcp; then
	old=$(lsw_children tcp)
	ike_kill a
	ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
	if wait_s 30 a_up; then
		tap_ok "5 tcpiked killed and back: IKE and Child SA established again"
	else
		tap_fail "5 tcpiked killed and back: IKE and Child SA established again"
		logs
	fi
	tap_check "5: tcpiked sent INITIAL_CONTACT in its IKE_AUTH" \
		grep -q 'sending IKE_AUTH request 1 \[ .*N(INIT_CONTACT)' "$IKE_DIR/a.log"
	tap_expect_eq "5: one IKE SA and one Child SA on tcpiked" "1 1" "$(a_count)"
	# pluto discards its old Child SA on INITIAL_CONTACT
	if wait_s 10 lsw_child_new tcp "$old"; then
		tap_ok "5: pluto replaced its Child SA: one, the new one (#$(lsw_children tcp), was #$old)"
	else
		tap_fail "5: pluto replaced its Child SA: one, the new one" \
			"before #$old, now: $(lsw_children tcp)"
		lsw_w --status | grep '"tcp"' | tail -n 10 | sed 's/^/# /'
	fi
	tap_diag "5: pluto's established IKE SAs of \"tcp\" now: $(lsw_w --status | grep -c '"tcp".*ESTABLISHED_IKE_SA')"
	tap_check "5: ping between the inner addresses" ping_in 3
else
	tap_fail "5 tcpiked->pluto tcp: IKE and Child SA established before the kill"
	logs
fi
case_end "5 tcpiked killed and back" 3

# --- 6: reauthentication by pluto ------------------------------------------------
# A fresh pluto: Libreswan 4.10's pluto died (no log line, control socket
# gone) when "tcp" was deleted with case 5's IKE SA still up on it.
# Case 5's killed tcpiked left its SAs in a's kernel (they go at their
# hard lifetime, as strongSwan's would): flushed so that case 6 counts its own.
step "case 6"
ip -n "$NS_A" xfrm state flush
lsw_kill "$NS_B"
lsw_restart || tap_fail "6: pluto starts again" "$(tail -n 5 "/run/pluto-$NS_B/stdout")"
if pluto_up ra 6; then
	old=$(a_ike) old_spis=$(a_child_spis)
	# pings through the reauthentication (ikelifetime 20 s), one line each
	while :; do
		if ip netns exec "$NS_A" busybox ping -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1
		then echo ok; else echo lost; fi
		sleep 0.5
	done >"$IKE_DIR/ping6.log" 2>&1 &
	pingpid=$!
	if wait_s 50 a_replaced "$old"; then
		tap_ok "6 pluto reauthenticates: tcpiked has one IKE SA, another than the first, with one Child SA"
	else
		tap_fail "6 pluto reauthenticates: tcpiked has one IKE SA, another than the first, with one Child SA" \
			"first IKE SA $old; now: $(st_a)"
		logs
	fi
	sleep 2
	kill "$pingpid" 2>/dev/null
	wait "$pingpid" 2>/dev/null
	ok=$(grep -c '^ok' "$IKE_DIR/ping6.log") lost=$(grep -c '^lost' "$IKE_DIR/ping6.log")
	tap_check "6: pings through the reauthentication, at most one lost ($ok answered, $lost lost)" \
		test "$ok" -ge 5 -a "$lost" -le 1
	tap_check "6: pluto logged the reauthentication" \
		grep -q '"ra" #[0-9]*: initiate reauthentication of IKE SA' "/run/pluto-$NS_B/pluto.log"
	tap_check "6: tcpiked saw a second IKE_SA_INIT (the reauthentication, not a rekey)" \
		sh -c "[ \$(grep -c 'received IKE_SA_INIT request' '$IKE_DIR/a.log') -ge 2 ]"
	wait_s 5 xfrm_is "2 2"
	tap_expect_eq "6: a's kernel has the new Child SA's two SAs, espintcp, none of the first's ($old_spis)" \
		"2 2 $(a_child_spis)" "$(xfrm_tcp) $(a_xfrm_spis)"
	tap_check "6: pluto established the Child SA with ESPinTCP" lsw_espintcp_up ra
	tap_check "6: ping after the reauthentication" ping_in 3
else
	tap_fail "6 pluto->tcpiked reauth=yes: IKE and Child SA established"
	logs
fi
case_end "6 pluto reauthenticates" 3

lsw_w --shutdown >/dev/null 2>&1

# --- 7: the captures, dissected ------------------------------------------------
step "dissecting the captures"
mergecap -a -F pcap -w "$IKE_DIR/all.pcap" "${CAPS[@]}"
tshark -n -r "$IKE_DIR/all.pcap" -d tcp.port==4500,tcpencap -T fields \
	-e frame.time_epoch -e frame.protocols -e esp.spi >"$IKE_DIR/all.proto" 2>"$IKE_DIR/tshark.err"
wire_report
frames=0
for f in "${CAPS[@]}"; do
	frames=$((frames + $(tcpdump -n -r "$f" 2>/dev/null | wc -l)))
done
bad=$(grep -ci malformed "$IKE_DIR/all.proto")
if [ "$frames" -gt 0 ] && [ "$(wc -l <"$IKE_DIR/all.proto")" = "$frames" ] && [ "$bad" = 0 ]; then
	tap_ok "tshark dissects all ${#CAPS[@]} captures ($frames frames) without Malformed"
else
	tap_fail "tshark dissects all ${#CAPS[@]} captures without Malformed" \
		"$frames frames captured, $(wc -l <"$IKE_DIR/all.proto") dissected, $bad malformed"
	grep -i malformed "$IKE_DIR/all.proto" | sort | uniq -c | head -5 | sed 's/^/#   /'
	head -3 "$IKE_DIR/tshark.err" | sed 's/^/#   /'
fi
tap_done
