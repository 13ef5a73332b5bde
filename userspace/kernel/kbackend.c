// SPDX-License-Identifier: GPL-2.0
/*
 * Backend selection.  "auto" tries the tcpike module (its generic-netlink
 * family resolves only when tcpike.ko is loaded), then plain XFRM; when
 * neither works it fails with both reasons.  none (no kernel SAs) is only
 * had by naming it.
 */
#define LOG_SUBSYS LOG_SUB_KERNEL

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "addr.h"
#include "backend.h"
#include "kb_none.h"
#include "log.h"

int kb_module_open(struct kbackend *kb);
int kb_xfrm_open_probe(struct kbackend *kb, bool probe);

/*
 * auto: the module only when its family resolves (-ENOENT otherwise);
 * xfrm only when a probe ESP state can really be added and removed (a
 * kernel with xfrm_user but without esp4/esp6 accepts policies yet fails
 * every SA, so checking for NETLINK_XFRM alone is not enough).
 */
static int try_open(struct kbackend *kb, const char *name, bool probe)
{
	if (!strcmp(name, "module"))
		return kb_module_open(kb);
	if (!strcmp(name, "xfrm"))
		return kb_xfrm_open_probe(kb, probe);
	if (!strcmp(name, "none"))
		return kb_none_open(kb);
	return -EINVAL;
}

struct kbackend *kbackend_open(const char *name)
{
	struct kbackend *kb = calloc(1, sizeof(*kb));
	int r;

	if (!kb)
		return NULL;
	if (!name || !strcmp(name, "auto")) {
		static const char *const order[] = { "module", "xfrm" };
		char why[2][200];

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			const char *e;

			memset(kb, 0, sizeof(*kb));
			r = try_open(kb, order[i], true);
			if (!r) {
				log_info("kernel backend: %s (auto)", order[i]);
				return kb;
			}
			e = kb->kb_error[0] ? kb->kb_error : strerror(-r);
			if (!strncmp(e, "module backend: ", 16))
				e += 16;
			snprintf(why[i], sizeof(why[i]), "%.199s", e);
		}
		/* none is never chosen for the operator: a gateway that came
		 * up without its kernel would pass no traffic, and say so only
		 * in its status. */
		log_err("backend auto: neither the tcpike module (%s) nor XFRM (%s) can install SAs; "
			"write 'backend = none' (or tcpiked -b none) to run the control plane alone, without kernel SAs",
			why[0], why[1]);
		free(kb);
		return NULL;
	}
	r = try_open(kb, name, false);
	if (r) {
		if (r == -EINVAL)
			log_err("unknown kernel backend '%s' (expected auto, module, xfrm or none)",
				name);
		else
			log_err("kernel backend %s: %s", name,
				kb->kb_error[0] ? kb->kb_error : strerror(-r));
		free(kb);
		return NULL;
	}
	log_info("kernel backend: %s", name);
	return kb;
}

static void shared_free(struct kbackend *kb);

void kbackend_close(struct kbackend *kb)
{
	if (!kb)
		return;
	if (kb->ops && kb->ops->destroy)
		kb->ops->destroy(kb);
	shared_free(kb);
	free(kb);
}

int kb_keepalive_unsupported(struct kbackend *kb, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote, uint32_t interval_s)
{
	snprintf(kb->kb_error, sizeof(kb->kb_error),
		 "kernel NAT keepalives need the tcpike module");
	return -EOPNOTSUPP;
}

int kb_no_event_fd(struct kbackend *kb)
{
	return -1;
}

/* --- policies shared by Child SAs ------------------------------------------------ */

void kb_ip16(uint8_t out[16], const struct sockaddr_storage *ss)
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

const char *kb_dir_name(enum kb_dir d)
{
	return d == KB_DIR_IN ? "in" : d == KB_DIR_OUT ? "out" : "fwd";
}

