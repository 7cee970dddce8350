/*
 * tests/unit/test_hdr_parse.c: RFC 5322 header blocks and fields, folding,
 * bare LF, HEADER.FIELDS filtering and RFC 2047 encoded words
 * (db/hdr_parse.c, db/hdr_charset.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../db/hdr_charset.h"
#include "../../db/hdr_parse.h"
#include "test.h"

static char got[8192];

static const char *
dec(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (hdr_decode_words(s, strlen(s), &b) < 0)
		return "(error)";
	memcpy(got, buf_cstr(&b), b.len + 1);
	buf_clear(&b);
	return got;
}

static const char *
filter(const char *hdr, const char *const *names, size_t n, int not_)
{
	struct buf b;

	buf_init(&b, 0);
	if (hdr_filter_fields(hdr, strlen(hdr), names, n, not_, &b) < 0)
		return "(error)";
	memcpy(got, buf_cstr(&b), b.len + 1);
	buf_clear(&b);
	return got;
}

static void
test_block_len(void)
{
	const char *m1 = "A: b\r\nC: d\r\n\r\nbody";
	const char *m2 = "A: b\nC: d\n\nbody";
	const char *m3 = "A: b\r\nC: d";
	const char *m4 = "\r\nbody";

	T_EQ_INT(hdr_block_len(m1, strlen(m1)), 14);
	T_EQ_INT(hdr_block_len(m2, strlen(m2)), 11);
	T_EQ_INT(hdr_block_len(m3, strlen(m3)), strlen(m3));
	T_EQ_INT(hdr_block_len(m4, strlen(m4)), 2);
	T_EQ_INT(hdr_block_len("\nx", 2), 1);
	T_EQ_INT(hdr_block_len("", 0), 0);
	/* a lone CR is not an empty line */
	T_EQ_INT(hdr_block_len("A: b\r\n\r", 7), 7);
	/* mixed line ends */
	T_EQ_INT(hdr_block_len("A: b\nC: d\r\n\nx", 13), 12);
}

static void
test_iter(void)
{
	const char *h = "Subject : hello\r\n"
	                "\tworld\r\n"
	                "garbage line\n"
	                "X-8bit: caf\xc3\xa9\n"
	                " more\n"
	                "X-Nul: a\0b\r\n"
	                "\r\n"
	                "Body: no\r\n";
	size_t len = 17 + 8 + 13 + 15 + 6 + 12 + 2 + 10;
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, h, len);
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_ASSERT(str_eq_cstr(f.name, "Subject"));
	T_ASSERT(str_eq_cstr(f.value, " hello\r\n\tworld"));
	T_EQ_INT(f.off, 0);
	T_EQ_INT(f.len, 25);
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_EQ_INT(f.name.len, 0);
	T_ASSERT(str_eq_cstr(f.value, "garbage line"));
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_ASSERT(str_eq_cstr(f.name, "X-8bit"));
	T_ASSERT(str_eq_cstr(f.value, " caf\xc3\xa9\n more"));
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_ASSERT(str_eq_cstr(f.name, "X-Nul"));
	T_EQ_INT(f.value.len, 4);
	T_ASSERT(memcmp(f.value.p, " a\0b", 4) == 0);
	T_EQ_INT(hdr_iter_next(&it, &f), 0);
	T_EQ_INT(hdr_iter_next(&it, &f), 0);
}

static void
test_iter_no_final_newline(void)
{
	const char *h = "A: 1\r\nB: 2";
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, h, strlen(h));
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_EQ_INT(hdr_iter_next(&it, &f), 1);
	T_ASSERT(str_eq_cstr(f.name, "B"));
	T_ASSERT(str_eq_cstr(f.value, " 2"));
	T_EQ_INT(f.len, 4);
	T_EQ_INT(hdr_iter_next(&it, &f), 0);
}

static void
test_unfold(void)
{
	struct buf b;

	buf_init(&b, 0);
	T_EQ_INT(hdr_unfold("  a\r\n b\n\tc  \r\n", 14, MIME_MAX_FIELD, &b), 0);
	T_EQ_STR(buf_cstr(&b), "a b\tc");
	buf_reset(&b);
	/* max cuts the input */
	T_EQ_INT(hdr_unfold("abcdef", 6, 3, &b), 0);
	T_EQ_STR(buf_cstr(&b), "abc");
	buf_clear(&b);
}

