// SPDX-License-Identifier: GPL-2.0
/* RFC 9329 framing: the stream reassembler and the frame encoder. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"
#include "kselftest_harness.h"

struct sink {
	int ike, esp;
	size_t last_len;
	uint8_t last[STREAM_MAX_MSG];
	enum stream_kind last_kind;
	struct buf all;		/* every message, length-prefixed, in order */
};

static int collect(void *ctx, enum stream_kind kind, const uint8_t *m, size_t len)
{
	struct sink *s = ctx;

	if (kind == STREAM_IKE)
		s->ike++;
	else
		s->esp++;
	s->last_kind = kind;
	s->last_len = len;
	memcpy(s->last, m, len);
	buf_put_u8(&s->all, kind);
	buf_put_u32(&s->all, (uint32_t)len);
	buf_append(&s->all, m, len);
	return 0;
}

/* An IKE-looking message of n bytes with recognisable content. */
static void ike_msg(uint8_t *m, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		m[i] = (uint8_t)(seed + i * 7);
}

FIXTURE(st) {
	struct stream s;
	struct sink *k;
};

FIXTURE_SETUP(st)
{
	ASSERT_EQ(0, stream_init(&self->s, true, 0));
	self->k = calloc(1, sizeof(*self->k));
	ASSERT_NE(NULL, self->k);
}

FIXTURE_TEARDOWN(st)
{
	stream_free(&self->s);
	buf_free(&self->k->all);
	free(self->k);
}

TEST_F(st, prefix_byte_by_byte_then_ike)
{
	struct buf in = BUF_INIT;
	uint8_t m[100];

	ike_msg(m, sizeof(m), 1);
	buf_append(&in, "IKETCP", 6);
	ASSERT_EQ(106, stream_frame(&in, true, m, sizeof(m)));
	for (size_t i = 0; i < in.len; i++) {
		ASSERT_EQ(0, stream_feed(&self->s, in.data + i, 1, collect, self->k));
		if (i < in.len - 1)
			ASSERT_EQ(0, self->k->ike);
	}
	ASSERT_EQ(1, self->k->ike);
	ASSERT_EQ(STREAM_IKE, self->k->last_kind);
	ASSERT_EQ(sizeof(m), self->k->last_len);	/* marker removed */
	ASSERT_EQ(0, memcmp(m, self->k->last, sizeof(m)));
	ASSERT_FALSE(stream_partial(&self->s));
	buf_free(&in);
}

TEST_F(st, bad_prefix_is_fatal_and_sticky)
{
	static const uint8_t in[] = "IKETCX\x00\x10";

	ASSERT_EQ(0, stream_feed(&self->s, in, 3, collect, self->k));
	ASSERT_EQ(-EPROTO, stream_feed(&self->s, in + 3, 5, collect, self->k));
	ASSERT_NE(NULL, self->s.error);
	ASSERT_EQ(-EPROTO, stream_feed(&self->s, in, 1, collect, self->k));
	ASSERT_EQ(0, self->k->ike + self->k->esp);
}

TEST_F(st, message_without_prefix_never_delivered)
{
	/* TCP-24: a connection that did not start with IKETCP delivers nothing. */
	struct buf in = BUF_INIT;
	uint8_t m[40] = { 0 };

	stream_frame(&in, true, m, sizeof(m));
	ASSERT_EQ(-EPROTO, stream_feed(&self->s, in.data, in.len, collect, self->k));
	ASSERT_EQ(0, self->k->ike);
	buf_free(&in);
}

TEST_F(st, length_zero_is_fatal)
{
	static const uint8_t in[] = "IKETCP\x00\x00";

	ASSERT_EQ(-EPROTO, stream_feed(&self->s, in, 8, collect, self->k));
	ASSERT_NE(NULL, strstr(self->s.error, "Length 0"));
}

TEST_F(st, length_one_is_fatal)
{
	static const uint8_t in[] = "IKETCP\x00\x01";

	ASSERT_EQ(-EPROTO, stream_feed(&self->s, in, 8, collect, self->k));
	ASSERT_NE(NULL, strstr(self->s.error, "Length 1"));
}

TEST_F(st, length_two_ignored_stream_continues)
{
	struct buf in = BUF_INIT;
	uint8_t m[30];

	ike_msg(m, sizeof(m), 9);
	buf_append(&in, "IKETCP\x00\x02\x00\x02", 10);
	stream_frame(&in, true, m, sizeof(m));
	ASSERT_EQ(0, stream_feed(&self->s, in.data, in.len, collect, self->k));
	ASSERT_EQ(2, self->s.st.empty);
	ASSERT_EQ(1, self->k->ike);
	buf_free(&in);
}

TEST_F(st, nat_keepalive_dropped_silently)
{
	static const uint8_t in[] = "IKETCP\x00\x03\xff";

	ASSERT_EQ(0, stream_feed(&self->s, in, 9, collect, self->k));
	ASSERT_EQ(1, self->s.st.keepalives);
	ASSERT_EQ(0, self->k->ike + self->k->esp);
	ASSERT_EQ(NULL, self->s.error);
}

