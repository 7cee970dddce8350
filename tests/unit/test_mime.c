/*
 * tests/unit/test_mime.c: MIME structure, part map, transfer decoding and
 * the derived FETCH/SEARCH data (db/mime.c, db/msg_derive.c,
 * db/msg_envelope.c). The expected ENVELOPE/BODY/BODYSTRUCTURE strings of
 * the real-world shaped messages were checked against Dovecot 2.3.19
 * (same text, ignoring case: defaults are written upper-case here).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../db/hdr_charset.h"
#include "../../db/hdr_parse.h"
#include "../../db/mime.h"
#include "../../db/msg_derive.h"
#include "../../db/msg_envelope.h"
#include "test.h"

/* ---- real-world shaped messages and their expected structures ---- */

static const char msg_tbird_alt[] =
        "From: =?UTF-8?Q?J=c3=b6rg_M=c3=bcller?= <joerg@example.de>\r\n"
        "To: Alice <alice@example.com>, bob@example.org\r\n"
        "Cc: \"Carol, C.\" <carol@example.net>\r\n"
        "Subject: =?UTF-8?Q?Gr=c3=bc=c3=9fe?= and a long subject that "
        "is\r\n"
        " folded onto a second line\r\n"
        "Message-ID: <1a2b3c@example.de>\r\n"
        "In-Reply-To: <parent@example.com>\r\n"
        "Date: Wed, 12 Jun 2024 14:03:09 +0200\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative;\r\n"
        " boundary=\"------------9F1C2A3B4C5D6E7F\"\r\n"
        "Content-Language: de-DE\r\n"
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "--------------9F1C2A3B4C5D6E7F\r\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Hallo Alice,\r\n"
        "\r\n"
        "sch=C3=B6ne Gr=C3=BC=C3=9Fe aus M=C3=BCnchen.\r\n"
        "\r\n"
        "J=C3=B6rg\r\n"
        "--------------9F1C2A3B4C5D6E7F\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<html><head><style>p {color: red}</style></head><body>\r\n"
        "<p>Hallo Alice,</p><p>sch=C3=B6ne Gr=C3=BC=C3=9Fe aus M=C3=BC"
        "nchen.</p>\r\n"
        "<p>J=C3=B6rg &amp; co</p></body></html>\r\n"
        "\r\n"
        "--------------9F1C2A3B4C5D6E7F--\r\n";
static const char env_tbird_alt[] =
        "(\"Wed, 12 Jun 2024 14:03:09 +0200\" \"=?UTF-8?Q?Gr=c3=bc=c3="
        "9fe?= and a long subject that is folded onto a second line\" "
        "((\"=?UTF-8?Q?J=c3=b6rg_M=c3=bcller?=\" NIL \"joerg\" \"examp"
        "le.de\")) ((\"=?UTF-8?Q?J=c3=b6rg_M=c3=bcller?=\" NIL \"joerg"
        "\" \"example.de\")) ((\"=?UTF-8?Q?J=c3=b6rg_M=c3=bcller?=\" N"
        "IL \"joerg\" \"example.de\")) ((\"Alice\" NIL \"alice\" \"exa"
        "mple.com\")(NIL NIL \"bob\" \"example.org\")) ((\"Carol, C.\""
        " NIL \"carol\" \"example.net\")) NIL \"<parent@example.com>\""
        " \"<1a2b3c@example.de>\")";
static const char bs_tbird_alt[] =
        "((\"text\" \"plain\" (\"charset\" \"UTF-8\" \"format\" \"flow"
        "ed\") NIL NIL \"quoted-printable\" 74 4 NIL NIL NIL NIL)(\"te"
        "xt\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printa"
        "ble\" 170 3 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \""
        "------------9F1C2A3B4C5D6E7F\") NIL (\"de-DE\") NIL)";
static const char body_tbird_alt[] =
        "((\"text\" \"plain\" (\"charset\" \"UTF-8\" \"format\" \"flow"
        "ed\") NIL NIL \"quoted-printable\" 74 4)(\"text\" \"html\" (\""
        "charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 170 3) \"al"
        "ternative\")";

static const char msg_outlook_mixed[] =
        "From: \"Smith, John\" <John.Smith@corp.example>\r\n"
        "To: undisclosed-recipients:;\r\n"
        "Subject: Quarterly report\r\n"
        "Thread-Topic: Quarterly report\r\n"
        "Date: Mon, 3 Jun 2024 09:15:00 +0000\r\n"
        "Message-ID: <DM6PR01MB1234.namprd01.prod.example>\r\n"
        "Content-Type: multipart/mixed;\r\n"
        "\tboundary=\"_004_DM6PR01MB1234_\"\r\n"
        "MIME-Version: 1.0\r\n"
        "\r\n"
        "--_004_DM6PR01MB1234_\r\n"
        "Content-Type: multipart/alternative;\r\n"
        "\tboundary=\"_000_DM6PR01MB1234_\"\r\n"
        "\r\n"
        "--_000_DM6PR01MB1234_\r\n"
        "Content-Type: text/plain; charset=\"iso-8859-1\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Please find the report attached. Caf=E9 at 10.\r\n"
        "--_000_DM6PR01MB1234_\r\n"
        "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<html><body><p>Please find the report attached. Caf=E9 at 10."
        "</p></body></html>\r\n"
        "--_000_DM6PR01MB1234_--\r\n"
        "\r\n"
        "--_004_DM6PR01MB1234_\r\n"
        "Content-Type: application/pdf; name=\"Q2 report.pdf\"\r\n"
        "Content-Description: Q2 report.pdf\r\n"
        "Content-Disposition: attachment; filename=\"Q2 report.pdf\"; "
        "size=12;\r\n"
        "\tcreation-date=\"Mon, 03 Jun 2024 09:14:00 GMT\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "JVBERi0xLjQKJcfs\r\n"
        "--_004_DM6PR01MB1234_\r\n"
        "Content-Type: text/plain; name*0*=utf-8''R%C3%A9sum%C3%A9;\r\n"
        " name*1*=%20final.txt\r\n"
        "Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%"
        "C3%A9.txt\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "SGVsbG8gd29ybGQK\r\n"
        "--_004_DM6PR01MB1234_--\r\n";
static const char env_outlook_mixed[] =
        "(\"Mon, 3 Jun 2024 09:15:00 +0000\" \"Quarterly report\" ((\""
        "Smith, John\" NIL \"John.Smith\" \"corp.example\")) ((\"Smith"
        ", John\" NIL \"John.Smith\" \"corp.example\")) ((\"Smith, Joh"
        "n\" NIL \"John.Smith\" \"corp.example\")) ((NIL NIL \"undiscl"
        "osed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL \"<DM6PR"
        "01MB1234.namprd01.prod.example>\")";
static const char bs_outlook_mixed[] =
        "(((\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL \""
        "quoted-printable\" 46 0 NIL NIL NIL NIL)(\"text\" \"html\" (\""
        "charset\" \"iso-8859-1\") NIL NIL \"quoted-printable\" 79 0 N"
        "IL NIL NIL NIL) \"alternative\" (\"boundary\" \"_000_DM6PR01M"
        "B1234_\") NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"Q2"
        " report.pdf\") NIL \"Q2 report.pdf\" \"base64\" 16 NIL (\"att"
        "achment\" (\"filename\" \"Q2 report.pdf\" \"size\" \"12\" \"c"
        "reation-date\" \"Mon, 03 Jun 2024 09:14:00 GMT\")) NIL NIL)(\""
        "text\" \"plain\" (\"name*\" \"utf-8''R%C3%A9sum%C3%A9%20final"
        ".txt\" \"CHARSET\" \"US-ASCII\") NIL NIL \"base64\" 16 0 NIL "
        "(\"attachment\" (\"filename*\" \"utf-8''R%C3%A9sum%C3%A9.txt\""
        ")) NIL NIL) \"mixed\" (\"boundary\" \"_004_DM6PR01MB1234_\") "
        "NIL NIL NIL)";
