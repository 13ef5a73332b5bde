/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IKEv2 engine as the rest of the daemon sees it.  The transports
 * (udp.c, tcp.c) feed it complete IKE messages through engine_rx() and
 * tell it about TCP connections; the control socket asks it to initiate,
 * terminate, rekey, report and reload.  It does not care which transport
 * carried a message: every IKE SA remembers the path its peer last used and
 * answers there.  Its inside (IKE SAs, Child SAs, exchanges) is ikesa.h,
 * shared by the engine's own files only.
 *
 * Single-threaded: everything runs from the event loop.
 */
#ifndef TCPIKE_ENGINE_H
#define TCPIKE_ENGINE_H

#include <stdbool.h>

struct buf;
struct config;
struct engine;
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
void engine_set_transports(struct engine *e, struct udp *u, struct tcp *t);
/* The configuration in use (reloads replace it; the engine owns it). */
struct config *engine_config(const struct engine *e);
/* Starts connections with start_action = start. */
void engine_autostart(struct engine *e);

/* The ike_rx_fn for the transports (ctx = engine). */
void engine_rx(void *ctx, const struct ike_rx *rx);
/* The TCP transport's callbacks (struct tcp_ops, with the engine). */
void engine_tcp_connected(struct engine *e, struct tcp_conn *c, int err);
void engine_tcp_closed(struct engine *e, struct tcp_conn *c, int err);

/* Control (engine_ctl.c); each returns 0 or -errno with a sentence in out. */
int engine_initiate(struct engine *e, const char *conn, struct buf *out);
int engine_terminate(struct engine *e, const char *conn, struct buf *out);
int engine_rekey(struct engine *e, const char *conn, bool child, struct buf *out);
int engine_status(struct engine *e, bool json, struct buf *out);
int engine_list_conns(struct engine *e, bool json, struct buf *out);
/* Swaps in a new config: SAs of unchanged connections are kept, others
 * deleted.  Takes ownership of cfg. */
int engine_reload(struct engine *e, struct config *cfg, struct buf *out);

#endif
