// SPDX-License-Identifier: GPL-2.0
/*
 * The "xfrm" kernel backend: plain XFRM netlink (NETLINK_XFRM) through
 * libnl-3 core.  Everything added is remembered and removed on close.
 * Extended acks are on; the kernel's sentence lands in kb_error.  Netlink
 * buffers that held keys are wiped before they are freed.
 */
#define LOG_SUBSYS LOG_SUB_KERNEL

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"
#include "log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef TCP_ENCAP_ESPINTCP
#define TCP_ENCAP_ESPINTCP 7
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

struct xsa {
	struct sockaddr_storage dst;
	uint32_t spi;
	struct xsa *next;
};

struct xpol {
	struct kb_policy pol;
	struct xpol *next;
};

struct xfrm_be {
	struct nl_sock *sk;
	struct xsa *sas;
	struct xpol *pols;
	/* reply parsing for GETSA */
	struct kb_stats *want_stats;
	bool want_state_req, want_state_done;
	struct nlmsghdr *want_state;	/* a copy of the reply (holds keys) */
	char *err;
	size_t errlen;
	int kerr;		/* the kernel's errno from the last ack */
	bool acked;		/* the ack (or error) of the request came */
	int ev_fd;		/* XFRM's expire, acquire and mapping groups; 0 = not open */
};

