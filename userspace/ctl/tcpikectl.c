// SPDX-License-Identifier: GPL-2.0
/*
 * tcpikectl: send one command to tcpiked's control socket and print the
 * reply (protocol in userspace/daemon/control.h).
 *
 * Exit codes: 0 OK, 1 the daemon refused or failed the command (initiate:
 * the connection did not come up), 2 usage error, 3 cannot reach the
 * daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#ifndef TCPIKE_VERSION
#define TCPIKE_VERSION "unknown"
#endif

#define MAX_REQ		1024
#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_NO_DAEMON	3

/* initiate: how long to wait for the result at most, so a script never
 * hangs; above the daemon's default give-up time for a silent peer
 * (retransmit_base 1 s, factor 2, 5 retransmits: 63 s) */
#define INITIATE_TIMEOUT_S	120
#define STR_(x)			#x
#define STR(x)			STR_(x)
#define INITIATE_TIMEOUT_STR	STR(INITIATE_TIMEOUT_S) " s"

struct cmd {
	const char *name, *args, *help;
};

static const struct cmd cmds[] = {
	{ "status", "[--json] [<connection>] [--get <path>]...",
	  "Daemon, IKE SA, Child SA and transport status, of every connection or one.\n"
	  "  --json          the status as JSON\n"
	  "  --get <path>    print one value of the JSON status: keys and array indexes\n"
	  "                  separated by dots, '#' for the number of elements, e.g.\n"
	  "                  ike_sas.0.state, ike_sas.#, counters.ike_failed,\n"
	  "                  ike_sas.0.children.0.spi_in; repeatable, one line each;\n"
	  "                  exit 1 when a path is not in the status" },
	{ "list-conns", "[--json] [--get <path>]...",
	  "The configured connections: addresses, transport, IKE proposals, both ends'\n"
	  "authentication and identities, and each child's selectors and ESP proposals.\n"
	  "  --json, --get   as for status (the JSON is an array of connections)" },
	{ "initiate", "<connection> [--timeout <seconds> | --no-wait]",
	  "Bring a connection up and wait for the result, printing the connection's log\n"
	  "lines meanwhile: exit 0 once its IKE SA is established with a Child SA, 1 with\n"
	  "the reason when it failed (e.g. no response from the peer).\n"
	  "  --timeout <s>      give up waiting after s seconds (default " INITIATE_TIMEOUT_STR ";\n"
	  "                     exit 1, the daemon goes on)\n"
	  "  --no-wait          return once the IKE_SA_INIT is sent\n"
	  "  --wait             accepted for compatibility: waiting is the default" },
	{ "terminate", "<connection> | --ike <id> | --child <id>",
	  "Delete a connection's IKE SAs, or one IKE SA or Child SA by the id status\n"
	  "shows (conn[3] is IKE SA 3; a Child SA's line ends with its id, \"id 7\")." },
	{ "rekey", "<connection> [ike|child] | --ike <id> | --child <id>",
	  "Rekey a connection's IKE SA (default) or its Child SAs, or one SA by id." },
	{ "reload", "",
	  "Read the configuration again.  SAs of unchanged connections stay; changes of\n"
	  "dpd_delay, dpd_timeout, rekey_time and the retransmission keys apply to them;\n"
	  "SAs of other changed connections are deleted.  Warnings go to stderr." },
	{ "loglevel", "[error|warning|info|debug] [<subsystem>=<level>]...",
	  "Set the log level of all subsystems, and/or of single ones (ike, cfg, net,\n"
	  "tcp, kernel, crypto), e.g. \"loglevel info tcp=debug\"; without arguments,\n"
	  "print the levels." },
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpikectl [-s <socket>] <command> [<args>]\n"
		"       tcpikectl --help | --version | <command> --help\n"
		"commands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "options:\n"
		"  -s <socket>   control socket (default " CFG_CONTROL_SOCKET ")\n"
		"  -h, --help    this help; <command> --help: the command's\n"
		"  --version     the version\n"
		"exit: 0 done, 1 refused or failed, 2 usage error, 3 no daemon\n");
}

static void cmd_help(const struct cmd *c)
{
	printf("usage: tcpikectl [-s <socket>] %s %s\n\n%s\n", c->name, c->args, c->help);
}

static int usage_err(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_err(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcpikectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c)
		fprintf(stderr, "\nusage: tcpikectl %s %s\n", c->name, c->args);
	else
		fprintf(stderr, "\n(tcpikectl --help lists the commands)\n");
	return EXIT_USAGE;
}

