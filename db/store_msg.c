/*
 * db/store_msg.c: messages. Reading them (FETCH, SEARCH: RFC 3501 6.4.4,
 * 6.4.5; the columns loaded follow the caller's STORE_WANT_* bits), the
 * raw bytes (sqlite3_blob incremental I/O, for BODY[] partial fetches),
 * APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID), STORE with UNCHANGEDSINCE
 * (RFC 3501 6.4.6, RFC 7162 3.1.3), COPY/MOVE (RFC 3501 6.4.7, RFC 6851,
 * RFC 4315 COPYUID) and EXPUNGE (RFC 3501 6.4.3, UID EXPUNGE RFC 4315).
 *
 * UIDs and modseqs are assigned in the transaction that makes the change;
 * each call takes at most one new modseq per folder (see store_schema.c).
 * Messages are looked up by "uid BETWEEN ? AND ?" once per range, on the
 * UNIQUE(folder_id, uid) index. Copies share the blob rows; a trigger drops
 * them with the last message that refers to them.
 */
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "msg_derive.h"
#include "store_int.h"

#define WANT_ALL                                                               \
	(STORE_WANT_META | STORE_WANT_ENVELOPE | STORE_WANT_BODYSTRUCTURE |    \
	 STORE_WANT_PARTMAP | STORE_WANT_SEARCH_HDR | STORE_WANT_SEARCH_TEXT | \
	 STORE_WANT_SEARCH_ADDR)
#define WANT_BLOBS                                                             \
	(STORE_WANT_META | STORE_WANT_ENVELOPE | STORE_WANT_BODYSTRUCTURE |    \
	 STORE_WANT_PARTMAP | STORE_WANT_SEARCH_HDR)

/* A keyword list of one message: KEYWORDS_PER_FOLDER_MAX words. */
#define KW_LIST_MAX (KEYWORDS_PER_FOLDER_MAX * (KEYWORD_LEN_MAX + 1))

static const struct store_uid_range range_all = {1, UINT32_MAX};

static void
ranges_default(const struct store_uid_range **ranges, size_t *nranges)
{
	if (*ranges == NULL || *nranges == 0) {
		*ranges = &range_all;
		*nranges = 1;
	}
}

static void
bind_range(sqlite3_stmt *s, int col, const struct store_uid_range *r)
{
	sqlite3_bind_int64(s, col, r->lo);
	sqlite3_bind_int64(s, col + 1, r->hi);
}

/* ---- keyword lists ---- */

/* Joins a set into "a b c". */
static void
kw_join(const struct store_kwset *k, struct buf *out)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < k->n; i++) {
		if (i > 0)
			(void)buf_addc(out, ' ');
		(void)buf_addstr(out, k->kw[i]);
	}
}

/* 1 when the space-separated list holds kw (ASCII case-insensitive). */
static int
kw_list_has(const char *list, const char *kw, size_t kwlen)
{
	const char *p = list, *e;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if ((size_t)(e - p) == kwlen &&
		    str_ncasecmp_ascii(p, kw, kwlen) == 0)
			return 1;
		p = e;
	}
	return 0;
}

static size_t
kw_list_count(const char *list)
{
	const char *p = list;
	size_t n = 0;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n++;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return n;
}

/*
 * Applies op with the (canonical) set k to a message's list old. Returns
 * 1 and the new list in out when it changes, 0 when it stays.
 */
static int
kw_apply(enum store_flag_op op, const struct store_kwset *k, const char *old,
         struct buf *out)
{
	const char *p, *e;
	size_t i;
	int changed = 0;

	buf_reset(out);
	switch (op) {
	case STORE_FLAGS_SET:
		if (kw_list_count(old) == k->n) {
			for (i = 0; i < k->n; i++)
				if (!kw_list_has(old, k->kw[i],
				                 strlen(k->kw[i])))
					break;
			if (i == k->n)
				return 0;
		}
		kw_join(k, out);
		return 1;
	case STORE_FLAGS_ADD:
		(void)buf_addstr(out, old);
		for (i = 0; i < k->n; i++) {
			if (kw_list_has(old, k->kw[i], strlen(k->kw[i])))
				continue;
			if (out->len > 0)
				(void)buf_addc(out, ' ');
			(void)buf_addstr(out, k->kw[i]);
			changed = 1;
		}
		return changed;
	case STORE_FLAGS_DEL:
		for (p = old; *p != '\0';) {
			while (*p == ' ')
				p++;
			for (e = p; *e != '\0' && *e != ' '; e++)
				;
			if (e == p)
				break;
			if (store_kwset_find(k, p, (size_t)(e - p)) >= 0) {
				changed = 1;
			} else {
				if (out->len > 0)
					(void)buf_addc(out, ' ');
				(void)buf_add(out, p, (size_t)(e - p));
			}
			p = e;
		}
		return changed;
	}
	return 0;
}

/* Parses a list already stored (so valid) into a set. */
static void
kw_from_list(const char *list, struct store_kwset *k)
{
	const char *p = list, *e;

	k->n = 0;
	while (*p != '\0' && k->n < KEYWORDS_PER_FOLDER_MAX) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if (e == p)
			break;
		k->kw[k->n++] = xmemdup0(p, (size_t)(e - p));
		p = e;
	}
}

/* ---- iterate ---- */

/* Cache keys for the SELECT of each want combination. */
static const char iter_keys[WANT_ALL + 1];

