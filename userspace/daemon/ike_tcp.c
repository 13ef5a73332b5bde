// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's side of IKE over TCP (RFC 9329) and of separate transports
 * for IKE and ESP (draft-ietf-ipsecme-ikev2-reliable-transport, -04):
 *
 *   udp                 RFC 7296: IKE and ESP over UDP (and ESP on IP)
 *   tcp                 RFC 9329: IKE and ESP inside one TCP connection
 *   auto                UDP first; when UDP gets no answer within
 *                       tcp_fallback_delay, a new IKE SA over TCP (§5.1:
 *                       new SPI, NAT-D over the TCP ports)
 *   separate            IKE_SA_INIT on UDP 4500 with N(SEPARATE_TRANSPORTS)
 *                       (RT-1, RT-2); if echoed, IKE moves to TCP 4500 for
 *                       IKE_AUTH and everything after (RT-4, RT-12), ESP
 *                       stays on IP or UDP 4500 (RT-15, RT-20)
 *   separate-tcp-first  IKE_SA_INIT over TCP with the notify (RT-9); no
 *                       echo means plain RFC 9329 (RT-11)
 *
 * The TCP originator is the original initiator and keeps that role across
 * rekeys (TCP-19); only it reconnects (TCP-19), re-sending an outstanding
 * request on the new connection (TCP-28).  Requests are not retransmitted
 * over a live connection but still time out (ikesa.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ikesa.h"
#include "log.h"
#include "tcp.h"
#include "udp.h"
#include "wire.h"
#include "backend.h"

#define RECONNECT_MIN_MS	500
#define RECONNECT_MAX_MS	30000

/* Real kernel ESP (not the in-memory backend): espintcp is worth enabling. */
static bool kernel_esp(const struct engine *e)
{
	return e->kb && e->kb->kind != KB_NONE;
}

const char *ike_xport_str(const struct ike_sa *sa)
{
	if (sa->separate)
		return sa->path.kind == XPORT_TCP ? "separate (IKE on TCP)" :
						    "separate (IKE on UDP)";
	if (sa->path.kind == XPORT_TCP)
		return sa->rfc9329_rebuild ? "tcp (rebuilt: ESP did not get through beside it)" :
		       sa->fell_back ? "tcp (fallback from udp)" : "tcp";
	return xport_name(sa->path.kind);
}

static void detach_conn(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;

	if (!c)
		return;
	if (c->user == sa)
		c->user = NULL;
	sa->path.conn = NULL;
	tcp_conn_put(c);
}

void ike_xport_free(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;
	bool successor;

	timer_cancel(sa->e->loop, &sa->xport_timer);
	if (!c)
		return;
	/* One TCP connection per IKE SA (TCP-22, TCP-18): when the SA ends with no
	 * successor (a rekey hands the connection on), its originator closes
	 * the connection. */
	successor = c->user && c->user != sa;
	tcp_conn_get(c);
	detach_conn(sa);
	if (!successor && sa->tcp_orig && !c->dead && !sa->e->shutting_down)
		tcp_conn_close(c, 0);
	tcp_conn_put(c);
}

int ike_tcp_connect(struct ike_sa *sa)
{
	struct engine *e = sa->e;
	struct sockaddr_storage local = sa->path.local, remote = sa->path.remote;
	struct tcp_conn *c;
	char a[64];
	int err;

	if (sa->path.conn && !sa->path.conn->dead)
		return 0;	/* connecting or up */
	if (!e->tcp) {
		log_warn("%s: IKE over TCP needs the TCP listener, which is not open",
			 ike_sa_name(sa));
		return -ENOTCONN;
	}
	detach_conn(sa);
	sa_set_port(&remote, sa->cfg->tcp_port);
	sa_set_port(&local, 0);
	c = tcp_connect(e->tcp, &local, &remote, sa->cfg->tcp_connect_timeout_ms, &err);
	if (!c) {
		sa_addr_str(&remote, a, sizeof(a));
		log_warn("%s: cannot connect to %s port %u over TCP: %s", ike_sa_name(sa),
			 a, sa->cfg->tcp_port, strerror(-err));
		return err;
	}
	c->user = sa;
	sa->path.kind = XPORT_TCP;
	sa->path.conn = c;	/* tcp_connect's reference */
	sa->path.local = local;
	sa->path.remote = remote;
	sa->tcp_orig = true;
	return 0;
}

/* Separate transports: ESP's UDP path when IKE came to TCP first (RT-9). */
static void udp_path_from_tcp(struct ike_sa *sa)
{
	struct ike_path *u = &sa->udp_path;

	memset(u, 0, sizeof(*u));
	u->kind = XPORT_UDP4500;
	u->local = sa->path.local;
	u->remote = sa->path.remote;
	sa_set_port(&u->local, sa->e->cfg->daemon.natt_port);
	sa_set_port(&u->remote, IKEV2_NATT_PORT);
}

const struct ike_path *ike_esp_path(const struct ike_sa *sa)
{
	if (sa->path.kind != XPORT_TCP || sa->esp_tcp || !sa->separate)
		return &sa->path;
	return &sa->udp_path;
}

static void fallback_fire(struct timer *t);
static void reconnect_fire(struct timer *t);

int ike_xport_start(struct ike_sa *sa)
{
	const struct conn_cfg *cc = sa->cfg;
	struct engine *e = sa->e;

	sa->xmode = sa->no_separate ? CFG_XPORT_UDP :
		    sa->rfc9329_rebuild ? CFG_XPORT_TCP : cc->transport;
	/* The fallback keeps asking for separate transports when that was
	 * configured: IKE_SA_INIT over TCP with the notify (RT-9). */
	if (sa->fell_back)
		sa->xmode = cc->transport == CFG_XPORT_SEPARATE ?
			    CFG_XPORT_SEPARATE_TCP_FIRST : CFG_XPORT_TCP;
	switch (sa->xmode) {
	case CFG_XPORT_TCP:
	case CFG_XPORT_SEPARATE_TCP_FIRST:
		sa->sep_offered = sa->xmode == CFG_XPORT_SEPARATE_TCP_FIRST;
		/* IKE_SA_INIT goes out once connected: NAT-D covers the
		 * connection's ports (TCP-31). */
		sa->state = IKE_S_INIT_SENT;
		return ike_tcp_connect(sa);
	case CFG_XPORT_SEPARATE:
		/* RT-1: UDP to 4500, behind the non-ESP marker. */
		sa->sep_offered = true;
		sa->path.kind = XPORT_UDP4500;
		sa_set_port(&sa->path.local, e->cfg->daemon.natt_port);
		sa_set_port(&sa->path.remote, IKEV2_NATT_PORT);
		/* UDP may be blocked altogether: then TCP from the start. */
		timer_arm(e->loop, &sa->xport_timer, cc->tcp_fallback_delay_ms,
			  fallback_fire);
		return init_start(sa);
	case CFG_XPORT_AUTO:
		timer_arm(e->loop, &sa->xport_timer, cc->tcp_fallback_delay_ms,
			  fallback_fire);
		/* fall through */
	case CFG_XPORT_UDP:
		sa->path.kind = XPORT_UDP500;
		sa_set_port(&sa->path.local, e->cfg->daemon.udp_port);
		return init_start(sa);
	}
	return -EINVAL;
}

/* The source address the kernel would use towards dst (for NAT-D and IDs). */
static int route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	socklen_t sl = sizeof(*src);
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)dst,
		    dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						 sizeof(struct sockaddr_in)) ||
	    getsockname(fd, (struct sockaddr *)src, &sl))
		r = -errno;
	close(fd);
	return r;
}

