// SPDX-License-Identifier: GPL-2.0
/*
 * Suite tables, random numbers, PRF / prf+ and the IKEv2 key schedule
 * (RFC 7296 §2.13, §2.14, §2.17, §2.18), NAT-D hashes and cookies.
 * All MACs go through EVP_MAC "HMAC".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <string.h>
#include <netinet/in.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "log.h"

/* --- suites ------------------------------------------------------------- */

bool crypto_encr_is_aead(uint16_t encr)
{
	return encr == CRYPTO_ENCR_AES_GCM_8 || encr == CRYPTO_ENCR_AES_GCM_12 ||
	       encr == CRYPTO_ENCR_AES_GCM_16 ||
	       encr == CRYPTO_ENCR_CHACHA20_POLY1305;
}

bool crypto_encr_supported(uint16_t encr, uint16_t keylen)
{
	switch (encr) {
	case CRYPTO_ENCR_AES_CBC:
	case CRYPTO_ENCR_AES_GCM_8:
	case CRYPTO_ENCR_AES_GCM_12:
	case CRYPTO_ENCR_AES_GCM_16:
		/* RFC 7296 §3.3.5: AES needs the Key Length attribute;
		 * 192 is legal but not offered by anyone we meet. */
		return keylen == 128 || keylen == 192 || keylen == 256;
	case CRYPTO_ENCR_CHACHA20_POLY1305:
		/* RFC 7634 §2: fixed 256-bit key, no attribute. */
		return keylen == 0 || keylen == 256;
	}
	return false;
}

size_t crypto_encr_key_len(uint16_t encr, uint16_t keylen)
{
	if (!crypto_encr_supported(encr, keylen))
		return 0;
	if (encr == CRYPTO_ENCR_CHACHA20_POLY1305)
		return 32 + 4;
	if (encr == CRYPTO_ENCR_AES_CBC)
		return keylen / 8;
	return keylen / 8 + 4;	/* GCM salt, RFC 5282 §7.1 */
}

size_t crypto_encr_iv_len(uint16_t encr)
{
	if (encr == CRYPTO_ENCR_AES_CBC)
		return 16;
	if (crypto_encr_is_aead(encr))
		return 8;
	return 0;
}

size_t crypto_encr_block_len(uint16_t encr)
{
	if (encr == CRYPTO_ENCR_AES_CBC)
		return 16;
	return crypto_encr_is_aead(encr) ? 1 : 0;
}

size_t crypto_encr_icv_len(uint16_t encr)
{
	switch (encr) {
	case CRYPTO_ENCR_AES_GCM_8:
		return 8;
	case CRYPTO_ENCR_AES_GCM_12:
		return 12;
	case CRYPTO_ENCR_AES_GCM_16:
	case CRYPTO_ENCR_CHACHA20_POLY1305:
		return 16;
	}
	return 0;
}

static const char *prf_digest(uint16_t prf)
{
	switch (prf) {
	case CRYPTO_PRF_HMAC_SHA2_256:
		return "SHA256";
	case CRYPTO_PRF_HMAC_SHA2_384:
		return "SHA384";
	case CRYPTO_PRF_HMAC_SHA2_512:
		return "SHA512";
	}
	return NULL;
}

bool crypto_prf_supported(uint16_t prf)
{
	return prf_digest(prf) != NULL;
}

size_t crypto_prf_len(uint16_t prf)
{
	switch (prf) {
	case CRYPTO_PRF_HMAC_SHA2_256:
		return 32;
	case CRYPTO_PRF_HMAC_SHA2_384:
		return 48;
	case CRYPTO_PRF_HMAC_SHA2_512:
		return 64;
	}
	return 0;
}

bool crypto_integ_supported(uint16_t integ)
{
	return crypto_integ_key_len(integ) != 0;
}

/* RFC 4868 §2.1: key length = hash output length, ICV = half of it. */
size_t crypto_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case CRYPTO_INTEG_HMAC_SHA2_256_128:
		return 32;
	case CRYPTO_INTEG_HMAC_SHA2_384_192:
		return 48;
	case CRYPTO_INTEG_HMAC_SHA2_512_256:
		return 64;
	}
	return 0;
}

size_t crypto_integ_icv_len(uint16_t integ)
{
	return crypto_integ_key_len(integ) / 2;
}

