"""tests/integ/test_poll_crash.py: exactly once through crashes. A real
Dovecot holds 2,000 small messages; `popbridge poll` (retention delete)
is killed with SIGKILL at random moments, at least 20 times while it
runs (connecting, logging in, listing, fetching, deleting); then one poll
runs to its end. The store must hold every message exactly once (by
X-Test-Id and content), the server none, and the store must pass SQLite's
integrity check. A killed poller's lease must not block the next poll.

Most kills come once a killed poll has stored a random number of
messages (1 to 1/15 of them; the test watches the account's fetched
total in the store), one in six within the first 50 ms (connect, TLS,
login), and once everything is stored, within 80 ms (DELE, QUIT). When
a poller is so quick that the mail runs out before 20 kills, 500 more
messages are dropped in. PB_CRASH_SEED fixes the random sequence (it is
printed either way).
"""
import os
import random
import sqlite3
import subprocess
import time

import pbharness
from pop3harness import (add_account, assert_exactly_once,  # noqa: F401
                         dovecot, known_uidls, make_messages, pb, poll_ok,
                         popuser, sql, store_db, text)

N_MESSAGES = 2000
MIN_KILLS = 20
MAX_ATTEMPTS = 120
BUSY = "another poll of this account is running; nothing done"


class Store:
    """Reads the account's fetched total (it grows in the transaction
    that stores each message) with a connection kept open."""

    def __init__(self, inst, name):
        self.con = sqlite3.connect(store_db(inst), timeout=5,
                                   isolation_level=None)
        self.name = name

    def fetched(self):
        row = self.con.execute("SELECT fetched FROM accounts WHERE name = ?",
                               (self.name,)).fetchone()
        return row[0]

    def close(self):
        self.con.close()


def settled_count(user, quiet=0.5, timeout=10):
    """Messages on the server once Dovecot has stopped changing the
    Maildir (a killed client's QUIT may still be expunging)."""
    deadline = time.monotonic() + timeout
    last, since = user.count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        n = user.count()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def test_kill9_during_polls(pb, popuser):
    seed = int(os.environ.get("PB_CRASH_SEED", str(int(time.time()))))
    print("PB_CRASH_SEED=%d" % seed)
    rng = random.Random(seed)
    msgs = make_messages(N_MESSAGES, small=True)
    popuser.deliver(msgs)
    assert popuser.count() == N_MESSAGES
    f = pbharness.unique_folder("Crash")
    add_account(pb, "crash", popuser, folder=f, retention="delete")
    argv = [pbharness.BINARY, "--config", pb.conf, "poll", "crash"]
    store = Store(pb, "crash")
    t_start = time.monotonic()
    stats = {"kills": 0, "finished": 0, "refills": 0}
    history = []

    def attempt(mode, delay, want=None):
        """Runs one poll; kills it after delay s or once the fetched
        total reaches want, if it still runs."""
        before = store.fetched()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        t0 = time.monotonic()
        killed = False
        while p.poll() is None:
            if time.monotonic() - t0 >= delay or (
                    want is not None and store.fetched() >= want):
                p.kill()
                killed = True
                break
            time.sleep(0.002)
        out, err = p.communicate()
        o, e = text(out), text(err)
        if killed and p.returncode == -9:
            stats["kills"] += 1
        else:
            killed = False
            stats["finished"] += 1
            assert BUSY not in o, (
                "attempt %d: the killed poller's lease blocks the next "
                "poll:\n%s" % (len(history), o))
            assert p.returncode == 0, (len(history), p.returncode, o, e)
        for bad in pbharness.SANITIZER_PATTERNS:
            assert bad not in e, e
        history.append((mode, killed, before, store.fetched()))

    step = max(1, N_MESSAGES // 15)
    try:
        # Kills all through the fetching, until at least 20 and every
        # message stored.
        while len(history) < MAX_ATTEMPTS:
            before = store.fetched()
            if before >= len(msgs):
                if stats["kills"] >= MIN_KILLS:
                    break
                if settled_count(popuser) == 0:
                    # The poller was quicker than the kills: more work.
                    more = make_messages(500, small=True)
                    popuser.deliver(more)
                    msgs.update(more)
                    stats["refills"] += 1
            if rng.random() < 1 / 6:
                attempt("early", rng.uniform(0, 0.05))
            else:
                attempt("fetch", 20.0, before + rng.randint(1, step))
        # Then, with everything stored, a few kills while it deletes.
        for _ in range(5):
            if settled_count(popuser) == 0:
                break
            attempt("dele", rng.uniform(0, 0.08))
    finally:
        store.close()
    kills, finished = stats["kills"], stats["finished"]
    print("attempts (mode, killed, fetched before, after):", history)
    assert kills >= MIN_KILLS, (
        "only %d polls were killed while running (of %d attempts; %d "
        "finished first): %r" % (kills, len(history), finished, history))
    # Most kills landed in the middle of fetching.
    mid = [h for h in history if h[0] == "fetch" and h[1] and h[3] > h[2]]
    assert len(mid) >= MIN_KILLS // 2, history
    assert sql(pb, "PRAGMA integrity_check;").strip() == "ok"
    left = settled_count(popuser)

    con = sqlite3.connect(store_db(pb), timeout=5)
    try:
        stored = con.execute("SELECT fetched FROM accounts WHERE name = "
                             "'crash'").fetchone()[0]
    finally:
        con.close()
    rep = poll_ok(pb, "crash", timeout=300)
    assert rep == {"fetched": len(msgs) - stored, "deleted": left,
                   "skipped": 0, "on_server": left}, (rep, stored, left)
    assert popuser.count() == 0, "%d messages left on the server" % (
        popuser.count())
    assert_exactly_once(pb, f, msgs)
    rep = poll_ok(pb, "crash")
    assert rep == {"fetched": 0, "deleted": 0, "skipped": 0,
                   "on_server": 0}, rep
    known = known_uidls(pb, "crash")
    assert known == {}, "%d UIDLs kept for an empty maildrop" % len(known)
    took = time.monotonic() - t_start
    print("crash test: %d kills, %d attempts, %d refills, %d messages, "
          "%.1f s" % (kills, len(history), stats["refills"], len(msgs),
                      took))
