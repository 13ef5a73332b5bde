// SPDX-License-Identifier: GPL-2.0
/*
 * SPD entries: validated parameters -> an ordinary xfrm_policy with one
 * ESP template (as xfrm_user's xfrm_policy_construct builds them, with
 * the same audit record and key-manager notification), recorded as owned
 * by the module.  A record holds a reference on exactly that policy (a
 * policy of someone else's with the same identity is never taken for it)
 * and on the module (which cannot be unloaded while it owns a policy).
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <net/xfrm.h>

#include "tcpike.h"

static const struct rhashtable_params policy_ht_params = {
	.key_len = sizeof(struct tcpike_policy_id),
	.key_offset = offsetof(struct tcpike_policy, id),
	.head_offset = offsetof(struct tcpike_policy, hnode),
	.automatic_shrinking = true,
};

int tcpike_policy_init(struct tcpike_net *tn)
{
	INIT_LIST_HEAD(&tn->policies);
	return rhashtable_init(&tn->policy_ht, &policy_ht_params);
}

/* After tcpike_policy_forget_all(): the table is empty. */
void tcpike_policy_fini(struct tcpike_net *tn)
{
	rhashtable_destroy(&tn->policy_ht);
}

/*
 * The kernel tells SPD entries apart by direction, selector, mark (value
 * and mask, exactly: xfrm_policy_mark_match) and if_id, so two policies
 * with one selector on two xfrm interfaces are two entries.  The key is
 * built field by field so that no padding byte takes part.
 */
void tcpike_policy_key(struct tcpike_policy_id *k, u8 dir, const struct xfrm_selector *sel,
		       const struct xfrm_mark *mark, u32 if_id)
{
	memset(k, 0, sizeof(*k));
	k->sel.daddr = sel->daddr;
	k->sel.saddr = sel->saddr;
	k->sel.dport = sel->dport;
	k->sel.dport_mask = sel->dport_mask;
	k->sel.sport = sel->sport;
	k->sel.sport_mask = sel->sport_mask;
	k->sel.family = sel->family;
	k->sel.prefixlen_d = sel->prefixlen_d;
	k->sel.prefixlen_s = sel->prefixlen_s;
	k->sel.proto = sel->proto;
	k->sel.ifindex = sel->ifindex;
	k->sel.user = sel->user;
	k->mark = *mark;
	k->if_id = if_id;
	k->dir = dir;
}

/* Caller holds own_lock. */
static struct tcpike_policy *policy_find(struct tcpike_net *tn, const struct tcpike_policy_id *id)
{
	struct tcpike_policy_id k;

	tcpike_policy_key(&k, id->dir, &id->sel, &id->mark, id->if_id);
	return rhashtable_lookup_fast(&tn->policy_ht, &k, policy_ht_params);
}

/* Caller holds own_lock: the record with xp's identity in direction dir,
 * whatever policy it holds.
 */
static struct tcpike_policy *policy_find_xp(struct tcpike_net *tn, const struct xfrm_policy *xp,
					    int dir)
{
	struct tcpike_policy_id k;

	if (tn->dead || dir < 0 || dir >= XFRM_POLICY_MAX || xp->type != XFRM_POLICY_TYPE_MAIN)
		return NULL;
	tcpike_policy_key(&k, dir, &xp->selector, &xp->mark, xp->if_id);
	return rhashtable_lookup_fast(&tn->policy_ht, &k, policy_ht_params);
}

static bool policy_dead(const struct xfrm_policy *xp)
{
	return READ_ONCE(xp->walk.dead);
}

/* Caller holds own_lock; p is then released with policy_release(). */
static void policy_unlink(struct tcpike_net *tn, struct tcpike_policy *p)
{
	rhashtable_remove_fast(&tn->policy_ht, &p->hnode, policy_ht_params);
	list_del(&p->node);
	tn->nr_policies--;
	tn->policy_gen++;
}

/* Drops what the record holds (any context). */
static void policy_release(struct tcpike_policy *p)
{
	xfrm_pol_put(p->xp);
	module_put(THIS_MODULE);
	kfree_rcu(p, rcu);
}

bool tcpike_policy_ours(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir)
{
	struct tcpike_policy *p;
	bool ours;

	spin_lock_bh(&tn->own_lock);
	p = policy_find_xp(tn, xp, dir);
	ours = p && p->xp == xp;
	spin_unlock_bh(&tn->own_lock);
	return ours;
}

bool tcpike_policy_forget(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir)
{
	struct tcpike_policy *p;

	spin_lock_bh(&tn->own_lock);
	p = policy_find_xp(tn, xp, dir);
	if (p && p->xp == xp)
		policy_unlink(tn, p);
	else
		p = NULL;
	spin_unlock_bh(&tn->own_lock);
	if (p)
		policy_release(p);	/* the caller still holds xp */
	return p;
}

