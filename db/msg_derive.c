/*
 * db/msg_derive.c: everything FETCH and SEARCH need from a message,
 * computed once at store time: ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501
 * section 7.4.2, laid out as Dovecot does), the part map (mime.c), the
 * header fields and body text decoded to UTF-8 for SEARCH (RFC 2047,
 * RFC 2045 transfer encodings and charsets), the header length and the
 * Date: as unix time (RFC 5322 3.3).
 * The tree walk is iterative; sizes are raw octets and lines count LFs.
 */
#include "msg_derive.h"

#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/imap_quote.h"
#include "../common/limits.h"
#include "hdr_charset.h"
#include "hdr_parse.h"
#include "mime.h"
#include "msg_envelope.h"

#define EMPTY_ENVELOPE "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
/* a multipart without parts cannot be written: one empty text part */
#define EMPTY_BODY                                                             \
	"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"
#define DEFAULT_CHARSET "\"CHARSET\" \"US-ASCII\""

struct derive_ctx {
	const char *raw;
	size_t len;
	const struct mime_tree *t;
	struct mime_params mp;
	struct buf tmp;
};

static int put_nstr_unfolded(struct derive_ctx *c, struct str v,
                             struct buf *out);
static int put_params(struct derive_ctx *c, struct buf *out, int is_text,
                      int force_charset);
static int put_type_params(struct derive_ctx *c, const struct mime_part *p,
                           struct buf *out);
static int put_disposition(struct derive_ctx *c, const struct mime_part *p,
                           struct buf *out);
static int put_language(struct derive_ctx *c, const struct mime_part *p,
                        struct buf *out);
static int put_ext_tail(struct derive_ctx *c, const struct mime_part *p,
                        struct buf *out);
static int put_basic_fields(struct derive_ctx *c, const struct mime_part *p,
                            struct buf *out);
static int write_structure(struct derive_ctx *c, int ext, struct buf *out);
static void html_strip(const char *s, size_t len, struct buf *out);
static void search_text_build(struct derive_ctx *c, struct buf *out);
static void search_hdr_build(const char *hdr, size_t len, struct buf *out);

/* An unfolded, trimmed field value as an nstring (NIL when absent). */
static int
put_nstr_unfolded(struct derive_ctx *c, struct str v, struct buf *out)
{
	if (v.p == NULL)
		return buf_add(out, "NIL", 3);
	buf_reset(&c->tmp);
	if (hdr_unfold(v.p, v.len, MIME_MAX_FIELD, &c->tmp) < 0)
		return -1;
	return imap_quote_string(out, buf_cstr(&c->tmp), c->tmp.len);
}

/* The parameters in c->mp as ("name" "value" ...) or NIL. */
static int
put_params(struct derive_ctx *c, struct buf *out, int is_text,
           int force_charset)
{
	struct str v;
	size_t i;
	int add_cs = is_text && (force_charset ||
	                         mime_params_get(&c->mp, "charset", &v) < 0);

	if (c->mp.n == 0 && !add_cs)
		return buf_add(out, "NIL", 3);
	if (buf_addc(out, '(') < 0)
		return -1;
	for (i = 0; i < c->mp.n; i++) {
		struct str n = mime_params_name(&c->mp, i);

		v = mime_params_value(&c->mp, i);
		if ((i > 0 && buf_addc(out, ' ') < 0) ||
		    imap_quote_string(out, n.p, n.len) < 0 ||
		    buf_addc(out, ' ') < 0 ||
		    imap_quote_string(out, v.p, v.len) < 0)
			return -1;
	}
	if (add_cs && ((c->mp.n > 0 && buf_addc(out, ' ') < 0) ||
	               buf_addstr(out, DEFAULT_CHARSET) < 0))
		return -1;
	return buf_addc(out, ')');
}

