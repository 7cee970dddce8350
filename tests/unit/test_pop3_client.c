/*
 * tests/unit/test_pop3_client.c: one POP3 session (bridge/pop3_client.c)
 * against a small POP3 maildrop served from the same event loop: login
 * choice (SASL PLAIN, APOP, USER/PASS), pipelined and one-at-a-time
 * commands, dot-unstuffing and exact bytes, DELE only after the message
 * hook committed, QUIT's count of deletions, no UIDL (TOP digests stable
 * across sessions), refused logins and [IN-USE], the fence against broken
 * dot-stuffing, a line over the limit, and a cut-off connection.
 *
 * The real servers (Dovecot) and the network faults are in the
 * integration tests; this file pins the state machine's exact behaviour.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../bridge/ev.h"
#include "../../bridge/pop3_client.h"
#include "../../common/buf.h"
#include "test.h"

#define SRV_MSGS 8

/* The scripted maildrop. */
struct srv {
	struct ev_loop *loop;
	int lfd, fd;
	struct buf in, out;
	/* options */
	int pipelining, uidl, sasl_plain, apop, capa, in_use, bad_stuffing;
	int cut_in_retr;    /* close the connection in the middle of RETR n */
	int long_line;	    /* answer LIST with a 70 KB line */
	const char *password;
	/* maildrop */
	const char *msgs[SRV_MSGS];
	size_t nmsgs;
	int deleted[SRV_MSGS];
	int committed; /* deletions done at QUIT */
	/* what we saw */
	int max_inflight_seen; /* commands queued before we answered */
	char log[8192];
	size_t loglen;
	int authed;
	const char *auth_cmd;
};

static struct srv S;

/* Client-side record of the hooks. */
struct rec {
	struct pop3_result res;
	char error[512];
	int done;
	int nmsg;
	char got[SRV_MSGS][2048];
	size_t gotlen[SRV_MSGS];
	char uidls[SRV_MSGS][80];
	int fail_on; /* message hook returns -1 for this msgno */
	enum pop3_action act;
	char tls_auth[32];
	int complete;
};

static struct rec R;

static void
srv_log(const char *line, size_t len)
{
	if (S.loglen + len + 2 < sizeof S.log) {
		memcpy(S.log + S.loglen, line, len);
		S.loglen += len;
		S.log[S.loglen++] = '|';
		S.log[S.loglen] = '\0';
	}
}

