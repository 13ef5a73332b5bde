// SPDX-License-Identifier: GPL-2.0
/*
 * The IKEv2 key schedule: SKEYSEED and the SK_* keys (RFC 7296 §2.14),
 * after an IKE SA rekey (§2.18), and Child SA keying material (§2.17).
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"

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

int crypto_ike_rekey_keys_seed(const struct ike_suite *s, uint16_t old_prf,
			       const struct buf *old_sk_d, const uint8_t *seed,
			       size_t seedlen, const uint8_t *ni, size_t nilen,
			       const uint8_t *nr, size_t nrlen,
			       const uint8_t spii[8], const uint8_t spir[8],
			       struct ike_keys *out)
{
	struct buf skeyseed = BUF_INIT;
	int ret;

	ret = crypto_suite_check(s);
	if (ret)
		goto out;
	ret = crypto_prf(old_prf, old_sk_d->data, old_sk_d->len, seed, seedlen, &skeyseed);
	if (ret)
		goto out;
	ret = split_keys(s, &skeyseed, ni, nilen, nr, nrlen, spii, spir, out);
out:
	buf_wipe(&skeyseed);
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
	struct buf data = BUF_INIT;
	int ret;

	/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), old PRF. */
	if (buf_append(&data, gir, girlen) || buf_append(&data, ni, nilen) ||
	    buf_append(&data, nr, nrlen)) {
		buf_wipe(&data);
		ike_keys_wipe(out);
		return -ENOMEM;
	}
	ret = crypto_ike_rekey_keys_seed(s, old_prf, old_sk_d, data.data, data.len, ni, nilen,
					 nr, nrlen, spii, spir, out);
	buf_wipe(&data);
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
