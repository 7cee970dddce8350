/*
 * web/web_form.c: the application/x-www-form-urlencoded parser of the web
 * admin (WHATWG URL Standard, "application/x-www-form-urlencoded parsing";
 * HTML 4.01 section 17.13.4). Owns struct web_form: its field array and
 * the decoded name and value strings. Every cap comes from common/limits.h
 * and is checked before anything is allocated for it; the input is never
 * read outside in[0..len). Values may be passwords, so they are wiped
 * before they are freed.
 */
#include "web_form.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/str.h"
#include "../common/xalloc.h"

static size_t form_decode(const char *in, size_t len, char *out);
static size_t form_count_pairs(const char *in, size_t len);
static int form_name_is_printable(const char *name, size_t len);
static void form_fields_free(struct web_field *f, size_t n);

/*
 * Percent- and plus-decodes in[0..len) into out (when not NULL) and
 * returns the decoded length, which is never more than len. A '%' not
 * followed by two hex digits is kept literally, as browsers do.
 */
static size_t
form_decode(const char *in, size_t len, char *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		int hi, lo;

		if (c == '+') {
			c = ' ';
			i++;
		} else if (c == '%' && len - i >= 3 &&
		           (hi = str_hex_value((unsigned char)in[i + 1])) >=
		                   0 &&
		           (lo = str_hex_value((unsigned char)in[i + 2])) >=
		                   0) {
			c = (unsigned char)(hi * 16 + lo);
			i += 3;
		} else {
			i++;
		}
		if (out != NULL)
			out[n] = (char)c;
		n++;
	}
	return n;
}

/* The number of non-empty '&'-separated pairs in in[0..len). */
static size_t
form_count_pairs(const char *in, size_t len)
{
	size_t i, n = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || in[i] == '&') {
			if (i > start)
				n++;
			start = i + 1;
		}
	}
	return n;
}

static int
form_name_is_printable(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

static void
form_fields_free(struct web_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].value != NULL) {
			OPENSSL_cleanse(f[i].value, f[i].value_len);
			free(f[i].value);
		}
		free(f[i].name);
	}
	free(f);
}

int
web_form_parse(const char *in, size_t len, struct web_form *form,
               const char **error_r)
{
	struct web_field *f = NULL;
	size_t npairs, n = 0, pos = 0;

	form->f = NULL;
	form->n = 0;
	if (len > WEB_BODY_MAX) {
		*error_r = "The form is too large.";
		return -1;
	}
	if (len == 0 || in == NULL)
		return 0;
	npairs = form_count_pairs(in, len);
	if (npairs > WEB_FORM_MAX_FIELDS) {
		*error_r = "The form has too many fields.";
		return -1;
	}
	if (npairs == 0)
		return 0;
	f = xcalloc(npairs, sizeof(*f));
	while (pos < len) {
		const char *pair = in + pos, *amp, *eq;
		size_t plen, nraw, vraw, nlen, vlen;

		amp = memchr(pair, '&', len - pos);
		plen = amp ? (size_t)(amp - pair) : len - pos;
		pos += plen + (amp ? 1 : 0);
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		nraw = eq ? (size_t)(eq - pair) : plen;
		vraw = eq ? plen - nraw - 1 : 0;
		nlen = form_decode(pair, nraw, NULL);
		if (nlen > WEB_FORM_NAME_MAX) {
			*error_r = "A form field name is too long.";
			goto fail;
		}
		vlen = form_decode(eq ? eq + 1 : pair, vraw, NULL);
		if (vlen > WEB_FORM_VALUE_MAX) {
			*error_r = "A form field value is too long.";
			goto fail;
		}
		ASSERT(n < npairs);
		f[n].name = xmalloc(nlen + 1);
		form_decode(pair, nraw, f[n].name);
		f[n].name[nlen] = '\0';
		n++;
		if (!form_name_is_printable(f[n - 1].name, nlen)) {
			*error_r = "A form field name is not printable ASCII.";
			goto fail;
		}
		f[n - 1].value = xmalloc(vlen + 1);
		form_decode(eq ? eq + 1 : pair, vraw, f[n - 1].value);
		f[n - 1].value[vlen] = '\0';
		f[n - 1].value_len = vlen;
	}
	form->f = f;
	form->n = n;
	return 0;
fail:
	form_fields_free(f, n);
	return -1;
}

const struct web_field *
web_form_field(const struct web_form *form, const char *name)
{
	size_t i;

	for (i = 0; i < form->n; i++)
		if (strcmp(form->f[i].name, name) == 0)
			return &form->f[i];
	return NULL;
}

const char *
web_form_get(const struct web_form *form, const char *name, size_t max)
{
	const struct web_field *fl = web_form_field(form, name);

	if (fl == NULL || fl->value_len > max ||
	    memchr(fl->value, '\0', fl->value_len) != NULL)
		return NULL;
	return fl->value;
}

void
web_form_free(struct web_form *form)
{
	if (form->f != NULL)
		form_fields_free(form->f, form->n);
	form->f = NULL;
	form->n = 0;
}
