/*
 * tests/unit/test_store_acct.c: POP3 accounts and UIDLs in the store
 * (db/store_acct.c, schema version 2): add/get/list/update/remove, every
 * validation error, the account limit, status and totals, the poll lease
 * between two handles and between racing processes (expiry, steal_from),
 * exactly-once delivery (EXISTS stores nothing, a failed delivery leaves
 * no UIDL, two processes delivering the same UIDLs), skip, forget_absent
 * (none / some / all present, 100k UIDLs), and the migration of a
 * version 1 store.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/limits.h"
#include "../../db/store.h"
#include "test.h"
#include "test_store.h"

static const char sealed_pw[] = "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
static const char fp_hex[] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* A valid account (strings are static). */
static struct store_acct
acct_make(const char *name)
{
	struct store_acct a;

	memset(&a, 0, sizeof a);
	a.name = (char *)(uintptr_t)name;
	a.host = (char *)(uintptr_t) "pop.example.net";
	a.port = 995;
	a.tls = STORE_ACCT_TLS_IMPLICIT;
	a.user = (char *)(uintptr_t) "joe@example.net";
	a.password_sealed = (char *)(uintptr_t)sealed_pw;
	a.folder = (char *)(uintptr_t) "INBOX";
	a.interval = POLL_INTERVAL_DEFAULT;
	a.keep = STORE_ACCT_KEEP;
	return a;
}

static int64_t
acct_add(struct store *st, const char *name)
{
	struct store_acct a = acct_make(name);
	int64_t id = 0;
	int rc = store_acct_add(st, &a, &id);

	return rc < 0 ? rc : id;
}

/* Rows of a query with one integer result (a raw connection). */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	            SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static struct store_append
msg_of(const char *raw)
{
	struct store_append ap;

	memset(&ap, 0, sizeof ap);
	ap.raw = raw;
	ap.len = strlen(raw);
	return ap;
}

static int
deliver(struct store *st, int64_t acct, int64_t folder, const char *uidl,
        const char *raw, uint32_t *uid_r)
{
	struct store_append ap = msg_of(raw);

	return store_pop3_deliver(st, acct, folder, uidl, ap.len, 1700000000,
	                          &ap, uid_r);
}

/* ---- settings ---- */

