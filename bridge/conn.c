/*
 * bridge/conn.c: buffered plain/TLS connections on the event loop (see
 * conn.h; OpenSMTPD ioev.c, Redis connection.c/tls.c). TLS per RFC 8446 /
 * RFC 5246 through OpenSSL; STARTTLS rules of RFC 3501 section 6.2.1 and
 * RFC 2595 (no plaintext may survive the handshake).
 *
 * One handler, conn_run(), does all the work of a connection: finish the
 * TLS handshake, read (then report DATA), write (then report DRAINED or the
 * end), and finally recompute the epoll interest. It runs on socket
 * readiness, on the conn's timers, and on a 0 ms "kick" timer that public
 * calls made outside a callback schedule: the session's calls never call
 * back synchronously and never touch the socket themselves.
 *
 * Callbacks may free the conn: conn_free() inside one only marks it and
 * releases the socket and TLS state; conn_run() frees the struct when the
 * callback depth returns to 0 and touches nothing else after a callback
 * that freed or ended the conn.
 *
 * TLS: OpenSSL talks to the socket through a tiny BIO of ours (tls.c
 * tls_ssl_new) that uses send(MSG_NOSIGNAL)/recv, so a write to a peer that has
 * gone away gives EPIPE, never SIGPIPE, whatever the process's signal setup
 * (plain writes use MSG_NOSIGNAL too). SSL_ERROR_WANT_READ/WANT_WRITE of a
 * write or a read become the opposite interest; decrypted bytes that OpenSSL
 * already holds (SSL_pending), which epoll cannot see, are read through the
 * kick timer (the idea of Redis tls.c updateSSLEvent/tlsProcessPendingData).
 *
 * Client conns (conn_new_client, the POP3 poller) start in CONNECTING: the
 * non-blocking connect() completes when the socket turns writable, and
 * SO_ERROR says how (curl lib/connect.c verifyconnect()). The TLS handshake
 * then runs in connect state through a tls_client.h SSL, and its failure
 * is told by tls_client_failure() (RFC 6125 names, RFC 2595 STLS).
 */
#include "conn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "ev.h"
#include "tls.h"
#include "tls_client.h"

/* Bytes read per socket/SSL read call (one TLS record at most). */
#define CONN_READ_CHUNK (16 * 1024)
/* Bytes read in one pass before the session sees them (fairness). */
#define CONN_READ_BUDGET (64 * 1024)
/* Empty buffers bigger than this give their memory back. */
#define CONN_KEEP_BUF 4096
/* Longest single SSL_write (partial writes are on anyway). */
#define CONN_SSL_WRITE_MAX (1024 * 1024)
/* Longest sentence of a failed client handshake (tls_client_failure). */
#define CONN_CLIENT_ERROR_MAX 1024

enum conn_state {
	CONN_ST_CONNECTING, /* client: connect() in progress */
	CONN_ST_PLAIN,
	CONN_ST_STARTTLS_FLUSH, /* sending plaintext queued before STARTTLS */
	CONN_ST_HANDSHAKE,
	CONN_ST_TLS,
	CONN_ST_DEAD, /* CLOSED or ERROR reported; waits for conn_free */
};

struct conn {
	struct ev_loop *loop;
	int fd;
	SSL *ssl;
	enum conn_state state;
	conn_cb cb;
	void *arg;

	struct buf in;
	struct buf out;
	size_t out_off; /* bytes of out already sent */

