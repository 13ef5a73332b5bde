// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_SA_INIT (RFC 7296 §1.2, §2.6 cookies, §2.7 INVALID_KE_PAYLOAD, §2.23
 * NAT detection, RFC 7383 §2.3 fragmentation support, RFC 7427 §4
 * signature hash algorithms).
 *
 * The responder keeps no state for a request it answers with COOKIE,
 * INVALID_KE_PAYLOAD or an error; it creates a half-open SA only when it
 * sends its KE.  Half-open SAs are found again by (SPIi, peer address) so
 * that a retransmitted request gets the same response (§2.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "dns.h"
#include "exch.h"
#include "log.h"
#include "tcp.h"

#define COOKIE_ROTATE_MS	(5 * 60 * 1000)
#define COOKIE_LEN		33	/* version byte + HMAC-SHA-256 */
#define MAX_INIT_RESTARTS	5

/* --- cookies (§2.6) -------------------------------------------------------- */

static void cookie_timer_fire(struct timer *t)
{
	struct engine *e = container_of(t, struct engine, cookie_timer);

	cookie_rotate(e);
}

void cookie_rotate(struct engine *e)
{
	struct cookie_secret *c = &e->cookie;

	if (c->rotated_ms) {
		memcpy(c->prev, c->cur, sizeof(c->prev));
		c->have_prev = true;
	}
	crypto_random(c->cur, sizeof(c->cur));
	c->version++;
	c->rotated_ms = ike_now();
	timer_arm(e->loop, &e->cookie_timer, COOKIE_ROTATE_MS, cookie_timer_fire);
}

/* The cookie is bound to Ni, SPIi and the initiator's address, not its
 * port: over TCP the retry comes on a new connection (TCP-29). */
static int cookie_make(struct engine *e, const uint8_t *secret, uint8_t version,
		       const struct ike_span *ni, const struct sockaddr_storage *from,
		       const uint8_t spii[8], uint8_t out[COOKIE_LEN])
{
	struct sockaddr_storage a = *from;

	addr_set_port(&a, 0);
	out[0] = version;
	(void)e;
	return crypto_cookie(secret, 32, ni->p, ni->len, (struct sockaddr *)&a,
			     spii, out + 1);
}

static bool cookie_valid(struct engine *e, const struct ike_notify *n,
			 const struct ike_span *ni, const struct sockaddr_storage *from,
			 const uint8_t spii[8])
{
	struct cookie_secret *c = &e->cookie;
	uint8_t want[COOKIE_LEN];
	const uint8_t *secret;
	const uint8_t *d;

	if (n->data.len != COOKIE_LEN)
		return false;
	d = n->data.p;
	if (d[0] == c->version)
		secret = c->cur;
	else if (c->have_prev && d[0] == (uint8_t)(c->version - 1))
		secret = c->prev;
	else
		return false;
	if (cookie_make(e, secret, d[0], ni, from, spii, want))
		return false;
	return crypto_equal(want, d, COOKIE_LEN);
}

/* --- NAT detection (§2.23) --------------------------------------------------- */

void natd_put(struct ike_sa *sa, struct ike_builder *bld)
{
	uint8_t src[20], dst[20];

	crypto_natd_hash(sa->spi_i, sa->spi_r, (const struct sockaddr *)&sa->path.local, src);
	crypto_natd_hash(sa->spi_i, sa->spi_r, (const struct sockaddr *)&sa->path.remote, dst);
	/* encap = yes: claim a NAT so that both ends use UDP encapsulation
	 * (what strongSwan's encap option does). */
	if (sa->cfg && sa->cfg->encap)
		crypto_random(src, sizeof(src));
	ike_put_notify(bld, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, src, 20);
	ike_put_notify(bld, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, dst, 20);
}

/*
 * Compares the peer's NAT-D notifies with what we see: a SOURCE hash that
 * matches none of the peer's addresses as we see it means the peer is
 * behind a NAT; a DESTINATION hash that differs from our address means we
 * are.  Returns false when the peer sent no NAT-D at all.
 */
static bool natd_check(struct ike_sa *sa, const struct ike_msg *m,
		       const uint8_t spir[8])
{
	const struct ike_pl *pl = NULL;
	uint8_t rem[20], loc[20];
	bool any_src = false, src_match = false, have_dst = false, dst_match = false;

	crypto_natd_hash(sa->spi_i, spir, (const struct sockaddr *)&sa->path.remote, rem);
	crypto_natd_hash(sa->spi_i, spir, (const struct sockaddr *)&sa->path.local, loc);
	while ((pl = ike_msg_next(m, pl, IKEV2_PL_NOTIFY))) {
		struct ike_notify n;

		if (ike_get_notify(pl, &n) || n.data.len != 20)
			continue;
		if (n.type == IKEV2_N_NAT_DETECTION_SOURCE_IP) {
			any_src = true;
			src_match |= crypto_equal(n.data.p, rem, 20);
		} else if (n.type == IKEV2_N_NAT_DETECTION_DESTINATION_IP) {
			have_dst = true;
			dst_match |= crypto_equal(n.data.p, loc, 20);
		}
	}
	if (!any_src || !have_dst)
		return false;
	sa->nat_remote = !src_match;
	sa->nat_local = !dst_match || (sa->cfg && sa->cfg->encap);
	return true;
}

static bool has_notify(const struct ike_msg *m, uint16_t type)
{
	struct ike_notify n;

	return !ike_find_notify(m, type, &n);
}

/* --- the initiator ------------------------------------------------------------ */

static uint16_t first_group(const struct conn_cfg *cc)
{
	int i;

	for (i = 0; i < cc->n_ike; i++)
		if (cc->ike[i].n_ke)
			return cc->ike[i].ke[0];
	return 0;
}

static bool wants_certs(const struct conn_cfg *cc)
{
	return cc->local.auth == CFG_AUTH_PUBKEY || cc->remote.auth == CFG_AUTH_PUBKEY;
}

int init_start(struct ike_sa *sa)
{
	struct buf msg = BUF_INIT, pub = BUF_INIT, sh = BUF_INIT;
	struct ike_builder bld;
	struct ike_hdr h;
	int r;

	/* Over TCP the message is built once the connection is up, so that
	 * NAT-D covers its ports (TCP-31); ike_xport.c calls back. */
	if (xport_init_wait(sa, &r))
		return r;
	if (!sa->ke_group)
		sa->ke_group = first_group(sa->cfg);
	if (!sa->kex || kex_group(sa->kex) != sa->ke_group) {
		kex_free(sa->kex);
		sa->kex = kex_new(sa->ke_group);
		if (!sa->kex) {
			log_err("%s: key exchange group %u not available",
				ike_sa_name(sa), sa->ke_group);
			return -ENOTSUP;
		}
	}
	if (!sa->ni.len && crypto_nonce(&sa->ni, IKE_NONCE_LEN))
		return -ENOMEM;
	if (kex_public(sa->kex, &pub))
		return -EIO;
	memset(sa->spi_r, 0, 8);
	ike_sa_hdr(sa, &h, IKEV2_EXCH_IKE_SA_INIT, false, 0);
	msg_begin(&bld, &msg, &h);
	/* §2.6: the cookie comes first. */
	if (sa->init->cookie.len)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_COOKIE, sa->init->cookie.data, sa->init->cookie.len);
	/* RFC 8019 §7.1.2: the solution right after the cookie. */
	if (sa->init->cookie.len && sa->init->puzzle.len)
		ike_put_ps(&bld, sa->init->puzzle.data, sa->init->puzzle.len);
	prop_put_ike(&bld, sa->cfg, NULL, 0, sa->ke_group, true);
	ike_put_ke(&bld, sa->ke_group, pub.data, pub.len);
	ike_put_nonce(&bld, sa->ni.data, sa->ni.len);
	/* RT-18/RT-19: NAT-D always, unless configured to assume no NAT. */
	if (!sa->cfg->assume_no_nat)
		natd_put(sa, &bld);
	if (sa->cfg->fragmentation != CFG_FRAG_NO)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (wants_certs(sa->cfg) && !crypto_sig_hash_notify(&sh))
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS,
			       sh.data, sh.len);
	/* RFC 9242 §3.1: protocol 0, no SPI, no data. */
	if (inter_announce(sa->cfg))
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED,
			       NULL, 0);
	/* RT-2, RT-13: protocol 0, no SPI, no data. */
	if (xport_state_offers(sa->x.state))
		ike_put_notify(&bld, 0, NULL, 0, sa->e->cfg->daemon.separate_transports_notify,
			       NULL, 0);
	r = msg_finish(&bld);
	buf_free(&pub);
	buf_free(&sh);
	if (r) {
		buf_free(&msg);
		return r;
	}
	buf_free(&sa->init->init_req);
	sa->init->init_req = msg;
	sa->state = IKE_S_INIT_SENT;
	if (!timer_armed(&sa->life_timer))
		ike_schedule_timers(sa);
	return ike_send_plain(sa, &sa->init->init_req, true) == -ENOMEM ? -ENOMEM : 0;
}

