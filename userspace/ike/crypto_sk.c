// SPDX-License-Identifier: GPL-2.0
/*
 * Encrypted (SK, RFC 7296 §3.14) and Encrypted Fragment (SKF, RFC 7383
 * §2.5) payload protection.
 *
 * AES-CBC + HMAC: IV(16) | AES-CBC(plain | pad | padlen) | ICV, the ICV a
 * truncated HMAC over the message from the IKE header to the end of the
 * ciphertext (RFC 7296 §3.14).
 * AES-GCM (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): IV(8) | ciphertext
 * | tag, nonce = salt(4) | IV(8), AAD = IKE header .. end of the SK(F)
 * payload header (RFC 5282 §5.1, RFC 7383 §2.5).  The IV is a random
 * 64-bit value for CBC (must be unpredictable) and for AEAD (uniqueness
 * under one key is what matters; 2^64 random values make a collision
 * negligible for the message counts an IKE SA sees).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "log.h"

#define IKE_HDR_LEN	28

int crypto_sk_init(struct sk_ctx *k, const struct ike_suite *s,
		   const struct buf *sk_e, const struct buf *sk_a)
{
	bool aead = crypto_encr_is_aead(s->encr);
	size_t el = crypto_encr_key_len(s->encr, s->encr_keylen);
	size_t al = aead ? 0 : crypto_integ_key_len(s->integ);

	memset(k, 0, sizeof(*k));
	if (!el || (!aead && !al) || (aead && s->integ != CRYPTO_INTEG_NONE))
		return -ENOTSUP;
	if (!sk_e || sk_e->len != el || (al && (!sk_a || sk_a->len != al)) ||
	    el + al > sizeof(k->key))
		return -EINVAL;
	k->encr = s->encr;
	k->encr_keylen = s->encr_keylen;
	k->integ = aead ? CRYPTO_INTEG_NONE : s->integ;
	memcpy(k->key, sk_e->data, el);
	k->ekey_len = (uint8_t)el;
	if (al)
		memcpy(k->key + el, sk_a->data, al);
	k->akey_len = (uint8_t)al;
	return 0;
}

void crypto_sk_wipe(struct sk_ctx *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

size_t crypto_sk_iv_len(const struct sk_ctx *k)
{
	return crypto_encr_iv_len(k->encr);
}

size_t crypto_sk_icv_len(const struct sk_ctx *k)
{
	if (crypto_encr_is_aead(k->encr))
		return crypto_encr_icv_len(k->encr);
	return crypto_integ_icv_len(k->integ);
}

static size_t padded(const struct sk_ctx *k, size_t plainlen)
{
	size_t bs = crypto_encr_block_len(k->encr);

	/* plain | padding | pad length(1), a multiple of the block size */
	return (plainlen + 1 + bs - 1) / bs * bs;
}

size_t crypto_sk_sealed_len(const struct sk_ctx *k, size_t plainlen)
{
	return crypto_sk_iv_len(k) + padded(k, plainlen) + crypto_sk_icv_len(k);
}

size_t crypto_sk_max_plain(const struct sk_ctx *k, size_t room)
{
	size_t ov = crypto_sk_iv_len(k) + crypto_sk_icv_len(k);
	size_t bs = crypto_encr_block_len(k->encr);

	if (room <= ov + 1)
		return 0;
	room -= ov;
	room = room / bs * bs;
	return room ? room - 1 : 0;
}

static const EVP_CIPHER *sk_cipher(const struct sk_ctx *k)
{
	size_t kl = k->encr_keylen;

	switch (k->encr) {
	case CRYPTO_ENCR_AES_CBC:
		return crypto_cipher(kl == 128 ? CRYPTO_CIPHER_AES_128_CBC :
				     kl == 192 ? CRYPTO_CIPHER_AES_192_CBC :
				     CRYPTO_CIPHER_AES_256_CBC);
	case CRYPTO_ENCR_AES_GCM_8:
	case CRYPTO_ENCR_AES_GCM_12:
	case CRYPTO_ENCR_AES_GCM_16:
		return crypto_cipher(kl == 128 ? CRYPTO_CIPHER_AES_128_GCM :
				     kl == 192 ? CRYPTO_CIPHER_AES_192_GCM :
				     CRYPTO_CIPHER_AES_256_GCM);
	case CRYPTO_ENCR_CHACHA20_POLY1305:
		return crypto_cipher(CRYPTO_CIPHER_CHACHA20_POLY1305);
	}
	return NULL;
}

