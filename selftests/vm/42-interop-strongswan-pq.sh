#!/bin/bash
# Post-quantum Child SAs with real ESP against strongSwan 6.1: proof that
# both ends derive the same KEYMAT when ML-KEM-768 runs as an RFC 9370
# additional key exchange (netns/61 only compares SPIs: there charon runs
# on kernel-libipsec and tcpiked on backend none, and no ESP flows).
# tcpiked is the one built against OpenSSL 3.5 in the Debian 13 root
# (build-trixie/asan/tcpiked, which scripts/check's prepare_vm builds: the
# VM's root is read-only) and runs chrooted there with the xfrm backend;
# charon 6.1 runs chrooted in the strongSwan root with kernel-netlink, so
# both put their SAs into this kernel, one namespace each.
#
# IKE SA: X25519 + ke1_mlkem768 (IKE_INTERMEDIATE); Child SA esp_proposals
# aes256gcm16-x25519-ke1_mlkem768.  After establishing, and after every
# Child SA rekey (started by each side: X25519 in CREATE_CHILD_SA, ML-KEM
# in IKE_FOLLOWUP_KE) and IKE SA rekey (ADDKE too, by each side; a Child SA
# rekey follows each, keyed from the new SK_d), in each namespace
# `ip xfrm state` must hold exactly the SPIs its daemon reports, the old
# ones gone; the state tcpiked installed for an SPI and the one charon
# installed for it must carry the same key (compared, never printed); and
# a ping 192.168.1.1 -> 192.168.2.1 must be counted on all four states
# (each direction encrypted by one kernel and decrypted by the other, no
# ICV failure).  A control at the end replaces tcpiked's outbound state by
# one whose key differs in one bit: the same check must then fail (no
# reply, the peer's inbound state counts ICV failures).
#
# TCPIKE_DEBIAN13_ROOT and TCPIKE_SWPQ_ROOT name the roots (scripts/check
# exports them; by default the cached ones).  TCPIKE_PQ_TCPIKED (a path
# under the tree) runs another tcpiked built there, e.g. a mutated one
# (selftests/MUTATIONS ak11-child-*), with no staleness check.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
. "$TOP/selftests/trixie.sh"
trap 'sw_cleanup; ike_cleanup' EXIT

require_netns
trixie_pq_roots
[ -e "$sroot/usr/lib/ipsec/plugins/libstrongswan-kernel-netlink.so" ] ||
	tap_skip_all "no kernel-netlink in $sroot"

# The tcpiked under test: built before the VM started, from this tree.
prog=${TCPIKE_PQ_TCPIKED:-build-trixie/asan/tcpiked}
if [ ! -x "$TOP/$prog" ]; then
	tap_fail "tcpiked built in the Debian 13 root" \
		"no $TOP/$prog: scripts/check's prepare_vm builds it (selftests/trixie.sh trixie_make)"
	tap_done
fi
if [ -z "${TCPIKE_PQ_TCPIKED:-}" ]; then
	newer=$(cd "$TOP" && find userspace uapi -name '*.[ch]' -newer "$prog" | head -n 3)
	if [ -n "$newer" ]; then
		tap_fail "$prog is newer than the sources" "older than $(tr '\n' ' ' <<<"$newer")- rebuild it (scripts/check's prepare_vm)"
		tap_done
	fi
fi
tap_ok "tcpiked from the Debian 13 root: $prog ($(chroot "$troot" openssl version | cut -d' ' -f1-2))"
trixie_wrap "$troot" "/src/$prog"
sw_chroot "$sroot"
topo_pair pqesp$$ || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" route add 192.168.2.0/24 via 10.0.0.2 src 192.168.1.1
ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1

