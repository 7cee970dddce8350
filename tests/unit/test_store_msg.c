/*
 * tests/unit/test_store_msg.c: messages in the store (db/store_msg.c,
 * db/store_changes.c): append/iterate/blob_read byte-exactness, the WANT
 * bits, ranges, flags and keywords (SET/ADD/DEL, UNCHANGEDSINCE), modseqs
 * and changes_since/expunged_since, copy/move with COPYUID pairs, expunge
 * and expunge_older, re-entering the store from a callback.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/limits.h"
#include "../../db/store.h"
#include "test.h"
#include "test_store.h"

/* Collects what store_msg_iter hands out. */
struct collect {
	uint32_t uids[64];
	uint32_t flags[64];
	char kw[64][256];
	uint64_t modseq[64];
	size_t n;
	int saw_envelope, saw_bs, saw_body, saw_pm, saw_hdr, saw_text;
	int stop_at; /* stop (return 7) at this count when > 0 */
};

static int
collect_cb(const struct store_msg *m, void *ctx)
{
	struct collect *c = ctx;

	if (c->n < 64) {
		c->uids[c->n] = m->uid;
		c->flags[c->n] = m->flags;
		snprintf(c->kw[c->n], sizeof c->kw[0], "%s", m->keywords);
		c->modseq[c->n] = m->modseq;
	}
	c->n++;
	c->saw_envelope += m->envelope != NULL && m->envelope[0] == '(';
	c->saw_bs += m->bodystructure != NULL && m->bodystructure[0] == '(';
	c->saw_body += m->body != NULL && m->body[0] == '(';
	c->saw_pm += m->partmap != NULL && m->partmap_len > 0;
	c->saw_hdr += m->search_hdr != NULL;
	c->saw_text += m->search_text != NULL;
	if (c->stop_at > 0 && c->n == (size_t)c->stop_at)
		return 7;
	return 0;
}

static int64_t
setup(struct store **st_r, int nmsgs)
{
	struct store *st = ts_open_new();
	char raw[128];
	int64_t inbox;
	int i;

	*st_r = st;
	if (st == NULL)
		return -1;
	inbox = ts_folder_id(st, "INBOX");
	for (i = 1; i <= nmsgs; i++) {
		snprintf(raw, sizeof raw,
		         "Subject: message %d\r\nFrom: a@example.org\r\n\r\n"
		         "body %d\r\n",
		         i, i);
		if (ts_append(st, inbox, raw, 0, NULL) != i)
			return -1;
	}
	return inbox;
}

static void
test_append_exact(void)
{
	static const char raw[] = "Subject: bytes\nX-8bit: \xe9t\xe9\n\n"
	                          "line with NUL \0 here\r\n"
	                          "bare LF\nbare CR\r\xff\xfe\x80 end\n\0";
	const size_t len = sizeof raw - 1;
	struct store *st;
	struct ts_one o;
	char buf[256];
	uint64_t got;
	int64_t inbox = setup(&st, 0);
	time_t before = time(NULL);
	size_t off;

	T_ASSERT(inbox > 0);
	T_EQ_INT(ts_append_full(st, inbox, raw, len, STORE_FLAG_DRAFT, NULL, 0),
	         1);
	o = ts_get(st, inbox, 1);
	T_ASSERT(o.found);
	T_EQ_INT(o.m.size, len);
	T_EQ_INT(o.m.flags, STORE_FLAG_DRAFT);
	T_EQ_STR(o.keywords, "");
	T_ASSERT(o.m.internaldate >= before && o.m.internaldate <= time(NULL));
	T_ASSERT(o.m.header_len > 0 && o.m.header_len <= len);
	T_EQ_INT(store_blob_read(st, o.m.blob_id, 0, sizeof buf, buf, &got), 0);
	T_EQ_INT(got, len);
	T_ASSERT(memcmp(buf, raw, len) == 0);
	/* Every offset and a few lengths, clipped at the end. */
	for (off = 0; off <= len + 2; off++) {
		memset(buf, '#', sizeof buf);
		T_EQ_INT(store_blob_read(st, o.m.blob_id, off, 7, buf, &got),
		         0);
		T_EQ_INT(got, off >= len ? 0 : (len - off < 7 ? len - off : 7));
		T_ASSERT(memcmp(buf, raw + (off < len ? off : 0), got) == 0);
		T_ASSERT(buf[got] == '#');
	}
	T_EQ_INT(store_blob_read(st, o.m.blob_id, 0, 0, buf, &got), 0);
	T_EQ_INT(got, 0);
	T_EQ_INT(store_blob_read(st, o.m.blob_id, UINT64_MAX, 10, buf, &got),
	         0);
	T_EQ_INT(got, 0);
	T_EQ_INT(store_blob_read(st, 987654, 0, 10, buf, &got),
	         -STORE_ERR_NOTFOUND);

	/* An empty message and the given INTERNALDATE / zone. */
	{
		struct store_append a;
		uint32_t uid, uv;
		struct store_folder f;
		memset(&a, 0, sizeof a);
		a.raw = NULL;
		a.len = 0;
		a.internaldate = 1000000000;
		a.internaldate_tz = -330;
		T_EQ_INT(store_msg_append(st, inbox, &a, &uid, &uv), 0);
		T_EQ_INT(uid, 2);
		T_EQ_INT(store_folder_get(st, "INBOX", &f), 0);
		T_EQ_INT(uv, f.uidvalidity);
		store_folder_clear(&f);
		o = ts_get(st, inbox, 2);
		T_ASSERT(o.found);
		T_EQ_INT(o.m.size, 0);
		T_EQ_INT(o.m.internaldate, 1000000000);
		T_EQ_INT(o.m.internaldate_tz, -330);
		/* NULL out-pointers are fine. */
		T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL), 0);
	}
	ts_close_cleanup(&st);
}

