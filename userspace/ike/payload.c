// SPDX-License-Identifier: GPL-2.0
/*
 * Typed IKEv2 payload decoders and encoders (RFC 7296 §3.3-§3.15,
 * RFC 7383 §2.5).  Each decoder walks the body through a struct cursor,
 * checks everything into locals first and only then fills its output, so
 * a rejected payload leaves nothing half-decoded behind.
 */
#include "payload.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static void body(const struct ike_pl *pl, struct cursor *c)
{
	cur_init(c, pl->body, pl->len);
}

static void span_rest(struct cursor *c, struct ike_span *s)
{
	struct cursor r;

	cur_rest(c, &r);
	s->p = r.p;
	s->len = r.left;
}

/* --- SA ------------------------------------------------------------------ */

/* §3.3.1 Last Substruc: 0 last, 2 more proposals, 3 more transforms. */
#define SUBSTRUC_LAST		0
#define SUBSTRUC_PROPOSAL	2
#define SUBSTRUC_TRANSFORM	3

static bool spi_len_ok(uint8_t proto, uint8_t spi_len)
{
	switch (proto) {
	case IKEV2_PROTO_IKE:
		return spi_len == 0 || spi_len == 8;
	case IKEV2_PROTO_AH:
	case IKEV2_PROTO_ESP:
		return spi_len == 4;
	default:
		return false;
	}
}

static int get_transform(struct cursor *c, bool *last, struct ike_transform *t)
{
	uint8_t more, rsv, type, rsv2;
	uint16_t len, id;
	struct cursor a;

	if (!cur_u8(c, &more) || !cur_u8(c, &rsv) || !cur_u16(c, &len))
		return -EBADMSG;
	if (more != SUBSTRUC_LAST && more != SUBSTRUC_TRANSFORM)
		return -EBADMSG;
	if (len < 8 || !cur_sub(c, len - 4, &a))
		return -EBADMSG;
	if (!cur_u8(&a, &type) || !cur_u8(&a, &rsv2) || !cur_u16(&a, &id))
		return -EBADMSG;
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->id = id;
	/* §3.3.5 attributes: TV (AF=1, 2-byte value) or TLV (AF=0). */
	while (cur_left(&a)) {
		uint16_t at, v;

		if (!cur_u16(&a, &at) || !cur_u16(&a, &v))
			return -EBADMSG;
		if ((at & 0x7fff) == IKEV2_ATTR_KEY_LENGTH) {
			/* Key Length is TV only, and at most once. */
			if (!(at & IKEV2_ATTR_TV) || t->keylen || !v)
				return -EBADMSG;
			t->keylen = v;
			continue;
		}
		if (!(at & IKEV2_ATTR_TV) && !cur_skip(&a, v))
			return -EBADMSG;
		/* §3.3.6: a transform with an attribute we don't know is
		 * not acceptable; it is kept so the engine can skip it. */
		t->unknown_attr = true;
	}
	*last = more == SUBSTRUC_LAST;
	return 0;
}

/* One proposal; its transforms go to the pool after the npool in use. */
static int get_proposal(struct cursor *c, bool *last, struct ike_sa_pl *sa,
			struct ike_proposal *p)
{
	uint8_t more, rsv, ntrans;
	uint16_t len;
	struct cursor pc;
	bool tlast = false;
	int i, r;

	if (!cur_u8(c, &more) || !cur_u8(c, &rsv) || !cur_u16(c, &len))
		return -EBADMSG;
	if (more != SUBSTRUC_LAST && more != SUBSTRUC_PROPOSAL)
		return -EBADMSG;
	if (len < 8 || !cur_sub(c, len - 4, &pc))
		return -EBADMSG;
	if (!cur_u8(&pc, &p->num) || !cur_u8(&pc, &p->proto) ||
	    !cur_u8(&pc, &p->spi_len) || !cur_u8(&pc, &ntrans))
		return -EBADMSG;
	if (!spi_len_ok(p->proto, p->spi_len) ||
	    !cur_copy(&pc, p->spi, p->spi_len))
		return -EBADMSG;
	if (ntrans == 0)
		return -EBADMSG;
	/* Cannot happen within a 16-bit payload length (see payload.h);
	 * kept so the pool's bound does not rest on the caller. */
	if (ntrans > IKE_MAX_SA_TRANSFORMS - sa->npool)
		return -E2BIG;
	p->t = &sa->pool[sa->npool];
	for (i = 0; i < ntrans; i++) {
		if (tlast)
			return -EBADMSG;	/* "last" seen, more counted */
		r = get_transform(&pc, &tlast, &p->t[i]);
		if (r)
			return r;
	}
	/* The count, the last marker and the proposal length must agree. */
	if (!tlast || cur_left(&pc))
		return -EBADMSG;
	p->ntrans = ntrans;
	sa->npool += ntrans;
	*last = more == SUBSTRUC_LAST;
	return 0;
}

