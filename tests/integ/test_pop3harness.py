"""tests/integ/test_pop3harness.py: proves the POP3 test fixtures of
pop3harness.py (and fakepop3.py) with Python's poplib, without popbridge's
poller: a private Dovecot answers over POP3S (checked against the CA
file), STLS, APOP, USER/PASS and AUTH PLAIN; messages dropped into the
Maildir are listed in order with stable UIDLs and removed by DELE; the
certificate for another name fails verification; the fingerprint is the
one the server presents; a refused login does not slow the next ones; the
export mbox parser round-trips; the scripted fake server and the CAPA
filter proxy behave as scripted.
"""
import base64
import hashlib
import poplib
import socket
import ssl
import time

import pytest

import fakepop3
from pop3harness import (dovecot, dovecot_factory, lf,  # noqa: F401
                         make_message, make_messages, parse_mboxrd,
                         popuser, x_test_id)


def ctx_for(dove):
    return ssl.create_default_context(cafile=dove.ca_file)


def pop_ssl(dove, host="127.0.0.1"):
    return poplib.POP3_SSL(host, dove.pop3s_port, context=ctx_for(dove),
                           timeout=10)


def login(p, user):
    p.user(user.name)
    return p.pass_(user.password)


def test_pop3s_user_pass_list_retr(popuser):
    msgs = make_messages(6)
    popuser.deliver(msgs)
    assert popuser.count() == 6
    p = pop_ssl(popuser.dove)
    try:
        caps = p.capa()
        for c in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING"):
            assert c in caps, caps
        assert "PLAIN" in caps.get("SASL", []), caps
        assert "STLS" not in caps  # already TLS
        assert login(p, popuser).startswith(b"+OK")
        n, size = p.stat()
        assert n == 6
        ids = list(msgs)
        for i in range(1, n + 1):
            _, lines, _ = p.retr(i)
            data = b"\n".join(lines) + b"\n"
            # poplib un-stuffs dot lines: we get the Maildir bytes back
            assert lf(data) == msgs[ids[i - 1]], "message %d differs" % i
    finally:
        p.quit()


def test_stls_apop_and_auth_plain(popuser):
    popuser.deliver(make_messages(2))
    dove = popuser.dove
    p = poplib.POP3("127.0.0.1", dove.pop3_port, timeout=10)
    try:
        assert b"<" in p.getwelcome(), "no APOP timestamp in the greeting"
        assert "STLS" in p.capa()
        p.stls(ctx_for(dove))
        assert p.apop(popuser.name, popuser.password).startswith(b"+OK")
        assert p.stat()[0] == 2
    finally:
        p.quit()
    p = poplib.POP3("127.0.0.1", dove.pop3_port, timeout=10)
    try:
        ir = base64.b64encode(b"\0" + popuser.name.encode() + b"\0" +
                              popuser.password.encode()).decode()
        assert p._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK")
        assert p.stat()[0] == 2
    finally:
        p.quit()
    log = dove.log_text()
    assert "method=APOP" in log and "method=PLAIN" in log, log[-2000:]


def test_uidl_stable_delete_expunges(popuser):
    msgs = make_messages(5)
    popuser.deliver(msgs)
    p = pop_ssl(popuser.dove)
    login(p, popuser)
    first = p.uidl()[1]
    p.quit()
    popuser.dove.restart()
    more = make_messages(2)
    popuser.deliver(more)
    p = pop_ssl(popuser.dove)
    login(p, popuser)
    second = p.uidl()[1]
    assert second[:5] == first, (first, second)
    p.dele(1)
    p.dele(3)
    p.quit()
    ids = popuser.ids()
    want = list(msgs) + list(more)
    assert sorted(ids) == sorted(want[i] for i in (1, 3, 4, 5, 6)), ids
    assert popuser.count() == 5
    # Without QUIT (a killed client) nothing is deleted.
    s = socket.create_connection(("127.0.0.1", popuser.dove.pop3_port))
    f = s.makefile("rwb")
    f.readline()
    f.write(b"USER %s\r\nPASS %s\r\nDELE 1\r\n"
            % (popuser.name.encode(), popuser.password.encode()))
    f.flush()
    for _ in range(3):
        assert f.readline().startswith(b"+OK")
    s.close()
    time.sleep(0.3)
    assert popuser.count() == 5


