/*
 * db/store_acct.c: POP3 accounts and their UIDLs (store.h "POP3 accounts",
 * "POP3 UIDLs"; tables accounts and pop3_uidls, see store_schema.c).
 *
 * Settings are checked here (names, hosts, ports, intervals, retention,
 * CA file, certificate fingerprint) so that every writer (CLI, web admin)
 * gets the same rules. The password is kept only as the sealed text
 * (db/secret.h); this file never needs the key.
 *
 * Exactly once (RFC 1939 UIDL): store_pop3_deliver records the UIDL and
 * appends the message in one write transaction (synchronous=FULL), so a
 * message is in the store with its UIDL or not at all, and a second
 * delivery of a UIDL the account knows stores nothing (EXISTS).
 *
 * The poll lease is two columns of the account row taken by a single
 * UPDATE whose WHERE names the holders that may be replaced (none, an
 * expired one, the caller itself, or a known-dead one): inside a BEGIN
 * IMMEDIATE transaction, so of two processes racing only one sees its row
 * changed.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "secret.h"
#include "store_int.h"

/* A CA file path (absolute). */
#define ACCT_PATH_MAX 4096
/* A sealed password: "v1:" + base64 of nonce, ciphertext and tag. */
#define ACCT_SEALED_MAX (3 + (12 + SECRET_PLAIN_MAX + 16 + 2) / 3 * 4)
/* The last error sentence; longer ones are cut (at a UTF-8 boundary). */
#define ACCT_ERROR_MAX 1024
/* A lease owner ("daemon:1234", "poll:5678@host"). */
#define ACCT_OWNER_MAX 256
/* A fingerprint as given: 64 hex digits, maybe with ':' between pairs. */
#define ACCT_FP_LEN       64
#define ACCT_FP_INPUT_MAX (ACCT_FP_LEN / 2 * 3)

#define ACCT_COLS                                                              \
	"id, name, host, port, tls, allow_plaintext, user, password_sealed,"   \
	" folder, poll_interval, keep, keep_days, ca_file, fingerprint,"       \
	" created, last_attempt, last_success, last_error, failures,"          \
	" auth_failed, next_due, fetched, deleted, skipped, on_server,"        \
	" skipped_now"

/* ---- checks ---- */

static int
acct_name_check(struct store *st, const char *name)
{
	size_t len, i;

	if (name == NULL || (len = strlen(name)) == 0 ||
	    len > STORE_ACCT_NAME_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "account name must be 1 to %d characters",
		                  STORE_ACCT_NAME_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL))
			return store_fail(st, STORE_ERR_INVALID,
			                  "account name may hold only letters, "
			                  "digits and . _ @ + -");
	}
	return 0;
}

/* 1..max bytes, none of them a control character (or, when no_space,
 * a space). */
static int
acct_text_check(struct store *st, const char *s, size_t max, int no_space,
                const char *what)
{
	size_t len, i;

	if (s == NULL || (len = strlen(s)) == 0)
		return store_fail(st, STORE_ERR_INVALID, "empty %s", what);
	if (len > max)
		return store_fail(st, STORE_ERR_INVALID,
		                  "%s longer than %zu bytes", what, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (no_space && c == ' '))
			return store_fail(
			        st, STORE_ERR_INVALID, "%s holds a %s", what,
			        c == ' ' ? "space" : "control character");
	}
	if (!store_utf8_valid(s, len))
		return store_fail(st, STORE_ERR_INVALID,
		                  "%s is not valid UTF-8", what);
	return 0;
}

/* Accepts 64 hex digits, either case, maybe with ':' between pairs;
 * writes the 64 lower-case digits to out (65 bytes). */