void ike_sa_reset(struct ike_sa_pl *sa)
{
	sa->nprop = 0;
	sa->npool = 0;
}

struct ike_proposal *ike_sa_add_prop(struct ike_sa_pl *sa, uint8_t proto,
				     const uint8_t *spi, uint8_t spi_len)
{
	struct ike_proposal *p;

	if (sa->nprop >= IKE_MAX_PROPOSALS || spi_len > IKE_SPI_MAX)
		return NULL;
	p = &sa->p[sa->nprop++];
	memset(p, 0, sizeof(*p));
	p->num = (uint8_t)sa->nprop;
	p->proto = proto;
	p->spi_len = spi_len;
	if (spi_len)
		memcpy(p->spi, spi, spi_len);
	p->t = &sa->pool[sa->npool];
	return p;
}

bool ike_sa_add_trans(struct ike_sa_pl *sa, uint8_t type, uint16_t id, uint16_t keylen)
{
	struct ike_proposal *p;

	if (!sa->nprop || sa->npool >= IKE_MAX_SA_TRANSFORMS)
		return false;
	p = &sa->p[sa->nprop - 1];
	if (p->ntrans >= IKE_MAX_TRANSFORMS)
		return false;
	p->t[p->ntrans++] = (struct ike_transform){ .type = type, .id = id, .keylen = keylen };
	sa->npool++;
	return true;
}

/* reply: the one proposal accepted, numbered as it was offered. */
static int get_sa(const struct ike_pl *pl, struct ike_sa_pl *sa, bool reply)
{
	struct cursor c;
	bool last = false;
	int n = 0, r;

	body(pl, &c);
	ike_sa_reset(sa);
	while (!last) {
		if (!cur_left(&c))
			return -EBADMSG;	/* no proposal, or "more" lied */
		/* Proposal Num is one octet and numbering is 1, 2, ...: a
		 * 256th proposal cannot be numbered. */
		r = n == (reply ? 1 : IKE_MAX_PROPOSALS) ? -EBADMSG :
			get_proposal(&c, &last, sa, &sa->p[n]);
		/* §3.3.1: an offer's first is 1, each next one more; a
		 * reply's "MUST match the number on the proposal sent that
		 * was accepted". */
		if (!r && (reply ? sa->p[n].num == 0 : sa->p[n].num != n + 1))
			r = -EBADMSG;
		if (r) {
			ike_sa_reset(sa);
			return r;
		}
		n++;
	}
	if (cur_left(&c)) {
		ike_sa_reset(sa);
		return -EBADMSG;
	}
	sa->nprop = n;
	return 0;
}

int ike_get_sa(const struct ike_pl *pl, struct ike_sa_pl *sa)
{
	return get_sa(pl, sa, false);
}

int ike_get_sa_reply(const struct ike_pl *pl, struct ike_sa_pl *sa)
{
	return get_sa(pl, sa, true);
}