def test_wrong_password_then_login(dovecot_factory):
    # Its own instance: Dovecot delays every login from an address for a
    # few seconds after a refused one (auth penalty, not configurable).
    popuser = dovecot_factory().add_user()
    p = pop_ssl(popuser.dove)
    p.user(popuser.name)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("not-the-password")
    assert b"[AUTH]" in e.value.args[0]
    p.quit()
    t0 = time.monotonic()
    for _ in range(3):
        p = pop_ssl(popuser.dove)
        login(p, popuser)
        p.quit()
    assert time.monotonic() - t0 < 15, "logins delayed too long"


def test_certificates(dovecot, dovecot_factory):
    # The module's instance: for localhost and 127.0.0.1 (also listening
    # on 127.0.0.2, which its certificate does not name).
    pop_ssl(dovecot).quit()
    with pytest.raises(ssl.SSLCertVerificationError):
        pop_ssl(dovecot, host="127.0.0.2")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", dovecot.pop3s_port)) as s:
        with ctx.wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
    assert hashlib.sha256(der).hexdigest() == dovecot.fingerprint
    other = dovecot_factory(cert_names=("pop.example.test",))
    with pytest.raises(ssl.SSLCertVerificationError):
        pop_ssl(other)
    assert other.fingerprint != dovecot.fingerprint


def test_apop_only_instance(dovecot_factory):
    d = dovecot_factory(auth_mechanisms="apop")
    u = d.add_user()
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=10)
    p.user(u.name)
    with pytest.raises(poplib.error_proto):
        p.pass_(u.password)
    p.quit()
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=10)
    assert p.apop(u.name, u.password).startswith(b"+OK")
    p.quit()


def test_messages_and_mbox_parser():
    m = make_message("x-1", 50000)
    assert x_test_id(m) == "x-1"
    assert b"\n.\n" in m and b"\nFrom " in m and b"\n>From " in m
    assert abs(len(m) - 50000) < 5000, len(m)
    small = make_messages(3, prefix="s", small=True)
    mbox = b""
    for data in small.values():
        q = b"\n".join(b">" + ln if ln.startswith((b"From ", b">From "))
                       else ln for ln in data.split(b"\n"))
        mbox += b"From MAILER-DAEMON Thu Jan  1 00:00:00 2020\n" + q + b"\n"
    assert parse_mboxrd(mbox) == list(small.values())


def test_fake_server_scripted_steps():
    drop = fakepop3.Maildrop([(b"u1", b"Subject: a\r\n\r\n.x\r\n")])
    with fakepop3.FakePOP3(drop) as srv:
        srv.push(fakepop3.Scenario(steps=[
            (r"^UIDL$", b"+OK\r\n1 u1\r\n.\r\n"),
            (r"^RETR 1$", [b"+OK\r\nSubject: a\r\n", fakepop3.CLOSE]),
        ]))
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("alice")
        p.pass_(fakepop3.DEFAULT_PASSWORD)
        assert p.uidl()[1] == [b"1 u1"]
        with pytest.raises((poplib.error_proto, EOFError, OSError)):
            p.retr(1)
        # The next session is the good default over the same maildrop.
        p = poplib.POP3("127.0.0.1", srv.port, timeout=5)
        p.user("alice")
        p.pass_(fakepop3.DEFAULT_PASSWORD)
        assert p.retr(1)[1] == [b"Subject: a", b"", b".x"]
        p.dele(1)
        p.quit()
        assert drop.messages == []
        assert srv.unexpected == [], srv.unexpected
        assert len(srv.sessions) == 2


def test_capa_filter_proxy(popuser):
    dove = popuser.dove
    with fakepop3.CapaFilterProxy(dove.pop3_port, drop=("SASL", "STLS"),
                                  strip_apop=True) as px:
        p = poplib.POP3("127.0.0.1", px.port, timeout=10)
        assert b"<" not in p.getwelcome()
        caps = p.capa()
        assert "SASL" not in caps and "STLS" not in caps and "USER" in caps
        login(p, popuser)
        p.quit()
