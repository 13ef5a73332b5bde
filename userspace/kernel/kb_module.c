// SPDX-License-Identifier: GPL-2.0
/*
 * The "module" kernel backend: SAs and policies go through the tcpike
 * generic-netlink family of tcpike.ko (userspace/kernel/tcpike_nl.c), which
 * makes ordinary XFRM states and policies.  Every refusal leaves the
 * kernel's extack sentence in kb->kb_error.
 *
 * kb_module_open() fills an allocated struct kbackend (ops, kind, priv);
 * destroy() frees only what kb_module_open() allocated (priv), the caller
 * frees the struct kbackend itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>

#include "addr.h"
#include "backend.h"
#include "tcpike_nl.h"

static struct tnl *tnl_of(struct kbackend *kb)
{
	return kb->priv;
}

/* Copies the library's sentence (kernel extack or local) into kb_error. */
static int result(struct kbackend *kb, const char *what, int err)
{
	if (err)
		snprintf(kb->kb_error, sizeof(kb->kb_error), "%.40s: %.200s", what,
			 tnl_of(kb)->error[0] ? tnl_of(kb)->error : strerror(-err));
	else
		kb->kb_error[0] = 0;
	return err;
}

static int kbm_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	struct kb_sa out;

	/*
	 * The daemon asks for no replay window on outbound SAs (nothing is
	 * checked there), but the kernel keeps ESN sequence numbers in the
	 * replay state, whose window must not be 0: the module refuses
	 * "ESN needs a replay window above 0".  Give outbound ESN SAs the
	 * window kb_xfrm uses; an inbound one keeps what was configured.
	 */
	if (sa->esn && !sa->inbound && !sa->replay_window) {
		out = *sa;
		out.replay_window = 32;
		sa = &out;
	}
	return result(kb, "SA add", tnl_sa_new(tnl_of(kb), sa));
}

static int kbm_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst, uint32_t spi)
{
	return result(kb, "SA delete", tnl_sa_del(tnl_of(kb), dst, spi));
}

/* raw, udp and tcp (espintcp: the ports of the connection, which must hold
 * the espintcp ULP); the kernel's sentence says why a steer is refused. */
static int kbm_sa_steer(struct kbackend *kb, const struct sockaddr_storage *dst,
			uint32_t spi, enum kb_encap encap, uint16_t sport, uint16_t dport)
{
	return result(kb, "SA steer", tnl_sa_steer(tnl_of(kb), dst, spi, encap, sport, dport));
}

/* One half of a move (or its way back): the SA on dst to src -> ndst. */
static int kbm_move_half(struct kbackend *kb, const struct kb_move *m, bool in, bool back)
{
	const struct sockaddr_storage *l = back ? &m->old_local : &m->local;
	const struct sockaddr_storage *r = back ? &m->old_remote : &m->remote;
	const struct sockaddr_storage *at = in ? (back ? &m->local : &m->old_local) :
						 (back ? &m->remote : &m->old_remote);
	uint16_t lp = back ? m->old_lport : m->lport, rp = back ? m->old_rport : m->rport;
	bool udp = m->encap == KB_ENCAP_UDP;

	return tnl_sa_move(tnl_of(kb), at, in ? m->spi_in : m->spi_out, in ? r : l, in ? l : r,
			   udp ? (in ? rp : lp) : 0, udp ? (in ? lp : rp) : 0);
}

static int kbm_move_pol(struct kbackend *kb, const struct kb_move *m, unsigned int i, bool back)
{
	bool out = m->pols[i].dir == KB_DIR_OUT;
	const struct sockaddr_storage *l = back ? &m->old_local : &m->local;
	const struct sockaddr_storage *r = back ? &m->old_remote : &m->remote;

	return tnl_policy_move(tnl_of(kb), &m->pols[i], out ? l : r, out ? r : l);
}

/*
 * SA_MOVE for each half (the module switches each atomically, as a
 * steer: keys, sequence numbers and replay state kept), then POLICY_MOVE
 * for each template.  A refusal puts back what moved, so the daemon's
 * record of the Child SA stays true; kb_error keeps the first sentence.
 */
static int kbm_sa_move(struct kbackend *kb, const struct kb_move *m)
{
	char why[sizeof(kb->kb_error)];
	bool in = false, out = false;
	unsigned int i = 0;
	int r = 0;

	if (m->spi_in) {
		r = result(kb, "SA move (inbound)", kbm_move_half(kb, m, true, false));
		in = !r;
	}
	if (!r && m->spi_out) {
		r = result(kb, "SA move (outbound)", kbm_move_half(kb, m, false, false));
		out = !r;
	}
	for (i = 0; !r && i < m->n_pols; i++)
		if ((r = result(kb, "policy move", kbm_move_pol(kb, m, i, false))))
			break;
	if (!r)
		return 0;
	memcpy(why, kb->kb_error, sizeof(why));
	while (i--)
		kbm_move_pol(kb, m, i, true);
	if (out)
		kbm_move_half(kb, m, false, true);
	if (in)
		kbm_move_half(kb, m, true, true);
	memcpy(kb->kb_error, why, sizeof(why));
	return r;
}

