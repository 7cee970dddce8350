/*
 * tests/unit/conn_harness.h: the loopback harness of test_conn.c (include
 * it once, from one test file). The server runs in the test process on the
 * event loop: a small line protocol on conn (echo, STARTTLS, QUIT, FREE,
 * GEN n, SINK n, HOLD n, RAW, LATER, DRAIN, INFO). Each client runs in a forked
 * child with blocking sockets and OpenSSL (run_client), sends a report
 * through a pipe and exits 0 when its checks held; the parent runs the loop
 * until the child is gone and every server session is freed.
 */
#ifndef PB_CONN_HARNESS_H
#define PB_CONN_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../../bridge/conn.h"
#include "../../bridge/ev.h"
#include "../../bridge/net.h"
#include "../../bridge/tls.h"
#include "../../common/limits.h"
#include "test.h"

#define MB (1024 * 1024)

/* ---- shared setup ---- */

static char tmpdir[64], cert_path[128], key_path[128];
static SSL_CTX *srv_ctx;
static struct ev_loop *L;
static int lfd[2] = {-1, -1}; /* plain, implicit TLS */
static int port[2];

/* Per-test knobs and what the server saw. */
static struct {
	size_t in_cap;
	unsigned timeout;
	int free_on_tls_ready, free_on_timeout, count_lines;
	size_t measure_n;
} K;
static struct {
	int live, accepted, closed, errors, timeouts, drained, tls_ready;
	int starttls_ok, starttls_refused, freed_in_cb, lines, bad;
	size_t max_pending, max_in;
	char closed_in[32];
	long heap0, heap_per_conn;
	int measured;
} S;

static int child_done, safety_hit, go_w = -1;
static char report[512];
static size_t report_len;

/* Test payload: byte i is pat(i), period PAT_PERIOD (prime, so chunk
 * boundaries never line up with it). pat_at(off) points at 64 KiB of it. */
#define PAT_PERIOD 251
static uint8_t pat_ring[65536 + PAT_PERIOD];

static uint8_t
pat(uint64_t i)
{
	return (uint8_t)((i % PAT_PERIOD) * 7 + 1);
}

static const char *
pat_at(uint64_t off)
{
	if (pat_ring[0] == 0)
		for (size_t i = 0; i < sizeof pat_ring; i++)
			pat_ring[i] = pat(i);
	return (const char *)pat_ring + off % PAT_PERIOD;
}

static long
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)mi.uordblks + (long)mi.hblkhd;
}

/* ---- server side ---- */

struct sess {
	struct conn *c;
	int mode; /* 0 lines, 1 raw, 2 gen, 3 sink, 4 hold */
	uint64_t left, total, sum;
	uint64_t hold_timer;
	int drain_reply; /* DRAIN: answer on the next DRAINED */
};

static void sess_cb(struct conn *c, enum conn_event ev, void *arg);

static void
sess_free(struct sess *s)
{
	if (s->hold_timer)
		ev_timer_del(L, s->hold_timer);
	conn_free(&s->c);
	free(s);
	S.live--;
}

static void
note_pending(struct sess *s)
{
	if (conn_out_pending(s->c) > S.max_pending)
		S.max_pending = conn_out_pending(s->c);
}

static void
gen_pump(struct sess *s)
{
	while (s->left > 0 && conn_out_pending(s->c) <= IMAP_OUT_HIGH_WATER) {
		size_t n = s->left < 16384 ? (size_t)s->left : 16384;

		conn_write(s->c, pat_at(s->total), n);
		s->total += n;
		s->left -= n;
		note_pending(s);
	}
	if (s->left == 0)
		conn_close_after_flush(s->c);
}

static void
later_cb(void *arg)
{
	struct sess *s = arg;

	s->hold_timer = 0;
	conn_writes(s->c, "later\n"); /* from outside any conn callback */
}

/* HOLD: consume only from a timer (outside callbacks), then resume. */
static void
hold_cb(void *arg)
{
	struct sess *s = arg;
	struct buf *in = conn_in(s->c);
	size_t n = in->len < s->left ? in->len : (size_t)s->left;

	s->hold_timer = 0;
	for (size_t i = 0; i < n; i++)
		s->sum += (uint8_t)in->data[i];
	buf_consume(in, n);
	s->left -= n;
	if (s->left == 0)
		conn_printf(s->c, "GOT %llu\n", (unsigned long long)s->sum);
	conn_resume_read(s->c);
}

