/*
 * db/store.c: the store handle. Opening (sqlite3_open_v2 with explicit
 * flags, WAL, synchronous=FULL, foreign keys, busy timeout), the prepared
 * statement cache (prepared once per store, finalized at close), errors,
 * transactions with nesting (BEGIN IMMEDIATE outside, SAVEPOINTs inside),
 * PRAGMA data_version, online backup, settings, file size and import
 * bookkeeping. Schema and migrations: store_schema.c.
 *
 * Several processes share the file (the daemon, `popbridge poll`,
 * `import`): every write transaction starts with BEGIN IMMEDIATE so it
 * takes the write lock up front (no deadlocking read-to-write upgrades),
 * and waits up to STORE_BUSY_TIMEOUT_MS for another process's commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "store_int.h"

#define STORE_BUSY_TIMEOUT_MS 5000
/* SQLite page cache per connection (negative: KiB). */
#define STORE_CACHE_KIB 32768
/*
 * Reads go through mmap up to this many bytes of the file: FETCH of bodies
 * is about twice as fast as with read(). Only on 64-bit, where the address
 * space is free; the file never shrinks (no VACUUM, no auto_vacuum), so no
 * other process can truncate it under the mapping.
 */
#define STORE_MMAP_BYTES (sizeof(void *) >= 8 ? (1LL << 30) : 0LL)

/* ---- errors ---- */

const char *
store_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case STORE_OK:
		return "ok";
	case STORE_ERR_NOTFOUND:
		return "not found";
	case STORE_ERR_EXISTS:
		return "already exists";
	case STORE_ERR_INVALID:
		return "invalid argument";
	case STORE_ERR_TOOBIG:
		return "too big";
	case STORE_ERR_LIMIT:
		return "limit reached";
	case STORE_ERR_NOPERM:
		return "not permitted";
	case STORE_ERR_BUSY:
		return "store busy";
	case STORE_ERR_INTERNAL:
		return "internal error";
	case STORE_ERR_HASCHILDREN:
		return "has children";
	}
	return "unknown error";
}

const char *
store_last_error(struct store *st)
{
	if (st == NULL || st->err[0] == '\0')
		return "no error";
	return st->err;
}

int
store_fail(struct store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
	return -err;
}

int
store_sqlfail(struct store *st, const char *what)
{
	int code = sqlite3_errcode(st->db);
	int err;

	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = STORE_ERR_BUSY;
		break;
	case SQLITE_TOOBIG:
		err = STORE_ERR_TOOBIG;
		break;
	case SQLITE_READONLY:
		err = STORE_ERR_NOPERM;
		break;
	default:
		err = STORE_ERR_INTERNAL;
		break;
	}
	snprintf(st->err, sizeof st->err, "%s: %s", what,
	         sqlite3_errmsg(st->db));
	if (err == STORE_ERR_INTERNAL)
		log_warnx("store: %s code=%d", st->err, code);
	return -err;
}

/* ---- statement cache ---- */

static size_t
slot_hash(const void *key)
{
	uintptr_t k = (uintptr_t)key;

	k ^= k >> 17;
	k *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(k >> 8) % STORE_STMT_SLOTS;
}

