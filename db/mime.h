/*
 * db/mime.h: MIME structure of a message (RFC 2045, 2046, 2231) and the
 * part map saved with each message so BODY[section] never re-parses.
 */
#ifndef PB_MIME_H
#define PB_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"

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

/*
 * Additions (used by msg_derive.c). For the empty path, mime_partmap_find
 * sets is_message (the whole message is one) and is_multipart as the
 * message's own Content-Type says.
 */

/* ---- Content-Type / Content-Disposition values (RFC 2045, 2183, 2231) */

struct mime_params {
	struct str type;    /* first token (slice of the value), may be empty */
	struct str subtype; /* after '/', may be empty */
	int has_type;       /* a type token was found */
	size_t n;
	struct {
		size_t name_off, name_len, val_off, val_len; /* into arena */
	} p[MIME_MAX_PARAMS];
	struct buf arena; /* names and values, unescaped */
};

void mime_params_init(struct mime_params *mp);
void mime_params_clear(struct mime_params *mp);
/*
 * Parses a (folded) field value: "type/subtype; name=value; ..." when
 * with_subtype, else "type; ...". Comments and quoting are undone; RFC 2231
 * continuations are merged: the value of name*0, name*1... is their
 * concatenation; when any section is charset'lang'%XX-encoded the merged
 * parameter is named "name*" and keeps that encoding (as Dovecot shows it).
 * Parameters without RFC 2231 sections come first, in order. Past
 * MIME_MAX_PARAMS parameters the rest are ignored. Resets mp first.
 */
void mime_params_parse(struct mime_params *mp, const char *val, size_t len,
                       int with_subtype);
struct str mime_params_name(const struct mime_params *mp, size_t i);
struct str mime_params_value(const struct mime_params *mp, size_t i);
/* Value of the parameter (case-insensitive name): 0, or -1 when absent. */
int mime_params_get(const struct mime_params *mp, const char *name,
                    struct str *v_r);
/*
 * Decodes an RFC 2231 extended value "charset'lang'%XX..." to UTF-8 and
 * appends it to out (unknown charset: bytes kept, UTF-8 repaired).
 */
int mime_param_decode_2231(struct str v, struct buf *out);

/* ---- The parse tree ---- */

#define MIME_NONE UINT32_MAX

/* A node: the message, a body part, or the message inside message/rfc822. */
struct mime_part {
	uint32_t parent, first_child, last_child, next; /* or MIME_NONE */
	uint32_t nchildren;
	uint32_t depth;   /* nodes above it (root 0), <= MIME_MAX_DEPTH */
	int is_multipart; /* children are its body parts (maybe none) */
	int is_message;   /* message/rfc822: its one child (if parsed) is
	                     the embedded message */
	int is_text;      /* type "text" (or defaulted to text/plain) */
	int ct_default;   /* no usable Content-Type: type/subtype defaulted */
	uint64_t hdr_off, hdr_len;
	uint64_t body_off, body_len;
	uint64_t body_lines;      /* LF count in the body */
	uint64_t lineno0;         /* internal: LF count before body_off */
	struct str type, subtype; /* slices of raw, or static defaults */
	/* first of each field in the part's header: folded raw values,
	   p == NULL when absent */
	struct str f_ctype, f_cte, f_id, f_desc, f_disp, f_lang, f_loc, f_md5;
	enum mime_cte cte;
};

struct mime_tree {
	struct mime_part *parts; /* parts[0] is the message; preorder */
	size_t count, alloc;
	int limited; /* MIME_MAX_DEPTH or MIME_MAX_PARTS stopped parsing */
};

/*
 * Parses the structure of raw[0..len) into t (which it initialises).
 * Never fails. Slices in t point into raw: valid while raw is.
 */
void mime_parse(const char *raw, size_t len, struct mime_tree *t);
void mime_tree_clear(struct mime_tree *t);
/* Serialises the part map for mime_partmap_find; -1 at out's cap. */
int mime_partmap_write(const struct mime_tree *t, struct buf *out);
/* Version byte the part map starts with. */
#define MIME_PARTMAP_VERSION 1

#endif
