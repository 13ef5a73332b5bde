// SPDX-License-Identifier: GPL-2.0
/*
 * Reachability of a peer, per SA pair.  A watch starts unknown and reports
 * each change of what it knows:
 *
 *   unknown/down -> up    inbound ESP on the paired SA: the first packet
 *                         after the watch was set (or changed), or the
 *                         first after a down
 *   unknown/up -> down    outbound ESP on the SA went on for the watch's
 *                         timeout with no inbound ESP on its pair (the path
 *                         or the peer is gone, RFC 7296 §2.4 liveness
 *                         without waiting for an IKE exchange)
 *
 * So a daemon that sets a watch and sends hears "up" as soon as the peer's
 * ESP comes back (tcpiked's ESP reachability probe after IKE over TCP),
 * or "down" when nothing came back for the timeout.
 *
 * The kernel's own counters are the evidence: curlft.packets of the
 * outbound state (counted as packets are sent) and of the inbound state
 * (counted once a packet decrypted and passed the replay check), so
 * nothing is added to the packet path.  One delayed work per namespace
 * samples every watch twice a second, as keepalive.c does for keepalives.
 * A steer replaces the states but carries curlft over, so a watch follows
 * its SAs across transports.  A watch whose outbound SA the module no
 * longer owns is dropped.
 */
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/xfrm.h>

#include "tcpike.h"

#define REACH_TICK	(HZ / 2)

/* Set at unload before the family goes: no watch is added after it, so
 * no work is left to send an event through an unregistered family.
 */
static bool reach_stopping;

enum reach_state {
	REACH_UNKNOWN,		/* set or changed: no inbound since, no down */
	REACH_UP,
	REACH_DOWN,
};

struct tcpike_reach {
	struct list_head node;
	unsigned short family;
	xfrm_address_t daddr;		/* outbound SA's destination */
	xfrm_address_t saddr;		/* its source: the paired SA's destination */
	__be32 spi, pair_spi;
	u32 timeout_s;
	unsigned long timeout;		/* jiffies */
	u64 out_pkts, in_pkts;		/* last samples */
	unsigned long out_start;	/* first outbound after the last inbound */
	unsigned long last_out;		/* last outbound seen */
	bool out_pending;		/* outbound since the last inbound */
	enum reach_state state;		/* as the last event said */
};

static void reach_event(struct tcpike_net *tn, const struct tcpike_reach *r)
{
	struct sk_buff *msg;
	void *hdr;

	msg = tcpike_event_new(TCPIKE_CMD_EVENT_REACH, &hdr, GFP_KERNEL);
	if (!msg)
		goto dropped;
	if (nla_put_be32(msg, TCPIKE_A_SPI, r->spi) ||
	    nla_put_u16(msg, TCPIKE_A_FAMILY, r->family) ||
	    tcpike_put_addr(msg, TCPIKE_A_DST, r->family, &r->daddr) ||
	    nla_put_be32(msg, TCPIKE_A_PAIR_SPI, r->pair_spi) ||
	    nla_put_u32(msg, TCPIKE_A_REACH_TIMEOUT, r->timeout_s) ||
	    nla_put_u8(msg, TCPIKE_A_REACH_UP, r->state == REACH_UP)) {
		nlmsg_free(msg);
		goto dropped;
	}
	genlmsg_end(msg, hdr);
	tcpike_event_send(tn->net, msg);
	return;
dropped:
	spin_lock_bh(&tn->own_lock);
	tn->events_dropped++;
	spin_unlock_bh(&tn->own_lock);
}

/* Packets processed by the state (daddr, spi), or false if it is gone. */
static bool sa_packets(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		       __be32 spi, u64 *pkts)
{
	struct xfrm_state *x = tcpike_sa_lookup(net, family, daddr, spi, NULL);

	if (!x)
		return false;
	spin_lock_bh(&x->lock);
	*pkts = x->curlft.packets;
	spin_unlock_bh(&x->lock);
	xfrm_state_put(x);
	return true;
}

/* One sample of one watch; false when the watch is to be dropped. */
static bool reach_sample(struct tcpike_net *tn, struct tcpike_reach *r, unsigned long now)
{
	u64 out, in;

	if (!tcpike_sa_known(tn, r->family, &r->daddr, r->spi))
		return false;
	if (!sa_packets(tn->net, r->family, &r->daddr, r->spi, &out) ||
	    !sa_packets(tn->net, r->family, &r->saddr, r->pair_spi, &in))
		return true;	/* mid-steer or the pair is being rekeyed */
	if (in != r->in_pkts) {
		r->in_pkts = in;
		r->out_pending = false;
		if (r->state != REACH_UP) {
			r->state = REACH_UP;
			reach_event(tn, r);
		}
	}
	if (out != r->out_pkts) {
		r->out_pkts = out;
		r->last_out = now;
		if (!r->out_pending) {
			r->out_pending = true;
			r->out_start = now;
		}
	}
	if (r->state != REACH_DOWN && r->out_pending &&
	    time_after_eq(r->last_out, r->out_start + r->timeout)) {
		r->state = REACH_DOWN;
		reach_event(tn, r);
	}
	return true;
}

