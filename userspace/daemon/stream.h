/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RFC 9329 stream reassembly: the bytes of one TCP connection in, whole
 * messages out.  Pure (no sockets), bounded (never more than one frame is
 * buffered), and fed in chunks of any size, so it can be fuzzed directly.
 *
 * Stream from the TCP Originator:  "IKETCP" once (RFC 9329 §4), then frames
 *   Length(16, big endian, counts itself) | payload
 *   payload starting with 00 00 00 00 -> IKE message (marker removed)
 *   otherwise                         -> ESP (SPI != 0)
 *   Length 2     -> empty frame, ignored (§3)
 *   Length 0, 1  -> fatal: the connection must be closed (§3)
 *   00 03 FF     -> NAT-keepalive, dropped silently (§6.6)
 */
#ifndef TCPIKE_STREAM_H
#define TCPIKE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_PREFIX		"IKETCP"
#define STREAM_PREFIX_LEN	6
#define STREAM_MAX_FRAME	65535	/* Length field maximum (§3) */
#define STREAM_MAX_MSG		(STREAM_MAX_FRAME - 2)	/* 65533 */
#define STREAM_NON_ESP_MARKER	4

enum stream_kind {
	STREAM_IKE = 1,		/* IKE message, non-ESP marker removed */
	STREAM_ESP,		/* ESP packet as framed (starts with the SPI) */
};

struct stream_stats {
	uint64_t ike, esp, empty, keepalives, oversized, runts;
	uint64_t over_pool;	/* a frame found no room in the pool */
};

/* A frame buffer larger than this is given back after its frame: idle
 * connections hold at most this much (none before their first frame). */
#define STREAM_KEEP_BUF		4096

struct stream;

/*
 * Frame buffers of many streams under one budget (tcp.c: max_stream_memory).
 * A buffer that would take used past max asks room() first, which makes
 * room by freeing other streams' buffers (their connections closed) and
 * returns 0, or returns non-zero: the frame then fails the stream
 * (s->error "frame buffers over max_stream_memory").
 */
struct stream_pool {
	size_t used, max;
	int (*room)(struct stream_pool *p, struct stream *s, size_t need);
};

struct stream {
	bool want_prefix;	/* responder side: "IKETCP" not complete yet */
	uint8_t prefix_got;
	uint8_t hdr[2];
	uint8_t hdr_got;
	uint16_t frame_len;	/* payload bytes of the current frame */
	uint16_t got;		/* payload bytes received so far */
	size_t max_ike;		/* largest IKE message accepted (marker excluded) */
	uint8_t *buf;		/* one frame's payload as far as it came */
	size_t cap;		/* bytes allocated at buf */
	struct stream_stats st;
	const char *error;	/* why the stream became fatal */
	struct stream_pool *pool;	/* NULL: no budget; set after stream_init() */
};

/* Called once per complete message.  A non-zero return stops feeding and
 * is returned by stream_feed(). */
typedef int (*stream_msg_fn)(void *ctx, enum stream_kind kind,
			     const uint8_t *msg, size_t len);

/*
 * want_prefix: true on the responder side of a connection (the originator
 * sends the prefix; §4, TCP-17).  max_ike: largest IKE message to accept;
 * a larger one is counted in st.oversized, not buffered, and makes
 * stream_feed() fail with -EPROTO (the caller closes the connection).
 * Returns 0 or -ENOMEM.
 */
int stream_init(struct stream *s, bool want_prefix, size_t max_ike);
/* Gives the frame buffer back (to its pool too); the stream stays usable. */
void stream_free(struct stream *s);

/*
 * Feed received bytes.  Returns 0, a non-zero value from fn, or -EPROTO
 * when the stream is fatally bad (s->error says why: wrong prefix, length 0
 * or 1); the caller must then close the connection.  After -EPROTO every
 * further call returns -EPROTO.
 */
int stream_feed(struct stream *s, const uint8_t *p, size_t len,
		stream_msg_fn fn, void *ctx);

/* True while a frame (or the prefix) is incomplete: the bytes a close
 * would discard (RFC 9329 §6.1, TCP-20). */
bool stream_partial(const struct stream *s);

/*
 * Encode one frame for sending: Length | [marker] | msg.  ike selects the
 * non-ESP marker.  Returns the frame length or -EMSGSIZE when the message
 * cannot be framed (over 65533 bytes with the marker, RFC 9329 §3).
 */
struct buf;
int stream_frame(struct buf *out, bool ike, const uint8_t *msg, size_t len);

#endif
