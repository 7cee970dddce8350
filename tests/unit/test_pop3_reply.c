/*
 * tests/unit/test_pop3_reply.c: bridge/pop3_reply.c, the POP3 reply
 * parsers: line cutting with its cap, status lines and response codes,
 * continuations, APOP stamps, CAPA (a real Dovecot 2.3 answer), UIDL, LIST
 * and STAT lines, each limit with its five cases.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bridge/pop3_reply.h"
#include "../../common/buf.h"
#include "../../common/limits.h"
#include "test.h"

/* pop3_reply_line on a C string; *line_r copied out as a C string. */
static int
line_of(const char *in, size_t max, char *line, size_t *consumed_r)
{
	struct buf b;
	const char *l = NULL;
	size_t len = 0, consumed = 0;
	int rc;

	buf_init(&b, 0);
	buf_add(&b, in, strlen(in));
	rc = pop3_reply_line(&b, max, &l, &len, &consumed);
	line[0] = '\0';
	if (rc == 1) {
		memcpy(line, l, len);
		line[len] = '\0';
		*consumed_r = consumed;
	}
	buf_clear(&b);
	return rc;
}

static void
test_line_basic(void)
{
	char line[64];
	size_t c = 0;

	T_EQ_INT(line_of("+OK hi\r\nrest", 100, line, &c), 1);
	T_EQ_STR(line, "+OK hi");
	T_EQ_INT(c, 8);
	T_EQ_INT(line_of("+OK bare\nx", 100, line, &c), 1);
	T_EQ_STR(line, "+OK bare");
	T_EQ_INT(c, 9);
	T_EQ_INT(line_of("\r\n", 100, line, &c), 1);
	T_EQ_STR(line, "");
	T_EQ_INT(c, 2);
	T_EQ_INT(line_of("\n", 100, line, &c), 1);
	T_EQ_INT(c, 1);
	/* Only one CR belongs to the line end. */
	T_EQ_INT(line_of("a\r\r\n", 100, line, &c), 1);
	T_EQ_STR(line, "a\r");
	T_EQ_INT(line_of("+OK no end", 100, line, &c), 0);
	T_EQ_INT(line_of("+OK cr\r", 100, line, &c), 0);
	T_EQ_INT(line_of("", 100, line, &c), 0);
}

static void
test_line_empty_buf(void)
{
	struct buf b;
	const char *l;
	size_t len, c;

	buf_init(&b, 0);
	T_EQ_INT(pop3_reply_line(&b, 10, &l, &len, &c), 0);
}

/* The line cap: at it, one over, 0, huge, garbage bytes. */
static void
test_line_limit(void)
{
	char line[64];
	size_t c = 0;

	/* At: 10 bytes plus CRLF or LF. */
	T_EQ_INT(line_of("0123456789\r\n", 10, line, &c), 1);
	T_EQ_STR(line, "0123456789");
	T_EQ_INT(c, 12);
	T_EQ_INT(line_of("0123456789\n", 10, line, &c), 1);
	T_EQ_INT(c, 11);
	/* 10 bytes so far, or 10 and a CR: could still end in time. */
	T_EQ_INT(line_of("0123456789", 10, line, &c), 0);
	T_EQ_INT(line_of("0123456789\r", 10, line, &c), 0);
	/* One over, whether or not its end is there. */
	T_EQ_INT(line_of("0123456789a", 10, line, &c), -1);
	T_EQ_INT(line_of("0123456789a\r\n", 10, line, &c), -1);
	T_EQ_INT(line_of("0123456789a\n", 10, line, &c), -1);
	T_EQ_INT(line_of("0123456789\r\r", 10, line, &c), -1);
	T_EQ_INT(line_of("0123456789\rx", 10, line, &c), -1);
	/* A cap of 0 allows empty lines only. */
	T_EQ_INT(line_of("\r\n", 0, line, &c), 1);
	T_EQ_INT(line_of("\r", 0, line, &c), 0);
	T_EQ_INT(line_of("x", 0, line, &c), -1);
	/* Garbage (NUL, 8-bit) is a line like any other. */
	{
		struct buf b;
		const char *l;
		size_t len;

		buf_init(&b, 0);
		buf_add(&b, "a\0\xff\r\n", 5);
		T_EQ_INT(pop3_reply_line(&b, 10, &l, &len, &c), 1);
		T_EQ_INT(len, 3);
		T_EQ_INT(c, 5);
		buf_clear(&b);
	}
}

