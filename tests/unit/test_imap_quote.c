/*
 * tests/unit/test_imap_quote.c: IMAP string quoting (RFC 3501 4.3) and
 * modified UTF-7 (RFC 3501 5.1.3) of common/imap_quote.c.
 */
#include <string.h>

#include "../../common/buf.h"
#include "../../common/imap_quote.h"
#include "test.h"

static char got[4096];

/* Runs one quoting function, leaves its output in got; returns its rc. */
static int
q(int (*fn)(struct buf *, const char *, size_t), const char *s, size_t len)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = fn(&b, s, len);
	memcpy(got, buf_cstr(&b), b.len + 1);
	buf_clear(&b);
	return rc;
}

static int
u7(int (*fn)(const char *, size_t, struct buf *), const char *s)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	buf_addstr(&b, "x");
	rc = fn(s, strlen(s), &b);
	memcpy(got, buf_cstr(&b) + 1, b.len);
	buf_clear(&b);
	return rc;
}

static void
test_quote_string(void)
{
	T_EQ_INT(q(imap_quote_string, "hello", 5), 0);
	T_EQ_STR(got, "\"hello\"");
	T_EQ_INT(q(imap_quote_string, "", 0), 0);
	T_EQ_STR(got, "\"\"");
	T_EQ_INT(q(imap_quote_string, "a\"b\\c", 5), 0);
	T_EQ_STR(got, "\"a\\\"b\\\\c\"");
	T_EQ_INT(q(imap_quote_string, "a\r\nb", 4), 0);
	T_EQ_STR(got, "{4}\r\na\r\nb");
	T_EQ_INT(q(imap_quote_string, "caf\xc3\xa9", 5), 0);
	T_EQ_STR(got, "{5}\r\ncaf\xc3\xa9");
	/* NUL cannot travel in a literal: written as 0x80 */
	T_EQ_INT(q(imap_quote_string, "a\0b", 3), 0);
	T_EQ_STR(got, "{3}\r\na\x80"
	              "b");
}

static void
test_quote_length_limit(void)
{
	char s[1002];

	memset(s, 'a', sizeof(s));
	/* at the limit: quoted */
	T_EQ_INT(q(imap_quote_string, s, 1000), 0);
	T_EQ_INT(strlen(got), 1002);
	T_EQ_INT(got[0], '"');
	/* one over: literal */
	T_EQ_INT(q(imap_quote_string, s, 1001), 0);
	T_ASSERT(strncmp(got, "{1001}\r\n", 8) == 0);
	T_EQ_INT(strlen(got), 1001 + 8);
}

static void
test_quote_cap(void)
{
	struct buf b;

	buf_init(&b, 6);
	T_EQ_INT(imap_quote_string(&b, "abcd", 4), 0);
	T_EQ_INT(imap_quote_string(&b, "x", 1), -1);
	T_EQ_STR(buf_cstr(&b), "\"abcd\"");
	buf_reset(&b);
	T_EQ_INT(imap_quote_string(&b, "\xff\xff", 2), -1);
	T_EQ_INT(b.len, 0);
	buf_clear(&b);
}

static void
test_nstring_astring(void)
{
	T_EQ_INT(q(imap_quote_nstring, NULL, 0), 0);
	T_EQ_STR(got, "NIL");
	T_EQ_INT(q(imap_quote_nstring, "NIL", 3), 0);
	T_EQ_STR(got, "\"NIL\"");
	T_EQ_INT(q(imap_quote_astring, "INBOX", 5), 0);
	T_EQ_STR(got, "INBOX");
	T_EQ_INT(q(imap_quote_astring, "a]b", 3), 0);
	T_EQ_STR(got, "a]b");
	T_EQ_INT(q(imap_quote_astring, "a b", 3), 0);
	T_EQ_STR(got, "\"a b\"");
	T_EQ_INT(q(imap_quote_astring, "", 0), 0);
	T_EQ_STR(got, "\"\"");
	T_EQ_INT(q(imap_quote_astring, "nil", 3), 0);
	T_EQ_STR(got, "\"nil\"");
	T_EQ_INT(q(imap_quote_astring, "a*", 2), 0);
	T_EQ_STR(got, "\"a*\"");
	T_EQ_INT(q(imap_quote_astring, "{3}", 3), 0);
	T_EQ_STR(got, "\"{3}\"");
}

