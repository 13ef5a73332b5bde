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
#include "kb_none.h"
#include "log.h"

struct none_sa {
	struct sockaddr_storage src, dst;
	uint32_t spi, reqid;
	enum kb_encap encap;
	uint16_t sport, dport;
	bool inbound;
	char alg[64];
	struct none_sa *next;
};

struct none_pol {
	struct kb_policy pol;
	struct none_pol *next;
};

struct none {
	struct none_sa *sas;
	struct none_pol *pols;
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

static struct none_sa **find_sa(struct none *n, const struct sockaddr_storage *dst,
				uint32_t spi)
{
	for (struct none_sa **pp = &n->sas; *pp; pp = &(*pp)->next)
		if ((*pp)->spi == spi && same_ip(&(*pp)->dst, dst))
			return pp;
	return NULL;
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
	s->next = n->sas;
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
	struct none_sa **pp = find_sa(kb->priv, dst, spi), *s;
	char a[64];

	if (!pp) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "no SA spi 0x%08x to %s", ntohl(spi),
			 ip_str(dst, a, sizeof(a)));
		return -ENOENT;
	}
	s = *pp;
	*pp = s->next;
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
	struct none_sa **pp = find_sa(kb->priv, dst, spi), *s;
	char a[64];

	if (!pp) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "no SA spi 0x%08x to %s", ntohl(spi),
			 ip_str(dst, a, sizeof(a)));
		return -ENOENT;
	}
	s = *pp;
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

static const char *dir_name(enum kb_dir d)
{
	return d == KB_DIR_IN ? "in" : d == KB_DIR_OUT ? "out" : "fwd";
}

static int none_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none *n = kb->priv;
	struct none_pol *p;
	char a[64], b[64];

	for (p = n->pols; p; p = p->next)
		if (same_pol(&p->pol, pol)) {
			snprintf(kb->kb_error, sizeof(kb->kb_error),
				 "policy already exists");
			return -EEXIST;
		}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pol = *pol;
	p->next = n->pols;
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

	for (struct none_pol **pp = &n->pols; *pp; pp = &(*pp)->next) {
		if (same_pol(&(*pp)->pol, pol)) {
			struct none_pol *p = *pp;

			*pp = p->next;
			free(p);
			return 0;
		}
	}
	snprintf(kb->kb_error, sizeof(kb->kb_error), "no such policy");
	return -ENOENT;
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
