// SPDX-License-Identifier: GPL-2.0
/*
 * Proposals (RFC 7296 §2.7, §3.3): ours from the config as SA payloads,
 * and the choice among the peer's.
 *
 * The responder walks the initiator's proposals in the initiator's order
 * and takes the first one it can accept completely: for each transform type
 * present, the first offered transform our configured proposal also lists.
 * A proposal with a transform type we cannot satisfy is skipped as a whole;
 * transforms with unknown attributes are ignored (§3.3.6).  The initiator
 * accepts a reply only if it names exactly one proposal made of one
 * transform per type, all from one of its own proposals (§3.3.6).
 *
 * ESP proposals in IKE_AUTH carry no KE transform: that exchange has no
 * KE payloads, so §1.2 allows only NONE there and says to omit the
 * transform.  A Child SA made in IKE_AUTH is matched with the KE
 * transforms ignored on both sides ("no_ke"); its PFS group only applies
 * to its rekeys in CREATE_CHILD_SA.
 *
 * RFC 9370's Additional Key Exchange types (6..12, ADDKE1..ADDKE7) go in
 * IKE proposals of IKE_SA_INIT and of IKE SA rekeys, and in ESP proposals
 * of CREATE_CHILD_SA (§2.2.4: run in IKE_FOLLOWUP_KE, exch_followup.c),
 * and are chosen as any type, with two rules of their own (§2.2.1): a type
 * the initiator left out counts as NONE, and no method is chosen twice
 * (NONE may be).  ESP proposals in IKE_AUTH carry none, as they carry no
 * KE (no_ke).  Where they cannot run (no IKE_INTERMEDIATE) see enum
 * prop_addke.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proposal.h"

/* One configured proposal as an SA payload proposal.  first_ke (if in the
 * list) goes first: it is the group of the KE payload we send.  no_ke:
 * no KE transforms at all (IKE_AUTH).  addke: the ADDKE transforms too. */
static void cfg_to_prop(const struct proposal_cfg *pc, uint8_t proto,
			uint16_t first_ke, bool no_ke, bool addke, struct ike_sa_pl *sa)
{
	int i, n;

	for (i = 0; i < pc->n_encr; i++)
		ike_sa_add_trans(sa, IKEV2_TRANS_ENCR, pc->encr[i].id, pc->encr[i].keylen);
	for (i = 0; i < pc->n_prf; i++)
		ike_sa_add_trans(sa, IKEV2_TRANS_PRF, pc->prf[i], 0);
	for (i = 0; i < pc->n_integ; i++)
		ike_sa_add_trans(sa, IKEV2_TRANS_INTEG, pc->integ[i], 0);
	for (i = 0; i < pc->n_ke && !no_ke; i++)
		if (pc->ke[i] == first_ke)
			ike_sa_add_trans(sa, IKEV2_TRANS_KE, pc->ke[i], 0);
	for (i = 0; i < pc->n_ke && !no_ke; i++)
		if (pc->ke[i] != first_ke)
			ike_sa_add_trans(sa, IKEV2_TRANS_KE, pc->ke[i], 0);
	for (n = 0; n < IKEV2_ADDKE_MAX && addke; n++)
		for (i = 0; i < pc->n_addke[n]; i++)
			ike_sa_add_trans(sa, (uint8_t)(IKEV2_TRANS_ADDKE1 + n), pc->addke[n][i], 0);
	if (proto == IKEV2_PROTO_ESP) {
		if (!pc->n_esn)
			ike_sa_add_trans(sa, IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0);
		for (i = 0; i < pc->n_esn; i++)
			ike_sa_add_trans(sa, IKEV2_TRANS_ESN, pc->esn[i], 0);
	}
}

/* An empty SA payload to fill, on the heap (~70 KB); NULL, and the builder
 * failed, without memory.  sa_put() sends it and frees it. */
static struct ike_sa_pl *sa_new(struct ike_builder *bld)
{
	struct ike_sa_pl *sa = malloc(sizeof(*sa));

	if (!sa) {
		if (!bld->err)
			bld->err = -ENOMEM;
		return NULL;
	}
	ike_sa_reset(sa);
	return sa;
}

static void sa_put(struct ike_builder *bld, struct ike_sa_pl *sa)
{
	ike_put_sa(bld, sa);
	free(sa);
}

