/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Byte buffers and the one cursor type through which tcpike reads untrusted
 * bytes.
 *
 * struct buf is an owned, growable output buffer.  struct cursor is a
 * read-only window over bytes that came from the network (or any other
 * untrusted source): every read is checked against what is left, and the
 * first failed read makes the cursor sticky-bad, so a parser can chain reads
 * and test cur_ok() once.  Nothing in tcpike indexes packet bytes directly.
 */
#ifndef TCPIKE_BUF_H
#define TCPIKE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Appends never fail half-way: the first that cannot get memory makes the
 * buffer sticky-bad (like struct ike_builder's err), and every append after
 * it does nothing and returns that error.  So a buffer built by several
 * appends is checked once, with buf_err(), before it is used; buf_reset()
 * and buf_free() clear the error with the contents.
 */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err;		/* 0, or the first failure (-ENOMEM) */
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b);
/* Frees the storage.  buf_wipe() also zeroes it first (use for secrets). */
void buf_free(struct buf *b);
void buf_wipe(struct buf *b);
void buf_reset(struct buf *b);		/* len = 0, storage kept, no error */
static inline int buf_err(const struct buf *b)
{
	return b->err;
}
int buf_reserve(struct buf *b, size_t extra);	/* 0 or -ENOMEM */
/* The storage cut to the length, for a buffer kept long (left as it was
 * when there is no memory for the copy). */
void buf_fit(struct buf *b);
/* Appends n bytes and returns where they start (zeroed), or NULL. */
uint8_t *buf_extend(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);	/* big endian */
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
/* Patch a big-endian field already written (offset must be in range). */
void buf_set_u16(struct buf *b, size_t off, uint16_t v);
void buf_set_u32(struct buf *b, size_t off, uint32_t v);
/* dst replaced; a bad src makes dst bad too. */
int buf_copy(struct buf *dst, const struct buf *src);

struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static inline void cur_init(struct cursor *c, const void *p, size_t n)
{
	c->p = p;
	c->left = p ? n : 0;
	c->bad = false;
}

static inline size_t cur_left(const struct cursor *c)
{
	return c->bad ? 0 : c->left;
}

static inline bool cur_ok(const struct cursor *c)
{
	return !c->bad;
}

/* Marks the cursor bad (for semantic errors found by the caller). */
static inline bool cur_fail(struct cursor *c)
{
	c->bad = true;
	c->left = 0;
	return false;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL. */
const uint8_t *cur_take(struct cursor *c, size_t n);
/* Like cur_take but does not consume. */
const uint8_t *cur_peek(const struct cursor *c, size_t n);
bool cur_skip(struct cursor *c, size_t n);
bool cur_u8(struct cursor *c, uint8_t *v);
bool cur_u16(struct cursor *c, uint16_t *v);	/* big endian */
bool cur_u32(struct cursor *c, uint32_t *v);
bool cur_u64(struct cursor *c, uint64_t *v);
bool cur_copy(struct cursor *c, void *dst, size_t n);
/* Carves the next n bytes into sub and consumes them from c. */
bool cur_sub(struct cursor *c, size_t n, struct cursor *sub);
/* Consumes the rest into sub (always succeeds on a good cursor). */
bool cur_rest(struct cursor *c, struct cursor *sub);

#endif
