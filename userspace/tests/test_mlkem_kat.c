// SPDX-License-Identifier: GPL-2.0
/*
 * FIPS 203 known answers for ML-KEM through crypto_kex.c (OpenSSL 3.5 or
 * later underneath): NIST's ACVP vectors in data/mlkem-acvp.txt (source,
 * commit and tcId there), one per parameter set.  Each one:
 *   decapsulation  kex_new_from_private(dk): its KE data is the ek inside
 *                  dk, and kex_derive(c) is K
 *   encapsulation  kex_new_responder_fixed(m): kex_derive(ek) is K and
 *                  kex_public() c
 *   a changed c    decapsulates to another secret (implicit rejection), not
 *                  an error; dk whose ek does not match its H(ek) is refused
 *                  (FIPS 203 §7.3's hash check)
 * With an OpenSSL that has no ML-KEM (Debian 12's 3.0) each test is a SKIP
 * saying so; netns/67 builds and runs this in the Debian 13 root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "buf.h"
#include "crypto.h"
#include "kselftest_harness.h"

struct kat {
	int tcid;
	char set[16];
	uint16_t id;
	size_t k;		/* module rank: 2, 3, 4 */
	struct buf dk, c, key, m;
};

#define MAX_KATS 3

/* The data directory next to this source file (tests run from the top). */
static const char *data_path(void)
{
	static char path[1024];
	const char *env = getenv("TCPIKE_TEST_DATA");
	const char *slash = strrchr(__FILE__, '/');

	if (env)
		snprintf(path, sizeof(path), "%s/mlkem-acvp.txt", env);
	else
		snprintf(path, sizeof(path), "%.*s/data/mlkem-acvp.txt",
			 (int)(slash ? slash - __FILE__ : 1), slash ? __FILE__ : ".");
	return path;
}

static int unhex(struct buf *b, const char *h)
{
	size_t n = strlen(h);
	unsigned int v;
	uint8_t *p;

	if (n % 2)
		return -1;
	p = buf_extend(b, n / 2);
	if (!p)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		p[i] = (uint8_t)v;
	}
	return 0;
}

/* The vectors, in file order; the count, -1 on a malformed file. */
static int load(struct kat *kats)
{
	static const struct {
		const char *set;
		uint16_t id;
		size_t k;
	} sets[] = {
		{ "ML-KEM-512", CRYPTO_KE_MLKEM_512, 2 },
		{ "ML-KEM-768", CRYPTO_KE_MLKEM_768, 3 },
		{ "ML-KEM-1024", CRYPTO_KE_MLKEM_1024, 4 },
	};
	FILE *f = fopen(data_path(), "r");
	char *line = NULL, name[8], *hex;
	size_t cap = 0;
	int n = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		struct kat *k = n >= 0 ? &kats[n] : NULL;
		struct buf *b = NULL;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "tcId ", 5)) {
			if (++n >= MAX_KATS)
				goto bad;
			k = &kats[n];
			memset(k, 0, sizeof(*k));
			if (sscanf(line, "tcId %d %15s", &k->tcid, k->set) != 2)
				goto bad;
			for (size_t i = 0; i < 3; i++)
				if (!strcmp(k->set, sets[i].set)) {
					k->id = sets[i].id;
					k->k = sets[i].k;
				}
			if (!k->id)
				goto bad;
			continue;
		}
		hex = strchr(line, ' ');
		if (!k || !hex || hex - line >= (long)sizeof(name))
			goto bad;
		memcpy(name, line, hex - line);
		name[hex - line] = 0;
		if (!strcmp(name, "dk"))
			b = &k->dk;
		else if (!strcmp(name, "c"))
			b = &k->c;
		else if (!strcmp(name, "k"))
			b = &k->key;
		else if (!strcmp(name, "m"))
			b = &k->m;
		if (!b || b->len || unhex(b, hex + 1))
			goto bad;
	}
	free(line);
	fclose(f);
	return n + 1;
bad:
	free(line);
	fclose(f);
	return -1;
}

static void unload(struct kat *kats, int n)
{
	for (int i = 0; i < n; i++) {
		buf_free(&kats[i].dk);
		buf_free(&kats[i].c);
		buf_free(&kats[i].key);
		buf_free(&kats[i].m);
	}
}

/* Whether this OpenSSL has ML-KEM, asked of OpenSSL, not of crypto_kex.c. */
static bool openssl_has_mlkem(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "ML-KEM-768", NULL);

	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return c != NULL;
}

FIXTURE(kat) {
	struct kat v[MAX_KATS];
	int n;
};

