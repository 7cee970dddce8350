/*
 * db/store.h: the store API. The only way bridge/ and web/ reach the data:
 * folders, messages, flags, modseqs, raw bytes, settings, identity. No SQL
 * outside db/; only db/ includes sqlite3.h.
 *
 * Conventions:
 *   - Functions return 0 on success or a negative enum store_err
 *     (-STORE_ERR_NOTFOUND, ...). store_strerror() names it; the detail of
 *     the last failure is in store_last_error(st) (valid until the next call).
 *   - Strings returned through *_r pointers are heap copies the caller frees
 *     (the *_free helpers free the structs). Folder names are UTF-8 with '/'
 *     as the hierarchy delimiter; "INBOX" is matched case-insensitively and
 *     always stored as "INBOX".
 *   - Every change to a message bumps the folder's HIGHESTMODSEQ and stamps
 *     the message with the new MODSEQ in the same transaction. Expunges are
 *     remembered with their MODSEQ (for QRESYNC VANISHED and for sessions
 *     that must be told).
 *   - Calls that change data run in their own transaction unless the caller
 *     wrapped several in store_begin()/store_commit().
 *   - One struct store per process/thread; not thread-safe.
 */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ERR_NOTFOUND = 1,	 /* no such folder / message / device */
	STORE_ERR_EXISTS = 2,	 /* folder or device already exists */
	STORE_ERR_INVALID = 3,	 /* bad name or argument */
	STORE_ERR_TOOBIG = 4,	 /* message over the limit */
	STORE_ERR_LIMIT = 5,	 /* a count limit (keywords, depth) reached */
	STORE_ERR_NOPERM = 6,	 /* e.g. deleting INBOX */
	STORE_ERR_BUSY = 7,	 /* database locked past the busy timeout */
	STORE_ERR_INTERNAL = 8,	 /* I/O or SQLite failure; logged */
	STORE_ERR_HASCHILDREN = 9, /* delete of a \Noselect parent that has children */
};

const char *store_strerror(int err);
const char *store_last_error(struct store *st);

/* System flags (bits). \Recent is per session, never stored. */
#define STORE_FLAG_SEEN 0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED 0x04u
#define STORE_FLAG_DELETED 0x08u
#define STORE_FLAG_DRAFT 0x10u
#define STORE_FLAGS_ALL 0x1fu

/* ---- opening ---- */

#define STORE_OPEN_CREATE 0x01 /* create the file and schema when absent */
#define STORE_OPEN_READONLY 0x02

/*
 * Opens DB file path (WAL, synchronous=FULL, foreign keys, busy timeout,
 * migrations by PRAGMA user_version). On failure returns <0 and sets
 * *error_r to a static or thread-local sentence.
 */
int store_open(const char *path, int flags, struct store **st_r,
	       const char **error_r);
void store_close(struct store **st);

/* Schema version this binary writes (PRAGMA user_version). */
int store_schema_version(void);

/* Changes when any connection (this process or another) commits. */
int store_data_version(struct store *st, uint64_t *version_r);

int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* Online backup to a new file (SQLite backup API). */
int store_backup(struct store *st, const char *dest_path);

/* ---- settings (key/value, for small config the CLI/web change) ---- */

/* Keys used: "user", "password" (hash), "trash_days", "junk_days",
 * "setup_token". *value_r NULL-able result; NOTFOUND when unset. */
int store_setting_get(struct store *st, const char *key, char **value_r);
int store_setting_set(struct store *st, const char *key, const char *value);
int store_setting_del(struct store *st, const char *key);

/* ---- identity (db/store_auth.c; scrypt hashes via OpenSSL) ---- */

/* Sets the one login name (init). */
int store_user_set(struct store *st, const char *name);
int store_user_get(struct store *st, char **name_r);
/* Hashes and stores the main password. */
int store_password_set(struct store *st, const char *password);
int store_password_is_set(struct store *st);
/*
 * Checks a login. Returns 0 when user matches and the password is the main
 * password or a device password; *device_r (may be NULL) gets the device's
 * name or NULL for the main password. Updates the device's last_used.
 * Returns -STORE_ERR_NOTFOUND when the login fails.
 */
int store_auth_check(struct store *st, const char *user, const char *password,
		     char **device_r);

struct store_device {
	char *name;
	int64_t created;   /* unix time */
	int64_t last_used; /* unix time, 0 = never */
};
/* Makes a device with a fresh random password (returned once, caller frees). */
int store_device_add(struct store *st, const char *name, char **password_r);
int store_device_remove(struct store *st, const char *name);
int store_device_list(struct store *st, struct store_device **list_r,
		      size_t *n_r);
