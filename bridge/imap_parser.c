/*
 * bridge/imap_parser.c: the IMAP command reader (see imap_parser.h).
 * RFC 3501 section 9 grammar (tag, command name, atom, quoted, literal,
 * NIL, parenthesised lists), RFC 7888 LITERAL+ ({N+}), RFC 3516 literal8
 * (~{N}), RFC 3502 MULTIAPPEND (several literals in one APPEND).
 *
 * How it reads: bytes are taken a line at a time. A line that is not
 * complete yet is copied into r->line (so the cap applies as bytes
 * arrive); a complete line is tokenised at once, straight from the input
 * buffer when it arrived whole. Tokenising keeps its state in the reader
 * (argument stack, open lists, "a separator is due"), so a command goes on
 * after a literal on the next line. Literals are copied into the arena,
 * or, past IMAP_LITERAL_SPOOL_MIN, written to an unlinked file and mapped
 * back. Feeding one byte at a time gives the same events and the same
 * parse as feeding everything at once.
 *
 * Memory: strings and list arrays live in a bump arena reset when the
 * command is released; the top-level argument array is the reader's
 * argument stack. The arena has a cap derived from the limits; reaching it
 * is a BAD, not a crash. LOGIN and AUTHENTICATE commands, partial lines and
 * raw lines are zeroed when released (they carry passwords).
 *
 * Refused commands: the reader reports BAD once, at once, then skips the
 * rest of the command without buffering it. While skipping it watches for
 * a "{N+}" at a line end, so the bytes of a non-synchronising literal are
 * never taken for commands (a message being appended could hold lines
 * that look like IMAP commands).
 */
#include "imap_parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/arena.h"
#include "../common/str.h"
#include "../common/xalloc.h"

/* Bytes written to the spool file per write() (staged below that). */
#define SPOOL_STAGE (64 * 1024)

/* ---- the reader ---- */

enum reader_state {
	RS_LINE, /* reading a line of a command (first, or after a literal) */
	RS_LITERAL, /* reading the bytes of a literal */
	RS_SKIP,    /* skipping the bytes of a refused LITERAL+ literal */
	RS_DISCARD, /* skipping the rest of a refused command */
	RS_FATAL,
};

/* Recognises "{N}" / "{N+}" (then an optional CR) just before a LF. */
enum tail_state { T_NONE, T_OPEN, T_DIGITS, T_PLUS, T_CLOSE, T_CR };

struct tail {
	enum tail_state st;
	int plus;
	int overflow;
	uint64_t v;
};

struct spool_map {
	void *addr;
	size_t len;
};

struct imap_reader {
	size_t line_max;
	uint64_t literal_max;
	char *spool_dir;
	long pagesize;
	enum reader_state state;

	/* the command being read; handed out as cmd when have_cmd */
	int have_cmd;
	struct imap_command cmd;
	int started;        /* tag and name were parsed */
	int is_append;      /* its literals do not count against line_max */
	int is_secret;      /* LOGIN, AUTHENTICATE: wipe it when released */
	int need_sep;       /* an argument ended: SP, ")" or the line end */
	uint64_t cmd_bytes; /* bytes counted against line_max */
	uint64_t lit_total; /* APPEND: literal bytes so far */
	uint64_t heap_lit;  /* literal bytes held in the arena */
	struct buf line;    /* a line still missing its LF */
	struct arena arena;
	struct imap_arg *stk; /* open arguments; stk[0..nstk) */
	size_t nstk, stk_alloc;
	size_t frames[IMAP_MAX_LIST_DEPTH]; /* stk index of each list's items */
	size_t depth;
	size_t nargs; /* arguments counted against IMAP_MAX_ARGS */

	/* the literal being read */
	uint64_t lit_len, lit_got;
	int lit_plus, lit_literal8, lit_overflow;
	char *lit_heap;   /* destination in the arena, NULL when spooled */
	uint64_t lit_off; /* its offset in the spool file */

	/* the spool file of this command, one mapping per literal */
	int spool_fd;
	uint64_t spool_end; /* next free page-aligned offset */
	struct spool_map *maps;
	size_t nmaps, maps_alloc;
	char *stage;
	size_t stage_len;

	/* skipping a refused command */
	struct tail tail;
	int discard_raw; /* from imap_reader_line: no literals to watch for */
	uint64_t skip_left;

	/* the last BAD or FATAL */
	struct buf tag;
	int tag_known;
	int toobig;
	const char *error;

	struct buf raw; /* imap_reader_line() */
};

enum { PL_BAD = -1, PL_DONE = 1, PL_LITERAL = 2 };

/* Character classes (RFC 3501 section 9). */
enum {
	C_ATOM = 0x01,      /* lenient ATOM-CHAR: also % * ] ("1:*", LIST) */
	C_NAME = 0x02,      /* strict ATOM-CHAR (command names) */
	C_TAG = 0x04,       /* ASTRING-CHAR except "+" */
	C_BRACKET = 0x08,   /* inside "[...]" of an atom: any printable */
	C_QUOTED = 0x10,    /* plain in a quoted string: not " \\ CR LF NUL */
	C_INBRACKET = 0x20, /* C_BRACKET but [ and ] */
};
static unsigned char ctab[256];

