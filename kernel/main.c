// SPDX-License-Identifier: GPL-2.0
/*
 * tcpike.ko: a thin generic-netlink front end to XFRM for the tcpiked IKEv2
 * daemon.  The module never touches packets: it creates ordinary xfrm
 * states through the kernel's exported XFRM functions (as net/key/af_key.c
 * does), so the kernel's own ESP does the crypto and `ip xfrm` shows
 * everything the module made.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "tcpike.h"

unsigned int tcpike_net_id __read_mostly;

static int __net_init tcpike_net_init(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	int err;

	mutex_init(&tn->lock);
	spin_lock_init(&tn->own_lock);
	INIT_WORK(&tn->gone_work, tcpike_gone_work);
	err = tcpike_sa_init(tn);
	if (err)
		return err;
	err = tcpike_policy_init(tn);
	if (err)
		goto err_sa;
	err = tcpike_ka_init(net);
	if (err)
		goto err_policy;
	tcpike_reach_init(net);
	return 0;

err_policy:
	tcpike_policy_fini(tn);
err_sa:
	tcpike_sa_fini(tn);
	return err;
}

/*
 * Namespace teardown (and module unload, which can only happen when the
 * module owns nothing: each SA and policy holds a reference on it).
 *
 * This exit runs before XFRM's own (pernet exits run in the reverse order
 * of registration), which flushes the namespace's states and policies; in
 * between, a state's timer can still expire and call the key-manager
 * callbacks.  So the namespace is marked dead under own_lock first, every
 * callback and work checks that, and only then do the works stop and the
 * records go (their states and policies are left to XFRM's flush).
 */
static void __net_exit tcpike_net_exit(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);

	spin_lock_bh(&tn->own_lock);
	tn->dead = true;
	spin_unlock_bh(&tn->own_lock);
	cancel_work_sync(&tn->gone_work);
	tcpike_ka_flush(net);
	tcpike_reach_flush(net);
	tcpike_policy_forget_all(tn);
	tcpike_sa_forget_all(tn);
	tcpike_ka_fini(net);
	tcpike_policy_fini(tn);
	tcpike_sa_fini(tn);
}

static struct pernet_operations tcpike_net_ops = {
	.init = tcpike_net_init,
	.exit = tcpike_net_exit,
	.id = &tcpike_net_id,
	.size = sizeof(struct tcpike_net),
};

static int __init tcpike_init(void)
{
	int err;

	err = register_pernet_subsys(&tcpike_net_ops);
	if (err)
		return err;
	err = tcpike_netlink_init();
	if (err)
		goto err_unregister_pernet;
	err = tcpike_events_init();
	if (err)
		goto err_unregister_genl;
	pr_info("tcpike: generic netlink family %s v%d registered\n",
		TCPIKE_GENL_NAME, TCPIKE_GENL_VERSION);
	return 0;

err_unregister_genl:
	tcpike_netlink_exit();
err_unregister_pernet:
	unregister_pernet_subsys(&tcpike_net_ops);
	return err;
}

static void __exit tcpike_exit(void)
{
	/* No key-manager callbacks (xfrm_unregister_km waits for those
	 * running), no reachability work, no requests; then each namespace's
	 * keepalives and works go.  There is no SA or policy left to remove:
	 * while the module owned one, it could not be unloaded.
	 */
	tcpike_events_exit();
	tcpike_reach_stop();
	tcpike_netlink_exit();
	unregister_pernet_subsys(&tcpike_net_ops);
}

module_init(tcpike_init);
module_exit(tcpike_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("tcpike: generic netlink programming of XFRM SAs for IKE over TCP");
MODULE_ALIAS_GENL_FAMILY(TCPIKE_GENL_NAME);
