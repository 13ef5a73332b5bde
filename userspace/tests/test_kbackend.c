// SPDX-License-Identifier: GPL-2.0
/* The "none" backend: SAs and policies kept, duplicates and unknown
 * entries refused with a sentence, steering recorded, names checked; the
 * xfrm backend's reading of XFRM's notifications. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
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

/* An out policy 192.168.1.0/24 -> 192.168.2.0/24 through 10.0.0.1 ->
 * 10.0.0.2 for reqid. */
static void out_policy(struct kb_policy *p, uint32_t reqid)
{
	memset(p, 0, sizeof(*p));
	p->dir = KB_DIR_OUT;
	p->sel.family = AF_INET;
	ip4(&p->sel.src, "192.168.1.0");
	ip4(&p->sel.dst, "192.168.2.0");
	p->sel.src_plen = p->sel.dst_plen = 24;
	p->reqid = reqid;
	ip4(&p->tmpl_src, "10.0.0.1");
	ip4(&p->tmpl_dst, "10.0.0.2");
}

/* Policies shared by Child SAs (kbackend.c): the backend gets one add for
 * identical selectors, direction, reqid and tunnel, and one delete with
 * the last reference; another reqid or tunnel on the same selectors is
 * refused with a sentence; a failed backend add counts nothing. */
TEST(shared_policies)
{
	struct kbackend *kb = kbackend_open("none");
	struct kb_policy pol, other, in;
	size_t ns, np;

	ASSERT_NE(NULL, kb);
	out_policy(&pol, 7);
	in = pol;
	in.dir = KB_DIR_IN;
	EXPECT_EQ(0, kb_policy_holder(kb, &pol));
	EXPECT_EQ(0, kb_policy_owner(kb, &pol));
	ASSERT_EQ(0, kb_policy_add(kb, &pol));
	ASSERT_EQ(0, kb_policy_add(kb, &in));
	ASSERT_EQ(0, kb_policy_add(kb, &pol));	/* a second Child SA */
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(2, np);
	EXPECT_EQ(2, kb_reqid_policies(kb, 7));
	other = pol;
	other.reqid = 0;	/* not compared */
	EXPECT_EQ(7, kb_policy_holder(kb, &other));
	ip4(&other.tmpl_dst, "10.0.0.3");	/* another tunnel */
	EXPECT_EQ(0, kb_policy_holder(kb, &other));
	EXPECT_EQ(7, kb_policy_owner(kb, &other));	/* who has them, to name it */
	other.reqid = 7;
	EXPECT_EQ(-EEXIST, kb_policy_add(kb, &other));
	EXPECT_NE(NULL, strstr(kb->kb_error, "held by reqid 7"));
	other = pol;
	other.reqid = 8;
	EXPECT_EQ(-EEXIST, kb_policy_add(kb, &other));
	EXPECT_EQ(0, kb_reqid_policies(kb, 8));
	/* the first delete only drops a reference */
	ASSERT_EQ(0, kb_policy_del(kb, &pol));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(2, np);
	ASSERT_EQ(0, kb_policy_del(kb, &pol));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(1, np);
	EXPECT_EQ(1, kb_reqid_policies(kb, 7));
	EXPECT_EQ(0, kb_policy_holder(kb, &pol));
	/* a policy the backend already has (not through kb_policy_add):
	 * its refusal counts nothing */
	ASSERT_EQ(0, kb->ops->policy_add(kb, &pol));
	EXPECT_EQ(-EEXIST, kb_policy_add(kb, &pol));
	EXPECT_EQ(0, kb_policy_holder(kb, &pol));
	ASSERT_EQ(0, kb_policy_del(kb, &pol));	/* passed through */
	ASSERT_EQ(0, kb_policy_del(kb, &in));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(0, np);
	EXPECT_EQ(0, kb_reqid_policies(kb, 7));
	EXPECT_EQ(-ENOENT, kb_policy_del(kb, &in));
	/* left at close: freed with the backend (ASan) */
	ASSERT_EQ(0, kb_policy_add(kb, &in));
	kbackend_close(kb);
}

/* A trap's policies and the Child SA that answers its acquire (trap.c):
 * the Child SA finds the trap's reqid as the holder of its policies,
 * takes it, and adds a reference to each; its delete leaves the trap's
 * policies in the backend, the trap's removal takes them out. */
