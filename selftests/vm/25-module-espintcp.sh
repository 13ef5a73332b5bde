#!/bin/bash
# tcpike.ko ESP in TCP (RFC 9329, the kernel's espintcp): an SA pair made
# with transport tcp on the IKE peers' TCP connection (IKETCP prefix,
# espintcp ULP on both ends, held by selftests/espintcp_conn as the daemon
# would hold it) carries a tunnel-mode ping, and the nft counters on the
# receiver's link show the ESP inside TCP, not on IP or UDP.  Then the live
# SAs are steered tcp -> udp -> tcp -> raw with the ping running: SPIs stay,
# sequence numbers continue, each steer moves the wire.  SAs on a missing
# connection, on one without the ULP, or without ports are refused with
# their sentence and leave nothing behind.  The same tunnel through the
# plain-XFRM backend (XFRMA_ENCAP type 7) ends the test.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
if ! have_espintcp; then
	# What can be checked there: the module refuses tcp with the reason.
	module_load
	topo_pair et
	out=$(ip netns exec "$NS_A" "$NL" sa-new --spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2 \
		--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB --encap tcp --sport 40500 --dport 4500 2>&1)
	case "$out" in
	*"this kernel has no ESP in TCP (built without CONFIG_INET_ESPINTCP)"*)
		tap_ok "tcp refused: the kernel has no espintcp" ;;
	*) tap_fail "tcp refused: the kernel has no espintcp" "$out" ;;
	esac
	rmmod tcpike
	[ "$TAP_FAILED" = 0 ] || tap_done
	tap_skip_all_design "kernel without espintcp (CONFIG_INET_ESPINTCP), e.g. Debian's 6.1"
fi
CONN=$TOOL_BIN/selftests/espintcp_conn
[ -x "$CONN" ] || tap_skip_all "selftests/espintcp_conn not built ($CONN)"
module_load
topo_pair et

# The connection: A (originator) 10.0.0.1:40500 -> B (responder) 10.0.0.2:4500.
espintcp_conn "$NS_B" /tmp/et-b listen 10.0.0.2 4500
wait_for 10 sh -c "ip -n $NS_B -o link show lo >/dev/null && ip netns exec $NS_B ss -Hltn 'sport = :4500' | grep -q LISTEN"
espintcp_conn "$NS_A" /tmp/et-a connect 10.0.0.1 40500 10.0.0.2 4500
wait_for 10 test -s /tmp/et-a && wait_for 10 test -s /tmp/et-b
tap_expect_eq "originator holds 40500 -> 4500 with IKETCP sent and the espintcp ULP" \
	"40500 4500" "$(cat /tmp/et-a 2>/dev/null || cat /tmp/et-a.err)"
tap_expect_eq "responder read IKETCP and holds 4500 -> 40500 with the espintcp ULP" \
	"4500 40500" "$(cat /tmp/et-b 2>/dev/null || cat /tmp/et-b.err)"
# A plain connection without the ULP (4600 <- 40600), for the refusals.
espintcp_conn "$NS_B" /tmp/et-pb -n listen 10.0.0.2 4600
wait_for 10 sh -c "ip netns exec $NS_B ss -Hltn 'sport = :4600' | grep -q LISTEN"
espintcp_conn "$NS_A" /tmp/et-pa -n connect 10.0.0.1 40600 10.0.0.2 4600
wait_for 10 test -s /tmp/et-pa && wait_for 10 test -s /tmp/et-pb
# RFC 3948 sockets on UDP 4500 for the udp leg, as in 22-module-steer.
encap_sockets et-udp 900

nl_a() { ip netns exec "$NS_A" "$NL" "$@" 2>&1; }
nstates() { ip -n "$1" xfrm state | grep -c '^src'; }
refused() { # description expected-sentence command output
	case "$3" in *"$2"*) tap_ok "$1" ;; *) tap_fail "$1" "$3" ;; esac
}
SA_AB="--spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2 --reqid 7 --aead rfc4106(gcm(aes)) --icv 128 --key $KEY_AB"
SA_BA="--spi 0x2002 --src 10.0.0.2 --dst 10.0.0.1 --reqid 7 --aead rfc4106(gcm(aes)) --icv 128 --key $KEY_BA"

