/*
 * tests/unit/test_web_html.c: HTML escaping, UTF-8 repair, the restricted
 * printf and URL encoding of web/web_html.c: XSS payloads in text and in
 * attributes, every class of ill-formed UTF-8, dropped controls, caps that
 * leave the buf unchanged, and unsupported printf conversions (fatal).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/buf.h"
#include "../../web/web_html.h"
#include "test.h"

/* web_html_printf without the compiler's format checks: the tests below
 * pass what the checks would refuse (an empty format, a NULL %s, formats
 * the function must reject at run time). */
static void (*volatile html_printf_unchecked)(struct buf *, const char *,
                                           ...) = web_html_printf;

#define FFFD "\xef\xbf\xbd"

static struct buf out;

static const char *
esc(const char *s)
{
	buf_clear(&out);
	buf_init(&out, 0);
	web_html_esc(&out, s);
	return buf_cstr(&out);
}

static const char *
esc_len(const char *s, size_t len)
{
	buf_clear(&out);
	buf_init(&out, 0);
	web_html_esc_len(&out, s, len);
	return buf_cstr(&out);
}

static const char *
attr(const char *s)
{
	buf_clear(&out);
	buf_init(&out, 0);
	web_html_attr(&out, s);
	return buf_cstr(&out);
}

static const char *
urlenc(const char *s)
{
	buf_clear(&out);
	buf_init(&out, 0);
	web_html_urlenc(&out, s);
	return buf_cstr(&out);
}

