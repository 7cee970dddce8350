/*
 * bridge/pop3_client.c: one POP3 session of the poller (pop3_client.h).
 * RFC 1939 (POP3: USER/PASS, APOP, UIDL, LIST, TOP, RETR, DELE, QUIT),
 * RFC 2449 (CAPA, PIPELINING, RESP-CODES), RFC 2595 (STLS), RFC 5034
 * (SASL PLAIN with an initial response), RFC 8314 (implicit TLS).
 *
 * An explicit state machine with one handler per state's reply and one
 * dispatching switch (curl lib/pop3.c pop3_statemachine). Until login the
 * exchange is strictly one command, one reply. After it, commands go
 * through a queue: at most POP3_PIPELINE_DEPTH in flight when the server
 * offers PIPELINING, else one, and replies are matched to commands in
 * order (RFC 2449 section 6.6).
 *
 * Login: over TLS, SASL PLAIN when CAPA offers it, else APOP when the
 * greeting has a timestamp, else USER/PASS. Over plaintext (only for an
 * account added with --tls none --allow-plaintext) APOP comes first, as it
 * does not send the password itself. Nothing is sent with a credential
 * before TLS is up in the implicit and STARTTLS modes.
 *
 * The fence: a RETR'd message is handed to the caller only once the next
 * reply's status line has arrived and parsed. If a server fails to
 * dot-stuff a "." line, the message seems to end there and the rest of it
 * arrives where that status line should be: garbage, so the session fails
 * and the cut-short message is never stored. The last RETR is followed by
 * a NOOP for this.
 *
 * Servers without UIDL: each message gets the key "sha256:<hex>" of its
 * header (TOP n 0), which stays the same across sessions.
 */
#include "pop3_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/xalloc.h"
#include "conn.h"
#include "dial.h"
#include "ev.h"
#include "pop3_body.h"
#include "pop3_reply.h"

/* Bytes of input a session buffers (a line is at most POP3_MAX_LINE). */
#define POP3C_IN_CAP (POP3_MAX_LINE + 192 * 1024)
/* A TOP n 0 header kept for the digest of a server without UIDL. */
#define POP3C_HEADER_MAX (1024 * 1024)

enum pop3c_state {
	POP3C_ST_DIAL,
	POP3C_ST_HANDSHAKE, /* implicit TLS */
	POP3C_ST_GREETING,
	POP3C_ST_CAPA,
	POP3C_ST_STLS,
	POP3C_ST_STLS_HANDSHAKE,
	POP3C_ST_AUTH_PLAIN,
	POP3C_ST_AUTH_CANCEL,
	POP3C_ST_APOP,
	POP3C_ST_USER,
	POP3C_ST_PASS,
	POP3C_ST_TRANS, /* the command queue */
	POP3C_ST_DONE,
};

enum pop3c_cmd_kind {
	POP3C_CMD_UIDL,
	POP3C_CMD_LIST,
	POP3C_CMD_TOP0,
	POP3C_CMD_RETR,
	POP3C_CMD_DELE,
	POP3C_CMD_NOOP,
	POP3C_CMD_QUIT,
};

struct pop3c_cmd {
	enum pop3c_cmd_kind kind;
	uint32_t idx; /* index into msgs (TOP0, RETR, DELE) */
};

/* What the reply being read is at: its status line, or its lines/body. */
enum pop3c_read {
	POP3C_RD_STATUS,
	POP3C_RD_LINES, /* multi-line listing (CAPA, UIDL, LIST) */
	POP3C_RD_BODY,	/* RETR / TOP body through pop3_body */
};

struct pop3_client {
	struct ev_loop *loop;
	struct pop3_client_hooks hooks;
	void *arg;
	/* cfg, copied */
	char *host;
	unsigned port;
	enum pop3_tls_mode tls;
	SSL_CTX *tls_ctx;
	char *user;
	char *password;
	uint64_t max_size;
	unsigned timeout_secs;
	int list_only;

	struct dial *dial;
	struct conn *conn;
	enum pop3c_state state;
	enum pop3c_read rd;
	int capa_done; /* CAPA answered (even -ERR) in this TLS state */
	int capa_after_tls;
	struct pop3_caps caps;
	char *apop_stamp;
	const char *auth_used;

	/* the maildrop */
	struct pop3_msg *msgs;
	size_t nmsgs;
	uint64_t total_size;
	size_t msgs_cap;
	int have_list, have_uidl, uidl_failed;
	uint32_t tops_left;
	int listed; /* the listing hook ran and its commands are queued */
	int list_truncated; /* LIST had more than POP3_MAX_MESSAGES */

	/* the command queue: q[qhead..qlen) not yet sent, flight FIFO sent */
	struct pop3c_cmd *q;
	size_t qlen, qhead, qcap;
	struct pop3c_cmd *flight;
	size_t fhead, flen, fcap; /* ring buffer */
	int quit_sent;

	/* the body being read, and the message waiting for its fence */
	struct buf body;
	struct pop3_body bstate;
	int fence_pending;
	uint32_t fence_idx;
	int fence_too_big;
	int fence_bad_stuffing;

	struct buf line; /* the reply line being handled (a copy) */
	uint32_t dele_ok;
	uint32_t retr_failed;
	int done_called;
	char error[768];
	char tls_info[80];
};