FIXTURE_SETUP(kat)
{
	if (!openssl_has_mlkem())
		SKIP(return, "by design: %s has no ML-KEM (3.5 and later have; netns/67 runs these in the Debian 13 root)",
		     OPENSSL_VERSION_TEXT);
	self->n = load(self->v);
	ASSERT_EQ(MAX_KATS, self->n) TH_LOG("%s: malformed or missing", data_path());
	for (int i = 0; i < self->n; i++) {
		const struct kat *k = &self->v[i];

		/* FIPS 203 §8 table 3 */
		ASSERT_EQ(768 * k->k + 96, k->dk.len) TH_LOG("tcId %d dk", k->tcid);
		ASSERT_EQ(kex_response_len(k->id), k->c.len) TH_LOG("tcId %d c", k->tcid);
		ASSERT_EQ(32, k->key.len);
		ASSERT_EQ(32, k->m.len);
		ASSERT_TRUE(kex_supported(k->id));
	}
}

FIXTURE_TEARDOWN(kat)
{
	unload(self->v, self->n > 0 ? self->n : 0);
}

/* The encapsulation key inside dk: FIPS 203 Algorithm 16, at byte 384k. */
static const uint8_t *ek_of(const struct kat *k)
{
	return k->dk.data + 384 * k->k;
}

/* dk, c -> K; the initiator's KE data is the ek in dk. */
TEST_F(kat, decapsulation)
{
	struct buf pub = BUF_INIT, ss = BUF_INIT;

	for (int i = 0; i < self->n; i++) {
		const struct kat *k = &self->v[i];
		struct ike_kex *x = kex_new_from_private(k->id, k->dk.data, k->dk.len, NULL, 0);

		ASSERT_NE(NULL, x) TH_LOG("tcId %d (%s): dk refused", k->tcid, k->set);
		ASSERT_EQ(0, kex_public(x, &pub));
		ASSERT_EQ(kex_public_len(k->id), pub.len);
		EXPECT_EQ(0, memcmp(pub.data, ek_of(k), pub.len))
			TH_LOG("tcId %d (%s): KE data is not the ek in dk", k->tcid, k->set);
		ASSERT_EQ(0, kex_derive(x, k->c.data, k->c.len, &ss));
		ASSERT_EQ(32, ss.len);
		EXPECT_EQ(0, memcmp(ss.data, k->key.data, 32))
			TH_LOG("tcId %d (%s): decapsulated K differs", k->tcid, k->set);
		kex_free(x);
	}
	buf_free(&pub);
	buf_wipe(&ss);
}

/* ek, m -> c, K through the responder's kex_derive and kex_public. */
TEST_F(kat, encapsulation)
{
	struct buf ct = BUF_INIT, ss = BUF_INIT;

	for (int i = 0; i < self->n; i++) {
		const struct kat *k = &self->v[i];
		struct ike_kex *x = kex_new_responder_fixed(k->id, k->m.data, k->m.len);

		ASSERT_NE(NULL, x);
		ASSERT_EQ(0, kex_derive(x, ek_of(k), kex_public_len(k->id), &ss));
		ASSERT_EQ(32, ss.len);
		EXPECT_EQ(0, memcmp(ss.data, k->key.data, 32))
			TH_LOG("tcId %d (%s): encapsulated K differs", k->tcid, k->set);
		ASSERT_EQ(0, kex_public(x, &ct));
		ASSERT_EQ(k->c.len, ct.len);
		EXPECT_EQ(0, memcmp(ct.data, k->c.data, ct.len))
			TH_LOG("tcId %d (%s): ciphertext differs", k->tcid, k->set);
		kex_free(x);
	}
	ASSERT_EQ(NULL, kex_new_responder_fixed(CRYPTO_KE_MLKEM_768, self->v[0].m.data, 31));
	ASSERT_EQ(NULL, kex_new_responder_fixed(CRYPTO_KE_CURVE25519, self->v[0].m.data, 32));
	buf_free(&ct);
	buf_wipe(&ss);
}

/* A changed ciphertext: another secret, no error (FIPS 203 implicit
 * rejection); a dk whose ek no longer hashes to its H(ek): refused. */
TEST_F(kat, rejection)
{
	struct buf ss = BUF_INIT;

	for (int i = 0; i < self->n; i++) {
		struct kat *k = &self->v[i];
		struct ike_kex *x = kex_new_from_private(k->id, k->dk.data, k->dk.len, NULL, 0);

		ASSERT_NE(NULL, x);
		k->c.data[7] ^= 0x01;
		ASSERT_EQ(0, kex_derive(x, k->c.data, k->c.len, &ss));
		EXPECT_NE(0, memcmp(ss.data, k->key.data, 32));
		k->c.data[7] ^= 0x01;
		kex_free(x);
		k->dk.data[384 * k->k + 5] ^= 0x01;
		EXPECT_EQ(NULL, kex_new_from_private(k->id, k->dk.data, k->dk.len, NULL, 0))
			TH_LOG("tcId %d (%s): dk with a changed ek accepted", k->tcid, k->set);
		k->dk.data[384 * k->k + 5] ^= 0x01;
		EXPECT_EQ(NULL, kex_new_from_private(k->id, k->dk.data, k->dk.len - 1, NULL, 0));
	}
	buf_wipe(&ss);
}

TEST_HARNESS_MAIN
