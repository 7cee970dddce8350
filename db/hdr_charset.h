/*
 * db/hdr_charset.h: private helper of hdr_parse.c, mime.c and msg_derive.c.
 * Converts text in a MIME charset (RFC 2045 charset parameter, RFC 2047
 * encoded-word charset) to UTF-8 with glibc iconv, and repairs UTF-8.
 * Output is always valid UTF-8 without NUL: invalid input becomes U+FFFD.
 * A charset iconv does not know is read as UTF-8 ("passed through").
 * iconv handles are cached in a small static table: not thread-safe (the
 * daemon has one thread).
 */
#ifndef PB_HDR_CHARSET_H
#define PB_HDR_CHARSET_H

#include <stddef.h>

struct buf;

/*
 * Appends in[0..len), in charset cs[0..cslen), as UTF-8 to out. When out's
 * cap is reached, appends what fits (ending on a whole character) and
 * returns -1; else 0.
 */
int hdr_charset_to_utf8(const char *cs, size_t cslen, const char *in,
                        size_t len, struct buf *out);

/* Same for input that should already be UTF-8 (or US-ASCII). */
int hdr_utf8_sanitize(const char *in, size_t len, struct buf *out);

/*
 * Appends p[0..n) when it fits; else the longest prefix that fits and ends
 * on a UTF-8 character boundary, and -1.
 */
int hdr_add_trunc(struct buf *out, const char *p, size_t n);

/* Closes the cached iconv handles (tests, leak checkers). */
void hdr_charset_cache_clear(void);

#endif