/* The HMAC digest of an integrity transform (same hash as the PRF). */
const char *crypto_integ_digest(uint16_t integ)
{
	switch (integ) {
	case CRYPTO_INTEG_HMAC_SHA2_256_128:
		return "SHA256";
	case CRYPTO_INTEG_HMAC_SHA2_384_192:
		return "SHA384";
	case CRYPTO_INTEG_HMAC_SHA2_512_256:
		return "SHA512";
	}
	return NULL;
}

int crypto_suite_check(const struct ike_suite *s)
{
	if (!crypto_encr_supported(s->encr, s->encr_keylen) ||
	    !crypto_prf_supported(s->prf))
		return -ENOTSUP;
	if (crypto_encr_is_aead(s->encr)) {
		/* RFC 5282 §8: AEAD is offered without integrity. */
		if (s->integ != CRYPTO_INTEG_NONE)
			return -ENOTSUP;
	} else if (!crypto_integ_supported(s->integ)) {
		return -ENOTSUP;
	}
	if (s->ke != CRYPTO_KE_NONE && !kex_supported(s->ke))
		return -ENOTSUP;
	return 0;
}

int crypto_esp_xfrm_names(uint16_t encr, uint16_t keylen, uint16_t integ,
			  struct crypto_esp_algs *out)
{
	memset(out, 0, sizeof(*out));
	if (!crypto_encr_supported(encr, keylen))
		return -ENOTSUP;
	out->enc_key_len = crypto_encr_key_len(encr, keylen);
	if (crypto_encr_is_aead(encr)) {
		if (integ != CRYPTO_INTEG_NONE)
			return -ENOTSUP;
		out->aead = true;
		out->icv_bits = crypto_encr_icv_len(encr) * 8;
		strcpy(out->enc_name, encr == CRYPTO_ENCR_CHACHA20_POLY1305 ?
		       "rfc7539esp(chacha20,poly1305)" : "rfc4106(gcm(aes))");
		return 0;
	}
	strcpy(out->enc_name, "cbc(aes)");
	switch (integ) {
	case CRYPTO_INTEG_HMAC_SHA2_256_128:
		strcpy(out->auth_name, "hmac(sha256)");
		break;
	case CRYPTO_INTEG_HMAC_SHA2_384_192:
		strcpy(out->auth_name, "hmac(sha384)");
		break;
	case CRYPTO_INTEG_HMAC_SHA2_512_256:
		strcpy(out->auth_name, "hmac(sha512)");
		break;
	default:
		return -ENOTSUP;
	}
	out->trunc_bits = crypto_integ_icv_len(integ) * 8;
	out->auth_key_len = crypto_integ_key_len(integ);
	return 0;
}

size_t crypto_esp_keymat_len(const struct crypto_esp_algs *a)
{
	return 2 * (a->enc_key_len + a->auth_key_len);
}

/* --- random ------------------------------------------------------------- */

/*
 * RAND_bytes costs the same lock, fork check and DRBG call for 4 bytes as
 * for 1 KB, and a handshake asks for a few bytes many times (SPIs, nonce,
 * IVs, jitter).  Small requests are served from a block drawn in one call;
 * every byte handed out is wiped from the block, and a forked child starts
 * with an empty block so it never repeats its parent's bytes.
 */
#define RAND_BLOCK	1024
static uint8_t rand_block[RAND_BLOCK];
static size_t rand_left;
static bool rand_atfork_set;

static void rand_forget(void)
{
	OPENSSL_cleanse(rand_block, sizeof(rand_block));
	rand_left = 0;
}

int crypto_random(void *p, size_t len)
{
	uint8_t *from;

	if (len > INT32_MAX)
		return -EINVAL;
	if (len > RAND_BLOCK / 8) {
		if (RAND_bytes(p, (int)len) != 1)
			goto fail;
		return 0;
	}
	if (!rand_atfork_set) {
		pthread_atfork(NULL, NULL, rand_forget);
		rand_atfork_set = true;
	}
	if (len > rand_left) {
		if (RAND_bytes(rand_block, RAND_BLOCK) != 1) {
			rand_forget();
			goto fail;
		}
		rand_left = RAND_BLOCK;
	}
	from = rand_block + RAND_BLOCK - rand_left;
	memcpy(p, from, len);
	OPENSSL_cleanse(from, len);
	rand_left -= len;
	return 0;
fail:
	log_err("crypto: RAND_bytes failed");
	return -EIO;
}

