/* SPDX-License-Identifier: GPL-2.0 */
/* tcpike.ko internals shared between main.c, netlink.c and sa.c. */
#ifndef _TCPIKE_INTERNAL_H
#define _TCPIKE_INTERNAL_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/xfrm.h>
#include <linux/tcpike.h>

/* What the module created in one namespace, so that SA del refuses states
 * it does not own and namespace exit / module unload remove exactly these. */
struct tcpike_net {
	struct mutex lock;		/* protects sas and the counters */
	struct list_head sas;		/* struct tcpike_sa */
	struct list_head policies;	/* struct tcpike_policy */
	u32 nr_sas, nr_policies;
	u64 sa_created, sa_deleted;
};

struct tcpike_sa {
	struct list_head node;
	xfrm_address_t daddr;
	__be32 spi;
	unsigned short family;
};

struct tcpike_policy {
	struct list_head node;
	struct xfrm_selector sel;
	u8 dir;
};

struct tcpike_policy_params {
	u8 dir;
	struct xfrm_selector sel;
	u32 priority;
	u32 reqid;
	u8 mode;
	xfrm_address_t tsrc, tdst;	/* tunnel endpoints */
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
};

int tcpike_sa_create(struct net *net, const struct tcpike_sa_params *p,
		     struct netlink_ext_ack *extack);
int tcpike_sa_delete(struct net *net, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi,
		     struct netlink_ext_ack *extack);
/* Looks up an SA the module owns; a reference is taken on success. */
struct xfrm_state *tcpike_sa_lookup(struct net *net, unsigned short family,
				    const xfrm_address_t *daddr, __be32 spi,
				    struct netlink_ext_ack *extack);
void tcpike_sa_flush(struct net *net);

int tcpike_policy_create(struct net *net, const struct tcpike_policy_params *p,
			 struct netlink_ext_ack *extack);
int tcpike_policy_delete(struct net *net, u8 dir, struct xfrm_selector *sel,
			 struct netlink_ext_ack *extack);
void tcpike_policy_flush(struct net *net);

int tcpike_netlink_init(void);
void tcpike_netlink_exit(void);

#endif
