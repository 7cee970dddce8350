/*
 * bridge/imap_fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2) with
 * BODY[section]<partial> (HEADER, HEADER.FIELDS(.NOT), TEXT, MIME),
 * BODY.PEEK, RFC822*, BINARY/BINARY.SIZE (RFC 3516), MODSEQ and the
 * CHANGEDSINCE/VANISHED modifiers (RFC 7162). Everything comes from what
 * was derived at store time (ENVELOPE, BODYSTRUCTURE, part map) plus byte
 * ranges of the raw message: a FETCH never re-parses a message.
 *
 * Large results are produced in chunks of FETCH_CHUNK messages; between
 * chunks the command yields while the client's output is above the
 * high-water mark, and resumes on CONN_EV_DRAINED.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "../db/hdr_parse.h"
#include "../db/mime.h"
#include "conn.h"
#include "imap_cmd.h"
#include "imap_seqset.h"
#include "imap_server.h"
#include "imap_session.h"
#include "imap_write.h"

#define FETCH_CHUNK 256
/* fetch_msg_cb's "stop here, output is full" (any value but 0 and 1). */
#define FETCH_YIELD 2
/* Sections larger than this go to the connection in pieces of this size
 * rather than through one buffer holding all of it. */
#define FETCH_STREAM_PIECE (1024 * 1024)
#define FETCH_MAX_ITEMS 64
#define FETCH_MAX_FIELDS 128

enum fi_kind {
	FI_UID,
	FI_FLAGS,
	FI_INTERNALDATE,
	FI_SIZE,
	FI_ENVELOPE,
	FI_BODY,
	FI_BODYSTRUCTURE,
	FI_MODSEQ,
	FI_SECTION,
	FI_BINARY_SIZE,
};

enum sec_spec {
	SEC_ALL,
	SEC_HEADER,
	SEC_FIELDS,
	SEC_FIELDS_NOT,
	SEC_TEXT,
	SEC_MIME,
};

struct fetch_item {
	enum fi_kind kind;
	int peek;
	int binary;
	uint32_t path[MIME_MAX_DEPTH];
	size_t depth;
	enum sec_spec spec;
	char *fields[FETCH_MAX_FIELDS];
	size_t nfields;
	int partial;
	uint64_t p_off, p_len;
	char *label; /* "BODY[1.MIME]" as the response names it */
};

struct fetch_ctx {
	struct imap_session *s;
	struct fetch_item items[FETCH_MAX_ITEMS];
	size_t nitems;
	unsigned want;
	int set_seen;
	int want_flags, want_uid, want_modseq;
	uint64_t changedsince;
	uint32_t *uids; /* the UIDs to fetch, ascending */
	size_t nuids, pos;
	uint32_t *seen_changed; /* UIDs whose \Seen we set (ascending) */
	size_t nseen, seenalloc;
	uint32_t last_uid; /* last message handled by fetch_msg_cb */
	struct buf out;
	struct buf tmp;
	struct buf dec;
	char *rd;
	size_t rdsize;
	int failed;
};

static void
fetch_ctx_free(void *p)
{
	struct fetch_ctx *c = p;
	size_t i, k;

	for (i = 0; i < c->nitems; i++) {
		for (k = 0; k < c->items[i].nfields; k++)
			free(c->items[i].fields[k]);
		free(c->items[i].label);
	}
	free(c->uids);
	free(c->seen_changed);
	free(c->rd);
	buf_clear(&c->out);
	buf_clear(&c->tmp);
	buf_clear(&c->dec);
	free(c);
}

static struct fetch_item *
add_item(struct fetch_ctx *c, enum fi_kind k)
{
	struct fetch_item *it;
	if (c->nitems >= FETCH_MAX_ITEMS)
		return NULL;
	it = &c->items[c->nitems++];
	memset(it, 0, sizeof *it);
	it->kind = k;
	return it;
}

/* Parses "(From "To" Cc)" into it->fields (upper-cased names kept as
 * sent for the label). */