	unsigned depth;       /* callbacks/handlers on the stack */
	unsigned mask;        /* interest last given to the loop */
	unsigned hs_want;     /* EV_READ/EV_WRITE the handshake waits for */
	unsigned freed : 1;   /* conn_free called, struct still in use */
	unsigned eof : 1;     /* peer closed its side */
	unsigned closing : 1; /* conn_close_after_flush */
	unsigned paused : 1;  /* conn_pause_read */
	unsigned above_high : 1;
	unsigned want_drained : 1;
	unsigned wblocked : 1;    /* last write would block */
	unsigned rd_wants_wr : 1; /* SSL_read needs writability */
	unsigned wr_wants_rd : 1; /* SSL_write needs readability */
	unsigned ssl_fatal : 1;   /* no SSL_shutdown after this */
	unsigned timed_out : 1;   /* inactivity timer fired */
	unsigned flush_expired : 1;
	unsigned peer_loopback : 1;
	unsigned tls_client : 1; /* ssl is a tls_client.h SSL */

	unsigned timeout_ms;
	uint64_t last_in_ms;
	uint64_t rx_seen; /* sock.rx when last_in_ms was set */
	uint64_t timeout_timer;
	uint64_t close_timer;
	uint64_t kick_timer;
	struct tls_sock sock; /* what the TLS BIO sees of the socket */

	const char *error;
	const char *start_error; /* client: reported once the loop runs */
	char *host;         /* client: the name the certificate must match */
	char *client_error; /* client: a failed handshake's sentence */
	char errbuf[128];
	char peer[48];
	char tls_info[64];
};

/* Shared read buffer: the loop is single-threaded. */
static char conn_rbuf[CONN_READ_CHUNK];

static void conn_io_cb(int fd, unsigned events, void *arg);
static void conn_kick_cb(void *arg);
static void conn_timeout_cb(void *arg);
static void conn_close_timer_cb(void *arg);
static void conn_run(struct conn *c, unsigned ready);
static void conn_work(struct conn *c, unsigned ready);
static int conn_emit(struct conn *c, enum conn_event ev);
static int conn_end(struct conn *c, enum conn_event ev, const char *why);
static void conn_touch(struct conn *c);
static void conn_update_io(struct conn *c);
static int conn_can_read(const struct conn *c);
static int conn_handshake(struct conn *c);
static int conn_read(struct conn *c);
static int conn_flush(struct conn *c, unsigned ready);
static int conn_write_some(struct conn *c);
static const char *conn_ssl_reason(struct conn *c, int err, const char *what);
static void conn_cancel_timers(struct conn *c);
static struct conn *conn_alloc(struct ev_loop *loop, int fd, size_t in_cap,
                               conn_cb cb, void *arg);
static struct conn *conn_watch(struct conn *c);
static int conn_connect_done(struct conn *c, unsigned ready);
static const char *conn_errno_text(struct conn *c, int err);
static int conn_out_begin(struct conn *c);
static void conn_out_end(struct conn *c);

/* ---- life cycle ---- */

static struct conn *
conn_alloc(struct ev_loop *loop, int fd, size_t in_cap, conn_cb cb, void *arg)
{
	struct conn *c = xcalloc(1, sizeof *c);

	c->loop = loop;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	buf_init(&c->in, in_cap);
	buf_init(&c->out, 0);
	c->last_in_ms = ev_now_ms();
	c->sock.fd = fd;
	return c;
}

/* Adds c to the loop with c->mask; NULL (fd closed, c freed) on failure. */
static struct conn *
conn_watch(struct conn *c)
{
	if (ev_fd_set(c->loop, c->fd, c->mask, conn_io_cb, c) < 0) {
		log_warn("conn: cannot watch fd %d", c->fd);
		if (c->ssl)
			SSL_free(c->ssl);
		close(c->fd);
		free(c->host);
		free(c);
		return NULL;
	}
	return c;
}

struct conn *
conn_new(struct ev_loop *loop, int fd, SSL_CTX *tls, size_t in_cap, conn_cb cb,
         void *arg)
{
	struct conn *c = conn_alloc(loop, fd, in_cap, cb, arg);

	if (tls != NULL) {
		c->ssl = tls_ssl_new(tls, &c->sock);
		if (c->ssl == NULL)
			fatalx("conn: SSL_new failed (out of memory?)");
		c->state = CONN_ST_HANDSHAKE;
		c->hs_want = EV_READ;
		c->mask = EV_READ;
	} else {
		c->state = CONN_ST_PLAIN;
		c->mask = EV_READ;
	}
	return conn_watch(c);
}

