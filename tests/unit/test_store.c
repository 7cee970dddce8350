/*
 * tests/unit/test_store.c: the store (db/store*.c): opening, schema
 * version, transactions, settings, backup, data_version across handles,
 * folders (names, create, delete, rename, subscriptions, status, recent).
 * Messages, flags, changes and auth: test_store_msg.c, test_store_auth.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/limits.h"
#include "../../db/store.h"
#include "test.h"
#include "test_store.h"

static void
test_open_create_reopen(void)
{
	struct store *st;
	struct store_folder f;
	const char *err = NULL;
	char *v = NULL;
	int64_t id;

	st = ts_open_new();
	T_ASSERT(st != NULL);
	T_EQ_INT(store_schema_version(), 2);
	/* INBOX always exists and is subscribed. */
	T_EQ_INT(store_folder_get(st, "INBOX", &f), 0);
	T_EQ_STR(f.name, "INBOX");
	T_EQ_INT(f.subscribed, 1);
	T_ASSERT(f.uidvalidity > 0);
	T_EQ_INT(f.uidnext, 1);
	T_EQ_INT(f.highestmodseq, 1);
	store_folder_clear(&f);
	T_EQ_INT(store_folder_create(st, "Sent", STORE_SPECIAL_SENT, &id), 0);
	T_EQ_INT(store_setting_set(st, "trash_days", "30"), 0);
	T_ASSERT(ts_append(st, id, "Subject: x\r\n\r\nbody\r\n", 0, NULL) == 1);
	store_close(&st);
	T_ASSERT(st == NULL);
	store_close(&st); /* NULL is fine */

	/* Without CREATE: the same data. */
	T_EQ_INT(store_open(ts_path, 0, &st, &err), 0);
	T_EQ_INT(store_folder_get(st, "Sent", &f), 0);
	T_EQ_INT(f.id, id);
	T_EQ_INT(f.special, STORE_SPECIAL_SENT);
	T_EQ_INT(f.uidnext, 2);
	store_folder_clear(&f);
	T_EQ_INT(store_setting_get(st, "trash_days", &v), 0);
	T_EQ_STR(v, "30");
	free(v);
	store_close(&st);

	/* Read-only sees it too, and refuses writes. */
	T_EQ_INT(store_open(ts_path, STORE_OPEN_READONLY, &st, &err), 0);
	T_EQ_INT(store_folder_get(st, "Sent", &f), 0);
	store_folder_clear(&f);
	T_EQ_INT(store_setting_set(st, "x", "y"), -STORE_ERR_NOPERM);
	store_close(&st);
	ts_cleanup();
}

static void
test_open_errors(void)
{
	struct store *st = NULL;
	const char *err = NULL;
	char path[600];
	int fd;

	T_EQ_INT(store_open("/nonexistent-dir/x.db", 0, &st, &err),
	         -STORE_ERR_NOTFOUND);
	T_ASSERT(st == NULL && err != NULL && strstr(err, "x.db") != NULL);
	T_ASSERT(store_open("/nonexistent-dir/x.db", STORE_OPEN_CREATE, &st,
	                    &err) < 0);
	T_EQ_INT(store_open("", STORE_OPEN_CREATE, &st, &err),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_open("/tmp/x.db",
	                    STORE_OPEN_CREATE | STORE_OPEN_READONLY, &st, &err),
	         -STORE_ERR_INVALID);

	/* An empty file opened without CREATE: not initialised. */
	st = ts_open_new();
	T_ASSERT(st != NULL);
	store_close(&st);
	snprintf(path, sizeof path, "%s/empty.db", ts_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	T_EQ_INT(store_open(path, 0, &st, &err), -STORE_ERR_NOTFOUND);
	T_ASSERT(strstr(err, "init") != NULL);
	/* A file that is not SQLite at all. */
	snprintf(path, sizeof path, "%s/junk.db", ts_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, "this is not a database, not at all, no.....", 40) ==
	         40);
	close(fd);
	T_ASSERT(store_open(path, STORE_OPEN_CREATE, &st, &err) < 0);
	T_ASSERT(st == NULL);
	ts_cleanup();
}

/* Patches a 4-byte big-endian field of the (checkpointed) db header. */
static int
patch_header(const char *path, off_t off, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24),
	                      (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	                      (unsigned char)v};
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -1;
	if (pwrite(fd, b, 4, off) != 4) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
test_schema_newer_refused(void)
{
	struct store *st;
	const char *err = NULL;

	st = ts_open_new();
	T_ASSERT(st != NULL);
	store_close(&st); /* last close checkpoints the WAL */
	/* user_version lives at offset 60 of the header. */
	T_EQ_INT(patch_header(ts_path, 60, 99), 0);
	T_EQ_INT(store_open(ts_path, 0, &st, &err), -STORE_ERR_INVALID);
	T_ASSERT(st == NULL);
	T_ASSERT(strstr(err, "99") != NULL && strstr(err, "newer") != NULL);
	T_EQ_INT(store_open(ts_path, STORE_OPEN_CREATE, &st, &err),
	         -STORE_ERR_INVALID);
	/* Back to 1 it opens; a foreign application_id (offset 68) not. */
	T_EQ_INT(patch_header(ts_path, 60, 1), 0);
	T_EQ_INT(store_open(ts_path, 0, &st, &err), 0);
	store_close(&st);
	T_EQ_INT(patch_header(ts_path, 68, 0x12345678), 0);
	T_EQ_INT(store_open(ts_path, 0, &st, &err), -STORE_ERR_INVALID);
	T_ASSERT(strstr(err, "not a popbridge store") != NULL);
	ts_cleanup();
}

