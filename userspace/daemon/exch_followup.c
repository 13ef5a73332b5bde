// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_FOLLOWUP_KE (RFC 9370 §2.2.4), both roles: when the CREATE_CHILD_SA
 * that rekeys the IKE SA, or makes or rekeys a Child SA, negotiates
 * Additional Key Exchange types with a method, its response carries KEr of
 * type 4 and N(ADDITIONAL_KEY_EXCHANGE) with a link blob; each
 * IKE_FOLLOWUP_KE request brings KEi(n) of the n-th additional method and
 * the blob back, its response KEr(n) and the next blob (none after the
 * last).  The new IKE SA or Child SA exists only then: the IKE SA keyed
 * from SKEYSEED = prf(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n)) and the
 * rest as in RFC 7296 §2.18, the Child SA from KEYMAT = prf+(SK_d, SK(0) |
 * Ni | Nr | SK(1) | ... | SK(n)), both with the same seed.
 *
 * The responder answers an unknown blob, or one whose state it dropped
 * (FOLLOWUP_WAIT_MS after its answer: §2.2.4 suggests 5 to 20 s), with
 * STATE_NOT_FOUND; the initiator takes that, or any error, as the failure
 * of the whole series and tries it again later, until
 * FOLLOWUP_NOT_FOUND_MAX series in a row ended in STATE_NOT_FOUND: then it
 * deletes the IKE SA.  Any key exchange method goes, the responder
 * deriving before it answers (a KEM's ciphertext).
 */
#include <errno.h>
#include <stdio.h>
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

/* The suite whose ADDKE types the series runs. */
static const struct ike_suite *followup_suite(const struct ike_followup *f)
{
	return f->ns ? &f->ns->suite : &f->child->esp;
}

void followup_clear(struct ike_followup *f)
{
	struct ike_sa *ns;
	struct child_sa *c;

	if (!f)
		return;
	ns = f->ns;
	c = f->child;
	ike_sa_unref(ns);
	f->ns = NULL;
	f->child = NULL;
	f->old = NULL;
	f->n = 0;
	f->link_len = 0;
	buf_wipe(&f->seed);
	kex_free(f->kex);
	f->kex = NULL;
	if (ns)
		ike_sa_destroy(ns, NULL);
	if (c)
		child_free(c, false);	/* never installed */
}

/* SK(0) | Ni | Nr to start the seed of the new SA's keys, in *fp
 * (sa->fu_resp or sa->fu_init): made by the first series and kept until
 * the IKE SA goes, as most IKE SAs never run one. */
static int followup_seed(struct ike_followup **fp, const struct buf *gir, const struct buf *ni,
			 const struct buf *nr)
{
	struct ike_followup *f = *fp ? *fp : (*fp = calloc(1, sizeof(**fp)));

	if (!f)
		return -ENOMEM;
	followup_clear(f);
	if (buf_append(&f->seed, gir->data, gir->len) ||
	    buf_append(&f->seed, ni->data, ni->len) ||
	    buf_append(&f->seed, nr->data, nr->len)) {
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

	r = crypto_ike_rekey_keys_seed(&ns->suite, sa->suite.prf, ike_sk_d(sa), f->seed.data,
				       f->seed.len, ns->ni.data, ns->ni.len, ns->nr.data,
				       ns->nr.len, ns->spi_i, ns->spi_r, &ns->init->keys);
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

/* The same for a Child SA's series: the new Child SA goes. */
static void followup_child_expire(struct timer *t)
{
	struct child_sa *c = container_of(t, struct child_sa, expire_timer);
	struct ike_sa *sa = c->ike;

	log_info("%s: the peer's Child SA %s dropped: no IKE_FOLLOWUP_KE within %u s",
		 ike_sa_name(sa), c->cfg->name, FOLLOWUP_WAIT_MS / 1000);
	if (sa->fu_resp && sa->fu_resp->child == c)
		followup_clear(sa->fu_resp);
}

/* A fresh link blob for the next request, put in the response; the
 * wait for that request starts (on ns's life timer, or the new Child SA's
 * expire timer: neither runs before the SA is installed). */
static int followup_link(struct ike_followup *f, struct ike_sa *ns, struct ike_builder *bld)
{
	f->link_len = 8;
	if (crypto_random(f->link, f->link_len))
		return -EIO;
	ike_put_notify(bld, 0, NULL, 0, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, f->link, f->link_len);
	if (!ns)
		return timer_arm(f->child->ike->e->loop, &f->child->expire_timer,
				 FOLLOWUP_WAIT_MS, followup_child_expire);
	return timer_arm(ns->e->loop, &ns->life_timer, FOLLOWUP_WAIT_MS, followup_expire);
}

int followup_child_begin(struct ike_sa *sa, struct child_sa *c, struct child_sa *old,
			 const struct buf *gir, const struct buf *ni, const struct buf *nr)
{
	struct ike_followup *f;
	int r = followup_seed(&sa->fu_resp, gir, ni, nr);

	if (r)
		return r;
	f = sa->fu_resp;
	f->child = c;
	f->old = old;
	log_info("%s: Child SA %s by the peer: %u additional key exchanges to follow "
		 "(RFC 9370 IKE_FOLLOWUP_KE)", ike_sa_name(sa), c->cfg->name,
		 followup_count(&c->esp));
	return 0;
}

int followup_put_link(struct ike_sa *sa, struct ike_builder *bld)
{
	return followup_link(sa->fu_resp, NULL, bld);
}

int followup_begin(struct ike_sa *sa, uint32_t msgid, struct ike_sa *ns,
		   const struct ike_proposal *chosen, const struct buf *gir,
		   const struct buf *pub)
{
	struct ike_followup *f;
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	int r;

	r = followup_seed(&sa->fu_resp, gir, &ns->ni, &ns->nr);
	if (r)
		return r;
	f = sa->fu_resp;
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
	f->ns = ike_sa_ref(ns);	/* forgotten here if destroyed first */
	log_info("%s: IKE SA rekey by the peer: %u additional key exchanges to follow "
		 "(RFC 9370 IKE_FOLLOWUP_KE)", ike_sa_name(sa), followup_count(&ns->suite));
	return 0;
}

bool followup_busy(const struct ike_sa *sa)
{
	return sa->fu_init && (sa->fu_init->ns || sa->fu_init->child);
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

/* The last exchange of the peer's Child SA series: the Child SA into the
 * kernel (and its policies, when new), then the answer; it takes over. */
static void followup_child_last(struct ike_sa *sa, uint32_t msgid, struct ike_builder *bld)
{
	struct ike_followup *f = sa->fu_resp;
	struct child_sa *c = f->child, *old = f->old;
	int kr;

	timer_cancel(sa->e->loop, &c->expire_timer);
	kr = child_install_seed(c, &f->seed, false);
	if (!kr && !old)
		kr = child_policies(c);
	if (kr) {
		char why[96];

		snprintf(why, sizeof(why), "the kernel refused the SA (%s)", strerror(-kr));
		followup_clear(f);
		followup_refuse(sa, msgid, child_install_notify(kr, false), NULL, 0, why);
		return;
	}
	if (ike_send_response(sa, IKEV2_EXCH_IKE_FOLLOWUP_KE, msgid, bld)) {
		f->child = NULL;
		followup_clear(f);
		child_free(c, true);
		return;
	}
	f->child = NULL;
	f->old = NULL;
	followup_clear(f);
	log_info("%s: Child SA %s by the peer: %u additional key exchanges done",
		 ike_sa_name(sa), c->cfg->name, followup_count(&c->esp));
	child_peer_adopt(c, old);
}

void followup_rx_request(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ike_msg *inner, const uint8_t *plain)
{
	struct ike_followup *f = sa->fu_resp;
	uint32_t msgid = m->hdr.msgid;
	struct buf out = BUF_INIT, pub = BUF_INIT;
	const struct ike_suite *s;
	struct ike_builder bld;
	struct ike_notify link;
	struct ike_sa *ns;
	uint16_t group;
	int r;

	(void)plain;
	if (f && !f->ns && !f->child)
		followup_clear(f);	/* dropped (followup_expire): the seed too */
	if (ike_find_notify(inner, IKEV2_N_ADDITIONAL_KEY_EXCHANGE, &link) || !f ||
	    (!f->ns && !f->child) || !f->link_len || link.data.len != f->link_len ||
	    !crypto_equal(link.data.p, f->link, f->link_len)) {
		followup_refuse(sa, msgid, IKEV2_N_STATE_NOT_FOUND, NULL, 0,
				"no key exchange under way with that link (unknown, or dropped)");
		return;
	}
	ns = f->ns;
	s = followup_suite(f);
	group = followup_method(s, f->n);
	/* Refused INVALID_SYNTAX: that ends the IKE SA (§2.21.3, RFC 6989
	 * §2.5), once the request is handled (rx_encrypted). */
	if (!followup_ke(sa, msgid, inner, group, &pub))
		goto out;
	f->n++;
	chain_begin(&bld, &out);
	ike_put_ke(&bld, group, pub.data, pub.len);
	if (f->n < followup_count(s)) {
		r = followup_link(f, ns, &bld);
		if (!r)
			r = ike_send_response(sa, IKEV2_EXCH_IKE_FOLLOWUP_KE, msgid, &bld);
		if (r)
			followup_clear(f);
		goto out;
	}
	if (!ns) {
		followup_child_last(sa, msgid, &bld);
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
	ike_sa_unref(f->ns);
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
	uint16_t group = followup_method(followup_suite(f), f->n);
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

/* The whole series failed (§2.2.4): nothing of it installed; the rekey or
 * the new Child SA is tried again later, or, after STATE_NOT_FOUND
 * FOLLOWUP_NOT_FOUND_MAX times in a row, the IKE SA is deleted. */
static void followup_fail(struct ike_sa *sa, const char *why, bool not_found)
{
	struct ike_followup *f = sa->fu_init;
	const struct child_cfg *cc = f->child ? f->child->cfg : NULL;
	struct child_sa *old = f->old;

	if (cc)
		log_warn("%s: Child SA %s not %s: IKE_FOLLOWUP_KE failed: %s", ike_sa_name(sa),
			 cc->name, old ? "rekeyed" : "established", why);
	else
		log_warn("%s: IKE SA rekey failed in IKE_FOLLOWUP_KE: %s", ike_sa_name(sa), why);
	followup_clear(f);
	if (cc)
		sa->e->st.child_failed++;
	else
		sa->e->st.ike_failed++;
	sa->fu_not_found = not_found ? sa->fu_not_found + 1 : 0;
	if (sa->fu_not_found >= FOLLOWUP_NOT_FOUND_MAX) {
		log_warn("%s: STATE_NOT_FOUND for %u IKE_FOLLOWUP_KE series in a row: deleting "
			 "the IKE SA (RFC 9370 2.2.4)", ike_sa_name(sa), sa->fu_not_found);
		if (old && old->state == CHILD_S_REKEYING)
			old->state = CHILD_S_INSTALLED;
		sa->pending |= PEND_DELETE_IKE;	/* before anything else */
		if (sa->req.task == TASK_IKE_FOLLOWUP)
			ike_req_done(sa);
		ike_kick(sa);
		return;
	}
	/* the exchange answered, or a request not sent (its Message ID
	 * already taken by ike_req_continue) */
	if (sa->req.task == TASK_IKE_FOLLOWUP)
		ike_req_done(sa);
	/* §2.2.4: the initiator MAY start it again */
	if (old && old->state == CHILD_S_REKEYING) {
		old->state = CHILD_S_INSTALLED;
		child_rekey_later(old, exch_retry_delay());
	} else if (cc && !old) {
		child_new_refused(sa, cc, IKEV2_N_TEMPORARY_FAILURE);
	} else if (!cc) {
		ike_rekey_later(sa, exch_retry_delay());
	}
	ike_kick(sa);
}

/* The first IKE_FOLLOWUP_KE after our CREATE_CHILD_SA (f's new SA and
 * link set). */
static int followup_first(struct ike_sa *sa)
{
	struct ike_req *r = &sa->req;

	/* the CREATE_CHILD_SA is over; its new SA is ours until the last */
	ike_sa_unref(r->new_ike);
	r->new_ike = NULL;
	r->child = NULL;
	r->old = NULL;
	ike_req_continue(sa);
	if (followup_send(sa))
		followup_fail(sa, "the first request was not sent", false);
	return 0;	/* answered for */
}

/* Our series' seed and the response's link into fu_init; -errno (nothing
 * kept) when either fails. */
static int followup_init(struct ike_sa *sa, const struct ike_msg *inner, const struct buf *gir,
			 const struct buf *ni, const struct buf *nr)
{
	int r = followup_seed(&sa->fu_init, gir, ni, nr);

	if (r)
		return r;
	if (!followup_take_link(sa->fu_init, inner)) {
		buf_wipe(&sa->fu_init->seed);
		return -EBADMSG;
	}
	return 0;
}

int followup_start(struct ike_sa *sa, struct ike_sa *ns, const struct ike_msg *inner,
		   const struct buf *gir)
{
	int r = followup_init(sa, inner, gir, &ns->ni, &ns->nr);

	if (r)
		return r;
	sa->fu_init->ns = ike_sa_ref(ns);
	log_info("%s: rekeying the IKE SA: %u additional key exchanges (RFC 9370 "
		 "IKE_FOLLOWUP_KE)", ike_sa_name(sa), followup_count(&ns->suite));
	return followup_first(sa);
}

int followup_child_start(struct ike_sa *sa, struct child_sa *c, struct child_sa *old,
			 const struct ike_msg *inner, const struct buf *ni,
			 const struct buf *nr, const struct buf *gir)
{
	int r = followup_init(sa, inner, gir, ni, nr);

	if (r)
		return r;
	sa->fu_init->child = c;
	sa->fu_init->old = old;
	log_info("%s: %s Child SA %s: %u additional key exchanges (RFC 9370 IKE_FOLLOWUP_KE)",
		 ike_sa_name(sa), old ? "rekeying" : "creating", c->cfg->name,
		 followup_count(&c->esp));
	return followup_first(sa);
}

void followup_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct ike_followup *f = sa->fu_init;
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct buf sk = BUF_INIT;
	struct ike_sa *ns;
	struct child_sa *c, *old;
	uint16_t err = ike_first_error(inner);
	uint16_t group;
	struct ike_ke ke;
	int r;

	if (!f || (!f->ns && !f->child)) {
		ike_req_done(sa);
		return;
	}
	ns = f->ns;
	c = f->child;
	old = f->old;
	if (err) {
		/* STATE_NOT_FOUND or another: the whole series failed */
		followup_fail(sa, ikev2_notify_name(err), err == IKEV2_N_STATE_NOT_FOUND);
		return;
	}
	group = followup_method(followup_suite(f), f->n);
	if (!pk || ike_get_ke(pk, &ke) || ke.group != group) {
		followup_fail(sa, "no KEr of the negotiated method", false);
		return;
	}
	r = kex_derive(f->kex, ke.data.p, ke.data.len, &sk) ||
	    buf_append(&f->seed, sk.data, sk.len);
	buf_wipe(&sk);
	if (r) {
		followup_fail(sa, "the key exchange failed", false);
		return;
	}
	f->n++;
	if (f->n < followup_count(followup_suite(f))) {
		if (!followup_take_link(f, inner)) {
			followup_fail(sa, "no ADDITIONAL_KEY_EXCHANGE for the next exchange", false);
			return;
		}
		ike_req_continue(sa);
		if (followup_send(sa))
			followup_fail(sa, "the next request was not sent", false);
		return;
	}
	sa->fu_not_found = 0;
	if (c) {
		/* KEYMAT = prf+(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n)) */
		r = child_install_seed(c, &f->seed, true);
		f->child = NULL;
		f->old = NULL;
		followup_clear(f);
		log_info("%s: Child SA %s: %u additional key exchanges done", ike_sa_name(sa),
			 c->cfg->name, followup_count(&c->esp));
		child_new_installed(sa, c, old, r, false);
		return;
	}
	if (followup_keys(sa, f)) {
		followup_fail(sa, "the new keys were not made", false);
		return;
	}
	ike_sa_unref(f->ns);
	f->ns = NULL;
	followup_clear(f);
	ike_rekey_finish(sa, ns);
}
