#!/bin/bash
# tcpike.ko among the other key managers, and who may listen:
#  - an unprivileged user cannot join the events group (EPERM), nor root of
#    a user namespace of its own in the initial network namespace; in a
#    network namespace its user namespace owns, such a root may listen but
#    no command is allowed (CAP_NET_ADMIN of the initial user namespace);
#  - ip xfrm monitor hears of the SAs and policies the module adds, steers
#    (updates) and deletes, as it does of xfrm_user's;
#  - ip xfrm state/policy delete, flush and update of what the module made
#    each give an event, and leave no record behind (the module's dump
#    agrees with ip xfrm); a state or policy made afterwards with the same
#    identity is not the module's (never adopted: not listed, not deleted,
#    not steered);
#  - an expiring state of someone else's with the same SPI and destination
#    as one of the module's (another mark) is not reported as the module's;
#  - with the module loaded and no daemon listening, a packet that hits a
#    policy without an SA makes no larval state (with a listener it does);
#  - rmmod is refused while the module owns an SA or a policy, and works
#    once they are flushed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair iso
NA() { ip netns exec "$NS_A" "$NL" "$@"; }

# --- who may listen -----------------------------------------------------------
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
# Both kernels the tests run on have user namespaces (CONFIG_USER_NS): a
# failing unshare there is a failure, not a skip.
if [ -e /proc/self/ns/user ]; then
	out=$(unshare -U -r "$NL" monitor --count 1 --timeout 1 2>&1)
	case "$out" in
	*"Operation not permitted"*) tap_ok "root of its own user namespace cannot listen in the initial network namespace" ;;
	*) tap_fail "root of its own user namespace cannot listen in the initial network namespace" "$out" ;;
	esac
	out=$(unshare -U -r -n sh -c "'$NL' monitor --count 1 --timeout 1; '$NL' stats" 2>&1)
	case "$out" in
	listening*"Operation not permitted"*)
		tap_ok "in a network namespace of its own user namespace: it may listen, no command allowed" ;;
	*) tap_fail "in a network namespace of its own user namespace: it may listen, no command allowed" "$out" ;;
	esac
else
	tap_skip "user namespace checks" "this kernel has no user namespaces (CONFIG_USER_NS)"
	tap_skip "user namespace checks (own network namespace)" "no CONFIG_USER_NS"
fi
out=$(timeout 5 "$NL" monitor --count 1 --timeout 1 2>&1)
case "$out" in
listening*) tap_ok "root joins the events group" ;;
*) tap_fail "root joins the events group" "$out" ;;
esac

# --- ip xfrm monitor sees what the module makes --------------------------------
ip netns exec "$NS_A" ip xfrm monitor >/tmp/iso-xmon.log 2>&1 &
XMON=$!
sleep 1
encap_sockets iso-enc
sa_a() { # spi src dst [extra...]
	local spi=$1 src=$2 dst=$3
	shift 3
	NA sa-new --spi "$spi" --src "$src" --dst "$dst" --reqid 7 \
		--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB "$@"
}
sa_a 0x1001 10.0.0.1 10.0.0.2
NA policy-new --dir out --from 192.168.1.0/24 --to 192.168.2.0/24 --src 10.0.0.1 --dst 10.0.0.2 --reqid 7
NA sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500
NA sa-steer --spi 0x1001 --dst 10.0.0.2 --encap udp --sport 4600 --dport 4500
NA sa-del --spi 0x1001 --dst 10.0.0.2
NA policy-del --dir out --from 192.168.1.0/24 --to 192.168.2.0/24
sleep 1
kill "$XMON" 2>/dev/null
wait "$XMON" 2>/dev/null
xm=$(tr '\n\t' '  ' </tmp/iso-xmon.log)
tap_check "ip xfrm monitor: the SA added by the module" \
	sh -c "printf '%s' '$xm' | grep -Eq '(^| )src 10.0.0.1 dst 10.0.0.2 +proto esp spi 0x00001001 reqid 7 mode tunnel'"
tap_check "ip xfrm monitor: the steer as an update, with its new encapsulation" \
	sh -c "printf '%s' '$xm' | grep -Eq 'Updated src 10.0.0.1 dst 10.0.0.2 +proto esp spi 0x00001001 .*encap type espinudp sport 4500 dport 4500' &&
	       printf '%s' '$xm' | grep -Eq 'Updated src 10.0.0.1 dst 10.0.0.2 +proto esp spi 0x00001001 .*encap type espinudp sport 4600 dport 4500'"
