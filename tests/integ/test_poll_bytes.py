"""tests/integ/test_poll_bytes.py: a message's bytes arrive exactly as the
server sent them (RFC 1939 section 3): 8-bit bytes and NUL are kept, a
stuffed leading '.' is removed, a bare LF line end becomes CRLF (IMAP's
form), a lone CR is kept, and the last line needs no special care. The
stored message is read back byte for byte with IMAP FETCH BODY.PEEK[].

The scripted server (fakepop3.py) sends the RETR answer raw, so nothing on
the way normalises it.
"""
import re

import fakepop3
import pbharness
from fakepop3 import FakePOP3, Maildrop, Scenario
from pop3harness import add_account, pb, poll_ok  # noqa: F401

WIRE = (b"Subject: bytes\r\n"
        b"X-Test-Id: bytes-1\r\n"
        b"\r\n"
        b"8-bit \xe9\xff\xc3\xa9 and a NUL \x00 in the middle\r\n"
        b"..a stuffed dot line\r\n"
        b"...two dots stuffed\r\n"
        b"bare LF line\n"
        b"a lone CR \r in a line\r\n"
        b"last line\r\n")
STORED = (b"Subject: bytes\r\n"
          b"X-Test-Id: bytes-1\r\n"
          b"\r\n"
          b"8-bit \xe9\xff\xc3\xa9 and a NUL \x00 in the middle\r\n"
          b".a stuffed dot line\r\n"
          b"..two dots stuffed\r\n"
          b"bare LF line\r\n"
          b"a lone CR \r in a line\r\n"
          b"last line\r\n")


def test_bytes_kept_exactly(pb):
    srv = FakePOP3(hang_secs=5)
    srv.start()
    try:
        srv.drop = Maildrop([("UID-bytes-1", STORED)])
        folder = pbharness.unique_folder("Bytes")
        add_account(pb, "bytes", "alice", port=srv.port, tls="none",
                    allow_plaintext=True,
                    password=fakepop3.DEFAULT_PASSWORD, folder=folder,
                    retention="delete")
        srv.push(Scenario(name="raw", steps=[
            (r"^RETR 1$", b"+OK %d octets\r\n" % len(STORED) + WIRE +
             b".\r\n")]))
        rep = poll_ok(pb, "bytes")
        assert rep["fetched"] == 1, rep
        # stored, so deleted from the server
        assert len(srv.drop.messages) == 0
    finally:
        srv.stop()
    pb.start()
    m = pb.imap()
    try:
        typ, _ = m.select('"%s"' % folder, readonly=True)
        assert typ == "OK"
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert data[0][1] == STORED
        typ, data = m.fetch("1", "(RFC822.SIZE)")
        assert typ == "OK"
        size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0]).group(1))
        assert size == len(STORED)
    finally:
        m.logout()
