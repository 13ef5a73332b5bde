// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the IKEv2 header and payload-chain parser: the
 * input is parsed as a message and, from its second byte on, as a
 * decrypted chain whose first payload type is the first byte (what an SK
 * payload's contents look like).  Every recorded payload body must lie
 * inside the input, and every typed decoder (payload.h) runs on every
 * payload found, whatever its type.  Seeds: corpus/ike (IKE_INTERMEDIATE
 * with an unprotected payload before SK, and in an SKF fragment, too).
 */
#include <stdint.h>
#include <stdlib.h>

#include "payload.h"

static void check(const struct ike_msg *m, const uint8_t *p, size_t len)
{
	for (int i = 0; i < m->n; i++) {
		const struct ike_pl *pl = &m->pl[i];

		if (pl->body < p || pl->body + pl->len > p + len)
			abort();
	}
	if (m->n > IKE_MAX_PAYLOADS)
		abort();
	/* What RFC 9242's IntAuth takes of a message outside SK (exch_inter.c):
	 * the unprotected payloads, one span from the first payload's generic
	 * header to SK's, inside the input; SK is the last payload. */
	if (m->sk && m->n > 1 &&
	    (m->sk != &m->pl[m->n - 1] || m->pl[0].body - 4 < p ||
	     m->sk->body - 4 < m->pl[0].body - 4))
		abort();
	for (int i = 0; i < m->n; i++) {
		static struct ike_sa_pl sa;
		static struct ike_ts_pl ts;
		static struct ike_cp cp;
		const struct ike_pl *pl = &m->pl[i];
		struct ike_ke ke;
		struct ike_span sp;
		struct ike_typed t;
		struct ike_notify n;
		struct ike_delete d;
		struct ike_skf f;

		if (!ike_get_sa(pl, &sa)) {
			int nt = 0;

			for (int j = 0; j < sa.nprop; j++) {
				if (sa.p[j].t != sa.pool + nt)
					abort();
				nt += sa.p[j].ntrans;
			}
			if (nt != sa.npool || nt > IKE_MAX_SA_TRANSFORMS)
				abort();
		}
		if (!ike_get_sa_reply(pl, &sa) && (sa.nprop != 1 || !sa.p[0].num))
			abort();
		ike_get_ke(pl, &ke);
		ike_get_nonce(pl, &sp);
		ike_get_id(pl, &t);
		ike_get_auth(pl, &t);
		ike_get_cert(pl, &t);
		ike_get_certreq(pl, &t);
		ike_get_vendor(pl, &sp);
		ike_get_notify(pl, &n);
		if (!ike_get_delete(pl, &d))
			for (unsigned int j = 0; j < d.nspi && d.spi_len == 4; j++)
				(void)ike_delete_spi(&d, j);
		ike_get_ts(pl, &ts);
		if (!ike_get_cp(pl, &cp)) {
			struct ike_cp_want w;
			struct ike_cp_got g;

			if (cp.n > IKE_MAX_CP_ATTRS || cp.skipped < 0)
				abort();
			ike_cp_want(&cp, &w);
			if (!ike_cp_got(&cp, &g) && (g.n_dns4 > IKE_MAX_CP_DNS ||
						     g.n_dns6 > IKE_MAX_CP_DNS || g.plen6 > 128))
				abort();
		}
		ike_get_sk(pl, &sp);
		ike_get_skf(pl, &f);
	}
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
