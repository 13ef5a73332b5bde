#!/bin/bash
# Two tcpiked (backend none) in two namespaces on one link: IKE_SA_INIT,
# IKE_AUTH with PSK and with certificates (ECDSA one way, RSA with an
# intermediate the other, RFC 7383 fragments at a small fragment size),
# Child SA and IKE SA rekeys started by each side, delete, INVALID_KE
# round trip, NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, traffic selector
# narrowing, cookies, liveness (DPD) against a dead peer.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "ikeb$$" || tap_skip_all "cannot build the namespace pair"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24)

# --- PSK -------------------------------------------------------------------
ike_up lid=fqdn:a.test rid=fqdn:b.test -- lid=fqdn:b.test rid=fqdn:a.test
expect_established "PSK: IKE SA and Child SA established on both sides"
sa=$(child_spis a); sb=$(child_spis b)
tap_check "Child SA SPIs mirror each other" test -n "$sa" -a "$sa" = "$(echo "$sb" | awk -F/ '{print $2"/"$1}')"
tap_expect_eq "peer identity is the responder's FQDN" "b.test" "$(ike_jq a "s['ike_sas'][0]['peer_id']")"
tap_expect_eq "responder chose AES-GCM-256 / SHA-256 / X25519" \
	"AES_GCM_16_256/HMAC_SHA2_256/CURVE25519" "$(ike_jq b "s['ike_sas'][0]['proposal']")"

for who in a b; do
	old=$(child_spis a)
	ike_ctl $who rekey c child >/dev/null
	if wait_for 5 child_new "$old"; then
		tap_ok "Child SA rekey started by $who: new SPIs on both sides, old ones gone"
	else
		tap_fail "Child SA rekey started by $who" "before '$old' after a '$(child_spis a)' b '$(child_spis b)'"
	fi
done
for who in a b; do
	old=$(ike_spis a); oldc=$(child_spis a)
	ike_ctl $who rekey c ike >/dev/null
	if wait_for 5 ike_new "$old" "$oldc"; then
		tap_ok "IKE SA rekey started by $who: new SPIs, Child SA inherited, old SA deleted"
	else
		tap_fail "IKE SA rekey started by $who" "before $old after a '$(ike_spis a)' b '$(ike_spis b)' children '$(child_spis a)' count $(ike_count a)/$(ike_count b)"
	fi
done
old=$(child_spis a)
ike_ctl a rekey c child >/dev/null
tap_check "Child SA rekey over the rekeyed IKE SA" wait_for 5 child_new "$old"
tap_expect_eq "a's rekey counter (2 IKE rekeys)" 2 "$(ike_jq a "s['ike_sas'][0]['rekeys']")"
# The key pair pool (kex_pool = auto): with a second CPU a thread makes
# X25519 pairs ahead; the first was a miss (the group joins), the IKE
# rekeys' pairs came from the pool.
if [ "$(nproc)" -gt 1 ]; then
	tap_expect_eq "key pair pool running, rekeys' key pairs taken from it" "True True" \
		"$(ike_jq a "s['kex_pool']['running']") $(ike_jq a "s['kex_pool']['hits'] >= 1")"
else
	tap_expect_eq "key pair pool off on one CPU" False "$(ike_jq a "s['kex_pool']['running']")"
fi

ike_ctl a terminate c >/dev/null
wait_for 5 no_sa a b
tap_expect_eq "terminate: no IKE SA left on either side" "0 0" "$(ike_count a) $(ike_count b)"

# --- certificates and fragmentation ---------------------------------------
ike_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:rsa.tcpike.test conn_extra="fragment_size = 576" \
   -- auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec.tcpike.test conn_extra="fragment_size = 576"
expect_established "certificates: ECDSA P-256 initiator, RSA responder with an intermediate CA" a
tap_check "RFC 7383: the responder's IKE_AUTH went out in fragments, reassembled by a" \
	test "$(ike_jq b "s['counters']['fragments_sent']")" -gt 1 -a \
	     "$(ike_jq a "s['counters']['fragments_reassembled']")" -ge 1
ike_ctl a rekey c ike >/dev/null
tap_check "certificates: IKE SA rekey" wait_for 5 rekeyed a ike 1

ike_up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:ec384.tcpike.test \
   -- auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec.tcpike.test
