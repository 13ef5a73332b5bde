// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 7383 reassembly (frag.c): §2.6.2's rules on Total Fragments, and the
 * daemon-wide cap that drops the oldest incomplete reassembly first.
 */
#include <errno.h>
#include <string.h>

#include "frag.h"
#include "kselftest_harness.h"

#define MAXB	(1u << 20)

/* Fragment num/total of msgid into f, with len bytes of c as its plaintext. */
static int put(struct frag_pool *pool, struct frag_rx *f, uint32_t msgid, uint16_t num,
	       uint16_t total, char c, size_t len, struct buf *out)
{
	struct buf p = BUF_INIT;
	uint8_t first;
	int r;

	for (size_t i = 0; i < len; i++)
		buf_put_u8(&p, (uint8_t)c);
	r = frag_put(pool, f, msgid, num, total, 41, &p, MAXB, out, &first);
	if (p.data)
		return -EFAULT;		/* frag_put must take the buffer */
	if (r == 1 && first != 41)
		return -EINVAL;
	return r;
}

TEST(smaller_total_is_discarded)
{
	struct frag_pool pool = { 0 };
	struct frag_rx f = { 0 };
	struct buf out = BUF_INIT;
	size_t held;

	ASSERT_EQ(0, put(&pool, &f, 5, 1, 3, 'a', 10, &out));
	held = pool.bytes;
	/* A split into 2: discarded, the split into 3 goes on. */
	EXPECT_EQ(-EALREADY, put(&pool, &f, 5, 2, 2, 'x', 10, &out));
	EXPECT_EQ(-EALREADY, put(&pool, &f, 5, 1, 2, 'x', 10, &out));
	EXPECT_EQ(3, f.total);
	EXPECT_EQ(1, f.have);
	EXPECT_EQ(held, pool.bytes);
	ASSERT_EQ(0, put(&pool, &f, 5, 3, 3, 'c', 10, &out));
	ASSERT_EQ(1, put(&pool, &f, 5, 2, 3, 'b', 10, &out));
	ASSERT_EQ(30, out.len);
	EXPECT_EQ('a', out.data[0]);
	EXPECT_EQ('b', out.data[10]);
	EXPECT_EQ('c', out.data[29]);
	EXPECT_EQ(0, pool.bytes);
	EXPECT_EQ(NULL, pool.oldest);
	buf_free(&out);
}

TEST(larger_total_restarts)
{
	struct frag_pool pool = { 0 };
	struct frag_rx f = { 0 };
	struct buf out = BUF_INIT;

	ASSERT_EQ(0, put(&pool, &f, 5, 1, 2, 'a', 10, &out));
	ASSERT_EQ(0, put(&pool, &f, 5, 2, 3, 'y', 10, &out));
	EXPECT_EQ(3, f.total);
	EXPECT_EQ(1, f.have);
	ASSERT_EQ(0, put(&pool, &f, 5, 1, 3, 'x', 10, &out));
	ASSERT_EQ(1, put(&pool, &f, 5, 3, 3, 'z', 10, &out));
	ASSERT_EQ(30, out.len);
	EXPECT_EQ('x', out.data[0]);
	EXPECT_EQ(0, pool.bytes);
	buf_free(&out);
}

TEST(older_message_and_duplicate_are_dropped)
{
	struct frag_pool pool = { 0 };
	struct frag_rx f = { 0 };
	struct buf out = BUF_INIT;
	size_t held;

	ASSERT_EQ(0, put(&pool, &f, 7, 1, 2, 'a', 10, &out));
	held = pool.bytes;
	EXPECT_EQ(0, put(&pool, &f, 7, 1, 2, 'a', 10, &out));
	EXPECT_EQ(-EALREADY, put(&pool, &f, 6, 2, 2, 'a', 10, &out));
	EXPECT_EQ(held, pool.bytes);
	EXPECT_EQ(1, f.have);
	frag_reset(&pool, &f);
	EXPECT_EQ(0, pool.bytes);
	buf_free(&out);
}

/* Four SAs each with a half-filled message of 1000 bytes, room for three:
 * the oldest goes, the others keep theirs and complete. */
TEST(global_cap_drops_the_oldest)
{
	struct frag_pool pool = { 0 };
	struct frag_rx f[4];
	struct buf out = BUF_INIT;
	size_t one;
	int i;

	memset(f, 0, sizeof(f));
	ASSERT_EQ(0, put(&pool, &f[0], 1, 1, 2, 'a', 1000, &out));
	one = pool.bytes;
	pool.cap = 3 * one + one / 2;
	ASSERT_EQ(0, put(&pool, &f[1], 1, 1, 2, 'b', 1000, &out));
	ASSERT_EQ(0, put(&pool, &f[2], 1, 1, 2, 'c', 1000, &out));
	EXPECT_EQ(0, pool.evicted);
	ASSERT_EQ(0, put(&pool, &f[3], 1, 1, 2, 'd', 1000, &out));
	EXPECT_EQ(1, pool.evicted);
	EXPECT_EQ(NULL, f[0].plain);
	EXPECT_EQ(&f[1], pool.oldest);
	EXPECT_EQ(&f[3], pool.newest);
	EXPECT_GE(pool.cap, pool.bytes);
	for (i = 1; i < 4; i++) {
		ASSERT_EQ(1, put(&pool, &f[i], 1, 2, 2, 'z', 10, &out));
		EXPECT_EQ(1010, out.len);
		EXPECT_EQ('a' + i, out.data[0]);
	}
	EXPECT_EQ(0, pool.bytes);
	/* A message larger than the cap by itself is refused, nothing kept. */
	pool.cap = 500;
	EXPECT_EQ(-E2BIG, put(&pool, &f[0], 2, 1, 2, 'a', 1000, &out));
	EXPECT_EQ(NULL, f[0].plain);
	EXPECT_EQ(0, pool.bytes);
	buf_free(&out);
}

TEST(per_message_bound)
{
	struct frag_pool pool = { 0 };
	struct frag_rx f = { 0 };
	struct buf p = BUF_INIT, out = BUF_INIT;
	uint8_t first;

	ASSERT_EQ(0, put(&pool, &f, 1, 1, 3, 'a', 100, &out));
	for (int i = 0; i < 200; i++)
		buf_put_u8(&p, 1);
	EXPECT_EQ(-E2BIG, frag_put(&pool, &f, 1, 2, 3, 0, &p, 250, &out, &first));
	EXPECT_EQ(NULL, f.plain);
	EXPECT_EQ(0, pool.bytes);
	buf_free(&out);
}

TEST_HARNESS_MAIN
