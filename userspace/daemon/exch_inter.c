// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_INTERMEDIATE (RFC 9242) and the additional key exchanges it carries
 * (RFC 9370).  When both peers announced INTERMEDIATE_EXCHANGE_SUPPORTED
 * in IKE_SA_INIT, the exchanges between IKE_SA_INIT and IKE_AUTH are: one
 * per Additional Key Exchange type negotiated with a method (not NONE), in
 * type order, KEi(n) and KEr(n) of that method, the IKE SA's keys updated
 * after each (RFC 9370 §2.2.2); without any, one that carries nothing when
 * the initiator's connection says intermediate = yes (Libreswan's
 * intermediate=yes does the same).  Each is protected with the keys the
 * previous one left (§3.3.1), over whatever carries IKE_AUTH (TCP after the
 * separate transports' echo, RT-4), fragmented as any encrypted message
 * (RFC 7383).  Both peers chain every such message into IntAuth_i /
 * IntAuth_r (§3.3.2) with the SK_p of its exchange, which AUTH then signs.
 *
 * Any key exchange method of crypto_kex.c goes: the initiator sends
 * kex_public() and derives with the answer; the responder derives with the
 * request first and then sends kex_public(), so a method whose answer
 * depends on the request (a KEM's ciphertext) fits as well.
 */
#include <errno.h>
#include <string.h>

#include "exch.h"
#include "log.h"

/* Additional key exchanges negotiated with a method (not NONE). */
static unsigned int addke_count(const struct ike_sa *sa)
{
	return followup_count(&sa->suite);
}

/* The method of the exchange after the inter_n done, 0 if none is left:
 * in the order of the transform types (RFC 9370 §2.2.1). */
static uint16_t addke_next(const struct ike_sa *sa)
{
	return followup_method(&sa->suite, sa->inter_n);
}

/*
 * §5: a responder must cap the exchanges an initiator may run before
 * IKE_AUTH: one per additional key exchange, else Libreswan's one round.
 */
static unsigned int inter_max(const struct ike_sa *sa)
{
	unsigned int n = addke_count(sa);

	return n ? n : 1;
}

bool inter_pending(const struct ike_sa *sa)
{
	return sa->inter_n < addke_count(sa);
}

bool inter_announce(const struct conn_cfg *cc)
{
	/* RFC 9370 §2.2.1: ADDKE transforms only with the notify. */
	return cc->intermediate == CFG_INTER_YES ||
	       (cc->intermediate == CFG_INTER_ACCEPT && config_has_addke(cc));
}

enum prop_addke inter_addke_mode(const struct conn_cfg *cc, const struct ike_msg *m)
{
	struct ike_notify n;

	return cc->intermediate != CFG_INTER_NO &&
	       !ike_find_notify(m, IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED, &n) ?
	       PROP_ADDKE_NEGOTIATE : PROP_ADDKE_SKIP;
}

/*
 * RFC 9370 §2.2.2: SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), and
 * {SK_d(n) | SK_ai(n) | ... | SK_pr(n)} = prf+(SKEYSEED(n), Ni | Nr | SPIi
 * | SPIr): the formula of an IKE SA rekey (RFC 7296 §2.18) with the PRF,
 * nonces and SPIs of IKE_SA_INIT.  The next exchange goes under them.
 */
static int addke_update(struct ike_sa *sa, const struct buf *shared)
{
	struct ike_keys k;
	int r;

	ike_keys_init(&k);
	r = crypto_ike_rekey_keys(&sa->suite, sa->suite.prf, ike_sk_d(sa), shared->data,
				  shared->len, sa->ni.data, sa->ni.len, sa->nr.data, sa->nr.len,
				  sa->spi_i, sa->spi_r, &k);
	if (r)
		return r;
	ike_keys_wipe(&sa->init->keys);
	sa->init->keys = k;
	return ike_sa_keys_set(sa);
}

/*
 * IntAuth_[i/r]*A (§3.3.2, Figure 1): the header with Length adjusted to
 * A and P alone, the unprotected payloads, and SK's generic header with
 * its Payload Length adjusted to P alone; for a message received in
 * fragments, as if reassembled (Next Payload names SK, SK's flags those of
 * fragment 1's SKF).
 */
static void put_a(struct buf *a, const struct ike_hdr *h, uint8_t next,
		  const uint8_t *unprot, size_t ulen, uint8_t first, uint8_t sk_flags,
		  size_t plen)
{
	buf_append(a, h->spi_i, 8);
	buf_append(a, h->spi_r, 8);
	buf_put_u8(a, next);
	buf_put_u8(a, (uint8_t)(h->major << 4 | (h->minor & 0x0f)));
	buf_put_u8(a, h->exch);
	buf_put_u8(a, h->flags);
	buf_put_u32(a, h->msgid);
	buf_put_u32(a, (uint32_t)(IKEV2_HDR_LEN + ulen + IKEV2_GENERIC_HDR_LEN + plen));
	buf_append(a, unprot, ulen);
	buf_put_u8(a, first);
	buf_put_u8(a, sk_flags);
	buf_put_u16(a, (uint16_t)(IKEV2_GENERIC_HDR_LEN + plen));
}

/* One message into IntAuth_i (the initiator's request) or IntAuth_r. */
static int int_auth_add(struct ike_sa *sa, bool request, const struct buf *a,
			const uint8_t *plain, size_t plen)
{
	const struct buf *skp = request ? &sa->init->keys.sk_pi : &sa->init->keys.sk_pr;
	struct buf *chain = request ? &sa->init->int_auth_i : &sa->init->int_auth_r;

	if (buf_err(a))
		return buf_err(a);
	/* SK's adjusted Payload Length is 16 bits: a reassembled message
	 * beyond that was never one SK payload. */
	if (IKEV2_GENERIC_HDR_LEN + plen > 0xffff)
		return -EMSGSIZE;
	return crypto_int_auth(sa->suite.prf, skp, chain, a->data, a->len, plain, plen);
}

/* Our message before it is sealed (inner finished; we send no unprotected
 * payloads and SK's flags are 0). */
static int int_auth_ours(struct ike_sa *sa, bool response, uint32_t msgid,
			 struct ike_builder *inner)
{
	struct buf a = BUF_INIT;
	struct ike_hdr h;
	int r;

	r = chain_finish(inner);
	if (r)
		return r;
	ike_sa_hdr(sa, &h, IKEV2_EXCH_IKE_INTERMEDIATE, response, msgid);
	put_a(&a, &h, IKEV2_PL_SK, NULL, 0, inner->first_type, 0, inner->b->len);
	r = int_auth_add(sa, !response, &a, inner->b->data, inner->b->len);
	buf_free(&a);
	return r;
}

/* The peer's message the core just decrypted (sa->rx_sk). */
static int int_auth_peers(struct ike_sa *sa, bool request)
{
	const struct ike_rx_sk *x = sa->rx_sk;
	const struct ike_msg *m = x->m;
	const uint8_t *unprot = NULL;
	struct buf a = BUF_INIT;
	uint8_t next = IKEV2_PL_SK;
	size_t ulen = 0;
	int r;

	/* Unprotected payloads go in fragment 1 (RFC 7383 §2.5.3), which
	 * reassembly does not keep: a fragmented message is taken as having
	 * none (no specification defines any in IKE_INTERMEDIATE; AUTH fails
	 * if a peer sent some).  In a whole message they lie from the first
	 * payload's generic header to SK's, all of it parsed and bounded. */
	if (!x->fragmented && m->n > 1) {
		unprot = m->pl[0].body - IKEV2_GENERIC_HDR_LEN;
		ulen = (size_t)(m->sk->body - IKEV2_GENERIC_HDR_LEN - unprot);
		next = m->hdr.next;
	}
	put_a(&a, &m->hdr, next, unprot, ulen, x->first, x->sk_flags, x->plain_len);
	r = int_auth_add(sa, request, &a, x->plain, x->plain_len);
	buf_free(&a);
	return r;
}

int inter_octets(const struct ike_sa *sa, struct buf *octets)
{
	if (!sa->inter_n)
		return 0;
	/* IntAuth = IntAuth_iN | IntAuth_rN | IKE_AUTH_MID, the Message ID
	 * of IKE_AUTH's first round: one more than the last IKE_INTERMEDIATE's
	 * (§3.2: those are 1..N, checked by the core's window). */
	buf_append(octets, sa->init->int_auth_i.data, sa->init->int_auth_i.len);
	buf_append(octets, sa->init->int_auth_r.data, sa->init->int_auth_r.len);
	buf_put_u32(octets, sa->inter_n + 1);
	return buf_err(octets);
}

/* --- initiator --------------------------------------------------------------- */

int inter_start(struct ike_sa *sa)
{
	struct buf in = BUF_INIT, pub = BUF_INIT;
	uint16_t group = sa->inter ? addke_next(sa) : 0;
	struct ike_builder bld;
	int r = 0;

	if (!sa->inter || (!group && (sa->inter_n || sa->cfg->intermediate != CFG_INTER_YES)))
		return auth_start(sa);
	/* §3.2: the Encrypted payload is there, empty with nothing to carry;
	 * RFC 9370 §2.2.2: KEi(n) of the n-th additional method. */
	chain_begin(&bld, &in);
	if (group) {
		kex_free(sa->addke_kex);
		sa->addke_kex = kex_new(group);
		if (!sa->addke_kex || kex_public(sa->addke_kex, &pub))
			r = -ENOTSUP;
		else
			ike_put_ke(&bld, group, pub.data, pub.len);
	}
	if (!r)
		r = int_auth_ours(sa, false, sa->my_msgid, &bld);
	if (!r)
		r = ike_send_request(sa, TASK_INTER, IKEV2_EXCH_IKE_INTERMEDIATE, &bld);
	buf_free(&pub);
	buf_free(&in);
	return r;
}

static void inter_fail(struct ike_sa *sa, const char *why)
{
	sa->e->st.ike_failed++;
	log_warn("%s: IKE_INTERMEDIATE failed: %s", ike_sa_name(sa), why);
	ike_sa_destroy(sa, NULL);
}

/* Initiator: KEr(n) of the method asked for, the shared secret, the keys
 * updated; a sentence for the log on failure. */
static const char *addke_finish(struct ike_sa *sa, const struct ike_msg *inner,
				uint16_t group)
{
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct buf shared = BUF_INIT;
	const char *why = NULL;
	struct ike_ke ke;

	if (!pk || ike_get_ke(pk, &ke))
		why = "the responder's answer has no KE payload (RFC 9370 section 2.2.2)";
	else if (ke.group != group)
		why = "the responder's KE is of another method than negotiated (RFC 9370 section 2.2.2)";
	else if (kex_derive(sa->addke_kex, ke.data.p, ke.data.len, &shared))
		why = "invalid KE value from the responder";
	else if (addke_update(sa, &shared))
		why = "cannot update the keys";
	buf_wipe(&shared);
	kex_free(sa->addke_kex);
	sa->addke_kex = NULL;
	return why;
}

void inter_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	const struct ike_pl *pl = NULL;
	uint16_t group = addke_next(sa);
	const char *fail;
	struct ike_notify n;
	char why[96];

	/* §3.4 (RFC 7296 §2.21.1): an error notify ends the attempt. */
	while ((pl = ike_msg_next(inner, pl, IKEV2_PL_NOTIFY))) {
		if (ike_get_notify(pl, &n) || n.type > IKEV2_N_ERROR_MAX)
			continue;
		snprintf(why, sizeof(why), "the responder answered %s",
			 ikev2_notify_name(n.type));
		inter_fail(sa, why);
		return;
	}
	/* IntAuth_r under the keys of this exchange, then the update. */
	if (int_auth_peers(sa, false)) {
		inter_fail(sa, "cannot compute IntAuth_r");
		return;
	}
	fail = group ? addke_finish(sa, inner, group) : NULL;
	if (fail) {
		inter_fail(sa, fail);
		return;
	}
	sa->inter_n++;
	if (group)
		log_info("%s: IKE_INTERMEDIATE %u done: additional key exchange %s, keys updated",
			 ike_sa_name(sa), sa->inter_n, ikev2_transform_name(IKEV2_TRANS_KE, group));
	else
		log_info("%s: IKE_INTERMEDIATE %u done", ike_sa_name(sa), sa->inter_n);
	ike_req_done(sa);
	if (sa->state == IKE_S_AUTH_SENT && inter_start(sa)) {
		sa->e->st.ike_failed++;
		ike_sa_destroy(sa, "cannot build IKE_INTERMEDIATE or IKE_AUTH");
	}
}

/* --- responder --------------------------------------------------------------- */

static void inter_refuse_with(struct ike_sa *sa, uint32_t msgid, uint16_t type,
			      const uint8_t *data, size_t len, const char *why)
{
	log_warn("%s: IKE_INTERMEDIATE request refused: %s", ike_sa_name(sa), why);
	ike_respond_notify(sa, IKEV2_EXCH_IKE_INTERMEDIATE, msgid, type, data, len);
	sa->e->st.ike_failed++;
	ike_sa_destroy(sa, NULL);
}

static void inter_refuse(struct ike_sa *sa, uint32_t msgid, const char *why)
{
	inter_refuse_with(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, why);
}

/*
 * Responder: KEi(n) checked against the n-th method; 0, or the request
 * refused (the SA gone).  A KE of another method gets INVALID_KE_PAYLOAD
 * naming the negotiated one, as RFC 7296 §1.2/§3.10.1 answer a wrong group
 * (RFC 9370 §2.2.2 has the method match; it names no error): the initiator
 * cannot send another in this exchange, so the half-open SA goes.
 */
static int addke_check(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner,
		       uint16_t group, struct ike_ke *ke)
{
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	uint8_t g[2] = { (uint8_t)(group >> 8), (uint8_t)group };
	char why[128];

	if (!group) {
		/* None negotiated, or all done: a KE would key nothing. */
		if (!pk)
			return 0;
		inter_refuse(sa, msgid, "a KE payload, but no additional key exchange is left");
		return -EBADMSG;
	}
	if (!pk || ike_get_ke(pk, ke)) {
		snprintf(why, sizeof(why), "no KE payload for additional key exchange %u (%s)",
			 sa->inter_n + 1, ikev2_transform_name(IKEV2_TRANS_KE, group));
		inter_refuse(sa, msgid, why);
		return -EBADMSG;
	}
	if (ke->group != group) {
		snprintf(why, sizeof(why), "KE of method %u, additional key exchange %u is %s",
			 ke->group, sa->inter_n + 1, ikev2_transform_name(IKEV2_TRANS_KE, group));
		sa->e->st.invalid_ke_sent++;
		inter_refuse_with(sa, msgid, IKEV2_N_INVALID_KE_PAYLOAD, g, sizeof(g), why);
		return -EPROTO;
	}
	return 0;
}

void inter_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		      const struct ike_msg *inner, const uint8_t *plain)
{
	uint32_t msgid = m->hdr.msgid;
	uint16_t group = addke_next(sa);
	struct buf out = BUF_INIT, pub = BUF_INIT, shared = BUF_INIT;
	struct ike_kex *kex = NULL;
	struct ike_builder bld;
	struct ike_ke ke;
	int r;

	(void)plain;
	if (!sa->inter) {
		/* §3.2: only when both announced support; not an exchange
		 * of this IKE SA, as an unknown type would be. */
		log_info_rl("%s: IKE_INTERMEDIATE request without INTERMEDIATE_EXCHANGE_SUPPORTED in IKE_SA_INIT, dropped",
			    ike_sa_name(sa));
		sa->e->st.rx_dropped++;
		return;
	}
	if (sa->inter_n >= inter_max(sa)) {
		inter_refuse(sa, msgid, "more IKE_INTERMEDIATE exchanges than this IKE SA needs (RFC 9242 section 5)");
		return;
	}
	if (addke_check(sa, msgid, inner, group, &ke))
		return;
	/* IntAuth_i and IntAuth_r under this exchange's keys (RFC 9242
	 * §3.3.2); the shared secret first, then our KEr(n). */
	if (int_auth_peers(sa, true)) {
		inter_refuse(sa, msgid, "cannot compute IntAuth_i");
		return;
	}
	if (group) {
		kex = kex_new_responder(group);
		if (!kex || kex_derive(kex, ke.data.p, ke.data.len, &shared) ||
		    kex_public(kex, &pub)) {
			kex_free(kex);
			buf_wipe(&shared);
			inter_refuse(sa, msgid, kex ? "invalid KE value" : "key exchange method not available");
			return;
		}
		kex_free(kex);
	}
	chain_begin(&bld, &out);
	if (group)
		ike_put_ke(&bld, group, pub.data, pub.len);
	r = int_auth_ours(sa, true, msgid, &bld);
	if (!r)
		r = ike_send_response(sa, IKEV2_EXCH_IKE_INTERMEDIATE, msgid, &bld);
	buf_free(&out);
	buf_free(&pub);
	/* RFC 9370 §2.2.2: the next exchange goes under the updated keys. */
	if (!r && group)
		r = addke_update(sa, &shared);
	buf_wipe(&shared);
	if (r) {
		sa->e->st.ike_failed++;
		ike_sa_destroy(sa, "cannot send the IKE_INTERMEDIATE response");
		return;
	}
	sa->inter_n++;
	if (group)
		log_info("%s: IKE_INTERMEDIATE %u answered: additional key exchange %s, keys updated",
			 ike_sa_name(sa), sa->inter_n, ikev2_transform_name(IKEV2_TRANS_KE, group));
	else
		log_debug("%s: IKE_INTERMEDIATE %u answered", ike_sa_name(sa), sa->inter_n);
}
