// SPDX-License-Identifier: GPL-2.0
/*
 * IKEv2 authentication crypto: signed octets, PSK, RFC 7427 signatures
 * (RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-256/P-384), RFC 4754 ECDSA, key file
 * permissions, certificate chains and identities, CERTREQ hashes, ML-DSA
 * (FIPS 204, draft-ietf-ipsecme-ikev2-pqc-auth) where OpenSSL has it and
 * its refusal where it has not.  The PKI
 * is userspace/tests/data (regenerate with data/mkcerts.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <time.h>

#include <openssl/asn1.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "kselftest_harness.h"

static char datadir[512];

/* The data directory next to this source file (tests run from the top). */
static const char *data(const char *name)
{
	static char path[1024];

	if (!datadir[0]) {
		const char *env = getenv("TCPIKE_TEST_DATA");
		const char *slash = strrchr(__FILE__, '/');

		if (env)
			snprintf(datadir, sizeof(datadir), "%s", env);
		else
			snprintf(datadir, sizeof(datadir), "%.*s/data",
				 (int)(slash ? slash - __FILE__ : 1),
				 slash ? __FILE__ : ".");
	}
	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	return path;
}

/* Git checks files out 0644: copy a key to a private 0600 file. */
static EVP_PKEY *load_key_why(const char *name, mode_t mode, struct cred_err *why)
{
	char tmp[] = "/tmp/tcpike-key-XXXXXX", buf[4096];
	EVP_PKEY *k;
	ssize_t n;
	int in, out;

	in = open(data(name), O_RDONLY);
	out = mkstemp(tmp);
	if (in < 0 || out < 0)
		return NULL;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	fchmod(out, mode);
	close(in);
	close(out);
	k = crypto_load_privkey(tmp, why);
	unlink(tmp);
	return k;
}

static EVP_PKEY *load_key(const char *name, mode_t mode)
{
	return load_key_why(name, mode, NULL);
}

/* Whether this OpenSSL has ML-DSA, asked of OpenSSL, not of crypto_auth.c. */
static bool openssl_has_mldsa(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "ML-DSA-65", NULL);
	bool ok = c && EVP_PKEY_keygen_init(c) > 0;

	EVP_PKEY_CTX_free(c);
	return ok;
}

/* draft-ietf-ipsecme-ikev2-pqc-auth: id-ml-dsa-65 with parameters absent,
 * behind the AUTH data's length byte. */
static const uint8_t mldsa65_auth_head[] = {
	0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	0x04, 0x03, 0x12 };

static const uint8_t octets[] = "RealMessage1 | NonceRData | MACedIDForI";

static void sign_verify(struct __test_metadata *_metadata, EVP_PKEY *key,
			EVP_PKEY *pub, EVP_PKEY *wrong, uint8_t method,
			enum crypto_sig_scheme s, size_t algid_len)
{
	struct buf auth = BUF_INIT;
	size_t i;

	ASSERT_EQ(0, crypto_auth_sign(key, method, s, octets, sizeof(octets), &auth));
	if (method == CRYPTO_AUTH_DIGITAL_SIGNATURE) {
		ASSERT_EQ(algid_len, auth.data[0]);
	}
	ASSERT_EQ(0, crypto_auth_verify(pub, method, auth.data, auth.len,
					octets, sizeof(octets)));
	/* Other octets, other key, a flipped signature bit: all refused. */
	ASSERT_EQ(-EBADMSG, crypto_auth_verify(pub, method, auth.data, auth.len,
					       octets, sizeof(octets) - 1));
	ASSERT_EQ(-EBADMSG, crypto_auth_verify(wrong, method, auth.data, auth.len,
					       octets, sizeof(octets)));
	i = auth.len - 3;
	auth.data[i] ^= 0x10;
	ASSERT_EQ(-EBADMSG, crypto_auth_verify(pub, method, auth.data, auth.len,
					       octets, sizeof(octets)));
	auth.data[i] ^= 0x10;
	if (method == CRYPTO_AUTH_DIGITAL_SIGNATURE) {
		/* An AlgorithmIdentifier we do not know: -ENOTSUP. */
		auth.data[7] ^= 0x01;	/* inside the OID */
		ASSERT_EQ(-ENOTSUP, crypto_auth_verify(pub, method, auth.data,
						       auth.len, octets,
						       sizeof(octets)));
		auth.data[7] ^= 0x01;
		/* Length byte past the end: malformed. */
		ASSERT_EQ(-EMSGSIZE, crypto_auth_verify(pub, method, auth.data,
							auth.data[0], octets,
							sizeof(octets)));
	} else {
		ASSERT_EQ(-EMSGSIZE, crypto_auth_verify(pub, method, auth.data,
							auth.len - 1, octets,
							sizeof(octets)));
	}
	buf_free(&auth);
}

static EVP_PKEY *cert_key(const char *name)
{
	X509 *x = crypto_load_cert(data(name), NULL);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;

	X509_free(x);
	return k;
}

