// SPDX-License-Identifier: GPL-2.0
/* Socket address helpers (lib/addr.c): parsing, text, ports, comparison,
 * lengths, for both families and for an address of neither. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "kselftest_harness.h"

static struct sockaddr_storage mk(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	return ss;
}

TEST(text)
{
	struct sockaddr_storage a = mk("10.0.0.1", 500), b = mk("fd00::1", 4500), u;
	char s[ADDR_STRLEN];

	memset(&u, 0, sizeof(u));
	EXPECT_STREQ("10.0.0.1", addr_str(&a, s, sizeof(s)));
	EXPECT_STREQ("fd00::1", addr_str(&b, s, sizeof(s)));
	EXPECT_STREQ("?", addr_str(&u, s, sizeof(s)));
	EXPECT_STREQ("10.0.0.1:500", addr_port_str(&a, s, sizeof(s)));
	EXPECT_STREQ("[fd00::1]:4500", addr_port_str(&b, s, sizeof(s)));
	EXPECT_STREQ("?", addr_port_str(&u, s, sizeof(s)));
	b = mk("1111:2222:3333:4444:5555:6666:7777:8888", 65535);
	EXPECT_STREQ("[1111:2222:3333:4444:5555:6666:7777:8888]:65535",
		     addr_port_str(&b, s, sizeof(s)));
	/* Truncated, still terminated. */
	EXPECT_STREQ("10.0", addr_str(&a, s, 5));
}

TEST(ports)
{
	struct sockaddr_storage a = mk("10.0.0.1", 500), b = mk("fd00::1", 500), u;

	memset(&u, 0, sizeof(u));
	addr_set_port(&a, 4500);
	addr_set_port(&b, 4501);
	addr_set_port(&u, 1);
	EXPECT_EQ(4500, addr_port(&a));
	EXPECT_EQ(4501, addr_port(&b));
	EXPECT_EQ(0, addr_port(&u));
	EXPECT_EQ(htons(4500), ((struct sockaddr_in *)&a)->sin_port);
}

TEST(comparison)
{
	struct sockaddr_storage a = mk("10.0.0.1", 500), a2 = mk("10.0.0.1", 4500);
	struct sockaddr_storage b = mk("10.0.0.2", 500), c = mk("::ffff:10.0.0.1", 500);
	struct sockaddr_storage u1, u2;

	memset(&u1, 0, sizeof(u1));
	memset(&u2, 0, sizeof(u2));
	EXPECT_TRUE(addr_eq(&a, &a2));
	EXPECT_FALSE(addr_port_eq(&a, &a2));
	EXPECT_TRUE(addr_port_eq(&a, &a));
	EXPECT_FALSE(addr_eq(&a, &b));
	EXPECT_FALSE(addr_eq(&a, &c));		/* families differ */
	EXPECT_FALSE(addr_eq(&u1, &u2));	/* no address is no match */
}

TEST(lengths_and_bytes)
{
	struct sockaddr_storage a = mk("10.0.0.1", 500), b = mk("fd00::1", 500), u;
	const uint8_t *p;

	memset(&u, 0, sizeof(u));
	EXPECT_EQ(sizeof(struct sockaddr_in), addr_len(&a));
	EXPECT_EQ(sizeof(struct sockaddr_in6), addr_len(&b));
	EXPECT_EQ(4, addr_bytes(&a, &p));
	EXPECT_EQ(10, p[0]);
	EXPECT_EQ(16, addr_bytes(&b, &p));
	EXPECT_EQ(0xfd, p[0]);
	EXPECT_EQ(0, addr_bytes(&u, &p));
	EXPECT_EQ(NULL, p);
}

TEST(parse)
{
	static const char *const good[] = { "10.0.0.1", "0.0.0.0", "fd00::1", "::ffff:10.0.0.1" };
	static const char *const bad[] = { "", "10.0.0", "10.0.0.256", "fd00::1/64", "gw.example",
					   "10.0.0.1:500", " 10.0.0.1" };
	struct sockaddr_storage ss, want;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		want = mk(good[i], 0);
		ASSERT_EQ(0, addr_parse(good[i], &ss)) TH_LOG("%s", good[i]);
		EXPECT_EQ(want.ss_family, ss.ss_family);
		EXPECT_TRUE(addr_port_eq(&want, &ss)) TH_LOG("%s", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ss, 0xa5, sizeof(ss));
		EXPECT_EQ(-1, addr_parse(bad[i], &ss)) TH_LOG("'%s'", bad[i]);
		EXPECT_EQ(0, ss.ss_family) TH_LOG("'%s': left zeroed", bad[i]);
	}
}

TEST_HARNESS_MAIN
