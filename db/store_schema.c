/*
 * db/store_schema.c: the store's schema and its migrations, keyed on
 * PRAGMA user_version (Dovecot driver-sqlite.c). Version N+1 is one more
 * function in migrations[]; a store written by a newer popbridge (a
 * user_version above STORE_SCHEMA_VERSION) is refused, never touched.
 * PRAGMA application_id marks the file as a popbridge store.
 *
 * Schema, version 2 (version 1 plus accounts and pop3_uidls):
 *
 * settings(key PK, value)           small key/value config; also
 *                                   "last_uidvalidity", "user", "password"
 * folders(id, name UNIQUE, uidvalidity, uidnext, highestmodseq,
 *         first_recent_uid, special, noselect)
 *     name: normalised UTF-8 with '/' ("INBOX" always upper case).
 *     uidvalidity: time(NULL), strictly increasing across all folders
 *     ever made (setting "last_uidvalidity"); a new one on create, on
 *     re-create of a \Noselect folder and on rename.
 *     highestmodseq: starts at 1. Every store API call that changes
 *     messages of a folder (append, flags, copy/move, expunge) takes ONE
 *     new modseq, highestmodseq + 1, for that folder and stamps every
 *     message it changed with it (RFC 7162 allows messages changed by one
 *     command to share a modseq). Messages whose flags do not actually
 *     change keep theirs, and a call that changes nothing takes none.
 *     first_recent_uid: UIDs >= it are \Recent for the next SELECT.
 *     noselect: 1 for a parent kept only for its children (RFC 3501
 *     DELETE); every folder's parent exists, and a \Noselect folder
 *     left without children is removed.
 *     Subscription is not a column: it is a row in subscriptions.
 * subscriptions(name PK)            LSUB names; may name no folder
 * keywords(id, folder_id, name COLLATE NOCASE, UNIQUE(folder_id, name))
 *     keywords ever used in the folder, in order of first use (id); at
 *     most KEYWORDS_PER_FOLDER_MAX; their spelling is the canonical one.
 * messages(id, folder_id -> folders CASCADE, uid, modseq, flags,
 *          keywords, internaldate, internaldate_tz, size, blob_id,
 *          saved_at: unix time it came into this folder (append, copy,
 *          move), for Trash/Junk retention)
 *     UNIQUE(folder_id, uid) serves UID ranges ("uid BETWEEN ? AND ?");
 *     index (folder_id, modseq) serves CHANGEDSINCE; index (blob_id)
 *     serves the blob reference check; the partial index (folder_id,
 *     uid) WHERE (flags & 1) = 0 finds the first unseen message (SELECT's
 *     [UNSEEN n]) without a scan. flags: STORE_FLAG_* bits.
 *     keywords: space-separated, canonical spelling, "" for none.
 * blobs(id, size, header_len, date_sent, envelope, body, bodystructure,
 *       partmap, search_hdr)
 *     what msg_derive() computed, once per message text. Copies share it.
 * blob_raw(id = blobs.id, raw)      the message bytes, exact
 * blob_text(id = blobs.id, text)    decoded text for SEARCH BODY/TEXT
 * blob_addr(id = blobs.id, addr)    the From/To/Cc/Bcc/Subject lines of
 *                                   search_hdr, for SEARCH FROM/TO/...
 *     The raw bytes and search text live in their own tables so that
 *     reading ENVELOPE/BODYSTRUCTURE never walks a 15 KB overflow chain;
 *     blob_addr's rows are small (a few hundred bytes), so a SEARCH FROM
 *     scans a few MB instead of every header.
 *     A trigger deletes the four rows when the last message referring
 *     to them goes (expunge, folder delete), so no refcount is kept.
 * expunged(folder_id, uid, modseq, PK(folder_id, uid)), index (folder_id,
 *          modseq): every expunged UID with the modseq of its expunge
 *     (QRESYNC VANISHED, other sessions); cleared when the folder gets a
 *     new UIDVALIDITY, gone with the folder.
 * devices(id, name UNIQUE, hash, tag, created, last_used): per-device
 *     IMAP passwords (store_auth.c).
 * imports(folder_id, digest, PK(folder_id, digest)): messages imported
 *     before, so `popbridge import` can be re-run without duplicates.
 *
 * Version 2 (migrate_to_2, POP3 accounts: store_acct.c):
 *
 * accounts(id AUTOINCREMENT, name UNIQUE, host, port, tls,
 *          allow_plaintext, user, password_sealed, folder, poll_interval,
 *          keep, keep_days, ca_file, fingerprint, created, last_attempt,
 *          last_success, last_error, failures, auth_failed, next_due,
 *          fetched, deleted, skipped, on_server, skipped_now,
 *          lease_owner, lease_until)
 *     settings as in struct store_acct (tls, keep: the enums' values;
 *     password_sealed: secret_seal() text, never the password; folder: a
 *     normalised folder name, not a reference, as the folder may go and
 *     come back), then the poller's status and totals, then the poll
 *     lease: free when lease_owner is NULL or lease_until <= now, taken
 *     by one UPDATE whose WHERE names the holders it may replace, so two
 *     processes cannot both win it. Ids are never reused: a poller still
 *     holding the id of a removed account gets NOTFOUND.
 * pop3_uidls(account_id -> accounts CASCADE, uidl, state, first_fetched,
 *            size, PK(account_id, uidl))
 *     every UIDL (case-sensitive, BINARY) the account has stored (state
 *     1) or skipped as too big (state 2), with the size the server gave;
 *     a row is inserted in the same transaction as its message, so a
 *     message is stored once, and goes when the server no longer lists it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_APPLICATION_ID 0x50427231 /* "PBr1" */

