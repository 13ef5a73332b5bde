// SPDX-License-Identifier: GPL-2.0
/*
 * IKEv2 authentication: the signed octets and PSK AUTH (RFC 7296 §2.15),
 * Digital Signature method 14 with the AlgorithmIdentifiers of RFC 7427
 * Appendix A, and the ECDSA methods 9/10/11 with raw r | s (RFC 4754).
 * ML-DSA (FIPS 204) under method 14 as draft-ietf-ipsecme-ikev2-pqc-auth
 * has it: pure ML-DSA over the signed octets with an empty context, the
 * AlgorithmIdentifier id-ml-dsa-44/65/87 with parameters absent, and the
 * Identity "hash" (RFC 8420) in SIGNATURE_HASH_ALGORITHMS.  OpenSSL has
 * ML-DSA from 3.5 on; where it has not, the schemes are unknown here.
 */
#define LOG_SUBSYS LOG_SUB_CRYPTO

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "log.h"

/* --- octets and PSK ----------------------------------------------------- */

int crypto_auth_octets(uint16_t prf, const struct buf *sk_p,
		       const uint8_t *msg, size_t msglen,
		       const uint8_t *nonce, size_t noncelen,
		       const uint8_t *id_body, size_t idlen, struct buf *out)
{
	struct buf mac = BUF_INIT;
	int ret;

	/* InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI,
	 * MACedIDForI = prf(SK_pi, IDi'), and symmetrically for R. */
	ret = crypto_prf(prf, sk_p->data, sk_p->len, id_body, idlen, &mac);
	if (ret)
		return ret;
	buf_reset(out);
	/* one allocation for the whole, not one per doubling */
	if (buf_reserve(out, msglen + noncelen + mac.len) ||
	    buf_append(out, msg, msglen) || buf_append(out, nonce, noncelen) ||
	    buf_append(out, mac.data, mac.len))
		ret = -ENOMEM;
	buf_wipe(&mac);
	return ret;
}

int crypto_int_auth(uint16_t prf, const struct buf *sk_p, struct buf *chain,
		    const uint8_t *a, size_t alen, const uint8_t *p, size_t plen)
{
	/* IntAuth_in = prf(SK_pin, IntAuth_i(n-1) | IntAuth_inA [| IntAuth_inP]) */
	struct iovec iov[3] = {
		{ chain->data, chain->len }, { (void *)a, alen }, { (void *)p, plen },
	};
	const char *md = crypto_prf_digest(prf);
	uint8_t t[CRYPTO_MAX_PRF_LEN];
	size_t n = crypto_prf_len(prf);
	int ret;

	if (!md)
		return -ENOTSUP;
	ret = crypto_hmac(md, sk_p->data, sk_p->len, iov, 3, t, sizeof(t));
	buf_wipe(chain);
	if (!ret && buf_append(chain, t, n))
		ret = -ENOMEM;
	OPENSSL_cleanse(t, sizeof(t));
	return ret;
}

int crypto_auth_psk_pad(uint16_t prf, const uint8_t *psk, size_t psklen, struct buf *pad)
{
	static const char kp[] = "Key Pad for IKEv2";	/* 17 octets */

	buf_wipe(pad);
	return crypto_prf(prf, psk, psklen, (const uint8_t *)kp, sizeof(kp) - 1, pad);
}

int crypto_auth_psk_mac(uint16_t prf, const struct buf *pad, const uint8_t *octets,
			size_t octlen, struct buf *out)
{
	return crypto_prf(prf, pad->data, pad->len, octets, octlen, out);
}

int crypto_auth_psk_check(uint16_t prf, const struct buf *pad, const uint8_t *octets,
			  size_t octlen, const uint8_t *auth, size_t authlen)
{
	struct buf want = BUF_INIT;
	int ret;

	ret = crypto_auth_psk_mac(prf, pad, octets, octlen, &want);
	if (!ret && (authlen != want.len ||
		     CRYPTO_memcmp(want.data, auth, authlen) != 0))
		ret = -EBADMSG;
	buf_wipe(&want);
	return ret;
}