/* --- the request ---------------------------------------------------------------- */

struct req {
	const struct cmd *cmd;
	char line[MAX_REQ + 2];
	size_t len;
	const char *gets[16];
	int n_gets;
	bool json, no_wait;
	double timeout;
};

static bool add_word(struct req *r, const char *w)
{
	size_t n = strlen(w);

	if (!n || strpbrk(w, " \n\r") || r->len + n + 2 > MAX_REQ)
		return false;
	if (r->len)
		r->line[r->len++] = ' ';
	memcpy(r->line + r->len, w, n);
	r->len += n;
	r->line[r->len] = 0;
	return true;
}

static bool is_id(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The words after the command name, checked as the daemon would, so a
 * usage error needs no daemon; 0 or an exit code. */
static int build(struct req *r, int argc, char **argv)
{
	const struct cmd *c = r->cmd;
	const char *pos[4];
	int npos = 0;

	add_word(r, c->name);
	if (!strcmp(c->name, "loglevel")) {
		/* level words are checked by the daemon ("ERR usage: ...") */
		for (int i = 0; i < argc; i++) {
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				cmd_help(c);
				return -1;
			}
			if (argv[i][0] == '-' || !add_word(r, argv[i]))
				return usage_err(c, "invalid argument '%s'", argv[i]);
		}
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cmd_help(c);
			return -1;
		}
		if (!strcmp(a, "--json") && (!strcmp(c->name, "status") || !strcmp(c->name, "list-conns"))) {
			r->json = true;
		} else if (!strcmp(a, "--get") && (!strcmp(c->name, "status") || !strcmp(c->name, "list-conns"))) {
			if (i + 1 == argc || r->n_gets == 16)
				return usage_err(c, "--get needs a path");
			r->gets[r->n_gets++] = argv[++i];
		} else if (!strcmp(a, "--wait") && !strcmp(c->name, "initiate")) {
			/* the default; kept for scripts written when it was not */
		} else if (!strcmp(a, "--no-wait") && !strcmp(c->name, "initiate")) {
			r->no_wait = true;
		} else if (!strcmp(a, "--timeout") && !strcmp(c->name, "initiate")) {
			char *end;

			if (i + 1 == argc || (r->timeout = strtod(argv[++i], &end)) <= 0 || *end)
				return usage_err(c, "--timeout needs a number of seconds");
		} else if ((!strcmp(a, "--ike") || !strcmp(a, "--child")) &&
			   (!strcmp(c->name, "terminate") || !strcmp(c->name, "rekey"))) {
			if (npos || i + 1 == argc || !is_id(argv[i + 1]))
				return usage_err(c, "%s needs the numeric id status shows", a);
			pos[npos++] = a;
			pos[npos++] = argv[++i];
		} else if (a[0] == '-') {
			return usage_err(c, "unknown option '%s'", a);
		} else if (npos == 4) {
			return usage_err(c, "too many arguments");
		} else {
			pos[npos++] = a;
		}
	}
	if (r->n_gets)
		r->json = true;
	if (r->no_wait && r->timeout > 0)
		return usage_err(c, "--timeout is how long to wait: not with --no-wait");
	if (!strcmp(c->name, "initiate") && !r->no_wait && !(r->timeout > 0))
		r->timeout = INITIATE_TIMEOUT_S;
	if ((!strcmp(c->name, "status") && npos > 1) ||
	    (!strcmp(c->name, "list-conns") && npos) ||
	    (!strcmp(c->name, "initiate") && npos != 1) ||
	    (!strcmp(c->name, "terminate") && npos != 1 && !(npos == 2 && pos[0][0] == '-')) ||
	    (!strcmp(c->name, "rekey") && (npos < 1 || npos > 2 ||
	     (npos == 2 && pos[0][0] != '-' && strcmp(pos[1], "ike") && strcmp(pos[1], "child")))) ||
	    (!strcmp(c->name, "reload") && npos))
		return usage_err(c, "wrong arguments");
	for (int i = 0; i < npos; i++)
		if (!add_word(r, pos[i]))
			return usage_err(c, "invalid argument '%s'", pos[i]);
	if (r->json)
		add_word(r, "--json");
	if (!strcmp(c->name, "initiate") && !r->no_wait)
		add_word(r, "--wait");
	return 0;
}

