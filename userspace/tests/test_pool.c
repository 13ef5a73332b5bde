// SPDX-License-Identifier: GPL-2.0
/* Address pools: an identity keeps its address across reconnects, each
 * identity gets its own, an exhausted pool says so, remembered leases go
 * to newcomers only when nothing else is left, and a reload keeps the
 * leases of unchanged pools. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "pool.h"
#include "kselftest_harness.h"

static struct config *cfg(const char *pools)
{
	static char text[1024];
	struct config *c = NULL;
	char err[512];

	snprintf(text, sizeof(text), "pools {\n%s}\n", pools);
	if (config_parse("t.conf", text, strlen(text), &c, err, sizeof(err)))
		fprintf(stderr, "%s\n", err);
	return c;
}

static struct id_cfg who(const char *s)
{
	struct id_cfg id;
	char err[256];

	config_parse_id(s, &id, err, sizeof(err));
	return id;
}

/* The address pool_acquire gives, as text ("-ENOSPC" etc. on failure). */
static const char *get(struct pool_set *ps, const char *pool, const char *id)
{
	static char out[64];
	struct sockaddr_storage a;
	struct id_cfg i = who(id);
	int r = pool_acquire(ps, pool, &i, &a);

	if (r == -ENOSPC)
		return "ENOSPC";
	if (r == -ENOENT)
		return "ENOENT";
	if (r)
		return "error";
	return addr_str(&a, out, sizeof(out));
}

static bool put(struct pool_set *ps, const char *pool, const char *id)
{
	struct id_cfg i = who(id);

	return pool_release(ps, pool, &i);
}

struct seen {
	int n, held;
	char text[512];
};

static bool count(const struct pool_lease_info *l, void *arg)
{
	struct seen *s = arg;
	char a[64], id[300];
	size_t o = strlen(s->text);

	config_id_str(l->id, id, sizeof(id));
	snprintf(s->text + o, sizeof(s->text) - o, "%s%s %s %s %u", o ? "; " : "", l->pool,
		 addr_str(l->addr, a, sizeof(a)), id, l->refs);
	s->n++;
	s->held += l->refs > 0;
	return true;
}

TEST(same_identity_same_address)
{
	struct config *c = cfg(" p { addrs = 10.10.0.0/24 }\n");
	struct pool_set *ps = pool_set_new();
	struct seen s = { 0 };

	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, ps);
	ASSERT_EQ(0, pool_set_apply(ps, c));
	EXPECT_EQ(AF_INET, pool_family(ps, "p"));
	EXPECT_EQ(0, pool_family(ps, "q"));
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "email:a@x"));
	EXPECT_STREQ("10.10.0.2", get(ps, "p", "email:b@x"));
	/* a second IKE SA of a: the same address, held twice */
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "email:a@x"));
	EXPECT_TRUE(put(ps, "p", "email:a@x"));
	EXPECT_TRUE(put(ps, "p", "email:a@x"));
	EXPECT_FALSE(put(ps, "p", "email:a@x"));	/* nothing held any more */
	/* a reconnects: its address again, though c came in between */
	EXPECT_STREQ("10.10.0.3", get(ps, "p", "email:c@x"));
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "email:a@x"));
	EXPECT_STREQ("ENOENT", get(ps, "q", "email:a@x"));
	EXPECT_FALSE(put(ps, "q", "email:a@x"));
	EXPECT_FALSE(put(ps, "p", "email:nobody@x"));
	pool_leases(ps, count, &s);
	EXPECT_EQ(3, s.n);
	EXPECT_EQ(3, s.held);
	EXPECT_STREQ("p 10.10.0.1 email:a@x 1; p 10.10.0.2 email:b@x 1; p 10.10.0.3 email:c@x 1",
		     s.text);
	pool_set_free(ps);
	config_free(c);
}

/* RFC 7296 §3.5 leaves FQDN and RFC 822 identities to DNS's and mail's
 * case rules, which authentication already follows (exch_auth.c): Carol
 * reconnecting as carol is the same client, with the same lease. */
TEST(identity_case_does_not_split_leases)
{
	struct config *c = cfg(" p { addrs = 10.10.0.0/24 }\n");
	struct pool_set *ps = pool_set_new();
	struct seen s = { 0 };

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, pool_set_apply(ps, c));
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "email:Carol@X.example"));
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "email:carol@x.EXAMPLE"));
	EXPECT_STREQ("10.10.0.2", get(ps, "p", "fqdn:GW.example"));
	EXPECT_TRUE(put(ps, "p", "fqdn:gw.EXAMPLE"));
	EXPECT_STREQ("10.10.0.2", get(ps, "p", "fqdn:Gw.Example"));
	/* a DN is compared as bytes, as authentication does */
	EXPECT_STREQ("10.10.0.3", get(ps, "p", "dn:CN=Carol"));
	EXPECT_STREQ("10.10.0.4", get(ps, "p", "dn:CN=carol"));
	EXPECT_TRUE(put(ps, "p", "email:CAROL@x.example"));
	EXPECT_TRUE(put(ps, "p", "email:carol@x.example"));
	EXPECT_FALSE(put(ps, "p", "email:carol@x.example"));
	pool_leases(ps, count, &s);
	EXPECT_EQ(4, s.n);
	EXPECT_EQ(3, s.held);
	pool_set_free(ps);
	config_free(c);
}

