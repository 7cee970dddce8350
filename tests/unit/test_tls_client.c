/*
 * tests/unit/test_tls_client.c: bridge/tls_client.c and the client side of
 * bridge/conn.c (conn_new_client, conn_starttls_client,
 * conn_peer_fingerprint) over loopback, both ends in this process on one
 * event loop: a tiny POP3-like server ("+OK hello", STLS, PING) on conn_new,
 * the client on conn_new_client. Certificates are made in a temp dir: a CA
 * and a leaf it signed (localhost, 127.0.0.1), an expired leaf, a
 * not-yet-valid one, one for another name, and a self-signed one.
 *
 * Checks: verification with --ca-file by DNS name and by IP; the sentence
 * of each failure (expired, not yet valid, wrong name or IP, self-signed,
 * unknown issuer, pin mismatch, plain-text server, server closing, connect
 * refused); the system store never trusts a local self-signed server; a
 * pin accepts its certificate whatever the names and dates, and nothing
 * else; STLS upgrade (and its refusal when the server sent more after its
 * reply); handshake timeout; fingerprint parsing; context errors.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../bridge/conn.h"
#include "../../bridge/ev.h"
#include "../../bridge/net.h"
#include "../../bridge/tls.h"
#include "../../bridge/tls_client.h"
#include "test.h"

#define DAY (24L * 3600)

enum {
	CERT_CA,
	CERT_OK,      /* signed by the CA: localhost, 127.0.0.1 */
	CERT_EXPIRED, /* signed by the CA, expired yesterday */
	CERT_FUTURE,  /* signed by the CA, valid from in 10 days */
	CERT_OTHER,   /* signed by the CA: mail.other.net */
	CERT_SELF,    /* tls_make_self_signed: localhost, 127.0.0.1 */
	CERT_N
};

static struct {
	char cert[128], key[128];
	SSL_CTX *srv;  /* server context with this certificate */
	char fp[65];   /* SHA-256, lower hex */
	char fpc[96];  /* "ab:cd:..." */
	char date[16]; /* notAfter (EXPIRED) / notBefore (FUTURE) */
} certs[CERT_N];

static char tmpdir[64];
static struct ev_loop *L;
static int lfd = -1, port;
static SSL_CTX *ca_ctx; /* tls_client_ctx_new(ca.pem) */
static X509 *ca_x;      /* the CA, signing the leaves */
static EVP_PKEY *ca_key;

/* The server's behaviour for the next run. */
static struct {
	SSL_CTX *tls;   /* implicit TLS with it, NULL: plain */
	SSL_CTX *stls;  /* context for STLS */
	int stls_extra; /* bytes after the STLS reply */
	int close_now;  /* close right after accept */
} SK;
static int srv_live;

/* What the client saw. */
static struct {
	struct conn *c;
	SSL_CTX *stls_ctx; /* non-NULL: STLS after the greeting */
	const char *host;
	int tls_ready, errors, closed, timeouts, pong, starttls_rc, fp_rc;
	int plain_fp_rc, bad;
	char error[1024], fp[65], info[64];
} C;

/* ---- certificates ---- */

static void
hex_of(const unsigned char *md, char *hex, char *hexc)
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		hex[2 * i] = d[md[i] >> 4];
		hex[2 * i + 1] = d[md[i] & 15];
		hexc[3 * i] = d[md[i] >> 4];
		hexc[3 * i + 1] = d[md[i] & 15];
		hexc[3 * i + 2] = i == 31 ? '\0' : ':';
	}
	hex[64] = '\0';
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static int
write_pem(const char *path, EVP_PKEY *key, X509 *x)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = key ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL)
	         : PEM_write_X509(fp, x);
	return fclose(fp) == 0 && ok == 1 ? 0 : -1;
}

/* Makes certs[i] valid from..to seconds from now: the CA (self-signed,
 * kept in ca_x/ca_key) when is_ca, else a leaf the CA signs. */