# xs_read NS: one `ip -s xfrm state` of NS into XS_SPIS (the ESP SPIs, hex,
# sorted, one line), XS_PK[SPI] (packets counted: decrypted on an inbound
# state, encrypted on an outbound one), XS_FAIL[SPI] (ICV failures) and
# XS_KEY[SPI] (algorithm, key and ICV length, for comparison only).
#   src 10.0.0.2 dst 10.0.0.1
#   	proto esp spi 0x5ecb1c57(1590369367) reqid 1(0x00000001) mode tunnel
#   	aead rfc4106(gcm(aes)) 0x... (288 bits) 128
#   	lifetime current:
#   	  252(bytes), 3(packets)
#   	stats:
#   	  replay-window 0 replay 0 failed 0
declare -A XS_PK XS_FAIL XS_KEY
xs_read() {
	local line spi='' next='' re_spi='proto esp spi 0x([0-9a-f]{8})\('
	# -s adds the key's length in bits before the ICV length
	local re_aead='^[[:space:]]+aead ([^ ]+) (0x[0-9a-f]+)( \([0-9]+ bits\))? ([0-9]+)'
	local re_pk='^[[:space:]]+[0-9]+\(bytes\), ([0-9]+)\(packets\)'
	local re_fail='^[[:space:]]+replay-window [0-9]+ replay [0-9]+ failed ([0-9]+)'
	XS_PK=() XS_FAIL=() XS_KEY=() XS_SPIS=
	while IFS= read -r line; do
		if [[ $line =~ $re_spi ]]; then
			spi=${BASH_REMATCH[1]}
			XS_SPIS+="$spi"$'\n'
		elif [[ $line =~ $re_aead ]]; then
			XS_KEY[$spi]="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
		elif [[ $line == *"lifetime current:"* ]]; then
			next=pk; continue
		elif [[ $line == *"stats:"* ]]; then
			next=fail; continue
		elif [ "$next" = pk ] && [[ $line =~ $re_pk ]]; then
			XS_PK[$spi]=${BASH_REMATCH[1]}
		elif [ "$next" = fail ] && [[ $line =~ $re_fail ]]; then
			XS_FAIL[$spi]=${BASH_REMATCH[1]}
		fi
		next=
	done <<<"$(ip -s -n "$1" xfrm state)"
	XS_SPIS=$(sort <<<"${XS_SPIS%$'\n'}" | tr '\n' ' ')
	XS_SPIS=${XS_SPIS% }
}

# xs_snap NAME NS: xs_read NS, kept as NAME_PK, NAME_FAIL, NAME_KEY, NAME_SPIS
xs_snap() {
	local k
	xs_read "$2"
	declare -gA "$1_PK=()" "$1_FAIL=()" "$1_KEY=()"
	local -n pk=$1_PK fail=$1_FAIL key=$1_KEY
	for k in "${!XS_PK[@]}"; do pk[$k]=${XS_PK[$k]}; done
	for k in "${!XS_FAIL[@]}"; do fail[$k]=${XS_FAIL[$k]}; done
	for k in "${!XS_KEY[@]}"; do key[$k]=${XS_KEY[$k]}; done
	printf -v "$1_SPIS" '%s' "$XS_SPIS"
}

