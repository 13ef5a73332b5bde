/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IKEv2 cryptography through OpenSSL 3 EVP, one responsibility a file:
 *   crypto_suite.c   transform lengths and digests, suite checks
 *   crypto_esp.c     ESP algorithms by their kernel names, keying length
 *   crypto_rand.c    random bytes, SPIs, nonces; constant-time compare
 *   crypto_hmac.c    HMAC, prf and prf+ (RFC 7296 §2.13)
 *   crypto_keys.c    the key schedule (§2.14, §2.17, §2.18)
 *   crypto_kex.c     key exchange (ECDH, ML-KEM, ...) and its key pool
 *   crypto_sk.c      SK / SKF payload protection (§3.14, RFC 7383)
 *   crypto_auth.c    AUTH payloads: PSK and signatures (RFC 7427)
 *   crypto_cert.c    certificates, chains, CERTREQ hashes
 *   crypto_puzzle.c  RFC 8019 puzzles
 *   crypto_natd.c    NAT detection hashes (§2.23)
 *   crypto_cookie.c  COOKIE values (§2.6)
 *   crypto_fetch.c   digests and ciphers fetched once
 *
 * Conventions:
 *  - Transform IDs are the IANA IKEv2 numbers (RFC 7296 §3.3.2 and the
 *    IANA "IKEv2 Parameters" registry); the CRYPTO_* constants below are
 *    those numbers, so values from wire.h may be passed directly.
 *  - Functions return 0 or -errno.  Distinct errors:
 *      -ENOTSUP   algorithm/group/method not supported
 *      -EINVAL    bad argument from the caller (programming error)
 *      -EMSGSIZE  input of the wrong size (peer KE value, SK payload too
 *                 short or not block aligned, lengths inconsistent)
 *      -EBADMSG   integrity/ICV/signature check failed
 *      -EPROTO    invalid peer value (KE not in range or not on the
 *                 curve, bad padding after authenticated decryption)
 *      -ENOMEM    allocation failure
 *      -EIO       OpenSSL failed unexpectedly (logged with its error)
 *  - Every secret output is a struct buf whose previous content is wiped
 *    and replaced; the caller releases it with buf_wipe().  Nothing secret
 *    is ever logged.
 */
#ifndef TCPIKE_CRYPTO_H
#define TCPIKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"

/* --- IANA numbers (same values as wire.h) ------------------------------- */

/* Transform Type 1, encryption (RFC 7296, RFC 5282, RFC 7634) */
#define CRYPTO_ENCR_AES_CBC		12
#define CRYPTO_ENCR_AES_GCM_8		18
#define CRYPTO_ENCR_AES_GCM_12		19
#define CRYPTO_ENCR_AES_GCM_16		20
#define CRYPTO_ENCR_CHACHA20_POLY1305	28
/* Transform Type 2, PRF (RFC 4868) */
#define CRYPTO_PRF_HMAC_SHA2_256	5
#define CRYPTO_PRF_HMAC_SHA2_384	6
#define CRYPTO_PRF_HMAC_SHA2_512	7
/* Transform Type 3, integrity (RFC 4868) */
#define CRYPTO_INTEG_NONE		0
#define CRYPTO_INTEG_HMAC_SHA2_256_128	12
#define CRYPTO_INTEG_HMAC_SHA2_384_192	13
#define CRYPTO_INTEG_HMAC_SHA2_512_256	14
/* Transform Type 4, key exchange method (RFC 3526, RFC 5903, RFC 8031) */
#define CRYPTO_KE_NONE			0
#define CRYPTO_KE_MODP_2048		14
#define CRYPTO_KE_MODP_3072		15
#define CRYPTO_KE_MODP_4096		16
#define CRYPTO_KE_ECP_256		19
#define CRYPTO_KE_ECP_384		20
#define CRYPTO_KE_ECP_521		21
#define CRYPTO_KE_CURVE25519		31
#define CRYPTO_KE_CURVE448		32
/* ML-KEM (FIPS 203; draft-ietf-ipsecme-ikev2-mlkem): OpenSSL 3.5 or later */
#define CRYPTO_KE_MLKEM_512		35
#define CRYPTO_KE_MLKEM_768		36
#define CRYPTO_KE_MLKEM_1024		37
/* Authentication methods (RFC 7296 §3.8, RFC 4754, RFC 7427) */
#define CRYPTO_AUTH_RSA_SIG		1
#define CRYPTO_AUTH_PSK			2
#define CRYPTO_AUTH_ECDSA_256		9
#define CRYPTO_AUTH_ECDSA_384		10
#define CRYPTO_AUTH_ECDSA_521		11
#define CRYPTO_AUTH_DIGITAL_SIGNATURE	14
/* ID types (RFC 7296 §3.5) */
#define CRYPTO_ID_IPV4_ADDR		1
#define CRYPTO_ID_FQDN			2
#define CRYPTO_ID_RFC822_ADDR		3
#define CRYPTO_ID_IPV6_ADDR		5
#define CRYPTO_ID_DER_ASN1_DN		9
/* Hash algorithms for SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) */
#define CRYPTO_HASH_SHA1		1
#define CRYPTO_HASH_SHA2_256		2
#define CRYPTO_HASH_SHA2_384		3
#define CRYPTO_HASH_SHA2_512		4
#define CRYPTO_HASH_IDENTITY		5	/* RFC 8420: no prehash (ML-DSA) */