static int
make_cert(int i, const char *cn, const char *san, long from, long to, int is_ca)
{
	static long serial = 1;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	int rc = -1;

	if (key == NULL || x == NULL)
		goto done;
	snprintf(certs[i].cert, sizeof certs[i].cert, "%s/c%d.pem", tmpdir, i);
	snprintf(certs[i].key, sizeof certs[i].key, "%s/k%d.pem", tmpdir, i);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), from) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), to) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(x, is_ca ? name
	                                  : X509_get_subject_name(ca_x)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto done;
	if (add_ext(x, is_ca ? NULL : ca_x, NID_basic_constraints,
	            is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(x, is_ca ? NULL : ca_x, NID_key_usage,
	            is_ca ? "critical,keyCertSign,cRLSign"
	                  : "critical,digitalSignature") < 0 ||
	    add_ext(x, is_ca ? NULL : ca_x, NID_subject_key_identifier,
	            "hash") < 0 ||
	    (!is_ca && add_ext(x, ca_x, NID_authority_key_identifier,
	                       "keyid:always") < 0) ||
	    (!is_ca && add_ext(x, ca_x, NID_ext_key_usage, "serverAuth") < 0) ||
	    (san && add_ext(x, NULL, NID_subject_alt_name, san) < 0))
		goto done;
	if (X509_sign(x, is_ca ? key : ca_key, EVP_sha256()) <= 0 ||
	    write_pem(certs[i].key, key, NULL) < 0 ||
	    write_pem(certs[i].cert, NULL, x) < 0)
		goto done;
	if (is_ca) {
		ca_x = x;
		ca_key = key;
		x = NULL;
		key = NULL;
	}
	rc = 0;
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Loads certs[i]'s server context, fingerprint and dates. */
static int
load_cert(int i)
{
	const char *err = NULL;
	unsigned char md[32];
	unsigned int len = 0;
	struct tm tm;
	FILE *fp;
	X509 *x;

	certs[i].srv = tls_server_ctx_new(certs[i].cert, certs[i].key, &err);
	if (certs[i].srv == NULL) {
		fprintf(stderr, "load_cert %d: %s\n", i, err);
		return -1;
	}
	fp = fopen(certs[i].cert, "r");
	if (fp == NULL)
		return -1;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &len) != 1) {
		X509_free(x);
		return -1;
	}
	hex_of(md, certs[i].fp, certs[i].fpc);
	memset(&tm, 0, sizeof tm);
	if (ASN1_TIME_to_tm(i == CERT_FUTURE ? X509_get0_notBefore(x)
	                                     : X509_get0_notAfter(x),
	                    &tm) == 1)
		strftime(certs[i].date, sizeof certs[i].date, "%Y-%m-%d", &tm);
	X509_free(x);
	return 0;
}

/* ---- the server ---- */

struct srv {
	struct conn *c;
};

static void
srv_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct srv *s = arg;
	struct buf *in = conn_in(c);
	char *nl;

	switch (ev) {
	case CONN_EV_DATA:
		while ((nl = memchr(in->data, '\n', in->len)) != NULL) {
			size_t n = (size_t)(nl - in->data) + 1;
			int stls = n >= 4 && memcmp(in->data, "STLS", 4) == 0;
			int ping = n >= 4 && memcmp(in->data, "PING", 4) == 0;

			buf_consume(in, n);
			if (ping)
				conn_writes(c, "+OK PONG\r\n");
			if (stls) {
				conn_writes(c, SK.stls_extra
				                       ? "+OK begin\r\nJUNK\r\n"
				                       : "+OK begin\r\n");
				if (conn_starttls(c, SK.stls) < 0)
					C.bad++;
				return;
			}
		}
		/* Anything else (a ClientHello on a plain server) is
		 * dropped. */
		if (in->len > 1024)
			buf_reset(in);
		break;
	case CONN_EV_TLS_READY:
	case CONN_EV_DRAINED:
		break;
	case CONN_EV_TIMEOUT:
	case CONN_EV_CLOSED:
	case CONN_EV_ERROR:
		conn_free(&s->c);
		free(s);
		srv_live--;
		break;
	}
}

