// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket (protocol in control.h).  One request per connection;
 * the request is read without blocking the loop, the reply is written with
 * a bounded wait (replies are small; a client that stops reading is cut).
 */
#define LOG_SUBSYS LOG_SUB_CFG

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "control.h"
#include "log.h"
#include "loop.h"

struct ctl_client {
	struct control *ctl;
	int fd;
	char req[CONTROL_MAX_REQ + 1];
	size_t len;
	struct timer timer;
	struct ctl_client *next;
	/* held by an op (initiate --wait): log lines of conn go to it */
	bool held, dead, replied;
	struct buf pending;	/* log lines before the reply went out */
	char conn[129];
	char last_warn[512];
	void (*cancel)(void *arg);
	void *cancel_arg;
};

struct control {
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	long allow_uid;
	const struct control_ops *ops;
	void *ctx;
	struct ctl_client *clients;	/* newest first */
	unsigned int n_clients;
	int n_held;
	struct timer rest;		/* listener off: out of descriptors */
	uint64_t nofile_logged_ms;
};

#define CTL_CLIENT_TIMEOUT_MS	5000
/* Clients at once: the newest displaces the oldest, so idle connections
 * can neither lock tcpikectl out nor use up the daemon's descriptors.
 * A client waiting for an initiate's result (held: bounded by its own
 * timeout) is displaced only when CTL_MAX_HELD more of them wait too. */
#define CTL_MAX_CLIENTS		16
#define CTL_MAX_HELD		64
#define CTL_NOFILE_REST_MS	200

/* "ERR " a b c "\n": the status line of a refused request. */
static void reply_err3(struct buf *out, const char *a, const char *b,
		       const char *c)
{
	buf_reset(out);
	buf_append(out, "ERR ", 4);
	buf_append(out, a, strlen(a));
	buf_append(out, b, strlen(b));
	buf_append(out, c, strlen(c));
	buf_append(out, "\n", 1);
}

static void reply_err(struct buf *out, const char *msg)
{
	reply_err3(out, msg, "", "");
}

/* Runs an op: body goes after "OK\n"; on error the body is the sentence. */
static void finish(struct buf *out, int r, struct buf *body)
{
	buf_reset(out);
	if (buf_err(body)) {
		reply_err(out, "out of memory");
	} else if (r == 0) {
		buf_append(out, "OK\n", 3);
		buf_append(out, body->data, body->len);
	} else {
		char msg[256];
		size_t n = body->len < sizeof(msg) - 1 ? body->len : sizeof(msg) - 1;

		memcpy(msg, body->data ? (const char *)body->data : "", n);
		msg[n] = 0;
		/* Keep the status line one line. */
		for (size_t i = 0; i < n; i++)
			if (msg[i] == '\n')
				msg[i] = ' ';
		while (n && msg[n - 1] == ' ')
			msg[--n] = 0;
		reply_err(out, n ? msg : strerror(r < 0 ? -r : r));
	}
	buf_free(body);
}

static bool valid_word(const char *w)
{
	if (!*w || strlen(w) > 128)
		return false;
	for (; *w; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') ||
		      (*w >= '0' && *w <= '9') || *w == '-' || *w == '_' ||
		      *w == '.' || *w == '='))
			return false;
	return true;
}

/* "--ike ID", "--child ID" or a connection name into t; false: usage. */
static bool parse_target(char **argv, int argc, struct ctl_target *t)
{
	char *end;

	memset(t, 0, sizeof(*t));
	if (argc == 1 && argv[0][0] != '-') {
		t->kind = CTL_CONN;
		t->conn = argv[0];
		return true;
	}
	if (argc != 2 || (strcmp(argv[0], "--ike") && strcmp(argv[0], "--child")))
		return false;
	t->kind = argv[0][2] == 'i' ? CTL_IKE : CTL_CHILD;
	t->id = strtoull(argv[1], &end, 10);
	return argv[1][0] >= '0' && argv[1][0] <= '9' && !*end;
}

#define USAGE_STATUS	"usage: status [--json] [<connection>]"
#define USAGE_INITIATE	"usage: initiate <connection> [--wait]"
#define USAGE_TERMINATE	"usage: terminate <connection> | --ike <id> | --child <id>"
#define USAGE_REKEY	"usage: rekey <connection> [ike|child] | --ike <id> | --child <id>"
#define USAGE_LOGLEVEL	"usage: loglevel [error|warning|info|debug] [SUBSYSTEM=LEVEL ...] (subsystems: ike, cfg, net, tcp, kernel, crypto)"

