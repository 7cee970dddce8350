/*
 * db/msg_derive.h: parse a message once, at store time, into everything
 * FETCH and SEARCH need (RFC 3501 ENVELOPE/BODY/BODYSTRUCTURE syntax, a
 * part map for BODY[section], decoded header and body text for SEARCH).
 * Built on hdr_parse.c (RFC 5322 headers, RFC 2047 words) and mime.c
 * (RFC 2045-2049 structure, RFC 2231 parameters). The raw message is never
 * changed; all offsets point into it. Bounded by MIME_MAX_DEPTH,
 * MIME_MAX_PARTS and SEARCH_TEXT_MAX (common/limits.h): past a bound the
 * rest of the message is treated as an opaque body, never an error.
 */
#ifndef PB_MSG_DERIVE_H
#define PB_MSG_DERIVE_H

#include <stddef.h>
#include <stdint.h>

struct msg_derived {
	char *envelope;	     /* "(date subject from sender ...)" */
	char *bodystructure; /* with extension data */
	char *body;	     /* BODY: no extension data */
	unsigned char *partmap; /* opaque; see mime_partmap_find() */
	size_t partmap_len;
	char *search_hdr; /* unfolded, RFC 2047-decoded "Name: value\n" lines */
	size_t search_hdr_len;
	char *search_text; /* decoded (CTE + charset -> UTF-8) text/ parts */
	size_t search_text_len;
	uint64_t header_len; /* top-level header incl. the empty line */
	int64_t date_sent;   /* Date: as unix time, -1 when absent/invalid */
};

/* Never fails on any input (0 always); frees with msg_derived_clear. */
int msg_derive(const char *raw, size_t len, struct msg_derived *d);
void msg_derived_clear(struct msg_derived *d);

#endif
