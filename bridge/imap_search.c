/*
 * bridge/imap_search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4) with every
 * search key, CHARSET US-ASCII/UTF-8, ESEARCH result options (RFC 4731:
 * MIN MAX COUNT ALL), SAVE and "$" (RFC 5182), the MODSEQ key (RFC 7162),
 * and the IMAP4rev2 ESEARCH-only response. Matching is on what was derived
 * at store time: decoded header lines and decoded body text, compared
 * case-insensitively (ASCII case folding) as substrings.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../db/msg_envelope.h"
#include "imap_cmd.h"
#include "imap_seqset.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

/* A search program has at most this many keys and this nesting. */
#define SEARCH_MAX_KEYS 1024
#define SEARCH_MAX_DEPTH 64

enum sk {
	SK_ALL,
	SK_SEQSET,
	SK_UIDSET,
	SK_FLAG,      /* mask set */
	SK_UNFLAG,    /* mask not set */
	SK_KEYWORD,   /* str */
	SK_UNKEYWORD, /* str */
	SK_NEW,
	SK_OLD,
	SK_RECENT,
	SK_HEADER, /* field, str */
	SK_BODY,
	SK_TEXT,
	SK_BEFORE,
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_LARGER,
	SK_SMALLER,
	SK_MODSEQ,
	SK_OLDER, /* RFC 5032 WITHIN: seconds */
	SK_YOUNGER,
	SK_NOT,
	SK_OR,
	SK_AND,
};

struct skey {
	enum sk kind;
	uint32_t mask;
	const char *str; /* points into the command arguments */
	size_t len;
	const char *field;
	size_t flen;
	int addr; /* field is in the From/To/Cc/Bcc/Subject blob */
	int64_t num;
	struct imap_seqset set;
	struct skey *a, *b; /* NOT: a; OR: a, b */
	struct skey **kids; /* AND */
	size_t nkids;
};

struct sprog {
	struct imap_session *s;
	struct skey *nodes;
	size_t nnodes;
	unsigned want;
	int uid_cmd;
	int has_modseq;
	const char *error;
	int badcharset;
};

struct sres {
	struct sprog *p;
	struct skey *root;
	uint32_t *uids;
	size_t n, alloc;
	uint64_t maxmodseq;
	int64_t now;
};

static struct skey *
node_new(struct sprog *p, enum sk kind)
{
	struct skey *k;
	if (p->nnodes >= SEARCH_MAX_KEYS) {
		p->error = "Search program too large";
		return NULL;
	}
	k = &p->nodes[p->nnodes++];
	memset(k, 0, sizeof *k);
	k->kind = kind;
	return k;
}

static int
get_string(struct sprog *p, const struct imap_arg *args, size_t nargs,
	   size_t *i, const char **s_r, size_t *len_r)
{
	if (*i >= nargs || !imap_arg_is_astring(&args[*i])) {
		p->error = "String expected";
		return -1;
	}
	*s_r = args[*i].s;
	*len_r = args[*i].len;
	(*i)++;
	return 0;
}

static int
get_number(struct sprog *p, const struct imap_arg *args, size_t nargs,
	   size_t *i, uint64_t max, int64_t *v_r)
{
	uint64_t v;
	if (*i >= nargs || args[*i].type != IMAP_ARG_ATOM ||
	    str_to_u64(str_make(args[*i].s, args[*i].len), max, &v) < 0) {
		p->error = "Number expected";
		return -1;
	}
	*v_r = (int64_t)v;
	(*i)++;
	return 0;
}

static int
get_date(struct sprog *p, const struct imap_arg *args, size_t nargs,
	 size_t *i, int64_t *t_r)
{
	if (*i >= nargs || !imap_arg_is_astring(&args[*i]) ||
	    imap_parse_date(args[*i].s, args[*i].len, t_r) < 0) {
		p->error = "Invalid date";
		return -1;
	}
	(*i)++;
	return 0;
}

static struct skey *parse_key(struct sprog *p, const struct imap_arg *args,
			      size_t nargs, size_t *i, int depth);

