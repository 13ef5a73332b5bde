/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IKEv2 engine as the rest of the daemon sees it.  The transports
 * (udp.c, tcp.c) feed it complete IKE messages through engine_rx() and
 * tell it about TCP connections; the control socket asks it to initiate,
 * terminate, rekey, report and reload.  It does not care which transport
 * carried a message: every IKE SA remembers the path its peer last used and
 * answers there.  Its inside, shared by the engine's own files only, is
 * ikesa.h (IKE SAs, Child SAs, the core) and exch.h (the exchanges).
 *
 * Single-threaded: everything runs from the event loop.
 */
#ifndef TCPIKE_ENGINE_H
#define TCPIKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct buf;
struct config;
struct engine;
struct ike_path;
struct ike_rx;
struct kbackend;
struct loop;
struct tcp;
struct tcp_conn;
struct udp;

struct engine *engine_new(struct loop *loop, struct config *cfg,
			  struct kbackend *kb);
/* Deletes every SA (Delete sent where possible, kernel state removed). */
void engine_shutdown(struct engine *e);
void engine_free(struct engine *e);
/* The UDP and TCP transports: the engine's packets go there (its
 * struct engine_net becomes theirs). */
void engine_set_transports(struct engine *e, struct udp *u, struct tcp *t);

/*
 * Everything the engine sends goes through this, and everything it
 * receives comes in through engine_rx() and the two TCP callbacks: a unit
 * test puts two engines back to back in one process (test_engine.c).
 */
struct engine_net {
	/* One IKE message on a path (UDP 500, UDP 4500: the transport adds
	 * the marker; TCP: the connection in path->conn frames it).  0 or
	 * -errno. */
	int (*send)(void *ctx, const struct ike_path *path, const uint8_t *msg,
		    size_t len);
	/* An RFC 3948 NAT-keepalive from local to remote (UDP 4500). */
	int (*keepalive)(void *ctx, const struct sockaddr_storage *local,
			 const struct sockaddr_storage *remote);
	/* As tcp_connect(): a connection with one reference for the caller,
	 * announced later through engine_tcp_connected(); NULL with *err. */
	struct tcp_conn *(*connect)(void *ctx, const struct sockaddr_storage *local,
				    const struct sockaddr_storage *remote,
				    uint32_t timeout_ms, uint32_t race_ms, int *err);
	/* As tcp_conn_close(): engine_tcp_closed() follows for a connection
	 * that was announced. */
	void (*close)(void *ctx, struct tcp_conn *c, int err);
	/* At shutdown, the loop stopped: send refused a message on path with
	 * err (-EAGAIN: no room in the socket's buffer, espintcp's included;
	 * -ENOBUFS: a full device queue, or TCP's full output queue): the
	 * path's transport waits until a send may succeed (udp_wait_room,
	 * tcp_wait_room), at most until deadline_ms (loop_now_ms).  0 to try
	 * again, or -errno (-ETIMEDOUT: the deadline passed). */
	int (*wait)(void *ctx, const struct ike_path *path, int err, uint64_t deadline_ms);
};
void engine_set_net(struct engine *e, const struct engine_net *net, void *ctx);
/* The configuration in use (reloads replace it; the engine owns it). */
struct config *engine_config(const struct engine *e);
/* Installs the trap policies of children with start_action = trap that
 * have none yet, and starts connections with start_action = start. */
void engine_autostart(struct engine *e);

/* The ike_rx_fn for the transports (ctx = engine). */
void engine_rx(void *ctx, const struct ike_rx *rx);
/* The TCP transport's callbacks (struct tcp_ops, with the engine). */
void engine_tcp_connected(struct engine *e, struct tcp_conn *c, int err);
void engine_tcp_closed(struct engine *e, struct tcp_conn *c, int err);

/* Kernel events (kevent.c): watch the backend's event source from the
 * engine's loop (before privileges are dropped); 0, or -errno when the
 * backend has one and it cannot be opened.  engine_kernel_event() is what
 * each event does (the loop's callback; tests call it directly). */
struct kb_event;
int engine_watch_kernel(struct engine *e);
void engine_kernel_event(void *ctx, const struct kb_event *ev);

/* Control (engine_ctl.c); each returns 0 or -errno with a sentence in out. */
int engine_initiate(struct engine *e, const char *conn, struct buf *out);
int engine_terminate(struct engine *e, const char *conn, struct buf *out);
int engine_rekey(struct engine *e, const char *conn, bool child, struct buf *out);
int engine_status(struct engine *e, bool json, struct buf *out);
/* The same for one connection's SAs (conn NULL: all). */
int engine_status_conn(struct engine *e, const char *conn, bool json, struct buf *out);
/* One IKE SA (child false) or Child SA by the id status shows. */
int engine_terminate_id(struct engine *e, bool child, uint64_t id, struct buf *out);
int engine_rekey_id(struct engine *e, bool child, uint64_t id, struct buf *out);

/*
 * The result of initiating conn, when it is known: fn(ctx, true, sentence)
 * once an IKE SA of it is established with a Child SA (or it has none
 * configured), fn(ctx, false, sentence) when none is left, or one is up
 * without a Child SA.  Checked every 100 ms; a waiter ends with fn, or
 * with engine_wait_cancel() (no fn then).  NULL: no such connection.
 */
struct engine_waiter;
typedef void (*engine_wait_fn)(void *ctx, bool ok, const char *sentence);
struct engine_waiter *engine_wait(struct engine *e, const char *conn, engine_wait_fn fn,
				  void *ctx);
void engine_wait_cancel(struct engine_waiter *w);
int engine_list_conns(struct engine *e, bool json, struct buf *out);
/* Swaps in a new config: SAs of unchanged connections are kept, others
 * deleted.  Takes ownership of cfg. */
int engine_reload(struct engine *e, struct config *cfg, struct buf *out);

#endif
