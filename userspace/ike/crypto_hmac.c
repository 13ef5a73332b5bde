// SPDX-License-Identifier: GPL-2.0
/*
 * HMAC through EVP_MAC, the PRF and prf+ of RFC 7296 §2.13.
 */
#define LOG_SUBSYS LOG_SUB_CRYPTO

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "log.h"

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
	const char *md = crypto_prf_digest(prf);
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

int crypto_prf_plus(uint16_t prf, const uint8_t *key, size_t keylen,
		    const uint8_t *seed, size_t seedlen, size_t outlen,
		    struct buf *out)
{
	const char *md = crypto_prf_digest(prf);
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