/* "type" "subtype" (params) of a part, defaults when it has none. */
static int
put_type_params(struct derive_ctx *c, const struct mime_part *p,
                struct buf *out)
{
	if (imap_quote_string(out, p->type.p, p->type.len) < 0 ||
	    buf_addc(out, ' ') < 0 ||
	    imap_quote_string(out, p->subtype.p, p->subtype.len) < 0 ||
	    buf_addc(out, ' ') < 0)
		return -1;
	if (p->ct_default) {
		mime_params_parse(&c->mp, "", 0, 1);
		return put_params(c, out, p->is_text, 1);
	}
	mime_params_parse(&c->mp, p->f_ctype.p, p->f_ctype.len, 1);
	return put_params(c, out, p->is_text, 0);
}

/* body-fld-dsp: ("type" params) or NIL (RFC 2183). */
static int
put_disposition(struct derive_ctx *c, const struct mime_part *p,
                struct buf *out)
{
	if (p->f_disp.p == NULL)
		return buf_add(out, "NIL", 3);
	mime_params_parse(&c->mp, p->f_disp.p, p->f_disp.len, 0);
	if (!c->mp.has_type)
		return buf_add(out, "NIL", 3);
	if (buf_addc(out, '(') < 0 ||
	    imap_quote_string(out, c->mp.type.p, c->mp.type.len) < 0 ||
	    buf_addc(out, ' ') < 0 || put_params(c, out, 0, 0) < 0)
		return -1;
	return buf_addc(out, ')');
}