TEST_F(st, esp_frame_classified)
{
	static const uint8_t esp[] = { 0xc0, 0x01, 0x02, 0x03, 0, 0, 0, 1, 0xaa, 0xbb };
	struct buf in = BUF_INIT;

	buf_append(&in, "IKETCP", 6);
	stream_frame(&in, false, esp, sizeof(esp));
	ASSERT_EQ(0, stream_feed(&self->s, in.data, in.len, collect, self->k));
	ASSERT_EQ(1, self->k->esp);
	ASSERT_EQ(STREAM_ESP, self->k->last_kind);
	ASSERT_EQ(sizeof(esp), self->k->last_len);
	buf_free(&in);
}

TEST_F(st, runt_frame_counted_not_delivered)
{
	static const uint8_t in[] = "IKETCP\x00\x05\x01\x02\x03";

	ASSERT_EQ(0, stream_feed(&self->s, in, 11, collect, self->k));
	ASSERT_EQ(1, self->s.st.runts);
	ASSERT_EQ(0, self->k->ike + self->k->esp);
}

TEST_F(st, partial_frame_reported_and_not_delivered)
{
	struct buf in = BUF_INIT;
	uint8_t m[200];

	ike_msg(m, sizeof(m), 3);
	buf_append(&in, "IKETCP", 6);
	stream_frame(&in, true, m, sizeof(m));
	ASSERT_EQ(0, stream_feed(&self->s, in.data, in.len - 1, collect, self->k));
	ASSERT_TRUE(stream_partial(&self->s));
	ASSERT_EQ(0, self->k->ike);	/* TCP-20: nothing half-received */
	buf_free(&in);
}

/* An IKE frame over max_ike: refused once its marker is in, before the
 * body is buffered; the stream is dead (the caller closes it). */
/*
 * Memory follows what arrived, not what was announced: no buffer before the
 * prefix and a frame header; a frame announcing 60,000 bytes holds about
 * what came of it; after delivery a large buffer is given back.
 */
TEST_F(st, buffer_grows_with_the_data_and_shrinks_after)
{
	static uint8_t m[60000];
	uint8_t f[2 + 4 + 100];

	EXPECT_EQ(0, self->s.cap);
	ASSERT_EQ(0, stream_feed(&self->s, (const uint8_t *)"IKETCP", 6, collect, self->k));
	EXPECT_EQ(0, self->s.cap);
	/* Length 60,006: marker + 60,000 bytes announced, 100 sent. */
	f[0] = (uint8_t)((2 + 4 + sizeof(m)) >> 8);
	f[1] = (uint8_t)(2 + 4 + sizeof(m));
	memset(f + 2, 0, 4);
	ike_msg(m, sizeof(m), 3);
	memcpy(f + 6, m, 100);
	ASSERT_EQ(0, stream_feed(&self->s, f, sizeof(f), collect, self->k));
	EXPECT_LE(104, self->s.cap);
	EXPECT_GE(4096, self->s.cap);
	/* The rest arrives: delivered whole, then the buffer is given back. */
	ASSERT_EQ(0, stream_feed(&self->s, m + 100, sizeof(m) - 100, collect, self->k));
	ASSERT_EQ(1, self->k->ike);
	ASSERT_EQ(sizeof(m), self->k->last_len);
	EXPECT_EQ(0, memcmp(self->k->last, m, sizeof(m)));
	EXPECT_GE(STREAM_KEEP_BUF, self->s.cap);
}

/* The pool's room(): frees the stream it was given (none: refuses). */
static struct stream *victim;
static int rooms;

static int free_victim(struct stream_pool *p, struct stream *s, size_t need)
{
	(void)s;
	(void)need;
	rooms++;
	if (!victim)
		return -1;
	stream_free(victim);
	victim = NULL;
	return 0;
}

/* Prefix and the first n bytes (marker included) of an IKE frame
 * announcing 60,000 message bytes. */
static int feed_part(struct stream *s, size_t n, struct sink *k)
{
	static uint8_t b[8 + 4 + 60000];

	memcpy(b, "IKETCP\xea\x66", 8);
	return stream_feed(s, b, 8 + n, collect, k);
}

/*
 * Streams sharing a pool: their buffers are counted in it; one that would
 * pass its max asks room() first, and fails the stream (counted, the
 * caller closes it) when no room is made; a freed buffer goes back.
 */