TEST(signatures_rfc7427_and_rfc4754)
{
	EVP_PKEY *rsa = load_key("rsa.key", 0600), *ec = load_key("ec256.key", 0600);
	EVP_PKEY *ec384 = load_key("ec384.key", 0600);
	EVP_PKEY *rsa_pub = cert_key("rsa.pem"), *ec_pub = cert_key("ec256.pem");
	EVP_PKEY *ec384_pub = cert_key("ec384.pem"), *inter_pub = cert_key("inter.pem");
	struct buf auth = BUF_INIT;

	ASSERT_NE(NULL, rsa);
	ASSERT_NE(NULL, ec);
	ASSERT_NE(NULL, ec384);
	ASSERT_NE(NULL, rsa_pub);
	ASSERT_NE(NULL, ec_pub);
	ASSERT_NE(NULL, inter_pub);
	sign_verify(_metadata, rsa, rsa_pub, inter_pub, 14, CRYPTO_SIG_RSA_PKCS1_SHA256, 15);
	sign_verify(_metadata, rsa, rsa_pub, inter_pub, 14, CRYPTO_SIG_RSA_PKCS1_SHA512, 15);
	sign_verify(_metadata, rsa, rsa_pub, inter_pub, 14, CRYPTO_SIG_RSA_PSS_SHA256, 72);
	sign_verify(_metadata, rsa, rsa_pub, inter_pub, 14, CRYPTO_SIG_RSA_PSS_SHA384, 72);
	sign_verify(_metadata, ec, ec_pub, ec384_pub, 14, CRYPTO_SIG_ECDSA_SHA256, 12);
	sign_verify(_metadata, ec384, ec384_pub, ec_pub, 14, CRYPTO_SIG_ECDSA_SHA384, 12);
	sign_verify(_metadata, ec, ec_pub, ec384_pub, CRYPTO_AUTH_ECDSA_256, 0, 0);
	sign_verify(_metadata, ec384, ec384_pub, ec_pub, CRYPTO_AUTH_ECDSA_384, 0, 0);

	/* RFC 7427 A.1.2 byte for byte. */
	ASSERT_EQ(0, crypto_auth_sign(rsa, 14, CRYPTO_SIG_RSA_PKCS1_SHA256,
				      octets, sizeof(octets), &auth));
	ASSERT_EQ(0, memcmp(auth.data, "\x0f\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7"
			    "\x0d\x01\x01\x0b\x05\x00", 16));
	ASSERT_EQ(16 + 256, auth.len);
	/* An RSA signature presented for an EC key: mismatch. */
	ASSERT_EQ(-EBADMSG, crypto_auth_verify(ec_pub, 14, auth.data, auth.len,
					       octets, sizeof(octets)));
	/* Scheme/key mismatch when signing; SHA-1 method 1 refused. */
	ASSERT_EQ(-EINVAL, crypto_auth_sign(ec, 14, CRYPTO_SIG_RSA_PSS_SHA256,
					    octets, sizeof(octets), &auth));
	ASSERT_EQ(-ENOTSUP, crypto_auth_sign(rsa, CRYPTO_AUTH_RSA_SIG, 0,
					     octets, sizeof(octets), &auth));
	ASSERT_EQ(-ENOTSUP, crypto_auth_verify(rsa_pub, CRYPTO_AUTH_RSA_SIG,
					       auth.data, auth.len, octets,
					       sizeof(octets)));
	/* Method 10 with a P-256 key is wrong. */
	ASSERT_EQ(-EINVAL, crypto_auth_sign(ec, CRYPTO_AUTH_ECDSA_384, 0,
					    octets, sizeof(octets), &auth));

	buf_free(&auth);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa_pub);
	EVP_PKEY_free(ec_pub);
	EVP_PKEY_free(ec384_pub);
	EVP_PKEY_free(inter_pub);
}

/* The RFC 7427 A.4.3 RSASSA-PSS SHA-256 blob, and the same without the
 * default trailerField, both verify. */
TEST(pss_algid_forms)
{
	static const uint8_t a43[] = {
		0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x39, 0xa0,
		0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
		0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03,
		0x02, 0x01, 0x20, 0xa3, 0x03, 0x02, 0x01, 0x01 };
	EVP_PKEY *rsa = load_key("rsa.key", 0600), *pub = cert_key("rsa.pem");
	struct buf auth = BUF_INIT, alt = BUF_INIT;

	ASSERT_NE(NULL, rsa);
	ASSERT_EQ(0, crypto_auth_sign(rsa, 14, CRYPTO_SIG_RSA_PSS_SHA256,
				      octets, sizeof(octets), &auth));
	ASSERT_EQ(72, auth.data[0]);
	ASSERT_EQ(0, memcmp(auth.data + 1, a43, sizeof(a43)));
	/* Rebuild without [3] trailerField: 0x41/0x34 lengths. */
	buf_put_u8(&alt, 67);
	buf_append(&alt, a43, 67);
	alt.data[2] = 0x41;
	alt.data[15] = 0x34;
	buf_append(&alt, auth.data + 73, auth.len - 73);
	ASSERT_EQ(0, crypto_auth_verify(pub, 14, alt.data, alt.len, octets,
					sizeof(octets)));
	buf_free(&auth);
	buf_free(&alt);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(pub);
}

