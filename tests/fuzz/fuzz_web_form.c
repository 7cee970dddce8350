/*
 * tests/fuzz/fuzz_web_form.c: libFuzzer target for the web admin's form
 * parser (web/web_form.c) and HTML escaping (web/web_html.c). The input is
 * a request body. The parse must keep every cap and invariant of
 * web_form.h (or fail leaving the form empty), lookups must agree with the
 * fields, and every value escaped as text and as an attribute must come
 * out as valid UTF-8 with no raw '<', '>', '"' or '\'' and no C0 control
 * but TAB/LF/CR (none at all in an attribute). Also checks the URL
 * encoding of each value keeps only RFC 3986 unreserved bytes and '%'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../common/log.h"
#include "../../web/web_form.h"
#include "../../web/web_html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when p[0..len) is well-formed UTF-8 (RFC 3629), written without
 * sharing code with web_html.c. */
static int
utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n, k;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
		} else {
			return 0;
		}
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

static int
is_ref(const char *p, size_t len)
{
	static const char *refs[] = {"&amp;", "&lt;", "&gt;",  "&quot;",
	                             "&#39;", "&#9;", "&#10;", "&#13;"};
	size_t i;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		size_t n = strlen(refs[i]);

		if (len >= n && memcmp(p, refs[i], n) == 0)
			return 1;
	}
	return 0;
}

static void
check_html(const struct buf *b, int attr)
{
	size_t i;

	if (b->len > 0 && b->data[b->len] != '\0')
		abort();
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c == '<' || c == '>' || c == '"' || c == '\'')
			abort();
		if (c < 0x20 && (attr || (c != '\t' && c != '\n' && c != '\r')))
			abort();
		/* Every '&' starts one of our references. */
		if (c == '&' && !is_ref(b->data + i, b->len - i))
			abort();
	}
	if (!utf8_valid((const unsigned char *)b->data, b->len))
		abort();
}

static void
check_urlenc(const struct buf *b, size_t in_len)
{
	size_t i;

	if (b->len < in_len || b->len > in_len * 3)
		abort();
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_' || c == '~' || c == '%'))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_form form;
	const char *err = NULL;
	struct buf b;
	size_t i, j;

	log_set_level(LOG_LVL_ERROR);
	if (web_form_parse((const char *)data, size, &form, &err) < 0) {
		if (form.n != 0 || form.f != NULL || err == NULL ||
		    err[0] == '\0')
			abort();
		return 0;
	}
	if (size > WEB_BODY_MAX || form.n > WEB_FORM_MAX_FIELDS ||
	    (form.n > 0) != (form.f != NULL))
		abort();
	buf_init(&b, 0);
	for (i = 0; i < form.n; i++) {
		const struct web_field *f = &form.f[i];
		const struct web_field *first;
		const char *v;
		size_t nlen;

		if (f->name == NULL || f->value == NULL)
			abort();
		nlen = strlen(f->name);
		if (nlen > WEB_FORM_NAME_MAX ||
		    f->value_len > WEB_FORM_VALUE_MAX ||
		    f->value[f->value_len] != '\0' || f->value_len > size)
			abort();
		for (j = 0; j < nlen; j++)
			if ((unsigned char)f->name[j] < 0x20 ||
			    (unsigned char)f->name[j] > 0x7e)
				abort();
		/* First wins; get() agrees with the first field. */
		first = web_form_field(&form, f->name);
		if (first == NULL || first > f ||
		    strcmp(first->name, f->name) != 0)
			abort();
		v = web_form_get(&form, f->name, WEB_FORM_VALUE_MAX);
		if (memchr(first->value, '\0', first->value_len) != NULL
		            ? v != NULL
		            : v != first->value)
			abort();

		buf_reset(&b);
		web_html_esc_len(&b, f->value, f->value_len);
		check_html(&b, 0);
		buf_reset(&b);
		web_html_esc(&b, f->value);
		check_html(&b, 0);
		buf_reset(&b);
		web_html_attr(&b, f->value);
		check_html(&b, 1);
		buf_reset(&b);
		web_html_attr(&b, f->name);
		check_html(&b, 1);
		buf_reset(&b);
		web_html_printf(&b, "<p title=\"x\">%s %zu</p>", f->value,
		                f->value_len);
		if (b.len < 19)
			abort();
		buf_reset(&b);
		web_html_urlenc(&b, f->value);
		check_urlenc(&b, strlen(f->value));
	}
	buf_clear(&b);
	web_form_free(&form);
	if (form.f != NULL || form.n != 0)
		abort();
	return 0;
}
