/*
 * bridge/imap_session.c: one IMAP connection (RFC 3501, RFC 9051): the
 * greeting, reading commands through imap_parser, dispatching them by the
 * command table with state checks, tagged replies, back pressure, timeouts
 * and the end of the session. The selected folder's view lives in
 * imap_view.c; the commands in imap_cmd_*.c.
 */
#include "imap_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/imap_quote.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../common/auth_throttle.h"
#include "config.h"
#include "conn.h"
#include "ev.h"
#include "imap_seqset.h"
#include "imap_server.h"

static void session_conn_cb(struct conn *c, enum conn_event ev, void *arg);
static void session_input(struct imap_session *s);
static void session_dispatch(struct imap_session *s,
			     const struct imap_command *cmd);
static void session_greet(struct imap_session *s);

struct imap_session *
imap_session_new(struct imap_server *srv, int fd, const char *peer,
		 int is_loopback, int implicit_tls)
{
	struct imap_session *s = xcalloc(1, sizeof *s);

	s->srv = srv;
	s->id = ++srv->next_id;
	s->state = IMAP_STATE_NOTAUTH;
	buf_init(&s->tag, 1024);
	s->reader = imap_reader_new(IMAP_MAX_LINE, IMAP_MAX_LITERAL_PREAUTH,
				    srv->spool_dir);
	s->conn = conn_new(srv->loop, fd, implicit_tls ? srv->tls : NULL,
			   IMAP_MAX_LINE + 4096, session_conn_cb, s);
	conn_set_peer(s->conn, peer, is_loopback);
	conn_set_timeout(s->conn, IMAP_IDLE_PREAUTH_SECS);
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	log_info("imap session=%llu connect peer=%s tls=%s",
		 (unsigned long long)s->id, peer, implicit_tls ? "yes" : "no");
	if (!implicit_tls)
		session_greet(s);
	return s;
}

static void
session_cont_clear(struct imap_session *s)
{
	if (s->cont_free && s->cont_ctx)
		s->cont_free(s->cont_ctx);
	s->cont = NULL;
	s->cont_ctx = NULL;
	s->cont_free = NULL;
}

void
imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;
	struct imap_server *srv;

	if (s == NULL)
		return;
	srv = s->srv;
	log_info("imap session=%llu disconnect user=%s",
		 (unsigned long long)s->id, s->user ? s->user : "-");
	session_cont_clear(s);
	if (s->idle_keepalive_timer)
		ev_timer_del(srv->loop, s->idle_keepalive_timer);
	if (s->auth_delay_timer)
		ev_timer_del(srv->loop, s->auth_delay_timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	/* The last client left: give SQLite's cache and mapped pages back. */
	if (srv->nsessions == 0)
		(void)store_release_memory(srv->st);
	imap_view_free(&s->view);
	imap_reader_free(&s->reader);
	conn_free(&s->conn);
	buf_clear(&s->tag);
	free(s->user);
	free(s->device);
	free(s);
	*sp = NULL;
}

void
imap_session_close(struct imap_session *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->state = IMAP_STATE_LOGOUT;
	conn_close_after_flush(s->conn);
}

void
imap_session_capabilities(struct imap_session *s, struct buf *out)
{
	const struct pb_config *cfg = s->srv->cfg;
	int tls = conn_is_tls(s->conn);

	buf_addstr(out, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE "
			"NAMESPACE UNSELECT CHILDREN SPECIAL-USE UIDPLUS MOVE "
			"CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS "
			"STATUS=SIZE SEARCHRES BINARY UTF8=ACCEPT");
	buf_printf(out, " APPENDLIMIT=%u", (unsigned)IMAP_MAX_LITERAL);
	if (s->state == IMAP_STATE_NOTAUTH) {
		int allowed = tls ||
			      cfg->plaintext_login == PLAINTEXT_LOGIN_ALWAYS ||
			      (cfg->plaintext_login == PLAINTEXT_LOGIN_LOOPBACK &&
			       conn_peer_is_loopback(s->conn));
		if (!tls && s->srv->tls)
			buf_addstr(out, " STARTTLS");
		if (allowed)
			buf_addstr(out, " AUTH=PLAIN");
		else
			buf_addstr(out, " LOGINDISABLED");
	}
}