void kb_pol_key_of(struct kb_pol_key *k, const struct kb_policy *pol)
{
	memset(k, 0, sizeof(*k));	/* padding too: keys compare with memcmp */
	kb_ip16(k->src, &pol->sel.src);
	kb_ip16(k->dst, &pol->sel.dst);
	k->mark = pol->mark;
	k->if_id = pol->if_id;
	k->sport = pol->sel.sport;
	k->dport = pol->sel.dport;
	k->family = (uint8_t)pol->sel.family;
	k->dir = (uint8_t)pol->dir;
	k->src_plen = pol->sel.src_plen;
	k->dst_plen = pol->sel.dst_plen;
	k->proto = pol->sel.proto;
}

uint32_t kb_pol_key_hash(const struct kb_pol_key *k)
{
	return htab_hash(k, sizeof(*k));
}

/*
 * The priorities a policy's holders asked for: a trap's and its Child
 * SAs' (child.c's policy_priority differs between them only there, the
 * selectors being one), so two at most.
 */
#define SHARED_PRIOS	2

/* One installed policy and how many Child SAs use it: the key, and what
 * the policy points at (reqid, mode, tunnel), in few bytes.  Its priority
 * in the backend is the best (lowest) its holders asked for, as
 * strongSwan's: a Child SA's while one lives, the trap's when only it is
 * left. */
struct shared_pol {
	struct hnode node;		/* kb->shared, by kb_pol_key_hash */
	struct kb_pol_key k;
	uint32_t refs, reqid;
	uint32_t prio;			/* the backend's */
	struct {
		uint32_t prio, n;	/* n holders asked for prio */
	} want[SHARED_PRIOS];
	uint8_t tsrc[16], tdst[16];
	uint8_t tfamily, mode;
};

struct reqid_use {
	struct hnode node;		/* kb->reqids, by reqid */
	uint32_t reqid, n;		/* policies it holds */
};

/* k's policy, its hash given (kb_pol_key_hash), or NULL. */
static struct shared_pol *shared_find(const struct kbackend *kb, const struct kb_pol_key *k,
				      uint32_t hash)
{
	for (struct hnode *h = htab_first(&kb->shared, hash); h; h = htab_next(h)) {
		struct shared_pol *p = container_of(h, struct shared_pol, node);

		if (!memcmp(&p->k, k, sizeof(*k)))
			return p;
	}
	return NULL;
}

static bool same_target(const struct shared_pol *p, const struct kb_policy *pol)
{
	uint8_t s[16], d[16];

	kb_ip16(s, &pol->tmpl_src);
	kb_ip16(d, &pol->tmpl_dst);
	return p->mode == (uint8_t)pol->mode && p->tfamily == (uint8_t)pol->tmpl_dst.ss_family &&
	       !memcmp(p->tsrc, s, 16) && !memcmp(p->tdst, d, 16);
}

static struct reqid_use *reqid_find(const struct kbackend *kb, uint32_t reqid)
{
	for (struct hnode *h = htab_first(&kb->reqids, htab_hash_u32(reqid)); h; h = htab_next(h)) {
		struct reqid_use *u = container_of(h, struct reqid_use, node);

		if (u->reqid == reqid)
			return u;
	}
	return NULL;
}

/* One more (d = 1) or one fewer (d = -1) policy held by reqid. */
static int reqid_count(struct kbackend *kb, uint32_t reqid, int d)
{
	struct reqid_use *u = reqid_find(kb, reqid);

	if (!u) {
		if (d < 0)
			return 0;
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->reqid = reqid;
		if (htab_add(&kb->reqids, &u->node, htab_hash_u32(reqid))) {
			free(u);
			return -ENOMEM;
		}
	}
	u->n += (uint32_t)d;
	if (!u->n) {
		htab_del(&kb->reqids, &u->node);
		free(u);
	}
	return 0;
}

/* The slot of the holders that asked for prio, else a free one, else -1. */
static int want_slot(const struct shared_pol *p, uint32_t prio)
{
	int i, free_i = -1;

	for (i = 0; i < SHARED_PRIOS; i++) {
		if (p->want[i].n && p->want[i].prio == prio)
			return i;
		if (!p->want[i].n && free_i < 0)
			free_i = i;
	}
	return free_i;
}

