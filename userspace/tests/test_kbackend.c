// SPDX-License-Identifier: GPL-2.0
/* The "none" backend: SAs and policies kept, duplicates and unknown
 * entries refused with a sentence, steering recorded, names checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "kb_none.h"
#include "kselftest_harness.h"

static void ip4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *s = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
}

TEST(none_sa_and_policy)
{
	struct kbackend *kb = kbackend_open("none");
	struct kb_sa sa = { 0 };
	struct kb_policy pol = { 0 };
	uint8_t key[36] = { 1 };
	struct buf dump = BUF_INIT;
	size_t ns, np;

	ASSERT_NE(NULL, kb);
	EXPECT_EQ(KB_NONE, kb->kind);
	sa.spi = htonl(0x11223344);
	ip4(&sa.src, "10.0.0.1");
	ip4(&sa.dst, "10.0.0.2");
	strcpy(sa.aead, "rfc4106(gcm(aes))");
	sa.enc_key = key;
	sa.enc_key_len = sizeof(key);
	ASSERT_EQ(0, kb->ops->sa_add(kb, &sa));
	EXPECT_EQ(-EEXIST, kb->ops->sa_add(kb, &sa));
	EXPECT_NE(NULL, strstr(kb->kb_error, "0x11223344"));
	pol.dir = KB_DIR_OUT;
	pol.sel.family = AF_INET;
	ip4(&pol.sel.src, "192.168.1.0");
	ip4(&pol.sel.dst, "192.168.2.0");
	pol.sel.src_plen = pol.sel.dst_plen = 24;
	ASSERT_EQ(0, kb->ops->policy_add(kb, &pol));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(1, ns);
	EXPECT_EQ(1, np);
	ASSERT_EQ(0, kb_none_dump(kb, &dump));
	ASSERT_EQ(0, buf_put_u8(&dump, 0));
	EXPECT_NE(NULL, strstr((char *)dump.data, "sa out spi 0x11223344 10.0.0.1 -> 10.0.0.2"));
	EXPECT_NE(NULL, strstr((char *)dump.data, "policy out 192.168.1.0/24 -> 192.168.2.0/24"));
	/* steering (a NAT mapping change) is recorded; unknown SAs refused */
	ASSERT_EQ(0, kb->ops->sa_steer(kb, &sa.dst, sa.spi, KB_ENCAP_UDP, 4500, 40001));
	EXPECT_EQ(-ENOENT, kb->ops->sa_steer(kb, &sa.dst, htonl(0x55), KB_ENCAP_UDP, 4500, 4500));
	buf_reset(&dump);
	ASSERT_EQ(0, kb_none_dump(kb, &dump));
	ASSERT_EQ(0, buf_put_u8(&dump, 0));
	EXPECT_NE(NULL, strstr((char *)dump.data, "spi 0x11223344 10.0.0.1 -> 10.0.0.2 rfc4106(gcm(aes)) encap udp 4500 -> 40001"));
	ASSERT_EQ(0, kb->ops->sa_del(kb, &sa.dst, sa.spi));
	EXPECT_EQ(-ENOENT, kb->ops->sa_del(kb, &sa.dst, sa.spi));
	ASSERT_EQ(0, kb->ops->policy_del(kb, &pol));
	EXPECT_EQ(-ENOENT, kb->ops->policy_del(kb, &pol));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(0, ns);
	EXPECT_EQ(0, np);
	buf_free(&dump);
	kbackend_close(kb);
}

/* Thousands of SAs and policies (a responder with 10,000 peers): every
 * one found again by its key, duplicates still refused, deletes in any
 * order leave the others reachable, the dump lists what is left. */