static void to_xaddr(xfrm_address_t *x, const struct sockaddr_storage *ss)
{
	memset(x, 0, sizeof(*x));
	if (ss->ss_family == AF_INET)
		memcpy(&x->a4, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(x->a6, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static void to_xsel(struct xfrm_selector *x, const struct kb_selector *s)
{
	memset(x, 0, sizeof(*x));
	to_xaddr(&x->daddr, &s->dst);
	to_xaddr(&x->saddr, &s->src);
	x->family = (uint16_t)s->family;
	x->prefixlen_d = s->dst_plen;
	x->prefixlen_s = s->src_plen;
	x->proto = s->proto;
	x->dport = htons(s->dport);
	x->dport_mask = s->dport ? 0xffff : 0;
	x->sport = htons(s->sport);
	x->sport_mask = s->sport ? 0xffff : 0;
}

/* The extack sentence of an error message h (nlmsg_len already checked to
 * hold a struct nlmsgerr), printed by length into out; "" when none. */
static void xfrm_extack(const struct nlmsghdr *h, char *out, size_t n)
{
	const struct nlmsgerr *e = nlmsg_data(h);
	size_t hlen = h->nlmsg_len, off;

	out[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	if (off < hlen) {
		struct nlattr *a = nla_find((struct nlattr *)((char *)h + off),
					    (int)(hlen - off), NLMSGERR_ATTR_MSG);

		if (a && nla_len(a) > 0)
			snprintf(out, n, "%.*s",
				 (int)strnlen(nla_data(a), (size_t)nla_len(a)),
				 (const char *)nla_data(a));
	}
}

/* Error callback: errno and the extack sentence. */
static int on_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct xfrm_be *x = arg;

	(void)nla;
	xfrm_extack((struct nlmsghdr *)e - 1, x->err, x->errlen);
	x->kerr = e->error;
	x->acked = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct xfrm_be *x = arg;

	(void)msg;
	x->acked = true;
	return NL_STOP;
}

/* The counters of a NEWSA reply h (its length checked by the caller). */
static void xfrm_sa_counters(const struct nlmsghdr *h, struct kb_stats *st)
{
	struct xfrm_usersa_info p;

	memcpy(&p, nlmsg_data(h), sizeof(p));
	st->bytes = p.curlft.bytes;
	st->packets = p.curlft.packets;
	st->errors = p.stats.integrity_failed + p.stats.replay;
}

/* The XFRMA_ENCAP attribute of a NEWSA reply h, or NULL. */
static struct nlattr *xfrm_find_encap(struct nlmsghdr *h)
{
	struct nlattr *a, *found = NULL;
	int rem;

	if (nlmsg_datalen(h) < (int)sizeof(struct xfrm_usersa_info))
		return NULL;
	nlmsg_for_each_attr(a, h, sizeof(struct xfrm_usersa_info), rem)
		if (nla_type(a) == XFRMA_ENCAP &&
		    nla_len(a) >= (int)sizeof(struct xfrm_encap_tmpl))
			found = a;
	return found;
}

/*
 * A GETSA is answered with the whole state, keys included.  libnl hands the
 * callbacks a copy of each message and frees both the copy and the datagram
 * it read without wiping them, so this backend reads its datagrams itself
 * (xfrm_recv, through nl_cb_overwrite_recv) into a buffer whose address it
 * keeps while libnl walks it; on_valid wipes each state it was given, in
 * the copy and in that buffer.  Only the daemon's event loop talks to the
 * kernel and one xfrm_talk runs at a time, so one pointer is enough.
 */
static unsigned char *xfrm_rx_raw;
static size_t xfrm_rx_len;

static int xfrm_recv(struct nl_sock *sk, struct sockaddr_nl *nla,
		     unsigned char **buf, struct ucred **creds)
{
	struct iovec iov = { NULL, 0 };
	struct msghdr mh = { .msg_name = nla, .msg_namelen = sizeof(*nla),
			     .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = nl_socket_get_fd(sk);
	ssize_t n;

	if (creds)
		*creds = NULL;
	*buf = NULL;
	xfrm_rx_raw = NULL;
	xfrm_rx_len = 0;
	/* The size first, copying nothing; then the datagram, once. */
	do
		n = recvmsg(fd, &mh, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -NLE_FAILURE : 0;
	iov.iov_len = (size_t)n;
	iov.iov_base = malloc(iov.iov_len);
	if (!iov.iov_base)
		return -NLE_NOMEM;
	mh.msg_namelen = sizeof(*nla);
	do
		n = recvmsg(fd, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		free(iov.iov_base);
		return n < 0 ? -NLE_FAILURE : 0;
	}
	*buf = iov.iov_base;
	xfrm_rx_raw = iov.iov_base;
	xfrm_rx_len = (size_t)n;
	return (int)n;
}

void kb_nl_wipe_raw(unsigned char *raw, size_t len, const struct nlmsghdr *h)
{
	struct nlmsghdr *r = (struct nlmsghdr *)raw;
	int rem = (int)(len > INT_MAX ? INT_MAX : len);

	if (!raw)
		return;
	for (; nlmsg_ok(r, rem); r = nlmsg_next(r, &rem)) {
		if (r->nlmsg_len == h->nlmsg_len && r->nlmsg_type == h->nlmsg_type &&
		    r->nlmsg_seq == h->nlmsg_seq &&
		    !memcmp(nlmsg_data(r), nlmsg_data(h), (size_t)nlmsg_datalen(h))) {
			/* the header stays: libnl steps to the next message by it */
			OPENSSL_cleanse(nlmsg_data(r), (size_t)nlmsg_datalen(r));
			return;
		}
	}
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct xfrm_be *x = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	if (x->want_stats && h->nlmsg_type == XFRM_MSG_NEWSA &&
	    nlmsg_datalen(h) >= (int)sizeof(struct xfrm_usersa_info)) {
		xfrm_sa_counters(h, x->want_stats);
	}
	if (x->want_state_req && !x->want_state_done &&
	    h->nlmsg_type == XFRM_MSG_NEWSA &&
	    nlmsg_datalen(h) >= (int)sizeof(struct xfrm_usersa_info)) {
		x->want_state = malloc(h->nlmsg_len);
		if (x->want_state)
			memcpy(x->want_state, h, h->nlmsg_len);
		x->want_state_done = true;
	}
	if (h->nlmsg_type == XFRM_MSG_NEWSA) {
		kb_nl_wipe_raw(xfrm_rx_raw, xfrm_rx_len, h);
		OPENSSL_cleanse(nlmsg_data(h), (size_t)nlmsg_datalen(h));
	}
	return NL_OK;
}

/* Sends msg, waits for the ack; returns 0 or -errno (kb_error set). */
static int xfrm_talk(struct kbackend *kb, struct nl_msg *msg, bool wipe,
		     const char *what)
{
	struct xfrm_be *x = kb->priv;
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r, err = 0;

	if (!cb)
		return -ENOMEM;
	x->err = kb->kb_error;
	x->errlen = sizeof(kb->kb_error);
	kb->kb_error[0] = 0;
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, x);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, x);
	nl_cb_overwrite_recv(cb, xfrm_recv);
	x->acked = false;
	r = nl_send_auto(x->sk, msg);
	if (wipe)
		OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	if (r < 0) {
		err = -EIO;
	} else {
		x->kerr = 0;
		/* A GETSA is answered by the state and then, in a datagram of
		 * its own, the ack; nl_recvmsgs returns after the first.  Read
		 * on to the ack, or the next request takes this one's ack for
		 * its answer and every reply after is one request late. */
		do
			r = nl_recvmsgs(x->sk, cb);
		while (r >= 0 && !x->acked);
		xfrm_rx_raw = NULL;
		xfrm_rx_len = 0;
		if (r < 0) {
			err = x->kerr < 0 ? x->kerr : -EIO;
			if (kb->kb_error[0]) {
				char tmp[160];

				snprintf(tmp, sizeof(tmp), "%.150s", kb->kb_error);
				snprintf(kb->kb_error, sizeof(kb->kb_error),
					 "%s: %s (%s)", what, tmp, strerror(-err));
			} else {
				snprintf(kb->kb_error, sizeof(kb->kb_error),
					 "%s: %s", what, x->kerr < 0 ?
					 strerror(-err) : nl_geterror(r));
			}
		}
	}
	nl_cb_put(cb);
	return err;
}

static int put_algo(struct nl_msg *m, int type, const char *name,
		    const uint8_t *key, uint16_t keylen, int kind,
		    uint32_t extra_bits)
{
	size_t hdr = kind == 0 ? sizeof(struct xfrm_algo) :
		     kind == 1 ? sizeof(struct xfrm_algo_auth) :
				 sizeof(struct xfrm_algo_aead);
	size_t len = hdr + keylen;
	uint8_t *b = calloc(1, len);
	int r;

	if (!b)
		return -ENOMEM;
	if (kind == 0) {
		struct xfrm_algo *a = (void *)b;

		snprintf(a->alg_name, sizeof(a->alg_name), "%s", name);
		a->alg_key_len = keylen * 8u;
	} else if (kind == 1) {
		struct xfrm_algo_auth *a = (void *)b;

		snprintf(a->alg_name, sizeof(a->alg_name), "%s", name);
		a->alg_key_len = keylen * 8u;
		a->alg_trunc_len = extra_bits;
	} else {
		struct xfrm_algo_aead *a = (void *)b;

		snprintf(a->alg_name, sizeof(a->alg_name), "%s", name);
		a->alg_key_len = keylen * 8u;
		a->alg_icv_len = extra_bits;
	}
	if (keylen)
		memcpy(b + hdr, key, keylen);
	r = nla_put(m, type, (int)len, b);
	OPENSSL_cleanse(b, len);
	free(b);
	return r < 0 ? -EMSGSIZE : 0;
}

static uint64_t lim(uint64_t v)
{
	return v ? v : XFRM_INF;
}

/* The kernel's espintcp registers the "espintcp" TCP ULP; without it an
 * ESP-in-TCP state is refused with a less helpful sentence.  The list in
 * /proc/sys/net/ipv4/tcp_available_ulp exists only in the initial
 * namespace, so ask the stack: setting the ULP on a fresh, unconnected
 * socket works where it exists and fails with ENOENT where it does not.
 * Anything else (no TCP, no memory) leaves the judgement to the kernel. */
static bool espintcp_missing(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool missing;

	if (fd < 0)
		return false;
	missing = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "espintcp", sizeof("espintcp")) &&
		  errno == ENOENT;
	close(fd);
	return missing;
}

static int check_encap(struct kbackend *kb, const struct kb_sa *sa)
{
	if (sa->encap == KB_ENCAP_RAW) {
		if (sa->encap_sport || sa->encap_dport) {
			snprintf(kb->kb_error, sizeof(kb->kb_error),
				 "adding the ESP SA: ports given for raw ESP");
			return -EINVAL;
		}
		return 0;
	}
	if (sa->encap != KB_ENCAP_UDP && sa->encap != KB_ENCAP_TCP) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "adding the ESP SA: unknown ESP transport %d", (int)sa->encap);
		return -EINVAL;
	}
	if (!sa->encap_sport || !sa->encap_dport) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "adding the ESP SA: %s encapsulation needs both ports (non-zero)",
			 sa->encap == KB_ENCAP_UDP ? "UDP" : "TCP");
		return -EINVAL;
	}
	if (sa->encap == KB_ENCAP_TCP && espintcp_missing()) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "adding the ESP SA: this kernel has no ESP in TCP (no espintcp ULP)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int xfrm_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	struct xfrm_be *x = kb->priv;
	struct xfrm_usersa_info p;
	struct nl_msg *m;
	struct xsa *rec;
	bool bmp;
	int r = 0;

	r = check_encap(kb, sa);
	if (r)
		return r;
	memset(&p, 0, sizeof(p));
	if (sa->mode == KB_MODE_TRANSPORT)
		to_xsel(&p.sel, &sa->sel);
	else
		p.sel.family = sa->dst.ss_family;
	to_xaddr(&p.id.daddr, &sa->dst);
	p.id.spi = sa->spi;
	p.id.proto = IPPROTO_ESP;
	to_xaddr(&p.saddr, &sa->src);
	p.family = sa->dst.ss_family;
	p.reqid = sa->reqid;
	p.mode = sa->mode == KB_MODE_TRANSPORT ? XFRM_MODE_TRANSPORT :
						 XFRM_MODE_TUNNEL;
	p.lft.soft_byte_limit = lim(sa->soft_bytes);
	p.lft.hard_byte_limit = lim(sa->hard_bytes);
	p.lft.soft_packet_limit = lim(sa->soft_packets);
	p.lft.hard_packet_limit = lim(sa->hard_packets);
	p.lft.soft_add_expires_seconds = sa->soft_seconds;
	p.lft.hard_add_expires_seconds = sa->hard_seconds;
	/* A window wider than the legacy 32-bit bitmap, or ESN, goes in
	 * XFRMA_REPLAY_ESN_VAL with the legacy window 0, as iproute2 and
	 * strongSwan install it (xfrm_user clamps a legacy window to 32).
	 */
	bmp = sa->esn || sa->replay_window > 32;
	if (sa->esn)
		p.flags |= XFRM_STATE_ESN;
	if (!bmp)
		p.replay_window = (uint8_t)sa->replay_window;

	m = nlmsg_alloc_simple(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL);
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &p, sizeof(p), NLMSG_ALIGNTO) < 0)
		r = -EMSGSIZE;
	if (!r && sa->aead[0])
		r = put_algo(m, XFRMA_ALG_AEAD, sa->aead, sa->enc_key,
			     sa->enc_key_len, 2, sa->aead_icv_bits);
	if (!r && !sa->aead[0] && sa->enc[0])
		r = put_algo(m, XFRMA_ALG_CRYPT, sa->enc, sa->enc_key,
			     sa->enc_key_len, 0, 0);
	if (!r && !sa->aead[0] && sa->auth[0])
		r = put_algo(m, XFRMA_ALG_AUTH_TRUNC, sa->auth, sa->auth_key,
			     sa->auth_key_len, 1, sa->auth_trunc_bits);
	if (!r && sa->encap != KB_ENCAP_RAW) {
		struct xfrm_encap_tmpl e = { 0 };

		/* espintcp: the ports name the IKE peers' TCP connection,
		 * which esp_output looks up (dst:dport -> src:sport). */
		e.encap_type = sa->encap == KB_ENCAP_UDP ? UDP_ENCAP_ESPINUDP :
							   TCP_ENCAP_ESPINTCP;
		e.encap_sport = htons(sa->encap_sport);
		e.encap_dport = htons(sa->encap_dport);
		if (nla_put(m, XFRMA_ENCAP, sizeof(e), &e) < 0)
			r = -EMSGSIZE;
	}
	if (!r && bmp) {
		uint32_t win = sa->replay_window ? sa->replay_window : 32;
		uint32_t words = (win + 31) / 32;
		size_t len = sizeof(struct xfrm_replay_state_esn) + words * 4;
		struct xfrm_replay_state_esn *rs = calloc(1, len);

		if (!rs) {
			r = -ENOMEM;
		} else {
			rs->bmp_len = words;
			rs->replay_window = win;
			if (nla_put(m, XFRMA_REPLAY_ESN_VAL, (int)len, rs) < 0)
				r = -EMSGSIZE;
			free(rs);
		}
	}
	if (!r && (sa->mark || sa->mark_mask)) {
		struct xfrm_mark mk = { sa->mark, sa->mark_mask };

		if (nla_put(m, XFRMA_MARK, sizeof(mk), &mk) < 0)
			r = -EMSGSIZE;
	}
	if (!r && sa->if_id && nla_put_u32(m, XFRMA_IF_ID, sa->if_id) < 0)
		r = -EMSGSIZE;
	if (!r)
		r = xfrm_talk(kb, m, true, "adding the ESP SA");
	else
		OPENSSL_cleanse(nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
	if (r)
		return r;
	rec = calloc(1, sizeof(*rec));
	if (rec) {
		rec->dst = sa->dst;
		rec->spi = sa->spi;
		rec->next = x->sas;
		x->sas = rec;
	}
	return 0;
}