static void
accept_cb(int fd, unsigned events, void *arg)
{
	int cfd, lo;
	char addr[64];

	(void)events;
	(void)arg;
	while ((cfd = net_accept(fd, addr, sizeof addr, &lo)) >= 0) {
		struct srv *s;

		if (SK.close_now) {
			close(cfd);
			continue;
		}
		s = calloc(1, sizeof *s);
		s->c = conn_new(L, cfd, SK.tls, 4096, srv_cb, s);
		if (s->c == NULL) {
			free(s);
			continue;
		}
		conn_set_timeout(s->c, 10);
		conn_writes(s->c, "+OK hello\r\n");
		srv_live++;
	}
}

/* ---- the client ---- */

static void
cl_end(const char *why)
{
	if (why != NULL)
		snprintf(C.error, sizeof C.error, "%s", why);
	if (why != NULL && getenv("TEST_VERBOSE") != NULL)
		printf("# %s\n", why);
	conn_free(&C.c);
}

/* Handles the lines of conn_in; returns when the conn is gone. */
static void
cl_lines(struct conn *c)
{
	struct buf *in = conn_in(c);
	char *nl;

	while (C.c != NULL && (nl = memchr(in->data, '\n', in->len)) != NULL) {
		size_t n = (size_t)(nl - in->data) + 1;
		int hello = n >= 9 && memcmp(in->data, "+OK hello", 9) == 0;
		int begin = n >= 9 && memcmp(in->data, "+OK begin", 9) == 0;
		int pong = n >= 8 && memcmp(in->data, "+OK PONG", 8) == 0;

		buf_consume(in, n);
		if (hello && C.stls_ctx != NULL && !conn_is_tls(c)) {
			C.plain_fp_rc = conn_peer_fingerprint(c, C.fp);
			conn_writes(c, "STLS\r\n");
		} else if (hello) {
			conn_writes(c, "PING\r\n");
		} else if (begin) {
			C.starttls_rc =
			        conn_starttls_client(c, C.stls_ctx, C.host);
			if (C.starttls_rc < 0)
				cl_end("starttls refused");
		} else if (pong) {
			const char *ti = conn_tls_info(c);

			C.pong++;
			snprintf(C.info, sizeof C.info, "%s", ti ? ti : "");
			cl_end(NULL);
		}
	}
}

static void
cl_cb(struct conn *c, enum conn_event ev, void *arg)
{
	(void)arg;
	if (c != C.c)
		C.bad++;
	switch (ev) {
	case CONN_EV_DATA:
		cl_lines(c);
		break;
	case CONN_EV_TLS_READY:
		C.tls_ready++;
		C.fp_rc = conn_peer_fingerprint(c, C.fp);
		if (C.stls_ctx != NULL)
			conn_writes(c, "PING\r\n");
		break;
	case CONN_EV_DRAINED:
		break;
	case CONN_EV_TIMEOUT:
		C.timeouts++;
		cl_end("timeout");
		break;
	case CONN_EV_CLOSED:
		C.closed++;
		cl_end(conn_error(c) ? conn_error(c) : "closed");
		break;
	case CONN_EV_ERROR:
		C.errors++;
		cl_end(conn_error(c) ? conn_error(c) : "(no error text)");
		break;
	}
}

static void
before_sleep(void *arg)
{
	(void)arg;
	if (C.c == NULL && srv_live == 0)
		ev_stop(L);
}

static void
safety_cb(void *arg)
{
	(void)arg;
	fprintf(stderr, "  safety timeout\n");
	C.bad++;
	ev_stop(L);
}

/*
 * Connects (non-blocking) to 127.0.0.1:p with the client context tls (NULL
 * plain; stls non-NULL: STLS after the greeting), host as the name, and
 * runs the loop until the client conn and the server's are gone.
 */