void store_device_list_free(struct store_device *list, size_t n);

/* ---- folders ---- */

enum store_special {
	STORE_SPECIAL_NONE = 0,
	STORE_SPECIAL_SENT,
	STORE_SPECIAL_DRAFTS,
	STORE_SPECIAL_TRASH,
	STORE_SPECIAL_JUNK,
	STORE_SPECIAL_ARCHIVE,
};
/* "\\Sent" ...; NULL for NONE. */
const char *store_special_name(enum store_special sp);

struct store_folder {
	int64_t id;
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	enum store_special special;
	int subscribed;
	int noselect; /* a parent kept only for its children */
};

/* All folders, sorted by name (INBOX first). */
int store_folder_list(struct store *st, struct store_folder **list_r,
		      size_t *n_r);
void store_folder_list_free(struct store_folder *list, size_t n);
void store_folder_clear(struct store_folder *f);
int store_folder_get(struct store *st, const char *name,
		     struct store_folder *f_r);
int store_folder_get_by_id(struct store *st, int64_t id,
			   struct store_folder *f_r);
/*
 * Creates a folder (and any missing parents, as plain folders). EXISTS if
 * it exists (and is selectable); INVALID for an empty name, empty
 * component, or a name over FOLDER_NAME_MAX / FOLDER_DEPTH_MAX.
 */
int store_folder_create(struct store *st, const char *name,
			enum store_special special, int64_t *id_r);
/*
 * Deletes a folder and its messages. INBOX: NOPERM. A folder with
 * children becomes \Noselect (its messages go) rather than vanishing,
 * as RFC 3501 says; deleting a \Noselect folder with children:
 * HASCHILDREN.
 */
int store_folder_delete(struct store *st, const char *name);
/*
 * Renames a folder and every folder below it. Renaming INBOX moves its
 * messages to the new folder and leaves INBOX empty (RFC 3501). The new
 * folder gets a new UIDVALIDITY.
 */
int store_folder_rename(struct store *st, const char *from, const char *to);
int store_folder_subscribe(struct store *st, const char *name, int on);
/*
 * The folder name as a selectable folder: found, or created (a \Noselect
 * parent made selectable again) and subscribed. *id_r (may be NULL) gets
 * its id. For a POP3 account's target folder.
 */
int store_folder_ensure(struct store *st, const char *name, int64_t *id_r);
/* Subscribed names, including ones without a folder (RFC 3501 LSUB). */
int store_subscriptions(struct store *st, char ***names_r, size_t *n_r);

struct store_folder_status {
	uint32_t messages;
	uint32_t recent; /* UIDs >= the folder's first-recent mark */
	uint32_t unseen;
	uint32_t deleted;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint64_t size; /* sum of RFC822.SIZE */
};
int store_folder_status(struct store *st, int64_t folder_id,
			struct store_folder_status *s_r);
/*
 * For SELECT (not EXAMINE): returns the first UID that is \Recent for this
 * session and moves the folder's mark to UIDNEXT so no later session sees
 * them as recent.
 */
int store_folder_claim_recent(struct store *st, int64_t folder_id,
			      uint32_t *first_recent_r);
/*
 * The lowest UID of the folder without \Seen in *uid_r, 0 when every
 * message is seen (or there are none). An index lookup, not a scan: for
 * SELECT's [UNSEEN n].
 */
int store_folder_first_unseen(struct store *st, int64_t folder_id,
			      uint32_t *uid_r);
/* Keywords ever used in the folder (for FLAGS / PERMANENTFLAGS). */
int store_folder_keywords(struct store *st, int64_t folder_id,
			  char ***kw_r, size_t *n_r);
void store_strv_free(char **v, size_t n);

/* ---- messages ---- */

struct store_uid_range {
	uint32_t lo, hi; /* inclusive; hi may be UINT32_MAX for '*' */
};

/* The sorted UIDs of a folder with the modseq the list corresponds to. */
int store_folder_uids(struct store *st, int64_t folder_id, uint32_t **uids_r,
		      size_t *n_r, uint64_t *modseq_r);

/* What store_msg_iter loads beyond uid/flags/keywords/modseq. */
#define STORE_WANT_BASIC 0x00u	      /* uid, flags, keywords, modseq */
#define STORE_WANT_META 0x01u	      /* internaldate, size, blob_id, header_len */
#define STORE_WANT_ENVELOPE 0x02u
#define STORE_WANT_BODYSTRUCTURE 0x04u /* and body */
#define STORE_WANT_PARTMAP 0x08u
#define STORE_WANT_SEARCH_HDR 0x10u
#define STORE_WANT_SEARCH_TEXT 0x20u
/* The From/To/Cc/Bcc/Subject lines of search_hdr only (search_addr). */
#define STORE_WANT_SEARCH_ADDR 0x40u

