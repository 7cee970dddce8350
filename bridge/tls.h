/*
 * bridge/tls.h: OpenSSL server contexts (TLS 1.2+). The key and certificate
 * are loaded at start and again on SIGHUP (tls_ctx_reload); connections
 * already open keep the context they started with (refcounted by OpenSSL).
 */
#ifndef PB_TLS_H
#define PB_TLS_H

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

#endif
