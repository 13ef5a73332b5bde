/* SPDX-License-Identifier: GPL-2.0 */
/* tcpike.ko internals shared between main.c, netlink.c and sa.c. */
#ifndef _TCPIKE_INTERNAL_H
#define _TCPIKE_INTERNAL_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rhashtable.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/xfrm.h>
#include <linux/tcpike.h>

#define TCPIKE_KA_SLOTS	64	/* keepalive wheel: one slot per second */

/* What the module created in one namespace, so that SA del refuses states
 * it does not own and namespace exit removes exactly these.
 *
 * Lock order: tn->lock (mutex), then an xfrm state's lock, then own_lock;
 * the key-manager callbacks run with the state's lock held or in atomic
 * context, so nothing is called under own_lock that takes another lock
 * (xfrm_state_put and module_put only).
 */
struct tcpike_net {
	struct mutex lock;		/* serialises create, delete and steer */
	/* Protects the lists, tables, counters, each record's object
	 * pointer and dead.
	 */
	spinlock_t own_lock;
	/* Set first at namespace exit: from then on the key-manager
	 * callbacks and the works leave the namespace alone (XFRM flushes
	 * its states only after this module's exit has run).
	 */
	bool dead;
	struct list_head sas;		/* struct tcpike_sa, in creation order */
	struct list_head policies;	/* struct tcpike_policy, the same */
	/* The same entries by identity: every add, delete and XFRM event
	 * looks its SA or policy up, so the lookup must not grow with the
	 * table (10,000 Child SAs are 20,000 SAs and 30,000 policies).
	 */
	struct rhashtable sa_ht;
	struct rhashtable policy_ht;
	/* The SAs again by (family, source, destination): the keepalive
	 * walk asks whether one of them sent ESP lately.
	 */
	struct rhltable sa_pair_ht;
	u32 nr_sas, nr_policies;
	unsigned int sa_gen;		/* bumped on every change of sas (dumps) */
	unsigned int policy_gen;	/* the same for policies */
	u64 sa_created, sa_deleted;
	u64 events_sent, events_dropped, steers;
	/* Records whose object someone else deleted without a notification
	 * naming it (a flush, a replacement) are found by a walk in process
	 * context: gone_work, asked for by gone_flags (own_lock).
	 */
	struct work_struct gone_work;
	unsigned int gone_flags;

	/* NAT keepalives (keepalive.c): a wheel of one-second slots, one
	 * delayed work.
	 */
	struct net *net;
	spinlock_t ka_lock;		/* the wheel, ka_ht, nr_keepalives, the counters */
	struct list_head ka_wheel[TCPIKE_KA_SLOTS];
	unsigned long ka_next;		/* the next second (jiffies / HZ) to walk */
	struct rhashtable ka_ht;	/* the entries by addresses and ports */
	u32 nr_keepalives;
	u64 keepalives_sent, keepalives_skipped;
	u64 ka_bh_peak_ns;		/* longest batch with bottom halves off */
	struct delayed_work ka_work;

	/* Reachability watches (reach.c): one list, one delayed work. */
	struct mutex reach_lock;
	struct list_head reaches;	/* struct tcpike_reach */
	u32 nr_reaches;
	struct delayed_work reach_work;
};

/* gone_flags */
#define TCPIKE_GONE_SA_FLUSH	BIT(0)	/* XFRM_MSG_FLUSHSA was notified */
#define TCPIKE_GONE_SA_SCAN	BIT(1)	/* a dead SA record was met */
#define TCPIKE_GONE_POL_FLUSH	BIT(2)	/* XFRM_MSG_FLUSHPOLICY was notified */
#define TCPIKE_GONE_POL_SCAN	BIT(3)	/* a policy of ours may be replaced */

#define TCPIKE_MAPPING_MAXAGE 5	/* seconds between repeated mapping events */

/*
 * The kernel's identity of an ESP SA, as a hash key: compared as bytes, so
 * built by tcpike_sa_key() (zeroed, an IPv4 address in its first 4 bytes
 * only), never by assignment.
 */
struct tcpike_sa_key {
	xfrm_address_t daddr;
	__be32 spi;
	u16 family;
	u16 zero;
};

/* What the module needs to find its SA again: identity, the mark the
 * kernel looks it up with, and its reqid (steer by reqid).  None of it
 * changes for the life of the SA.
 */
struct tcpike_sa_id {
	struct tcpike_sa_key key;
	u32 reqid;
	struct xfrm_mark mark;
};

/* Source and destination of an SA, as a hash key (built zeroed). */
struct tcpike_pair_key {
	xfrm_address_t saddr, daddr;
	u16 family;
	u16 zero;
};

/*
 * An SA the module owns: the record holds a reference on exactly the
 * state the module made (or the one a steer put in its place), so that
 * a state someone else made with the same identity is never taken for
 * it.  x changes only under own_lock (and the old state's lock).
 */