struct store_msg {
	uint32_t uid;
	uint32_t flags;	      /* STORE_FLAG_* */
	const char *keywords; /* space-separated, "" when none */
	uint64_t modseq;
	/* STORE_WANT_META */
	int64_t internaldate; /* unix time */
	int internaldate_tz;  /* minutes east of UTC */
	uint64_t size;
	int64_t blob_id;
	uint64_t header_len; /* top-level header incl. the blank line */
	int64_t date_sent;   /* Date: header, unix time, -1 if none */
	/* STORE_WANT_ENVELOPE / BODYSTRUCTURE (IMAP syntax, ready to send) */
	const char *envelope;
	const char *bodystructure;
	const char *body;
	/* STORE_WANT_PARTMAP (db/mime.h mime_partmap_find) */
	const unsigned char *partmap;
	size_t partmap_len;
	/* STORE_WANT_SEARCH_HDR: unfolded, decoded "Name: value\n" lines */
	const char *search_hdr;
	size_t search_hdr_len;
	/* STORE_WANT_SEARCH_TEXT: decoded text of the text parts, UTF-8 */
	const char *search_text;
	size_t search_text_len;
	/* STORE_WANT_SEARCH_ADDR: the "From:", "To:", "Cc:", "Bcc:" and
	 * "Subject:" lines of search_hdr, the same unfolded, decoded
	 * "Name: value\n" lines in header order (names spelt as in the
	 * message), "" when the message has none. Much shorter than
	 * search_hdr: SEARCH FROM/TO/CC/BCC/SUBJECT should use it. */
	const char *search_addr;
	size_t search_addr_len;
};

/*
 * Calls cb for each message of the folder whose UID falls in one of the
 * ranges (sorted ascending, non-overlapping; NULL/0 = all), in UID order.
 * The pointers in *m are valid only during the callback. cb returns 0 to go
 * on, or anything else to stop (store_msg_iter then returns that value).
 */
typedef int (*store_msg_cb)(const struct store_msg *m, void *ctx);
int store_msg_iter(struct store *st, int64_t folder_id,
		   const struct store_uid_range *ranges, size_t nranges,
		   unsigned want, store_msg_cb cb, void *ctx);

/* Reads len bytes at off of a raw message (clipped at its end). */
int store_blob_read(struct store *st, int64_t blob_id, uint64_t off,
		    uint64_t len, char *dst, uint64_t *got_r);

struct store_append {
	const char *raw; /* the message, byte-exact */
	size_t len;
	uint32_t flags;
	const char *keywords; /* space-separated or NULL */
	int64_t internaldate; /* 0 = now */
	int internaldate_tz;
};
/*
 * Parses (msg_derive) and stores one message. *uid_r and *uidvalidity_r
 * (either may be NULL) get what it was stored as (UIDPLUS APPENDUID).
 */
int store_msg_append(struct store *st, int64_t folder_id,
		     const struct store_append *a, uint32_t *uid_r,
		     uint32_t *uidvalidity_r);

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_DEL };
/* Called for each message whose flags changed, after the change. */
typedef void (*store_flag_cb)(uint32_t uid, uint32_t flags,
			      const char *keywords, uint64_t modseq, void *ctx);
/*
 * Changes flags of messages in the ranges. unchangedsince (CONDSTORE;
 * 0 = none): messages whose modseq is above it are not changed and their
 * UIDs go to *failed_r (malloc'd, may be NULL when none).
 */
int store_msg_set_flags(struct store *st, int64_t folder_id,
			const struct store_uid_range *ranges, size_t nranges,
			enum store_flag_op op, uint32_t flags,
			const char *keywords, uint64_t unchangedsince,
			store_flag_cb cb, void *ctx, uint32_t **failed_r,
			size_t *nfailed_r);

/*
 * Copies (or moves) the messages in the ranges to dst. *src_uids_r and
 * *dst_uids_r (malloc'd, same length *n_r) pair old and new UIDs, for
 * COPYUID. A move expunges the sources in the same transaction.
 */
int store_msg_copy(struct store *st, int64_t src_folder,
		   const struct store_uid_range *ranges, size_t nranges,
		   int64_t dst_folder, int move, uint32_t **src_uids_r,
		   uint32_t **dst_uids_r, size_t *n_r,
		   uint32_t *dst_uidvalidity_r);

