#!/bin/bash
# tcpike.ko events: the module is an XFRM key manager and reports, on the
# "events" group of each namespace, expire (soft then hard) for its SAs and
# acquire for its policies; events stay in their namespace.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair ev

# monitor NS FILE COUNT TIMEOUT: background listener, waits until it listens
monitor() {
	ip netns exec "$1" "$NL" monitor --count "$3" --timeout "$4" >"$2" 2>&1 &
	MON=$!
	wait_for 10 grep -q listening "$2"
}

monitor "$NS_A" /tmp/ev-a.log 2 20
monitor "$NS_B" /tmp/ev-b.log 1 8
MON_B=$MON
ip netns exec "$NS_A" "$NL" sa-new --spi 0x3001 --src 10.0.0.1 --dst 10.0.0.2 \
	--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB --soft-seconds 1 --hard-seconds 3
wait_for 20 sh -c '[ $(grep -c expire /tmp/ev-a.log) -ge 2 ]'
tap_expect_eq "soft then hard expire events for a 1 s / 3 s SA" \
	"expire soft spi 0x00003001 dst 10.0.0.2|expire hard spi 0x00003001 dst 10.0.0.2" \
	"$(grep expire /tmp/ev-a.log | paste -sd'|')"
tap_check "the kernel deleted the SA at hard expiry" \
	sh -c "! ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x3001 2>/dev/null"
st=$(ip netns exec "$NS_A" "$NL" stats)
tap_expect_eq "the module forgot the expired SA and counted the events" \
	"sas 0 created 1 deleted 0 policies 0 events 2 dropped 0 steers 0" "$st"
wait "$MON_B" 2>/dev/null
tap_expect_eq "no event crossed into another namespace" "" "$(grep -E 'expire|acquire' /tmp/ev-b.log)"

# Acquire: an outbound policy of the module with no SA.
ip -n "$NS_A" route add 192.168.9.0/24 via 10.0.0.2 src 192.168.1.1
ip netns exec "$NS_A" "$NL" policy-new --dir out --from 192.168.1.0/24 --to 192.168.9.0/24 \
	--src 10.0.0.1 --dst 10.0.0.9 --reqid 11
monitor "$NS_A" /tmp/ev-acq.log 1 15
ip netns exec "$NS_A" ping -c 1 -W 1 -I 192.168.1.1 192.168.9.1 >/dev/null 2>&1
wait_for 15 grep -q acquire /tmp/ev-acq.log
tap_expect_eq "acquire event for a policy hit with no SA" \
	"acquire reqid 11 sel 192.168.1.0/24 -> 192.168.9.0/24 proto 0 tmpl 10.0.0.1 -> 10.0.0.9" \
	"$(grep acquire /tmp/ev-acq.log | head -1)"

# Soft lifetimes longer than hard ones make no sense.
out=$(ip netns exec "$NS_A" "$NL" sa-new --spi 0x3002 --src 10.0.0.1 --dst 10.0.0.2 \
	--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB --soft-seconds 10 --hard-seconds 5 2>&1)
case "$out" in
*"soft lifetime is longer than its hard lifetime"*) tap_ok "soft > hard lifetime refused" ;;
*) tap_fail "soft > hard lifetime refused" "$out" ;;
esac
module_unload_refused "rmmod refused with a live policy (and a listener)"
module_unload "rmmod once the namespaces are gone"
tap_done
