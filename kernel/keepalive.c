// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 3948 NAT keepalives sent by the kernel for UDP-encapsulated peers:
 * one 0xFF byte in a UDP datagram with the ESP-in-UDP ports, every
 * interval.  6.1 has no kernel keepalive of its own (xfrm_nat_keepalive
 * came in 6.9), so the module does it the same way on both.
 *
 * Scale: one list and one delayed work per namespace, not a timer per
 * peer.  The work runs once a second and sends for the peers that are due;
 * walking 100,000 entries is a few milliseconds a second.  Setting or
 * removing a peer finds it in a hash table by addresses and ports, so
 * setting N peers costs O(N), not O(N^2).
 *
 * The datagram is built here and handed to ip_local_out() after a plain
 * route lookup (no socket): the daemon's encapsulation socket holds the
 * source port, and binding a second socket to it would need SO_REUSEPORT
 * games that can steal its traffic.  A plain route (ip_route_output_key,
 * not the xfrm lookup) keeps the keepalive itself out of IPsec.
 */
#include <linux/ip.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/route.h>

#include "tcpike.h"

struct tcpike_ka_key {
	__be32 saddr, daddr;
	__be16 sport, dport;
};

struct tcpike_ka {
	struct tcpike_ka_key key;
	struct rhash_head hnode;	/* tn->ka_ht */
	struct list_head node;		/* tn->keepalives */
	unsigned long interval;		/* jiffies */
	unsigned long due;		/* jiffies */
	struct rcu_head rcu;
};

static const struct rhashtable_params ka_ht_params = {
	.key_len = sizeof(struct tcpike_ka_key),
	.key_offset = offsetof(struct tcpike_ka, key),
	.head_offset = offsetof(struct tcpike_ka, hnode),
	.automatic_shrinking = true,
};

static int ka_send(struct net *net, const struct tcpike_ka *ka)
{
	struct flowi4 fl4 = {
		.daddr = ka->key.daddr,
		.saddr = ka->key.saddr,
		.flowi4_proto = IPPROTO_UDP,
		.fl4_sport = ka->key.sport,
		.fl4_dport = ka->key.dport,
	};
	struct sk_buff *skb;
	struct rtable *rt;
	struct udphdr *uh;
	struct iphdr *iph;
	int hlen;

	rt = ip_route_output_key(net, &fl4);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	hlen = LL_RESERVED_SPACE(rt->dst.dev) + sizeof(*iph) + sizeof(*uh);
	skb = alloc_skb(hlen + 1, GFP_ATOMIC);
	if (!skb) {
		ip_rt_put(rt);
		return -ENOMEM;
	}
	skb_reserve(skb, hlen);
	skb_put_u8(skb, 0xff);
	uh = skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh->source = ka->key.sport;
	uh->dest = ka->key.dport;
	uh->len = htons(sizeof(*uh) + 1);
	uh->check = 0;			/* allowed for UDP over IPv4 */
	iph = skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) >> 2;
	iph->tos = 0;
	iph->tot_len = htons(skb->len);
	iph->frag_off = htons(IP_DF);
	iph->ttl = ip4_dst_hoplimit(&rt->dst);
	iph->protocol = IPPROTO_UDP;
	iph->saddr = fl4.saddr;
	iph->daddr = fl4.daddr;
	skb->protocol = htons(ETH_P_IP);
	skb_dst_set(skb, &rt->dst);
	ip_select_ident(net, skb, NULL);
	ip_send_check(iph);
	return ip_local_out(net, NULL, skb);
}

static void ka_work(struct work_struct *w)
{
	struct tcpike_net *tn = container_of(to_delayed_work(w), struct tcpike_net, ka_work);
	struct tcpike_ka *ka;
	unsigned long now = jiffies;
	u64 sent = 0;

	spin_lock_bh(&tn->ka_lock);
	list_for_each_entry(ka, &tn->keepalives, node) {
		if (time_before(now, ka->due))
			continue;
		ka->due = now + ka->interval;
		if (!ka_send(tn->net, ka))
			sent++;
	}
	tn->keepalives_sent += sent;
	if (!list_empty(&tn->keepalives))
		schedule_delayed_work(&tn->ka_work, HZ);
	spin_unlock_bh(&tn->ka_lock);
}

int tcpike_ka_init(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);

	tn->net = net;
	spin_lock_init(&tn->ka_lock);
	INIT_LIST_HEAD(&tn->keepalives);
	INIT_DELAYED_WORK(&tn->ka_work, ka_work);
	return rhashtable_init(&tn->ka_ht, &ka_ht_params);
}

/* After tcpike_ka_flush(): the table is empty. */
void tcpike_ka_fini(struct net *net)
{
	rhashtable_destroy(&tcpike_pernet(net)->ka_ht);
}

/* Caller holds ka_lock; ka is then freed with kfree_rcu(). */
static void ka_unlink(struct tcpike_net *tn, struct tcpike_ka *ka)
{
	rhashtable_remove_fast(&tn->ka_ht, &ka->hnode, ka_ht_params);
	list_del(&ka->node);
	tn->nr_keepalives--;
}

/* interval_s 0 removes the peer's keepalive. */
int tcpike_ka_set(struct net *net, __be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
		  u32 interval_s, struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_ka_key k = { .saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport };
	struct tcpike_ka *ka, *nka = NULL;
	int err;

	if (interval_s) {
		nka = kzalloc(sizeof(*nka), GFP_KERNEL);
		if (!nka)
			return -ENOMEM;
		nka->key = k;
	}
	spin_lock_bh(&tn->ka_lock);
	ka = rhashtable_lookup_fast(&tn->ka_ht, &k, ka_ht_params);
	if (!interval_s) {
		if (ka)
			ka_unlink(tn, ka);
		spin_unlock_bh(&tn->ka_lock);
		if (!ka) {
			NL_SET_ERR_MSG_MOD(extack, "no keepalive for these addresses and ports");
			return -ENOENT;
		}
		kfree_rcu(ka, rcu);
		return 0;
	}
	if (ka) {
		kfree(nka);
		nka = ka;
	} else {
		err = rhashtable_insert_fast(&tn->ka_ht, &nka->hnode, ka_ht_params);
		if (err) {
			spin_unlock_bh(&tn->ka_lock);
			kfree(nka);
			NL_SET_ERR_MSG_MOD(extack, "no memory to record the keepalive");
			return err;
		}
		list_add_tail(&nka->node, &tn->keepalives);
		tn->nr_keepalives++;
	}
	nka->interval = interval_s * HZ;
	nka->due = jiffies + nka->interval;
	schedule_delayed_work(&tn->ka_work, HZ);
	spin_unlock_bh(&tn->ka_lock);
	return 0;
}

/* Namespace teardown / unload: no work left running, no entry left. */
void tcpike_ka_flush(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_ka *ka, *tmp;
	LIST_HEAD(gone);

	spin_lock_bh(&tn->ka_lock);
	list_for_each_entry_safe(ka, tmp, &tn->keepalives, node) {
		ka_unlink(tn, ka);
		list_add_tail(&ka->node, &gone);
	}
	spin_unlock_bh(&tn->ka_lock);
	/* The work re-arms only while the list is not empty. */
	cancel_delayed_work_sync(&tn->ka_work);
	list_for_each_entry_safe(ka, tmp, &gone, node)
		kfree_rcu(ka, rcu);
}
