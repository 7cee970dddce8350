/*
 * db/mime_param.c: Content-Type and Content-Disposition values (RFC 2045
 * section 5.1, RFC 2183): type/subtype and parameters, with comments,
 * quoting and folding undone, and RFC 2231 parameter continuations merged
 * (as Dovecot shows them in BODYSTRUCTURE) and decoded on request. Part of
 * mime.c's module: its API is declared in mime.h.
 */
#include "mime.h"

#include <string.h>

#include "hdr_charset.h"

struct raw_param {
	size_t name_off, name_len, val_off, val_len;
};

struct sect_ent {
	uint32_t raw;
	uint32_t section;
	int ext;
	int used;
	size_t base_len;
};

static int is_wsp(char c);
static int is_token_char(unsigned char c);
static size_t skip_cfws(const char *s, size_t len, size_t i);
static size_t skip_quoted(const char *s, size_t len, size_t i);
static void params_add(struct mime_params *mp, size_t no, size_t nl, size_t vo,
                       size_t vl);
static int sect_parse(const char *name, size_t len, struct sect_ent *e);
static void params_merge_2231(struct mime_params *mp, struct raw_param *rp,
                              size_t nraw);
static int pct_escape(struct buf *out, const char *s, size_t len);

static const char tspecials[] = "()<>@,;:\\\"/[]?=";

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token; 8-bit bytes are let in, as broken mail has them. */
static int
is_token_char(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if (c <= 0x20 || c == 0x7f)
		return 0;
	return strchr(tspecials, c) == NULL;
}

