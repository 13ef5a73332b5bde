#!/bin/bash
# ML-KEM (draft-ietf-ipsecme-ikev2-mlkem) against an ML-KEM that is not
# tcpiked's: strongSwan 6.1's openssl plugin.  Debian 12's OpenSSL 3.0 has
# no ML-KEM, so tcpiked is built in the Debian 13 root (OpenSSL 3.5,
# scripts/trixie-root.sh) with this tree bind-mounted at /src, into
# build-trixie/, and run from that root; charon runs from a root of its own
# (scripts/strongswan-pq-root.sh: Debian 13's strongSwan 6.0.1 has no
# ML-KEM).  Both run in the namespace pair, charon on kernel-libipsec,
# tcpiked on backend none, as in netns/35; tcpikectl and swanctl are the
# host's.  ML-KEM-768 alone in IKE_SA_INIT (a 1184-byte encapsulation key
# from the initiator, a 1088-byte ciphertext back) in both directions;
# ML-KEM-768 as PFS in CREATE_CHILD_SA and in an IKE SA rekey with tcpiked
# as the responder, which encapsulates; X25519 + ke1_mlkem768 (RFC 9370)
# in IKE_INTERMEDIATE and in IKE SA rekeys by either side, the ML-KEM
# exchange in IKE_FOLLOWUP_KE (charon's log shows it), and so Child SA
# rekeys by either side with aes256gcm16-x25519-ke1_mlkem768 in
# esp_proposals (RFC 9370 2.2.4: X25519 as PFS in CREATE_CHILD_SA, ML-KEM in
# IKE_FOLLOWUP_KE, new SPIs on both sides); ML-KEM-1024 in IKE_SA_INIT (an
# 1.8 KB message, IP-fragmented); and KE data that is no encapsulation key
# answered INVALID_SYNTAX (selftests/ikeprobe.py, case mlkem).
#
# TCPIKE_DEBIAN13_ROOT and TCPIKE_SWPQ_ROOT name the roots; by default the
# cached ones, which scripts/check builds for the netns layer.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
. "$TOP/selftests/trixie.sh"
trap 'sw_cleanup; ike_cleanup' EXIT

require_netns
trixie_pq_roots
[ -e "$sroot/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so" ] ||
	tap_skip_all "no kernel-libipsec in $sroot"
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun for kernel-libipsec"

# The daemon under test, built in the Debian 13 root (selftests/trixie.sh).
trixie_tcpiked "$troot"
sw_chroot "$sroot"
topo_pair mlkem$$ || tap_skip_all "cannot build the namespace pair"

# --- ML-KEM-768 alone in IKE_SA_INIT, tcpiked initiating ----------------------
# ESP with ML-KEM-768 as PFS, for the CREATE_CHILD_SA rekeys below
swt_up proposals=aes256gcm16-prfsha256-mlkem768 esp=aes256gcm16-mlkem768 \
   -- proposals=aes256gcm16-prfsha256-mlkem768 esp=aes256gcm16-mlkem768
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 15 "tcpiked initiates with ML-KEM-768 alone, charon 6.1 agrees" swt_agreed
tap_expect_eq "tcpiked's IKE SA: ML-KEM-768" "AES_GCM_16_256/HMAC_SHA2_256/ML_KEM_768" \
	"$(ike_jq t "s['ike_sas'][0]['proposal']")"
swt_s_log_has "charon selected ML_KEM_768" 'selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ML_KEM_768'

# charon rekeys the Child SA with ML-KEM-768 PFS: tcpiked encapsulates
old=$(swt_t_children)
sw_rekey s child >/dev/null
rekeyed() { swt_agreed && [ "$(swt_t_children)" != "$old" ]; }
swt_expect 15 "charon rekeys the Child SA with ML-KEM-768: tcpiked responds, new SPIs agreed" rekeyed
swt_s_log_has "... its CREATE_CHILD_SA request carried a KE (the PFS), and the response too" \
	'parsed CREATE_CHILD_SA response [0-9]+ \[ SA No KE TSi TSr \]'
# and the IKE SA: the new one's KE too
old=$(swt_t_ike)
sw_rekey s ike >/dev/null
ike_rekeyed() { swt_agreed && [ "$(swt_t_ike)" != "$old" ]; }
swt_expect 15 "charon rekeys the IKE SA with ML-KEM-768: tcpiked responds" ike_rekeyed
# tcpiked rekeys the IKE SA: it sends the key, charon encapsulates
old=$(swt_t_ike)
ike_ctl t rekey c ike >/dev/null
swt_expect 15 "tcpiked rekeys the IKE SA with ML-KEM-768: charon responds" ike_rekeyed

# --- charon initiating ------------------------------------------------------------
swt_up proposals=aes256gcm16-prfsha256-mlkem768 \
   -- proposals=aes256gcm16-prfsha256-mlkem768
sw_initiate s >/dev/null
swt_expect 15 "charon initiates with ML-KEM-768 alone: tcpiked encapsulates, agreed" swt_agreed
tap_expect_eq "tcpiked's IKE SA: ML-KEM-768" "AES_GCM_16_256/HMAC_SHA2_256/ML_KEM_768" \
	"$(ike_jq t "s['ike_sas'][0]['proposal']")"

# --- ML-KEM-1024: an IKE_SA_INIT request past the 1500-byte MTU ----------------
swt_up proposals=aes256gcm16-prfsha384-mlkem1024 \
   -- proposals=aes256gcm16-prfsha384-mlkem1024
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 15 "tcpiked initiates with ML-KEM-1024 (1568-byte key, IP-fragmented), agreed" swt_agreed
sw_stop s

