// SPDX-License-Identifier: GPL-2.0
/*
 * The tcpike generic-netlink family: one strict policy per command, an
 * extack sentence for every rejection.  Keys are write-only.
 *
 * Privileges (uapi/linux/tcpike.h says the same): every command needs
 * CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM:
 * netlink_capable()), so root of a user namespace of its own cannot reach
 * the module's parsers; joining the "events" group needs CAP_NET_ADMIN in
 * the user namespace that owns the network namespace
 * (GENL_MCAST_CAP_NET_ADMIN: genl_bind() checks ns_capable(net->user_ns)),
 * the only check genetlink has for a group.  Events name SPIs, peers, NAT
 * mappings and traffic selectors: no business of unprivileged users.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>
#include <net/genetlink.h>

#include "compat.h"
#include "tcpike.h"

static const struct nla_policy sa_new_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_SRC] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_MODE] = NLA_POLICY_MAX(NLA_U8, TCPIKE_MODE_TRANSPORT),
	[TCPIKE_A_REQID] = { .type = NLA_U32 },
	[TCPIKE_A_AEAD_NAME] = { .type = NLA_NUL_STRING, .len = TCPIKE_ALG_NAME_MAX - 1 },
	[TCPIKE_A_AEAD_ICV_BITS] = NLA_POLICY_RANGE(NLA_U32, 64, 128),
	[TCPIKE_A_ENC_NAME] = { .type = NLA_NUL_STRING, .len = TCPIKE_ALG_NAME_MAX - 1 },
	[TCPIKE_A_AUTH_NAME] = { .type = NLA_NUL_STRING, .len = TCPIKE_ALG_NAME_MAX - 1 },
	[TCPIKE_A_AUTH_TRUNC_BITS] = NLA_POLICY_RANGE(NLA_U32, 64, 512),
	[TCPIKE_A_ENC_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16, TCPIKE_KEY_MAX),
	[TCPIKE_A_AUTH_KEY] = NLA_POLICY_RANGE(NLA_BINARY, 16, TCPIKE_KEY_MAX),
	[TCPIKE_A_REPLAY_WINDOW] = NLA_POLICY_MAX(NLA_U32, 4096),
	[TCPIKE_A_SA_FLAGS] = NLA_POLICY_MASK(NLA_U32, TCPIKE_SA_F_ALL),
	[TCPIKE_A_LIFE_SOFT_BYTES] = { .type = NLA_U64 },
	[TCPIKE_A_LIFE_HARD_BYTES] = { .type = NLA_U64 },
	[TCPIKE_A_LIFE_SOFT_PACKETS] = { .type = NLA_U64 },
	[TCPIKE_A_LIFE_HARD_PACKETS] = { .type = NLA_U64 },
	[TCPIKE_A_LIFE_SOFT_SECONDS] = { .type = NLA_U64 },
	[TCPIKE_A_LIFE_HARD_SECONDS] = { .type = NLA_U64 },
	[TCPIKE_A_ENCAP] = NLA_POLICY_MAX(NLA_U8, TCPIKE_ENCAP_TCP),
	[TCPIKE_A_ENCAP_SPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_ENCAP_DPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_MARK] = { .type = NLA_U32 },
	[TCPIKE_A_MARK_MASK] = { .type = NLA_U32 },
	[TCPIKE_A_IF_ID] = { .type = NLA_U32 },
};

static const struct nla_policy sa_steer_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_REQID] = { .type = NLA_U32 },
	[TCPIKE_A_ENCAP] = NLA_POLICY_MAX(NLA_U8, TCPIKE_ENCAP_TCP),
	[TCPIKE_A_ENCAP_SPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_ENCAP_DPORT] = { .type = NLA_BE16 },
};

static const struct nla_policy ka_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_SRC] = NLA_POLICY_EXACT_LEN(4),
	[TCPIKE_A_DST] = NLA_POLICY_EXACT_LEN(4),
	[TCPIKE_A_ENCAP_SPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_ENCAP_DPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_KEEPALIVE_INTERVAL] = NLA_POLICY_MAX(NLA_U32, 3600),
};

static const struct nla_policy reach_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_PAIR_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_REACH_TIMEOUT] = NLA_POLICY_MAX(NLA_U32, 3600),
};

static const struct nla_policy sa_id_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
};

static const struct nla_policy policy_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_POLICY_DIR] = NLA_POLICY_MAX(NLA_U8, TCPIKE_DIR_FWD),
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_SEL_SRC] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_SEL_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_SEL_SRC_PLEN] = NLA_POLICY_MAX(NLA_U8, 128),
	[TCPIKE_A_SEL_DST_PLEN] = NLA_POLICY_MAX(NLA_U8, 128),
	[TCPIKE_A_SEL_PROTO] = { .type = NLA_U8 },
	[TCPIKE_A_PRIORITY] = { .type = NLA_U32 },
	[TCPIKE_A_REQID] = { .type = NLA_U32 },
	[TCPIKE_A_MODE] = NLA_POLICY_MAX(NLA_U8, TCPIKE_MODE_TRANSPORT),
	[TCPIKE_A_SRC] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_MARK] = { .type = NLA_U32 },
	[TCPIKE_A_MARK_MASK] = { .type = NLA_U32 },
	[TCPIKE_A_IF_ID] = { .type = NLA_U32 },
};

/* What names a policy (POLICY_DEL, POLICY_MOVE). */
#define POLICY_ID_ATTRS							\
	[TCPIKE_A_POLICY_DIR] = NLA_POLICY_MAX(NLA_U8, TCPIKE_DIR_FWD),	\
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },			\
	[TCPIKE_A_SEL_SRC] = NLA_POLICY_MIN_LEN(4),			\
	[TCPIKE_A_SEL_DST] = NLA_POLICY_MIN_LEN(4),			\
	[TCPIKE_A_SEL_SRC_PLEN] = NLA_POLICY_MAX(NLA_U8, 128),		\
	[TCPIKE_A_SEL_DST_PLEN] = NLA_POLICY_MAX(NLA_U8, 128),		\
	[TCPIKE_A_SEL_PROTO] = { .type = NLA_U8 },			\
	[TCPIKE_A_MARK] = { .type = NLA_U32 },				\
	[TCPIKE_A_MARK_MASK] = { .type = NLA_U32 },			\
	[TCPIKE_A_IF_ID] = { .type = NLA_U32 }

