#!/bin/bash
# Two tcpiked (backend none) in two namespaces on one link: IKE_SA_INIT,
# IKE_AUTH with PSK and with certificates (ECDSA one way, RSA with an
# intermediate the other, RFC 7383 fragments at a small fragment size),
# Child SA and IKE SA rekeys started by each side, delete, INVALID_KE
# round trip, NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, traffic selector
# narrowing, cookies, liveness (DPD) against a dead peer.
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
. "$TOP/selftests/ike.sh"
topo_pair "ikeb$$" || tap_skip_all "cannot build the namespace pair"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24)
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24)

# up A_CONF_ARGS... -- B_CONF_ARGS...: (re)start both daemons, a initiates
up() {
	local a=() b=() x side=a
	for x in "$@"; do
		[ "$x" = -- ] && { side=b; continue; }
		[ $side = a ] && a+=("$x") || b+=("$x")
	done
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf a "${A_ARGS[@]}" "${a[@]}"
	ike_conf b "${B_ARGS[@]}" "${b[@]}"
	ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c >/dev/null
}

spis() { ike_jq "$1" "' '.join(c['spi_in']+'/'+c['spi_out'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
ikespi() { ike_jq "$1" "' '.join(i['spi_i']+'/'+i['spi_r'] for i in s['ike_sas'] if i['state']=='ESTABLISHED')"; }

# --- PSK -------------------------------------------------------------------
up lid=fqdn:a.test rid=fqdn:b.test -- lid=fqdn:b.test rid=fqdn:a.test
if wait_for 10 ike_established a && wait_for 5 ike_established b; then
	tap_ok "PSK: IKE SA and Child SA established on both sides"
else
	tap_fail "PSK: IKE SA and Child SA established on both sides"
	ike_log a; ike_log b
fi
sa=$(spis a); sb=$(spis b)
tap_check "Child SA SPIs mirror each other" test -n "$sa" -a "$sa" = "$(echo "$sb" | awk -F/ '{print $2"/"$1}')"
tap_expect_eq "peer identity is the responder's FQDN" "b.test" "$(ike_jq a "s['ike_sas'][0]['peer_id']")"
tap_expect_eq "responder chose AES-GCM-256 / SHA-256 / X25519" \
	"AES_GCM_16_256/HMAC_SHA2_256/CURVE25519" "$(ike_jq b "s['ike_sas'][0]['proposal']")"

for who in a b; do
	old=$(spis a)
	ike_ctl $who rekey c child >/dev/null
	sleep 1
	new=$(spis a)
	if [ -n "$new" ] && [ "$new" != "$old" ] && [ "$(echo "$new" | wc -w)" = 1 ] &&
	   [ "$(spis b | awk -F/ '{print $2"/"$1}')" = "$new" ]; then
		tap_ok "Child SA rekey started by $who: new SPIs on both sides, old ones gone"
	else
		tap_fail "Child SA rekey started by $who" "before '$old' after a '$new' b '$(spis b)'"
	fi
done
for who in a b; do
	old=$(ikespi a); oldc=$(spis a)
	ike_ctl $who rekey c ike >/dev/null
	sleep 1
	new=$(ikespi a)
	if [ -n "$new" ] && [ "$new" != "$old" ] && [ "$(ikespi b)" = "$new" ] &&
	   [ "$(spis a)" = "$oldc" ] && [ "$(ike_count a)" = 1 ] && [ "$(ike_count b)" = 1 ]; then
		tap_ok "IKE SA rekey started by $who: new SPIs, Child SA inherited, old SA deleted"
	else
		tap_fail "IKE SA rekey started by $who" "before $old after a '$new' b '$(ikespi b)' children '$(spis a)' count $(ike_count a)/$(ike_count b)"
	fi
done
old=$(spis a)
ike_ctl a rekey c child >/dev/null
sleep 1
tap_check "Child SA rekey over the rekeyed IKE SA" test -n "$(spis a)" -a "$(spis a)" != "$old"
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
sleep 1
tap_expect_eq "terminate: no IKE SA left on either side" "0 0" "$(ike_count a) $(ike_count b)"

# --- certificates and fragmentation ---------------------------------------
up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:rsa.tcpike.test conn_extra="fragment_size = 576" \
   -- auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec.tcpike.test conn_extra="fragment_size = 576"
if wait_for 10 ike_established a; then
	tap_ok "certificates: ECDSA P-256 initiator, RSA responder with an intermediate CA"
else
	tap_fail "certificates: ECDSA P-256 initiator, RSA responder with an intermediate CA"
	ike_log a; ike_log b
fi
tap_check "RFC 7383: the responder's IKE_AUTH went out in fragments, reassembled by a" \
	test "$(ike_jq b "s['counters']['fragments_sent']")" -gt 1 -a \
	     "$(ike_jq a "s['counters']['fragments_reassembled']")" -ge 1
ike_ctl a rekey c ike >/dev/null
sleep 1
tap_check "certificates: IKE SA rekey" test "$(ike_jq a "s['ike_sas'][0]['rekeys']")" = 1

up auth=ecdsa lid=fqdn:ec.tcpike.test rid=fqdn:ec384.tcpike.test \
   -- auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec.tcpike.test
sleep 2
tap_expect_eq "certificate whose identity differs from the configured one: no SA" "0 0" \
	"$(ike_count a) $(ike_count b)"

# --- negotiation failures ---------------------------------------------------
up proposals=aes256gcm16-prfsha256-ecp256-x25519 -- proposals=aes256gcm16-prfsha256-x25519
if wait_for 10 ike_established a; then
	tap_ok "INVALID_KE_PAYLOAD: initiator retried with the responder's group"
else
	tap_fail "INVALID_KE_PAYLOAD: initiator retried with the responder's group"; ike_log a
fi
tap_expect_eq "responder sent one INVALID_KE_PAYLOAD" 1 "$(ike_jq b "s['counters']['invalid_ke_sent']")"
tap_check "group 31 in use" sh -c "$BIN/tcpikectl -s $IKE_DIR/a.sock status | grep -q CURVE25519"

up proposals=aes128gcm16-prfsha256-x25519 -- proposals=aes256-sha256-modp2048
sleep 2
tap_expect_eq "NO_PROPOSAL_CHOSEN: no SA on either side" "0 0" "$(ike_count a) $(ike_count b)"
tap_check "initiator logged the responder's NO_PROPOSAL_CHOSEN" grep -q "NO_PROPOSAL_CHOSEN" "$IKE_DIR/a.log"

up proposals=aes256-sha256-modp2048 esp=aes256-sha256 -- proposals=aes256-sha256-modp2048 esp=aes256-sha256
if wait_for 15 ike_established a; then
	tap_ok "AES-CBC-256 + HMAC-SHA2-256 + MODP-2048 for IKE and ESP"
else
	tap_fail "AES-CBC-256 + HMAC-SHA2-256 + MODP-2048 for IKE and ESP"; ike_log a
fi
tap_expect_eq "ESP suite" "AES_CBC_256/HMAC_SHA2_256_128" "$(ike_jq a "s['ike_sas'][0]['children'][0]['proposal']")"

up psk=one-secret-xxxxxxxxxxxxxxx -- psk=another-secret-yyyyyyyyyyyy
sleep 2
tap_expect_eq "wrong PSK: AUTHENTICATION_FAILED, no SA on either side" "0 0" "$(ike_count a) $(ike_count b)"
tap_check "responder logged the failed AUTH" grep -q "AUTH does not verify" "$IKE_DIR/b.log"

# --- narrowing, transport mode, cookies ---------------------------------------
up lts=192.168.1.0/24 rts=192.168.0.0/16 -- lts=192.168.2.0/24 rts=192.168.1.0/24
wait_for 10 ike_established a
tap_expect_eq "responder narrowed TSr 192.168.0.0/16 to its 192.168.2.0/24" \
	"192.168.2.0-192.168.2.255" "$(ike_jq a "s['ike_sas'][0]['children'][0]['remote_ts']")"

up lts=10.0.0.1/32 rts=10.0.0.2/32 mode=transport -- lts=10.0.0.2/32 rts=10.0.0.1/32 mode=transport
wait_for 10 ike_established a
tap_expect_eq "transport mode negotiated (USE_TRANSPORT_MODE)" "transport transport" \
	"$(ike_jq a "s['ike_sas'][0]['children'][0]['mode']") $(ike_jq b "s['ike_sas'][0]['children'][0]['mode']")"

up -- daemon_extra="cookie_threshold = 0"
if wait_for 10 ike_established a; then
	tap_ok "cookies: the initiator answered the COOKIE and got its SA"
else
	tap_fail "cookies: the initiator answered the COOKIE and got its SA"; ike_log a; ike_log b
fi
tap_expect_eq "responder: one cookie sent, one valid cookie back" "1 1" \
	"$(ike_jq b "s['counters']['cookies_sent']") $(ike_jq b "s['counters']['cookies_ok']")"

# --- liveness ------------------------------------------------------------------
up conn_extra="dpd_delay = 1s;dpd_timeout = 4s;retransmit_base = 250ms;retransmit_tries = 3" --
wait_for 10 ike_established a
kill -9 "${IKE_PID[b]}"; wait "${IKE_PID[b]}" 2>/dev/null; unset "IKE_PID[b]"
no_sa() { [ "$(ike_count "$1")" = 0 ]; }
if wait_for 15 no_sa a; then
	tap_ok "DPD: a dead peer's IKE SA is removed"
else
	tap_fail "DPD: a dead peer's IKE SA is removed" "$(ike_ctl a status)"
fi
tap_expect_eq "DPD failure counted" 1 "$(ike_jq a "s['counters']['dpd_dead']")"

ike_stop a
tap_done