# esp_check: with the Child SA both daemons agree on (swt_agreed, T_CHILD
# "IN OUT" of tcpiked), X = tcpiked's outbound SPI (charon's inbound), Y =
# charon's outbound (tcpiked's inbound):
# - each namespace's kernel holds exactly {X, Y};
# - tcpiked's X and charon's X carry the same AEAD key, and so for Y;
# - a ping through the tunnel is answered, and counted on tcpiked's X
#   (encrypted), charon's X (decrypted), charon's Y (encrypted) and
#   tcpiked's Y (decrypted), with no ICV failure on either inbound state.
# Returns 0 when all hold; ESP_WHY says what failed, ESP_SAW what was seen.
esp_check() {
	local cs x y want rc
	cs=($T_CHILD)
	y=${cs[0]} x=${cs[1]}
	ESP_WHY='' ESP_SAW=''
	[ ${#cs[@]} = 2 ] || { ESP_WHY="no single Child SA agreed ('$T_CHILD')"; return 1; }
	want=$(printf '%s\n' "$x" "$y" | sort | tr '\n' ' ')
	want=${want% }
	xs_snap A0 "$NS_A"
	xs_snap B0 "$NS_B"
	[ "$A0_SPIS" = "$want" ] && [ "$B0_SPIS" = "$want" ] ||
		ESP_WHY+="kernel SPIs: tcpiked's netns '$A0_SPIS', charon's '$B0_SPIS', want '$want'; "
	[ -n "${A0_KEY[$x]:-}" ] && [ "${A0_KEY[$x]}" = "${B0_KEY[$x]:-}" ] ||
		ESP_WHY+="the two states of $x carry different keys; "
	[ -n "${A0_KEY[$y]:-}" ] && [ "${A0_KEY[$y]}" = "${B0_KEY[$y]:-}" ] ||
		ESP_WHY+="the two states of $y carry different keys; "
	ip netns exec "$NS_A" ping -q -c 3 -i 0.2 -W 2 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1
	rc=$?
	xs_snap A1 "$NS_A"
	xs_snap B1 "$NS_B"
	local tx=$((${A1_PK[$x]:-0} - ${A0_PK[$x]:-0})) rx=$((${B1_PK[$x]:-0} - ${B0_PK[$x]:-0}))
	local ty=$((${B1_PK[$y]:-0} - ${B0_PK[$y]:-0})) ry=$((${A1_PK[$y]:-0} - ${A0_PK[$y]:-0}))
	local fx=$((${B1_FAIL[$x]:-0} - ${B0_FAIL[$x]:-0})) fy=$((${A1_FAIL[$y]:-0} - ${A0_FAIL[$y]:-0}))
	ESP_SAW="X=$x: tcpiked encrypted $tx, charon decrypted $rx (ICV failures $fx); Y=$y: charon encrypted $ty, tcpiked decrypted $ry (ICV failures $fy)"
	[ $rc = 0 ] || ESP_WHY+="ping unanswered (rc $rc); "
	[ $tx -ge 3 ] && [ $rx -ge 3 ] && [ $ty -ge 3 ] && [ $ry -ge 3 ] &&
		[ $fx = 0 ] && [ $fy = 0 ] || ESP_WHY+="ESP counts short or ICV failures; "
	[ -z "$ESP_WHY" ]
}

# traffic DESC: esp_check as one TAP line
traffic() {
	if esp_check; then
		tap_ok "$1: ESP both ways through the same keys ($ESP_SAW)"
	else
		tap_fail "$1: ESP both ways through the same keys" "$ESP_WHY$ESP_SAW"
		tap_diag "$(swt_state)"
		tap_diag "$(ip -s -n "$NS_A" xfrm state | grep -v -E '^\s+(aead|enc|auth)')"
		swt_logs
	fi
}

# settle DESC: once both daemons agree, both kernels hold exactly the
# states of their Child SA (after a rekey the old ones go with the Delete
# exchange; charon keeps its old inbound state 5 s, and a responder puts
# its new outbound state in after the Delete)
kernels_hold() {
	local want
	swt_agreed || return 1
	want=$(printf '%s\n' $T_CHILD | sort | tr '\n' ' ')
	want=${want% }
	xs_read "$NS_A"
	[ "$XS_SPIS" = "$want" ] || return 1
	xs_read "$NS_B"
	[ "$XS_SPIS" = "$want" ]
}
settle() {
	if swt_wait 30 kernels_hold; then
		tap_ok "$1: each kernel holds exactly the Child SA's two states ($T_CHILD)"
	else
		tap_fail "$1: each kernel holds exactly the Child SA's two states" \
			"tcpiked's netns: $(ip -n "$NS_A" xfrm state | grep -o 'spi 0x[0-9a-f]*' | tr '\n' ' ')charon's: $(ip -n "$NS_B" xfrm state | grep -o 'spi 0x[0-9a-f]*' | tr '\n' ' ')$(swt_state)"
	fi
	swt_agreed
}

# followups WHO: IKE_FOLLOWUP_KE requests charon's log shows, sent by WHO
# (t: parsed by charon, s: generated by charon)
followups() {
	local dir=parsed
	[ "$1" = s ] && dir=generating
	grep -cE "$dir IKE_FOLLOWUP_KE request [0-9]+ \\[ .*KE" "$SW_DIR/s/charon.log"
}

# rekey C child|ike t|s: the named side rekeys; both agree on new SPIs for
# what was rekeyed (the rest kept), charon's log shows one more
# IKE_FOLLOWUP_KE from that side, both kernels hold the new states and not
# the old ones (settle), and ESP flows through them.  Returns 1 when the
# two never agreed (the sequence stops there).
rekey() {
	local c=$1 what=$2 who=$3 side=tcpiked name="Child SA" oc oi nf od
	[ "$who" = s ] && side=charon
	[ "$what" = ike ] && name="IKE SA"
	swt_t_sas
	oc=$T_CHILD oi=$T_IKE
	nf=$(followups "$who")
	od=$(grep -cE 'Child SA net( by the peer)?: 1 additional key exchanges? done' "$IKE_DIR/t.log")
	if [ "$who" = t ]; then
		ike_ctl t rekey c "$what" >/dev/null
	else
		sw_rekey s "$what" >/dev/null
	fi
	changed() {
		swt_agreed || return 1
		case $what in
		child) [ "$T_CHILD" != "$oc" ] && [ "$T_IKE" = "$oi" ] ;;
		ike) [ "$T_IKE" != "$oi" ] && [ "$T_CHILD" = "$oc" ] ;;
		esac
	}
	if ! swt_wait 30 changed; then
		tap_fail "$c: $name rekey by $side with ke1_mlkem768: new SPIs agreed" \
			"before: tcpiked IKE $oi child $oc; now $(swt_state)"
		swt_logs
		return 1
	fi
	tap_ok "$c: $name rekey by $side with ke1_mlkem768: new SPIs agreed"
	swt_t_sas
	tap_diag "$c: before: tcpiked IKE $oi child $oc; after: IKE $T_IKE child $T_CHILD"
	tap_expect_eq "$c: charon's log shows the rekey's IKE_FOLLOWUP_KE request from $side" \
		$((nf + 1)) "$(followups "$who")"
	if [ "$what" = child ]; then
		tap_expect_eq "$c: tcpiked installed the new Child SA after its additional key exchange" \
			$((od + 1)) "$(grep -cE 'Child SA net( by the peer)?: 1 additional key exchanges? done' "$IKE_DIR/t.log")"
	fi
	settle "$c: after the $name rekey by $side"
	traffic "$c: after the $name rekey by $side"
}

