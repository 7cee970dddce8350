/*
 * tests/fuzz/fuzz_hdr_parse.c: libFuzzer target for header parsing
 * (db/hdr_parse.c, db/hdr_charset.c, db/msg_envelope.c) and modified UTF-7
 * (common/imap_quote.c). Input: a header block. Checks field iteration
 * against the block length, HEADER.FIELDS filtering, that decoded words
 * are valid UTF-8 within their caps, that ENVELOPE is balanced, date
 * parsing, and that modified UTF-7 decoding and encoding round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/imap_quote.h"
#include "../../common/limits.h"
#include "../../db/hdr_parse.h"
#include "../../db/msg_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless s[0..len) is valid UTF-8 without NUL. */
static void
check_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;

		if (c == 0)
			abort();
		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
		if (n == 0 || c > 0xf4 || i + n >= len)
			abort();
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				abort();
		}
		i += n + 1;
	}
}

static void
check_balanced(const char *s)
{
	size_t depth = 0, i, len = strlen(s);

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\')
					i++;
			}
		} else if (s[i] == '{') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				n = n * 10 + (size_t)(s[i] - '0');
			if (i + 2 >= len || n > len - i - 3)
				abort();
			i += 2 + n;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')') {
			if (depth-- == 0)
				abort();
		}
	}
	if (depth != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *raw = (const char *)data;
	const char *names[3] = {"subject", "From", "x"};
	size_t hlen = hdr_block_len(raw, size), end = 0;
	struct hdr_iter it;
	struct hdr_field f;
	struct buf b, c;
	int first = 1;

	if (hlen > size)
		abort();
	buf_init(&b, 0);
	buf_init(&c, 0);
	hdr_iter_init(&it, raw, hlen);
	while (hdr_iter_next(&it, &f)) {
		if (f.off != end || f.len == 0 || f.off + f.len > hlen)
			abort();
		end = f.off + f.len;
		if (first && f.name.len > 0 && f.name.len < 64) {
			static char n[64];

			memcpy(n, f.name.p, f.name.len);
			n[f.name.len] = '\0';
			names[2] = n;
			first = 0;
		}
		buf_reset(&b);
		if (hdr_decode_words(f.value.p, f.value.len, &b) < 0)
			abort();
		check_utf8((const unsigned char *)buf_cstr(&b), b.len);
		if (b.len > 3 * MIME_MAX_FIELD)
			abort();
		buf_reset(&b);
		if (hdr_unfold(f.value.p, f.value.len, MIME_MAX_FIELD, &b) <
		            0 ||
		    memchr(buf_cstr(&b), '\n', b.len) != NULL)
			abort();
	}
	/* the fields and the empty line make up the block */
	if (end > hlen || hlen - end > 2)
		abort();

	buf_reset(&b);
	if (hdr_filter_fields(raw, hlen, names, 3, 0, &b) < 0 ||
	    hdr_filter_fields(raw, hlen, names, 3, 1, &c) < 0)
		abort();
	/* each field goes to one side; a last field may gain a CRLF */
	if (b.len < 2 || c.len < 2 || b.len + c.len > end + 6)
		abort();

	/* a capped decode never passes its cap */
	{
		struct buf s;

		buf_init(&s, 7);
		(void)hdr_decode_words(raw, size, &s);
		if (s.len > 7)
			abort();
		check_utf8((const unsigned char *)buf_cstr(&s), s.len);
		buf_clear(&s);
	}

	buf_reset(&b);
	if (msg_envelope_write(raw, hlen, &b) < 0)
		abort();
	check_balanced(buf_cstr(&b));
	(void)msg_date_parse(raw, size);

	/* modified UTF-7: what decodes re-encodes to the same text */
	buf_reset(&b);
	buf_reset(&c);
	if (imap_utf7_to_utf8(raw, size, &b) == 0) {
		if (imap_utf8_to_utf7(buf_cstr(&b), b.len, &c) < 0 ||
		    c.len != size || memcmp(c.data ? c.data : "", raw, size))
			abort();
	}
	buf_reset(&b);
	buf_reset(&c);
	if (imap_utf8_to_utf7(raw, size, &b) == 0) {
		if (imap_utf7_to_utf8(buf_cstr(&b), b.len, &c) < 0 ||
		    c.len != size || memcmp(c.data ? c.data : "", raw, size))
			abort();
	}
	buf_clear(&b);
	buf_clear(&c);
	return 0;
}