static void reach_work(struct work_struct *w)
{
	struct tcpike_net *tn = container_of(to_delayed_work(w), struct tcpike_net, reach_work);
	struct tcpike_reach *r, *tmp;
	unsigned long now = jiffies;

	mutex_lock(&tn->reach_lock);
	list_for_each_entry_safe(r, tmp, &tn->reaches, node) {
		if (!reach_sample(tn, r, now)) {
			list_del(&r->node);
			tn->nr_reaches--;
			kfree(r);
		}
	}
	if (!list_empty(&tn->reaches))
		schedule_delayed_work(&tn->reach_work, REACH_TICK);
	mutex_unlock(&tn->reach_lock);
}

void tcpike_reach_init(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);

	mutex_init(&tn->reach_lock);
	INIT_LIST_HEAD(&tn->reaches);
	INIT_DELAYED_WORK(&tn->reach_work, reach_work);
}

static struct tcpike_reach *reach_find(struct tcpike_net *tn, unsigned short family,
				       const xfrm_address_t *daddr, __be32 spi)
{
	struct tcpike_reach *r;

	list_for_each_entry(r, &tn->reaches, node)
		if (r->spi == spi && r->family == family &&
		    xfrm_addr_equal(&r->daddr, daddr, family))
			return r;
	return NULL;
}

/* timeout_s 0 removes the watch of the outbound SA (family, daddr, spi). */
int tcpike_reach_set(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		     __be32 spi, __be32 pair_spi, u32 timeout_s,
		     struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_reach *r, *nr = NULL;
	struct xfrm_state *x;
	xfrm_address_t saddr;
	u64 out, in;

	if (!timeout_s) {
		mutex_lock(&tn->reach_lock);
		r = reach_find(tn, family, daddr, spi);
		if (r) {
			list_del(&r->node);
			tn->nr_reaches--;
		}
		mutex_unlock(&tn->reach_lock);
		if (!r) {
			NL_SET_ERR_MSG_MOD(extack, "no reachability watch on this SA");
			return -ENOENT;
		}
		kfree(r);
		return 0;
	}
	x = tcpike_sa_lookup(net, family, daddr, spi, extack);
	if (!x)
		return -ENOENT;
	saddr = x->props.saddr;
	xfrm_state_put(x);
	if (!sa_packets(net, family, &saddr, pair_spi, &in)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no paired SA (PAIR_SPI, destination the SA's source) was created by tcpike");
		return -ENOENT;
	}
	if (!sa_packets(net, family, daddr, spi, &out)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no SA with this SPI and destination was created by tcpike");
		return -ENOENT;
	}
	nr = kzalloc(sizeof(*nr), GFP_KERNEL);
	if (!nr)
		return -ENOMEM;
	mutex_lock(&tn->reach_lock);
	if (READ_ONCE(reach_stopping)) {
		mutex_unlock(&tn->reach_lock);
		kfree(nr);
		NL_SET_ERR_MSG_MOD(extack, "the module is being unloaded");
		return -ENODEV;
	}
	r = reach_find(tn, family, daddr, spi);
	if (r) {
		kfree(nr);
		nr = r;
	} else {
		list_add_tail(&nr->node, &tn->reaches);
		tn->nr_reaches++;
	}
	/* A new or changed watch starts from what the counters say now, and
	 * knows nothing: the next inbound packet is reported (up).
	 */
	nr->family = family;
	nr->daddr = *daddr;
	nr->saddr = saddr;
	nr->spi = spi;
	nr->pair_spi = pair_spi;
	nr->timeout_s = timeout_s;
	nr->timeout = timeout_s * HZ;
	nr->out_pkts = out;
	nr->in_pkts = in;
	nr->out_pending = false;
	nr->state = REACH_UNKNOWN;
	schedule_delayed_work(&tn->reach_work, REACH_TICK);
	mutex_unlock(&tn->reach_lock);
	return 0;
}

/* Namespace teardown / unload: no work left running, no watch left. */
void tcpike_reach_flush(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_reach *r, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&tn->reach_lock);
	list_splice_init(&tn->reaches, &gone);
	tn->nr_reaches = 0;
	mutex_unlock(&tn->reach_lock);
	/* The work re-arms only while the list is not empty. */
	cancel_delayed_work_sync(&tn->reach_work);
	list_for_each_entry_safe(r, tmp, &gone, node)
		kfree(r);
}

/* Unload, before the family is unregistered: every namespace's watches and
 * work go, and none can come back.
 */
void tcpike_reach_stop(void)
{
	struct net *net;

	WRITE_ONCE(reach_stopping, true);
	down_read(&net_rwsem);
	for_each_net(net)
		tcpike_reach_flush(net);
	up_read(&net_rwsem);
}
