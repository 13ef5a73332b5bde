// SPDX-License-Identifier: GPL-2.0
/*
 * Key exchange: MODP (RFC 3526), ECP (RFC 5903), Curve25519/448 (RFC 8031)
 * through EVP_PKEY.  IKE encodings: MODP values big-endian padded to the
 * prime length; ECP public x | y each padded to the field size, shared
 * secret x only (RFC 5903 §7); X25519/X448 raw little-endian strings.
 *
 * ML-KEM (FIPS 203; draft-ietf-ipsecme-ikev2-mlkem, IDs 35-37) is a KEM:
 * the initiator's KE data is its encapsulation key, the responder's the
 * ciphertext that encapsulating to that key gave, the shared secret the
 * KEM's 32 bytes.  The responder's kex (kex_new_responder) therefore has no
 * key pair: kex_derive() encapsulates and kex_public() then returns the
 * ciphertext.  OpenSSL has ML-KEM from 3.5 on; where it has not (Debian
 * 12's 3.0), a probe says so and the three IDs are unsupported.
 */
#define LOG_SUBSYS LOG_SUB_CRYPTO

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "crypto.h"
#include "log.h"

enum kex_kind { KEX_MODP, KEX_ECP, KEX_ECX, KEX_MLKEM };

struct kex_group {
	uint16_t id;
	enum kex_kind kind;
	const char *name;	/* OpenSSL group / key type name */
	size_t len;		/* prime bytes, field bytes, or key bytes */
	size_t ctlen;		/* ML-KEM: the responder's ciphertext bytes */
};

static const struct kex_group groups[] = {
	{ CRYPTO_KE_MODP_2048, KEX_MODP, "modp_2048", 256, 0 },
	{ CRYPTO_KE_MODP_3072, KEX_MODP, "modp_3072", 384, 0 },
	{ CRYPTO_KE_MODP_4096, KEX_MODP, "modp_4096", 512, 0 },
	{ CRYPTO_KE_ECP_256, KEX_ECP, "P-256", 32, 0 },
	{ CRYPTO_KE_ECP_384, KEX_ECP, "P-384", 48, 0 },
	{ CRYPTO_KE_ECP_521, KEX_ECP, "P-521", 66, 0 },
	{ CRYPTO_KE_CURVE25519, KEX_ECX, "X25519", 32, 0 },
	{ CRYPTO_KE_CURVE448, KEX_ECX, "X448", 56, 0 },
	/* FIPS 203 §8 table 3: encapsulation key 384k + 32, ciphertext
	 * 32(du k + dv) */
	{ CRYPTO_KE_MLKEM_512, KEX_MLKEM, "ML-KEM-512", 800, 768 },
	{ CRYPTO_KE_MLKEM_768, KEX_MLKEM, "ML-KEM-768", 1184, 1088 },
	{ CRYPTO_KE_MLKEM_1024, KEX_MLKEM, "ML-KEM-1024", 1568, 1568 },
};

#define MLKEM_SS_LEN	32	/* FIPS 203: every parameter set */

struct ike_kex {
	const struct kex_group *g;
	EVP_PKEY *key;		/* NULL for an ML-KEM responder */
	bool responder;		/* ML-KEM: encapsulates, sends ct */
	bool fixed_m;		/* ML-KEM responder, known answers: m below */
	uint8_t m[32];		/* FIPS 203 ML-KEM.Encaps_internal's m */
	struct buf ct;		/* ML-KEM responder: after kex_derive() */
};

/* OpenSSL 3.5's parameter for ML-KEM's encapsulation randomness. */
#ifndef OSSL_KEM_PARAM_IKME
#define OSSL_KEM_PARAM_IKME "ikme"
#endif

/*
 * X25519/X448 state of a thread, per group, made on its first use there.
 * imp: an import context, for the peer's public keys (ecx_public) and for
 * our key pairs (ecx_generate).  EVP_PKEY_Q_keygen and
 * EVP_PKEY_new_raw_public_key_ex look the algorithm up by name on every
 * call (a walk of OpenSSL's name table under a lock), together about a
 * tenth of a PSK handshake's X25519 cost.  Per thread because an
 * EVP_PKEY_CTX is not to be used by two threads at once (the kex pool's
 * thread generates while the loop's imports), and with no lock to take on
 * each handshake.  peer: the peer's public key object (ecx_public).
 * Freed when the thread ends (a thread-specific value's destructor) or,
 * for the thread that calls exit(), by an exit handler: registered after
 * OpenSSL's own, it runs before OpenSSL's cleanup.  A thread whose state
 * cannot be tied to its end uses the by-name calls.
 */