void prop_put_ike(struct ike_builder *bld, const struct conn_cfg *cc,
		  const uint8_t *spi, uint8_t spi_len, uint16_t first_ke, bool addke)
{
	struct ike_sa_pl *sa = sa_new(bld);
	int i;

	if (!sa)
		return;
	for (i = 0; i < cc->n_ike; i++) {
		if (!ike_sa_add_prop(sa, IKEV2_PROTO_IKE, spi, spi_len))
			break;
		cfg_to_prop(&cc->ike[i], IKEV2_PROTO_IKE, first_ke, false, addke, sa);
	}
	sa_put(bld, sa);
}

void prop_put_esp(struct ike_builder *bld, const struct child_cfg *ch,
		  uint32_t spi, uint16_t pfs_ke, bool no_ke)
{
	struct ike_sa_pl *sa = sa_new(bld);
	int i;

	if (!sa)
		return;
	for (i = 0; i < ch->n_esp; i++) {
		if (!ike_sa_add_prop(sa, IKEV2_PROTO_ESP, (const uint8_t *)&spi, 4))
			break;
		cfg_to_prop(&ch->esp[i], IKEV2_PROTO_ESP, pfs_ke, no_ke, !no_ke, sa);
	}
	sa_put(bld, sa);
}

static bool cfg_has(const struct proposal_cfg *pc, const struct ike_transform *t)
{
	int i;

	switch (t->type) {
	case IKEV2_TRANS_ENCR:
		for (i = 0; i < pc->n_encr; i++)
			if (pc->encr[i].id == t->id && pc->encr[i].keylen == t->keylen)
				return true;
		return false;
	case IKEV2_TRANS_PRF:
		for (i = 0; i < pc->n_prf; i++)
			if (pc->prf[i] == t->id)
				return true;
		return false;
	case IKEV2_TRANS_INTEG:
		/* AEAD proposals carry no integrity, or NONE (RFC 5282 §8). */
		if (!pc->n_integ)
			return t->id == IKEV2_AUTH_NONE;
		for (i = 0; i < pc->n_integ; i++)
			if (pc->integ[i] == t->id)
				return true;
		return false;
	case IKEV2_TRANS_KE:
		if (!pc->n_ke)
			return t->id == IKEV2_KE_NONE;
		for (i = 0; i < pc->n_ke; i++)
			if (pc->ke[i] == t->id)
				return true;
		return false;
	case IKEV2_TRANS_ESN:
		if (!pc->n_esn)
			return t->id == IKEV2_ESN_NO;
		for (i = 0; i < pc->n_esn; i++)
			if (pc->esn[i] == t->id)
				return true;
		return false;
	default:
		return false;
	}
}

/* Does our proposal require a type the peer's proposal lacks? */
static bool cfg_needs(const struct proposal_cfg *pc, uint8_t type, bool esp)
{
	switch (type) {
	case IKEV2_TRANS_ENCR:
		return true;
	case IKEV2_TRANS_PRF:
		return !esp;
	case IKEV2_TRANS_INTEG:
		return pc->n_integ > 0;
	case IKEV2_TRANS_KE:
		return pc->n_ke > 0;
	default:
		return false;	/* ESN absent means no ESN */
	}
}

/* May ADDKE n + 1 be method id, after the types before it chose theirs? */
static bool addke_ok(const struct proposal_cfg *pc, int n, uint16_t id,
		     enum prop_addke mode, const struct ike_suite *s)
{
	int i;

	if (id != IKEV2_KE_NONE && (mode != PROP_ADDKE_NEGOTIATE || !kex_supported(id)))
		return false;
	if (id == IKEV2_KE_NONE && (mode != PROP_ADDKE_NEGOTIATE || !pc->n_addke[n]))
		return true;
	for (i = 0; i < n && id != IKEV2_KE_NONE; i++)
		if (s->addke[i] == id)
			return false;	/* §2.2.1: no method twice */
	for (i = 0; i < pc->n_addke[n]; i++)
		if (pc->addke[n][i] == id)
			return true;
	return false;
}

/* Our ADDKE n + 1 without NONE: the peer must run it. */
static bool addke_required(const struct proposal_cfg *pc, int n)
{
	return pc->n_addke[n] && !addke_ok(pc, n, IKEV2_KE_NONE, PROP_ADDKE_NEGOTIATE, NULL);
}

/* The ADDKE types of peer proposal p into s->addke (§2.2.1). */
static bool match_addke(const struct proposal_cfg *pc, const struct ike_proposal *p,
			enum prop_addke mode, struct ike_suite *s)
{
	int n, i;

