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

/* FNV-1a over len bytes, continuing from h (start with HTAB_SEED). */
#define HTAB_SEED	2166136261u
uint32_t htab_hash(uint32_t h, const void *p, size_t len);
/*
 * A fixed-size binary key (a struct whose padding is zeroed), four bytes
 * per multiply instead of one, then mixed as htab_hash_u32 so that the
 * bucket's low bits depend on every byte: for keys of tens of bytes looked
 * up several times per IKE SA (policy selectors), where htab_hash's chain
 * of a multiply per byte is what the lookup costs.
 */
uint32_t htab_hash_key(const void *p, size_t len);
/* A 32-bit key mixed (Murmur3 finaliser): for keys that are not random. */
uint32_t htab_hash_u32(uint32_t v);

#endif
