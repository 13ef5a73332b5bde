// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's life and what the control socket asks of it: initiate,
 * terminate, rekey, status (text and JSON), reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "dns.h"
#include "exch.h"
#include "log.h"
#include "tcp.h"
#include "udp.h"

/* The exchanges as the core sees them (struct exch_ops): the one place
 * that names them together. */
const struct exch_ops exch_ops = {
	.init_rx_request = init_rx_request,
	.init_rx_response = init_rx_response,
	.init_start = init_start,
	.auth_start = inter_start,
	.types = {
		[IKEV2_EXCH_IKE_AUTH - IKEV2_EXCH_IKE_AUTH] = {
			.rx_request = auth_rx_request,
			.rx_response = auth_rx_response,
			.half_open = true,
		},
		[IKEV2_EXCH_CREATE_CHILD_SA - IKEV2_EXCH_IKE_AUTH] = {
			.rx_request = create_rx_request,
			.rx_response = create_rx_response,
		},
		[IKEV2_EXCH_INFORMATIONAL - IKEV2_EXCH_IKE_AUTH] = {
			.rx_request = info_rx_request,
			.rx_response = info_rx_response,
		},
		[IKEV2_EXCH_IKE_INTERMEDIATE - IKEV2_EXCH_IKE_AUTH] = {
			.rx_request = inter_rx_request,
			.rx_response = inter_rx_response,
			.half_open = true,
		},
		[IKEV2_EXCH_IKE_FOLLOWUP_KE - IKEV2_EXCH_IKE_AUTH] = {
			.rx_request = followup_rx_request,
			.rx_response = followup_rx_response,
		},
	},
	.followup_clear = followup_clear,
	.delete_ike = info_start_delete_ike,
	.ike_rekey = ike_start_rekey,
	.delete_child = info_start_delete_child,
	.child_rekey = child_start_rekey,
	.child_pass = child_pass,
	.esp_transport = esp_transport_start,
	.dpd = info_start_dpd,
	.probe_stop = esp_probe_stop,
	.probe_reach = esp_probe_reach,
};

struct engine *engine_new(struct loop *loop, struct config *cfg, struct kbackend *kb)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	e->cfg = cfg;
	e->pools = pool_set_new();
	if (!e->pools || pool_set_apply(e->pools, cfg)) {
		pool_set_free(e->pools);
		free(e);
		return NULL;
	}
	e->frags.cap = cfg->daemon.max_frag_memory;
	e->kb = kb;
	e->exch = &exch_ops;
	mem_burst_init(&e->ho_mem, loop, &e->n_half_open);
	cookie_rotate(e);
	return e;
}

/* --- the transports, through struct engine_net ------------------------------- */

static int net_send(void *ctx, const struct ike_path *path, const uint8_t *msg, size_t len)
{
	struct engine *e = ctx;

	if (path->kind == XPORT_TCP)
		return path->conn ? tcp_send(path->conn, msg, len) : -ENOTCONN;
	return e->udp ? udp_send(e->udp, path, msg, len) : -ENOTCONN;
}

static int net_keepalive(void *ctx, const struct sockaddr_storage *local,
			 const struct sockaddr_storage *remote)
{
	struct engine *e = ctx;

	return e->udp ? udp_send_keepalive(e->udp, local, remote) : -ENOTCONN;
}

static struct tcp_conn *net_connect(void *ctx, const struct sockaddr_storage *local,
				    const struct sockaddr_storage *remote,
				    uint32_t timeout_ms, uint32_t race_ms, int *err)
{
	struct engine *e = ctx;

	if (!e->tcp) {
		*err = -ENOTCONN;
		return NULL;
	}
	return tcp_connect(e->tcp, local, remote, timeout_ms, race_ms, err);
}

static void net_close(void *ctx, struct tcp_conn *c, int err)
{
	(void)ctx;
	tcp_conn_close(c, err);
}

static int net_wait(void *ctx, const struct ike_path *path, int err, uint64_t deadline_ms)
{
	struct engine *e = ctx;

	if (path->kind == XPORT_TCP)
		return path->conn ? tcp_wait_room(path->conn, err, deadline_ms) : -ENOTCONN;
	return e->udp ? udp_wait_room(e->udp, path, err, deadline_ms) : -ENOTCONN;
}

static const struct engine_net transports = {
	.send = net_send,
	.keepalive = net_keepalive,
	.connect = net_connect,
	.close = net_close,
	.wait = net_wait,
};

void engine_set_transports(struct engine *e, struct udp *u, struct tcp *t)
{
	e->udp = u;
	e->tcp = t;
	engine_set_net(e, &transports, e);
}

void engine_set_net(struct engine *e, const struct engine_net *net, void *ctx)
{
	e->net = net;
	e->net_ctx = ctx;
}

struct config *engine_config(const struct engine *e)
{
	return e->cfg;
}

/* An established SA's peer can be told it is going. */
static bool delete_tellable(const struct ike_sa *sa)
{
	return sa->keyed && (sa->state == IKE_S_ESTABLISHED || sa->state == IKE_S_REKEYED);
}

/*
 * The Delete of the whole IKE SA (RFC 7296 §1.4.1), sent once, its answer
 * not awaited; waiting for room in the socket until deadline_ms (0: not
 * at all).  None while a request of ours is out: the peer's window (§2.3)
 * has no room for it (-EBUSY).
 */
static int delete_once(struct ike_sa *sa, uint64_t deadline_ms)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	int err;

	if (sa->req.task != TASK_NONE)
		return -EBUSY;
	chain_begin(&bld, &in);
	ike_put_delete(&bld, IKEV2_PROTO_IKE, 0, NULL, 0);
	err = ike_send_once(sa, IKEV2_EXCH_INFORMATIONAL, &bld, deadline_ms);
	buf_free(&in);
	return err;
}

/* Best effort on the way out: one unacknowledged Delete, then gone. */
void ike_sa_delete_now(struct ike_sa *sa, const char *why)
{
	if (delete_tellable(sa))
		delete_once(sa, 0);
	ike_sa_destroy(sa, why);
}

/* What engine_shutdown did, for its one line (nothing else keeps it: the
 * engine is going). */
struct stop_tally {
	unsigned int sent, busy, late, failed, quiet;
};

static void stop_one(struct ike_sa *sa, bool tell, uint64_t deadline_ms, struct stop_tally *t)
{
	int err;

	if (!delete_tellable(sa))
		return;
	if (!tell) {
		t->quiet++;
		return;
	}
	err = loop_now_ms() < deadline_ms ? delete_once(sa, deadline_ms) : -ETIMEDOUT;
	if (!err)
		t->sent++;
	else if (err == -EBUSY)
		t->busy++;
	else if (err == -ETIMEDOUT)
		t->late++;
	else
		t->failed++;
}

