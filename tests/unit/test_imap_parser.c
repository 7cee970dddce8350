/*
 * tests/unit/test_imap_parser.c: the IMAP command reader (bridge/
 * imap_parser.c). Every input is also fed one byte at a time and split at
 * every point (and at every pair of points when short): the events and
 * parses must not change. Each limit gets its five cases (at it, one over,
 * negative, huge, not a number) where they make sense.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bridge/imap_parser.h"
#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../common/log.h"
#include "../../common/xalloc.h"
#include "test.h"

struct cfg {
	size_t line_max;
	uint64_t literal_max;
	const char *spool_dir;
};

static const struct cfg DEF = {IMAP_MAX_LINE, IMAP_MAX_LITERAL, NULL};

static char spool_dir[64];

/* ---- transcripts ---- */

static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
dump_bytes(struct buf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			buf_printf(o, "\\x%02x", c);
		else
			buf_addc(o, (char)c);
	}
}

static int dump_ok;

static void
dump_arg(struct buf *o, const struct imap_arg *a)
{
	size_t i;

	if (a->type != IMAP_ARG_LIST && a->s[a->len] != '\0')
		dump_ok = 0;
	switch (a->type) {
	case IMAP_ARG_ATOM:
		dump_bytes(o, a->s, a->len);
		break;
	case IMAP_ARG_NIL:
		buf_printf(o, "<NIL:%s>", a->s);
		break;
	case IMAP_ARG_STRING:
		buf_addc(o, '"');
		dump_bytes(o, a->s, a->len);
		buf_addc(o, '"');
		break;
	case IMAP_ARG_LITERAL:
		if (a->len > 200) {
			buf_printf(o, "%s{%zu#%016llx}", a->literal8 ? "~" : "",
			           a->len,
			           (unsigned long long)fnv(a->s, a->len));
		} else {
			buf_printf(o, "%s{%zu}", a->literal8 ? "~" : "",
			           a->len);
			dump_bytes(o, a->s, a->len);
		}
		break;
	case IMAP_ARG_LIST:
		buf_addc(o, '(');
		for (i = 0; i < a->nlist; i++) {
			if (i)
				buf_addc(o, ' ');
			dump_arg(o, &a->list[i]);
		}
		buf_addc(o, ')');
		break;
	}
}

static void
dump_cmd(struct buf *o, const struct imap_command *c)
{
	size_t i;

	buf_printf(o, "%s %s", c->tag, c->name);
	for (i = 0; i < c->nargs; i++) {
		buf_addc(o, ' ');
		dump_arg(o, &c->args[i]);
	}
}

/* Runs the reader until it needs more; 1 when FATAL was seen. */
static int
drain(struct imap_reader *r, struct buf *in, struct buf *log)
{
	for (;;) {
		enum imap_read_status st = imap_reader_feed(r, in);

		switch (st) {
		case IMAP_READ_NEED_MORE:
			return 0;
		case IMAP_READ_COMMAND:
			buf_addstr(log, "CMD ");
			dump_cmd(log, imap_reader_command(r));
			buf_addc(log, '\n');
			break;
		case IMAP_READ_CONTINUE:
			buf_addstr(log, "CONT\n");
			break;
		case IMAP_READ_BAD:
			buf_printf(log, "BAD %s %s%s\n",
			           imap_reader_error_tag(r),
			           imap_reader_toobig(r) ? "[TOOBIG] " : "",
			           imap_reader_error(r));
			break;
		case IMAP_READ_FATAL:
			buf_printf(log, "FATAL %s\n", imap_reader_error(r));
			return 1;
		}
	}
}

/* Feeds s cut at cuts[0..ncuts) (ascending); the transcript goes to log. */
static void
run_cuts(const struct cfg *cfg, const char *s, size_t len, const size_t *cuts,
         size_t ncuts, struct buf *log)
{
	struct imap_reader *r = imap_reader_new(cfg->line_max, cfg->literal_max,
	                                        cfg->spool_dir);
	struct buf in;
	size_t i, prev = 0;

	buf_init(&in, 0);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		buf_add(&in, s + prev, end - prev);
		prev = end;
		if (drain(r, &in, log))
			break;
	}
	buf_clear(&in);
	imap_reader_free(&r);
}

static char *
transcript(const struct cfg *cfg, const char *s, size_t len)
{
	struct buf log;

	buf_init(&log, 0);
	run_cuts(cfg, s, len, NULL, 0, &log);
	return buf_steal(&log, NULL);
}

static char *
transcript_bytewise(const struct cfg *cfg, const char *s, size_t len)
{
	struct imap_reader *r = imap_reader_new(cfg->line_max, cfg->literal_max,
	                                        cfg->spool_dir);
	struct buf in, log;
	size_t i;

	buf_init(&in, 0);
	buf_init(&log, 0);
	for (i = 0; i < len; i++) {
		buf_addc(&in, s[i]);
		if (drain(r, &in, &log))
			break;
	}
	buf_clear(&in);
	imap_reader_free(&r);
	return buf_steal(&log, NULL);
}

/*
 * The transcript of s fed at once must be want; fed byte by byte and cut
 * at every point (every pair of points when short) it must be the same.
 */
static int
check_feed(const struct cfg *cfg, const char *s, size_t len, const char *want)
{
	char *whole, *other;
	size_t i, j, step = len > 4000 ? len / 997 : 1;
	int ok = 1;

	dump_ok = 1;
	whole = transcript(cfg, s, len);
	if (want && strcmp(whole, want) != 0) {
		fprintf(stderr, "  transcript:\n%s  expected:\n%s", whole,
		        want);
		ok = 0;
	}
	other = transcript_bytewise(cfg, s, len);
	if (strcmp(whole, other) != 0) {
		fprintf(stderr, "  byte-wise:\n%s  whole:\n%s", other, whole);
		ok = 0;
	}
	free(other);
	for (i = 1; ok && i < len; i += step) {
		struct buf log;

		buf_init(&log, 0);
		run_cuts(cfg, s, len, &i, 1, &log);
		if (strcmp(whole, buf_cstr(&log)) != 0) {
			fprintf(stderr, "  cut at %zu:\n%s  whole:\n%s", i,
			        buf_cstr(&log), whole);
			ok = 0;
		}
		buf_clear(&log);
	}
	for (i = 1; ok && len <= 160 && i < len; i++) {
		for (j = i + 1; ok && j < len; j++) {
			size_t cuts[2] = {i, j};
			struct buf log;

			buf_init(&log, 0);
			run_cuts(cfg, s, len, cuts, 2, &log);
			if (strcmp(whole, buf_cstr(&log)) != 0) {
				fprintf(stderr, "  cut at %zu,%zu:\n%s", i, j,
				        buf_cstr(&log));
				ok = 0;
			}
			buf_clear(&log);
		}
	}
	free(whole);
	if (!dump_ok) {
		fprintf(stderr, "  a string is not NUL-terminated\n");
		ok = 0;
	}
	return ok;
}

