/*
 * tests/unit/test_secret.c: db/secret.c. Sealing round trips (empty, one
 * byte, embedded NUL, SECRET_PLAIN_MAX, one over), a fresh nonce per
 * seal, the wrong key, a changed byte in the nonce, the ciphertext and the
 * tag, every character of a sealed text changed, malformed texts, and the
 * key file: create (mode 0600 whatever the umask, 32 bytes, idempotent),
 * load, and the mode / size / type errors.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../db/secret.h"
#include "test.h"

static const unsigned char key1[SECRET_KEY_LEN] = {
        1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static unsigned char key2[SECRET_KEY_LEN];

static char tdir[256];

static int
tdir_make(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tdir, sizeof tdir, "%s/pbsecret.XXXXXX",
	         base && *base ? base : "/tmp");
	return mkdtemp(tdir) != NULL ? 0 : -1;
}

static void
tdir_rm(const char *name)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", tdir, name);
	unlink(p);
	rmdir(p);
}

/* Decodes the base64 part of a sealed text with OpenSSL (a second,
 * independent decoder); -1 when it is not base64. */
static int
raw_of(const char *sealed, unsigned char *out, size_t *len_r)
{
	size_t slen = strlen(sealed + 3), pad = 0;
	int n;

	if (slen == 0 || slen % 4 != 0)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)sealed + 3, (int)slen);
	if (n < 0)
		return -1;
	while (pad < 2 && sealed[3 + slen - 1 - pad] == '=')
		pad++;
	*len_r = (size_t)n - pad;
	return 0;
}

static char *
sealed_of(const unsigned char *raw, size_t len)
{
	char *s = malloc(3 + (len + 2) / 3 * 4 + 1);

	memcpy(s, "v1:", 3);
	EVP_EncodeBlock((unsigned char *)s + 3, raw, (int)len);
	return s;
}

static int
opens(const unsigned char *key, const char *sealed)
{
	char *p = NULL;
	size_t len = 99;
	int rc = secret_open(key, sealed, &p, &len);

	if (rc < 0 && (p != NULL || len != 0))
		return -2; /* a failure must hand nothing out */
	secret_free(p);
	return rc;
}

static void
test_round_trip(void)
{
	static const size_t lens[] = {0,  1,  2,   3,    15,
	                              16, 17, 100, 1023, SECRET_PLAIN_MAX};
	char plain[SECRET_PLAIN_MAX], *sealed = NULL, *out = NULL;
	unsigned char raw[SECRET_PLAIN_MAX + 64];
	size_t i, j, len, rawlen;

	for (i = 0; i < sizeof plain; i++)
		plain[i] = (char)('!' + i % 90);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		T_EQ_INT(secret_seal(key1, plain, lens[i], &sealed), 0);
		T_ASSERT(strncmp(sealed, "v1:", 3) == 0);
		for (j = 3; sealed[j] != '\0'; j++)
			T_ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
			                "mnopqrstuvwxyz0123456789+/=",
			                sealed[j]) != NULL);
		/* nonce(12) || ciphertext || tag(16), standard base64. */
		T_EQ_INT(raw_of(sealed, raw, &rawlen), 0);
		T_EQ_INT(rawlen, 12 + lens[i] + 16);
		T_EQ_INT(strlen(sealed), 3 + (rawlen + 2) / 3 * 4);
		/* The ciphertext is not the text. */
		if (lens[i] >= 16)
			T_ASSERT(memcmp(raw + 12, plain, lens[i]) != 0);
		T_EQ_INT(secret_open(key1, sealed, &out, &len), 0);
		T_EQ_INT(len, lens[i]);
		T_ASSERT(memcmp(out, plain, lens[i]) == 0);
		T_EQ_INT(out[len], '\0');
		secret_free(out);
		out = NULL;
		free(sealed);
		sealed = NULL;
	}
	/* len_r may be NULL; an empty text may be NULL. */
	T_EQ_INT(secret_seal(key1, NULL, 0, &sealed), 0);
	T_EQ_INT(secret_open(key1, sealed, &out, NULL), 0);
	T_EQ_STR(out, "");
	secret_free(out);
	free(sealed);
	/* Bytes, not a C string: a NUL inside survives. */
	T_EQ_INT(secret_seal(key1, "a\0b", 3, &sealed), 0);
	T_EQ_INT(secret_open(key1, sealed, &out, &len), 0);
	T_EQ_INT(len, 3);
	T_ASSERT(memcmp(out, "a\0b", 4) == 0);
	secret_free(out);
	free(sealed);
	secret_free(NULL);
}

