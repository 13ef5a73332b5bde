// SPDX-License-Identifier: GPL-2.0
/*
 * The "none" kernel backend (see kb_none.h).  Keys are never copied: only
 * the SA's identity and parameters are kept.
 *
 * Two hooks for the namespace tests, from the environment (kb_none.h):
 * TCPIKE_KB_NONE_RECORD names a file that gets one line for every request
 * the backend receives, with every field of the SA or policy but the key
 * bytes (their lengths only), so a test reads what would have been
 * installed rather than the daemon's own account of it;
 * TCPIKE_KB_NONE_ESP simulates inbound ESP per encapsulation (the ESP
 * reachability probe's view of the network).
 */
#define LOG_SUBSYS LOG_SUB_KERNEL

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "htab.h"
#include "kb_none.h"
#include "log.h"

/*
 * The records are what status, dumps and the duplicate checks need, in
 * the fewest bytes: addresses as 16 octets and a family, not sockaddr
 * storage (the benchmarks hold up to a million SAs on this backend, and its
 * records stand in for memory a real kernel would hold), and no list beside
 * the tables: dumps walk the tables.
 */
struct none_ip {
	uint8_t a[16];		/* IPv4 in the first 4 */
};

struct none_sa {
	struct hnode node;		/* by SPI */
	struct none_ip src, dst;
	uint32_t spi, reqid;
	uint16_t sport, dport;
	uint8_t family;
	uint8_t encap;			/* enum kb_encap */
	bool inbound;
	char alg[32];			/* kernel name, cut to fit */
	uint64_t since_ms;		/* added or moved (TCPIKE_KB_NONE_ESP) */
};

struct none_pol {
	struct hnode node;		/* by selector, direction, mark */
	struct kb_pol_key k;
	uint32_t reqid, priority;
	struct none_ip tsrc, tdst;	/* the template's tunnel */
};

/* The tables make add/find/delete O(1), as a kernel's SAD/SPD are, so a
 * responder with a million SAs on this backend is not slowed by the
 * backend (the benchmarks use it). */
struct none {
	struct htab sa_tab, pol_tab;
	int record_fd;			/* TCPIKE_KB_NONE_RECORD, or -1 */
	int esp_arrives;		/* TCPIKE_KB_NONE_ESP: 1 << enum kb_encap, or -1 */
};

static const char *nip_str(int family, const uint8_t ip[16], char *b, size_t n)
{
	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(family, ip, b, (socklen_t)n))
		snprintf(b, n, "?");
	return b;
}

/* The address of ss (zero for another family). */
static struct none_ip nip(const struct sockaddr_storage *ss)
{
	struct none_ip ip = { { 0 } };

	kb_ip16(ip.a, ss);
	return ip;
}

static const char *encap_name(enum kb_encap e)
{
	return e == KB_ENCAP_UDP ? "udp" : e == KB_ENCAP_TCP ? "tcp" : "raw";
}

/* --- test hooks ----------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One line to the record, written at once (a test reads it live). */
static void __attribute__((format(printf, 2, 3))) record(struct none *n, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int k;

	if (n->record_fd < 0)
		return;
	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if ((size_t)k > sizeof(line) - 2)
		k = sizeof(line) - 2;
	line[k++] = '\n';
	if (write(n->record_fd, line, (size_t)k) != k)
		log_warn("kernel(none): TCPIKE_KB_NONE_RECORD: short write");
}

static void record_sel(char *b, size_t len, const struct kb_selector *sel)
{
	char s[64], d[64];

	snprintf(b, len, "%s/%u-%s/%u proto %u ports %u-%u", addr_str(&sel->src, s, sizeof(s)),
		 sel->src_plen, addr_str(&sel->dst, d, sizeof(d)), sel->dst_plen, sel->proto,
		 sel->sport, sel->dport);
}

