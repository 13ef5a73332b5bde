// SPDX-License-Identifier: GPL-2.0
/*
 * INFORMATIONAL (RFC 7296 §1.4, §2.4): Delete of Child SAs and of the IKE
 * SA, liveness checks (an empty request, answered empty), and the
 * initiator's AUTHENTICATION_FAILED after IKE_AUTH (§2.21.2).  A Delete
 * that is not part of a rekey is followed by close_action.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exch.h"
#include "log.h"

/* close_action = restart: how long the peer has to come back by itself. */
#define CLOSE_RESTART_MS	2000u

int info_start_dpd(struct ike_sa *sa)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &in);
	r = ike_send_request(sa, TASK_DPD, IKEV2_EXCH_INFORMATIONAL, &bld);
	buf_free(&in);
	/* The liveness check gives up after dpd_timeout even when retries
	 * remain. */
	if (!r && sa->cfg->dpd_timeout_s)
		sa->req.deadline_ms = ike_now() + (uint64_t)sa->cfg->dpd_timeout_s * 1000;
	return r;
}

int info_start_delete_ike(struct ike_sa *sa)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &in);
	ike_put_delete(&bld, IKEV2_PROTO_IKE, 0, NULL, 0);
	sa->state = IKE_S_DELETING;
	r = ike_send_request(sa, TASK_DELETE_IKE, IKEV2_EXCH_INFORMATIONAL, &bld);
	buf_free(&in);
	return r;
}

int info_start_delete_child(struct ike_sa *sa, struct child_sa *c)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &in);
	/* §3.11: the SPI we expect to receive on. */
	ike_put_delete(&bld, IKEV2_PROTO_ESP, 4, (const uint8_t *)&c->spi_in, 1);
	r = ike_send_request(sa, TASK_DELETE_CHILD, IKEV2_EXCH_INFORMATIONAL, &bld);
	buf_free(&in);
	if (!r) {
		c->state = CHILD_S_DELETING;
		sa->req.old = c;
	}
	return r;
}

void info_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct child_sa *c;

	(void)inner;
	switch (sa->req.task) {
	case TASK_DELETE_IKE:
		ike_req_done(sa);
		ike_sa_destroy(sa, sa->rekeyed_to ? "rekeyed" : "deleted by us");
		return;
	case TASK_DELETE_CHILD:
		c = sa->req.old;
		if (c) {
			log_info("%s: Child SA %s (%08x/%08x) deleted", ike_sa_name(sa),
				 c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out));
			child_free(c, true);
		}
		ike_req_done(sa);
		return;
	case TASK_ESP_TRANSPORT:
		esp_transport_rx_response(sa, inner);
		ike_req_done(sa);
		return;
	case TASK_DPD:
	default:
		ike_req_done(sa);
		return;
	}
}

/*
 * §2.21.2: an initiator that could not authenticate us (our certificate or
 * AUTH) says so in its first request after IKE_AUTH.  The IKE SA and the
 * Child SA made with it go at once, not at our liveness check.  Anywhere
 * else the notify means nothing (§3.10.1: only in IKE_AUTH's context).
 */
static bool auth_failed(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner)
{
	struct ike_notify n;

	if (ike_find_notify(inner, IKEV2_N_AUTHENTICATION_FAILED, &n))
		return false;
	if (sa->initiator || !sa->auth_next_msgid || msgid != sa->auth_next_msgid) {
		log_warn("%s: AUTHENTICATION_FAILED in INFORMATIONAL message %u ignored: only the initiator's first request after IKE_AUTH may carry it",
			 ike_sa_name(sa), msgid);
		return false;
	}
	return true;
}