static const struct nla_policy policy_del_policy[TCPIKE_A_MAX + 1] = {
	POLICY_ID_ATTRS,
};

static const struct nla_policy sa_move_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_BE32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_MOVE_SRC] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_MOVE_DST] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_ENCAP_SPORT] = { .type = NLA_BE16 },
	[TCPIKE_A_ENCAP_DPORT] = { .type = NLA_BE16 },
};

static const struct nla_policy policy_move_policy[TCPIKE_A_MAX + 1] = {
	POLICY_ID_ATTRS,
	[TCPIKE_A_MOVE_SRC] = NLA_POLICY_MIN_LEN(4),
	[TCPIKE_A_MOVE_DST] = NLA_POLICY_MIN_LEN(4),
};

static struct genl_family tcpike_family;

/* A required attribute: false with the sentence and the missing type set. */
#define require(info, attr, msg) ({					\
	struct genl_info *__info = (info);				\
	int __attr = (attr);						\
	bool __present = !!__info->attrs[__attr];			\
	if (!__present) {						\
		NL_SET_ERR_MSG_MOD(__info->extack, msg);		\
		NL_SET_ERR_ATTR_MISS(__info->extack, NULL, __attr);	\
	}								\
	__present;							\
})

/* The SA identity every SA command has: SPI, FAMILY, DST. */
static int parse_sa_id(struct genl_info *info, unsigned short *family,
		       xfrm_address_t *daddr, __be32 *spi)
{
	struct nlattr **a = info->attrs;
	unsigned int alen;

	if (!require(info, TCPIKE_A_SPI, "missing SPI (TCPIKE_A_SPI)") ||
	    !require(info, TCPIKE_A_FAMILY, "missing address family (TCPIKE_A_FAMILY)") ||
	    !require(info, TCPIKE_A_DST, "missing destination address (TCPIKE_A_DST)"))
		return -EINVAL;
	*spi = nla_get_be32(a[TCPIKE_A_SPI]);
	if (!*spi) {
		/* 0 is reserved; 1-255 are IANA-reserved (RFC 4303 §2.1). */
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_SPI], "SPI 0 is reserved");
		return -EINVAL;
	}
	if (ntohl(*spi) < 256) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_SPI],
				    "SPIs 1-255 are reserved (RFC 4303 §2.1)");
		return -EINVAL;
	}
	*family = nla_get_u16(a[TCPIKE_A_FAMILY]);
	if (*family == AF_INET) {
		alen = 4;
	} else if (*family == AF_INET6 && IS_ENABLED(CONFIG_IPV6)) {
		alen = 16;
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_FAMILY],
				    "address family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	if (nla_len(a[TCPIKE_A_DST]) != alen) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_DST],
				    "destination address length does not match the family");
		return -EINVAL;
	}
	memset(daddr, 0, sizeof(*daddr));
	memcpy(daddr, nla_data(a[TCPIKE_A_DST]), alen);
	return 0;
}

/* ENCAP and its ports: udp and tcp need both ports (non-zero), raw none. */
static int parse_encap(struct genl_info *info, u8 *encap, __be16 *sport, __be16 *dport)
{
	struct nlattr **a = info->attrs;

	*encap = a[TCPIKE_A_ENCAP] ? nla_get_u8(a[TCPIKE_A_ENCAP]) : TCPIKE_ENCAP_RAW;
	*sport = a[TCPIKE_A_ENCAP_SPORT] ? nla_get_be16(a[TCPIKE_A_ENCAP_SPORT]) : 0;
	*dport = a[TCPIKE_A_ENCAP_DPORT] ? nla_get_be16(a[TCPIKE_A_ENCAP_DPORT]) : 0;
	if (*encap == TCPIKE_ENCAP_RAW && (*sport || *dport)) {
		NL_SET_ERR_MSG_MOD(info->extack, "ports given for raw ESP");
		return -EINVAL;
	}
	if (*encap == TCPIKE_ENCAP_UDP && (!*sport || !*dport)) {
		NL_SET_ERR_MSG_MOD(info->extack, "UDP encapsulation needs both ports (non-zero)");
		return -EINVAL;
	}
	if (*encap == TCPIKE_ENCAP_TCP && (!*sport || !*dport)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "TCP encapsulation needs both ports of the connection (non-zero)");
		return -EINVAL;
	}
	return 0;
}

/*
 * MARK / MARK_MASK / IF_ID with XFRMA_MARK and XFRMA_IF_ID semantics.  A
 * mark without a mask gets the full mask (as iproute2 gives it); a mask
 * of 0 would match every packet and value bits outside the mask no packet
 * at all, so both are refused; if_id 0 is "no interface", said by leaving
 * the attribute out.
 */
static int parse_mark(struct genl_info *info, struct xfrm_mark *mark, u32 *if_id)
{
	struct nlattr **a = info->attrs;

	mark->v = a[TCPIKE_A_MARK] ? nla_get_u32(a[TCPIKE_A_MARK]) : 0;
	mark->m = a[TCPIKE_A_MARK_MASK] ? nla_get_u32(a[TCPIKE_A_MARK_MASK]) :
		  a[TCPIKE_A_MARK] ? 0xffffffff : 0;
	*if_id = a[TCPIKE_A_IF_ID] ? nla_get_u32(a[TCPIKE_A_IF_ID]) : 0;
	if (a[TCPIKE_A_MARK_MASK] && !mark->m) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_MARK_MASK],
				    "a mark mask of 0 matches every packet: leave the mark out instead");
		return -EINVAL;
	}
	if (mark->v & ~mark->m) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_MARK],
				    "the mark value has bits outside the mark mask (no packet could match)");
		return -EINVAL;
	}
	if (a[TCPIKE_A_IF_ID] && !*if_id) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_IF_ID],
				    "if_id 0 means no xfrm interface: leave TCPIKE_A_IF_ID out instead");
		return -EINVAL;
	}
	return 0;
}

