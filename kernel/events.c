// SPDX-License-Identifier: GPL-2.0
/*
 * Events: the module registers as an XFRM key manager (as af_key does) and
 * forwards, for the SAs and policies it owns, expire, acquire and NAT
 * mapping notifications to the "events" multicast group of the namespace,
 * and tells of its SAs and policies someone else deleted (ip xfrm ...
 * delete and flush notify every key manager).  The callbacks run in atomic
 * context (the state timer, the packet path, under RCU), so everything
 * here allocates with GFP_ATOMIC and takes only own_lock; what needs a
 * walk of the tables (a flush names nothing) is left to gone_work.
 *
 * "Ours" always means the very state or policy a record holds, compared
 * by pointer: a state someone else made with the same SPI, destination
 * and mark (or a policy with the same selector) is not reported and not
 * adopted.
 */
#include <net/genetlink.h>
#include <net/xfrm.h>

#include "tcpike.h"

static void count_dropped(struct tcpike_net *tn)
{
	spin_lock_bh(&tn->own_lock);
	tn->events_dropped++;
	spin_unlock_bh(&tn->own_lock);
}

/* A new event message, or NULL (counted lost). */
static struct sk_buff *event_start(struct tcpike_net *tn, u8 cmd, void **hdr, gfp_t gfp)
{
	struct sk_buff *msg = tcpike_event_new(cmd, hdr, gfp);

	if (!msg)
		count_dropped(tn);
	return msg;
}

/* Sends msg once its attributes are in (err 0), or counts it lost. */
static int event_end(struct tcpike_net *tn, struct sk_buff *msg, void *hdr, int err)
{
	if (err) {
		nlmsg_free(msg);
		count_dropped(tn);
		return -ENOMEM;
	}
	genlmsg_end(msg, hdr);
	return tcpike_event_send(tn->net, msg);
}

/* What names an SA in an event: SPI, FAMILY, DST. */
static int put_sa_id(struct sk_buff *msg, const struct xfrm_state *x)
{
	return nla_put_be32(msg, TCPIKE_A_SPI, x->id.spi) ?:
	       nla_put_u16(msg, TCPIKE_A_FAMILY, x->props.family) ?:
	       tcpike_put_addr(msg, TCPIKE_A_DST, x->props.family, &x->id.daddr);
}

static void event_expire(struct tcpike_net *tn, struct xfrm_state *x, bool hard)
{
	struct sk_buff *msg;
	void *hdr;

	msg = event_start(tn, TCPIKE_CMD_EVENT_EXPIRE, &hdr, GFP_ATOMIC);
	if (msg)
		event_end(tn, msg, hdr,
			  put_sa_id(msg, x) ?:
			  nla_put_u8(msg, TCPIKE_A_EVENT_HARD, hard ? 1 : 0));
}

void tcpike_event_sa_deleted(struct tcpike_net *tn, struct xfrm_state *x, u8 reason, gfp_t gfp)
{
	struct sk_buff *msg;
	void *hdr;

	msg = event_start(tn, TCPIKE_CMD_EVENT_SA_DELETED, &hdr, gfp);
	if (msg)
		event_end(tn, msg, hdr,
			  put_sa_id(msg, x) ?:
			  tcpike_put_addr(msg, TCPIKE_A_SRC, x->props.family, &x->props.saddr) ?:
			  nla_put_u32(msg, TCPIKE_A_REQID, x->props.reqid) ?:
			  tcpike_put_mark(msg, &x->mark, x->if_id) ?:
			  nla_put_u8(msg, TCPIKE_A_DEL_REASON, reason));
}

void tcpike_event_policy_deleted(struct tcpike_net *tn, struct xfrm_policy *xp, u8 dir,
				 u8 reason, gfp_t gfp)
{
	struct sk_buff *msg;
	void *hdr;

	msg = event_start(tn, TCPIKE_CMD_EVENT_POLICY_DELETED, &hdr, gfp);
	if (msg)
		event_end(tn, msg, hdr,
			  nla_put_u8(msg, TCPIKE_A_POLICY_DIR, dir) ?:
			  tcpike_put_selector(msg, &xp->selector) ?:
			  nla_put_u32(msg, TCPIKE_A_REQID,
				      xp->xfrm_nr ? xp->xfrm_vec[0].reqid : 0) ?:
			  tcpike_put_mark(msg, &xp->mark, xp->if_id) ?:
			  nla_put_u8(msg, TCPIKE_A_DEL_REASON, reason));
}

