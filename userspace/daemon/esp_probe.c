// SPDX-License-Identifier: GPL-2.0
/*
 * ESP reachability when IKE started over TCP
 * (draft-ietf-ipsecme-ikev2-reliable-transport-04 §3.7, RT-23..29).
 *
 * An IKE_SA_INIT over UDP already proves that UDP gets through (RT-23);
 * one over TCP proves nothing about ESP.  So after IKE_AUTH the initiator
 * checks that ESP flows both ways before it relies on it (RT-24):
 *
 *   - inbound ESP already counted on the Child SA is proof enough;
 *   - otherwise it sends a probe through its outbound Child SA: a small
 *     UDP datagram from an address of its own inside the local traffic
 *     selectors to one inside the remote ones (discard port), which the
 *     kernel encrypts like any other packet.  Proof is ESP counted on the
 *     inbound SA: the peer's answer (a tcpiked responder echoes every
 *     inbound ESP it sees during the probe with a probe of its own), an
 *     ICMP error or user traffic, all authenticated by the kernel's ESP;
 *   - with a NAT the probe goes in UDP 4500 (RT-26); without one on IP
 *     first, and after esp_probe_delay with no answer the Child SAs move
 *     to UDP 4500 on both ends (our private notify asks the peer; the
 *     module's steer keeps keys and replay state) and the probe goes there
 *     (RT-27).  The transport that answers first is kept (RT-28).  Linux
 *     accepts an inbound SA's ESP on one encapsulation at a time, so the
 *     race is sequential: an answer on IP that comes after the move is no
 *     longer seen;
 *   - with no answer within esp_probe_timeout the IKE SA is deleted (with
 *     a Delete payload) and built again over TCP without
 *     SEPARATE_TRANSPORTS, ESP inside the TCP connection (RT-25).
 *
 * The kernel does the crypto and the counting.  With the module the daemon
 * hears the outcome from it: the probe sets a reachability watch on its
 * Child SA (the outbound SA paired with the inbound one, for
 * esp_probe_delay rounded up to whole seconds), whose "up" event is ESP
 * come back (confirmed) and whose "down" event is outbound ESP unanswered
 * for that long (the move to UDP 4500 at once); no counter is read while
 * it runs.  The responder's watch (1 s) answers each "up" and is set
 * again after the answer, so the next probe in brings the next answer.
 * The watch follows a rekeyed Child SA and is removed when the probe
 * ends.  With the other backends (xfrm, none) the daemon reads the
 * counters (sa_stats) on a short timer instead.  esp_probe_timeout is a
 * timer either way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "exch.h"
#include "kb_none.h"
#include "log.h"
#include "wire.h"

#define PROBE_TICK_MS		100
#define PROBE_SEND_MS		250	/* one probe datagram per */
#define PROBE_DISCARD_PORT	9	/* RFC 863 */
/* The responder's answers per transport: the initiator's host may answer
 * an answer (ICMP), which must not keep the two going back and forth. */
#define PROBE_MAX_ANSWERS	4

static const char probe_payload[] = "tcpike ESP reachability probe";

/* A selector a UDP datagram to the discard port (or its first port) fits. */
static bool ts_udp(const struct ike_ts *t, uint16_t *port)
{
	if (t->proto && t->proto != IPPROTO_UDP)
		return false;
	if (t->sport > t->eport)
		return false;	/* OPAQUE */
	*port = t->sport <= PROBE_DISCARD_PORT && t->eport >= PROBE_DISCARD_PORT ?
		PROBE_DISCARD_PORT : t->sport;
	return true;
}

static const struct ike_ts *set_has(const struct ts_set *s, const struct sockaddr_storage *a)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (ts_has_addr(&s->ts[i], a))
			return &s->ts[i];
	return NULL;
}

/* A local address inside the local selectors: the ESP path's own address
 * (transport mode, host-to-host tunnels), else any address of this host. */
static int probe_src(const struct child_sa *c, const struct sockaddr_storage *own,
		     struct sockaddr_storage *src)
{
	struct ifaddrs *ifs, *i;
	int r = -EADDRNOTAVAIL;

