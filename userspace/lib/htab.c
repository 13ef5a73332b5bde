// SPDX-License-Identifier: GPL-2.0
/* Intrusive chained hash table (see htab.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "htab.h"

#define HTAB_MIN	64

static size_t slot(size_t size, uint32_t hash)
{
	return hash & (size - 1);
}

static int grow(struct htab *t)
{
	size_t nsize = t->size ? t->size * 2 : HTAB_MIN, i;
	struct hnode **nb = calloc(nsize, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (i = 0; i < t->size; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			size_t s = slot(nsize, n->hash);

			next = n->next;
			n->next = nb[s];
			nb[s] = n;
		}
	}
	free(t->b);
	t->b = nb;
	t->size = nsize;
	return 0;
}

int htab_add(struct htab *t, struct hnode *n, uint32_t hash)
{
	size_t s;

	if (t->n >= t->size && grow(t) && !t->size)
		return -ENOMEM;
	n->hash = hash;
	s = slot(t->size, hash);
	n->next = t->b[s];
	t->b[s] = n;
	t->n++;
	return 0;
}

void htab_del(struct htab *t, struct hnode *n)
{
	struct hnode **pp;

	if (!t->size)
		return;
	for (pp = &t->b[slot(t->size, n->hash)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
	}
}

struct hnode *htab_first(const struct htab *t, uint32_t hash)
{
	struct hnode *n;

	if (!t->size)
		return NULL;
	for (n = t->b[slot(t->size, hash)]; n && n->hash != hash; n = n->next)
		;
	return n;
}

struct hnode *htab_next(const struct hnode *n)
{
	uint32_t hash = n->hash;

	for (n = n->next; n && n->hash != hash; n = n->next)
		;
	return (struct hnode *)n;
}

void htab_free(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->size = t->n = 0;
}

static uint64_t seed;

int htab_seed_random(void)
{
	uint64_t s;

	if (RAND_bytes((unsigned char *)&s, sizeof(s)) != 1)
		return -EIO;
	seed = s;
	return 0;
}

void htab_set_seed(uint64_t s)
{
	seed = s;
}

static uint64_t step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 32;
	return h * 0xff51afd7ed558ccdull;
}

uint32_t htab_hash(const void *p, size_t len)
{
	const uint8_t *q = p;
	uint64_t h = seed ^ len, w;

	for (; len >= 8; len -= 8, q += 8) {
		memcpy(&w, q, 8);
		h = step(h, w);
	}
	if (len) {
		uint32_t lo = 0;

		w = 0;
		if (len >= 4) {
			memcpy(&lo, q, 4);
			q += 4;
			len -= 4;
		}
		while (len--)
			w = w << 8 | *q++;
		h = step(h, w << 32 | lo);
	}
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t htab_hash_u32(uint32_t v)
{
	v ^= (uint32_t)seed;
	v ^= v >> 16;
	v *= 0x85ebca6bu;
	v ^= v >> 13;
	v *= 0xc2b2ae35u;
	v ^= v >> 16;
	return v;
}