TEST(trap_and_child_share_policies)
{
	struct kbackend *kb = kbackend_open("none");
	struct kb_policy trap[3] = { { 0 } }, child;
	size_t ns, np;
	int d;

	ASSERT_NE(NULL, kb);
	for (d = 0; d < 3; d++) {
		bool out = d == KB_DIR_OUT;

		trap[d].dir = (enum kb_dir)d;
		trap[d].sel.family = AF_INET;
		ip4(&trap[d].sel.src, out ? "192.168.1.0" : "192.168.2.0");
		ip4(&trap[d].sel.dst, out ? "192.168.2.0" : "192.168.1.0");
		trap[d].sel.src_plen = trap[d].sel.dst_plen = 24;
		trap[d].reqid = 3;
		ip4(&trap[d].tmpl_src, out ? "10.0.0.1" : "10.0.0.2");
		ip4(&trap[d].tmpl_dst, out ? "10.0.0.2" : "10.0.0.1");
		ASSERT_EQ(0, kb_policy_add(kb, &trap[d]));
	}
	EXPECT_EQ(3, kb_reqid_policies(kb, 3));
	/* the Child SA: same selectors and tunnel, reqid not chosen yet */
	for (d = 0; d < 3; d++) {
		child = trap[d];
		child.reqid = 0;
		EXPECT_EQ(3, kb_policy_holder(kb, &child));
		child.reqid = kb_policy_holder(kb, &child);
		ASSERT_EQ(0, kb_policy_add(kb, &child));
	}
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(3, np);		/* one policy each, shared */
	EXPECT_EQ(3, kb_reqid_policies(kb, 3));
	/* the Child SA deleted (or rekeyed away): the trap's stay */
	for (d = 0; d < 3; d++)
		ASSERT_EQ(0, kb_policy_del(kb, &trap[d]));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(3, np);
	EXPECT_EQ(3, kb_policy_holder(kb, &trap[KB_DIR_OUT]));
	/* the trap removed: the last reference takes them out */
	for (d = 0; d < 3; d++)
		ASSERT_EQ(0, kb_policy_del(kb, &trap[d]));
	kb_none_counts(kb, &ns, &np);
	EXPECT_EQ(0, np);
	EXPECT_EQ(0, kb_reqid_policies(kb, 3));
	EXPECT_EQ(0, kb_policy_holder(kb, &trap[KB_DIR_OUT]));
	kbackend_close(kb);
}

/* The priority the none backend holds for the out policy of sel (dump). */
static long dumped_priority(struct kbackend *kb, const char *sel)
{
	struct buf dump = BUF_INIT;
	const char *l;
	long prio = -1;

	if (!kb_none_dump(kb, &dump) && !buf_put_u8(&dump, 0)) {
		l = strstr((char *)dump.data, sel);
		l = l ? strstr(l, " priority ") : NULL;
		if (l)
			prio = strtol(l + 10, NULL, 10);
	}
	buf_free(&dump);
	return prio;
}

/* The dump of kb (none) holds s. */
static bool dump_has(struct kbackend *kb, const char *s)
{
	struct buf dump = BUF_INIT;
	bool has = !kb_none_dump(kb, &dump) && !buf_put_u8(&dump, 0) &&
		   strstr((char *)dump.data, s);

	buf_free(&dump);
	return has;
}

/* One half of a tunnel-mode Child SA 10.0.0.1 <-> 10.0.0.2, reqid 7. */
static void move_sa(struct kbackend *kb, uint32_t spi, bool in)
{
	uint8_t key[20] = { 1 };
	struct kb_sa sa = { 0 };

	sa.spi = htonl(spi);
	sa.reqid = 7;
	ip4(&sa.src, in ? "10.0.0.2" : "10.0.0.1");
	ip4(&sa.dst, in ? "10.0.0.1" : "10.0.0.2");
	strcpy(sa.aead, "rfc4106(gcm(aes))");
	sa.enc_key = key;
	sa.enc_key_len = sizeof(key);
	sa.encap = KB_ENCAP_UDP;
	sa.encap_sport = 4500;
	sa.encap_dport = 4500;
	sa.inbound = in;
	kb->ops->sa_add(kb, &sa);
}

