/*
 * db/hdr_charset.c: charset conversion to UTF-8 for hdr_parse.c (RFC 2047
 * encoded words) and msg_derive.c (RFC 2045 text parts), with glibc iconv.
 * Labels follow common practice (WHATWG): ISO-8859-1 and US-ASCII text is
 * often really windows-1252 or UTF-8, and is read that way. Invalid bytes
 * become U+FFFD; unknown charsets are read as UTF-8.
 */
#include "hdr_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "../common/buf.h"

#define CS_NAME_MAX   40
#define CS_CACHE_SIZE 8

struct cs_cache_ent {
	char name[CS_NAME_MAX + 1];
	iconv_t cd; /* (iconv_t)-1: iconv does not know this charset */
	int used;
};

static struct cs_cache_ent cs_cache[CS_CACHE_SIZE];
static unsigned cs_cache_next;

static const char replacement[] = "\xef\xbf\xbd";

static size_t cs_normalize(const char *cs, size_t cslen, char *name);
static const char *cs_alias(const char *name);
static iconv_t cs_lookup(const char *name);
static size_t utf8_valid_len(const unsigned char *s, size_t len);

int
hdr_add_trunc(struct buf *out, const char *p, size_t n)
{
	size_t room, cut;

	if (buf_add(out, p, n) == 0)
		return 0;
	room = out->cap > out->len ? out->cap - out->len : 0;
	cut = room < n ? room : n;
	while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
		cut--;
	if (cut > 0)
		buf_add(out, p, cut);
	return -1;
}

/*
 * Length of the longest valid UTF-8 sequence (no NUL, no overlong forms,
 * no surrogates) at s; 0 when s[0] starts no valid character.
 */
static size_t
utf8_valid_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n, k;
	unsigned cp;

	if (c < 0x80)
		return c != 0;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07;
	else
		return 0;
	if (len < n + 1)
		return 0;
	for (k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n + 1;
}