struct ecx_tls {
	EVP_PKEY_CTX *imp[2];
	EVP_PKEY *peer[2];
	bool tried[2];		/* imp[i] made, or failed to be */
	bool keyed;		/* freed at the thread's end */
};

static __thread struct ecx_tls ecx_tls;
static pthread_key_t ecx_key;
static pthread_once_t ecx_once = PTHREAD_ONCE_INIT;
static bool ecx_keyed;

static void ecx_tls_free(void *arg)
{
	struct ecx_tls *t = arg;

	for (int i = 0; i < 2; i++) {
		EVP_PKEY_CTX_free(t->imp[i]);
		EVP_PKEY_free(t->peer[i]);
	}
	memset(t, 0, sizeof(*t));
}

static void ecx_tls_exit(void)
{
	ecx_tls_free(&ecx_tls);
}

/* OpenSSL initialised first, so that its exit handler is registered
 * before ours and runs after it. */
static void ecx_init(void)
{
	ecx_keyed = OPENSSL_init_crypto(0, NULL) && !pthread_key_create(&ecx_key, ecx_tls_free) &&
		    !atexit(ecx_tls_exit);
}

/* The calling thread's state, or NULL where it cannot be freed with it. */
static struct ecx_tls *ecx_mine(void)
{
	struct ecx_tls *t = &ecx_tls;

	if (t->keyed)
		return t;
	pthread_once(&ecx_once, ecx_init);
	if (!ecx_keyed || pthread_setspecific(ecx_key, t))
		return NULL;
	t->keyed = true;
	return t;
}

/* An import (fromdata) context for g, or NULL. */
static EVP_PKEY_CTX *ecx_import_ctx(const struct kex_group *g)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, g->name, NULL);

	if (c && EVP_PKEY_fromdata_init(c) > 0)
		return c;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return NULL;
}

/* g's index in struct ecx_tls if the calling thread has an import
 * context for it, else -1. */
static int ecx_index(struct ecx_tls *t, const struct kex_group *g)
{
	int i = g->id == CRYPTO_KE_CURVE25519 ? 0 : 1;

	if (!t)
		return -1;
	if (!t->tried[i]) {
		t->tried[i] = true;
		t->imp[i] = ecx_import_ctx(g);
	}
	return t->imp[i] ? i : -1;
}

/*
 * The peer's public key, a reference the caller frees.  One key object per
 * group and thread whose public value is replaced for each derivation
 * (a public value: nothing to wipe): a new EVP_PKEY each time walked
 * OpenSSL's whole name table to type it, about 1.4 us a handshake.
 */
static EVP_PKEY *ecx_public(const struct kex_group *g, const uint8_t *peer, size_t len)
{
	struct ecx_tls *t = ecx_mine();
	OSSL_PARAM params[2];
	int i = ecx_index(t, g);

	if (i < 0)
		return EVP_PKEY_new_raw_public_key_ex(NULL, g->name, NULL, peer, len);
	if (t->peer[i]) {
		if (EVP_PKEY_set1_encoded_public_key(t->peer[i], peer, len) <= 0)
			return NULL;
	} else {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
							      (void *)peer, len);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_PKEY_fromdata(t->imp[i], &t->peer[i], EVP_PKEY_PUBLIC_KEY, params) <= 0) {
			t->peer[i] = NULL;
			return NULL;
		}
	}
	return EVP_PKEY_up_ref(t->peer[i]) ? t->peer[i] : NULL;
}

/*
 * Whether OpenSSL's providers have each ML-KEM parameter set: asked once,
 * by name, so that a build against 3.0 runs and a 3.5 whose configuration
 * leaves ML-KEM out is told apart from one that has it.
 */
static bool mlkem_have[3];
static pthread_once_t mlkem_once = PTHREAD_ONCE_INIT;