void ike_put_sa(struct ike_builder *bld, const struct ike_sa_pl *sa)
{
	int i, j;

	pl_begin(bld, IKEV2_PL_SA, false);
	for (i = 0; i < sa->nprop; i++) {
		const struct ike_proposal *p = &sa->p[i];
		size_t plen = 8 + p->spi_len;

		if (p->spi_len > IKE_SPI_MAX) {
			if (!bld->err)
				bld->err = -EINVAL;
			return;
		}
		for (j = 0; j < p->ntrans; j++)
			plen += p->t[j].keylen ? 12 : 8;
		pl_put_u8(bld, i + 1 == sa->nprop ? SUBSTRUC_LAST : SUBSTRUC_PROPOSAL);
		pl_put_u8(bld, 0);
		pl_put_u16(bld, (uint16_t)plen);
		pl_put_u8(bld, p->num);	/* 1, 2, ... or the one accepted */
		pl_put_u8(bld, p->proto);
		pl_put_u8(bld, p->spi_len);
		pl_put_u8(bld, p->ntrans);
		pl_put(bld, p->spi, p->spi_len);
		for (j = 0; j < p->ntrans; j++) {
			const struct ike_transform *t = &p->t[j];

			pl_put_u8(bld, j + 1 == p->ntrans ? SUBSTRUC_LAST : SUBSTRUC_TRANSFORM);
			pl_put_u8(bld, 0);
			pl_put_u16(bld, t->keylen ? 12 : 8);
			pl_put_u8(bld, t->type);
			pl_put_u8(bld, 0);
			pl_put_u16(bld, t->id);
			if (t->keylen) {
				pl_put_u16(bld, IKEV2_ATTR_TV | IKEV2_ATTR_KEY_LENGTH);
				pl_put_u16(bld, t->keylen);
			}
		}
	}
	pl_end(bld);
}

/* --- KE, Nonce, ID, AUTH, CERT, CERTREQ, V -------------------------------- */

int ike_get_ke(const struct ike_pl *pl, struct ike_ke *ke)
{
	struct cursor c;
	uint16_t group, rsv;

	body(pl, &c);
	if (!cur_u16(&c, &group) || !cur_u16(&c, &rsv))
		return -EBADMSG;
	ke->group = group;
	span_rest(&c, &ke->data);
	return 0;
}

void ike_put_ke(struct ike_builder *bld, uint16_t group, const uint8_t *p, size_t len)
{
	pl_begin(bld, IKEV2_PL_KE, false);
	pl_put_u16(bld, group);
	pl_put_u16(bld, 0);
	pl_put(bld, p, len);
	pl_end(bld);
}

int ike_get_nonce(const struct ike_pl *pl, struct ike_span *n)
{
	if (pl->len < IKEV2_NONCE_MIN || pl->len > IKEV2_NONCE_MAX)
		return -EBADMSG;
	n->p = pl->body;
	n->len = pl->len;
	return 0;
}

void ike_put_nonce(struct ike_builder *bld, const uint8_t *p, size_t len)
{
	pl_begin(bld, IKEV2_PL_NONCE, false);
	pl_put(bld, p, len);
	pl_end(bld);
}

/* type octet, `rsv` reserved bytes, data (at least one byte if need). */
static int get_typed(const struct ike_pl *pl, size_t rsv, bool need, struct ike_typed *t)
{
	struct cursor c;
	uint8_t type;

	body(pl, &c);
	if (!cur_u8(&c, &type) || !cur_skip(&c, rsv))
		return -EBADMSG;
	if (need && !cur_left(&c))
		return -EBADMSG;
	t->type = type;
	span_rest(&c, &t->data);
	return 0;
}

static void put_typed(struct ike_builder *bld, uint8_t pltype, size_t rsv, uint8_t type,
		      const uint8_t *p, size_t len)
{
	static const uint8_t zero[3];

	pl_begin(bld, pltype, false);
	pl_put_u8(bld, type);
	pl_put(bld, zero, rsv);
	pl_put(bld, p, len);
	pl_end(bld);
}

int ike_get_id(const struct ike_pl *pl, struct ike_typed *id)
{
	struct ike_typed t;
	int r = get_typed(pl, 3, true, &t);

	if (r)
		return r;
	/* Address IDs have fixed sizes (§3.5). */
	if ((t.type == IKEV2_ID_IPV4_ADDR && t.data.len != 4) ||
	    (t.type == IKEV2_ID_IPV6_ADDR && t.data.len != 16))
		return -EBADMSG;
	*id = t;
	return 0;
}

void ike_put_id(struct ike_builder *bld, uint8_t pltype, uint8_t idtype,
		const uint8_t *p, size_t len)
{
	put_typed(bld, pltype, 3, idtype, p, len);
}

int ike_get_auth(const struct ike_pl *pl, struct ike_typed *a)
{
	return get_typed(pl, 3, true, a);
}

void ike_put_auth(struct ike_builder *bld, uint8_t method, const uint8_t *p, size_t len)
{
	put_typed(bld, IKEV2_PL_AUTH, 3, method, p, len);
}

