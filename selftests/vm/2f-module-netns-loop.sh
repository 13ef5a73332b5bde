#!/bin/bash
# tcpike.ko and namespaces that go with everything live: each round makes
# a namespace with SAs of the module (soft and hard lifetimes of 1-2 s, one
# steered into UDP), policies, a keepalive, a reachability watch, a
# listener, and states of another key manager (ip xfrm) added over half a
# second with 1 s lifetimes, so that they expire while the namespace is
# taken down: between the module's namespace exit and XFRM's own (which
# flushes the states) the key-manager callbacks still run, and must find
# the namespace marked dead instead of freed tables.  Under make
# check-debug, KASAN, lockdep and kmemleak watch every round; here, the
# module must still unload (nothing it owned is left holding it) and the
# kernel log must stay clean.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
# Four rounds in make check (each takes 10-60 s under TCG, more under
# load); TCPIKE_NETNS_ROUNDS=12 for a longer hunt.
ROUNDS=${TCPIKE_NETNS_ROUNDS:-4}
module_load
mark=$(dmesg | wc -l)
KEY=$KEY_AB

round() { # n
	local ns=tcpike-loop-$$-$1 i
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	ip -n "$ns" link add d0 type dummy
	ip -n "$ns" addr add 10.0.0.1/24 dev d0
	ip -n "$ns" link set d0 up
	# Background processes in a subshell of their own: killed with the
	# namespace, without a job report here.
	(ip netns exec "$ns" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
s.setsockopt(socket.IPPROTO_UDP, 100, 2)
time.sleep(30)' &)
	for i in 1 2 3 4; do
		ip netns exec "$ns" "$NL" sa-new --spi $((0x1000 + i)) --src 10.0.0.1 --dst 10.0.0.$((1 + i)) \
			--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY \
			--soft-seconds 1 --hard-seconds $((1 + i % 2)) || return 1
		ip netns exec "$ns" "$NL" sa-new --spi $((0x2000 + i)) --src 10.0.0.$((1 + i)) --dst 10.0.0.1 \
			--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY --soft-seconds 30 || return 1
	done
	ip netns exec "$ns" "$NL" sa-new --spi 0x3001 --src 10.0.0.1 --dst 10.0.0.9 \
		--reqid 8 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY || return 1
	ip netns exec "$ns" "$NL" sa-new --spi 0x3002 --src 10.0.0.9 --dst 10.0.0.1 \
		--reqid 8 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY || return 1
	sleep 0.2
	ip netns exec "$ns" "$NL" sa-steer --spi 0x3001 --dst 10.0.0.9 --encap udp --sport 4500 --dport 4500 || return 1
	ip netns exec "$ns" "$NL" policy-new --dir out --from 192.168.1.0/24 --to 192.168.9.0/24 \
		--src 10.0.0.1 --dst 10.0.0.9 --reqid 8 || return 1
	ip netns exec "$ns" "$NL" keepalive --src 10.0.0.1 --dst 10.0.0.9 --sport 4500 --dport 4500 --interval 1 || return 1
	ip netns exec "$ns" "$NL" reach --spi 0x3001 --dst 10.0.0.9 --pair-spi 0x3002 --timeout 1 || return 1
	(ip netns exec "$ns" "$NL" monitor --count 1000 --timeout 30 >/dev/null 2>&1 &)
	# Another key manager's states, expiring over the next half second
	# and more: some of them while the namespace goes.
	for i in $(seq 0 9); do
		ip -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.1.$i proto esp spi $((0x5000 + i)) mode tunnel \
			aead 'rfc4106(gcm(aes))' $KEY 128 limit time-soft 1 limit time-hard 1 || return 1
		sleep 0.05
	done
	sleep "0.$((RANDOM % 10))"
	ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
	ip netns del "$ns"
}

ok=0
for r in $(seq "$ROUNDS"); do
	round "$r" && ok=$((ok + 1))
done
tap_expect_eq "$ROUNDS namespaces made with live SAs, policies, a steer, a keepalive, a watch and a listener, then deleted" \
	"$ROUNDS" "$ok"
# Namespace teardown is a kernel work: the module is held until it ran.
if wait_for 60 rmmod tcpike; then
	tap_ok "rmmod once the namespaces are gone (nothing they owned holds the module)"
else
	tap_fail "rmmod once the namespaces are gone" "$(rmmod tcpike 2>&1); $(lsmod | grep '^tcpike ')"
fi
tap_expect_eq "no WARNING, BUG or KASAN report" "" \
	"$(dmesg | tail -n +$((mark + 1)) | grep -E 'WARNING|BUG|Oops|KASAN|circular locking')"
tap_done
