/*
 * tests/unit/test_conn.c: bridge/conn.c (with ev, net and tls) for real over
 * loopback, through conn_harness.h: plain, implicit TLS (1.3 and 1.2, the
 * certificate verified by name and by IP), STARTTLS and the refusal of
 * bytes pipelined after it, 20 MB each way through TLS with back pressure
 * (high-water mark reached, DRAINED), an echo whose reading stops above
 * the high-water mark, a 100-byte input cap over TLS (SSL_pending data),
 * peer close mid-stream with SIGPIPE at its default, half-close with input
 * and output pending, inactivity timeouts (also during a TLS handshake),
 * conn_free inside DATA/TLS_READY/TIMEOUT callbacks, and 200 connections at
 * once (plain, then TLS) with the heap used per idle connection.
 */
#include "conn_harness.h"

#define NMANY 200

static int
cl_plain_echo(int rfd)
{
	struct cli k;

	if (cli_connect(&k, 0) < 0 || cli_write(&k, "hello\nworld\n", 12) ||
	    cli_expect(&k, "hello") || cli_expect(&k, "world") ||
	    cli_write(&k, "DRAIN\n", 6) || cli_expect(&k, "drained") ||
	    cli_write(&k, "INFO\nLATER\n", 11) ||
	    cli_expect(&k, "none 0 127.0.0.1 1") || cli_expect(&k, "later") ||
	    cli_write(&k, "QUIT\n", 5) || cli_expect(&k, "BYE") ||
	    cli_expect_eof(&k))
		return 1;
	cli_close(&k);
	return 0;
}

static void
test_plain_echo(void)
{
	T_EQ_INT(run_client(cl_plain_echo), 0);
	T_EQ_INT(S.closed, 1);
	T_EQ_INT(S.bad, 0);
}

static int
cl_tls_echo(int rfd)
{
	SSL_CTX *ctx13 = cli_ctx(0), *ctx12 = cli_ctx(TLS1_2_VERSION);
	struct cli k;
	char line[256];

	if (cli_connect(&k, 1) || cli_tls(&k, ctx13, NULL) ||
	    cli_write(&k, "secret\nINFO\n", 12) || cli_expect(&k, "secret") ||
	    cli_line(&k, line, sizeof line) ||
	    strncmp(line, "TLSv1.3 TLS_", 12) != 0 ||
	    cli_write(&k, "QUIT\n", 5) || cli_expect(&k, "BYE") ||
	    cli_expect_eof(&k))
		return 1;
	cli_report(rfd, "%s", line);
	cli_close(&k);
	/* TLS 1.2, verifying the IP:127.0.0.1 subjectAltName. */
	if (cli_connect(&k, 1) || cli_tls(&k, ctx12, "127.0.0.1") ||
	    cli_write(&k, "INFO\n", 5) || cli_line(&k, line, sizeof line) ||
	    strncmp(line, "TLSv1.2 ECDHE-", 14) != 0)
		return 2;
	cli_close(&k);
	/* A plaintext client on the TLS port: the handshake fails. */
	if (cli_connect(&k, 1) || cli_write(&k, "a LOGIN x y\r\n", 13) ||
	    cli_expect_eof(&k))
		return 3;
	cli_close(&k);
	return 0;
}

static void
test_tls_echo(void)
{
	T_EQ_INT(run_client(cl_tls_echo), 0);
	T_ASSERT(strstr(report, "TLSv1.3") == report);
	T_EQ_INT(S.tls_ready, 2);
	T_EQ_INT(S.errors, 1);
	T_EQ_INT(S.bad, 0);
}

static int
cl_starttls(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	struct cli k;
	char line[256];

	if (cli_connect(&k, 0) || cli_write(&k, "one\n", 4) ||
	    cli_expect(&k, "one") || cli_write(&k, "STARTTLS\n", 9) ||
	    cli_expect(&k, "OK") || cli_tls(&k, ctx, NULL) ||
	    cli_write(&k, "two\nINFO\n", 9) || cli_expect(&k, "two") ||
	    cli_line(&k, line, sizeof line) ||
	    strncmp(line, "TLSv1.3", 7) != 0 || cli_write(&k, "QUIT\n", 5) ||
	    cli_expect(&k, "BYE") || cli_expect_eof(&k))
		return 1;
	cli_close(&k);
	/* Bytes pipelined after STARTTLS: refused, connection closed. */
	if (cli_connect(&k, 0) || cli_write(&k, "STARTTLS\nEVIL\n", 14) ||
	    cli_expect(&k, "NO") || cli_expect_eof(&k))
		return 2;
	cli_close(&k);
	return 0;
}