int
hdr_utf8_sanitize(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run = 0;

	while (i < len) {
		size_t n;

		/* ASCII without NUL, eight bytes at a time */
		while (len - i >= 8) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if ((w & UINT64_C(0x8080808080808080)) != 0 ||
			    ((w - UINT64_C(0x0101010101010101)) & ~w &
			     UINT64_C(0x8080808080808080)) != 0)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if (s[i] >= 0x01 && s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_valid_len(s + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		if (hdr_add_trunc(out, in + run, i - run) < 0 ||
		    hdr_add_trunc(out, replacement, 3) < 0)
			return -1;
		i++;
		run = i;
	}
	return hdr_add_trunc(out, in + run, len - run);
}

/* Lower-cases and trims a charset label; drops an RFC 2231 "*lang". */
static size_t
cs_normalize(const char *cs, size_t cslen, char *name)
{
	size_t i, n = 0;

	while (cslen > 0 && (cs[0] == ' ' || cs[0] == '\t' || cs[0] == '"')) {
		cs++;
		cslen--;
	}
	for (i = 0; i < cslen && n < CS_NAME_MAX; i++) {
		char c = cs[i];

		if (c == '*' || c == ' ' || c == '\t' || c == '"' || c == '\0')
			break;
		name[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	name[n] = '\0';
	return n;
}

/* Labels glibc lacks or that mean a superset in practice. */
static const char *
cs_alias(const char *name)
{
	static const struct {
		const char *label, *iconv_name;
	} aliases[] = {
	        {"iso-8859-1", "WINDOWS-1252"},
	        {"iso8859-1", "WINDOWS-1252"},
	        {"iso_8859-1", "WINDOWS-1252"},
	        {"latin1", "WINDOWS-1252"},
	        {"l1", "WINDOWS-1252"},
	        {"cp1252", "WINDOWS-1252"},
	        {"x-cp1252", "WINDOWS-1252"},
	        {"iso-8859-9", "WINDOWS-1254"},
	        {"iso-8859-11", "CP874"},
	        {"tis-620", "CP874"},
	        {"iso-8859-8-i", "ISO-8859-8"},
	        {"iso-8859-6-i", "ISO-8859-6"},
	        {"gb2312", "GB18030"},
	        {"gbk", "GB18030"},
	        {"x-gbk", "GB18030"},
	        {"cn-gb", "GB18030"},
	        {"euc-cn", "GB18030"},
	        {"ks_c_5601-1987", "CP949"},
	        {"ks_c_5601", "CP949"},
	        {"euc-kr", "CP949"},
	        {"x-sjis", "CP932"},
	        {"shift_jis", "CP932"},
	        {"shift-jis", "CP932"},
	        {"sjis", "CP932"},
	        {"windows-31j", "CP932"},
	        {"big5", "BIG5-HKSCS"},
	        {"x-mac-roman", "MACINTOSH"},
	        {"macintosh", "MACINTOSH"},
	        {"unicode-1-1-utf-7", "UTF-7"},
	        {"x-unicode-2-0-utf-7", "UTF-7"},
	};
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(name, aliases[i].label) == 0)
			return aliases[i].iconv_name;
	}
	return name;
}

static iconv_t
cs_lookup(const char *name)
{
	struct cs_cache_ent *e;
	unsigned i;

	for (i = 0; i < CS_CACHE_SIZE; i++) {
		if (cs_cache[i].used && strcmp(cs_cache[i].name, name) == 0)
			return cs_cache[i].cd;
	}
	e = &cs_cache[cs_cache_next];
	cs_cache_next = (cs_cache_next + 1) % CS_CACHE_SIZE;
	if (e->used && e->cd != (iconv_t)-1)
		iconv_close(e->cd);
	memcpy(e->name, name, strlen(name) + 1);
	e->cd = iconv_open("UTF-8", cs_alias(name));
	e->used = 1;
	return e->cd;
}

void
hdr_charset_cache_clear(void)
{
	unsigned i;

	for (i = 0; i < CS_CACHE_SIZE; i++) {
		if (cs_cache[i].used && cs_cache[i].cd != (iconv_t)-1)
			iconv_close(cs_cache[i].cd);
		cs_cache[i].used = 0;
	}
	cs_cache_next = 0;
}

int
hdr_charset_to_utf8(const char *cs, size_t cslen, const char *in, size_t len,
                    struct buf *out)
{
	char name[CS_NAME_MAX + 1];
	char tmp[4096];
	char *inp, *outp;
	size_t inleft, outleft;
	iconv_t cd;

	cs_normalize(cs, cslen, name);
	if (name[0] == '\0' || strcmp(name, "utf-8") == 0 ||
	    strcmp(name, "utf8") == 0 || strcmp(name, "us-ascii") == 0 ||
	    strcmp(name, "ascii") == 0)
		return hdr_utf8_sanitize(in, len, out);
	cd = cs_lookup(name);
	if (cd == (iconv_t)-1)
		return hdr_utf8_sanitize(in, len, out);

	/* iconv takes char **; it never writes through the input pointer */
	memcpy(&inp, &in, sizeof(inp));
	inleft = len;
	iconv(cd, NULL, NULL, NULL, NULL);
	while (inleft > 0) {
		char *before = inp;
		int err = 0;

		outp = tmp;
		outleft = sizeof(tmp);
		if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1)
			err = errno;
		if (hdr_utf8_sanitize(tmp, (size_t)(outp - tmp), out) < 0)
			return -1;
		if (err == EILSEQ) {
			if (hdr_add_trunc(out, replacement, 3) < 0)
				return -1;
			inp++;
			inleft--;
		} else if (err == EINVAL) {
			/* truncated sequence at the end */
			return hdr_add_trunc(out, replacement, 3);
		} else if ((err != 0 && err != E2BIG) ||
		           (inp == before && outp == tmp)) {
			return hdr_utf8_sanitize(inp, inleft, out);
		}
	}
	/* end of input: let a stateful decoder (ISO-2022-JP) finish */
	outp = tmp;
	outleft = sizeof(tmp);
	iconv(cd, NULL, NULL, &outp, &outleft);
	return hdr_utf8_sanitize(tmp, (size_t)(outp - tmp), out);
}
