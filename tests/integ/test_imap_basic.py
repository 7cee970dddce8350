"""IMAP basics: greeting, CAPABILITY, NOOP, LOGOUT, LOGIN, AUTHENTICATE
PLAIN (SASL-IR and continuation), ID, ENABLE, NAMESPACE, state checks,
STARTTLS, IMAPS and plaintext_login = never (RFC 3501 6.1-6.2, RFC 9051,
RFC 4959, RFC 4616, RFC 2971, RFC 5161, RFC 2342, RFC 5530)."""

import base64
import imaplib
import socket
import ssl
import time

import pytest

from pbharness import (PASSWORD, USER, RawIMAP, caps_of, quote, resp_code,
                       tagged_status)

REQUIRED_CAPS = {
    "IMAP4REV1", "IMAP4REV2", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID",
    "ENABLE", "UNSELECT", "LITERAL+", "SASL-IR", "SPECIAL-USE", "CHILDREN",
    "CONDSTORE", "QRESYNC", "ESEARCH", "LIST-STATUS", "STATUS=SIZE",
}


def plain_b64(user=USER, password=PASSWORD, authz=""):
    return base64.b64encode(
        ("%s\0%s\0%s" % (authz, user, password)).encode()).decode()


def test_greeting_has_capabilities(server):
    c = server.raw()
    try:
        g = c.greeting
        assert g.startswith(b"* OK "), g
        caps = caps_of(g)
        assert REQUIRED_CAPS <= caps, REQUIRED_CAPS - caps
        # Plain port, loopback, plaintext_login = loopback.
        assert "STARTTLS" in caps
        assert "AUTH=PLAIN" in caps
        assert "LOGINDISABLED" not in caps
        assert "APPENDLIMIT=67108864" in caps
    finally:
        c.close()


def test_capability_command(server):
    c = server.raw()
    try:
        u, t = c.cmd("CAPABILITY")
        assert tagged_status(t) == "OK", t
        lines = [x for x in u if x.startswith(b"* CAPABILITY ")]
        assert len(lines) == 1, u
        caps = caps_of(lines[0])
        assert REQUIRED_CAPS <= caps, REQUIRED_CAPS - caps
        assert caps == caps_of(c.greeting)
        # RFC 9051: CAPABILITY takes no arguments.
        u, t = c.cmd("CAPABILITY IMAP4rev1")
        assert tagged_status(t) == "BAD", t
        # After login: the new capabilities, and no STARTTLS any more.
        u, t = c.cmd("LOGIN %s %s" % (USER, quote(PASSWORD)))
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("CAPABILITY")
        caps = caps_of([x for x in u if x.startswith(b"* CAPABILITY")][0])
        assert REQUIRED_CAPS <= caps
        assert "STARTTLS" not in caps
        assert "LOGINDISABLED" not in caps
    finally:
        c.close()


def test_noop_and_logout(server):
    c = server.raw()
    u, t = c.cmd("NOOP", tag="n1")
    assert t.startswith(b"n1 OK"), t
    assert u == []
    u, t = c.cmd("NOOP extra", tag="n2")
    assert t.startswith(b"n2 BAD"), t
    # LOGOUT: untagged BYE first, then the tagged OK, then the close.
    u, t = c.cmd("LOGOUT", tag="n3")
    assert t.startswith(b"n3 OK"), t
    assert len(u) == 1 and u[0].startswith(b"* BYE"), u
    assert c.wait_closed(5), "connection still open after LOGOUT"
    c.close()


def test_logout_when_authenticated_and_selected(server):
    c = server.raw(login=True)
    c.ok("SELECT INBOX")
    u, t = c.cmd("LOGOUT", tag="lo")
    assert t.startswith(b"lo OK"), t
    assert u[-1].startswith(b"* BYE"), u
    assert c.wait_closed(5)
    c.close()


def test_login_ok_with_capability_code(server):
    c = server.raw()
    try:
        u, t = c.cmd("LOGIN %s %s" % (USER, quote(PASSWORD)))
        assert tagged_status(t) == "OK", t
        # RFC 9051 6.2.3: the server should say what it can now.
        caps = caps_of(t) if b"[CAPABILITY" in t else None
        if caps is not None:
            assert "IMAP4REV1" in caps
        # Logged in: LOGIN again is a state error.
        u, t = c.cmd("LOGIN %s %s" % (USER, quote(PASSWORD)))
        assert tagged_status(t) == "BAD", t
    finally:
        c.close()


