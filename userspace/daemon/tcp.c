// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 9329 IKE over TCP: listeners, outbound connections, prefix, framing,
 * output queue, timeouts and limits.  See tcp.h.
 */
#define LOG_SUBSYS LOG_SUB_TCP

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "log.h"
#include "tcp.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define DEF_MAX_CONNS		10000
#define DEF_MAX_PER_IP		50
#define DEF_PREFIX_TIMEOUT	5000
#define DEF_IDLE_TIMEOUT	30000
#define DEF_MAX_STREAM_MEM	(32u << 20)

static void conn_io(void *ctx, int fd, uint32_t ev);
static void conn_timer(struct timer *tm);
static void race_drop(struct tcp_conn *c);
static void race_take(struct tcp_conn *c);

/*
 * The sockets tcp_max bounds: the connections, the connect races'
 * second attempts while they run, and the sockets closed still writing
 * out their queue (tcp_linger): tcp_max + TCP_FD_RESERVE descriptors,
 * tcp_fit_nofile.
 */
static uint32_t sockets_open(const struct tcp *t)
{
	return t->n_conns + t->n_racing + t->n_lingering;
}

static uint32_t host_hash(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return htab_hash(&((const struct sockaddr_in *)a)->sin_addr, 4);
	return htab_hash(&((const struct sockaddr_in6 *)a)->sin6_addr, 16);
}

/* c->remote is set. */
static int conn_link(struct tcp *t, struct tcp_conn *c)
{
	if (htab_add(&t->by_host, &c->host_node, host_hash(&c->remote)))
		return -ENOMEM;
	c->next = t->conns;
	c->prev = NULL;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->n_conns++;
	mem_burst_up(&t->mem);
	return 0;
}

static void unproven_add(struct tcp *t, struct tcp_conn *c)
{
	c->seq = ++t->seq;
	c->unp_next = NULL;
	c->unp_prev = t->unproven_tail;
	if (t->unproven_tail)
		t->unproven_tail->unp_next = c;
	else
		t->unproven = c;
	t->unproven_tail = c;
}

static void unproven_del(struct tcp *t, struct tcp_conn *c)
{
	if (!c->seq || c->proven)
		return;
	if (c->unp_prev)
		c->unp_prev->unp_next = c->unp_next;
	else
		t->unproven = c->unp_next;
	if (c->unp_next)
		c->unp_next->unp_prev = c->unp_prev;
	else
		t->unproven_tail = c->unp_prev;
	c->unp_next = c->unp_prev = NULL;
}

void tcp_conn_proven(struct tcp_conn *c)
{
	if (!c || c->proven || c->dead)
		return;
	unproven_del(c->tcp, c);
	c->proven = true;
}

static void conn_unlink(struct tcp *t, struct tcp_conn *c)
{
	unproven_del(t, c);
	if (c->prev)
		c->prev->next = c->next;
	else if (t->conns == c)
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	htab_del(&t->by_host, &c->host_node);
	t->n_conns--;
	mem_burst_down(&t->mem);
}

struct tcp_conn *tcp_conn_get(struct tcp_conn *c)
{
	if (c)
		c->refs++;
	return c;
}

void tcp_conn_put(struct tcp_conn *c)
{
	if (!c || --c->refs > 0)
		return;
	stream_free(&c->st);
	free(c->outq);
	free(c);
}

static struct tcp_conn *conn_new(struct tcp *t, int fd, bool originator,
				 const struct sockaddr_storage *remote)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* The responder waits for "IKETCP" (RFC 9329 §4, TCP-17); the
	 * originator's peer never sends one. */
	if (stream_init(&c->st, !originator, t->o.max_msg)) {
		free(c);
		return NULL;
	}
	c->st.pool = &t->pool;
	c->tcp = t;
	c->refs = 1;		/* the list's reference */
	c->fd = fd;
	c->race_fd = -1;
	c->originator = originator;
	c->last_activity_ms = loop_now_ms();
	c->remote = *remote;
	if (conn_link(t, c)) {
		stream_free(&c->st);
		free(c);
		return NULL;
	}
	return c;
}

/* The frame buffer goes back to the pool at the close, not with the last
 * reference (the engine's may outlive the connection): except while its
 * own stream_feed() is under way, whose caller gives it back after. */
static void conn_buf_free(struct tcp_conn *c)
{
	stream_free(&c->st);
	c->st.pool = NULL;
}

/* Writes q[*off, len) to fd until all is out or the socket is full: 0, or
 * -errno. */