void engine_shutdown(struct engine *e)
{
	/* At shutdown the Deletes take stop_timeout at most, however many SAs
	 * and however slowly the sockets drain: past it the rest of the SAs
	 * go untold (their Child SAs still leave the kernel). */
	bool tell = !e->cfg || e->cfg->daemon.delete_on_stop;
	uint32_t limit = e->cfg ? e->cfg->daemon.stop_timeout_ms : 3000;
	uint64_t t0 = loop_now_ms(), end = t0 + limit;
	struct stop_tally t = { 0 };
	unsigned int unsent;
	double secs;

	e->shutting_down = true;
	mem_burst_stop(&e->ho_mem);
	/* Every peer told first, then the SAs and their kernel state go: the
	 * Deletes' time is theirs alone.  A send destroys no SA (a TCP
	 * connection it closes leaves its established SA in place). */
	for (struct ike_sa *sa = e->all; sa; sa = sa->next)
		stop_one(sa, tell, end, &t);
	secs = (double)(loop_now_ms() - t0) / 1000;
	while (e->all) {
		/* the line below for all: a line each would be a million */
		log_debug("%s: IKE SA deleted: daemon stopping", ike_sa_name(e->all));
		ike_sa_destroy(e->all, NULL);
	}
	trap_remove_all(e);
	unsent = t.busy + t.late + t.failed;
	if (t.quiet)
		log_info("stopping: %u IKE SAs deleted without a Delete (delete_on_stop = no)",
			 t.quiet);
	else if (unsent)
		log_warn("stopping: sent %u Deletes in %.1f s, %u not sent (%u with a request of ours unanswered, %u past stop_timeout = %.1f s, %u with no TCP connection or a send error)",
			 t.sent, secs, unsent, t.busy, t.late, (double)limit / 1000, t.failed);
	else if (t.sent)
		log_info("stopping: sent %u Deletes in %.1f s, 0 not sent", t.sent, secs);
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_shutdown(e);
	if (e->kev_watched)
		loop_unwatch(e->loop, e->kev_fd);
	while (e->waiters)
		engine_wait_cancel(e->waiters);
	xport_later_free(e);
	conn_retries_free(e);
	dns_free_all(e);
	vip_memo_free(e);
	timer_cancel(e->loop, &e->cookie_timer);
	mem_burst_stop(&e->ho_mem);
	cred_free_all(e);
	pool_set_free(e->pools);
	OPENSSL_cleanse(&e->cookie, sizeof(e->cookie));
	free(e->table);
	htab_free(&e->child_spis);
	htab_free(&e->peer_ids);
	free(e);
}

/* --- initiate ------------------------------------------------------------------ */

static struct ike_sa *conn_sa(struct engine *e, const struct conn_cfg *cc)
{
	struct ike_sa *sa;

	for (sa = e->all; sa; sa = sa->next)
		if (sa->cfg == cc && sa->state != IKE_S_DEAD && sa->state != IKE_S_REKEYED &&
		    sa->state != IKE_S_DELETING && sa->state != IKE_S_HALF_OPEN)
			return sa;
	return NULL;
}