int crypto_auth_psk(uint16_t prf, const uint8_t *psk, size_t psklen,
		    const uint8_t *octets, size_t octlen, struct buf *out)
{
	struct buf pad = BUF_INIT;
	int ret;

	/* AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <octets>) */
	ret = crypto_auth_psk_pad(prf, psk, psklen, &pad);
	if (!ret)
		ret = crypto_auth_psk_mac(prf, &pad, octets, octlen, out);
	buf_wipe(&pad);
	return ret;
}

int crypto_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psklen,
			   const uint8_t *octets, size_t octlen,
			   const uint8_t *auth, size_t authlen)
{
	struct buf pad = BUF_INIT;
	int ret;

	ret = crypto_auth_psk_pad(prf, psk, psklen, &pad);
	if (!ret)
		ret = crypto_auth_psk_check(prf, &pad, octets, octlen, auth, authlen);
	buf_wipe(&pad);
	return ret;
}

/* --- schemes and AlgorithmIdentifiers ----------------------------------- */

/* RFC 7427 A.1.2-4 (PKCS#1 v1.5) and A.3.2-4 (ECDSA), byte for byte. */
static const uint8_t algid_rsa_sha256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0b, 0x05, 0x00 };
static const uint8_t algid_rsa_sha384[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0c, 0x05, 0x00 };
static const uint8_t algid_rsa_sha512[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0d, 0x05, 0x00 };
static const uint8_t algid_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	0x02 };
static const uint8_t algid_ecdsa_sha384[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	0x03 };
static const uint8_t algid_ecdsa_sha512[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	0x04 };

/* draft-ietf-ipsecme-ikev2-pqc-auth: id-ml-dsa-44/65/87
 * (2.16.840.1.101.3.4.3.17-19), the parameters absent. */
static const uint8_t algid_mldsa_44[] = {
	0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x03, 0x11 };
static const uint8_t algid_mldsa_65[] = {
	0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x03, 0x12 };
static const uint8_t algid_mldsa_87[] = {
	0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x03, 0x13 };

#define PSS_ALGID_MAX	72

/*
 * RSASSA-PSS AlgorithmIdentifier as in RFC 7427 A.4.3: hashAlgorithm and
 * MGF1 hash the same SHA-2 (id-sha256/384/512 = ...04 02 01/02/03),
 * saltLength = hash length, and trailerField 1 when `trailer` (the RFC's
 * blob has it; DER would omit the default, as some peers do, so both are
 * accepted on receipt).
 */
static size_t pss_algid(uint8_t hash_oid_last, uint8_t salt, bool trailer,
			uint8_t out[PSS_ALGID_MAX])
{
	static const uint8_t head[] = {
		0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0a, 0x30, 0x39, 0xa0, 0x0f, 0x30, 0x0d, 0x06,
		0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
		0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86,
		0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06,
		0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
		0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20, 0xa3, 0x03, 0x02,
		0x01, 0x01 };

	memcpy(out, head, sizeof(head));
	out[29] = hash_oid_last;	/* hashAlgorithm */
	out[59] = hash_oid_last;	/* MGF1 hash */
	out[66] = salt;
	if (trailer)
		return sizeof(head);
	out[1] -= 5;	/* drop [3] trailerField: 5 bytes */
	out[14] -= 5;
	return sizeof(head) - 5;
}