static int do_status(const struct control_ops *ops, void *ctx, char **argv, int argc,
		     struct buf *body, struct buf *out)
{
	const char *conn = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && !json) {
			json = true;
		} else if (argv[i][0] != '-' && !conn) {
			conn = argv[i];
		} else {
			reply_err(out, USAGE_STATUS);
			return 1;
		}
	}
	return ops->status(ctx, conn, json, body);
}

static int do_loglevel(const struct control_ops *ops, void *ctx, char **argv, int argc,
		       struct buf *body, struct buf *out)
{
	char spec[CONTROL_MAX_REQ + 1] = "", err[256];
	int all, levels[LOG_SUB_COUNT];
	size_t o = 0;

	for (int i = 1; i < argc; i++)
		o += (size_t)snprintf(spec + o, sizeof(spec) - o, "%s%s", i > 1 ? " " : "", argv[i]);
	if (argc > 1 && log_levels_parse(spec, &all, levels, err, sizeof(err))) {
		reply_err3(out, USAGE_LOGLEVEL, ": ", err);
		return 1;
	}
	return ops->loglevel(ctx, argc > 1 ? spec : NULL, body);
}

/* The request in argv: 0 or the op's result in body; 1 when out already
 * holds the ERR reply. */
static int run_cmd(const struct control_ops *ops, void *ctx, char **argv, int argc,
		   struct ctl_stream *stream, struct buf *body, struct buf *out)
{
	const char *cmd = argv[0];
	struct ctl_target t;

	if (!strcmp(cmd, "status"))
		return do_status(ops, ctx, argv, argc, body, out);
	if (!strcmp(cmd, "list-conns")) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json"))) {
			reply_err(out, "usage: list-conns [--json]");
			return 1;
		}
		return ops->list_conns(ctx, argc == 2, body);
	}
	if (!strcmp(cmd, "initiate")) {
		if (argc < 2 || argc > 3 || argv[1][0] == '-' ||
		    (argc == 3 && strcmp(argv[2], "--wait"))) {
			reply_err(out, USAGE_INITIATE);
			return 1;
		}
		return ops->initiate(ctx, argv[1], argc == 3 ? stream : NULL, body);
	}
	if (!strcmp(cmd, "terminate")) {
		if (!parse_target(argv + 1, argc - 1, &t)) {
			reply_err(out, USAGE_TERMINATE);
			return 1;
		}
		return ops->terminate(ctx, &t, body);
	}
	if (!strcmp(cmd, "rekey")) {
		bool child = argc == 3 && !strcmp(argv[2], "child");

		if (argc == 3 && (child || !strcmp(argv[2], "ike")) && argv[1][0] != '-')
			argc = 2;
		if (!parse_target(argv + 1, argc - 1, &t)) {
			reply_err(out, USAGE_REKEY);
			return 1;
		}
		return ops->rekey(ctx, &t, child || t.kind == CTL_CHILD, body);
	}
	if (!strcmp(cmd, "reload")) {
		if (argc != 1) {
			reply_err(out, "usage: reload");
			return 1;
		}
		return ops->reload(ctx, body);
	}
	if (!strcmp(cmd, "loglevel"))
		return do_loglevel(ops, ctx, argv, argc, body, out);
	reply_err3(out, "unknown command '", cmd,
		   "' (expected status, list-conns, initiate, terminate, rekey, reload, loglevel)");
	return 1;
}

void control_dispatch_stream(const struct control_ops *ops, void *ctx, const char *line,
			     struct ctl_stream *stream, struct buf *out)
{
	char tmp[CONTROL_MAX_REQ + 1], *argv[8], *save = NULL, *w;
	struct buf body = BUF_INIT;
	int argc = 0, r;

	if (strlen(line) > CONTROL_MAX_REQ) {
		reply_err(out, "request too long");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s", line);
	tmp[strcspn(tmp, "\r\n")] = 0;
	for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (argc == 8) {
			reply_err(out, "too many arguments");
			return;
		}
		argv[argc++] = w;
	}
	if (argc == 0) {
		reply_err(out, "empty request");
		return;
	}
	for (int i = 0; i < argc; i++)
		if (!valid_word(argv[i])) {
			reply_err(out, "invalid characters in request");
			return;
		}
	r = run_cmd(ops, ctx, argv, argc, stream, &body, out);
	if (r == 1 && buf_err(&body) == 0 && out->len && !memcmp(out->data, "ERR ", 4)) {
		buf_free(&body);
		return;
	}
	finish(out, r, &body);
}

void control_dispatch(const struct control_ops *ops, void *ctx,
		      const char *line, struct buf *out)
{
	control_dispatch_stream(ops, ctx, line, NULL, out);
}

