/*
 * common/imap_quote.c: writing IMAP strings (RFC 3501 section 4.3: quoted
 * strings, literals, atoms) and modified UTF-7 mailbox names (RFC 3501
 * section 5.1.3) in both directions. libc only.
 *
 * A literal may not carry NUL (RFC 3501 CHAR8 is %x01-ff), so a NUL byte in
 * a string that must go out as a literal is written as 0x80, as Dovecot's
 * imap_append_string_for_humans() does.
 */
#include "imap_quote.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "str.h"

/* Longest string written as a quoted string; longer ones become literals. */
#define QUOTED_MAX 1000

static int needs_literal(const unsigned char *s, size_t len);
static int is_atom_char(unsigned char c);
static int utf8_next(const unsigned char *s, size_t len, size_t *i,
                     uint32_t *cp_r);
static int b64_value(unsigned char c);
static int put_utf8(struct buf *out, uint32_t cp);
static int utf7_put_unit(struct buf *out, uint32_t unit, uint32_t *bits,
                         int *nbits);
static int utf7_end_run(struct buf *out, uint32_t bits, int nbits);

static const char b64_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
needs_literal(const unsigned char *s, size_t len)
{
	size_t i;

	if (len > QUOTED_MAX)
		return 1;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n' ||
		    s[i] >= 0x80)
			return 1;
	}
	return 0;
}

int
imap_quote_string(struct buf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, start, extra = 0;

	if (needs_literal(u, len)) {
		size_t old = out->len;

		if (buf_printf(out, "{%zu}\r\n", len) < 0)
			return -1;
		if (buf_reserve(out, len) < 0) {
			out->len = old;
			out->data[old] = '\0';
			return -1;
		}
		for (i = 0; i < len; i++)
			out->data[out->len + i] =
			        u[i] ? (char)u[i] : (char)0x80;
		out->len += len;
		out->data[out->len] = '\0';
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (u[i] == '"' || u[i] == '\\')
			extra++;
	}
	if (buf_reserve(out, len + extra + 2) < 0)
		return -1;
	buf_addc(out, '"');
	start = 0;
	for (i = 0; i < len; i++) {
		if (u[i] == '"' || u[i] == '\\') {
			buf_add(out, s + start, i - start);
			buf_addc(out, '\\');
			start = i;
		}
	}
	buf_add(out, s + start, len - start);
	buf_addc(out, '"');
	return 0;
}

int
imap_quote_nstring(struct buf *out, const char *s, size_t len)
{
	if (s == NULL)
		return buf_add(out, "NIL", 3);
	return imap_quote_string(out, s, len);
}

/* ASTRING-CHAR of RFC 3501: ATOM-CHAR or "]". */
static int
is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	switch (c) {
	case '(':
	case ')':
	case '{':
	case '%':
	case '*':
	case '"':
	case '\\':
		return 0;
	default:
		return 1;
	}
}

int
imap_quote_astring(struct buf *out, const char *s, size_t len)
{
	size_t i;

	/* "NIL" as an atom would read as nil in an nstring position. */
	if (len == 0 || (len == 3 && (s[0] | 0x20) == 'n' &&
	                 (s[1] | 0x20) == 'i' && (s[2] | 0x20) == 'l'))
		return imap_quote_string(out, s, len);
	for (i = 0; i < len; i++) {
		if (!is_atom_char((unsigned char)s[i]))
			return imap_quote_string(out, s, len);
	}
	return buf_add(out, s, len);
}

/*
 * Reads one UTF-8 sequence at s[*i]; rejects overlong forms, surrogates and
 * values past U+10FFFF. 0 and advances, or -1.
 */