static const EVP_MD *scheme_md(enum crypto_sig_scheme s)
{
	switch (s) {
	case CRYPTO_SIG_RSA_PKCS1_SHA256:
	case CRYPTO_SIG_RSA_PSS_SHA256:
	case CRYPTO_SIG_ECDSA_SHA256:
		return EVP_sha256();
	case CRYPTO_SIG_RSA_PKCS1_SHA384:
	case CRYPTO_SIG_RSA_PSS_SHA384:
	case CRYPTO_SIG_ECDSA_SHA384:
		return EVP_sha384();
	case CRYPTO_SIG_RSA_PKCS1_SHA512:
	case CRYPTO_SIG_RSA_PSS_SHA512:
	case CRYPTO_SIG_ECDSA_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static bool scheme_is_mldsa(enum crypto_sig_scheme s)
{
	return s == CRYPTO_SIG_MLDSA_44 || s == CRYPTO_SIG_MLDSA_65 || s == CRYPTO_SIG_MLDSA_87;
}

/* OpenSSL's name of an ML-DSA parameter set, NULL for other schemes. */
static const char *mldsa_name(enum crypto_sig_scheme s)
{
	static const char *const names[] = { "ML-DSA-44", "ML-DSA-65", "ML-DSA-87" };

	return scheme_is_mldsa(s) ? names[s - CRYPTO_SIG_MLDSA_44] : NULL;
}

/*
 * Whether OpenSSL's providers have each ML-DSA parameter set: asked once,
 * as crypto_kex.c asks for ML-KEM, so that 3.0 and a 3.5 whose providers
 * leave ML-DSA out are told apart from one that has it.
 */
static bool mldsa_have[3];
static pthread_once_t mldsa_once = PTHREAD_ONCE_INIT;

static void mldsa_probe(void)
{
	for (int i = 0; i < 3; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL,
			mldsa_name(CRYPTO_SIG_MLDSA_44 + i), NULL);

		mldsa_have[i] = c && EVP_PKEY_keygen_init(c) > 0;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
}

bool crypto_sig_supported(enum crypto_sig_scheme s)
{
	if (!scheme_is_mldsa(s))
		return s > CRYPTO_SIG_NONE && s <= CRYPTO_SIG_ECDSA_SHA512;
	pthread_once(&mldsa_once, mldsa_probe);
	return mldsa_have[s - CRYPTO_SIG_MLDSA_44];
}

/* The ML-DSA scheme of a key, NONE for other keys. */
static enum crypto_sig_scheme key_mldsa(EVP_PKEY *k)
{
	for (int i = 0; i < 3; i++)
		if (EVP_PKEY_is_a(k, mldsa_name(CRYPTO_SIG_MLDSA_44 + i)))
			return CRYPTO_SIG_MLDSA_44 + i;
	return CRYPTO_SIG_NONE;
}

uint16_t crypto_sig_hash(enum crypto_sig_scheme s)
{
	const EVP_MD *md = scheme_md(s);

	if (scheme_is_mldsa(s))
		return CRYPTO_HASH_IDENTITY;

	if (md == EVP_sha256())
		return CRYPTO_HASH_SHA2_256;
	if (md == EVP_sha384())
		return CRYPTO_HASH_SHA2_384;
	if (md == EVP_sha512())
		return CRYPTO_HASH_SHA2_512;
	return 0;
}

const char *crypto_sig_scheme_name(enum crypto_sig_scheme s)
{
	static const char *const names[] = {
		[CRYPTO_SIG_NONE] = "none",
		[CRYPTO_SIG_RSA_PKCS1_SHA256] = "RSASSA-PKCS1-v1_5 with SHA2-256",
		[CRYPTO_SIG_RSA_PKCS1_SHA384] = "RSASSA-PKCS1-v1_5 with SHA2-384",
		[CRYPTO_SIG_RSA_PKCS1_SHA512] = "RSASSA-PKCS1-v1_5 with SHA2-512",
		[CRYPTO_SIG_RSA_PSS_SHA256] = "RSASSA-PSS with SHA2-256",
		[CRYPTO_SIG_RSA_PSS_SHA384] = "RSASSA-PSS with SHA2-384",
		[CRYPTO_SIG_RSA_PSS_SHA512] = "RSASSA-PSS with SHA2-512",
		[CRYPTO_SIG_ECDSA_SHA256] = "ECDSA with SHA2-256",
		[CRYPTO_SIG_ECDSA_SHA384] = "ECDSA with SHA2-384",
		[CRYPTO_SIG_ECDSA_SHA512] = "ECDSA with SHA2-512",
		[CRYPTO_SIG_MLDSA_44] = "ML-DSA-44",
		[CRYPTO_SIG_MLDSA_65] = "ML-DSA-65",
		[CRYPTO_SIG_MLDSA_87] = "ML-DSA-87",
	};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static bool scheme_is_pss(enum crypto_sig_scheme s)
{
	return s == CRYPTO_SIG_RSA_PSS_SHA256 || s == CRYPTO_SIG_RSA_PSS_SHA384 ||
	       s == CRYPTO_SIG_RSA_PSS_SHA512;
}

static bool scheme_is_ecdsa(enum crypto_sig_scheme s)
{
	return s == CRYPTO_SIG_ECDSA_SHA256 || s == CRYPTO_SIG_ECDSA_SHA384 ||
	       s == CRYPTO_SIG_ECDSA_SHA512;
}

static bool key_is_rsa(EVP_PKEY *k)
{
	/* An RSASSA-PSS-only key (id-RSASSA-PSS SPKI) is still RSA; OpenSSL
	 * refuses PKCS#1 v1.5 with it by itself. */
	return EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS");
}

static bool key_is_ec(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "EC");
}

static bool key_is_pss_only(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "RSA-PSS");
}

/*
 * RFC 4055 §3.1: an RSASSA-PSS key may carry parameters that restrict it
 * to one hash (for the message and MGF1) and a minimum salt.  The hash ID
 * (CRYPTO_HASH_*) it is restricted to, 0 for none, -1 when it restricts
 * it to something we cannot sign with (another MGF1 hash, a longer salt
 * than the hash, a hash we do not do).
 */
static int pss_key_hash(EVP_PKEY *k)
{
	static const struct { const char *name; int id; } md[] = {
		{ "SHA2-256", CRYPTO_HASH_SHA2_256 },
		{ "SHA2-384", CRYPTO_HASH_SHA2_384 },
		{ "SHA2-512", CRYPTO_HASH_SHA2_512 },
	};
	char dig[64] = "", mgf[64] = "";
	int salt = 0, id = -1;
	EVP_MD *m;
	size_t i;

	if (!key_is_pss_only(k) ||
	    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_RSA_DIGEST, dig, sizeof(dig), NULL))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, mgf,
					   sizeof(mgf), NULL) &&
	    strcasecmp(mgf, dig))
		return -1;
	EVP_PKEY_get_int_param(k, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, &salt);
	m = EVP_MD_fetch(NULL, dig, NULL);
	for (i = 0; m && i < sizeof(md) / sizeof(md[0]); i++)
		if (EVP_MD_is_a(m, md[i].name) && salt <= EVP_MD_get_size(m))
			id = md[i].id;
	EVP_MD_free(m);
	return id;
}