static void init_fail(struct ike_sa *sa, const char *why)
{
	log_warn("%s: IKE_SA_INIT failed: %s", ike_sa_name(sa), why);
	/* auto: the other SA of the race may still succeed. */
	if (!xport_race_goes_on(sa))
		sa->e->st.ike_failed++;
	ike_sa_destroy(sa, NULL);
}

/*
 * RFC 8019 §7.1.2: a PUZZLE beside the COOKIE is solved when its PRF is
 * one we have and its difficulty is sane; otherwise the cookie alone goes
 * back, as from an initiator without puzzle support.
 */
static void puzzle_solve(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike_notify pz;
	uint16_t prf;
	int r;

	buf_reset(&sa->init->puzzle);
	if (ike_find_notify(m, IKEV2_N_PUZZLE, &pz))
		return;
	if (pz.data.len != 3) {
		log_info("%s: malformed PUZZLE ignored", ike_sa_name(sa));
		return;
	}
	prf = (uint16_t)(pz.data.p[0] << 8 | pz.data.p[1]);
	r = crypto_puzzle_solve(prf, sa->init->cookie.data, sa->init->cookie.len, pz.data.p[2],
				&sa->init->puzzle);
	if (r) {
		buf_reset(&sa->init->puzzle);
		log_info("%s: PUZZLE (PRF %u, %u zero bits) not solved: %s", ike_sa_name(sa),
			 prf, pz.data.p[2], strerror(-r));
	}
}

