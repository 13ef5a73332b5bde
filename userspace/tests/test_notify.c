// SPDX-License-Identifier: GPL-2.0
/*
 * svc_notify: the sd_notify datagram reaches a path socket and an abstract
 * one ('@' prefix) byte for byte; no $NOTIFY_SOCKET is a silent 0; a
 * relative or vsock address and a socket nobody listens on are errors.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "kselftest_harness.h"

/* A datagram socket bound at name (a path, or '@' + abstract name). */
static int listener(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t recv_now(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

TEST(path_socket)
{
	char dir[] = "/tmp/test_notify.XXXXXX", path[64], got[256];
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	ASSERT_LE(0, fd);
	setenv("NOTIFY_SOCKET", path, 1);
	EXPECT_EQ(1, svc_notify("READY=1\nSTATUS=listening"));
	EXPECT_EQ(24, recv_now(fd, got, sizeof(got)));
	EXPECT_STREQ("READY=1\nSTATUS=listening", got);
	close(fd);
	/* Nobody listening any more: an error, not a hang or a crash. */
	EXPECT_EQ(-ECONNREFUSED, svc_notify("STOPPING=1"));
	unlink(path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

TEST(abstract_socket)
{
	char name[64], got[64];
	int fd;

	snprintf(name, sizeof(name), "@tcpike-test-notify-%d", (int)getpid());
	fd = listener(name);
	ASSERT_LE(0, fd);
	setenv("NOTIFY_SOCKET", name, 1);
	EXPECT_EQ(1, svc_notify("RELOADING=1"));
	EXPECT_EQ(11, recv_now(fd, got, sizeof(got)));
	EXPECT_STREQ("RELOADING=1", got);
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

TEST(no_socket_or_unsupported)
{
	unsetenv("NOTIFY_SOCKET");
	EXPECT_EQ(0, svc_notify("READY=1"));
	setenv("NOTIFY_SOCKET", "", 1);
	EXPECT_EQ(0, svc_notify("READY=1"));
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	EXPECT_EQ(-EAFNOSUPPORT, svc_notify("READY=1"));
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	EXPECT_EQ(-EAFNOSUPPORT, svc_notify("READY=1"));
	unsetenv("NOTIFY_SOCKET");
}

TEST_HARNESS_MAIN