/* Huge: a megabyte without LF at the real cap. */
static void
test_line_huge(void)
{
	struct buf b;
	const char *l;
	size_t len, c;
	char *big = malloc(1024 * 1024);

	T_ASSERT(big != NULL);
	memset(big, 'x', 1024 * 1024);
	buf_init(&b, 0);
	buf_add(&b, big, POP3_MAX_LINE);
	T_EQ_INT(pop3_reply_line(&b, POP3_MAX_LINE, &l, &len, &c), 0);
	buf_add(&b, "\r\n", 2);
	T_EQ_INT(pop3_reply_line(&b, POP3_MAX_LINE, &l, &len, &c), 1);
	T_EQ_INT(len, POP3_MAX_LINE);
	T_EQ_INT(c, POP3_MAX_LINE + 2);
	buf_reset(&b);
	buf_add(&b, big, 1024 * 1024);
	T_EQ_INT(pop3_reply_line(&b, POP3_MAX_LINE, &l, &len, &c), -1);
	buf_clear(&b);
	free(big);
}

/*
 * It never reads past max + 2 bytes: the buffer claims more than is
 * allocated (ASan reports any read beyond).
 */
static void
test_line_scan_bound(void)
{
	struct buf b;
	const char *l;
	size_t len, c;
	char *p = malloc(12);

	T_ASSERT(p != NULL);
	memcpy(p, "0123456789\r\n", 12);
	b.data = p;
	b.len = 1000;
	b.size = 12;
	b.cap = 1000;
	T_EQ_INT(pop3_reply_line(&b, 10, &l, &len, &c), 1);
	T_EQ_INT(len, 10);
	memcpy(p, "0123456789xx", 12);
	T_EQ_INT(pop3_reply_line(&b, 10, &l, &len, &c), -1);
	memcpy(p, "0123456789\rx", 12);
	T_EQ_INT(pop3_reply_line(&b, 10, &l, &len, &c), -1);
	free(p);
}

/* Byte by byte: 0 until the LF, then the line. */
static void
test_line_bytewise(void)
{
	const char *msg = "+OK Dovecot ready.\r\n";
	struct buf b;
	const char *l;
	size_t i, len, c, n = strlen(msg);

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		buf_addc(&b, msg[i]);
		T_EQ_INT(pop3_reply_line(&b, POP3_MAX_LINE, &l, &len, &c),
		         i + 1 == n ? 1 : 0);
	}
	T_EQ_INT(len, n - 2);
	T_EQ_INT(c, n);
	buf_consume(&b, c);
	T_EQ_INT(b.len, 0);
	buf_clear(&b);
}

static int
status_of(const char *line, struct pop3_status *s, char *text)
{
	int rc = pop3_reply_status(line, strlen(line), s);

	text[0] = '\0';
	if (rc == 0) {
		memcpy(text, s->text, s->text_len);
		text[s->text_len] = '\0';
	}
	return rc;
}

