// SPDX-License-Identifier: GPL-2.0
/*
 * Digests and ciphers fetched from OpenSSL's providers once.  OpenSSL 3
 * looks an algorithm up by name in its provider store every time it is
 * handed one of the built-in objects (EVP_sha1(), EVP_aes_256_gcm()): a
 * digest of a NAT-D hash cost three times its SHA-1 that way.  The
 * fetched objects hold no key and no state of an operation (each caller
 * still makes and frees its own context, which is where keys are), so one
 * of each serves every thread; they are fetched together under
 * pthread_once, kept for the life of the process and stay valid in a
 * forked child.  Where a fetch fails, the built-in object is returned and
 * the lookup per use comes back, nothing else.
 */
#include <errno.h>
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto.h"

static const struct {
	const char *name;
	const EVP_MD *(*builtin)(void);
} md_algs[CRYPTO_MD_COUNT] = {
	[CRYPTO_MD_SHA1] = { "SHA1", EVP_sha1 },
	[CRYPTO_MD_SHA2_256] = { "SHA2-256", EVP_sha256 },
};

static const struct {
	const char *name;
	const EVP_CIPHER *(*builtin)(void);
} cipher_algs[CRYPTO_CIPHER_COUNT] = {
	[CRYPTO_CIPHER_AES_128_CBC] = { "AES-128-CBC", EVP_aes_128_cbc },
	[CRYPTO_CIPHER_AES_192_CBC] = { "AES-192-CBC", EVP_aes_192_cbc },
	[CRYPTO_CIPHER_AES_256_CBC] = { "AES-256-CBC", EVP_aes_256_cbc },
	[CRYPTO_CIPHER_AES_128_GCM] = { "AES-128-GCM", EVP_aes_128_gcm },
	[CRYPTO_CIPHER_AES_192_GCM] = { "AES-192-GCM", EVP_aes_192_gcm },
	[CRYPTO_CIPHER_AES_256_GCM] = { "AES-256-GCM", EVP_aes_256_gcm },
	[CRYPTO_CIPHER_CHACHA20_POLY1305] = { "ChaCha20-Poly1305", EVP_chacha20_poly1305 },
};

static EVP_MD *md_fetched[CRYPTO_MD_COUNT];
static EVP_CIPHER *cipher_fetched[CRYPTO_CIPHER_COUNT];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	int i;

	for (i = 0; i < CRYPTO_MD_COUNT; i++)
		md_fetched[i] = EVP_MD_fetch(NULL, md_algs[i].name, NULL);
	for (i = 0; i < CRYPTO_CIPHER_COUNT; i++)
		cipher_fetched[i] = EVP_CIPHER_fetch(NULL, cipher_algs[i].name, NULL);
	ERR_clear_error();	/* a failed fetch falls back, silently */
}

const EVP_MD *crypto_md(enum crypto_md_id id)
{
	pthread_once(&fetch_once, fetch_all);
	return md_fetched[id] ? md_fetched[id] : md_algs[id].builtin();
}

const EVP_CIPHER *crypto_cipher(enum crypto_cipher_id id)
{
	pthread_once(&fetch_once, fetch_all);
	return cipher_fetched[id] ? cipher_fetched[id] : cipher_algs[id].builtin();
}

int crypto_sha256(const void *p, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, crypto_md(CRYPTO_MD_SHA2_256), NULL) == 1 &&
	       n == 32 ? 0 : -EIO;
}