static void ctab_init(void);
static inline size_t scan(const char *p, size_t j, size_t len, unsigned cls);
static void arena_cap_update(struct imap_reader *r);
static uint64_t append_cap(const struct imap_reader *r);
static void command_reset(struct imap_reader *r);
static void line_reset(struct imap_reader *r);
static int bad(struct imap_reader *r, const char *msg);
static const char *bad_char_msg(unsigned char c);
static int count_arg(struct imap_reader *r);
static inline struct imap_arg *push_arg(struct imap_reader *r);
static struct imap_arg *new_arg(struct imap_reader *r);
static int parse_start(struct imap_reader *r, const char *p, size_t len,
                       size_t *i);
static int parse_atom(struct imap_reader *r, const char *p, size_t len,
                      size_t *i);
static int parse_quoted(struct imap_reader *r, const char *p, size_t len,
                        size_t *i);
static int parse_literal_marker(struct imap_reader *r, const char *p,
                                size_t len, size_t i, int literal8);
static int open_list(struct imap_reader *r);
static int close_list(struct imap_reader *r);
static int parse_line(struct imap_reader *r, const char *p, size_t len);
static void tail_reset(struct tail *t);
static void tail_feed(struct tail *t, const char *p, size_t n);
static void discard_line_end(struct imap_reader *r);
static void tag_from_partial(struct imap_reader *r, const char *p, size_t len);
static int spool_begin(struct imap_reader *r);
static int spool_write(struct imap_reader *r, const char *p, size_t n);
static int spool_flush(struct imap_reader *r);
static const char *spool_finish(struct imap_reader *r);
static void spool_release(struct imap_reader *r);
static int pwrite_all(int fd, const char *p, size_t n, uint64_t off);
static int refuse(struct imap_reader *r, const char *msg, int toobig,
                  enum imap_read_status *st);
static int step_line(struct imap_reader *r, struct buf *in, size_t *pos,
                     enum imap_read_status *st);
static int line_too_long(struct imap_reader *r, const char *data, size_t room,
                         size_t *pos, enum imap_read_status *st);
static int literal_begin(struct imap_reader *r, enum imap_read_status *st);
static int step_literal(struct imap_reader *r, struct buf *in, size_t *pos,
                        enum imap_read_status *st);
static int literal_end(struct imap_reader *r, enum imap_read_status *st);
static int step_skip(struct imap_reader *r, struct buf *in, size_t *pos,
                     enum imap_read_status *st);
static int step_discard(struct imap_reader *r, struct buf *in, size_t *pos,
                        enum imap_read_status *st);

static void
ctab_init(void)
{
	static int done;
	int c;

	if (done)
		return;
	for (c = 1; c < 256; c++) {
		if (c != '"' && c != '\\' && c != '\r' && c != '\n')
			ctab[c] |= C_QUOTED;
	}
	for (c = 0x20; c < 0x7f; c++) {
		ctab[c] |= C_BRACKET;
		if (c != '[' && c != ']')
			ctab[c] |= C_INBRACKET;
		if (c == ' ')
			continue;
		if (strchr("(){\"\\[", c) == NULL)
			ctab[c] |= C_ATOM;
		if (strchr("(){\"\\%*]", c) == NULL)
			ctab[c] |= C_NAME;
		if (strchr("(){\"\\%*+", c) == NULL)
			ctab[c] |= C_TAG;
	}
	done = 1;
}

/* First index from j on whose byte is not in cls (or len). */
static inline size_t
scan(const char *p, size_t j, size_t len, unsigned cls)
{
	const unsigned char *u = (const unsigned char *)p;

	while (j + 4 <= len && (ctab[u[j]] & ctab[u[j + 1]] & ctab[u[j + 2]] &
	                        ctab[u[j + 3]] & cls))
		j += 4;
	while (j < len && (ctab[u[j]] & cls))
		j++;
	return j;
}

static uint64_t
append_cap(const struct imap_reader *r)
{
	if (r->literal_max > UINT64_MAX / IMAP_APPEND_LITERALS_FACTOR)
		return UINT64_MAX;
	return r->literal_max * IMAP_APPEND_LITERALS_FACTOR;
}

/*
 * What one command can hold: its lines (strings are never longer than the
 * bytes they came from), the list arrays, the literals kept in memory, and
 * room for the blocks' unused tails.
 */
static void
arena_cap_update(struct imap_reader *r)
{
	uint64_t cap, lit;

	cap = 4 * (uint64_t)r->line_max +
	      (uint64_t)IMAP_MAX_ARGS * 2 * sizeof(struct imap_arg) +
	      4 * (uint64_t)ARENA_BLOCK;
	lit = r->spool_dir ? IMAP_LITERAL_HEAP_MAX : append_cap(r);
	cap = lit > UINT64_MAX - cap ? UINT64_MAX : cap + lit;
	r->arena.cap = cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cap;
}

/* ---- reader life ---- */

struct imap_reader *
imap_reader_new(size_t line_max, uint64_t literal_max, const char *spool_dir)
{
	struct imap_reader *r;

	ASSERT(line_max > 0);
	ctab_init();
	r = xcalloc(1, sizeof *r);
	r->line_max = line_max;
	r->literal_max = literal_max;
	r->spool_dir = spool_dir ? xstrdup(spool_dir) : NULL;
	r->pagesize = sysconf(_SC_PAGESIZE);
	if (r->pagesize <= 0)
		r->pagesize = 4096;
	r->state = RS_LINE;
	r->spool_fd = -1;
	buf_init(&r->line, line_max);
	buf_init(&r->tag, line_max);
	buf_init(&r->raw, line_max);
	arena_init(&r->arena, 0);
	arena_cap_update(r);
	return r;
}