TEST(none_many_entries)
{
	enum { N = 5000 };
	struct kbackend *kb = kbackend_open("none");
	struct kb_sa sa = { 0 };
	struct kb_policy pol = { 0 };
	struct buf dump = BUF_INIT;
	size_t ns, np;
	int i;

	ASSERT_NE(NULL, kb);
	ip4(&sa.src, "10.0.0.1");
	ip4(&sa.dst, "10.0.0.2");
	strcpy(sa.aead, "rfc4106(gcm(aes))");
	pol.sel.family = AF_INET;
	ip4(&pol.sel.src, "10.128.0.1");
	ip4(&pol.sel.dst, "192.168.2.0");
	pol.sel.src_plen = 32;
	pol.sel.dst_plen = 24;
	for (i = 0; i < N; i++) {
		sa.spi = htonl(0x1000u + (uint32_t)i);
		ASSERT_EQ(0, kb->ops->sa_add(kb, &sa));
		((struct sockaddr_in *)&pol.sel.src)->sin_addr.s_addr = htonl(0x0a800001u + (uint32_t)i);
		pol.dir = KB_DIR_OUT;
		ASSERT_EQ(0, kb->ops->policy_add(kb, &pol));
		pol.dir = KB_DIR_IN;
		ASSERT_EQ(0, kb->ops->policy_add(kb, &pol));
	}
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(N, ns);
	EXPECT_EQ(2 * N, np);
	/* the same SPI to another destination is another SA */
	ip4(&sa.dst, "10.0.0.3");
	sa.spi = htonl(0x1000u);
	ASSERT_EQ(0, kb->ops->sa_add(kb, &sa));
	ip4(&sa.dst, "10.0.0.2");
	for (i = 0; i < N; i++) {
		sa.spi = htonl(0x1000u + (uint32_t)i);
		ASSERT_EQ(-EEXIST, kb->ops->sa_add(kb, &sa));
		((struct sockaddr_in *)&pol.sel.src)->sin_addr.s_addr = htonl(0x0a800001u + (uint32_t)i);
		ASSERT_EQ(-EEXIST, kb->ops->policy_add(kb, &pol));
	}
	/* delete every other one, then check both halves */
	for (i = 0; i < N; i += 2) {
		ASSERT_EQ(0, kb->ops->sa_del(kb, &sa.dst, htonl(0x1000u + (uint32_t)i)));
		((struct sockaddr_in *)&pol.sel.src)->sin_addr.s_addr = htonl(0x0a800001u + (uint32_t)i);
		pol.dir = KB_DIR_IN;
		ASSERT_EQ(0, kb->ops->policy_del(kb, &pol));
	}
	for (i = 0; i < N; i++) {
		int want = i % 2 ? 0 : -ENOENT;

		ASSERT_EQ(want, kb->ops->sa_steer(kb, &sa.dst, htonl(0x1000u + (uint32_t)i),
						  KB_ENCAP_UDP, 4500, 4500));
		((struct sockaddr_in *)&pol.sel.src)->sin_addr.s_addr = htonl(0x0a800001u + (uint32_t)i);
		pol.dir = KB_DIR_IN;
		ASSERT_EQ(want, kb->ops->policy_del(kb, &pol));
		pol.dir = KB_DIR_OUT;
		ASSERT_EQ(0, kb->ops->policy_del(kb, &pol));
	}
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(N / 2 + 1, ns);
	EXPECT_EQ(0, np);
	ip4(&sa.dst, "10.0.0.3");
	ASSERT_EQ(0, kb->ops->sa_del(kb, &sa.dst, htonl(0x1000u)));
	ASSERT_EQ(0, kb_none_dump(kb, &dump));
	ASSERT_EQ(0, buf_put_u8(&dump, 0));
	EXPECT_NE(NULL, strstr((char *)dump.data, "spi 0x00001001 "));
	EXPECT_EQ(NULL, strstr((char *)dump.data, "spi 0x00001000 "));
	EXPECT_EQ(NULL, strstr((char *)dump.data, "10.0.0.3"));
	buf_free(&dump);
	kbackend_close(kb);
}

TEST(unknown_backend_name)
{
	EXPECT_EQ(NULL, kbackend_open("wireguard"));
}

TEST(auto_picks_something)
{
	struct kbackend *kb = kbackend_open("auto");

	ASSERT_NE(NULL, kb);	/* none always works */
	kbackend_close(kb);
}

TEST_HARNESS_MAIN