uint64_t crypto_random_spi(void)
{
	uint64_t spi = 0;

	while (spi == 0)
		if (crypto_random(&spi, sizeof(spi)))
			abort();	/* no entropy: nothing safe to do */
	return spi;
}

int crypto_nonce(struct buf *out, size_t len)
{
	uint8_t *p;

	if (len < 16 || len > 256)
		return -EINVAL;
	buf_wipe(out);
	p = buf_extend(out, len);
	if (!p)
		return -ENOMEM;
	return crypto_random(p, len);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* --- HMAC --------------------------------------------------------------- */

/*
 * An HMAC context per digest with the digest already set and no key, to
 * copy for each use: naming the digest on every call makes OpenSSL 3 look
 * it up by name each time, which cost more than the HMAC itself (about 5 us
 * against under 1 us for 256 bytes) and, at 16 PRF calls per IKE SA, more
 * than the X25519 work of a handshake.  NULL when it cannot be made (then
 * the digest is named per call as before).
 */
static EVP_MAC_CTX *hmac_template(EVP_MAC *mac, const char *digest)
{
	static struct {
		char name[16];
		EVP_MAC_CTX *ctx;
	} cache[8];
	OSSL_PARAM params[2];
	size_t i;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].ctx; i++)
		if (!strcmp(cache[i].name, digest))
			return cache[i].ctx;
	if (i == sizeof(cache) / sizeof(cache[0]) || strlen(digest) >= sizeof(cache[i].name))
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	cache[i].ctx = EVP_MAC_CTX_new(mac);
	if (!cache[i].ctx)
		return NULL;
	if (!EVP_MAC_CTX_set_params(cache[i].ctx, params)) {
		EVP_MAC_CTX_free(cache[i].ctx);
		cache[i].ctx = NULL;
		return NULL;
	}
	strcpy(cache[i].name, digest);
	return cache[i].ctx;
}

/* A context for HMAC-digest keyed with key, or NULL (logged). */
static EVP_MAC_CTX *hmac_keyed(const char *digest, const uint8_t *key, size_t keylen)
{
	static EVP_MAC *mac;
	EVP_MAC_CTX *ctx, *tmpl;
	OSSL_PARAM params[2];
	/* HMAC accepts empty keys but EVP wants a non-NULL pointer. */
	static const uint8_t nokey[1];

	if (!mac)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto fail;
	tmpl = hmac_template(mac, digest);
	ctx = tmpl ? EVP_MAC_CTX_dup(tmpl) : EVP_MAC_CTX_new(mac);
	if (!ctx)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, keylen ? key : nokey, keylen, tmpl ? NULL : params))
		return ctx;
	EVP_MAC_CTX_free(ctx);
fail:
	log_err("crypto: HMAC-%s failed", digest);
	return NULL;
}

/* The MAC of up to three pieces with ctx (keyed, fresh); out must hold it. */
static int hmac_run(EVP_MAC_CTX *ctx, const struct iovec *iov, int n, uint8_t *out,
		    size_t outsz)
{
	size_t outl = 0;
	int i;

	for (i = 0; i < n; i++)
		if (iov[i].iov_len && !EVP_MAC_update(ctx, iov[i].iov_base, iov[i].iov_len))
			goto fail;
	if (EVP_MAC_final(ctx, out, &outl, outsz))
		return 0;
fail:
	log_err("crypto: HMAC failed");
	return -EIO;
}

/* One-shot HMAC over up to three pieces; out must hold the digest. */
int crypto_hmac(const char *digest, const uint8_t *key, size_t keylen,
		const struct iovec *iov, int n, uint8_t *out, size_t outsz)
{
	EVP_MAC_CTX *ctx = hmac_keyed(digest, key, keylen);
	int ret;

	if (!ctx)
		return -EIO;
	ret = hmac_run(ctx, iov, n, out, outsz);
	EVP_MAC_CTX_free(ctx);	/* cleanses the key schedule */
	return ret;
}

