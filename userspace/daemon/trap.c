// SPDX-License-Identifier: GPL-2.0
/*
 * Trap policies (start_action = trap), as strongSwan's: the policies of a
 * trapped child are in the kernel before any SA, with a template whose
 * reqid is the trap's.  Traffic that meets them finds no SA, and the
 * kernel asks the key manager for one (an acquire: XFRM_MSG_ACQUIRE, or
 * the module's acquire event, RFC 4301 §4.4.1's "trigger"); tcpiked then
 * initiates the connection as `tcpikectl initiate` does.
 *
 * The policies are installed through the shared-policy layer
 * (kb_policy_add) by child.c's own code, for a Child SA that exists only
 * as far as policies go (struct trap).  The negotiated Child SA, with the
 * same selectors and tunnel, takes the trap's reqid and one more
 * reference to its policies (child_reqid), so its SAs are the ones the
 * template asks for, and its deletion or rekey leaves the trap in place.
 * The trap's own reference goes with a reload that drops the child or
 * changes its connection, and at shutdown.
 *
 * A Child SA the responder narrowed has other policies and a reqid of
 * its own; the trap's stay as they are.
 *
 * dpd_action and close_action = trap install the same traps when the
 * peer is found dead or closes (trap_on_close), before the Child SAs go:
 * a trap whose policies are the Child SA's takes its reqid and one more
 * reference to them, so they never leave the kernel.  Such a trap also
 * goes with `tcpikectl terminate` (trap_remove_conn).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ikesa.h"
#include "log.h"

/* The source address of the route to remote (route_source), port 0. */
static int route_src(const struct sockaddr_storage *remote, struct sockaddr_storage *out)
{
	struct sockaddr_storage to = *remote;
	int r;

	addr_set_port(&to, 500);
	r = route_source(&to, out);
	addr_set_port(out, 0);
	return r;
}

static void trap_free(struct trap *t)
{
	if (t->c)
		child_free(t->c, true);	/* drops its references */
	free(t);
}

/* action: installed by dpd_action or close_action, not start_action */
static int trap_install(struct engine *e, const struct conn_cfg *cc, const struct child_cfg *ch,
			bool action)
{
	struct trap *t = calloc(1, sizeof(*t));
	struct child_sa *c = calloc(1, sizeof(*c));
	struct sockaddr_storage rem, loc;
	char a[ADDR_STRLEN], ls[256], rs[256];
	int r;

	if (!t || !c) {
		free(t);
		free(c);
		return -ENOMEM;
	}
	t->c = c;
	t->action = action;
	t->holder.e = e;
	t->holder.cfg = cc;
	c->ike = &t->holder;
	c->cfg = ch;
	c->trap = true;
	c->mode = ch->mode;
	rem = *cfg_remote_addr(cc);	/* config.c's check_trap */
	addr_ip_set(&c->addr_remote, &rem);
	if (cc->n_local) {
		addr_ip_set(&c->addr_local, &cc->local_addrs[0]);
		r = 0;
	} else {
		r = route_src(&rem, &loc);
		if (r)
			log_err("%s: child %s: no route to %s for its trap policies: %s",
				cc->name, ch->name, addr_str(&rem, a, sizeof(a)),
				strerror(-r));
		else
			addr_ip_set(&c->addr_local, &loc);
	}
	if (!r)
		r = child_ts_configured(c);
	if (!r) {
		c->reqid = child_reqid(c);	/* a Child SA's with these policies */
		r = child_policies(c);
	}
	if (r) {
		log_err("%s: child %s: trap policies not installed: %s", cc->name, ch->name,
			strerror(-r));
		trap_free(t);
		return r;
	}
	t->next = e->traps;
	e->traps = t;
	ts_set_str(&c->ts_local, ls, sizeof(ls));
	ts_set_str(&c->ts_remote, rs, sizeof(rs));
	log_info("%s: child %s: trap policies installed: %s === %s, reqid %u", cc->name,
		 ch->name, ls, rs, c->reqid);
	return 0;
}

const struct trap *trap_of(const struct engine *e, const struct conn_cfg *cc,
			   const struct child_cfg *ch)
{
	for (const struct trap *t = e->traps; t; t = t->next)
		if (t->holder.cfg == cc && t->c->cfg == ch)
			return t;
	return NULL;
}

void trap_install_all(struct engine *e)
{
	for (const struct conn_cfg *cc = e->cfg->conns; cc; cc = cc->next)
		for (const struct child_cfg *ch = cc->children; ch; ch = ch->next)
			if (cfg_child_trapped(cc, ch) && !trap_of(e, cc, ch))
				trap_install(e, cc, ch, false);
}

void trap_on_close(struct ike_sa *sa, const struct child_sa *only, const char *why)
{
	for (const struct child_sa *c = only ? only : sa->children; c; c = only ? NULL : c->next) {
		if (trap_of(sa->e, sa->cfg, c->cfg))
			continue;
		log_info("%s: %s = trap: child %s trapped", ike_sa_name(sa), why, c->cfg->name);
		trap_install(sa->e, sa->cfg, c->cfg, true);
	}
}