static void
test_append_big_chunks(void)
{
	const size_t len = 3 * 1024 * 1024 + 17;
	struct store *st;
	char *raw, *back;
	uint64_t got, off;
	int64_t inbox = setup(&st, 0), blob;
	size_t i;

	T_ASSERT(inbox > 0);
	raw = malloc(len);
	back = malloc(len);
	T_ASSERT(raw != NULL && back != NULL);
	memcpy(raw, "Subject: big\r\n\r\n", 16);
	for (i = 16; i < len; i++)
		raw[i] = (char)(i * 7 + (i >> 9));
	T_EQ_INT(ts_append_len(st, inbox, raw, len), 1);
	blob = ts_blob_id(st, inbox, 1);
	for (off = 0; off < len; off += got) {
		T_EQ_INT(
		        store_blob_read(st, blob, off, 65536, back + off, &got),
		        0);
		T_ASSERT(got > 0);
	}
	T_ASSERT(memcmp(raw, back, len) == 0);
	free(raw);
	free(back);
	ts_close_cleanup(&st);
}

static void
test_append_errors(void)
{
	struct store *st;
	struct store_append a;
	char kw[KEYWORD_LEN_MAX + 2];
	int64_t inbox = setup(&st, 0);

	T_ASSERT(inbox > 0);
	memset(&a, 0, sizeof a);
	a.raw = "x";
	/* Over the store's cap (the bytes are never read). */
	a.len = (size_t)STORE_MESSAGE_MAX + 1;
	T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL),
	         -STORE_ERR_TOOBIG);
	a.len = 1;
	a.flags = 0x100;
	T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL),
	         -STORE_ERR_INVALID);
	a.flags = 0;
	T_EQ_INT(store_msg_append(st, 4242, &a, NULL, NULL),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_msg_append(st, inbox, NULL, NULL, NULL),
	         -STORE_ERR_INVALID);
	a.keywords = "\\Seen";
	T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL),
	         -STORE_ERR_INVALID);
	memset(kw, 'k', KEYWORD_LEN_MAX + 1);
	kw[KEYWORD_LEN_MAX + 1] = '\0';
	a.keywords = kw;
	T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL),
	         -STORE_ERR_INVALID);
	kw[KEYWORD_LEN_MAX] = '\0';
	T_EQ_INT(store_msg_append(st, inbox, &a, NULL, NULL), 0);
	T_EQ_INT(ts_count(st, inbox), 1);
	ts_close_cleanup(&st);
}

static void
test_iter_want_ranges(void)
{
	struct store *st;
	struct collect c;
	struct store_uid_range r[3] = {{2, 3}, {5, 5}, {7, UINT32_MAX}};
	struct store_uid_range none = {100, 200};
	int64_t inbox = setup(&st, 8);

	T_ASSERT(inbox > 0);
	memset(&c, 0, sizeof c);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0, STORE_WANT_BASIC,
	                        collect_cb, &c),
	         0);
	T_EQ_INT(c.n, 8);
	T_EQ_INT(c.uids[0], 1);
	T_EQ_INT(c.uids[7], 8);
	T_EQ_INT(c.saw_envelope + c.saw_bs + c.saw_pm + c.saw_hdr, 0);
	T_EQ_INT(c.modseq[7], 9);

	memset(&c, 0, sizeof c);
	T_EQ_INT(store_msg_iter(st, inbox, r, 3,
	                        STORE_WANT_ENVELOPE | STORE_WANT_BODYSTRUCTURE,
	                        collect_cb, &c),
	         0);
	T_EQ_INT(c.n, 5);
	T_EQ_INT(c.uids[0], 2);
	T_EQ_INT(c.uids[1], 3);
	T_EQ_INT(c.uids[2], 5);
	T_EQ_INT(c.uids[3], 7);
	T_EQ_INT(c.uids[4], 8);
	T_EQ_INT(c.saw_envelope, 5);
	T_EQ_INT(c.saw_bs, 5);
	T_EQ_INT(c.saw_body, 5);
	T_EQ_INT(c.saw_pm, 0);

	memset(&c, 0, sizeof c);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0,
	                        STORE_WANT_META | STORE_WANT_PARTMAP |
	                                STORE_WANT_SEARCH_HDR |
	                                STORE_WANT_SEARCH_TEXT,
	                        collect_cb, &c),
	         0);
	T_EQ_INT(c.saw_pm, 8);
	T_EQ_INT(c.saw_hdr, 8);
	T_EQ_INT(c.saw_text, 8);
	T_EQ_INT(c.saw_envelope, 0);

	/* Stopping early returns the callback's value. */
	memset(&c, 0, sizeof c);
	c.stop_at = 3;
	T_EQ_INT(store_msg_iter(st, inbox, r, 3, STORE_WANT_META, collect_cb,
	                        &c),
	         7);
	T_EQ_INT(c.n, 3);

	memset(&c, 0, sizeof c);
	T_EQ_INT(store_msg_iter(st, inbox, &none, 1, 0, collect_cb, &c), 0);
	T_EQ_INT(c.n, 0);
	T_EQ_INT(store_msg_iter(st, 999, NULL, 0, 0, collect_cb, &c),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0, 0x400, collect_cb, &c),
	         -STORE_ERR_INVALID);
	ts_close_cleanup(&st);
}