/*
 * A Child SA moved to the peer's new address (kb_child_move, RFC 7296
 * §2.23): both halves keep their SPIs and go to the new addresses and
 * ports, the policies' templates follow, and the shared records with them
 * (the policies' holder is now found by the new tunnel, not the old); a
 * second Child SA sharing the policies moves its SAs only.  A move naming
 * an SA that is not there moves nothing at all.
 */
TEST(child_move_takes_sas_and_templates)
{
	struct kbackend *kb = kbackend_open("none");
	struct kb_policy pols[2], moved;
	struct kb_move m;

	ASSERT_NE(NULL, kb);
	out_policy(&pols[0], 7);
	pols[1] = pols[0];
	pols[1].dir = KB_DIR_IN;
	pols[1].sel.src = pols[0].sel.dst;
	pols[1].sel.dst = pols[0].sel.src;
	pols[1].tmpl_src = pols[0].tmpl_dst;
	pols[1].tmpl_dst = pols[0].tmpl_src;
	for (int k = 0; k < 2; k++) {	/* two Child SAs share them */
		ASSERT_EQ(0, kb_policy_add(kb, &pols[0]));
		ASSERT_EQ(0, kb_policy_add(kb, &pols[1]));
	}
	move_sa(kb, 0x1001, true);
	move_sa(kb, 0x2001, false);
	move_sa(kb, 0x1002, true);
	move_sa(kb, 0x2002, false);
	memset(&m, 0, sizeof(m));
	m.reqid = 7;
	m.spi_in = htonl(0x1001);
	m.spi_out = htonl(0x2001);
	ip4(&m.old_local, "10.0.0.1");
	ip4(&m.old_remote, "10.0.0.2");
	m.local = m.old_local;
	ip4(&m.remote, "10.0.0.9");
	m.encap = KB_ENCAP_UDP;
	m.lport = 4500;
	m.rport = 40001;
	m.old_lport = m.old_rport = 4500;
	m.pols = pols;
	m.n_pols = 2;
	/* an SA that is not there: nothing moves */
	m.spi_out = htonl(0x2009);
	EXPECT_EQ(-ENOENT, kb_child_move(kb, &m));
	EXPECT_NE(NULL, strstr(kb->kb_error, "0x00002009"));
	EXPECT_FALSE(dump_has(kb, "10.0.0.9"));
	EXPECT_EQ(7, kb_policy_holder(kb, &pols[0]));
	m.spi_out = htonl(0x2001);
	ASSERT_EQ(0, kb_child_move(kb, &m));
	EXPECT_TRUE(dump_has(kb, "sa in spi 0x00001001 10.0.0.9 -> 10.0.0.1 rfc4106(gcm(aes)) encap udp 40001 -> 4500"));
	EXPECT_TRUE(dump_has(kb, "sa out spi 0x00002001 10.0.0.1 -> 10.0.0.9 rfc4106(gcm(aes)) encap udp 4500 -> 40001"));
	EXPECT_TRUE(dump_has(kb, "sa in spi 0x00001002 10.0.0.2 -> 10.0.0.1"));
	EXPECT_TRUE(dump_has(kb, "tmpl 10.0.0.1 -> 10.0.0.9\n"));
	EXPECT_TRUE(dump_has(kb, "tmpl 10.0.0.9 -> 10.0.0.1\n"));
	EXPECT_FALSE(dump_has(kb, "tmpl 10.0.0.1 -> 10.0.0.2\n"));
	EXPECT_EQ(0, kb_policy_holder(kb, &pols[0]));
	moved = pols[0];
	moved.tmpl_dst = m.remote;
	EXPECT_EQ(7, kb_policy_holder(kb, &moved));
	/* the second: its policies moved with the first */
	m.spi_in = htonl(0x1002);
	m.spi_out = htonl(0x2002);
	ASSERT_EQ(0, kb_child_move(kb, &m));
	EXPECT_FALSE(dump_has(kb, "10.0.0.2"));
	/* deleted where they are now */
	EXPECT_EQ(0, kb->ops->sa_del(kb, &m.remote, htonl(0x2001)));
	EXPECT_EQ(-ENOENT, kb->ops->sa_del(kb, &m.old_remote, htonl(0x2002)));
	kbackend_close(kb);
}

/* A policy shared by a trap and Child SAs has the best priority any of
 * its holders asked for (lower wins in XFRM), as strongSwan does: the
 * Child SA's while one lives, the trap's again when the last goes, each
 * change one update at the backend. */
