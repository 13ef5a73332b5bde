// SPDX-License-Identifier: GPL-2.0
/* Event loop: timer order, cancel and re-arm, fd callbacks, unwatch safety. */
#include <stdlib.h>
#include <unistd.h>

#include "loop.h"
#include "kselftest_harness.h"

struct tick {
	struct timer t;
	int id;
	int *log;
	int *n;
	struct loop *l;
};

static void on_tick(struct timer *t)
{
	struct tick *k = container_of(t, struct tick, t);

	k->log[(*k->n)++] = k->id;
}

TEST(timers_fire_in_due_order)
{
	struct loop *l = loop_new();
	struct tick k[5];
	int log[16], n = 0;
	static const int ms[5] = { 30, 10, 50, 20, 40 };

	ASSERT_NE(NULL, l);
	for (int i = 0; i < 5; i++) {
		k[i] = (struct tick){ .id = i, .log = log, .n = &n, .l = l };
		ASSERT_EQ(0, timer_arm(l, &k[i].t, ms[i], on_tick));
	}
	timer_cancel(l, &k[4].t);
	ASSERT_FALSE(timer_armed(&k[4].t));
	ASSERT_EQ(0, timer_arm(l, &k[2].t, 5, on_tick));	/* re-arm earlier */
	ASSERT_EQ(4, loop_timer_count(l));
	while (loop_timer_count(l))
		ASSERT_EQ(0, loop_once(l, 100));
	ASSERT_EQ(4, n);
	ASSERT_EQ(2, log[0]);
	ASSERT_EQ(1, log[1]);
	ASSERT_EQ(3, log[2]);
	ASSERT_EQ(0, log[3]);
	loop_free(l);
}

TEST(many_timers_heap_consistent)
{
	struct loop *l = loop_new();
	int nt = 5000, n = 0;
	struct tick *k = calloc(nt, sizeof(*k));
	int *log = calloc(nt, sizeof(int));

	srand(7);
	for (int i = 0; i < nt; i++) {
		k[i] = (struct tick){ .id = i, .log = log, .n = &n, .l = l };
		ASSERT_EQ(0, timer_arm(l, &k[i].t, (uint64_t)(rand() % 20), on_tick));
	}
	for (int i = 0; i < nt; i += 3)
		timer_cancel(l, &k[i].t);
	while (loop_timer_count(l))
		ASSERT_EQ(0, loop_once(l, 50));
	ASSERT_EQ(nt - (nt + 2) / 3, n);
	for (int i = 1; i < n; i++)	/* non-decreasing due times */
		ASSERT_LE(k[log[i - 1]].t.due_ms, k[log[i]].t.due_ms);
	for (int i = 0; i < n; i++)
		ASSERT_NE(0, log[i] % 3);
	free(k);
	free(log);
	loop_free(l);
}

struct pipes {
	struct loop *l;
	int p1[2], p2[2];
	int calls;
};

/* The first callback removes the other watch: it must not run. */
static void on_read(void *ctx, int fd, uint32_t ev)
{
	struct pipes *p = ctx;
	char c;

	p->calls++;
	if (read(fd, &c, 1) != 1)
		return;
	loop_unwatch(p->l, fd == p->p1[0] ? p->p2[0] : p->p1[0]);
}

TEST(unwatch_during_batch_is_safe)
{
	struct pipes p = { .l = loop_new() };

	ASSERT_EQ(0, pipe(p.p1));
	ASSERT_EQ(0, pipe(p.p2));
	ASSERT_EQ(0, loop_watch(p.l, p.p1[0], LOOP_READ, on_read, &p));
	ASSERT_EQ(0, loop_watch(p.l, p.p2[0], LOOP_READ, on_read, &p));
	ASSERT_EQ(1, write(p.p1[1], "x", 1));
	ASSERT_EQ(1, write(p.p2[1], "y", 1));
	ASSERT_EQ(0, loop_once(p.l, 100));
	ASSERT_EQ(1, p.calls);
	loop_free(p.l);
	for (int i = 0; i < 2; i++) {
		close(p.p1[i]);
		close(p.p2[i]);
	}
}

TEST_HARNESS_MAIN