int crypto_prf(uint16_t prf, const uint8_t *key, size_t keylen,
	       const uint8_t *data, size_t datalen, struct buf *out)
{
	const char *md = prf_digest(prf);
	struct iovec iov = { (void *)data, datalen };
	uint8_t t[CRYPTO_MAX_PRF_LEN];
	size_t n = crypto_prf_len(prf);
	int ret;

	if (!md)
		return -ENOTSUP;
	/* Into a local first: key or data may live in out. */
	ret = crypto_hmac(md, key, keylen, &iov, 1, t, sizeof(t));
	buf_wipe(out);
	if (!ret && buf_append(out, t, n))
		ret = -ENOMEM;
	OPENSSL_cleanse(t, sizeof(t));
	return ret;
}

/* Trailing zero bits of a PRF output (its last octet is the low end). */
static unsigned int trailing_zeros(const uint8_t *p, size_t n)
{
	unsigned int z = 0;

	while (n--) {
		uint8_t b = p[n];

		if (b) {
			while (!(b & 1)) {
				b >>= 1;
				z++;
			}
			return z;
		}
		z += 8;
	}
	return z;
}

int crypto_puzzle_solve(uint16_t prf, const uint8_t *s, size_t slen,
			unsigned int zbc, struct buf *sol)
{
	const char *md = prf_digest(prf);
	struct iovec iov = { (void *)s, slen };
	size_t n = crypto_prf_len(prf);
	uint8_t t[CRYPTO_MAX_PRF_LEN], k[4];
	uint32_t i;
	int found = 0, r;

	if (!md)
		return -ENOTSUP;
	if (zbc > CRYPTO_PUZZLE_MAX_ZBC)
		return -E2BIG;
	if (!zbc)
		zbc = CRYPTO_PUZZLE_FREE_ZBC;
	buf_reset(sol);
	/* Counting keys are different by construction; the search space
	 * (2^32) is far beyond 4 * 2^CRYPTO_PUZZLE_MAX_ZBC tries. */
	for (i = 0; found < 4; i++) {
		k[0] = (uint8_t)(i >> 24);
		k[1] = (uint8_t)(i >> 16);
		k[2] = (uint8_t)(i >> 8);
		k[3] = (uint8_t)i;
		r = crypto_hmac(md, k, sizeof(k), &iov, 1, t, sizeof(t));
		if (r)
			return r;
		if (trailing_zeros(t, n) >= zbc) {
			if (buf_append(sol, k, sizeof(k)))
				return -ENOMEM;
			found++;
		}
		if (i == UINT32_MAX)
			return -EAGAIN;
	}
	return 0;
}

int crypto_puzzle_zbc(uint16_t prf, const uint8_t *s, size_t slen,
		      const uint8_t *sol, size_t len)
{
	const char *md = prf_digest(prf);
	struct iovec iov = { (void *)s, slen };
	size_t n = crypto_prf_len(prf), kl = len / 4;
	uint8_t t[CRYPTO_MAX_PRF_LEN];
	unsigned int min = UINT32_MAX, z;
	int i, j, r;

	if (!md)
		return -ENOTSUP;
	/* §8.2: four keys of equal size, 1 octet up to the PRF's preferred
	 * key length; §7.1.3: different keys. */
	if (!len || len % 4 || kl > n)
		return -EINVAL;
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (!memcmp(sol + i * kl, sol + j * kl, kl))
				return -EINVAL;
	for (i = 0; i < 4; i++) {
		r = crypto_hmac(md, sol + i * kl, kl, &iov, 1, t, sizeof(t));
		if (r)
			return r;
		z = trailing_zeros(t, n);
		if (z < min)
			min = z;
	}
	return (int)min;
}

int crypto_prf_plus(uint16_t prf, const uint8_t *key, size_t keylen,
		    const uint8_t *seed, size_t seedlen, size_t outlen,
		    struct buf *out)
{
	const char *md = prf_digest(prf);
	size_t hlen = crypto_prf_len(prf), done = 0, n;
	uint8_t t[CRYPTO_MAX_PRF_LEN];
	EVP_MAC_CTX *ctx;
	uint8_t ctr;
	unsigned int i;
	struct iovec iov[3];
	uint8_t *p;
	int ret = 0;

