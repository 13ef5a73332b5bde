// SPDX-License-Identifier: GPL-2.0
/* IKEv2 header and payload chain: round trips and every malformed shape. */
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "kselftest_harness.h"

static const struct ike_hdr hdr = {
	.spi_i = { 1, 2, 3, 4, 5, 6, 7, 8 },
	.exch = IKEV2_EXCH_IKE_SA_INIT,
	.flags = IKEV2_FLAG_INITIATOR,
	.msgid = 0,
};

/* HDR, N(payload "abc"), V(empty), Ni(16 bytes) */
static int build3(struct buf *b)
{
	struct ike_builder bld;
	uint8_t nonce[16];

	memset(nonce, 0x5a, sizeof(nonce));
	msg_begin(&bld, b, &hdr);
	pl_begin(&bld, IKEV2_PL_NOTIFY, false);
	pl_put(&bld, "abc", 3);
	pl_begin(&bld, IKEV2_PL_VENDOR, false);
	pl_begin(&bld, IKEV2_PL_NONCE, false);
	pl_put(&bld, nonce, sizeof(nonce));
	return msg_finish(&bld);
}

TEST(round_trip)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	ASSERT_EQ(28 + 7 + 4 + 20, b.len);
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKEV2_PL_NOTIFY, m.hdr.next);
	ASSERT_EQ(2, m.hdr.major);
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, m.hdr.exch);
	ASSERT_EQ(IKEV2_FLAG_INITIATOR, m.hdr.flags);
	ASSERT_EQ(b.len, m.hdr.length);
	ASSERT_EQ(0, memcmp(hdr.spi_i, m.hdr.spi_i, 8));
	ASSERT_EQ(3, m.n);
	ASSERT_EQ(IKEV2_PL_NOTIFY, m.pl[0].type);
	ASSERT_EQ(3, m.pl[0].len);
	ASSERT_EQ(0, memcmp("abc", m.pl[0].body, 3));
	ASSERT_EQ(0, m.pl[1].len);
	ASSERT_EQ(16, ike_msg_find(&m, IKEV2_PL_NONCE)->len);
	ASSERT_EQ(NULL, ike_msg_find(&m, IKEV2_PL_KE));
	buf_free(&b);
}

TEST(short_and_length_mismatch)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, 27, &m));
	ASSERT_EQ(IKE_PERR_SHORT, m.err);
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len - 1, &m));
	ASSERT_EQ(IKE_PERR_LENGTH, m.err);
	buf_free(&b);
}

TEST(major_version_refused)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	b.data[17] = 0x30;	/* version 3.0 */
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_VERSION, m.err);
	b.data[17] = 0x21;	/* minor versions are ignored */
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	buf_free(&b);
}

TEST(payload_length_below_four)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	buf_set_u16(&b, 28 + 2, 3);
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_SYNTAX, m.err);
	buf_free(&b);
}

TEST(payload_past_the_end)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	buf_set_u16(&b, 28 + 7 + 4 + 2, 21);	/* nonce claims one byte more */
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_SYNTAX, m.err);
	buf_free(&b);
}

TEST(chain_shorter_than_message)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	b.data[28 + 7] = IKEV2_PL_NONE;	/* V claims to be last, Ni follows */
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_SYNTAX, m.err);
	buf_free(&b);
}

TEST(unknown_payloads)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;

	msg_begin(&bld, &b, &hdr);
	pl_begin(&bld, 200, false);		/* unknown, not critical: skipped */
	pl_put(&bld, "x", 1);
	pl_begin(&bld, IKEV2_PL_NONCE, false);
	pl_put(&bld, "0123456789abcdef", 16);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(2, m.n);
	b.data[28 + 1] = IKEV2_PL_CRITICAL;	/* now critical */
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_CRITICAL, m.err);
	ASSERT_EQ(200, m.critical_type);
	ASSERT_EQ(2, m.n);			/* the rest was still checked */
	buf_free(&b);
}

TEST(known_payload_with_critical_bit_is_fine)
{
	struct buf b = BUF_INIT;
	struct ike_msg m;

	ASSERT_EQ(0, build3(&b));
	b.data[28 + 1] = IKEV2_PL_CRITICAL;
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_TRUE(m.pl[0].critical);
	buf_free(&b);
}