static void
session_greet(struct imap_session *s)
{
	struct buf caps;
	buf_init(&caps, 4096);
	imap_session_capabilities(s, &caps);
	imap_send(s, "* OK [CAPABILITY %s] popbridge ready\r\n",
		  buf_cstr(&caps));
	buf_clear(&caps);
}

void
imap_send_raw(struct imap_session *s, const void *p, size_t len)
{
	conn_write(s->conn, p, len);
}

void
imap_send(struct imap_session *s, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		conn_write(s->conn, small, (size_t)n);
		return;
	} else {
		char *big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		conn_write(s->conn, big, (size_t)n);
		free(big);
	}
}

int
imap_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (s->state == IMAP_STATE_SELECTED && s->view &&
	    strcmp(status, "BAD") != 0) {
		int allow_exp = !(s->cmd && (s->cmd->flags & CMDF_NO_EXPUNGE) &&
				  !s->cmd_uid);
		imap_view_sync(s, allow_exp);
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	imap_send(s, "%s %s %s\r\n", buf_cstr(&s->tag), status, text);
	if (strcmp(status, "BAD") == 0) {
		if (++s->bad_count >= IMAP_MAX_BAD_COMMANDS) {
			imap_send(s, "* BYE Too many invalid commands\r\n");
			imap_session_close(s);
		}
	} else {
		s->bad_count = 0;
	}
	return CMD_DONE;
}

int
imap_bad(struct imap_session *s, const char *why)
{
	return imap_tagged(s, "BAD", "%s", why);
}

int
imap_reply_store_error(struct imap_session *s, int err, const char *what)
{
	const char *code, *text;

	if (err < 0)
		err = -err;
	text = store_last_error(s->srv->st);
	if (text == NULL || *text == '\0')
		text = store_strerror(err);
	switch (err) {
	case STORE_ERR_NOTFOUND:
		code = "[NONEXISTENT] ";
		break;
	case STORE_ERR_EXISTS:
		code = "[ALREADYEXISTS] ";
		break;
	case STORE_ERR_TOOBIG:
		code = "[TOOBIG] ";
		break;
	case STORE_ERR_LIMIT:
		code = "[LIMIT] ";
		break;
	case STORE_ERR_NOPERM:
		code = "[CANNOT] ";
		break;
	case STORE_ERR_HASCHILDREN:
		code = "[INUSE] ";
		break;
	case STORE_ERR_BUSY:
		code = "[INUSE] ";
		break;
	case STORE_ERR_INVALID:
		code = "[CANNOT] ";
		break;
	default:
		code = "[SERVERBUG] ";
		log_warnx("imap session=%llu store error in %s: %s",
			  (unsigned long long)s->id, what, text);
		text = "Internal error; the server log has details";
		break;
	}
	return imap_tagged(s, "NO", "%s%s failed: %s", code, what, text);
}

void
imap_session_set_cont(struct imap_session *s, imap_cont_fn fn, void *ctx,
		      void (*ctx_free)(void *))
{
	s->cont = fn;
	s->cont_ctx = ctx;
	s->cont_free = ctx_free;
}

/* Runs the continuation; 1 when the command finished. */
static int
session_run_cont(struct imap_session *s)
{
	int r = s->cont(s);
	if (r == CMD_DONE) {
		session_cont_clear(s);
		s->cmd = NULL;
		return 1;
	}
	return 0;
}