static void
test_errors_text(void)
{
	T_EQ_STR(store_strerror(-STORE_ERR_NOTFOUND), "not found");
	T_EQ_STR(store_strerror(STORE_ERR_HASCHILDREN), "has children");
	T_EQ_STR(store_strerror(0), "ok");
	T_EQ_STR(store_strerror(12345), "unknown error");
	T_EQ_STR(store_special_name(STORE_SPECIAL_TRASH), "\\Trash");
	T_ASSERT(store_special_name(STORE_SPECIAL_NONE) == NULL);
	T_EQ_STR(store_last_error(NULL), "no error");
}

static void
test_settings(void)
{
	struct store *st = ts_open_new();
	char *v = NULL;
	char *big;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_setting_get(st, "nope", &v), -STORE_ERR_NOTFOUND);
	T_ASSERT(v == NULL);
	T_ASSERT(strstr(store_last_error(st), "nope") != NULL);
	T_EQ_INT(store_setting_set(st, "k", "v1"), 0);
	T_EQ_INT(store_setting_set(st, "k", "v2"), 0);
	T_EQ_INT(store_setting_get(st, "k", NULL), 0);
	T_EQ_INT(store_setting_get(st, "k", &v), 0);
	T_EQ_STR(v, "v2");
	free(v);
	T_EQ_INT(store_setting_set(st, "empty", ""), 0);
	T_EQ_INT(store_setting_get(st, "empty", &v), 0);
	T_EQ_STR(v, "");
	free(v);
	T_EQ_INT(store_setting_del(st, "k"), 0);
	T_EQ_INT(store_setting_del(st, "k"), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_setting_set(st, "", "x"), -STORE_ERR_INVALID);
	T_EQ_INT(store_setting_set(st, NULL, "x"), -STORE_ERR_INVALID);
	T_EQ_INT(store_setting_set(st, "x", NULL), -STORE_ERR_INVALID);
	/* Value at the cap and one over. */
	big = malloc(STORE_SETTING_MAX + 2);
	T_ASSERT(big != NULL);
	memset(big, 'a', STORE_SETTING_MAX + 1);
	big[STORE_SETTING_MAX] = '\0';
	T_EQ_INT(store_setting_set(st, "big", big), 0);
	big[STORE_SETTING_MAX] = 'a';
	big[STORE_SETTING_MAX + 1] = '\0';
	T_EQ_INT(store_setting_set(st, "big", big), -STORE_ERR_INVALID);
	free(big);
	ts_close_cleanup(&st);
}

static void
test_transactions(void)
{
	struct store *st = ts_open_new();
	struct store_folder f;
	struct store_folder_status stt;
	int64_t inbox, id;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_commit(st), -STORE_ERR_INVALID);
	T_EQ_INT(store_rollback(st), -STORE_ERR_INVALID);

	/* Rolled back as a whole. */
	T_EQ_INT(store_begin(st), 0);
	T_ASSERT(ts_append(st, inbox, "A: 1\r\n\r\nx", 0, NULL) == 1);
	T_ASSERT(ts_append(st, inbox, "A: 2\r\n\r\nx", 0, NULL) == 2);
	T_EQ_INT(store_folder_create(st, "tx", 0, &id), 0);
	T_EQ_INT(store_rollback(st), 0);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.messages, 0);
	T_EQ_INT(stt.uidnext, 1);
	T_EQ_INT(store_folder_get(st, "tx", &f), -STORE_ERR_NOTFOUND);

	/* A failing inner call undoes only itself. */
	T_EQ_INT(store_begin(st), 0);
	T_EQ_INT(store_folder_create(st, "tx", 0, &id), 0);
	T_EQ_INT(store_folder_create(st, "tx", 0, &id), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_create(st, "a/b//c", 0, &id), -STORE_ERR_INVALID);
	T_ASSERT(ts_append(st, inbox, "A: 3\r\n\r\nx", 0, NULL) == 1);
	/* Nested begin/commit pairs. */
	T_EQ_INT(store_begin(st), 0);
	T_ASSERT(ts_append(st, inbox, "A: 4\r\n\r\nx", 0, NULL) == 2);
	T_EQ_INT(store_commit(st), 0);
	T_EQ_INT(store_begin(st), 0);
	T_ASSERT(ts_append(st, inbox, "A: 5\r\n\r\nx", 0, NULL) == 3);
	T_EQ_INT(store_rollback(st), 0);
	T_EQ_INT(store_commit(st), 0);
	T_EQ_INT(store_folder_get(st, "tx", &f), 0);
	store_folder_clear(&f);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.messages, 2);
	T_EQ_INT(stt.uidnext, 3);
	ts_close_cleanup(&st);
}

