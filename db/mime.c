/*
 * db/mime.c: MIME structure of a message (RFC 2045 header fields and
 * content-transfer-encodings, RFC 2046 multipart and message/rfc822,
 * RFC 2231 parameter continuations and charset'lang' values), the part map
 * saved with each message, and its lookup for BODY[section] (RFC 3501
 * 6.4.5).
 *
 * Parsing is one pass over the raw bytes, line by line, with an explicit
 * stack of open parts (no recursion), bounded by MIME_MAX_DEPTH and
 * MIME_MAX_PARTS: past a bound, the rest is an opaque body. Broken mail is
 * taken as it comes: a missing final boundary ends parts at the end of the
 * message, a header without an empty line ends at the next boundary, bare LF
 * line ends count like CRLF. Offsets always point into the raw bytes.
 * Field values with parameters are parsed by mime_param.c.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "hdr_charset.h"
#include "hdr_parse.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}


/* ---- The parse tree ---- */

enum fr_state {
	FR_HEADER, /* reading the node's header */
	FR_BODY,   /* leaf body, preamble, epilogue, or holder of children */
};

struct mp_frame {
	uint32_t node;
	enum fr_state state;
	size_t bnd_off, bnd_len; /* active boundary in ctx.bnd; len 0: none */
};

struct mp_ctx {
	const char *raw;
	size_t len;
	struct mime_tree *t;
	struct mp_frame stack[MIME_MAX_DEPTH + 1];
	size_t sp;
	size_t nbnd; /* frames with an active boundary */
	struct buf bnd;
	struct mime_params mp;
	size_t pos;      /* start of the current line */
	uint64_t lineno; /* LF count before pos */
};

static const char s_text[] = "TEXT", s_plain[] = "PLAIN",
                  s_message[] = "MESSAGE", s_rfc822[] = "RFC822";

static uint32_t node_new(struct mp_ctx *c, uint32_t parent, uint64_t hdr_off);
static void node_end_header(struct mp_ctx *c, struct mp_frame *f,
                            int allow_children);
static enum mime_cte cte_parse(struct mp_ctx *c, struct str v);
static int boundary_match(struct mp_ctx *c, size_t pos, size_t *k_r,
                          int *close_r, size_t *next_r);
static int boundary_found(struct mp_ctx *c, size_t k, int is_close, size_t next,
                          size_t *k_r, int *close_r, size_t *next_r);
static void node_close(struct mp_ctx *c, uint32_t n, uint64_t end,
                       uint64_t end_lineno);
static void boundary_handle(struct mp_ctx *c, size_t k, int is_close,
                            size_t next);
static size_t line_next(const char *raw, size_t len, size_t pos);

static size_t
line_next(const char *raw, size_t len, size_t pos)
{
	const char *q = memchr(raw + pos, '\n', len - pos);

	return q ? (size_t)(q - raw) + 1 : len;
}

static uint32_t
node_new(struct mp_ctx *c, uint32_t parent, uint64_t hdr_off)
{
	struct mime_tree *t = c->t;
	struct mime_part *p;
	uint32_t idx;

	if (t->count == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 8;
		t->parts = xreallocarray(t->parts, t->alloc, sizeof(*t->parts));
	}
	idx = (uint32_t)t->count++;
	p = &t->parts[idx];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->first_child = p->last_child = p->next = MIME_NONE;
	p->hdr_off = hdr_off;
	p->body_off = hdr_off;
	p->cte = MIME_CTE_7BIT;
	p->type = STR_LIT(s_text);
	p->subtype = STR_LIT(s_plain);
	p->is_text = 1;
	p->ct_default = 1;
	if (parent != MIME_NONE) {
		struct mime_part *pp = &t->parts[parent];

		p->depth = pp->depth + 1;
		if (pp->last_child == MIME_NONE)
			pp->first_child = idx;
		else
			t->parts[pp->last_child].next = idx;
		pp->last_child = idx;
		pp->nchildren++;
	}
	return idx;
}

