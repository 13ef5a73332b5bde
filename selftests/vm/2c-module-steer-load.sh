#!/bin/bash
# tcpike.ko steer under load: iperf3 through an AES-GCM tunnel while both
# ends steer its SAs raw -> udp -> tcp -> udp -> raw fifty times (raw <->
# udp on kernels without espintcp), from one process with a socket in each
# namespace (selftests/steer_loop.c).  The output sequence number is
# AES-GCM's IV, so no (SPI, sequence number) may ever leave twice with
# different bytes: captures on both ends' links are read by
# selftests/espseq.py, which finds ESP on IP, in UDP 4500 and in the
# RFC 9329 stream.  And the receivers accepted no packet twice: what each
# accepted (nft counts decrypted packets as they come up the stack again)
# is at most the distinct sequence numbers on the wire, and every pair
# that reached it twice was dropped by its replay check (XfrmInStateSeqError).
# The VM has 2 vCPUs, so output on one races the steer on the other; and
# since emulation rarely hits a window of microseconds, the module's test
# hook steer_hold_us keeps each switch open for 2 ms (TCPIKE_STEER_HOLD_US):
# with the lock held throughout, output waits; a steer that dropped the
# lock between copying the counters and deleting the old state (tcpike
# before 623d85a) reuses sequence numbers here in every run.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
ROUNDS=${TCPIKE_STEER_ROUNDS:-50}
HOLD_US=${TCPIKE_STEER_HOLD_US:-2000}
command -v iperf3 >/dev/null || tap_skip_all "iperf3 not installed"
module_load
HOLD=/sys/module/tcpike/parameters/steer_hold_us
echo "$HOLD_US" >"$HOLD" 2>/dev/null
tap_expect_eq "the steer test hook holds each switch $HOLD_US us" "$HOLD_US" "$(cat "$HOLD" 2>/dev/null)"
topo_pair sl
espintcp=0
have_espintcp && espintcp=1
CONN=$TOOL_BIN/selftests/espintcp_conn
[ $espintcp = 0 ] || [ -x "$CONN" ] || tap_skip_all "selftests/espintcp_conn not built ($CONN)"

# Captures first, so the RFC 9329 stream is read from its SYN: ESP on IP
# and in UDP with the first 128 bytes (SPI, sequence number, IV and the
# start of the ciphertext, which differs between two packets), the TCP
# stream whole (its records are found by walking it).
cap() { # ns dev file snaplen filter
	ip netns exec "$1" tcpdump -s "$4" -B 16384 -U -nn -i "$2" -w "$3" "$5" 2>"$3.log" &
	CAPS+=($!)
	CAP_LOGS+=("$3.log")
	PCAPS+=("$3")
}
CAPS=() CAP_LOGS=() PCAPS=()
cap "$NS_A" va /tmp/sl-a.pcap 128 'esp or udp port 4500'
cap "$NS_B" vb /tmp/sl-b.pcap 128 'esp or udp port 4500'
if [ $espintcp = 1 ]; then
	cap "$NS_A" va /tmp/sl-a-tcp.pcap 0 'tcp port 4500'
	cap "$NS_B" vb /tmp/sl-b-tcp.pcap 0 'tcp port 4500'
fi
for l in "${CAP_LOGS[@]}"; do wait_for 10 grep -q listening "$l"; done

if [ $espintcp = 1 ]; then
	espintcp_conn "$NS_B" /tmp/sl-cb listen 10.0.0.2 4500
	wait_for 10 sh -c "ip netns exec $NS_B ss -Hltn 'sport = :4500' | grep -q LISTEN"
	espintcp_conn "$NS_A" /tmp/sl-ca connect 10.0.0.1 40500 10.0.0.2 4500
	wait_for 10 test -s /tmp/sl-ca && wait_for 10 test -s /tmp/sl-cb
	tap_expect_eq "espintcp connection 40500 -> 4500 held on both ends" \
		"40500 4500 4500 40500" "$(cat /tmp/sl-ca /tmp/sl-cb 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
fi
encap_sockets sl-udp 900
tap_check "tunnel through the module (raw ESP, AES-GCM)" module_tunnel

LOOP=$TOOL_BIN/selftests/steer_loop
[ -x "$LOOP" ] || tap_skip_all "selftests/steer_loop not built ($LOOP)"
# What each receiver accepted, counted outside XFRM: a decrypted tunnel
# packet comes up the stack again with a secpath (prerouting sees the ESP
# packet first, then what it carried).
for s in "$NS_B 192.168.1.0/24" "$NS_A 192.168.2.0/24"; do
	set -- $s
	ip netns exec "$1" nft -f - <<NFT
table inet acc {
	chain pre {
		type filter hook prerouting priority -300;
		meta secpath exists ip saddr $2 counter comment "accepted"
	}
}
NFT
done
acc_count() { ip netns exec "$1" nft list table inet acc | sed -n 's/.*counter packets \([0-9]*\) .*comment "accepted".*/\1/p'; }
seqerr() { ip netns exec "$1" awk '$1 == "XfrmInStateSeqError" { print $2 }' /proc/net/xfrm_stat; }
seq_a0=$(seqerr "$NS_A") seq_b0=$(seqerr "$NS_B")