/* Can key sign with scheme s (PSS-only keys: PSS, with their hash)? */
static bool scheme_fits_key(enum crypto_sig_scheme s, EVP_PKEY *k)
{
	int h;

	if (scheme_is_mldsa(s))
		return key_mldsa(k) == s;
	if (scheme_is_ecdsa(s))
		return key_is_ec(k);
	if (!key_is_rsa(k))
		return false;
	if (!key_is_pss_only(k))
		return true;
	h = pss_key_hash(k);
	return scheme_is_pss(s) && (!h || h == crypto_sig_hash(s));
}

/* The AlgorithmIdentifier we send for a scheme. */
static size_t scheme_algid(enum crypto_sig_scheme s, uint8_t out[PSS_ALGID_MAX])
{
	const uint8_t *p = NULL;
	size_t n = 0;

	switch (s) {
	case CRYPTO_SIG_RSA_PKCS1_SHA256:
		p = algid_rsa_sha256, n = sizeof(algid_rsa_sha256);
		break;
	case CRYPTO_SIG_RSA_PKCS1_SHA384:
		p = algid_rsa_sha384, n = sizeof(algid_rsa_sha384);
		break;
	case CRYPTO_SIG_RSA_PKCS1_SHA512:
		p = algid_rsa_sha512, n = sizeof(algid_rsa_sha512);
		break;
	case CRYPTO_SIG_ECDSA_SHA256:
		p = algid_ecdsa_sha256, n = sizeof(algid_ecdsa_sha256);
		break;
	case CRYPTO_SIG_ECDSA_SHA384:
		p = algid_ecdsa_sha384, n = sizeof(algid_ecdsa_sha384);
		break;
	case CRYPTO_SIG_ECDSA_SHA512:
		p = algid_ecdsa_sha512, n = sizeof(algid_ecdsa_sha512);
		break;
	case CRYPTO_SIG_RSA_PSS_SHA256:
		return pss_algid(0x01, 32, true, out);
	case CRYPTO_SIG_RSA_PSS_SHA384:
		return pss_algid(0x02, 48, true, out);
	case CRYPTO_SIG_RSA_PSS_SHA512:
		return pss_algid(0x03, 64, true, out);
	case CRYPTO_SIG_MLDSA_44:
	case CRYPTO_SIG_MLDSA_65:
	case CRYPTO_SIG_MLDSA_87:
		/* Unknown where OpenSSL cannot sign or verify them. */
		if (!crypto_sig_supported(s))
			return 0;
		p = s == CRYPTO_SIG_MLDSA_44 ? algid_mldsa_44 :
		    s == CRYPTO_SIG_MLDSA_65 ? algid_mldsa_65 : algid_mldsa_87;
		n = sizeof(algid_mldsa_65);
		break;
	default:
		return 0;
	}
	memcpy(out, p, n);
	return n;
}

