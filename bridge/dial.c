/*
 * bridge/dial.c: outgoing TCP connections for the POP3 client (dial.h).
 *
 * Resolution: an IP literal is converted at once (AI_NUMERICHOST never
 * blocks). A name goes to glibc's getaddrinfo_a (GAI_NOWAIT), which
 * resolves on a helper thread of glibc's own; the loop polls gai_error()
 * on a short timer rather than taking a signal or a thread callback, so
 * everything of ours stays on the loop's thread. A request that cannot be
 * cancelled (the lookup is running) is parked on an orphan list and freed
 * once glibc is done with it, since glibc still writes into it.
 *
 * Connecting: each address in getaddrinfo's order, non-blocking; writable
 * means done, and SO_ERROR says how. The first success wins; when all fail
 * the last address's error is reported. One timer bounds the whole.
 */
#include "dial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"
#include "ev.h"

/* How often a pending name lookup is checked (ms), first and at most. */
#define DIAL_POLL_FIRST_MS 2
#define DIAL_POLL_MAX_MS 50

/* What glibc's resolver thread may write into: freed only when it is done. */
struct dial_req {
	struct gaicb cb;
	struct addrinfo hints;
	char service[8];
	char *name;
	struct dial_req *next; /* on the orphan list */
};

struct dial {
	struct ev_loop *loop;
	char *host;
	unsigned port;
	dial_cb cb;
	void *arg;
	struct dial_req *req;	/* a name lookup in progress */
	struct addrinfo *res;	/* the addresses (freeaddrinfo) */
	int res_from_req;	/* res belongs to req->cb.ar_result */
	struct addrinfo *cur;	/* the address being tried */
	int fd;
	uint64_t poll_timer;
	uint64_t poll_ms;
	uint64_t deadline_timer;
	unsigned timeout_secs;
	char addr[INET6_ADDRSTRLEN];
	char hostport[INET6_ADDRSTRLEN + 10];
	char err[512];
};

static struct dial_req *dial_orphans;

static void dial_req_free(struct dial_req *r);
static void dial_reap_orphans(void);
static void dial_finish(struct dial *d, int fd, const char *error);
static void dial_next(struct dial *d);
static void dial_poll_cb(void *arg);
static void dial_deadline_cb(void *arg);
static void dial_write_cb(int fd, unsigned events, void *arg);
static void dial_begin_cb(void *arg);
static void dial_strerror(int err, char *out, size_t len);
static const char *dial_hostport(struct dial *d);

static void
dial_req_free(struct dial_req *r)
{
	if (r == NULL)
		return;
	if (r->cb.ar_result != NULL)
		freeaddrinfo(r->cb.ar_result);
	free(r->name);
	free(r);
}

/* Frees the orphaned requests glibc has finished with. */
static void
dial_reap_orphans(void)
{
	struct dial_req **pp = &dial_orphans, *r;

	while ((r = *pp) != NULL) {
		if (gai_error(&r->cb) != EAI_INPROGRESS) {
			*pp = r->next;
			dial_req_free(r);
		} else {
			pp = &r->next;
		}
	}
}

/* "Connection refused" -> "connection refused". */
static void
dial_strerror(int err, char *out, size_t len)
{
	snprintf(out, len, "%s", strerror(err));
	if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
		out[0] = (char)(out[0] - 'A' + 'a');
}

/* "192.0.2.1:995" or "[2001:db8::1]:995" of the address being tried. */
static const char *
dial_hostport(struct dial *d)
{
	if (strchr(d->addr, ':') != NULL)
		snprintf(d->hostport, sizeof d->hostport, "[%s]:%u", d->addr,
		         d->port);
	else
		snprintf(d->hostport, sizeof d->hostport, "%s:%u", d->addr,
		         d->port);
	return d->hostport;
}