static int do_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst,
		     uint32_t spi)
{
	struct xfrm_usersa_id id = { 0 };
	struct nl_msg *m = nlmsg_alloc_simple(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK);
	int r;

	if (!m)
		return -ENOMEM;
	to_xaddr(&id.daddr, dst);
	id.spi = spi;
	id.family = dst->ss_family;
	id.proto = IPPROTO_ESP;
	r = nlmsg_append(m, &id, sizeof(id), NLMSG_ALIGNTO) < 0 ? -EMSGSIZE :
		xfrm_talk(kb, m, false, "deleting the ESP SA");
	nlmsg_free(m);
	return r;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	xfrm_address_t xa, xb;

	to_xaddr(&xa, a);
	to_xaddr(&xb, b);
	return a->ss_family == b->ss_family && !memcmp(&xa, &xb, sizeof(xa));
}

static int xfrm_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst,
		       uint32_t spi)
{
	struct xfrm_be *x = kb->priv;
	int r = do_sa_del(kb, dst, spi);

	for (struct xsa **pp = &x->sas; *pp; pp = &(*pp)->next)
		if ((*pp)->spi == spi && same_ip(&(*pp)->dst, dst)) {
			struct xsa *s = *pp;

			*pp = s->next;
			free(s);
			break;
		}
	return r;
}

