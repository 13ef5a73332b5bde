#!/bin/bash
# Interop with strongSwan 5.9.8 (Debian's charon + swanctl, kernel-netlink):
# tcpiked as initiator and as responder, PSK and ECDSA certificates,
# AES-GCM-16-256/X25519 and AES-CBC-256/HMAC-SHA2-256/MODP-2048 (ESP
# aes256gcm16, aes256gcm16 with X25519 PFS, aes256-sha256 with and
# without ESN), ESP in the
# kernel through tcpike.ko (the module backend) and through plain XFRM (the
# xfrm backend).  After establishing and after every Child SA and IKE SA
# rekey (started by each side, see run_case's steps) both daemons must agree
# on one IKE SA and one Child SA, and a ping 192.168.1.1 -> 192.168.2.1
# must be counted on the ESP SAs tcpiked installed (ip -s xfrm state), not
# merely answered.  One case puts a NAT (nft masquerade) in front of
# charon: RFC 3948 UDP-encapsulated ESP must carry the ping.  A
# make-before-break reauthentication by charon (make_before_break = yes)
# must end with the new IKE SA and Child SA carrying the ping and one set
# of policies in the kernel (shared by the old and new Child SA while
# both stood, never deleted in between).  A delete from charon must leave
# no SA or policy of tcpiked in the kernel.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
require_root
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
sw_available || tap_skip_all "strongSwan (strongswan-charon, strongswan-swanctl) not installed"
module_load

# Which side runs what: tcpiked in $T (its config "t"), charon in $S ("s").
T= S=
# Every process start costs a few hundred ms under TCG: poll with the
# plain (non-ASan) tcpikectl when built, and parse in bash.
TCTL=$TOP/build/tcpikectl
[ -x "$TCTL" ] || TCTL=$TOOL_BIN/tcpikectl

# t_sas: one `tcpikectl status` (text), parsed into T_COUNT (IKE SAs in
# any state), T_IKE ("SPIi/SPIr" of the established ones), T_CHILD ("IN
# OUT" hex SPIs of each installed Child SA) and T_ESP ("on IP"/"in UDP").
#   c[1]: ESTABLISHED 3s, 10.0.0.1:500 ... 10.0.0.2:500 over udp, initiator
#     IKE: ..., SPIs b0acade51153b367_i 4b8ae22e930e9fef_r, peer ...
#     net: INSTALLED 1s, tunnel, ESP on IP, SPIs 0a080dee_i 26c63c33_o, ...
t_sas() {
	local line est=0
	local re_sa='^[^ ]+\[[0-9]+\]: ([A-Z_]+) '
	local re_ike='^  IKE: .*, SPIs ([0-9a-f]+)_i ([0-9a-f]+)_r,'
	# "in UDP" is followed by the encapsulation ports ("in UDP 4500 <-> 4500")
	local re_child='^  [^ ]+: INSTALLED .*, ESP (on IP|in UDP)[^,]*, SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o,'
	T_COUNT=0 T_IKE= T_CHILD= T_ESP=
	while IFS= read -r line; do
		if [[ $line =~ $re_sa ]]; then
			T_COUNT=$((T_COUNT + 1))
			[ "${BASH_REMATCH[1]}" = ESTABLISHED ] && est=1 || est=0
		elif [ $est = 1 ] && [[ $line =~ $re_ike ]]; then
			T_IKE+="${T_IKE:+ }${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
		elif [[ $line =~ $re_child ]]; then
			T_CHILD+="${T_CHILD:+ }${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
			T_ESP=${BASH_REMATCH[1]}
		fi
	done <<<"$("$TCTL" -s "$IKE_DIR/t.sock" status 2>/dev/null)"
}

