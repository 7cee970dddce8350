/*
 * db/store_folder.c: folders (RFC 3501 6.3.3-6.3.9 CREATE, DELETE,
 * RENAME, SUBSCRIBE, LSUB, STATUS; RFC 6154 SPECIAL-USE attributes):
 * name rules and INBOX normalisation, the \Noselect parent rules, UIDs,
 * \Recent claiming, and the per-folder keyword registry that FLAGS and
 * PERMANENTFLAGS show (RFC 3501 2.3.2).
 *
 * Invariant kept here: every folder's parent exists (created as a plain
 * folder, or kept as \Noselect when deleted with children), and a
 * \Noselect folder without children is removed.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "store_int.h"

/* ---- names ---- */

const char *
store_special_name(enum store_special sp)
{
	switch (sp) {
	case STORE_SPECIAL_NONE:
		return NULL;
	case STORE_SPECIAL_SENT:
		return "\\Sent";
	case STORE_SPECIAL_DRAFTS:
		return "\\Drafts";
	case STORE_SPECIAL_TRASH:
		return "\\Trash";
	case STORE_SPECIAL_JUNK:
		return "\\Junk";
	case STORE_SPECIAL_ARCHIVE:
		return "\\Archive";
	}
	return NULL;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
int
store_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
store_folder_name_norm(struct store *st, const char *name, char *out)
{
	size_t len, i, depth = 1;

	if (name == NULL || name[0] == '\0')
		return store_fail(st, STORE_ERR_INVALID, "empty folder name");
	len = strlen(name);
	if (len > FOLDER_NAME_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "folder name longer than %d bytes",
		                  FOLDER_NAME_MAX);
	if (name[0] == '/' || name[len - 1] == '/')
		return store_fail(st, STORE_ERR_INVALID,
		                  "folder name starts or ends with '/'");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return store_fail(st, STORE_ERR_INVALID,
			                  "control character in folder name");
		if (c == '*' || c == '%')
			return store_fail(st, STORE_ERR_INVALID,
			                  "'*' or '%%' in folder name");
		if (c == '/') {
			if (name[i + 1] == '/')
				return store_fail(st, STORE_ERR_INVALID,
				                  "empty component in folder "
				                  "name");
			depth++;
		}
	}
	if (depth > FOLDER_DEPTH_MAX)
		return store_fail(st, STORE_ERR_INVALID,
		                  "folder name deeper than %d levels",
		                  FOLDER_DEPTH_MAX);
	if (!store_utf8_valid(name, len))
		return store_fail(st, STORE_ERR_INVALID,
		                  "folder name is not valid UTF-8");
	memcpy(out, name, len + 1);
	/* INBOX in any case is INBOX, also as the first component. */
	if ((len == 5 || (len > 5 && name[5] == '/')) &&
	    str_ncasecmp_ascii(name, "INBOX", 5) == 0)
		memcpy(out, "INBOX", 5);
	return 0;
}

static int
is_inbox(const char *norm)
{
	return strcmp(norm, "INBOX") == 0;
}

/* Binds the range of names strictly below name ("name/" <= x < "name0"). */
static void
bind_children(sqlite3_stmt *s, int col, const char *name, char *lo, char *hi)
{
	size_t len = strlen(name);

	memcpy(lo, name, len);
	lo[len] = '/';
	memcpy(hi, name, len);
	hi[len] = '/' + 1;
	sqlite3_bind_text(s, col, lo, (int)len + 1, SQLITE_STATIC);
	sqlite3_bind_text(s, col + 1, hi, (int)len + 1, SQLITE_STATIC);
}

/* ---- rows ---- */

