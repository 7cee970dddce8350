/*
 * bridge/tls_client.c: TLS client contexts and connections for the POP3
 * poller (see tls_client.h). RFC 8446 / RFC 5246 through OpenSSL 3; server
 * identity per RFC 6125 (X509_check_host / X509_check_ip through
 * SSL_set1_host and X509_VERIFY_PARAM_set1_ip_asc); SNI per RFC 6066 for
 * DNS names only; RFC 5280 path validation by OpenSSL.
 *
 * Three ways to trust a server: the system store (default), a CA file
 * (replaces the system store), or a SHA-256 pin of the leaf certificate,
 * checked by an SSL_CTX cert-verify callback that replaces OpenSSL's chain
 * verification entirely (so names, dates and issuers do not matter).
 *
 * Why a handshake failed: the verify callback (or the pin callback) keeps
 * the first error, its depth and what the user needs to know about the
 * failing certificate in the SSL's ex_data (struct tlsc_fail, allocated
 * only on failure); tls_client_failure() turns that, or else OpenSSL's
 * error queue, into one sentence.
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "tls.h"

/* SHA-256 digest bytes; hex digits; "xx:" text form with NUL. */
#define TLSC_MD_LEN      32
#define TLSC_HEX_LEN     64
#define TLSC_FP_TEXT_LEN (TLSC_MD_LEN * 3)
/* Longest fingerprint text parsed (64 digits with a ':' after each). */
#define TLSC_FP_INPUT_MAX (TLSC_HEX_LEN * 2)
/* Names of a certificate shown in a sentence, and each one's length. */
#define TLSC_NAMES_SHOWN 4
#define TLSC_NAME_MAX    64
/* Longest SNI host name (RFC 6066: a DNS name, at most 255 octets). */
#define TLSC_SNI_MAX 255

enum tlsc_why {
	TLSC_WHY_NONE,
	TLSC_WHY_VERIFY, /* chain verification failed (err, depth) */
	TLSC_WHY_PIN,    /* the leaf is not the pinned certificate */
};

/* The first certificate failure of a handshake (SSL ex_data). */
struct tlsc_fail {
	enum tlsc_why why;
	int err;   /* X509_V_ERR_* */
	int depth; /* of the failing certificate, 0 = the server's own */
	char names[TLSC_NAMES_SHOWN * (TLSC_NAME_MAX + 8) + 32];
	char cn[TLSC_NAME_MAX + 4];         /* the failing certificate's CN */
	char issuer[TLSC_NAME_MAX + 4];     /* the CN of its issuer */
	char not_before[16], not_after[16]; /* YYYY-MM-DD */
	char leaf_fp[TLSC_FP_TEXT_LEN];     /* "ab:cd:..." or "" */
};

/* The pin of a context (SSL_CTX ex_data, freed with the context). */
struct tlsc_pin {
	unsigned char md[TLSC_MD_LEN];
};

/* Accumulates text into a fixed buffer (truncating, always terminated). */
struct tlsc_out {
	char *p;
	size_t size, len;
};

static int tlsc_ctx_idx = -1, tlsc_ssl_idx = -1;
static char tlsc_errbuf[PATH_MAX + 256];

static void tlsc_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                         long argl, void *argp);
static int tlsc_init(void);
static const char *tlsc_error(const char **error_r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void tlsc_addf(struct tlsc_out *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void tlsc_printable(const unsigned char *p, size_t n, char *out,
                           size_t outlen);
static int tlsc_md(X509 *x, unsigned char md[TLSC_MD_LEN]);
static void tlsc_hex(const unsigned char *md, char *out, int colons);
static struct tlsc_fail *tlsc_fail_get(SSL *ssl);
static void tlsc_cn(const X509_NAME *name, char *out, size_t outlen);
static void tlsc_names(X509 *x, char *out, size_t outlen);
static void tlsc_date(const ASN1_TIME *t, char *out, size_t outlen);
static void tlsc_record(struct tlsc_fail *f, X509_STORE_CTX *xs, X509 *cert);
static int tlsc_verify_cb(int ok, X509_STORE_CTX *xs);
static int tlsc_pin_cb(X509_STORE_CTX *xs, void *arg);
static int tlsc_ip_literal(const char *host, char *out, size_t outlen);
static void tlsc_cert_sentence(const struct tlsc_fail *f, const char *host,
                               struct tlsc_out *o);
static void tlsc_ssl_sentence(SSL *ssl, const char *host, struct tlsc_out *o);

/* ---- helpers ---- */

static void
tlsc_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
             void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* The ex_data indexes, made once for the life of the process. */
static int
tlsc_init(void)
{
	if (tlsc_ctx_idx < 0)
		tlsc_ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		                                        tlsc_ex_free);
	if (tlsc_ssl_idx < 0)
		tlsc_ssl_idx =
		        SSL_get_ex_new_index(0, NULL, NULL, NULL, tlsc_ex_free);
	return tlsc_ctx_idx < 0 || tlsc_ssl_idx < 0 ? -1 : 0;
}

static const char *
tlsc_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tlsc_errbuf, sizeof tlsc_errbuf, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	if (error_r != NULL)
		*error_r = tlsc_errbuf;
	return tlsc_errbuf;
}

