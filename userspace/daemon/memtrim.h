/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory given back after a burst.  glibc's allocator returns only the top
 * of the heap to the system by itself: after a flood the freed objects'
 * pages stay in the process.  A mem_burst watches one count of objects
 * (half-open IKE SAs, TCP connections): once it has fallen to a sixteenth
 * of a peak of MEM_BURST_MIN or more and stays there for MEM_BURST_DELAY_MS
 * (what the objects held is freed from the loop meanwhile), malloc_trim(0)
 * hands the free pages back.  Once per burst, not at every free.
 */
#ifndef TCPIKE_MEMTRIM_H
#define TCPIKE_MEMTRIM_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#define MEM_BURST_MIN		64u
#define MEM_BURST_DELAY_MS	1000u

struct mem_burst {
	struct loop *loop;
	const uint32_t *count;	/* the objects now, kept by the owner */
	uint32_t high;		/* the most since memory was last given back */
	struct timer timer;
	bool stopped;
	uint64_t trims;		/* malloc_trim calls (status: memory_trims) */
};

void mem_burst_init(struct mem_burst *m, struct loop *l, const uint32_t *count);
/* *count grew / fell. */
void mem_burst_up(struct mem_burst *m);
void mem_burst_down(struct mem_burst *m);
/* No more trims (shutdown). */
void mem_burst_stop(struct mem_burst *m);

#endif
