// SPDX-License-Identifier: GPL-2.0
#include "tcpike_nl.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/tcpike.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <openssl/crypto.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* What the parsers below may assume of each attribute the kernel sends:
 * genlmsg_parse() checks lengths against this (libnl's validated
 * nla_parse), so nla_get_*() never reads past an attribute.  Addresses are
 * copied only when 4 or 16 bytes long (get_addr), names printed by length. */
static struct nla_policy reply_policy[TCPIKE_A_MAX + 1] = {
	[TCPIKE_A_SPI] = { .type = NLA_U32 },
	[TCPIKE_A_FAMILY] = { .type = NLA_U16 },
	[TCPIKE_A_SRC] = { .maxlen = 16 },
	[TCPIKE_A_DST] = { .maxlen = 16 },
	[TCPIKE_A_MODE] = { .type = NLA_U8 },
	[TCPIKE_A_REQID] = { .type = NLA_U32 },
	[TCPIKE_A_AEAD_ICV_BITS] = { .type = NLA_U32 },
	[TCPIKE_A_AUTH_TRUNC_BITS] = { .type = NLA_U32 },
	[TCPIKE_A_REPLAY_WINDOW] = { .type = NLA_U32 },
	[TCPIKE_A_SA_FLAGS] = { .type = NLA_U32 },
	[TCPIKE_A_STATS_PACKETS] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_BYTES] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_ERRORS] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_SAS] = { .type = NLA_U32 },
	[TCPIKE_A_STATS_SA_CREATED] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_SA_DELETED] = { .type = NLA_U64 },
	[TCPIKE_A_POLICY_DIR] = { .type = NLA_U8 },
	[TCPIKE_A_SEL_SRC] = { .maxlen = 16 },
	[TCPIKE_A_SEL_DST] = { .maxlen = 16 },
	[TCPIKE_A_SEL_SRC_PLEN] = { .type = NLA_U8 },
	[TCPIKE_A_SEL_DST_PLEN] = { .type = NLA_U8 },
	[TCPIKE_A_SEL_PROTO] = { .type = NLA_U8 },
	[TCPIKE_A_PRIORITY] = { .type = NLA_U32 },
	[TCPIKE_A_STATS_POLICIES] = { .type = NLA_U32 },
	[TCPIKE_A_EVENT_HARD] = { .type = NLA_U8 },
	[TCPIKE_A_STATS_EVENTS_SENT] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_EVENTS_DROPPED] = { .type = NLA_U64 },
	[TCPIKE_A_ENCAP] = { .type = NLA_U8 },
	[TCPIKE_A_ENCAP_SPORT] = { .type = NLA_U16 },
	[TCPIKE_A_ENCAP_DPORT] = { .type = NLA_U16 },
	[TCPIKE_A_STATS_STEERS] = { .type = NLA_U64 },
	[TCPIKE_A_MAPPING_ADDR] = { .maxlen = 16 },
	[TCPIKE_A_MAPPING_PORT] = { .type = NLA_U16 },
	[TCPIKE_A_STATS_KEEPALIVES] = { .type = NLA_U32 },
	[TCPIKE_A_STATS_KEEPALIVES_SENT] = { .type = NLA_U64 },
	[TCPIKE_A_PAIR_SPI] = { .type = NLA_U32 },
	[TCPIKE_A_REACH_TIMEOUT] = { .type = NLA_U32 },
	[TCPIKE_A_REACH_UP] = { .type = NLA_U8 },
	[TCPIKE_A_STATS_REACHES] = { .type = NLA_U32 },
	[TCPIKE_A_MARK] = { .type = NLA_U32 },
	[TCPIKE_A_MARK_MASK] = { .type = NLA_U32 },
	[TCPIKE_A_IF_ID] = { .type = NLA_U32 },
	[TCPIKE_A_DEL_REASON] = { .type = NLA_U8 },
	[TCPIKE_A_STATS_KEEPALIVES_SKIPPED] = { .type = NLA_U64 },
	[TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS] = { .type = NLA_U64 },
};

struct req {
	struct tnl *t;
	int err;			/* 1 until the ACK or error arrives */
	int parse_err;			/* from the reply, reported at the ACK */
	int (*parse)(struct nlattr **a, void *arg);
	void *arg;
};

/* The kernel's extack sentence, if the error message nlh (nlmsg_len already
 * checked to hold a struct nlmsgerr) carries one.  Bytes from the kernel:
 * every offset is checked against nlmsg_len and the text printed by length. */