wait_for 5 failed_ge a 1 && wait_for 3 no_sa a b
tap_expect_eq "certificate whose identity differs from the configured one: no SA" "0 0" \
	"$(ike_count a) $(ike_count b)"

# --- negotiation failures ---------------------------------------------------
ike_up proposals=aes256gcm16-prfsha256-ecp256-x25519 -- proposals=aes256gcm16-prfsha256-x25519
expect_established "INVALID_KE_PAYLOAD: initiator retried with the responder's group" a
tap_expect_eq "responder sent one INVALID_KE_PAYLOAD" 1 "$(ike_jq b "s['counters']['invalid_ke_sent']")"
tap_expect_eq "group 31 in use" "AES_GCM_16_256/HMAC_SHA2_256/CURVE25519" "$(ike1 a proposal)"

ike_up proposals=aes128gcm16-prfsha256-x25519 -- proposals=aes256-sha256-modp2048
wait_for 5 failed_ge a 1 && wait_for 3 no_sa a b
tap_expect_eq "NO_PROPOSAL_CHOSEN: no SA on either side" "0 0" "$(ike_count a) $(ike_count b)"
tap_check "initiator logged the responder's NO_PROPOSAL_CHOSEN" grep -q "NO_PROPOSAL_CHOSEN" "$IKE_DIR/a.log"

ike_up proposals=aes256-sha256-modp2048 esp=aes256-sha256 -- proposals=aes256-sha256-modp2048 esp=aes256-sha256
expect_established -t 15 "AES-CBC-256 + HMAC-SHA2-256 + MODP-2048 for IKE and ESP" a
tap_expect_eq "ESP suite" "AES_CBC_256/HMAC_SHA2_256_128" "$(ike_jq a "s['ike_sas'][0]['children'][0]['proposal']")"

ike_up psk=one-secret-xxxxxxxxxxxxxxx -- psk=another-secret-yyyyyyyyyyyy
wait_for 5 failed_ge a 1 && wait_for 3 no_sa a b
tap_expect_eq "wrong PSK: AUTHENTICATION_FAILED, no SA on either side" "0 0" "$(ike_count a) $(ike_count b)"
tap_check "responder logged which part failed and why" \
	grep -q "IKE_AUTH failed: the initiator's AUTH is refused: it does not match our shared secret" "$IKE_DIR/b.log"

# --- narrowing, transport mode, cookies ---------------------------------------
ike_up lts=192.168.1.0/24 rts=192.168.0.0/16 -- lts=192.168.2.0/24 rts=192.168.1.0/24
wait_for 10 ike_established a
tap_expect_eq "responder narrowed TSr 192.168.0.0/16 to its 192.168.2.0/24" \
	"192.168.2.0-192.168.2.255" "$(ike_jq a "s['ike_sas'][0]['children'][0]['remote_ts']")"

ike_up lts=10.0.0.1/32 rts=10.0.0.2/32 mode=transport -- lts=10.0.0.2/32 rts=10.0.0.1/32 mode=transport
wait_for 10 ike_established a
tap_expect_eq "transport mode negotiated (USE_TRANSPORT_MODE)" "transport transport" \
	"$(ike_jq a "s['ike_sas'][0]['children'][0]['mode']") $(ike_jq b "s['ike_sas'][0]['children'][0]['mode']")"

ike_up -- daemon_extra="cookie_threshold = 0"
expect_established "cookies: the initiator answered the COOKIE and got its SA" a
tap_expect_eq "responder: one cookie sent, one valid cookie back" "1 1" \
	"$(ike_jq b "s['counters']['cookies_sent']") $(ike_jq b "s['counters']['cookies_ok']")"

# --- liveness ------------------------------------------------------------------
ike_up conn_extra="dpd_delay = 1s;dpd_timeout = 4s;retransmit_base = 250ms;retransmit_tries = 3" --
wait_for 10 ike_established a
kill -9 "${IKE_PID[b]}"; wait "${IKE_PID[b]}" 2>/dev/null; unset "IKE_PID[b]"
if wait_for 15 no_sa a; then
	tap_ok "DPD: a dead peer's IKE SA is removed"
else
	tap_fail "DPD: a dead peer's IKE SA is removed" "$(ike_ctl a status)"
fi
tap_expect_eq "DPD failure counted" 1 "$(ike_jq a "s['counters']['dpd_dead']")"

ike_stop a
tap_done
