/*
 * tests/unit/test_ev.c: the event loop (bridge/ev.c): timer order and
 * deletion from callbacks, a self re-arming timer that must not starve fds,
 * many random timers, stale fd events after delete + re-add in one round,
 * the before-sleep hook and ev_cap_sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bridge/ev.h"
#include "test.h"

static struct ev_loop *L;
static int order[64], norder;
static uint64_t tid[16];

static void
rec_cb(void *arg)
{
	int v = (int)(intptr_t)arg;

	if (norder < 64)
		order[norder++] = v;
	if (v == 99)
		ev_stop(L);
}

static void
test_timer_order(void)
{
	L = ev_loop_new();
	T_ASSERT(L != NULL);
	norder = 0;
	ev_timer_add(L, 30, rec_cb, (void *)(intptr_t)4);
	ev_timer_add(L, 10, rec_cb, (void *)(intptr_t)1);
	ev_timer_add(L, 20, rec_cb, (void *)(intptr_t)3);
	ev_timer_add(L, 10, rec_cb, (void *)(intptr_t)2);
	ev_timer_add(L, 0, rec_cb, (void *)(intptr_t)0);
	ev_timer_add(L, 40, rec_cb, (void *)(intptr_t)99);
	T_EQ_INT(ev_run(L), 0);
	T_EQ_INT(norder, 6);
	for (int i = 0; i < 5; i++)
		T_EQ_INT(order[i], i);
	ev_loop_free(&L);
	T_ASSERT(L == NULL);
}

/* Timer 1 deletes 2 (same deadline, later), itself, and 3; adds 5. */
static void
del_cb(void *arg)
{
	(void)arg;
	order[norder++] = 1;
	ev_timer_del(L, tid[2]);
	ev_timer_del(L, tid[1]); /* itself: already fired, no-op */
	ev_timer_del(L, tid[3]);
	ev_timer_del(L, 0);
	ev_timer_del(L, 12345);
	tid[5] = ev_timer_add(L, 0, rec_cb, (void *)(intptr_t)5);
}

static void
test_timer_delete_in_cb(void)
{
	L = ev_loop_new();
	norder = 0;
	tid[1] = ev_timer_add(L, 5, del_cb, NULL);
	tid[2] = ev_timer_add(L, 5, rec_cb, (void *)(intptr_t)2);
	tid[3] = ev_timer_add(L, 50, rec_cb, (void *)(intptr_t)3);
	tid[4] = ev_timer_add(L, 80, rec_cb, (void *)(intptr_t)99);
	T_ASSERT(tid[1] && tid[2] && tid[3] && tid[4]);
	T_ASSERT(tid[1] != tid[2]);
	ev_run(L);
	T_EQ_INT(norder, 3);
	T_EQ_INT(order[0], 1);
	T_EQ_INT(order[1], 5);
	T_EQ_INT(order[2], 99);
	/* Fired ids stay dead even after their slots are reused. */
	ev_timer_del(L, tid[5]);
	tid[6] = ev_timer_add(L, 1, rec_cb, (void *)(intptr_t)99);
	ev_timer_del(L, tid[1]);
	ev_timer_del(L, tid[4]);
	norder = 0;
	ev_run(L);
	T_EQ_INT(norder, 1);
	ev_loop_free(&L);
}

static int rearm_count, pipe_seen;

static void
rearm_cb(void *arg)
{
	(void)arg;
	rearm_count++;
	if (rearm_count < 100000)
		ev_timer_add(L, 0, rearm_cb, NULL);
}

static void
pipe_cb(int fd, unsigned events, void *arg)
{
	(void)arg;
	(void)events;
	pipe_seen = 1;
	ev_fd_del(L, fd);
	ev_stop(L);
}

