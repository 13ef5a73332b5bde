// SPDX-License-Identifier: GPL-2.0
/*
 * Typed IKEv2 payloads (payload.h): every encoder round-trips through the
 * message parser and its decoder; every malformed body is refused.
 */
#include <errno.h>
#include <string.h>

#include "payload.h"
#include "kselftest_harness.h"

static const struct ike_hdr hdr = {
	.spi_i = { 1, 2, 3, 4, 5, 6, 7, 8 },
	.exch = IKEV2_EXCH_IKE_AUTH,
	.flags = IKEV2_FLAG_INITIATOR,
	.msgid = 1,
};

/* A raw payload body as the chain parser would record it. */
static struct ike_pl raw(uint8_t type, const uint8_t *p, size_t len)
{
	struct ike_pl pl = { .type = type, .body = p, .len = (uint16_t)len };

	return pl;
}

static struct ike_sa_pl sa_in, sa_out;

TEST(sa_round_trip)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;

	int i, j;

	ike_sa_reset(&sa_in);
	ike_sa_add_prop(&sa_in, IKEV2_PROTO_IKE, NULL, 0);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_PRF, IKEV2_PRF_HMAC_SHA2_256, 0);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_KE, IKEV2_KE_CURVE25519, 0);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_KE, IKEV2_KE_ECP_256, 0);
	ike_sa_add_prop(&sa_in, IKEV2_PROTO_ESP, (const uint8_t *)"\xc0\xff\xee\x01", 4);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_ENCR, IKEV2_ENCR_CHACHA20_POLY1305, 0);
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0);
	msg_begin(&bld, &b, &hdr);
	ike_put_sa(&bld, &sa_in);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(1, m.n);
	ASSERT_EQ(0, ike_get_sa(&m.pl[0], &sa_out));
	ASSERT_EQ(2, sa_out.nprop);
	ASSERT_EQ(6, sa_out.npool);
	for (i = 0; i < 2; i++) {
		const struct ike_proposal *x = &sa_in.p[i], *y = &sa_out.p[i];

		ASSERT_EQ(x->num, y->num);
		ASSERT_EQ(x->proto, y->proto);
		ASSERT_EQ(x->spi_len, y->spi_len);
		ASSERT_EQ(0, memcmp(x->spi, y->spi, x->spi_len));
		ASSERT_EQ(x->ntrans, y->ntrans);
		for (j = 0; j < x->ntrans; j++)
			ASSERT_EQ(0, memcmp(&x->t[j], &y->t[j], sizeof(x->t[j])));
	}
	buf_free(&b);
}