static void extack_msg(const struct nlmsghdr *nlh, char *out, size_t n)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	if (NLMSG_HDRLEN + off >= nlh->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlmsg_data(nlh) + off),
		      (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off), NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0)
		snprintf(out, n, "%.*s", (int)strnlen(nla_data(tb[NLMSGERR_ATTR_MSG]),
						       (size_t)nla_len(tb[NLMSGERR_ATTR_MSG])),
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *r = arg;

	r->err = e->error;
	extack_msg((struct nlmsghdr *)((char *)e - NLMSG_HDRLEN), r->t->error,
		   sizeof(r->t->error));
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	r->err = r->parse_err;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;
	struct nlattr *a[TCPIKE_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* The request asked for an ACK: it follows the reply, and is read
	 * before returning, so no stale message is left for the next request. */
	if (genlmsg_parse(nlh, 0, a, TCPIKE_A_MAX, reply_policy) < 0) {
		r->parse_err = -EPROTO;
		snprintf(r->t->error, sizeof(r->t->error), "malformed reply from the kernel");
		return NL_OK;
	}
	if (r->parse && !r->parse_err)
		r->parse_err = r->parse(a, r->arg);
	return NL_OK;
}

int tnl_open(struct tnl *t)
{
	int one = 1;

	memset(t, 0, sizeof(*t));
	t->sk = nl_socket_alloc();
	if (!t->sk)
		return -ENOMEM;
	if (genl_connect(t->sk)) {
		tnl_close(t);
		return -ECONNREFUSED;
	}
	setsockopt(nl_socket_get_fd(t->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(t->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	t->family_id = genl_ctrl_resolve(t->sk, TCPIKE_GENL_NAME);
	if (t->family_id < 0) {
		snprintf(t->error, sizeof(t->error),
			 "generic netlink family '%s' not found (is tcpike.ko loaded?)",
			 TCPIKE_GENL_NAME);
		tnl_close(t);
		return -ENOENT;
	}
	return 0;
}

void tnl_close(struct tnl *t)
{
	if (t->sk)
		nl_socket_free(t->sk);
	if (t->ev_sk)
		nl_socket_free(t->ev_sk);
	t->sk = NULL;
	t->ev_sk = NULL;
}

static struct nl_msg *new_msg(struct tnl *t, uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	if (m && !genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, t->family_id, 0,
			      NLM_F_REQUEST | NLM_F_ACK, cmd, TCPIKE_GENL_VERSION)) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

/* Sends m (freed here, key attributes wiped), waits for the answer. */
static int transact(struct tnl *t, struct nl_msg *m,
		    int (*parse)(struct nlattr **a, void *arg), void *arg)
{
	struct req r = { .t = t, .err = 1, .parse = parse, .arg = arg };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	struct nlmsghdr *nlh = nlmsg_hdr(m);
	int err;

	t->error[0] = 0;
	if (!cb) {
		OPENSSL_cleanse(nlh, nlh->nlmsg_len);
		nlmsg_free(m);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &r);
	err = nl_send_auto(t->sk, m);
	OPENSSL_cleanse(nlh, nlh->nlmsg_len);
	nlmsg_free(m);
	if (err < 0) {
		nl_cb_put(cb);
		snprintf(t->error, sizeof(t->error), "netlink send: %s", nl_geterror(err));
		return -EIO;
	}
	while (r.err > 0) {
		err = nl_recvmsgs(t->sk, cb);
		if (err < 0 && r.err > 0) {
			r.err = -EIO;
			snprintf(t->error, sizeof(t->error), "netlink receive: %s", nl_geterror(err));
		}
	}
	nl_cb_put(cb);
	if (r.err && !t->error[0])
		snprintf(t->error, sizeof(t->error), "%s", strerror(-r.err));
	return r.err;
}

static int put_addr(struct nl_msg *m, int attr, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return nla_put(m, attr, 4, &((const struct sockaddr_in *)ss)->sin_addr);
	return nla_put(m, attr, 16, &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int put_id(struct nl_msg *m, const struct sockaddr_storage *dst, uint32_t spi)
{
	return nla_put_u32(m, TCPIKE_A_SPI, spi) ||
	       nla_put_u16(m, TCPIKE_A_FAMILY, dst->ss_family) ||
	       put_addr(m, TCPIKE_A_DST, dst) ? -EMSGSIZE : 0;
}

static int put_encap(struct nl_msg *m, enum kb_encap encap, uint16_t sport, uint16_t dport)
{
	/* An unknown value is sent as is: the kernel's policy refuses it. */
	return nla_put_u8(m, TCPIKE_A_ENCAP, encap == KB_ENCAP_UDP ? TCPIKE_ENCAP_UDP :
			  encap == KB_ENCAP_TCP ? TCPIKE_ENCAP_TCP :
			  encap == KB_ENCAP_RAW ? TCPIKE_ENCAP_RAW : 255) ||
	       (sport && nla_put_u16(m, TCPIKE_A_ENCAP_SPORT, htons(sport))) ||
	       (dport && nla_put_u16(m, TCPIKE_A_ENCAP_DPORT, htons(dport)));
}

int tnl_keepalive_set(struct tnl *t, const struct sockaddr_storage *local,
		      const struct sockaddr_storage *remote, uint16_t sport, uint16_t dport,
		      uint32_t interval_s)
{
	struct nl_msg *m;

	if (local->ss_family != AF_INET || remote->ss_family != AF_INET) {
		snprintf(t->error, sizeof(t->error), "NAT keepalives are for IPv4 peers only");
		return -EAFNOSUPPORT;
	}
	m = new_msg(t, TCPIKE_CMD_KEEPALIVE_SET);
	if (!m || nla_put_u16(m, TCPIKE_A_FAMILY, AF_INET) ||
	    put_addr(m, TCPIKE_A_SRC, local) || put_addr(m, TCPIKE_A_DST, remote) ||
	    nla_put_u16(m, TCPIKE_A_ENCAP_SPORT, htons(sport)) ||
	    nla_put_u16(m, TCPIKE_A_ENCAP_DPORT, htons(dport)) ||
	    nla_put_u32(m, TCPIKE_A_KEEPALIVE_INTERVAL, interval_s)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_sa_steer_req(struct tnl *t, const struct tnl_steer *s)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_SA_STEER);

	if (!m || (s->dst && put_id(m, s->dst, s->spi)) ||
	    (s->by_reqid && nla_put_u32(m, TCPIKE_A_REQID, s->reqid)) ||
	    put_encap(m, s->encap, s->sport, s->dport)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_sa_steer(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		 enum kb_encap encap, uint16_t sport, uint16_t dport)
{
	struct tnl_steer s = { .dst = dst, .spi = spi, .encap = encap, .sport = sport,
			       .dport = dport };

	return tnl_sa_steer_req(t, &s);
}

int tnl_sa_steer_reqid(struct tnl *t, uint32_t reqid, enum kb_encap encap, uint16_t lport,
		       uint16_t pport)
{
	struct tnl_steer s = { .by_reqid = 1, .reqid = reqid, .encap = encap, .sport = lport,
			       .dport = pport };

	return tnl_sa_steer_req(t, &s);
}

/* XFRM mark (value and mask, both sent when either is set, so the kernel
 * judges a mask of 0) and if_id (0: none). */
static int put_mark(struct nl_msg *m, uint32_t mark, uint32_t mask, uint32_t if_id)
{
	return ((mark || mask) && (nla_put_u32(m, TCPIKE_A_MARK, mark) ||
				   nla_put_u32(m, TCPIKE_A_MARK_MASK, mask))) ||
	       (if_id && nla_put_u32(m, TCPIKE_A_IF_ID, if_id));
}

int tnl_reach_set(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		  uint32_t pair_spi, uint32_t timeout_s)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_REACH_SET);

	if (!m || put_id(m, dst, spi) ||
	    (timeout_s && pair_spi && nla_put_u32(m, TCPIKE_A_PAIR_SPI, pair_spi)) ||
	    nla_put_u32(m, TCPIKE_A_REACH_TIMEOUT, timeout_s)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_sa_new(struct tnl *t, const struct kb_sa *sa)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_SA_NEW);
	int bad;

	if (!m)
		return -ENOMEM;
	/* Whatever is set is sent: the kernel judges the combination. */
	bad = put_id(m, &sa->dst, sa->spi) || put_addr(m, TCPIKE_A_SRC, &sa->src) ||
	      nla_put_u8(m, TCPIKE_A_MODE, sa->mode == KB_MODE_TRANSPORT ?
			 TCPIKE_MODE_TRANSPORT : TCPIKE_MODE_TUNNEL) ||
	      nla_put_u32(m, TCPIKE_A_REQID, sa->reqid) ||
	      nla_put_u32(m, TCPIKE_A_REPLAY_WINDOW, sa->replay_window) ||
	      nla_put_u32(m, TCPIKE_A_SA_FLAGS, sa->esn ? TCPIKE_SA_F_ESN : 0) ||
	      (sa->enc_key_len && nla_put(m, TCPIKE_A_ENC_KEY, sa->enc_key_len, sa->enc_key)) ||
	      (sa->auth_key_len && nla_put(m, TCPIKE_A_AUTH_KEY, sa->auth_key_len, sa->auth_key)) ||
	      (sa->aead[0] && nla_put_string(m, TCPIKE_A_AEAD_NAME, sa->aead)) ||
	      (sa->aead_icv_bits && nla_put_u32(m, TCPIKE_A_AEAD_ICV_BITS, sa->aead_icv_bits)) ||
	      (sa->enc[0] && nla_put_string(m, TCPIKE_A_ENC_NAME, sa->enc)) ||
	      (sa->auth[0] && nla_put_string(m, TCPIKE_A_AUTH_NAME, sa->auth)) ||
	      (sa->auth_trunc_bits && nla_put_u32(m, TCPIKE_A_AUTH_TRUNC_BITS, sa->auth_trunc_bits)) ||
	      (sa->soft_bytes && nla_put_u64(m, TCPIKE_A_LIFE_SOFT_BYTES, sa->soft_bytes)) ||
	      (sa->hard_bytes && nla_put_u64(m, TCPIKE_A_LIFE_HARD_BYTES, sa->hard_bytes)) ||
	      (sa->soft_packets && nla_put_u64(m, TCPIKE_A_LIFE_SOFT_PACKETS, sa->soft_packets)) ||
	      (sa->hard_packets && nla_put_u64(m, TCPIKE_A_LIFE_HARD_PACKETS, sa->hard_packets)) ||
	      (sa->soft_seconds && nla_put_u64(m, TCPIKE_A_LIFE_SOFT_SECONDS, sa->soft_seconds)) ||
	      (sa->hard_seconds && nla_put_u64(m, TCPIKE_A_LIFE_HARD_SECONDS, sa->hard_seconds)) ||
	      (sa->encap != KB_ENCAP_RAW && put_encap(m, sa->encap, sa->encap_sport, sa->encap_dport)) ||
	      put_mark(m, sa->mark, sa->mark_mask, sa->if_id);
	if (bad) {
		OPENSSL_cleanse(nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
		nlmsg_free(m);
		snprintf(t->error, sizeof(t->error), "SA attributes do not fit a message");
		return -EMSGSIZE;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_sa_del(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_SA_DEL);

	if (!m || put_id(m, dst, spi)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

static void get_addr(struct nlattr *a, int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET && nla_len(a) == 4)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, nla_data(a), 4);
	else if (family == AF_INET6 && nla_len(a) == 16)
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, nla_data(a), 16);
}

/* A selector's attributes, its addresses of family. */
static void get_sel(struct nlattr **a, int family, struct kb_selector *sel)
{
	sel->family = family;
	get_addr(a[TCPIKE_A_SEL_SRC], family, &sel->src);
	get_addr(a[TCPIKE_A_SEL_DST], family, &sel->dst);
	sel->src_plen = a[TCPIKE_A_SEL_SRC_PLEN] ? nla_get_u8(a[TCPIKE_A_SEL_SRC_PLEN]) : 0;
	sel->dst_plen = a[TCPIKE_A_SEL_DST_PLEN] ? nla_get_u8(a[TCPIKE_A_SEL_DST_PLEN]) : 0;
	sel->proto = a[TCPIKE_A_SEL_PROTO] ? nla_get_u8(a[TCPIKE_A_SEL_PROTO]) : 0;
}

static void get_str(struct nlattr *a, char *out, size_t n)
{
	if (a)
		snprintf(out, n, "%.*s", nla_len(a), (char *)nla_data(a));
}

static int parse_sa(struct nlattr **a, void *arg)
{
	struct tnl_sa_info *i = arg;

	if (!a[TCPIKE_A_SPI] || !a[TCPIKE_A_FAMILY] || !a[TCPIKE_A_SRC] || !a[TCPIKE_A_DST])
		return -EPROTO;
	i->spi = nla_get_u32(a[TCPIKE_A_SPI]);
	i->family = nla_get_u16(a[TCPIKE_A_FAMILY]);
	get_addr(a[TCPIKE_A_SRC], i->family, &i->src);
	get_addr(a[TCPIKE_A_DST], i->family, &i->dst);
	i->mode = a[TCPIKE_A_MODE] ? nla_get_u8(a[TCPIKE_A_MODE]) : 0;
	i->reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
	i->replay_window = a[TCPIKE_A_REPLAY_WINDOW] ? nla_get_u32(a[TCPIKE_A_REPLAY_WINDOW]) : 0;
	i->flags = a[TCPIKE_A_SA_FLAGS] ? nla_get_u32(a[TCPIKE_A_SA_FLAGS]) : 0;
	get_str(a[TCPIKE_A_AEAD_NAME], i->aead, sizeof(i->aead));
	get_str(a[TCPIKE_A_ENC_NAME], i->enc, sizeof(i->enc));
	get_str(a[TCPIKE_A_AUTH_NAME], i->auth, sizeof(i->auth));
	i->aead_icv_bits = a[TCPIKE_A_AEAD_ICV_BITS] ? nla_get_u32(a[TCPIKE_A_AEAD_ICV_BITS]) : 0;
	i->auth_trunc_bits = a[TCPIKE_A_AUTH_TRUNC_BITS] ? nla_get_u32(a[TCPIKE_A_AUTH_TRUNC_BITS]) : 0;
	i->packets = a[TCPIKE_A_STATS_PACKETS] ? nla_get_u64(a[TCPIKE_A_STATS_PACKETS]) : 0;
	i->bytes = a[TCPIKE_A_STATS_BYTES] ? nla_get_u64(a[TCPIKE_A_STATS_BYTES]) : 0;
	i->errors = a[TCPIKE_A_STATS_ERRORS] ? nla_get_u64(a[TCPIKE_A_STATS_ERRORS]) : 0;
	i->encap = a[TCPIKE_A_ENCAP] ? nla_get_u8(a[TCPIKE_A_ENCAP]) : 0;
	i->encap_sport = a[TCPIKE_A_ENCAP_SPORT] ? ntohs(nla_get_u16(a[TCPIKE_A_ENCAP_SPORT])) : 0;
	i->encap_dport = a[TCPIKE_A_ENCAP_DPORT] ? ntohs(nla_get_u16(a[TCPIKE_A_ENCAP_DPORT])) : 0;
	i->mark = a[TCPIKE_A_MARK] ? nla_get_u32(a[TCPIKE_A_MARK]) : 0;
	i->mark_mask = a[TCPIKE_A_MARK_MASK] ? nla_get_u32(a[TCPIKE_A_MARK_MASK]) : 0;
	i->if_id = a[TCPIKE_A_IF_ID] ? nla_get_u32(a[TCPIKE_A_IF_ID]) : 0;
	i->has_key = a[TCPIKE_A_ENC_KEY] || a[TCPIKE_A_AUTH_KEY];
	return 0;
}

int tnl_sa_get(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
	       struct tnl_sa_info *out)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_SA_GET);

	memset(out, 0, sizeof(*out));
	if (!m || put_id(m, dst, spi)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, parse_sa, out);
}

/* A dump of SAs or policies: elements of size bytes, each parsed by parse
 * (-EPROTO when the message lacks what identifies it). */
struct dump {
	struct tnl *t;
	int err;			/* 1 while running */
	uint8_t cmd;
	size_t size;
	int (*parse)(struct nlattr **a, void *out);
	void *v;
	size_t n, cap;
};

static int on_dump_valid(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlattr *a[TCPIKE_A_MAX + 1];
	void *v, *e;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, TCPIKE_A_MAX, reply_policy) < 0) {
		d->err = -EPROTO;
		snprintf(d->t->error, sizeof(d->t->error), "malformed dump message from the kernel");
		return NL_STOP;
	}
	if (d->n == d->cap) {
		v = realloc(d->v, (d->cap ? d->cap * 2 : 16) * d->size);
		if (!v) {
			d->err = -ENOMEM;
			return NL_STOP;
		}
		d->v = v;
		d->cap = d->cap ? d->cap * 2 : 16;
	}
	e = (char *)d->v + d->n * d->size;
	memset(e, 0, d->size);
	if (d->parse(a, e)) {
		d->err = -EPROTO;
		snprintf(d->t->error, sizeof(d->t->error), "entry in the dump without its identity");
		return NL_STOP;
	}
	d->n++;
	return NL_OK;
}

static int on_dump_done(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;

	if (d->err > 0)
		d->err = 0;
	return NL_STOP;
}

static int on_dump_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct dump *d = arg;

	d->err = e->error ? e->error : -EPROTO;
	return NL_STOP;
}

/* One pass; -EAGAIN when the kernel flagged the dump inconsistent. */
static int dump_once(struct tnl *t, struct dump *d)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	struct nl_msg *m = nlmsg_alloc();
	int err;

	d->err = 1;
	d->n = 0;
	if (!cb || !m || !genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, t->family_id, 0,
				      NLM_F_REQUEST | NLM_F_DUMP, d->cmd,
				      TCPIKE_GENL_VERSION)) {
		nlmsg_free(m);
		if (cb)
			nl_cb_put(cb);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_dump_error, d);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_valid, d);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_dump_done, d);
	err = nl_send_auto(t->sk, m);
	nlmsg_free(m);
	if (err < 0) {
		nl_cb_put(cb);
		snprintf(t->error, sizeof(t->error), "netlink send: %s", nl_geterror(err));
		return -EIO;
	}
	while (d->err > 0) {
		err = nl_recvmsgs(t->sk, cb);
		if (err == -NLE_DUMP_INTR) {
			/* Drain the rest of this dump before the retry. */
			while (d->err > 0 && nl_recvmsgs(t->sk, cb) >= 0)
				;
			d->err = -EAGAIN;
		} else if (err < 0 && d->err > 0) {
			d->err = -EIO;
			snprintf(t->error, sizeof(t->error), "netlink receive: %s", nl_geterror(err));
		}
	}
	nl_cb_put(cb);
	return d->err;
}

