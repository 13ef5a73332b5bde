// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual IPs for road warriors (RFC 7296 §3.15): the responder reads the
 * CFG_REQUEST of an IKE_AUTH request, leases addresses from the
 * connection's pools (pool.c) by the peer's identity, and answers with a
 * CFG_REPLY carrying them and the pools' DNS servers.  child.c narrows
 * the Child SA's remote selectors to the addresses (sa->rw->vip).
 *
 * As a road warrior (vips =), the initiator asks with a CFG_REQUEST of
 * its own, takes the CFG_REPLY's addresses (sa->rw->my_vip) for its local
 * selectors, puts them on the host through the kernel backend while the
 * IKE SA lives, and remembers them per connection to ask for the same
 * ones after a reconnect.  DNS servers are shown, never applied.
 */
#define LOG_SUBSYS LOG_SUB_IKE

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
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
	struct ike_rw *rw = ike_rw_get(sa);
	struct ike_vip *v;
	int r = -ENOENT;

	if (!rw)
		return -ENOMEM;
	v = &rw->vip[rw->n_vip];

	for (int i = 0; i < cc->n_pools; i++) {
		const char *name = cc->pools[i].name;
		int q;

		if (pool_family(sa->e->pools, name) != af)
			continue;
		q = pool_acquire(sa->e->pools, name, sa->peer_id, &v->addr);
		if (!q) {
			snprintf(v->pool, sizeof(v->pool), "%s", name);
			rw->n_vip++;
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
				 addr_str(&sa->rw->vip[sa->rw->n_vip - 1].addr, a, sizeof(a)),
				 sa->rw->vip[sa->rw->n_vip - 1].pool, peer_id_str(sa, ids));
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
	if (!failed || ike_n_vip(sa))
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

	if (!ike_n_vip(sa))
		return;
	memset(&cp, 0, sizeof(cp));
	cp.cfg_type = IKEV2_CFG_REPLY;
	for (int i = 0; i < sa->rw->n_vip; i++) {
		const uint8_t *p;
		size_t l = addr_bytes(&sa->rw->vip[i].addr, &p);

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
	for (int i = 0; i < sa->rw->n_vip; i++) {
		const struct pool_cfg *pc = config_pool(cfg, sa->rw->vip[i].pool);

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

/* --- initiator: vips = ---------------------------------------------------------- */

struct vip_memo {
	struct vip_memo *next;
	char conn[CFG_NAME_MAX];
	struct sockaddr_storage a[2];
	int n;
};

static struct vip_memo *memo_of(struct engine *e, const char *conn, bool make)
{
	struct vip_memo *m;

	for (m = e->vip_memo; m; m = m->next)
		if (!strcmp(m->conn, conn))
			return m;
	if (!make || !(m = calloc(1, sizeof(*m))))
		return NULL;
	snprintf(m->conn, sizeof(m->conn), "%s", conn);
	m->next = e->vip_memo;
	e->vip_memo = m;
	return m;
}

void vip_memo_free(struct engine *e)
{
	while (e->vip_memo) {
		struct vip_memo *m = e->vip_memo;

		e->vip_memo = m->next;
		free(m);
	}
}

static bool addr_zero(const struct sockaddr_storage *a)
{
	static const uint8_t zero[16];
	const uint8_t *p;
	size_t l = addr_bytes(a, &p);

	return !l || !memcmp(p, zero, l);
}

void vip_put_request(struct ike_sa *sa, struct ike_builder *bld)
{
	const struct conn_cfg *cc = sa->cfg;
	const struct vip_memo *m = memo_of(sa->e, cc->name, false);
	uint8_t val[2][17];
	struct ike_cp cp;

	if (!cc->n_vips)
		return;
	if (!ike_rw_get(sa)) {
		log_err("%s: no memory for virtual IPs: none asked for", ike_sa_name(sa));
		return;
	}
	sa->rw->vip_asked = true;
	memset(&cp, 0, sizeof(cp));
	cp.cfg_type = IKEV2_CFG_REQUEST;
	for (int i = 0; i < cc->n_vips; i++) {
		const struct sockaddr_storage *want = &cc->vips[i];
		bool v6 = want->ss_family == AF_INET6;
		const uint8_t *p;
		size_t l;

		/* §3.15.1: a non-empty value asks for that address: the
		 * configured one, else the one we had */
		for (int j = 0; m && addr_zero(want) && j < m->n; j++)
			if (m->a[j].ss_family == want->ss_family)
				want = &m->a[j];
		cp.a[cp.n].type = v6 ? IKEV2_CP_INTERNAL_IP6_ADDRESS : IKEV2_CP_INTERNAL_IP4_ADDRESS;
		if (!addr_zero(want)) {
			l = addr_bytes(want, &p);
			memcpy(val[i], p, l);
			if (v6)
				val[i][l++] = 128;
			cp.a[cp.n].val.p = val[i];
			cp.a[cp.n].val.len = l;
		}
		cp.n++;
		cp.a[cp.n++].type = v6 ? IKEV2_CP_INTERNAL_IP6_DNS : IKEV2_CP_INTERNAL_IP4_DNS;
	}
	ike_put_cp(bld, &cp);
}

static bool asked(const struct conn_cfg *cc, int af)
{
	for (int i = 0; i < cc->n_vips; i++)
		if (cc->vips[i].ss_family == af)
			return true;
	return false;
}

/* An address of the reply into sa->rw->my_vip if we asked for its family and
 * a host can have it. */
static void take_addr(struct ike_sa *sa, int af, const uint8_t *p)
{
	struct sockaddr_storage ss;
	const char *bad;
	char a[ADDR_STRLEN];

	addr_from_bytes(&ss, af, p);
	addr_str(&ss, a, sizeof(a));
	if (!asked(sa->cfg, af)) {
		log_warn("%s: virtual IP %s in the CFG_REPLY ignored: we asked for no %s address",
			 ike_sa_name(sa), a, af == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	bad = config_not_a_host(&ss);
	if (bad) {
		log_warn("%s: virtual IP %s in the CFG_REPLY refused: %s is no host's address",
			 ike_sa_name(sa), a, bad);
		return;
	}
	sa->rw->my_vip[sa->rw->n_my_vip++] = ss;
}

/* On the host with a kernel backend; none says it puts nothing there. */
static void vip_install(struct ike_sa *sa)
{
	struct kbackend *kb = sa->e->kb;
	char a[ADDR_STRLEN], ifn[IF_NAMESIZE] = "";

	for (int i = 0; i < ike_n_my_vip(sa); i++) {
		int r;

		addr_str(&sa->rw->my_vip[i], a, sizeof(a));
		if (!kb || !kb->ops->vip_add) {
			log_debug("%s: virtual IP %s not put on the host: the backend cannot",
				  ike_sa_name(sa), a);
			continue;
		}
		r = kb->ops->vip_add(kb, &sa->rw->my_vip[i], &sa->path.local, ifn);
		if (!r) {
			sa->rw->vip_installed |= (uint8_t)(1u << i);
			if (kb->kind == KB_NONE)
				log_debug("%s: virtual IP %s not put on the host: backend none installs nothing",
					  ike_sa_name(sa), a);
			else
				log_info("%s: virtual IP %s added to %s", ike_sa_name(sa), a, ifn);
		} else if (r == -EEXIST) {
			log_info("%s: virtual IP %s is on the host already: left as it is",
				 ike_sa_name(sa), a);
		} else {
			log_warn("%s: virtual IP %s could not be put on the host: %s",
				 ike_sa_name(sa), a, kb->kb_error[0] ? kb->kb_error : strerror(-r));
		}
	}
}

int vip_reply_take(struct ike_sa *sa, const struct ike_msg *inner)
{
	const struct ike_pl *pl = ike_msg_find(inner, IKEV2_PL_CP);
	struct vip_memo *m;
	struct ike_cp_got g;
	struct ike_cp cp;
	char a[ADDR_STRLEN];

	if (!sa->rw || !sa->rw->vip_asked) {
		if (pl)
			log_warn("%s: CP payload in the IKE_AUTH response ignored: we asked for no virtual IP",
				 ike_sa_name(sa));
		return 0;
	}
	if (!pl) {
		log_warn("%s: the peer gave no virtual IP (no CFG_REPLY in its IKE_AUTH response)",
			 ike_sa_name(sa));
		return -ENOENT;
	}
	if (ike_get_cp(pl, &cp) || (cp.cfg_type == IKEV2_CFG_REPLY && ike_cp_got(&cp, &g))) {
		log_warn("%s: malformed CP payload in the IKE_AUTH response", ike_sa_name(sa));
		return -EBADMSG;
	}
	if (cp.cfg_type != IKEV2_CFG_REPLY) {
		log_warn("%s: the peer gave no virtual IP (a CP payload of type %u, not CFG_REPLY)",
			 ike_sa_name(sa), cp.cfg_type);
		return -ENOENT;
	}
	if (cp.skipped || g.extra)
		log_info("%s: CFG_REPLY with %d attributes: the first address of each family and %d DNS servers of each read",
			 ike_sa_name(sa), cp.n + cp.skipped, IKE_MAX_CP_DNS);
	sa->rw->n_my_vip = 0;
	if (g.has4)
		take_addr(sa, AF_INET, g.ip4);
	if (g.has6)
		take_addr(sa, AF_INET6, g.ip6);
	if (!sa->rw->n_my_vip) {
		log_warn("%s: the peer gave no usable virtual IP: the Child SA is refused",
			 ike_sa_name(sa));
		return -ENOENT;
	}
	sa->rw->n_vip_dns = 0;
	for (int i = 0; i < g.n_dns4; i++)
		addr_from_bytes(&sa->rw->vip_dns[sa->rw->n_vip_dns++], AF_INET, g.dns4[i]);
	for (int i = 0; i < g.n_dns6; i++)
		addr_from_bytes(&sa->rw->vip_dns[sa->rw->n_vip_dns++], AF_INET6, g.dns6[i]);
	for (int i = 0; i < sa->rw->n_my_vip; i++)
		log_info("%s: virtual IP %s from the peer", ike_sa_name(sa),
			 addr_str(&sa->rw->my_vip[i], a, sizeof(a)));
	for (int i = 0; i < sa->rw->n_vip_dns; i++)
		log_info("%s: DNS server %s from the peer (shown, not applied)", ike_sa_name(sa),
			 addr_str(&sa->rw->vip_dns[i], a, sizeof(a)));
	m = memo_of(sa->e, sa->cfg->name, true);
	if (m) {
		memcpy(m->a, sa->rw->my_vip, sizeof(m->a));
		m->n = sa->rw->n_my_vip;
	}
	vip_install(sa);
	return 0;
}

void vip_drop(struct ike_sa *sa)
{
	struct kbackend *kb = sa->e->kb;
	char a[ADDR_STRLEN];

	if (!sa->rw)
		return;
	for (int i = 0; i < sa->rw->n_my_vip; i++) {
		int r;

		if (!(sa->rw->vip_installed & (1u << i)) || !kb || !kb->ops->vip_del)
			continue;
		addr_str(&sa->rw->my_vip[i], a, sizeof(a));
		r = kb->ops->vip_del(kb, &sa->rw->my_vip[i]);
		if (r && r != -ENOENT)
			log_warn("%s: virtual IP %s could not be taken off the host: %s",
				 ike_sa_name(sa), a, kb->kb_error[0] ? kb->kb_error : strerror(-r));
		else if (kb->kind != KB_NONE)
			log_info("%s: virtual IP %s taken off the host", ike_sa_name(sa), a);
	}
	sa->rw->vip_installed = 0;
	sa->rw->n_my_vip = 0;
	sa->rw->n_vip_dns = 0;
}