static void mlkem_probe(void)
{
	static const char *const names[] = { "ML-KEM-512", "ML-KEM-768", "ML-KEM-1024" };
	EVP_PKEY_CTX *c;

	for (size_t i = 0; i < 3; i++) {
		c = EVP_PKEY_CTX_new_from_name(NULL, names[i], NULL);
		mlkem_have[i] = c && EVP_PKEY_keygen_init(c) > 0;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
}

static const struct kex_group *find_group(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (groups[i].id != id)
			continue;
		if (groups[i].kind == KEX_MLKEM) {
			pthread_once(&mlkem_once, mlkem_probe);
			if (!mlkem_have[id - CRYPTO_KE_MLKEM_512])
				return NULL;
		}
		return &groups[i];
	}
	return NULL;
}

bool kex_supported(uint16_t group)
{
	return find_group(group) != NULL;
}

size_t kex_public_len(uint16_t group)
{
	const struct kex_group *g = find_group(group);

	if (!g)
		return 0;
	return g->kind == KEX_ECP ? 2 * g->len : g->len;
}

size_t kex_response_len(uint16_t group)
{
	const struct kex_group *g = find_group(group);

	if (g && g->kind == KEX_MLKEM)
		return g->ctlen;
	return kex_public_len(group);
}

uint16_t kex_group(const struct ike_kex *k)
{
	return k->g->id;
}

static void ossl_fail(const char *what)
{
	unsigned long e = ERR_get_error();

	log_err("crypto: %s: %s", what, e ? ERR_reason_error_string(e) : "?");
	ERR_clear_error();
}

/*
 * A peer's key exchange value refused, and why.  Anyone can send one, so
 * rate limited: each use of the macro is a call site of its own, one
 * budget per reason.
 */
#define kex_refused(g, fmt, ...)						\
	log_warn_rl("crypto: peer's key exchange value refused (group %u, %s): " fmt, \
		    (g)->id, (g)->name, ##__VA_ARGS__)

/*
 * An X25519/X448 key pair: random bytes from the private DRBG's block
 * (crypto_random_priv) imported as the private key, which makes the
 * import compute the public key, X25519(k, 9) (RFC 7748 §6.1), as
 * OpenSSL's key generation does after drawing the same bytes from the
 * same DRBG; X25519 itself clamps the scalar (RFC 7748 §5) on every use.
 * EVP_PKEY_generate drew its 32 bytes with a RAND_priv_bytes call each,
 * which cost a getpid() system call (OpenSSL's fork check) per IKE SA.
 */
static EVP_PKEY *ecx_generate(const struct kex_group *g, EVP_PKEY_CTX *imp)
{
	uint8_t priv[56];	/* X448's */
	OSSL_PARAM params[2];
	EVP_PKEY *key = NULL;

	if (g->len > sizeof(priv) || crypto_random_priv(priv, g->len))
		return NULL;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, priv, g->len);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata(imp, &key, EVP_PKEY_KEYPAIR, params) <= 0)
		key = NULL;
	OPENSSL_cleanse(priv, sizeof(priv));
	return key;
}

/* A new key pair of g. */
static EVP_PKEY *kex_generate(const struct kex_group *g)
{
	struct ecx_tls *t;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[2];
	int i;

	switch (g->kind) {
	case KEX_MODP:
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		params[0] = OSSL_PARAM_construct_utf8_string(
			OSSL_PKEY_PARAM_GROUP_NAME, (char *)g->name, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
		    !EVP_PKEY_CTX_set_params(ctx, params) ||
		    EVP_PKEY_generate(ctx, &key) <= 0)
			key = NULL;
		EVP_PKEY_CTX_free(ctx);
		break;
	case KEX_ECP:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", g->name);
		break;
	case KEX_ECX:
		t = ecx_mine();
		i = ecx_index(t, g);
		key = i < 0 ? EVP_PKEY_Q_keygen(NULL, NULL, g->name) : ecx_generate(g, t->imp[i]);
		break;
	case KEX_MLKEM:
		key = EVP_PKEY_Q_keygen(NULL, NULL, g->name);
		break;
	}
	return key;
}

/* --- key pair pool -------------------------------------------------------- */

/*
 * One thread that generates ephemeral key pairs ahead, per group asked
 * for, so that an IKE_SA_INIT takes one instead of generating it: on a
 * second core that is the key generation half of a handshake's key
 * exchange work.  Each pair is handed out once and freed by its IKE or
 * Child SA like any other (EVP_PKEY_free clears the private key), so
 * forward secrecy is as without the pool.  A group joins the pool the
 * first time kex_new() asks for it; an empty ring is a miss and the pair is
 * generated in the caller, as without the pool.
 */
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* the producer waits for room or stop */
	pthread_t thread;
	bool running, stop;
	unsigned int depth;
	struct {
		EVP_PKEY *keys[KEX_POOL_MAX];
		unsigned int n;
		bool wanted;
	} ring[NGROUPS];
	uint64_t hits, misses;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER };

/* A wanted group with room, round robin after last; -1 if none.  Lock held. */
static int pool_next(int last)
{
	size_t i, g;

	for (i = 1; i <= NGROUPS; i++) {
		g = (last + i) % NGROUPS;
		if (pool.ring[g].wanted && pool.ring[g].n < pool.depth)
			return (int)g;
	}
	return -1;
}

static void *pool_run(void *arg)
{
	EVP_PKEY *key;
	int g = -1;

	(void)arg;
	pthread_mutex_lock(&pool.lock);
	while (!pool.stop) {
		g = pool_next(g);
		if (g < 0) {
			pthread_cond_wait(&pool.work, &pool.lock);
			continue;
		}
		pthread_mutex_unlock(&pool.lock);
		key = kex_generate(&groups[g]);
		ERR_clear_error();	/* this thread's queue; a failure is a miss */
		pthread_mutex_lock(&pool.lock);
		if (key && !pool.stop) {
			pool.ring[g].keys[pool.ring[g].n++] = key;	/* only we add */
			key = NULL;
		} else if (!key) {
			/* Failed: not again until the next kex_new() asks. */
			pool.ring[g].wanted = false;
		}
		if (key) {		/* stopping */
			pthread_mutex_unlock(&pool.lock);
			EVP_PKEY_free(key);
			pthread_mutex_lock(&pool.lock);
		}
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;	/* its import contexts freed as it ends (ecx_tls_free) */
}

/* A child of fork() has no producer and must never hand out its parent's
 * pairs: it forgets them (they are the parent's to free). */
static void pool_atfork_child(void)
{
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.work, NULL);
	pool.running = false;
	pool.stop = false;
	for (size_t i = 0; i < NGROUPS; i++) {
		pool.ring[i].n = 0;
		pool.ring[i].wanted = false;
	}
}

int kex_pool_start(unsigned int depth)
{
	static bool atfork_set;
	int err;

	if (pool.running || !depth || depth > KEX_POOL_MAX)
		return pool.running ? -EALREADY : -EINVAL;
	if (!atfork_set && pthread_atfork(NULL, NULL, pool_atfork_child))
		return -ENOMEM;
	atfork_set = true;
	pool.depth = depth;
	pool.stop = false;
	err = pthread_create(&pool.thread, NULL, pool_run, NULL);
	if (err)
		return -err;
	/* Named, so that top, ps -L and CPU pinning can tell it apart. */
	pthread_setname_np(pool.thread, "kex-pool");
	pool.running = true;
	return 0;
}

void kex_pool_stop(void)
{
	size_t i;

	if (!pool.running)
		return;
	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	pthread_join(pool.thread, NULL);
	for (i = 0; i < NGROUPS; i++) {
		while (pool.ring[i].n)
			EVP_PKEY_free(pool.ring[i].keys[--pool.ring[i].n]);
		pool.ring[i].wanted = false;
	}
	pool.running = false;
}

void kex_pool_stats(struct kex_pool_stats *st)
{
	pthread_mutex_lock(&pool.lock);
	st->running = pool.running;
	st->depth = pool.depth;
	st->hits = pool.hits;
	st->misses = pool.misses;
	st->ready = 0;
	for (size_t i = 0; i < NGROUPS; i++)
		st->ready += pool.ring[i].n;
	pthread_mutex_unlock(&pool.lock);
}

/* A pair of g from the pool, or NULL (not running, or empty: a miss). */
static EVP_PKEY *pool_take(const struct kex_group *g)
{
	size_t i = (size_t)(g - groups);
	EVP_PKEY *key = NULL;

	if (!pool.running)
		return NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.ring[i].n) {
		key = pool.ring[i].keys[--pool.ring[i].n];
		pool.hits++;
	} else {
		pool.misses++;
	}
	pool.ring[i].wanted = true;
	pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	return key;
}

struct ike_kex *kex_new(uint16_t group)
{
	const struct kex_group *g = find_group(group);
	struct ike_kex *k;

	if (!g)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->g = g;
	k->key = pool_take(g);
	if (!k->key)
		k->key = kex_generate(g);
	if (!k->key) {
		ossl_fail("key exchange key generation");
		free(k);
		return NULL;
	}
	return k;
}