/*
 * Steer one SA (SPI, FAMILY, DST) or every SA of a reqid (REQID), never a
 * mix: with REQID the ports are the local and the peer's (the module
 * orients them per SA).
 */
static int tcpike_nl_sa_steer(struct sk_buff *skb, struct genl_info *info)
{
	struct tcpike_net *tn = tcpike_pernet(genl_info_net(info));
	struct nlattr **a = info->attrs;
	unsigned int moved = 1;
	unsigned short family;
	xfrm_address_t daddr;
	__be16 sport, dport;
	__be32 spi;
	u32 reqid;
	u8 encap;
	int err;

	if (a[TCPIKE_A_REQID] && (a[TCPIKE_A_SPI] || a[TCPIKE_A_FAMILY] || a[TCPIKE_A_DST])) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "name the SAs to steer either by SPI, FAMILY and DST or by REQID, not both");
		return -EINVAL;
	}
	if (!a[TCPIKE_A_REQID] && !a[TCPIKE_A_SPI] && !a[TCPIKE_A_FAMILY] && !a[TCPIKE_A_DST]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "name the SAs to steer: SPI, FAMILY and DST (one SA) or REQID (all of it)");
		return -EINVAL;
	}
	if (!a[TCPIKE_A_REQID]) {
		err = parse_sa_id(info, &family, &daddr, &spi);
		if (err)
			return err;
	}
	if (!require(info, TCPIKE_A_ENCAP, "missing transport (TCPIKE_A_ENCAP)"))
		return -EINVAL;
	err = parse_encap(info, &encap, &sport, &dport);
	if (err)
		return err;
	if (a[TCPIKE_A_REQID]) {
		reqid = nla_get_u32(a[TCPIKE_A_REQID]);
		if (!reqid) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_REQID],
					    "reqid 0 is what SAs without a reqid have: steer those by SPI");
			return -EINVAL;
		}
		err = tcpike_sa_steer_reqid(genl_info_net(info), reqid, encap, sport, dport,
					    &moved, info->extack);
	} else {
		err = tcpike_sa_steer(genl_info_net(info), family, &daddr, spi, encap, sport,
				      dport, info->extack);
	}
	if (!err) {
		spin_lock_bh(&tn->own_lock);
		tn->steers += moved;
		spin_unlock_bh(&tn->own_lock);
	}
	return err;
}

static int tcpike_nl_keepalive_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	__be16 sport, dport;

	if (!require(info, TCPIKE_A_FAMILY, "missing address family (TCPIKE_A_FAMILY)") ||
	    !require(info, TCPIKE_A_SRC, "missing local address (TCPIKE_A_SRC)") ||
	    !require(info, TCPIKE_A_DST, "missing peer address (TCPIKE_A_DST)") ||
	    !require(info, TCPIKE_A_ENCAP_SPORT, "missing local port (TCPIKE_A_ENCAP_SPORT)") ||
	    !require(info, TCPIKE_A_ENCAP_DPORT, "missing peer port (TCPIKE_A_ENCAP_DPORT)") ||
	    !require(info, TCPIKE_A_KEEPALIVE_INTERVAL,
		     "missing interval (TCPIKE_A_KEEPALIVE_INTERVAL)"))
		return -EINVAL;
	if (nla_get_u16(a[TCPIKE_A_FAMILY]) != AF_INET) {
		NL_SET_ERR_MSG_MOD(info->extack, "NAT keepalives are for IPv4 peers only");
		return -EAFNOSUPPORT;
	}
	sport = nla_get_be16(a[TCPIKE_A_ENCAP_SPORT]);
	dport = nla_get_be16(a[TCPIKE_A_ENCAP_DPORT]);
	if (!sport || !dport) {
		NL_SET_ERR_MSG_MOD(info->extack, "keepalive ports must be non-zero");
		return -EINVAL;
	}
	return tcpike_ka_set(genl_info_net(info), nla_get_in_addr(a[TCPIKE_A_SRC]),
			     nla_get_in_addr(a[TCPIKE_A_DST]), sport, dport,
			     nla_get_u32(a[TCPIKE_A_KEEPALIVE_INTERVAL]), info->extack);
}

static int tcpike_nl_reach_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	unsigned short family;
	xfrm_address_t daddr;
	__be32 spi, pair = 0;
	u32 timeout;
	int err;

	err = parse_sa_id(info, &family, &daddr, &spi);
	if (err)
		return err;
	if (!require(info, TCPIKE_A_REACH_TIMEOUT, "missing timeout (TCPIKE_A_REACH_TIMEOUT)"))
		return -EINVAL;
	timeout = nla_get_u32(a[TCPIKE_A_REACH_TIMEOUT]);
	if (timeout) {
		if (!require(info, TCPIKE_A_PAIR_SPI,
			     "missing paired inbound SA (TCPIKE_A_PAIR_SPI)"))
			return -EINVAL;
		pair = nla_get_be32(a[TCPIKE_A_PAIR_SPI]);
		if (ntohl(pair) < 256) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_PAIR_SPI],
					    "SPIs 0-255 are reserved (RFC 4303 §2.1)");
			return -EINVAL;
		}
	} else if (a[TCPIKE_A_PAIR_SPI]) {
		NL_SET_ERR_MSG_MOD(info->extack, "removing a watch (timeout 0) takes no PAIR_SPI");
		return -EINVAL;
	}
	return tcpike_reach_set(genl_info_net(info), family, &daddr, spi, pair, timeout,
				info->extack);
}