/* An error notify in the response: COOKIE and INVALID_KE_PAYLOAD restart,
 * the rest end the attempt (§2.21.1). */
static bool init_handle_notify(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_pl *pl = NULL;
	struct ike_notify tmp;
	char why[96];

	/* RFC 8019 §7.1.2: a PUZZLE without a COOKIE cannot be solved: the
	 * message is ignored and the request's timer keeps running. */
	if (!ike_find_notify(m, IKEV2_N_PUZZLE, &tmp) &&
	    ike_find_notify(m, IKEV2_N_COOKIE, &tmp)) {
		log_info("%s: IKE_SA_INIT response with a PUZZLE but no COOKIE ignored",
			 ike_sa_name(sa));
		return true;
	}
	while ((pl = ike_msg_next(m, pl, IKEV2_PL_NOTIFY))) {
		struct ike_notify n;

		if (ike_get_notify(pl, &n))
			continue;
		if (n.type == IKEV2_N_COOKIE) {
			if (n.data.len < 1 || n.data.len > 64 ||
			    ++sa->init_restarts > MAX_INIT_RESTARTS) {
				init_fail(sa, "unusable COOKIE");
				return true;
			}
			buf_reset(&sa->init->cookie);
			if (buf_append(&sa->init->cookie, n.data.p, n.data.len)) {
				init_fail(sa, "out of memory");
				return true;
			}
			puzzle_solve(sa, m);
			log_info("%s: responder asked for a cookie%s; retrying", ike_sa_name(sa),
				 sa->init->puzzle.len ? " and solved its puzzle" : "");
			timer_cancel(sa->e->loop, &sa->req.timer);
			xport_init_retry(sa, true);
			if (init_start(sa))
				init_fail(sa, "cannot resend with cookie");
			return true;
		}
		if (n.type == IKEV2_N_INVALID_KE_PAYLOAD) {
			uint16_t g;

			if (n.data.len != 2) {
				init_fail(sa, "malformed INVALID_KE_PAYLOAD");
				return true;
			}
			g = (uint16_t)(n.data.p[0] << 8 | n.data.p[1]);
			if (g == sa->ke_group || !prop_ke_allowed(sa->cfg, g) ||
			    !kex_supported(g) || ++sa->init_restarts > MAX_INIT_RESTARTS) {
				snprintf(why, sizeof(why),
					 "responder wants key exchange group %u, which we do not offer", g);
				init_fail(sa, why);
				return true;
			}
			log_info("%s: responder wants key exchange group %u; retrying",
				 ike_sa_name(sa), g);
			sa->ke_group = g;
			timer_cancel(sa->e->loop, &sa->req.timer);
			xport_init_retry(sa, false);
			if (init_start(sa))
				init_fail(sa, "cannot resend with the new group");
			return true;
		}
		if (n.type <= IKEV2_N_ERROR_MAX) {
			snprintf(why, sizeof(why), "responder answered %s",
				 ikev2_notify_name(n.type));
			init_fail(sa, why);
			return true;
		}
	}
	return false;
}

static void float_to_natt(struct ike_sa *sa)
{
	if (sa->path.kind != XPORT_UDP500)
		return;
	/* §2.23: with a NAT, everything after IKE_SA_INIT moves to 4500. */
	sa->path.kind = XPORT_UDP4500;
	addr_set_port(&sa->path.local, sa->e->cfg->daemon.natt_port);
	if (addr_port(&sa->path.remote) == IKEV2_UDP_PORT)
		addr_set_port(&sa->path.remote, IKEV2_NATT_PORT);
	sa->natt = true;
}

static int derive_keys(struct ike_sa *sa, const struct ike_ke *ke)
{
	struct buf gir = BUF_INIT;
	int r;

	r = kex_derive(sa->kex, ke->data.p, ke->data.len, &gir);
	if (!r)
		r = crypto_ike_keys(&sa->suite, sa->ni.data, sa->ni.len, sa->nr.data,
				    sa->nr.len, gir.data, gir.len, sa->spi_i, sa->spi_r,
				    &sa->init->keys);
	buf_wipe(&gir);
	if (!r)
		r = ike_sa_keys_set(sa);
	return r;
}