#define CHECK(cfg, s, want)     T_ASSERT(check_feed((cfg), (s), strlen(s), (want)))
#define CHECKN(cfg, s, n, want) T_ASSERT(check_feed((cfg), (s), (n), (want)))

/* ---- real client commands ---- */

static void
test_login_select(void)
{
	CHECK(&DEF, "a1 LOGIN alice \"pa ss\\\"w\\\\d\"\r\n",
	      "CMD a1 LOGIN alice \"pa ss\"w\\x5cd\"\n");
	CHECK(&DEF, "a2 select INBOX\r\n", "CMD a2 SELECT INBOX\n");
	CHECK(&DEF, "a3 NOOP\r\n", "CMD a3 NOOP\n");
	CHECK(&DEF, "a4 login {5}\r\nalice {6}\r\nsecret\r\n",
	      "CONT\nCONT\nCMD a4 LOGIN {5}alice {6}secret\n");
}

static void
test_fetch(void)
{
	CHECK(&DEF,
	      "A007 UID FETCH 1:*,7 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER."
	      "FIELDS (From To Cc Subject Date Message-ID)]<0.1024>)\r\n",
	      "CMD A007 UID FETCH 1:*,7 (UID RFC822.SIZE FLAGS BODY.PEEK["
	      "HEADER.FIELDS (From To Cc Subject Date Message-ID)]<0.1024>)"
	      "\n");
	CHECK(&DEF,
	      "b FETCH 1 (BODY[] BODY[1.2.MIME] BINARY.PEEK[1]<0.10>)\r\n",
	      "CMD b FETCH 1 (BODY[] BODY[1.2.MIME] BINARY.PEEK[1]<0.10>)\n");
	CHECK(&DEF, "c FETCH 1:3 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
	      "CMD c FETCH 1:3 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\n");
	/* nested brackets run to the matching one */
	CHECK(&DEF, "d FETCH 1 BODY[a[b c]d]x\r\n",
	      "CMD d FETCH 1 BODY[a[b c]d]x\n");
}

static void
test_append(void)
{
	CHECK(&DEF,
	      "A003 APPEND saved-messages (\\Seen) \"05-jan-1999 20:55:23 "
	      "+0000\" {21}\r\nFrom: x\r\n\r\nhi there\r\n\r\n",
	      "CONT\nCMD A003 APPEND saved-messages (\\x5cSeen) \"05-jan-1999 "
	      "20:55:23 +0000\" {21}From: x\\x0d\\x0a\\x0d\\x0ahi there\\x0d"
	      "\\x0a\n");
	/* LITERAL+: no continuation */
	CHECK(&DEF, "A4 APPEND INBOX {5+}\r\nhello\r\n",
	      "CMD A4 APPEND INBOX {5}hello\n");
	/* MULTIAPPEND, a literal with NUL and CRLF inside, literal8 */
	CHECKN(&DEF,
	       "m APPEND Drafts {3+}\r\na\0b (\\Draft) ~{4}\r\n\r\n\r\n\r\n",
	       strlen("m APPEND Drafts {3+}\r\na") + 1 +
	               strlen("b (\\Draft) ~{4}\r\n\r\n\r\n\r\n"),
	       "CONT\nCMD m APPEND Drafts {3}a\\x00b (\\x5cDraft) "
	       "~{4}\\x0d\\x0a\\x0d\\x0a\n");
	CHECK(&DEF, "e APPEND INBOX {0}\r\n\r\n",
	      "CONT\nCMD e APPEND INBOX {0}\n");
	CHECK(&DEF, "e APPEND INBOX {0+}\r\n {1}\r\nx\r\n",
	      "CONT\nCMD e APPEND INBOX {0} {1}x\n");
}

static void
test_search(void)
{
	CHECK(&DEF,
	      "s1 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM "
	      "\"bob\" SINCE 1-Feb-2024) NOT (SEEN UID 1:100) SUBJECT "
	      "\"\xc3\xa9t\xc3\xa9\"\r\n",
	      "CMD s1 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM "
	      "\"bob\" SINCE 1-Feb-2024) NOT (SEEN UID 1:100) SUBJECT "
	      "\"\\xc3\\xa9t\\xc3\\xa9\"\n");
	CHECK(&DEF, "s2 SEARCH CHARSET UTF-8 TEXT {4}\r\n\xc3\xa9t\xc3\r\n",
	      "CONT\nCMD s2 SEARCH CHARSET UTF-8 TEXT {4}\\xc3\\xa9t\\xc3\n");
	CHECK(&DEF, "s3 SEARCH $ UNDELETED\r\n", "CMD s3 SEARCH $ UNDELETED\n");
}

