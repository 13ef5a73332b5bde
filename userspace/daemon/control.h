/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket: a Unix stream socket (mode 0600) on which root tells
 * the daemon what to do.  Peer credentials (SO_PEERCRED) are checked: any
 * uid but 0 gets "ERR permission denied" and the connection is closed.
 *
 * Protocol (one request per connection, text, UTF-8):
 *   request:  one line, words separated by single spaces, ending in "\n",
 *             at most CONTROL_MAX_REQ bytes:
 *               status [--json] [CONN] | list-conns [--json] |
 *               initiate CONN [--wait] |
 *               terminate CONN | terminate --ike ID | terminate --child ID |
 *               rekey CONN [ike|child] | rekey --ike ID | rekey --child ID |
 *               reload | loglevel [LEVEL] [SUBSYSTEM=LEVEL ...]
 *   response: a status line "OK\n" or "ERR <sentence>\n" (a request that
 *             is not well formed: "ERR usage: ..."), then the body (any
 *             text or JSON), then the daemon closes the connection.
 *
 *   initiate CONN --wait (tcpikectl's default; --no-wait leaves the word
 *             out): after "OK\n", the connection's log lines as
 *             "log: <line>\n" while it is set up, then one line
 *             "result: ok <sentence>\n" or "result: failed <sentence>\n",
 *             then the daemon closes the connection.
 *
 * tcpikectl prints the body, and the ERR sentence on stderr with exit 1
 * (2 for a usage error).
 */
#ifndef TCPIKE_CONTROL_H
#define TCPIKE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct buf;

#define CONTROL_MAX_REQ		1024

/* What terminate and rekey act on: a connection's SAs, or one SA by the id
 * status shows ("c[3]" is IKE SA 3, "net{7}" Child SA 7). */
struct ctl_target {
	enum { CTL_CONN, CTL_IKE, CTL_CHILD } kind;
	const char *conn;
	uint64_t id;
};

/* A request whose client is kept (initiate --wait). */
struct ctl_stream;

/* Each op returns 0 with the reply body in out, or -errno with a sentence
 * for the ERR line in out. */
struct control_ops {
	/* conn: NULL for all */
	int (*status)(void *ctx, const char *conn, bool json, struct buf *out);
	int (*list_conns)(void *ctx, bool json, struct buf *out);
	/* wait: NULL to return at once; else the op may hold it
	 * (ctl_stream_hold) and end it when the result is known. */
	int (*initiate)(void *ctx, const char *conn, struct ctl_stream *wait, struct buf *out);
	int (*terminate)(void *ctx, const struct ctl_target *t, struct buf *out);
	int (*rekey)(void *ctx, const struct ctl_target *t, bool child, struct buf *out);
	int (*reload)(void *ctx, struct buf *out);
	/* spec: "debug", "info tcp=debug", or NULL to show the levels */
	int (*loglevel)(void *ctx, const char *spec, struct buf *out);
};

struct control;

/* 0 when no daemon listens on path (no file, or a stale one); else says
 * so in an error line and returns -EADDRINUSE. */
int control_in_use(const char *path);

/* Creates the socket at path (parent directory must exist, not be
 * group/other writable), mode 0600.  allow_uid: -1 = root only (tests
 * pass getuid()). */
struct control *control_open(struct loop *loop, const char *path,
			     long allow_uid, const struct control_ops *ops,
			     void *ctx);
void control_close(struct control *c);

/* Parses and executes one request line, writing the full response
 * ("OK\n..." or "ERR ...\n") to out.  With _stream, the client (NULL:
 * no waiting); ops must not end a stream while they run.  Exposed for
 * tests. */
void control_dispatch(const struct control_ops *ops, void *ctx,
		      const char *line, struct buf *out);
void control_dispatch_stream(const struct control_ops *ops, void *ctx, const char *line,
			     struct ctl_stream *stream, struct buf *out);

/*
 * Keeps the client of s after the reply: the daemon's log lines that name
 * the connection (as "conn[" or "connection conn") go to it as "log: ..."
 * lines until ctl_stream_end().  cancel(arg) is called if the client goes
 * away first (s is then gone).
 */
void ctl_stream_hold(struct ctl_stream *s, const char *conn, void (*cancel)(void *arg),
		     void *arg);
/* Not held after all (the op failed): the ERR reply ends the client;
 * cancel is not called. */
void ctl_stream_release(struct ctl_stream *s);
/* The "result: ok|failed <sentence>" line, and the client closed.  A
 * failure without a sentence of its own gives the connection's last
 * warning or error line. */
void ctl_stream_end(struct ctl_stream *s, bool ok, const char *sentence);

#endif