static const char body_outlook_mixed[] =
        "(((\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL \""
        "quoted-printable\" 46 0)(\"text\" \"html\" (\"charset\" \"iso"
        "-8859-1\") NIL NIL \"quoted-printable\" 79 0) \"alternative\""
        ")(\"application\" \"pdf\" (\"name\" \"Q2 report.pdf\") NIL \""
        "Q2 report.pdf\" \"base64\" 16)(\"text\" \"plain\" (\"name*\" "
        "\"utf-8''R%C3%A9sum%C3%A9%20final.txt\" \"CHARSET\" \"US-ASCI"
        "I\") NIL NIL \"base64\" 16 0) \"mixed\")";

static const char msg_forward[] =
        "From: alice@example.com\r\n"
        "To: bob@example.org\r\n"
        "Subject: Fwd: lunch\r\n"
        "Date: 5 Jun 24 12:00 EDT\r\n"
        "Content-Type: multipart/mixed; boundary=outer\r\n"
        "\r\n"
        "--outer\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "See below.\r\n"
        "--outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        "From: Carol <carol@example.net>\r\n"
        "To: alice@example.com\r\n"
        "Subject: lunch\r\n"
        "Date: Tue, 4 Jun 2024 11:00:00 -0700\r\n"
        "Message-ID: <lunch@example.net>\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Noon?\r\n"
        "--inner\r\n"
        "Content-Type: text/html; charset=us-ascii\r\n"
        "\r\n"
        "<b>Noon?</b>\r\n"
        "--inner--\r\n"
        "\r\n"
        "--outer--\r\n";
static const char env_forward[] =
        "(\"5 Jun 24 12:00 EDT\" \"Fwd: lunch\" ((NIL NIL \"alice\" \""
        "example.com\")) ((NIL NIL \"alice\" \"example.com\")) ((NIL N"
        "IL \"alice\" \"example.com\")) ((NIL NIL \"bob\" \"example.or"
        "g\")) NIL NIL NIL NIL)";
static const char bs_forward[] =
        "((\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BI"
        "T\" 10 0 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL "
        "\"7BIT\" 339 (\"Tue, 4 Jun 2024 11:00:00 -0700\" \"lunch\" (("
        "\"Carol\" NIL \"carol\" \"example.net\")) ((\"Carol\" NIL \"c"
        "arol\" \"example.net\")) ((\"Carol\" NIL \"carol\" \"example."
        "net\")) ((NIL NIL \"alice\" \"example.com\")) NIL NIL NIL \"<"
        "lunch@example.net>\") ((\"text\" \"plain\" (\"charset\" \"us-"
        "ascii\") NIL NIL \"7BIT\" 5 0 NIL NIL NIL NIL)(\"text\" \"htm"
        "l\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 12 0 NIL NIL "
        "NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL"
        ") 16 NIL (\"inline\" NIL) NIL NIL) \"mixed\" (\"boundary\" \""
        "outer\") NIL NIL NIL)";
static const char body_forward[] =
        "((\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BI"
        "T\" 10 0)(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 339 (\""
        "Tue, 4 Jun 2024 11:00:00 -0700\" \"lunch\" ((\"Carol\" NIL \""
        "carol\" \"example.net\")) ((\"Carol\" NIL \"carol\" \"example"
        ".net\")) ((\"Carol\" NIL \"carol\" \"example.net\")) ((NIL NI"
        "L \"alice\" \"example.com\")) NIL NIL NIL \"<lunch@example.ne"
        "t>\") ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL"
        " \"7BIT\" 5 0)(\"text\" \"html\" (\"charset\" \"us-ascii\") N"
        "IL NIL \"7BIT\" 12 0) \"alternative\") 16) \"mixed\")";

static const char msg_apple_related[] =
        "From: Dan <dan@example.com>\r\n"
        "To: Erin <erin@example.com>\r\n"
        "Subject: photo\r\n"
        "Date: Thu, 6 Jun 2024 18:30:00 +0100\r\n"
        "Mime-Version: 1.0 (Mac OS X Mail 16.0)\r\n"
        "Content-Type: multipart/related; type=\"text/html\"; boundary"
        "=\"Apple-Mail=_ABC\"\r\n"
        "\r\n"
        "--Apple-Mail=_ABC\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Type: text/html; charset=us-ascii\r\n"
        "\r\n"
        "<html><body>Look: <img src=\"cid:img1@example.com\"></body></"
        "html>\r\n"
        "--Apple-Mail=_ABC\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: inline; filename=photo.png\r\n"
        "Content-Type: image/png; x-unix-mode=0644; name=\"photo.png\""
        "\r\n"
        "Content-Id: <img1@example.com>\r\n"
        "\r\n"
        "iVBORw0KGgo=\r\n"
        "--Apple-Mail=_ABC--\r\n";
static const char env_apple_related[] =
        "(\"Thu, 6 Jun 2024 18:30:00 +0100\" \"photo\" ((\"Dan\" NIL \""
        "dan\" \"example.com\")) ((\"Dan\" NIL \"dan\" \"example.com\""
        ")) ((\"Dan\" NIL \"dan\" \"example.com\")) ((\"Erin\" NIL \"e"
        "rin\" \"example.com\")) NIL NIL NIL NIL)";
static const char bs_apple_related[] =
        "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit"
        "\" 64 0 NIL NIL NIL NIL)(\"image\" \"png\" (\"x-unix-mode\" \""
        "0644\" \"name\" \"photo.png\") \"<img1@example.com>\" NIL \"b"
        "ase64\" 12 NIL (\"inline\" (\"filename\" \"photo.png\")) NIL "
        "NIL) \"related\" (\"type\" \"text/html\" \"boundary\" \"Apple"
        "-Mail=_ABC\") NIL NIL NIL)";
static const char body_apple_related[] =
        "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit"
        "\" 64 0)(\"image\" \"png\" (\"x-unix-mode\" \"0644\" \"name\""
        " \"photo.png\") \"<img1@example.com>\" NIL \"base64\" 12) \"r"
        "elated\")";

static const char msg_digest[] =
        "From: list-request@lists.example\r\n"
        "To: list@lists.example\r\n"
        "Subject: List digest, Vol 1, Issue 2\r\n"
        "Date: Fri, 7 Jun 2024 00:00:00 +0000\r\n"
        "Content-Type: multipart/digest; boundary=\"===digest===\"\r\n"
        "\r\n"
        "--===digest===\r\n"
        "\r\n"
        "From: a@example.com\r\n"
        "Subject: first\r\n"
        "\r\n"
        "one\r\n"
        "--===digest===\r\n"
        "\r\n"
        "From: b@example.com\r\n"
        "Subject: second\r\n"
        "\r\n"
        "two\r\n"
        "--===digest===--\r\n";
static const char env_digest[] =
        "(\"Fri, 7 Jun 2024 00:00:00 +0000\" \"List digest, Vol 1, Iss"
        "ue 2\" ((NIL NIL \"list-request\" \"lists.example\")) ((NIL N"
        "IL \"list-request\" \"lists.example\")) ((NIL NIL \"list-requ"
        "est\" \"lists.example\")) ((NIL NIL \"list\" \"lists.example\""
        ")) NIL NIL NIL NIL)";
