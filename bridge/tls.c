/*
 * bridge/tls.c: OpenSSL server contexts and the self-signed certificate
 * made by `popbridge init` (see tls.h). RFC 8446 (TLS 1.3) and RFC 5246
 * (TLS 1.2) through OpenSSL 3; RFC 5280 for the certificate.
 *
 * Server policy: TLS 1.2 minimum, OpenSSL's default TLS 1.3 suites, TLS 1.2
 * ciphers restricted to forward-secret AEAD/HIGH ones, no compression, no
 * renegotiation, session tickets on. An unexpected EOF from the peer is
 * treated as a close (IMAP and POP3 frame their own data), so clients that
 * just drop the TCP connection are not reported as TLS errors.
 *
 * Also the socket BIO of conn.c's TLS connections (tls_ssl_new): send with
 * MSG_NOSIGNAL, so SIGPIPE is never raised by TLS writes, whatever the
 * process's signal setup. tls_ssl_attach gives the same BIO to any SSL
 * (tls_client.c makes client ones).
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* TLS 1.2 cipher list (TLS 1.3 suites are OpenSSL's defaults). */
#define TLS_CIPHERS_12                                                         \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:"       \
	"!aNULL:!eNULL:!MD5:!RC4:!3DES:!DSS:!PSK:!SRP"
/* Self-signed certificate lifetime: 10 years. */
#define TLS_CERT_DAYS 3650
/* Longest hostname put in the subjectAltName. */
#define TLS_HOST_MAX 253

static char tls_errbuf[PATH_MAX + 512];
static BIO_METHOD *tls_bio_method;
static int tls_bio_type;

static int tls_fail(const char **error_r, const char *what, const char *path)
        __attribute__((nonnull(2)));
static int tls_host_ok(const char *h);
static int tls_add_ext(X509 *x, int nid, const char *value);
static int tls_write_pem(const char *path, mode_t mode, EVP_PKEY *key,
                         X509 *cert);
static int tls_bio_write(BIO *b, const char *data, int len);
static int tls_bio_read(BIO *b, char *data, int len);
static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr);
static int tls_bio_method_init(void);

/* Formats "what path: openssl reason" (or strerror) into tls_errbuf. */
static int
tls_fail(const char **error_r, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof reason);
	else if (errno != 0)
		snprintf(reason, sizeof reason, "%s", strerror(errno));
	else
		snprintf(reason, sizeof reason, "unknown error");
	ERR_clear_error();
	snprintf(tls_errbuf, sizeof tls_errbuf, "%s%s%s: %s", what,
	         path ? " " : "", path ? path : "", reason);
	if (error_r)
		*error_r = tls_errbuf;
	return -1;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_path, const char *key_path,
                   const char **error_r)
{
	SSL_CTX *ctx;
	static const unsigned char sid_ctx[] = "popbridge";

	ERR_clear_error();
	errno = 0;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_fail(error_r, "cannot create TLS context", NULL);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		tls_fail(error_r, "cannot set TLS protocol or ciphers", NULL);
		goto fail_ctx;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	                                 SSL_OP_NO_RENEGOTIATION |
	                                 SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	                              SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	errno = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		tls_fail(error_r, "cannot load certificate", cert_path);
		goto fail_ctx;
	}
	errno = 0;
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		tls_fail(error_r, "cannot load private key", key_path);
		goto fail_ctx;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(error_r, "private key does not match certificate",
		         key_path);
		goto fail_ctx;
	}
	return ctx;
fail_ctx:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX **ctx)
{
	if (ctx == NULL || *ctx == NULL)
		return;
	SSL_CTX_free(*ctx);
	*ctx = NULL;
}

/* A DNS name safe to put in a subjectAltName config string. */
static int
tls_host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > TLS_HOST_MAX || h[0] == '.' || h[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int
tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/*
 * Writes key (when non-NULL) or cert as PEM to path through a temporary
 * file created with O_EXCL and the final mode, then renamed: the key is
 * never readable by others, not even while being written.
 */
static int
tls_write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	char tmp[PATH_MAX];
	FILE *fp;
	int fd, n, ok, err;

	n = snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	          mode);
	if (fd < 0)
		return -1;
	/* The umask may have taken bits away; never adds any. */
	if (fchmod(fd, mode) < 0)
		goto fail_fd;
	fp = fdopen(fd, "w");
	if (fp == NULL)
		goto fail_fd;
	if (key != NULL)
		ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(fp, cert);
	if (ok != 1 || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		err = errno;
		fclose(fp);
		goto fail_unlink;
	}
	if (fclose(fp) != 0) {
		err = errno;
		goto fail_unlink;
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		goto fail_unlink;
	}
	return 0;
