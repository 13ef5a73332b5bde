#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Regenerates the test PKI used by userspace/tests/test_crypto_auth.c.
# The generated files are committed, so the tests need no generation step.
#
#   ca       EC P-256 root CA "tcpike test CA"
#   inter    intermediate CA (RSA 2048) signed by ca
#   other-ca an unrelated root CA (wrong-CA test)
#   rsa      RSA 2048 end entity signed by inter
#            SAN DNS:rsa.tcpike.test, IP:192.0.2.1, email:rsa@tcpike.test
#   ec256    P-256 end entity signed by ca, SAN DNS:ec.tcpike.test, IP:2001:db8::1
#   ec384    P-384 end entity signed by ca, SAN DNS:ec384.tcpike.test
#   rsapss   RSASSA-PSS-only key (OpenSSL type RSA-PSS, SPKI id-RSASSA-PSS),
#            2048 bits, signed by ca, SAN DNS:rsapss.tcpike.test
#   short    P-256 end entity signed by ca, valid 1 day (expiry test checks
#            it at a time after notAfter)
#   ca.spki-sha1  SHA-1 of ca's SubjectPublicKeyInfo (CERTREQ), hex
#   mldsa-ca ML-DSA-65 root CA "tcpike ML-DSA test CA" (FIPS 204)
#   mldsa65  ML-DSA-65 end entity signed by mldsa-ca, SAN DNS:mldsa.tcpike.test
#            (these two only where openssl has ML-DSA, 3.5 or later: Debian
#            12's 3.0 leaves them as they are; `scripts/trixie-run sh
#            userspace/tests/data/mkcerts.sh --mldsa` makes just them)
# Git stores keys 0644; tests copy them to 0600 files before loading.
set -eu
cd "$(dirname "$0")"
umask 077
days=36500

key() {
	case $2 in
	ML-DSA-*) openssl genpkey -algorithm "$2" -out "$1.key" ;;
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" ;;
	rsa-pss) openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1.key" ;;
	*) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$2" -out "$1.key" ;;
	esac
}

ext() {	# name san [ca]
	if [ "${3:-}" = ca ]; then
		printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n'
	else
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=%s\n' "$2"
	fi > "$1.ext"
}

sign() {	# name subject issuer days san [ca]
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
	ext "$1" "$5" "${6:-}"
	# (-sha256 is ignored for ML-DSA issuers: pure ML-DSA has no digest)
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
		-CAcreateserial -days "$4" -sha256 -extfile "$1.ext" -out "$1.pem"
	rm -f "$1.csr" "$1.ext"
}

root() {	# name subject
	openssl req -x509 -new -key "$1.key" -subj "$2" -days $days -sha256 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}

mldsa() {
	openssl list -signature-algorithms | grep -q ML-DSA-65 || return 0
	key mldsa-ca ML-DSA-65;	root mldsa-ca "/O=tcpike/CN=tcpike ML-DSA test CA"
	key mldsa65 ML-DSA-65;	sign mldsa65 "/O=tcpike/CN=mldsa.tcpike.test" mldsa-ca $days \
				"DNS:mldsa.tcpike.test"
	rm -f ./*.srl
	chmod 644 mldsa-ca.pem mldsa65.pem
}
if [ "${1:-}" = --mldsa ]; then
	mldsa
	exit 0
fi

key ca P-256;		root ca "/O=tcpike/CN=tcpike test CA"
key other-ca P-256;	root other-ca "/O=elsewhere/CN=other CA"
key inter rsa;		sign inter "/O=tcpike/CN=tcpike intermediate" ca $days "" ca
key rsa rsa;		sign rsa "/O=tcpike/CN=rsa.tcpike.test" inter $days \
			"DNS:rsa.tcpike.test,IP:192.0.2.1,email:rsa@tcpike.test"
key ec256 P-256;	sign ec256 "/O=tcpike/CN=ec.tcpike.test" ca $days \
			"DNS:ec.tcpike.test,IP:2001:db8::1"
key ec384 P-384;	sign ec384 "/O=tcpike/CN=ec384.tcpike.test" ca $days \
			"DNS:ec384.tcpike.test"
key rsapss rsa-pss;	sign rsapss "/O=tcpike/CN=rsapss.tcpike.test" ca $days \
			"DNS:rsapss.tcpike.test"
key short P-256;	sign short "/O=tcpike/CN=short.tcpike.test" ca 1 \
			"DNS:short.tcpike.test"
# CERTREQ expectation from the CLI (independent of tcpike's code).
openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform DER |
	sha1sum | cut -d' ' -f1 > ca.spki-sha1
mldsa
rm -f ./*.srl
chmod 644 ./*.pem ca.spki-sha1