	if (!md)
		return -ENOTSUP;
	/* RFC 7296 §2.13: the counter is one octet, so at most 255 blocks. */
	if (outlen > 255 * hlen)
		return -EINVAL;
	buf_wipe(out);
	p = buf_extend(out, outlen);
	if (outlen && !p)
		return -ENOMEM;
	/* One key for every block: keyed once, then re-initialised with the
	 * same key (EVP_MAC_init with none), half the cost of a new key. */
	ctx = hmac_keyed(md, key, keylen);
	if (!ctx)
		ret = -EIO;
	for (i = 1; ctx && done < outlen; i++) {
		/* T(i) = prf(K, T(i-1) | S | i), T(0) empty */
		ctr = (uint8_t)i;
		iov[0].iov_base = t;
		iov[0].iov_len = i == 1 ? 0 : hlen;
		iov[1].iov_base = (void *)seed;
		iov[1].iov_len = seedlen;
		iov[2].iov_base = &ctr;
		iov[2].iov_len = 1;
		if (i > 1 && !EVP_MAC_init(ctx, NULL, 0, NULL))
			ret = -EIO;
		else
			ret = hmac_run(ctx, iov, 3, t, sizeof(t));
		if (ret)
			break;
		n = outlen - done < hlen ? outlen - done : hlen;
		memcpy(p + done, t, n);
		done += n;
	}
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(t, sizeof(t));
	if (ret)
		buf_wipe(out);
	return ret;
}

/* --- key schedule ------------------------------------------------------- */

void ike_keys_init(struct ike_keys *k)
{
	memset(k, 0, sizeof(*k));
}

void ike_keys_wipe(struct ike_keys *k)
{
	buf_wipe(&k->sk_d);
	buf_wipe(&k->sk_ai);
	buf_wipe(&k->sk_ar);
	buf_wipe(&k->sk_ei);
	buf_wipe(&k->sk_er);
	buf_wipe(&k->sk_pi);
	buf_wipe(&k->sk_pr);
}

static int split_keys(const struct ike_suite *s, const struct buf *skeyseed,
		      const uint8_t *ni, size_t nilen, const uint8_t *nr,
		      size_t nrlen, const uint8_t spii[8], const uint8_t spir[8],
		      struct ike_keys *out)
{
	size_t dl = crypto_prf_len(s->prf);
	size_t al = crypto_encr_is_aead(s->encr) ? 0 :
		    crypto_integ_key_len(s->integ);
	size_t el = crypto_encr_key_len(s->encr, s->encr_keylen);
	size_t pl = dl;
	struct buf seed = BUF_INIT, km = BUF_INIT;
	struct {
		struct buf *b;
		size_t len;
	} parts[] = {
		{ &out->sk_d, dl }, { &out->sk_ai, al }, { &out->sk_ar, al },
		{ &out->sk_ei, el }, { &out->sk_er, el }, { &out->sk_pi, pl },
		{ &out->sk_pr, pl },
	};
	size_t off = 0, i;
	int ret;

	ike_keys_wipe(out);
	/* {SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr} =
	 *	prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
	if (buf_append(&seed, ni, nilen) || buf_append(&seed, nr, nrlen) ||
	    buf_append(&seed, spii, 8) || buf_append(&seed, spir, 8)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = crypto_prf_plus(s->prf, skeyseed->data, skeyseed->len,
			      seed.data, seed.len,
			      dl + 2 * al + 2 * el + 2 * pl, &km);
	if (ret)
		goto out;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (buf_append(parts[i].b, km.data + off, parts[i].len)) {
			ret = -ENOMEM;
			goto out;
		}
		off += parts[i].len;
	}
out:
	buf_wipe(&km);
	buf_wipe(&seed);	/* nonces are public, but cheap */
	if (ret)
		ike_keys_wipe(out);
	return ret;
}

int crypto_ike_keys(const struct ike_suite *s, const uint8_t *ni, size_t nilen,
		    const uint8_t *nr, size_t nrlen, const uint8_t *gir,
		    size_t girlen, const uint8_t spii[8], const uint8_t spir[8],
		    struct ike_keys *out)
{
	struct buf nonces = BUF_INIT, skeyseed = BUF_INIT;
	int ret;