	for (n = 0; n < IKEV2_ADDKE_MAX; n++) {
		bool present = false, got = false;

		for (i = 0; i < p->ntrans; i++) {
			const struct ike_transform *t = &p->t[i];

			if (t->type != IKEV2_TRANS_ADDKE1 + n || t->unknown_attr)
				continue;
			if (mode == PROP_ADDKE_SKIP)
				return false;
			present = true;
			if (got || !addke_ok(pc, n, t->id, mode, s))
				continue;
			got = true;
			s->addke[n] = t->id;
		}
		if (present && !got)
			return false;
		if (!present && mode == PROP_ADDKE_NEGOTIATE && addke_required(pc, n))
			return false;
	}
	return true;
}

/* Picks one transform per type from peer proposal p under our pc; with
 * no_ke the KE and ADDKE types are left out of the match (ESP in IKE_AUTH,
 * §1.2), else addke says what becomes of ADDKE types. */
static bool match_one(const struct proposal_cfg *pc, const struct ike_proposal *p,
		      bool esp, bool no_ke, enum prop_addke addke, struct ike_suite *s)
{
	static const uint8_t types[] = { IKEV2_TRANS_ENCR, IKEV2_TRANS_PRF,
					 IKEV2_TRANS_INTEG, IKEV2_TRANS_KE,
					 IKEV2_TRANS_ESN };
	size_t ti;
	int i;

	memset(s, 0, sizeof(*s));
	for (ti = 0; ti < sizeof(types); ti++) {
		bool present = false, got = false;

		if (no_ke && types[ti] == IKEV2_TRANS_KE)
			continue;
		for (i = 0; i < p->ntrans; i++) {
			const struct ike_transform *t = &p->t[i];

			if (t->type != types[ti] || t->unknown_attr)
				continue;
			present = true;
			if (got || !cfg_has(pc, t))
				continue;
			got = true;
			switch (t->type) {
			case IKEV2_TRANS_ENCR:
				s->encr = t->id;
				s->encr_keylen = t->keylen;
				break;
			case IKEV2_TRANS_PRF:
				s->prf = t->id;
				break;
			case IKEV2_TRANS_INTEG:
				s->integ = t->id;
				break;
			case IKEV2_TRANS_KE:
				s->ke = t->id;
				break;
			case IKEV2_TRANS_ESN:
				s->esn = t->id == IKEV2_ESN_YES;
				break;
			}
		}
		if (present && !got)
			return false;
		if (!present && cfg_needs(pc, types[ti], esp))
			return false;
		if (types[ti] == IKEV2_TRANS_PRF && esp && present)
			return false;	/* no PRF in ESP proposals */
	}
	if (!esp && (!s->prf || !s->ke))
		return false;
	if (!no_ke && !match_addke(pc, p, addke, s))
		return false;
	if (!crypto_encr_supported(s->encr, s->encr_keylen))
		return false;
	if (crypto_encr_is_aead(s->encr) ? s->integ != IKEV2_AUTH_NONE :
	    !crypto_integ_supported(s->integ))
		return false;
	return true;
}

static int select_from(const struct proposal_cfg *pcs, int npc, uint8_t proto,
		       bool no_ke, enum prop_addke addke, const struct ike_sa_pl *sa,
		       struct ike_suite *out, int *idx)
{
	int i, j;

