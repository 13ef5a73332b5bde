// SPDX-License-Identifier: GPL-2.0
/*
 * DNS names in remote_addrs, resolved without stalling the loop: glibc's
 * getaddrinfo_a() resolves in its own thread and the loop looks at the
 * request every DNS_POLL_MS until it is done or DNS_TIMEOUT_MS has gone.
 *
 * A name is resolved when its connection initiates (the first attempt,
 * every keyingtries retry) and when a configuration is (re)loaded; the
 * addresses last resolved are the ones the connection initiates to and,
 * as responder, admits (dns_remote_match).  A failure is logged with the
 * name and the resolver's words and counts as a failed attempt.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "ikesa.h"
#include "log.h"

#define DNS_POLL_MS	20u
#define DNS_TIMEOUT_MS	5000u
#define DNS_MAX_ADDRS	4

struct conn_dns {
	struct conn_dns *next;
	struct engine *e;
	struct timer timer;
	char conn[CFG_NAME_MAX * 4];
	char host[CFG_HOST_MAX];
	/* the request in flight, else none */
	bool busy, initiate;
	unsigned int attempt;
	uint64_t started_ms;
	struct gaicb req;
	struct addrinfo hints;
	/* what was last resolved */
	struct sockaddr_storage addrs[DNS_MAX_ADDRS];
	int n;
	char error[CFG_HOST_MAX + 128];
};

static struct conn_dns *dns_find(struct engine *e, const char *conn)
{
	for (struct conn_dns *d = e->dns; d; d = d->next)
		if (!strcmp(d->conn, conn))
			return d;
	return NULL;
}

static void dns_store(struct conn_dns *d, const struct addrinfo *ai)
{
	d->n = 0;
	for (; ai && d->n < DNS_MAX_ADDRS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(d->addrs[0]))
			continue;
		memset(&d->addrs[d->n], 0, sizeof(d->addrs[0]));
		memcpy(&d->addrs[d->n++], ai->ai_addr, ai->ai_addrlen);
	}
}

static void dns_done(struct conn_dns *d, int r)
{
	struct engine *e = d->e;
	const struct conn_cfg *cc = config_conn(e->cfg, d->conn);
	char a[ADDR_STRLEN];

	d->busy = false;
	if (!r) {
		dns_store(d, d->req.ar_result);
		if (!d->n)
			r = EAI_ADDRFAMILY;
	}
	freeaddrinfo(d->req.ar_result);
	d->req.ar_result = NULL;
	if (r) {
		/* a name that does not resolve now keeps no old addresses */
		d->n = 0;
		snprintf(d->error, sizeof(d->error), "cannot resolve %s: %s", d->host,
			 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		log_warn("%s: %s", d->conn, d->error);
	} else {
		d->error[0] = 0;
		log_info("%s: %s resolved to %s%s", d->conn, d->host,
			 addr_str(&d->addrs[0], a, sizeof(a)), d->n > 1 ? " (and more)" : "");
	}
	if (!d->initiate || !cc || !cfg_remote_host(cc) || strcmp(cfg_remote_host(cc), d->host))
		return;
	d->initiate = false;
	if (r)
		conn_attempt_failed(e, cc, d->attempt, d->error);
	else
		conn_attempt_start(e, cc, d->attempt);
}

static void dns_poll(struct timer *t)
{
	struct conn_dns *d = container_of(t, struct conn_dns, timer);
	int r = gai_error(&d->req);

	if (r == EAI_INPROGRESS && ike_now() - d->started_ms < DNS_TIMEOUT_MS) {
		timer_arm(d->e->loop, &d->timer, DNS_POLL_MS, dns_poll);
		return;
	}
	if (r == EAI_INPROGRESS) {
		/* given up: the request is left to finish in glibc's thread,
		 * its result taken by the next poll or dropped at the end */
		if (gai_cancel(&d->req) == EAI_CANCELED)
			r = EAI_CANCELED;
		else
			r = EAI_AGAIN;
		d->busy = r != EAI_CANCELED;
		snprintf(d->error, sizeof(d->error), "cannot resolve %s: no answer in %us",
			 d->host, DNS_TIMEOUT_MS / 1000);
		log_warn("%s: %s", d->conn, d->error);
		d->n = 0;
		if (d->initiate) {
			const struct conn_cfg *cc = config_conn(d->e->cfg, d->conn);

			d->initiate = false;
			if (cc)
				conn_attempt_failed(d->e, cc, d->attempt, d->error);
		}
		return;
	}
	dns_done(d, r);
}

int dns_resolve(struct engine *e, const struct conn_cfg *cc, bool initiate, unsigned int attempt)
{
	const char *host = cfg_remote_host(cc);
	struct conn_dns *d = dns_find(e, cc->name);
	struct gaicb *list[1];
	int r;

	if (!host)
		return -EINVAL;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->e = e;
		snprintf(d->conn, sizeof(d->conn), "%s", cc->name);
		d->next = e->dns;
		e->dns = d;
	}
	if (strcmp(d->host, host))
		d->n = 0;	/* another name since a reload */
	if (d->busy && gai_error(&d->req) == EAI_INPROGRESS) {
		/* the request under way answers this one too (one given up
		 * on is polled again, for another DNS_TIMEOUT_MS) */
		d->initiate |= initiate;
		if (initiate)
			d->attempt = attempt;
		if (timer_armed(&d->timer))
			return 0;
		d->started_ms = ike_now();
		return timer_arm(e->loop, &d->timer, DNS_POLL_MS, dns_poll);
	}
	if (d->busy) {
		freeaddrinfo(d->req.ar_result);
		d->busy = false;
	}
	snprintf(d->host, sizeof(d->host), "%s", host);
	memset(&d->req, 0, sizeof(d->req));
	memset(&d->hints, 0, sizeof(d->hints));
	d->hints.ai_family = AF_UNSPEC;
	d->hints.ai_socktype = SOCK_DGRAM;
	d->req.ar_name = d->host;
	d->req.ar_request = &d->hints;
	d->initiate = initiate;
	d->attempt = attempt;
	d->started_ms = ike_now();
	list[0] = &d->req;
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (r) {
		d->busy = false;
		snprintf(d->error, sizeof(d->error), "cannot resolve %s: %s", host,
			 gai_strerror(r));
		log_warn("%s: %s", cc->name, d->error);
		return -EAGAIN;
	}
	d->busy = true;
	log_debug("%s: resolving %s", cc->name, host);
	return timer_arm(e->loop, &d->timer, DNS_POLL_MS, dns_poll);
}

