// SPDX-License-Identifier: GPL-2.0
/*
 * espintcp_conn: one end of an RFC 9329 TCP connection for ESP in TCP, as
 * the daemon holds it, for the VM tests.
 *
 *   espintcp_conn [-n] listen LOCAL PORT READYFILE
 *   espintcp_conn [-n] connect LOCAL LPORT PEER PORT READYFILE
 *
 * The originator (connect) binds LOCAL:LPORT, connects to PEER:PORT and
 * sends the "IKETCP" stream prefix (RFC 9329 §4); the responder (listen)
 * accepts one connection and reads the prefix.  Then each end sets the
 * "espintcp" TCP ULP (unless -n: a plain connection, for the refusal
 * tests), checks it took, writes "LOCALPORT PEERPORT" to READYFILE and
 * keeps the connection open until it is killed.  The prefix is read
 * before the ULP is set because espintcp parses every byte after it as
 * length-prefixed ESP or IKE messages.
 *
 * Exit status: 1 on any failure, with a sentence on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static const char prefix[6] = { 'I', 'K', 'E', 'T', 'C', 'P' };

static void die(const char *what)
{
	fprintf(stderr, "espintcp_conn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: espintcp_conn [-n] listen LOCAL PORT READYFILE\n"
			"       espintcp_conn [-n] connect LOCAL LPORT PEER PORT READYFILE\n");
	exit(2);
}

static socklen_t sockaddr_of(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*end || p > 65535)
		usage();
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		return sizeof(*s6);
	}
	usage();
	return 0;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
			((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int tcp_socket(const struct sockaddr_storage *local, socklen_t len)
{
	int one = 1, fd = socket(local->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	if (bind(fd, (const struct sockaddr *)local, len))
		die("bind");
	return fd;
}

static void read_prefix(int fd)
{
	char got[sizeof(prefix)];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(got)) {
		r = recv(fd, got + n, sizeof(got) - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!r)
				errno = ECONNRESET;
			die("reading the IKETCP prefix");
		}
		n += (size_t)r;
	}
	if (memcmp(got, prefix, sizeof(prefix))) {
		fprintf(stderr, "espintcp_conn: the stream does not start with \"IKETCP\"\n");
		exit(1);
	}
}

static void set_ulp(int fd)
{
	char name[16] = { 0 };
	socklen_t len = sizeof(name);

	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "espintcp", sizeof("espintcp")))
		die("setting TCP_ULP espintcp");
	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, name, &len))
		die("reading TCP_ULP");
	if (strcmp(name, "espintcp")) {
		fprintf(stderr, "espintcp_conn: TCP_ULP reads \"%s\", not espintcp\n", name);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage local, peer, a, b;
	socklen_t llen, plen, alen = sizeof(a), blen = sizeof(b);
	const char *ready;
	char tmp[4096];
	int fd, lfd, ulp = 1;
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		ulp = 0;
		argv++;
		argc--;
	}
	if (argc == 5 && !strcmp(argv[1], "listen")) {
		llen = sockaddr_of(argv[2], argv[3], &local);
		ready = argv[4];
		lfd = tcp_socket(&local, llen);
		if (listen(lfd, 1))
			die("listen");
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		close(lfd);
		read_prefix(fd);
	} else if (argc == 7 && !strcmp(argv[1], "connect")) {
		llen = sockaddr_of(argv[2], argv[3], &local);
		plen = sockaddr_of(argv[4], argv[5], &peer);
		ready = argv[6];
		if (local.ss_family != peer.ss_family)
			usage();
		fd = tcp_socket(&local, llen);
		if (connect(fd, (struct sockaddr *)&peer, plen))
			die("connect");
		if (send(fd, prefix, sizeof(prefix), 0) != (ssize_t)sizeof(prefix))
			die("sending the IKETCP prefix");
	} else {
		usage();
		return 2;
	}
	if (ulp)
		set_ulp(fd);
	if (getsockname(fd, (struct sockaddr *)&a, &alen) ||
	    getpeername(fd, (struct sockaddr *)&b, &blen))
		die("reading the connection's ports");
	/* Written whole, then renamed: a reader never sees half of it. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", ready) >= (int)sizeof(tmp))
		usage();
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%u %u\n", port_of(&a), port_of(&b)) < 0 || fclose(f) ||
	    rename(tmp, ready))
		die("writing the ready file");
	/* The connection stays until the test kills us. */
	for (;;)
		pause();
}