TEST(sig_choose_and_notify)
{
	EVP_PKEY *rsa = load_key("rsa.key", 0600), *ec384 = load_key("ec384.key", 0600);
	struct buf n = BUF_INIT;
	uint32_t mask;

	ASSERT_EQ(0, crypto_sig_hash_notify(&n));
	/* and Identity (5) where OpenSSL has ML-DSA */
	ASSERT_EQ(openssl_has_mldsa() ? 8 : 6, n.len);
	ASSERT_EQ(0, memcmp(n.data, "\x00\x02\x00\x03\x00\x04", 6));
	ASSERT_EQ(0, crypto_sig_hash_parse((const uint8_t *)"\x00\x01\x00\x03\x00\x09", 6, &mask));
	ASSERT_EQ(1u << 3, mask);
	ASSERT_EQ(-EMSGSIZE, crypto_sig_hash_parse(n.data, 5, &mask));

	ASSERT_EQ(CRYPTO_SIG_RSA_PKCS1_SHA256, crypto_sig_choose(rsa, 0, false));
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA384, crypto_sig_choose(rsa, 1u << 3, true));
	ASSERT_EQ(CRYPTO_SIG_ECDSA_SHA384, crypto_sig_choose(ec384, 0x1c, false));
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_sig_choose(rsa, 1u << 1, false));
	buf_free(&n);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec384);
}

/*
 * RSASSA-PSS-only keys (OpenSSL type RSA-PSS, SPKI id-RSASSA-PSS): signed
 * with PSS whatever the caller asked for, and labelled so in the
 * AlgorithmIdentifier (a PKCS#1 v1.5 label over a PSS signature fails at
 * the peer); a key restricted to one hash signs with that hash only.
 */
TEST(rsa_pss_only_keys)
{
	EVP_PKEY *pss = load_key("rsapss.key", 0600), *pub = cert_key("rsapss.pem");
	EVP_PKEY *rsa_pub = cert_key("rsa.pem"), *r384 = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	struct buf auth = BUF_INIT;

	ASSERT_NE(NULL, pss);
	ASSERT_NE(NULL, pub);
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA256, crypto_sig_choose(pss, 0x1c, false));
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA512, crypto_sig_choose(pss, 1u << 4, false));
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA256, crypto_sig_choose(pss, 0, false));
	sign_verify(_metadata, pss, pub, rsa_pub, 14, CRYPTO_SIG_RSA_PSS_SHA256, 72);
	ASSERT_EQ(-EINVAL, crypto_auth_sign(pss, 14, CRYPTO_SIG_RSA_PKCS1_SHA256,
					    octets, sizeof(octets), &auth));
	ASSERT_EQ(0, auth.len);

	/* Restricted to SHA-384 (and MGF1 SHA-384, salt at least 48). */
	ASSERT_NE(NULL, kc);
	ASSERT_LT(0, EVP_PKEY_keygen_init(kc));
	ASSERT_LT(0, EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 1024));
	ASSERT_LT(0, EVP_PKEY_CTX_set_rsa_pss_keygen_md(kc, EVP_sha384()));
	ASSERT_LT(0, EVP_PKEY_CTX_set_rsa_pss_keygen_saltlen(kc, 48));
	ASSERT_LT(0, EVP_PKEY_keygen(kc, &r384));
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA384, crypto_sig_choose(r384, 0x1c, false));
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_sig_choose(r384, 1u << 2, true));
	sign_verify(_metadata, r384, r384, pub, 14, CRYPTO_SIG_RSA_PSS_SHA384, 72);
	ASSERT_EQ(-EINVAL, crypto_auth_sign(r384, 14, CRYPTO_SIG_RSA_PSS_SHA256,
					    octets, sizeof(octets), &auth));
	buf_free(&auth);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_free(r384);
	EVP_PKEY_free(pss);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(rsa_pub);
}