def test_login_literal_credentials(server):
    c = server.raw()
    try:
        u, t = c.cmd_literals(["LOGIN {%d}" % len(USER), USER,
                               " {%d}" % len(PASSWORD), PASSWORD])
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_login_failures_are_delayed(server):
    """A wrong password: NO [AUTHENTICATIONFAILED]; the second failure
    from the same address waits at least a second."""
    c = server.raw()
    try:
        u, t = c.cmd("LOGIN %s wrong-password-1" % USER, timeout=30)
        assert tagged_status(t) == "NO", t
        assert resp_code(t) == "AUTHENTICATIONFAILED", t
        t0 = time.monotonic()
        u, t = c.cmd("LOGIN %s wrong-password-2" % USER, timeout=30)
        elapsed = time.monotonic() - t0
        assert tagged_status(t) == "NO", t
        assert resp_code(t) == "AUTHENTICATIONFAILED", t
        assert elapsed >= 0.95, "second failure answered after %.2f s" % (
            elapsed)
        # An unknown user fails the same way.
        u, t = c.cmd("LOGIN mallory %s" % quote(PASSWORD), timeout=60)
        assert tagged_status(t) == "NO", t
        assert resp_code(t) == "AUTHENTICATIONFAILED", t
        # The session is still usable, and the right password works (and
        # resets the backoff for the address).
        u, t = c.cmd("LOGIN %s %s" % (USER, quote(PASSWORD)), timeout=60)
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_login_bad_syntax(server):
    c = server.raw()
    try:
        for cmd in ("LOGIN", "LOGIN alice", "LOGIN alice pw extra",
                    "LOGIN (alice) pw"):
            u, t = c.cmd(cmd)
            assert tagged_status(t) == "BAD", (cmd, t)
        u, t = c.cmd("NOOP")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_authenticate_plain_sasl_ir(server):
    c = server.raw()
    try:
        u, t = c.cmd("AUTHENTICATE PLAIN %s" % plain_b64())
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("SELECT INBOX")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_authenticate_plain_with_authzid_of_self(server):
    c = server.raw()
    try:
        u, t = c.cmd("AUTHENTICATE PLAIN %s" % plain_b64(authz=USER))
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_authenticate_plain_continuation(server):
    c = server.raw()
    try:
        c.send(b"au1 AUTHENTICATE PLAIN\r\n")
        r = c.read_response()
        # RFC 3501 7.5: "+" then optional base64 (empty for PLAIN).
        assert r.startswith(b"+"), r
        assert r in (b"+", b"+ "), r
        c.send(plain_b64().encode() + b"\r\n")
        u, t = c.read_until_tagged("au1")
        assert t.startswith(b"au1 OK"), t
    finally:
        c.close()


def test_authenticate_cancel_and_bad(server):
    c = server.raw()
    try:
        c.send(b"au2 AUTHENTICATE PLAIN\r\n")
        r = c.read_response()
        assert r.startswith(b"+"), r
        c.send(b"*\r\n")
        u, t = c.read_until_tagged("au2")
        # RFC 3501 6.2.2: a cancelled exchange is answered BAD.
        assert t.startswith(b"au2 BAD"), t
        u, t = c.cmd("AUTHENTICATE PLAIN %%%%notbase64")
        assert tagged_status(t) in ("BAD", "NO"), t
        u, t = c.cmd("AUTHENTICATE CRAM-MD5")
        assert tagged_status(t) == "NO", t
        u, t = c.cmd("NOOP")
        assert tagged_status(t) == "OK", t
        # Not logged in after all that.
        u, t = c.cmd("SELECT INBOX")
        assert tagged_status(t) == "BAD", t
    finally:
        c.close()


def test_id(server):
    c = server.raw()
    try:
        u, t = c.cmd('ID ("name" "pytest" "version" "1.0")')
        assert tagged_status(t) == "OK", t
        ids = [x for x in u if x.startswith(b"* ID ")]
        assert len(ids) == 1, u
        assert ids[0] == b"* ID NIL" or ids[0].startswith(b"* ID ("), ids
        u, t = c.cmd("ID NIL")
        assert tagged_status(t) == "OK", t
        assert any(x.startswith(b"* ID ") for x in u), u
        u, t = c.cmd("ID")
        assert tagged_status(t) == "BAD", t
    finally:
        c.close()