/* Largest sizes anything here produces (for stack arrays). */
#define CRYPTO_MAX_PRF_LEN	64
#define CRYPTO_MAX_KEY_LEN	64	/* encr key + salt, or integ key */
#define CRYPTO_MAX_ICV_LEN	32
#define CRYPTO_MAX_IV_LEN	16

/* --- suites ------------------------------------------------------------- */

/* One negotiated IKE SA (or Child SA) suite; encr_keylen in bits. */
struct ike_suite {
	uint16_t encr, encr_keylen, prf, integ, ke;
	bool esn;
	/* RFC 9370: the methods of Additional Key Exchange 1..7, in type
	 * order; 0 (NONE) where none takes place. */
	uint16_t addke[7];
};

/* True if encr with that key length (bits; 0 = the default) is known. */
bool crypto_encr_supported(uint16_t encr, uint16_t keylen);
bool crypto_encr_is_aead(uint16_t encr);
/* Key bytes for SK_e/ESP including the AEAD salt (4 bytes for AES-GCM,
 * RFC 4106 §8.1 / RFC 5282 §7.1; 4 bytes for ChaCha20-Poly1305, RFC 7634
 * §3).  0 if unsupported. */
size_t crypto_encr_key_len(uint16_t encr, uint16_t keylen);
size_t crypto_encr_iv_len(uint16_t encr);	/* explicit IV on the wire */
/* Plaintext alignment of the SK payload (cipher block size; 1 for AEAD
 * stream modes, RFC 5282 §3, RFC 7634 §2). */
size_t crypto_encr_block_len(uint16_t encr);
size_t crypto_encr_icv_len(uint16_t encr);	/* AEAD tag; 0 for CBC */
bool crypto_prf_supported(uint16_t prf);
size_t crypto_prf_len(uint16_t prf);		/* output = preferred key */
bool crypto_integ_supported(uint16_t integ);
size_t crypto_integ_key_len(uint16_t integ);
size_t crypto_integ_icv_len(uint16_t integ);	/* truncated output */
/* Checks that the combination is usable for IKE (AEAD => integ NONE,
 * CBC => integ required, all IDs supported).  0 or -ENOTSUP. */
int crypto_suite_check(const struct ike_suite *s);

/*
 * Linux XFRM algorithm names for an ESP SA (what `ip xfrm state` takes):
 * AES-GCM-16 -> aead "rfc4106(gcm(aes))" icv 128 (GCM-12: 96, GCM-8: 64),
 * ChaCha20-Poly1305 -> aead "rfc7539esp(chacha20,poly1305)" icv 128,
 * AES-CBC -> enc "cbc(aes)" with auth "hmac(sha256)" trunc 128,
 * "hmac(sha384)" trunc 192, "hmac(sha512)" trunc 256.
 * Key lengths are the bytes the engine takes from KEYMAT per direction,
 * in RFC 7296 §2.17 order (encryption key first, then integrity key).
 */
