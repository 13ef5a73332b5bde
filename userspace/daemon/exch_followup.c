// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_FOLLOWUP_KE (RFC 9370 §2.2.4) for IKE SA rekeys, both roles: when
 * the CREATE_CHILD_SA that rekeys the IKE SA negotiates Additional Key
 * Exchange types with a method, its response carries KEr of type 4 and
 * N(ADDITIONAL_KEY_EXCHANGE) with a link blob; each IKE_FOLLOWUP_KE
 * request brings KEi(n) of the n-th additional method and the blob back,
 * its response KEr(n) and the next blob (none after the last).  The new
 * IKE SA exists only then, keyed from SKEYSEED = prf(SK_d, SK(0) | Ni | Nr
 * | SK(1) | ... | SK(n)) and the rest as in RFC 7296 §2.18.
 *
 * The responder answers an unknown blob, or one whose state it dropped
 * (FOLLOWUP_WAIT_MS after its answer: §2.2.4 suggests 5 to 20 s), with
 * STATE_NOT_FOUND; the initiator takes that, or any error, as the failure
 * of the whole rekey and tries it again later.  Any key exchange method
 * goes, the responder deriving before it answers (a KEM's ciphertext).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exch.h"
#include "log.h"

/* §2.2.4: how long the responder waits for the next IKE_FOLLOWUP_KE. */
#define FOLLOWUP_WAIT_MS 20000

unsigned int followup_count(const struct ike_suite *s)
{
	unsigned int n = 0;

	for (int i = 0; i < IKEV2_ADDKE_MAX; i++)
		n += s->addke[i] != IKEV2_KE_NONE;
	return n;
}

uint16_t followup_method(const struct ike_suite *s, unsigned int n)
{
	unsigned int k = 0;

	for (int i = 0; i < IKEV2_ADDKE_MAX; i++)
		if (s->addke[i] != IKEV2_KE_NONE && k++ == n)
			return s->addke[i];
	return 0;
}

void followup_clear(struct ike_followup *f)
{
	struct ike_sa *ns;

	if (!f)
		return;
	ns = f->ns;

	f->ns = NULL;
	f->n = 0;
	f->link_len = 0;
	buf_wipe(&f->seed);
	kex_free(f->kex);
	f->kex = NULL;
	if (ns)
		ike_sa_destroy(ns, NULL);
}

/* One role's state (sa->fu_resp or sa->fu_init), made by its first rekey
 * with additional key exchanges and freed with the SA: most IKE SAs never
 * run one.  NULL when out of memory. */
static struct ike_followup *followup_get(struct ike_followup **fp)
{
	if (!*fp)
		*fp = calloc(1, sizeof(**fp));
	return *fp;
}

/* SK(0) | Ni | Nr to start the seed of ns's keys. */
static int followup_seed(struct ike_followup *f, struct ike_sa *ns, const struct buf *gir)
{
	followup_clear(f);
	if (buf_append(&f->seed, gir->data, gir->len) ||
	    buf_append(&f->seed, ns->ni.data, ns->ni.len) ||
	    buf_append(&f->seed, ns->nr.data, ns->nr.len)) {
		buf_wipe(&f->seed);
		return -ENOMEM;
	}
	return 0;
}

/* The new SA's keys from the whole seed, with the old SA's PRF and SK_d. */
static int followup_keys(struct ike_sa *sa, struct ike_followup *f)
{
	struct ike_sa *ns = f->ns;
	int r;

	r = crypto_ike_rekey_keys_seed(&ns->suite, sa->suite.prf, &sa->keys.sk_d, f->seed.data,
				       f->seed.len, ns->ni.data, ns->ni.len, ns->nr.data,
				       ns->nr.len, ns->spi_i, ns->spi_r, &ns->keys);
	return r ? r : ike_sa_keys_set(ns);
}

/* --- responder ----------------------------------------------------------------- */

/* §2.2.4: no next request in time, the state goes (the old SA forgets
 * its new one as ike_sa_destroy() says: ns is referenced). */
static void followup_expire(struct timer *t)
{
	struct ike_sa *ns = container_of(t, struct ike_sa, life_timer);

	log_info("%s: the peer's IKE SA rekey dropped: no IKE_FOLLOWUP_KE within %u s",
		 ike_sa_name(ns), FOLLOWUP_WAIT_MS / 1000);
	ike_sa_destroy(ns, NULL);
}

/* A fresh link blob for the next request, put in the response; the
 * wait for that request starts. */
static int followup_link(struct ike_followup *f, struct ike_sa *ns, struct ike_builder *bld)
{
	f->link_len = 8;
	if (crypto_random(f->link, f->link_len))
		return -EIO;
	ike_put_notify(bld, 0, NULL, 0, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, f->link, f->link_len);
	return timer_arm(ns->e->loop, &ns->life_timer, FOLLOWUP_WAIT_MS, followup_expire);
}

int followup_begin(struct ike_sa *sa, uint32_t msgid, struct ike_sa *ns,
		   const struct ike_proposal *chosen, const struct buf *gir,
		   const struct buf *pub)
{
	struct ike_followup *f = followup_get(&sa->fu_resp);
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	int r;

	if (!f)
		return -ENOMEM;
	r = followup_seed(f, ns, gir);
	if (r)
		return r;
	chain_begin(&bld, &out);
	prop_put_chosen(&bld, chosen, &ns->suite, ns->spi_r, 8);
	ike_put_nonce(&bld, ns->nr.data, ns->nr.len);
	ike_put_ke(&bld, ns->suite.ke, pub->data, pub->len);
	r = followup_link(f, ns, &bld);
	if (!r)
		r = ike_send_response(sa, IKEV2_EXCH_CREATE_CHILD_SA, msgid, &bld);
	buf_free(&out);
	if (r) {
		buf_wipe(&f->seed);
		return r;
	}
	f->ns = ns;
	ns->referenced = true;	/* forgotten here if destroyed first */
	log_info("%s: IKE SA rekey by the peer: %u additional key exchanges to follow "
		 "(RFC 9370 IKE_FOLLOWUP_KE)", ike_sa_name(sa), followup_count(&ns->suite));
	return 0;
}

bool followup_busy(const struct ike_sa *sa)
{
	return sa->fu_init && sa->fu_init->ns;
}

static void followup_refuse(struct ike_sa *sa, uint32_t msgid, uint16_t type,
			    const uint8_t *data, size_t len, const char *why)
{
	log_info("%s: IKE_FOLLOWUP_KE request refused (%s): %s", ike_sa_name(sa),
		 ikev2_notify_name(type), why);
	ike_respond_notify(sa, IKEV2_EXCH_IKE_FOLLOWUP_KE, msgid, type, data, len);
}

/* SK(n) of the request's KEi(n) into the seed, KEr(n) into pub; false
 * when refused (answered, the rekey dropped). */
static bool followup_ke(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner,
			uint16_t group, struct buf *pub)
{
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct ike_followup *f = sa->fu_resp;
	struct buf sk = BUF_INIT;
	struct ike_kex *kex;
	struct ike_ke ke;
	int r;

	if (!pk || ike_get_ke(pk, &ke)) {
		followup_clear(f);
		followup_refuse(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "no usable KE");
		return false;
	}
	if (ke.group != group) {
		uint8_t g[2] = { (uint8_t)(group >> 8), (uint8_t)group };

		/* §2.2.4: the method MUST be the n-th negotiated one */
		followup_clear(f);
		followup_refuse(sa, msgid, IKEV2_N_INVALID_KE_PAYLOAD, g, 2,
				"not the negotiated method");
		return false;
	}
	/* The initiator's value first: an ML-KEM ciphertext is made from it. */
	kex = kex_new_responder(group);
	r = !kex || kex_derive(kex, ke.data.p, ke.data.len, &sk) || kex_public(kex, pub) ||
	    buf_append(&f->seed, sk.data, sk.len);
	kex_free(kex);
	buf_wipe(&sk);
	if (r) {
		followup_clear(f);
		followup_refuse(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "key exchange failed");
		return false;
	}
	return true;
}

void followup_rx_request(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ike_msg *inner, const uint8_t *plain)
{
	struct ike_followup *f = sa->fu_resp;
	uint32_t msgid = m->hdr.msgid;
	struct buf out = BUF_INIT, pub = BUF_INIT;
	struct ike_builder bld;
	struct ike_notify link;
	struct ike_sa *ns;
	uint16_t group;
	int r;

	(void)plain;
	if (f && !f->ns)
		followup_clear(f);	/* dropped (followup_expire): the seed too */
	if (ike_find_notify(inner, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, &link) || !f || !f->ns ||
	    !f->link_len || link.data.len != f->link_len ||
	    !crypto_equal(link.data.p, f->link, f->link_len)) {
		followup_refuse(sa, msgid, IKEV2_N_STATE_NOT_FOUND, NULL, 0,
				"no key exchange under way with that link (unknown, or dropped)");
		return;
	}
	ns = f->ns;
	group = followup_method(&ns->suite, f->n);
	if (!followup_ke(sa, msgid, inner, group, &pub))
		goto out;
	f->n++;
	chain_begin(&bld, &out);
	ike_put_ke(&bld, group, pub.data, pub.len);
	if (f->n < followup_count(&ns->suite)) {
		r = followup_link(f, ns, &bld);
		if (!r)
			r = ike_send_response(sa, IKEV2_EXCH_IKE_FOLLOWUP_KE, msgid, &bld);
		if (r)
			followup_clear(f);
		goto out;
	}
	/* The last one: the new IKE SA's keys, then it takes over. */
	timer_cancel(sa->e->loop, &ns->life_timer);
	r = followup_keys(sa, f);
	if (!r)
		r = ike_send_response(sa, IKEV2_EXCH_IKE_FOLLOWUP_KE, msgid, &bld);
	if (r) {
		followup_clear(f);
		goto out;
	}
	f->ns = NULL;
	followup_clear(f);
	log_info("%s: IKE SA rekey by the peer: %u additional key exchanges done",
		 ike_sa_name(sa), followup_count(&ns->suite));
	ike_rekey_adopt(sa, ns);
out:
	buf_free(&pub);
	buf_free(&out);
}

/* --- initiator ----------------------------------------------------------------- */

/* The link blob of a response into f; false if there is none (or one too
 * long to keep). */
static bool followup_take_link(struct ike_followup *f, const struct ike_msg *inner)
{
	struct ike_notify n;

	f->link_len = 0;
	if (ike_find_notify(inner, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, &n) || !n.data.len ||
	    n.data.len > sizeof(f->link))
		return false;
	memcpy(f->link, n.data.p, n.data.len);
	f->link_len = n.data.len;
	return true;
}

/* KEi(n) of the next method and the link back (§2.2.4). */
static int followup_send(struct ike_sa *sa)
{
	struct ike_followup *f = sa->fu_init;
	uint16_t group = followup_method(&f->ns->suite, f->n);
	struct buf in = BUF_INIT, pub = BUF_INIT;
	struct ike_builder bld;
	int r;

	kex_free(f->kex);
	f->kex = kex_new(group);
	if (!f->kex || kex_public(f->kex, &pub)) {
		buf_free(&pub);
		return -ENOTSUP;
	}
	chain_begin(&bld, &in);
	ike_put_ke(&bld, group, pub.data, pub.len);
	ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, f->link, f->link_len);
	r = ike_send_request(sa, TASK_IKE_FOLLOWUP, IKEV2_EXCH_IKE_FOLLOWUP_KE, &bld);
	buf_free(&pub);
	buf_free(&in);
	return r;
}