/*
 * Expunges messages flagged \Deleted (limited to the ranges when given,
 * for UID EXPUNGE). *uids_r (malloc'd, ascending) lists what went.
 */
int store_msg_expunge(struct store *st, int64_t folder_id,
		      const struct store_uid_range *ranges, size_t nranges,
		      uint32_t **uids_r, size_t *n_r);

/* Expunges messages that came into the folder (append, copy or move)
 * before cutoff, unix time (retention). */
int store_msg_expunge_older(struct store *st, int64_t folder_id,
			    int64_t cutoff, size_t *n_r);

/* ---- changes (for other sessions and processes; QRESYNC) ---- */

struct store_change {
	uint32_t uid;
	uint32_t flags;
	char *keywords;
	uint64_t modseq;
};
/* Messages (present now) whose modseq > since, ascending by UID. */
int store_changes_since(struct store *st, int64_t folder_id, uint64_t since,
			struct store_change **ch_r, size_t *n_r);
void store_changes_free(struct store_change *ch, size_t n);
/* UIDs expunged with modseq > since, ascending. */
int store_expunged_since(struct store *st, int64_t folder_id, uint64_t since,
			 uint32_t **uids_r, size_t *n_r);

/* ---- import bookkeeping (re-run without duplicates) ---- */

/* 1 when this digest was already imported into the folder, else 0. */
int store_import_seen(struct store *st, int64_t folder_id,
		      const unsigned char digest[32]);
int store_import_mark(struct store *st, int64_t folder_id,
		      const unsigned char digest[32]);

/*
 * For the daemon when it goes idle (no command running, e.g. the last
 * client left or a few seconds without input; never inside a
 * transaction): runs a PASSIVE WAL checkpoint (never waits for readers or
 * writers), frees SQLite's unused page cache and drops the pages of the
 * file mapped into this process, so the idle RSS is small again. Costs a
 * few ms; cheap to call again when nothing changed. 0 or <0.
 */
int store_release_memory(struct store *st);

/* ---- POP3 accounts (db/store_acct.c) ----
 *
 * The store keeps each account's settings, its status, the UIDLs it has
 * seen on the server, and a lease so that two pollers (the daemon and
 * `popbridge poll`) never poll one account at once. The POP3 password is
 * kept only sealed (db/secret.h secret_seal output): the store never sees
 * it in the clear and never needs the key.
 */

enum store_acct_tls {
	STORE_ACCT_TLS_IMPLICIT = 0, /* POP3S, port 995 */
	STORE_ACCT_TLS_STARTTLS = 1, /* STLS on port 110 */
	STORE_ACCT_TLS_NONE = 2,     /* only with allow_plaintext */
};
enum store_acct_keep {
	STORE_ACCT_KEEP = 0,	  /* never delete on the server */
	STORE_ACCT_DELETE = 1,	  /* delete once stored durably */
	STORE_ACCT_KEEP_DAYS = 2, /* delete keep_days after first fetch */
};

struct store_acct {
	int64_t id;
	/* settings */
	char *name; /* 1..STORE_ACCT_NAME_MAX of [A-Za-z0-9._@+-] */
	char *host;
	unsigned port;
	enum store_acct_tls tls;
	int allow_plaintext;
	char *user;
	char *password_sealed; /* secret_seal() text; never the password */
	char *folder;	       /* target folder name, "INBOX" by default */
	uint32_t interval;     /* seconds, >= POLL_INTERVAL_MIN */
	enum store_acct_keep keep;
	uint32_t keep_days; /* for STORE_ACCT_KEEP_DAYS, 1..RETENTION_DAYS_MAX */
	char *ca_file;	    /* NULL or an absolute path */
	char *fingerprint;  /* NULL or SHA-256 of the certificate, 64 lower-case hex */
	int64_t created;    /* unix time */
	/* status (the poller writes it with store_acct_set_status) */
	int64_t last_attempt; /* unix time a poll started, 0 = never */
	int64_t last_success; /* unix time a poll last ended well, 0 = never */
	char *last_error;     /* one sentence; NULL when the last poll was fine */
	uint32_t failures;    /* consecutive failed polls (backoff) */
	int auth_failed;      /* the last failure was a refused login */
	int64_t next_due;     /* unix time of the next scheduled poll, 0 = now */
	/* totals, kept by store_pop3_deliver / _skip / store_acct_add_deleted */
	uint64_t fetched;
	uint64_t deleted;
	uint64_t skipped;
	uint32_t on_server;   /* UIDLs known on the server at the last listing */
	uint32_t skipped_now; /* of those, how many are skipped (too big) */
};

