/*
 * bridge/pop3_reply.c: what a POP3 server says, parsed without I/O or
 * allocation (see pop3_reply.h): reply lines cut from the input buffer,
 * status lines with RFC 2449 response codes, the RFC 1939 section 7 APOP
 * timestamp, CAPA lines (RFC 2449, RFC 2595 STLS, RFC 5034 SASL, RFC 6856
 * UTF8), RFC 5034 continuations, and the lines of UIDL, LIST and STAT
 * answers (RFC 1939 sections 5 and 7).
 *
 * Every function takes a slice and returns slices into it. Fields may be
 * separated by runs of spaces and tabs, trailing blanks are ignored and
 * keywords match in any case; numbers are read with str_to_u64 against an
 * explicit maximum, and a UIDL must be 1..POP3_UIDL_MAX characters
 * 0x21..0x7E.
 */
#include "pop3_reply.h"

#include <string.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/str.h"

static int is_blank(char c);
static void trim_end(const char *s, size_t *len);
static size_t skip_blanks(const char *s, size_t len, size_t pos);
static struct str next_word(const char *s, size_t len, size_t *pos);
static int word_is(struct str w, const char *kw);
static enum pop3_code parse_code(const char *s, size_t len);
static int parse_msgno(struct str w, uint32_t *msgno_r);

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Drops trailing spaces, tabs and stray CRs (a line may end "\r\r\n"). */
static void
trim_end(const char *s, size_t *len)
{
	while (*len > 0 && (is_blank(s[*len - 1]) || s[*len - 1] == '\r'))
		(*len)--;
}

static size_t
skip_blanks(const char *s, size_t len, size_t pos)
{
	while (pos < len && is_blank(s[pos]))
		pos++;
	return pos;
}

/* The next blank-separated word at or after *pos; empty at the end. */
static struct str
next_word(const char *s, size_t len, size_t *pos)
{
	size_t i = skip_blanks(s, len, *pos), start = i;

	while (i < len && !is_blank(s[i]))
		i++;
	*pos = i;
	return str_make(s + start, i - start);
}

static int
word_is(struct str w, const char *kw)
{
	return str_eqi_cstr(w, kw);
}

int
pop3_reply_line(const struct buf *in, size_t max, const char **line_r,
                size_t *len_r, size_t *consumed_r)
{
	const char *lf;
	size_t scan, end;

	if (in->data == NULL || in->len == 0)
		return 0;
	/*
	 * A line of max bytes takes max + 2 with its CRLF: never look
	 * further than that, however much is buffered.
	 */
	scan = in->len;
	if (max < SIZE_MAX - 2 && scan > max + 2)
		scan = max + 2;
	lf = memchr(in->data, '\n', scan);
	if (lf == NULL) {
		/*
		 * max + 1 bytes without LF can still be a line of max bytes
		 * if the last of them is its CR; anything else is too long.
		 */
		if (max < SIZE_MAX - 2 && in->len > max &&
		    (in->len >= max + 2 || in->data[max] != '\r'))
			return -1;
		return 0;
	}
	end = (size_t)(lf - in->data);
	*consumed_r = end + 1;
	if (end > 0 && in->data[end - 1] == '\r')
		end--;
	if (end > max)
		return -1;
	*line_r = in->data;
	*len_r = end;
	return 1;
}

/*
 * resp-code = "[" resp-level *("/" resp-level) "]" (RFC 2449 section 8).
 * An unknown sub-level counts as its parent ("SYS/TEMP/DISK" is SYS/TEMP).
 * s and len are the text between the brackets.
 */
static enum pop3_code
parse_code(const char *s, size_t len)
{
	static const struct {
		const char *name;
		enum pop3_code code;
	} known[] = {
	        {"AUTH", POP3_CODE_AUTH},
	        {"IN-USE", POP3_CODE_IN_USE},
	        {"LOGIN-DELAY", POP3_CODE_LOGIN_DELAY},
	        {"SYS/TEMP", POP3_CODE_SYS_TEMP},
	        {"SYS/PERM", POP3_CODE_SYS_PERM},
	        {"UTF8", POP3_CODE_UTF8},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = strlen(known[i].name);

		if (len < n || str_ncasecmp_ascii(s, known[i].name, n) != 0)
			continue;
		if (len == n || s[n] == '/')
			return known[i].code;
	}
	return POP3_CODE_OTHER;
}