static enum mime_cte
cte_parse(struct mp_ctx *c, struct str v)
{
	struct str tok;

	mime_params_parse(&c->mp, v.p, v.len, 0);
	tok = c->mp.type;
	if (tok.len == 0 || str_eqi_cstr(tok, "7bit"))
		return MIME_CTE_7BIT;
	if (str_eqi_cstr(tok, "8bit"))
		return MIME_CTE_8BIT;
	if (str_eqi_cstr(tok, "binary"))
		return MIME_CTE_BINARY;
	if (str_eqi_cstr(tok, "quoted-printable"))
		return MIME_CTE_QP;
	if (str_eqi_cstr(tok, "base64"))
		return MIME_CTE_BASE64;
	return MIME_CTE_UNKNOWN;
}

/*
 * The node's header is complete (hdr_off, hdr_len, body_off set): read its
 * MIME fields and decide what its body holds. allow_children is 0 when the
 * header was cut short by a boundary, so the body is empty anyway.
 */
static void
node_end_header(struct mp_ctx *c, struct mp_frame *f, int allow_children)
{
	struct mime_tree *t = c->t;
	struct mime_part *p = &t->parts[f->node];
	struct hdr_iter it;
	struct hdr_field fld;
	struct str bnd;
	uint32_t parent = p->parent;

	hdr_iter_init(&it, c->raw + p->hdr_off, p->hdr_len);
	while (hdr_iter_next(&it, &fld)) {
		struct str *dst = NULL;
		struct str n = fld.name;

		if (n.len < 9 || str_ncasecmp_ascii(n.p, "content-", 8) != 0)
			continue;
		n = str_make(n.p + 8, n.len - 8);
		if (str_eqi_cstr(n, "type"))
			dst = &p->f_ctype;
		else if (str_eqi_cstr(n, "transfer-encoding"))
			dst = &p->f_cte;
		else if (str_eqi_cstr(n, "id"))
			dst = &p->f_id;
		else if (str_eqi_cstr(n, "description"))
			dst = &p->f_desc;
		else if (str_eqi_cstr(n, "disposition"))
			dst = &p->f_disp;
		else if (str_eqi_cstr(n, "language"))
			dst = &p->f_lang;
		else if (str_eqi_cstr(n, "location"))
			dst = &p->f_loc;
		else if (str_eqi_cstr(n, "md5"))
			dst = &p->f_md5;
		if (dst != NULL && dst->p == NULL)
			*dst = fld.value;
	}
	/* RFC 2046 5.1.5: in multipart/digest the default is message/rfc822 */
	if (parent != MIME_NONE && t->parts[parent].is_multipart &&
	    str_eqi_cstr(t->parts[parent].subtype, "digest")) {
		p->type = STR_LIT(s_message);
		p->subtype = STR_LIT(s_rfc822);
		p->is_text = 0;
	}
	/* before Content-Type: c->mp must keep its parameters below */
	if (p->f_cte.p != NULL)
		p->cte = cte_parse(c, p->f_cte);
	if (p->f_ctype.p != NULL) {
		mime_params_parse(&c->mp, p->f_ctype.p, p->f_ctype.len, 1);
		if (c->mp.has_type) {
			p->type = c->mp.type;
			p->subtype = c->mp.subtype;
			p->is_text = str_eqi_cstr(p->type, "text");
			p->ct_default = 0;
		}
	}
	f->state = FR_BODY;
	f->bnd_len = 0;
	if (str_eqi_cstr(p->type, "multipart")) {
		p->is_multipart = 1;
		if (!allow_children || p->f_ctype.p == NULL ||
		    mime_params_get(&c->mp, "boundary", &bnd) < 0 ||
		    bnd.len == 0)
			return;
		if (p->depth >= MIME_MAX_DEPTH) {
			t->limited = 1;
			return;
		}
		f->bnd_off = c->bnd.len;
		if (buf_add(&c->bnd, bnd.p, bnd.len) < 0)
			return;
		f->bnd_len = bnd.len;
		c->nbnd++;
		return;
	}
	if (str_eqi_cstr(p->type, "message") &&
	    str_eqi_cstr(p->subtype, "rfc822")) {
		uint32_t e;

		p->is_message = 1;
		/* an encoded message/rfc822 is not parsed (as Dovecot) */
		if (!allow_children ||
		    (p->cte != MIME_CTE_7BIT && p->cte != MIME_CTE_8BIT &&
		     p->cte != MIME_CTE_BINARY))
			return;
		if (p->depth >= MIME_MAX_DEPTH || t->count >= MIME_MAX_PARTS) {
			t->limited = 1;
			return;
		}
		e = node_new(c, f->node, t->parts[f->node].body_off);
		p = &t->parts[e];
		p->lineno0 = c->lineno;
		c->stack[c->sp].node = e;
		c->stack[c->sp].state = FR_HEADER;
		c->stack[c->sp].bnd_len = 0;
		c->sp++;
	}
}