struct crypto_esp_algs {
	bool aead;
	char enc_name[40];	/* aead name if aead, else cipher name */
	unsigned int icv_bits;	/* aead only */
	char auth_name[40];	/* empty for aead */
	unsigned int trunc_bits;	/* auth only */
	size_t enc_key_len;	/* bytes, salt included */
	size_t auth_key_len;	/* bytes, 0 for aead */
};
int crypto_esp_xfrm_names(uint16_t encr, uint16_t keylen, uint16_t integ,
			  struct crypto_esp_algs *out);
/* KEYMAT bytes needed for both directions of one Child SA. */
size_t crypto_esp_keymat_len(const struct crypto_esp_algs *a);

/* --- random ------------------------------------------------------------- */

int crypto_random(void *p, size_t len);		/* RAND_bytes, small requests from a block */
int crypto_random_priv(void *p, size_t len);	/* the same from RAND_priv_bytes: private keys */
uint64_t crypto_random_spi(void);		/* never 0 */
/* A fresh nonce of len bytes (RFC 7296 §2.10: at least half the PRF key
 * size, 16..256 bytes) in out (replaced). */
int crypto_nonce(struct buf *out, size_t len);

/* --- key exchange (RFC 7296 §2.14, RFC 3526, RFC 5903, RFC 8031) ------- */

struct ike_kex;

/*
 * Key exchange methods (Transform Type 4).  A Diffie-Hellman group's two
 * KE values are alike; ML-KEM's are not: the initiator sends an
 * encapsulation key, the responder the ciphertext made from it.  So:
 *   initiator: kex_new, kex_public (sent), kex_derive(responder's value)
 *   responder: kex_new_responder, kex_derive(initiator's value),
 *              kex_public (sent)
 * The responder's kex_public before its kex_derive is -EINVAL for ML-KEM.
 */
bool kex_supported(uint16_t group);	/* ML-KEM: only if OpenSSL has it */
/* Length of the initiator's KE payload data for the group, 0 if not
 * supported: MODP prime length, ECP 2*field, X25519 32, X448 56, ML-KEM
 * its encapsulation key (800, 1184, 1568). */
size_t kex_public_len(uint16_t group);
/* Length of the responder's: the same but ML-KEM's ciphertext (768, 1088,
 * 1568). */
size_t kex_response_len(uint16_t group);
/* The initiator's kex: an ephemeral key pair; NULL if unsupported or on
 * error. */
struct ike_kex *kex_new(uint16_t group);
/* The responder's kex: kex_new() for a DH group; ML-KEM's has no key pair
 * (kex_derive encapsulates). */
struct ike_kex *kex_new_responder(uint16_t group);
/*
 * For known-answer tests only: a kex from a fixed private key (big-endian
 * scalar for ECP, raw for X25519/X448, ML-KEM's decapsulation key dk of
 * 768k + 96 bytes, FIPS 203 §7.1, whose H(ek) must match: an initiator
 * that decapsulates with it).  ECP also needs the matching public value in
 * IKE encoding (x || y).  MODP is not supported here.
 */
struct ike_kex *kex_new_from_private(uint16_t group, const uint8_t *priv,
				     size_t privlen, const uint8_t *pub,
				     size_t publen);
/*
 * For known-answer tests only: an ML-KEM responder whose encapsulation
 * takes m (32 bytes, FIPS 203 ML-KEM.Encaps_internal's randomness) instead
 * of fresh random bytes; NULL for another method or length.
 */
