/*
 * common/str.h: slices (pointer + length) and bounded parsing helpers.
 * A slice points into someone else's memory; it is valid as long as that
 * memory is (each producer says how long). Cursor helpers return 0 and
 * advance on success, -1 and leave the cursor alone on failure.
 */
#ifndef PB_STR_H
#define PB_STR_H

#include <stddef.h>
#include <stdint.h>

struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })

struct str str_make(const char *p, size_t len);
struct str str_cstr(const char *s);
int str_eq(struct str a, struct str b);
/* ASCII case-insensitive comparison with a C string. */
int str_eqi_cstr(struct str a, const char *b);
int str_eq_cstr(struct str a, const char *b);

/* Parse an unsigned decimal of at most max; no sign, no spaces, 1+ digits. */
int str_to_u64(struct str s, uint64_t max, uint64_t *v_r);
/* Same on a NUL-terminated C string. */
int str_cstr_to_u64(const char *s, uint64_t max, uint64_t *v_r);

/* ASCII case-insensitive memmem; NULL when absent. */
const char *str_memcasemem(const char *hay, size_t hlen, const char *needle,
			   size_t nlen);
int str_casecmp_ascii(const char *a, const char *b);

/* Value of a hex digit, or -1. */
int str_hex_value(int c);
/* Value of a base64 character (RFC 4648 alphabet), or -1. */
int str_base64_value(int c);
int str_ncasecmp_ascii(const char *a, const char *b, size_t n);

#endif