void dns_resolve_all(struct engine *e)
{
	for (const struct conn_cfg *cc = e->cfg->conns; cc; cc = cc->next)
		if (cfg_remote_host(cc))
			dns_resolve(e, cc, false, 0);
}

static const struct conn_dns *dns_of(struct engine *e, const struct conn_cfg *cc)
{
	const char *host = cfg_remote_host(cc);
	const struct conn_dns *d = host ? dns_find(e, cc->name) : NULL;

	return d && !strcmp(d->host, host) ? d : NULL;
}

const struct sockaddr_storage *dns_addr(struct engine *e, const struct conn_cfg *cc)
{
	const struct conn_dns *d = dns_of(e, cc);

	return d && d->n ? &d->addrs[0] : NULL;
}

bool dns_pending(struct engine *e, const struct conn_cfg *cc, char *why, size_t len)
{
	const struct conn_dns *d = dns_of(e, cc);

	if (d && !d->busy && d->error[0])
		snprintf(why, len, "%s", d->error);
	return d && d->busy && d->initiate;
}

int dns_remote_match(struct engine *e, const struct conn_cfg *cc,
		     const struct sockaddr_storage *a)
{
	const struct conn_dns *d = dns_of(e, cc);
	int best = cfg_remote_match(cc, a);

	const uint8_t *pa, *pd;
	size_t len = addr_bytes(a, &pa);

	for (int i = 0; d && len && i < d->n; i++)
		if (addr_bytes(&d->addrs[i], &pd) == len && !memcmp(pa, pd, len))
			return (int)len * 8;
	return best;
}

void dns_free_all(struct engine *e)
{
	while (e->dns) {
		struct conn_dns *d = e->dns;

		e->dns = d->next;
		timer_cancel(e->loop, &d->timer);
		if (d->busy && gai_cancel(&d->req) == EAI_NOTCANCELED) {
			const struct gaicb *list[1] = { &d->req };

			/* at the end only: wait for glibc's thread to let go */
			gai_suspend(list, 1, &(struct timespec){ .tv_sec = DNS_TIMEOUT_MS / 1000 });
		}
		if (d->busy && gai_error(&d->req) != EAI_INPROGRESS)
			freeaddrinfo(d->req.ar_result);
		else if (d->busy)
			continue;	/* still in glibc's hands: not freed */
		free(d);
	}
}