static const char bs_digest[] =
        "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 42 (NIL \"first"
        "\" ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"exampl"
        "e.com\")) ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL N"
        "IL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \""
        "7BIT\" 3 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)(\"MESSAGE\" \""
        "RFC822\" NIL NIL NIL \"7BIT\" 43 (NIL \"second\" ((NIL NIL \""
        "b\" \"example.com\")) ((NIL NIL \"b\" \"example.com\")) ((NIL"
        " NIL \"b\" \"example.com\")) NIL NIL NIL NIL NIL) (\"TEXT\" \""
        "PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 0 NIL N"
        "IL NIL NIL) 3 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"==="
        "digest===\") NIL NIL NIL)";
static const char body_digest[] =
        "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 42 (NIL \"first"
        "\" ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"exampl"
        "e.com\")) ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL N"
        "IL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \""
        "7BIT\" 3 0) 3)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 43"
        " (NIL \"second\" ((NIL NIL \"b\" \"example.com\")) ((NIL NIL "
        "\"b\" \"example.com\")) ((NIL NIL \"b\" \"example.com\")) NIL"
        " NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII"
        "\") NIL NIL \"7BIT\" 3 0) 3) \"digest\")";

static const char msg_plain_group[] =
        "Return-Path: <x@y>\r\n"
        "From: \"Frank (Ops)\" <frank@ops.example> (team lead)\r\n"
        "Sender: mailer@ops.example\r\n"
        "Reply-To: Ops: ops1@ops.example, ops2@ops.example;\r\n"
        "To: Managers: m1@example.com, \"M Two\" <m2@example.com>;, so"
        "lo\r\n"
        "Bcc: hidden@example.com\r\n"
        "Subject: =?ISO-8859-1?Q?Caf=E9?= =?ISO-8859-1?Q?_au_lait?=\r\n"
        "Date: Sat, 08 Jun 2024 07:05 GMT\r\n"
        "Message-ID: <plain@ops.example>\r\n"
        "\r\n"
        "Line one\r\n"
        "Line two\r\n";
static const char env_plain_group[] =
        "(\"Sat, 08 Jun 2024 07:05 GMT\" \"=?ISO-8859-1?Q?Caf=E9?= =?I"
        "SO-8859-1?Q?_au_lait?=\" ((\"Frank (Ops)\" NIL \"frank\" \"op"
        "s.example\")) ((NIL NIL \"mailer\" \"ops.example\")) ((NIL NI"
        "L \"Ops\" NIL)(NIL NIL \"ops1\" \"ops.example\")(NIL NIL \"op"
        "s2\" \"ops.example\")(NIL NIL NIL NIL)) ((NIL NIL \"Managers\""
        " NIL)(NIL NIL \"m1\" \"example.com\")(\"M Two\" NIL \"m2\" \""
        "example.com\")(NIL NIL NIL NIL)(NIL NIL \"solo\" \"MISSING_DO"
        "MAIN\")) NIL ((NIL NIL \"hidden\" \"example.com\")) NIL \"<pl"
        "ain@ops.example>\")";
static const char bs_plain_group[] =
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT"
        "\" 20 2 NIL NIL NIL NIL)";
static const char body_plain_group[] =
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT"
        "\" 20 2)";

struct rw_case {
	const char *name, *msg, *env, *bs, *body;
};

static const struct rw_case rw_cases[] = {
        {"tbird_alt", msg_tbird_alt, env_tbird_alt, bs_tbird_alt,
         body_tbird_alt},
        {"outlook_mixed", msg_outlook_mixed, env_outlook_mixed,
         bs_outlook_mixed, body_outlook_mixed},
        {"forward", msg_forward, env_forward, bs_forward, body_forward},
        {"apple_related", msg_apple_related, env_apple_related,
         bs_apple_related, body_apple_related},
        {"digest", msg_digest, env_digest, bs_digest, body_digest},
        {"plain_group", msg_plain_group, env_plain_group, bs_plain_group,
         body_plain_group},
};

/* Part map lookup: 0 and *loc, or -1. */
static int
find(const struct msg_derived *d, struct mime_loc *loc, size_t depth, ...)
{
	uint32_t path[16];
	size_t i;
	va_list ap;

	va_start(ap, depth);
	for (i = 0; i < depth; i++)
		path[i] = va_arg(ap, uint32_t);
	va_end(ap);
	return mime_partmap_find(d->partmap, d->partmap_len, path, depth, loc);
}

/* Is raw[off..off+len) exactly s? */
static int
slice_is(const char *raw, uint64_t off, uint64_t len, const char *s)
{
	return len == strlen(s) && memcmp(raw + off, s, len) == 0;
}

static void
test_real_world(void)
{
	size_t i;

	for (i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		const struct rw_case *c = &rw_cases[i];
		struct msg_derived d;

		T_EQ_INT(msg_derive(c->msg, strlen(c->msg), &d), 0);
		T_EQ_STR(d.envelope, c->env);
		T_EQ_STR(d.bodystructure, c->bs);
		T_EQ_STR(d.body, c->body);
		T_EQ_INT(d.header_len, hdr_block_len(c->msg, strlen(c->msg)));
		msg_derived_clear(&d);
	}
}

static void
test_real_world_search(void)
{
	struct msg_derived d;

	msg_derive(msg_tbird_alt, strlen(msg_tbird_alt), &d);
	T_ASSERT(strstr(d.search_hdr,
	                "\nSubject: Gr\xc3\xbc\xc3\x9f"
	                "e and a long subject that is folded onto a second "
	                "line\n") != NULL);
	T_ASSERT(strncmp(d.search_hdr,
	                 "From: J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>\n",
	                 39) == 0);
	/* QP and UTF-8 undone */
	T_ASSERT(strstr(d.search_text, "sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9f"
	                               "e aus M\xc3\xbcnchen.") != NULL);
	/* of multipart/alternative only the text/plain version is indexed */
	T_ASSERT(strstr(d.search_text, "J\xc3\xb6rg & co") == NULL);
	T_ASSERT(strstr(d.search_text, "color") == NULL);
	T_ASSERT(strstr(d.search_text, "<p>") == NULL);
	T_EQ_INT(d.search_text_len, strlen(d.search_text));
	T_EQ_INT(d.date_sent, 1718193789);
	msg_derived_clear(&d);

	/* the HTML of an alternative without text/plain is indexed:
	 * tags, style and entities handled */
	{
		static const char html_alt[] =
		        "Subject: h\r\n"
		        "Content-Type: multipart/alternative; boundary=b\r\n"
		        "\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
		        "\r\n--b\r\nContent-Type: text/html; charset=UTF-8\r\n"
		        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		        "<html><head><style>p {color: red}</style></head>"
		        "<body><p>J=C3=B6rg &amp; co</p></body></html>\r\n"
		        "--b--\r\n";

		msg_derive(html_alt, strlen(html_alt), &d);
		T_ASSERT(strstr(d.search_text, "J\xc3\xb6rg & co") != NULL);
		T_ASSERT(strstr(d.search_text, "color") == NULL);
		T_ASSERT(strstr(d.search_text, "<p>") == NULL);
		msg_derived_clear(&d);
	}

	/* iso-8859-1 QP, and a base64 text attachment */
	msg_derive(msg_outlook_mixed, strlen(msg_outlook_mixed), &d);
	T_ASSERT(strstr(d.search_text, "Caf\xc3\xa9 at 10.") != NULL);
	T_ASSERT(strstr(d.search_text, "Hello world") != NULL);
	/* the PDF is not text */
	T_ASSERT(strstr(d.search_text, "PDF") == NULL);
	msg_derived_clear(&d);

	/* adjacent encoded words joined in search_hdr, raw in ENVELOPE */
	msg_derive(msg_plain_group, strlen(msg_plain_group), &d);
	T_ASSERT(strstr(d.search_hdr, "\nSubject: Caf\xc3\xa9 au lait\n"));
	T_EQ_INT(d.date_sent, 1717830300);
	msg_derived_clear(&d);
}

