/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small intrusive hash table with chaining: the owner embeds a struct
 * hnode, computes the hash of its key, and compares keys itself while
 * walking the nodes that share the hash.  The table doubles when it holds
 * more entries than buckets, so lookups stay O(1) at tens of thousands of
 * SAs where a list scan made every setup O(n).
 *
 *   struct htab t = HTAB_INIT;
 *   htab_add(&t, &x->node, h);
 *   for (n = htab_first(&t, h); n; n = htab_next(n))
 *           if (key_eq(container_of(n, struct x, node), key)) ...
 *   htab_del(&t, &x->node);
 *   htab_free(&t);          (the nodes belong to their owners)
 */
#ifndef TCPIKE_HTAB_H
#define TCPIKE_HTAB_H

#include <stddef.h>
#include <stdint.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

struct hnode {
	struct hnode *next;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	size_t size;		/* buckets, a power of two (0 before the first add) */
	size_t n;		/* entries */
};

#define HTAB_INIT { NULL, 0, 0 }

/* 0, or -ENOMEM when there is no bucket array at all; a failed doubling
 * later only makes the chains longer. */
int htab_add(struct htab *t, struct hnode *n, uint32_t hash);
/* n must be in t. */
void htab_del(struct htab *t, struct hnode *n);
/* The first node with this hash, then the next one with the same hash. */
struct hnode *htab_first(const struct htab *t, uint32_t hash);
struct hnode *htab_next(const struct hnode *n);
void htab_free(struct htab *t);

/*
 * The hashes are seeded: which keys share a bucket depends on a seed
 * drawn at start (htab_seed_random), so that a peer choosing keys (its
 * identity, its address, traffic selectors, its SPIs) cannot choose them
 * to fall into one chain, as the kernel's jhash tables use a random
 * seed.  Not a cryptographic hash: a seeded mix, against keys chosen
 * without the seed.  The seed is set once, before any table is filled (a
 * table's stored hashes would no longer be found); 0 until then.
 */
int htab_seed_random(void);		/* from RAND_bytes: 0 or -EIO */
void htab_set_seed(uint64_t seed);	/* the unit tests' */
/*
 * len bytes (a struct's padding zeroed), eight per step, each step two
 * multiplies with a shift between: with one multiply, flipping a word's
 * top bit flips only the state's top bit, which a later word can flip
 * back, so such keys collided whatever the seed.  Every bit of the key
 * reaches a table's low bits.
 */
uint32_t htab_hash(const void *p, size_t len);
/* A 32-bit key mixed (Murmur3 finaliser, seeded): SPIs, reqids. */
uint32_t htab_hash_u32(uint32_t v);

#endif