static void
sess_binary(struct sess *s, struct buf *in)
{
	if (s->mode == 1) {
		conn_write(s->c, in->data, in->len);
		buf_consume(in, in->len);
		note_pending(s);
	} else if (s->mode == 3) {
		size_t n = in->len < s->left ? in->len : (size_t)s->left;

		for (size_t i = 0; i < n; i++)
			s->sum += (uint8_t)in->data[i];
		buf_consume(in, n);
		s->left -= n;
		if (s->left == 0) {
			conn_printf(s->c, "GOT %llu\n",
			            (unsigned long long)s->sum);
			s->mode = 0;
		}
	} else if (s->mode == 4 && !s->hold_timer &&
	           (in->len == in->cap || in->len >= s->left)) {
		conn_pause_read(s->c);
		s->hold_timer = ev_timer_add(L, 1, hold_cb, s);
	}
}

/* 1 when the session switched away from lines, 2 when it is gone. */
static int
sess_line(struct sess *s, const char *line, size_t len)
{
	uint64_t n = 0;

	if (K.count_lines)
		S.lines++;
	if (len >= 4 &&
	    (memcmp(line, "GEN ", 4) == 0 || memcmp(line, "SINK", 4) == 0 ||
	     memcmp(line, "HOLD", 4) == 0)) {
		for (size_t i = line[0] == 'G' ? 4 : 5; i < len; i++)
			n = n * 10 + (uint64_t)(line[i] - '0');
		s->left = n;
		s->total = s->sum = 0;
		s->mode = line[0] == 'G' ? 2 : line[0] == 'S' ? 3 : 4;
		if (s->mode == 2)
			gen_pump(s);
		return 1;
	}
#define IS(w) (len == sizeof(w) - 1 && memcmp(line, w, len) == 0)
	if (IS("STARTTLS")) {
		if (conn_in(s->c)->len > 0) {
			if (conn_starttls(s->c, srv_ctx) != -1)
				S.bad++;
			S.starttls_refused++;
			conn_writes(s->c, "NO\n");
			conn_close_after_flush(s->c);
			return 1;
		}
		conn_writes(s->c, "OK\n");
		if (conn_starttls(s->c, srv_ctx) != 0)
			S.bad++;
		S.starttls_ok++;
		return 1;
	}
	if (IS("QUIT")) {
		conn_writes(s->c, "BYE\n");
		conn_close_after_flush(s->c);
		return 1;
	}
	if (IS("FREE")) {
		S.freed_in_cb++;
		sess_free(s);
		return 2;
	}
	if (IS("RAW")) {
		s->mode = 1;
		return 1;
	}
	if (IS("DRAIN")) {
		s->drain_reply = 1;
		conn_want_drained(s->c); /* already below: comes at once */
		return 0;
	}
	if (IS("LATER")) {
		s->hold_timer = ev_timer_add(L, 20, later_cb, s);
		return 0;
	}
	if (IS("INFO")) {
		const char *ti = conn_tls_info(s->c);

		conn_printf(s->c, "%s %d %s %d\n", ti ? ti : "none",
		            conn_is_tls(s->c), conn_peer(s->c),
		            conn_peer_is_loopback(s->c));
		return 0;
	}
#undef IS
	conn_write(s->c, line, len);
	conn_writes(s->c, "\n");
	return 0;
}

static void
sess_data(struct sess *s)
{
	struct buf *in = conn_in(s->c);

	if (in->len > S.max_in)
		S.max_in = in->len;
	while (s->mode == 0) {
		char *nl = memchr(in->data, '\n', in->len);
		char line[256];
		size_t len;

		if (nl == NULL)
			return;
		len = (size_t)(nl - in->data);
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, in->data, len);
		buf_consume(in, (size_t)(nl - in->data) + 1);
		switch (sess_line(s, line, len)) {
		case 2:
			return;
		case 1:
			goto binary;
		}
	}
binary:
	if (s->mode != 0 && s->mode != 2 && in->len > 0)
		sess_binary(s, in);
}

