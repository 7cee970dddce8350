/*
 * bridge/tls_client.h: TLS for the POP3 client (RFC 8446/5246 through
 * OpenSSL; RFC 6125 host name checks; RFC 2595 / 8314 POP3 over TLS).
 *
 * By default the server certificate is verified against the system trust
 * store (OpenSSL's default paths: /etc/ssl/certs on Debian) and must match
 * the host name (DNS name, or IP address when the host is a literal), and
 * SNI is sent for DNS names. Per account, ca_file replaces the system store
 * with the given PEM file(s), or a fingerprint pin (SHA-256 of the leaf
 * certificate's DER, 64 hex digits, ':' separators and case ignored)
 * accepts exactly that certificate and nothing else, whatever its chain,
 * names or dates (a home server's self-signed certificate).
 *
 * When a handshake fails, tls_client_failure() gives one sentence a user
 * can act on, e.g.
 *   "certificate for pop.example.net expired on 2026-10-01"
 *   "certificate is for mail.other.net, not pop.example.net"
 *   "certificate for localhost is self-signed and not trusted (SHA-256
 *    fingerprint 3a:...; pin it with --fingerprint or give --ca-file)"
 *   "certificate fingerprint ab:cd... does not match the pinned one"
 */
#ifndef PB_TLS_CLIENT_H
#define PB_TLS_CLIENT_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
struct tls_sock;

/*
 * A client context (TLS 1.2 or later). ca_file NULL: the system store.
 * fingerprint NULL: normal verification; else the pin (ca_file ignored).
 * NULL with *error_r (static or thread-local sentence) when the CA file
 * cannot be read or the pin is malformed.
 */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *fingerprint,
			    const char **error_r);
/*
 * Normalises a fingerprint given by a user ("AB:CD:..." or "abcd...") to 64
 * lower-case hex digits in out[65]. 0 or -1 when it is not 32 bytes of hex.
 */
int tls_client_fingerprint_parse(const char *in, char out[65]);

/*
 * A client SSL (connect state) on sock (see tls.h tls_ssl_new: same BIO)
 * that checks host and sends it as SNI when it is a DNS name. NULL on OOM.
 */
SSL *tls_client_ssl_new(SSL_CTX *ctx, struct tls_sock *sock,
			const char *host);

/*
 * Why the handshake of ssl failed, as one sentence into buf (always
 * NUL-terminated); returns buf. Falls back to OpenSSL's error text (e.g.
 * "wrong version number: the server did not answer with TLS") when the
 * certificate was not the cause.
 */
const char *tls_client_failure(SSL *ssl, const char *host, char *buf,
			       size_t len);

/* SHA-256 of the peer's leaf certificate as 64 lower-case hex digits into
 * hex[65]. 0, or -1 when there is no peer certificate. */
int tls_client_peer_fingerprint(SSL *ssl, char hex[65]);

#endif