static int reply(struct buf *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formatted text appended to b (a line longer than 1 KiB is cut). */
static void vbprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void vbprintf(struct buf *b, const char *fmt, va_list ap)
{
	char s[1024];
	int n = vsnprintf(s, sizeof(s), fmt, ap);

	if (n > 0)
		buf_append(b, s, (size_t)n < sizeof(s) ? (size_t)n : sizeof(s) - 1);
}

static int reply(struct buf *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vbprintf(out, fmt, ap);
	va_end(ap);
	return err;
}

static int conn_initiate(struct engine *e, const struct conn_cfg *cc,
			 const struct child_trigger *trig, struct buf *out)
{
	struct ike_sa *sa;
	int r;

	if (!conn_can_initiate(cc))
		return reply(out, -EINVAL, "connection '%s' has no address in remote_addrs to initiate to (prefixes and %%any only admit peers)",
			     cc->name);
	/* now, not at the next keying attempt */
	conn_retry_cancel(e, cc->name);
	sa = conn_sa(e, cc);
	if (sa) {
		if (sa->state == IKE_S_ESTABLISHED) {
			child_wants_clear(sa);	/* the operator asks again */
			sa->pending |= PEND_CHILD;
			ike_set_trigger(sa, trig);
			ike_kick(sa);
		}
		return reply(out, 0, "%s is already %s\n", ike_sa_name(sa),
			     sa->state == IKE_S_ESTABLISHED ? "established" : "being set up");
	}
	if (!cfg_remote_addr(cc)) {
		/* a name, asked for again each time (dns.c initiates) */
		r = dns_resolve(e, cc, true, 1);
		if (r)
			return reply(out, r, "cannot resolve %s", cfg_remote_host(cc));
		return reply(out, 0, "%s: resolving %s, IKE_SA_INIT follows\n", cc->name,
			     cfg_remote_host(cc));
	}
	sa = ike_initiate(e, cc, 0, &r);
	if (!sa)
		return reply(out, r, "cannot start IKE_SA_INIT: %s", strerror(-r));
	ike_set_trigger(sa, trig);
	log_info("%s: initiating to %s", ike_sa_name(sa), cc->name);
	return reply(out, 0, "%s: IKE_SA_INIT %s over %s\n", ike_sa_name(sa),
		     sa->path.kind == XPORT_TCP ? "waits for the TCP connection" : "sent",
		     cfg_transport_name(sa->x.mode));
}

int engine_initiate(struct engine *e, const char *name, struct buf *out)
{
	const struct conn_cfg *cc = config_conn(e->cfg, name);

	if (!cc)
		return reply(out, -ENOENT, "no connection named '%s'", name);
	return conn_initiate(e, cc, NULL, out);
}

/* One end of the packet as a selector: its address, its protocol, its
 * port where the protocol has ports (XFRM's ICMP type and code in the
 * port fields are not ports: any). */
static void packet_ts(const struct kb_selector *pkt, bool src, struct ike_ts *t)
{
	bool ports = pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP ||
		     pkt->proto == IPPROTO_SCTP;
	uint16_t port = src ? pkt->sport : pkt->dport;

	memset(t, 0, sizeof(*t));
	t->type = pkt->family == AF_INET6 ? IKEV2_TS_IPV6_ADDR_RANGE : IKEV2_TS_IPV4_ADDR_RANGE;
	t->proto = pkt->proto;
	t->sport = ports && port ? port : 0;
	t->eport = ports && port ? port : 65535;
	kb_ip16(t->start, src ? &pkt->src : &pkt->dst);
	memcpy(t->end, t->start, sizeof(t->end));
}

int conn_initiate_trap(struct engine *e, const struct conn_cfg *cc, const struct child_cfg *ch,
		       const struct kb_selector *pkt, struct buf *out)
{
	struct child_trigger trig = { .cfg = ch };

	packet_ts(pkt, true, &trig.tsi);
	packet_ts(pkt, false, &trig.tsr);
	return conn_initiate(e, cc, &trig, out);
}

void engine_autostart(struct engine *e)
{
	const struct conn_cfg *cc;
	struct buf out = BUF_INIT;

	trap_install_all(e);
	dns_resolve_all(e);	/* a responder admits what they resolve to */
	for (cc = e->cfg->conns; cc; cc = cc->next) {
		const struct child_cfg *ch = cc->children;

		/* start_action = start on the connection or on a child */
		while (ch && ch->start_action != CFG_START_START)
			ch = ch->next;
		if (cc->start_action != CFG_START_START && !ch)
			continue;
		buf_reset(&out);
		if (engine_initiate(e, cc->name, &out))
			log_warn("%s: start failed: %.*s", cc->name, (int)out.len, (char *)out.data);
	}
	buf_free(&out);
}

int engine_terminate(struct engine *e, const char *name, struct buf *out)
{
	const struct conn_cfg *cc = config_conn(e->cfg, name);
	struct ike_sa *sa, *n;
	int count = 0;
	bool retry;
	int traps;

	if (!cc)
		return reply(out, -ENOENT, "no connection named '%s'", name);
	retry = conn_retry_cancel(e, cc->name);
	traps = trap_remove_conn(e, cc);
	for (sa = e->all; sa; sa = n) {
		n = sa->next;
		if (sa->cfg != cc || sa->state == IKE_S_DELETING)
			continue;
		count++;
		if (sa->state == IKE_S_ESTABLISHED && sa->req.task == TASK_NONE) {
			sa->pending |= PEND_DELETE_IKE;
			ike_kick(sa);
		} else {
			ike_sa_delete_now(sa, "terminated");
		}
	}
	if (!count && retry)
		return reply(out, 0, "the next attempt of %s is cancelled\n", name);
	if (!count && traps)
		return reply(out, 0, "%d trap(s) of %s removed\n", traps, name);
	if (!count)
		return reply(out, -ENOENT, "connection '%s' has no IKE SA", name);
	return reply(out, 0, "%d IKE SA(s) of %s being deleted\n", count, name);
}

int engine_rekey(struct engine *e, const char *name, bool child, struct buf *out)
{
	const struct conn_cfg *cc = config_conn(e->cfg, name);
	struct ike_sa *sa;
	struct child_sa *c;
	int n = 0;

	if (!cc)
		return reply(out, -ENOENT, "no connection named '%s'", name);
	sa = conn_sa(e, cc);
	if (!sa || sa->state != IKE_S_ESTABLISHED)
		return reply(out, -ENOENT, "connection '%s' has no established IKE SA", name);
	if (child) {
		for (c = sa->children; c; c = c->next)
			if (c->state == CHILD_S_INSTALLED) {
				c->pending |= CHILD_PEND_REKEY;
				n++;
			}
		if (!n)
			return reply(out, -ENOENT, "%s has no Child SA to rekey", ike_sa_name(sa));
	} else {
		sa->pending |= PEND_IKE_REKEY;
	}
	ike_kick(sa);
	return reply(out, 0, "%s: rekey of %s started\n", ike_sa_name(sa),
		     child ? "the Child SAs" : "the IKE SA");
}

static struct ike_sa *sa_by_id(struct engine *e, uint64_t id)
{
	for (struct ike_sa *sa = e->all; sa; sa = sa->next)
		if (sa->id == id && sa->state != IKE_S_DEAD)
			return sa;
	return NULL;
}

static struct child_sa *child_by_id(struct engine *e, uint64_t id)
{
	for (struct ike_sa *sa = e->all; sa; sa = sa->next)
		for (struct child_sa *c = sa->children; c; c = c->next)
			if (c->id == id)
				return c;
	return NULL;
}

int engine_terminate_id(struct engine *e, bool child, uint64_t id, struct buf *out)
{
	struct child_sa *c;
	struct ike_sa *sa;

	if (!child) {
		sa = sa_by_id(e, id);
		if (!sa)
			return reply(out, -ENOENT, "no IKE SA %llu", (unsigned long long)id);
		if (sa->state == IKE_S_ESTABLISHED && sa->req.task == TASK_NONE) {
			sa->pending |= PEND_DELETE_IKE;
			ike_kick(sa);
		} else if (sa->state != IKE_S_DELETING) {
			ike_sa_delete_now(sa, "terminated");
		}
		return reply(out, 0, "IKE SA %llu being deleted\n", (unsigned long long)id);
	}
	c = child_by_id(e, id);
	if (!c || c->state != CHILD_S_INSTALLED)
		return reply(out, -ENOENT, "no installed Child SA %llu", (unsigned long long)id);
	c->pending |= CHILD_PEND_DELETE;
	ike_kick(c->ike);
	return reply(out, 0, "Child SA %llu of %s being deleted\n", (unsigned long long)id,
		     ike_sa_name(c->ike));
}

int engine_rekey_id(struct engine *e, bool child, uint64_t id, struct buf *out)
{
	struct child_sa *c;
	struct ike_sa *sa;

	if (!child) {
		sa = sa_by_id(e, id);
		if (!sa || sa->state != IKE_S_ESTABLISHED)
			return reply(out, -ENOENT, "no established IKE SA %llu", (unsigned long long)id);
		sa->pending |= PEND_IKE_REKEY;
		ike_kick(sa);
		return reply(out, 0, "%s: rekey of the IKE SA started\n", ike_sa_name(sa));
	}
	c = child_by_id(e, id);
	if (!c || c->state != CHILD_S_INSTALLED || c->ike->state != IKE_S_ESTABLISHED)
		return reply(out, -ENOENT, "no installed Child SA %llu", (unsigned long long)id);
	c->pending |= CHILD_PEND_REKEY;
	ike_kick(c->ike);
	return reply(out, 0, "%s: rekey of Child SA %llu started\n", ike_sa_name(c->ike),
		     (unsigned long long)id);
}

/* --- initiate and wait --------------------------------------------------------- */

#define WAIT_POLL_MS	100

struct engine_waiter {
	struct engine *e;
	char conn[128];
	unsigned int down;	/* polls in a row with no SA of conn */
	engine_wait_fn fn;
	void *ctx;
	struct timer timer;
	struct engine_waiter *next;
};

/* 1 up, -1 failed, 0 not yet; the sentence in why. */
static int conn_result(struct engine *e, const struct conn_cfg *cc, char *why, size_t len)
{
	bool pending = false;

	for (struct ike_sa *sa = e->all; sa; sa = sa->next) {
		size_t o;
		int n = 0;

		if (sa->cfg != cc || sa->state == IKE_S_DEAD || sa->state == IKE_S_REKEYED ||
		    sa->state == IKE_S_DELETING)
			continue;
		if (sa->state != IKE_S_ESTABLISHED) {
			pending = true;
			continue;
		}
		o = (size_t)snprintf(why, len, "%s established over %s", ike_sa_name(sa),
				     ike_xport_str(sa));
		for (struct child_sa *c = sa->children; c && o < len; c = c->next)
			if (c->state == CHILD_S_INSTALLED || c->state == CHILD_S_REKEYING)
				o += (size_t)snprintf(why + o, len - o, "%s%s{%u}", n++ ? ", " : ", Child SA ",
						      c->cfg ? c->cfg->name : "?", c->id);
		if (n || !cc->children)
			return 1;
		if (sa->req.task == TASK_NONE && !(sa->pending & PEND_CHILD)) {
			snprintf(why, len, "%s established, but no Child SA", ike_sa_name(sa));
			return -1;
		}
		pending = true;
	}
	if (pending)
		return 0;
	snprintf(why, len, "no IKE SA of %s left", cc->name);
	if (dns_pending(e, cc, why, len))
		return 0;
	return -1;
}

static void wait_free(struct engine_waiter *w)
{
	for (struct engine_waiter **pp = &w->e->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	timer_cancel(w->e->loop, &w->timer);
	free(w);
}

static void wait_fire(struct timer *t)
{
	struct engine_waiter *w = container_of(t, struct engine_waiter, timer);
	const struct conn_cfg *cc = config_conn(w->e->cfg, w->conn);
	char why[512] = "its connection is gone (reload)";
	int r = cc ? conn_result(w->e, cc, why, sizeof(why)) : -1;

	/* a successor may be started from the loop (TCP fallback, RT-25):
	 * no SA must be seen twice before it counts as a failure */
	if (r < 0 && cc && strstr(why, " left") && ++w->down < 3)
		r = 0;
	else if (r >= 0)
		w->down = 0;
	if (!r) {
		timer_arm(w->e->loop, &w->timer, WAIT_POLL_MS, wait_fire);
		return;
	}
	w->fn(w->ctx, r > 0, why);
	wait_free(w);
}

struct engine_waiter *engine_wait(struct engine *e, const char *conn, engine_wait_fn fn,
				  void *ctx)
{
	struct engine_waiter *w;

	if (!config_conn(e->cfg, conn) || !(w = calloc(1, sizeof(*w))))
		return NULL;
	w->e = e;
	snprintf(w->conn, sizeof(w->conn), "%s", conn);
	w->fn = fn;
	w->ctx = ctx;
	w->next = e->waiters;
	e->waiters = w;
	timer_arm(e->loop, &w->timer, WAIT_POLL_MS, wait_fire);
	return w;
}

void engine_wait_cancel(struct engine_waiter *w)
{
	wait_free(w);
}

/* --- reload ------------------------------------------------------------------------ */

static const struct child_cfg *child_by_name(const struct conn_cfg *cc, const char *name)
{
	const struct child_cfg *ch;

	for (ch = cc->children; ch; ch = ch->next)
		if (!strcmp(ch->name, name))
			return ch;
	return NULL;
}

/* An SA kept across a reload follows the new config's objects. */
static void follow_config(struct ike_sa *sa, const struct conn_cfg *nc)
{
	struct child_sa *c;

	sa->cfg = nc;
	child_wants_clear(sa);	/* by index in the old list */
	for (c = sa->children; c; c = c->next)
		c->cfg = child_by_name(nc, c->cfg->name);
	if (sa->req.child)
		sa->req.child->cfg = child_by_name(nc, sa->req.child->cfg->name);
}

int engine_reload(struct engine *e, struct config *cfg, struct buf *out)
{
	struct ike_sa *sa, *n;
	int kept = 0, retimed = 0, dropped = 0;

	for (sa = e->all; sa; sa = n) {
		const struct conn_cfg *nc;

		n = sa->next;
		nc = sa->cfg ? config_conn(cfg, sa->cfg->name) : NULL;
		if (nc && conn_cfg_equal(nc, sa->cfg)) {
			follow_config(sa, nc);
			kept++;
			continue;
		}
		if (nc && conn_cfg_equal_but_timers(nc, sa->cfg)) {
			/* dpd, rekey, retransmission: applied, the SA stays */
			follow_config(sa, nc);
			ike_timers_reconfigured(sa);
			log_info("%s: new timers of %s applied", ike_sa_name(sa), nc->name);
			kept++;
			retimed++;
			continue;
		}
		/* The old config goes away with this call: SAs of changed
		 * connections end now. */
		ike_sa_delete_now(sa, "its connection changed on reload");
		dropped++;
	}
	if (cfg->daemon.udp_port != e->cfg->daemon.udp_port ||
	    cfg->daemon.natt_port != e->cfg->daemon.natt_port ||
	    cfg->daemon.n_tcp_ports != e->cfg->daemon.n_tcp_ports ||
	    memcmp(cfg->daemon.tcp_ports, e->cfg->daemon.tcp_ports, sizeof(cfg->daemon.tcp_ports)) ||
	    cfg->daemon.n_listen != e->cfg->daemon.n_listen ||
	    memcmp(cfg->daemon.listen, e->cfg->daemon.listen, sizeof(cfg->daemon.listen))) {
		static const char w[] = "listening addresses or ports changed: they take effect on restart";

		log_warn("reload: %s", w);
		reply(out, 0, "warning: %s\n", w);
	}
	cred_free_all(e);
	trap_reload(e, cfg);
	/* unchanged pools keep their leases, held or remembered */
	if (pool_set_apply(e->pools, cfg)) {
		static const char w[] = "out of memory for the new address pools: the old ones stay";

		log_warn("reload: %s", w);
		reply(out, 0, "warning: %s\n", w);
	}
	config_free(e->cfg);
	e->cfg = cfg;
	e->frags.cap = cfg->daemon.max_frag_memory;
	config_log_apply(&cfg->daemon);
	log_info("config reloaded: %d IKE SA(s) kept (%d with new timers), %d deleted",
		 kept, retimed, dropped);
	engine_autostart(e);
	return reply(out, 0, "reloaded: %d IKE SA(s) kept (%d with new timers), %d deleted\n",
		     kept, retimed, dropped);
}

/* --- status ------------------------------------------------------------------------ */

static const char *state_name(enum ike_state s)
{
	switch (s) {
	case IKE_S_INIT_SENT: return "CONNECTING";
	case IKE_S_AUTH_SENT: return "AUTHENTICATING";
	case IKE_S_HALF_OPEN: return "HALF_OPEN";
	case IKE_S_ESTABLISHED: return "ESTABLISHED";
	case IKE_S_REKEYED: return "REKEYED";
	case IKE_S_DELETING: return "DELETING";
	default: return "DEAD";
	}
}

static const char *child_state_name(enum child_state s)
{
	switch (s) {
	case CHILD_S_INSTALLED: return "INSTALLED";
	case CHILD_S_REKEYING: return "REKEYING";
	case CHILD_S_REKEYED: return "REKEYED";
	default: return "DELETING";
	}
}

static void hex8(const uint8_t *p, char *out)
{
	int i;

	for (i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vbprintf(b, fmt, ap);
	va_end(ap);
}

/* JSON string: escapes quotes, backslashes and control bytes. */
static void jstr(struct buf *b, const char *s)
{
	buf_put_u8(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			bprintf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			bprintf(b, "\\u%04x", ch);
		else
			buf_put_u8(b, ch);
	}
	buf_put_u8(b, '"');
}

static void child_stats(struct engine *e, struct ike_sa *sa, struct child_sa *c,
			struct kb_stats *in, struct kb_stats *outs)
{
	struct sockaddr_storage a;

	(void)sa;
	memset(in, 0, sizeof(*in));
	memset(outs, 0, sizeof(*outs));
	if (!e->kb || !e->kb->ops->sa_stats)
		return;
	if (c->installed_in)
		e->kb->ops->sa_stats(e->kb, addr_ip_ss(&c->addr_local, &a), c->spi_in, in);
	if (c->installed_out)
		e->kb->ops->sa_stats(e->kb, addr_ip_ss(&c->addr_remote, &a), c->spi_out, outs);
}

/* An IKE SA's addresses, SPIs and suite as text (both status forms). */
struct sa_text {
	char l[64], r[64], si[17], sr[17], su[128];
};

static void sa_text(const struct ike_sa *sa, struct sa_text *t)
{
	addr_str(&sa->path.local, t->l, sizeof(t->l));
	addr_str(&sa->path.remote, t->r, sizeof(t->r));
	hex8(sa->spi_i, t->si);
	hex8(sa->spi_r, t->sr);
	suite_str(&sa->suite, t->su, sizeof(t->su));
}

/* Whether status shows sa: every one, or those of connection conn. */
static bool shown(const struct ike_sa *sa, const char *conn)
{
	return !conn || (sa->cfg && !strcmp(sa->cfg->name, conn));
}

static void jlist(struct buf *b, const char *s);

/* The installed trap policies: "trap c/net: L === R, reqid N" lines, or
 * JSON objects. */
static void traps_status(struct engine *e, const char *conn, bool json, struct buf *b)
{
	bool first = true;

	for (const struct trap *t = e->traps; t; t = t->next) {
		char ls[256], rs[256];

		if (!shown(&t->holder, conn))
			continue;
		ts_set_str(&t->c->ts_local, ls, sizeof(ls));
		ts_set_str(&t->c->ts_remote, rs, sizeof(rs));
		if (!json) {
			bprintf(b, "trap %s/%s: %s === %s, reqid %u\n", t->holder.cfg->name,
				t->c->cfg->name, ls, rs, t->c->reqid);
			continue;
		}
		bprintf(b, "%s{\"conn\":", first ? "" : ",");
		jstr(b, t->holder.cfg->name);
		bprintf(b, ",\"child\":");
		jstr(b, t->c->cfg->name);
		bprintf(b, ",\"local_ts\":");
		jlist(b, ls);
		bprintf(b, ",\"remote_ts\":");
		jlist(b, rs);
		bprintf(b, ",\"reqid\":%u}", t->c->reqid);
		first = false;
	}
}

struct lease_out {
	const struct conn_cfg *cc;	/* only its pools' leases; NULL: all */
	bool json, first;
	struct buf *b;
};

static bool lease_status(const struct pool_lease_info *l, void *arg)
{
	struct lease_out *o = arg;
	char a[ADDR_STRLEN], id[PEER_ID_STRLEN];
	bool ours = !o->cc;

	for (int i = 0; o->cc && i < o->cc->n_pools; i++)
		ours |= !strcmp(o->cc->pools[i].name, l->pool);
	if (!ours)
		return true;
	addr_str(l->addr, a, sizeof(a));
	id_str(l->id, id, sizeof(id));
	if (!o->json) {
		bprintf(o->b, "lease %s: %s to %s, %s\n", l->pool, a, id,
			l->refs ? "online" : "offline (kept for it)");
		return true;
	}
	bprintf(o->b, "%s{\"pool\":", o->first ? "" : ",");
	jstr(o->b, l->pool);
	bprintf(o->b, ",\"address\":\"%s\",\"identity\":", a);
	jstr(o->b, id);
	bprintf(o->b, ",\"online\":%s,\"ike_sas\":%u}", l->refs ? "true" : "false", l->refs);
	o->first = false;
	return true;
}

/* The pools' leases, held or remembered: those of conn's pools, or all. */
static void leases_status(struct engine *e, const char *conn, bool json, struct buf *b)
{
	struct lease_out o = {
		.cc = conn ? config_conn(e->cfg, conn) : NULL, .json = json, .first = true, .b = b,
	};

	pool_leases(e->pools, lease_status, &o);
}

static void vips_text(const struct ike_sa *sa, bool json, struct buf *b)
{
	char a[ADDR_STRLEN];

	for (int i = 0; i < ike_n_vip(sa); i++) {
		const struct ike_vip *v = &sa->rw->vip[i];

		addr_str(&v->addr, a, sizeof(a));
		if (!json) {
			bprintf(b, "  virtual IP %s from pool %s\n", a, v->pool);
			continue;
		}
		bprintf(b, "%s{\"address\":\"%s\",\"pool\":", i ? "," : "", a);
		jstr(b, v->pool);
		bprintf(b, "}");
	}
}

/* Initiator: the addresses the peer gave us and its DNS servers. */
static void my_vips_text(const struct ike_sa *sa, bool json, struct buf *b)
{
	static const struct ike_rw none;
	const struct ike_rw *rw = sa->rw ? sa->rw : &none;
	char a[ADDR_STRLEN];

	if (json)
		bprintf(b, ",\"our_vips\":[");
	for (int i = 0; i < rw->n_my_vip; i++) {
		addr_str(&rw->my_vip[i], a, sizeof(a));
		if (json)
			bprintf(b, "%s\"%s\"", i ? "," : "", a);
		else
			bprintf(b, "  virtual IP %s (ours, from the peer)\n", a);
	}
	if (json)
		bprintf(b, "],\"dns\":[");
	for (int i = 0; i < rw->n_vip_dns; i++) {
		addr_str(&rw->vip_dns[i], a, sizeof(a));
		if (json)
			bprintf(b, "%s\"%s\"", i ? "," : "", a);
		else
			bprintf(b, "  DNS server %s (from the peer, not applied)\n", a);
	}
	if (json)
		bprintf(b, "]");
}

static void status_text(struct engine *e, const char *conn, struct buf *b)
{
	uint64_t now = ike_now();
	struct ike_sa *sa;

	bprintf(b, "tcpiked: backend %s, %zu IKE SA(s), %u half-open\n",
		e->kb ? e->kb->ops->name : "?", e->n_sa, e->n_half_open);
	for (sa = e->all; sa; sa = sa->next) {
		struct sa_text t;
		char pid[PEER_ID_STRLEN];
		struct child_sa *c;

		if (!shown(sa, conn))
			continue;
		sa_text(sa, &t);
		bprintf(b, "%s: %s %llus, %s:%u ... %s:%u over %s%s%s\n", ike_sa_name(sa),
			state_name(sa->state),
			(unsigned long long)((now - (sa->established_ms ? sa->established_ms :
						     sa->created_ms)) / 1000),
			t.l, addr_port(&sa->path.local), t.r, addr_port(&sa->path.remote),
			ike_xport_str(sa),
			sa->nat_local ? ", NAT: local" : sa->nat_remote ? ", NAT: remote" : "",
			sa->initiator ? ", initiator" : ", responder");
		bprintf(b, "  IKE: %s, SPIs %s_i %s_r, peer %s, rekeys %llu, msgid out %u in %u, "
			"retransmits %llu, fragmentation %s\n",
			t.su, t.si, t.sr, sa->peer_id ? peer_id_str(sa, pid) : "-",
			(unsigned long long)sa->rekeys, sa->my_msgid, sa->peer_msgid,
			(unsigned long long)sa->stats_retx, sa->peer_frag ? "yes" : "no");
		vips_text(sa, false, b);
		my_vips_text(sa, false, b);
		if (ike_probe(sa)->state != PROBE_NONE) {
			char ps[96];

			esp_probe_str(sa, ps, sizeof(ps));
			bprintf(b, "  ESP reachability: %s\n", ps);
		}
		for (c = sa->children; c; c = c->next) {
			char ls[256], rs[256], cs[128], enc[32] = "on IP";
			struct kb_stats in, o;

			ts_set_str(&c->ts_local, ls, sizeof(ls));
			ts_set_str(&c->ts_remote, rs, sizeof(rs));
			suite_str(&c->esp, cs, sizeof(cs));
			child_stats(e, sa, c, &in, &o);
			if (c->encap)
				snprintf(enc, sizeof(enc), "in UDP %u <-> %u",
					 c->encap_lport, c->encap_rport);
			/* "  net: INSTALLED" as scripts read it (selftests/vm 41); the
			 * id for terminate/rekey --child last */
			bprintf(b, "  %s: %s %llus, %s, ESP %s, SPIs %08x_i %08x_o, reqid %u, %s, id %u\n",
				c->cfg ? c->cfg->name : "?", child_state_name(c->state),
				(unsigned long long)((now - c->created_ms) / 1000),
				c->mode == CFG_MODE_TRANSPORT ? "transport" : "tunnel",
				c->esp_tcp ? "in TCP" : enc, ntohl(c->spi_in), ntohl(c->spi_out),
				c->reqid, cs, c->id);
			bprintf(b, "    %s === %s, in %llu bytes %llu packets, out %llu bytes %llu packets, rekeys %llu\n",
				ls, rs, (unsigned long long)in.bytes, (unsigned long long)in.packets,
				(unsigned long long)o.bytes, (unsigned long long)o.packets,
				(unsigned long long)c->rekeys);
		}
	}
	traps_status(e, conn, false, b);
	leases_status(e, conn, false, b);
	conn_retries_status(e, b, false);
	bprintf(b, "counters: rx %llu tx %llu dropped %llu bad %llu retransmits %llu, "
		"IKE SAs established %llu failed %llu, Child SAs %llu failed %llu, "
		"cookies sent %llu, fragments sent %llu reassembled %llu "
		"dropped for max_frag_memory %llu, TCP connects %llu reconnects %llu, "
		"races %llu (won by UDP %llu, by TCP %llu), separate transports %llu "
		"(TCP failed %llu), pre-connects %llu (unused %llu, failed %llu)\n",
		(unsigned long long)e->st.rx, (unsigned long long)e->st.tx,
		(unsigned long long)e->st.rx_dropped, (unsigned long long)e->st.rx_bad,
		(unsigned long long)e->st.retransmits,
		(unsigned long long)e->st.ike_established, (unsigned long long)e->st.ike_failed,
		(unsigned long long)e->st.child_installed, (unsigned long long)e->st.child_failed,
		(unsigned long long)e->st.cookies_sent, (unsigned long long)e->st.frags_sent,
		(unsigned long long)e->st.frags_reassembled,
		(unsigned long long)e->frags.evicted, (unsigned long long)e->st.tcp_connects,
		(unsigned long long)e->st.tcp_reconnects,
		(unsigned long long)e->st.tcp_races, (unsigned long long)e->st.tcp_races_udp_won,
		(unsigned long long)e->st.tcp_races_tcp_won,
		(unsigned long long)e->st.separate_negotiated,
		(unsigned long long)e->st.separate_tcp_failed,
		(unsigned long long)e->st.tcp_preconnects,
		(unsigned long long)e->st.tcp_preconnects_unused,
		(unsigned long long)e->st.tcp_preconnects_failed);
}

/* The TCP transport's counters (tcp.h), so tests and operators see what
 * the framing layer did with each connection: prefixes, lengths, limits. */
static void tcp_json(const struct tcp *t, struct buf *b)
{
	struct tcp_stats st;
	uint32_t n;

	if (!t) {
		bprintf(b, "null");
		return;
	}
	tcp_stats_now(t, &st, &n);
	bprintf(b, "{\"connections\":%u,\"accepted\":%llu,\"connected\":%llu,"
		"\"connect_failed\":%llu,\"closed\":%llu,\"refused_global\":%llu,"
		"\"refused_per_ip\":%llu,\"prefix_timeout\":%llu,\"bad_prefix\":%llu,"
		"\"bad_length\":%llu,\"idle_timeout\":%llu,\"frames_ike\":%llu,"
		"\"frames_esp\":%llu,\"frames_empty\":%llu,\"keepalives\":%llu,"
		"\"oversized\":%llu,\"runts\":%llu,\"tx_frames\":%llu,"
		"\"tx_dropped_queue_full\":%llu,\"accept_nofile\":%llu,"
		"\"evicted_global\":%llu,\"evicted_per_ip\":%llu,"
		"\"evicted_memory\":%llu,\"stream_memory\":%zu,"
		"\"connect_races\":%llu,\"connect_races_won\":%llu}",
		n, (unsigned long long)st.accepted, (unsigned long long)st.connected,
		(unsigned long long)st.connect_failed, (unsigned long long)st.closed,
		(unsigned long long)st.refused_global, (unsigned long long)st.refused_per_ip,
		(unsigned long long)st.prefix_timeout, (unsigned long long)st.bad_prefix,
		(unsigned long long)st.bad_length, (unsigned long long)st.idle_timeout,
		(unsigned long long)st.frames_ike, (unsigned long long)st.frames_esp,
		(unsigned long long)st.frames_empty, (unsigned long long)st.keepalives,
		(unsigned long long)st.oversized, (unsigned long long)st.runts,
		(unsigned long long)st.tx_frames,
		(unsigned long long)st.tx_dropped_queue_full,
		(unsigned long long)st.accept_nofile,
		(unsigned long long)st.evicted_global,
		(unsigned long long)st.evicted_per_ip,
		(unsigned long long)st.evicted_memory, t->pool.used,
		(unsigned long long)st.connect_races,
		(unsigned long long)st.connect_races_won);
}

/* The UDP transport's counters (udp.h): what was dropped before the engine
 * saw it, and why (truncated, short, over max_ike_message, ESP, keepalive). */
static void udp_json(const struct udp *u, struct buf *b)
{
	if (!u) {
		bprintf(b, "null");
		return;
	}
	bprintf(b, "{\"rx\":%llu,\"tx\":%llu,\"tx_errors\":%llu,\"drop_esp\":%llu,"
		"\"drop_keepalive\":%llu,\"drop_truncated\":%llu,\"drop_short\":%llu,"
		"\"drop_oversize\":%llu}",
		(unsigned long long)u->st.rx, (unsigned long long)u->st.tx,
		(unsigned long long)u->st.tx_err, (unsigned long long)u->st.drop_esp,
		(unsigned long long)u->st.drop_keepalive, (unsigned long long)u->st.drop_trunc,
		(unsigned long long)u->st.drop_short, (unsigned long long)u->st.drop_oversize);
}

static void child_json(struct engine *e, struct ike_sa *sa, struct child_sa *c, bool first,
		       struct buf *b)
{
	char ls[256], rs[256], cs[128];
	struct kb_stats in, o;

	ts_set_str(&c->ts_local, ls, sizeof(ls));
	ts_set_str(&c->ts_remote, rs, sizeof(rs));
	suite_str(&c->esp, cs, sizeof(cs));
	child_stats(e, sa, c, &in, &o);
	bprintf(b, "%s{\"name\":", first ? "" : ",");
	jstr(b, c->cfg ? c->cfg->name : "?");
	bprintf(b, ",\"id\":%u,\"state\":\"%s\",\"mode\":\"%s\",\"esp_transport\":\"%s\","
		"\"spi_in\":\"%08x\",\"spi_out\":\"%08x\",\"reqid\":%u,"
		"\"proposal\":\"%s\",\"local_ts\":\"%s\",\"remote_ts\":\"%s\","
		"\"bytes_in\":%llu,\"packets_in\":%llu,\"bytes_out\":%llu,"
		"\"packets_out\":%llu,\"rekeys\":%llu,"
		"\"encap_local_port\":%u,\"encap_remote_port\":%u}",
		c->id, child_state_name(c->state),
		c->mode == CFG_MODE_TRANSPORT ? "transport" : "tunnel",
		c->esp_tcp ? "tcp" : c->encap ? "udp" : "raw",
		ntohl(c->spi_in), ntohl(c->spi_out),
		c->reqid, cs, ls, rs, (unsigned long long)in.bytes,
		(unsigned long long)in.packets, (unsigned long long)o.bytes,
		(unsigned long long)o.packets, (unsigned long long)c->rekeys,
		c->encap ? c->encap_lport : 0, c->encap ? c->encap_rport : 0);
}

/* The transport (ike_xport.c) and the ESP probe of an IKE SA. */
static void xport_json(const struct ike_sa *sa, struct buf *b)
{
	static const char *const pst[] = {
		[PROBE_NONE] = "none", [PROBE_SKIPPED] = "skipped",
		[PROBE_RUNNING] = "running", [PROBE_OK] = "ok",
		[PROBE_FAILED] = "failed",
	};
	const struct esp_probe *p = ike_probe(sa);
	char ps[96];

	esp_probe_str(sa, ps, sizeof(ps));
	bprintf(b, ",\"esp_probe\":\"%s\",\"esp_probe_text\":", pst[p->state]);
	jstr(b, ps);
	bprintf(b, ",\"esp_probe_sent\":%u,\"esp_probe_answered\":%u,"
		"\"rfc9329_rebuild\":%s",
		p->sent, p->answered,
		sa->x.origin == XO_REBUILD ? "true" : "false");
	bprintf(b, ",\"xport_state\":\"%s\",\"tcp_link\":\"%s\"",
		xport_state_name(sa->x.state), xport_link_name(sa->x.link));
}

static void ike_sa_json(struct engine *e, struct ike_sa *sa, bool first, uint64_t now,
			struct buf *b)
{
	struct sa_text t;
	char pid[PEER_ID_STRLEN];
	struct child_sa *c;

	sa_text(sa, &t);
	bprintf(b, "%s{\"name\":", first ? "" : ",");
	jstr(b, sa->cfg ? sa->cfg->name : "?");
	bprintf(b, ",\"id\":%llu,\"state\":\"%s\",\"initiator\":%s,\"local\":\"%s\","
		"\"local_port\":%u,\"remote\":\"%s\",\"remote_port\":%u,\"transport\":\"%s\","
		"\"nat_local\":%s,\"nat_remote\":%s,\"spi_i\":\"%s\",\"spi_r\":\"%s\","
		"\"proposal\":\"%s\",\"xport_mode\":\"%s\",\"separate\":%s,"
		"\"esp_in_tcp\":%s,\"tcp_fallback\":%s,\"tcp_originator\":%s,"
		"\"peer_id\":",
		(unsigned long long)sa->id, state_name(sa->state),
		sa->initiator ? "true" : "false", t.l, addr_port(&sa->path.local), t.r,
		addr_port(&sa->path.remote), xport_name(sa->path.kind),
		sa->nat_local ? "true" : "false", sa->nat_remote ? "true" : "false",
		t.si, t.sr, t.su, cfg_transport_name(sa->x.mode),
		xport_separate(&sa->x) ? "true" : "false",
		xport_esp_in_tcp(&sa->x) ? "true" : "false",
		sa->x.origin == XO_RACE ? "true" : "false",
		xport_tcp_originator(&sa->x) ? "true" : "false");
	jstr(b, peer_id_str(sa, pid));
	xport_json(sa, b);
	bprintf(b, ",\"age_s\":%llu,\"rekeys\":%llu,\"retransmits\":%llu,"
		"\"msgid_out\":%u,\"msgid_in\":%u,\"fragmentation\":%s,\"intermediate\":%u,"
		"\"children\":[",
		(unsigned long long)((now - sa->created_ms) / 1000),
		(unsigned long long)sa->rekeys, (unsigned long long)sa->stats_retx,
		sa->my_msgid, sa->peer_msgid, sa->peer_frag ? "true" : "false", sa->inter_n);
	for (c = sa->children; c; c = c->next)
		child_json(e, sa, c, c == sa->children, b);
	bprintf(b, "],\"vips\":[");
	vips_text(sa, true, b);
	bprintf(b, "]");
	my_vips_text(sa, true, b);
	bprintf(b, "}");
}

static void counters_json(const struct engine *e, struct buf *b)
{
	bprintf(b, "\"counters\":{\"rx\":%llu,\"tx\":%llu,\"rx_dropped\":%llu,\"rx_bad\":%llu,"
		"\"retransmits\":%llu,\"ike_established\":%llu,\"ike_failed\":%llu,"
		"\"child_installed\":%llu,\"child_failed\":%llu,\"cookies_sent\":%llu,"
		"\"cookies_ok\":%llu,\"invalid_ke_sent\":%llu,\"fragments_sent\":%llu,"
		"\"fragments_reassembled\":%llu,\"fragments_evicted\":%llu,"
		"\"fragment_bytes\":%zu,\"memory_trims\":%llu,\"dpd_dead\":%llu,"
		"\"tcp_reconnects\":%llu,\"tcp_connects\":%llu,\"tcp_races\":%llu,"
		"\"tcp_races_udp_won\":%llu,\"tcp_races_tcp_won\":%llu,\"separate_negotiated\":%llu,"
		"\"separate_tcp_failed\":%llu,\"tcp_preconnects\":%llu,"
		"\"tcp_preconnects_unused\":%llu,\"tcp_preconnects_failed\":%llu,"
		"\"esp_probes_ok\":%llu,"
		"\"esp_probes_failed\":%llu,\"esp_moved_udp\":%llu,\"puzzles_sent\":%llu,"
		"\"puzzles_solved\":%llu,\"puzzles_unsolved\":%llu,\"puzzles_bad\":%llu,"
		"\"puzzles_deferred\":%llu},"
		"\"tcp\":",
		(unsigned long long)e->st.rx, (unsigned long long)e->st.tx,
		(unsigned long long)e->st.rx_dropped, (unsigned long long)e->st.rx_bad,
		(unsigned long long)e->st.retransmits, (unsigned long long)e->st.ike_established,
		(unsigned long long)e->st.ike_failed, (unsigned long long)e->st.child_installed,
		(unsigned long long)e->st.child_failed, (unsigned long long)e->st.cookies_sent,
		(unsigned long long)e->st.cookies_ok, (unsigned long long)e->st.invalid_ke_sent,
		(unsigned long long)e->st.frags_sent, (unsigned long long)e->st.frags_reassembled,
		(unsigned long long)e->frags.evicted, e->frags.bytes,
		(unsigned long long)(e->ho_mem.trims + (e->tcp ? e->tcp->mem.trims : 0)),
		(unsigned long long)e->st.dpd_dead,
		(unsigned long long)e->st.tcp_reconnects, (unsigned long long)e->st.tcp_connects,
		(unsigned long long)e->st.tcp_races, (unsigned long long)e->st.tcp_races_udp_won,
		(unsigned long long)e->st.tcp_races_tcp_won,
		(unsigned long long)e->st.separate_negotiated,
		(unsigned long long)e->st.separate_tcp_failed,
		(unsigned long long)e->st.tcp_preconnects,
		(unsigned long long)e->st.tcp_preconnects_unused,
		(unsigned long long)e->st.tcp_preconnects_failed,
		(unsigned long long)e->st.esp_probes_ok,
		(unsigned long long)e->st.esp_probes_failed,
		(unsigned long long)e->st.esp_moved_udp,
		(unsigned long long)e->st.puzzles_sent,
		(unsigned long long)e->st.puzzles_solved,
		(unsigned long long)e->st.puzzles_unsolved,
		(unsigned long long)e->st.puzzles_bad,
		(unsigned long long)e->st.puzzles_deferred);
}

static void status_json(struct engine *e, const char *conn, struct buf *b)
{
	uint64_t now = ike_now();
	struct ike_sa *sa;
	struct kex_pool_stats kp;
	bool first = true;

	bprintf(b, "{\"backend\":");
	jstr(b, e->kb ? e->kb->ops->name : "?");
	bprintf(b, ",\"half_open\":%u,\"ike_sas\":[", e->n_half_open);
	for (sa = e->all; sa; sa = sa->next)
		if (shown(sa, conn)) {
			ike_sa_json(e, sa, first, now, b);
			first = false;
		}
	bprintf(b, "],");
	counters_json(e, b);
	tcp_json(e->tcp, b);
	bprintf(b, ",\"traps\":[");
	traps_status(e, conn, true, b);
	bprintf(b, "],\"leases\":[");
	leases_status(e, conn, true, b);
	bprintf(b, "],\"retries\":[");
	conn_retries_status(e, b, true);
	bprintf(b, "],\"udp\":");
	udp_json(e->udp, b);
	kex_pool_stats(&kp);
	/* Key pairs from the pool (hits) or generated in place (misses). */
	bprintf(b, ",\"kex_pool\":{\"running\":%s,\"depth\":%u,\"ready\":%u,\"hits\":%llu,\"misses\":%llu}}\n",
		kp.running ? "true" : "false", kp.depth, kp.ready,
		(unsigned long long)kp.hits, (unsigned long long)kp.misses);
}

int engine_status_conn(struct engine *e, const char *conn, bool json, struct buf *out)
{
	if (conn && !config_conn(e->cfg, conn))
		return reply(out, -ENOENT, "no connection named '%s'", conn);
	if (json)
		status_json(e, conn, out);
	else
		status_text(e, conn, out);
	return 0;
}

int engine_status(struct engine *e, bool json, struct buf *out)
{
	return engine_status_conn(e, NULL, json, out);
}

static const char *auth_name(enum cfg_auth a)
{
	return a == CFG_AUTH_PSK ? "psk" : a == CFG_AUTH_PUBKEY ? "pubkey" : "?";
}

static const char *start_name(enum cfg_start s)
{
	return s == CFG_START_START ? "start" : s == CFG_START_TRAP ? "trap" : "none";
}

/* "10.0.0.1, 10.0.0.3" of a list of addresses ("any" for none). */
static void addrs_text(const struct sockaddr_storage *a, int n, char *out, size_t len)
{
	size_t o = 0;

	snprintf(out, len, "any");
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i)
			o += (size_t)snprintf(out + o, len - o, ", ");
		addr_str(&a[i], out + o, len - o);
		o += strlen(out + o);
	}
}

static void peers_text(const struct cfg_peer *p, int n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i)
			o += (size_t)snprintf(out + o, len - o, ", ");
		config_peer_str(&p[i], out + o, len - o);
		o += strlen(out + o);
	}
}