static void xfrm_id(struct xfrm_usersa_id *id, const struct sockaddr_storage *dst,
		    uint32_t spi)
{
	memset(id, 0, sizeof(*id));
	to_xaddr(&id->daddr, dst);
	id->spi = spi;
	id->family = dst->ss_family;
	id->proto = IPPROTO_ESP;
}

/* The state (dst, spi) as the kernel holds it: a copy of the GETSA
 * reply in *h (it holds keys: the caller wipes and frees it), or -errno
 * with *h NULL. */
static int read_state(struct kbackend *kb, const struct sockaddr_storage *dst, uint32_t spi,
		      struct nlmsghdr **h)
{
	struct xfrm_be *x = kb->priv;
	struct xfrm_usersa_id id;
	struct nl_msg *m = nlmsg_alloc_simple(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
	int r;

	*h = NULL;
	if (!m)
		return -ENOMEM;
	xfrm_id(&id, dst, spi);
	x->want_state_req = true;
	x->want_state_done = false;
	r = nlmsg_append(m, &id, sizeof(id), NLMSG_ALIGNTO) < 0 ? -EMSGSIZE :
		xfrm_talk(kb, m, false, "reading the ESP SA");
	x->want_state_req = false;
	nlmsg_free(m);
	*h = x->want_state;
	x->want_state = NULL;
	if (!r && !*h)
		r = -ENOMEM;
	return r;
}

/*
 * Plain XFRM can change the ports of a UDP-encapsulated SA in place: an
 * XFRM_MSG_UPDSA for a valid state copies the new encapsulation template
 * over the old one (xfrm_state_update), keys, sequence numbers and replay
 * window stay.  That is what a NAT mapping change needs (RFC 3948 §2.2,
 * RFC 7296 §2.23).  UPDSA must carry a complete SA, so the state is read
 * back with GETSA and sent again with only XFRMA_ENCAP replaced.  Moving
 * between raw, UDP and TCP changes how the state was initialised: only
 * the module can do that.
 */
static int xfrm_sa_steer(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, enum kb_encap encap, uint16_t sport,
			 uint16_t dport)
{
	struct xfrm_encap_tmpl e;
	struct nlmsghdr *h;
	struct nlattr *a, *old_encap = NULL;
	struct nl_msg *m;
	int r, rem;

	if (encap != KB_ENCAP_UDP) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "moving an SA between transports needs the tcpike module");
		return -EOPNOTSUPP;
	}
	r = read_state(kb, dst, spi, &h);
	if (r)
		goto out;
	old_encap = xfrm_find_encap(h);
	if (!old_encap ||
	    ((struct xfrm_encap_tmpl *)nla_data(old_encap))->encap_type != UDP_ENCAP_ESPINUDP) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "SA spi 0x%08x is not UDP-encapsulated: moving it needs the tcpike module",
			 ntohl(spi));
		r = -EOPNOTSUPP;
		goto out;
	}
	memcpy(&e, nla_data(old_encap), sizeof(e));
	e.encap_sport = htons(sport);
	e.encap_dport = htons(dport);
	m = nlmsg_alloc_simple(XFRM_MSG_UPDSA, NLM_F_REQUEST | NLM_F_ACK);
	if (!m) {
		r = -ENOMEM;
		goto out;
	}
	if (nlmsg_append(m, nlmsg_data(h), sizeof(struct xfrm_usersa_info), NLMSG_ALIGNTO) < 0)
		r = -EMSGSIZE;
	/* Everything as read, but the new ports and not what the kernel
	 * only reports (last use). */
	nlmsg_for_each_attr(a, h, sizeof(struct xfrm_usersa_info), rem) {
		if (r)
			break;
		if (nla_type(a) == XFRMA_LASTUSED)
			continue;
		if (nla_type(a) == XFRMA_ENCAP)
			r = nla_put(m, XFRMA_ENCAP, sizeof(e), &e) < 0 ? -EMSGSIZE : 0;
		else
			r = nla_put(m, nla_type(a), nla_len(a), nla_data(a)) < 0 ? -EMSGSIZE : 0;
	}
	if (!r)
		r = xfrm_talk(kb, m, true, "updating the ESP SA's UDP encapsulation");
	else
		OPENSSL_cleanse(nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
out:
	if (h) {
		OPENSSL_cleanse(h, h->nlmsg_len);
		free(h);
	}
	return r;
}

static int xfrm_sa_stats(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, struct kb_stats *st)
{
	struct xfrm_be *x = kb->priv;
	struct xfrm_usersa_id id = { 0 };
	struct nl_msg *m = nlmsg_alloc_simple(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_ACK);
	int r;

	if (!m)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	to_xaddr(&id.daddr, dst);
	id.spi = spi;
	id.family = dst->ss_family;
	id.proto = IPPROTO_ESP;
	x->want_stats = st;
	r = nlmsg_append(m, &id, sizeof(id), NLMSG_ALIGNTO) < 0 ? -EMSGSIZE :
		xfrm_talk(kb, m, false, "reading SA counters");
	x->want_stats = NULL;
	nlmsg_free(m);
	return r;
}

/* type: XFRM_MSG_NEWPOLICY (exclusive), XFRM_MSG_UPDPOLICY (the policy
 * with this selector replaced in place) or XFRM_MSG_DELPOLICY. */
