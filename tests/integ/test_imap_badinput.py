"""Bad input (issue 2, "Bad input"): malformed commands get a tagged BAD
(untagged BAD or BYE for garbage before a tag) and the session goes on;
an oversized line or literal is refused without buffering it; a client
that disconnects mid-APPEND leaves nothing; too many BADs end the session;
the server keeps accepting connections through all of it."""

import socket
import time

import pytest

from pbharness import (IMAPClosed, append, create_folder, fetches,
                       make_message, quote, resp_code, status_items,
                       tagged_status)


def still_fine(server):
    """A fresh connection logs in and works."""
    c = server.raw(login=True)
    try:
        c.ok("SELECT INBOX")
        c.ok("NOOP")
    finally:
        c.close()


@pytest.mark.parametrize("garbage", [
    b"\x01\x02garbage\r\n",
    b")))\r\n",
    b"\r\n",
    b"   \r\n",
    b"(tag) NOOP\r\n",
    b"\"quoted\" NOOP\r\n",
    b"{5}\r\n",
    b"\xff\xfe\xfd\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_garbage_before_tag(server, garbage):
    c = server.raw()
    try:
        c.send(garbage)
        c.send(b"ok1 NOOP\r\n")
        u, t = c.read_until_tagged("ok1")
        assert t.startswith(b"ok1 OK"), t
        # Each bad line: untagged BAD (or a tagged BAD when a tag could be
        # read, as for "GET / ..."), never silence that hangs the session.
        for r in u:
            assert r.startswith(b"* BAD") or b" BAD " in r, u
        assert u, "no BAD for %r" % garbage
    finally:
        c.close()


@pytest.mark.parametrize("cmd", [
    b"a1 FETCH",
    b"a1 SELECT",
    b"a1 LOGIN \"unterminated",
    b"a1 FETCH 1 (FLAGS",
    b"a1 STORE 1 +FLAGS (\\Seen))",
    b"a1 LIST \"\" \"*\" )",
    b"a1 NOOP\tNOOP",
    b"a1 SEARCH \"a\\q\"",
    b"a1 CREATE {abc}",
    b"a1 EXAMINE \"INBOX\\",
    b"a1 UID FETCH 1:* (BODY[HEADER.FIELDS (From)",
    b"a1 FETCH 1:* BODY[]<>",
])
def test_malformed_commands_get_tagged_bad(server, cmd):
    c = server.raw(login=True)
    try:
        c.ok("SELECT INBOX")
        c.send(cmd + b"\r\n")
        c.send(b"ok2 NOOP\r\n")
        u, t = c.read_until_tagged("ok2")
        assert t.startswith(b"ok2 OK"), (cmd, t, u)
        bads = [r for r in u if r.startswith(b"a1 BAD")]
        assert len(bads) == 1, (cmd, u)
    finally:
        c.close()


def test_nul_in_command_line(server):
    c = server.raw()
    try:
        for cmd in (b"n1 NOOP\x00\r\n", b"n1 LOGIN al\x00ice pw\r\n",
                    b"n1 LOGIN \"al\x00ice\" \"pw\"\r\n", b"n1\x00 NOOP\r\n"):
            c.send(cmd)
            c.send(b"n2 NOOP\r\n")
            u, t = c.read_until_tagged("n2")
            assert t.startswith(b"n2 OK"), (cmd, t)
            assert any(r.startswith(b"n1 BAD") or r.startswith(b"* BAD")
                       for r in u), (cmd, u)
        # Not logged in by any of that.
        u, t = c.cmd("SELECT INBOX")
        assert tagged_status(t) == "BAD", t
    finally:
        c.close()


def test_long_line_refused_without_buffering(server):
    """70 KB without a line end: BAD while the line is still coming (the
    server does not wait for, or keep, the rest)."""
    c = server.raw(login=True)
    try:
        c.send(b"big1 NOOP " + b"x" * (70 * 1024))
        r = c.read_response(timeout=5)
        assert r.startswith(b"big1 BAD") or r.startswith(b"* BAD"), r
        # More of the same line is dropped as it comes, unbuffered.
        for _ in range(20):
            c.send(b"y" * 65536)
        c.send(b"\r\n")
        u, t = c.cmd("NOOP", tag="after")
        assert t.startswith(b"after OK"), (t, u)
        assert not u, u
        c.ok("SELECT INBOX")
    finally:
        c.close()
    still_fine(server)


def test_long_line_before_login(server):
    c = server.raw()
    try:
        c.send(b"x" * (100 * 1024) + b"\r\n")
        c.send(b"ok NOOP\r\n")
        u, t = c.read_until_tagged("ok", timeout=10)
        assert t.startswith(b"ok OK"), t
        assert u and all(b"BAD" in r for r in u), u
    finally:
        c.close()


def test_line_just_under_limit_is_accepted(server):
    c = server.raw(login=True)
    try:
        c.ok("SELECT INBOX")
        # A 60 KB SEARCH line (under the 64 KiB limit) is read whole.
        words = b" ".join([b"OR SUBJECT zzzz%05d" % i for i in range(2500)])
        line = b"SEARCH " + words + b" SUBJECT last"
        assert 50000 < len(line) < 63 * 1024
        u, t = c.cmd(line, timeout=20)
        assert tagged_status(t) in ("OK", "BAD"), t
        c.ok("NOOP")
    finally:
        c.close()


def test_huge_literal_refused_before_continuation(server):
    c = server.raw(login=True)
    try:
        name = create_folder(c, "Big")
        c.send(b"lit1 APPEND " + quote(name).encode() + b" {100000000}\r\n")
        r = c.read_response(timeout=5)
        assert not r.startswith(b"+"), "server asked for 100 MB: %r" % r
        assert r.startswith(b"lit1 NO") or r.startswith(b"lit1 BAD"), r
        if r.startswith(b"lit1 NO"):
            assert resp_code(r) == "TOOBIG", r
        c.ok("NOOP")
        u, t = c.cmd("STATUS %s (MESSAGES)" % quote(name))
        assert status_items(u)["MESSAGES"] == 0
        # A huge literal in another command is refused the same way.
        c.send(b"lit2 SELECT {100000000}\r\n")
        r = c.read_response(timeout=5)
        assert r.startswith(b"lit2 NO") or r.startswith(b"lit2 BAD"), r
        c.ok("NOOP")
        # Before login the literal cap is small.
        d = server.raw()
        d.send(b"lit3 LOGIN {100000}\r\n")
        r = d.read_response(timeout=5)
        assert r.startswith(b"lit3 NO") or r.startswith(b"lit3 BAD"), r
        d.ok("NOOP")
        d.close()
    finally:
        c.close()
    still_fine(server)


def test_literal_over_appendlimit_by_one(server):
    c = server.raw(login=True)
    try:
        name = create_folder(c, "Lim")
        c.send(b"l1 APPEND " + quote(name).encode() + b" {%d}\r\n"
               % (64 * 1024 * 1024 + 1))
        r = c.read_response(timeout=5)
        assert r.startswith(b"l1 NO") or r.startswith(b"l1 BAD"), r
        c.ok("NOOP")
    finally:
        c.close()


def test_huge_nonsync_literal_closes_connection(server):
    c = server.raw(login=True)
    try:
        name = create_folder(c, "BigPlus")
        c.send(b"lp1 APPEND " + quote(name).encode() + b" {100000000+}\r\n")
        c.send(b"From: x\r\n\r\nsome of the data\r\n")
        assert c.wait_closed(5), "connection still open"
        rest = c.buf
        assert b"* BYE" in rest or rest == b"", rest
    finally:
        c.close()
    d = server.raw(login=True)
    u, t = d.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 0
    d.close()
    still_fine(server)


def test_nonsync_literal_in_bad_command_is_skipped(server):
    """The bytes of a LITERAL+ in a refused command are never taken for
    commands."""
    c = server.raw(login=True)
    try:
        payload = b"evil1 LOGOUT\r\n"
        c.send(b"bad1 NOSUCHCOMMAND {%d+}\r\n" % len(payload) + payload +
               b"\r\n")
        c.send(b"ok NOOP\r\n")
        u, t = c.read_until_tagged("ok")
        assert t.startswith(b"ok OK"), t
        assert not any(r.startswith(b"* BYE") for r in u), u
        assert not any(r.startswith(b"evil1") for r in u), u
        # The same when the syntax error comes before the literal.
        c.send(b"bad2 FETCH 1 (FLAGS)) {%d+}\r\n" % len(payload) + payload +
               b"\r\n")
        c.send(b"ok2 NOOP\r\n")
        u, t = c.read_until_tagged("ok2")
        assert t.startswith(b"ok2 OK"), t
        assert any(r.startswith(b"bad2 BAD") for r in u), u
        assert not any(r.startswith(b"* BYE") for r in u), u
    finally:
        c.close()


def test_21_bad_commands_end_the_session(server):
    c = server.raw()
    try:
        # 19 BADs, then a good command: the count starts again.
        for i in range(19):
            c.send(b"b%d FOO\r\n" % i)
        c.send(b"good NOOP\r\n")
        u, t = c.read_until_tagged("good")
        assert t.startswith(b"good OK"), t
        assert sum(1 for r in u if b" BAD " in r) == 19, u
        c.send(b"".join(b"c%d FOO\r\n" % i for i in range(21)))
        closed = c.wait_closed(5)
        text = c.buf
        assert b"* BYE" in text, text[-500:]
        assert closed, "still open after BYE"
    finally:
        c.close()
    still_fine(server)


def test_bad_lines_before_tag_count_too(server):
    c = server.raw()
    try:
        c.send(b"\x01\r\n" * 25)
        assert c.wait_closed(5), "still open after 25 garbage lines"
        assert b"* BYE" in c.buf, c.buf[-300:]
    finally:
        c.close()


def test_disconnect_mid_append_leaves_nothing(server):
    a = server.raw(login=True)
    name = create_folder(a, "Half")
    msg = make_message(subject="half", body="x" * 5000 + "\r\n")
    big = make_message(subject="half big", body="y" * 600000 + "\r\n")
    # Synchronising literal: half of it, then gone.
    c = server.raw(login=True)
    c.send(b"h1 APPEND " + quote(name).encode() + b" {%d}\r\n" % len(msg))
    assert c.read_response().startswith(b"+")
    c.send(msg[:1000])
    c.close()
    # LITERAL+.
    c = server.raw(login=True)
    c.send(b"h2 APPEND " + quote(name).encode() + b" {%d+}\r\n" % len(msg)
           + msg[:3000])
    c.close()
    # A large literal (spooled to disk), cut short.
    c = server.raw(login=True)
    c.send(b"h3 APPEND " + quote(name).encode() + b" {%d}\r\n" % len(big))
    assert c.read_response().startswith(b"+")
    c.send(big[:400000])
    time.sleep(0.1)
    c.close()
    # The whole literal but no line end.
    c = server.raw(login=True)
    c.send(b"h4 APPEND " + quote(name).encode() + b" {%d+}\r\n" % len(msg)
           + msg)
    time.sleep(0.1)
    c.close()
    # RST in the middle.
    c = server.raw(login=True)
    c.send(b"h5 APPEND " + quote(name).encode() + b" {%d+}\r\n" % len(msg)
           + msg[:2000])
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    try:
        time.sleep(0.3)
        for _ in range(3):
            u, t = a.cmd("STATUS %s (MESSAGES)" % quote(name))
            assert status_items(u)["MESSAGES"] == 0, u
            time.sleep(0.1)
        # A complete APPEND still works afterwards.
        u, t = append(a, name, msg)
        assert tagged_status(t) == "OK", t
        u, t = a.cmd("STATUS %s (MESSAGES)" % quote(name))
        assert status_items(u)["MESSAGES"] == 1
    finally:
        a.close()


def test_deep_nesting(server):
    c = server.raw(login=True)
    try:
        c.ok("SELECT INBOX")
        for depth in (17, 100, 5000):
            line = b"SEARCH " + b"(" * depth + b"ALL" + b")" * depth
            u, t = c.cmd(line, timeout=10)
            assert tagged_status(t) == "BAD", (depth, t)
        u, t = c.cmd(b"SEARCH " + b"(" * 10 + b"ALL" + b")" * 10)
        assert tagged_status(t) == "OK", t
        u, t = c.cmd(b"FETCH 1:* " + b"(" * 3000 + b"FLAGS" + b")" * 3000)
        assert tagged_status(t) == "BAD", t
        # Deep NOT/OR chains without parentheses.
        u, t = c.cmd(b"SEARCH " + b"NOT " * 5000 + b"ALL", timeout=10)
        assert tagged_status(t) in ("OK", "BAD"), t
        u, t = c.cmd(b"SEARCH " + b"OR ALL " * 5000 + b"ALL", timeout=10)
        assert tagged_status(t) in ("OK", "BAD"), t
        # Unbalanced.
        u, t = c.cmd(b"SEARCH " + b"(" * 10 + b"ALL")
        assert tagged_status(t) == "BAD", t
        c.ok("NOOP")
    finally:
        c.close()
    still_fine(server)


def test_huge_sequence_sets(server):
    c = server.raw(login=True)
    try:
        name = create_folder(c, "Seqs")
        for i in range(3):
            append(c, name, make_message(subject="s%d" % i))
        c.ok("SELECT %s" % quote(name))
        u, t = c.cmd("UID FETCH 1:4294967295 (FLAGS)")
        assert tagged_status(t) == "OK", t
        assert len(u) == 3, u
        u, t = c.cmd("UID FETCH 4294967295:1 (FLAGS)")
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("UID SEARCH UID 1:4294967295")
        assert tagged_status(t) == "OK", t
        for bad in ("UID FETCH 4294967296 (FLAGS)",
                    "UID FETCH 1:99999999999999999999 (FLAGS)",
                    "UID FETCH 0 (FLAGS)", "UID FETCH -1 (FLAGS)",
                    "FETCH 1:4 (FLAGS)"):
            u, t = c.cmd(bad)
            assert tagged_status(t) in ("BAD", "NO"), (bad, t)
        # Many ranges: 10,000 of them (about 60 KB).
        s = ",".join("%d" % (2 * i + 1) for i in range(10000))
        u, t = c.cmd("UID FETCH %s (FLAGS)" % s, timeout=20)
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("UID STORE %s +FLAGS.SILENT (\\Seen)" % s, timeout=20)
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("UID SEARCH UID %s" % s, timeout=20)
        assert tagged_status(t) == "OK", t
        # A set over the line limit.
        s = ",".join("%d" % i for i in range(1, 30000))
        u, t = c.cmd("UID FETCH %s (FLAGS)" % s, timeout=20)
        assert tagged_status(t) == "BAD", t
        c.ok("NOOP")
    finally:
        c.close()
    still_fine(server)


def test_many_arguments(server):
    c = server.raw(login=True)
    try:
        c.ok("SELECT INBOX")
        u, t = c.cmd(b"FETCH 1:* (" + b" ".join([b"FLAGS"] * 5000) + b")",
                     timeout=10)
        assert tagged_status(t) in ("OK", "BAD"), t
        u, t = c.cmd(b"ID (" + b" ".join([b'"k" "v"'] * 3000) + b")",
                     timeout=10)
        assert tagged_status(t) in ("OK", "BAD"), t
        c.ok("NOOP")
    finally:
        c.close()


def test_pipelined_commands(server):
    c = server.raw(login=True)
    try:
        data = b"".join(b"p%d NOOP\r\n" % i for i in range(500))
        c.send(data)
        for i in range(500):
            u, t = c.read_until_tagged("p%d" % i)
            assert t.startswith(b"p%d OK" % i), t
    finally:
        c.close()


def test_byte_at_a_time(server):
    c = server.raw()
    try:
        cmd = b'b1 LOGIN "%s" {%d+}\r\n%s\r\n' % (
            server.user.encode(), len(server.password),
            server.password.encode())
        for ch in cmd:
            c.send(bytes([ch]))
        u, t = c.read_until_tagged("b1")
        assert t.startswith(b"b1 OK"), t
    finally:
        c.close()


def test_slow_reader_big_fetch(server):
    """A client that does not read while a large FETCH is produced: the
    server holds back, and other clients are served meanwhile."""
    a = server.raw(login=True)
    name = create_folder(a, "Slow")
    body = "z" * 1000 + "\r\n"
    msg = make_message(subject="slow", body=body * 500)  # ~500 KB
    data = b""
    for i in range(8):
        data += (b"s%d APPEND " % i + quote(name).encode() +
                 b" {%d+}\r\n" % len(msg) + msg + b"\r\n")
    a.send(data)
    for i in range(8):
        u, t = a.read_until_tagged("s%d" % i)
        assert tagged_status(t) == "OK", t
    a.ok("SELECT %s" % quote(name))
    a.send(b"f1 FETCH 1:* (BODY.PEEK[])\r\n")
    a.send(b"f2 FETCH 1:* (BODY.PEEK[])\r\n")
    time.sleep(0.3)
    # Meanwhile another session is answered at once.
    b = server.raw(login=True)
    t0 = time.monotonic()
    b.ok("NOOP")
    assert time.monotonic() - t0 < 1.0
    b.close()
    u, t = a.read_until_tagged("f1", timeout=30)
    assert t.startswith(b"f1 OK"), t
    assert len(u) == 8 and all(msg in r for r in u)
    u, t = a.read_until_tagged("f2", timeout=30)
    assert t.startswith(b"f2 OK"), t
    a.close()


def test_connection_limit_and_recovery(server):
    """Past 100 connections new ones get a BYE; once they are closed the
    server serves again."""
    conns = []
    greetings = []
    try:
        for _ in range(110):
            s = socket.create_connection(("127.0.0.1", server.imap_port),
                                         timeout=5)
            conns.append(s)
        for s in conns:
            greetings.append(s.recv(1000))
    finally:
        for s in conns:
            s.close()
    byes = [g for g in greetings if g.startswith(b"* BYE")]
    oks = [g for g in greetings if g.startswith(b"* OK")]
    assert len(byes) + len(oks) == 110, greetings
    assert 90 <= len(oks) <= 100, (len(oks), len(byes))
    assert len(byes) >= 10, (len(oks), len(byes))
    time.sleep(0.2)
    still_fine(server)


def test_server_accepts_after_everything(server):
    for _ in range(5):
        still_fine(server)
    m = server.imap()
    typ, data = m.select("INBOX")
    assert typ == "OK"
    m.logout()
    with pytest.raises(IMAPClosed):
        c = server.raw()
        c.send(b"x LOGOUT\r\n")
        c.read_until_tagged("x")
        c.read_response(timeout=2)


def nested_multipart(depth):
    head = b""
    tail = b""
    for i in range(depth):
        head += (b"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                 b"--b%d\r\n" % (i, i))
        tail = b"\r\n--b%d--\r\n" % i + tail
    return (b"From: deep@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
            + head + b"Content-Type: text/plain\r\n\r\ndeep text" + tail)


def many_parts(n):
    body = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i
                    for i in range(n))
    return (b"From: many@example.org\r\nSubject: many parts\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + body +
            b"--p--\r\n")


MALFORMED = {
    "no-boundary-param": b"Subject: nb\r\nMIME-Version: 1.0\r\n"
                         b"Content-Type: multipart/mixed\r\n\r\n--x\r\n"
                         b"\r\nbody\r\n--x--\r\n",
    "boundary-never-seen": b"Subject: nv\r\nContent-Type: multipart/mixed;"
                           b" boundary=zz\r\n\r\njust text\r\n",
    "unclosed": b"Subject: uc\r\nContent-Type: multipart/mixed; boundary=q"
                b"\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nopen part",
    "empty-boundary": b"Subject: eb\r\nContent-Type: multipart/mixed; "
                      b"boundary=\"\"\r\n\r\n--\r\n\r\nx\r\n----\r\n",
    "deep-200": nested_multipart(200),
    "parts-3000": many_parts(3000),
    "long-header-100k": b"Subject: " + b"s" * 100000 + b"\r\nX-Long: "
                        + b"v " * 30000 + b"\r\n\r\nbody\r\n",
    "bad-base64": b"Subject: b64\r\nContent-Type: application/x\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\n!!!@@@###"
                  b"\r\n====\r\nQUJD\r\n",
    "bad-qp": b"Subject: qp\r\nContent-Type: text/plain\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
              b"=ZZ =\r\n=4\r\n=",
    "unknown-cte": b"Subject: cte\r\nContent-Transfer-Encoding: x-weird\r\n"
                   b"\r\nbody\r\n",
    "rfc2231-many": b"Subject: 2231\r\nContent-Type: application/x; "
                    + b"; ".join(b"name*%d*=utf-8''%%E2%%98%%83" % i
                                 for i in range(300))
                    + b"\r\n\r\nx\r\n",
    "bad-encoded-words": b"Subject: =?UTF-8?B?!!!?= =?x-unknown?Q?abc?= "
                         b"=?UTF-8?Q?=FF=FE?= =?=?=\r\nFrom: =?UTF-8?B?"
                         b"////?= <a@b>\r\n\r\nx\r\n",
    "bare-cr": b"Subject: cr\rFrom: x@y\r\rbody\rmore\r",
    "no-colon-headers": b"this is not a header\r\nnor this\r\n\r\nbody\r\n",
    "header-only-no-newline": b"Subject: only",
    "weird-addresses": b"From: <>, \"unterminated <a@b>, @@@, a@, (c) "
                       b"<x@y> (comment), group: a@b, c@d;\r\n"
                       b"To: ;;;,,,<<<>>>\r\nSubject: addr\r\n\r\nx\r\n",
    "message-rfc822-broken": b"Subject: m\r\nContent-Type: message/rfc822"
                             b"\r\n\r\nnot really a message",
    "8bit-everywhere": bytes(range(1, 256)) + b"\r\n\r\n"
                       + bytes(range(1, 256)),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_messages_are_stored_and_served(server, kind):
    msg = MALFORMED[kind]
    c = server.raw(login=True)
    try:
        name = create_folder(c, "Bad")
        u, t = append(c, name, msg)
        assert tagged_status(t) == "OK", (kind, t)
        c.ok("SELECT %s" % quote(name))
        u, t = c.cmd("FETCH 1 (BODY.PEEK[] RFC822.SIZE)", timeout=20)
        assert tagged_status(t) == "OK", t
        f = fetches(u)[1]
        assert f["BODY[]"] == msg, kind
        assert int(f["RFC822.SIZE"]) == len(msg)
        for items in ("(ENVELOPE)", "(BODYSTRUCTURE)", "(BODY)",
                      "(BODY.PEEK[HEADER])", "(BODY.PEEK[TEXT])",
                      "(BODY.PEEK[1])", "(BODY.PEEK[1.MIME])",
                      "(BODY.PEEK[1.1.1.1])", "(BODY.PEEK[2.HEADER])",
                      "(BINARY.PEEK[1])", "(BINARY.SIZE[1])",
                      "(BODY.PEEK[HEADER.FIELDS (Subject From)])"):
            u, t = c.cmd("FETCH 1 %s" % items, timeout=20)
            assert tagged_status(t) in ("OK", "NO"), (kind, items, t)
            if tagged_status(t) == "OK":
                fetches(u)  # parses as IMAP
        for key in ("TEXT body", "SUBJECT s", "FROM a", "BODY x",
                    "HEADER X-Long v"):
            u, t = c.cmd("SEARCH %s" % key, timeout=20)
            assert tagged_status(t) == "OK", (kind, key, t)
        c.ok("UNSELECT")
    finally:
        c.close()


def test_kill_9_loses_no_acknowledged_append(instance_factory):
    """kill -9 while APPENDs stream in: every APPEND answered OK before
    the kill is there after a restart, with its bytes, and the store file
    is sound."""
    import shutil
    import signal
    import subprocess
    inst = instance_factory()
    c = inst.raw(login=True)
    name = create_folder(c, "K9")
    msgs = [make_message(subject="k9 %d" % i, body="%d\r\n" % i * 200)
            for i in range(400)]
    data = b"".join(b"k%d APPEND " % i + quote(name).encode() +
                    b" {%d+}\r\n" % len(m) + m + b"\r\n"
                    for i, m in enumerate(msgs))
    c.send(data)
    acked = 0
    for i in range(150):
        u, t = c.read_until_tagged("k%d" % i)
        assert tagged_status(t) == "OK", t
        acked += 1
    inst.kill(signal.SIGKILL)
    c.close()
    inst.start()
    d = inst.raw(login=True)
    try:
        u, t = d.cmd("STATUS %s (MESSAGES)" % quote(name))
        n = status_items(u)["MESSAGES"]
        assert acked <= n <= len(msgs), (acked, n)
        d.ok("EXAMINE %s" % quote(name))
        u, t = d.cmd("FETCH 1:* (BODY.PEEK[])", timeout=30)
        f = fetches(u)
        assert [f[k]["BODY[]"] for k in sorted(f)] == msgs[:n]
    finally:
        d.close()
    if shutil.which("sqlite3"):
        r = subprocess.run(["sqlite3", inst.data + "/popbridge.db",
                            "PRAGMA integrity_check;"], capture_output=True,
                           timeout=30)
        assert r.stdout.strip() == b"ok", r