struct tcpike_sa {
	struct tcpike_sa_id id;		/* first: dumps copy it */
	struct tcpike_pair_key pair;
	struct xfrm_state *x;
	/* The keepalive walk's own record of output (own_lock): x's packet
	 * count when it last looked, and the second it last saw it change.
	 * Kernels before 6.9 do not set x->lastused on output.
	 */
	u64 ka_packets;
	time64_t ka_changed;
	struct rhash_head hnode;	/* tn->sa_ht */
	struct rhlist_head pnode;	/* tn->sa_pair_ht */
	struct list_head node;		/* tn->sas */
	struct rcu_head rcu;
};

/*
 * A policy the module owns: the kernel's identity of an SPD entry
 * (direction, selector, mark, if_id), a hash key built by
 * tcpike_policy_key() for the same reason as the SA's.
 */
struct tcpike_policy_id {
	struct xfrm_selector sel;
	struct xfrm_mark mark;
	u32 if_id;
	u8 dir;
	u8 zero[3];
};

/* A policy the module owns, holding a reference on exactly that policy. */
struct tcpike_policy {
	struct tcpike_policy_id id;	/* first: dumps copy it */
	struct xfrm_policy *xp;
	struct rhash_head hnode;	/* tn->policy_ht */
	struct list_head node;		/* tn->policies */
	struct rcu_head rcu;
};

struct tcpike_policy_params {
	u8 dir;
	struct xfrm_selector sel;
	u32 priority;
	u32 reqid;
	u8 mode;
	xfrm_address_t tsrc, tdst;	/* tunnel endpoints */
	struct xfrm_mark mark;
	u32 if_id;
};

extern unsigned int tcpike_net_id;

static inline struct tcpike_net *tcpike_pernet(struct net *net)
{
	return net_generic(net, tcpike_net_id);
}

/* Parsed, validated parameters of SA new (keys point into the request). */
struct tcpike_sa_params {
	__be32 spi;
	unsigned short family;
	xfrm_address_t saddr, daddr;
	u8 mode;
	u32 reqid;
	const char *aead_name, *enc_name, *auth_name;
	u32 aead_icv_bits, auth_trunc_bits;
	const u8 *enc_key, *auth_key;
	unsigned int enc_key_len, auth_key_len;	/* bytes */
	u32 replay_window;
	u32 flags;
	u64 soft_bytes, hard_bytes, soft_packets, hard_packets;
	u64 soft_seconds, hard_seconds;
	u8 encap;			/* enum tcpike_encap */
	__be16 encap_sport, encap_dport;
	struct xfrm_mark mark;		/* XFRMA_MARK: value/mask, 0/0 none */
	u32 if_id;			/* XFRMA_IF_ID: 0 none */
	/* A steer: the state whose anti-replay state is cloned (as
	 * xfrm_replay_clone does), instead of one built from replay_window
	 * and flags.
	 */
	const struct xfrm_state *replay_from;
};

int tcpike_sa_create(struct net *net, const struct tcpike_sa_params *p,
		     struct netlink_ext_ack *extack);
int tcpike_sa_delete(struct net *net, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi,
		     struct netlink_ext_ack *extack);
/* The state of an SA the module owns, with a reference, or NULL (with an
 * extack sentence when extack is given).
 */
struct xfrm_state *tcpike_sa_lookup(struct net *net, unsigned short family,
				    const xfrm_address_t *daddr, __be32 spi,
				    struct netlink_ext_ack *extack);
struct xfrm_state *tcpike_sa_get(struct tcpike_net *tn, const struct tcpike_sa_key *k);
void tcpike_sa_key(struct tcpike_sa_key *k, unsigned short family,
		   const xfrm_address_t *daddr, __be32 spi);
int tcpike_sa_init(struct tcpike_net *tn);
void tcpike_sa_fini(struct tcpike_net *tn);
void tcpike_sa_forget_all(struct tcpike_net *tn);
int tcpike_sa_steer(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		    __be32 spi, u8 encap, __be16 sport, __be16 dport,
		    struct netlink_ext_ack *extack);
/* Every SA of reqid to encap, all or none; lport/pport are the local and
 * the peer's port (each SA gets them in its direction).  The number of
 * SAs moved is left in *moved.
 */
int tcpike_sa_steer_reqid(struct net *net, u32 reqid, u8 encap, __be16 lport, __be16 pport,
			  unsigned int *moved, struct netlink_ext_ack *extack);
/* The SA (family, daddr, spi) on the outer addresses nsaddr -> ndaddr,
 * keeping SPI, keys, counters and replay state (sa.c); with ports, a
 * UDP-encapsulated SA's new ports.
 */