/* Retries a dump the kernel flagged inconsistent, a few times; d->v has
 * the elements (NULL on an error), *n how many. */
static int dump_all(struct tnl *t, struct dump *d, const char *what, size_t *n)
{
	int err, tries;

	t->error[0] = 0;
	for (tries = 0; tries < 5; tries++) {
		d->n = 0;
		err = dump_once(t, d);
		if (err != -EAGAIN)
			break;
	}
	if (err) {
		free(d->v);
		d->v = NULL;
		if (!t->error[0])
			snprintf(t->error, sizeof(t->error), err == -EAGAIN ?
				 "the %s list kept changing during the dump" : "%s dump: %s",
				 what, strerror(-err));
	} else {
		*n = d->n;
	}
	return err;
}

int tnl_sa_dump(struct tnl *t, struct tnl_sa_info **out, size_t *n)
{
	struct dump d = { .t = t, .cmd = TCPIKE_CMD_SA_GET, .size = sizeof(**out),
			  .parse = parse_sa };
	int err = dump_all(t, &d, "SA", n);

	*out = d.v;
	return err;
}

static int parse_policy(struct nlattr **a, void *arg)
{
	struct tnl_policy_info *p = arg;

	if (!a[TCPIKE_A_POLICY_DIR] || !a[TCPIKE_A_FAMILY] || !a[TCPIKE_A_SEL_SRC] ||
	    !a[TCPIKE_A_SEL_DST])
		return -EPROTO;
	p->dir = nla_get_u8(a[TCPIKE_A_POLICY_DIR]);
	get_sel(a, nla_get_u16(a[TCPIKE_A_FAMILY]), &p->sel);
	p->priority = a[TCPIKE_A_PRIORITY] ? nla_get_u32(a[TCPIKE_A_PRIORITY]) : 0;
	p->reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
	p->mode = a[TCPIKE_A_MODE] ? nla_get_u8(a[TCPIKE_A_MODE]) : 0;
	if (a[TCPIKE_A_SRC])
		get_addr(a[TCPIKE_A_SRC], p->sel.family, &p->tmpl_src);
	if (a[TCPIKE_A_DST])
		get_addr(a[TCPIKE_A_DST], p->sel.family, &p->tmpl_dst);
	p->mark = a[TCPIKE_A_MARK] ? nla_get_u32(a[TCPIKE_A_MARK]) : 0;
	p->mark_mask = a[TCPIKE_A_MARK_MASK] ? nla_get_u32(a[TCPIKE_A_MARK_MASK]) : 0;
	p->if_id = a[TCPIKE_A_IF_ID] ? nla_get_u32(a[TCPIKE_A_IF_ID]) : 0;
	return 0;
}