static void
test_partmap_forward(void)
{
	const char *m = msg_forward;
	struct msg_derived d;
	struct mime_loc l;
	uint64_t hl;

	msg_derive(m, strlen(m), &d);
	T_EQ_INT(d.partmap[0], MIME_PARTMAP_VERSION);
	hl = d.header_len;
	/* the whole message: HEADER and TEXT */
	T_EQ_INT(find(&d, &l, 0), 0);
	T_EQ_INT(l.hdr_off, 0);
	T_EQ_INT(l.hdr_len, hl);
	T_EQ_INT(l.body_off, hl);
	T_EQ_INT(l.body_len, strlen(m) - hl);
	T_EQ_INT(l.msg_hdr_len, hl);
	T_EQ_INT(l.msg_body_off, hl);
	T_ASSERT(l.is_multipart);
	/* 1: text, with its MIME header */
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "See below."));
	T_ASSERT(slice_is(m, l.hdr_off, l.hdr_len,
	                  "Content-Type: text/plain\r\n\r\n"));
	T_ASSERT(!l.is_message && !l.is_multipart);
	T_EQ_INT(l.cte, MIME_CTE_7BIT);
	/* 2: message/rfc822: 2.HEADER and 2.TEXT */
	T_EQ_INT(find(&d, &l, 1, 2), 0);
	T_ASSERT(l.is_message);
	T_ASSERT(slice_is(m, l.hdr_off, l.hdr_len,
	                  "Content-Type: message/rfc822\r\n"
	                  "Content-Disposition: inline\r\n\r\n"));
	T_EQ_INT(l.msg_hdr_off, l.body_off);
	T_ASSERT(slice_is(m, l.msg_hdr_off, l.msg_hdr_len,
	                  "From: Carol <carol@example.net>\r\n"
	                  "To: alice@example.com\r\n"
	                  "Subject: lunch\r\n"
	                  "Date: Tue, 4 Jun 2024 11:00:00 -0700\r\n"
	                  "Message-ID: <lunch@example.net>\r\n"
	                  "Content-Type: multipart/alternative; "
	                  "boundary=inner\r\n\r\n"));
	T_EQ_INT(l.msg_body_off, l.msg_hdr_off + l.msg_hdr_len);
	T_EQ_INT(l.msg_body_off + l.msg_body_len, l.body_off + l.body_len);
	T_ASSERT(strncmp(m + l.msg_body_off, "--inner\r\n", 9) == 0);
	T_ASSERT(
	        slice_is(m, l.body_off + l.body_len - 11, 11, "--inner--\r\n"));
	/* 2.1 and 2.2 are the embedded message's parts */
	T_EQ_INT(find(&d, &l, 2, 2, 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "Noon?"));
	T_EQ_INT(find(&d, &l, 2, 2, 2), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "<b>Noon?</b>"));
	T_ASSERT(slice_is(m, l.hdr_off, l.hdr_len,
	                  "Content-Type: text/html; charset=us-ascii\r\n\r\n"));
	/* not found */
	T_EQ_INT(find(&d, &l, 1, 0), -1);
	T_EQ_INT(find(&d, &l, 1, 3), -1);
	T_EQ_INT(find(&d, &l, 2, 1, 1), -1);
	T_EQ_INT(find(&d, &l, 2, 2, 3), -1);
	T_EQ_INT(find(&d, &l, 3, 2, 1, 1), -1);
	T_EQ_INT(find(&d, &l, 1, 0xffffffffu), -1);
	msg_derived_clear(&d);
}

static void
test_partmap_single(void)
{
	const char *m = "Subject: x\r\n\r\nhello\r\n";
	const char *m2 = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                 "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	                 "Subject: in\r\n\r\ninner body\r\n--b--\r\n";
	struct msg_derived d;
	struct mime_loc l;

	msg_derive(m, strlen(m), &d);
	/* part 1 of a message that is not multipart is its body */
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "hello\r\n"));
	T_ASSERT(slice_is(m, l.hdr_off, l.hdr_len, "Subject: x\r\n\r\n"));
	T_EQ_INT(find(&d, &l, 1, 2), -1);
	T_EQ_INT(find(&d, &l, 2, 1, 1), -1);
	msg_derived_clear(&d);

	msg_derive(m2, strlen(m2), &d);
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(l.is_message);
	T_ASSERT(slice_is(m2, l.msg_hdr_off, l.msg_hdr_len,
	                  "Subject: in\r\n\r\n"));
	T_ASSERT(slice_is(m2, l.msg_body_off, l.msg_body_len, "inner body"));
	/* 1.1: the embedded message is not multipart: its body */
	T_EQ_INT(find(&d, &l, 2, 1, 1), 0);
	T_ASSERT(slice_is(m2, l.body_off, l.body_len, "inner body"));
	T_ASSERT(slice_is(m2, l.hdr_off, l.hdr_len, "Subject: in\r\n\r\n"));
	T_EQ_INT(find(&d, &l, 2, 1, 2), -1);
	T_EQ_INT(find(&d, &l, 3, 1, 1, 1), -1);
	msg_derived_clear(&d);
}

static void
test_partmap_corrupt(void)
{
	struct msg_derived d;
	struct mime_loc l;
	uint32_t path[3] = {2, 2, 1};
	unsigned char *pm;
	size_t i, n, bit;

	msg_derive(msg_forward, strlen(msg_forward), &d);
	n = d.partmap_len;
	pm = malloc(n);
	/* every truncation and every flipped bit: no crash, sane result */
	for (i = 0; i < n; i++) {
		size_t depth;

		for (depth = 0; depth <= 3; depth++)
			(void)mime_partmap_find(d.partmap, i, path, depth, &l);
	}
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			size_t depth;

			memcpy(pm, d.partmap, n);
			pm[i] ^= (unsigned char)(1u << bit);
			for (depth = 0; depth <= 3; depth++) {
				if (mime_partmap_find(pm, n, path, depth, &l) ==
				    0)
					T_ASSERT(l.hdr_off <
					         (UINT64_C(1) << 62));
			}
		}
	}
	T_EQ_INT(mime_partmap_find(NULL, 0, path, 0, &l), -1);
	pm[0] = 99;
	T_EQ_INT(mime_partmap_find(pm, n, path, 0, &l), -1);
	free(pm);
	msg_derived_clear(&d);
}

static void
test_bare_lf(void)
{
	/* the forward message with bare LF: offsets exact into raw */
	char *m = malloc(strlen(msg_forward) + 1);
	const char *s = msg_forward;
	struct msg_derived d;
	struct mime_loc l;
	size_t n = 0;

	for (; *s; s++) {
		if (*s != '\r')
			m[n++] = *s;
	}
	m[n] = '\0';
	msg_derive(m, n, &d);
	T_EQ_INT(d.header_len, hdr_block_len(m, n));
	T_EQ_INT(d.header_len, 136);
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "See below."));
	T_EQ_INT(find(&d, &l, 2, 2, 2), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "<b>Noon?</b>"));
	T_ASSERT(slice_is(m, l.hdr_off, l.hdr_len,
	                  "Content-Type: text/html; charset=us-ascii\n\n"));
	T_EQ_INT(find(&d, &l, 1, 2), 0);
	T_ASSERT(strncmp(m + l.msg_hdr_off, "From: Carol", 11) == 0);
	T_ASSERT(slice_is(m, l.body_off + l.body_len - 10, 10, "--inner--\n"));
	/* sizes are raw octets, lines count LF */
	T_ASSERT(
	        strstr(d.bodystructure,
	               "(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	               "\"7BIT\" 10 0 NIL NIL NIL NIL)") != NULL);
	T_ASSERT(strstr(d.bodystructure, "\"7BIT\" 323 (") != NULL);
	T_ASSERT(strstr(d.bodystructure,
	                "\"alternative\" (\"boundary\" "
	                "\"inner\") NIL NIL NIL) 16 NIL") != NULL);
	msg_derived_clear(&d);
	free(m);
}