static int send_queue(int fd, const uint8_t *q, size_t *off, size_t len)
{
	while (*off < len) {
		ssize_t w = send(fd, q + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		*off += (size_t)w;
	}
	return 0;
}

/* How long a socket closed with bytes queued (tcp_linger), or all of them
 * at shutdown (drain_all), may take to write them out. */
#define TCP_DRAIN_MS	500

/*
 * A connection closed in order (err 0: the IKE SA on it ended, TCP-22, or
 * the peer closed) may still have bytes in its output queue that the
 * socket had no room for: the last answer of that SA (an INVALID_SYNTAX,
 * RFC 7296 §2.21.3, or a Delete).  The socket then stays, apart from the
 * connection, until they are written out or TCP_DRAIN_MS has passed, and
 * closes after a FIN: closing it at once lost them.  What it reads is
 * discarded (unread data would turn the close into a reset).
 */
struct tcp_linger {
	struct tcp *t;
	int fd;
	bool eof;
	uint8_t *q;
	size_t off, len;
	struct timer timer;
	struct tcp_linger *next;
};

static void linger_end(struct tcp_linger *l)
{
	struct tcp *t = l->t;
	struct tcp_linger **p = &t->lingering;

	while (*p != l)
		p = &(*p)->next;
	*p = l->next;
	t->n_lingering--;
	timer_cancel(t->loop, &l->timer);
	loop_unwatch(t->loop, l->fd);
	shutdown(l->fd, SHUT_WR);
	close(l->fd);
	free(l->q);
	free(l);
}

static void linger_timer(struct timer *tm)
{
	linger_end(container_of(tm, struct tcp_linger, timer));
}

static void linger_io(void *ctx, int fd, uint32_t ev)
{
	struct tcp_linger *l = ctx;
	uint8_t b[4096];
	ssize_t n = 0;

	for (int rounds = 0; rounds < 16 && !l->eof; rounds++) {
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n <= 0)
			break;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		l->eof = true;
		loop_watch(l->t->loop, fd, LOOP_WRITE, linger_io, l);
	}
	if (send_queue(fd, l->q, &l->off, l->len) || l->off == l->len ||
	    (ev & LOOP_ERROR))
		linger_end(l);
}

/* True: c's socket and its queue went to a tcp_linger. */
static bool linger_start(struct tcp_conn *c)
{
	struct tcp *t = c->tcp;
	struct tcp_linger *l;

	if (c->connecting || c->outq_off >= c->outq_len)
		return false;
	l = calloc(1, sizeof(*l));
	if (!l)
		return false;
	l->t = t;
	l->fd = c->fd;
	if (loop_watch(t->loop, l->fd, LOOP_READ | LOOP_WRITE, linger_io, l) ||
	    timer_arm(t->loop, &l->timer, TCP_DRAIN_MS, linger_timer)) {
		loop_unwatch(t->loop, l->fd);
		free(l);
		return false;
	}
	l->q = c->outq;
	l->off = c->outq_off;
	l->len = c->outq_len;
	c->outq = NULL;
	c->outq_off = c->outq_len = 0;
	l->next = t->lingering;
	t->lingering = l;
	t->n_lingering++;
	return true;
}

void tcp_conn_close(struct tcp_conn *c, int err)
{
	struct tcp *t = c->tcp;
	char rb[64];

	if (c->dead)
		return;
	c->dead = true;
	timer_cancel(t->loop, &c->timer);
	race_drop(c);
	if (c->fd >= 0) {
		loop_unwatch(t->loop, c->fd);
		if (err || !linger_start(c))
			close(c->fd);
		c->fd = -1;
	}
	if (stream_partial(&c->st))
		log_debug("tcp %s: partial frame discarded at close (RFC 9329 §6.1)",
			  addr_port_str(&c->remote, rb, sizeof(rb)));
	if (t->feeding != c)
		conn_buf_free(c);
	t->st.closed++;
	t->st.frames_empty += c->st.st.empty;
	t->st.keepalives += c->st.st.keepalives;
	t->st.oversized += c->st.st.oversized;
	t->st.runts += c->st.st.runts;
	conn_unlink(t, c);
	if (c->connecting) {
		c->connecting = false;
		t->st.connect_failed++;
		if (t->ops && t->ops->connected)
			t->ops->connected(t->ops_ctx, c, err ? err : -ECONNRESET);
	} else if (c->announced && t->ops && t->ops->closed) {
		t->ops->closed(t->ops_ctx, c, err);
	}
	tcp_conn_put(c);
}

static void conn_update_watch(struct tcp_conn *c)
{
	uint32_t ev = LOOP_READ;

	if (c->connecting || c->outq_len > c->outq_off)
		ev |= LOOP_WRITE;
	loop_watch(c->tcp->loop, c->fd, ev, conn_io, c);
}

/* Appends bytes to the output queue and tries to write them out. */
static int conn_queue(struct tcp_conn *c, const uint8_t *p, size_t n)
{
	size_t pending = c->outq_len - c->outq_off;
	uint8_t *q;

	if (pending + n > TCP_OUTQ_MAX) {
		c->tcp->st.tx_dropped_queue_full++;
		return -ENOBUFS;
	}
	if (c->outq_off) {
		memmove(c->outq, c->outq + c->outq_off, pending);
		c->outq_len = pending;
		c->outq_off = 0;
	}
	q = realloc(c->outq, c->outq_len + n);
	if (!q)
		return -ENOMEM;
	c->outq = q;
	memcpy(c->outq + c->outq_len, p, n);
	c->outq_len += n;
	return 0;
}

static int conn_flush(struct tcp_conn *c)
{
	int r = send_queue(c->fd, c->outq, &c->outq_off, c->outq_len);

	if (r)
		return r;
	if (c->outq_off == c->outq_len)
		c->outq_off = c->outq_len = 0;
	conn_update_watch(c);
	return 0;
}