/* The scheme of a received AlgorithmIdentifier, NONE if unknown. */
static enum crypto_sig_scheme algid_scheme(const uint8_t *a, size_t len)
{
	static const enum crypto_sig_scheme all[] = {
		CRYPTO_SIG_RSA_PKCS1_SHA256, CRYPTO_SIG_RSA_PKCS1_SHA384,
		CRYPTO_SIG_RSA_PKCS1_SHA512, CRYPTO_SIG_RSA_PSS_SHA256,
		CRYPTO_SIG_RSA_PSS_SHA384, CRYPTO_SIG_RSA_PSS_SHA512,
		CRYPTO_SIG_ECDSA_SHA256, CRYPTO_SIG_ECDSA_SHA384,
		CRYPTO_SIG_ECDSA_SHA512, CRYPTO_SIG_MLDSA_44, CRYPTO_SIG_MLDSA_65,
		CRYPTO_SIG_MLDSA_87,
	};
	uint8_t want[PSS_ALGID_MAX];
	size_t i, n;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		n = scheme_algid(all[i], want);
		if (n == len && !memcmp(want, a, len))
			return all[i];
		if (scheme_is_pss(all[i])) {
			/* Same parameters without the default trailerField. */
			n = pss_algid(want[29], want[66], false, want);
			if (n == len && !memcmp(want, a, len))
				return all[i];
		}
	}
	return CRYPTO_SIG_NONE;
}

