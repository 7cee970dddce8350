"""Messages: APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID, RFC 7888
LITERAL+), SELECT/EXAMINE responses, FETCH of every item (RFC 3501 6.4.5,
7.4.2; RFC 3516 BINARY; RFC 7162 MODSEQ), STORE, COPY/MOVE (RFC 4315
COPYUID, RFC 6851), EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT (RFC 3691),
SEARCH (RFC 3501 6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and
CONDSTORE/QRESYNC (RFC 7162)."""

import base64
import quopri
import re

import pytest

from pbharness import (append, appenduid, create_folder, esearch, fetches,
                       flagset, make_message, parse_seqset, quote, resp_code,
                       search_result, status_items, tagged_status)

CRLF = b"\r\n"

SIMPLE = make_message(
    subject="Hello world", frm='"Alice Example" <alice@example.org>',
    to="Bob <bob@example.net>", date="Mon, 7 Feb 1994 21:52:25 -0800",
    headers=["Cc: carol@example.com", "X-Priority: 1"],
    msgid="<simple1@example.org>",
    body="Hello Bob,\r\nthis is a test.\r\n")
SIMPLE_HEADER, SIMPLE_TEXT = SIMPLE.split(b"\r\n\r\n", 1)
SIMPLE_HEADER += b"\r\n\r\n"

PART1_MIME = (b"Content-Type: text/plain; charset=utf-8\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
PART1_BODY = b"Caf=C3=A9 =3D ok"
PART2_BODY = (b"--inner\r\n"
              b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
              b"Alt plain\r\n"
              b"--inner\r\n"
              b"Content-Type: text/html; charset=us-ascii\r\n\r\n"
              b"<p>Alt html</p>\r\n"
              b"--inner--")
PART3_DATA = b"\x00\x01\x02\x03\x00\xff"
PART3_BODY = base64.b64encode(PART3_DATA)
INNER_HEADER = (b"From: inner@example.com\r\n"
                b"Subject: Inner message\r\n"
                b"Date: Wed, 16 Jun 2021 11:00:00 +0000\r\n\r\n")
INNER_TEXT = b"Inner body"
NESTED = (b"From: \"Nested Sender\" <nested@example.org>\r\n"
          b"To: rcpt@example.net\r\n"
          b"Subject: Nested multipart\r\n"
          b"Date: Tue, 15 Jun 2021 10:00:00 +0000\r\n"
          b"Message-ID: <nested@example.org>\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
          b"\r\n"
          b"This is a preamble.\r\n"
          b"--outer\r\n" + PART1_MIME + PART1_BODY + b"\r\n"
          b"--outer\r\n"
          b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
          b"\r\n" + PART2_BODY + b"\r\n"
          b"--outer\r\n"
          b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
          b"\r\n" + PART3_BODY + b"\r\n"
          b"--outer\r\n"
          b"Content-Type: message/rfc822\r\n"
          b"\r\n" + INNER_HEADER + INNER_TEXT + b"\r\n"
          b"--outer--\r\n"
          b"Epilogue\r\n")


def folder_with(raw, msgs, prefix="M", select=True):
    """Creates a folder, appends msgs (bytes or (bytes, flags, date)),
    selects it; returns (name, [uids])."""
    name = create_folder(raw, prefix)
    uids = []
    for m in msgs:
        if isinstance(m, tuple):
            m, flags, date = m
        else:
            flags = date = None
        u, t = append(raw, name, m, flags=flags, date=date)
        assert tagged_status(t) == "OK", t
        uids.append(appenduid(t)[1])
    if select:
        raw.ok("SELECT %s" % quote(name))
    return name, uids


def fetch1(raw, cmd):
    """Runs a FETCH of one message; returns its items (merged)."""
    u, t = raw.cmd(cmd)
    assert tagged_status(t) == "OK", (cmd, t, u)
    f = fetches(u)
    assert len(f) == 1, (cmd, u)
    return list(f.values())[0]


def nonrecent(flags):
    return flagset(flags) - {"\\Recent"}


def ci(x):
    """Lower-cased str of a parsed string (None stays None)."""
    return None if x is None else bytes(x).decode("latin-1").lower()


def lf_count(b):
    return b.count(b"\n")


# ---------------------------------------------------------------------------
# APPEND


def test_append_with_flags_and_date(raw):
    name = create_folder(raw, "Ap")
    u, t = raw.cmd("STATUS %s (UIDVALIDITY UIDNEXT)" % quote(name))
    st = status_items(u)
    u, t = append(raw, name, SIMPLE, flags="\\Flagged $Work",
                  date="14-Jul-2020 10:11:12 +0200")
    assert tagged_status(t) == "OK", t
    uv, uid = appenduid(t)
    assert uv == st["UIDVALIDITY"]
    assert uid == st["UIDNEXT"]
    u, t = append(raw, name, SIMPLE, date=" 4-Jul-2020 01:02:03 -0500")
    assert tagged_status(t) == "OK", t
    uv2, uid2 = appenduid(t)
    assert uv2 == uv and uid2 > uid
    raw.ok("EXAMINE %s" % quote(name))
    d = fetch1(raw, "UID FETCH %d (FLAGS INTERNALDATE RFC822.SIZE)" % uid)
    assert nonrecent(d["FLAGS"]) == {"\\Flagged", "$Work"}, d
    assert d["INTERNALDATE"] == b"14-Jul-2020 10:11:12 +0200", d
    assert int(d["RFC822.SIZE"]) == len(SIMPLE)
    d = fetch1(raw, "UID FETCH %d (FLAGS INTERNALDATE)" % uid2)
    assert nonrecent(d["FLAGS"]) == set(), d
    # date-day-fixed: a space before a one-digit day.
    assert d["INTERNALDATE"] == b" 4-Jul-2020 01:02:03 -0500", d
    raw.ok("UNSELECT")


def test_append_without_date_uses_now(raw):
    import time
    name = create_folder(raw, "ApNow")
    u, t = append(raw, name, SIMPLE)
    raw.ok("EXAMINE %s" % quote(name))
    d = fetch1(raw, "FETCH 1 INTERNALDATE")
    # "dd-Mon-yyyy hh:mm:ss +zzzz" of about now.
    assert re.match(rb"^[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$",
                    d["INTERNALDATE"]), d
    year = int(d["INTERNALDATE"][7:11])
    assert abs(year - time.gmtime().tm_year) <= 1
    raw.ok("UNSELECT")


def test_append_literal_plus_and_errors(raw):
    name = create_folder(raw, "ApLp")
    raw.send(b"lp1 APPEND " + quote(name).encode() + b" (\\Seen) {%d+}\r\n"
             % len(SIMPLE) + SIMPLE + b"\r\n")
    u, t = raw.read_until_tagged("lp1")
    assert t.startswith(b"lp1 OK"), t
    assert not any(x.startswith(b"+") for x in u), u
    # No such folder: NO [TRYCREATE].
    u, t = append(raw, name + "-missing", SIMPLE)
    assert tagged_status(t) == "NO", t
    assert resp_code(t) == "TRYCREATE", t
    # Syntax errors.
    for bad in ('APPEND %s "not a date" {%d+}' % (quote(name), len(SIMPLE)),
                'APPEND %s (\\Seen {%d+}' % (quote(name), len(SIMPLE)),
                'APPEND %s "32-Jan-2020 00:00:00 +0000" {%d+}'
                % (quote(name), len(SIMPLE))):
        raw.send(b"lp2 " + bad.encode() + b"\r\n" + SIMPLE + b"\r\n")
        u, t = raw.read_until_tagged("lp2")
        assert t.startswith(b"lp2 BAD"), (bad, t)
    u, t = raw.cmd("APPEND %s" % quote(name))
    assert tagged_status(t) == "BAD", t
    u, t = raw.cmd('APPEND %s "just a string"' % quote(name))
    assert tagged_status(t) == "BAD", t
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 1


def test_append_to_selected_folder_reports_exists(raw):
    name, uids = folder_with(raw, [SIMPLE], "ApSel")
    u, t = append(raw, name, SIMPLE)
    assert tagged_status(t) == "OK", t
    if b"* 2 EXISTS" not in u:
        u = raw.ok("NOOP")
    assert b"* 2 EXISTS" in u, u
    raw.ok("UNSELECT")


def test_append_is_byte_exact(raw):
    msgs = [
        # 8-bit bytes in header and body, a bare LF, a 2000-byte line,
        # no final line end.
        (b"From: x@example.org\r\nSubject: caf\xe9 8bit \xff\r\n"
         b"X-Raw: \x80\x81\r\n\r\nLatin-1 body \xe9\xe0\xfc\r\n"
         b"bare LF line\nlong line " + b"z" * 2000 +
         b"\r\nno final newline"),
        # LF-only message.
        b"From: y@example.org\nSubject: lf only\n\nline 1\nline 2\n",
        # No header/body separator at all.
        b"Subject: no body",
        # Binary-looking UTF-8 and trailing spaces.
        "From: z@example.org\r\nSubject: \u00fcml\u00e4ut\r\n\r\n"
        "\u2603 snowman   \r\n\t\r\n".encode(),
        NESTED,
    ]
    name, uids = folder_with(raw, msgs, "Exact", select=False)
    raw.ok("EXAMINE %s" % quote(name))
    for i, m in enumerate(msgs):
        d = fetch1(raw, "UID FETCH %d (RFC822.SIZE BODY.PEEK[])" % uids[i])
        assert d["BODY[]"] == m, (i, d["BODY[]"][:200])
        assert int(d["RFC822.SIZE"]) == len(m)
    raw.ok("UNSELECT")


# ---------------------------------------------------------------------------
# SELECT / EXAMINE


def test_select_responses(raw):
    name, uids = folder_with(raw, [(SIMPLE, "\\Seen", None), SIMPLE,
                                   (SIMPLE, "\\Seen", None)], "Sel",
                             select=False)
    u, t = raw.cmd("STATUS %s (UIDVALIDITY UIDNEXT)" % quote(name))
    st = status_items(u)
    u, t = raw.cmd("SELECT %s" % quote(name))
    assert tagged_status(t) == "OK", t
    assert resp_code(t) == "READ-WRITE", t
    flags = [x for x in u if x.startswith(b"* FLAGS ")]
    assert len(flags) == 1, u
    fl = flags[0]
    for f in (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen",
              b"\\Draft"):
        assert f in fl, fl
    assert b"* 3 EXISTS" in u, u
    assert b"* 3 RECENT" in u, u
    codes = [resp_code(x) for x in u if x.startswith(b"* OK [")]
    assert "UIDVALIDITY %d" % st["UIDVALIDITY"] in codes, codes
    assert "UIDNEXT %d" % st["UIDNEXT"] in codes, codes
    assert "UNSEEN 2" in codes, codes
    perm = [c for c in codes if c.startswith("PERMANENTFLAGS ")]
    assert len(perm) == 1, codes
    for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft",
              "\\*"):
        assert f in perm[0], perm
    # A second SELECT of the same folder: no longer recent.
    u, t = raw.cmd("SELECT %s" % quote(name))
    assert tagged_status(t) == "OK", t
    assert b"* 0 RECENT" in u, u
    raw.ok("UNSELECT")