int tnl_policy_dump(struct tnl *t, struct tnl_policy_info **out, size_t *n)
{
	struct dump d = { .t = t, .cmd = TCPIKE_CMD_POLICY_GET, .size = sizeof(**out),
			  .parse = parse_policy };
	int err = dump_all(t, &d, "policy", n);

	*out = d.v;
	return err;
}

static int parse_stats(struct nlattr **a, void *arg)
{
	struct tnl_stats *s = arg;

	s->sas = a[TCPIKE_A_STATS_SAS] ? nla_get_u32(a[TCPIKE_A_STATS_SAS]) : 0;
	s->sa_created = a[TCPIKE_A_STATS_SA_CREATED] ? nla_get_u64(a[TCPIKE_A_STATS_SA_CREATED]) : 0;
	s->sa_deleted = a[TCPIKE_A_STATS_SA_DELETED] ? nla_get_u64(a[TCPIKE_A_STATS_SA_DELETED]) : 0;
	s->policies = a[TCPIKE_A_STATS_POLICIES] ? nla_get_u32(a[TCPIKE_A_STATS_POLICIES]) : 0;
	s->events_sent = a[TCPIKE_A_STATS_EVENTS_SENT] ? nla_get_u64(a[TCPIKE_A_STATS_EVENTS_SENT]) : 0;
	s->events_dropped = a[TCPIKE_A_STATS_EVENTS_DROPPED] ?
			    nla_get_u64(a[TCPIKE_A_STATS_EVENTS_DROPPED]) : 0;
	s->steers = a[TCPIKE_A_STATS_STEERS] ? nla_get_u64(a[TCPIKE_A_STATS_STEERS]) : 0;
	s->keepalives = a[TCPIKE_A_STATS_KEEPALIVES] ? nla_get_u32(a[TCPIKE_A_STATS_KEEPALIVES]) : 0;
	s->keepalives_sent = a[TCPIKE_A_STATS_KEEPALIVES_SENT] ?
			     nla_get_u64(a[TCPIKE_A_STATS_KEEPALIVES_SENT]) : 0;
	s->reaches = a[TCPIKE_A_STATS_REACHES] ? nla_get_u32(a[TCPIKE_A_STATS_REACHES]) : 0;
	s->keepalives_skipped = a[TCPIKE_A_STATS_KEEPALIVES_SKIPPED] ?
				nla_get_u64(a[TCPIKE_A_STATS_KEEPALIVES_SKIPPED]) : 0;
	s->keepalive_bh_peak_ns = a[TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS] ?
				 nla_get_u64(a[TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS]) : 0;
	return 0;
}