/* body-fld-lang: ("tag" ...) or NIL (RFC 3282 Content-Language). */
static int
put_language(struct derive_ctx *c, const struct mime_part *p, struct buf *out)
{
	const char *s;
	size_t i = 0, len, n = 0;

	if (p->f_lang.p == NULL)
		return buf_add(out, "NIL", 3);
	buf_reset(&c->tmp);
	if (hdr_unfold(p->f_lang.p, p->f_lang.len, MIME_MAX_FIELD, &c->tmp) < 0)
		return -1;
	s = buf_cstr(&c->tmp);
	len = c->tmp.len;
	while (i < len) {
		size_t start;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		if (i < len && s[i] == '(') {
			size_t depth = 0;

			for (; i < len; i++) {
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != ',' &&
		       s[i] != '(')
			i++;
		if (i == start)
			continue;
		if (buf_add(out, n ? " " : "(", 1) < 0 ||
		    imap_quote_string(out, s + start, i - start) < 0)
			return -1;
		n++;
	}
	return buf_add(out, n ? ")" : "NIL", n ? 1 : 3);
}

/* SP body-fld-dsp SP body-fld-lang SP body-fld-loc */
static int
put_ext_tail(struct derive_ctx *c, const struct mime_part *p, struct buf *out)
{
	if (buf_addc(out, ' ') < 0 || put_disposition(c, p, out) < 0 ||
	    buf_addc(out, ' ') < 0 || put_language(c, p, out) < 0 ||
	    buf_addc(out, ' ') < 0 || put_nstr_unfolded(c, p->f_loc, out) < 0)
		return -1;
	return 0;
}

/* "type" "subtype" params id description encoding size */
static int
put_basic_fields(struct derive_ctx *c, const struct mime_part *p,
                 struct buf *out)
{
	if (put_type_params(c, p, out) < 0 || buf_addc(out, ' ') < 0 ||
	    put_nstr_unfolded(c, p->f_id, out) < 0 || buf_addc(out, ' ') < 0 ||
	    put_nstr_unfolded(c, p->f_desc, out) < 0 || buf_addc(out, ' ') < 0)
		return -1;
	mime_params_parse(&c->mp, p->f_cte.p ? p->f_cte.p : "",
	                  p->f_cte.p ? p->f_cte.len : 0, 0);
	if (c->mp.has_type) {
		if (imap_quote_string(out, c->mp.type.p, c->mp.type.len) < 0)
			return -1;
	} else if (buf_addstr(out, "\"7BIT\"") < 0) {
		return -1;
	}
	return buf_printf(out, " %llu", (unsigned long long)p->body_len);
}

/*
 * BODY (ext 0) or BODYSTRUCTURE (ext 1), walking the tree without
 * recursion: enter a node, write what comes before its children, go down;
 * when a node's children are done, write what comes after them.
 */
static int
write_structure(struct derive_ctx *c, int ext, struct buf *out)
{
	const struct mime_part *parts = c->t->parts;
	uint32_t n = 0;
	const struct mime_part *p;

enter:
	p = &parts[n];
	if (p->is_multipart) {
		if (buf_addc(out, '(') < 0)
			return -1;
		if (p->first_child != MIME_NONE) {
			n = p->first_child;
			goto enter;
		}
		if (buf_addstr(out, EMPTY_BODY) < 0 ||
		    (ext && buf_addstr(out, " NIL NIL NIL NIL") < 0) ||
		    buf_addc(out, ')') < 0)
			return -1;
		goto leave;
	}
	if (buf_addc(out, '(') < 0 || put_basic_fields(c, p, out) < 0)
		return -1;
	if (p->is_message) {
		if (buf_addc(out, ' ') < 0)
			return -1;
		if (p->first_child != MIME_NONE) {
			const struct mime_part *e = &parts[p->first_child];

			if (msg_envelope_write(c->raw + e->hdr_off, e->hdr_len,
			                       out) < 0 ||
			    buf_addc(out, ' ') < 0)
				return -1;
			n = p->first_child;
			goto enter;
		}
		if (buf_addstr(out, EMPTY_ENVELOPE " " EMPTY_BODY) < 0 ||
		    (ext && buf_addstr(out, " NIL NIL NIL NIL") < 0) ||
		    buf_addc(out, ')') < 0)
			return -1;
		goto leave;
	}
	/* a leaf: complete it */
	if (p->is_text &&
	    buf_printf(out, " %llu", (unsigned long long)p->body_lines) < 0)
		return -1;
	if (ext && (buf_addc(out, ' ') < 0 ||
	            put_nstr_unfolded(c, p->f_md5, out) < 0 ||
	            put_ext_tail(c, p, out) < 0))
		return -1;
	if (buf_addc(out, ')') < 0)
		return -1;
	goto next;

leave:
	/* all children of n are written: close n */
	p = &parts[n];
	if (p->is_multipart) {
		if (buf_addc(out, ' ') < 0 ||
		    imap_quote_string(out, p->subtype.p, p->subtype.len) < 0)
			return -1;
		if (ext &&
		    (buf_addc(out, ' ') < 0 ||
		     (p->ct_default ? buf_add(out, "NIL", 3)
		                    : (mime_params_parse(&c->mp, p->f_ctype.p,
		                                         p->f_ctype.len, 1),
		                       put_params(c, out, 0, 0))) < 0 ||
		     put_ext_tail(c, p, out) < 0))
			return -1;
		if (buf_addc(out, ')') < 0)
			return -1;
	} else if (p->is_message) {
		if (buf_printf(out, " %llu",
		               (unsigned long long)p->body_lines) < 0)
			return -1;
		if (ext && (buf_addc(out, ' ') < 0 ||
		            put_nstr_unfolded(c, p->f_md5, out) < 0 ||
		            put_ext_tail(c, p, out) < 0))
			return -1;
		if (buf_addc(out, ')') < 0)
			return -1;
	}
next:
	if (n == 0)
		return 0;
	p = &parts[n];
	if (p->next != MIME_NONE) {
		n = p->next;
		goto enter;
	}
	n = p->parent;
	goto leave;
}

/* ---- SEARCH text ---- */

static int
tag_is(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && str_ncasecmp_ascii(s, name, n) == 0 &&
	       (len == n || s[n] == ' ' || s[n] == '>' || s[n] == '/' ||
	        s[n] == '\t' || s[n] == '\r' || s[n] == '\n');
}

/* Appends code point cp (from an HTML character reference) as UTF-8. */
static void
put_cp(struct buf *out, unsigned long cp)
{
	char t[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		t[0] = (char)cp;
		hdr_add_trunc(out, t, 1);
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		hdr_add_trunc(out, t, 2);
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		hdr_add_trunc(out, t, 3);
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		hdr_add_trunc(out, t, 4);
	}
}

/* Reads "&...;" at s[0]; returns its length (0: not an entity). */
static size_t
html_entity(const char *s, size_t len, struct buf *out)
{
	static const struct {
		const char *name;
		const char *text;
	} ents[] = {
	        {"amp", "&"},   {"lt", "<"},          {"gt", ">"},
	        {"quot", "\""}, {"apos", "'"},        {"nbsp", " "},
	        {"shy", ""},    {"copy", "\xc2\xa9"}, {"euro", "\xe2\x82\xac"},
	};
	size_t i, end;

	for (end = 1; end < len && end < 12 && s[end] != ';'; end++)
		;
	if (end >= len || s[end] != ';' || end < 2)
		return 0;
	if (s[1] == '#') {
		unsigned long cp = 0;
		int hex = end > 2 && (s[2] | 0x20) == 'x';

		for (i = hex ? 3 : 2; i < end; i++) {
			int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			        : hex && (s[i] | 0x20) >= 'a' &&
			                        (s[i] | 0x20) <= 'f'
			                ? (s[i] | 0x20) - 'a' + 10
			                : -1;

			if (d < 0)
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			if (cp > 0x10ffff)
				cp = 0x110000;
		}
		if (i == (size_t)(hex ? 3 : 2))
			return 0;
		put_cp(out, cp);
		return end + 1;
	}
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if (end - 1 == strlen(ents[i].name) &&
		    memcmp(s + 1, ents[i].name, end - 1) == 0) {
			hdr_add_trunc(out, ents[i].text, strlen(ents[i].text));
			return end + 1;
		}
	}
	return 0;
}