static void
srv_flush(void)
{
	while (S.out.len > 0 && S.fd >= 0) {
		ssize_t n = send(S.fd, S.out.data, S.out.len, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		buf_consume(&S.out, (size_t)n);
	}
	if (S.fd >= 0)
		ev_fd_mask(S.loop, S.fd, S.out.len ? EV_READ | EV_WRITE : EV_READ);
}

static void
srv_close(void)
{
	if (S.fd >= 0) {
		ev_fd_del(S.loop, S.fd);
		close(S.fd);
		S.fd = -1;
	}
}

static void
srv_send(const char *s)
{
	buf_addstr(&S.out, s);
}

/* Dot-stuffed message followed by the terminator. */
static void
srv_send_body(const char *m, int stuff)
{
	const char *p = m;
	int bol = 1;

	for (; *p; p++) {
		if (bol && *p == '.' && stuff)
			buf_addc(&S.out, '.');
		buf_addc(&S.out, *p);
		bol = *p == '\n';
	}
	srv_send(".\r\n");
}

static void srv_cmd(const char *line, size_t len);

static void
srv_io_cb(int fd, unsigned events, void *arg)
{
	char tmp[4096];
	ssize_t n;

	(void)arg;
	if (events & EV_WRITE)
		srv_flush();
	if (!(events & EV_READ) || S.fd < 0)
		return;
	n = recv(fd, tmp, sizeof tmp, 0);
	if (n <= 0) {
		srv_close();
		return;
	}
	buf_add(&S.in, tmp, (size_t)n);
	for (;;) {
		char *nl = S.in.data ? memchr(S.in.data, '\n', S.in.len) : NULL;
		size_t len;
		int queued = 0;
		char *q;

		if (nl == NULL)
			break;
		len = (size_t)(nl - S.in.data);
		/* count complete commands waiting behind this one */
		for (q = nl + 1; q < S.in.data + S.in.len; q++)
			if (*q == '\n')
				queued++;
		if (queued + 1 > S.max_inflight_seen)
			S.max_inflight_seen = queued + 1;
		if (len > 0 && S.in.data[len - 1] == '\r')
			len--;
		{
			char line[512];
			size_t l = len < sizeof line - 1 ? len : sizeof line - 1;

			memcpy(line, S.in.data, l);
			line[l] = '\0';
			buf_consume(&S.in, (size_t)(nl - S.in.data) + 1);
			srv_cmd(line, l);
		}
		if (S.fd < 0)
			return;
	}
	srv_flush();
}

static void
srv_accept_cb(int fd, unsigned events, void *arg)
{
	int c;

	(void)events;
	(void)arg;
	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	S.fd = c;
	ev_fd_set(S.loop, c, EV_READ, srv_io_cb, NULL);
	if (S.apop)
		srv_send("+OK ready <1896.697170952@dbc.mtview.ca.us>\r\n");
	else
		srv_send("+OK ready\r\n");
	srv_flush();
}

static int
srv_msgno(const char *arg, size_t *idx_r)
{
	long n = strtol(arg, NULL, 10);

	if (n < 1 || (size_t)n > S.nmsgs || S.deleted[n - 1])
		return -1;
	*idx_r = (size_t)n - 1;
	return 0;
}

static void
srv_cmd(const char *line, size_t len)
{
	char reply[256];
	size_t i;

	if (strncmp(line, "PASS ", 5) == 0 || strncmp(line, "AUTH ", 5) == 0)
		srv_log(line, 4);
	else
		srv_log(line, len);
	if (strcmp(line, "CAPA") == 0) {
		if (!S.capa) {
			srv_send("-ERR unknown command\r\n");
			return;
		}
		srv_send("+OK\r\nTOP\r\nUSER\r\nRESP-CODES\r\n");
		if (S.uidl)
			srv_send("UIDL\r\n");
		if (S.pipelining)
			srv_send("PIPELINING\r\n");
		if (S.sasl_plain)
			srv_send("SASL PLAIN LOGIN\r\n");
		srv_send(".\r\n");
		return;
	}
	if (!S.authed) {
		if (strncmp(line, "USER ", 5) == 0) {
			S.auth_cmd = "USER";
			srv_send("+OK\r\n");
		} else if (strncmp(line, "PASS ", 5) == 0) {
			if (strcmp(line + 5, S.password) != 0) {
				srv_send("-ERR [AUTH] Authentication failed.\r\n");
			} else if (S.in_use) {
				srv_send("-ERR [IN-USE] Mailbox locked\r\n");
			} else {
				S.authed = 1;
				srv_send("+OK Logged in.\r\n");
			}
		} else if (strncmp(line, "AUTH PLAIN ", 11) == 0) {
			unsigned char dec[256];
			int n = EVP_DecodeBlock(dec, (const unsigned char *)line + 11,
			                        (int)strlen(line + 11));
			size_t ul;

			S.auth_cmd = "AUTH PLAIN";
			/* "\0user\0pass" (EVP_DecodeBlock pads with zeros) */
			if (n > 2 && dec[0] == '\0') {
				ul = strlen((char *)dec + 1);
				if (strcmp((char *)dec + 2 + ul, S.password) == 0 &&
				    !S.in_use) {
					S.authed = 1;
					srv_send("+OK Logged in.\r\n");
					return;
				}
			}
			srv_send(S.in_use ? "-ERR [IN-USE] Mailbox locked\r\n"
			                  : "-ERR [AUTH] Authentication failed.\r\n");
		} else if (strncmp(line, "APOP ", 5) == 0) {
			/* md5("<1896.697170952@dbc.mtview.ca.us>tanstaaf") */
			S.auth_cmd = "APOP";
			if (strstr(line, "c4c9334bac560ecc979e58001b3e22fb") &&
			    !S.in_use) {
				S.authed = 1;
				srv_send("+OK maildrop has messages\r\n");
			} else {
				srv_send("-ERR [AUTH] permission denied\r\n");
			}
		} else if (strcmp(line, "QUIT") == 0) {
			srv_send("+OK bye\r\n");
			srv_flush();
			srv_close();
		} else {
			srv_send("-ERR not yet\r\n");
		}
		return;
	}
	if (strcmp(line, "LIST") == 0) {
		if (S.long_line) {
			srv_send("+OK\r\n1 ");
			for (i = 0; i < 70000; i++)
				buf_addc(&S.out, '9');
			srv_send("\r\n.\r\n");
			return;
		}
		srv_send("+OK\r\n");
		for (i = 0; i < S.nmsgs; i++) {
			if (S.deleted[i])
				continue;
			snprintf(reply, sizeof reply, "%zu %zu\r\n", i + 1,
			         strlen(S.msgs[i]));
			srv_send(reply);
		}
		srv_send(".\r\n");
	} else if (strcmp(line, "UIDL") == 0) {
		if (!S.uidl) {
			srv_send("-ERR unknown command\r\n");
			return;
		}
		srv_send("+OK\r\n");
		for (i = 0; i < S.nmsgs; i++) {
			if (S.deleted[i])
				continue;
			snprintf(reply, sizeof reply, "%zu uid-%zu\r\n", i + 1,
			         i + 100);
			srv_send(reply);
		}
		srv_send(".\r\n");
	} else if (strncmp(line, "RETR ", 5) == 0 ||
	           strncmp(line, "TOP ", 4) == 0) {
		int top = line[0] == 'T';

		if (srv_msgno(line + (top ? 4 : 5), &i) < 0) {
			srv_send("-ERR no such message\r\n");
			return;
		}
		srv_send("+OK\r\n");
		if (top) {
			const char *m = S.msgs[i], *end = strstr(m, "\r\n\r\n");
			char hdr[1024];
			size_t hl = end ? (size_t)(end - m) + 4 : strlen(m);

			memcpy(hdr, m, hl);
			hdr[hl] = '\0';
			srv_send_body(hdr, 1);
			return;
		}
		if (S.cut_in_retr == (int)i + 1) {
			buf_add(&S.out, S.msgs[i], strlen(S.msgs[i]) / 2);
			srv_flush();
			srv_close();
			return;
		}
		srv_send_body(S.msgs[i], !(S.bad_stuffing == (int)i + 1));
	} else if (strncmp(line, "DELE ", 5) == 0) {
		if (srv_msgno(line + 5, &i) < 0) {
			srv_send("-ERR no such message\r\n");
			return;
		}
		S.deleted[i] = 1;
		srv_send("+OK deleted\r\n");
	} else if (strcmp(line, "NOOP") == 0) {
		srv_send("+OK\r\n");
	} else if (strcmp(line, "QUIT") == 0) {
		for (i = 0; i < S.nmsgs; i++)
			if (S.deleted[i])
				S.committed++;
		srv_send("+OK bye\r\n");
		srv_flush();
		srv_close();
	} else {
		srv_send("-ERR unknown\r\n");
	}
}

static unsigned
srv_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	static const char *const msgs[] = {
		"Subject: one\r\n\r\nhello\r\n",
		"Subject: two\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n",
		"Subject: three\r\n\r\nbare\nlf\nlines\n",
		"Subject: four\r\n\r\n8bit \xc3\xa9 and NUL? no: text only\r\n",
	};
	size_t i;

	memset(&S, 0, sizeof S);
	S.capa = 1;
	S.uidl = 1;
	S.sasl_plain = 1;
	S.password = "tanstaaf";
	S.fd = -1;
	for (i = 0; i < 4; i++)
		S.msgs[i] = msgs[i];
	S.nmsgs = 4;
	buf_init(&S.in, 1 << 20);
	buf_init(&S.out, 4 << 20);
	S.loop = ev_loop_new();
	S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(S.lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(S.lfd, 4) < 0 ||
	    getsockname(S.lfd, (struct sockaddr *)&a, &al) < 0)
		return 0;
	ev_fd_set(S.loop, S.lfd, EV_READ, srv_accept_cb, NULL);
	memset(&R, 0, sizeof R);
	return ntohs(a.sin_port);
}