struct ike_sa *ike_initiate(struct engine *e, const struct conn_cfg *cc,
			    unsigned int flags, int *err)
{
	struct ike_sa *sa = ike_sa_new(e, cc, true);
	int r;

	if (!sa) {
		*err = -ENOMEM;
		return NULL;
	}
	sa->fell_back = flags & IKE_INIT_FALLBACK;
	sa->no_separate = flags & IKE_INIT_NO_SEPARATE;
	sa->rfc9329_rebuild = flags & IKE_INIT_RFC9329;
	sa->path.remote = cc->remote_addrs[0];
	sa_set_port(&sa->path.remote, cc->remote_port);
	if (cc->n_local) {
		sa->path.local = cc->local_addrs[0];
	} else if ((r = route_source(&sa->path.remote, &sa->path.local))) {
		ike_sa_destroy(sa, NULL);
		*err = r;
		return NULL;
	}
	ike_sa_link(sa);
	r = ike_xport_start(sa);
	if (r) {
		ike_sa_destroy(sa, "cannot start");
		*err = r;
		return NULL;
	}
	*err = 0;
	return sa;
}

/*
 * auto and separate: UDP had tcp_fallback_delay to answer.  RFC 9329 §5.1
 * (TCP-16): a new IKE_SA_INIT over TCP with a new SPI; the UDP attempt is
 * dropped.
 */
static void fallback_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, xport_timer);
	struct engine *e = sa->e;
	const struct conn_cfg *cc = sa->cfg;
	struct ike_sa *ns;
	int err;

	if (sa->state != IKE_S_INIT_SENT || sa->path.kind == XPORT_TCP)
		return;
	log_warn("%s: no answer over UDP in %u ms: falling back to TCP port %u",
		 ike_sa_name(sa), cc->tcp_fallback_delay_ms, cc->tcp_port);
	e->st.tcp_fallbacks++;
	ike_sa_destroy(sa, NULL);
	ns = ike_initiate(e, cc, IKE_INIT_FALLBACK, &err);
	if (!ns)
		log_err("%s: TCP fallback failed: %s", cc->name, strerror(-err));
	else
		log_info("%s: IKE_SA_INIT over TCP (fallback for %s)", ike_sa_name(ns),
			 cc->name);
}