struct conn *
conn_new_client(struct ev_loop *loop, int fd, SSL_CTX *tls, const char *host,
                size_t in_cap, conn_cb cb, void *arg)
{
	struct conn *c = conn_alloc(loop, fd, in_cap, cb, arg);
	int fl = fcntl(fd, F_GETFL);

	/* The caller's connect() was non-blocking; make sure of it. */
	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->state = CONN_ST_CONNECTING;
	c->mask = EV_WRITE;
	if (host != NULL && host[0] != '\0')
		c->host = xstrdup(host);
	if (tls != NULL && c->host == NULL) {
		/* Never TLS without a name to check the certificate. */
		c->start_error = "no host name to check the server "
		                 "certificate against";
	} else if (tls != NULL) {
		c->ssl = tls_client_ssl_new(tls, &c->sock, c->host);
		if (c->ssl == NULL)
			c->start_error = "cannot set up TLS for this host name";
		else
			c->tls_client = 1;
	}
	if (conn_watch(c) == NULL)
		return NULL;
	if (c->start_error != NULL)
		conn_touch(c);
	return c;
}

static void
conn_cancel_timers(struct conn *c)
{
	ev_timer_del(c->loop, c->timeout_timer);
	ev_timer_del(c->loop, c->close_timer);
	ev_timer_del(c->loop, c->kick_timer);
	c->timeout_timer = c->close_timer = c->kick_timer = 0;
}

