// SPDX-License-Identifier: GPL-2.0
/*
 * CREATE_CHILD_SA (RFC 7296 §1.3): a new Child SA, a Child SA rekey
 * (REKEY_SA, §1.3.3) and an IKE SA rekey (§1.3.2, §2.18), both roles,
 * with the collision rules of §2.8.1, §2.8.2 and §2.25.
 *
 * Rekeying makes the new SA first and deletes the old one after (§2.8):
 * the initiator of a rekey sends the Delete.  When both ends rekey the same
 * SA at once, both new SAs are made; the one whose exchange carried the
 * lowest of the four nonces is redundant and deleted by its creator, and
 * the survivor inherits the SPD entries (Child SA) or the Child SAs (IKE
 * SA).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exch.h"
#include "log.h"
#include "tcp.h"

#define RETRY_MIN_MS	2000u	/* after TEMPORARY_FAILURE (§2.25) */
#define RETRY_SPAN_MS	8000u

static int nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* The lower of two nonces. */
static struct ike_span nonce_min(const struct buf *a, const struct ike_span *b)
{
	if (nonce_cmp(a->data, a->len, b->p, b->len) <= 0)
		return (struct ike_span){ .p = a->data, .len = a->len };
	return *b;
}

/* The lower nonce of the peer's exchange that collided with ours, kept
 * until ours is answered (*keep allocated the first time: most SAs never
 * see a collision). */
static void collision_keep(struct ike_sa *sa, const struct buf *a, const struct ike_span *b,
			   struct buf **keep)
{
	struct ike_span m = nonce_min(a, b);

	if (!*keep && (*keep = malloc(sizeof(**keep))))
		buf_init(*keep);
	if (*keep)
		buf_reset(*keep);
	if (!*keep || buf_append(*keep, m.p, m.len))
		log_err("%s: out of memory: the rekey collision cannot be decided by "
			"nonces; ours will be kept", ike_sa_name(sa));
}

/* §2.8.1, §2.8.2: the exchange with the lowest of the four nonces made
 * the redundant SA.  ours: our request's nonce and the peer's answer;
 * kept NULL: no nonce was kept, ours stays. */
static bool collision_lost(const struct buf *our_req, const struct ike_span *their_resp,
			   const struct buf *kept)
{
	struct ike_span m = nonce_min(our_req, their_resp);

	return kept && !buf_err(kept) && nonce_cmp(m.p, m.len, kept->data, kept->len) < 0;
}

uint64_t exch_retry_delay(void)
{
	uint32_t j = 0;

	crypto_random(&j, sizeof(j));
	return RETRY_MIN_MS + j % RETRY_SPAN_MS;
}

/* The want of cc (NULL: no such child, or out of memory), the table
 * sized by the connection's children at the first refusal. */
static struct child_want *child_want_of(struct ike_sa *sa, const struct child_cfg *cc)
{
	const struct child_cfg *x;
	unsigned int i = 0, n = 0;

	for (x = sa->cfg->children; x && x != cc; x = x->next)
		i++;
	if (!x)
		return NULL;
	if (!sa->wants) {
		for (x = sa->cfg->children; x; x = x->next)
			n++;
		sa->wants = calloc(n, sizeof(*sa->wants));
		if (!sa->wants) {
			log_err("%s: out of memory: the refusal of %s is not kept",
				ike_sa_name(sa), cc->name);
			return NULL;
		}
		sa->n_wants = n;
	}
	return i < sa->n_wants ? &sa->wants[i] : NULL;
}

/* May the pass ask for the i-th of the connection's children now? */
static bool child_want_now(const struct ike_sa *sa, unsigned int i)
{
	const struct child_want *w = i < sa->n_wants ? &sa->wants[i] : NULL;

	return !w || (!w->refused && w->due_ms <= ike_now());
}

/* The pass is over: its timer for the Child SAs still waiting. */
static void child_wants_rearm(struct ike_sa *sa)
{
	uint64_t now = ike_now(), due = 0;

	for (unsigned int i = 0; i < sa->n_wants; i++) {
		const struct child_want *w = &sa->wants[i];

		if (!w->refused && w->due_ms > now && (!due || w->due_ms < due))
			due = w->due_ms;
	}
	if (due)
		ike_children_later(sa, due - now);
}

void child_new_done(struct ike_sa *sa, const struct child_cfg *cc)
{
	struct child_want *w = sa->wants ? child_want_of(sa, cc) : NULL;

	if (w)
		w->temp_fails = 0;
}

/* §2.25: TEMPORARY_FAILURE: cc again after 2-10 s, then after twice that
 * each time; after CHILD_TEMP_RETRIES in vain it is refused. */
static void child_new_later(struct ike_sa *sa, const struct child_cfg *cc)
{
	struct child_want *w = child_want_of(sa, cc);
	uint64_t ms = exch_retry_delay();

	if (w) {
		if (++w->temp_fails > CHILD_TEMP_RETRIES) {
			w->refused = true;
			log_warn("%s: Child SA %s refused with TEMPORARY_FAILURE %u times; not asked for again until an initiate or a reload",
				 ike_sa_name(sa), cc->name, w->temp_fails);
			return;
		}
		ms <<= w->temp_fails - 1;
		w->due_ms = ike_now() + ms;
	}
	log_info("%s: asking for %s again in %llu ms", ike_sa_name(sa), cc->name,
		 (unsigned long long)ms);
	ike_children_later(sa, ms);
}