int
pop3_reply_status(const char *line, size_t len, struct pop3_status *s_r)
{
	size_t pos, kw;

	trim_end(line, &len);
	if (len >= 3 && str_ncasecmp_ascii(line, "+OK", 3) == 0) {
		s_r->ok = 1;
		kw = 3;
	} else if (len >= 4 && str_ncasecmp_ascii(line, "-ERR", 4) == 0) {
		s_r->ok = 0;
		kw = 4;
	} else {
		return -1;
	}
	if (len > kw && !is_blank(line[kw]))
		return -1;
	s_r->code = POP3_CODE_NONE;
	pos = skip_blanks(line, len, kw);
	if (pos < len && line[pos] == '[') {
		size_t i;

		/* Printable characters up to "]"; else it is just text. */
		for (i = pos + 1; i < len; i++)
			if (line[i] == ']' || line[i] < 0x21 || line[i] > 0x7e)
				break;
		if (i < len && line[i] == ']' && i > pos + 1) {
			s_r->code = parse_code(line + pos + 1, i - pos - 1);
			pos = skip_blanks(line, len, i + 1);
		}
	}
	s_r->text = line + pos;
	s_r->text_len = len - pos;
	return 0;
}

int
pop3_reply_is_continuation(const char *line, size_t len)
{
	return len >= 1 && line[0] == '+' && (len == 1 || is_blank(line[1]));
}

const char *
pop3_code_name(enum pop3_code code)
{
	switch (code) {
	case POP3_CODE_NONE:
		return "";
	case POP3_CODE_AUTH:
		return "AUTH";
	case POP3_CODE_IN_USE:
		return "IN-USE";
	case POP3_CODE_LOGIN_DELAY:
		return "LOGIN-DELAY";
	case POP3_CODE_SYS_TEMP:
		return "SYS/TEMP";
	case POP3_CODE_SYS_PERM:
		return "SYS/PERM";
	case POP3_CODE_UTF8:
		return "UTF8";
	case POP3_CODE_OTHER:
		return "OTHER";
	}
	return "";
}

/*
 * The first "<...>" of printable ASCII without blanks holding an '@'.
 * One pass: a candidate ends at the first '>', '<' or unprintable byte,
 * and the scan goes on from there.
 */
int
pop3_reply_apop_stamp(const char *text, size_t len, const char **stamp_r,
                      size_t *stamp_len_r)
{
	size_t i = 0;

	while (i < len) {
		size_t start, j;
		int at = 0;

		if (text[i] != '<') {
			i++;
			continue;
		}
		start = i;
		for (j = i + 1; j < len; j++) {
			unsigned char c = (unsigned char)text[j];

			if (c == '>' || c == '<' || c < 0x21 || c > 0x7e)
				break;
			if (c == '@')
				at = 1;
		}
		if (j < len && text[j] == '>' && at) {
			*stamp_r = text + start;
			*stamp_len_r = j - start + 1;
			return 1;
		}
		i = j;
	}
	return 0;
}

void
pop3_caps_init(struct pop3_caps *c)
{
	c->caps = 0;
	c->login_delay = -1;
	c->expire = -1;
}

/*
 * capability = capa-tag *(SP param) (RFC 2449 section 5). Unknown tags
 * and malformed parameters are ignored: CAPA is advice, not a contract.
 */