# run_seq C t|s STEP...: a fresh pair of daemons, WHO initiates, then the
# rekeys (STEP: child:t child:s ike:t ike:s, what and who starts it)
run_seq() {
	local c=$1 who=$2 step desc
	shift 2
	ip -n "$NS_A" xfrm state flush; ip -n "$NS_A" xfrm policy flush
	ip -n "$NS_B" xfrm state flush; ip -n "$NS_B" xfrm policy flush
	if ! swt_up proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768 \
			esp=aes256gcm16-x25519-ke1_mlkem768 backend=xfrm \
		   -- proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768 \
			esp=aes256gcm16-x25519-ke1_mlkem768 kernel=netlink; then
		tap_fail "$c: charon and tcpiked start" "$(tail -n 5 "$IKE_DIR/t.log")"
		sw_log s 20
		return
	fi
	if [ "$who" = t ]; then
		ike_ctl t initiate c --no-wait >/dev/null
	else
		sw_initiate s >/dev/null
	fi
	desc="$c: X25519 + ke1_mlkem768 established ($([ "$who" = t ] && echo tcpiked || echo charon) initiates)"
	if swt_wait 40 swt_agreed; then
		tap_ok "$desc"
	else
		# the rest would wait for an SA that is not there
		tap_fail "$desc" "$(swt_state)"
		swt_logs
		ike_stop t
		sw_stop s
		return
	fi
	tap_expect_eq "$c: tcpiked's IKE SA names X25519 and ADDKE1 ML-KEM-768" \
		"AES_GCM_16_256/HMAC_SHA2_256/CURVE25519/ADDKE1:ML_KEM_768" \
		"$(ike_jq t "s['ike_sas'][0]['proposal']")"
	swt_s_log_has "$c: the ML-KEM exchange in IKE_INTERMEDIATE" \
		'(parsed|generating) IKE_INTERMEDIATE (request|response) 1 \[ KE \]'
	settle "$c: IKE_AUTH's Child SA"
	traffic "$c: IKE_AUTH's Child SA (keyed from SK_d after the ML-KEM update)"
	for step in "$@"; do
		[ "$step" = control ] && { control "$c"; continue; }
		rekey "$c" "${step%:*}" "${step#*:}" || break
	done
	ike_stop t
	sw_stop s
	tap_diag "$c: done at ${SECONDS}s"
}