/* A lifetime limit of an SA: 0 (none) when its attribute is absent. */
static u64 life(const struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

static int tcpike_nl_sa_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct tcpike_sa_params p = { 0 };
	bool aead = a[TCPIKE_A_AEAD_NAME], encauth = a[TCPIKE_A_ENC_NAME] || a[TCPIKE_A_AUTH_NAME];
	int err;

	err = parse_sa_id(info, &p.family, &p.daddr, &p.spi);
	if (err)
		return err;
	if (!require(info, TCPIKE_A_SRC, "missing source address (TCPIKE_A_SRC)"))
		return -EINVAL;
	if (nla_len(a[TCPIKE_A_SRC]) != (p.family == AF_INET ? 4 : 16)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_SRC],
				    "source address length does not match the family");
		return -EINVAL;
	}
	memcpy(&p.saddr, nla_data(a[TCPIKE_A_SRC]), nla_len(a[TCPIKE_A_SRC]));
	if (aead == encauth) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "give either an AEAD algorithm or an encryption + integrity pair");
		return -EINVAL;
	}
	if (!require(info, TCPIKE_A_ENC_KEY, "missing key (TCPIKE_A_ENC_KEY)"))
		return -EINVAL;
	p.enc_key = nla_data(a[TCPIKE_A_ENC_KEY]);
	p.enc_key_len = nla_len(a[TCPIKE_A_ENC_KEY]);
	if (aead) {
		if (!require(info, TCPIKE_A_AEAD_ICV_BITS,
			     "missing AEAD ICV length (TCPIKE_A_AEAD_ICV_BITS)"))
			return -EINVAL;
		if (a[TCPIKE_A_AUTH_KEY] || a[TCPIKE_A_AUTH_TRUNC_BITS]) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "an AEAD SA takes no integrity key or truncation");
			return -EINVAL;
		}
		p.aead_name = nla_data(a[TCPIKE_A_AEAD_NAME]);
		p.aead_icv_bits = nla_get_u32(a[TCPIKE_A_AEAD_ICV_BITS]);
	} else {
		if (!require(info, TCPIKE_A_ENC_NAME,
			     "missing encryption algorithm (TCPIKE_A_ENC_NAME)") ||
		    !require(info, TCPIKE_A_AUTH_NAME,
			     "missing integrity algorithm (TCPIKE_A_AUTH_NAME)") ||
		    !require(info, TCPIKE_A_AUTH_KEY,
			     "missing integrity key (TCPIKE_A_AUTH_KEY)") ||
		    !require(info, TCPIKE_A_AUTH_TRUNC_BITS,
			     "missing integrity truncation length (TCPIKE_A_AUTH_TRUNC_BITS)"))
			return -EINVAL;
		if (a[TCPIKE_A_AEAD_ICV_BITS]) {
			NL_SET_ERR_MSG_MOD(info->extack, "AEAD ICV length given for a non-AEAD SA");
			return -EINVAL;
		}
		p.enc_name = nla_data(a[TCPIKE_A_ENC_NAME]);
		p.auth_name = nla_data(a[TCPIKE_A_AUTH_NAME]);
		p.auth_key = nla_data(a[TCPIKE_A_AUTH_KEY]);
		p.auth_key_len = nla_len(a[TCPIKE_A_AUTH_KEY]);
		p.auth_trunc_bits = nla_get_u32(a[TCPIKE_A_AUTH_TRUNC_BITS]);
	}
	p.mode = a[TCPIKE_A_MODE] ? nla_get_u8(a[TCPIKE_A_MODE]) : TCPIKE_MODE_TUNNEL;
	p.reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
	p.replay_window = a[TCPIKE_A_REPLAY_WINDOW] ?
			  nla_get_u32(a[TCPIKE_A_REPLAY_WINDOW]) : 32;
	p.flags = a[TCPIKE_A_SA_FLAGS] ? nla_get_u32(a[TCPIKE_A_SA_FLAGS]) : 0;
	p.soft_bytes = life(a[TCPIKE_A_LIFE_SOFT_BYTES]);
	p.hard_bytes = life(a[TCPIKE_A_LIFE_HARD_BYTES]);
	p.soft_packets = life(a[TCPIKE_A_LIFE_SOFT_PACKETS]);
	p.hard_packets = life(a[TCPIKE_A_LIFE_HARD_PACKETS]);
	p.soft_seconds = life(a[TCPIKE_A_LIFE_SOFT_SECONDS]);
	p.hard_seconds = life(a[TCPIKE_A_LIFE_HARD_SECONDS]);
	if ((p.hard_bytes && p.soft_bytes > p.hard_bytes) ||
	    (p.hard_packets && p.soft_packets > p.hard_packets) ||
	    (p.hard_seconds && p.soft_seconds > p.hard_seconds)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a soft lifetime is longer than its hard lifetime");
		return -EINVAL;
	}
	err = parse_encap(info, &p.encap, &p.encap_sport, &p.encap_dport) ?:
	      parse_mark(info, &p.mark, &p.if_id);
	if (err)
		return err;
	if ((p.flags & TCPIKE_SA_F_ESN) && !p.replay_window) {
		NL_SET_ERR_MSG_MOD(info->extack, "ESN needs a replay window above 0");
		return -EINVAL;
	}
	return tcpike_sa_create(genl_info_net(info), &p, info->extack);
}

static int tcpike_nl_sa_del(struct sk_buff *skb, struct genl_info *info)
{
	unsigned short family;
	xfrm_address_t daddr;
	__be32 spi;
	int err;

	err = parse_sa_id(info, &family, &daddr, &spi);
	if (err)
		return err;
	return tcpike_sa_delete(genl_info_net(info), family, &daddr, spi, info->extack);
}

static int put_alg_names(struct sk_buff *msg, struct xfrm_state *x)
{
	if (x->aead)
		return nla_put_string(msg, TCPIKE_A_AEAD_NAME, x->aead->alg_name) ?:
		       nla_put_u32(msg, TCPIKE_A_AEAD_ICV_BITS, x->aead->alg_icv_len);
	if (x->ealg && nla_put_string(msg, TCPIKE_A_ENC_NAME, x->ealg->alg_name))
		return -EMSGSIZE;
	if (x->aalg)
		return nla_put_string(msg, TCPIKE_A_AUTH_NAME, x->aalg->alg_name) ?:
		       nla_put_u32(msg, TCPIKE_A_AUTH_TRUNC_BITS, x->aalg->alg_trunc_len);
	return 0;
}

int tcpike_put_addr(struct sk_buff *msg, int attr, unsigned short family,
		    const xfrm_address_t *a)
{
	return nla_put(msg, attr, family == AF_INET ? 4 : 16, a);
}