/* A JSON array of the items of "a, b, c". */
static void jlist(struct buf *b, const char *s)
{
	bool first = true;

	buf_put_u8(b, '[');
	while (*s) {
		size_t n = strcspn(s, ",");
		char item[512];

		snprintf(item, sizeof(item), "%.*s", (int)n, s);
		bprintf(b, "%s", first ? "" : ",");
		jstr(b, item);
		first = false;
		s += n;
		while (*s == ',' || *s == ' ')
			s++;
	}
	buf_put_u8(b, ']');
}

/* An end of a connection: auth and identity (and credentials' paths). */
static void end_text(const char *which, const struct end_cfg *ec, bool json, struct buf *out)
{
	char id[300] = "";

	if (ec->id.type)
		config_id_str(&ec->id, id, sizeof(id));
	if (json) {
		bprintf(out, ",\"%s\":{\"auth\":\"%s\",\"id\":", which, auth_name(ec->auth));
		jstr(out, id);
		bprintf(out, ",\"certs\":");
		jstr(out, ec->certs ? ec->certs : "");
		bprintf(out, ",\"cacerts\":");
		jstr(out, ec->cacerts ? ec->cacerts : "");
		bprintf(out, "}");
		return;
	}
	bprintf(out, "  %s: %s, id %s%s%s%s%s\n", which, auth_name(ec->auth),
		id[0] ? id : (strcmp(which, "local") ? "any" : "its address"),
		ec->certs ? ", certs " : "", ec->certs ? ec->certs : "",
		ec->cacerts ? ", cacerts " : "", ec->cacerts ? ec->cacerts : "");
}