static void
test_starttls(void)
{
	T_EQ_INT(run_client(cl_starttls), 0);
	T_EQ_INT(S.starttls_ok, 1);
	T_EQ_INT(S.starttls_refused, 1);
	T_EQ_INT(S.tls_ready, 1);
	T_EQ_INT(S.bad, 0);
}

/* GEN 20 MB then SINK 20 MB over TLS; reports both rates. */
static int
cl_bulk(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	static char b[65536];
	uint64_t got = 0, sum = 0, want_sum = 0;
	struct cli k;
	double t0, t1, t2;
	char line[64];
	ssize_t n;

	if (cli_connect(&k, 1) || cli_tls(&k, ctx, NULL))
		return 1;
	t0 = now_s();
	cli_write(&k, "GEN 20971520\n", 13);
	while ((n = cli_read(&k, b, sizeof b)) > 0) {
		if (memcmp(b, pat_at(got), (size_t)n) != 0)
			return 2;
		got += (uint64_t)n;
	}
	t1 = now_s();
	if (got != 20 * MB) {
		fprintf(stderr, "  client: got %llu bytes, n=%zd err=%d\n",
		        (unsigned long long)got, n,
		        SSL_get_error(k.ssl, (int)n));
		ERR_print_errors_fp(stderr);
		return 3;
	}
	cli_close(&k);
	if (cli_connect(&k, 1) || cli_tls(&k, ctx, NULL) ||
	    cli_write(&k, "SINK 20971520\n", 14))
		return 4;
	t2 = now_s();
	for (size_t i = 0; i < PAT_PERIOD; i++)
		want_sum += pat(i);
	want_sum *= 20 * MB / PAT_PERIOD;
	for (size_t i = 0; i < 20 * MB % PAT_PERIOD; i++)
		want_sum += pat(i);
	for (got = 0; got < 20 * MB; got += sizeof b)
		if (cli_write(&k, pat_at(got), sizeof b))
			return 5;
	snprintf(line, sizeof line, "GOT %llu", (unsigned long long)want_sum);
	if (cli_expect(&k, line))
		return 6;
	cli_report(rfd, "down %.0f MB/s up %.0f MB/s", 20.0 / (t1 - t0),
	           20.0 / (now_s() - t2));
	(void)sum;
	cli_close(&k);
	return 0;
}

static void
test_tls_bulk_20mb(void)
{
	T_EQ_INT(run_client(cl_bulk), 0);
	printf("# TLS 20 MB over loopback: %s\n", report);
	T_ASSERT(S.drained > 10);
	T_ASSERT(S.max_pending > IMAP_OUT_HIGH_WATER);
	T_ASSERT(S.max_pending <= IMAP_OUT_HIGH_WATER + 16384);
	T_EQ_INT(S.bad, 0);
}

/* RAW echo of 8 MB: a writer process and a reader, server in between. */
static int
cl_raw_echo(int rfd)
{
	static char b[65536];
	struct cli k;
	uint64_t got = 0;
	pid_t w;
	int st;

	if (cli_connect(&k, 0) || cli_write(&k, "RAW\n", 4))
		return 1;
	w = fork();
	if (w == 0) {
		for (uint64_t off = 0; off < 8 * MB; off += sizeof b)
			if (cli_write(&k, pat_at(off), sizeof b))
				_exit(1);
		_exit(0);
	}
	while (got < 8 * MB) {
		ssize_t n = cli_read(&k, b, sizeof b);

		if (n <= 0)
			return 2;
		if (memcmp(b, pat_at(got), (size_t)n) != 0)
			return 3;
		got += (uint64_t)n;
	}
	waitpid(w, &st, 0);
	cli_close(&k);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4;
}

static void
test_raw_echo_backpressure(void)
{
	K.in_cap = 65536;
	T_EQ_INT(run_client(cl_raw_echo), 0);
	/* Reading stops above the high-water mark. */
	T_ASSERT(S.max_pending <= IMAP_OUT_HIGH_WATER + 65536);
	T_ASSERT(S.max_in <= 65536);
	T_EQ_INT(S.bad, 0);
}