/* What a received AUTH used, and how the logs name it. */
TEST(auth_scheme_names)
{
	EVP_PKEY *rsa = load_key("rsa.key", 0600), *ec = load_key("ec256.key", 0600);
	struct buf auth = BUF_INIT;

	ASSERT_NE(NULL, rsa);
	ASSERT_NE(NULL, ec);
	ASSERT_STREQ("RSASSA-PSS with SHA2-256", crypto_sig_scheme_name(CRYPTO_SIG_RSA_PSS_SHA256));
	ASSERT_STREQ("RSASSA-PKCS1-v1_5 with SHA2-384",
		     crypto_sig_scheme_name(CRYPTO_SIG_RSA_PKCS1_SHA384));
	ASSERT_STREQ("ECDSA with SHA2-512", crypto_sig_scheme_name(CRYPTO_SIG_ECDSA_SHA512));
	ASSERT_STREQ("none", crypto_sig_scheme_name(CRYPTO_SIG_NONE));
	ASSERT_EQ(0, crypto_auth_sign(rsa, 14, CRYPTO_SIG_RSA_PSS_SHA512, octets,
				      sizeof(octets), &auth));
	ASSERT_EQ(CRYPTO_SIG_RSA_PSS_SHA512, crypto_auth_scheme(14, auth.data, auth.len));
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_auth_scheme(14, auth.data, 3));
	ASSERT_EQ(0, crypto_auth_sign(ec, CRYPTO_AUTH_ECDSA_256, 0, octets,
				      sizeof(octets), &auth));
	ASSERT_EQ(CRYPTO_SIG_ECDSA_SHA256, crypto_auth_scheme(CRYPTO_AUTH_ECDSA_256,
							      auth.data, auth.len));
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_auth_scheme(CRYPTO_AUTH_PSK,
						      auth.data, auth.len));
	buf_free(&auth);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/*
 * Where OpenSSL has no ML-DSA (3.0-3.4): a key file holding one is refused
 * with a sentence naming the parameter set and what is needed, the
 * AlgorithmIdentifiers are unknown, SIGNATURE_HASH_ALGORITHMS does not
 * announce Identity.  Where it has ML-DSA, the same file loads.
 */
TEST(mldsa_refused_without_openssl_35)
{
	EVP_PKEY *rsa = load_key("rsa.key", 0600), *pub = cert_key("rsa.pem"), *k;
	struct cred_err why;
	struct buf auth = BUF_INIT, n = BUF_INIT;

	if (openssl_has_mldsa()) {
		k = load_key_why("mldsa65.key", 0600, &why);
		ASSERT_NE(NULL, k);
		ASSERT_TRUE(EVP_PKEY_is_a(k, "ML-DSA-65"));
		ASSERT_TRUE(crypto_sig_supported(CRYPTO_SIG_MLDSA_65));
		EVP_PKEY_free(k);
		EVP_PKEY_free(rsa);
		EVP_PKEY_free(pub);
		return;
	}
	for (int i = CRYPTO_SIG_MLDSA_44; i <= CRYPTO_SIG_MLDSA_87; i++)
		ASSERT_FALSE(crypto_sig_supported(i));
	ASSERT_EQ(NULL, load_key_why("mldsa65.key", 0600, &why));
	EXPECT_TRUE(why.opened);
	EXPECT_TRUE(why.unsupported);
	EXPECT_NE(NULL, strstr(why.msg, "': an ML-DSA-65 key (FIPS 204): ML-DSA needs OpenSSL 3.5 or later; "
				       "this tcpiked was built with OpenSSL 3."))
		TH_LOG("%s", why.msg);
	/* Another key OpenSSL cannot read is no ML-DSA key. */
	ASSERT_EQ(NULL, load_key_why("mldsa65.pem", 0600, &why));
	EXPECT_FALSE(why.unsupported);
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_sig_choose(rsa, 1u << CRYPTO_HASH_IDENTITY, false));
	ASSERT_EQ(0, crypto_sig_hash_notify(&n));
	ASSERT_EQ(6, n.len);
	/* An ML-DSA-65 AUTH: its AlgorithmIdentifier is unknown here. */
	buf_append(&auth, mldsa65_auth_head, sizeof(mldsa65_auth_head));
	buf_extend(&auth, 3309);
	ASSERT_EQ(CRYPTO_SIG_NONE, crypto_auth_scheme(14, auth.data, auth.len));
	ASSERT_EQ(-ENOTSUP, crypto_auth_verify(pub, 14, auth.data, auth.len, octets,
					       sizeof(octets)));
	ASSERT_EQ(-ENOTSUP, crypto_auth_sign(rsa, 14, CRYPTO_SIG_MLDSA_65, octets,
					     sizeof(octets), &auth));
	buf_free(&auth);
	buf_free(&n);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(pub);
}

/*
 * ML-DSA-44/65/87 (FIPS 204) under method 14 as
 * draft-ietf-ipsecme-ikev2-pqc-auth has it: pure ML-DSA over the signed
 * octets (empty context), AlgorithmIdentifier id-ml-dsa-NN with its
 * parameters absent, compared exactly; chosen only when the peer announced
 * the Identity "hash" (5, RFC 8420) in SIGNATURE_HASH_ALGORITHMS.  Without
 * ML-DSA in OpenSSL only the names are there (the refusal is the test
 * above).
 */