static void
test_store_id_misc(void)
{
	CHECK(&DEF, "x UID STORE 1:5,9 +FLAGS.SILENT (\\Seen \\*)\r\n",
	      "CMD x UID STORE 1:5,9 +FLAGS.SILENT (\\x5cSeen \\x5c*)\n");
	CHECK(&DEF, "i ID (\"name\" \"x\" \"version\" NIL)\r\n",
	      "CMD i ID (\"name\" \"x\" \"version\" <NIL:NIL>)\n");
	CHECK(&DEF, "i ID nil\r\n", "CMD i ID <NIL:nil>\n");
	CHECK(&DEF, "au AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
	      "CMD au AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\n");
	CHECK(&DEF, "e ENABLE QRESYNC CONDSTORE UTF8=ACCEPT\r\n",
	      "CMD e ENABLE QRESYNC CONDSTORE UTF8=ACCEPT\n");
	CHECK(&DEF, "l LIST \"\" * RETURN (SPECIAL-USE STATUS (MESSAGES))\r\n",
	      "CMD l LIST \"\" * RETURN (SPECIAL-USE STATUS (MESSAGES))\n");
	CHECK(&DEF, "l LIST (SUBSCRIBED) \"\" %/%\r\n",
	      "CMD l LIST (SUBSCRIBED) \"\" %/%\n");
	CHECK(&DEF,
	      "q SELECT INBOX (QRESYNC (67890007 20050715194045000 "
	      "41,43:211,214:541))\r\n",
	      "CMD q SELECT INBOX (QRESYNC (67890007 20050715194045000 "
	      "41,43:211,214:541))\n");
	CHECK(&DEF, "t+]a[ NOOP\r\n", NULL);
	CHECK(&DEF, "t]a[ NOOP\r\n", "CMD t]a[ NOOP\n");
	CHECK(&DEF, "e STATUS x ()\r\n", "CMD e STATUS x ()\n");
	CHECK(&DEF, "e X ((()))\r\n", "CMD e X ((()))\n");
	CHECK(&DEF, "e X \"\" ~a ~\r\n", "CMD e X \"\" ~a ~\n");
}

static void
test_lenient(void)
{
	/* bare LF, trailing spaces, a space before ")" */
	CHECK(&DEF, "a NOOP\n", "CMD a NOOP\n");
	CHECK(&DEF, "a NOOP   \r\n", "CMD a NOOP\n");
	CHECK(&DEF, "a FETCH 1 (FLAGS )\r\n", "CMD a FETCH 1 (FLAGS)\n");
	CHECK(&DEF, "a FETCH 1 (FLAGS  ) \r\n", "CMD a FETCH 1 (FLAGS)\n");
	CHECK(&DEF, "a APPEND x {1}\r\ny  \r\n", "CONT\nCMD a APPEND x {1}y\n");
}

static void
test_pipelined(void)
{
	CHECK(&DEF,
	      "1 NOOP\r\n2 LOGIN a {1+}\r\nb\r\n3 CAPABILITY\r\nbad\r\n4 X\n",
	      "CMD 1 NOOP\nCMD 2 LOGIN a {1}b\nCMD 3 CAPABILITY\n"
	      "BAD bad Missing command name\nCMD 4 X\n");
}

/* ---- syntax errors: BAD, then the next command is fine ---- */

static void
test_errors(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	        {"\r\n", "BAD * Empty command line\n"},
	        {" NOOP\r\n", "BAD * Invalid tag\n"},
	        {"a+ NOOP\r\n", "BAD * Invalid tag\n"},
	        {"* NOOP\r\n", "BAD * Invalid tag\n"},
	        {"a\"b NOOP\r\n", "BAD * Invalid tag\n"},
	        {"a\r\n", "BAD a Missing command name\n"},
	        {"a \r\n", "BAD a Missing command name\n"},
	        {"a  NOOP\r\n", "BAD a Missing command name\n"},
	        {"a NO*OP\r\n", "BAD a Invalid command name\n"},
	        {"a NOOP  x\r\n", "BAD a Too many spaces\n"},
	        {"a X \"abc\r\n", "BAD a Missing closing quote\n"},
	        {"a X \"a\\nb\"\r\n",
	         "BAD a Invalid escape in quoted string\n"},
	        {"a X \"a\\\"\r\n", "BAD a Missing closing quote\n"},
	        {"a X \"a\rb\"\r\n", "BAD a CR, LF or NUL in quoted string\n"},
	        {"a X (a b\r\n", "BAD a Missing )\n"},
	        {"a X (\r\n", "BAD a Missing )\n"},
	        {"a X a)\r\n", "BAD a Unexpected )\n"},
	        {"a X ( a)\r\n", "BAD a Invalid character in command\n"},
	        {"a X BODY[HEADER\r\n", "BAD a Missing ] in atom\n"},
	        {"a X BODY[\x01]\r\n", "BAD a Invalid character in command\n"},
	        {"a X \xc3\xa9\r\n", "BAD a 8-bit data outside a string\n"},
	        {"a X a\"b\"\r\n", "BAD a Expected a space\n"},
	        {"a X {5} x\r\n", "BAD a A literal must end the line\n"},
	        {"a X {}\r\n", "BAD a Invalid literal\n"},
	        {"a X {5\r\n", "BAD a Invalid literal\n"},
	        {"a X {+5}\r\n", "BAD a Invalid literal\n"},
	        {"a X ~{x}\r\n", "BAD a Invalid literal\n"},
	        {"a X \\\r\n", "BAD a Invalid character in command\n"},
	        {"a X a\\b\r\n", "BAD a Expected a space\n"},
	        {"a X a\rb\r\n", "BAD a Expected a space\n"},
	        {"a X (a)b\r\n", "BAD a Expected a space\n"},
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf in, want;
		int ok;

		buf_init(&in, 0);
		buf_init(&want, 0);
		buf_printf(&in, "%sz NOOP\r\n", t[i].in);
		buf_printf(&want, "%sCMD z NOOP\n", t[i].want);
		ok = check_feed(&DEF, in.data, in.len, want.data);
		if (!ok)
			fprintf(stderr, "  case %zu\n", i);
		buf_clear(&in);
		buf_clear(&want);
		T_ASSERT(ok);
	}
}

static void
test_nul(void)
{
	static const char a[] = "a X ab\0c\r\nz NOOP\r\n";
	static const char b[] = "a X \"a\0\"\r\nz NOOP\r\n";
	static const char c[] = "a\0 X\r\nz NOOP\r\n";
	static const char d[] = "a X (x \0)\r\nz NOOP\r\n";
	static const char e[] = "a X BODY[\0]\r\nz NOOP\r\n";

	CHECKN(&DEF, a, sizeof a - 1,
	       "BAD a NUL byte in command line\nCMD z NOOP\n");
	CHECKN(&DEF, b, sizeof b - 1,
	       "BAD a CR, LF or NUL in quoted string\nCMD z NOOP\n");
	CHECKN(&DEF, c, sizeof c - 1, "BAD * Invalid tag\nCMD z NOOP\n");
	CHECKN(&DEF, d, sizeof d - 1,
	       "BAD a NUL byte in command line\nCMD z NOOP\n");
	CHECKN(&DEF, e, sizeof e - 1,
	       "BAD a NUL byte in command line\nCMD z NOOP\n");
}

