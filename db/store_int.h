/*
 * db/store_int.h: what the db/store*.c files share and nothing else sees:
 * the struct store, the prepared statement cache, transactions with
 * nesting, error helpers, and the folder / keyword helpers store_msg.c
 * builds on. Not for bridge/ or web/: they use store.h only.
 *
 * sqlite3.h is never included from a header; the SQLite handles are named
 * here by their struct tags (sqlite3.h typedefs the same tags).
 */
#ifndef PB_STORE_INT_H
#define PB_STORE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/limits.h"
#include "store.h"

struct sqlite3;
struct sqlite3_stmt;

/* Slots of the statement cache (open addressing; ~100 statements used). */
#define STORE_STMT_SLOTS 256
/* Cached statements handed out at once (nesting through callbacks). */
#define STORE_STMT_INUSE 32

struct store_stmt_slot {
	const void *key; /* the static SQL text, or another static address */
	struct sqlite3_stmt *stmt;
	int in_use; /* handed out and not yet given back */
};

struct store {
	struct sqlite3 *db;
	char *path;
	int readonly;
	/* Transaction nesting: 0 = autocommit; 1 = BEGIN; >1 = SAVEPOINTs. */
	int depth;
	/* SQLite rolled the whole transaction back on its own (I/O error,
	 * full disk): every statement is refused until depth is back at 0. */
	int tx_broken;
	/* store_data_version: a counter bumped whenever PRAGMA data_version
	 * (other connections) or total_changes (this one) moved. */
	uint64_t dv_counter;
	int64_t dv_pragma;
	int dv_changes;
	struct store_stmt_slot cache[STORE_STMT_SLOTS];
	struct store_stmt_slot *inuse[STORE_STMT_INUSE];
	size_t ninuse;
	/* BEGIN, BEGIN IMMEDIATE, COMMIT, ROLLBACK, SAVEPOINT, RELEASE,
	 * ROLLBACK TO: prepared once (see store.c tx_sql). */
	struct sqlite3_stmt *tx_stmts[7];
	/* Statements prepared because the cached one was in use (reentrant
	 * calls from a callback); finalized by store_stmt_done. */
	struct sqlite3_stmt **transient;
	size_t ntransient, transient_size;
	/* store_folder_uids' last answer (store_folder.c), valid while
	 * store_data_version gives uids_dv. */
	int uids_valid;
	int64_t uids_folder;
	uint64_t uids_dv, uids_modseq;
	uint32_t *uids;
	size_t nuids;
	char err[512];
};

/* ---- errors (store.c) ---- */

/* Sets the last error text and returns -err. */
int store_fail(struct store *st, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Maps the connection's last SQLite error onto a store error (BUSY,
 * TOOBIG, NOPERM for read-only, INTERNAL (logged) otherwise), sets the
 * text "<what>: <sqlite message>" and returns -err. */
int store_sqlfail(struct store *st, const char *what);

/* ---- statements (store.c) ---- */

/*
 * A prepared statement for sql (a string with static storage: the cache
 * is keyed by its address), reset and ready to bind; NULL on error (the
 * error is set). Give it back with store_stmt_done. When the cached one is
 * already in use (a callback re-entering the store), a transient statement
 * is prepared instead. store_stmt_key caches dynamically built SQL under a
 * static key address.
 */
struct sqlite3_stmt *store_stmt(struct store *st, const char *sql);
struct sqlite3_stmt *store_stmt_key(struct store *st, const void *key,
                                    const char *sql);
void store_stmt_done(struct store *st, struct sqlite3_stmt *stmt);
/* Runs one static statement without parameters to completion. */
int store_exec(struct store *st, const char *sql);
/* Steps once: SQLITE_ROW or SQLITE_DONE, or <0 (error set, named by what). */
int store_step(struct store *st, struct sqlite3_stmt *s, const char *what);

/* ---- transactions (store.c) ---- */