static void
test_specials(void)
{
	T_EQ_STR(esc(""), "");
	T_EQ_STR(esc("plain text 123"), "plain text 123");
	T_EQ_STR(esc("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	T_EQ_STR(esc("&amp;"), "&amp;amp;");
	T_EQ_STR(attr("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

static void
test_xss(void)
{
	T_EQ_STR(esc("<script>alert('x')</script>"),
	         "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	T_EQ_STR(esc("<img src=x onerror=alert(1)>"),
	         "&lt;img src=x onerror=alert(1)&gt;");
	T_EQ_STR(attr("\" onerror=\"alert(1)"),
	         "&quot; onerror=&quot;alert(1)");
	T_EQ_STR(attr("x' onmouseover='alert(1)"),
	         "x&#39; onmouseover=&#39;alert(1)");
	/* Cannot leave the attribute: no raw quote, so javascript: stays
	 * inert text of the value. */
	T_EQ_STR(attr("javascript:alert(\"x\")"),
	         "javascript:alert(&quot;x&quot;)");
	T_EQ_STR(attr("\"><script>alert(1)</script>"),
	         "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
	/* A NUL or a control hidden in a tag name is dropped, not kept. */
	T_EQ_STR(esc_len("<scr\0ipt>", 9), "&lt;script&gt;");
	/* An overlong '<' (C0 BC) is not a '<'. */
	T_EQ_STR(esc("\xc0\xbcscript\xc0\xbe"), FFFD FFFD "script" FFFD FFFD);
}

static void
test_controls(void)
{
	T_EQ_STR(esc("a\x01"
	             "b\x1f"
	             "c\x1b[31m"),
	         "abc[31m");
	T_EQ_STR(esc("t\tl\nc\r."), "t\tl\nc\r.");
	T_EQ_STR(attr("t\tl\nc\r."), "t&#9;l&#10;c&#13;.");
	T_EQ_STR(esc_len("a\0b\0", 4), "ab");
	T_EQ_STR(esc_len("\0\0\0", 3), "");
	/* DEL and C1 controls (valid UTF-8) are not C0: kept. */
	T_EQ_STR(esc("\x7f"), "\x7f");
	T_EQ_STR(esc("\xc2\x85"), "\xc2\x85");
}

static void
test_utf8_valid(void)
{
	T_EQ_STR(esc("caf\xc3\xa9"), "caf\xc3\xa9");
	T_EQ_STR(esc("\xc2\x80"), "\xc2\x80");                 /* U+0080 */
	T_EQ_STR(esc("\xdf\xbf"), "\xdf\xbf");                 /* U+07FF */
	T_EQ_STR(esc("\xe0\xa0\x80"), "\xe0\xa0\x80");         /* U+0800 */
	T_EQ_STR(esc("\xe2\x82\xac"), "\xe2\x82\xac");         /* euro */
	T_EQ_STR(esc("\xed\x9f\xbf"), "\xed\x9f\xbf");         /* U+D7FF */
	T_EQ_STR(esc("\xee\x80\x80"), "\xee\x80\x80");         /* U+E000 */
	T_EQ_STR(esc("\xef\xbf\xbf"), "\xef\xbf\xbf");         /* U+FFFF */
	T_EQ_STR(esc("\xf0\x90\x80\x80"), "\xf0\x90\x80\x80"); /* U+10000 */
	T_EQ_STR(esc("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
	T_EQ_STR(esc("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	T_EQ_STR(esc(FFFD), FFFD);
}

static void
test_utf8_invalid(void)
{
	/* Stray continuation bytes and impossible bytes. */
	T_EQ_STR(esc("\x80"), FFFD);
	T_EQ_STR(esc("a\xbf"
	             "b"),
	         "a" FFFD "b");
	T_EQ_STR(esc("\xfe\xff"), FFFD FFFD);
	T_EQ_STR(esc("\xf5\x80\x80\x80"), FFFD FFFD FFFD FFFD);
	/* Overlongs. */
	T_EQ_STR(esc("\xc0\x80"), FFFD FFFD);
	T_EQ_STR(esc("\xc1\xbf"), FFFD FFFD);
	T_EQ_STR(esc("\xe0\x80\x80"), FFFD FFFD FFFD);
	T_EQ_STR(esc("\xe0\x9f\xbf"), FFFD FFFD FFFD);
	T_EQ_STR(esc("\xf0\x80\x80\x80"), FFFD FFFD FFFD FFFD);
	T_EQ_STR(esc("\xf0\x8f\xbf\xbf"), FFFD FFFD FFFD FFFD);
	/* Surrogates (CESU-8 too) and past U+10FFFF. */
	T_EQ_STR(esc("\xed\xa0\x80"), FFFD FFFD FFFD);
	T_EQ_STR(esc("\xed\xbf\xbf"), FFFD FFFD FFFD);
	T_EQ_STR(esc("\xed\xa0\xbd\xed\xb8\x80"),
	         FFFD FFFD FFFD FFFD FFFD FFFD);
	T_EQ_STR(esc("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD);
	/* Truncated: one U+FFFD per maximal subpart, next byte kept. */
	T_EQ_STR(esc("\xc3"), FFFD);
	T_EQ_STR(esc("\xe2\x82"), FFFD);
	T_EQ_STR(esc("\xe2\x82<"), FFFD "&lt;");
	T_EQ_STR(esc("\xf0\x9f\x98"), FFFD);
	T_EQ_STR(esc("\xf0\x9f\x98"
	             "a\xc3\xa9"),
	         FFFD "a\xc3\xa9");
	T_EQ_STR(esc("\xc3\xc3\xa9"), FFFD "\xc3\xa9");
	T_EQ_STR(attr("\xe2\x82\"x"), FFFD "&quot;x");
}

static void
test_no_overread(void)
{
	/* A truncated sequence at the very end of a heap block without a
	 * terminator: ASan catches any read past len. */
	static const char *tails[] = {"\xc3", "\xe2\x82", "\xf0\x9f\x98",
	                              "\xf4", "<",        "&"};
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t n = strlen(tails[i]);
		char *p = malloc(n);

		T_ASSERT(p != NULL);
		memcpy(p, tails[i], n);
		esc_len(p, n);
		free(p);
		T_ASSERT(out.len > 0);
	}
	T_EQ_STR(esc_len("\xe2\x82\xac", 2), FFFD);
	T_EQ_STR(esc_len("abc", 0), "");
}

static void
test_printf(void)
{
	buf_clear(&out);
	buf_init(&out, 0);
	web_html_printf(&out,
	                "<p class=\"x\">%s|%d|%u|%ld|%lu|%lld|%llu|%zu|%%"
	                "</p>",
	                "<b>&", INT_MIN, UINT_MAX, LONG_MIN, ULONG_MAX,
	                LLONG_MIN, ULLONG_MAX, SIZE_MAX);
	T_ASSERT(strncmp(buf_cstr(&out), "<p class=\"x\">&lt;b&gt;&amp;|",
	                 28) == 0);
	T_ASSERT(strstr(buf_cstr(&out), "|-2147483648|4294967295|") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "|18446744073709551615|%</p>") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "|-9223372036854775808|") != NULL);
	buf_reset(&out);
	web_html_printf(&out, "plain");
	T_EQ_STR(buf_cstr(&out), "plain");
	buf_reset(&out);
	html_printf_unchecked(&out, "");
	T_EQ_STR(buf_cstr(&out), "");
	html_printf_unchecked(&out, "%s%s%%%s", "", (const char *)NULL,
	                      "\x01\xff'");
	T_EQ_STR(buf_cstr(&out), "%" FFFD "&#39;");
	buf_reset(&out);
	web_html_printf(&out, "%d%%d%u", -1, 7u);
	T_EQ_STR(buf_cstr(&out), "-1%d7");
	buf_clear(&out);
}

/* Runs web_html_printf(fmt, 1) in a child; returns its exit status. */
static int
printf_child(const char *fmt)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct buf b;

		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(99);
		buf_init(&b, 0);
		html_printf_unchecked(&b, fmt, 1, 2, 3);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_printf_fatal(void)
{
	static const char *bad[] = {"%x",  "%p",   "%5d",  "%-s", "%.3s", "%c",
	                            "%hd", "%lx",  "%llx", "%zd", "%l",   "%ll",
	                            "%z",  "abc%", "%n",   "%ls", "% d"};
	size_t i;

	T_EQ_INT(printf_child("%d %u %%"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (printf_child(bad[i]) != 1) {
			fprintf(stderr, "  not fatal: %s\n", bad[i]);
			T_ASSERT(0);
		}
	}
}

static void
test_cap(void)
{
	struct buf b;

	buf_init(&b, 10);
	buf_addstr(&b, "12345");
	web_html_esc(&b, "<<"); /* 8 bytes: over */
	T_EQ_STR(buf_cstr(&b), "12345");
	web_html_esc(&b, "ab<"); /* 6 bytes: over, nothing kept */
	T_EQ_STR(buf_cstr(&b), "12345");
	web_html_attr(&b, "\n");
	T_EQ_STR(buf_cstr(&b), "12345&#10;");
	buf_reset(&b);
	web_html_printf(&b, "ab%scd", "&&");
	T_EQ_STR(buf_cstr(&b), "");
	web_html_printf(&b, "ab%dcd", 123456);
	T_EQ_STR(buf_cstr(&b), "ab123456cd");
	buf_reset(&b);
	web_html_urlenc(&b, "abc def");
	T_EQ_STR(buf_cstr(&b), "abc%20def");
	web_html_urlenc(&b, "xy");
	T_EQ_STR(buf_cstr(&b), "abc%20def");
	buf_clear(&b);
}

static void
test_urlenc(void)
{
	T_EQ_STR(urlenc(""), "");
	T_EQ_STR(urlenc("AZaz09-._~"), "AZaz09-._~");
	T_EQ_STR(urlenc("a b/c?d=e&f+g#h%"),
	         "a%20b%2Fc%3Fd%3De%26f%2Bg%23h%25");
	T_EQ_STR(urlenc("caf\xc3\xa9\x01\x7f\xff"), "caf%C3%A9%01%7F%FF");
	T_EQ_STR(urlenc("\"'<>"), "%22%27%3C%3E");
	buf_clear(&out);
}

static const struct test_case tests[] = {
        {"specials", test_specials},
        {"xss", test_xss},
        {"controls", test_controls},
        {"utf8_valid", test_utf8_valid},
        {"utf8_invalid", test_utf8_invalid},
        {"no_overread", test_no_overread},
        {"printf", test_printf},
        {"printf_fatal", test_printf_fatal},
        {"cap", test_cap},
        {"urlenc", test_urlenc},
        {NULL, NULL},
};

TEST_MAIN(tests)
