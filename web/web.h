/*
 * web/web.h: the web admin (libmicrohttpd in the daemon's one event loop,
 * no thread of its own). The daemon binds the listening socket (bridge's
 * net_listen), hands it over, adds web_epoll_fd() to its loop, calls
 * web_run() when that fd is readable and once per loop round, and caps its
 * sleep with web_timeout_ms(). web/ never includes bridge/ headers: what
 * it needs from the daemon comes through struct web_hooks.
 */
#ifndef PB_WEB_H
#define PB_WEB_H

#include <stdint.h>

struct store;
struct web;

struct web_hooks {
	/* "poll now" of an account (NULL: every account); 0 or -1. */
	int (*poll_now)(const char *account, void *arg);
	/* IMAP connections open now. */
	unsigned (*imap_sessions)(void *arg);
	void *arg;
};

struct web_config {
	int listen_fd;	       /* bound, listening, non-blocking; web owns it */
	int tls;	       /* HTTPS with cert/key */
	const char *cert_path; /* PEM files (when tls) */
	const char *key_path;
	const char *data_dir;
	const char *imap_listen;     /* shown on the setup page */
	const char *imap_listen_tls;
};

/* NULL with *error_r (static or thread-local sentence) on failure; the
 * listening fd is closed then too. */
struct web *web_new(const struct web_config *cfg, struct store *st,
		    const struct web_hooks *hooks, const char **error_r);
void web_free(struct web **w);
int web_epoll_fd(struct web *w);
/* Does whatever libmicrohttpd has ready; never blocks. */
void web_run(struct web *w);
/* Milliseconds until web_run must run again, -1 for no limit. */
int64_t web_timeout_ms(struct web *w);

#endif
