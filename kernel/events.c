// SPDX-License-Identifier: GPL-2.0
/*
 * Events: the module registers as an XFRM key manager (as af_key does) and
 * forwards, for the SAs and policies it owns, expire, acquire and NAT
 * mapping notifications to the "events" multicast group of the namespace.  The
 * callbacks run in atomic context (the state timer, the packet path), so
 * everything here allocates with GFP_ATOMIC and takes only own_lock.
 */
#include <net/genetlink.h>
#include <net/xfrm.h>

#include "tcpike.h"

static int put_addr(struct sk_buff *msg, int attr, unsigned short family,
		    const xfrm_address_t *a)
{
	return nla_put(msg, attr, family == AF_INET ? 4 : 16, a);
}

static void count_dropped(struct tcpike_net *tn)
{
	spin_lock_bh(&tn->own_lock);
	tn->events_dropped++;
	spin_unlock_bh(&tn->own_lock);
}

/*
 * Every key manager hears of every state change; only expiries of the
 * module's SAs are its business.  x is NULL for some events (a flush by
 * `ip xfrm state flush` notifies XFRM_MSG_FLUSHSA with none), so the event
 * is looked at before x is.
 */
static int tcpike_km_notify(struct xfrm_state *x, const struct km_event *c)
{
	struct tcpike_net *tn;
	unsigned short family;
	struct sk_buff *msg;
	struct net *net;
	void *hdr;

	if (c->event != XFRM_MSG_EXPIRE || !x || x->id.proto != IPPROTO_ESP)
		return 0;
	net = xs_net(x);
	tn = tcpike_pernet(net);
	family = x->props.family;
	/* A hard expire means the kernel deleted the state: forget it. */
	if (!tcpike_sa_owned(tn, family, &x->id.daddr, x->id.spi, c->data.hard))
		return 0;
	msg = tcpike_event_new(TCPIKE_CMD_EVENT_EXPIRE, &hdr);
	if (!msg)
		goto dropped;
	if (nla_put_be32(msg, TCPIKE_A_SPI, x->id.spi) ||
	    nla_put_u16(msg, TCPIKE_A_FAMILY, family) ||
	    put_addr(msg, TCPIKE_A_DST, family, &x->id.daddr) ||
	    nla_put_u8(msg, TCPIKE_A_EVENT_HARD, c->data.hard ? 1 : 0)) {
		nlmsg_free(msg);
		goto dropped;
	}
	genlmsg_end(msg, hdr);
	tcpike_event_send(net, msg);
	return 0;
dropped:
	count_dropped(tn);
	return 0;
}

static int tcpike_km_acquire(struct xfrm_state *x, struct xfrm_tmpl *t,
			     struct xfrm_policy *xp)
{
	struct net *net = xs_net(x);
	struct tcpike_net *tn = tcpike_pernet(net);
	const struct xfrm_selector *sel = &xp->selector;
	struct sk_buff *msg;
	void *hdr;

	if (!tcpike_policy_owned(tn, XFRM_POLICY_OUT, sel, &xp->mark, xp->if_id))
		return -ENOENT;		/* another key manager's business */
	msg = tcpike_event_new(TCPIKE_CMD_EVENT_ACQUIRE, &hdr);
	if (!msg)
		goto dropped;
	if (nla_put_u16(msg, TCPIKE_A_FAMILY, sel->family) ||
	    put_addr(msg, TCPIKE_A_SEL_SRC, sel->family, &sel->saddr) ||
	    put_addr(msg, TCPIKE_A_SEL_DST, sel->family, &sel->daddr) ||
	    nla_put_u8(msg, TCPIKE_A_SEL_SRC_PLEN, sel->prefixlen_s) ||
	    nla_put_u8(msg, TCPIKE_A_SEL_DST_PLEN, sel->prefixlen_d) ||
	    nla_put_u8(msg, TCPIKE_A_SEL_PROTO, sel->proto) ||
	    nla_put_u32(msg, TCPIKE_A_REQID, t->reqid) ||
	    put_addr(msg, TCPIKE_A_SRC, x->props.family, &x->props.saddr) ||
	    put_addr(msg, TCPIKE_A_DST, x->props.family, &x->id.daddr)) {
		nlmsg_free(msg);
		goto dropped;
	}
	genlmsg_end(msg, hdr);
	tcpike_event_send(net, msg);
	return 0;
dropped:
	count_dropped(tn);
	return -ENOMEM;
}

/*
 * XFRM calls this (esp_input_done2, after the ICV checked) when an
 * authenticated packet of a UDP-encapsulated SA came from another address
 * or port than the SA's peer.  0 when reported, so XFRM stops asking other
 * key managers; -EINVAL for SAs that are not ours.
 */
static int tcpike_km_new_mapping(struct xfrm_state *x, xfrm_address_t *ipaddr, __be16 sport)
{
	struct net *net = xs_net(x);
	struct tcpike_net *tn = tcpike_pernet(net);
	unsigned short family = x->props.family;
	struct sk_buff *msg;
	void *hdr;

	if (x->id.proto != IPPROTO_ESP || !x->encap ||
	    !tcpike_sa_owned(tn, family, &x->id.daddr, x->id.spi, false))
		return -EINVAL;
	msg = tcpike_event_new(TCPIKE_CMD_EVENT_MAPPING, &hdr);
	if (!msg)
		goto dropped;
	if (nla_put_be32(msg, TCPIKE_A_SPI, x->id.spi) ||
	    nla_put_u16(msg, TCPIKE_A_FAMILY, family) ||
	    put_addr(msg, TCPIKE_A_DST, family, &x->id.daddr) ||
	    put_addr(msg, TCPIKE_A_SRC, family, &x->props.saddr) ||
	    nla_put_be16(msg, TCPIKE_A_ENCAP_SPORT, x->encap->encap_sport) ||
	    put_addr(msg, TCPIKE_A_MAPPING_ADDR, family, ipaddr) ||
	    nla_put_be16(msg, TCPIKE_A_MAPPING_PORT, sport)) {
		nlmsg_free(msg);
		goto dropped;
	}
	genlmsg_end(msg, hdr);
	tcpike_event_send(net, msg);
	return 0;
dropped:
	count_dropped(tn);
	return -ENOMEM;
}

static int tcpike_km_notify_policy(struct xfrm_policy *xp, int dir, const struct km_event *c)
{
	return 0;
}

static struct xfrm_policy *tcpike_km_compile_policy(struct sock *sk, int opt, u8 *data,
						    int len, int *dir)
{
	return NULL;	/* per-socket policies are not ours to parse */
}

static bool tcpike_km_is_alive(const struct km_event *c)
{
	return true;
}

static struct xfrm_mgr tcpike_km = {
	.notify = tcpike_km_notify,
	.acquire = tcpike_km_acquire,
	.new_mapping = tcpike_km_new_mapping,
	.compile_policy = tcpike_km_compile_policy,
	.notify_policy = tcpike_km_notify_policy,
	.is_alive = tcpike_km_is_alive,
};

int __init tcpike_events_init(void)
{
	xfrm_register_km(&tcpike_km);
	return 0;
}

void tcpike_events_exit(void)
{
	xfrm_unregister_km(&tcpike_km);
}
