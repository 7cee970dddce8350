/*
 * db/hdr_parse.h: RFC 5322 header fields (folded, bare LF, 8-bit) and
 * RFC 2047 encoded words. Push a header block in, pull fields out.
 */
#ifndef PB_HDR_PARSE_H
#define PB_HDR_PARSE_H

#include <stddef.h>

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

#endif