void
imap_reader_free(struct imap_reader **rp)
{
	struct imap_reader *r = *rp;

	if (r == NULL)
		return;
	command_reset(r);
	if (r->raw.len > 0)
		explicit_bzero(r->raw.data, r->raw.len);
	arena_free(&r->arena);
	free(r->stk);
	free(r->maps);
	free(r->stage);
	buf_clear(&r->line);
	buf_clear(&r->tag);
	buf_clear(&r->raw);
	free(r->spool_dir);
	free(r);
	*rp = NULL;
}

void
imap_reader_set_literal_max(struct imap_reader *r, uint64_t max)
{
	r->literal_max = max;
	arena_cap_update(r);
}

/* Empties the partial line buffer; it may have held a password. */
static void
line_reset(struct imap_reader *r)
{
	if (r->line.len > 0)
		explicit_bzero(r->line.data, r->line.len);
	buf_reset(&r->line);
}

/* Releases everything of the command being read or handed out. */
static void
command_reset(struct imap_reader *r)
{
	if (r->is_secret)
		arena_wipe(&r->arena);
	arena_reset(&r->arena);
	spool_release(r);
	line_reset(r);
	memset(&r->cmd, 0, sizeof r->cmd);
	r->have_cmd = 0;
	r->started = 0;
	r->is_append = 0;
	r->is_secret = 0;
	r->need_sep = 0;
	r->cmd_bytes = 0;
	r->lit_total = 0;
	r->heap_lit = 0;
	r->nstk = 0;
	r->depth = 0;
	r->nargs = 0;
	r->lit_heap = NULL;
	r->lit_len = 0;
	r->lit_got = 0;
}

/* ---- tokenising one line ---- */

static int
bad(struct imap_reader *r, const char *msg)
{
	r->error = msg;
	r->toobig = 0;
	return PL_BAD;
}

static const char *
bad_char_msg(unsigned char c)
{
	if (c == '\0')
		return "NUL byte in command line";
	if (c >= 0x80)
		return "8-bit data outside a string";
	return "Invalid character in command";
}

static int
count_arg(struct imap_reader *r)
{
	if (r->nargs >= IMAP_MAX_ARGS)
		return bad(r, "Too many arguments");
	r->nargs++;
	return 0;
}

/* A zeroed slot on the argument stack (already counted). */
static inline struct imap_arg *
push_arg(struct imap_reader *r)
{
	struct imap_arg *a;

	if (r->nstk == r->stk_alloc) {
		size_t n = r->stk_alloc ? r->stk_alloc * 2 : 32;

		/* nstk <= nargs <= IMAP_MAX_ARGS */
		if (n > IMAP_MAX_ARGS)
			n = IMAP_MAX_ARGS;
		ASSERT(n > r->nstk);
		r->stk = xreallocarray(r->stk, n, sizeof *r->stk);
		r->stk_alloc = n;
	}
	a = &r->stk[r->nstk++];
	a->s = NULL;
	a->len = 0;
	a->literal8 = 0;
	a->list = NULL;
	a->nlist = 0;
	return a;
}

static struct imap_arg *
new_arg(struct imap_reader *r)
{
	if (count_arg(r) < 0)
		return NULL;
	return push_arg(r);
}