def test_examine_is_read_only(raw):
    name, uids = folder_with(raw, [SIMPLE], "Ex", select=False)
    u, t = raw.cmd("EXAMINE %s" % quote(name))
    assert tagged_status(t) == "OK", t
    assert resp_code(t) == "READ-ONLY", t
    assert b"* 1 EXISTS" in u, u
    # BODY[] does not set \Seen in a read-only folder.
    d = fetch1(raw, "FETCH 1 (BODY[])")
    assert d["BODY[]"] == SIMPLE
    d = fetch1(raw, "FETCH 1 (FLAGS)")
    assert "\\Seen" not in flagset(d["FLAGS"]), d
    u, t = raw.cmd("STORE 1 +FLAGS (\\Seen)")
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("EXPUNGE")
    assert tagged_status(t) == "NO", t
    # EXAMINE does not take \Recent away from the next SELECT.
    u, t = raw.cmd("SELECT %s" % quote(name))
    assert b"* 1 RECENT" in u, u
    raw.ok("UNSELECT")


def test_select_missing_folder_leaves_none_selected(raw):
    name, uids = folder_with(raw, [SIMPLE], "SelMiss")
    u, t = raw.cmd("SELECT %s" % quote(name + "-missing"))
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("FETCH 1 FLAGS")
    assert tagged_status(t) == "BAD", t  # no folder selected any more
    u, t = raw.cmd("SELECT")
    assert tagged_status(t) == "BAD", t


def test_select_empty_folder(raw):
    name = create_folder(raw, "Empty")
    u, t = raw.cmd("SELECT %s" % quote(name))
    assert tagged_status(t) == "OK", t
    assert b"* 0 EXISTS" in u, u
    assert not any(resp_code(x) and resp_code(x).startswith("UNSEEN")
                   for x in u), u
    u, t = raw.cmd("FETCH 1:* FLAGS")
    assert tagged_status(t) in ("OK", "BAD"), t
    u, t = raw.cmd("UID FETCH 1:* FLAGS")
    assert tagged_status(t) == "OK", t
    assert u == [], u
    u, t = raw.cmd("SEARCH ALL")
    assert search_result(u) == []
    raw.ok("UNSELECT")


# ---------------------------------------------------------------------------
# FETCH


def test_fetch_simple_items(raw):
    name, uids = folder_with(raw, [(SIMPLE, None,
                                    "14-Jul-2020 10:11:12 +0200")], "F1")
    d = fetch1(raw, "FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE)")
    assert int(d["UID"]) == uids[0]
    assert nonrecent(d["FLAGS"]) == set()
    assert d["INTERNALDATE"] == b"14-Jul-2020 10:11:12 +0200"
    assert int(d["RFC822.SIZE"]) == len(SIMPLE)
    # UID FETCH always carries UID.
    d = fetch1(raw, "UID FETCH %d (FLAGS)" % uids[0])
    assert int(d["UID"]) == uids[0]
    # Macros.
    d = fetch1(raw, "FETCH 1 FAST")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(d), d
    d = fetch1(raw, "FETCH 1 ALL")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(d)
    d = fetch1(raw, "FETCH 1 FULL")
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
            "BODY"} <= set(d), d
    # A single item without parentheses.
    d = fetch1(raw, "FETCH 1 RFC822.SIZE")
    assert int(d["RFC822.SIZE"]) == len(SIMPLE)
    raw.ok("UNSELECT")


def addr(a):
    return [None if x is None else bytes(x) for x in a]


def test_fetch_envelope(raw):
    encoded = make_message(subject="=?UTF-8?Q?Caf=C3=A9?=",
                           frm="=?ISO-8859-1?Q?J=F6rg?= <jorg@example.de>",
                           to="undisclosed-recipients:;",
                           headers=["Reply-To: list@example.com",
                                    "Sender: owner@example.com",
                                    "In-Reply-To: <parent@example.org>",
                                    "Bcc: hidden@example.com"],
                           msgid="<enc@example.org>")
    name, uids = folder_with(raw, [SIMPLE, encoded, b"Subject: x\r\n\r\n"],
                             "Env")
    d = fetch1(raw, "FETCH 1 ENVELOPE")
    env = d["ENVELOPE"]
    assert len(env) == 10, env
    assert env[0] == b"Mon, 7 Feb 1994 21:52:25 -0800"
    assert env[1] == b"Hello world"
    alice = [[b"Alice Example", None, b"alice", b"example.org"]]
    assert [addr(a) for a in env[2]] == alice  # from
    assert [addr(a) for a in env[3]] == alice  # sender defaults to from
    assert [addr(a) for a in env[4]] == alice  # reply-to defaults to from
    assert [addr(a) for a in env[5]] == [[b"Bob", None, b"bob",
                                         b"example.net"]]
    assert [addr(a) for a in env[6]] == [[None, None, b"carol",
                                         b"example.com"]]
    assert env[7] is None  # bcc
    assert env[8] is None  # in-reply-to
    assert env[9] == b"<simple1@example.org>"

    env = fetch1(raw, "FETCH 2 ENVELOPE")["ENVELOPE"]
    # Envelope strings are not decoded (RFC 3501 7.4.2).
    assert env[1] == b"=?UTF-8?Q?Caf=C3=A9?=", env
    assert [addr(a) for a in env[2]] == [[b"=?ISO-8859-1?Q?J=F6rg?=", None,
                                         b"jorg", b"example.de"]], env
    assert [addr(a) for a in env[3]] == [[None, None, b"owner",
                                         b"example.com"]]
    assert [addr(a) for a in env[4]] == [[None, None, b"list",
                                         b"example.com"]]
    # A group: start marker (NIL NIL "name" NIL), end marker all NIL.
    assert [addr(a) for a in env[5]] == [
        [None, None, b"undisclosed-recipients", None],
        [None, None, None, None]], env[5]
    assert [addr(a) for a in env[7]] == [[None, None, b"hidden",
                                         b"example.com"]]
    assert env[8] == b"<parent@example.org>"
    assert env[9] == b"<enc@example.org>"

    env = fetch1(raw, "FETCH 3 ENVELOPE")["ENVELOPE"]
    assert env[0] is None and env[1] == b"x"
    assert all(x is None for x in env[2:]), env
    raw.ok("UNSELECT")