void tcp_conn_path(const struct tcp_conn *c, struct ike_path *path)
{
	memset(path, 0, sizeof(*path));
	path->kind = XPORT_TCP;
	path->local = c->local;
	path->remote = c->remote;
	path->conn = (struct tcp_conn *)c;
}

static int conn_deliver(void *ctx, enum stream_kind kind,
			const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = ctx;
	struct tcp *t = c->tcp;
	struct ike_rx rx;

	if (kind == STREAM_ESP) {
		/* ESP that reached userspace: the kernel ULP is not on. */
		t->st.frames_esp++;
		return 0;
	}
	t->st.frames_ike++;
	/* The idle timer keeps running: only an IKE SA that uses the
	 * connection (c->user, set by the engine) keeps it open; a zero
	 * marker alone proves nothing (see conn_timer). */
	c->valid_msg = true;
	tcp_conn_path(c, &rx.path);
	rx.msg = msg;
	rx.len = len;
	t->rx(t->rx_ctx, &rx);
	/* The engine may have closed the connection from the callback. */
	return c->dead ? -ECONNABORTED : 0;
}

static void conn_read(struct tcp_conn *c)
{
	struct tcp *t = c->tcp;
	uint8_t b[16384];
	char rb[64];

	for (int rounds = 0; rounds < 16 && !c->dead; rounds++) {
		ssize_t n;
		int r;

		if (c->espintcp) {
			/* The ULP hands over one message per recv: marker +
			 * IKE message, length field removed (espintcp.c). */
			n = recv(c->fd, b, sizeof(b), MSG_TRUNC);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				tcp_conn_close(c, n < 0 ? -errno : 0);
				return;
			}
			c->last_activity_ms = loop_now_ms();
			if ((size_t)n > sizeof(b) || (size_t)n <= 4 ||
			    (size_t)n - 4 > t->o.max_msg) {
				t->st.oversized++;
				log_warn_rl("tcp %s: closing: IKE message of %zd bytes over max_ike_message %zu",
					 addr_port_str(&c->remote, rb, sizeof(rb)), n - 4,
					 (size_t)t->o.max_msg);
				tcp_conn_close(c, -EPROTO);
				return;
			}
			conn_deliver(c, STREAM_IKE, b + 4, (size_t)n - 4);
			continue;
		}
		n = recv(c->fd, b, sizeof(b), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			tcp_conn_close(c, -errno);
			return;
		}
		if (n == 0) {
			tcp_conn_close(c, 0);
			return;
		}
		c->last_activity_ms = loop_now_ms();
		bool had_prefix = !c->st.want_prefix;
		uint64_t oversized = c->st.st.oversized;
		uint64_t over_pool = c->st.st.over_pool;

		t->feeding = c;
		r = stream_feed(&c->st, b, (size_t)n, conn_deliver, c);
		t->feeding = NULL;
		if (c->dead)
			conn_buf_free(c);
		if (r == -EPROTO) {
			if (!had_prefix && c->st.want_prefix) {
				t->st.bad_prefix++;
			} else if (c->st.st.oversized != oversized) {
				/* counted in oversized at the close */
			} else if (c->st.st.over_pool != over_pool) {
				t->st.evicted_memory++;
			} else {
				t->st.bad_length++;
			}
			log_warn_rl("tcp %s: closing: %s",
				 addr_port_str(&c->remote, rb, sizeof(rb)),
				 c->st.error ? c->st.error : "bad stream");
			tcp_conn_close(c, -EPROTO);
			return;
		}
		if (r)
			return;		/* closed from the callback */
		if (!had_prefix && !c->st.want_prefix && !c->prefix_seen) {
			c->prefix_seen = true;
			/* Prefix seen: now the idle timer (no IKE SA). */
			timer_arm(t->loop, &c->timer, t->o.idle_timeout_ms,
				  conn_timer);
			c->announced = true;
			if (t->ops && t->ops->connected)
				t->ops->connected(t->ops_ctx, c, 0);
		}
	}
}

static void conn_connected(struct tcp_conn *c)
{
	struct tcp *t = c->tcp;
	socklen_t sl = sizeof(c->local);
	int soerr = 0;
	socklen_t el = sizeof(soerr);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
	if (soerr && c->race_fd >= 0) {
		/* The first attempt failed: the race's goes on alone. */
		race_take(c);
		conn_update_watch(c);
		return;
	}
	if (soerr) {
		tcp_conn_close(c, -soerr);
		return;
	}
	race_drop(c);	/* the loser: closed unconnected, nothing written */
	getsockname(c->fd, (struct sockaddr *)&c->local, &sl);
	c->connecting = false;
	t->st.connected++;
	if (c->race_second)
		t->st.connect_races_won++;
	timer_arm(t->loop, &c->timer, t->o.idle_timeout_ms, conn_timer);
	c->announced = true;
	if (t->ops && t->ops->connected)
		t->ops->connected(t->ops_ctx, c, 0);
}

