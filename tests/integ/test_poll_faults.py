"""tests/integ/test_poll_faults.py: the poller against a scripted,
misbehaving POP3 server (fakepop3.py) for what Dovecot never does:
garbage replies, a 1 MB reply line, a server that stops answering, a
message cut off mid-transfer, broken dot-stuffing, -ERR [IN-USE],
-ERR [AUTH], a server without UIDL and one without CAPA.

After each fault: `popbridge poll` ends normally (exit 1, one stderr line,
no crash, no sanitizer report), the account's last error is one sentence
saying what happened, the folder holds only whole messages (each exactly
once), nothing was deleted from the server, and a later poll against the
good server completes with every message stored exactly once.

The same faults are then met by the daemon (`popbridge serve`, polling
accounts on its own at start): it survives them all.

The poller's read timeout (POP3_READ_TIMEOUT_SECS, 120 s) is shortened
with POPBRIDGE_POP3_TIMEOUT=2 in the environment of popbridge.
"""
import re
import time

import pytest

import fakepop3
import pbharness
from fakepop3 import CLOSE, HANG, FakePOP3, Maildrop, Scenario
from pop3harness import (add_account, assert_exactly_once,  # noqa: F401
                         assert_one_sentence, export_folder, known_uidls,
                         last_error, make_message, pb, poll_error, poll_ok)

TIMEOUT_ENV = {"POPBRIDGE_POP3_TIMEOUT": "2"}
USER = "alice"


def three_messages(prefix):
    """Three messages; the second has a lone "." line in its middle (a
    server must stuff it; the bad-dot scenario does not)."""
    m1 = make_message(prefix + "-1", 1500)
    m2 = make_message(prefix + "-2", 4000)
    assert b"\n.\n" in m2
    m3 = make_message(prefix + "-3", 2500)
    return {prefix + "-1": m1, prefix + "-2": m2, prefix + "-3": m3}


def new_drop(msgs, **kw):
    return Maildrop([("UID%d-%s" % (i + 1, tid), m)
                     for i, (tid, m) in enumerate(msgs.items())], **kw)