fail_fd:
	err = errno;
	close(fd);
fail_unlink:
	(void)unlink(tmp);
	errno = err;
	return -1;
}

int
tls_make_self_signed(const char *cert_path, const char *key_path,
                     const char *hostname, const char **error_r)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	char host[TLS_HOST_MAX + 2], san[TLS_HOST_MAX + 64];
	const char *cn = "localhost";
	int rc = -1;

	ERR_clear_error();
	errno = 0;
	host[0] = '\0';
	if (hostname != NULL) {
		snprintf(host, sizeof host, "%s", hostname);
	} else if (gethostname(host, sizeof host - 1) == 0) {
		host[sizeof host - 1] = '\0';
	} else {
		host[0] = '\0';
	}
	if (!tls_host_ok(host) || strcmp(host, "localhost") == 0)
		host[0] = '\0';
	if (host[0] != '\0') {
		cn = host;
		snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,DNS:%s",
		         host);
	} else {
		snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1");
	}

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		tls_fail(error_r, "cannot generate an EC P-256 key", NULL);
		goto done;
	}
	x = X509_new();
	bn = BN_new();
	if (x == NULL || bn == NULL)
		goto fail_ssl;
	/* A positive random serial below 2^159 (RFC 5280: <= 20 octets). */
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail_ssl;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) ==
	            NULL)
		goto fail_ssl;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                               (const unsigned char *)"popbridge", -1,
	                               -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto fail_ssl;
	if (tls_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    tls_add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    tls_add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    tls_add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    tls_add_ext(x, NID_subject_alt_name, san) < 0)
		goto fail_ssl;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail_ssl;

	errno = 0;
	if (tls_write_pem(key_path, 0600, key, NULL) < 0) {
		tls_fail(error_r, "cannot write private key", key_path);
		goto done;
	}
	errno = 0;
	if (tls_write_pem(cert_path, 0644, NULL, x) < 0) {
		tls_fail(error_r, "cannot write certificate", cert_path);
		goto done;
	}
	rc = 0;
	goto done;
fail_ssl:
	tls_fail(error_r, "cannot make the self-signed certificate", NULL);
done:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- the socket BIO of conn.c: no SIGPIPE ---- */

static int
tls_bio_write(BIO *b, const char *data, int len)
{
	struct tls_sock *sk = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = send(sk->fd, data, (size_t)len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		else
			sk->err = errno;
		return -1;
	}
	return (int)n;
}

static int
tls_bio_read(BIO *b, char *data, int len)
{
	struct tls_sock *sk = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = recv(sk->fd, data, (size_t)len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		else
			sk->err = errno;
		return -1;
	}
	sk->rx += (uint64_t)n;
	return (int)n;
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	/* Writes go straight to the socket: nothing to flush. */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* Makes the BIO method once; kept for the life of the process. */
static int
tls_bio_method_init(void)
{
	if (tls_bio_method != NULL)
		return 0;
	tls_bio_type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
	tls_bio_method = BIO_meth_new(tls_bio_type, "popbridge socket");
	if (tls_bio_method == NULL ||
	    BIO_meth_set_write(tls_bio_method, tls_bio_write) != 1 ||
	    BIO_meth_set_read(tls_bio_method, tls_bio_read) != 1 ||
	    BIO_meth_set_ctrl(tls_bio_method, tls_bio_ctrl) != 1) {
		BIO_meth_free(tls_bio_method);
		tls_bio_method = NULL;
		return -1;
	}
	return 0;
}

int
tls_ssl_attach(SSL *ssl, struct tls_sock *sock)
{
	BIO *bio;

	if (tls_bio_method_init() < 0)
		return -1;
	bio = BIO_new(tls_bio_method);
	if (bio == NULL)
		return -1;
	BIO_set_data(bio, sock);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS |
	                          SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return 0;
}

struct tls_sock *
tls_ssl_sock(SSL *ssl)
{
	BIO *bio = ssl != NULL ? SSL_get_rbio(ssl) : NULL;

	if (bio == NULL || tls_bio_method == NULL ||
	    BIO_method_type(bio) != tls_bio_type)
		return NULL;
	return BIO_get_data(bio);
}

SSL *
tls_ssl_new(SSL_CTX *ctx, struct tls_sock *sock)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (tls_ssl_attach(ssl, sock) < 0) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}