	ret = crypto_suite_check(s);
	if (ret)
		goto out;
	/* SKEYSEED = prf(Ni | Nr, g^ir); HMAC takes the full nonces. */
	if (buf_append(&nonces, ni, nilen) || buf_append(&nonces, nr, nrlen)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = crypto_prf(s->prf, nonces.data, nonces.len, gir, girlen,
			 &skeyseed);
	if (ret)
		goto out;
	ret = split_keys(s, &skeyseed, ni, nilen, nr, nrlen, spii, spir, out);
out:
	buf_wipe(&skeyseed);
	buf_wipe(&nonces);
	if (ret)
		ike_keys_wipe(out);
	return ret;
}

int crypto_ike_rekey_keys(const struct ike_suite *s, uint16_t old_prf,
			  const struct buf *old_sk_d, const uint8_t *gir,
			  size_t girlen, const uint8_t *ni, size_t nilen,
			  const uint8_t *nr, size_t nrlen,
			  const uint8_t spii[8], const uint8_t spir[8],
			  struct ike_keys *out)
{
	struct buf data = BUF_INIT, skeyseed = BUF_INIT;
	int ret;

	ret = crypto_suite_check(s);
	if (ret)
		goto out;
	/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), old PRF. */
	if (buf_append(&data, gir, girlen) || buf_append(&data, ni, nilen) ||
	    buf_append(&data, nr, nrlen)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = crypto_prf(old_prf, old_sk_d->data, old_sk_d->len, data.data,
			 data.len, &skeyseed);
	if (ret)
		goto out;
	ret = split_keys(s, &skeyseed, ni, nilen, nr, nrlen, spii, spir, out);
out:
	buf_wipe(&skeyseed);
	buf_wipe(&data);
	if (ret)
		ike_keys_wipe(out);
	return ret;
}

int crypto_child_keymat(uint16_t prf, const struct buf *sk_d,
			const uint8_t *gir, size_t girlen,
			const uint8_t *ni, size_t nilen,
			const uint8_t *nr, size_t nrlen, size_t len,
			struct buf *out)
{
	struct buf seed = BUF_INIT;
	int ret;

	if ((gir && buf_append(&seed, gir, girlen)) ||
	    buf_append(&seed, ni, nilen) || buf_append(&seed, nr, nrlen)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = crypto_prf_plus(prf, sk_d->data, sk_d->len, seed.data, seed.len,
			      len, out);
out:
	buf_wipe(&seed);
	return ret;
}

/* --- NAT-D and cookies -------------------------------------------------- */

/* The address bytes and network-order port of a sockaddr. */
static int sa_bytes(const struct sockaddr *sa, const void **ip, size_t *iplen,
		    const void **port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		*ip = &in->sin_addr;
		*iplen = 4;
		*port = &in->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		*ip = &in6->sin6_addr;
		*iplen = 16;
		*port = &in6->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

int crypto_natd_hash(const uint8_t spii[8], const uint8_t spir[8],
		     const struct sockaddr *addr, uint8_t out[20])
{
	const void *ip, *port;
	size_t iplen;
	unsigned int outl = 0;
	EVP_MD_CTX *ctx;
	int ret;

	ret = sa_bytes(addr, &ip, &iplen, &port);
	if (ret)
		return ret;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | Port) */
	if (!EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, spii, 8) || !EVP_DigestUpdate(ctx, spir, 8) ||
	    !EVP_DigestUpdate(ctx, ip, iplen) ||
	    !EVP_DigestUpdate(ctx, port, 2) ||
	    !EVP_DigestFinal_ex(ctx, out, &outl) || outl != 20)
		ret = -EIO;
	EVP_MD_CTX_free(ctx);
	return ret;
}

int crypto_cookie(const uint8_t *secret, size_t secretlen,
		  const uint8_t *ni, size_t nilen,
		  const struct sockaddr *ipi, const uint8_t spii[8],
		  uint8_t out[32])
{
	const void *ip, *port;
	size_t iplen;
	struct iovec iov[3];
	int ret;

	ret = sa_bytes(ipi, &ip, &iplen, &port);
	if (ret)
		return ret;
	/* RFC 7296 §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi
	 * | <secret>); a keyed HMAC is the same idea, the version byte is
	 * the caller's to prepend. */
	iov[0].iov_base = (void *)ni;
	iov[0].iov_len = nilen;
	iov[1].iov_base = (void *)ip;
	iov[1].iov_len = iplen;
	iov[2].iov_base = (void *)spii;
	iov[2].iov_len = 8;
	return crypto_hmac("SHA256", secret, secretlen, iov, 3, out, 32);
}
