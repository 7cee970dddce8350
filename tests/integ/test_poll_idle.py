"""tests/integ/test_poll_idle.py: the daemon's poller and IMAP IDLE push.

- `popbridge serve` polls each account on its own: an account added
  before the start is polled at once (next_due 0); one added while it
  runs is picked up within seconds (it re-reads the account list).
- An IMAP client in IDLE on the target folder is told of the new
  messages (* N EXISTS) within a second or so of their commit, both when
  the daemon's own poll stored them and when `popbridge poll` (another
  process) did (the daemon sees other processes' commits).

The moment of the commit is observed from the outside: a thread reads
the store (accounts.fetched, written in the same transaction as the
message) every 20 ms.
"""
import re
import sqlite3
import threading
import time

import pbharness
from pbharness import Reader
from pop3harness import (add_account, assert_exactly_once,  # noqa: F401
                         dovecot, last_error, make_messages, poll_ok,
                         popuser, store_db, x_test_id)

PUSH_SECS = 1.5


class CommitWatch(threading.Thread):
    """Records (monotonic time, count) whenever the account's fetched
    total changes (store_pop3_deliver adds to it in the transaction that
    stores the message)."""

    def __init__(self, inst, name):
        super().__init__(daemon=True)
        self.inst = inst
        self.name = name
        self.stop_flag = False
        self.seen = []
        self.error = None

    def count(self, con):
        try:
            row = con.execute(
                "SELECT fetched FROM accounts WHERE name = ?",
                (self.name,)).fetchone()
            return row[0] if row else None
        except sqlite3.OperationalError:
            return None  # busy, or the tables are not there yet

    def run(self):
        con = sqlite3.connect(store_db(self.inst), timeout=1,
                              isolation_level=None)
        try:
            last = None
            while not self.stop_flag:
                n = self.count(con)
                if n is not None and n != last:
                    self.seen.append((time.monotonic(), n))
                    last = n
                time.sleep(0.02)
        except Exception as e:
            self.error = e
        finally:
            con.close()

    def time_of(self, n):
        """When the count first reached n (None: not yet)."""
        for t, c in self.seen:
            if c >= n:
                return t
        return None

    def stop(self):
        self.stop_flag = True
        self.join(5)


def idle_on(inst, folder):
    """A logged-in RawIMAP in IDLE on folder, and its Reader."""
    c = inst.raw(login=True)
    c.ok('SELECT "%s"' % folder)
    c.send(b"i1 IDLE\r\n")
    r = c.read_response(timeout=5)
    assert r.startswith(b"+"), r
    rd = Reader(c)
    rd.start()
    return c, rd


def exists_at(reader, n):
    """Time of the first "* M EXISTS" with M >= n seen by reader."""
    def pred(r):
        m = re.match(rb"^\* (\d+) EXISTS$", r)
        return bool(m) and int(m.group(1)) >= n
    got = reader.find(pred)
    return got[0] if got else None


def end_idle(c, rd):
    rd.stop_flag = True
    rd.join(2)
    c.send(b"DONE\r\n")
    c.read_until_tagged("i1", timeout=5)


def fetch_ids(c, folder):
    c.ok('SELECT "%s"' % folder)
    untagged = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (X-TEST-ID)])")
    ids = []
    for seq, items in sorted(pbharness.fetches(untagged).items()):
        for k, v in items.items():
            if k.startswith("BODY["):
                ids.append(x_test_id(bytes(v)))
    return ids


def test_first_poll_at_start_then_cli_poll_pushes(instance_factory,
                                                  popuser):
    inst = instance_factory(start=False, name="serve-idle")
    first = make_messages(3)
    popuser.deliver(first)
    folder = pbharness.unique_folder("Idle")
    add_account(inst, "idle", popuser, folder=folder, interval=60,
                retention="delete")
    watch = CommitWatch(inst, "idle")
    watch.start()
    try:
        t0 = time.monotonic()
        inst.start()
        pbharness.wait_for(lambda: watch.time_of(3), 15,
                           what="the daemon's first poll to store 3")
        assert watch.time_of(3) - t0 < 10
        pbharness.wait_for(lambda: popuser.count() == 0, 10,
                           what="the daemon's poll to delete")
        assert last_error(inst, "idle") == "none"
        c, rd = idle_on(inst, folder)
        time.sleep(0.3)
        second = make_messages(2)
        popuser.deliver(second)
        rep = poll_ok(inst, "idle")
        t_exit = time.monotonic()
        assert rep["fetched"] == 2, rep
        pbharness.wait_for(lambda: watch.time_of(5), 2,
                           what="the watcher to see the commit")
        t_commit = watch.time_of(5)
        pbharness.wait_for(lambda: exists_at(rd, 5), PUSH_SECS + 1,
                           what="* 5 EXISTS in IDLE")
        t_push = exists_at(rd, 5)
        assert t_push - t_commit <= PUSH_SECS, (
            "IDLE told %.2f s after the commit" % (t_push - t_commit))
        assert t_push - t_exit <= PUSH_SECS
        end_idle(c, rd)
        every = dict(first)
        every.update(second)
        assert sorted(fetch_ids(c, folder)) == sorted(every)
        c.close()
        assert_exactly_once(inst, folder, every)
        inst.check_alive()
    finally:
        watch.stop()


def test_account_added_while_serving_is_polled_and_pushed(
        instance_factory, dovecot):
    inst = instance_factory(start=True, name="serve-idle2")
    u = dovecot.add_user()
    msgs = make_messages(4)
    u.deliver(msgs)
    c, rd = idle_on(inst, "INBOX")
    watch = CommitWatch(inst, "late")
    watch.start()
    try:
        t_add = time.monotonic()
        add_account(inst, "late", u, tls="starttls", interval=60)
        pbharness.wait_for(lambda: exists_at(rd, 4), 20,
                           what="* 4 EXISTS after the account was added")
        t_push = exists_at(rd, 4)
        pbharness.wait_for(lambda: watch.time_of(4), 2,
                           what="the watcher to see the commit")
        t_commit = watch.time_of(4)
        assert t_push - t_commit <= PUSH_SECS, (
            "IDLE told %.2f s after the daemon's commit"
            % (t_push - t_commit))
        print("added -> stored %.2f s, stored -> IDLE %.2f s"
              % (t_commit - t_add, t_push - t_commit))
        end_idle(c, rd)
        assert sorted(fetch_ids(c, "INBOX")) == sorted(msgs)
        c.close()
        assert_exactly_once(inst, "INBOX", msgs)
        assert u.count() == 4  # --keep
        inst.check_alive()
    finally:
        watch.stop()