/* A refused command ending in {N+}: its literal is skipped, never parsed. */
static void
test_bad_literal_plus_skipped(void)
{
	CHECK(&DEF, "a X ( {16+}\r\nb DELETE INBOX\r\n rest\r\nz NOOP\r\n",
	      "BAD a Invalid character in command\nCMD z NOOP\n");
	/* ...and a second one on the next line of the same command */
	CHECK(&DEF,
	      "a X ( {3+}\r\nc Y {16+}\r\nb DELETE INBOX\r\n\r\nz NOOP\r\n",
	      "BAD a Invalid character in command\nCMD z NOOP\n");
	/* a synchronising one is not sent: the next line is a command */
	CHECK(&DEF, "a X ( {16}\r\nz NOOP\r\n",
	      "BAD a Invalid character in command\nCMD z NOOP\n");
	/* a refused literal's CRLF split from the marker, bare LF */
	CHECK(&DEF, "a X ) {4+}\nb X\r\nz NOOP\r\n",
	      "BAD a Unexpected )\nCMD z NOOP\n");
}

/* ---- limits ---- */

static void
make_line(struct buf *b, const char *prefix, size_t total, const char *suffix)
{
	size_t n = total - strlen(prefix) - strlen("\r\n");

	buf_addstr(b, prefix);
	while (n-- > 0)
		buf_addc(b, 'x');
	buf_addstr(b, "\r\n");
	buf_addstr(b, suffix);
}