/*
 * Rough text of an HTML document: tags dropped (a line break for block
 * tags), script, style and comments skipped, common entities decoded,
 * white space runs collapsed. Linear in len.
 */
static void
html_strip(const char *s, size_t len, struct buf *out)
{
	static const char *const blocks[] = {
	        "br", "p",     "/p",     "div", "/div", "tr",
	        "li", "h1",    "h2",     "h3",  "h4",   "h5",
	        "h6", "table", "/table", "td",  "th",   "blockquote",
	};
	size_t i = 0;
	int ws = 0; /* 1: pending space, 2: pending newline */

	while (i < len) {
		char ch = s[i];

		if (ch == '<') {
			const char *t = s + i + 1, *q;
			size_t tl = len - i - 1, k;
			const char *endtag = NULL;

			if (tl >= 3 && memcmp(t, "!--", 3) == 0) {
				q = str_memcasemem(t + 3, tl - 3, "-->", 3);
				i = q ? (size_t)(q - s) + 3 : len;
				ws = ws ? ws : 1;
				continue;
			}
			if (tag_is(t, tl, "script"))
				endtag = "</script";
			else if (tag_is(t, tl, "style"))
				endtag = "</style";
			else if (tag_is(t, tl, "head"))
				endtag = "</head";
			if (endtag != NULL) {
				q = str_memcasemem(t, tl, endtag,
				                   strlen(endtag));
				if (q == NULL) {
					i = len;
					continue;
				}
				i = (size_t)(q - s);
				t = s + i + 1;
				tl = len - i - 1;
			}
			for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]);
			     k++) {
				if (tag_is(t, tl, blocks[k])) {
					ws = 2;
					break;
				}
			}
			q = memchr(t, '>', tl);
			i = q ? (size_t)(q - s) + 1 : len;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			if (ws < 1)
				ws = 1;
			i++;
			continue;
		}
		if (ws && out->len > 0 &&
		    hdr_add_trunc(out, ws == 2 ? "\n" : " ", 1) < 0)
			return;
		ws = 0;
		if (ch == '&') {
			size_t el = html_entity(s + i, len - i, out);

			if (el > 0) {
				i += el;
				continue;
			}
		}
		{
			/* copy a run of ordinary characters at once */
			size_t j = i + 1;

			while (j < len && s[j] != '<' && s[j] != '&' &&
			       s[j] != ' ' && s[j] != '\t' && s[j] != '\r' &&
			       s[j] != '\n')
				j++;
			if (hdr_add_trunc(out, s + i, j - i) < 0)
				return;
			i = j;
		}
	}
}