def check_text_part(p, subtype, charset, enc, body, ext_ok=True):
    assert ci(p[0]) == "text" and ci(p[1]) == subtype, p
    params = {ci(p[2][i]): ci(p[2][i + 1]) for i in range(0, len(p[2]), 2)}
    assert params.get("charset") == charset, p
    assert p[3] is None and p[4] is None, p
    assert ci(p[5]) == enc, p
    assert int(p[6]) == len(body), (p, len(body))
    assert int(p[7]) in (lf_count(body), lf_count(body) + 1), p
    if not ext_ok:
        assert len(p) == 8, p


def test_fetch_bodystructure_simple(raw):
    name, uids = folder_with(raw, [SIMPLE], "BsS")
    for item in ("BODYSTRUCTURE", "BODY"):
        bs = fetch1(raw, "FETCH 1 %s" % item)[item]
        check_text_part(bs, "plain", "us-ascii", "7bit", SIMPLE_TEXT,
                        ext_ok=item == "BODYSTRUCTURE")
    raw.ok("UNSELECT")


def test_fetch_bodystructure_nested(raw):
    name, uids = folder_with(raw, [NESTED], "BsN")
    for item in ("BODYSTRUCTURE", "BODY"):
        ext = item == "BODYSTRUCTURE"
        bs = fetch1(raw, "FETCH 1 %s" % item)[item]
        # (part1 part2 part3 part4 "MIXED" [ext])
        assert isinstance(bs[0], list) and isinstance(bs[3], list), bs
        assert ci(bs[4]) == "mixed", bs
        if not ext:
            assert len(bs) == 5, bs
        else:
            # body-ext-mpart: the boundary parameter first.
            if len(bs) > 5:
                params = {ci(bs[5][i]): bytes(bs[5][i + 1])
                          for i in range(0, len(bs[5]), 2)}
                assert params.get("boundary") == b"outer", bs[5]
        check_text_part(bs[0], "plain", "utf-8", "quoted-printable",
                        PART1_BODY, ext)
        alt = bs[1]
        assert ci(alt[2]) == "alternative", alt
        check_text_part(alt[0], "plain", "us-ascii", "7bit", b"Alt plain",
                        ext)
        check_text_part(alt[1], "html", "us-ascii", "7bit",
                        b"<p>Alt html</p>", ext)
        att = bs[2]
        assert ci(att[0]) == "application" and ci(att[1]) == "octet-stream"
        params = {ci(att[2][i]): bytes(att[2][i + 1])
                  for i in range(0, len(att[2]), 2)}
        assert params == {"name": b"data.bin"}, att
        assert ci(att[5]) == "base64", att
        assert int(att[6]) == len(PART3_BODY), att
        if ext and len(att) > 8:
            # md5, then disposition ("attachment" ("filename" "data.bin"))
            disp = att[8]
            assert ci(disp[0]) == "attachment", att
            dp = {ci(disp[1][i]): bytes(disp[1][i + 1])
                  for i in range(0, len(disp[1]), 2)}
            assert dp == {"filename": b"data.bin"}, disp
        if not ext:
            assert len(att) == 7, att
        msg = bs[3]
        assert ci(msg[0]) == "message" and ci(msg[1]) == "rfc822", msg
        assert ci(msg[5]) == "7bit", msg
        assert int(msg[6]) == len(INNER_HEADER + INNER_TEXT), msg
        env = msg[7]
        assert env[1] == b"Inner message", env
        assert [addr(a) for a in env[2]] == [[None, None, b"inner",
                                             b"example.com"]]
        check_text_part(msg[8], "plain", "us-ascii", "7bit", INNER_TEXT,
                        ext)
        body_all = INNER_HEADER + INNER_TEXT
        assert int(msg[9]) in (lf_count(body_all), lf_count(body_all) + 1)
    raw.ok("UNSELECT")


def test_fetch_body_sections(raw):
    name, uids = folder_with(raw, [SIMPLE], "Sec")
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER])")
    assert d["BODY[HEADER]"] == SIMPLE_HEADER
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[TEXT])")
    assert d["BODY[TEXT]"] == SIMPLE_TEXT
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER.FIELDS (From Subject)])")
    assert d["BODY[HEADER.FIELDS (FROM SUBJECT)]"] == (
        b'From: "Alice Example" <alice@example.org>\r\n'
        b"Subject: Hello world\r\n\r\n"), d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject FROM "
               "X-Not-There)])")
    assert d["BODY[HEADER.FIELDS (SUBJECT FROM X-NOT-THERE)]"] == (
        b'From: "Alice Example" <alice@example.org>\r\n'
        b"Subject: Hello world\r\n\r\n"), d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (To Cc "
               "Message-ID X-Priority)])")
    assert d["BODY[HEADER.FIELDS.NOT (TO CC MESSAGE-ID X-PRIORITY)]"] == (
        b'From: "Alice Example" <alice@example.org>\r\n'
        b"Subject: Hello world\r\n"
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n"), d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-None)])")
    assert d["BODY[HEADER.FIELDS (X-NONE)]"] == b"\r\n", d
    # Partial fetches: <start.length>, labelled <start>.
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[]<0.10>)")
    assert d["BODY[]<0>"] == SIMPLE[:10], d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[]<5.10>)")
    assert d["BODY[]<5>"] == SIMPLE[5:15], d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[TEXT]<3.1000>)")
    assert d["BODY[TEXT]<3>"] == SIMPLE_TEXT[3:], d
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[]<100000.10>)")
    assert d["BODY[]<100000>"] == b"", d
    # A non-multipart message has part 1 = its body.
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[1])")
    assert d["BODY[1]"] == SIMPLE_TEXT, d
    # Several sections in one FETCH.
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
               "RFC822.SIZE)")
    assert d["BODY[HEADER]"] + d["BODY[TEXT]"] == SIMPLE
    raw.ok("UNSELECT")


def test_fetch_rfc822_items(raw):
    name, uids = folder_with(raw, [SIMPLE, SIMPLE], "R822")
    d = fetch1(raw, "FETCH 1 RFC822.HEADER")
    assert d["RFC822.HEADER"] == SIMPLE_HEADER
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" not in flagset(d["FLAGS"]), "RFC822.HEADER set \\Seen"
    d = fetch1(raw, "FETCH 1 RFC822.TEXT")
    assert d["RFC822.TEXT"] == SIMPLE_TEXT
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" in flagset(d["FLAGS"]), "RFC822.TEXT must set \\Seen"
    d = fetch1(raw, "FETCH 2 RFC822")
    assert d["RFC822"] == SIMPLE
    d = fetch1(raw, "FETCH 2 FLAGS")
    assert "\\Seen" in flagset(d["FLAGS"]), "RFC822 must set \\Seen"
    raw.ok("UNSELECT")


def test_fetch_nested_sections(raw):
    name, uids = folder_with(raw, [NESTED], "Nest")
    want = {
        "BODY[1]": PART1_BODY,
        "BODY[1.MIME]": PART1_MIME,
        "BODY[2]": PART2_BODY,
        "BODY[2.1]": b"Alt plain",
        "BODY[2.2]": b"<p>Alt html</p>",
        "BODY[2.1.MIME]": b"Content-Type: text/plain; charset=us-ascii"
                          b"\r\n\r\n",
        "BODY[3]": PART3_BODY,
        "BODY[4]": INNER_HEADER + INNER_TEXT,
        "BODY[4.HEADER]": INNER_HEADER,
        "BODY[4.TEXT]": INNER_TEXT,
        "BODY[4.1]": INNER_TEXT,
        "BODY[4.HEADER.FIELDS (SUBJECT)]": b"Subject: Inner message\r\n"
                                           b"\r\n",
        "BODY[TEXT]": NESTED.split(b"\r\n\r\n", 1)[1],
    }
    for label, data in want.items():
        sec = label[len("BODY"):]
        d = fetch1(raw, "FETCH 1 (BODY.PEEK%s)" % sec)
        assert d.get(label) == data, (label, d)
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[2.1]<2.3>)")
    assert d["BODY[2.1]<2>"] == b"t p", d
    # Nothing fetched so far set \Seen.
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" not in flagset(d["FLAGS"]), d
    raw.ok("UNSELECT")