static void
test_backup(void)
{
	struct store *st = ts_open_new(), *b = NULL;
	struct store_folder_status stt;
	const char *err = NULL;
	char path[600], *v = NULL;
	int64_t inbox;
	struct stat sb;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_ASSERT(ts_append(st, inbox, "Subject: b\r\n\r\nbackup me\r\n", 0,
	                   NULL) == 1);
	T_EQ_INT(store_setting_set(st, "user", "me"), 0);
	snprintf(path, sizeof path, "%s/backup.db", ts_dir);
	T_EQ_INT(store_backup(st, path), 0);
	T_EQ_INT(stat(path, &sb), 0);
	T_EQ_INT(sb.st_mode & 0777, 0600);
	T_EQ_INT(store_backup(st, path), -STORE_ERR_EXISTS);
	/* Inside a transaction: refused. */
	T_EQ_INT(store_begin(st), 0);
	snprintf(path, sizeof path, "%s/backup2.db", ts_dir);
	T_EQ_INT(store_backup(st, path), -STORE_ERR_INVALID);
	T_EQ_INT(store_rollback(st), 0);
	snprintf(path, sizeof path, "%s/nodir/backup.db", ts_dir);
	T_ASSERT(store_backup(st, path) < 0);

	snprintf(path, sizeof path, "%s/backup.db", ts_dir);
	T_EQ_INT(store_open(path, 0, &b, &err), 0);
	T_EQ_INT(store_folder_status(b, inbox, &stt), 0);
	T_EQ_INT(stt.messages, 1);
	T_EQ_INT(store_setting_get(b, "user", &v), 0);
	T_EQ_STR(v, "me");
	free(v);
	store_close(&b);
	ts_close_cleanup(&st);
}

static void
test_data_version(void)
{
	struct store *st = ts_open_new(), *st2 = NULL;
	const char *err = NULL;
	uint64_t v1, v2, w1, w2;
	int64_t inbox;

	T_ASSERT(st != NULL);
	/* A second handle stands for another process. */
	T_EQ_INT(store_open(ts_path, 0, &st2, &err), 0);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_data_version(st, &v1), 0);
	T_EQ_INT(store_data_version(st2, &w1), 0);
	T_EQ_INT(store_data_version(st2, &w2), 0);
	T_EQ_INT(w1, w2); /* nothing happened */
	T_ASSERT(ts_append(st, inbox, "A: 1\r\n\r\nx", 0, NULL) == 1);
	T_EQ_INT(store_data_version(st2, &w2), 0);
	T_ASSERT(w2 != w1);
	/* Our own commit moves our own version too. */
	T_EQ_INT(store_data_version(st, &v2), 0);
	T_ASSERT(v2 != v1);
	/* st2 sees st's message, and st sees st2's. */
	T_ASSERT(ts_append(st2, inbox, "A: 2\r\n\r\nx", 0, NULL) == 2);
	T_EQ_INT(store_data_version(st, &v1), 0);
	T_ASSERT(v1 != v2);
	T_EQ_INT(ts_count(st, inbox), 2);
	/* A write transaction held by one handle. */
	T_EQ_INT(store_begin(st2), 0);
	T_ASSERT(ts_append(st2, inbox, "A: 3\r\n\r\nx", 0, NULL) == 3);
	/* Readers never wait for a writer (WAL), and see the last commit. */
	T_EQ_INT(ts_count(st, inbox), 2);
	T_EQ_INT(store_data_version(st, &v2), 0);
	T_EQ_INT(v2, v1);
	T_EQ_INT(store_commit(st2), 0);
	T_EQ_INT(store_data_version(st, &v2), 0);
	T_ASSERT(v2 != v1);
	T_EQ_INT(ts_count(st, inbox), 3);
	T_ASSERT(ts_append(st, inbox, "A: 4\r\n\r\nx", 0, NULL) == 4);
	store_close(&st2);
	ts_close_cleanup(&st);
}