/*
 * RT-8: TCP 4500 could not be reached after a separate-transports
 * IKE_SA_INIT.  A new attempt over plain UDP is allowed when the
 * exchange fits UDP: our key exchanges are all far below the size that
 * would need IKE_SA_INIT fragmentation.
 */
static bool fits_udp(const struct ike_sa *sa)
{
	return sa->init_req.len < 1200;
}

static void tcp_failed(struct ike_sa *sa, int err)
{
	struct engine *e = sa->e;
	const struct conn_cfg *cc = sa->cfg;
	char why[160];

	if (sa->state == IKE_S_INIT_SENT) {
		snprintf(why, sizeof(why), "cannot reach the peer over TCP port %u: %s",
			 cc->tcp_port, strerror(-err));
		e->st.ike_failed++;
		ike_sa_destroy(sa, why);
		return;
	}
	if (sa->state == IKE_S_AUTH_SENT && sa->separate) {
		/* RT-7: cancel this IKE SA. */
		bool retry = cc->udp_retry_without_separate && fits_udp(sa);

		e->st.separate_tcp_failed++;
		e->st.ike_failed++;
		snprintf(why, sizeof(why),
			 "separate transports: TCP port %u unreachable (%s)%s",
			 cc->tcp_port, strerror(-err),
			 retry ? "; retrying over UDP without separate transports" : "");
		ike_sa_destroy(sa, why);
		if (retry && !ike_initiate(e, cc, IKE_INIT_NO_SEPARATE, &err))
			log_err("%s: UDP retry failed: %s", cc->name, strerror(-err));
		return;
	}
	/* An established SA: try again later (its requests time out). */
	if (sa->tcp_orig && sa->state == IKE_S_ESTABLISHED) {
		uint64_t ms = RECONNECT_MIN_MS << (sa->reconnects < 6 ? sa->reconnects : 6);

		if (ms > RECONNECT_MAX_MS)
			ms = RECONNECT_MAX_MS;
		timer_arm(e->loop, &sa->xport_timer, ms, reconnect_fire);
	}
}

static void reconnect_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, xport_timer);

	if (sa->state != IKE_S_ESTABLISHED && sa->state != IKE_S_DELETING)
		return;
	sa->reconnects++;
	sa->e->st.tcp_reconnects++;
	if (ike_tcp_connect(sa))
		tcp_failed(sa, -ENOTCONN);
}

/* ESP inside the stream (RFC 9329 proper): the kernel's espintcp ULP on
 * the connection and every Child SA's ESP on its 4-tuple. */
void ike_tcp_follow(struct ike_sa *sa)
{
	struct engine *e = sa->e;
	struct tcp_conn *c = sa->path.conn;
	struct child_sa *ch;

	if (!sa->esp_tcp || !c || c->dead)
		return;
	if (kernel_esp(e) && !c->espintcp && tcp_enable_espintcp(c))
		log_warn("%s: ESP-in-TCP refused: the kernel cannot attach espintcp to the connection",
			 ike_sa_name(sa));
	for (ch = sa->children; ch; ch = ch->next) {
		if (!ch->installed_in || !e->kb->ops->sa_steer)
			continue;
		e->kb->ops->sa_steer(e->kb, &sa->path.local, ch->spi_in, KB_ENCAP_TCP,
				     sa_port(&sa->path.remote), sa_port(&sa->path.local));
		if (ch->installed_out)
			e->kb->ops->sa_steer(e->kb, &sa->path.remote, ch->spi_out,
					     KB_ENCAP_TCP, sa_port(&sa->path.local),
					     sa_port(&sa->path.remote));
	}
}

void ike_esp_tcp_ready(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;

	if (!sa->esp_tcp || !c || c->dead || c->espintcp || !kernel_esp(sa->e))
		return;
	if (tcp_enable_espintcp(c))
		log_warn("%s: ESP-in-TCP refused: the kernel cannot attach espintcp to the connection",
			 ike_sa_name(sa));
}