/* A boundary of stack[k]: 1, unless it would pass MIME_MAX_PARTS. */
static int
boundary_found(struct mp_ctx *c, size_t k, int is_close, size_t next,
               size_t *k_r, int *close_r, size_t *next_r)
{
	if (!is_close && c->t->count >= MIME_MAX_PARTS) {
		c->t->limited = 1;
		return 0;
	}
	*k_r = k;
	*close_r = is_close;
	*next_r = next;
	return 1;
}

/*
 * Is the line at pos a boundary line of an open multipart ("--b" or
 * "--b--", then only white space)? The innermost one wins. Failing an
 * exact match, "--b" followed by white space and other text counts too
 * (Dovecot takes any line starting with "--b"; but "--b1" must not end a
 * part at "--b10"). A separator that
 * would make a part past MIME_MAX_PARTS is not a boundary.
 */
static int
boundary_match(struct mp_ctx *c, size_t pos, size_t *k_r, int *close_r,
               size_t *next_r)
{
	const char *raw = c->raw;
	size_t next = line_next(raw, c->len, pos), cend = next, k;
	size_t loose = SIZE_MAX; /* innermost "--b garbage" match */

	if (cend > pos && raw[cend - 1] == '\n')
		cend--;
	if (cend > pos && raw[cend - 1] == '\r')
		cend--;
	for (k = c->sp; k-- > 0;) {
		const struct mp_frame *f = &c->stack[k];
		size_t blen = f->bnd_len, rest, i;
		int is_close = 0;

		if (blen == 0 || cend - pos < 2 + blen ||
		    raw[pos + 2] != c->bnd.data[f->bnd_off] ||
		    memcmp(raw + pos + 2, c->bnd.data + f->bnd_off, blen) != 0)
			continue;
		rest = pos + 2 + blen;
		if (cend - rest >= 2 && raw[rest] == '-' &&
		    raw[rest + 1] == '-') {
			is_close = 1;
		} else {
			for (i = rest; i < cend && is_wsp(raw[i]); i++)
				;
			if (i != cend) {
				/* "--b1" must not match "--b10" */
				if (loose == SIZE_MAX && is_wsp(raw[rest]))
					loose = k;
				continue;
			}
		}
		return boundary_found(c, k, is_close, next, k_r, close_r,
		                      next_r);
	}
	if (loose == SIZE_MAX)
		return 0;
	return boundary_found(c, loose, 0, next, k_r, close_r, next_r);
}

/* Ends node n's body at end (LF count end_lineno there). */
static void
node_close(struct mp_ctx *c, uint32_t n, uint64_t end, uint64_t end_lineno)
{
	struct mime_part *p = &c->t->parts[n];

	if (end <= p->body_off) {
		/*
		 * The line end before a boundary belongs to the boundary
		 * (RFC 2046 5.1.1), even when it also ended this header: the
		 * header gives it up so the node stays inside its parent.
		 */
		if (end < p->hdr_off)
			p->hdr_off = end; /* an empty header */
		p->hdr_len = end - p->hdr_off;
		p->body_off = end;
		p->body_len = 0;
		p->body_lines = 0;
		return;
	}
	p->body_len = end - p->body_off;
	p->body_lines = end_lineno - p->lineno0;
}

/*
 * The line at c->pos is a boundary of stack[k]: close the parts inside it
 * (their body ends before the line end preceding the boundary, RFC 2046
 * 5.1.1), then open the next part or enter the epilogue.
 */