struct ike_kex *kex_new_responder(uint16_t group)
{
	const struct kex_group *g = find_group(group);
	struct ike_kex *k;

	if (!g || g->kind != KEX_MLKEM)
		return kex_new(group);
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->g = g;
	k->responder = true;
	k->ct = (struct buf)BUF_INIT;
	return k;
}

struct ike_kex *kex_new_responder_fixed(uint16_t group, const uint8_t *m, size_t len)
{
	const struct kex_group *g = find_group(group);
	struct ike_kex *k;

	if (!g || g->kind != KEX_MLKEM || len != sizeof(k->m))
		return NULL;
	k = kex_new_responder(group);
	if (!k)
		return NULL;
	memcpy(k->m, m, len);
	k->fixed_m = true;
	return k;
}

/* An EC public key from IKE x | y (len 2*field) in group g. */
static EVP_PKEY *ecp_from(const struct kex_group *g, const uint8_t *xy,
			  const uint8_t *priv, size_t privlen)
{
	uint8_t pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL, *p;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	/* SEC1 uncompressed point: 0x04 | x | y */
	pt[0] = 0x04;
	memcpy(pt + 1, xy, 2 * g->len);
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return NULL;
	if (priv)
		d = BN_bin2bn(priv, (int)privlen, NULL);
	if ((priv && !d) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     g->name, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
					      1 + 2 * g->len) ||
	    (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
		goto out;
	/* The EC import decodes the point and refuses one off the curve. */
	if (EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR :
			      EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	/* OpenSSL 3.0 has no OSSL_PARAM_clear_free: cleanse the copy of d. */
	for (p = params; p && p->key; p++)
		if (!strcmp(p->key, OSSL_PKEY_PARAM_PRIV_KEY) && p->data)
			OPENSSL_cleanse(p->data, p->data_size);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pkey;
}

struct ike_kex *kex_new_from_private(uint16_t group, const uint8_t *priv,
				     size_t privlen, const uint8_t *pub,
				     size_t publen)
{
	const struct kex_group *g = find_group(group);
	struct ike_kex *k;

	if (!g || g->kind == KEX_MODP || privlen > INT32_MAX)
		return NULL;
	if (g->kind == KEX_ECP && (!pub || publen != 2 * g->len))
		return NULL;
	/* FIPS 203 §8 table 3: dk is 768k + 96 bytes, ek 384k + 32 */
	if (g->kind == KEX_MLKEM && privlen != 2 * g->len + 32)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->g = g;
	/* ML-KEM: OpenSSL's import of dk checks H(ek) in it (FIPS 203
	 * §7.3's hash check). */
	if (g->kind == KEX_ECP)
		k->key = ecp_from(g, pub, priv, privlen);
	else
		k->key = EVP_PKEY_new_raw_private_key_ex(NULL, g->name, NULL,
							 priv, privlen);
	if (!k->key) {
		ossl_fail("fixed key exchange key");
		free(k);
		return NULL;
	}
	return k;
}

void kex_free(struct ike_kex *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->key);	/* clears the private key material */
	buf_free(&k->ct);
	free(k);
}

int kex_public(const struct ike_kex *k, struct buf *out)
{
	const struct kex_group *g = k->g;
	size_t n = kex_public_len(g->id), got = 0;
	uint8_t pt[1 + 2 * 66];
	BIGNUM *y = NULL;
	uint8_t *p;
	int ret = -EIO;

	buf_reset(out);
	if (k->responder) {
		/* Nothing to send before the initiator's key is in. */
		if (!k->ct.len)
			return -EINVAL;
		return buf_append(out, k->ct.data, k->ct.len) ? -ENOMEM : 0;
	}
	p = buf_extend(out, n);
	if (!p)
		return -ENOMEM;
	switch (g->kind) {
	case KEX_MODP:
		if (EVP_PKEY_get_bn_param(k->key, OSSL_PKEY_PARAM_PUB_KEY, &y) &&
		    BN_bn2binpad(y, p, (int)n) == (int)n)
			ret = 0;
		BN_free(y);
		break;
	case KEX_ECP:
		if (EVP_PKEY_get_octet_string_param(k->key,
				OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
				sizeof(pt), &got) &&
		    got == n + 1 && pt[0] == 0x04) {
			memcpy(p, pt + 1, n);
			ret = 0;
		}
		break;
	case KEX_ECX:
	case KEX_MLKEM:
		got = n;
		if (EVP_PKEY_get_raw_public_key(k->key, p, &got) && got == n)
			ret = 0;
		break;
	}
	if (ret) {
		ossl_fail("public key exchange value");
		buf_reset(out);
	}
	return ret;
}

/*
 * A DH public key in our key's group, after the range check 1 < y < p-1
 * (RFC 6989: it excludes the small-subgroup values 1 and p-1) and
 * the subgroup check.  RFC 3526's primes are safe (p = 2q + 1) and its
 * generator 2 is a square mod p (p is 7 mod 8), so every honest value is
 * a square, in the order-q subgroup; a non-square (order 2q) would tell
 * the peer our exponent's parity, and is refused.  SP 800-56A's full
 * check y^q = 1 is, for a safe prime, the Legendre symbol (y/p) = 1,
 * which costs far less than that exponentiation.  Made here, not left
 * to OpenSSL: 3.0's peer key check is the full one, later versions' (3.5)
 * only the range for a named safe-prime group.
 */
static int modp_peer(const struct ike_kex *k, const uint8_t *peer, size_t len,
		     EVP_PKEY **out)
{
	BIGNUM *y = NULL, *p = NULL, *pm1 = NULL;	/* p: the prime */
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BN_CTX *bn = NULL;
	int ret = -EIO, sq;

	y = BN_bin2bn(peer, (int)len, NULL);
	pm1 = BN_new();
	bn = BN_CTX_new();
	if (!y || !pm1 || !bn ||
	    !EVP_PKEY_get_bn_param(k->key, OSSL_PKEY_PARAM_FFC_P, &p) ||
	    !BN_sub(pm1, p, BN_value_one()))
		goto out;
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
		kex_refused(k->g, "outside 1 < y < p-1");
		ret = -EPROTO;
		goto out;
	}
	sq = BN_kronecker(y, p, bn);
	if (sq == -1) {
		kex_refused(k->g, "not in the order-q subgroup (Legendre symbol -1)");
		ret = -EPROTO;
		goto out;
	}
	if (sq != 1)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     k->g->name, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	ret = 0;
out:
	if (ret == -EIO)
		ossl_fail("MODP peer value");
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(bn);
	BN_free(y);
	BN_free(p);
	BN_free(pm1);
	return ret;
}

