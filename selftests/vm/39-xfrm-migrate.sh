#!/bin/bash
# The xfrm backend moves a Child SA to the peer's new address (RFC 7296
# §2.23: its NAT now shows it from elsewhere), by kb_child_move and
# XFRM_MSG_MIGRATE: both halves keep their SPIs and go to the new address
# and UDP port, the out, in and fwd policies' templates follow, the
# outbound SA's sequence numbers go on where they were (a restart under
# the same AES-GCM key would reuse nonces), and the SAs are then deleted
# at their new address, leaving nothing behind.  (A VM test: the host's
# kernel may lack ESP; selftests/nat_remap.sh runs the same through tcpiked.)
. "$(dirname "$0")/../lib.sh"
require_netns
P=$BIN/selftests/kb_xfrm
[ -x "$P" ] || tap_skip_all "$P not built (make asan)"
NS=tcpike-kbm-$$
ns_add $NS
ip -n $NS xfrm policy list >/dev/null 2>&1 || tap_skip_all "no xfrm_user in this kernel"
ip -n $NS link set lo up
ip -n $NS link add d0 type veth peer name d1
ip -n $NS link set d0 up
ip -n $NS link set d1 up
ip -n $NS addr add 10.0.0.1/24 dev d0
ip -n $NS addr add 192.168.1.1/24 dev lo
ip -n $NS route add 192.168.2.0/24 dev d0 src 192.168.1.1

coproc KB { ip netns exec $NS "$P" move 2>"/tmp/kbm-$$.err"; }
next() { echo >&"${KB[1]}"; read -r -t 10 line <&"${KB[0]}"; }
read -r -t 10 line <&"${KB[0]}"
case $line in
added) ;;
*"ESP"*|*"esp"*|*"algorithm"*) tap_skip_all "no ESP in this kernel: $line" ;;
*) tap_fail "the tunnel is installed" "$line"; tap_done ;;
esac
# The outbound SA's output sequence number (the kernel's anti-replay
# context), at the SA with destination $1.
oseq() {
	ip -n $NS -s xfrm state get src "$2" dst "$1" proto esp spi 0x2002 2>/dev/null |
		sed -n 's/.*oseq \(0x[0-9a-f]*\).*/\1/p'
}
ping3() { ip netns exec $NS ping -q -c "$1" -i 0.2 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1; }
ping3 3
tap_expect_eq "three packets went out on the outbound SA" 0x3 "$(oseq 10.0.0.2 10.0.0.1)"

next
tap_expect_eq "the Child SA moved" moved "$line"
st=$(ip -n $NS xfrm state)
tap_check "both halves are on the new address with their SPIs and the new port" sh -c "
	echo '$st' | grep -A6 'src 10.0.0.1 dst 10.0.0.7' | grep -q 'spi 0x00002002' &&
	echo '$st' | grep -A6 'src 10.0.0.7 dst 10.0.0.1' | grep -q 'spi 0x00002001' &&
	echo '$st' | grep -q 'encap type espinudp sport 4500 dport 40001' &&
	echo '$st' | grep -q 'encap type espinudp sport 40001 dport 4500'"
tap_check "no SA is left on the old address" sh -c "! echo '$st' | grep -q 10.0.0.2"
tap_expect_eq "the outbound SA's sequence numbers were carried over" 0x3 "$(oseq 10.0.0.7 10.0.0.1)"
ping3 1
tap_expect_eq "and go on from there" 0x4 "$(oseq 10.0.0.7 10.0.0.1)"
pol=$(ip -n $NS xfrm policy)
tap_check "the out, in and fwd templates name the new address, none the old" sh -c "
	[ \$(echo '$pol' | grep -c 'tmpl src 10.0.0.1 dst 10.0.0.7') = 1 ] &&
	[ \$(echo '$pol' | grep -c 'tmpl src 10.0.0.7 dst 10.0.0.1') = 2 ] &&
	! echo '$pol' | grep -q 10.0.0.2"

next
tap_expect_eq "the SAs and policies deleted where they are now" deleted "$line"
tap_expect_eq "nothing is left in the kernel" "0 0" \
	"$(ip -n $NS xfrm state | grep -c '^src') $(ip -n $NS xfrm policy | grep -c '^src')"
next
tap_expect_eq "the backend closed" closed "$line"
[ -s "/tmp/kbm-$$.err" ] && sed 's/^/# /' "/tmp/kbm-$$.err"
rm -f "/tmp/kbm-$$.err"
tap_done