static void
srv_stop(void)
{
	srv_close();
	ev_fd_del(S.loop, S.lfd);
	close(S.lfd);
	ev_loop_free(&S.loop);
	buf_clear(&S.in);
	buf_clear(&S.out);
}

static int
rec_listing(void *arg, struct pop3_msg *msgs, size_t n, int complete)
{
	size_t i;

	(void)arg;
	R.complete = complete;
	for (i = 0; i < n && i < SRV_MSGS; i++) {
		snprintf(R.uidls[i], sizeof R.uidls[i], "%s", msgs[i].uidl);
		msgs[i].action = R.act;
	}
	return 0;
}

static int
rec_message(void *arg, const struct pop3_msg *m, const char *raw, size_t len)
{
	(void)arg;
	if ((int)m->msgno == R.fail_on)
		return -1;
	if (m->msgno >= 1 && m->msgno <= SRV_MSGS && len < 2048) {
		memcpy(R.got[m->msgno - 1], raw, len);
		R.gotlen[m->msgno - 1] = len;
	}
	R.nmsg++;
	return 0;
}

static void
rec_done(void *arg, const struct pop3_result *r)
{
	(void)arg;
	R.res = *r;
	R.done = 1;
	snprintf(R.error, sizeof R.error, "%s", r->error ? r->error : "");
	snprintf(R.tls_auth, sizeof R.tls_auth, "%s", r->auth ? r->auth : "");
	R.res.error = R.error;
	ev_stop(S.loop);
}