	if (set_has(&c->ts_local, own)) {
		*src = *own;
		return 0;
	}
	if (getifaddrs(&ifs))
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		struct sockaddr_storage a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != own->ss_family)
			continue;
		memset(&a, 0, sizeof(a));
		a.ss_family = own->ss_family;
		memcpy(&a, i->ifa_addr, addr_len(&a));
		if (a.ss_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&a)->sin6_addr))
			continue;
		if (set_has(&c->ts_local, &a)) {
			*src = a;
			r = 0;
			break;
		}
	}
	freeifaddrs(ifs);
	return r;
}

/* The peer's own address when the remote selectors hold it, else the
 * first host of the first remote selector. */
static int probe_dst(const struct child_sa *c, const struct sockaddr_storage *peer,
		     struct sockaddr_storage *dst, uint16_t *port)
{
	const struct ike_ts *t = set_has(&c->ts_remote, peer);
	size_t n;

	if (t) {
		*dst = *peer;
		return ts_udp(t, port) ? 0 : -EPROTONOSUPPORT;
	}
	if (!c->ts_remote.n)
		return -EADDRNOTAVAIL;
	t = &c->ts_remote.ts[0];
	if (!ts_udp(t, port))
		return -EPROTONOSUPPORT;
	memset(dst, 0, sizeof(*dst));
	if (t->type == IKEV2_TS_IPV4_ADDR_RANGE) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)dst;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, t->start, 4);
		n = 4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)dst;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, t->start, 16);
		n = 16;
	}
	/* Not the network address of a wider range. */
	if (memcmp(t->start, t->end, n) && t->start[n - 1] == 0) {
		uint8_t *p = dst->ss_family == AF_INET ?
			     (uint8_t *)&((struct sockaddr_in *)dst)->sin_addr :
			     (uint8_t *)&((struct sockaddr_in6 *)dst)->sin6_addr;

		p[n - 1] = 1;
	}
	return 0;
}

/* One probe datagram through the Child SA's outbound policy. */
static int probe_send(struct ike_sa *sa, const struct child_sa *c)
{
	const struct ike_path *ep = ike_esp_path(sa);
	struct sockaddr_storage src, dst, own = ep->local, peer = ep->remote;
	socklen_t sl;
	uint16_t port;
	int fd, r;

	addr_set_port(&own, 0);
	addr_set_port(&peer, 0);
	if ((r = probe_src(c, &own, &src)) || (r = probe_dst(c, &peer, &dst, &port)))
		return r;
	addr_set_port(&src, 0);
	addr_set_port(&dst, port);
	sl = addr_len(&dst);
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, sl) ||
	    sendto(fd, probe_payload, sizeof(probe_payload) - 1, 0,
		   (struct sockaddr *)&dst, sl) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The none backend counts ESP only when a test simulates it. */
static bool kernel_esp(const struct engine *e)
{
	return e->kb && e->kb->ops->sa_stats &&
	       (e->kb->kind != KB_NONE || kb_none_esp_simulated(e->kb));
}

/* The Child SA the probe looks at: the first one up on IP or UDP. */
static struct child_sa *probe_child(struct ike_sa *sa)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next)
		if (c->state == CHILD_S_INSTALLED && c->installed_in &&
		    c->installed_out && !c->esp_tcp)
			return c;
	return NULL;
}

static int inbound_packets(struct ike_sa *sa, const struct child_sa *c, uint64_t *pk)
{
	struct kbackend *kb = sa->e->kb;
	struct sockaddr_storage l;
	struct kb_stats st;
	int r;

	r = kb->ops->sa_stats(kb, addr_ip_ss(&c->addr_local, &l), c->spi_in, &st);
	if (!r)
		*pk = st.packets;
	return r;
}

static const char *on_what(bool udp)
{
	return udp ? "in UDP 4500" : "on IP";
}

/* The module's reachability watch (backend reach_set) ---------------------- */

/* The seconds a watch waits for ESP back before "down": the initiator's
 * esp_probe_delay rounded up (at least 1, at most the module's 3600); the
 * responder's 1. */