static void
test_status(void)
{
	struct pop3_status s;
	char t[128];

	T_EQ_INT(status_of("+OK", &s, t), 0);
	T_EQ_INT(s.ok, 1);
	T_EQ_INT(s.code, POP3_CODE_NONE);
	T_EQ_STR(t, "");
	T_EQ_INT(status_of("+ok 2 messages", &s, t), 0);
	T_EQ_INT(s.ok, 1);
	T_EQ_STR(t, "2 messages");
	T_EQ_INT(status_of("-ERR", &s, t), 0);
	T_EQ_INT(s.ok, 0);
	T_EQ_INT(status_of("-Err no such message", &s, t), 0);
	T_EQ_INT(s.ok, 0);
	T_EQ_STR(t, "no such message");
	T_EQ_INT(status_of("+OK  \t spaced out \t ", &s, t), 0);
	T_EQ_STR(t, "spaced out");
	T_EQ_INT(status_of("+OK\ttab", &s, t), 0);
	T_EQ_STR(t, "tab");
	T_EQ_INT(status_of("+OK \r", &s, t), 0);
	T_EQ_STR(t, "");
	T_EQ_INT(status_of("+OKAY", &s, t), -1);
	T_EQ_INT(status_of("-ERROR x", &s, t), -1);
	T_EQ_INT(status_of("+", &s, t), -1);
	T_EQ_INT(status_of("+ abc", &s, t), -1);
	T_EQ_INT(status_of("", &s, t), -1);
	T_EQ_INT(status_of(" +OK", &s, t), -1);
	T_EQ_INT(status_of("* OK imap", &s, t), -1);
	T_EQ_INT(status_of("-E", &s, t), -1);
}