struct ike_kex *kex_new_responder_fixed(uint16_t group, const uint8_t *m, size_t len);
uint16_t kex_group(const struct ike_kex *k);
/* Our public value in IKE encoding into out (replaced). */
int kex_public(const struct ike_kex *k, struct buf *out);
/*
 * Validates the peer's public value (exact length -EMSGSIZE; MODP
 * 1 < y < p-1 and in the order-q subgroup, by its Legendre symbol; ECP
 * point on the curve; both -EPROTO; each refusal logged with its reason,
 * rate limited) and derives the shared
 * secret g^ir in IKE encoding into shared (replaced): MODP padded to the
 * prime length, ECP the x coordinate (RFC 5903 §7), X25519/X448 the raw
 * output, all-zero rejected (RFC 7748 §6.1, -EPROTO).  ML-KEM: the
 * responder encapsulates to the initiator's key (FIPS 203 §7.2 key check,
 * -EPROTO; once, then -EINVAL), the initiator decapsulates; the secret is
 * the KEM's 32 bytes.
 */
int kex_derive(struct ike_kex *k, const uint8_t *peer, size_t len,
	       struct buf *shared);
void kex_free(struct ike_kex *k);	/* cleanses the private key; NULL ok */

/*
 * Key pair pool (crypto_kex.c): a thread generating ephemeral key pairs
 * ahead, up to depth per group that kex_new() was asked for, each handed
 * out once.  Start it after any privilege change (the thread keeps the
 * starter's credentials) and only where a second CPU can run it.
 * kex_pool_start: 0, -EINVAL (depth 0 or above KEX_POOL_MAX), -EALREADY or
 * the thread's error.  kex_pool_stop frees the pairs not handed out.
 */
#define KEX_POOL_MAX 256
struct kex_pool_stats {
	bool running;
	unsigned int depth, ready;	/* ready: pairs waiting, all groups */
	uint64_t hits, misses;		/* kex_new() served from the pool or not */
};
int kex_pool_start(unsigned int depth);
void kex_pool_stop(void);
void kex_pool_stats(struct kex_pool_stats *st);

/* --- PRF and key schedule (RFC 7296 §2.13, §2.14, §2.17, §2.18) --------- */

/* out (replaced) = prf(key, data), crypto_prf_len(prf) bytes. */
int crypto_prf(uint16_t prf, const uint8_t *key, size_t keylen,
	       const uint8_t *data, size_t datalen, struct buf *out);
/* out (replaced) = first outlen bytes of prf+(key, seed); -EINVAL if more
 * than 255 iterations would be needed. */
int crypto_prf_plus(uint16_t prf, const uint8_t *key, size_t keylen,
		    const uint8_t *seed, size_t seedlen, size_t outlen,
		    struct buf *out);

/*
 * RFC 8019 §7.1.3 puzzles: four different, equal-sized keys K with
 * PRF(K, s) ending in at least zbc zero bits (the cookie is s in
 * IKE_SA_INIT).  solve: 4-byte keys, zbc 0 (the responder leaves it to
 * us) is solved at CRYPTO_PUZZLE_FREE_ZBC, more than CRYPTO_PUZZLE_MAX_ZBC
 * is refused (-E2BIG).  zbc: the smallest count of trailing zero bits over
 * the four results, or -EINVAL when the solution is not four different
 * keys of 1 to crypto_prf_len() bytes.
 */
#define CRYPTO_PUZZLE_FREE_ZBC	8
#define CRYPTO_PUZZLE_MAX_ZBC	20
int crypto_puzzle_solve(uint16_t prf, const uint8_t *s, size_t slen,
			unsigned int zbc, struct buf *sol);
int crypto_puzzle_zbc(uint16_t prf, const uint8_t *s, size_t slen,
		      const uint8_t *sol, size_t len);

struct ike_keys {
	struct buf sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};

void ike_keys_init(struct ike_keys *k);
void ike_keys_wipe(struct ike_keys *k);

/*
 * Initial IKE SA keys: SKEYSEED = prf(Ni | Nr, g^ir) (HMAC PRFs take the
 * whole nonces as key), then {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi
 * | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).  SK_a* are empty for
 * AEAD suites; SK_e* include the salt.  out must be initialised; on error
 * it is wiped.
 */