enum crypto_sig_scheme crypto_sig_choose(EVP_PKEY *key, uint32_t peer_hashes,
					 bool pss)
{
	static const struct {
		uint16_t hash;
		enum crypto_sig_scheme pkcs1, pss, ecdsa;
	} t[] = {
		{ CRYPTO_HASH_SHA2_256, CRYPTO_SIG_RSA_PKCS1_SHA256,
		  CRYPTO_SIG_RSA_PSS_SHA256, CRYPTO_SIG_ECDSA_SHA256 },
		{ CRYPTO_HASH_SHA2_384, CRYPTO_SIG_RSA_PKCS1_SHA384,
		  CRYPTO_SIG_RSA_PSS_SHA384, CRYPTO_SIG_ECDSA_SHA384 },
		{ CRYPTO_HASH_SHA2_512, CRYPTO_SIG_RSA_PKCS1_SHA512,
		  CRYPTO_SIG_RSA_PSS_SHA512, CRYPTO_SIG_ECDSA_SHA512 },
	};
	enum crypto_sig_scheme mldsa = key_mldsa(key);
	size_t i, first = 0;
	int only = 0;

	/* ML-DSA signs the octets themselves: only for a peer that said it
	 * takes that, with Identity (draft-ietf-ipsecme-ikev2-pqc-auth). */
	if (mldsa)
		return peer_hashes & (1u << CRYPTO_HASH_IDENTITY) && crypto_sig_supported(mldsa) ?
		       mldsa : CRYPTO_SIG_NONE;
	if (!peer_hashes)
		peer_hashes = 1u << CRYPTO_HASH_SHA2_256;
	if (key_is_pss_only(key)) {
		pss = true;
		only = pss_key_hash(key);
		if (only < 0)
			return CRYPTO_SIG_NONE;
	}
	if (key_is_ec(key)) {
		/* Prefer the hash matching the curve (RFC 5656 §6.2.1). */
		int bits = EVP_PKEY_get_bits(key);

		first = bits > 384 ? 2 : bits > 256 ? 1 : 0;
	} else if (!key_is_rsa(key)) {
		return CRYPTO_SIG_NONE;
	}
	for (i = 0; i < 3; i++) {
		size_t j = (first + i) % 3;

		if (!(peer_hashes & (1u << t[j].hash)) || (only && only != t[j].hash))
			continue;
		if (key_is_ec(key))
			return t[j].ecdsa;
		return pss ? t[j].pss : t[j].pkcs1;
	}
	return CRYPTO_SIG_NONE;
}

int crypto_sig_hash_notify(struct buf *out)
{
	bool mldsa = crypto_sig_supported(CRYPTO_SIG_MLDSA_44) ||
		     crypto_sig_supported(CRYPTO_SIG_MLDSA_65) ||
		     crypto_sig_supported(CRYPTO_SIG_MLDSA_87);

	if (buf_put_u16(out, CRYPTO_HASH_SHA2_256) ||
	    buf_put_u16(out, CRYPTO_HASH_SHA2_384) ||
	    buf_put_u16(out, CRYPTO_HASH_SHA2_512) ||
	    (mldsa && buf_put_u16(out, CRYPTO_HASH_IDENTITY)))
		return -ENOMEM;
	return 0;
}

int crypto_sig_hash_parse(const uint8_t *data, size_t len, uint32_t *mask)
{
	struct cursor c;
	uint16_t h;

	*mask = 0;
	if (len % 2)
		return -EMSGSIZE;
	cur_init(&c, data, len);
	while (cur_left(&c) && cur_u16(&c, &h))
		if (h == CRYPTO_HASH_SHA2_256 || h == CRYPTO_HASH_SHA2_384 ||
		    h == CRYPTO_HASH_SHA2_512 || h == CRYPTO_HASH_IDENTITY)
			*mask |= 1u << h;
	return cur_ok(&c) ? 0 : -EMSGSIZE;
}

/* --- sign / verify ------------------------------------------------------ */

static int set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md, EVP_PKEY *key)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md)) <= 0)
		return -EIO;
	/* A key restricted to one hash has its MGF1 hash set already (the
	 * same, scheme_fits_key() saw to it), and OpenSSL refuses to be
	 * told again. */
	if (pss_key_hash(key) <= 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)
		return -EIO;
	return 0;
}

/* A DER signature with key under scheme (padding for RSA) into out; no
 * digest for ML-DSA, which signs the data itself (pure ML-DSA, FIPS 204
 * §5.2 with an empty context). */
static int do_sign(EVP_PKEY *key, enum crypto_sig_scheme s,
		   const uint8_t *data, size_t len, struct buf *out)
{
	const EVP_MD *md = scheme_md(s);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t siglen = 0, start = out->len;
	uint8_t *p;
	int ret = -EIO;

	if (!mctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key) <= 0)
		goto out;
	if (scheme_is_pss(s) && set_pss(pctx, md, key))
		goto out;
	if (EVP_DigestSign(mctx, NULL, &siglen, data, len) <= 0)
		goto out;
	p = buf_extend(out, siglen);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(mctx, p, &siglen, data, len) <= 0) {
		out->len = start;
		goto out;
	}
	out->len = start + siglen;	/* ECDSA DER may come out shorter */
	ret = 0;