static void
sess_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct sess *s = arg;

	if (s->c != c)
		S.bad++;
	switch (ev) {
	case CONN_EV_DATA:
		sess_data(s);
		break;
	case CONN_EV_DRAINED:
		S.drained++;
		if (s->drain_reply) {
			s->drain_reply = 0;
			conn_writes(c, "drained\n");
		}
		if (s->mode == 2)
			gen_pump(s);
		break;
	case CONN_EV_TLS_READY:
		S.tls_ready++;
		if (conn_in(c)->len != 0 || !conn_is_tls(c) ||
		    conn_tls_info(c) == NULL)
			S.bad++;
		if (K.free_on_tls_ready) {
			S.freed_in_cb++;
			sess_free(s);
		}
		break;
	case CONN_EV_TIMEOUT:
		S.timeouts++;
		if (K.free_on_timeout) {
			S.freed_in_cb++;
			sess_free(s);
			break;
		}
		conn_writes(c, "BYE timeout\n");
		conn_close_after_flush(c);
		break;
	case CONN_EV_CLOSED:
	case CONN_EV_ERROR:
		if (ev == CONN_EV_CLOSED)
			S.closed++;
		else
			S.errors++;
		snprintf(S.closed_in, sizeof S.closed_in, "%.*s",
		         (int)conn_in(c)->len, buf_cstr(conn_in(c)));
		sess_free(s);
		break;
	}
}

static void
accept_cb(int fd, unsigned events, void *arg)
{
	int is_tls = (int)(intptr_t)arg, cfd, lo;
	char addr[64];

	(void)events;
	while ((cfd = net_accept(fd, addr, sizeof addr, &lo)) >= 0) {
		struct sess *s = calloc(1, sizeof *s);

		s->c = conn_new(L, cfd, is_tls ? srv_ctx : NULL, K.in_cap,
		                sess_cb, s);
		conn_set_peer(s->c, addr, lo);
		if (K.timeout)
			conn_set_timeout(s->c, K.timeout);
		S.live++;
		S.accepted++;
	}
}

static void
done_cb(int fd, unsigned events, void *arg)
{
	ssize_t n;

	(void)events;
	(void)arg;
	n = read(fd, report + report_len, sizeof report - 1 - report_len);
	if (n > 0) {
		report_len += (size_t)n;
		report[report_len] = '\0';
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	child_done = 1;
	ev_fd_del(L, fd);
	close(fd);
}

static void
before_sleep(void *arg)
{
	(void)arg;
	if (K.measure_n && !S.measured && S.lines >= (int)K.measure_n) {
		S.measured = 1;
		S.heap_per_conn = (heap_used() - S.heap0) / (long)K.measure_n;
		if (write(go_w, "g", 1) != 1)
			S.bad++;
	}
	if (child_done && S.live == 0)
		ev_stop(L);
}

static void
safety_cb(void *arg)
{
	(void)arg;
	safety_hit = 1;
	ev_stop(L);
}

/* ---- client side (child process, blocking) ---- */

struct cli {
	int fd;
	SSL *ssl;
};

static int go_r = -1;

static int
cli_connect(struct cli *k, int which)
{
	struct sockaddr_in sin;
	int one = 1;

	memset(k, 0, sizeof *k);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port[which]);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	k->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (k->fd < 0 || connect(k->fd, (void *)&sin, sizeof sin) < 0)
		return -1;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

static SSL_CTX *
cli_ctx(int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (SSL_CTX_load_verify_locations(ctx, cert_path, NULL) != 1)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	return ctx;
}

/* TLS on k, verifying the certificate for "localhost" or an IP. */
static int
cli_tls(struct cli *k, SSL_CTX *ctx, const char *ip)
{
	k->ssl = SSL_new(ctx);
	SSL_set_fd(k->ssl, k->fd);
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), ip);
	else
		SSL_set1_host(k->ssl, "localhost");
	return SSL_connect(k->ssl) == 1 ? 0 : -1;
}

