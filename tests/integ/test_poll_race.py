"""tests/integ/test_poll_race.py: the other ways a poll is cut off or
contested (issue 3, "exactly once"):
  - two `popbridge poll` processes racing on one account, again and again,
    while new mail keeps arriving (delete retention): the account's lease
    lets one poll at a time, the other says so and does nothing; every
    message ends up stored exactly once and the server empty;
  - the daemon polling an account while `popbridge poll` asks for the same
    account: never two polls at once, nothing lost or doubled;
  - the POP3 server restarted in the middle of a poll: the poll fails
    with a sentence, and the next one completes the work.
"""
import contextlib
import os
import signal
import subprocess
import time

import pbharness
from pop3harness import (add_account, assert_exactly_once,  # noqa: F401
                         dovecot, dovecot_factory, last_error, make_messages, pb, poll,
                         poll_ok, popuser, text)

def kill_pop3_sessions(dove):
    """SIGKILLs the instance's pop3 session processes; returns how many."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if dove.instance_name.encode() in cmd and b"/pop3" in cmd and \
                b"pop3-login" not in cmd:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
                n += 1
    return n


BUSY = "another poll of this account is running; nothing done"


def run_two(pb, name):
    argv = [pbharness.BINARY, "--config", pb.conf, "poll", name]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        outs.append((p.returncode, out.decode(), err.decode()))
    return outs


def test_two_pollers_race(pb, popuser):
    f = pbharness.unique_folder("Race")
    add_account(pb, "race", popuser, folder=f, retention="delete")
    every = {}
    busy = 0
    for round_ in range(8):
        msgs = make_messages(150, small=True)
        popuser.deliver(msgs)
        every.update(msgs)
        for rc, out, err in run_two(pb, "race"):
            assert rc == 0, (rc, out, err)
            busy += BUSY in out
    # Whatever is left (a busy poller may have run after the other had
    # listed the maildrop): one last poll.
    poll_ok(pb, "race")
    assert_exactly_once(pb, f, every)
    assert popuser.count() == 0
    print("rounds where one poller found the account busy: %d" % busy)


def test_daemon_and_cli_race(instance_factory, popuser):
    pb_ = instance_factory(start=False, name="pbd")
    f = pbharness.unique_folder("DRace")
    msgs = make_messages(600, small=True)
    popuser.deliver(msgs)
    add_account(pb_, "drace", popuser, folder=f, retention="delete")
    pb_.start()  # polls the account at once
    try:
        seen_busy = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = poll(pb_, "drace")
            assert r.returncode == 0, (text(r.stdout), text(r.stderr))
            seen_busy |= BUSY in text(r.stdout)
            if popuser.count() == 0:
                break
        assert popuser.count() == 0
    finally:
        assert pb_.stop() == 0
    assert_exactly_once(pb_, f, msgs)


def test_server_restart_mid_poll(pb, dovecot_factory):
    dove = dovecot_factory(name="restart", pool=2)
    popuser = dove.add_user()
    f = pbharness.unique_folder("Restart")
    msgs = make_messages(1500)
    popuser.deliver(msgs)
    add_account(pb, "restart", popuser, folder=f, retention="delete")
    argv = [pbharness.BINARY, "--config", pb.conf, "poll", "restart"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Restart Dovecot once the poll has stored something.
    con_deadline = time.monotonic() + 30
    import sqlite3
    from pop3harness import store_db
    con = sqlite3.connect(store_db(pb), timeout=5, isolation_level=None)
    try:
        while time.monotonic() < con_deadline:
            row = con.execute("SELECT fetched FROM accounts WHERE name = ?",
                              ("restart",)).fetchone()
            if row and row[0] >= 100:
                break
            time.sleep(0.005)
    finally:
        con.close()
    # The server goes away under the poll: its POP3 session processes
    # die (as in a crash or an OOM kill), then it is restarted.
    killed = kill_pop3_sessions(popuser.dove)
    popuser.dove.restart()
    out, err = p.communicate(timeout=120)
    print("poll during the restart (%d session processes killed): exit "
          "%d: %s%s" % (killed, p.returncode, out.decode(), err.decode()))
    assert killed >= 1
    if p.returncode != 0:
        # Cut off: one sentence, recorded on the account.
        assert p.returncode == 1, (out, err)
        assert err.decode().count("\n") == 1, err
        assert last_error(pb, "restart")
    # The next polls complete the work.
    for _ in range(3):
        poll_ok(pb, "restart")
        if popuser.count() == 0:
            break
    assert popuser.count() == 0
    assert_exactly_once(pb, f, msgs)
    # The killed session processes' errors in the log are this test's
    # doing, not Dovecot trouble.
    open(dove.log, "w").close()