static void pop3c_fail(struct pop3_client *c, enum pop3_fail kind,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pop3c_finish(struct pop3_client *c, int ok);
static void pop3c_dial_cb(int fd, const char *addr, const char *error,
			  void *arg);
static void pop3c_conn_cb(struct conn *conn, enum conn_event ev, void *arg);
static int pop3c_process(struct pop3_client *c);
static int pop3c_login(struct pop3_client *c);
static void pop3c_send(struct pop3_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pop3c_enqueue(struct pop3_client *c, enum pop3c_cmd_kind kind,
			  uint32_t idx);
static void pop3c_pump(struct pop3_client *c);
static int pop3c_trans_status(struct pop3_client *c,
			      const struct pop3_status *s);
static int pop3c_trans_line(struct pop3_client *c, const char *line,
			    size_t len);
static int pop3c_trans_body_done(struct pop3_client *c);
static int pop3c_release_fence(struct pop3_client *c);
static int pop3c_listing_ready(struct pop3_client *c);
static const char *pop3c_strstate(enum pop3c_state st);

/* ---- life cycle ---- */

struct pop3_client *
pop3_client_new(struct ev_loop *loop, const struct pop3_client_cfg *cfg,
		const struct pop3_client_hooks *hooks, void *arg)
{
	struct pop3_client *c = xcalloc(1, sizeof *c);

	c->loop = loop;
	c->hooks = *hooks;
	c->arg = arg;
	c->host = xstrdup(cfg->host);
	c->port = cfg->port;
	c->tls = cfg->tls;
	c->tls_ctx = cfg->tls_ctx;
	c->user = xstrdup(cfg->user);
	c->password = xstrdup(cfg->password);
	c->max_size = cfg->max_size;
	c->timeout_secs = cfg->timeout_secs ? cfg->timeout_secs
	                                    : POP3_READ_TIMEOUT_SECS;
	c->list_only = cfg->list_only;
	pop3_caps_init(&c->caps);
	buf_init(&c->body, (size_t)c->max_size + 64);
	buf_init(&c->line, POP3_MAX_LINE + 1);
	c->state = POP3C_ST_DIAL;
	c->dial = dial_start(loop, c->host, c->port, c->timeout_secs,
	                     pop3c_dial_cb, c);
	return c;
}

void
pop3_client_free(struct pop3_client **cp)
{
	struct pop3_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	*cp = NULL;
	dial_cancel(&c->dial);
	conn_free(&c->conn);
	free(c->host);
	free(c->user);
	if (c->password != NULL) {
		OPENSSL_cleanse(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->apop_stamp);
	free(c->msgs);
	free(c->q);
	free(c->flight);
	buf_clear(&c->body);
	buf_clear(&c->line);
	free(c);
}

static const char *
pop3c_strstate(enum pop3c_state st)
{
	switch (st) {
	case POP3C_ST_DIAL: return "connect";
	case POP3C_ST_HANDSHAKE: return "TLS handshake";
	case POP3C_ST_GREETING: return "greeting";
	case POP3C_ST_CAPA: return "CAPA";
	case POP3C_ST_STLS: return "STLS";
	case POP3C_ST_STLS_HANDSHAKE: return "STLS handshake";
	case POP3C_ST_AUTH_PLAIN: return "AUTH PLAIN";
	case POP3C_ST_AUTH_CANCEL: return "AUTH cancel";
	case POP3C_ST_APOP: return "APOP";
	case POP3C_ST_USER: return "USER";
	case POP3C_ST_PASS: return "PASS";
	case POP3C_ST_TRANS: return "transaction";
	case POP3C_ST_DONE: return "done";
	}
	return "?";
}

/* Records the first failure; the session ends with it. */
static void
pop3c_fail(struct pop3_client *c, enum pop3_fail kind, const char *fmt, ...)
{
	va_list ap;
	struct pop3_result r;

	if (c->done_called)
		return;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof r);
	r.ok = 0;
	r.fail = kind;
	r.error = c->error;
	r.nmsgs = (uint32_t)c->nmsgs;
	r.total_size = c->total_size;
	r.tls_info = c->tls_info[0] ? c->tls_info : NULL;
	r.auth = c->auth_used;
	r.login_delay = c->caps.login_delay;
	log_debug("pop3 %s:%u: failed in %s: %s", c->host, c->port,
	          pop3c_strstate(c->state), c->error);
	c->state = POP3C_ST_DONE;
	c->done_called = 1;
	dial_cancel(&c->dial);
	conn_free(&c->conn);
	c->hooks.done(c->arg, &r);
}

static void
pop3c_finish(struct pop3_client *c, int ok)
{
	struct pop3_result r;

	if (c->done_called)
		return;
	memset(&r, 0, sizeof r);
	r.ok = ok;
	r.nmsgs = (uint32_t)c->nmsgs;
	r.total_size = c->total_size;
	r.deleted = c->dele_ok;
	r.tls_info = c->tls_info[0] ? c->tls_info : NULL;
	r.auth = c->auth_used;
	r.login_delay = c->caps.login_delay;
	c->state = POP3C_ST_DONE;
	c->done_called = 1;
	conn_free(&c->conn);
	c->hooks.done(c->arg, &r);
}

/* A printable, bounded copy of server text for an error sentence. */
static void
pop3c_quote(const char *p, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (len > 200)
		len = 200;
	for (i = 0; i < len && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)p[i];

		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[o] = '\0';
}

static void
pop3c_dial_cb(int fd, const char *addr, const char *error, void *arg)
{
	struct pop3_client *c = arg;

	c->dial = NULL;
	if (fd < 0) {
		pop3c_fail(c, POP3_FAIL_NET, "%s", error);
		return;
	}
	log_debug("pop3 %s:%u: connected to %s", c->host, c->port, addr);
	c->conn = conn_new_client(c->loop, fd,
	                          c->tls == POP3_TLS_IMPLICIT ? c->tls_ctx
	                                                      : NULL,
	                          c->host, POP3C_IN_CAP, pop3c_conn_cb, c);
	if (c->conn == NULL) {
		pop3c_fail(c, POP3_FAIL_NET, "cannot connect to %s: out of "
		           "event loop slots", c->host);
		return;
	}
	conn_set_timeout(c->conn, c->timeout_secs);
	c->state = c->tls == POP3_TLS_IMPLICIT ? POP3C_ST_HANDSHAKE
	                                       : POP3C_ST_GREETING;
	c->rd = POP3C_RD_STATUS;
}

static void
pop3c_conn_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct pop3_client *c = arg;
	const char *info;

	(void)conn;
	switch (ev) {
	case CONN_EV_TLS_READY:
		info = conn_tls_info(c->conn);
		snprintf(c->tls_info, sizeof c->tls_info, "%s",
		         info ? info : "TLS");
		if (c->state == POP3C_ST_HANDSHAKE) {
			c->state = POP3C_ST_GREETING;
		} else if (c->state == POP3C_ST_STLS_HANDSHAKE) {
			/* RFC 2595 4: forget what was learnt before TLS. */
			pop3_caps_init(&c->caps);
			c->capa_done = 0;
			c->capa_after_tls = 1;
			c->state = POP3C_ST_CAPA;
			c->rd = POP3C_RD_STATUS;
			pop3c_send(c, "CAPA");
		}
		(void)pop3c_process(c);
		return;
	case CONN_EV_DATA:
	case CONN_EV_DRAINED:
		(void)pop3c_process(c);
		return;
	case CONN_EV_TIMEOUT:
		if (c->state == POP3C_ST_HANDSHAKE ||
		    c->state == POP3C_ST_STLS_HANDSHAKE)
			pop3c_fail(c, POP3_FAIL_NET,
			           "no TLS handshake from %s within %u s",
			           c->host, c->timeout_secs);
		else if (c->state == POP3C_ST_TRANS && c->rd == POP3C_RD_BODY)
			pop3c_fail(c, POP3_FAIL_NET,
			           "server stopped sending in the middle of "
			           "message %u (nothing for %u s)",
			           c->flen ? c->msgs[c->flight[c->fhead].idx].msgno
			                   : 0,
			           c->timeout_secs);
		else
			pop3c_fail(c, POP3_FAIL_NET,
			           "server did not answer within %u s (%s)",
			           c->timeout_secs, pop3c_strstate(c->state));
		return;
	case CONN_EV_CLOSED:
		if (c->state == POP3C_ST_TRANS && c->quit_sent && c->flen == 0) {
			pop3c_finish(c, 1);
			return;
		}
		/* Bytes that arrived before the close are processed first. */
		if (pop3c_process(c) < 0 || c->done_called)
			return;
		if (c->state == POP3C_ST_TRANS && c->rd == POP3C_RD_BODY)
			pop3c_fail(c, POP3_FAIL_NET,
			           "connection closed by the server in the "
			           "middle of message %u",
			           c->msgs[c->flight[c->fhead].idx].msgno);
		else
			pop3c_fail(c, POP3_FAIL_NET,
			           "connection closed by the server (%s)",
			           pop3c_strstate(c->state));
		return;
	case CONN_EV_ERROR:
		if (c->state == POP3C_ST_HANDSHAKE ||
		    c->state == POP3C_ST_STLS_HANDSHAKE)
			pop3c_fail(c, POP3_FAIL_TLS, "%s",
			           conn_error(c->conn) ? conn_error(c->conn)
			                               : "TLS handshake failed");
		else if (c->state == POP3C_ST_TRANS && c->rd == POP3C_RD_BODY)
			pop3c_fail(c, POP3_FAIL_NET,
			           "connection to %s lost in the middle of "
			           "message %u: %s",
			           c->host, c->msgs[c->flight[c->fhead].idx].msgno,
			           conn_error(c->conn) ? conn_error(c->conn)
			                               : "error");
		else
			pop3c_fail(c, POP3_FAIL_NET, "connection to %s lost: %s",
			           c->host,
			           conn_error(c->conn) ? conn_error(c->conn)
			                               : "error");
		return;
	}
}

static void
pop3c_send(struct pop3_client *c, const char *fmt, ...)
{
	va_list ap;
	char line[POP3_MAX_LINE];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	conn_write(c->conn, line, (size_t)n);
	OPENSSL_cleanse(line, (size_t)n);
}

/* ---- before the transaction state: one command, one reply ---- */

/* Turns a -ERR to a login command into a failure of the right kind. */
static void
pop3c_login_refused(struct pop3_client *c, const struct pop3_status *s)
{
	char text[256];

	pop3c_quote(s->text, s->text_len, text, sizeof text);
	switch (s->code) {
	case POP3_CODE_IN_USE:
		pop3c_fail(c, POP3_FAIL_TEMP, "mailbox in use: %s", text);
		return;
	case POP3_CODE_LOGIN_DELAY:
		pop3c_fail(c, POP3_FAIL_TEMP,
		           "server asks to wait before logging in again: %s",
		           text);
		return;
	case POP3_CODE_SYS_TEMP:
		pop3c_fail(c, POP3_FAIL_TEMP, "temporary server trouble: %s",
		           text);
		return;
	case POP3_CODE_SYS_PERM:
		pop3c_fail(c, POP3_FAIL_TEMP, "server trouble: %s", text);
		return;
	default:
		pop3c_fail(c, POP3_FAIL_AUTH, "login refused for %s: %s",
		           c->user, text[0] ? text : "(no reason given)");
		return;
	}
}

static int
pop3c_base64(const unsigned char *in, size_t len, char **out_r)
{
	size_t olen = 4 * ((len + 2) / 3) + 1;
	char *out = xmalloc(olen);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	*out_r = out;
	return 0;
}

/* Picks and sends the login (see the file comment for the order). */
static int
pop3c_login(struct pop3_client *c)
{
	int over_tls = conn_is_tls(c->conn);
	int plain = (c->caps.caps & POP3_CAP_SASL_PLAIN) != 0;
	int apop = c->apop_stamp != NULL;

	if (!over_tls && c->tls != POP3_TLS_NONE) {
		/* Cannot happen (TLS is up before we get here); never send. */
		pop3c_fail(c, POP3_FAIL_CONFIG, "refusing to log in without TLS");
		return -1;
	}
	if (apop && (!over_tls || !plain)) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		unsigned i;

		if (m == NULL || EVP_DigestInit_ex(m, EVP_md5(), NULL) != 1 ||
		    EVP_DigestUpdate(m, c->apop_stamp, strlen(c->apop_stamp)) != 1 ||
		    EVP_DigestUpdate(m, c->password, strlen(c->password)) != 1 ||
		    EVP_DigestFinal_ex(m, md, &mdlen) != 1) {
			EVP_MD_CTX_free(m);
			/* MD5 unavailable (FIPS): fall through to others. */
			apop = 0;
		} else {
			EVP_MD_CTX_free(m);
			for (i = 0; i < mdlen; i++)
				snprintf(hex + 2 * i, 3, "%02x", md[i]);
			c->auth_used = "APOP";
			c->state = POP3C_ST_APOP;
			pop3c_send(c, "APOP %s %s", c->user, hex);
			OPENSSL_cleanse(md, sizeof md);
			return 0;
		}
	}
	if (plain) {
		size_t ul = strlen(c->user), pl = strlen(c->password);
		unsigned char *raw = xmalloc(ul + pl + 2);
		char *b64;

		raw[0] = '\0';
		memcpy(raw + 1, c->user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, c->password, pl);
		pop3c_base64(raw, ul + pl + 2, &b64);
		OPENSSL_cleanse(raw, ul + pl + 2);
		free(raw);
		c->auth_used = "SASL PLAIN";
		c->state = POP3C_ST_AUTH_PLAIN;
		pop3c_send(c, "AUTH PLAIN %s", b64);
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
		return 0;
	}
	c->auth_used = "USER/PASS";
	c->state = POP3C_ST_USER;
	pop3c_send(c, "USER %s", c->user);
	return 0;
}