static int policy_msg(struct kbackend *kb, const struct kb_policy *pol, int type)
{
	bool add = type != XFRM_MSG_DELPOLICY;
	struct nl_msg *m;
	int r = 0;

	m = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK |
				     (type == XFRM_MSG_NEWPOLICY ? NLM_F_EXCL : 0));
	if (!m)
		return -ENOMEM;
	if (add) {
		struct xfrm_userpolicy_info p = { 0 };
		struct xfrm_user_tmpl t = { 0 };

		to_xsel(&p.sel, &pol->sel);
		p.lft.soft_byte_limit = p.lft.hard_byte_limit = XFRM_INF;
		p.lft.soft_packet_limit = p.lft.hard_packet_limit = XFRM_INF;
		p.priority = pol->priority;
		p.dir = pol->dir == KB_DIR_IN ? XFRM_POLICY_IN :
			pol->dir == KB_DIR_OUT ? XFRM_POLICY_OUT : XFRM_POLICY_FWD;
		p.action = XFRM_POLICY_ALLOW;
		p.share = XFRM_SHARE_ANY;
		t.id.proto = IPPROTO_ESP;
		t.reqid = pol->reqid;
		t.aalgos = t.ealgos = t.calgos = ~0u;
		if (pol->mode == KB_MODE_TUNNEL) {
			t.mode = XFRM_MODE_TUNNEL;
			t.family = pol->tmpl_dst.ss_family;
			to_xaddr(&t.id.daddr, &pol->tmpl_dst);
			to_xaddr(&t.saddr, &pol->tmpl_src);
		} else {
			t.mode = XFRM_MODE_TRANSPORT;
			t.family = (uint16_t)pol->sel.family;
		}
		if (nlmsg_append(m, &p, sizeof(p), NLMSG_ALIGNTO) < 0 ||
		    nla_put(m, XFRMA_TMPL, sizeof(t), &t) < 0)
			r = -EMSGSIZE;
	} else {
		struct xfrm_userpolicy_id id = { 0 };

		to_xsel(&id.sel, &pol->sel);
		id.dir = pol->dir == KB_DIR_IN ? XFRM_POLICY_IN :
			 pol->dir == KB_DIR_OUT ? XFRM_POLICY_OUT : XFRM_POLICY_FWD;
		if (nlmsg_append(m, &id, sizeof(id), NLMSG_ALIGNTO) < 0)
			r = -EMSGSIZE;
	}
	if (!r && (pol->mark || pol->mark_mask)) {
		struct xfrm_mark mk = { pol->mark, pol->mark_mask };

		if (nla_put(m, XFRMA_MARK, sizeof(mk), &mk) < 0)
			r = -EMSGSIZE;
	}
	if (!r && pol->if_id && nla_put_u32(m, XFRMA_IF_ID, pol->if_id) < 0)
		r = -EMSGSIZE;
	if (!r)
		r = xfrm_talk(kb, m, false, type == XFRM_MSG_NEWPOLICY ? "adding the policy" :
					    type == XFRM_MSG_UPDPOLICY ? "updating the policy" :
					    "deleting the policy");
	nlmsg_free(m);
	return r;
}

/*
 * A policy with these selectors already in the kernel, which the shared
 * layer (kbackend.c) does not hold, is one this daemon did not make now:
 * most often left by a tcpiked that was killed (SIGKILL, a crash) and
 * started again, whose Child SAs would otherwise all fail with EEXIST.
 * It is replaced in place, as strongSwan's kernel-netlink does ("policy
 * already exists, try to update it"), and said so.
 */
static int xfrm_policy_add(struct kbackend *kb, const struct kb_policy *pol)
{
	struct xfrm_be *x = kb->priv;
	struct xpol *rec;
	int r = policy_msg(kb, pol, XFRM_MSG_NEWPOLICY);

	if (r == -EEXIST) {
		log_warn("kernel(xfrm): a %s policy with these selectors is already in the kernel "
			 "(left by an earlier tcpiked?): replacing it", kb_dir_name(pol->dir));
		r = policy_msg(kb, pol, XFRM_MSG_UPDPOLICY);
	}
	if (r)
		return r;
	rec = calloc(1, sizeof(*rec));
	if (rec) {
		rec->pol = *pol;
		rec->next = x->pols;
		x->pols = rec;
	}
	return 0;
}

static bool same_pol(const struct kb_policy *a, const struct kb_policy *b)
{
	struct xfrm_selector xa, xb;

	to_xsel(&xa, &a->sel);
	to_xsel(&xb, &b->sel);
	return a->dir == b->dir && !memcmp(&xa, &xb, sizeof(xa)) &&
	       a->mark == b->mark && a->if_id == b->if_id;
}

static int xfrm_policy_del(struct kbackend *kb, const struct kb_policy *pol)
{
	struct xfrm_be *x = kb->priv;
	int r = policy_msg(kb, pol, XFRM_MSG_DELPOLICY);

	for (struct xpol **pp = &x->pols; *pp; pp = &(*pp)->next)
		if (same_pol(&(*pp)->pol, pol)) {
			struct xpol *p = *pp;

			*pp = p->next;
			free(p);
			break;
		}
	return r;
}

static int xfrm_policy_update(struct kbackend *kb, const struct kb_policy *pol)
{
	struct xfrm_be *x = kb->priv;
	int r = policy_msg(kb, pol, XFRM_MSG_UPDPOLICY);

	for (struct xpol *p = x->pols; p && !r; p = p->next)
		if (same_pol(&p->pol, pol)) {
			p->pol.priority = pol->priority;
			break;
		}
	return r;
}

/* --- moving a Child SA to new addresses ------------------------------------------- */

/*
 * One XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE): the policy named by selector
 * and direction, and the tunnel of its template from (os, od) to (ns, nd)
 * for reqid, with XFRMA_ENCAP for the new ports.  The kernel clones the
 * newest state of that reqid on the old addresses (keys, lifetimes,
 * sequence numbers and replay window go along), puts the clone in,
 * rewrites the template and deletes the old state; a policy whose state
 * went already only has its template rewritten.
 */