/*
 * ML-KEM, responder: encapsulates to the initiator's key, keeps the
 * ciphertext for kex_public().  OpenSSL's import of the key is FIPS 203
 * §7.2's encapsulation key check (every coefficient below q); a key that
 * fails it is the peer's error, -EPROTO.  Once only.
 */
static int mlkem_encap(struct ike_kex *k, const uint8_t *peer, size_t len,
		       struct buf *shared)
{
	const struct kex_group *g = k->g;
	size_t ctlen = g->ctlen, sslen = MLKEM_SS_LEN;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	EVP_PKEY *pk;
	uint8_t *ct, *ss;
	int ret = -EIO;

	if (k->ct.len)
		return -EINVAL;
	if (len != g->len)
		return -EMSGSIZE;
	pk = EVP_PKEY_new_raw_public_key_ex(NULL, g->name, NULL, peer, len);
	if (!pk) {
		ERR_clear_error();
		log_warn("crypto: peer ML-KEM encapsulation key rejected (method %u)", g->id);
		return -EPROTO;
	}
	ct = buf_extend(&k->ct, ctlen);
	ss = buf_extend(shared, sslen);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KEM_PARAM_IKME, k->m, sizeof(k->m));
	params[1] = OSSL_PARAM_construct_end();
	if (ct && ss && ctx &&
	    EVP_PKEY_encapsulate_init(ctx, k->fixed_m ? params : NULL) > 0 &&
	    EVP_PKEY_encapsulate(ctx, ct, &ctlen, ss, &sslen) > 0 &&
	    ctlen == g->ctlen && sslen == MLKEM_SS_LEN)
		ret = 0;
	if (ret) {
		ossl_fail("ML-KEM encapsulation");
		buf_wipe(shared);
		buf_reset(&k->ct);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ret;
}

/*
 * ML-KEM, initiator: decapsulates the responder's ciphertext.  Any
 * ciphertext of the right length decapsulates: a forged one gives a
 * pseudorandom secret (FIPS 203 implicit rejection) and the AUTH exchange
 * fails, so the length is the check.
 */
