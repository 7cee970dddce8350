/*
 * db/mime.h: MIME structure of a message (RFC 2045, 2046, 2231) and the
 * part map saved with each message so BODY[section] never re-parses.
 */
#ifndef PB_MIME_H
#define PB_MIME_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum mime_cte {
	MIME_CTE_7BIT = 0,
	MIME_CTE_8BIT,
	MIME_CTE_BINARY,
	MIME_CTE_QP,
	MIME_CTE_BASE64,
	MIME_CTE_UNKNOWN, /* BINARY[] on it answers [UNKNOWN-CTE] */
};

/*
 * Where a section of the message lies (RFC 3501 6.4.5), offsets into the
 * raw message. For a section path p1.p2...pn:
 *   hdr_*  : the part's MIME header (BODY[p.MIME]); for the empty path,
 *            the message header.
 *   body_* : the part's content (BODY[p]); for the empty path, the body
 *            after the header (BODY[TEXT]).
 *   If the part is message/rfc822 (is_message), msg_hdr_* and msg_body_*
 *   give the embedded message's header and text (BODY[p.HEADER],
 *   BODY[p.TEXT]). For the empty path they equal hdr_*, body_*.
 * Path rules: the top-level message's part 1, when it is not multipart, is
 * its body; likewise p.1 of a message/rfc822 part whose embedded message is
 * not multipart is that message's body. Any other out-of-range number is
 * NOTFOUND.
 */
struct mime_loc {
	uint64_t hdr_off, hdr_len;
	uint64_t body_off, body_len;
	uint64_t msg_hdr_off, msg_hdr_len;
	uint64_t msg_body_off, msg_body_len;
	int is_multipart;
	int is_message;
	enum mime_cte cte; /* of this part's content */
};

/* 0 found, -1 no such part. */
int mime_partmap_find(const unsigned char *pm, size_t pmlen,
		      const uint32_t *path, size_t depth, struct mime_loc *loc);

/*
 * Decodes a part's content for BINARY[] (base64 and quoted-printable;
 * 7bit/8bit/binary are copied). Appends to out; -1 when out's cap is
 * reached or the encoding is MIME_CTE_UNKNOWN. Tolerates broken input.
 */
int mime_decode(enum mime_cte cte, const char *data, size_t len,
		struct buf *out);

#endif
