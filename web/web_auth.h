/*
 * web/web_auth.h: the web admin's sessions (in memory; a restart logs
 * everyone out). A session is made for every browser that reaches a form
 * (anonymous, for the CSRF token of the login and setup forms) and is
 * replaced by a new one at login (no session fixation). Ids and CSRF
 * tokens are 32 random bytes (RAND_bytes) in base64url, 43 characters;
 * ids are compared in constant time. At most WEB_SESSIONS_MAX live
 * sessions: when full, the one idle longest goes. A session ends after
 * WEB_SESSION_IDLE_SECS without a request or WEB_SESSION_MAX_SECS after
 * it was made.
 */
#ifndef PB_WEB_AUTH_H
#define PB_WEB_AUTH_H

#include <stdint.h>

#define WEB_TOKEN_LEN 43

struct web_auth;

struct web_session {
	char id[WEB_TOKEN_LEN + 1];   /* the cookie value */
	char csrf[WEB_TOKEN_LEN + 1]; /* the hidden form field */
	int authed;		      /* logged in */
	int64_t created;	      /* unix time */
	int64_t last_seen;
};

struct web_auth *web_auth_new(void);
void web_auth_free(struct web_auth **a);

/*
 * A new session (authed 0 or 1). Returns it (valid until the next call
 * that makes or ends sessions), NULL when no randomness is available.
 */
const struct web_session *web_auth_session_new(struct web_auth *a,
					       int authed, int64_t now);
/*
 * The live session with this id (NULL, malformed or unknown: NULL); it
 * counts as a request (last_seen = now).
 */
const struct web_session *web_auth_session_get(struct web_auth *a,
					       const char *id, int64_t now);
/* 1 when token is s's CSRF token (constant time), else 0. */
int web_auth_csrf_ok(const struct web_session *s, const char *token);
/* Ends one session (logout), or every session (password changed). */
void web_auth_session_end(struct web_auth *a, const char *id);
void web_auth_end_all(struct web_auth *a);
/* Number of live sessions (tests, dashboard). */
unsigned web_auth_count(struct web_auth *a, int64_t now);

#endif