/* Keys of a list or of the top level, ANDed. */
static struct skey *
parse_keys(struct sprog *p, const struct imap_arg *args, size_t nargs,
	   int depth)
{
	struct skey *and = node_new(p, SK_AND);
	size_t i = 0;

	if (and == NULL)
		return NULL;
	if (nargs == 0) {
		p->error = "Missing search key";
		return NULL;
	}
	and->kids = xcalloc(nargs, sizeof *and->kids);
	while (i < nargs) {
		struct skey *k = parse_key(p, args, nargs, &i, depth + 1);
		if (k == NULL)
			return NULL;
		and->kids[and->nkids++] = k;
	}
	return and;
}

static const struct {
	const char *name;
	enum sk kind;
	uint32_t mask;
} simple_keys[] = {
	{ "ALL", SK_ALL, 0 },
	{ "ANSWERED", SK_FLAG, STORE_FLAG_ANSWERED },
	{ "DELETED", SK_FLAG, STORE_FLAG_DELETED },
	{ "DRAFT", SK_FLAG, STORE_FLAG_DRAFT },
	{ "FLAGGED", SK_FLAG, STORE_FLAG_FLAGGED },
	{ "SEEN", SK_FLAG, STORE_FLAG_SEEN },
	{ "UNANSWERED", SK_UNFLAG, STORE_FLAG_ANSWERED },
	{ "UNDELETED", SK_UNFLAG, STORE_FLAG_DELETED },
	{ "UNDRAFT", SK_UNFLAG, STORE_FLAG_DRAFT },
	{ "UNFLAGGED", SK_UNFLAG, STORE_FLAG_FLAGGED },
	{ "UNSEEN", SK_UNFLAG, STORE_FLAG_SEEN },
	{ "NEW", SK_NEW, 0 },
	{ "OLD", SK_OLD, 0 },
	{ "RECENT", SK_RECENT, 0 },
};

static const struct {
	const char *name;
	enum sk kind;
} date_keys[] = {
	{ "BEFORE", SK_BEFORE },	 { "ON", SK_ON },
	{ "SINCE", SK_SINCE },		 { "SENTBEFORE", SK_SENTBEFORE },
	{ "SENTON", SK_SENTON },	 { "SENTSINCE", SK_SENTSINCE },
};