static int
parse_fields(struct fetch_item *it, const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p != '(')
		return -1;
	p++;
	for (;;) {
		const char *st;
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -1;
		if (*p == ')') {
			p++;
			break;
		}
		if (it->nfields >= FETCH_MAX_FIELDS)
			return -1;
		if (*p == '"') {
			st = ++p;
			while (p < end && *p != '"')
				p++;
			if (p >= end)
				return -1;
			it->fields[it->nfields++] = xmemdup0(st, (size_t)(p - st));
			p++;
		} else {
			st = p;
			while (p < end && *p != ' ' && *p != ')')
				p++;
			if (p == st)
				return -1;
			it->fields[it->nfields++] = xmemdup0(st, (size_t)(p - st));
		}
	}
	if (it->nfields == 0)
		return -1;
	return p == end ? 0 : -1;
}

/*
 * Parses the section text between '[' and ']' ("1.2.HEADER.FIELDS (A B)").
 * binary: only a part path is allowed.
 */
static int
parse_section(struct fetch_item *it, const char *p, const char *end,
	      int binary)
{
	it->spec = SEC_ALL;
	while (p < end && *p >= '0' && *p <= '9') {
		uint64_t v = 0;
		const char *st = p;
		while (p < end && *p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > UINT32_MAX)
				return -1;
			p++;
		}
		if (v == 0 || *st == '0' || it->depth >= MIME_MAX_DEPTH)
			return -1;
		it->path[it->depth++] = (uint32_t)v;
		if (p == end)
			return 0;
		if (*p != '.')
			return -1;
		p++;
		if (p == end)
			return -1;
	}
	if (p == end)
		return it->depth == 0 ? 0 : -1;
	if (binary)
		return -1;
	{
		struct str rest = str_make(p, (size_t)(end - p));
		if (str_eqi_cstr(rest, "HEADER")) {
			it->spec = SEC_HEADER;
			return 0;
		}
		if (str_eqi_cstr(rest, "TEXT")) {
			it->spec = SEC_TEXT;
			return 0;
		}
		if (str_eqi_cstr(rest, "MIME")) {
			it->spec = SEC_MIME;
			return it->depth > 0 ? 0 : -1;
		}
		if (rest.len > 18 &&
		    str_ncasecmp_ascii(p, "HEADER.FIELDS.NOT", 17) == 0 &&
		    (p[17] == ' ' || p[17] == '(')) {
			it->spec = SEC_FIELDS_NOT;
			return parse_fields(it, p + 17, end);
		}
		if (rest.len > 14 &&
		    str_ncasecmp_ascii(p, "HEADER.FIELDS", 13) == 0 &&
		    (p[13] == ' ' || p[13] == '(')) {
			it->spec = SEC_FIELDS;
			return parse_fields(it, p + 13, end);
		}
	}
	return -1;
}

/* "<off.len>" */
static int
parse_partial(struct fetch_item *it, const char *p, const char *end)
{
	const char *dot;
	uint64_t off, len;

	if (p >= end || *p != '<' || end[-1] != '>')
		return -1;
	p++;
	end--;
	dot = memchr(p, '.', (size_t)(end - p));
	if (dot == NULL)
		return -1;
	if (str_to_u64(str_make(p, (size_t)(dot - p)), UINT32_MAX, &off) < 0 ||
	    str_to_u64(str_make(dot + 1, (size_t)(end - dot - 1)), UINT32_MAX,
		       &len) < 0 ||
	    len == 0)
		return -1;
	it->partial = 1;
	it->p_off = off;
	it->p_len = len;
	return 0;
}

/* BODY[...] / BODY.PEEK[...] / BINARY[...] / BINARY.PEEK[...] /
 * BINARY.SIZE[...] */
