/*
 * bridge/pop3_client.h: one POP3 session of the poller (RFC 1939, 2449,
 * 2595, 5034), as an explicit state machine on a conn (curl lib/pop3.c
 * pop3_statemachine): connect (dial.h), implicit TLS or STLS, CAPA, login,
 * UIDL and LIST (or TOP n 0 digests when the server has no UIDL), then the
 * RETR and DELE the caller asks for, pipelined when the server offers
 * PIPELINING, and QUIT.
 *
 * The session decides nothing about mail: after the listing it asks the
 * caller what to do with each message (pop3_msg.action), hands over each
 * fetched message, and sends a message's DELE only after the caller's
 * message hook returned 0 (the message is committed). A fetched message is
 * handed over only once the reply after it has been seen to start with a
 * valid status line: a server whose dot-stuffing is broken shows up as
 * garbage there, and the message it cut short is dropped, never stored.
 */
#ifndef PB_POP3_CLIENT_H
#define PB_POP3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/limits.h"

struct ev_loop;
struct pop3_client;
typedef struct ssl_ctx_st SSL_CTX;

enum pop3_tls_mode {
	POP3_TLS_IMPLICIT,
	POP3_TLS_STARTTLS,
	POP3_TLS_NONE, /* only when the account allows plaintext */
};

enum pop3_action {
	POP3_ACT_NONE = 0,   /* leave it */
	POP3_ACT_FETCH,	     /* RETR, then message hook */
	POP3_ACT_FETCH_DELE, /* RETR, message hook, then DELE if it returned 0 */
	POP3_ACT_DELE,	     /* DELE only (kept long enough) */
};

struct pop3_msg {
	uint32_t msgno;
	uint64_t size;			    /* LIST's octets */
	char uidl[POP3_DIGEST_UIDL_LEN + 1]; /* UIDL, or "sha256:<hex>" */
	enum pop3_action action;	    /* set by the listing hook */
};

/* Why a session failed, for the caller's retry policy. */
enum pop3_fail {
	POP3_FAIL_NONE = 0,
	POP3_FAIL_NET,	   /* resolve, connect, closed, timeout */
	POP3_FAIL_TLS,	   /* handshake / certificate */
	POP3_FAIL_AUTH,	   /* the server refused the credentials */
	POP3_FAIL_TEMP,	   /* [IN-USE], [SYS/TEMP], [LOGIN-DELAY] */
	POP3_FAIL_PROTO,   /* garbage, a line over the limit, -ERR to a needed command */
	POP3_FAIL_CONFIG,  /* e.g. STLS required but not offered */
	POP3_FAIL_LOCAL,   /* our store failed or the caller aborted */
};

struct pop3_result {
	int ok;
	enum pop3_fail fail;
	const char *error;    /* one sentence when !ok */
	uint32_t nmsgs;	      /* in the maildrop */
	uint64_t total_size;
	uint32_t deleted;     /* DELEs the server confirmed with QUIT's +OK */
	const char *tls_info; /* NULL: plaintext */
	const char *auth;     /* "SASL PLAIN", "APOP", "USER/PASS" */
	int64_t login_delay;  /* CAPA LOGIN-DELAY seconds, -1 when none */
};

struct pop3_client_hooks {
	/*
	 * The maildrop (msgs[0..n-1], by msgno). Set each action; return 0
	 * to go on, or -1 to end the session (QUIT, nothing fetched).
	 * complete is 0 when msgs is not the whole maildrop (over
	 * POP3_MAX_MESSAGES, or messages the UIDL listing left out): the
	 * caller must then not take absence from msgs as gone.
	 */
	int (*listing)(void *arg, struct pop3_msg *msgs, size_t n,
		       int complete);
	/*
	 * A fetched message, exact bytes (CRLF line ends, unstuffed).
	 * Return 0 once it is committed (or was already stored: DELE may
	 * follow), -1 to stop the session with POP3_FAIL_LOCAL (no DELE).
	 */
	int (*message)(void *arg, const struct pop3_msg *m, const char *raw,
		       size_t len);
	/* A message the server sent bigger than max_size (LIST lied). */
	void (*too_big)(void *arg, const struct pop3_msg *m);
	/* The end; the client may be freed from here. */
	void (*done)(void *arg, const struct pop3_result *r);
};

struct pop3_client_cfg {
	const char *host;
	unsigned port;
	enum pop3_tls_mode tls;
	SSL_CTX *tls_ctx; /* tls_client_ctx_new; NULL only for POP3_TLS_NONE */
	const char *user;
	const char *password;
	uint64_t max_size;	/* bigger messages are not kept */
	unsigned timeout_secs;	/* connect and read timeout */
	int list_only;		/* after the listing hook: QUIT (account test) */
};

/*
 * Starts a session; cfg's strings are copied. Hooks are called from the
 * loop; done is called exactly once (never from within pop3_client_new).
 */
struct pop3_client *pop3_client_new(struct ev_loop *loop,
				    const struct pop3_client_cfg *cfg,
				    const struct pop3_client_hooks *hooks,
				    void *arg);
/* Ends the session at once (no QUIT: nothing not yet confirmed is
 * deleted) without calling done. Sets *c to NULL. */
void pop3_client_free(struct pop3_client **c);

#endif