out:
	if (ret == -EIO) {
		log_err("crypto: signing failed: %s",
			ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
	}
	EVP_MD_CTX_free(mctx);
	return ret;
}

static int do_verify(EVP_PKEY *pub, enum crypto_sig_scheme s,
		     const uint8_t *sig, size_t siglen,
		     const uint8_t *data, size_t len)
{
	const EVP_MD *md = scheme_md(s);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ret = -EIO;

	if (!mctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pub) <= 0)
		goto out;
	if (scheme_is_pss(s) && set_pss(pctx, md, pub))
		goto out;
	ret = EVP_DigestVerify(mctx, sig, siglen, data, len) == 1 ? 0 :
	      -EBADMSG;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	return ret;
}

/* RFC 4754: method 9/10/11 fix curve and hash together. */
static int ecdsa_method(uint8_t method, int *bits, size_t *flen,
			enum crypto_sig_scheme *s)
{
	switch (method) {
	case CRYPTO_AUTH_ECDSA_256:
		*bits = 256, *flen = 32, *s = CRYPTO_SIG_ECDSA_SHA256;
		return 0;
	case CRYPTO_AUTH_ECDSA_384:
		*bits = 384, *flen = 48, *s = CRYPTO_SIG_ECDSA_SHA384;
		return 0;
	case CRYPTO_AUTH_ECDSA_521:
		*bits = 521, *flen = 66, *s = CRYPTO_SIG_ECDSA_SHA512;
		return 0;
	}
	return -ENOTSUP;
}

/* RFC 7427 §3: ASN.1 length (1) | AlgorithmIdentifier | signature. */
static int split_sig(const uint8_t *auth, size_t authlen, enum crypto_sig_scheme *s,
		     const uint8_t **sig, size_t *siglen)
{
	struct cursor c;
	const uint8_t *algid;
	uint8_t alen;

	cur_init(&c, auth, authlen);
	if (!cur_u8(&c, &alen) || !(algid = cur_take(&c, alen)) || !cur_left(&c))
		return -EMSGSIZE;
	*siglen = cur_left(&c);
	*sig = cur_take(&c, *siglen);
	*s = algid_scheme(algid, alen);
	return 0;
}

enum crypto_sig_scheme crypto_auth_scheme(uint8_t method, const uint8_t *auth,
					  size_t authlen)
{
	enum crypto_sig_scheme s = CRYPTO_SIG_NONE;
	const uint8_t *sig;
	size_t siglen, flen;
	int bits;

	if (method == CRYPTO_AUTH_DIGITAL_SIGNATURE) {
		if (split_sig(auth, authlen, &s, &sig, &siglen))
			return CRYPTO_SIG_NONE;
		return s;
	}
	if (ecdsa_method(method, &bits, &flen, &s))
		return CRYPTO_SIG_NONE;
	return s;
}

