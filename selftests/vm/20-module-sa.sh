#!/bin/bash
# tcpike.ko: SAs created through the generic-netlink family are the
# kernel's own xfrm states (ip xfrm shows them, kernel ESP carries traffic),
# bad requests are refused with a sentence and leave nothing behind, and
# the module cannot be unloaded while it owns SAs and policies.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"

module_load
tap_check "family 'tcpike' with group 'events' is registered" \
	sh -c 'genl ctrl get name tcpike | grep -q "name: events"'

topo_pair m
ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1
ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1

sa() { # ns spi src dst key [extra...]
	local ns=$1 spi=$2 src=$3 dst=$4 key=$5
	shift 5
	ip netns exec "$ns" "$NL" sa-new --spi "$spi" --src "$src" --dst "$dst" \
		--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key "$key" "$@"
}
pol() { # ns dir src-net dst-net tmpl-src tmpl-dst
	ip netns exec "$1" "$NL" policy-new --dir "$2" --from "$3" --to "$4" \
		--src "$5" --dst "$6" --reqid 7
}

ok=0
sa "$NS_A" 0x1001 10.0.0.1 10.0.0.2 $KEY_AB && sa "$NS_A" 0x2002 10.0.0.2 10.0.0.1 $KEY_BA &&
sa "$NS_B" 0x1001 10.0.0.1 10.0.0.2 $KEY_AB && sa "$NS_B" 0x2002 10.0.0.2 10.0.0.1 $KEY_BA && ok=1
[ $ok = 1 ] && tap_ok "SA pair created in both namespaces through the module" ||
	tap_fail "SA pair created in both namespaces through the module"
ok=1
for n in "$NS_A 192.168.1.0/24 192.168.2.0/24 10.0.0.1 10.0.0.2" "$NS_B 192.168.2.0/24 192.168.1.0/24 10.0.0.2 10.0.0.1"; do
	set -- $n
	pol "$1" out "$2" "$3" "$4" "$5" && pol "$1" in "$3" "$2" "$5" "$4" &&
		pol "$1" fwd "$3" "$2" "$5" "$4" || ok=0
done
[ $ok = 1 ] && tap_ok "out/in/fwd policies created through the module" ||
	tap_fail "out/in/fwd policies created through the module"
tap_check "ip xfrm policy shows the module's policy with its template" \
	sh -c "ip -n $NS_A xfrm policy get dir out src 192.168.1.0/24 dst 192.168.2.0/24 | grep -q 'tmpl src 10.0.0.1 dst 10.0.0.2'"

st=$(ip -n "$NS_A" xfrm state)
tap_check "ip xfrm state shows the module's SA with its AEAD" \
	sh -c "printf '%s' '$st' | grep -q 'spi 0x00001001 reqid 7 mode tunnel' && printf '%s' '$st' | grep -q 'aead rfc4106(gcm(aes))'"
tap_check "ping through tunnel-mode ESP over raw IP" \
	ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1
pk=$(ip -s -n "$NS_A" xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 |
	sed -n 's/.* \([0-9]*\)(packets).*/\1/p' | head -1)
[ "${pk:-0}" -ge 3 ] && tap_ok "kernel ESP counted the packets on the module's SA ($pk)" ||
	tap_fail "kernel ESP counted the packets on the module's SA" "packets: '${pk}'"
out=$(ip netns exec "$NS_A" "$NL" sa-get --spi 0x1001 --dst 10.0.0.2)
tap_check "sa-get reports the SA and its counters" \
	sh -c "printf '%s' '$out' | grep -q 'aead rfc4106(gcm(aes)) icv 128' && printf '%s' '$out' | grep -Eq 'packets [3-9]'"
case "$out" in
*KEY*|*0102030405*) tap_fail "keys are never echoed" "$out" ;;
*) tap_ok "keys are never echoed" ;;
esac

# Bad input: each refused with its own sentence, nothing half-created.
N="ip netns exec $NS_A $NL"
expect_refusal "SPI 0 refused" "SPI 0 is reserved" \
	$N sa-new --spi 0 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB
expect_refusal "wrong key length refused" "key length does not fit" \
	$N sa-new --spi 0x3003 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(aes))' --icv 128 --key 0x00112233445566778899aabbccddeeff
expect_refusal "unknown algorithm refused" "unknown AEAD algorithm" \
	$N sa-new --spi 0x3004 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(des))' --icv 128 --key $KEY_AB
expect_refusal "duplicate SA refused" "exists" \
	$N sa-new --spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB
expect_refusal "missing key refused" "missing key" \
	$N sa-new --spi 0x3005 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(aes))' --icv 128
