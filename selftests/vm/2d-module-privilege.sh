#!/bin/bash
# tcpike.ko and who may listen or command: an unprivileged user can neither
# join the events group (events name SPIs, peers, NAT mappings: the group
# needs CAP_NET_ADMIN, GENL_MCAST_CAP_NET_ADMIN) nor send a command
# (GENL_ADMIN_PERM); root can do both.  And the other key managers hear of
# a steer: ip xfrm monitor sees it as an update of the SA with its new
# encapsulation (XFRM_MSG_UPDSA, as xfrm_user sends for ip xfrm state
# update), whether the state was replaced (raw -> udp) or its ports
# changed in place (udp -> udp).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair pv
NA() { ip netns exec "$NS_A" "$NL" "$@"; }

out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$NL" monitor --count 1 --timeout 1 2>&1)
case "$out" in
*"Operation not permitted"*) tap_ok "an unprivileged user cannot join the events group (EPERM)" ;;
*) tap_fail "an unprivileged user cannot join the events group (EPERM)" "$out" ;;
esac
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$NL" stats 2>&1)
case "$out" in
*"Operation not permitted"*) tap_ok "an unprivileged user gets EPERM for a command" ;;
*) tap_fail "an unprivileged user gets EPERM for a command" "$out" ;;
esac
out=$(timeout 30 "$NL" monitor --count 1 --timeout 1 2>&1)
case "$out" in
listening*) tap_ok "root joins the events group" ;;
*) tap_fail "root joins the events group" "$out" ;;
esac

ip netns exec "$NS_A" ip xfrm monitor >/tmp/pv-xmon.log 2>&1 &
XMON=$!
sleep 1
encap_sockets pv-enc
NA sa-new --spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2 --reqid 7 \
	--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB
NA sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500
NA sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4600 --dport 4500
sleep 1
kill "$XMON" 2>/dev/null
wait "$XMON" 2>/dev/null
xm=$(tr '\n\t' '  ' </tmp/pv-xmon.log)
for p in 4500 4600; do
	printf '%s' "$xm" | grep -Eq "Updated src 10.0.0.1 dst 10.0.0.2 +proto esp spi 0x00001001 .*encap type espinudp sport $p dport 4500" &&
		tap_ok "ip xfrm monitor: the steer to UDP $p as an update with its encapsulation" ||
		tap_fail "ip xfrm monitor: the steer to UDP $p as an update with its encapsulation" "$(head -c 600 /tmp/pv-xmon.log)"
done
tap_expect_eq "the SA is one state, on UDP 4600" "1 1" \
	"$(ip -n "$NS_A" xfrm state | grep -c '^src') $(ip -n "$NS_A" xfrm state | grep -c 'encap type espinudp sport 4600 dport 4500')"
module_unload "rmmod once the namespace is gone"
tap_done