static void
stop_cb(void *arg)
{
	(void)arg;
	ev_stop(S.loop);
}

/* Runs one session against the server; returns after done (or 10 s). */
static const char *session_host = "127.0.0.1";

static void
run_session(unsigned port, const char *password)
{
	struct pop3_client_cfg cfg;
	struct pop3_client_hooks h;
	struct pop3_client *c;
	uint64_t t;

	memset(&cfg, 0, sizeof cfg);
	cfg.host = session_host;
	cfg.port = port;
	cfg.tls = POP3_TLS_NONE;
	cfg.user = "jane";
	cfg.password = password;
	cfg.max_size = 1 << 20;
	cfg.timeout_secs = 5;
	memset(&h, 0, sizeof h);
	h.listing = rec_listing;
	h.message = rec_message;
	h.done = rec_done;
	R.done = 0;
	c = pop3_client_new(S.loop, &cfg, &h, NULL);
	t = ev_timer_add(S.loop, 10000, stop_cb, NULL);
	ev_run(S.loop);
	ev_timer_del(S.loop, t);
	if (!R.done)
		pop3_client_free(&c);
	else
		pop3_client_free(&c);
}

static void
test_fetch_pipelined_sasl(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.pipelining = 1;
	R.act = POP3_ACT_FETCH;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_STR(R.error, "");
	T_ASSERT(R.res.ok);
	T_EQ_STR(R.tls_auth, "SASL PLAIN");
	T_EQ_INT(R.nmsg, 4);
	T_EQ_INT(R.res.nmsgs, 4);
	T_EQ_STR(R.uidls[0], "uid-100");
	T_EQ_STR(R.uidls[3], "uid-103");
	T_EQ_INT(R.complete, 1);
	T_EQ_STR(R.got[0], "Subject: one\r\n\r\nhello\r\n");
	T_EQ_STR(R.got[1], "Subject: two\r\n\r\n.starts with a dot\r\n"
	                   "..two dots\r\n.\r\nend\r\n");
	T_EQ_STR(R.got[2], "Subject: three\r\n\r\nbare\r\nlf\r\nlines\r\n");
	T_EQ_INT(R.res.deleted, 0);
	T_EQ_INT(S.committed, 0);
	/* pipelined: more than one command was waiting at some point */
	T_ASSERT(S.max_inflight_seen > 1);
	T_ASSERT(strstr(S.log, "RETR 4|NOOP|QUIT|") != NULL);
	srv_stop();
}

static void
test_fetch_one_at_a_time_apop_dele(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.pipelining = 0;
	S.sasl_plain = 0;
	S.apop = 1;
	R.act = POP3_ACT_FETCH_DELE;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_STR(R.error, "");
	T_EQ_STR(R.tls_auth, "APOP");
	T_EQ_INT(R.nmsg, 4);
	T_EQ_INT(S.max_inflight_seen, 1);
	T_EQ_INT(R.res.deleted, 4);
	T_EQ_INT(S.committed, 4);
	/* each DELE comes after its RETR was answered and handed over */
	T_ASSERT(strstr(S.log, "RETR 4|NOOP|DELE 1|DELE 2|DELE 3|DELE 4|QUIT|") != NULL);
	srv_stop();
}

static void
test_user_pass_and_refused(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.sasl_plain = 0;
	R.act = POP3_ACT_NONE;
	run_session(port, "wrong");
	T_ASSERT(R.done);
	T_ASSERT(!R.res.ok);
	T_EQ_INT(R.res.fail, POP3_FAIL_AUTH);
	T_EQ_STR(R.error, "login refused for jane: Authentication failed.");
	T_EQ_STR(R.tls_auth, "USER/PASS");
	/* the password never appears in what we logged of the session */
	T_ASSERT(strstr(S.log, "wrong") == NULL);
	srv_stop();

	port = srv_start();
	S.in_use = 1;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_INT(R.res.fail, POP3_FAIL_TEMP);
	T_EQ_STR(R.error, "mailbox in use: Mailbox locked");
	srv_stop();
}

