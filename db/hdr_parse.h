/*
 * db/hdr_parse.h: RFC 5322 header fields (folded, bare LF, 8-bit) and
 * RFC 2047 encoded words. Push a header block in, pull fields out.
 */
#ifndef PB_HDR_PARSE_H
#define PB_HDR_PARSE_H

#include <stddef.h>

#include "../common/str.h"

struct buf;

/*
 * Length of the header block at raw (up to and including the empty line
 * that ends it, CRLF or bare LF); len when no empty line is found.
 */
size_t hdr_block_len(const char *raw, size_t len);

/*
 * BODY[HEADER.FIELDS (...)] and .NOT: appends to out the fields of the
 * header block whose names (case-insensitive) are (or, with not_, are not)
 * in names[0..n), each field with its folded continuation lines, byte-exact,
 * followed by the empty line (CRLF). -1 when out's cap is reached.
 */
int hdr_filter_fields(const char *hdr, size_t len, const char *const *names,
		      size_t n, int not_, struct buf *out);

/*
 * Decodes RFC 2047 encoded words in a field value into UTF-8 (unknown
 * charsets copied as they are), unfolding it. Appends to out.
 */
int hdr_decode_words(const char *val, size_t len, struct buf *out);

/*
 * Additions (mime.c, msg_derive.c): a field iterator over a header block.
 * A field is a line with its continuation lines (lines starting with SP or
 * HT). Slices point into the block given to hdr_iter_init and stay valid as
 * long as it does. A line without a colon gives a field with an empty name
 * (callers skip it). Iteration stops at the empty line or the end.
 */
struct hdr_field {
	struct str name;  /* before ':', trailing SP/HT removed; may be empty */
	struct str value; /* after ':' to the field's last line end, folded */
	size_t off, len;  /* the whole field with its final line end */
};

struct hdr_iter {
	const char *p;
	size_t len, pos;
};

void hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len);
/* 1 and fills *f, or 0 at the end of the block. */
int hdr_iter_next(struct hdr_iter *it, struct hdr_field *f);

/*
 * Appends a field value unfolded: CR and LF dropped, leading and trailing
 * SP/HT removed, at most max bytes taken from val (MIME_MAX_FIELD).
 */
int hdr_unfold(const char *val, size_t len, size_t max, struct buf *out);

#endif