static void record_sa(struct none *n, const struct kb_sa *sa)
{
	char a[64], b[64], sel[200];

	if (n->record_fd < 0)
		return;
	record_sel(sel, sizeof(sel), &sa->sel);
	record(n, "sa-add %s spi 0x%08x src %s dst %s reqid %u mode %s sel %s aead %s "
	       "icv %u enc %s auth %s trunc %u enc_key_len %u auth_key_len %u esn %d "
	       "replay %u bytes %llu/%llu packets %llu/%llu seconds %llu/%llu "
	       "mark 0x%x/0x%x if_id %u encap %s %u %u",
	       sa->inbound ? "in" : "out", ntohl(sa->spi), addr_str(&sa->src, a, sizeof(a)),
	       addr_str(&sa->dst, b, sizeof(b)), sa->reqid,
	       sa->mode == KB_MODE_TRANSPORT ? "transport" : "tunnel", sel,
	       sa->aead[0] ? sa->aead : "-", sa->aead_icv_bits, sa->enc[0] ? sa->enc : "-",
	       sa->auth[0] ? sa->auth : "-", sa->auth_trunc_bits, sa->enc_key_len,
	       sa->auth_key_len, sa->esn, sa->replay_window,
	       (unsigned long long)sa->soft_bytes, (unsigned long long)sa->hard_bytes,
	       (unsigned long long)sa->soft_packets, (unsigned long long)sa->hard_packets,
	       (unsigned long long)sa->soft_seconds, (unsigned long long)sa->hard_seconds,
	       sa->mark, sa->mark_mask, sa->if_id, encap_name(sa->encap), sa->encap_sport,
	       sa->encap_dport);
}

static void record_pol(struct none *n, const char *what, const struct kb_policy *pol)
{
	char a[64], b[64], sel[200];

	if (n->record_fd < 0)
		return;
	record_sel(sel, sizeof(sel), &pol->sel);
	record(n, "%s %s sel %s priority %u reqid %u mode %s tmpl %s-%s mark 0x%x/0x%x if_id %u",
	       what, pol->dir == KB_DIR_IN ? "in" : pol->dir == KB_DIR_OUT ? "out" : "fwd", sel,
	       pol->priority, pol->reqid, pol->mode == KB_MODE_TRANSPORT ? "transport" : "tunnel",
	       addr_str(&pol->tmpl_src, a, sizeof(a)), addr_str(&pol->tmpl_dst, b, sizeof(b)),
	       pol->mark, pol->mark_mask, pol->if_id);
}

/* "raw,udp" -> the bit of each encapsulation; an empty list is none. */
static int parse_encaps(const char *list)
{
	static const char *const names[] = { "raw", "udp", "tcp" };
	int m = 0;

	while (*list) {
		size_t k = strcspn(list, ",");
		unsigned int i;

		for (i = 0; i < 3; i++)
			if (strlen(names[i]) == k && !strncmp(list, names[i], k))
				m |= 1 << i;
		list += k + (list[k] == ',');
	}
	return m;
}

static void hooks_open(struct none *n)
{
	const char *rec = getenv("TCPIKE_KB_NONE_RECORD");
	const char *esp = getenv("TCPIKE_KB_NONE_ESP");

	n->record_fd = -1;
	n->esp_arrives = -1;
	if (rec && *rec) {
		n->record_fd = open(rec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (n->record_fd < 0)
			log_err("kernel(none): TCPIKE_KB_NONE_RECORD %s: %s", rec, strerror(errno));
		else
			log_info("kernel(none): recording every request in %s (test hook)", rec);
	}
	if (esp) {
		n->esp_arrives = parse_encaps(esp);
		log_info("kernel(none): simulating inbound ESP on '%s' (test hook)", esp);
	}
}

bool kb_none_esp_simulated(const struct kbackend *kb)
{
	const struct none *n = kb->priv;

	return kb->kind == KB_NONE && n && n->esp_arrives >= 0;
}

static struct none_sa *find_sa(struct none *n, const struct sockaddr_storage *dst,
			       uint32_t spi)
{
	struct none_ip d = nip(dst);

	for (struct hnode *h = htab_first(&n->sa_tab, htab_hash_u32(spi)); h; h = htab_next(h)) {
		struct none_sa *s = container_of(h, struct none_sa, node);

		if (s->spi == spi && s->family == dst->ss_family && !memcmp(&s->dst, &d, sizeof(d)))
			return s;
	}
	return NULL;
}

static void sa_unlink(struct none *n, struct none_sa *s)
{
	htab_del(&n->sa_tab, &s->node);
}

/* The node after h (NULL: the first) in t, h in bucket *i: dumps walk
 * the tables in no particular order. */
static const struct hnode *tab_walk(const struct htab *t, size_t *i, const struct hnode *h)
{
	if (h) {
		if (h->next)
			return h->next;
		(*i)++;
	}
	for (; *i < t->size; (*i)++)
		if (t->b[*i].head)
			return t->b[*i].head;
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
			 addr_str(&sa->dst, a, sizeof(a)));
		return -EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->src = nip(&sa->src);
	s->dst = nip(&sa->dst);
	s->family = (uint8_t)sa->dst.ss_family;
	s->spi = sa->spi;
	s->reqid = sa->reqid;
	s->encap = (uint8_t)sa->encap;
	s->sport = sa->encap_sport;
	s->dport = sa->encap_dport;
	s->inbound = sa->inbound;
	s->since_ms = now_ms();
	snprintf(s->alg, sizeof(s->alg), "%.*s", (int)sizeof(s->alg) - 1,
		 sa->aead[0] ? sa->aead : sa->enc);
	record_sa(n, sa);
	if (htab_add(&n->sa_tab, &s->node, htab_hash_u32(s->spi))) {
		free(s);
		return -ENOMEM;
	}
	log_info("kernel(none): SA %s spi 0x%08x %s -> %s %s encap %s (not installed)",
		 sa->inbound ? "in" : "out", ntohl(sa->spi),
		 addr_str(&sa->src, a, sizeof(a)), addr_str(&sa->dst, b, sizeof(b)),
		 s->alg, encap_name(sa->encap));
	return 0;
}