void
conn_free(struct conn **cp)
{
	struct conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	if (c->freed)
		return;
	c->freed = 1;
	conn_cancel_timers(c);
	if (c->fd >= 0) {
		ev_fd_del(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	buf_clear(&c->in);
	buf_clear(&c->out);
	c->out_off = 0;
	free(c->host);
	c->host = NULL;
	free(c->client_error);
	c->client_error = NULL;
	c->error = NULL;
	/* Inside a callback, conn_run() frees the struct on the way out. */
	if (c->depth == 0)
		free(c);
}

/* ---- the handler ---- */

static void
conn_io_cb(int fd, unsigned events, void *arg)
{
	(void)fd;
	conn_run(arg, events);
}

static void
conn_kick_cb(void *arg)
{
	struct conn *c = arg;

	c->kick_timer = 0;
	conn_run(c, 0);
}

static void
conn_timeout_cb(void *arg)
{
	struct conn *c = arg;
	uint64_t now = ev_now_ms(), due = c->last_in_ms + c->timeout_ms;

	c->timeout_timer = 0;
	if (now < due) {
		/* Input came since the timer was armed: sleep the rest. */
		c->timeout_timer =
		        ev_timer_add(c->loop, due - now, conn_timeout_cb, c);
		return;
	}
	/* Fires again after another silent period if ignored. */
	c->timeout_timer =
	        ev_timer_add(c->loop, c->timeout_ms, conn_timeout_cb, c);
	c->timed_out = 1;
	conn_run(c, 0);
}

static void
conn_close_timer_cb(void *arg)
{
	struct conn *c = arg;

	c->close_timer = 0;
	c->flush_expired = 1;
	conn_run(c, 0);
}

static void
conn_run(struct conn *c, unsigned ready)
{
	c->depth++;
	conn_work(c, ready);
	c->depth--;
	if (c->sock.rx != c->rx_seen) {
		/* Any bytes from the peer (TLS records too) restart the
		 * inactivity timeout. */
		c->rx_seen = c->sock.rx;
		c->last_in_ms = ev_now_ms();
	}
	if (c->freed) {
		if (c->depth == 0)
			free(c);
		return;
	}
	if (c->depth == 0)
		conn_update_io(c);
}

static void
conn_work(struct conn *c, unsigned ready)
{
	if (c->state == CONN_ST_DEAD)
		return;
	if (c->flush_expired) {
		c->flush_expired = 0;
		conn_end(c, CONN_EV_CLOSED, "flush timed out");
		return;
	}
	if (c->timed_out) {
		c->timed_out = 0;
		if (conn_emit(c, CONN_EV_TIMEOUT) < 0)
			return;
	}
	if (c->state == CONN_ST_CONNECTING) {
		if (c->closing) {
			conn_end(c, CONN_EV_CLOSED, NULL);
			return;
		}
		if (conn_connect_done(c, ready) <= 0)
			return;
	}
	if (c->state == CONN_ST_HANDSHAKE) {
		if (c->closing) {
			conn_end(c, CONN_EV_CLOSED, NULL);
			return;
		}
		if (conn_handshake(c) <= 0)
			return;
		/* The client may have sent data right after Finished. */
		ready |= EV_READ;
	}
	if (conn_can_read(c) &&
	    ((ready & EV_READ) ||
	     (c->ssl && c->rd_wants_wr && (ready & EV_WRITE)) ||
	     (c->ssl && SSL_pending(c->ssl) > 0))) {
		if (conn_read(c) < 0)
			return;
	}
	(void)conn_flush(c, ready);
}

/* Calls the session; -1 when the conn is now freed or dead. */
static int
conn_emit(struct conn *c, enum conn_event ev)
{
	c->depth++;
	c->cb(c, ev, c->arg);
	c->depth--;
	return c->freed || c->state == CONN_ST_DEAD ? -1 : 0;
}

/* Reports CLOSED or ERROR once: stops all I/O first. Always -1. */
static int
conn_end(struct conn *c, enum conn_event ev, const char *why)
{
	if (why != NULL && c->error == NULL)
		c->error = why;
	c->state = CONN_ST_DEAD;
	conn_cancel_timers(c);
	ev_fd_del(c->loop, c->fd);
	c->mask = 0;
	(void)conn_emit(c, ev);
	return -1;
}

/* Schedules conn_run() for work asked by a call outside a callback. */
static void
conn_touch(struct conn *c)
{
	if (c->depth > 0 || c->freed || c->state == CONN_ST_DEAD ||
	    c->kick_timer != 0)
		return;
	c->kick_timer = ev_timer_add(c->loop, 0, conn_kick_cb, c);
}

static int
conn_can_read(const struct conn *c)
{
	return (c->state == CONN_ST_PLAIN || c->state == CONN_ST_TLS) &&
	       !c->paused && !c->above_high && !c->closing && !c->eof &&
	       c->in.len < c->in.cap;
}

static void
conn_update_io(struct conn *c)
{
	unsigned mask = 0;
	int rd = conn_can_read(c);
	size_t pending = c->out.len - c->out_off;

	switch (c->state) {
	case CONN_ST_CONNECTING:
		mask = EV_WRITE;
		break;
	case CONN_ST_HANDSHAKE:
		mask = c->hs_want;
		break;
	case CONN_ST_STARTTLS_FLUSH:
		mask = pending ? EV_WRITE : 0;
		break;
	case CONN_ST_PLAIN:
	case CONN_ST_TLS:
		if (rd)
			mask |= c->rd_wants_wr ? EV_WRITE : EV_READ;
		if (pending)
			mask |= c->wr_wants_rd ? EV_READ : EV_WRITE;
		break;
	case CONN_ST_DEAD:
		return;
	}
	if (mask != c->mask) {
		if (ev_fd_mask(c->loop, c->fd, mask) < 0)
			log_warn("conn: cannot change interest of fd %d",
			         c->fd);
		c->mask = mask;
	}
	/* Decrypted bytes epoll cannot see: come back for them. */
	if (rd && c->ssl && c->state == CONN_ST_TLS && SSL_pending(c->ssl) > 0)
		conn_touch(c);
}

/* Text for a failed SSL call (kept in errbuf). */
static const char *
conn_ssl_reason(struct conn *c, int err, const char *what)
{
	unsigned long e = ERR_peek_error();
	char reason[96];

	if (err == SSL_ERROR_SSL && e != 0)
		ERR_error_string_n(e, reason, sizeof reason);
	else if (err == SSL_ERROR_SYSCALL && c->sock.err != 0)
		snprintf(reason, sizeof reason, "%s", strerror(c->sock.err));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		snprintf(reason, sizeof reason, "connection closed by peer");
	else
		snprintf(reason, sizeof reason, "SSL error %d", err);
	ERR_clear_error();
	snprintf(c->errbuf, sizeof c->errbuf, "%s: %s", what, reason);
	return c->errbuf;
}

/* "connection refused": strerror(err) in lower case, in errbuf. */
static const char *
conn_errno_text(struct conn *c, int err)
{
	snprintf(c->errbuf, sizeof c->errbuf, "%s", strerror(err));
	c->errbuf[0] = (char)tolower((unsigned char)c->errbuf[0]);
	return c->errbuf;
}

/*
 * Client: whether the non-blocking connect() finished. 1 connected (state
 * now HANDSHAKE or PLAIN), 0 still in progress, -1 ended (ERROR reported).
 */
static int
conn_connect_done(struct conn *c, unsigned ready)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	socklen_t elen;
	int err = 0;

	if (c->start_error != NULL)
		return conn_end(c, CONN_EV_ERROR, c->start_error);
	if (!(ready & (EV_READ | EV_WRITE)))
		return 0;
	elen = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == 0 && getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0) {
		if (errno == ENOTCONN)
			return 0; /* a spurious wakeup: keep waiting */
		err = errno;
	}
	if (err != 0)
		return conn_end(c, CONN_EV_ERROR, conn_errno_text(c, err));
	if (c->ssl != NULL) {
		/* The client speaks first: ClientHello. */
		c->state = CONN_ST_HANDSHAKE;
		c->hs_want = EV_WRITE;
	} else {
		c->state = CONN_ST_PLAIN;
	}
	return 1;
}