/* tag SP command-name; the tag is kept for error replies. */
static int
parse_start(struct imap_reader *r, const char *p, size_t len, size_t *i)
{
	size_t j = 0, s, k;
	char *name;

	r->tag_known = 0;
	if (len == 0)
		return bad(r, "Empty command line");
	while (j < len && (ctab[(unsigned char)p[j]] & C_TAG))
		j++;
	if (j == 0 || (j < len && p[j] != ' '))
		return bad(r, "Invalid tag");
	buf_reset(&r->tag);
	if (buf_add(&r->tag, p, j) < 0)
		return bad(r, "Invalid tag");
	r->tag_known = 1;
	if (j == len)
		return bad(r, "Missing command name");
	s = ++j;
	while (j < len && (ctab[(unsigned char)p[j]] & C_NAME))
		j++;
	if (j == s)
		return bad(r, "Missing command name");
	if (j < len && p[j] != ' ')
		return bad(r, "Invalid command name");
	name = arena_alloc(&r->arena, j - s + 1);
	if (name == NULL)
		return bad(r, "Command too large");
	for (k = 0; k < j - s; k++) {
		char c = p[s + k];
		name[k] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	name[j - s] = '\0';
	r->cmd.tag = buf_cstr(&r->tag);
	r->cmd.name = name;
	r->is_append = strcmp(name, "APPEND") == 0;
	r->is_secret =
	        strcmp(name, "LOGIN") == 0 || strcmp(name, "AUTHENTICATE") == 0;
	r->started = 1;
	r->need_sep = 1;
	*i = j;
	return 0;
}

/*
 * An atom (flags \Seen and \* too). A "[" makes it run to the matching
 * "]" whatever is inside, then it goes on as an atom: "BODY.PEEK[HEADER.
 * FIELDS (From To)]<0.100>" is one atom. "NIL" gives IMAP_ARG_NIL.
 */
static int
parse_atom(struct imap_reader *r, const char *p, size_t len, size_t *i)
{
	size_t s = *i, j = *i;
	struct imap_arg *a;
	char *copy;

	if (p[j] == '\\')
		j++;
	for (;;) {
		size_t depth;

		j = scan(p, j, len, C_ATOM);
		if (j == len || p[j] != '[')
			break;
		depth = 1;
		j++;
		while (j < len && depth > 0) {
			unsigned char c;

			j = scan(p, j, len, C_INBRACKET);
			if (j == len)
				break;
			c = (unsigned char)p[j];
			if (c == '[')
				depth++;
			else if (c == ']')
				depth--;
			else if (!(ctab[c] & C_BRACKET))
				return bad(r, bad_char_msg(c));
			j++;
		}
		if (depth > 0)
			return bad(r, "Missing ] in atom");
	}
	if (j == s || (j == s + 1 && p[s] == '\\'))
		return bad(r, bad_char_msg((unsigned char)p[j < len ? j : s]));
	a = new_arg(r);
	if (a == NULL)
		return PL_BAD;
	copy = arena_alloc(&r->arena, j - s + 1);
	if (copy == NULL)
		return bad(r, "Command too large");
	memcpy(copy, p + s, j - s);
	copy[j - s] = '\0';
	a->type = (j - s == 3 && str_ncasecmp_ascii(copy, "NIL", 3) == 0)
	                  ? IMAP_ARG_NIL
	                  : IMAP_ARG_ATOM;
	a->s = copy;
	a->len = j - s;
	*i = j;
	return 0;
}

/* A quoted string: only \" and \\ escapes; no CR, LF or NUL. 8-bit is
 * accepted (UTF-8 strings, RFC 9051). */
static int
parse_quoted(struct imap_reader *r, const char *p, size_t len, size_t *i)
{
	size_t j, n = 0, k, o;
	int esc = 0;
	struct imap_arg *a;
	char *out;

	for (j = *i + 1; j < len; j++) {
		size_t e = scan(p, j, len, C_QUOTED);

		n += e - j;
		j = e;
		if (j == len || p[j] == '"')
			break;
		if (p[j] != '\\')
			return bad(r, "CR, LF or NUL in quoted string");
		if (j + 1 == len || (p[j + 1] != '"' && p[j + 1] != '\\'))
			return bad(r, "Invalid escape in quoted string");
		j++;
		n++;
		esc = 1;
	}
	if (j >= len)
		return bad(r, "Missing closing quote");
	a = new_arg(r);
	if (a == NULL)
		return PL_BAD;
	out = arena_alloc(&r->arena, n + 1);
	if (out == NULL)
		return bad(r, "Command too large");
	if (!esc) {
		memcpy(out, p + *i + 1, n);
	} else {
		for (k = *i + 1, o = 0; k < j; k++) {
			if (p[k] == '\\')
				k++;
			out[o++] = p[k];
		}
	}
	out[n] = '\0';
	a->type = IMAP_ARG_STRING;
	a->s = out;
	a->len = n;
	*i = j + 1;
	return 0;
}

/* "{N}", "{N+}" or "~{N}" (p[i] is the "{"): it must end the line. */
static int
parse_literal_marker(struct imap_reader *r, const char *p, size_t len, size_t i,
                     int literal8)
{
	size_t j = i + 1, digits = 0;
	uint64_t v = 0;
	int overflow = 0, plus = 0;

	for (; j < len && p[j] >= '0' && p[j] <= '9'; j++, digits++) {
		if (!overflow) {
			v = v * 10 + (uint64_t)(p[j] - '0');
			if (v > UINT32_MAX)
				overflow = 1;
		}
	}
	if (digits == 0)
		return bad(r, "Invalid literal");
	if (j < len && p[j] == '+') {
		plus = 1;
		j++;
	}
	if (j >= len || p[j] != '}')
		return bad(r, "Invalid literal");
	if (j + 1 != len)
		return bad(r, "A literal must end the line");
	if (count_arg(r) < 0)
		return PL_BAD;
	r->lit_len = overflow ? 0 : v;
	r->lit_overflow = overflow;
	r->lit_plus = plus;
	r->lit_literal8 = literal8;
	return PL_LITERAL;
}

static int
open_list(struct imap_reader *r)
{
	struct imap_arg *a;

	if (r->depth >= IMAP_MAX_LIST_DEPTH)
		return bad(r, "Lists nested too deeply");
	a = new_arg(r);
	if (a == NULL)
		return PL_BAD;
	a->type = IMAP_ARG_LIST;
	a->s = "";
	r->frames[r->depth++] = r->nstk;
	return 0;
}

/* Moves the items of the innermost list from the stack to the arena. */
static int
close_list(struct imap_reader *r)
{
	struct imap_arg *list = NULL;
	size_t start, n;

	if (r->depth == 0)
		return bad(r, "Unexpected )");
	start = r->frames[--r->depth];
	n = r->nstk - start;
	if (n > 0) {
		list = arena_alloc(&r->arena, n * sizeof *list);
		if (list == NULL)
			return bad(r, "Command too large");
		memcpy(list, r->stk + start, n * sizeof *list);
	}
	r->stk[start - 1].list = list;
	r->stk[start - 1].nlist = n;
	r->nstk = start;
	r->need_sep = 1;
	return 0;
}

/*
 * Tokenises one line (p/len without its CRLF), going on from where the
 * previous line of the command stopped. PL_DONE: the command is complete;
 * PL_LITERAL: the line ends with a literal (r->lit_*); PL_BAD.
 */
static int
parse_line(struct imap_reader *r, const char *p, size_t len)
{
	size_t i = 0;

	if (!r->started && parse_start(r, p, len, &i) < 0)
		return PL_BAD;
	for (;;) {
		unsigned char c;
		int rc;

		if (r->need_sep) {
			if (i == len)
				break;
			c = (unsigned char)p[i];
			if (c == ')') {
				if (close_list(r) < 0)
					return PL_BAD;
				i++;
				continue;
			}
			if (c != ' ')
				return bad(r, c == 0 ? bad_char_msg(c)
				                     : "Expected a space");
			i++;
			if (i < len && p[i] == ' ') {
				/* sloppy clients: trailing spaces, "(a )" */
				size_t j = i;

				while (j < len && p[j] == ' ')
					j++;
				if (j < len && p[j] != ')')
					return bad(r, "Too many spaces");
				i = j;
			}
			if (i == len)
				break;
			r->need_sep = 0;
			continue;
		}
		if (i == len)
			break; /* after "(": reported as a missing ")" */
		c = (unsigned char)p[i];
		if (c == '(') {
			if (open_list(r) < 0)
				return PL_BAD;
			i++;
			continue;
		}
		if (c == ')') {
			if (close_list(r) < 0)
				return PL_BAD;
			i++;
			continue;
		}
		if (c == '{')
			return parse_literal_marker(r, p, len, i, 0);
		if (c == '~' && i + 1 < len && p[i + 1] == '{')
			return parse_literal_marker(r, p, len, i + 1, 1);
		if (c == '"')
			rc = parse_quoted(r, p, len, &i);
		else
			rc = parse_atom(r, p, len, &i);
		if (rc < 0)
			return PL_BAD;
		r->need_sep = 1;
	}
	if (r->depth > 0)
		return bad(r, "Missing )");
	return PL_DONE;
}

/* ---- skipping refused commands ---- */

static void
tail_reset(struct tail *t)
{
	t->st = T_NONE;
	t->plus = 0;
	t->overflow = 0;
	t->v = 0;
}

static void
tail_feed(struct tail *t, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '{') {
			t->st = T_OPEN;
			t->v = 0;
			t->overflow = 0;
			t->plus = 0;
		} else if (c >= '0' && c <= '9' &&
		           (t->st == T_OPEN || t->st == T_DIGITS)) {
			t->st = T_DIGITS;
			if (!t->overflow) {
				t->v = t->v * 10 + (uint64_t)(c - '0');
				if (t->v > UINT32_MAX)
					t->overflow = 1;
			}
		} else if (c == '+' && t->st == T_DIGITS) {
			t->st = T_PLUS;
		} else if (c == '}' && (t->st == T_DIGITS || t->st == T_PLUS)) {
			t->plus = t->st == T_PLUS;
			t->st = T_CLOSE;
		} else if (c == '\r' && t->st == T_CLOSE) {
			t->st = T_CR;
		} else {
			t->st = T_NONE;
		}
	}
}