/* ", trap installed (reqid 3)" of a trapped child (t: its trap), else "". */
static void trap_text(const struct trap *t, const struct conn_cfg *cc,
		      const struct child_cfg *ch, char *out, size_t len)
{
	out[0] = 0;
	if (t)
		snprintf(out, len, ", trap installed (reqid %u)", t->c->reqid);
	else if (cfg_child_trapped(cc, ch))
		snprintf(out, len, ", trap not installed (see the log)");
}

static void child_text(const struct engine *e, const struct conn_cfg *cc,
		       const struct child_cfg *ch, bool json, bool first, struct buf *out)
{
	const struct trap *t = trap_of(e, cc, ch);
	char l[512], r[512], esp[512], trap[64];

	ts_cfgs_str(ch->local_ts, ch->n_local_ts, l, sizeof(l));
	ts_cfgs_str(ch->remote_ts, ch->n_remote_ts, r, sizeof(r));
	config_proposals_str(ch->esp, ch->n_esp, esp, sizeof(esp));
	if (!json) {
		trap_text(t, cc, ch, trap, sizeof(trap));
		bprintf(out, "  %s: %s === %s, %s, ESP %s, rekey %us, start_action %s%s\n", ch->name,
			l, r, ch->mode == CFG_MODE_TRANSPORT ? "transport" : "tunnel", esp,
			ch->rekey_time_s,
			start_name(cfg_child_trapped(cc, ch) ? CFG_START_TRAP : ch->start_action),
			trap);
		return;
	}
	bprintf(out, "%s{\"name\":", first ? "" : ",");
	jstr(out, ch->name);
	bprintf(out, ",\"local_ts\":");
	jlist(out, l);
	bprintf(out, ",\"remote_ts\":");
	jlist(out, r);
	bprintf(out, ",\"mode\":\"%s\",\"esp_proposals\":",
		ch->mode == CFG_MODE_TRANSPORT ? "transport" : "tunnel");
	jlist(out, esp);
	bprintf(out, ",\"rekey_time\":%u,\"start_action\":\"%s\"", ch->rekey_time_s,
		start_name(ch->start_action));
	if (cfg_child_trapped(cc, ch))
		bprintf(out, ",\"trap\":{\"installed\":%s,\"reqid\":%u}", t ? "true" : "false",
			t ? t->c->reqid : 0);
	bprintf(out, "}");
}

