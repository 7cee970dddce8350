"""tests/integ/test_poll_schedule.py: when the next poll of an account is
due (issue 3, "Scheduling"), read from `popbridge status --json`:
  - after a good poll: one interval later, plus at most 10% jitter;
  - after failures: interval, 2x, 4x ... (exponential), capped at an hour;
    a good poll resets the count;
  - after a refused login: not before an hour (never hammer a password
    the server refuses);
  - a server's CAPA LOGIN-DELAY (RFC 2449) is a lower bound;
  - the daemon polls an account when it is due and not before.
"""
import json
import time

import fakepop3
import pbharness
from fakepop3 import FakePOP3, Maildrop, Scenario
from pop3harness import add_account, pb, poll, poll_ok  # noqa: F401

USER = "alice"
JITTER = 0.10


def status_account(inst, name):
    r = inst.cli("status", "--json", check=True)
    for a in json.loads(r.stdout)["accounts"]:
        if a["name"] == name:
            return a
    raise AssertionError("no account %s in status --json" % name)


def assert_due_in(inst, name, secs, t0, t1):
    """next_due is secs (plus jitter) after the poll that ran in [t0, t1]."""
    a = status_account(inst, name)
    lo = int(t0) + secs
    hi = int(t1) + 1 + secs + int(secs * JITTER) + 1
    assert lo <= a["next_due"] <= hi, (secs, a["next_due"] - t0, a)
    return a


def timed_poll(inst, name, expect):
    t0 = time.time()
    r = poll(inst, name, expect=expect)
    return t0, time.time(), r


def test_backoff_and_reset(pb):
    port = pbharness.free_ports(1)[0]  # nobody listens there yet
    add_account(pb, "sched", USER, port=port, tls="none",
                allow_plaintext=True, password=fakepop3.DEFAULT_PASSWORD,
                interval=300, retention="keep")
    for k, want in enumerate((300, 600, 1200, 2400, 3600, 3600), 1):
        t0, t1, _ = timed_poll(pb, "sched", 1)
        a = assert_due_in(pb, "sched", want, t0, t1)
        assert a["failures"] == k, a
        assert "connection refused" in a["last_error"], a
    # The server comes up: a good poll resets the backoff.
    srv = FakePOP3(port=port)
    srv.start()
    try:
        srv.drop = Maildrop([("U1", b"Subject: x\r\n\r\nx\r\n")])
        t0, t1, _ = timed_poll(pb, "sched", 0)
        a = assert_due_in(pb, "sched", 300, t0, t1)
        assert a["failures"] == 0 and a["last_error"] is None, a
        assert a["last_success"] >= int(t0), a
    finally:
        srv.stop()


def test_refused_login_waits_an_hour(pb):
    srv = FakePOP3()
    srv.start()
    try:
        srv.drop = Maildrop([("U1", b"Subject: x\r\n\r\nx\r\n")])
        add_account(pb, "authw", USER, port=srv.port, tls="none",
                    allow_plaintext=True, password="wrong", interval=60,
                    retention="keep")
        t0, t1, _ = timed_poll(pb, "authw", 1)
        a = assert_due_in(pb, "authw", 3600, t0, t1)
        assert a["last_error"].startswith("login refused"), a
    finally:
        srv.stop()


def test_login_delay_bounds_next_poll(pb):
    srv = FakePOP3()
    srv.start()
    try:
        srv.drop = Maildrop([("U1", b"Subject: x\r\n\r\nx\r\n")],
                            capa=("TOP", "UIDL", "USER", "RESP-CODES",
                                  "LOGIN-DELAY 900"))
        add_account(pb, "ld", USER, port=srv.port, tls="none",
                    allow_plaintext=True,
                    password=fakepop3.DEFAULT_PASSWORD, interval=60,
                    retention="keep")
        t0 = time.time()
        poll_ok(pb, "ld")
        a = status_account(pb, "ld")
        assert int(t0) + 900 <= a["next_due"] <= time.time() + 900 + 2, a
    finally:
        srv.stop()


def test_daemon_polls_when_due_not_before(instance_factory):
    srv = FakePOP3()
    srv.start()
    inst = instance_factory(start=False, name="sched")
    try:
        srv.drop = Maildrop([("U1", b"Subject: x\r\n\r\nx\r\n")])
        add_account(inst, "due", USER, port=srv.port, tls="none",
                    allow_plaintext=True,
                    password=fakepop3.DEFAULT_PASSWORD, interval=60,
                    retention="keep")
        inst.start()
        deadline = time.monotonic() + 10
        while status_account(inst, "due")["last_success"] == 0:
            assert time.monotonic() < deadline, "no poll at start"
            time.sleep(0.05)
        first = status_account(inst, "due")
        # The next poll is a minute away: none in the next 7 s (the
        # daemon re-reads the accounts every 5 s).
        sessions = len(srv.sessions)
        time.sleep(7)
        assert len(srv.sessions) == sessions
        assert status_account(inst, "due")["last_attempt"] == \
            first["last_attempt"]
        # Made due now (what the web admin's "poll now" and an edit do):
        # polled within the next rescan.
        pbharness_sql_due_now(inst, "due")
        deadline = time.monotonic() + 10
        while status_account(inst, "due")["last_attempt"] == \
                first["last_attempt"]:
            assert time.monotonic() < deadline, "not polled when due"
            time.sleep(0.1)
    finally:
        inst.stop()
        srv.stop()


def pbharness_sql_due_now(inst, name):
    from pop3harness import sql
    sql(inst, "UPDATE accounts SET next_due = 0 WHERE name = '%s';" % name)
