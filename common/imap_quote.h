/*
 * common/imap_quote.h: writing IMAP strings (RFC 3501 section 4.3) and
 * modified UTF-7 folder names (RFC 3501 section 5.1.3). libc only: db/ uses
 * it to prepare ENVELOPE and BODYSTRUCTURE text.
 */
#ifndef PB_IMAP_QUOTE_H
#define PB_IMAP_QUOTE_H

#include <stddef.h>

struct buf;

/*
 * Appends s as an IMAP string: a quoted string when it has only safe
 * characters (no CR, LF, NUL, 8-bit and at most 1000 bytes), otherwise a
 * literal {N}\r\n... ("literal8" never). -1 when out's cap is reached.
 */
int imap_quote_string(struct buf *out, const char *s, size_t len);
/* Same, but NULL gives NIL. */
int imap_quote_nstring(struct buf *out, const char *s, size_t len);
/* An astring: atom when possible, else like imap_quote_string. */
int imap_quote_astring(struct buf *out, const char *s, size_t len);

/*
 * Modified UTF-7 <-> UTF-8. Decoding refuses malformed input (-1), such as
 * a non-minimal or unterminated &...- run or a bare 8-bit byte. Encoding
 * never fails on valid UTF-8; invalid UTF-8: -1.
 */
int imap_utf7_to_utf8(const char *s, size_t len, struct buf *out);
int imap_utf8_to_utf7(const char *s, size_t len, struct buf *out);

#endif
