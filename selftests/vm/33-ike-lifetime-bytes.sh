#!/bin/bash
# A Child SA byte lifetime enforced by the kernel and honoured by tcpiked,
# with the module and with the plain XFRM backend: life_bytes becomes the
# kernel SA's hard byte limit with a soft one below it (seen in
# `ip -s xfrm state`); a ping stream carrying twice the limit through the
# tunnel makes the kernel send a soft expire, tcpiked rekeys the Child SA
# before the hard limit, and not one ping is lost.  The rekey is checked in
# the kernel (`ip xfrm state` holds other SPIs than before), not only in
# tcpiked's status.  With the module, an SA deleted behind tcpiked's back
# (ip xfrm) ends the Child SA at both ends.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/module.sh"

LIFE=100000		# bytes; soft limits at 80..85 % (a, initiator), 90..95 % (b)

spis() { ip -n "$1" xfrm state | awk '$1 == "proto" && $2 == "esp" { print $4 }' | sort | tr '\n' ' '; }

# limits_ok NAME NS LO HI: every SA's hard byte limit is $LIFE, its soft one
# from LO to HI % of it.
limits_ok() {
	local name=$1 ns=$2 lo=$3 hi=$4 l bad= n=0
	while read -r l; do
		n=$((n + 1))
		[ "${l#* }" = "$LIFE" ] && [ "${l% *}" -ge $((LIFE * lo / 100)) ] &&
			[ "${l% *}" -le $((LIFE * hi / 100)) ] || bad="$bad $l"
	done < <(ip -s -n "$ns" xfrm state | sed -n 's/.*limit: soft \([0-9]*\)(bytes), hard \([0-9]*\)(bytes).*/\1 \2/p')
	if [ "$n" = 2 ] && [ -z "$bad" ]; then
		tap_ok "$tag: $name's kernel SAs: hard byte limit $LIFE, soft at $lo..$hi %"
	else
		tap_fail "$tag: $name's kernel SAs: hard byte limit $LIFE, soft at $lo..$hi % (got $n SAs,$bad)"
		ip -s -n "$ns" xfrm state | sed "s/^/# $name: /"
	fi
}

# With the module: a's outbound SA deleted behind tcpiked's back (ip xfrm,
# another key manager).  The module reports it (EVENT_SA_DELETED), a
# deletes the Child SA and tells b, and b's kernel no longer holds the SA:
# seen in b's kernel, not only in a's log.
foreign_delete() {
	local spi
	spi=$(ip -n "$NS_A" xfrm state | awk '$1 == "src" && $2 == "10.0.0.1" { getline; print $4; exit }')
	if [ -z "$spi" ] || ! ip -n "$NS_A" xfrm state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi "$spi"; then
		tap_fail "$tag: a's outbound SA deleted with ip xfrm (spi '$spi')"
		return
	fi
	b_lost() { ! ip -n "$NS_B" xfrm state | grep -q "spi $spi "; }
	if wait_for 10 b_lost && grep -q "SA $(printf %08x "$spi") was deleted by someone else" "$IKE_DIR/a.log"; then
		tap_ok "$tag: an SA deleted with ip xfrm at a: a deleted the Child SA, and b's kernel dropped $spi"
	else
		tap_fail "$tag: an SA deleted with ip xfrm at a: a deleted the Child SA, and b's kernel dropped $spi"
		ip -n "$NS_B" xfrm state | sed 's/^/# b: /'; ike_log a 20; ike_log b 20
	fi
}

lifetime_run() {
	local backend=$1 tag="$1, life_bytes $LIFE" before after out loss soft
	ns_cleanup
	topo_pair "lt$$" || { tap_fail "$tag: topology"; return; }
	ip -n "$NS_A" route add 192.168.2.0/24 dev va src 192.168.1.1
	ip -n "$NS_B" route add 192.168.1.0/24 dev vb src 192.168.2.1
	ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:a.test rid=fqdn:b.test backend="$backend" "child_extra=life_bytes = $LIFE"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:a.test backend="$backend" "child_extra=life_bytes = $LIFE"
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
	if ! wait_for 20 ike_established a || ! wait_for 5 ike_established b; then
		tap_fail "$tag: tunnel up"; ike_log a; ike_log b
		ike_stop a >/dev/null; ike_stop b >/dev/null
		return
	fi
	# The kernel holds the limits: hard = life_bytes, soft below it, the
	# initiator's (a) lower than the responder's (b).
	limits_ok a "$NS_A" 80 85
	limits_ok b "$NS_B" 90 95
	before=$(spis "$NS_A")
	# 160 pings of 1200 bytes each way: about twice the hard limit, ten
	# a second (the 10 to 20 % between the soft and the hard limit are
	# then more than a second for the rekey under emulation).
	out=$(ip netns exec "$NS_A" ping -q -c 160 -i 0.1 -s 1200 -W 2 -I 192.168.1.1 192.168.2.1 2>&1)
	loss=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
	after=$(spis "$NS_A")
	tap_expect_eq "$tag: no ping lost while twice the byte limit went through" 0 "$loss"
	[ "$loss" = 0 ] || { printf '%s\n' "$out" | sed 's/^/# /'; ike_log a 30; ike_log b 30; }
	local kept=0 s
	for s in $before; do
		case " $after " in *" $s "*) kept=1 ;; esac
	done
	if [ -n "$after" ] && [ "$kept" = 0 ]; then
		tap_ok "$tag: rekeyed in the kernel (SPIs $before-> $after)"
	else
		tap_fail "$tag: rekeyed in the kernel (SPIs before '$before', after '$after')"
		ip -s -n "$NS_A" xfrm state | sed 's/^/# a: /'; ike_log a 30
	fi
	# No SA reached its hard limit, not even one already replaced
	# (logged "kernel: hard expire of SA ..., not one of ours").
	if grep -q "soft lifetime in the kernel: rekeying" "$IKE_DIR/a.log" "$IKE_DIR/b.log" &&
	   ! grep -q "hard lifetime\|hard expire" "$IKE_DIR/a.log" "$IKE_DIR/b.log"; then
		tap_ok "$tag: the soft expire started the rekey, no hard expire"
	else
		tap_fail "$tag: the soft expire started the rekey, no hard expire"
		grep -h "lifetime\|expire" "$IKE_DIR/a.log" "$IKE_DIR/b.log" | sed 's/^/# /'
	fi
	[ "$backend" = module ] && foreign_delete
	ike_stop a
	ike_stop b
	tap_check "$tag: no XFRM state or policy left behind" \
		sh -c "[ -z \"\$(ip -n $NS_A xfrm state; ip -n $NS_A xfrm policy; ip -n $NS_B xfrm state; ip -n $NS_B xfrm policy)\" ]"
}

module_load
lifetime_run module
lifetime_run xfrm
rmmod tcpike 2>/dev/null
tap_done
