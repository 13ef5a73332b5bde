#!/bin/bash
# B3 inside the test VM (bench/esp-throughput/host.sh boots it):
#
#   scripts/vm-run -- bench/esp-throughput/guest.sh
#
# ESP throughput per transport.  Six namespace pairs, all up at once, each
# a -- b over one veth with netem on both ends (B3_DELAY each way, the loss
# of the round both ways):
#   mod-raw   tcpiked <-> tcpiked, backend module, transport separate (IKE
#             on TCP, ESP on raw IP: no NAT)
#   mod-udp   the same with transport udp and encap = yes (ESP in UDP 4500)
#   mod-tcp   transport tcp (RFC 9329: ESP in the IKE TCP connection)
#   hand-raw  the same SAs (AES-GCM-16-256, reqid 7, tunnel mode, inbound
#             replay window 64) and policies made with `ip xfrm`, keys of
#             our own
#   hand-udp  ditto with encap espinudp 4500 4500 (an RFC 3948 socket on
#             4500 at both ends)
#   hand-tcp  ditto with encap espintcp on a connection held by
#             selftests/espintcp_conn (IKETCP prefix, espintcp ULP)
# The tunnels are made with no loss; then for each run and each loss every
# case gets one iperf3 run (B3_SECS seconds, 192.168.1.1 -> 192.168.2.1),
# each transport's module and hand cases back to back and the first of the
# two alternating from run to run (ABBA), so that drift in this emulated
# machine hits both alike and each run gives one module/hand pair.
# Every run is checked: the case's outbound SA must have carried at least
# the bytes iperf3 received (nothing bypassed the tunnel), and its state must
# have the case's encapsulation.
# Output (stdout), one line per run:
#   B3 CASE LOSS RUN MBPS MEAN_RTT_MS MAX_RTT_MS RETRANS SENT_BYTES SA_BYTES RCVD_BYTES
# and "B3ERR sentence" for anything that went wrong; exit 1 then.
set -u
. "$(dirname "$0")/../lib/guest.sh"
. "$TOP/selftests/ike.sh"
RUNS=${B3_RUNS:-10}
SECS=${B3_SECS:-8}
LOSSES=${B3_LOSSES:-0 1 3}
DELAY=${B3_DELAY:-10ms}
CASES=${B3_CASES:-mod-raw mod-udp mod-tcp hand-raw hand-udp hand-tcp}
WORK=/tmp/b3
mkdir -p "$WORK"
err=0
berr() { echo "B3ERR $*"; err=1; }
declare -A NSA NSB

echo "B3INFO kernel $(uname -r), $(nproc) cpus, iperf3 $(iperf3 --version | head -n1 | cut -d' ' -f2), cc $(sysctl -n net.ipv4.tcp_congestion_control)"
command -v iperf3 >/dev/null || { berr "iperf3 not visible in the VM"; exit 1; }
grep -qw espintcp /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null ||
	{ berr "kernel without espintcp"; exit 1; }
lsmod 2>/dev/null | grep -q '^tcpike ' || insmod "$TCPIKE_MODULE" ||
	{ berr "insmod $TCPIKE_MODULE failed"; exit 1; }

# pair CASE: namespaces with netem on both ends, inner routes on the link.
pair() {
	local c=$1
	topo_pair "b3$c" || return 1
	NSA[$c]=$NS_A NSB[$c]=$NS_B
	ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1 &&
	ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1 || return 1
	# One packet per skb on the underlay, so that netem drops packets as
	# a link would, not whole 64 KB GSO bursts of the outer TCP (espintcp).
	ip -n "$NS_A" link set va gso_max_segs 1 && ip -n "$NS_B" link set vb gso_max_segs 1 ||
		echo "B3INFO $c: gso_max_segs 1 not settable: netem may drop GSO bursts"
	ip netns exec "$NS_A" tc qdisc add dev va root netem delay "$DELAY" limit 100000 &&
	ip netns exec "$NS_B" tc qdisc add dev vb root netem delay "$DELAY" limit 100000
}

set_loss() {
	local c
	for c in $CASES; do
		ip netns exec "${NSA[$c]}" tc qdisc change dev va root netem delay "$DELAY" loss "$1%" limit 100000 &&
		ip netns exec "${NSB[$c]}" tc qdisc change dev vb root netem delay "$DELAY" loss "$1%" limit 100000 ||
			berr "$c: netem loss $1% not set"
	done
}