static int migrate_to_1(struct store *st);
static int migrate_to_2(struct store *st);

/* migrations[v] brings a store from version v - 1 to v. */
static int (*const migrations[])(struct store *) = {
        NULL,
        migrate_to_1,
        migrate_to_2,
};

int
store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

static int
exec_script(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = store_sqlfail(st, "schema");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static int
pragma_int(struct store *st, const char *sql, int64_t *v_r)
{
	sqlite3_stmt *s = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_sqlfail(st, sql);
	if (sqlite3_step(s) == SQLITE_ROW)
		*v_r = sqlite3_column_int64(s, 0);
	else
		rc = store_sqlfail(st, sql);
	sqlite3_finalize(s);
	return rc;
}

static int
migrate_to_1(struct store *st)
{
	static const char schema[] =
	        "CREATE TABLE settings("
	        " key TEXT PRIMARY KEY NOT NULL,"
	        " value TEXT NOT NULL) WITHOUT ROWID;"
	        "CREATE TABLE folders("
	        " id INTEGER PRIMARY KEY,"
	        " name TEXT NOT NULL UNIQUE,"
	        " uidvalidity INTEGER NOT NULL,"
	        " uidnext INTEGER NOT NULL DEFAULT 1,"
	        " highestmodseq INTEGER NOT NULL DEFAULT 1,"
	        " first_recent_uid INTEGER NOT NULL DEFAULT 1,"
	        " special INTEGER NOT NULL DEFAULT 0,"
	        " noselect INTEGER NOT NULL DEFAULT 0);"
	        "CREATE TABLE subscriptions("
	        " name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;"
	        "CREATE TABLE keywords("
	        " id INTEGER PRIMARY KEY,"
	        " folder_id INTEGER NOT NULL"
	        "  REFERENCES folders(id) ON DELETE CASCADE,"
	        " name TEXT NOT NULL COLLATE NOCASE,"
	        " UNIQUE(folder_id, name));"
	        "CREATE TABLE blobs("
	        " id INTEGER PRIMARY KEY,"
	        " size INTEGER NOT NULL,"
	        " header_len INTEGER NOT NULL,"
	        " date_sent INTEGER NOT NULL,"
	        " envelope TEXT NOT NULL,"
	        " body TEXT NOT NULL,"
	        " bodystructure TEXT NOT NULL,"
	        " partmap BLOB,"
	        " search_hdr BLOB);"
	        "CREATE TABLE blob_raw("
	        " id INTEGER PRIMARY KEY,"
	        " raw BLOB NOT NULL);"
	        "CREATE TABLE blob_text("
	        " id INTEGER PRIMARY KEY,"
	        " text BLOB NOT NULL);"
	        "CREATE TABLE blob_addr("
	        " id INTEGER PRIMARY KEY,"
	        " addr BLOB NOT NULL);"
	        "CREATE TABLE messages("
	        " id INTEGER PRIMARY KEY,"
	        " folder_id INTEGER NOT NULL"
	        "  REFERENCES folders(id) ON DELETE CASCADE,"
	        " uid INTEGER NOT NULL,"
	        " modseq INTEGER NOT NULL,"
	        " flags INTEGER NOT NULL DEFAULT 0,"
	        " keywords TEXT NOT NULL DEFAULT '',"
	        " internaldate INTEGER NOT NULL,"
	        " internaldate_tz INTEGER NOT NULL DEFAULT 0,"
	        " size INTEGER NOT NULL,"
	        " blob_id INTEGER NOT NULL REFERENCES blobs(id),"
	        " saved_at INTEGER NOT NULL DEFAULT 0,"
	        " UNIQUE(folder_id, uid));"
	        "CREATE INDEX messages_modseq ON messages(folder_id, modseq);"
	        "CREATE INDEX messages_blob ON messages(blob_id);"
	        /* The WHERE must stay word for word the one of
	         * store_folder_first_unseen's query. */
	        "CREATE INDEX messages_unseen ON messages(folder_id, uid)"
	        " WHERE (flags & 1) = 0;"
	        "CREATE TRIGGER messages_blob_unref AFTER DELETE ON messages"
	        " WHEN NOT EXISTS"
	        "  (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)"
	        " BEGIN"
	        "  DELETE FROM blobs WHERE id = OLD.blob_id;"
	        "  DELETE FROM blob_raw WHERE id = OLD.blob_id;"
	        "  DELETE FROM blob_text WHERE id = OLD.blob_id;"
	        "  DELETE FROM blob_addr WHERE id = OLD.blob_id;"
	        " END;"
	        "CREATE TABLE expunged("
	        " folder_id INTEGER NOT NULL"
	        "  REFERENCES folders(id) ON DELETE CASCADE,"
	        " uid INTEGER NOT NULL,"
	        " modseq INTEGER NOT NULL,"
	        " PRIMARY KEY(folder_id, uid)) WITHOUT ROWID;"
	        "CREATE INDEX expunged_modseq ON expunged(folder_id, modseq);"
	        "CREATE TABLE devices("
	        " id INTEGER PRIMARY KEY,"
	        " name TEXT NOT NULL UNIQUE,"
	        " hash TEXT NOT NULL,"
	        " tag BLOB NOT NULL,"
	        " created INTEGER NOT NULL,"
	        " last_used INTEGER NOT NULL DEFAULT 0);"
	        "CREATE TABLE imports("
	        " folder_id INTEGER NOT NULL"
	        "  REFERENCES folders(id) ON DELETE CASCADE,"
	        " digest BLOB NOT NULL,"
	        " PRIMARY KEY(folder_id, digest)) WITHOUT ROWID;"
	        "INSERT INTO subscriptions(name) VALUES('INBOX');";
	sqlite3_stmt *s;
	uint32_t uidvalidity;
	int rc;

	if ((rc = exec_script(st, schema)) < 0)
		return rc;
	/* INBOX always exists (RFC 3501 5.1). */
	if ((rc = store_next_uidvalidity(st, &uidvalidity)) < 0)
		return rc;
	s = store_stmt(st, "INSERT INTO folders(name, uidvalidity)"
	                   " VALUES('INBOX', ?1)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, uidvalidity);
	rc = store_step(st, s, "create INBOX");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

/* IF NOT EXISTS: a version 2 file whose user_version was set back by hand
 * opens again instead of failing on the tables it has. */
static int
migrate_to_2(struct store *st)
{
	static const char schema[] =
	        "CREATE TABLE IF NOT EXISTS accounts("
	        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	        " name TEXT NOT NULL UNIQUE,"
	        " host TEXT NOT NULL,"
	        " port INTEGER NOT NULL,"
	        " tls INTEGER NOT NULL,"
	        " allow_plaintext INTEGER NOT NULL DEFAULT 0,"
	        " user TEXT NOT NULL,"
	        " password_sealed TEXT NOT NULL,"
	        " folder TEXT NOT NULL,"
	        " poll_interval INTEGER NOT NULL,"
	        " keep INTEGER NOT NULL,"
	        " keep_days INTEGER NOT NULL DEFAULT 0,"
	        " ca_file TEXT,"
	        " fingerprint TEXT,"
	        " created INTEGER NOT NULL,"
	        " last_attempt INTEGER NOT NULL DEFAULT 0,"
	        " last_success INTEGER NOT NULL DEFAULT 0,"
	        " last_error TEXT,"
	        " failures INTEGER NOT NULL DEFAULT 0,"
	        " auth_failed INTEGER NOT NULL DEFAULT 0,"
	        " next_due INTEGER NOT NULL DEFAULT 0,"
	        " fetched INTEGER NOT NULL DEFAULT 0,"
	        " deleted INTEGER NOT NULL DEFAULT 0,"
	        " skipped INTEGER NOT NULL DEFAULT 0,"
	        " on_server INTEGER NOT NULL DEFAULT 0,"
	        " skipped_now INTEGER NOT NULL DEFAULT 0,"
	        " lease_owner TEXT,"
	        " lease_until INTEGER NOT NULL DEFAULT 0);"
	        "CREATE TABLE IF NOT EXISTS pop3_uidls("
	        " account_id INTEGER NOT NULL"
	        "  REFERENCES accounts(id) ON DELETE CASCADE,"
	        " uidl TEXT NOT NULL,"
	        " state INTEGER NOT NULL,"
	        " first_fetched INTEGER NOT NULL,"
	        " size INTEGER NOT NULL,"
	        " PRIMARY KEY(account_id, uidl)) WITHOUT ROWID;";

	return exec_script(st, schema);
}

static _Thread_local char schema_err[600];

static int
schema_fail(struct store *st, const char **error_r, int rc, const char *what)
{
	snprintf(schema_err, sizeof schema_err, "store %s: %s", st->path, what);
	if (error_r != NULL)
		*error_r = schema_err;
	return rc < 0 ? rc : -rc;
}

static int
schema_check(struct store *st, int64_t app, int64_t version, int64_t ntables,
             const char **error_r)
{
	char msg[200];

	if (app != 0 && app != STORE_APPLICATION_ID)
		return schema_fail(st, error_r, STORE_ERR_INVALID,
		                   "not a popbridge store");
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(msg, sizeof msg,
		         "schema version %lld is newer than this popbridge "
		         "supports (%d); run a newer popbridge",
		         (long long)version, STORE_SCHEMA_VERSION);
		return schema_fail(st, error_r, STORE_ERR_INVALID, msg);
	}
	if (version == 0 && ntables > 0)
		return schema_fail(st, error_r, STORE_ERR_INVALID,
		                   "not a popbridge store");
	return 0;
}

int
store_schema_setup(struct store *st, int create, const char **error_r)
{
	int64_t version = 0, app = 0, ntables = 0, v;
	char sql[64];
	int rc;

	if ((rc = pragma_int(st, "PRAGMA application_id", &app)) < 0 ||
	    (rc = pragma_int(st, "PRAGMA user_version", &version)) < 0 ||
	    (rc = pragma_int(st, "SELECT count(*) FROM sqlite_master",
	                     &ntables)) < 0)
		return schema_fail(st, error_r, rc, st->err);
	if ((rc = schema_check(st, app, version, ntables, error_r)) < 0)
		return rc;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version == 0 && !create)
		return schema_fail(st, error_r, STORE_ERR_NOTFOUND,
		                   "not initialised (run popbridge init)");
	if (st->readonly)
		return schema_fail(
		        st, error_r, STORE_ERR_NOPERM,
		        "needs a schema upgrade; open it read-write");

	if ((rc = store_tx_begin(st, 1)) < 0)
		return schema_fail(st, error_r, rc, st->err);
	/* Another process may have done it while we waited for the lock. */
	if ((rc = pragma_int(st, "PRAGMA application_id", &app)) < 0 ||
	    (rc = pragma_int(st, "PRAGMA user_version", &version)) < 0 ||
	    (rc = pragma_int(st, "SELECT count(*) FROM sqlite_master",
	                     &ntables)) < 0) {
		store_tx_rollback(st);
		return schema_fail(st, error_r, rc, st->err);
	}
	if ((rc = schema_check(st, app, version, ntables, error_r)) < 0) {
		store_tx_rollback(st);
		return rc;
	}
	for (v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		if ((rc = migrations[v](st)) < 0)
			break;
		/* Integers only: PRAGMA arguments cannot be bound. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", (int)v);
		if ((rc = exec_script(st, sql)) < 0)
			break;
	}
	if (rc >= 0) {
		snprintf(sql, sizeof sql, "PRAGMA application_id = %d",
		         STORE_APPLICATION_ID);
		rc = exec_script(st, sql);
	}
	if ((rc = store_tx_end(st, rc)) < 0)
		return schema_fail(st, error_r, rc, st->err);
	return 0;
}
