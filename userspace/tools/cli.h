/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the test and benchmark tools (userspace/tools). */
#ifndef TCPIKE_TOOLS_CLI_H
#define TCPIKE_TOOLS_CLI_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "payload.h"
#include "wire.h"

/* A decimal option value in [min, max], or exit(2) with a sentence. */
static inline unsigned long cli_num(const char *prog, const char *s,
				    unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: '%s': expected a number from %lu to %lu\n",
			prog, s, min, max);
		exit(2);
	}
	return v;
}

static inline uint64_t cli_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The benchmarks' one proposal as an SA payload: for the IKE SA (esp_spi
 * NULL) AES-GCM-16-256, PRF-HMAC-SHA2-256, Curve25519; for a Child SA
 * AES-GCM-16-256 without ESN and the 4-byte SPI esp_spi. */
static inline void cli_bench_proposal(struct ike_sa_pl *sa, const uint8_t *esp_spi)
{
	struct ike_proposal *p = &sa->p[0];

	memset(sa, 0, sizeof(*sa));
	sa->nprop = 1;
	p->num = 1;
	p->ntrans = 2;
	p->t[0].type = IKEV2_TRANS_ENCR;
	p->t[0].id = IKEV2_ENCR_AES_GCM_16;
	p->t[0].keylen = 256;
	if (esp_spi) {
		p->proto = IKEV2_PROTO_ESP;
		p->spi_len = 4;
		memcpy(p->spi, esp_spi, 4);
		p->t[1].type = IKEV2_TRANS_ESN;
		p->t[1].id = IKEV2_ESN_NO;
		return;
	}
	p->proto = IKEV2_PROTO_IKE;
	p->ntrans = 3;
	p->t[1].type = IKEV2_TRANS_PRF;
	p->t[1].id = IKEV2_PRF_HMAC_SHA2_256;
	p->t[2].type = IKEV2_TRANS_KE;
	p->t[2].id = IKEV2_KE_CURVE25519;
}

#endif