/* Search fields keep their length, even past a NUL. */
static int
search_cb(const struct store_msg *m, void *ctx)
{
	size_t *lens = ctx;

	lens[0] = m->search_hdr_len;
	lens[1] = m->search_text_len;
	lens[2] = m->search_hdr != NULL &&
	          m->search_hdr[m->search_hdr_len] == '\0';
	return 0;
}

static void
test_iter_search_fields(void)
{
	struct store *st;
	size_t lens[3] = {0, 0, 0};
	int64_t inbox = setup(&st, 0);

	T_ASSERT(inbox > 0);
	T_EQ_INT(ts_append(st, inbox,
	                   "Subject: searchable words\r\n\r\nfind me here\r\n",
	                   0, NULL),
	         1);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0,
	                        STORE_WANT_SEARCH_HDR | STORE_WANT_SEARCH_TEXT,
	                        search_cb, lens),
	         0);
	T_ASSERT(lens[0] > 0);
	T_ASSERT(lens[1] > 0);
	T_EQ_INT(lens[2], 1);
	ts_close_cleanup(&st);
}

struct flag_seen {
	uint32_t uids[64];
	uint32_t flags[64];
	char kw[64][256];
	uint64_t modseq[64];
	size_t n;
};

static void
flag_cb(uint32_t uid, uint32_t flags, const char *kw, uint64_t modseq,
        void *ctx)
{
	struct flag_seen *f = ctx;

	if (f->n < 64) {
		f->uids[f->n] = uid;
		f->flags[f->n] = flags;
		snprintf(f->kw[f->n], sizeof f->kw[0], "%s", kw);
		f->modseq[f->n] = modseq;
	}
	f->n++;
}

static void
test_flags(void)
{
	struct store *st;
	struct flag_seen fs;
	struct store_uid_range r13 = {1, 3}, r2 = {2, 2};
	struct ts_one o;
	struct store_folder_status stt;
	uint32_t *failed = NULL;
	size_t nfailed = 0, n;
	char **kw = NULL;
	int64_t inbox = setup(&st, 4);

	T_ASSERT(inbox > 0);
	/* ADD \Seen and keywords (deduplicated, first spelling kept). */
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r13, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_SEEN,
	                             "$Label1  Work $label1 work", 0, flag_cb,
	                             &fs, &failed, &nfailed),
	         0);
	T_ASSERT(failed == NULL);
	T_EQ_INT(nfailed, 0);
	T_EQ_INT(fs.n, 3);
	T_EQ_INT(fs.uids[0], 1);
	T_EQ_INT(fs.uids[2], 3);
	T_EQ_INT(fs.flags[1], STORE_FLAG_SEEN);
	T_EQ_STR(fs.kw[1], "$Label1 Work");
	T_EQ_INT(fs.modseq[0], 6);
	T_EQ_INT(fs.modseq[2], 6); /* one modseq per call */
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.highestmodseq, 6);
	T_EQ_INT(stt.unseen, 1);

	/* Same again: nothing changes, no new modseq. */
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r13, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_SEEN, "WORK", 0, flag_cb, &fs,
	                             NULL, NULL),
	         0);
	T_EQ_INT(fs.n, 0);
	T_EQ_INT(store_folder_status(st, inbox, &stt), 0);
	T_EQ_INT(stt.highestmodseq, 6);

	/* The folder's spelling wins for a later different case. */
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
	                             "work", 0, flag_cb, &fs, NULL, NULL),
	         0);
	T_EQ_INT(fs.n, 1);
	T_EQ_INT(fs.uids[0], 4);
	T_EQ_STR(fs.kw[0], "Work");
	T_EQ_INT(fs.modseq[0], 7);

	/* DEL one keyword and a flag; unknown keywords are ignored. */
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r2, 1, STORE_FLAGS_DEL,
	                             STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
	                             "$LABEL1 NeverSeen", 0, flag_cb, &fs, NULL,
	                             NULL),
	         0);
	T_EQ_INT(fs.n, 1);
	T_EQ_INT(fs.flags[0], 0);
	T_EQ_STR(fs.kw[0], "Work");

	/* SET replaces; the same set in another order is no change. */
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r13, 1, STORE_FLAGS_SET,
	                             STORE_FLAG_SEEN, "Work $Label1", 0,
	                             flag_cb, &fs, NULL, NULL),
	         0);
	T_EQ_INT(fs.n, 1);
	T_EQ_INT(fs.uids[0], 2);
	T_EQ_STR(fs.kw[0], "Work $Label1");
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r2, 1, STORE_FLAGS_SET,
	                             STORE_FLAG_ANSWERED, NULL, 0, flag_cb, &fs,
	                             NULL, NULL),
	         0);
	T_EQ_INT(fs.n, 1);
	T_EQ_STR(fs.kw[0], "");
	o = ts_get(st, inbox, 2);
	T_EQ_INT(o.m.flags, STORE_FLAG_ANSWERED);
	T_EQ_STR(o.keywords, "");
	T_EQ_INT(o.m.modseq, 10);

	/* Folder keywords in order of first use. */
	T_EQ_INT(store_folder_keywords(st, inbox, &kw, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(kw[0], "$Label1");
	T_EQ_STR(kw[1], "Work");
	store_strv_free(kw, n);
	T_EQ_INT(store_folder_keywords(st, 777, &kw, &n), -STORE_ERR_NOTFOUND);

	/* Bad requests. */
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
	                             "bad(kw", 0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
	                             "\\Seen", 0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0x80,
	                             NULL, 0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, (enum store_flag_op)9,
	                             0, NULL, 0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_INVALID);
	T_EQ_INT(store_msg_set_flags(st, 999, NULL, 0, STORE_FLAGS_ADD, 1, NULL,
	                             0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_flags_unchangedsince(void)
{
	struct store *st;
	struct flag_seen fs;
	struct store_uid_range r = {2, 2};
	uint32_t *failed = NULL;
	size_t nfailed = 0;
	int64_t inbox = setup(&st, 4);

	T_ASSERT(inbox > 0);
	/* uid 2 changes at modseq 6; the others stay at 2..5. */
	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL,
	                             NULL, NULL),
	         0);
	memset(&fs, 0, sizeof fs);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD,
	                             STORE_FLAG_SEEN, NULL, 4, flag_cb, &fs,
	                             &failed, &nfailed),
	         0);
	/* uid 1 (modseq 2) and 3 (4) pass; uid 2 (6) and 4 (5) fail. */
	T_EQ_INT(nfailed, 2);
	T_ASSERT(failed != NULL);
	T_EQ_INT(failed[0], 2);
	T_EQ_INT(failed[1], 4);
	free(failed);
	T_EQ_INT(fs.n, 2);
	T_EQ_INT(fs.uids[0], 1);
	T_EQ_INT(fs.uids[1], 3);
	T_EQ_INT(fs.modseq[0], 7);
	ts_close_cleanup(&st);
}

