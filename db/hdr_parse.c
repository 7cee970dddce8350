/*
 * db/hdr_parse.c: RFC 5322 section 2.2 header fields (folding, bare LF
 * line ends, NUL and 8-bit bytes kept as they are) and RFC 2047 encoded
 * words ("B" and "Q", charset converted to UTF-8 by hdr_charset.c, adjacent
 * words joined, malformed words left as they are).
 * The raw header is never modified: everything here reads slices of it.
 */
#include "hdr_parse.h"

#include <string.h>

#include "../common/buf.h"
#include "../common/str.h"
#include "../common/limits.h"
#include "hdr_charset.h"

struct enc_word {
	struct str charset;
	struct str text;
	char enc;   /* 'B' or 'Q' */
	size_t end; /* offset just past "?=" */
};

static int is_wsp(char c);
static size_t line_end(const char *p, size_t len, size_t pos);
static int parse_enc_word(const char *s, size_t len, size_t i,
                          struct enc_word *w);
static int decode_q(struct str t, struct buf *out);
static int decode_b(struct str t, struct buf *out);
static int all_wsp(const char *s, size_t len);
static int decode_unfolded(const char *s, size_t len, struct buf *out);

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Offset just past the LF ending the line at pos, or len. */
static size_t
line_end(const char *p, size_t len, size_t pos)
{
	const char *q = memchr(p + pos, '\n', len - pos);

	return q ? (size_t)(q - p) + 1 : len;
}

size_t
hdr_block_len(const char *raw, size_t len)
{
	size_t pos = 0;

	for (;;) {
		if (pos >= len)
			return len;
		if (raw[pos] == '\n')
			return pos + 1;
		if (raw[pos] == '\r' && pos + 1 < len && raw[pos + 1] == '\n')
			return pos + 2;
		pos = line_end(raw, len, pos);
	}
}

void
hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len)
{
	it->p = hdr;
	it->len = len;
	it->pos = 0;
}

int
hdr_iter_next(struct hdr_iter *it, struct hdr_field *f)
{
	const char *p = it->p;
	size_t start = it->pos, first_end, end, vend;
	const char *colon;

	if (start >= it->len)
		return 0;
	if (p[start] == '\n' ||
	    (p[start] == '\r' && start + 1 < it->len && p[start + 1] == '\n')) {
		it->pos = it->len;
		return 0;
	}
	first_end = line_end(p, it->len, start);
	end = first_end;
	while (end < it->len && is_wsp(p[end]))
		end = line_end(p, it->len, end);
	it->pos = end;

	vend = end;
	if (vend > start && p[vend - 1] == '\n') {
		vend--;
		if (vend > start && p[vend - 1] == '\r')
			vend--;
	}
	f->off = start;
	f->len = end - start;
	colon = memchr(p + start, ':', first_end - start);
	if (colon == NULL || colon > p + vend) {
		f->name = str_make(p + start, 0);
		f->value = str_make(p + start, vend - start);
		return 1;
	}
	f->name = str_make(p + start, (size_t)(colon - (p + start)));
	while (f->name.len > 0 && is_wsp(f->name.p[f->name.len - 1]))
		f->name.len--;
	f->value = str_make(colon + 1, (size_t)(p + vend - (colon + 1)));
	return 1;
}

int
hdr_unfold(const char *val, size_t len, size_t max, struct buf *out)
{
	size_t i, run;

	if (len > max)
		len = max;
	while (len > 0 &&
	       (is_wsp(val[0]) || val[0] == '\r' || val[0] == '\n')) {
		val++;
		len--;
	}
	while (len > 0 && (is_wsp(val[len - 1]) || val[len - 1] == '\r' ||
	                   val[len - 1] == '\n'))
		len--;
	run = 0;
	for (i = 0; i < len; i++) {
		if (val[i] != '\r' && val[i] != '\n')
			continue;
		if (buf_add(out, val + run, i - run) < 0)
			return -1;
		run = i + 1;
	}
	return buf_add(out, val + run, len - run);
}