/* ---- broken and odd messages ---- */

static void
derive_str(const char *m, size_t len, struct msg_derived *d)
{
	T_EQ_INT(msg_derive(m, len, d), 0);
}

#define BS_EMPTY_TEXT                                                          \
	"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 " \
	"NIL NIL NIL NIL)"

static void
test_empty_and_headerless(void)
{
	struct msg_derived d;
	struct mime_loc l;
	const char *h = "Subject: only a header\r\nFrom: a@b";
	const char *nh = "\r\nbody only\r\n";
	const char *junk = "this is no header\r\nneither is this\r\n";

	derive_str("", 0, &d);
	T_EQ_STR(d.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	T_EQ_STR(d.bodystructure, BS_EMPTY_TEXT);
	T_EQ_INT(d.header_len, 0);
	T_EQ_INT(d.date_sent, -1);
	T_EQ_INT(d.search_hdr_len, 0);
	T_EQ_INT(d.search_text_len, 0);
	T_EQ_INT(find(&d, &l, 0), 0);
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_EQ_INT(l.body_len, 0);
	msg_derived_clear(&d);
	derive_str(NULL, 0, &d);
	msg_derived_clear(&d);

	/* no empty line: all header */
	derive_str(h, strlen(h), &d);
	T_EQ_INT(d.header_len, strlen(h));
	T_EQ_STR(d.envelope, "(NIL \"only a header\" ((NIL NIL \"a\" \"b\")) "
	                     "((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	                     "NIL NIL NIL NIL NIL)");
	T_EQ_STR(d.bodystructure, BS_EMPTY_TEXT);
	msg_derived_clear(&d);

	/* no header at all */
	derive_str(nh, strlen(nh), &d);
	T_EQ_INT(d.header_len, 2);
	T_EQ_STR(d.bodystructure, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	                          "\"US-ASCII\") NIL NIL \"7BIT\" 11 1 NIL "
	                          "NIL NIL NIL)");
	T_EQ_STR(d.search_text, "body only\r\n");
	msg_derived_clear(&d);

	/* text without a header: taken as header lines (as Dovecot) */
	derive_str(junk, strlen(junk), &d);
	T_EQ_INT(d.header_len, strlen(junk));
	T_EQ_STR(d.bodystructure, BS_EMPTY_TEXT);
	msg_derived_clear(&d);
}

static void
test_broken_multipart(void)
{
	struct msg_derived d;
	struct mime_loc l;
	/* no final boundary; a part header cut by a boundary; text after */
	const char *m1 =
	        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	        "--b\r\nContent-Type: text/plain\r\n--b\r\n\r\nlast\r\n";
	/* boundary never appears */
	const char *m2 = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                 "just text\r\n";
	/* no boundary parameter */
	const char *m3 =
	        "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n";
	/* boundary with quoted specials, and a trailing-garbage line */
	const char *m4 = "Content-Type: multipart/mixed;\r\n boundary=\"a;b=c "
	                 "\\\"q\\\"\"\r\n\r\n--a;b=c \"q\" junk\r\n\r\none\r\n"
	                 "--a;b=c \"q\"--\r\n";
	/* nested with the same boundary */
	const char *m5 =
	        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	        "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
	        "\r\ni1\r\n--b--\r\n\r\n--b\r\n\r\nafter\r\n--b--\r\n";

	derive_str(m1, strlen(m1), &d);
	T_EQ_STR(d.body, "((\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL "
	                 "NIL \"7BIT\" 0 0)(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	                 "\"US-ASCII\") NIL NIL \"7BIT\" 6 1) \"mixed\")");
	T_EQ_INT(find(&d, &l, 1, 2), 0);
	T_ASSERT(slice_is(m1, l.body_off, l.body_len, "last\r\n"));
	msg_derived_clear(&d);

	derive_str(m2, strlen(m2), &d);
	T_EQ_STR(d.bodystructure,
	         "(" BS_EMPTY_TEXT
	         " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	T_EQ_INT(find(&d, &l, 1, 1), -1);
	T_EQ_INT(find(&d, &l, 0), 0);
	T_ASSERT(slice_is(m2, l.body_off, l.body_len, "just text\r\n"));
	msg_derived_clear(&d);

	derive_str(m3, strlen(m3), &d);
	T_EQ_STR(d.bodystructure,
	         "(" BS_EMPTY_TEXT " \"mixed\" NIL NIL NIL NIL)");
	msg_derived_clear(&d);

	derive_str(m4, strlen(m4), &d);
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(slice_is(m4, l.body_off, l.body_len, "one"));
	T_EQ_INT(find(&d, &l, 1, 2), -1);
	msg_derived_clear(&d);

	derive_str(m5, strlen(m5), &d);
	T_EQ_INT(find(&d, &l, 2, 1, 1), 0);
	T_ASSERT(slice_is(m5, l.body_off, l.body_len, "i1"));
	T_EQ_INT(find(&d, &l, 1, 2), 0);
	T_ASSERT(slice_is(m5, l.body_off, l.body_len, "after"));
	msg_derived_clear(&d);
}

static void
test_encoded_rfc822(void)
{
	/* message/rfc822 in base64 is not parsed: empty envelope and body */
	const char *m =
	        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	        "--b\r\nContent-Type: message/rfc822\r\n"
	        "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";
	struct msg_derived d;
	struct mime_loc l;

	derive_str(m, strlen(m), &d);
	T_EQ_STR(d.bodystructure,
	         "((\"message\" \"rfc822\" NIL NIL NIL \"base64\" 4 "
	         "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) " BS_EMPTY_TEXT
	         " 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL "
	         "NIL)");
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_ASSERT(!l.is_message);
	T_EQ_INT(l.cte, MIME_CTE_BASE64);
	T_EQ_INT(find(&d, &l, 2, 1, 1), -1);
	msg_derived_clear(&d);
}

static void
test_odd_headers(void)
{
	struct msg_derived d;
	const char m[] = "Subject: a\0b\xff\r\nFrom: x@y\r\n\r\n";
	const char *m2 = "X: =?utf-8?q?a=0D=0Ab?=\r\n\r\n";
	char *big;
	size_t n = 2000, i;

	derive_str(m, sizeof(m) - 1, &d);
	T_EQ_STR(d.envelope,
	         "(NIL {4}\r\na\x80"
	         "b\xff ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\"))"
	         " ((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL NIL)");
	T_EQ_STR(d.search_hdr, "Subject: a\xef\xbf\xbd"
	                       "b\xef\xbf\xbd\nFrom: x@y\n");
	msg_derived_clear(&d);

	/* a word decoding to a line end stays on its line in search_hdr */
	derive_str(m2, strlen(m2), &d);
	T_EQ_STR(d.search_hdr, "X: a  b\n");
	msg_derived_clear(&d);

	/* a subject of 2000 characters (past 998): a literal */
	big = malloc(n + 64);
	memcpy(big, "Subject: ", 9);
	for (i = 0; i < n; i++)
		big[9 + i] = (char)('a' + i % 26);
	memcpy(big + 9 + n, "\r\n\r\n", 5);
	derive_str(big, strlen(big), &d);
	T_ASSERT(strncmp(d.envelope, "(NIL {2000}\r\nabc", 16) == 0);
	T_EQ_INT(d.header_len, 9 + n + 4);
	msg_derived_clear(&d);
	free(big);
}

static void
test_long_lines(void)
{
	/* a 100k-character line inside a part */
	size_t n = 100000, len;
	char *m = malloc(n + 256);
	struct msg_derived d;
	struct mime_loc l;

	len = (size_t)snprintf(m, 256,
	                       "Content-Type: multipart/mixed; "
	                       "boundary=b\r\n\r\n--b\r\n\r\n");
	memset(m + len, 'x', n);
	len += n;
	memcpy(m + len, "\r\n--b--\r\n", 9);
	len += 9;
	derive_str(m, len, &d);
	T_EQ_INT(find(&d, &l, 1, 1), 0);
	T_EQ_INT(l.body_len, n);
	T_EQ_INT(d.search_text_len, n);
	msg_derived_clear(&d);
	free(m);
}

static void
test_envelope_details(void)
{
	struct buf b;
	const char *h =
	        "From: \"Doe, J.\" <j@x.org> (ignored), bare, <@a,@b:r@h>, "
	        "q@[1.2.3.4] (Comment Name), \"\" <e@x>\r\n"
	        "Reply-To:\r\n"
	        "To: g: ;, h: a@b\r\n"
	        "Subject:\r\n"
	        "Date:  Mon, 7 Feb 1994 21:52:25 -0800  \r\n"
	        "Message-ID:\r\n <m@x>\r\n\r\n";

	buf_init(&b, 0);
	T_EQ_INT(msg_envelope_write(h, strlen(h), &b), 0);
	T_EQ_STR(buf_cstr(&b),
	         "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"\" "
	         "((\"Doe, J.\" NIL \"j\" \"x.org\")(NIL NIL \"bare\" "
	         "\"MISSING_DOMAIN\")(NIL \"@a,@b\" \"r\" \"h\")(\"Comment "
	         "Name\" NIL \"q\" \"[1.2.3.4]\")(NIL NIL \"e\" \"x\")) "
	         "((\"Doe, J.\" NIL \"j\" \"x.org\")(NIL NIL \"bare\" "
	         "\"MISSING_DOMAIN\")(NIL \"@a,@b\" \"r\" \"h\")(\"Comment "
	         "Name\" NIL \"q\" \"[1.2.3.4]\")(NIL NIL \"e\" \"x\")) "
	         "((\"Doe, J.\" NIL \"j\" \"x.org\")(NIL NIL \"bare\" "
	         "\"MISSING_DOMAIN\")(NIL \"@a,@b\" \"r\" \"h\")(\"Comment "
	         "Name\" NIL \"q\" \"[1.2.3.4]\")(NIL NIL \"e\" \"x\")) "
	         "((NIL NIL \"g\" NIL)(NIL NIL NIL NIL)(NIL NIL \"h\" NIL)"
	         "(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)) NIL NIL NIL "
	         "\"<m@x>\")");
	buf_clear(&b);
}

static void
test_dates(void)
{
	static const struct {
		const char *s;
		long long t;
	} v[] = {
	        {"Mon, 7 Feb 1994 21:52:25 -0800", 760686745},
	        {"7 Feb 94 21:52 EST", 760675920},
	        {"Tue,  1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557},
	        {"Tue, 1 Jul 2003 10:52:37 +0200", 1057049557},
	        {"tue, 01 JUL 2003 10:52:37 +0200", 1057049557},
	        {"Mon, 7 Feb 1994 21:52:25 +0530", 760638145},
	        {"Mon Feb  7 21:52:25 1994", 760686745 - 8 * 3600},
	        {"1 Jan 1970 00:00:00 +0000", 0},
	        {"1 Jan 1970 00:00:00 Z", 0},
	        {"1 Jan 1970 00:00:00 A", 0},
	        {"1 Jan 1970 00:00:00", 0},
	        {"1 Jan 070 00:00:00 GMT", 0},
	        {"(c) 1 (x) Jan 1970 00 : 00 : 00 UT", 0},
	        {"1-Jan-1970 00:00:00 +0000", 0},
	        {"Sat, 29 Feb 2020 12:00:00 +0000", 1582977600},
	        {"1 Jan 1970 00:00:60 +0000", 59},
	        {"", -1},
	        {"yesterday", -1},
	        {"32 Jan 2020 10:00 +0000", -1},
	        {"1 Foo 2020 10:00 +0000", -1},
	        {"1 Jan 2020 24:00 +0000", -1},
	        {"1 Jan 2020 10:60 +0000", -1},
	        {"1 Jan 2020 10 +0000", -1},
	        {"1 Jan 2020 10:00 +05", -1},
	        {"1 Jan 1899 10:00 +0000", -1},
	        {"Mon, 1 Jan", -1},
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		long long t = msg_date_parse(v[i].s, strlen(v[i].s));

		if (t != v[i].t)
			fprintf(stderr, "  date \"%s\"\n", v[i].s);
		T_EQ_INT(t, v[i].t);
	}
}

/* ---- parameters (RFC 2045, 2231) ---- */

static const char *
param(const struct mime_params *mp, size_t i, int value)
{
	static char s[1024];
	struct str v =
	        value ? mime_params_value(mp, i) : mime_params_name(mp, i);

	memcpy(s, v.p, v.len);
	s[v.len] = '\0';
	return s;
}

static void
test_params(void)
{
	struct mime_params *mp = malloc(sizeof(*mp));
	const char *ct = "text/plain (a comment); charset=\"utf-8\"; "
	                 "name=\"a \\\"b\\\" c\";\r\n\tformat=flowed;junk;"
	                 " x = y ; boundary=----=_Part_1";
	struct str v;

	mime_params_init(mp);
	mime_params_parse(mp, ct, strlen(ct), 1);
	T_ASSERT(mp->has_type);
	T_ASSERT(str_eq_cstr(mp->type, "text"));
	T_ASSERT(str_eq_cstr(mp->subtype, "plain"));
	T_EQ_INT(mp->n, 5);
	T_EQ_STR(param(mp, 0, 0), "charset");
	T_EQ_STR(param(mp, 0, 1), "utf-8");
	T_EQ_STR(param(mp, 1, 1), "a \"b\" c");
	T_EQ_STR(param(mp, 2, 1), "flowed");
	T_EQ_STR(param(mp, 3, 0), "x");
	T_EQ_STR(param(mp, 3, 1), "y");
	T_EQ_INT(mime_params_get(mp, "BOUNDARY", &v), 0);
	T_ASSERT(str_eq_cstr(v, "----=_Part_1"));
	T_EQ_INT(mime_params_get(mp, "missing", &v), -1);

	mime_params_parse(mp, "attachment; filename=a.txt", 26, 0);
	T_ASSERT(str_eq_cstr(mp->type, "attachment"));
	T_EQ_INT(mp->n, 1);

	mime_params_parse(mp, "  ; x=1", 7, 1);
	T_ASSERT(!mp->has_type);
	T_EQ_INT(mp->n, 1);
	mime_params_parse(mp, "text", 4, 1);
	T_ASSERT(mp->has_type && mp->subtype.len == 0);
	mime_params_clear(mp);
	free(mp);
}

static void
test_params_2231(void)
{
	struct mime_params *mp = malloc(sizeof(*mp));
	struct buf b;
	const char *c1 = "application/x; name*1=\"b c\"; plain=1; name*0=a;"
	                 " name*2=d";
	const char *c2 = "a/b; f*0*=utf-8''%E2%82; f*1*=%AC.txt; f*2=\" !\"";
	const char *c3 = "a/b; title*=us-ascii'en'This%20is%20~%2A";
	const char *c4 = "a/b; n*0=a; n*2=c; n*0=dup";
	const char *c5 = "a/b; n*0=\"a\"; N*1=b; n*01=x";

	mime_params_init(mp);
	mime_params_parse(mp, c1, strlen(c1), 1);
	T_EQ_INT(mp->n, 2);
	T_EQ_STR(param(mp, 0, 0), "plain");
	T_EQ_STR(param(mp, 1, 0), "name");
	T_EQ_STR(param(mp, 1, 1), "ab cd");

	/* extended sections: merged as Dovecot shows them */
	mime_params_parse(mp, c2, strlen(c2), 1);
	T_EQ_INT(mp->n, 1);
	T_EQ_STR(param(mp, 0, 0), "f*");
	T_EQ_STR(param(mp, 0, 1), "utf-8''%E2%82%AC.txt%20!");
	buf_init(&b, 0);
	T_EQ_INT(mime_param_decode_2231(mime_params_value(mp, 0), &b), 0);
	T_EQ_STR(buf_cstr(&b), "\xe2\x82\xac.txt !");
	buf_clear(&b);

	mime_params_parse(mp, c3, strlen(c3), 1);
	T_EQ_STR(param(mp, 0, 0), "title*");
	T_EQ_STR(param(mp, 0, 1), "us-ascii'en'This%20is%20~%2A");
	buf_init(&b, 0);
	T_EQ_INT(mime_param_decode_2231(mime_params_value(mp, 0), &b), 0);
	T_EQ_STR(buf_cstr(&b), "This is ~*");
	buf_clear(&b);

	/* a gap ends the value; a duplicate section is dropped */
	mime_params_parse(mp, c4, strlen(c4), 1);
	T_EQ_INT(mp->n, 1);
	T_EQ_STR(param(mp, 0, 1), "a");
	/* names are case-insensitive; "01" is no section number */
	mime_params_parse(mp, c5, strlen(c5), 1);
	T_EQ_INT(mp->n, 2);
	T_EQ_STR(param(mp, 0, 0), "n*01");
	T_EQ_STR(param(mp, 1, 1), "ab");
	mime_params_clear(mp);
	free(mp);
}

static void
test_params_limits(void)
{
	struct mime_params *mp = malloc(sizeof(*mp));
	struct buf b;
	struct str v;
	size_t i;

	buf_init(&b, 0);
	mime_params_init(mp);
	/* MIME_MAX_PARAMS parameters: all kept; one more: dropped */
	buf_addstr(&b, "a/b");
	for (i = 0; i < MIME_MAX_PARAMS; i++)
		buf_printf(&b, "; p%zu=%zu", i, i);
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mp->n, MIME_MAX_PARAMS);
	T_EQ_INT(mime_params_get(mp, "p255", &v), 0);
	buf_addstr(&b, "; over=1");
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mp->n, MIME_MAX_PARAMS);
	T_EQ_INT(mime_params_get(mp, "over", &v), -1);

	/* MIME_MAX_PARAM_SECTIONS sections: merged; past it: not a section */
	buf_reset(&b);
	buf_addstr(&b, "a/b");
	for (i = 0; i < MIME_MAX_PARAM_SECTIONS; i++)
		buf_printf(&b, "; n*%zu=x", i);
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mp->n, 1);
	T_EQ_INT(mime_params_value(mp, 0).len, MIME_MAX_PARAM_SECTIONS);
	buf_printf(&b, "; n*%d=y", MIME_MAX_PARAM_SECTIONS);
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mp->n, 2);
	T_EQ_INT(mime_params_value(mp, 1).len, MIME_MAX_PARAM_SECTIONS);

	/* a value past MIME_MAX_FIELD is not seen */
	buf_reset(&b);
	buf_addstr(&b, "multipart/mixed; x=\"");
	while (b.len < MIME_MAX_FIELD - 20)
		buf_addc(&b, 'p');
	buf_addstr(&b, "\"; boundary=b");
	T_ASSERT(b.len <= MIME_MAX_FIELD);
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mime_params_get(mp, "boundary", &v), 0);
	buf_reset(&b);
	buf_addstr(&b, "multipart/mixed; x=\"");
	while (b.len < MIME_MAX_FIELD)
		buf_addc(&b, 'p');
	buf_addstr(&b, "\"; boundary=b");
	mime_params_parse(mp, b.data, b.len, 1);
	T_EQ_INT(mime_params_get(mp, "boundary", &v), -1);

	mime_params_clear(mp);
	free(mp);
	buf_clear(&b);
}