/* The SA, or NULL with the backend's sentence set. */
static struct none_sa *find_sa_or_say(struct kbackend *kb, const struct sockaddr_storage *dst,
				      uint32_t spi)
{
	struct none_sa *s = find_sa(kb->priv, dst, spi);
	char a[64];

	if (!s)
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no SA spi 0x%08x to %s",
			 ntohl(spi), addr_str(dst, a, sizeof(a)));
	return s;
}

static int none_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst,
		       uint32_t spi)
{
	struct none_sa *s = find_sa_or_say(kb, dst, spi);
	char a[64];

	if (!s)
		return -ENOENT;
	sa_unlink(kb->priv, s);
	record(kb->priv, "sa-del spi 0x%08x dst %s", ntohl(spi), addr_str(dst, a, sizeof(a)));
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
	struct none_sa *s = find_sa_or_say(kb, dst, spi);
	char a[64];

	if (!s)
		return -ENOENT;
	s->encap = (uint8_t)encap;
	s->sport = encap == KB_ENCAP_RAW ? 0 : sport;
	s->dport = encap == KB_ENCAP_RAW ? 0 : dport;
	s->since_ms = now_ms();
	record(kb->priv, "sa-steer spi 0x%08x dst %s encap %s %u %u", ntohl(spi),
	       addr_str(dst, a, sizeof(a)), encap_name(encap), s->sport, s->dport);
	log_info("kernel(none): SA spi 0x%08x now encap %s %u -> %u (not installed)",
		 ntohl(spi), encap_name(encap), s->sport, s->dport);
	return 0;
}

/*
 * Nothing flows, so nothing is counted; but with TCPIKE_KB_NONE_ESP an
 * inbound SA on one of the listed encapsulations counts 4 packets a second
 * from 250 ms after it was added or moved there (the peer's ESP arriving),
 * and one on any other encapsulation none (ESP that never arrives).
 */
static int none_sa_stats(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, struct kb_stats *st)
{
	struct none *n = kb->priv;
	struct none_sa *s = find_sa(n, dst, spi);

	if (!s)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	if (n->esp_arrives > 0 && s->inbound && (n->esp_arrives & (1 << s->encap))) {
		st->packets = (now_ms() - s->since_ms) / 250;
		st->bytes = st->packets * 100;
	}
	return 0;
}

/* The record of pol: exactly the fields a kernel's SPD tells policies
 * apart by (selector, direction, mark, if_id), and the reqid. */
static void pol_rec(struct none_pol *r, const struct kb_policy *pol)
{
	memset(r, 0, sizeof(*r));
	kb_pol_key_of(&r->k, pol);
	r->reqid = pol->reqid;
	r->priority = pol->priority;
	r->tsrc = nip(&pol->tmpl_src);
	r->tdst = nip(&pol->tmpl_dst);
}

/* The policy with key's selectors, its hash given (kb_pol_key_hash). */
static struct none_pol *find_pol(struct none *n, const struct none_pol *key, uint32_t hash)
{
	for (struct hnode *h = htab_first(&n->pol_tab, hash); h; h = htab_next(h)) {
		struct none_pol *p = container_of(h, struct none_pol, node);

		if (!memcmp(&p->k, &key->k, sizeof(key->k)))
			return p;
	}
	return NULL;
}

static int none_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none *n = kb->priv;
	struct none_pol key, *p;
	char a[64], b[64];
	uint32_t hash;

	pol_rec(&key, pol);
	hash = kb_pol_key_hash(&key.k);
	if (find_pol(n, &key, hash)) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "policy already exists");
		return -EEXIST;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = key;
	if (htab_add(&n->pol_tab, &p->node, hash)) {
		free(p);
		return -ENOMEM;
	}
	record_pol(n, "policy-add", pol);
	log_info("kernel(none): policy %s %s/%u -> %s/%u reqid %u (not installed)",
		 kb_dir_name(pol->dir), addr_str(&pol->sel.src, a, sizeof(a)),
		 pol->sel.src_plen, addr_str(&pol->sel.dst, b, sizeof(b)),
		 pol->sel.dst_plen, pol->reqid);
	return 0;
}

