// SPDX-License-Identifier: GPL-2.0
/*
 * ESP algorithms as the kernel names them (XFRM: "rfc4106(gcm(aes))",
 * "hmac(sha256)", ...) and how much keying material a Child SA takes
 * (RFC 7296 §2.17).
 */
#include <errno.h>
#include <string.h>

#include "crypto.h"

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
