// SPDX-License-Identifier: GPL-2.0
/*
 * Address pools and their leases by identity (pool.h).  A pool hands out
 * its addresses in order, each once, then reuses the remembered lease
 * released longest ago; an identity's lease is found through a hash of
 * the identity, so an IKE_AUTH costs O(1) however many clients there are.
 */
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "htab.h"

struct lease {
	struct hnode node;	/* in pool.ids, by identity */
	struct id_cfg *id;	/* config_id_dup's */
	struct sockaddr_storage addr;
	unsigned int refs;
	uint64_t released;	/* pool.clock when refs went to 0 */
	struct lease *next;
};

struct pool {
	char name[CFG_NAME_MAX];
	int family;
	uint8_t first[16], last[16];
	uint64_t size, next_off;	/* addresses below next_off were leased */
	uint64_t clock;
	struct htab ids;
	struct lease *leases, **tail;
	struct pool *next;
};

struct pool_set {
	struct pool *pools;
};

static struct pool *pool_find(const struct pool_set *ps, const char *name)
{
	for (struct pool *p = ps->pools; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static struct lease *lease_find(const struct pool *p, const struct id_cfg *id)
{
	uint32_t h = config_id_hash(id);

	for (struct hnode *n = htab_first(&p->ids, h); n; n = htab_next(n)) {
		struct lease *l = container_of(n, struct lease, node);

		if (config_id_equal(l->id, id))
			return l;
	}
	return NULL;
}

static void pool_destroy(struct pool *p)
{
	while (p->leases) {
		struct lease *l = p->leases;

		p->leases = l->next;
		free(l->id);
		free(l);
	}
	htab_free(&p->ids);
	free(p);
}

struct pool_set *pool_set_new(void)
{
	return calloc(1, sizeof(struct pool_set));
}

void pool_set_free(struct pool_set *ps)
{
	if (!ps)
		return;
	while (ps->pools) {
		struct pool *p = ps->pools;

		ps->pools = p->next;
		pool_destroy(p);
	}
	free(ps);
}

static bool same_range(const struct pool *p, const struct pool_cfg *pc)
{
	return p->family == pc->family && !memcmp(p->first, pc->first, 16) &&
	       !memcmp(p->last, pc->last, 16);
}

int pool_set_apply(struct pool_set *ps, const struct config *cfg)
{
	struct pool *list = NULL, **tail = &list;

	for (const struct pool_cfg *pc = cfg->pools; pc; pc = pc->next) {
		struct pool *p = calloc(1, sizeof(*p));

		if (!p) {
			while (list) {
				p = list;
				list = p->next;
				pool_destroy(p);
			}
			return -ENOMEM;
		}
		snprintf(p->name, sizeof(p->name), "%s", pc->name);
		p->family = pc->family;
		memcpy(p->first, pc->first, 16);
		memcpy(p->last, pc->last, 16);
		p->size = cfg_pool_size(pc);
		p->tail = &p->leases;
		*tail = p;
		tail = &p->next;
	}
	/* the leases of an unchanged pool move to its new self */
	for (struct pool *p = list; p; p = p->next) {
		const struct pool_cfg *pc = config_pool(cfg, p->name);
		struct pool **op = &ps->pools, *o;

		while (*op && strcmp((*op)->name, p->name))
			op = &(*op)->next;
		o = *op;
		if (!o || !same_range(o, pc))
			continue;
		*op = o->next;
		p->ids = o->ids;
		p->leases = o->leases;
		p->tail = o->leases ? o->tail : &p->leases;
		p->next_off = o->next_off;
		p->clock = o->clock;
		o->ids = (struct htab)HTAB_INIT;
		o->leases = NULL;
		pool_destroy(o);
	}
	while (ps->pools) {
		struct pool *o = ps->pools;

		ps->pools = o->next;
		pool_destroy(o);
	}
	ps->pools = list;
	return 0;
}

/* The address off places after the pool's first (config.c keeps a pool
 * within one 32-bit tail, so no carry goes further). */
static void pool_addr(const struct pool *p, uint64_t off, struct sockaddr_storage *ss)
{
	uint8_t a[16];
	size_t len = p->family == AF_INET ? 4 : 16;
	uint32_t tail;

	memcpy(a, p->first, 16);
	memcpy(&tail, a + len - 4, 4);
	tail = htonl(ntohl(tail) + (uint32_t)off);
	memcpy(a + len - 4, &tail, 4);
	memset(ss, 0, sizeof(*ss));
	if (p->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
	}
}

/* The remembered lease released longest ago, or NULL. */
static struct lease *oldest_released(const struct pool *p)
{
	struct lease *best = NULL;

	for (struct lease *l = p->leases; l; l = l->next)
		if (!l->refs && (!best || l->released < best->released))
			best = l;
	return best;
}

int pool_acquire(struct pool_set *ps, const char *name, const struct id_cfg *id,
		 struct sockaddr_storage *addr)
{
	struct pool *p = pool_find(ps, name);
	struct lease *l;

	if (!p)
		return -ENOENT;
	l = lease_find(p, id);
	if (!l && p->next_off < p->size) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		pool_addr(p, p->next_off, &l->addr);
		l->id = config_id_dup(id);
		if (!l->id || htab_add(&p->ids, &l->node, config_id_hash(id))) {
			free(l->id);
			free(l);
			return -ENOMEM;
		}
		p->next_off++;
		*p->tail = l;
		p->tail = &l->next;
	} else if (!l) {
		/* every address was leased once: take back the one
		 * remembered longest, for an identity that may never return */
		struct id_cfg *d = config_id_dup(id);

		l = oldest_released(p);
		if (!l || !d) {
			free(d);
			return l ? -ENOMEM : -ENOSPC;
		}
		htab_del(&p->ids, &l->node);
		free(l->id);
		l->id = d;
		if (htab_add(&p->ids, &l->node, config_id_hash(id)))
			return -ENOMEM;	/* no bucket array: cannot happen once added */
	}
	l->refs++;
	*addr = l->addr;
	return 0;
}

bool pool_release(struct pool_set *ps, const char *name, const struct id_cfg *id)
{
	struct pool *p = pool_find(ps, name);
	struct lease *l = p ? lease_find(p, id) : NULL;

	if (!l || !l->refs)
		return false;
	if (!--l->refs)
		l->released = ++p->clock;
	return true;
}

int pool_family(const struct pool_set *ps, const char *name)
{
	const struct pool *p = pool_find(ps, name);

	return p ? p->family : 0;
}

void pool_leases(const struct pool_set *ps,
		 bool (*fn)(const struct pool_lease_info *l, void *arg), void *arg)
{
	for (const struct pool *p = ps->pools; p; p = p->next)
		for (const struct lease *l = p->leases; l; l = l->next) {
			struct pool_lease_info i = {
				.pool = p->name, .addr = &l->addr, .id = l->id, .refs = l->refs,
			};

			if (!fn(&i, arg))
				return;
		}
}
