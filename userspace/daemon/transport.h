/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the IKE engine sees of a transport.  A message arrives from "a path"
 * (UDP 500, UDP 4500 with the non-ESP marker already removed, or one TCP
 * connection carrying RFC 9329 frames) and the SA state machine answers on a
 * path without caring which kind it is.  udp.c and tcp.c implement this.
 */
#ifndef TCPIKE_TRANSPORT_H
#define TCPIKE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum xport_kind {
	XPORT_UDP500 = 1,	/* plain IKE on UDP 500 */
	XPORT_UDP4500,		/* IKE behind the 4-byte non-ESP marker */
	XPORT_TCP,		/* RFC 9329 stream (TCP 4500 or a configured port) */
};

struct tcp_conn;		/* owned by tcp.c, reference counted */

struct ike_path {
	enum xport_kind kind;
	struct sockaddr_storage local;
	struct sockaddr_storage remote;
	struct tcp_conn *conn;		/* XPORT_TCP only */
};

/* One complete IKE message (header first, no marker, no TCP length). */
struct ike_rx {
	struct ike_path path;
	const uint8_t *msg;
	size_t len;
};

/* The engine's entry point; transports call it for every message. */
typedef void (*ike_rx_fn)(void *ctx, const struct ike_rx *rx);

const char *xport_name(enum xport_kind kind);

#endif
