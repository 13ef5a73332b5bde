// SPDX-License-Identifier: GPL-2.0
/*
 * IKE over UDP 500 and 4500.  See udp.h.
 */
#define LOG_SUBSYS LOG_SUB_NET

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "udp.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

#define NON_ESP_MARKER_LEN	4
#define UDP_DEF_MAX_MSG		(65535 - 8 - 40)

void udp_handle_datagram(struct udp *u, struct udp_sock *s,
			 const uint8_t *p, size_t len, bool truncated,
			 const struct sockaddr_storage *from,
			 const struct sockaddr_storage *to)
{
	struct cursor c;
	struct ike_rx rx;
	const uint8_t *m;

	if (truncated) {
		u->st.drop_trunc++;
		log_debug("udp: dropped a truncated datagram");
		return;
	}
	cur_init(&c, p, len);
	if (s->kind == XPORT_UDP4500) {
		m = cur_peek(&c, 1);
		if (len == 1 && m && m[0] == 0xff) {
			/* NAT keepalive, RFC 3948 §2.3 */
			u->st.drop_keepalive++;
			return;
		}
		m = cur_take(&c, NON_ESP_MARKER_LEN);
		if (!m) {
			u->st.drop_short++;
			return;
		}
		if (m[0] | m[1] | m[2] | m[3]) {
			/* ESP the kernel did not decapsulate. */
			u->st.drop_esp++;
			return;
		}
	}
	if (cur_left(&c) == 0) {
		u->st.drop_short++;
		return;
	}
	if (cur_left(&c) > u->max_msg) {
		u->st.drop_oversize++;
		return;
	}
	memset(&rx, 0, sizeof(rx));
	rx.path.kind = s->kind;
	rx.path.remote = *from;
	rx.path.local = *to;
	rx.len = cur_left(&c);
	rx.msg = cur_take(&c, rx.len);
	u->st.rx++;
	u->rx(u->rx_ctx, &rx);
}

static void txq_flush(struct udp_sock *s);

/* The destination address of a datagram: the bound one, or the one
 * IP_PKTINFO / IPV6_PKTINFO names (wildcard sockets). */
static void rx_dest(const struct udp_sock *s, struct msghdr *mh,
		    struct sockaddr_storage *to)
{
	*to = s->bound;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in *)to)->sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in6 *)to)->sin6_addr = pi.ipi6_addr;
		}
	}
}

