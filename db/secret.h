/*
 * db/secret.h: the data directory's secret.key (32 random bytes, mode 0600,
 * made by `popbridge init`) and the sealing of POP3 passwords with it:
 * AES-256-GCM (OpenSSL EVP) with a fresh random 96-bit nonce per seal and
 * a fixed associated-data label, so a sealed text cannot be altered or
 * moved to another use without the open failing.
 *
 * Sealed text: "v1:" followed by standard base64 (RFC 4648, with padding)
 * of nonce(12) || ciphertext || tag(16). Printable, safe in SQLite TEXT.
 */
#ifndef PB_SECRET_H
#define PB_SECRET_H

#include <stddef.h>

#define SECRET_KEY_LEN 32

/*
 * Reads the key file: exactly SECRET_KEY_LEN bytes, a regular file not
 * readable or writable by group or others. 0, or -1 with *error_r a static
 * or thread-local sentence naming the path and the reason ("... is
 * readable by other users (mode 0644); chmod 600 it").
 */
int secret_key_load(const char *path, unsigned char key[SECRET_KEY_LEN],
		    const char **error_r);
/*
 * Creates the key file with fresh random bytes (O_EXCL, mode 0600, fsync).
 * Returns 1 when made, 0 when it already existed (left alone), -1 on error
 * with *error_r set.
 */
int secret_key_create(const char *path, const char **error_r);

/*
 * Seals plain[0..len-1]; *sealed_r is a malloc'd NUL-terminated text.
 * 0 or -1 (no randomness, OOM, len over SECRET_PLAIN_MAX).
 */
#define SECRET_PLAIN_MAX 4096
int secret_seal(const unsigned char key[SECRET_KEY_LEN], const char *plain,
		size_t len, char **sealed_r);
/*
 * Opens a sealed text; *plain_r is malloc'd, NUL-terminated, *len_r its
 * length (may be NULL). -1 for a malformed text, a wrong key or tampering.
 * The caller wipes and frees *plain_r with secret_free.
 */
int secret_open(const unsigned char key[SECRET_KEY_LEN], const char *sealed,
		char **plain_r, size_t *len_r);
/* Overwrites (OPENSSL_cleanse) and frees a secret string; NULL-safe. */
void secret_free(char *s);

#endif