int
hdr_filter_fields(const char *hdr, size_t len, const char *const *names,
                  size_t n, int not_, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f)) {
		size_t i;
		int match = 0;

		if (f.name.len == 0)
			continue;
		for (i = 0; i < n && !match; i++)
			match = str_eqi_cstr(f.name, names[i]);
		if (match == not_)
			continue;
		if (buf_add(out, hdr + f.off, f.len) < 0)
			return -1;
		if (hdr[f.off + f.len - 1] != '\n' &&
		    buf_add(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_add(out, "\r\n", 2);
}

/*
 * Parses "=?charset?E?text?=" at s[i] (RFC 2047 section 2). The charset is
 * a token; the text has no SP, HT or '?'. 0 and fills *w, or -1.
 */
static int
parse_enc_word(const char *s, size_t len, size_t i, struct enc_word *w)
{
	size_t j = i + 2, cs;

	if (i + 2 > len || s[i] != '=' || s[i + 1] != '?')
		return -1;
	cs = j;
	while (j < len && s[j] != '?') {
		unsigned char c = (unsigned char)s[j];

		if (c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '"')
			return -1;
		j++;
	}
	if (j >= len || j == cs || j + 2 >= len || s[j + 2] != '?')
		return -1;
	w->charset = str_make(s + cs, j - cs);
	switch (s[j + 1]) {
	case 'B':
	case 'b':
		w->enc = 'B';
		break;
	case 'Q':
	case 'q':
		w->enc = 'Q';
		break;
	default:
		return -1;
	}
	j += 3;
	cs = j;
	while (j < len && s[j] != '?') {
		unsigned char c = (unsigned char)s[j];

		if (c <= ' ' || c >= 0x7f)
			return -1;
		j++;
	}
	if (j + 1 >= len || s[j + 1] != '=')
		return -1;
	w->text = str_make(s + cs, j - cs);
	w->end = j + 2;
	return 0;
}


/* RFC 2047 4.2: "_" is SP, "=XX" an octet; a bad "=" stays as it is. */
static int
decode_q(struct str t, struct buf *out)
{
	size_t i;

	if (buf_reserve(out, t.len) < 0)
		return -1;
	for (i = 0; i < t.len; i++) {
		char c = t.p[i];

		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < t.len) {
			int h = str_hex_value(t.p[i + 1]), l = str_hex_value(t.p[i + 2]);

			if (h >= 0 && l >= 0) {
				c = (char)(h * 16 + l);
				i += 2;
			}
		}
		out->data[out->len++] = c;
	}
	out->data[out->len] = '\0';
	return 0;
}


/* RFC 2047 4.1; padding may be missing. -1 on a character outside it. */
static int
decode_b(struct str t, struct buf *out)
{
	unsigned bits = 0;
	int nbits = 0;
	size_t i, n = t.len;

	while (n > 0 && t.p[n - 1] == '=')
		n--;
	if (buf_reserve(out, n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		int v = str_base64_value(t.p[i]);

		if (v < 0)
			return -2;
		bits = (bits << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out->data[out->len++] = (char)((bits >> nbits) & 0xff);
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

static int
all_wsp(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!is_wsp(s[i]))
			return 0;
	}
	return 1;
}

/*
 * Decodes encoded words in an unfolded value. Consecutive words separated
 * by white space only are joined (RFC 2047 section 6.2), and their bytes
 * converted together when they share a charset, so a character split
 * between two words comes out whole.
 */
static int
decode_unfolded(const char *s, size_t len, struct buf *out)
{
	struct buf pend, tmp;
	struct str pend_cs = {NULL, 0};
	size_t i = 0, lit = 0;
	int prev_word = 0, rc = -1;
	const char *q;

	buf_init(&pend, MIME_MAX_FIELD);
	buf_init(&tmp, MIME_MAX_FIELD);
	while ((q = memchr(s + i, '=', len - i)) != NULL) {
		struct enc_word w;
		size_t wpos = (size_t)(q - s);
		int r, joined, same_cs;

		i = wpos + 1;
		if (parse_enc_word(s, len, wpos, &w) < 0)
			continue;
		buf_reset(&tmp);
		r = w.enc == 'B' ? decode_b(w.text, &tmp)
		                 : decode_q(w.text, &tmp);
		if (r == -2)
			continue; /* not base64: leave the word as it is */
		if (r < 0)
			goto out;
		joined = prev_word && all_wsp(s + lit, wpos - lit);
		same_cs = pend_cs.p != NULL && pend_cs.len == w.charset.len &&
		          str_ncasecmp_ascii(pend_cs.p, w.charset.p,
		                             w.charset.len) == 0;
		if (!joined || !same_cs) {
			if (pend_cs.p != NULL &&
			    hdr_charset_to_utf8(pend_cs.p, pend_cs.len,
			                        buf_cstr(&pend), pend.len,
			                        out) < 0)
				goto out;
			buf_reset(&pend);
		}
		if (!joined && hdr_utf8_sanitize(s + lit, wpos - lit, out) < 0)
			goto out;
		if (buf_add(&pend, buf_cstr(&tmp), tmp.len) < 0)
			goto out;
		pend_cs = w.charset;
		prev_word = 1;
		i = w.end;
		lit = w.end;
	}
	if (pend_cs.p != NULL &&
	    hdr_charset_to_utf8(pend_cs.p, pend_cs.len, buf_cstr(&pend),
	                        pend.len, out) < 0)
		goto out;
	rc = hdr_utf8_sanitize(s + lit, len - lit, out);
out:
	buf_clear(&pend);
	buf_clear(&tmp);
	return rc;
}

int
hdr_decode_words(const char *val, size_t len, struct buf *out)
{
	struct buf uf;
	int rc;

	if (len > MIME_MAX_FIELD)
		len = MIME_MAX_FIELD;
	if (str_memcasemem(val, len, "=?", 2) == NULL) {
		/* fast path: unfold straight into out, repairing UTF-8 */
		size_t i, run;

		while (len > 0 &&
		       (is_wsp(val[0]) || val[0] == '\r' || val[0] == '\n')) {
			val++;
			len--;
		}
		while (len > 0 &&
		       (is_wsp(val[len - 1]) || val[len - 1] == '\r' ||
		        val[len - 1] == '\n'))
			len--;
		run = 0;
		for (i = 0; i < len; i++) {
			if (val[i] != '\r' && val[i] != '\n')
				continue;
			if (hdr_utf8_sanitize(val + run, i - run, out) < 0)
				return -1;
			run = i + 1;
		}
		return hdr_utf8_sanitize(val + run, len - run, out);
	}
	buf_init(&uf, MIME_MAX_FIELD);
	if (hdr_unfold(val, len, MIME_MAX_FIELD, &uf) < 0) {
		buf_clear(&uf);
		return -1;
	}
	rc = decode_unfolded(buf_cstr(&uf), uf.len, out);
	buf_clear(&uf);
	return rc;
}
