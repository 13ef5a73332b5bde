// SPDX-License-Identifier: GPL-2.0
/* ESP proposals with a PFS group: in IKE_AUTH the KE transform is left out
 * of what we send and ignored in what we receive (RFC 7296 §1.2); in
 * CREATE_CHILD_SA it is sent and required. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "proposal.h"
#include "kselftest_harness.h"

/* esp_proposals = aes256gcm16-x25519 */
static void esp_cfg(struct child_cfg *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->n_esp = 1;
	ch->esp[0].encr[0].id = IKEV2_ENCR_AES_GCM_16;
	ch->esp[0].encr[0].keylen = 256;
	ch->esp[0].n_encr = 1;
	ch->esp[0].ke[0] = IKEV2_KE_CURVE25519;
	ch->esp[0].n_ke = 1;
}

/* The peer's ESP proposal: AES-GCM-16-256, no ESN, and KE group ke
 * unless 0. */
static void peer_prop(struct ike_sa_pl *sa, uint16_t ke)
{
	ike_sa_reset(sa);
	ike_sa_add_prop(sa, IKEV2_PROTO_ESP, (const uint8_t *)"\x11\x22\x33\x44", 4);
	ike_sa_add_trans(sa, IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	if (ke)
		ike_sa_add_trans(sa, IKEV2_TRANS_KE, ke, 0);
	ike_sa_add_trans(sa, IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0);
}

static int count_type(const struct ike_sa_pl *sa, uint8_t type)
{
	int i, j, n = 0;

	for (i = 0; i < sa->nprop; i++)
		for (j = 0; j < sa->p[i].ntrans; j++)
			n += sa->p[i].t[j].type == type;
	return n;
}

/* The one SA payload built in b back through the decoder: as an offer, or
 * as a reply (ike_get_sa_reply); b is freed. */
static int sa_back(struct ike_builder *bld, struct buf *b, bool reply, struct ike_sa_pl *out)
{
	struct ike_msg m;
	int r;

	r = chain_finish(bld);
	if (!r)
		r = ike_chain_parse(bld->first_type, b->data, b->len, &m);
	if (!r && (m.n != 1 || m.pl[0].type != IKEV2_PL_SA))
		r = -EBADMSG;
	if (!r)
		r = reply ? ike_get_sa_reply(&m.pl[0], out) : ike_get_sa(&m.pl[0], out);
	buf_free(b);
	return r;
}

/* prop_put_esp into an SA payload and back through the decoder. */
static int put_and_parse(const struct child_cfg *ch, bool no_ke, struct ike_sa_pl *out)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;

	chain_begin(&bld, &b);
	prop_put_esp(&bld, ch, htonl(0x55667788), IKEV2_KE_CURVE25519, no_ke);
	return sa_back(&bld, &b, false, out);
}

TEST(ike_auth_proposal_has_no_ke)
{
	static struct child_cfg ch;
	static struct ike_sa_pl sa;

	esp_cfg(&ch);
	ASSERT_EQ(0, put_and_parse(&ch, true, &sa));
	ASSERT_EQ(1, sa.nprop);
	EXPECT_EQ(1, count_type(&sa, IKEV2_TRANS_ENCR));
	EXPECT_EQ(0, count_type(&sa, IKEV2_TRANS_KE));
	ASSERT_EQ(0, put_and_parse(&ch, false, &sa));
	EXPECT_EQ(1, count_type(&sa, IKEV2_TRANS_KE));
}

TEST(ike_auth_select_ignores_ke)
{
	static struct child_cfg ch;
	static struct ike_sa_pl sa;
	struct ike_suite s;
	int idx;

	esp_cfg(&ch);
	/* strongSwan's IKE_AUTH request: no KE transform */
	peer_prop(&sa, 0);
	EXPECT_EQ(0, prop_select_esp(&ch, &sa, true, &s, &idx));
	EXPECT_EQ(0, s.ke);
	/* in CREATE_CHILD_SA our PFS group is required */
	EXPECT_EQ(-ENOENT, prop_select_esp(&ch, &sa, false, &s, &idx));
	/* a peer that lists its group in IKE_AUTH anyway: ignored there */
	peer_prop(&sa, IKEV2_KE_CURVE25519);
	EXPECT_EQ(0, prop_select_esp(&ch, &sa, true, &s, &idx));
	EXPECT_EQ(0, s.ke);
	EXPECT_EQ(0, prop_select_esp(&ch, &sa, false, &s, &idx));
	EXPECT_EQ(IKEV2_KE_CURVE25519, s.ke);
}