static int
acct_fp_norm(struct store *st, const char *fp, char *out)
{
	size_t len = strlen(fp), i, n = 0;

	if (len <= ACCT_FP_INPUT_MAX) {
		for (i = 0; i < len; i++) {
			int v = str_hex_value((unsigned char)fp[i]);
			if (v >= 0 && n < ACCT_FP_LEN)
				out[n++] = "0123456789abcdef"[v];
			else if (fp[i] != ':' || n == 0 || n % 2 != 0 ||
			         i + 1 == len || fp[i + 1] == ':')
				break;
		}
		if (i == len && n == ACCT_FP_LEN) {
			out[n] = '\0';
			return 0;
		}
	}
	return store_fail(st, STORE_ERR_INVALID,
	                  "the fingerprint must be the 64 hex digits of a "
	                  "SHA-256 digest");
}

/*
 * Checks every setting of a; the normalised folder name goes to folder
 * (FOLDER_NAME_MAX + 1 bytes) and the fingerprint, when set, to fp (65).
 */
static int
acct_check(struct store *st, const struct store_acct *a, char *folder, char *fp)
{
	int rc;

	if (a == NULL)
		return store_fail(st, STORE_ERR_INVALID, "no account");
	if ((rc = acct_name_check(st, a->name)) < 0 ||
	    (rc = acct_text_check(st, a->host, STORE_ACCT_HOST_MAX, 1,
	                          "host")) < 0)
		return rc;
	if (a->port < 1 || a->port > 65535)
		return store_fail(st, STORE_ERR_INVALID,
		                  "port must be 1 to 65535");
	if (a->tls != STORE_ACCT_TLS_IMPLICIT &&
	    a->tls != STORE_ACCT_TLS_STARTTLS && a->tls != STORE_ACCT_TLS_NONE)
		return store_fail(st, STORE_ERR_INVALID, "bad TLS mode");
	if (a->tls == STORE_ACCT_TLS_NONE && !a->allow_plaintext)
		return store_fail(st, STORE_ERR_INVALID,
		                  "no TLS needs allow_plaintext");
	if ((rc = acct_text_check(st, a->user, POP3_USER_MAX, 0, "user")) < 0 ||
	    (rc = acct_text_check(st, a->password_sealed, ACCT_SEALED_MAX, 1,
	                          "sealed password")) < 0)
		return rc;
	if (a->folder == NULL || a->folder[0] == '\0')
		return store_fail(st, STORE_ERR_INVALID, "empty folder name");
	if ((rc = store_folder_name_norm(st, a->folder, folder)) < 0)
		return rc;
	if (a->interval < POLL_INTERVAL_MIN || a->interval > POLL_INTERVAL_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "interval must be %d to %d seconds",
		                  POLL_INTERVAL_MIN, POLL_INTERVAL_MAX);
	if (a->keep != STORE_ACCT_KEEP && a->keep != STORE_ACCT_DELETE &&
	    a->keep != STORE_ACCT_KEEP_DAYS)
		return store_fail(st, STORE_ERR_INVALID, "bad retention");
	if (a->keep == STORE_ACCT_KEEP_DAYS &&
	    (a->keep_days < 1 || a->keep_days > RETENTION_DAYS_MAX))
		return store_fail(st, STORE_ERR_INVALID,
		                  "keep days must be 1 to %d",
		                  RETENTION_DAYS_MAX);
	if (a->ca_file != NULL && a->fingerprint != NULL)
		return store_fail(st, STORE_ERR_INVALID,
		                  "a CA file and a fingerprint exclude each "
		                  "other");
	if (a->ca_file != NULL) {
		if ((rc = acct_text_check(st, a->ca_file, ACCT_PATH_MAX, 0,
		                          "CA file")) < 0)
			return rc;
		if (a->ca_file[0] != '/')
			return store_fail(
			        st, STORE_ERR_INVALID,
			        "the CA file must be an absolute path");
	}
	if (a->fingerprint != NULL &&
	    (rc = acct_fp_norm(st, a->fingerprint, fp)) < 0)
		return rc;
	return 0;
}

