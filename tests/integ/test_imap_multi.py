"""Several sessions at once on one folder (RFC 3501 5.2, 7.3.1, 7.4.1):
flag changes, expunges and new messages of one session reach the other at
its next command; IDLE (RFC 2177) pushes them within a second, also when
another `popbridge` process (import) changed the store."""

import re
import subprocess
import time

from pbharness import (Reader, append, appenduid, create_folder, fetches,
                       flagset, make_message, mbox_bytes, quote,
                       status_items, tagged_status, BINARY)


def two_sessions(server, n=3, prefix="Mul"):
    a = server.raw(login=True)
    b = server.raw(login=True)
    name = create_folder(a, prefix)
    uids = []
    for i in range(n):
        u, t = append(a, name, make_message(subject="multi %d" % i))
        uids.append(appenduid(t)[1])
    a.ok("SELECT %s" % quote(name))
    b.ok("SELECT %s" % quote(name))
    return a, b, name, uids


def noop_until(conn, pred, timeout=3.0):
    """NOOPs until pred(all untagged so far) holds; returns them."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        got += conn.ok("NOOP")
        if pred(got) or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def test_store_seen_by_other_session(server):
    a, b, name, uids = two_sessions(server)
    try:
        a.ok("STORE 2 +FLAGS (\\Flagged $Important)")
        u = noop_until(b, lambda g: fetches(g))
        f = fetches(u)
        assert 2 in f, u
        assert {"\\Flagged", "$Important"} <= flagset(f[2]["FLAGS"]), u
        assert set(f) == {2}, u
        # The session that made the change is not told again.
        u = a.ok("NOOP")
        assert fetches(u) == {}, u
        # A FETCH in b shows the new flags too.
        u, t = b.cmd("FETCH 2 FLAGS")
        assert "\\Flagged" in flagset(fetches(u)[2]["FLAGS"])
        # Removing a flag is reported as well.
        a.ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
        u = noop_until(b, lambda g: fetches(g))
        assert "\\Flagged" not in flagset(fetches(u)[2]["FLAGS"]), u
    finally:
        a.close()
        b.close()


def test_expunge_seen_by_other_session(server):
    a, b, name, uids = two_sessions(server, n=4)
    try:
        a.ok("STORE 2,3 +FLAGS.SILENT (\\Deleted)")
        u = a.ok("EXPUNGE")
        assert sum(1 for x in u if x.endswith(b" EXPUNGE")) == 2, u
        u = noop_until(b, lambda g: sum(1 for x in g
                                        if x.endswith(b" EXPUNGE")) >= 2)
        seq = list(uids)
        for r in u:
            m = re.match(rb"^\* (\d+) EXPUNGE$", r)
            if m:
                del seq[int(m.group(1)) - 1]
        assert seq == [uids[0], uids[3]], u
        u, t = b.cmd("FETCH 1:* (UID)")
        f = fetches(u)
        assert [int(f[k]["UID"]) for k in sorted(f)] == [uids[0], uids[3]]
    finally:
        a.close()
        b.close()


def test_no_expunge_during_fetch_store_search(server):
    """RFC 3501 7.4.1: no EXPUNGE while FETCH, STORE or SEARCH run; the
    sequence numbers stay valid until a command that allows it."""
    a, b, name, uids = two_sessions(server, n=3)
    try:
        a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        time.sleep(0.3)
        for cmd in ("FETCH 1:* (UID)", "STORE 3 +FLAGS.SILENT (\\Seen)",
                    "SEARCH ALL"):
            u, t = b.cmd(cmd)
            assert tagged_status(t) == "OK", (cmd, t)
            assert not any(x.endswith(b" EXPUNGE") for x in u), (cmd, u)
        # b still sees 3 messages: message 1 is gone but not yet reported.
        u, t = b.cmd("FETCH 3 (UID)")
        assert tagged_status(t) == "OK", t
        u = b.ok("NOOP")
        assert b"* 1 EXPUNGE" in u, u
    finally:
        a.close()
        b.close()


def test_append_seen_as_exists(server):
    a, b, name, uids = two_sessions(server, n=2)
    c = server.raw(login=True)
    try:
        u, t = append(c, name, make_message(subject="new one"))
        new_uid = appenduid(t)[1]
        for conn in (a, b):
            u = noop_until(conn, lambda g: b"* 3 EXISTS" in g)
            assert b"* 3 EXISTS" in u, u
            u, t = conn.cmd("FETCH 3 (UID)")
            assert int(fetches(u)[3]["UID"]) == new_uid
    finally:
        a.close()
        b.close()
        c.close()


def idle_start(conn):
    conn.send(b"idle1 IDLE\r\n")
    r = conn.read_response()
    assert r.startswith(b"+"), r
    rd = Reader(conn)
    rd.start()
    return rd


def idle_done(conn, rd):
    rd.stop_flag = True
    rd.join(2)
    conn.send(b"DONE\r\n")
    u, t = conn.read_until_tagged("idle1")
    assert t.startswith(b"idle1 OK"), t
    return u


def wait_response(rd, pattern, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hit = rd.find(lambda r: re.search(pattern, r))
        if hit:
            return hit
        time.sleep(0.01)
    return None


def test_idle_gets_exists_after_append(server):
    a, b, name, uids = two_sessions(server, n=2)
    try:
        rd = idle_start(a)
        time.sleep(0.1)
        t0 = time.monotonic()
        u, t = append(b, name, make_message(subject="pushed"))
        assert tagged_status(t) == "OK", t
        hit = wait_response(rd, rb"^\* 3 EXISTS$", 2.0)
        assert hit, "no EXISTS in IDLE: %r" % rd.responses()
        assert hit[0] - t0 <= 1.0, "EXISTS after %.2f s" % (hit[0] - t0)
        # Flag changes and expunges are pushed too.
        t0 = time.monotonic()
        b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
        hit = wait_response(rd, rb"^\* 1 FETCH \(.*\\Flagged", 2.0)
        assert hit, rd.responses()
        assert hit[0] - t0 <= 1.0
        t0 = time.monotonic()
        b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        hit = wait_response(rd, rb"^\* 2 EXPUNGE$", 2.0)
        assert hit, rd.responses()
        assert hit[0] - t0 <= 1.0
        idle_done(a, rd)
        u, t = a.cmd("FETCH 1:* (UID)")
        assert len(fetches(u)) == 2, u
    finally:
        a.close()
        b.close()


def test_idle_gets_exists_after_import_process(server):
    a = server.raw(login=True)
    try:
        name = create_folder(a, "IdleImp")
        a.ok("SELECT %s" % quote(name))
        rd = idle_start(a)
        mbox = server.dir + "/idle-import.mbox"
        with open(mbox, "wb") as f:
            f.write(mbox_bytes([make_message(subject="imported %d" % i)
                                for i in range(3)]))
        time.sleep(0.1)
        r = server.import_path(name, mbox)
        t_done = time.monotonic()
        assert r.returncode == 0, r
        hit = wait_response(rd, rb"^\* 3 EXISTS$", 3.0)
        assert hit, "no EXISTS after import: %r" % rd.responses()
        assert hit[0] - t_done <= 1.5, "EXISTS %.2f s after import ended" % (
            hit[0] - t_done)
        u = idle_done(a, rd)
        u, t = a.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)])")
        subjects = sorted(v["BODY[HEADER.FIELDS (SUBJECT)]"]
                          for v in fetches(u).values())
        assert subjects == [b"Subject: imported %d\r\n\r\n" % i
                            for i in range(3)], u
    finally:
        a.close()


def test_idle_done_and_keeps_working(server):
    a = server.raw(login=True)
    try:
        # IDLE in the authenticated state is allowed too.
        a.send(b"i0 IDLE\r\n")
        assert a.read_response().startswith(b"+")
        a.send(b"DONE\r\n")
        u, t = a.read_until_tagged("i0")
        assert t.startswith(b"i0 OK"), t
        a.ok("SELECT INBOX")
        a.send(b"i1 IDLE\r\n")
        assert a.read_response().startswith(b"+")
        a.send(b"done\r\n")  # case-insensitive
        u, t = a.read_until_tagged("i1")
        assert t.startswith(b"i1 OK"), t
        # Anything but DONE ends IDLE with BAD.
        a.send(b"i2 IDLE\r\n")
        assert a.read_response().startswith(b"+")
        a.send(b"i3 NOOP\r\n")
        u, t = a.read_until_tagged("i2")
        assert t.startswith(b"i2 BAD"), t
        a.ok("NOOP")
    finally:
        a.close()


def test_idle_disconnect(server):
    a = server.raw(login=True)
    a.ok("SELECT INBOX")
    a.send(b"i1 IDLE\r\n")
    assert a.read_response().startswith(b"+")
    a.close()
    b = server.raw(login=True)
    u, t = append(b, "INBOX", make_message(subject="after idle close"))
    assert tagged_status(t) == "OK", t
    b.close()


def test_two_processes_import_while_sessions_read(server):
    """An import in another process while two sessions fetch: both end
    with the same view."""
    a, b, name, uids = two_sessions(server, n=1, prefix="Par")
    try:
        mbox = server.dir + "/par.mbox"
        with open(mbox, "wb") as f:
            f.write(mbox_bytes([make_message(subject="p%d" % i)
                                for i in range(50)]))
        p = subprocess.Popen([BINARY, "--config", server.conf, "import",
                              "--folder", name, mbox],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while p.poll() is None and time.monotonic() < deadline:
            a.cmd("FETCH 1:* (FLAGS)")
            b.ok("NOOP")
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        for conn in (a, b):
            deadline = time.monotonic() + 3
            while True:
                conn.ok("NOOP")
                u, t = conn.cmd("FETCH 1:* (UID)")
                n = len(fetches(u))
                if n == 51 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert n == 51, u
        u, t = a.cmd("STATUS %s (MESSAGES)" % quote(name))
        assert status_items(u)["MESSAGES"] == 51
    finally:
        a.close()
        b.close()


def test_new_keyword_announced_in_flags(server):
    """A keyword new to the folder set by one session: the other gets a
    FLAGS response naming it before (or with) the FETCH that uses it."""
    a, b, name, uids = two_sessions(server, n=2, prefix="Kw")
    try:
        a.ok("STORE 1 +FLAGS (BrandNewKeyword)")
        u = noop_until(b, lambda g: fetches(g))
        fl = [i for i, x in enumerate(u) if x.startswith(b"* FLAGS ")]
        fe = [i for i, x in enumerate(u) if b" FETCH " in x]
        assert fl and b"BrandNewKeyword" in u[fl[0]], u
        assert fe and fl[0] < fe[0], u
        assert "BrandNewKeyword" in flagset(fetches(u)[1]["FLAGS"]), u
    finally:
        a.close()
        b.close()
