// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 7383 §2.6 reassembly with a daemon-wide memory bound (frag.h).
 */
#include "frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void unlink_rx(struct frag_pool *pool, struct frag_rx *f)
{
	if (f->older)
		f->older->newer = f->newer;
	else if (pool->oldest == f)
		pool->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else if (pool->newest == f)
		pool->newest = f->older;
	f->older = f->newer = NULL;
}

void frag_reset(struct frag_pool *pool, struct frag_rx *f)
{
	int i;

	if (f->plain) {
		unlink_rx(pool, f);
		pool->bytes -= f->bytes;
	}
	for (i = 0; f->plain && i < f->total; i++)
		buf_wipe(&f->plain[i]);
	free(f->plain);
	memset(f, 0, sizeof(*f));
}

static int start(struct frag_pool *pool, struct frag_rx *f, uint32_t msgid, uint16_t total)
{
	f->plain = calloc(total, sizeof(*f->plain));
	if (!f->plain)
		return -ENOMEM;
	f->msgid = msgid;
	f->total = total;
	f->bytes = total * sizeof(*f->plain);
	pool->bytes += f->bytes;
	f->older = pool->newest;
	if (pool->newest)
		pool->newest->newer = f;
	else
		pool->oldest = f;
	pool->newest = f;
	return 0;
}

/* Room for add more bytes under the cap, dropping the oldest incomplete
 * reassemblies (f's own included: it is then started again). */
static bool make_room(struct frag_pool *pool, struct frag_rx *f, size_t add)
{
	if (!pool->cap || add > pool->cap)
		return !pool->cap;
	while (pool->bytes + add > pool->cap && pool->oldest) {
		struct frag_rx *victim = pool->oldest;

		if (victim == f && !f->newer)
			break;		/* only f is left: its own bound applies */
		frag_reset(pool, victim);
		pool->evicted++;
	}
	return pool->bytes + add <= pool->cap;
}

int frag_put(struct frag_pool *pool, struct frag_rx *f, uint32_t msgid, uint16_t num,
	     uint16_t total, uint8_t next, struct buf *p, size_t max_bytes,
	     struct buf *out, uint8_t *first)
{
	size_t add = p->len ? p->len : 1;
	int r, i;

	if (f->plain && f->msgid != msgid) {
		if (f->msgid > msgid) {
			r = -EALREADY;	/* an older message */
			goto drop;
		}
		frag_reset(pool, f);	/* a newer message: start again */
	} else if (f->plain && total != f->total) {
		/* RFC 7383 §2.6.2: a smaller Total Fragments is a stale
		 * split and is discarded; a larger one restarts. */
		if (total < f->total) {
			r = -EALREADY;
			goto drop;
		}
		frag_reset(pool, f);
	}
	if (f->plain && (f->plain[num - 1].data || f->plain[num - 1].len)) {
		r = 0;			/* duplicate */
		goto drop;
	}
	if (f->bytes + add > max_bytes) {
		frag_reset(pool, f);
		r = -E2BIG;
		goto drop;
	}
	/* The array counted even when f has one: f may be the one dropped. */
	if (!make_room(pool, f, add + total * sizeof(*f->plain))) {
		r = -E2BIG;
		goto drop;
	}
	if (!f->plain) {
		r = start(pool, f, msgid, total);
		if (r)
			goto drop;
	}
	if (num == 1)
		f->first_type = next;
	f->plain[num - 1] = *p;
	*p = (struct buf)BUF_INIT;
	if (!f->plain[num - 1].data) {	/* an empty fragment still counts */
		f->plain[num - 1].data = calloc(1, 1);
		if (!f->plain[num - 1].data) {
			frag_reset(pool, f);
			return -ENOMEM;
		}
	}
	f->bytes += add;
	pool->bytes += add;
	if (++f->have < f->total)
		return 0;
	buf_reset(out);
	for (i = 0; i < f->total; i++)
		if (buf_append(out, f->plain[i].data, f->plain[i].len)) {
			frag_reset(pool, f);
			return -ENOMEM;
		}
	*first = f->first_type;
	frag_reset(pool, f);
	return 1;
drop:
	buf_wipe(p);
	return r;
}