void tcpike_gone_kick(struct tcpike_net *tn, unsigned int flags)
{
	spin_lock_bh(&tn->own_lock);
	if (!tn->dead) {
		tn->gone_flags |= flags;
		schedule_work(&tn->gone_work);
	}
	spin_unlock_bh(&tn->own_lock);
}

/* Process context: the walks a flush (or a dead record met) asked for. */
void tcpike_gone_work(struct work_struct *w)
{
	struct tcpike_net *tn = container_of(w, struct tcpike_net, gone_work);
	unsigned int flags;

	spin_lock_bh(&tn->own_lock);
	flags = tn->dead ? 0 : tn->gone_flags;
	tn->gone_flags = 0;
	spin_unlock_bh(&tn->own_lock);
	if (flags & (TCPIKE_GONE_SA_FLUSH | TCPIKE_GONE_SA_SCAN))
		tcpike_sa_drop_dead(tn, (flags & TCPIKE_GONE_SA_FLUSH) ? TCPIKE_DEL_FLUSH :
									 TCPIKE_DEL_VANISHED);
	if (flags & (TCPIKE_GONE_POL_FLUSH | TCPIKE_GONE_POL_SCAN))
		tcpike_policy_drop_dead(tn, (flags & TCPIKE_GONE_POL_FLUSH) ? TCPIKE_DEL_FLUSH :
									      TCPIKE_DEL_VANISHED);
}

/*
 * Every key manager hears of every state change; expiries and deletions
 * of the module's SAs are its business.  x is NULL for a flush
 * (XFRM_MSG_FLUSHSA, from ip xfrm state flush), so the event is looked at
 * before x is.  XFRM_MSG_NEWAE comes from the packet path (replay
 * notifications): it is the first thing refused.
 */
static int tcpike_km_notify(struct xfrm_state *x, const struct km_event *c)
{
	struct tcpike_net *tn;

	switch (c->event) {
	case XFRM_MSG_EXPIRE:
		if (!x)
			return 0;
		tn = tcpike_pernet(xs_net(x));
		/* A hard expire means the kernel deleted the state. */
		if (c->data.hard ? tcpike_sa_forget(tn, x) : tcpike_sa_ours(tn, x))
			event_expire(tn, x, c->data.hard);
		return 0;
	case XFRM_MSG_DELSA:
		if (!x)
			return 0;
		/* Our own deletes unlink the record first: only someone
		 * else's delete finds it.
		 */
		tn = tcpike_pernet(xs_net(x));
		if (tcpike_sa_forget(tn, x))
			tcpike_event_sa_deleted(tn, x, TCPIKE_DEL_DELETE, GFP_ATOMIC);
		return 0;
	case XFRM_MSG_FLUSHSA:
		if (c->net && xfrm_id_proto_match(IPPROTO_ESP, c->data.proto))
			tcpike_gone_kick(tcpike_pernet(c->net), TCPIKE_GONE_SA_FLUSH);
		return 0;
	default:
		return 0;
	}
}

static int tcpike_km_acquire(struct xfrm_state *x, struct xfrm_tmpl *t,
			     struct xfrm_policy *xp)
{
	struct net *net = xs_net(x);
	struct tcpike_net *tn = tcpike_pernet(net);
	struct sk_buff *msg;
	void *hdr;