static void peer_extensions(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike_notify n;

	sa->peer_frag = sa->cfg->fragmentation != CFG_FRAG_NO &&
			has_notify(m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED);
	/* RFC 9242 §3.1: an initiator announced it only with `yes`; a
	 * responder answers unless `no` (its data is ignored). */
	sa->inter = (sa->initiator ? inter_announce(sa->cfg) :
				     sa->cfg->intermediate != CFG_INTER_NO) &&
		    has_notify(m, IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED);
	if (!ike_find_notify(m, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, &n))
		crypto_sig_hash_parse(n.data.p, n.data.len, &sa->peer_sig_hashes);
	if (ike_msg_find(m, IKEV2_PL_CERTREQ)) {
		struct ike_typed cr;

		sa->peer_certreq = true;
		/* Without the data (no memory) any of our certificates goes. */
		if (!ike_get_certreq(ike_msg_find(m, IKEV2_PL_CERTREQ), &cr) &&
		    buf_append(&sa->init->peer_certreq_data, cr.data.p, cr.data.len))
			buf_free(&sa->init->peer_certreq_data);
	}
}

/* §3.3.1: "For an initial IKE SA negotiation, this field MUST be zero":
 * every proposal of IKE_SA_INIT has an SPI Size of 0. */
static bool init_spis_empty(const struct ike_sa_pl *sap)
{
	for (int i = 0; i < sap->nprop; i++)
		if (sap->p[i].spi_len)
			return false;
	return true;
}

void init_rx_response(struct ike_sa *sa, const struct ike_rx *rx,
		      const struct ike_msg *m)
{
	const struct ike_pl *psa = ike_msg_find(m, IKEV2_PL_SA);
	const struct ike_pl *pke = ike_msg_find(m, IKEV2_PL_KE);
	const struct ike_pl *pno = ike_msg_find(m, IKEV2_PL_NONCE);
	struct ike_sa_pl *sap = &sa->e->rx_sap;
	struct ike_ke ke;
	struct ike_span nr;
	uint8_t zero[8] = { 0 };
	char s[128];
	bool offered;

	if (!xport_init_response(sa, rx) || init_handle_notify(sa, m))
		return;
	if (!psa || !pke || !pno || ike_get_sa_reply(psa, sap) || ike_get_ke(pke, &ke) ||
	    ike_get_nonce(pno, &nr) || !init_spis_empty(sap)) {
		init_fail(sa, "response lacks SA, KE or Nonce, or they are malformed");
		return;
	}
	if (!memcmp(m->hdr.spi_r, zero, 8)) {
		init_fail(sa, "response with a zero responder SPI");
		return;
	}
	if (prop_check_reply_ike(sa->cfg, sap, PROP_ADDKE_NEGOTIATE, &sa->suite)) {
		init_fail(sa, "responder chose a proposal we did not offer");
		return;
	}
	if (ke.group != sa->suite.ke || ke.group != sa->ke_group) {
		init_fail(sa, "responder's KE group differs from the chosen proposal");
		return;
	}
	memcpy(sa->spi_r, m->hdr.spi_r, 8);
	buf_reset(&sa->nr);
	if (buf_append(&sa->nr, nr.p, nr.len)) {
		init_fail(sa, "out of memory");
		return;
	}
	if (derive_keys(sa, &ke)) {
		init_fail(sa, "key exchange failed (invalid KE value from the responder)");
		return;
	}
	if (natd_check(sa, m, sa->spi_r) && (sa->nat_local || sa->nat_remote))
		float_to_natt(sa);
	peer_extensions(sa, m);
	/* RFC 9370 §2.2.1: without IKE_INTERMEDIATE ADDKE types are unknown. */
	if (!sa->inter && inter_pending(sa)) {
		init_fail(sa, "responder chose additional key exchanges without IKE_INTERMEDIATE");
		return;
	}
	offered = xport_state_offers(sa->x.state);
	/* RT-4, RT-9; without the echo RFC 9329 proper over TCP (RT-11). */
	xport_init_done(sa, has_notify(m, sa->e->cfg->daemon.separate_transports_notify));
	buf_reset(&sa->init->init_resp);
	if (buf_append(&sa->init->init_resp, rx->msg, rx->len)) {
		init_fail(sa, "out of memory");
		return;
	}
	suite_str(&sa->suite, s, sizeof(s));
	log_info("%s: IKE_SA_INIT done: %s%s%s%s", ike_sa_name(sa), s,
		 sa->natt ? ", NAT detected: moving to port 4500" : "",
		 xport_separate(&sa->x) ? ", separate transports: IKE on TCP, ESP on UDP/IP" :
		 offered ? ", peer did not echo SEPARATE_TRANSPORTS" : "",
		 sa->inter ? ", IKE_INTERMEDIATE next" : "");
	sa->state = IKE_S_AUTH_SENT;
	sa->req.task = TASK_NONE;
	timer_cancel(sa->e->loop, &sa->req.timer);
	pktset_free(&sa->req.out);
	sa->my_msgid = 1;
	/* RT-4: IKE_INTERMEDIATE or IKE_AUTH goes over TCP, once connected. */
	if (xport_auth_waits(sa))
		return;
	if (inter_start(sa))
		init_fail(sa, "cannot build IKE_INTERMEDIATE or IKE_AUTH");
}

