// SPDX-License-Identifier: GPL-2.0
#include "msg.h"

#include <errno.h>
#include <string.h>

static int perr(struct ike_msg *m, enum ike_perr e, const char *why)
{
	m->err = e;
	m->why = why;
	return -EBADMSG;
}

int ike_hdr_parse(struct cursor *c, struct ike_hdr *h, struct ike_msg *m)
{
	uint8_t ver;

	if (cur_left(c) < IKEV2_HDR_LEN)
		return perr(m, IKE_PERR_SHORT, "shorter than an IKE header");
	cur_copy(c, h->spi_i, 8);
	cur_copy(c, h->spi_r, 8);
	cur_u8(c, &h->next);
	cur_u8(c, &ver);
	cur_u8(c, &h->exch);
	cur_u8(c, &h->flags);
	cur_u32(c, &h->msgid);
	cur_u32(c, &h->length);
	h->major = ver >> 4;
	h->minor = ver & 0x0f;
	/* RFC 7296 §3.1: a higher major version is refused (the responder
	 * answers INVALID_MAJOR_VERSION); minor versions are ignored. */
	if (h->major != IKEV2_MAJOR_VERSION)
		return perr(m, IKE_PERR_VERSION, "major version is not 2");
	return 0;
}

bool ike_pl_known(uint8_t type)
{
	return (type >= IKEV2_PL_SA && type <= IKEV2_PL_EAP) ||
	       type == IKEV2_PL_SKF || type == IKEV2_PL_PS;
}

static int walk(uint8_t first, struct cursor *c, struct ike_msg *m)
{
	uint8_t type = first;

	while (type != IKEV2_PL_NONE) {
		struct ike_pl *pl;
		uint8_t next, flags;
		uint16_t len;
		struct cursor body;

		if (m->n == IKE_MAX_PAYLOADS)
			return perr(m, IKE_PERR_TOO_MANY, "too many payloads");
		if (!cur_u8(c, &next) || !cur_u8(c, &flags) || !cur_u16(c, &len))
			return perr(m, IKE_PERR_SYNTAX, "payload header runs past the end");
		if (len < IKEV2_GENERIC_HDR_LEN)
			return perr(m, IKE_PERR_SYNTAX, "payload length below 4");
		if (!cur_sub(c, len - IKEV2_GENERIC_HDR_LEN, &body))
			return perr(m, IKE_PERR_SYNTAX, "payload runs past the end of the message");
		pl = &m->pl[m->n++];
		pl->type = type;
		pl->critical = flags & IKEV2_PL_CRITICAL;
		pl->flags = flags;
		pl->next = next;
		pl->body = body.p;
		pl->len = len - IKEV2_GENERIC_HDR_LEN;
		/* §2.5: an unknown payload with the critical bit set rejects
		 * the whole message; the chain is still checked to the end. */
		if (!ike_pl_known(type) && pl->critical && m->err == IKE_PERR_NONE) {
			m->err = IKE_PERR_CRITICAL;
			m->critical_type = type;
			m->why = "unsupported critical payload";
		}
		if (type == IKEV2_PL_SK || type == IKEV2_PL_SKF) {
			/* Encrypted: the next field names the first inner
			 * payload, and nothing may follow (§3.14, RFC 7383). */
			if (cur_left(c))
				return perr(m, IKE_PERR_SYNTAX, "data after the encrypted payload");
			m->sk = pl;
			m->sk_next = next;
			return 0;
		}
		type = next;
	}
	if (cur_left(c))
		return perr(m, IKE_PERR_SYNTAX, "data after the last payload");
	return 0;
}

static int finish(struct ike_msg *m, int r)
{
	if (r == 0 && m->err == IKE_PERR_CRITICAL)
		return -EBADMSG;
	return r;
}

int ike_msg_parse(const uint8_t *p, size_t len, struct ike_msg *m)
{
	struct cursor c;
	int r;

	memset(m, 0, sizeof(*m));
	cur_init(&c, p, len);
	r = ike_hdr_parse(&c, &m->hdr, m);
	if (r)
		return r;
	if (m->hdr.length != len)
		return perr(m, IKE_PERR_LENGTH, "header length disagrees with the message size");
	return finish(m, walk(m->hdr.next, &c, m));
}

int ike_chain_parse(uint8_t first, const uint8_t *p, size_t len, struct ike_msg *m)
{
	struct cursor c;
	int r;

	memset(m, 0, sizeof(*m));
	cur_init(&c, p, len);
	r = walk(first, &c, m);
	/* An inner chain is already decrypted: SK/SKF may not nest. */
	if (!r && m->sk)
		return perr(m, IKE_PERR_SYNTAX, "encrypted payload inside an encrypted payload");
	return finish(m, r);
}

const struct ike_pl *ike_msg_next(const struct ike_msg *m, const struct ike_pl *after,
				  uint8_t type)
{
	int i = after ? (int)(after - m->pl) + 1 : 0;

	for (; i < m->n; i++)
		if (m->pl[i].type == type)
			return &m->pl[i];
	return NULL;
}

const struct ike_pl *ike_msg_find(const struct ike_msg *m, uint8_t type)
{
	return ike_msg_next(m, NULL, type);
}

