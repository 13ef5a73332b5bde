// SPDX-License-Identifier: GPL-2.0
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct watch {
	int fd;
	bool dead;		/* unwatched; freed after the current batch */
	watch_fn fn;
	void *ctx;
	struct watch *next;
};

#define WATCH_BUCKETS 256

struct loop {
	int epfd;
	bool stop;
	struct timer **heap;
	size_t nheap, capheap;
	struct watch *watches[WATCH_BUCKETS];
	struct watch *dead;
	int sigfd;
	signal_fn sig_fn;
	void *sig_ctx;
};

static uint64_t (*clock_override)(void);

void loop_set_clock(uint64_t (*now_ms)(void))
{
	clock_override = now_ms;
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	if (clock_override)
		return clock_override();

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_wait_writable(int fd, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t now = loop_now_ms();

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	if (poll(&pfd, 1, deadline_ms - now > 100 ? 100 : (int)(deadline_ms - now)) < 0 &&
	    errno != EINTR)
		return -errno;
	return 0;
}

static void free_dead(struct loop *l);

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < WATCH_BUCKETS; i++) {
		while (l->watches[i]) {
			struct watch *w = l->watches[i];

			l->watches[i] = w->next;
			free(w);
		}
	}
	free_dead(l);
	for (size_t i = 0; i < l->nheap; i++)
		l->heap[i]->slot = 0;
	free(l->heap);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l);
}

static struct watch **watch_slot(struct loop *l, int fd)
{
	struct watch **w = &l->watches[(unsigned int)fd % WATCH_BUCKETS];

	while (*w && (*w)->fd != fd)
		w = &(*w)->next;
	return w;
}

int loop_watch(struct loop *l, int fd, uint32_t events, watch_fn fn, void *ctx)
{
	struct watch **slot = watch_slot(l, fd), *w = *slot;
	struct epoll_event ev = { 0 };
	int op = w ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->fd = fd;
	}
	ev.events = (events & LOOP_READ ? EPOLLIN : 0) |
		    (events & LOOP_WRITE ? EPOLLOUT : 0);
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, op, fd, &ev) < 0) {
		int err = -errno;

		if (!*slot)
			free(w);
		return err;
	}
	w->fn = fn;
	w->ctx = ctx;
	if (!*slot)
		*slot = w;
	return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
	struct watch **slot = watch_slot(l, fd), *w = *slot;

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*slot = w->next;
	/* Its event may still be pending in the batch being dispatched:
	 * free it only after the batch. */
	w->dead = true;
	w->next = l->dead;
	l->dead = w;
}

static void free_dead(struct loop *l)
{
	while (l->dead) {
		struct watch *w = l->dead;

		l->dead = w->next;
		free(w);
	}
}

/* --- timers: a binary min-heap on due_ms ----------------------------------- */

static void heap_set(struct loop *l, size_t i, struct timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (l->heap[p]->due_ms <= t->due_ms)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->due_ms < l->heap[c]->due_ms)
			c++;
		if (t->due_ms <= l->heap[c]->due_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void timer_cancel(struct loop *l, struct timer *t)
{
	size_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	l->nheap--;
	if (i == l->nheap)
		return;
	struct timer *moved = l->heap[l->nheap];

	heap_set(l, i, moved);
	heap_up(l, i);
	heap_down(l, moved->slot - 1);
}

int timer_arm(struct loop *l, struct timer *t, uint64_t ms, timer_fn fn)
{
	timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		struct timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->fn = fn;
	t->due_ms = loop_now_ms() + ms;
	l->heap[l->nheap++] = t;
	heap_up(l, l->nheap - 1);
	return 0;
}

size_t loop_timer_count(const struct loop *l)
{
	return l->nheap;
}

static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();

	while (l->nheap && l->heap[0]->due_ms <= now && !l->stop) {
		struct timer *t = l->heap[0];

		timer_cancel(l, t);
		t->fn(t);
	}
}

/* --- signals ----------------------------------------------------------------- */

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct loop *l = ctx;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		l->sig_fn(l->sig_ctx, (int)si.ssi_signo);
}

int loop_signals(struct loop *l, const int *signos, int n, signal_fn fn, void *ctx)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, signos[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return -errno;
	l->sig_fn = fn;
	l->sig_ctx = ctx;
	return loop_watch(l, l->sigfd, LOOP_READ, on_signal, l);
}

/* --- running ----------------------------------------------------------------- */

int loop_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event ev[64];
	int wait = max_wait_ms, n;

	if (l->nheap) {
		uint64_t now = loop_now_ms(), due = l->heap[0]->due_ms;
		int until = due > now ? (int)(due - now) : 0;

		if (wait < 0 || until < wait)
			wait = until;
	}
	n = epoll_wait(l->epfd, ev, 64, wait);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_err("epoll_wait: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n && !l->stop; i++) {
		struct watch *w = ev[i].data.ptr;
		uint32_t e = 0;

		if (w->dead)	/* removed by an earlier callback of this batch */
			continue;
		if (ev[i].events & EPOLLIN)
			e |= LOOP_READ;
		if (ev[i].events & EPOLLOUT)
			e |= LOOP_WRITE;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			e |= LOOP_ERROR | LOOP_READ;
		w->fn(w->ctx, w->fd, e);
	}
	free_dead(l);
	run_timers(l);
	return 0;
}

int loop_run(struct loop *l)
{
	int err = 0;

	l->stop = false;
	while (!l->stop && !err)
		err = loop_once(l, -1);
	return err;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