static struct skey *
parse_key(struct sprog *p, const struct imap_arg *args, size_t nargs,
	  size_t *i, int depth)
{
	const struct imap_arg *a = &args[*i];
	struct skey *k;
	struct str n;
	size_t j;

	if (depth > SEARCH_MAX_DEPTH) {
		p->error = "Search program nested too deeply";
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST) {
		(*i)++;
		return parse_keys(p, a->list, a->nlist, depth);
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Search key expected";
		return NULL;
	}
	n = str_make(a->s, a->len);
	(*i)++;
	for (j = 0; j < sizeof simple_keys / sizeof simple_keys[0]; j++) {
		if (str_eqi_cstr(n, simple_keys[j].name)) {
			k = node_new(p, simple_keys[j].kind);
			if (k)
				k->mask = simple_keys[j].mask;
			return k;
		}
	}
	for (j = 0; j < sizeof date_keys / sizeof date_keys[0]; j++) {
		if (str_eqi_cstr(n, date_keys[j].name)) {
			k = node_new(p, date_keys[j].kind);
			if (k == NULL || get_date(p, args, nargs, i, &k->num) < 0)
				return NULL;
			p->want |= STORE_WANT_META;
			if (k->kind >= SK_SENTBEFORE)
				p->want |= STORE_WANT_SEARCH_HDR;
			return k;
		}
	}
	if (str_eqi_cstr(n, "FROM") || str_eqi_cstr(n, "TO") ||
	    str_eqi_cstr(n, "CC") || str_eqi_cstr(n, "BCC") ||
	    str_eqi_cstr(n, "SUBJECT")) {
		k = node_new(p, SK_HEADER);
		if (k == NULL)
			return NULL;
		k->field = a->s;
		k->flen = a->len;
		if (get_string(p, args, nargs, i, &k->str, &k->len) < 0)
			return NULL;
		k->addr = 1;
		p->want |= STORE_WANT_SEARCH_ADDR;
		return k;
	}
	if (str_eqi_cstr(n, "HEADER")) {
		k = node_new(p, SK_HEADER);
		if (k == NULL ||
		    get_string(p, args, nargs, i, &k->field, &k->flen) < 0 ||
		    get_string(p, args, nargs, i, &k->str, &k->len) < 0)
			return NULL;
		p->want |= STORE_WANT_SEARCH_HDR;
		return k;
	}
	if (str_eqi_cstr(n, "BODY") || str_eqi_cstr(n, "TEXT")) {
		k = node_new(p, n.len == 4 && str_eqi_cstr(n, "BODY") ? SK_BODY
								      : SK_TEXT);
		if (k == NULL ||
		    get_string(p, args, nargs, i, &k->str, &k->len) < 0)
			return NULL;
		p->want |= STORE_WANT_SEARCH_TEXT;
		if (k->kind == SK_TEXT)
			p->want |= STORE_WANT_SEARCH_HDR;
		return k;
	}
	if (str_eqi_cstr(n, "KEYWORD") || str_eqi_cstr(n, "UNKEYWORD")) {
		k = node_new(p, n.len == 7 ? SK_KEYWORD : SK_UNKEYWORD);
		if (k == NULL ||
		    get_string(p, args, nargs, i, &k->str, &k->len) < 0)
			return NULL;
		return k;
	}
	if (str_eqi_cstr(n, "LARGER") || str_eqi_cstr(n, "SMALLER")) {
		k = node_new(p, n.len == 6 ? SK_LARGER : SK_SMALLER);
		if (k == NULL ||
		    get_number(p, args, nargs, i, UINT32_MAX, &k->num) < 0)
			return NULL;
		p->want |= STORE_WANT_META;
		return k;
	}
	if (str_eqi_cstr(n, "OLDER") || str_eqi_cstr(n, "YOUNGER")) {
		k = node_new(p, n.len == 5 ? SK_OLDER : SK_YOUNGER);
		if (k == NULL ||
		    get_number(p, args, nargs, i, UINT32_MAX, &k->num) < 0)
			return NULL;
		p->want |= STORE_WANT_META;
		return k;
	}
	if (str_eqi_cstr(n, "MODSEQ")) {
		/* MODSEQ [entry-name entry-type] n */
		k = node_new(p, SK_MODSEQ);
		if (k == NULL)
			return NULL;
		if (*i + 2 < nargs + 0 && args[*i].type == IMAP_ARG_STRING) {
			*i += 2;
		}
		if (get_number(p, args, nargs, i, INT64_MAX, &k->num) < 0)
			return NULL;
		p->has_modseq = 1;
		p->s->condstore = 1;
		return k;
	}
	if (str_eqi_cstr(n, "NOT")) {
		k = node_new(p, SK_NOT);
		if (k == NULL)
			return NULL;
		if (*i >= nargs) {
			p->error = "NOT needs a key";
			return NULL;
		}
		k->a = parse_key(p, args, nargs, i, depth + 1);
		return k->a ? k : NULL;
	}
	if (str_eqi_cstr(n, "OR")) {
		k = node_new(p, SK_OR);
		if (k == NULL)
			return NULL;
		if (*i + 1 >= nargs) {
			p->error = "OR needs two keys";
			return NULL;
		}
		k->a = parse_key(p, args, nargs, i, depth + 1);
		if (k->a == NULL)
			return NULL;
		if (*i >= nargs) {
			p->error = "OR needs two keys";
			return NULL;
		}
		k->b = parse_key(p, args, nargs, i, depth + 1);
		return k->b ? k : NULL;
	}
	if (str_eqi_cstr(n, "UID")) {
		k = node_new(p, SK_UIDSET);
		if (k == NULL)
			return NULL;
		if (*i >= nargs ||
		    imap_session_uidset_quiet(p->s, &args[*i], 1, &k->set) < 0) {
			p->error = "Invalid UID set";
			return NULL;
		}
		(*i)++;
		return k;
	}
	/* A sequence set (or "$"). */
	k = node_new(p, SK_UIDSET);
	if (k == NULL)
		return NULL;
	if (imap_session_uidset_quiet(p->s, a, 0, &k->set) < 0) {
		p->error = "Unknown search key";
		return NULL;
	}
	return k;
}