/* RFC 1939: 1..70 characters 0x21..0x7E; "sha256:" + 64 hex is 71. */
static int
uidl_check(struct store *st, const char *uidl)
{
	size_t len, i;

	if (uidl == NULL || (len = strlen(uidl)) == 0 ||
	    len > POP3_DIGEST_UIDL_LEN)
		return store_fail(st, STORE_ERR_INVALID,
		                  "a UIDL must be 1 to %d characters",
		                  POP3_DIGEST_UIDL_LEN);
	for (i = 0; i < len; i++)
		if ((unsigned char)uidl[i] < 0x21 ||
		    (unsigned char)uidl[i] > 0x7e)
			return store_fail(st, STORE_ERR_INVALID,
			                  "a UIDL holds only characters 0x21 "
			                  "to 0x7E");
	return 0;
}

/* ---- reading rows ---- */

static char *
col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return xmemdup0(t != NULL ? (const char *)t : "",
	                (size_t)sqlite3_column_bytes(s, i));
}

static char *
col_dup_null(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	return col_dup(s, i);
}

/* One row of ACCT_COLS into *a. */
static void
acct_row(sqlite3_stmt *s, struct store_acct *a)
{
	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(s, 0);
	a->name = col_dup(s, 1);
	a->host = col_dup(s, 2);
	a->port = (unsigned)sqlite3_column_int64(s, 3);
	a->tls = (enum store_acct_tls)sqlite3_column_int(s, 4);
	a->allow_plaintext = sqlite3_column_int(s, 5) != 0;
	a->user = col_dup(s, 6);
	a->password_sealed = col_dup(s, 7);
	a->folder = col_dup(s, 8);
	a->interval = (uint32_t)sqlite3_column_int64(s, 9);
	a->keep = (enum store_acct_keep)sqlite3_column_int(s, 10);
	a->keep_days = (uint32_t)sqlite3_column_int64(s, 11);
	a->ca_file = col_dup_null(s, 12);
	a->fingerprint = col_dup_null(s, 13);
	a->created = sqlite3_column_int64(s, 14);
	a->last_attempt = sqlite3_column_int64(s, 15);
	a->last_success = sqlite3_column_int64(s, 16);
	a->last_error = col_dup_null(s, 17);
	a->failures = (uint32_t)sqlite3_column_int64(s, 18);
	a->auth_failed = sqlite3_column_int(s, 19) != 0;
	a->next_due = sqlite3_column_int64(s, 20);
	a->fetched = (uint64_t)sqlite3_column_int64(s, 21);
	a->deleted = (uint64_t)sqlite3_column_int64(s, 22);
	a->skipped = (uint64_t)sqlite3_column_int64(s, 23);
	a->on_server = (uint32_t)sqlite3_column_int64(s, 24);
	a->skipped_now = (uint32_t)sqlite3_column_int64(s, 25);
}

void
store_acct_clear(struct store_acct *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->host);
	free(a->user);
	free(a->password_sealed);
	free(a->folder);
	free(a->ca_file);
	free(a->fingerprint);
	free(a->last_error);
	memset(a, 0, sizeof *a);
}

void
store_acct_list_free(struct store_acct *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_acct_clear(&list[i]);
	free(list);
}

/* ---- settings ---- */

/* Binds the settings columns ?2..?14 of the add and update statements. */
static void
acct_bind_settings(sqlite3_stmt *s, const struct store_acct *a,
                   const char *folder, const char *fp)
{
	sqlite3_bind_text(s, 2, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, a->port);
	sqlite3_bind_int(s, 5, (int)a->tls);
	sqlite3_bind_int(s, 6, a->allow_plaintext ? 1 : 0);
	sqlite3_bind_text(s, 7, a->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, a->password_sealed, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, a->interval);
	sqlite3_bind_int(s, 11, (int)a->keep);
	sqlite3_bind_int64(s, 12,
	                   a->keep == STORE_ACCT_KEEP_DAYS ? a->keep_days : 0);
	if (a->ca_file != NULL)
		sqlite3_bind_text(s, 13, a->ca_file, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 13);
	if (a->fingerprint != NULL)
		sqlite3_bind_text(s, 14, fp, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 14);
}