int crypto_ike_keys(const struct ike_suite *s, const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, const uint8_t *gir,
		    size_t girlen, const uint8_t spii[8], const uint8_t spir[8],
		    struct ike_keys *out);
/* IKE SA rekey (§2.18): SKEYSEED = prf_old(SK_d_old, g^ir | Ni | Nr) with
 * the OLD PRF, then prf+ with the new suite's PRF as above.  Ni/Nr/SPIs
 * are those of the CREATE_CHILD_SA exchange and the new SA. */
int crypto_ike_rekey_keys(const struct ike_suite *s, uint16_t old_prf,
			  const struct buf *old_sk_d, const uint8_t *gir,
			  size_t girlen, const uint8_t *ni, size_t nilen,
			  const uint8_t *nr, size_t nrlen,
			  const uint8_t spii[8], const uint8_t spir[8],
			  struct ike_keys *out);
/* RFC 9370 §2.2.4: SKEYSEED = prf(SK_d (old), seed) with seed = SK(0) | Ni
 * | Nr | SK(1) | ... | SK(n) as the caller assembled it, the keys split
 * from it as crypto_ike_rekey_keys' (which is this with SK(0) | Ni | Nr). */
int crypto_ike_rekey_keys_seed(const struct ike_suite *s, uint16_t old_prf,
			       const struct buf *old_sk_d, const uint8_t *seed,
			       size_t seedlen, const uint8_t *ni, size_t nilen,
			       const uint8_t *nr, size_t nrlen,
			       const uint8_t spii[8], const uint8_t spir[8],
			       struct ike_keys *out);
/* Child SA KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr) (§2.17); gir may
 * be NULL (no PFS).  out (replaced) gets len bytes. */
int crypto_child_keymat(uint16_t prf, const struct buf *sk_d,
			const uint8_t *gir, size_t girlen,
			const uint8_t *ni, size_t nilen,
			const uint8_t *nr, size_t nrlen, size_t len,
			struct buf *out);

/* --- SK / SKF payload protection (RFC 7296 §3.14, RFC 5282, RFC 7634,
 *     RFC 7383 §2.5) ----------------------------------------------------- */

#define CRYPTO_SK_KEY_LEN	96

/* One direction's keys: build with crypto_sk_init(), wipe with
 * crypto_sk_wipe().  Keys are copied in. */
struct sk_ctx {
	uint16_t encr, encr_keylen, integ;
	uint8_t ekey_len, akey_len;
	/* The encryption key (|| salt), then the integrity key: an IKE SA
	 * holds two of these, and together they never need more than
	 * AES-CBC-256's and HMAC-SHA2-512's (32 + 64 bytes; AEAD: 36). */
	uint8_t key[CRYPTO_SK_KEY_LEN];
};

/* Initiator-sent messages use (SK_ei, SK_ai), responder-sent (SK_er,
 * SK_ar).  sk_a may be NULL/empty for AEAD. */
int crypto_sk_init(struct sk_ctx *k, const struct ike_suite *s,
		   const struct buf *sk_e, const struct buf *sk_a);
void crypto_sk_wipe(struct sk_ctx *k);

size_t crypto_sk_iv_len(const struct sk_ctx *k);
size_t crypto_sk_icv_len(const struct sk_ctx *k);
/* Bytes the protected part of an SK payload holding plainlen bytes of
 * inner payloads takes: IV + padded ciphertext (incl. pad length) + ICV.
 * The payload length is that plus 4 (SK) or 8 (SKF). */
size_t crypto_sk_sealed_len(const struct sk_ctx *k, size_t plainlen);
/* Largest plaintext that fits in `room` protected bytes (for RFC 7383
 * fragment sizing); 0 if none. */
size_t crypto_sk_max_plain(const struct sk_ctx *k, size_t room);

#define CRYPTO_SK_HDR_LEN	4	/* generic payload header */
#define CRYPTO_SKF_HDR_LEN	8	/* + Fragment Number, Total Fragments */