def test_fetch_binary(raw):
    name, uids = folder_with(raw, [NESTED, SIMPLE], "Bin")
    decoded1 = quopri.decodestring(PART1_BODY)
    assert decoded1 == "Caf\u00e9 = ok".encode()
    d = fetch1(raw, "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert d["BINARY[1]"] == decoded1, d
    assert int(d["BINARY.SIZE[1]"]) == len(decoded1), d
    d = fetch1(raw, "FETCH 1 (BINARY.PEEK[3] BINARY.SIZE[3])")
    assert d["BINARY[3]"] == PART3_DATA, d
    assert int(d["BINARY.SIZE[3]"]) == len(PART3_DATA), d
    # NUL bytes come as a literal8 (RFC 3516 4.2).
    u, t = raw.cmd("FETCH 1 (BINARY.PEEK[3])")
    assert b"~{%d}\r\n" % len(PART3_DATA) in u[0], u
    d = fetch1(raw, "FETCH 1 (BINARY.PEEK[2.1])")
    assert d["BINARY[2.1]"] == b"Alt plain", d
    d = fetch1(raw, "FETCH 1 (BINARY.PEEK[3]<1.2>)")
    assert d["BINARY[3]<1>"] == PART3_DATA[1:3], d
    d = fetch1(raw, "FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert d["BINARY[1]"] == SIMPLE_TEXT
    assert int(d["BINARY.SIZE[1]"]) == len(SIMPLE_TEXT)
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" not in flagset(d["FLAGS"])
    # BINARY (not PEEK) sets \Seen.
    d = fetch1(raw, "FETCH 2 (BINARY[1])")
    d = fetch1(raw, "FETCH 2 FLAGS")
    assert "\\Seen" in flagset(d["FLAGS"])
    # Only part numbers in BINARY sections.
    u, t = raw.cmd("FETCH 1 (BINARY.PEEK[1.MIME])")
    assert tagged_status(t) == "BAD", t
    raw.ok("UNSELECT")


def test_body_sets_seen_but_peek_does_not(raw):
    name, uids = folder_with(raw, [SIMPLE, SIMPLE], "Seen")
    d = fetch1(raw, "FETCH 1 (BODY.PEEK[])")
    assert d["BODY[]"] == SIMPLE
    assert "FLAGS" not in d, d
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" not in flagset(d["FLAGS"]), d
    u, t = raw.cmd("FETCH 1 (BODY[])")
    assert tagged_status(t) == "OK", t
    d = fetches(u)[1]
    assert d["BODY[]"] == SIMPLE
    # The \Seen change is reported with the data (RFC 3501 6.4.5).
    assert "\\Seen" in flagset(d.get("FLAGS", [])), d
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Seen" in flagset(d["FLAGS"]), d
    d = fetch1(raw, "FETCH 2 FLAGS")
    assert "\\Seen" not in flagset(d["FLAGS"]), d
    # BODY[HEADER] (not PEEK) sets it too.
    fetch1(raw, "FETCH 2 (BODY[HEADER])")
    d = fetch1(raw, "FETCH 2 FLAGS")
    assert "\\Seen" in flagset(d["FLAGS"]), d
    u, t = raw.cmd("STATUS %s (UNSEEN)" % quote(name))
    assert status_items(u)["UNSEEN"] == 0
    raw.ok("UNSELECT")


def test_fetch_modseq(raw):
    name, uids = folder_with(raw, [SIMPLE, SIMPLE], "Mods")
    u, t = raw.cmd("FETCH 1:2 (MODSEQ)")
    f = fetches(u)
    m1 = max(int(f[1]["MODSEQ"][0]), int(f[2]["MODSEQ"][0]))
    assert int(f[1]["MODSEQ"][0]) > 0
    raw.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    d = fetch1(raw, "FETCH 1 (MODSEQ FLAGS)")
    assert int(d["MODSEQ"][0]) > m1, d
    u, t = raw.cmd("FETCH 1:2 (FLAGS) (CHANGEDSINCE %d)" % m1)
    assert tagged_status(t) == "OK", t
    f = fetches(u)
    assert set(f) == {1}, u
    assert "MODSEQ" in f[1], f
    raw.ok("UNSELECT")


@pytest.mark.parametrize("items", [
    "(BOGUS)", "()", "BODY[", "BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
    "BODY[1.0]", "BODY[0]", "BODY[TEXT]<1>", "BODY[]<a.b>", "(FLAGS",
    "BODY.PEEK", "BINARY[TEXT]", "BINARY.SIZE[1]<0.1>", "RFC822.BOGUS",
])
def test_fetch_syntax_errors(raw, items):
    name, uids = folder_with(raw, [SIMPLE], "FBad")
    u, t = raw.cmd("FETCH 1 %s" % items)
    assert tagged_status(t) == "BAD", (items, t)
    raw.ok("NOOP")
    raw.ok("UNSELECT")


def test_fetch_sequence_sets(raw):
    name, uids = folder_with(raw, [SIMPLE] * 5, "Seq")
    u, t = raw.cmd("FETCH 1:* (UID)")
    assert sorted(fetches(u)) == [1, 2, 3, 4, 5]
    u, t = raw.cmd("FETCH *:4 (UID)")
    assert sorted(fetches(u)) == [4, 5]
    u, t = raw.cmd("FETCH 2,4:3,5 (UID)")
    assert sorted(fetches(u)) == [2, 3, 4, 5]
    u, t = raw.cmd("UID FETCH %d:* (FLAGS)" % uids[3])
    assert sorted(fetches(u)) == [4, 5]
    # "n:*" with n past the last UID still returns the last (RFC 3501 6.4.8).
    u, t = raw.cmd("UID FETCH %d:* (FLAGS)" % (uids[-1] + 100))
    assert tagged_status(t) == "OK", t
    assert sorted(fetches(u)) == [5], u
    u, t = raw.cmd("UID FETCH %d (FLAGS)" % (uids[-1] + 100))
    assert tagged_status(t) == "OK", t
    assert fetches(u) == {}, u
    for bad in ("6", "0", "1:6", "a", "1,,2", "4294967296"):
        u, t = raw.cmd("FETCH %s (UID)" % bad)
        assert tagged_status(t) in ("BAD", "NO"), (bad, t)
    raw.ok("UNSELECT")


def test_fetch_many_messages(raw):
    msgs = [make_message(subject="bulk %d" % i, body="b%d\r\n" % i)
            for i in range(300)]
    name = create_folder(raw, "Bulk")
    # Pipelined LITERAL+ APPENDs.
    data = b""
    for i, m in enumerate(msgs):
        data += (b"ap%d APPEND " % i + quote(name).encode() +
                 b" {%d+}\r\n" % len(m) + m + b"\r\n")
    raw.send(data)
    for i in range(len(msgs)):
        u, t = raw.read_until_tagged("ap%d" % i)
        assert tagged_status(t) == "OK", t
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])", timeout=60)
    assert tagged_status(t) == "OK", t
    f = fetches(u)
    assert len(f) == 300
    for i in range(300):
        assert f[i + 1]["BODY[]"] == msgs[i]
    raw.ok("UNSELECT")


# ---------------------------------------------------------------------------
# STORE