static void
test_folder_names(void)
{
	struct store *st = ts_open_new();
	char name[FOLDER_NAME_MAX + 8];
	int64_t id;
	size_t i, k;
	static const char *const bad[] = {
	        "",
	        "/a",
	        "a/",
	        "a//b",
	        "/",
	        "a*",
	        "a%b",
	        "a\tb",
	        "a\x7f",
	        "a\nb",
	        "\xff",
	        "\xc0\xaf",
	        "\xed\xa0\x80",
	        "\xf4\x90\x80\x80",
	        "a\xe2\x82",
	        "\xe0\x80\xaf",
	};

	T_ASSERT(st != NULL);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (store_folder_create(st, bad[i], 0, &id) !=
		    -STORE_ERR_INVALID) {
			fprintf(stderr, "  accepted bad name #%zu\n", i);
			T_ASSERT(0);
		}
	}
	T_EQ_INT(store_folder_create(st, NULL, 0, &id), -STORE_ERR_INVALID);
	T_EQ_INT(store_folder_create(st, "ok", 99, &id), -STORE_ERR_INVALID);
	T_EQ_INT(store_folder_create(st, "Entw\xc3\xbcrfe", 0, &id), 0);
	T_EQ_INT(store_folder_create(st, "\xf0\x9f\x93\xa7 mail", 0, &id), 0);
	T_EQ_INT(store_folder_create(st, "with space & [brackets]", 0, &id), 0);

	/* Length: at the cap, one over, far over. */
	memset(name, 'n', FOLDER_NAME_MAX);
	name[FOLDER_NAME_MAX] = '\0';
	T_EQ_INT(store_folder_create(st, name, 0, &id), 0);
	name[FOLDER_NAME_MAX] = 'n';
	name[FOLDER_NAME_MAX + 1] = '\0';
	T_EQ_INT(store_folder_create(st, name, 0, &id), -STORE_ERR_INVALID);

	/* Depth: at the cap and one over. */
	for (k = 0, i = 0; i < FOLDER_DEPTH_MAX; i++) {
		if (i > 0)
			name[k++] = '/';
		name[k++] = 'd';
	}
	name[k] = '\0';
	T_EQ_INT(store_folder_create(st, name, 0, &id), 0);
	name[k++] = '/';
	name[k++] = 'd';
	name[k] = '\0';
	T_EQ_INT(store_folder_create(st, name, 0, &id), -STORE_ERR_INVALID);
	ts_close_cleanup(&st);
}

static void
test_folder_create(void)
{
	struct store *st = ts_open_new();
	struct store_folder *list = NULL, f;
	size_t n = 0;
	int64_t id, id2;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_create(st, "a/b/c", STORE_SPECIAL_ARCHIVE, &id),
	         0);
	T_EQ_INT(store_folder_create(st, "a/b", 0, &id2), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_create(st, "a", 0, &id2), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_create(st, "INBOX", 0, &id2), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_create(st, "inbox", 0, &id2), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_create(st, "iNbOx/Sub", 0, &id2), 0);
	T_EQ_INT(store_folder_create(st, "Inboxes", 0, &id2), 0);
	T_EQ_INT(store_folder_create(st, "B", 0, NULL), 0);

	T_EQ_INT(store_folder_list(st, &list, &n), 0);
	T_EQ_INT(n, 7);
	T_EQ_STR(list[0].name, "INBOX");
	T_EQ_STR(list[1].name, "B");
	T_EQ_STR(list[2].name, "INBOX/Sub");
	T_EQ_STR(list[3].name, "Inboxes");
	T_EQ_STR(list[4].name, "a");
	T_EQ_STR(list[5].name, "a/b");
	T_EQ_STR(list[6].name, "a/b/c");
	T_EQ_INT(list[6].special, STORE_SPECIAL_ARCHIVE);
	T_EQ_INT(list[6].id, id);
	T_EQ_INT(list[4].noselect, 0);
	T_EQ_INT(list[4].special, STORE_SPECIAL_NONE);
	T_EQ_INT(list[6].uidnext, 1);
	T_EQ_INT(list[6].highestmodseq, 1);
	/* UIDVALIDITY strictly increasing across folders. */
	T_ASSERT(list[4].uidvalidity < list[5].uidvalidity);
	T_ASSERT(list[5].uidvalidity < list[6].uidvalidity);
	T_ASSERT(list[6].uidvalidity < list[2].uidvalidity);
	store_folder_list_free(list, n);

	T_EQ_INT(store_folder_get(st, "INBOX/sub", &f), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_get(st, "inbox/Sub", &f), 0);
	T_EQ_STR(f.name, "INBOX/Sub");
	store_folder_clear(&f);
	T_EQ_INT(store_folder_get_by_id(st, id, &f), 0);
	T_EQ_STR(f.name, "a/b/c");
	store_folder_clear(&f);
	T_EQ_INT(store_folder_get_by_id(st, 999999, &f), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_get(st, "a//", &f), -STORE_ERR_INVALID);
	ts_close_cleanup(&st);
}

