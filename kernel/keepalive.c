// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 3948 NAT keepalives sent by the kernel for UDP-encapsulated peers:
 * one 0xFF byte in a UDP datagram with the ESP-in-UDP ports, every
 * interval.  6.1 has no kernel keepalive of its own (xfrm_nat_keepalive
 * came in 6.9), so the module does it the same way on both.
 *
 * Scale: one delayed work per namespace, not a timer per peer, and a
 * wheel of TCPIKE_KA_SLOTS one-second slots: a peer waits in the slot of
 * the second it is due (modulo the wheel), and the work, once a second,
 * walks only the slots of the seconds that passed.  A peer due in a later
 * turn of the wheel goes back to its slot untouched.  The walk takes the
 * lock (with bottom halves off: keepalive_set runs in process context,
 * but the lock must not be held by the work when a softirq on the same
 * CPU wants it) for at most KA_BATCH peers at a time: it copies what it
 * must send and moves each peer to its next slot, then sends the batch
 * with the lock dropped and bottom halves on, and yields.  The longest
 * time with bottom halves off is measured around each batch and kept
 * (STATS_KEEPALIVE_BH_PEAK_NS).  Setting or removing a peer finds it in a
 * hash table by addresses and ports, so setting N peers costs O(N).
 *
 * Each next due time is up to an eighth of the interval early (jitter),
 * and a new peer's first one anywhere in its first interval, so peers set
 * together do not stay in step.  A keepalive is not sent when an SA of the
 * module on the same addresses and ports sent ESP within the interval
 * (RFC 3948 §2.3: keepalives are for an otherwise idle mapping).  A
 * namespace holds at most max_keepalives peers (module parameter).
 *
 * The datagram is built here and handed to ip_local_out() after a plain
 * route lookup (no socket): the daemon's encapsulation socket holds the
 * source port, and binding a second socket to it would need SO_REUSEPORT
 * games that can steal its traffic.  A plain route (ip_route_output_key,
 * not the xfrm lookup) keeps the keepalive itself out of IPsec.
 */
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/route.h>

#include "tcpike.h"

struct tcpike_ka_key {
	__be32 saddr, daddr;
	__be16 sport, dport;
};

#define KA_BATCH	32	/* peers per hold of ka_lock */

static unsigned int max_keepalives = 200000;
module_param(max_keepalives, uint, 0644);
MODULE_PARM_DESC(max_keepalives, "NAT keepalive peers per network namespace (default 200000)");

struct tcpike_ka {
	struct tcpike_ka_key key;
	struct rhash_head hnode;	/* tn->ka_ht */
	struct list_head node;		/* its wheel slot (or the walk's list) */
	u32 interval_s;
	unsigned long due;		/* jiffies */
	struct rcu_head rcu;
};

static const struct rhashtable_params ka_ht_params = {
	.key_len = sizeof(struct tcpike_ka_key),
	.key_offset = offsetof(struct tcpike_ka, key),
	.head_offset = offsetof(struct tcpike_ka, hnode),
	.automatic_shrinking = true,
};