def test_store_flags(raw):
    name, uids = folder_with(raw, [SIMPLE] * 3, "Sto")
    u, t = raw.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert tagged_status(t) == "OK", t
    f = fetches(u)
    assert nonrecent(f[1]["FLAGS"]) == {"\\Flagged"}, u
    u, t = raw.cmd("STORE 1 +FLAGS (\\Seen $Work Project-X)")
    assert nonrecent(fetches(u)[1]["FLAGS"]) == {
        "\\Flagged", "\\Seen", "$Work", "Project-X"}, u
    u, t = raw.cmd("STORE 1 -FLAGS (\\Flagged Project-X)")
    assert nonrecent(fetches(u)[1]["FLAGS"]) == {"\\Seen", "$Work"}, u
    u, t = raw.cmd("STORE 1:2 FLAGS (\\Answered \\Draft)")
    f = fetches(u)
    assert nonrecent(f[1]["FLAGS"]) == {"\\Answered", "\\Draft"}, u
    assert nonrecent(f[2]["FLAGS"]) == {"\\Answered", "\\Draft"}, u
    # .SILENT: no FETCH for the changed messages.
    u, t = raw.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert tagged_status(t) == "OK", t
    assert fetches(u) == {}, u
    d = fetch1(raw, "FETCH 3 FLAGS")
    assert nonrecent(d["FLAGS"]) == {"\\Deleted"}
    u, t = raw.cmd("STORE 3 FLAGS.SILENT ()")
    assert fetches(u) == {}, u
    d = fetch1(raw, "FETCH 3 FLAGS")
    assert nonrecent(d["FLAGS"]) == set()
    # Flags without parentheses.
    u, t = raw.cmd("STORE 3 +FLAGS \\Seen")
    assert tagged_status(t) == "OK", t
    assert nonrecent(fetches(u)[3]["FLAGS"]) == {"\\Seen"}
    # UID STORE: FETCH carries UID.
    u, t = raw.cmd("UID STORE %d +FLAGS (\\Flagged)" % uids[1])
    f = fetches(u)
    assert int(f[2]["UID"]) == uids[1], u
    # UIDs that do not exist: OK, nothing.
    u, t = raw.cmd("UID STORE %d +FLAGS (\\Flagged)" % (uids[-1] + 50))
    assert tagged_status(t) == "OK", t
    assert fetches(u) == {}
    # Keywords are offered in FLAGS on the next SELECT.
    u, t = raw.cmd("SELECT %s" % quote(name))
    fl = [x for x in u if x.startswith(b"* FLAGS")][0]
    assert b"$Work" in fl and b"Project-X" in fl, fl
    # "STORE 1:2 FLAGS (...)" above replaced message 1's $Work.
    u, t = raw.cmd("SEARCH KEYWORD $Work")
    assert search_result(u) == []
    raw.cmd("STORE 2 +FLAGS ($Work)")
    u, t = raw.cmd("SEARCH KEYWORD $work")
    assert search_result(u) == [2]
    raw.ok("UNSELECT")


@pytest.mark.parametrize("cmd", [
    "STORE 1 +FLAGS (\\Bogus)",
    "STORE 1 FLAGZ (\\Seen)", "STORE 1 +FLAGS", "STORE 1",
    "STORE 1 +FLAGS ((\\Seen))", "STORE 1 +FLAGS (\"quoted\")",
])
def test_store_errors(raw, cmd):
    name, uids = folder_with(raw, [SIMPLE], "StoBad")
    u, t = raw.cmd(cmd)
    assert tagged_status(t) in ("BAD", "NO"), (cmd, t)
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert nonrecent(d["FLAGS"]) == set(), d
    raw.ok("UNSELECT")


def test_store_recent_is_not_stored(raw):
    """\\Recent cannot be set by a client (RFC 3501 2.3.2): refused or
    ignored, never kept."""
    name, uids = folder_with(raw, [SIMPLE], "StoRec", select=False)
    raw.ok("EXAMINE %s" % quote(name))  # does not claim \\Recent
    raw.ok("UNSELECT")
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("STORE 1 +FLAGS (\\Recent \\Seen)")
    assert tagged_status(t) in ("OK", "NO", "BAD"), t
    raw.ok("UNSELECT")
    # A later session does not see \\Recent.
    u, t = raw.cmd("SELECT %s" % quote(name))
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Recent" not in flagset(d["FLAGS"]), d
    raw.ok("UNSELECT")


def test_store_unchangedsince(raw):
    name, uids = folder_with(raw, [SIMPLE, SIMPLE], "Unch")
    raw.ok("ENABLE CONDSTORE")
    raw.ok("SELECT %s" % quote(name))
    m1 = int(fetch1(raw, "FETCH 1 (MODSEQ)")["MODSEQ"][0])
    raw.ok("STORE 1 +FLAGS.SILENT (\\Answered)")
    m1b = int(fetch1(raw, "FETCH 1 (MODSEQ)")["MODSEQ"][0])
    assert m1b > m1
    u, t = raw.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % m1)
    assert tagged_status(t) == "OK", t
    assert resp_code(t) == "MODIFIED 1", t
    d = fetch1(raw, "FETCH 1 FLAGS")
    assert "\\Draft" not in flagset(d["FLAGS"]), d
    m2 = int(fetch1(raw, "FETCH 2 (MODSEQ)")["MODSEQ"][0])
    u, t = raw.cmd("STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)" % m2)
    assert tagged_status(t) == "OK", t
    assert resp_code(t) is None, t
    f = fetches(u)
    assert "\\Draft" in flagset(f[2]["FLAGS"]), u
    assert int(f[2]["MODSEQ"][0]) > m2, u
    # Both at once: 1 changed after 2, so 1 fails and 2 passes.
    m2b = int(f[2]["MODSEQ"][0])
    raw.ok("STORE 1 -FLAGS.SILENT (\\Answered)")
    u, t = raw.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % m2b)
    assert tagged_status(t) == "OK", t
    assert resp_code(t) == "MODIFIED 1", t
    f = fetches(u)
    assert "\\Flagged" in flagset(f[2]["FLAGS"]), u
    assert 1 not in f or "\\Flagged" not in flagset(f[1]["FLAGS"]), u
    u, t = raw.cmd("UID STORE %d (UNCHANGEDSINCE %d) +FLAGS (\\Seen)"
                   % (uids[0], m1))
    assert resp_code(t) == "MODIFIED %d" % uids[0], t
    raw.ok("UNSELECT")


# ---------------------------------------------------------------------------
# COPY / MOVE / EXPUNGE / CLOSE / UNSELECT


def test_copy(raw):
    name, uids = folder_with(raw, [SIMPLE, (NESTED, "\\Flagged $Work",
                                            "01-Feb-2021 10:00:00 +0000"),
                                   SIMPLE], "Cp")
    dest = create_folder(raw, "CpDst")
    u, t = raw.cmd("STATUS %s (UIDVALIDITY UIDNEXT)" % quote(dest))
    dst = status_items(u)
    u, t = raw.cmd("COPY 2:3 %s" % quote(dest))
    assert tagged_status(t) == "OK", t
    code = resp_code(t)
    m = re.match(r"COPYUID (\d+) (\S+) (\S+)$", code or "")
    assert m, t
    assert int(m.group(1)) == dst["UIDVALIDITY"]
    assert parse_seqset(m.group(2)) == {uids[1], uids[2]}
    assert parse_seqset(m.group(3)) == {dst["UIDNEXT"], dst["UIDNEXT"] + 1}
    # The source is unchanged.
    u, t = raw.cmd("NOOP")
    assert not any(b"EXPUNGE" in x for x in u), u
    # The copies: same bytes, flags and internal date.
    raw.ok("EXAMINE %s" % quote(dest))
    d = fetch1(raw, "FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
    assert d["BODY[]"] == NESTED
    assert nonrecent(d["FLAGS"]) == {"\\Flagged", "$Work"}, d
    # date-day-fixed: " 1" (or "01").
    assert d["INTERNALDATE"] in (b" 1-Feb-2021 10:00:00 +0000",
                                 b"01-Feb-2021 10:00:00 +0000"), d
    raw.ok("SELECT %s" % quote(name))
    # UID COPY; copy to a missing folder; empty UID set.
    u, t = raw.cmd("UID COPY %d %s" % (uids[0], quote(dest)))
    assert tagged_status(t) == "OK", t
    assert resp_code(t).startswith("COPYUID %d %d " % (dst["UIDVALIDITY"],
                                                       uids[0])), t
    u, t = raw.cmd("COPY 1 %s" % quote(dest + "-missing"))
    assert tagged_status(t) == "NO", t
    assert resp_code(t) == "TRYCREATE", t
    u, t = raw.cmd("UID COPY %d %s" % (uids[-1] + 100, quote(dest)))
    assert tagged_status(t) == "OK", t
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(dest))
    assert status_items(u)["MESSAGES"] == 3
    # COPY into the folder itself.
    u, t = raw.cmd("COPY 1 %s" % quote(name))
    assert tagged_status(t) == "OK", t
    u += raw.ok("NOOP")
    assert b"* 4 EXISTS" in u, u
    raw.ok("UNSELECT")