int tcpike_sa_move(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		   __be32 spi, const xfrm_address_t *nsaddr, const xfrm_address_t *ndaddr,
		   bool ports, __be16 sport, __be16 dport, struct netlink_ext_ack *extack);
/* Whether an SA the module owns on saddr -> daddr, in UDP with these
 * ports, sent ESP within the last interval_s seconds (keepalive.c).
 */
bool tcpike_sa_sent_lately(struct tcpike_net *tn, __be32 saddr, __be32 daddr,
			   __be16 sport, __be16 dport, u32 interval_s);

int tcpike_policy_create(struct net *net, const struct tcpike_policy_params *p,
			 struct netlink_ext_ack *extack);
int tcpike_policy_delete(struct net *net, const struct tcpike_policy_id *id,
			 struct netlink_ext_ack *extack);
/* The tunnel endpoints of the policy id's template, in place. */
int tcpike_policy_move(struct net *net, const struct tcpike_policy_id *id,
		       const xfrm_address_t *tsrc, const xfrm_address_t *tdst,
		       struct netlink_ext_ack *extack);
/* The policy the module owns with identity id, with a reference, or NULL. */
struct xfrm_policy *tcpike_policy_get(struct tcpike_net *tn, const struct tcpike_policy_id *id);
void tcpike_policy_key(struct tcpike_policy_id *k, u8 dir, const struct xfrm_selector *sel,
		       const struct xfrm_mark *mark, u32 if_id);
int tcpike_policy_init(struct tcpike_net *tn);
void tcpike_policy_fini(struct tcpike_net *tn);
void tcpike_policy_forget_all(struct tcpike_net *tn);

/*
 * For the key-manager callbacks (atomic context, any namespace; all of
 * them false once the namespace is dead).  _ours: x is the very state a
 * record holds.  _forget: the same, and the record is dropped (the
 * kernel or someone else deleted x).
 */
bool tcpike_sa_ours(struct tcpike_net *tn, const struct xfrm_state *x);
bool tcpike_sa_forget(struct tcpike_net *tn, const struct xfrm_state *x);
/* Whether the module owns a live SA (family, daddr, spi). */
bool tcpike_sa_known(struct tcpike_net *tn, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi);
bool tcpike_policy_ours(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir);
bool tcpike_policy_forget(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir);
/* Whether a record of ours has xp's identity but another policy. */
bool tcpike_policy_shadowed(struct tcpike_net *tn, const struct xfrm_policy *xp, int dir);
/* Asks gone_work for a walk (TCPIKE_GONE_* flags); any context. */
void tcpike_gone_kick(struct tcpike_net *tn, unsigned int flags);
void tcpike_gone_work(struct work_struct *w);
/* The walks of gone_work: records whose object is dead are dropped, each
 * with an event (reason: enum tcpike_del_reason).
 */
void tcpike_sa_drop_dead(struct tcpike_net *tn, u8 reason);
void tcpike_policy_drop_dead(struct tcpike_net *tn, u8 reason);
/* The deletion events, for x or xp that someone else deleted. */
void tcpike_event_sa_deleted(struct tcpike_net *tn, struct xfrm_state *x, u8 reason,
			     gfp_t gfp);
void tcpike_event_policy_deleted(struct tcpike_net *tn, struct xfrm_policy *xp, u8 dir,
				 u8 reason, gfp_t gfp);

int tcpike_ka_init(struct net *net);
void tcpike_ka_fini(struct net *net);
int tcpike_ka_set(struct net *net, __be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
		  u32 interval_s, struct netlink_ext_ack *extack);
void tcpike_ka_flush(struct net *net);

void tcpike_reach_init(struct net *net);
int tcpike_reach_set(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		     __be32 spi, __be32 pair_spi, u32 timeout_s,
		     struct netlink_ext_ack *extack);
void tcpike_reach_flush(struct net *net);
void tcpike_reach_stop(void);

int tcpike_netlink_init(void);
void tcpike_netlink_exit(void);
int tcpike_events_init(void);
void tcpike_events_exit(void);
/* Sends a notification on the events group of net (any context),
 * consuming msg: 0 when someone received it, -ESRCH when nobody listens.
 */
int tcpike_event_send(struct net *net, struct sk_buff *msg);
struct sk_buff *tcpike_event_new(u8 cmd, void **hdr, gfp_t gfp);
/* Whether anyone in net listens to the events group. */
bool tcpike_events_listened(struct net *net);
/* FAMILY, SEL_SRC, SEL_DST, their prefix lengths and SEL_PROTO. */
int tcpike_put_selector(struct sk_buff *msg, const struct xfrm_selector *sel);
int tcpike_put_mark(struct sk_buff *msg, const struct xfrm_mark *mark, u32 if_id);
int tcpike_put_addr(struct sk_buff *msg, int attr, unsigned short family,
		    const xfrm_address_t *a);

#endif