def half(data):
    """The first half of a message as a server sends it (dot-stuffed)."""
    d = fakepop3.dot_stuff(data)
    return d[:len(d) // 2]


# name -> (scenario steps / greeting, error regex, ids stored after the
# fault (by position 1..3))
FAULTS = {
    "garbage_greeting": (
        dict(greeting=b"\x16\x03\x01 what is this \xff\xfe\r\n"),
        r"garbled", ()),
    "garbage_reply_to_uidl": (
        dict(steps=[(r"^UIDL$", b"*** \x01\x02 nonsense ***\r\n")]),
        r"garbled", ()),
    "garbled_list_line": (
        dict(steps=[(r"^LIST$",
                     b"+OK\r\n1 1500\r\n2 lots\r\n3 2500\r\n.\r\n")]),
        r"garbled", ()),
    "reply_line_of_1mb": (
        dict(steps=[(r"^USER ",
                     b"+OK " + b"x" * (1024 * 1024) + b"\r\n")]),
        r"long", ()),
    "hang_after_greeting": (
        dict(steps=[(r"^(CAPA|USER|AUTH|APOP)", HANG)]),
        r"did not answer within 2 s", ()),
    "hang_mid_message": (
        dict(steps=[(r"^RETR 2$", lambda s, m: [
            b"+OK message follows\r\n" + half(s.snapshot[1][1]), HANG])]),
        r"(did not answer|stopped sending).* 2 s|middle of message 2.*2 s",
        (1,)),
    "cut_mid_message": (
        dict(steps=[(r"^RETR 2$", lambda s, m: [
            b"+OK message follows\r\n" + half(s.snapshot[1][1]), CLOSE])]),
        r"^connection closed by the server in the middle of message 2",
        (1,)),
    "bad_dot_stuffing": (
        dict(steps=[(r"^RETR 2$", lambda s, m: fakepop3.retr_reply(
            s.snapshot[1][1], stuff=False))]),
        r"garbled", (1,)),
    "in_use": (
        dict(steps=[(r"^(PASS|AUTH|APOP) ",
                     b"-ERR [IN-USE] Mailbox is locked by another POP3 "
                     b"session\r\n")]),
        r"^mailbox in use: Mailbox is locked by another POP3 session", ()),
    "auth": (
        dict(steps=[(r"^(PASS|AUTH|APOP) ",
                     b"-ERR [AUTH] Invalid credentials\r\n")]),
        r"^login refused for %s: Invalid credentials" % USER, ()),
    "closed_at_greeting": (
        dict(greeting=CLOSE),
        r"closed", ()),
}


@pytest.fixture
def fake():
    srv = FakePOP3(hang_secs=30)
    srv.start()
    yield srv
    srv.stop()


def add_fake_account(pb, name, srv, folder, retention="delete"):
    return add_account(pb, name, USER, port=srv.port, tls="none",
                       allow_plaintext=True,
                       password=fakepop3.DEFAULT_PASSWORD, folder=folder,
                       retention=retention)


def check_only(pb, folder, msgs, positions):
    ids = list(msgs)
    want = {ids[p - 1]: msgs[ids[p - 1]] for p in positions}
    assert_exactly_once(pb, folder, want)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_then_good_poll(pb, fake, fault):
    spec, err_rx, stored = FAULTS[fault]
    msgs = three_messages("f-" + fault)
    fake.drop = new_drop(msgs)
    f = pbharness.unique_folder("Fault")
    add_fake_account(pb, "fk", fake, f)
    fake.push(Scenario(name=fault, **spec))
    t0 = time.monotonic()
    err = poll_error(pb, "fk", env_extra=TIMEOUT_ENV, timeout=60)
    took = time.monotonic() - t0
    assert took < 20, "poll took %.1f s" % took
    assert re.search(err_rx, err), "%s: error %r does not match %r" % (
        fault, err, err_rx)
    assert_one_sentence(err)
    assert last_error(pb, "fk") == err
    check_only(pb, f, msgs, stored)
    # Nothing deleted: the session never reached a QUIT +OK.
    assert len(fake.drop.messages) == 3
    assert fake.drop.deleted == []
    # The server behaves again: the rest arrives, each message once.
    rep = poll_ok(pb, "fk", env_extra=TIMEOUT_ENV, timeout=60)
    assert rep["fetched"] == 3 - len(stored), rep
    assert rep["deleted"] == 3, rep
    assert_exactly_once(pb, f, msgs)
    assert fake.drop.messages == []
    assert last_error(pb, "fk") == "none"
    # Nothing fetched twice from the server, but the message the fault
    # cut short (fetched again, whole, by the good poll).
    counts = {u: fake.drop.retrieved.count(u)
              for u in set(fake.drop.retrieved)}
    for u, n in counts.items():
        again = 1 if (u.startswith("UID2-") and fault in (
            "bad_dot_stuffing", "cut_mid_message",
            "hang_mid_message")) else 0
        assert n <= 1 + again, (u, n, fake.drop.retrieved)


def test_bad_dot_stuffing_single_message(pb, fake):
    # Only one message, and the broken one: the fence is the reply to the
    # command after the last RETR (a NOOP, or QUIT).
    m = make_message("dot-single", 3000)
    assert b"\n.\n" in m
    msgs = {"dot-single": m}
    fake.drop = new_drop(msgs)
    f = pbharness.unique_folder("Dot")
    add_fake_account(pb, "dot", fake, f)
    fake.push(Scenario(name="dot1", steps=[(r"^RETR 1$", lambda s, mm:
                       fakepop3.retr_reply(s.snapshot[0][1], stuff=False))]))
    err = poll_error(pb, "dot", env_extra=TIMEOUT_ENV, timeout=60)
    assert re.search("garbled", err), err
    assert export_folder(pb, f) == []
    assert len(fake.drop.messages) == 1
    assert poll_ok(pb, "dot", env_extra=TIMEOUT_ENV)["fetched"] == 1
    assert_exactly_once(pb, f, msgs)


def test_no_uidl_digest_exactly_once(pb, fake):
    msgs = three_messages("nouidl")
    fake.drop = new_drop(msgs, capa=("TOP", "USER", "RESP-CODES"),
                         uidl=False)
    f = pbharness.unique_folder("NoUidl")
    add_fake_account(pb, "nouidl", fake, f, retention="keep")
    rep = poll_ok(pb, "nouidl", env_extra=TIMEOUT_ENV)
    assert rep["fetched"] == 3, rep
    known = known_uidls(pb, "nouidl")
    assert len(known) == 3 and all(re.match(r"^sha256:[0-9a-f]{64}$", u)
                                   for u in known), known
    rep = poll_ok(pb, "nouidl", env_extra=TIMEOUT_ENV)
    assert rep["fetched"] == 0, rep
    assert known_uidls(pb, "nouidl").keys() == known.keys()
    # New mail: only it is fetched.
    extra = {"nouidl-4": make_message("nouidl-4", 1800)}
    fake.drop.add("x", extra["nouidl-4"])
    rep = poll_ok(pb, "nouidl", env_extra=TIMEOUT_ENV)
    assert rep["fetched"] == 1, rep
    every = dict(msgs)
    every.update(extra)
    assert_exactly_once(pb, f, every)
    assert all(fake.drop.retrieved.count(u) == 1
               for u in fake.drop.retrieved), fake.drop.retrieved


def test_no_capa(pb, fake):
    msgs = three_messages("nocapa")
    fake.drop = new_drop(msgs, capa=None)
    f = pbharness.unique_folder("NoCapa")
    add_fake_account(pb, "nocapa", fake, f, retention="keep")
    for want in (3, 0):
        rep = poll_ok(pb, "nocapa", env_extra=TIMEOUT_ENV)
        assert rep["fetched"] == want, rep
    assert_exactly_once(pb, f, msgs)
    assert sorted(fake.drop.retrieved) == sorted(fake.drop.uidls())
    assert any(c.upper().startswith("CAPA") for s in fake.sessions
               for c in s.commands)


def test_no_plaintext_login_without_tls(pb, fake):
    """An account that requires STLS: a server without it gets no
    password."""
    msgs = three_messages("nostls")
    fake.drop = new_drop(msgs)
    f = pbharness.unique_folder("NoStls")
    add_account(pb, "nostls", USER, port=fake.port, tls="starttls",
                password=fakepop3.DEFAULT_PASSWORD, folder=f)
    err = poll_error(pb, "nostls", env_extra=TIMEOUT_ENV)
    assert re.search(r"TLS", err), err
    assert_one_sentence(err)
    for s in fake.sessions:
        for c in s.commands:
            assert not re.match(r"^(USER|PASS|AUTH|APOP)\b", c, re.I), c
    assert export_folder(pb, f) == []


DAEMON_FAULTS = ("garbage_reply_to_uidl", "reply_line_of_1mb",
                 "hang_mid_message", "cut_mid_message", "bad_dot_stuffing",
                 "in_use")


def test_daemon_survives_faults(instance_factory, monkeypatch):
    """The daemon polls every account at its start (next_due 0): each
    one's server misbehaves in its own way. The daemon stays up, records
    each error, stores only whole messages, and a poll afterwards
    completes."""
    monkeypatch.setenv("POPBRIDGE_POP3_TIMEOUT", "2")
    inst = instance_factory(start=False, name="serve-faults")
    fakes = {}
    try:
        for fault in DAEMON_FAULTS:
            spec, err_rx, stored = FAULTS[fault]
            msgs = three_messages("d-" + fault)
            srv = FakePOP3(new_drop(msgs), hang_secs=30).start()
            srv.push(Scenario(name=fault, **spec))
            f = pbharness.unique_folder("D")
            name = fault.replace("_", "-")
            add_fake_account(inst, name, srv, f)
            fakes[fault] = (srv, msgs, f, name)
        inst.start()

        def all_failed():
            for fault, (srv, msgs, f, name) in fakes.items():
                if last_error(inst, name) in ("none", ""):
                    return False
            return True
        pbharness.wait_for(all_failed, 60, interval=0.5,
                           what="every account's first poll to fail")
        inst.check_alive()
        for fault, (srv, msgs, f, name) in fakes.items():
            spec, err_rx, stored = FAULTS[fault]
            err = last_error(inst, name)
            assert re.search(err_rx, err), (fault, err)
            assert_one_sentence(err)
            check_only(inst, f, msgs, stored)
            assert len(srv.drop.messages) == 3, fault
        # Good servers now; a poll from the CLI (the daemon's next one
        # is minutes away) completes for each.
        for fault, (srv, msgs, f, name) in fakes.items():
            rep = poll_ok(inst, name, timeout=60)
            assert rep["deleted"] == 3, (fault, rep)
            assert_exactly_once(inst, f, msgs)
            assert srv.drop.messages == []
        inst.check_alive()
        # The daemon still serves IMAP.
        m = inst.imap()
        typ, _ = m.select("INBOX")
        assert typ == "OK"
        m.logout()
    finally:
        for srv, _, _, _ in fakes.values():
            srv.stop()