static void
test_hook_failure_no_dele(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.pipelining = 1;
	R.act = POP3_ACT_FETCH_DELE;
	R.fail_on = 2;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_INT(R.res.fail, POP3_FAIL_LOCAL);
	/* message 1 was stored; its DELE may have been sent, but without
	 * QUIT nothing is committed on the server */
	T_EQ_INT(S.committed, 0);
	T_ASSERT(strstr(S.log, "DELE 2") == NULL);
	T_ASSERT(strstr(S.log, "QUIT") == NULL);
	srv_stop();
}

static void
test_no_uidl_digests_stable(void)
{
	unsigned port = srv_start();
	char first[SRV_MSGS][80];
	int i;

	T_ASSERT(port != 0);
	S.uidl = 0;
	S.capa = 0; /* no CAPA either: RFC 1939 only */
	R.act = POP3_ACT_NONE;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_STR(R.error, "");
	T_EQ_STR(R.tls_auth, "USER/PASS");
	for (i = 0; i < 4; i++) {
		T_ASSERT(strncmp(R.uidls[i], "sha256:", 7) == 0);
		T_EQ_INT(strlen(R.uidls[i]), 71);
		memcpy(first[i], R.uidls[i], sizeof first[i]);
	}
	T_ASSERT(strcmp(first[0], first[1]) != 0);
	srv_stop();
	port = srv_start();
	S.uidl = 0;
	R.act = POP3_ACT_NONE;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	for (i = 0; i < 4; i++)
		T_EQ_STR(R.uidls[i], first[i]);
	srv_stop();
}

static void
test_bad_stuffing_fenced(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.pipelining = 1;
	S.bad_stuffing = 2; /* message 2 has a "." line sent unstuffed */
	R.act = POP3_ACT_FETCH_DELE;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_ASSERT(!R.res.ok);
	T_EQ_INT(R.res.fail, POP3_FAIL_PROTO);
	T_ASSERT(strstr(R.error, "after message 2") != NULL);
	/* message 1 was stored, message 2 (cut short) never was */
	T_EQ_INT(R.gotlen[1], 0);
	T_ASSERT(R.gotlen[0] > 0);
	T_EQ_INT(S.committed, 0);
	srv_stop();
}

static void
test_long_line_and_cut(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	S.long_line = 1;
	R.act = POP3_ACT_FETCH;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_INT(R.res.fail, POP3_FAIL_PROTO);
	T_ASSERT(strstr(R.error, "longer than 64 KiB") != NULL);
	srv_stop();

	port = srv_start();
	S.cut_in_retr = 3;
	R.act = POP3_ACT_FETCH_DELE;
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_INT(R.res.fail, POP3_FAIL_NET);
	T_ASSERT(strstr(R.error, "middle of message 3") != NULL);
	T_EQ_INT(R.gotlen[2], 0);
	T_EQ_INT(S.committed, 0);
	srv_stop();
}

static void
test_connect_refused(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	ev_fd_del(S.loop, S.lfd);
	close(S.lfd);
	S.lfd = socket(AF_INET, SOCK_STREAM, 0); /* keep srv_stop happy */
	run_session(port, "tanstaaf");
	T_ASSERT(R.done);
	T_EQ_INT(R.res.fail, POP3_FAIL_NET);
	T_ASSERT(strstr(R.error, "connection refused") != NULL);
	srv_stop();
}

/* A name goes through the asynchronous resolver (getaddrinfo_a). */
static void
test_resolve_localhost(void)
{
	unsigned port = srv_start();

	T_ASSERT(port != 0);
	R.act = POP3_ACT_FETCH;
	session_host = "localhost";
	run_session(port, "tanstaaf");
	session_host = "127.0.0.1";
	T_ASSERT(R.done);
	/* localhost may resolve to ::1 first, where nobody listens: the
	 * next address (127.0.0.1) must be tried. */
	T_EQ_STR(R.error, "");
	T_EQ_INT(R.nmsg, 4);
	srv_stop();
}

static const struct test_case tests[] = {
	{"resolve_localhost", test_resolve_localhost},
	{"fetch_pipelined_sasl", test_fetch_pipelined_sasl},
	{"fetch_one_at_a_time_apop_dele", test_fetch_one_at_a_time_apop_dele},
	{"user_pass_and_refused", test_user_pass_and_refused},
	{"hook_failure_no_dele", test_hook_failure_no_dele},
	{"no_uidl_digests_stable", test_no_uidl_digests_stable},
	{"bad_stuffing_fenced", test_bad_stuffing_fenced},
	{"long_line_and_cut", test_long_line_and_cut},
	{"connect_refused", test_connect_refused},
	{NULL, NULL},
};

TEST_MAIN(tests)
