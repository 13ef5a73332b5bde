// SPDX-License-Identifier: GPL-2.0
/*
 * Random bytes (SPIs, nonces, IVs, jitter) and constant-time comparison.
 */
#define LOG_SUBSYS LOG_SUB_CRYPTO

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "log.h"

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