static u8 encap_of(const struct xfrm_state *x)
{
	if (!x->encap)
		return TCPIKE_ENCAP_RAW;
	return x->encap->encap_type == TCP_ENCAP_ESPINTCP ? TCPIKE_ENCAP_TCP : TCPIKE_ENCAP_UDP;
}

/* MARK and MARK_MASK when there is a mark, IF_ID when there is one. */
int tcpike_put_selector(struct sk_buff *msg, const struct xfrm_selector *sel)
{
	return nla_put_u16(msg, TCPIKE_A_FAMILY, sel->family) ?:
	       tcpike_put_addr(msg, TCPIKE_A_SEL_SRC, sel->family, &sel->saddr) ?:
	       tcpike_put_addr(msg, TCPIKE_A_SEL_DST, sel->family, &sel->daddr) ?:
	       nla_put_u8(msg, TCPIKE_A_SEL_SRC_PLEN, sel->prefixlen_s) ?:
	       nla_put_u8(msg, TCPIKE_A_SEL_DST_PLEN, sel->prefixlen_d) ?:
	       nla_put_u8(msg, TCPIKE_A_SEL_PROTO, sel->proto);
}

int tcpike_put_mark(struct sk_buff *msg, const struct xfrm_mark *mark, u32 if_id)
{
	return (mark->m ? nla_put_u32(msg, TCPIKE_A_MARK, mark->v) ?:
			  nla_put_u32(msg, TCPIKE_A_MARK_MASK, mark->m) : 0) ?:
	       (if_id ? nla_put_u32(msg, TCPIKE_A_IF_ID, if_id) : 0);
}

/* One SA's attributes (never its keys), read under the state's lock. */
static int fill_sa(struct sk_buff *msg, struct xfrm_state *x, unsigned short family)
{
	unsigned int alen = family == AF_INET ? 4 : 16;
	u64 errors;
	int err;

	spin_lock_bh(&x->lock);
	errors = x->stats.replay + x->stats.replay_window + x->stats.integrity_failed;
	err = nla_put_be32(msg, TCPIKE_A_SPI, x->id.spi) ?:
	      nla_put_u16(msg, TCPIKE_A_FAMILY, family) ?:
	      nla_put(msg, TCPIKE_A_SRC, alen, &x->props.saddr) ?:
	      nla_put(msg, TCPIKE_A_DST, alen, &x->id.daddr) ?:
	      nla_put_u8(msg, TCPIKE_A_MODE, x->props.mode == XFRM_MODE_TRANSPORT ?
			 TCPIKE_MODE_TRANSPORT : TCPIKE_MODE_TUNNEL) ?:
	      nla_put_u32(msg, TCPIKE_A_REQID, x->props.reqid) ?:
	      put_alg_names(msg, x) ?:
	      nla_put_u32(msg, TCPIKE_A_REPLAY_WINDOW, x->replay_esn ?
			  x->replay_esn->replay_window : x->props.replay_window) ?:
	      nla_put_u32(msg, TCPIKE_A_SA_FLAGS,
			  (x->props.flags & XFRM_STATE_ESN) ? TCPIKE_SA_F_ESN : 0) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_PACKETS, x->curlft.packets, TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_BYTES, x->curlft.bytes, TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_ERRORS, errors, TCPIKE_A_PAD) ?:
	      nla_put_u8(msg, TCPIKE_A_ENCAP, encap_of(x)) ?:
	      (x->encap ? nla_put_be16(msg, TCPIKE_A_ENCAP_SPORT, x->encap->encap_sport) ?:
			  nla_put_be16(msg, TCPIKE_A_ENCAP_DPORT, x->encap->encap_dport) : 0) ?:
	      tcpike_put_mark(msg, &x->mark, x->if_id);
	spin_unlock_bh(&x->lock);
	return err;
}

static int tcpike_nl_sa_get(struct sk_buff *skb, struct genl_info *info)
{
	unsigned short family;
	xfrm_address_t daddr;
	struct xfrm_state *x;
	struct sk_buff *msg;
	__be32 spi;
	void *hdr;
	int err;

	err = parse_sa_id(info, &family, &daddr, &spi);
	if (err)
		return err;
	x = tcpike_sa_lookup(genl_info_net(info), family, &daddr, spi, info->extack);
	if (!x)
		return -ENOENT;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		xfrm_state_put(x);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &tcpike_family, 0, TCPIKE_CMD_SA_GET);
	err = hdr ? fill_sa(msg, x, family) : -EMSGSIZE;
	xfrm_state_put(x);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/*
 * Dumps of the module's SAs and policies walk the owned lists, resumably
 * and consistently: cb->args[0] is the index of the next entry,
 * cb->args[1] the entry visited last and cb->args[2] the list's generation
 * then.  While the generation holds, the list is unchanged and the walk
 * goes on from that entry (a whole dump is O(n)); after a change it counts
 * from the head, and cb->seq, the generation, makes
 * genl_dump_check_consistent() set NLM_F_DUMP_INTR so the reader retries.
 * own_lock is dropped for each entry (the kernel's object is looked up and
 * filled in without it), so an entry is copied first.
 */
static struct list_head *dump_next(struct netlink_callback *cb, struct list_head *head,
				   unsigned int gen)
{
	struct list_head *pos;
	unsigned long i;

	cb->seq = gen;
	if (cb->args[1] && cb->args[2] == gen) {
		pos = ((struct list_head *)cb->args[1])->next;
	} else {
		pos = head->next;
		for (i = 0; i < cb->args[0] && pos != head; i++)
			pos = pos->next;
	}
	return pos == head ? NULL : pos;
}

static void dump_advance(struct netlink_callback *cb, struct list_head *pos, unsigned int gen)
{
	cb->args[0]++;
	cb->args[1] = (long)pos;
	cb->args[2] = gen;
}

static void *dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				&tcpike_family, NLM_F_MULTI, cmd);

	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