static uint32_t watch_timeout(const struct ike_sa *sa)
{
	uint32_t ms = sa->cfg->esp_probe_delay_ms;

	if (sa->probe->answering || ms <= 1000)
		return 1;
	return ms > 3600000 ? 3600 : (ms + 999) / 1000;
}

static void watch_clear(struct ike_sa *sa)
{
	struct esp_probe *p = sa->probe;
	struct kbackend *kb = sa->e->kb;

	if (!p || !p->watch)
		return;
	p->watch = false;
	/* The kernel drops a watch whose SA went: that is no error here. */
	if (kb->ops->reach_set(kb, &p->watch_dst, p->watch_spi, 0, 0))
		log_debug("%s: reachability watch on SA %08x not removed: %s", ike_sa_name(sa),
			  ntohl(p->watch_spi), kb->kb_error);
	else
		log_debug("%s: reachability watch on SA %08x removed", ike_sa_name(sa),
			  ntohl(p->watch_spi));
}

/*
 * The watch on c, set, or set again: the kernel's watch then starts over,
 * knowing nothing, so the next inbound ESP brings "up".  A watch the
 * kernel refuses leaves the probe reading counters (events false).
 */
static void watch_set(struct ike_sa *sa, const struct child_sa *c)
{
	struct esp_probe *p = sa->probe;
	struct kbackend *kb = sa->e->kb;
	uint32_t t = watch_timeout(sa);
	struct sockaddr_storage dst;

	addr_ip_ss(&c->addr_remote, &dst);
	if (p->watch && (p->watch_spi != c->spi_out || p->watch_pair != c->spi_in ||
			 !addr_eq(&p->watch_dst, &dst)))
		watch_clear(sa);	/* the Child SA was rekeyed */
	if (kb->ops->reach_set(kb, &dst, c->spi_out, c->spi_in, t)) {
		log_warn("%s: no reachability watch on Child SA %s (%s): reading its counters instead",
			 ike_sa_name(sa), c->cfg->name, kb->kb_error);
		watch_clear(sa);	/* the one set before on this SA */
		p->events = false;
		p->base = p->seen = 0;
		return;
	}
	p->watch = true;
	p->watch_dst = dst;
	p->watch_spi = c->spi_out;
	p->watch_pair = c->spi_in;
	log_debug("%s: reachability watch on Child SA %s, SA %08x paired with %08x, %u s",
		  ike_sa_name(sa), c->cfg->name, ntohl(c->spi_out), ntohl(c->spi_in), t);
}

static void probe_ok(struct ike_sa *sa, const char *how)
{
	struct esp_probe *p = sa->probe;

	p->state = PROBE_OK;
	p->done_ms = ike_now();
	xport_go(sa, XE_PROBE_OK);
	sa->e->st.esp_probes_ok++;
	timer_cancel(sa->e->loop, &p->timer);
	watch_clear(sa);
	log_info("%s: ESP reachability confirmed %s after %llu ms (%s, %u probe%s sent)",
		 ike_sa_name(sa), on_what(p->udp),
		 (unsigned long long)(p->done_ms - p->start_ms), how, p->sent,
		 p->sent == 1 ? "" : "s");
}

/* RT-25: delete the IKE SA and build it again in RFC 9329 mode. */
static void probe_failed(struct ike_sa *sa)
{
	struct esp_probe *p = sa->probe;

	p->state = PROBE_FAILED;
	p->done_ms = ike_now();
	sa->e->st.esp_probes_failed++;
	timer_cancel(sa->e->loop, &p->timer);
	watch_clear(sa);
	log_warn("%s: ESP reachability not confirmed in %u ms (%u probes %s%s): deleting the "
		 "IKE SA and building it again over TCP with ESP inside the connection (RFC 9329)",
		 ike_sa_name(sa), sa->cfg->esp_probe_timeout_ms, p->sent,
		 p->udp ? "on IP, then in UDP 4500" : "on IP",
		 p->udp_asked && !p->udp ? "; the move to UDP 4500 did not happen" : "");
	xport_go(sa, XE_PROBE_FAIL);
	sa->pending |= PEND_DELETE_IKE;
	ike_kick(sa);
}

