// SPDX-License-Identifier: GPL-2.0
/* The netlink reply parsers (tcpike_nl.c, kb_xfrm.c) on hostile replies:
 * attributes shorter than their type, unterminated extack text, truncated
 * XFRM states.  Run under ASan, an over-read fails the test. */
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/tcpike.h>
#include <linux/xfrm.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "backend.h"
#include "kselftest_harness.h"
#include "tcpike_nl.h"

/* A tcpike SA_GET reply whose SPI attribute is spi_len bytes long. */
static struct nl_msg *sa_reply(int spi_len)
{
	static const uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 192, 0, 2, 2 };
	static const uint8_t spi[4] = { 1, 2, 3, 4 };
	struct nl_msg *m = nlmsg_alloc();

	if (!m || !genlmsg_put(m, 1, 1, 0x1d, 0, 0, TCPIKE_CMD_SA_GET, 1) ||
	    nla_put(m, TCPIKE_A_SPI, spi_len, spi) < 0 ||
	    nla_put_u16(m, TCPIKE_A_FAMILY, AF_INET) < 0 ||
	    nla_put(m, TCPIKE_A_SRC, 4, src) < 0 || nla_put(m, TCPIKE_A_DST, 4, dst) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

TEST(tcpike_reply_with_full_attributes_parses)
{
	struct nl_msg *m = sa_reply(4);

	ASSERT_NE(NULL, m);
	/* parse_sa and parse_stats take it; the policy and event parsers not. */
	ASSERT_EQ(2, tnl_parse_replies(nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len));
	nlmsg_free(m);
}

TEST(tcpike_reply_with_short_u32_is_refused)
{
	struct nl_msg *m = sa_reply(1);

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, tnl_parse_replies(nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len));
	nlmsg_free(m);
}

/* An error ack whose extack text fills the message and has no NUL. */
TEST(extack_without_nul_is_read_by_length)
{
	const size_t len = NLMSG_HDRLEN + sizeof(struct nlmsgerr) + 8;
	struct nlmsghdr *h = calloc(1, len);
	struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(h);
	struct nlattr *a = (struct nlattr *)(e + 1);

	ASSERT_NE(NULL, h);
	h->nlmsg_len = (uint32_t)len;
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	e->error = -22;
	e->msg.nlmsg_len = NLMSG_HDRLEN;
	a->nla_len = 8;
	a->nla_type = NLMSGERR_ATTR_MSG;
	memcpy(a + 1, "abcd", 4);
	ASSERT_EQ(1, tnl_parse_replies(h, len));
	ASSERT_EQ(1, kb_xfrm_parse_replies(h, len));
	/* An uncapped ack claiming a quoted request longer than itself. */
	h->nlmsg_flags = NLM_F_ACK_TLVS;
	e->msg.nlmsg_len = 0xfffffff0u;
	ASSERT_EQ(1, tnl_parse_replies(h, len));
	ASSERT_EQ(1, kb_xfrm_parse_replies(h, len));
	e->msg.nlmsg_len = 3;
	ASSERT_EQ(1, kb_xfrm_parse_replies(h, len));
	free(h);
}

TEST(xfrm_newsa_shorter_than_its_header_is_ignored)
{
	const size_t full = NLMSG_HDRLEN + sizeof(struct xfrm_usersa_info);
	struct nlmsghdr *h = calloc(1, full);

	ASSERT_NE(NULL, h);
	h->nlmsg_type = XFRM_MSG_NEWSA;
	h->nlmsg_len = (uint32_t)full;
	ASSERT_EQ(1, kb_xfrm_parse_replies(h, full));
	h->nlmsg_len = (uint32_t)full - 4;
	ASSERT_EQ(0, kb_xfrm_parse_replies(h, full - 4));
	/* A length beyond the buffer: nlmsg_ok() stops the walk. */
	h->nlmsg_len = (uint32_t)full + 64;
	ASSERT_EQ(0, kb_xfrm_parse_replies(h, full));
	free(h);
}

/* Two states in one datagram: wiping the one a callback saw leaves its
 * header (the walk goes on by it) and the other message alone. */
TEST(wipe_raw_clears_only_the_matching_state)
{
	const size_t one = NLMSG_HDRLEN + 64;
	unsigned char *raw = calloc(1, 2 * one), *copy = malloc(one), zero[64] = { 0 };
	struct nlmsghdr *h1 = (struct nlmsghdr *)raw, *h2 = (struct nlmsghdr *)(raw + one);

	ASSERT_NE(NULL, raw);
	ASSERT_NE(NULL, copy);
	h1->nlmsg_len = h2->nlmsg_len = (uint32_t)one;
	h1->nlmsg_type = h2->nlmsg_type = XFRM_MSG_NEWSA;
	h1->nlmsg_seq = 7;
	h2->nlmsg_seq = 8;
	memset(NLMSG_DATA(h1), 0xaa, 64);
	memset(NLMSG_DATA(h2), 0xbb, 64);
	memcpy(copy, h2, one);
	/* a message that is not in the datagram: nothing changes */
	((struct nlmsghdr *)copy)->nlmsg_seq = 9;
	kb_nl_wipe_raw(raw, 2 * one, (struct nlmsghdr *)copy);
	ASSERT_EQ(0xbb, ((unsigned char *)NLMSG_DATA(h2))[63]);
	((struct nlmsghdr *)copy)->nlmsg_seq = 8;
	kb_nl_wipe_raw(raw, 2 * one, (struct nlmsghdr *)copy);
	ASSERT_EQ(0, memcmp(NLMSG_DATA(h2), zero, 64));
	ASSERT_EQ(one, h2->nlmsg_len);
	ASSERT_EQ(XFRM_MSG_NEWSA, h2->nlmsg_type);
	ASSERT_EQ(0xaa, ((unsigned char *)NLMSG_DATA(h1))[0]);
	ASSERT_EQ(0xaa, ((unsigned char *)NLMSG_DATA(h1))[63]);
	/* no datagram (the receive hook did not run): a no-op */
	kb_nl_wipe_raw(NULL, 0, (struct nlmsghdr *)copy);
	free(copy);
	free(raw);
}

TEST_HARNESS_MAIN