static void sock_read(void *ctx, int fd, uint32_t ev)
{
	struct udp_sock *s = ctx;
	struct udp *u = s->u;
	struct sockaddr_storage from[UDP_RX_BATCH], to;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		       CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf[UDP_RX_BATCH];
	struct iovec iov[UDP_RX_BATCH];
	struct mmsghdr mm[UDP_RX_BATCH];
	int done = 0, n, i;

	/* Replies to this batch wait in the sockets' queues (udp_send) and
	 * leave together below.  Up to 2 * UDP_RX_BATCH datagrams per
	 * wake-up, each recvmmsg() taking what the queue holds. */
	for (i = 0; i < UDP_RX_BATCH; i++) {
		iov[i].iov_base = u->rxbuf + (size_t)i * u->rxcap;
		iov[i].iov_len = u->rxcap;
		mm[i].msg_hdr = (struct msghdr){
			.msg_name = &from[i], .msg_iov = &iov[i], .msg_iovlen = 1,
			.msg_control = &cbuf[i],
		};
	}
	u->batching = true;
	while (done < 2 * UDP_RX_BATCH) {
		/* what a call writes back: the lengths it filled in */
		for (i = 0; i < UDP_RX_BATCH; i++) {
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_controllen = sizeof(cbuf[i]);
		}
		n = recvmmsg(fd, mm, UDP_RX_BATCH, MSG_DONTWAIT, NULL);
		u->st.rx_calls++;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("udp: recvmmsg: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			rx_dest(s, &mm[i].msg_hdr, &to);
			udp_handle_datagram(u, s, iov[i].iov_base, mm[i].msg_len,
					    (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
					    mm[i].msg_len >= u->rxcap,
					    &from[i], &to);
		}
		done += n;
		if (n < UDP_RX_BATCH)
			break;	/* the queue is empty: no call to learn it again */
	}
	u->batching = false;
	for (i = 0; i < u->n_socks; i++)
		txq_flush(&u->socks[i]);
}

/*
 * The default receive buffer (about 200 KB) holds a few fragmented IKE_AUTH
 * messages; peers that send their fragments in a burst (strongSwan sends
 * 37 fragments of a 42 KB message from several threads at once) overflow
 * it when many arrive together, and every lost fragment costs a whole
 * retransmission.  4 MB, forced past net.core.rmem_max while we still hold
 * CAP_NET_ADMIN; if that is refused, as large as rmem_max allows.
 */
#define UDP_RCVBUF	(4 << 20)

static void set_rcvbuf(int fd)
{
	int sz = UDP_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static int open_one(struct udp *u, const struct sockaddr_storage *a,
		    enum xport_kind kind, bool espinudp)
{
	struct udp_sock *s;
	char ab[64];
	int one = 1, fd;

	if (u->n_socks >= UDP_MAX_SOCKS)
		return -ENOSPC;
	fd = socket(a->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* No SO_REUSEADDR: with it a second daemon could bind the same UDP
	 * port beside the first and take some of its packets. */
	set_rcvbuf(fd);
	if (a->ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)a,
		 addr_len(a)) < 0) {
		int e = errno;

		log_err("udp: cannot bind %s: %s%s", addr_port_str(a, ab, sizeof(ab)),
			strerror(e), e == EADDRINUSE ? " (is another IKE daemon running?)" : "");
		close(fd);
		return -e;
	}
	if (espinudp) {
		int t = UDP_ENCAP_ESPINUDP;

		/* The kernel takes ESP (non-zero first word) itself and
		 * hands us only the marker-prefixed IKE datagrams. */
		if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &t, sizeof(t)) < 0)
			log_warn("udp: UDP_ENCAP_ESPINUDP on %s: %s",
				 addr_port_str(a, ab, sizeof(ab)), strerror(errno));
	}
	s = &u->socks[u->n_socks];
	s->fd = fd;
	s->family = a->ss_family;
	s->kind = kind;
	s->bound = *a;
	s->u = u;
	s->txq = calloc(1, sizeof(*s->txq));
	if (!s->txq || loop_watch(u->loop, fd, LOOP_READ, sock_read, s)) {
		free(s->txq);
		s->txq = NULL;
		close(fd);
		return -ENOMEM;
	}
	u->n_socks++;
	log_info("udp: listening on %s%s", addr_port_str(a, ab, sizeof(ab)),
		 kind == XPORT_UDP4500 ? " (NAT-T)" : "");
	return 0;
}

static int open_port(struct udp *u, const struct udp_opts *o, uint16_t port,
		     enum xport_kind kind)
{
	int r;

	if (o->n_addrs > 0) {
		for (int i = 0; i < o->n_addrs; i++) {
			struct sockaddr_storage a = o->addrs[i];

			addr_set_port(&a, port);
			r = open_one(u, &a, kind, o->espinudp && kind == XPORT_UDP4500);
			if (r)
				return r;
		}
		return 0;
	}
	struct sockaddr_storage a4 = { 0 }, a6 = { 0 };

	a4.ss_family = AF_INET;
	addr_set_port(&a4, port);
	r = open_one(u, &a4, kind, o->espinudp && kind == XPORT_UDP4500);
	if (r)
		return r;
	a6.ss_family = AF_INET6;
	addr_set_port(&a6, port);
	r = open_one(u, &a6, kind, o->espinudp && kind == XPORT_UDP4500);
	if (r == -EAFNOSUPPORT)
		r = 0;
	return r;
}