tap_check "ip xfrm monitor: the SA deleted by the module" \
	sh -c "printf '%s' '$xm' | grep -q 'Deleted src 10.0.0.1 dst 10.0.0.2 *proto esp spi 0x00001001'"
tap_check "ip xfrm monitor: the policy added and deleted by the module" \
	sh -c "printf '%s' '$xm' | grep -Eq '(^| )src 192.168.1.0/24 dst 192.168.2.0/24 +dir out' &&
	       printf '%s' '$xm' | grep -q 'Deleted src 192.168.1.0/24 dst 192.168.2.0/24 *dir out'"
[ "$(grep -c '^' /tmp/iso-xmon.log)" -gt 0 ] || tap_diag "ip xfrm monitor printed nothing"

# --- deleted and flushed behind the module's back --------------------------------
nl_monitor "$NS_A" /tmp/iso-ev.log
sa_a 0x3001 10.0.0.1 10.0.0.2
sa_a 0x3002 10.0.0.1 10.0.0.2
sa_a 0x3003 10.0.0.1 10.0.0.3
ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.9 proto esp spi 0x3009 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_AB 128
ip -n "$NS_A" xfrm state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x3002
wait_for 10 grep -q 'sa-deleted delete spi 0x00003002' /tmp/iso-ev.log
tap_expect_eq "ip xfrm state delete of a module SA: an event" \
	"sa-deleted delete spi 0x00003002 src 10.0.0.1 dst 10.0.0.2 reqid 7" \
	"$(grep 'sa-deleted' /tmp/iso-ev.log)"
ip -n "$NS_A" xfrm state flush
wait_for 10 sh -c '[ $(grep -c "sa-deleted flush" /tmp/iso-ev.log) -ge 2 ]'
tap_expect_eq "ip xfrm state flush: one event per module SA (not for the other one)" \
	"sa-deleted flush spi 0x00003001 src 10.0.0.1 dst 10.0.0.2 reqid 7|sa-deleted flush spi 0x00003003 src 10.0.0.1 dst 10.0.0.3 reqid 7" \
	"$(grep 'sa-deleted flush' /tmp/iso-ev.log | sort | paste -sd'|')"
tap_expect_eq "after the flush the module's dump agrees with ip xfrm state (empty)" \
	"|" "$(NA sa-dump)|$(ip -n "$NS_A" xfrm state)"
tap_expect_eq "after the flush the module counts no SA" "sas 0" "$(NA stats | grep -o 'sas [0-9]*')"
# The same identity again, made by someone else: not the module's.
ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x3001 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_AB 128
expect_refusal "a state with a flushed module SA's identity is not the module's (sa-get)" \
	"no SA with this SPI" NA sa-get --spi 0x3001 --dst 10.0.0.2
expect_refusal "... nor its to delete" "no SA with this SPI" NA sa-del --spi 0x3001 --dst 10.0.0.2
expect_refusal "... nor its to steer" "no SA with this SPI" \
	NA sa-steer --spi 0x3001 --dst 10.0.0.2 --encap udp --sport 4500 --dport 4500
tap_expect_eq "... nor in its dump" "" "$(NA sa-dump)"
tap_check "the other key manager's state is untouched" \
	sh -c "ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x3001 | grep -q 'proto esp spi 0x00003001' &&
	       ! ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x3001 | grep -q encap"
ip -n "$NS_A" xfrm state flush

# Policies: delete, update (a replacement), flush.
pol() { NA policy-new --dir out --from "$1" --to "$2" --src 10.0.0.1 --dst 10.0.0.2 --reqid 7; }
pol 192.168.1.0/24 192.168.21.0/24 && pol 192.168.1.0/24 192.168.22.0/24 &&
	pol 192.168.1.0/24 192.168.23.0/24 && pol 192.168.1.0/24 192.168.24.0/24
ip -n "$NS_A" xfrm policy delete dir out src 192.168.1.0/24 dst 192.168.21.0/24
ip -n "$NS_A" xfrm policy update dir out src 192.168.1.0/24 dst 192.168.22.0/24 \
	tmpl src 10.0.0.1 dst 10.0.0.7 proto esp reqid 9 mode tunnel
wait_for 10 grep -q 'policy-deleted vanished' /tmp/iso-ev.log
tap_expect_eq "ip xfrm policy delete and update of module policies: one event each" \
	"policy-deleted delete dir out sel 192.168.1.0/24 -> 192.168.21.0/24 proto 0 reqid 7|policy-deleted vanished dir out sel 192.168.1.0/24 -> 192.168.22.0/24 proto 0 reqid 7" \
	"$(grep 'policy-deleted' /tmp/iso-ev.log | paste -sd'|')"