def apply_expunges(seq_uids, untagged):
    """Applies "* n EXPUNGE" responses to a list of UIDs (by sequence)."""
    out = list(seq_uids)
    for r in untagged:
        m = re.match(rb"^\* (\d+) EXPUNGE$", r)
        if m:
            n = int(m.group(1))
            assert 1 <= n <= len(out), (n, out, untagged)
            del out[n - 1]
    return out


def uid_list(raw):
    u, t = raw.cmd("FETCH 1:* (UID)")
    if tagged_status(t) != "OK":
        return []
    f = fetches(u)
    return [int(f[k]["UID"]) for k in sorted(f)]


def test_move(raw):
    name, uids = folder_with(raw, [make_message(subject="m%d" % i)
                                   for i in range(4)], "Mv")
    dest = create_folder(raw, "MvDst")
    u, t = raw.cmd("STATUS %s (UIDVALIDITY UIDNEXT)" % quote(dest))
    dst = status_items(u)
    u, t = raw.cmd("MOVE 2:3 %s" % quote(dest))
    assert tagged_status(t) == "OK", t
    # RFC 6851: COPYUID in an untagged OK before the expunges.
    cu = [x for x in u if x.startswith(b"* OK [COPYUID")]
    assert len(cu) == 1, u
    m = re.match(r"COPYUID (\d+) (\S+) (\S+)$", resp_code(cu[0]))
    assert int(m.group(1)) == dst["UIDVALIDITY"]
    assert parse_seqset(m.group(2)) == {uids[1], uids[2]}
    assert parse_seqset(m.group(3)) == {dst["UIDNEXT"], dst["UIDNEXT"] + 1}
    assert u.index(cu[0]) < min(i for i, x in enumerate(u)
                                if x.endswith(b"EXPUNGE"))
    assert apply_expunges(uids, u) == [uids[0], uids[3]], u
    assert uid_list(raw) == [uids[0], uids[3]]
    # UID MOVE; to a missing folder.
    u, t = raw.cmd("UID MOVE %d %s" % (uids[3], quote(dest)))
    assert tagged_status(t) == "OK", t
    assert apply_expunges([uids[0], uids[3]], u) == [uids[0]], u
    u, t = raw.cmd("MOVE 1 %s" % quote(dest + "-missing"))
    assert tagged_status(t) == "NO", t
    assert resp_code(t) == "TRYCREATE", t
    assert uid_list(raw) == [uids[0]]
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(dest))
    assert status_items(u)["MESSAGES"] == 3
    raw.ok("EXAMINE %s" % quote(dest))
    u, t = raw.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)])")
    subjects = sorted(v["BODY[HEADER.FIELDS (SUBJECT)]"]
                      for v in fetches(u).values())
    assert subjects == [b"Subject: m%d\r\n\r\n" % i for i in (1, 2, 3)]
    # MOVE from a read-only folder is refused.
    u, t = raw.cmd("MOVE 1 %s" % quote(name))
    assert tagged_status(t) == "NO", t
    raw.ok("UNSELECT")