TEST(shared_policy_takes_the_best_priority)
{
	struct kbackend *kb = kbackend_open("none");
	/* add or delete the trap's or an SA's reference: the priority after */
	static const struct {
		bool add, sa;
		long prio;
	} steps[] = {
		{ true, false, 3001 }, { true, true, 3000 },
		{ true, true, 3000 }, { false, true, 3000 },	/* make-before-break */
		{ false, true, 3001 },
		/* the trap's reference dropped and taken again while the
		 * Child SA's lives: the Child SA's priority stays */
		{ true, true, 3000 }, { false, false, 3000 }, { true, false, 3000 },
		{ false, true, 3001 }, { false, false, -1 },
	};
	struct kb_policy trap, sa;
	const char *sel = "policy out 192.168.1.0/24 -> 192.168.2.0/24";

	ASSERT_NE(NULL, kb);
	out_policy(&trap, 3);
	trap.priority = 3001;
	sa = trap;
	sa.priority = 3000;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct kb_policy *p = steps[i].sa ? &sa : &trap;

		ASSERT_EQ(0, steps[i].add ? kb_policy_add(kb, p) : kb_policy_del(kb, p));
		EXPECT_EQ(steps[i].prio, dumped_priority(kb, sel)) TH_LOG("step %zu", i);
	}
	EXPECT_EQ(0, kb_reqid_policies(kb, 3));
	kbackend_close(kb);
}

/* The test hooks: every request recorded with its fields but no key
 * bytes; inbound ESP simulated only on the listed encapsulations. */
