// SPDX-License-Identifier: GPL-2.0
/* The buffer and the bounds-checked cursor every parser reads through. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "kselftest_harness.h"

TEST(cursor_reads_big_endian)
{
	static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct cursor c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	cur_init(&c, in, sizeof(in));
	ASSERT_TRUE(cur_u8(&c, &u8));
	ASSERT_EQ(1, u8);
	ASSERT_TRUE(cur_u16(&c, &u16));
	ASSERT_EQ(0x0203, u16);
	ASSERT_TRUE(cur_u32(&c, &u32));
	ASSERT_EQ(0x04050607u, u32);
	ASSERT_TRUE(cur_u64(&c, &u64));
	ASSERT_EQ(0x08090a0b0c0d0e0full, u64);
	ASSERT_EQ(0, cur_left(&c));
	ASSERT_TRUE(cur_ok(&c));
}

TEST(cursor_short_read_is_sticky)
{
	static const uint8_t in[] = { 0xaa, 0xbb, 0xcc };
	struct cursor c;
	uint32_t u32 = 0x55555555;
	uint8_t u8 = 0x55;

	cur_init(&c, in, sizeof(in));
	ASSERT_FALSE(cur_u32(&c, &u32));
	ASSERT_EQ(0x55555555u, u32);	/* nothing written on failure */
	ASSERT_FALSE(cur_ok(&c));
	/* Bytes that were there are no longer readable once bad. */
	ASSERT_FALSE(cur_u8(&c, &u8));
	ASSERT_EQ(0, cur_left(&c));
	ASSERT_EQ(NULL, cur_take(&c, 0));
}

TEST(cursor_sub_is_bounded)
{
	static const uint8_t in[] = { 0, 3, 'a', 'b', 'c', 0xff };
	struct cursor c, sub;
	uint16_t len;
	uint8_t x[4];

	cur_init(&c, in, sizeof(in));
	ASSERT_TRUE(cur_u16(&c, &len));
	ASSERT_TRUE(cur_sub(&c, len, &sub));
	ASSERT_EQ(3, cur_left(&sub));
	ASSERT_FALSE(cur_copy(&sub, x, 4));	/* cannot read past the sub-range */
	ASSERT_EQ(1, cur_left(&c));		/* the parent is unaffected */
	ASSERT_TRUE(cur_u8(&c, &x[0]));
	ASSERT_EQ(0xff, x[0]);
	/* A length larger than what is left fails and poisons the parent. */
	cur_init(&c, in, sizeof(in));
	ASSERT_FALSE(cur_sub(&c, 7, &sub));
	ASSERT_FALSE(cur_ok(&c));
	ASSERT_FALSE(cur_ok(&sub));
}

TEST(cursor_huge_length_does_not_wrap)
{
	static const uint8_t in[] = { 1, 2 };
	struct cursor c;

	cur_init(&c, in, sizeof(in));
	ASSERT_TRUE(cur_skip(&c, 1));
	ASSERT_FALSE(cur_skip(&c, SIZE_MAX));
	ASSERT_EQ(NULL, cur_peek(&c, 1));
}

TEST(cursor_peek_does_not_consume)
{
	static const uint8_t in[] = { 7, 8 };
	struct cursor c;

	cur_init(&c, in, sizeof(in));
	ASSERT_NE(NULL, cur_peek(&c, 2));
	ASSERT_EQ(NULL, cur_peek(&c, 3));
	ASSERT_TRUE(cur_ok(&c));		/* a failed peek is not an error */
	ASSERT_EQ(2, cur_left(&c));
}

TEST(buf_builds_and_patches)
{
	struct buf b = BUF_INIT;

	ASSERT_EQ(0, buf_put_u8(&b, 0x20));
	ASSERT_EQ(0, buf_put_u16(&b, 0));
	ASSERT_EQ(0, buf_put_u32(&b, 0xdeadbeef));
	ASSERT_EQ(0, buf_put_u64(&b, 0x0102030405060708ull));
	ASSERT_EQ(15, b.len);
	buf_set_u16(&b, 1, 0xabcd);
	ASSERT_EQ(0xab, b.data[1]);
	ASSERT_EQ(0xcd, b.data[2]);
	ASSERT_EQ(0xde, b.data[3]);
	ASSERT_EQ(0x08, b.data[14]);
	buf_free(&b);
	ASSERT_EQ(NULL, b.data);
}