int ike_get_cert(const struct ike_pl *pl, struct ike_typed *c)
{
	return get_typed(pl, 0, true, c);
}

void ike_put_cert(struct ike_builder *bld, uint8_t enc, const uint8_t *p, size_t len)
{
	put_typed(bld, IKEV2_PL_CERT, 0, enc, p, len);
}

int ike_get_certreq(const struct ike_pl *pl, struct ike_typed *c)
{
	struct ike_typed t;
	int r = get_typed(pl, 0, false, &t);

	if (r)
		return r;
	/* §3.7: X.509 CAs are named by 20-byte SHA-1 SubjectPublicKeyInfo
	 * hashes, concatenated. */
	if (t.type == IKEV2_CERT_X509_SIG && t.data.len % 20)
		return -EBADMSG;
	*c = t;
	return 0;
}

void ike_put_certreq(struct ike_builder *bld, uint8_t enc, const uint8_t *p, size_t len)
{
	put_typed(bld, IKEV2_PL_CERTREQ, 0, enc, p, len);
}

int ike_get_vendor(const struct ike_pl *pl, struct ike_span *v)
{
	if (!pl->len)
		return -EBADMSG;
	v->p = pl->body;
	v->len = pl->len;
	return 0;
}

void ike_put_vendor(struct ike_builder *bld, const uint8_t *p, size_t len)
{
	pl_begin(bld, IKEV2_PL_VENDOR, false);
	pl_put(bld, p, len);
	pl_end(bld);
}

void ike_put_ps(struct ike_builder *bld, const uint8_t *p, size_t len)
{
	pl_begin(bld, IKEV2_PL_PS, false);
	pl_put(bld, p, len);
	pl_end(bld);
}

/* --- Notify -------------------------------------------------------------- */

static bool notify_spi_ok(uint8_t proto, uint8_t spi_len)
{
	if (proto == 0)
		return spi_len == 0;
	return spi_len_ok(proto, spi_len);
}

int ike_get_notify(const struct ike_pl *pl, struct ike_notify *n)
{
	struct ike_notify t;
	struct cursor c;

	body(pl, &c);
	memset(&t, 0, sizeof(t));
	if (!cur_u8(&c, &t.proto) || !cur_u8(&c, &t.spi_len) || !cur_u16(&c, &t.type))
		return -EBADMSG;
	if (!notify_spi_ok(t.proto, t.spi_len) || !cur_copy(&c, t.spi, t.spi_len))
		return -EBADMSG;
	span_rest(&c, &t.data);
	*n = t;
	return 0;
}

void ike_put_notify(struct ike_builder *bld, uint8_t proto, const uint8_t *spi,
		    uint8_t spi_len, uint16_t type, const uint8_t *p, size_t len)
{
	pl_begin(bld, IKEV2_PL_NOTIFY, false);
	pl_put_u8(bld, proto);
	pl_put_u8(bld, spi_len);
	pl_put_u16(bld, type);
	pl_put(bld, spi, spi_len);
	pl_put(bld, p, len);
	pl_end(bld);
}

int ike_find_notify(const struct ike_msg *m, uint16_t type, struct ike_notify *n)
{
	const struct ike_pl *pl = NULL;

	while ((pl = ike_msg_next(m, pl, IKEV2_PL_NOTIFY))) {
		struct ike_notify t;

		if (ike_get_notify(pl, &t) == 0 && t.type == type) {
			*n = t;
			return 0;
		}
	}
	return -ENOENT;
}

