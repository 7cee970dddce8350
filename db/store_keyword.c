/*
 * db/store_keyword.c: keyword sets (RFC 3501 2.3.2 flag-keyword atoms):
 * parsing a space-separated list, checking atom chars and
 * KEYWORD_LEN_MAX, deduplicating ASCII case-insensitively in order of
 * first use, and the per-folder registry (at most KEYWORDS_PER_FOLDER_MAX,
 * first spelling canonical) that FLAGS and PERMANENTFLAGS show.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "store_int.h"

void
store_kwset_clear(struct store_kwset *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->kw[i]);
	k->n = 0;
}

int
store_kwset_find(const struct store_kwset *k, const char *kw, size_t len)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (str_ncasecmp_ascii(k->kw[i], kw, len) == 0 &&
		    k->kw[i][len] == '\0')
			return (int)i;
	return -1;
}

/* RFC 3501 atom chars, minus '\' (system flags are bits, not keywords). */
static int
kw_char_ok(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\]", c) == NULL;
}

int
store_kwset_parse(struct store *st, const char *s, struct store_kwset *k)
{
	size_t i, len;
	const char *p;

	k->n = 0;
	if (s == NULL)
		return 0;
	for (p = s; *p != '\0';) {
		if (*p == ' ') {
			p++;
			continue;
		}
		for (len = 0; p[len] != '\0' && p[len] != ' '; len++) {
			if (!kw_char_ok((unsigned char)p[len]))
				goto invalid;
		}
		if (len > KEYWORD_LEN_MAX) {
			store_kwset_clear(k);
			return store_fail(st, STORE_ERR_INVALID,
			                  "keyword longer than %d bytes",
			                  KEYWORD_LEN_MAX);
		}
		if (store_kwset_find(k, p, len) < 0) {
			if (k->n == KEYWORDS_PER_FOLDER_MAX) {
				store_kwset_clear(k);
				return store_fail(st, STORE_ERR_LIMIT,
				                  "more than %d keywords",
				                  KEYWORDS_PER_FOLDER_MAX);
			}
			k->kw[k->n++] = xmemdup0(p, len);
		}
		p += len;
	}
	return 0;

invalid:
	store_kwset_clear(k);
	for (i = 0; s[i] != '\0' && i < 200; i++)
		;
	return store_fail(st, STORE_ERR_INVALID, "bad keyword in \"%.*s\"",
	                  (int)i, s);
}

int
store_kwset_canon(struct store *st, int64_t folder_id, struct store_kwset *k,
                  int register_new)
{
	struct store_kwset known;
	sqlite3_stmt *s;
	size_t i, j;
	int rc, at;

	if (k->n == 0)
		return 0;
	known.n = 0;
	s = store_stmt(st, "SELECT name FROM keywords WHERE folder_id = ?1"
	                   " ORDER BY id");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	while ((rc = store_step(st, s, "keywords")) == SQLITE_ROW &&
	       known.n < KEYWORDS_PER_FOLDER_MAX)
		known.kw[known.n++] =
		        xmemdup0(sqlite3_column_text(s, 0),
		                 (size_t)sqlite3_column_bytes(s, 0));
	store_stmt_done(st, s);
	if (rc < 0)
		goto done;
	rc = 0;
	for (i = j = 0; i < k->n; i++) {
		at = store_kwset_find(&known, k->kw[i], strlen(k->kw[i]));
		if (at >= 0) {
			free(k->kw[i]);
			k->kw[j++] = xstrdup(known.kw[at]);
			continue;
		}
		if (!register_new) {
			free(k->kw[i]);
			continue;
		}
		if (known.n >= KEYWORDS_PER_FOLDER_MAX) {
			rc = store_fail(st, STORE_ERR_LIMIT,
			                "more than %d keywords in the folder",
			                KEYWORDS_PER_FOLDER_MAX);
			/* Keep k consistent for the caller's clear. */
			for (; i < k->n; i++)
				k->kw[j++] = k->kw[i];
			break;
		}
		s = store_stmt(st, "INSERT INTO keywords(folder_id, name)"
		                   " VALUES(?1, ?2)");
		if (s == NULL) {
			rc = -STORE_ERR_INTERNAL;
			for (; i < k->n; i++)
				k->kw[j++] = k->kw[i];
			break;
		}
		sqlite3_bind_int64(s, 1, folder_id);
		sqlite3_bind_text(s, 2, k->kw[i], -1, SQLITE_STATIC);
		rc = store_step(st, s, "keyword add");
		store_stmt_done(st, s);
		if (rc < 0) {
			for (; i < k->n; i++)
				k->kw[j++] = k->kw[i];
			break;
		}
		rc = 0;
		known.kw[known.n++] = xstrdup(k->kw[i]);
		k->kw[j++] = k->kw[i];
	}
	k->n = j;
done:
	store_kwset_clear(&known);
	return rc;
}