static void
tlsc_addf(struct tlsc_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if (o->len >= o->size)
		o->len = o->size - 1;
}

/* Certificate text for a sentence: printable ASCII only, bounded. */
static void
tlsc_printable(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return;
	for (i = 0; i < n && o + 1 < outlen; i++) {
		if (i == TLSC_NAME_MAX && n > TLSC_NAME_MAX + 3) {
			if (o + 4 < outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	}
	out[o] = '\0';
}

static int
tlsc_md(X509 *x, unsigned char md[TLSC_MD_LEN])
{
	unsigned int len = 0;

	if (x == NULL || X509_digest(x, EVP_sha256(), md, &len) != 1 ||
	    len != TLSC_MD_LEN)
		return -1;
	return 0;
}

/* 64 hex digits, or with colons "ab:cd:..." (95); out has room + NUL. */
static void
tlsc_hex(const unsigned char *md, char *out, int colons)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < TLSC_MD_LEN; i++) {
		if (colons && i > 0)
			out[o++] = ':';
		out[o++] = digits[md[i] >> 4];
		out[o++] = digits[md[i] & 0xf];
	}
	out[o] = '\0';
}

/* The failure record of ssl, made on first use; NULL on OOM. */
static struct tlsc_fail *
tlsc_fail_get(SSL *ssl)
{
	struct tlsc_fail *f;

	if (ssl == NULL || tlsc_ssl_idx < 0)
		return NULL;
	f = SSL_get_ex_data(ssl, tlsc_ssl_idx);
	if (f != NULL)
		return f;
	f = xcalloc(1, sizeof *f);
	if (SSL_set_ex_data(ssl, tlsc_ssl_idx, f) != 1) {
		free(f);
		return NULL;
	}
	return f;
}

static void
tlsc_cn(const X509_NAME *name, char *out, size_t outlen)
{
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1)
	             : -1;
	const ASN1_STRING *s;

	out[0] = '\0';
	if (i < 0)
		return;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (s != NULL)
		tlsc_printable(ASN1_STRING_get0_data(s),
		               (size_t)ASN1_STRING_length(s), out, outlen);
}

/* "a.example, b.example, 192.0.2.1 and 3 more": the subjectAltNames (DNS
 * and IP), or the CN when there are none. */
static void
tlsc_names(X509 *x, char *out, size_t outlen)
{
	struct tlsc_out o = {out, outlen, 0};
	GENERAL_NAMES *gens;
	int shown = 0, more = 0;

	out[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char name[TLSC_NAME_MAX + 4];

		if (g->type == GEN_DNS) {
			tlsc_printable(ASN1_STRING_get0_data(g->d.dNSName),
			               (size_t)ASN1_STRING_length(g->d.dNSName),
			               name, sizeof name);
		} else if (g->type == GEN_IPADD) {
			const unsigned char *ip =
			        ASN1_STRING_get0_data(g->d.iPAddress);
			int len = ASN1_STRING_length(g->d.iPAddress);

			if ((len != 4 && len != 16) ||
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, ip, name,
			              sizeof name) == NULL)
				continue;
		} else {
			continue;
		}
		if (shown == TLSC_NAMES_SHOWN) {
			more++;
			continue;
		}
		tlsc_addf(&o, "%s%s", shown ? ", " : "", name);
		shown++;
	}
	GENERAL_NAMES_free(gens);
	if (more > 0)
		tlsc_addf(&o, " and %d more", more);
	if (shown == 0) {
		char cn[TLSC_NAME_MAX + 4];

		tlsc_cn(X509_get_subject_name(x), cn, sizeof cn);
		tlsc_addf(&o, "%s", cn[0] ? cn : "no name");
	}
}

