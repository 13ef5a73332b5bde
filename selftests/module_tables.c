// SPDX-License-Identifier: GPL-2.0
/*
 * tcpike.ko's per-namespace tables at size (VM, module loaded): thousands
 * of SAs, policies and keepalives, each test in a namespace of its own
 * (unshared here, so its end also exercises namespace exit with entries
 * live).
 *
 *  - every SA and policy is listed exactly once by a dump spanning many
 *    buffers, also after half of them are deleted;
 *  - the module's count follows creates and deletes;
 *  - an SA or a policy deleted behind the module's back (`ip xfrm ...
 *    flush`) can be created again, and is then counted once;
 *  - setting a keepalive twice updates it instead of adding a second one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kselftest_harness.h"
#include "tcpike_nl.h"

#define NSAS		3000
#define NPOLICIES	1500
#define NKEEPALIVES	5000
/* Each test's limit: the harness's default 30 s was too short for 3000 SAs
 * under KASAN on a loaded 2-CPU emulated host (make check-debug,
 * 2026-12-06); the VM run's own budget bounds the whole script. */
#define TABLES_TIMEOUT	300

static void v4(struct sockaddr_storage *ss, uint32_t host_addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(host_addr);
}

/* 10.64.0.0/10: one peer address per index. */
static uint32_t peer(unsigned int i)
{
	return 0x0a400001u + i;
}

FIXTURE(tables) {
	struct tnl t;
	uint8_t key[20];
	struct kb_sa sa;
};

FIXTURE_SETUP(tables)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, tnl_open(&self->t)) TH_LOG("%s", self->t.error);
	memset(self->key, 7, sizeof(self->key));
	memset(&self->sa, 0, sizeof(self->sa));
	self->sa.mode = KB_MODE_TUNNEL;
	self->sa.reqid = 3;
	self->sa.replay_window = 32;
	snprintf(self->sa.aead, sizeof(self->sa.aead), "rfc4106(gcm(aes))");
	self->sa.aead_icv_bits = 128;
	self->sa.enc_key = self->key;
	self->sa.enc_key_len = sizeof(self->key);
	v4(&self->sa.src, 0x0a000001);
}

FIXTURE_TEARDOWN(tables)
{
	tnl_close(&self->t);
}

static int sa_new(struct __test_metadata *_metadata, FIXTURE_DATA(tables) *self,
		  unsigned int i)
{
	v4(&self->sa.dst, peer(i));
	self->sa.spi = htonl(0x10000u + i);
	return tnl_sa_new(&self->t, &self->sa);
}

static uint32_t count_sas(FIXTURE_DATA(tables) *self)
{
	struct tnl_stats st;

	return tnl_stats_get(&self->t, &st) ? ~0u : st.sas;
}

/* Dumps and checks that exactly the SAs with want(i) are listed, once. */
static void check_sa_dump(struct __test_metadata *_metadata, FIXTURE_DATA(tables) *self,
			  int (*want)(unsigned int i))
{
	unsigned char seen[NSAS] = { 0 };
	struct tnl_sa_info *info = NULL;
	size_t n = 0, k, expect = 0;
	unsigned int i;

	ASSERT_EQ(0, tnl_sa_dump(&self->t, &info, &n)) TH_LOG("%s", self->t.error);
	for (k = 0; k < n; k++) {
		i = ntohl(info[k].spi) - 0x10000u;
		ASSERT_LT(i, NSAS) TH_LOG("unknown SPI 0x%08x", ntohl(info[k].spi));
		EXPECT_EQ(0, seen[i]) TH_LOG("SPI 0x%08x listed twice", ntohl(info[k].spi));
		EXPECT_EQ(0, info[k].has_key);
		seen[i] = 1;
	}
	for (i = 0; i < NSAS; i++) {
		EXPECT_EQ(want(i), seen[i]) TH_LOG("SA %u", i);
		expect += want(i);
	}
	EXPECT_EQ(expect, n);
	free(info);
}

static int all(unsigned int i)
{
	return 1;
}

static int even(unsigned int i)
{
	return !(i % 2);
}

TEST_F_TIMEOUT(tables, sa_dump_and_delete, TABLES_TIMEOUT)
{
	struct sockaddr_storage dst;
	unsigned int i;

	for (i = 0; i < NSAS; i++)
		ASSERT_EQ(0, sa_new(_metadata, self, i)) TH_LOG("SA %u: %s", i, self->t.error);
	EXPECT_EQ(NSAS, count_sas(self));
	EXPECT_EQ(-EEXIST, sa_new(_metadata, self, NSAS / 2));
	check_sa_dump(_metadata, self, all);
	for (i = 1; i < NSAS; i += 2) {
		v4(&dst, peer(i));
		ASSERT_EQ(0, tnl_sa_del(&self->t, &dst, htonl(0x10000u + i)))
			TH_LOG("SA %u: %s", i, self->t.error);
	}
	EXPECT_EQ(NSAS / 2, count_sas(self));
	check_sa_dump(_metadata, self, even);
	v4(&dst, peer(1));
	EXPECT_EQ(-ENOENT, tnl_sa_del(&self->t, &dst, htonl(0x10001u)));
	/* The rest is left for namespace exit to remove. */
}

