/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's single-threaded event loop: epoll for file descriptors, a
 * binary heap of timers on CLOCK_MONOTONIC (O(log n) arm and cancel, so
 * 100,000 SAs each with a retransmit or DPD timer stay cheap), and signals
 * through a signalfd.
 */
#ifndef TCPIKE_LOOP_H
#define TCPIKE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct timer;

typedef void (*timer_fn)(struct timer *t);
/* events: LOOP_READ and/or LOOP_WRITE (or LOOP_ERROR) */
typedef void (*watch_fn)(void *ctx, int fd, uint32_t events);
typedef void (*signal_fn)(void *ctx, int signo);

#define LOOP_READ	0x1u
#define LOOP_WRITE	0x2u
#define LOOP_ERROR	0x4u

/* Embed in the owner's structure; find the owner with container_of. */
struct timer {
	uint64_t due_ms;
	size_t slot;		/* index in the heap + 1, 0 when not armed */
	timer_fn fn;
};

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (LOOP_READ/LOOP_WRITE); again to change interest. */
int loop_watch(struct loop *l, int fd, uint32_t events, watch_fn fn, void *ctx);
void loop_unwatch(struct loop *l, int fd);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);
/* Tests: a clock of their own for every loop and timer (NULL: the real
 * one again).  Timers fire when loop_once() runs at or after their time. */
void loop_set_clock(uint64_t (*now_ms)(void));
/* Arms (or re-arms) t to fire in ms milliseconds.  Returns 0 or -ENOMEM. */
int timer_arm(struct loop *l, struct timer *t, uint64_t ms, timer_fn fn);
void timer_cancel(struct loop *l, struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
	return t->slot != 0;
}
size_t loop_timer_count(const struct loop *l);

/* Deliver these signals through the loop instead of asynchronously. */
int loop_signals(struct loop *l, const int *signos, int n, signal_fn fn, void *ctx);

/*
 * Outside the loop (at shutdown, when it no longer runs): waits until fd
 * can be written, 100 ms at most and never past deadline_ms (loop_now_ms).
 * 0 to try the write again, -ETIMEDOUT when the deadline has passed, or
 * -errno.
 */
int loop_wait_writable(int fd, uint64_t deadline_ms);

/* Runs until loop_stop().  Returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
/* One iteration, waiting at most max_wait_ms (-1: until something). */
int loop_once(struct loop *l, int max_wait_ms);
void loop_stop(struct loop *l);

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
