// SPDX-License-Identifier: GPL-2.0
/*
 * INFORMATIONAL (RFC 7296 §1.4, §2.4): Delete of Child SAs and of the IKE
 * SA, and liveness checks (an empty request, answered empty).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ikesa.h"
#include "log.h"

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

void info_rx_request(struct ike_sa *sa, uint32_t msgid, const struct ike_msg *inner)
{
	const struct ike_pl *pl = NULL;
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	uint32_t del[64];
	uint16_t ndel = 0;
	bool delete_ike = false;

	while ((pl = ike_msg_next(inner, pl, IKEV2_PL_DELETE))) {
		struct ike_delete d;
		unsigned int i;

		if (ike_get_delete(pl, &d)) {
			ike_respond_notify(sa, IKEV2_EXCH_INFORMATIONAL, msgid,
					   IKEV2_N_INVALID_SYNTAX, NULL, 0);
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
			if (sa->req.old == c)
				sa->req.old = NULL;
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
		ike_sa_destroy(sa, sa->state == IKE_S_REKEYED ? "rekeyed" : "deleted by the peer");
		return;
	}
	ike_kick(sa);
}
