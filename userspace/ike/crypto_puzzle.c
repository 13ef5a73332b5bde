// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 8019 client puzzles: solving one (the initiator) and measuring a
 * solution (the responder).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "crypto.h"

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
	const char *md = crypto_prf_digest(prf);
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
	const char *md = crypto_prf_digest(prf);
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
