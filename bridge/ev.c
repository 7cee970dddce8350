/*
 * bridge/ev.c: the event loop (see ev.h): level-triggered epoll for fds, a
 * binary min-heap of one-shot timers, a before-sleep hook and a sleep cap
 * (Redis ae.c / ae_epoll.c).
 *
 * Stale events: each registered fd carries a generation number, stored in
 * the epoll event next to the fd. Deleting an fd (and maybe re-adding the
 * same number for a new socket) during one dispatch round bumps or resets
 * it, so events already fetched for the old registration are dropped
 * instead of reaching the new callback. Level triggering makes dropping
 * safe: a still-ready fd reports again on the next round.
 *
 * Timers live in slots (reused through a free list); the heap holds slot
 * numbers and each slot knows its heap position, so add and delete are
 * O(log n). A timer id is (sequence << 32 | slot + 1): deleting a fired or
 * unknown id is a no-op because the slot's stored id no longer matches.
 * Equal deadlines fire in the order they were added. Timers added while
 * timers are being dispatched wait for the next round, so a callback that
 * re-arms itself with 0 ms cannot starve the fds.
 */
#include "ev.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"

/* epoll events fetched per round. */
#define EV_BATCH 256
/* Sleep cap value meaning "no cap". */
#define EV_NO_CAP UINT64_MAX
/* End of the free slot list. */
#define EV_NO_SLOT SIZE_MAX

struct ev_fdent {
	ev_fd_cb cb;
	void *arg;
	unsigned mask;
	uint32_t gen;
	unsigned char active;
	unsigned char in_epoll;
};

struct ev_timer {
	uint64_t when; /* monotonic ms deadline */
	uint64_t seq;  /* order of creation (ties, round limit) */
	uint64_t id;   /* 0 when the slot is free */
	ev_timer_cb cb;
	void *arg;
	size_t pos; /* heap position; next free slot when free */
};

struct ev_loop {
	int epfd;
	int stop;
	struct ev_fdent *fds;
	size_t nfds;
	uint32_t next_gen;

	struct ev_timer *slots;
	size_t nslots;
	size_t free_slot; /* head of the free list, EV_NO_SLOT when empty */
	uint32_t *heap;   /* slot numbers, min-heap on (when, seq) */
	size_t nheap;
	uint64_t next_seq;

	ev_hook_cb before_sleep;
	void *before_sleep_arg;
	uint64_t sleep_cap;

	struct epoll_event events[EV_BATCH];
};

static int ev_epoll_apply(struct ev_loop *loop, int fd);
static int ev_timer_less(const struct ev_loop *loop, size_t a, size_t b);
static void ev_heap_swap(struct ev_loop *loop, size_t a, size_t b);
static void ev_heap_up(struct ev_loop *loop, size_t i);
static void ev_heap_down(struct ev_loop *loop, size_t i);
static void ev_heap_remove(struct ev_loop *loop, size_t i);
static void ev_slot_release(struct ev_loop *loop, size_t slot);
static int ev_compute_timeout(struct ev_loop *loop);
static void ev_run_timers(struct ev_loop *loop);
static void ev_dispatch(struct ev_loop *loop, int n);

uint64_t
ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct ev_loop *
ev_loop_new(void)
{
	struct ev_loop *loop;
	int epfd;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return NULL;
	loop = xcalloc(1, sizeof *loop);
	loop->epfd = epfd;
	loop->next_gen = 1;
	loop->next_seq = 1;
	loop->sleep_cap = EV_NO_CAP;
	loop->free_slot = EV_NO_SLOT;
	return loop;
}

void
ev_loop_free(struct ev_loop **lp)
{
	struct ev_loop *loop = *lp;

	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->fds);
	free(loop->slots);
	free(loop->heap);
	free(loop);
	*lp = NULL;
}

/* Makes the kernel's interest for fd match the table. */
static int
ev_epoll_apply(struct ev_loop *loop, int fd)
{
	struct ev_fdent *e = &loop->fds[fd];
	struct epoll_event ee;
	int op;

	if (!e->active || e->mask == 0) {
		if (e->in_epoll) {
			/* EBADF/ENOENT: the fd was closed behind our back,
			 * which already removed it from the epoll set. */
			(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
			e->in_epoll = 0;
		}
		return 0;
	}
	memset(&ee, 0, sizeof ee);
	if (e->mask & EV_READ)
		ee.events |= EPOLLIN;
	if (e->mask & EV_WRITE)
		ee.events |= EPOLLOUT;
	ee.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)e->gen << 32);
	op = e->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epfd, op, fd, &ee) < 0) {
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else
			return -1;
		if (epoll_ctl(loop->epfd, op, fd, &ee) < 0)
			return -1;
	}
	e->in_epoll = 1;
	return 0;
}