static void
boundary_handle(struct mp_ctx *c, size_t k, int is_close, size_t next)
{
	size_t pos = c->pos, le = 0;
	struct mp_frame *m;

	if (pos > 0 && c->raw[pos - 1] == '\n') {
		le = 1;
		if (pos > 1 && c->raw[pos - 2] == '\r')
			le = 2;
	}
	while (c->sp > k + 1) {
		struct mp_frame *f = &c->stack[c->sp - 1];

		node_close(c, f->node, pos - le, c->lineno - (le ? 1 : 0));
		if (f->bnd_len)
			c->nbnd--;
		c->sp--;
	}
	m = &c->stack[k];
	if (is_close) {
		if (m->bnd_len)
			c->nbnd--;
		m->bnd_len = 0;
	} else {
		uint32_t n = node_new(c, m->node, next);

		c->stack[c->sp].node = n;
		c->stack[c->sp].state = FR_HEADER;
		c->stack[c->sp].bnd_len = 0;
		c->sp++;
	}
	if (next > pos && c->raw[next - 1] == '\n')
		c->lineno++;
	c->pos = next;
}

void
mime_parse(const char *raw, size_t len, struct mime_tree *t)
{
	struct mp_ctx *c = xcalloc(1, sizeof(*c));
	size_t k, next;
	int is_close;

	memset(t, 0, sizeof(*t));
	c->raw = raw;
	c->len = len;
	c->t = t;
	buf_init(&c->bnd, 0);
	mime_params_init(&c->mp);
	c->stack[0].node = node_new(c, MIME_NONE, 0);
	c->stack[0].state = FR_HEADER;
	c->sp = 1;

	while (c->pos < len) {
		struct mp_frame *f = &c->stack[c->sp - 1];
		struct mime_part *p = &t->parts[f->node];
		size_t pos = c->pos;

		if (f->state == FR_HEADER) {
			if (raw[pos] == '\n' ||
			    (raw[pos] == '\r' && pos + 1 < len &&
			     raw[pos + 1] == '\n')) {
				next = pos + (raw[pos] == '\n' ? 1 : 2);
				c->lineno++;
				c->pos = next;
				p->hdr_len = next - p->hdr_off;
				p->body_off = next;
				p->lineno0 = c->lineno;
				node_end_header(c, f, 1);
				continue;
			}
			if (c->nbnd > 0 && raw[pos] == '-' && pos + 1 < len &&
			    raw[pos + 1] == '-' &&
			    boundary_match(c, pos, &k, &is_close, &next)) {
				/*
				 * A header cut short: it ends before the line
				 * end that belongs to the boundary (so it stays
				 * inside its parent), and the body is empty.
				 */
				size_t hend = pos;

				if (hend > 0 && raw[hend - 1] == '\n')
					hend--;
				if (hend > 0 && raw[hend - 1] == '\r')
					hend--;
				if (hend < p->hdr_off)
					hend = (size_t)p->hdr_off;
				p->hdr_len = hend - p->hdr_off;
				p->body_off = hend;
				p->lineno0 = c->lineno;
				node_end_header(c, f, 0);
				boundary_handle(c, k, is_close, next);
				continue;
			}
			next = line_next(raw, len, pos);
			if (raw[next - 1] == '\n')
				c->lineno++;
			c->pos = next;
			continue;
		}
		if (c->nbnd == 0) {
			/* no boundary can come: the rest is this body */
			const char *q = raw + pos, *end = raw + len;

			while ((q = memchr(q, '\n', (size_t)(end - q))) !=
			       NULL) {
				c->lineno++;
				q++;
			}
			c->pos = len;
			break;
		}
		/* body: look for a boundary line */
		for (;;) {
			if (raw[pos] == '-' && pos + 1 < len &&
			    raw[pos + 1] == '-' &&
			    boundary_match(c, pos, &k, &is_close, &next)) {
				c->pos = pos;
				boundary_handle(c, k, is_close, next);
				break;
			}
			next = line_next(raw, len, pos);
			if (raw[next - 1] == '\n')
				c->lineno++;
			pos = next;
			if (pos >= len) {
				c->pos = len;
				break;
			}
		}
	}
	/* end of the message: close everything still open */
	while (c->sp > 0) {
		struct mp_frame *f = &c->stack[c->sp - 1];
		struct mime_part *p = &t->parts[f->node];

		if (f->state == FR_HEADER) {
			p->hdr_len = len - p->hdr_off;
			p->body_off = len;
			p->lineno0 = c->lineno;
			node_end_header(c, f, 0);
		}
		node_close(c, f->node, len, c->lineno);
		c->sp--;
	}
	mime_params_clear(&c->mp);
	buf_clear(&c->bnd);
	free(c);
}