static bool answers_left(const struct esp_probe *p)
{
	return p->answered - p->answered_before < PROBE_MAX_ANSWERS;
}

static void answer_send(struct ike_sa *sa, const struct child_sa *c, uint64_t now)
{
	struct esp_probe *p = sa->probe;

	p->last_ms = now;
	if (!probe_send(sa, c))
		p->answered++;
}

/* The responder's half: answer inbound ESP while the window is open (with
 * a watch, on its up events: esp_probe_reach). */
static void answer_tick(struct ike_sa *sa, struct child_sa *c, uint64_t now)
{
	struct esp_probe *p = sa->probe;
	uint64_t pk;

	if (now - p->phase_ms > 2ull * sa->cfg->esp_probe_timeout_ms) {
		p->state = p->answered ? PROBE_OK : PROBE_SKIPPED;
		p->skip_why = "no probe arrived";
		p->done_ms = now;
		xport_go(sa, p->answered ? XE_PROBE_OK : XE_PROBE_SKIP);
		timer_cancel(sa->e->loop, &p->timer);
		watch_clear(sa);
		log_debug("%s: ESP probe window closed, %u answered", ike_sa_name(sa),
			  p->answered);
		return;
	}
	if (p->events || !c || inbound_packets(sa, c, &pk) || pk <= p->seen)
		return;
	if (p->answered && now - p->last_ms < PROBE_SEND_MS)
		return;		/* at most one answer per PROBE_SEND_MS */
	if (!answers_left(p))
		return;
	p->seen = pk;
	answer_send(sa, c, now);
}

static bool can_move_udp(struct ike_sa *sa)
{
	/* Raw <-> UDP in place keeps keys and replay state: the module (and
	 * the none backend's simulation). */
	return (sa->e->kb->kind == KB_MODULE || kb_none_esp_simulated(sa->e->kb)) &&
	       sa->e->cfg->daemon.esp_transport_notify;
}

/* RT-27: ask the peer to move ESP to UDP 4500 (once). */
static void move_udp(struct ike_sa *sa, const char *why)
{
	struct esp_probe *p = sa->probe;
	const struct conn_cfg *cc = sa->cfg;

	p->udp_asked = true;
	if (can_move_udp(sa)) {
		log_info("%s: no ESP back on IP in %llu ms (%s): trying UDP 4500 too (RT-27)",
			 ike_sa_name(sa), (unsigned long long)(ike_now() - p->start_ms), why);
		sa->pending |= PEND_ESP_UDP;
		ike_kick(sa);
	} else {
		log_warn("%s: no ESP back on IP in %u ms, and UDP 4500 cannot be tried: "
			 "moving ESP between IP and UDP in place needs the tcpike module",
			 ike_sa_name(sa), cc->esp_probe_delay_ms);
	}
}