static int none_policy_del(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none *n = kb->priv;
	struct none_pol key, *p;

	pol_rec(&key, pol);
	p = find_pol(n, &key, kb_pol_key_hash(&key.k));
	if (!p) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no such policy");
		return -ENOENT;
	}
	htab_del(&n->pol_tab, &p->node);
	free(p);
	record_pol(n, "policy-del", pol);
	return 0;
}

static int none_policy_update(struct kbackend *kb, const struct kb_policy *pol)
{
	struct none_pol key, *p;

	pol_rec(&key, pol);
	p = find_pol(kb->priv, &key, kb_pol_key_hash(&key.k));
	if (!p) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no such policy");
		return -ENOENT;
	}
	p->priority = pol->priority;
	record_pol(kb->priv, "policy-update", pol);
	return 0;
}

/* The half (dst, spi) of a move, unless another SA holds its new
 * identity (new_dst, spi): NULL with the sentence set. */
static struct none_sa *move_half(struct kbackend *kb, const struct sockaddr_storage *dst,
				 const struct sockaddr_storage *new_dst, uint32_t spi)
{
	struct none_sa *s = find_sa_or_say(kb, dst, spi), *o;
	char a[64];

	o = s ? find_sa(kb->priv, new_dst, spi) : NULL;
	if (o && o != s) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "SA spi 0x%08x to %s already exists",
			 ntohl(spi), addr_str(new_dst, a, sizeof(a)));
		return NULL;
	}
	return s;
}

static void move_set(struct none *n, struct none_sa *s, const struct sockaddr_storage *src,
		     const struct sockaddr_storage *dst, const struct kb_move *m,
		     uint16_t sport, uint16_t dport)
{
	char a[64], b[64];

	s->src = nip(src);
	s->dst = nip(dst);
	s->family = (uint8_t)dst->ss_family;
	if (m->encap == KB_ENCAP_UDP) {
		s->sport = sport;
		s->dport = dport;
	}
	record(n, "sa-move spi 0x%08x src %s dst %s encap %s %u %u", ntohl(s->spi),
	       addr_str(src, a, sizeof(a)), addr_str(dst, b, sizeof(b)),
	       encap_name((enum kb_encap)s->encap), s->sport, s->dport);
}

/*
 * Nothing is installed, but tests read where the SAs and templates are
 * (RFC 7296 §2.23): both halves and every policy are looked up before
 * anything moves, so a refusal leaves all as it was.
 */
static int none_sa_move(struct kbackend *kb, const struct kb_move *m)
{
	struct none *n = kb->priv;
	struct none_sa *in = NULL, *out = NULL;
	struct none_pol key, *p[64];
	unsigned int i;

	if (m->n_pols > sizeof(p) / sizeof(p[0])) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "more than %zu policies to move",
			 sizeof(p) / sizeof(p[0]));
		return -E2BIG;
	}
	if (m->spi_in && !(in = move_half(kb, &m->old_local, &m->local, m->spi_in)))
		return -ENOENT;
	if (m->spi_out && !(out = move_half(kb, &m->old_remote, &m->remote, m->spi_out)))
		return -ENOENT;
	for (i = 0; i < m->n_pols; i++) {
		pol_rec(&key, &m->pols[i]);
		p[i] = find_pol(n, &key, kb_pol_key_hash(&key.k));
		if (!p[i]) {
			snprintf(kb->kb_error, sizeof(kb->kb_error), "no such policy");
			return -ENOENT;
		}
	}
	if (in)
		move_set(n, in, &m->remote, &m->local, m, m->rport, m->lport);
	if (out)
		move_set(n, out, &m->local, &m->remote, m, m->lport, m->rport);
	for (i = 0; i < m->n_pols; i++) {
		struct kb_policy moved = m->pols[i];
		bool o = moved.dir == KB_DIR_OUT;

		moved.tmpl_src = o ? m->local : m->remote;
		moved.tmpl_dst = o ? m->remote : m->local;
		p[i]->tsrc = nip(&moved.tmpl_src);
		p[i]->tdst = nip(&moved.tmpl_dst);
		record_pol(n, "policy-move", &moved);
	}
	return 0;
}

