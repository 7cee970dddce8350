/*
 * web/web_form.h: request bodies and query strings of the web admin in
 * application/x-www-form-urlencoded form (WHATWG URL "urlencoded parser",
 * HTML 4.01 section 17.13.4): "a=1&b=x%20y+z". Bounded: at most
 * WEB_FORM_MAX_FIELDS fields, names up to WEB_FORM_NAME_MAX bytes, values
 * up to WEB_FORM_VALUE_MAX bytes, the whole input up to WEB_BODY_MAX
 * (common/limits.h). Values are decoded bytes (may hold NUL: value_len
 * says how many); a name must decode to printable ASCII.
 */
#ifndef PB_WEB_FORM_H
#define PB_WEB_FORM_H

#include <stddef.h>

struct web_field {
	char *name;  /* NUL-terminated, printable ASCII */
	char *value; /* decoded, NUL-terminated; value_len excludes the NUL */
	size_t value_len;
};

struct web_form {
	struct web_field *f;
	size_t n;
};

/*
 * Parses in[0..len-1] into *form (zeroed first). Empty pairs ("&&") are
 * skipped; a pair without '=' is a field with an empty value; '+' is a
 * space; a bad %-escape ("%zz", "%4") is taken literally (as browsers
 * do). Returns 0, or -1 with *error_r a static sentence when a limit is
 * exceeded or a name is not printable ASCII (the form is then empty).
 */
int web_form_parse(const char *in, size_t len, struct web_form *form,
		   const char **error_r);
/* The first field named name, or NULL. */
const struct web_field *web_form_field(const struct web_form *form,
				       const char *name);
/* Its value when present, has no NUL byte and is at most max bytes;
 * else NULL. */
const char *web_form_get(const struct web_form *form, const char *name,
			 size_t max);
/* Frees the fields (values are wiped first: they may be passwords). */
void web_form_free(struct web_form *form);

#endif