static sqlite3_stmt *
stmt_prepare(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
	                       NULL) != SQLITE_OK) {
		store_sqlfail(st, "prepare");
		log_warnx("store: prepare failed sql=\"%.80s\"", sql);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

sqlite3_stmt *
store_stmt_key(struct store *st, const void *key, const char *sql)
{
	size_t i, h;
	struct store_stmt_slot *free_slot = NULL, *slot;
	sqlite3_stmt *s;

	if (st->tx_broken) {
		store_fail(st, STORE_ERR_INTERNAL,
		           "transaction rolled back by an earlier error");
		return NULL;
	}
	h = slot_hash(key);
	for (i = 0; i < STORE_STMT_SLOTS; i++) {
		slot = &st->cache[(h + i) % STORE_STMT_SLOTS];
		if (slot->key == key) {
			if (!slot->in_use && st->ninuse < STORE_STMT_INUSE) {
				slot->in_use = 1;
				st->inuse[st->ninuse++] = slot;
				return slot->stmt;
			}
			break;
		}
		if (slot->key == NULL) {
			free_slot = slot;
			break;
		}
	}
	s = stmt_prepare(st, sql);
	if (s == NULL)
		return NULL;
	if (free_slot != NULL && st->ninuse < STORE_STMT_INUSE) {
		free_slot->key = key;
		free_slot->stmt = s;
		free_slot->in_use = 1;
		st->inuse[st->ninuse++] = free_slot;
		return s;
	}
	/* In use (a reentrant call) or the cache is full: a transient one. */
	if (st->ntransient == st->transient_size) {
		st->transient_size =
		        st->transient_size ? st->transient_size * 2 : 8;
		st->transient = xreallocarray(st->transient, st->transient_size,
		                              sizeof *st->transient);
	}
	st->transient[st->ntransient++] = s;
	return s;
}

sqlite3_stmt *
store_stmt(struct store *st, const char *sql)
{
	return store_stmt_key(st, sql, sql);
}

void
store_stmt_done(struct store *st, sqlite3_stmt *stmt)
{
	size_t i;

	if (stmt == NULL)
		return;
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	/* Handed-out statements are few: search from the latest. */
	for (i = st->ninuse; i > 0; i--) {
		if (st->inuse[i - 1]->stmt == stmt) {
			st->inuse[i - 1]->in_use = 0;
			st->inuse[i - 1] = st->inuse[--st->ninuse];
			return;
		}
	}
	for (i = st->ntransient; i > 0; i--) {
		if (st->transient[i - 1] == stmt) {
			sqlite3_finalize(stmt);
			st->transient[i - 1] = st->transient[--st->ntransient];
			return;
		}
	}
}

int
store_step(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	return store_sqlfail(st, what);
}

int
store_exec(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_stmt(st, sql)) == NULL)
		return -STORE_ERR_INTERNAL;
	while ((rc = store_step(st, s, sql)) == SQLITE_ROW)
		;
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

/* ---- transactions ---- */

enum tx_op {
	TX_BEGIN,
	TX_BEGIN_IMMEDIATE,
	TX_COMMIT,
	TX_ROLLBACK,
	TX_SAVEPOINT,
	TX_RELEASE,
	TX_ROLLBACK_TO,
};

static const char *const tx_sql[] = {
        [TX_BEGIN] = "BEGIN",
        [TX_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
        [TX_COMMIT] = "COMMIT",
        [TX_ROLLBACK] = "ROLLBACK",
        [TX_SAVEPOINT] = "SAVEPOINT pb",
        [TX_RELEASE] = "RELEASE pb",
        [TX_ROLLBACK_TO] = "ROLLBACK TO pb",
};

/* Runs transaction control SQL (prepared once, no tx_broken guard). */
static int
tx_exec(struct store *st, enum tx_op op)
{
	sqlite3_stmt **sp = &st->tx_stmts[op];
	int rc;

	if (*sp == NULL && sqlite3_prepare_v3(st->db, tx_sql[op], -1,
	                                      SQLITE_PREPARE_PERSISTENT, sp,
	                                      NULL) != SQLITE_OK)
		return store_sqlfail(st, tx_sql[op]);
	rc = sqlite3_step(*sp);
	sqlite3_reset(*sp);
	if (rc != SQLITE_DONE)
		return store_sqlfail(st, tx_sql[op]);
	return 0;
}

int
store_tx_begin(struct store *st, int write)
{
	int rc;

	if (st->depth == 0) {
		st->tx_broken = 0;
		rc = tx_exec(st, write && !st->readonly ? TX_BEGIN_IMMEDIATE
		                                        : TX_BEGIN);
	} else if (st->tx_broken) {
		rc = store_fail(st, STORE_ERR_INTERNAL,
		                "transaction rolled back by an earlier error");
	} else {
		rc = tx_exec(st, TX_SAVEPOINT);
	}
	if (rc < 0)
		return rc;
	st->depth++;
	return 0;
}

/* True when SQLite ended the transaction on its own (I/O error, ...). */
static int
tx_lost(struct store *st)
{
	if (st->depth > 0 && sqlite3_get_autocommit(st->db)) {
		if (!st->tx_broken)
			log_warnx("store: transaction rolled back by SQLite");
		st->tx_broken = 1;
	}
	return st->tx_broken;
}

int
store_tx_rollback(struct store *st)
{
	char keep[sizeof st->err];

	if (st->depth == 0)
		return store_fail(st, STORE_ERR_INVALID, "no transaction");
	memcpy(keep, st->err, sizeof keep);
	if (!tx_lost(st)) {
		if (st->depth == 1)
			(void)tx_exec(st, TX_ROLLBACK);
		else if (tx_exec(st, TX_ROLLBACK_TO) == 0)
			(void)tx_exec(st, TX_RELEASE);
	}
	memcpy(st->err, keep, sizeof keep);
	st->depth--;
	if (st->depth == 0) {
		st->tx_broken = 0;
		/* A failed ROLLBACK (should not happen) must not leave it
		 * open: the next call would run inside it. */
		if (!sqlite3_get_autocommit(st->db))
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL,
			                   NULL);
	}
	return 0;
}