int tnl_stats_get(struct tnl *t, struct tnl_stats *out)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_STATS_GET);

	memset(out, 0, sizeof(*out));
	if (!m)
		return -ENOMEM;
	return transact(t, m, parse_stats, out);
}

static int put_selector(struct nl_msg *m, const struct kb_policy *pol)
{
	return nla_put_u8(m, TCPIKE_A_POLICY_DIR, (uint8_t)pol->dir) ||
	       nla_put_u16(m, TCPIKE_A_FAMILY, (uint16_t)pol->sel.family) ||
	       put_addr(m, TCPIKE_A_SEL_SRC, &pol->sel.src) ||
	       put_addr(m, TCPIKE_A_SEL_DST, &pol->sel.dst) ||
	       nla_put_u8(m, TCPIKE_A_SEL_SRC_PLEN, pol->sel.src_plen) ||
	       nla_put_u8(m, TCPIKE_A_SEL_DST_PLEN, pol->sel.dst_plen) ||
	       (pol->sel.proto && nla_put_u8(m, TCPIKE_A_SEL_PROTO, pol->sel.proto)) ||
	       put_mark(m, pol->mark, pol->mark_mask, pol->if_id) ? -EMSGSIZE : 0;
}

int tnl_policy_new(struct tnl *t, const struct kb_policy *pol)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_POLICY_NEW);
	int bad;

	if (!m)
		return -ENOMEM;
	bad = put_selector(m, pol) ||
	      nla_put_u32(m, TCPIKE_A_REQID, pol->reqid) ||
	      nla_put_u32(m, TCPIKE_A_PRIORITY, pol->priority) ||
	      nla_put_u8(m, TCPIKE_A_MODE, pol->mode == KB_MODE_TRANSPORT ?
			 TCPIKE_MODE_TRANSPORT : TCPIKE_MODE_TUNNEL) ||
	      (pol->tmpl_src.ss_family && put_addr(m, TCPIKE_A_SRC, &pol->tmpl_src)) ||
	      (pol->tmpl_dst.ss_family && put_addr(m, TCPIKE_A_DST, &pol->tmpl_dst));
	if (bad) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_policy_del(struct tnl *t, const struct kb_policy *pol)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_POLICY_DEL);

	if (!m || put_selector(m, pol)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_sa_move(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		const struct sockaddr_storage *nsrc, const struct sockaddr_storage *ndst,
		uint16_t sport, uint16_t dport)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_SA_MOVE);

	if (!m || put_id(m, dst, spi) || put_addr(m, TCPIKE_A_MOVE_SRC, nsrc) ||
	    put_addr(m, TCPIKE_A_MOVE_DST, ndst) ||
	    (sport && nla_put_u16(m, TCPIKE_A_ENCAP_SPORT, htons(sport))) ||
	    (dport && nla_put_u16(m, TCPIKE_A_ENCAP_DPORT, htons(dport)))) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_policy_move(struct tnl *t, const struct kb_policy *pol,
		    const struct sockaddr_storage *tsrc, const struct sockaddr_storage *tdst)
{
	struct nl_msg *m = new_msg(t, TCPIKE_CMD_POLICY_MOVE);

	if (!m || put_selector(m, pol) || put_addr(m, TCPIKE_A_MOVE_SRC, tsrc) ||
	    put_addr(m, TCPIKE_A_MOVE_DST, tdst)) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	return transact(t, m, NULL, NULL);
}