/* One SA, or -ENOENT (the kernel removed it meanwhile), or -EMSGSIZE. */
static int dump_sa(struct sk_buff *skb, struct netlink_callback *cb,
		   const struct tcpike_sa_id *id)
{
	struct xfrm_state *x = tcpike_sa_get(tcpike_pernet(sock_net(skb->sk)), &id->key);
	void *hdr;
	int err;

	if (!x)
		return -ENOENT;
	hdr = dump_put(skb, cb, TCPIKE_CMD_SA_GET);
	err = hdr ? fill_sa(skb, x, id->key.family) : -EMSGSIZE;
	xfrm_state_put(x);
	if (err && hdr)
		genlmsg_cancel(skb, hdr);
	else if (hdr)
		genlmsg_end(skb, hdr);
	return err;
}

/* What a dump copies of an entry under own_lock: its identity (first). */
union tcpike_owned_id {
	struct tcpike_sa_id sa;
	struct tcpike_policy_id policy;
};

/*
 * The walk of one owned list (head, generation *gen): each entry's id
 * (id_size bytes at the start of the entry whose list node is node_off
 * into it) is copied under own_lock and handed to one(), which returns
 * -EMSGSIZE when the buffer is full.
 */
static int dump_owned(struct sk_buff *skb, struct netlink_callback *cb,
		      struct list_head *head, const unsigned int *gen,
		      size_t node_off, size_t id_size,
		      int (*one)(struct sk_buff *skb, struct netlink_callback *cb,
				 const union tcpike_owned_id *id))
{
	struct tcpike_net *tn = tcpike_pernet(sock_net(skb->sk));
	union tcpike_owned_id id;
	struct list_head *pos;
	unsigned int g;

	for (;;) {
		spin_lock_bh(&tn->own_lock);
		g = *gen;
		pos = dump_next(cb, head, g);
		if (pos)
			memcpy(&id, (char *)pos - node_off, id_size);
		spin_unlock_bh(&tn->own_lock);
		if (!pos || one(skb, cb, &id) == -EMSGSIZE)
			break;
		dump_advance(cb, pos, g);
	}
	return skb->len;
}

static int dump_sa_id(struct sk_buff *skb, struct netlink_callback *cb,
		      const union tcpike_owned_id *id)
{
	return dump_sa(skb, cb, &id->sa);
}

static int tcpike_nl_sa_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct tcpike_net *tn = tcpike_pernet(sock_net(skb->sk));

	BUILD_BUG_ON(offsetof(struct tcpike_sa, id) != 0);
	return dump_owned(skb, cb, &tn->sas, &tn->sa_gen, offsetof(struct tcpike_sa, node),
			  sizeof(struct tcpike_sa_id), dump_sa_id);
}

/* One policy as the kernel holds it: selector, priority, template. */
static int fill_policy(struct sk_buff *msg, u8 dir, struct xfrm_policy *xp)
{
	const struct xfrm_tmpl *t = &xp->xfrm_vec[0];
	bool tunnel = t->mode == XFRM_MODE_TUNNEL;

	return nla_put_u8(msg, TCPIKE_A_POLICY_DIR, dir) ?:
	       tcpike_put_selector(msg, &xp->selector) ?:
	       nla_put_u32(msg, TCPIKE_A_PRIORITY, xp->priority) ?:
	       nla_put_u32(msg, TCPIKE_A_REQID, t->reqid) ?:
	       nla_put_u8(msg, TCPIKE_A_MODE,
			  tunnel ? TCPIKE_MODE_TUNNEL : TCPIKE_MODE_TRANSPORT) ?:
	       (tunnel ? tcpike_put_addr(msg, TCPIKE_A_SRC, t->encap_family, &t->saddr) ?:
			 tcpike_put_addr(msg, TCPIKE_A_DST, t->encap_family, &t->id.daddr) : 0) ?:
	       tcpike_put_mark(msg, &xp->mark, xp->if_id);
}

/* One policy, or -ENOENT (the kernel no longer has it), or -EMSGSIZE. */
static int dump_policy(struct sk_buff *skb, struct netlink_callback *cb,
		       const struct tcpike_policy_id *id)
{
	struct xfrm_policy *xp = tcpike_policy_get(tcpike_pernet(sock_net(skb->sk)), id);
	void *hdr;
	int err;

	if (!xp)
		return -ENOENT;
	hdr = dump_put(skb, cb, TCPIKE_CMD_POLICY_GET);
	err = hdr ? fill_policy(skb, id->dir, xp) : -EMSGSIZE;
	xfrm_pol_put(xp);
	if (err && hdr)
		genlmsg_cancel(skb, hdr);
	else if (hdr)
		genlmsg_end(skb, hdr);
	return err;
}

static int dump_policy_id(struct sk_buff *skb, struct netlink_callback *cb,
			  const union tcpike_owned_id *id)
{
	return dump_policy(skb, cb, &id->policy);
}

static int tcpike_nl_policy_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct tcpike_net *tn = tcpike_pernet(sock_net(skb->sk));

	BUILD_BUG_ON(offsetof(struct tcpike_policy, id) != 0);
	return dump_owned(skb, cb, &tn->policies, &tn->policy_gen,
			  offsetof(struct tcpike_policy, node), sizeof(struct tcpike_policy_id),
			  dump_policy_id);
}

