// SPDX-License-Identifier: GPL-2.0
/*
 * tcpiked: the IKEv2 daemon.  Reads the config, opens the kernel backend,
 * the UDP (500/4500) and TCP (RFC 9329) transports and the control socket,
 * and runs the engine from one event loop until SIGTERM/SIGINT.  SIGHUP
 * reloads the config.  Runs in the foreground; logs to stderr unless -l.
 */
#define LOG_SUBSYS LOG_SUB_CFG

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "config.h"
#include "control.h"
#include "crypto.h"
#include "engine.h"
#include "htab.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "loop.h"
#include "tcp.h"
#include "udp.h"

#ifndef TCPIKE_VERSION
#define TCPIKE_VERSION	"unknown"	/* the Makefile sets it (git describe) */
#endif

#define DEFAULT_CONFIG	"/etc/tcpiked.conf"
#define RUN_DIR		"/run/tcpiked"	/* systemd: RuntimeDirectory=tcpiked */
#define DEFAULT_SOCKET	CFG_CONTROL_SOCKET

struct daemon {
	struct loop *loop;
	struct engine *e;
	const char *config_path;
	int exit_code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcpiked [-f CONFIG] [-S SOCKET] [-b BACKEND] [-d] [-l] [-t]\n"
		"  -f CONFIG   configuration file (default " DEFAULT_CONFIG ")\n"
		"  -S SOCKET   control socket (default: daemon.control_socket or " DEFAULT_SOCKET ")\n"
		"  -b BACKEND  kernel backend: auto, module, xfrm or none (overrides the config)\n"
		"  -d          debug logging\n"
		"  -l          log to syslog instead of stderr\n"
		"  -t          check the configuration as start-up would (secrets, certificates,\n"
		"              keys, CA files) and exit: 0 when it is usable\n"
		"  -h, --help  this help\n"
		"  --version   the version\n"
		"  --config-reference[=text|mdoc]\n"
		"              every configuration key with its values, default and help\n"
		"              (mdoc: the key sections of tcpiked.conf(5))\n");
}

/* --- control ops --------------------------------------------------------------- */

static int op_status(void *ctx, const char *conn, bool json, struct buf *out)
{
	return engine_status_conn(((struct daemon *)ctx)->e, conn, json, out);
}

static int op_list(void *ctx, bool json, struct buf *out)
{
	return engine_list_conns(((struct daemon *)ctx)->e, json, out);
}

static void wait_done(void *ctx, bool ok, const char *sentence)
{
	ctl_stream_end(ctx, ok, sentence);
}

static void wait_gone(void *arg)
{
	engine_wait_cancel(arg);
}

/* initiate; with wait, the client is held until the connection is up or
 * has failed, and gets its log lines meanwhile (control.h). */
static int op_initiate(void *ctx, const char *conn, struct ctl_stream *wait, struct buf *out)
{
	struct daemon *d = ctx;
	struct engine_waiter *w = wait ? engine_wait(d->e, conn, wait_done, wait) : NULL;
	int r;

	if (w)
		ctl_stream_hold(wait, conn, wait_gone, w);
	r = engine_initiate(d->e, conn, out);
	if (r && w)
		ctl_stream_release(wait);	/* the ERR reply ends it */
	return r;
}

static int op_terminate(void *ctx, const struct ctl_target *t, struct buf *out)
{
	struct engine *e = ((struct daemon *)ctx)->e;

	if (t->kind == CTL_CONN)
		return engine_terminate(e, t->conn, out);
	return engine_terminate_id(e, t->kind == CTL_CHILD, t->id, out);
}

static int op_rekey(void *ctx, const struct ctl_target *t, bool child, struct buf *out)
{
	struct engine *e = ((struct daemon *)ctx)->e;

	if (t->kind == CTL_CONN)
		return engine_rekey(e, t->conn, child, out);
	return engine_rekey_id(e, t->kind == CTL_CHILD, t->id, out);
}