static void probe_tick(struct timer *t)
{
	struct esp_probe *p = container_of(t, struct esp_probe, timer);
	struct ike_sa *sa = p->sa;
	const struct conn_cfg *cc = sa->cfg;
	struct child_sa *c;
	uint64_t now = ike_now(), pk;

	if (sa->state != IKE_S_ESTABLISHED || p->state != PROBE_RUNNING)
		return;
	c = probe_child(sa);
	if (c && c->spi_in != p->spi_in) {
		/* A new Child SA (rekeyed): anything on it counts. */
		p->spi_in = c->spi_in;
		p->base = p->seen = 0;
	}
	/* The watch follows the Child SA (the first one, a rekeyed one). */
	if (p->events && c && (!p->watch || p->watch_pair != c->spi_in))
		watch_set(sa, c);
	if (p->answering) {
		answer_tick(sa, c, now);
		if (p->state == PROBE_RUNNING)
			timer_arm(sa->e->loop, &p->timer, PROBE_TICK_MS, probe_tick);
		return;
	}
	/* While the move to UDP is being agreed the two ends may disagree on
	 * the encapsulation: nothing counts until it is done. */
	if (!p->events && c && sa->req.task != TASK_ESP_TRANSPORT &&
	    !inbound_packets(sa, c, &pk) && pk > p->base) {
		probe_ok(sa, p->sent ? "ESP came back" : "inbound ESP already seen");
		return;
	}
	if (now - p->start_ms >= cc->esp_probe_timeout_ms) {
		probe_failed(sa);
		return;
	}
	/* With a watch its down event moves; unless no probe datagram could
	 * leave, when the kernel may never see outbound ESP to say so. */
	if (!p->udp && !p->udp_asked && now - p->start_ms >= cc->esp_probe_delay_ms &&
	    (!p->watch || !p->sent_ok))
		move_udp(sa, p->watch ? "no probe datagram could be sent" : "timer");
	if (c && sa->req.task != TASK_ESP_TRANSPORT && now - p->last_ms >= PROBE_SEND_MS) {
		int r = probe_send(sa, c);

		if (r)
			log_debug("%s: ESP probe not sent: %s", ike_sa_name(sa), strerror(-r));
		else
			p->sent_ok++;
		p->sent++;
		p->last_ms = now;
	}
	timer_arm(sa->e->loop, &p->timer, PROBE_TICK_MS, probe_tick);
}

void esp_probe_start(struct ike_sa *sa)
{
	struct esp_probe *p;
	struct child_sa *c;
	uint64_t pk;
	int r;

	if (!xport_state_probing(sa->x.state))
		return;		/* RT-23: IKE over UDP proved UDP */
	p = ike_probe_get(sa);
	if (!p) {
		log_err("%s: no memory for an ESP reachability probe: none run",
			ike_sa_name(sa));
		xport_go(sa, XE_PROBE_SKIP);
		return;
	}
	if (!kernel_esp(sa->e) || !sa->cfg->esp_probe) {
		p->state = PROBE_SKIPPED;
		p->skip_why = !kernel_esp(sa->e) ? "no kernel ESP (backend none)" :
			      "esp_probe = no";
		xport_go(sa, XE_PROBE_SKIP);
		return;
	}
	p->state = PROBE_RUNNING;
	p->answering = !sa->initiator;
	p->udp = sa->nat_local || sa->nat_remote;	/* RT-26 */
	p->start_ms = p->phase_ms = ike_now();
	p->events = sa->e->kb->ops->reach_set != NULL;
	c = probe_child(sa);
	if (c)
		p->spi_in = c->spi_in;
	if (p->answering) {
		/* Set before the initiator can have its IKE_AUTH response. */
		if (c && p->events)
			watch_set(sa, c);
		/* The initiator's probe may already be in (seen 0): answer it. */
		timer_arm(sa->e->loop, &p->timer, 0, probe_tick);
		return;
	}
	if (!c) {
		log_warn("%s: no Child SA to probe ESP reachability with", ike_sa_name(sa));
		timer_arm(sa->e->loop, &p->timer, PROBE_TICK_MS, probe_tick);
		return;
	}
	/* RT-24: ESP that already came in is evidence enough (read once,
	 * before any watch). */
	if (!inbound_packets(sa, c, &pk) && pk) {
		probe_ok(sa, "inbound ESP already seen");
		return;
	}
	if (p->events)
		watch_set(sa, c);
	log_info("%s: IKE started over TCP: probing ESP reachability %s (RT-24), %s",
		 ike_sa_name(sa), on_what(p->udp), p->events ?
		 "the module's reachability events telling the outcome" :
		 "reading the Child SA's counters");
	r = probe_send(sa, c);
	if (r)
		log_warn("%s: cannot send an ESP probe (%s): %s", ike_sa_name(sa),
			 strerror(-r), r == -EADDRNOTAVAIL ?
			 "no address of this host inside the local traffic selectors; "
			 "only inbound ESP can prove reachability" :
			 r == -EPROTONOSUPPORT ? "the traffic selectors do not allow UDP" : "");
	else
		p->sent_ok++;
	p->sent++;
	p->last_ms = p->start_ms;
	timer_arm(sa->e->loop, &p->timer, PROBE_TICK_MS, probe_tick);
}