TEST(mldsa_signatures)
{
	static const struct {
		const char *name;
		enum crypto_sig_scheme s;
		size_t siglen;
	} m[] = {
		{ "ML-DSA-44", CRYPTO_SIG_MLDSA_44, 2420 },
		{ "ML-DSA-65", CRYPTO_SIG_MLDSA_65, 3309 },
		{ "ML-DSA-87", CRYPTO_SIG_MLDSA_87, 4627 },
	};
	EVP_PKEY *k[3], *other, *rsa = load_key("rsa.key", 0600), *rsa_pub = cert_key("rsa.pem");
	struct buf auth = BUF_INIT, alt = BUF_INIT, n = BUF_INIT;
	uint32_t mask;
	size_t i;

	ASSERT_NE(NULL, rsa);
	if (!openssl_has_mldsa()) {
		for (i = 0; i < 3; i++) {
			ASSERT_STREQ(m[i].name, crypto_sig_scheme_name(m[i].s));
			ASSERT_EQ(-ENOTSUP, crypto_auth_sign(rsa, 14, m[i].s, octets,
							     sizeof(octets), &auth));
		}
		EVP_PKEY_free(rsa);
		EVP_PKEY_free(rsa_pub);
		return;
	}
	for (i = 0; i < 3; i++) {
		k[i] = EVP_PKEY_Q_keygen(NULL, NULL, m[i].name);
		other = EVP_PKEY_Q_keygen(NULL, NULL, m[i].name);
		ASSERT_NE(NULL, k[i]);
		ASSERT_NE(NULL, other);
		sign_verify(_metadata, k[i], k[i], other, 14, m[i].s, 13);
		ASSERT_EQ(0, crypto_auth_sign(k[i], 14, m[i].s, octets, sizeof(octets), &auth));
		ASSERT_EQ(14 + m[i].siglen, auth.len);
		ASSERT_EQ(0x11 + i, auth.data[13]);
		ASSERT_EQ(m[i].s, crypto_auth_scheme(14, auth.data, auth.len));
		ASSERT_STREQ(m[i].name, crypto_sig_scheme_name(m[i].s));
		ASSERT_EQ(CRYPTO_HASH_IDENTITY, crypto_sig_hash(m[i].s));
		/* Chosen only with Identity announced, whatever else was. */
		ASSERT_EQ(m[i].s, crypto_sig_choose(k[i], 1u << CRYPTO_HASH_IDENTITY, false));
		ASSERT_EQ(m[i].s, crypto_sig_choose(k[i], 0x3c, true));
		ASSERT_EQ(CRYPTO_SIG_NONE, crypto_sig_choose(k[i], 0x1c, false));
		ASSERT_EQ(CRYPTO_SIG_NONE, crypto_sig_choose(k[i], 0, false));
		/* Another parameter set's signature or label: refused. */
		ASSERT_EQ(-EINVAL, crypto_auth_sign(k[i], 14, m[(i + 1) % 3].s, octets,
						    sizeof(octets), &alt));
		ASSERT_EQ(-EBADMSG, crypto_auth_verify(k[(i + 2) % 3], 14, auth.data, auth.len,
						       octets, sizeof(octets)));
		ASSERT_EQ(-EBADMSG, crypto_auth_verify(rsa_pub, 14, auth.data, auth.len,
						       octets, sizeof(octets)));
		if (i)
			EVP_PKEY_free(k[i - 1]);
		EVP_PKEY_free(other);
	}
	EVP_PKEY_free(k[2]);
	/* An RSA key cannot sign ML-DSA, nor verify it. */
	ASSERT_EQ(-EINVAL, crypto_auth_sign(rsa, 14, CRYPTO_SIG_MLDSA_65, octets, sizeof(octets),
					    &auth));
	ASSERT_EQ(CRYPTO_SIG_RSA_PKCS1_SHA256, crypto_sig_choose(rsa, 1u << CRYPTO_HASH_IDENTITY | 4,
								 false));

	/* The test PKI: an ML-DSA-65 end entity under an ML-DSA-65 CA. */
	{
		EVP_PKEY *key = load_key("mldsa65.key", 0600), *pub = cert_key("mldsa65.pem");
		STACK_OF(X509) *cas = crypto_load_ca(data("mldsa-ca.pem"), NULL);
		STACK_OF(X509) *other_cas = crypto_load_ca(data("ca.pem"), NULL);
		X509 *ee = crypto_load_cert(data("mldsa65.pem"), NULL);

		ASSERT_NE(NULL, key);
		ASSERT_NE(NULL, pub);
		ASSERT_NE(NULL, ee);
		ASSERT_NE(NULL, cas);
		ASSERT_EQ(1, X509_check_private_key(ee, key));
		ASSERT_EQ(0, crypto_cert_verify(ee, NULL, cas, 0));
		ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(ee, NULL, other_cas, 0));
		ASSERT_EQ(0, crypto_auth_sign(key, 14, CRYPTO_SIG_MLDSA_65, octets,
					      sizeof(octets), &auth));
		ASSERT_EQ(0, memcmp(auth.data, mldsa65_auth_head, sizeof(mldsa65_auth_head)));
		ASSERT_EQ(0, crypto_auth_verify(pub, 14, auth.data, auth.len, octets,
						sizeof(octets)));
		/* Parameters present (NULL): not the draft's AlgorithmIdentifier. */
		buf_reset(&alt);
		buf_append(&alt, "\x0f\x30\x0d", 3);
		buf_append(&alt, auth.data + 3, 11);
		buf_append(&alt, "\x05\x00", 2);
		buf_append(&alt, auth.data + 14, auth.len - 14);
		ASSERT_EQ(CRYPTO_SIG_NONE, crypto_auth_scheme(14, alt.data, alt.len));
		ASSERT_EQ(-ENOTSUP, crypto_auth_verify(pub, 14, alt.data, alt.len, octets,
						       sizeof(octets)));
		/* A signature one byte short or long: refused. */
		ASSERT_EQ(-EBADMSG, crypto_auth_verify(pub, 14, auth.data, auth.len - 1, octets,
						       sizeof(octets)));
		buf_put_u8(&auth, 0);
		ASSERT_EQ(-EBADMSG, crypto_auth_verify(pub, 14, auth.data, auth.len, octets,
						       sizeof(octets)));
		sk_X509_pop_free(cas, X509_free);
		sk_X509_pop_free(other_cas, X509_free);
		X509_free(ee);
		EVP_PKEY_free(key);
		EVP_PKEY_free(pub);
	}

	/* SIGNATURE_HASH_ALGORITHMS: Identity (5) announced and understood. */
	ASSERT_EQ(0, crypto_sig_hash_notify(&n));
	ASSERT_EQ(8, n.len);
	ASSERT_EQ(0, memcmp(n.data, "\x00\x02\x00\x03\x00\x04\x00\x05", 8));
	ASSERT_EQ(0, crypto_sig_hash_parse((const uint8_t *)"\x00\x05", 2, &mask));
	ASSERT_EQ(1u << CRYPTO_HASH_IDENTITY, mask);
	buf_free(&auth);
	buf_free(&alt);
	buf_free(&n);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa_pub);
}