/* ---- transfer encodings ---- */

static const char *
decode(enum mime_cte cte, const char *s)
{
	static char out[1024];
	struct buf b;

	buf_init(&b, 0);
	if (mime_decode(cte, s, strlen(s), &b) < 0) {
		buf_clear(&b);
		return "(error)";
	}
	memcpy(out, buf_cstr(&b), b.len + 1);
	buf_clear(&b);
	return out;
}

static void
test_decode_qp(void)
{
	T_EQ_STR(decode(MIME_CTE_QP, "caf=C3=A9 =3D ok"), "caf\xc3\xa9 = ok");
	T_EQ_STR(decode(MIME_CTE_QP, "lower =c3=a9"), "lower \xc3\xa9");
	T_EQ_STR(decode(MIME_CTE_QP, "soft=\r\nbreak=\nhere"), "softbreakhere");
	T_EQ_STR(decode(MIME_CTE_QP, "soft=  \r\nspace"), "softspace");
	T_EQ_STR(decode(MIME_CTE_QP, "trail  \r\nws\t\nend "),
	         "trail\r\nws\nend");
	T_EQ_STR(decode(MIME_CTE_QP, "a  b"), "a  b");
	/* broken: kept as they are */
	T_EQ_STR(decode(MIME_CTE_QP, "100% =XY =4 ="), "100% =XY =4 ");
	T_EQ_STR(decode(MIME_CTE_QP, "=G1=\xff"), "=G1=\xff");
	T_EQ_STR(decode(MIME_CTE_QP, "x="), "x");
}

