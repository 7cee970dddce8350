/*
 * web/web_html.c: safe HTML output into a struct buf (see web_html.h).
 * Owns the escaping rules of the web admin: the five HTML special
 * characters become character references (HTML Living Standard 13.1.4),
 * ill-formed UTF-8 (RFC 3629: stray continuation bytes, overlong forms,
 * surrogates, code points past U+10FFFF, truncated sequences) becomes
 * U+FFFD, one per maximal subpart as the WHATWG Encoding Standard decodes,
 * and C0 controls other than TAB/LF/CR are dropped. Also the restricted
 * printf whose %s escapes, and RFC 3986 percent-encoding.
 *
 * Each public function is all or nothing: when the buf's cap is reached,
 * the buf is put back to what it held before the call.
 */
#include "web_html.h"

#include <stdarg.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/log.h"

#define HTML_REPLACEMENT "\xef\xbf\xbd"

static size_t html_utf8_seq(const unsigned char *p, size_t len, size_t *bad_r);
static int html_put(struct buf *b, const char *s, size_t len, int attr);
static void html_rollback(struct buf *b, size_t start);
static int html_vprintf(struct buf *b, const char *fmt, va_list ap);

/*
 * Length of the well-formed UTF-8 sequence starting at p[0] (p[0] >= 0x80),
 * or 0 with *bad_r set to the length of its maximal ill-formed subpart
 * (at least 1) to be replaced by one U+FFFD. Reads only p[0..len).
 */
static size_t
html_utf8_seq(const unsigned char *p, size_t len, size_t *bad_r)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		/* Continuation byte, C0/C1 overlong lead, or F5..FF. */
		*bad_r = 1;
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= len || p[i] < lo || p[i] > hi) {
			*bad_r = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

static void
html_rollback(struct buf *b, size_t start)
{
	b->len = start;
	if (b->data != NULL)
		b->data[start] = '\0';
}

/* Escapes s[0..len) into b; -1 when the cap is reached (b partly
 * written: the caller rolls back). */
static int
html_put(struct buf *b, const char *s, size_t len, int attr)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		unsigned char c = p[i];
		const char *rep = NULL;
		size_t skip = 1, n;

		if (c >= 0x80) {
			n = html_utf8_seq(p + i, len - i, &skip);
			if (n > 0) {
				i += n;
				continue;
			}
			rep = HTML_REPLACEMENT;
		} else if (c == '&') {
			rep = "&amp;";
		} else if (c == '<') {
			rep = "&lt;";
		} else if (c == '>') {
			rep = "&gt;";
		} else if (c == '"') {
			rep = "&quot;";
		} else if (c == '\'') {
			rep = "&#39;";
		} else if (c == '\t' || c == '\n' || c == '\r') {
			/* Kept in text; in an attribute, a reference keeps
			 * them from being normalised to spaces. */
			if (!attr) {
				i++;
				continue;
			}
			if (c == '\t')
				rep = "&#9;";
			else if (c == '\n')
				rep = "&#10;";
			else
				rep = "&#13;";
		} else if (c < 0x20) {
			rep = "";
		} else {
			i++;
			continue;
		}
		/* Flush the safe bytes before i, then the replacement. */
		if (buf_add(b, s + run, i - run) < 0 || buf_addstr(b, rep) < 0)
			return -1;
		i += skip;
		run = i;
	}
	return buf_add(b, s + run, len - run);
}

void
web_html_esc_len(struct buf *b, const char *s, size_t len)
{
	size_t start = b->len;

	if (html_put(b, s, len, 0) < 0)
		html_rollback(b, start);
}

void
web_html_esc(struct buf *b, const char *s)
{
	web_html_esc_len(b, s, strlen(s));
}

void
web_html_attr(struct buf *b, const char *s)
{
	size_t start = b->len;

	if (html_put(b, s, strlen(s), 1) < 0)
		html_rollback(b, start);
}

/*
 * The format is ours and trusted; only the conversions the header lists
 * are known here, so an argument of another type can never be read as
 * the wrong one silently: anything else is a programming error.
 */
static int
html_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	const char *p = fmt;

	while (*p != '\0') {
		const char *pct = strchr(p, '%');
		int rc;

		if (pct == NULL)
			return buf_addstr(b, p);
		if (pct > p && buf_add(b, p, (size_t)(pct - p)) < 0)
			return -1;
		p = pct + 1;
		if (p[0] == '%') {
			rc = buf_addc(b, '%');
			p += 1;
		} else if (p[0] == 's') {
			const char *s = va_arg(ap, const char *);

			rc = html_put(b, s ? s : "", s ? strlen(s) : 0, 0);
			p += 1;
		} else if (p[0] == 'd') {
			rc = buf_printf(b, "%d", va_arg(ap, int));
			p += 1;
		} else if (p[0] == 'u') {
			rc = buf_printf(b, "%u", va_arg(ap, unsigned int));
			p += 1;
		} else if (p[0] == 'l' && p[1] == 'd') {
			rc = buf_printf(b, "%ld", va_arg(ap, long));
			p += 2;
		} else if (p[0] == 'l' && p[1] == 'u') {
			rc = buf_printf(b, "%lu", va_arg(ap, unsigned long));
			p += 2;
		} else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'd') {
			rc = buf_printf(b, "%lld", va_arg(ap, long long));
			p += 3;
		} else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'u') {
			rc = buf_printf(b, "%llu",
			                va_arg(ap, unsigned long long));
			p += 3;
		} else if (p[0] == 'z' && p[1] == 'u') {
			rc = buf_printf(b, "%zu", va_arg(ap, size_t));
			p += 2;
		} else {
			fatalx("web_html_printf: unsupported conversion at "
			       "offset %zu of \"%s\"",
			       (size_t)(pct - fmt), fmt);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

void
web_html_printf(struct buf *b, const char *fmt, ...)
{
	size_t start = b->len;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = html_vprintf(b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		html_rollback(b, start);
}

void
web_html_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t start = b->len;

	for (; *p != '\0'; p++) {
		unsigned char c = *p;
		char enc[3];
		int rc;

		/* RFC 3986 section 2.3 unreserved characters. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = buf_addc(b, (char)c);
		} else {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			rc = buf_add(b, enc, sizeof(enc));
		}
		if (rc < 0) {
			html_rollback(b, start);
			return;
		}
	}
}