/* 1 done (TLS_READY reported, conn alive), 0 in progress, -1 ended. */
static int
conn_handshake(struct conn *c)
{
	int r, err;

	ERR_clear_error();
	c->sock.err = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		const SSL_CIPHER *ciph = SSL_get_current_cipher(c->ssl);

		c->state = CONN_ST_TLS;
		c->hs_want = 0;
		/* Nothing read before the handshake survives it. */
		buf_reset(&c->in);
		snprintf(c->tls_info, sizeof c->tls_info, "%s %s",
		         SSL_get_version(c->ssl),
		         ciph ? SSL_CIPHER_get_name(ciph) : "?");
		return conn_emit(c, CONN_EV_TLS_READY) < 0 ? -1 : 1;
	}
	err = SSL_get_error(c->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->hs_want = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->hs_want = EV_WRITE;
		return 0;
	default:
		c->ssl_fatal = 1;
		if (c->tls_client) {
			char why[CONN_CLIENT_ERROR_MAX];

			(void)tls_client_failure(c->ssl, c->host, why,
			                         sizeof why);
			ERR_clear_error();
			free(c->client_error);
			c->client_error = xstrdup(why);
			return conn_end(c, CONN_EV_ERROR, c->client_error);
		}
		return conn_end(c, CONN_EV_ERROR,
		                conn_ssl_reason(c, err, "TLS handshake"));
	}
}

/* Reads what is there (within budget and in_cap) and reports DATA.
 * 0 to go on, -1 when the conn ended or was freed. */