void esp_probe_stop(struct ike_sa *sa)
{
	if (sa->probe)
		timer_cancel(sa->e->loop, &sa->probe->timer);
	watch_clear(sa);
}

/*
 * The module's reachability event on the probe's watch.  Initiator: up is
 * ESP back (confirmed; not while the move to UDP is being agreed, after
 * which the watch starts over); down is no answer on IP within
 * esp_probe_delay: the move to UDP 4500 at once (RT-27).  Responder: up
 * is a probe in, answered, and the watch set again for the next one.
 */
void esp_probe_reach(struct child_sa *c, bool up)
{
	struct ike_sa *sa = c->ike;
	struct esp_probe *p = sa->probe;

	if (!p || sa->state != IKE_S_ESTABLISHED || p->state != PROBE_RUNNING || !p->watch ||
	    p->watch_pair != c->spi_in || p->watch_spi != c->spi_out) {
		log_debug("%s: reachability %s on Child SA %s (%08x): no probe is watching it",
			  ike_sa_name(sa), up ? "up" : "down", c->cfg->name, ntohl(c->spi_in));
		return;
	}
	if (p->answering) {
		if (!up || !answers_left(p)) {
			log_debug("%s: reachability %s: %s", ike_sa_name(sa), up ? "up" : "down",
				  up ? "answered enough" : "nothing to answer");
			return;
		}
		log_debug("%s: ESP probe arrived %s (module reachability event): answering",
			  ike_sa_name(sa), on_what(p->udp));
		answer_send(sa, c, ike_now());
		watch_set(sa, c);
		return;
	}
	if (up) {
		if (sa->req.task == TASK_ESP_TRANSPORT) {
			log_debug("%s: reachability up while ESP moves to UDP 4500: not counted",
				  ike_sa_name(sa));
			return;
		}
		probe_ok(sa, "ESP came back: module reachability event");
		return;
	}
	if (p->udp || p->udp_asked) {
		log_debug("%s: reachability down %s: esp_probe_timeout decides",
			  ike_sa_name(sa), on_what(p->udp));
		return;
	}
	move_udp(sa, "module reachability event");
}

int esp_transport_start(struct ike_sa *sa)
{
	uint8_t udp = 1;
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &in);
	ike_put_notify(&bld, 0, NULL, 0, sa->e->cfg->daemon.esp_transport_notify, &udp, 1);
	r = ike_send_request(sa, TASK_ESP_TRANSPORT, IKEV2_EXCH_INFORMATIONAL, &bld);
	buf_free(&in);
	return r;
}

/* Every Child SA of the IKE SA, or none: on failure the moved ones go back. */
static int steer_all(struct ike_sa *sa, bool udp)
{
	const struct ike_path *ep = ike_esp_path(sa);
	uint16_t lport = addr_port(&ep->local), rport = addr_port(&ep->remote);
	struct child_sa *c, *d;
	int r = 0;

	for (c = sa->children; c; c = c->next) {
		if (c->esp_tcp || c->encap == udp || (!c->installed_in && !c->installed_out))
			continue;
		r = child_steer(c, udp, lport, rport);
		if (r)
			break;
	}
	if (!r)
		return 0;
	for (d = sa->children; d != c; d = d->next)
		if (!d->esp_tcp && d->encap == udp && (d->installed_in || d->installed_out))
			child_steer(d, !udp, lport, rport);
	return r;
}

void esp_transport_rx_request(struct ike_sa *sa, const struct ike_msg *inner,
			      struct ike_builder *resp)
{
	uint16_t type = sa->e->cfg->daemon.esp_transport_notify;
	struct ike_notify n;
	struct child_sa *c;
	uint8_t udp;

