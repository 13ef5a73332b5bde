/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IKE over TCP, RFC 9329.  Listeners on TCP 4500 and extra ports (e.g.
 * 443), outbound connections with a connect timeout, the "IKETCP" prefix
 * (sent once by the originator, TCP-11/TCP-21; awaited by the responder with
 * a timeout, TCP-17), RFC 9329 framing through stream.[ch], a bounded output
 * queue, idle timeout, and per-source and global connection limits.
 *
 * A connection that did not begin with IKETCP never delivers a message
 * (TCP-24).  ESP frames read in userspace are counted and dropped (the
 * kernel's espintcp ULP carries ESP when enabled with tcp_enable_espintcp).
 */
#ifndef TCPIKE_TCP_H
#define TCPIKE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "htab.h"
#include "loop.h"
#include "memtrim.h"
#include "stream.h"
#include "transport.h"

struct buf;
struct tcp;

#define TCP_MAX_LISTEN		16
#define TCP_OUTQ_MAX		(256 * 1024)	/* bytes queued per connection */
/* Descriptors kept for all but TCP connections (sockets, netlink, epoll,
 * timers, control clients, files read at reload): see tcp_fit_nofile(). */
#define TCP_FD_RESERVE		64
/* How long the listeners rest when accept() finds no descriptor free. */
#define TCP_NOFILE_REST_MS	200

struct tcp_opts {
	const struct sockaddr_storage *addrs;	/* NULL/0: wildcard v4 + v6 */
	int n_addrs;
	const uint16_t *ports;		/* listening ports; n_ports may be 0 */
	int n_ports;
	uint32_t max_conns;		/* global, the connect races' second
					 * sockets included; 0 = 10000 */
	uint32_t max_per_ip;		/* 0 = 50 */
	uint32_t prefix_timeout_ms;	/* 0 = 5000 */
	uint32_t idle_timeout_ms;	/* no IKE SA uses it; 0 = 30000 */
	size_t max_msg;			/* 0 = STREAM_MAX_MSG */
	size_t max_stream_mem;		/* frame buffers of all; 0 = 32 MB */
};

struct tcp_ops {
	/* Connection accepted (responder side) after the prefix arrived, or
	 * an outbound connect finished: err 0 or a negative errno
	 * (-ETIMEDOUT for the connect timeout). */
	void (*connected)(void *ctx, struct tcp_conn *c, int err);
	/* Connection gone (peer close, error, timeout, bad stream).  err is 0
	 * for an orderly close.  Called only for connections announced with
	 * connected(c, 0); the engine drops its references. */
	void (*closed)(void *ctx, struct tcp_conn *c, int err);
};

struct tcp_stats {
	uint64_t accepted, connected, connect_failed, closed;
	uint64_t refused_global, refused_per_ip;
	uint64_t accept_nofile;		/* accept(): EMFILE or ENFILE */
	uint64_t evicted_global, evicted_per_ip; /* closed to make room */
	uint64_t evicted_memory;	/* closed for max_stream_memory */
	uint64_t prefix_timeout, bad_prefix, bad_length, idle_timeout;
	uint64_t frames_ike, frames_esp, frames_empty, keepalives, oversized;
	uint64_t runts;
	uint64_t tx_frames, tx_dropped_queue_full;
	uint64_t connect_races;		/* second connect() started (race_ms) */
	uint64_t connect_races_won;	/* ... and the connection is on it */
};

struct tcp_conn {
	struct tcp *tcp;
	int refs;
	int fd;
	bool originator;	/* we connected (we send IKETCP) */
	bool connecting;	/* non-blocking connect in progress */
	bool prefix_seen;	/* responder: IKETCP received */
	bool valid_msg;		/* at least one IKE frame delivered */
	bool espintcp;		/* kernel ULP attached */
	bool dead;		/* closed; fd is -1 */
	bool announced;		/* connected(c, 0) was called: closed() follows */
	bool proven;		/* an IKE SA authenticated on it (tcp_conn_proven) */
	bool replied;		/* we sent an IKE message on it (a cookie, say) */
	bool race_second;	/* fd is the connect race's second attempt */
	/* local: the socket's name once accepted or connected */
	struct sockaddr_storage local, remote;
	uint64_t last_activity_ms;
	struct stream st;
	uint8_t *outq;		/* pending bytes */
	size_t outq_len, outq_off;
	struct timer timer;	/* connect / prefix / idle */
	/* The connect race (tcp_connect's race_ms): the second attempt's
	 * socket, -1 when none runs, and the timer that starts it. */
	int race_fd;
	struct timer race_timer;
	void *user;		/* engine's pointer, free for its use */
	struct tcp_conn *next, *prev;
	struct hnode host_node;	/* tcp.by_host, by the remote's address */
	/* Accepted and not proven yet, oldest first: what the limits close
	 * to make room (tcp.unproven). */
	struct tcp_conn *unp_next, *unp_prev;
	uint64_t seq;		/* accept order; 0: we connected */
	uint64_t accepted_ms;
};

struct tcp {
	struct loop *loop;
	int listen_fd[TCP_MAX_LISTEN];
	int n_listen;
	struct tcp_opts o;
	ike_rx_fn rx;
	void *rx_ctx;
	const struct tcp_ops *ops;
	void *ops_ctx;
	struct tcp_conn *conns;
	uint32_t n_conns;
	uint32_t n_racing;		/* connect races' second sockets open */
	/* The same connections by remote address, for tcp_per_ip: counting
	 * them must not walk all of tcp_max at every accept. */
	struct htab by_host;
	struct tcp_stats st;
	struct tcp_conn *unproven, *unproven_tail;
	uint64_t seq;
	struct timer rest;		/* listeners off: out of descriptors */
	struct mem_burst mem;		/* given back after a connection flood */
	struct stream_pool pool;	/* every frame buffer, max_stream_mem */
	struct tcp_conn *feeding;	/* its stream_feed() is under way */
	/* Connections closed with bytes queued, writing them out (tcp.c),
	 * counted against tcp_max like the rest. */
	struct tcp_linger *lingering;
	uint32_t n_lingering;
	uint64_t nofile_logged_ms;
};

struct tcp *tcp_open(struct loop *loop, const struct tcp_opts *o,
		     ike_rx_fn rx, void *rx_ctx,
		     const struct tcp_ops *ops, void *ops_ctx);
/* Closes every connection (closed callbacks run) and the listeners. */
void tcp_close_all(struct tcp *t);

/*
 * Makes RLIMIT_NOFILE fit max_conns connections plus TCP_FD_RESERVE: raises
 * the soft limit as far as the hard limit allows.  Returns max_conns, or
 * the smaller number that fits under the hard limit (at least 1).
 */
uint32_t tcp_fit_nofile(uint32_t max_conns);

/*
 * Starts a non-blocking connect from local (port 0/address 0 = any) to
 * remote.  The connected callback reports the outcome within timeout_ms.
 * Not connected after race_ms (0: never), a second connect() to remote
 * goes beside the first; the first to complete is the connection's socket
 * and the other is closed before a byte went on it (one connection per IKE
 * SA, RFC 9329 section 6); the second socket counts against max_conns
 * while it is open, and none is started when max_conns are open.  -EMFILE
 * when max_conns sockets are open.  The returned connection holds one
 * reference for the caller.
 */
struct tcp_conn *tcp_connect(struct tcp *t, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote,
			     uint32_t timeout_ms, uint32_t race_ms, int *err);

struct tcp_conn *tcp_conn_get(struct tcp_conn *c);
void tcp_conn_put(struct tcp_conn *c);
/* Closes now (the closed callback runs with err). */
void tcp_conn_close(struct tcp_conn *c, int err);

/*
 * An IKE SA authenticated on c.  Until then an accepted connection is the
 * first the limits close: a new connection beyond tcp_max or tcp_per_ip
 * displaces the oldest unproven one (of its address, for tcp_per_ip),
 * one with no IKE SA on it at all first, instead of being refused, so
 * stalled connections cannot lock peers out.
 */
void tcp_conn_proven(struct tcp_conn *c);

/*
 * Sends one IKE message: Length | 00000000 | msg (or, with espintcp on,
 * what the kernel expects).  Queued when the socket is busy; -ENOBUFS
 * when the queue is full, -ENOTCONN when closed, -EMSGSIZE when too big.
 */
int tcp_send(struct tcp_conn *c, const uint8_t *msg, size_t len);

/*
 * At shutdown (the loop stopped), after tcp_send refused a message with
 * err (-ENOBUFS: the output queue is full; -EAGAIN: espintcp's socket
 * is): waits for the socket to take more and writes out what is queued,
 * never past deadline_ms (loop_now_ms).  0 to send again, or -errno
 * (-ETIMEDOUT: the deadline has passed; -ENOTCONN: not connected).
 */
int tcp_wait_room(struct tcp_conn *c, int err, uint64_t deadline_ms);

/* Attach the kernel's espintcp ULP (after the prefix exchange). */
int tcp_enable_espintcp(struct tcp_conn *c);

/* Fill an ike_path for this connection. */
void tcp_conn_path(const struct tcp_conn *c, struct ike_path *path);

int tcp_status(const struct tcp *t, struct buf *out);

/*
 * Counters as of now: closed connections' framing counts plus those of the
 * live ones (empty frames, keepalives, oversized and runt frames are kept
 * per stream until the connection closes).  *n_conns gets the number of
 * open connections.
 */
void tcp_stats_now(const struct tcp *t, struct tcp_stats *out, uint32_t *n_conns);

#endif