static void none_destroy(struct kbackend *kb)
{
	struct none *n = kb->priv;
	struct hnode *h;

	if (!n)
		return;
	for (size_t i = 0; i < n->sa_tab.size; i++)
		while ((h = n->sa_tab.b[i].head)) {
			htab_del(&n->sa_tab, h);
			free(container_of(h, struct none_sa, node));
		}
	for (size_t i = 0; i < n->pol_tab.size; i++)
		while ((h = n->pol_tab.b[i].head)) {
			htab_del(&n->pol_tab, h);
			free(container_of(h, struct none_pol, node));
		}
	htab_free(&n->sa_tab);
	htab_free(&n->pol_tab);
	if (n->record_fd >= 0)
		close(n->record_fd);
	free(n);
	kb->priv = NULL;
}

/* A virtual IP is not put on the host: only recorded for the tests. */
static int none_vip_add(struct kbackend *kb, const struct sockaddr_storage *vip,
			const struct sockaddr_storage *near, char *ifname)
{
	char a[ADDR_STRLEN];

	(void)near;
	snprintf(ifname, IF_NAMESIZE, "none");
	record(kb->priv, "vip-add %s", addr_str(vip, a, sizeof(a)));
	return 0;
}

static int none_vip_del(struct kbackend *kb, const struct sockaddr_storage *vip)
{
	char a[ADDR_STRLEN];

	record(kb->priv, "vip-del %s", addr_str(vip, a, sizeof(a)));
	return 0;
}

static const struct kbackend_ops kb_none_ops = {
	.name = "none",
	.sa_add = none_sa_add,
	.sa_del = none_sa_del,
	.sa_steer = none_sa_steer,
	.sa_stats = none_sa_stats,
	.sa_move = none_sa_move,
	.policy_add = none_policy_add,
	.policy_del = none_policy_del,
	.policy_update = none_policy_update,
	.keepalive_set = kb_keepalive_unsupported,
	.event_fd = kb_no_event_fd,
	.destroy = none_destroy,
	.vip_add = none_vip_add,
	.vip_del = none_vip_del,
};

int kb_none_open(struct kbackend *kb)
{
	kb->priv = calloc(1, sizeof(struct none));
	if (!kb->priv)
		return -ENOMEM;
	kb->ops = &kb_none_ops;
	kb->kind = KB_NONE;
	hooks_open(kb->priv);
	return 0;
}

void kb_none_counts(const struct kbackend *kb, size_t *n_sa, size_t *n_pol)
{
	const struct none *n = kb->priv;

	*n_sa = *n_pol = 0;
	if (kb->ops != &kb_none_ops)
		return;
	*n_sa = n->sa_tab.n;
	*n_pol = n->pol_tab.n;
}

int kb_none_dump(const struct kbackend *kb, struct buf *out)
{
	const struct none *n = kb->priv;
	char line[320], a[64], b[64], c[64], d[64];
	const struct hnode *h = NULL;
	size_t i = 0;
	int r = 0;

	if (kb->ops != &kb_none_ops)
		return -EINVAL;
	while (!r && (h = tab_walk(&n->sa_tab, &i, h))) {
		const struct none_sa *s = container_of(h, struct none_sa, node);
		int k = snprintf(line, sizeof(line),
				 "sa %s spi 0x%08x %s -> %s %s encap %s %u -> %u reqid %u\n",
				 s->inbound ? "in" : "out", ntohl(s->spi),
				 nip_str(s->family, s->src.a, a, sizeof(a)),
				 nip_str(s->family, s->dst.a, b, sizeof(b)), s->alg,
				 encap_name(s->encap), s->sport, s->dport, s->reqid);
		r = buf_append(out, line, (size_t)k);
	}
	i = 0;
	h = NULL;
	while (!r && (h = tab_walk(&n->pol_tab, &i, h))) {
		const struct none_pol *p = container_of(h, struct none_pol, node);
		int k = snprintf(line, sizeof(line),
				 "policy %s %s/%u -> %s/%u reqid %u priority %u tmpl %s -> %s\n",
				 kb_dir_name(p->k.dir),
				 nip_str(p->k.family, p->k.src, a, sizeof(a)),
				 p->k.src_plen,
				 nip_str(p->k.family, p->k.dst, b, sizeof(b)),
				 p->k.dst_plen, p->reqid, p->priority,
				 nip_str(p->k.family, p->tsrc.a, c, sizeof(c)),
				 nip_str(p->k.family, p->tdst.a, d, sizeof(d)));
		r = buf_append(out, line, (size_t)k);
	}
	return r;
}