/*
 * Protects an outgoing message.  msg holds the IKE header at offset 0 and
 * ends with the SK (skf = false) or SKF (skf = true) payload header at
 * sk_off (its Next Payload and, for SKF, Fragment Number/Total set by the
 * caller).  Appends IV || ciphertext(plain | padding | pad length) || ICV,
 * patches the SK payload length and the IKE header length, then computes
 * the ICV (AEAD: AAD = msg[0 .. end of SK header], nonce = salt || IV;
 * CBC: HMAC over msg[0 .. end of ciphertext], truncated).
 */
int crypto_sk_seal(const struct sk_ctx *k, struct buf *msg, size_t sk_off,
		   bool skf, const uint8_t *plain, size_t plainlen);
/*
 * Verifies and decrypts a received message msg[0..msglen) whose last
 * payload is SK/SKF at sk_off; the SK payload length must reach exactly
 * msglen.  The ICV is checked first (constant time) -> -EBADMSG; sizes
 * -> -EMSGSIZE; invalid pad length -> -EPROTO.  plain (replaced) gets the
 * inner payloads without padding.  Nothing is output on error.
 */
int crypto_sk_open(const struct sk_ctx *k, const uint8_t *msg, size_t msglen,
		   size_t sk_off, bool skf, struct buf *plain);

/* --- AUTH (RFC 7296 §2.15, RFC 7427, RFC 4754) -------------------------- */

/* out (replaced) = RealMessage | NonceData(peer) | prf(SK_p, IDx') where
 * id_body is the ID payload body: type, 3 reserved bytes, data.  Use the
 * own SK_p to sign, the peer's SK_p to verify. */
int crypto_auth_octets(uint16_t prf, const struct buf *sk_p,
		       const uint8_t *msg, size_t msglen,
		       const uint8_t *nonce, size_t noncelen,
		       const uint8_t *id_body, size_t idlen, struct buf *out);
/* RFC 9242 §3.3.2: chain (IntAuth_[i/r](n-1), empty before the first
 * IKE_INTERMEDIATE) replaced by prf(SK_p, chain | A | P), A being the
 * message's header to SK's generic header with adjusted lengths, P SK's
 * inner payloads in plain text. */
int crypto_int_auth(uint16_t prf, const struct buf *sk_p, struct buf *chain,
		    const uint8_t *a, size_t alen, const uint8_t *p, size_t plen);
/* out (replaced) = prf(prf(psk, "Key Pad for IKEv2"), octets). */
int crypto_auth_psk(uint16_t prf, const uint8_t *psk, size_t psklen,
		    const uint8_t *octets, size_t octlen, struct buf *out);
/* Constant-time check of received PSK AUTH data: 0 or -EBADMSG. */
int crypto_auth_psk_verify(uint16_t prf, const uint8_t *psk, size_t psklen,
			   const uint8_t *octets, size_t octlen,
			   const uint8_t *auth, size_t authlen);
/*
 * The same in two steps, for an IKE_AUTH that checks the peer's AUTH and
 * makes its own with one secret: pad (replaced) = prf(psk, "Key Pad for
 * IKEv2"), computed once, then one prf over each side's octets.  The pad
 * stands for the secret: the caller wipes it after that exchange.
 */
int crypto_auth_psk_pad(uint16_t prf, const uint8_t *psk, size_t psklen, struct buf *pad);
int crypto_auth_psk_mac(uint16_t prf, const struct buf *pad, const uint8_t *octets,
			size_t octlen, struct buf *out);
int crypto_auth_psk_check(uint16_t prf, const struct buf *pad, const uint8_t *octets,
			  size_t octlen, const uint8_t *auth, size_t authlen);

