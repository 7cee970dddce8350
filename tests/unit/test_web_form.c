/*
 * tests/unit/test_web_form.c: the urlencoded form parser (web/web_form.c).
 * Each cap (field count, name length, value length, whole input) gets its
 * five cases: at it, one over, huge, garbage and empty. Then decoding
 * ('+', %-escapes, %00, bad escapes taken literally), duplicates, and the
 * lookups.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../web/web_form.h"
#include "test.h"

/* Parses a C string; returns the rc and checks that a failure leaves the
 * form empty with an error sentence. */
static int
parse(const char *in, size_t len, struct web_form *form)
{
	const char *err = NULL;
	int rc;

	form->f = (struct web_field *)(uintptr_t)1; /* must be zeroed */
	form->n = 12345;
	rc = web_form_parse(in, len, form, &err);
	if (rc < 0 &&
	    (form->f != NULL || form->n != 0 || err == NULL || err[0] == '\0'))
		return -2;
	return rc;
}

static int
parse_str(const char *in, struct web_form *form)
{
	return parse(in, strlen(in), form);
}

/* n fields "fN=v" joined by '&'. */
static void
make_fields(struct buf *b, size_t n)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < n; i++)
		buf_printf(b, "%sf%zu=v", i ? "&" : "", i);
}

/* A field "name=..." whose name is n copies of c, then "=1". */
static void
make_name(struct buf *b, const char *unit, size_t n)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < n; i++)
		buf_addstr(b, unit);
	buf_addstr(b, "=1");
}

static void
make_value(struct buf *b, const char *unit, size_t n)
{
	size_t i;

	buf_reset(b);
	buf_addstr(b, "v=");
	for (i = 0; i < n; i++)
		buf_addstr(b, unit);
}

static void
test_field_count(void)
{
	struct web_form f;
	struct buf b;

	buf_init(&b, 0);
	/* At the cap. */
	make_fields(&b, WEB_FORM_MAX_FIELDS);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.n, WEB_FORM_MAX_FIELDS);
	T_EQ_STR(f.f[WEB_FORM_MAX_FIELDS - 1].name, "f63");
	web_form_free(&f);
	T_ASSERT(f.f == NULL && f.n == 0);
	web_form_free(&f); /* twice is harmless */
	/* One over. */
	make_fields(&b, WEB_FORM_MAX_FIELDS + 1);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Huge: as many one-byte fields as the body cap allows. */
	buf_reset(&b);
	while (b.len + 2 <= WEB_BODY_MAX)
		buf_addstr(&b, "a&");
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Garbage: only separators and empty pairs, which do not count. */
	buf_reset(&b);
	while (b.len < WEB_BODY_MAX)
		buf_addc(&b, '&');
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.n, 0);
	web_form_free(&f);
	make_fields(&b, WEB_FORM_MAX_FIELDS);
	buf_addstr(&b, "&&&&&&&&&&&&");
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.n, WEB_FORM_MAX_FIELDS);
	web_form_free(&f);
	/* Empty. */
	T_EQ_INT(parse_str("", &f), 0);
	T_ASSERT(f.n == 0 && f.f == NULL);
	T_EQ_INT(parse(NULL, 0, &f), 0);
	T_ASSERT(f.n == 0 && f.f == NULL);
	T_ASSERT(web_form_get(&f, "a", 100) == NULL);
	web_form_free(&f);
	buf_clear(&b);
}