/* --- the responder ------------------------------------------------------------ */

/* An unprotected IKE_SA_INIT response carrying one notify, and a second
 * when type2 is set (N(COOKIE) with N(PUZZLE)), with no state kept (§2.6,
 * §2.7, §2.21.1). */
static void init_reply_notify2(struct engine *e, const struct ike_rx *rx,
			       const struct ike_hdr *req, uint16_t type,
			       const uint8_t *data, size_t len, uint16_t type2,
			       const uint8_t *data2, size_t len2)
{
	struct buf msg = BUF_INIT;
	struct ike_builder bld;
	struct ike_hdr h;

	memset(&h, 0, sizeof(h));
	memcpy(h.spi_i, req->spi_i, 8);
	h.major = IKEV2_MAJOR_VERSION;
	h.exch = IKEV2_EXCH_IKE_SA_INIT;
	h.flags = IKEV2_FLAG_RESPONSE;
	h.msgid = 0;
	msg_begin(&bld, &msg, &h);
	ike_put_notify(&bld, 0, NULL, 0, type, data, len);
	if (type2)
		ike_put_notify(&bld, 0, NULL, 0, type2, data2, len2);
	if (!msg_finish(&bld))
		ike_send_raw(e, &rx->path, msg.data, msg.len);
	buf_free(&msg);
}

static void init_reply_notify(struct engine *e, const struct ike_rx *rx,
			      const struct ike_hdr *req, uint16_t type,
			      const uint8_t *data, size_t len)
{
	init_reply_notify2(e, rx, req, type, data, len, 0, NULL, 0);
}

/*
 * RFC 8019 over TCP (RFC 9329 §6.3, TCP-29): the PRF for the puzzle is the
 * one this request's proposals would get (§7.1.1.2), 0 when none would
 * (the request then fails on its proposals anyway).
 */
static uint16_t puzzle_prf(const struct conn_cfg *cc, const struct ike_sa_pl *sap)
{
	struct ike_suite s;
	int idx;

	if (prop_select_ike(cc, sap, PROP_ADDKE_NEGOTIATE, &s, &idx) ||
	    !crypto_prf_supported(s.prf))
		return 0;
	return s.prf;
}

/* N(COOKIE), and N(PUZZLE) when prf is set (§7.1.1). */
static void cookie_reply(struct engine *e, const struct ike_rx *rx,
			 const struct ike_hdr *req, const uint8_t *ck, size_t cklen,
			 uint16_t prf)
{
	uint8_t pz[3] = { (uint8_t)(prf >> 8), (uint8_t)prf,
			  e->cfg->daemon.tcp_puzzle_difficulty };

	init_reply_notify2(e, rx, req, IKEV2_N_COOKIE, ck, cklen,
			   prf ? IKEV2_N_PUZZLE : 0, pz, sizeof(pz));
	e->st.puzzles_sent += prf != 0;
}

/*
 * RFC 8019 §7.1.4-7.1.5 with a valid cookie.  A solution that reaches the
 * difficulty is served.  A request without one (an initiator that does not
 * do puzzles) has the lowest priority: served only while half-open SAs
 * take less than half of half_open_max, so the other half stays for
 * initiators that solve puzzles; beyond that it gets a new cookie and
 * puzzle, like a solution short of the difficulty.
 */
static bool puzzle_ok(struct engine *e, const struct ike_msg *m,
		      const struct ike_notify *cookie, uint16_t prf)
{
	const struct ike_pl *ps = ike_msg_find(m, IKEV2_PL_PS);
	int zbc;

	if (!ps) {
		if (e->n_half_open >= e->cfg->daemon.half_open_max / 2) {
			e->st.puzzles_deferred++;
			return false;
		}
		e->st.puzzles_unsolved++;
		return true;
	}
	zbc = crypto_puzzle_zbc(prf, cookie->data.p, cookie->data.len, ps->body, ps->len);
	if (zbc < 0 || (unsigned int)zbc < e->cfg->daemon.tcp_puzzle_difficulty) {
		e->st.puzzles_bad++;
		return false;
	}
	e->st.puzzles_solved++;
	return true;
}

static bool addr_listed(const struct sockaddr_storage *list, int n,
			const struct sockaddr_storage *a)
{
	int i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (addr_eq(&list[i], a))
			return true;
	return false;
}

/* The connection for a peer: of those whose addresses admit both ends,
 * the one with the longest remote_addrs prefix holding the peer's (an
 * address before a prefix before %any), else the first.  IKE_AUTH
 * chooses again with the identities (exch_auth.c's conn_for_id). */
