// SPDX-License-Identifier: GPL-2.0
/*
 * SPD entries: validated parameters -> an ordinary xfrm_policy with one
 * ESP template (as xfrm_user's xfrm_policy_construct builds them), recorded
 * as owned by the module so unload removes exactly these.
 */
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

/* After tcpike_policy_flush(): the table is empty. */
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

/* Caller holds own_lock; p is then freed with kfree_rcu(). */
static void policy_unlink(struct tcpike_net *tn, struct tcpike_policy *p)
{
	rhashtable_remove_fast(&tn->policy_ht, &p->hnode, policy_ht_params);
	list_del(&p->node);
	tn->nr_policies--;
	tn->policy_gen++;
}

bool tcpike_policy_owned(struct tcpike_net *tn, u8 dir, const struct xfrm_selector *sel,
			 const struct xfrm_mark *mark, u32 if_id)
{
	struct tcpike_policy_id k;
	bool owned;

	tcpike_policy_key(&k, dir, sel, mark, if_id);
	spin_lock_bh(&tn->own_lock);
	owned = rhashtable_lookup_fast(&tn->policy_ht, &k, policy_ht_params);
	spin_unlock_bh(&tn->own_lock);
	return owned;
}

int tcpike_policy_create(struct net *net, const struct tcpike_policy_params *pp,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *own, *stale;
	struct xfrm_policy *xp;
	struct xfrm_tmpl *t;
	int err;

	own = kzalloc(sizeof(*own), GFP_KERNEL);
	if (!own)
		return -ENOMEM;
	tcpike_policy_key(&own->id, pp->dir, &pp->sel, &pp->mark, pp->if_id);

	xp = xfrm_policy_alloc(net, GFP_KERNEL);
	if (!xp) {
		kfree(own);
		return -ENOMEM;
	}
	xp->selector = pp->sel;
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

	mutex_lock(&tn->lock);
	err = xfrm_policy_insert(pp->dir, xp, 1);
	if (err) {
		mutex_unlock(&tn->lock);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack,
					   "a policy with this direction and selector exists (and the same mark and if_id)");
		else
			NL_SET_ERR_MSG_MOD(extack, "the kernel refused to insert the policy");
		goto err_destroy;
	}
	spin_lock_bh(&tn->own_lock);
	/* The kernel had no such policy, so a record of one is stale (the
	 * policy was deleted with `ip xfrm policy`, which tells no key
	 * manager): it gives way.
	 */
	stale = rhashtable_lookup_fast(&tn->policy_ht, &own->id, policy_ht_params);
	if (stale) {
		policy_unlink(tn, stale);
		kfree_rcu(stale, rcu);
	}
	err = rhashtable_insert_fast(&tn->policy_ht, &own->hnode, policy_ht_params);
	if (!err) {
		list_add_tail(&own->node, &tn->policies);
		tn->nr_policies++;
		tn->policy_gen++;
	}
	spin_unlock_bh(&tn->own_lock);
	if (err) {
		/* Not recorded, so it must not stay in the kernel either. */
		xfrm_policy_delete(xp, pp->dir);
		mutex_unlock(&tn->lock);
		xfrm_pol_put(xp);
		kfree(own);
		NL_SET_ERR_MSG_MOD(extack, "no memory to record the policy");
		return err;
	}
	mutex_unlock(&tn->lock);
	xfrm_pol_put(xp);
	return 0;

err_destroy:
	xp->walk.dead = 1;
	xfrm_policy_destroy(xp);
	kfree(own);
	return err;
}

struct xfrm_policy *tcpike_policy_lookup(struct net *net, const struct tcpike_policy_id *id)
{
	struct xfrm_selector sel = id->sel;	/* the kernel's prototype is not const */
	int err;

	return xfrm_policy_bysel_ctx(net, &id->mark, id->if_id, XFRM_POLICY_TYPE_MAIN, id->dir,
				     &sel, NULL, 0, &err);
}

static void policy_remove(struct net *net, struct tcpike_policy *p)
{
	struct xfrm_policy *xp;
	int err;

	xp = xfrm_policy_bysel_ctx(net, &p->id.mark, p->id.if_id, XFRM_POLICY_TYPE_MAIN,
				   p->id.dir, &p->id.sel, NULL, 1, &err);
	if (xp)
		xfrm_pol_put(xp);
	kfree_rcu(p, rcu);
}

int tcpike_policy_delete(struct net *net, const struct tcpike_policy_id *id,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *p;

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	p = policy_find(tn, id);
	if (p)
		policy_unlink(tn, p);
	spin_unlock_bh(&tn->own_lock);
	if (p)
		policy_remove(net, p);
	mutex_unlock(&tn->lock);
	if (!p) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no policy with this direction and selector was created by tcpike (with this mark and if_id)");
		return -ENOENT;
	}
	return 0;
}

void tcpike_policy_flush(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *p, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &tn->policies, node) {
		policy_unlink(tn, p);
		list_add_tail(&p->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &gone, node)
		policy_remove(net, p);
	mutex_unlock(&tn->lock);
}