static void
iter_sql(unsigned want, char *sql, size_t size)
{
	struct buf b;
	char *s;

	buf_init(&b, size - 1);
	(void)buf_addstr(&b, "SELECT m.uid, m.flags, m.keywords, m.modseq");
	if (want & STORE_WANT_META)
		(void)buf_addstr(&b, ", m.internaldate, m.internaldate_tz,"
		                     " m.size, m.blob_id, b.header_len,"
		                     " b.date_sent");
	if (want & STORE_WANT_ENVELOPE)
		(void)buf_addstr(&b, ", b.envelope");
	if (want & STORE_WANT_BODYSTRUCTURE)
		(void)buf_addstr(&b, ", b.bodystructure, b.body");
	if (want & STORE_WANT_PARTMAP)
		(void)buf_addstr(&b, ", b.partmap");
	if (want & STORE_WANT_SEARCH_HDR)
		(void)buf_addstr(&b, ", b.search_hdr");
	if (want & STORE_WANT_SEARCH_TEXT)
		(void)buf_addstr(&b, ", t.text");
	if (want & STORE_WANT_SEARCH_ADDR)
		(void)buf_addstr(&b, ", a.addr");
	(void)buf_addstr(&b, " FROM messages m");
	/* CROSS JOIN keeps messages outer: the UID range drives the scan. */
	if (want & WANT_BLOBS)
		(void)buf_addstr(&b, " CROSS JOIN blobs b ON b.id = m.blob_id");
	if (want & STORE_WANT_SEARCH_TEXT)
		(void)buf_addstr(&b, " LEFT JOIN blob_text t"
		                     " ON t.id = m.blob_id");
	if (want & STORE_WANT_SEARCH_ADDR)
		(void)buf_addstr(&b, " LEFT JOIN blob_addr a"
		                     " ON a.id = m.blob_id");
	(void)buf_addstr(&b, " WHERE m.folder_id = ?1"
	                     " AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid");
	s = buf_steal(&b, NULL);
	memcpy(sql, s, strlen(s) + 1);
	free(s);
}

static const char *
col_text(sqlite3_stmt *s, int i, size_t *len_r)
{
	const char *p = (const char *)sqlite3_column_text(s, i);

	if (len_r != NULL)
		*len_r = p ? (size_t)sqlite3_column_bytes(s, i) : 0;
	return p ? p : "";
}

static void
iter_row(sqlite3_stmt *s, unsigned want, struct store_msg *m)
{
	int c = 4;

	memset(m, 0, sizeof *m);
	m->uid = (uint32_t)sqlite3_column_int64(s, 0);
	m->flags = (uint32_t)sqlite3_column_int(s, 1);
	m->keywords = col_text(s, 2, NULL);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 3);
	m->date_sent = -1;
	if (want & STORE_WANT_META) {
		m->internaldate = sqlite3_column_int64(s, c++);
		m->internaldate_tz = sqlite3_column_int(s, c++);
		m->size = (uint64_t)sqlite3_column_int64(s, c++);
		m->blob_id = sqlite3_column_int64(s, c++);
		m->header_len = (uint64_t)sqlite3_column_int64(s, c++);
		m->date_sent = sqlite3_column_int64(s, c++);
	}
	if (want & STORE_WANT_ENVELOPE)
		m->envelope = col_text(s, c++, NULL);
	if (want & STORE_WANT_BODYSTRUCTURE) {
		m->bodystructure = col_text(s, c++, NULL);
		m->body = col_text(s, c++, NULL);
	}
	if (want & STORE_WANT_PARTMAP) {
		m->partmap = sqlite3_column_blob(s, c);
		m->partmap_len = (size_t)sqlite3_column_bytes(s, c);
		c++;
	}
	if (want & STORE_WANT_SEARCH_HDR) {
		m->search_hdr = col_text(s, c, &m->search_hdr_len);
		c++;
	}
	if (want & STORE_WANT_SEARCH_TEXT) {
		m->search_text = col_text(s, c, &m->search_text_len);
		c++;
	}
	if (want & STORE_WANT_SEARCH_ADDR)
		m->search_addr = col_text(s, c, &m->search_addr_len);
}

static int
msg_iter(struct store *st, int64_t folder_id,
         const struct store_uid_range *ranges, size_t nranges, unsigned want,
         store_msg_cb cb, void *ctx)
{
	struct store_folder_row fr;
	struct store_msg m;
	char sql[512];
	sqlite3_stmt *s;
	size_t i;
	int rc, r = 0;

	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	iter_sql(want, sql, sizeof sql);
	if ((s = store_stmt_key(st, &iter_keys[want], sql)) == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	for (i = 0; i < nranges && r == 0; i++) {
		bind_range(s, 2, &ranges[i]);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			iter_row(s, want, &m);
			if ((r = cb(&m, ctx)) != 0)
				break;
		}
		if (r == 0 && rc != SQLITE_DONE) {
			r = store_sqlfail(st, "message iterate");
			break;
		}
		sqlite3_reset(s);
	}
	store_stmt_done(st, s);
	return r;
}