struct dial *
dial_start(struct ev_loop *loop, const char *host, unsigned port,
	   unsigned timeout_secs, dial_cb cb, void *arg)
{
	struct dial *d;
	struct addrinfo hints;
	char service[8];
	unsigned char tmp[sizeof(struct in6_addr)];
	int is_literal;

	dial_reap_orphans();
	d = xcalloc(1, sizeof *d);
	d->loop = loop;
	d->host = xstrdup(host);
	d->port = port;
	d->cb = cb;
	d->arg = arg;
	d->fd = -1;
	d->timeout_secs = timeout_secs;
	snprintf(service, sizeof service, "%u", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;

	is_literal = inet_pton(AF_INET, host, tmp) == 1 ||
	             inet_pton(AF_INET6, host, tmp) == 1;
	if (is_literal) {
		int r;

		hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
		r = getaddrinfo(host, service, &hints, &d->res);
		if (r != 0) {
			snprintf(d->err, sizeof d->err,
			         "cannot use address %s: %s", host,
			         gai_strerror(r));
			d->res = NULL;
		}
		d->poll_timer = ev_timer_add(loop, 0, dial_begin_cb, d);
	} else {
		struct dial_req *r = xcalloc(1, sizeof *r);
		struct gaicb *list[1];
		int rc;

		r->name = xstrdup(host);
		r->hints = hints;
		memcpy(r->service, service, sizeof r->service);
		r->cb.ar_name = r->name;
		r->cb.ar_service = r->service;
		r->cb.ar_request = &r->hints;
		list[0] = &r->cb;
		rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
		if (rc != 0) {
			snprintf(d->err, sizeof d->err,
			         "cannot resolve %s: %s", host,
			         gai_strerror(rc));
			dial_req_free(r);
			d->poll_timer = ev_timer_add(loop, 0, dial_begin_cb, d);
		} else {
			d->req = r;
			d->poll_ms = DIAL_POLL_FIRST_MS;
			d->poll_timer =
			        ev_timer_add(loop, d->poll_ms, dial_poll_cb, d);
		}
	}
	if (timeout_secs > 0)
		d->deadline_timer = ev_timer_add(loop, timeout_secs * 1000ull,
		                                 dial_deadline_cb, d);
	return d;
}

static void
dial_cleanup(struct dial *d)
{
	ev_timer_del(d->loop, d->poll_timer);
	ev_timer_del(d->loop, d->deadline_timer);
	d->poll_timer = d->deadline_timer = 0;
	if (d->fd >= 0) {
		ev_fd_del(d->loop, d->fd);
		close(d->fd);
		d->fd = -1;
	}
	if (d->req != NULL) {
		int r = gai_cancel(&d->req->cb);

		if (r == EAI_NOTCANCELED) {
			/* glibc still owns it: free it later. */
			d->req->next = dial_orphans;
			dial_orphans = d->req;
		} else {
			dial_req_free(d->req);
		}
		d->req = NULL;
	}
	if (d->res != NULL && !d->res_from_req)
		freeaddrinfo(d->res);
	d->res = NULL;
	free(d->host);
	free(d);
}

void
dial_cancel(struct dial **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	dial_cleanup(*dp);
	*dp = NULL;
}

/* Hands fd (or the error) to the caller and frees the dial. */
static void
dial_finish(struct dial *d, int fd, const char *error)
{
	dial_cb cb = d->cb;
	void *arg = d->arg;
	char addr[INET6_ADDRSTRLEN];
	char err[sizeof d->err];

	if (fd >= 0 && d->fd == fd) {
		ev_fd_del(d->loop, fd);
		d->fd = -1; /* the caller owns it now */
	}
	snprintf(addr, sizeof addr, "%s", d->addr);
	snprintf(err, sizeof err, "%s", error ? error : "");
	dial_cleanup(d);
	cb(fd, addr, fd >= 0 ? NULL : err, arg);
}

static void
dial_begin_cb(void *arg)
{
	struct dial *d = arg;

	d->poll_timer = 0;
	if (d->res == NULL) {
		dial_finish(d, -1, d->err[0] ? d->err : "no address");
		return;
	}
	d->cur = NULL;
	dial_next(d);
}

static void
dial_poll_cb(void *arg)
{
	struct dial *d = arg;
	int r;

	d->poll_timer = 0;
	r = gai_error(&d->req->cb);
	if (r == EAI_INPROGRESS) {
		if (d->poll_ms < DIAL_POLL_MAX_MS)
			d->poll_ms *= 2;
		if (d->poll_ms > DIAL_POLL_MAX_MS)
			d->poll_ms = DIAL_POLL_MAX_MS;
		d->poll_timer = ev_timer_add(d->loop, d->poll_ms, dial_poll_cb,
		                             d);
		return;
	}
	if (r != 0) {
		if (r == EAI_SYSTEM)
			snprintf(d->err, sizeof d->err, "cannot resolve %s: %s",
			         d->host, strerror(errno));
		else
			snprintf(d->err, sizeof d->err, "cannot resolve %s: %s",
			         d->host, gai_strerror(r));
		dial_finish(d, -1, d->err);
		return;
	}
	d->res = d->req->cb.ar_result;
	d->req->cb.ar_result = NULL;
	dial_req_free(d->req);
	d->req = NULL;
	d->cur = NULL;
	dial_next(d);
}

static void
dial_deadline_cb(void *arg)
{
	struct dial *d = arg;

	d->deadline_timer = 0;
	if (d->addr[0] != '\0')
		snprintf(d->err, sizeof d->err, "no answer from %s within %u s",
		         dial_hostport(d), d->timeout_secs);
	else
		snprintf(d->err, sizeof d->err,
		         "cannot resolve %s: no answer within %u s", d->host,
		         d->timeout_secs);
	dial_finish(d, -1, d->err);
}

/* Tries the address after d->cur; reports the last error when none is left. */
static void
dial_next(struct dial *d)
{
	for (;;) {
		struct addrinfo *ai = d->cur ? d->cur->ai_next : d->res;
		int fd, one = 1;
		const void *sa_addr;
		char why[128];

		d->cur = ai;
		if (ai == NULL) {
			dial_finish(d, -1, d->err[0] ? d->err : "no address");
			return;
		}
		if (ai->ai_family == AF_INET)
			sa_addr = &((const struct sockaddr_in *)(const void *)
			                    ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			sa_addr = &((const struct sockaddr_in6 *)(const void *)
			                    ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, sa_addr, d->addr,
		              sizeof d->addr) == NULL)
			snprintf(d->addr, sizeof d->addr, "?");
		fd = socket(ai->ai_family,
		            ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			dial_strerror(errno, why, sizeof why);
			snprintf(d->err, sizeof d->err,
			         "cannot connect to %s: %s", dial_hostport(d),
			         why);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		                 sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			d->fd = fd;
			dial_finish(d, fd, NULL);
			return;
		}
		if (errno == EINPROGRESS) {
			d->fd = fd;
			if (ev_fd_set(d->loop, fd, EV_WRITE, dial_write_cb, d) <
			    0) {
				d->fd = -1;
				close(fd);
				snprintf(d->err, sizeof d->err,
				         "cannot connect to %s: event loop full",
				         dial_hostport(d));
				continue;
			}
			return;
		}
		dial_strerror(errno, why, sizeof why);
		snprintf(d->err, sizeof d->err,
		         "cannot connect to %s: %s", dial_hostport(d), why);
		close(fd);
	}
}

static void
dial_write_cb(int fd, unsigned events, void *arg)
{
	struct dial *d = arg;
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	char why[128];

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == 0) {
		dial_finish(d, fd, NULL);
		return;
	}
	dial_strerror(soerr, why, sizeof why);
	snprintf(d->err, sizeof d->err, "cannot connect to %s: %s",
	         dial_hostport(d), why);
	ev_fd_del(d->loop, fd);
	close(fd);
	d->fd = -1;
	dial_next(d);
}