/* Signature schemes for method 14 (RFC 7427 Appendix A AlgorithmIDs). */
enum crypto_sig_scheme {
	CRYPTO_SIG_NONE = 0,
	CRYPTO_SIG_RSA_PKCS1_SHA256,
	CRYPTO_SIG_RSA_PKCS1_SHA384,
	CRYPTO_SIG_RSA_PKCS1_SHA512,
	CRYPTO_SIG_RSA_PSS_SHA256,	/* MGF1 same hash, salt = hash len */
	CRYPTO_SIG_RSA_PSS_SHA384,
	CRYPTO_SIG_RSA_PSS_SHA512,
	CRYPTO_SIG_ECDSA_SHA256,
	CRYPTO_SIG_ECDSA_SHA384,
	CRYPTO_SIG_ECDSA_SHA512,
	/* FIPS 204 pure ML-DSA (draft-ietf-ipsecme-ikev2-pqc-auth): OpenSSL
	 * 3.5 or later */
	CRYPTO_SIG_MLDSA_44,
	CRYPTO_SIG_MLDSA_65,
	CRYPTO_SIG_MLDSA_87,
};

/* Hash ID (CRYPTO_HASH_*) of a scheme: IDENTITY for ML-DSA. */
uint16_t crypto_sig_hash(enum crypto_sig_scheme s);
/* Whether this OpenSSL can sign and verify with s (ML-DSA: 3.5 or later,
 * its providers asked once). */
bool crypto_sig_supported(enum crypto_sig_scheme s);
/* "RSASSA-PSS with SHA2-256", ... for logs ("none" for NONE). */
const char *crypto_sig_scheme_name(enum crypto_sig_scheme s);
/* The scheme a received AUTH (method and data, as crypto_auth_verify
 * takes them) uses: NONE for a shared key, an unknown
 * AlgorithmIdentifier or malformed data. */
enum crypto_sig_scheme crypto_auth_scheme(uint8_t method, const uint8_t *auth,
					  size_t authlen);
/*
 * Picks a method-14 scheme for our key given the peer's
 * SIGNATURE_HASH_ALGORITHMS as a bitmask (bit n = hash ID n; 0 = peer sent
 * none, then SHA-256).  RSA keys use PKCS#1 v1.5 unless pss; RSASSA-PSS-only
 * keys (OpenSSL type RSA-PSS) always PSS, with the hash they are
 * restricted to if any; ECDSA uses the curve's hash; ML-DSA keys their
 * parameter set, only when the peer announced Identity (5).
 * CRYPTO_SIG_NONE if nothing fits.
 */
enum crypto_sig_scheme crypto_sig_choose(EVP_PKEY *key, uint32_t peer_hashes,
					 bool pss);
/* Appends the SIGNATURE_HASH_ALGORITHMS notify data (2, 3, 4, and 5 where
 * OpenSSL has ML-DSA) to out. */
int crypto_sig_hash_notify(struct buf *out);
/* Parses received SIGNATURE_HASH_ALGORITHMS data into a bitmask (unknown
 * IDs ignored).  -EMSGSIZE on an odd length. */
int crypto_sig_hash_parse(const uint8_t *data, size_t len, uint32_t *mask);

/*
 * AUTH payload data (after the 4-byte method/reserved) for `method`:
 * 14 -> ASN.1 length byte | AlgorithmIdentifier | signature (scheme must
 * match the key); 9/10/11 -> raw r || s (RFC 4754; scheme ignored, the
 * key's curve decides); 1 -> -ENOTSUP (SHA-1).  out replaced.
 */
int crypto_auth_sign(EVP_PKEY *key, uint8_t method,
		     enum crypto_sig_scheme scheme,
		     const uint8_t *octets, size_t octlen, struct buf *out);
/* Verifies AUTH data with the peer's public key: 0, -EBADMSG (bad
 * signature or key/algorithm mismatch), -ENOTSUP (unknown
 * AlgorithmIdentifier or method), -EMSGSIZE (malformed). */
int crypto_auth_verify(EVP_PKEY *pub, uint8_t method,
		       const uint8_t *auth, size_t authlen,
		       const uint8_t *octets, size_t octlen);

/* --- keys and certificates ---------------------------------------------- */

/*
 * The loaders open a credential file once, as file.h's file_open_regular()
 * does (regular, root's or ours; a private key not readable by group or
 * others), and read it.  NULL on error, and why (when not NULL) says what
 * went wrong, naming the file: opened false when the file could not be
 * opened (strerror, "not a regular file", its owner or mode), true when it
 * holds no key or certificate (OpenSSL's reason).
 */