int
store_msg_iter(struct store *st, int64_t folder_id,
               const struct store_uid_range *ranges, size_t nranges,
               unsigned want, store_msg_cb cb, void *ctx)
{
	int rc, r;

	if ((want & ~(unsigned)WANT_ALL) != 0 || cb == NULL)
		return store_fail(st, STORE_ERR_INVALID, "bad iterate request");
	ranges_default(&ranges, &nranges);
	/* A read transaction: every range sees one snapshot. */
	if ((rc = store_tx_begin(st, 0)) < 0)
		return rc;
	r = msg_iter(st, folder_id, ranges, nranges, want, cb, ctx);
	if ((rc = store_tx_end(st, r < 0 ? r : 0)) < 0)
		return rc;
	return r;
}

/* ---- raw bytes ---- */

int
store_blob_read(struct store *st, int64_t blob_id, uint64_t off, uint64_t len,
                char *dst, uint64_t *got_r)
{
	sqlite3_blob *b = NULL;
	uint64_t size, n, done = 0;
	int chunk, rc;

	*got_r = 0;
	rc = sqlite3_blob_open(st->db, "main", "blob_raw", "raw", blob_id, 0,
	                       &b);
	if (rc != SQLITE_OK) {
		/* SQLITE_ERROR is "no such rowid" here. */
		if (rc == SQLITE_ERROR)
			rc = store_fail(st, STORE_ERR_NOTFOUND,
			                "no message text %lld",
			                (long long)blob_id);
		else
			rc = store_sqlfail(st, "blob open");
		sqlite3_blob_close(b);
		return rc;
	}
	size = (uint64_t)sqlite3_blob_bytes(b);
	if (off >= size || len == 0) {
		sqlite3_blob_close(b);
		return 0;
	}
	n = size - off < len ? size - off : len;
	while (done < n) {
		chunk = n - done > (1u << 30) ? (1 << 30) : (int)(n - done);
		rc = sqlite3_blob_read(b, dst + done, chunk, (int)(off + done));
		if (rc != SQLITE_OK) {
			rc = store_sqlfail(st, "blob read");
			sqlite3_blob_close(b);
			return rc;
		}
		done += (uint64_t)chunk;
	}
	sqlite3_blob_close(b);
	*got_r = n;
	return 0;
}

/* ---- append ---- */

/* 1 when the search_hdr line at p (up to its ':') names an address field
 * or Subject, the fields SEARCH FROM/TO/CC/BCC/SUBJECT look at. */
static int
addr_field(const char *p, size_t len)
{
	static const char *const names[] = {"from", "to", "cc", "bcc",
	                                    "subject"};
	size_t i, n;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		n = strlen(names[i]);
		if (len > n && p[n] == ':' &&
		    str_ncasecmp_ascii(p, names[i], n) == 0)
			return 1;
	}
	return 0;
}

/* The From/To/Cc/Bcc/Subject lines of search_hdr, as they are. */
static void
addr_build(const char *hdr, size_t len, struct buf *out)
{
	const char *p = hdr, *end = hdr + len, *nl, *le;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl != NULL ? nl + 1 : end;
		if (addr_field(p, (size_t)(le - p)) &&
		    buf_add(out, p, (size_t)(le - p)) < 0)
			break;
		p = le;
	}
}

static int
insert_addr(struct store *st, int64_t id, const struct msg_derived *d)
{
	sqlite3_stmt *s;
	struct buf b;
	int rc = 0;

	if (d->search_hdr == NULL || d->search_hdr_len == 0)
		return 0;
	/* A subset of search_hdr: its length bounds it. */
	buf_init(&b, d->search_hdr_len);
	addr_build(d->search_hdr, d->search_hdr_len, &b);
	if (b.len > 0) {
		s = store_stmt(st, "INSERT INTO blob_addr(id, addr)"
		                   " VALUES(?1, ?2)");
		if (s == NULL) {
			buf_clear(&b);
			return -STORE_ERR_INTERNAL;
		}
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_blob64(s, 2, b.data, b.len, SQLITE_STATIC);
		rc = store_step(st, s, "addr insert");
		store_stmt_done(st, s);
	}
	buf_clear(&b);
	return rc < 0 ? rc : 0;
}

static int
insert_blob(struct store *st, const struct store_append *a,
            const struct msg_derived *d, int64_t *blob_id_r)
{
	sqlite3_stmt *s;
	int64_t id;
	int rc;

	s = store_stmt(st, "INSERT INTO blobs(size, header_len, date_sent,"
	                   " envelope, body, bodystructure, partmap,"
	                   " search_hdr) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	                   " ?8)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, (int64_t)a->len);
	sqlite3_bind_int64(s, 2, (int64_t)d->header_len);
	sqlite3_bind_int64(s, 3, d->date_sent);
	sqlite3_bind_text(s, 4, d->envelope ? d->envelope : "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(s, 5, d->body ? d->body : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, d->bodystructure ? d->bodystructure : "", -1,
	                  SQLITE_STATIC);
	if (d->partmap != NULL && d->partmap_len > 0)
		sqlite3_bind_blob64(s, 7, d->partmap, d->partmap_len,
		                    SQLITE_STATIC);
	sqlite3_bind_blob64(s, 8, d->search_hdr ? d->search_hdr : "",
	                    d->search_hdr ? d->search_hdr_len : 0,
	                    SQLITE_STATIC);
	rc = store_step(st, s, "blob insert");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	id = sqlite3_last_insert_rowid(st->db);

	s = store_stmt(st, "INSERT INTO blob_raw(id, raw) VALUES(?1, ?2)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_blob64(s, 2, a->len ? a->raw : "", a->len, SQLITE_STATIC);
	rc = store_step(st, s, "raw insert");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;

	if (d->search_text != NULL && d->search_text_len > 0) {
		s = store_stmt(st, "INSERT INTO blob_text(id, text)"
		                   " VALUES(?1, ?2)");
		if (s == NULL)
			return -STORE_ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_blob64(s, 2, d->search_text, d->search_text_len,
		                    SQLITE_STATIC);
		rc = store_step(st, s, "text insert");
		store_stmt_done(st, s);
		if (rc < 0)
			return rc;
	}
	if ((rc = insert_addr(st, id, d)) < 0)
		return rc;
	*blob_id_r = id;
	return 0;
}