/*
 * The child of multipart/alternative a whose text is searched: its first
 * non-empty text/plain child. MIME_NONE when it has none: then every
 * child is (an HTML-only alternative is indexed, stripped).
 */
static uint32_t
alternative_choice(const struct mime_tree *t, uint32_t a)
{
	uint32_t i;

	for (i = t->parts[a].first_child; i != MIME_NONE; i = t->parts[i].next)
		if (t->parts[i].is_text && !t->parts[i].is_multipart &&
		    !t->parts[i].is_message && t->parts[i].body_len > 0 &&
		    str_eqi_cstr(t->parts[i].subtype, "plain"))
			return i;
	return MIME_NONE;
}

/* 0 when part i is an alternative the search text leaves out: below a
 * multipart/alternative that has a text/plain version, only that one. */
static int
search_text_wanted(const struct mime_tree *t, uint32_t i)
{
	uint32_t p, pick;

	for (; (p = t->parts[i].parent) != MIME_NONE; i = p) {
		if (!t->parts[p].is_multipart ||
		    !str_eqi_cstr(t->parts[p].subtype, "alternative"))
			continue;
		pick = alternative_choice(t, p);
		if (pick != MIME_NONE && pick != i)
			return 0;
	}
	return 1;
}

/*
 * Decoded text of the text/ parts, in order, one line break between parts,
 * bounded by out's cap (SEARCH_TEXT_MAX). Of the versions of a
 * multipart/alternative only the text/plain one is taken, so the HTML
 * copy of the same words does not double the index.
 */
static void
search_text_build(struct derive_ctx *c, struct buf *out)
{
	const struct mime_tree *t = c->t;
	struct buf dec, conv;
	size_t i;

	buf_init(&dec, 0);
	buf_init(&conv, 0);
	for (i = 0; i < t->count; i++) {
		const struct mime_part *p = &t->parts[i];
		size_t room, take;
		struct str cs = {"", 0};

		if (!p->is_text || p->is_multipart || p->is_message ||
		    p->cte == MIME_CTE_UNKNOWN || p->body_len == 0 ||
		    !search_text_wanted(t, (uint32_t)i))
			continue;
		if (out->len >= out->cap)
			break;
		room = out->cap - out->len;
		/* a prefix is enough: no decoding shrinks text below 1/3 */
		take = p->body_len;
		if (take / 3 > room + 16)
			take = 3 * (room + 16);
		buf_reset(&dec);
		buf_reset(&conv);
		if (mime_decode(p->cte, c->raw + p->body_off, take, &dec) < 0)
			continue;
		if (!p->ct_default) {
			mime_params_parse(&c->mp, p->f_ctype.p, p->f_ctype.len,
			                  1);
			if (mime_params_get(&c->mp, "charset", &cs) < 0)
				cs = str_make("", 0);
		}
		conv.cap = 3 * (room + 16) + 64;
		hdr_charset_to_utf8(cs.p, cs.len, buf_cstr(&dec), dec.len,
		                    &conv);
		if (out->len > 0 && hdr_add_trunc(out, "\n", 1) < 0)
			break;
		if (str_eqi_cstr(p->subtype, "html"))
			html_strip(buf_cstr(&conv), conv.len, out);
		else if (hdr_add_trunc(out, buf_cstr(&conv), conv.len) < 0)
			break;
	}
	buf_clear(&dec);
	buf_clear(&conv);
}