int crypto_auth_sign(EVP_PKEY *key, uint8_t method,
		     enum crypto_sig_scheme scheme,
		     const uint8_t *octets, size_t octlen, struct buf *out)
{
	uint8_t algid[PSS_ALGID_MAX];
	struct buf der = BUF_INIT;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *sv;
	const uint8_t *dp;
	size_t n, flen;
	uint8_t *p;
	int bits, ret;

	buf_reset(out);
	if (method == CRYPTO_AUTH_DIGITAL_SIGNATURE) {
		n = scheme_algid(scheme, algid);
		if (!n)
			return -ENOTSUP;
		if (!scheme_fits_key(scheme, key)) {
			log_err("crypto: signature scheme %s does not fit the key",
				crypto_sig_scheme_name(scheme));
			return -EINVAL;
		}
		/* Length of the ASN.1 AlgorithmIdentifier, then it. */
		if (buf_put_u8(out, (uint8_t)n) || buf_append(out, algid, n))
			return -ENOMEM;
		ret = do_sign(key, scheme, octets, octlen, out);
		if (ret)
			buf_reset(out);
		return ret;
	}
	if (method == CRYPTO_AUTH_RSA_SIG) {
		log_err("crypto: AUTH method 1 (RSA with SHA-1) refused: "
			"SHA-1 signatures are obsolete, use method 14");
		return -ENOTSUP;
	}
	ret = ecdsa_method(method, &bits, &flen, &scheme);
	if (ret)
		return ret;
	if (!key_is_ec(key) || EVP_PKEY_get_bits(key) != bits) {
		log_err("crypto: AUTH method %u needs an ECDSA P-%d key",
			method, bits);
		return -EINVAL;
	}
	ret = do_sign(key, scheme, octets, octlen, &der);
	if (ret)
		return ret;
	/* RFC 4754 §7: r and s each as a fixed-length big-endian integer. */
	dp = der.data;
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)der.len);
	ret = -EIO;
	if (!sig)
		goto out;
	ECDSA_SIG_get0(sig, &r, &sv);
	p = buf_extend(out, 2 * flen);
	if (p && BN_bn2binpad(r, p, (int)flen) == (int)flen &&
	    BN_bn2binpad(sv, p + flen, (int)flen) == (int)flen)
		ret = 0;
out:
	ECDSA_SIG_free(sig);
	buf_free(&der);
	if (ret)
		buf_reset(out);
	return ret;
}

/* Raw r | s (RFC 4754) to the DER Ecdsa-Sig-Value OpenSSL verifies. */
static int raw_to_der(const uint8_t *rs, size_t flen, struct buf *der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, (int)flen, NULL);
	BIGNUM *s = BN_bin2bn(rs + flen, (int)flen, NULL);
	uint8_t *p = NULL;
	int n, ret = -ENOMEM;

	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
		goto out;
	r = s = NULL;	/* owned by sig */
	n = i2d_ECDSA_SIG(sig, &p);
	if (n > 0 && !buf_append(der, p, (size_t)n))
		ret = 0;
	OPENSSL_free(p);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}

int crypto_auth_verify(EVP_PKEY *pub, uint8_t method,
		       const uint8_t *auth, size_t authlen,
		       const uint8_t *octets, size_t octlen)
{
	enum crypto_sig_scheme s;
	const uint8_t *sig;
	struct buf der = BUF_INIT;
	size_t flen, siglen;
	int bits, ret;

	if (method == CRYPTO_AUTH_DIGITAL_SIGNATURE) {
		if (split_sig(auth, authlen, &s, &sig, &siglen))
			return -EMSGSIZE;
		if (s == CRYPTO_SIG_NONE) {
			log_warn("crypto: AUTH uses an unknown or unsupported "
				 "signature AlgorithmIdentifier");
			return -ENOTSUP;
		}
		if (scheme_is_mldsa(s) ? key_mldsa(pub) != s :
		    scheme_is_ecdsa(s) ? !key_is_ec(pub) : !key_is_rsa(pub)) {
			log_warn("crypto: AUTH signature algorithm does not "
				 "match the peer's key type");
			return -EBADMSG;
		}
		return do_verify(pub, s, sig, siglen, octets, octlen);
	}
	if (method == CRYPTO_AUTH_RSA_SIG) {
		log_warn("crypto: peer uses AUTH method 1 (RSA with SHA-1): "
			 "refused, SHA-1 signatures are obsolete");
		return -ENOTSUP;
	}
	ret = ecdsa_method(method, &bits, &flen, &s);
	if (ret) {
		log_warn("crypto: AUTH method %u not supported", method);
		return ret;
	}
	if (authlen != 2 * flen)
		return -EMSGSIZE;
	if (!key_is_ec(pub) || EVP_PKEY_get_bits(pub) != bits)
		return -EBADMSG;
	ret = raw_to_der(auth, flen, &der);
	if (!ret)
		ret = do_verify(pub, s, der.data, der.len, octets, octlen);
	buf_free(&der);
	return ret;
}