static int ka_send(struct net *net, const struct tcpike_ka_key *k)
{
	struct flowi4 fl4 = {
		.daddr = k->daddr,
		.saddr = k->saddr,
		.flowi4_proto = IPPROTO_UDP,
		.fl4_sport = k->sport,
		.fl4_dport = k->dport,
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
	uh->source = k->sport;
	uh->dest = k->dport;
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

/* The wheel slot of a due time. */
static struct list_head *ka_slot(struct tcpike_net *tn, unsigned long due)
{
	return &tn->ka_wheel[(due / HZ) % TCPIKE_KA_SLOTS];
}

/* Caller holds ka_lock: ka (re)enters the wheel at due. */
static void ka_queue(struct tcpike_net *tn, struct tcpike_ka *ka, unsigned long due)
{
	ka->due = due;
	list_move_tail(&ka->node, ka_slot(tn, due));
}

/*
 * The next due time after one sent at now: the interval less up to an
 * eighth of it (jitter), and less half a second, because the walk sends
 * what is due in a second only once that second is over (0 to 1 s late,
 * half a second on average).  Never before now: the seconds before now
 * are walked already.
 */
static unsigned long ka_next_due(const struct tcpike_ka *ka, unsigned long now)
{
	unsigned long ival = (unsigned long)ka->interval_s * HZ;
	unsigned long early = get_random_u32_below(ival / 8 + 1) + HZ / 2;

	return now + (ival > early ? ival - early : 0);
}

struct ka_send {
	struct tcpike_ka_key key;
	u32 interval_s;
};

/*
 * One slot's walk: its peers are moved to a list of the walk's own, then
 * taken KA_BATCH at a time, each hold of the lock timed from before it
 * is taken (bottom halves go off there) to its release.  Peers removed or
 * changed meanwhile (keepalive_set, under the lock) simply leave that
 * list.
 */
static void ka_walk_slot(struct tcpike_net *tn, struct list_head *slot)
{
	struct ka_send batch[KA_BATCH];
	unsigned int n, i, seen, sent, skipped;
	struct tcpike_ka *ka;
	LIST_HEAD(walk);
	unsigned long now;
	u64 t0, held;
	bool done;

	spin_lock_bh(&tn->ka_lock);
	list_splice_init(slot, &walk);
	spin_unlock_bh(&tn->ka_lock);
	do {
		n = 0;
		t0 = ktime_get_ns();
		spin_lock_bh(&tn->ka_lock);
		now = jiffies;
		for (seen = 0; seen < KA_BATCH && !list_empty(&walk); seen++) {
			ka = list_first_entry(&walk, struct tcpike_ka, node);
			if (time_before(now, ka->due)) {
				/* Due in a later turn of the wheel. */
				list_move_tail(&ka->node, ka_slot(tn, ka->due));
				continue;
			}
			batch[n].key = ka->key;
			batch[n].interval_s = ka->interval_s;
			n++;
			ka_queue(tn, ka, ka_next_due(ka, now));
		}
		done = list_empty(&walk);
		held = ktime_get_ns() - t0;
		if (held > tn->ka_bh_peak_ns)
			tn->ka_bh_peak_ns = held;
		spin_unlock_bh(&tn->ka_lock);
		sent = 0;
		skipped = 0;
		for (i = 0; i < n; i++) {
			const struct tcpike_ka_key *k = &batch[i].key;

			if (tcpike_sa_sent_lately(tn, k->saddr, k->daddr, k->sport, k->dport,
						  batch[i].interval_s))
				skipped++;
			else if (!ka_send(tn->net, k))
				sent++;
		}
		if (n) {
			spin_lock_bh(&tn->ka_lock);
			tn->keepalives_sent += sent;
			tn->keepalives_skipped += skipped;
			spin_unlock_bh(&tn->ka_lock);
		}
		cond_resched();
	} while (!done);
}

static void ka_work(struct work_struct *w)
{
	struct tcpike_net *tn = container_of(to_delayed_work(w), struct tcpike_net, ka_work);
	unsigned long now_s = jiffies / HZ, s, walks = 0;
	bool more;

	/* The seconds that ended since the last walk, each once (after a
	 * whole turn or more without a walk, every slot once).  Only this
	 * work touches ka_next.
	 */
	for (s = tn->ka_next; s < now_s && walks < TCPIKE_KA_SLOTS; s++, walks++)
		ka_walk_slot(tn, &tn->ka_wheel[s % TCPIKE_KA_SLOTS]);
	tn->ka_next = now_s;
	spin_lock_bh(&tn->ka_lock);
	more = tn->nr_keepalives;
	spin_unlock_bh(&tn->ka_lock);
	if (more)
		schedule_delayed_work(&tn->ka_work, HZ - jiffies % HZ);
}

int tcpike_ka_init(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	unsigned int i;

	tn->net = net;
	spin_lock_init(&tn->ka_lock);
	for (i = 0; i < TCPIKE_KA_SLOTS; i++)
		INIT_LIST_HEAD(&tn->ka_wheel[i]);
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
	bool first;
	int err;

	if (interval_s) {
		nka = kzalloc(sizeof(*nka), GFP_KERNEL_ACCOUNT);
		if (!nka)
			return -ENOMEM;
		nka->key = k;
		INIT_LIST_HEAD(&nka->node);
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
		if (tn->nr_keepalives >= READ_ONCE(max_keepalives)) {
			spin_unlock_bh(&tn->ka_lock);
			kfree(nka);
			NL_SET_ERR_MSG_MOD(extack,
					   "this namespace has as many keepalive peers as allowed (module parameter max_keepalives)");
			return -ENOSPC;
		}
		err = rhashtable_insert_fast(&tn->ka_ht, &nka->hnode, ka_ht_params);
		if (err) {
			spin_unlock_bh(&tn->ka_lock);
			kfree(nka);
			NL_SET_ERR_MSG_MOD(extack, "no memory to record the keepalive");
			return err;
		}
		tn->nr_keepalives++;
	}
	first = tn->nr_keepalives == 1 && !ka;
	nka->interval_s = interval_s;
	/* The first one anywhere in the first interval. */
	ka_queue(tn, nka, jiffies + 1 + get_random_u32_below(interval_s * HZ));
	spin_unlock_bh(&tn->ka_lock);
	if (first)
		mod_delayed_work(system_wq, &tn->ka_work, HZ - jiffies % HZ);
	return 0;
}

/* Namespace teardown: no work left running, no entry left. */
void tcpike_ka_flush(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_ka *ka, *tmp;
	LIST_HEAD(gone);
	unsigned int i;

	cancel_delayed_work_sync(&tn->ka_work);
	spin_lock_bh(&tn->ka_lock);
	for (i = 0; i < TCPIKE_KA_SLOTS; i++)
		list_splice_init(&tn->ka_wheel[i], &gone);
	spin_unlock_bh(&tn->ka_lock);
	list_for_each_entry_safe(ka, tmp, &gone, node) {
		rhashtable_remove_fast(&tn->ka_ht, &ka->hnode, ka_ht_params);
		list_del(&ka->node);
		kfree_rcu(ka, rcu);
		cond_resched();
	}
	tn->nr_keepalives = 0;
}