# Both daemons agree: one IKE SA each with the same SPIs, one installed
# Child SA each, tcpiked's inbound SPI being charon's outbound and the
# other way round.  Leaves the parsed state in T_* and SW_*.
agreed() {
	local c
	t_sas; sw_sas s
	c=($T_CHILD)
	[ ${#c[@]} = 2 ] && [ "$SW_CHILD" = "${c[1]}/${c[0]}" ] &&
		[ "$T_COUNT" = 1 ] && [ "$SW_COUNT" = 1 ] &&
		[ -n "$T_IKE" ] && [ "$T_IKE" = "$SW_IKE" ]
}
state_diag() {
	echo "tcpiked: $T_COUNT IKE SA(s) '$T_IKE', child '$T_CHILD'; charon: $SW_COUNT IKE SA(s) '$SW_IKE', child '$SW_CHILD'"
}

# xfrm_pkts NS SPI...: packets counted on the XFRM states with these SPIs
# (hex) in NS, in order, one `ip -s xfrm state`.  An SPI with no state
# prints "-".
#   src 10.0.0.2 dst 10.0.0.1
#   	proto esp spi 0x5ecb1c57(1590369367) reqid 1(0x00000001) mode tunnel
#   	...
#   	lifetime current:
#   	  252(bytes), 3(packets)
xfrm_pkts() {
	local ns=$1 line spi= cur=0 re_spi='proto esp spi 0x([0-9a-f]{8})\(' re_pk='^[[:space:]]+[0-9]+\(bytes\), ([0-9]+)\(packets\)'
	local -A pk
	shift
	while IFS= read -r line; do
		if [[ $line =~ $re_spi ]]; then
			spi=${BASH_REMATCH[1]}
		elif [[ $line == *"lifetime current:"* ]]; then
			cur=1; continue
		elif [ $cur = 1 ] && [[ $line =~ $re_pk ]]; then
			pk[$spi]=${BASH_REMATCH[1]}
		fi
		cur=0
	done <<<"$(ip -s -n "$ns" xfrm state)"
	for spi in "$@"; do printf '%s ' "${pk[$spi]:--}"; done
}

# traffic CASE STEP: ping across the tunnel; the tcpiked side's current
# inbound and outbound ESP SAs (from the last agreed()) must each count
# every packet of it.
traffic() {
	local desc="$1: $2: ping 192.168.1.1 -> 192.168.2.1 through ESP SAs" c b a rc
	c=($T_CHILD)
	[ ${#c[@]} = 2 ] || c=(none none)
	b=($(xfrm_pkts "$T" "${c[@]}"))
	ip netns exec "$NS_A" ping -q -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1
	rc=$?
	a=($(xfrm_pkts "$T" "${c[@]}"))
	if [ $rc = 0 ] && [ "${b[0]}" != - ] && [ "${b[1]}" != - ] &&
	   [ $((a[0] - b[0])) -ge 3 ] && [ $((a[1] - b[1])) -ge 3 ]; then
		tap_ok "$desc ${c[0]}/${c[1]} (+$((a[0] - b[0])) in, +$((a[1] - b[1])) out)"
	else
		tap_fail "$desc ${c[0]}/${c[1]}" "ping rc $rc, packets in ${b[0]}->${a[0]}, out ${b[1]}->${a[1]}"
		tap_diag "$(ip -s -n "$T" xfrm state)"
		ike_log t 20; sw_log s 20
	fi
}

# rekey CASE ike|child|reauth t|s: the named side starts the rekey (reauth:
# charon's make-before-break reauthentication); both sides end with one
# IKE SA and one Child SA, mirrored, with new SPIs for what was rekeyed
# (both for reauth) and the same ones for the rest; then the ping.
rekey() {
	local c=$1 what=$2 who=$3 oc oi side
	[ "$who" = t ] && side=tcpiked || side=charon
	oc=$T_CHILD oi=$T_IKE
	if [ "$who" = t ]; then
		"$TCTL" -s "$IKE_DIR/t.sock" rekey c "$what" >/dev/null
	elif [ "$what" = reauth ]; then
		sw_ctl s --rekey --ike c --reauth >/dev/null
	else
		sw_rekey s "$what" >/dev/null
	fi
	changed() {
		agreed || return 1
		case $what in
		child) [ "$T_CHILD" != "$oc" ] && [ "$T_IKE" = "$oi" ] ;;
		ike) [ "$T_IKE" != "$oi" ] && [ "$T_CHILD" = "$oc" ] ;;
		reauth) [ "$T_IKE" != "$oi" ] && [ "$T_CHILD" != "$oc" ] ;;
		esac
	}
	if wait_for 10 changed; then
		tap_ok "$c: $what SA rekey started by $side: new SPIs on both sides, one SA left each"
	else
		tap_fail "$c: $what SA rekey started by $side" "before: child '$oc' IKE '$oi'; now $(state_diag)"
		ike_log t 30; sw_log s 30
	fi
	if [ "$what" = reauth ]; then
		# one policy per direction, under the reqid of the new SAs,
		# never deleted while the old and new Child SA both stood
		local pol reqids
		pol=$(ip -n "$T" xfrm policy | grep -cE 'dir (in|out|fwd)')
		reqids=$(ip -n "$T" xfrm state | grep -o 'reqid [0-9]*' | sort -u | wc -l)
		tap_expect_eq "$c: after the reauth: 3 policies and one reqid in the kernel" \
			"3 1" "$pol $reqids"
		if grep -qE 'installing a policy failed|refused with' "$IKE_DIR/t.log"; then
			tap_fail "$c: the reauth's Child SA was installed beside the old one" \
				"$(grep -E 'installing a policy failed|refused with' "$IKE_DIR/t.log" | head -3)"
		else
			tap_ok "$c: the reauth's Child SA was installed beside the old one"
		fi
	fi
	traffic "$c" "after the $what rekey by $side"
}

# run_case NAME pair|nat TCPIKED-INITIATES(yes|no) AUTH(psk|ecdsa)
#          SUITE(gcm|gcm-pfs|cbc) BACKEND(module|xfrm) STEP...
# STEP: child:t child:s ike:t ike:s reauth:s, a rekey and who starts it
# (t tcpiked, s charon).
run_case() {
	local c=$1 topo=$2 tinit=$3 auth=$4 suite=$5 backend=$6 step
	local prop esp tl sl tid sid targs=() sargs=()
	shift 6
	case $suite in
	gcm) prop=aes256gcm16-prfsha256-x25519 esp=aes256gcm16 ;;
	# PFS: a KE in the Child SA rekeys, none in IKE_AUTH (RFC 7296 §1.2)
	gcm-pfs) prop=aes256gcm16-prfsha256-x25519 esp=aes256gcm16-x25519 ;;
	cbc) prop=aes256-sha256-modp2048 esp=aes256-sha256 ;;
	# 64-bit sequence numbers (RFC 4303 §2.2.1) in the kernel SAs
	cbc-esn) prop=aes256-sha256-modp2048 esp=aes256-sha256-esn ;;
	esac
	if [ "$auth" = ecdsa ]; then
		tid=ec.tcpike.test sid=ec384.tcpike.test
	else
		tid=t.tcpike.test sid=s.tcpike.test
	fi
	if [ "$topo" = pair ]; then
		topo_pair "sw$c" || { tap_fail "$c: namespaces"; return; }
		ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1
		ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
	else
		topo_nat "sw$c" || { tap_fail "$c: namespaces"; return; }
		# a (10.1.0.2) is masqueraded to 10.0.0.1 by r
		ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
	fi
	# The side behind the NAT (a) initiates in the NAT cases; tcpiked in a
	# when it initiates, charon in a otherwise.
	if [ "$tinit" = yes ]; then
		T=$NS_A S=$NS_B
		[ "$topo" = nat ] && tl=10.1.0.2 || tl=10.0.0.1
		targs=(local=$tl remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24)
		sargs=(local=10.0.0.2 lts=192.168.2.0/24 rts=192.168.1.0/24)
	else
		T=$NS_B S=$NS_A
		[ "$topo" = nat ] && sl=10.1.0.2 || sl=10.0.0.1
		targs=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24)
		sargs=(local=$sl remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24)
	fi
	ike_conf t "${targs[@]}" auth=$auth lid=fqdn:$tid rid=fqdn:$sid \
		proposals=$prop esp=$esp backend=$backend
	sw_conf s "${sargs[@]}" auth=$auth lid=$sid rid=$tid proposals=$prop esp=$esp \
		"charon_extra=make_before_break = yes"
	if ! sw_start "$S" s || ! ike_start "$T" t; then
		tap_fail "$c: charon and tcpiked start" "$(tail -5 "$IKE_DIR/t.log")"
		sw_log s
		return
	fi
	if [ "$tinit" = yes ]; then
		ike_ctl t initiate c --no-wait >/dev/null
	else
		sw_initiate s >/dev/null
	fi
	if wait_for 15 agreed; then
		tap_ok "$c: IKE SA and Child SA established ($([ $tinit = yes ] && echo tcpiked || echo charon) initiated, $auth, $prop, ESP $esp, $backend backend)"
	else
		tap_fail "$c: IKE SA and Child SA established" "$(state_diag)"
		ike_log t 40; sw_log s 40
		ike_stop t; sw_stop s; ns_cleanup
		return
	fi
	tap_expect_eq "$c: tcpiked's view of the ESP transport" \
		"$([ $topo = nat ] && echo "in UDP" || echo "on IP")" "$T_ESP"
	if [ "$topo" = nat ]; then
		tap_expect_eq "$c: both SAs in the kernel are UDP-encapsulated (4500)" 2 \
			"$(ip -n "$T" xfrm state | grep -c 'encap type espinudp sport [0-9]* dport [0-9]*')"
	fi
	if [ "${esp%-esn}" != "$esp" ]; then
		tap_expect_eq "$c: both SAs in the kernel use ESN" 2 \
			"$(ip -n "$T" xfrm state | grep -c 'flag.* esn')"
	fi
	traffic "$c" "after establishing"
	for step in "$@"; do
		rekey "$c" "${step%:*}" "${step#*:}"
	done
	# Deleting from charon's side: tcpiked forgets the SA and takes its
	# SAs and policies out of the kernel.
	sw_terminate s >/dev/null
	no_sa() { t_sas; [ "$T_COUNT" = 0 ] && [ -z "$(ip -n "$T" xfrm state)" ] &&
		[ -z "$(ip -n "$T" xfrm policy | grep -E 'dir (in|out|fwd)')" ]; }
	if wait_for 10 no_sa; then
		tap_ok "$c: delete from charon: tcpiked removed its SAs and policies from the kernel"
	else
		tap_fail "$c: delete from charon" "$T_COUNT IKE SAs; $(ip -n "$T" xfrm state; ip -n "$T" xfrm policy)"
	fi
	ike_stop t
	sw_stop s
	ns_cleanup
	tap_diag "$c: done at ${SECONDS}s"
}

# Every rekey by each side in both roles (charon's IKE SA renewal as
# responder by make-before-break reauthentication); PSK and ECDSA in both
# roles; both suites with both backends' worth of coverage within ~4
# minutes of TCG emulation.
run_case psk-gcm-init pair yes psk gcm module child:t child:s ike:t ike:s
run_case ecdsa-cbc-resp pair no ecdsa cbc module child:t child:s ike:t reauth:s
run_case ecdsa-gcm-pfs-init pair yes ecdsa gcm-pfs xfrm child:s child:t ike:t
run_case nat-psk-cbc-esn-resp nat no psk cbc-esn module child:t ike:s
run_case psk-cbc-init-xfrm pair yes psk cbc xfrm child:s ike:s
tap_done