static int tcpike_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct tcpike_net *tn = tcpike_pernet(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &tcpike_family, 0, TCPIKE_CMD_STATS_GET);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	spin_lock_bh(&tn->own_lock);
	err = nla_put_u32(msg, TCPIKE_A_STATS_SAS, tn->nr_sas) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_SA_CREATED, tn->sa_created, TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_SA_DELETED, tn->sa_deleted, TCPIKE_A_PAD) ?:
	      nla_put_u32(msg, TCPIKE_A_STATS_POLICIES, tn->nr_policies) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_EVENTS_SENT, tn->events_sent, TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_EVENTS_DROPPED, tn->events_dropped,
				TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_STEERS, tn->steers, TCPIKE_A_PAD);
	spin_unlock_bh(&tn->own_lock);
	spin_lock_bh(&tn->ka_lock);
	err = err ?: nla_put_u32(msg, TCPIKE_A_STATS_KEEPALIVES, tn->nr_keepalives) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_KEEPALIVES_SENT, tn->keepalives_sent,
				TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_KEEPALIVES_SKIPPED, tn->keepalives_skipped,
				TCPIKE_A_PAD) ?:
	      nla_put_u64_64bit(msg, TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS, tn->ka_bh_peak_ns,
				TCPIKE_A_PAD);
	spin_unlock_bh(&tn->ka_lock);
	mutex_lock(&tn->reach_lock);
	err = err ?: nla_put_u32(msg, TCPIKE_A_STATS_REACHES, tn->nr_reaches);
	mutex_unlock(&tn->reach_lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* An address of the family's length with no bits past the prefix. */
static int get_prefix(struct genl_info *info, int aattr, int pattr, unsigned int alen,
		      xfrm_address_t *addr, u8 *plen)
{
	struct nlattr *a = info->attrs[aattr];
	const u8 *b;
	unsigned int i;

	if (nla_len(a) != alen) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "selector address length does not match the family");
		return -EINVAL;
	}
	*plen = info->attrs[pattr] ? nla_get_u8(info->attrs[pattr]) : alen * 8;
	if (*plen > alen * 8) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[pattr],
				    "prefix length longer than the address");
		return -EINVAL;
	}
	memset(addr, 0, sizeof(*addr));
	memcpy(addr, nla_data(a), alen);
	b = nla_data(a);
	for (i = 0; i < alen * 8; i++) {
		if (i >= *plen && (b[i / 8] & (0x80 >> (i % 8)))) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "selector address has bits set past the prefix length");
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_selector(struct genl_info *info, u8 *dir, struct xfrm_selector *sel)
{
	struct nlattr **a = info->attrs;
	unsigned int alen;
	u16 family;
	int err;

	if (!require(info, TCPIKE_A_POLICY_DIR, "missing policy direction (TCPIKE_A_POLICY_DIR)") ||
	    !require(info, TCPIKE_A_FAMILY, "missing address family (TCPIKE_A_FAMILY)") ||
	    !require(info, TCPIKE_A_SEL_SRC, "missing selector source (TCPIKE_A_SEL_SRC)") ||
	    !require(info, TCPIKE_A_SEL_DST, "missing selector destination (TCPIKE_A_SEL_DST)"))
		return -EINVAL;
	*dir = nla_get_u8(a[TCPIKE_A_POLICY_DIR]);
	family = nla_get_u16(a[TCPIKE_A_FAMILY]);
	if (family == AF_INET) {
		alen = 4;
	} else if (family == AF_INET6 && IS_ENABLED(CONFIG_IPV6)) {
		alen = 16;
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_FAMILY],
				    "address family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	memset(sel, 0, sizeof(*sel));
	sel->family = family;
	err = get_prefix(info, TCPIKE_A_SEL_SRC, TCPIKE_A_SEL_SRC_PLEN, alen,
			 &sel->saddr, &sel->prefixlen_s) ?:
	      get_prefix(info, TCPIKE_A_SEL_DST, TCPIKE_A_SEL_DST_PLEN, alen,
			 &sel->daddr, &sel->prefixlen_d);
	if (err)
		return err;
	if (a[TCPIKE_A_SEL_PROTO])
		sel->proto = nla_get_u8(a[TCPIKE_A_SEL_PROTO]);
	return 0;
}

static int tcpike_nl_policy_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct tcpike_policy_params p = { 0 };
	unsigned int alen;
	int err;

	err = parse_selector(info, &p.dir, &p.sel);
	if (err)
		return err;
	alen = p.sel.family == AF_INET ? 4 : 16;
	if (!require(info, TCPIKE_A_REQID, "missing template reqid (TCPIKE_A_REQID)"))
		return -EINVAL;
	p.reqid = nla_get_u32(a[TCPIKE_A_REQID]);
	p.mode = a[TCPIKE_A_MODE] ? nla_get_u8(a[TCPIKE_A_MODE]) : TCPIKE_MODE_TUNNEL;
	p.priority = a[TCPIKE_A_PRIORITY] ? nla_get_u32(a[TCPIKE_A_PRIORITY]) : 0;
	if (p.mode == TCPIKE_MODE_TUNNEL) {
		if (!require(info, TCPIKE_A_SRC,
			     "tunnel mode needs the tunnel source (TCPIKE_A_SRC)") ||
		    !require(info, TCPIKE_A_DST,
			     "tunnel mode needs the tunnel destination (TCPIKE_A_DST)"))
			return -EINVAL;
		if (nla_len(a[TCPIKE_A_SRC]) != alen || nla_len(a[TCPIKE_A_DST]) != alen) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "tunnel endpoint length does not match the family");
			return -EINVAL;
		}
		memcpy(&p.tsrc, nla_data(a[TCPIKE_A_SRC]), alen);
		memcpy(&p.tdst, nla_data(a[TCPIKE_A_DST]), alen);
	} else if (a[TCPIKE_A_SRC] || a[TCPIKE_A_DST]) {
		NL_SET_ERR_MSG_MOD(info->extack, "transport mode takes no tunnel endpoints");
		return -EINVAL;
	}
	err = parse_mark(info, &p.mark, &p.if_id);
	if (err)
		return err;
	return tcpike_policy_create(genl_info_net(info), &p, info->extack);
}

static int tcpike_nl_policy_del(struct sk_buff *skb, struct genl_info *info)
{
	struct tcpike_policy_id id = { 0 };
	int err;

	err = parse_selector(info, &id.dir, &id.sel) ?:
	      parse_mark(info, &id.mark, &id.if_id);
	if (err)
		return err;
	return tcpike_policy_delete(genl_info_net(info), &id, info->extack);
}