static void
test_filter(void)
{
	const char *h = "From: a@b\r\n"
	                "Subject: one\r\n"
	                " two\r\n"
	                "to: x@y\r\n"
	                "X-Other: z\r\n"
	                "SUBJECT: again\r\n"
	                "\r\n";
	const char *n1[] = {"subject", "To"};
	const char *n2[] = {"SUBJECT", "x-other", "from"};
	const char *n3[] = {"Missing"};

	T_EQ_STR(filter(h, n1, 2, 0), "Subject: one\r\n two\r\nto: x@y\r\n"
	                              "SUBJECT: again\r\n\r\n");
	T_EQ_STR(filter(h, n2, 3, 1), "to: x@y\r\n\r\n");
	T_EQ_STR(filter(h, n3, 1, 0), "\r\n");
	T_EQ_STR(filter(h, n3, 0, 1), h);
	/* bare LF kept byte-exact; a last field without line end gets one */
	T_EQ_STR(filter("A: 1\nB: 2\n\tx\nC: 3", n2, 0, 1),
	         "A: 1\nB: 2\n\tx\nC: 3\r\n\r\n");
	/* only the header block: fields past the empty line are not seen */
	T_EQ_STR(filter("A: 1\n\nSubject: no\n", n1, 2, 0), "\r\n");
	/* a name is the whole name, not a prefix */
	T_EQ_STR(filter("Subjects: x\r\nSubject: y\r\n", n1, 1, 0),
	         "Subject: y\r\n\r\n");
}

static void
test_filter_cap(void)
{
	const char *h = "Subject: 0123456789\r\n\r\n";
	const char *n[] = {"subject"};
	struct buf b;

	buf_init(&b, 22);
	T_EQ_INT(hdr_filter_fields(h, strlen(h), n, 1, 0, &b), -1);
	buf_clear(&b);
	buf_init(&b, 23);
	T_EQ_INT(hdr_filter_fields(h, strlen(h), n, 1, 0, &b), 0);
	T_EQ_INT(b.len, 23);
	buf_clear(&b);
}

static void
test_words_basic(void)
{
	T_EQ_STR(dec("plain text"), "plain text");
	T_EQ_STR(dec("=?UTF-8?B?SsO2cmc=?="), "J\xc3\xb6rg");
	T_EQ_STR(dec("=?utf-8?q?J=C3=B6rg_M=c3=bcller?="),
	         "J\xc3\xb6rg M\xc3\xbcller");
	T_EQ_STR(dec("=?ISO-8859-1?Q?Caf=E9?="), "Caf\xc3\xa9");
	/* windows-1252: 0x80 is the euro sign; latin1 labels read as it */
	T_EQ_STR(dec("=?windows-1252?Q?=80_5?="), "\xe2\x82\xac 5");
	T_EQ_STR(dec("=?iso-8859-1?q?=80?="), "\xe2\x82\xac");
	T_EQ_STR(dec("=?iso-8859-15?q?=A4?="), "\xe2\x82\xac");
	/* RFC 2231 language suffix */
	T_EQ_STR(dec("=?utf-8*en?q?hi?="), "hi");
	/* base64 without padding */
	T_EQ_STR(dec("=?utf-8?b?SGk?="), "Hi");
	T_EQ_STR(dec("=?utf-8?q?"
	             "?="),
	         "");
}

static void
test_words_joining(void)
{
	/* white space between encoded words goes (RFC 2047 6.2) */
	T_EQ_STR(dec("=?ISO-8859-1?Q?Caf=E9?= =?ISO-8859-1?Q?_au_lait?="),
	         "Caf\xc3\xa9 au lait");
	T_EQ_STR(dec("=?utf-8?q?a?=\r\n =?utf-8?q?b?=\t=?utf-8?q?c?="), "abc");
	/* but not between a word and text */
	T_EQ_STR(dec("Re: =?utf-8?q?a?= b =?utf-8?q?c?= d"), "Re: a b c d");
	/* a character split between two words comes out whole */
	T_EQ_STR(dec("=?utf-8?b?4oI=?= =?utf-8?b?rA==?="), "\xe2\x82\xac");
	/* two charsets side by side */
	T_EQ_STR(dec("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?="),
	         "\xc3\xa9\xc3\xa9");
	/* folding is removed, the white space after it kept */
	T_EQ_STR(dec("a\r\n b\n\tc"), "a b\tc");
	/* a word stuck to text is decoded too (as Dovecot) */
	T_EQ_STR(dec("x=?utf-8?q?y?=z"), "xyz");
}