/*
 * The backend's priority for p brought to the best its holders ask for.
 * A backend that cannot update a policy in place (the module), or one
 * that fails to, leaves it as it was: the holders share the reqid and
 * the tunnel, so the policy still finds their SAs; only its order among
 * overlapping policies of others is not what it should be.
 */
static void shared_reprio(struct kbackend *kb, struct shared_pol *p, const struct kb_policy *pol)
{
	struct kb_policy u = *pol;
	uint32_t best = UINT32_MAX;
	int i;

	for (i = 0; i < SHARED_PRIOS; i++)
		if (p->want[i].n && p->want[i].prio < best)
			best = p->want[i].prio;
	if (best == UINT32_MAX || best == p->prio || !kb->ops->policy_update)
		return;
	u.priority = best;
	u.reqid = p->reqid;
	if (kb->ops->policy_update(kb, &u)) {
		log_warn("policy %s: keeping priority %u (not %u): %s", kb_dir_name(pol->dir),
			 p->prio, best, kb->kb_error);
		return;
	}
	p->prio = best;
}

int kb_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	struct kb_pol_key k;
	struct shared_pol *p;
	uint32_t hash;
	int r;

	kb_pol_key_of(&k, pol);
	hash = kb_pol_key_hash(&k);
	p = shared_find(kb, &k, hash);
	if (p) {
		char a[64];
		int w = want_slot(p, pol->priority);

		if (p->reqid == pol->reqid && same_target(p, pol)) {
			if (w < 0) {
				snprintf(kb->kb_error, sizeof(kb->kb_error),
					 "a policy for these selectors (%s/%u, %s) has holders with %d priorities already",
					 addr_str(&pol->sel.src, a, sizeof(a)), pol->sel.src_plen,
					 kb_dir_name(pol->dir), SHARED_PRIOS);
				return -EINVAL;
			}
			p->refs++;
			p->want[w].prio = pol->priority;
			p->want[w].n++;
			shared_reprio(kb, p, pol);
			return 0;
		}
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "a policy for these selectors (%s/%u, %s) is held by reqid %u, "
			 "a Child SA with other selectors or another tunnel",
			 addr_str(&pol->sel.src, a, sizeof(a)), pol->sel.src_plen,
			 kb_dir_name(pol->dir),
			 p->reqid);
		return -EEXIST;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->k = k;
	p->refs = 1;
	p->reqid = pol->reqid;
	p->prio = p->want[0].prio = pol->priority;
	p->want[0].n = 1;
	p->mode = (uint8_t)pol->mode;
	p->tfamily = (uint8_t)pol->tmpl_dst.ss_family;
	kb_ip16(p->tsrc, &pol->tmpl_src);
	kb_ip16(p->tdst, &pol->tmpl_dst);
	if (htab_add(&kb->shared, &p->node, hash) ||
	    reqid_count(kb, pol->reqid, 1)) {
		htab_del(&kb->shared, &p->node);	/* a no-op when not added */
		free(p);
		return -ENOMEM;
	}
	r = kb->ops->policy_add(kb, pol);
	if (r) {
		htab_del(&kb->shared, &p->node);
		reqid_count(kb, pol->reqid, -1);
		free(p);
	}
	return r;
}

int kb_policy_del(struct kbackend *kb, const struct kb_policy *pol)
{
	struct kb_pol_key k;
	struct shared_pol *p;

	kb_pol_key_of(&k, pol);
	p = shared_find(kb, &k, kb_pol_key_hash(&k));
	if (!p)
		return kb->ops->policy_del(kb, pol);
	if (--p->refs) {
		int w = want_slot(p, pol->priority);

		/* a holder we do not know by its priority: one of any */
		if (w < 0 || !p->want[w].n)
			w = p->want[0].n ? 0 : 1;
		p->want[w].n--;
		shared_reprio(kb, p, pol);
		return 0;
	}
	htab_del(&kb->shared, &p->node);
	reqid_count(kb, p->reqid, -1);
	free(p);
	return kb->ops->policy_del(kb, pol);
}

