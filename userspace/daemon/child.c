// SPDX-License-Identifier: GPL-2.0
/*
 * Child SAs: traffic selectors (RFC 7296 §2.9), proposal choice, keying
 * (§2.17) and installation through the kernel backend.
 *
 * Selectors are address ranges on the wire and prefixes in XFRM: a range
 * that is not one prefix becomes the few prefixes that cover it exactly.
 * Port ranges other than one port or all ports widen to all ports (XFRM
 * selectors hold one port and a mask); that is logged.
 *
 * Policies belong to the reqid of a Child SA and move to its successor on
 * rekey, so traffic never meets a gap in the SPD.  A Child SA with exactly
 * the selectors, mode and tunnel of one already installed (make-before-
 * break reauthentication, a second Child SA for the same traffic) takes its
 * reqid and shares its policies, as strongSwan and Libreswan do: the
 * backend layer counts them and deletes them with the last Child SA
 * (kb_policy_add), and the kernel's outbound lookup for the reqid picks the
 * newest SA.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "backend.h"
#include "exch.h"
#include "log.h"

#define MAX_CIDRS	16	/* prefixes one range may turn into */

/* --- selectors ------------------------------------------------------------- */

static void ts_from_cfg(const struct ts_cfg *t, struct ike_ts *o)
{
	memset(o, 0, sizeof(*o));
	o->type = t->family == AF_INET6 ? IKEV2_TS_IPV6_ADDR_RANGE : IKEV2_TS_IPV4_ADDR_RANGE;
	o->proto = t->proto;
	o->sport = t->port_lo;
	o->eport = t->port_hi;
	memcpy(o->start, t->start, t->family == AF_INET6 ? 16 : 4);
	memcpy(o->end, t->end, t->family == AF_INET6 ? 16 : 4);
}

bool ts_has_addr(const struct ike_ts *t, const struct sockaddr_storage *a)
{
	const uint8_t *p;
	size_t n = addr_bytes(a, &p);

	if (!n || (n == 4) != (t->type == IKEV2_TS_IPV4_ADDR_RANGE))
		return false;
	return memcmp(p, t->start, n) >= 0 && memcmp(p, t->end, n) <= 0;
}

bool ts_cfg_has_addr(const struct ts_cfg *ts, int n, const struct sockaddr_storage *a)
{
	struct ike_ts t;

	for (int i = 0; i < n; i++) {
		ts_from_cfg(&ts[i], &t);
		if (ts_has_addr(&t, a))
			return true;
	}
	return false;
}

static size_t ts_alen(const struct ike_ts *t)
{
	return t->type == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 4;
}

/* a ∩ b into o; false when empty. */
static bool ts_intersect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *o)
{
	size_t n = ts_alen(a);

	if (a->type != b->type)
		return false;
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	memset(o, 0, sizeof(*o));
	o->type = a->type;
	o->proto = a->proto ? a->proto : b->proto;
	o->sport = a->sport > b->sport ? a->sport : b->sport;
	o->eport = a->eport < b->eport ? a->eport : b->eport;
	if (o->sport > o->eport)
		return false;
	memcpy(o->start, memcmp(a->start, b->start, n) > 0 ? a->start : b->start, n);
	memcpy(o->end, memcmp(a->end, b->end, n) < 0 ? a->end : b->end, n);
	return memcmp(o->start, o->end, n) <= 0;
}

static bool ts_within(const struct ike_ts *in, const struct ike_ts *out)
{
	size_t n = ts_alen(in);

	return in->type == out->type && (!out->proto || in->proto == out->proto) &&
	       in->sport >= out->sport && in->eport <= out->eport &&
	       memcmp(in->start, out->start, n) >= 0 && memcmp(in->end, out->end, n) <= 0;
}