static void
test_name_len(void)
{
	struct web_form f;
	struct buf b;

	buf_init(&b, 0);
	/* At the cap, raw and %-encoded (the decoded length counts). */
	make_name(&b, "n", WEB_FORM_NAME_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(strlen(f.f[0].name), WEB_FORM_NAME_MAX);
	web_form_free(&f);
	make_name(&b, "%41", WEB_FORM_NAME_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(strlen(f.f[0].name), WEB_FORM_NAME_MAX);
	T_EQ_INT(f.f[0].name[0], 'A');
	web_form_free(&f);
	/* One over. */
	make_name(&b, "n", WEB_FORM_NAME_MAX + 1);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	make_name(&b, "%41", WEB_FORM_NAME_MAX + 1);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Huge. */
	make_name(&b, "n", WEB_BODY_MAX - 2);
	T_EQ_INT(b.len, WEB_BODY_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Garbage: controls, non-ASCII, DEL, after decoding too. */
	T_EQ_INT(parse_str("a%0Ab=1", &f), -1);
	T_EQ_INT(parse_str("a%00b=1", &f), -1);
	T_EQ_INT(parse_str("\x01=1", &f), -1);
	T_EQ_INT(parse_str("\x7f=1", &f), -1);
	T_EQ_INT(parse_str("ok=1&caf%C3%A9=1", &f), -1);
	T_EQ_INT(parse_str("ok=1&caf\xc3\xa9", &f), -1);
	/* Printable punctuation and a '+' space are fine. */
	T_EQ_INT(parse_str("a%5Bb%5D+c!~=1", &f), 0);
	T_EQ_STR(f.f[0].name, "a[b] c!~");
	web_form_free(&f);
	/* Empty name. */
	T_EQ_INT(parse_str("=v", &f), 0);
	T_EQ_INT(f.n, 1);
	T_EQ_STR(f.f[0].name, "");
	T_EQ_STR(f.f[0].value, "v");
	web_form_free(&f);
	buf_clear(&b);
}

static void
test_value_len(void)
{
	struct web_form f;
	struct buf b;

	buf_init(&b, 0);
	/* At the cap. */
	make_value(&b, "x", WEB_FORM_VALUE_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.f[0].value_len, WEB_FORM_VALUE_MAX);
	T_EQ_INT(f.f[0].value[WEB_FORM_VALUE_MAX], 0);
	T_ASSERT(web_form_get(&f, "v", WEB_FORM_VALUE_MAX) == f.f[0].value);
	T_ASSERT(web_form_get(&f, "v", WEB_FORM_VALUE_MAX - 1) == NULL);
	web_form_free(&f);
	make_value(&b, "%7e", WEB_FORM_VALUE_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.f[0].value_len, WEB_FORM_VALUE_MAX);
	T_EQ_INT(f.f[0].value[0], '~');
	web_form_free(&f);
	/* One over. */
	make_value(&b, "x", WEB_FORM_VALUE_MAX + 1);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	make_value(&b, "+", WEB_FORM_VALUE_MAX + 1);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Huge. */
	make_value(&b, "x", WEB_BODY_MAX - 2);
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Garbage: any byte is a fine value; get() refuses NUL only. */
	make_value(&b, "\xff\x01\x7f\x80", 8);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.f[0].value_len, 32);
	T_ASSERT(memcmp(f.f[0].value, "\xff\x01\x7f\x80", 4) == 0);
	T_ASSERT(web_form_get(&f, "v", 100) != NULL);
	web_form_free(&f);
	/* Empty. */
	T_EQ_INT(parse_str("a=&b", &f), 0);
	T_EQ_INT(f.n, 2);
	T_EQ_STR(web_form_get(&f, "a", 0), "");
	T_EQ_STR(web_form_get(&f, "b", 0), "");
	T_EQ_INT(f.f[1].value_len, 0);
	web_form_free(&f);
	buf_clear(&b);
}

static void
test_input_len(void)
{
	static const char small[] = "a=1";
	struct web_form f;
	struct buf b;
	char *heap;
	size_t i;
	int k;

	buf_init(&b, 0);
	/* At the cap: one field plus padding. */
	buf_addstr(&b, "a=1");
	while (b.len < WEB_BODY_MAX)
		buf_addc(&b, '&');
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.n, 1);
	web_form_free(&f);
	/* At the cap with real values. */
	buf_reset(&b);
	for (k = 0; k < 3; k++) {
		buf_printf(&b, "%c=", 'a' + k);
		for (i = 0; i < WEB_FORM_VALUE_MAX; i++)
			buf_addc(&b, 'y');
		buf_addc(&b, '&');
	}
	buf_addstr(&b, "w=");
	while (b.len < WEB_BODY_MAX)
		buf_addc(&b, 'z');
	T_EQ_INT(b.len, WEB_BODY_MAX);
	T_EQ_INT(parse(b.data, b.len, &f), 0);
	T_EQ_INT(f.n, 4);
	T_EQ_INT(f.f[2].value_len, WEB_FORM_VALUE_MAX);
	T_EQ_INT(f.f[3].value_len,
	         WEB_BODY_MAX - 3 * (WEB_FORM_VALUE_MAX + 3) - 2);
	web_form_free(&f);
	/* One over. */
	buf_addc(&b, 'z');
	T_EQ_INT(parse(b.data, b.len, &f), -1);
	/* Huge: the length is refused before a byte is read. */
	T_EQ_INT(parse(small, SIZE_MAX, &f), -1);
	T_EQ_INT(parse(small, (size_t)WEB_BODY_MAX * 16, &f), -1);
	/* Garbage: never reads past len (heap copy, no terminator). */
	heap = malloc(5);
	T_ASSERT(heap != NULL);
	memcpy(heap, "a=%4", 4);
	T_EQ_INT(parse(heap, 4, &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 10), "%4");
	web_form_free(&f);
	memcpy(heap, "a=b%", 4);
	T_EQ_INT(parse(heap, 4, &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 10), "b%");
	web_form_free(&f);
	memcpy(heap, "abcd", 4);
	T_EQ_INT(parse(heap, 4, &f), 0);
	T_EQ_STR(f.f[0].name, "abcd");
	web_form_free(&f);
	free(heap);
	/* Only part of the input counts. */
	T_EQ_INT(parse("a=1&b=2", 3, &f), 0);
	T_EQ_INT(f.n, 1);
	T_EQ_STR(web_form_get(&f, "a", 10), "1");
	web_form_free(&f);
	/* Empty. */
	T_EQ_INT(parse("x", 0, &f), 0);
	T_EQ_INT(f.n, 0);
	buf_clear(&b);
}

static void
test_decode(void)
{
	struct web_form f;

	T_EQ_INT(parse_str("a=x%20y+z&b=%2B%2b%26%3D&c=caf%C3%a9", &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 100), "x y z");
	T_EQ_STR(web_form_get(&f, "b", 100), "++&=");
	T_EQ_STR(web_form_get(&f, "c", 100), "caf\xc3\xa9");
	web_form_free(&f);
	/* Bad escapes are literal. */
	T_EQ_INT(parse_str("a=%zz&b=%4&c=%&d=%4g%41&e=%%41", &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 100), "%zz");
	T_EQ_STR(web_form_get(&f, "b", 100), "%4");
	T_EQ_STR(web_form_get(&f, "c", 100), "%");
	T_EQ_STR(web_form_get(&f, "d", 100), "%4gA");
	T_EQ_STR(web_form_get(&f, "e", 100), "%A");
	web_form_free(&f);
	/* No double decoding; '=' inside a value; no '='. */
	T_EQ_INT(parse_str("a=%2541&b==x=&flag&%3D=eq", &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 100), "%41");
	T_EQ_STR(web_form_get(&f, "b", 100), "=x=");
	T_ASSERT(web_form_field(&f, "flag") != NULL);
	T_EQ_STR(web_form_get(&f, "flag", 100), "");
	T_EQ_STR(web_form_get(&f, "=", 100), "eq");
	T_ASSERT(web_form_field(&f, "missing") == NULL);
	web_form_free(&f);
}

static void
test_nul(void)
{
	const struct web_field *fl;
	struct web_form f;

	T_EQ_INT(parse_str("pw=ab%00cd&z=%00&ok=1", &f), 0);
	fl = web_form_field(&f, "pw");
	T_ASSERT(fl != NULL);
	T_EQ_INT(fl->value_len, 5);
	T_ASSERT(memcmp(fl->value, "ab\0cd", 6) == 0);
	T_ASSERT(web_form_get(&f, "pw", 100) == NULL);
	T_EQ_INT(web_form_field(&f, "z")->value_len, 1);
	T_ASSERT(web_form_get(&f, "z", 100) == NULL);
	T_EQ_STR(web_form_get(&f, "ok", 100), "1");
	web_form_free(&f);
}

static void
test_duplicates(void)
{
	struct web_form f;

	T_EQ_INT(parse_str("a=1&b=2&a=3&a", &f), 0);
	T_EQ_INT(f.n, 4);
	T_EQ_STR(web_form_get(&f, "a", 100), "1");
	T_ASSERT(web_form_field(&f, "a") == &f.f[0]);
	web_form_free(&f);
	/* First wins even when the first is refused by get(). */
	T_EQ_INT(parse_str("a=%00&a=2", &f), 0);
	T_ASSERT(web_form_get(&f, "a", 100) == NULL);
	web_form_free(&f);
	/* Names are case-sensitive. */
	T_EQ_INT(parse_str("A=1&a=2", &f), 0);
	T_EQ_STR(web_form_get(&f, "a", 100), "2");
	web_form_free(&f);
}

static void
test_real_forms(void)
{
	struct web_form f;

	T_EQ_INT(parse_str("csrf=0123abcd&user=alice%40example.org&password="
	                   "p%26ss+w%3Drd%21",
	                   &f),
	         0);
	T_EQ_STR(web_form_get(&f, "user", 256), "alice@example.org");
	T_EQ_STR(web_form_get(&f, "password", 1024), "p&ss w=rd!");
	T_ASSERT(web_form_get(&f, "password", 9) == NULL);
	web_form_free(&f);
	/* A failure after some fields were built frees them (ASan). */
	T_EQ_INT(parse_str("a=1&b=2&c%01=3&d=4", &f), -1);
}

static const struct test_case tests[] = {
        {"field_count", test_field_count},
        {"name_len", test_name_len},
        {"value_len", test_value_len},
        {"input_len", test_input_len},
        {"decode", test_decode},
        {"nul", test_nul},
        {"duplicates", test_duplicates},
        {"real_forms", test_real_forms},
        {NULL, NULL},
};

TEST_MAIN(tests)