static int
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp_r)
{
	size_t p = *i, n, k;
	uint32_t cp, min;
	unsigned char c = s[p];

	if (c < 0x80) {
		*cp_r = c;
		*i = p + 1;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (len - p - 1 < n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[p + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[p + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	*i = p + n + 1;
	return 0;
}

/* Modified base64 (RFC 3501 5.1.3): ',' stands where base64 has '/'. */
static int
b64_value(unsigned char c)
{
	if (c == '/')
		return -1;
	return str_base64_value(c == ',' ? '/' : c);
}

static int
put_utf8(struct buf *out, uint32_t cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(out, t, n);
}

int
imap_utf7_to_utf8(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, old = out->len;

	while (i < len) {
		uint32_t bits = 0, hi = 0;
		int nbits = 0;
		size_t start;

		if (u[i] < 0x20 || u[i] >= 0x7f)
			goto fail;
		if (u[i] != '&') {
			if (buf_addc(out, (char)u[i]) < 0)
				goto fail;
			i++;
			continue;
		}
		i++;
		if (i < len && u[i] == '-') {
			if (buf_addc(out, '&') < 0)
				goto fail;
			i++;
			continue;
		}
		start = i;
		for (; i < len && u[i] != '-'; i++) {
			int v = b64_value(u[i]);
			uint32_t c;

			if (v < 0)
				goto fail;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			c = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			if (hi) {
				if (c < 0xdc00 || c > 0xdfff)
					goto fail;
				c = 0x10000 + ((hi - 0xd800) << 10) +
				    (c - 0xdc00);
				hi = 0;
			} else if (c >= 0xd800 && c <= 0xdbff) {
				hi = c;
				continue;
			} else if (c >= 0xdc00 && c <= 0xdfff) {
				goto fail;
			} else if (c >= 0x20 && c <= 0x7e) {
				/* printable ASCII must represent itself */
				goto fail;
			}
			if (put_utf8(out, c) < 0)
				goto fail;
		}
		/* unterminated, empty, dangling surrogate or non-zero padding
		 */
		if (i >= len || i == start || hi || nbits >= 6 || bits != 0)
			goto fail;
		i++;
		/* "&...-&...-" should have been one run: not minimal */
		if (i < len && u[i] == '&' && i + 1 < len && u[i + 1] != '-')
			goto fail;
	}
	return 0;
fail:
	out->len = old;
	if (out->data)
		out->data[old] = '\0';
	return -1;
}

/* Feeds one UTF-16 unit into the base64 run being written. */
static int
utf7_put_unit(struct buf *out, uint32_t unit, uint32_t *bits, int *nbits)
{
	*bits = (*bits << 16) | unit;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (buf_addc(out, b64_chars[(*bits >> *nbits) & 0x3f]) < 0)
			return -1;
	}
	*bits &= (1u << *nbits) - 1;
	return 0;
}

/* Pads and closes a base64 run with "-". */
static int
utf7_end_run(struct buf *out, uint32_t bits, int nbits)
{
	if (nbits > 0 &&
	    buf_addc(out, b64_chars[(bits << (6 - nbits)) & 0x3f]) < 0)
		return -1;
	return buf_addc(out, '-');
}

int
imap_utf8_to_utf7(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, old = out->len;
	uint32_t bits = 0;
	int nbits = 0, in_run = 0;

	while (i < len) {
		uint32_t cp;

		if (utf8_next(u, len, &i, &cp) < 0)
			goto fail;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (in_run && utf7_end_run(out, bits, nbits) < 0)
				goto fail;
			in_run = 0;
			bits = 0;
			nbits = 0;
			if (cp == '&' ? buf_add(out, "&-", 2) < 0
			              : buf_addc(out, (char)cp) < 0)
				goto fail;
			continue;
		}
		if (!in_run && buf_addc(out, '&') < 0)
			goto fail;
		in_run = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (utf7_put_unit(out, 0xd800 + (cp >> 10), &bits,
			                  &nbits) < 0 ||
			    utf7_put_unit(out, 0xdc00 + (cp & 0x3ff), &bits,
			                  &nbits) < 0)
				goto fail;
		} else if (utf7_put_unit(out, cp, &bits, &nbits) < 0) {
			goto fail;
		}
	}
	if (in_run && utf7_end_run(out, bits, nbits) < 0)
		goto fail;
	return 0;
fail:
	out->len = old;
	if (out->data)
		out->data[old] = '\0';
	return -1;
}