static int migrate_msg(struct kbackend *kb, const struct kb_policy *pol, const struct kb_move *m,
		       bool back)
{
	const struct sockaddr_storage *ol = back ? &m->local : &m->old_local;
	const struct sockaddr_storage *orr = back ? &m->remote : &m->old_remote;
	const struct sockaddr_storage *nl = back ? &m->old_local : &m->local;
	const struct sockaddr_storage *nr = back ? &m->old_remote : &m->remote;
	uint16_t lp = back ? m->old_lport : m->lport, rp = back ? m->old_rport : m->rport;
	bool out = pol->dir == KB_DIR_OUT;
	struct xfrm_userpolicy_id id = { 0 };
	struct xfrm_user_migrate um = { 0 };
	struct nl_msg *msg = nlmsg_alloc_simple(XFRM_MSG_MIGRATE, NLM_F_REQUEST | NLM_F_ACK);
	int r = 0;

	if (!msg)
		return -ENOMEM;
	to_xsel(&id.sel, &pol->sel);
	id.dir = pol->dir == KB_DIR_IN ? XFRM_POLICY_IN :
		 out ? XFRM_POLICY_OUT : XFRM_POLICY_FWD;
	to_xaddr(&um.old_saddr, out ? ol : orr);
	to_xaddr(&um.old_daddr, out ? orr : ol);
	to_xaddr(&um.new_saddr, out ? nl : nr);
	to_xaddr(&um.new_daddr, out ? nr : nl);
	um.proto = IPPROTO_ESP;
	um.mode = XFRM_MODE_TUNNEL;
	um.reqid = m->reqid;
	um.old_family = orr->ss_family;
	um.new_family = nr->ss_family;
	if (nlmsg_append(msg, &id, sizeof(id), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, XFRMA_MIGRATE, sizeof(um), &um) < 0)
		r = -EMSGSIZE;
	if (!r && m->encap == KB_ENCAP_UDP) {
		struct xfrm_encap_tmpl e = { 0 };

		e.encap_type = UDP_ENCAP_ESPINUDP;
		e.encap_sport = htons(out ? lp : rp);
		e.encap_dport = htons(out ? rp : lp);
		if (nla_put(msg, XFRMA_ENCAP, sizeof(e), &e) < 0)
			r = -EMSGSIZE;
	}
	if (!r && pol->if_id && nla_put_u32(msg, XFRMA_IF_ID, pol->if_id) < 0)
		r = -EMSGSIZE;
	if (!r)
		r = xfrm_talk(kb, msg, false, back ? "moving the SAs back (XFRM_MSG_MIGRATE)" :
				       "moving the SAs to the new address (XFRM_MSG_MIGRATE)");
	nlmsg_free(msg);
	if (r == -ENOPROTOOPT)
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "moving SAs to another address: this kernel has no XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE)");
	return r;
}

/* Whether the state (dst, spi) comes from src: false when it is not
 * there (the reply holds keys: wiped). */
static bool sa_from(struct kbackend *kb, const struct sockaddr_storage *dst, uint32_t spi,
		    const struct sockaddr_storage *src)
{
	struct nlmsghdr *h;
	xfrm_address_t want;
	bool ok = false;

	if (!read_state(kb, dst, spi, &h)) {
		to_xaddr(&want, src);
		ok = !memcmp(&((struct xfrm_usersa_info *)nlmsg_data(h))->saddr, &want,
			     sizeof(want));
	}
	if (h) {
		OPENSSL_cleanse(h, h->nlmsg_len);
		free(h);
	}
	return ok;
}

/* The records of what to remove at close follow the move. */
static void move_records(struct xfrm_be *x, const struct kb_move *m)
{
	for (struct xsa *s = x->sas; s; s = s->next) {
		if (m->spi_in && s->spi == m->spi_in && same_ip(&s->dst, &m->old_local))
			s->dst = m->local;
		else if (m->spi_out && s->spi == m->spi_out && same_ip(&s->dst, &m->old_remote))
			s->dst = m->remote;
	}
	for (unsigned int i = 0; i < m->n_pols; i++)
		for (struct xpol *p = x->pols; p; p = p->next)
			if (same_pol(&p->pol, &m->pols[i])) {
				bool out = p->pol.dir == KB_DIR_OUT;

				p->pol.tmpl_src = out ? m->local : m->remote;
				p->pol.tmpl_dst = out ? m->remote : m->local;
			}
}

/*
 * RFC 7296 §2.23: the peer's NAT shows it from another address.  The
 * kernel finds states by reqid and addresses, not by SPI: the messages of
 * the Child SA's policies take the newest states of its reqid (of two
 * Child SAs sharing it, the newer, which the daemon moves first).  Each
 * half is then looked for on its new addresses; when one is not there
 * (its policies had moved with another Child SA), or a message fails,
 * what moved goes back, so the daemon's record of the SAs stays true.
 */
static int xfrm_sa_move(struct kbackend *kb, const struct kb_move *m)
{
	char why[sizeof(kb->kb_error)];
	unsigned int i, done = 0;
	int r = 0;

	if (m->mode != KB_MODE_TUNNEL) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "a transport-mode SA's selectors are its addresses: it cannot move");
		return -EOPNOTSUPP;
	}
	for (i = 0; i < m->n_pols && !r; i++) {
		r = migrate_msg(kb, &m->pols[i], m, false);
		if (!r)
			done++;
	}
	if (!r && m->spi_in && !sa_from(kb, &m->local, m->spi_in, &m->remote)) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "inbound SA 0x%08x is still on the old addresses (its reqid %u's policies moved without it)",
			 ntohl(m->spi_in), m->reqid);
		r = -ENODATA;
	}
	if (!r && m->spi_out && !sa_from(kb, &m->remote, m->spi_out, &m->local)) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "outbound SA 0x%08x is still on the old addresses (its reqid %u's policies moved without it)",
			 ntohl(m->spi_out), m->reqid);
		r = -ENODATA;
	}
	if (!r) {
		move_records(kb->priv, m);
		return 0;
	}
	memcpy(why, kb->kb_error, sizeof(why));
	while (done--)
		if (migrate_msg(kb, &m->pols[done], m, true))
			log_warn("kernel(xfrm): %s", kb->kb_error);
	memcpy(kb->kb_error, why, sizeof(why));
	return r;
}

static void xfrm_destroy(struct kbackend *kb)
{
	struct xfrm_be *x = kb->priv;

	if (!x)
		return;
	/* Remove everything we added (daemon exit). */
	while (x->sas) {
		struct xsa *s = x->sas;

		x->sas = s->next;
		if (do_sa_del(kb, &s->dst, s->spi) && s->spi)
			log_warn("kernel(xfrm): removing SA 0x%08x: %s",
				 ntohl(s->spi), kb->kb_error);
		free(s);
	}
	while (x->pols) {
		struct xpol *p = x->pols;

		x->pols = p->next;
		if (policy_msg(kb, &p->pol, XFRM_MSG_DELPOLICY))
			log_warn("kernel(xfrm): removing a policy: %s", kb->kb_error);
		free(p);
	}
	if (x->ev_fd > 0)
		close(x->ev_fd);
	nl_socket_free(x->sk);
	free(x);
	kb->priv = NULL;
}

/* --- events ------------------------------------------------------------------ */