expect_refusal "the replacing policy is not the module's to delete" "no policy with this direction" \
	NA policy-del --dir out --from 192.168.1.0/24 --to 192.168.22.0/24
ip -n "$NS_A" xfrm policy flush
wait_for 10 sh -c '[ $(grep -c "policy-deleted flush" /tmp/iso-ev.log) -ge 2 ]'
tap_expect_eq "ip xfrm policy flush: one event per module policy left" \
	"policy-deleted flush dir out sel 192.168.1.0/24 -> 192.168.23.0/24 proto 0 reqid 7|policy-deleted flush dir out sel 192.168.1.0/24 -> 192.168.24.0/24 proto 0 reqid 7" \
	"$(grep 'policy-deleted flush' /tmp/iso-ev.log | sort | paste -sd'|')"
tap_expect_eq "after the flush the module's policy dump agrees with ip xfrm policy (empty)" \
	"|" "$(NA policy-dump)|$(ip -n "$NS_A" xfrm policy)"

# --- an expire of someone else's state with the module SA's identity -------------
# Same SPI and destination, marks that do not match each other's (0x1/0xff
# the module's, 0x2/0xff the other one's).
sa_a 0x4001 10.0.0.1 10.0.0.2 --mark 0x1/0xff
tap_check "another key manager's state with the same SPI and destination, another mark" \
	ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4001 mode tunnel \
	mark 0x2 mask 0xff aead 'rfc4106(gcm(aes))' $KEY_AB 128 limit time-soft 1 limit time-hard 2
wait_for 10 sh -c "! ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4001 mark 0x2 mask 0xff 2>/dev/null"
sleep 1
tap_expect_eq "the other state's expiry is not reported as the module's SA's" \
	"" "$(grep 'expire.*0x00004001' /tmp/iso-ev.log)"
tap_check "the module's SA is still its own" NA sa-get --spi 0x4001 --dst 10.0.0.2
kill "$MON" 2>/dev/null
wait "$MON" 2>/dev/null

# --- no larval states without a daemon -------------------------------------------
ip -n "$NS_A" xfrm state flush
ip -n "$NS_A" route add 192.168.9.0/24 via 10.0.0.2 src 192.168.1.1
NA policy-new --dir out --from 192.168.1.0/24 --to 192.168.9.0/24 --src 10.0.0.1 --dst 10.0.0.9 --reqid 11
larval() { ip -n "$NS_A" xfrm state | grep -c 'spi 0x00000000'; }
sadcount() { ip -n "$NS_A" xfrm state count | awk '{ print $3 }'; }
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 1 -I 192.168.1.1 192.168.9.1 >/dev/null 2>&1
tap_expect_eq "no listener: a packet hitting a policy without an SA makes no larval state" \
	"0 0" "$(larval) $(sadcount)"
nl_monitor "$NS_A" /tmp/iso-acq.log
ip netns exec "$NS_A" ping -c 1 -W 1 -I 192.168.1.1 192.168.9.1 >/dev/null 2>&1
wait_for 10 grep -q acquire /tmp/iso-acq.log
tap_expect_eq "with a listener: the acquire event, and the larval state it waits in" \
	"acquire reqid 11 sel 192.168.1.0/24 -> 192.168.9.0/24 proto 0 tmpl 10.0.0.1 -> 10.0.0.9 1" \
	"$(grep acquire /tmp/iso-acq.log | head -1) $(larval)"
kill "$MON" 2>/dev/null
wait "$MON" 2>/dev/null

# --- unload -------------------------------------------------------------------
sa_a 0x5001 10.0.0.1 10.0.0.2
module_unload_refused "rmmod refused while the module owns an SA and a policy"
tap_check "the refused unload left them in place" \
	sh -c "ip -n $NS_A xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x5001 >/dev/null &&
	       ip -n $NS_A xfrm policy get dir out src 192.168.1.0/24 dst 192.168.9.0/24 >/dev/null"
ip -n "$NS_A" xfrm state flush
ip -n "$NS_A" xfrm policy flush
if wait_for 10 rmmod tcpike; then
	tap_ok "rmmod once ip xfrm flushed them"
else
	tap_fail "rmmod once ip xfrm flushed them" "$(rmmod tcpike 2>&1)"
fi
tap_done