TEST(simple_payloads_round_trip)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;
	uint8_t pub[32], nonce[32], addr[4] = { 192, 0, 2, 1 }, sig[64], hashes[40];
	struct ike_ke ke;
	struct ike_span sp;
	struct ike_typed t;
	struct ike_notify n;
	uint8_t spi[4] = { 0, 0, 0x10, 0x01 };

	memset(pub, 0x11, sizeof(pub));
	memset(nonce, 0x22, sizeof(nonce));
	memset(sig, 0x33, sizeof(sig));
	memset(hashes, 0x44, sizeof(hashes));
	msg_begin(&bld, &b, &hdr);
	ike_put_ke(&bld, IKEV2_KE_CURVE25519, pub, sizeof(pub));
	ike_put_nonce(&bld, nonce, sizeof(nonce));
	ike_put_id(&bld, IKEV2_PL_IDI, IKEV2_ID_IPV4_ADDR, addr, 4);
	ike_put_auth(&bld, IKEV2_AUTH_SHARED_KEY_MIC, sig, sizeof(sig));
	ike_put_cert(&bld, IKEV2_CERT_X509_SIG, sig, 10);
	ike_put_certreq(&bld, IKEV2_CERT_X509_SIG, hashes, sizeof(hashes));
	ike_put_notify(&bld, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
	ike_put_vendor(&bld, (const uint8_t *)"tcpike", 6);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(8, m.n);

	ASSERT_EQ(0, ike_get_ke(ike_msg_find(&m, IKEV2_PL_KE), &ke));
	ASSERT_EQ(IKEV2_KE_CURVE25519, ke.group);
	ASSERT_EQ(32, ke.data.len);
	ASSERT_EQ(0, memcmp(pub, ke.data.p, 32));
	ASSERT_EQ(0, ike_get_nonce(ike_msg_find(&m, IKEV2_PL_NONCE), &sp));
	ASSERT_EQ(0, memcmp(nonce, sp.p, sizeof(nonce)));
	ASSERT_EQ(0, ike_get_id(ike_msg_find(&m, IKEV2_PL_IDI), &t));
	ASSERT_EQ(IKEV2_ID_IPV4_ADDR, t.type);
	ASSERT_EQ(0, memcmp(addr, t.data.p, 4));
	ASSERT_EQ(0, ike_get_auth(ike_msg_find(&m, IKEV2_PL_AUTH), &t));
	ASSERT_EQ(IKEV2_AUTH_SHARED_KEY_MIC, t.type);
	ASSERT_EQ(sizeof(sig), t.data.len);
	ASSERT_EQ(0, ike_get_cert(ike_msg_find(&m, IKEV2_PL_CERT), &t));
	ASSERT_EQ(10, t.data.len);
	ASSERT_EQ(0, ike_get_certreq(ike_msg_find(&m, IKEV2_PL_CERTREQ), &t));
	ASSERT_EQ(40, t.data.len);
	ASSERT_EQ(0, ike_find_notify(&m, IKEV2_N_REKEY_SA, &n));
	ASSERT_EQ(IKEV2_PROTO_ESP, n.proto);
	ASSERT_EQ(0, memcmp(spi, n.spi, 4));
	ASSERT_EQ(-ENOENT, ike_find_notify(&m, IKEV2_N_COOKIE, &n));
	ASSERT_EQ(0, ike_get_vendor(ike_msg_find(&m, IKEV2_PL_VENDOR), &sp));
	ASSERT_EQ(0, memcmp("tcpike", sp.p, 6));
	buf_free(&b);
}

TEST(delete_ts_cp_round_trip)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;
	uint8_t spis[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ike_ts ts[2] = {
		{ IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 65535, { 10, 0, 0, 0 }, { 10, 0, 0, 255 } },
		{ IKEV2_TS_IPV6_ADDR_RANGE, 6, 443, 443, { 0x20, 0x01, 0x0d, 0xb8 },
		  { 0x20, 0x01, 0x0d, 0xb8, 0xff } },
	};
	static struct ike_ts_pl got;
	static struct ike_cp cp, cpo;
	struct ike_delete d;

	cp.cfg_type = IKEV2_CFG_REQUEST;
	cp.n = 2;
	cp.a[0].type = IKEV2_CP_INTERNAL_IP4_ADDRESS;
	cp.a[1].type = IKEV2_CP_INTERNAL_IP4_DNS;
	msg_begin(&bld, &b, &hdr);
	ike_put_delete(&bld, IKEV2_PROTO_ESP, 4, spis, 2);
	ike_put_ts(&bld, IKEV2_PL_TSI, ts, 2);
	ike_put_cp(&bld, &cp);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(0, ike_get_delete(ike_msg_find(&m, IKEV2_PL_DELETE), &d));
	ASSERT_EQ(2, d.nspi);
	ASSERT_EQ(0x01020304u, ike_delete_spi(&d, 0));
	ASSERT_EQ(0x05060708u, ike_delete_spi(&d, 1));
	ASSERT_EQ(0, ike_get_ts(ike_msg_find(&m, IKEV2_PL_TSI), &got));
	ASSERT_EQ(2, got.n);
	ASSERT_EQ(0, memcmp(ts, got.ts, sizeof(ts)));
	ASSERT_EQ(0, ike_get_cp(ike_msg_find(&m, IKEV2_PL_CP), &cpo));
	ASSERT_EQ(IKEV2_CFG_REQUEST, cpo.cfg_type);
	ASSERT_EQ(2, cpo.n);
	ASSERT_EQ(IKEV2_CP_INTERNAL_IP4_DNS, cpo.a[1].type);
	ASSERT_EQ(0, cpo.a[1].val.len);
	buf_free(&b);
}

