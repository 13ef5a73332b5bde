// SPDX-License-Identifier: GPL-2.0
/*
 * Control protocol: dispatch of every command to a fake ops table, usage
 * errors, and one request over a real socket (mode 0600) in a temp dir.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "control.h"
#include "log.h"
#include "loop.h"
#include "kselftest_harness.h"

static char last[128];

static int put(struct buf *out, const char *s)
{
	return buf_append(out, s, strlen(s));
}

static int f_status(void *ctx, const char *conn, bool json, struct buf *out)
{
	snprintf(last, sizeof(last), "status json=%d conn=%s", json, conn ? conn : "-");
	return put(out, json ? "{\"sas\":0}\n" : "sas 0\n");
}

static int f_list(void *ctx, bool json, struct buf *out)
{
	snprintf(last, sizeof(last), "list json=%d", json);
	return put(out, "gw\n");
}

static struct ctl_stream *held;

static void f_cancel(void *arg)
{
	snprintf(last, sizeof(last), "cancel %s", (const char *)arg);
	held = NULL;
}

static int f_initiate(void *ctx, const char *conn, struct ctl_stream *wait, struct buf *out)
{
	snprintf(last, sizeof(last), "initiate %s wait=%d", conn, wait != NULL);
	if (strcmp(conn, "gw")) {
		put(out, "no connection named ");
		put(out, conn);
		return -ENOENT;
	}
	if (wait) {
		held = wait;
		ctl_stream_hold(wait, conn, f_cancel, "gw");
		log_info("gw[1]: initiating to gw");	/* before the OK: queued */
	}
	return put(out, "gw[1]: IKE_SA_INIT sent\n");
}

static const char *target(const struct ctl_target *t)
{
	static char s[64];

	if (t->kind == CTL_CONN)
		snprintf(s, sizeof(s), "conn %s", t->conn);
	else
		snprintf(s, sizeof(s), "%s %llu", t->kind == CTL_IKE ? "ike" : "child",
			 (unsigned long long)t->id);
	return s;
}

static int f_terminate(void *ctx, const struct ctl_target *t, struct buf *out)
{
	snprintf(last, sizeof(last), "terminate %s", target(t));
	return 0;
}

static int f_rekey(void *ctx, const struct ctl_target *t, bool child, struct buf *out)
{
	snprintf(last, sizeof(last), "rekey %s child=%d", target(t), child);
	return 0;
}

static int f_reload(void *ctx, struct buf *out)
{
	snprintf(last, sizeof(last), "reload");
	return put(out, "1 connection unchanged\n");
}

static int f_loglevel(void *ctx, const char *spec, struct buf *out)
{
	snprintf(last, sizeof(last), "loglevel %s", spec ? spec : "(show)");
	return 0;
}

static const struct control_ops fake = {
	.status = f_status, .list_conns = f_list, .initiate = f_initiate,
	.terminate = f_terminate, .rekey = f_rekey, .reload = f_reload, .loglevel = f_loglevel,
};

static char *run(const char *line)
{
	static char res[512];
	struct buf out = BUF_INIT;

	last[0] = 0;
	control_dispatch(&fake, NULL, line, &out);
	snprintf(res, sizeof(res), "%.*s", (int)out.len, (const char *)out.data);
	buf_free(&out);
	return res;
}

/* A request, its reply, and what reached the ops (NULL: nothing asked of
 * them to check). */
static const struct {
	const char *line, *reply, *op;
} commands[] = {
	{ "status", "OK\nsas 0\n", "status json=0 conn=-" },
	{ "status --json", "OK\n{\"sas\":0}\n", NULL },
	{ "status gw --json", "OK\n{\"sas\":0}\n", "status json=1 conn=gw" },
	{ "status gw", "OK\nsas 0\n", "status json=0 conn=gw" },
	{ "list-conns", "OK\ngw\n", NULL },
	{ "initiate gw", "OK\ngw[1]: IKE_SA_INIT sent\n", "initiate gw wait=0" },
	/* no client to hold here: --wait reaches the op without one */
	{ "initiate gw --wait", "OK\ngw[1]: IKE_SA_INIT sent\n", "initiate gw wait=0" },
	{ "initiate nope", "ERR no connection named nope\n", NULL },
	{ "terminate gw", "OK\n", "terminate conn gw" },
	{ "terminate --ike 3", "OK\n", "terminate ike 3" },
	{ "terminate --child 12", "OK\n", "terminate child 12" },
	{ "rekey gw", "OK\n", "rekey conn gw child=0" },
	{ "rekey gw child", "OK\n", "rekey conn gw child=1" },
	{ "rekey gw ike", "OK\n", "rekey conn gw child=0" },
	{ "rekey --ike 4", "OK\n", "rekey ike 4 child=0" },
	{ "rekey --child 5", "OK\n", "rekey child 5 child=1" },
	{ "reload", "OK\n1 connection unchanged\n", NULL },
	{ "loglevel debug", "OK\n", "loglevel debug" },
	{ "loglevel info tcp=debug kernel=warning", "OK\n", "loglevel info tcp=debug kernel=warning" },
	{ "loglevel ike=debug", "OK\n", "loglevel ike=debug" },
	{ "loglevel", "OK\n", "loglevel (show)" },
};