/* EXISTS when another account (not id) has the name. */
static int
acct_name_free(struct store *st, const char *name, int64_t id)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT 1 FROM accounts WHERE name = ?1"
	                   " AND id <> ?2");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	rc = store_step(st, s, "account name");
	store_stmt_done(st, s);
	if (rc == SQLITE_ROW)
		return store_fail(st, STORE_ERR_EXISTS,
		                  "an account named %s exists", name);
	return rc < 0 ? rc : 0;
}

static int
acct_insert(struct store *st, const struct store_acct *a, const char *folder,
            const char *fp, int64_t *id_r)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int rc;

	if ((rc = acct_name_free(st, a->name, 0)) < 0)
		return rc;
	s = store_stmt(st, "SELECT count(*) FROM accounts");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	rc = store_step(st, s, "account count");
	n = sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (n >= STORE_ACCTS_MAX)
		return store_fail(st, STORE_ERR_LIMIT, "more than %d accounts",
		                  STORE_ACCTS_MAX);
	s = store_stmt(st, "INSERT INTO accounts(created, name, host, port,"
	                   " tls, allow_plaintext, user, password_sealed,"
	                   " folder, poll_interval, keep, keep_days, ca_file,"
	                   " fingerprint) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	                   " ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, (int64_t)time(NULL));
	acct_bind_settings(s, a, folder, fp);
	rc = store_step(st, s, "account add");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_acct_add(struct store *st, const struct store_acct *a, int64_t *id_r)
{
	char folder[FOLDER_NAME_MAX + 1], fp[ACCT_FP_LEN + 1];
	int rc;

	if (id_r != NULL)
		*id_r = 0;
	if ((rc = acct_check(st, a, folder, fp)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, acct_insert(st, a, folder, fp, id_r));
}

static int
acct_update(struct store *st, const struct store_acct *a, const char *folder,
            const char *fp)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = acct_name_free(st, a->name, a->id)) < 0)
		return rc;
	s = store_stmt(st, "UPDATE accounts SET name = ?2, host = ?3,"
	                   " port = ?4, tls = ?5, allow_plaintext = ?6,"
	                   " user = ?7, password_sealed = ?8, folder = ?9,"
	                   " poll_interval = ?10, keep = ?11, keep_days = ?12,"
	                   " ca_file = ?13, fingerprint = ?14 WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, a->id);
	acct_bind_settings(s, a, folder, fp);
	rc = store_step(st, s, "account update");
	store_stmt_done(st, s);
	if (rc >= 0 && sqlite3_changes(st->db) == 0)
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account %lld",
		                (long long)a->id);
	return rc < 0 ? rc : 0;
}