TEST(none_record_and_simulated_esp)
{
	char path[] = "/tmp/tcpike-kbrec.XXXXXX", text[4096] = "";
	struct kbackend *kb;
	struct kb_sa sa = { 0 };
	struct kb_stats st;
	uint8_t key[36];
	ssize_t k;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	memset(key, 0xab, sizeof(key));
	setenv("TCPIKE_KB_NONE_RECORD", path, 1);
	setenv("TCPIKE_KB_NONE_ESP", "udp", 1);
	kb = kbackend_open("none");
	unsetenv("TCPIKE_KB_NONE_RECORD");
	unsetenv("TCPIKE_KB_NONE_ESP");
	ASSERT_NE(NULL, kb);
	EXPECT_TRUE(kb_none_esp_simulated(kb));
	sa.spi = htonl(0x0a0b0c0d);
	sa.inbound = true;
	sa.replay_window = 32;
	ip4(&sa.src, "10.0.0.2");
	ip4(&sa.dst, "10.0.0.1");
	strcpy(sa.aead, "rfc4106(gcm(aes))");
	sa.aead_icv_bits = 128;
	sa.enc_key = key;
	sa.enc_key_len = sizeof(key);
	ASSERT_EQ(0, kb->ops->sa_add(kb, &sa));
	usleep(300 * 1000);
	ASSERT_EQ(0, kb->ops->sa_stats(kb, &sa.dst, sa.spi, &st));
	EXPECT_EQ(0, st.packets);	/* on IP: never arrives */
	ASSERT_EQ(0, kb->ops->sa_steer(kb, &sa.dst, sa.spi, KB_ENCAP_UDP, 4500, 40001));
	ASSERT_EQ(0, kb->ops->sa_stats(kb, &sa.dst, sa.spi, &st));
	EXPECT_EQ(0, st.packets);	/* not yet: 250 ms after the move */
	usleep(300 * 1000);
	ASSERT_EQ(0, kb->ops->sa_stats(kb, &sa.dst, sa.spi, &st));
	EXPECT_LE(1, st.packets);
	ASSERT_EQ(0, kb->ops->sa_del(kb, &sa.dst, sa.spi));
	kbackend_close(kb);
	k = read(fd, text, sizeof(text) - 1);
	ASSERT_LT(0, k);
	close(fd);
	unlink(path);
	EXPECT_NE(NULL, strstr(text, "sa-add in spi 0x0a0b0c0d src 10.0.0.2 dst 10.0.0.1 "));
	EXPECT_NE(NULL, strstr(text, " aead rfc4106(gcm(aes)) icv 128 "));
	EXPECT_NE(NULL, strstr(text, " enc_key_len 36 "));
	EXPECT_NE(NULL, strstr(text, " replay 32 "));
	EXPECT_NE(NULL, strstr(text, " encap raw 0 0\n"));
	EXPECT_NE(NULL, strstr(text, "\nsa-steer spi 0x0a0b0c0d dst 10.0.0.1 encap udp 4500 40001\n"));
	EXPECT_NE(NULL, strstr(text, "\nsa-del spi 0x0a0b0c0d dst 10.0.0.1\n"));
	EXPECT_EQ(NULL, strstr(text, "abab"));	/* no key bytes */
	/* without the hooks: nothing simulated */
	kb = kbackend_open("none");
	ASSERT_NE(NULL, kb);
	EXPECT_FALSE(kb_none_esp_simulated(kb));
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

/* auto is the module or XFRM, never none: where neither works (this
 * host without esp4, or without xfrm_user) it fails, and tcpiked with it;
 * the control plane alone is only had by writing none. */
TEST(auto_is_never_none)
{
	struct kbackend *kb = kbackend_open("auto");

	if (kb)
		EXPECT_NE(KB_NONE, kb->kind);
	kbackend_close(kb);
	kb = kbackend_open("none");
	ASSERT_NE(NULL, kb);
	EXPECT_EQ(KB_NONE, kb->kind);
	kbackend_close(kb);
}

/* An ESP acquire from 10.0.0.1 to 10.0.0.2 in the zeroed buffer h for a
 * packet from src to dst of protocol proto (host selector): an XFRMA_MARK
 * of pad bytes first when pad is not 0, then its XFRMA_TMPL (*at, *t:
 * IPv4, reqid 0). */
static struct xfrm_user_acquire *acquire_msg(struct nlmsghdr *h, const char *src, const char *dst,
					     uint8_t proto, size_t pad, struct nlattr **at,
					     struct xfrm_user_tmpl **t)
{
	struct xfrm_user_acquire *a = NLMSG_DATA(h);
	unsigned char *p = (unsigned char *)a + NLMSG_ALIGN(sizeof(*a));
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	a->sel.family = (uint16_t)af;
	inet_pton(af, src, &a->sel.saddr);
	inet_pton(af, dst, &a->sel.daddr);
	a->sel.prefixlen_s = a->sel.prefixlen_d = af == AF_INET ? 32 : 128;
	a->sel.proto = proto;

	h->nlmsg_type = XFRM_MSG_ACQUIRE;
	h->nlmsg_len = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*a)) + (pad ? NLA_HDRLEN + pad : 0) +
				    NLA_HDRLEN + sizeof(**t));
	a->id.proto = IPPROTO_ESP;
	inet_pton(AF_INET, "10.0.0.2", &a->id.daddr.a4);
	inet_pton(AF_INET, "10.0.0.1", &a->saddr.a4);
	if (pad) {
		((struct nlattr *)p)->nla_type = XFRMA_MARK;
		((struct nlattr *)p)->nla_len = (uint16_t)(NLA_HDRLEN + pad);
		p += NLA_HDRLEN + pad;
	}
	*at = (struct nlattr *)p;
	(*at)->nla_type = XFRMA_TMPL;
	(*at)->nla_len = NLA_HDRLEN + sizeof(**t);
	*t = (struct xfrm_user_tmpl *)(p + NLA_HDRLEN);
	(*t)->family = AF_INET;
	return a;
}

/* XFRM's own notifications as the xfrm backend's event source reads
 * them: the SA by SPI and destination, hard or soft, the NAT's new
 * address and port, the acquire's selector and reqid (from XFRMA_TMPL);
 * a message cut short or of another protocol is refused. */