TEST(exhausted_then_oldest_remembered_reused)
{
	struct config *c = cfg(" one { addrs = 10.20.0.5/32 }\n two { addrs = 10.30.0.1-10.30.0.2 }\n");
	struct pool_set *ps = pool_set_new();

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, pool_set_apply(ps, c));
	EXPECT_STREQ("10.20.0.5", get(ps, "one", "fqdn:a"));
	EXPECT_STREQ("ENOSPC", get(ps, "one", "fqdn:b"));
	EXPECT_STREQ("10.20.0.5", get(ps, "one", "fqdn:a"));
	/* released: remembered for a, but b may have it now */
	EXPECT_TRUE(put(ps, "one", "fqdn:a"));
	EXPECT_TRUE(put(ps, "one", "fqdn:a"));
	EXPECT_STREQ("10.20.0.5", get(ps, "one", "fqdn:b"));
	EXPECT_STREQ("ENOSPC", get(ps, "one", "fqdn:a"));

	EXPECT_STREQ("10.30.0.1", get(ps, "two", "fqdn:a"));
	EXPECT_STREQ("10.30.0.2", get(ps, "two", "fqdn:b"));
	EXPECT_TRUE(put(ps, "two", "fqdn:b"));
	EXPECT_TRUE(put(ps, "two", "fqdn:a"));
	/* b was released first: its address goes to c, a keeps its own */
	EXPECT_STREQ("10.30.0.2", get(ps, "two", "fqdn:c"));
	EXPECT_STREQ("10.30.0.1", get(ps, "two", "fqdn:a"));
	EXPECT_STREQ("ENOSPC", get(ps, "two", "fqdn:b"));
	pool_set_free(ps);
	config_free(c);
}

TEST(ipv6_pool)
{
	struct config *c = cfg(" v6 { addrs = fd00:10::/126 }\n");
	struct pool_set *ps = pool_set_new();

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, pool_set_apply(ps, c));
	EXPECT_EQ(AF_INET6, pool_family(ps, "v6"));
	/* the first (network) address is not given; IPv6 has no broadcast */
	EXPECT_STREQ("fd00:10::1", get(ps, "v6", "fqdn:a"));
	EXPECT_STREQ("fd00:10::2", get(ps, "v6", "fqdn:b"));
	EXPECT_STREQ("fd00:10::3", get(ps, "v6", "fqdn:c"));
	EXPECT_STREQ("ENOSPC", get(ps, "v6", "fqdn:d"));
	pool_set_free(ps);
	config_free(c);
}

TEST(reload_keeps_leases_of_unchanged_pools)
{
	struct config *c = cfg(" p { addrs = 10.10.0.0/24 }\n q { addrs = 10.40.0.0/24 }\n");
	struct config *c2 = cfg(" p { addrs = 10.10.0.0/24 }\n q { addrs = 10.41.0.0/24 }\n"
				" r { addrs = 10.50.0.0/24 }\n");
	struct pool_set *ps = pool_set_new();
	struct seen s = { 0 };

	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, c2);
	ASSERT_EQ(0, pool_set_apply(ps, c));
	EXPECT_STREQ("10.10.0.1", get(ps, "p", "fqdn:a"));
	EXPECT_STREQ("10.10.0.2", get(ps, "p", "fqdn:b"));
	EXPECT_STREQ("10.40.0.1", get(ps, "q", "fqdn:a"));
	ASSERT_EQ(0, pool_set_apply(ps, c2));
	pool_leases(ps, count, &s);
	EXPECT_STREQ("p 10.10.0.1 fqdn:a 1; p 10.10.0.2 fqdn:b 1", s.text);
	EXPECT_STREQ("10.10.0.3", get(ps, "p", "fqdn:c"));
	EXPECT_STREQ("10.41.0.1", get(ps, "q", "fqdn:b"));
	EXPECT_STREQ("10.50.0.1", get(ps, "r", "fqdn:b"));
	/* a's lease of the old q went with it */
	EXPECT_FALSE(put(ps, "q", "fqdn:a"));
	ASSERT_EQ(0, pool_set_apply(ps, c2));	/* applied twice: the same */
	EXPECT_STREQ("10.10.0.2", get(ps, "p", "fqdn:b"));
	pool_set_free(ps);
	config_free(c);
	config_free(c2);
}

TEST_HARNESS_MAIN