def test_enable(server):
    c = server.raw()
    try:
        # RFC 5161: ENABLE only once authenticated.
        u, t = c.cmd("ENABLE CONDSTORE")
        assert tagged_status(t) == "BAD", t
        c.login(USER, PASSWORD)
        u, t = c.cmd("ENABLE CONDSTORE")
        assert tagged_status(t) == "OK", t
        assert u == [b"* ENABLED CONDSTORE"], u
        # Already enabled, and an unknown one: neither is listed.
        u, t = c.cmd("ENABLE CONDSTORE X-UNKNOWN-EXTENSION")
        assert tagged_status(t) == "OK", t
        assert u == [b"* ENABLED"] or u == [b"* ENABLED "], u
        u, t = c.cmd("ENABLE QRESYNC")
        assert tagged_status(t) == "OK", t
        assert u == [b"* ENABLED QRESYNC"], u
        u, t = c.cmd("ENABLE")
        assert tagged_status(t) == "BAD", t
    finally:
        c.close()


def test_namespace(server):
    c = server.raw()
    try:
        u, t = c.cmd("NAMESPACE")
        assert tagged_status(t) == "BAD", t  # not yet logged in
        c.login(USER, PASSWORD)
        u, t = c.cmd("NAMESPACE")
        assert tagged_status(t) == "OK", t
        assert u == [b'* NAMESPACE (("" "/")) NIL NIL'], u
    finally:
        c.close()


@pytest.mark.parametrize("command", [
    "SELECT INBOX", "EXAMINE INBOX", "CREATE x", "DELETE x",
    "RENAME x y", "SUBSCRIBE INBOX", "UNSUBSCRIBE INBOX", 'LIST "" "*"',
    'LSUB "" "*"', "STATUS INBOX (MESSAGES)", "APPEND INBOX {1+}\r\nx",
    "IDLE", "NAMESPACE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE",
    "SEARCH ALL", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)",
    "COPY 1 INBOX", "MOVE 1 INBOX", "UID FETCH 1 FLAGS",
])
def test_commands_before_login_are_bad(server, command):
    c = server.raw()
    try:
        u, t = c.cmd(command)
        assert tagged_status(t) == "BAD", (command, t)
        u, t = c.cmd("NOOP")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


@pytest.mark.parametrize("command", [
    "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH ALL", "FETCH 1 FLAGS",
    "STORE 1 +FLAGS (\\Seen)", "COPY 1 INBOX", "MOVE 1 INBOX",
    "UID FETCH 1 FLAGS", "UID SEARCH ALL", "UID EXPUNGE 1",
    "STARTTLS", "AUTHENTICATE PLAIN",
])
def test_commands_in_authenticated_state_are_bad(server, command):
    c = server.raw(login=True)
    try:
        u, t = c.cmd(command)
        assert tagged_status(t) == "BAD", (command, t)
        u, t = c.cmd("NOOP")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


@pytest.mark.parametrize("command", [
    "FOOBAR", "XYZZY 1 2 3", "UID NOOP", "UID", "UID FOOBAR 1",
    "LOGOUTX", "FETCHX 1 FLAGS",
])
def test_unknown_commands_are_bad(server, command):
    c = server.raw(login=True)
    try:
        u, t = c.cmd(command)
        assert tagged_status(t) == "BAD", (command, t)
        u, t = c.cmd("NOOP")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_lowercase_commands(server):
    c = server.raw()
    try:
        u, t = c.cmd("login %s %s" % (USER, quote(PASSWORD)))
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("select inbox")
        assert tagged_status(t) == "OK", t
        u, t = c.cmd("uid fetch 1:* (flags)")
        assert tagged_status(t) == "OK", t
    finally:
        c.close()


def test_starttls_then_login(server):
    c = server.raw()
    try:
        u, t = c.cmd("STARTTLS", tag="s1")
        assert t.startswith(b"s1 OK"), t
        assert c.buf == b"", "data after STARTTLS OK: %r" % c.buf
        c.sock = server.ssl_context().wrap_socket(c.sock)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
        # No second greeting (RFC 3501 6.2.1); CAPABILITY shows the new
        # state: no STARTTLS, login allowed.
        u, t = c.cmd("CAPABILITY")
        assert tagged_status(t) == "OK", t
        assert not any(x.startswith(b"* OK") for x in u), u
        caps = caps_of([x for x in u if x.startswith(b"* CAPABILITY")][0])
        assert "STARTTLS" not in caps
        assert "LOGINDISABLED" not in caps
        assert "AUTH=PLAIN" in caps
        u, t = c.cmd("STARTTLS")
        assert tagged_status(t) == "BAD", t
        c.login(USER, PASSWORD)
        c.ok("SELECT INBOX")
    finally:
        c.close()