static void client_free(struct ctl_client *cl)
{
	struct control *c = cl->ctl;

	for (struct ctl_client **pp = &c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			c->n_clients--;
			break;
		}
	if (cl->held && !--c->n_held)
		log_set_tap(NULL, NULL);
	if (cl->cancel)
		cl->cancel(cl->cancel_arg);
	timer_cancel(c->loop, &cl->timer);
	loop_unwatch(c->loop, cl->fd);
	close(cl->fd);
	buf_free(&cl->pending);
	free(cl);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			if (poll(&pf, 1, 1000) <= 0)
				return;
			continue;
		}
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Whether a log line is about connection conn: "conn[3]: ..." (an SA of
 * it), "connection conn" or "connection 'conn'". */
static bool line_names(const char *line, const char *conn)
{
	size_t l = strlen(conn);

	for (const char *p = strstr(line, conn); p; p = strstr(p + 1, conn)) {
		bool start = p == line || p[-1] == ' ' || p[-1] == '\'';

		if (start && (p[l] == '[' || (p[l] == '\'' && p > line && p[-1] == '\'')))
			return true;
		if (start && p - line >= 11 && !strncmp(p - 11, "connection ", 11) &&
		    (!p[l] || strchr(" :,;)", p[l])))
			return true;
	}
	return false;
}