TEST(pool_bounds_the_buffers_of_all)
{
	struct stream_pool pool = { .max = 8192, .room = free_victim };
	struct stream a, b, c;
	struct sink *k = calloc(1, sizeof(*k));

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, stream_init(&a, true, 0));
	ASSERT_EQ(0, stream_init(&b, true, 0));
	ASSERT_EQ(0, stream_init(&c, true, 0));
	a.pool = b.pool = c.pool = &pool;
	ASSERT_EQ(0, feed_part(&a, 5000, k));
	EXPECT_EQ(8192, a.cap);
	EXPECT_EQ(8192, pool.used);
	EXPECT_EQ(0, rooms);
	/* b's 512 bytes do not fit: room() frees a's buffer. */
	victim = &a;
	ASSERT_EQ(0, feed_part(&b, 100, k));
	EXPECT_EQ(1, rooms);
	EXPECT_EQ(0, a.cap);
	EXPECT_EQ(512, pool.used);
	/* c's 8 KB do not fit, and no room is made: c fails, b keeps its. */
	ASSERT_EQ(-EPROTO, feed_part(&c, 5000, k));
	EXPECT_EQ(2, rooms);
	EXPECT_EQ(1, c.st.over_pool);
	EXPECT_STREQ("frame buffers over max_stream_memory", c.error);
	EXPECT_EQ(512, pool.used);
	EXPECT_EQ(0, k->ike);
	stream_free(&b);
	stream_free(&c);
	EXPECT_EQ(0, pool.used);
	free(k);
}

TEST(oversized_ike_closes_the_stream)
{
	struct stream s;
	struct sink *k = calloc(1, sizeof(*k));
	struct buf in = BUF_INIT;
	uint8_t big[2000] = { 0 }, small[50];

	ASSERT_EQ(0, stream_init(&s, false, 1000));
	ike_msg(big, sizeof(big), 5);
	ike_msg(small, sizeof(small), 6);
	stream_frame(&in, true, small, sizeof(small));
	stream_frame(&in, true, big, sizeof(big));
	/* Only the length and marker of the big frame: already refused. */
	ASSERT_EQ(-EPROTO, stream_feed(&s, in.data, in.len - sizeof(big), collect, k));
	ASSERT_EQ(1, s.st.oversized);
	ASSERT_NE(NULL, s.error);
	ASSERT_EQ(1, k->ike);		/* the frame before it was delivered */
	ASSERT_EQ(sizeof(small), k->last_len);
	ASSERT_EQ(-EPROTO, stream_feed(&s, small, sizeof(small), collect, k));
	ASSERT_EQ(1, k->ike);
	stream_free(&s);
	buf_free(&in);
	buf_free(&k->all);
	free(k);
}

TEST(frame_encoder_limits)
{
	struct buf out = BUF_INIT;
	static uint8_t m[STREAM_MAX_MSG];

	/* 65533 payload bytes is the most a frame carries (RFC 9329 §3). */
	ASSERT_EQ(STREAM_MAX_FRAME, stream_frame(&out, false, m, STREAM_MAX_MSG));
	ASSERT_EQ(0xff, out.data[0]);
	ASSERT_EQ(0xff, out.data[1]);
	buf_reset(&out);
	ASSERT_EQ(-EMSGSIZE, stream_frame(&out, true, m, STREAM_MAX_MSG - 3));
	ASSERT_EQ(STREAM_MAX_FRAME, stream_frame(&out, true, m, STREAM_MAX_MSG - 4));
	buf_free(&out);
}

/* Random chunking gives exactly the result of one-shot feeding. */
TEST(random_chunks_equal_one_shot)
{
	struct buf in = BUF_INIT;
	struct sink *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct stream sa, sb;
	uint8_t m[3000];

	srand(12345);
	buf_append(&in, "IKETCP", 6);
	for (int i = 0; i < 60; i++) {
		size_t n = 4 + (size_t)rand() % sizeof(m) / 4;

		ike_msg(m, n, (uint8_t)i);
		switch (i % 4) {
		case 0: stream_frame(&in, true, m, n); break;
		case 1: m[0] = 0x11; stream_frame(&in, false, m, n + 8); break;
		case 2: buf_append(&in, "\x00\x02", 2); break;
		default: buf_append(&in, "\x00\x03\xff", 3); break;
		}
	}
	ASSERT_EQ(0, stream_init(&sa, true, 0));
	ASSERT_EQ(0, stream_init(&sb, true, 0));
	ASSERT_EQ(0, stream_feed(&sa, in.data, in.len, collect, a));
	for (size_t off = 0; off < in.len;) {
		size_t n = 1 + (size_t)rand() % 700;

		if (n > in.len - off)
			n = in.len - off;
		ASSERT_EQ(0, stream_feed(&sb, in.data + off, n, collect, b));
		off += n;
	}
	ASSERT_EQ(15, a->ike);
	ASSERT_EQ(15, a->esp);
	ASSERT_EQ(a->all.len, b->all.len);
	ASSERT_EQ(0, memcmp(a->all.data, b->all.data, a->all.len));
	ASSERT_EQ(sa.st.empty, sb.st.empty);
	ASSERT_EQ(sa.st.keepalives, sb.st.keepalives);
	stream_free(&sa);
	stream_free(&sb);
	buf_free(&a->all);
	buf_free(&b->all);
	buf_free(&in);
	free(a);
	free(b);
}

TEST_HARNESS_MAIN
