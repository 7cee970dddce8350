/*
 * bridge/pop3_body.c: the body of a multi-line POP3 answer (RETR, TOP) as
 * it streams in (see pop3_body.h): finds the terminating "." line (RFC 1939
 * section 3: CRLF "." CRLF, and also LF "." LF from bare-LF servers),
 * removes the byte-stuffed leading dot, writes bare LF as CRLF and keeps
 * every other byte (CR alone, NUL, 8-bit) as it came.
 *
 * A state per position in the line makes any chunk split give the same
 * result (curl lib/pop3.c pop3_write). Runs of bytes that pass through
 * unchanged are appended with one buf_add: with CRLF input and no stuffed
 * dots that is one call per chunk. Only the dot at line start and a bare
 * LF break a run.
 */
#include "pop3_body.h"

#include <limits.h>
#include <string.h>

#include "../common/buf.h"

enum {
	BODY_LINE_START = 0, /* at the start of a line (also of the body) */
	BODY_DOT,            /* after a '.' at line start (not yet written) */
	BODY_DOT_CR,         /* after ".\r" at line start (neither written) */
	BODY_IN_LINE,        /* inside a line, last byte not CR */
	BODY_CR,             /* inside a line right after a CR (written) */
};

static int emit(struct pop3_body *b, const char *p, size_t n);

void
pop3_body_init(struct pop3_body *b, struct buf *out, uint64_t max)
{
	b->out = out;
	b->max = max;
	b->total = 0;
	b->wire = 0;
	b->state = BODY_LINE_START;
	b->done = 0;
	b->too_big = 0;
	b->bad_stuffing = 0;
}

/*
 * Adds n bytes of message: counted always, kept while total stays within
 * max. -1 when out refuses bytes that are within max.
 */
static int
emit(struct pop3_body *b, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->out != NULL && b->total < b->max) {
		uint64_t room = b->max - b->total;
		size_t keep = (uint64_t)n > room ? (size_t)room : n;

		if (buf_add(b->out, p, keep) < 0)
			return -1;
	}
	if ((uint64_t)n > UINT64_MAX - b->total)
		b->total = UINT64_MAX;
	else
		b->total += n;
	if (b->total > b->max)
		b->too_big = 1;
	return 0;
}

long
pop3_body_feed(struct pop3_body *b, const char *p, size_t n)
{
	size_t i = 0, run = 0; /* p[run..i) passes through unchanged */
	int st = b->state;

	if (b->done)
		return 0;
	if (n > LONG_MAX)
		n = LONG_MAX;
	while (i < n) {
		char c = p[i];

		switch (st) {
		case BODY_LINE_START:
			if (c == '.') {
				/* Stuffing or the terminator: drop the dot. */
				if (emit(b, p + run, i - run) < 0)
					return -1;
				i++;
				run = i;
				st = BODY_DOT;
				continue;
			}
			break;
		case BODY_DOT:
			if (c == '\r') {
				/* Held back: ".\r\n" ends the body. */
				i++;
				run = i;
				st = BODY_DOT_CR;
				continue;
			}
			if (c == '\n') {
				i++;
				b->done = 1;
				goto out;
			}
			/* ".." is a stuffed dot; ".x" a server's mistake. */
			if (c != '.')
				b->bad_stuffing = 1;
			i++;
			st = BODY_IN_LINE;
			continue;
		case BODY_DOT_CR:
			if (c == '\n') {
				i++;
				b->done = 1;
				goto out;
			}
			/*
			 * ".\rx": a line of CR and more, dot stripped. Write
			 * the held CR and go on as after any CR (run == i).
			 */
			b->bad_stuffing = 1;
			if (emit(b, "\r", 1) < 0)
				return -1;
			st = BODY_CR;
			continue;
		case BODY_CR:
			i++;
			if (c == '\n')
				st = BODY_LINE_START;
			else if (c != '\r')
				st = BODY_IN_LINE;
			continue;
		default:
			break;
		}
		/* BODY_LINE_START on a byte other than '.', or BODY_IN_LINE. */
		{
			const char *lf = memchr(p + i, '\n', n - i);
			size_t end = lf ? (size_t)(lf - p) : n;

			if (lf == NULL) {
				/* The line goes on past this chunk. */
				i = n;
				st = p[n - 1] == '\r' ? BODY_CR : BODY_IN_LINE;
				continue;
			}
			/*
			 * A line end. It is bare unless a CR precedes it here
			 * (at i itself only BODY_CR could have had one).
			 */
			if (end == i || p[end - 1] != '\r') {
				if (emit(b, p + run, end - run) < 0 ||
				    emit(b, "\r", 1) < 0)
					return -1;
				run = end;
			}
			i = end + 1;
			st = BODY_LINE_START;
		}
	}
out:
	/*
	 * When done, the run was emptied at the terminator's dot (and CR),
	 * so there is nothing left to write.
	 */
	if (!b->done && emit(b, p + run, i - run) < 0)
		return -1;
	b->state = st;
	b->wire += i;
	return (long)i;
}