int tnl_events_join(struct tnl *t)
{
	int grp = genl_ctrl_resolve_grp(t->sk, TCPIKE_GENL_NAME, TCPIKE_MCGRP_EVENTS);
	int err;

	if (grp < 0) {
		snprintf(t->error, sizeof(t->error), "events group not found: %s", nl_geterror(grp));
		return -ENOENT;
	}
	t->ev_sk = nl_socket_alloc();
	if (!t->ev_sk)
		return -ENOMEM;
	nl_socket_disable_seq_check(t->ev_sk);
	err = genl_connect(t->ev_sk);
	if (!err)
		err = nl_socket_add_membership(t->ev_sk, grp);
	if (!err)
		err = nl_socket_set_nonblocking(t->ev_sk);
	if (err) {
		snprintf(t->error, sizeof(t->error), "joining the events group: %s", nl_geterror(err));
		nl_socket_free(t->ev_sk);
		t->ev_sk = NULL;
		return -EIO;
	}
	return 0;
}

struct ev_ctx {
	struct tnl_event *ev;
	int got;
};

/* One event message; 0 when it is one the daemon handles, else -EPROTO. */
static int event_from_msg(struct nlmsghdr *nlh, struct tnl_event *ev)
{
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *a[TCPIKE_A_MAX + 1];

	if (genlmsg_parse(nlh, 0, a, TCPIKE_A_MAX, reply_policy) < 0 || !a[TCPIKE_A_FAMILY])
		return -EPROTO;
	memset(ev, 0, sizeof(*ev));
	ev->family = nla_get_u16(a[TCPIKE_A_FAMILY]);
	if (g->cmd == TCPIKE_CMD_EVENT_EXPIRE && a[TCPIKE_A_SPI] && a[TCPIKE_A_DST]) {
		ev->kind = TNL_EV_EXPIRE;
		ev->spi = nla_get_u32(a[TCPIKE_A_SPI]);
		get_addr(a[TCPIKE_A_DST], ev->family, &ev->dst);
		ev->hard = a[TCPIKE_A_EVENT_HARD] && nla_get_u8(a[TCPIKE_A_EVENT_HARD]);
	} else if (g->cmd == TCPIKE_CMD_EVENT_ACQUIRE && a[TCPIKE_A_SEL_SRC] && a[TCPIKE_A_SEL_DST]) {
		ev->kind = TNL_EV_ACQUIRE;
		get_sel(a, ev->family, &ev->sel);
		ev->reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
		if (a[TCPIKE_A_SRC])
			get_addr(a[TCPIKE_A_SRC], ev->family, &ev->src);
		if (a[TCPIKE_A_DST])
			get_addr(a[TCPIKE_A_DST], ev->family, &ev->dst);
	} else if (g->cmd == TCPIKE_CMD_EVENT_MAPPING && a[TCPIKE_A_SPI] && a[TCPIKE_A_DST] &&
		   a[TCPIKE_A_MAPPING_ADDR] && a[TCPIKE_A_MAPPING_PORT]) {
		ev->kind = TNL_EV_MAPPING;
		ev->spi = nla_get_u32(a[TCPIKE_A_SPI]);
		get_addr(a[TCPIKE_A_DST], ev->family, &ev->dst);
		if (a[TCPIKE_A_SRC])
			get_addr(a[TCPIKE_A_SRC], ev->family, &ev->src);
		ev->old_port = a[TCPIKE_A_ENCAP_SPORT] ? ntohs(nla_get_u16(a[TCPIKE_A_ENCAP_SPORT])) : 0;
		get_addr(a[TCPIKE_A_MAPPING_ADDR], ev->family, &ev->new_addr);
		ev->new_port = ntohs(nla_get_u16(a[TCPIKE_A_MAPPING_PORT]));
	} else if (g->cmd == TCPIKE_CMD_EVENT_REACH && a[TCPIKE_A_SPI] && a[TCPIKE_A_DST] &&
		   a[TCPIKE_A_PAIR_SPI] && a[TCPIKE_A_REACH_UP]) {
		ev->kind = TNL_EV_REACH;
		ev->spi = nla_get_u32(a[TCPIKE_A_SPI]);
		get_addr(a[TCPIKE_A_DST], ev->family, &ev->dst);
		ev->pair_spi = nla_get_u32(a[TCPIKE_A_PAIR_SPI]);
		ev->timeout_s = a[TCPIKE_A_REACH_TIMEOUT] ? nla_get_u32(a[TCPIKE_A_REACH_TIMEOUT]) : 0;
		ev->up = nla_get_u8(a[TCPIKE_A_REACH_UP]) ? 1 : 0;
	} else if (g->cmd == TCPIKE_CMD_EVENT_SA_DELETED && a[TCPIKE_A_SPI] && a[TCPIKE_A_DST]) {
		ev->kind = TNL_EV_SA_DELETED;
		ev->spi = nla_get_u32(a[TCPIKE_A_SPI]);
		get_addr(a[TCPIKE_A_DST], ev->family, &ev->dst);
		if (a[TCPIKE_A_SRC])
			get_addr(a[TCPIKE_A_SRC], ev->family, &ev->src);
		ev->reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
	} else if (g->cmd == TCPIKE_CMD_EVENT_POLICY_DELETED && a[TCPIKE_A_POLICY_DIR] &&
		   a[TCPIKE_A_SEL_SRC] && a[TCPIKE_A_SEL_DST]) {
		ev->kind = TNL_EV_POLICY_DELETED;
		ev->dir = nla_get_u8(a[TCPIKE_A_POLICY_DIR]);
		get_sel(a, ev->family, &ev->sel);
		ev->reqid = a[TCPIKE_A_REQID] ? nla_get_u32(a[TCPIKE_A_REQID]) : 0;
	} else {
		return -EPROTO;
	}
	if (ev->kind == TNL_EV_SA_DELETED || ev->kind == TNL_EV_POLICY_DELETED) {
		ev->reason = a[TCPIKE_A_DEL_REASON] ? nla_get_u8(a[TCPIKE_A_DEL_REASON]) : 0;
		ev->mark = a[TCPIKE_A_MARK] ? nla_get_u32(a[TCPIKE_A_MARK]) : 0;
		ev->mark_mask = a[TCPIKE_A_MARK_MASK] ? nla_get_u32(a[TCPIKE_A_MARK_MASK]) : 0;
		ev->if_id = a[TCPIKE_A_IF_ID] ? nla_get_u32(a[TCPIKE_A_IF_ID]) : 0;
	}
	return 0;
}