TEST(ike_auth_reply_without_ke_accepted)
{
	static struct child_cfg ch;
	static struct ike_sa_pl sa;
	struct ike_suite s;

	esp_cfg(&ch);
	peer_prop(&sa, 0);
	EXPECT_EQ(0, prop_check_reply_esp(&ch, &sa, true, &s));
	EXPECT_EQ(-ENOENT, prop_check_reply_esp(&ch, &sa, false, &s));
	/* a reply with another group than ours is still refused for a rekey */
	peer_prop(&sa, IKEV2_KE_ECP_256);
	EXPECT_EQ(-ENOENT, prop_check_reply_esp(&ch, &sa, false, &s));
}

/*
 * A raw peer SA payload body of nprop ESP proposals with ntrans transforms
 * each: ENCR AES-CBC without a key length (which we refuse), and last ESN
 * none.  Transform good_t of proposal good_p (0-based; -1: none) is
 * AES-GCM-16-256 instead, the one our esp_cfg() accepts.
 */
static size_t raw_esp_sa(uint8_t *b, size_t cap, int nprop, int ntrans, int good_p, int good_t)
{
	size_t o = 0;
	int i, j;

	for (i = 0; i < nprop; i++) {
		size_t start = o, plen;

		if (o + 12 + (size_t)ntrans * 8 + 4 > cap)
			return 0;
		b[o++] = i + 1 < nprop ? 2 : 0;
		b[o++] = 0;
		o += 2;			/* length, patched below */
		b[o++] = (uint8_t)(i + 1);
		b[o++] = IKEV2_PROTO_ESP;
		b[o++] = 4;
		b[o++] = (uint8_t)ntrans;
		memcpy(b + o, "\x11\x22\x33\x44", 4);
		o += 4;
		for (j = 0; j < ntrans; j++) {
			bool good = i == good_p && j == good_t;
			bool esn = j + 1 == ntrans;
			uint16_t id = esn ? IKEV2_ESN_NO :
				      good ? IKEV2_ENCR_AES_GCM_16 : IKEV2_ENCR_AES_CBC;

			b[o++] = esn ? 0 : 3;
			b[o++] = 0;
			b[o++] = 0;
			b[o++] = good ? 12 : 8;
			b[o++] = esn ? IKEV2_TRANS_ESN : IKEV2_TRANS_ENCR;
			b[o++] = 0;
			b[o++] = (uint8_t)(id >> 8);
			b[o++] = (uint8_t)id;
			if (good) {
				b[o++] = 0x80 | (IKEV2_ATTR_KEY_LENGTH >> 8);
				b[o++] = IKEV2_ATTR_KEY_LENGTH & 0xff;
				b[o++] = 256 >> 8;
				b[o++] = 256 & 0xff;
			}
		}
		plen = o - start;
		b[start + 2] = (uint8_t)(plen >> 8);
		b[start + 3] = (uint8_t)plen;
	}
	return o;
}

static uint8_t big_sa[65535];
static struct ike_sa_pl raw_sa;		/* select_raw's parse */
static struct ike_suite raw_suite;	/* and what it chose */

static int select_raw(int nprop, int ntrans, int good_p, int good_t, int *idx)
{
	static struct child_cfg ch;
	struct ike_sa_pl *sa = &raw_sa;
	struct ike_suite *s = &raw_suite;
	struct ike_pl pl = { .type = IKEV2_PL_SA, .body = big_sa };
	size_t n = raw_esp_sa(big_sa, sizeof(big_sa) - 4, nprop, ntrans, good_p, good_t);
	int r;

	if (!n)
		return -EMSGSIZE;
	pl.len = (uint16_t)n;
	esp_cfg(&ch);
	r = ike_get_sa(&pl, sa);
	if (r)
		return r;
	if (sa->nprop != nprop || sa->p[nprop - 1].ntrans != ntrans)
		return -EINVAL;
	r = prop_select_esp(&ch, sa, true, s, idx);
	if (!r && (s->encr != IKEV2_ENCR_AES_GCM_16 || s->encr_keylen != 256))
		return -EINVAL;
	return r;
}

/* RFC 7296 §3.3 bounds proposals by the 1-octet Proposal Num and
 * transforms by the 1-octet count: strongSwan's default IKE proposal alone
 * lists more than 32 transforms, Libreswan offers several proposals. */
TEST(selects_from_the_17th_proposal)
{
	int idx = -1;

	ASSERT_EQ(0, select_raw(20, 3, 16, 0, &idx));
	EXPECT_EQ(16, idx);
	ASSERT_EQ(0, select_raw(255, 2, 254, 0, &idx));
	EXPECT_EQ(254, idx);
	EXPECT_EQ(-ENOENT, select_raw(20, 3, -1, 0, &idx));
}