static void
test_limits(void)
{
	static char big[SECRET_PLAIN_MAX + 2];
	char *sealed = (char *)1;

	memset(big, 'x', sizeof big - 1);
	T_EQ_INT(secret_seal(key1, big, SECRET_PLAIN_MAX + 1, &sealed), -1);
	T_ASSERT(sealed == NULL);
	sealed = (char *)1;
	T_EQ_INT(secret_seal(key1, big, (size_t)-1, &sealed), -1);
	T_ASSERT(sealed == NULL);
	T_EQ_INT(secret_seal(key1, NULL, 1, &sealed), -1);
	T_EQ_INT(secret_seal(key1, big, SECRET_PLAIN_MAX, &sealed), 0);
	T_EQ_INT(opens(key1, sealed), 0);
	free(sealed);
}

static void
test_fresh_nonce(void)
{
	char *a = NULL, *b = NULL;

	T_EQ_INT(secret_seal(key1, "hunter2", 7, &a), 0);
	T_EQ_INT(secret_seal(key1, "hunter2", 7, &b), 0);
	T_ASSERT(strcmp(a, b) != 0);
	T_ASSERT(strncmp(a, b, 3 + 16) != 0); /* the nonce differs */
	T_EQ_INT(opens(key1, a), 0);
	T_EQ_INT(opens(key1, b), 0);
	free(a);
	free(b);
}

static void
test_wrong_key(void)
{
	unsigned char k[SECRET_KEY_LEN];
	char *s = NULL;

	memset(key2, 0x5a, sizeof key2);
	T_EQ_INT(secret_seal(key1, "password", 8, &s), 0);
	T_EQ_INT(opens(key2, s), -1);
	/* One bit of the key off. */
	memcpy(k, key1, sizeof k);
	k[31] ^= 0x80;
	T_EQ_INT(opens(k, s), -1);
	T_EQ_INT(opens(key1, s), 0);
	free(s);
	/* Empty text, wrong key: the tag still fails. */
	T_EQ_INT(secret_seal(key1, "", 0, &s), 0);
	T_EQ_INT(opens(key2, s), -1);
	free(s);
}

/* A changed bit anywhere in nonce, ciphertext or tag is refused. */
static void
test_tamper_parts(void)
{
	unsigned char raw[256], t[256];
	char *s = NULL, *bad;
	size_t rawlen, i;
	int fails = 0;

	T_EQ_INT(secret_seal(key1, "correct horse battery", 21, &s), 0);
	T_EQ_INT(raw_of(s, raw, &rawlen), 0);
	T_EQ_INT(rawlen, 12 + 21 + 16);
	/* Re-encoding what was decoded opens (the helpers agree). */
	bad = sealed_of(raw, rawlen);
	T_EQ_STR(bad, s);
	T_EQ_INT(opens(key1, bad), 0);
	free(bad);
	for (i = 0; i < rawlen; i++) {
		memcpy(t, raw, rawlen);
		t[i] ^= (unsigned char)(1u << (i % 8));
		bad = sealed_of(t, rawlen);
		fails += opens(key1, bad) == -1;
		free(bad);
	}
	T_EQ_INT(fails, rawlen);
	/* A dropped byte (of the tag), an added one, a swapped nonce. */
	bad = sealed_of(raw, rawlen - 1);
	T_EQ_INT(opens(key1, bad), -1);
	free(bad);
	memcpy(t, raw, rawlen);
	t[rawlen] = 0;
	bad = sealed_of(t, rawlen + 1);
	T_EQ_INT(opens(key1, bad), -1);
	free(bad);
	free(s);
}

