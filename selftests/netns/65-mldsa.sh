#!/bin/bash
# ML-DSA authentication (FIPS 204, draft-ietf-ipsecme-ikev2-pqc-auth: RFC
# 7427 method 14 with id-ml-dsa-65, pure ML-DSA over the signed octets,
# Identity (5) in SIGNATURE_HASH_ALGORITHMS) over the wire, with
# certificates that are not tcpiked's: an ML-DSA-65 CA, ML-DSA-65 end
# entities for both sides (a.tcpike.test, b.tcpike.test) and another
# ML-DSA-65 CA that signed neither, all made here by openssl 3.5's CLI
# (`openssl req -x509 -newkey ML-DSA-65`).  Debian 12's OpenSSL 3.0 has no
# ML-DSA, so both tcpikeds are built in the Debian 13 root (OpenSSL 3.5,
# scripts/trixie-root.sh) and run from it, as in netns/61.  The peer is
# tcpiked itself: strongSwan 6.1.0 (scripts/strongswan-pq-root.sh) has no
# ML-DSA (no ML_DSA key type in its libstrongswan; its openssl plugin
# refuses these certificates, "unsupported public key algorithm").
#
# Each side authenticates the other with ML-DSA-65 (certificates of about
# 5.5 KB and 3309-byte signatures in IKE_AUTH), in both directions, with
# ML-KEM-768 as RFC 9370's ADDKE1 the second time; a peer whose certificate
# chains to no trusted CA is refused with AUTHENTICATION_FAILED, by each
# side.
#
# TCPIKE_DEBIAN13_ROOT names the root; by default the cached one, which
# scripts/check builds for the netns layer.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/trixie.sh"

require_netns
troot=${TCPIKE_DEBIAN13_ROOT:-$("$TOP/scripts/trixie-root.sh" --print-dir)}
[ -x "$troot/usr/bin/gcc" ] && [ -f "$troot/usr/include/openssl/opensslv.h" ] ||
	tap_skip_all "no Debian 13 root at $troot (scripts/trixie-root.sh)"

# The daemon under test, built in the Debian 13 root (selftests/trixie.sh).
trixie_tcpiked "$troot"

# --- the ML-DSA-65 PKI, by openssl 3.5's CLI -------------------------------------
pki=$IKE_DIR/pki
if ! out=$(trixie_pki "$troot" "$pki" a b 2>&1); then
	tap_fail "openssl 3.5 makes the ML-DSA-65 PKI" "$(tail -n 20 <<<"$out")"
	tap_done
fi
tap_expect_eq "a's certificate: an ML-DSA-65 key, signed with ML-DSA-65" \
	"Public Key Algorithm: ML-DSA-65 Signature Algorithm: ML-DSA-65" \
	"$(grep -oE '(Signature|Public Key) Algorithm: .*' <<<"$out" | sort -u | tr '\n' ' ' | sed 's/ $//')"

topo_pair mldsa$$ || tap_skip_all "cannot build the namespace pair"

A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.tcpike.test rid=fqdn:b.tcpike.test auth=files cert="$pki/a.pem" key="$pki/a.key")
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.tcpike.test rid=fqdn:a.tcpike.test auth=files cert="$pki/b.pem" key="$pki/b.key")

# log_has NAME DESC REGEX: one TAP line, a line of NAME's log matches.
log_has() {
	if grep -qE "$3" "$IKE_DIR/$1.log"; then
		tap_ok "$2"
	else
		tap_fail "$2" "no line of $1's log matches: $3"
		ike_log "$1" 15
	fi
}

# --- ML-DSA-65 each way, a initiating ---------------------------------------------
ike_up cacerts="$pki/ca.pem" -- cacerts="$pki/ca.pem"
expect_established -t 20 "a and b authenticate each other with ML-DSA-65 certificates"
for n in a b; do
	log_has $n "$n signed with ML-DSA-65" 'c\[1\]: our AUTH: ML-DSA-65$'
	log_has $n "$n verified its peer's ML-DSA-65 signature" "c\\[1\\]: the peer's AUTH verifies: ML-DSA-65$"
done
tap_expect_eq "b's peer is a.tcpike.test" "a.tcpike.test" "$(ike_jq b "s['ike_sas'][0]['peer_id']")"
log_has a "a's IKE_AUTH request (certificate and signature, about 9.5 KB) went in RFC 7383 fragments" \
	'sending IKE_AUTH request 1 \[ IDi CERT .*AUTH.* \] .*\([0-9]{4,} bytes in [0-9]+ fragments\)$'