bool child_refusal_notify(uint16_t type)
{
	switch (type) {
	case IKEV2_N_NO_PROPOSAL_CHOSEN:
	case IKEV2_N_TS_UNACCEPTABLE:
	case IKEV2_N_SINGLE_PAIR_REQUIRED:
	case IKEV2_N_INTERNAL_ADDRESS_FAILURE:
	case IKEV2_N_FAILED_CP_REQUIRED:
	case IKEV2_N_NO_ADDITIONAL_SAS:
	case IKEV2_N_TEMPORARY_FAILURE:
		return true;
	default:
		return false;
	}
}

void child_new_refused(struct ike_sa *sa, const struct child_cfg *cc, uint16_t err)
{
	struct child_want *w;

	if (err == IKEV2_N_TEMPORARY_FAILURE) {
		child_new_later(sa, cc);
		return;
	}
	if (child_refusal_notify(err) && (w = child_want_of(sa, cc)))
		w->refused = true;
}

void child_refused_by_kernel(struct child_sa *c, int err)
{
	char why[96];

	snprintf(why, sizeof(why), "the kernel refused it (%s)", strerror(-err));
	child_refuse_at_peer(c, why);
}

void child_refuse_at_peer(struct child_sa *c, const char *why)
{
	struct ike_sa *sa = c->ike;

	log_warn("%s: Child SA %s not established: %s; deleting it at the peer",
		 ike_sa_name(sa), c->cfg->name, why);
	sa->e->st.child_failed++;
	child_link(c);
	c->pending |= CHILD_PEND_DELETE;
}

void child_rekey_undo(struct child_sa *c)
{
	struct child_sa *o;

	for (o = c->ike->children; o; o = o->next) {
		if (o->rekeyed_by != c || o->state != CHILD_S_REKEYED)
			continue;
		log_info("%s: Child SA %s (%08x) stays: its rekey was undone", ike_sa_name(c->ike),
			 o->cfg->name, ntohl(o->spi_in));
		o->policies = c->policies;
		c->policies = false;
		o->rekeyed_by = NULL;
		o->state = CHILD_S_INSTALLED;
	}
}

/* The new IKE SA of a rekey takes over everything about the peer: its
 * transport and NAT state, extensions, identity, and the kernel's
 * keepalives (registered per peer, not per SA). */
static void ike_sa_succeed(struct ike_sa *ns, struct ike_sa *sa)
{
	ike_xport_inherit(ns, sa);
	ns->peer_frag = sa->peer_frag;
	ns->peer_sig_hashes = sa->peer_sig_hashes;
	if (sa->peer_id && ike_sa_set_peer_id(ns, sa->peer_id))
		log_warn("%s: no memory for the peer's identity: unique and INITIAL_CONTACT will not see this IKE SA",
			 ike_sa_name(ns));
	ns->rekeys = sa->rekeys + 1;
	if (sa->kernel_keepalive) {
		ns->kernel_keepalive = true;
		sa->kernel_keepalive = false;
	}
}

static void ike_move_children(struct ike_sa *from, struct ike_sa *to)
{
	struct loop *l = from->e->loop;
	struct child_sa *c;

	/* RFC 9370 §2.2.4: a Child SA series of the peer's still waiting
	 * belongs to the old IKE SA and ends with it (its old Child SA is
	 * the new IKE SA's now) */
	if (from->fu_resp && from->fu_resp->child)
		followup_clear(from->fu_resp);
	while ((c = from->children)) {
		from->children = c->next;
		c->ike = to;
		c->next = to->children;
		to->children = c;
	}
	/* The virtual IPs' leases with them: the peer keeps its addresses
	 * (to the winner of a rekey collision, as the children). */
	if (from->rw && !to->rw) {
		to->rw = from->rw;
		from->rw = NULL;
	}
	/* And what is still to be asked for: refusals, a pass due or
	 * waiting for the exchange that rekeyed the IKE SA. */
	if (!to->wants) {
		to->wants = from->wants;
		to->n_wants = from->n_wants;
		from->wants = NULL;
		from->n_wants = 0;
	}
	if (timer_armed(&from->child_timer)) {
		uint64_t now = ike_now(), due = from->child_timer.due_ms;

		ike_children_later(to, due > now ? due - now : 0);
		timer_cancel(l, &from->child_timer);
	}
	if ((from->pending & PEND_CHILD) || from->child_again) {
		to->pending |= PEND_CHILD;
		from->pending &= ~PEND_CHILD;
		from->child_again = false;
	}
}

/* --- initiating ------------------------------------------------------------------- */

static int child_request(struct ike_sa *sa, struct child_sa *c, struct child_sa *old)
{
	struct buf in = BUF_INIT, pub = BUF_INIT;
	struct ike_builder bld;
	struct ike_req *r = &sa->req;
	uint16_t pfs = 0;
	int i, err;

	for (i = 0; i < c->cfg->n_esp && !pfs; i++)
		if (c->cfg->esp[i].n_ke)
			pfs = c->cfg->esp[i].ke[0];
	buf_wipe(&r->nonce);
	if (crypto_nonce(&r->nonce, IKE_NONCE_LEN))
		return -ENOMEM;
	if (pfs) {
		r->kex = kex_new(pfs);
		if (!r->kex || kex_public(r->kex, &pub))
			return -ENOTSUP;
	}
	chain_begin(&bld, &in);
	if (old)
		ike_put_notify(&bld, IKEV2_PROTO_ESP, (const uint8_t *)&old->spi_in, 4,
			       IKEV2_N_REKEY_SA, NULL, 0);
	if (c->cfg->mode == CFG_MODE_TRANSPORT)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	child_put_sa(c, &bld, false);
	ike_put_nonce(&bld, r->nonce.data, r->nonce.len);
	if (pfs)
		ike_put_ke(&bld, pfs, pub.data, pub.len);
	child_put_ts(c, &bld, true);
	buf_free(&pub);
	err = ike_send_request(sa, old ? TASK_CHILD_REKEY : TASK_CHILD_NEW,
			       IKEV2_EXCH_CREATE_CHILD_SA, &bld);
	buf_free(&in);
	if (!err) {
		r->child = c;
		r->old = old;
	}
	return err;
}