TEST(private_key_permissions)
{
	EVP_PKEY *k;

	k = load_key("ec256.key", 0644);
	ASSERT_EQ(NULL, k);
	k = load_key("ec256.key", 0640);
	ASSERT_EQ(NULL, k);
	k = load_key("ec256.key", 0600);
	ASSERT_NE(NULL, k);
	EVP_PKEY_free(k);
	ASSERT_EQ(NULL, crypto_load_privkey("/nonexistent/key.pem", NULL));
}

/* A loader that fails says why, naming the file: not opened, or opened
 * but holding no key or certificate (OpenSSL's reason). */
TEST(loaders_say_why)
{
	struct cred_err why;

	ASSERT_EQ(NULL, crypto_load_privkey("/nonexistent/key.pem", &why));
	EXPECT_FALSE(why.opened);
	EXPECT_STREQ("'/nonexistent/key.pem': No such file or directory", why.msg);
	ASSERT_EQ(NULL, crypto_load_cert("/dev/null", &why));
	EXPECT_FALSE(why.opened);
	EXPECT_STREQ("'/dev/null' is a character device, not a regular file", why.msg);
	ASSERT_EQ(NULL, crypto_load_ca(data("ec256.key"), &why));
	EXPECT_TRUE(why.opened);
	EXPECT_NE(NULL, strstr(why.msg, "ec256.key': no certificate in it (PEM or DER)")) TH_LOG("%s", why.msg);
	ASSERT_EQ(NULL, crypto_load_cert(data("ec256.key"), &why));
	EXPECT_TRUE(why.opened);
	EXPECT_NE(NULL, strstr(why.msg, "ec256.key': no certificate in it (PEM or DER): "))
		TH_LOG("%s", why.msg);
}