struct cred_err {
	bool opened;
	bool unsupported;	/* a key of an algorithm this OpenSSL lacks (ML-DSA) */
	char msg[512];
};
EVP_PKEY *crypto_load_privkey(const char *path, struct cred_err *why);	/* PEM or DER */
X509 *crypto_load_cert(const char *path, struct cred_err *why);		/* PEM or DER */
/* All certificates of a PEM file (CA bundle), or its one DER certificate. */
STACK_OF(X509) *crypto_load_ca(const char *path, struct cred_err *why);
X509 *crypto_cert_from_der(const uint8_t *der, size_t len);
int crypto_cert_to_der(X509 *x, struct buf *out);	/* out replaced */
/*
 * Validates ee with intermediates (may be NULL) up to one of cas
 * (X509_verify_cert, no CRL).  at = 0 means now, else check time (tests).
 * 0 or -EKEYREJECTED, reason logged.
 */
int crypto_cert_verify(X509 *ee, STACK_OF(X509) *intermediates,
		       STACK_OF(X509) *cas, time_t at);
/* ID payload data matches the certificate: IPv4/IPv6 SAN iPAddress,
 * FQDN SAN dNSName (case-insensitive), RFC822 SAN email, DER_ASN1_DN
 * subject DER-equal. */
bool crypto_cert_matches_id(X509 *x, uint8_t id_type, const uint8_t *id,
			    size_t len);
/* CERTREQ CA field: SHA-1 of each CA's SubjectPublicKeyInfo, concatenated
 * (RFC 7296 §3.7); appended to out. */
int crypto_certreq_data(STACK_OF(X509) *cas, struct buf *out);
/* True if one of cas's SPKI hashes appears in received CERTREQ data. */
bool crypto_certreq_match(STACK_OF(X509) *cas, const uint8_t *data,
			  size_t len);

/* --- misc --------------------------------------------------------------- */

/* NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (RFC 7296
 * §2.23); addr is AF_INET or AF_INET6, port taken from it. */
int crypto_natd_hash(const uint8_t spii[8], const uint8_t spir[8],
		     const struct sockaddr *addr, uint8_t out[20]);
/* COOKIE (RFC 7296 §2.6): HMAC-SHA-256(secret, Ni | IPi | SPIi), 32
 * bytes into out. */
int crypto_cookie(const uint8_t *secret, size_t secretlen,
		  const uint8_t *ni, size_t nilen,
		  const struct sockaddr *ipi, const uint8_t spii[8],
		  uint8_t out[32]);
/* SHA-256 of len bytes into out: 0, or -EIO. */
int crypto_sha256(const void *p, size_t len, uint8_t out[32]);
/* Constant-time equality (CRYPTO_memcmp). */
bool crypto_equal(const void *a, const void *b, size_t len);

/* Shared between crypto_*.c only. */
enum crypto_md_id { CRYPTO_MD_SHA1, CRYPTO_MD_SHA2_256, CRYPTO_MD_COUNT };
enum crypto_cipher_id {
	CRYPTO_CIPHER_AES_128_CBC, CRYPTO_CIPHER_AES_192_CBC, CRYPTO_CIPHER_AES_256_CBC,
	CRYPTO_CIPHER_AES_128_GCM, CRYPTO_CIPHER_AES_192_GCM, CRYPTO_CIPHER_AES_256_GCM,
	CRYPTO_CIPHER_CHACHA20_POLY1305, CRYPTO_CIPHER_COUNT
};
/* Fetched once for every thread (crypto_fetch.c); never NULL, never freed. */
const EVP_MD *crypto_md(enum crypto_md_id id);
const EVP_CIPHER *crypto_cipher(enum crypto_cipher_id id);
struct iovec;
int crypto_hmac(const char *digest, const uint8_t *key, size_t keylen,
		const struct iovec *iov, int n, uint8_t *out, size_t outsz);
const char *crypto_prf_digest(uint16_t prf);
const char *crypto_integ_digest(uint16_t integ);

#endif