static void
test_status_codes(void)
{
	struct pop3_status s;
	char t[128];

	T_EQ_INT(status_of("-ERR [IN-USE] Mailbox locked", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_IN_USE);
	T_EQ_STR(t, "Mailbox locked");
	T_EQ_INT(status_of("-ERR [AUTH] Authentication failed.", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_AUTH);
	T_EQ_STR(t, "Authentication failed.");
	T_EQ_INT(status_of("-ERR [login-delay] wait", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_LOGIN_DELAY);
	T_EQ_INT(status_of("-ERR [SYS/TEMP] try later", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_SYS_TEMP);
	T_EQ_INT(status_of("-ERR [sys/perm]", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_SYS_PERM);
	T_EQ_STR(t, "");
	T_EQ_INT(status_of("-ERR [SYS/TEMP/DISK] full", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_SYS_TEMP);
	T_EQ_INT(status_of("-ERR [SYS] x", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_OTHER);
	T_EQ_INT(status_of("-ERR [AUTHX] x", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_OTHER);
	T_EQ_INT(status_of("+OK [UTF8] ok", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_UTF8);
	T_EQ_INT(status_of("-ERR [FOO/BAR] x", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_OTHER);
	T_EQ_STR(t, "x");
	/* Not codes: left in the text. */
	T_EQ_INT(status_of("-ERR [] x", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_NONE);
	T_EQ_STR(t, "[] x");
	T_EQ_INT(status_of("-ERR [AUTH failed", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_NONE);
	T_EQ_STR(t, "[AUTH failed");
	T_EQ_INT(status_of("-ERR [IN USE] x", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_NONE);
	T_EQ_INT(status_of("-ERR text [AUTH]", &s, t), 0);
	T_EQ_INT(s.code, POP3_CODE_NONE);
}

static void
test_code_names(void)
{
	T_EQ_STR(pop3_code_name(POP3_CODE_NONE), "");
	T_EQ_STR(pop3_code_name(POP3_CODE_AUTH), "AUTH");
	T_EQ_STR(pop3_code_name(POP3_CODE_IN_USE), "IN-USE");
	T_EQ_STR(pop3_code_name(POP3_CODE_LOGIN_DELAY), "LOGIN-DELAY");
	T_EQ_STR(pop3_code_name(POP3_CODE_SYS_TEMP), "SYS/TEMP");
	T_EQ_STR(pop3_code_name(POP3_CODE_SYS_PERM), "SYS/PERM");
	T_EQ_STR(pop3_code_name(POP3_CODE_UTF8), "UTF8");
	T_EQ_STR(pop3_code_name(POP3_CODE_OTHER), "OTHER");
}

static void
test_continuation(void)
{
	T_EQ_INT(pop3_reply_is_continuation("+", 1), 1);
	T_EQ_INT(pop3_reply_is_continuation("+ ", 2), 1);
	T_EQ_INT(pop3_reply_is_continuation("+ VXNlcm5hbWU6", 14), 1);
	T_EQ_INT(pop3_reply_is_continuation("+OK", 3), 0);
	T_EQ_INT(pop3_reply_is_continuation("+ok", 3), 0);
	T_EQ_INT(pop3_reply_is_continuation("-ERR", 4), 0);
	T_EQ_INT(pop3_reply_is_continuation("", 0), 0);
	T_EQ_INT(pop3_reply_is_continuation("+x", 2), 0);
}

static int
stamp_of(const char *text, char *out)
{
	const char *st = NULL;
	size_t n = 0;
	int rc = pop3_reply_apop_stamp(text, strlen(text), &st, &n);

	out[0] = '\0';
	if (rc == 1) {
		memcpy(out, st, n);
		out[n] = '\0';
	}
	return rc;
}

static void
test_apop_stamp(void)
{
	const char *greet =
	        "+OK Dovecot (Debian) ready. <1896.697170952@dbc.mtview.ca.us>";
	struct pop3_status s;
	char t[128], st[128];

	T_EQ_INT(status_of(greet, &s, t), 0);
	T_EQ_INT(s.ok, 1);
	T_EQ_INT(stamp_of(t, st), 1);
	T_EQ_STR(st, "<1896.697170952@dbc.mtview.ca.us>");
	/* Whole line works as well. */
	T_EQ_INT(stamp_of(greet, st), 1);
	T_EQ_STR(st, "<1896.697170952@dbc.mtview.ca.us>");
	T_EQ_INT(stamp_of("Dovecot ready.", st), 0);
	T_EQ_INT(stamp_of("<abc>", st), 0);
	T_EQ_INT(stamp_of("<a b@c>", st), 0);
	T_EQ_INT(stamp_of("<a@b", st), 0);
	T_EQ_INT(stamp_of("<a@\xe9t\xe9>", st), 0);
	T_EQ_INT(stamp_of("<a@\tb>", st), 0);
	T_EQ_INT(stamp_of("<<1.2@host> x", st), 1);
	T_EQ_STR(st, "<1.2@host>");
	T_EQ_INT(stamp_of("<no-at> <1@h> <2@h>", st), 1);
	T_EQ_STR(st, "<1@h>");
	T_EQ_INT(stamp_of("<@>", st), 1);
	T_EQ_INT(stamp_of("", st), 0);
	T_EQ_INT(stamp_of("<", st), 0);
	T_EQ_INT(stamp_of(">", st), 0);
}

static void
capa_feed(struct pop3_caps *c, const char *answer)
{
	const char *p = answer;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *l = p;
		size_t len = n;

		if (len && l[len - 1] == '\r')
			len--;
		if (pop3_reply_multi_line(&l, &len) == 1)
			return;
		pop3_reply_capa_line(c, l, len);
		p += n + (e ? 1 : 0);
	}
}

static void
test_capa_dovecot(void)
{
	struct pop3_caps c;

	pop3_caps_init(&c);
	T_EQ_INT(c.caps, 0);
	T_EQ_INT(c.login_delay, -1);
	T_EQ_INT(c.expire, -1);
	capa_feed(&c, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
	              "AUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\n."
	              "\r\nUTF8\r\n");
	T_EQ_INT(c.caps, POP3_CAP_TOP | POP3_CAP_UIDL | POP3_CAP_RESP_CODES |
	                         POP3_CAP_PIPELINING | POP3_CAP_AUTH_RESP_CODE |
	                         POP3_CAP_USER | POP3_CAP_SASL_PLAIN |
	                         POP3_CAP_STLS);
	T_EQ_INT(c.login_delay, -1);
	T_EQ_INT(c.expire, -1);
}

static void
test_capa_misc(void)
{
	struct pop3_caps c;

	pop3_caps_init(&c);
	capa_feed(&c, "top\nuidl  \n  user\nSASL\tLOGIN\tCRAM-MD5\nUTF8 USER\n"
	              "IMPLEMENTATION Shlemazle-Plotz-v302\nTOPX\n\n");
	T_EQ_INT(c.caps,
	         POP3_CAP_TOP | POP3_CAP_UIDL | POP3_CAP_USER | POP3_CAP_UTF8);
	capa_feed(&c, "sasl  plain");
	T_ASSERT(c.caps & POP3_CAP_SASL_PLAIN);
	pop3_caps_init(&c);
	capa_feed(&c, "SASL PLAINX XPLAIN");
	T_EQ_INT(c.caps, 0);
}

/* LOGIN-DELAY and EXPIRE numbers: at, over, negative, huge, not a number. */
static void
test_capa_numbers(void)
{
	struct pop3_caps c;

	pop3_caps_init(&c);
	capa_feed(&c, "LOGIN-DELAY 900\r\nEXPIRE 31 USER\r\n");
	T_EQ_INT(c.login_delay, 900);
	T_EQ_INT(c.expire, 31);
	capa_feed(&c, "login-delay 0 USER\r\nexpire never\r\n");
	T_EQ_INT(c.login_delay, 0);
	T_EQ_INT(c.expire, -2);
	pop3_caps_init(&c);
	capa_feed(&c, "LOGIN-DELAY 9223372036854775807\r\n"
	              "EXPIRE 9223372036854775807\r\n");
	T_EQ_INT(c.login_delay, INT64_MAX);
	T_EQ_INT(c.expire, INT64_MAX);
	pop3_caps_init(&c);
	capa_feed(&c, "LOGIN-DELAY 9223372036854775808\r\n"
	              "EXPIRE 9223372036854775808\r\n"
	              "LOGIN-DELAY -1\r\nEXPIRE -5\r\n"
	              "LOGIN-DELAY 99999999999999999999999999\r\n"
	              "LOGIN-DELAY soon\r\nEXPIRE sometime\r\n"
	              "LOGIN-DELAY\r\nEXPIRE\r\nLOGIN-DELAY 12x\r\n");
	T_EQ_INT(c.login_delay, -1);
	T_EQ_INT(c.expire, -1);
}

static void
test_multi_line(void)
{
	const char *l;
	size_t n;

	l = ".";
	n = 1;
	T_EQ_INT(pop3_reply_multi_line(&l, &n), 1);
	l = "..";
	n = 2;
	T_EQ_INT(pop3_reply_multi_line(&l, &n), 0);
	T_EQ_INT(n, 1);
	T_ASSERT(l[0] == '.');
	l = "..x";
	n = 3;
	T_EQ_INT(pop3_reply_multi_line(&l, &n), 0);
	T_EQ_INT(n, 2);
	l = "1 abc";
	n = 5;
	T_EQ_INT(pop3_reply_multi_line(&l, &n), 0);
	T_EQ_INT(n, 5);
	l = "";
	n = 0;
	T_EQ_INT(pop3_reply_multi_line(&l, &n), 0);
	T_EQ_INT(n, 0);
}

static int
uidl_of(const char *line, uint32_t *n, char *uid)
{
	const char *u = NULL;
	size_t ul = 0;
	int rc = pop3_reply_uidl_line(line, strlen(line), n, &u, &ul);

	uid[0] = '\0';
	if (rc == 0) {
		memcpy(uid, u, ul);
		uid[ul] = '\0';
	}
	return rc;
}

static void
test_uidl(void)
{
	uint32_t n = 0;
	char u[128];

	T_EQ_INT(uidl_of("1 whqtswO00WBw418f9t5JxYwZ", &n, u), 0);
	T_EQ_INT(n, 1);
	T_EQ_STR(u, "whqtswO00WBw418f9t5JxYwZ");
	T_EQ_INT(uidl_of("  2 \t QhdPYR:00WBw1Ph7x7 \t ", &n, u), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(u, "QhdPYR:00WBw1Ph7x7");
	T_EQ_INT(uidl_of("3 !~", &n, u), 0);
	T_EQ_STR(u, "!~");
	T_EQ_INT(uidl_of("3 abc\r", &n, u), 0);
	T_EQ_STR(u, "abc");
	T_EQ_INT(uidl_of("1", &n, u), -1);
	T_EQ_INT(uidl_of("1 ", &n, u), -1);
	T_EQ_INT(uidl_of("", &n, u), -1);
	T_EQ_INT(uidl_of("1 abc def", &n, u), -1);
	T_EQ_INT(uidl_of("1 ab\x7f", &n, u), -1);
	T_EQ_INT(uidl_of("1 ab\xc3\xa9", &n, u), -1);
	T_EQ_INT(uidl_of("1 a\001b", &n, u), -1);
	T_EQ_INT(uidl_of("+1 abc", &n, u), -1);
	T_EQ_INT(uidl_of("1abc", &n, u), -1);
}

/* Message numbers: at, one over, zero/negative, huge, not a number. */
static void
test_uidl_msgno_limit(void)
{
	uint32_t n = 0;
	char u[128];

	T_EQ_INT(uidl_of("1000000 x", &n, u), 0);
	T_EQ_INT(n, POP3_MAX_MESSAGES);
	T_EQ_INT(uidl_of("1000001 x", &n, u), -1);
	T_EQ_INT(uidl_of("0 x", &n, u), -1);
	T_EQ_INT(uidl_of("-1 x", &n, u), -1);
	T_EQ_INT(uidl_of("18446744073709551617 x", &n, u), -1);
	T_EQ_INT(uidl_of("4294967297 x", &n, u), -1);
	T_EQ_INT(uidl_of("one x", &n, u), -1);
	T_EQ_INT(uidl_of("1e3 x", &n, u), -1);
}

/* UIDL length: 70, 71, empty, huge, not printable. */
static void
test_uidl_len_limit(void)
{
	char line[1100], u[1100];
	uint32_t n;

	memcpy(line, "7 ", 2);
	memset(line + 2, 'a', 70);
	line[72] = '\0';
	T_EQ_INT(uidl_of(line, &n, u), 0);
	T_EQ_INT(strlen(u), POP3_UIDL_MAX);
	line[72] = 'b';
	line[73] = '\0';
	T_EQ_INT(uidl_of(line, &n, u), -1);
	T_EQ_INT(uidl_of("7  ", &n, u), -1);
	memset(line + 2, 'c', 1000);
	line[1002] = '\0';
	T_EQ_INT(uidl_of(line, &n, u), -1);
	T_EQ_INT(uidl_of("7 \xff\xfe", &n, u), -1);
}

static void
test_list(void)
{
	uint32_t n = 0;
	uint64_t sz = 0;

	T_EQ_INT(pop3_reply_list_line("1 120", 5, &n, &sz), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(sz, 120);
	T_EQ_INT(pop3_reply_list_line(" 2\t \t200  ", 10, &n, &sz), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(sz, 200);
	/* RFC 1939 lets a scan listing carry more after the size. */
	T_EQ_INT(pop3_reply_list_line("3 0 extra info", 14, &n, &sz), 0);
	T_EQ_INT(sz, 0);
	T_EQ_INT(pop3_reply_list_line("3", 1, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("3 ", 2, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("3 12k", 5, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("", 0, &n, &sz), -1);
	/* Message number limit. */
	T_EQ_INT(pop3_reply_list_line("1000000 1", 9, &n, &sz), 0);
	T_EQ_INT(n, 1000000);
	T_EQ_INT(pop3_reply_list_line("1000001 1", 9, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("0 1", 3, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("-1 1", 4, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("99999999999999999999999 1", 25, &n, &sz),
	         -1);
	T_EQ_INT(pop3_reply_list_line("x 1", 3, &n, &sz), -1);
}

/* Sizes: UINT64_MAX, one over, negative, huge, not a number. */
static void
test_list_size_limit(void)
{
	uint32_t n = 0;
	uint64_t sz = 0;
	const char *at = "1 18446744073709551615";
	const char *over = "1 18446744073709551616";
	const char *huge = "1 99999999999999999999999999999999";

	T_EQ_INT(pop3_reply_list_line(at, strlen(at), &n, &sz), 0);
	T_ASSERT(sz == UINT64_MAX);
	T_EQ_INT(pop3_reply_list_line(over, strlen(over), &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("1 -1", 4, &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line(huge, strlen(huge), &n, &sz), -1);
	T_EQ_INT(pop3_reply_list_line("1 big", 5, &n, &sz), -1);
}

static void
test_stat(void)
{
	uint32_t c = 9;
	uint64_t sz = 9;
	const char *t;

	T_EQ_INT(pop3_reply_stat("0 0", 3, &c, &sz), 0);
	T_EQ_INT(c, 0);
	T_EQ_INT(sz, 0);
	T_EQ_INT(pop3_reply_stat("2 320", 5, &c, &sz), 0);
	T_EQ_INT(c, 2);
	T_EQ_INT(sz, 320);
	T_EQ_INT(pop3_reply_stat("2  320 \t", 8, &c, &sz), 0);
	T_EQ_INT(pop3_reply_stat("2 320 messages", 14, &c, &sz), 0);
	T_EQ_INT(sz, 320);
	/* Count: up to 32 bits (it may pass POP3_MAX_MESSAGES). */
	t = "4294967295 1";
	T_EQ_INT(pop3_reply_stat(t, strlen(t), &c, &sz), 0);
	T_ASSERT(c == UINT32_MAX);
	t = "4294967296 1";
	T_EQ_INT(pop3_reply_stat(t, strlen(t), &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("-1 1", 4, &c, &sz), -1);
	t = "999999999999999999999999 1";
	T_EQ_INT(pop3_reply_stat(t, strlen(t), &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("two 1", 5, &c, &sz), -1);
	/* Size. */
	t = "1 18446744073709551615";
	T_EQ_INT(pop3_reply_stat(t, strlen(t), &c, &sz), 0);
	T_ASSERT(sz == UINT64_MAX);
	t = "1 18446744073709551616";
	T_EQ_INT(pop3_reply_stat(t, strlen(t), &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("1 -2", 4, &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("1 lots", 6, &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("1", 1, &c, &sz), -1);
	T_EQ_INT(pop3_reply_stat("", 0, &c, &sz), -1);
}

/* A whole session's worth of server output, cut line by line. */
static void
test_transcript(void)
{
	const char *srv =
	        "+OK Dovecot (Debian) ready. "
	        "<1896.697170952@dbc.mtview.ca.us>\r\n"
	        "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
	        "AUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\n.\r\n"
	        "+OK 2 messages:\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n"
	        "2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
	        "+OK 2 messages (320 octets)\n1 120\n2 200\n.\n";
	struct buf in;
	const char *l;
	size_t len, c;
	int lines = 0, rc;

	buf_init(&in, 0);
	buf_addstr(&in, srv);
	while ((rc = pop3_reply_line(&in, POP3_MAX_LINE, &l, &len, &c)) == 1) {
		T_ASSERT(memchr(l, '\n', len) == NULL);
		lines++;
		buf_consume(&in, c);
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(in.len, 0);
	T_EQ_INT(lines, 20);
	buf_clear(&in);
}

static const struct test_case tests[] = {
        {"line_basic", test_line_basic},
        {"line_empty_buf", test_line_empty_buf},
        {"line_limit", test_line_limit},
        {"line_huge", test_line_huge},
        {"line_scan_bound", test_line_scan_bound},
        {"line_bytewise", test_line_bytewise},
        {"status", test_status},
        {"status_codes", test_status_codes},
        {"code_names", test_code_names},
        {"continuation", test_continuation},
        {"apop_stamp", test_apop_stamp},
        {"capa_dovecot", test_capa_dovecot},
        {"capa_misc", test_capa_misc},
        {"capa_numbers", test_capa_numbers},
        {"multi_line", test_multi_line},
        {"uidl", test_uidl},
        {"uidl_msgno_limit", test_uidl_msgno_limit},
        {"uidl_len_limit", test_uidl_len_limit},
        {"list", test_list},
        {"list_size_limit", test_list_size_limit},
        {"stat", test_stat},
        {"transcript", test_transcript},
        {NULL, NULL},
};

TEST_MAIN(tests)
