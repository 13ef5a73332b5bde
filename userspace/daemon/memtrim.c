// SPDX-License-Identifier: GPL-2.0
/* Memory given back after a burst of objects: see memtrim.h. */
#include <malloc.h>

#include "memtrim.h"

void mem_burst_init(struct mem_burst *m, struct loop *l, const uint32_t *count)
{
	m->loop = l;
	m->count = count;
	m->high = 0;
	m->stopped = false;
	m->trims = 0;
}

static bool fell(const struct mem_burst *m)
{
	return m->high >= MEM_BURST_MIN && *m->count <= m->high / 16;
}

static void trim_fire(struct timer *t)
{
	struct mem_burst *m = container_of(t, struct mem_burst, timer);

	if (!fell(m))
		return;
	malloc_trim(0);
	m->trims++;
	m->high = *m->count;
}

void mem_burst_up(struct mem_burst *m)
{
	if (*m->count > m->high)
		m->high = *m->count;
}

void mem_burst_down(struct mem_burst *m)
{
	if (fell(m) && !timer_armed(&m->timer) && !m->stopped)
		timer_arm(m->loop, &m->timer, MEM_BURST_DELAY_MS, trim_fire);
}

void mem_burst_stop(struct mem_burst *m)
{
	m->stopped = true;
	if (m->loop)
		timer_cancel(m->loop, &m->timer);
}