static int child_start_new(struct ike_sa *sa, struct child_sa *c)
{
	int r = child_request(sa, c, NULL);

	if (r) {
		kex_free(sa->req.kex);
		sa->req.kex = NULL;
		child_free(c, false);
		return r;
	}
	log_info("%s: creating Child SA %s", ike_sa_name(sa), c->cfg->name);
	return 0;
}

/* The connection's next missing Child SA asked for; false when the pass
 * is over. */
static bool child_pass_next(struct ike_sa *sa)
{
	const struct child_cfg *cc;
	struct child_sa *c;
	unsigned int i = 0;

	for (cc = sa->cfg->children; cc; cc = cc->next, i++) {
		bool have = false;

		if (i < sa->child_from)
			continue;	/* asked for in this pass */
		if (!child_want_now(sa, i))
			continue;	/* refused, or not yet again */
		for (c = sa->children; c; c = c->next)
			have |= c->cfg == cc && c->state != CHILD_S_REKEYED;
		if (!have) {
			struct child_sa *n = child_new(sa, cc);

			sa->child_from = i + 1;
			if (n && !child_start_new(sa, n)) {
				sa->pending |= PEND_CHILD;	/* more may follow */
				return true;
			}
		}
	}
	sa->child_from = 0;	/* the pass is over */
	return false;
}

bool child_pass(struct ike_sa *sa)
{
	if (child_pass_next(sa))
		return true;
	if (sa->child_again) {	/* due while the pass was under way */
		sa->child_again = false;
		if (child_pass_next(sa))
			return true;
	}
	child_wants_rearm(sa);
	return false;
}

int child_start_rekey(struct ike_sa *sa, struct child_sa *old)
{
	struct child_sa *c = child_new(sa, old->cfg);
	int r;

	if (!c)
		return -ENOMEM;
	c->reqid = old->reqid;	/* the SPD entries stay */
	r = child_request(sa, c, old);
	if (r) {
		kex_free(sa->req.kex);
		sa->req.kex = NULL;
		child_free(c, false);
		return r;
	}
	old->state = CHILD_S_REKEYING;
	log_info("%s: rekeying Child SA %s (%08x)", ike_sa_name(sa), old->cfg->name,
		 ntohl(old->spi_in));
	return 0;
}

int ike_start_rekey(struct ike_sa *sa)
{
	struct buf in = BUF_INIT, pub = BUF_INIT;
	struct ike_builder bld;
	struct ike_req *r = &sa->req;
	struct ike_sa *ns;
	int err;

	/* §2.18: whoever starts the rekey is the new SA's original initiator. */
	ns = ike_sa_new(sa->e, sa->cfg, true);
	if (!ns)
		return -ENOMEM;
	buf_wipe(&r->nonce);
	r->kex = kex_new(sa->suite.ke);
	if (crypto_nonce(&r->nonce, IKE_NONCE_LEN) || !r->kex || kex_public(r->kex, &pub)) {
		ike_sa_destroy(ns, NULL);
		return -ENOMEM;
	}
	chain_begin(&bld, &in);
	/* RFC 9370 §2.2.4: the ADDKE transforms too, run in IKE_FOLLOWUP_KE,
	 * when this SA has additional key exchanges (a peer without RFC 9370
	 * would refuse a proposal with unknown transform types) */
	prop_put_ike(&bld, sa->cfg, ns->spi_i, 8, sa->suite.ke, followup_count(&sa->suite) > 0);
	ike_put_nonce(&bld, r->nonce.data, r->nonce.len);
	ike_put_ke(&bld, sa->suite.ke, pub.data, pub.len);
	buf_free(&pub);
	err = ike_send_request(sa, TASK_IKE_REKEY, IKEV2_EXCH_CREATE_CHILD_SA, &bld);
	buf_free(&in);
	if (err) {
		ike_sa_destroy(ns, NULL);
		return err;
	}
	r->new_ike = ike_sa_ref(ns);	/* the shutdown may free it first */
	log_info("%s: rekeying the IKE SA", ike_sa_name(sa));
	return 0;
}

/* --- responses ---------------------------------------------------------------------- */

static int pfs_secret(struct ike_kex *kex, const struct ike_msg *inner, uint16_t group,
		      struct buf *gir)
{
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct ike_ke ke;

	if (!group)
		return 0;
	if (!kex || !pk || ike_get_ke(pk, &ke) || ke.group != group)
		return -EBADMSG;
	return kex_derive(kex, ke.data.p, ke.data.len, gir);
}

/* Decides a Child SA rekey collision once our exchange is done: true if
 * our new SA is the redundant one. */
static bool child_collision_lost(struct ike_sa *sa, struct child_sa *old,
				 const struct ike_span *nr)
{
	return collision_lost(&sa->req.nonce, nr, old->coll_nonce);
}

