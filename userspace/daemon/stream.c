// SPDX-License-Identifier: GPL-2.0
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int stream_init(struct stream *s, bool want_prefix, size_t max_ike)
{
	memset(s, 0, sizeof(*s));
	s->want_prefix = want_prefix;
	s->max_ike = max_ike && max_ike < STREAM_MAX_MSG - STREAM_NON_ESP_MARKER ?
		     max_ike : STREAM_MAX_MSG - STREAM_NON_ESP_MARKER;
	return 0;
}

void stream_free(struct stream *s)
{
	if (s->pool && s->cap)
		s->pool->used -= s->cap;
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/*
 * Room for need bytes of the current frame: the buffer grows with what
 * arrives (doubling, at most to the frame's length), not with what the
 * Length field announces, so a peer that announces 64 KB and stalls costs
 * what it sent; and within the pool's budget, so that many such peers
 * together cost at most that.
 */
static int reserve(struct stream *s, size_t need)
{
	struct stream_pool *pool = s->pool;
	size_t cap = s->cap ? s->cap : 512;
	uint8_t *p;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > s->frame_len)
		cap = s->frame_len;
	if (pool && pool->used + (cap - s->cap) > pool->max &&
	    (!pool->room || pool->room(pool, s, cap - s->cap) ||
	     pool->used + (cap - s->cap) > pool->max))
		return -ENOBUFS;
	p = realloc(s->buf, cap);
	if (!p)
		return -ENOMEM;
	if (pool)
		pool->used += cap - s->cap;
	s->buf = p;
	s->cap = cap;
	return 0;
}

bool stream_partial(const struct stream *s)
{
	if (s->want_prefix)
		return s->prefix_got > 0;
	return s->hdr_got > 0;
}

static int fatal(struct stream *s, const char *why)
{
	s->error = why;
	return -EPROTO;
}

static const uint8_t marker[STREAM_NON_ESP_MARKER];

/* A complete payload of s->frame_len bytes is in s->buf. */
static int deliver(struct stream *s, stream_msg_fn fn, void *ctx)
{
	size_t n = s->frame_len;

	if (n == 1 && s->buf[0] == 0xff) {
		/* NAT-keepalive inside TCP: must be tolerated (§6.6). */
		s->st.keepalives++;
		return 0;
	}
	if (n >= STREAM_NON_ESP_MARKER && !memcmp(s->buf, marker, sizeof(marker))) {
		s->st.ike++;
		return fn(ctx, STREAM_IKE, s->buf + STREAM_NON_ESP_MARKER,
			  n - STREAM_NON_ESP_MARKER);
	}
	if (n < 8) {
		/* Neither IKE nor an ESP header (SPI + sequence): a runt.
		 * Counted, not fatal: RFC 9329 §6.1 asks for closing only when
		 * a stream is clearly corrupted, which the caller judges. */
		s->st.runts++;
		return 0;
	}
	s->st.esp++;
	return fn(ctx, STREAM_ESP, s->buf, n);
}

int stream_feed(struct stream *s, const uint8_t *p, size_t len,
		stream_msg_fn fn, void *ctx)
{
	struct cursor c;
	int err;

	if (s->error)
		return -EPROTO;
	cur_init(&c, p, len);
	while (cur_left(&c)) {
		if (s->want_prefix) {
			size_t need = STREAM_PREFIX_LEN - s->prefix_got;
			size_t n = cur_left(&c) < need ? cur_left(&c) : need;
			const uint8_t *q = cur_take(&c, n);

			if (memcmp(q, &STREAM_PREFIX[s->prefix_got], n))
				return fatal(s, "stream does not start with \"IKETCP\"");
			s->prefix_got += n;
			if (s->prefix_got == STREAM_PREFIX_LEN)
				s->want_prefix = false;
			continue;
		}
		if (s->hdr_got < 2) {
			cur_u8(&c, &s->hdr[s->hdr_got++]);
			if (s->hdr_got < 2)
				continue;
			uint16_t l = (uint16_t)(s->hdr[0] << 8 | s->hdr[1]);

			if (l < 2)
				return fatal(s, l ? "frame with Length 1" :
						    "frame with Length 0");
			s->frame_len = l - 2;
			s->got = 0;
			if (!s->frame_len) {
				s->st.empty++;	/* §3: empty message, ignore */
				s->hdr_got = 0;
			}
			continue;
		}
		size_t need = s->frame_len - s->got;
		size_t n = cur_left(&c) < need ? cur_left(&c) : need;
		const uint8_t *q = cur_take(&c, n);

		err = reserve(s, (size_t)s->got + n);
		if (err == -ENOBUFS) {
			s->st.over_pool++;
			return fatal(s, "frame buffers over max_stream_memory");
		}
		if (err)
			return fatal(s, "out of memory for a frame");
		memcpy(s->buf + s->got, q, n);
		/* Decide as soon as the marker is in: an IKE message over the
		 * limit is never buffered whole, and the stream is closed: a
		 * peer that sends one is broken or hostile, and skipping would
		 * let it hold the connection with traffic the engine never
		 * sees (RFC 9329 §3, §6.1). */
		if (s->got < STREAM_NON_ESP_MARKER &&
		    s->got + n >= STREAM_NON_ESP_MARKER &&
		    !memcmp(s->buf, marker, sizeof(marker)) &&
		    (size_t)(s->frame_len - STREAM_NON_ESP_MARKER) > s->max_ike) {
			s->st.oversized++;
			return fatal(s, "IKE message over max_ike_message");
		}
		s->got += n;
		if (s->got < s->frame_len)
			continue;
		s->hdr_got = 0;
		err = deliver(s, fn, ctx);
		if (s->cap > STREAM_KEEP_BUF)
			stream_free(s);
		if (err)
			return err;
	}
	return 0;
}

int stream_frame(struct buf *out, bool ike, const uint8_t *msg, size_t len)
{
	size_t total = 2 + (ike ? STREAM_NON_ESP_MARKER : 0) + len;

	if (total > STREAM_MAX_FRAME)
		return -EMSGSIZE;
	if (buf_put_u16(out, (uint16_t)total) ||
	    (ike && buf_append(out, marker, sizeof(marker))) ||
	    buf_append(out, msg, len))
		return -ENOMEM;
	return (int)total;
}
