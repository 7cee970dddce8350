/*
 * bridge/imap_cmd_any.c: commands valid in any state and login
 * (RFC 3501 6.1-6.2): CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
 * AUTHENTICATE PLAIN (RFC 4959 SASL-IR, RFC 4616), ID (RFC 2971),
 * ENABLE (RFC 5161: CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4rev2).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/version.h"
#include "../common/xalloc.h"
#include "../common/auth_throttle.h"
#include "config.h"
#include "conn.h"
#include "ev.h"
#include "imap_cmd.h"
#include "imap_server.h"
#include "imap_session.h"

int
cmd_capability(struct imap_session *s, const struct imap_arg *args,
	       size_t nargs)
{
	struct buf b;

	if (nargs != 0)
		return imap_bad(s, "CAPABILITY takes no arguments");
	buf_init(&b, 4096);
	imap_session_capabilities(s, &b);
	imap_send(s, "* CAPABILITY %s\r\n", buf_cstr(&b));
	buf_clear(&b);
	return imap_tagged(s, "OK", "CAPABILITY completed");
}

int
cmd_noop(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "NOOP takes no arguments");
	return imap_tagged(s, "OK", "NOOP completed");
}

int
cmd_logout(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "LOGOUT takes no arguments");
	imap_send(s, "* BYE Logging out\r\n");
	s->state = IMAP_STATE_LOGOUT;
	imap_view_free(&s->view);
	imap_tagged(s, "OK", "LOGOUT completed");
	imap_session_close(s);
	return CMD_DONE;
}

int
cmd_starttls(struct imap_session *s, const struct imap_arg *args,
	     size_t nargs)
{
	if (nargs != 0)
		return imap_bad(s, "STARTTLS takes no arguments");
	if (conn_is_tls(s->conn))
		return imap_bad(s, "TLS is already active");
	if (s->srv->tls == NULL)
		return imap_tagged(s, "NO", "TLS is not available");
	imap_tagged(s, "OK", "Begin TLS negotiation now");
	s->starttls_done = 1;
	s->greeted_tls = 1;
	if (conn_starttls(s->conn, s->srv->tls) < 0) {
		/* Commands pipelined after STARTTLS: a plaintext injection
		 * attempt; never run them. */
		log_info("imap session=%llu starttls refused: input after "
			 "command",
			 (unsigned long long)s->id);
		imap_session_close(s);
	}
	return CMD_DONE;
}

static int
plaintext_allowed(struct imap_session *s)
{
	const struct pb_config *cfg = s->srv->cfg;

	if (conn_is_tls(s->conn))
		return 1;
	if (cfg->plaintext_login == PLAINTEXT_LOGIN_ALWAYS)
		return 1;
	return cfg->plaintext_login == PLAINTEXT_LOGIN_LOOPBACK &&
	       conn_peer_is_loopback(s->conn);
}

static void
login_ok(struct imap_session *s, const char *user, char *device)
{
	struct buf b;

	s->state = IMAP_STATE_AUTH;
	free(s->user);
	s->user = xstrdup(user);
	free(s->device);
	s->device = device;
	auth_throttle_ok(s->srv->throttle, conn_peer(s->conn));
	imap_reader_set_literal_max(s->reader, IMAP_MAX_LITERAL);
	conn_set_timeout(s->conn, IMAP_IDLE_AUTH_SECS);
	log_info("imap session=%llu login user=%s device=%s",
		 (unsigned long long)s->id, user, device ? device : "-");
	buf_init(&b, 4096);
	imap_session_capabilities(s, &b);
	imap_tagged(s, "OK", "[CAPABILITY %s] Logged in", buf_cstr(&b));
	buf_clear(&b);
}

static void
login_fail_cb(void *arg)
{
	struct imap_session *s = arg;

	s->auth_delay_timer = 0;
	s->auth_waiting = 0;
	imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Invalid credentials");
	s->cmd = NULL;
	/* Input that arrived meanwhile waits in the buffer. */
	if (conn_in(s->conn)->len)
		imap_session_kick(s);
}

static void
login_fail(struct imap_session *s, const char *user)
{
	uint64_t delay = auth_throttle_fail(s->srv->throttle,
					    conn_peer(s->conn), ev_now_ms());

	log_info("imap session=%llu login failed peer=%s delay_ms=%llu",
		 (unsigned long long)s->id, conn_peer(s->conn),
		 (unsigned long long)delay);
	(void)user;
	s->auth_waiting = 1;
	s->auth_delay_timer = ev_timer_add(s->srv->loop, delay, login_fail_cb,
					   s);
}

static int
try_login(struct imap_session *s, const char *user, const char *pass)
{
	char *device = NULL;

	if (store_auth_check(s->srv->st, user, pass, &device) == 0)
		login_ok(s, user, device);
	else
		login_fail(s, user);
	return CMD_DONE;
}

int
cmd_login(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	char *user, *pass;
	int r;

	if (nargs != 2 || !imap_arg_is_astring(&args[0]) ||
	    !imap_arg_is_astring(&args[1]))
		return imap_bad(s, "LOGIN needs user name and password");
	if (!plaintext_allowed(s))
		return imap_tagged(s, "NO",
				   "[PRIVACYREQUIRED] Use STARTTLS or IMAPS "
				   "to log in");
	if (memchr(args[0].s, 0, args[0].len) ||
	    memchr(args[1].s, 0, args[1].len))
		return imap_bad(s, "NUL in credentials");
	user = xmemdup0(args[0].s, args[0].len);
	pass = xmemdup0(args[1].s, args[1].len);
	r = try_login(s, user, pass);
	explicit_bzero(pass, args[1].len);
	free(pass);
	free(user);
	return r;
}

/* SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, base64. */
static int
auth_plain(struct imap_session *s, const char *b64, size_t len)
{
	unsigned char *dec;
	int n;
	size_t dlen, pad = 0, i;
	const char *authz, *authc, *pass;
	char *p1, *p2;
	int r;

	if (len == 1 && b64[0] == '=')
		len = 0;
	if (len % 4 != 0 || len > 4096)
		return imap_bad(s, "Invalid base64");
	for (i = 0; i < len; i++) {
		char ch = b64[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
		      (ch == '=' && i >= len - 2)))
			return imap_bad(s, "Invalid base64");
	}
	dec = xmalloc(len + 1);
	n = len ? EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len)
		: 0;
	if (n < 0) {
		free(dec);
		return imap_bad(s, "Invalid base64");
	}
	if (len >= 1 && b64[len - 1] == '=')
		pad++;
	if (len >= 2 && b64[len - 2] == '=')
		pad++;
	dlen = (size_t)n - pad;
	dec[dlen] = '\0';
	authz = (const char *)dec;
	p1 = memchr(dec, '\0', dlen);
	if (p1 == NULL || (size_t)(p1 - (char *)dec) >= dlen) {
		explicit_bzero(dec, len + 1);
		free(dec);
		return imap_tagged(s, "NO",
				   "[AUTHENTICATIONFAILED] Invalid PLAIN "
				   "message");
	}
	authc = p1 + 1;
	p2 = memchr(authc, '\0', dlen - (size_t)(authc - (char *)dec));
	if (p2 == NULL) {
		explicit_bzero(dec, len + 1);
		free(dec);
		return imap_tagged(s, "NO",
				   "[AUTHENTICATIONFAILED] Invalid PLAIN "
				   "message");
	}
	pass = p2 + 1;
	if (*authz && strcmp(authz, authc) != 0) {
		explicit_bzero(dec, len + 1);
		free(dec);
		return imap_tagged(s, "NO",
				   "[AUTHORIZATIONFAILED] Cannot act as "
				   "another user");
	}
	r = try_login(s, authc, pass);
	explicit_bzero(dec, len + 1);
	free(dec);
	return r;
}

static int
auth_cont(struct imap_session *s)
{
	const char *line;
	size_t len;
	int r = imap_reader_line(s->reader, conn_in(s->conn), &line, &len);

	if (r == 0)
		return CMD_AGAIN;
	s->cont = NULL; /* the reply below ends the command */
	if (r < 0)
		return imap_bad(s, "Line too long");
	if (len == 1 && line[0] == '*')
		return imap_bad(s, "Authentication cancelled");
	return auth_plain(s, line, len);
}

int
cmd_authenticate(struct imap_session *s, const struct imap_arg *args,
		 size_t nargs)
{
	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM)
		return imap_bad(s, "AUTHENTICATE needs a mechanism");
	if (!str_eqi_cstr(str_make(args[0].s, args[0].len), "PLAIN"))
		return imap_tagged(s, "NO",
				   "[CANNOT] Unsupported mechanism; use PLAIN");
	if (!plaintext_allowed(s))
		return imap_tagged(s, "NO",
				   "[PRIVACYREQUIRED] Use STARTTLS or IMAPS "
				   "to log in");
	if (nargs == 2) {
		if (args[1].type != IMAP_ARG_ATOM)
			return imap_bad(s, "Invalid initial response");
		return auth_plain(s, args[1].s, args[1].len);
	}
	imap_send(s, "+ \r\n");
	imap_session_set_cont(s, auth_cont, NULL, NULL);
	return auth_cont(s);
}

int
cmd_id(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	if (nargs != 1 ||
	    (args[0].type != IMAP_ARG_NIL && args[0].type != IMAP_ARG_LIST))
		return imap_bad(s, "ID needs NIL or a list");
	if (args[0].type == IMAP_ARG_LIST && args[0].nlist > 60)
		return imap_bad(s, "ID list too long");
	imap_send(s, "* ID (\"name\" \"popbridge\" \"version\" \"" PB_VERSION
		     "\")\r\n");
	return imap_tagged(s, "OK", "ID completed");
}

int
cmd_enable(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct buf b;
	size_t i;

	if (nargs == 0)
		return imap_bad(s, "ENABLE needs capabilities");
	buf_init(&b, 1024);
	for (i = 0; i < nargs; i++) {
		struct str c;
		if (args[i].type != IMAP_ARG_ATOM) {
			buf_clear(&b);
			return imap_bad(s, "Capability name expected");
		}
		c = str_make(args[i].s, args[i].len);
		if (str_eqi_cstr(c, "CONDSTORE")) {
			if (!s->condstore)
				buf_addstr(&b, " CONDSTORE");
			s->condstore = 1;
		} else if (str_eqi_cstr(c, "QRESYNC")) {
			if (!s->qresync)
				buf_addstr(&b, " QRESYNC");
			s->qresync = 1;
			s->condstore = 1;
		} else if (str_eqi_cstr(c, "UTF8=ACCEPT")) {
			if (!s->utf8_accept)
				buf_addstr(&b, " UTF8=ACCEPT");
			s->utf8_accept = 1;
		} else if (str_eqi_cstr(c, "IMAP4rev2")) {
			if (!s->rev2)
				buf_addstr(&b, " IMAP4rev2");
			s->rev2 = 1;
		}
	}
	imap_send(s, "* ENABLED%s\r\n", buf_cstr(&b));
	buf_clear(&b);
	return imap_tagged(s, "OK", "ENABLE completed");
}