static void
test_utf7_roundtrip(void)
{
	static const char *const pairs[][2] = {
	        {"INBOX", "INBOX"},
	        {"Entw\xc3\xbc"
	         "rfe",
	         "Entw&APw-rfe"},
	        {"&", "&-"},
	        {"a&b", "a&-b"},
	        {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
	        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	         "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	        {"\xf0\x9f\x98\x80", "&2D3eAA-"},
	        {"tab\there", "tab&AAk-here"},
	        {"", ""},
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		T_EQ_INT(u7(imap_utf8_to_utf7, pairs[i][0]), 0);
		T_EQ_STR(got, pairs[i][1]);
		T_EQ_INT(u7(imap_utf7_to_utf8, pairs[i][1]), 0);
		T_EQ_STR(got, pairs[i][0]);
	}
}

static void
test_utf7_refused(void)
{
	static const char *const bad7[] = {
	        "&AGE-",       /* 'a' encoded: not minimal */
	        "&Jjo",        /* unterminated */
	        "&",           /* unterminated */
	        "caf\xc3\xa9", /* 8-bit byte */
	        "a\x01",       /* control character */
	        "&APx-",       /* non-zero padding bits */
	        "&2D0-",       /* lone high surrogate */
	        "&3gA-",       /* lone low surrogate */
	        "&A*A-",       /* not modified base64 */
	        "&Jjo-&Jjo-",  /* two runs that should be one */
	        "&AP-",        /* bits for no whole unit */
	        "&APwA-",      /* an extra character past the unit */
	};
	static const char *const bad8[] = {
	        "\xc0\xaf",         /* overlong */
	        "\xed\xa0\x80",     /* surrogate */
	        "\xe2\x82",         /* truncated */
	        "\xf4\x90\x80\x80", /* past U+10FFFF */
	        "\xff",
	};
	size_t i;

	for (i = 0; i < sizeof(bad7) / sizeof(bad7[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_addstr(&b, "keep");
		if (imap_utf7_to_utf8(bad7[i], strlen(bad7[i]), &b) != -1) {
			fprintf(stderr, "  accepted: %s\n", bad7[i]);
			T_ASSERT(0);
		}
		/* out is left as it was */
		T_EQ_STR(buf_cstr(&b), "keep");
		buf_clear(&b);
	}
	for (i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++)
		T_EQ_INT(u7(imap_utf8_to_utf7, bad8[i]), -1);
	/* "&-" followed by a run is fine */
	T_EQ_INT(u7(imap_utf7_to_utf8, "&-&APw-"), 0);
	T_EQ_STR(got, "&\xc3\xbc");
}

static void
test_utf7_long_run(void)
{
	/* 300 non-ASCII characters in one run, then back */
	char in[1024], *p = in;
	struct buf a, b;
	int i;

	for (i = 0; i < 300; i++) {
		*p++ = '\xc3';
		*p++ = '\xa9';
	}
	*p++ = 'x';
	*p = '\0';
	buf_init(&a, 0);
	buf_init(&b, 0);
	T_EQ_INT(imap_utf8_to_utf7(in, strlen(in), &a), 0);
	T_EQ_INT(a.data[0], '&');
	T_ASSERT(memchr(a.data, '-', a.len) == a.data + a.len - 2);
	T_EQ_INT(imap_utf7_to_utf8(a.data, a.len, &b), 0);
	T_EQ_STR(buf_cstr(&b), in);
	buf_clear(&a);
	buf_clear(&b);
}

static const struct test_case tests[] = {
        {"quote_string", test_quote_string},
        {"quote_length_limit", test_quote_length_limit},
        {"quote_cap", test_quote_cap},
        {"nstring_astring", test_nstring_astring},
        {"utf7_roundtrip", test_utf7_roundtrip},
        {"utf7_refused", test_utf7_refused},
        {"utf7_long_run", test_utf7_long_run},
        {NULL, NULL},
};

TEST_MAIN(tests)