refused "tcp without ports refused" "TCP encapsulation needs both ports" \
	"$(nl_a sa-new $SA_AB --encap tcp)"
refused "tcp on ports with no connection refused" \
	"no established TCP connection between the SA's addresses and ports" \
	"$(nl_a sa-new $SA_AB --encap tcp --sport 40501 --dport 4500)"
refused "tcp on a connection without the espintcp ULP refused" \
	"does not have the espintcp ULP" \
	"$(nl_a sa-new $SA_AB --encap tcp --sport 40600 --dport 4600)"
refused "tcp with the ports swapped (no such connection) refused" \
	"no established TCP connection" \
	"$(nl_a sa-new $SA_AB --encap tcp --sport 4500 --dport 40500)"
tap_expect_eq "the refusals left no state behind" 0 "$(nstates "$NS_A")"

# The tunnel: SA ports are those of each SA's source and destination.
mk_tcp() {
	local ns
	ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1 || return 1
	ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1 || return 1
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" "$NL" sa-new $SA_AB --encap tcp --sport 40500 --dport 4500 &&
		ip netns exec "$ns" "$NL" sa-new $SA_BA --encap tcp --sport 4500 --dport 40500 ||
			return 1
	done
	module_policies
}
tap_check "SA pair with transport tcp and policies through the module, both sides" mk_tcp
tap_check "ip xfrm shows the kernel's espintcp state" sh -c \
	"ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 | grep -q 'encap type espintcp sport 40500 dport 4500'"
tap_expect_eq "sa-get reports the tcp transport and ports" "encap tcp 4500 -> 40500" \
	"$(ip netns exec "$NS_B" "$NL" sa-get --spi 0x2002 --dst 10.0.0.1 | grep '^encap')"

# What arrives on B's link from A: raw ESP, ESP in UDP 4500, and TCP
# segments to 4500 that carry more than headers (ESP records; ACKs and
# the prefix are shorter).
wire_in "esp=meta l4proto esp" "udp4500=udp dport 4500" \
	"tcp4500=tcp dport 4500 ip length gt 100"
# wire LABEL: counters over 3 s of the ping stream; sets E U T (deltas).
wire() {
	local e0 u0 t0
	e0=$(rule_cnt esp) u0=$(rule_cnt udp4500) t0=$(rule_cnt tcp4500)
	sleep 3
	E=$(($(rule_cnt esp) - e0)) U=$(($(rule_cnt udp4500) - u0)) T=$(($(rule_cnt tcp4500) - t0))
}

lossless() { # description ping-output
	case "$2" in *" 0% packet loss"*) tap_ok "$1" ;; *) tap_fail "$1" "$(printf '%s' "$2" | tail -2)" ;; esac
}
lossless "ping through tunnel-mode ESP in TCP" \
	"$(ip netns exec "$NS_A" ping -c 3 -W 2 -I 192.168.1.1 192.168.2.1 2>&1)"