static int
conn_read(struct conn *c)
{
	size_t total = 0;
	const char *fail = NULL;
	int eof = 0;

	while (total < CONN_READ_BUDGET) {
		size_t room = c->in.cap - c->in.len, want;
		ssize_t n;

		if (room == 0)
			break;
		want = room < sizeof conn_rbuf ? room : sizeof conn_rbuf;
		if (c->ssl) {
			int r, err;

			ERR_clear_error();
			c->sock.err = 0;
			r = SSL_read(c->ssl, conn_rbuf, (int)want);
			if (r <= 0) {
				err = SSL_get_error(c->ssl, r);
				c->rd_wants_wr = err == SSL_ERROR_WANT_WRITE;
				if (err == SSL_ERROR_WANT_READ ||
				    err == SSL_ERROR_WANT_WRITE)
					break;
				c->ssl_fatal = err != SSL_ERROR_ZERO_RETURN;
				if (err == SSL_ERROR_ZERO_RETURN ||
				    (err == SSL_ERROR_SYSCALL &&
				     c->sock.err == 0)) {
					ERR_clear_error();
					eof = 1;
				} else {
					fail = conn_ssl_reason(c, err,
					                       "TLS read");
				}
				break;
			}
			c->rd_wants_wr = 0;
			n = r;
		} else {
			n = recv(c->fd, conn_rbuf, want, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					snprintf(c->errbuf, sizeof c->errbuf,
					         "read: %s", strerror(errno));
					fail = c->errbuf;
				}
				break;
			}
			if (n == 0) {
				eof = 1;
				break;
			}
			c->sock.rx += (uint64_t)n;
		}
		/* Cannot fail: want <= room below the cap. */
		(void)buf_add(&c->in, conn_rbuf, (size_t)n);
		total += (size_t)n;
		if (!c->ssl && (size_t)n < want)
			break; /* socket drained: spare an EAGAIN round */
	}
	if (total > 0) {
		/*
		 * ACK at once: a client whose Nagle holds back the CRLF after
		 * an APPEND literal until our delayed ACK (40 ms) would
		 * otherwise stall every APPEND. Linux clears the flag after
		 * each read, hence here; it fails harmlessly on non-TCP fds.
		 */
		int one = 1;
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		                 sizeof one);
		if (conn_emit(c, CONN_EV_DATA) < 0)
			return -1;
		if (c->in.len == 0 && c->in.size > CONN_KEEP_BUF)
			buf_clear(&c->in);
	}
	if (fail != NULL)
		return conn_end(c, CONN_EV_ERROR, fail);
	if (eof)
		c->eof = 1; /* CLOSED once our output is out (conn_flush) */
	return 0;
}

/*
 * Writes queued output, then handles what follows an empty queue: the
 * STARTTLS handshake, the close after flush, the peer's EOF, DRAINED.
 * 0, or -1 when the conn ended or was freed.
 */
static int
conn_flush(struct conn *c, unsigned ready)
{
	int rounds;

	for (rounds = 0; rounds < 8; rounds++) {
		size_t pending = c->out.len - c->out_off;

		if (c->state == CONN_ST_DEAD || c->state == CONN_ST_HANDSHAKE ||
		    c->state == CONN_ST_CONNECTING)
			return 0;
		if (pending > 0 && (!c->wblocked || (ready & EV_WRITE) ||
		                    (c->wr_wants_rd && (ready & EV_READ)))) {
			if (conn_write_some(c) < 0)
				return -1;
			pending = c->out.len - c->out_off;
		}
		if (pending == 0) {
			if (c->state == CONN_ST_STARTTLS_FLUSH) {
				if (c->closing)
					return conn_end(c, CONN_EV_CLOSED,
					                NULL);
				c->state = CONN_ST_HANDSHAKE;
				c->hs_want = EV_READ;
				return conn_handshake(c) < 0 ? -1 : 0;
			}
			if (c->closing) {
				if (c->state == CONN_ST_TLS && !c->ssl_fatal) {
					ERR_clear_error();
					(void)SSL_shutdown(c->ssl);
					ERR_clear_error();
				}
				(void)shutdown(c->fd, SHUT_WR);
				return conn_end(c, CONN_EV_CLOSED, NULL);
			}
			if (c->eof)
				return conn_end(c, CONN_EV_CLOSED, NULL);
		}
		if (!(c->above_high || c->want_drained) ||
		    pending > IMAP_OUT_LOW_WATER || c->closing ||
		    c->state == CONN_ST_STARTTLS_FLUSH)
			return 0;
		c->above_high = 0;
		c->want_drained = 0;
		if (conn_emit(c, CONN_EV_DRAINED) < 0)
			return -1;
		/* The session queued more: try to send it at once. */
		if (c->wblocked)
			return 0;
	}
	return 0;
}

