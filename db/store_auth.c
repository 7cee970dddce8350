/*
 * db/store_auth.c: the one login name, the main password and per-device
 * IMAP passwords (PRODUCT.md "Identity"). Passwords are stored as
 * "scrypt$N$r$p$salt_b64$hash_b64" (RFC 7914 scrypt via OpenSSL
 * EVP_PBE_scrypt, N=2^14 r=8 p=1, 16-byte random salt, 32-byte hash,
 * RFC 4648 base64); checks compare with CRYPTO_memcmp. The parameters are
 * read back from each hash, so stronger ones can come later.
 *
 * Device passwords are 16 random letters/digits ("abcd-efgh-ijkl-mnop",
 * about 82 bits). Besides its scrypt hash each device row keeps a tag, the
 * first 8 bytes of SHA-256 over a fixed prefix and the password: a login
 * runs scrypt only for the device whose tag matches, instead of once per
 * device. A fast hash of an 82-bit random secret reveals nothing usable;
 * the user-chosen main password never gets such a tag.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "store_int.h"

#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define HASH_LEN 32
/* Bounds on parameters read back from a stored hash. */
#define SCRYPT_N_MAX   (1u << 20)
#define SCRYPT_R_MAX   32
#define SCRYPT_P_MAX   16
#define SCRYPT_MEM_MAX (256u * 1024 * 1024)
#define B64_MAX        128 /* salt or hash, base64, in a stored string */
#define HASH_STR_MAX   320
#define TAG_LEN        8
/* "xxxx-xxxx-xxxx-xxxx" */
#define DEVICE_PW_GROUPS 4
#define DEVICE_PW_GROUP  4
#define DEVICE_PW_LEN    (DEVICE_PW_GROUPS * (DEVICE_PW_GROUP + 1) - 1)

static const char tag_prefix[] = "popbridge device tag v1";

/* ---- hashing ---- */

static int
scrypt_raw(const char *pw, size_t pwlen, const unsigned char *salt,
           size_t saltlen, uint64_t n, uint64_t r, uint64_t p,
           unsigned char *out, size_t outlen)
{
	uint64_t mem = 128 * n * r + 128 * r * p + 1024 * 1024;

	if (EVP_PBE_scrypt(pw, pwlen, salt, saltlen, n, r, p, mem, out,
	                   outlen) != 1)
		return -1;
	return 0;
}

/* Formats a new hash of pw into out (HASH_STR_MAX bytes). */
static int
hash_password(struct store *st, const char *pw, size_t pwlen, char *out)
{
	unsigned char salt[SALT_LEN], hash[HASH_LEN];
	unsigned char salt64[B64_MAX], hash64[B64_MAX];

	if (RAND_bytes(salt, sizeof salt) != 1)
		return store_fail(st, STORE_ERR_INTERNAL, "no random bytes");
	if (scrypt_raw(pw, pwlen, salt, sizeof salt, SCRYPT_N, SCRYPT_R,
	               SCRYPT_P, hash, sizeof hash) < 0)
		return store_fail(st, STORE_ERR_INTERNAL, "scrypt failed");
	EVP_EncodeBlock(salt64, salt, sizeof salt);
	EVP_EncodeBlock(hash64, hash, sizeof hash);
	snprintf(out, HASH_STR_MAX, "scrypt$%u$%u$%u$%s$%s", SCRYPT_N, SCRYPT_R,
	         SCRYPT_P, (const char *)salt64, (const char *)hash64);
	OPENSSL_cleanse(hash, sizeof hash);
	return 0;
}

/* Base64 of at most B64_MAX chars into out; -1 when malformed. */
static int
b64_decode(const char *s, size_t len, unsigned char *out, size_t *outlen_r)
{
	int n;
	size_t pad = 0;

	if (len == 0 || len % 4 != 0 || len > B64_MAX)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	*outlen_r = (size_t)n - pad;
	return 0;
}

/* Next '$'-separated field of *p (up to end). */
static struct str
next_field(const char **p, const char *end)
{
	const char *s = *p, *d = memchr(s, '$', (size_t)(end - s));
	struct str f;

	if (d == NULL)
		d = end;
	f = str_make(s, (size_t)(d - s));
	*p = d < end ? d + 1 : end;
	return f;
}