static void
tlsc_date(const ASN1_TIME *t, char *out, size_t outlen)
{
	struct tm tm;

	out[0] = '\0';
	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%d", &tm) == 0)
		snprintf(out, outlen, "an unknown date");
}

/* Keeps what a sentence needs about cert (the failing one) and the leaf. */
static void
tlsc_record(struct tlsc_fail *f, X509_STORE_CTX *xs, X509 *cert)
{
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	unsigned char md[TLSC_MD_LEN];

	if (cert == NULL)
		cert = leaf;
	if (cert != NULL) {
		tlsc_names(cert, f->names, sizeof f->names);
		tlsc_cn(X509_get_subject_name(cert), f->cn, sizeof f->cn);
		tlsc_cn(X509_get_issuer_name(cert), f->issuer,
		        sizeof f->issuer);
		tlsc_date(X509_get0_notBefore(cert), f->not_before,
		          sizeof f->not_before);
		tlsc_date(X509_get0_notAfter(cert), f->not_after,
		          sizeof f->not_after);
	}
	if (tlsc_md(leaf, md) == 0)
		tlsc_hex(md, f->leaf_fp, 1);
}

/* SSL_CTX_set_verify callback: keeps the first failure; never overrides
 * OpenSSL's verdict. */
static int
tlsc_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct tlsc_fail *f;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(xs,
	                                 SSL_get_ex_data_X509_STORE_CTX_idx());
	f = tlsc_fail_get(ssl);
	if (f != NULL && f->why == TLSC_WHY_NONE) {
		f->why = TLSC_WHY_VERIFY;
		f->err = X509_STORE_CTX_get_error(xs);
		f->depth = X509_STORE_CTX_get_error_depth(xs);
		tlsc_record(f, xs, X509_STORE_CTX_get_current_cert(xs));
	}
	return 0;
}

/* SSL_CTX_set_cert_verify_callback of a pinned context: the leaf is
 * accepted iff its SHA-256 is the pin (constant-time compare). */
static int
tlsc_pin_cb(X509_STORE_CTX *xs, void *arg)
{
	const struct tlsc_pin *pin = arg;
	unsigned char md[TLSC_MD_LEN];
	struct tlsc_fail *f;
	SSL *ssl;

	if (tlsc_md(X509_STORE_CTX_get0_cert(xs), md) == 0 &&
	    CRYPTO_memcmp(md, pin->md, sizeof md) == 0) {
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	ssl = X509_STORE_CTX_get_ex_data(xs,
	                                 SSL_get_ex_data_X509_STORE_CTX_idx());
	f = tlsc_fail_get(ssl);
	if (f != NULL && f->why == TLSC_WHY_NONE) {
		f->why = TLSC_WHY_PIN;
		f->err = X509_V_ERR_APPLICATION_VERIFICATION;
		tlsc_record(f, xs, NULL);
	}
	return 0;
}

/* 1 and the address in out when host is an IP literal ("[::1]" too). */
static int
tlsc_ip_literal(const char *host, char *out, size_t outlen)
{
	unsigned char a[16];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= outlen)
		return 0;
	memcpy(out, host, n);
	out[n] = '\0';
	return inet_pton(AF_INET, out, a) == 1 ||
	       inet_pton(AF_INET6, out, a) == 1;
}

/* ---- the API ---- */