static void
run(int p, SSL_CTX *tls, SSL_CTX *stls, const char *host, unsigned timeout)
{
	struct sockaddr_in sin;
	uint64_t safety;
	int fd;

	memset(&C, 0, sizeof C);
	C.starttls_rc = C.fp_rc = C.plain_fp_rc = 99;
	C.stls_ctx = stls;
	C.host = host;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 &&
	               errno != EINPROGRESS)) {
		snprintf(C.error, sizeof C.error, "connect: %s",
		         strerror(errno));
		C.bad++;
		if (fd >= 0)
			close(fd);
		return;
	}
	C.c = conn_new_client(L, fd, tls, host, 65536, cl_cb, NULL);
	if (C.c == NULL) {
		C.bad++;
		return;
	}
	conn_set_timeout(C.c, timeout ? timeout : 10);
	safety = ev_timer_add(L, 20000, safety_cb, NULL);
	ev_run(L);
	ev_timer_del(L, safety);
	memset(&SK, 0, sizeof SK);
}

/* Runs against the implicit-TLS server with certificate i; 0 when the
 * client saw PONG over TLS. */
static void
run_tls(int i, SSL_CTX *cli, const char *host)
{
	SK.tls = certs[i].srv;
	run(port, cli, NULL, host, 0);
}

static int
has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		return 1;
	fprintf(stderr, "  \"%s\" lacks \"%s\"\n", hay, needle);
	return 0;
}

/* ---- tests ---- */

static void
test_fingerprint_parse(void)
{
	char out[65], in[200];
	const char *lower = certs[CERT_OK].fp;

	/* "AB:CD:..." upper case with colons. */
	for (int i = 0; i < 32; i++) {
		in[3 * i] = (char)(lower[2 * i] >= 'a' ? lower[2 * i] - 32
		                                       : lower[2 * i]);
		in[3 * i + 1] =
		        (char)(lower[2 * i + 1] >= 'a' ? lower[2 * i + 1] - 32
		                                       : lower[2 * i + 1]);
		in[3 * i + 2] = i == 31 ? '\0' : ':';
	}
	T_EQ_INT(tls_client_fingerprint_parse(in, out), 0);
	T_EQ_STR(out, lower);
	T_EQ_INT(tls_client_fingerprint_parse(lower, out), 0);
	T_EQ_STR(out, lower);
	T_EQ_INT(tls_client_fingerprint_parse(certs[CERT_OK].fpc, out), 0);
	T_EQ_STR(out, lower);
	/* 63 and 65 digits, non-hex, empty. */
	snprintf(in, sizeof in, "%.63s", lower);
	T_EQ_INT(tls_client_fingerprint_parse(in, out), -1);
	snprintf(in, sizeof in, "%sa", lower);
	T_EQ_INT(tls_client_fingerprint_parse(in, out), -1);
	snprintf(in, sizeof in, "%.63sg", lower);
	T_EQ_INT(tls_client_fingerprint_parse(in, out), -1);
	snprintf(in, sizeof in, "%.62s x", lower);
	T_EQ_INT(tls_client_fingerprint_parse(in, out), -1);
	T_EQ_INT(tls_client_fingerprint_parse("", out), -1);
	T_EQ_INT(tls_client_fingerprint_parse(NULL, out), -1);
}

static void
test_ctx_errors(void)
{
	const char *err = NULL;

	T_ASSERT(tls_client_ctx_new("/nonexistent/ca.pem", NULL, &err) == NULL);
	T_ASSERT(err != NULL && has(err, "/nonexistent/ca.pem") &&
	         has(err, "No such file"));
	err = NULL;
	/* A PEM file without certificates. */
	T_ASSERT(tls_client_ctx_new(certs[CERT_OK].key, NULL, &err) == NULL);
	T_ASSERT(err != NULL && has(err, certs[CERT_OK].key));
	err = NULL;
	T_ASSERT(tls_client_ctx_new(NULL, "ab:cd", &err) == NULL);
	T_ASSERT(err != NULL && has(err, "64 hex digits"));
}