static void
test_keyword_limit(void)
{
	struct store *st;
	char kw[32];
	int i, rc = 0;
	int64_t inbox = setup(&st, 1);

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_begin(st), 0);
	for (i = 0; i < KEYWORDS_PER_FOLDER_MAX && rc == 0; i++) {
		snprintf(kw, sizeof kw, "k%d", i);
		rc = store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
		                         kw, 0, NULL, NULL, NULL, NULL);
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(store_commit(st), 0);
	/* At the cap: a known one is fine, a new one is LIMIT. */
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_DEL, 0,
	                             "K0", 0, NULL, NULL, NULL, NULL),
	         0);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
	                             "k0", 0, NULL, NULL, NULL, NULL),
	         0);
	T_EQ_INT(store_msg_set_flags(st, inbox, NULL, 0, STORE_FLAGS_ADD, 0,
	                             "brand-new", 0, NULL, NULL, NULL, NULL),
	         -STORE_ERR_LIMIT);
	T_EQ_INT(ts_append(st, inbox, "A: 1\r\n\r\n", 0, "another"),
	         -STORE_ERR_LIMIT);
	T_EQ_INT(ts_count(st, inbox), 1);
	ts_close_cleanup(&st);
}

static void
test_changes_since(void)
{
	struct store *st;
	struct store_change *ch = NULL;
	struct store_uid_range r = {3, 3};
	uint32_t *uids = NULL;
	size_t n = 0;
	int64_t inbox = setup(&st, 5);

	T_ASSERT(inbox > 0);
	/* Appends: uid k got modseq k + 1. */
	T_EQ_INT(store_changes_since(st, inbox, 4, &ch, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(ch[0].uid, 4);
	T_EQ_INT(ch[0].modseq, 5);
	T_EQ_INT(ch[1].uid, 5);
	store_changes_free(ch, n);
	T_EQ_INT(store_changes_since(st, inbox, 0, &ch, &n), 0);
	T_EQ_INT(n, 5);
	store_changes_free(ch, n);
	T_EQ_INT(store_changes_since(st, inbox, UINT64_MAX, &ch, &n), 0);
	T_EQ_INT(n, 0);
	store_changes_free(ch, n);

	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_DELETED, "Gone", 0, NULL, NULL,
	                             NULL, NULL),
	         0);
	T_EQ_INT(store_changes_since(st, inbox, 6, &ch, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(ch[0].uid, 3);
	T_EQ_INT(ch[0].modseq, 7);
	T_EQ_INT(ch[0].flags, STORE_FLAG_DELETED);
	T_EQ_STR(ch[0].keywords, "Gone");
	store_changes_free(ch, n);

	T_EQ_INT(store_msg_expunge(st, inbox, NULL, 0, &uids, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(uids[0], 3);
	free(uids);
	T_EQ_INT(store_expunged_since(st, inbox, 7, &uids, &n), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(uids[0], 3);
	free(uids);
	T_EQ_INT(store_expunged_since(st, inbox, 8, &uids, &n), 0);
	T_EQ_INT(n, 0);
	T_ASSERT(uids == NULL);
	T_EQ_INT(store_changes_since(st, inbox, 7, &ch, &n), 0);
	T_EQ_INT(n, 0);
	store_changes_free(ch, n);
	T_EQ_INT(store_changes_since(st, 999, 0, &ch, &n), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_expunged_since(st, 999, 0, &uids, &n),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_modseq_monotonic(void)
{
	struct store *st;
	struct store_folder_status s;
	uint64_t last = 0;
	uint32_t *a = NULL, *b = NULL, uv;
	size_t n;
	int64_t inbox = setup(&st, 0), other;
	int i;

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_folder_create(st, "other", 0, &other), 0);
	for (i = 0; i < 30; i++) {
		struct store_uid_range r = {(uint32_t)i, (uint32_t)i + 2};
		switch (i % 5) {
		case 0:
		case 1:
			T_ASSERT(ts_append(st, inbox, "A: x\r\n\r\n", 0, NULL) >
			         0);
			break;
		case 2:
			T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1,
			                             STORE_FLAGS_ADD,
			                             STORE_FLAG_DELETED, NULL,
			                             0, NULL, NULL, NULL, NULL),
			         0);
			break;
		case 3:
			T_EQ_INT(store_msg_copy(st, inbox, &r, 1, other, 0, &a,
			                        &b, &n, &uv),
			         0);
			free(a);
			free(b);
			break;
		default:
			T_EQ_INT(store_msg_expunge(st, inbox, &r, 1, NULL, &n),
			         0);
			break;
		}
		T_EQ_INT(store_folder_status(st, inbox, &s), 0);
		T_ASSERT(s.highestmodseq >= last);
		last = s.highestmodseq;
	}
	ts_close_cleanup(&st);
}

static void
test_copy_move(void)
{
	struct store *st;
	struct store_uid_range r[2] = {{2, 3}, {5, 9}};
	struct store_folder f;
	struct store_folder_status s;
	struct ts_one o;
	uint32_t *su = NULL, *du = NULL, uv = 0, *ex = NULL;
	size_t n = 0, nex = 0;
	char **kw = NULL;
	int64_t inbox = setup(&st, 5), dst;

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_folder_create(st, "Dst", 0, &dst), 0);
	T_ASSERT(ts_append(st, dst, "A: pre\r\n\r\n", 0, NULL) == 1);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r[0], 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_FLAGGED, "$Important", 0, NULL,
	                             NULL, NULL, NULL),
	         0);

	/* COPY 2:3,5:9 (5 only exists). */
	T_EQ_INT(store_msg_copy(st, inbox, r, 2, dst, 0, &su, &du, &n, &uv), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(su[0], 2);
	T_EQ_INT(su[1], 3);
	T_EQ_INT(su[2], 5);
	T_EQ_INT(du[0], 2);
	T_EQ_INT(du[1], 3);
	T_EQ_INT(du[2], 4);
	free(su);
	free(du);
	T_EQ_INT(store_folder_get(st, "Dst", &f), 0);
	T_EQ_INT(uv, f.uidvalidity);
	T_EQ_INT(f.uidnext, 5);
	store_folder_clear(&f);
	o = ts_get(st, dst, 2);
	T_EQ_INT(o.m.flags, STORE_FLAG_FLAGGED);
	T_EQ_STR(o.keywords, "$Important");
	T_EQ_INT(o.m.blob_id, ts_blob_id(st, inbox, 2));
	T_EQ_INT(store_folder_keywords(st, dst, &kw, &n), 0);
	T_EQ_INT(n, 1);
	store_strv_free(kw, n);
	T_EQ_INT(ts_count(st, inbox), 5);
	T_EQ_INT(ts_count(st, dst), 4);

	/* MOVE 1:2: source loses them (remembered as expunged). */
	{
		struct store_uid_range m = {1, 2};
		uint64_t before;
		T_EQ_INT(store_folder_status(st, inbox, &s), 0);
		before = s.highestmodseq;
		T_EQ_INT(store_msg_copy(st, inbox, &m, 1, dst, 1, &su, &du, &n,
		                        &uv),
		         0);
		T_EQ_INT(n, 2);
		T_EQ_INT(su[0], 1);
		T_EQ_INT(du[0], 5);
		T_EQ_INT(su[1], 2);
		T_EQ_INT(du[1], 6);
		free(su);
		free(du);
		T_EQ_INT(ts_count(st, inbox), 3);
		T_EQ_INT(ts_count(st, dst), 6);
		T_EQ_INT(store_expunged_since(st, inbox, before, &ex, &nex), 0);
		T_EQ_INT(nex, 2);
		T_EQ_INT(ex[0], 1);
		T_EQ_INT(ex[1], 2);
		free(ex);
		o = ts_get(st, dst, 6);
		T_EQ_STR(o.keywords, "$Important");
		T_EQ_INT(ts_get(st, inbox, 2).found, 0);
	}

	/* Nothing matches: OK with no pairs. */
	{
		struct store_uid_range none = {100, 200};
		T_EQ_INT(store_msg_copy(st, inbox, &none, 1, dst, 0, &su, &du,
		                        &n, &uv),
		         0);
		T_EQ_INT(n, 0);
		T_ASSERT(su == NULL && du == NULL);
	}
	/* Into the same folder (duplicates, new UIDs). */
	T_EQ_INT(store_msg_copy(st, dst, NULL, 0, dst, 0, NULL, NULL, &n, NULL),
	         0);
	T_EQ_INT(n, 6);
	T_EQ_INT(ts_count(st, dst), 12);
	T_EQ_INT(store_msg_copy(st, inbox, NULL, 0, 999, 0, &su, &du, &n, &uv),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_msg_copy(st, 999, NULL, 0, dst, 1, &su, &du, &n, &uv),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_expunge(void)
{
	struct store *st;
	struct store_uid_range del = {2, 5}, part = {1, 3};
	struct store_folder_status s;
	uint32_t *uids = NULL;
	size_t n = 0;
	int64_t inbox = setup(&st, 6), blob;
	char buf[8];
	uint64_t got;

	T_ASSERT(inbox > 0);
	blob = ts_blob_id(st, inbox, 2);
	T_EQ_INT(store_msg_set_flags(st, inbox, &del, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_DELETED, NULL, 0, NULL, NULL,
	                             NULL, NULL),
	         0);
	/* UID EXPUNGE 1:3 takes only 2 and 3. */
	T_EQ_INT(store_msg_expunge(st, inbox, &part, 1, &uids, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(uids[0], 2);
	T_EQ_INT(uids[1], 3);
	free(uids);
	T_EQ_INT(store_blob_read(st, blob, 0, sizeof buf, buf, &got),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_msg_expunge(st, inbox, NULL, 0, &uids, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(uids[0], 4);
	T_EQ_INT(uids[1], 5);
	free(uids);
	T_EQ_INT(store_msg_expunge(st, inbox, NULL, 0, &uids, &n), 0);
	T_EQ_INT(n, 0);
	T_ASSERT(uids == NULL);
	T_EQ_INT(store_folder_status(st, inbox, &s), 0);
	T_EQ_INT(s.messages, 2);
	T_EQ_INT(s.uidnext, 7);
	T_EQ_INT(store_msg_expunge(st, 999, NULL, 0, &uids, &n),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_expunge_older(void)
{
	struct store *st = ts_open_new();
	uint32_t *uids = NULL;
	size_t n = 99;
	int64_t trash;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_folder_create(st, "Trash", STORE_SPECIAL_TRASH, &trash),
	         0);
	T_EQ_INT(ts_append_full(st, trash, "A: 1\r\n\r\n", 8, 0, NULL, 1000),
	         1);
	T_EQ_INT(ts_append_full(st, trash, "A: 2\r\n\r\n", 8, 0, NULL, 5000),
	         2);
	T_EQ_INT(ts_append_full(st, trash, "A: 3\r\n\r\n", 8, 0, NULL, 2000),
	         3);
	/* The cutoff is on when a message came into the folder, not on its
	 * INTERNALDATE (1000..5000 here): nothing arrived an hour ago. */
	T_EQ_INT(store_msg_expunge_older(st, trash, (int64_t)time(NULL) - 3600,
	                                 &n),
	         0);
	T_EQ_INT(n, 0);
	T_EQ_INT(ts_count(st, trash), 3);
	T_EQ_INT(store_msg_expunge_older(st, trash, (int64_t)time(NULL) + 10,
	                                 &n),
	         0);
	T_EQ_INT(n, 3);
	T_EQ_INT(ts_count(st, trash), 0);
	T_EQ_INT(store_expunged_since(st, trash, 0, &uids, &n), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(uids[0], 1);
	T_EQ_INT(uids[2], 3);
	free(uids);
	T_EQ_INT(store_msg_expunge_older(st, 999, 10, &n), -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_folder_uids(void)
{
	struct store *st;
	struct store_uid_range r = {2, 2};
	uint32_t *uids = NULL;
	size_t n = 0;
	uint64_t modseq = 0;
	int64_t inbox = setup(&st, 4);

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_DELETED, NULL, 0, NULL, NULL,
	                             NULL, NULL),
	         0);
	T_EQ_INT(store_msg_expunge(st, inbox, NULL, 0, NULL, NULL), 0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, &modseq), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(uids[0], 1);
	T_EQ_INT(uids[1], 3);
	T_EQ_INT(uids[2], 4);
	T_EQ_INT(modseq, 7);
	free(uids);
	T_EQ_INT(store_folder_uids(st, 999, &uids, &n, &modseq),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

/* A FETCH-like callback that re-enters the store. */
struct reenter {
	struct store *st;
	int64_t folder;
	int inner_n;
	int rc;
};

static int
count_cb(const struct store_msg *m, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int
reenter_cb(const struct store_msg *m, void *ctx)
{
	struct reenter *r = ctx;
	struct store_uid_range one = {m->uid, m->uid};
	char buf[16];
	uint64_t got;

	if (r->rc == 0)
		r->rc = store_msg_iter(r->st, r->folder, NULL, 0,
		                       STORE_WANT_META, count_cb, &r->inner_n);
	if (r->rc == 0)
		r->rc = store_blob_read(r->st, m->blob_id, 0, sizeof buf, buf,
		                        &got);
	if (r->rc == 0)
		r->rc = store_msg_set_flags(r->st, r->folder, &one, 1,
		                            STORE_FLAGS_ADD, STORE_FLAG_SEEN,
		                            NULL, 0, NULL, NULL, NULL, NULL);
	return 0;
}

static void
test_reentrant_callback(void)
{
	struct store *st;
	struct reenter r;
	struct store_folder_status s;
	int64_t inbox = setup(&st, 3);

	T_ASSERT(inbox > 0);
	memset(&r, 0, sizeof r);
	r.st = st;
	r.folder = inbox;
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0, STORE_WANT_META, reenter_cb,
	                        &r),
	         0);
	T_EQ_INT(r.rc, 0);
	T_EQ_INT(r.inner_n, 9);
	T_EQ_INT(store_folder_status(st, inbox, &s), 0);
	T_EQ_INT(s.unseen, 0);
	ts_close_cleanup(&st);
}

static void
test_first_unseen(void)
{
	struct store *st;
	struct store_uid_range r;
	uint32_t uid = 99;
	int64_t inbox = setup(&st, 4), other;

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 1);
	r.lo = 1;
	r.hi = 2;
	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, NULL,
	                             0, NULL, NULL, NULL, NULL),
	         0);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 3);
	r.lo = 1;
	r.hi = UINT32_MAX;
	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_SEEN, NULL, 0, NULL, NULL, NULL,
	                             NULL),
	         0);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 0);
	/* unseen again, and a new unseen message */
	r.lo = 2;
	r.hi = 2;
	T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_DEL,
	                             STORE_FLAG_SEEN, NULL, 0, NULL, NULL, NULL,
	                             NULL),
	         0);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 2);
	T_EQ_INT(ts_append(st, inbox, "Subject: 5\r\n\r\nx\r\n",
	                   STORE_FLAG_SEEN, NULL),
	         5);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 2);
	/* empty folder, other folder */
	T_EQ_INT(store_folder_create(st, "Empty", STORE_SPECIAL_NONE, &other),
	         0);
	T_EQ_INT(store_folder_first_unseen(st, other, &uid), 0);
	T_EQ_INT(uid, 0);
	T_EQ_INT(ts_append(st, other, "Subject: o\r\n\r\no\r\n", 0, NULL), 1);
	T_EQ_INT(store_folder_first_unseen(st, other, &uid), 0);
	T_EQ_INT(uid, 1);
	T_EQ_INT(store_folder_first_unseen(st, inbox, &uid), 0);
	T_EQ_INT(uid, 2);
	ts_close_cleanup(&st);
}