/* --- JSON paths (status --get) ------------------------------------------------------ */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* The end of the JSON value at p, or NULL. */
static const char *skip(const char *p)
{
	p = ws(p);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = skip(p);	/* the key */
				if (!p || *(p = ws(p)) != ':')
					return NULL;
				p++;
			}
			p = skip(p);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p++;
		}
	}
	p += strcspn(p, ",]} \n\t\r");
	return p;
}

/* The element named seg of the object or array at p (or the count for
 * "#", written to count); NULL when absent. */
static const char *member(const char *p, const char *seg, size_t sl, long *count)
{
	bool obj;
	long i = 0, want = -1;

	p = ws(p);
	if (*p != '{' && *p != '[')
		return NULL;
	obj = *p == '{';
	if (!obj && !(sl == 1 && *seg == '#')) {
		char *end;

		want = strtol(seg, &end, 10);
		if (end != seg + sl || want < 0)
			return NULL;
	}
	p = ws(p + 1);
	if (*p == (obj ? '}' : ']'))
		goto end;
	for (;; i++) {
		const char *key = NULL, *val;

		if (obj) {
			key = ws(p) + 1;
			p = skip(p);
			if (!p || *(p = ws(p)) != ':')
				return NULL;
			p++;
		}
		val = ws(p);
		if (obj ? (size_t)(strchr(key, '"') - key) == sl && !strncmp(key, seg, sl) : i == want)
			return val;
		p = skip(val);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p != ',')
			break;
		p++;
	}
	i++;
end:
	if (sl == 1 && *seg == '#') {
		*count = i;
		return "";
	}
	return NULL;
}

/* Prints the value at path in the JSON text: strings unquoted, the rest
 * as JSON.  false when the path is not there. */