TEST(selects_the_33rd_transform)
{
	int idx = -1;

	ASSERT_EQ(0, select_raw(1, 40, 0, 34, &idx));
	EXPECT_EQ(0, idx);
	ASSERT_EQ(0, select_raw(1, 255, 0, 253, &idx));
	EXPECT_EQ(0, idx);
}

/* As many transforms as an SA payload's 16-bit length can carry: 230
 * proposals of 34 transforms (65,324 bytes), the last one chosen. */
TEST(largest_sa_payload_parsed)
{
	int idx = -1;

	ASSERT_EQ(0, select_raw(230, 34, 229, 32, &idx));
	EXPECT_EQ(229, idx);
}

/* prop_put_chosen() into an SA payload and back as a reply. */
static int put_chosen_and_parse(const struct ike_proposal *p, const struct ike_suite *s,
				struct ike_sa_pl *out)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;

	chain_begin(&bld, &b);
	prop_put_chosen(&bld, p, s, (const uint8_t *)"\x55\x66\x77\x88", 4);
	return sa_back(&bld, &b, true, out);
}

/* §3.3.1: "the proposal number in the SA payload MUST match the number on
 * the proposal sent that was accepted".  The responder wrote 1 whatever it
 * chose (ike_put_sa numbered every SA payload 1, 2, ...), and the
 * initiator refused any reply numbered other than 1 as malformed. */
TEST(reply_carries_the_accepted_number)
{
	static struct child_cfg ch;
	static struct ike_sa_pl reply;
	struct ike_suite s;
	int idx = -1;

	ASSERT_EQ(0, select_raw(20, 3, 16, 0, &idx));
	ASSERT_EQ(16, idx);
	ASSERT_EQ(0, put_chosen_and_parse(&raw_sa.p[idx], &raw_suite, &reply));
	ASSERT_EQ(1, reply.nprop);
	EXPECT_EQ(17, reply.p[0].num);
	/* the initiator's side: what it sent as proposal 8 is the 8th of its
	 * configuration (esp_proposals = aes128gcm16 x 7, aes256gcm16) */
	memset(&ch, 0, sizeof(ch));
	ch.n_esp = 8;
	for (idx = 0; idx < 8; idx++) {
		ch.esp[idx].encr[0].id = IKEV2_ENCR_AES_GCM_16;
		ch.esp[idx].encr[0].keylen = idx == 7 ? 256 : 128;
		ch.esp[idx].n_encr = 1;
	}
	reply.p[0].num = 8;
	EXPECT_EQ(0, prop_check_reply_esp(&ch, &reply, true, &s));
	EXPECT_EQ(256, s.encr_keylen);
	/* the same transforms under another number: not what was offered */
	reply.p[0].num = 1;
	EXPECT_EQ(-ENOENT, prop_check_reply_esp(&ch, &reply, true, &s));
	reply.p[0].num = 9;
	EXPECT_EQ(-ENOENT, prop_check_reply_esp(&ch, &reply, true, &s));
}

/* An IKE proposal AES-GCM-16-256, PRF-SHA2-256, x25519, then the ADDKE1
 * transforms ids (n of them; 0 is NONE). */
