/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket: a Unix stream socket (mode 0600) on which root tells
 * the daemon what to do.  Peer credentials (SO_PEERCRED) are checked: any
 * uid but 0 gets "ERR permission denied" and the connection is closed.
 *
 * Protocol (one request per connection, text, UTF-8):
 *   request:  one line, words separated by single spaces, ending in "\n",
 *             at most CONTROL_MAX_REQ bytes:
 *               status [--json] | list-conns [--json] | initiate <conn> |
 *               terminate <conn> | rekey <conn> [ike|child] | reload |
 *               loglevel <error|warning|info|debug>
 *   response: a status line "OK\n" or "ERR <sentence>\n", then the body
 *             (any text or JSON), then the daemon closes the connection.
 * tcpikectl prints the body, and the ERR sentence on stderr with exit 1.
 */
#ifndef TCPIKE_CONTROL_H
#define TCPIKE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct buf;

#define CONTROL_MAX_REQ		1024

/* Each op returns 0 with the reply body in out, or -errno with a sentence
 * for the ERR line in out. */
struct control_ops {
	int (*status)(void *ctx, bool json, struct buf *out);
	int (*list_conns)(void *ctx, bool json, struct buf *out);
	int (*initiate)(void *ctx, const char *conn, struct buf *out);
	int (*terminate)(void *ctx, const char *conn, struct buf *out);
	int (*rekey)(void *ctx, const char *conn, bool child, struct buf *out);
	int (*reload)(void *ctx, struct buf *out);
	int (*loglevel)(void *ctx, const char *level, struct buf *out);
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
 * ("OK\n..." or "ERR ...\n") to out.  Exposed for tests. */
void control_dispatch(const struct control_ops *ops, void *ctx,
		      const char *line, struct buf *out);

#endif