static void
test_line_max_at_and_over(void)
{
	struct cfg c = {100, 1000, NULL};
	struct buf b;
	char want[256];
	int ok;

	/* at: 100 bytes with CRLF */
	buf_init(&b, 0);
	make_line(&b, "a X ", 100, "z NOOP\r\n");
	snprintf(want, sizeof want, "CMD a X %.*s\nCMD z NOOP\n", 94,
	         b.data + 4);
	ok = check_feed(&c, b.data, b.len, want);
	buf_clear(&b);
	T_ASSERT(ok);
	/* one over */
	buf_init(&b, 0);
	make_line(&b, "a X ", 101, "z NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD a Command line too long\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
	/* lines after a literal count too, and the literal itself */
	buf_init(&b, 0);
	buf_addstr(&b, "a X {10}\r\n0123456789");
	make_line(&b, " ", 100 - 10 - 10, "z NOOP\r\n");
	ok = check_feed(&c, b.data, b.len, NULL);
	T_ASSERT(ok);
	{
		char *t = transcript(&c, b.data, b.len);
		ok = strncmp(t, "CONT\nCMD a X {10}0123456789 xxx", 31) == 0;
		free(t);
	}
	buf_clear(&b);
	T_ASSERT(ok);
	buf_init(&b, 0);
	buf_addstr(&b, "a X {10}\r\n0123456789");
	make_line(&b, " ", 100 - 10 - 10 + 1, "z NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "CONT\nBAD a Command line too long\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
	/* a too-long line ending in a LITERAL+: the literal is skipped */
	buf_init(&b, 0);
	make_line(&b, "a APPEND x ", 150, "");
	b.len -= 2;
	buf_addstr(&b,
	           " {16+}\r\nb DELETE INBOX\r\n {2+}\r\n\r\n\r\nz NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD a Command line too long\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
	/* a line of one byte under a tiny cap; a cap of 1 */
	c.line_max = 1;
	CHECK(&c, "\n", "BAD * Empty command line\n");
	CHECK(&c, "a\nb\n",
	      "BAD * Command line too long\nBAD * Command line too long\n");
}

static void
test_line_max_tag(void)
{
	struct cfg c = {64, 1000, NULL};
	struct buf b;
	int ok;

	/* the tag is reported when it was read before the cap */
	buf_init(&b, 0);
	make_line(&b, "tag1 FETCH ", 200, "z NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD tag1 Command line too long\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
	/* a tag longer than the cap: "*" */
	buf_init(&b, 0);
	make_line(&b, "", 200, "z NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD * Command line too long\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
}

/* A 10 MB line: refused once the cap is passed, then skipped unbuffered. */
static void
test_line_max_huge(void)
{
	struct imap_reader *r = imap_reader_new(IMAP_MAX_LINE, 1000, NULL);
	struct buf in;
	char chunk[65536];
	size_t sent = 0;
	int bads = 0;
	enum imap_read_status st;

	memset(chunk, 'x', sizeof chunk);
	buf_init(&in, 0);
	buf_addstr(&in, "huge APPEND ");
	sent = in.len;
	while (sent < 10 * 1024 * 1024) {
		buf_add(&in, chunk, sizeof chunk);
		sent += sizeof chunk;
		while ((st = imap_reader_feed(r, &in)) != IMAP_READ_NEED_MORE) {
			T_EQ_INT(st, IMAP_READ_BAD);
			T_EQ_STR(imap_reader_error_tag(r), "huge");
			T_EQ_INT(imap_reader_toobig(r), 0);
			bads++;
			/* refused as soon as the cap is passed */
			T_ASSERT(sent <= IMAP_MAX_LINE + sizeof chunk);
		}
		/* nothing left buffered by the caller either */
		T_EQ_INT(in.len, 0);
	}
	T_EQ_INT(bads, 1);
	buf_addstr(&in, "xx\r\nz NOOP\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	T_EQ_STR(imap_reader_command(r)->tag, "z");
	/* a huge line with no end keeps being discarded */
	buf_addstr(&in, "y ");
	for (sent = 0; sent < 4 * 1024 * 1024; sent += sizeof chunk) {
		buf_add(&in, chunk, sizeof chunk);
		while ((st = imap_reader_feed(r, &in)) != IMAP_READ_NEED_MORE)
			T_EQ_INT(st, IMAP_READ_BAD);
		T_EQ_INT(in.len, 0);
	}
	buf_clear(&in);
	imap_reader_free(&r);
}

static char *
literal_cmd(const char *prefix, const char *n, const char *body)
{
	return xasprintf("%s{%s}\r\n%s\r\nz NOOP\r\n", prefix, n, body);
}

/* Five cases for the literal cap, synchronising. */
static void
test_literal_max_sync(void)
{
	struct cfg c = {1000, 10, NULL};
	char *s;
	int ok;

	s = literal_cmd("a APPEND x ", "10", "0123456789");
	ok = check_feed(&c, s, strlen(s),
	                "CONT\nCMD a APPEND x {10}0123456789\nCMD z NOOP\n");
	free(s);
	T_ASSERT(ok);
	/* one over: refused before "+", the client sends the next command */
	CHECK(&c, "a APPEND x {11}\r\nz NOOP\r\n",
	      "BAD a [TOOBIG] Literal too big\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {-1}\r\nz NOOP\r\n",
	      "BAD a Invalid literal\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {4294967296}\r\nz NOOP\r\n",
	      "BAD a [TOOBIG] Literal too big\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {99999999999999999999999999999999}\r\nz NOOP\r\n",
	      "BAD a [TOOBIG] Literal too big\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {1O}\r\nz NOOP\r\n",
	      "BAD a Invalid literal\nCMD z NOOP\n");
	/* leading zeros are a number too */
	CHECK(&c, "a LOGIN {0000000003}\r\nabc x\r\n",
	      "CONT\nCMD a LOGIN {3}abc x\n");
}

/* Five cases for the literal cap, LITERAL+: over the cap is fatal. */
static void
test_literal_max_plus(void)
{
	struct cfg c = {1000, 10, NULL};

	CHECK(&c, "a APPEND x {10+}\r\n0123456789\r\nz NOOP\r\n",
	      "CMD a APPEND x {10}0123456789\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {11+}\r\n01234567890\r\nz NOOP\r\n",
	      "FATAL Non-synchronising literal too big\n");
	CHECK(&c, "a APPEND x {-1+}\r\nz NOOP\r\n",
	      "BAD a Invalid literal\nCMD z NOOP\n");
	CHECK(&c, "a APPEND x {18446744073709551617+}\r\nz NOOP\r\n",
	      "FATAL Non-synchronising literal too big\n");
	CHECK(&c, "a APPEND x {x+}\r\nz NOOP\r\n",
	      "BAD a Invalid literal\nCMD z NOOP\n");
}

/* Before login (IMAP_MAX_LITERAL_PREAUTH) and after set_literal_max. */
static void
test_literal_max_preauth(void)
{
	struct imap_reader *r =
	        imap_reader_new(IMAP_MAX_LINE, IMAP_MAX_LITERAL_PREAUTH, NULL);
	struct buf in;

	buf_init(&in, 0);
	buf_printf(&in, "a LOGIN u {%d}\r\n", IMAP_MAX_LITERAL_PREAUTH + 1);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_BAD);
	T_EQ_INT(imap_reader_toobig(r), 1);
	T_EQ_STR(imap_reader_error_tag(r), "a");
	buf_printf(&in, "b LOGIN u {%d}\r\n", IMAP_MAX_LITERAL_PREAUTH);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	while (in.len < IMAP_MAX_LITERAL_PREAUTH)
		buf_addc(&in, 'p');
	buf_addstr(&in, "\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	T_EQ_INT(imap_reader_command(r)->args[1].len, IMAP_MAX_LITERAL_PREAUTH);
	imap_reader_set_literal_max(r, IMAP_MAX_LITERAL);
	buf_printf(&in, "c APPEND x {%d}\r\n", IMAP_MAX_LITERAL);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	T_ASSERT(imap_reader_command(r) == NULL);
	imap_reader_free(&r);
	buf_clear(&in);
}

/* For commands other than APPEND, literals count against line_max. */
static void
test_literal_line_budget(void)
{
	struct cfg c = {100, 1000, NULL};
	struct buf b;
	char *t;
	int ok;

	/* "a X {N}\r\n" is 10 bytes with N two digits, then N, then CRLF */
	buf_init(&b, 0);
	buf_addstr(&b, "a X {88}\r\n");
	while (b.len < 10 + 88)
		buf_addc(&b, 'l');
	buf_addstr(&b, "\r\nz NOOP\r\n");
	t = transcript(&c, b.data, b.len);
	ok = strncmp(t, "CONT\nCMD a X {88}", 17) == 0;
	free(t);
	ok = ok && check_feed(&c, b.data, b.len, NULL);
	buf_clear(&b);
	T_ASSERT(ok);
	CHECK(&c, "a X {91}\r\nz NOOP\r\n",
	      "BAD a [TOOBIG] Literal too big for a command line\n"
	      "CMD z NOOP\n");
	/* LITERAL+ over the line budget: skipped (with what looks like a
	 * command inside), then the rest of the command too */
	buf_init(&b, 0);
	buf_addstr(&b, "a X {100+}\r\nb DELETE INBOX\r\n");
	while (b.len < 12 + 100)
		buf_addc(&b, 'x');
	buf_addstr(&b, " more {3+}\r\nabc\r\nz NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD a [TOOBIG] Literal too big for a command line\n"
	                "CMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
	/* APPEND literals do not count against line_max */
	buf_init(&b, 0);
	buf_addstr(&b, "a APPEND x {500}\r\n");
	while (b.len < 18 + 500)
		buf_addc(&b, 'm');
	buf_addstr(&b, " {500+}\r\n");
	while (b.len < 18 + 500 + 9 + 500)
		buf_addc(&b, 'n');
	buf_addstr(&b, "\r\nz NOOP\r\n");
	t = transcript(&c, b.data, b.len);
	ok = strncmp(t, "CONT\nCMD a APPEND x {500#", 25) == 0 &&
	     strstr(t, "CMD z NOOP\n") != NULL;
	free(t);
	ok = ok && check_feed(&c, b.data, b.len, NULL);
	buf_clear(&b);
	T_ASSERT(ok);
}

/* MULTIAPPEND: each literal capped, and all of them together. */
static void
test_append_total(void)
{
	struct cfg c = {1000, 10, NULL};
	struct buf b;
	int i, ok;

	buf_init(&b, 0);
	buf_addstr(&b, "a APPEND x");
	for (i = 0; i < IMAP_APPEND_LITERALS_FACTOR; i++)
		buf_addstr(&b, " {10+}\r\n0123456789");
	buf_addstr(&b, "\r\nz NOOP\r\n");
	ok = check_feed(&c, b.data, b.len, NULL);
	T_ASSERT(ok);
	{
		char *t = transcript(&c, b.data, b.len);
		ok = strncmp(t, "CMD a APPEND x {10}", 19) == 0;
		free(t);
		T_ASSERT(ok);
	}
	buf_reset(&b);
	buf_addstr(&b, "a APPEND x");
	for (i = 0; i < IMAP_APPEND_LITERALS_FACTOR; i++)
		buf_addstr(&b, " {10}\r\n0123456789");
	buf_addstr(&b, " {1}\r\nz NOOP\r\n");
	{
		struct buf want;

		buf_init(&want, 0);
		for (i = 0; i < IMAP_APPEND_LITERALS_FACTOR; i++)
			buf_addstr(&want, "CONT\n");
		buf_addstr(&want,
		           "BAD a [TOOBIG] Literal too big\nCMD z NOOP\n");
		ok = check_feed(&c, b.data, b.len, want.data);
		buf_clear(&want);
	}
	buf_clear(&b);
	T_ASSERT(ok);
}

static void
test_max_args(void)
{
	struct cfg c = {64 * 1024, 1000, NULL};
	struct buf b;
	char *t;
	int i, ok;

	/* at: IMAP_MAX_ARGS arguments */
	buf_init(&b, 0);
	buf_addstr(&b, "a X");
	for (i = 0; i < IMAP_MAX_ARGS; i++)
		buf_addstr(&b, " a");
	buf_addstr(&b, "\r\n");
	t = transcript(&c, b.data, b.len);
	ok = strncmp(t, "CMD a X a a", 11) == 0;
	free(t);
	T_ASSERT(ok);
	/* one over, by an atom; by a list; by a literal (skipped) */
	buf_reset(&b);
	buf_addstr(&b, "a X");
	for (i = 0; i < IMAP_MAX_ARGS; i++)
		buf_addstr(&b, " a");
	buf_addstr(&b, " b\r\nz NOOP\r\n");
	T_ASSERT(check_feed(&c, b.data, b.len,
	                    "BAD a Too many arguments\nCMD z NOOP\n"));
	buf_reset(&b);
	buf_addstr(&b, "a X (");
	for (i = 0; i < IMAP_MAX_ARGS - 1; i++)
		buf_addstr(&b, i ? " \"\"" : "\"\"");
	buf_addstr(&b, ") ()\r\nz NOOP\r\n");
	T_ASSERT(check_feed(&c, b.data, b.len,
	                    "BAD a Too many arguments\nCMD z NOOP\n"));
	buf_reset(&b);
	buf_addstr(&b, "a X");
	for (i = 0; i < IMAP_MAX_ARGS; i++)
		buf_addstr(&b, " a");
	buf_addstr(&b, " {8+}\r\nz BAD\r\n\r\nz NOOP\r\n");
	T_ASSERT(check_feed(&c, b.data, b.len,
	                    "BAD a Too many arguments\nCMD z NOOP\n"));
	buf_clear(&b);
}

static void
test_list_depth(void)
{
	struct buf b, want;
	int i, ok;

	buf_init(&b, 0);
	buf_init(&want, 0);
	buf_addstr(&b, "a X ");
	buf_addstr(&want, "CMD a X ");
	for (i = 0; i < IMAP_MAX_LIST_DEPTH; i++) {
		buf_addc(&b, '(');
		buf_addc(&want, '(');
	}
	buf_addstr(&b, "x");
	buf_addstr(&want, "x");
	for (i = 0; i < IMAP_MAX_LIST_DEPTH; i++) {
		buf_addc(&b, ')');
		buf_addc(&want, ')');
	}
	buf_addstr(&b, "\r\n");
	buf_addstr(&want, "\n");
	ok = check_feed(&DEF, b.data, b.len, want.data);
	T_ASSERT(ok);
	buf_reset(&b);
	buf_addstr(&b, "a X ");
	for (i = 0; i < IMAP_MAX_LIST_DEPTH + 1; i++)
		buf_addc(&b, '(');
	for (i = 0; i < IMAP_MAX_LIST_DEPTH + 1; i++)
		buf_addc(&b, ')');
	buf_addstr(&b, "\r\nz NOOP\r\n");
	ok = check_feed(&DEF, b.data, b.len,
	                "BAD a Lists nested too deeply\nCMD z NOOP\n");
	T_ASSERT(ok);
	/* huge: 100000 open parentheses */
	buf_reset(&b);
	buf_addstr(&b, "a X ");
	for (i = 0; i < 30000; i++)
		buf_addc(&b, '(');
	buf_addstr(&b, "\r\nz NOOP\r\n");
	ok = check_feed(&DEF, b.data, b.len,
	                "BAD a Lists nested too deeply\nCMD z NOOP\n");
	buf_clear(&b);
	buf_clear(&want);
	T_ASSERT(ok);
}

/* ---- FATAL, raw lines, memory ---- */

static void
test_fatal_sticky(void)
{
	struct imap_reader *r = imap_reader_new(1000, 10, NULL);
	struct buf in;
	const char *line;
	size_t len;

	buf_init(&in, 0);
	buf_addstr(&in, "a APPEND x {11+}\r\n01234567890\r\nz NOOP\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_FATAL);
	T_EQ_STR(imap_reader_error_tag(r), "a");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_FATAL);
	buf_reset(&in);
	buf_addstr(&in, "z NOOP\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_FATAL);
	T_ASSERT(imap_reader_command(r) == NULL);
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), -1);
	imap_reader_free(&r);
	T_ASSERT(r == NULL);
	imap_reader_free(&r);
	buf_clear(&in);
}

static void
test_raw_line(void)
{
	struct imap_reader *r = imap_reader_new(16, 10, NULL);
	struct buf in;
	const char *line;
	size_t len;

	buf_init(&in, 0);
	buf_addstr(&in, "a IDLE\r\nDO");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	T_EQ_STR(imap_reader_command(r)->name, "IDLE");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 0);
	T_ASSERT(imap_reader_command(r) == NULL); /* released */
	buf_addstr(&in, "NE\r");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 0);
	buf_addstr(&in, "\nAGFsaWNl\nb NOOP\r\n");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 1);
	T_EQ_INT(len, 4);
	T_EQ_STR(line, "DONE");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 1);
	T_EQ_STR(line, "AGFsaWNl");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	T_EQ_STR(imap_reader_command(r)->tag, "b");
	/* at the cap (16 with CRLF), one over, and one with no end */
	buf_addstr(&in, "0123456789abcd\r\n0123456789abcde\r\n");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 1);
	T_EQ_INT(len, 14);
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), -1);
	T_EQ_INT(in.len, 0);
	buf_addstr(&in, "0123456789abcdef");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), -1);
	buf_addstr(&in, "more junk");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 0);
	buf_addstr(&in, " {3+}\r\n*\r\n");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 1);
	T_EQ_STR(line, "*");
	/* empty line */
	buf_addstr(&in, "\r\n");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), 1);
	T_EQ_INT(len, 0);
	/* not in the middle of a command */
	buf_addstr(&in, "a LOGIN {3}\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	buf_addstr(&in, "x\r\n");
	T_EQ_INT(imap_reader_line(r, &in, &line, &len), -1);
	buf_clear(&in);
	imap_reader_free(&r);
}

