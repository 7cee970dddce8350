/*
 * bridge/imap_view.c: the selected folder as one session sees it: the
 * sequence-number map (RFC 3501 2.3.1.2) and the untagged updates that keep
 * it in step with the store when other sessions or processes change the
 * folder (EXISTS, EXPUNGE, FETCH FLAGS; RFC 7162 VANISHED when QRESYNC is
 * enabled). Changes are found by MODSEQ: the view remembers up to which
 * modseq it has told the client about flag changes and about expunges.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/xalloc.h"
#include "imap_seqset.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

uint32_t
imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < v->n && v->uids[lo] == uid)
		return (uint32_t)lo + 1;
	return 0;
}

uint32_t
imap_view_remove_uid(struct imap_view *v, uint32_t uid)
{
	uint32_t seq = imap_view_seq(v, uid);

	if (seq == 0)
		return 0;
	memmove(&v->uids[seq - 1], &v->uids[seq],
		(v->n - seq) * sizeof v->uids[0]);
	v->n--;
	return seq;
}

void
imap_view_free(struct imap_view **vp)
{
	struct imap_view *v = *vp;

	if (v == NULL)
		return;
	free(v->name);
	free(v->uids);
	free(v->own);
	free(v->searchres);
	store_strv_free(v->keywords, v->nkeywords);
	free(v);
	*vp = NULL;
}

void
imap_view_own_change(struct imap_session *s, uint32_t uid, uint64_t modseq)
{
	struct imap_view *v = s->view;

	if (v == NULL)
		return;
	if (v->nown == v->ownalloc) {
		v->ownalloc = v->ownalloc ? v->ownalloc * 2 : 64;
		v->own = xreallocarray(v->own, v->ownalloc, sizeof *v->own);
	}
	v->own[v->nown].uid = uid;
	v->own[v->nown].modseq = modseq;
	v->nown++;
}

static int
is_own(const struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	size_t i;
	for (i = 0; i < v->nown; i++)
		if (v->own[i].uid == uid && v->own[i].modseq == modseq)
			return 1;
	return 0;
}

static int
keyword_known(const struct imap_view *v, const char *kw, size_t len)
{
	size_t i;
	for (i = 0; i < v->nkeywords; i++)
		if (strlen(v->keywords[i]) == len &&
		    memcmp(v->keywords[i], kw, len) == 0)
			return 1;
	return 0;
}

/* 1 when keywords has a keyword the client was not told of in FLAGS. */
static int
has_new_keyword(const struct imap_view *v, const char *keywords)
{
	const char *p = keywords;

	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l && !keyword_known(v, p, l))
			return 1;
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