uint16_t ike_first_error(const struct ike_msg *m)
{
	const struct ike_pl *pl = NULL;

	while ((pl = ike_msg_next(m, pl, IKEV2_PL_NOTIFY))) {
		struct ike_notify n;

		if (!ike_get_notify(pl, &n) && n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	}
	return 0;
}

/* --- Delete -------------------------------------------------------------- */

int ike_get_delete(const struct ike_pl *pl, struct ike_delete *d)
{
	struct cursor c;
	uint8_t proto, spi_len;
	uint16_t nspi;
	struct ike_span s;

	body(pl, &c);
	if (!cur_u8(&c, &proto) || !cur_u8(&c, &spi_len) || !cur_u16(&c, &nspi))
		return -EBADMSG;
	/* §3.11: IKE SA deletes carry no SPI (the header names the SA);
	 * ESP/AH SPIs are 4 bytes each. */
	if (proto == IKEV2_PROTO_IKE) {
		if (spi_len != 0 || nspi != 0)
			return -EBADMSG;
	} else if (proto == IKEV2_PROTO_ESP || proto == IKEV2_PROTO_AH) {
		if (spi_len != 4 || nspi == 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	span_rest(&c, &s);
	if (s.len != (size_t)nspi * spi_len)
		return -EBADMSG;
	d->proto = proto;
	d->spi_len = spi_len;
	d->nspi = nspi;
	d->spis = s;
	return 0;
}

uint32_t ike_delete_spi(const struct ike_delete *d, unsigned int i)
{
	struct cursor c;
	uint32_t v = 0;

	cur_init(&c, d->spis.p, d->spis.len);
	if (d->spi_len != 4 || !cur_skip(&c, (size_t)i * 4) || !cur_u32(&c, &v))
		return 0;
	return v;
}

void ike_put_delete(struct ike_builder *bld, uint8_t proto, uint8_t spi_len,
		    const uint8_t *spis, uint16_t nspi)
{
	pl_begin(bld, IKEV2_PL_DELETE, false);
	pl_put_u8(bld, proto);
	pl_put_u8(bld, spi_len);
	pl_put_u16(bld, nspi);
	pl_put(bld, spis, (size_t)nspi * spi_len);
	pl_end(bld);
}

/* --- Traffic selectors --------------------------------------------------- */

static int get_ts(const struct ike_pl *pl, struct ike_ts_pl *out)
{
	struct cursor c;
	uint8_t count, i;
	uint8_t rsv[3];

	body(pl, &c);
	memset(out, 0, sizeof(*out));
	if (!cur_u8(&c, &count) || !cur_copy(&c, rsv, 3))
		return -EBADMSG;
	if (count == 0)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		uint8_t type, proto;
		uint16_t len, sport, eport;
		size_t alen;
		struct cursor s;
		struct ike_ts *ts;

		if (!cur_u8(&c, &type) || !cur_u8(&c, &proto) || !cur_u16(&c, &len))
			return -EBADMSG;
		if (len < 8 || !cur_sub(&c, len - 4, &s))
			return -EBADMSG;
		if (type == IKEV2_TS_IPV4_ADDR_RANGE)
			alen = 4;
		else if (type == IKEV2_TS_IPV6_ADDR_RANGE)
			alen = 16;
		else {
			/* Other types (e.g. RFC 9478 security labels)
			 * are skipped; the engine decides. */
			out->nunknown++;
			continue;
		}
		if (len != 8 + 2 * alen)
			return -EBADMSG;
		if (out->n == IKE_MAX_TS)
			return -E2BIG;
		ts = &out->ts[out->n];
		if (!cur_u16(&s, &sport) || !cur_u16(&s, &eport) ||
		    !cur_copy(&s, ts->start, alen) || !cur_copy(&s, ts->end, alen))
			return -EBADMSG;
		/* §3.13.1: start <= end; ports 65535..0 mean OPAQUE. */
		if (memcmp(ts->start, ts->end, alen) > 0)
			return -EBADMSG;
		if (sport > eport && !(sport == 65535 && eport == 0))
			return -EBADMSG;
		ts->type = type;
		ts->proto = proto;
		ts->sport = sport;
		ts->eport = eport;
		out->n++;
	}
	if (cur_left(&c))
		return -EBADMSG;
	if (!out->n && !out->nunknown)
		return -EBADMSG;
	return 0;
}

int ike_get_ts(const struct ike_pl *pl, struct ike_ts_pl *out)
{
	int r = get_ts(pl, out);

	if (r)
		out->n = out->nunknown = 0;
	return r;
}

void ike_put_ts(struct ike_builder *bld, uint8_t pltype, const struct ike_ts *ts, int n)
{
	static const uint8_t zero[3];
	int i;

	if (n < 1 || n > 255) {
		if (!bld->err)
			bld->err = -EINVAL;
		return;
	}
	pl_begin(bld, pltype, false);
	pl_put_u8(bld, (uint8_t)n);
	pl_put(bld, zero, 3);
	for (i = 0; i < n; i++) {
		size_t alen = ts[i].type == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 4;

		pl_put_u8(bld, ts[i].type);
		pl_put_u8(bld, ts[i].proto);
		pl_put_u16(bld, (uint16_t)(8 + 2 * alen));
		pl_put_u16(bld, ts[i].sport);
		pl_put_u16(bld, ts[i].eport);
		pl_put(bld, ts[i].start, alen);
		pl_put(bld, ts[i].end, alen);
	}
	pl_end(bld);
}

/* --- CP ------------------------------------------------------------------- */

int ike_get_cp(const struct ike_pl *pl, struct ike_cp *cp)
{
	struct cursor c;
	uint8_t type, rsv[3];
	int n = 0, skipped = 0;

	body(pl, &c);
	if (!cur_u8(&c, &type) || !cur_copy(&c, rsv, 3))
		return -EBADMSG;
	if (type < IKEV2_CFG_REQUEST || type > IKEV2_CFG_ACK)
		return -EBADMSG;
	while (cur_left(&c)) {
		uint16_t at, len;
		struct cursor v;

		if (!cur_u16(&c, &at) || !cur_u16(&c, &len) || !cur_sub(&c, len, &v))
			return -EBADMSG;
		if (n == IKE_MAX_CP_ATTRS) {
			skipped++;	/* read for its length, not kept */
			continue;
		}
		cp->a[n].type = at & 0x7fff;	/* top bit reserved */
		cp->a[n].val.p = v.p;
		cp->a[n].val.len = v.left;
		n++;
	}
	cp->cfg_type = type;
	cp->n = n;
	cp->skipped = skipped;
	return 0;
}

int ike_cp_want(const struct ike_cp *cp, struct ike_cp_want *w)
{
	/* §3.15.1: the attributes we answer, the value length each may have
	 * besides 0 in a request, and what it asks for */
	static const struct {
		uint16_t type;
		uint8_t len;
		size_t off;
	} known[] = {
		{ IKEV2_CP_INTERNAL_IP4_ADDRESS, 4, offsetof(struct ike_cp_want, ip4) },
		{ IKEV2_CP_INTERNAL_IP6_ADDRESS, 17, offsetof(struct ike_cp_want, ip6) },
		{ IKEV2_CP_INTERNAL_IP4_DNS, 4, offsetof(struct ike_cp_want, dns4) },
		{ IKEV2_CP_INTERNAL_IP6_DNS, 16, offsetof(struct ike_cp_want, dns6) },
	};

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < cp->n; i++) {
		size_t k, l = cp->a[i].val.len;

		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (known[k].type == cp->a[i].type)
				break;
		if (k == sizeof(known) / sizeof(known[0])) {
			w->other++;	/* not ours to answer */
			continue;
		}
		if (l && l != known[k].len)
			return -EBADMSG;
		*(bool *)((char *)w + known[k].off) = true;
	}
	return 0;
}

int ike_cp_got(const struct ike_cp *cp, struct ike_cp_got *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < cp->n; i++) {
		const struct ike_span *v = &cp->a[i].val;

		switch (cp->a[i].type) {
		case IKEV2_CP_INTERNAL_IP4_ADDRESS:
			if (v->len != 4)
				return -EBADMSG;
			if (g->has4) {
				g->extra++;
				break;
			}
			memcpy(g->ip4, v->p, 4);
			g->has4 = true;
			break;
		case IKEV2_CP_INTERNAL_IP6_ADDRESS:
			if (v->len != 17 || v->p[16] > 128)
				return -EBADMSG;
			if (g->has6) {
				g->extra++;
				break;
			}
			memcpy(g->ip6, v->p, 16);
			g->plen6 = v->p[16];
			g->has6 = true;
			break;
		case IKEV2_CP_INTERNAL_IP4_DNS:
			if (v->len != 4)
				return -EBADMSG;
			if (g->n_dns4 == IKE_MAX_CP_DNS)
				g->extra++;
			else
				memcpy(g->dns4[g->n_dns4++], v->p, 4);
			break;
		case IKEV2_CP_INTERNAL_IP6_DNS:
			if (v->len != 16)
				return -EBADMSG;
			if (g->n_dns6 == IKE_MAX_CP_DNS)
				g->extra++;
			else
				memcpy(g->dns6[g->n_dns6++], v->p, 16);
			break;
		default:
			g->other++;	/* netmask, subnets, ...: not used */
		}
	}
	return 0;
}