static void followup_fail(struct ike_sa *sa, const char *why)
{
	log_warn("%s: IKE SA rekey failed in IKE_FOLLOWUP_KE: %s", ike_sa_name(sa), why);
	followup_clear(sa->fu_init);
	sa->e->st.ike_failed++;
	/* the exchange answered, or a request not sent (its Message ID
	 * already taken by ike_req_continue) */
	if (sa->req.task == TASK_IKE_FOLLOWUP)
		ike_req_done(sa);
	/* §2.2.4: the initiator MAY start the rekey again */
	ike_rekey_later(sa, exch_retry_delay());
	ike_kick(sa);
}

int followup_start(struct ike_sa *sa, struct ike_sa *ns, const struct ike_msg *inner,
		   const struct buf *gir)
{
	struct ike_followup *f = followup_get(&sa->fu_init);
	int r = f ? followup_seed(f, ns, gir) : -ENOMEM;

	if (r)
		return r;
	if (!followup_take_link(f, inner))
		return -EBADMSG;
	f->ns = ns;
	ns->referenced = true;
	/* the CREATE_CHILD_SA is over; its new SA is ours until the last */
	sa->req.new_ike = NULL;
	ike_req_continue(sa);
	r = followup_send(sa);
	if (r) {
		followup_fail(sa, "the first request was not sent");
		return 0;	/* answered for */
	}
	log_info("%s: rekeying the IKE SA: %u additional key exchanges (RFC 9370 "
		 "IKE_FOLLOWUP_KE)", ike_sa_name(sa), followup_count(&ns->suite));
	return 0;
}