static void
test_ca_file_ok(void)
{
	run_tls(CERT_OK, ca_ctx, "localhost");
	T_EQ_INT(C.pong, 1);
	T_EQ_INT(C.tls_ready, 1);
	T_EQ_INT(C.fp_rc, 0);
	T_EQ_STR(C.fp, certs[CERT_OK].fp);
	T_ASSERT(strncmp(C.info, "TLSv1.3 ", 8) == 0);
	T_EQ_INT(C.bad, 0);
	/* By IP address: the SAN has IP:127.0.0.1 (no SNI sent). */
	run_tls(CERT_OK, ca_ctx, "127.0.0.1");
	T_EQ_INT(C.pong, 1);
	T_EQ_INT(C.bad, 0);
	/* A host name in another case matches too. */
	run_tls(CERT_OK, ca_ctx, "LocalHost");
	T_EQ_INT(C.pong, 1);
	T_EQ_INT(C.bad, 0);
}

static void
test_expired_and_future(void)
{
	char want[128];

	run_tls(CERT_EXPIRED, ca_ctx, "localhost");
	T_EQ_INT(C.errors, 1);
	T_EQ_INT(C.tls_ready + C.pong, 0);
	snprintf(want, sizeof want, "certificate for localhost expired on %s",
	         certs[CERT_EXPIRED].date);
	T_EQ_STR(C.error, want);
	run_tls(CERT_FUTURE, ca_ctx, "localhost");
	T_EQ_INT(C.errors, 1);
	snprintf(want, sizeof want,
	         "certificate for localhost is not valid until %s",
	         certs[CERT_FUTURE].date);
	T_ASSERT(has(C.error, want));
	T_EQ_INT(C.bad, 0);
}

static void
test_name_mismatch(void)
{
	run_tls(CERT_OTHER, ca_ctx, "localhost");
	T_EQ_INT(C.errors, 1);
	T_EQ_STR(C.error, "certificate is for mail.other.net, "
	                  "imap.other.net, not localhost");
	/* An IP literal the certificate does not have. */
	run_tls(CERT_OK, ca_ctx, "127.0.0.2");
	T_EQ_INT(C.errors, 1);
	T_EQ_STR(C.error, "certificate is for localhost, 127.0.0.1, "
	                  "not 127.0.0.2");
	/* No partial wildcards, no suffix match. */
	run_tls(CERT_OK, ca_ctx, "host.localhost");
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "is for"));
	T_EQ_INT(C.bad, 0);
}

static void
test_self_signed_and_unknown_issuer(void)
{
	const char *err = NULL;
	SSL_CTX *sys = tls_client_ctx_new(NULL, NULL, &err);
	char want[256];

	T_ASSERT(sys != NULL);
	/* A CA file that does not have it. */
	run_tls(CERT_SELF, ca_ctx, "localhost");
	T_EQ_INT(C.errors, 1);
	snprintf(want, sizeof want,
	         "certificate for localhost is self-signed and not trusted "
	         "(SHA-256 fingerprint %s; pin it with --fingerprint or give "
	         "--ca-file)",
	         certs[CERT_SELF].fpc);
	T_EQ_STR(C.error, want);
	/* The system store by default: never trusts it. */
	run_tls(CERT_SELF, sys, "localhost");
	T_EQ_INT(C.errors, 1);
	T_EQ_INT(C.tls_ready + C.pong, 0);
	T_EQ_STR(C.error, want);
	run_tls(CERT_SELF, sys, "127.0.0.1");
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "self-signed"));
	/* A leaf of our CA against the system store: unknown issuer. */
	run_tls(CERT_OK, sys, "localhost");
	T_EQ_INT(C.errors, 1);
	T_EQ_INT(C.tls_ready + C.pong, 0);
	T_ASSERT(has(C.error, "issued by \"popbridge test CA\", which is not "
	                      "trusted") &&
	         has(C.error, certs[CERT_OK].fpc) &&
	         has(C.error, "--fingerprint"));
	tls_ctx_free(&sys);
	T_EQ_INT(C.bad, 0);
}