def test_expunge(raw):
    name, uids = folder_with(raw, [make_message(subject="e%d" % i)
                                   for i in range(5)], "Exp")
    raw.ok("STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
    u, t = raw.cmd("EXPUNGE")
    assert tagged_status(t) == "OK", t
    assert apply_expunges(uids, u) == [uids[0], uids[2]], u
    assert uid_list(raw) == [uids[0], uids[2]]
    u, t = raw.cmd("EXPUNGE")
    assert tagged_status(t) == "OK", t
    assert not any(x.endswith(b"EXPUNGE") for x in u), u
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 2
    raw.ok("UNSELECT")


def test_uid_expunge(raw):
    name, uids = folder_with(raw, [make_message(subject="u%d" % i)
                                   for i in range(4)], "UExp")
    raw.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    u, t = raw.cmd("UID EXPUNGE %d,%d" % (uids[1], uids[3]))
    assert tagged_status(t) == "OK", t
    # Only uids[1]: uids[3] is not \Deleted.
    assert apply_expunges(uids, u) == [uids[0], uids[2], uids[3]], u
    assert uid_list(raw) == [uids[0], uids[2], uids[3]]
    u, t = raw.cmd("UID EXPUNGE %d:*" % uids[2])
    assert apply_expunges([uids[0], uids[2], uids[3]], u) == [
        uids[0], uids[3]], u
    u, t = raw.cmd("UID EXPUNGE")
    assert tagged_status(t) == "BAD", t
    raw.ok("UNSELECT")


def test_close_expunges_silently(raw):
    name, uids = folder_with(raw, [make_message(subject="c%d" % i)
                                   for i in range(3)], "Cl")
    raw.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    u, t = raw.cmd("CLOSE")
    assert tagged_status(t) == "OK", t
    assert not any(b"EXPUNGE" in x for x in u), u
    u, t = raw.cmd("FETCH 1 FLAGS")
    assert tagged_status(t) == "BAD", t  # back in authenticated state
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 2
    # CLOSE of an EXAMINEd folder expunges nothing.
    raw.ok("SELECT %s" % quote(name))
    raw.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    raw.ok("EXAMINE %s" % quote(name))
    raw.ok("CLOSE")
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 2


def test_unselect_does_not_expunge(raw):
    name, uids = folder_with(raw, [SIMPLE, SIMPLE], "Uns")
    raw.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    u, t = raw.cmd("UNSELECT")
    assert tagged_status(t) == "OK", t
    assert not any(b"EXPUNGE" in x for x in u), u
    u, t = raw.cmd("STATUS %s (MESSAGES DELETED)" % quote(name))
    st = status_items(u)
    assert st["MESSAGES"] == 2
    u, t = raw.cmd("UNSELECT")
    assert tagged_status(t) == "BAD", t


def test_check(raw):
    name, uids = folder_with(raw, [SIMPLE], "Chk")
    raw.ok("CHECK")
    raw.ok("UNSELECT")


# ---------------------------------------------------------------------------
# SEARCH

LONG_BODY = ("filler line\r\n" * 300 + "see the appendix\r\n")
SEARCH_MSGS = [
    (make_message(subject="Quarterly report", frm="Alice <alice@example.org>",
                  date="Mon, 04 Jan 2021 09:00:00 +0000",
                  headers=["X-Priority: 1"], body="numbers attached\r\n"),
     "\\Seen", "04-Jan-2021 09:00:00 +0000"),
    (make_message(subject="Lunch tomorrow?", frm="Bob <bob@example.net>",
                  date="Mon, 14 Jun 2021 23:30:00 -0700",
                  body="pizza or sushi\r\n"),
     "\\Flagged", "15-Jun-2021 23:30:00 -0700"),
    (make_message(subject="=?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?=",
                  frm="Carol <carol@example.com>",
                  date="Tue, 15 Jun 2021 08:00:00 +0200",
                  headers=["MIME-Version: 1.0",
                           "Content-Type: text/plain; charset=utf-8",
                           "Content-Transfer-Encoding: quoted-printable"],
                  body="Das Men=C3=BC ist gro=C3=9F\r\n"),
     "\\Seen \\Flagged $Work", "15-Jun-2021 08:00:00 +0200"),
    (make_message(subject="Re: Quarterly report",
                  frm="Alice <alice@example.org>",
                  date="Fri, 01 Oct 2021 12:00:00 +0000", body=LONG_BODY),
     None, "01-Oct-2021 12:00:00 +0000"),
    (make_message(subject="Invoice", frm="Dave <dave@example.org>",
                  date="Sat, 01 Jan 2022 00:00:00 +0000",
                  headers=["X-Mailer: FooMail"], body="please pay\r\n"),
     "\\Deleted \\Answered", "01-Jan-2022 00:00:00 +0000"),
]


@pytest.fixture
def search_folder(raw):
    name, uids = folder_with(raw, SEARCH_MSGS, "Srch")
    yield name, uids
    raw.ok("UNSELECT")


SEARCH_CASES = [
    ("ALL", [1, 2, 3, 4, 5]),
    ("FLAGGED", [2, 3]),
    ("UNFLAGGED", [1, 4, 5]),
    ("SEEN", [1, 3]),
    ("UNSEEN", [2, 4, 5]),
    ("DELETED", [5]),
    ("UNDELETED", [1, 2, 3, 4]),
    ("ANSWERED", [5]),
    ("UNANSWERED", [1, 2, 3, 4]),
    ("DRAFT", []),
    ("UNDRAFT", [1, 2, 3, 4, 5]),
    ("KEYWORD $Work", [3]),
    ("UNKEYWORD $Work", [1, 2, 4, 5]),
    ("FROM alice", [1, 4]),
    ("FROM ALICE@EXAMPLE", [1, 4]),
    ('FROM "Bob"', [2]),
    ("TO bob@example.net", [1, 2, 3, 4, 5]),
    ("CC nobody", []),
    ("BCC nobody", []),
    ("SUBJECT quarterly", [1, 4]),
    ('SUBJECT "Re: Quarterly"', [4]),
    ("SUBJECT lunch", [2]),
    ("BODY sushi", [2]),
    ("BODY APPENDIX", [4]),
    ("BODY quarterly", []),
    ("TEXT quarterly", [1, 4]),
    ("TEXT sushi", [2]),
    ("HEADER X-Priority 1", [1]),
    ('HEADER X-Mailer ""', [5]),
    ("HEADER Message-ID nothing", []),
    ("LARGER 3000", [4]),
    ("SMALLER 3000", [1, 2, 3, 5]),
    ("SINCE 15-Jun-2021", [2, 3, 4, 5]),
    ("BEFORE 15-Jun-2021", [1]),
    ("ON 15-Jun-2021", [2, 3]),
    ("ON 16-Jun-2021", []),
    ("SENTSINCE 15-Jun-2021", [3, 4, 5]),
    ("SENTBEFORE 15-Jun-2021", [1, 2]),
    ("SENTON 14-Jun-2021", [2]),
    ("SENTON 15-Jun-2021", [3]),
    ("2:3", [2, 3]),
    ("2,4:*", [2, 4, 5]),
    ("NOT SEEN", [2, 4, 5]),
    ("NOT NOT SEEN", [1, 3]),
    ("OR FLAGGED FROM dave", [2, 3, 5]),
    ("OR (FROM alice SEEN) (SUBJECT lunch)", [1, 2]),
    ("NOT (OR FLAGGED DELETED)", [1, 4]),
    ("(((FLAGGED)))", [2, 3]),
    ("FLAGGED SEEN", [3]),
    ("OR OR SEEN DELETED ANSWERED", [1, 3, 5]),
    ("1:* UNSEEN NOT 5", [2, 4]),
    ("RECENT", [1, 2, 3, 4, 5]),
    ("NEW", [2, 4, 5]),
    ("OLD", []),
    ("CHARSET US-ASCII FROM bob", [2]),
    ("charset utf-8 from carol", [3]),
]


@pytest.mark.parametrize("key,expect", SEARCH_CASES,
                         ids=[c[0] for c in SEARCH_CASES])
def test_search_keys(raw, search_folder, key, expect):
    u, t = raw.cmd("SEARCH %s" % key)
    assert tagged_status(t) == "OK", (key, t)
    assert search_result(u) == expect, (key, u)


def test_search_uid(raw, search_folder):
    name, uids = search_folder
    u, t = raw.cmd("SEARCH UID %d:%d" % (uids[1], uids[3]))
    assert search_result(u) == [2, 3, 4], u
    u, t = raw.cmd("UID SEARCH FLAGGED")
    assert search_result(u) == [uids[1], uids[2]], u
    u, t = raw.cmd("UID SEARCH UID %d,%d" % (uids[0], uids[4]))
    assert search_result(u) == [uids[0], uids[4]], u
    u, t = raw.cmd("UID SEARCH UID %d:*" % (uids[4] + 10))
    assert search_result(u) == [uids[4]], u


def test_search_charset_utf8_literal(raw, search_folder):
    for text, key, expect in ((u"caf\u00e9", "SUBJECT", [3]),
                              (u"CR\u00c8ME", "SUBJECT", [3]),
                              (u"men\u00fc", "BODY", [3]),
                              (u"gro\u00df", "TEXT", [3]),
                              (u"m\u00fcll", "BODY", [])):
        data = text.encode("utf-8")
        u, t = raw.cmd_literals(["SEARCH CHARSET UTF-8 %s {%d}"
                                 % (key, len(data)), data])
        assert tagged_status(t) == "OK", (text, t)
        got = search_result(u)
        if text == u"CR\u00c8ME":
            # Non-ASCII case folding is not required; ASCII is.
            assert got in ([3], []), (text, u)
        else:
            assert got == expect, (text, u)


def test_search_badcharset(raw, search_folder):
    u, t = raw.cmd("SEARCH CHARSET X-UNKNOWN-CS ALL")
    assert tagged_status(t) == "NO", t
    code = resp_code(t)
    assert code is not None and code.upper().startswith("BADCHARSET"), t


@pytest.mark.parametrize("cmd", [
    "SEARCH", "SEARCH BOGUSKEY", "SEARCH FROM", "SEARCH SINCE 2021-06-15",
    "SEARCH SINCE 32-Jan-2021", "SEARCH LARGER x", "SEARCH OR FLAGGED",
    "SEARCH NOT", "SEARCH (FLAGGED", "SEARCH HEADER X-Priority",
    "SEARCH UID", "SEARCH RETURN (BOGUS) ALL", "SEARCH CHARSET",
    "SEARCH 1:x",
])
def test_search_errors(raw, search_folder, cmd):
    u, t = raw.cmd(cmd)
    assert tagged_status(t) == "BAD", (cmd, t)
    raw.ok("NOOP")


def test_esearch(raw, search_folder):
    name, uids = search_folder
    u, t = raw.cmd("SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED", tag="es1")
    assert tagged_status(t) == "OK", t
    assert not any(x.startswith(b"* SEARCH") for x in u), u
    e = esearch(u)
    assert e == {"TAG": "es1", "MIN": 2, "MAX": 3, "COUNT": 2,
                 "ALL": {2, 3}}, e
    u, t = raw.cmd("UID SEARCH RETURN (COUNT MIN) UNSEEN", tag="es2")
    e = esearch(u)
    assert e == {"TAG": "es2", "UID": True, "COUNT": 3,
                 "MIN": uids[1]}, e
    u, t = raw.cmd("SEARCH RETURN () UNDELETED", tag="es3")
    e = esearch(u)
    assert e == {"TAG": "es3", "ALL": {1, 2, 3, 4}}, e
    # No match: COUNT 0, no MIN/MAX/ALL (RFC 4731 3.1).
    u, t = raw.cmd("SEARCH RETURN (MIN MAX COUNT ALL) FROM nobody",
                   tag="es4")
    e = esearch(u)
    assert e == {"TAG": "es4", "COUNT": 0}, e
    u, t = raw.cmd("SEARCH RETURN (MAX) ALL", tag="es5")
    assert esearch(u) == {"TAG": "es5", "MAX": 5}


def test_searchres_save(raw, search_folder):
    name, uids = search_folder
    # "$" before anything was saved is the empty set.
    u, t = raw.cmd("FETCH $ (UID)")
    assert tagged_status(t) == "OK", t
    assert fetches(u) == {}, u
    # SAVE alone: no ESEARCH response (RFC 5182 2.1).
    u, t = raw.cmd("SEARCH RETURN (SAVE) FROM alice")
    assert tagged_status(t) == "OK", t
    assert not any(x.startswith(b"* ESEARCH") or x.startswith(b"* SEARCH")
                   for x in u), u
    u, t = raw.cmd("FETCH $ (UID)")
    assert tagged_status(t) == "OK", t
    assert sorted(fetches(u)) == [1, 4], u
    u, t = raw.cmd("UID SEARCH $ SEEN")
    assert search_result(u) == [uids[0]], u
    u, t = raw.cmd("UID STORE $ +FLAGS.SILENT (\\Draft)")
    assert tagged_status(t) == "OK", t
    u, t = raw.cmd("SEARCH DRAFT")
    assert search_result(u) == [1, 4], u
    # SAVE with MIN only saves the minimum (RFC 5182 2.1).
    u, t = raw.cmd("SEARCH RETURN (SAVE MIN) FLAGGED", tag="sv")
    assert esearch(u) == {"TAG": "sv", "MIN": 2}, u
    u, t = raw.cmd("FETCH $ (UID)")
    assert sorted(fetches(u)) == [2], u
    # SAVE with ALL saves everything.
    u, t = raw.cmd("UID SEARCH RETURN (SAVE ALL) UNSEEN", tag="sv2")
    assert esearch(u)["ALL"] == {uids[1], uids[3], uids[4]}, u
    u, t = raw.cmd("FETCH $ (UID)")
    assert sorted(fetches(u)) == [2, 4, 5], u


# ---------------------------------------------------------------------------
# CONDSTORE / QRESYNC


def test_condstore_basics(server, raw):
    name, uids = folder_with(raw, [SIMPLE] * 3, "Cs", select=False)
    raw.ok("ENABLE CONDSTORE")
    u, t = raw.cmd("SELECT %s" % quote(name))
    codes = [resp_code(x) for x in u if x.startswith(b"* OK [")]
    hm = [c for c in codes if c.startswith("HIGHESTMODSEQ ")]
    assert len(hm) == 1, codes
    m0 = int(hm[0].split()[1])
    u, t = raw.cmd("STORE 2 +FLAGS (\\Flagged)")
    f = fetches(u)
    m2 = int(f[2]["MODSEQ"][0])
    assert m2 > m0, f
    u, t = raw.cmd("FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d)" % m0)
    f = fetches(u)
    assert sorted(f) == [2], u
    assert int(f[2]["MODSEQ"][0]) == m2
    u, t = raw.cmd("SEARCH MODSEQ %d" % (m0 + 1))
    assert tagged_status(t) == "OK", t
    line = [x for x in u if x.startswith(b"* SEARCH")][0]
    assert line == b"* SEARCH 2 (MODSEQ %d)" % m2, line
    u, t = raw.cmd("STATUS %s (HIGHESTMODSEQ)" % quote(name))
    assert status_items(u)["HIGHESTMODSEQ"] == m2
    raw.ok("UNSELECT")


def test_qresync_select_reports_vanished(server):
    a = server.raw(login=True)
    b = server.raw(login=True)
    try:
        name, uids = folder_with(a, [make_message(subject="q%d" % i)
                                     for i in range(4)], "Qr", select=False)
        a.ok("ENABLE QRESYNC")
        u, t = a.cmd("SELECT %s" % quote(name))
        codes = [resp_code(x) for x in u if x.startswith(b"* OK [")]
        uv = int([c for c in codes if c.startswith("UIDVALIDITY")][0]
                 .split()[1])
        m0 = int([c for c in codes if c.startswith("HIGHESTMODSEQ")][0]
                 .split()[1])
        a.ok("UNSELECT")
        # Another client changes a flag and expunges a message.
        b.ok("SELECT %s" % quote(name))
        b.ok("UID STORE %d +FLAGS.SILENT (\\Answered)" % uids[0])
        b.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[2])
        b.ok("EXPUNGE")
        b.ok("UNSELECT")
        u, t = a.cmd("SELECT %s (QRESYNC (%d %d))" % (quote(name), uv, m0))
        assert tagged_status(t) == "OK", t
        van = [x for x in u if x.startswith(b"* VANISHED")]
        assert van == [b"* VANISHED (EARLIER) %d" % uids[2]], u
        f = fetches(u)
        changed = {int(v["UID"]) for v in f.values()}
        assert uids[0] in changed, u
        assert uids[1] not in changed and uids[3] not in changed, u
        for v in f.values():
            if int(v["UID"]) == uids[0]:
                assert "\\Answered" in flagset(v["FLAGS"])
                assert "MODSEQ" in v
        assert b"* 3 EXISTS" in u, u
        # UID FETCH ... (CHANGEDSINCE m VANISHED).
        u, t = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % m0)
        assert tagged_status(t) == "OK", t
        assert [x for x in u if x.startswith(b"* VANISHED")] == [
            b"* VANISHED (EARLIER) %d" % uids[2]], u
        # With QRESYNC on, EXPUNGE answers VANISHED.
        a.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[3])
        u, t = a.cmd("EXPUNGE")
        assert tagged_status(t) == "OK", t
        assert b"* VANISHED %d" % uids[3] in u, u
        assert not any(x.endswith(b" EXPUNGE") for x in u), u
        # A wrong UIDVALIDITY: no VANISHED, a plain SELECT.
        u, t = a.cmd("SELECT %s (QRESYNC (%d %d))" % (quote(name), uv + 1,
                                                     m0))
        assert tagged_status(t) == "OK", t
        assert not any(x.startswith(b"* VANISHED") for x in u), u
        a.ok("UNSELECT")
    finally:
        a.close()
        b.close()