TEST(sk_and_skf_headers)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;
	struct ike_skf f;
	struct ike_span sp;
	size_t off;
	uint8_t prot[24];

	memset(prot, 0x5c, sizeof(prot));
	msg_begin(&bld, &b, &hdr);
	off = ike_put_sk_header(&bld, IKEV2_PL_IDI);
	ASSERT_EQ(IKEV2_HDR_LEN, off);
	/* What crypto_sk_seal does: append, patch both lengths. */
	buf_append(&b, prot, sizeof(prot));
	buf_set_u16(&b, off + 2, (uint16_t)(b.len - off));
	buf_set_u32(&b, 24, (uint32_t)b.len);
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKEV2_PL_SK, m.hdr.next);
	ASSERT_EQ(IKEV2_PL_IDI, m.sk_next);
	ASSERT_EQ(0, ike_get_sk(m.sk, &sp));
	ASSERT_EQ(sizeof(prot), sp.len);

	buf_reset(&b);
	msg_begin(&bld, &b, &hdr);
	off = ike_put_skf_header(&bld, IKEV2_PL_IDI, 2, 3);
	buf_append(&b, prot, sizeof(prot));
	buf_set_u16(&b, off + 2, (uint16_t)(b.len - off));
	buf_set_u32(&b, 24, (uint32_t)b.len);
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(IKEV2_PL_NONE, m.sk_next);	/* not the first fragment */
	ASSERT_EQ(0, ike_get_skf(m.sk, &f));
	ASSERT_EQ(2, f.num);
	ASSERT_EQ(3, f.total);
	ASSERT_EQ(sizeof(prot), f.prot.len);
	msg_begin(&bld, &b, &hdr);
	ASSERT_EQ(SIZE_MAX, ike_put_skf_header(&bld, IKEV2_PL_IDI, 4, 3));
	buf_free(&b);
}

/* One ESP proposal; bytes patched by the tests below. */
static uint8_t sa_body[] = {
	0, 0, 0, 20,  1, IKEV2_PROTO_ESP, 4, 1,  0xaa, 0xbb, 0xcc, 0xdd,
	0, 0, 0, 8,  IKEV2_TRANS_ENCR, 0, 0, IKEV2_ENCR_AES_GCM_16,
};

TEST(sa_good_body)
{
	uint8_t p[sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(p));
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(0, ike_get_sa(&pl, &sa_out));
	ASSERT_EQ(1, sa_out.nprop);
}

