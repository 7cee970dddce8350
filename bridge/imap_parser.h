/*
 * bridge/imap_parser.h: reads IMAP commands off a connection's input buffer
 * (RFC 3501 section 9 grammar, RFC 7888 LITERAL+/LITERAL-, RFC 3516 ~{N}
 * literal8) and parses each whole command into a tree of arguments.
 *
 * The reader is incremental and resumable: imap_reader_feed() consumes what
 * is buffered and returns NEED_MORE instead of blocking. It enforces the
 * limits as bytes arrive:
 *   - the command line (all its lines, plus the literals of any command
 *     other than APPEND) is capped at line_max;
 *   - one literal is capped at literal_max (APPEND's message: APPENDLIMIT);
 *     checked before the "+" continuation is asked for, so a refused
 *     synchronising literal is never read; an over-limit non-synchronising
 *     literal (LITERAL+) is fatal for the connection;
 *   - NUL bytes in a command line are refused;
 *   - list nesting IMAP_MAX_LIST_DEPTH, IMAP_MAX_ARGS arguments.
 * Literals larger than IMAP_LITERAL_SPOOL_MIN are spooled to an unlinked
 * temporary file in spool_dir and mapped back (mmap) once complete, so a
 * 64 MiB APPEND never sits in the heap.
 *
 * Atoms: an atom that contains '[' runs to the matching ']' whatever it
 * holds (spaces, parentheses), then goes on as an atom: the FETCH/BODY
 * section syntax "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom.
 */
#ifndef PB_IMAP_PARSER_H
#define PB_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define IMAP_LITERAL_SPOOL_MIN (256 * 1024)

enum imap_arg_type {
	IMAP_ARG_ATOM,	  /* includes numbers, flags like \Seen, sequence sets */
	IMAP_ARG_STRING,  /* quoted string, unescaped */
	IMAP_ARG_LITERAL, /* {N} / {N+} / ~{N} literal */
	IMAP_ARG_NIL,	  /* the atom NIL */
	IMAP_ARG_LIST,	  /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, STRING, LITERAL: the bytes, NUL-terminated after len (a
	 * literal may contain NULs itself: use len). */
	const char *s;
	size_t len;
	int literal8; /* ~{N} */
	/* LIST */
	struct imap_arg *list;
	size_t nlist;
};

struct imap_command {
	const char *tag;  /* NUL-terminated */
	const char *name; /* upper-cased, NUL-terminated (e.g. "UID", "FETCH") */
	struct imap_arg *args; /* the arguments after the command name */
	size_t nargs;
};

enum imap_read_status {
	IMAP_READ_NEED_MORE, /* nothing complete yet */
	IMAP_READ_COMMAND,   /* imap_reader_command() is ready */
	IMAP_READ_CONTINUE,  /* send "+ ..." now: a synchronising literal waits */
	IMAP_READ_BAD,	     /* a bad command was skipped: reply BAD (or NO
				[TOOBIG] when imap_reader_toobig()) with
				imap_reader_error_tag(), go on reading */
	IMAP_READ_FATAL,     /* cannot resynchronise: BYE and disconnect */
};

struct imap_reader;

struct imap_reader *imap_reader_new(size_t line_max, uint64_t literal_max,
				    const char *spool_dir);
void imap_reader_free(struct imap_reader **r);
/* Changes the literal cap (e.g. tiny before login). */
void imap_reader_set_literal_max(struct imap_reader *r, uint64_t max);

/*
 * Consumes bytes from in. Call again after COMMAND/CONTINUE/BAD while in
 * still holds data (the status says what happened, one event per call).
 * After COMMAND the previous command's memory is released by the next
 * imap_reader_feed() or imap_reader_line() call.
 */
enum imap_read_status imap_reader_feed(struct imap_reader *r, struct buf *in);
/* Valid until the next feed/line call. */
const struct imap_command *imap_reader_command(struct imap_reader *r);
/* For BAD/FATAL: the tag ("*" when none could be read) and a short reason. */
const char *imap_reader_error_tag(struct imap_reader *r);
const char *imap_reader_error(struct imap_reader *r);
/* For BAD: 1 when the cause was a literal over the cap (reply NO [TOOBIG]). */
int imap_reader_toobig(struct imap_reader *r);

/*
 * Raw line mode for AUTHENTICATE responses and IDLE's "DONE": takes one
 * line (without CRLF) off in. Returns 1 with *line_r, *len_r (valid until
 * the next call), 0 when no full line is buffered, -1 when the line is
 * over line_max.
 */
int imap_reader_line(struct imap_reader *r, struct buf *in,
		     const char **line_r, size_t *len_r);

/* Helpers for command handlers. */
/* 1 when arg is an atom, string or literal (an IMAP astring). */
int imap_arg_is_astring(const struct imap_arg *a);
/* 1 when arg is an astring or NIL (nstring). */
int imap_arg_is_string(const struct imap_arg *a);
/* 1 when a is an atom equal (case-insensitive) to s. */
int imap_arg_atom_is(const struct imap_arg *a, const char *s);

#endif