FAST=$TOP/build/tools/tcpike-nl
[ -x "$FAST" ] || FAST=$NL
steer_all() { # encap [ports for 0x1001] -- [ports for 0x2002]
	local pids=() p rc=0 enc=$1 ab=() ba=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ab+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	ba=("$@")
	ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap "$enc" "${ab[@]}" & pids+=($!)
	ip netns exec "$NS_B" "$FAST" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap "$enc" "${ab[@]}" & pids+=($!)
	ip netns exec "$NS_A" "$FAST" sa-steer --spi 0x2002 --dst 10.0.0.1 --encap "$enc" "${ba[@]}" & pids+=($!)
	ip netns exec "$NS_B" "$FAST" sa-steer --spi 0x2002 --dst 10.0.0.1 --encap "$enc" "${ba[@]}" & pids+=($!)
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
TCP_PORTS=(--sport 40500 --dport 4500 -- --sport 4500 --dport 40500)
UDP_PORTS=(--sport 4500 --dport 4500 -- --sport 4500 --dport 4500)

ping_start /tmp/et-ping.log 5000
sleep 1
wire
[ $T -ge 20 ] && [ $E -le 1 ] && [ $U -le 1 ] &&
	tap_ok "ESP rides the TCP connection (tcp +$T, raw +$E, udp +$U)" ||
	tap_fail "ESP rides the TCP connection" "tcp +$T, raw +$E, udp +$U"
# The same on the wire, by tcpdump on A's side: no IP protocol 50 at all,
# data segments from 40500 to 4500 (8 s: under KASAN on a loaded host 3 s
# caught nothing).
ip netns exec "$NS_A" timeout 8 tcpdump -l -nn -i va -c 200 'esp or (tcp port 4500 and greater 120)' \
	>/tmp/et-dump.txt 2>/dev/null
tap_check "tcpdump: ESP records in TCP 40500 > 4500, no raw ESP" sh -c \
	"grep -q '10.0.0.1.40500 > 10.0.0.2.4500' /tmp/et-dump.txt && ! grep -q ESP /tmp/et-dump.txt"

s0=$((16#$(sa_oseq)))
tap_check "steer tcp -> udp (4500 -> 4500) on both sides" steer_all udp "${UDP_PORTS[@]}"
wire
[ $U -ge 20 ] && [ $T -le 1 ] && [ $E -le 1 ] &&
	tap_ok "ESP moved into UDP 4500 (udp +$U, tcp +$T, raw +$E)" ||
	tap_fail "ESP moved into UDP 4500" "udp +$U, tcp +$T, raw +$E"
s1=$((16#$(sa_oseq)))
[ "$s1" -gt "$s0" ] && tap_ok "sequence numbers continued across tcp -> udp ($s0 -> $s1)" ||
	tap_fail "sequence numbers continued across tcp -> udp" "$s0 -> $s1"

out=$(ip netns exec "$NS_A" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap tcp --sport 40999 --dport 4500 2>&1)
refused "steer to tcp with no such connection refused" "no established TCP connection" "$out"
tap_check "the refused steer left the SA on UDP" sh -c \
	"ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 | grep -q 'encap type espinudp sport 4500 dport 4500'"
out=$(ip netns exec "$NS_A" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 --encap tcp --sport 40600 --dport 4600 2>&1)
refused "steer onto a connection without the ULP refused" "does not have the espintcp ULP" "$out"

tap_check "steer udp -> tcp on both sides" steer_all tcp "${TCP_PORTS[@]}"
wire
[ $T -ge 20 ] && [ $U -le 1 ] && [ $E -le 1 ] &&
	tap_ok "ESP back in the TCP connection (tcp +$T, udp +$U, raw +$E)" ||
	tap_fail "ESP back in the TCP connection" "tcp +$T, udp +$U, raw +$E"
s2=$((16#$(sa_oseq)))
[ "$s2" -gt "$s1" ] && tap_ok "sequence numbers continued across udp -> tcp ($s1 -> $s2)" ||
	tap_fail "sequence numbers continued across udp -> tcp" "$s1 -> $s2"

tap_check "steer tcp -> raw on both sides" steer_all raw
wire
[ $E -ge 20 ] && [ $T -le 1 ] && [ $U -le 1 ] &&
	tap_ok "ESP on raw IP (raw +$E, tcp +$T, udp +$U)" ||
	tap_fail "ESP on raw IP" "raw +$E, tcp +$T, udp +$U"
s3=$((16#$(sa_oseq)))
[ "$s3" -gt "$s2" ] && tap_ok "sequence numbers continued across tcp -> raw ($s2 -> $s3)" ||
	tap_fail "sequence numbers continued across tcp -> raw" "$s2 -> $s3"
# Three steers of both ends: at most a handful (5) lost per steer.
ping_check "ping stream survived three steers" /tmp/et-ping.log 15
tap_expect_eq "SPIs unchanged, one state each (no leftovers)" \
	"0x00001001 0x00002002" \
	"$(ip -n "$NS_A" xfrm state | sed -n 's/.*spi \(0x[0-9a-f]*\) .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')"
tap_expect_eq "steer counter" "steers 6" \
	"$(ip netns exec "$NS_A" "$NL" stats | grep -o 'steers [0-9]*')"
# IPv6: the SA finds its connection through the IPv6 established hash.
ip -n "$NS_A" addr add fd00::1/64 dev va nodad
ip -n "$NS_B" addr add fd00::2/64 dev vb nodad
espintcp_conn "$NS_B" /tmp/et-6b listen fd00::2 4700
wait_for 10 sh -c "ip netns exec $NS_B ss -Hltn 'sport = :4700' | grep -q LISTEN"
espintcp_conn "$NS_A" /tmp/et-6a connect fd00::1 40700 fd00::2 4700
wait_for 10 test -s /tmp/et-6a && wait_for 10 test -s /tmp/et-6b
SA6="--spi 0x6006 --src fd00::1 --dst fd00::2 --aead rfc4106(gcm(aes)) --icv 128 --key $KEY_AB"
refused "IPv6 tcp on ports with no connection refused" "no established TCP connection" \
	"$(nl_a sa-new $SA6 --encap tcp --sport 40701 --dport 4700)"
tap_check "IPv6 SA with transport tcp on the IPv6 espintcp connection" \
	ip netns exec "$NS_A" "$NL" sa-new $SA6 --encap tcp --sport 40700 --dport 4700
tap_check "ip xfrm shows the IPv6 espintcp state" sh -c \
	"ip -n $NS_A xfrm state get src fd00::1 dst fd00::2 proto esp spi 0x6006 | grep -q 'encap type espintcp sport 40700 dport 4700'"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" xfrm state flush; ip -n "$ns" xfrm policy flush; done
tap_check "rmmod with the espintcp connection still open (the SAs flushed)" wait_for 10 rmmod tcpike

# The plain-XFRM backend: the same tunnel with XFRMA_ENCAP type 7.
KX=$BIN/selftests/kb_xfrm
if [ ! -x "$KX" ]; then
	tap_skip "xfrm backend ESP in TCP" "selftests/kb_xfrm not built"
	tap_done
fi
kx() { # ns tcp-tunnel arguments
	local ns=$1 fd
	shift
	rm -f "/tmp/et-kx-$ns" "/tmp/et-kx-in-$ns"
	mkfifo "/tmp/et-kx-in-$ns"
	ip netns exec "$ns" "$KX" tcp-tunnel "$@" <"/tmp/et-kx-in-$ns" >"/tmp/et-kx-$ns" 2>"/tmp/et-kx-$ns.log" &
	exec {fd}>"/tmp/et-kx-in-$ns"
	KX_FDS+=("$fd")
}
KX_FDS=()
kx "$NS_A" 10.0.0.1 40500 192.168.1.0 10.0.0.2 4500 192.168.2.0 0x3003 0x3004
kx "$NS_B" 10.0.0.2 4500 192.168.2.0 10.0.0.1 40500 192.168.1.0 0x3004 0x3003
wait_for 20 grep -q . "/tmp/et-kx-$NS_A" && wait_for 20 grep -q . "/tmp/et-kx-$NS_B"
tap_expect_eq "xfrm backend added the espintcp SAs and policies in both namespaces" \
	"added added" "$(head -1 "/tmp/et-kx-$NS_A") $(head -1 "/tmp/et-kx-$NS_B")"
tap_check "ip xfrm shows the backend's espintcp state" sh -c \
	"ip -n $NS_B xfrm state get src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x3004 | grep -q 'encap type espintcp sport 4500 dport 40500'"
t0=$(rule_cnt tcp4500) e0=$(rule_cnt esp)
out=$(ip netns exec "$NS_A" ping -c 10 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 2>&1)
T=$(($(rule_cnt tcp4500) - t0)) E=$(($(rule_cnt esp) - e0))
lossless "ping through the xfrm backend's ESP in TCP" "$out"
[ $T -ge 5 ] && [ $E -eq 0 ] && tap_ok "the xfrm backend's ESP rode the TCP connection (tcp +$T, raw +$E)" ||
	tap_fail "the xfrm backend's ESP rode the TCP connection" "tcp +$T, raw +$E"
for fd in "${KX_FDS[@]}"; do echo done >&"$fd"; exec {fd}>&-; done
wait_for 20 grep -q closed "/tmp/et-kx-$NS_A" && wait_for 20 grep -q closed "/tmp/et-kx-$NS_B"
tap_expect_eq "closing the xfrm backend removed its states" "0 0" "$(nstates "$NS_A") $(nstates "$NS_B")"
tap_done