/*
 * Adds an account (id, created and status fields of *a are ignored).
 * EXISTS for a name in use; INVALID for a bad name, host, port (1..65535),
 * interval, keep_days, or an empty user/password_sealed/folder.
 */
int store_acct_add(struct store *st, const struct store_acct *a,
		   int64_t *id_r);
/* Changes the settings (not status or totals) of account a->id. */
int store_acct_update(struct store *st, const struct store_acct *a);
int store_acct_get(struct store *st, const char *name,
		   struct store_acct *a_r);
int store_acct_get_by_id(struct store *st, int64_t id,
			 struct store_acct *a_r);
/* All accounts sorted by name. */
int store_acct_list(struct store *st, struct store_acct **list_r,
		    size_t *n_r);
void store_acct_clear(struct store_acct *a);
void store_acct_list_free(struct store_acct *list, size_t n);
/* Removes the account, its UIDLs and lease (messages already stored stay). */
int store_acct_remove(struct store *st, const char *name);

/* The status part of store_acct, as the poller writes it after a poll. */
struct store_acct_status {
	int64_t last_attempt;
	int64_t last_success; /* unchanged when 0 */
	const char *last_error; /* NULL: clears it */
	uint32_t failures;
	int auth_failed;
	int64_t next_due;
};
int store_acct_set_status(struct store *st, int64_t id,
			  const struct store_acct_status *s);
/* Adds n to the account's deleted total (after the server's QUIT +OK). */
int store_acct_add_deleted(struct store *st, int64_t id, uint32_t n);

/*
 * The poll lease. Takes it for owner until `until` (unix time) when it is
 * free, expired at `now`, already owner's, or held by steal_from (non-NULL:
 * an owner the caller knows is dead, e.g. a killed process). Otherwise
 * BUSY, with *holder_r (may be NULL; caller frees) set to the holder.
 * Renewing is taking it again with a later `until`.
 */
int store_acct_lease_take(struct store *st, int64_t id, const char *owner,
			  int64_t now, int64_t until, const char *steal_from,
			  char **holder_r);
/* Releases the lease if owner holds it (else a no-op returning 0). */
int store_acct_lease_release(struct store *st, int64_t id, const char *owner);

/* ---- POP3 UIDLs (exactly once) ---- */

#define STORE_POP3_STORED 1  /* stored in the account's folder */
#define STORE_POP3_SKIPPED 2 /* over the size limit: never fetched */

struct store_pop3_uidl {
	char *uidl;		/* the server's UIDL, or "sha256:<hex>" */
	int state;		/* STORE_POP3_* */
	int64_t first_fetched;	/* unix time stored (or skipped) */
	uint64_t size;		/* octets the server announced */
};
/* Every UIDL the account knows, in no particular order. */
int store_pop3_known(struct store *st, int64_t acct_id,
		     struct store_pop3_uidl **list_r, size_t *n_r);
void store_pop3_known_free(struct store_pop3_uidl *list, size_t n);
/*
 * In ONE transaction (synchronous=FULL: on disk when it returns 0): records
 * uidl as STORED for the account, appends the message to folder_id and adds
 * one to the account's fetched total. EXISTS (nothing stored) when the
 * account already knows uidl, e.g. another poller stored it first. The
 * caller must not have a transaction open.
 */
int store_pop3_deliver(struct store *st, int64_t acct_id, int64_t folder_id,
		       const char *uidl, uint64_t server_size, int64_t now,
		       const struct store_append *a, uint32_t *uid_r);
/* Records uidl as SKIPPED (too big) and adds one to skipped; EXISTS if
 * known. */
int store_pop3_skip(struct store *st, int64_t acct_id, const char *uidl,
		    uint64_t server_size, int64_t now);
/*
 * Forgets the account's UIDLs that are not in present[0..n-1] (the
 * server's whole current listing), and records n and how many of them are
 * SKIPPED as the account's on_server / skipped_now. *forgotten_r (may be
 * NULL) gets how many went.
 */
int store_pop3_forget_absent(struct store *st, int64_t acct_id,
			     const char *const *present, size_t n,
			     size_t *forgotten_r);

/*
 * Sets this connection's SQLite page cache to kib KiB (the default is
 * sized for the IMAP server's reads). A process that mostly writes new
 * messages (`popbridge poll`, `import`) gains nothing from a big cache:
 * every page it writes is new. 0 or <0.
 */
int store_set_cache_kib(struct store *st, unsigned kib);

/* ---- totals for status ---- */
int store_file_size(struct store *st, uint64_t *bytes_r);

#endif