static void
test_decode_base64(void)
{
	T_EQ_STR(decode(MIME_CTE_BASE64, "SGVsbG8gd29ybGQ="), "Hello world");
	T_EQ_STR(decode(MIME_CTE_BASE64, "SGVs\r\nbG8g\r\nd29y\r\nbGQ="),
	         "Hello world");
	/* missing padding, junk characters, concatenated blocks */
	T_EQ_STR(decode(MIME_CTE_BASE64, "SGVsbG8"), "Hello");
	T_EQ_STR(decode(MIME_CTE_BASE64, "S*G V\tsb!G8"), "Hello");
	T_EQ_STR(decode(MIME_CTE_BASE64, "SGk=SGk="), "HiHi");
	T_EQ_STR(decode(MIME_CTE_BASE64, "S"), "");
	T_EQ_STR(decode(MIME_CTE_BASE64, "===="), "");
	T_EQ_STR(decode(MIME_CTE_7BIT, "as is =41"), "as is =41");
	T_EQ_STR(decode(MIME_CTE_BINARY, "x"), "x");
	T_EQ_STR(decode(MIME_CTE_UNKNOWN, "x"), "(error)");
}

static void
test_decode_cap(void)
{
	struct buf b;

	buf_init(&b, 5);
	T_EQ_INT(mime_decode(MIME_CTE_BASE64, "SGVsbG8=", 8, &b), 0);
	T_EQ_STR(buf_cstr(&b), "Hello");
	T_EQ_INT(mime_decode(MIME_CTE_BASE64, "SA==", 4, &b), -1);
	T_EQ_INT(mime_decode(MIME_CTE_7BIT, "x", 1, &b), -1);
	buf_clear(&b);
}