# control C: the check must see a key mismatch.  tcpiked's outbound state
# is replaced by one with the same SPI, selectors and reqid and a key with
# its first bit flipped: esp_check must fail, charon's inbound state must
# count ICV failures, the keys must compare different.  The copy's
# sequence numbers start past the original's (else charon's state drops
# them as replays before their ICV is checked).
control() {
	local cs x line key alg icv reqid flip
	swt_agreed
	cs=($T_CHILD)
	x=${cs[1]}
	line=$(ip -n "$NS_A" xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi "0x$x")
	read -r alg key icv <<<"$(sed -nE 's/^\s+aead (\S+) (0x[0-9a-f]+)( \([0-9]+ bits\))? ([0-9]+).*/\1 \2 \4/p' <<<"$line")"
	reqid=$(sed -nE 's/.* reqid ([0-9]+) .*/\1/p' <<<"$line" | head -n 1)
	# the first bit of the AES key (rfc4106's last 32 bits are the salt)
	flip=0x$(printf '%x' $((0x${key:2:1} ^ 8)))${key:3}
	ip -n "$NS_A" xfrm state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi "0x$x"
	if ! ip -n "$NS_A" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi "0x$x" \
		reqid "$reqid" mode tunnel replay-oseq 100000 aead "$alg" "$flip" "$icv"; then
		tap_fail "$1: control: a copy of tcpiked's outbound state with one key bit flipped installed"
		return
	fi
	if esp_check; then
		tap_fail "$1: control: one key bit flipped in tcpiked's outbound state: the check fails" \
			"it passed: $ESP_SAW"
	elif [[ $ESP_WHY == *"the two states of $x carry different keys"* ]] &&
	     [[ $ESP_WHY == *"ping unanswered"* ]] && [[ $ESP_SAW == *"charon decrypted 0 (ICV failures "[1-9]* ]]; then
		tap_ok "$1: control: one key bit flipped in tcpiked's outbound state: the check fails ($ESP_WHY$ESP_SAW)"
	else
		tap_fail "$1: control: one key bit flipped in tcpiked's outbound state: the check fails for that reason" \
			"$ESP_WHY$ESP_SAW"
	fi
}

# Case 1: IKE_AUTH's Child SA; 2: Child SA rekeys by tcpiked; 3: by
# charon; 4: IKE SA rekeys with ADDKE by each side, each followed by a
# Child SA rekey under the new IKE SA's SK_d.  Both sides as the original
# initiator; the control at the end of the first.
run_seq tcpiked-init t child:t child:s ike:t child:t ike:s child:s control
run_seq charon-init s child:s child:t ike:s child:t ike:t child:s
tap_done