static int
insert_message(struct store *st, int64_t folder_id, uint32_t uid,
               uint64_t modseq, uint32_t flags, const char *kw, size_t kwlen,
               int64_t internaldate, int tz, uint64_t size, int64_t blob_id)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "INSERT INTO messages(folder_id, uid, modseq,"
	                   " flags, keywords, internaldate, internaldate_tz,"
	                   " size, blob_id, saved_at) VALUES(?1, ?2, ?3, ?4,"
	                   " ?5, ?6, ?7, ?8, ?9,"
	                   " CAST(strftime('%s', 'now') AS INTEGER))");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, (int64_t)modseq);
	sqlite3_bind_int64(s, 4, flags);
	sqlite3_bind_text(s, 5, kw, (int)kwlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, internaldate);
	sqlite3_bind_int(s, 7, tz);
	sqlite3_bind_int64(s, 8, (int64_t)size);
	sqlite3_bind_int64(s, 9, blob_id);
	rc = store_step(st, s, "message insert");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

static int
uids_left(struct store *st, const struct store_folder_row *fr, size_t n)
{
	/* UIDs are 32-bit and never reused; UIDNEXT must stay above them. */
	if ((uint64_t)fr->uidnext + n > UINT32_MAX)
		return store_fail(st, STORE_ERR_LIMIT, "folder out of UIDs");
	return 0;
}

static int
msg_append(struct store *st, int64_t folder_id, const struct store_append *a,
           const struct msg_derived *d, struct store_kwset *kw, uint32_t *uid_r,
           uint32_t *uidvalidity_r)
{
	struct store_folder_row fr;
	struct buf kwl;
	int64_t blob_id, idate;
	int rc;

	if ((rc = store_folder_row_get(st, folder_id, 1, &fr)) < 0 ||
	    (rc = uids_left(st, &fr, 1)) < 0 ||
	    (rc = store_kwset_canon(st, folder_id, kw, 1)) < 0 ||
	    (rc = insert_blob(st, a, d, &blob_id)) < 0)
		return rc;
	buf_init(&kwl, KW_LIST_MAX);
	kw_join(kw, &kwl);
	idate = a->internaldate != 0 ? a->internaldate : (int64_t)time(NULL);
	rc = insert_message(st, folder_id, fr.uidnext, fr.highestmodseq + 1,
	                    a->flags, buf_cstr(&kwl), kwl.len, idate,
	                    a->internaldate_tz, a->len, blob_id);
	buf_clear(&kwl);
	if (rc < 0)
		return rc;
	*uid_r = fr.uidnext;
	*uidvalidity_r = fr.uidvalidity;
	fr.uidnext++;
	fr.highestmodseq++;
	return store_folder_row_put(st, &fr);
}

/* A message checked and parsed for appending (store_int.h). */
struct store_msg_prep {
	struct msg_derived d;
	struct store_kwset kw;
};

int
store_msg_prepare(struct store *st, const struct store_append *a,
                  struct store_msg_prep **prep_r)
{
	struct store_msg_prep *p;
	int rc;

	*prep_r = NULL;
	if (a == NULL || (a->raw == NULL && a->len > 0) ||
	    (a->flags & ~STORE_FLAGS_ALL) != 0)
		return store_fail(st, STORE_ERR_INVALID, "bad message");
	if ((unsigned long long)a->len > (unsigned long long)STORE_MESSAGE_MAX)
		return store_fail(st, STORE_ERR_TOOBIG,
		                  "message larger than %lld bytes",
		                  (long long)STORE_MESSAGE_MAX);
	p = xcalloc(1, sizeof *p);
	if ((rc = store_kwset_parse(st, a->keywords, &p->kw)) < 0) {
		free(p);
		return rc;
	}
	(void)msg_derive(a->len ? a->raw : "", a->len, &p->d);
	*prep_r = p;
	return 0;
}

int
store_msg_append_locked(struct store *st, int64_t folder_id,
                        const struct store_append *a,
                        struct store_msg_prep *prep, uint32_t *uid_r,
                        uint32_t *uidvalidity_r)
{
	uint32_t uid = 0, uidvalidity = 0;
	int rc;

	if (st->depth == 0)
		return store_fail(st, STORE_ERR_INVALID,
		                  "append_locked outside a transaction");
	rc = msg_append(st, folder_id, a, &prep->d, &prep->kw, &uid,
	                &uidvalidity);
	if (rc < 0)
		return rc;
	if (uid_r != NULL)
		*uid_r = uid;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	return 0;
}

void
store_msg_prep_free(struct store_msg_prep **prep)
{
	struct store_msg_prep *p = *prep;

	if (p == NULL)
		return;
	*prep = NULL;
	msg_derived_clear(&p->d);
	store_kwset_clear(&p->kw);
	free(p);
}