/* ---- limits ---- */

/* k nested multiparts around one text part. */
static char *
nested(size_t k, size_t *len_r)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < k; i++)
		buf_printf(&b,
		           "Content-Type: multipart/mixed; boundary=b%zu"
		           "\r\n\r\n--b%zu\r\n",
		           i, i);
	buf_addstr(&b, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	for (i = k; i-- > 0;)
		buf_printf(&b, "--b%zu--\r\n", i);
	return buf_steal(&b, len_r);
}

static void
test_limit_depth(void)
{
	struct mime_tree t;
	struct msg_derived d;
	struct mime_loc l;
	uint32_t path[MIME_MAX_DEPTH + 2];
	size_t len, i;
	char *m;

	/* at the limit: the text part sits at depth MIME_MAX_DEPTH */
	m = nested(MIME_MAX_DEPTH, &len);
	mime_parse(m, len, &t);
	T_EQ_INT(t.count, MIME_MAX_DEPTH + 1);
	T_EQ_INT(t.limited, 0);
	T_EQ_INT(t.parts[t.count - 1].depth, MIME_MAX_DEPTH);
	T_ASSERT(t.parts[t.count - 1].is_text);
	mime_tree_clear(&t);
	msg_derive(m, len, &d);
	for (i = 0; i < MIME_MAX_DEPTH; i++)
		path[i] = 1;
	T_EQ_INT(mime_partmap_find(d.partmap, d.partmap_len, path,
	                           MIME_MAX_DEPTH, &l),
	         0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "deep"));
	msg_derived_clear(&d);
	free(m);

	/* one over: the innermost multipart is an opaque body */
	m = nested(MIME_MAX_DEPTH + 1, &len);
	mime_parse(m, len, &t);
	T_EQ_INT(t.count, MIME_MAX_DEPTH + 1);
	T_EQ_INT(t.limited, 1);
	T_ASSERT(t.parts[t.count - 1].is_multipart);
	T_EQ_INT(t.parts[t.count - 1].nchildren, 0);
	mime_tree_clear(&t);
	msg_derive(m, len, &d);
	T_ASSERT(strstr(d.bodystructure, BS_EMPTY_TEXT) != NULL);
	for (i = 0; i < MIME_MAX_DEPTH + 1; i++)
		path[i] = 1;
	T_EQ_INT(mime_partmap_find(d.partmap, d.partmap_len, path,
	                           MIME_MAX_DEPTH, &l),
	         0);
	T_ASSERT(l.is_multipart);
	T_ASSERT(strstr(m + l.body_off, "deep") != NULL);
	T_EQ_INT(mime_partmap_find(d.partmap, d.partmap_len, path,
	                           MIME_MAX_DEPTH + 1, &l),
	         -1);
	msg_derived_clear(&d);
	free(m);

	/* far over, through message/rfc822 too: no stack trouble */
	{
		struct buf b;

		buf_init(&b, 0);
		for (i = 0; i < 10000; i++)
			buf_addstr(&b, "Content-Type: message/rfc822\r\n\r\n");
		buf_addstr(&b, "\r\nend\r\n");
		mime_parse(b.data, b.len, &t);
		T_EQ_INT(t.count, MIME_MAX_DEPTH + 1);
		T_EQ_INT(t.limited, 1);
		mime_tree_clear(&t);
		msg_derive(b.data, b.len, &d);
		msg_derived_clear(&d);
		buf_clear(&b);
	}
}

/* One multipart with n empty text parts. */
static char *
many_parts(size_t n, size_t *len_r)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_addstr(&b, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (i = 0; i < n; i++)
		buf_printf(&b, "--b\r\n\r\npart %zu\r\n", i + 1);
	buf_addstr(&b, "--b--\r\n");
	return buf_steal(&b, len_r);
}

static void
test_limit_parts(void)
{
	struct mime_tree t;
	struct msg_derived d;
	struct mime_loc l;
	size_t len;
	char *m;

	/* at the limit: the message and MIME_MAX_PARTS - 1 parts */
	m = many_parts(MIME_MAX_PARTS - 1, &len);
	mime_parse(m, len, &t);
	T_EQ_INT(t.count, MIME_MAX_PARTS);
	T_EQ_INT(t.limited, 0);
	mime_tree_clear(&t);
	msg_derive(m, len, &d);
	T_EQ_INT(find(&d, &l, 1, MIME_MAX_PARTS - 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len, "part 1999"));
	msg_derived_clear(&d);
	free(m);

	/* one over: the last part holds the rest */
	m = many_parts(MIME_MAX_PARTS, &len);
	mime_parse(m, len, &t);
	T_EQ_INT(t.count, MIME_MAX_PARTS);
	T_EQ_INT(t.limited, 1);
	mime_tree_clear(&t);
	msg_derive(m, len, &d);
	T_EQ_INT(find(&d, &l, 1, MIME_MAX_PARTS), -1);
	T_EQ_INT(find(&d, &l, 1, MIME_MAX_PARTS - 1), 0);
	T_ASSERT(slice_is(m, l.body_off, l.body_len,
	                  "part 1999\r\n--b\r\n\r\npart 2000"));
	msg_derived_clear(&d);
	free(m);
}

static void
test_limit_search_text(void)
{
	struct msg_derived d;
	const char *hdr = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
	size_t hl = strlen(hdr), n;
	char *m = malloc(hl + SEARCH_TEXT_MAX + 16);

	memcpy(m, hdr, hl);
	/* at the limit */
	memset(m + hl, 'x', SEARCH_TEXT_MAX);
	msg_derive(m, hl + SEARCH_TEXT_MAX, &d);
	T_EQ_INT(d.search_text_len, SEARCH_TEXT_MAX);
	msg_derived_clear(&d);
	/* over: cut at the limit */
	memset(m + hl, 'y', SEARCH_TEXT_MAX + 10);
	msg_derive(m, hl + SEARCH_TEXT_MAX + 10, &d);
	T_EQ_INT(d.search_text_len, SEARCH_TEXT_MAX);
	msg_derived_clear(&d);
	/* cut inside a UTF-8 character: the character goes whole */
	m[hl] = 'a';
	for (n = 1; n + 2 <= SEARCH_TEXT_MAX + 3; n += 2) {
		m[hl + n] = '\xc3';
		m[hl + n + 1] = '\xa9';
	}
	msg_derive(m, hl + n, &d);
	T_EQ_INT(d.search_text_len, SEARCH_TEXT_MAX - 1);
	msg_derived_clear(&d);
	free(m);
}

static const struct test_case tests[] = {
        {"real_world", test_real_world},
        {"real_world_search", test_real_world_search},
        {"partmap_forward", test_partmap_forward},
        {"partmap_single", test_partmap_single},
        {"partmap_corrupt", test_partmap_corrupt},
        {"bare_lf", test_bare_lf},
        {"empty_and_headerless", test_empty_and_headerless},
        {"broken_multipart", test_broken_multipart},
        {"encoded_rfc822", test_encoded_rfc822},
        {"odd_headers", test_odd_headers},
        {"long_lines", test_long_lines},
        {"envelope_details", test_envelope_details},
        {"dates", test_dates},
        {"params", test_params},
        {"params_2231", test_params_2231},
        {"params_limits", test_params_limits},
        {"decode_qp", test_decode_qp},
        {"decode_base64", test_decode_base64},
        {"decode_cap", test_decode_cap},
        {"limit_depth", test_limit_depth},
        {"limit_parts", test_limit_parts},
        {"limit_search_text", test_limit_search_text},
        {NULL, NULL},
};

TEST_MAIN(tests)
