// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_INTERMEDIATE (RFC 9242), as yet without additional key exchanges:
 * when both peers announced INTERMEDIATE_EXCHANGE_SUPPORTED in IKE_SA_INIT
 * and the initiator's connection says intermediate = yes, one exchange
 * between IKE_SA_INIT and IKE_AUTH (Libreswan's intermediate=yes does the
 * same), protected with IKE_SA_INIT's keys (§3.3.1), over whatever carries
 * IKE_AUTH (TCP after the separate transports' echo, RT-4), fragmented as
 * any encrypted message (RFC 7383).  Both peers chain every such message
 * into IntAuth_i / IntAuth_r (§3.3.2), which AUTH then signs.
 */
#include <errno.h>
#include <string.h>

#include "exch.h"
#include "log.h"

/*
 * §5: a responder must cap the exchanges an initiator may run before
 * IKE_AUTH.  Without additional key exchanges (RFC 9370) nothing needs
 * more than Libreswan's one round; the number of ADDKEs will set it.
 */
#define INTER_MAX	1

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
	const struct buf *skp = request ? &sa->keys.sk_pi : &sa->keys.sk_pr;
	struct buf *chain = request ? &sa->int_auth_i : &sa->int_auth_r;

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
	const struct ike_rx_sk *x = &sa->rx_sk;
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
	buf_append(octets, sa->int_auth_i.data, sa->int_auth_i.len);
	buf_append(octets, sa->int_auth_r.data, sa->int_auth_r.len);
	buf_put_u32(octets, sa->inter_n + 1);
	return buf_err(octets);
}

/* --- initiator --------------------------------------------------------------- */

int inter_start(struct ike_sa *sa)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int r;

	if (!sa->inter || sa->inter_n || sa->cfg->intermediate != CFG_INTER_YES)
		return auth_start(sa);
	/* §3.2: the Encrypted payload is there, empty with nothing to carry. */
	chain_begin(&bld, &in);
	r = int_auth_ours(sa, false, sa->my_msgid, &bld);
	if (!r)
		r = ike_send_request(sa, TASK_INTER, IKEV2_EXCH_IKE_INTERMEDIATE, &bld);
	buf_free(&in);
	return r;
}

static void inter_fail(struct ike_sa *sa, const char *why)
{
	sa->e->st.ike_failed++;
	log_warn("%s: IKE_INTERMEDIATE failed: %s", ike_sa_name(sa), why);
	ike_sa_destroy(sa, NULL);
}

void inter_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	const struct ike_pl *pl = NULL;
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
	if (int_auth_peers(sa, false)) {
		inter_fail(sa, "cannot compute IntAuth_r");
		return;
	}
	sa->inter_n++;
	log_info("%s: IKE_INTERMEDIATE %u done", ike_sa_name(sa), sa->inter_n);
	ike_req_done(sa);
	if (sa->state == IKE_S_AUTH_SENT && auth_start(sa)) {
		sa->e->st.ike_failed++;
		ike_sa_destroy(sa, "cannot build IKE_AUTH");
	}
}

/* --- responder --------------------------------------------------------------- */

static void inter_refuse(struct ike_sa *sa, uint32_t msgid, const char *why)
{
	log_warn("%s: IKE_INTERMEDIATE request refused: %s", ike_sa_name(sa), why);
	ike_respond_notify(sa, IKEV2_EXCH_IKE_INTERMEDIATE, msgid, IKEV2_N_INVALID_SYNTAX,
			   NULL, 0);
	sa->e->st.ike_failed++;
	ike_sa_destroy(sa, NULL);
}

void inter_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		      const struct ike_msg *inner, const uint8_t *plain)
{
	uint32_t msgid = m->hdr.msgid;
	struct buf out = BUF_INIT;
	struct ike_builder bld;
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
	if (sa->inter_n >= INTER_MAX) {
		inter_refuse(sa, msgid, "more IKE_INTERMEDIATE exchanges than this IKE SA needs (RFC 9242 section 5)");
		return;
	}
	/* RFC 9370's additional key exchanges are not negotiated yet: a KE
	 * would key something this end does not. */
	if (ike_msg_find(inner, IKEV2_PL_KE)) {
		inter_refuse(sa, msgid, "a KE payload, but no additional key exchange was negotiated");
		return;
	}
	if (int_auth_peers(sa, true)) {
		inter_refuse(sa, msgid, "cannot compute IntAuth_i");
		return;
	}
	chain_begin(&bld, &out);
	r = int_auth_ours(sa, true, msgid, &bld);
	if (!r)
		r = ike_send_response(sa, IKEV2_EXCH_IKE_INTERMEDIATE, msgid, &bld);
	buf_free(&out);
	if (r) {
		sa->e->st.ike_failed++;
		ike_sa_destroy(sa, "cannot send the IKE_INTERMEDIATE response");
		return;
	}
	sa->inter_n++;
	log_debug("%s: IKE_INTERMEDIATE %u answered", ike_sa_name(sa), sa->inter_n);
}
