/*
 * db/secret.c: the data directory's secret.key and the sealing of POP3
 * passwords with it (see secret.h). AES-256-GCM (NIST SP 800-38D) through
 * OpenSSL EVP: a fresh random 96-bit nonce per seal, a 128-bit tag, and a
 * fixed associated-data label that binds a sealed text to this one use.
 * The text form is "v1:" + RFC 4648 base64 (with padding) of
 * nonce || ciphertext || tag; it is decoded strictly (no whitespace, no
 * stray padding, zero trailing bits), so a text has one spelling only.
 *
 * The key file: exactly SECRET_KEY_LEN bytes, a regular file, no group or
 * other read/write bits; made with O_EXCL, mode 0600 and fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "secret.h"

#define SECRET_NONCE_LEN  12
#define SECRET_TAG_LEN    16
#define SECRET_PREFIX     "v1:"
#define SECRET_PREFIX_LEN (sizeof SECRET_PREFIX - 1)
/* Bytes sealed: nonce, ciphertext (as long as the plain text), tag. */
#define SECRET_RAW_MAX    (SECRET_NONCE_LEN + SECRET_PLAIN_MAX + SECRET_TAG_LEN)
#define SECRET_B64_LEN(n) (((n) + 2) / 3 * 4)

/* Associated data: a sealed text opens only as a POP3 password. */
static const char secret_aad[] = "popbridge pop3 password v1";

static _Thread_local char secret_err[600];

static int secret_fail(const char **error_r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int
secret_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(secret_err, sizeof secret_err, fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = secret_err;
	return -1;
}

/* ---- key file ---- */

int
secret_key_load(const char *path, unsigned char key[SECRET_KEY_LEN],
                const char **error_r)
{
	unsigned char tmp[SECRET_KEY_LEN + 1];
	struct stat sb;
	size_t got = 0;
	ssize_t r;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO put there must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return secret_fail(error_r, "cannot open %s: %s", path,
		                   strerror(errno));
	if (fstat(fd, &sb) < 0) {
		secret_fail(error_r, "cannot stat %s: %s", path,
		            strerror(errno));
		goto fail_fd;
	}
	if (!S_ISREG(sb.st_mode)) {
		secret_fail(error_r, "%s is not a regular file", path);
		goto fail_fd;
	}
	if ((sb.st_mode & 0066) != 0) {
		secret_fail(error_r,
		            "%s is %s by other users (mode %04o); chmod 600 it",
		            path,
		            (sb.st_mode & 0044) != 0 ? "readable" : "writable",
		            (unsigned)(sb.st_mode & 07777));
		goto fail_fd;
	}
	/* One byte more than a key: a longer file is caught here too. */
	while (got < sizeof tmp) {
		r = read(fd, tmp + got, sizeof tmp - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			secret_fail(error_r, "cannot read %s: %s", path,
			            strerror(errno));
			goto fail_read;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != SECRET_KEY_LEN) {
		secret_fail(error_r,
		            "%s is %lld bytes long, not %d; it is not a "
		            "popbridge secret key",
		            path, (long long)sb.st_size, SECRET_KEY_LEN);
		goto fail_read;
	}
	memcpy(key, tmp, SECRET_KEY_LEN);
	rc = 0;
fail_read:
	OPENSSL_cleanse(tmp, sizeof tmp);
fail_fd:
	close(fd);
	return rc;
}

/* Makes the directory entry durable too (best effort). */
static void
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int
secret_key_create(const char *path, const char **error_r)
{
	unsigned char key[SECRET_KEY_LEN];
	const unsigned char *p = key;
	size_t left = sizeof key;
	ssize_t w;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	          0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return secret_fail(error_r, "cannot create %s: %s", path,
		                   strerror(errno));
	}
	if (RAND_bytes(key, sizeof key) != 1) {
		close(fd);
		unlink(path);
		return secret_fail(error_r, "cannot get random bytes for %s",
		                   path);
	}
	/* The umask may have taken bits away; the key must be 0600. */
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (left > 0) {
		w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	OPENSSL_cleanse(key, sizeof key);
	if (close(fd) < 0) {
		e = errno;
		unlink(path);
		return secret_fail(error_r, "cannot write %s: %s", path,
		                   strerror(e));
	}
	fsync_parent(path);
	return 1;

fail:
	e = errno;
	OPENSSL_cleanse(key, sizeof key);
	close(fd);
	unlink(path);
	return secret_fail(error_r, "cannot write %s: %s", path, strerror(e));
}

/* ---- base64 (RFC 4648 section 4, strict) ---- */

static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/*
 * Decodes s[0..len-1] into out (room for len / 4 * 3 bytes). -1 unless
 * the text is canonical: a multiple of 4 characters of the alphabet, '='
 * only as the last one or two, and the bits the padding drops all zero.
 */
static int
b64_decode(const char *s, size_t len, unsigned char *out, size_t *outlen_r)
{
	size_t i, n = 0, pad = 0;
	int k, v[4];
	uint32_t w;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = str_base64_value(
			                  (unsigned char)s[i + (size_t)k])) < 0)
				return -1;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[n++] = (unsigned char)(w >> 16);
		if (i + 4 < len || pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (i + 4 < len || pad < 1)
			out[n++] = (unsigned char)w;
		if (i + 4 == len && ((pad == 1 && (w & 0xff) != 0) ||
		                     (pad == 2 && (w & 0xffff) != 0)))
			return -1;
	}
	*outlen_r = n;
	return 0;
}