/* After the login: UIDL and LIST, pipelined when offered. */
static void
pop3c_enter_transaction(struct pop3_client *c)
{
	c->state = POP3C_ST_TRANS;
	c->rd = POP3C_RD_STATUS;
	pop3c_enqueue(c, POP3C_CMD_LIST, 0);
	pop3c_enqueue(c, POP3C_CMD_UIDL, 0);
	pop3c_pump(c);
}

/* Handles a status line outside the transaction state. 0 or -1 (ended). */
static int
pop3c_state_status(struct pop3_client *c, const char *line, size_t len)
{
	struct pop3_status s;
	char text[256];

	if (pop3_reply_status(line, len, &s) < 0) {
		pop3c_quote(line, len, text, sizeof text);
		pop3c_fail(c, POP3_FAIL_PROTO,
		           "server sent a garbled reply to %s: \"%s\"",
		           pop3c_strstate(c->state), text);
		return -1;
	}
	pop3c_quote(s.text, s.text_len, text, sizeof text);
	switch (c->state) {
	case POP3C_ST_GREETING: {
		const char *stamp;
		size_t slen;

		if (!s.ok) {
			pop3c_fail(c, POP3_FAIL_TEMP,
			           "server refused the connection: %s", text);
			return -1;
		}
		if (pop3_reply_apop_stamp(s.text, s.text_len, &stamp, &slen))
			c->apop_stamp = xmemdup0(stamp, slen);
		c->state = POP3C_ST_CAPA;
		pop3c_send(c, "CAPA");
		return 0;
	}
	case POP3C_ST_CAPA:
		if (s.ok) {
			c->rd = POP3C_RD_LINES;
			return 0;
		}
		/* No CAPA (RFC 1939 only): go on without capabilities. */
		c->capa_done = 1;
		break;
	case POP3C_ST_STLS:
		if (!s.ok) {
			pop3c_fail(c, POP3_FAIL_CONFIG,
			           "server refused STLS (%s) and the account "
			           "requires TLS",
			           text);
			return -1;
		}
		c->state = POP3C_ST_STLS_HANDSHAKE;
		if (conn_starttls_client(c->conn, c->tls_ctx, c->host) < 0) {
			pop3c_fail(c, POP3_FAIL_PROTO,
			           "server sent data after its STLS reply "
			           "(possible injection attack)");
			return -1;
		}
		return 0;
	case POP3C_ST_AUTH_PLAIN:
		if (pop3_reply_is_continuation(line, len)) {
			/* The server ignored the initial response: cancel
			 * (RFC 5034 "*") and use USER/PASS once it has
			 * answered the cancel. */
			conn_writes(c->conn, "*\r\n");
			c->state = POP3C_ST_AUTH_CANCEL;
			return 0;
		}
		/* fallthrough */
	case POP3C_ST_APOP:
	case POP3C_ST_PASS:
		if (!s.ok) {
			pop3c_login_refused(c, &s);
			return -1;
		}
		pop3c_enter_transaction(c);
		return 0;
	case POP3C_ST_AUTH_CANCEL:
		c->auth_used = "USER/PASS";
		c->state = POP3C_ST_USER;
		pop3c_send(c, "USER %s", c->user);
		return 0;
	case POP3C_ST_USER:
		if (!s.ok) {
			pop3c_login_refused(c, &s);
			return -1;
		}
		c->state = POP3C_ST_PASS;
		pop3c_send(c, "PASS %s", c->password);
		return 0;
	default:
		pop3c_fail(c, POP3_FAIL_PROTO, "unexpected reply in %s",
		           pop3c_strstate(c->state));
		return -1;
	}
	/* CAPA answered (or refused): STLS, or log in. */
	return 0;
}

