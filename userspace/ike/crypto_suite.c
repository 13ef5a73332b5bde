// SPDX-License-Identifier: GPL-2.0
/*
 * What the IKE and ESP transforms we implement need: key, IV, block and
 * ICV lengths, PRF and integrity digests, and whether a negotiated suite is
 * one we can run (RFC 7296 §3.3.2, RFC 4868, RFC 5282, RFC 7634).
 */
#include <errno.h>

#include "crypto.h"

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

/* The HMAC digest of a PRF transform, NULL when we have none. */
const char *crypto_prf_digest(uint16_t prf)
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
	return crypto_prf_digest(prf) != NULL;
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
