#!/bin/bash
# tcpike.ko unload with everything live at once: SAs (one pair steered into
# UDP 4500), policies, NAT keepalives in both namespaces, a reachability
# watch, an event listener and ESP traffic in flight.  rmmod is refused
# while the module owns SAs and policies (traffic would go in clear) and
# everything keeps working; once ip xfrm flushed them, rmmod succeeds with
# the rest live and the keepalives stop.  Then a second load whose
# namespaces are deleted while all of that is live (the per-namespace exit
# path), and a bare load/unload.  Under the debug kernel
# (make check-debug) KASAN, lockdep and kmemleak watch each of these paths.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"

# live_setup PREFIX: topo_pair, tunnel, steer, keepalives, watch, listener,
# ping; in this shell (it sets NS_A, NS_B, MON, PING), saying which step
# failed.
step() { "$@" || { echo "# live_setup: failed: $*"; return 1; }; }
live_setup() {
	local ns
	step topo_pair "$1" && step module_tunnel || return 1
	# An RFC 3948 encapsulation socket on UDP 4500 in each namespace, as
	# the daemon holds it, open across the unload.
	step encap_sockets encap || return 1
	for ns in "$NS_A" "$NS_B"; do
		step ip netns exec "$ns" "$NL" sa-steer --spi 0x1001 --dst 10.0.0.2 \
			--encap udp --sport 4500 --dport 4500 &&
		step ip netns exec "$ns" "$NL" sa-steer --spi 0x2002 --dst 10.0.0.1 \
			--encap udp --sport 4500 --dport 4500 || return 1
	done
	# The keepalives go to port 4501: to 4500 the ping's ESP in UDP would
	# (rightly) suppress them, as RFC 3948 wants while ESP flows.
	step ip netns exec "$NS_A" "$NL" keepalive --src 10.0.0.1 --dst 10.0.0.2 \
		--sport 4500 --dport 4501 --interval 1 &&
	step ip netns exec "$NS_B" "$NL" keepalive --src 10.0.0.2 --dst 10.0.0.1 \
		--sport 4500 --dport 4501 --interval 1 &&
	step ip netns exec "$NS_A" "$NL" reach --spi 0x1001 --dst 10.0.0.2 \
		--pair-spi 0x2002 --timeout 2 || return 1
	ip netns exec "$NS_A" "$NL" monitor --count 1000 --timeout 600 >"/tmp/$1-mon.log" 2>&1 &
	MON=$!
	step wait_for 20 grep -q listening "/tmp/$1-mon.log" || return 1
	step ip netns exec "$NS_A" ping -q -c 2 -i 0.2 -W 5 -I 192.168.1.1 192.168.2.1 >/dev/null || return 1
	ping_start "/tmp/$1-ping.log" 100000 0.05
}
# A setup that failed leaves nothing to check: stop here.
live_or_stop() { # description prefix
	if live_setup "$2"; then
		tap_ok "$1"
	else
		tap_fail "$1"
		tail -n 5 "/tmp/$2-mon.log" 2>/dev/null | sed 's/^/#   /'
		tap_done
	fi
}

# Keepalives B receives from A (one 0xFF byte in UDP 4500 -> 4501).
ka_counter() { wire_in "ka=ip saddr 10.0.0.1 udp sport 4500 udp dport 4501 udp length 9 @th,64,8 0xff"; }
ka_count() { rule_cnt ka; }

# --- 1: rmmod with everything live ------------------------------------------
module_load
live_or_stop "SAs, steer, keepalives, watch, listener and ESP traffic all live" ul
ka_counter
st=$(ip netns exec "$NS_A" "$NL" stats)
case "$st" in
*"sas 2 "*"policies 3 "*"reach watches 1"*"keepalives 1 "*) tap_ok "stats show the live objects" ;;
*) tap_fail "stats show the live objects" "$st" ;;
esac
ka_seen() { [ "$(ka_count)" -ge 1 ]; }
wait_for 10 ka_seen && tap_ok "keepalives from A on the wire ($(ka_count))" ||
	tap_fail "keepalives from A on the wire" "counter '$(ka_count)'"
# Not kernel-owned objects: must survive the unload.
ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.8 proto esp spi 0x6006 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_AB 128
ip -n "$NS_A" xfrm policy add dir out src 10.9.0.0/16 dst 10.10.0.0/16 tmpl proto esp mode transport
# An unload would leave the tunnel's traffic in clear: refused, everything
# stays and works.
module_unload_refused "rmmod refused with SAs, policies, keepalives, a watch, a listener and traffic"
tap_expect_eq "the refused unload left every state and policy (A, B)" "3 4 2 3" \
	"$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_A" xfrm policy | grep -c '^src') $(ip -n "$NS_B" xfrm state | grep -c '^src') $(ip -n "$NS_B" xfrm policy | grep -c '^src')"
tap_check "the tunnel still carries traffic" \
	ip netns exec "$NS_A" ping -q -c 2 -i 0.2 -W 5 -I 192.168.1.1 192.168.2.1
# Flushed with ip xfrm (another key manager): the module hears of it and
# owns nothing; the keepalives, the watch, the listener and the pings go on.
# Policies first: with the states gone and the policies still there, a
# ping in between would make a larval state (the listener is there to
# hear the acquire).
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" xfrm policy flush
	ip -n "$ns" xfrm state flush
done
tap_check "rmmod once the states and policies are flushed, the rest live" wait_for 10 rmmod tcpike
tap_expect_eq "nothing of the module's in XFRM (A, B)" "0 0 0 0" \
	"$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_A" xfrm policy | grep -c '^src') $(ip -n "$NS_B" xfrm state | grep -c '^src') $(ip -n "$NS_B" xfrm policy | grep -c '^src')"
sleep 1
c0=$(ka_count)
sleep 3
tap_expect_eq "no keepalive after unload" "$c0" "$(ka_count)"
tap_expect_eq "the family is gone" "" "$(genl ctrl list 2>/dev/null | grep -w tcpike)"
kill "$MON" "$PING" 2>/dev/null
wait "$MON" "$PING" 2>/dev/null
ns_cleanup

# --- 2: namespaces deleted while everything is live, then rmmod ---------------
module_load
live_or_stop "second load: everything live again" ul2
kill "$MON" "$PING" 2>/dev/null
wait "$MON" "$PING" 2>/dev/null
ns_cleanup
# Namespace teardown runs in a workqueue; the module's per-namespace state
# must be gone with it (stats cannot be asked of a dead namespace: unload
# is the check, plus KASAN/kmemleak under the debug kernel).
tap_check "rmmod after the namespaces went with live objects" wait_for 30 rmmod tcpike

# --- 3: bare load and unload, twice -------------------------------------------
ok=1
for i in 1 2; do
	insmod "$TCPIKE_MODULE" && rmmod tcpike || ok=0
done
tap_expect_eq "load and unload with nothing made, twice" 1 "$ok"
tap_done