void child_new_installed(struct ike_sa *sa, struct child_sa *c, struct child_sa *old, int kr,
			 bool lost)
{
	sa->req.child = NULL;
	if (kr) {
		/* The peer has it: delete it there (§1.4.1); a rekey's old SA
		 * stays, to be rekeyed again later. */
		child_refused_by_kernel(c, kr);
		if (old && old->state == CHILD_S_REKEYING) {
			old->state = CHILD_S_INSTALLED;
			child_rekey_later(old, exch_retry_delay());
		}
		ike_req_done(sa);
		return;
	}
	child_link(c);
	child_schedule(c);
	if (old) {
		c->rekeys = old->rekeys + 1;
		if (lost) {
			/* Ours is redundant (§2.8.1): the peer's survives. */
			log_info("%s: simultaneous rekey of %s: ours is redundant",
				 ike_sa_name(sa), old->cfg->name);
			old->peer_rekey->policies = old->policies;
			old->rekeyed_by = old->peer_rekey;
			c->pending |= CHILD_PEND_DELETE;
		} else {
			c->policies = old->policies;
			old->rekeyed_by = c;
		}
		old->policies = false;
		old->state = CHILD_S_REKEYED;
		old->pending |= CHILD_PEND_DELETE;
	} else if (child_policies(c)) {
		c->pending |= CHILD_PEND_DELETE;
	} else {
		child_new_done(sa, c->cfg);
	}
	ike_req_done(sa);
}

/*
 * RFC 9370 §2.2.4: our rekey of old negotiated additional key exchanges
 * and crossed the peer's rekey of it, ours with the lowest nonce: "there
 * is nothing to delete yet", ours stops without IKE_FOLLOWUP_KE.  The
 * peer's new Child SA takes over: now if done, else when its series is.
 */
static void child_rekey_yield(struct ike_sa *sa, struct child_sa *old)
{
	log_info("%s: simultaneous rekey of %s: ours is redundant, its additional key "
		 "exchanges not started", ike_sa_name(sa), old->cfg->name);
	if (old->peer_rekey) {
		old->peer_rekey->policies = old->policies;
		old->policies = false;
		old->rekeyed_by = old->peer_rekey;
		old->state = CHILD_S_REKEYED;
		old->pending |= CHILD_PEND_DELETE;
	} else {
		old->state = CHILD_S_INSTALLED;	/* until the peer's series ends */
	}
	ike_req_done(sa);	/* frees our new one */
}

/*
 * RFC 6989 §2.5: the KE of a response to our CREATE_CHILD_SA failed its
 * check (err from kex_derive: -EPROTO, -EMSGSIZE): the peer has a bug,
 * and the IKE SA goes at once, by a Delete in a new exchange (queued here,
 * sent when the caller's ike_req_done kicks).
 */
static void response_ke_invalid(struct ike_sa *sa, int err)
{
	if (err != -EPROTO && err != -EMSGSIZE)
		return;
	log_warn("%s: the peer's KE in its CREATE_CHILD_SA response is invalid: deleting the "
		 "IKE SA (RFC 6989 2.5)", ike_sa_name(sa));
	sa->pending |= PEND_DELETE_IKE;
}

static void child_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct ike_req *r = &sa->req;
	struct child_sa *c = r->child, *old = r->old;
	const struct ike_pl *pn = ike_msg_find(inner, IKEV2_PL_NONCE);
	struct buf nr = BUF_INIT, gir = BUF_INIT;
	struct ike_span n;
	uint16_t err = ike_first_error(inner);
	bool crossed;
	int kr = 0;

	if (err) {
		log_warn("%s: CREATE_CHILD_SA for %s refused: %s", ike_sa_name(sa),
			 c->cfg->name, ikev2_notify_name(err));
		if (!old)
			child_new_refused(sa, c->cfg, err);	/* the pass goes on without it */
		if (old && old->state == CHILD_S_REKEYING) {
			old->state = CHILD_S_INSTALLED;
			if (err == IKEV2_N_TEMPORARY_FAILURE) {
				child_rekey_later(old, exch_retry_delay());
			} else if (err == IKEV2_N_CHILD_SA_NOT_FOUND && !old->peer_rekey) {
				/* §2.25: gone at the peer: drop it, make a new one. */
				child_free(old, true);
				sa->pending |= PEND_CHILD;
			}
		}
		sa->e->st.child_failed++;
		ike_req_done(sa);	/* frees r->child */
		return;
	}
	if (!pn || ike_get_nonce(pn, &n) || (err = child_accept(c, inner, false))) {
		log_warn("%s: unusable CREATE_CHILD_SA response: %s", ike_sa_name(sa),
			 err ? ikev2_notify_name(err) : "no nonce");
		goto fail;
	}
	if (buf_append(&nr, n.p, n.len) || (kr = pfs_secret(r->kex, inner, c->esp.ke, &gir))) {
		log_warn("%s: CREATE_CHILD_SA response has no usable KE", ike_sa_name(sa));
		response_ke_invalid(sa, kr);
		goto fail;
	}
	/* the peer's rekey of old crossed ours: done, or (RFC 9370 §2.2.4)
	 * its additional key exchanges still to come */
	crossed = old && (old->peer_rekey || (sa->fu_resp && sa->fu_resp->child &&
					  sa->fu_resp->old == old));
	if (followup_count(&c->esp)) {
		if (crossed && child_collision_lost(sa, old, &n)) {
			buf_wipe(&gir);
			buf_wipe(&nr);
			child_rekey_yield(sa, old);
			return;
		}
		if (followup_child_start(sa, c, old, inner, &r->nonce, &nr, &gir)) {
			log_warn("%s: CREATE_CHILD_SA response has no ADDITIONAL_KEY_EXCHANGE",
				 ike_sa_name(sa));
			goto fail;
		}
		buf_wipe(&gir);
		buf_wipe(&nr);
		return;
	}
	kr = child_install(c, &r->nonce, &nr, c->esp.ke ? &gir : NULL, true);
	child_new_installed(sa, c, old, kr,
			    !kr && old && old->peer_rekey && child_collision_lost(sa, old, &n));
	buf_wipe(&gir);
	buf_wipe(&nr);
	return;