/* Sends until the queue is empty or the socket would block. */
static int
conn_write_some(struct conn *c)
{
	while (c->out_off < c->out.len) {
		const char *p = c->out.data + c->out_off;
		size_t n = c->out.len - c->out_off;
		ssize_t w;

		/* In CONN_ST_STARTTLS_FLUSH the SSL exists but the queue
		 * still goes out in plaintext. */
		if (c->state == CONN_ST_TLS) {
			int r, err;

			if (n > CONN_SSL_WRITE_MAX)
				n = CONN_SSL_WRITE_MAX;
			ERR_clear_error();
			c->sock.err = 0;
			r = SSL_write(c->ssl, p, (int)n);
			if (r <= 0) {
				err = SSL_get_error(c->ssl, r);
				if (err == SSL_ERROR_WANT_WRITE ||
				    err == SSL_ERROR_WANT_READ) {
					c->wblocked = 1;
					c->wr_wants_rd =
					        err == SSL_ERROR_WANT_READ;
					return 0;
				}
				c->ssl_fatal = 1;
				return conn_end(
				        c,
				        c->eof ? CONN_EV_CLOSED : CONN_EV_ERROR,
				        conn_ssl_reason(c, err, "TLS write"));
			}
			w = r;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					c->wblocked = 1;
					return 0;
				}
				snprintf(c->errbuf, sizeof c->errbuf,
				         "write: %s", strerror(errno));
				return conn_end(c,
				                c->eof ? CONN_EV_CLOSED
				                       : CONN_EV_ERROR,
				                c->errbuf);
			}
		}
		c->out_off += (size_t)w;
		c->wblocked = 0;
		c->wr_wants_rd = 0;
	}
	c->out_off = 0;
	if (c->out.size > CONN_KEEP_BUF)
		buf_clear(&c->out);
	else
		buf_reset(&c->out);
	return 0;
}

/* ---- the session's side ---- */

struct buf *
conn_in(struct conn *c)
{
	return &c->in;
}