static void conn_io(void *ctx, int fd, uint32_t ev)
{
	struct tcp_conn *c = ctx;
	int r;

	tcp_conn_get(c);
	if (c->connecting && (ev & (LOOP_WRITE | LOOP_ERROR))) {
		conn_connected(c);
		if (!c->dead && !c->connecting)
			conn_flush(c);
	} else {
		if (!c->dead && (ev & (LOOP_READ | LOOP_ERROR)))
			conn_read(c);
		if (!c->dead && (ev & LOOP_WRITE)) {
			r = conn_flush(c);
			if (r)
				tcp_conn_close(c, r);
		}
	}
	tcp_conn_put(c);
}

static void conn_timer(struct timer *tm)
{
	struct tcp_conn *c = container_of(tm, struct tcp_conn, timer);
	struct tcp *t = c->tcp;
	char rb[64];

	addr_port_str(&c->remote, rb, sizeof(rb));
	if (c->connecting) {
		log_info("tcp %s: connect timed out", rb);
		tcp_conn_close(c, -ETIMEDOUT);
	} else if (!c->originator && !c->prefix_seen) {
		t->st.prefix_timeout++;
		log_info_rl("tcp %s: no IKETCP prefix within %u ms, closing", rb,
			 t->o.prefix_timeout_ms);
		tcp_conn_close(c, -ETIMEDOUT);
	} else if (!c->user) {
		/* No IKE SA uses the connection: none was ever made on it
		 * (garbage that merely carried the zero marker is enough to
		 * reach the engine), or its SAs are gone.  RFC 9329 §6.1 lets
		 * the responder close it; otherwise such connections would
		 * stay until tcp_max is used up. */
		t->st.idle_timeout++;
		log_info_rl("tcp %s: no IKE SA on the connection after %u ms, closing",
			 rb, t->o.idle_timeout_ms);
		tcp_conn_close(c, -ETIMEDOUT);
	} else {
		/* In use: look again later. */
		timer_arm(t->loop, &c->timer, t->o.idle_timeout_ms, conn_timer);
	}
}

static uint32_t count_from(const struct tcp *t, const struct sockaddr_storage *a)
{
	uint32_t n = 0;

	for (struct hnode *h = htab_first(&t->by_host, host_hash(a)); h; h = htab_next(h))
		if (addr_eq(&container_of(h, struct tcp_conn, host_node)->remote, a))
			n++;
	return n;
}

/*
 * How far an unproven connection got: 0 nothing answered on it, 1 we
 * answered an IKE message on it (a cookie request, say) but it holds no
 * IKE SA, 2 an IKE SA not authenticated yet (the engine set c->user).
 */
static int evict_rank(const struct tcp_conn *c)
{
	return c->user ? 2 : c->replied ? 1 : 0;
}

/*
 * Which unproven connection makes room: the oldest of the lowest rank
 * (evict_rank).  A peer in the middle of a cookie exchange or between
 * IKE_SA_INIT and IKE_AUTH is not cut off while a connection that never
 * got an answer (a flood of bare or garbage connections) is left to
 * close.  a: only connections from that address (tcp_per_ip); NULL: any
 * (tcp_max, t->unproven is in accept order).
 */
static struct tcp_conn *evict_pick(const struct tcp *t, const struct sockaddr_storage *a)
{
	struct tcp_conn *best[3] = { NULL, NULL, NULL };

	if (!a) {
		for (struct tcp_conn *c = t->unproven; c; c = c->unp_next) {
			int r = evict_rank(c);

			if (r == 0)
				return c;
			if (!best[r])
				best[r] = c;
		}
	} else {
		for (struct hnode *h = htab_first(&t->by_host, host_hash(a)); h; h = htab_next(h)) {
			struct tcp_conn *c = container_of(h, struct tcp_conn, host_node);
			int r;

			if (!c->seq || c->proven || !addr_eq(&c->remote, a))
				continue;
			r = evict_rank(c);
			if (!best[r] || c->seq < best[r]->seq)
				best[r] = c;
		}
	}
	return best[0] ? best[0] : best[1] ? best[1] : best[2];
}

/*
 * A limit is reached: close an unproven connection (of the address, for
 * tcp_per_ip) to make room (evict_pick).  False: every connection has an
 * authenticated IKE SA on it (or is ours), the new one is refused.
 */
static bool evict_for(struct tcp *t, const struct sockaddr_storage *peer,
		      bool per_ip)
{
	struct tcp_conn *c = evict_pick(t, per_ip ? peer : NULL);
	char rb[64];

	if (!c)
		return false;
	if (per_ip)
		t->st.evicted_per_ip++;
	else
		t->st.evicted_global++;
	log_debug("tcp %s: closed to make room (%s): no IKE SA after %llu ms",
		  addr_port_str(&c->remote, rb, sizeof(rb)),
		  per_ip ? "tcp_per_ip" : "tcp_max",
		  (unsigned long long)(loop_now_ms() - c->accepted_ms));
	tcp_conn_close(c, -ECONNABORTED);
	return true;
}

/*
 * A frame buffer would take the pool past max_stream_mem: close unproven
 * connections that hold a buffer, the lowest evict_rank first and the
 * oldest of it (accept order), never the one whose frame needs the room,
 * until need more bytes fit.  Non-zero: they do not (the rest is held by
 * proven connections), and that frame's connection is closed instead.
 */