/*
 * At the LF ending a line of a refused command: a LITERAL+ announced there
 * is coming anyway, so skip it and the rest of the command; else the next
 * line is a new command (a synchronising literal is never sent: the client
 * gets the BAD instead of the "+").
 */
static void
discard_line_end(struct imap_reader *r)
{
	struct tail *t = &r->tail;

	if (!r->discard_raw && (t->st == T_CLOSE || t->st == T_CR) && t->plus) {
		if (t->overflow || t->v > r->literal_max) {
			r->state = RS_FATAL;
			r->error = "Non-synchronising literal too big";
			return;
		}
		r->skip_left = t->v;
		r->state = RS_SKIP;
		tail_reset(t);
		return;
	}
	r->state = RS_LINE;
	r->discard_raw = 0;
	tail_reset(t);
}

/* The tag of a line that was too long, when it was read whole. */
static void
tag_from_partial(struct imap_reader *r, const char *p, size_t len)
{
	size_t j = 0;

	r->tag_known = 0;
	while (j < len && (ctab[(unsigned char)p[j]] & C_TAG))
		j++;
	if (j == 0 || j == len || p[j] != ' ')
		return;
	buf_reset(&r->tag);
	if (buf_add(&r->tag, p, j) == 0)
		r->tag_known = 1;
}

/* ---- spooling big literals ---- */

static int
pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int
spool_begin(struct imap_reader *r)
{
	if (r->spool_fd < 0) {
		char *path =
		        xasprintf("%s/popbridge-literal.XXXXXX", r->spool_dir);
		int fd = mkstemp(path);

		if (fd < 0) {
			log_warn("imap literal spool: mkstemp %s", path);
			free(path);
			return -1;
		}
		unlink(path);
		free(path);
		r->spool_fd = fd;
		r->spool_end = 0;
	}
	if (r->stage == NULL)
		r->stage = xmalloc(SPOOL_STAGE);
	r->stage_len = 0;
	r->lit_off = r->spool_end;
	return 0;
}