/* CAPA is complete: STLS when needed, else log in. */
static int
pop3c_after_capa(struct pop3_client *c)
{
	c->capa_done = 1;
	c->rd = POP3C_RD_STATUS;
	if (c->tls == POP3_TLS_STARTTLS && !conn_is_tls(c->conn)) {
		/* Without CAPA we still try STLS: RFC 2595 servers may not
		 * have CAPA (rare) and the worst case is a clear refusal. */
		c->state = POP3C_ST_STLS;
		pop3c_send(c, "STLS");
		return 0;
	}
	return pop3c_login(c);
}

/* ---- the transaction state: a queue of commands ---- */

static void
pop3c_enqueue(struct pop3_client *c, enum pop3c_cmd_kind kind, uint32_t idx)
{
	if (c->qhead > 0 && c->qhead == c->qlen) {
		c->qhead = c->qlen = 0;
	}
	if (c->qlen == c->qcap) {
		if (c->qhead > 0) {
			memmove(c->q, c->q + c->qhead,
			        (c->qlen - c->qhead) * sizeof *c->q);
			c->qlen -= c->qhead;
			c->qhead = 0;
		}
		if (c->qlen == c->qcap) {
			c->qcap = c->qcap ? c->qcap * 2 : 64;
			c->q = xreallocarray(c->q, c->qcap, sizeof *c->q);
		}
	}
	c->q[c->qlen].kind = kind;
	c->q[c->qlen].idx = idx;
	c->qlen++;
}