static int
parse_section_item(struct fetch_ctx *c, const char *s, size_t len)
{
	const char *lb = memchr(s, '[', len), *rb, *end = s + len;
	struct str head;
	struct fetch_item *it;
	int binary = 0, peek = 0, size = 0;

	if (lb == NULL)
		return -1;
	head = str_make(s, (size_t)(lb - s));
	if (str_eqi_cstr(head, "BODY"))
		;
	else if (str_eqi_cstr(head, "BODY.PEEK"))
		peek = 1;
	else if (str_eqi_cstr(head, "BINARY"))
		binary = 1;
	else if (str_eqi_cstr(head, "BINARY.PEEK"))
		binary = peek = 1;
	else if (str_eqi_cstr(head, "BINARY.SIZE"))
		binary = size = 1;
	else
		return -1;
	rb = memchr(lb, ']', (size_t)(end - lb));
	if (rb == NULL)
		return -1;
	it = add_item(c, size ? FI_BINARY_SIZE : FI_SECTION);
	if (it == NULL)
		return -1;
	it->peek = peek || size;
	it->binary = binary;
	if (parse_section(it, lb + 1, rb, binary) < 0)
		return -1;
	if (rb + 1 < end) {
		if (size || parse_partial(it, rb + 1, end) < 0)
			return -1;
	}
	{
		struct buf l;
		buf_init(&l, 0);
		buf_addstr(&l, size ? "BINARY.SIZE[" : binary ? "BINARY[" : "BODY[");
		buf_add(&l, lb + 1, (size_t)(rb - lb - 1));
		buf_addc(&l, ']');
		if (it->partial)
			buf_printf(&l, "<%llu>", (unsigned long long)it->p_off);
		it->label = buf_steal(&l, NULL);
	}
	if (!it->peek)
		c->set_seen = 1;
	c->want |= STORE_WANT_META;
	if (it->depth > 0 || binary)
		c->want |= STORE_WANT_PARTMAP;
	return 0;
}