const char *ike_pl_name(uint8_t type)
{
	static const char *const names[] = {
		"SA", "KE", "IDi", "IDr", "CERT", "CERTREQ", "AUTH", "Ni/Nr", "N",
		"D", "V", "TSi", "TSr", "SK", "CP", "EAP",
	};

	if (type >= IKEV2_PL_SA && type <= IKEV2_PL_EAP)
		return names[type - IKEV2_PL_SA];
	if (type == IKEV2_PL_SKF)
		return "SKF";
	if (type == IKEV2_PL_PS)
		return "PS";
	return "unknown";
}

const char *ike_exch_name(uint8_t exch)
{
	switch (exch) {
	case IKEV2_EXCH_IKE_SA_INIT: return "IKE_SA_INIT";
	case IKEV2_EXCH_IKE_AUTH: return "IKE_AUTH";
	case IKEV2_EXCH_CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case IKEV2_EXCH_INFORMATIONAL: return "INFORMATIONAL";
	case IKEV2_EXCH_IKE_SESSION_RESUME: return "IKE_SESSION_RESUME";
	case IKEV2_EXCH_IKE_INTERMEDIATE: return "IKE_INTERMEDIATE";
	case IKEV2_EXCH_IKE_FOLLOWUP_KE: return "IKE_FOLLOWUP_KE";
	default: return "unknown";
	}
}

/* --- building ------------------------------------------------------------------ */

static void fail(struct ike_builder *bld, int err)
{
	if (!bld->err)
		bld->err = err;
}

/*
 * A message or a chain of payloads is a few hundred bytes: room for that
 * at once in an empty buffer, not the 64, 128, 256 and 512 bytes of
 * growing by appends (a malloc, a copy and a wipe each time).
 */
#define MSG_FIRST_ROOM	512

static void first_room(struct ike_builder *bld, struct buf *b)
{
	if (!b->cap && buf_reserve(b, MSG_FIRST_ROOM))
		fail(bld, -ENOMEM);
}

void msg_begin(struct ike_builder *bld, struct buf *b, const struct ike_hdr *h)
{
	memset(bld, 0, sizeof(*bld));
	first_room(bld, b);
	bld->b = b;
	bld->start = b->len;
	bld->pl_off = SIZE_MAX;
	bld->np_off = b->len + 16;
	if (buf_append(b, h->spi_i, 8) || buf_append(b, h->spi_r, 8) ||
	    buf_put_u8(b, IKEV2_PL_NONE) ||
	    buf_put_u8(b, (uint8_t)(IKEV2_MAJOR_VERSION << 4)) ||
	    buf_put_u8(b, h->exch) || buf_put_u8(b, h->flags) ||
	    buf_put_u32(b, h->msgid) || buf_put_u32(b, 0))
		fail(bld, -ENOMEM);
}

void chain_begin(struct ike_builder *bld, struct buf *b)
{
	memset(bld, 0, sizeof(*bld));
	first_room(bld, b);
	bld->b = b;
	bld->start = b->len;
	bld->pl_off = SIZE_MAX;
	bld->np_off = SIZE_MAX;
}

void pl_begin(struct ike_builder *bld, uint8_t type, bool critical)
{
	if (bld->err)
		return;
	if (bld->pl_off != SIZE_MAX)
		pl_end(bld);
	if (bld->np_off != SIZE_MAX)
		bld->b->data[bld->np_off] = type;
	else if (!bld->first_type)
		bld->first_type = type;
	bld->pl_off = bld->b->len;
	bld->np_off = bld->b->len;
	if (buf_put_u8(bld->b, IKEV2_PL_NONE) ||
	    buf_put_u8(bld->b, critical ? IKEV2_PL_CRITICAL : 0) ||
	    buf_put_u16(bld->b, 0))
		fail(bld, -ENOMEM);
}

void pl_end(struct ike_builder *bld)
{
	size_t len;

	if (bld->err || bld->pl_off == SIZE_MAX)
		return;
	len = bld->b->len - bld->pl_off;
	if (len > 0xffff) {
		fail(bld, -EMSGSIZE);
		return;
	}
	buf_set_u16(bld->b, bld->pl_off + 2, (uint16_t)len);
	bld->pl_off = SIZE_MAX;
}

void pl_put(struct ike_builder *bld, const void *p, size_t n)
{
	if (!bld->err && buf_append(bld->b, p, n))
		fail(bld, -ENOMEM);
}

void pl_put_u8(struct ike_builder *bld, uint8_t v)
{
	pl_put(bld, &v, 1);
}

void pl_put_u16(struct ike_builder *bld, uint16_t v)
{
	uint8_t x[2] = { v >> 8, v };

	pl_put(bld, x, 2);
}

void pl_put_u32(struct ike_builder *bld, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	pl_put(bld, x, 4);
}

int chain_finish(struct ike_builder *bld)
{
	pl_end(bld);
	return bld->err;
}

int msg_finish(struct ike_builder *bld)
{
	size_t len;

	pl_end(bld);
	if (bld->err)
		return bld->err;
	len = bld->b->len - bld->start;
	if (len > IKEV2_MAX_MSG)
		return bld->err = -EMSGSIZE;
	buf_set_u32(bld->b, bld->start + 24, (uint32_t)len);
	return 0;
}