static void
test_timer_no_starvation(void)
{
	int p[2];

	L = ev_loop_new();
	T_EQ_INT(pipe(p), 0);
	T_EQ_INT(write(p[1], "x", 1), 1);
	rearm_count = pipe_seen = 0;
	ev_timer_add(L, 0, rearm_cb, NULL);
	T_EQ_INT(ev_fd_set(L, p[0], EV_READ, pipe_cb, NULL), 0);
	ev_run(L);
	T_ASSERT(pipe_seen);
	T_ASSERT(rearm_count < 5);
	close(p[0]);
	close(p[1]);
	ev_loop_free(&L);
}

#define NRAND 20000
static uint64_t rdeadline[NRAND], rid[NRAND], last_deadline;
static unsigned char rdeleted[NRAND], rfired[NRAND];
static int rfired_n, rbad_order;

static void
rand_cb(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	rfired[i]++;
	rfired_n++;
	/* Deadlines were noted just before each add: allow 1 ms skew. */
	if (rdeadline[i] + 1 < last_deadline || ev_now_ms() < rdeadline[i])
		rbad_order++;
	if (rdeadline[i] > last_deadline)
		last_deadline = rdeadline[i];
	/* Delete a few not yet fired from inside a callback. */
	if (i % 97 == 0) {
		size_t j = (i * 7919) % NRAND;

		if (!rfired[j] && !rdeleted[j]) {
			rdeleted[j] = 1;
			ev_timer_del(L, rid[j]);
		}
	}
}

static void
test_timer_many_random(void)
{
	unsigned seed = 12345;
	int expect = 0;

	L = ev_loop_new();
	memset(rdeleted, 0, sizeof rdeleted);
	memset(rfired, 0, sizeof rfired);
	rfired_n = rbad_order = 0;
	last_deadline = 0;
	for (size_t i = 0; i < NRAND; i++) {
		uint64_t ms;

		seed = seed * 1103515245u + 12345u;
		ms = (seed >> 16) % 60;
		rdeadline[i] = ev_now_ms() + ms;
		rid[i] = ev_timer_add(L, ms, rand_cb, (void *)(uintptr_t)i);
	}
	for (size_t i = 0; i < NRAND; i += 3) {
		rdeleted[i] = 1;
		ev_timer_del(L, rid[i]);
	}
	ev_timer_add(L, 200, rec_cb, (void *)(intptr_t)99);
	norder = 0;
	ev_run(L);
	for (size_t i = 0; i < NRAND; i++) {
		T_ASSERT(rfired[i] <= 1);
		T_ASSERT(!(rdeleted[i] && rfired[i]));
		if (!rdeleted[i])
			expect++;
	}
	T_EQ_INT(rfired_n, expect);
	T_EQ_INT(rbad_order, 0);
	ev_loop_free(&L);
}

/* Two readable pipes; whichever runs first deletes the other, closes it,
 * and re-registers a new pipe that gets the same fd number. */
static int sp_a[2], sp_b[2], sp_new[2], sp_iter, sp_swap_iter = -1;
static int sp_new_iter = -1, sp_first = -1, sp_fd_reused;

static void
stale_new_cb(int fd, unsigned events, void *arg)
{
	(void)arg;
	(void)events;
	if (sp_new_iter < 0)
		sp_new_iter = sp_iter;
	ev_fd_del(L, fd);
	ev_stop(L);
}

static void
stale_cb(int fd, unsigned events, void *arg)
{
	int other = (fd == sp_a[0]) ? sp_b[0] : sp_a[0];
	int *otherp = (fd == sp_a[0]) ? &sp_b[0] : &sp_a[0];

	(void)events;
	(void)arg;
	if (sp_first >= 0)
		return;
	sp_first = fd;
	ev_fd_del(L, other);
	close(other);
	if (pipe(sp_new) < 0)
		return;
	sp_fd_reused = sp_new[0] == other;
	*otherp = -1;
	if (write(sp_new[1], "y", 1) != 1)
		return;
	ev_fd_set(L, sp_new[0], EV_READ, stale_new_cb, NULL);
	ev_fd_del(L, fd); /* and itself */
	sp_swap_iter = sp_iter;
}

static void
count_iter(void *arg)
{
	(void)arg;
	sp_iter++;
}