/*
 * AEAD in one direction.  nonce = salt | iv; for decryption the tag is
 * set before the final call and a mismatch is -EBADMSG.
 */
static int aead_crypt(const struct sk_ctx *k, bool enc, const uint8_t *iv,
		      const uint8_t *aad, size_t aadlen, const uint8_t *in,
		      size_t len, uint8_t *out, uint8_t *tag)
{
	size_t keylen = k->ekey_len - 4, taglen = crypto_sk_icv_len(k);
	uint8_t nonce[12];
	EVP_CIPHER_CTX *ctx;
	int outl, ret = -EIO;

	if (len > INT32_MAX || aadlen > INT32_MAX)
		return -EMSGSIZE;
	memcpy(nonce, k->key + keylen, 4);
	memcpy(nonce + 4, iv, 8);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* One set-up with cipher, key and nonce: 12 bytes (RFC 5282 §4,
	 * RFC 7634 §2) is both ciphers' IV length in OpenSSL, so no
	 * EVP_CTRL_AEAD_SET_IVLEN and second initialisation are needed. */
	if (!EVP_CipherInit_ex(ctx, sk_cipher(k), NULL, k->key, nonce, enc) ||
	    EVP_CIPHER_CTX_get_iv_length(ctx) != (int)sizeof(nonce))
		goto out;
	if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					 (int)taglen, tag))
		goto out;
	if (!EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, out, &outl, in, (int)len))
		goto out;
	if (!EVP_CipherFinal_ex(ctx, out + len, &outl)) {
		ret = enc ? -EIO : -EBADMSG;
		goto out;
	}
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					(int)taglen, tag))
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return ret;
}

/* AES-CBC without OpenSSL padding (IKE pads itself). */
static int cbc_crypt(const struct sk_ctx *k, bool enc, const uint8_t *iv,
		     const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl, fin, ret = -EIO;

	if (len > INT32_MAX)
		return -EMSGSIZE;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, sk_cipher(k), NULL, k->key, iv, enc) &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	    EVP_CipherUpdate(ctx, out, &outl, in, (int)len) &&
	    EVP_CipherFinal_ex(ctx, out + outl, &fin) &&
	    (size_t)(outl + fin) == len)
		ret = 0;
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

static int integ_icv(const struct sk_ctx *k, const uint8_t *data, size_t len,
		     uint8_t *icv)
{
	uint8_t full[CRYPTO_MAX_PRF_LEN];
	struct iovec iov = { (void *)data, len };
	int ret;

	ret = crypto_hmac(crypto_integ_digest(k->integ), k->key + k->ekey_len, k->akey_len,
			  &iov, 1, full, sizeof(full));
	if (!ret)
		memcpy(icv, full, crypto_integ_icv_len(k->integ));
	OPENSSL_cleanse(full, sizeof(full));
	return ret;
}

int crypto_sk_seal(const struct sk_ctx *k, struct buf *msg, size_t sk_off,
		   bool skf, const uint8_t *plain, size_t plainlen)
{
	size_t hl = skf ? CRYPTO_SKF_HDR_LEN : CRYPTO_SK_HDR_LEN;
	size_t ivl = crypto_sk_iv_len(k), icvl = crypto_sk_icv_len(k);
	size_t plen = padded(k, plainlen), start = msg->len;
	size_t total = msg->len + ivl + plen + icvl;
	bool aead = crypto_encr_is_aead(k->encr);
	uint8_t *p, *pt = NULL;
	int ret;

	if (!ivl || sk_off < IKE_HDR_LEN || sk_off + hl != msg->len)
		return -EINVAL;
	if (total - sk_off > UINT16_MAX || total > UINT32_MAX)
		return -EMSGSIZE;
	p = buf_extend(msg, ivl + plen + icvl);
	if (!p)
		return -ENOMEM;
	/* Lengths first: they are covered by the AAD / ICV. */
	buf_set_u16(msg, sk_off + 2, (uint16_t)(total - sk_off));
	buf_set_u32(msg, 24, (uint32_t)total);
	ret = crypto_random(p, ivl);
	if (ret)
		goto fail;
	/* Build plain | padding(zero) | pad length in a scratch buffer. */
	pt = OPENSSL_zalloc(plen);
	if (!pt) {
		ret = -ENOMEM;
		goto fail;
	}
	if (plainlen)
		memcpy(pt, plain, plainlen);
	pt[plen - 1] = (uint8_t)(plen - plainlen - 1);
	if (aead) {
		ret = aead_crypt(k, true, p, msg->data, sk_off + hl, pt, plen,
				 p + ivl, p + ivl + plen);
	} else {
		ret = cbc_crypt(k, true, p, pt, plen, p + ivl);
		if (!ret)
			ret = integ_icv(k, msg->data, total - icvl,
					p + ivl + plen);
	}
	OPENSSL_clear_free(pt, plen);
	if (!ret)
		return 0;
fail:
	/* Leave msg as the caller gave it. */
	OPENSSL_cleanse(msg->data + start, msg->len - start);
	msg->len = start;
	return ret;
}

