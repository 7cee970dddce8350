/*
 * db/store_changes.c: what changed in a folder since a modseq, for
 * sessions catching up with other sessions and processes, CONDSTORE
 * CHANGEDSINCE and QRESYNC (RFC 7162 3.1.4, 3.2.5 VANISHED). Modseqs are
 * per folder (see store_schema.c); expunges are remembered in `expunged`.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "../common/xalloc.h"
#include "store_int.h"

static int
changes_since(struct store *st, int64_t folder_id, uint64_t since,
              struct store_change **ch_r, size_t *n_r)
{
	struct store_folder_row fr;
	struct store_change *ch = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	s = store_stmt(st, "SELECT uid, flags, keywords, modseq FROM messages"
	                   " WHERE folder_id = ?1 AND modseq > ?2"
	                   " ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2,
	                   since > INT64_MAX ? INT64_MAX : (int64_t)since);
	while ((rc = store_step(st, s, "changes")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 64;
			ch = xreallocarray(ch, size, sizeof *ch);
		}
		ch[n].uid = (uint32_t)sqlite3_column_int64(s, 0);
		ch[n].flags = (uint32_t)sqlite3_column_int(s, 1);
		ch[n].keywords = xmemdup0(sqlite3_column_text(s, 2),
		                          (size_t)sqlite3_column_bytes(s, 2));
		ch[n].modseq = (uint64_t)sqlite3_column_int64(s, 3);
		n++;
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		store_changes_free(ch, n);
		return rc;
	}
	*ch_r = ch;
	*n_r = n;
	return 0;
}

int
store_changes_since(struct store *st, int64_t folder_id, uint64_t since,
                    struct store_change **ch_r, size_t *n_r)
{
	int rc;

	*ch_r = NULL;
	*n_r = 0;
	if ((rc = store_tx_begin(st, 0)) < 0)
		return rc;
	rc = changes_since(st, folder_id, since, ch_r, n_r);
	if ((rc = store_tx_end(st, rc)) < 0) {
		store_changes_free(*ch_r, *n_r);
		*ch_r = NULL;
		*n_r = 0;
	}
	return rc;
}

void
store_changes_free(struct store_change *ch, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ch[i].keywords);
	free(ch);
}

static int
expunged_since(struct store *st, int64_t folder_id, uint64_t since,
               uint32_t **uids_r, size_t *n_r)
{
	struct store_folder_row fr;
	uint32_t *uids = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	s = store_stmt(st, "SELECT uid FROM expunged"
	                   " WHERE folder_id = ?1 AND modseq > ?2"
	                   " ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2,
	                   since > INT64_MAX ? INT64_MAX : (int64_t)since);
	while ((rc = store_step(st, s, "expunged")) == SQLITE_ROW) {
		if (n == size) {
			size = size ? size * 2 : 64;
			uids = xreallocarray(uids, size, sizeof *uids);
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(s, 0);
	}
	store_stmt_done(st, s);
	if (rc < 0) {
		free(uids);
		return rc;
	}
	*uids_r = uids;
	*n_r = n;
	return 0;
}

int
store_expunged_since(struct store *st, int64_t folder_id, uint64_t since,
                     uint32_t **uids_r, size_t *n_r)
{
	int rc;

	*uids_r = NULL;
	*n_r = 0;
	if ((rc = store_tx_begin(st, 0)) < 0)
		return rc;
	rc = expunged_since(st, folder_id, since, uids_r, n_r);
	if ((rc = store_tx_end(st, rc)) < 0) {
		free(*uids_r);
		*uids_r = NULL;
		*n_r = 0;
	}
	return rc;
}