bool tcpike_policy_shadowed(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir)
{
	struct tcpike_policy *p;
	bool shadowed;

	spin_lock_bh(&tn->own_lock);
	p = policy_find_xp(tn, xp, dir);
	shadowed = p && p->xp != xp;
	spin_unlock_bh(&tn->own_lock);
	return shadowed;
}

static void policy_notify(struct xfrm_policy *xp, int dir, int event)
{
	struct km_event c = { .event = event, .net = xp_net(xp) };

	km_policy_notify(xp, dir, &c);
}

int tcpike_policy_create(struct net *net, const struct tcpike_policy_params *pp,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *own, *old;
	struct xfrm_policy *xp;
	struct xfrm_tmpl *t;
	int err;

	if (!try_module_get(THIS_MODULE)) {
		NL_SET_ERR_MSG_MOD(extack, "the module is being unloaded");
		return -ENODEV;
	}
	own = kzalloc(sizeof(*own), GFP_KERNEL_ACCOUNT);
	xp = xfrm_policy_alloc(net, GFP_KERNEL);
	if (!own || !xp) {
		kfree(own);
		if (xp) {
			xp->walk.dead = 1;	/* never linked */
			xfrm_policy_destroy(xp);
		}
		module_put(THIS_MODULE);
		return -ENOMEM;
	}
	tcpike_policy_key(&own->id, pp->dir, &pp->sel, &pp->mark, pp->if_id);
	xp->selector = pp->sel;
	/* No byte or packet limits, as af_key and iproute2 install them. */
	xp->lft.soft_byte_limit = XFRM_INF;
	xp->lft.hard_byte_limit = XFRM_INF;
	xp->lft.soft_packet_limit = XFRM_INF;
	xp->lft.hard_packet_limit = XFRM_INF;
	xp->family = pp->sel.family;
	xp->priority = pp->priority;
	xp->action = XFRM_POLICY_ALLOW;
	xp->type = XFRM_POLICY_TYPE_MAIN;
	xp->mark = pp->mark;
	xp->if_id = pp->if_id;
	xp->xfrm_nr = 1;
	t = &xp->xfrm_vec[0];
	t->id.proto = IPPROTO_ESP;
	t->reqid = pp->reqid;
	t->mode = pp->mode == TCPIKE_MODE_TRANSPORT ? XFRM_MODE_TRANSPORT :
						      XFRM_MODE_TUNNEL;
	if (t->mode == XFRM_MODE_TUNNEL) {
		t->saddr = pp->tsrc;
		t->id.daddr = pp->tdst;
	}
	t->encap_family = pp->sel.family;
	t->aalgos = ~0;
	t->ealgos = ~0;
	t->calgos = ~0;
	t->allalgs = 1;
	xfrm_pol_hold(xp);
	own->xp = xp;

	mutex_lock(&tn->lock);
	/* Recorded before it is inserted, so an acquire for it is never
	 * refused.  A record of the same identity whose policy is dead
	 * (deleted by someone else, not yet noticed) gives way.
	 */
	spin_lock_bh(&tn->own_lock);
	old = policy_find(tn, &own->id);
	if (old && !policy_dead(old->xp)) {
		err = -EEXIST;
		old = NULL;
	} else {
		if (old)
			policy_unlink(tn, old);
		err = rhashtable_insert_fast(&tn->policy_ht, &own->hnode, policy_ht_params);
	}
	if (!err) {
		list_add_tail(&own->node, &tn->policies);
		tn->nr_policies++;
		tn->policy_gen++;
	}
	spin_unlock_bh(&tn->own_lock);
	if (old) {
		tcpike_event_policy_deleted(tn, old->xp, old->id.dir, TCPIKE_DEL_VANISHED,
					    GFP_KERNEL);
		policy_release(old);
	}
	if (err) {
		mutex_unlock(&tn->lock);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack,
					   "a policy with this direction and selector exists (and the same mark and if_id)");
		else
			NL_SET_ERR_MSG_MOD(extack, "no memory to record the policy");
		goto err_destroy;
	}
	err = xfrm_policy_insert(pp->dir, xp, 1);
	xfrm_audit_policy_add(xp, err ? 0 : 1, true);
	if (err) {
		spin_lock_bh(&tn->own_lock);
		policy_unlink(tn, own);
		spin_unlock_bh(&tn->own_lock);
		mutex_unlock(&tn->lock);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack,
					   "a policy with this direction and selector exists (and the same mark and if_id)");
		else
			NL_SET_ERR_MSG_MOD(extack, "the kernel refused to insert the policy");
		goto err_destroy;
	}
	mutex_unlock(&tn->lock);
	policy_notify(xp, pp->dir, XFRM_MSG_NEWPOLICY);
	xfrm_pol_put(xp);	/* the SPD and the record hold it */
	return 0;