void
mime_tree_clear(struct mime_tree *t)
{
	free(t->parts);
	memset(t, 0, sizeof(*t));
}

/* ---- The part map ----
 *
 * Version 1 layout: byte 0 is MIME_PARTMAP_VERSION, then a varint node
 * count, then one record per node in preorder (a node's descendants follow
 * it). A record is seven LEB128 varints:
 *   flags          bit 0 multipart, bit 1 message/rfc822 (with its
 *                  embedded message as only child), bits 2-4 the CTE
 *   nchildren
 *   subtree        bytes of all descendants' records (to skip them)
 *   hdr_off        minus the parent's body_off (0 for the root)
 *   hdr_len
 *   body_off       minus (hdr_off + hdr_len)
 *   body_len
 * The map is read as untrusted: every value is checked.
 */

#define PM_F_MULTIPART 1u
#define PM_F_MESSAGE   2u
#define PM_MAX_OFF     (UINT64_C(1) << 62)

struct pm_rec {
	uint64_t flags, nchildren, subtree;
	uint64_t hdr_off, hdr_len, body_off, body_len;
	size_t children; /* offset of the first child's record */
	size_t end;      /* offset past the subtree */
};

static size_t varint_len(uint64_t v);
static int varint_put(struct buf *out, uint64_t v);
static int varint_get(const unsigned char *pm, size_t len, size_t *pos,
                      uint64_t *v_r);
static int pm_read(const unsigned char *pm, size_t len, size_t pos,
                   uint64_t parent_body, struct pm_rec *r);
static int pm_child(const unsigned char *pm, size_t len,
                    const struct pm_rec *parent, uint64_t k, struct pm_rec *r);
static void pm_loc(const unsigned char *pm, size_t len, const struct pm_rec *r,
                   struct mime_loc *loc);

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int
varint_put(struct buf *out, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (unsigned char)v;
	return buf_add(out, b, n);
}

static int
varint_get(const unsigned char *pm, size_t len, size_t *pos, uint64_t *v_r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	size_t p = *pos;

	for (;;) {
		if (p >= len || shift > 56)
			return -1;
		v |= (uint64_t)(pm[p] & 0x7f) << shift;
		shift += 7;
		if ((pm[p++] & 0x80) == 0)
			break;
	}
	*pos = p;
	*v_r = v;
	return 0;
}

static uint64_t
pm_flags(const struct mime_part *p)
{
	return (p->is_multipart ? PM_F_MULTIPART : 0) |
	       (p->is_message && p->first_child != MIME_NONE ? PM_F_MESSAGE
	                                                     : 0) |
	       ((uint64_t)p->cte << 2);
}

int
mime_partmap_write(const struct mime_tree *t, struct buf *out)
{
	uint64_t *sub, *base;
	size_t i;
	int rc = -1;

	if (t->count == 0)
		return -1;
	sub = xcalloc(t->count, sizeof(*sub));
	base = xcalloc(t->count, sizeof(*base));
	/* children come after their parent: sum subtrees bottom-up */
	for (i = t->count; i-- > 0;) {
		const struct mime_part *p = &t->parts[i];
		uint64_t pbody = p->parent == MIME_NONE
		                         ? 0
		                         : t->parts[p->parent].body_off;

		base[i] = varint_len(pm_flags(p)) + varint_len(p->nchildren) +
		          varint_len(p->hdr_off - pbody) +
		          varint_len(p->hdr_len) +
		          varint_len(p->body_off - p->hdr_off - p->hdr_len) +
		          varint_len(p->body_len);
		if (p->parent != MIME_NONE)
			sub[p->parent] += base[i] + varint_len(sub[i]) + sub[i];
	}
	if (buf_addc(out, MIME_PARTMAP_VERSION) < 0 ||
	    varint_put(out, t->count) < 0)
		goto out;
	for (i = 0; i < t->count; i++) {
		const struct mime_part *p = &t->parts[i];
		uint64_t pbody = p->parent == MIME_NONE
		                         ? 0
		                         : t->parts[p->parent].body_off;

		if (varint_put(out, pm_flags(p)) < 0 ||
		    varint_put(out, p->nchildren) < 0 ||
		    varint_put(out, sub[i]) < 0 ||
		    varint_put(out, p->hdr_off - pbody) < 0 ||
		    varint_put(out, p->hdr_len) < 0 ||
		    varint_put(out, p->body_off - p->hdr_off - p->hdr_len) <
		            0 ||
		    varint_put(out, p->body_len) < 0)
			goto out;
	}
	rc = 0;
out:
	free(sub);
	free(base);
	return rc;
}

