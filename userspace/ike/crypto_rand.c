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
 * RAND_bytes costs the same lock, fork check (a getpid() system call) and
 * DRBG call for 4 bytes as for 1 KB, and a handshake asks for a few bytes
 * many times (SPIs, nonce, IVs, jitter, an ephemeral private key).  Small
 * requests are served from a block drawn in one call; every byte handed
 * out is wiped from the block, and a forked child starts with empty
 * blocks so it never repeats its parent's bytes.  Two blocks: public
 * values from RAND_bytes, private keys from RAND_priv_bytes (OpenSSL's
 * DRBG kept apart from the one whose output peers see).  The private one
 * is locked: the key pair pool's thread draws from it too.
 */
#define RAND_BLOCK	1024

struct rand_block {
	uint8_t b[RAND_BLOCK];
	size_t left;
	int (*fill)(unsigned char *p, int len);
};

static struct rand_block pub_block = { .fill = RAND_bytes };
static struct rand_block priv_block = { .fill = RAND_priv_bytes };
static pthread_mutex_t priv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_forget(void)
{
	OPENSSL_cleanse(pub_block.b, sizeof(pub_block.b));
	pub_block.left = 0;
	OPENSSL_cleanse(priv_block.b, sizeof(priv_block.b));
	priv_block.left = 0;
	/* only this thread followed the fork: whoever held the lock did not */
	pthread_mutex_init(&priv_lock, NULL);
}

static void rand_init(void)
{
	pthread_atfork(NULL, NULL, rand_forget);
}

static int block_take(struct rand_block *r, void *p, size_t len)
{
	uint8_t *from;

	if (len > INT32_MAX)
		return -EINVAL;
	if (len > RAND_BLOCK / 8) {
		if (r->fill(p, (int)len) != 1)
			goto fail;
		return 0;
	}
	pthread_once(&rand_once, rand_init);
	if (len > r->left) {
		if (r->fill(r->b, RAND_BLOCK) != 1) {
			OPENSSL_cleanse(r->b, sizeof(r->b));
			r->left = 0;
			goto fail;
		}
		r->left = RAND_BLOCK;
	}
	from = r->b + RAND_BLOCK - r->left;
	memcpy(p, from, len);
	OPENSSL_cleanse(from, len);
	r->left -= len;
	return 0;
fail:
	log_err("crypto: %s failed", r == &pub_block ? "RAND_bytes" : "RAND_priv_bytes");
	return -EIO;
}

int crypto_random(void *p, size_t len)
{
	return block_take(&pub_block, p, len);
}

int crypto_random_priv(void *p, size_t len)
{
	int ret;

	pthread_mutex_lock(&priv_lock);
	ret = block_take(&priv_block, p, len);
	pthread_mutex_unlock(&priv_lock);
	return ret;
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
