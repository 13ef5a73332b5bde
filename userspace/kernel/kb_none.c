// SPDX-License-Identifier: GPL-2.0
/*
 * The "none" kernel backend (see kb_none.h).  Keys are never copied: only
 * the SA's identity and parameters are kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "htab.h"
#include "kb_none.h"
#include "log.h"

struct none_sa {
	struct sockaddr_storage src, dst;
	uint32_t spi, reqid;
	enum kb_encap encap;
	uint16_t sport, dport;
	bool inbound;
	char alg[64];
	struct none_sa *next, **pprev;	/* the list, for dumps */
	struct hnode node;		/* by SPI */
};

struct none_pol {
	struct kb_policy pol;
	struct none_pol *next, **pprev;
	struct hnode node;		/* by selector, direction, mark */
};

/* Lists keep the dump order; the tables make add/find/delete O(1), as a
 * kernel's SAD/SPD are, so a responder with 10,000 SAs on this backend
 * is not slowed by the backend (the benchmarks use it). */
struct none {
	struct none_sa *sas;
	struct none_pol *pols;
	struct htab sa_tab, pol_tab;
};

static const char *ip_str(const struct sockaddr_storage *ss, char *b, size_t n)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, b, (socklen_t)n);
	else if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, b, (socklen_t)n);
	else
		snprintf(b, n, "?");
	return b;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static const char *encap_name(enum kb_encap e)
{
	return e == KB_ENCAP_UDP ? "udp" : e == KB_ENCAP_TCP ? "tcp" : "raw";
}

static struct none_sa *find_sa(struct none *n, const struct sockaddr_storage *dst,
			       uint32_t spi)
{
	for (struct hnode *h = htab_first(&n->sa_tab, htab_hash_u32(spi)); h; h = htab_next(h)) {
		struct none_sa *s = container_of(h, struct none_sa, node);

		if (s->spi == spi && same_ip(&s->dst, dst))
			return s;
	}
	return NULL;
}

static void sa_unlink(struct none *n, struct none_sa *s)
{
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	htab_del(&n->sa_tab, &s->node);
}

static int none_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	struct none *n = kb->priv;
	struct none_sa *s;
	char a[64], b[64];

	if (find_sa(n, &sa->dst, sa->spi)) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "SA spi 0x%08x to %s already exists", ntohl(sa->spi),
			 ip_str(&sa->dst, a, sizeof(a)));
		return -EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->src = sa->src;
	s->dst = sa->dst;
	s->spi = sa->spi;
	s->reqid = sa->reqid;
	s->encap = sa->encap;
	s->sport = sa->encap_sport;
	s->dport = sa->encap_dport;
	s->inbound = sa->inbound;
	snprintf(s->alg, sizeof(s->alg), "%s", sa->aead[0] ? sa->aead : sa->enc);
	if (htab_add(&n->sa_tab, &s->node, htab_hash_u32(s->spi))) {
		free(s);
		return -ENOMEM;
	}
	s->next = n->sas;
	if (n->sas)
		n->sas->pprev = &s->next;
	s->pprev = &n->sas;
	n->sas = s;
	log_info("kernel(none): SA %s spi 0x%08x %s -> %s %s encap %s (not installed)",
		 sa->inbound ? "in" : "out", ntohl(sa->spi),
		 ip_str(&sa->src, a, sizeof(a)), ip_str(&sa->dst, b, sizeof(b)),
		 s->alg, encap_name(sa->encap));
	return 0;
}

static int none_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst,
		       uint32_t spi)
{
	struct none_sa *s = find_sa(kb->priv, dst, spi);
	char a[64];

	if (!s) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "no SA spi 0x%08x to %s", ntohl(spi),
			 ip_str(dst, a, sizeof(a)));
		return -ENOENT;
	}
	sa_unlink(kb->priv, s);
	log_info("kernel(none): SA spi 0x%08x deleted", ntohl(spi));
	free(s);
	return 0;
}

/*
 * Nothing is installed, but the SA's transport is part of what tests see:
 * record the new encapsulation (a NAT mapping change moves the ports,
 * RFC 3948 §2.2 / RFC 7296 §2.23).
 */
static int none_sa_steer(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, enum kb_encap encap, uint16_t sport,
			 uint16_t dport)
{
	struct none_sa *s = find_sa(kb->priv, dst, spi);
	char a[64];

	if (!s) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "no SA spi 0x%08x to %s", ntohl(spi),
			 ip_str(dst, a, sizeof(a)));
		return -ENOENT;
	}
	s->encap = encap;
	s->sport = encap == KB_ENCAP_RAW ? 0 : sport;
	s->dport = encap == KB_ENCAP_RAW ? 0 : dport;
	log_info("kernel(none): SA spi 0x%08x now encap %s %u -> %u (not installed)",
		 ntohl(spi), encap_name(encap), s->sport, s->dport);
	return 0;
}

static int none_sa_stats(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, struct kb_stats *st)
{
	if (!find_sa(kb->priv, dst, spi))
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	return 0;
}

static bool same_pol(const struct kb_policy *a, const struct kb_policy *b)
{
	return a->dir == b->dir && a->sel.family == b->sel.family &&
	       same_ip(&a->sel.src, &b->sel.src) &&
	       same_ip(&a->sel.dst, &b->sel.dst) &&
	       a->sel.src_plen == b->sel.src_plen &&
	       a->sel.dst_plen == b->sel.dst_plen &&
	       a->sel.proto == b->sel.proto && a->sel.sport == b->sel.sport &&
	       a->sel.dport == b->sel.dport && a->mark == b->mark &&
	       a->if_id == b->if_id;
}