/* HOLD/SINK with a 100-byte input cap over TLS: SSL_pending drained. */
static int
cl_small_cap(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	static char b[65536];
	uint64_t sum = 0;
	struct cli k;
	char line[64];

	for (size_t i = 0; i < sizeof b; i++)
		sum += (uint8_t)(b[i] = (char)pat(i));
	snprintf(line, sizeof line, "GOT %llu", (unsigned long long)sum);
	if (cli_connect(&k, 1) || cli_tls(&k, ctx, NULL) ||
	    cli_write(&k, "HOLD 65536\n", 11) || cli_write(&k, b, sizeof b) ||
	    cli_expect(&k, line))
		return 1;
	cli_close(&k);
	if (cli_connect(&k, 1) || cli_tls(&k, ctx, NULL) ||
	    cli_write(&k, "SINK 65536\n", 11) || cli_write(&k, b, sizeof b) ||
	    cli_expect(&k, line))
		return 2;
	cli_close(&k);
	return 0;
}

static void
test_small_in_cap_tls(void)
{
	K.in_cap = 100;
	T_EQ_INT(run_client(cl_small_cap), 0);
	T_ASSERT(S.max_in <= 100);
	T_EQ_INT(S.bad, 0);
}

/* Peer goes away in the middle of a 20 MB download: no SIGPIPE. */
static int
cl_peer_close(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	static char b[65536];
	struct cli k;

	for (int which = 0; which < 2; which++) {
		size_t got = 0;

		if (cli_connect(&k, which) ||
		    (which && cli_tls(&k, ctx, NULL)) ||
		    cli_write(&k, "GEN 20971520\n", 13))
			return 1;
		while (got < 100000) {
			ssize_t n = cli_read(&k, b, sizeof b);

			if (n <= 0)
				return 2;
			got += (size_t)n;
		}
		cli_close(&k);
	}
	/* Half-close with input buffered: given before CLOSED. */
	if (cli_connect(&k, 0) || cli_write(&k, "ping\nQUIT\nhello", 15))
		return 3;
	shutdown(k.fd, SHUT_WR);
	if (cli_expect(&k, "ping") || cli_expect(&k, "BYE") ||
	    cli_expect_eof(&k))
		return 4;
	cli_close(&k);
	if (cli_connect(&k, 0) || cli_write(&k, "ping\nhello", 10))
		return 5;
	shutdown(k.fd, SHUT_WR);
	if (cli_expect(&k, "ping") || cli_expect_eof(&k))
		return 6;
	cli_close(&k);
	return 0;
}

static void
test_peer_close(void)
{
	/* SIGPIPE stays at its default here: a write that raised it would
	 * kill the test. */
	T_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	T_EQ_INT(run_client(cl_peer_close), 0);
	T_EQ_INT(S.closed + S.errors, 4);
	T_EQ_STR(S.closed_in, "hello");
	T_EQ_INT(S.bad, 0);
}

static int
cl_timeout(int rfd)
{
	struct cli k, h;
	double t0, t;

	if (cli_connect(&k, 0) || cli_connect(&h, 1))
		return 1;
	t0 = now_s();
	usleep(1000000);
	if (cli_write(&k, "a\n", 2) || cli_expect(&k, "a") ||
	    cli_expect(&k, "BYE timeout") || cli_expect_eof(&k))
		return 2;
	t = now_s() - t0;
	/* The input at 1 s restarted the 2 s timer (the upper bound only
	 * catches a timer that never fires; a busy machine may be slow). */
	if (t < 2.9 || t > 20.0)
		return 3;
	/* The silent TLS client times out during the handshake. */
	if (cli_expect_eof(&h))
		return 4;
	cli_close(&k);
	cli_close(&h);
	return 0;
}

static void
test_timeout(void)
{
	K.timeout = 2;
	T_EQ_INT(run_client(cl_timeout), 0);
	T_EQ_INT(S.timeouts, 2);
	T_EQ_INT(S.closed, 2);
	T_EQ_INT(S.bad, 0);
}

