/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IKE over UDP: the sockets on port 500 and the NAT-T port 4500, IPv4 and
 * IPv6.  Sockets bound to the wildcard get the destination address of each
 * datagram through IP_PKTINFO / IPV6_RECVPKTINFO, and replies leave from
 * that address (path.local).
 *
 * Receive on 4500: 00 00 00 00 marker -> IKE (marker stripped, RFC 3948 §2.2,
 * RFC 7296 §2.23); a single 0xFF byte -> NAT keepalive, dropped silently
 * (RFC 3948 §2.3); anything else is ESP the kernel did not take: counted and
 * dropped.  Truncated datagrams (MSG_TRUNC) are counted and dropped.
 */
#ifndef TCPIKE_UDP_H
#define TCPIKE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "transport.h"

struct loop;
struct buf;

#define UDP_MAX_SOCKS	16

struct udp_stats {
	uint64_t rx, tx;
	uint64_t drop_esp, drop_keepalive, drop_trunc, drop_short, drop_oversize;
	uint64_t tx_err;
	uint64_t rx_calls;		/* receive system calls */
};

/*
 * Datagrams sent while a batch of received ones is handled wait here and
 * leave together in one sendmmsg() when the batch is done (or the queue is
 * full): one system call, and on the receiving side one wake-up, for many
 * replies.  Larger datagrams go at once, after what is queued.
 */
#define UDP_TXQ		16
#define UDP_TXQ_SLOT	1536

/*
 * Datagrams taken per recvmmsg(): one system call for what a busy socket
 * holds instead of one per datagram (and one more to find it empty).
 */
#define UDP_RX_BATCH	16

struct udp_txq {
	int n;
	struct mmsghdr mh[UDP_TXQ];
	struct iovec iov[UDP_TXQ];
	struct sockaddr_storage to[UDP_TXQ];
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cb[UDP_TXQ];
	uint8_t data[UDP_TXQ][UDP_TXQ_SLOT];
};

struct udp_sock {
	int fd;
	int family;
	enum xport_kind kind;		/* XPORT_UDP500 or XPORT_UDP4500 */
	struct sockaddr_storage bound;
	struct udp *u;
	struct udp_txq *txq;
};

struct udp_opts {
	const struct sockaddr_storage *addrs;	/* NULL/0: wildcard v4 + v6 */
	int n_addrs;
	uint16_t ike_port;		/* 500 (0: no plain-IKE socket) */
	uint16_t natt_port;		/* 4500 (0: none) */
	bool espinudp;			/* set UDP_ENCAP_ESPINUDP on NAT-T sockets */
	size_t max_msg;			/* largest IKE message sent/accepted;
					 * 0 = 65535 - 8 - 40 */
};

struct udp {
	struct loop *loop;
	struct udp_sock socks[UDP_MAX_SOCKS];
	int n_socks;
	size_t max_msg;
	ike_rx_fn rx;
	void *rx_ctx;
	uint8_t *rxbuf;			/* UDP_RX_BATCH rooms of rxcap bytes */
	size_t rxcap;			/* max_msg + marker + 1 (to see truncation) */
	bool batching;			/* inside sock_read: udp_send queues */
	struct udp_stats st;
};

/*
 * Opens and binds every socket and registers them with the loop.  Returns
 * NULL on failure with a sentence logged (bind errors name the address).
 */
struct udp *udp_open(struct loop *loop, const struct udp_opts *o,
		     ike_rx_fn rx, void *rx_ctx);
void udp_close(struct udp *u);

/*
 * Sends one IKE message on the path (kind UDP500 or UDP4500; the marker is
 * added on 4500) from path->local (its port selects the socket; an address
 * of 0 leaves the choice to routing).  Returns 0 or -errno; -EMSGSIZE above
 * max_msg (logged).
 */
int udp_send(struct udp *u, const struct ike_path *path,
	     const uint8_t *msg, size_t len);
/* One 0xFF byte from the NAT-T socket to remote (RFC 3948 §2.3). */
int udp_send_keepalive(struct udp *u, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *remote);

/*
 * At shutdown (the loop stopped), after udp_send refused a message on path
 * with err: waits for room in the socket's send buffer (-EAGAIN), or 1 ms
 * (-ENOBUFS: a full device queue), never past deadline_ms (loop_now_ms).
 * 0 to send again, or -errno (-ETIMEDOUT: the deadline has passed).
 */
int udp_wait_room(struct udp *u, const struct ike_path *path, int err,
		  uint64_t deadline_ms);

/* Handles one readable socket (exposed for tests). */
void udp_handle_datagram(struct udp *u, struct udp_sock *s,
			 const uint8_t *p, size_t len, bool truncated,
			 const struct sockaddr_storage *from,
			 const struct sockaddr_storage *to);

#endif