static void
test_pin(void)
{
	const char *err = NULL;
	SSL_CTX *pin, *pin_exp, *wrong;
	char want[256], upper[100];

	/* Upper case with colons, as a user pastes it. */
	snprintf(upper, sizeof upper, "%s", certs[CERT_SELF].fpc);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	pin = tls_client_ctx_new(NULL, upper, &err);
	T_ASSERT(pin != NULL);
	run_tls(CERT_SELF, pin, "localhost");
	T_EQ_INT(C.pong, 1);
	T_EQ_STR(C.fp, certs[CERT_SELF].fp);
	/* Names do not matter with a pin. */
	run_tls(CERT_SELF, pin, "pop.example.net");
	T_EQ_INT(C.pong, 1);
	/* Dates neither; the CA file is ignored. */
	pin_exp = tls_client_ctx_new(certs[CERT_CA].cert,
	                             certs[CERT_EXPIRED].fp, &err);
	T_ASSERT(pin_exp != NULL);
	run_tls(CERT_EXPIRED, pin_exp, "localhost");
	T_EQ_INT(C.pong, 1);
	/* Another certificate, even one the CA file would accept. */
	run_tls(CERT_OK, pin_exp, "localhost");
	T_EQ_INT(C.errors, 1);
	T_EQ_INT(C.tls_ready + C.pong, 0);
	snprintf(want, sizeof want,
	         "certificate fingerprint %s does not match the pinned one",
	         certs[CERT_OK].fpc);
	T_EQ_STR(C.error, want);
	wrong = tls_client_ctx_new(NULL, certs[CERT_OK].fp, &err);
	run_tls(CERT_SELF, wrong, "localhost");
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "does not match"));
	tls_ctx_free(&pin);
	tls_ctx_free(&pin_exp);
	tls_ctx_free(&wrong);
	T_EQ_INT(C.bad, 0);
}

static void
test_connect_refused(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A bound port nobody listens on. */
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	run(ntohs(sin.sin_port), ca_ctx, NULL, "localhost", 0);
	close(fd);
	T_EQ_INT(C.errors, 1);
	T_EQ_STR(C.error, "connection refused");
	T_EQ_INT(C.bad, 0);
}

static void
test_plain_server(void)
{
	/* TLS client, plain server that greets first. */
	run(port, ca_ctx, NULL, "localhost", 0);
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "the server did not answer with TLS (is the "
	                      "port for STARTTLS or plain POP3?)"));
	/* A server that closes at once. */
	SK.close_now = 1;
	run(port, ca_ctx, NULL, "localhost", 0);
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "closed the connection during the TLS "
	                      "handshake"));
	/* And plain to plain works, with no fingerprint. */
	run(port, NULL, NULL, "localhost", 0);
	T_EQ_INT(C.pong, 1);
	T_EQ_STR(C.info, "");
	T_EQ_INT(C.bad, 0);
}

static void
test_starttls(void)
{
	SK.stls = certs[CERT_OK].srv;
	run(port, NULL, ca_ctx, "localhost", 0);
	T_EQ_INT(C.starttls_rc, 0);
	T_EQ_INT(C.plain_fp_rc, -1);
	T_EQ_INT(C.tls_ready, 1);
	T_EQ_INT(C.pong, 1);
	T_EQ_INT(C.fp_rc, 0);
	T_EQ_STR(C.fp, certs[CERT_OK].fp);
	T_ASSERT(strncmp(C.info, "TLSv1.3 ", 8) == 0);
	T_EQ_INT(C.bad, 0);
	/* A certificate failure after STLS has its sentence too. */
	SK.stls = certs[CERT_SELF].srv;
	run(port, NULL, ca_ctx, "localhost", 0);
	T_EQ_INT(C.starttls_rc, 0);
	T_EQ_INT(C.errors, 1);
	T_ASSERT(has(C.error, "self-signed"));
	/* Bytes after the STLS reply: refused. */
	SK.stls = certs[CERT_OK].srv;
	SK.stls_extra = 1;
	run(port, NULL, ca_ctx, "localhost", 0);
	T_EQ_INT(C.starttls_rc, -1);
	T_EQ_INT(C.tls_ready, 0);
	T_EQ_STR(C.error, "starttls refused");
	T_EQ_INT(C.bad, 0);
}

