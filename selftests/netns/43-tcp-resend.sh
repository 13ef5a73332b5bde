#!/bin/bash
# RFC 9329 §6.2 (TCP-28) between two tcpiked over TCP (backend none): a
# request outstanding when the connection dies goes out again on the new
# connection, and a responder that already answered it sends its cached
# response there instead of processing it twice.
#
# A request is held up by dropping large TCP segments (IKE messages, not
# the handshake or ACKs) with nft, the connection is killed with ss -K on
# the originator a, and the drop is lifted; nothing else can deliver the
# request, since tcpiked does not retransmit over TCP.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v nft >/dev/null || tap_skip_all "nft not installed"
command -v ss >/dev/null || tap_skip_all "ss not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ikr$$" || tap_skip_all "cannot build the namespace pair"

ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test "conn_extra=transport = tcp"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test
wire_count a="$NS_A" b="$NS_B"
ike_start "$NS_A" a && ike_start "$NS_B" b || tap_fail "tcpiked started"
ike_ctl a initiate c --no-wait >/dev/null
expect_established "tcp: IKE and Child SA established"

j() { ike_jq "$@"; }
counter() { ike_counter "$@"; }
# hold NS RULE: drop IKE-sized TCP segments matching RULE in NS's input
hold() {
	ip netns exec "$1" nft -f - <<NFT
table inet hold {
	chain in { type filter hook input priority -20; $2 ip length > 120 drop; }
}
NFT
}
release() { ip netns exec "$1" nft delete table inet hold; }
kill_conn() { ip netns exec "$NS_A" ss -K dst 10.0.0.2 dport = 4500 >/dev/null 2>&1; }

# 1. The request never reached b: a re-sends it on its new connection.
ra=$(child_rekeys a) rb=$(child_rekeys b)
wire_mark r1
pcap_start "$NS_B" vb "$IKE_DIR/r1.pcap" tcp port 4500
hold "$NS_B" "tcp dport 4500"
ike_ctl a rekey c child >/dev/null
sleep 1.5	# a window in which nothing may complete, not a wait for an event
tap_check "request held up: a's Child SA rekey has not completed" \
	test "$(child_rekeys a) $(child_rekeys b)" = "$ra $rb"
kill_conn
release "$NS_B"
if wait_for 10 rekeyed a child $((ra + 1)); then
	tap_ok "connection killed with the request outstanding: the rekey completes over a new connection"
else
	tap_fail "connection killed with the request outstanding: the rekey completes over a new connection"
	ike_log a; ike_log b
fi
pcap_stop
wire_check -d r1 "one reconnect, by a" a:out_syn=1 b:in_syn=1 b:out_syn=0
# requests_on PCAP EXCHANGE: "requests responses connections" of that
# exchange in the capture (TCP retransmissions of a segment count once)
requests_on() {
	python3 "$TOP/selftests/ikepcap.py" --ike "$1" | awk -v x="$2" '
		$1 == "tcp" && $3 == x && $4 == "req" { q++; split($2, p, ">"); c[p[1]] = 1 }
		$1 == "tcp" && $3 == x && $4 == "resp" { r++ }
		END { n = 0; for (k in c) n++; print q + 0, r + 0, n }'
}
tap_expect_eq "the capture: a wrote the request once on each connection, no IKE retransmission; b answered once (TCP-28)" \
	"2 1 2" "$(requests_on "$IKE_DIR/r1.pcap" CREATE_CHILD_SA)"
tap_check "b rekeyed once" test "$(( $(child_rekeys b) - rb ))" = 1

# 2. b answered, the answer was lost with the connection: a re-sends, b
# recognises the retransmission and sends its cached response.
ra=$(child_rekeys a) rb=$(child_rekeys b)
wire_mark r2
pcap_start "$NS_B" vb "$IKE_DIR/r2.pcap" tcp port 4500
hold "$NS_A" "tcp sport 4500"
ike_ctl a rekey c child >/dev/null
b_rekeyed() { test "$(child_rekeys b)" = $((rb + 1)); }
wait_for 5 b_rekeyed
sleep 1		# a window in which a's rekey may not complete
tap_check "response held up: b has rekeyed, a has not" \
	test "$(child_rekeys a) $(child_rekeys b)" = "$ra $((rb + 1))"
kill_conn
release "$NS_A"
if wait_for 10 rekeyed a child $((ra + 1)); then
	tap_ok "connection killed with the response lost: a's rekey completes over a new connection"
else
	tap_fail "connection killed with the response lost: a's rekey completes over a new connection"
	ike_log a; ike_log b