static int stream_room(struct stream_pool *p, struct stream *s, size_t need)
{
	struct tcp *t = container_of(p, struct tcp, pool);
	struct tcp_conn *self = container_of(s, struct tcp_conn, st), *c, *next;
	char rb[64];

	for (int rank = 0; rank < 3 && p->used + need > p->max; rank++) {
		for (c = t->unproven; c && p->used + need > p->max; c = next) {
			next = c->unp_next;
			if (c == self || !c->st.cap || evict_rank(c) != rank)
				continue;
			t->st.evicted_memory++;
			log_debug("tcp %s: closed to make room (max_stream_memory, %zu bytes): %zu bytes of frame buffers held",
				  addr_port_str(&c->remote, rb, sizeof(rb)), p->max, p->used);
			tcp_conn_close(c, -ECONNABORTED);
		}
	}
	/* (the engine, told of those closes, may have closed this one too) */
	return p->used + need > p->max || self->dead ? -ENOBUFS : 0;
}

static void listen_io(void *ctx, int lfd, uint32_t ev);

static void listen_watch(struct tcp *t, bool on)
{
	for (int i = 0; i < t->n_listen; i++) {
		if (on)
			loop_watch(t->loop, t->listen_fd[i], LOOP_READ, listen_io, t);
		else
			loop_unwatch(t->loop, t->listen_fd[i]);
	}
}

static void listen_rested(struct timer *tm)
{
	listen_watch(container_of(tm, struct tcp, rest), true);
}

/*
 * accept() found no descriptor free: the connection stays in the backlog
 * and a level-triggered listener would fire again at once.  The listeners
 * rest TCP_NOFILE_REST_MS (their backlogs keep what arrives meanwhile);
 * one log line per 10 s at most.
 */
static void listen_rest(struct tcp *t, int err)
{
	uint64_t now = loop_now_ms();

	t->st.accept_nofile++;
	if (!t->nofile_logged_ms || now - t->nofile_logged_ms >= 10000) {
		t->nofile_logged_ms = now;
		log_warn("tcp: accept: %s: not accepting for %u ms (%llu times in all; %u connections open)",
			 strerror(err), TCP_NOFILE_REST_MS,
			 (unsigned long long)t->st.accept_nofile, t->n_conns);
	}
	listen_watch(t, false);
	timer_arm(t->loop, &t->rest, TCP_NOFILE_REST_MS, listen_rested);
}

static void listen_io(void *ctx, int lfd, uint32_t ev)
{
	struct tcp *t = ctx;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct tcp_conn *c;
		char rb[64];
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				listen_rest(t, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
				 errno != EINTR && errno != ECONNABORTED)
				log_warn("tcp: accept: %s", strerror(errno));
			return;
		}
		addr_port_str(&peer, rb, sizeof(rb));
		if (sockets_open(t) >= t->o.max_conns && !evict_for(t, &peer, false)) {
			t->st.refused_global++;
			log_warn_rl("tcp %s: refused: %u connections (tcp_max)", rb,
				 sockets_open(t));
			close(fd);
			continue;
		}
		if (count_from(t, &peer) >= t->o.max_per_ip &&
		    !evict_for(t, &peer, true)) {
			t->st.refused_per_ip++;
			log_warn_rl("tcp %s: refused: %u connections from this address (tcp_per_ip)",
				 rb, t->o.max_per_ip);
			close(fd);
			continue;
		}
		c = conn_new(t, fd, false, &peer);
		if (!c) {
			close(fd);
			continue;
		}
		pl = sizeof(c->local);
		getsockname(fd, (struct sockaddr *)&c->local, &pl);
		t->st.accepted++;
		c->accepted_ms = loop_now_ms();
		unproven_add(t, c);
		log_debug("tcp %s: accepted", rb);
		timer_arm(t->loop, &c->timer, t->o.prefix_timeout_ms, conn_timer);
		conn_update_watch(c);
	}
}

