/*
 * bridge/dial.h: an outgoing TCP connection to "host:port" without blocking
 * the event loop: the name is resolved asynchronously (glibc getaddrinfo_a;
 * IP literals directly), then each address is tried in turn with a
 * non-blocking connect until one answers. The whole is bounded by a
 * timeout. Used by the POP3 client.
 */
#ifndef PB_DIAL_H
#define PB_DIAL_H

struct ev_loop;
struct dial;

/*
 * Called once: fd >= 0 is a connected, non-blocking, CLOEXEC socket the
 * callee now owns (error NULL); fd -1 with error a sentence ("cannot
 * resolve pop.example.net: Name or service not known", "cannot connect to
 * 192.0.2.1:995: connection refused", "no answer from pop.example.net:995
 * within 30 s"). addr is the numeric address connected to ("192.0.2.1").
 * The dial is freed after the callback returns.
 */
typedef void (*dial_cb)(int fd, const char *addr, const char *error,
			void *arg);

/* Starts; never calls cb synchronously. NULL only on OOM. */
struct dial *dial_start(struct ev_loop *loop, const char *host, unsigned port,
			unsigned timeout_secs, dial_cb cb, void *arg);
/* Cancels a dial in progress (cb is not called). Sets *d to NULL. */
void dial_cancel(struct dial **d);

#endif
