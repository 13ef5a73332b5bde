// SPDX-License-Identifier: GPL-2.0
/* The intrusive hash table: entries found by hash and key through growth,
 * colliding hashes kept apart, deletes anywhere in a chain. */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "kselftest_harness.h"

struct item {
	uint32_t key;
	struct hnode node;
};

static struct item *find(struct htab *t, uint32_t key, uint32_t (*h)(uint32_t))
{
	for (struct hnode *n = htab_first(t, h(key)); n; n = htab_next(n)) {
		struct item *it = container_of(n, struct item, node);

		if (it->key == key)
			return it;
	}
	return NULL;
}

static uint32_t same(uint32_t k)
{
	return k & 3;	/* four hash values only: long shared chains */
}

#define N 20000

TEST(add_find_delete_through_growth)
{
	struct htab t = HTAB_INIT;
	struct item *it = calloc(N, sizeof(*it));
	int i;

	ASSERT_NE(NULL, it);
	EXPECT_EQ(NULL, htab_first(&t, 1));	/* empty: no buckets yet */
	htab_del(&t, &it[0].node);		/* harmless */
	for (i = 0; i < N; i++) {
		it[i].key = (uint32_t)i * 7919u + 1;
		ASSERT_EQ(0, htab_add(&t, &it[i].node, htab_hash_u32(it[i].key)));
	}
	EXPECT_EQ(N, t.n);
	EXPECT_GE(t.size, N);		/* doubled as it filled */
	for (i = 0; i < N; i++)
		ASSERT_EQ(&it[i], find(&t, it[i].key, htab_hash_u32));
	EXPECT_EQ(NULL, find(&t, 0, htab_hash_u32));
	for (i = 0; i < N; i += 2)
		htab_del(&t, &it[i].node);
	EXPECT_EQ(N / 2, t.n);
	for (i = 0; i < N; i++)
		ASSERT_EQ(i % 2 ? &it[i] : NULL, find(&t, it[i].key, htab_hash_u32));
	htab_free(&t);
	EXPECT_EQ(0, t.n);
	EXPECT_EQ(NULL, htab_first(&t, 1));
	free(it);
}

TEST(colliding_hashes)
{
	struct htab t = HTAB_INIT;
	struct item it[64];
	int i, k;

	for (i = 0; i < 64; i++) {
		it[i].key = (uint32_t)i;
		ASSERT_EQ(0, htab_add(&t, &it[i].node, same(it[i].key)));
	}
	/* each hash value has 16 entries; htab_next stays on one value */
	for (k = 0; k < 4; k++) {
		int count = 0;

		for (struct hnode *n = htab_first(&t, (uint32_t)k); n; n = htab_next(n)) {
			EXPECT_EQ((uint32_t)k, container_of(n, struct item, node)->key & 3);
			count++;
		}
		EXPECT_EQ(16, count);
	}
	/* delete the head, a middle and the tail of one chain */
	htab_del(&t, &it[60].node);
	htab_del(&t, &it[32].node);
	htab_del(&t, &it[0].node);
	EXPECT_EQ(NULL, find(&t, 60, same));
	EXPECT_EQ(NULL, find(&t, 32, same));
	EXPECT_EQ(NULL, find(&t, 0, same));
	EXPECT_EQ(&it[4], find(&t, 4, same));
	EXPECT_EQ(&it[56], find(&t, 56, same));
	EXPECT_EQ(61, t.n);
	htab_free(&t);
}

TEST(hashes)
{
	EXPECT_NE(htab_hash_u32(1), htab_hash_u32(2));
	/* the length counts: a zero byte is not nothing */
	EXPECT_NE(htab_hash("", 0), htab_hash("\0", 1));
	EXPECT_EQ(htab_hash("abcdefghij", 10), htab_hash("abcdefghij", 10));
}

/* htab_hash: every byte counts, the last odd bytes too, and keys
 * that differ only in one high-order byte of a word (the last octet of an
 * IPv4 address, a port) still spread over a table's low bits. */