void engine_tcp_connected(struct engine *e, struct tcp_conn *c, int err)
{
	struct ike_sa *sa = c->user;
	struct ike_path p;

	(void)e;
	/* An accepted connection is announced once its prefix arrived; when
	 * its first frame came in the same read, that frame has already made
	 * it an SA's path (TCP-26), and there is nothing more to do: the
	 * rest here is the originator's connect finishing. */
	if (!sa || sa->path.conn != c || !c->originator)
		return;
	if (err) {
		detach_conn(sa);
		tcp_failed(sa, err);
		return;
	}
	tcp_conn_path(c, &p);
	sa->path.local = p.local;
	sa->reconnects = 0;
	if (sa->state == IKE_S_INIT_SENT) {
		/* (Re)built now: NAT-D over this connection's ports. */
		if (init_start(sa)) {
			e->st.ike_failed++;
			ike_sa_destroy(sa, "cannot send IKE_SA_INIT");
		}
	} else if (sa->state == IKE_S_AUTH_SENT && sa->req.task == TASK_NONE) {
		/* Separate transports: IKE_AUTH is the first message on TCP
		 * (RT-4), after the "IKETCP" prefix tcp.c sent (RT-6). */
		log_info("%s: IKE moved to TCP port %u (separate transports)",
			 ike_sa_name(sa), sa_port(&sa->path.remote));
		if (auth_start(sa)) {
			e->st.ike_failed++;
			ike_sa_destroy(sa, "cannot build IKE_AUTH");
		}
	} else {
		ike_tcp_follow(sa);
		/* TCP-28: the request that was outstanding goes out again on
		 * the new connection.  With none, a liveness check tells the
		 * peer (which cannot reconnect) where we are now. */
		if (sa->req.task != TASK_NONE) {
			ike_req_resend(sa);
		} else if (sa->state == IKE_S_ESTABLISHED) {
			sa->pending |= PEND_DPD;
			ike_kick(sa);
		}
	}
}

void engine_tcp_closed(struct engine *e, struct tcp_conn *c, int err)
{
	struct ike_sa *sa = c->user;

	(void)e;
	if (!sa || sa->path.conn != c)
		return;
	/* TCP-19: the SA survives a lost connection. */
	log_info("%s: TCP connection closed (%s)%s", ike_sa_name(sa),
		 err ? strerror(-err) : "by the peer",
		 sa->tcp_orig ? "" : "; the peer reconnects");
	detach_conn(sa);
	if (!sa->tcp_orig || sa->state == IKE_S_DEAD)
		return;
	if (sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT) {
		/* Before the SA exists a broken connection ends the attempt
		 * (TCP-30: errors during IKE_SA_INIT are acted on at once). */
		tcp_failed(sa, err ? err : -ECONNRESET);
		return;
	}
	/* Only the originator reconnects: at once when something must go
	 * out (a request, or ESP inside the stream), otherwise when the next
	 * request is sent. */
	if (sa->req.task != TASK_NONE || sa->esp_tcp)
		timer_arm(sa->e->loop, &sa->xport_timer, 0, reconnect_fire);
}

bool ike_separate_switch(struct ike_sa *sa)
{
	if (!sa->separate || sa->path.kind == XPORT_TCP)
		return false;
	sa->udp_path = sa->path;
	sa->udp_path.conn = NULL;
	sa->path.conn = NULL;
	if (ike_tcp_connect(sa)) {
		tcp_failed(sa, -ENOTCONN);
		return true;
	}
	return true;
}

void ike_separate_negotiated(struct ike_sa *sa)
{
	sa->separate = true;
	sa->esp_tcp = false;
	sa->e->st.separate_negotiated++;
	/* IKE_SA_INIT over TCP: ESP reachability is unproven (RT-24). */
	sa->tcp_first = sa->path.kind == XPORT_TCP;
	if (sa->tcp_first)
		udp_path_from_tcp(sa);
}

void ike_xport_inherit(struct ike_sa *ns, struct ike_sa *old)
{
	ns->path = old->path;
	if (ns->path.conn) {
		tcp_conn_get(ns->path.conn);
		ns->path.conn->user = ns;
	}
	ns->xmode = old->xmode;
	ns->tcp_orig = old->tcp_orig;
	ns->separate = old->separate;
	ns->esp_tcp = old->esp_tcp;
	ns->fell_back = old->fell_back;
	ns->udp_path = old->udp_path;
	ns->tcp_first = old->tcp_first;
	ns->esp_udp = old->esp_udp;
	ns->rfc9329_rebuild = old->rfc9329_rebuild;
	/* The probe belongs to the first IKE SA; its result is carried. */
	ns->probe.state = old->probe.state == PROBE_RUNNING ? PROBE_SKIPPED : old->probe.state;
	ns->probe.skip_why = old->probe.state == PROBE_RUNNING ?
			     "IKE SA rekeyed while probing" : old->probe.skip_why;
	ns->probe.answering = old->probe.answering;
	ns->probe.udp = old->probe.udp;
	ns->probe.sent = old->probe.sent;
	ns->probe.answered = old->probe.answered;
	ns->probe.start_ms = old->probe.start_ms;
	ns->probe.done_ms = old->probe.done_ms;
	ns->natt = old->natt;
	ns->nat_local = old->nat_local;
	ns->nat_remote = old->nat_remote;
}
