#!/bin/bash
# A gateway that stays up against strongSwan 5.9.8 (charon, kernel-libipsec;
# tcpiked backend none): each case ends with a working Child SA on both
# sides, or with the expected clean failure, checked on both sides' status
# and by what charon logged it sent or received.
#
#   - a peer restarts and comes back with INITIAL_CONTACT (RFC 7296 §2.4):
#     charon killed and restarted (tcpiked responds), tcpiked killed and
#     restarted (charon responds)
#   - charon, as initiator, refuses tcpiked's certificate and says so in an
#     INFORMATIONAL with AUTHENTICATION_FAILED (§2.21.2): tcpiked deletes
#     its IKE SA and Child SA at once
#   - tcpiked, as initiator, refuses charon's certificate, then charon's
#     AUTH: it logs which one and sends AUTHENTICATION_FAILED, which charon
#     acts on
#   - RSASSA-PSS (RFC 8247 §3.2, RFC 7427): charon requiring it
#     (ike:rsa/pss-sha256) from tcpiked's RSA key, rsa_pss = no refused by
#     it, charon signing with it, and an RSA-PSS-only key
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swgw

replaced() { swt_agreed && [ "$(swt_t_ike)" != "$old" ]; }

# --- INITIAL_CONTACT ----------------------------------------------------------
swt_up
sw_initiate s >/dev/null
swt_wait 10 swt_agreed
old=$(swt_t_ike)
sw_kill s
sw_start "$NS_B" s
sw_initiate s >/dev/null
swt_expect 15 "charon restarted, back with INITIAL_CONTACT: tcpiked replaced the old IKE SA, the new one has its Child SA" \
	replaced
swt_s_log_has "charon's IKE_AUTH request carried INITIAL_CONTACT" \
	'generating IKE_AUTH request 1 \[ .*N\(INIT_CONTACT\)'
swt_t_log_has "tcpiked logged the INITIAL_CONTACT and the old SA going" \
	'c\[1\]: INITIAL_CONTACT from s\.tcpike\.test$'
swt_t_log_has "... and why" 'c\[1\]: IKE SA deleted: replaced after INITIAL_CONTACT$'
tap_expect_eq "no Child SA failed on tcpiked" 0 "$(ike_jq t "s['counters']['child_failed']")"

# tcpiked crashes; charon responds
swt_up
ike_ctl t initiate c --no-wait >/dev/null
swt_wait 10 swt_agreed
old=$(swt_t_ike)
ike_kill t
ike_start "$NS_A" t
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 15 "tcpiked restarted, back with INITIAL_CONTACT: charon replaced the old IKE SA, one Child SA each" \
	replaced
swt_s_log_has "charon received INITIAL_CONTACT in tcpiked's IKE_AUTH" \
	'parsed IKE_AUTH request 1 \[ .*N\(INIT_CONTACT\)'

# --- AUTHENTICATION_FAILED in an INFORMATIONAL from charon --------------------
# charon trusts another CA than the one that signed tcpiked's certificate.
swt_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:ec384.tcpike.test \
	-- auth=ecdsa lid=ec384.tcpike.test rid=ec.tcpike.test cacert=other-ca.pem
sw_initiate s >/dev/null
swt_s_log_has "charon refused tcpiked's certificate and sent AUTHENTICATION_FAILED" \
	'generating INFORMATIONAL request 2 \[ N\(AUTH_FAILED\) \]'
swt_expect 3 "tcpiked deleted its IKE SA and Child SA at once (not at its DPD)" swt_none
swt_t_log_has "tcpiked logged why" \
	'c\[1\]: the peer refused our authentication \(AUTHENTICATION_FAILED after IKE_AUTH\)$'
swt_t_log_has "... and deleted the SA for it" 'c\[1\]: IKE SA deleted: the peer refused our authentication$'
tap_expect_eq "tcpiked counted it as a failed IKE SA" 1 "$(ike_jq t "s['counters']['ike_failed']")"