# --- b initiating, X25519 + ML-KEM-768 (RFC 9370 ADDKE1) ------------------------
ike_stop a
ike_stop b
ike_conf a "${A_ARGS[@]}" cacerts="$pki/ca.pem" proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768
ike_conf b "${B_ARGS[@]}" cacerts="$pki/ca.pem" proposals=aes256gcm16-prfsha256-x25519-ke1_mlkem768
ike_start "$NS_A" a
ike_start "$NS_B" b
ike_ctl b initiate c --no-wait >/dev/null
expect_established -t 20 "b initiates with X25519 + ke1_mlkem768: both authenticate with ML-DSA-65" b a
tap_expect_eq "a's IKE SA names X25519 and ADDKE1 ML-KEM-768" \
	"AES_GCM_16_256/HMAC_SHA2_256/CURVE25519/ADDKE1:ML_KEM_768" \
	"$(ike_jq a "s['ike_sas'][0]['proposal']")"
log_has a "a verified b's ML-DSA-65 signature" "c\\[1\\]: the peer's AUTH verifies: ML-DSA-65$"

# --- ML-KEM-1024 alone in IKE_SA_INIT: over TCP, and over UDP with a warning --
# draft-ietf-ipsecme-ikev2-mlkem §3: over a reliable transport (RFC 9329,
# separate transports starting on TCP) any ML-KEM MAY be IKE_SA_INIT's key
# exchange; over UDP ML-KEM-768 and -1024 SHOULD NOT be (RFC 7383 cannot
# fragment IKE_SA_INIT): tcpiked says so on the proposals line at load.
for t in tcp separate-tcp-first; do
	ike_up cacerts="$pki/ca.pem" proposals=aes256gcm16-prfsha384-mlkem1024 "conn_extra=transport = $t" \
		-- cacerts="$pki/ca.pem" proposals=aes256gcm16-prfsha384-mlkem1024
	expect_established -t 20 "ML-KEM-1024 alone in IKE_SA_INIT over $t (a reliable transport: MAY), ML-DSA-65 AUTH"
	tap_expect_eq "$t: a's IKE SA names ML-KEM-1024 alone, IKE over TCP" \
		"AES_GCM_16_256/HMAC_SHA2_384/ML_KEM_1024 tcp" \
		"$(ike1 a proposal) $(ike1 a transport)"
	tap_check "$t: no ML-KEM-over-UDP warning at load" \
		sh -c "! grep 'SHOULD NOT without path MTU' '$IKE_DIR/a.log'"
done
ike_conf a "${A_ARGS[@]}" cacerts="$pki/ca.pem" proposals=aes256gcm16-prfsha384-mlkem1024 "conn_extra=transport = udp"
out=$("$BIN/tcpiked" -t -f "$IKE_DIR/a.conf" 2>&1)
line=$(grep -n 'proposals = aes256gcm16-prfsha384-mlkem1024' "$IKE_DIR/a.conf" | cut -d: -f1)
tap_check "over UDP, ML-KEM-1024 alone in IKE_SA_INIT is warned of at load, on its line ($line): SHOULD NOT" \
	grep -q "a.conf:$line: proposals: mlkem1024 in IKE_SA_INIT over UDP .*SHOULD NOT without path MTU discovery" <<<"$out"

# --- a certificate from another CA: AUTHENTICATION_FAILED, by each side ------
ike_up cacerts="$pki/other-ca.pem" -- cacerts="$pki/ca.pem"
sleep 3
tap_check "a refuses b's ML-DSA certificate from an untrusted CA: neither side keeps an IKE SA" \
	wait_for 10 no_sa a b
log_has a "a says it was the certificate" \
	"c\\[1\\]: IKE_AUTH failed: the responder's certificate is refused: it does not chain to our CAs$"
ike_up cacerts="$pki/ca.pem" -- cacerts="$pki/other-ca.pem"
sleep 3
tap_check "b refuses a's ML-DSA certificate from an untrusted CA: neither side keeps an IKE SA" \
	wait_for 10 no_sa a b
log_has b "b says it was the certificate" "certificate is refused: it does not chain to our CAs$"
log_has a "a got AUTHENTICATION_FAILED" 'AUTHENTICATION_FAILED'

ike_stop a
ike_stop b
tap_done