# mod_case CASE TRANSPORT [conn lines]: two tcpiked, backend module.
mod_case() {
	local c=$1 x=$2 extra=${3:-} n
	for n in a b; do
		local me=10.0.0.1 peer=10.0.0.2 l=192.168.1.0/24 r=192.168.2.0/24 li=a ri=b
		[ $n = b ] && me=10.0.0.2 peer=10.0.0.1 l=192.168.2.0/24 r=192.168.1.0/24 li=b ri=a
		local ce="dpd_delay = 0"
		[ $n = a ] && ce="transport = $x;dpd_delay = 0${extra:+;$extra}"
		ike_conf "$c-$n" local=$me remote=$peer lts=$l rts=$r lid=fqdn:$li.test \
			rid=fqdn:$ri.test backend=module "conn_extra=$ce" \
			"daemon_extra=log_level = warning" || return 1
		sed -i 's/log_level = debug//' "$IKE_DIR/$c-$n.conf"
	done
	ike_start "${NSB[$c]}" "$c-b" && ike_start "${NSA[$c]}" "$c-a" || return 1
	ike_ctl "$c-a" initiate c --no-wait >/dev/null
	wait_for 30 ike_established "$c-a" && wait_for 10 ike_established "$c-b"
}

KEY_AB=0x$(openssl rand -hex 36)
KEY_BA=0x$(openssl rand -hex 36)
# hand_case CASE [encap words for a->b] -- [for b->a]: ip xfrm in both.
hand_case() {
	local c=$1 ab=() ba=() ns dir
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ab+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	ba=("$@")
	for ns in "${NSA[$c]}" "${NSB[$c]}"; do
		local wab=0 wba=64
		[ "$ns" = "${NSB[$c]}" ] && wab=64 wba=0
		ip -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 reqid 7 \
			mode tunnel aead 'rfc4106(gcm(aes))' "$KEY_AB" 128 replay-window $wab "${ab[@]}" &&
		ip -n "$ns" xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x2002 reqid 7 \
			mode tunnel aead 'rfc4106(gcm(aes))' "$KEY_BA" 128 replay-window $wba "${ba[@]}" ||
			return 1
	done
	set -- "${NSA[$c]}" 192.168.1.0/24 192.168.2.0/24 10.0.0.1 10.0.0.2 \
	       "${NSB[$c]}" 192.168.2.0/24 192.168.1.0/24 10.0.0.2 10.0.0.1
	while [ $# -gt 0 ]; do
		ip -n "$1" xfrm policy add src "$2" dst "$3" dir out \
			tmpl src "$4" dst "$5" proto esp reqid 7 mode tunnel &&
		for dir in in fwd; do
			ip -n "$1" xfrm policy add src "$3" dst "$2" dir $dir \
				tmpl src "$5" dst "$4" proto esp reqid 7 mode tunnel || return 1
		done || return 1
		shift 5
	done
}

# An RFC 3948 socket on UDP 4500 (UDP_ENCAP_ESPINUDP), as a daemon holds it.
encap_sock() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
s.setsockopt(socket.IPPROTO_UDP, 100, 2)
open(sys.argv[1], "w").write("ready")
time.sleep(100000)' "$WORK/udp-$1" &
	wait_for 20 test -s "$WORK/udp-$1"
}

# espintcp_conn NS READYFILE args...: one end of an RFC 9329 connection.
tcp_conn() {
	local ns=$1 f=$2
	shift 2
	ip netns exec "$ns" "$BIN/selftests/espintcp_conn" "$@" "$f" 2>"$f.err" &
}

setup() {
	local c=$1
	pair "$c" || return 1
	case $c in
	mod-raw) mod_case "$c" separate ;;
	mod-udp) mod_case "$c" udp "encap = yes" ;;
	mod-tcp) mod_case "$c" tcp ;;
	hand-raw) hand_case "$c" ;;
	hand-udp)
		encap_sock "${NSA[$c]}" && encap_sock "${NSB[$c]}" &&
		hand_case "$c" encap espinudp 4500 4500 0.0.0.0 -- encap espinudp 4500 4500 0.0.0.0 ;;
	hand-tcp)
		tcp_conn "${NSB[$c]}" "$WORK/tcp-b" listen 10.0.0.2 4500
		wait_for 20 sh -c "ip netns exec ${NSB[$c]} ss -Hltn 'sport = :4500' | grep -q LISTEN" &&
		tcp_conn "${NSA[$c]}" "$WORK/tcp-a" connect 10.0.0.1 40500 10.0.0.2 4500 &&
		wait_for 20 test -s "$WORK/tcp-a" && wait_for 20 test -s "$WORK/tcp-b" ||
			{ cat "$WORK"/tcp-*.err; return 1; }
		hand_case "$c" encap espintcp 40500 4500 0.0.0.0 -- encap espintcp 4500 40500 0.0.0.0 ;;
	esac
}