int
tls_client_fingerprint_parse(const char *in, char out[65])
{
	size_t n = 0, i;

	out[0] = '\0';
	if (in == NULL)
		return -1;
	for (i = 0; in[i] != '\0'; i++) {
		int v;

		if (i >= TLSC_FP_INPUT_MAX)
			return -1;
		if (in[i] == ':')
			continue;
		v = str_hex_value((unsigned char)in[i]);
		if (v < 0 || n == TLSC_HEX_LEN)
			return -1;
		out[n++] = "0123456789abcdef"[v];
	}
	out[n] = '\0';
	if (n != TLSC_HEX_LEN) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_client_ctx_new(const char *ca_file, const char *fingerprint,
                   const char **error_r)
{
	SSL_CTX *ctx;
	struct tlsc_pin *pin;
	char hex[TLSC_HEX_LEN + 1];

	ERR_clear_error();
	if (fingerprint != NULL &&
	    tls_client_fingerprint_parse(fingerprint, hex) < 0) {
		tlsc_error(error_r, "the fingerprint must be the SHA-256 of "
		                    "the certificate: 64 hex digits, ':' "
		                    "allowed");
		return NULL;
	}
	if (tlsc_init() < 0) {
		tlsc_error(error_r, "cannot set up TLS (out of memory?)");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		tlsc_error(error_r, "cannot create a TLS client context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tlsc_error(error_r, "cannot require TLS 1.2 or later");
		goto fail_ctx;
	}
	SSL_CTX_set_options(ctx,
	                    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	                              SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (fingerprint != NULL) {
		pin = xcalloc(1, sizeof *pin);
		for (size_t i = 0; i < TLSC_MD_LEN; i++)
			pin->md[i] =
			        (unsigned char)(str_hex_value(hex[2 * i]) << 4 |
			                        str_hex_value(hex[2 * i + 1]));
		if (SSL_CTX_set_ex_data(ctx, tlsc_ctx_idx, pin) != 1) {
			free(pin);
			tlsc_error(error_r,
			           "cannot set up TLS (out of memory?)");
			goto fail_ctx;
		}
		/* Replaces chain verification: names, dates and issuers
		 * are not looked at, only the pin. */
		SSL_CTX_set_cert_verify_callback(ctx, tlsc_pin_cb, pin);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		return ctx;
	}
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			unsigned long e = ERR_peek_last_error();
			const char *why = e ? ERR_reason_error_string(e) : NULL;

			if (access(ca_file, R_OK) < 0)
				why = strerror(errno);
			tlsc_error(error_r, "cannot load CA file %s: %s",
			           ca_file,
			           why ? why : "no certificates in it");
			goto fail_ctx;
		}
		/* A certificate in the file is trusted even when it is not
		 * a root (e.g. the server's own certificate or an
		 * intermediate), as curl does. */
		X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx),
		                     X509_V_FLAG_PARTIAL_CHAIN);
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tlsc_error(error_r, "cannot load the system's trusted "
		                    "certificates");
		goto fail_ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tlsc_verify_cb);
	return ctx;
fail_ctx:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *
tls_client_ssl_new(SSL_CTX *ctx, struct tls_sock *sock, const char *host)
{
	char ip[INET6_ADDRSTRLEN + 1], sni[TLSC_SNI_MAX + 1];
	size_t n;
	SSL *ssl;

	if (ctx == NULL || sock == NULL || host == NULL || host[0] == '\0')
		return NULL;
	n = strlen(host);
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	if (tls_ssl_attach(ssl, sock) < 0)
		goto fail_ssl;
	if (tlsc_ip_literal(host, ip, sizeof ip)) {
		/* No SNI for addresses (RFC 6066 section 3). */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) != 1)
			goto fail_ssl;
	} else {
		/* A writable copy for OpenSSL's macro; longer names cannot
		 * be DNS names (RFC 1035: 255 octets). */
		if (n > TLSC_SNI_MAX)
			goto fail_ssl;
		memcpy(sni, host, n + 1);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1 ||
		    SSL_set_tlsext_host_name(ssl, sni) != 1)
			goto fail_ssl;
	}
	SSL_set_connect_state(ssl);
	return ssl;
fail_ssl:
	SSL_free(ssl);
	ERR_clear_error();
	return NULL;
}

/* The sentence of a certificate failure recorded by a callback. */
static void
tlsc_cert_sentence(const struct tlsc_fail *f, const char *host,
                   struct tlsc_out *o)
{
	const char *pin_hint = "pin it with --fingerprint or give --ca-file";
	const char *who;

	if (f->why == TLSC_WHY_PIN) {
		tlsc_addf(o,
		          "certificate fingerprint %s does not match the "
		          "pinned one",
		          f->leaf_fp[0] ? f->leaf_fp : "(none)");
		return;
	}
	switch (f->err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		if (f->depth == 0)
			tlsc_addf(o, "certificate for %s expired on %s", host,
			          f->not_after);
		else
			tlsc_addf(o,
			          "certificate for %s is signed by \"%s\", "
			          "whose certificate expired on %s",
			          host, f->cn, f->not_after);
		return;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		if (f->depth == 0)
			tlsc_addf(o,
			          "certificate for %s is not valid until %s "
			          "(is this machine's clock right?)",
			          host, f->not_before);
		else
			tlsc_addf(o,
			          "certificate for %s is signed by \"%s\", "
			          "whose certificate is not valid until %s "
			          "(is this machine's clock right?)",
			          host, f->cn, f->not_before);
		return;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		tlsc_addf(o, "certificate is for %s, not %s", f->names, host);
		return;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		tlsc_addf(o,
		          "certificate for %s is self-signed and not trusted "
		          "(SHA-256 fingerprint %s; %s)",
		          host, f->leaf_fp, pin_hint);
		return;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		/* The authority: the untrusted root itself, or the issuer
		 * that could not be found. */
		who = f->err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
		                      f->err == X509_V_ERR_CERT_UNTRUSTED
		              ? f->cn
		              : f->issuer;
		tlsc_addf(o,
		          "certificate for %s is issued by %s%s%s, which is "
		          "not trusted (SHA-256 fingerprint %s; %s)",
		          host, who[0] ? "\"" : "an unknown authority", who,
		          who[0] ? "\"" : "", f->leaf_fp, pin_hint);
		return;
	default:
		tlsc_addf(o, "certificate for %s was not accepted: %s", host,
		          X509_verify_cert_error_string(f->err));
		if (f->depth > 0)
			tlsc_addf(o, " (certificate \"%s\" in its chain)",
			          f->cn);
		return;
	}
}