fail:
	buf_wipe(&gir);
	buf_wipe(&nr);
	if (old && old->state == CHILD_S_REKEYING)
		old->state = CHILD_S_INSTALLED;
	sa->e->st.child_failed++;
	ike_req_done(sa);	/* frees r->child */
}

/* Our rekey of sa into ns is complete, its keys set (§2.18; RFC 9370
 * §2.2.4: after the last IKE_FOLLOWUP_KE): ns takes over, or the peer's
 * when its rekey crossed ours with a lower nonce (§2.8.2). */
void ike_rekey_finish(struct ike_sa *sa, struct ike_sa *ns)
{
	struct ike_span nr = { .p = ns->nr.data, .len = ns->nr.len };
	bool lost = false;

	ike_sa_succeed(ns, sa);
	ike_sa_link(ns);
	ike_sa_unref(sa->req.new_ike);
	sa->req.new_ike = NULL;
	if (sa->peer_ike)
		lost = collision_lost(&ns->ni, &nr, sa->coll_nonce);
	ike_sa_established(ns);
	if (lost) {
		log_info("%s: simultaneous IKE SA rekey: ours is redundant", ike_sa_name(sa));
		ike_move_children(sa, sa->peer_ike);
		sa->rekeyed_to = ike_sa_ref(sa->peer_ike);
		ns->pending |= PEND_DELETE_IKE;
	} else {
		ike_move_children(sa, ns);
		sa->rekeyed_to = ike_sa_ref(ns);
	}
	sa->state = IKE_S_REKEYED;
	log_info("%s: IKE SA rekeyed, now %s", ike_sa_name(sa), ike_sa_name(sa->rekeyed_to));
	ike_req_done(sa);
	sa->pending = PEND_DELETE_IKE;
	ike_kick(sa);
	ike_kick(ns);
}

/* RFC 9370 §2.2.4: additional key exchanges negotiated in a rekey that
 * crossed the peer's, ours with the lowest nonce: nothing to delete yet,
 * the rekey just stops (no IKE_FOLLOWUP_KE) and the peer's SA goes on. */
static void ike_rekey_yield(struct ike_sa *sa)
{
	log_info("%s: simultaneous IKE SA rekey: ours is redundant, its additional key "
		 "exchanges not started", ike_sa_name(sa));
	if (!sa->peer_ike) {
		/* the peer's still in IKE_FOLLOWUP_KE: it takes over when
		 * done (ike_rekey_adopt), as any rekey of the peer's */
		ike_req_done(sa);	/* destroys r->new_ike */
		return;
	}
	ike_move_children(sa, sa->peer_ike);
	sa->rekeyed_to = ike_sa_ref(sa->peer_ike);
	sa->state = IKE_S_REKEYED;
	ike_req_done(sa);	/* destroys r->new_ike */
	sa->pending = PEND_DELETE_IKE;
	ike_kick(sa);
}

static void ike_rekey_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct ike_req *r = &sa->req;
	struct ike_sa *ns = r->new_ike;
	const struct ike_pl *psa = ike_msg_find(inner, IKEV2_PL_SA);
	const struct ike_pl *pn = ike_msg_find(inner, IKEV2_PL_NONCE);
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct ike_sa_pl *sap = &sa->e->rx_sap;	/* 70 KB: not on the stack */
	struct ike_span n;
	struct ike_ke ke;
	struct buf gir = BUF_INIT;
	uint16_t err = ike_first_error(inner);
	int kr = 0;

	if (err) {
		log_warn("%s: IKE SA rekey refused: %s", ike_sa_name(sa), ikev2_notify_name(err));
		ike_req_done(sa);	/* destroys r->new_ike */
		if (err == IKEV2_N_TEMPORARY_FAILURE || err == IKEV2_N_NO_ADDITIONAL_SAS)
			ike_rekey_later(sa, exch_retry_delay());
		return;
	}
	if (!psa || !pn || !pk || ike_get_sa_reply(psa, sap) || ike_get_nonce(pn, &n) ||
	    ike_get_ke(pk, &ke) ||
	    prop_check_reply_ike(sa->cfg, sap, PROP_ADDKE_NEGOTIATE, &ns->suite) ||
	    sap->p[0].spi_len != 8 || ke.group != ns->suite.ke || ke.group != kex_group(r->kex) ||
	    (kr = kex_derive(r->kex, ke.data.p, ke.data.len, &gir))) {
		log_warn("%s: unusable IKE SA rekey response", ike_sa_name(sa));
		buf_wipe(&gir);
		response_ke_invalid(sa, kr);
		ike_req_done(sa);
		return;
	}
	memcpy(ns->spi_r, sap->p[0].spi, 8);
	/* the peer's rekey crossed ours: done, or in IKE_FOLLOWUP_KE */
	if (followup_count(&ns->suite) && (sa->peer_ike || (sa->fu_resp && sa->fu_resp->ns)) &&
	    collision_lost(&r->nonce, &n, sa->coll_nonce)) {
		buf_wipe(&gir);
		ike_rekey_yield(sa);
		return;
	}
	if (buf_append(&ns->ni, r->nonce.data, r->nonce.len) ||
	    buf_append(&ns->nr, n.p, n.len) ||
	    (followup_count(&ns->suite) ? followup_start(sa, ns, inner, &gir) :
	     crypto_ike_rekey_keys(&ns->suite, sa->suite.prf, ike_sk_d(sa), gir.data, gir.len,
				   ns->ni.data, ns->ni.len, ns->nr.data, ns->nr.len,
				   ns->spi_i, ns->spi_r, &ns->init->keys) ||
	     ike_sa_keys_set(ns))) {
		log_warn("%s: IKE SA rekey failed", ike_sa_name(sa));
		buf_wipe(&gir);
		if (sa->req.task == TASK_IKE_REKEY)
			ike_req_done(sa);
		return;
	}
	buf_wipe(&gir);
	if (!followup_count(&ns->suite))
		ike_rekey_finish(sa, ns);
}