struct udp *udp_open(struct loop *loop, const struct udp_opts *o,
		     ike_rx_fn rx, void *rx_ctx)
{
	struct udp *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->loop = loop;
	u->rx = rx;
	u->rx_ctx = rx_ctx;
	u->max_msg = o->max_msg && o->max_msg < UDP_DEF_MAX_MSG ?
		     o->max_msg : UDP_DEF_MAX_MSG;
	/* One more byte than the largest datagram we accept reveals
	 * truncation even where MSG_TRUNC is not reported. */
	u->rxcap = u->max_msg + NON_ESP_MARKER_LEN + 1;
	/* A room per datagram of a recvmmsg() batch: about 1 MB of address
	 * space, only what datagrams fill is ever touched. */
	u->rxbuf = malloc(UDP_RX_BATCH * u->rxcap);
	if (!u->rxbuf)
		goto fail;
	if (o->ike_port && open_port(u, o, o->ike_port, XPORT_UDP500))
		goto fail;
	if (o->natt_port && open_port(u, o, o->natt_port, XPORT_UDP4500))
		goto fail;
	return u;
fail:
	udp_close(u);
	return NULL;
}

void udp_close(struct udp *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->n_socks; i++) {
		loop_unwatch(u->loop, u->socks[i].fd);
		txq_flush(&u->socks[i]);
		close(u->socks[i].fd);
		free(u->socks[i].txq);
	}
	free(u->rxbuf);
	free(u);
}

static struct udp_sock *pick_sock(struct udp *u, enum xport_kind kind,
				  const struct sockaddr_storage *local,
				  int family)
{
	struct udp_sock *any = NULL;

	for (int i = 0; i < u->n_socks; i++) {
		struct udp_sock *s = &u->socks[i];

		if (s->kind != kind || s->family != family)
			continue;
		if (!any)
			any = s;
		if (local && local->ss_family == family &&
		    family == AF_INET &&
		    ((const struct sockaddr_in *)local)->sin_addr.s_addr ==
		    ((struct sockaddr_in *)&s->bound)->sin_addr.s_addr)
			return s;
		if (local && local->ss_family == family &&
		    family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)local)->sin6_addr,
			    &((struct sockaddr_in6 *)&s->bound)->sin6_addr, 16))
			return s;
	}
	return any;
}

/*
 * mh to send iov to remote, from local when that is a specific address
 * (wildcard sockets: reply from the address the request came to).  cb has
 * room for one pktinfo control message.
 */
static void msg_init(struct msghdr *mh, void *cb,
		     const struct sockaddr_storage *local,
		     const struct sockaddr_storage *remote,
		     struct iovec *iov, size_t iovcnt)
{
	struct in_pktinfo pi4 = { 0 };
	struct in6_pktinfo pi6 = { 0 };
	struct cmsghdr *cm;
	const void *pi;
	size_t len;

	*mh = (struct msghdr){
		.msg_name = (void *)remote,
		.msg_namelen = addr_len(remote),
		.msg_iov = iov, .msg_iovlen = iovcnt,
	};
	if (local && local->ss_family == AF_INET) {
		pi4.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
		if (pi4.ipi_spec_dst.s_addr == htonl(INADDR_ANY))
			return;
		pi = &pi4;
		len = sizeof(pi4);
	} else if (local && local->ss_family == AF_INET6) {
		pi6.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(&pi6.ipi6_addr))
			return;
		pi = &pi6;
		len = sizeof(pi6);
	} else {
		return;
	}
	mh->msg_control = cb;
	mh->msg_controllen = CMSG_SPACE(len);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = local->ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	cm->cmsg_type = local->ss_family == AF_INET ? IP_PKTINFO : IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), pi, len);
}

static int send_from(struct udp_sock *s, const struct sockaddr_storage *local,
		     const struct sockaddr_storage *remote,
		     struct iovec *iov, int iovcnt)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh;

	memset(&cbuf, 0, sizeof(cbuf));
	msg_init(&mh, cbuf.b, local, remote, iov, (size_t)iovcnt);
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void send_failed(struct udp *u, const struct sockaddr_storage *to, int err)
{
	char rb[64];

	u->st.tx_err++;
	log_debug("udp: send to %s: %s", addr_port_str(to, rb, sizeof(rb)), strerror(err));
}