int
store_folder_row_get(struct store *st, int64_t id, int selectable,
                     struct store_folder_row *r_r)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT uidvalidity, uidnext, highestmodseq,"
	                   " noselect FROM folders WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, "folder row");
	if (rc == SQLITE_ROW) {
		r_r->id = id;
		r_r->uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
		r_r->uidnext = (uint32_t)sqlite3_column_int64(s, 1);
		r_r->highestmodseq = (uint64_t)sqlite3_column_int64(s, 2);
		r_r->noselect = sqlite3_column_int(s, 3);
		rc = 0;
		if (selectable && r_r->noselect)
			rc = store_fail(st, STORE_ERR_NOTFOUND,
			                "folder is not selectable");
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_folder_row_put(struct store *st, const struct store_folder_row *r)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "UPDATE folders SET uidnext = ?2,"
	                   " highestmodseq = ?3 WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, r->id);
	sqlite3_bind_int64(s, 2, r->uidnext);
	sqlite3_bind_int64(s, 3, (int64_t)r->highestmodseq);
	rc = store_step(st, s, "folder update");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

/* Looks a folder up by normalised name (len bytes): 1 found, 0 not. */
static int
folder_find(struct store *st, const char *name, size_t len, int64_t *id_r,
            int *noselect_r)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT id, noselect FROM folders WHERE name = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, (int)len, SQLITE_STATIC);
	rc = store_step(st, s, "folder find");
	if (rc == SQLITE_ROW) {
		if (id_r != NULL)
			*id_r = sqlite3_column_int64(s, 0);
		if (noselect_r != NULL)
			*noselect_r = sqlite3_column_int(s, 1);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	}
	store_stmt_done(st, s);
	return rc;
}

/* 1 when some folder lies below name, else 0. */
static int
folder_has_children(struct store *st, const char *name)
{
	char lo[FOLDER_NAME_MAX + 2], hi[FOLDER_NAME_MAX + 2];
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "SELECT 1 FROM folders"
	                   " WHERE name >= ?1 AND name < ?2 LIMIT 1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	bind_children(s, 1, name, lo, hi);
	rc = store_step(st, s, "folder children");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return rc == SQLITE_ROW;
}

static int
folder_count_check(struct store *st)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int rc;

	if ((s = store_stmt(st, "SELECT count(*) FROM folders")) == NULL)
		return -STORE_ERR_INTERNAL;
	if ((rc = store_step(st, s, "folder count")) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (n >= STORE_FOLDERS_MAX)
		return store_fail(st, STORE_ERR_LIMIT, "more than %d folders",
		                  STORE_FOLDERS_MAX);
	return 0;
}

static int
folder_insert(struct store *st, const char *name, size_t len,
              enum store_special special, int64_t *id_r)
{
	sqlite3_stmt *s;
	uint32_t uidvalidity;
	int rc;