# The outbound SA(s) a -> b in a: bytes so far, and the encapsulation.
sa_bytes() {
	ip -s -n "${NSA[$1]}" xfrm state list src 10.0.0.1 dst 10.0.0.2 proto esp |
		awk '/\(bytes\)/ { split($1, v, "("); s += v[1] } END { print s + 0 }'
}
sa_encap() {
	local e
	e=$(ip -n "${NSA[$1]}" xfrm state list src 10.0.0.1 dst 10.0.0.2 proto esp |
		sed -n 's/.*encap type \([a-z]*\) .*/\1/p' | sort -u)
	echo "${e:-raw}"
}
want_encap() {
	case $1 in *-raw) echo raw ;; *-udp) echo espinudp ;; *-tcp) echo espintcp ;; esac
}

t0=$(date +%s)
for c in $CASES; do
	if setup "$c"; then
		ip netns exec "${NSB[$c]}" iperf3 -s -D -B 192.168.2.1 --pidfile "$WORK/iperf-$c.pid"
		if ! ip netns exec "${NSA[$c]}" ping -c 2 -i 0.3 -W 3 -I 192.168.1.1 192.168.2.1 >/dev/null; then
			berr "$c: no ping through the tunnel"
		elif [ "$(sa_encap "$c")" != "$(want_encap "$c")" ]; then
			berr "$c: outbound SA has encapsulation $(sa_encap "$c"), not $(want_encap "$c")"
		else
			echo "B3INFO $c: tunnel up ($(sa_encap "$c")) at $(( $(date +%s) - t0 )) s"
			continue
		fi
	else
		berr "$c: setup failed"
	fi
	case $c in mod-*) ike_log "$c-a" 10; ike_log "$c-b" 10 ;; esac
	CASES=$(echo " $CASES " | sed "s/ $c / /")
done
[ -n "${CASES// /}" ] || exit 1
# The order of a run: each transport's module and hand case back to back
# (a pair, for the paired module/hand ratio), the pair's first case
# alternating from run to run (ABBA...), so neither kind always runs
# first after a loss change or in a drifting machine.
run_order() {	# run_order RUN: the cases of CASES in this run's order
	local t a b
	for t in raw udp tcp; do
		a=mod-$t b=hand-$t
		[ $(($1 % 2)) = 0 ] && { a=hand-$t b=mod-$t; }
		for c in $a $b; do
			case " $CASES " in *" $c "*) printf '%s ' "$c" ;; esac
		done
	done
}
for run in $(seq "$RUNS"); do
	for loss in $LOSSES; do
		set_loss "$loss"
		for c in $(run_order "$run"); do
			f=$WORK/$c-$loss-$run.json
			b0=$(sa_bytes "$c")
			ip netns exec "${NSA[$c]}" timeout $((SECS + 40)) iperf3 -c 192.168.2.1 \
				-B 192.168.1.1 -t "$SECS" -J >"$f" 2>"$f.err" ||
				berr "$c loss $loss run $run: iperf3 failed: $(head -c 300 "$f.err") $(grep -m1 '"error"' "$f")"
			echo "$(( $(sa_bytes "$c") - b0 ))" >"$f.sa"
		done
	done
	echo "B3INFO run $run done at $(( $(date +%s) - t0 )) s"
done
set_loss 0
for c in $CASES; do
	[ "$(sa_encap "$c")" = "$(want_encap "$c")" ] ||
		berr "$c: after the runs the outbound SA has encapsulation $(sa_encap "$c")"
done
# One python for all the results (it starts slowly under TCG).
python3 "$(dirname "$0")/guest_check.py" "$WORK" || err=1
for c in $CASES; do
	case $c in mod-*) ike_stop "$c-a" >/dev/null; ike_stop "$c-b" >/dev/null ;; esac
done
echo "B3INFO total $(( $(date +%s) - t0 )) s"
exit $err