static void
test_folder_delete(void)
{
	struct store *st = ts_open_new();
	struct store_folder f;
	struct store_folder_status stt;
	int64_t a, ab, x, blob;
	uint32_t uv;
	char buf[64];
	uint64_t got;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_delete(st, "INBOX"), -STORE_ERR_NOPERM);
	T_EQ_INT(store_folder_delete(st, "inbox"), -STORE_ERR_NOPERM);
	T_EQ_INT(store_folder_delete(st, "nope"), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_delete(st, "bad//name"), -STORE_ERR_INVALID);

	/* A leaf goes with its messages (and their text). */
	T_EQ_INT(store_folder_create(st, "x", 0, &x), 0);
	T_ASSERT(ts_append(st, x, "Subject: leaf\r\n\r\nleaf", 0, NULL) == 1);
	blob = ts_blob_id(st, x, 1);
	T_ASSERT(blob > 0);
	T_EQ_INT(store_folder_delete(st, "x"), 0);
	T_EQ_INT(store_folder_get(st, "x", &f), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_blob_read(st, blob, 0, sizeof buf, buf, &got),
	         -STORE_ERR_NOTFOUND);

	/* A parent with children: \Noselect, messages gone. */
	T_EQ_INT(store_folder_create(st, "a/b", 0, &ab), 0);
	a = ts_folder_id(st, "a");
	T_ASSERT(ts_append(st, a, "Subject: p\r\n\r\nparent", 0, NULL) == 1);
	T_EQ_INT(store_folder_get(st, "a", &f), 0);
	uv = f.uidvalidity;
	store_folder_clear(&f);
	T_EQ_INT(store_folder_delete(st, "a"), 0);
	T_EQ_INT(store_folder_get(st, "a", &f), 0);
	T_EQ_INT(f.noselect, 1);
	store_folder_clear(&f);
	T_EQ_INT(store_folder_status(st, a, &stt), 0);
	T_EQ_INT(stt.messages, 0);
	/* No appending into a \Noselect folder. */
	T_ASSERT(ts_append(st, a, "A: b\r\n\r\n", 0, NULL) ==
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_delete(st, "a"), -STORE_ERR_HASCHILDREN);

	/* CREATE makes it selectable again, with a new UIDVALIDITY. */
	T_EQ_INT(store_folder_create(st, "a", STORE_SPECIAL_TRASH, &x), 0);
	T_EQ_INT(x, a);
	T_EQ_INT(store_folder_get(st, "a", &f), 0);
	T_EQ_INT(f.noselect, 0);
	T_EQ_INT(f.special, STORE_SPECIAL_TRASH);
	T_ASSERT(f.uidvalidity > uv);
	T_EQ_INT(f.uidnext, 2); /* UIDs are never reused */
	store_folder_clear(&f);
	T_EQ_INT(store_folder_create(st, "a", 0, &x), -STORE_ERR_EXISTS);

	/* Deleting the last child removes a \Noselect parent. */
	T_EQ_INT(store_folder_delete(st, "a"), 0);
	T_EQ_INT(store_folder_delete(st, "a/b"), 0);
	T_EQ_INT(store_folder_get(st, "a", &f), -STORE_ERR_NOTFOUND);
	/* ... but not a selectable one. */
	T_EQ_INT(store_folder_create(st, "p/q/r", 0, &x), 0);
	T_EQ_INT(store_folder_delete(st, "p/q"), 0); /* \Noselect */
	T_EQ_INT(store_folder_delete(st, "p/q/r"), 0);
	T_EQ_INT(store_folder_get(st, "p/q", &f), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_get(st, "p", &f), 0);
	T_EQ_INT(f.noselect, 0);
	store_folder_clear(&f);
	(void)ab;
	ts_close_cleanup(&st);
}

static void
test_folder_delete_shared_blob(void)
{
	struct store *st = ts_open_new();
	uint32_t *su = NULL, *du = NULL, uv;
	size_t n;
	int64_t inbox, x, blob;
	char buf[64];
	uint64_t got;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_folder_create(st, "x", 0, &x), 0);
	T_ASSERT(ts_append(st, x, "Subject: s\r\n\r\nshared", 0, NULL) == 1);
	blob = ts_blob_id(st, x, 1);
	T_EQ_INT(store_msg_copy(st, x, NULL, 0, inbox, 0, &su, &du, &n, &uv),
	         0);
	T_EQ_INT(n, 1);
	free(su);
	free(du);
	T_EQ_INT(ts_blob_id(st, inbox, 1), blob);
	/* The copy keeps the text alive. */
	T_EQ_INT(store_folder_delete(st, "x"), 0);
	T_EQ_INT(store_blob_read(st, blob, 0, sizeof buf, buf, &got), 0);
	T_EQ_INT(got, 20);
	T_ASSERT(memcmp(buf, "Subject: s\r\n\r\nshared", 20) == 0);
	ts_close_cleanup(&st);
}