static int
parse_att(struct fetch_ctx *c, const struct imap_arg *a)
{
	struct str n;
	struct fetch_item *it;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	n = str_make(a->s, a->len);
	if (memchr(a->s, '[', a->len))
		return parse_section_item(c, a->s, a->len);
	if (str_eqi_cstr(n, "UID")) {
		c->want_uid = 1;
		return 0;
	}
	if (str_eqi_cstr(n, "FLAGS")) {
		c->want_flags = 1;
		return 0;
	}
	if (str_eqi_cstr(n, "MODSEQ")) {
		c->want_modseq = 1;
		c->s->condstore = 1;
		return 0;
	}
	if (str_eqi_cstr(n, "INTERNALDATE"))
		it = add_item(c, FI_INTERNALDATE);
	else if (str_eqi_cstr(n, "RFC822.SIZE"))
		it = add_item(c, FI_SIZE);
	else if (str_eqi_cstr(n, "ENVELOPE"))
		it = add_item(c, FI_ENVELOPE);
	else if (str_eqi_cstr(n, "BODY"))
		it = add_item(c, FI_BODY);
	else if (str_eqi_cstr(n, "BODYSTRUCTURE"))
		it = add_item(c, FI_BODYSTRUCTURE);
	else if (str_eqi_cstr(n, "RFC822") || str_eqi_cstr(n, "RFC822.HEADER") ||
		 str_eqi_cstr(n, "RFC822.TEXT")) {
		it = add_item(c, FI_SECTION);
		if (it == NULL)
			return -1;
		it->label = xmemdup0(a->s, a->len);
		for (char *p = it->label; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p -= 32;
		if (n.len == 6) {
			it->spec = SEC_ALL;
			c->set_seen = 1;
		} else if (str_eqi_cstr(n, "RFC822.HEADER")) {
			it->spec = SEC_HEADER;
			it->peek = 1;
		} else {
			it->spec = SEC_TEXT;
			c->set_seen = 1;
		}
		c->want |= STORE_WANT_META;
		return 0;
	} else
		return -1;
	if (it == NULL)
		return -1;
	switch (it->kind) {
	case FI_INTERNALDATE:
	case FI_SIZE:
		c->want |= STORE_WANT_META;
		break;
	case FI_ENVELOPE:
		c->want |= STORE_WANT_ENVELOPE;
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		c->want |= STORE_WANT_BODYSTRUCTURE;
		break;
	default:
		break;
	}
	return 0;
}

static int
parse_macro(struct fetch_ctx *c, const struct imap_arg *a)
{
	static const char *const fast[] = { "FLAGS", "INTERNALDATE",
					    "RFC822.SIZE" };
	struct imap_arg x;
	size_t i, n;

	if (imap_arg_atom_is(a, "ALL"))
		n = 4;
	else if (imap_arg_atom_is(a, "FAST"))
		n = 3;
	else if (imap_arg_atom_is(a, "FULL"))
		n = 5;
	else
		return 1;
	memset(&x, 0, sizeof x);
	x.type = IMAP_ARG_ATOM;
	for (i = 0; i < n; i++) {
		x.s = i < 3 ? fast[i] : i == 3 ? "ENVELOPE" : "BODY";
		x.len = strlen(x.s);
		if (parse_att(c, &x) < 0)
			return -1;
	}
	return 0;
}

/* Keeps the read buffer at least n bytes. */
static char *
rd_buf(struct fetch_ctx *c, uint64_t n)
{
	if (n + 1 > c->rdsize) {
		c->rdsize = (size_t)n + 1;
		c->rd = xrealloc(c->rd, c->rdsize);
	}
	return c->rd;
}

static void
out_literal(struct fetch_ctx *c, const char *p, uint64_t len, int lit8)
{
	buf_printf(&c->out, "%s{%llu}\r\n", lit8 ? "~" : "",
		   (unsigned long long)len);
	buf_add(&c->out, p, (size_t)len);
}

/* Applies <off.len> to [*off, *off+*len). */
static void
apply_partial(const struct fetch_item *it, uint64_t *off, uint64_t *len)
{
	if (!it->partial)
		return;
	if (it->p_off >= *len) {
		*off += *len;
		*len = 0;
		return;
	}
	*off += it->p_off;
	*len -= it->p_off;
	if (*len > it->p_len)
		*len = it->p_len;
}

static int
read_range(struct fetch_ctx *c, const struct store_msg *m, uint64_t off,
	   uint64_t len, char **p_r)
{
	uint64_t got = 0;
	char *p = rd_buf(c, len);

	if (len && store_blob_read(c->s->srv->st, m->blob_id, off, len, p,
				   &got) < 0)
		return -1;
	*p_r = p;
	return got == len ? 0 : -1;
}

/* Locates the raw range of a section; 0 found, -1 no such part. */
static int
section_range(const struct fetch_item *it, const struct store_msg *m,
	      uint64_t *off, uint64_t *len, enum mime_cte *cte_r,
	      int *is_hdr_r)
{
	struct mime_loc loc;

	*is_hdr_r = 0;
	*cte_r = MIME_CTE_7BIT;
	if (it->depth == 0 && !it->binary) {
		switch (it->spec) {
		case SEC_ALL:
			*off = 0;
			*len = m->size;
			return 0;
		case SEC_HEADER:
		case SEC_FIELDS:
		case SEC_FIELDS_NOT:
			*off = 0;
			*len = m->header_len;
			*is_hdr_r = 1;
			return 0;
		case SEC_TEXT:
			*off = m->header_len;
			*len = m->size - m->header_len;
			return 0;
		case SEC_MIME:
			return -1;
		}
	}
	if (mime_partmap_find(m->partmap, m->partmap_len, it->path, it->depth,
			      &loc) < 0)
		return -1;
	*cte_r = loc.cte;
	switch (it->spec) {
	case SEC_ALL:
		*off = loc.body_off;
		*len = loc.body_len;
		if (it->depth == 0) {
			/* BINARY[] of the whole message */
			*off = 0;
			*len = m->size;
		}
		return 0;
	case SEC_MIME:
		*off = loc.hdr_off;
		*len = loc.hdr_len;
		*is_hdr_r = 1;
		return 0;
	case SEC_HEADER:
	case SEC_FIELDS:
	case SEC_FIELDS_NOT:
		if (!loc.is_message)
			return -1;
		*off = loc.msg_hdr_off;
		*len = loc.msg_hdr_len;
		*is_hdr_r = 1;
		return 0;
	case SEC_TEXT:
		if (!loc.is_message)
			return -1;
		*off = loc.msg_body_off;
		*len = loc.msg_body_len;
		return 0;
	}
	return -1;
}

static int
emit_section(struct fetch_ctx *c, const struct fetch_item *it,
	     const struct store_msg *m)
{
	uint64_t off, len;
	enum mime_cte cte;
	int is_hdr;
	char *p;

	buf_addstr(&c->out, it->label);
	buf_addc(&c->out, ' ');
	if (section_range(it, m, &off, &len, &cte, &is_hdr) < 0) {
		if (it->kind == FI_BINARY_SIZE)
			buf_addstr(&c->out, "0");
		else
			buf_addstr(&c->out, "NIL");
		return 0;
	}
	if (it->spec == SEC_FIELDS || it->spec == SEC_FIELDS_NOT) {
		uint64_t o2 = 0, l2;
		if (read_range(c, m, off, len, &p) < 0)
			return -1;
		buf_reset(&c->tmp);
		hdr_filter_fields(p, (size_t)len,
				  (const char *const *)it->fields, it->nfields,
				  it->spec == SEC_FIELDS_NOT, &c->tmp);
		l2 = c->tmp.len;
		apply_partial(it, &o2, &l2);
		out_literal(c, c->tmp.data ? c->tmp.data + o2 : "", l2, 0);
		return 0;
	}
	if (it->binary) {
		uint64_t o2 = 0, l2;
		if (cte == MIME_CTE_UNKNOWN)
			return -2;
		if (read_range(c, m, off, len, &p) < 0)
			return -1;
		buf_reset(&c->dec);
		if (mime_decode(cte, p, (size_t)len, &c->dec) < 0)
			return -2;
		l2 = c->dec.len;
		if (it->kind == FI_BINARY_SIZE) {
			buf_printf(&c->out, "%llu", (unsigned long long)l2);
			return 0;
		}
		apply_partial(it, &o2, &l2);
		out_literal(c, c->dec.data ? c->dec.data + o2 : "", l2,
			    l2 && memchr(c->dec.data + o2, '\0', (size_t)l2));
		return 0;
	}
	apply_partial(it, &off, &len);
	if (len > FETCH_STREAM_PIECE) {
		/* Send what is built so far, then the literal piece by piece
		 * straight to the connection. */
		buf_printf(&c->out, "{%llu}\r\n", (unsigned long long)len);
		imap_send_raw(c->s, c->out.data, c->out.len);
		buf_reset(&c->out);
		while (len > 0) {
			uint64_t n = len < FETCH_STREAM_PIECE ? len
							      : FETCH_STREAM_PIECE;
			if (read_range(c, m, off, n, &p) < 0)
				return -1;
			imap_send_raw(c->s, p, (size_t)n);
			off += n;
			len -= n;
		}
		return 0;
	}
	if (read_range(c, m, off, len, &p) < 0)
		return -1;
	out_literal(c, p, len, 0);
	return 0;
}

static int
seen_changed(const struct fetch_ctx *c, uint32_t uid)
{
	size_t lo = 0, hi = c->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->seen_changed[mid] == uid)
			return 1;
		if (c->seen_changed[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
fetch_msg_cb(const struct store_msg *m, void *arg)
{
	struct fetch_ctx *c = arg;
	struct imap_view *v = c->s->view;
	uint32_t seq = imap_view_seq(v, m->uid);
	size_t i;
	int sp = 0;

	c->last_uid = m->uid;
	if (seq == 0)
		return 0;
	if (c->changedsince && m->modseq <= c->changedsince)
		return 0;
	buf_reset(&c->out);
	buf_printf(&c->out, "* %u FETCH (", seq);
#define SP()                                      \
	do {                                      \
		if (sp)                           \
			buf_addc(&c->out, ' ');   \
		sp = 1;                           \
	} while (0)
	if (c->want_uid) {
		SP();
		buf_printf(&c->out, "UID %u", m->uid);
	}
	if (c->want_flags || seen_changed(c, m->uid)) {
		SP();
		buf_addstr(&c->out, "FLAGS ");
		imap_write_flags(&c->out, m->flags, m->keywords,
				 m->uid >= v->first_recent);
	}
	if (c->want_modseq) {
		SP();
		buf_printf(&c->out, "MODSEQ (%llu)",
			   (unsigned long long)m->modseq);
	}
	for (i = 0; i < c->nitems; i++) {
		const struct fetch_item *it = &c->items[i];
		int r;
		SP();
		switch (it->kind) {
		case FI_INTERNALDATE:
			buf_addstr(&c->out, "INTERNALDATE ");
			imap_write_datetime(&c->out, m->internaldate,
					    m->internaldate_tz);
			break;
		case FI_SIZE:
			buf_printf(&c->out, "RFC822.SIZE %llu",
				   (unsigned long long)m->size);
			break;
		case FI_ENVELOPE:
			buf_printf(&c->out, "ENVELOPE %s",
				   m->envelope ? m->envelope : "NIL");
			break;
		case FI_BODY:
			buf_printf(&c->out, "BODY %s", m->body ? m->body : "NIL");
			break;
		case FI_BODYSTRUCTURE:
			buf_printf(&c->out, "BODYSTRUCTURE %s",
				   m->bodystructure ? m->bodystructure : "NIL");
			break;
		case FI_SECTION:
		case FI_BINARY_SIZE:
			r = emit_section(c, it, m);
			if (r == -2) {
				c->failed = 2;
				return 1;
			}
			if (r < 0) {
				c->failed = 1;
				return 1;
			}
			break;
		default:
			break;
		}
	}
#undef SP
	buf_addstr(&c->out, ")\r\n");
	imap_send_raw(c->s, c->out.data, c->out.len);
	c->last_uid = m->uid;
	if (conn_out_pending(c->s->conn) > IMAP_OUT_HIGH_WATER)
		return FETCH_YIELD;
	return 0;
}

static void
seen_cb(uint32_t uid, uint32_t flags, const char *keywords, uint64_t modseq,
	void *arg)
{
	struct fetch_ctx *c = arg;
	(void)flags;
	(void)keywords;
	imap_view_own_change(c->s, uid, modseq);
	if (c->nseen == c->seenalloc) {
		c->seenalloc = c->seenalloc ? c->seenalloc * 2 : 64;
		c->seen_changed = xreallocarray(c->seen_changed, c->seenalloc,
						sizeof *c->seen_changed);
	}
	c->seen_changed[c->nseen++] = uid;
}

static int
fetch_cont(struct imap_session *s)
{
	struct fetch_ctx *c = s->cont_ctx;

	while (c->pos < c->nuids) {
		struct store_uid_range r[FETCH_CHUNK];
		size_t nr = 0, end = c->pos + FETCH_CHUNK, chunk_first = c->pos;
		int rc;

		if (conn_out_pending(s->conn) > IMAP_OUT_HIGH_WATER) {
			conn_want_drained(s->conn);
			return CMD_AGAIN;
		}
		if (end > c->nuids)
			end = c->nuids;
		for (; c->pos < end; c->pos++) {
			uint32_t u = c->uids[c->pos];
			if (nr && r[nr - 1].hi + 1 == u)
				r[nr - 1].hi = u;
			else {
				r[nr].lo = r[nr].hi = u;
				nr++;
			}
		}
		rc = store_msg_iter(s->srv->st, s->view->folder_id, r, nr,
				    c->want, fetch_msg_cb, c);
		if (rc == FETCH_YIELD) {
			/* Output is above the high-water mark: go on after
			 * the last message written, once it drains. */
			size_t k = chunk_first;
			while (k < c->nuids && c->uids[k] <= c->last_uid)
				k++;
			c->pos = k;
			continue;
		}
		if (c->failed == 2) {
			s->cont = NULL;
			return imap_tagged(s, "NO",
					   "[UNKNOWN-CTE] Cannot decode part");
		}
		if (rc < 0 || c->failed) {
			s->cont = NULL;
			return imap_reply_store_error(s, -STORE_ERR_INTERNAL,
						      "FETCH");
		}
	}
	s->cont = NULL;
	return imap_tagged(s, "OK", "FETCH completed");
}

int
cmd_fetch(struct imap_session *s, const struct imap_arg *args, size_t nargs)
{
	struct fetch_ctx *c;
	struct imap_seqset set;
	int vanished = 0;
	size_t i;
	uint32_t k;

	if (nargs < 2 || nargs > 3)
		return imap_bad(s, "FETCH needs a set and items");
	c = xcalloc(1, sizeof *c);
	c->s = s;
	buf_init(&c->out, 0);
	buf_init(&c->tmp, 0);
	buf_init(&c->dec, (size_t)IMAP_MAX_LITERAL * 2);
	c->want_uid = s->cmd_uid;
	if (args[1].type == IMAP_ARG_LIST) {
		if (args[1].nlist == 0)
			goto bad;
		for (i = 0; i < args[1].nlist; i++)
			if (parse_att(c, &args[1].list[i]) < 0)
				goto bad;
	} else {
		int r = parse_macro(c, &args[1]);
		if (r < 0 || (r == 1 && parse_att(c, &args[1]) < 0))
			goto bad;
	}
	if (nargs == 3) {
		const struct imap_arg *m = &args[2];
		if (m->type != IMAP_ARG_LIST)
			goto bad;
		for (i = 0; i < m->nlist; i++) {
			if (imap_arg_atom_is(&m->list[i], "CHANGEDSINCE") &&
			    i + 1 < m->nlist &&
			    m->list[i + 1].type == IMAP_ARG_ATOM &&
			    str_to_u64(str_make(m->list[i + 1].s,
						m->list[i + 1].len),
				       INT64_MAX, &c->changedsince) == 0) {
				i++;
				c->want_modseq = 1;
				s->condstore = 1;
			} else if (imap_arg_atom_is(&m->list[i], "VANISHED") &&
				   s->cmd_uid && s->qresync) {
				vanished = 1;
			} else {
				goto bad;
			}
		}
		if (vanished && !c->changedsince)
			goto bad;
	}
	if (s->condstore && s->cmd_uid == 0 && c->want_modseq == 0 &&
	    c->changedsince)
		c->want_modseq = 1;
	if (c->set_seen && s->view->readonly)
		c->set_seen = 0;
	if (imap_session_uidset(s, &args[0], s->cmd_uid, &set) < 0) {
		fetch_ctx_free(c);
		return CMD_DONE;
	}
	if (vanished) {
		/* RFC 7162 3.2.6: UIDs in the set expunged since the modseq. */
		uint32_t *gone = NULL;
		size_t ng = 0, j, kk = 0;
		struct imap_seqset raw;
		if (imap_seqset_parse(args[0].s, args[0].len, &raw) == 0) {
			imap_seqset_resolve_star(
				&raw, s->view->n ? s->view->uids[s->view->n - 1]
						 : 0);
			if (store_expunged_since(s->srv->st,
						 s->view->folder_id,
						 c->changedsince, &gone,
						 &ng) == 0) {
				for (j = 0; j < ng; j++)
					if (imap_seqset_contains(&raw, gone[j]))
						gone[kk++] = gone[j];
				imap_view_send_vanished(s, gone, kk, 1);
			}
			free(gone);
			imap_seqset_clear(&raw);
		}
	}
	/* The UIDs, ascending. */
	for (i = 0; i < set.n; i++) {
		uint32_t lo = set.r[i].lo, hi = set.r[i].hi;
		size_t from = 0;
		/* first view index with uid >= lo */
		size_t a = 0, b = s->view->n;
		while (a < b) {
			size_t mid = a + (b - a) / 2;
			if (s->view->uids[mid] < lo)
				a = mid + 1;
			else
				b = mid;
		}
		for (from = a; from < s->view->n && s->view->uids[from] <= hi;
		     from++) {
			if (c->nuids % 1024 == 0)
				c->uids = xreallocarray(c->uids, c->nuids + 1024,
							sizeof *c->uids);
			c->uids[c->nuids++] = s->view->uids[from];
		}
	}
	(void)k;
	if (c->set_seen && set.n) {
		store_msg_set_flags(s->srv->st, s->view->folder_id, set.r, set.n,
				    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
				    seen_cb, c, NULL, NULL);
		if (c->nseen)
			notify_folder_changed(s->srv, s, s->view->folder_id);
	}
	imap_seqset_clear(&set);
	imap_session_set_cont(s, fetch_cont, c, fetch_ctx_free);
	return fetch_cont(s);
bad:
	fetch_ctx_free(c);
	return imap_bad(s, "Invalid FETCH items");
}