TEST(too_many_payloads)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;

	msg_begin(&bld, &b, &hdr);
	for (int i = 0; i < IKE_MAX_PAYLOADS + 1; i++)
		pl_begin(&bld, IKEV2_PL_VENDOR, false);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_TOO_MANY, m.err);
	buf_free(&b);
}

TEST(encrypted_payload_is_last)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;
	struct ike_hdr h = hdr;

	h.exch = IKEV2_EXCH_IKE_AUTH;
	msg_begin(&bld, &b, &h);
	pl_begin(&bld, IKEV2_PL_SK, false);
	pl_put(&bld, "ivivivivciphertext-icv-icv-icv-i", 32);
	ASSERT_EQ(0, msg_finish(&bld));
	b.data[28] = IKEV2_PL_IDI;	/* SK names its first inner payload */
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(1, m.n);
	ASSERT_EQ(IKEV2_PL_SK, m.pl[0].type);
	ASSERT_EQ(32, m.pl[0].len);
	/* Anything after SK is malformed. */
	buf_put_u8(&b, 0);
	buf_set_u32(&b, 24, (uint32_t)b.len);
	ASSERT_EQ(-EBADMSG, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKE_PERR_SYNTAX, m.err);
	buf_free(&b);
}

TEST(inner_chain)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;

	chain_begin(&bld, &b);
	pl_begin(&bld, IKEV2_PL_IDI, false);
	pl_put_u8(&bld, IKEV2_ID_IPV4_ADDR);
	pl_put(&bld, "\0\0\0\x0a\0\0\x01", 7);
	pl_begin(&bld, IKEV2_PL_AUTH, false);
	pl_put_u32(&bld, 0x02000000);
	ASSERT_EQ(0, chain_finish(&bld));
	ASSERT_EQ(IKEV2_PL_IDI, bld.first_type);
	ASSERT_EQ(0, ike_chain_parse(bld.first_type, b.data, b.len, &m));
	ASSERT_EQ(2, m.n);
	ASSERT_EQ(IKEV2_PL_AUTH, m.pl[1].type);
	ASSERT_EQ(-EBADMSG, ike_chain_parse(bld.first_type, b.data, b.len - 1, &m));
	buf_free(&b);
}

/* A message and a chain of the usual few hundred bytes are built in
 * the room taken at their start: no growth (each a malloc, copy and
 * wipe) on the way.  A buffer that already has room keeps it. */
TEST(builder_room_at_once)
{
	struct buf out[2] = { BUF_INIT, BUF_INIT }, d = BUF_INIT;
	struct ike_builder bld;
	static const uint8_t body[400];
	const uint8_t *at;

	/* out[0] a message (its 28-byte header), out[1] a chain */
	for (int chain = 0; chain < 2; chain++) {
		if (chain)
			chain_begin(&bld, &out[chain]);
		else
			msg_begin(&bld, &out[chain], &hdr);
		at = out[chain].data;
		ASSERT_NE(NULL, at);
		pl_begin(&bld, IKEV2_PL_VENDOR, false);
		pl_put(&bld, body, sizeof(body));
		ASSERT_EQ(0, chain ? chain_finish(&bld) : msg_finish(&bld));
		EXPECT_EQ(at, out[chain].data);
		EXPECT_EQ((chain ? 0 : 28) + 4 + sizeof(body), out[chain].len);
		buf_free(&out[chain]);
	}

	ASSERT_EQ(0, buf_reserve(&d, 40));
	at = d.data;
	msg_begin(&bld, &d, &hdr);
	ASSERT_EQ(0, msg_finish(&bld));
	EXPECT_EQ(at, d.data);
	EXPECT_EQ(64, d.cap);
	buf_free(&d);
}

TEST(builder_refuses_oversized)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	static uint8_t big[70000];

	msg_begin(&bld, &b, &hdr);
	pl_begin(&bld, IKEV2_PL_VENDOR, false);
	pl_put(&bld, big, sizeof(big));
	ASSERT_EQ(-EMSGSIZE, msg_finish(&bld));
	buf_free(&b);
}

TEST_HARNESS_MAIN