static int
pm_read(const unsigned char *pm, size_t len, size_t pos, uint64_t parent_body,
        struct pm_rec *r)
{
	uint64_t v;

	if (varint_get(pm, len, &pos, &r->flags) < 0 ||
	    varint_get(pm, len, &pos, &r->nchildren) < 0 ||
	    varint_get(pm, len, &pos, &r->subtree) < 0 ||
	    varint_get(pm, len, &pos, &v) < 0)
		return -1;
	if (r->flags >> 2 > MIME_CTE_UNKNOWN || v >= PM_MAX_OFF ||
	    parent_body >= PM_MAX_OFF)
		return -1;
	r->hdr_off = parent_body + v;
	if (varint_get(pm, len, &pos, &r->hdr_len) < 0 ||
	    r->hdr_len >= PM_MAX_OFF || varint_get(pm, len, &pos, &v) < 0 ||
	    v >= PM_MAX_OFF)
		return -1;
	r->body_off = r->hdr_off + r->hdr_len + v;
	if (r->body_off >= PM_MAX_OFF ||
	    varint_get(pm, len, &pos, &r->body_len) < 0 ||
	    r->body_len >= PM_MAX_OFF)
		return -1;
	if (r->subtree > len - pos)
		return -1;
	r->children = pos;
	r->end = pos + (size_t)r->subtree;
	return 0;
}

/* The k-th (1-based) child record of parent. */
static int
pm_child(const unsigned char *pm, size_t len, const struct pm_rec *parent,
         uint64_t k, struct pm_rec *r)
{
	size_t pos = parent->children;
	uint64_t i;

	if (k == 0 || k > parent->nchildren)
		return -1;
	for (i = 1;; i++) {
		if (pos >= parent->end ||
		    pm_read(pm, parent->end, pos, parent->body_off, r) < 0)
			return -1;
		if (i == k)
			return 0;
		pos = r->end;
	}
}

static void
pm_loc(const unsigned char *pm, size_t len, const struct pm_rec *r,
       struct mime_loc *loc)
{
	struct pm_rec e;

	memset(loc, 0, sizeof(*loc));
	loc->hdr_off = r->hdr_off;
	loc->hdr_len = r->hdr_len;
	loc->body_off = r->body_off;
	loc->body_len = r->body_len;
	loc->is_multipart = (r->flags & PM_F_MULTIPART) != 0;
	loc->cte = (enum mime_cte)(r->flags >> 2);
	if ((r->flags & PM_F_MESSAGE) && pm_child(pm, len, r, 1, &e) == 0) {
		loc->is_message = 1;
		loc->msg_hdr_off = e.hdr_off;
		loc->msg_hdr_len = e.hdr_len;
		loc->msg_body_off = e.body_off;
		loc->msg_body_len = e.body_len;
	}
}