ip netns exec "$NS_B" iperf3 -s -B 192.168.2.1 -1 >/tmp/sl-iperf-s.log 2>&1 &
wait_for 10 sh -c "ip netns exec $NS_B ss -Hltn 'sport = :5201' | grep -q LISTEN"
ip netns exec "$NS_A" iperf3 -c 192.168.2.1 -B 192.168.1.1 -t 3600 -i 0 \
	>/tmp/sl-iperf-c.log 2>&1 &
IPERF=$!
sleep 2

# Every step on both ends, 20 ms apart for the traffic to flow again.
steers=$((ROUNDS * (espintcp ? 16 : 8)))
out=$("$LOOP" "$NS_A" "$NS_B" "$ROUNDS" 20 $espintcp 2>&1)
tap_expect_eq "$steers steers of both SAs on both ends, none refused" "steers $steers" "$out"
sleep 1
kill -INT "$IPERF" 2>/dev/null
wait "$IPERF"
# The captures end once the last packets are in.
sleep 1
kill -INT "${CAPS[@]}"
wait "${CAPS[@]}" 2>/dev/null
drops=$(cat "${CAP_LOGS[@]}" | sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
tap_expect_eq "the captures lost nothing" "0 0" "$drops $(cat "${CAP_LOGS[@]}" | grep -ci 'error\|space')"

out=$(python3 "$TOP/selftests/espseq.py" "${PCAPS[@]}")
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ $rc = 0 ] && tap_ok "no (SPI, sequence number) on the wire twice with different bytes (no AES-GCM nonce reuse)" ||
	tap_fail "no (SPI, sequence number) on the wire twice with different bytes" \
		"$(printf '%s\n' "$out" | grep -c REUSE) reused: $(printf '%s\n' "$out" | grep REUSE | head -5 | tr '\n' ' ')"
n_ab=$(printf '%s\n' "$out" | sed -n 's/^spi 0x00001001 packets \([0-9]*\) .*/\1/p')
[ "${n_ab:-0}" -ge "${TCPIKE_STEER_MIN_PACKETS:-2000}" ] && tap_ok "the load put $n_ab ESP packets a -> b on the wire" ||
	tap_fail "the load put at least ${TCPIKE_STEER_MIN_PACKETS:-2000} ESP packets a -> b on the wire" "${n_ab:-0}"

# The captures saw the whole run: their highest sequence number of each SA
# is the receiver's (its anti-replay context), so what is counted below is
# all that was sent.
rseq() { # ns src dst spi
	ip -n "$1" xfrm state get src "$2" dst "$3" proto esp spi "$4" |
		sed -n 's/.*anti-replay context: seq 0x\([0-9a-f]*\),.*/\1/p'
}
for s in "$NS_B 10.0.0.1 10.0.0.2 0x1001 00001001" "$NS_A 10.0.0.2 10.0.0.1 0x2002 00002002"; do
	set -- $s
	r=$((16#$(rseq "$1" "$2" "$3" "$4")))
	m=$(printf '%s\n' "$out" | sed -n "s/^spi 0x$5 packets [0-9]* max \([0-9]*\)/\1/p")
	tap_expect_eq "spi $4: the captures reached the receiver's last sequence number" "$r" "${m:-none}"
done

# Accepted by the receivers (nft, above), against the distinct (SPI,
# sequence number) pairs on the wire: more accepted than distinct is a
# pair accepted twice.
for s in "$NS_B 00001001 0x1001" "$NS_A 00002002 0x2002"; do
	set -- $s
	acc=$(acc_count "$1")
	seen=$(printf '%s\n' "$out" | sed -n "s/^spi 0x$2 packets \([0-9]*\) .*/\1/p")
	[ -n "$acc" ] && [ -n "$seen" ] && [ "$acc" -le "$seen" ] && [ "$acc" -gt 0 ] &&
		tap_ok "spi $3: the receiver accepted $acc packets, no more than the $seen distinct on the wire" ||
		tap_fail "spi $3: the receiver accepted no duplicate" "accepted ${acc:-?}, distinct on the wire ${seen:-?}"
done
# Pairs that reached a receiver twice with different bytes (its own
# capture) must all have been refused by its replay check.
for s in "$NS_B 00001001 0x1001 /tmp/sl-b $seq_b0" "$NS_A 00002002 0x2002 /tmp/sl-a $seq_a0"; do
	set -- $s
	dups=$(python3 "$TOP/selftests/espseq.py" "$4"*.pcap | grep -c "^REUSE spi 0x$2 ")
	drops=$(($(seqerr "$1") - $5))
	[ "$dups" -le "$drops" ] &&
		tap_ok "spi $3: each of the $dups pairs that reached the receiver twice was refused ($drops replay drops)" ||
		tap_fail "spi $3: the receiver refused every pair it got twice" "$dups pairs twice, $drops replay drops"
done
tap_expect_eq "one state per SPI in each namespace after the steers" "2 2" \
	"$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_B" xfrm state | grep -c '^src')"
module_unload "rmmod once the namespaces are gone"
tap_done