void create_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	if (sa->req.task == TASK_IKE_REKEY)
		ike_rekey_response(sa, inner);
	else
		child_response(sa, inner);
}

/* --- requests ---------------------------------------------------------------------- */

static void respond_error(struct ike_sa *sa, uint32_t msgid, uint16_t type,
			  const uint8_t *data, size_t len, const char *why)
{
	log_info("%s: CREATE_CHILD_SA request refused (%s): %s", ike_sa_name(sa),
		 ikev2_notify_name(type), why);
	/* INVALID_SYNTAX ends the IKE SA once the request is handled
	 * (§2.21.3; RFC 6989 §2.5 says so of an invalid KE too) */
	ike_respond_notify(sa, IKEV2_EXCH_CREATE_CHILD_SA, msgid, type, data, len);
}

/* The peer's rekey of sa into ns is complete (§2.18; RFC 9370 §2.2.4:
 * after the last IKE_FOLLOWUP_KE): ns takes over, or, when our own rekey
 * is out, the collision is decided when ours is answered (§2.8.2). */
void ike_rekey_adopt(struct ike_sa *sa, struct ike_sa *ns)
{
	struct ike_span ni = { .p = ns->ni.data, .len = ns->ni.len };
	bool ours = sa->req.task == TASK_IKE_REKEY;

	ike_sa_succeed(ns, sa);
	ike_sa_link(ns);
	/* the lower nonce of this exchange, taken before
	 * ike_sa_established() wipes the new SA's nonces */
	if (ours)
		collision_keep(sa, &ns->nr, &ni, &sa->coll_nonce);
	ike_sa_established(ns);
	if (ours) {
		sa->peer_ike = ike_sa_ref(ns);
		log_info("%s: simultaneous IKE SA rekey", ike_sa_name(sa));
		return;
	}
	ike_move_children(sa, ns);
	sa->rekeyed_to = ike_sa_ref(ns);
	sa->state = IKE_S_REKEYED;
	log_info("%s: IKE SA rekeyed by the peer, now %s", ike_sa_name(sa), ike_sa_name(ns));
	/* The peer deletes the old SA (§2.8); pending work moves over. */
	ns->pending |= sa->pending & ~(PEND_DELETE_IKE | PEND_IKE_REKEY);
	sa->pending = 0;
	ike_kick(ns);
}

static void ike_rekey_request(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner,
			      const struct ike_sa_pl *sap)
{
	const struct ike_pl *pn = ike_msg_find(inner, IKEV2_PL_NONCE);
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct ike_span ni;
	struct ike_ke ke;
	struct ike_sa *ns;
	struct ike_kex *kex = NULL;
	struct buf out = BUF_INIT, pub = BUF_INIT, gir = BUF_INIT;
	struct ike_builder bld;
	enum ike_task t = sa->req.task;
	int idx, i;
	bool in_prop = false;

	/* §2.25.1: not while one of our Child SA exchanges is out; RFC 9370
	 * §2.2.4: nor while our rekey's IKE_FOLLOWUP_KE exchanges run. */
	if (t == TASK_CHILD_NEW || t == TASK_CHILD_REKEY || t == TASK_DELETE_CHILD ||
	    followup_busy(sa)) {
		respond_error(sa, msgid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0,
			      "a Child SA exchange of ours is in progress");
		return;
	}
	if (!pn || !pk || ike_get_nonce(pn, &ni) || ike_get_ke(pk, &ke)) {
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "no Nonce or KE");
		return;
	}
	ns = ike_sa_new(sa->e, sa->cfg, false);
	if (!ns)
		return;
	if (prop_select_ike(sa->cfg, sap, PROP_ADDKE_NEGOTIATE, &ns->suite, &idx) ||
	    sap->p[idx].spi_len != 8) {
		ike_sa_destroy(ns, NULL);
		respond_error(sa, msgid, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0,
			      "no acceptable IKE proposal");
		return;
	}
	for (i = 0; i < sap->p[idx].ntrans; i++)
		in_prop |= sap->p[idx].t[i].type == IKEV2_TRANS_KE &&
			   sap->p[idx].t[i].id == ke.group;
	if (ke.group != ns->suite.ke) {
		if (in_prop && prop_ke_allowed(sa->cfg, ke.group) && kex_supported(ke.group)) {
			ns->suite.ke = ke.group;
		} else {
			uint8_t g[2] = { (uint8_t)(ns->suite.ke >> 8), (uint8_t)ns->suite.ke };

			ike_sa_destroy(ns, NULL);
			respond_error(sa, msgid, IKEV2_N_INVALID_KE_PAYLOAD, g, 2,
				      "other key exchange group wanted");
			return;
		}
	}
	memcpy(ns->spi_i, sap->p[idx].spi, 8);
	/* The initiator's KE first: an ML-KEM response is made from it. */
	kex = kex_new_responder(ns->suite.ke);
	if (!kex || buf_append(&ns->ni, ni.p, ni.len) || crypto_nonce(&ns->nr, IKE_NONCE_LEN) ||
	    kex_derive(kex, ke.data.p, ke.data.len, &gir) || kex_public(kex, &pub) ||
	    (followup_count(&ns->suite) ? 0 : crypto_ike_rekey_keys(&ns->suite, sa->suite.prf, ike_sk_d(sa), gir.data, gir.len,
				  ns->ni.data, ns->ni.len, ns->nr.data, ns->nr.len,
				  ns->spi_i, ns->spi_r, &ns->init->keys) ||
	    ike_sa_keys_set(ns))) {
		kex_free(kex);
		buf_free(&pub);
		buf_wipe(&gir);
		ike_sa_destroy(ns, NULL);
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "key exchange failed");
		return;
	}
	kex_free(kex);
	if (followup_count(&ns->suite)) {
		/* RFC 9370 §2.2.4: the new SA waits for IKE_FOLLOWUP_KE; when
		 * our rekey is out, the collision is decided when it is
		 * answered, by this exchange's lower nonce */
		if (followup_begin(sa, msgid, ns, &sap->p[idx], &gir, &pub))
			ike_sa_destroy(ns, NULL);
		else if (t == TASK_IKE_REKEY)
			collision_keep(sa, &ns->nr, &ni, &sa->coll_nonce);
		buf_wipe(&gir);
		buf_free(&pub);
		return;
	}
	buf_wipe(&gir);
	chain_begin(&bld, &out);
	prop_put_chosen(&bld, &sap->p[idx], &ns->suite, ns->spi_r, 8);
	ike_put_nonce(&bld, ns->nr.data, ns->nr.len);
	ike_put_ke(&bld, ns->suite.ke, pub.data, pub.len);
	buf_free(&pub);
	if (ike_send_response(sa, IKEV2_EXCH_CREATE_CHILD_SA, msgid, &bld)) {
		buf_free(&out);
		ike_sa_destroy(ns, NULL);
		return;
	}
	buf_free(&out);
	ike_rekey_adopt(sa, ns);
}