static void
test_bad_then_good(void)
{
	struct imap_reader *r = imap_reader_new(1000, 100, NULL);
	struct buf in;
	const struct imap_command *c;

	buf_init(&in, 0);
	buf_addstr(&in, "a X {200}\r\nb NOOP\r\nc ID (\"a\" NIL)\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_BAD);
	T_EQ_INT(imap_reader_toobig(r), 1);
	T_ASSERT(imap_reader_command(r) == NULL);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	c = imap_reader_command(r);
	T_EQ_STR(c->tag, "b");
	T_EQ_INT(c->nargs, 0);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	c = imap_reader_command(r);
	T_EQ_STR(c->name, "ID");
	T_EQ_INT(c->nargs, 1);
	T_EQ_INT(c->args[0].type, IMAP_ARG_LIST);
	T_EQ_INT(c->args[0].nlist, 2);
	T_EQ_INT(c->args[0].list[1].type, IMAP_ARG_NIL);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
	T_ASSERT(imap_reader_command(r) == NULL);
	/* toobig is per BAD */
	buf_addstr(&in, "d X (\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_BAD);
	T_EQ_INT(imap_reader_toobig(r), 0);
	T_EQ_STR(imap_reader_error_tag(r), "d");
	buf_clear(&in);
	imap_reader_free(&r);
}

static void
test_helpers(void)
{
	struct imap_reader *r = imap_reader_new(1000, 100, NULL);
	struct buf in;
	const struct imap_arg *a;

	buf_init(&in, 0);
	buf_addstr(&in, "a X atom \"q\" {1+}\r\nl NIL (x) \\Seen\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	a = imap_reader_command(r)->args;
	T_EQ_INT(imap_reader_command(r)->nargs, 6);
	T_ASSERT(imap_arg_is_astring(&a[0]) && imap_arg_is_string(&a[0]));
	T_ASSERT(imap_arg_is_astring(&a[1]) && imap_arg_is_string(&a[1]));
	T_ASSERT(imap_arg_is_astring(&a[2]) && imap_arg_is_string(&a[2]));
	T_ASSERT(imap_arg_is_string(&a[3]));
	T_ASSERT(!imap_arg_is_astring(&a[4]) && !imap_arg_is_string(&a[4]));
	T_ASSERT(imap_arg_atom_is(&a[0], "ATOM"));
	T_ASSERT(!imap_arg_atom_is(&a[0], "ATO"));
	T_ASSERT(!imap_arg_atom_is(&a[1], "q"));
	T_ASSERT(imap_arg_atom_is(&a[3], "nil"));
	T_ASSERT(imap_arg_atom_is(&a[5], "\\seen"));
	T_EQ_INT(a[2].type, IMAP_ARG_LITERAL);
	T_EQ_INT(a[2].literal8, 0);
	buf_clear(&in);
	imap_reader_free(&r);
}

/* LOGIN is zeroed when released (white-box: the arena's first block is
 * kept, so the stale pointer still points at live memory). */
static void
test_secret_wiped(void)
{
	struct imap_reader *r = imap_reader_new(1000, 100, NULL);
	struct buf in;
	const char *pw, *box;

	buf_init(&in, 0);
	buf_addstr(&in, "a LOGIN alice {6}\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	buf_addstr(&in, "s3cret\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	pw = imap_reader_command(r)->args[1].s;
	T_EQ_STR(pw, "s3cret");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
	T_ASSERT(memcmp(pw, "s3cret", 6) != 0);
	buf_addstr(&in, "b SELECT mybox\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	box = imap_reader_command(r)->args[0].s;
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
	T_ASSERT(memcmp(box, "mybox", 5) == 0); /* others are not */
	buf_clear(&in);
	imap_reader_free(&r);
}

/* ---- spooled literals ---- */

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

static int
dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n == 0;
}

static void
test_spool_1mb(void)
{
	size_t n = 1024 * 1024, i, sent;
	struct imap_reader *r =
	        imap_reader_new(IMAP_MAX_LINE, IMAP_MAX_LITERAL, spool_dir);
	struct buf in;
	char *body = xmalloc(n);
	const struct imap_command *c;
	int fds0 = count_fds();

	for (i = 0; i < n; i++)
		body[i] = (char)(i * 7 + i / 251);
	body[100] = '\0';
	buf_init(&in, 0);
	buf_printf(&in, "a APPEND INBOX (\\Seen) {%zu}\r\n", n);
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	/* odd-sized chunks */
	for (sent = 0; sent < n;) {
		size_t k = n - sent < 4099 ? n - sent : 4099;

		buf_add(&in, body + sent, k);
		sent += k;
		T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
		T_EQ_INT(in.len, 0);
	}
	T_ASSERT(dir_is_empty(spool_dir)); /* unlinked at once */
	buf_addstr(&in, " {300000+}\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
	for (sent = 0; sent < 300000; sent++)
		buf_addc(&in, 'z');
	buf_addstr(&in, " {5}\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_CONTINUE);
	buf_addstr(&in, "small\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	c = imap_reader_command(r);
	T_EQ_INT(c->nargs, 5);
	T_EQ_INT(c->args[2].type, IMAP_ARG_LITERAL);
	T_EQ_INT(c->args[2].len, n);
	T_ASSERT(memcmp(c->args[2].s, body, n) == 0);
	T_EQ_INT(c->args[2].s[n], '\0');
	/* mapped: page-aligned, unlike the arena */
	T_EQ_INT((uintptr_t)c->args[2].s % 4096, 0);
	T_EQ_INT(c->args[3].len, 300000);
	T_EQ_INT(c->args[3].s[0], 'z');
	T_EQ_INT(c->args[3].s[299999], 'z');
	T_EQ_INT(c->args[3].s[300000], '\0');
	T_EQ_INT((uintptr_t)c->args[3].s % 4096, 0);
	T_EQ_STR(c->args[4].s, "small");
	T_EQ_INT(count_fds(), fds0 + 1);
	/* released by the next call */
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_NEED_MORE);
	T_EQ_INT(count_fds(), fds0);
	free(body);
	buf_clear(&in);
	imap_reader_free(&r);
}

/* Byte by byte and split everywhere, through the spool too. */
static void
test_spool_splits(void)
{
	static const char tail[] = " ~{3}\r\n\0\0\0\r\nz NOOP\r\n";
	struct cfg c = {IMAP_MAX_LINE, IMAP_MAX_LITERAL, NULL};
	struct buf b;
	char *heap, *spooled;
	size_t hdr;
	int ok;

	c.spool_dir = spool_dir;
	buf_init(&b, 0);
	buf_printf(&b, "a APPEND x {%d}\r\n", IMAP_LITERAL_SPOOL_MIN + 1);
	hdr = b.len;
	while (b.len < hdr + IMAP_LITERAL_SPOOL_MIN + 1)
		buf_addc(&b, (char)('a' + b.len % 26));
	buf_add(&b, tail, sizeof tail - 1);
	ok = check_feed(&c, b.data, b.len, NULL);
	T_ASSERT(ok);
	spooled = transcript(&c, b.data, b.len);
	c.spool_dir = NULL;
	heap = transcript(&c, b.data, b.len);
	ok = strcmp(spooled, heap) == 0 && strstr(heap, "CMD z NOOP") != NULL;
	if (!ok)
		fprintf(stderr, "%s---\n%s", spooled, heap);
	free(spooled);
	free(heap);
	buf_clear(&b);
	T_ASSERT(ok);
}

/* Past IMAP_LITERAL_HEAP_MAX even small literals go to the file. */
static void
test_spool_heap_budget(void)
{
	struct imap_reader *r =
	        imap_reader_new(IMAP_MAX_LINE, IMAP_MAX_LITERAL, spool_dir);
	struct buf in;
	size_t i, k, per = IMAP_LITERAL_SPOOL_MIN;
	size_t count = IMAP_LITERAL_HEAP_MAX / per + 2;
	const struct imap_command *c;
	int aligned = 0;

	buf_init(&in, 0);
	buf_addstr(&in, "a APPEND x");
	for (i = 0; i < count; i++) {
		buf_printf(&in, " {%zu+}\r\n", per);
		for (k = 0; k < per; k++)
			buf_addc(&in, (char)('0' + i));
	}
	buf_addstr(&in, "\r\n");
	T_EQ_INT(imap_reader_feed(r, &in), IMAP_READ_COMMAND);
	c = imap_reader_command(r);
	T_EQ_INT(c->nargs, count + 1);
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &c->args[i + 1];

		T_EQ_INT(a->len, per);
		T_EQ_INT(a->s[0], '0' + (int)i);
		T_EQ_INT(a->s[per - 1], '0' + (int)i);
		T_EQ_INT(a->s[per], 0);
		if ((uintptr_t)a->s % 4096 == 0)
			aligned++;
	}
	T_ASSERT(aligned >= 2);
	buf_clear(&in);
	imap_reader_free(&r);
}

static void
test_spool_dir_missing(void)
{
	struct cfg c = {IMAP_MAX_LINE, IMAP_MAX_LITERAL,
	                "/nonexistent/popbridge"};
	struct buf b;
	int ok;

	/* synchronising: refused, never sent */
	CHECK(&c, "a APPEND x {300000}\r\nz NOOP\r\n",
	      "BAD a Cannot store literal\nCMD z NOOP\n");
	/* LITERAL+: skipped */
	buf_init(&b, 0);
	buf_addstr(&b, "a APPEND x {300000+}\r\n");
	while (b.len < 22 + 300000)
		buf_addstr(&b, "b DELETE INBOX\r\n");
	b.len = 22 + 300000;
	buf_addstr(&b, " {2}\r\nz NOOP\r\n");
	ok = check_feed(&c, b.data, b.len,
	                "BAD a Cannot store literal\nCMD z NOOP\n");
	buf_clear(&b);
	T_ASSERT(ok);
}

static void
test_setup(void)
{
	char tmpl[] = "/tmp/pb-test-parser-XXXXXX";

	log_set_level(LOG_LVL_ERROR); /* spool failures are logged */
	T_ASSERT(mkdtemp(tmpl) != NULL);
	memcpy(spool_dir, tmpl, sizeof tmpl);
}

static void
test_teardown(void)
{
	T_ASSERT(dir_is_empty(spool_dir));
	T_EQ_INT(rmdir(spool_dir), 0);
}

static const struct test_case tests[] = {
        {"setup", test_setup},
        {"login_select", test_login_select},
        {"fetch", test_fetch},
        {"append", test_append},
        {"search", test_search},
        {"store_id_misc", test_store_id_misc},
        {"lenient", test_lenient},
        {"pipelined", test_pipelined},
        {"errors", test_errors},
        {"nul", test_nul},
        {"bad_literal_plus_skipped", test_bad_literal_plus_skipped},
        {"line_max_at_and_over", test_line_max_at_and_over},
        {"line_max_tag", test_line_max_tag},
        {"line_max_huge", test_line_max_huge},
        {"literal_max_sync", test_literal_max_sync},
        {"literal_max_plus", test_literal_max_plus},
        {"literal_max_preauth", test_literal_max_preauth},
        {"literal_line_budget", test_literal_line_budget},
        {"append_total", test_append_total},
        {"max_args", test_max_args},
        {"list_depth", test_list_depth},
        {"fatal_sticky", test_fatal_sticky},
        {"raw_line", test_raw_line},
        {"bad_then_good", test_bad_then_good},
        {"helpers", test_helpers},
        {"secret_wiped", test_secret_wiped},
        {"spool_1mb", test_spool_1mb},
        {"spool_splits", test_spool_splits},
        {"spool_heap_budget", test_spool_heap_budget},
        {"spool_dir_missing", test_spool_dir_missing},
        {"teardown", test_teardown},
        {NULL, NULL},
};

TEST_MAIN(tests)