/* Makes room at the end of the queue: 0, or -1 if nothing may be queued. */
static int
conn_out_begin(struct conn *c)
{
	if (c == NULL || c->freed || c->state == CONN_ST_DEAD)
		return -1;
	/* Drop what was sent once it is at least half the buffer. */
	if (c->out_off > 0 && c->out_off >= c->out.len / 2) {
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
	return 0;
}

static void
conn_out_end(struct conn *c)
{
	if (c->out.len - c->out_off > IMAP_OUT_HIGH_WATER)
		c->above_high = 1;
	conn_touch(c);
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (len == 0 || conn_out_begin(c) < 0)
		return;
	if (buf_add(&c->out, data, len) < 0)
		fatalx("conn: output queue overflow");
	conn_out_end(c);
}

void
conn_writes(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (conn_out_begin(c) < 0)
		return;
	va_start(ap, fmt);
	/* The queue has no cap: fails only on a bad format (adds nothing). */
	(void)buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	conn_out_end(c);
}

size_t
conn_out_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

void
conn_want_drained(struct conn *c)
{
	if (c->freed || c->state == CONN_ST_DEAD)
		return;
	c->want_drained = 1;
	conn_touch(c);
}

void
conn_pause_read(struct conn *c)
{
	c->paused = 1;
	conn_touch(c);
}

void
conn_resume_read(struct conn *c)
{
	c->paused = 0;
	conn_touch(c);
}

int
conn_starttls(struct conn *c, SSL_CTX *tls)
{
	if (c == NULL || tls == NULL || c->freed || c->state != CONN_ST_PLAIN ||
	    c->ssl != NULL)
		return -1;
	/* Bytes pipelined after STARTTLS would be run as if they came
	 * over TLS: refuse (RFC 3501 6.2.1, RFC 2595 3.1). */
	if (c->in.len > 0)
		return -1;
	c->ssl = tls_ssl_new(tls, &c->sock);
	if (c->ssl == NULL)
		return -1;
	c->hs_want = EV_READ;
	c->rd_wants_wr = c->wr_wants_rd = 0;
	c->state = c->out.len > c->out_off ? CONN_ST_STARTTLS_FLUSH
	                                   : CONN_ST_HANDSHAKE;
	conn_touch(c);
	return 0;
}

int
conn_starttls_client(struct conn *c, SSL_CTX *tls, const char *host)
{
	SSL *ssl;

	if (c == NULL || tls == NULL || host == NULL || host[0] == '\0' ||
	    c->freed || c->state != CONN_ST_PLAIN || c->ssl != NULL)
		return -1;
	/* The server spoke out of turn: what it sent after its STLS reply
	 * would be taken as if it came over TLS (RFC 2595 section 4). */
	if (c->in.len > 0)
		return -1;
	ssl = tls_client_ssl_new(tls, &c->sock, host);
	if (ssl == NULL)
		return -1;
	if (c->host == NULL || strcmp(c->host, host) != 0) {
		free(c->host);
		c->host = xstrdup(host);
	}
	c->ssl = ssl;
	c->tls_client = 1;
	/* The client speaks first: ClientHello. */
	c->hs_want = EV_WRITE;
	c->rd_wants_wr = c->wr_wants_rd = 0;
	c->state = c->out.len > c->out_off ? CONN_ST_STARTTLS_FLUSH
	                                   : CONN_ST_HANDSHAKE;
	conn_touch(c);
	return 0;
}

int
conn_peer_fingerprint(struct conn *c, char hex[65])
{
	hex[0] = '\0';
	if (c == NULL || c->ssl == NULL || c->tls_info[0] == '\0')
		return -1;
	return tls_client_peer_fingerprint(c->ssl, hex);
}

int
conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

const char *
conn_tls_info(const struct conn *c)
{
	return c->ssl != NULL && c->tls_info[0] != '\0' ? c->tls_info : NULL;
}

void
conn_set_timeout(struct conn *c, unsigned secs)
{
	if (c->freed || c->state == CONN_ST_DEAD)
		return;
	ev_timer_del(c->loop, c->timeout_timer);
	c->timeout_timer = 0;
	c->timeout_ms = secs > UINT32_MAX / 1000 ? UINT32_MAX : secs * 1000;
	c->last_in_ms = ev_now_ms();
	if (secs > 0)
		c->timeout_timer = ev_timer_add(c->loop, c->timeout_ms,
		                                conn_timeout_cb, c);
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->freed || c->state == CONN_ST_DEAD || c->closing)
		return;
	c->closing = 1;
	c->close_timer =
	        ev_timer_add(c->loop, (uint64_t)CONN_FLUSH_TIMEOUT_SECS * 1000,
	                     conn_close_timer_cb, c);
	conn_touch(c);
}

void
conn_set_peer(struct conn *c, const char *addr, int is_loopback)
{
	size_t n = addr ? strlen(addr) : 0;

	if (n >= sizeof c->peer)
		n = sizeof c->peer - 1;
	if (n)
		memcpy(c->peer, addr, n);
	c->peer[n] = '\0';
	c->peer_loopback = is_loopback != 0;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer[0] ? c->peer : "unknown";
}

int
conn_peer_is_loopback(const struct conn *c)
{
	return c->peer_loopback;
}

const char *
conn_error(const struct conn *c)
{
	return c->error;
}
