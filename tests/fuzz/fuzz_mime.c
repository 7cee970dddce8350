/*
 * tests/fuzz/fuzz_mime.c: libFuzzer target for the message parsing layer
 * (db/mime.c, db/msg_derive.c, db/msg_envelope.c, db/hdr_parse.c). Input:
 * a raw message. Runs msg_derive, then checks that ENVELOPE, BODY and
 * BODYSTRUCTURE are well-formed IMAP (balanced lists, valid quoted strings
 * and literals), that every section mime_partmap_find resolves lies inside
 * the message, decodes those sections with mime_decode, and feeds the
 * part map damaged copies of itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../db/hdr_parse.h"
#include "../../db/mime.h"
#include "../../db/msg_derive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless s is one well-formed parenthesised IMAP list. */
static void
check_imap_list(const char *s)
{
	size_t i = 0, depth = 0, len = strlen(s);

	if (len == 0 || s[0] != '(')
		abort();
	while (i < len) {
		char c = s[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (depth == 0)
				abort();
			depth--;
			i++;
			if (depth == 0 && i != len)
				abort();
		} else if (c == ' ') {
			if (i + 1 >= len || s[i + 1] == ' ' || s[i + 1] == ')')
				abort();
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				unsigned char u = (unsigned char)s[i];

				if (u == '\r' || u == '\n' || u >= 0x80)
					abort();
				if (u == '\\') {
					i++;
					if (i >= len ||
					    (s[i] != '"' && s[i] != '\\'))
						abort();
				}
			}
			if (i >= len)
				abort();
			i++;
		} else if (c == '{') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				n = n * 10 + (size_t)(s[i] - '0');
			if (i + 3 > len || s[i] != '}' || s[i + 1] != '\r' ||
			    s[i + 2] != '\n' || n > len - i - 3)
				abort();
			/* strlen stops at NUL: a literal may not hold one */
			i += 3 + n;
		} else if (c >= '0' && c <= '9') {
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
		} else if (strncmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else {
			abort();
		}
	}
	if (depth != 0)
		abort();
}

static void
check_loc(const struct mime_loc *l, size_t size)
{
	if (l->hdr_off > size || l->hdr_len > size - l->hdr_off ||
	    l->body_off > size || l->body_len > size - l->body_off ||
	    l->body_off < l->hdr_off + l->hdr_len)
		abort();
	if (l->is_message &&
	    (l->msg_hdr_off > size || l->msg_hdr_len > size - l->msg_hdr_off ||
	     l->msg_body_off > size ||
	     l->msg_body_len > size - l->msg_body_off ||
	     l->msg_body_off + l->msg_body_len > l->body_off + l->body_len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t paths[][4] = {
	        {1},       {2},       {3},          {1, 1},    {1, 2},
	        {2, 1},    {2, 2},    {1, 1, 1},    {2, 1, 1}, {2, 2, 1},
	        {1, 2, 1}, {3, 1, 2}, {1, 1, 1, 1},
	};
	const char *raw = (const char *)data;
	struct msg_derived d;
	struct mime_loc l;
	struct buf out;
	size_t i, depth;

	msg_derive(raw, size, &d);
	if (d.header_len > size || d.header_len != hdr_block_len(raw, size))
		abort();
	check_imap_list(d.envelope);
	check_imap_list(d.body);
	check_imap_list(d.bodystructure);
	if (strlen(d.search_hdr) != d.search_hdr_len ||
	    strlen(d.search_text) != d.search_text_len)
		abort();

	buf_init(&out, 0);
	if (mime_partmap_find(d.partmap, d.partmap_len, NULL, 0, &l) != 0)
		abort();
	check_loc(&l, size);
	if (l.hdr_len != d.header_len || l.body_off + l.body_len != size)
		abort();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (depth = 1; depth <= 4 && paths[i][depth - 1]; depth++) {
			if (mime_partmap_find(d.partmap, d.partmap_len,
			                      paths[i], depth, &l) < 0)
				continue;
			check_loc(&l, size);
			buf_reset(&out);
			if (mime_decode(l.cte, raw + l.body_off,
			                (size_t)l.body_len, &out) < 0 &&
			    l.cte != MIME_CTE_UNKNOWN)
				abort();
			if (out.len > l.body_len)
				abort();
		}
	}
	/* a damaged part map is refused or read within its bytes */
	if (d.partmap_len > 1 && size > 0) {
		unsigned char *pm = malloc(d.partmap_len);

		memcpy(pm, d.partmap, d.partmap_len);
		pm[1 + data[0] % (d.partmap_len - 1)] ^= data[size - 1];
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			(void)mime_partmap_find(pm, d.partmap_len, paths[i], 2,
			                        &l);
		(void)mime_partmap_find(pm, d.partmap_len / 2, paths[0], 1, &l);
		free(pm);
	}
	buf_clear(&out);
	msg_derived_clear(&d);
	return 0;
}