/* list-conns: what each connection is, as configured: addresses,
 * transport, proposals, both ends' authentication and identities, and
 * each child's selectors and ESP proposals. */
int engine_list_conns(struct engine *e, bool json, struct buf *out)
{
	bool first = true;

	if (json)
		bprintf(out, "[");
	for (const struct conn_cfg *cc = e->cfg->conns; cc; cc = cc->next) {
		char l[256], r[256], ike[1024];

		addrs_text(cc->local_addrs, cc->n_local, l, sizeof(l));
		peers_text(cc->remote_addrs, cc->n_remote, r, sizeof(r));
		config_proposals_str(cc->ike, cc->n_ike, ike, sizeof(ike));
		if (json) {
			bprintf(out, "%s{\"name\":", first ? "" : ",");
			jstr(out, cc->name);
			bprintf(out, ",\"local_addrs\":");
			jlist(out, cc->n_local ? l : "");
			bprintf(out, ",\"remote_addrs\":");
			jlist(out, r);
			bprintf(out, ",\"transport\":\"%s\",\"proposals\":",
				cfg_transport_name(cc->transport));
			jlist(out, ike);
			bprintf(out, ",\"start_action\":\"%s\"", start_name(cc->start_action));
		} else {
			bprintf(out, "%s: %s ... %s, transport %s, start_action %s\n  IKE %s\n",
				cc->name, l, r, cfg_transport_name(cc->transport),
				start_name(cc->start_action), ike);
		}
		end_text("local", &cc->local, json, out);
		end_text("remote", &cc->remote, json, out);
		if (json)
			bprintf(out, ",\"children\":[");
		for (const struct child_cfg *ch = cc->children; ch; ch = ch->next)
			child_text(e, cc, ch, json, ch == cc->children, out);
		if (json)
			bprintf(out, "]}");
		first = false;
	}
	if (json)
		bprintf(out, "]\n");
	return 0;
}