void ike_put_cp(struct ike_builder *bld, const struct ike_cp *cp)
{
	static const uint8_t zero[3];
	int i;

	pl_begin(bld, IKEV2_PL_CP, false);
	pl_put_u8(bld, cp->cfg_type);
	pl_put(bld, zero, 3);
	for (i = 0; i < cp->n && i < IKE_MAX_CP_ATTRS; i++) {
		if (cp->a[i].val.len > 0xffff) {
			if (!bld->err)
				bld->err = -EMSGSIZE;
			return;
		}
		pl_put_u16(bld, cp->a[i].type & 0x7fff);
		pl_put_u16(bld, (uint16_t)cp->a[i].val.len);
		pl_put(bld, cp->a[i].val.p, cp->a[i].val.len);
	}
	pl_end(bld);
}

/* --- SK / SKF --------------------------------------------------------------- */

int ike_get_sk(const struct ike_pl *pl, struct ike_span *prot)
{
	if (!pl->len)
		return -EBADMSG;
	prot->p = pl->body;
	prot->len = pl->len;
	return 0;
}

int ike_get_skf(const struct ike_pl *pl, struct ike_skf *f)
{
	struct cursor c;
	uint16_t num, total;

	body(pl, &c);
	if (!cur_u16(&c, &num) || !cur_u16(&c, &total))
		return -EBADMSG;
	/* RFC 7383 §2.5: numbers start at 1, never above the total. */
	if (num < 1 || total < 1 || num > total)
		return -EBADMSG;
	if (!cur_left(&c))
		return -EBADMSG;
	f->num = num;
	f->total = total;
	span_rest(&c, &f->prot);
	return 0;
}