int
store_tx_commit(struct store *st)
{
	int rc;

	if (st->depth == 0)
		return store_fail(st, STORE_ERR_INVALID, "no transaction");
	if (tx_lost(st)) {
		st->depth--;
		if (st->depth == 0)
			st->tx_broken = 0;
		return store_fail(
		        st, STORE_ERR_INTERNAL,
		        "transaction rolled back by an earlier error");
	}
	rc = tx_exec(st, st->depth == 1 ? TX_COMMIT : TX_RELEASE);
	if (rc < 0) {
		store_tx_rollback(st);
		return rc;
	}
	st->depth--;
	return 0;
}

int
store_tx_end(struct store *st, int rc)
{
	if (rc < 0) {
		store_tx_rollback(st);
		return rc;
	}
	return store_tx_commit(st);
}

int
store_begin(struct store *st)
{
	return store_tx_begin(st, 1);
}

int
store_commit(struct store *st)
{
	return store_tx_commit(st);
}

int
store_rollback(struct store *st)
{
	return store_tx_rollback(st);
}

/* ---- opening ---- */

static _Thread_local char open_err[512];

static int open_fail(const char **error_r, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
open_fail(const char **error_r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_err, sizeof open_err, fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = open_err;
	return -err;
}

static int
pragma_setup(struct store *st, const char **error_r)
{
	char cache[64], mmap_sql[64];
	const char *const pragmas[] = {
	        "PRAGMA foreign_keys = ON",
	        "PRAGMA synchronous = FULL",
	        "PRAGMA temp_store = MEMORY",
	        /* After a big import the WAL shrinks back at checkpoints. */
	        "PRAGMA journal_size_limit = 67108864",
	        cache,
	        mmap_sql,
	};
	char *msg = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	size_t i;
	int rc;

	/* Integers only: PRAGMA arguments cannot be bound. */
	snprintf(cache, sizeof cache, "PRAGMA cache_size = -%d",
	         STORE_CACHE_KIB);
	snprintf(mmap_sql, sizeof mmap_sql, "PRAGMA mmap_size = %lld",
	         (long long)STORE_MMAP_BYTES);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	for (i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
		if (sqlite3_exec(st->db, pragmas[i], NULL, NULL, &msg) !=
		    SQLITE_OK) {
			rc = open_fail(error_r, STORE_ERR_INTERNAL,
			               "store %s: %s: %s", st->path, pragmas[i],
			               msg ? msg : sqlite3_errmsg(st->db));
			sqlite3_free(msg);
			return rc;
		}
	}
	if (st->readonly)
		return 0;
	/* WAL is persistent in the file; asking again is a no-op. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	                       NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		int busy = (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY;
		rc = open_fail(error_r,
		               busy ? STORE_ERR_BUSY : STORE_ERR_INTERNAL,
		               "store %s: journal_mode: %s", st->path,
		               sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		return rc;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || str_casecmp_ascii((const char *)mode, "wal") != 0) {
		sqlite3_finalize(s);
		return open_fail(error_r, STORE_ERR_INTERNAL,
		                 "store %s: cannot switch to WAL mode",
		                 st->path);
	}
	sqlite3_finalize(s);
	return 0;
}

static void
store_free(struct store *st)
{
	size_t i;

	for (i = 0; i < STORE_STMT_SLOTS; i++)
		sqlite3_finalize(st->cache[i].stmt);
	for (i = 0; i < st->ntransient; i++)
		sqlite3_finalize(st->transient[i]);
	for (i = 0; i < sizeof st->tx_stmts / sizeof st->tx_stmts[0]; i++)
		sqlite3_finalize(st->tx_stmts[i]);
	free(st->transient);
	free(st->uids);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}

int
store_open(const char *path, int flags, struct store **st_r,
           const char **error_r)
{
	struct store *st;
	struct stat sb;
	int oflags, existed, rc;
	uint64_t dv;

	*st_r = NULL;
	if (path == NULL || *path == '\0')
		return open_fail(error_r, STORE_ERR_INVALID, "no store path");
	if ((flags & STORE_OPEN_READONLY) && (flags & STORE_OPEN_CREATE))
		return open_fail(error_r, STORE_ERR_INVALID,
		                 "store %s: cannot create read-only", path);
	existed = stat(path, &sb) == 0;
	if (!existed && !(flags & STORE_OPEN_CREATE))
		return open_fail(error_r, STORE_ERR_NOTFOUND,
		                 "store %s: %s (run popbridge init)", path,
		                 strerror(errno));
	if (flags & STORE_OPEN_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE |
		         ((flags & STORE_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
	oflags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;

	st = xcalloc(1, sizeof *st);
	st->path = xstrdup(path);
	st->readonly = (flags & STORE_OPEN_READONLY) != 0;
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		rc = open_fail(
		        error_r, STORE_ERR_INTERNAL, "store %s: %s", path,
		        st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_free(st);
		return rc;
	}
	/* Mail and password hashes: private to the service user. */
	if (!existed && chmod(path, 0600) < 0)
		log_warn("store: chmod %s", path);
	if ((rc = pragma_setup(st, error_r)) < 0 ||
	    (rc = store_schema_setup(st, (flags & STORE_OPEN_CREATE) != 0,
	                             error_r)) < 0) {
		store_free(st);
		return rc;
	}
	st->dv_counter = 1;
	st->dv_pragma = -1;
	if (store_data_version(st, &dv) < 0) {
		rc = open_fail(error_r, STORE_ERR_INTERNAL, "store %s: %s",
		               path, st->err);
		store_free(st);
		return rc;
	}
	*st_r = st;
	return 0;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	if (st->depth > 0) {
		log_warnx("store: closed inside a transaction; rolling back");
		if (!sqlite3_get_autocommit(st->db))
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL,
			                   NULL);
	}
	store_free(st);
}