static int mlkem_decap(struct ike_kex *k, const uint8_t *peer, size_t len,
		       struct buf *shared)
{
	const struct kex_group *g = k->g;
	size_t sslen = MLKEM_SS_LEN;
	EVP_PKEY_CTX *ctx;
	uint8_t *ss;
	int ret = -EIO;

	if (len != g->ctlen)
		return -EMSGSIZE;
	ss = buf_extend(shared, sslen);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL);
	if (ss && ctx && EVP_PKEY_decapsulate_init(ctx, NULL) > 0 &&
	    EVP_PKEY_decapsulate(ctx, ss, &sslen, peer, len) > 0 &&
	    sslen == MLKEM_SS_LEN)
		ret = 0;
	if (ret) {
		ossl_fail("ML-KEM decapsulation");
		buf_wipe(shared);
	}
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

int kex_derive(struct ike_kex *k, const uint8_t *peer, size_t len,
	       struct buf *shared)
{
	const struct kex_group *g = k->g;
	size_t want = g->len, got;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	const char *why = "all-zero shared secret (a low-order point)";
	uint8_t *p, acc = 0;
	size_t i;
	int ret;

	buf_wipe(shared);	/* nothing from a previous call survives */
	if (g->kind == KEX_MLKEM)
		return k->responder ? mlkem_encap(k, peer, len, shared) :
				      mlkem_decap(k, peer, len, shared);
	/* RFC 7296 §3.4: a MODP value is as long as the prime; RFC 5903 §7,
	 * RFC 8031 §3.1: the others' lengths are fixed too. */
	if (len != kex_public_len(g->id)) {
		kex_refused(g, "%zu bytes, not %zu", len, kex_public_len(g->id));
		return -EMSGSIZE;
	}
	switch (g->kind) {
	case KEX_MODP:
		ret = modp_peer(k, peer, len, &pk);
		break;
	case KEX_ECP:
		pk = ecp_from(g, peer, NULL, 0);
		if (!pk)
			kex_refused(g, "not a point on the curve");
		ret = pk ? 0 : -EPROTO;
		break;
	default:
		pk = ecx_public(g, peer, len);
		if (!pk)
			kex_refused(g, "OpenSSL does not take it as a public key");
		ret = pk ? 0 : -EPROTO;
		break;
	}
	if (ret) {
		ERR_clear_error();
		return ret;
	}
	p = buf_extend(shared, want);
	/* A context per derivation: it holds our private key, and OpenSSL
	 * 3.0 can neither point one at another key nor dup one without its
	 * key.  Making it looks the key type's legacy name up (about 12,000
	 * instructions, as EVP_PKEY_generate's typing of each new key does):
	 * no public call avoids either. */
	ctx = EVP_PKEY_CTX_new(k->key, NULL);
	ret = -EIO;
	if (!p || !ctx || EVP_PKEY_derive_init(ctx) <= 0)
		goto out;
	/* RFC 7296 §2.14: g^ir is padded to the prime length. */
	if (g->kind == KEX_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0)
		goto out;
	/* An X25519/X448 public key is any string of its length: OpenSSL's
	 * check of it has nothing to look at, and the all-zero result
	 * (RFC 7748 §6.1, which RFC 8031 §3.2 follows) is refused below.  A
	 * MODP value had the full check in modp_peer(). */
	if (EVP_PKEY_derive_set_peer_ex(ctx, pk, g->kind == KEX_ECP) <= 0) {
		why = "OpenSSL's public key check failed";
		ret = -EPROTO;
		goto out;
	}
	got = want;
	if (EVP_PKEY_derive(ctx, p, &got) <= 0) {
		/* X25519/X448: OpenSSL refuses an all-zero result. */
		ret = g->kind == KEX_ECX ? -EPROTO : -EIO;
		goto out;
	}
	if (got != want)
		goto out;
	/* RFC 7748 §6.1: an all-zero shared secret (a low-order point)
	 * aborts the exchange. */
	for (i = 0; i < want; i++)
		acc |= p[i];
	ret = acc ? 0 : -EPROTO;
out:
	if (ret == -EPROTO) {
		ERR_clear_error();
		kex_refused(g, "%s", why);
	} else if (ret) {
		ossl_fail("key exchange");
	}
	if (ret)
		buf_wipe(shared);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ret;
}