/* Every character of the text replaced by another of the alphabet. */
static void
test_tamper_text(void)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
	                            "nopqrstuvwxyz0123456789+/";
	char *s = NULL;
	size_t i, len, k, tried = 0, refused = 0;

	/* 12 + 4 + 16 = 32 bytes: the text ends with one '='. */
	T_EQ_INT(secret_seal(key1, "abcd", 4, &s), 0);
	len = strlen(s);
	T_EQ_INT(s[len - 1], '=');
	for (i = 0; i < len; i++) {
		char orig = s[i];
		for (k = 0; k < 64; k += 7) {
			if (alpha[k] == orig)
				continue;
			s[i] = alpha[k];
			tried++;
			refused += opens(key1, s) == -1;
		}
		s[i] = orig;
	}
	T_EQ_INT(refused, tried);
	T_EQ_INT(opens(key1, s), 0);
	free(s);
}

static void
test_malformed(void)
{
	char *s = NULL, *t;
	size_t len;

	T_EQ_INT(secret_seal(key1, "abcd", 4, &s), 0);
	len = strlen(s);
	T_EQ_INT(opens(key1, NULL), -1);
	T_EQ_INT(opens(key1, ""), -1);
	T_EQ_INT(opens(key1, "v1:"), -1);
	T_EQ_INT(opens(key1, "v1"), -1);
	T_EQ_INT(opens(key1, "hunter2"), -1);
	T_EQ_INT(opens(key1, "v1:===="), -1);
	T_EQ_INT(opens(key1, "v1:AAAA"), -1); /* far too short */
	/* 27 bytes: one short of nonce + tag. */
	T_EQ_INT(opens(key1, "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), -1);
	/* 28 zero bytes: well-formed, but the tag is wrong. */
	T_EQ_INT(opens(key1, "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
	         -1);
	/* Non-zero bits under the padding ("AB==" vs "AA=="). */
	T_EQ_INT(opens(key1, "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=="),
	         -1);

	t = malloc(len + 8);
	/* Another version prefix, the same body. */
	memcpy(t, s, len + 1);
	t[1] = '2';
	T_EQ_INT(opens(key1, t), -1);
	memcpy(t, s, len + 1);
	t[0] = 'V';
	T_EQ_INT(opens(key1, t), -1);
	/* Padding removed, doubled, moved; whitespace; a newline. */
	memcpy(t, s, len + 1);
	t[len - 1] = '\0';
	T_EQ_INT(opens(key1, t), -1);
	memcpy(t, s, len + 1);
	memcpy(t + len, "==", 3);
	T_EQ_INT(opens(key1, t), -1);
	memcpy(t, s, len + 1);
	t[5] = '=';
	T_EQ_INT(opens(key1, t), -1);
	memcpy(t, s, 10);
	t[10] = ' ';
	memcpy(t + 11, s + 10, len - 10 + 1);
	T_EQ_INT(opens(key1, t), -1);
	memcpy(t, s, len + 1);
	memcpy(t + len, "\n", 2);
	T_EQ_INT(opens(key1, t), -1);
	/* URL-safe alphabet is not standard base64. */
	memcpy(t, s, len + 1);
	t[4] = '-';
	T_EQ_INT(opens(key1, t), -1);
	/* A high byte. */
	memcpy(t, s, len + 1);
	t[4] = (char)0xc3;
	T_EQ_INT(opens(key1, t), -1);
	free(t);
	free(s);

	/* Longer than any sealed SECRET_PLAIN_MAX text. */
	len = 3 + 8000;
	t = malloc(len + 1);
	memcpy(t, "v1:", 3);
	memset(t + 3, 'A', len - 3);
	t[len] = '\0';
	T_EQ_INT(opens(key1, t), -1);
	free(t);
}

static int
write_file(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		return -1;
	if (write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
test_key_file(void)
{
	unsigned char k[SECRET_KEY_LEN], k2[SECRET_KEY_LEN], filek[64];
	const char *err = NULL;
	char path[512], other[512];
	struct stat sb;
	char *s = NULL, *p = NULL;
	mode_t old;
	int fd;

	T_EQ_INT(tdir_make(), 0);
	snprintf(path, sizeof path, "%s/secret.key", tdir);
	/* A umask that would take the owner's bits away changes nothing. */
	old = umask(0377);
	T_EQ_INT(secret_key_create(path, &err), 1);
	umask(old);
	T_EQ_INT(stat(path, &sb), 0);
	T_EQ_INT(sb.st_mode & 07777, 0600);
	T_EQ_INT(sb.st_size, SECRET_KEY_LEN);
	fd = open(path, O_RDONLY);
	T_ASSERT(fd >= 0);
	T_EQ_INT(read(fd, filek, sizeof filek), SECRET_KEY_LEN);
	close(fd);
	T_EQ_INT(secret_key_load(path, k, &err), 0);
	T_ASSERT(memcmp(k, filek, SECRET_KEY_LEN) == 0);

	/* Idempotent: the second create leaves the key alone. */
	T_EQ_INT(secret_key_create(path, &err), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), 0);
	T_ASSERT(memcmp(k, k2, sizeof k) == 0);
	/* And what it sealed still opens. */
	T_EQ_INT(secret_seal(k, "pw", 2, &s), 0);
	T_EQ_INT(secret_open(k2, s, &p, NULL), 0);
	T_EQ_STR(p, "pw");
	secret_free(p);
	free(s);

	/* Two keys made apart differ. */
	snprintf(other, sizeof other, "%s/other.key", tdir);
	T_EQ_INT(secret_key_create(other, &err), 1);
	T_EQ_INT(secret_key_load(other, k2, &err), 0);
	T_ASSERT(memcmp(k, k2, sizeof k) != 0);

	/* Readable by others. */
	T_EQ_INT(chmod(path, 0644), 0);
	err = NULL;
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(err != NULL && strstr(err, path) != NULL);
	T_ASSERT(strstr(err, "readable by other users") != NULL);
	T_ASSERT(strstr(err, "0644") != NULL && strstr(err, "chmod 600"));
	/* Group-readable, group-writable, world-writable. */
	T_EQ_INT(chmod(path, 0640), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_EQ_INT(chmod(path, 0620), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, "writable") != NULL);
	T_EQ_INT(chmod(path, 0602), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	/* 0400 and 0700 are fine. */
	T_EQ_INT(chmod(path, 0400), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), 0);
	T_EQ_INT(chmod(path, 0700), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), 0);
	/* create does not touch an existing file, whatever its mode. */
	T_EQ_INT(chmod(path, 0644), 0);
	T_EQ_INT(secret_key_create(path, &err), 0);
	T_EQ_INT(stat(path, &sb), 0);
	T_EQ_INT(sb.st_mode & 07777, 0644);

	/* Sizes: 0, 31, 33, 64. */
	T_EQ_INT(write_file(path, filek, 0, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, path) != NULL && strstr(err, "0 bytes"));
	T_EQ_INT(write_file(path, filek, 31, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, "31 bytes") != NULL);
	T_EQ_INT(write_file(path, filek, 33, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, "33 bytes") != NULL);
	T_EQ_INT(write_file(path, filek, 64, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_EQ_INT(write_file(path, filek, 32, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), 0);

	/* Missing, a directory, a FIFO (must not hang). */
	unlink(path);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, path) != NULL &&
	         strstr(err, "No such file") != NULL);
	T_EQ_INT(mkdir(path, 0700), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, "not a regular file") != NULL);
	T_EQ_INT(secret_key_create(path, &err), 0); /* exists: left alone */
	rmdir(path);
	T_EQ_INT(mkfifo(path, 0600), 0);
	T_EQ_INT(secret_key_load(path, k2, &err), -1);
	T_ASSERT(strstr(err, "not a regular file") != NULL);
	unlink(path);

	/* A directory that does not exist. */
	snprintf(other, sizeof other, "%s/nodir/secret.key", tdir);
	err = NULL;
	T_EQ_INT(secret_key_create(other, &err), -1);
	T_ASSERT(err != NULL && strstr(err, other) != NULL);
	T_EQ_INT(secret_key_load(other, k2, &err), -1);

	tdir_rm("other.key");
	tdir_rm("secret.key");
	rmdir(tdir);
}

static const struct test_case tests[] = {
        {"round_trip", test_round_trip},
        {"limits", test_limits},
        {"fresh_nonce", test_fresh_nonce},
        {"wrong_key", test_wrong_key},
        {"tamper_parts", test_tamper_parts},
        {"tamper_text", test_tamper_text},
        {"malformed", test_malformed},
        {"key_file", test_key_file},
        {NULL, NULL},
};

TEST_MAIN(tests)