expect_refusal "AEAD plus integrity refused" "either an AEAD" \
	$N sa-new --spi 0x3006 --src 10.0.0.1 --dst 10.0.0.2 --aead 'rfc4106(gcm(aes))' --icv 128 --auth 'hmac(sha256)' --key $KEY_AB
expect_refusal "delete of an unknown SA refused" "no SA with this SPI" \
	$N sa-del --spi 0x7777 --dst 10.0.0.2
expect_refusal "duplicate policy refused" "a policy with this direction and selector exists" \
	$N policy-new --dir out --from 192.168.1.0/24 --to 192.168.2.0/24 --src 10.0.0.1 --dst 10.0.0.2 --reqid 7
expect_refusal "selector with host bits past the prefix refused" "bits set past the prefix length" \
	$N policy-new --dir out --from 192.168.1.1/24 --to 192.168.3.0/24 --src 10.0.0.1 --dst 10.0.0.2 --reqid 7
expect_refusal "tunnel policy without endpoints refused" "tunnel mode needs the tunnel source" \
	$N policy-new --dir out --from 192.168.1.0/24 --to 192.168.4.0/24 --reqid 7
expect_refusal "transport policy with endpoints refused" "transport mode takes no tunnel endpoints" \
	$N policy-new --dir out --from 10.0.0.1 --to 10.0.0.2 --mode transport --src 10.0.0.1 --dst 10.0.0.2 --reqid 9
expect_refusal "unprivileged caller refused" "Operation not permitted" \
	ip netns exec "$NS_A" setpriv --bounding-set -net_admin --inh-caps -net_admin $NL stats
n=$(ip -n "$NS_A" xfrm state | grep -c '^src')
tap_expect_eq "refused requests left nothing behind" 2 "$n"
n=$(ip -n "$NS_A" xfrm policy | grep -c '^src')
tap_expect_eq "refused policies left nothing behind" 3 "$n"
tap_check "policy-del removes a policy" sh -c \
	"$N policy-new --dir out --from 10.7.0.0/16 --to 10.8.0.0/16 --mode transport --reqid 9 &&
	 $N policy-del --dir out --from 10.7.0.0/16 --to 10.8.0.0/16 &&
	 ! ip -n $NS_A xfrm policy get dir out src 10.7.0.0/16 dst 10.8.0.0/16 2>/dev/null"

tap_check "CBC + HMAC-SHA256 SA created" \
	$N sa-new --spi 0x4004 --src 10.0.0.1 --dst 10.0.0.9 --enc 'cbc(aes)' --key 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
	--auth 'hmac(sha256)' --trunc 128 --auth-key 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
tap_check "ESN SA with a 128-packet window created" \
	$N sa-new --spi 0x5005 --src 10.0.0.1 --dst 10.0.0.9 --aead 'rfc7539esp(chacha20,poly1305)' --icv 128 --esn --replay 128 \
	--key 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00112233
tap_check "ip xfrm state shows ESN and the window" \
	sh -c "ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.9 proto esp spi 0x5005 | grep -q 'flag.*esn' && ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.9 proto esp spi 0x5005 | grep -q 'replay_window 128'"
tap_check "sa-del removes the SA from the kernel" \
	sh -c "$N sa-del --spi 0x4004 --dst 10.0.0.9 && ! ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.9 proto esp spi 0x4004 2>/dev/null"
st=$(ip netns exec "$NS_A" "$NL" stats)
tap_expect_eq "module counters" "sas 3 created 4 deleted 1 policies 3 events 0 dropped 0 steers 0" "$st"

# An SA made by someone else is not the module's to delete.
ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.8 proto esp spi 0x6006 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_AB 128
expect_refusal "SAs not created by the module are refused" "no SA with this SPI" \
	$N sa-del --spi 0x6006 --dst 10.0.0.8

ip -n "$NS_A" xfrm policy add dir out src 10.9.0.0/16 dst 10.10.0.0/16 tmpl proto esp mode transport
# Unloading would leave the tunnel's traffic in clear: refused while the
# module owns SAs or policies, which all stay.
module_unload_refused "rmmod refused with live SAs and policies"
tap_expect_eq "the refused unload left every state and policy in place" "4 4 2 3" \
	"$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_A" xfrm policy | grep -c '^src') $(ip -n "$NS_B" xfrm state | grep -c '^src') $(ip -n "$NS_B" xfrm policy | grep -c '^src')"
tap_check "traffic still goes through the module's SAs" \
	ip netns exec "$NS_A" ping -c 1 -W 2 -I 192.168.1.1 192.168.2.1
module_unload "rmmod once the namespaces are gone"
tap_done