/* ---- memory ---- */

int
store_set_cache_kib(struct store *st, unsigned kib)
{
	char sql[64];

	/* An integer we format: PRAGMA arguments cannot be bound. */
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%u", kib);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlfail(st, "cache_size");
	return 0;
}

int
store_release_memory(struct store *st)
{
	char sql[64];
	int rc;

	if (st->depth > 0)
		return store_fail(st, STORE_ERR_INVALID,
		                  "release memory inside a transaction");
	/* Moves the WAL into the file while nobody waits for it, so that
	 * commits rarely run the auto-checkpoint; BUSY (another process
	 * writing) just leaves it for the next time. */
	if (!st->readonly) {
		rc = sqlite3_wal_checkpoint_v2(
		        st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY &&
		    (rc & 0xff) != SQLITE_LOCKED)
			log_warnx("store: checkpoint: %s",
			          sqlite3_errmsg(st->db));
	}
	/* The page cache's unused pages go back to malloc. */
	(void)sqlite3_db_release_memory(st->db);
	/* Remapping the file drops the mapped pages from this process (they
	 * stay in the kernel's page cache); the next read maps it again. */
	if (STORE_MMAP_BYTES > 0) {
		if ((rc = store_exec(st, "PRAGMA mmap_size = 0")) < 0)
			return rc;
		snprintf(sql, sizeof sql, "PRAGMA mmap_size = %lld",
		         (long long)STORE_MMAP_BYTES);
		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return store_sqlfail(st, "mmap_size");
	}
#ifdef __GLIBC__
	/* And malloc gives back what it can. */
	(void)malloc_trim(0);
#endif
	return 0;
}

