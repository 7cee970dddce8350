/* common/str.c: slices and bounded number parsing (see str.h). */
#include "str.h"

#include <string.h>

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

struct str
str_make(const char *p, size_t len)
{
	struct str s = { p, len };
	return s;
}

struct str
str_cstr(const char *s)
{
	return str_make(s, strlen(s));
}

int
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int
str_eq_cstr(struct str a, const char *b)
{
	return str_eq(a, str_cstr(b));
}

int
str_eqi_cstr(struct str a, const char *b)
{
	size_t n = strlen(b);
	if (n != a.len)
		return 0;
	return str_ncasecmp_ascii(a.p, b, n) == 0;
}

int
str_to_u64(struct str s, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i;

	if (s.len == 0 || s.len > 20)
		return -1;
	for (i = 0; i < s.len; i++) {
		unsigned d;
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		d = (unsigned)(s.p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

int
str_cstr_to_u64(const char *s, uint64_t max, uint64_t *v_r)
{
	return str_to_u64(str_cstr(s), max, v_r);
}

const char *
str_memcasemem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t i;
	int f;

	if (nlen == 0)
		return hay;
	if (nlen > hlen)
		return NULL;
	f = lower((unsigned char)needle[0]);
	for (i = 0; i + nlen <= hlen; i++) {
		if (lower((unsigned char)hay[i]) != f)
			continue;
		if (str_ncasecmp_ascii(hay + i + 1, needle + 1, nlen - 1) == 0)
			return hay + i;
	}
	return NULL;
}

int
str_ncasecmp_ascii(const char *a, const char *b, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		int ca = lower((unsigned char)a[i]), cb = lower((unsigned char)b[i]);
		if (ca != cb)
			return ca - cb;
	}
	return 0;
}

int
str_casecmp_ascii(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = lower((unsigned char)*a), cb = lower((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

int
str_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
str_base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}
