/*
 * bridge/conn.h: a buffered connection, plain or TLS, driven by the event
 * loop (OpenSMTPD ioev). Sessions never touch the socket: they read conn_in()
 * and write with conn_write(); events come to one callback.
 *
 * Events:
 *   CONN_EV_DATA      new bytes were appended to conn_in(c)
 *   CONN_EV_DRAINED   output fell below the low-water mark (after being above
 *                     it, or after conn_want_drained()): write more
 *   CONN_EV_TLS_READY the TLS handshake (implicit TLS or STARTTLS) finished
 *   CONN_EV_TIMEOUT   no input for the timeout set by conn_set_timeout
 *   CONN_EV_CLOSED    the peer closed (after any buffered input was given)
 *   CONN_EV_ERROR     I/O or TLS failure (conn_error() says what)
 * After CLOSED or ERROR the session must call conn_free() (later, from
 * outside the callback is fine too). The callback may call conn_free() on
 * its own conn; the conn layer notices and touches nothing afterwards.
 */
#ifndef PB_CONN_H
#define PB_CONN_H

#include <stddef.h>

#include "../common/buf.h"

struct ev_loop;
typedef struct ssl_ctx_st SSL_CTX;
struct conn;

enum conn_event {
	CONN_EV_DATA,
	CONN_EV_DRAINED,
	CONN_EV_TLS_READY,
	CONN_EV_TIMEOUT,
	CONN_EV_CLOSED,
	CONN_EV_ERROR,
};

typedef void (*conn_cb)(struct conn *c, enum conn_event ev, void *arg);

/*
 * Takes ownership of the connected fd. With tls non-NULL the TLS handshake
 * starts at once (implicit TLS) and CONN_EV_TLS_READY comes when done.
 * in_cap caps the input buffer (reading pauses while it is full).
 */
struct conn *conn_new(struct ev_loop *loop, int fd, SSL_CTX *tls,
		      size_t in_cap, conn_cb cb, void *arg);
/* Closes the socket at once (no flush) and frees. Sets *c to NULL. */
void conn_free(struct conn **c);

/* Input buffer: the session consumes with buf_consume(). */
struct buf *conn_in(struct conn *c);

/* Queues output (never fails short of OOM; the caller watches
 * conn_out_pending against the high-water mark). */
void conn_write(struct conn *c, const void *data, size_t len);
void conn_writes(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
size_t conn_out_pending(const struct conn *c);
/* Ask for a CONN_EV_DRAINED once output is below the low-water mark. */
void conn_want_drained(struct conn *c);

/* Stops / resumes reading from the socket (back pressure). */
void conn_pause_read(struct conn *c);
void conn_resume_read(struct conn *c);

/*
 * Starts TLS on a plain connection (STARTTLS). The input buffer must be
 * empty (else -1: bytes pipelined after STARTTLS are an attack) and output
 * already queued is flushed in plaintext first.
 */
int conn_starttls(struct conn *c, SSL_CTX *tls);

/*
 * Client side (the POP3 poller). conn_new_client takes a socket whose
 * non-blocking connect() may still be in progress: the conn waits for it
 * (CONN_EV_ERROR with conn_error() "connection refused", ... when it
 * fails). With tls (a tls_client.h context) the handshake follows, with
 * host as SNI and the name the certificate must match, and
 * CONN_EV_TLS_READY comes when done; a failed handshake is CONN_EV_ERROR
 * with conn_error() the sentence of tls_client_failure(). Without tls the
 * server's first bytes come as CONN_EV_DATA. The connect and handshake are
 * bounded by conn_set_timeout like any input wait.
 */
struct conn *conn_new_client(struct ev_loop *loop, int fd, SSL_CTX *tls,
			     const char *host, size_t in_cap, conn_cb cb,
			     void *arg);
/* STLS on a client conn: like conn_starttls, in connect state, checking
 * host. -1 when input is buffered (the server spoke out of turn). */
int conn_starttls_client(struct conn *c, SSL_CTX *tls, const char *host);
/* SHA-256 fingerprint of the peer certificate (tls_client.h); -1 without
 * TLS or a peer certificate. */
int conn_peer_fingerprint(struct conn *c, char hex[65]);
int conn_is_tls(const struct conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or NULL. */
const char *conn_tls_info(const struct conn *c);

/* Inactivity timeout in seconds (0 = none); restarts on every input. */
void conn_set_timeout(struct conn *c, unsigned secs);

/* Flushes queued output, then closes and reports CONN_EV_CLOSED. */
void conn_close_after_flush(struct conn *c);

/* Peer address "1.2.3.4" / "::1", and whether it is loopback. */
void conn_set_peer(struct conn *c, const char *addr, int is_loopback);
const char *conn_peer(const struct conn *c);
int conn_peer_is_loopback(const struct conn *c);
const char *conn_error(const struct conn *c);

/*
 * Behaviour details (conn.c), added by the network layer:
 * - No public call above calls back synchronously or touches the socket:
 *   work asked outside a callback runs from the loop right after (a 0 ms
 *   timer), work asked inside one runs when the callback returns.
 * - Reading also pauses by itself while conn_out_pending() is above
 *   IMAP_OUT_HIGH_WATER, until the DRAINED at IMAP_OUT_LOW_WATER.
 * - Reading pauses while conn_in() holds in_cap bytes. It resumes when a
 *   callback returns; a session that consumes input outside a callback
 *   (e.g. from its own timer) calls conn_resume_read() (or conn_write()).
 * - CLOSED after the peer's EOF comes once our queued output is sent (a
 *   half-closed client still gets its replies), or at once if a write
 *   then fails. ERROR is a reset or a TLS failure. After either, the conn
 *   is out of the loop and conn_write() is a no-op.
 * - conn_close_after_flush: reading stops at once; CLOSED once flushed, or
 *   after CONN_FLUSH_TIMEOUT_SECS (conn_error() "flush timed out").
 * - TIMEOUT repeats every timeout period while ignored. Any bytes from the
 *   peer restart it, TLS handshake records included.
 * - conn_is_tls() is 1 from conn_new(tls) / a successful conn_starttls()
 *   on; conn_tls_info() is non-NULL once the handshake is done.
 * - conn_error() is NULL when there was no error.
 * - conn_new() returns NULL (and closes fd) only when the fd cannot be
 *   added to the loop.
 * - Writes never raise SIGPIPE (MSG_NOSIGNAL, and the TLS BIO of tls.c).
 */

#endif