static void
pop3c_flight_push(struct pop3_client *c, struct pop3c_cmd cmd)
{
	if (c->flen == c->fcap) {
		size_t ncap = c->fcap ? c->fcap * 2 : POP3_PIPELINE_DEPTH;
		struct pop3c_cmd *n = xreallocarray(NULL, ncap, sizeof *n);
		size_t i;

		for (i = 0; i < c->flen; i++)
			n[i] = c->flight[(c->fhead + i) % c->fcap];
		free(c->flight);
		c->flight = n;
		c->fcap = ncap;
		c->fhead = 0;
	}
	c->flight[(c->fhead + c->flen) % c->fcap] = cmd;
	c->flen++;
}

static void
pop3c_flight_pop(struct pop3_client *c)
{
	c->fhead = (c->fhead + 1) % c->fcap;
	c->flen--;
}

/* Sends queued commands while the pipeline has room. */
static void
pop3c_pump(struct pop3_client *c)
{
	size_t depth = (c->caps.caps & POP3_CAP_PIPELINING)
	                       ? POP3_PIPELINE_DEPTH
	                       : 1;

	while (c->qhead < c->qlen && c->flen < depth && !c->quit_sent) {
		struct pop3c_cmd cmd = c->q[c->qhead++];
		const struct pop3_msg *m =
		        c->msgs && cmd.idx < c->nmsgs ? &c->msgs[cmd.idx] : NULL;

		switch (cmd.kind) {
		case POP3C_CMD_UIDL: pop3c_send(c, "UIDL"); break;
		case POP3C_CMD_LIST: pop3c_send(c, "LIST"); break;
		case POP3C_CMD_TOP0: pop3c_send(c, "TOP %u 0", m->msgno); break;
		case POP3C_CMD_RETR: pop3c_send(c, "RETR %u", m->msgno); break;
		case POP3C_CMD_DELE: pop3c_send(c, "DELE %u", m->msgno); break;
		case POP3C_CMD_NOOP: pop3c_send(c, "NOOP"); break;
		case POP3C_CMD_QUIT:
			pop3c_send(c, "QUIT");
			c->quit_sent = 1;
			break;
		}
		pop3c_flight_push(c, cmd);
	}
	/* Everything answered and nothing left: say goodbye. */
	if (c->qhead == c->qlen && c->flen == 0 && !c->quit_sent &&
	    !c->fence_pending && c->have_list &&
	    (c->have_uidl || c->uidl_failed) && c->tops_left == 0 &&
	    c->state == POP3C_ST_TRANS && c->listed) {
		pop3c_enqueue(c, POP3C_CMD_QUIT, 0);
		pop3c_pump(c);
	}
}