static void from_xaddr(struct sockaddr_storage *ss, int family, const xfrm_address_t *x)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		ss->ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, &x->a4, 4);
	} else if (family == AF_INET6) {
		ss->ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, x->a6, 16);
	}
}

static void from_xsel(struct kb_selector *s, const struct xfrm_selector *x)
{
	memset(s, 0, sizeof(*s));
	s->family = x->family;
	from_xaddr(&s->src, x->family, &x->saddr);
	from_xaddr(&s->dst, x->family, &x->daddr);
	s->src_plen = x->prefixlen_s;
	s->dst_plen = x->prefixlen_d;
	s->proto = x->proto;
	s->sport = x->sport_mask ? ntohs(x->sport) : 0;
	s->dport = x->dport_mask ? ntohs(x->dport) : 0;
}

/* The first XFRMA_TMPL of an acquire (reqid and outer family), bounds
 * checked attribute by attribute. */
static const struct xfrm_user_tmpl *acquire_tmpl(const struct nlmsghdr *h)
{
	size_t off = NLMSG_ALIGN(sizeof(struct xfrm_user_acquire));
	size_t len = h->nlmsg_len - NLMSG_HDRLEN;
	const unsigned char *p = NLMSG_DATA(h);

	while (off + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const void *)(p + off);

		if (a->nla_len < sizeof(*a) || a->nla_len > len - off)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == XFRMA_TMPL &&
		    a->nla_len >= NLA_HDRLEN + sizeof(struct xfrm_user_tmpl))
			return (const void *)((const unsigned char *)a + NLA_HDRLEN);
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/*
 * One XFRM notification (h->nlmsg_len already checked against the
 * datagram) as a kb_event: 0, or -EPROTO for what is not an ESP expire,
 * acquire or mapping, or too short for its type.
 */
static int xfrm_event_parse(const struct nlmsghdr *h, struct kb_event *ev)
{
	size_t dlen = h->nlmsg_len - NLMSG_HDRLEN;
	/* Messages after the first of a datagram are only 4-byte aligned
	 * (NLMSG_ALIGN) and these structures hold 64-bit fields: each is
	 * copied out before it is read.
	 */
	union {
		struct xfrm_user_expire expire;
		struct xfrm_user_mapping mapping;
		struct xfrm_user_acquire acquire;
	} u;

	memset(ev, 0, sizeof(*ev));
	if (h->nlmsg_type == XFRM_MSG_EXPIRE && dlen >= sizeof(u.expire)) {
		const struct xfrm_user_expire *x = &u.expire;

		memcpy(&u.expire, NLMSG_DATA(h), sizeof(u.expire));
		if (x->state.id.proto != IPPROTO_ESP)
			return -EPROTO;
		ev->kind = KB_EV_EXPIRE;
		ev->spi = x->state.id.spi;
		from_xaddr(&ev->dst, x->state.family, &x->state.id.daddr);
		from_xaddr(&ev->src, x->state.family, &x->state.saddr);
		ev->hard = x->hard != 0;
		return 0;
	}
	if (h->nlmsg_type == XFRM_MSG_MAPPING && dlen >= sizeof(u.mapping)) {
		const struct xfrm_user_mapping *m = &u.mapping;

		memcpy(&u.mapping, NLMSG_DATA(h), sizeof(u.mapping));
		if (m->id.proto != IPPROTO_ESP)
			return -EPROTO;
		ev->kind = KB_EV_MAPPING;
		ev->spi = m->id.spi;
		from_xaddr(&ev->dst, m->id.family, &m->id.daddr);
		from_xaddr(&ev->src, m->id.family, &m->old_saddr);
		from_xaddr(&ev->new_remote, m->id.family, &m->new_saddr);
		addr_set_port(&ev->new_remote, ntohs(m->new_sport));
		ev->old_port = ntohs(m->old_sport);
		return 0;
	}
	if (h->nlmsg_type == XFRM_MSG_ACQUIRE && dlen >= sizeof(u.acquire)) {
		const struct xfrm_user_acquire *a = &u.acquire;
		const struct xfrm_user_tmpl *t = acquire_tmpl(h);
		int family;

		memcpy(&u.acquire, NLMSG_DATA(h), sizeof(u.acquire));
		family = t ? t->family : a->sel.family;
		if (a->id.proto != IPPROTO_ESP)
			return -EPROTO;
		ev->kind = KB_EV_ACQUIRE;
		from_xsel(&ev->sel, &a->sel);
		from_xaddr(&ev->dst, family, &a->id.daddr);
		from_xaddr(&ev->src, family, &a->saddr);
		ev->reqid = t ? t->reqid : 0;
		return 0;
	}
	return -EPROTO;
}

int kb_xfrm_parse_event(const void *buf, size_t len, struct kb_event *ev)
{
	const struct nlmsghdr *h = buf;

	if (len < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len)
		return -EPROTO;
	return xfrm_event_parse(h, ev);
}

/* Forgets the record of an SA the kernel removed (hard expire). */
static void forget_sa(struct xfrm_be *x, const struct sockaddr_storage *dst, uint32_t spi)
{
	for (struct xsa **pp = &x->sas; *pp; pp = &(*pp)->next)
		if ((*pp)->spi == spi && same_ip(&(*pp)->dst, dst)) {
			struct xsa *s = *pp;

			*pp = s->next;
			free(s);
			return;
		}
}

/*
 * A socket of its own in XFRM's expire, acquire and mapping groups (the
 * kernel sends them to every listener: the daemon picks its own SAs and
 * trap policies).  The acquire group is joined whether or not a trap is
 * configured: a reload may add one after the privileges to join it are
 * gone.  With a listener there, a packet that meets a policy without an
 * SA leaves a larval state in the kernel until its acquire times out
 * (net.core.xfrm_acq_expires), which is what trap policies need.
 */