int trap_remove_conn(struct engine *e, const struct conn_cfg *cc)
{
	struct trap **pp = &e->traps, *t;
	int n = 0;

	while ((t = *pp)) {
		if (!t->action || t->holder.cfg != cc) {
			pp = &t->next;
			continue;
		}
		log_info("%s: child %s: trap policies removed (terminate)", cc->name,
			 t->c->cfg->name);
		*pp = t->next;
		trap_free(t);
		n++;
	}
	return n;
}

static const struct child_cfg *child_named(const struct conn_cfg *cc, const char *name)
{
	const struct child_cfg *ch = cc->children;

	while (ch && strcmp(ch->name, name))
		ch = ch->next;
	return ch;
}

void trap_reload(struct engine *e, const struct config *cfg)
{
	struct trap **pp = &e->traps, *t;

	while ((t = *pp)) {
		const struct conn_cfg *nc = config_conn(cfg, t->holder.cfg->name);
		const struct child_cfg *nch = nc ? child_named(nc, t->c->cfg->name) : NULL;

		if (nch && conn_cfg_equal_but_timers(nc, t->holder.cfg) &&
		    (cfg_child_trapped(nc, nch) ||
		     (t->action && (nc->dpd_action == CFG_ACTION_TRAP ||
				    nc->close_action == CFG_ACTION_TRAP)))) {
			t->action = !cfg_child_trapped(nc, nch);
			t->holder.cfg = nc;
			t->c->cfg = nch;
			pp = &t->next;
			continue;
		}
		log_info("%s: child %s: trap policies removed (reload)", t->holder.cfg->name,
			 t->c->cfg->name);
		*pp = t->next;
		trap_free(t);
	}
}

void trap_remove_all(struct engine *e)
{
	struct trap *t;

	while ((t = e->traps)) {
		e->traps = t->next;
		trap_free(t);
	}
}

/* The trap an acquire is for: by the template's reqid, else the one whose
 * selectors hold the packet's addresses. */
static struct trap *trap_for(struct engine *e, const struct kb_event *ev)
{
	struct trap *t;

	for (t = e->traps; t && ev->reqid; t = t->next)
		if (t->c->reqid == ev->reqid)
			return t;
	for (t = e->traps; t; t = t->next) {
		const struct child_cfg *ch = t->c->cfg;

		if (ts_cfg_has_addr(ch->local_ts, ch->n_local_ts, &ev->sel.src) &&
		    ts_cfg_has_addr(ch->remote_ts, ch->n_remote_ts, &ev->sel.dst))
			return t;
	}
	return NULL;
}

/* An IKE SA of cc being set up, or an established one with a Child SA of
 * ch installed or being negotiated: the acquire is answered already. */
static struct ike_sa *trap_busy(struct engine *e, const struct conn_cfg *cc,
				const struct child_cfg *ch)
{
	for (struct ike_sa *sa = e->all; sa; sa = sa->next) {
		if (sa->cfg != cc || sa->state == IKE_S_DEAD || sa->state == IKE_S_REKEYED ||
		    sa->state == IKE_S_DELETING)
			continue;
		if (sa->state != IKE_S_ESTABLISHED)
			return sa;
		if (sa->req.child && sa->req.child->cfg == ch)
			return sa;
		for (struct child_sa *c = sa->children; c; c = c->next)
			if (c->cfg == ch && c->state != CHILD_S_REKEYED &&
			    c->state != CHILD_S_DELETING)
				return sa;
	}
	return NULL;
}

void trap_acquire(struct engine *e, const struct kb_event *ev)
{
	struct trap *t = trap_for(e, ev);
	char s[ADDR_STRLEN], d[ADDR_STRLEN];
	const struct conn_cfg *cc;
	struct buf out = BUF_INIT;
	struct ike_sa *sa;
	unsigned int attempt;
	uint64_t in_ms;

	addr_str(&ev->sel.src, s, sizeof(s));
	addr_str(&ev->sel.dst, d, sizeof(d));
	if (!t) {
		log_debug("kernel: acquire for %s -> %s, reqid %u: no trap of ours", s, d,
			  ev->reqid);
		return;
	}
	cc = t->holder.cfg;
	sa = trap_busy(e, cc, t->c->cfg);
	if (sa) {
		log_debug("%s: acquire for %s -> %s (child %s): already being set up or up",
			  ike_sa_name(sa), s, d, t->c->cfg->name);
		return;
	}
	/* A failed attempt's back-off (keyingtries) or a restart is due: it
	 * initiates when due; one now would restart the count and the
	 * back-off, as often as the kernel repeats its acquire. */
	if (conn_retry_pending(e, cc->name, &attempt, &in_ms)) {
		log_debug("%s: acquire for %s -> %s (child %s): attempt %u is due in %llu ms, "
			  "left to it", cc->name, s, d, t->c->cfg->name, attempt,
			  (unsigned long long)in_ms);
		return;
	}
	log_info("%s: child %s: traffic %s -> %s met its trap: initiating", cc->name,
		 t->c->cfg->name, s, d);
	if (conn_initiate_trap(e, cc, t->c->cfg, &ev->sel, &out))
		log_warn("%s: initiating on an acquire failed: %.*s", cc->name, (int)out.len,
			 (const char *)out.data);
	buf_free(&out);
}