/* 1 when pw matches the stored hash, 0 when not (or it is malformed). */
static int
verify_password(const char *pw, size_t pwlen, const char *stored)
{
	unsigned char salt[B64_MAX], want[B64_MAX], got[B64_MAX];
	size_t saltlen, wantlen;
	const char *p = stored, *end = stored + strlen(stored);
	struct str f[6];
	uint64_t n, r, par;
	int i, ok;

	for (i = 0; i < 6; i++)
		f[i] = next_field(&p, end);
	if (p != end || !str_eq_cstr(f[0], "scrypt") ||
	    str_to_u64(f[1], SCRYPT_N_MAX, &n) < 0 || n < 2 ||
	    (n & (n - 1)) != 0 || str_to_u64(f[2], SCRYPT_R_MAX, &r) < 0 ||
	    r == 0 || str_to_u64(f[3], SCRYPT_P_MAX, &par) < 0 || par == 0 ||
	    128 * n * r * par > SCRYPT_MEM_MAX ||
	    b64_decode(f[4].p, f[4].len, salt, &saltlen) < 0 ||
	    b64_decode(f[5].p, f[5].len, want, &wantlen) < 0 || wantlen < 16 ||
	    wantlen > 64) {
		log_warnx("store: malformed password hash");
		return 0;
	}
	if (scrypt_raw(pw, pwlen, salt, saltlen, n, r, par, got, wantlen) < 0)
		return 0;
	ok = CRYPTO_memcmp(got, want, wantlen) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

static int
device_tag(const char *pw, size_t pwlen, unsigned char tag[TAG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, tag_prefix, sizeof tag_prefix) == 1 &&
	     EVP_DigestUpdate(ctx, pw, pwlen) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= TAG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(tag, md, TAG_LEN);
	return 0;
}

/* ---- names ---- */

static int
name_check(struct store *st, const char *name, size_t max, const char *what)
{
	size_t len, i;

	if (name == NULL || (len = strlen(name)) == 0 || len > max)
		return store_fail(st, STORE_ERR_INVALID,
		                  "%s must be 1 to %zu bytes", what, max);
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return store_fail(st, STORE_ERR_INVALID,
			                  "control character in %s", what);
	if (!store_utf8_valid(name, len))
		return store_fail(st, STORE_ERR_INVALID,
		                  "%s is not valid UTF-8", what);
	return 0;
}

/* ---- user and main password ---- */

int
store_user_set(struct store *st, const char *name)
{
	int rc;

	if ((rc = name_check(st, name, STORE_USER_MAX, "user name")) < 0)
		return rc;
	return store_setting_set(st, "user", name);
}

int
store_user_get(struct store *st, char **name_r)
{
	return store_setting_get(st, "user", name_r);
}

int
store_password_set(struct store *st, const char *password)
{
	char hash[HASH_STR_MAX];
	size_t len;
	int rc;

	if (password == NULL || (len = strlen(password)) == 0 ||
	    len > STORE_PASSWORD_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "password must be 1 to %d bytes",
		                  STORE_PASSWORD_MAX);
	if ((rc = hash_password(st, password, len, hash)) < 0)
		return rc;
	return store_setting_set(st, "password", hash);
}

int
store_password_is_set(struct store *st)
{
	int rc = store_setting_get(st, "password", NULL);

	if (rc == -STORE_ERR_NOTFOUND)
		return 0;
	return rc < 0 ? rc : 1;
}

/* ---- login ---- */

/* Tries the devices whose tag matches: 1 (and the id, name) on a match. */
static int
auth_devices(struct store *st, const char *pw, size_t pwlen, int64_t *id_r,
             char **name_r)
{
	unsigned char tag[TAG_LEN];
	sqlite3_stmt *s;
	int rc, found = 0;

	if (device_tag(pw, pwlen, tag) < 0)
		return store_fail(st, STORE_ERR_INTERNAL, "sha256 failed");
	s = store_stmt(st, "SELECT id, name, hash FROM devices WHERE tag = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_blob(s, 1, tag, TAG_LEN, SQLITE_STATIC);
	while (!found && (rc = store_step(st, s, "devices")) == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(s, 2);
		if (hash != NULL && verify_password(pw, pwlen, hash)) {
			*id_r = sqlite3_column_int64(s, 0);
			*name_r = xmemdup0(sqlite3_column_text(s, 1),
			                   (size_t)sqlite3_column_bytes(s, 1));
			found = 1;
		}
	}
	store_stmt_done(st, s);
	if (!found && rc < 0)
		return rc;
	return found;
}

static void
device_touch(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc;

	if (st->readonly || store_tx_begin(st, 1) < 0)
		return;
	s = store_stmt(st, "UPDATE devices SET last_used = ?2 WHERE id = ?1");
	if (s == NULL) {
		store_tx_rollback(st);
		return;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	rc = store_step(st, s, "device last_used");
	store_stmt_done(st, s);
	if (store_tx_end(st, rc) < 0)
		log_warnx("store: device last_used not updated: %s", st->err);
}

int
store_auth_check(struct store *st, const char *user, const char *password,
                 char **device_r)
{
	/* Burns the same time as a real check when the user is wrong. */
	static const char dummy[] =
	        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	char *stored_user = NULL, *hash = NULL, *dev = NULL;
	size_t ulen, plen;
	int64_t dev_id = 0;
	int rc, user_ok;

	if (device_r != NULL)
		*device_r = NULL;
	if (user == NULL || password == NULL ||
	    (plen = strlen(password)) == 0 || plen > STORE_PASSWORD_MAX)
		return store_fail(st, STORE_ERR_NOTFOUND, "login failed");
	rc = store_user_get(st, &stored_user);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
		return rc;
	ulen = strlen(user);
	user_ok = stored_user != NULL && strlen(stored_user) == ulen &&
	          CRYPTO_memcmp(stored_user, user, ulen) == 0;
	free(stored_user);
	if (!user_ok) {
		(void)verify_password(password, plen, dummy);
		return store_fail(st, STORE_ERR_NOTFOUND, "login failed");
	}
	if ((rc = auth_devices(st, password, plen, &dev_id, &dev)) < 0)
		return rc;
	if (rc == 1) {
		device_touch(st, dev_id);
		if (device_r != NULL)
			*device_r = dev;
		else
			free(dev);
		return 0;
	}
	rc = store_setting_get(st, "password", &hash);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
		return rc;
	rc = hash != NULL && verify_password(password, plen, hash);
	free(hash);
	if (!rc)
		return store_fail(st, STORE_ERR_NOTFOUND, "login failed");
	return 0;
}

/* ---- devices ---- */

static int
device_password(struct store *st, char *out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[64];
	size_t i = 0, k = 0, got = 0;

	/* Rejection sampling keeps the 36 symbols equally likely. */
	while (got < DEVICE_PW_GROUPS * DEVICE_PW_GROUP) {
		if (i == 0 && RAND_bytes(rnd, sizeof rnd) != 1)
			return store_fail(st, STORE_ERR_INTERNAL,
			                  "no random bytes");
		if (rnd[i] < 252) {
			if (got > 0 && got % DEVICE_PW_GROUP == 0)
				out[k++] = '-';
			out[k++] = alphabet[rnd[i] % 36];
			got++;
		}
		i = (i + 1) % sizeof rnd;
	}
	out[k] = '\0';
	OPENSSL_cleanse(rnd, sizeof rnd);
	return 0;
}

static int
device_add(struct store *st, const char *name, const char *hash,
           const unsigned char *tag)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int rc;

	s = store_stmt(st, "SELECT count(*), sum(name = ?1) FROM devices");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = store_step(st, s, "device count");
	n = sqlite3_column_int64(s, 0);
	if (rc == SQLITE_ROW && sqlite3_column_int64(s, 1) > 0)
		rc = store_fail(st, STORE_ERR_EXISTS, "device %s exists", name);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (n >= STORE_DEVICES_MAX)
		return store_fail(st, STORE_ERR_LIMIT, "more than %d devices",
		                  STORE_DEVICES_MAX);
	s = store_stmt(st, "INSERT INTO devices(name, hash, tag, created)"
	                   " VALUES(?1, ?2, ?3, ?4)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, tag, TAG_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	rc = store_step(st, s, "device add");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

int
store_device_add(struct store *st, const char *name, char **password_r)
{
	char pw[DEVICE_PW_LEN + 1], hash[HASH_STR_MAX];
	unsigned char tag[TAG_LEN];
	int rc;

	*password_r = NULL;
	if ((rc = name_check(st, name, STORE_DEVICE_NAME_MAX, "device name")) <
	    0)
		return rc;
	if ((rc = device_password(st, pw)) < 0)
		return rc;
	if ((rc = hash_password(st, pw, DEVICE_PW_LEN, hash)) < 0)
		goto done;
	if (device_tag(pw, DEVICE_PW_LEN, tag) < 0) {
		rc = store_fail(st, STORE_ERR_INTERNAL, "sha256 failed");
		goto done;
	}
	if ((rc = store_tx_begin(st, 1)) < 0)
		goto done;
	if ((rc = store_tx_end(st, device_add(st, name, hash, tag))) < 0)
		goto done;
	*password_r = xstrdup(pw);
done:
	OPENSSL_cleanse(pw, sizeof pw);
	return rc;
}

int
store_device_remove(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int rc;

	if (name == NULL)
		return store_fail(st, STORE_ERR_INVALID, "no device name");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	s = store_stmt(st, "DELETE FROM devices WHERE name = ?1");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = store_step(st, s, "device remove");
	store_stmt_done(st, s);
	if (rc >= 0 && sqlite3_changes(st->db) == 0)
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no device %s", name);
	return store_tx_end(st, rc);
}

int
store_device_list(struct store *st, struct store_device **list_r, size_t *n_r)
{
	struct store_device *list = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	*list_r = NULL;
	*n_r = 0;
	s = store_stmt(st, "SELECT name, created, last_used FROM devices"
	                   " ORDER BY name");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	while ((rc = store_step(st, s, "device list")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 8;
			list = xreallocarray(list, size, sizeof *list);
		}
		list[n].name = xmemdup0(sqlite3_column_text(s, 0),
		                        (size_t)sqlite3_column_bytes(s, 0));
		list[n].created = sqlite3_column_int64(s, 1);
		list[n].last_used = sqlite3_column_int64(s, 2);
		n++;
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_device_list_free(list, n);
		return rc;
	}
	*list_r = list;
	*n_r = n;
	return 0;
}

void
store_device_list_free(struct store_device *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}