int
ev_fd_set(struct ev_loop *loop, int fd, unsigned mask, ev_fd_cb cb, void *arg)
{
	struct ev_fdent *e;
	struct ev_fdent saved;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd >= loop->nfds) {
		size_t n = loop->nfds ? loop->nfds : 64;

		while (n <= (size_t)fd)
			n *= 2;
		loop->fds = xreallocarray(loop->fds, n, sizeof *loop->fds);
		memset(loop->fds + loop->nfds, 0,
		       (n - loop->nfds) * sizeof *loop->fds);
		loop->nfds = n;
	}
	e = &loop->fds[fd];
	saved = *e;
	if (!e->active) {
		/* A new registration: events fetched for an older one with
		 * the same fd number must not reach this callback. */
		e->gen = loop->next_gen++;
		if (e->gen == 0)
			e->gen = loop->next_gen++;
		e->in_epoll = 0;
	}
	e->cb = cb;
	e->arg = arg;
	e->mask = mask & (EV_READ | EV_WRITE);
	e->active = 1;
	if (ev_epoll_apply(loop, fd) < 0) {
		int err = errno;

		*e = saved;
		errno = err;
		return -1;
	}
	return 0;
}

int
ev_fd_mask(struct ev_loop *loop, int fd, unsigned mask)
{
	struct ev_fdent *e;

	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active) {
		errno = ENOENT;
		return -1;
	}
	e = &loop->fds[fd];
	mask &= EV_READ | EV_WRITE;
	if (mask == e->mask)
		return 0;
	e->mask = mask;
	return ev_epoll_apply(loop, fd);
}

void
ev_fd_del(struct ev_loop *loop, int fd)
{
	struct ev_fdent *e;

	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active)
		return;
	e = &loop->fds[fd];
	e->active = 0;
	(void)ev_epoll_apply(loop, fd);
	e->cb = NULL;
	e->arg = NULL;
	e->mask = 0;
	e->gen = 0;
}

/* Heap order: earlier deadline first, then earlier creation. */
static int
ev_timer_less(const struct ev_loop *loop, size_t a, size_t b)
{
	const struct ev_timer *ta = &loop->slots[loop->heap[a]];
	const struct ev_timer *tb = &loop->slots[loop->heap[b]];

	if (ta->when != tb->when)
		return ta->when < tb->when;
	return ta->seq < tb->seq;
}

static void
ev_heap_swap(struct ev_loop *loop, size_t a, size_t b)
{
	uint32_t t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->slots[loop->heap[a]].pos = a;
	loop->slots[loop->heap[b]].pos = b;
}

static void
ev_heap_up(struct ev_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!ev_timer_less(loop, i, parent))
			break;
		ev_heap_swap(loop, i, parent);
		i = parent;
	}
}

static void
ev_heap_down(struct ev_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->nheap && ev_timer_less(loop, l, m))
			m = l;
		if (r < loop->nheap && ev_timer_less(loop, r, m))
			m = r;
		if (m == i)
			break;
		ev_heap_swap(loop, i, m);
		i = m;
	}
}

static void
ev_heap_remove(struct ev_loop *loop, size_t i)
{
	size_t last = loop->nheap - 1;

	if (i != last) {
		ev_heap_swap(loop, i, last);
		loop->nheap--;
		ev_heap_down(loop, i);
		ev_heap_up(loop, i);
	} else {
		loop->nheap--;
	}
}

static void
ev_slot_release(struct ev_loop *loop, size_t slot)
{
	struct ev_timer *t = &loop->slots[slot];

	t->id = 0;
	t->cb = NULL;
	t->arg = NULL;
	t->pos = loop->free_slot;
	loop->free_slot = slot;
}

