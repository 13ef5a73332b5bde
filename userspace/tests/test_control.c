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
#include "loop.h"
#include "kselftest_harness.h"

static char last[128];

static int put(struct buf *out, const char *s)
{
	return buf_append(out, s, strlen(s));
}

static int f_status(void *ctx, bool json, struct buf *out)
{
	snprintf(last, sizeof(last), "status json=%d", json);
	return put(out, json ? "{\"sas\":0}\n" : "sas 0\n");
}

static int f_list(void *ctx, bool json, struct buf *out)
{
	snprintf(last, sizeof(last), "list json=%d", json);
	return put(out, "gw\n");
}

static int f_initiate(void *ctx, const char *conn, struct buf *out)
{
	snprintf(last, sizeof(last), "initiate %s", conn);
	if (strcmp(conn, "gw")) {
		put(out, "no connection named ");
		put(out, conn);
		return -ENOENT;
	}
	return 0;
}

static int f_terminate(void *ctx, const char *conn, struct buf *out)
{
	snprintf(last, sizeof(last), "terminate %s", conn);
	return 0;
}

static int f_rekey(void *ctx, const char *conn, bool child, struct buf *out)
{
	snprintf(last, sizeof(last), "rekey %s child=%d", conn, child);
	return 0;
}

static int f_reload(void *ctx, struct buf *out)
{
	snprintf(last, sizeof(last), "reload");
	return put(out, "1 connection unchanged\n");
}

static int f_loglevel(void *ctx, const char *level, struct buf *out)
{
	snprintf(last, sizeof(last), "loglevel %s", level);
	return 0;
}

static const struct control_ops fake = {
	f_status, f_list, f_initiate, f_terminate, f_rekey, f_reload, f_loglevel,
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

TEST(dispatch_commands)
{
	EXPECT_STREQ("OK\nsas 0\n", run("status"));
	EXPECT_STREQ("status json=0", last);
	EXPECT_STREQ("OK\n{\"sas\":0}\n", run("status --json"));
	EXPECT_STREQ("OK\ngw\n", run("list-conns"));
	EXPECT_STREQ("OK\n", run("initiate gw"));
	EXPECT_STREQ("initiate gw", last);
	EXPECT_STREQ("ERR no connection named nope\n", run("initiate nope"));
	EXPECT_STREQ("OK\n", run("terminate gw"));
	EXPECT_STREQ("OK\n", run("rekey gw"));
	EXPECT_STREQ("rekey gw child=0", last);
	EXPECT_STREQ("OK\n", run("rekey gw child"));
	EXPECT_STREQ("rekey gw child=1", last);
	EXPECT_STREQ("OK\n1 connection unchanged\n", run("reload"));
	EXPECT_STREQ("OK\n", run("loglevel debug"));
	EXPECT_STREQ("loglevel debug", last);
}

TEST(dispatch_errors)
{
	EXPECT_STREQ("ERR empty request\n", run(""));
	EXPECT_STREQ("ERR unknown command 'stauts' (expected status, list-conns, initiate, terminate, rekey, reload, loglevel)\n",
		     run("stauts"));
	EXPECT_STREQ("", last);
	EXPECT_STREQ("ERR usage: initiate <connection>\n", run("initiate"));
	EXPECT_STREQ("ERR usage: rekey <connection> [ike|child]\n", run("rekey gw esp"));
	EXPECT_STREQ("ERR usage: loglevel <error|warning|info|debug>\n", run("loglevel loud"));
	EXPECT_STREQ("ERR usage: status [--json]\n", run("status --xml"));
	EXPECT_STREQ("ERR invalid characters in request\n", run("initiate g;w"));
	EXPECT_STREQ("ERR too many arguments\n", run("a b c d e"));
	EXPECT_STREQ("", last);	/* nothing reached the ops */
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
	if (pid == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		char b[64] = { 0 };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t n, got = 0;

		strcpy(sun.sun_path, path);
		if (connect(fd, (void *)&sun, sizeof(sun)) ||
		    write(fd, "status\n", 7) != 7)
			_exit(2);
		while ((n = read(fd, b + got, sizeof(b) - 1 - (size_t)got)) > 0)
			got += n;
		_exit(strcmp(b, "OK\nsas 0\n") ? 1 : 0);
	}
	pid_t r = 0;

	for (int i = 0; i < 100 && r == 0; i++) {
		loop_once(l, 20);
		r = waitpid(pid, &status, WNOHANG);
	}
	if (r == 0)
		r = waitpid(pid, &status, 0);
	ASSERT_EQ(pid, r);
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
	pid_t pid, r = 0;
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
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		char b[128] = { 0 };
		ssize_t n, got = 0;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sun.sun_path, path);
		if (connect(fd, (void *)&sun, sizeof(sun)) ||
		    write(fd, "reload\n", 7) != 7)
			_exit(2);
		while ((n = read(fd, b + got, sizeof(b) - 1 - (size_t)got)) > 0)
			got += n;
		_exit(strcmp(b, "ERR permission denied: tcpikectl must run as root\n") ? 1 : 0);
	}
	last[0] = 0;
	for (int i = 0; i < 100 && r == 0; i++) {
		loop_once(l, 20);
		r = waitpid(pid, &status, WNOHANG);
	}
	if (r == 0)
		r = waitpid(pid, &status, 0);
	ASSERT_EQ(pid, r);
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("", last);	/* reload never ran */
	control_close(c);
	rmdir(dir);
	loop_free(l);
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
	int fd[20], stale;
	char b;

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

	for (int i = 0; i < 20; i++) {
		fd[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(fd[i], (void *)&sun, sizeof(sun)));
		loop_once(l, 20);
	}
	for (int i = 0; i < 10; i++)
		loop_once(l, 10);
	/* The four oldest were closed to make room: EOF, not EAGAIN. */
	for (int i = 0; i < 20; i++)
		EXPECT_EQ(i < 4 ? 0 : -1, (int)recv(fd[i], &b, 1, MSG_DONTWAIT));
	for (int i = 0; i < 20; i++)
		close(fd[i]);
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

TEST_HARNESS_MAIN
