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
	ike_sa_reset(sa);
	ike_sa_add_prop(sa, esp_spi ? IKEV2_PROTO_ESP : IKEV2_PROTO_IKE, esp_spi,
			esp_spi ? 4 : 0);
	ike_sa_add_trans(sa, IKEV2_TRANS_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	if (esp_spi) {
		ike_sa_add_trans(sa, IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0);
		return;
	}
	ike_sa_add_trans(sa, IKEV2_TRANS_PRF, IKEV2_PRF_HMAC_SHA2_256, 0);
	ike_sa_add_trans(sa, IKEV2_TRANS_KE, IKEV2_KE_CURVE25519, 0);
}

#endif