/* Each warning of a loaded configuration logged, and added to out. */
static void config_warnings(const struct config *cfg, struct buf *out)
{
	for (const char *w = cfg->warnings; w && *w;) {
		size_t n = strcspn(w, "\n");

		log_warn("%.*s", (int)n, w);
		if (out) {
			buf_append(out, "warning: ", 9);
			buf_append(out, w, n + 1);
		}
		w += n + (w[n] == '\n');
	}
}

/* The configuration at path, checked as start-up needs it, or NULL with
 * the error in err. */
static struct config *load(const char *path, struct buf *out, char *err, size_t errlen)
{
	struct config *cfg = NULL;

	if (config_load(path, &cfg, err, errlen))
		return NULL;
	config_warnings(cfg, out);
	if (config_check(cfg, err, errlen)) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static int do_reload(struct daemon *d, struct buf *out)
{
	struct buf warnings = BUF_INIT;
	struct config *cfg;
	char err[512];
	int rc;

	svc_notify("RELOADING=1");
	cfg = load(d->config_path, &warnings, err, sizeof(err));
	if (!cfg) {
		log_err("reload failed, keeping the running config: %s", err);
		if (out)
			buf_append(out, err, strlen(err));
		buf_free(&warnings);
		svc_notify("READY=1");
		return -EINVAL;
	}
	rc = engine_reload(d->e, cfg, &warnings);
	if (out)
		buf_append(out, warnings.data, warnings.len);
	buf_free(&warnings);
	svc_notify("READY=1");
	return rc;
}

static int op_reload(void *ctx, struct buf *out)
{
	return do_reload(ctx, out);
}

/* loglevel: "debug", "info tcp=debug" (control.c checked it), or NULL:
 * the levels now. */
static int op_loglevel(void *ctx, const char *spec, struct buf *out)
{
	int all, levels[LOG_SUB_COUNT];
	char err[256], now[256];

	(void)ctx;
	if (spec) {
		if (log_levels_parse(spec, &all, levels, err, sizeof(err)))
			return buf_append(out, err, strlen(err)), -EINVAL;
		if (all >= 0)
			log_set_level((enum log_level)all);
		for (int s = 0; s < LOG_SUB_COUNT; s++)
			if (levels[s] >= 0)
				log_set_subsys_level((enum log_subsys)s, levels[s]);
	}
	log_levels_str(now, sizeof(now));
	buf_append(out, now, strlen(now));
	buf_append(out, "\n", 1);
	return 0;
}

static const struct control_ops ctl_ops = {
	.status = op_status,
	.list_conns = op_list,
	.initiate = op_initiate,
	.terminate = op_terminate,
	.rekey = op_rekey,
	.reload = op_reload,
	.loglevel = op_loglevel,
};

/* --- TCP connection events --------------------------------------------------------- */

static void tcp_connected(void *ctx, struct tcp_conn *c, int err)
{
	engine_tcp_connected(((struct daemon *)ctx)->e, c, err);
}

static void tcp_closed(void *ctx, struct tcp_conn *c, int err)
{
	engine_tcp_closed(((struct daemon *)ctx)->e, c, err);
}

static const struct tcp_ops tcp_cb = {
	.connected = tcp_connected,
	.closed = tcp_closed,
};

static void on_signal(void *ctx, int signo)
{
	struct daemon *d = ctx;

	if (signo == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->config_path);
		do_reload(d, NULL);
		return;
	}
	log_info("signal %d: stopping", signo);
	svc_notify("STOPPING=1");
	loop_stop(d->loop);
}

/*
 * The key pair pool (kex_pool_start) after the capability drop, so its
 * thread has no more rights than the rest.  auto: only when the scheduler
 * lets the daemon run on a second CPU (pinned to one, the thread would only
 * take turns with the event loop).
 */