/* REKEY_SA (§1.3.3): the Child SA to rekey into *old (NULL: a new one);
 * false when the request was refused (answered). */
static bool child_rekey_target(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner,
			       struct child_sa **old)
{
	struct ike_notify rk;
	uint32_t spi;

	*old = NULL;
	if (ike_find_notify(inner, IKEV2_N_REKEY_SA, &rk))
		return true;
	if (rk.proto != IKEV2_PROTO_ESP || rk.spi_len != 4) {
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "bad REKEY_SA");
		return false;
	}
	memcpy(&spi, rk.spi, 4);
	*old = child_by_spi_out(sa, spi);
	if (!*old || (*old)->state == CHILD_S_REKEYED) {
		respond_error(sa, msgid, IKEV2_N_CHILD_SA_NOT_FOUND, NULL, 0, "no such Child SA");
		return false;
	}
	if ((*old)->state == CHILD_S_DELETING) {
		respond_error(sa, msgid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0,
			      "that Child SA is being deleted");
		return false;
	}
	return true;
}

/* PFS (§1.3.1): our KE into pub and the shared secret into gir when the
 * chosen proposal has a group; false when refused (answered). */
static bool child_pfs(struct ike_sa *sa, uint32_t msgid, const struct child_sa *c,
		      const struct ike_msg *inner, struct buf *pub, struct buf *gir)
{
	const struct ike_pl *pk = ike_msg_find(inner, IKEV2_PL_KE);
	struct ike_kex *kex;
	struct ike_ke ke;
	int r;

	if (!c->esp.ke)
		return true;
	if (!pk || ike_get_ke(pk, &ke) || ke.group != c->esp.ke) {
		uint8_t g[2] = { (uint8_t)(c->esp.ke >> 8), (uint8_t)c->esp.ke };

		respond_error(sa, msgid, IKEV2_N_INVALID_KE_PAYLOAD, g, 2, "PFS group differs");
		return false;
	}
	kex = kex_new_responder(c->esp.ke);
	r = !kex || kex_derive(kex, ke.data.p, ke.data.len, gir) || kex_public(kex, pub);
	kex_free(kex);
	if (r)
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "bad KE");
	return !r;
}

/* Our CREATE_CHILD_SA response for the new Child SA c (link: with RFC
 * 9370's N(ADDITIONAL_KEY_EXCHANGE), IKE_FOLLOWUP_KE to follow); 0 or
 * -errno. */
static int child_answer(struct ike_sa *sa, uint32_t msgid, const struct child_sa *c,
			const struct ike_proposal *chosen, const struct buf *nr,
			const struct buf *pub, bool link)
{
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &out);
	if (c->mode == CFG_MODE_TRANSPORT)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	prop_put_chosen(&bld, chosen, &c->esp, (const uint8_t *)&c->spi_in, 4);
	ike_put_nonce(&bld, nr->data, nr->len);
	if (c->esp.ke)
		ike_put_ke(&bld, c->esp.ke, pub->data, pub->len);
	r = link ? followup_put_link(sa, &bld) : 0;
	ts_set_put(&bld, IKEV2_PL_TSI, &c->ts_remote);
	ts_set_put(&bld, IKEV2_PL_TSR, &c->ts_local);
	if (!r)
		r = ike_send_response(sa, IKEV2_EXCH_CREATE_CHILD_SA, msgid, &bld);
	buf_free(&out);
	return r;
}

/* The peer rekeyed old into c (§2.8): c takes over, or, when our rekey of
 * old crossed it, the collision is decided when ours is answered (§2.8.1;
 * the lower nonce of the peer's exchange kept when it was answered). */
void child_peer_adopt(struct child_sa *c, struct child_sa *old)
{
	child_link(c);
	child_schedule(c);
	if (!old)
		return;
	c->rekeys = old->rekeys + 1;
	if (old->state == CHILD_S_REKEYING) {
		old->peer_rekey = c;
		return;
	}
	c->policies = old->policies;
	old->policies = false;
	old->state = CHILD_S_REKEYED;
	old->rekeyed_by = c;
}

/* child_sas_max: one more Child SA (not a rekey's) is answered with
 * NO_ADDITIONAL_SAS (§3.10.1: unwilling to accept more on this IKE SA);
 * true when it was. */