# --- tcpiked as initiator refuses the responder -------------------------------
swt_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:ec384.tcpike.test cacerts=other-ca.pem \
	-- auth=ecdsa lid=ec384.tcpike.test rid=ec.tcpike.test
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 5 "tcpiked refused charon's certificate: neither side keeps an IKE SA" swt_none
swt_t_log_has "tcpiked says it was the certificate" \
	"c\\[1\\]: IKE_AUTH failed: the responder's certificate is refused: it does not chain to our CAs$"
swt_s_log_has "charon received AUTHENTICATION_FAILED in an INFORMATIONAL" \
	'parsed INFORMATIONAL request 2 \[ N\(AUTH_FAILED\) \]'
# (charon 5.9.8 handles the notify as a Delete of the IKE SA)
swt_s_log_has "... and deleted its IKE SA at once" 'received DELETE for IKE_SA c\[1\]$'

# charon authenticates with a signature where tcpiked expects a shared key
swt_up -- lauth=pubkey
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 5 "tcpiked refused charon's AUTH: neither side keeps an IKE SA" swt_none
swt_t_log_has "tcpiked says it was the AUTH, and why" \
	"c\\[1\\]: IKE_AUTH failed: the responder's AUTH is refused: it uses method 10 \\(ECDSA signature\\) where a shared key is expected$"
swt_s_log_has "charon received AUTHENTICATION_FAILED" 'parsed INFORMATIONAL request 2 \[ N\(AUTH_FAILED\) \]'

# --- RSASSA-PSS -----------------------------------------------------------------
swt_up auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec384.tcpike.test \
	-- auth=ecdsa lid=ec384.tcpike.test rid=rsa.tcpike.test rauth=ike:rsa/pss-sha256
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 10 "charon requires RSASSA-PSS (ike:rsa/pss-sha256): tcpiked's RSA key signs with it by default" \
	swt_agreed
swt_s_log_has "charon verified an RSASSA-PSS SHA-256 signature" \
	"authentication of 'rsa.tcpike.test' with RSA_EMSA_PSS_SHA2_256_SALT_32 successful"
swt_t_log_has "tcpiked logged the scheme it signed with" 'c\[1\]: our AUTH: RSASSA-PSS with SHA2-256$'

swt_up auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec384.tcpike.test conn_extra="rsa_pss = no" \
	-- auth=ecdsa lid=ec384.tcpike.test rid=rsa.tcpike.test rauth=ike:rsa/pss-sha256
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 5 "rsa_pss = no: PKCS#1 v1.5, which charon refuses; a clean failure on both sides" swt_none
swt_t_log_has "tcpiked logged the scheme it signed with" \
	'c\[1\]: our AUTH: RSASSA-PKCS1-v1_5 with SHA2-256$'
swt_t_log_has "... and that charon refused it" 'c\[1\]: IKE_AUTH refused: AUTHENTICATION_FAILED$'
swt_s_log_has "charon refused it for the scheme" \
	'signature scheme RSA_EMSA_PKCS1_SHA2_256 not acceptable'

# charon signs with RSASSA-PSS, tcpiked verifies
swt_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:rsa.tcpike.test \
	-- auth=rsa lid=rsa.tcpike.test rid=ec.tcpike.test lauth=rsa/pss-sha256
sw_initiate s >/dev/null
swt_expect 10 "charon signs with RSASSA-PSS: tcpiked verifies it" swt_agreed
swt_s_log_has "charon signed with RSASSA-PSS SHA-256" \
	"authentication of 'rsa.tcpike.test' \\(myself\\) with RSA_EMSA_PSS_SHA2_256_SALT_32 successful"
swt_t_log_has "tcpiked logged the scheme it verified" \
	"c\\[1\\]: the peer's AUTH verifies: RSASSA-PSS with SHA2-256$"

# an RSASSA-PSS-only key
swt_up auth=rsapss lid=fqdn:rsapss.tcpike.test rid=fqdn:ec384.tcpike.test \
	-- auth=ecdsa lid=ec384.tcpike.test rid=rsapss.tcpike.test
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 10 "an RSA-PSS-only key: signed with PSS and labelled so; charon verifies" swt_agreed
swt_s_log_has "charon verified it as RSASSA-PSS" \
	"authentication of 'rsapss.tcpike.test' with RSA_EMSA_PSS_SHA2_256_SALT_32 successful"

ike_stop t
sw_stop s
tap_done