static size_t put_enc_header(struct ike_builder *bld, uint8_t type, uint8_t first)
{
	size_t off;

	pl_begin(bld, type, false);
	if (bld->err)
		return SIZE_MAX;
	off = bld->pl_off;
	bld->b->data[off] = first;
	/* Closed to the builder: crypto_sk_seal() sets the length. */
	bld->pl_off = SIZE_MAX;
	bld->np_off = SIZE_MAX;
	return off;
}

size_t ike_put_sk_header(struct ike_builder *bld, uint8_t first)
{
	return put_enc_header(bld, IKEV2_PL_SK, first);
}

size_t ike_put_skf_header(struct ike_builder *bld, uint8_t first, uint16_t num,
			  uint16_t total)
{
	size_t off;

	if (num < 1 || num > total) {
		if (!bld->err)
			bld->err = -EINVAL;
		return SIZE_MAX;
	}
	off = put_enc_header(bld, IKEV2_PL_SKF, num == 1 ? first : IKEV2_PL_NONE);
	if (off == SIZE_MAX)
		return off;
	if (buf_put_u16(bld->b, num) || buf_put_u16(bld->b, total)) {
		bld->err = -ENOMEM;
		return SIZE_MAX;
	}
	return off;
}

/* --- names ---------------------------------------------------------------- */

uint16_t ike_perr_notify(enum ike_perr e)
{
	switch (e) {
	case IKE_PERR_VERSION:
		return IKEV2_N_INVALID_MAJOR_VERSION;
	case IKE_PERR_SYNTAX:
	case IKE_PERR_TOO_MANY:
		return IKEV2_N_INVALID_SYNTAX;
	case IKE_PERR_CRITICAL:
		return IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
	default:
		return 0;	/* SHORT/LENGTH: drop without answer */
	}
}

const char *ikev2_exch_name(uint8_t exch)
{
	return ike_exch_name(exch);
}

const char *ikev2_pl_name(uint8_t type)
{
	return ike_pl_name(type);
}