static bool child_over_limit(struct ike_sa *sa, uint32_t msgid)
{
	char why[128], pid[PEER_ID_STRLEN];
	uint32_t n = 0;

	if (!sa->cfg->child_sas_max)
		return false;
	for (const struct child_sa *c = sa->children; c; c = c->next)
		n += c->state == CHILD_S_INSTALLED || c->state == CHILD_S_REKEYING;
	if (n < sa->cfg->child_sas_max)
		return false;
	snprintf(why, sizeof(why), "%u Child SAs of %s up, the limit (child_sas_max)", n,
		 peer_id_str(sa, pid));
	respond_error(sa, msgid, IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0, why);
	return true;
}

static void child_create_request(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner)
{
	const struct ike_pl *pn = ike_msg_find(inner, IKEV2_PL_NONCE);
	struct child_sa *old, *c;
	const struct child_cfg *cfg;
	struct child_ts ts;
	struct ike_proposal chosen;
	struct ike_span ni;
	struct buf pub = BUF_INIT, gir = BUF_INIT, nib = BUF_INIT, nr = BUF_INIT;
	uint16_t err;
	int kr;

	if (sa->req.task == TASK_IKE_REKEY || (sa->fu_init && sa->fu_init->ns)) {
		respond_error(sa, msgid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0,
			      "we are rekeying the IKE SA");
		return;
	}
	if (!child_rekey_target(sa, msgid, inner, &old))
		return;
	if (old && sa->fu_init && sa->fu_init->child && sa->fu_init->old == old) {
		/* RFC 9370 §2.2.4: the rekey of an SA whose rekey's
		 * IKE_FOLLOWUP_KE exchanges we run */
		respond_error(sa, msgid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0,
			      "our rekey of that Child SA runs its additional key exchanges");
		return;
	}
	if (!pn || ike_get_nonce(pn, &ni)) {
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "no Nonce");
		return;
	}
	if (child_ts_get(inner, &ts)) {
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0,
			      "TSi and TSr missing or malformed");
		return;
	}
	cfg = old ? old->cfg : child_cfg_match(sa->cfg, &ts);
	if (!cfg) {
		respond_error(sa, msgid, IKEV2_N_TS_UNACCEPTABLE, NULL, 0,
			      "no child configuration for these selectors");
		return;
	}
	if (!old && child_over_limit(sa, msgid))
		return;
	c = child_new(sa, cfg);
	if (!c)
		return;
	if (old) {
		c->reqid = old->reqid;
		/* Our new outbound SA waits for the initiator's Delete of
		 * the old one (it installs its inbound SA on our answer);
		 * not in a collision, where both ends initiate. */
		c->out_deferred = old->state == CHILD_S_INSTALLED;
	}
	err = child_select(sa, cfg, c, inner, &ts, false, &chosen);
	if (err) {
		respond_error(sa, msgid, err, NULL, 0, "proposal or selectors");
		goto drop;
	}
	if (crypto_nonce(&nr, IKE_NONCE_LEN) || !child_pfs(sa, msgid, c, inner, &pub, &gir))
		goto drop;
	if (buf_append(&nib, ni.p, ni.len) ||
	    (followup_count(&c->esp) && followup_child_begin(sa, c, old, &gir, &nib, &nr))) {
		respond_error(sa, msgid, child_install_notify(-ENOMEM, false), NULL, 0,
			      "out of memory");
		goto drop;
	}
	if (followup_count(&c->esp)) {
		/* RFC 9370 §2.2.4: installed after the last IKE_FOLLOWUP_KE */
		if (child_answer(sa, msgid, c, &chosen, &nr, &pub, true)) {
			followup_clear(sa->fu_resp);	/* c too */
			c = NULL;
			goto drop;
		}
		if (old && old->state == CHILD_S_REKEYING)
			collision_keep(sa, &nr, &ni, &old->coll_nonce);
		c = NULL;
		goto drop;
	}
	if ((kr = child_install(c, &nib, &nr, c->esp.ke ? &gir : NULL, false)) ||
	    (!old && (kr = child_policies(c)))) {
		char why[96];

		snprintf(why, sizeof(why), "the kernel refused the SA (%s)", strerror(-kr));
		respond_error(sa, msgid, child_install_notify(kr, false), NULL, 0, why);
		goto drop;
	}
	if (child_answer(sa, msgid, c, &chosen, &nr, &pub, false))
		goto drop;
	if (old && old->state == CHILD_S_REKEYING)
		collision_keep(sa, &nr, &ni, &old->coll_nonce);
	child_peer_adopt(c, old);
	c = NULL;
drop:
	if (c)
		child_free(c, true);
	buf_wipe(&nr);
	buf_wipe(&gir);
	buf_free(&pub);
	buf_free(&nib);
}

void create_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		       const struct ike_msg *inner, const uint8_t *plain)
{
	uint32_t msgid = m->hdr.msgid;
	const struct ike_pl *psa = ike_msg_find(inner, IKEV2_PL_SA);
	/* 70 KB, not on the stack; child_create_request parses it again
	 * into the same place (child_select), this one unused by then. */
	struct ike_sa_pl *sap = &sa->e->rx_sap;

	if (sa->state != IKE_S_ESTABLISHED)
		respond_error(sa, msgid, IKEV2_N_TEMPORARY_FAILURE, NULL, 0,
			      "the IKE SA is being rekeyed or deleted");
	else if (!psa || ike_get_sa(psa, sap))
		respond_error(sa, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0, "no usable SA payload");
	else if (sap->p[0].proto == IKEV2_PROTO_IKE)
		ike_rekey_request(sa, msgid, inner, sap);
	else
		child_create_request(sa, msgid, inner);
}