/* ---- data version ---- */

int
store_data_version(struct store *st, uint64_t *version_r)
{
	sqlite3_stmt *s;
	int64_t v;
	int changes, rc;

	if ((s = store_stmt(st, "PRAGMA data_version")) == NULL)
		return -STORE_ERR_INTERNAL;
	rc = store_step(st, s, "data_version");
	v = sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (rc != SQLITE_ROW)
		return store_fail(st, STORE_ERR_INTERNAL,
		                  "data_version: no row");
	/* data_version moves for other connections' commits only; our own
	 * changes show in total_changes. Either bumps the counter. */
	changes = sqlite3_total_changes(st->db);
	if (v != st->dv_pragma || changes != st->dv_changes) {
		st->dv_pragma = v;
		st->dv_changes = changes;
		st->dv_counter++;
	}
	*version_r = st->dv_counter;
	return 0;
}

/* ---- backup ---- */

int
store_backup(struct store *st, const char *dest_path)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int fd, rc, tries;

	if (st->depth > 0)
		return store_fail(st, STORE_ERR_INVALID,
		                  "backup inside a transaction");
	fd = open(dest_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_fail(st,
		                  errno == EEXIST ? STORE_ERR_EXISTS
		                                  : STORE_ERR_INVALID,
		                  "backup %s: %s", dest_path, strerror(errno));
	close(fd);
	if (sqlite3_open_v2(dest_path, &dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		rc = store_fail(st, STORE_ERR_INTERNAL, "backup %s: %s",
		                dest_path,
		                dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail_dst;
	}
	sqlite3_busy_timeout(dst, STORE_BUSY_TIMEOUT_MS);
	b = sqlite3_backup_init(dst, "main", st->db, "main");
	if (b == NULL) {
		rc = store_fail(st, STORE_ERR_INTERNAL, "backup %s: %s",
		                dest_path, sqlite3_errmsg(dst));
		goto fail_dst;
	}
	/* All pages in one step: one read transaction on the source, so the
	 * copy is a consistent snapshot while other processes go on writing
	 * (WAL). */
	for (tries = 0;; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 50)
			break;
		sqlite3_sleep(100);
	}
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE) {
		rc = store_fail(st,
		                rc == SQLITE_BUSY || rc == SQLITE_LOCKED
		                        ? STORE_ERR_BUSY
		                        : STORE_ERR_INTERNAL,
		                "backup %s: %s", dest_path,
		                sqlite3_errmsg(dst));
		goto fail_dst;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		rc = store_fail(st, STORE_ERR_INTERNAL, "backup %s: close: %s",
		                dest_path, sqlite3_errmsg(dst));
		dst = NULL;
		goto fail_file;
	}
	return 0;

fail_dst:
	sqlite3_close(dst);
fail_file:
	unlink(dest_path);
	return rc;
}

/* ---- settings ---- */

static int
setting_key_check(struct store *st, const char *key)
{
	size_t n;

	if (key == NULL || (n = strlen(key)) == 0 || n > STORE_SETTING_MAX)
		return store_fail(st, STORE_ERR_INVALID, "bad setting key");
	return 0;
}