static void
test_add_get_list_update_remove(void)
{
	struct store *st = ts_open_new();
	struct store_acct a, g, *list = NULL;
	size_t n = 0;
	int64_t id1, id2, id3, before = (int64_t)time(NULL);

	T_ASSERT(st != NULL);
	T_EQ_INT(store_schema_version(), 2);
	T_EQ_INT(store_acct_list(st, &list, &n), 0);
	T_EQ_INT(n, 0);
	store_acct_list_free(list, n);

	a = acct_make("work");
	a.id = 999;                             /* ignored */
	a.fetched = 5;                          /* ignored */
	a.last_error = (char *)(uintptr_t) "x"; /* ignored */
	a.folder = (char *)(uintptr_t) "inbox"; /* normalised */
	T_EQ_INT(store_acct_add(st, &a, &id1), 0);
	T_ASSERT(id1 > 0);
	a = acct_make("home");
	a.host = (char *)(uintptr_t) "127.0.0.1";
	a.port = 110;
	a.tls = STORE_ACCT_TLS_NONE;
	a.allow_plaintext = 1;
	a.keep = STORE_ACCT_KEEP_DAYS;
	a.keep_days = 7;
	a.folder = (char *)(uintptr_t) "Archive/Home";
	a.ca_file = (char *)(uintptr_t) "/etc/ssl/ca.pem";
	T_EQ_INT(store_acct_add(st, &a, &id2), 0);
	a = acct_make("Alpha.1+x@y-z_");
	a.tls = STORE_ACCT_TLS_STARTTLS;
	a.keep = STORE_ACCT_DELETE;
	a.keep_days = 99; /* ignored unless KEEP_DAYS */
	/* Upper case and colons are accepted and normalised. */
	a.fingerprint = (char *)(uintptr_t) "00:11:22:33:44:55:66:77:88:99:AA:"
	                                    "BB:CC:DD:EE:FF:00:11:22:33:44:55:"
	                                    "66:77:88:99:AA:BB:CC:DD:EE:FF";
	T_EQ_INT(store_acct_add(st, &a, NULL), 0);
	T_EQ_INT(store_acct_get(st, "Alpha.1+x@y-z_", &g), 0);
	id3 = g.id;
	T_EQ_STR(g.fingerprint, fp_hex);
	T_ASSERT(g.ca_file == NULL);
	T_EQ_INT(g.tls, STORE_ACCT_TLS_STARTTLS);
	T_EQ_INT(g.keep, STORE_ACCT_DELETE);
	T_EQ_INT(g.keep_days, 0);
	store_acct_clear(&g);

	T_EQ_INT(store_acct_get(st, "work", &g), 0);
	T_EQ_INT(g.id, id1);
	T_EQ_STR(g.name, "work");
	T_EQ_STR(g.host, "pop.example.net");
	T_EQ_INT(g.port, 995);
	T_EQ_INT(g.tls, STORE_ACCT_TLS_IMPLICIT);
	T_EQ_INT(g.allow_plaintext, 0);
	T_EQ_STR(g.user, "joe@example.net");
	T_EQ_STR(g.password_sealed, sealed_pw);
	T_EQ_STR(g.folder, "INBOX");
	T_EQ_INT(g.interval, POLL_INTERVAL_DEFAULT);
	T_EQ_INT(g.keep, STORE_ACCT_KEEP);
	T_ASSERT(g.ca_file == NULL && g.fingerprint == NULL);
	T_ASSERT(g.created >= before && g.created <= (int64_t)time(NULL));
	T_EQ_INT(g.last_attempt, 0);
	T_EQ_INT(g.last_success, 0);
	T_ASSERT(g.last_error == NULL);
	T_EQ_INT(g.failures, 0);
	T_EQ_INT(g.auth_failed, 0);
	T_EQ_INT(g.next_due, 0);
	T_EQ_INT(g.fetched + g.deleted + g.skipped, 0);
	T_EQ_INT(g.on_server + g.skipped_now, 0);
	store_acct_clear(&g);
	store_acct_clear(&g); /* twice is fine */

	T_EQ_INT(store_acct_get_by_id(st, id2, &g), 0);
	T_EQ_STR(g.name, "home");
	T_EQ_STR(g.host, "127.0.0.1");
	T_EQ_INT(g.port, 110);
	T_EQ_INT(g.tls, STORE_ACCT_TLS_NONE);
	T_EQ_INT(g.allow_plaintext, 1);
	T_EQ_INT(g.keep, STORE_ACCT_KEEP_DAYS);
	T_EQ_INT(g.keep_days, 7);
	T_EQ_STR(g.folder, "Archive/Home");
	T_EQ_STR(g.ca_file, "/etc/ssl/ca.pem");
	store_acct_clear(&g);

	/* Sorted by name (byte order). */
	T_EQ_INT(store_acct_list(st, &list, &n), 0);
	T_EQ_INT(n, 3);
	T_EQ_STR(list[0].name, "Alpha.1+x@y-z_");
	T_EQ_STR(list[1].name, "home");
	T_EQ_STR(list[2].name, "work");
	T_EQ_INT(list[2].id, id1);
	store_acct_list_free(list, n);

	/* Duplicate name. */
	a = acct_make("work");
	T_EQ_INT(store_acct_add(st, &a, NULL), -STORE_ERR_EXISTS);
	T_ASSERT(strstr(store_last_error(st), "work") != NULL);

	/* Update: settings change, status and totals do not. */
	T_EQ_INT(store_acct_add_deleted(st, id1, 3), 0);
	a = acct_make("job");
	a.id = id1;
	a.host = (char *)(uintptr_t) "pop3.example.org";
	a.port = 1995;
	a.interval = POLL_INTERVAL_MAX;
	a.keep = STORE_ACCT_KEEP_DAYS;
	a.keep_days = RETENTION_DAYS_MAX;
	a.fingerprint = (char *)(uintptr_t)fp_hex;
	a.deleted = 77; /* ignored */
	T_EQ_INT(store_acct_update(st, &a), 0);
	T_EQ_INT(store_acct_get(st, "work", &g), -STORE_ERR_NOTFOUND);
	T_ASSERT(g.name == NULL);
	T_EQ_INT(store_acct_get(st, "job", &g), 0);
	T_EQ_INT(g.id, id1);
	T_EQ_STR(g.host, "pop3.example.org");
	T_EQ_INT(g.port, 1995);
	T_EQ_INT(g.interval, POLL_INTERVAL_MAX);
	T_EQ_INT(g.keep_days, RETENTION_DAYS_MAX);
	T_EQ_STR(g.fingerprint, fp_hex);
	T_EQ_INT(g.deleted, 3);
	store_acct_clear(&g);
	/* Renaming onto another account; updating a missing one. */
	a.name = (char *)(uintptr_t) "home";
	T_EQ_INT(store_acct_update(st, &a), -STORE_ERR_EXISTS);
	a.name = (char *)(uintptr_t) "job"; /* its own name is fine */
	T_EQ_INT(store_acct_update(st, &a), 0);
	a.id = 424242;
	a.name = (char *)(uintptr_t) "ghost";
	T_EQ_INT(store_acct_update(st, &a), -STORE_ERR_NOTFOUND);
	a.id = id1;
	a.port = 0;
	T_EQ_INT(store_acct_update(st, &a), -STORE_ERR_INVALID);

	/* Remove. */
	T_EQ_INT(store_acct_remove(st, "home"), 0);
	T_EQ_INT(store_acct_remove(st, "home"), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_acct_remove(st, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_get_by_id(st, id2, &g), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_acct_get(st, NULL, &g), -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_list(st, &list, &n), 0);
	T_EQ_INT(n, 2);
	store_acct_list_free(list, n);
	T_EQ_INT(store_acct_remove(st, "Alpha.1+x@y-z_"), 0);
	(void)id3;

	/* Persisted: another handle sees it. */
	store_close(&st);
	T_EQ_INT(store_open(ts_path, 0, &st, NULL), 0);
	T_EQ_INT(store_acct_get(st, "job", &g), 0);
	T_EQ_INT(g.port, 1995);
	store_acct_clear(&g);
	ts_close_cleanup(&st);
}

static void
test_validation(void)
{
	struct store *st = ts_open_new();
	struct store_acct a;
	char name65[STORE_ACCT_NAME_MAX + 2], host254[STORE_ACCT_HOST_MAX + 2];
	char user256[POP3_USER_MAX + 2], *big;
	int64_t id;
	int i;

	T_ASSERT(st != NULL);
	memset(name65, 'n', sizeof name65 - 1);
	name65[sizeof name65 - 1] = '\0';
	memset(host254, 'h', sizeof host254 - 1);
	host254[sizeof host254 - 1] = '\0';
	memset(user256, 'u', sizeof user256 - 1);
	user256[sizeof user256 - 1] = '\0';
	T_EQ_INT(store_acct_add(st, NULL, &id), -STORE_ERR_INVALID);

#define BAD(field, value)                                                      \
	do {                                                                   \
		a = acct_make("ok");                                           \
		a.field = value;                                               \
		T_EQ_INT(store_acct_add(st, &a, &id), -STORE_ERR_INVALID);     \
		T_EQ_INT(id, 0);                                               \
	} while (0)
#define STR(s) ((char *)(uintptr_t)(s))

	/* Names. */
	BAD(name, NULL);
	BAD(name, STR(""));
	BAD(name, name65); /* 65 characters */
	BAD(name, STR("a b"));
	BAD(name, STR("a/b"));
	BAD(name, STR("a:b"));
	BAD(name, STR("caf\xc3\xa9"));
	BAD(name, STR("tab\t"));
	BAD(name, STR("x;drop"));
	/* Hosts. */
	BAD(host, NULL);
	BAD(host, STR(""));
	BAD(host, host254);
	BAD(host, STR("pop example"));
	BAD(host, STR("pop\r\nexample"));
	/* Ports: 0, over, huge. */
	BAD(port, 0);
	BAD(port, 65536);
	BAD(port, 4000000000u);
	/* TLS modes. */
	BAD(tls, (enum store_acct_tls)3);
	BAD(tls, (enum store_acct_tls) - 1);
	BAD(tls, STORE_ACCT_TLS_NONE); /* without allow_plaintext */
	/* User, sealed password, folder. */
	BAD(user, NULL);
	BAD(user, STR(""));
	BAD(user, user256);
	BAD(user, STR("joe\r\nDELE 1"));
	BAD(password_sealed, NULL);
	BAD(password_sealed, STR(""));
	BAD(password_sealed, STR("v1:AA AA"));
	BAD(folder, NULL);
	BAD(folder, STR(""));
	BAD(folder, STR("a//b"));
	BAD(folder, STR("a*"));
	/* Interval: one under, one over, 0, huge. */
	BAD(interval, POLL_INTERVAL_MIN - 1);
	BAD(interval, POLL_INTERVAL_MAX + 1);
	BAD(interval, 0);
	BAD(interval, UINT32_MAX);
	/* Retention. */
	BAD(keep, (enum store_acct_keep)3);
	a = acct_make("ok");
	a.keep = STORE_ACCT_KEEP_DAYS;
	for (i = 0; i < 3; i++) {
		static const uint32_t bad[] = {0, RETENTION_DAYS_MAX + 1,
		                               UINT32_MAX};
		a.keep_days = bad[i];
		T_EQ_INT(store_acct_add(st, &a, &id), -STORE_ERR_INVALID);
	}
	/* CA file: relative, empty, control character. */
	BAD(ca_file, STR("ca.pem"));
	BAD(ca_file, STR(""));
	BAD(ca_file, STR("/etc/ca\n.pem"));
	/* Fingerprints. */
	BAD(fingerprint, STR(""));
	BAD(fingerprint, STR("0011"));
	BAD(fingerprint, STR("g0112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff"));
	BAD(fingerprint, STR("00112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff00"));
	BAD(fingerprint, STR(":00112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff"));
	BAD(fingerprint, STR("0:0112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff"));
	BAD(fingerprint, STR("00::112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff"));
	BAD(fingerprint, STR("00112233445566778899aabbccddeeff"
	                     "00112233445566778899aabbccddeeff:"));
	/* Both a CA file and a fingerprint. */
	a = acct_make("ok");
	a.ca_file = STR("/ca.pem");
	a.fingerprint = STR(fp_hex);
	T_EQ_INT(store_acct_add(st, &a, &id), -STORE_ERR_INVALID);
	/* Huge sealed text. */
	big = malloc(20000);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	BAD(password_sealed, big);
	free(big);

	/* At the limits: all accepted. */
	a = acct_make(name65 + 1); /* 64 characters */
	a.host = host254 + 1;      /* 253 */
	a.user = user256 + 1;      /* 255 */
	a.port = 65535;
	a.interval = POLL_INTERVAL_MIN;
	a.keep = STORE_ACCT_KEEP_DAYS;
	a.keep_days = 1;
	T_EQ_INT(store_acct_add(st, &a, &id), 0);
	a = acct_make("p1");
	a.port = 1;
	a.interval = POLL_INTERVAL_MAX;
	a.tls = STORE_ACCT_TLS_NONE;
	a.allow_plaintext = 1;
	T_EQ_INT(store_acct_add(st, &a, &id), 0);
	/* Nothing else went in. */
	T_EQ_INT(raw_int(ts_path, "SELECT count(*) FROM accounts"), 2);
#undef BAD
#undef STR
	ts_close_cleanup(&st);
}

static void
test_limit(void)
{
	struct store *st = ts_open_new();
	char name[32];
	int i;

	T_ASSERT(st != NULL);
	for (i = 0; i < STORE_ACCTS_MAX; i++) {
		snprintf(name, sizeof name, "a%d", i);
		T_ASSERT(acct_add(st, name) > 0);
	}
	T_EQ_INT(acct_add(st, "one-more"), -STORE_ERR_LIMIT);
	/* A taken name is EXISTS even at the limit. */
	T_EQ_INT(acct_add(st, "a0"), -STORE_ERR_EXISTS);
	T_EQ_INT(store_acct_remove(st, "a5"), 0);
	T_ASSERT(acct_add(st, "one-more") > 0);
	T_EQ_INT(acct_add(st, "two-more"), -STORE_ERR_LIMIT);
	ts_close_cleanup(&st);
}

/* ---- status and totals ---- */

static void
test_status_totals(void)
{
	struct store *st = ts_open_new();
	struct store_acct_status s;
	struct store_acct g;
	char longerr[3000];
	int64_t id;
	size_t i;

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	memset(&s, 0, sizeof s);
	s.last_attempt = 1000;
	s.last_success = 1001;
	s.next_due = 1300;
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.last_attempt, 1000);
	T_EQ_INT(g.last_success, 1001);
	T_EQ_INT(g.next_due, 1300);
	T_ASSERT(g.last_error == NULL);
	store_acct_clear(&g);

	/* A failure: last_success 0 keeps the old one. */
	s.last_attempt = 2000;
	s.last_success = 0;
	s.last_error = "login refused for joe: [AUTH] bad\r\npassword\x1b[2J";
	s.failures = 3;
	s.auth_failed = 1;
	s.next_due = 5600;
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.last_attempt, 2000);
	T_EQ_INT(g.last_success, 1001);
	/* Control characters become spaces: one printable line. */
	T_EQ_STR(g.last_error,
	         "login refused for joe: [AUTH] bad  password [2J");
	T_EQ_INT(g.failures, 3);
	T_EQ_INT(g.auth_failed, 1);
	T_EQ_INT(g.next_due, 5600);
	store_acct_clear(&g);

	/* A long sentence is cut at a character boundary. */
	for (i = 0; i + 1 < sizeof longerr; i += 2) {
		longerr[i] = (char)0xc3;
		longerr[i + 1] = (char)0xa9;
	}
	longerr[sizeof longerr - 1] = '\0';
	s.last_error = longerr;
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_ASSERT(g.last_error != NULL && strlen(g.last_error) <= 1024 &&
	         strlen(g.last_error) >= 1022 && strlen(g.last_error) % 2 == 0);
	store_acct_clear(&g);

	/* Success clears the error ("" counts as none too). */
	s.last_success = 3000;
	s.last_error = NULL;
	s.failures = 0;
	s.auth_failed = 0;
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_ASSERT(g.last_error == NULL);
	T_EQ_INT(g.last_success, 3000);
	T_EQ_INT(g.failures, 0);
	store_acct_clear(&g);
	s.last_error = "";
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_ASSERT(g.last_error == NULL);
	store_acct_clear(&g);

	T_EQ_INT(store_acct_set_status(st, id + 99, &s), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_acct_set_status(st, id, NULL), -STORE_ERR_INVALID);

	/* Totals. */
	T_EQ_INT(store_acct_add_deleted(st, id, 2), 0);
	T_EQ_INT(store_acct_add_deleted(st, id, 0), 0);
	T_EQ_INT(store_acct_add_deleted(st, id, UINT32_MAX), 0);
	T_EQ_INT(store_acct_add_deleted(st, id + 99, 1), -STORE_ERR_NOTFOUND);
	T_EQ_INT(deliver(st, id, ts_folder_id(st, "INBOX"), "u1",
	                 "Subject: a\r\n\r\nx\r\n", NULL),
	         0);
	T_EQ_INT(store_pop3_skip(st, id, "big1", 500000000, 1), 0);
	T_EQ_INT(store_pop3_skip(st, id, "big2", 500000000, 1), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.deleted, 2 + (uint64_t)UINT32_MAX);
	T_EQ_INT(g.fetched, 1);
	T_EQ_INT(g.skipped, 2);
	/* Status writes leave totals alone. */
	store_acct_clear(&g);
	T_EQ_INT(store_acct_set_status(st, id, &s), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.fetched, 1);
	T_EQ_INT(g.skipped, 2);
	store_acct_clear(&g);
	ts_close_cleanup(&st);
}

