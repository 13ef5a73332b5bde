// SPDX-License-Identifier: GPL-2.0
/*
 * tcpiked: the IKEv2 daemon.  Reads the config, opens the kernel backend,
 * the UDP (500/4500) and TCP (RFC 9329) transports and the control socket,
 * and runs the engine from one event loop until SIGTERM/SIGINT.  SIGHUP
 * reloads the config.  Runs in the foreground; logs to stderr unless -l.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "control.h"
#include "ikesa.h"
#include "log.h"
#include "privs.h"
#include "loop.h"
#include "tcp.h"
#include "udp.h"

#define DEFAULT_CONFIG	"/etc/tcpiked.conf"
#define DEFAULT_SOCKET	"/run/tcpiked.sock"

struct daemon {
	struct loop *loop;
	struct engine *e;
	const char *config_path;
	int exit_code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcpiked [-f CONFIG] [-S SOCKET] [-b BACKEND] [-d] [-l]\n"
		"  -f CONFIG   configuration file (default " DEFAULT_CONFIG ")\n"
		"  -S SOCKET   control socket (default: daemon.control_socket or " DEFAULT_SOCKET ")\n"
		"  -b BACKEND  kernel backend: auto, module, xfrm or none (overrides the config)\n"
		"  -d          debug logging\n"
		"  -l          log to syslog instead of stderr\n"
		"  -t          check the configuration and exit\n");
}

/* --- control ops --------------------------------------------------------------- */

static int op_status(void *ctx, bool json, struct buf *out)
{
	return engine_status(((struct daemon *)ctx)->e, json, out);
}

static int op_list(void *ctx, bool json, struct buf *out)
{
	return engine_list_conns(((struct daemon *)ctx)->e, json, out);
}

static int op_initiate(void *ctx, const char *conn, struct buf *out)
{
	return engine_initiate(((struct daemon *)ctx)->e, conn, out);
}

static int op_terminate(void *ctx, const char *conn, struct buf *out)
{
	return engine_terminate(((struct daemon *)ctx)->e, conn, out);
}

static int op_rekey(void *ctx, const char *conn, bool child, struct buf *out)
{
	return engine_rekey(((struct daemon *)ctx)->e, conn, child, out);
}

static int do_reload(struct daemon *d, struct buf *out)
{
	struct config *cfg = NULL;
	char err[512];

	if (config_load(d->config_path, &cfg, err, sizeof(err))) {
		log_err("reload failed, keeping the running config: %s", err);
		if (out)
			buf_append(out, err, strlen(err));
		return -EINVAL;
	}
	return engine_reload(d->e, cfg, out ? out : &(struct buf)BUF_INIT);
}

static int op_reload(void *ctx, struct buf *out)
{
	return do_reload(ctx, out);
}

static int op_loglevel(void *ctx, const char *level, struct buf *out)
{
	int l = log_level_from_name(level);

	(void)ctx;
	if (l < 0) {
		const char *m = "unknown level (error, warning, info, debug)";

		buf_append(out, m, strlen(m));
		return -EINVAL;
	}
	log_set_level((enum log_level)l);
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
	loop_stop(d->loop);
}

int main(int argc, char **argv)
{
	struct daemon d = { .config_path = DEFAULT_CONFIG };
	const char *sock = NULL, *backend = NULL;
	struct config *cfg = NULL;
	struct kbackend *kb = NULL;
	struct udp *u = NULL;
	struct tcp *t = NULL;
	struct control *ctl = NULL;
	bool debug = false, syslog_out = false, check_only = false;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	char err[512];
	int opt;

	while ((opt = getopt(argc, argv, "f:S:s:b:dlth")) != -1) {
		switch (opt) {
		case 'f':
			d.config_path = optarg;
			break;
		case 'S':
		case 's':
			sock = optarg;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'l':
			syslog_out = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (syslog_out)
		log_use_syslog("tcpiked");
	if (config_load(d.config_path, &cfg, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (check_only) {
		printf("%s: OK\n", d.config_path);
		config_free(cfg);
		return 0;
	}
	log_set_level(debug ? LOG_LVL_DEBUG : (enum log_level)cfg->daemon.log_level);
	signal(SIGPIPE, SIG_IGN);

	d.loop = loop_new();
	kb = kbackend_open(backend ? backend : cfg->daemon.backend);
	if (!d.loop || !kb) {
		log_err("cannot open the kernel backend '%s'",
			backend ? backend : cfg->daemon.backend ? cfg->daemon.backend : "auto");
		d.exit_code = 1;
		goto out;
	}
	d.e = engine_new(d.loop, cfg, kb);
	if (!d.e) {
		d.exit_code = 1;
		goto out;
	}
	{
		struct udp_opts uo = {
			.addrs = cfg->daemon.n_listen ? cfg->daemon.listen : NULL,
			.n_addrs = cfg->daemon.n_listen,
			.ike_port = cfg->daemon.udp_port,
			.natt_port = cfg->daemon.natt_port,
			/* The kernel takes ESP off the NAT-T socket when it has ESP. */
			.espinudp = kb->kind != KB_NONE,
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
		};

		u = udp_open(d.loop, &uo, engine_rx, d.e);
		t = u ? tcp_open(d.loop, &to, engine_rx, d.e, &tcp_cb, &d) : NULL;
		if (!u || !t) {
			d.exit_code = 1;
			goto out;
		}
		engine_set_transports(d.e, u, t);
	}
	ctl = control_open(d.loop, sock ? sock : cfg->daemon.control_socket ?
			   cfg->daemon.control_socket : DEFAULT_SOCKET, -1, &ctl_ops, &d);
	if (!ctl || loop_signals(d.loop, sigs, 3, on_signal, &d)) {
		d.exit_code = 1;
		goto out;
	}
	/* Everything privileged at start-up is done: keep only what the
	 * kernel backend needs. */
	if (privs_drop()) {
		d.exit_code = 1;
		goto out;
	}
	log_info("tcpiked started: backend %s, config %s", kb->ops->name, d.config_path);
	engine_autostart(d.e);
	if (loop_run(d.loop))
		d.exit_code = 1;
out:
	if (d.e)
		engine_shutdown(d.e);
	control_close(ctl);
	if (t)
		tcp_close_all(t);
	if (d.e) {
		cfg = d.e->cfg;	/* reloads replaced it */
		engine_free(d.e);
	}
	udp_close(u);
	kbackend_close(kb);
	config_free(cfg);
	loop_free(d.loop);
	log_info("tcpiked stopped");
	return d.exit_code;
}