/* Sends what s's queue holds, in order; a datagram the kernel refuses is
 * counted and logged like one sent at once, and the rest still go. */
static void txq_flush(struct udp_sock *s)
{
	struct udp_txq *q = s->txq;
	int i = 0;

	if (!q)
		return;
	while (i < q->n) {
		int r = sendmmsg(s->fd, q->mh + i, (unsigned int)(q->n - i),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* The error is that of datagram i. */
			send_failed(s->u, &q->to[i], r < 0 ? errno : EIO);
			r = 1;
		} else {
			s->u->st.tx += (uint64_t)r;
		}
		i += r;
	}
	q->n = 0;
}

/* Queues marker + msg on s (room checked by the caller). */
static void txq_add(struct udp_sock *s, const struct ike_path *path,
		    size_t marker, const uint8_t *msg, size_t len)
{
	struct udp_txq *q = s->txq;
	int i = q->n++;

	memset(q->data[i], 0, marker);
	memcpy(q->data[i] + marker, msg, len);
	q->iov[i].iov_base = q->data[i];
	q->iov[i].iov_len = marker + len;
	q->to[i] = path->remote;
	memset(&q->cb[i], 0, sizeof(q->cb[i]));
	msg_init(&q->mh[i].msg_hdr, q->cb[i].b, &path->local, &q->to[i],
		 &q->iov[i], 1);
	if (q->n == UDP_TXQ)
		txq_flush(s);
}

int udp_send(struct udp *u, const struct ike_path *path,
	     const uint8_t *msg, size_t len)
{
	static const uint8_t marker[NON_ESP_MARKER_LEN];
	struct iovec iov[2];
	struct udp_sock *s;
	char rb[64];
	size_t m;
	int n = 0, r;

	if (path->kind != XPORT_UDP500 && path->kind != XPORT_UDP4500)
		return -EINVAL;
	if (len > u->max_msg) {
		log_warn("udp: not sending a %zu byte IKE message to %s: above the %zu byte maximum",
			 len, addr_port_str(&path->remote, rb, sizeof(rb)), u->max_msg);
		u->st.drop_oversize++;
		return -EMSGSIZE;
	}
	s = pick_sock(u, path->kind, &path->local, path->remote.ss_family);
	if (!s) {
		log_warn("udp: no %s socket for %s", xport_name(path->kind),
			 addr_port_str(&path->remote, rb, sizeof(rb)));
		return -EAFNOSUPPORT;
	}
	m = path->kind == XPORT_UDP4500 ? sizeof(marker) : 0;
	if (u->batching && s->txq && m + len <= UDP_TXQ_SLOT) {
		txq_add(s, path, m, msg, len);
		return 0;
	}
	txq_flush(s);		/* what was queued goes first */
	if (m) {
		iov[n].iov_base = (void *)marker;
		iov[n++].iov_len = m;
	}
	iov[n].iov_base = (void *)msg;
	iov[n++].iov_len = len;
	r = send_from(s, &path->local, &path->remote, iov, n);
	if (r) {
		send_failed(u, &path->remote, -r);
		return r;
	}
	u->st.tx++;
	return 0;
}

int udp_wait_room(struct udp *u, const struct ike_path *path, int err,
		  uint64_t deadline_ms)
{
	struct udp_sock *s = pick_sock(u, path->kind, &path->local, path->remote.ss_family);

	if (!s)
		return -EAFNOSUPPORT;
	if (err != -EAGAIN && err != -EWOULDBLOCK) {
		if (loop_now_ms() >= deadline_ms)
			return -ETIMEDOUT;
		poll(NULL, 0, 1);
		return 0;
	}
	/* writable again once half the buffer is free */
	return loop_wait_writable(s->fd, deadline_ms);
}

int udp_send_keepalive(struct udp *u, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *remote)
{
	uint8_t ff = 0xff;
	struct iovec iov = { &ff, 1 };
	struct udp_sock *s = pick_sock(u, XPORT_UDP4500, local, remote->ss_family);

	if (!s)
		return -EAFNOSUPPORT;
	return send_from(s, local, remote, &iov, 1);
}