int ts_set_add(struct ts_set *s, const struct ike_ts *t)
{
	struct ike_ts *n;
	int k;

	for (k = 0; k < s->n; k++)
		if (!memcmp(&s->ts[k], t, sizeof(*t)))
			return 0;
	if (s->n >= IKE_MAX_TS)
		return -E2BIG;
	n = realloc(s->ts, (size_t)(s->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->ts = n;
	s->ts[s->n++] = *t;
	return 0;
}

static void ts_set_clear(struct ts_set *s)
{
	free(s->ts);
	s->ts = NULL;
	s->n = 0;
}

static bool ts_single(const struct ike_ts *t)
{
	return !memcmp(t->start, t->end, ts_alen(t));
}

/* The peer's first selector is one packet's (§2.9: an initiation the
 * kernel's acquire started), and a later one of its own holds it. */
static bool ts_packet_first(const struct ike_ts_pl *peer)
{
	int i;

	if (peer->n < 2 || !ts_single(&peer->ts[0]))
		return false;
	for (i = 1; i < peer->n; i++)
		if (ts_within(&peer->ts[0], &peer->ts[i]))
			return true;
	return false;
}

/* Every non-empty intersection of peer->ts[from..] with ours, in the
 * peer's order, at most IKE_MAX_TS; with pkt, only those holding it. */
static int ts_narrow_from(const struct ike_ts_pl *peer, int from, const struct ike_ts *pkt,
			  const struct ts_cfg *ours, int n_ours, struct ts_set *out)
{
	int i, j;

	for (i = from; i < peer->n; i++) {
		for (j = 0; j < n_ours; j++) {
			struct ike_ts o, t;

			ts_from_cfg(&ours[j], &t);
			if (!ts_intersect(&peer->ts[i], &t, &o) || (pkt && !ts_within(pkt, &o)))
				continue;
			if (ts_set_add(out, &o) == -ENOMEM)
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Narrows the peer's selectors to ours (§2.9): every non-empty
 * intersection, in the peer's order, at most IKE_MAX_TS.  When the first
 * is one packet's and a later one holds it, the packet says which of our
 * selectors the initiator needs: those of the later ones' intersections
 * that hold the packet (strongSwan and Libreswan answer so), not the
 * packet's /32 beside them, which would give the initiator policies its
 * trap's do not share; when none holds it, the later ones' all (then
 * *missed, if given, is set).  -ENOMEM leaves out empty.
 */
static int ts_narrow(const struct ike_ts_pl *peer, const struct ts_cfg *ours, int n_ours,
		     struct ts_set *out, bool *missed)
{
	int r;

	ts_set_clear(out);
	if (ts_packet_first(peer)) {
		r = ts_narrow_from(peer, 1, &peer->ts[0], ours, n_ours, out);
		if (!r && !out->n) {
			r = ts_narrow_from(peer, 1, NULL, ours, n_ours, out);
			if (missed)
				*missed = true;
		}
	} else {
		r = ts_narrow_from(peer, 0, NULL, ours, n_ours, out);
	}
	if (r)
		ts_set_clear(out);
	return r;
}

int child_ts_configured(struct child_sa *c)
{
	struct ike_ts t;
	int i, r = 0;

	for (i = 0; i < c->cfg->n_local_ts && !r; i++) {
		ts_from_cfg(&c->cfg->local_ts[i], &t);
		r = ts_set_add(&c->ts_local, &t);
	}
	for (i = 0; i < c->cfg->n_remote_ts && !r; i++) {
		ts_from_cfg(&c->cfg->remote_ts[i], &t);
		r = ts_set_add(&c->ts_remote, &t);
	}
	return r;
}

void ts_set_put(struct ike_builder *bld, uint8_t pltype, const struct ts_set *s)
{
	ike_put_ts(bld, pltype, s->ts, s->n);
}

int ts_set_str(const struct ts_set *s, char *out, size_t len)
{
	size_t o = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < s->n && o < len; i++) {
		const struct ike_ts *t = &s->ts[i];
		int af = t->type == IKEV2_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		int n;

		inet_ntop(af, t->start, a, sizeof(a));
		inet_ntop(af, t->end, b, sizeof(b));
		n = snprintf(out + o, len - o, "%s%s-%s", i ? "," : "", a, b);
		if (n > 0)
			o += (size_t)n;
		if (t->proto && o < len) {
			n = snprintf(out + o, len - o, "[%u/%u-%u]", t->proto, t->sport, t->eport);
			if (n > 0)
				o += (size_t)n;
		}
	}
	return (int)o;
}

/* Exact prefix cover of [start, end] (big-endian addresses of n bytes). */
static int range_to_cidrs(const uint8_t *start, const uint8_t *end, size_t n,
			  uint8_t addrs[][16], uint8_t *plens, int max)
{
	uint8_t cur[16];
	int count = 0;

	memcpy(cur, start, n);
	while (count < max) {
		int bits = (int)n * 8, plen, i;
		uint8_t last[16];

		/* The largest block aligned at cur that stays within end: the
		 * shortest prefix past cur's last set bit, lengthened (one
		 * host bit of last cleared each step) until last <= end. */
		for (plen = bits; plen > 0 && !(cur[(plen - 1) / 8] & (0x80 >> ((plen - 1) % 8))); plen--)
			;
		memcpy(last, cur, n);
		for (i = plen; i < bits; i++)
			last[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		for (; plen < bits && memcmp(last, end, n) > 0; plen++)
			last[plen / 8] &= (uint8_t)~(0x80 >> (plen % 8));
		memcpy(addrs[count], cur, n);
		plens[count++] = (uint8_t)plen;
		if (!memcmp(last, end, n))
			return count;
		/* cur = last + 1 */
		memcpy(cur, last, n);
		for (i = (int)n - 1; i >= 0; i--)
			if (++cur[i])
				break;
	}
	return -E2BIG;
}

/* --- SPIs and lookup -------------------------------------------------------- */

static bool spi_in_use(struct engine *e, uint32_t spi)
{
	struct hnode *n;

	for (n = htab_first(&e->child_spis, htab_hash_u32(spi)); n; n = htab_next(n))
		if (container_of(n, struct child_sa, spi_node)->spi_in == spi)
			return true;
	return false;
}

static uint32_t child_alloc_spi(struct engine *e)
{
	uint32_t spi;

	/* SPIs below 256 are reserved (RFC 4303 §2.1).  The table holds
	 * every child_sa, pending ones included: one lookup, not a scan of
	 * all IKE SAs (which made each setup O(n)). */
	do {
		crypto_random(&spi, sizeof(spi));
	} while (ntohl(spi) < 256 || spi_in_use(e, spi));
	return spi;
}

struct child_sa *child_by_spi_out(struct ike_sa *sa, uint32_t spi)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next)
		if (c->spi_out == spi)
			return c;
	return NULL;
}

struct child_sa *child_new(struct ike_sa *sa, const struct child_cfg *cfg)
{
	struct child_sa *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ike = sa;
	c->cfg = cfg;
	c->spi_in = child_alloc_spi(sa->e);
	if (htab_add(&sa->e->child_spis, &c->spi_node, htab_hash_u32(c->spi_in))) {
		free(c);
		return NULL;
	}
	c->id = ++sa->e->next_child_id;
	c->mode = cfg->mode;	/* reqid: at install (child_reqid), or the rekeyed SA's */
	return c;
}

/* --- payloads ----------------------------------------------------------------- */

static uint16_t pfs_group(const struct child_cfg *cfg)
{
	int i;

	for (i = 0; i < cfg->n_esp; i++)
		if (cfg->esp[i].n_ke)
			return cfg->esp[i].ke[0];
	return 0;
}

void child_put_sa(struct child_sa *c, struct ike_builder *bld, bool in_auth)
{
	prop_put_esp(bld, c->cfg, c->spi_in, pfs_group(c->cfg), in_auth);
}

/* A road warrior's selectors are its virtual IPs (§3.15): each local_ts
 * narrowed to those it holds, into l (room for max); how many. */
static int ts_local_vips(const struct child_sa *c, struct ike_ts *l, int max)
{
	const struct ike_sa *sa = c->ike;
	int nl = 0;

	for (int i = 0; i < c->cfg->n_local_ts; i++)
		for (int v = 0; v < ike_n_my_vip(sa) && nl < max; v++) {
			const uint8_t *p;
			size_t al = addr_bytes(&sa->rw->my_vip[v], &p);

			ts_from_cfg(&c->cfg->local_ts[i], &l[nl]);
			if (!ts_has_addr(&l[nl], &sa->rw->my_vip[v]))
				continue;
			memcpy(l[nl].start, p, al);
			memcpy(l[nl].end, p, al);
			nl++;
		}
	return nl;
}

void child_put_ts(struct child_sa *c, struct ike_builder *bld, bool initiator)
{
	struct ike_ts l[IKE_MAX_TS], r[IKE_MAX_TS];
	struct child_trigger *t = c->ike->trigger;
	int i, nv, nl = 0, nr = 0;

	(void)initiator;
	/* §2.9: a request for the traffic of one packet (the kernel's
	 * acquire) names the packet first, so the responder can narrow to
	 * the policy that holds it. */
	if (t && t->cfg == c->cfg) {
		l[nl++] = t->tsi;
		r[nr++] = t->tsr;
		free(t);
		c->ike->trigger = NULL;
	}
	nv = ts_local_vips(c, l + nl, IKE_MAX_TS - nl);
	nl += nv;
	for (i = 0; i < c->cfg->n_local_ts && nl < IKE_MAX_TS && !nv; i++)
		ts_from_cfg(&c->cfg->local_ts[i], &l[nl++]);
	for (i = 0; i < c->cfg->n_remote_ts && nr < IKE_MAX_TS; i++)
		ts_from_cfg(&c->cfg->remote_ts[i], &r[nr++]);
	/* The exchange initiator's selectors are TSi, the other side's TSr. */
	ike_put_ts(bld, IKEV2_PL_TSI, l, nl);
	ike_put_ts(bld, IKEV2_PL_TSR, r, nr);
}

static bool child_use_transport(const struct ike_msg *inner)
{
	struct ike_notify n;

	return !ike_find_notify(inner, IKEV2_N_USE_TRANSPORT_MODE, &n);
}

/* A side narrowed further to its virtual IPs (RFC 7296 §3.15, §2.9):
 * each selector keeps the address of its family, selectors of a family
 * it was given none of go.  -ENOMEM leaves s empty. */
static int ts_narrow_addrs(const struct sockaddr_storage *va, int n, struct ts_set *s)
{
	struct ts_set out = { 0 };
	int r = 0;

	for (int i = 0; i < s->n && !r; i++)
		for (int v = 0; v < n && !r; v++) {
			struct ike_ts t = s->ts[i];
			const uint8_t *p;
			size_t l = addr_bytes(&va[v], &p);

			if (!ts_has_addr(&t, &va[v]))
				continue;
			memcpy(t.start, p, l);
			memcpy(t.end, p, l);
			r = ts_set_add(&out, &t) == -ENOMEM ? -ENOMEM : 0;
		}
	ts_set_clear(s);
	if (r)
		ts_set_clear(&out);
	*s = out;
	return r;
}

/* The peer's side narrowed to the virtual IPs it was given. */
static int ts_narrow_vips(const struct ike_sa *sa, struct ts_set *s)
{
	struct sockaddr_storage va[2];

	for (int v = 0; v < ike_n_vip(sa); v++)
		va[v] = sa->rw->vip[v].addr;
	return ts_narrow_addrs(va, ike_n_vip(sa), s);
}

int child_ts_get(const struct ike_msg *inner, struct child_ts *ts)
{
	const struct ike_pl *a = ike_msg_find(inner, IKEV2_PL_TSI);
	const struct ike_pl *b = ike_msg_find(inner, IKEV2_PL_TSR);

	if (!a || !b || ike_get_ts(a, &ts->tsi) || ike_get_ts(b, &ts->tsr))
		return -EBADMSG;
	return 0;
}

/* The first child whose selectors meet the peer's, one whose selectors
 * hold the packet the peer named first (§2.9) before any other. */
const struct child_cfg *child_cfg_match(const struct conn_cfg *cc, const struct child_ts *ts)
{
	const struct child_cfg *ch, *meets = NULL;

	for (ch = cc->children; ch; ch = ch->next) {
		struct ts_set a = { 0 }, b = { 0 };
		bool both, missed = false;

		/* The peer's TSi is our remote side, its TSr our local side. */
		ts_narrow(&ts->tsi, ch->remote_ts, ch->n_remote_ts, &a, &missed);
		ts_narrow(&ts->tsr, ch->local_ts, ch->n_local_ts, &b, &missed);
		both = a.n && b.n;
		ts_set_clear(&a);
		ts_set_clear(&b);
		if (both && !missed)
			return ch;
		if (both && !meets)
			meets = ch;
	}
	if (!meets)
		explain_ts(cc->name, ts, cc, NULL, false);
	return meets;
}

uint16_t child_select(struct ike_sa *sa, const struct child_cfg *cfg,
		      struct child_sa *c, const struct ike_msg *inner,
		      const struct child_ts *ts, bool in_auth, struct ike_proposal *chosen)
{
	struct ike_sa_pl *sap = &sa->e->rx_sap;
	const struct ike_pl *psa = ike_msg_find(inner, IKEV2_PL_SA);
	int idx;

	if (!psa || ike_get_sa(psa, sap))
		return IKEV2_N_INVALID_SYNTAX;
	if (prop_select_esp(cfg, sap, in_auth, &c->esp, &idx)) {
		explain_esp_proposals(sa, sap, cfg, false);
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	if (sap->p[idx].spi_len != 4)
		return IKEV2_N_INVALID_SYNTAX;
	memcpy(&c->spi_out, sap->p[idx].spi, 4);
	*chosen = sap->p[idx];
	if (ts_narrow(&ts->tsi, cfg->remote_ts, cfg->n_remote_ts, &c->ts_remote, NULL) ||
	    ts_narrow(&ts->tsr, cfg->local_ts, cfg->n_local_ts, &c->ts_local, NULL) ||
	    (ike_n_vip(sa) && ts_narrow_vips(sa, &c->ts_remote)) ||
	    (ike_n_my_vip(sa) && ts_narrow_addrs(sa->rw->my_vip, sa->rw->n_my_vip, &c->ts_local)))
		return IKEV2_N_TEMPORARY_FAILURE;
	if (ike_n_vip(sa) && !c->ts_remote.n && c->ts_local.n) {
		char a[ADDR_STRLEN];

		log_warn("%s: child %s: the peer's TSi and remote_ts hold not its virtual IP %s%s",
			 ike_sa_name(sa), cfg->name, addr_str(&sa->rw->vip[0].addr, a, sizeof(a)),
			 sa->rw->n_vip > 1 ? " nor its other one" : "");
	}
	if (!c->ts_remote.n || !c->ts_local.n) {
		explain_ts(ike_sa_name(sa), ts, NULL, cfg, false);
		return IKEV2_N_TS_UNACCEPTABLE;
	}
	/* §1.3.1: transport mode only when both want it. */
	c->mode = cfg->mode == CFG_MODE_TRANSPORT && child_use_transport(inner) ?
		  CFG_MODE_TRANSPORT : CFG_MODE_TUNNEL;
	return 0;
}

static bool all_within(const struct ike_ts_pl *got, const struct ts_cfg *ours, int n)
{
	int i, j;

	for (i = 0; i < got->n; i++) {
		bool ok = false;

		for (j = 0; j < n && !ok; j++) {
			struct ike_ts t;

			ts_from_cfg(&ours[j], &t);
			ok = ts_within(&got->ts[i], &t);
		}
		if (!ok)
			return false;
	}
	return got->n > 0;
}

/*
 * got->ts[i] adds nothing to another of got's (it lies within it; of two
 * equal ones, the later): a responder may answer with the packet's
 * selector beside the range that holds it (§2.9), and a policy of its
 * own would part this Child SA from its trap's policies and reqid.
 */
static bool ts_held(const struct ike_ts_pl *got, int i)
{
	for (int j = 0; j < got->n; j++)
		if (j != i && ts_within(&got->ts[i], &got->ts[j]) &&
		    (j < i || !ts_within(&got->ts[j], &got->ts[i])))
			return true;
	return false;
}

uint16_t child_accept(struct child_sa *c, const struct ike_msg *inner, bool in_auth)
{
	struct ike_sa_pl *sap = &c->ike->e->rx_sap;
	struct child_ts ts;
	const struct ike_pl *psa = ike_msg_find(inner, IKEV2_PL_SA);
	int i;

	if (!psa || ike_get_sa_reply(psa, sap) || child_ts_get(inner, &ts))
		return IKEV2_N_INVALID_SYNTAX;
	if (prop_check_reply_esp(c->cfg, sap, in_auth, &c->esp)) {
		explain_esp_proposals(c->ike, sap, c->cfg, true);
		return IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	if (sap->p[0].spi_len != 4)
		return IKEV2_N_INVALID_SYNTAX;
	memcpy(&c->spi_out, sap->p[0].spi, 4);
	/* The responder may narrow but not widen (§2.9). */
	if (!all_within(&ts.tsi, c->cfg->local_ts, c->cfg->n_local_ts) ||
	    !all_within(&ts.tsr, c->cfg->remote_ts, c->cfg->n_remote_ts)) {
		explain_ts(ike_sa_name(c->ike), &ts, NULL, c->cfg, true);
		return IKEV2_N_TS_UNACCEPTABLE;
	}
	ts_set_clear(&c->ts_local);
	ts_set_clear(&c->ts_remote);
	for (i = 0; i < ts.tsi.n; i++)
		if (!ts_held(&ts.tsi, i) && ts_set_add(&c->ts_local, &ts.tsi.ts[i]) == -ENOMEM)
			return IKEV2_N_TEMPORARY_FAILURE;
	for (i = 0; i < ts.tsr.n; i++)
		if (!ts_held(&ts.tsr, i) && ts_set_add(&c->ts_remote, &ts.tsr.ts[i]) == -ENOMEM)
			return IKEV2_N_TEMPORARY_FAILURE;
	/* §3.15: our side is our virtual IPs, however wide the peer left it */
	if (ike_n_my_vip(c->ike) &&
	    ts_narrow_addrs(c->ike->rw->my_vip, c->ike->rw->n_my_vip, &c->ts_local))
		return IKEV2_N_TEMPORARY_FAILURE;
	if (!c->ts_local.n) {
		explain_ts(ike_sa_name(c->ike), &ts, NULL, c->cfg, true);
		return IKEV2_N_TS_UNACCEPTABLE;
	}
	c->mode = c->cfg->mode == CFG_MODE_TRANSPORT && child_use_transport(inner) ?
		  CFG_MODE_TRANSPORT : CFG_MODE_TUNNEL;
	return 0;
}

/* --- kernel ----------------------------------------------------------------- */

static void kb_fail(struct child_sa *c, const char *what, int r)
{
	struct kbackend *kb = c->ike->e->kb;

	log_err("%s: %s failed: %s%s%s", ike_sa_name(c->ike), what, strerror(-r),
		kb->kb_error[0] ? ": " : "", kb->kb_error);
}

static void sel_of(const struct ike_ts *t, const uint8_t *a, uint8_t plen,
		   struct kb_selector *s, bool src)
{
	int af = t->type == IKEV2_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;

	s->family = af;
	addr_from_bytes(src ? &s->src : &s->dst, af, a);
	if (src)
		s->src_plen = plen;
	else
		s->dst_plen = plen;
	s->proto = t->proto;
	if (t->sport == t->eport) {
		if (src)
			s->sport = t->sport;
		else
			s->dport = t->sport;
	}
}

/*
 * A policy's priority (lower wins in XFRM and in the module, which order
 * the SPD by priority, then by insertion: RFC 4301 §4.4.1 leaves the
 * order to the implementation).  strongSwan's scheme, so the two agree
 * where they share a kernel: the more specific selector wins (prefix
 * lengths first, then a protocol, then ports), and at equal selectors an
 * installed Child SA's policy wins over a trap's, whose acquires would
 * otherwise keep coming for traffic the SA can carry (a Child SA the
 * responder narrowed has policies of its own, installed after the
 * trap's).  A policy shared by both has the Child SA's while it lives
 * (kbackend.c).
 */
#define PRIO_LOWEST	200000u	/* 2 x 128-bit prefixes take 131072 of it */
#define PRIO_PER_PLEN	512u	/* a bit of prefix outweighs all below */
#define PRIO_PROTO	256u
#define PRIO_PER_PORT	64u	/* a port given: its 16 bits of mask, x 4 */
#define PRIO_NOT_TRAP	1u	/* bit 1 stays free, as strongSwan's interface flag */

static uint32_t policy_priority(const struct kb_selector *s, bool trap)
{
	uint32_t p = PRIO_LOWEST;

	p -= (uint32_t)(s->src_plen + s->dst_plen) * PRIO_PER_PLEN;
	if (s->proto)
		p -= PRIO_PROTO;
	p -= ((s->sport ? 1u : 0u) + (s->dport ? 1u : 0u)) * PRIO_PER_PORT;
	if (!trap)
		p -= PRIO_NOT_TRAP;
	return p;
}

typedef int (*pol_fn)(struct child_sa *c, const struct kb_policy *p, void *arg);

/* Calls fn for every policy of the Child SA (each direction of every
 * (local prefix, remote prefix) pair), always in the same order, until fn
 * returns non-zero; returns that. */
static int for_each_policy(struct child_sa *c, pol_fn fn, void *arg)
{
	int i, j, a, b, r;

	for (i = 0; i < c->ts_local.n; i++) {
		const struct ike_ts *lt = &c->ts_local.ts[i];
		uint8_t la[MAX_CIDRS][16], lp[MAX_CIDRS];
		int nl = range_to_cidrs(lt->start, lt->end, ts_alen(lt), la, lp, MAX_CIDRS);

		for (j = 0; j < c->ts_remote.n && nl > 0; j++) {
			const struct ike_ts *rt = &c->ts_remote.ts[j];
			uint8_t ra[MAX_CIDRS][16], rp[MAX_CIDRS];
			int nr = range_to_cidrs(rt->start, rt->end, ts_alen(rt), ra, rp, MAX_CIDRS);

			if (rt->type != lt->type)
				continue;
			for (a = 0; a < nl; a++) {
				for (b = 0; b < nr; b++) {
					static const enum kb_dir dirs[] = { KB_DIR_OUT, KB_DIR_IN, KB_DIR_FWD };
					size_t d;

					for (d = 0; d < 3; d++) {
						struct kb_policy p;
						bool out = dirs[d] == KB_DIR_OUT;

						if (dirs[d] == KB_DIR_FWD && c->mode == CFG_MODE_TRANSPORT)
							continue;
						memset(&p, 0, sizeof(p));
						p.dir = dirs[d];
						sel_of(out ? lt : rt, out ? la[a] : ra[b],
						       out ? lp[a] : rp[b], &p.sel, true);
						sel_of(out ? rt : lt, out ? ra[b] : la[a],
						       out ? rp[b] : lp[a], &p.sel, false);
						/* the protocol is one for both ends */
						p.sel.proto = lt->proto ? lt->proto : rt->proto;
						p.priority = policy_priority(&p.sel, c->trap);
						p.reqid = c->reqid;
						p.mode = c->mode == CFG_MODE_TRANSPORT ?
							 KB_MODE_TRANSPORT : KB_MODE_TUNNEL;
						addr_ip_ss(out ? &c->addr_local : &c->addr_remote,
							   &p.tmpl_src);
						addr_ip_ss(out ? &c->addr_remote : &c->addr_local,
							   &p.tmpl_dst);
						r = fn(c, &p, arg);
						if (r)
							return r;
					}
				}
			}
		}
	}
	return 0;
}

/* The selectors of p are another tunnel's (a Child SA with the same ones
 * to another peer): which Child SA and peer hold them, for the operator.
 * The SPD is ordered (RFC 4301 §4.4.1), so the policy stays theirs. */
static void pol_held(struct child_sa *c, const struct kb_policy *p)
{
	uint32_t owner = kb_policy_owner(c->ike->e->kb, p);
	const struct kb_selector *s = &p->sel;
	bool out = p->dir == KB_DIR_OUT;
	char l[64], r[64], peer[64];

	addr_str(out ? &s->src : &s->dst, l, sizeof(l));
	addr_str(out ? &s->dst : &s->src, r, sizeof(r));
	for (const struct ike_sa *sa = c->ike->e->all; sa && owner; sa = sa->next)
		for (const struct child_sa *h = sa->children; h; h = h->next) {
			if (h == c || h->reqid != owner)
				continue;
			log_warn("%s: Child SA %s: %s/%u === %s/%u is held by Child SA %s of %s with %s (another tunnel): refused",
				 ike_sa_name(c->ike), c->cfg->name, l, out ? s->src_plen : s->dst_plen,
				 r, out ? s->dst_plen : s->src_plen, h->cfg->name, ike_sa_name(sa),
				 addr_str(&sa->path.remote, peer, sizeof(peer)));
			return;
		}
}

/* arg: the count of policies added so far */
static int pol_add(struct child_sa *c, const struct kb_policy *p, void *arg)
{
	int r = kb_policy_add(c->ike->e->kb, p);

	if (r == -EEXIST)
		pol_held(c, p);
	if (r)
		kb_fail(c, "installing a policy", r);
	else
		(*(int *)arg)++;
	return r;
}

/* arg: how many more to delete (< 0: all) */
static int pol_del(struct child_sa *c, const struct kb_policy *p, void *arg)
{
	int *left = arg;

	if (!*left)
		return 1;
	if (*left > 0)
		(*left)--;
	kb_policy_del(c->ike->e->kb, p);
	return 0;
}

struct pol_share {
	uint32_t reqid, n;
};

/* Every policy held by one reqid with the same tunnel and mode. */
static int pol_share(struct child_sa *c, const struct kb_policy *p, void *arg)
{
	struct pol_share *s = arg;
	uint32_t holder = kb_policy_holder(c->ike->e->kb, p);

	if (!holder || (s->n && holder != s->reqid)) {
		s->reqid = 0;
		return 1;
	}
	s->reqid = holder;
	s->n++;
	return 0;
}

/*
 * The reqid of a new Child SA (not a rekey's): that of the installed Child
 * SAs whose policies are exactly this one's (all of them, and no more), or
 * a new one.  Sharing a reqid that holds more selectors would let this SA
 * carry traffic the peer did not agree to.
 */
uint32_t child_reqid(struct child_sa *c)
{
	struct kbackend *kb = c->ike->e->kb;
	struct pol_share s = { 0, 0 };

	if (!for_each_policy(c, pol_share, &s) && s.reqid &&
	    s.n == kb_reqid_policies(kb, s.reqid)) {
		log_info("%s: %s %s has the selectors and tunnel of reqid %u: "
			 "shares its policies", c->trap ? c->ike->cfg->name : ike_sa_name(c->ike),
			 c->trap ? "the trap of child" : "Child SA", c->cfg->name, s.reqid);
		return s.reqid;
	}
	return ++c->ike->e->next_reqid;
}

/*
 * The soft limit for a hard one.  Both ends count the same bytes on each
 * SA (our outbound is the peer's inbound), so equal limits make both
 * rekey at once, and a collision (§2.8.1) is the one rekey that cannot
 * avoid dropping packets.  The IKE SA's original initiator, which both
 * ends agree on, starts at 80 to 85 % of the limit; the responder's
 * 90 to 95 % is the fallback if that rekey never came.  Random within the
 * band per SA, so SAs made together do not all rekey together.
 */
static uint64_t soft_limit(const struct child_sa *c, uint64_t hard)
{
	uint32_t j = 0;

	if (!hard)
		return 0;
	crypto_random(&j, sizeof(j));
	return hard - (c->ike->initiator ? hard / 5 : hard / 10) + hard / 20000 * (j % 1001);
}

static int sa_install(struct child_sa *c, bool inbound, const uint8_t *ek,
		      size_t ekl, const uint8_t *ak, size_t akl,
		      const struct crypto_esp_algs *al)
{
	struct ike_sa *sa = c->ike;
	struct kbackend *kb = sa->e->kb;
	const struct child_cfg *cfg = c->cfg;
	const struct ike_path *ep = ike_esp_path(sa);
	struct kb_sa k;
	int r;

	memset(&k, 0, sizeof(k));
	k.spi = inbound ? c->spi_in : c->spi_out;
	k.reqid = c->reqid;
	k.mode = c->mode == CFG_MODE_TRANSPORT ? KB_MODE_TRANSPORT : KB_MODE_TUNNEL;
	addr_ip_ss(inbound ? &c->addr_remote : &c->addr_local, &k.src);
	addr_ip_ss(inbound ? &c->addr_local : &c->addr_remote, &k.dst);
	if (k.mode == KB_MODE_TRANSPORT) {
		k.sel.family = k.src.ss_family;
		k.sel.src = k.src;
		k.sel.dst = k.dst;
		k.sel.src_plen = k.sel.dst_plen = k.src.ss_family == AF_INET6 ? 128 : 32;
	}
	if (al->aead) {
		snprintf(k.aead, sizeof(k.aead), "%s", al->enc_name);
		k.aead_icv_bits = (uint16_t)al->icv_bits;
	} else {
		snprintf(k.enc, sizeof(k.enc), "%s", al->enc_name);
		snprintf(k.auth, sizeof(k.auth), "%s", al->auth_name);
		k.auth_trunc_bits = (uint16_t)al->trunc_bits;
		k.auth_key = ak;
		k.auth_key_len = (uint16_t)akl;
	}
	k.enc_key = ek;
	k.enc_key_len = (uint16_t)ekl;
	k.esn = c->esp.esn;
	k.replay_window = inbound ? cfg->replay_window : 0;
	/* Byte and packet lifetimes are the kernel's to count: its soft
	 * limit (expire event) starts the rekey, the hard one removes the SA
	 * if the rekey never finished. */
	k.hard_bytes = cfg->life_bytes;
	k.hard_packets = cfg->life_packets;
	k.soft_bytes = soft_limit(c, cfg->life_bytes);
	k.soft_packets = soft_limit(c, cfg->life_packets);
	/* The daemon rekeys by its own timer; the kernel's hard limit is the
	 * backstop if it ever fails to. */
	if (cfg->life_time_s)
		k.hard_seconds = cfg->life_time_s;
	else if (cfg->rekey_time_s)
		k.hard_seconds = (uint64_t)cfg->rekey_time_s * 11 / 10;
	if (c->encap || c->esp_tcp) {
		/* RFC 3948 ports, or the TCP connection's (espintcp). */
		k.encap = c->esp_tcp ? KB_ENCAP_TCP : KB_ENCAP_UDP;
		k.encap_sport = addr_port(inbound ? &ep->remote : &ep->local);
		k.encap_dport = addr_port(inbound ? &ep->local : &ep->remote);
	}
	k.inbound = inbound;
	r = kb->ops->sa_add(kb, &k);
	if (r)
		kb_fail(c, inbound ? "installing the inbound SA" : "installing the outbound SA", r);
	return r;
}

/* The longest a rekey responder waits for the initiator's Delete of the
 * old SA before it sends on the new one anyway. */
#define OUT_DEFER_MS	3000

static void out_free(struct child_sa *c)
{
	struct child_out *o = c->out;

	if (!o)
		return;
	timer_cancel(c->ike->e->loop, &o->timer);
	buf_wipe(&o->keys);
	free(o);
	c->out = NULL;
}

void child_install_out(struct child_sa *c)
{
	const struct child_out *o = c->out;
	int r;

	if (!c->out_deferred)
		return;
	c->out_deferred = false;
	r = o ? sa_install(c, false, o->keys.data, o->al.enc_key_len,
			   o->keys.data + o->al.enc_key_len, o->al.auth_key_len, &o->al) :
		-ENOMEM;
	out_free(c);
	c->installed_out = !r;
	if (r) {
		c->pending |= CHILD_PEND_DELETE;
		ike_kick(c->ike);
	} else {
		log_debug("%s: Child SA %s: outbound SA %08x installed", ike_sa_name(c->ike),
			  c->cfg->name, ntohl(c->spi_out));
	}
}

static void out_timer_fire(struct timer *t)
{
	child_install_out(container_of(t, struct child_out, timer)->c);
}

/* The outbound SA's algorithms and keys kept until child_install_out. */
static int out_defer(struct child_sa *c, const struct crypto_esp_algs *al,
		     const uint8_t *e, const uint8_t *a)
{
	struct child_out *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->c = c;
	o->al = *al;
	if (buf_append(&o->keys, e, al->enc_key_len) ||
	    buf_append(&o->keys, a, al->auth_key_len)) {
		buf_wipe(&o->keys);
		free(o);
		return -ENOMEM;
	}
	c->out = o;
	timer_arm(c->ike->e->loop, &o->timer, OUT_DEFER_MS, out_timer_fire);
	return 0;
}

/* The Child SA's SAs into the kernel from its KEYMAT km (wiped). */
static int child_install_km(struct child_sa *c, struct buf *km,
			    const struct crypto_esp_algs *alg, bool we_initiated)
{
	struct ike_sa *sa = c->ike;
	struct crypto_esp_algs al = *alg;
	const uint8_t *i_e, *i_a, *r_e, *r_a;
	const struct ike_path *ep;
	int r;
	char ls[256], rs[256], su[96];

	/* §2.17: initiator-to-responder keys first, encryption before
	 * integrity in each direction. */
	i_e = km->data;
	i_a = i_e + al.enc_key_len;
	r_e = i_a + al.auth_key_len;
	r_a = r_e + al.enc_key_len;
	ep = ike_esp_path(sa);
	/* RFC 9329 proper: ESP in the IKE connection; otherwise UDP 4500
	 * with a NAT (RT-20), else straight on IP (RT-15). */
	c->esp_tcp = xport_esp_in_tcp(&sa->x) && ep->kind == XPORT_TCP;
	c->encap = !c->esp_tcp && ep->kind == XPORT_UDP4500 &&
		   (sa->nat_local || sa->nat_remote || xport_esp_udp(&sa->x));
	if (c->esp_tcp)
		ike_esp_tcp_ready(sa);
	if (c->encap) {
		c->encap_lport = addr_port(&ep->local);
		c->encap_rport = addr_port(&ep->remote);
	}
	addr_ip_set(&c->addr_local, &ep->local);
	addr_ip_set(&c->addr_remote, &ep->remote);
	if (!c->reqid)
		c->reqid = child_reqid(c);
	r = sa_install(c, true, we_initiated ? r_e : i_e, al.enc_key_len,
		       we_initiated ? r_a : i_a, al.auth_key_len, &al);
	if (!r && c->out_deferred) {
		c->installed_in = true;
		r = out_defer(c, &al, we_initiated ? i_e : r_e, we_initiated ? i_a : r_a);
	} else if (!r) {
		c->installed_in = true;
		r = sa_install(c, false, we_initiated ? i_e : r_e, al.enc_key_len,
			       we_initiated ? i_a : r_a, al.auth_key_len, &al);
		c->installed_out = !r;
	}
	buf_wipe(km);
	if (r) {
		sa->e->st.child_failed++;
		return r;
	}
	c->created_ms = ike_now();
	c->state = CHILD_S_INSTALLED;
	sa->e->st.child_installed++;
	if (!log_enabled(LOG_LVL_INFO))
		return 0;	/* the strings below cost more than the install */
	ts_set_str(&c->ts_local, ls, sizeof(ls));
	ts_set_str(&c->ts_remote, rs, sizeof(rs));
	suite_str(&c->esp, su, sizeof(su));
	log_info("%s: Child SA %s installed: SPIs in %08x out %08x, %s === %s, %s%s, %s",
		 ike_sa_name(sa), c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out),
		 ls, rs, c->mode == CFG_MODE_TRANSPORT ? "transport" : "tunnel",
		 c->esp_tcp ? " (ESP in TCP)" : c->encap ? " (UDP-encapsulated)" : "", su);
	return 0;
}

int child_install(struct child_sa *c, const struct buf *ni,
		  const struct buf *nr, const struct buf *gir, bool we_initiated)
{
	struct buf seed = BUF_INIT;
	int r = -ENOMEM;

	/* §2.17: KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr) */
	if ((!gir || !buf_append(&seed, gir->data, gir->len)) &&
	    !buf_append(&seed, ni->data, ni->len) && !buf_append(&seed, nr->data, nr->len))
		r = child_install_seed(c, &seed, we_initiated);
	buf_wipe(&seed);
	return r;
}

int child_install_seed(struct child_sa *c, const struct buf *seed, bool we_initiated)
{
	struct ike_sa *sa = c->ike;
	struct crypto_esp_algs al;
	struct buf km = BUF_INIT;
	int r;

	r = crypto_esp_xfrm_names(c->esp.encr, c->esp.encr_keylen, c->esp.integ, &al);
	if (!r)
		r = crypto_prf_plus(sa->suite.prf, ike_sk_d(sa)->data, ike_sk_d(sa)->len,
				    seed->data, seed->len, crypto_esp_keymat_len(&al), &km);
	if (r) {
		buf_wipe(&km);
		return r;
	}
	return child_install_km(c, &km, &al, we_initiated);
}

/*
 * What to answer when our kernel refuses a Child SA the peer proposed
 * acceptably (RFC 7296 §1.2/§1.3): nothing was wrong with the proposal, so
 * not NO_PROPOSAL_CHOSEN.  In CREATE_CHILD_SA a conflict or a shortage that
 * may pass is TEMPORARY_FAILURE (§2.25; strongSwan tries again later).  In
 * IKE_AUTH, and for anything else, NO_ADDITIONAL_SAS (§1.3: we will not
 * take this Child SA): an initiator keeps its IKE SA only on the notifies
 * §1.2 names as the Child SA's, and strongSwan ends the IKE SA on a
 * TEMPORARY_FAILURE there.
 */
uint16_t child_install_notify(int err, bool ike_auth)
{
	switch (err) {
	case -EEXIST:
	case -EAGAIN:
	case -EBUSY:
	case -ENOBUFS:
	case -ENOMEM:
		if (!ike_auth)
			return IKEV2_N_TEMPORARY_FAILURE;
		/* fall through */
	default:
		return IKEV2_N_NO_ADDITIONAL_SAS;
	}
}

/* for_each_policy's callback: every policy into a growing array. */
struct pol_list {
	struct kb_policy *p;
	unsigned int n;
};

static int pol_collect(struct child_sa *c, const struct kb_policy *p, void *arg)
{
	struct pol_list *l = arg;
	struct kb_policy *n = realloc(l->p, (l->n + 1) * sizeof(*n));

	(void)c;
	if (!n)
		return -ENOMEM;
	l->p = n;
	l->p[l->n++] = *p;
	return 0;
}

/*
 * A Child SA to the ESP path's addresses (and ports): both halves keep
 * SPIs, keys, sequence numbers and replay state, and its policies'
 * templates name the new tunnel (the backend's sa_move: XFRM_MSG_MIGRATE
 * with xfrm).  The Child SA then records where it is, so a delete or a
 * rekey later removes exactly what is installed.  Transport mode cannot
 * move: its selectors are the addresses the peer agreed to.
 */
static int child_move(struct child_sa *c, const struct ike_path *ep)
{
	struct ike_sa *sa = c->ike;
	struct kbackend *kb = sa->e->kb;
	struct pol_list l = { NULL, 0 };
	struct kb_move m;
	char ol[ADDR_STRLEN], orr[ADDR_STRLEN], nl[ADDR_STRLEN], nr[ADDR_STRLEN];
	int r = 0;

	addr_port_str(&ep->local, nl, sizeof(nl));
	addr_port_str(&ep->remote, nr, sizeof(nr));
	if (c->mode == CFG_MODE_TRANSPORT) {
		log_warn("%s: Child SA %s %08x: the peer is now at %s, but a transport-mode SA's selectors are its old address: not moved",
			 ike_sa_name(sa), c->cfg->name, ntohl(c->spi_in), nr);
		return -EOPNOTSUPP;
	}
	memset(&m, 0, sizeof(m));
	m.reqid = c->reqid;
	m.mode = KB_MODE_TUNNEL;
	m.spi_in = c->installed_in ? c->spi_in : 0;
	m.spi_out = c->installed_out ? c->spi_out : 0;
	addr_ip_ss(&c->addr_local, &m.old_local);
	addr_ip_ss(&c->addr_remote, &m.old_remote);
	m.local = ep->local;
	m.remote = ep->remote;
	addr_set_port(&m.local, 0);
	addr_set_port(&m.remote, 0);
	m.encap = c->encap ? KB_ENCAP_UDP : KB_ENCAP_RAW;
	if (c->encap) {
		m.lport = addr_port(&ep->local);
		m.rport = addr_port(&ep->remote);
		m.old_lport = c->encap_lport;
		m.old_rport = c->encap_rport;
	}
	if (c->policies)
		r = for_each_policy(c, pol_collect, &l);
	m.pols = l.p;
	m.n_pols = l.n;
	if (!r)
		r = kb_child_move(kb, &m);
	free(l.p);
	addr_str(&m.old_local, ol, sizeof(ol));
	addr_str(&m.old_remote, orr, sizeof(orr));
	if (r) {
		log_warn("%s: Child SA %s %08x/%08x: moving it from %s <-> %s to %s <-> %s: %s",
			 ike_sa_name(sa), c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out),
			 ol, orr, nl, nr, kb->kb_error[0] ? kb->kb_error : strerror(-r));
		return r;
	}
	addr_ip_set(&c->addr_local, &m.local);
	addr_ip_set(&c->addr_remote, &m.remote);
	if (c->encap) {
		c->encap_lport = m.lport;
		c->encap_rport = m.rport;
	}
	log_info("%s: Child SA %s %08x/%08x: now %s <-> %s (was %s <-> %s), same SPIs and keys",
		 ike_sa_name(sa), c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out), nl, nr,
		 ol, orr);
	return 0;
}

/*
 * RFC 7296 §2.23: once an authenticated message arrives from a new NAT
 * mapping, the IKE SA answers there (path_update, or the kernel's mapping
 * event: kevent.c); RFC 3948 ESP-in-UDP has to follow or outbound ESP
 * goes to a mapping the NAT no longer has.  A Child SA installed with
 * other addresses moves to the path's (child_move); one with only other
 * ports gets them (the backend's sa_steer).  Either way keys and replay
 * state stay.  Newest first, as the list is: of two Child SAs sharing a
 * reqid (a rekey under way), the kernel's migration takes the newest
 * state first.  One that cannot move stays where it was installed and
 * is still deleted there.
 */
void child_follow_path(struct ike_sa *sa)
{
	const struct ike_path *ep = ike_esp_path(sa);
	uint16_t lport = addr_port(&ep->local), rport = addr_port(&ep->remote);
	uint16_t ol, orp;
	struct child_sa *c;

	for (c = sa->children; c; c = c->next) {
		if (c->esp_tcp || (!c->installed_in && !c->installed_out))
			continue;
		if (!addr_ip_is(&c->addr_local, &ep->local) ||
		    !addr_ip_is(&c->addr_remote, &ep->remote)) {
			child_move(c, ep);
			continue;
		}
		if (!c->encap || (c->encap_lport == lport && c->encap_rport == rport))
			continue;
		ol = c->encap_lport;
		orp = c->encap_rport;
		if (!child_steer(c, true, lport, rport))
			log_info("%s: Child SA %s %08x/%08x: ESP-in-UDP now %u <-> %u (was %u <-> %u)",
				 ike_sa_name(sa), c->cfg->name, ntohl(c->spi_in),
				 ntohl(c->spi_out), lport, rport, ol, orp);
	}
}

/*
 * Both halves of a Child SA to raw IP or to UDP encapsulation on these
 * ports (the backend's sa_steer keeps keys, sequence numbers and replay
 * state).  When the second half fails the first is put back, so the two
 * directions never disagree.
 */
int child_steer(struct child_sa *c, bool udp, uint16_t lport, uint16_t rport)
{
	struct ike_sa *sa = c->ike;
	struct kbackend *kb = sa->e->kb;
	struct sockaddr_storage l, r;
	const struct sockaddr_storage *lp = addr_ip_ss(&c->addr_local, &l);
	const struct sockaddr_storage *rp = addr_ip_ss(&c->addr_remote, &r);
	enum kb_encap to = udp ? KB_ENCAP_UDP : KB_ENCAP_RAW;
	enum kb_encap was = c->encap ? KB_ENCAP_UDP : KB_ENCAP_RAW;
	int ri = 0, ro = 0;

	if (!kb->ops->sa_steer)
		return -EOPNOTSUPP;
	/* inbound: peer -> us; outbound: us -> peer */
	if (c->installed_in)
		ri = kb->ops->sa_steer(kb, lp, c->spi_in, to, rport, lport);
	if (ri) {
		log_warn("%s: Child SA %08x: moving inbound ESP %s %u/%u: %s",
			 ike_sa_name(sa), ntohl(c->spi_in), udp ? "into UDP" : "onto IP",
			 rport, lport, kb->kb_error);
		return ri;
	}
	if (c->installed_out)
		ro = kb->ops->sa_steer(kb, rp, c->spi_out, to, lport, rport);
	if (ro) {
		log_warn("%s: Child SA %08x: moving outbound ESP %s %u/%u: %s",
			 ike_sa_name(sa), ntohl(c->spi_out), udp ? "into UDP" : "onto IP",
			 lport, rport, kb->kb_error);
		if (c->installed_in)
			kb->ops->sa_steer(kb, lp, c->spi_in, was, c->encap_rport,
					  c->encap_lport);
		return ro;
	}
	c->encap = udp;
	c->encap_lport = udp ? lport : 0;
	c->encap_rport = udp ? rport : 0;
	return 0;
}

int child_policies(struct child_sa *c)
{
	int n = 0, r = for_each_policy(c, pol_add, &n);

	c->policies = !r;
	if (r)	/* only those this call added */
		for_each_policy(c, pol_del, &n);
	return r;
}

static void uninstall(struct child_sa *c)
{
	struct kbackend *kb = c->ike->e->kb;
	struct sockaddr_storage l, r;
	const struct sockaddr_storage *src = addr_ip_ss(&c->addr_local, &l);
	const struct sockaddr_storage *dst = addr_ip_ss(&c->addr_remote, &r);

	/* Exactly what was installed: the IKE SA's path may have moved
	 * since (a NAT rebinding, MOBIKE-less address change). */
	if (c->policies) {
		int all = -1;

		for_each_policy(c, pol_del, &all);
		c->policies = false;
	}
	if (c->installed_in && kb->ops->sa_del(kb, src, c->spi_in))
		log_warn("%s: removing SA %08x: %s", ike_sa_name(c->ike), ntohl(c->spi_in),
			 kb->kb_error);
	if (c->installed_out && kb->ops->sa_del(kb, dst, c->spi_out))
		log_warn("%s: removing SA %08x: %s", ike_sa_name(c->ike), ntohl(c->spi_out),
			 kb->kb_error);
	c->installed_in = c->installed_out = false;
}

static void child_unlink(struct child_sa *c)
{
	struct child_sa **pp;

	for (pp = &c->ike->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
	}
}

void child_free(struct child_sa *c, bool uninstall_it)
{
	struct ike_sa *sa = c->ike;
	struct child_sa *o;

	/* The old SA of a rekey we answered goes: its successor sends, and
	 * from before the old outbound SA is removed (RFC 7296 §2.8: make
	 * before break; a moment with neither drops what is sent then). */
	if (c->rekeyed_by && c->rekeyed_by->out_deferred && sa->state == IKE_S_ESTABLISHED)
		child_install_out(c->rekeyed_by);
	if (uninstall_it)
		uninstall(c);
	out_free(c);
	timer_cancel(sa->e->loop, &c->rekey_timer);
	timer_cancel(sa->e->loop, &c->expire_timer);
	child_unlink(c);
	htab_del(&sa->e->child_spis, &c->spi_node);
	for (o = sa->children; o; o = o->next) {
		if (o->rekeyed_by == c)
			o->rekeyed_by = NULL;
		if (o->peer_rekey == c)
			o->peer_rekey = NULL;
	}
	if (c->coll_nonce)
		buf_free(c->coll_nonce);
	free(c->coll_nonce);
	ts_set_clear(&c->ts_local);
	ts_set_clear(&c->ts_remote);
	if (sa->req.old == c)
		sa->req.old = NULL;
	/* a rekey of c in IKE_FOLLOWUP_KE (RFC 9370 §2.2.4) installs its
	 * new Child SA as a new one */
	if (sa->fu_init && sa->fu_init->old == c)
		sa->fu_init->old = NULL;
	if (sa->fu_resp && sa->fu_resp->old == c)
		sa->fu_resp->old = NULL;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* --- timers -------------------------------------------------------------------- */

static void rekey_fire(struct timer *t)
{
	struct child_sa *c = container_of(t, struct child_sa, rekey_timer);

	if (c->state != CHILD_S_INSTALLED)
		return;
	log_info("%s: Child SA %s (%08x) rekey time reached", ike_sa_name(c->ike),
		 c->cfg->name, ntohl(c->spi_in));
	c->pending |= CHILD_PEND_REKEY;
	ike_kick(c->ike);
}

static void expire_fire(struct timer *t)
{
	struct child_sa *c = container_of(t, struct child_sa, expire_timer);

	if (c->state == CHILD_S_DELETING)
		return;
	log_info("%s: Child SA %s (%08x) reached its lifetime", ike_sa_name(c->ike),
		 c->cfg->name, ntohl(c->spi_in));
	c->pending |= CHILD_PEND_DELETE;
	ike_kick(c->ike);
}

void child_rekey_later(struct child_sa *c, uint64_t ms)
{
	timer_arm(c->ike->e->loop, &c->rekey_timer, ms, rekey_fire);
}

void child_schedule(struct child_sa *c)
{
	struct loop *l = c->ike->e->loop;
	const struct child_cfg *cfg = c->cfg;

	if (cfg->rekey_time_s) {
		uint64_t ms = (uint64_t)cfg->rekey_time_s * 1000;
		uint32_t j = 0;

		/* Up to 10 % jitter: the two ends rarely rekey at once. */
		crypto_random(&j, sizeof(j));
		ms -= ms / 10 * (j % 101) / 100;
		timer_arm(l, &c->rekey_timer, ms, rekey_fire);
	}
	if (cfg->life_time_s)
		timer_arm(l, &c->expire_timer, (uint64_t)cfg->life_time_s * 1000, expire_fire);
}

/* Links an installed Child SA into its IKE SA. */
void child_link(struct child_sa *c)
{
	c->next = c->ike->children;
	c->ike->children = c;
}