static int
cl_free_in_cb(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	struct cli k;

	for (int which = 0; which < 2; which++) {
		if (cli_connect(&k, which) ||
		    (which && cli_tls(&k, ctx, NULL)) ||
		    cli_write(&k, "x\n", 2) || cli_expect(&k, "x") ||
		    cli_write(&k, "FREE\ny\n", 7) || cli_expect_eof(&k))
			return 1 + which;
		cli_close(&k);
	}
	return 0;
}

static int
cl_free_tls_ready(int rfd)
{
	SSL_CTX *ctx = cli_ctx(0);
	struct cli k, t;

	if (cli_connect(&k, 1))
		return 1;
	/* The server may drop us during or right after the handshake. */
	(void)cli_tls(&k, ctx, NULL);
	if (cli_expect_eof(&k))
		return 2;
	cli_close(&k);
	if (cli_connect(&t, 0) || cli_expect_eof(&t))
		return 3;
	cli_close(&t);
	return 0;
}

static void
test_free_in_callbacks(void)
{
	T_EQ_INT(run_client(cl_free_in_cb), 0);
	T_EQ_INT(S.freed_in_cb, 2);
	K.free_on_tls_ready = 1;
	K.free_on_timeout = 1;
	K.timeout = 1;
	T_EQ_INT(run_client(cl_free_tls_ready), 0);
	T_EQ_INT(S.freed_in_cb, 2);
	T_EQ_INT(S.timeouts, 1);
	T_EQ_INT(S.tls_ready, 1);
	T_EQ_INT(S.bad, 0);
}

/* NMANY connections at once; the parent measures the heap when all are
 * idle, then lets the client finish. */
static int
cl_many(int which)
{
	static struct cli k[NMANY];
	SSL_CTX *ctx = which ? cli_ctx(0) : NULL;
	char b[64], line[64];

	for (int i = 0; i < NMANY; i++)
		if (cli_connect(&k[i], which) ||
		    (which && cli_tls(&k[i], ctx, NULL)))
			return 1;
	for (int i = 0; i < NMANY; i++) {
		int n = snprintf(b, sizeof b, "hello %d\n", i);

		if (cli_write(&k[i], b, (size_t)n))
			return 2;
	}
	for (int i = 0; i < NMANY; i++) {
		snprintf(line, sizeof line, "hello %d", i);
		if (cli_expect(&k[i], line))
			return 3;
	}
	if (read(go_r, b, 1) != 1)
		return 4;
	for (int i = 0; i < NMANY; i++)
		cli_close(&k[i]);
	return 0;
}

static int
cl_many_plain(int rfd)
{
	return cl_many(0);
}

static int
cl_many_tls(int rfd)
{
	return cl_many(1);
}

static void
test_many_connections(void)
{
	long plain, tls;

	K.count_lines = 1;
	K.measure_n = NMANY;
	T_EQ_INT(run_client(cl_many_plain), 0);
	T_EQ_INT(S.accepted, NMANY);
	T_EQ_INT(S.closed, NMANY);
	plain = S.heap_per_conn;
	K.count_lines = 1;
	K.measure_n = NMANY;
	T_EQ_INT(run_client(cl_many_tls), 0);
	T_EQ_INT(S.tls_ready, NMANY);
	T_EQ_INT(S.closed, NMANY);
	tls = S.heap_per_conn;
	printf("# heap per idle conn: plain %ld bytes, TLS %ld bytes\n", plain,
	       tls);
	T_EQ_INT(S.bad, 0);
}

static void
test_cleanup(void)
{
	T_EQ_INT(harness_cleanup(), 0);
	T_ASSERT(srv_ctx == NULL && L == NULL);
}

static const struct test_case tests[] = {
        {"plain_echo", test_plain_echo},
        {"tls_echo", test_tls_echo},
        {"starttls", test_starttls},
        {"tls_bulk_20mb", test_tls_bulk_20mb},
        {"raw_echo_backpressure", test_raw_echo_backpressure},
        {"small_in_cap_tls", test_small_in_cap_tls},
        {"peer_close", test_peer_close},
        {"timeout", test_timeout},
        {"free_in_callbacks", test_free_in_callbacks},
        {"many_connections", test_many_connections},
        {"cleanup", test_cleanup},
        {NULL, NULL},
};

int
main(void)
{
	if (harness_setup() < 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	return test_run(tests);
}
