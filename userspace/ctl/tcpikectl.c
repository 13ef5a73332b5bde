// SPDX-License-Identifier: GPL-2.0
/*
 * tcpikectl: send one command to tcpiked's control socket and print the
 * reply (protocol in userspace/daemon/control.h).
 *
 * Exit codes: 0 OK, 1 the daemon refused or failed the command,
 * 2 usage error, 3 cannot reach the daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET	"/run/tcpiked/tcpiked.sock"
#define MAX_REQ		1024

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcpikectl [-s socket] <command> [args]\n"
		"commands:\n"
		"  status [--json]              daemon, SA and transport status\n"
		"  list-conns [--json]          configured connections\n"
		"  initiate <conn>              bring a connection up\n"
		"  terminate <conn>             take a connection down\n"
		"  rekey <conn> [ike|child]     rekey the IKE SA (default) or Child SAs\n"
		"  reload                       re-read the configuration\n"
		"  loglevel <error|warning|info|debug>\n"
		"options:\n"
		"  -s socket   control socket (default " DEFAULT_SOCKET ")\n"
		"  -h          this help\n");
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[MAX_REQ + 2], buf[4096];
	size_t len = 0, got = 0;
	bool first = true, ok = false;
	int opt, fd;

	while ((opt = getopt(argc, argv, "+s:S:h")) != -1) {
		switch (opt) {
		case 's':
		case 'S':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (!n || strpbrk(argv[i], " \n\r") || len + n + 1 > MAX_REQ) {
			fprintf(stderr, "tcpikectl: invalid argument '%s'\n", argv[i]);
			return 2;
		}
		if (len)
			req[len++] = ' ';
		memcpy(req + len, argv[i], n);
		len += n;
	}
	req[len++] = '\n';

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tcpikectl: socket path too long: %s\n", path);
		return 2;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "permission denied: tcpikectl must run as root\n");
		else
			fprintf(stderr, "cannot connect to %s: %s (is tcpiked running?)\n",
				path, strerror(errno));
		return 3;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, req + off, len - off);

		if (w <= 0) {
			fprintf(stderr, "tcpikectl: write to %s: %s\n", path,
				strerror(errno));
			return 3;
		}
		off += (size_t)w;
	}
	/* Status line first ("OK" or "ERR <sentence>"), then the body. */
	char line[512];
	size_t ll = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		size_t i = 0;

		while (first && i < (size_t)n) {
			char ch = buf[i++];

			if (ch == '\n') {
				line[ll] = 0;
				first = false;
				if (!strcmp(line, "OK")) {
					ok = true;
				} else if (!strncmp(line, "ERR ", 4)) {
					fprintf(stderr, "tcpikectl: %s\n", line + 4);
				} else {
					fprintf(stderr, "tcpikectl: malformed reply from the daemon\n");
					return 3;
				}
			} else if (ll < sizeof(line) - 1) {
				line[ll++] = ch;
			}
		}
		if (!first && i < (size_t)n)
			fwrite(buf + i, 1, (size_t)n - i, ok ? stdout : stderr);
	}
	close(fd);
	if (first) {
		fprintf(stderr, "tcpikectl: %s\n", got ? "malformed reply from the daemon" :
			"the daemon closed the connection without a reply");
		return 3;
	}
	return ok ? 0 : 1;
}