TEST(psk_and_octets)
{
	struct buf skp = BUF_INIT, oct = BUF_INIT, a1 = BUF_INIT, mac = BUF_INIT;
	struct buf pad = BUF_INIT;
	static const uint8_t id[] = { 2, 0, 0, 0, 'a', '.', 'b' };
	static const uint8_t msg[] = "IKE_SA_INIT request", nonce[] = "Nr";
	static const uint8_t psk[] = "secret";

	buf_append(&skp, "0123456789abcdef0123456789abcdef", 32);
	ASSERT_EQ(0, crypto_auth_octets(CRYPTO_PRF_HMAC_SHA2_256, &skp, msg,
					sizeof(msg), nonce, sizeof(nonce), id,
					sizeof(id), &oct));
	ASSERT_EQ(sizeof(msg) + sizeof(nonce) + 32, oct.len);
	ASSERT_EQ(0, memcmp(oct.data, msg, sizeof(msg)));
	ASSERT_EQ(0, crypto_prf(CRYPTO_PRF_HMAC_SHA2_256, skp.data, 32, id,
				sizeof(id), &mac));
	ASSERT_EQ(0, memcmp(oct.data + sizeof(msg) + sizeof(nonce), mac.data, 32));

	ASSERT_EQ(0, crypto_auth_psk(CRYPTO_PRF_HMAC_SHA2_256, psk, 6,
				     oct.data, oct.len, &a1));
	/* prf(prf(psk, "Key Pad for IKEv2"), octets) step by step */
	ASSERT_EQ(0, crypto_prf(CRYPTO_PRF_HMAC_SHA2_256, psk, 6,
				(const uint8_t *)"Key Pad for IKEv2", 17, &mac));
	ASSERT_EQ(0, crypto_prf(CRYPTO_PRF_HMAC_SHA2_256, mac.data, mac.len,
				oct.data, oct.len, &mac));
	ASSERT_EQ(0, memcmp(mac.data, a1.data, 32));
	ASSERT_EQ(0, crypto_auth_psk_verify(CRYPTO_PRF_HMAC_SHA2_256, psk, 6,
					    oct.data, oct.len, a1.data, a1.len));
	ASSERT_EQ(-EBADMSG, crypto_auth_psk_verify(CRYPTO_PRF_HMAC_SHA2_256,
						   (const uint8_t *)"secreT", 6,
						   oct.data, oct.len, a1.data,
						   a1.len));
	ASSERT_EQ(-EBADMSG, crypto_auth_psk_verify(CRYPTO_PRF_HMAC_SHA2_256, psk, 6,
						   oct.data, oct.len, a1.data,
						   a1.len - 1));

	/* The key pad computed once for both AUTHs of an IKE_AUTH
	 * (exch_auth.c psk_pad): the same AUTH as computing it each time,
	 * used twice, over other octets, and for another secret. */
	ASSERT_EQ(0, crypto_auth_psk_pad(CRYPTO_PRF_HMAC_SHA2_256, psk, 6, &pad));
	ASSERT_EQ(32, pad.len);
	ASSERT_EQ(0, crypto_auth_psk_mac(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data, oct.len, &mac));
	ASSERT_EQ(0, memcmp(mac.data, a1.data, 32));
	ASSERT_EQ(0, crypto_auth_psk_check(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data, oct.len,
					   a1.data, a1.len));
	ASSERT_EQ(-EBADMSG, crypto_auth_psk_check(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data,
						  oct.len - 1, a1.data, a1.len));
	ASSERT_EQ(0, crypto_auth_psk(CRYPTO_PRF_HMAC_SHA2_256, psk, 6, oct.data, oct.len - 1, &a1));
	ASSERT_EQ(0, crypto_auth_psk_mac(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data, oct.len - 1,
					 &mac));
	ASSERT_EQ(0, memcmp(mac.data, a1.data, 32));
	ASSERT_EQ(0, crypto_auth_psk_check(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data, oct.len - 1,
					   a1.data, a1.len));
	ASSERT_EQ(0, crypto_auth_psk_pad(CRYPTO_PRF_HMAC_SHA2_256, (const uint8_t *)"secreT", 6,
					 &pad));
	ASSERT_EQ(32, pad.len);
	ASSERT_EQ(-EBADMSG, crypto_auth_psk_check(CRYPTO_PRF_HMAC_SHA2_256, &pad, oct.data,
						  oct.len - 1, a1.data, a1.len));
	ASSERT_EQ(-ENOTSUP, crypto_auth_psk_pad(0, psk, 6, &pad));
	ASSERT_EQ(0, pad.len);
	buf_wipe(&skp);
	buf_free(&oct);
	buf_wipe(&a1);
	buf_wipe(&mac);
	buf_wipe(&pad);
}

TEST(cert_chain_validation)
{
	STACK_OF(X509) *cas = crypto_load_ca(data("ca.pem"), NULL);
	STACK_OF(X509) *other = crypto_load_ca(data("other-ca.pem"), NULL);
	STACK_OF(X509) *inter = sk_X509_new_null();
	X509 *rsa = crypto_load_cert(data("rsa.pem"), NULL);
	X509 *ec = crypto_load_cert(data("ec256.pem"), NULL);
	X509 *in = crypto_load_cert(data("inter.pem"), NULL);
	X509 *shrt = crypto_load_cert(data("short.pem"), NULL);
	struct buf der = BUF_INIT;
	struct tm tm;
	time_t nb;
	X509 *back;

	ASSERT_NE(NULL, cas);
	ASSERT_NE(NULL, other);
	ASSERT_NE(NULL, rsa);
	ASSERT_NE(NULL, ec);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, shrt);
	ASSERT_EQ(0, crypto_cert_verify(ec, NULL, cas, 0));
	/* The RSA cert needs its intermediate (from a CERT payload). */
	ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(rsa, NULL, cas, 0));
	sk_X509_push(inter, in);
	ASSERT_EQ(0, crypto_cert_verify(rsa, inter, cas, 0));
	/* Wrong CA. */
	ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(ec, NULL, other, 0));
	ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(rsa, inter, other, 0));
	/* The 1-day certificate: valid an hour after notBefore, expired
	 * three days later. */
	ASSERT_EQ(1, ASN1_TIME_to_tm(X509_get0_notBefore(shrt), &tm));
	nb = timegm(&tm);
	ASSERT_EQ(0, crypto_cert_verify(shrt, NULL, cas, nb + 3600));
	ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(shrt, NULL, cas, nb + 3 * 86400));
	/* ...and not yet valid before notBefore. */
	ASSERT_EQ(-EKEYREJECTED, crypto_cert_verify(shrt, NULL, cas, nb - 3600));

	/* DER round trip, as carried in CERT payloads; trailing junk refused. */
	ASSERT_EQ(0, crypto_cert_to_der(ec, &der));
	back = crypto_cert_from_der(der.data, der.len);
	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, X509_cmp(back, ec));
	X509_free(back);
	buf_put_u8(&der, 0);
	ASSERT_EQ(NULL, crypto_cert_from_der(der.data, der.len));
	ASSERT_EQ(NULL, crypto_cert_from_der(der.data, 10));

	buf_free(&der);
	sk_X509_pop_free(inter, X509_free);
	sk_X509_pop_free(cas, X509_free);
	sk_X509_pop_free(other, X509_free);
	X509_free(rsa);
	X509_free(ec);
	X509_free(shrt);
}