TEST_F_TIMEOUT(tables, sa_deleted_behind_the_module, TABLES_TIMEOUT)
{
	ASSERT_EQ(0, sa_new(_metadata, self, 0)) TH_LOG("%s", self->t.error);
	ASSERT_EQ(0, sa_new(_metadata, self, 1)) TH_LOG("%s", self->t.error);
	EXPECT_EQ(-EEXIST, sa_new(_metadata, self, 0));
	ASSERT_EQ(0, system("ip xfrm state flush"));
	/* The module heard of the flush (a key manager) and forgot both. */
	EXPECT_EQ(0, count_sas(self));
	EXPECT_EQ(0, sa_new(_metadata, self, 0)) TH_LOG("%s", self->t.error);
	EXPECT_EQ(1, count_sas(self));
	EXPECT_EQ(-EEXIST, sa_new(_metadata, self, 0));
	EXPECT_EQ(0, system("test \"$(ip xfrm state | grep -c '^src')\" = 1"));
}

static void policy(struct kb_policy *p, unsigned int i)
{
	memset(p, 0, sizeof(*p));
	p->dir = KB_DIR_OUT;
	p->sel.family = AF_INET;
	v4(&p->sel.src, 0xc0a80100);
	p->sel.src_plen = 24;
	v4(&p->sel.dst, peer(i));
	p->sel.dst_plen = 32;
	p->reqid = 3;
	p->mode = KB_MODE_TUNNEL;
	v4(&p->tmpl_src, 0x0a000001);
	v4(&p->tmpl_dst, peer(i));
}

TEST_F_TIMEOUT(tables, policy_dump_and_delete, TABLES_TIMEOUT)
{
	unsigned char seen[NPOLICIES] = { 0 };
	struct tnl_policy_info *info = NULL;
	struct tnl_stats st;
	struct kb_policy p;
	size_t n = 0, k;
	unsigned int i;

	for (i = 0; i < NPOLICIES; i++) {
		policy(&p, i);
		ASSERT_EQ(0, tnl_policy_new(&self->t, &p)) TH_LOG("policy %u: %s", i, self->t.error);
	}
	ASSERT_EQ(0, tnl_policy_dump(&self->t, &info, &n)) TH_LOG("%s", self->t.error);
	EXPECT_EQ(NPOLICIES, n);
	for (k = 0; k < n; k++) {
		i = ntohl(((struct sockaddr_in *)&info[k].sel.dst)->sin_addr.s_addr) - peer(0);
		ASSERT_LT(i, NPOLICIES);
		EXPECT_EQ(0, seen[i]) TH_LOG("policy %u listed twice", i);
		seen[i] = 1;
	}
	free(info);
	for (i = 0; i < NPOLICIES; i += 2) {
		policy(&p, i);
		ASSERT_EQ(0, tnl_policy_del(&self->t, &p)) TH_LOG("policy %u: %s", i, self->t.error);
	}
	ASSERT_EQ(0, tnl_stats_get(&self->t, &st));
	EXPECT_EQ(NPOLICIES / 2, st.policies);
	policy(&p, 0);
	EXPECT_EQ(-ENOENT, tnl_policy_del(&self->t, &p));
}

TEST_F_TIMEOUT(tables, policy_deleted_behind_the_module, TABLES_TIMEOUT)
{
	struct tnl_stats st;
	struct kb_policy p;

	policy(&p, 0);
	ASSERT_EQ(0, tnl_policy_new(&self->t, &p)) TH_LOG("%s", self->t.error);
	EXPECT_EQ(-EEXIST, tnl_policy_new(&self->t, &p));
	ASSERT_EQ(0, system("ip xfrm policy flush"));
	EXPECT_EQ(0, tnl_policy_new(&self->t, &p)) TH_LOG("%s", self->t.error);
	ASSERT_EQ(0, tnl_stats_get(&self->t, &st));
	EXPECT_EQ(1, st.policies);
	EXPECT_EQ(0, tnl_policy_del(&self->t, &p)) TH_LOG("%s", self->t.error);
	EXPECT_EQ(-ENOENT, tnl_policy_del(&self->t, &p));
	ASSERT_EQ(0, tnl_stats_get(&self->t, &st));
	EXPECT_EQ(0, st.policies);
	EXPECT_EQ(0, system("test -z \"$(ip xfrm policy)\""));
}

TEST_F_TIMEOUT(tables, keepalives_set_update_remove, TABLES_TIMEOUT)
{
	struct sockaddr_storage local, remote;
	struct tnl_stats st;
	unsigned int i;

	v4(&local, 0x0a000001);
	for (i = 0; i < NKEEPALIVES; i++) {
		v4(&remote, peer(i));
		ASSERT_EQ(0, tnl_keepalive_set(&self->t, &local, &remote, 4500, 4500, 20))
			TH_LOG("peer %u: %s", i, self->t.error);
	}
	/* Set again: an update, not a second entry. */
	for (i = 0; i < NKEEPALIVES; i += 10) {
		v4(&remote, peer(i));
		ASSERT_EQ(0, tnl_keepalive_set(&self->t, &local, &remote, 4500, 4500, 30));
	}
	v4(&remote, peer(0));
	ASSERT_EQ(0, tnl_keepalive_set(&self->t, &local, &remote, 4500, 4501, 20));
	ASSERT_EQ(0, tnl_stats_get(&self->t, &st));
	EXPECT_EQ(NKEEPALIVES + 1, st.keepalives);
	for (i = 0; i < NKEEPALIVES; i += 2) {
		v4(&remote, peer(i));
		ASSERT_EQ(0, tnl_keepalive_set(&self->t, &local, &remote, 4500, 4500, 0))
			TH_LOG("peer %u: %s", i, self->t.error);
	}
	v4(&remote, peer(0));
	EXPECT_EQ(-ENOENT, tnl_keepalive_set(&self->t, &local, &remote, 4500, 4500, 0));
	ASSERT_EQ(0, tnl_stats_get(&self->t, &st));
	EXPECT_EQ(NKEEPALIVES / 2 + 1, st.keepalives);
}

TEST_HARNESS_MAIN