static int listen_one(struct tcp *t, const struct sockaddr_storage *a)
{
	char ab[64];
	int one = 1, fd;

	if (t->n_listen >= TCP_MAX_LISTEN)
		return -ENOSPC;
	fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* The system's largest backlog (net.core.somaxconn): while the loop
	 * is busy a burst of connections waits there, not for a dropped
	 * SYN's retransmission 1 s later (netns/57: 1243 of 10500 were). */
	if (bind(fd, (const struct sockaddr *)a, addr_len(a)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		log_err("tcp: cannot listen on %s: %s",
			addr_port_str(a, ab, sizeof(ab)), strerror(e));
		close(fd);
		return -e;
	}
	if (loop_watch(t->loop, fd, LOOP_READ, listen_io, t)) {
		close(fd);
		return -ENOMEM;
	}
	t->listen_fd[t->n_listen++] = fd;
	log_info("tcp: listening on %s", addr_port_str(a, ab, sizeof(ab)));
	return 0;
}

struct tcp *tcp_open(struct loop *loop, const struct tcp_opts *o,
		     ike_rx_fn rx, void *rx_ctx,
		     const struct tcp_ops *ops, void *ops_ctx)
{
	struct tcp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	mem_burst_init(&t->mem, loop, &t->n_conns);
	t->o = *o;
	t->o.addrs = NULL;
	t->o.ports = NULL;
	if (!t->o.max_conns)
		t->o.max_conns = DEF_MAX_CONNS;
	if (!t->o.max_per_ip)
		t->o.max_per_ip = DEF_MAX_PER_IP;
	if (!t->o.prefix_timeout_ms)
		t->o.prefix_timeout_ms = DEF_PREFIX_TIMEOUT;
	if (!t->o.idle_timeout_ms)
		t->o.idle_timeout_ms = DEF_IDLE_TIMEOUT;
	if (!t->o.max_msg || t->o.max_msg > STREAM_MAX_MSG - 4)
		t->o.max_msg = STREAM_MAX_MSG - 4;
	if (!t->o.max_stream_mem)
		t->o.max_stream_mem = DEF_MAX_STREAM_MEM;
	t->pool.max = t->o.max_stream_mem;
	t->pool.room = stream_room;
	t->rx = rx;
	t->rx_ctx = rx_ctx;
	t->ops = ops;
	t->ops_ctx = ops_ctx;

	for (int p = 0; p < o->n_ports; p++) {
		if (o->n_addrs > 0) {
			for (int i = 0; i < o->n_addrs; i++) {
				struct sockaddr_storage a = o->addrs[i];

				addr_set_port(&a, o->ports[p]);
				if (listen_one(t, &a))
					goto fail;
			}
		} else {
			struct sockaddr_storage a4 = { 0 }, a6 = { 0 };

			a4.ss_family = AF_INET;
			addr_set_port(&a4, o->ports[p]);
			if (listen_one(t, &a4))
				goto fail;
			a6.ss_family = AF_INET6;
			addr_set_port(&a6, o->ports[p]);
			/* Hosts without IPv6 keep working on IPv4. */
			if (listen_one(t, &a6) == -EAFNOSUPPORT)
				log_info("tcp: no IPv6 on this host");
		}
	}
	return t;
fail:
	tcp_close_all(t);
	return NULL;
}

/*
 * At shutdown the Deletes just queued must still reach the peers: write
 * out what is queued, waiting for the sockets up to TCP_DRAIN_MS in all,
 * then half-close so the kernel sends the data and a FIN, not a reset.
 * Sockets already lingering (tcp_linger) get no more time.
 */

static void drain_all(struct tcp *t)
{
	uint64_t end = loop_now_ms() + TCP_DRAIN_MS;
	struct tcp_conn *c;
	bool pending = true;

	while (pending && loop_now_ms() < end) {
		struct pollfd pfd[64];
		int n = 0;

		pending = false;
		for (c = t->conns; c; c = c->next) {
			if (c->fd < 0 || c->connecting || c->outq_off >= c->outq_len)
				continue;
			if (conn_flush(c) || c->outq_off >= c->outq_len)
				continue;
			pending = true;
			if (n < 64)
				pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
		}
		if (pending && poll(pfd, (nfds_t)n, 50) < 0 && errno != EINTR)
			break;
	}
	for (c = t->conns; c; c = c->next)
		if (c->fd >= 0 && !c->connecting)
			shutdown(c->fd, SHUT_WR);
}

void tcp_close_all(struct tcp *t)
{
	if (!t)
		return;
	drain_all(t);
	while (t->lingering)
		linger_end(t->lingering);
	timer_cancel(t->loop, &t->rest);
	mem_burst_stop(&t->mem);
	while (t->conns)
		tcp_conn_close(t->conns, -ESHUTDOWN);
	for (int i = 0; i < t->n_listen; i++) {
		loop_unwatch(t->loop, t->listen_fd[i]);
		close(t->listen_fd[i]);
	}
	htab_free(&t->by_host);
	free(t);
}

uint32_t tcp_fit_nofile(uint32_t max_conns)
{
	rlim_t want = (rlim_t)max_conns + TCP_FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return max_conns;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
			      want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return max_conns;
	return rl.rlim_cur > TCP_FD_RESERVE + 1 ? (uint32_t)(rl.rlim_cur - TCP_FD_RESERVE) : 1;
}

/*
 * A non-blocking socket, bound to local when it is of remote's family, its
 * connect() to remote started: the descriptor, or -errno (logged;
 * *refused when connect() itself failed).
 */
static int connect_start(const struct sockaddr_storage *local,
			 const struct sockaddr_storage *remote, bool *refused)
{
	char rb[64];
	int fd, e;

	*refused = false;
	fd = socket(remote->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (local && local->ss_family == remote->ss_family &&
	    bind(fd, (const struct sockaddr *)local, addr_len(local)) < 0) {
		e = errno;
		log_warn("tcp: cannot bind %s: %s",
			 addr_port_str(local, rb, sizeof(rb)), strerror(e));
		close(fd);
		return -e;
	}
	if (connect(fd, (const struct sockaddr *)remote, addr_len(remote)) < 0 &&
	    errno != EINPROGRESS) {
		e = errno;
		*refused = true;
		log_info("tcp %s: connect: %s", addr_port_str(remote, rb, sizeof(rb)),
			 strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* Ends the connect race: the timer, and the second attempt if one runs
 * (closed unconnected: nothing was ever written on it). */
static void race_drop(struct tcp_conn *c)
{
	timer_cancel(c->tcp->loop, &c->race_timer);
	if (c->race_fd < 0)
		return;
	loop_unwatch(c->tcp->loop, c->race_fd);
	close(c->race_fd);
	c->race_fd = -1;
	c->tcp->n_racing--;
}

/* The race's attempt becomes c's socket; the first attempt, failed or
 * beaten, is closed unconnected (nothing was written on it). */
static void race_take(struct tcp_conn *c)
{
	loop_unwatch(c->tcp->loop, c->fd);
	close(c->fd);
	c->fd = c->race_fd;
	c->race_fd = -1;
	c->race_second = true;
	c->tcp->n_racing--;
}

/* Where the race's attempt leaves from: the first's address, the one it
 * was bound to or the one routing chose at its connect(), with a port of
 * its own.  False: unknown, no bind. */
static bool race_local(const struct tcp_conn *c, struct sockaddr_storage *local)
{
	socklen_t sl = sizeof(*local);

	if (getsockname(c->fd, (struct sockaddr *)local, &sl) ||
	    local->ss_family != c->remote.ss_family)
		return false;
	addr_set_port(local, 0);
	return true;
}

/* The race's attempt completed first: it is the connection's now.
 * Failed: the first goes on alone. */
static void race_io(void *ctx, int fd, uint32_t ev)
{
	struct tcp_conn *c = ctx;
	socklen_t el = sizeof(int);
	int soerr = 0;

	(void)ev;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
	if (soerr) {
		race_drop(c);
		return;
	}
	race_take(c);
	conn_io(c, fd, LOOP_WRITE);
}

/*
 * The connect race: not connected after race_ms.  Linux retransmits a lost
 * SYN (or SYN-ACK) only after TCP_TIMEOUT_INIT, 1 s, and no socket option
 * shortens it, so a second connect() goes to the same address and port, as
 * RFC 8305 (Happy Eyeballs) starts its next attempt after its connection
 * attempt delay.  The first to complete is kept; the other is closed before
 * a byte went on it: RFC 9329 section 6 (after RFC 8229) says a TCP
 * Originator SHOULD open only one TCP connection per IKE SA, over which it
 * sends all of its IKE and ESP messages, and the output queue (IKETCP
 * first, TCP-11) is written only to the winner once connected.  The peer
 * sees at most a SYN of the loser, reset.  One extra attempt per connect,
 * and none when it would take the sockets past tcp_max (sockets_open).
 */
static void race_fire(struct timer *tm)
{
	struct tcp_conn *c = container_of(tm, struct tcp_conn, race_timer);
	struct tcp *t = c->tcp;
	struct sockaddr_storage local;
	char rb[64];
	bool refused;
	int fd;

	if (!c->connecting || c->race_fd >= 0)
		return;
	if (sockets_open(t) >= t->o.max_conns) {
		log_debug("tcp %s: not connected yet: no second connect, tcp_max (%u) reached",
			  addr_port_str(&c->remote, rb, sizeof(rb)), t->o.max_conns);
		return;
	}
	fd = connect_start(race_local(c, &local) ? &local : NULL, &c->remote, &refused);
	if (fd < 0)
		return;		/* the first attempt goes on alone */
	if (loop_watch(t->loop, fd, LOOP_WRITE, race_io, c)) {
		close(fd);
		return;
	}
	c->race_fd = fd;
	t->n_racing++;
	t->st.connect_races++;
	log_debug("tcp %s: not connected yet: a second connect beside the first",
		  addr_port_str(&c->remote, rb, sizeof(rb)));
}

struct tcp_conn *tcp_connect(struct tcp *t, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote,
			     uint32_t timeout_ms, uint32_t race_ms, int *err)
{
	struct tcp_conn *c;
	bool refused;
	int fd;

	*err = 0;
	if (sockets_open(t) >= t->o.max_conns) {
		*err = -EMFILE;
		return NULL;
	}
	fd = connect_start(local, remote, &refused);
	if (fd < 0) {
		*err = fd;
		if (refused)
			t->st.connect_failed++;
		return NULL;
	}
	c = conn_new(t, fd, true, remote);
	if (!c) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	/* RFC 9329 §4: the originator sends "IKETCP" once, first. */
	conn_queue(c, (const uint8_t *)STREAM_PREFIX, STREAM_PREFIX_LEN);
	c->connecting = true;
	timer_arm(t->loop, &c->timer, timeout_ms ? timeout_ms : 3000, conn_timer);
	if (race_ms)
		timer_arm(t->loop, &c->race_timer, race_ms, race_fire);
	conn_update_watch(c);
	return tcp_conn_get(c);
}

int tcp_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct buf f = BUF_INIT;
	int r;

	if (c->dead)
		return -ENOTCONN;
	if (len > c->tcp->o.max_msg) {
		log_warn("tcp: IKE message of %zu bytes exceeds the %zu byte maximum",
			 len, c->tcp->o.max_msg);
		return -EMSGSIZE;
	}
	if (c->espintcp) {
		/* With the ULP on, one send() is one message: the kernel adds
		 * the length field; we add the non-ESP marker. */
		uint8_t *p = buf_extend(&f, 4 + len);

		if (!p)
			return -ENOMEM;
		memcpy(p + 4, msg, len);
		/* espintcp_sendmsg() refuses every flag but MSG_DONTWAIT
		 * (EOPNOTSUPP); SIGPIPE is ignored by the daemon. */
		if (send(c->fd, f.data, f.len, MSG_DONTWAIT) < 0)
			r = -errno;
		else
			r = 0;
		buf_free(&f);
		if (!r) {
			c->tcp->st.tx_frames++;
			c->replied = true;
		}
		return r;
	}
	r = stream_frame(&f, true, msg, len);
	if (r < 0) {
		buf_free(&f);
		return r;
	}
	r = conn_queue(c, f.data, f.len);
	buf_free(&f);
	if (r)
		return r;
	c->tcp->st.tx_frames++;
	c->replied = true;
	if (!c->connecting) {
		r = conn_flush(c);
		if (r) {
			tcp_conn_close(c, r);
			return r;
		}
	}
	return 0;
}

int tcp_wait_room(struct tcp_conn *c, int err, uint64_t deadline_ms)
{
	int r;

	if (c->dead || c->connecting)
		return -ENOTCONN;
	if (err != -EAGAIN && err != -EWOULDBLOCK && err != -ENOBUFS)
		return err;
	r = loop_wait_writable(c->fd, deadline_ms);
	if (r || c->outq_off >= c->outq_len)
		return r;
	/* the output queue (not espintcp's): what the socket takes now */
	r = conn_flush(c);
	if (r)
		tcp_conn_close(c, r);
	return r;
}

int tcp_enable_espintcp(struct tcp_conn *c)
{
	char rb[64];

	if (c->dead)
		return -ENOTCONN;
	if (c->outq_len > c->outq_off || stream_partial(&c->st))
		return -EBUSY;	/* framing state must be clean at the switch */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_ULP, "espintcp",
		       sizeof("espintcp")) < 0) {
		int e = errno;

		if (e == ENOENT || e == EOPNOTSUPP)
			log_warn("tcp %s: ESP-in-TCP unavailable: kernel lacks CONFIG_INET_ESPINTCP",
				 addr_port_str(&c->remote, rb, sizeof(rb)));
		else
			log_warn("tcp %s: cannot attach espintcp: %s",
				 addr_port_str(&c->remote, rb, sizeof(rb)), strerror(e));
		return -e;
	}
	c->espintcp = true;
	return 0;
}

void tcp_stats_now(const struct tcp *t, struct tcp_stats *out, uint32_t *n_conns)
{
	*out = t->st;
	*n_conns = t->n_conns;
	for (const struct tcp_conn *c = t->conns; c; c = c->next) {
		out->frames_empty += c->st.st.empty;
		out->keepalives += c->st.st.keepalives;
		out->oversized += c->st.st.oversized;
		out->runts += c->st.st.runts;
	}
}

int tcp_status(const struct tcp *t, struct buf *out)
{
	char b[1024];
	int n;

	n = snprintf(b, sizeof(b),
		     "tcp_connections %u\ntcp_accepted %llu\ntcp_connected %llu\n"
		     "tcp_connect_failed %llu\ntcp_closed %llu\n"
		     "tcp_refused_global %llu\ntcp_refused_per_ip %llu\n"
		     "tcp_prefix_timeout %llu\ntcp_bad_prefix %llu\n"
		     "tcp_bad_length %llu\ntcp_idle_timeout %llu\n"
		     "tcp_frames_ike %llu\ntcp_frames_esp %llu\ntcp_tx_frames %llu\n"
		     "tcp_tx_dropped_queue_full %llu\ntcp_accept_nofile %llu\n"
		     "tcp_evicted_global %llu\ntcp_evicted_per_ip %llu\n"
		     "tcp_evicted_memory %llu\ntcp_stream_memory %zu\n"
		     "tcp_connect_races %llu\ntcp_connect_races_won %llu\n",
		     t->n_conns,
		     (unsigned long long)t->st.accepted,
		     (unsigned long long)t->st.connected,
		     (unsigned long long)t->st.connect_failed,
		     (unsigned long long)t->st.closed,
		     (unsigned long long)t->st.refused_global,
		     (unsigned long long)t->st.refused_per_ip,
		     (unsigned long long)t->st.prefix_timeout,
		     (unsigned long long)t->st.bad_prefix,
		     (unsigned long long)t->st.bad_length,
		     (unsigned long long)t->st.idle_timeout,
		     (unsigned long long)t->st.frames_ike,
		     (unsigned long long)t->st.frames_esp,
		     (unsigned long long)t->st.tx_frames,
		     (unsigned long long)t->st.tx_dropped_queue_full,
		     (unsigned long long)t->st.accept_nofile,
		     (unsigned long long)t->st.evicted_global,
		     (unsigned long long)t->st.evicted_per_ip,
		     (unsigned long long)t->st.evicted_memory, t->pool.used,
		     (unsigned long long)t->st.connect_races,
		     (unsigned long long)t->st.connect_races_won);
	return buf_append(out, b, (size_t)n);
}