/* ---- sealing ---- */

int
secret_seal(const unsigned char key[SECRET_KEY_LEN], const char *plain,
            size_t len, char **sealed_r)
{
	unsigned char *raw;
	EVP_CIPHER_CTX *ctx;
	size_t rawlen;
	char *out;
	int outl, ok;

	*sealed_r = NULL;
	if (len > SECRET_PLAIN_MAX || (plain == NULL && len > 0))
		return -1;
	rawlen = SECRET_NONCE_LEN + len + SECRET_TAG_LEN;
	raw = xmalloc(rawlen);
	if (RAND_bytes(raw, SECRET_NONCE_LEN) != 1) {
		free(raw);
		return -1;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(raw);
		return -1;
	}
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) ==
	             1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SECRET_NONCE_LEN,
	                         NULL) == 1 &&
	     EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) == 1 &&
	     EVP_EncryptUpdate(ctx, NULL, &outl,
	                       (const unsigned char *)secret_aad,
	                       (int)(sizeof secret_aad - 1)) == 1;
	/* EVP takes a zero-length update badly: an empty text has none. */
	if (ok && len > 0)
		ok = EVP_EncryptUpdate(ctx, raw + SECRET_NONCE_LEN, &outl,
		                       (const unsigned char *)plain,
		                       (int)len) == 1 &&
		     (size_t)outl == len;
	if (ok)
		ok = EVP_EncryptFinal_ex(ctx, raw + SECRET_NONCE_LEN + len,
		                         &outl) == 1 &&
		     outl == 0 &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
		                         SECRET_TAG_LEN,
		                         raw + SECRET_NONCE_LEN + len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(raw, rawlen);
		free(raw);
		return -1;
	}
	out = xmalloc(SECRET_PREFIX_LEN + SECRET_B64_LEN(rawlen) + 1);
	memcpy(out, SECRET_PREFIX, SECRET_PREFIX_LEN);
	b64_encode(raw, rawlen, out + SECRET_PREFIX_LEN);
	free(raw);
	*sealed_r = out;
	return 0;
}

int
secret_open(const unsigned char key[SECRET_KEY_LEN], const char *sealed,
            char **plain_r, size_t *len_r)
{
	unsigned char *raw, tag[SECRET_TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	size_t slen, rawlen, ctlen;
	char *plain;
	int outl, ok;

	*plain_r = NULL;
	if (len_r != NULL)
		*len_r = 0;
	if (sealed == NULL ||
	    strncmp(sealed, SECRET_PREFIX, SECRET_PREFIX_LEN) != 0)
		return -1;
	sealed += SECRET_PREFIX_LEN;
	slen = strlen(sealed);
	if (slen > SECRET_B64_LEN(SECRET_RAW_MAX) ||
	    slen < SECRET_B64_LEN(SECRET_NONCE_LEN + SECRET_TAG_LEN))
		return -1;
	raw = xmalloc(slen / 4 * 3);
	if (b64_decode(sealed, slen, raw, &rawlen) < 0 ||
	    rawlen < SECRET_NONCE_LEN + SECRET_TAG_LEN ||
	    rawlen > SECRET_RAW_MAX) {
		free(raw);
		return -1;
	}
	ctlen = rawlen - SECRET_NONCE_LEN - SECRET_TAG_LEN;
	memcpy(tag, raw + SECRET_NONCE_LEN + ctlen, SECRET_TAG_LEN);
	plain = xmalloc(ctlen + 1);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(plain);
		free(raw);
		return -1;
	}
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) ==
	             1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SECRET_NONCE_LEN,
	                         NULL) == 1 &&
	     EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) == 1 &&
	     EVP_DecryptUpdate(ctx, NULL, &outl,
	                       (const unsigned char *)secret_aad,
	                       (int)(sizeof secret_aad - 1)) == 1;
	if (ok && ctlen > 0)
		ok = EVP_DecryptUpdate(ctx, (unsigned char *)plain, &outl,
		                       raw + SECRET_NONCE_LEN,
		                       (int)ctlen) == 1 &&
		     (size_t)outl == ctlen;
	/* The tag is checked last, by Final: nothing is returned before. */
	if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
		                         SECRET_TAG_LEN, tag) == 1 &&
		     EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + ctlen,
		                         &outl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	if (!ok) {
		OPENSSL_cleanse(plain, ctlen + 1);
		free(plain);
		return -1;
	}
	plain[ctlen] = '\0';
	*plain_r = plain;
	if (len_r != NULL)
		*len_r = ctlen;
	return 0;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