static void
test_words_invalid(void)
{
	/* malformed words are left as they are */
	T_EQ_STR(dec("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
	T_EQ_STR(dec("=?utf-8?q?abc"), "=?utf-8?q?abc");
	T_EQ_STR(dec("=?utf-8?b?@@@@?="), "=?utf-8?b?@@@@?=");
	T_EQ_STR(dec("=??q?abc?="), "=??q?abc?=");
	T_EQ_STR(dec("=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
	T_EQ_STR(dec("a = b ?= c =?"), "a = b ?= c =?");
	/* a bad "=XX" in Q stays */
	T_EQ_STR(dec("=?utf-8?q?100=?= =?utf-8?q?=4?="), "100==4");
	/* unknown charset: bytes passed through as UTF-8 */
	T_EQ_STR(dec("=?x-unknown?q?abc=C3=A9?="), "abc\xc3\xa9");
	T_EQ_STR(dec("=?x-unknown?q?=E9?="), "\xef\xbf\xbd");
	/* invalid UTF-8 in a utf-8 word or raw text: U+FFFD */
	T_EQ_STR(dec("=?utf-8?q?=FF?="), "\xef\xbf\xbd");
	T_EQ_STR(dec("caf\xe9"), "caf\xef\xbf\xbd");
	/* raw UTF-8 (RFC 6532) stays */
	T_EQ_STR(dec("caf\xc3\xa9"), "caf\xc3\xa9");
}

static void
test_words_nul(void)
{
	struct buf b;

	buf_init(&b, 0);
	T_EQ_INT(hdr_decode_words("a\0b", 3, &b), 0);
	T_EQ_STR(buf_cstr(&b), "a\xef\xbf\xbd"
	                       "b");
	buf_clear(&b);
}

static void
test_words_field_limit(void)
{
	size_t n = MIME_MAX_FIELD + 100;
	char *s = malloc(n);
	struct buf b;

	memset(s, 'a', n);
	buf_init(&b, 0);
	/* over the limit: cut at MIME_MAX_FIELD */
	T_EQ_INT(hdr_decode_words(s, n, &b), 0);
	T_EQ_INT(b.len, MIME_MAX_FIELD);
	buf_reset(&b);
	/* at the limit: all of it */
	T_EQ_INT(hdr_decode_words(s, MIME_MAX_FIELD, &b), 0);
	T_EQ_INT(b.len, MIME_MAX_FIELD);
	buf_reset(&b);
	/* one under, with an encoded word at the end */
	memcpy(s + MIME_MAX_FIELD - 16, " =?utf-8?q?=41?=", 16);
	T_EQ_INT(hdr_decode_words(s, MIME_MAX_FIELD, &b), 0);
	T_EQ_INT(b.len, MIME_MAX_FIELD - 16 + 2);
	T_EQ_INT(b.data[b.len - 1], 'A');
	buf_reset(&b);
	/* the word cut by the limit is left as text */
	T_EQ_INT(hdr_decode_words(s, MIME_MAX_FIELD - 1, &b), 0);
	T_EQ_INT(b.len, MIME_MAX_FIELD - 1);
	buf_clear(&b);
	free(s);
}

static void
test_words_cap(void)
{
	struct buf b;

	buf_init(&b, 4);
	T_EQ_INT(hdr_decode_words("=?utf-8?q?abcdef?=", 18, &b), -1);
	T_ASSERT(b.len <= 4);
	buf_clear(&b);
	/* truncation never splits a UTF-8 character */
	buf_init(&b, 4);
	T_EQ_INT(hdr_decode_words("ab\xc3\xa9\xc3\xa9", 6, &b), -1);
	T_EQ_STR(buf_cstr(&b), "ab\xc3\xa9");
	buf_clear(&b);
	buf_init(&b, 3);
	T_EQ_INT(hdr_decode_words("ab\xc3\xa9", 4, &b), -1);
	T_EQ_STR(buf_cstr(&b), "ab");
	buf_clear(&b);
}

static void
test_charset(void)
{
	struct buf b;

	buf_init(&b, 0);
	T_EQ_INT(hdr_charset_to_utf8("koi8-r", 6, "\xf0\xd2\xc9", 3, &b), 0);
	T_EQ_STR(buf_cstr(&b), "\xd0\x9f\xd1\x80\xd0\xb8");
	buf_reset(&b);
	/* stateful ISO-2022-JP */
	T_EQ_INT(
	        hdr_charset_to_utf8("iso-2022-jp", 11, "\x1b$B$3\x1b(B", 8, &b),
	        0);
	T_EQ_STR(buf_cstr(&b), "\xe3\x81\x93");
	buf_reset(&b);
	/* a truncated multibyte sequence at the end */
	T_EQ_INT(hdr_charset_to_utf8("shift_jis", 9, "a\x82", 2, &b), 0);
	T_EQ_STR(buf_cstr(&b), "a\xef\xbf\xbd");
	buf_reset(&b);
	/* quoted, mixed-case labels */
	T_EQ_INT(
	        hdr_charset_to_utf8("\"Windows-1252\"", 14, "\x93x\x94", 3, &b),
	        0);
	T_EQ_STR(buf_cstr(&b), "\xe2\x80\x9cx\xe2\x80\x9d");
	buf_clear(&b);
	hdr_charset_cache_clear();
}

static const struct test_case tests[] = {
        {"block_len", test_block_len},
        {"iter", test_iter},
        {"iter_no_final_newline", test_iter_no_final_newline},
        {"unfold", test_unfold},
        {"filter", test_filter},
        {"filter_cap", test_filter_cap},
        {"words_basic", test_words_basic},
        {"words_joining", test_words_joining},
        {"words_invalid", test_words_invalid},
        {"words_nul", test_words_nul},
        {"words_field_limit", test_words_field_limit},
        {"words_cap", test_words_cap},
        {"charset", test_charset},
        {NULL, NULL},
};

TEST_MAIN(tests)