/* ---- lease ---- */

static void
test_lease_two_handles(void)
{
	struct store *a = ts_open_new(), *b = NULL;
	char *holder = NULL;
	int64_t id, id2;

	T_ASSERT(a != NULL);
	T_EQ_INT(store_open(ts_path, 0, &b, NULL), 0);
	T_ASSERT((id = acct_add(a, "acct")) > 0);
	T_ASSERT((id2 = acct_add(a, "other")) > 0);

	/* Free: a takes it; b is refused and told who holds it. */
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1000, 1300, NULL,
	                               &holder),
	         0);
	T_ASSERT(holder == NULL);
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1001, 1301, NULL,
	                               &holder),
	         -STORE_ERR_BUSY);
	T_EQ_STR(holder, "daemon:1");
	free(holder);
	holder = NULL;
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1001, 1301, NULL, NULL),
	         -STORE_ERR_BUSY);
	/* Another account's lease is separate. */
	T_EQ_INT(
	        store_acct_lease_take(b, id2, "poll:2", 1001, 1301, NULL, NULL),
	        0);
	/* Renewal by the holder, from either handle. */
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1200, 1500, NULL,
	                               NULL),
	         0);
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1400, 1700, NULL, NULL),
	         -STORE_ERR_BUSY);
	/* Expiry: at until it is free (until <= now). */
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1499, 1800, NULL, NULL),
	         -STORE_ERR_BUSY);
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1500, 1800, NULL,
	                               &holder),
	         0);
	T_ASSERT(holder == NULL);
	/* The old holder lost it. */
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1501, 1801, NULL,
	                               &holder),
	         -STORE_ERR_BUSY);
	T_EQ_STR(holder, "poll:2");
	free(holder);
	holder = NULL;
	/* Release by someone else: a no-op. */
	T_EQ_INT(store_acct_lease_release(a, id, "daemon:1"), 0);
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1502, 1802, NULL,
	                               NULL),
	         -STORE_ERR_BUSY);
	/* steal_from naming someone else does not help... */
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1502, 1802,
	                               "poll:999", NULL),
	         -STORE_ERR_BUSY);
	/* ...naming the holder (known dead) takes it. */
	T_EQ_INT(store_acct_lease_take(a, id, "daemon:1", 1502, 1802, "poll:2",
	                               NULL),
	         0);
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1503, 1803, NULL,
	                               &holder),
	         -STORE_ERR_BUSY);
	T_EQ_STR(holder, "daemon:1");
	free(holder);
	holder = NULL;
	/* Release by the holder frees it at once. */
	T_EQ_INT(store_acct_lease_release(a, id, "daemon:1"), 0);
	T_EQ_INT(store_acct_lease_take(b, id, "poll:2", 1504, 1804, NULL, NULL),
	         0);
	T_EQ_INT(store_acct_lease_release(b, id, "poll:2"), 0);
	T_EQ_INT(store_acct_lease_release(b, id, "poll:2"), 0);

	/* Errors. */
	T_EQ_INT(store_acct_lease_take(a, id + 99, "x", 1, 2, NULL, &holder),
	         -STORE_ERR_NOTFOUND);
	T_ASSERT(holder == NULL);
	T_EQ_INT(store_acct_lease_take(a, id, NULL, 1, 2, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_lease_take(a, id, "", 1, 2, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_lease_take(a, id, "x", 5, 5, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_lease_take(a, id, "x", 5, 6, "", NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_lease_release(a, id, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(store_acct_lease_release(a, id + 99, "x"), 0);

	/* Removing the account removes its lease with it. */
	T_EQ_INT(
	        store_acct_lease_take(a, id2, "poll:2", 2000, 2300, NULL, NULL),
	        0);
	T_EQ_INT(store_acct_remove(a, "other"), 0);
	T_ASSERT((id2 = acct_add(a, "other")) > 0);
	T_EQ_INT(store_acct_lease_take(b, id2, "daemon:1", 2001, 2301, NULL,
	                               NULL),
	         0);
	store_close(&b);
	ts_close_cleanup(&a);
}

/* Processes racing for one free lease: exactly one wins each round. */
static void
test_lease_race_processes(void)
{
	enum { NPROC = 8, ROUNDS = 5 };
	struct store *st = ts_open_new();
	int64_t id;
	int round, k, status, wins, busy, other;
	pid_t pids[NPROC];
	int go[2];

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "race")) > 0);
	store_close(&st);
	for (round = 0; round < ROUNDS; round++) {
		T_EQ_INT(pipe(go), 0);
		fflush(NULL);
		for (k = 0; k < NPROC; k++) {
			pids[k] = fork();
			T_ASSERT(pids[k] >= 0);
			if (pids[k] == 0) {
				struct store *c = NULL;
				char owner[32], b;
				int rc;

				close(go[1]);
				if (store_open(ts_path, 0, &c, NULL) < 0)
					_exit(3);
				snprintf(owner, sizeof owner, "p%d.%d", round,
				         k);
				/* Everyone starts when the pipe closes. */
				if (read(go[0], &b, 1) < 0)
					_exit(5);
				rc = store_acct_lease_take(
				        c, id, owner, 10000 + round * 1000,
				        10000 + round * 1000 + 300, NULL, NULL);
				store_close(&c);
				_exit(rc == 0                 ? 0
				      : rc == -STORE_ERR_BUSY ? 1
				                              : 2);
			}
		}
		close(go[0]);
		usleep(50000);
		close(go[1]);
		wins = busy = other = 0;
		for (k = 0; k < NPROC; k++) {
			T_ASSERT(waitpid(pids[k], &status, 0) == pids[k]);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				wins++;
			else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
				busy++;
			else
				other++;
		}
		T_EQ_INT(other, 0);
		T_EQ_INT(wins, 1);
		T_EQ_INT(busy, NPROC - 1);
		/* The next round starts after this lease expired. */
	}
	ts_cleanup();
}

/* ---- delivery ---- */

static void
test_deliver_once(void)
{
	struct store *st = ts_open_new(), *st2 = NULL;
	struct store_pop3_uidl *known = NULL;
	struct store_acct g;
	size_t n = 0;
	uint32_t uid = 0;
	int64_t id, inbox, other;
	const char *m1 = "From: a@b\r\nSubject: one\r\n\r\nbody one\r\n";
	char digest[POP3_DIGEST_UIDL_LEN + 2];
	struct ts_one o;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_open(ts_path, 0, &st2, NULL), 0);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	T_ASSERT((other = acct_add(st, "b")) > 0);
	inbox = ts_folder_id(st, "INBOX");

	T_EQ_INT(deliver(st, id, inbox, "AAA1", m1, &uid), 0);
	T_EQ_INT(uid, 1);
	o = ts_get(st, inbox, 1);
	T_ASSERT(o.found);
	T_EQ_INT(o.m.size, strlen(m1));
	/* The same UIDL again, from this handle or another: nothing. */
	uid = 77;
	T_EQ_INT(deliver(st, id, inbox, "AAA1", m1, &uid), -STORE_ERR_EXISTS);
	T_EQ_INT(uid, 0);
	T_EQ_INT(deliver(st2, id, inbox, "AAA1", "other text", &uid),
	         -STORE_ERR_EXISTS);
	T_EQ_INT(ts_count(st, inbox), 1);
	/* UIDLs are case-sensitive, and per account. */
	T_EQ_INT(deliver(st2, id, inbox, "aaa1", m1, &uid), 0);
	T_EQ_INT(uid, 2);
	T_EQ_INT(deliver(st2, other, inbox, "AAA1", m1, NULL), 0);
	T_EQ_INT(ts_count(st, inbox), 3);
	/* The longest UIDL (the digest form) and the shortest. */
	memcpy(digest, "sha256:", 7);
	memset(digest + 7, 'f', 64);
	digest[71] = '\0';
	T_EQ_INT(deliver(st, id, inbox, digest, m1, NULL), 0);
	T_EQ_INT(deliver(st, id, inbox, "!", m1, NULL), 0);
	T_EQ_INT(deliver(st, id, inbox, "~~", m1, NULL), 0);
	/* The message's own flags/keywords go through as with append. */
	{
		struct store_append ap = msg_of(m1);
		ap.flags = STORE_FLAG_SEEN;
		ap.keywords = "$Pop";
		ap.internaldate = 1600000000;
		T_EQ_INT(store_pop3_deliver(st, id, inbox, "flagged", 12345, 42,
		                            &ap, &uid),
		         0);
		o = ts_get(st, inbox, uid);
		T_ASSERT(o.found);
		T_EQ_INT(o.m.flags, STORE_FLAG_SEEN);
		T_EQ_STR(o.keywords, "$Pop");
		T_EQ_INT(o.m.internaldate, 1600000000);
	}

	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.fetched, 6);
	store_acct_clear(&g);
	T_EQ_INT(store_acct_get_by_id(st, other, &g), 0);
	T_EQ_INT(g.fetched, 1);
	store_acct_clear(&g);
	T_EQ_INT(store_pop3_known(st, id, &known, &n), 0);
	T_EQ_INT(n, 6);
	{
		size_t i, found = 0;
		for (i = 0; i < n; i++) {
			T_EQ_INT(known[i].state, STORE_POP3_STORED);
			if (strcmp(known[i].uidl, "flagged") == 0) {
				T_EQ_INT(known[i].size, 12345);
				T_EQ_INT(known[i].first_fetched, 42);
				found++;
			}
		}
		T_EQ_INT(found, 1);
	}
	store_pop3_known_free(known, n);
	T_EQ_INT(store_pop3_known(st, 424242, &known, &n), 0);
	T_EQ_INT(n, 0);
	store_pop3_known_free(known, n);

	/* Bad UIDLs: empty, too long, space, control, high byte, NULL. */
	digest[70] = 'f';
	memcpy(digest + 71, "f", 2);
	T_EQ_INT(deliver(st, id, inbox, digest, m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, "", m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, "a b", m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, "a\r", m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, "\x7f", m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, "\xc3\xa9", m1, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(deliver(st, id, inbox, NULL, m1, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(ts_count(st, inbox), 7);
	store_close(&st2);
	ts_close_cleanup(&st);
}

static int64_t
uidl_rows(const char *uidl)
{
	char sql[200];

	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM pop3_uidls WHERE uidl = '%s'", uidl);
	return raw_int(ts_path, sql);
}

/* A delivery that fails stores nothing: no UIDL, no message, no total. */
static void
test_deliver_rollback(void)
{
	struct store *st = ts_open_new();
	struct store_append ap;
	struct store_acct g;
	int64_t id, inbox, sub;
	const char *m = "Subject: x\r\n\r\ny\r\n";

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	inbox = ts_folder_id(st, "INBOX");

	/* No such folder: the append fails inside the transaction, after
	 * the UIDL row and the total were written. */
	T_EQ_INT(deliver(st, id, 987654, "U1", m, NULL), -STORE_ERR_NOTFOUND);
	T_EQ_INT(uidl_rows("U1"), 0);
	/* A \Noselect folder (a parent deleted with children). */
	T_EQ_INT(store_folder_create(st, "P/C", STORE_SPECIAL_NONE, NULL), 0);
	sub = ts_folder_id(st, "P");
	T_EQ_INT(store_folder_delete(st, "P"), 0);
	T_EQ_INT(deliver(st, id, sub, "U1", m, NULL), -STORE_ERR_NOTFOUND);
	T_EQ_INT(uidl_rows("U1"), 0);
	/* No such account. */
	T_EQ_INT(deliver(st, id + 99, inbox, "U1", m, NULL),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(uidl_rows("U1"), 0);
	/* A bad message (flags, keywords, NULL). */
	ap = msg_of(m);
	ap.flags = 0x100;
	T_EQ_INT(store_pop3_deliver(st, id, inbox, "U1", 10, 1, &ap, NULL),
	         -STORE_ERR_INVALID);
	ap = msg_of(m);
	ap.keywords = "bad(kw";
	T_EQ_INT(store_pop3_deliver(st, id, inbox, "U1", 10, 1, &ap, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_pop3_deliver(st, id, inbox, "U1", 10, 1, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_pop3_deliver(st, id, inbox, "U1", UINT64_MAX, 1, &ap,
	                            NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(uidl_rows("U1"), 0);
	/* Inside the caller's transaction: refused, nothing stored. */
	T_EQ_INT(store_begin(st), 0);
	T_EQ_INT(deliver(st, id, inbox, "U1", m, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(store_commit(st), 0);
	T_EQ_INT(uidl_rows("U1"), 0);

	T_EQ_INT(ts_count(st, inbox), 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.fetched, 0);
	store_acct_clear(&g);
	/* And then it works. */
	T_EQ_INT(deliver(st, id, inbox, "U1", m, NULL), 0);
	T_EQ_INT(uidl_rows("U1"), 1);
	T_EQ_INT(ts_count(st, inbox), 1);
	ts_close_cleanup(&st);
}

/* Two processes deliver the same 60 UIDLs at once: each stored once. */
static void
test_deliver_race_processes(void)
{
	enum { NPROC = 3, NMSG = 60 };
	struct store *st = ts_open_new();
	struct store_acct g;
	int64_t id, inbox;
	pid_t pids[NPROC];
	int k, status, bad = 0;

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "race")) > 0);
	inbox = ts_folder_id(st, "INBOX");
	store_close(&st);
	fflush(NULL);
	for (k = 0; k < NPROC; k++) {
		pids[k] = fork();
		T_ASSERT(pids[k] >= 0);
		if (pids[k] == 0) {
			struct store *c = NULL;
			char uidl[32], raw[64];
			int i, rc;

			if (store_open(ts_path, 0, &c, NULL) < 0)
				_exit(3);
			for (i = 0; i < NMSG; i++) {
				snprintf(uidl, sizeof uidl, "m%d", i);
				snprintf(raw, sizeof raw,
				         "Subject: %d\r\n\r\nfrom %d\r\n", i,
				         k);
				rc = deliver(c, id, inbox, uidl, raw, NULL);
				if (rc < 0 && rc != -STORE_ERR_EXISTS)
					_exit(4);
			}
			store_close(&c);
			_exit(0);
		}
	}
	for (k = 0; k < NPROC; k++) {
		T_ASSERT(waitpid(pids[k], &status, 0) == pids[k]);
		bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	T_EQ_INT(bad, 0);
	T_EQ_INT(store_open(ts_path, 0, &st, NULL), 0);
	T_EQ_INT(ts_count(st, inbox), NMSG);
	T_EQ_INT(raw_int(ts_path, "SELECT count(*) FROM pop3_uidls"), NMSG);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.fetched, NMSG);
	store_acct_clear(&g);
	ts_close_cleanup(&st);
}

static void
test_skip(void)
{
	struct store *st = ts_open_new();
	struct store_pop3_uidl *known = NULL;
	struct store_acct g;
	size_t n = 0;
	int64_t id, inbox;

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_pop3_skip(st, id, "huge", 300000000, 1234), 0);
	T_EQ_INT(store_pop3_skip(st, id, "huge", 300000000, 1235),
	         -STORE_ERR_EXISTS);
	/* A skipped UIDL is known: deliver refuses it too. */
	T_EQ_INT(deliver(st, id, inbox, "huge", "x", NULL), -STORE_ERR_EXISTS);
	T_EQ_INT(deliver(st, id, inbox, "small", "x", NULL), 0);
	T_EQ_INT(store_pop3_skip(st, id, "small", 1, 1), -STORE_ERR_EXISTS);
	T_EQ_INT(store_pop3_skip(st, id + 99, "x", 1, 1), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_pop3_skip(st, id, "", 1, 1), -STORE_ERR_INVALID);
	T_EQ_INT(store_pop3_skip(st, id, "a b", 1, 1), -STORE_ERR_INVALID);
	T_EQ_INT(store_pop3_known(st, id, &known, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(strcmp(known[0].uidl, "huge") == 0 ? known[0].state
	                                            : known[1].state,
	         STORE_POP3_SKIPPED);
	T_EQ_INT(strcmp(known[0].uidl, "huge") == 0 ? known[0].size
	                                            : known[1].size,
	         300000000);
	T_EQ_INT(strcmp(known[0].uidl, "huge") == 0 ? known[0].first_fetched
	                                            : known[1].first_fetched,
	         1234);
	store_pop3_known_free(known, n);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.skipped, 1);
	T_EQ_INT(g.fetched, 1);
	store_acct_clear(&g);
	/* Inside a caller's transaction it is part of it. */
	T_EQ_INT(store_begin(st), 0);
	T_EQ_INT(store_pop3_skip(st, id, "rolled", 1, 1), 0);
	T_EQ_INT(store_rollback(st), 0);
	T_EQ_INT(uidl_rows("rolled"), 0);
	ts_close_cleanup(&st);
}

/* ---- forget_absent ---- */

static void
test_forget_absent(void)
{
	struct store *st = ts_open_new();
	struct store_pop3_uidl *known = NULL;
	struct store_acct g;
	size_t n = 0, gone = 99;
	int64_t id, id2, inbox;
	const char *all[] = {"u1", "u2", "u3", "big1", "big2"};
	const char *some[] = {"u2", "new1", "big2", "new2", "u2"};
	const char *ghost[] = {"nothing"};

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	T_ASSERT((id2 = acct_add(st, "b")) > 0);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(deliver(st, id, inbox, "u1", "1", NULL), 0);
	T_EQ_INT(deliver(st, id, inbox, "u2", "2", NULL), 0);
	T_EQ_INT(deliver(st, id, inbox, "u3", "3", NULL), 0);
	T_EQ_INT(store_pop3_skip(st, id, "big1", 9, 1), 0);
	T_EQ_INT(store_pop3_skip(st, id, "big2", 9, 1), 0);
	T_EQ_INT(deliver(st, id2, inbox, "u1", "1", NULL), 0);

	/* All present (plus none new): nothing goes. */
	T_EQ_INT(store_pop3_forget_absent(st, id, all, 5, &gone), 0);
	T_EQ_INT(gone, 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.on_server, 5);
	T_EQ_INT(g.skipped_now, 2);
	store_acct_clear(&g);

	/* Some present (a duplicate and new ones among them). */
	T_EQ_INT(store_pop3_forget_absent(st, id, some, 5, &gone), 0);
	T_EQ_INT(gone, 3); /* u1, u3, big1 */
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.on_server, 5);
	T_EQ_INT(g.skipped_now, 1);
	/* Totals and messages are history: they stay. */
	T_EQ_INT(g.fetched, 3);
	T_EQ_INT(g.skipped, 2);
	store_acct_clear(&g);
	T_EQ_INT(ts_count(st, inbox), 4);
	T_EQ_INT(store_pop3_known(st, id, &known, &n), 0);
	T_EQ_INT(n, 2);
	T_ASSERT((strcmp(known[0].uidl, "u2") == 0 &&
	          strcmp(known[1].uidl, "big2") == 0) ||
	         (strcmp(known[0].uidl, "big2") == 0 &&
	          strcmp(known[1].uidl, "u2") == 0));
	store_pop3_known_free(known, n);
	/* A forgotten UIDL can be delivered again (the server reused it). */
	T_EQ_INT(deliver(st, id, inbox, "u1", "1 again", NULL), 0);

	/* None present: everything goes (NULL list allowed for n = 0). */
	T_EQ_INT(store_pop3_forget_absent(st, id, NULL, 0, &gone), 0);
	T_EQ_INT(gone, 3);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.on_server, 0);
	T_EQ_INT(g.skipped_now, 0);
	store_acct_clear(&g);
	T_EQ_INT(store_pop3_known(st, id, &known, &n), 0);
	T_EQ_INT(n, 0);
	store_pop3_known_free(known, n);
	/* The other account was not touched. */
	T_EQ_INT(store_pop3_known(st, id2, &known, &n), 0);
	T_EQ_INT(n, 1);
	store_pop3_known_free(known, n);
	/* forgotten_r may be NULL. */
	T_EQ_INT(store_pop3_forget_absent(st, id2, ghost, 1, NULL), 0);
	T_EQ_INT(store_pop3_known(st, id2, &known, &n), 0);
	T_EQ_INT(n, 0);
	store_pop3_known_free(known, n);

	/* Errors. */
	T_EQ_INT(store_pop3_forget_absent(st, id + 99, all, 5, &gone),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_pop3_forget_absent(st, id, NULL, 2, &gone),
	         -STORE_ERR_INVALID);
	{
		const char *withnull[] = {"u1", NULL};
		T_EQ_INT(store_pop3_forget_absent(st, id, withnull, 2, &gone),
		         -STORE_ERR_INVALID);
	}
	T_EQ_INT(store_pop3_forget_absent(st, id, all,
	                                  (size_t)POP3_MAX_MESSAGES + 1, &gone),
	         -STORE_ERR_LIMIT);
	ts_close_cleanup(&st);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* 100k known UIDLs against a 100k listing: well under a second. */
static void
test_forget_100k(void)
{
	enum { N = 100000 };
	struct store *st = ts_open_new();
	char **names = malloc(N * sizeof *names);
	const char **present = malloc(N * sizeof *present);
	struct store_acct g;
	size_t gone = 0, i;
	double t0, t1, t2;
	int64_t id;

	T_ASSERT(st != NULL && names != NULL && present != NULL);
	T_ASSERT((id = acct_add(st, "big")) > 0);
	/* Known UIDLs made the fast way (skip, one transaction). */
	T_EQ_INT(store_begin(st), 0);
	for (i = 0; i < N; i++) {
		names[i] = malloc(32);
		snprintf(names[i], 32, "UID%08zx", i * 2654435761u % N);
		if (store_pop3_skip(st, id, names[i], 1, 1) < 0)
			break;
	}
	T_EQ_INT(store_commit(st), 0);
	T_EQ_INT(i, N);

	/* All present, listed in another order. */
	for (i = 0; i < N; i++)
		present[i] = names[N - 1 - i];
	t0 = now_ms();
	T_EQ_INT(store_pop3_forget_absent(st, id, present, N, &gone), 0);
	t1 = now_ms();
	T_EQ_INT(gone, 0);
	T_EQ_INT(store_acct_get_by_id(st, id, &g), 0);
	T_EQ_INT(g.on_server, N);
	T_EQ_INT(g.skipped_now, N);
	store_acct_clear(&g);
	/* Half gone from the server. */
	T_EQ_INT(store_pop3_forget_absent(st, id, present, N / 2, &gone), 0);
	t2 = now_ms();
	T_EQ_INT(gone, N / 2);
	fprintf(stderr,
	        "  forget_absent 100k: all present %.0f ms, half gone "
	        "%.0f ms\n",
	        t1 - t0, t2 - t1);
	T_ASSERT(t1 - t0 < 3000 && t2 - t1 < 3000);
	for (i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(present);
	ts_close_cleanup(&st);
}

/* ---- remove, migration ---- */

static void
test_remove_cascade(void)
{
	struct store *st = ts_open_new();
	int64_t id, inbox;

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(deliver(st, id, inbox, "u1", "1", NULL), 0);
	T_EQ_INT(store_pop3_skip(st, id, "u2", 1, 1), 0);
	T_EQ_INT(raw_int(ts_path, "SELECT count(*) FROM pop3_uidls"), 2);
	T_EQ_INT(store_acct_remove(st, "a"), 0);
	T_EQ_INT(raw_int(ts_path, "SELECT count(*) FROM pop3_uidls"), 0);
	/* The messages it stored stay. */
	T_EQ_INT(ts_count(st, inbox), 1);
	ts_close_cleanup(&st);
}

static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(db);
	return rc;
}

/* A version 1 store (this schema without the version 2 tables) is
 * migrated when opened, and keeps its data. */
static void
test_migrate_from_v1(void)
{
	struct store *st = ts_open_new();
	struct store_acct g;
	const char *err = NULL;
	int64_t inbox, id;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_ASSERT(ts_append(st, inbox, "Subject: old\r\n\r\nold\r\n", 0, NULL) ==
	         1);
	store_close(&st);
	T_EQ_INT(raw_exec(ts_path, "DROP TABLE pop3_uidls;"
	                           " DROP TABLE accounts;"
	                           " PRAGMA user_version = 1;"),
	         0);
	T_EQ_INT(raw_int(ts_path, "PRAGMA user_version"), 1);
	T_EQ_INT(raw_int(ts_path, "SELECT count(*) FROM sqlite_master"
	                          " WHERE name IN ('accounts', 'pop3_uidls')"),
	         0);
	/* Read-only cannot migrate. */
	T_EQ_INT(store_open(ts_path, STORE_OPEN_READONLY, &st, &err),
	         -STORE_ERR_NOPERM);
	T_ASSERT(strstr(err, "upgrade") != NULL);
	T_EQ_INT(store_open(ts_path, 0, &st, &err), 0);
	T_EQ_INT(raw_int(ts_path, "PRAGMA user_version"), 2);
	T_EQ_INT(ts_count(st, inbox), 1);
	T_ASSERT((id = acct_add(st, "new")) > 0);
	T_EQ_INT(deliver(st, id, inbox, "x", "y", NULL), 0);
	T_EQ_INT(store_acct_get(st, "new", &g), 0);
	T_EQ_INT(g.fetched, 1);
	store_acct_clear(&g);
	store_close(&st);
	/* Opening again changes nothing. */
	T_EQ_INT(store_open(ts_path, 0, &st, &err), 0);
	T_EQ_INT(ts_count(st, inbox), 2);
	T_EQ_INT(store_acct_get(st, "new", &g), 0);
	store_acct_clear(&g);
	ts_close_cleanup(&st);
}

static void
test_readonly(void)
{
	struct store *st = ts_open_new();
	int64_t id, inbox;

	T_ASSERT(st != NULL);
	T_ASSERT((id = acct_add(st, "a")) > 0);
	inbox = ts_folder_id(st, "INBOX");
	store_close(&st);
	T_EQ_INT(store_open(ts_path, STORE_OPEN_READONLY, &st, NULL), 0);
	T_EQ_INT(acct_add(st, "b"), -STORE_ERR_NOPERM);
	T_EQ_INT(deliver(st, id, inbox, "u", "m", NULL), -STORE_ERR_NOPERM);
	T_EQ_INT(store_acct_lease_take(st, id, "o", 1, 2, NULL, NULL),
	         -STORE_ERR_NOPERM);
	T_EQ_INT(ts_count(st, inbox), 0);
	ts_close_cleanup(&st);
}

static const struct test_case tests[] = {
        {"add_get_list_update_remove", test_add_get_list_update_remove},
        {"validation", test_validation},
        {"limit", test_limit},
        {"status_totals", test_status_totals},
        {"lease_two_handles", test_lease_two_handles},
        {"lease_race_processes", test_lease_race_processes},
        {"deliver_once", test_deliver_once},
        {"deliver_rollback", test_deliver_rollback},
        {"deliver_race_processes", test_deliver_race_processes},
        {"skip", test_skip},
        {"forget_absent", test_forget_absent},
        {"forget_100k", test_forget_100k},
        {"remove_cascade", test_remove_cascade},
        {"migrate_from_v1", test_migrate_from_v1},
        {"readonly", test_readonly},
        {NULL, NULL},
};

TEST_MAIN(tests)