/* Writes the staged bytes, which end at lit_off + lit_got. */
static int
spool_flush(struct imap_reader *r)
{
	uint64_t off = r->lit_off + r->lit_got - r->stage_len;

	if (r->stage_len == 0)
		return 0;
	if (pwrite_all(r->spool_fd, r->stage, r->stage_len, off) < 0) {
		log_warn("imap literal spool: write");
		return -1;
	}
	r->stage_len = 0;
	return 0;
}

/* Appends n bytes to the literal (lit_got is not yet advanced). */
static int
spool_write(struct imap_reader *r, const char *p, size_t n)
{
	if (r->stage_len + n < SPOOL_STAGE) {
		memcpy(r->stage + r->stage_len, p, n);
		r->stage_len += n;
		return 0;
	}
	/* the stage fills up: write it, then these bytes */
	if (spool_flush(r) < 0)
		return -1;
	if (pwrite_all(r->spool_fd, p, n, r->lit_off + r->lit_got) < 0) {
		log_warn("imap literal spool: write");
		return -1;
	}
	return 0;
}

/* Maps the finished literal (plus a zero byte) read-only. */
static const char *
spool_finish(struct imap_reader *r)
{
	uint64_t end = r->lit_off + r->lit_len;
	uint64_t ps = (uint64_t)r->pagesize;
	void *addr;

	if (spool_flush(r) < 0)
		return NULL;
	/* the literal ends the file: growing it by one byte adds the NUL */
	if (ftruncate(r->spool_fd, (off_t)(end + 1)) < 0) {
		log_warn("imap literal spool: ftruncate");
		return NULL;
	}
	addr = mmap(NULL, (size_t)r->lit_len + 1, PROT_READ, MAP_PRIVATE,
	            r->spool_fd, (off_t)r->lit_off);
	if (addr == MAP_FAILED) {
		log_warn("imap literal spool: mmap");
		return NULL;
	}
	if (r->nmaps == r->maps_alloc) {
		r->maps_alloc = r->maps_alloc ? r->maps_alloc * 2 : 4;
		r->maps =
		        xreallocarray(r->maps, r->maps_alloc, sizeof *r->maps);
	}
	r->maps[r->nmaps].addr = addr;
	r->maps[r->nmaps].len = (size_t)r->lit_len + 1;
	r->nmaps++;
	r->spool_end = (end + 1 + ps - 1) / ps * ps;
	return addr;
}

static void
spool_release(struct imap_reader *r)
{
	size_t i;

	for (i = 0; i < r->nmaps; i++)
		munmap(r->maps[i].addr, r->maps[i].len);
	r->nmaps = 0;
	if (r->spool_fd >= 0) {
		close(r->spool_fd);
		r->spool_fd = -1;
	}
	r->spool_end = 0;
	free(r->stage);
	r->stage = NULL;
	r->stage_len = 0;
}

/* ---- the reader's steps: 1 = stop with *st, 0 = go on ---- */

/*
 * Refuses the command being read: reports BAD now and releases it. The
 * caller sets where reading goes on (r->state).
 */
static int
refuse(struct imap_reader *r, const char *msg, int toobig,
       enum imap_read_status *st)
{
	command_reset(r);
	r->error = msg;
	r->toobig = toobig;
	*st = IMAP_READ_BAD;
	return 1;
}

static int
step_line(struct imap_reader *r, struct buf *in, size_t *pos,
          enum imap_read_status *st)
{
	const char *data, *nl, *content;
	size_t avail = in->len - *pos, take, room, clen;
	int rc;

	if (avail == 0) {
		*st = IMAP_READ_NEED_MORE;
		return 1;
	}
	data = in->data + *pos;
	nl = memchr(data, '\n', avail);
	take = nl ? (size_t)(nl - data) + 1 : avail;
	/* invariant: cmd_bytes + line.len <= line_max */
	room = r->line_max - (size_t)r->cmd_bytes - r->line.len;
	if (take > room)
		return line_too_long(r, data, room, pos, st);
	if (nl == NULL) {
		buf_add(&r->line, data, avail);
		*pos += avail;
		*st = IMAP_READ_NEED_MORE;
		return 1;
	}
	*pos += take;
	r->cmd_bytes += r->line.len + take;
	if (r->line.len > 0) {
		buf_add(&r->line, data, take);
		content = r->line.data;
		clen = r->line.len;
	} else {
		content = data;
		clen = take;
	}
	clen--; /* LF; a bare LF is accepted */
	if (clen > 0 && content[clen - 1] == '\r')
		clen--;
	rc = parse_line(r, content, clen);
	if (rc == PL_DONE) {
		line_reset(r);
		r->cmd.args = r->nstk ? r->stk : NULL;
		r->cmd.nargs = r->nstk;
		r->have_cmd = 1;
		*st = IMAP_READ_COMMAND;
		return 1;
	}
	if (rc == PL_LITERAL) {
		line_reset(r);
		return literal_begin(r, st);
	}
	/* PL_BAD: a LITERAL+ at the end of this line still comes */
	tail_reset(&r->tail);
	tail_feed(&r->tail, content, clen);
	r->discard_raw = 0;
	refuse(r, r->error, 0, st);
	discard_line_end(r);
	if (r->state == RS_FATAL)
		*st = IMAP_READ_FATAL;
	return 1;
}