static void
test_fd_stale_events(void)
{
	L = ev_loop_new();
	T_EQ_INT(pipe(sp_a), 0);
	T_EQ_INT(pipe(sp_b), 0);
	T_EQ_INT(write(sp_a[1], "a", 1), 1);
	T_EQ_INT(write(sp_b[1], "b", 1), 1);
	sp_iter = 0;
	ev_set_before_sleep(L, count_iter, NULL);
	T_EQ_INT(ev_fd_set(L, sp_a[0], EV_READ, stale_cb, NULL), 0);
	T_EQ_INT(ev_fd_set(L, sp_b[0], EV_READ, stale_cb, NULL), 0);
	ev_run(L);
	T_ASSERT(sp_fd_reused); /* else the test proves nothing */
	T_ASSERT(sp_swap_iter >= 1);
	/* The old fd's event fetched in the same round was dropped. */
	T_ASSERT(sp_new_iter > sp_swap_iter);
	for (int i = 0; i < 2; i++) {
		if (sp_a[i] >= 0)
			close(sp_a[i]);
		if (sp_b[i] >= 0)
			close(sp_b[i]);
		close(sp_new[i]);
	}
	ev_loop_free(&L);
}

static int wr_events, hook_calls;

static void
wr_cb(int fd, unsigned events, void *arg)
{
	(void)arg;
	if (events & EV_WRITE)
		wr_events++;
	if (wr_events == 3)
		ev_fd_mask(L, fd, 0); /* silence, still registered */
}

static void
hook_cb(void *arg)
{
	(void)arg;
	hook_calls++;
	ev_cap_sleep(L, 5);
	ev_cap_sleep(L, 1000); /* a larger cap does not undo the smaller */
	if (hook_calls == 20)
		ev_stop(L);
}

static void
test_hook_cap_mask(void)
{
	int p[2], fd;
	uint64_t t0;

	L = ev_loop_new();
	T_EQ_INT(pipe(p), 0);
	wr_events = hook_calls = 0;
	T_EQ_INT(ev_fd_set(L, p[1], EV_WRITE, wr_cb, NULL), 0);
	ev_set_before_sleep(L, hook_cb, NULL);
	t0 = ev_now_ms();
	T_EQ_INT(ev_run(L), 0);
	T_EQ_INT(hook_calls, 20);
	T_EQ_INT(wr_events, 3);
	T_ASSERT(ev_now_ms() - t0 < 1000);
	/* Re-enabling the mask delivers again. */
	T_EQ_INT(ev_fd_mask(L, p[1], EV_WRITE), 0);
	hook_calls = 0;
	ev_run(L);
	T_ASSERT(wr_events > 3);
	ev_fd_del(L, p[1]);
	ev_fd_del(L, p[1]); /* twice: no-op */
	T_EQ_INT(ev_fd_mask(L, p[1], EV_READ), -1);
	/* A regular file cannot be watched; a closed fd neither. */
	fd = open("/dev/null", O_RDONLY);
	T_ASSERT(fd >= 0);
	T_EQ_INT(ev_fd_set(L, fd, EV_READ, wr_cb, NULL), -1);
	T_EQ_INT(ev_fd_mask(L, fd, EV_READ), -1);
	close(p[0]);
	close(p[1]);
	T_EQ_INT(ev_fd_set(L, p[0], EV_READ, wr_cb, NULL), -1);
	T_EQ_INT(ev_fd_mask(L, p[0], EV_READ), -1);
	close(fd);
	ev_loop_free(&L);
}

static const struct test_case tests[] = {
        {"timer_order", test_timer_order},
        {"timer_delete_in_cb", test_timer_delete_in_cb},
        {"timer_no_starvation", test_timer_no_starvation},
        {"timer_many_random", test_timer_many_random},
        {"fd_stale_events", test_fd_stale_events},
        {"hook_cap_mask", test_hook_cap_mask},
        {NULL, NULL},
};

TEST_MAIN(tests)