# --- hybrid: X25519 in IKE_SA_INIT, ML-KEM-768 as RFC 9370's ADDKE1 --------------
# one IKE_INTERMEDIATE carries the ML-KEM exchange, the keys are updated
# with its secret (RFC 9370 2.2.2) before IKE_AUTH; both directions
for who in t s; do
	swt_up proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768 \
		esp=aes256gcm16-x25519-ke1_mlkem768 \
	   -- proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768 \
		esp=aes256gcm16-x25519-ke1_mlkem768
	if [ $who = t ]; then
		ike_ctl t initiate c --no-wait >/dev/null
		name="tcpiked initiates"
	else
		sw_initiate s >/dev/null
		name="charon initiates"
	fi
	swt_expect 15 "$name X25519 + ke1_mlkem768 (RFC 9370): charon 6.1 agrees" swt_agreed
	tap_expect_eq "$name: tcpiked's IKE SA names X25519 and ADDKE1 ML-KEM-768" \
		"AES_GCM_16_256/HMAC_SHA2_256/CURVE25519/ADDKE1:ML_KEM_768" \
		"$(ike_jq t "s['ike_sas'][0]['proposal']")"
	swt_s_log_has "$name: charon selected it" \
		'selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519/KE1_ML_KEM_768'
	swt_s_log_has "$name: one IKE_INTERMEDIATE with the ML-KEM exchange" \
		'(parsed|generating) IKE_INTERMEDIATE (request|response) 1 \[ KE \]'
	# RFC 9370 2.2.4: the IKE SA rekeyed with ke1_mlkem768 by the side
	# that made it: X25519 in CREATE_CHILD_SA, ML-KEM-768 in one
	# IKE_FOLLOWUP_KE linked by N(ADDITIONAL_KEY_EXCHANGE)
	old=$(swt_t_ike)
	if [ $who = t ]; then
		ike_ctl t rekey c ike >/dev/null
		dir=parsed
	else
		sw_rekey s ike >/dev/null
		dir=generating
	fi
	swt_expect 15 "$name, then rekeys the IKE SA with ke1_mlkem768: agreed on the new SA" \
		ike_rekeyed
	swt_s_log_has "$name: the rekey's ML-KEM exchange in IKE_FOLLOWUP_KE (2.2.4)" \
		"$dir IKE_FOLLOWUP_KE request [0-9]+ \\[ .*KE"
	tap_check "$name: tcpiked logged the additional key exchange of the rekey" \
		grep -qE "(rekeying the IKE SA|IKE SA rekey by the peer): 1 additional key exchange" \
		"$IKE_DIR/t.log"
	# RFC 9370 2.2.4: the Child SA (IKE_AUTH's, made without either)
	# rekeyed by the same side: X25519 in the CREATE_CHILD_SA, ML-KEM-768
	# in one IKE_FOLLOWUP_KE, the new Child SA installed after it
	old=$(swt_t_children)
	if [ $who = t ]; then
		ike_ctl t rekey c child >/dev/null
	else
		sw_rekey s child >/dev/null
	fi
	swt_expect 15 "$name, then rekeys the Child SA with ke1_mlkem768: new SPIs agreed" \
		rekeyed
	tap_diag "before: tcpiked's Child SPIs $old; after: $(swt_state)"
	# on the new IKE SA (charon's <c|2>; the IKE SA rekey's ran on <c|1>)
	swt_s_log_has "$name: the Child SA rekey's CREATE_CHILD_SA response links an IKE_FOLLOWUP_KE" \
		'<c\|2> (parsed|generating) CREATE_CHILD_SA response [0-9]+ \[ SA No KE (TSi TSr N\(ADD_KE\)|N\(ADD_KE\) TSi TSr) \]'
	swt_s_log_has "$name: the Child SA rekey's ML-KEM exchange in IKE_FOLLOWUP_KE (2.2.4)" \
		"<c\\|2> $dir IKE_FOLLOWUP_KE request [0-9]+ \\[ KE N\\(ADD_KE\\) \\]"
	tap_check "$name: tcpiked logged the Child SA's additional key exchange" \
		grep -qE "(rekeying Child SA net|Child SA net by the peer): 1 additional key exchange" \
		"$IKE_DIR/t.log"
	tap_check "$name: tcpiked installed the new Child SA after it" \
		grep -qE "Child SA net( by the peer)?: 1 additional key exchanges? done" \
		"$IKE_DIR/t.log"
done
sw_stop s

# --- KE data that is no ML-KEM-768 encapsulation key ----------------------------
# tcpiked (t, 10.0.0.1) answers the probe from 10.0.0.2
ike_conf t local=10.0.0.1 remote=10.0.0.2 proposals=aes256gcm16-prfsha256-mlkem768 \
	lid=fqdn:t.tcpike.test rid=fqdn:py.test lts=192.168.1.0/24 rts=192.168.2.0/24
ike_stop t
ike_start "$NS_A" t
out=$(ip netns exec "$NS_B" timeout -s KILL 30 python3 -u "$TOP/selftests/ikeprobe.py" \
	10.0.0.2 10.0.0.1 mlkem 2>&1)
for n in 1183 1185 1184; do
	tap_expect_eq "KE of $n bytes for ML-KEM-768: INVALID_SYNTAX" "mlkem $n notify=7" \
		"$(grep "^mlkem $n " <<<"$out")"
done
swt_t_log_has "tcpiked says why it refused the 1184 bytes" 'ML-KEM encapsulation key rejected'

ike_stop t
tap_done