	if (!tcpike_policy_ours(tn, xp, XFRM_POLICY_OUT))
		return -ENOENT;		/* another key manager's business */
	/* Nobody to start the SA: say so, so that the larval state is not
	 * kept waiting for an answer that cannot come (km_query's error).
	 */
	if (!tcpike_events_listened(net))
		return -ESRCH;
	msg = event_start(tn, TCPIKE_CMD_EVENT_ACQUIRE, &hdr, GFP_ATOMIC);
	if (!msg)
		return -ENOMEM;
	return event_end(tn, msg, hdr,
			 tcpike_put_selector(msg, &xp->selector) ?:
			 nla_put_u32(msg, TCPIKE_A_REQID, t->reqid) ?:
			 tcpike_put_addr(msg, TCPIKE_A_SRC, x->props.family, &x->props.saddr) ?:
			 tcpike_put_addr(msg, TCPIKE_A_DST, x->props.family, &x->id.daddr));
}

/*
 * XFRM calls this (esp_input_done2, after the ICV checked) when an
 * authenticated packet of a UDP-encapsulated SA came from another address
 * or port than the SA's peer.  0 when reported, so XFRM stops asking other
 * key managers; -EINVAL for SAs that are not ours.
 */
static int tcpike_km_new_mapping(struct xfrm_state *x, xfrm_address_t *ipaddr, __be16 sport)
{
	struct tcpike_net *tn = tcpike_pernet(xs_net(x));
	unsigned short family = x->props.family;
	struct sk_buff *msg;
	void *hdr;

	if (!x->encap || !tcpike_sa_ours(tn, x))
		return -EINVAL;
	msg = event_start(tn, TCPIKE_CMD_EVENT_MAPPING, &hdr, GFP_ATOMIC);
	if (!msg)
		return -ENOMEM;
	return event_end(tn, msg, hdr,
			 put_sa_id(msg, x) ?:
			 tcpike_put_addr(msg, TCPIKE_A_SRC, family, &x->props.saddr) ?:
			 nla_put_be16(msg, TCPIKE_A_ENCAP_SPORT, x->encap->encap_sport) ?:
			 tcpike_put_addr(msg, TCPIKE_A_MAPPING_ADDR, family, ipaddr) ?:
			 nla_put_be16(msg, TCPIKE_A_MAPPING_PORT, sport));
}

/*
 * Policies: someone else's delete names the policy (ours only if it is
 * the very one recorded); a flush names none; an update (excl 0) or a
 * new policy with our identity means ours was replaced, found dead by
 * the walk.
 */
static int tcpike_km_notify_policy(struct xfrm_policy *xp, int dir, const struct km_event *c)
{
	struct tcpike_net *tn;

	switch (c->event) {
	case XFRM_MSG_DELPOLICY:
	case XFRM_MSG_POLEXPIRE:
		if (!xp || (c->event == XFRM_MSG_POLEXPIRE && !c->data.hard))
			return 0;
		tn = tcpike_pernet(xp_net(xp));
		if (tcpike_policy_forget(tn, xp, dir))
			tcpike_event_policy_deleted(tn, xp, dir, TCPIKE_DEL_DELETE, GFP_ATOMIC);
		return 0;
	case XFRM_MSG_FLUSHPOLICY:
		if (c->net && c->data.type == XFRM_POLICY_TYPE_MAIN)
			tcpike_gone_kick(tcpike_pernet(c->net), TCPIKE_GONE_POL_FLUSH);
		return 0;
	case XFRM_MSG_NEWPOLICY:
	case XFRM_MSG_UPDPOLICY:
		if (!xp)
			return 0;
		tn = tcpike_pernet(xp_net(xp));
		if (tcpike_policy_shadowed(tn, xp, dir))
			tcpike_gone_kick(tn, TCPIKE_GONE_POL_SCAN);
		return 0;
	default:
		return 0;
	}
}

static struct xfrm_policy *tcpike_km_compile_policy(struct sock *sk, int opt, u8 *data,
						    int len, int *dir)
{
	return NULL;	/* per-socket policies are not ours to parse */
}

/*
 * xfrm_state_find asks before it makes a larval (ACQ) state for a packet
 * that hit a policy without an SA: only when the daemon listens in that
 * namespace is there anyone to acquire for.  Otherwise every such packet,
 * in every namespace, would allocate a state and ask every key manager.
 */
static bool tcpike_km_is_alive(const struct km_event *c)
{
	return c->net && tcpike_events_listened(c->net);
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