TEST(sa_bad_proposal_numbering)
{
	uint8_t p[sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(p));
	p[4] = 2;	/* the first proposal must be number 1 */
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

/* A reply's one proposal carries the number it was offered under. */
TEST(sa_reply_numbering)
{
	uint8_t p[2 * sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(sa_body));
	p[4] = 5;
	pl = raw(IKEV2_PL_SA, p, sizeof(sa_body));
	ASSERT_EQ(0, ike_get_sa_reply(&pl, &sa_out));
	ASSERT_EQ(1, sa_out.nprop);
	ASSERT_EQ(5, sa_out.p[0].num);
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
	p[4] = 0;
	ASSERT_EQ(-EBADMSG, ike_get_sa_reply(&pl, &sa_out));
	/* two proposals (1 and 2) are an offer, not a reply */
	memcpy(p, sa_body, sizeof(sa_body));
	memcpy(p + sizeof(sa_body), sa_body, sizeof(sa_body));
	p[0] = 2;
	p[sizeof(sa_body) + 4] = 2;
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(0, ike_get_sa(&pl, &sa_out));
	ASSERT_EQ(-EBADMSG, ike_get_sa_reply(&pl, &sa_out));
}

/* What ike_put_sa sends is each proposal's num. */
TEST(sa_put_keeps_the_number)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;

	ike_sa_reset(&sa_in);
	ike_sa_add_prop(&sa_in, IKEV2_PROTO_ESP, (const uint8_t *)"\xc0\xff\xee\x01", 4)->num = 9;
	ike_sa_add_trans(&sa_in, IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	msg_begin(&bld, &b, &hdr);
	ike_put_sa(&bld, &sa_in);
	ASSERT_EQ(0, msg_finish(&bld));
	ASSERT_EQ(0, ike_msg_parse(b.data, b.len, &m));
	ASSERT_EQ(0, ike_get_sa_reply(&m.pl[0], &sa_out));
	ASSERT_EQ(9, sa_out.p[0].num);
	buf_free(&b);
}

TEST(sa_transform_length_mismatch)
{
	uint8_t p[sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(p));
	p[15] = 12;	/* transform claims 12 bytes, 8 present */
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
	memcpy(p, sa_body, sizeof(p));
	p[7] = 2;	/* two transforms counted, one present */
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

TEST(sa_spi_size_wrong_for_protocol)
{
	uint8_t p[sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(p));
	p[5] = IKEV2_PROTO_IKE;	/* IKE with a 4-byte SPI */
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

TEST(sa_more_marker_without_proposal)
{
	uint8_t p[sizeof(sa_body)];
	struct ike_pl pl;

	memcpy(p, sa_body, sizeof(p));
	p[0] = 2;	/* "more proposals" but none follows */
	pl = raw(IKEV2_PL_SA, p, sizeof(p));
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

TEST(sa_empty_rejected)
{
	struct ike_pl pl = raw(IKEV2_PL_SA, sa_body, 0);

	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

TEST(sa_unknown_attribute_marks_transform)
{
	uint8_t p[] = {
		0, 0, 0, 24,  1, IKEV2_PROTO_ESP, 4, 1,  1, 2, 3, 4,
		0, 0, 0, 12,  IKEV2_TRANS_ENCR, 0, 0, IKEV2_ENCR_AES_CBC,
		0x80, 99, 0, 1,		/* unknown TV attribute */
	};
	struct ike_pl pl = raw(IKEV2_PL_SA, p, sizeof(p));

	ASSERT_EQ(0, ike_get_sa(&pl, &sa_out));
	ASSERT_TRUE(sa_out.p[0].t[0].unknown_attr);
	p[20] = 0;	/* TLV of length 1 running past the transform */
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
	p[20] = 0;	/* KEY_LENGTH in TLV form is malformed */
	p[21] = IKEV2_ATTR_KEY_LENGTH;
	p[22] = 0;
	p[23] = 0;
	ASSERT_EQ(-EBADMSG, ike_get_sa(&pl, &sa_out));
}

TEST(ts_start_after_end)
{
	uint8_t p[] = {
		1, 0, 0, 0,
		IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 16,  0, 0, 0xff, 0xff,
		10, 0, 0, 9,  10, 0, 0, 1,
	};
	struct ike_pl pl = raw(IKEV2_PL_TSI, p, sizeof(p));
	static struct ike_ts_pl ts;

	ASSERT_EQ(-EBADMSG, ike_get_ts(&pl, &ts));
	p[15] = 0;	/* start 10.0.0.0 <= end: fine */
	ASSERT_EQ(0, ike_get_ts(&pl, &ts));
	p[8] = 0x01;	/* start port 256 > end port 255 */
	p[11] = 0xff;
	p[10] = 0x00;
	ASSERT_EQ(-EBADMSG, ike_get_ts(&pl, &ts));
}

/* A CFG_REQUEST with 100 attributes: every header read, the first
 * IKE_MAX_CP_ATTRS kept and the rest counted; cut short or of an unknown
 * CFG type: malformed. */
TEST(cp_many_attributes_and_malformed)
{
	static uint8_t p[4 + 100 * 4 + 16];
	struct ike_pl pl;
	static struct ike_cp cp;
	struct ike_cp_want w;
	size_t o = 4;

	p[0] = IKEV2_CFG_REQUEST;
	for (int i = 0; i < 100; i++) {
		p[o + 1] = i == 99 ? IKEV2_CP_INTERNAL_IP6_ADDRESS : 0x40 + (i & 7);
		o += 4;
	}
	pl = raw(IKEV2_PL_CP, p, o);
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(IKE_MAX_CP_ATTRS, cp.n);
	EXPECT_EQ(100 - IKE_MAX_CP_ATTRS, cp.skipped);
	ASSERT_EQ(0, ike_cp_want(&cp, &w));
	EXPECT_FALSE(w.ip6);	/* the 100th: not among those kept */
	EXPECT_EQ(IKE_MAX_CP_ATTRS, w.other);
	/* an attribute whose length runs past the payload */
	p[o + 1] = IKEV2_CP_INTERNAL_IP4_ADDRESS;
	p[o + 3] = 8;
	pl = raw(IKEV2_PL_CP, p, o + 4 + 4);
	EXPECT_EQ(-EBADMSG, ike_get_cp(&pl, &cp));
	/* half an attribute header */
	pl = raw(IKEV2_PL_CP, p, 4 + 2);
	EXPECT_EQ(-EBADMSG, ike_get_cp(&pl, &cp));
	/* no room for the CFG type and its reserved bytes */
	pl = raw(IKEV2_PL_CP, p, 3);
	EXPECT_EQ(-EBADMSG, ike_get_cp(&pl, &cp));
	p[0] = 5;	/* no such CFG type */
	pl = raw(IKEV2_PL_CP, p, 4);
	EXPECT_EQ(-EBADMSG, ike_get_cp(&pl, &cp));
}

/* §3.15.1's lengths: an address attribute empty or with the address (and
 * IPv6's prefix length), DNS empty or an address; unknown types ignored. */
TEST(cp_request_attribute_lengths)
{
	uint8_t p[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0,
		0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 0,
		0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 17,
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 64,
		0, IKEV2_CP_INTERNAL_IP4_DNS, 0, 0,
		0x70, 0x00, 0, 2, 0xab, 0xcd,	/* unknown, top bit reserved */
		0, IKEV2_CP_INTERNAL_IP6_DNS, 0, 0,
	};
	static const uint8_t bad4[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 3, 10, 0, 0,
	};
	static const uint8_t bad6[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 16,
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	struct ike_pl pl = raw(IKEV2_PL_CP, p, sizeof(p));
	static struct ike_cp cp;
	struct ike_cp_want w;

	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	ASSERT_EQ(5, cp.n);
	EXPECT_EQ(0x7000, cp.a[3].type);
	ASSERT_EQ(0, ike_cp_want(&cp, &w));
	EXPECT_TRUE(w.ip4);
	EXPECT_TRUE(w.ip6);
	EXPECT_TRUE(w.dns4);
	EXPECT_TRUE(w.dns6);
	EXPECT_EQ(1, w.other);
	/* an IPv4 address of 3 bytes; an IPv6 one without its prefix length */
	pl = raw(IKEV2_PL_CP, bad4, sizeof(bad4));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_want(&cp, &w));
	pl = raw(IKEV2_PL_CP, bad6, sizeof(bad6));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_want(&cp, &w));
}

/* A CFG_REPLY (§3.15.1) as the initiator reads it: the first address of
 * each family, IPv6's with its prefix length, DNS servers of both; a
 * second address of a family counted, not used; an empty or short value,
 * or a prefix length past 128: malformed. */
TEST(cp_reply_addresses)
{
	uint8_t p[] = {
		IKEV2_CFG_REPLY, 0, 0, 0,
		0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 10, 1, 7, 1,
		0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 10, 1, 7, 2,
		0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 17,
		0xfd, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 64,
		0, IKEV2_CP_INTERNAL_IP4_DNS, 0, 4, 10, 2, 0, 53,
		0, IKEV2_CP_INTERNAL_IP6_DNS, 0, 16,
		0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
		0, 0x50, 0, 1, 0xab,	/* unknown */
	};
	static const uint8_t empty4[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 0,
	};
	static const uint8_t short6[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 16,
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	static const uint8_t dns3[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_DNS, 0, 3, 10, 2, 0,
	};
	struct ike_pl pl = raw(IKEV2_PL_CP, p, sizeof(p));
	static struct ike_cp cp;
	struct ike_cp_got g;

	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	ASSERT_EQ(0, ike_cp_got(&cp, &g));
	ASSERT_TRUE(g.has4);
	EXPECT_EQ(0, memcmp(g.ip4, "\x0a\x01\x07\x01", 4));
	ASSERT_TRUE(g.has6);
	EXPECT_EQ(0xfd, g.ip6[0]);
	EXPECT_EQ(1, g.ip6[15]);
	EXPECT_EQ(64, g.plen6);
	EXPECT_EQ(1, g.extra);
	ASSERT_EQ(1, g.n_dns4);
	EXPECT_EQ(0, memcmp(g.dns4[0], "\x0a\x02\x00\x35", 4));
	ASSERT_EQ(1, g.n_dns6);
	EXPECT_EQ(0x53, g.dns6[0][15]);
	EXPECT_EQ(1, g.other);
	/* a prefix length past 128 */
	p[12 + 8 + 4 + 16] = 129;
	pl = raw(IKEV2_PL_CP, p, sizeof(p));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_got(&cp, &g));
	pl = raw(IKEV2_PL_CP, empty4, sizeof(empty4));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_got(&cp, &g));
	pl = raw(IKEV2_PL_CP, short6, sizeof(short6));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_got(&cp, &g));
	pl = raw(IKEV2_PL_CP, dns3, sizeof(dns3));
	ASSERT_EQ(0, ike_get_cp(&pl, &cp));
	EXPECT_EQ(-EBADMSG, ike_cp_got(&cp, &g));
}

TEST(ts_wrong_length_for_type)
{
	uint8_t p[] = {
		1, 0, 0, 0,
		IKEV2_TS_IPV6_ADDR_RANGE, 0, 0, 16,  0, 0, 0xff, 0xff,
		10, 0, 0, 0,  10, 0, 0, 1,
	};
	struct ike_pl pl = raw(IKEV2_PL_TSI, p, sizeof(p));
	static struct ike_ts_pl ts;

	ASSERT_EQ(-EBADMSG, ike_get_ts(&pl, &ts));
	p[0] = 2;	/* count says two, one present */
	p[4] = IKEV2_TS_IPV4_ADDR_RANGE;
	ASSERT_EQ(-EBADMSG, ike_get_ts(&pl, &ts));
}

TEST(delete_spi_size_mismatch)
{
	uint8_t p[] = { IKEV2_PROTO_ESP, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ike_pl pl = raw(IKEV2_PL_DELETE, p, sizeof(p));
	struct ike_delete d;

	ASSERT_EQ(-EBADMSG, ike_get_delete(&pl, &d));	/* ESP SPI is 4 */
	p[0] = IKEV2_PROTO_IKE;
	p[1] = 0;
	ASSERT_EQ(-EBADMSG, ike_get_delete(&pl, &d));	/* IKE: no SPIs */
	pl.len = 4;
	p[3] = 0;
	ASSERT_EQ(0, ike_get_delete(&pl, &d));
	p[0] = IKEV2_PROTO_ESP;
	p[1] = 4;
	p[3] = 3;	/* three SPIs counted, two present */
	pl.len = 12;
	ASSERT_EQ(-EBADMSG, ike_get_delete(&pl, &d));
}

TEST(skf_number_zero_and_above_total)
{
	uint8_t p[] = { 0, 0, 0, 2, 0xaa, 0xbb };
	struct ike_pl pl = raw(IKEV2_PL_SKF, p, sizeof(p));
	struct ike_skf f;

	ASSERT_EQ(-EBADMSG, ike_get_skf(&pl, &f));	/* number 0 */
	p[1] = 3;
	ASSERT_EQ(-EBADMSG, ike_get_skf(&pl, &f));	/* 3 of 2 */
	p[1] = 1;
	p[3] = 0;
	ASSERT_EQ(-EBADMSG, ike_get_skf(&pl, &f));	/* total 0 */
	p[3] = 2;
	ASSERT_EQ(0, ike_get_skf(&pl, &f));
}

TEST(nonce_too_short_and_too_long)
{
	static uint8_t p[300];
	struct ike_pl pl = raw(IKEV2_PL_NONCE, p, 15);
	struct ike_span n;

	ASSERT_EQ(-EBADMSG, ike_get_nonce(&pl, &n));
	pl.len = 257;
	ASSERT_EQ(-EBADMSG, ike_get_nonce(&pl, &n));
	pl.len = 16;
	ASSERT_EQ(0, ike_get_nonce(&pl, &n));
	pl.len = 256;
	ASSERT_EQ(0, ike_get_nonce(&pl, &n));
}

TEST(notify_spi_size_inconsistent)
{
	uint8_t p[] = { 0, 4, 0x40, 0x09, 1, 2, 3, 4 };
	struct ike_pl pl = raw(IKEV2_PL_NOTIFY, p, sizeof(p));
	struct ike_notify n;

	ASSERT_EQ(-EBADMSG, ike_get_notify(&pl, &n));	/* proto 0 with SPI */
	p[0] = IKEV2_PROTO_ESP;
	p[1] = 8;	/* SPI longer than the payload, wrong for ESP */
	ASSERT_EQ(-EBADMSG, ike_get_notify(&pl, &n));
	p[1] = 4;
	ASSERT_EQ(0, ike_get_notify(&pl, &n));
	ASSERT_EQ(IKEV2_N_REKEY_SA, n.type);
}

TEST(id_address_length_checked)
{
	uint8_t p[] = { IKEV2_ID_IPV4_ADDR, 0, 0, 0, 192, 0, 2 };
	struct ike_pl pl = raw(IKEV2_PL_IDI, p, sizeof(p));
	struct ike_typed t;

	ASSERT_EQ(-EBADMSG, ike_get_id(&pl, &t));
	pl.len = 4;
	ASSERT_EQ(-EBADMSG, ike_get_id(&pl, &t));	/* no data at all */
}

TEST(nested_sk_in_inner_chain_rejected)
{
	uint8_t p[] = { 0, 0, 0, 8, 1, 2, 3, 4 };
	struct ike_msg m;

	ASSERT_EQ(-EBADMSG, ike_chain_parse(IKEV2_PL_SK, p, sizeof(p), &m));
	ASSERT_EQ(IKE_PERR_SYNTAX, m.err);
	ASSERT_EQ(IKEV2_N_INVALID_SYNTAX, ike_perr_notify(m.err));
}

TEST(names)
{
	ASSERT_STREQ("COOKIE", ikev2_notify_name(IKEV2_N_COOKIE));
	ASSERT_STREQ("SEPARATE_TRANSPORTS",
		     ikev2_notify_name(IKEV2_N_SEPARATE_TRANSPORTS_DEFAULT));
	ASSERT_STREQ("AES_GCM_16", ikev2_transform_name(IKEV2_TRANS_ENCR, 20));
	ASSERT_STREQ("CURVE25519", ikev2_transform_name(IKEV2_TRANS_KE, 31));
	ASSERT_STREQ("unknown", ikev2_transform_name(IKEV2_TRANS_KE, 9999));
	ASSERT_STREQ("IKE_INTERMEDIATE", ikev2_exch_name(43));
}

/*
 * An IKE_SA_INIT request in the shape strongSwan 5.9 sends (payload order,
 * notifies, proposal layout), assembled by hand per RFC 7296 §3 — not a
 * capture: SA(1 IKE proposal: AES-GCM-16/256, AES-GCM-16/128, PRF SHA2-512,
 * SHA2-256, KE 31/19/14), KE(31, 32 bytes), Ni(32), N(NAT_D src), N(NAT_D
 * dst), N(FRAGMENTATION_SUPPORTED), N(SIGNATURE_HASH_ALGORITHMS 2,3,4),
 * N(REDIRECT_SUPPORTED).
 */
/* A string literal: its trailing NUL is not part of the message. */
#define SA_INIT_LEN (sizeof(sa_init) - 1)
static const uint8_t sa_init[] =
	"\x8d\x3e\x0a\x27\xc6\xf1\xb9\x52\x00\x00\x00\x00\x00\x00\x00\x00"
	"\x21\x20\x22\x08\x00\x00\x00\x00\x00\x00\x01\x0a\x22\x00\x00\x4c"
	"\x00\x00\x00\x48\x01\x01\x00\x07\x03\x00\x00\x0c\x01\x00\x00\x14"
	"\x80\x0e\x01\x00\x03\x00\x00\x0c\x01\x00\x00\x14\x80\x0e\x00\x80"
	"\x03\x00\x00\x08\x02\x00\x00\x07\x03\x00\x00\x08\x02\x00\x00\x05"
	"\x03\x00\x00\x08\x04\x00\x00\x1f\x03\x00\x00\x08\x04\x00\x00\x13"
	"\x00\x00\x00\x08\x04\x00\x00\x0e\x28\x00\x00\x28\x00\x1f\x00\x00"
	"\x40\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f"
	"\x50\x51\x52\x53\x54\x55\x56\x57\x58\x59\x5a\x5b\x5c\x5d\x5e\x5f"
	"\x29\x00\x00\x24\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab"
	"\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb"
	"\xbc\xbd\xbe\xbf\x29\x00\x00\x1c\x00\x00\x40\x04\x11\x11\x11\x11"
	"\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
	"\x29\x00\x00\x1c\x00\x00\x40\x05\x22\x22\x22\x22\x22\x22\x22\x22"
	"\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x29\x00\x00\x08"
	"\x00\x00\x40\x2e\x29\x00\x00\x0e\x00\x00\x40\x2f\x00\x02\x00\x03"
	"\x00\x04\x00\x00\x00\x08\x00\x00\x40\x16";

TEST(sa_init_request_strongswan_shape)
{
	struct ike_msg m;
	struct ike_notify n;
	struct ike_ke ke;
	struct ike_span sp;

	ASSERT_EQ(0, ike_msg_parse(sa_init, SA_INIT_LEN, &m));
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, m.hdr.exch);
	ASSERT_EQ(IKEV2_FLAG_INITIATOR, m.hdr.flags);
	ASSERT_EQ(8, m.n);
	ASSERT_EQ(0, ike_get_sa(ike_msg_find(&m, IKEV2_PL_SA), &sa_out));
	ASSERT_EQ(1, sa_out.nprop);
	ASSERT_EQ(IKEV2_PROTO_IKE, sa_out.p[0].proto);
	ASSERT_EQ(0, sa_out.p[0].spi_len);
	ASSERT_EQ(7, sa_out.p[0].ntrans);
	ASSERT_EQ(256, sa_out.p[0].t[0].keylen);
	ASSERT_EQ(IKEV2_KE_MODP_2048, sa_out.p[0].t[6].id);
	ASSERT_EQ(0, ike_get_ke(ike_msg_find(&m, IKEV2_PL_KE), &ke));
	ASSERT_EQ(IKEV2_KE_CURVE25519, ke.group);
	ASSERT_EQ(32, ke.data.len);
	ASSERT_EQ(0, ike_get_nonce(ike_msg_find(&m, IKEV2_PL_NONCE), &sp));
	ASSERT_EQ(32, sp.len);
	ASSERT_EQ(0, ike_find_notify(&m, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, &n));
	ASSERT_EQ(6, n.data.len);
	ASSERT_EQ(0, ike_find_notify(&m, IKEV2_N_NAT_DETECTION_DESTINATION_IP, &n));
	ASSERT_EQ(20, n.data.len);
	ASSERT_EQ(0, ike_find_notify(&m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, &n));
	/* One byte short: the header length no longer matches. */
	ASSERT_EQ(-EBADMSG, ike_msg_parse(sa_init, SA_INIT_LEN - 1, &m));
	ASSERT_EQ(IKE_PERR_LENGTH, m.err);
}

TEST_HARNESS_MAIN
