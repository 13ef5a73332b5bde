// SPDX-License-Identifier: GPL-2.0
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_wipe(struct buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (b->err)
		return b->err;
	if (extra > SIZE_MAX - b->len)
		return b->err = -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = malloc(cap);
	if (!p)
		return b->err = -ENOMEM;
	if (b->len)
		memcpy(p, b->data, b->len);
	/* Never realloc: the old storage may hold key material. */
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void buf_fit(struct buf *b)
{
	uint8_t *p;

	if (!b->len || b->len == b->cap || !(p = malloc(b->len)))
		return;
	memcpy(p, b->data, b->len);
	OPENSSL_cleanse(b->data, b->cap);	/* as buf_reserve: never realloc */
	free(b->data);
	b->data = p;
	b->cap = b->len;
}

uint8_t *buf_extend(struct buf *b, size_t n)
{
	uint8_t *p;

	if (buf_reserve(b, n))
		return NULL;
	p = b->data + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

int buf_append(struct buf *b, const void *src, size_t n)
{
	uint8_t *p;

	if (!n)
		return b->err;
	p = buf_extend(b, n);
	if (!p)
		return b->err;
	memcpy(p, src, n);
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { v >> 8, v };

	return buf_append(b, x, 2);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	return buf_append(b, x, 4);
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	int err = buf_put_u32(b, v >> 32);

	return err ? err : buf_put_u32(b, (uint32_t)v);
}

void buf_set_u16(struct buf *b, size_t off, uint16_t v)
{
	if (off + 2 > b->len)
		abort();
	b->data[off] = v >> 8;
	b->data[off + 1] = v;
}

void buf_set_u32(struct buf *b, size_t off, uint32_t v)
{
	if (off + 4 > b->len)
		abort();
	b->data[off] = v >> 24;
	b->data[off + 1] = v >> 16;
	b->data[off + 2] = v >> 8;
	b->data[off + 3] = v;
}

int buf_copy(struct buf *dst, const struct buf *src)
{
	buf_reset(dst);
	if (src->err)
		return dst->err = src->err;
	return buf_append(dst, src->data, src->len);
}

const uint8_t *cur_peek(const struct cursor *c, size_t n)
{
	if (c->bad || n > c->left)
		return NULL;
	return c->p;
}

const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (c->bad || n > c->left) {
		cur_fail(c);
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

bool cur_skip(struct cursor *c, size_t n)
{
	return cur_take(c, n) != NULL;
}

bool cur_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *p = cur_take(c, 1);

	if (!p)
		return false;
	*v = p[0];
	return true;
}

bool cur_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p = cur_take(c, 2);

	if (!p)
		return false;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return true;
}

bool cur_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p = cur_take(c, 4);

	if (!p)
		return false;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	     (uint32_t)p[2] << 8 | p[3];
	return true;
}

bool cur_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (!cur_u32(c, &hi) || !cur_u32(c, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool cur_copy(struct cursor *c, void *dst, size_t n)
{
	const uint8_t *p = cur_take(c, n);

	if (!p)
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

bool cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *p = cur_take(c, n);

	if (!p) {
		cur_init(sub, NULL, 0);
		cur_fail(sub);
		return false;
	}
	cur_init(sub, p, n);
	return true;
}

bool cur_rest(struct cursor *c, struct cursor *sub)
{
	return cur_sub(c, cur_left(c), sub);
}