/* The line passes line_max: BAD now, then skip to its end unbuffered. */
static int
line_too_long(struct imap_reader *r, const char *data, size_t room, size_t *pos,
              enum imap_read_status *st)
{
	if (!r->started) {
		/* keep what fits, to read the tag from */
		buf_add(&r->line, data, room);
		*pos += room;
		tag_from_partial(r, r->line.data, r->line.len);
	}
	tail_reset(&r->tail);
	tail_feed(&r->tail, r->line.data, r->line.len);
	r->discard_raw = 0;
	refuse(r, "Command line too long", 0, st);
	r->state = RS_DISCARD;
	return 1;
}

/*
 * The line ended with {N}, {N+} or ~{N}: check N against the caps before
 * asking for it (RFC 7888: an over-cap LITERAL+ cannot be refused, it is
 * fatal), then pick where it goes.
 */
static int
literal_begin(struct imap_reader *r, enum imap_read_status *st)
{
	uint64_t n = r->lit_len;
	int plus = r->lit_plus;

	if (r->lit_overflow || n > r->literal_max ||
	    (r->is_append && (r->lit_total > append_cap(r) ||
	                      n > append_cap(r) - r->lit_total))) {
		if (plus) {
			command_reset(r);
			r->state = RS_FATAL;
			r->error = "Non-synchronising literal too big";
			r->toobig = 1;
			*st = IMAP_READ_FATAL;
			return 1;
		}
		refuse(r, "Literal too big", 1, st);
		r->state = RS_LINE;
		return 1;
	}
	if (!r->is_append && n > r->line_max - r->cmd_bytes) {
		refuse(r, "Literal too big for a command line", 1, st);
		r->skip_left = n;
		r->state = plus ? RS_SKIP : RS_LINE;
		return 1;
	}
	if (r->spool_dir && (n > IMAP_LITERAL_SPOOL_MIN ||
	                     r->heap_lit + n > IMAP_LITERAL_HEAP_MAX)) {
		if (spool_begin(r) < 0) {
			refuse(r, "Cannot store literal", 0, st);
			r->skip_left = n;
			r->state = plus ? RS_SKIP : RS_LINE;
			return 1;
		}
		r->lit_heap = NULL;
	} else {
		r->lit_heap = arena_alloc(&r->arena, (size_t)n + 1);
		if (r->lit_heap == NULL) {
			refuse(r, "Command too large", 1, st);
			r->skip_left = n;
			r->state = plus ? RS_SKIP : RS_LINE;
			return 1;
		}
		r->heap_lit += n;
	}
	if (r->is_append)
		r->lit_total += n;
	else
		r->cmd_bytes += n;
	r->lit_got = 0;
	r->state = RS_LITERAL;
	if (plus)
		return 0;
	*st = IMAP_READ_CONTINUE;
	return 1;
}

static int
step_literal(struct imap_reader *r, struct buf *in, size_t *pos,
             enum imap_read_status *st)
{
	uint64_t need = r->lit_len - r->lit_got;
	size_t avail = in->len - *pos, take;
	const char *data;

	if (need > 0) {
		if (avail == 0) {
			*st = IMAP_READ_NEED_MORE;
			return 1;
		}
		data = in->data + *pos;
		take = need < avail ? (size_t)need : avail;
		if (r->lit_heap != NULL) {
			memcpy(r->lit_heap + r->lit_got, data, take);
		} else if (spool_write(r, data, take) < 0) {
			*pos += take;
			refuse(r, "Cannot store literal", 0, st);
			r->skip_left = need - take;
			r->state = RS_SKIP;
			return 1;
		}
		r->lit_got += take;
		*pos += take;
		if (r->lit_got < r->lit_len) {
			*st = IMAP_READ_NEED_MORE;
			return 1;
		}
	}
	return literal_end(r, st);
}

static int
literal_end(struct imap_reader *r, enum imap_read_status *st)
{
	struct imap_arg *a;
	const char *s;

	if (r->lit_heap != NULL) {
		r->lit_heap[r->lit_len] = '\0';
		s = r->lit_heap;
	} else {
		s = spool_finish(r);
		if (s == NULL) {
			refuse(r, "Cannot store literal", 0, st);
			tail_reset(&r->tail);
			r->discard_raw = 0;
			r->state = RS_DISCARD;
			return 1;
		}
	}
	a = push_arg(r); /* counted at the marker */
	a->type = IMAP_ARG_LITERAL;
	a->s = s;
	a->len = (size_t)r->lit_len;
	a->literal8 = r->lit_literal8;
	r->lit_heap = NULL;
	r->state = RS_LINE;
	r->need_sep = 1;
	return 0;
}

static int
step_skip(struct imap_reader *r, struct buf *in, size_t *pos,
          enum imap_read_status *st)
{
	size_t avail = in->len - *pos, take;