static int parse_event(struct nl_msg *msg, void *arg)
{
	struct ev_ctx *c = arg;

	if (c->got || event_from_msg(nlmsg_hdr(msg), c->ev))
		return NL_SKIP;
	c->got = 1;
	return NL_OK;
}

int tnl_event_next(struct tnl *t, struct tnl_event *ev, int timeout_ms)
{
	struct ev_ctx c = { .ev = ev };
	struct pollfd pfd;
	int r;

	if (!t->ev_sk)
		return -EINVAL;
	pfd.fd = nl_socket_get_fd(t->ev_sk);
	pfd.events = POLLIN;
	nl_socket_modify_cb(t->ev_sk, NL_CB_VALID, NL_CB_CUSTOM, parse_event, &c);
	while (!c.got) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return 0;
		r = nl_recvmsgs_default(t->ev_sk);
		if (r < 0 && r != -NLE_AGAIN) {
			snprintf(t->error, sizeof(t->error), "events: %s", nl_geterror(r));
			return -EIO;
		}
	}
	return 1;
}

/* The reply parsers above on a buffer of netlink messages as the kernel
 * would send them (the fuzzing harness's entry): each message is walked
 * with nlmsg_ok()/nlmsg_next() as libnl does and given to every parser that
 * could see it.  Returns the number of messages that parsed. */
int tnl_parse_replies(const void *buf, size_t len)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len, good = 0;
	char err[256];

	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem)) {
		struct nlattr *a[TCPIKE_A_MAX + 1];
		struct tnl_sa_info sa;
		struct tnl_policy_info pol;
		struct tnl_stats st;
		struct tnl_event ev;

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			if (nlh->nlmsg_len >= (uint32_t)nlmsg_size(sizeof(struct nlmsgerr))) {
				err[0] = 0;
				extack_msg(nlh, err, sizeof(err));
				good++;
			}
			continue;
		}
		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue;
		if (genlmsg_parse(nlh, 0, a, TCPIKE_A_MAX, reply_policy) < 0)
			continue;
		memset(&sa, 0, sizeof(sa));
		memset(&pol, 0, sizeof(pol));
		good += !parse_sa(a, &sa);
		good += !parse_policy(a, &pol);
		good += !parse_stats(a, &st);
		good += !event_from_msg(nlh, &ev);
	}
	return good;
}