/*
 * Opens a (write: BEGIN IMMEDIATE, else BEGIN) transaction, or a SAVEPOINT
 * inside an open one, so every API call is atomic whether or not the
 * caller wrapped it in store_begin. Each begin is paired with one commit or
 * rollback. Rollback keeps the last error text.
 */
int store_tx_begin(struct store *st, int write);
int store_tx_commit(struct store *st);
int store_tx_rollback(struct store *st);
/* Commits when rc >= 0, else rolls back; returns rc (or the commit's
 * failure). */
int store_tx_end(struct store *st, int rc);

/* ---- schema (store_schema.c) ---- */

/* Creates or migrates the schema; *error_r a sentence on failure. */
int store_schema_setup(struct store *st, int create, const char **error_r);

/* ---- settings helpers (store.c) ---- */

/* Next UIDVALIDITY: max(now, last + 1), remembered in "last_uidvalidity". */
int store_next_uidvalidity(struct store *st, uint32_t *v_r);

/* ---- appending inside a caller's transaction (store_msg.c) ---- */

/*
 * store_msg_append in two steps, for callers that store a message together
 * with other rows in one transaction (store_pop3_deliver). prepare checks
 * *a (INVALID, TOOBIG, keywords) and parses it (msg_derive, the slow part:
 * do it before the transaction, so the write lock is held briefly).
 * append_locked stores it inside the caller's open write transaction
 * (INVALID when none is open) and on failure leaves the rollback to the
 * caller; a and prep must be the same message. prep_free is NULL-safe.
 */
struct store_msg_prep;
int store_msg_prepare(struct store *st, const struct store_append *a,
                      struct store_msg_prep **prep_r);
int store_msg_append_locked(struct store *st, int64_t folder_id,
                            const struct store_append *a,
                            struct store_msg_prep *prep, uint32_t *uid_r,
                            uint32_t *uidvalidity_r);
void store_msg_prep_free(struct store_msg_prep **prep);

/* ---- folders (store_folder.c), keywords (store_keyword.c) ---- */

/* What a message-changing call needs of its folder. */
struct store_folder_row {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	int noselect;
};
/* NOTFOUND for no such folder or a \Noselect one (when selectable). */
int store_folder_row_get(struct store *st, int64_t id, int selectable,
                         struct store_folder_row *r_r);
/* Writes back uidnext and highestmodseq. */
int store_folder_row_put(struct store *st, const struct store_folder_row *r);

/* 1 when s (len bytes) is strict UTF-8 (no overlongs, no surrogates). */
int store_utf8_valid(const char *s, size_t len);

/*
 * Checks and normalises a folder name (INBOX case, UTF-8, no empty
 * component, no '*' '%' or controls, FOLDER_NAME_MAX, FOLDER_DEPTH_MAX)
 * into out (FOLDER_NAME_MAX + 1 bytes). -STORE_ERR_INVALID with the reason.
 */
int store_folder_name_norm(struct store *st, const char *name, char *out);

/* A set of keywords, normalised (atom chars, deduplicated ASCII
 * case-insensitively, order of first use, canonical folder spelling). */
struct store_kwset {
	size_t n;
	char *kw[KEYWORDS_PER_FOLDER_MAX];
};
void store_kwset_clear(struct store_kwset *k);
/* Parses a space-separated list; INVALID for a bad keyword, LIMIT past
 * KEYWORDS_PER_FOLDER_MAX. NULL or "" gives an empty set. */
int store_kwset_parse(struct store *st, const char *s, struct store_kwset *k);
/* Rewrites k to the folder's spelling of each keyword, registering the
 * new ones with the folder (LIMIT past KEYWORDS_PER_FOLDER_MAX) when
 * register_new, else dropping the unknown ones. */
int store_kwset_canon(struct store *st, int64_t folder_id,
                      struct store_kwset *k, int register_new);
/* Index of kw in k (ASCII case-insensitive), or -1. */
int store_kwset_find(const struct store_kwset *k, const char *kw, size_t len);

#endif
