/*
 * common/xalloc.h: allocation that never returns NULL. Out of memory is
 * fatal (OpenSMTPD util.c); hostile input is stopped by caps, not by this.
 */
#ifndef PB_XALLOC_H
#define PB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Like realloc for an array: fatal on nmemb * size overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copy of len bytes plus a terminating NUL. */
char *xmemdup0(const void *p, size_t len);
/* Allocating printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
