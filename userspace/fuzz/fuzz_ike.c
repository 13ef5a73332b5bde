// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the IKEv2 header and payload-chain parser: the
 * input is parsed as a message and, from its second byte on, as a
 * decrypted chain whose first payload type is the first byte (what an SK
 * payload's contents look like).  Every recorded payload body must lie
 * inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"

static void check(const struct ike_msg *m, const uint8_t *p, size_t len)
{
	for (int i = 0; i < m->n; i++) {
		const struct ike_pl *pl = &m->pl[i];

		if (pl->body < p || pl->body + pl->len > p + len)
			abort();
	}
	if (m->n > IKE_MAX_PAYLOADS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_msg m;

	ike_msg_parse(data, size, &m);
	check(&m, data, size);
	if (size > 1) {
		ike_chain_parse(data[0], data + 1, size - 1, &m);
		check(&m, data + 1, size - 1);
	}
	return 0;
}
