/*
 * bridge/tls.h: OpenSSL server contexts (TLS 1.2+). The key and certificate
 * are loaded at start and again on SIGHUP (tls_ctx_reload); connections
 * already open keep the context they started with (refcounted by OpenSSL).
 */
#ifndef PB_TLS_H
#define PB_TLS_H

#include <stdint.h>

typedef struct ssl_ctx_st SSL_CTX;

/* NULL and *error_r set (static or thread-local text) on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path,
			    const char **error_r);
void tls_ctx_free(SSL_CTX **ctx);

/*
 * Makes a self-signed certificate (RSA 2048 or EC P-256, SAN DNS:localhost,
 * IP:127.0.0.1 plus hostname) and key files (key mode 0600). 0 or -1.
 */
int tls_make_self_signed(const char *cert_path, const char *key_path,
			 const char *hostname, const char **error_r);

/*
 * The socket as the TLS layer of a conn sees it. tls_ssl_new's BIO reads
 * and writes fd with recv/send(MSG_NOSIGNAL), so a peer that went away
 * gives EPIPE and never SIGPIPE; it adds the bytes received to rx and
 * keeps the errno of a failed socket call in err (0 otherwise: EOF).
 */
struct tls_sock {
	int fd;
	int err;
	uint64_t rx;
};

/*
 * A server-side SSL (accept state) on a connected non-blocking socket,
 * with partial writes, moving write buffers, released idle buffers and
 * unexpected EOF taken as a close. sock must outlive the SSL. NULL on OOM.
 */
typedef struct ssl_st SSL;
SSL *tls_ssl_new(SSL_CTX *ctx, struct tls_sock *sock);

/*
 * The pieces of tls_ssl_new for other SSLs (tls_client.c): gives ssl the
 * socket BIO on sock with the same modes and options, but sets neither
 * accept nor connect state (0, or -1 on OOM); and the tls_sock of an SSL
 * made so (NULL for any other BIO), e.g. for the errno of a failed
 * handshake.
 */
int tls_ssl_attach(SSL *ssl, struct tls_sock *sock);
struct tls_sock *tls_ssl_sock(SSL *ssl);

#endif