int
store_msg_append(struct store *st, int64_t folder_id,
                 const struct store_append *a, uint32_t *uid_r,
                 uint32_t *uidvalidity_r)
{
	struct store_msg_prep *prep;
	uint32_t uid = 0, uidvalidity = 0;
	int rc;

	if ((rc = store_msg_prepare(st, a, &prep)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) == 0) {
		rc = store_msg_append_locked(st, folder_id, a, prep, &uid,
		                             &uidvalidity);
		rc = store_tx_end(st, rc);
	}
	store_msg_prep_free(&prep);
	if (rc < 0)
		return rc;
	if (uid_r != NULL)
		*uid_r = uid;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	return 0;
}

/* ---- flags ---- */

struct flag_change {
	uint32_t uid;
	uint32_t flags;
	size_t kw_off; /* into the keyword arena */
};

struct flag_job {
	enum store_flag_op op;
	uint32_t flags;
	struct store_kwset kw;
	uint64_t unchangedsince;
	uint64_t modseq; /* the new one, 0 until something changes */
	struct flag_change *ch;
	size_t nch, chsize;
	struct buf arena; /* changed keyword lists, NUL-separated */
	uint32_t *failed;
	size_t nfailed, failedsize;
};

static void
failed_push(struct flag_job *j, uint32_t uid)
{
	if (j->nfailed == j->failedsize) {
		j->failedsize = j->failedsize ? j->failedsize * 2 : 16;
		j->failed = xreallocarray(j->failed, j->failedsize,
		                          sizeof *j->failed);
	}
	j->failed[j->nfailed++] = uid;
}

static int
change_push(struct store *st, struct flag_job *j, uint32_t uid, uint32_t flags,
            const char *kw, size_t kwlen)
{
	if (j->nch == j->chsize) {
		j->chsize = j->chsize ? j->chsize * 2 : 64;
		j->ch = xreallocarray(j->ch, j->chsize, sizeof *j->ch);
	}
	j->ch[j->nch].uid = uid;
	j->ch[j->nch].flags = flags;
	j->ch[j->nch].kw_off = j->arena.len;
	if (buf_add(&j->arena, kw, kwlen) < 0 || buf_addc(&j->arena, 0) < 0)
		return store_fail(st, STORE_ERR_INTERNAL, "flag list too big");
	j->nch++;
	return 0;
}

static int
flag_update(struct store *st, int64_t id, uint32_t flags, const char *kw,
            size_t kwlen, uint64_t modseq)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, "UPDATE messages SET flags = ?2, keywords = ?3,"
	                   " modseq = ?4 WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, flags);
	sqlite3_bind_text(s, 3, kw, (int)kwlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)modseq);
	rc = store_step(st, s, "flags update");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

/* One message: decides, updates, remembers. */
static int
flag_row(struct store *st, struct flag_job *j, struct store_folder_row *fr,
         sqlite3_stmt *s, struct buf *kwl)
{
	int64_t id = sqlite3_column_int64(s, 0);
	uint32_t uid = (uint32_t)sqlite3_column_int64(s, 1);
	uint32_t oflags = (uint32_t)sqlite3_column_int(s, 2), nflags;
	const char *okw = col_text(s, 3, NULL);
	uint64_t modseq = (uint64_t)sqlite3_column_int64(s, 4);
	int kw_changed, rc;

	if (j->unchangedsince != 0 && modseq > j->unchangedsince) {
		failed_push(j, uid);
		return 0;
	}
	switch (j->op) {
	case STORE_FLAGS_SET:
		nflags = j->flags;
		break;
	case STORE_FLAGS_ADD:
		nflags = oflags | j->flags;
		break;
	default:
		nflags = oflags & ~j->flags;
		break;
	}
	kw_changed = kw_apply(j->op, &j->kw, okw, kwl);
	if (nflags == oflags && !kw_changed)
		return 0;
	if (!kw_changed) {
		buf_reset(kwl);
		if (buf_addstr(kwl, okw) < 0)
			return store_fail(st, STORE_ERR_INTERNAL,
			                  "keyword list too long");
	}
	if (j->modseq == 0)
		j->modseq = fr->highestmodseq + 1;
	if ((rc = flag_update(st, id, nflags, buf_cstr(kwl), kwl->len,
	                      j->modseq)) < 0)
		return rc;
	return change_push(st, j, uid, nflags, buf_cstr(kwl), kwl->len);
}