int
store_acct_update(struct store *st, const struct store_acct *a)
{
	char folder[FOLDER_NAME_MAX + 1], fp[ACCT_FP_LEN + 1];
	int rc;

	if ((rc = acct_check(st, a, folder, fp)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, acct_update(st, a, folder, fp));
}

int
store_acct_get(struct store *st, const char *name, struct store_acct *a_r)
{
	sqlite3_stmt *s;
	int rc;

	memset(a_r, 0, sizeof *a_r);
	if (name == NULL)
		return store_fail(st, STORE_ERR_INVALID, "no account name");
	s = store_stmt(st,
	               "SELECT " ACCT_COLS " FROM accounts WHERE name = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = store_step(st, s, "account get");
	if (rc == SQLITE_ROW) {
		acct_row(s, a_r);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account named %s",
		                name);
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_acct_get_by_id(struct store *st, int64_t id, struct store_acct *a_r)
{
	sqlite3_stmt *s;
	int rc;

	memset(a_r, 0, sizeof *a_r);
	s = store_stmt(st, "SELECT " ACCT_COLS " FROM accounts WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, "account get");
	if (rc == SQLITE_ROW) {
		acct_row(s, a_r);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account %lld",
		                (long long)id);
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_acct_list(struct store *st, struct store_acct **list_r, size_t *n_r)
{
	struct store_acct *list = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	*list_r = NULL;
	*n_r = 0;
	s = store_stmt(st, "SELECT " ACCT_COLS " FROM accounts ORDER BY name");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	while ((rc = store_step(st, s, "account list")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 8;
			list = xreallocarray(list, size, sizeof *list);
		}
		acct_row(s, &list[n++]);
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_acct_list_free(list, n);
		return rc;
	}
	*list_r = list;
	*n_r = n;
	return 0;
}

int
store_acct_remove(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int rc;

	if (name == NULL)
		return store_fail(st, STORE_ERR_INVALID, "no account name");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	/* The UIDLs go with it (ON DELETE CASCADE); the lease is in the
	 * row. Messages stay in their folder. */
	s = store_stmt(st, "DELETE FROM accounts WHERE name = ?1");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = store_step(st, s, "account remove");
	store_stmt_done(st, s);
	if (rc >= 0 && sqlite3_changes(st->db) == 0)
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account named %s",
		                name);
	return store_tx_end(st, rc < 0 ? rc : 0);
}

/* ---- status ---- */

/* Runs an UPDATE of one account (?1 = id) whose other parameters are
 * bound; NOTFOUND when there is no such account. */
static int
acct_update_one(struct store *st, sqlite3_stmt *s, int64_t id, const char *what)
{
	int rc;

	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, what);
	store_stmt_done(st, s);
	if (rc >= 0 && sqlite3_changes(st->db) == 0)
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account %lld",
		                (long long)id);
	return rc < 0 ? rc : 0;
}

/*
 * The error sentence as kept: at most ACCT_ERROR_MAX bytes, cut before a
 * UTF-8 continuation byte, control characters (a server's text may hold
 * any) turned into spaces so that `account list` prints one line.
 */
static void
error_text(const char *e, struct buf *out)
{
	size_t len = strlen(e), i;

	if (len > ACCT_ERROR_MAX) {
		len = ACCT_ERROR_MAX;
		while (len > 0 && ((unsigned char)e[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e[i];
		(void)buf_addc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

int
store_acct_set_status(struct store *st, int64_t id,
                      const struct store_acct_status *as)
{
	struct buf err;
	sqlite3_stmt *s;
	int rc;

	if (as == NULL)
		return store_fail(st, STORE_ERR_INVALID, "no status");
	buf_init(&err, ACCT_ERROR_MAX);
	if (as->last_error != NULL)
		error_text(as->last_error, &err);
	if ((rc = store_tx_begin(st, 1)) < 0)
		goto done;
	s = store_stmt(st, "UPDATE accounts SET last_attempt = ?2,"
	                   " last_success = CASE WHEN ?3 = 0 THEN last_success"
	                   " ELSE ?3 END, last_error = ?4, failures = ?5,"
	                   " auth_failed = ?6, next_due = ?7 WHERE id = ?1");
	if (s == NULL) {
		rc = store_tx_end(st, -STORE_ERR_INTERNAL);
		goto done;
	}
	sqlite3_bind_int64(s, 2, as->last_attempt);
	sqlite3_bind_int64(s, 3, as->last_success);
	/* "" is no sentence either. */
	if (err.len > 0)
		sqlite3_bind_text(s, 4, buf_cstr(&err), (int)err.len,
		                  SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, as->failures);
	sqlite3_bind_int(s, 6, as->auth_failed ? 1 : 0);
	sqlite3_bind_int64(s, 7, as->next_due);
	rc = store_tx_end(st, acct_update_one(st, s, id, "account status"));
done:
	buf_clear(&err);
	return rc;
}

int
store_acct_add_deleted(struct store *st, int64_t id, uint32_t n)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	s = store_stmt(st, "UPDATE accounts SET deleted = deleted + ?2"
	                   " WHERE id = ?1");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_int64(s, 2, n);
	return store_tx_end(st, acct_update_one(st, s, id, "account deleted"));
}

/* ---- lease ---- */

static int
owner_check(struct store *st, const char *owner)
{
	size_t len;

	if (owner == NULL || (len = strlen(owner)) == 0 || len > ACCT_OWNER_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "a lease owner must be 1 to %d bytes",
		                  ACCT_OWNER_MAX);
	return 0;
}

static int
lease_take(struct store *st, int64_t id, const char *owner, int64_t now,
           int64_t until, const char *steal_from, char **holder_r)
{
	sqlite3_stmt *s;
	int rc;

	/* The compare-and-set: one statement, under the write lock. */
	s = store_stmt(st, "UPDATE accounts SET lease_owner = ?2,"
	                   " lease_until = ?3 WHERE id = ?1 AND"
	                   " (lease_owner IS NULL OR lease_until <= ?4 OR"
	                   " lease_owner = ?2 OR lease_owner = ?5)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, until);
	sqlite3_bind_int64(s, 4, now);
	if (steal_from != NULL)
		sqlite3_bind_text(s, 5, steal_from, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	rc = store_step(st, s, "lease take");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (sqlite3_changes(st->db) > 0)
		return 0;

	/* Not taken: no account, or someone else holds it. */
	s = store_stmt(st, "SELECT lease_owner, lease_until FROM accounts"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, "lease holder");
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(s, 0);
		if (holder_r != NULL)
			*holder_r = col_dup(s, 0);
		rc = store_fail(st, STORE_ERR_BUSY,
		                "the account is being polled by %s until %lld",
		                h != NULL ? (const char *)h : "?",
		                (long long)sqlite3_column_int64(s, 1));
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no account %lld",
		                (long long)id);
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_acct_lease_take(struct store *st, int64_t id, const char *owner,
                      int64_t now, int64_t until, const char *steal_from,
                      char **holder_r)
{
	int rc;

	if (holder_r != NULL)
		*holder_r = NULL;
	if ((rc = owner_check(st, owner)) < 0)
		return rc;
	if (steal_from != NULL && (rc = owner_check(st, steal_from)) < 0)
		return rc;
	if (until <= now)
		return store_fail(st, STORE_ERR_INVALID,
		                  "a lease must end after now");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, lease_take(st, id, owner, now, until,
	                                   steal_from, holder_r));
}

int
store_acct_lease_release(struct store *st, int64_t id, const char *owner)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = owner_check(st, owner)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	s = store_stmt(st,
	               "UPDATE accounts SET lease_owner = NULL,"
	               " lease_until = 0 WHERE id = ?1 AND lease_owner = ?2");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
	rc = store_step(st, s, "lease release");
	store_stmt_done(st, s);
	return store_tx_end(st, rc < 0 ? rc : 0);
}

/* ---- UIDLs ---- */

int
store_pop3_known(struct store *st, int64_t acct_id,
                 struct store_pop3_uidl **list_r, size_t *n_r)
{
	struct store_pop3_uidl *list = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	*list_r = NULL;
	*n_r = 0;
	s = store_stmt(st, "SELECT uidl, state, first_fetched, size"
	                   " FROM pop3_uidls WHERE account_id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, acct_id);
	while ((rc = store_step(st, s, "uidl list")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 64;
			list = xreallocarray(list, size, sizeof *list);
		}
		list[n].uidl = col_dup(s, 0);
		list[n].state = sqlite3_column_int(s, 1);
		list[n].first_fetched = sqlite3_column_int64(s, 2);
		list[n].size = (uint64_t)sqlite3_column_int64(s, 3);
		n++;
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_pop3_known_free(list, n);
		return rc;
	}
	*list_r = list;
	*n_r = n;
	return 0;
}

void
store_pop3_known_free(struct store_pop3_uidl *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i].uidl);
	free(list);
}

/* 1 when the account knows uidl, 0 when not. */
static int
uidl_known(struct store *st, int64_t acct_id, const char *uidl)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT 1 FROM pop3_uidls"
	                   " WHERE account_id = ?1 AND uidl = ?2");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, acct_id);
	sqlite3_bind_text(s, 2, uidl, -1, SQLITE_STATIC);
	rc = store_step(st, s, "uidl known");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return rc == SQLITE_ROW;
}

/*
 * Inside a write transaction: adds one to the account's total column
 * (fetched or skipped; NOTFOUND when there is no account) and records the
 * UIDL (EXISTS when the account knows it; the caller rolls back).
 */
static int
uidl_record(struct store *st, int64_t acct_id, const char *uidl, int state,
            uint64_t size, int64_t now)
{
	sqlite3_stmt *s;
	int rc;

	if (state == STORE_POP3_STORED)
		s = store_stmt(st, "UPDATE accounts SET fetched = fetched + 1"
		                   " WHERE id = ?1");
	else
		s = store_stmt(st, "UPDATE accounts SET skipped = skipped + 1"
		                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	if ((rc = acct_update_one(st, s, acct_id, "account total")) < 0)
		return rc;
	s = store_stmt(st, "INSERT INTO pop3_uidls(account_id, uidl, state,"
	                   " first_fetched, size) VALUES(?1, ?2, ?3, ?4, ?5)"
	                   " ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, acct_id);
	sqlite3_bind_text(s, 2, uidl, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, state);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, (int64_t)size);
	rc = store_step(st, s, "uidl insert");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, STORE_ERR_EXISTS,
		                  "UIDL %s is already known", uidl);
	return 0;
}

static int
size_check(struct store *st, uint64_t size)
{
	if (size > (uint64_t)INT64_MAX)
		return store_fail(st, STORE_ERR_INVALID, "bad message size");
	return 0;
}

int
store_pop3_deliver(struct store *st, int64_t acct_id, int64_t folder_id,
                   const char *uidl, uint64_t server_size, int64_t now,
                   const struct store_append *a, uint32_t *uid_r)
{
	struct store_msg_prep *prep = NULL;
	uint32_t uid = 0;
	int rc;

	if (uid_r != NULL)
		*uid_r = 0;
	/* Nested in a caller's transaction the commit would not be on disk
	 * when this returns, and the caller could roll it back after a
	 * DELE went out. */
	if (st->depth > 0)
		return store_fail(st, STORE_ERR_INVALID,
		                  "deliver inside a transaction");
	if ((rc = uidl_check(st, uidl)) < 0 ||
	    (rc = size_check(st, server_size)) < 0)
		return rc;
	/* A quick answer for a known UIDL before parsing anything; it is
	 * checked again under the write lock. */
	if ((rc = uidl_known(st, acct_id, uidl)) < 0)
		return rc;
	if (rc == 1)
		return store_fail(st, STORE_ERR_EXISTS,
		                  "UIDL %s is already known", uidl);
	/* Parsing is the slow part: before the write lock. */
	if ((rc = store_msg_prepare(st, a, &prep)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) == 0) {
		rc = uidl_record(st, acct_id, uidl, STORE_POP3_STORED,
		                 server_size, now);
		if (rc >= 0)
			rc = store_msg_append_locked(st, folder_id, a, prep,
			                             &uid, NULL);
		rc = store_tx_end(st, rc);
	}
	store_msg_prep_free(&prep);
	if (rc < 0)
		return rc;
	if (uid_r != NULL)
		*uid_r = uid;
	return 0;
}

int
store_pop3_skip(struct store *st, int64_t acct_id, const char *uidl,
                uint64_t server_size, int64_t now)
{
	int rc;

	if ((rc = uidl_check(st, uidl)) < 0 ||
	    (rc = size_check(st, server_size)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st,
	                    uidl_record(st, acct_id, uidl, STORE_POP3_SKIPPED,
	                                server_size, now));
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* UIDLs to forget, collected before deleting (no delete under a running
 * SELECT of the same table). */
struct forget_job {
	char **gone;
	size_t ngone, size;
	uint32_t skipped_now;
};

static int
forget_collect(struct store *st, int64_t acct_id, const char **sorted, size_t n,
               struct forget_job *fj)
{
	sqlite3_stmt *s;
	const char *u;
	int rc;

	s = store_stmt(st, "SELECT uidl, state FROM pop3_uidls"
	                   " WHERE account_id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, acct_id);
	while ((rc = store_step(st, s, "uidl forget")) == SQLITE_ROW) {
		u = (const char *)sqlite3_column_text(s, 0);
		if (u == NULL)
			u = "";
		/* O(log n) per known UIDL: fine for a 100k maildrop. */
		if (n > 0 &&
		    bsearch(&u, sorted, n, sizeof *sorted, strp_cmp) != NULL) {
			if (sqlite3_column_int(s, 1) == STORE_POP3_SKIPPED)
				fj->skipped_now++;
			continue;
		}
		if (fj->ngone == fj->size) {
			fj->size = fj->size ? fj->size * 2 : 64;
			fj->gone = xreallocarray(fj->gone, fj->size,
			                         sizeof *fj->gone);
		}
		fj->gone[fj->ngone++] =
		        xmemdup0(u, (size_t)sqlite3_column_bytes(s, 0));
	}
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

static int
forget_apply(struct store *st, int64_t acct_id, size_t n,
             const struct forget_job *fj)
{
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	s = store_stmt(st, "DELETE FROM pop3_uidls"
	                   " WHERE account_id = ?1 AND uidl = ?2");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	for (i = 0; i < fj->ngone && rc >= 0; i++) {
		sqlite3_bind_int64(s, 1, acct_id);
		sqlite3_bind_text(s, 2, fj->gone[i], -1, SQLITE_STATIC);
		rc = store_step(st, s, "uidl forget");
		sqlite3_reset(s);
	}
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	s = store_stmt(st, "UPDATE accounts SET on_server = ?2,"
	                   " skipped_now = ?3 WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 2, (int64_t)n);
	sqlite3_bind_int64(s, 3, fj->skipped_now);
	return acct_update_one(st, s, acct_id, "account on_server");
}

int
store_pop3_forget_absent(struct store *st, int64_t acct_id,
                         const char *const *present, size_t n,
                         size_t *forgotten_r)
{
	struct forget_job fj;
	const char **sorted = NULL;
	size_t i;
	int rc;

	if (forgotten_r != NULL)
		*forgotten_r = 0;
	if (present == NULL && n > 0)
		return store_fail(st, STORE_ERR_INVALID, "no UIDL list");
	if (n > POP3_MAX_MESSAGES)
		return store_fail(st, STORE_ERR_LIMIT,
		                  "more than %d messages listed",
		                  POP3_MAX_MESSAGES);
	if (n > 0) {
		sorted = xreallocarray(NULL, n, sizeof *sorted);
		for (i = 0; i < n; i++) {
			if (present[i] == NULL) {
				free(sorted);
				return store_fail(st, STORE_ERR_INVALID,
				                  "NULL in the UIDL list");
			}
			sorted[i] = present[i];
		}
		/* Sorted outside the transaction: the lock is held less. */
		qsort(sorted, n, sizeof *sorted, strp_cmp);
	}
	memset(&fj, 0, sizeof fj);
	if ((rc = store_tx_begin(st, 1)) == 0) {
		rc = forget_collect(st, acct_id, sorted, n, &fj);
		if (rc >= 0)
			rc = forget_apply(st, acct_id, n, &fj);
		rc = store_tx_end(st, rc);
	}
	if (rc >= 0 && forgotten_r != NULL)
		*forgotten_r = fj.ngone;
	for (i = 0; i < fj.ngone; i++)
		free(fj.gone[i]);
	free(fj.gone);
	free(sorted);
	return rc < 0 ? rc : 0;
}