TEST(cert_identity)
{
	X509 *rsa = crypto_load_cert(data("rsa.pem"), NULL);
	X509 *ec = crypto_load_cert(data("ec256.pem"), NULL);
	uint8_t v4[4], v6[16];
	uint8_t *dn = NULL;
	int dnlen;

	ASSERT_NE(NULL, rsa);
	ASSERT_NE(NULL, ec);
	inet_pton(AF_INET, "192.0.2.1", v4);
	inet_pton(AF_INET6, "2001:db8::1", v6);
	ASSERT_TRUE(crypto_cert_matches_id(rsa, CRYPTO_ID_IPV4_ADDR, v4, 4));
	ASSERT_TRUE(crypto_cert_matches_id(rsa, CRYPTO_ID_FQDN, (const uint8_t *)"RSA.tcpike.test", 15));
	ASSERT_TRUE(crypto_cert_matches_id(rsa, CRYPTO_ID_RFC822_ADDR, (const uint8_t *)"rsa@tcpike.test", 15));
	ASSERT_TRUE(crypto_cert_matches_id(ec, CRYPTO_ID_IPV6_ADDR, v6, 16));
	ASSERT_TRUE(crypto_cert_matches_id(ec, CRYPTO_ID_FQDN, (const uint8_t *)"ec.tcpike.test", 14));
	/* Mismatches */
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_FQDN, (const uint8_t *)"rsa.tcpike.test", 15));
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_FQDN, (const uint8_t *)"ec.tcpike.tes", 13));
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_FQDN, (const uint8_t *)"ec.tcpike.test\0x", 16));
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_IPV4_ADDR, v4, 4));
	ASSERT_FALSE(crypto_cert_matches_id(rsa, CRYPTO_ID_IPV6_ADDR, v6, 16));
	ASSERT_FALSE(crypto_cert_matches_id(rsa, CRYPTO_ID_IPV4_ADDR, v4, 3));
	/* The CN is not a SAN: no FQDN match from the subject alone. */
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_RFC822_ADDR, (const uint8_t *)"ec.tcpike.test", 14));
	/* DN: DER-equal subject. */
	dnlen = i2d_X509_NAME(X509_get_subject_name(rsa), &dn);
	ASSERT_GT(dnlen, 0);
	ASSERT_TRUE(crypto_cert_matches_id(rsa, CRYPTO_ID_DER_ASN1_DN, dn, dnlen));
	ASSERT_FALSE(crypto_cert_matches_id(ec, CRYPTO_ID_DER_ASN1_DN, dn, dnlen));
	ASSERT_FALSE(crypto_cert_matches_id(rsa, CRYPTO_ID_DER_ASN1_DN, dn, dnlen - 1));
	OPENSSL_free(dn);
	X509_free(rsa);
	X509_free(ec);
}

TEST(certreq_hashes)
{
	STACK_OF(X509) *cas = crypto_load_ca(data("ca.pem"), NULL);
	STACK_OF(X509) *other = crypto_load_ca(data("other-ca.pem"), NULL);
	struct buf cr = BUF_INIT, mixed = BUF_INIT;
	uint8_t junk[20] = { 1 };
	char want[41] = { 0 }, got[41];
	FILE *f;
	int i, n;

	ASSERT_NE(NULL, cas);
	ASSERT_EQ(0, crypto_certreq_data(cas, &cr));
	ASSERT_EQ(20, cr.len);
	f = fopen(data("ca.spki-sha1"), "r");
	ASSERT_NE(NULL, f);
	n = fscanf(f, "%40s", want);
	fclose(f);
	ASSERT_EQ(1, n);
	for (i = 0; i < 20; i++)
		sprintf(got + 2 * i, "%02x", cr.data[i]);
	ASSERT_STREQ(want, got);
	ASSERT_TRUE(crypto_certreq_match(cas, cr.data, cr.len));
	ASSERT_FALSE(crypto_certreq_match(other, cr.data, cr.len));
	/* Ours second in a list of two. */
	buf_append(&mixed, junk, 20);
	buf_append(&mixed, cr.data, 20);
	ASSERT_TRUE(crypto_certreq_match(cas, mixed.data, mixed.len));
	ASSERT_FALSE(crypto_certreq_match(cas, mixed.data, 39));
	buf_free(&cr);
	buf_free(&mixed);
	sk_X509_pop_free(cas, X509_free);
	sk_X509_pop_free(other, X509_free);
}

TEST_HARNESS_MAIN