static void
test_folder_rename(void)
{
	struct store *st = ts_open_new();
	struct store_folder f;
	char **subs = NULL;
	size_t n = 0;
	int64_t a, ab, abc, x;
	uint32_t uv_a, uv_abc;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_create(st, "a/b/c", 0, &abc), 0);
	a = ts_folder_id(st, "a");
	ab = ts_folder_id(st, "a/b");
	T_ASSERT(ts_append(st, abc, "Subject: c\r\n\r\nin c", 0, NULL) == 1);
	T_EQ_INT(store_folder_subscribe(st, "a/b/c", 1), 0);
	T_EQ_INT(store_folder_get(st, "a", &f), 0);
	uv_a = f.uidvalidity;
	store_folder_clear(&f);
	T_EQ_INT(store_folder_get(st, "a/b/c", &f), 0);
	uv_abc = f.uidvalidity;
	store_folder_clear(&f);

	T_EQ_INT(store_folder_rename(st, "nope", "z"), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_rename(st, "a", "a"), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_rename(st, "a", "a/b"), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_rename(st, "a", "a/new"), -STORE_ERR_INVALID);
	T_EQ_INT(store_folder_rename(st, "a", "INBOX"), -STORE_ERR_EXISTS);
	T_EQ_INT(store_folder_rename(st, "a", "x//y"), -STORE_ERR_INVALID);

	T_EQ_INT(store_folder_rename(st, "a", "x/y"), 0);
	T_EQ_INT(store_folder_get(st, "a", &f), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_get(st, "a/b/c", &f), -STORE_ERR_NOTFOUND);
	x = ts_folder_id(st, "x");
	T_ASSERT(x > 0);
	T_EQ_INT(ts_folder_id(st, "x/y"), a);
	T_EQ_INT(ts_folder_id(st, "x/y/b"), ab);
	T_EQ_INT(ts_folder_id(st, "x/y/b/c"), abc);
	T_EQ_INT(store_folder_get(st, "x/y", &f), 0);
	T_ASSERT(f.uidvalidity > uv_a);
	store_folder_clear(&f);
	T_EQ_INT(store_folder_get(st, "x/y/b/c", &f), 0);
	T_ASSERT(f.uidvalidity > uv_abc);
	T_EQ_INT(f.uidnext, 2);
	T_EQ_INT(f.subscribed, 1);
	store_folder_clear(&f);
	T_EQ_INT(ts_count(st, abc), 1);
	T_EQ_INT(store_subscriptions(st, &subs, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(subs[0], "INBOX");
	T_EQ_STR(subs[1], "x/y/b/c");
	store_strv_free(subs, n);

	/* Renaming a child up; its old \Noselect-free parents stay. */
	T_EQ_INT(store_folder_rename(st, "x/y/b/c", "top"), 0);
	T_EQ_INT(ts_folder_id(st, "top"), abc);
	T_ASSERT(ts_folder_id(st, "x/y/b") == ab);

	/* A \Noselect parent is pruned when its last child moves away. */
	T_EQ_INT(store_folder_create(st, "n/m", 0, NULL), 0);
	T_EQ_INT(store_folder_delete(st, "n"), 0);
	T_EQ_INT(store_folder_rename(st, "n/m", "m"), 0);
	T_EQ_INT(store_folder_get(st, "n", &f), -STORE_ERR_NOTFOUND);

	/* Over the depth cap after the move. */
	{
		char deep[FOLDER_NAME_MAX];
		size_t k = 0, i;
		for (i = 0; i < FOLDER_DEPTH_MAX - 1; i++) {
			if (i > 0)
				deep[k++] = '/';
			deep[k++] = 'q';
		}
		deep[k] = '\0';
		T_EQ_INT(store_folder_rename(st, "x", deep),
		         -STORE_ERR_INVALID);
	}
	ts_close_cleanup(&st);
}

static void
test_folder_rename_inbox(void)
{
	struct store *st = ts_open_new();
	struct store_folder f;
	struct store_folder_status stt;
	uint32_t *uids = NULL, inbox_uv;
	size_t n;
	int64_t inbox, sub, old;
	char **kw = NULL;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_folder_create(st, "INBOX/child", 0, &sub), 0);
	T_ASSERT(ts_append(st, inbox, "A: 1\r\n\r\n1", STORE_FLAG_SEEN,
	                   "$Junk") == 1);
	T_ASSERT(ts_append(st, inbox, "A: 2\r\n\r\n2", 0, NULL) == 2);
	T_EQ_INT(store_folder_get(st, "INBOX", &f), 0);
	inbox_uv = f.uidvalidity;
	store_folder_clear(&f);

	T_EQ_INT(store_folder_rename(st, "inbox", "Old/Inbox"), 0);
	old = ts_folder_id(st, "Old/Inbox");
	T_ASSERT(old > 0 && old != inbox);
	T_EQ_INT(ts_folder_id(st, "Old"), ts_folder_id(st, "Old"));
	T_EQ_INT(ts_count(st, old), 2);
	T_EQ_INT(ts_count(st, inbox), 0);
	T_EQ_INT(ts_folder_id(st, "INBOX/child"), sub);
	T_EQ_INT(store_folder_status(st, old, &stt), 0);
	T_EQ_INT(stt.uidnext, 3);
	T_EQ_INT(stt.unseen, 1);
	T_EQ_INT(store_folder_keywords(st, old, &kw, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_STR(kw[0], "$Junk");
	store_strv_free(kw, n);
	/* INBOX keeps its UIDVALIDITY and UIDNEXT; the UIDs are expunged. */
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.uidnext, 3);
	T_EQ_INT(stt.uidvalidity, inbox_uv);
	T_EQ_INT(stt.highestmodseq, 4);
	T_EQ_INT(store_expunged_since(st, inbox, 3, &uids, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(uids[0], 1);
	T_EQ_INT(uids[1], 2);
	free(uids);
	T_ASSERT(ts_append(st, inbox, "A: 3\r\n\r\n3", 0, NULL) == 3);
	T_EQ_INT(store_folder_rename(st, "INBOX", "Old/Inbox"),
	         -STORE_ERR_EXISTS);
	/* An empty INBOX renames fine too. */
	T_EQ_INT(store_folder_rename(st, "INBOX", "Again"), 0);
	T_EQ_INT(ts_count(st, ts_folder_id(st, "Again")), 1);
	ts_close_cleanup(&st);
}

static void
test_subscriptions(void)
{
	struct store *st = ts_open_new();
	char **v = NULL;
	size_t n = 0;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_create(st, "Lists/dev", 0, NULL), 0);
	T_EQ_INT(store_folder_subscribe(st, "Lists/dev", 1), 0);
	T_EQ_INT(store_folder_subscribe(st, "Lists/dev", 1), 0);
	/* A name without a folder may be subscribed (RFC 3501 6.3.6). */
	T_EQ_INT(store_folder_subscribe(st, "Gone", 1), 0);
	T_EQ_INT(store_folder_subscribe(st, "inbox", 1), 0);
	T_EQ_INT(store_folder_subscribe(st, "bad/", 1), -STORE_ERR_INVALID);
	T_EQ_INT(store_subscriptions(st, &v, &n), 0);
	T_EQ_INT(n, 3);
	T_EQ_STR(v[0], "INBOX");
	T_EQ_STR(v[1], "Gone");
	T_EQ_STR(v[2], "Lists/dev");
	store_strv_free(v, n);
	T_EQ_INT(store_folder_subscribe(st, "Gone", 0), 0);
	T_EQ_INT(store_folder_subscribe(st, "Gone", 0), -STORE_ERR_NOTFOUND);
	/* Deleting a folder keeps its subscription (RFC 3501 6.3.4). */
	T_EQ_INT(store_folder_delete(st, "Lists/dev"), 0);
	T_EQ_INT(store_subscriptions(st, &v, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(v[1], "Lists/dev");
	store_strv_free(v, n);
	ts_close_cleanup(&st);
}

static void
test_status_recent(void)
{
	struct store *st = ts_open_new();
	struct store_folder_status stt;
	uint32_t first;
	int64_t inbox;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_folder_status(st, 424242, &stt), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.messages, 0);
	T_EQ_INT(stt.recent, 0);
	T_EQ_INT(stt.size, 0);
	T_EQ_INT(stt.uidnext, 1);
	T_ASSERT(ts_append(st, inbox, "A: 1\r\n\r\n1", STORE_FLAG_SEEN, NULL) ==
	         1);
	T_ASSERT(ts_append(st, inbox, "A: 2\r\n\r\n22", STORE_FLAG_DELETED,
	                   NULL) == 2);
	T_ASSERT(ts_append(st, inbox, "A: 3\r\n\r\n333", 0, NULL) == 3);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.messages, 3);
	T_EQ_INT(stt.recent, 3);
	T_EQ_INT(stt.unseen, 2);
	T_EQ_INT(stt.deleted, 1);
	T_EQ_INT(stt.uidnext, 4);
	T_EQ_INT(stt.highestmodseq, 4);
	T_EQ_INT(stt.size, 9 + 10 + 11);

	/* The first SELECT claims them; the next sees none. */
	T_EQ_INT(store_folder_claim_recent(st, inbox, &first), 0);
	T_EQ_INT(first, 1);
	T_EQ_INT(store_folder_claim_recent(st, inbox, &first), 0);
	T_EQ_INT(first, 4);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.recent, 0);
	T_ASSERT(ts_append(st, inbox, "A: 4\r\n\r\n", 0, NULL) == 4);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.recent, 1);
	T_EQ_INT(store_folder_claim_recent(st, inbox, &first), 0);
	T_EQ_INT(first, 4);
	T_EQ_INT(store_folder_claim_recent(st, 999, &first),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_import_marks(void)
{
	struct store *st = ts_open_new();
	unsigned char d1[32], d2[32];
	int64_t inbox, x;

	T_ASSERT(st != NULL);
	memset(d1, 1, sizeof d1);
	memset(d2, 2, sizeof d2);
	inbox = ts_folder_id(st, "INBOX");
	T_EQ_INT(store_folder_create(st, "x", 0, &x), 0);
	T_EQ_INT(store_import_seen(st, inbox, d1), 0);
	T_EQ_INT(store_import_mark(st, inbox, d1), 0);
	T_EQ_INT(store_import_mark(st, inbox, d1), 0);
	T_EQ_INT(store_import_seen(st, inbox, d1), 1);
	T_EQ_INT(store_import_seen(st, inbox, d2), 0);
	T_EQ_INT(store_import_seen(st, x, d1), 0);
	T_EQ_INT(store_import_mark(st, 12345, d1), -STORE_ERR_NOTFOUND);
	/* Gone with the folder. */
	T_EQ_INT(store_import_mark(st, x, d2), 0);
	T_EQ_INT(store_folder_delete(st, "x"), 0);
	T_EQ_INT(store_import_seen(st, x, d2), 0);
	ts_close_cleanup(&st);
}

static void
test_file_size(void)
{
	struct store *st = ts_open_new();
	uint64_t a = 0, b = 0;
	char big[100000];

	T_ASSERT(st != NULL);
	T_EQ_INT(store_file_size(st, &a), 0);
	T_ASSERT(a > 0);
	memset(big, 'x', sizeof big);
	memcpy(big, "A: b\r\n\r\n", 8);
	T_EQ_INT(ts_append_len(st, ts_folder_id(st, "INBOX"), big, sizeof big),
	         1);
	T_EQ_INT(store_file_size(st, &b), 0);
	T_ASSERT(b >= a + sizeof big);
	ts_close_cleanup(&st);
}

static void
test_folder_limit(void)
{
	struct store *st = ts_open_new();
	char name[32];
	int i, rc = 0;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_begin(st), 0);
	/* INBOX is one. */
	for (i = 1; i < STORE_FOLDERS_MAX && rc == 0; i++) {
		snprintf(name, sizeof name, "f%d", i);
		rc = store_folder_create(st, name, 0, NULL);
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(store_folder_create(st, "one-more", 0, NULL),
	         -STORE_ERR_LIMIT);
	T_EQ_INT(store_commit(st), 0);
	ts_close_cleanup(&st);
}

/* Two processes appending at once: no error, no lost or doubled UID. */
static void
test_concurrent_processes(void)
{
	struct store *st = ts_open_new(), *cst = NULL;
	const char *err = NULL;
	uint32_t *uids = NULL;
	size_t n = 0, i;
	int64_t inbox;
	int k, status = -1, fails = 0;
	pid_t pid;

	T_ASSERT(st != NULL);
	inbox = ts_folder_id(st, "INBOX");
	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		if (store_open(ts_path, 0, &cst, &err) < 0)
			_exit(2);
		for (k = 0; k < 100; k++)
			if (ts_append(cst, inbox, "From: child\r\n\r\nc", 0,
			              NULL) < 0)
				_exit(3);
		store_close(&cst);
		_exit(0);
	}
	for (k = 0; k < 100; k++)
		fails += ts_append(st, inbox, "From: parent\r\n\r\np", 0,
		                   NULL) < 0;
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_EQ_INT(fails, 0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 200);
	for (i = 0; i < n; i++)
		if (uids[i] != i + 1)
			break;
	free(uids);
	T_EQ_INT(i, 200);
	ts_close_cleanup(&st);
}

/* store_folder_ensure: found, created and subscribed, or a \Noselect
 * parent made selectable; the same id each time. */
static void
test_folder_ensure(void)
{
	struct store *st = ts_open_new();
	struct store_folder f;
	int64_t id = 0, id2 = 0, a;
	char **subs = NULL;
	size_t nsubs = 0, i;
	int found = 0;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_ensure(st, "Work/Mail", &id), 0);
	T_ASSERT(id > 0);
	T_EQ_INT(store_folder_ensure(st, "Work/Mail", &id2), 0);
	T_EQ_INT(id2, id);
	T_EQ_INT(store_folder_ensure(st, "inbox", &id2), 0);
	T_EQ_INT(id2, ts_folder_id(st, "INBOX"));
	T_EQ_INT(store_subscriptions(st, &subs, &nsubs), 0);
	for (i = 0; i < nsubs; i++)
		found |= strcmp(subs[i], "Work/Mail") == 0;
	store_strv_free(subs, nsubs);
	T_ASSERT(found);
	/* "Work" is a plain parent; made \Noselect by a delete, then
	 * ensured: selectable again. */
	a = ts_folder_id(st, "Work");
	T_EQ_INT(store_folder_delete(st, "Work"), 0);
	T_EQ_INT(store_folder_ensure(st, "Work", &id2), 0);
	T_EQ_INT(id2, a);
	T_EQ_INT(store_folder_get(st, "Work", &f), 0);
	T_EQ_INT(f.noselect, 0);
	store_folder_clear(&f);
	T_EQ_INT(store_folder_ensure(st, "", &id2), -STORE_ERR_INVALID);
	T_EQ_INT(store_folder_ensure(st, "a//b", NULL), -STORE_ERR_INVALID);
	ts_close_cleanup(&st);
}

static const struct test_case tests[] = {
        {"folder_ensure", test_folder_ensure},
        {"open_create_reopen", test_open_create_reopen},
        {"open_errors", test_open_errors},
        {"schema_newer_refused", test_schema_newer_refused},
        {"errors_text", test_errors_text},
        {"settings", test_settings},
        {"transactions", test_transactions},
        {"backup", test_backup},
        {"data_version", test_data_version},
        {"folder_names", test_folder_names},
        {"folder_create", test_folder_create},
        {"folder_delete", test_folder_delete},
        {"folder_delete_shared_blob", test_folder_delete_shared_blob},
        {"folder_rename", test_folder_rename},
        {"folder_rename_inbox", test_folder_rename_inbox},
        {"subscriptions", test_subscriptions},
        {"status_recent", test_status_recent},
        {"import_marks", test_import_marks},
        {"file_size", test_file_size},
        {"folder_limit", test_folder_limit},
        {"concurrent_processes", test_concurrent_processes},
        {NULL, NULL},
};

TEST_MAIN(tests)