err_destroy:
	xp->walk.dead = 1;	/* never linked: xfrm_policy_destroy's condition */
	policy_release(own);
	xfrm_pol_put(xp);
	return err;
}

struct xfrm_policy *tcpike_policy_get(struct tcpike_net *tn, const struct tcpike_policy_id *id)
{
	struct xfrm_policy *xp = NULL;
	struct tcpike_policy *p;

	spin_lock_bh(&tn->own_lock);
	p = tn->dead ? NULL : policy_find(tn, id);
	if (p && policy_dead(p->xp)) {
		tn->gone_flags |= TCPIKE_GONE_POL_SCAN;
		schedule_work(&tn->gone_work);
	} else if (p) {
		xp = p->xp;
		xfrm_pol_hold(xp);
	}
	spin_unlock_bh(&tn->own_lock);
	return xp;
}

int tcpike_policy_delete(struct net *net, const struct tcpike_policy_id *id,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_policy *xp = NULL;
	struct tcpike_policy *p;
	int err = -ENOENT;

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	p = policy_find(tn, id);
	if (p) {
		policy_unlink(tn, p);
		xp = p->xp;
		xfrm_pol_hold(xp);
	}
	spin_unlock_bh(&tn->own_lock);
	if (p) {
		policy_release(p);
		err = xfrm_policy_delete(xp, id->dir);
		xfrm_audit_policy_delete(xp, err ? 0 : 1, true);
		if (!err) {
			policy_notify(xp, id->dir, XFRM_MSG_DELPOLICY);
		} else {
			/* Gone already: someone else deleted or replaced it. */
			tcpike_event_policy_deleted(tn, xp, id->dir, TCPIKE_DEL_VANISHED,
						    GFP_KERNEL);
			err = -ENOENT;
		}
		xfrm_pol_put(xp);
	}
	mutex_unlock(&tn->lock);
	if (err)
		NL_SET_ERR_MSG_MOD(extack,
				   "no policy with this direction and selector was created by tcpike (with this mark and if_id)");
	return err;
}

/* Namespace exit: the records go; XFRM's own exit, after this module's,
 * flushes the namespace's policies.
 */
void tcpike_policy_forget_all(struct tcpike_net *tn)
{
	struct tcpike_policy *p, *tmp;
	LIST_HEAD(gone);

	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &tn->policies, node) {
		policy_unlink(tn, p);
		list_add_tail(&p->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &gone, node)
		policy_release(p);
}

/* gone_work: the records whose policy is dead are dropped and reported. */
void tcpike_policy_drop_dead(struct tcpike_net *tn, u8 reason)
{
	struct tcpike_policy *p, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &tn->policies, node) {
		if (!policy_dead(p->xp))
			continue;
		policy_unlink(tn, p);
		list_add_tail(&p->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	mutex_unlock(&tn->lock);
	list_for_each_entry_safe(p, tmp, &gone, node) {
		tcpike_event_policy_deleted(tn, p->xp, p->id.dir, reason, GFP_KERNEL);
		policy_release(p);
	}
}

/*
 * A policy's template gets new tunnel endpoints in place, as
 * xfrm_policy_migrate() rewrites them for XFRM_MSG_MIGRATE: under the
 * policy's lock, and the genid bumped so cached bundles (routes built
 * through the old tunnel) are dropped.  RFC 7296 §2.23: the SAs moved to
 * the peer's new address (tcpike_sa_move), and the policy must find them
 * there.
 */
int tcpike_policy_move(struct net *net, const struct tcpike_policy_id *id,
		       const xfrm_address_t *tsrc, const xfrm_address_t *tdst,
		       struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_policy *xp;
	int err = 0;

	mutex_lock(&tn->lock);
	xp = tcpike_policy_get(tn, id);
	if (!xp) {
		mutex_unlock(&tn->lock);
		NL_SET_ERR_MSG_MOD(extack,
				   "no policy with this direction and selector was created by tcpike (with this mark and if_id)");
		return -ENOENT;
	}
	write_lock_bh(&xp->lock);
	if (xp->walk.dead) {
		err = -ENOENT;
		NL_SET_ERR_MSG_MOD(extack, "the policy was deleted during the move");
	} else if (xp->xfrm_nr != 1 || xp->xfrm_vec[0].mode != XFRM_MODE_TUNNEL) {
		err = -EINVAL;
		NL_SET_ERR_MSG_MOD(extack, "only a tunnel-mode policy has endpoints to move");
	} else {
		xp->xfrm_vec[0].id.daddr = *tdst;
		xp->xfrm_vec[0].saddr = *tsrc;
		atomic_inc(&xp->genid);
	}
	write_unlock_bh(&xp->lock);
	if (!err)
		policy_notify(xp, id->dir, XFRM_MSG_UPDPOLICY);
	xfrm_pol_put(xp);
	mutex_unlock(&tn->lock);
	return err;
}
