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

/* Namespace teardown and module unload: remove every state the module
 * created in the namespace.
 */
static void __net_exit tcpike_net_exit(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);

	tcpike_ka_flush(net);
	tcpike_reach_flush(net);
	tcpike_policy_flush(net);
	tcpike_sa_flush(net);
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
	/* No events, then no new requests; then remove the states. */
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