static bool print_path(const char *json, const char *path)
{
	const char *p = json, *end;
	long count = -1;

	while (*path) {
		size_t sl = strcspn(path, ".");

		p = member(p, path, sl, &count);
		if (!p)
			return false;
		if (count >= 0) {
			if (path[sl])
				return false;
			printf("%ld\n", count);
			return true;
		}
		path += sl + (path[sl] == '.');
	}
	p = ws(p);
	end = skip(p);
	if (!end)
		return false;
	if (*p != '"') {
		printf("%.*s\n", (int)(end - p), p);
		return true;
	}
	for (p++; p < end - 1; p++) {
		if (*p == '\\' && p + 1 < end - 1) {
			p++;
			putchar(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'u' ? '?' : *p);
			if (*p == 'u')
				p += 4;
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
	return true;
}

/* --- the daemon --------------------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tcpikectl: socket path too long: %s\n", path);
		return -EXIT_USAGE;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "permission denied: tcpikectl must run as root\n");
		else
			fprintf(stderr, "cannot connect to %s: %s (is tcpiked running?)\n",
				path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EXIT_NO_DAEMON;
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct reply {
	char *data;
	size_t len, cap;
	bool status_done, ok, usage;
	size_t body;		/* where the body starts */
	size_t shown;		/* initiate: lines handled so far */
	int result;		/* initiate: -1 none, 0 ok, 1 failed */
};

/* initiate (waiting): "log: " lines printed as they come, then the result. */
static void stream_lines(struct reply *rp)
{
	char *nl;

	while ((nl = memchr(rp->data + rp->shown, '\n', rp->len - rp->shown))) {
		char *l = rp->data + rp->shown;
		size_t n = (size_t)(nl - l);

		if (n >= 5 && !strncmp(l, "log: ", 5)) {
			printf("%.*s\n", (int)n - 5, l + 5);
		} else if (n >= 11 && !strncmp(l, "result: ok ", 11)) {
			printf("%.*s\n", (int)n - 11, l + 11);
			rp->result = 0;
		} else if (n >= 15 && !strncmp(l, "result: failed ", 15)) {
			fprintf(stderr, "tcpikectl: initiate failed: %.*s\n", (int)n - 15, l + 15);
			rp->result = 1;
		} else {
			printf("%.*s\n", (int)n, l);
		}
		fflush(stdout);
		rp->shown += n + 1;
	}
}

/* The status line once it is complete: false when it is malformed. */
static bool status_line(struct reply *rp)
{
	char *nl = memchr(rp->data, '\n', rp->len);

	if (rp->status_done || !nl)
		return true;
	*nl = 0;
	rp->status_done = true;
	rp->body = rp->shown = (size_t)(nl - rp->data) + 1;
	if (!strcmp(rp->data, "OK")) {
		rp->ok = true;
	} else if (!strncmp(rp->data, "ERR ", 4)) {
		fprintf(stderr, "tcpikectl: %s\n", rp->data + 4);
		rp->usage = !strncmp(rp->data + 4, "usage:", 6);
	} else {
		return false;
	}
	return true;
}

static int run(const char *sock, struct req *r)
{
	struct reply rp = { .result = -1 };
	bool streaming = !strcmp(r->cmd->name, "initiate") && !r->no_wait;
	double deadline = r->timeout > 0 ? now_s() + r->timeout : 0;
	int fd = connect_to(sock), rc = 0;

	if (fd < 0)
		return -fd;
	r->line[r->len++] = '\n';
	for (size_t off = 0; off < r->len;) {
		ssize_t w = write(fd, r->line + off, r->len - off);

		if (w <= 0) {
			fprintf(stderr, "tcpikectl: write to %s: %s\n", sock, strerror(errno));
			close(fd);
			return EXIT_NO_DAEMON;
		}
		off += (size_t)w;
	}
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int wait_ms = deadline ? (int)((deadline - now_s()) * 1000) : -1;
		ssize_t n;

		if (deadline && wait_ms <= 0) {
			fprintf(stderr, "tcpikectl: no result within %g s (the daemon goes on)\n",
				r->timeout);
			rc = EXIT_REFUSED;
			break;
		}
		if (poll(&pf, 1, wait_ms) < 0 && errno != EINTR)
			break;
		if (rp.len + 4096 + 1 > rp.cap) {
			char *d = realloc(rp.data, rp.cap = rp.cap * 2 + 8192);

			if (!d)
				break;
			rp.data = d;
		}
		n = read(fd, rp.data + rp.len, rp.cap - rp.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rp.len += (size_t)n;
		rp.data[rp.len] = 0;
		if (!status_line(&rp)) {
			fprintf(stderr, "tcpikectl: malformed reply from the daemon\n");
			rc = EXIT_NO_DAEMON;
			break;
		}
		if (rp.status_done && rp.ok && streaming)
			stream_lines(&rp);
	}
	close(fd);
	if (!rc && !rp.status_done) {
		fprintf(stderr, "tcpikectl: %s\n", rp.len ? "malformed reply from the daemon" :
			"the daemon closed the connection without a reply");
		rc = EXIT_NO_DAEMON;
	} else if (!rc && !rp.ok) {
		rc = rp.usage ? EXIT_USAGE : EXIT_REFUSED;
	} else if (!rc && streaming) {
		stream_lines(&rp);
		if (rp.result < 0)
			fprintf(stderr, "tcpikectl: the daemon closed the connection before the result\n");
		rc = rp.result ? EXIT_REFUSED : 0;
	} else if (!rc && r->n_gets) {
		for (int i = 0; i < r->n_gets; i++)
			if (!print_path(rp.data + rp.body, r->gets[i])) {
				fprintf(stderr, "tcpikectl: no '%s' in the %s\n", r->gets[i],
					r->cmd->name);
				rc = EXIT_REFUSED;
			}
	} else if (!rc) {
		/* reload: the daemon's warnings on stderr */
		for (char *l = rp.data + rp.body; *l;) {
			size_t n = strcspn(l, "\n");

			fprintf(!strncmp(l, "warning: ", 9) ? stderr : stdout, "%.*s\n", (int)n, l);
			l += n + (l[n] == '\n');
		}
	}
	free(rp.data);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = CFG_CONTROL_SOCKET;
	struct req r = { 0 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+s:S:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'S':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tcpikectl %s\n", TCPIKE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		for (size_t i = 0; optind + 1 < argc && i < N_CMDS; i++)
			if (!strcmp(argv[optind + 1], cmds[i].name)) {
				cmd_help(&cmds[i]);
				return 0;
			}
		usage(optind + 1 < argc ? stderr : stdout);
		return optind + 1 < argc ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < N_CMDS; i++)
		if (!strcmp(argv[optind], cmds[i].name))
			r.cmd = &cmds[i];
	if (!r.cmd)
		return usage_err(NULL, "unknown command '%s'", argv[optind]);
	rc = build(&r, argc - optind - 1, argv + optind + 1);
	if (rc)
		return rc < 0 ? 0 : rc;
	return run(sock, &r);
}