	if (!type || ike_find_notify(inner, type, &n))
		return;
	/* Our own private notify: anything unexpected is ignored, as RFC 7296
	 * §3.10.1 has unknown status notifies ignored (and RT-14). */
	if (n.data.len != 1 || n.data.p[0] > 1) {
		log_info("%s: ESP transport request ignored (malformed)", ike_sa_name(sa));
		return;
	}
	udp = n.data.p[0];
	if (xport_next(sa->x.state, udp ? XE_ESP_UDP : XE_ESP_IP, NULL) < 0) {
		log_info("%s: ESP transport request ignored (not using separate transports)",
			 ike_sa_name(sa));
		return;
	}
	if (!sa->e->kb->ops->sa_steer || steer_all(sa, udp)) {
		log_warn("%s: peer asked for ESP %s, but the Child SAs cannot move there",
			 ike_sa_name(sa), on_what(udp));
		return;
	}
	xport_go(sa, udp ? XE_ESP_UDP : XE_ESP_IP);
	if (sa->probe) {
		sa->probe->udp = udp;
		sa->probe->phase_ms = ike_now();	/* answer for a while longer */
		sa->probe->answered_before = sa->probe->answered;
		/* The watch starts over: the first probe on the new transport is up. */
		if (sa->probe->state == PROBE_RUNNING && sa->probe->watch && (c = probe_child(sa)))
			watch_set(sa, c);
	}
	sa->e->st.esp_moved_udp += udp;
	log_info("%s: ESP moved %s at the peer's request (reachability probe)",
		 ike_sa_name(sa), on_what(udp));
	ike_put_notify(resp, 0, NULL, 0, type, &udp, 1);
}

void esp_transport_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	struct esp_probe *p = sa->probe;
	struct ike_notify n;
	struct child_sa *c;
	uint64_t pk;

	if (ike_find_notify(inner, sa->e->cfg->daemon.esp_transport_notify, &n) ||
	    n.data.len != 1 || n.data.p[0] != 1) {
		log_warn("%s: the peer did not move ESP to UDP 4500: probing on IP only",
			 ike_sa_name(sa));
		/* Ups were not counted during the request: the watch starts
		 * over, so the next ESP in on IP is up. */
		if (p->state == PROBE_RUNNING && p->watch && (c = probe_child(sa)))
			watch_set(sa, c);
		return;
	}
	if (steer_all(sa, true)) {
		log_err("%s: the peer moved ESP to UDP 4500 but we cannot follow",
			ike_sa_name(sa));
		return;
	}
	xport_go(sa, XE_ESP_UDP);
	sa->e->st.esp_moved_udp++;
	if (!p || p->state != PROBE_RUNNING)
		return;
	p->udp = true;
	p->phase_ms = ike_now();
	p->last_ms = 0;		/* the next tick sends */
	c = probe_child(sa);
	if (c && p->watch)
		watch_set(sa, c);	/* from unknown: ESP in UDP brings up */
	else if (c && !p->events && !inbound_packets(sa, c, &pk))
		p->base = pk;
	log_info("%s: ESP moved in UDP 4500 at both ends: probing there", ike_sa_name(sa));
}

void esp_probe_str(const struct ike_sa *sa, char *out, size_t len)
{
	const struct esp_probe *p = ike_probe(sa);

	switch (p->state) {
	case PROBE_NONE:
		snprintf(out, len, "%s", xport_separate(&sa->x) &&
			 !xport_state_probing(sa->x.state) ?
			 "not needed (IKE started over UDP)" : "none");
		break;
	case PROBE_SKIPPED:
		snprintf(out, len, "skipped (%s)", p->skip_why ? p->skip_why : "?");
		break;
	case PROBE_RUNNING:
		if (p->answering)
			snprintf(out, len, "answering (%u answered)", p->answered);
		else
			snprintf(out, len, "running %s (%u sent)", on_what(p->udp), p->sent);
		break;
	case PROBE_OK:
		if (p->answering)
			snprintf(out, len, "answered %u", p->answered);
		else
			snprintf(out, len, "confirmed %s after %llu ms", on_what(p->udp),
				 (unsigned long long)(p->done_ms - p->start_ms));
		break;
	case PROBE_FAILED:
		snprintf(out, len, "failed: rebuilding in RFC 9329 mode");
		break;
	}
}