static void
sprog_free(struct sprog *p)
{
	size_t i;
	for (i = 0; i < p->nnodes; i++) {
		free(p->nodes[i].kids);
		imap_seqset_clear(&p->nodes[i].set);
	}
	free(p->nodes);
}

static int
has_keyword(const char *kws, const char *k, size_t len)
{
	const char *p = kws;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && str_ncasecmp_ascii(p, k, len) == 0)
			return 1;
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static int
header_match(const struct store_msg *m, int addr, const char *field,
	     size_t flen, const char *str, size_t len)
{
	const char *p = addr ? m->search_addr : m->search_hdr, *end;

	if (p == NULL)
		return 0;
	end = p + (addr ? m->search_addr_len : m->search_hdr_len);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) > flen && p[flen] == ':' &&
		    str_ncasecmp_ascii(p, field, flen) == 0) {
			const char *v = p + flen + 1;
			if (len == 0)
				return 1;
			if (str_memcasemem(v, (size_t)(le - v), str, len))
				return 1;
		}
		p = le + 1;
	}
	return 0;
}

/* Day number of a unix time in the zone of tz minutes. */
static int64_t day_of(int64_t t, int tz);

/*
 * The day the Date: header names, in its own zone (RFC 3501: "disregarding
 * time and timezone"); -1 when there is none.
 */
static int64_t
sent_day(const struct store_msg *m)
{
	const char *p = m->search_hdr, *end;

	if (p == NULL)
		return -1;
	end = p + m->search_hdr_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le - p > 5 && str_ncasecmp_ascii(p, "Date:", 5) == 0) {
			int tz = 0;
			int64_t t = msg_date_parse_tz(p + 5, (size_t)(le - p - 5),
						      &tz);
			return t < 0 ? -1 : day_of(t, tz);
		}
		p = le + 1;
	}
	return -1;
}

static int64_t
day_of(int64_t t, int tz)
{
	int64_t x = t + (int64_t)tz * 60;
	return (x >= 0 ? x : x - 86399) / 86400;
}

static int
eval(struct sres *r, const struct skey *k, const struct store_msg *m)
{
	const struct imap_view *v = r->p->s->view;
	int64_t d;
	size_t i;

	switch (k->kind) {
	case SK_ALL:
		return 1;
	case SK_SEQSET:
	case SK_UIDSET:
		return imap_seqset_contains(&k->set, m->uid);
	case SK_FLAG:
		return (m->flags & k->mask) != 0;
	case SK_UNFLAG:
		return (m->flags & k->mask) == 0;
	case SK_KEYWORD:
		return has_keyword(m->keywords, k->str, k->len);
	case SK_UNKEYWORD:
		return !has_keyword(m->keywords, k->str, k->len);
	case SK_RECENT:
		return m->uid >= v->first_recent;
	case SK_NEW:
		return m->uid >= v->first_recent &&
		       !(m->flags & STORE_FLAG_SEEN);
	case SK_OLD:
		return m->uid < v->first_recent;
	case SK_HEADER:
		return header_match(m, k->addr, k->field, k->flen, k->str,
				    k->len);
	case SK_BODY:
		return k->len == 0 ||
		       (m->search_text &&
			str_memcasemem(m->search_text, m->search_text_len,
				       k->str, k->len) != NULL);
	case SK_TEXT:
		return k->len == 0 ||
		       (m->search_text &&
			str_memcasemem(m->search_text, m->search_text_len,
				       k->str, k->len) != NULL) ||
		       (m->search_hdr &&
			str_memcasemem(m->search_hdr, m->search_hdr_len, k->str,
				       k->len) != NULL);
	case SK_BEFORE:
		return day_of(m->internaldate, m->internaldate_tz) <
		       k->num / 86400;
	case SK_ON:
		return day_of(m->internaldate, m->internaldate_tz) ==
		       k->num / 86400;
	case SK_SINCE:
		return day_of(m->internaldate, m->internaldate_tz) >=
		       k->num / 86400;
	case SK_SENTBEFORE:
		d = sent_day(m);
		return d >= 0 && d < k->num / 86400;
	case SK_SENTON:
		d = sent_day(m);
		return d >= 0 && d == k->num / 86400;
	case SK_SENTSINCE:
		d = sent_day(m);
		return d >= 0 && d >= k->num / 86400;
	case SK_LARGER:
		return m->size > (uint64_t)k->num;
	case SK_SMALLER:
		return m->size < (uint64_t)k->num;
	case SK_OLDER:
		return m->internaldate <= r->now - k->num;
	case SK_YOUNGER:
		return m->internaldate >= r->now - k->num;
	case SK_MODSEQ:
		return m->modseq >= (uint64_t)k->num;
	case SK_NOT:
		return !eval(r, k->a, m);
	case SK_OR:
		return eval(r, k->a, m) || eval(r, k->b, m);
	case SK_AND:
		for (i = 0; i < k->nkids; i++)
			if (!eval(r, k->kids[i], m))
				return 0;
		return 1;
	}
	return 0;
}