	if ((rc = folder_count_check(st)) < 0 ||
	    (rc = store_next_uidvalidity(st, &uidvalidity)) < 0)
		return rc;
	s = store_stmt(st, "INSERT INTO folders(name, uidvalidity, special)"
	                   " VALUES(?1, ?2, ?3)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, name, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, uidvalidity);
	sqlite3_bind_int(s, 3, (int)special);
	rc = store_step(st, s, "folder insert");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* Creates the missing parents of name (len bytes) as plain folders. */
static int
folder_make_parents(struct store *st, const char *name, size_t len)
{
	size_t i;
	int64_t id = 0;
	int rc;

	for (i = 1; i < len; i++) {
		if (name[i] != '/')
			continue;
		if ((rc = folder_find(st, name, i, NULL, NULL)) < 0)
			return rc;
		if (rc == 0 &&
		    (rc = folder_insert(st, name, i, STORE_SPECIAL_NONE, &id)) <
		            0)
			return rc;
	}
	return 0;
}

/* Drops the expunge memory and keywords of a folder whose UIDVALIDITY
 * changes or whose messages all went. */
static int
folder_forget(struct store *st, int64_t id)
{
	static const char *const sqls[] = {
	        "DELETE FROM expunged WHERE folder_id = ?1",
	        "DELETE FROM keywords WHERE folder_id = ?1",
	};
	sqlite3_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
		if ((s = store_stmt(st, sqls[i])) == NULL)
			return -STORE_ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, id);
		rc = store_step(st, s, "folder forget");
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Removes \Noselect ancestors of name left without children. */
static int
folder_prune_parents(struct store *st, const char *name)
{
	char parent[FOLDER_NAME_MAX + 1];
	size_t len = strlen(name);
	sqlite3_stmt *s;
	int64_t id = 0;
	int noselect = 0, rc;

	memcpy(parent, name, len + 1);
	while (len > 0) {
		while (len > 0 && parent[len - 1] != '/')
			len--;
		if (len == 0)
			break;
		parent[--len] = '\0';
		if ((rc = folder_find(st, parent, len, &id, &noselect)) < 0)
			return rc;
		if (rc == 0 || !noselect)
			break;
		if ((rc = folder_has_children(st, parent)) != 0)
			return rc < 0 ? rc : 0;
		s = store_stmt(st, "DELETE FROM folders WHERE id = ?1");
		if (s == NULL)
			return -STORE_ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, id);
		rc = store_step(st, s, "folder prune");
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- folder structs ---- */

void
store_folder_clear(struct store_folder *f)
{
	free(f->name);
	f->name = NULL;
}

void
store_folder_list_free(struct store_folder *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_folder_clear(&list[i]);
	free(list);
}

#define FOLDER_COLS                                                            \
	"SELECT f.id, f.name, f.uidvalidity, f.uidnext, f.highestmodseq,"      \
	" f.special, f.noselect,"                                              \
	" EXISTS(SELECT 1 FROM subscriptions s WHERE s.name = f.name)"         \
	" FROM folders f"

static void
folder_from_row(sqlite3_stmt *s, struct store_folder *f)
{
	f->id = sqlite3_column_int64(s, 0);
	f->name = xmemdup0(sqlite3_column_text(s, 1),
	                   (size_t)sqlite3_column_bytes(s, 1));
	f->uidvalidity = (uint32_t)sqlite3_column_int64(s, 2);
	f->uidnext = (uint32_t)sqlite3_column_int64(s, 3);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(s, 4);
	f->special = (enum store_special)sqlite3_column_int(s, 5);
	f->noselect = sqlite3_column_int(s, 6);
	f->subscribed = sqlite3_column_int(s, 7);
}

int
store_folder_list(struct store *st, struct store_folder **list_r, size_t *n_r)
{
	struct store_folder *list = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	*list_r = NULL;
	*n_r = 0;
	s = store_stmt(st, FOLDER_COLS " ORDER BY f.name <> 'INBOX', f.name");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	while ((rc = store_step(st, s, "folder list")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 16;
			list = xreallocarray(list, size, sizeof *list);
		}
		folder_from_row(s, &list[n++]);
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_folder_list_free(list, n);
		return rc;
	}
	*list_r = list;
	*n_r = n;
	return 0;
}

static int
folder_get_stmt(struct store *st, sqlite3_stmt *s, struct store_folder *f_r)
{
	int rc = store_step(st, s, "folder get");

	if (rc == SQLITE_ROW) {
		folder_from_row(s, f_r);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	}
	store_stmt_done(st, s);
	return rc;
}

int
store_folder_get(struct store *st, const char *name, struct store_folder *f_r)
{
	char norm[FOLDER_NAME_MAX + 1];
	sqlite3_stmt *s;
	int rc;

	memset(f_r, 0, sizeof *f_r);
	if ((rc = store_folder_name_norm(st, name, norm)) < 0)
		return rc;
	if ((s = store_stmt(st, FOLDER_COLS " WHERE f.name = ?1")) == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
	return folder_get_stmt(st, s, f_r);
}

int
store_folder_get_by_id(struct store *st, int64_t id, struct store_folder *f_r)
{
	sqlite3_stmt *s;

	memset(f_r, 0, sizeof *f_r);
	if ((s = store_stmt(st, FOLDER_COLS " WHERE f.id = ?1")) == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	return folder_get_stmt(st, s, f_r);
}

/* ---- create ---- */

/* Creates norm (parents too), inside a write transaction. */
static int
folder_create(struct store *st, const char *norm, enum store_special special,
              int64_t *id_r)
{
	size_t len = strlen(norm);
	sqlite3_stmt *s;
	uint32_t uidvalidity;
	int64_t id = 0;
	int noselect = 0, rc;

	if ((rc = folder_find(st, norm, len, &id, &noselect)) < 0)
		return rc;
	if (rc == 1 && !noselect)
		return store_fail(st, STORE_ERR_EXISTS, "folder exists");
	if (rc == 0) {
		if ((rc = folder_make_parents(st, norm, len)) < 0 ||
		    (rc = folder_insert(st, norm, len, special, id_r)) < 0)
			return rc;
		return 0;
	}
	/* A \Noselect parent becomes selectable again: a new UIDVALIDITY,
	 * so no client trusts what it cached of the old one. */
	if ((rc = store_next_uidvalidity(st, &uidvalidity)) < 0 ||
	    (rc = folder_forget(st, id)) < 0)
		return rc;
	s = store_stmt(st, "UPDATE folders SET noselect = 0, uidvalidity = ?2,"
	                   " special = ?3, first_recent_uid = uidnext"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, uidvalidity);
	sqlite3_bind_int(s, 3, (int)special);
	rc = store_step(st, s, "folder reselect");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	*id_r = id;
	return 0;
}

int
store_folder_create(struct store *st, const char *name,
                    enum store_special special, int64_t *id_r)
{
	char norm[FOLDER_NAME_MAX + 1];
	int64_t id = 0;
	int rc;

	if ((unsigned)special > STORE_SPECIAL_ARCHIVE)
		return store_fail(st, STORE_ERR_INVALID, "bad special use");
	if ((rc = store_folder_name_norm(st, name, norm)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	rc = folder_create(st, norm, special, &id);
	if ((rc = store_tx_end(st, rc)) < 0)
		return rc;
	if (id_r != NULL)
		*id_r = id;
	return 0;
}

/* ---- delete ---- */

static int
folder_delete_messages(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc;

	/* Row by row, so the trigger drops blobs no copy refers to. */
	s = store_stmt(st, "DELETE FROM messages WHERE folder_id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, "folder delete messages");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

static int
folder_delete(struct store *st, const char *norm)
{
	sqlite3_stmt *s;
	int64_t id = 0;
	int noselect = 0, children, rc;

	if ((rc = folder_find(st, norm, strlen(norm), &id, &noselect)) < 0)
		return rc;
	if (rc == 0)
		return store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	if ((children = folder_has_children(st, norm)) < 0)
		return children;
	if (children && noselect)
		return store_fail(st, STORE_ERR_HASCHILDREN,
		                  "folder has children and no messages");
	if ((rc = folder_delete_messages(st, id)) < 0)
		return rc;
	if (children) {
		/* RFC 3501 6.3.4: the name stays, as \Noselect. */
		if ((rc = folder_forget(st, id)) < 0)
			return rc;
		s = store_stmt(st, "UPDATE folders SET noselect = 1,"
		                   " special = 0 WHERE id = ?1");
	} else {
		s = store_stmt(st, "DELETE FROM folders WHERE id = ?1");
	}
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s, "folder delete");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return children ? 0 : folder_prune_parents(st, norm);
}

int
store_folder_delete(struct store *st, const char *name)
{
	char norm[FOLDER_NAME_MAX + 1];
	int rc;

	if ((rc = store_folder_name_norm(st, name, norm)) < 0)
		return rc;
	if (is_inbox(norm))
		return store_fail(st, STORE_ERR_NOPERM,
		                  "INBOX cannot be deleted");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, folder_delete(st, norm));
}

/* ---- rename ---- */

/* RFC 3501 6.3.5: INBOX's messages move to a new folder; INBOX stays,
 * empty, with its UIDVALIDITY, and its children do not move. */
static int
folder_rename_inbox(struct store *st, const char *to)
{
	static const char *const move_sqls[] = {
	        "INSERT INTO expunged(folder_id, uid, modseq)"
	        " SELECT ?1, uid, ?3 FROM messages WHERE folder_id = ?1",
	        "UPDATE messages SET folder_id = ?2 WHERE folder_id = ?1",
	        "INSERT INTO keywords(folder_id, name)"
	        " SELECT ?2, name FROM keywords WHERE folder_id = ?1"
	        " ORDER BY id",
	        "UPDATE folders SET uidnext = (SELECT uidnext FROM folders"
	        " WHERE id = ?1), highestmodseq = (SELECT highestmodseq"
	        " FROM folders WHERE id = ?1), first_recent_uid ="
	        " (SELECT uidnext FROM folders WHERE id = ?1) WHERE id = ?2",
	};
	struct store_folder_row inbox;
	sqlite3_stmt *s;
	int64_t inbox_id = 0, new_id = 0;
	size_t i;
	int rc, moved;

	if ((rc = folder_find(st, "INBOX", 5, &inbox_id, NULL)) < 0)
		return rc;
	if (rc == 0)
		return store_fail(st, STORE_ERR_INTERNAL, "INBOX missing");
	if ((rc = folder_create(st, to, STORE_SPECIAL_NONE, &new_id)) < 0)
		return rc;
	if ((rc = store_folder_row_get(st, inbox_id, 0, &inbox)) < 0)
		return rc;
	moved = 0;
	for (i = 0; i < sizeof move_sqls / sizeof move_sqls[0]; i++) {
		if ((s = store_stmt(st, move_sqls[i])) == NULL)
			return -STORE_ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, inbox_id);
		sqlite3_bind_int64(s, 2, new_id);
		sqlite3_bind_int64(s, 3, (int64_t)inbox.highestmodseq + 1);
		rc = store_step(st, s, "rename INBOX");
		if (i == 0)
			moved = sqlite3_changes(st->db);
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
	}
	if (moved > 0) {
		inbox.highestmodseq++;
		if ((rc = store_folder_row_put(st, &inbox)) < 0)
			return rc;
	}
	return 0;
}

struct rename_item {
	int64_t id;
	char *name;
};

static void
rename_items_free(struct rename_item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(it[i].name);
	free(it);
}

/* The folder and everything below it, parents first. */
static int
rename_collect(struct store *st, const char *from, int64_t from_id,
               struct rename_item **it_r, size_t *n_r)
{
	char lo[FOLDER_NAME_MAX + 2], hi[FOLDER_NAME_MAX + 2];
	struct rename_item *it;
	size_t n = 1, size = 16;
	sqlite3_stmt *s;
	int rc;

	it = xreallocarray(NULL, size, sizeof *it);
	it[0].id = from_id;
	it[0].name = xstrdup(from);
	s = store_stmt(st, "SELECT id, name FROM folders"
	                   " WHERE name >= ?1 AND name < ?2 ORDER BY name");
	if (s == NULL) {
		rename_items_free(it, n);
		return -STORE_ERR_INTERNAL;
	}
	bind_children(s, 1, from, lo, hi);
	while ((rc = store_step(st, s, "rename list")) == SQLITE_ROW) {
		if (n == size) {
			size *= 2;
			it = xreallocarray(it, size, sizeof *it);
		}
		it[n].id = sqlite3_column_int64(s, 0);
		it[n].name = xmemdup0(sqlite3_column_text(s, 1),
		                      (size_t)sqlite3_column_bytes(s, 1));
		n++;
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		rename_items_free(it, n);
		return rc;
	}
	*it_r = it;
	*n_r = n;
	return 0;
}

static int
rename_one(struct store *st, const struct rename_item *item,
           const char *newname)
{
	sqlite3_stmt *s;
	uint32_t uidvalidity;
	int rc;

	if ((rc = store_next_uidvalidity(st, &uidvalidity)) < 0)
		return rc;
	s = store_stmt(st, "UPDATE folders SET name = ?2, uidvalidity = ?3"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, item->id);
	sqlite3_bind_text(s, 2, newname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uidvalidity);
	rc = store_step(st, s, "rename");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	s = store_stmt(st, "DELETE FROM expunged WHERE folder_id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, item->id);
	rc = store_step(st, s, "rename expunged");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	/* Subscriptions follow the folder (as Dovecot does). */
	s = store_stmt(st, "UPDATE OR REPLACE subscriptions SET name = ?2"
	                   " WHERE name = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, item->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, newname, -1, SQLITE_STATIC);
	rc = store_step(st, s, "rename subscription");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

static int
folder_rename(struct store *st, const char *from, const char *to)
{
	char newname[FOLDER_NAME_MAX + 1];
	struct rename_item *it = NULL;
	size_t n = 0, i, flen = strlen(from), tlen = strlen(to), k, depth;
	int64_t from_id = 0;
	int rc;

	if ((rc = folder_find(st, to, tlen, NULL, NULL)) < 0)
		return rc;
	if (rc == 1)
		return store_fail(st, STORE_ERR_EXISTS, "folder exists");
	if (is_inbox(from))
		return folder_rename_inbox(st, to);
	if ((rc = folder_find(st, from, flen, &from_id, NULL)) < 0)
		return rc;
	if (rc == 0)
		return store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	if (tlen > flen && memcmp(to, from, flen) == 0 && to[flen] == '/')
		return store_fail(st, STORE_ERR_INVALID,
		                  "cannot rename a folder below itself");
	if ((rc = rename_collect(st, from, from_id, &it, &n)) < 0)
		return rc;
	/* Every new name must be valid before anything moves. */
	for (i = 0; i < n; i++) {
		size_t rest = strlen(it[i].name) - flen;
		if (tlen + rest > FOLDER_NAME_MAX) {
			rc = store_fail(st, STORE_ERR_INVALID,
			                "folder name longer than %d bytes",
			                FOLDER_NAME_MAX);
			goto done;
		}
		for (depth = 1, k = 0; k < tlen; k++)
			depth += to[k] == '/';
		for (k = flen; it[i].name[k] != '\0'; k++)
			depth += it[i].name[k] == '/';
		if (depth > FOLDER_DEPTH_MAX) {
			rc = store_fail(st, STORE_ERR_INVALID,
			                "folder name deeper than %d levels",
			                FOLDER_DEPTH_MAX);
			goto done;
		}
	}
	if ((rc = folder_make_parents(st, to, tlen)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		size_t rest = strlen(it[i].name) - flen;
		memcpy(newname, to, tlen);
		memcpy(newname + tlen, it[i].name + flen, rest + 1);
		if ((rc = rename_one(st, &it[i], newname)) < 0)
			goto done;
	}
	rc = folder_prune_parents(st, from);
done:
	rename_items_free(it, n);
	return rc;
}

int
store_folder_rename(struct store *st, const char *from, const char *to)
{
	char nfrom[FOLDER_NAME_MAX + 1], nto[FOLDER_NAME_MAX + 1];
	int rc;

	if ((rc = store_folder_name_norm(st, from, nfrom)) < 0 ||
	    (rc = store_folder_name_norm(st, to, nto)) < 0)
		return rc;
	if (strcmp(nfrom, nto) == 0)
		return store_fail(st, STORE_ERR_EXISTS, "folder exists");
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, folder_rename(st, nfrom, nto));
}

/* ---- subscriptions ---- */

static int
subscribe(struct store *st, const char *norm, int on)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int rc;

	if (on) {
		s = store_stmt(st, "SELECT count(*) FROM subscriptions");
		if (s == NULL)
			return -STORE_ERR_INTERNAL;
		if ((rc = store_step(st, s, "subscriptions")) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
		if (n >= STORE_FOLDERS_MAX)
			return store_fail(st, STORE_ERR_LIMIT,
			                  "more than %d subscriptions",
			                  STORE_FOLDERS_MAX);
		s = store_stmt(st, "INSERT OR IGNORE INTO subscriptions(name)"
		                   " VALUES(?1)");
	} else {
		s = store_stmt(st, "DELETE FROM subscriptions WHERE name = ?1");
	}
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
	rc = store_step(st, s, "subscribe");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (!on && sqlite3_changes(st->db) == 0)
		return store_fail(st, STORE_ERR_NOTFOUND, "not subscribed");
	return 0;
}

int
store_folder_subscribe(struct store *st, const char *name, int on)
{
	char norm[FOLDER_NAME_MAX + 1];
	int rc;

	/* RFC 3501 6.3.6: a name without a folder may be subscribed. */
	if ((rc = store_folder_name_norm(st, name, norm)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	return store_tx_end(st, subscribe(st, norm, on));
}

static int
strv_query(struct store *st, sqlite3_stmt *s, const char *what, char ***v_r,
           size_t *n_r)
{
	char **v = NULL;
	size_t n = 0, size = 0;
	int rc;

	while ((rc = store_step(st, s, what)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 16;
			v = xreallocarray(v, size, sizeof *v);
		}
		v[n++] = xmemdup0(sqlite3_column_text(s, 0),
		                  (size_t)sqlite3_column_bytes(s, 0));
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_strv_free(v, n);
		return rc;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

int
store_subscriptions(struct store *st, char ***names_r, size_t *n_r)
{
	sqlite3_stmt *s;

	*names_r = NULL;
	*n_r = 0;
	s = store_stmt(st, "SELECT name FROM subscriptions"
	                   " ORDER BY name <> 'INBOX', name");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	return strv_query(st, s, "subscriptions", names_r, n_r);
}

void
store_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- status, recent, keywords, uids ---- */

int
store_folder_status(struct store *st, int64_t folder_id,
                    struct store_folder_status *s_r)
{
	sqlite3_stmt *s;
	int rc;

	memset(s_r, 0, sizeof *s_r);
	/* One statement: one consistent snapshot. */
	s = store_stmt(st, "SELECT f.uidnext, f.uidvalidity, f.highestmodseq,"
	                   " count(m.id),"
	                   " coalesce(sum((m.flags & 1) = 0), 0),"
	                   " coalesce(sum((m.flags & 8) <> 0), 0),"
	                   " coalesce(sum(m.uid >= f.first_recent_uid), 0),"
	                   " coalesce(sum(m.size), 0)"
	                   " FROM folders f"
	                   " LEFT JOIN messages m ON m.folder_id = f.id"
	                   " WHERE f.id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	rc = store_step(st, s, "folder status");
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		s_r->uidnext = (uint32_t)sqlite3_column_int64(s, 0);
		s_r->uidvalidity = (uint32_t)sqlite3_column_int64(s, 1);
		s_r->highestmodseq = (uint64_t)sqlite3_column_int64(s, 2);
		s_r->messages = (uint32_t)sqlite3_column_int64(s, 3);
		s_r->unseen = (uint32_t)sqlite3_column_int64(s, 4);
		s_r->deleted = (uint32_t)sqlite3_column_int64(s, 5);
		s_r->recent = (uint32_t)sqlite3_column_int64(s, 6);
		s_r->size = (uint64_t)sqlite3_column_int64(s, 7);
		rc = 0;
	} else if (rc >= 0) {
		rc = store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	}
	store_stmt_done(st, s);
	return rc;
}

static int
claim_recent(struct store *st, int64_t folder_id, uint32_t *first_r)
{
	sqlite3_stmt *s;
	int64_t first, next;
	int rc;

	s = store_stmt(st, "SELECT first_recent_uid, uidnext FROM folders"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	rc = store_step(st, s, "claim recent");
	first = sqlite3_column_int64(s, 0);
	next = sqlite3_column_int64(s, 1);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	if (rc == SQLITE_DONE)
		return store_fail(st, STORE_ERR_NOTFOUND, "no such folder");
	*first_r = (uint32_t)first;
	if (first == next || st->readonly)
		return 0;
	s = store_stmt(st, "UPDATE folders SET first_recent_uid = ?2"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, next);
	rc = store_step(st, s, "claim recent");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

int
store_folder_claim_recent(struct store *st, int64_t folder_id,
                          uint32_t *first_recent_r)
{
	sqlite3_stmt *s;
	uint64_t dv = 0;
	int rc, keep;

	/* Nothing new since the last SELECT (the usual case): a plain read,
	 * without taking the write lock that a poller may hold. */
	if (st->depth == 0) {
		s = store_stmt(st, "SELECT first_recent_uid, uidnext"
		                   " FROM folders WHERE id = ?1");
		if (s == NULL)
			return -STORE_ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, folder_id);
		rc = store_step(st, s, "claim recent");
		if (rc == SQLITE_ROW &&
		    sqlite3_column_int64(s, 0) == sqlite3_column_int64(s, 1)) {
			*first_recent_r = (uint32_t)sqlite3_column_int64(s, 0);
			store_stmt_done(st, s);
			return 0;
		}
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
	}
	if ((rc = store_tx_begin(st, 1)) < 0)
		return rc;
	/* The cached UID list (store_folder_uids) survives this change of
	 * folders.first_recent_uid when nobody committed since it was read:
	 * checked and re-stamped under the write lock. */
	keep = st->depth == 1 && st->uids_valid &&
	       store_data_version(st, &dv) == 0 && dv == st->uids_dv;
	rc = claim_recent(st, folder_id, first_recent_r);
	if (rc == 0 && keep && store_data_version(st, &dv) < 0)
		keep = 0;
	if ((rc = store_tx_end(st, rc)) < 0 || !keep) {
		st->uids_valid = 0;
		return rc;
	}
	st->uids_dv = dv;
	return 0;
}

int
store_folder_first_unseen(struct store *st, int64_t folder_id, uint32_t *uid_r)
{
	sqlite3_stmt *s;
	int rc;

	*uid_r = 0;
	/* Served by the partial index messages_unseen: the WHERE must
	 * match its "(flags & 1) = 0" word for word. */
	s = store_stmt(st, "SELECT uid FROM messages"
	                   " WHERE folder_id = ?1 AND (flags & 1) = 0"
	                   " ORDER BY uid LIMIT 1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	rc = store_step(st, s, "first unseen");
	if (rc == SQLITE_ROW)
		*uid_r = (uint32_t)sqlite3_column_int64(s, 0);
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

int
store_folder_keywords(struct store *st, int64_t folder_id, char ***kw_r,
                      size_t *n_r)
{
	struct store_folder_row fr;
	sqlite3_stmt *s;
	int rc;

	*kw_r = NULL;
	*n_r = 0;
	if ((rc = store_tx_begin(st, 0)) < 0)
		return rc;
	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return store_tx_end(st, rc);
	s = store_stmt(st, "SELECT name FROM keywords WHERE folder_id = ?1"
	                   " ORDER BY id");
	if (s == NULL)
		return store_tx_end(st, -STORE_ERR_INTERNAL);
	sqlite3_bind_int64(s, 1, folder_id);
	rc = strv_query(st, s, "folder keywords", kw_r, n_r);
	if ((rc = store_tx_end(st, rc)) < 0) {
		store_strv_free(*kw_r, *n_r);
		*kw_r = NULL;
		*n_r = 0;
	}
	return rc;
}

static int
folder_uids(struct store *st, int64_t folder_id, uint32_t **uids_r, size_t *n_r,
            uint64_t *modseq_r)
{
	struct store_folder_row fr;
	sqlite3_stmt *s;
	uint32_t *uids = NULL;
	size_t n = 0, size = 0;
	int rc;

	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	s = store_stmt(st, "SELECT uid FROM messages WHERE folder_id = ?1"
	                   " ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 1024;
			uids = xreallocarray(uids, size, sizeof *uids);
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE)
		rc = store_sqlfail(st, "folder uids");
	else
		rc = 0;
	store_stmt_done(st, s);
	if (rc < 0) {
		free(uids);
		return rc;
	}
	*uids_r = uids;
	*n_r = n;
	if (modseq_r != NULL)
		*modseq_r = fr.highestmodseq;
	return 0;
}

/* A copy of the cached list (n may be 0: one element allocated). */
static void
uids_copy(const uint32_t *src, size_t n, uint32_t **uids_r)
{
	*uids_r = xreallocarray(NULL, n ? n : 1, sizeof **uids_r);
	if (n > 0)
		memcpy(*uids_r, src, n * sizeof *src);
}

int
store_folder_uids(struct store *st, int64_t folder_id, uint32_t **uids_r,
                  size_t *n_r, uint64_t *modseq_r)
{
	uint64_t dv = 0;
	int rc, cacheable = st->depth == 0;

	*uids_r = NULL;
	*n_r = 0;
	/*
	 * The last answer is kept while no connection has committed
	 * anything (store_data_version): SELECT of a big folder then costs
	 * a copy, not a scan. Outside a caller's transaction only, since a
	 * list seen inside one may be rolled back.
	 */
	if (cacheable && st->uids_valid && st->uids_folder == folder_id &&
	    store_data_version(st, &dv) == 0 && dv == st->uids_dv) {
		uids_copy(st->uids, st->nuids, uids_r);
		*n_r = st->nuids;
		if (modseq_r != NULL)
			*modseq_r = st->uids_modseq;
		return 0;
	}
	/* A read transaction: the UIDs and the modseq of one snapshot. */
	if ((rc = store_tx_begin(st, 0)) < 0)
		return rc;
	rc = folder_uids(st, folder_id, uids_r, n_r, &st->uids_modseq);
	st->uids_valid = 0;
	/* The version of the snapshot just read, for the cache. */
	if (rc == 0 && cacheable && store_data_version(st, &dv) < 0)
		cacheable = 0;
	if ((rc = store_tx_end(st, rc)) < 0) {
		free(*uids_r);
		*uids_r = NULL;
		*n_r = 0;
		return rc;
	}
	if (modseq_r != NULL)
		*modseq_r = st->uids_modseq;
	if (cacheable) {
		free(st->uids);
		uids_copy(*uids_r, *n_r, &st->uids);
		st->nuids = *n_r;
		st->uids_folder = folder_id;
		st->uids_dv = dv;
		st->uids_valid = 1;
	}
	return 0;
}

int
store_folder_ensure(struct store *st, const char *name, int64_t *id_r)
{
	struct store_folder f;
	int rc = store_folder_get(st, name, &f);

	if (rc == 0) {
		int noselect = f.noselect;
		int64_t id = f.id;

		store_folder_clear(&f);
		if (!noselect) {
			if (id_r != NULL)
				*id_r = id;
			return 0;
		}
	} else if (rc != -STORE_ERR_NOTFOUND) {
		return rc;
	}
	rc = store_folder_create(st, name, STORE_SPECIAL_NONE, id_r);
	if (rc < 0)
		return rc;
	return store_folder_subscribe(st, name, 1);
}
