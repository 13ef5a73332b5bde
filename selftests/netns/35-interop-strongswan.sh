#!/bin/bash
# strongSwan 5.9.8 against tcpiked (backend none) on the host, for the
# control plane: charon runs with kernel-libipsec (userspace ESP; the host
# kernel has no ESP), which in 5.9.8 always encapsulates ESP in UDP, so
# both sides also go through the NAT-T float to 4500.  INVALID_KE_PAYLOAD
# in both directions, charon's reauthentication (a new IKE SA replacing the
# old one), liveness checks from charon, and tcpiked's IKE_AUTH in RFC 7383
# fragments (RSA with an intermediate) reassembled by charon.  ESP itself
# is tested against charon in the VM (selftests/vm/40).  In the first
# three rounds the accepted IKE or ESP proposal is also the second one
# offered, so the reply's SA payload carries proposal number 2 (RFC 7296
# §3.3.1).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swcp

# --- INVALID_KE_PAYLOAD -----------------------------------------------------
# tcpiked also offers two ESP proposals, charon takes the second: its
# IKE_AUTH response numbers it 2, which tcpiked refused before f7b9b4f
swt_up proposals=aes256gcm16-prfsha256-x25519-ecp256 "esp=aes128gcm16, aes256gcm16" \
   -- proposals=aes256gcm16-prfsha256-ecp256 esp=aes256gcm16
ike_ctl t initiate c --no-wait >/dev/null
if swt_wait 10 swt_agreed; then
	tap_ok "tcpiked initiates with X25519, charon wants ECP-256: INVALID_KE and retry"
else
	tap_fail "tcpiked initiates with X25519, charon wants ECP-256" "$(ike_ctl t status)"; swt_logs
fi
tap_expect_eq "group in use" "AES_GCM_16_256/HMAC_SHA2_256/ECP_256" "$(ike_jq t "s['ike_sas'][0]['proposal']")"
tap_expect_eq "tcpiked offered ESP AES-GCM-128 then AES-GCM-256, charon took the second: in use" \
	"AES_GCM_16_256" "$(ike_jq t "s['ike_sas'][0]['children'][0]['proposal']")"

# charon offers two IKE and two ESP proposals, tcpiked accepts the second
# of each
swt_up proposals=aes256gcm16-prfsha256-ecp256 esp=aes256gcm16 \
   -- "proposals=aes128gcm16-prfsha256-x25519-ecp256, aes256gcm16-prfsha256-x25519-ecp256" \
      "esp=aes128gcm16, aes256gcm16"
sw_initiate s >/dev/null
if swt_wait 10 swt_agreed; then
	tap_ok "charon initiates with X25519, tcpiked wants ECP-256: INVALID_KE and retry"
else
	tap_fail "charon initiates with X25519, tcpiked wants ECP-256" "$(ike_ctl t status)"; swt_logs
fi
tap_expect_eq "tcpiked sent one INVALID_KE_PAYLOAD" 1 "$(ike_jq t "s['counters']['invalid_ke_sent']")"
tap_expect_eq "charon offered IKE AES-GCM-128 then AES-GCM-256, tcpiked took the second: in use" \
	"AES_GCM_16_256/HMAC_SHA2_256/ECP_256 AES_GCM_16_256" \
	"$(ike_jq t "s['ike_sas'][0]['proposal'] + ' ' + s['ike_sas'][0]['children'][0]['proposal']")"
swt_s_log_has "... and charon's log: it selected that suite (only in its second proposal)" \
	'selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256'

# --- reauthentication, DPD ----------------------------------------------------
# tcpiked offers two IKE proposals differing in cipher and PRF, charon
# accepts the second: its IKE_SA_INIT response numbers it 2, which tcpiked
# refused before f7b9b4f
swt_up "proposals=aes128gcm16-prfsha256-x25519, aes256gcm16-prfsha384-x25519" \
   -- proposals=aes256gcm16-prfsha384-x25519 conn_extra="dpd_delay = 1s"
ike_ctl t initiate c --no-wait >/dev/null
swt_wait 10 swt_agreed
tap_expect_eq "tcpiked offered IKE AES-GCM-128/SHA-256 then AES-GCM-256/SHA-384, charon took the second: in use" \
	"AES_GCM_16_256/HMAC_SHA2_384/CURVE25519" "$(ike_jq t "s['ike_sas'][0]['proposal']")"
old_ike=$(swt_t_ike) old_child=$(swt_t_children)
sw_ctl s --rekey --ike c --reauth >/dev/null
reauthed() { swt_agreed && [ "$(swt_t_ike)" != "$old_ike" ] && [ "$(swt_t_children)" != "$old_child" ]; }
if swt_wait 10 reauthed; then
	tap_ok "charon reauthenticates: tcpiked ends with the new IKE SA and Child SA only"
else
	tap_fail "charon reauthenticates" "IKE '$old_ike' -> '$(swt_t_ike)', child '$old_child' -> '$(swt_t_children)', $(ike_count t) IKE SAs"
	swt_logs
fi
in0=$(ike_jq t "s['ike_sas'][0]['msgid_in']")
sleep 3
in1=$(ike_jq t "s['ike_sas'][0]['msgid_in']")
if [ -n "$in0" ] && [ "$in0" != None ] && [ $((in1 - in0)) -ge 2 ] && swt_agreed; then
	tap_ok "charon's liveness checks (dpd_delay 1s) answered: message IDs $in0 -> $in1, SA kept"
else
	tap_fail "charon's liveness checks answered" "msgid_in $in0 -> $in1"; swt_logs
fi

# --- fragmentation ------------------------------------------------------------
swt_up auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec384.tcpike.test conn_extra="fragment_size = 576" \
   -- auth=ecdsa lid=ec384.tcpike.test rid=rsa.tcpike.test
ike_ctl t initiate c --no-wait >/dev/null
if swt_wait 10 swt_agreed; then
	tap_ok "RSA chain from tcpiked in RFC 7383 fragments, ECDSA P-384 from charon"
else
	tap_fail "RSA chain from tcpiked in RFC 7383 fragments" "$(ike_ctl t status)"; swt_logs
fi
tap_check "tcpiked sent IKE_AUTH in more than one fragment" \
	test "$(ike_jq t "s['counters']['fragments_sent']")" -gt 1
tap_check "charon reassembled them" grep -q "received fragment #" "$SW_DIR/s/charon.log"

ike_stop t
sw_stop s
tap_done
