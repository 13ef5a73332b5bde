// SPDX-License-Identifier: GPL-2.0
/*
 * Establishing a connection again without an operator: keyingtries (a peer
 * that is not up yet, or not reachable, is tried again with back-off, for
 * ever by default as charon's keyingtries = 0), dpd_action = restart (a
 * peer found dead is initiated to again) and close_action = restart (the
 * peer deleted the IKE SA).
 *
 * A retry is kept by connection name, so a reload that replaces the
 * config in between finds the new one (or drops the retry when the
 * connection is gone).  It is dropped when, by the time it is due, the
 * connection has an IKE SA again: started by an operator, or by the peer
 * (which after its own reauthentication or restart initiates first).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "ikesa.h"
#include "log.h"

/* Back-off between attempts: 1 s, doubling, at most a minute. */
#define RETRY_MIN_MS	1000u
#define RETRY_MAX_MS	60000u

struct conn_retry {
	struct conn_retry *next;
	struct engine *e;
	struct timer timer;
	unsigned int attempt;	/* the one it starts */
	uint64_t due_ms;
	char name[];
};

static struct conn_retry **retry_find(struct engine *e, const char *name)
{
	struct conn_retry **pp;

	for (pp = &e->retries; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			return pp;
	return NULL;
}

static void retry_drop(struct conn_retry **pp)
{
	struct conn_retry *r = *pp;

	*pp = r->next;
	timer_cancel(r->e->loop, &r->timer);
	free(r);
}

/* Has cc an IKE SA that is being set up or is up (either role)? */
static bool conn_busy(const struct engine *e, const struct conn_cfg *cc)
{
	for (const struct ike_sa *sa = e->all; sa; sa = sa->next)
		if (sa->cfg == cc && (sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT ||
				      sa->state == IKE_S_HALF_OPEN || sa->state == IKE_S_ESTABLISHED))
			return true;
	return false;
}

static void retry_fire(struct timer *t);

static void retry_schedule(struct engine *e, const char *name, unsigned int attempt,
			   uint64_t delay_ms)
{
	struct conn_retry **pp = retry_find(e, name), *r;
	size_t n = strlen(name) + 1;

	if (pp) {
		r = *pp;
	} else {
		r = calloc(1, sizeof(*r) + n);
		if (!r) {
			log_err("%s: cannot schedule the next attempt: out of memory", name);
			return;
		}
		r->e = e;
		memcpy(r->name, name, n);
		r->next = e->retries;
		e->retries = r;
	}
	r->attempt = attempt;
	r->due_ms = ike_now() + delay_ms;
	timer_arm(e->loop, &r->timer, delay_ms, retry_fire);
}

/* Attempt n of cc failed: the next one after the back-off, or none. */
static void retry_after(struct engine *e, const struct conn_cfg *cc, const char *who,
			unsigned int n, const char *why)
{
	unsigned int shift = n - 1 < 6 ? n - 1 : 6;
	uint64_t ms = (uint64_t)RETRY_MIN_MS << shift;
	char of[16];

	if (e->shutting_down)
		return;
	if (cc->keyingtries && n >= cc->keyingtries) {
		log_warn("%s: connecting failed (attempt %u of %u): %s; giving up", who, n,
			 cc->keyingtries, why);
		return;
	}
	if (ms > RETRY_MAX_MS)
		ms = RETRY_MAX_MS;
	if (cc->keyingtries)
		snprintf(of, sizeof(of), "%u", cc->keyingtries);
	else
		snprintf(of, sizeof(of), "unlimited");
	log_warn("%s: connecting failed (attempt %u of %s): %s; next attempt in %llus", who, n,
		 of, why, (unsigned long long)(ms / 1000));
	retry_schedule(e, cc->name, n + 1, ms);
}

bool conn_can_initiate(const struct conn_cfg *cc)
{
	return cfg_remote_addr(cc) || cfg_remote_host(cc);
}

void conn_attempt_failed(struct engine *e, const struct conn_cfg *cc, unsigned int n,
			 const char *why)
{
	retry_after(e, cc, cc->name, n, why);
}

static void retry_fire(struct timer *t)
{
	struct conn_retry *r = container_of(t, struct conn_retry, timer);
	struct engine *e = r->e;
	const struct conn_cfg *cc = config_conn(e->cfg, r->name);
	unsigned int attempt = r->attempt;

	retry_drop(retry_find(e, r->name));
	if (!cc || !conn_can_initiate(cc))
		return;		/* gone or changed by a reload */
	if (conn_busy(e, cc)) {
		log_debug("%s: not initiated again: it has an IKE SA", cc->name);
		return;
	}
	/* every attempt asks the resolver again (dns.c goes on) */
	if (cfg_remote_addr(cc))
		conn_attempt_start(e, cc, attempt);
	else if (dns_resolve(e, cc, true, attempt))
		retry_after(e, cc, cc->name, attempt, "cannot resolve its name");
}

void conn_attempt_start(struct engine *e, const struct conn_cfg *cc, unsigned int attempt)
{
	struct ike_sa *sa;
	char why[96];
	int err;

	sa = ike_initiate(e, cc, XO_CONFIG, &err);
	if (!sa) {
		/* A local failure (no route yet at boot, say) is a failed
		 * attempt too. */
		snprintf(why, sizeof(why), "cannot start IKE_SA_INIT: %s", strerror(-err));
		retry_after(e, cc, cc->name, attempt, why);
		return;
	}
	sa->keying_attempt = attempt;
	log_info("%s: initiating to %s (attempt %u)", ike_sa_name(sa), cc->name, attempt);
}

void ike_keying_failed(struct ike_sa *sa, const char *why)
{
	if (!sa->initiator || !sa->cfg || !conn_can_initiate(sa->cfg))
		return;
	retry_after(sa->e, sa->cfg, ike_sa_name(sa), sa->keying_attempt ? sa->keying_attempt : 1,
		    why);
}

void conn_restart_later(struct engine *e, const struct conn_cfg *cc, uint64_t delay_ms)
{
	if (e->shutting_down || !conn_can_initiate(cc) || retry_find(e, cc->name))
		return;
	retry_schedule(e, cc->name, 1, delay_ms);
}

bool conn_retry_cancel(struct engine *e, const char *name)
{
	struct conn_retry **pp = retry_find(e, name);

	if (!pp)
		return false;
	retry_drop(pp);
	return true;
}

bool conn_retry_pending(struct engine *e, const char *name, unsigned int *attempt,
			uint64_t *in_ms)
{
	struct conn_retry **pp = retry_find(e, name);
	uint64_t now = ike_now();

	if (!pp)
		return false;
	*attempt = (*pp)->attempt;
	*in_ms = (*pp)->due_ms > now ? (*pp)->due_ms - now : 0;
	return true;
}

void conn_retries_free(struct engine *e)
{
	while (e->retries)
		retry_drop(&e->retries);
}

/* "c: attempt 3 in 4s" lines for status (text), or JSON objects. */
void conn_retries_status(struct engine *e, struct buf *b, bool json)
{
	uint64_t now = ike_now();
	bool first = true;
	char s[256];

	for (struct conn_retry *r = e->retries; r; r = r->next) {
		uint64_t left = r->due_ms > now ? r->due_ms - now : 0;
		int n;

		/* connection names are config tokens: no quotes or
		 * backslashes to escape (config.c) */
		if (json)
			n = snprintf(s, sizeof(s), "%s{\"conn\":\"%s\",\"attempt\":%u,\"in_ms\":%llu}",
				     first ? "" : ",", r->name, r->attempt,
				     (unsigned long long)left);
		else
			n = snprintf(s, sizeof(s), "%s: attempt %u in %llus\n", r->name, r->attempt,
				     (unsigned long long)((left + 999) / 1000));
		if (n > 0)
			buf_append(b, s, (size_t)n < sizeof(s) ? (size_t)n : sizeof(s) - 1);
		first = false;
	}
}
