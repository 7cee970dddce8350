/*
 * common/buf.h: one growable byte buffer with a hard cap (curl dynbuf).
 * Always NUL-terminated after data[len]; binary-safe by len. An append that
 * would pass the cap fails with -1 and leaves the buffer unchanged: it never
 * truncates silently.
 */
#ifndef PB_BUF_H
#define PB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes used, not counting the NUL */
	size_t size; /* bytes allocated */
	size_t cap;  /* most bytes len may reach */
};

/* cap 0 means "no cap" (SIZE_MAX / 2). */
void buf_init(struct buf *b, size_t cap);
/* Frees the memory; the buf can be used again after buf_init. */
void buf_clear(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes; -1 if that passes the cap. */
int buf_reserve(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands over the data (caller frees) and resets the buf to empty. */
char *buf_steal(struct buf *b, size_t *len_r);
/* Returns data, never NULL ("" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