struct addr_seen {
	char addr[1024];
	int n, with_addr;
};

static int
addr_cb(const struct store_msg *m, void *ctx)
{
	struct addr_seen *a = ctx;

	if (m->search_addr != NULL) {
		a->with_addr++;
		if (m->uid == 1)
			snprintf(a->addr, sizeof a->addr, "%.*s",
			         (int)m->search_addr_len, m->search_addr);
	}
	a->n++;
	/* only what was asked for */
	return m->search_hdr != NULL || m->search_text != NULL;
}

static void
test_search_addr(void)
{
	struct store *st;
	struct addr_seen a;
	int64_t inbox = setup(&st, 0), copy;
	uint32_t *su = NULL, *du = NULL;
	size_t n = 0;
	uint32_t uv;

	T_ASSERT(inbox > 0);
	T_EQ_INT(ts_append(st, inbox,
	                   "Received: from x by y; Mon, 1 Jan 2024 00:00:00 "
	                   "+0000\r\n"
	                   "From: =?UTF-8?Q?J=c3=b6rg?= <j@example.de>\r\n"
	                   "X-From: not this\r\n"
	                   "To: a@example.com,\r\n b@example.com\r\n"
	                   "SUBJECT: hello\r\n"
	                   "Cc: c@example.com\r\n"
	                   "bcc: d@example.com\r\n"
	                   "Reply-To: r@example.com\r\n"
	                   "\r\nbody\r\n",
	                   0, NULL),
	         1);
	T_EQ_INT(ts_append(st, inbox, "X-Only: nothing\r\n\r\nbody\r\n", 0,
	                   NULL),
	         2);
	T_EQ_INT(ts_append(st, inbox, "", 0, NULL), 3);
	memset(&a, 0, sizeof a);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0, STORE_WANT_SEARCH_ADDR,
	                        addr_cb, &a),
	         0);
	T_EQ_INT(a.n, 3);
	T_EQ_INT(a.with_addr, 3); /* "" for the ones without */
	T_EQ_STR(a.addr, "From: J\xc3\xb6rg <j@example.de>\n"
	                 "To: a@example.com, b@example.com\n"
	                 "SUBJECT: hello\n"
	                 "Cc: c@example.com\n"
	                 "bcc: d@example.com\n");
	/* with the other columns too */
	memset(&a, 0, sizeof a);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0,
	                        STORE_WANT_SEARCH_ADDR | STORE_WANT_META |
	                                STORE_WANT_ENVELOPE,
	                        addr_cb, &a),
	         0);
	T_EQ_INT(a.n, 3);
	T_ASSERT(strncmp(a.addr, "From: J\xc3\xb6rg", 9) == 0);
	/* copies share it; it goes with the last message */
	T_EQ_INT(store_folder_create(st, "Copy", STORE_SPECIAL_NONE, &copy), 0);
	T_EQ_INT(store_msg_copy(st, inbox, NULL, 0, copy, 0, &su, &du, &n, &uv),
	         0);
	T_EQ_INT(n, 3);
	free(su);
	free(du);
	memset(&a, 0, sizeof a);
	T_EQ_INT(store_msg_iter(st, copy, NULL, 0, STORE_WANT_SEARCH_ADDR,
	                        addr_cb, &a),
	         0);
	T_ASSERT(strstr(a.addr, "SUBJECT: hello\n") != NULL);
	T_EQ_INT(store_folder_delete(st, "Copy"), 0);
	memset(&a, 0, sizeof a);
	T_EQ_INT(store_msg_iter(st, inbox, NULL, 0, STORE_WANT_SEARCH_ADDR,
	                        addr_cb, &a),
	         0);
	T_ASSERT(strstr(a.addr, "bcc: d@example.com\n") != NULL);
	ts_close_cleanup(&st);
}