static int
search_cb(const struct store_msg *m, void *arg)
{
	struct sres *r = arg;

	if (imap_view_seq(r->p->s->view, m->uid) == 0)
		return 0;
	if (!eval(r, r->root, m))
		return 0;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 256;
		r->uids = xreallocarray(r->uids, r->alloc, sizeof *r->uids);
	}
	r->uids[r->n++] = m->uid;
	if (m->modseq > r->maxmodseq)
		r->maxmodseq = m->modseq;
	return 0;
}

/* Narrows the messages to read when the program is an AND of sets. */
static void
scan_ranges(struct sprog *p, struct skey *root, struct store_uid_range **r_r,
	    size_t *n_r)
{
	size_t i;

	*r_r = NULL;
	*n_r = 0;
	if (root->kind != SK_AND)
		return;
	for (i = 0; i < root->nkids; i++) {
		struct skey *k = root->kids[i];
		if (k->kind == SK_UIDSET || k->kind == SK_SEQSET) {
			*r_r = k->set.r;
			*n_r = k->set.n ? k->set.n : 0;
			if (k->set.n == 0) {
				/* An empty set matches nothing: a range that
				 * holds no UID. */
				static struct store_uid_range none = { 0, 0 };
				*r_r = &none;
				*n_r = 1;
			}
			return;
		}
	}
	(void)p;
}

