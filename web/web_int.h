/*
 * web/web_int.h: private to the web/ sources: the web admin's state, one request
 * as the handlers see it, and the page functions of web_pages.c.
 */
#ifndef PB_WEB_INT_H
#define PB_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "web.h"
#include "web_auth.h"
#include "web_form.h"

struct MHD_Daemon;
struct MHD_Connection;
struct auth_throttle;

struct web {
	struct MHD_Daemon *mhd;
	struct store *st;
	struct web_hooks hooks;
	struct web_auth *auth;
	struct auth_throttle *throttle;
	int tls;
	char *data_dir;
	char *imap_listen, *imap_listen_tls;
	char *cert_pem, *key_pem; /* kept while the daemon runs */
};

/* One request, from its first byte to the response. */
struct web_req {
	struct web *w;
	struct MHD_Connection *conn;
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* "/login" (no query) */
	char addr[64];	    /* client address */
	int is_post;
	struct buf body; /* capped at WEB_BODY_MAX */
	int body_too_big;
	struct web_form form; /* POST body, parsed */
	const struct web_session *sess; /* may be NULL */
	int64_t now;
	/* the response */
	unsigned status;
	struct buf out;
	const char *ctype;
	char cookie[160];   /* Set-Cookie value, "" for none */
	char location[256]; /* redirect target, "" for none */
};

/* ---- web.c: response helpers ---- */

/* 303 See Other to a path of ours. */
void web_redirect(struct web_req *r, const char *path);
/* Makes an anonymous session for the forms when there is none. */
const struct web_session *web_ensure_session(struct web_req *r);
/* Sets the session cookie of s (made at login / for a form). */
void web_set_session_cookie(struct web_req *r, const struct web_session *s);
/* The POST's CSRF token matches the session's; else a 403 page is set
 * and 0 returned. */
int web_check_csrf(struct web_req *r);

/* ---- web_pages.c: the pages ---- */

void web_page_begin(struct web_req *r, const char *title);
void web_page_end(struct web_req *r);
/* The hidden CSRF input of the current session. */
void web_page_csrf(struct web_req *r);
void web_page_error(struct web_req *r, unsigned status, const char *title,
		    const char *text);
const char *web_page_css(size_t *len_r);

void web_page_setup(struct web_req *r, const char *error);
void web_page_login(struct web_req *r, const char *error);
void web_page_dashboard(struct web_req *r);

/* ---- web_actions.c: what the forms do (POST) ---- */

void web_action_setup(struct web_req *r);
void web_action_login(struct web_req *r);
void web_action_logout(struct web_req *r);

#endif