static int kbm_sa_stats(struct kbackend *kb, const struct sockaddr_storage *dst,
			uint32_t spi, struct kb_stats *st)
{
	struct tnl_sa_info i;
	int err;

	err = tnl_sa_get(tnl_of(kb), dst, spi, &i);
	if (!err) {
		st->bytes = i.bytes;
		st->packets = i.packets;
		st->errors = i.errors;
	}
	return result(kb, "SA stats", err);
}

static int kbm_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	return result(kb, "policy add", tnl_policy_new(tnl_of(kb), pol));
}

static int kbm_policy_del(struct kbackend *kb, const struct kb_policy *pol)
{
	return result(kb, "policy delete", tnl_policy_del(tnl_of(kb), pol));
}

/* Ports come from the sockaddrs (sin_port, network order). */
static int kbm_keepalive_set(struct kbackend *kb, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote, uint32_t interval_s)
{
	uint16_t sport = 0, dport = 0;

	if (local->ss_family == AF_INET && remote->ss_family == AF_INET) {
		sport = ntohs(((const struct sockaddr_in *)local)->sin_port);
		dport = ntohs(((const struct sockaddr_in *)remote)->sin_port);
	}
	return result(kb, "keepalive", tnl_keepalive_set(tnl_of(kb), local, remote, sport, dport,
							 interval_s));
}

static int kbm_reach_set(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, uint32_t pair_spi, uint32_t timeout_s)
{
	return result(kb, "reachability watch", tnl_reach_set(tnl_of(kb), dst, spi, pair_spi,
							       timeout_s));
}

/* Joins the events group on first use; read it with tnl_event_next(). */
static int kbm_event_fd(struct kbackend *kb)
{
	struct tnl *t = tnl_of(kb);

	if (!t->ev_sk && result(kb, "events", tnl_events_join(t)))
		return -1;
	return nl_socket_get_fd(t->ev_sk);
}

/* One module event as the daemon's kb_event; false for those it has no
 * use for (a deleted policy). */
static bool kb_event_of(const struct tnl_event *te, struct kb_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->spi = te->spi;
	ev->src = te->src;
	ev->dst = te->dst;
	switch (te->kind) {
	case TNL_EV_EXPIRE:
		ev->kind = KB_EV_EXPIRE;
		ev->hard = te->hard;
		return true;
	case TNL_EV_SA_DELETED:
		ev->kind = KB_EV_SA_GONE;
		ev->hard = true;
		return true;
	case TNL_EV_ACQUIRE:
		ev->kind = KB_EV_ACQUIRE;
		ev->sel = te->sel;
		ev->reqid = te->reqid;
		return true;
	case TNL_EV_MAPPING:
		ev->kind = KB_EV_MAPPING;
		ev->new_remote = te->new_addr;
		addr_set_port(&ev->new_remote, te->new_port);
		ev->old_port = te->old_port;
		return true;
	case TNL_EV_REACH:
		ev->kind = KB_EV_REACH;
		ev->pair_spi = te->pair_spi;
		ev->up = te->up;
		return true;
	default:
		return false;
	}
}

/* Everything waiting on the events socket, without blocking. */
static int kbm_events_process(struct kbackend *kb, kb_event_fn fn, void *ctx)
{
	struct tnl *t = tnl_of(kb);
	struct tnl_event te;
	struct kb_event ev;
	int r;

	while ((r = tnl_event_next(t, &te, 0)) == 1)
		if (kb_event_of(&te, &ev))
			fn(ctx, &ev);
	return r < 0 ? result(kb, "events", r) : 0;
}

static void kbm_destroy(struct kbackend *kb)
{
	struct tnl *t = tnl_of(kb);

	if (t) {
		tnl_close(t);
		free(t);
	}
	kb->priv = NULL;
}

const struct kbackend_ops kb_module_ops = {
	.name = "module",
	.sa_add = kbm_sa_add,
	.sa_del = kbm_sa_del,
	.sa_steer = kbm_sa_steer,
	.sa_stats = kbm_sa_stats,
	.sa_move = kbm_sa_move,
	.policy_add = kbm_policy_add,
	.policy_del = kbm_policy_del,
	.keepalive_set = kbm_keepalive_set,
	.reach_set = kbm_reach_set,
	.event_fd = kbm_event_fd,
	.events_process = kbm_events_process,
	.destroy = kbm_destroy,
	.vip_add = kb_vip_add,
	.vip_del = kb_vip_del,
};

int kb_module_open(struct kbackend *kb)
{
	struct tnl *t = calloc(1, sizeof(*t));
	int err;

	if (!t) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "module backend: out of memory");
		return -ENOMEM;
	}
	err = tnl_open(t);
	if (err) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "module backend: %.200s",
			 t->error[0] ? t->error : strerror(-err));
		free(t);
		return err;
	}
	kb->ops = &kb_module_ops;
	kb->kind = KB_MODULE;
	kb->priv = t;
	kb->kb_error[0] = 0;
	return 0;
}
