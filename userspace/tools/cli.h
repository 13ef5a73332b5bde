/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the test and benchmark tools (userspace/tools). */
#ifndef TCPIKE_TOOLS_CLI_H
#define TCPIKE_TOOLS_CLI_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

#endif