static uint32_t hash_ip(uint32_t h, const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return htab_hash(h, &((const struct sockaddr_in *)a)->sin_addr, 4);
	if (a->ss_family == AF_INET6)
		return htab_hash(h, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
	return h;
}

/* Over exactly the fields same_pol() compares. */
static uint32_t pol_hash(const struct kb_policy *p)
{
	uint32_t v[8] = {
		(uint32_t)p->dir, (uint32_t)p->sel.family, p->sel.src_plen,
		p->sel.dst_plen, p->sel.proto,
		(uint32_t)p->sel.sport << 16 | p->sel.dport, p->mark, p->if_id,
	};
	uint32_t h = htab_hash(HTAB_SEED, v, sizeof(v));

	return hash_ip(hash_ip(h, &p->sel.src), &p->sel.dst);
}

static struct none_pol *find_pol(struct none *n, const struct kb_policy *pol)
{
	for (struct hnode *h = htab_first(&n->pol_tab, pol_hash(pol)); h; h = htab_next(h)) {
		struct none_pol *p = container_of(h, struct none_pol, node);

		if (same_pol(&p->pol, pol))
			return p;
	}
	return NULL;
}

static const char *dir_name(enum kb_dir d)
{
	return d == KB_DIR_IN ? "in" : d == KB_DIR_OUT ? "out" : "fwd";
}

static int none_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none *n = kb->priv;
	struct none_pol *p;
	char a[64], b[64];

	if (find_pol(n, pol)) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "policy already exists");
		return -EEXIST;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pol = *pol;
	if (htab_add(&n->pol_tab, &p->node, pol_hash(pol))) {
		free(p);
		return -ENOMEM;
	}
	p->next = n->pols;
	if (n->pols)
		n->pols->pprev = &p->next;
	p->pprev = &n->pols;
	n->pols = p;
	log_info("kernel(none): policy %s %s/%u -> %s/%u reqid %u (not installed)",
		 dir_name(pol->dir), ip_str(&pol->sel.src, a, sizeof(a)),
		 pol->sel.src_plen, ip_str(&pol->sel.dst, b, sizeof(b)),
		 pol->sel.dst_plen, pol->reqid);
	return 0;
}

static int none_policy_del(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none *n = kb->priv;
	struct none_pol *p = find_pol(n, pol);

	if (!p) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no such policy");
		return -ENOENT;
	}
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	htab_del(&n->pol_tab, &p->node);
	free(p);
	return 0;
}

static void none_destroy(struct kbackend *kb)
{
	struct none *n = kb->priv;

	if (!n)
		return;
	while (n->sas) {
		struct none_sa *s = n->sas;

		n->sas = s->next;
		free(s);
	}
	while (n->pols) {
		struct none_pol *p = n->pols;

		n->pols = p->next;
		free(p);
	}
	htab_free(&n->sa_tab);
	htab_free(&n->pol_tab);
	free(n);
	kb->priv = NULL;
}

static const struct kbackend_ops kb_none_ops = {
	.name = "none",
	.sa_add = none_sa_add,
	.sa_del = none_sa_del,
	.sa_steer = none_sa_steer,
	.sa_stats = none_sa_stats,
	.policy_add = none_policy_add,
	.policy_del = none_policy_del,
	.keepalive_set = kb_keepalive_unsupported,
	.event_fd = kb_no_event_fd,
	.destroy = none_destroy,
};

int kb_none_open(struct kbackend *kb)
{
	kb->priv = calloc(1, sizeof(struct none));
	if (!kb->priv)
		return -ENOMEM;
	kb->ops = &kb_none_ops;
	kb->kind = KB_NONE;
	return 0;
}

void kb_none_counts(const struct kbackend *kb, size_t *n_sa, size_t *n_pol)
{
	const struct none *n = kb->priv;

	*n_sa = *n_pol = 0;
	if (kb->ops != &kb_none_ops)
		return;
	for (const struct none_sa *s = n->sas; s; s = s->next)
		(*n_sa)++;
	for (const struct none_pol *p = n->pols; p; p = p->next)
		(*n_pol)++;
}

int kb_none_dump(const struct kbackend *kb, struct buf *out)
{
	const struct none *n = kb->priv;
	char line[256], a[64], b[64];
	int r = 0;

	if (kb->ops != &kb_none_ops)
		return -EINVAL;
	for (const struct none_sa *s = n->sas; s && !r; s = s->next) {
		int k = snprintf(line, sizeof(line),
				 "sa %s spi 0x%08x %s -> %s %s encap %s %u -> %u reqid %u\n",
				 s->inbound ? "in" : "out", ntohl(s->spi),
				 ip_str(&s->src, a, sizeof(a)),
				 ip_str(&s->dst, b, sizeof(b)), s->alg,
				 encap_name(s->encap), s->sport, s->dport, s->reqid);
		r = buf_append(out, line, (size_t)k);
	}
	for (const struct none_pol *p = n->pols; p && !r; p = p->next) {
		int k = snprintf(line, sizeof(line),
				 "policy %s %s/%u -> %s/%u reqid %u\n",
				 dir_name(p->pol.dir),
				 ip_str(&p->pol.sel.src, a, sizeof(a)),
				 p->pol.sel.src_plen,
				 ip_str(&p->pol.sel.dst, b, sizeof(b)),
				 p->pol.sel.dst_plen, p->pol.reqid);
		r = buf_append(out, line, (size_t)k);
	}
	return r;
}