/* The log tap while clients are held: their connection's lines. */
static void tap(void *ctx, enum log_subsys s, enum log_level lvl, const char *line)
{
	struct control *c = ctx;

	(void)s;
	for (struct ctl_client *cl = c->clients; cl; cl = cl->next) {
		char b[2100];
		int n;

		if (!cl->held || cl->dead || !line_names(line, cl->conn))
			continue;
		if (lvl <= LOG_LVL_WARN)
			snprintf(cl->last_warn, sizeof(cl->last_warn), "%s", line);
		n = snprintf(b, sizeof(b), "log: %s\n", line);
		if ((size_t)n >= sizeof(b))
			n = sizeof(b) - 1;
		if (!cl->replied) {
			if (cl->pending.len < 65536)
				buf_append(&cl->pending, b, (size_t)n);
			continue;
		}
		/* never blocks the daemon: a client that does not read
		 * loses lines, one that is gone is dropped at the end */
		if (send(cl->fd, b, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			cl->dead = true;
	}
}

void ctl_stream_hold(struct ctl_stream *s, const char *conn, void (*cancel)(void *arg),
		     void *arg)
{
	struct ctl_client *cl = (struct ctl_client *)s;

	snprintf(cl->conn, sizeof(cl->conn), "%s", conn);
	cl->cancel = cancel;
	cl->cancel_arg = arg;
	if (!cl->held && !cl->ctl->n_held++)
		log_set_tap(tap, cl->ctl);
	cl->held = true;
}

void ctl_stream_release(struct ctl_stream *s)
{
	struct ctl_client *cl = (struct ctl_client *)s;

	cl->cancel = NULL;
	if (cl->held && !--cl->ctl->n_held)
		log_set_tap(NULL, NULL);
	cl->held = false;
}

void ctl_stream_end(struct ctl_stream *s, bool ok, const char *sentence)
{
	struct ctl_client *cl = (struct ctl_client *)s;
	char b[1200];
	int n;

	cl->cancel = NULL;	/* the op is done with it */
	n = snprintf(b, sizeof(b), "result: %s %s%s%s\n", ok ? "ok" : "failed",
		     sentence ? sentence : "", !ok && cl->last_warn[0] ? ": last: " : "",
		     !ok ? cl->last_warn : "");
	write_all(cl->fd, (const uint8_t *)b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
	client_free(cl);
}

static void client_io(void *ctx, int fd, uint32_t ev)
{
	struct ctl_client *cl = ctx;
	struct control *c = cl->ctl;
	struct buf out = BUF_INIT;
	char *nl;
	ssize_t n;

	if (cl->held) {
		char b[64];

		/* held: only the client's going away is read (or a dead
		 * socket found by the tap) */
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (cl->dead || n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			client_free(cl);
		return;
	}
	n = recv(fd, cl->req + cl->len, CONTROL_MAX_REQ - cl->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->req[cl->len] = 0;
	nl = memchr(cl->req, '\n', cl->len);
	if (!nl && cl->len < CONTROL_MAX_REQ)
		return;
	if (!nl || memchr(cl->req, 0, (size_t)(nl - cl->req))) {
		reply_err(&out, nl ? "invalid request" : "request too long");
	} else {
		*nl = 0;
		log_debug("control: %s", cl->req);
		control_dispatch_stream(c->ops, c->ctx, cl->req, (struct ctl_stream *)cl, &out);
	}
	if (buf_err(&out))
		write_all(fd, (const uint8_t *)"ERR out of memory\n", 18);
	else
		write_all(fd, out.data, out.len);
	buf_free(&out);
	cl->replied = true;
	if (!cl->held) {
		client_free(cl);
		return;
	}
	timer_cancel(c->loop, &cl->timer);	/* until the result */
	if (cl->pending.len && !buf_err(&cl->pending))
		write_all(fd, cl->pending.data, cl->pending.len);
	buf_free(&cl->pending);
}

static void client_timeout(struct timer *t)
{
	client_free(container_of(t, struct ctl_client, timer));
}

static void accept_io(void *ctx, int lfd, uint32_t ev);

static void accept_rested(struct timer *t)
{
	struct control *c = container_of(t, struct control, rest);

	loop_watch(c->loop, c->fd, LOOP_READ, accept_io, c);
}

static void accept_io(void *ctx, int lfd, uint32_t ev)
{
	struct control *c = ctx;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct ctl_client *client, **pp;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EMFILE && errno != ENFILE)
			return;
		/* The request stays in the backlog: rest rather than spin. */
		if (!c->nofile_logged_ms || loop_now_ms() - c->nofile_logged_ms >= 10000) {
			c->nofile_logged_ms = loop_now_ms();
			log_warn("control: accept: %s: not accepting for %u ms",
				 strerror(errno), CTL_NOFILE_REST_MS);
		}
		loop_unwatch(c->loop, lfd);
		timer_arm(c->loop, &c->rest, CTL_NOFILE_REST_MS, accept_rested);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (c->allow_uid < 0 ? cred.uid != 0 :
	     (cred.uid != 0 && (long)cred.uid != c->allow_uid))) {
		static const char msg[] =
			"ERR permission denied: tcpikectl must run as root\n";

		log_warn("control: refused a request from uid %ld",
			 (long)cred.uid);
		write_all(fd, (const uint8_t *)msg, sizeof(msg) - 1);
		close(fd);
		return;
	}
	client = calloc(1, sizeof(*client));
	if (!client) {
		close(fd);
		return;
	}
	if (c->n_clients - (unsigned int)c->n_held >= CTL_MAX_CLIENTS ||
	    c->n_clients >= CTL_MAX_CLIENTS + CTL_MAX_HELD) {
		struct ctl_client *oldest = NULL;
		bool any = c->n_clients - (unsigned int)c->n_held < CTL_MAX_CLIENTS;

		for (pp = &c->clients; *pp; pp = &(*pp)->next)
			if (any || !(*pp)->held)
				oldest = *pp;
		log_debug("control: %u clients at once (%d waiting): closing the oldest%s",
			  c->n_clients, c->n_held, any ? "" : " not waiting");
		client_free(oldest);
	}
	c->n_clients++;
	client->ctl = c;
	client->fd = fd;
	client->next = c->clients;
	c->clients = client;
	timer_arm(c->loop, &client->timer, CTL_CLIENT_TIMEOUT_MS, client_timeout);
	loop_watch(c->loop, fd, LOOP_READ, client_io, client);
}

int control_in_use(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path) || lstat(path, &st) ||
	    !S_ISSOCK(st.st_mode))
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A listening daemon completes the connection into its backlog (a
	 * full backlog: EAGAIN); a stale file left by a killed one refuses. */
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	close(fd);
	if (r == -ECONNREFUSED || r == -ENOENT)
		return 0;
	if (!r || r == -EAGAIN)
		log_err("another tcpiked is running: its control socket %s answers; not starting",
			path);
	else
		log_err("control socket %s: cannot tell whether a daemon owns it: %s; not starting",
			path, strerror(-r));
	return -EADDRINUSE;
}

struct control *control_open(struct loop *loop, const char *path,
			     long allow_uid, const struct control_ops *ops,
			     void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)];
	struct control *c;
	struct stat st;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control socket path too long: %s", path);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(dirname(dir), &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_err("control socket directory of %s does not exist", path);
		return NULL;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_err("control socket directory of %s is writable by group or others",
			path);
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket", path);
			return NULL;
		}
		if (control_in_use(path))
			return NULL;
		unlink(path);		/* stale socket of an earlier run */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->allow_uid = allow_uid;
	c->ops = ops;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	old = umask(0177);	/* the socket is created 0600 */
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		log_err("control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(c->fd, 16) < 0 ||
	    loop_watch(loop, c->fd, LOOP_READ, accept_io, c)) {
		log_err("control socket %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return c;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	timer_cancel(c->loop, &c->rest);
	loop_unwatch(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}