def test_starttls_with_pipelined_command_is_not_run(server):
    """A command sent in plaintext right behind STARTTLS (the STARTTLS
    injection attack) must never run."""
    c = server.raw()
    try:
        c.send(b"s1 STARTTLS\r\ns2 LOGIN %s %s\r\n"
               % (USER.encode(), quote(PASSWORD).encode()))
        r = c.read_response()
        assert r.startswith(b"s1 OK") or r.startswith(b"s1 BAD") or \
            r.startswith(b"* BYE"), r
        # Whatever follows, it must not be s2's reply in plaintext.
        rest = c.pending(wait=0.5)
        assert not any(x.startswith(b"s2 ") for x in rest), rest
    finally:
        c.close()


def test_imaps_port(server):
    ctx = server.ssl_context()
    c = RawIMAP("127.0.0.1", server.imaps_port, ssl_context=ctx)
    try:
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert c.greeting.startswith(b"* OK"), c.greeting
        caps = caps_of(c.greeting) if b"CAPABILITY" in c.greeting else None
        if caps is not None:
            assert "STARTTLS" not in caps
            assert "AUTH=PLAIN" in caps
            assert "LOGINDISABLED" not in caps
        u, t = c.cmd("STARTTLS")
        assert tagged_status(t) == "BAD", t
        c.login(USER, PASSWORD)
        c.ok("SELECT INBOX")
    finally:
        c.close()


def test_imaps_with_imaplib(server):
    m = server.imap(tls=True)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK", data
    finally:
        m.logout()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_imaps_refuses_old_tls(server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, AttributeError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1")
    s = socket.create_connection(("127.0.0.1", server.imaps_port), timeout=5)
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            t = ctx.wrap_socket(s)
            t.recv(100)
    finally:
        s.close()


def test_plain_port_speaks_no_tls_garbage(server):
    """A TLS ClientHello on the plain port is not a crash."""
    ctx = server.ssl_context()
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=5)
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            t = ctx.wrap_socket(s)
            t.recv(100)
    finally:
        s.close()
    c = server.raw()
    c.ok("NOOP")
    c.close()


def test_logindisabled_when_plaintext_login_never(instance_factory):
    inst = instance_factory(plaintext_login="never")
    c = inst.raw()
    try:
        caps = caps_of(c.greeting)
        assert "LOGINDISABLED" in caps, caps
        assert "STARTTLS" in caps, caps
        assert "AUTH=PLAIN" not in caps, caps
        u, t = c.cmd("LOGIN %s %s" % (USER, quote(PASSWORD)))
        assert tagged_status(t) == "NO", t
        u, t = c.cmd("AUTHENTICATE PLAIN %s" % plain_b64())
        assert tagged_status(t) == "NO", t
        u, t = c.cmd("SELECT INBOX")
        assert tagged_status(t) == "BAD", t  # still not logged in
        u, t = c.cmd("STARTTLS", tag="tls")
        assert t.startswith(b"tls OK"), t
        c.sock = inst.ssl_context().wrap_socket(c.sock)
        u, t = c.cmd("CAPABILITY")
        caps = caps_of([x for x in u if x.startswith(b"* CAPABILITY")][0])
        assert "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps, caps
        c.login(USER, PASSWORD)
    finally:
        c.close()
    # IMAPS is fine too.
    m = inst.imap(tls=True)
    m.logout()
    # imaplib on the plain port gets a refusal.
    m = inst.imap(login=False)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(USER, PASSWORD)
    m.shutdown()


def test_many_sessions_at_once(server):
    conns = [server.raw() for _ in range(30)]
    try:
        for i, c in enumerate(conns):
            c.login(USER, PASSWORD)
        for c in conns:
            c.ok("SELECT INBOX")
        for c in conns:
            c.ok("NOOP")
    finally:
        for c in conns:
            c.close()


def test_connection_closed_abruptly(server):
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", server.imap_port))
        s.sendall(b"a1 LOGIN alice")
        s.close()
    s = socket.create_connection(("127.0.0.1", server.imap_port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # RST
    c = server.raw(login=True)
    c.ok("NOOP")
    c.close()
