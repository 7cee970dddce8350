/*
 * web/web_actions.c: what the web admin's forms do (POST): first-run
 * setup with the one-time token, login, logout. Every action checks the
 * form's CSRF token against the session first; every change goes through
 * db/store.h, the same API as the `popbridge` commands. Failed logins are
 * throttled per client address (common/auth_throttle.h): while an address
 * must wait, its logins are refused with 429 without being checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/auth_throttle.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../db/store.h"
#include "web_int.h"

/* Shortest password the setup page accepts. */
#define WEB_PASSWORD_MIN 8

static uint64_t
web_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A login name: 1..STORE_USER_MAX of letters, digits and "._@+-". */
static int
web_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL))
			return 0;
	}
	return n >= 1 && n <= CLI_USER_NAME_MAX;
}

/* Logs in: a fresh session replaces the anonymous one (no fixation). */
static void
web_start_session(struct web_req *r)
{
	const struct web_session *s;

	if (r->sess != NULL)
		web_auth_session_end(r->w->auth, r->sess->id);
	r->sess = NULL;
	s = web_auth_session_new(r->w->auth, 1, r->now);
	if (s == NULL) {
		web_page_error(r, 500, "Cannot log in",
		               "No random numbers for a session.");
		return;
	}
	r->sess = s;
	web_set_session_cookie(r, s);
	web_redirect(r, "/");
}

void
web_action_setup(struct web_req *r)
{
	const char *token, *user, *pw, *pw2;
	char *want = NULL;
	int ok;

	if (!web_check_csrf(r))
		return;
	if (store_password_is_set(r->w->st)) {
		web_redirect(r, "/login");
		return;
	}
	token = web_form_get(&r->form, "token", 256);
	user = web_form_get(&r->form, "user", STORE_USER_MAX);
	pw = web_form_get(&r->form, "password", STORE_PASSWORD_MAX);
	pw2 = web_form_get(&r->form, "password2", STORE_PASSWORD_MAX);
	if (store_setting_get(r->w->st, "setup_token", &want) < 0 ||
	    want == NULL || want[0] == '\0') {
		free(want);
		web_page_setup(r, "This store has no setup token. Run "
		                  "`popbridge passwd` on the machine instead.");
		return;
	}
	ok = token != NULL && strlen(token) == strlen(want) &&
	     CRYPTO_memcmp(token, want, strlen(want)) == 0;
	free(want);
	if (!ok) {
		log_warnx("web: setup with a wrong token from %s", r->addr);
		(void)auth_throttle_fail(r->w->throttle, r->addr, web_now_ms());
		web_page_setup(r, "The setup token is not right. Copy it from "
		                  "the log of popbridge serve.");
		return;
	}
	if (user == NULL || !web_name_ok(user)) {
		web_page_setup(r, "The login name may use letters, digits and "
		                  "._@+- (up to 64).");
		return;
	}
	if (pw == NULL || pw2 == NULL || strlen(pw) < WEB_PASSWORD_MIN) {
		web_page_setup(r, "The password needs at least 8 characters.");
		return;
	}
	if (strcmp(pw, pw2) != 0) {
		web_page_setup(r, "The two passwords are not the same.");
		return;
	}
	if (store_begin(r->w->st) < 0 ||
	    store_user_set(r->w->st, user) < 0 ||
	    store_password_set(r->w->st, pw) < 0 ||
	    store_setting_del(r->w->st, "setup_token") < 0 ||
	    store_commit(r->w->st) < 0) {
		(void)store_rollback(r->w->st);
		web_page_setup(r, store_last_error(r->w->st));
		return;
	}
	log_info("web: setup done from %s, user %s", r->addr, user);
	web_start_session(r);
}

void
web_action_login(struct web_req *r)
{
	const char *user, *pw;
	char *device = NULL;
	uint64_t wait;
	int rc;

	if (!web_check_csrf(r))
		return;
	wait = auth_throttle_wait(r->w->throttle, r->addr, web_now_ms());
	if (wait > 0) {
		char text[160];

		snprintf(text, sizeof text,
		         "Too many failed logins from your address. Try again "
		         "in %llu seconds.",
		         (unsigned long long)((wait + 999) / 1000));
		r->status = 429;
		web_page_login(r, text);
		return;
	}
	user = web_form_get(&r->form, "user", STORE_USER_MAX);
	pw = web_form_get(&r->form, "password", STORE_PASSWORD_MAX);
	rc = user && pw ? store_auth_check(r->w->st, user, pw, &device) : -1;
	/* Device passwords are for IMAP only. */
	if (rc == 0 && device == NULL) {
		auth_throttle_ok(r->w->throttle, r->addr);
		log_info("web: login from %s", r->addr);
		web_start_session(r);
		return;
	}
	free(device);
	(void)auth_throttle_fail(r->w->throttle, r->addr, web_now_ms());
	log_warnx("web: failed login from %s", r->addr);
	r->status = 200;
	web_page_login(r, "Wrong login name or password.");
}

void
web_action_logout(struct web_req *r)
{
	if (!web_check_csrf(r))
		return;
	web_auth_session_end(r->w->auth, r->sess->id);
	r->sess = NULL;
	snprintf(r->cookie, sizeof r->cookie,
	         "pbsid=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	         r->w->tls ? "; Secure" : "");
	web_redirect(r, "/login");
}