/* MOVE_SRC and MOVE_DST, both required, of the family's length. */
static int parse_move(struct genl_info *info, unsigned short family, xfrm_address_t *nsrc,
		      xfrm_address_t *ndst)
{
	struct nlattr **a = info->attrs;
	unsigned int alen = family == AF_INET ? 4 : 16;

	if (!require(info, TCPIKE_A_MOVE_SRC, "missing new source address (TCPIKE_A_MOVE_SRC)") ||
	    !require(info, TCPIKE_A_MOVE_DST,
		     "missing new destination address (TCPIKE_A_MOVE_DST)"))
		return -EINVAL;
	if (nla_len(a[TCPIKE_A_MOVE_SRC]) != alen) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_MOVE_SRC],
				    "new source address length does not match the family");
		return -EINVAL;
	}
	if (nla_len(a[TCPIKE_A_MOVE_DST]) != alen) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[TCPIKE_A_MOVE_DST],
				    "new destination address length does not match the family");
		return -EINVAL;
	}
	memset(nsrc, 0, sizeof(*nsrc));
	memset(ndst, 0, sizeof(*ndst));
	memcpy(nsrc, nla_data(a[TCPIKE_A_MOVE_SRC]), alen);
	memcpy(ndst, nla_data(a[TCPIKE_A_MOVE_DST]), alen);
	if (xfrm_addr_any(nsrc, family) || xfrm_addr_any(ndst, family)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the new addresses cannot be unspecified");
		return -EINVAL;
	}
	return 0;
}

/* One SA (SPI, FAMILY, DST) to MOVE_SRC -> MOVE_DST; the ports, both or
 * neither, only for a UDP-encapsulated SA (the module checks).
 */
static int tcpike_nl_sa_move(struct sk_buff *skb, struct genl_info *info)
{
	struct tcpike_net *tn = tcpike_pernet(genl_info_net(info));
	struct nlattr **a = info->attrs;
	xfrm_address_t daddr, nsrc, ndst;
	unsigned short family;
	__be16 sport = 0, dport = 0;
	bool ports;
	__be32 spi;
	int err;

	err = parse_sa_id(info, &family, &daddr, &spi) ?:
	      parse_move(info, family, &nsrc, &ndst);
	if (err)
		return err;
	ports = a[TCPIKE_A_ENCAP_SPORT] || a[TCPIKE_A_ENCAP_DPORT];
	if (ports) {
		if (!a[TCPIKE_A_ENCAP_SPORT] || !a[TCPIKE_A_ENCAP_DPORT]) {
			NL_SET_ERR_MSG_MOD(info->extack, "give both new ports or neither");
			return -EINVAL;
		}
		sport = nla_get_be16(a[TCPIKE_A_ENCAP_SPORT]);
		dport = nla_get_be16(a[TCPIKE_A_ENCAP_DPORT]);
		if (!sport || !dport) {
			NL_SET_ERR_MSG_MOD(info->extack, "UDP encapsulation needs non-zero ports");
			return -EINVAL;
		}
	}
	err = tcpike_sa_move(genl_info_net(info), family, &daddr, spi, &nsrc, &ndst, ports,
			     sport, dport, info->extack);
	if (!err) {
		spin_lock_bh(&tn->own_lock);
		tn->steers++;
		spin_unlock_bh(&tn->own_lock);
	}
	return err;
}

static int tcpike_nl_policy_move(struct sk_buff *skb, struct genl_info *info)
{
	struct tcpike_policy_id id = { 0 };
	xfrm_address_t nsrc, ndst;
	int err;

	err = parse_selector(info, &id.dir, &id.sel) ?:
	      parse_mark(info, &id.mark, &id.if_id) ?:
	      parse_move(info, id.sel.family, &nsrc, &ndst);
	if (err)
		return err;
	return tcpike_policy_move(genl_info_net(info), &id, &nsrc, &ndst, info->extack);
}

static const struct genl_ops tcpike_ops[] = {
	{
		.cmd = TCPIKE_CMD_SA_NEW,
		.doit = tcpike_nl_sa_new,
		.policy = sa_new_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_SA_DEL,
		.doit = tcpike_nl_sa_del,
		.policy = sa_id_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_SA_GET,
		.doit = tcpike_nl_sa_get,
		.dumpit = tcpike_nl_sa_dump,
		.policy = sa_id_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_POLICY_NEW,
		.doit = tcpike_nl_policy_new,
		.policy = policy_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_POLICY_DEL,
		.doit = tcpike_nl_policy_del,
		.policy = policy_del_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_SA_STEER,
		.doit = tcpike_nl_sa_steer,
		.policy = sa_steer_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_KEEPALIVE_SET,
		.doit = tcpike_nl_keepalive_set,
		.policy = ka_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_POLICY_GET,
		.dumpit = tcpike_nl_policy_dump,
		.policy = sa_id_policy,
		.maxattr = 0,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_REACH_SET,
		.doit = tcpike_nl_reach_set,
		.policy = reach_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_STATS_GET,
		.doit = tcpike_nl_stats_get,
		.policy = sa_id_policy,
		.maxattr = 0,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_SA_MOVE,
		.doit = tcpike_nl_sa_move,
		.policy = sa_move_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = TCPIKE_CMD_POLICY_MOVE,
		.doit = tcpike_nl_policy_move,
		.policy = policy_move_policy,
		.maxattr = TCPIKE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group tcpike_mcgrps[] = {
	{ .name = TCPIKE_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family tcpike_family __ro_after_init = {
	.name = TCPIKE_GENL_NAME,
	.version = TCPIKE_GENL_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = tcpike_ops,
	.n_ops = ARRAY_SIZE(tcpike_ops),
	/* Strict validation for every command (no legacy ops). */
	.resv_start_op = TCPIKE_CMD_SA_NEW,
	.mcgrps = tcpike_mcgrps,
	.n_mcgrps = ARRAY_SIZE(tcpike_mcgrps),
};

struct sk_buff *tcpike_event_new(u8 cmd, void **hdr, gfp_t gfp)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, gfp);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &tcpike_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

bool tcpike_events_listened(struct net *net)
{
	return genl_has_listeners(&tcpike_family, net, 0);
}

int tcpike_event_send(struct net *net, struct sk_buff *msg)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	int err;

	err = genlmsg_multicast_netns(&tcpike_family, net, msg, 0, 0, GFP_ATOMIC);
	spin_lock_bh(&tn->own_lock);
	if (!err)
		tn->events_sent++;
	else if (err != -ESRCH)		/* -ESRCH: nobody listens, not a loss */
		tn->events_dropped++;
	spin_unlock_bh(&tn->own_lock);
	return err;
}

int __init tcpike_netlink_init(void)
{
	return genl_register_family(&tcpike_family);
}

void tcpike_netlink_exit(void)
{
	genl_unregister_family(&tcpike_family);
}
