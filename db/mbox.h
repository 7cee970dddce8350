/*
 * db/mbox.h: mbox files, read for `popbridge import` and written for
 * `popbridge export`.
 *
 * Format choice: mboxrd, on both sides. The writer puts "From
 * MAILER-DAEMON <asctime date, UTC>" before each message, quotes every
 * line matching ^>*From  with one more '>', and ends each message with a
 * line end (if it lacks one) and one empty line, using the message's own
 * line end (CRLF or LF). The reader takes a line "From <sender> <date>" whose
 * date parses as a separator (Content-Length is never trusted; a "From "
 * line in a body is always quoted by mbox writers), drops the empty line
 * before the next separator (LF or CRLF), and undoes mboxrd quoting when
 * asked (mbox_unquote): so export then import gives back the stored bytes
 * exactly, except that a message not ending in a line end gains one. For
 * the older mboxo files (Thunderbird, mutt), unquoting also gives back the
 * original "From " lines; only a body line that was ">From " loses a '>'.
 */
#ifndef PB_MBOX_H
#define PB_MBOX_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* ---- reading (over a buffer, typically an mmap of the file) ---- */

struct mbox_reader {
	const char *data;
	size_t len;
	size_t pos; /* start of the next From_ line */
	int started;
};

struct mbox_msg {
	const char *raw; /* the message: points into the reader's buffer */
	size_t len;
	int64_t date;    /* from the From_ line, unix time UTC; -1 unknown */
	int date_tz;     /* minutes east of UTC (0 unless the line has one) */
	uint64_t offset; /* of the From_ line in the file */
};

/* The buffer must stay valid and unchanged while the reader is used. */
void mbox_reader_init(struct mbox_reader *r, const char *data, size_t len);
/*
 * Next message: 1 with *m set, 0 at the end, -1 when the data does not
 * start with a From_ line (not an mbox; an empty file has 0 messages).
 */
int mbox_reader_next(struct mbox_reader *r, struct mbox_msg *m);
/* Messages in the buffer (for progress); 0 when not an mbox. */
size_t mbox_count(const char *data, size_t len);

/*
 * Parses a From_ line (without its line end, with or without the leading
 * "From "): "From sender Www Mmm dd hh:mm[:ss] [zone] yyyy [zone]" as
 * written by asctime/ctime. 0 with *t_r (UTC) and *tz_r (minutes east, 0
 * when the line has none), or -1.
 */
int mbox_parse_from_line(const char *line, size_t len, int64_t *t_r, int *tz_r);

/*
 * mboxrd unquoting: every line matching ^>+From  loses one '>'. Returns 0
 * with *p_r and *len_r pointing at raw itself when nothing is quoted, or at
 * out's data (cleared and refilled) when lines changed; -1 when out's cap
 * is reached.
 */
int mbox_unquote(const char *raw, size_t len, struct buf *out, const char **p_r,
                 size_t *len_r);

/*
 * Flags from the "Status:" (R = \Seen) and "X-Status:" (A = \Answered,
 * F = \Flagged, D = \Deleted, T = \Draft) header fields that mutt,
 * Thunderbird and Dovecot write into mbox files. STORE_FLAG_* bits.
 */
uint32_t mbox_status_flags(const char *raw, size_t len);

/* ---- writing (streaming, mboxrd) ---- */

/* Writes n bytes; returns 0 or -1 (the writer then fails). */
typedef int (*mbox_write_fn)(const void *p, size_t n, void *ctx);

struct mbox_writer {
	mbox_write_fn fn;
	void *ctx;
	/* quoting state across chunks: in_prefix at the start of a line,
	 * then the '>'s seen and how much of "From " matched after them */
	int in_prefix;
	size_t gt;
	size_t from_matched;
	/* the last two bytes written of the message, for its end */
	char last[2];
	uint64_t msg_len;
};

void mbox_writer_init(struct mbox_writer *w, mbox_write_fn fn, void *ctx);
/* Starts a message: writes "From MAILER-DAEMON <date>\n" (date UTC). */
int mbox_writer_begin(struct mbox_writer *w, int64_t date);
/* Message bytes, in as many chunks as wanted. */
int mbox_writer_data(struct mbox_writer *w, const char *p, size_t n);
/* Ends the message: a line end if missing, then the empty line. */
int mbox_writer_end(struct mbox_writer *w);

#endif