TEST(xfrm_event_parse)
{
	union {
		struct nlmsghdr h;
		unsigned char b[1024];
	} u;
	struct xfrm_user_expire *x;
	struct xfrm_user_mapping *m;
	struct xfrm_user_acquire *a;
	struct nlattr *at;
	struct xfrm_user_tmpl *t;
	struct kb_event ev;
	char s[64];

	memset(&u, 0, sizeof(u));
	u.h.nlmsg_type = XFRM_MSG_EXPIRE;
	u.h.nlmsg_len = NLMSG_LENGTH(sizeof(*x));
	x = NLMSG_DATA(&u.h);
	x->state.id.spi = htonl(0xc0ffee01);
	x->state.id.proto = IPPROTO_ESP;
	x->state.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", &x->state.id.daddr.a4);
	inet_pton(AF_INET, "10.0.0.1", &x->state.saddr.a4);
	x->hard = 0;
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_EQ(KB_EV_EXPIRE, ev.kind);
	EXPECT_EQ(htonl(0xc0ffee01), ev.spi);
	EXPECT_FALSE(ev.hard);
	EXPECT_STREQ("10.0.0.2", addr_str(&ev.dst, s, sizeof(s)));
	EXPECT_STREQ("10.0.0.1", addr_str(&ev.src, s, sizeof(s)));
	x->hard = 1;
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_TRUE(ev.hard);
	EXPECT_EQ(-EPROTO, kb_xfrm_parse_event(&u, u.h.nlmsg_len - 1, &ev));
	u.h.nlmsg_len--;
	EXPECT_EQ(-EPROTO, kb_xfrm_parse_event(&u, sizeof(u), &ev));
	u.h.nlmsg_len++;
	x->state.id.proto = IPPROTO_AH;
	EXPECT_EQ(-EPROTO, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));

	memset(&u, 0, sizeof(u));
	u.h.nlmsg_type = XFRM_MSG_MAPPING;
	u.h.nlmsg_len = NLMSG_LENGTH(sizeof(*m));
	m = NLMSG_DATA(&u.h);
	m->id.spi = htonl(0x1234);
	m->id.proto = IPPROTO_ESP;
	m->id.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", &m->id.daddr.a4);
	inet_pton(AF_INET, "10.1.0.1", &m->old_saddr.a4);
	inet_pton(AF_INET, "10.1.0.1", &m->new_saddr.a4);
	m->old_sport = htons(4500);
	m->new_sport = htons(40003);
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_EQ(KB_EV_MAPPING, ev.kind);
	EXPECT_EQ(htonl(0x1234), ev.spi);
	EXPECT_STREQ("10.1.0.1:40003", addr_port_str(&ev.new_remote, s, sizeof(s)));
	EXPECT_EQ(4500, ev.old_port);

	memset(&u, 0, sizeof(u));
	acquire_msg(&u.h, "192.168.1.5", "192.168.2.7", IPPROTO_ICMP, 0, &at, &t);
	t->reqid = 77;
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_EQ(KB_EV_ACQUIRE, ev.kind);
	EXPECT_EQ(77, ev.reqid);
	EXPECT_STREQ("192.168.2.7", addr_str(&ev.sel.dst, s, sizeof(s)));
	EXPECT_EQ(IPPROTO_ICMP, ev.sel.proto);
	EXPECT_STREQ("10.0.0.2", addr_str(&ev.dst, s, sizeof(s)));
	/* an attribute longer than the message: no template, reqid 0 */
	at->nla_len = 200;
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_EQ(0, ev.reqid);

	/* IPv6 traffic of a trap whose tunnel is IPv4 (the template's
	 * family names the outer addresses), the template after another
	 * attribute, the packet's ports kept */
	memset(&u, 0, sizeof(u));
	a = acquire_msg(&u.h, "fd01::5", "fd02::7", IPPROTO_TCP, 8, &at, &t);
	a->sel.dport = htons(443);
	a->sel.dport_mask = 0xffff;
	t->reqid = 3;
	ASSERT_EQ(0, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
	EXPECT_EQ(KB_EV_ACQUIRE, ev.kind);
	EXPECT_EQ(3, ev.reqid);
	EXPECT_EQ(AF_INET6, ev.sel.family);
	EXPECT_STREQ("fd01::5", addr_str(&ev.sel.src, s, sizeof(s)));
	EXPECT_STREQ("fd02::7", addr_str(&ev.sel.dst, s, sizeof(s)));
	EXPECT_EQ(128, ev.sel.dst_plen);
	EXPECT_EQ(443, ev.sel.dport);
	EXPECT_EQ(0, ev.sel.sport);
	EXPECT_STREQ("10.0.0.1", addr_str(&ev.src, s, sizeof(s)));
	EXPECT_STREQ("10.0.0.2", addr_str(&ev.dst, s, sizeof(s)));
	/* an acquire for AH is not ours */
	a->id.proto = IPPROTO_AH;
	EXPECT_EQ(-EPROTO, kb_xfrm_parse_event(&u, u.h.nlmsg_len, &ev));
}

TEST_HARNESS_MAIN