	for (i = 0; i < sa->nprop; i++) {
		if (sa->p[i].proto != proto)
			continue;
		for (j = 0; j < npc; j++) {
			if (match_one(&pcs[j], &sa->p[i], proto == IKEV2_PROTO_ESP, no_ke,
				      addke, out)) {
				*idx = i;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int prop_select_ike(const struct conn_cfg *cc, const struct ike_sa_pl *sa,
		    enum prop_addke addke, struct ike_suite *out, int *idx)
{
	return select_from(cc->ike, cc->n_ike, IKEV2_PROTO_IKE, false, addke, sa, out, idx);
}

int prop_select_esp(const struct child_cfg *ch, const struct ike_sa_pl *sa,
		    bool no_ke, struct ike_suite *out, int *idx)
{
	return select_from(ch->esp, ch->n_esp, IKEV2_PROTO_ESP, no_ke, PROP_ADDKE_NEGOTIATE, sa,
			   out, idx);
}

void prop_put_chosen(struct ike_builder *bld, const struct ike_proposal *p,
		     const struct ike_suite *s, const uint8_t *spi, uint8_t spi_len)
{
	struct ike_sa_pl *sa = sa_new(bld);
	struct ike_proposal *o;
	bool esp = p->proto == IKEV2_PROTO_ESP;
	int i, n;

	if (!sa)
		return;
	o = ike_sa_add_prop(sa, p->proto, spi, spi_len);
	o->num = p->num;	/* §3.3.1: the number of the one accepted */
	ike_sa_add_trans(sa, IKEV2_TRANS_ENCR, s->encr, s->encr_keylen);
	if (!esp)
		ike_sa_add_trans(sa, IKEV2_TRANS_PRF, s->prf, 0);
	if (!crypto_encr_is_aead(s->encr))
		ike_sa_add_trans(sa, IKEV2_TRANS_INTEG, s->integ, 0);
	if (s->ke)
		ike_sa_add_trans(sa, IKEV2_TRANS_KE, s->ke, 0);
	/* RFC 9370 §2.2.1: an ADDKE type offered, its choice (NONE too) */
	for (n = 0; n < IKEV2_ADDKE_MAX; n++) {
		for (i = 0; i < p->ntrans; i++) {
			if (p->t[i].type == IKEV2_TRANS_ADDKE1 + n) {
				ike_sa_add_trans(sa, p->t[i].type, s->addke[n], 0);
				break;
			}
		}
	}
	if (esp)
		ike_sa_add_trans(sa, IKEV2_TRANS_ESN, s->esn ? IKEV2_ESN_YES : IKEV2_ESN_NO, 0);
	sa_put(bld, sa);
}

/*
 * The reply must hold one proposal with one transform of each type, taken
 * from the proposal we sent under its number (§3.3.1): prop_put_ike and
 * prop_put_esp send pcs[i] as proposal i + 1.
 */
static int check_reply(const struct proposal_cfg *pcs, int npc, uint8_t proto,
		       bool no_ke, enum prop_addke addke, const struct ike_sa_pl *sa,
		       struct ike_suite *out)
{
	const struct ike_proposal *p;
	uint8_t seen[IKEV2_TRANS_ADDKE7 + 1] = { 0 };
	int i;

	if (sa->nprop != 1 || sa->p[0].proto != proto)
		return -EBADMSG;
	p = &sa->p[0];
	for (i = 0; i < p->ntrans; i++) {
		if (p->t[i].type == 0 || p->t[i].type > IKEV2_TRANS_ADDKE7 ||
		    seen[p->t[i].type]++)
			return -EBADMSG;
		if (p->t[i].unknown_attr)
			return -EBADMSG;
	}
	if (p->num < 1 || p->num > npc ||
	    !match_one(&pcs[p->num - 1], p, proto == IKEV2_PROTO_ESP, no_ke, addke, out))
		return -ENOENT;
	return 0;
}

int prop_check_reply_ike(const struct conn_cfg *cc, const struct ike_sa_pl *sa,
			 enum prop_addke addke, struct ike_suite *out)
{
	return check_reply(cc->ike, cc->n_ike, IKEV2_PROTO_IKE, false, addke, sa, out);
}

int prop_check_reply_esp(const struct child_cfg *ch, const struct ike_sa_pl *sa,
			 bool no_ke, struct ike_suite *out)
{
	return check_reply(ch->esp, ch->n_esp, IKEV2_PROTO_ESP, no_ke, PROP_ADDKE_NEGOTIATE, sa,
			   out);
}

bool prop_ke_allowed(const struct conn_cfg *cc, uint16_t group)
{
	int i, j;

	for (i = 0; i < cc->n_ike; i++)
		for (j = 0; j < cc->ike[i].n_ke; j++)
			if (cc->ike[i].ke[j] == group)
				return true;
	return false;
}

int suite_str(const struct ike_suite *s, char *out, size_t len)
{
	int n = snprintf(out, len, "%s", ikev2_transform_name(IKEV2_TRANS_ENCR, s->encr));

	if (s->encr_keylen && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "_%u", s->encr_keylen);
	if (s->integ && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "/%s",
			      ikev2_transform_name(IKEV2_TRANS_INTEG, s->integ));
	if (s->prf && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "/%s",
			      ikev2_transform_name(IKEV2_TRANS_PRF, s->prf));
	if (s->ke && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "/%s",
			      ikev2_transform_name(IKEV2_TRANS_KE, s->ke));
	for (int i = 0; i < IKEV2_ADDKE_MAX; i++)
		if (s->addke[i] && n >= 0 && (size_t)n < len)
			n += snprintf(out + n, len - (size_t)n, "/ADDKE%d:%s", i + 1,
				      ikev2_transform_name(IKEV2_TRANS_KE, s->addke[i]));
	if (s->esn && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "/ESN");
	return n;
}
