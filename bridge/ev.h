/*
 * bridge/ev.h: the one event loop (epoll, single thread) that owns every fd
 * and timer of the daemon (Redis ae.c). Callbacks run from ev_run(); a
 * callback may remove any fd or timer, including its own.
 */
#ifndef PB_EV_H
#define PB_EV_H

#include <stdint.h>

#define EV_READ 0x1u
#define EV_WRITE 0x2u

struct ev_loop;
typedef void (*ev_fd_cb)(int fd, unsigned events, void *arg);
typedef void (*ev_timer_cb)(void *arg);
typedef void (*ev_hook_cb)(void *arg);

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop **loop);

/* Registers fd with interest mask; replaces an existing registration. */
int ev_fd_set(struct ev_loop *loop, int fd, unsigned mask, ev_fd_cb cb,
	      void *arg);
/* Changes only the interest mask of a registered fd. */
int ev_fd_mask(struct ev_loop *loop, int fd, unsigned mask);
void ev_fd_del(struct ev_loop *loop, int fd);

/* One-shot timer after ms milliseconds; returns an id > 0. */
uint64_t ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb,
		      void *arg);
/* Cancels a timer (no-op for 0 or a fired id). */
void ev_timer_del(struct ev_loop *loop, uint64_t id);

/* Called once per loop iteration before sleeping. */
void ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg);
/* Caps the next sleep (ms) e.g. for libmicrohttpd's timeout. */
void ev_cap_sleep(struct ev_loop *loop, uint64_t ms);

/* Runs until ev_stop(). Returns 0, or -1 when epoll fails. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);

/* Monotonic milliseconds. */
uint64_t ev_now_ms(void);

#endif