static void peer_ike(struct ike_sa_pl *sa, const uint16_t *ids, int n)
{
	ike_sa_reset(sa);
	ike_sa_add_prop(sa, IKEV2_PROTO_IKE, NULL, 0);
	ike_sa_add_trans(sa, IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	ike_sa_add_trans(sa, IKEV2_TRANS_PRF, IKEV2_PRF_HMAC_SHA2_256, 0);
	ike_sa_add_trans(sa, IKEV2_TRANS_KE, IKEV2_KE_CURVE25519, 0);
	for (int i = 0; i < n; i++)
		ike_sa_add_trans(sa, IKEV2_TRANS_ADDKE1, ids[i], 0);
}

/* RFC 9370 §2.2.1: ADDKE chosen in IKE_SA_INIT with IKE_INTERMEDIATE
 * (and IKE SA rekeys), a proposal with them skipped without it, and NONE
 * alone taken where none can run. */
TEST(additional_key_exchange_modes)
{
	static const uint16_t ecp384[] = { IKEV2_KE_ECP_384 };
	static const uint16_t optional[] = { IKEV2_KE_ECP_384, IKEV2_KE_NONE };
	static struct conn_cfg cc;
	static struct ike_sa_pl sa;
	struct ike_suite s;
	int idx;

	memset(&cc, 0, sizeof(cc));
	cc.n_ike = 1;
	cc.ike[0].encr[0].id = IKEV2_ENCR_AES_GCM_16;
	cc.ike[0].encr[0].keylen = 256;
	cc.ike[0].n_encr = 1;
	cc.ike[0].prf[0] = IKEV2_PRF_HMAC_SHA2_256;
	cc.ike[0].n_prf = 1;
	cc.ike[0].ke[0] = IKEV2_KE_CURVE25519;
	cc.ike[0].n_ke = 1;
	cc.ike[0].addke[0][0] = IKEV2_KE_ECP_384;
	cc.ike[0].n_addke[0] = 1;

	peer_ike(&sa, ecp384, 1);
	EXPECT_EQ(0, prop_select_ike(&cc, &sa, PROP_ADDKE_NEGOTIATE, &s, &idx));
	EXPECT_EQ(IKEV2_KE_ECP_384, s.addke[0]);
	EXPECT_EQ(-ENOENT, prop_select_ike(&cc, &sa, PROP_ADDKE_SKIP, &s, &idx));
	EXPECT_EQ(-ENOENT, prop_select_ike(&cc, &sa, PROP_ADDKE_NONE, &s, &idx));
	peer_ike(&sa, optional, 2);
	EXPECT_EQ(0, prop_select_ike(&cc, &sa, PROP_ADDKE_NONE, &s, &idx));
	EXPECT_EQ(IKEV2_KE_NONE, s.addke[0]);
	/* ours required, the peer's left out: refused until ke1_none */
	peer_ike(&sa, NULL, 0);
	EXPECT_EQ(-ENOENT, prop_select_ike(&cc, &sa, PROP_ADDKE_NEGOTIATE, &s, &idx));
	cc.ike[0].addke[0][1] = IKEV2_KE_NONE;
	cc.ike[0].n_addke[0] = 2;
	EXPECT_EQ(0, prop_select_ike(&cc, &sa, PROP_ADDKE_NEGOTIATE, &s, &idx));
	EXPECT_EQ(IKEV2_KE_NONE, s.addke[0]);
}

/*
 * RFC 9370 §2.2.4: ESP proposals of CREATE_CHILD_SA carry the ADDKE types
 * after the PFS group (esp_proposals = aes256gcm16-x25519-ke1_mlkem768
 * here with x448) and the responder chooses them; IKE_AUTH's carry none
 * and ignore the peer's.
 */
TEST(esp_additional_key_exchanges)
{
	static struct child_cfg ch;
	static struct ike_sa_pl sa, reply;
	struct ike_suite s;
	int idx;

	esp_cfg(&ch);
	ch.esp[0].addke[0][0] = IKEV2_KE_CURVE448;
	ch.esp[0].n_addke[0] = 1;
	ASSERT_EQ(0, put_and_parse(&ch, false, &sa));
	EXPECT_EQ(1, count_type(&sa, IKEV2_TRANS_ADDKE1));
	EXPECT_EQ(0, prop_select_esp(&ch, &sa, false, &s, &idx));
	EXPECT_EQ(IKEV2_KE_CURVE25519, s.ke);
	EXPECT_EQ(IKEV2_KE_CURVE448, s.addke[0]);
	/* the reply names the choice, and the initiator takes it */
	ASSERT_EQ(0, put_chosen_and_parse(&sa.p[idx], &s, &reply));
	EXPECT_EQ(1, count_type(&reply, IKEV2_TRANS_ADDKE1));
	memset(&s, 0, sizeof(s));
	EXPECT_EQ(0, prop_check_reply_esp(&ch, &reply, false, &s));
	EXPECT_EQ(IKEV2_KE_CURVE448, s.addke[0]);
	/* IKE_AUTH: none sent, the peer's ignored */
	ASSERT_EQ(0, put_and_parse(&ch, true, &sa));
	EXPECT_EQ(0, count_type(&sa, IKEV2_TRANS_ADDKE1));
	peer_prop(&sa, IKEV2_KE_CURVE25519);
	ike_sa_add_trans(&sa, IKEV2_TRANS_ADDKE1, IKEV2_KE_CURVE448, 0);
	EXPECT_EQ(0, prop_select_esp(&ch, &sa, true, &s, &idx));
	EXPECT_EQ(0, s.addke[0]);
	/* ours required: a CREATE_CHILD_SA peer without it is refused, one
	 * with another method too */
	peer_prop(&sa, IKEV2_KE_CURVE25519);
	EXPECT_EQ(-ENOENT, prop_select_esp(&ch, &sa, false, &s, &idx));
	ike_sa_add_trans(&sa, IKEV2_TRANS_ADDKE1, IKEV2_KE_ECP_384, 0);
	EXPECT_EQ(-ENOENT, prop_select_esp(&ch, &sa, false, &s, &idx));
}

TEST_HARNESS_MAIN