static const struct conn_cfg *conn_for(struct engine *e, const struct ike_rx *rx)
{
	const struct conn_cfg *c, *best = NULL;
	int m, best_m = -1;

	for (c = e->cfg->conns; c; c = c->next) {
		m = dns_remote_match(e, c, &rx->path.remote);
		if (m > best_m && addr_listed(c->local_addrs, c->n_local, &rx->path.local)) {
			best = c;
			best_m = m;
		}
	}
	return best;
}

static struct ike_sa *half_open_find(struct engine *e, const struct ike_rx *rx,
				     const uint8_t spii[8])
{
	struct ike_sa *sa;

	/* Bounded by half_open_max; once per IKE_SA_INIT request. */
	for (sa = e->half_open; sa; sa = sa->ho_next)
		if (!memcmp(sa->spi_i, spii, 8) &&
		    addr_eq(&sa->path.remote, &rx->path.remote))
			return sa;
	return NULL;
}

static uint32_t half_open_from(struct engine *e, const struct sockaddr_storage *a)
{
	struct ike_sa *sa;
	uint32_t n = 0;

	for (sa = e->half_open; sa; sa = sa->ho_next)
		n += addr_eq(&sa->path.remote, a);
	return n;
}

/* What a valid IKE_SA_INIT request carries, parsed once. */
struct init_req {
	const struct ike_rx *rx;
	const struct ike_msg *m;
	const struct conn_cfg *cc;
	struct ike_ke ke;
	struct ike_span ni;
	char from[64];		/* the initiator's address, for logs */
	struct ike_sa_pl sap;	/* last: not cleared (init_rx_request) */
};

/* A bad request gets its error notify, no state (§2.21.1); true when the
 * request goes no further. */
static bool init_refused(struct engine *e, const struct ike_rx *rx, const struct ike_msg *m)
{
	static const uint8_t zero[8];
	uint16_t t = ike_perr_notify(m->err);
	uint8_t crit = m->critical_type;

	if (m->err) {
		if (t == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD)
			init_reply_notify(e, rx, &m->hdr, t, &crit, 1);
		else if (t)
			init_reply_notify(e, rx, &m->hdr, t, NULL, 0);
		return true;
	}
	/* §3.1: the initiator's SPI is never zero; the responder's is until
	 * it answers. */
	if (m->hdr.msgid != 0 || memcmp(m->hdr.spi_r, zero, 8) ||
	    !memcmp(m->hdr.spi_i, zero, 8) || !(m->hdr.flags & IKEV2_FLAG_INITIATOR)) {
		e->st.rx_dropped++;
		return true;
	}
	return false;
}

/* A retransmission: the same response again (§2.1); true when it was one. */
static bool init_retransmitted(struct engine *e, const struct ike_rx *rx,
			       const struct ike_msg *m)
{
	struct ike_sa *sa = half_open_find(e, rx, m->hdr.spi_i);

	if (!sa)
		return false;
	/* Over TCP it goes back on the connection it came on: the originator
	 * may have reconnected, and the first one may be gone (RFC 9329 §6.2,
	 * TCP-28). */
	if (sa->init->init_req.len == rx->len && !memcmp(sa->init->init_req.data, rx->msg, rx->len) &&
	    sa->resp_cache.n)
		ike_send_raw(e, xport_reply_path(sa, rx), sa->resp_cache.pkt[0].data,
			     sa->resp_cache.pkt[0].len);
	return true;
}

/* The connection, SA, KE and Nonce of the request; false (answered) when
 * one is missing or malformed. */