int crypto_sk_open(const struct sk_ctx *k, const uint8_t *msg, size_t msglen,
		   size_t sk_off, bool skf, struct buf *plain)
{
	size_t hl = skf ? CRYPTO_SKF_HDR_LEN : CRYPTO_SK_HDR_LEN;
	size_t ivl = crypto_sk_iv_len(k), icvl = crypto_sk_icv_len(k);
	size_t bs = crypto_encr_block_len(k->encr), ctl;
	bool aead = crypto_encr_is_aead(k->encr);
	const uint8_t *iv, *ct, *icv;
	struct cursor c, sk;
	uint16_t sklen;
	uint32_t ikelen;
	uint8_t calc[CRYPTO_MAX_ICV_LEN], padlen;
	uint8_t *pt = NULL;
	int ret;

	if (!ivl || !bs)
		return -EINVAL;
	cur_init(&c, msg, msglen);
	/* IKE header Length (offset 24) and the SK payload length must
	 * both describe exactly these bytes. */
	if (!cur_skip(&c, 24) || !cur_u32(&c, &ikelen) || ikelen != msglen ||
	    sk_off < IKE_HDR_LEN)
		return -EMSGSIZE;
	cur_init(&c, msg, msglen);
	if (!cur_skip(&c, sk_off) || !cur_skip(&c, 2) || !cur_u16(&c, &sklen) ||
	    sklen != msglen - sk_off || !cur_skip(&c, hl - 4))
		return -EMSGSIZE;
	cur_rest(&c, &sk);
	if (cur_left(&sk) < ivl + icvl + 1)
		return -EMSGSIZE;
	ctl = cur_left(&sk) - ivl - icvl;
	if (ctl % bs)
		return -EMSGSIZE;
	iv = cur_take(&sk, ivl);
	ct = cur_take(&sk, ctl);
	icv = cur_take(&sk, icvl);
	if (!iv || !ct || !icv)
		return -EMSGSIZE;
	pt = OPENSSL_malloc(ctl);
	if (!pt)
		return -ENOMEM;
	if (aead) {
		memcpy(calc, icv, icvl);
		ret = aead_crypt(k, false, iv, msg, sk_off + hl, ct, ctl, pt,
				 calc);
	} else {
		/* Integrity first, constant-time compare, then decrypt. */
		ret = integ_icv(k, msg, msglen - icvl, calc);
		if (!ret && CRYPTO_memcmp(calc, icv, icvl) != 0)
			ret = -EBADMSG;
		if (!ret)
			ret = cbc_crypt(k, false, iv, ct, ctl, pt);
	}
	OPENSSL_cleanse(calc, sizeof(calc));
	if (ret)
		goto out;
	/* Padding contents are not checked (RFC 7296 §3.14: any value). */
	padlen = pt[ctl - 1];
	if ((size_t)padlen + 1 > ctl) {
		ret = -EPROTO;
		goto out;
	}
	buf_wipe(plain);
	if (buf_append(plain, pt, ctl - 1 - padlen))
		ret = -ENOMEM;
out:
	OPENSSL_clear_free(pt, ctl);
	return ret;
}
