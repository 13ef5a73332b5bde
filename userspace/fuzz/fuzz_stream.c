// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the RFC 9329 stream reassembler.  The first input
 * byte chooses the role (bit 0: expect the prefix) and seeds the chunk
 * sizes the rest is fed in, so every split of a frame gets exercised.
 * Every delivered message must lie inside the reassembler's bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

static int check(void *ctx, enum stream_kind kind, const uint8_t *m, size_t len)
{
	volatile uint8_t x = 0;

	if (len > STREAM_MAX_MSG || (kind != STREAM_IKE && kind != STREAM_ESP))
		abort();
	for (size_t i = 0; i < len; i++)	/* touch every byte (ASan) */
		x ^= m[i];
	(void)x;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream s;
	uint32_t seed;
	size_t off = 1;

	if (size < 1)
		return 0;
	seed = data[0];
	if (stream_init(&s, data[0] & 1, (data[0] & 2) ? 512 : 0))
		return 0;
	while (off < size) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 97;
		if (n > size - off)
			n = size - off;
		if (stream_feed(&s, data + off, n, check, NULL))
			break;
		off += n;
	}
	stream_free(&s);
	return 0;
}