static int
set_flags(struct store *st, int64_t folder_id,
          const struct store_uid_range *ranges, size_t nranges,
          struct flag_job *j)
{
	struct store_folder_row fr;
	struct buf kwl;
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	if ((rc = store_folder_row_get(st, folder_id, 1, &fr)) < 0 ||
	    (rc = store_kwset_canon(st, folder_id, &j->kw,
	                            j->op != STORE_FLAGS_DEL)) < 0)
		return rc;
	s = store_stmt(st, "SELECT id, uid, flags, keywords, modseq"
	                   " FROM messages WHERE folder_id = ?1"
	                   " AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	buf_init(&kwl, KW_LIST_MAX);
	sqlite3_bind_int64(s, 1, folder_id);
	/* Updating rows while the (folder_id, uid) index scan runs is safe:
	 * neither folder_id nor uid changes. */
	for (i = 0; i < nranges && rc >= 0; i++) {
		bind_range(s, 2, &ranges[i]);
		while ((rc = store_step(st, s, "flags select")) == SQLITE_ROW)
			if ((rc = flag_row(st, j, &fr, s, &kwl)) < 0)
				break;
		sqlite3_reset(s);
	}
	store_stmt_done(st, s);
	buf_clear(&kwl);
	if (rc < 0)
		return rc;
	if (j->modseq != 0) {
		fr.highestmodseq = j->modseq;
		return store_folder_row_put(st, &fr);
	}
	return 0;
}

int
store_msg_set_flags(struct store *st, int64_t folder_id,
                    const struct store_uid_range *ranges, size_t nranges,
                    enum store_flag_op op, uint32_t flags, const char *keywords,
                    uint64_t unchangedsince, store_flag_cb cb, void *ctx,
                    uint32_t **failed_r, size_t *nfailed_r)
{
	struct flag_job j;
	size_t i;
	int rc;

	if (failed_r != NULL)
		*failed_r = NULL;
	if (nfailed_r != NULL)
		*nfailed_r = 0;
	if ((op != STORE_FLAGS_SET && op != STORE_FLAGS_ADD &&
	     op != STORE_FLAGS_DEL) ||
	    (flags & ~STORE_FLAGS_ALL) != 0)
		return store_fail(st, STORE_ERR_INVALID, "bad flags request");
	ranges_default(&ranges, &nranges);
	memset(&j, 0, sizeof j);
	j.op = op;
	j.flags = flags;
	j.unchangedsince = unchangedsince;
	buf_init(&j.arena, 0);
	if ((rc = store_kwset_parse(st, keywords, &j.kw)) < 0)
		return rc;
	if ((rc = store_tx_begin(st, 1)) == 0)
		rc = store_tx_end(
		        st, set_flags(st, folder_id, ranges, nranges, &j));
	/* Tell the caller only once the change is committed. */
	if (rc == 0 && cb != NULL)
		for (i = 0; i < j.nch; i++)
			cb(j.ch[i].uid, j.ch[i].flags,
			   j.arena.data + j.ch[i].kw_off, j.modseq, ctx);
	if (rc == 0 && failed_r != NULL && j.nfailed > 0) {
		*failed_r = j.failed;
		j.failed = NULL;
		if (nfailed_r != NULL)
			*nfailed_r = j.nfailed;
	}
	free(j.failed);
	free(j.ch);
	buf_clear(&j.arena);
	store_kwset_clear(&j.kw);
	return rc;
}

/* ---- copy / move ---- */

struct copy_item {
	int64_t id;
	uint32_t uid;
	uint32_t flags;
	int64_t internaldate;
	int tz;
	uint64_t size;
	int64_t blob_id;
	size_t kw_off; /* into the keyword arena */
};

struct copy_job {
	struct copy_item *it;
	size_t n, size;
	struct buf arena;
	/* Source list -> destination list, for the last distinct list. */
	struct buf memo_src, memo_dst;
	int memo_valid;
};

static int
copy_collect(struct store *st, int64_t folder_id,
             const struct store_uid_range *ranges, size_t nranges,
             struct copy_job *cj)
{
	sqlite3_stmt *s;
	struct copy_item *c;
	const char *kw;
	size_t i, kwlen;
	int rc = 0;