static bool init_parse(struct engine *e, struct init_req *q)
{
	const struct ike_msg *m = q->m;
	const struct ike_pl *psa = ike_msg_find(m, IKEV2_PL_SA);
	const struct ike_pl *pke = ike_msg_find(m, IKEV2_PL_KE);
	const struct ike_pl *pno = ike_msg_find(m, IKEV2_PL_NONCE);

	q->cc = conn_for(e, q->rx);
	if (!q->cc) {
		log_info_rl("IKE_SA_INIT from %s: no connection configured for it", q->from);
		init_reply_notify(e, q->rx, &m->hdr, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return false;
	}
	if (!psa || !pke || !pno || ike_get_sa(psa, &q->sap) || ike_get_ke(pke, &q->ke) ||
	    ike_get_nonce(pno, &q->ni) || !init_spis_empty(&q->sap)) {
		log_info_rl("IKE_SA_INIT from %s: SA, KE or Nonce missing or malformed", q->from);
		init_reply_notify(e, q->rx, &m->hdr, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return false;
	}
	return true;
}

/*
 * §2.6: above the threshold, only requests with our cookie proceed.  Over
 * TCP the cookie comes with an RFC 8019 puzzle (TCP-29).  True when the
 * request may go on.
 */
static bool init_cookie_gate(struct engine *e, const struct init_req *q)
{
	const struct ike_rx *rx = q->rx;
	const struct ike_msg *m = q->m;
	bool tcp = rx->path.kind == XPORT_TCP;
	uint16_t pprf;
	struct ike_notify cookie;
	uint8_t ck[COOKIE_LEN];
	bool have;

	if (e->n_half_open < e->cfg->daemon.cookie_threshold)
		return true;
	pprf = tcp ? puzzle_prf(q->cc, &q->sap) : 0;
	have = !ike_find_notify(m, IKEV2_N_COOKIE, &cookie) &&
	       cookie_valid(e, &cookie, &q->ni, &rx->path.remote, m->hdr.spi_i);
	if (have && (!pprf || puzzle_ok(e, m, &cookie, pprf))) {
		e->st.cookies_ok++;
		return true;
	}
	if (!have && !ike_find_notify(m, IKEV2_N_COOKIE, &cookie))
		e->st.cookies_bad++;
	if (!cookie_make(e, e->cookie.cur, e->cookie.version, &q->ni, &rx->path.remote,
			 m->hdr.spi_i, ck)) {
		cookie_reply(e, rx, &m->hdr, ck, sizeof(ck), pprf);
		e->st.cookies_sent++;
		/* TCP-29: after a cookie request the connection is closed; the
		 * initiator retries on a new one. */
		if (tcp && rx->path.conn)
			xport_close(e, rx->path.conn, 0);
	}
	return false;
}

/* Room for one more half-open SA (in all, and from this address)? */
static bool init_room(struct engine *e, const struct init_req *q)
{
	const struct daemon_cfg *d = &e->cfg->daemon;

	if (e->n_half_open < d->half_open_max &&
	    (!d->half_open_per_ip ||
	     half_open_from(e, &q->rx->path.remote) < d->half_open_per_ip))
		return true;
	log_warn_rl("IKE_SA_INIT from %s dropped: too many half-open IKE SAs", q->from);
	e->st.rx_dropped++;
	return false;
}

/* A new responder SA with the proposal and KE group chosen, *idx the
 * proposal's index; NULL when refused (answered: NO_PROPOSAL_CHOSEN or
 * INVALID_KE_PAYLOAD, §2.7). */
static struct ike_sa *init_choose(struct engine *e, const struct init_req *q, int *idx)
{
	const struct ike_proposal *p;
	struct ike_sa *sa = ike_sa_new(e, q->cc, false);
	uint8_t g[2];
	int i;

	if (!sa)
		return NULL;
	if (prop_select_ike(q->cc, &q->sap, inter_addke_mode(q->cc, q->m), &sa->suite, idx)) {
		explain_ike_proposals(q->from, &q->sap, q->cc);
		init_reply_notify(e, q->rx, &q->m->hdr, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		ike_sa_destroy(sa, NULL);
		return NULL;
	}
	if (q->ke.group == sa->suite.ke)
		return sa;
	/* The KE we got is fine if the chosen proposal also has it. */
	p = &q->sap.p[*idx];
	for (i = 0; i < p->ntrans; i++) {
		if (p->t[i].type == IKEV2_TRANS_KE && p->t[i].id == q->ke.group &&
		    prop_ke_allowed(q->cc, q->ke.group) && kex_supported(q->ke.group)) {
			sa->suite.ke = q->ke.group;
			return sa;
		}
	}
	g[0] = (uint8_t)(sa->suite.ke >> 8);
	g[1] = (uint8_t)sa->suite.ke;
	log_info_rl("IKE_SA_INIT from %s: KE group %u, asking for %u", q->from, q->ke.group,
		 sa->suite.ke);
	init_reply_notify(e, q->rx, &q->m->hdr, IKEV2_N_INVALID_KE_PAYLOAD, g, 2);
	e->st.invalid_ke_sent++;
	ike_sa_destroy(sa, NULL);
	return NULL;
}

/* Our response (its KE public value in pub), into msg; 0 or -errno. */
static int init_response(struct ike_sa *sa, const struct init_req *q, int idx,
			 const struct buf *pub, bool echo, struct buf *msg)
{
	const struct conn_cfg *cc = q->cc;
	struct buf sh = BUF_INIT, cr = BUF_INIT;
	struct ike_builder bld;
	struct ike_hdr h;
	int r;

	ike_sa_hdr(sa, &h, IKEV2_EXCH_IKE_SA_INIT, true, 0);
	msg_begin(&bld, msg, &h);
	prop_put_chosen(&bld, &q->sap.p[idx], &sa->suite, NULL, 0);
	ike_put_ke(&bld, sa->suite.ke, pub->data, pub->len);
	ike_put_nonce(&bld, sa->nr.data, sa->nr.len);
	if (has_notify(q->m, IKEV2_N_NAT_DETECTION_SOURCE_IP))
		natd_put(sa, &bld);
	if (sa->peer_frag)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (wants_certs(cc) && !crypto_sig_hash_notify(&sh))
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS,
			       sh.data, sh.len);
	if (cc->remote.auth == CFG_AUTH_PUBKEY && !auth_certreq_data(sa->e, cc, &cr) && cr.len)
		ike_put_certreq(&bld, IKEV2_CERT_X509_SIG, cr.data, cr.len);
	if (sa->inter)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED,
			       NULL, 0);
	if (echo)
		ike_put_notify(&bld, 0, NULL, 0, sa->e->cfg->daemon.separate_transports_notify,
			       NULL, 0);
	buf_free(&sh);
	buf_free(&cr);
	r = msg_finish(&bld);
	return r ? r : buf_err(msg);
}

void init_rx_request(struct engine *e, const struct ike_rx *rx,
		     const struct ike_msg *m)
{
	const struct daemon_cfg *d = &e->cfg->daemon;
	static const uint8_t zero[8];
	struct init_req *q;
	struct buf msg = BUF_INIT, pub = BUF_INIT;
	struct ike_sa *sa = NULL;
	char s[128] = "";
	int idx;
	bool echo;

	if (init_refused(e, rx, m) || init_retransmitted(e, rx, m))
		return;
	/* The parsed SA payload is ~70 KB: clearing it all on every request
	 * cost more than parsing it and pushed the handshake's working set
	 * out of the cache.  The parser sets every field of what it counts
	 * (nprop proposals, npool transforms), and nothing reads past them. */
	q = malloc(sizeof(*q));
	if (!q)
		return;
	memset(q, 0, offsetof(struct init_req, sap));
	ike_sa_reset(&q->sap);
	q->rx = rx;
	q->m = m;
	addr_str(&rx->path.remote, q->from, sizeof(q->from));
	if (!init_parse(e, q) || !init_cookie_gate(e, q) || !init_room(e, q) ||
	    !(sa = init_choose(e, q, &idx)))
		goto out;
	memcpy(sa->spi_i, m->hdr.spi_i, 8);
	/* RT-3: echo SEPARATE_TRANSPORTS when enabled (its data, if any, is
	 * ignored: RT-14).  Without it, IKE_SA_INIT over TCP means RFC 9329
	 * proper, ESP in the stream.  The draft's discovery runs on UDP 4500
	 * (§3.1, so that it crosses the NATs and filters ESP in UDP will) or
	 * TCP (§3.2); on UDP 500 it would prove nothing about that path and
	 * nothing after it would (IKE never comes back to UDP, RT-12), so
	 * there the notify is ignored and the SA stays plain RFC 7296, whose
	 * NAT-T move to 4500 does test it (CONFORMANCE.md RT-38). */
	echo = d->separate_transports && has_notify(m, d->separate_transports_notify);
	if (echo && rx->path.kind == XPORT_UDP500) {
		log_info("IKE_SA_INIT from %s: SEPARATE_TRANSPORTS on UDP port %u ignored: "
			 "separate transports are negotiated on UDP 4500 or TCP", q->from,
			 addr_port(&rx->path.local));
		echo = false;
	}
	xport_init_rx(sa, rx, echo);
	sa->kex = kex_new_responder(sa->suite.ke);
	if (!sa->kex || buf_append(&sa->ni, q->ni.p, q->ni.len) ||
	    crypto_nonce(&sa->nr, IKE_NONCE_LEN)) {
		ike_sa_destroy(sa, "out of resources");
		goto out;
	}
	/* The initiator's KE first: an ML-KEM response is made from it. */
	if (derive_keys(sa, &q->ke)) {
		log_info_rl("IKE_SA_INIT from %s: its KE data (group %u) refused: INVALID_SYNTAX, "
			    "no IKE SA (RFC 6989 2.5)", q->from, sa->suite.ke);
		init_reply_notify(e, rx, &m->hdr, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		ike_sa_destroy(sa, NULL);
		goto out;
	}
	if (kex_public(sa->kex, &pub)) {
		ike_sa_destroy(sa, "out of resources");
		goto out;
	}
	natd_check(sa, m, zero);
	peer_extensions(sa, m);
	ike_sa_link(sa);
	if (init_response(sa, q, idx, &pub, echo, &msg) ||
	    buf_append(&sa->init->init_req, rx->msg, rx->len)) {
		ike_sa_destroy(sa, "cannot build IKE_SA_INIT response");
		goto out;
	}
	buf_free(&sa->init->init_resp);
	sa->init->init_resp = msg;
	msg = (struct buf)BUF_INIT;
	sa->state = IKE_S_HALF_OPEN;
	ike_half_open_add(sa);
	if (sa->nat_remote || sa->nat_local)
		sa->natt = true;
	/* The suite's string (four snprintf) only for a line that is logged. */
	if (log_enabled(LOG_LVL_INFO))
		suite_str(&sa->suite, s, sizeof(s));
	log_info_rl("%s: IKE_SA_INIT from %s port %u: %s%s", ike_sa_name(sa), q->from,
		 addr_port(&rx->path.remote), s,
		 sa->nat_remote ? ", initiator is behind a NAT" : "");
	ike_schedule_timers(sa);
	ike_send_plain(sa, &sa->init->init_resp, false);
out:
	buf_free(&pub);
	buf_free(&msg);
	free(q);
}
