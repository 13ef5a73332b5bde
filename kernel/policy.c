// SPDX-License-Identifier: GPL-2.0
/*
 * SPD entries: validated parameters -> an ordinary xfrm_policy with one
 * ESP template (as xfrm_user's xfrm_policy_construct builds them), recorded
 * as owned by the module so unload removes exactly these.
 */
#include <linux/slab.h>
#include <net/xfrm.h>

#include "tcpike.h"

/*
 * The kernel tells SPD entries apart by direction, selector, mark (value
 * and mask, exactly: xfrm_policy_mark_match) and if_id, so two policies
 * with one selector on two xfrm interfaces are two entries.  Caller holds
 * own_lock.
 */
static struct tcpike_policy *policy_find(struct tcpike_net *tn, u8 dir,
					 const struct xfrm_selector *sel,
					 const struct xfrm_mark *mark, u32 if_id)
{
	struct tcpike_policy *p;

	list_for_each_entry(p, &tn->policies, node)
		if (p->dir == dir && !memcmp(&p->sel, sel, sizeof(*sel)) &&
		    p->mark.v == mark->v && p->mark.m == mark->m && p->if_id == if_id)
			return p;
	return NULL;
}

bool tcpike_policy_owned(struct tcpike_net *tn, u8 dir, const struct xfrm_selector *sel,
			 const struct xfrm_mark *mark, u32 if_id)
{
	bool owned;

	spin_lock_bh(&tn->own_lock);
	owned = policy_find(tn, dir, sel, mark, if_id);
	spin_unlock_bh(&tn->own_lock);
	return owned;
}

int tcpike_policy_create(struct net *net, const struct tcpike_policy_params *pp,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *own;
	struct xfrm_policy *xp;
	struct xfrm_tmpl *t;
	int err;

	own = kzalloc(sizeof(*own), GFP_KERNEL);
	if (!own)
		return -ENOMEM;
	own->dir = pp->dir;
	own->sel = pp->sel;
	own->mark = pp->mark;
	own->if_id = pp->if_id;

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
		xp->walk.dead = 1;
		xfrm_policy_destroy(xp);
		kfree(own);
		return err;
	}
	spin_lock_bh(&tn->own_lock);
	list_add_tail(&own->node, &tn->policies);
	tn->nr_policies++;
	tn->policy_gen++;
	spin_unlock_bh(&tn->own_lock);
	mutex_unlock(&tn->lock);
	xfrm_pol_put(xp);
	return 0;
}

struct xfrm_policy *tcpike_policy_lookup(struct net *net, struct tcpike_policy *id)
{
	int err;

	return xfrm_policy_bysel_ctx(net, &id->mark, id->if_id, XFRM_POLICY_TYPE_MAIN, id->dir,
				     &id->sel, NULL, 0, &err);
}

static void policy_remove(struct net *net, struct tcpike_policy *p)
{
	struct xfrm_policy *xp;
	int err;

	xp = xfrm_policy_bysel_ctx(net, &p->mark, p->if_id, XFRM_POLICY_TYPE_MAIN, p->dir,
				   &p->sel, NULL, 1, &err);
	if (xp)
		xfrm_pol_put(xp);
	kfree(p);
}

int tcpike_policy_delete(struct net *net, const struct tcpike_policy *id,
			 struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_policy *p;

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	p = policy_find(tn, id->dir, &id->sel, &id->mark, id->if_id);
	if (p) {
		list_del(&p->node);
		tn->nr_policies--;
		tn->policy_gen++;
	}
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
	list_splice_init(&tn->policies, &gone);
	tn->nr_policies = 0;
	tn->policy_gen++;
	spin_unlock_bh(&tn->own_lock);
	list_for_each_entry_safe(p, tmp, &gone, node)
		policy_remove(net, p);
	mutex_unlock(&tn->lock);
}