int
mime_partmap_find(const unsigned char *pm, size_t pmlen, const uint32_t *path,
                  size_t depth, struct mime_loc *loc)
{
	struct pm_rec root, m, cur;
	size_t pos = 1, i;
	uint64_t count;

	if (pm == NULL || pmlen < 2 || pm[0] != MIME_PARTMAP_VERSION ||
	    varint_get(pm, pmlen, &pos, &count) < 0 || count == 0 ||
	    pm_read(pm, pmlen, pos, 0, &root) < 0)
		return -1;
	if (depth == 0) {
		pm_loc(pm, pmlen, &root, loc);
		loc->is_message = 1;
		loc->msg_hdr_off = root.hdr_off;
		loc->msg_hdr_len = root.hdr_len;
		loc->msg_body_off = root.body_off;
		loc->msg_body_len = root.body_len;
		return 0;
	}
	/* m: the message or multipart whose parts path[i] numbers */
	m = root;
	for (i = 0; i < depth; i++) {
		if (m.flags & PM_F_MULTIPART) {
			if (pm_child(pm, pmlen, &m, path[i], &cur) < 0)
				return -1;
		} else if (path[i] == 1) {
			/* a message that is not multipart: part 1 is itself */
			cur = m;
		} else {
			return -1;
		}
		if (i + 1 == depth)
			break;
		if (cur.flags & PM_F_MESSAGE) {
			if (pm_child(pm, pmlen, &cur, 1, &m) < 0)
				return -1;
		} else if (cur.flags & PM_F_MULTIPART) {
			m = cur;
		} else {
			return -1;
		}
	}
	pm_loc(pm, pmlen, &cur, loc);
	return 0;
}

/* ---- Content-transfer-encodings (RFC 2045 section 6) ---- */


/*
 * Base64, tolerant: characters outside the alphabet are skipped, and "="
 * ends a group, after which decoding starts afresh (concatenated blocks).
 */
static size_t
decode_base64(const unsigned char *s, size_t len, unsigned char *o)
{
	unsigned bits = 0;
	int nbits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int v = str_base64_value(s[i]);

		if (v < 0) {
			if (s[i] == '=') {
				bits = 0;
				nbits = 0;
			}
			continue;
		}
		bits = (bits << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			o[n++] = (unsigned char)(bits >> nbits);
			bits &= (1u << nbits) - 1;
		}
	}
	return n;
}

/*
 * Quoted-printable, tolerant: "=XX" (either case) is an octet, "=" before
 * the line end (after optional white space) is a soft break, any other "="
 * stays as it is; white space at a line end is dropped (RFC 2045 6.7 (3)).
 */
static size_t
decode_qp(const unsigned char *s, size_t len, unsigned char *o)
{
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t run = i;

		/* copy ordinary characters in one go */
		while (run < len && s[run] != '=' && s[run] != ' ' &&
		       s[run] != '\t')
			run++;
		if (run > i) {
			memcpy(o + n, s + i, run - i);
			n += run - i;
			i = run;
			continue;
		}
		if (c == '=') {
			size_t j = i + 1;
			int h, l;

			if (j + 1 < len && (h = str_hex_value((char)s[j])) >= 0 &&
			    (l = str_hex_value((char)s[j + 1])) >= 0) {
				o[n++] = (unsigned char)(h * 16 + l);
				i += 3;
				continue;
			}
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j == len) {
				i = len;
				continue;
			}
			if (s[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n') {
				i = j + 2;
				continue;
			}
			o[n++] = '=';
			i++;
			continue;
		}
		if (c == ' ' || c == '\t') {
			size_t j = i;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j == len || s[j] == '\n' ||
			    (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')) {
				i = j;
				continue;
			}
			memcpy(o + n, s + i, j - i);
			n += j - i;
			i = j;
			continue;
		}
		o[n++] = c;
		i++;
	}
	return n;
}

int
mime_decode(enum mime_cte cte, const char *data, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t n;

	switch (cte) {
	case MIME_CTE_7BIT:
	case MIME_CTE_8BIT:
	case MIME_CTE_BINARY:
		return buf_add(out, data, len);
	case MIME_CTE_QP:
	case MIME_CTE_BASE64:
		break;
	default:
		return -1;
	}
	/* decoded output is never longer than the input */
	if (buf_reserve(out, len) < 0) {
		/* maybe it fits after all: decode into a scratch copy */
		struct buf tmp;
		int rc;

		buf_init(&tmp, 0);
		if (buf_reserve(&tmp, len) < 0)
			return -1;
		n = cte == MIME_CTE_QP
		            ? decode_qp(s, len, (unsigned char *)tmp.data)
		            : decode_base64(s, len, (unsigned char *)tmp.data);
		rc = buf_add(out, tmp.data, n);
		buf_clear(&tmp);
		return rc;
	}
	n = cte == MIME_CTE_QP
	            ? decode_qp(s, len, (unsigned char *)out->data + out->len)
	            : decode_base64(s, len,
	                            (unsigned char *)out->data + out->len);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}