static void kex_pool_begin(uint32_t depth)
{
	cpu_set_t cpus;
	int err;

	if (depth == CFG_KEX_POOL_AUTO)
		depth = !sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_COUNT(&cpus) > 1 ? 64 : 0;
	if (!depth)
		return;
	err = kex_pool_start(depth);
	if (err)
		log_warn("key pair pool not started (%s): key pairs are generated as needed",
			 strerror(-err));
	else
		log_debug("key pair pool: %u per group, generated by a second thread", depth);
}

/* UDP 500/4500 and the RFC 9329 listeners, feeding the engine. */
static int open_transports(struct daemon *d, const struct config *cfg, bool kernel_esp,
			   struct udp **u, struct tcp **t)
{
	struct udp_opts uo = {
		.addrs = cfg->daemon.n_listen ? cfg->daemon.listen : NULL,
		.n_addrs = cfg->daemon.n_listen,
		.ike_port = cfg->daemon.udp_port,
		.natt_port = cfg->daemon.natt_port,
		/* The kernel takes ESP off the NAT-T socket when it has ESP. */
		.espinudp = kernel_esp,
		.max_msg = cfg->daemon.max_ike_message,
	};
	struct tcp_opts to = {
		.addrs = uo.addrs,
		.n_addrs = uo.n_addrs,
		.ports = cfg->daemon.tcp_ports,
		.n_ports = cfg->daemon.n_tcp_ports,
		.max_conns = cfg->daemon.tcp_max,
		.max_per_ip = cfg->daemon.tcp_per_ip,
		.prefix_timeout_ms = cfg->daemon.tcp_prefix_timeout_ms,
		.idle_timeout_ms = cfg->daemon.tcp_idle_timeout_ms,
		.max_msg = cfg->daemon.max_ike_message,
		.max_stream_mem = cfg->daemon.max_stream_memory,
	};

	to.max_conns = tcp_fit_nofile(cfg->daemon.tcp_max);
	if (to.max_conns < cfg->daemon.tcp_max)
		log_warn("tcp_max lowered to %u to fit the limit on open files (RLIMIT_NOFILE): %u connections need %u descriptors",
			 to.max_conns, cfg->daemon.tcp_max,
			 cfg->daemon.tcp_max + TCP_FD_RESERVE);
	*u = udp_open(d->loop, &uo, engine_rx, d->e);
	*t = *u ? tcp_open(d->loop, &to, engine_rx, d->e, &tcp_cb, d) : NULL;
	if (!*u || !*t)
		return -1;
	engine_set_transports(d->e, *u, *t);
	return 0;
}

/* What the command line asks for. */
struct opts {
	const char *sock, *backend;
	bool debug, syslog_out, check_only;
};

