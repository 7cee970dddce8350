/*
 * bridge/pop3_body.h: the body of a multi-line POP3 answer (RETR, TOP) as it
 * streams in: finds the terminating CRLF "." CRLF and undoes dot-stuffing
 * (RFC 1939 section 3) with a byte state machine that survives any split of
 * the input into chunks (curl lib/pop3.c pop3_write). The message bytes are
 * kept exactly as received (8-bit, NUL) except line ends: a bare LF becomes
 * CRLF, so the stored message is in IMAP's canonical form; a CR not followed
 * by LF is kept as it is.
 *
 * Bounded: past max bytes of output the body is still read to its end (so
 * the connection stays in step) but no more is kept, and too_big is set.
 */
#ifndef PB_POP3_BODY_H
#define PB_POP3_BODY_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct pop3_body {
	struct buf *out; /* the unstuffed message goes here (NULL: count only) */
	uint64_t max;	 /* most bytes kept in out */
	uint64_t total;	 /* bytes of unstuffed message seen, kept or not */
	uint64_t wire;	 /* bytes consumed from the stream */
	int state;	 /* private */
	int done;	 /* the terminating "." line was read */
	int too_big;	 /* total went over max: out holds only the start */
	int bad_stuffing; /* a line began with '.' not followed by '.' */
};

/* Starts a body; out is appended to (not cleared). */
void pop3_body_init(struct pop3_body *b, struct buf *out, uint64_t max);
/*
 * Feeds n bytes of the stream. Returns how many were consumed: all of
 * them, or fewer when the body ended inside the chunk (the rest belongs to
 * the next reply). -1 only when appending to out fails below max (OOM or
 * out's own cap). Once b->done, returns 0.
 */
long pop3_body_feed(struct pop3_body *b, const char *p, size_t n);

#endif