/* The sentence of any other handshake failure, from OpenSSL's queue. */
static void
tlsc_ssl_sentence(SSL *ssl, const char *host, struct tlsc_out *o)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	struct tls_sock *sk = tls_ssl_sock(ssl);
	const char *what;
	char ebuf[64];
	long verify;

	if (e == 0) {
		if (sk != NULL && sk->err != 0) {
			char msg[128];

			snprintf(msg, sizeof msg, "%s", strerror(sk->err));
			msg[0] = (char)tolower((unsigned char)msg[0]);
			tlsc_addf(o,
			          "the connection failed during the TLS "
			          "handshake: %s",
			          msg);
		} else {
			tlsc_addf(o, "the server closed the connection during "
			             "the TLS handshake");
		}
		return;
	}
	if (reason == NULL) {
		snprintf(ebuf, sizeof ebuf, "error %lx", e);
		reason = ebuf;
	}
	what = "the TLS handshake failed";
	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		switch (ERR_GET_REASON(e)) {
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_PACKET_LENGTH_TOO_LONG:
		case SSL_R_UNKNOWN_PROTOCOL:
		case SSL_R_HTTP_REQUEST:
		case SSL_R_HTTPS_PROXY_REQUEST:
			what = "the server did not answer with TLS (is the "
			       "port "
			       "for STARTTLS or plain POP3?)";
			break;
		case SSL_R_UNEXPECTED_EOF_WHILE_READING:
			what = "the server closed the connection during the "
			       "TLS handshake";
			break;
		case SSL_R_UNSUPPORTED_PROTOCOL:
		case SSL_R_NO_PROTOCOLS_AVAILABLE:
		case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
			what = "the server does not offer TLS 1.2 or later";
			break;
		case SSL_R_NO_SHARED_CIPHER:
		case SSL_R_NO_CIPHERS_AVAILABLE:
		case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
			what = "the server and popbridge have no TLS version "
			       "or cipher in common";
			break;
		case SSL_R_TLSV1_UNRECOGNIZED_NAME:
			tlsc_addf(o, "the server does not know the name %s: %s",
			          host, reason);
			return;
		case SSL_R_CERTIFICATE_VERIFY_FAILED:
			/* Verification failed without a callback record
			 * (out of memory there): OpenSSL's own verdict. */
			verify = ssl ? SSL_get_verify_result(ssl)
			             : X509_V_ERR_UNSPECIFIED;
			tlsc_addf(o, "certificate for %s was not accepted: %s",
			          host, X509_verify_cert_error_string(verify));
			return;
		default:
			if (ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
				what = "the server refused the TLS handshake";
			break;
		}
	}
	tlsc_addf(o, "%s: %s", what, reason);
}

const char *
tls_client_failure(SSL *ssl, const char *host, char *buf, size_t len)
{
	struct tlsc_out o = {buf, len, 0};
	const struct tlsc_fail *f = NULL;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	if (host == NULL || host[0] == '\0')
		host = "the server";
	if (ssl != NULL && tlsc_ssl_idx >= 0)
		f = SSL_get_ex_data(ssl, tlsc_ssl_idx);
	if (f != NULL && f->why != TLSC_WHY_NONE)
		tlsc_cert_sentence(f, host, &o);
	else
		tlsc_ssl_sentence(ssl, host, &o);
	return buf;
}

int
tls_client_peer_fingerprint(SSL *ssl, char hex[65])
{
	unsigned char md[TLSC_MD_LEN];

	hex[0] = '\0';
	if (ssl == NULL || tlsc_md(SSL_get0_peer_certificate(ssl), md) < 0)
		return -1;
	tlsc_hex(md, hex, 0);
	return 0;
}