void followup_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct ike_followup *f = sa->fu_init;
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct buf sk = BUF_INIT;
	struct ike_sa *ns = f ? f->ns : NULL;
	uint16_t err = exch_first_error(inner);
	uint16_t group;
	struct ike_ke ke;
	int r;

	if (!ns) {
		ike_req_done(sa);
		return;
	}
	if (err) {
		/* STATE_NOT_FOUND or another: the whole rekey failed */
		followup_fail(sa, ikev2_notify_name(err));
		return;
	}
	group = followup_method(&ns->suite, f->n);
	if (!pk || ike_get_ke(pk, &ke) || ke.group != group) {
		followup_fail(sa, "no KEr of the negotiated method");
		return;
	}
	r = kex_derive(f->kex, ke.data.p, ke.data.len, &sk) ||
	    buf_append(&f->seed, sk.data, sk.len);
	buf_wipe(&sk);
	if (r) {
		followup_fail(sa, "the key exchange failed");
		return;
	}
	f->n++;
	if (f->n < followup_count(&ns->suite)) {
		if (!followup_take_link(f, inner)) {
			followup_fail(sa, "no ADDITIONAL_KEY_EXCHANGE for the next exchange");
			return;
		}
		ike_req_continue(sa);
		if (followup_send(sa))
			followup_fail(sa, "the next request was not sent");
		return;
	}
	if (followup_keys(sa, f)) {
		followup_fail(sa, "the new keys were not made");
		return;
	}
	f->ns = NULL;
	followup_clear(f);
	ike_rekey_finish(sa, ns);
}