/* "Name: decoded value\n" for each field of the top-level header. */
static void
search_hdr_build(const char *hdr, size_t len, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;
	size_t i;

	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f)) {
		size_t old = out->len;

		if (f.name.len == 0)
			continue;
		if (hdr_utf8_sanitize(f.name.p, f.name.len, out) < 0 ||
		    buf_add(out, ": ", 2) < 0 ||
		    hdr_decode_words(f.value.p, f.value.len, out) < 0 ||
		    buf_addc(out, '\n') < 0) {
			/* full: drop the partial field and stop */
			out->len = old;
			out->data[old] = '\0';
			return;
		}
		/* one line per field, even if a word decoded to CR or LF */
		for (i = old; i + 1 < out->len; i++) {
			if (out->data[i] == '\r' || out->data[i] == '\n')
				out->data[i] = ' ';
		}
	}
}

int
msg_derive(const char *raw, size_t len, struct msg_derived *d)
{
	struct derive_ctx c;
	struct mime_tree t;
	struct hdr_iter it;
	struct hdr_field f;
	struct buf b;
	const struct mime_part *root;

	memset(d, 0, sizeof(*d));
	if (raw == NULL)
		raw = "";
	mime_parse(raw, len, &t);
	root = &t.parts[0];
	memset(&c, 0, sizeof(c));
	c.raw = raw;
	c.len = len;
	c.t = &t;
	mime_params_init(&c.mp);
	buf_init(&c.tmp, MIME_MAX_FIELD);

	d->header_len = root->hdr_len;
	d->date_sent = -1;

	buf_init(&b, 0);
	if (msg_envelope_write(raw, (size_t)root->hdr_len, &b) < 0) {
		buf_reset(&b);
		buf_addstr(&b, EMPTY_ENVELOPE);
	}
	d->envelope = buf_steal(&b, NULL);

	if (write_structure(&c, 1, &b) < 0) {
		buf_reset(&b);
		buf_addstr(&b, EMPTY_BODY " NIL NIL NIL NIL)");
	}
	d->bodystructure = buf_steal(&b, NULL);
	if (write_structure(&c, 0, &b) < 0) {
		buf_reset(&b);
		buf_addstr(&b, EMPTY_BODY ")");
	}
	d->body = buf_steal(&b, NULL);

	if (mime_partmap_write(&t, &b) < 0)
		buf_reset(&b);
	d->partmap = (unsigned char *)buf_steal(&b, &d->partmap_len);

	buf_init(&b, SEARCH_TEXT_MAX);
	search_hdr_build(raw, (size_t)root->hdr_len, &b);
	d->search_hdr = buf_steal(&b, &d->search_hdr_len);

	buf_init(&b, SEARCH_TEXT_MAX);
	search_text_build(&c, &b);
	d->search_text = buf_steal(&b, &d->search_text_len);

	hdr_iter_init(&it, raw, (size_t)root->hdr_len);
	while (hdr_iter_next(&it, &f)) {
		if (str_eqi_cstr(f.name, "date")) {
			buf_reset(&c.tmp);
			if (hdr_unfold(f.value.p, f.value.len, MIME_MAX_FIELD,
			               &c.tmp) == 0)
				d->date_sent = msg_date_parse(buf_cstr(&c.tmp),
				                              c.tmp.len);
			break;
		}
	}

	mime_params_clear(&c.mp);
	buf_clear(&c.tmp);
	mime_tree_clear(&t);
	return 0;
}

void
msg_derived_clear(struct msg_derived *d)
{
	free(d->envelope);
	free(d->bodystructure);
	free(d->body);
	free(d->partmap);
	free(d->search_hdr);
	free(d->search_text);
	memset(d, 0, sizeof(*d));
}