const char *ikev2_notify_name(uint16_t type)
{
	switch (type) {
#define N(x) case IKEV2_N_##x: return #x
	N(UNSUPPORTED_CRITICAL_PAYLOAD); N(INVALID_IKE_SPI);
	N(INVALID_MAJOR_VERSION); N(INVALID_SYNTAX); N(INVALID_MESSAGE_ID);
	N(INVALID_SPI); N(NO_PROPOSAL_CHOSEN); N(INVALID_KE_PAYLOAD);
	N(AUTHENTICATION_FAILED); N(SINGLE_PAIR_REQUIRED); N(NO_ADDITIONAL_SAS);
	N(INTERNAL_ADDRESS_FAILURE); N(FAILED_CP_REQUIRED); N(TS_UNACCEPTABLE);
	N(INVALID_SELECTORS); N(UNACCEPTABLE_ADDRESSES);
	N(UNEXPECTED_NAT_DETECTED); N(TEMPORARY_FAILURE); N(CHILD_SA_NOT_FOUND);
	N(STATE_NOT_FOUND);
	N(INITIAL_CONTACT); N(SET_WINDOW_SIZE); N(ADDITIONAL_TS_POSSIBLE);
	N(IPCOMP_SUPPORTED); N(NAT_DETECTION_SOURCE_IP);
	N(NAT_DETECTION_DESTINATION_IP); N(COOKIE); N(USE_TRANSPORT_MODE);
	N(HTTP_CERT_LOOKUP_SUPPORTED); N(REKEY_SA);
	N(ESP_TFC_PADDING_NOT_SUPPORTED); N(NON_FIRST_FRAGMENTS_ALSO);
	N(MOBIKE_SUPPORTED); N(UPDATE_SA_ADDRESSES); N(COOKIE2);
	N(NO_NATS_ALLOWED); N(REDIRECT_SUPPORTED); N(CHILDLESS_IKEV2_SUPPORTED);
	N(IKEV2_FRAGMENTATION_SUPPORTED); N(SIGNATURE_HASH_ALGORITHMS);
	N(PUZZLE); N(INTERMEDIATE_EXCHANGE_SUPPORTED);
	N(ADDITIONAL_KEY_EXCHANGE);
#undef N
	case IKEV2_N_SEPARATE_TRANSPORTS_DEFAULT:
		return "SEPARATE_TRANSPORTS";
	default:
		return type <= IKEV2_N_ERROR_MAX ? "unknown error" : "unknown status";
	}
}

const char *ikev2_transform_name(uint8_t type, uint16_t id)
{
#define T(p, x) case IKEV2_##p##_##x: return #x
	switch (type) {
	case IKEV2_TRANS_ENCR:
		switch (id) {
		T(ENCR, 3DES); T(ENCR, NULL); T(ENCR, AES_CBC); T(ENCR, AES_CTR);
		T(ENCR, AES_CCM_8); T(ENCR, AES_CCM_12); T(ENCR, AES_CCM_16);
		T(ENCR, AES_GCM_8); T(ENCR, AES_GCM_12); T(ENCR, AES_GCM_16);
		T(ENCR, NULL_AUTH_AES_GMAC); T(ENCR, CHACHA20_POLY1305);
		}
		break;
	case IKEV2_TRANS_PRF:
		switch (id) {
		T(PRF, HMAC_MD5); T(PRF, HMAC_SHA1); T(PRF, AES128_XCBC);
		T(PRF, HMAC_SHA2_256); T(PRF, HMAC_SHA2_384);
		T(PRF, HMAC_SHA2_512); T(PRF, AES128_CMAC);
		}
		break;
	case IKEV2_TRANS_INTEG:
		switch (id) {
		T(AUTH, NONE); T(AUTH, HMAC_MD5_96); T(AUTH, HMAC_SHA1_96);
		T(AUTH, AES_XCBC_96); T(AUTH, AES_CMAC_96);
		T(AUTH, HMAC_SHA2_256_128); T(AUTH, HMAC_SHA2_384_192);
		T(AUTH, HMAC_SHA2_512_256);
		}
		break;
	case IKEV2_TRANS_KE:
	case IKEV2_TRANS_ADDKE1 ... IKEV2_TRANS_ADDKE7:
		switch (id) {
		T(KE, NONE); T(KE, MODP_2048); T(KE, MODP_3072); T(KE, MODP_4096);
		T(KE, MODP_6144); T(KE, MODP_8192); T(KE, ECP_256); T(KE, ECP_384);
		T(KE, ECP_521); T(KE, CURVE25519); T(KE, CURVE448);
		T(KE, ML_KEM_512); T(KE, ML_KEM_768); T(KE, ML_KEM_1024);
		}
		break;
	case IKEV2_TRANS_ESN:
		switch (id) {
		T(ESN, NO); T(ESN, YES);
		}
		break;
	}
#undef T
	return "unknown";
}
