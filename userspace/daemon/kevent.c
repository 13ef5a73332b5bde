// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel tells the daemon, through the backend's event source
 * (the module's "events" group, or XFRM's expire, acquire and mapping
 * groups; backend.h):
 *
 *   soft expire   (time, bytes or packets) the Child SA is rekeyed, as
 *                 when its rekey timer fires (RFC 7296 §2.8)
 *   hard expire   the kernel has removed that half of the Child SA: the
 *                 rest is deleted and the peer told (INFORMATIONAL Delete)
 *   SA gone       someone else deleted it (ip xfrm state delete/flush,
 *                 module only): as a hard expire
 *   mapping       the peer's NAT moved its port or its address: ESP-in-UDP
 *                 and IKE follow (on_mapping)
 *   acquire       traffic met a trap policy without an SA: its connection
 *                 is initiated (trap.c)
 *   reachability  a watch the ESP probe set on its Child SA (module only)
 *                 changed: inbound ESP came (up) or outbound went
 *                 unanswered (down); handed to the probe (esp_probe.c)
 *
 * SAs are found by SPI and outer destination, compared with the addresses
 * each Child SA was installed with; an event for an SA the daemon does not
 * hold (another key manager's, or one already deleted) changes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "ikesa.h"
#include "log.h"

/* The Child SA holding the kernel SA (spi, dst) and which half it is. */
static struct child_sa *child_of_kernel_sa(struct engine *e, uint32_t spi,
					   const struct sockaddr_storage *dst, bool *inbound)
{
	struct hnode *n;
	struct ike_sa *sa;
	struct child_sa *c;

	for (n = htab_first(&e->child_spis, htab_hash_u32(spi)); n; n = htab_next(n)) {
		c = container_of(n, struct child_sa, spi_node);
		if (c->spi_in == spi && c->installed_in && addr_ip_is(&c->addr_local, dst)) {
			*inbound = true;
			return c;
		}
	}
	/* Outbound SPIs are the peers' choice and not unique: a walk (expire
	 * events come once per SA lifetime, not per packet). */
	for (sa = e->all; sa; sa = sa->next) {
		for (c = sa->children; c; c = c->next) {
			if (c->spi_out == spi && c->installed_out && addr_ip_is(&c->addr_remote, dst)) {
				*inbound = false;
				return c;
			}
		}
	}
	return NULL;
}

static void on_expire(struct engine *e, const struct kb_event *ev)
{
	bool in, gone = ev->kind == KB_EV_SA_GONE;
	struct child_sa *c = child_of_kernel_sa(e, ev->spi, &ev->dst, &in);

	if (!c) {
		log_debug("kernel: %s of SA %08x, not one of ours", gone ? "delete" :
			  ev->hard ? "hard expire" : "soft expire", ntohl(ev->spi));
		return;
	}
	/* A rekey we answered keeps sending on the old SA until the
	 * initiator deletes it: when the old one is running out, the new
	 * one takes over now (the initiator has had the time to install
	 * its inbound half). */
	if (c->rekeyed_by && c->rekeyed_by->out_deferred && !in)
		child_install_out(c->rekeyed_by);
	if (gone || ev->hard) {
		/* That half is no longer in the kernel: not deleted again. */
		if (in)
			c->installed_in = false;
		else
			c->installed_out = false;
		log_info("%s: Child SA %s %s SA %08x %s", ike_sa_name(c->ike), c->cfg->name,
			 in ? "inbound" : "outbound", ntohl(ev->spi),
			 gone ? "was deleted by someone else: deleting the Child SA" :
				"reached its hard lifetime: deleting the Child SA");
		/* Rekeying, replaced or being deleted: its delete is under
		 * way or follows. */
		if (c->state != CHILD_S_INSTALLED)
			return;
		c->pending |= CHILD_PEND_DELETE;
	} else {
		if (c->state != CHILD_S_INSTALLED || c->rekeyed_by)
			return;		/* the other half's expire came first */
		log_info("%s: Child SA %s (%08x) reached its soft lifetime in the kernel: rekeying",
			 ike_sa_name(c->ike), c->cfg->name, ntohl(c->spi_in));
		c->pending |= CHILD_PEND_REKEY;
	}
	ike_kick(c->ike);
}

/*
 * RFC 3948 / RFC 7296 §2.23: authenticated ESP-in-UDP (the kernel reports
 * a mapping only after the packet decrypted) came from a new port or a new
 * address of the peer's NAT.  The IKE SA's ESP path and every
 * UDP-encapsulated Child SA of it follow at once (same SPIs, keys and
 * replay state: steered to new ports, moved with their policies'
 * templates to a new address, child_follow_path), and a liveness check
 * goes out there, so IKE hears at once if the move was wrong.  The peer's
 * next IKE message from there is handled by path_update() the same way.
 */
static void on_mapping(struct engine *e, const struct kb_event *ev)
{
	bool in;
	struct child_sa *c = child_of_kernel_sa(e, ev->spi, &ev->dst, &in);
	struct ike_sa *sa;
	struct ike_path *ep;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (!c || !in || !c->encap) {
		log_debug("kernel: mapping of SA %08x, not an encapsulated inbound SA of ours",
			  ntohl(ev->spi));
		return;
	}
	sa = c->ike;
	/* ike_esp_path() is the IKE path itself, or the separate ESP one */
	ep = ike_esp_path(sa) == &sa->path ? &sa->path : sa->x.esp;
	if (sa->state != IKE_S_ESTABLISHED || ep->kind != XPORT_UDP4500 ||
	    addr_port_eq(&ep->remote, &ev->new_remote) ||
	    ev->new_remote.ss_family != ep->remote.ss_family)
		return;
	addr_port_str(&ep->remote, a, sizeof(a));
	addr_port_str(&ev->new_remote, b, sizeof(b));
	log_info("%s: NAT mapping changed: ESP from the peer now comes from %s (was %s%s), following",
		 ike_sa_name(sa), b, a, addr_eq(&ep->remote, &ev->new_remote) ? "" :
		 ": a new address");
	ep->remote = ev->new_remote;
	child_follow_path(sa);
	sa->pending |= PEND_DPD;
	ike_kick(sa);
}

/* A watch names its outbound SA (spi, dst) and the inbound pair_spi: the
 * Child SA is found by its inbound SPI (unique here) and checked. */
static void on_reach(struct engine *e, const struct kb_event *ev)
{
	struct child_sa *c;
	struct hnode *n;

	for (n = htab_first(&e->child_spis, htab_hash_u32(ev->pair_spi)); n; n = htab_next(n)) {
		c = container_of(n, struct child_sa, spi_node);
		if (c->spi_in == ev->pair_spi && c->spi_out == ev->spi &&
		    addr_ip_is(&c->addr_remote, &ev->dst)) {
			e->exch->probe_reach(c, ev->up);
			return;
		}
	}
	log_debug("kernel: reachability %s of SA %08x, not one of ours", ev->up ? "up" : "down",
		  ntohl(ev->spi));
}

void engine_kernel_event(void *ctx, const struct kb_event *ev)
{
	struct engine *e = ctx;

	switch (ev->kind) {
	case KB_EV_EXPIRE:
	case KB_EV_SA_GONE:
		on_expire(e, ev);
		break;
	case KB_EV_MAPPING:
		on_mapping(e, ev);
		break;
	case KB_EV_ACQUIRE:
		trap_acquire(e, ev);
		break;
	case KB_EV_REACH:
		on_reach(e, ev);
		break;
	default:
		log_debug("kernel: event %d not handled", (int)ev->kind);
		break;
	}
}

static void kernel_readable(void *ctx, int fd, uint32_t events)
{
	struct engine *e = ctx;
	struct kbackend *kb = e->kb;
	int r;

	(void)fd;
	(void)events;
	r = kb->ops->events_process(kb, engine_kernel_event, e);
	if (r)
		log_warn("kernel events: %s", kb->kb_error[0] ? kb->kb_error : strerror(-r));
}

int engine_watch_kernel(struct engine *e)
{
	struct kbackend *kb = e->kb;
	int fd, r;

	if (!kb->ops->events_process || e->kev_watched)
		return 0;
	fd = kb->ops->event_fd(kb);
	if (fd < 0)
		return -EIO;
	r = loop_watch(e->loop, fd, LOOP_READ, kernel_readable, e);
	if (r)
		return r;
	e->kev_fd = fd;
	e->kev_watched = true;
	return 0;
}