TEST(dispatch_commands)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		EXPECT_STREQ(commands[i].reply, run(commands[i].line)) TH_LOG("%s", commands[i].line);
		if (commands[i].op)
			EXPECT_STREQ(commands[i].op, last) TH_LOG("%s", commands[i].line);
	}
}

TEST(dispatch_errors)
{
	EXPECT_STREQ("ERR empty request\n", run(""));
	EXPECT_STREQ("ERR unknown command 'stauts' (expected status, list-conns, initiate, terminate, rekey, reload, loglevel)\n",
		     run("stauts"));
	EXPECT_STREQ("", last);
	EXPECT_STREQ("ERR usage: initiate <connection> [--wait]\n", run("initiate"));
	EXPECT_STREQ("ERR usage: initiate <connection> [--wait]\n", run("initiate gw --later"));
	EXPECT_STREQ("ERR usage: rekey <connection> [ike|child] | --ike <id> | --child <id>\n",
		     run("rekey gw esp"));
	EXPECT_STREQ("ERR usage: rekey <connection> [ike|child] | --ike <id> | --child <id>\n",
		     run("rekey --ike x"));
	EXPECT_STREQ("ERR usage: terminate <connection> | --ike <id> | --child <id>\n",
		     run("terminate --sa 3"));
	EXPECT_STREQ("ERR usage: terminate <connection> | --ike <id> | --child <id>\n",
		     run("terminate --child"));
	EXPECT_STREQ("ERR usage: loglevel [error|warning|info|debug] [SUBSYSTEM=LEVEL ...] (subsystems: ike, cfg, net, tcp, kernel, crypto): 'loud': expected error, warning, info or debug first, then SUBSYSTEM=LEVEL (subsystems: ike, cfg, net, tcp, kernel, crypto)\n",
		     run("loglevel loud"));
	EXPECT_NE(NULL, strstr(run("loglevel tpc=debug"), "unknown subsystem 'tpc' (expected ike, cfg, net, tcp, kernel or crypto)"));
	EXPECT_NE(NULL, strstr(run("loglevel tcp=loud"), "unknown level 'loud'"));
	EXPECT_STREQ("ERR usage: status [--json] [<connection>]\n", run("status --xml"));
	EXPECT_STREQ("ERR usage: status [--json] [<connection>]\n", run("status a b"));
	EXPECT_STREQ("ERR usage: list-conns [--json]\n", run("list-conns gw"));
	EXPECT_STREQ("ERR invalid characters in request\n", run("initiate g;w"));
	EXPECT_STREQ("ERR too many arguments\n", run("a b c d e f g h i"));
	EXPECT_STREQ("", last);	/* nothing reached the ops */
}

/* In a forked client: req over the socket at path; exits 0 when the whole
 * reply is want, 1 when not, 2 when it cannot ask. */