static int
cli_write(struct cli *k, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w = k->ssl ? SSL_write(k->ssl, q, (int)n)
		                   : write(k->fd, q, n);
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t
cli_read(struct cli *k, void *p, size_t n)
{
	if (k->ssl) {
		int r = SSL_read(k->ssl, p, (int)n);

		if (r > 0)
			return r;
		return SSL_get_error(k->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0
		                                                         : -1;
	}
	return read(k->fd, p, n);
}

/* Reads one line (without '\n') into buf; -1 on EOF/error. */
static int
cli_line(struct cli *k, char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		char ch;

		if (cli_read(k, &ch, 1) != 1)
			return -1;
		if (ch == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return 0;
}

static int
cli_expect(struct cli *k, const char *want)
{
	char line[256];

	if (cli_line(k, line, sizeof line) < 0 || strcmp(line, want) != 0) {
		fprintf(stderr, "  client: expected \"%s\"\n", want);
		return -1;
	}
	return 0;
}

/* 0 when the peer closes (EOF or reset) before sending more. */
static int
cli_expect_eof(struct cli *k)
{
	char b;

	return cli_read(k, &b, 1) <= 0 ? 0 : -1;
}

static void
cli_close(struct cli *k)
{
	if (k->ssl)
		SSL_free(k->ssl);
	if (k->fd >= 0)
		close(k->fd);
	k->ssl = NULL;
	k->fd = -1;
}

static void cli_report(int fd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
cli_report(int fd, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, b, (size_t)n) < 0)
		return;
}

static double
now_s(void)
{
	return (double)ev_now_ms() / 1000.0;
}

/*
 * Forks a client running fn; runs the loop until the client is done and
 * every server session is gone. Returns the child's exit status.
 */
static int
run_client(int (*fn)(int rfd))
{
	int dp[2], gp[2], st = -1;
	pid_t pid;
	uint64_t safety;

	memset(&S, 0, sizeof S);
	child_done = safety_hit = 0;
	report_len = 0;
	report[0] = '\0';
	if (pipe(dp) < 0 || pipe(gp) < 0)
		return -1;
	S.heap0 = heap_used();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int rc;

		signal(SIGPIPE, SIG_IGN);
		close(dp[0]);
		close(gp[1]);
		go_r = gp[0];
		rc = fn(dp[1]);
		_exit(rc);
	}
	close(dp[1]);
	close(gp[0]);
	go_w = gp[1];
	fcntl(dp[0], F_SETFL, O_NONBLOCK);
	ev_fd_set(L, dp[0], EV_READ, done_cb, NULL);
	safety = ev_timer_add(L, 60000, safety_cb, NULL);
	ev_run(L);
	ev_timer_del(L, safety);
	if (!child_done) {
		kill(pid, SIGKILL);
		ev_fd_del(L, dp[0]);
		close(dp[0]);
	}
	close(gp[1]);
	waitpid(pid, &st, 0);
	memset(&K, 0, sizeof K);
	if (safety_hit)
		fprintf(stderr, "  safety timeout (live=%d)\n", S.live);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Makes the cert in a temp dir, the server context, the loop and the two
 * listeners (plain, implicit TLS). 0 or -1. */
static int
harness_setup(void)
{
	const char *err = NULL;
	struct sockaddr_in sin;
	socklen_t sl;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_test_conn.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof key_path, "%s/key.pem", tmpdir);
	if (tls_make_self_signed(cert_path, key_path, NULL, &err) < 0 ||
	    (srv_ctx = tls_server_ctx_new(cert_path, key_path, &err)) == NULL) {
		fprintf(stderr, "harness: %s\n", err);
		return -1;
	}
	L = ev_loop_new();
	ev_set_before_sleep(L, before_sleep, NULL);
	for (int i = 0; i < 2; i++) {
		if (net_listen("127.0.0.1:0", &lfd[i], 1, &err) != 1) {
			fprintf(stderr, "harness: %s\n", err);
			return -1;
		}
		sl = sizeof sin;
		getsockname(lfd[i], (void *)&sin, &sl);
		port[i] = ntohs(sin.sin_port);
		ev_fd_set(L, lfd[i], EV_READ, accept_cb, (void *)(intptr_t)i);
	}
	return 0;
}

static int
harness_cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		ev_fd_del(L, lfd[i]);
		close(lfd[i]);
	}
	tls_ctx_free(&srv_ctx);
	ev_loop_free(&L);
	unlink(cert_path);
	unlink(key_path);
	return rmdir(tmpdir);
}

#endif
