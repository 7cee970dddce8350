/*
 * bridge/pop3_reply.h: parsing what a POP3 server says (RFC 1939, RFC 2449
 * CAPA and RESP-CODES, RFC 2595 STLS, RFC 5034 SASL): reply lines taken out
 * of the input buffer, status lines, the APOP timestamp of the greeting,
 * CAPA lines, and the lines of UIDL / LIST / STAT answers. Pure functions
 * over bytes: no I/O, no allocation beyond what the caller passes. Every
 * input is bounded by POP3_MAX_LINE (common/limits.h).
 *
 * Lenient where real servers differ (bare LF line ends, extra spaces, case
 * of keywords), strict where a mistake would lose or duplicate mail (UIDL
 * characters and length, message numbers, sizes that overflow).
 */
#ifndef PB_POP3_REPLY_H
#define PB_POP3_REPLY_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Takes one line off the front of in: *line_r points into in (valid until
 * in changes) at the line without its CRLF (or bare LF), *len_r its length.
 * Drop it afterwards with buf_consume(in, *consumed_r).
 * Returns 1 for a line, 0 when no complete line is there yet, -1 when the
 * line is longer than max (POP3_MAX_LINE) with no end in sight.
 * *consumed_r is the byte count of the line and its end.
 */
int pop3_reply_line(const struct buf *in, size_t max, const char **line_r,
		    size_t *len_r, size_t *consumed_r);

/* RFC 2449 response codes (the first one in brackets). */
enum pop3_code {
	POP3_CODE_NONE = 0,
	POP3_CODE_AUTH,	       /* [AUTH]: the credentials are wrong */
	POP3_CODE_IN_USE,      /* [IN-USE]: maildrop locked by another session */
	POP3_CODE_LOGIN_DELAY, /* [LOGIN-DELAY]: logged in too soon */
	POP3_CODE_SYS_TEMP,    /* [SYS/TEMP]: temporary server trouble */
	POP3_CODE_SYS_PERM,    /* [SYS/PERM]: permanent server trouble */
	POP3_CODE_UTF8,
	POP3_CODE_OTHER,       /* some other bracketed code */
};

struct pop3_status {
	int ok;		    /* 1 for +OK, 0 for -ERR */
	enum pop3_code code;
	const char *text;   /* after the status word and any [CODE] and spaces */
	size_t text_len;
};
/*
 * Parses a status line ("+OK text", "-ERR [IN-USE] text"; the keyword's case
 * is ignored, as is the absence of text). -1 when the line is neither.
 * s_r->text points into line.
 */
int pop3_reply_status(const char *line, size_t len, struct pop3_status *s_r);
/*
 * SASL continuation: "+ base64" or "+" (RFC 5034). 1 if line is one, else 0.
 */
int pop3_reply_is_continuation(const char *line, size_t len);
/* Short name of a code for logs: "AUTH", "IN-USE", ... "" for NONE. */
const char *pop3_code_name(enum pop3_code code);

/*
 * The APOP timestamp "<...>" of a greeting (RFC 1939 section 7: a
 * msg-id: '<', at least one '@', printable ASCII, '>'). 1 with *stamp_r and
 * *stamp_len_r (including the brackets) pointing into text, else 0.
 */
int pop3_reply_apop_stamp(const char *text, size_t len, const char **stamp_r,
			  size_t *stamp_len_r);

/* What a server offers (CAPA, RFC 2449), as bits. */
#define POP3_CAP_TOP 0x0001u
#define POP3_CAP_UIDL 0x0002u
#define POP3_CAP_USER 0x0004u
#define POP3_CAP_PIPELINING 0x0008u
#define POP3_CAP_RESP_CODES 0x0010u
#define POP3_CAP_AUTH_RESP_CODE 0x0020u
#define POP3_CAP_STLS 0x0040u
#define POP3_CAP_SASL_PLAIN 0x0080u /* "SASL ... PLAIN ..." */
#define POP3_CAP_UTF8 0x0100u

struct pop3_caps {
	unsigned caps;	     /* POP3_CAP_* */
	int64_t login_delay; /* seconds, -1 when not given */
	int64_t expire;	     /* days; -1 none given, -2 "NEVER" */
};
void pop3_caps_init(struct pop3_caps *c);
/* Adds one line of a CAPA answer (not the terminating "."). */
void pop3_reply_capa_line(struct pop3_caps *c, const char *line, size_t len);

/*
 * One line of a multi-line answer, dot-unstuffed in place of the pointers:
 * returns 1 for the terminating ".", 0 for a data line (with *line_r and
 * *len_r moved past a stuffed leading '.').
 */
int pop3_reply_multi_line(const char **line_r, size_t *len_r);

/*
 * "msgno uidl" (a line of a UIDL listing, or the text of "+OK msgno uidl").
 * msgno 1..POP3_MAX_MESSAGES, uidl 1..POP3_UIDL_MAX of 0x21..0x7E.
 * 0 or -1; *uidl_r points into line.
 */
int pop3_reply_uidl_line(const char *line, size_t len, uint32_t *msgno_r,
			 const char **uidl_r, size_t *uidl_len_r);
/* "msgno size" (a LIST line, or the text of "+OK msgno size"). 0 or -1. */
int pop3_reply_list_line(const char *line, size_t len, uint32_t *msgno_r,
			 uint64_t *size_r);
/* STAT text "count size". 0 or -1. */
int pop3_reply_stat(const char *text, size_t len, uint32_t *count_r,
		    uint64_t *size_r);

#endif