void
imap_view_send_flags(struct imap_session *s)
{
	struct imap_view *v = s->view;
	struct buf b;
	size_t i;

	store_strv_free(v->keywords, v->nkeywords);
	v->keywords = NULL;
	v->nkeywords = 0;
	store_folder_keywords(s->srv->st, v->folder_id, &v->keywords,
			      &v->nkeywords);
	buf_init(&b, 0);
	buf_addstr(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (i = 0; i < v->nkeywords; i++)
		buf_printf(&b, " %s", v->keywords[i]);
	buf_addstr(&b, ")\r\n");
	if (v->readonly) {
		buf_addstr(&b, "* OK [PERMANENTFLAGS ()] Read-only folder\r\n");
	} else {
		buf_addstr(&b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
			       "\\Deleted \\Seen \\Draft");
		for (i = 0; i < v->nkeywords; i++)
			buf_printf(&b, " %s", v->keywords[i]);
		buf_addstr(&b, " \\*)] Flags permitted\r\n");
	}
	imap_send_raw(s, b.data, b.len);
	buf_clear(&b);
}

void
imap_view_send_vanished(struct imap_session *s, const uint32_t *uids,
			size_t n, int earlier)
{
	struct buf b;

	if (n == 0)
		return;
	buf_init(&b, 0);
	buf_addstr(&b, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	imap_seqset_format_uids(uids, n, &b);
	buf_addstr(&b, "\r\n");
	imap_send_raw(s, b.data, b.len);
	buf_clear(&b);
}

void
imap_view_report_removed(struct imap_session *s, const uint32_t *uids,
			 size_t n)
{
	struct imap_view *v = s->view;
	size_t i;

	if (n == 0)
		return;
	if (s->qresync) {
		/* VANISHED with the UIDs that were in the map (RFC 7162
		 * 3.2.10). */
		uint32_t *gone = xcalloc(n, sizeof *gone);
		size_t ng = 0;
		for (i = 0; i < n; i++)
			if (imap_view_remove_uid(v, uids[i]))
				gone[ng++] = uids[i];
		imap_view_send_vanished(s, gone, ng, 0);
		free(gone);
		return;
	}
	/* Highest first, so each number is right when it is sent. */
	for (i = n; i-- > 0;) {
		uint32_t seq = imap_view_remove_uid(v, uids[i]);
		if (seq)
			imap_send(s, "* %u EXPUNGE\r\n", seq);
	}
}

static void
sync_expunges(struct imap_session *s, uint64_t hm)
{
	struct imap_view *v = s->view;
	uint32_t *uids = NULL;
	size_t n = 0;

	if (store_expunged_since(s->srv->st, v->folder_id, v->known_exp_modseq,
				 &uids, &n) < 0)
		return;
	v->known_exp_modseq = hm;
	imap_view_report_removed(s, uids, n);
	free(uids);
}

void
imap_view_send_change(struct imap_session *s, uint32_t seq,
		      const struct store_change *ch, int with_modseq,
		      struct buf *b)
{
	buf_reset(b);
	buf_printf(b, "* %u FETCH (UID %u FLAGS ", seq, ch->uid);
	imap_write_flags(b, ch->flags, ch->keywords,
			 ch->uid >= s->view->first_recent);
	if (with_modseq)
		buf_printf(b, " MODSEQ (%llu)", (unsigned long long)ch->modseq);
	buf_addstr(b, ")\r\n");
	imap_send_raw(s, b->data, b->len);
}

static void
sync_changes(struct imap_session *s, uint64_t hm)
{
	struct imap_view *v = s->view;
	struct store_change *ch = NULL;
	size_t n = 0, i, added = 0;
	struct buf b;
	int flags_sent = 0;

	if (store_changes_since(s->srv->st, v->folder_id, v->known_modseq, &ch,
				&n) < 0)
		return;
	v->known_modseq = hm;
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		uint32_t seq;

		if (!flags_sent && has_new_keyword(v, ch[i].keywords)) {
			imap_view_send_flags(s);
			flags_sent = 1;
		}
		if (v->n == 0 || ch[i].uid > v->uids[v->n - 1]) {
			if (v->n == v->alloc) {
				v->alloc = v->alloc ? v->alloc * 2 : 64;
				v->uids = xreallocarray(v->uids, v->alloc,
							sizeof *v->uids);
			}
			v->uids[v->n++] = ch[i].uid;
			added++;
			continue;
		}
		seq = imap_view_seq(v, ch[i].uid);
		if (seq == 0 || is_own(v, ch[i].uid, ch[i].modseq))
			continue;
		imap_view_send_change(s, seq, &ch[i], s->condstore, &b);
	}
	buf_clear(&b);
	store_changes_free(ch, n);
	v->nown = 0;
	if (added) {
		uint32_t first = 0, recent = 0;
		size_t j;
		if (!v->readonly &&
		    store_folder_claim_recent(s->srv->st, v->folder_id,
					      &first) == 0 &&
		    first < v->first_recent)
			v->first_recent = first;
		imap_send(s, "* %zu EXISTS\r\n", v->n);
		if (!s->rev2) {
			for (j = v->n; j-- > 0 && v->uids[j] >= v->first_recent;)
				recent++;
			imap_send(s, "* %u RECENT\r\n", recent);
		}
	}
}

void
imap_view_sync(struct imap_session *s, int allow_expunge)
{
	struct imap_view *v = s->view;
	struct store_folder f;

	if (v == NULL)
		return;
	if (store_folder_get_by_id(s->srv->st, v->folder_id, &f) < 0)
		return;
	if (allow_expunge && f.highestmodseq != v->known_exp_modseq)
		sync_expunges(s, f.highestmodseq);
	if (f.highestmodseq != v->known_modseq)
		sync_changes(s, f.highestmodseq);
	store_folder_clear(&f);
	s->notify_pending = 0;
}
