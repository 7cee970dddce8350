/*
 * web/web_html.h: writing HTML safely into a struct buf. Every value that
 * did not come from a string literal of ours goes through web_html_esc or
 * web_html_attr: '&', '<', '>', '"', '\'' become entities, bytes that are
 * not valid UTF-8 become U+FFFD, and C0 controls other than TAB/LF/CR
 * are dropped. Numbers and sizes have their own helpers.
 */
#ifndef PB_WEB_HTML_H
#define PB_WEB_HTML_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Text content. */
void web_html_esc(struct buf *b, const char *s);
void web_html_esc_len(struct buf *b, const char *s, size_t len);
/* An attribute value (to be placed between double quotes); the same
 * escaping, TAB/LF/CR too become entities. */
void web_html_attr(struct buf *b, const char *s);
/*
 * printf into b where every %s argument is escaped as text (use only %s,
 * %d, %u, %ld, %lu, %lld, %llu, %zu and %%: anything else is a fatal
 * programming error). The format itself is trusted HTML.
 */
void web_html_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A URL path component / query value, percent-encoded (RFC 3986
 * unreserved kept). */
void web_html_urlenc(struct buf *b, const char *s);

#endif