void info_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		     const struct ike_msg *inner, const uint8_t *plain)
{
	uint32_t msgid = m->hdr.msgid;
	const struct ike_pl *pl = NULL;
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	uint32_t del[64];
	uint16_t ndel = 0;
	bool delete_ike = false, recreate = false;

	if (auth_failed(sa, msgid, inner)) {
		struct engine *e = sa->e;

		chain_begin(&bld, &out);
		ike_send_response(sa, IKEV2_EXCH_INFORMATIONAL, msgid, &bld);
		buf_free(&out);
		e->st.ike_failed++;
		log_warn("%s: the peer refused our authentication (AUTHENTICATION_FAILED after IKE_AUTH)",
			 ike_sa_name(sa));
		ike_sa_destroy(sa, "the peer refused our authentication");
		return;
	}

	while ((pl = ike_msg_next(inner, pl, IKEV2_PL_DELETE))) {
		struct ike_delete d;
		unsigned int i;

		if (ike_get_delete(pl, &d)) {
			log_warn("%s: malformed Delete payload in INFORMATIONAL request %u",
				 ike_sa_name(sa), msgid);
			ike_respond_notify(sa, IKEV2_EXCH_INFORMATIONAL, msgid,
					   IKEV2_N_INVALID_SYNTAX, NULL, 0);	/* ends sa, §2.21.3 */
			return;
		}
		if (d.proto == IKEV2_PROTO_IKE) {
			delete_ike = true;
			continue;
		}
		if (d.proto != IKEV2_PROTO_ESP)
			continue;
		for (i = 0; i < d.nspi; i++) {
			uint32_t spi = htonl(ike_delete_spi(&d, i));
			struct child_sa *c = child_by_spi_out(sa, spi);

			if (!c)
				continue;	/* §1.4.1: unknown SPIs are ignored */
			/* §1.4.1: answer with our half, unless our own Delete for
			 * it crossed this one. */
			if (c->state != CHILD_S_DELETING && ndel < 64)
				del[ndel++] = c->spi_in;
			log_info("%s: peer deleted Child SA %s (%08x/%08x)", ike_sa_name(sa),
				 c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out));
			/* Not the old half of a rekey, nor one we delete too. */
			if (c->state == CHILD_S_INSTALLED && sa->cfg->close_action == CFG_ACTION_RESTART) {
				log_info("%s: close_action = restart: Child SA %s again", ike_sa_name(sa),
					 c->cfg->name);
				recreate = true;
			}
			if (c->state == CHILD_S_INSTALLED && sa->cfg->close_action == CFG_ACTION_TRAP)
				trap_on_close(sa, c, "close_action");
			if (sa->req.old == c)
				sa->req.old = NULL;
			child_rekey_undo(c);
			child_free(c, true);
		}
	}
	chain_begin(&bld, &out);
	if (!delete_ike && ndel)
		ike_put_delete(&bld, IKEV2_PROTO_ESP, 4, (const uint8_t *)del, ndel);
	if (!delete_ike)
		esp_transport_rx_request(sa, inner, &bld);
	ike_send_response(sa, IKEV2_EXCH_INFORMATIONAL, msgid, &bld);
	buf_free(&out);
	if (delete_ike) {
		struct engine *e = sa->e;
		const struct conn_cfg *cc = sa->cfg;
		bool rekeyed = sa->state == IKE_S_REKEYED || sa->rekeyed_to;
		bool closed = !rekeyed && sa->state != IKE_S_DELETING;	/* not ours crossing */

		if (closed && cc && cc->close_action == CFG_ACTION_TRAP)
			trap_on_close(sa, NULL, "close_action");
		ike_sa_destroy(sa, rekeyed ? "rekeyed" : "deleted by the peer");
		/* A peer that reauthenticates deletes the old IKE SA and makes a
		 * new one at once; waiting a little lets its new one count. */
		if (closed && cc && cc->close_action == CFG_ACTION_RESTART) {
			log_info("%s: close_action = restart: initiating again in %us unless the peer does first",
				 cc->name, CLOSE_RESTART_MS / 1000);
			conn_restart_later(e, cc, CLOSE_RESTART_MS);
		}
		return;
	}
	if (recreate && sa->state == IKE_S_ESTABLISHED)
		sa->pending |= PEND_CHILD;
	ike_kick(sa);
}