int
store_setting_get(struct store *st, const char *key, char **value_r)
{
	sqlite3_stmt *s;
	int rc;

	if (value_r != NULL)
		*value_r = NULL;
	if ((rc = setting_key_check(st, key)) < 0)
		return rc;
	s = store_stmt(st, "SELECT value FROM settings WHERE key = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = store_step(st, s, "setting get");
	if (rc == SQLITE_ROW) {
		if (value_r != NULL)
			*value_r = xmemdup0(sqlite3_column_text(s, 0),
			                    (size_t)sqlite3_column_bytes(s, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "setting %s unset",
		                key);
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_setting_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s;
	size_t vlen;
	int rc;

	if ((rc = setting_key_check(st, key)) < 0)
		return rc;
	if (value == NULL || (vlen = strlen(value)) > STORE_SETTING_MAX)
		return store_fail(st, STORE_ERR_INVALID, "bad setting value");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	s = store_stmt(st, "INSERT INTO settings(key, value) VALUES(?1, ?2)"
	                   " ON CONFLICT(key) DO UPDATE SET value = ?2");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, (int)vlen, SQLITE_STATIC);
	rc = store_step(st, s, "setting set");
	store_stmt_done(st, s);
	return store_tx_end(st, rc);
}

int
store_setting_del(struct store *st, const char *key)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = setting_key_check(st, key)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	s = store_stmt(st, "DELETE FROM settings WHERE key = ?1");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = store_step(st, s, "setting del");
	store_stmt_done(st, s);
	if (rc >= 0 && sqlite3_changes(st->db) == 0)
		rc = store_fail(st, STORE_ERR_NOTFOUND, "setting %s unset",
		                key);
	return store_tx_end(st, rc);
}

int
store_next_uidvalidity(struct store *st, uint32_t *v_r)
{
	char *val = NULL, num[24];
	uint64_t last = 0, v;
	int rc;

	rc = store_setting_get(st, "last_uidvalidity", &val);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
		return rc;
	if (val != NULL && str_cstr_to_u64(val, UINT32_MAX, &last) < 0)
		last = 0;
	free(val);
	v = (uint64_t)time(NULL);
	if (v <= last)
		v = last + 1;
	/* Past 2106 or after 4 billion folders: start over at 1. A reused
	 * value needs the same name and an old client cache to matter. */
	if (v > UINT32_MAX)
		v = 1;
	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	if ((rc = store_setting_set(st, "last_uidvalidity", num)) < 0)
		return rc;
	*v_r = (uint32_t)v;
	return 0;
}

/* ---- size ---- */

int
store_file_size(struct store *st, uint64_t *bytes_r)
{
	sqlite3_stmt *s;
	struct stat sb;
	char *wal;
	int64_t pages = 0, psize = 0;
	int rc;

	if ((s = store_stmt(st, "PRAGMA page_count")) == NULL)
		return -STORE_ERR_INTERNAL;
	if ((rc = store_step(st, s, "page_count")) == SQLITE_ROW)
		pages = sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if ((s = store_stmt(st, "PRAGMA page_size")) == NULL)
		return -STORE_ERR_INTERNAL;
	if ((rc = store_step(st, s, "page_size")) == SQLITE_ROW)
		psize = sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	*bytes_r = (uint64_t)pages * (uint64_t)psize;
	wal = xasprintf("%s-wal", st->path);
	if (stat(wal, &sb) == 0)
		*bytes_r += (uint64_t)sb.st_size;
	free(wal);
	return 0;
}

/* ---- import bookkeeping ---- */

int
store_import_seen(struct store *st, int64_t folder_id,
                  const unsigned char digest[32])
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT 1 FROM imports"
	                   " WHERE folder_id = ?1 AND digest = ?2");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_blob(s, 2, digest, 32, SQLITE_STATIC);
	rc = store_step(st, s, "import seen");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return rc == SQLITE_ROW ? 1 : 0;
}

int
store_import_mark(struct store *st, int64_t folder_id,
                  const unsigned char digest[32])
{
	struct store_folder_row fr;
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return store_tx_end(st, rc);
	s = store_stmt(st, "INSERT OR IGNORE INTO imports(folder_id, digest)"
	                   " VALUES(?1, ?2)");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_blob(s, 2, digest, 32, SQLITE_STATIC);
	rc = store_step(st, s, "import mark");
	store_stmt_done(st, s);
	return store_tx_end(st, rc);
}