/* -1 to go on, else the exit code (help, version, reference, misuse). */
static int parse_args(int argc, char **argv, struct daemon *d, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config-reference", optional_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "f:S:s:b:dlth", longopts, NULL)) != -1) {
		switch (opt) {
		case 'R':
			if (optarg && strcmp(optarg, "mdoc") && strcmp(optarg, "text")) {
				fprintf(stderr, "tcpiked: --config-reference takes text or mdoc\n");
				return 2;
			}
			config_reference(stdout, optarg && !strcmp(optarg, "mdoc") ?
					 CFG_REF_MDOC : CFG_REF_TEXT);
			return fflush(stdout) ? 1 : 0;
		case 'f':
			d->config_path = optarg;
			break;
		case 'S':
		case 's':
			o->sock = optarg;
			break;
		case 'b':
			o->backend = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'l':
			o->syslog_out = true;
			break;
		case 't':
			o->check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tcpiked %s\n", TCPIKE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		/* an operand would otherwise be dropped and the default
		 * configuration read in its place */
		fprintf(stderr, "tcpiked: unexpected argument '%s' (the configuration is given with -f)\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Opens the backend, the transports and the control socket, drops
 * privileges and runs the loop until a signal ends it; then tears it all
 * down, cfg (or what reloads replaced it with) included. */
static int run(struct daemon *d, struct config *cfg, const struct opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char *sock = o->sock, *backend = o->backend;
	struct kbackend *kb = NULL;
	struct udp *u = NULL;
	struct tcp *t = NULL;
	struct control *ctl = NULL;

	d->loop = loop_new();
	kb = kbackend_open(backend ? backend : cfg->daemon.backend);
	if (!d->loop || !kb) {
		log_err("cannot open the kernel backend '%s'",
			backend ? backend : cfg->daemon.backend ? cfg->daemon.backend : "auto");
		d->exit_code = 1;
		goto out;
	}
	d->e = engine_new(d->loop, cfg, kb);
	if (!d->e) {
		d->exit_code = 1;
		goto out;
	}
	if (!sock)
		sock = cfg->daemon.control_socket ? cfg->daemon.control_socket : DEFAULT_SOCKET;
	/* A second daemon stops here, before its sockets (UDP 500/4500 are
	 * bound without SO_REUSEADDR: a second bind fails too). */
	if (control_in_use(sock) ||
	    open_transports(d, cfg, kb->kind != KB_NONE, &u, &t)) {
		d->exit_code = 1;
		goto out;
	}
	/* The module's events group needs CAP_NET_ADMIN: joined before
	 * privileges go. */
	if (engine_watch_kernel(d->e))
		log_warn("kernel events unavailable (%s): soft byte and packet lifetimes will not rekey, NAT mapping changes are not followed",
			 kb->kb_error[0] ? kb->kb_error : "no event source");
	if (!strcmp(sock, DEFAULT_SOCKET) && mkdir(RUN_DIR, 0700) && errno != EEXIST)
		log_warn("cannot create %s: %s", RUN_DIR, strerror(errno));
	ctl = control_open(d->loop, sock, -1, &ctl_ops, d);
	if (!ctl || loop_signals(d->loop, sigs, 3, on_signal, d)) {
		d->exit_code = 1;
		goto out;
	}
	/* Everything privileged at start-up is done: keep only what the
	 * kernel backend needs. */
	if (privs_drop()) {
		d->exit_code = 1;
		goto out;
	}
	kex_pool_begin(cfg->daemon.kex_pool);
	log_info("tcpiked started: backend %s, config %s", kb->ops->name, d->config_path);
	engine_autostart(d->e);
	/* Sockets bound, backend open: a Type=notify unit is started now. */
	svc_notify("READY=1");
	if (loop_run(d->loop))
		d->exit_code = 1;
out:
	if (d->e)
		engine_shutdown(d->e);
	control_close(ctl);
	if (t)
		tcp_close_all(t);
	if (d->e) {
		cfg = engine_config(d->e);	/* reloads replaced it */
		engine_free(d->e);
	}
	udp_close(u);
	kbackend_close(kb);
	kex_pool_stop();
	config_free(cfg);
	loop_free(d->loop);
	log_info("tcpiked stopped");
	return d->exit_code;
}

int main(int argc, char **argv)
{
	struct daemon d = { .config_path = DEFAULT_CONFIG };
	struct opts o = { 0 };
	struct config *cfg;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &d, &o);
	if (rc >= 0)
		return rc;
	if (o.syslog_out)
		log_use_syslog("tcpiked");
	/* Before any table holds a hash (htab.h). */
	if (htab_seed_random()) {
		log_err("the hash tables' seed: RAND_bytes failed");
		return 1;
	}
	cfg = load(d.config_path, NULL, err, sizeof(err));
	if (!cfg) {
		log_err("%s", err);
		return 1;
	}
	if (o.check_only) {
		printf("%s: OK\n", d.config_path);
		config_free(cfg);
		return 0;
	}
	if (o.debug)
		log_set_level(LOG_LVL_DEBUG);
	else
		config_log_apply(&cfg->daemon);
	signal(SIGPIPE, SIG_IGN);
	return run(&d, cfg, &o);
}