TEST(hash_key_spreads)
{
	struct {
		uint8_t src[16];
		uint16_t port;
		uint8_t proto, pad;
	} k;
	static uint8_t used[1024];
	uint8_t b[7] = { 0 };
	unsigned int n = 0;
	uint32_t h0;

	memset(&k, 0, sizeof(k));
	h0 = htab_hash(&k, sizeof(k));
	for (size_t i = 0; i < sizeof(k); i++) {
		((uint8_t *)&k)[i] = 1;
		EXPECT_NE(h0, htab_hash(&k, sizeof(k)));
		((uint8_t *)&k)[i] = 0;
	}
	h0 = htab_hash(b, sizeof(b));
	b[6] = 1;
	EXPECT_NE(h0, htab_hash(b, sizeof(b)));
	/* 256 last octets x 4 ports in 1024 buckets: at least half used */
	for (int a = 0; a < 256; a++) {
		for (int p = 0; p < 4; p++) {
			k.src[0] = 10;
			k.src[3] = (uint8_t)a;
			k.port = (uint16_t)(500 << p);
			used[htab_hash(&k, sizeof(k)) & 1023] = 1;
		}
	}
	for (int i = 0; i < 1024; i++)
		n += used[i];
	EXPECT_LT(512, n);
}

/*
 * Hash flooding: keys a peer chooses (its addresses, identities, traffic
 * selectors, its SPIs) found to share one of 64 buckets under one seed
 * are spread under another, so that without the seed a peer cannot
 * choose them to fill one chain.
 */
#define CHOSEN	32

static void addr_key(uint8_t a[16], uint32_t i)
{
	static const uint8_t net[12] = { 0x20, 0x01, 0x0d, 0xb8 };

	memcpy(a, net, sizeof(net));
	memcpy(a + 12, &i, 4);
}

static unsigned int buckets_used(const uint32_t *h, size_t n)
{
	uint8_t used[64] = { 0 };
	unsigned int k = 0;

	for (size_t i = 0; i < n; i++)
		used[h[i] & 63] = 1;
	for (size_t i = 0; i < 64; i++)
		k += used[i];
	return k;
}

TEST(seed_spreads_chosen_collisions)
{
	uint32_t key[CHOSEN], spi[CHOSEN], h[CHOSEN];
	unsigned int nk = 0, ns = 0;
	uint8_t a[16];

	htab_set_seed(1);
	for (uint32_t i = 0; nk < CHOSEN || ns < CHOSEN; i++) {
		addr_key(a, i);
		if (nk < CHOSEN && !(htab_hash(a, sizeof(a)) & 63))
			key[nk++] = i;
		if (ns < CHOSEN && !(htab_hash_u32(i) & 63))
			spi[ns++] = i;
	}
	for (size_t i = 0; i < CHOSEN; i++) {
		addr_key(a, key[i]);
		h[i] = htab_hash(a, sizeof(a));
	}
	ASSERT_EQ(1, buckets_used(h, CHOSEN));
	htab_set_seed(2);
	for (size_t i = 0; i < CHOSEN; i++) {
		addr_key(a, key[i]);
		h[i] = htab_hash(a, sizeof(a));
	}
	EXPECT_LE(16, buckets_used(h, CHOSEN));
	for (size_t i = 0; i < CHOSEN; i++)
		h[i] = htab_hash_u32(spi[i]);
	EXPECT_LE(16, buckets_used(h, CHOSEN));
	htab_set_seed(0);
}

/* Two keys that differ in the top bit of two words (of four or of eight
 * bytes) hash apart, under each seed: a step of one multiply carried such
 * a flip to the state's top bit alone, and the second flip undid it. */
TEST(top_bit_flips_do_not_cancel)
{
	static const int pairs[][2] = { { 3, 7 }, { 7, 15 }, { 3, 19 } };
	uint8_t a[24] = { 1, 2, 3 }, b[24];

	for (uint64_t seed = 0; seed < 4; seed++) {
		htab_set_seed(seed * 0x9e3779b97f4a7c15ull);
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			memcpy(b, a, sizeof(a));
			b[pairs[i][0]] ^= 0x80;
			b[pairs[i][1]] ^= 0x80;
			EXPECT_NE(htab_hash(a, sizeof(a)), htab_hash(b, sizeof(b)));
		}
	}
	htab_set_seed(0);
}

TEST_HARNESS_MAIN