int
cmd_search(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct sprog p;
	struct sres r;
	struct skey *root;
	struct store_uid_range *ranges;
	size_t nranges, i = 0;
	int esearch = 0, ret_min = 0, ret_max = 0, ret_count = 0, ret_all = 0,
	    ret_save = 0;
	int rc;

	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	p.s = s;
	p.uid_cmd = s->cmd_uid;
	p.nodes = xcalloc(SEARCH_MAX_KEYS, sizeof *p.nodes);
	/* RETURN (...) (RFC 4731) */
	if (i < nargs && imap_arg_atom_is(&args[i], "RETURN")) {
		size_t j;
		if (i + 1 >= nargs || args[i + 1].type != IMAP_ARG_LIST) {
			sprog_free(&p);
			return imap_bad(s, "RETURN needs a list");
		}
		esearch = 1;
		for (j = 0; j < args[i + 1].nlist; j++) {
			const struct imap_arg *o = &args[i + 1].list[j];
			if (imap_arg_atom_is(o, "MIN"))
				ret_min = 1;
			else if (imap_arg_atom_is(o, "MAX"))
				ret_max = 1;
			else if (imap_arg_atom_is(o, "COUNT"))
				ret_count = 1;
			else if (imap_arg_atom_is(o, "ALL"))
				ret_all = 1;
			else if (imap_arg_atom_is(o, "SAVE"))
				ret_save = 1;
			else {
				sprog_free(&p);
				return imap_bad(s, "Unknown RETURN option");
			}
		}
		if (!ret_min && !ret_max && !ret_count && !ret_all &&
		    !ret_save)
			ret_all = 1;
		i += 2;
	}
	if (i < nargs && imap_arg_atom_is(&args[i], "CHARSET")) {
		struct str cs;
		if (i + 1 >= nargs || !imap_arg_is_astring(&args[i + 1])) {
			sprog_free(&p);
			return imap_bad(s, "CHARSET needs a name");
		}
		cs = str_make(args[i + 1].s, args[i + 1].len);
		if (!str_eqi_cstr(cs, "UTF-8") && !str_eqi_cstr(cs, "US-ASCII")) {
			sprog_free(&p);
			return imap_tagged(s, "NO",
					   "[BADCHARSET (US-ASCII UTF-8)] "
					   "Unsupported charset");
		}
		i += 2;
	}
	if (s->rev2 && !esearch) {
		/* RFC 9051: no RETURN means RETURN (ALL), as ESEARCH. */
		esearch = 1;
		ret_all = 1;
	}
	root = parse_keys(&p, args + i, nargs - i, 0);
	if (root == NULL) {
		const char *e = p.error ? p.error : "Invalid search";
		sprog_free(&p);
		return imap_bad(s, e);
	}
	r.p = &p;
	r.root = root;
	r.now = (int64_t)time(NULL);
	scan_ranges(&p, root, &ranges, &nranges);
	rc = store_msg_iter(s->srv->st, s->view->folder_id, ranges, nranges,
			    p.want, search_cb, &r);
	sprog_free(&p);
	if (rc < 0) {
		free(r.uids);
		return imap_reply_store_error(s, rc, "SEARCH");
	}
	if (ret_save) {
		/* RFC 5182 2.4: SAVE with only MIN and/or MAX saves those. */
		int only_minmax = (ret_min || ret_max) && !ret_all &&
				  !ret_count;
		free(s->view->searchres);
		s->view->searchres = NULL;
		s->view->nsearchres = 0;
		if (r.n && only_minmax) {
			s->view->searchres = xcalloc(2, sizeof *r.uids);
			if (ret_min)
				s->view->searchres[s->view->nsearchres++] =
					r.uids[0];
			if (ret_max && (!ret_min || r.n > 1))
				s->view->searchres[s->view->nsearchres++] =
					r.uids[r.n - 1];
		} else if (r.n) {
			s->view->searchres = xcalloc(r.n, sizeof *r.uids);
			memcpy(s->view->searchres, r.uids,
			       r.n * sizeof *r.uids);
			s->view->nsearchres = r.n;
		}
	}
	{
		struct buf b;
		size_t k;
		buf_init(&b, 0);
		if (!s->cmd_uid)
			for (k = 0; k < r.n; k++)
				r.uids[k] = imap_view_seq(s->view, r.uids[k]);
		if (esearch) {
			if (!(ret_save && !ret_min && !ret_max && !ret_count &&
			      !ret_all) ||
			    s->rev2) {
				buf_printf(&b, "* ESEARCH (TAG \"%s\")",
					   buf_cstr(&s->tag));
				if (s->cmd_uid)
					buf_addstr(&b, " UID");
				if (ret_min && r.n)
					buf_printf(&b, " MIN %u", r.uids[0]);
				if (ret_max && r.n)
					buf_printf(&b, " MAX %u",
						   r.uids[r.n - 1]);
				if (ret_count)
					buf_printf(&b, " COUNT %zu", r.n);
				if (ret_all && r.n) {
					buf_addstr(&b, " ALL ");
					imap_seqset_format_uids(r.uids, r.n, &b);
				}
				if (p.has_modseq && r.n)
					buf_printf(&b, " MODSEQ %llu",
						   (unsigned long long)
							   r.maxmodseq);
				buf_addstr(&b, "\r\n");
			}
		} else {
			buf_addstr(&b, "* SEARCH");
			for (k = 0; k < r.n; k++)
				buf_printf(&b, " %u", r.uids[k]);
			if (p.has_modseq && r.n)
				buf_printf(&b, " (MODSEQ %llu)",
					   (unsigned long long)r.maxmodseq);
			buf_addstr(&b, "\r\n");
		}
		imap_send_raw(s, b.data, b.len);
		buf_clear(&b);
	}
	free(r.uids);
	return imap_tagged(s, "OK", "SEARCH completed");
}