void
pop3_reply_capa_line(struct pop3_caps *c, const char *line, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} simple[] = {
	        {"TOP", POP3_CAP_TOP},
	        {"UIDL", POP3_CAP_UIDL},
	        {"USER", POP3_CAP_USER},
	        {"PIPELINING", POP3_CAP_PIPELINING},
	        {"RESP-CODES", POP3_CAP_RESP_CODES},
	        {"AUTH-RESP-CODE", POP3_CAP_AUTH_RESP_CODE},
	        {"STLS", POP3_CAP_STLS},
	        {"UTF8", POP3_CAP_UTF8},
	};
	size_t pos = 0, i;
	struct str tag, arg;
	uint64_t v;

	trim_end(line, &len);
	tag = next_word(line, len, &pos);
	if (tag.len == 0)
		return;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (word_is(tag, simple[i].name)) {
			c->caps |= simple[i].bit;
			return;
		}
	}
	if (word_is(tag, "SASL")) {
		for (;;) {
			arg = next_word(line, len, &pos);
			if (arg.len == 0)
				return;
			if (word_is(arg, "PLAIN"))
				c->caps |= POP3_CAP_SASL_PLAIN;
		}
	}
	/* "LOGIN-DELAY" SP delay-secs [SP "USER"] */
	if (word_is(tag, "LOGIN-DELAY")) {
		arg = next_word(line, len, &pos);
		if (str_to_u64(arg, INT64_MAX, &v) == 0)
			c->login_delay = (int64_t)v;
		return;
	}
	/* "EXPIRE" SP (1*DIGIT / "NEVER") [SP "USER"]: days */
	if (word_is(tag, "EXPIRE")) {
		arg = next_word(line, len, &pos);
		if (word_is(arg, "NEVER"))
			c->expire = -2;
		else if (str_to_u64(arg, INT64_MAX, &v) == 0)
			c->expire = (int64_t)v;
	}
}

int
pop3_reply_multi_line(const char **line_r, size_t *len_r)
{
	if (*len_r == 0 || (*line_r)[0] != '.')
		return 0;
	if (*len_r == 1)
		return 1;
	(*line_r)++;
	(*len_r)--;
	return 0;
}

static int
parse_msgno(struct str w, uint32_t *msgno_r)
{
	uint64_t v;

	if (str_to_u64(w, POP3_MAX_MESSAGES, &v) < 0 || v == 0)
		return -1;
	*msgno_r = (uint32_t)v;
	return 0;
}

/* unique-id = 1*70 (0x21..0x7E) (RFC 1939 section 7, UIDL). */
int
pop3_reply_uidl_line(const char *line, size_t len, uint32_t *msgno_r,
                     const char **uidl_r, size_t *uidl_len_r)
{
	size_t pos = 0, i;
	struct str w, uid;
	uint32_t n;

	trim_end(line, &len);
	w = next_word(line, len, &pos);
	if (parse_msgno(w, &n) < 0)
		return -1;
	uid = next_word(line, len, &pos);
	if (uid.len == 0 || uid.len > POP3_UIDL_MAX || pos != len)
		return -1;
	for (i = 0; i < uid.len; i++)
		if (uid.p[i] < 0x21 || uid.p[i] > 0x7e)
			return -1;
	*msgno_r = n;
	*uidl_r = uid.p;
	*uidl_len_r = uid.len;
	return 0;
}

/*
 * scan-listing = msg-number SP size, optionally followed by more that
 * RFC 1939 section 5 lets a server add (after a space).
 */
int
pop3_reply_list_line(const char *line, size_t len, uint32_t *msgno_r,
                     uint64_t *size_r)
{
	size_t pos = 0;
	struct str w;
	uint32_t n;
	uint64_t size;

	trim_end(line, &len);
	w = next_word(line, len, &pos);
	if (parse_msgno(w, &n) < 0)
		return -1;
	w = next_word(line, len, &pos);
	if (str_to_u64(w, UINT64_MAX, &size) < 0)
		return -1;
	*msgno_r = n;
	*size_r = size;
	return 0;
}

/*
 * drop-listing = count SP size, with anything after a space allowed as
 * for LIST. The count is not a message number: 0 is an empty maildrop,
 * and it may pass POP3_MAX_MESSAGES (the poller then takes the first
 * ones); it only has to fit 32 bits.
 */
int
pop3_reply_stat(const char *text, size_t len, uint32_t *count_r,
                uint64_t *size_r)
{
	size_t pos = 0;
	struct str w;
	uint64_t count, size;

	trim_end(text, &len);
	w = next_word(text, len, &pos);
	if (str_to_u64(w, UINT32_MAX, &count) < 0)
		return -1;
	w = next_word(text, len, &pos);
	if (str_to_u64(w, UINT64_MAX, &size) < 0)
		return -1;
	*count_r = (uint32_t)count;
	*size_r = size;
	return 0;
}
