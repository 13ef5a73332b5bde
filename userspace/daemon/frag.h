/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RFC 7383 reassembly: the decrypted fragments of one message per IKE SA,
 * and one daemon-wide pool that bounds what all of them hold together.
 *
 * Each IKE SA has a struct frag_rx (ikesa.h); the engine has one struct
 * frag_pool.  frag_put() files one authenticated, decrypted fragment and
 * hands the whole message back once every fragment is in.  The pool lists
 * incomplete reassemblies oldest first: when a new fragment would take the
 * total over the cap, the oldest are dropped until it fits (an attacker
 * holding many half-filled reassemblies open cannot grow memory, and a
 * fresh message is not refused for an old, stalled one).
 */
#ifndef TCPIKE_FRAG_H
#define TCPIKE_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct frag_pool;

/* Incoming RFC 7383 fragments of one message. */
struct frag_rx {
	uint32_t msgid;
	uint16_t total, have;
	uint8_t first_type;
	struct buf *plain;	/* per fragment number - 1 (decrypted) */
	size_t bytes;		/* held: fragments and the array */
	struct frag_rx *older, *newer;	/* in the pool while plain != NULL */
};

struct frag_pool {
	size_t bytes;		/* held by every frag_rx */
	size_t cap;		/* 0: no daemon-wide bound */
	struct frag_rx *oldest, *newest;
	uint64_t evicted;	/* reassemblies dropped to stay under cap */
};

/*
 * Files fragment num of total (1 <= num <= total, as ike_get_skf checked)
 * of message msgid; next is the SKF's next-payload (meaningful in
 * fragment 1).  Takes p in every case.  max_bytes bounds one message.
 * Returns 1 when the message is complete (out holds the inner chain,
 * *first its first payload type), 0 while waiting (or a duplicate),
 * -EALREADY for a fragment of an older message or of a split into fewer
 * fragments than the one under way (RFC 7383 §2.6.2: discarded), -E2BIG
 * beyond max_bytes or the pool's cap, -ENOMEM.
 */
int frag_put(struct frag_pool *pool, struct frag_rx *f, uint32_t msgid, uint16_t num,
	     uint16_t total, uint8_t next, struct buf *p, size_t max_bytes,
	     struct buf *out, uint8_t *first);

/* Drops what f holds (wiped) and takes it off the pool. */
void frag_reset(struct frag_pool *pool, struct frag_rx *f);

#endif
