// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual IPs for road warriors (RFC 7296 §3.15): the responder reads the
 * CFG_REQUEST of an IKE_AUTH request, leases addresses from the
 * connection's pools (pool.c) by the peer's identity, and answers with a
 * CFG_REPLY carrying them and the pools' DNS servers.  child.c narrows
 * the Child SA's remote selectors to the addresses (sa->vip).
 */
#define LOG_SUBSYS LOG_SUB_IKE

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "exch.h"
#include "log.h"

int vip_request_get(struct ike_sa *sa, const struct ike_msg *inner, struct vip_ask *ask)
{
	const struct ike_pl *pl = ike_msg_find(inner, IKEV2_PL_CP);
	struct ike_cp cp;

	memset(ask, 0, sizeof(*ask));
	if (!pl)
		return 0;
	if (ike_get_cp(pl, &cp) || ike_cp_want(&cp, &ask->w))
		return -EBADMSG;
	if (cp.cfg_type != IKEV2_CFG_REQUEST) {
		/* §3.15: an initiator requests; CFG_REPLY, SET and ACK from
		 * it are not ours to act on */
		log_warn("%s: CP payload of type %u in IKE_AUTH request ignored: only CFG_REQUEST is answered",
			 ike_sa_name(sa), cp.cfg_type);
		return 0;
	}
	if (cp.skipped)
		log_info("%s: CFG_REQUEST with %d attributes: the %d past the first %d ignored",
			 ike_sa_name(sa), cp.n + cp.skipped, cp.skipped, IKE_MAX_CP_ATTRS);
	ask->present = ask->w.ip4 || ask->w.ip6 || ask->w.dns4 || ask->w.dns6;
	return 0;
}

/* An address of family af from cc's pools, the first with one free, into
 * sa->vip; 0, -ENOENT (no pool of af) or -ENOSPC (all exhausted). */
static int vip_take(struct ike_sa *sa, const struct conn_cfg *cc, int af)
{
	struct ike_vip *v = &sa->vip[sa->n_vip];
	int r = -ENOENT;

	for (int i = 0; i < cc->n_pools; i++) {
		const char *name = cc->pools[i].name;
		int q;

		if (pool_family(sa->e->pools, name) != af)
			continue;
		q = pool_acquire(sa->e->pools, name, &sa->peer_id, &v->addr);
		if (!q) {
			snprintf(v->pool, sizeof(v->pool), "%s", name);
			sa->n_vip++;
			return 0;
		}
		if (r != -ENOMEM)
			r = q;
	}
	return r;
}

uint16_t vip_assign(struct ike_sa *sa, const struct conn_cfg *cc, const struct vip_ask *ask)
{
	static const int fam[2] = { AF_INET, AF_INET6 };
	char a[ADDR_STRLEN], ids[PEER_ID_STRLEN], why[160] = "";
	bool want[2] = { ask->w.ip4, ask->w.ip6 };
	bool failed = false;
	size_t o = 0;

	ike_vips_release(sa);	/* none yet: IKE_AUTH comes once */
	if (!ask->present || !cc->n_pools)
		return 0;	/* §3.15.4: nothing to give, nothing said */
	for (int f = 0; f < 2; f++) {
		int r;

		if (!want[f])
			continue;
		r = vip_take(sa, cc, fam[f]);
		if (!r) {
			log_info("%s: virtual IP %s of pool %s for %s", ike_sa_name(sa),
				 addr_str(&sa->vip[sa->n_vip - 1].addr, a, sizeof(a)),
				 sa->vip[sa->n_vip - 1].pool, peer_id_str(sa, ids));
			continue;
		}
		if (r == -ENOENT)
			continue;	/* §3.15.4: a family we do not hand out */
		failed = true;
		if (o < sizeof(why))
			o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s", o ? ", " : "",
					      r == -ENOSPC ? (f ? "every IPv6 pool exhausted" :
							      "every IPv4 pool exhausted") :
					      strerror(-r));
	}
	/* §3.15.4: the failure only when no address could be given */
	if (!failed || sa->n_vip)
		return 0;
	log_warn("%s: no virtual IP for %s from connection %s's pools: %s; the Child SA is refused with INTERNAL_ADDRESS_FAILURE",
		 ike_sa_name(sa), peer_id_str(sa, ids), cc->name, why);
	return IKEV2_N_INTERNAL_ADDRESS_FAILURE;
}

void vip_put_reply(struct ike_sa *sa, struct ike_builder *bld)
{
	struct ike_cp cp;
	uint8_t val[IKE_MAX_CP_ATTRS][17];
	const struct config *cfg = sa->e->cfg;

	if (!sa->n_vip)
		return;
	memset(&cp, 0, sizeof(cp));
	cp.cfg_type = IKEV2_CFG_REPLY;
	for (int i = 0; i < sa->n_vip; i++) {
		const uint8_t *p;
		size_t l = addr_bytes(&sa->vip[i].addr, &p);

		memcpy(val[cp.n], p, l);
		if (l == 16)
			val[cp.n][l++] = 128;	/* §3.15.1: the prefix length */
		cp.a[cp.n].type = l == 4 ? IKEV2_CP_INTERNAL_IP4_ADDRESS :
					   IKEV2_CP_INTERNAL_IP6_ADDRESS;
		cp.a[cp.n].val.p = val[cp.n];
		cp.a[cp.n].val.len = l;
		cp.n++;
	}
	/* the DNS servers of the pools the addresses came from */
	for (int i = 0; i < sa->n_vip; i++) {
		const struct pool_cfg *pc = config_pool(cfg, sa->vip[i].pool);

		for (int d = 0; pc && d < pc->n_dns && cp.n < IKE_MAX_CP_ATTRS; d++) {
			const uint8_t *p;
			size_t l = addr_bytes(&pc->dns[d], &p);

			memcpy(val[cp.n], p, l);
			cp.a[cp.n].type = l == 4 ? IKEV2_CP_INTERNAL_IP4_DNS :
						   IKEV2_CP_INTERNAL_IP6_DNS;
			cp.a[cp.n].val.p = val[cp.n];
			cp.a[cp.n].val.len = l;
			cp.n++;
		}
	}
	ike_put_cp(bld, &cp);
}