static int xfrm_event_fd(struct kbackend *kb)
{
	static const int groups[] = { XFRMNLGRP_EXPIRE, XFRMNLGRP_ACQUIRE, XFRMNLGRP_MAPPING };
	struct xfrm_be *x = kb->priv;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, rcvbuf = 1 << 20;

	if (x->ev_fd > 0)
		return x->ev_fd;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_XFRM);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])))
			goto fail;
	/* Many SAs expire together after a mass setup. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	x->ev_fd = fd;
	return fd;
fail:
	snprintf(kb->kb_error, sizeof(kb->kb_error),
		 "cannot listen to XFRM's expire, acquire and mapping groups: %s",
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int xfrm_events_process(struct kbackend *kb, kb_event_fn fn, void *ctx)
{
	struct xfrm_be *x = kb->priv;
	union {
		struct nlmsghdr h;
		unsigned char b[16384];
	} u;

	if (x->ev_fd <= 0)
		return -EINVAL;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(x->ev_fd, u.b, sizeof(u.b), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		struct nlmsghdr *h;
		size_t rem;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			snprintf(kb->kb_error, sizeof(kb->kb_error), "%s",
				 errno == ENOBUFS ? "kernel events were lost (receive buffer full)" :
				 strerror(errno));
			return -errno;
		}
		if (fl < sizeof(from) || from.nl_pid != 0)
			continue;	/* only the kernel speaks here */
		rem = (size_t)n;
		for (h = &u.h; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
			struct kb_event ev;

			if (xfrm_event_parse(h, &ev))
				continue;
			if (ev.kind == KB_EV_EXPIRE && ev.hard)
				forget_sa(x, &ev.dst, ev.spi);
			fn(ctx, &ev);
		}
	}
}

static const struct kbackend_ops kb_xfrm_ops = {
	.name = "xfrm",
	.sa_add = xfrm_sa_add,
	.sa_del = xfrm_sa_del,
	.sa_steer = xfrm_sa_steer,
	.sa_stats = xfrm_sa_stats,
	.sa_move = xfrm_sa_move,
	.policy_add = xfrm_policy_add,
	.policy_del = xfrm_policy_del,
	.policy_update = xfrm_policy_update,
	.keepalive_set = kb_keepalive_unsupported,
	.event_fd = xfrm_event_fd,
	.events_process = xfrm_events_process,
	.destroy = xfrm_destroy,
	.vip_add = kb_vip_add,
	.vip_del = kb_vip_del,
};

/*
 * Probe: can this kernel hold an ESP state?  A transport-mode SA with
 * AES-GCM to TEST-NET-1 (192.0.2.1, RFC 5737, never routed) is added and
 * deleted at once; the host kernel without esp4 fails here, with the
 * kernel's reason in kb_error.
 */
static int xfrm_probe(struct kbackend *kb)
{
	static const uint8_t zero[20];
	struct kb_sa sa = { 0 };
	struct sockaddr_in *d = (void *)&sa.dst, *s = (void *)&sa.src;
	struct xfrm_be *x = kb->priv;
	int r;

	d->sin_family = s->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &d->sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &s->sin_addr);
	sa.spi = htonl(0x7cb1d0e5);
	sa.mode = KB_MODE_TRANSPORT;
	sa.sel.family = AF_INET;
	sa.sel.src = sa.src;
	sa.sel.dst = sa.dst;
	sa.sel.src_plen = sa.sel.dst_plen = 32;
	snprintf(sa.aead, sizeof(sa.aead), "rfc4106(gcm(aes))");
	sa.aead_icv_bits = 128;
	sa.enc_key = zero;
	sa.enc_key_len = sizeof(zero);
	r = xfrm_sa_add(kb, &sa);
	if (r == -EEXIST)
		r = 0;		/* left over from a crash: remove below */
	if (!r) {
		xfrm_sa_del(kb, &sa.dst, sa.spi);
		kb->kb_error[0] = 0;
	}
	(void)x;
	return r;
}

/* Opens the backend; probe = verify ESP states can be created ("auto"). */
int kb_xfrm_open_probe(struct kbackend *kb, bool probe);
int kb_xfrm_open(struct kbackend *kb);

int kb_xfrm_open_probe(struct kbackend *kb, bool probe)
{
	struct xfrm_be *x = calloc(1, sizeof(*x));
	int one = 1, r;

	if (!x)
		return -ENOMEM;
	x->sk = nl_socket_alloc();
	if (!x->sk) {
		free(x);
		return -ENOMEM;
	}
	r = nl_connect(x->sk, NETLINK_XFRM);
	if (r < 0) {
		snprintf(kb->kb_error, sizeof(kb->kb_error),
			 "cannot open NETLINK_XFRM: %s (is xfrm_user loaded?)",
			 nl_geterror(r));
		nl_socket_free(x->sk);
		free(x);
		return -EPROTONOSUPPORT;
	}
	setsockopt(nl_socket_get_fd(x->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	/* An error ack would otherwise carry the refused request back, keys
	 * and all (the extack sentence still comes). */
	setsockopt(nl_socket_get_fd(x->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	kb->priv = x;
	kb->ops = &kb_xfrm_ops;
	kb->kind = KB_XFRM;
	if (probe) {
		r = xfrm_probe(kb);
		if (r) {
			char why[200];

			snprintf(why, sizeof(why), "%.190s", kb->kb_error);
			xfrm_destroy(kb);
			kb->ops = NULL;
			snprintf(kb->kb_error, sizeof(kb->kb_error),
				 "the kernel cannot hold ESP states: %s", why);
			return r;
		}
	}
	return 0;
}

int kb_xfrm_open(struct kbackend *kb)
{
	return kb_xfrm_open_probe(kb, false);
}

/* The reply parsers above on a buffer of netlink messages as the kernel
 * would send them (the fuzzing harness's entry), walked with nlmsg_ok()/
 * nlmsg_next() as libnl does.  Returns the number of messages understood. */
int kb_xfrm_parse_replies(const void *buf, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len, good = 0;
	char err[256];

	for (; nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
		struct kb_stats st;
		struct xfrm_encap_tmpl e;
		struct kb_event ev;
		struct nlattr *a;

		if (h->nlmsg_type == NLMSG_ERROR &&
		    h->nlmsg_len >= (uint32_t)nlmsg_size(sizeof(struct nlmsgerr))) {
			xfrm_extack(h, err, sizeof(err));
			good++;
		} else if (h->nlmsg_type == XFRM_MSG_NEWSA &&
			   nlmsg_datalen(h) >= (int)sizeof(struct xfrm_usersa_info)) {
			xfrm_sa_counters(h, &st);
			a = xfrm_find_encap(h);
			if (a)
				memcpy(&e, nla_data(a), sizeof(e));
			good++;
		} else if (!xfrm_event_parse(h, &ev)) {
			good++;
		}
	}
	return good;
}