static void
session_conn_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct imap_session *s = arg;

	(void)c;
	s->in_handler++;
	switch (ev) {
	case CONN_EV_TLS_READY:
		if (s->state == IMAP_STATE_NOTAUTH && !s->greeted_tls) {
			s->greeted_tls = 1;
			if (!s->starttls_done)
				session_greet(s);
		}
		session_input(s);
		break;
	case CONN_EV_DATA:
	case CONN_EV_DRAINED:
		if (s->cont && !s->closing && !session_run_cont(s))
			break;
		session_input(s);
		break;
	case CONN_EV_TIMEOUT:
		if (!s->closing) {
			imap_send(s, "* BYE Autologout; idle for too long\r\n");
			imap_session_close(s);
		}
		break;
	case CONN_EV_CLOSED:
	case CONN_EV_ERROR:
		if (ev == CONN_EV_ERROR)
			log_info("imap session=%llu error=\"%s\"",
				 (unsigned long long)s->id,
				 conn_error(s->conn) ? conn_error(s->conn)
						     : "?");
		s->in_handler--;
		imap_session_free(&s);
		return;
	}
	s->in_handler--;
}

static void
session_input(struct imap_session *s)
{
	struct buf *in = conn_in(s->conn);

	while (!s->closing && s->cont == NULL && !s->auth_waiting) {
		enum imap_read_status st;

		if (conn_out_pending(s->conn) > IMAP_OUT_HIGH_WATER) {
			conn_want_drained(s->conn);
			return;
		}
		st = imap_reader_feed(s->reader, in);
		switch (st) {
		case IMAP_READ_NEED_MORE:
			return;
		case IMAP_READ_CONTINUE:
			imap_send(s, "+ Ready for literal data\r\n");
			break;
		case IMAP_READ_BAD:
			buf_reset(&s->tag);
			buf_addstr(&s->tag, imap_reader_error_tag(s->reader));
			s->cmd = NULL;
			if (strcmp(buf_cstr(&s->tag), "*") == 0) {
				imap_send(s, "* BAD %s\r\n",
					  imap_reader_error(s->reader));
				if (++s->bad_count >= IMAP_MAX_BAD_COMMANDS) {
					imap_send(s, "* BYE Too many invalid "
						     "commands\r\n");
					imap_session_close(s);
				}
			} else if (imap_reader_toobig(s->reader)) {
				imap_tagged(s, "NO", "[TOOBIG] %s",
					    imap_reader_error(s->reader));
			} else {
				imap_bad(s, imap_reader_error(s->reader));
			}
			break;
		case IMAP_READ_FATAL:
			imap_send(s, "* BYE %s\r\n", imap_reader_error(s->reader));
			imap_session_close(s);
			return;
		case IMAP_READ_COMMAND:
			session_dispatch(s, imap_reader_command(s->reader));
			break;
		}
	}
}

static void
session_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_cmd_def *def;
	const struct imap_arg *args = cmd->args;
	size_t nargs = cmd->nargs;
	char name[64];
	int r;

	buf_reset(&s->tag);
	buf_addstr(&s->tag, cmd->tag);
	s->cmd = NULL;
	s->cmd_uid = 0;
	snprintf(name, sizeof name, "%s", cmd->name);
	if (strcmp(name, "UID") == 0) {
		size_t i;
		if (nargs == 0 || args[0].type != IMAP_ARG_ATOM ||
		    args[0].len >= sizeof name) {
			imap_bad(s, "UID needs a command");
			return;
		}
		for (i = 0; i < args[0].len; i++) {
			char ch = args[0].s[i];
			name[i] = (ch >= 'a' && ch <= 'z') ? ch - 32 : ch;
		}
		name[i] = '\0';
		s->cmd_uid = 1;
		args++;
		nargs--;
	}
	def = imap_cmd_find(name);
	if (def == NULL || (s->cmd_uid && !(def->flags & CMDF_UID))) {
		imap_bad(s, "Unknown command");
		return;
	}
	s->cmd = def;
	if (s->state == IMAP_STATE_NOTAUTH && !(def->flags & CMDF_NOTAUTH)) {
		imap_bad(s, "Log in first");
		return;
	}
	if (s->state != IMAP_STATE_NOTAUTH && !(def->flags & CMDF_AUTH)) {
		imap_bad(s, "Already logged in");
		return;
	}
	if ((def->flags & CMDF_SELECTED) && s->state != IMAP_STATE_SELECTED) {
		imap_bad(s, "No folder selected");
		return;
	}
	r = def->fn(s, args, nargs);
	if (r == CMD_DONE) {
		session_cont_clear(s);
		s->cmd = NULL;
	}
}

