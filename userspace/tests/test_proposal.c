// SPDX-License-Identifier: GPL-2.0
/* ESP proposals with a PFS group: in IKE_AUTH the KE transform is left out
 * of what we send and ignored in what we receive (RFC 7296 §1.2); in
 * CREATE_CHILD_SA it is sent and required. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ikesa.h"
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
	struct ike_proposal *p = &sa->p[0];

	memset(sa, 0, sizeof(*sa));
	sa->nprop = 1;
	p->num = 1;
	p->proto = IKEV2_PROTO_ESP;
	p->spi_len = 4;
	memcpy(p->spi, "\x11\x22\x33\x44", 4);
	p->t[p->ntrans++] = (struct ike_transform){ IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256, false };
	if (ke)
		p->t[p->ntrans++] = (struct ike_transform){ IKEV2_TRANS_KE, ke, 0, false };
	p->t[p->ntrans++] = (struct ike_transform){ IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0, false };
}

static int count_type(const struct ike_sa_pl *sa, uint8_t type)
{
	int i, j, n = 0;

	for (i = 0; i < sa->nprop; i++)
		for (j = 0; j < sa->p[i].ntrans; j++)
			n += sa->p[i].t[j].type == type;
	return n;
}

/* prop_put_esp into an SA payload and back through the decoder. */
static int put_and_parse(const struct child_cfg *ch, bool no_ke, struct ike_sa_pl *out)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	struct ike_msg m;
	int r;

	chain_begin(&bld, &b);
	prop_put_esp(&bld, ch, htonl(0x55667788), IKEV2_KE_CURVE25519, no_ke);
	r = chain_finish(&bld);
	if (!r)
		r = ike_chain_parse(bld.first_type, b.data, b.len, &m);
	if (!r)
		r = m.n == 1 && m.pl[0].type == IKEV2_PL_SA ? ike_get_sa(&m.pl[0], out) : -EBADMSG;
	buf_free(&b);
	return r;
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

TEST_HARNESS_MAIN