	take = r->skip_left < avail ? (size_t)r->skip_left : avail;
	*pos += take;
	r->skip_left -= take;
	if (r->skip_left > 0) {
		*st = IMAP_READ_NEED_MORE;
		return 1;
	}
	/* the command goes on after the literal: skip that too */
	tail_reset(&r->tail);
	r->discard_raw = 0;
	r->state = RS_DISCARD;
	return 0;
}

static int
step_discard(struct imap_reader *r, struct buf *in, size_t *pos,
             enum imap_read_status *st)
{
	const char *data, *nl;
	size_t avail = in->len - *pos, take;

	if (avail == 0) {
		*st = IMAP_READ_NEED_MORE;
		return 1;
	}
	data = in->data + *pos;
	nl = memchr(data, '\n', avail);
	take = nl ? (size_t)(nl - data) : avail;
	if (!r->discard_raw)
		tail_feed(&r->tail, data, take);
	if (nl == NULL) {
		*pos += take;
		*st = IMAP_READ_NEED_MORE;
		return 1;
	}
	*pos += take + 1;
	discard_line_end(r);
	if (r->state == RS_FATAL) {
		*st = IMAP_READ_FATAL;
		return 1;
	}
	return 0;
}

enum imap_read_status
imap_reader_feed(struct imap_reader *r, struct buf *in)
{
	enum imap_read_status st = IMAP_READ_NEED_MORE;
	size_t pos = 0;
	int done = 0;

	if (r->state == RS_FATAL)
		return IMAP_READ_FATAL;
	if (r->have_cmd)
		command_reset(r);
	if (r->raw.len > 0) {
		explicit_bzero(r->raw.data, r->raw.len);
		buf_reset(&r->raw);
	}
	while (!done) {
		switch (r->state) {
		case RS_LINE:
			done = step_line(r, in, &pos, &st);
			break;
		case RS_LITERAL:
			done = step_literal(r, in, &pos, &st);
			break;
		case RS_SKIP:
			done = step_skip(r, in, &pos, &st);
			break;
		case RS_DISCARD:
			done = step_discard(r, in, &pos, &st);
			break;
		case RS_FATAL:
			st = IMAP_READ_FATAL;
			done = 1;
			break;
		}
	}
	if (pos > 0)
		buf_consume(in, pos);
	return st;
}

const struct imap_command *
imap_reader_command(struct imap_reader *r)
{
	return r->have_cmd ? &r->cmd : NULL;
}

const char *
imap_reader_error_tag(struct imap_reader *r)
{
	return r->tag_known ? buf_cstr(&r->tag) : "*";
}

const char *
imap_reader_error(struct imap_reader *r)
{
	return r->error ? r->error : "";
}

int
imap_reader_toobig(struct imap_reader *r)
{
	return r->toobig;
}

int
imap_reader_line(struct imap_reader *r, struct buf *in, const char **line_r,
                 size_t *len_r)
{
	const char *nl;
	size_t n, clen;

	if (r->state == RS_FATAL)
		return -1;
	if (r->have_cmd)
		command_reset(r);
	/* the previous line may have been an AUTHENTICATE response */
	if (r->raw.len > 0)
		explicit_bzero(r->raw.data, r->raw.len);
	buf_reset(&r->raw);
	if (r->state == RS_DISCARD || r->state == RS_SKIP) {
		/* finish skipping what was refused before */
		enum imap_read_status st;
		size_t pos = 0;
		int done = 0;

		while (!done && (r->state == RS_DISCARD || r->state == RS_SKIP))
			done = r->state == RS_SKIP
			               ? step_skip(r, in, &pos, &st)
			               : step_discard(r, in, &pos, &st);
		if (pos > 0)
			buf_consume(in, pos);
		if (r->state == RS_FATAL)
			return -1;
		if (r->state != RS_LINE)
			return 0;
	}
	if (r->state != RS_LINE || r->started || r->line.len > 0) {
		r->error = "Line read in the middle of a command";
		return -1;
	}
	nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
	if (nl == NULL) {
		if (in->len >= r->line_max) {
			/* cannot fit any more: drop it up to its LF */
			buf_consume(in, in->len);
			tail_reset(&r->tail);
			r->discard_raw = 1;
			r->state = RS_DISCARD;
			r->error = "Line too long";
			return -1;
		}
		return 0;
	}
	n = (size_t)(nl - in->data) + 1;
	if (n > r->line_max) {
		buf_consume(in, n);
		r->error = "Line too long";
		return -1;
	}
	clen = n - 1;
	if (clen > 0 && in->data[clen - 1] == '\r')
		clen--;
	buf_add(&r->raw, in->data, clen);
	buf_consume(in, n);
	*line_r = buf_cstr(&r->raw);
	*len_r = clen;
	return 1;
}

/* ---- helpers for command handlers ---- */

int
imap_arg_is_astring(const struct imap_arg *a)
{
	/* "NIL" is an atom too: a folder or user may be called NIL */
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
	       a->type == IMAP_ARG_LITERAL || a->type == IMAP_ARG_NIL;
}

int
imap_arg_is_string(const struct imap_arg *a)
{
	return imap_arg_is_astring(a) || a->type == IMAP_ARG_NIL;
}

int
imap_arg_atom_is(const struct imap_arg *a, const char *s)
{
	size_t n = strlen(s);

	return (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       a->len == n && str_ncasecmp_ascii(a->s, s, n) == 0;
}