int
imap_session_uidset_quiet(struct imap_session *s, const struct imap_arg *a,
			  int uid, struct imap_seqset *out)
{
	struct imap_seqset set;
	struct imap_view *v = s->view;

	memset(out, 0, sizeof *out);
	if (a->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(a->s, a->len, &set) < 0)
		return -1;
	if (set.is_searchres) {
		/* "$" (RFC 5182): the saved result, already UIDs. */
		struct imap_seqset saved = { NULL, 0, 0 };
		size_t i;

		imap_seqset_clear(&set);
		saved.r = xcalloc(v->nsearchres ? v->nsearchres : 1,
				  sizeof *saved.r);
		for (i = 0; i < v->nsearchres; i++) {
			saved.r[saved.n].lo = v->searchres[i];
			saved.r[saved.n].hi = v->searchres[i];
			saved.n++;
		}
		imap_seqset_uid_clip(&saved, v->uids, v->n, out);
		imap_seqset_clear(&saved);
		return 0;
	}
	if (uid) {
		uint32_t star = v->n ? v->uids[v->n - 1] : 0;
		imap_seqset_resolve_star(&set, star);
		imap_seqset_uid_clip(&set, v->uids, v->n, out);
	} else {
		size_t i;
		imap_seqset_resolve_star(&set, (uint32_t)v->n);
		for (i = 0; i < set.n; i++) {
			if (set.r[i].hi > v->n || set.r[i].lo == 0) {
				imap_seqset_clear(&set);
				return -1;
			}
		}
		imap_seqset_seq_to_uid(&set, v->uids, v->n, out);
	}
	imap_seqset_clear(&set);
	return 0;
}

int
imap_session_uidset(struct imap_session *s, const struct imap_arg *a, int uid,
		    struct imap_seqset *out)
{
	if (imap_session_uidset_quiet(s, a, uid, out) < 0) {
		imap_bad(s, uid ? "Invalid UID set"
				: "Invalid message sequence set");
		return -1;
	}
	return 0;
}

char *
imap_session_folder_arg(struct imap_session *s, const struct imap_arg *a)
{
	struct buf b;
	char *name;

	if (!imap_arg_is_astring(a)) {
		imap_bad(s, "Folder name expected");
		return NULL;
	}
	if (memchr(a->s, '\0', a->len) != NULL) {
		imap_bad(s, "NUL in folder name");
		return NULL;
	}
	buf_init(&b, FOLDER_NAME_MAX * 4);
	if (s->utf8_accept) {
		if (buf_add(&b, a->s, a->len) < 0) {
			buf_clear(&b);
			imap_bad(s, "Folder name too long");
			return NULL;
		}
	} else if (imap_utf7_to_utf8(a->s, a->len, &b) < 0) {
		buf_clear(&b);
		imap_bad(s, "Invalid modified UTF-7 in folder name");
		return NULL;
	}
	name = buf_steal(&b, NULL);
	if (str_ncasecmp_ascii(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
	return name;
}

void
imap_session_folder_out(struct imap_session *s, struct buf *out,
			const char *name)
{
	if (s->utf8_accept) {
		imap_quote_astring(out, name, strlen(name));
	} else {
		struct buf b;
		buf_init(&b, 0);
		if (imap_utf8_to_utf7(name, strlen(name), &b) < 0)
			imap_quote_astring(out, name, strlen(name));
		else
			imap_quote_astring(out, b.data ? b.data : "", b.len);
		buf_clear(&b);
	}
}

void
imap_session_kick(struct imap_session *s)
{
	s->in_handler++;
	if (s->cont == NULL || session_run_cont(s))
		session_input(s);
	s->in_handler--;
}