def test_qresync_requires_enable(raw):
    name = create_folder(raw, "QrEn")
    u, t = raw.cmd("SELECT %s (QRESYNC (1 1))" % quote(name))
    assert tagged_status(t) == "BAD", t


def test_imap4rev2_session(raw):
    """After ENABLE IMAP4rev2 (RFC 9051): no RECENT response, a LIST
    response on SELECT, ESEARCH for SEARCH. (\\Recent in FLAGS stays
    allowed: obsolete-flag-recent.)"""
    name, uids = folder_with(raw, [SIMPLE, (SIMPLE, "\\Seen", None)],
                             "Rev2", select=False)
    u, t = raw.cmd("ENABLE IMAP4rev2")
    assert u == [b"* ENABLED IMAP4rev2"], u
    u, t = raw.cmd("SELECT %s" % quote(name))
    assert tagged_status(t) == "OK", t
    assert b"* 2 EXISTS" in u, u
    assert not any(x.endswith(b" RECENT") for x in u), u
    assert any(x.startswith(b"* LIST ") and x.endswith(name.encode())
               for x in u), u
    u, t = raw.cmd("SEARCH ALL", tag="r2s")
    assert not any(x.startswith(b"* SEARCH") for x in u), u
    assert esearch(u) == {"TAG": "r2s", "ALL": {1, 2}}, u
    u, t = raw.cmd("UID SEARCH UNSEEN", tag="r2u")
    assert esearch(u) == {"TAG": "r2u", "UID": True, "ALL": {uids[0]}}, u
    raw.ok("UNSELECT")


def test_append_utf8_data_item(raw):
    """RFC 6855 4: after ENABLE UTF8=ACCEPT, APPEND takes UTF8 (~{N})."""
    name = create_folder(raw, "ApUtf8")
    msg = ("From: Jörg <j@example.org>\r\nSubject: Grüße\r\n\r\n"
           "Hallo\r\n").encode()
    raw.ok("ENABLE UTF8=ACCEPT")
    raw.send(b"u8 APPEND " + quote(name).encode() + b" UTF8 (~{%d+}\r\n"
             % len(msg) + msg + b")\r\n")
    u, t = raw.read_until_tagged("u8")
    assert t.startswith(b"u8 OK [APPENDUID"), t
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("FETCH 1 BODY.PEEK[]")
    assert tagged_status(t) == "OK", t
    assert any(msg in x for x in u), u
    raw.ok("UNSELECT")


def test_large_messages_stream_byte_exact(raw):
    """Messages over the 1 MiB streaming piece come back byte for byte,
    several in one FETCH (the command yields while output drains)."""
    name = create_folder(raw, "Big")
    msgs = []
    for i in range(3):
        body = bytes((j * 7 + i) % 251 for j in range(256)) * (9000 + i)
        body = body.replace(b"\r", b"x").replace(b"\n", b"y")
        lines = b"\r\n".join(body[k:k + 76] for k in range(0, len(body), 76))
        m = (b"Subject: big %d\r\nContent-Type: application/octet-stream"
             b"\r\n\r\n" % i) + lines + b"\r\n"
        msgs.append(m)
        u, t = append(raw, name, m)
        assert tagged_status(t) == "OK", t
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("FETCH 1:3 (UID BODY.PEEK[])", timeout=60)
    assert tagged_status(t) == "OK", t
    got = [x for x in u if b" FETCH " in x]
    assert len(got) == 3
    for i, m in enumerate(msgs):
        assert m in got[i], i
    u, t = raw.cmd("FETCH 2 BODY.PEEK[]<1000000.2000000>", timeout=60)
    assert any(msgs[1][1000000:3000000] in x for x in u)
    raw.ok("UNSELECT")