/* The cached UID list follows every change, ours or another process's. */
static void
test_folder_uids_cache(void)
{
	struct store *st, *st2 = NULL;
	struct store_uid_range r = {2, 2};
	const char *err = NULL;
	uint32_t *uids = NULL, *du = NULL, *su = NULL;
	uint64_t modseq = 0, m2 = 0;
	size_t n = 0, nc = 0;
	int64_t inbox = setup(&st, 3), other;

	T_ASSERT(inbox > 0);
	T_EQ_INT(store_folder_create(st, "Other", STORE_SPECIAL_NONE, &other),
	         0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, &modseq), 0);
	T_EQ_INT(n, 3);
	free(uids);
	/* served from the cache: the same */
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, &m2), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(uids[2], 3);
	T_EQ_INT(m2, modseq);
	free(uids);
	/* another folder */
	T_EQ_INT(store_folder_uids(st, other, &uids, &n, NULL), 0);
	T_EQ_INT(n, 0);
	free(uids);
	/* our own append */
	T_EQ_INT(ts_append(st, inbox, "Subject: 4\r\n\r\n4\r\n", 0, NULL), 4);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, &m2), 0);
	T_EQ_INT(n, 4);
	T_ASSERT(m2 > modseq);
	free(uids);
	/* inside a transaction that is rolled back */
	T_EQ_INT(store_begin(st), 0);
	T_EQ_INT(ts_append(st, inbox, "Subject: 5\r\n\r\n5\r\n", 0, NULL), 5);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 5);
	free(uids);
	T_EQ_INT(store_rollback(st), 0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 4);
	free(uids);
	/* claiming \\Recent keeps the list; appending after it does not */
	{
		uint32_t first = 0;

		T_EQ_INT(store_folder_claim_recent(st, inbox, &first), 0);
		T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
		T_EQ_INT(n, 4);
		free(uids);
		T_EQ_INT(ts_append(st, inbox, "Subject: 5\r\n\r\n5\r\n", 0,
		                   NULL),
		         5);
		T_EQ_INT(store_folder_claim_recent(st, inbox, &first), 0);
		T_EQ_INT(first, 5);
		T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
		T_EQ_INT(n, 5);
		T_EQ_INT(uids[4], 5);
		free(uids);
		r.lo = r.hi = 5;
		T_EQ_INT(store_msg_set_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
		                             STORE_FLAG_DELETED, NULL, 0, NULL,
		                             NULL, NULL, NULL),
		         0);
		T_EQ_INT(store_msg_expunge(st, inbox, NULL, 0, NULL, NULL), 0);
		r.lo = r.hi = 2;
	}
	/* another connection expunges and moves */
	T_EQ_INT(store_open(ts_path, 0, &st2, &err), 0);
	T_EQ_INT(store_msg_set_flags(st2, inbox, &r, 1, STORE_FLAGS_ADD,
	                             STORE_FLAG_DELETED, NULL, 0, NULL, NULL,
	                             NULL, NULL),
	         0);
	T_EQ_INT(store_msg_expunge(st2, inbox, NULL, 0, NULL, NULL), 0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 3);
	T_EQ_INT(uids[1], 3);
	free(uids);
	r.lo = r.hi = 1;
	T_EQ_INT(store_msg_copy(st2, inbox, &r, 1, other, 1, &su, &du, &nc,
	                        NULL),
	         0);
	free(su);
	free(du);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(uids[0], 3);
	free(uids);
	T_EQ_INT(store_folder_uids(st, other, &uids, &n, NULL), 0);
	T_EQ_INT(n, 1);
	free(uids);
	store_close(&st2);
	/* release_memory keeps everything working */
	T_EQ_INT(store_release_memory(st), 0);
	T_EQ_INT(store_folder_uids(st, inbox, &uids, &n, NULL), 0);
	T_EQ_INT(n, 2);
	free(uids);
	T_EQ_INT(store_begin(st), 0);
	T_EQ_INT(store_release_memory(st), -STORE_ERR_INVALID);
	T_EQ_INT(store_rollback(st), 0);
	T_EQ_INT(ts_count(st, inbox), 2);
	T_EQ_INT(store_release_memory(st), 0);
	ts_close_cleanup(&st);
}

static const struct test_case tests[] = {
        {"append_exact", test_append_exact},
        {"append_big_chunks", test_append_big_chunks},
        {"append_errors", test_append_errors},
        {"iter_want_ranges", test_iter_want_ranges},
        {"iter_search_fields", test_iter_search_fields},
        {"flags", test_flags},
        {"flags_unchangedsince", test_flags_unchangedsince},
        {"keyword_limit", test_keyword_limit},
        {"changes_since", test_changes_since},
        {"modseq_monotonic", test_modseq_monotonic},
        {"copy_move", test_copy_move},
        {"expunge", test_expunge},
        {"expunge_older", test_expunge_older},
        {"folder_uids", test_folder_uids},
        {"reentrant_callback", test_reentrant_callback},
        {"first_unseen", test_first_unseen},
        {"search_addr", test_search_addr},
        {"folder_uids_cache", test_folder_uids_cache},
        {NULL, NULL},
};

TEST_MAIN(tests)