uint64_t
ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t;
	uint64_t now = ev_now_ms();
	size_t slot;

	if (loop->free_slot == EV_NO_SLOT) {
		size_t n = loop->nslots ? loop->nslots * 2 : 64, i;

		if (n > UINT32_MAX - 1)
			fatalx("ev: too many timers");
		loop->slots =
		        xreallocarray(loop->slots, n, sizeof *loop->slots);
		loop->heap = xreallocarray(loop->heap, n, sizeof *loop->heap);
		for (i = loop->nslots; i < n; i++) {
			loop->slots[i].id = 0;
			loop->slots[i].cb = NULL;
			loop->slots[i].arg = NULL;
			loop->slots[i].pos = i + 1 < n ? i + 1 : EV_NO_SLOT;
		}
		loop->free_slot = loop->nslots;
		loop->nslots = n;
	}
	slot = loop->free_slot;
	t = &loop->slots[slot];
	loop->free_slot = t->pos;
	t->when = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
	t->seq = loop->next_seq++;
	t->id = ((uint64_t)(uint32_t)t->seq << 32) | (uint64_t)(slot + 1);
	t->cb = cb;
	t->arg = arg;
	t->pos = loop->nheap;
	loop->heap[loop->nheap++] = (uint32_t)slot;
	ev_heap_up(loop, t->pos);
	return t->id;
}

void
ev_timer_del(struct ev_loop *loop, uint64_t id)
{
	size_t slot;

	if (id == 0)
		return;
	slot = (size_t)(id & 0xffffffffu);
	if (slot == 0 || slot > loop->nslots)
		return;
	slot--;
	if (loop->slots[slot].id != id)
		return;
	ev_heap_remove(loop, loop->slots[slot].pos);
	ev_slot_release(loop, slot);
}

void
ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	loop->before_sleep = cb;
	loop->before_sleep_arg = arg;
}

void
ev_cap_sleep(struct ev_loop *loop, uint64_t ms)
{
	if (ms < loop->sleep_cap)
		loop->sleep_cap = ms;
}

void
ev_stop(struct ev_loop *loop)
{
	loop->stop = 1;
}

/* Milliseconds epoll_wait may sleep: -1 for "until an fd is ready". */
static int
ev_compute_timeout(struct ev_loop *loop)
{
	uint64_t wait = EV_NO_CAP;

	if (loop->nheap > 0) {
		uint64_t when = loop->slots[loop->heap[0]].when;
		uint64_t now = ev_now_ms();

		wait = when > now ? when - now : 0;
	}
	if (loop->sleep_cap < wait)
		wait = loop->sleep_cap;
	loop->sleep_cap = EV_NO_CAP;
	if (wait == EV_NO_CAP)
		return -1;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Fires the timers that are due and were added before this round. */
static void
ev_run_timers(struct ev_loop *loop)
{
	uint64_t now = ev_now_ms();
	uint64_t limit = loop->next_seq;

	while (loop->nheap > 0 && !loop->stop) {
		size_t slot = loop->heap[0];
		struct ev_timer *t = &loop->slots[slot];
		ev_timer_cb cb;
		void *arg;

		if (t->when > now || t->seq >= limit)
			break;
		cb = t->cb;
		arg = t->arg;
		ev_heap_remove(loop, 0);
		ev_slot_release(loop, slot);
		cb(arg);
	}
}

static void
ev_dispatch(struct ev_loop *loop, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		uint64_t data = loop->events[i].data.u64;
		uint32_t raw = loop->events[i].events;
		int fd = (int)(uint32_t)(data & 0xffffffffu);
		uint32_t gen = (uint32_t)(data >> 32);
		struct ev_fdent *e;
		unsigned ready = 0;

		/* Re-read the table every time: callbacks may grow it, or
		 * delete and re-add this fd (then gen differs). */
		if ((size_t)fd >= loop->nfds)
			continue;
		e = &loop->fds[fd];
		if (!e->active || e->gen != gen)
			continue;
		if (raw & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ready |= EV_READ;
		if (raw & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			ready |= EV_WRITE;
		ready &= e->mask;
		if (ready == 0)
			continue;
		e->cb(fd, ready, e->arg);
	}
}

int
ev_run(struct ev_loop *loop)
{
	loop->stop = 0;
	while (!loop->stop) {
		int n, timeout;

		if (loop->before_sleep)
			loop->before_sleep(loop->before_sleep_arg);
		if (loop->stop)
			break;
		timeout = ev_compute_timeout(loop);
		n = epoll_wait(loop->epfd, loop->events, EV_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		ev_dispatch(loop, n);
		ev_run_timers(loop);
	}
	return 0;
}