fi
tap_check "b answered the re-sent request from its cache: still one rekey on b, one SA pair" \
	test "$(( $(child_rekeys b) - rb )) $(j b "len([c for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED'])")" = "1 1"
pcap_stop
wire_check -d r2 "a reconnected once more" a:out_syn=1 b:in_syn=1 b:out_syn=0
tap_expect_eq "the capture: the request once on each connection, b's cached answer on the new one (TCP-28)" \
	"2 2 2" "$(requests_on "$IKE_DIR/r2.pcap" CREATE_CHILD_SA)"
tap_check "the SA pair still agrees: a's inbound SPI is b's outbound" \
	test "$(j a "[c for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED'][0]['spi_in']")" = \
	     "$(j b "[c for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED'][0]['spi_out']")"
# 3. TCP-42 (RFC 9329 §10): a copy of a's last request on a connection of
# someone else's moves b's return path there only if it authenticates.
# The copy comes from a capture of a rekey; with one ICV byte flipped b
# drops it (rx_bad +1, no answer); unmodified it is a retransmission and
# b's cached response comes back on that connection.
ra=$(child_rekeys a)
pcap_start "$NS_B" vb "$IKE_DIR/rk.pcap" tcp port 4500
wire_mark r3
ike_ctl a rekey c child >/dev/null
wait_for 10 rekeyed a child $((ra + 1))
# the old Child SA's Delete: a's second request, and its answer
wait_for 5 wire_grew r3 b out_tcp 2
pcap_stop
last=$(python3 "$TOP/selftests/ikepcap.py" --tcp-requests "$IKE_DIR/rk.pcap" | tail -n 1)
if [ -n "$last" ]; then
	bad=${last:0:$((${#last} - 2))}$(printf '%02x' $(( 0x${last: -2} ^ 1 )))
	bad0=$(counter b rx_bad)
	out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" 10.0.0.2 4500 \
		prefix "msg:$bad" expect-open:2 2>&1)
	tap_check "TCP-42: a's last request with a flipped ICV byte on a new connection: no answer ($out)" \
		test "$out" = open
	tap_check "TCP-42: b counted it as bad (rx_bad +1)" \
		test "$(( $(counter b rx_bad) - bad0 ))" = 1
	out=$(ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" 10.0.0.2 4500 \
		prefix "msg:$last" expect-frame:3 2>&1)
	tap_check "TCP-42: the unmodified copy is answered from b's cache on that connection ($out)" \
		grep -q '^frame of' <<<"$out"
	ra=$(child_rekeys a)
	ike_ctl a rekey c child >/dev/null
	tap_check "after the replays a's next rekey still completes" wait_for 10 rekeyed a child $((ra + 1))
else
	tap_fail "TCP-42: a request of a captured from the TCP stream" "nothing in $IKE_DIR/rk.pcap"
fi
ike_stop a
ike_stop b

# 4. Two IKE SAs to the same peer do not share a connection (TCP-22, TCP-26):
# a gets a second connection "d", a copy of "c" for another subnet (no
# INITIAL_CONTACT, which would make b drop the first SA; b's one
# connection takes both, unique = never: the default replace would too).
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test "conn_extra=transport = tcp;initial_contact = no"
python3 - "$IKE_DIR/a.conf" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
c = re.search(r"^\tc \{\n.*?^\t\}\n", s, re.S | re.M).group(0)
s = s.replace(c, c + c.replace("\tc {", "\td {", 1)
              .replace("local_ts = 192.168.1.0/24", "local_ts = 192.168.11.0/24"), 1)
open(p, "w").write(s)
PY
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.0.0/16 \
	lid=fqdn:b.test rid=fqdn:a.test "conn_extra=unique = never"
ike_start "$NS_A" a && ike_start "$NS_B" b
ike_ctl a initiate c --no-wait >/dev/null
ike_ctl a initiate d --no-wait >/dev/null
two_up() { ike_established a 2 && ike_established b 2; }
if wait_for 10 two_up; then
	tap_ok "two connections to one peer: two IKE SAs established over TCP"
else
	tap_fail "two connections to one peer: two IKE SAs established over TCP"; ike_log a; ike_log b
fi
ports=$(j a "' '.join(sorted(str(i['local_port']) for i in s['ike_sas'] if i['state']=='ESTABLISHED' and i['transport']=='tcp'))")
tap_diag "a's local TCP ports: $ports"
tap_check "each IKE SA has its own TCP connection (two source ports, two connections at b)" \
	test "$(echo $ports | wc -w) $(echo $ports | tr ' ' '\n' | sort -u | wc -l) $(ike_jq b "s['tcp']['connections']")" = "2 2 2"
ike_stop a
ike_stop b
tap_done