/* Index of msgno in msgs (sorted by msgno, from LIST), or -1. */
static long
pop3c_find(const struct pop3_client *c, uint32_t msgno)
{
	size_t lo = 0, hi = c->nmsgs;

	/* LIST numbers are usually 1..n without gaps. */
	if (msgno >= 1 && msgno <= c->nmsgs && c->msgs[msgno - 1].msgno == msgno)
		return (long)(msgno - 1);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->msgs[mid].msgno == msgno)
			return (long)mid;
		if (c->msgs[mid].msgno < msgno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* UIDL and LIST are in (or TOP digests for every message): ask the caller. */
static int
pop3c_listing_ready(struct pop3_client *c)
{
	size_t i, o = 0, nretr = 0;
	int complete = !c->list_truncated;

	/* Messages the UIDL listing left out cannot be told apart: leave
	 * them on the server, untouched. */
	for (i = 0; i < c->nmsgs; i++) {
		if (c->msgs[i].uidl[0] == '\0') {
			log_warnx("pop3 %s: message %u has no UIDL; left alone",
			          c->host, c->msgs[i].msgno);
			complete = 0;
			continue;
		}
		c->msgs[o++] = c->msgs[i];
	}
	c->nmsgs = o;
	for (i = 0; i < c->nmsgs; i++)
		c->msgs[i].action = POP3_ACT_NONE;
	if (c->hooks.listing(c->arg, c->msgs, c->nmsgs, complete) < 0) {
		c->list_only = 1;
	}
	c->listed = 1;
	if (c->list_only)
		return 0; /* pump sends QUIT */
	for (i = 0; i < c->nmsgs; i++)
		if (c->msgs[i].action == POP3_ACT_DELE)
			pop3c_enqueue(c, POP3C_CMD_DELE, (uint32_t)i);
	for (i = 0; i < c->nmsgs; i++)
		if (c->msgs[i].action == POP3_ACT_FETCH ||
		    c->msgs[i].action == POP3_ACT_FETCH_DELE) {
			pop3c_enqueue(c, POP3C_CMD_RETR, (uint32_t)i);
			nretr++;
		}
	if (nretr > 0)
		pop3c_enqueue(c, POP3C_CMD_NOOP, 0); /* the last fence */
	return 0;
}

/* The message of the fence: its next reply began well, so hand it over. */
static int
pop3c_release_fence(struct pop3_client *c)
{
	struct pop3_msg *m;

	if (!c->fence_pending)
		return 0;
	c->fence_pending = 0;
	m = &c->msgs[c->fence_idx];
	if (c->fence_too_big) {
		if (c->hooks.too_big)
			c->hooks.too_big(c->arg, m);
	} else {
		if (c->fence_bad_stuffing)
			log_warnx("pop3 %s: message %u had a line starting "
			          "with an unstuffed '.'; stored as RFC 1939 "
			          "says (first '.' removed)",
			          c->host, m->msgno);
		if (c->hooks.message(c->arg, m, c->body.data ? c->body.data : "",
		                     c->body.len) < 0) {
			buf_reset(&c->body);
			pop3c_fail(c, POP3_FAIL_LOCAL,
			           "could not store message %u", m->msgno);
			return -1;
		}
		if (m->action == POP3_ACT_FETCH_DELE)
			pop3c_enqueue(c, POP3C_CMD_DELE, c->fence_idx);
	}
	buf_reset(&c->body);
	return 0;
}

/* A RETR or TOP body has ended. */
static int
pop3c_trans_body_done(struct pop3_client *c)
{
	struct pop3c_cmd cmd = c->flight[c->fhead];

	pop3c_flight_pop(c);
	c->rd = POP3C_RD_STATUS;
	if (cmd.kind == POP3C_CMD_TOP0) {
		unsigned char md[32];
		unsigned int mdlen = 0;
		static const char hex[] = "0123456789abcdef";
		struct pop3_msg *m = &c->msgs[cmd.idx];
		unsigned i;

		if (EVP_Digest(c->body.data ? c->body.data : "", c->body.len,
		               md, &mdlen, EVP_sha256(), NULL) != 1 ||
		    mdlen != 32) {
			pop3c_fail(c, POP3_FAIL_LOCAL, "SHA-256 unavailable");
			return -1;
		}
		memcpy(m->uidl, "sha256:", 7);
		for (i = 0; i < 32; i++) {
			m->uidl[7 + 2 * i] = hex[md[i] >> 4];
			m->uidl[8 + 2 * i] = hex[md[i] & 15];
		}
		m->uidl[7 + 64] = '\0';
		buf_reset(&c->body);
		if (--c->tops_left == 0)
			return pop3c_listing_ready(c);
		return 0;
	}
	/* RETR: wait for the next status line (the fence). */
	c->fence_pending = 1;
	c->fence_idx = cmd.idx;
	c->fence_too_big = c->bstate.too_big;
	c->fence_bad_stuffing = c->bstate.bad_stuffing;
	return 0;
}

/* Both UIDL and LIST are answered. */
static int
pop3c_lists_done(struct pop3_client *c)
{
	size_t i;

	if (!c->have_list || !(c->have_uidl || c->uidl_failed))
		return 0;
	if (c->have_uidl || c->nmsgs == 0)
		return pop3c_listing_ready(c);
	/* No UIDL: the digest of each message's header instead. */
	log_info("pop3 %s: no UIDL; telling messages apart by a digest of "
	         "their headers (TOP n 0)", c->host);
	c->tops_left = (uint32_t)c->nmsgs;
	for (i = 0; i < c->nmsgs; i++)
		pop3c_enqueue(c, POP3C_CMD_TOP0, (uint32_t)i);
	return 0;
}

/* A status line in the transaction state: the reply to the flight head. */
static int
pop3c_trans_status(struct pop3_client *c, const struct pop3_status *s)
{
	struct pop3c_cmd cmd;
	char text[256];

	if (c->flen == 0) {
		pop3c_fail(c, POP3_FAIL_PROTO,
		           "server sent a reply to no command");
		return -1;
	}
	if (pop3c_release_fence(c) < 0)
		return -1;
	cmd = c->flight[c->fhead];
	pop3c_quote(s->text, s->text_len, text, sizeof text);
	switch (cmd.kind) {
	case POP3C_CMD_LIST:
		if (!s->ok) {
			pop3c_fail(c, POP3_FAIL_PROTO, "LIST refused: %s", text);
			return -1;
		}
		c->rd = POP3C_RD_LINES;
		return 0;
	case POP3C_CMD_UIDL:
		if (!s->ok) {
			pop3c_flight_pop(c);
			c->uidl_failed = 1;
			return pop3c_lists_done(c);
		}
		c->rd = POP3C_RD_LINES;
		return 0;
	case POP3C_CMD_TOP0:
		if (!s->ok) {
			pop3c_fail(c, POP3_FAIL_PROTO,
			           "the server has neither UIDL nor TOP, so "
			           "messages cannot be told apart safely (%s)",
			           text);
			return -1;
		}
		c->rd = POP3C_RD_BODY;
		buf_reset(&c->body);
		pop3_body_init(&c->bstate, &c->body,
		               c->max_size < POP3C_HEADER_MAX ? c->max_size
		                                              : POP3C_HEADER_MAX);
		return 0;
	case POP3C_CMD_RETR:
		if (!s->ok) {
			log_warnx("pop3 %s: RETR %u refused: %s", c->host,
			          c->msgs[cmd.idx].msgno, text);
			c->retr_failed++;
			pop3c_flight_pop(c);
			return 0;
		}
		c->rd = POP3C_RD_BODY;
		buf_reset(&c->body);
		pop3_body_init(&c->bstate, &c->body, c->max_size);
		return 0;
	case POP3C_CMD_DELE:
		if (s->ok)
			c->dele_ok++;
		else
			log_warnx("pop3 %s: DELE %u refused: %s", c->host,
			          c->msgs[cmd.idx].msgno, text);
		pop3c_flight_pop(c);
		return 0;
	case POP3C_CMD_NOOP:
		pop3c_flight_pop(c);
		return 0;
	case POP3C_CMD_QUIT:
		pop3c_flight_pop(c);
		if (!s->ok) {
			c->dele_ok = 0;
			pop3c_fail(c, POP3_FAIL_TEMP,
			           "server could not finish the session (its "
			           "deletions did not happen): %s",
			           text);
			return -1;
		}
		pop3c_finish(c, 1);
		return -1;
	}
	return 0;
}

/* One data line of a UIDL / LIST listing in the transaction state. */
static int
pop3c_trans_line(struct pop3_client *c, const char *line, size_t len)
{
	struct pop3c_cmd cmd = c->flight[c->fhead];
	char text[128];

	if (cmd.kind == POP3C_CMD_LIST) {
		uint32_t msgno;
		uint64_t size;

		if (pop3_reply_list_line(line, len, &msgno, &size) < 0 ||
		    (c->nmsgs > 0 && msgno <= c->msgs[c->nmsgs - 1].msgno)) {
			pop3c_quote(line, len, text, sizeof text);
			pop3c_fail(c, POP3_FAIL_PROTO,
			           "server sent a garbled LIST line: \"%s\"",
			           text);
			return -1;
		}
		if (c->nmsgs >= POP3_MAX_MESSAGES) {
			c->list_truncated = 1;
			return 0; /* the rest waits for a later poll */
		}
		if (c->nmsgs == c->msgs_cap) {
			c->msgs_cap = c->msgs_cap ? c->msgs_cap * 2 : 256;
			c->msgs = xreallocarray(c->msgs, c->msgs_cap,
			                        sizeof *c->msgs);
		}
		memset(&c->msgs[c->nmsgs], 0, sizeof *c->msgs);
		c->msgs[c->nmsgs].msgno = msgno;
		c->msgs[c->nmsgs].size = size;
		c->nmsgs++;
		c->total_size += size;
		return 0;
	}
	if (cmd.kind == POP3C_CMD_UIDL) {
		uint32_t msgno;
		const char *uidl;
		size_t ulen;
		long i;

		if (pop3_reply_uidl_line(line, len, &msgno, &uidl, &ulen) < 0) {
			pop3c_quote(line, len, text, sizeof text);
			pop3c_fail(c, POP3_FAIL_PROTO,
			           "server sent a garbled UIDL line: \"%s\"",
			           text);
			return -1;
		}
		i = pop3c_find(c, msgno);
		if (i >= 0 && ulen <= POP3_UIDL_MAX) {
			memcpy(c->msgs[i].uidl, uidl, ulen);
			c->msgs[i].uidl[ulen] = '\0';
		}
		return 0;
	}
	pop3c_fail(c, POP3_FAIL_PROTO, "unexpected listing line");
	return -1;
}

/* The "." of a listing in the transaction state. */
static int
pop3c_trans_listing_end(struct pop3_client *c)
{
	struct pop3c_cmd cmd = c->flight[c->fhead];

	pop3c_flight_pop(c);
	c->rd = POP3C_RD_STATUS;
	if (cmd.kind == POP3C_CMD_LIST)
		c->have_list = 1;
	else if (cmd.kind == POP3C_CMD_UIDL)
		c->have_uidl = 1;
	return pop3c_lists_done(c);
}

/* Takes the next line off the input into c->line. 1, 0 (need more), -1. */
static int
pop3c_take_line(struct pop3_client *c, struct buf *in)
{
	const char *line;
	size_t len, consumed;
	int r = pop3_reply_line(in, POP3_MAX_LINE, &line, &len, &consumed);

	if (r == 0)
		return 0;
	if (r < 0) {
		pop3c_fail(c, POP3_FAIL_PROTO,
		           "server sent a reply line longer than %u KiB (%s)",
		           POP3_MAX_LINE / 1024, pop3c_strstate(c->state));
		return -1;
	}
	buf_reset(&c->line);
	if (buf_add(&c->line, line, len) < 0) {
		pop3c_fail(c, POP3_FAIL_LOCAL, "out of memory");
		return -1;
	}
	buf_consume(in, consumed);
	return 1;
}

/*
 * Works through the input. Returns 0 when it needs more, -1 when the
 * session ended (c may have been freed by the done hook: touch nothing).
 */
static int
pop3c_process(struct pop3_client *c)
{
	for (;;) {
		struct buf *in;
		const char *p;
		size_t len;
		int r;

		if (c->done_called)
			return -1;
		if (c->state == POP3C_ST_DIAL || c->state == POP3C_ST_HANDSHAKE ||
		    c->state == POP3C_ST_STLS_HANDSHAKE)
			return 0;
		in = conn_in(c->conn);
		if (c->rd == POP3C_RD_BODY) {
			long n;

			if (in->len == 0)
				break;
			n = pop3_body_feed(&c->bstate, in->data, in->len);
			if (n < 0) {
				pop3c_fail(c, POP3_FAIL_LOCAL,
				           "out of memory reading a message");
				return -1;
			}
			buf_consume(in, (size_t)n);
			if (!c->bstate.done)
				break;
			if (pop3c_trans_body_done(c) < 0)
				return -1;
			continue;
		}
		r = pop3c_take_line(c, in);
		if (r == 0)
			break;
		if (r < 0)
			return -1;
		p = c->line.data ? c->line.data : "";
		len = c->line.len;
		if (c->rd == POP3C_RD_LINES) {
			if (pop3_reply_multi_line(&p, &len) == 1) {
				if (c->state == POP3C_ST_CAPA)
					r = pop3c_after_capa(c);
				else
					r = pop3c_trans_listing_end(c);
			} else if (c->state == POP3C_ST_CAPA) {
				pop3_reply_capa_line(&c->caps, p, len);
				r = 0;
			} else {
				r = pop3c_trans_line(c, p, len);
			}
		} else if (c->state == POP3C_ST_TRANS) {
			struct pop3_status s;
			char text[128];

			if (pop3_reply_status(p, len, &s) < 0) {
				pop3c_quote(p, len, text, sizeof text);
				if (c->fence_pending)
					pop3c_fail(c, POP3_FAIL_PROTO,
					           "server sent a garbled reply "
					           "after message %u (bad "
					           "dot-stuffing?): \"%s\"; the "
					           "message was not stored",
					           c->msgs[c->fence_idx].msgno,
					           text);
				else
					pop3c_fail(c, POP3_FAIL_PROTO,
					           "server sent a garbled reply: "
					           "\"%s\"",
					           text);
				return -1;
			}
			r = pop3c_trans_status(c, &s);
		} else {
			r = pop3c_state_status(c, p, len);
			if (r == 0 && c->state == POP3C_ST_CAPA &&
			    c->capa_done && c->rd == POP3C_RD_STATUS)
				r = pop3c_after_capa(c);
		}
		if (r < 0 || c->done_called)
			return -1;
	}
	if (c->state == POP3C_ST_TRANS)
		pop3c_pump(c);
	return c->done_called ? -1 : 0;
}