static void
test_handshake_timeout_and_no_host(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	int fd = -1;
	const char *err = NULL;
	double t0;

	/* A listener nobody accepts on: the TCP connect completes, the
	 * ServerHello never comes. */
	T_EQ_INT(net_listen("127.0.0.1:0", &fd, 1, &err), 1);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	t0 = (double)ev_now_ms();
	run(ntohs(sin.sin_port), ca_ctx, NULL, "localhost", 1);
	close(fd);
	T_EQ_INT(C.timeouts, 1);
	T_EQ_INT(C.errors + C.tls_ready, 0);
	T_ASSERT((double)ev_now_ms() - t0 >= 900);
	/* TLS without a name to check: an error, never an unchecked
	 * connection. */
	SK.tls = certs[CERT_OK].srv;
	run(port, ca_ctx, NULL, NULL, 0);
	T_EQ_INT(C.errors, 1);
	T_EQ_INT(C.tls_ready, 0);
	T_ASSERT(has(C.error, "no host name"));
	T_EQ_INT(C.bad, 0);
}

static const struct test_case tests[] = {
        {"fingerprint_parse", test_fingerprint_parse},
        {"ctx_errors", test_ctx_errors},
        {"ca_file_ok", test_ca_file_ok},
        {"expired_and_future", test_expired_and_future},
        {"name_mismatch", test_name_mismatch},
        {"self_signed_and_unknown_issuer", test_self_signed_and_unknown_issuer},
        {"pin", test_pin},
        {"connect_refused", test_connect_refused},
        {"plain_server", test_plain_server},
        {"starttls", test_starttls},
        {"handshake_timeout_and_no_host", test_handshake_timeout_and_no_host},
        {NULL, NULL},
};

static int
setup(void)
{
	const char *err = NULL;
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_test_tls_client.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (make_cert(CERT_CA, "popbridge test CA", NULL, -DAY, 30 * DAY, 1) <
	            0 ||
	    make_cert(CERT_OK, "localhost", "DNS:localhost,IP:127.0.0.1", -DAY,
	              30 * DAY, 0) < 0 ||
	    make_cert(CERT_EXPIRED, "localhost", "DNS:localhost", -30 * DAY,
	              -DAY, 0) < 0 ||
	    make_cert(CERT_FUTURE, "localhost", "DNS:localhost", 10 * DAY,
	              40 * DAY, 0) < 0 ||
	    make_cert(CERT_OTHER, "mail.other.net",
	              "DNS:mail.other.net,DNS:imap.other.net", -DAY, 30 * DAY,
	              0) < 0) {
		fprintf(stderr, "setup: cannot make certificates\n");
		return -1;
	}
	snprintf(certs[CERT_SELF].cert, sizeof certs[CERT_SELF].cert,
	         "%s/self.pem", tmpdir);
	snprintf(certs[CERT_SELF].key, sizeof certs[CERT_SELF].key,
	         "%s/self.key", tmpdir);
	if (tls_make_self_signed(certs[CERT_SELF].cert, certs[CERT_SELF].key,
	                         "localhost", &err) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	for (int i = 0; i < CERT_N; i++)
		if (load_cert(i) < 0)
			return -1;
	ca_ctx = tls_client_ctx_new(certs[CERT_CA].cert, NULL, &err);
	if (ca_ctx == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	L = ev_loop_new();
	ev_set_before_sleep(L, before_sleep, NULL);
	if (net_listen("127.0.0.1:0", &lfd, 1, &err) != 1) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	ev_fd_set(L, lfd, EV_READ, accept_cb, NULL);
	return 0;
}

static void
cleanup(void)
{
	ev_fd_del(L, lfd);
	close(lfd);
	ev_loop_free(&L);
	tls_ctx_free(&ca_ctx);
	for (int i = 0; i < CERT_N; i++) {
		tls_ctx_free(&certs[i].srv);
		unlink(certs[i].cert);
		unlink(certs[i].key);
	}
	X509_free(ca_x);
	EVP_PKEY_free(ca_key);
	rmdir(tmpdir);
}

int
main(void)
{
	int rc;

	if (setup() < 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	rc = test_run(tests);
	cleanup();
	return rc;
}