TEST(buf_grows_and_keeps_content)
{
	struct buf b = BUF_INIT, c = BUF_INIT;
	uint8_t chunk[100];

	for (int i = 0; i < 100; i++)
		chunk[i] = (uint8_t)i;
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(0, buf_append(&b, chunk, sizeof(chunk)));
	ASSERT_EQ(5000, b.len);
	ASSERT_GE(b.cap, b.len);
	ASSERT_EQ(0, memcmp(b.data + 4900, chunk, 100));
	ASSERT_EQ(0, buf_copy(&c, &b));
	ASSERT_EQ(0, memcmp(c.data, b.data, b.len));
	buf_wipe(&b);
	ASSERT_EQ(0, b.len);
	ASSERT_EQ(-12 /* -ENOMEM */, buf_reserve(&c, SIZE_MAX));
	buf_free(&c);
}

/* The first append that cannot get memory makes the buffer sticky-bad:
 * later appends do nothing and return the error, the contents stay as
 * they were, and reset or free clear it (struct buf's contract). */
/* A buffer kept long gives back what it does not use, content kept;
 * growing it again works as before. */
TEST(buf_fit_cuts_storage_to_length)
{
	struct buf b = BUF_INIT;

	ASSERT_EQ(0, buf_append(&b, "0123456789", 10));
	ASSERT_LT(10, b.cap);
	buf_fit(&b);
	EXPECT_EQ(10, b.cap);
	EXPECT_EQ(10, b.len);
	EXPECT_EQ(0, memcmp(b.data, "0123456789", 10));
	ASSERT_EQ(0, buf_append(&b, "ab", 2));
	EXPECT_EQ(0, memcmp(b.data, "0123456789ab", 12));
	buf_free(&b);
	buf_fit(&b);		/* empty: nothing to do */
	EXPECT_EQ(NULL, b.data);
}

TEST(sticky_error)
{
	struct buf b = BUF_INIT, c = BUF_INIT;

	ASSERT_EQ(0, buf_append(&b, "abc", 3));
	EXPECT_EQ(0, buf_err(&b));
	/* More than can ever be had: the size check refuses it. */
	EXPECT_EQ(-ENOMEM, buf_reserve(&b, SIZE_MAX - 1));
	EXPECT_EQ(-ENOMEM, buf_err(&b));
	EXPECT_EQ(-ENOMEM, buf_append(&b, "d", 1));
	EXPECT_EQ(-ENOMEM, buf_put_u32(&b, 1));
	EXPECT_EQ(-ENOMEM, buf_put_u64(&b, 1));
	EXPECT_EQ(NULL, buf_extend(&b, 1));
	EXPECT_EQ(-ENOMEM, buf_append(&b, "", 0));
	EXPECT_EQ(3, b.len);
	EXPECT_EQ(0, memcmp(b.data, "abc", 3));
	/* A copy of a bad buffer is bad. */
	EXPECT_EQ(-ENOMEM, buf_copy(&c, &b));
	EXPECT_EQ(-ENOMEM, buf_err(&c));
	buf_reset(&c);
	EXPECT_EQ(0, buf_err(&c));
	EXPECT_EQ(0, buf_append(&c, "x", 1));
	buf_reset(&b);
	EXPECT_EQ(0, buf_err(&b));
	EXPECT_EQ(0, buf_append(&b, "e", 1));
	EXPECT_EQ(1, b.len);
	EXPECT_EQ(-ENOMEM, buf_reserve(&b, SIZE_MAX));
	buf_free(&b);
	EXPECT_EQ(0, buf_err(&b));
	buf_free(&c);
}

TEST_HARNESS_MAIN