/* The shared entry with pol's selector and direction, or NULL. */
static const struct shared_pol *shared_of(const struct kbackend *kb, const struct kb_policy *pol)
{
	struct kb_pol_key k;

	kb_pol_key_of(&k, pol);
	return shared_find(kb, &k, kb_pol_key_hash(&k));
}

uint32_t kb_policy_holder(const struct kbackend *kb, const struct kb_policy *pol)
{
	const struct shared_pol *p = shared_of(kb, pol);

	return p && same_target(p, pol) ? p->reqid : 0;
}

uint32_t kb_policy_owner(const struct kbackend *kb, const struct kb_policy *pol)
{
	const struct shared_pol *p = shared_of(kb, pol);

	return p ? p->reqid : 0;
}

uint32_t kb_reqid_policies(const struct kbackend *kb, uint32_t reqid)
{
	const struct reqid_use *u = reqid_find(kb, reqid);

	return u ? u->n : 0;
}

/* pol with its template's tunnel where m moves it. */
static void tmpl_moved(struct kb_policy *pol, const struct kb_move *m)
{
	bool out = pol->dir == KB_DIR_OUT;

	pol->tmpl_src = out ? m->local : m->remote;
	pol->tmpl_dst = out ? m->remote : m->local;
}

/*
 * A policy shared by Child SAs has one template: the first of them to move
 * takes it along, the others find it moved (their SAs still go).  The
 * records follow only what the backend did.
 */
int kb_child_move(struct kbackend *kb, const struct kb_move *m)
{
	struct kb_policy *todo = NULL, moved;
	struct kb_move bm = *m;
	struct shared_pol *p;
	struct kb_pol_key k;
	unsigned int i, n = 0;
	int r;

	if (!kb->ops->sa_move) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "the %s backend cannot move SAs to another address", kb->ops->name);
		return -EOPNOTSUPP;
	}
	if (m->n_pols && !(todo = calloc(m->n_pols, sizeof(*todo))))
		return -ENOMEM;
	for (i = 0; i < m->n_pols; i++) {
		moved = m->pols[i];
		tmpl_moved(&moved, m);
		kb_pol_key_of(&k, &moved);
		p = shared_find(kb, &k, kb_pol_key_hash(&k));
		if (p && same_target(p, &moved))
			continue;
		todo[n++] = m->pols[i];
	}
	bm.pols = todo;
	bm.n_pols = n;
	r = kb->ops->sa_move(kb, &bm);
	for (i = 0; i < n && !r; i++) {
		kb_pol_key_of(&k, &todo[i]);
		p = shared_find(kb, &k, kb_pol_key_hash(&k));
		if (!p)
			continue;
		moved = todo[i];
		tmpl_moved(&moved, m);
		p->tfamily = (uint8_t)moved.tmpl_dst.ss_family;
		kb_ip16(p->tsrc, &moved.tmpl_src);
		kb_ip16(p->tdst, &moved.tmpl_dst);
	}
	free(todo);
	return r;
}

/* At close: the backend has removed (or left, by its own rule) what it
 * installed; only the counts go. */
static void shared_free(struct kbackend *kb)
{
	struct hnode *h;

	for (size_t i = 0; i < kb->shared.size; i++)
		while ((h = kb->shared.b[i])) {
			htab_del(&kb->shared, h);
			free(container_of(h, struct shared_pol, node));
		}
	for (size_t i = 0; i < kb->reqids.size; i++)
		while ((h = kb->reqids.b[i])) {
			htab_del(&kb->reqids, h);
			free(container_of(h, struct reqid_use, node));
		}
	htab_free(&kb->shared);
	htab_free(&kb->reqids);
}