	s = store_stmt(st, "SELECT id, uid, flags, keywords, internaldate,"
	                   " internaldate_tz, size, blob_id FROM messages"
	                   " WHERE folder_id = ?1 AND uid BETWEEN ?2 AND ?3"
	                   " ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	for (i = 0; i < nranges && rc >= 0; i++) {
		bind_range(s, 2, &ranges[i]);
		while ((rc = store_step(st, s, "copy select")) == SQLITE_ROW) {
			if (cj->n == cj->size) {
				cj->size = cj->size ? cj->size * 2 : 64;
				cj->it = xreallocarray(cj->it, cj->size,
				                       sizeof *cj->it);
			}
			c = &cj->it[cj->n++];
			c->id = sqlite3_column_int64(s, 0);
			c->uid = (uint32_t)sqlite3_column_int64(s, 1);
			c->flags = (uint32_t)sqlite3_column_int(s, 2);
			kw = col_text(s, 3, &kwlen);
			c->internaldate = sqlite3_column_int64(s, 4);
			c->tz = sqlite3_column_int(s, 5);
			c->size = (uint64_t)sqlite3_column_int64(s, 6);
			c->blob_id = sqlite3_column_int64(s, 7);
			c->kw_off = cj->arena.len;
			if (buf_add(&cj->arena, kw, kwlen) < 0 ||
			    buf_addc(&cj->arena, 0) < 0) {
				rc = store_fail(st, STORE_ERR_INTERNAL,
				                "copy list too big");
				break;
			}
		}
		sqlite3_reset(s);
	}
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

/* The destination's spelling of a keyword list (registering new ones). */
static int
copy_keywords(struct store *st, int64_t dst, struct copy_job *cj,
              const char *src_kw)
{
	struct store_kwset k;
	int rc;

	if (cj->memo_valid && strcmp(buf_cstr(&cj->memo_src), src_kw) == 0)
		return 0;
	buf_reset(&cj->memo_src);
	(void)buf_addstr(&cj->memo_src, src_kw);
	kw_from_list(src_kw, &k);
	rc = store_kwset_canon(st, dst, &k, 1);
	if (rc == 0)
		kw_join(&k, &cj->memo_dst);
	store_kwset_clear(&k);
	cj->memo_valid = rc == 0;
	return rc;
}

static int
copy_move_one(struct store *st, const struct copy_item *c, int64_t src,
              int64_t dst, uint32_t uid, uint64_t dst_modseq,
              uint64_t src_modseq, const struct buf *kw)
{
	sqlite3_stmt *s;
	int rc;

	/* saved_at: retention counts from the move (Trash, Junk). */
	s = store_stmt(st, "UPDATE messages SET folder_id = ?2, uid = ?3,"
	                   " modseq = ?4, keywords = ?5,"
	                   " saved_at = CAST(strftime('%s', 'now') AS INTEGER)"
	                   " WHERE id = ?1");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_int64(s, 2, dst);
	sqlite3_bind_int64(s, 3, uid);
	sqlite3_bind_int64(s, 4, (int64_t)dst_modseq);
	sqlite3_bind_text(s, 5, buf_cstr(kw), (int)kw->len, SQLITE_STATIC);
	rc = store_step(st, s, "move");
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	s = store_stmt(st, "INSERT INTO expunged(folder_id, uid, modseq)"
	                   " VALUES(?1, ?2, ?3)");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, src);
	sqlite3_bind_int64(s, 2, c->uid);
	sqlite3_bind_int64(s, 3, (int64_t)src_modseq);
	rc = store_step(st, s, "move expunged");
	store_stmt_done(st, s);
	return rc < 0 ? rc : 0;
}

static int
msg_copy(struct store *st, int64_t src, int64_t dst, int move,
         struct copy_job *cj, uint32_t *src_uids, uint32_t *dst_uids,
         uint32_t *uidvalidity_r)
{
	struct store_folder_row sfr, dfr;
	uint64_t dst_modseq, src_modseq;
	size_t i;
	int rc;

	if ((rc = store_folder_row_get(st, src, 1, &sfr)) < 0 ||
	    (rc = store_folder_row_get(st, dst, 1, &dfr)) < 0)
		return rc;
	*uidvalidity_r = dfr.uidvalidity;
	if ((rc = uids_left(st, &dfr, cj->n)) < 0)
		return rc;
	if (cj->n == 0)
		return 0;
	dst_modseq = dfr.highestmodseq + 1;
	src_modseq = src == dst ? dst_modseq : sfr.highestmodseq + 1;
	for (i = 0; i < cj->n; i++) {
		const struct copy_item *c = &cj->it[i];
		const char *kw = cj->arena.data + c->kw_off;
		uint32_t uid = dfr.uidnext++;

		if ((rc = copy_keywords(st, dst, cj, kw)) < 0)
			return rc;
		if (move)
			rc = copy_move_one(st, c, src, dst, uid, dst_modseq,
			                   src_modseq, &cj->memo_dst);
		else
			rc = insert_message(st, dst, uid, dst_modseq, c->flags,
			                    buf_cstr(&cj->memo_dst),
			                    cj->memo_dst.len, c->internaldate,
			                    c->tz, c->size, c->blob_id);
		if (rc < 0)
			return rc;
		src_uids[i] = c->uid;
		dst_uids[i] = uid;
	}
	dfr.highestmodseq = dst_modseq;
	if ((rc = store_folder_row_put(st, &dfr)) < 0)
		return rc;
	if (move && src != dst) {
		sfr.highestmodseq = src_modseq;
		if ((rc = store_folder_row_put(st, &sfr)) < 0)
			return rc;
	}
	return 0;
}

int
store_msg_copy(struct store *st, int64_t src_folder,
               const struct store_uid_range *ranges, size_t nranges,
               int64_t dst_folder, int move, uint32_t **src_uids_r,
               uint32_t **dst_uids_r, size_t *n_r, uint32_t *dst_uidvalidity_r)
{
	struct copy_job cj;
	uint32_t *su = NULL, *du = NULL, uidvalidity = 0;
	int rc;

	if (src_uids_r != NULL)
		*src_uids_r = NULL;
	if (dst_uids_r != NULL)
		*dst_uids_r = NULL;
	if (n_r != NULL)
		*n_r = 0;
	ranges_default(&ranges, &nranges);
	memset(&cj, 0, sizeof cj);
	buf_init(&cj.arena, 0);
	buf_init(&cj.memo_src, KW_LIST_MAX);
	buf_init(&cj.memo_dst, KW_LIST_MAX);
	if ((rc = store_tx_begin(st, 1)) < 0)
		goto done;
	rc = copy_collect(st, src_folder, ranges, nranges, &cj);
	if (rc == 0) {
		su = xreallocarray(NULL, cj.n ? cj.n : 1, sizeof *su);
		du = xreallocarray(NULL, cj.n ? cj.n : 1, sizeof *du);
		rc = msg_copy(st, src_folder, dst_folder, move, &cj, su, du,
		              &uidvalidity);
	}
	if ((rc = store_tx_end(st, rc)) < 0)
		goto done;
	if (dst_uidvalidity_r != NULL)
		*dst_uidvalidity_r = uidvalidity;
	if (n_r != NULL)
		*n_r = cj.n;
	if (src_uids_r != NULL && cj.n > 0) {
		*src_uids_r = su;
		su = NULL;
	}
	if (dst_uids_r != NULL && cj.n > 0) {
		*dst_uids_r = du;
		du = NULL;
	}
done:
	free(su);
	free(du);
	free(cj.it);
	buf_clear(&cj.arena);
	buf_clear(&cj.memo_src);
	buf_clear(&cj.memo_dst);
	return rc;
}

/* ---- expunge ---- */

struct expunge_item {
	int64_t id;
	uint32_t uid;
};

struct expunge_job {
	struct expunge_item *it;
	size_t n, size;
};

static int
expunge_collect(struct store *st, sqlite3_stmt *s, struct expunge_job *ej)
{
	int rc;

	while ((rc = store_step(st, s, "expunge select")) == SQLITE_ROW) {
		if (ej->n == ej->size) {
			ej->size = ej->size ? ej->size * 2 : 64;
			ej->it =
			        xreallocarray(ej->it, ej->size, sizeof *ej->it);
		}
		ej->it[ej->n].id = sqlite3_column_int64(s, 0);
		ej->it[ej->n].uid = (uint32_t)sqlite3_column_int64(s, 1);
		ej->n++;
	}
	sqlite3_reset(s);
	return rc < 0 ? rc : 0;
}

/* Deletes the collected messages, remembering them as expunged. */
static int
expunge_apply(struct store *st, int64_t folder_id, struct expunge_job *ej)
{
	struct store_folder_row fr;
	sqlite3_stmt *del, *mem;
	uint64_t modseq;
	size_t i;
	int rc = 0;

	if (ej->n == 0)
		return 0;
	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	modseq = fr.highestmodseq + 1;
	del = store_stmt(st, "DELETE FROM messages WHERE id = ?1");
	mem = store_stmt(st, "INSERT INTO expunged(folder_id, uid, modseq)"
	                     " VALUES(?1, ?2, ?3)");
	if (del == NULL || mem == NULL) {
		store_stmt_done(st, del);
		store_stmt_done(st, mem);
		return -STORE_ERR_INTERNAL;
	}
	sqlite3_bind_int64(mem, 1, folder_id);
	sqlite3_bind_int64(mem, 3, (int64_t)modseq);
	for (i = 0; i < ej->n; i++) {
		sqlite3_bind_int64(del, 1, ej->it[i].id);
		if ((rc = store_step(st, del, "expunge")) < 0)
			break;
		sqlite3_reset(del);
		sqlite3_bind_int64(mem, 2, ej->it[i].uid);
		if ((rc = store_step(st, mem, "expunge remember")) < 0)
			break;
		sqlite3_reset(mem);
	}
	store_stmt_done(st, del);
	store_stmt_done(st, mem);
	if (rc < 0)
		return rc;
	fr.highestmodseq = modseq;
	return store_folder_row_put(st, &fr);
}

static int
msg_expunge(struct store *st, int64_t folder_id,
            const struct store_uid_range *ranges, size_t nranges,
            struct expunge_job *ej)
{
	struct store_folder_row fr;
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	if ((rc = store_folder_row_get(st, folder_id, 1, &fr)) < 0)
		return rc;
	s = store_stmt(st, "SELECT id, uid FROM messages WHERE folder_id = ?1"
	                   " AND uid BETWEEN ?2 AND ?3 AND (flags & 8) <> 0"
	                   " ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	for (i = 0; i < nranges && rc == 0; i++) {
		bind_range(s, 2, &ranges[i]);
		rc = expunge_collect(st, s, ej);
	}
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return expunge_apply(st, folder_id, ej);
}

int
store_msg_expunge(struct store *st, int64_t folder_id,
                  const struct store_uid_range *ranges, size_t nranges,
                  uint32_t **uids_r, size_t *n_r)
{
	struct expunge_job ej;
	uint32_t *uids;
	size_t i;
	int rc;

	if (uids_r != NULL)
		*uids_r = NULL;
	if (n_r != NULL)
		*n_r = 0;
	ranges_default(&ranges, &nranges);
	memset(&ej, 0, sizeof ej);
	if ((rc = store_tx_begin(st, 1)) == 0)
		rc = store_tx_end(
		        st, msg_expunge(st, folder_id, ranges, nranges, &ej));
	if (rc == 0 && ej.n > 0 && uids_r != NULL) {
		uids = xreallocarray(NULL, ej.n, sizeof *uids);
		for (i = 0; i < ej.n; i++)
			uids[i] = ej.it[i].uid;
		*uids_r = uids;
	}
	if (rc == 0 && n_r != NULL)
		*n_r = ej.n;
	free(ej.it);
	return rc;
}

static int
msg_expunge_older(struct store *st, int64_t folder_id, int64_t cutoff,
                  struct expunge_job *ej)
{
	struct store_folder_row fr;
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_folder_row_get(st, folder_id, 0, &fr)) < 0)
		return rc;
	s = store_stmt(st, "SELECT id, uid FROM messages WHERE folder_id = ?1"
	                   " AND saved_at < ?2 ORDER BY uid");
	if (s == NULL)
		return -STORE_ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, cutoff);
	rc = expunge_collect(st, s, ej);
	store_stmt_done(st, s);
	if (rc < 0)
		return rc;
	return expunge_apply(st, folder_id, ej);
}

int
store_msg_expunge_older(struct store *st, int64_t folder_id, int64_t cutoff,
                        size_t *n_r)
{
	struct expunge_job ej;
	int rc;

	if (n_r != NULL)
		*n_r = 0;
	memset(&ej, 0, sizeof ej);
	if ((rc = store_tx_begin(st, 1)) == 0)
		rc = store_tx_end(
		        st, msg_expunge_older(st, folder_id, cutoff, &ej));
	if (rc == 0 && n_r != NULL)
		*n_r = ej.n;
	free(ej.it);
	return rc;
}