static void __attribute__((noreturn)) ask_and_exit(const char *path, const char *req,
						   const char *want)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char b[128] = { 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n, got = 0;

	strcpy(sun.sun_path, path);
	if (connect(fd, (void *)&sun, sizeof(sun)) ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		_exit(2);
	while ((n = read(fd, b + got, sizeof(b) - 1 - (size_t)got)) > 0)
		got += n;
	_exit(strcmp(b, want) ? 1 : 0);
}

/* The loop runs (2 s at most) until the child pid exits, then it is
 * waited for; waitpid's result. */
static pid_t loop_until_exit(struct loop *l, pid_t pid, int *status)
{
	pid_t r = 0;

	for (int i = 0; i < 100 && r == 0; i++) {
		loop_once(l, 20);
		r = waitpid(pid, status, WNOHANG);
	}
	return r ? r : waitpid(pid, status, 0);
}

TEST(socket_roundtrip_and_mode)
{
	char dir[] = "/tmp/tcpike-ctl-XXXXXX", path[128];
	struct loop *l = loop_new();
	struct control *c;
	struct stat st;
	pid_t pid;
	int status;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	c = control_open(l, path, (long)getuid(), &fake, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		ask_and_exit(path, "status\n", "OK\nsas 0\n");
	ASSERT_EQ(pid, loop_until_exit(l, pid, &status));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	control_close(c);
	EXPECT_NE(0, access(path, F_OK));	/* removed on close */
	rmdir(dir);
	loop_free(l);
}

/* A client that is not root (nor the allowed uid) is refused by
 * SO_PEERCRED even when the file mode would let it connect. */
TEST(non_root_refused)
{
	char dir[] = "/tmp/tcpike-ctl-XXXXXX", path[128];
	struct loop *l;
	struct control *c;
	pid_t pid;
	int status;

	if (getuid() != 0)
		SKIP(return, "needs root to switch to an unprivileged uid");
	l = loop_new();
	ASSERT_NE(NULL, mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	c = control_open(l, path, -1, &fake, NULL);
	ASSERT_NE(NULL, c);
	chmod(path, 0666);	/* only the credential check stands in the way */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		ask_and_exit(path, "reload\n", "ERR permission denied: tcpikectl must run as root\n");
	}
	last[0] = 0;
	ASSERT_EQ(pid, loop_until_exit(l, pid, &status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("", last);	/* reload never ran */
	control_close(c);
	rmdir(dir);
	loop_free(l);
}

/* Twenty idle clients connect, one at a time; then: each of the four
 * oldest was closed to make room (EOF), the other sixteen are open. */
static void twenty_idle_four_closed(struct __test_metadata *_metadata, struct loop *l,
				    const struct sockaddr_un *sun)
{
	int fd[20];
	char b;

	for (int i = 0; i < 20; i++) {
		fd[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(fd[i], (const void *)sun, sizeof(*sun)));
		loop_once(l, 20);
	}
	for (int i = 0; i < 10; i++)
		loop_once(l, 10);
	for (int i = 0; i < 20; i++)
		EXPECT_EQ(i < 4 ? 0 : -1, (int)recv(fd[i], &b, 1, MSG_DONTWAIT));
	for (int i = 0; i < 20; i++)
		close(fd[i]);
}

/* A live daemon's socket is not taken over; a stale file (its daemon
 * killed) is.  More clients than 16 at once: the oldest is closed. */
TEST(live_socket_kept_stale_taken_clients_capped)
{
	char dir[] = "/tmp/tcpike-ctl-XXXXXX", path[128];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct loop *l = loop_new();
	struct control *c, *c2;
	struct stat st0, st1;
	int stale;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	strcpy(sun.sun_path, path);
	EXPECT_EQ(0, control_in_use(path));	/* no file */
	c = control_open(l, path, (long)getuid(), &fake, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, stat(path, &st0));
	EXPECT_EQ(-EADDRINUSE, control_in_use(path));
	c2 = control_open(l, path, (long)getuid(), &fake, NULL);
	EXPECT_EQ(NULL, c2);
	ASSERT_EQ(0, stat(path, &st1));
	EXPECT_EQ(st0.st_ino, st1.st_ino);	/* the live one's file */

	twenty_idle_four_closed(_metadata, l, &sun);
	control_close(c);

	/* A socket file with nobody listening: stale, taken over. */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, bind(stale, (void *)&sun, sizeof(sun)));
	close(stale);
	EXPECT_EQ(0, control_in_use(path));
	c = control_open(l, path, (long)getuid(), &fake, NULL);
	EXPECT_NE(NULL, c);
	control_close(c);
	rmdir(dir);
	loop_free(l);
}

/* Runs req against a control socket in a child process; the child's whole
 * reply comes back through a pipe.  step() drives the daemon's side. */
static char *stream_run(struct __test_metadata *_metadata, const char *req,
			void (*step)(struct loop *l, int i), bool hangup)
{
	static char got[4096];
	char dir[] = "/tmp/tcpike-ctl-XXXXXX", path[128];
	struct loop *l = loop_new();
	struct control *c;
	int pfd[2], status;
	pid_t pid, r = 0;
	ssize_t n, len = 0;

	got[0] = 0;
	if (!mkdtemp(dir) || pipe(pfd))
		return got;
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	c = control_open(l, path, (long)getuid(), &fake, NULL);
	if (!c)
		return got;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		char b[4096];
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t k, all = 0;

		close(pfd[0]);
		strcpy(sun.sun_path, path);
		if (connect(fd, (void *)&sun, sizeof(sun)) ||
		    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
			_exit(2);
		while ((k = read(fd, b + all, sizeof(b) - 1 - (size_t)all)) > 0) {
			all += k;
			if (hangup && memchr(b, '\n', (size_t)all))
				break;	/* the status line, then away */
		}
		if (write(pfd[1], b, (size_t)all) != all)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	for (int i = 0; i < 500 && r == 0; i++) {
		loop_once(l, 10);
		if (step)
			step(l, i);
		r = waitpid(pid, &status, WNOHANG);
	}
	for (int i = 0; i < 10; i++)
		loop_once(l, 10);	/* the hangup reaches the daemon side */
	if (r == 0) {
		control_close(c);	/* stuck: the client sees EOF */
		c = NULL;
		r = waitpid(pid, &status, 0);
	}
	while ((n = read(pfd[0], got + len, sizeof(got) - 1 - (size_t)len)) > 0)
		len += n;
	got[len] = 0;
	close(pfd[0]);
	EXPECT_EQ(pid, r);
	if (c)
		control_close(c);
	rmdir(dir);
	loop_free(l);
	return got;
}

static void step_ok(struct loop *l, int i)
{
	if (i >= 5 && held) {
		log_info("gw[1]: IKE SA established");
		log_info("other[2]: IKE SA established");	/* not gw's */
		log_info("connection gw: a line naming it");
		ctl_stream_end(held, true, "gw[1] established, Child SA net{1}");
		held = NULL;
	}
}

static void step_fail(struct loop *l, int i)
{
	if (i >= 5 && held) {
		log_warn("gw[1]: IKE SA deleted: peer did not answer");
		ctl_stream_end(held, false, "no IKE SA of gw left");
		held = NULL;
	}
}

/* A client waiting for an initiate's result is not one of the 16 idle
 * clients a newcomer displaces: twenty idle ones after it close the four
 * oldest idle ones, and the waiting one keeps its connection. */
TEST(held_client_not_displaced)
{
	char dir[] = "/tmp/tcpike-ctl-XXXXXX", path[128], b[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct loop *l = loop_new();
	struct control *c;
	int w;
	ssize_t n;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	strcpy(sun.sun_path, path);
	c = control_open(l, path, (long)getuid(), &fake, NULL);
	ASSERT_NE(NULL, c);
	held = NULL;
	w = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(w, (void *)&sun, sizeof(sun)));
	ASSERT_EQ(20, (int)write(w, "initiate gw --wait\n", 20));
	for (int i = 0; i < 50 && !held; i++)
		loop_once(l, 10);
	ASSERT_NE(NULL, held);
	twenty_idle_four_closed(_metadata, l, &sun);
	/* the waiting client: its OK and log lines, no EOF */
	n = recv(w, b, sizeof(b), MSG_DONTWAIT);
	EXPECT_LT(0, (int)n);
	EXPECT_EQ(-1, (int)recv(w, b, sizeof(b), MSG_DONTWAIT));
	EXPECT_NE(NULL, held);
	close(w);
	for (int i = 0; i < 10; i++)
		loop_once(l, 10);
	EXPECT_EQ(NULL, held);	/* its going away cancelled the wait */
	control_close(c);
	rmdir(dir);
	loop_free(l);
}

/* initiate --wait: OK, the connection's lines (those logged before the
 * OK too), then the result; the client is closed after it. */
TEST(initiate_wait_streams_lines_and_result)
{
	EXPECT_STREQ("OK\ngw[1]: IKE_SA_INIT sent\n"
		     "log: gw[1]: initiating to gw\n"
		     "log: gw[1]: IKE SA established\n"
		     "log: connection gw: a line naming it\n"
		     "result: ok gw[1] established, Child SA net{1}\n",
		     stream_run(_metadata, "initiate gw --wait\n", step_ok, false));
	EXPECT_STREQ("OK\ngw[1]: IKE_SA_INIT sent\n"
		     "log: gw[1]: initiating to gw\n"
		     "log: gw[1]: IKE SA deleted: peer did not answer\n"
		     "result: failed no IKE SA of gw left: last: gw[1]: IKE SA deleted: peer did not answer\n",
		     stream_run(_metadata, "initiate gw --wait\n", step_fail, false));
	/* an error is the ERR line alone, nothing held */
	EXPECT_STREQ("ERR no connection named gx\n",
		     stream_run(_metadata, "initiate gx --wait\n", NULL, false));
	EXPECT_EQ(NULL, held);
}

/* A client that goes away while held: the op hears of it (cancel). */
TEST(initiate_wait_client_gone)
{
	last[0] = 0;
	EXPECT_EQ(0, strncmp("OK\n", stream_run(_metadata, "initiate gw --wait\n", NULL, true), 3));
	EXPECT_STREQ("cancel gw", last);
	EXPECT_EQ(NULL, held);
}

TEST_HARNESS_MAIN