/* Skips SP, HT, CR, LF and (nested) comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	for (;;) {
		while (i < len &&
		       (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i >= len || s[i] != '(')
			return i;
		{
			size_t depth = 0;

			for (; i < len; i++) {
				if (s[i] == '\\') {
					i++;
					continue;
				}
				if (s[i] == '(') {
					depth++;
				} else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
			if (i > len)
				i = len;
		}
	}
}

/* s[i] is '"': offset past the closing quote (or len). */
static size_t
skip_quoted(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

void
mime_params_init(struct mime_params *mp)
{
	memset(mp, 0, sizeof(*mp));
	buf_init(&mp->arena, 3 * MIME_MAX_FIELD + 64);
}

void
mime_params_clear(struct mime_params *mp)
{
	buf_clear(&mp->arena);
	mp->n = 0;
}

static void
params_add(struct mime_params *mp, size_t no, size_t nl, size_t vo, size_t vl)
{
	if (mp->n >= MIME_MAX_PARAMS)
		return;
	mp->p[mp->n].name_off = no;
	mp->p[mp->n].name_len = nl;
	mp->p[mp->n].val_off = vo;
	mp->p[mp->n].val_len = vl;
	mp->n++;
}

struct str
mime_params_name(const struct mime_params *mp, size_t i)
{
	return str_make(buf_cstr(&mp->arena) + mp->p[i].name_off,
	                mp->p[i].name_len);
}

struct str
mime_params_value(const struct mime_params *mp, size_t i)
{
	return str_make(buf_cstr(&mp->arena) + mp->p[i].val_off,
	                mp->p[i].val_len);
}

int
mime_params_get(const struct mime_params *mp, const char *name, struct str *v_r)
{
	size_t i;

	for (i = 0; i < mp->n; i++) {
		if (str_eqi_cstr(mime_params_name(mp, i), name)) {
			*v_r = mime_params_value(mp, i);
			return 0;
		}
	}
	return -1;
}

/*
 * RFC 2231 section name: "base*" (extended, no sections), "base*N" or
 * "base*N*". 0 and fills e, or -1 for an ordinary name.
 */
static int
sect_parse(const char *name, size_t len, struct sect_ent *e)
{
	const char *star = memchr(name, '*', len);
	size_t i, ndig = 0;
	uint32_t v = 0;

	if (star == NULL || star == name)
		return -1;
	e->base_len = (size_t)(star - name);
	i = e->base_len + 1;
	if (i == len) {
		e->section = 0;
		e->ext = 1;
		return 0;
	}
	for (; i < len && name[i] >= '0' && name[i] <= '9'; i++) {
		if (++ndig > 3)
			return -1;
		v = v * 10 + (uint32_t)(name[i] - '0');
	}
	if (ndig == 0 || v >= MIME_MAX_PARAM_SECTIONS ||
	    (ndig > 1 && name[e->base_len + 1] == '0'))
		return -1;
	e->section = v;
	e->ext = 0;
	if (i < len && name[i] == '*') {
		e->ext = 1;
		i++;
	}
	return i == len ? 0 : -1;
}

/* %XX-escapes what an RFC 2231 extended value may not hold as it is. */
static int
pct_escape(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && is_token_char(c) && c != '*' && c != '\'' &&
		    c != '%') {
			if (buf_addc(out, (char)c) < 0)
				return -1;
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			if (buf_add(out, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}

static void
params_merge_2231(struct mime_params *mp, struct raw_param *rp, size_t nraw)
{
	struct sect_ent ents[MIME_MAX_PARAMS];
	size_t i, j, nent = 0;

	/* ordinary parameters first, in order */
	for (i = 0; i < nraw; i++) {
		struct sect_ent e;

		if (sect_parse(buf_cstr(&mp->arena) + rp[i].name_off,
		               rp[i].name_len, &e) < 0) {
			params_add(mp, rp[i].name_off, rp[i].name_len,
			           rp[i].val_off, rp[i].val_len);
			continue;
		}
		e.raw = (uint32_t)i;
		e.used = 0;
		ents[nent++] = e;
	}
	/* then each RFC 2231 parameter, its sections joined in order */
	for (i = 0; i < nent; i++) {
		uint32_t want = 0, order[MIME_MAX_PARAM_SECTIONS];
		size_t no, nl, vo, k, nsel = 0;
		int any_ext = 0;
		const char *base;

		if (ents[i].used)
			continue;
		base = buf_cstr(&mp->arena) + rp[ents[i].raw].name_off;
		/* pick sections 0, 1, 2... among this name's entries */
		for (;;) {
			size_t found = nent;

			for (j = i; j < nent; j++) {
				const char *b2 = buf_cstr(&mp->arena) +
				                 rp[ents[j].raw].name_off;

				if (ents[j].used ||
				    ents[j].base_len != ents[i].base_len ||
				    str_ncasecmp_ascii(base, b2,
				                       ents[i].base_len) != 0)
					continue;
				if (ents[j].section == want) {
					found = j;
					break;
				}
			}
			if (found == nent)
				break;
			ents[found].used = 1;
			order[nsel++] = (uint32_t)found;
			any_ext |= ents[found].ext;
			want++;
		}
		/* leftovers of this name (gaps, duplicates) are dropped */
		for (j = i; j < nent; j++) {
			const char *b2 =
			        buf_cstr(&mp->arena) + rp[ents[j].raw].name_off;

			if (ents[j].base_len == ents[i].base_len &&
			    str_ncasecmp_ascii(base, b2, ents[i].base_len) == 0)
				ents[j].used = 1;
		}
		if (nsel == 0)
			continue;
		no = mp->arena.len;
		/* base points into the arena: make room before copying it */
		if (buf_reserve(&mp->arena, ents[i].base_len) < 0)
			return;
		base = mp->arena.data + rp[ents[i].raw].name_off;
		if (buf_add(&mp->arena, base, ents[i].base_len) < 0 ||
		    (any_ext && buf_addc(&mp->arena, '*') < 0))
			return;
		nl = mp->arena.len - no;
		vo = mp->arena.len;
		if (any_ext && !ents[order[0]].ext &&
		    buf_add(&mp->arena, "''", 2) < 0)
			return;
		for (k = 0; k < nsel; k++) {
			const struct raw_param *r = &rp[ents[order[k]].raw];
			/* the arena may move: copy through an offset */
			size_t off = r->val_off, l = r->val_len;
			int rc;

			if (!any_ext || ents[order[k]].ext) {
				rc = buf_reserve(&mp->arena, l);
				if (rc == 0)
					rc = buf_add(&mp->arena,
					             mp->arena.data + off, l);
			} else {
				char tmp[256];
				size_t done = 0;

				rc = 0;
				while (rc == 0 && done < l) {
					size_t c = l - done < sizeof(tmp)
					                   ? l - done
					                   : sizeof(tmp);

					memcpy(tmp, mp->arena.data + off + done,
					       c);
					rc = pct_escape(&mp->arena, tmp, c);
					done += c;
				}
			}
			if (rc < 0)
				return;
		}
		params_add(mp, no, nl, vo, mp->arena.len - vo);
	}
}

void
mime_params_parse(struct mime_params *mp, const char *s, size_t len,
                  int with_subtype)
{
	struct raw_param rp[MIME_MAX_PARAMS];
	size_t i, start, nraw = 0;
	int has_2231 = 0;

	buf_reset(&mp->arena);
	mp->n = 0;
	if (len > MIME_MAX_FIELD)
		len = MIME_MAX_FIELD;
	i = skip_cfws(s, len, 0);
	start = i;
	while (i < len && is_token_char((unsigned char)s[i]))
		i++;
	mp->type = str_make(s + start, i - start);
	mp->subtype = str_make(s + i, 0);
	mp->has_type = i > start;
	if (with_subtype) {
		i = skip_cfws(s, len, i);
		if (i < len && s[i] == '/') {
			i = skip_cfws(s, len, i + 1);
			start = i;
			while (i < len && is_token_char((unsigned char)s[i]))
				i++;
			mp->subtype = str_make(s + start, i - start);
		}
	}
	for (;;) {
		size_t nstart, nlen, voff;

		/* whatever stands before the next ';' is skipped */
		while (i < len && s[i] != ';') {
			if (s[i] == '"')
				i = skip_quoted(s, len, i);
			else if (s[i] == '(')
				i = skip_cfws(s, len, i);
			else
				i++;
		}
		if (i >= len)
			break;
		i = skip_cfws(s, len, i + 1);
		nstart = i;
		while (i < len && is_token_char((unsigned char)s[i]))
			i++;
		nlen = i - nstart;
		i = skip_cfws(s, len, i);
		if (nlen == 0 || i >= len || s[i] != '=')
			continue;
		i = skip_cfws(s, len, i + 1);
		if (nraw >= MIME_MAX_PARAMS)
			break;
		rp[nraw].name_off = mp->arena.len;
		rp[nraw].name_len = nlen;
		if (buf_add(&mp->arena, s + nstart, nlen) < 0)
			break;
		voff = mp->arena.len;
		if (i < len && s[i] == '"') {
			/* quoted-string: undo quoting and folding */
			size_t run;

			i++;
			run = i;
			while (i < len && s[i] != '"') {
				if (s[i] != '\\' && s[i] != '\r' &&
				    s[i] != '\n') {
					i++;
					continue;
				}
				if (buf_add(&mp->arena, s + run, i - run) < 0)
					goto out;
				/* an escaped char starts the next run */
				run = ++i;
				if (s[i - 1] == '\\' && i < len)
					i++;
			}
			if (buf_add(&mp->arena, s + run, i - run) < 0)
				goto out;
			if (i < len)
				i++;
		} else {
			start = i;
			while (i < len && s[i] != ';' && !is_wsp(s[i]) &&
			       s[i] != '\r' && s[i] != '\n')
				i++;
			if (buf_add(&mp->arena, s + start, i - start) < 0)
				goto out;
		}
		rp[nraw].val_off = voff;
		rp[nraw].val_len = mp->arena.len - voff;
		if (memchr(s + nstart, '*', nlen) != NULL)
			has_2231 = 1;
		nraw++;
	}
out:
	if (!has_2231) {
		for (i = 0; i < nraw; i++)
			params_add(mp, rp[i].name_off, rp[i].name_len,
			           rp[i].val_off, rp[i].val_len);
		return;
	}
	params_merge_2231(mp, rp, nraw);
}


int
mime_param_decode_2231(struct str v, struct buf *out)
{
	const char *q1, *q2;
	struct str cs = {"", 0};
	struct buf tmp;
	size_t i;
	int rc;

	q1 = memchr(v.p, '\'', v.len);
	q2 = q1 ? memchr(q1 + 1, '\'', v.len - (size_t)(q1 + 1 - v.p)) : NULL;
	if (q2 != NULL) {
		cs = str_make(v.p, (size_t)(q1 - v.p));
		v = str_make(q2 + 1, v.len - (size_t)(q2 + 1 - v.p));
	}
	buf_init(&tmp, v.len + 1);
	if (buf_reserve(&tmp, v.len) < 0) {
		buf_clear(&tmp);
		return -1;
	}
	for (i = 0; i < v.len; i++) {
		char c = v.p[i];

		if (c == '%' && i + 2 < v.len && str_hex_value(v.p[i + 1]) >= 0 &&
		    str_hex_value(v.p[i + 2]) >= 0) {
			c = (char)(str_hex_value(v.p[i + 1]) * 16 +
			           str_hex_value(v.p[i + 2]));
			i += 2;
		}
		tmp.data[tmp.len++] = c;
	}
	tmp.data[tmp.len] = '\0';
	rc = hdr_charset_to_utf8(cs.p, cs.len, tmp.data, tmp.len, out);
	buf_clear(&tmp);
	return rc;
}
