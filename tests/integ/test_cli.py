"""tests/integ/test_cli.py: the command-line side of popbridge, run as the
real binary ($POPBRIDGE) in temporary data directories: init, passwd,
device, retention, import, export, backup, status, the config file and the
dispatcher's errors. Checks exit statuses, outputs, idempotence, that an
import re-run adds nothing, that export -> import -> export is byte-exact,
and that no password is ever printed (but device add's new one).
"""
import json
import sqlite3
import os
import re
import signal
import stat
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("POPBRIDGE") or os.path.join(HERE, "..", "..", "build",
                                                  "popbridge")
MAIN_PW = "S3cret-main-password"


def run(*args, stdin=None, check=None, cwd=None, timeout=300):
    """Runs popbridge; returns CompletedProcess with bytes stdout/stderr."""
    p = subprocess.run([BIN] + [str(a) for a in args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=cwd, timeout=timeout)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout,
                                       p.stderr)
    assert MAIN_PW.encode() not in p.stdout + p.stderr
    for bad in (b"runtime error", b"AddressSanitizer", b"LeakSanitizer"):
        assert bad not in p.stderr, p.stderr
    return p


def out(p):
    return p.stdout.decode("utf-8", "replace")


def err(p):
    return p.stderr.decode("utf-8", "replace")


def one_line_error(p, cmd=None):
    """The first stderr line is 'popbridge: [cmd: ]what'."""
    first = err(p).splitlines()[0]
    assert first.startswith("popbridge: "), err(p)
    if cmd:
        assert first.startswith("popbridge: %s: " % cmd), err(p)
    return first


@pytest.fixture
def pwfile(tmp_path):
    f = tmp_path / "pw"
    f.write_text(MAIN_PW + "\n")
    return f


@pytest.fixture
def data(tmp_path, pwfile):
    """An initialized data directory with a password."""
    d = tmp_path / "data"
    run("init", "--data", d, "--user", "bob", "--password-file", pwfile,
        check=0)
    return d


def status_json(d):
    p = run("status", "--json", "--data", d, check=0)
    return json.loads(out(p))


def folder(d, name):
    for f in status_json(d)["folders"]:
        if f["name"] == name:
            return f
    return None


def stored_count(d, name):
    """Messages committed in folder name, read straight from the store
    (no popbridge process; safe beside a running writer in WAL mode)."""
    path = d / "popbridge.db"
    if not path.exists():
        return 0
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        r = db.execute("SELECT count(*) FROM messages m JOIN folders f"
                       " ON m.folder_id = f.id WHERE f.name = ?",
                       (name,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return r[0]


# ---- mbox helpers (mboxrd, as popbridge writes) ----

def mboxrd(msgs, dates=None):
    parts = []
    for i, m in enumerate(msgs):
        date = dates[i] if dates else "Thu Jan  1 00:00:%02d 2015" % (i % 60)
        parts.append(("From sender@example.org %s\n" % date).encode())
        lines = m.split(b"\n")
        q = [b">" + l if l.lstrip(b">").startswith(b"From ") else l
             for l in lines]
        body = b"\n".join(q)
        parts.append(body)
        if not body.endswith(b"\n"):
            parts.append(b"\n")
        parts.append(b"\r\n" if body.endswith(b"\r\n") else b"\n")
    return b"".join(parts)


def parse_mboxrd(data):
    """Splits popbridge's export: From_ lines, blank line, unquoting."""
    msgs = []
    pos = 0
    assert data.startswith(b"From ") or data == b""
    starts = [m.start() for m in re.finditer(
        rb"^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", data,
        re.M)]
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(data)
        body = data[data.index(b"\n", s) + 1:e]
        if body.endswith(b"\r\n\r\n") or body == b"\r\n":
            body = body[:-2]
        elif body.endswith(b"\n"):
            body = body[:-1]
        body = re.sub(rb"(?m)^>(>*From )", rb"\1", body)
        msgs.append(body)
        pos = e
    return msgs


SAMPLE = [
    b"From: a@example.org\r\nSubject: crlf\r\nStatus: RO\r\n\r\n"
    b"From the start of a line\r\n>From quoted\r\nbye\r\n",
    b"From: b@example.org\nSubject: lf\n\nbody\n\n",
    b"From: c@example.org\nSubject: three\nX-Status: F\n\nthird\n",
    b"From: d@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\n\n"
    b"\xc3\xa9t\xc3\xa9\n",
]


def lf(m):
    """What export writes for a stored message: LF line ends."""
    return m.replace(b"\r\n", b"\n")


def crlf(m):
    """What import stores: every line end as CRLF (IMAP's form)."""
    return lf(m).replace(b"\n", b"\r\n")


# ---- dispatcher ----

def test_version_and_help():
    p = run("--version", check=0)
    assert out(p).strip() == "popbridge 0.1.0"
    p = run("--help", check=0)
    for cmd in ("init", "serve", "device", "passwd", "retention", "import",
                "export", "backup", "status", "account", "poll"):
        assert re.search(r"(?m)^\s+%s\b" % cmd, out(p)) or cmd in out(p)


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["--bogus", "status"],
                                  ["status", "--bogus"], ["--data"],
                                  ["status", "--json=yes"],
                                  ["status", "extra"],
                                  ["device"], ["device", "eat", "x"],
                                  ["retention"], ["retention", "nap"],
                                  ["import", "--folder", "X"],
                                  ["export"], ["backup"]])
def test_usage_errors(tmp_path, args):
    p = run(*args, "--data", tmp_path / "d", check=2) if args and \
        args != ["--data"] else run(*args, check=2)
    one_line_error(p)
    assert "usage" in err(p) or "--help" in err(p)
    assert not (tmp_path / "d").exists()


def test_commands_need_a_store(tmp_path):
    for args in (["status"], ["device", "list"], ["passwd",
                 "--password-file", "-"], ["export", "--folder", "INBOX"],
                 ["retention", "show"], ["backup", tmp_path / "b"],
                 ["account", "list"], ["poll"]):
        p = run(*args, "--data", tmp_path / "none", stdin=b"pw\n", check=1)
        assert "popbridge init" in one_line_error(p, args[0])
    assert not (tmp_path / "none").exists()


# ---- init ----

def test_init_creates_everything(tmp_path, pwfile):
    d = tmp_path / "data"
    p = run("init", "--data", d, "--user", "bob", "--password-file", pwfile,
            check=0)
    assert "created" in out(p)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in ("popbridge.db", "popbridge.conf", "secret.key",
              "tls/cert.pem", "tls/key.pem"):
        assert (d / f).exists(), f
    assert stat.S_IMODE(os.stat(d / "secret.key").st_mode) == 0o600
    assert os.path.getsize(d / "secret.key") == 32
    assert stat.S_IMODE(os.stat(d / "tls/key.pem").st_mode) & 0o077 == 0
    assert b"BEGIN CERTIFICATE" in (d / "tls/cert.pem").read_bytes()
    s = status_json(d)
    assert s["user"] == "bob" and s["password_set"] is True
    names = {f["name"]: f for f in s["folders"]}
    want = {"INBOX": None, "Sent": "\\Sent", "Drafts": "\\Drafts",
            "Trash": "\\Trash", "Junk": "\\Junk", "Archive": "\\Archive"}
    for n, sp in want.items():
        assert names[n]["special"] == sp
        assert names[n]["subscribed"] is True
        assert names[n]["messages"] == 0
    # The written config is valid and changes nothing.
    run("status", "--data", d, check=0)
    run("status", "--config", d / "popbridge.conf", "--data", d, check=0)


def test_init_is_idempotent(tmp_path, pwfile):
    d = tmp_path / "data"
    run("init", "--data", d, "--user", "bob", "--password-file", pwfile,
        check=0)
    snap = {f: (d / f).read_bytes() for f in
            ("secret.key", "tls/cert.pem", "tls/key.pem", "popbridge.conf")}
    run("device", "add", "phone", "--data", d, check=0)
    p = run("init", "--data", d, "--user", "bob", "--password-file", pwfile,
            check=0)
    assert "created" not in out(p)
    # Global options before the command work as well.
    run("--data", d, "init", check=0)
    for f, b in snap.items():
        assert (d / f).read_bytes() == b, f
    s = status_json(d)
    assert s["devices"] == 1 and len(s["folders"]) == 6


def test_init_refuses_other_user_and_password(tmp_path, data):
    p = run("init", "--data", data, "--user", "alice", check=1)
    assert "bob" in one_line_error(p, "init")
    other = tmp_path / "other"
    other.write_text("another password\n")
    p = run("init", "--data", data, "--password-file", other, check=1)
    assert "passwd" in one_line_error(p, "init")
    # Same password, with CRLF this time: fine.
    crlf = tmp_path / "crlf"
    crlf.write_bytes(MAIN_PW.encode() + b"\r\nsecond line ignored\n")
    run("init", "--data", data, "--password-file", crlf, check=0)
    # From standard input.
    run("init", "--data", data, "--password-file", "-",
        stdin=MAIN_PW.encode() + b"\n", check=0)


def test_init_needs_user_and_good_names(tmp_path):
    p = run("init", "--data", tmp_path / "d", check=2)
    assert "--user" in one_line_error(p, "init")
    assert not (tmp_path / "d").exists()
    p = run("init", "--data", tmp_path / "d", "--user", "bad name", check=2)
    one_line_error(p, "init")
    p = run("init", "--data", tmp_path / "d", "--user", "x" * 65, check=2)
    one_line_error(p, "init")


def test_init_password_file_errors(tmp_path):
    d = tmp_path / "d"
    for content in (b"", b"\n", b"\r\n", b"a\0b\n",
                    b"x" * 1025 + b"\n"):
        f = tmp_path / "pwbad"
        f.write_bytes(content)
        p = run("init", "--data", d, "--user", "bob", "--password-file", f,
                check=1)
        one_line_error(p, "init")
        assert not d.exists()
    f.write_bytes(b"x" * 1024)
    run("init", "--data", d, "--user", "bob", "--password-file", f, check=0)
    p = run("init", "--data", tmp_path / "e", "--user", "bob",
            "--password-file", tmp_path / "missing", check=1)
    one_line_error(p, "init")


def test_init_without_password_then_passwd(tmp_path):
    d = tmp_path / "d"
    p = run("init", "--data", d, "--user", "bob", check=0)
    assert "popbridge passwd" in out(p)
    assert status_json(d)["password_set"] is False
    # No terminal and no --password-file: refused.
    p = run("passwd", "--data", d, stdin=b"", check=2)
    one_line_error(p, "passwd")
    p = run("passwd", "--data", d, "--password-file", "-", stdin=b"\n",
            check=1)
    assert "empty" in one_line_error(p, "passwd")
    p = run("passwd", "--data", d, "--password-file", "-",
            stdin=MAIN_PW.encode() + b"\n", check=0)
    assert "bob" in out(p)
    assert status_json(d)["password_set"] is True
    run("init", "--data", d, "--password-file", "-",
        stdin=MAIN_PW.encode() + b"\n", check=0)


def test_init_with_config_file(tmp_path, pwfile):
    conf = tmp_path / "etc" / "pb.conf"
    conf.parent.mkdir()
    conf.write_text("[store]\ndata_dir = ../var/pb   # relative to me\n"
                    "[tls]\ncert = certs/c.pem\nkey = certs/k.pem\n")
    run("init", "--config", conf, "--user", "bob", "--password-file",
        pwfile, check=0)
    d = tmp_path / "var" / "pb"
    assert (d / "popbridge.db").exists()
    assert (d / "certs" / "c.pem").exists()
    # --config given: no popbridge.conf written into the data directory.
    assert not (d / "popbridge.conf").exists()
    assert status_json_cfg(conf)["user"] == "bob"


def status_json_cfg(conf):
    return json.loads(out(run("status", "--json", "--config", conf,
                              check=0)))


# ---- config errors ----

@pytest.mark.parametrize("text,line,word", [
    ("[imap]\nlisten = 127.0.0.1\n", 2, "listen"),
    ("# c\n[imap]\nbogus = 1\n", 3, "bogus"),
    ("[nope]\n", 1, "nope"),
    ("[log]\nlevel = loud\n", 2, "loud"),
    ("[poller]\nmax_message_size = 2G\n", 2, "max_message_size"),
    ("[web]\ntls = perhaps\n", 2, "tls"),
    ("[imap]\nlisten = 1.2.3.4:99999\n", 2, "listen"),
])
def test_bad_config(tmp_path, data, text, line, word):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    p = run("status", "--config", conf, "--data", data, check=1)
    first = one_line_error(p, "status")
    assert "%s:%d:" % (conf, line) in first and word in first
    # The same in the data directory's own popbridge.conf.
    (data / "popbridge.conf").write_text(text)
    p = run("status", "--data", data, check=1)
    assert "popbridge.conf:%d:" % line in one_line_error(p, "status")


def test_missing_config(tmp_path):
    p = run("status", "--config", tmp_path / "nope.conf", check=1)
    assert "nope.conf" in one_line_error(p, "status")


# ---- devices ----

def test_devices(data):
    p = run("device", "add", "phone", "--data", data, check=0)
    m = re.search(r"(?m)^    (\S+)$", out(p))
    assert m and len(m.group(1)) >= 12
    devpw = m.group(1)
    assert "bob" in out(p)
    p = run("device", "add", "phone", "--data", data, check=1)
    assert "exists" in one_line_error(p, "device")
    run("device", "add", "laptop.home", "--data", data, check=0)
    p = run("device", "list", "--data", data, check=0)
    lines = out(p).splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "LAST", "USED"]
    assert [l.split()[0] for l in lines[1:]] == ["laptop.home", "phone"]
    assert all(l.rstrip().endswith("never") for l in lines[1:])
    # Columns are aligned.
    assert len({l.index("never") for l in lines[1:]}) == 1
    assert devpw not in out(p)
    run("device", "remove", "phone", "--data", data, check=0)
    p = run("device", "remove", "phone", "--data", data, check=1)
    assert "phone" in one_line_error(p, "device")
    assert status_json(data)["devices"] == 1
    for bad in ("", "a b", "x" * 65, "é"):
        run("device", "add", bad, "--data", data, check=2)


# ---- retention ----

def test_retention_settings(data):
    p = run("retention", "show", "--data", data, check=0)
    assert re.search(r"trash-days\s+30", out(p))
    run("retention", "set", "--trash-days", "7", "--data", data, check=0)
    run("retention", "set", "--junk-days=0", "--data", data, check=0)
    s = status_json(data)["retention"]
    assert s == {"trash_days": 7, "junk_days": 0}
    for bad in ("-1", "36501", "abc", "", "99999999999999999999999"):
        p = run("retention", "set", "--trash-days", bad, "--data", data,
                check=2)
        one_line_error(p, "retention")
    run("retention", "set", "--trash-days", "36500", "--data", data,
        check=0)
    run("retention", "set", "--data", data, check=2)
    assert status_json(data)["retention"]["trash_days"] == 36500


def test_retention_run_expunges_old_trash(tmp_path, data):
    old = mboxrd([b"Subject: old %d\n\nx\n" % i for i in range(5)])
    f = tmp_path / "old.mbox"
    f.write_bytes(old)
    run("import", "--folder", "Trash", f, "--data", data, check=0)
    run("import", "--folder", "Junk", f, "--data", data, check=0)
    run("import", "--folder", "INBOX", f, "--data", data, check=0)
    run("retention", "set", "--junk-days", "0", "--data", data, check=0)
    # Just stored: nothing is due yet.
    p = run("retention", "run", "--data", data, check=0)
    assert "expunged 0 " in out(p)
    # 31 days later (retention counts from when a message came into the
    # folder): move every arrival time back.
    db = sqlite3.connect(str(data / "popbridge.db"))
    db.execute("UPDATE messages SET saved_at = saved_at - 31 * 86400")
    db.commit()
    db.close()
    p = run("retention", "run", "--data", data, check=0)
    assert "expunged 5 " in out(p)
    assert folder(data, "Trash")["messages"] == 0
    assert folder(data, "Junk")["messages"] == 5
    assert folder(data, "INBOX")["messages"] == 5
    p = run("retention", "run", "--data", data, check=0)
    assert "expunged 0 " in out(p)


# ---- import / export ----

def test_import_mbox_rerun_and_round_trip(tmp_path, data):
    src = tmp_path / "in.mbox"
    src.write_bytes(mboxrd(SAMPLE))
    p = run("import", "--folder", "Old", src, "--data", data, check=0)
    assert "created folder Old" in out(p)
    assert re.search(r"imported 4 new, 0 already present, 0 skipped "
                     r"\(too large/empty\) into Old in [\d.]+ s", out(p))
    assert "\r" not in err(p)  # no progress line without a terminal
    p = run("import", "--folder", "Old", src, "--data", data, check=0)
    assert "imported 0 new, 4 already present" in out(p)
    f = folder(data, "Old")
    assert f["messages"] == 4
    # Status: RO -> \Seen on the first one only.
    assert f["unseen"] == 3

    p = run("export", "--folder", "Old", "--data", data, check=0)
    exp1 = p.stdout
    assert "exported 4 messages" in err(p)
    # The store keeps CRLF lines (IMAP's form); mbox export writes LF.
    assert parse_mboxrd(exp1) == [lf(m) for m in SAMPLE]
    again = tmp_path / "again.mbox"
    again.write_bytes(exp1)
    run("import", "--folder", "Copy/Sub", again, "--data", data, check=0)
    exp2 = run("export", "--folder", "Copy/Sub", "--data", data,
               check=0).stdout
    assert exp1 == exp2
    # Importing the export into the same folder adds nothing.
    p = run("import", "--folder", "Old", again, "--data", data, check=0)
    assert "imported 0 new, 4 already present" in out(p)


def test_import_crlf_mbox_and_dates(tmp_path, data):
    msgs = [b"Subject: a\r\n\r\none\r\n", b"Subject: b\r\n\r\ntwo\r\n"]
    raw = (b"From x Wed Jan  3 01:05:34 1996\r\n" + msgs[0] + b"\r\n" +
           b"From y Wed Nov 13 12:00:00 +0000 2019\r\n" + msgs[1] + b"\r\n")
    src = tmp_path / "crlf.mbox"
    src.write_bytes(raw)
    run("import", "--folder", "C", src, "--data", data, check=0)
    exp = run("export", "--folder", "C", "--data", data, check=0).stdout
    assert parse_mboxrd(exp) == [lf(m) for m in msgs]
    assert b"From MAILER-DAEMON Wed Jan  3 01:05:34 1996\n" in exp
    assert b"From MAILER-DAEMON Wed Nov 13 12:00:00 2019\n" in exp


def test_import_skips_empty_and_large(tmp_path, data):
    conf = tmp_path / "small.conf"
    conf.write_text("[poller]\nmax_message_size = 1K\n")
    msgs = [b"Subject: small\n\nx\n", b"Subject: big\n\n" + b"y" * 2000 +
            b"\n", b"\n\n", b"Subject: ok\n\nz\n"]
    src = tmp_path / "m.mbox"
    src.write_bytes(mboxrd(msgs))
    p = run("import", "--folder", "S", src, "--config", conf, "--data",
            data, check=0)
    assert "imported 2 new, 0 already present, 2 skipped" in out(p)


def test_import_maildir(tmp_path, data):
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    files = {
        "cur/1000.a.host:2,S": b"Subject: seen\n\na\n",
        "cur/1001.b.host:2,FR": b"Subject: flagged\n\nb\n",
        "new/1002.c.host": b"Subject: new\n\nc\n",
        "tmp/1003.d.host": b"Subject: partial\n\nd\n",
    }
    for name, b in files.items():
        (md / name).write_bytes(b)
    os.utime(md / "cur/1000.a.host:2,S", (1262304000, 1262304000))
    p = run("import", "--folder", "INBOX", md, "--data", data, check=0)
    assert "imported 3 new" in out(p)
    f = folder(data, "INBOX")
    assert f["messages"] == 3 and f["unseen"] == 2
    exp = run("export", "--folder", "INBOX", "--data", data, check=0).stdout
    assert parse_mboxrd(exp) == [files["cur/1000.a.host:2,S"],
                                 files["cur/1001.b.host:2,FR"],
                                 files["new/1002.c.host"]]
    assert b"From MAILER-DAEMON Fri Jan  1 00:00:00 2010\n" in exp
    p = run("import", "--folder", "INBOX", md, "--data", data, check=0)
    assert "imported 0 new, 3 already present" in out(p)


def test_import_errors(tmp_path, data):
    p = run("import", "--folder", "X", tmp_path / "missing", "--data", data,
            check=1)
    one_line_error(p, "import")
    notmbox = tmp_path / "notmbox"
    notmbox.write_text("Subject: hello\n\nhi\n")
    p = run("import", "--folder", "X", notmbox, "--data", data, check=1)
    assert "not an mbox" in one_line_error(p, "import")
    (tmp_path / "plain").mkdir()
    p = run("import", "--folder", "X", tmp_path / "plain", "--data", data,
            check=1)
    assert "Maildir" in one_line_error(p, "import")
    assert folder(data, "X") is None
    p = run("import", "--folder", "a//b", tmp_path / "in", "--data", data,
            check=1)
    one_line_error(p, "import")
    p = run("export", "--folder", "Nope", "--data", data, check=1)
    assert "Nope" in one_line_error(p, "export")


def test_import_interrupted_then_resumed(tmp_path, data):
    n = 30000
    msgs = [b"Subject: bulk %d\nMessage-ID: <%d@x>\n\nline %d\n" % (i, i, i)
            for i in range(n)]
    src = tmp_path / "bulk.mbox"
    src.write_bytes(mboxrd(msgs))
    proc = subprocess.Popen([BIN, "import", "--folder", "Bulk", str(src),
                             "--data", str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Signal only once the import is under way: a first batch is committed
    # (so the SIGINT handler is installed). A fixed sleep raced both ends:
    # too early (slow start, sanitizers, a busy machine) the default action
    # killed it before the handler was set; too late (a fast machine
    # imports 30,000 in about as long) it came after the handlers were
    # restored at the end.
    deadline = time.monotonic() + 120
    while proc.poll() is None and stored_count(data, "Bulk") == 0:
        assert time.monotonic() < deadline, "import made no progress"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    so, se = proc.communicate(timeout=120)
    done = b"imported %d new" % n in so
    if proc.returncode == 0 or (proc.returncode == -signal.SIGINT and done):
        pytest.skip("the import finished before the signal")
    assert proc.returncode == 130, (so, se)
    m = re.search(rb"imported (\d+) new, 0 already present", so)
    assert m, so
    first = int(m.group(1))
    assert b"interrupted" in se
    assert folder(data, "Bulk")["messages"] == first
    p = run("import", "--folder", "Bulk", src, "--data", data, check=0)
    m = re.search(r"imported (\d+) new, (\d+) already present", out(p))
    assert int(m.group(1)) + int(m.group(2)) == n
    assert int(m.group(2)) == first
    assert folder(data, "Bulk")["messages"] == n


def test_import_speed(tmp_path, data):
    """20,000 small messages: report the rate (not a hard limit)."""
    n = 20000
    msgs = [b"From: x%d@example.org\nSubject: speed %d\n\n%s\n" %
            (i, i, b"body text " * 20) for i in range(n)]
    src = tmp_path / "speed.mbox"
    src.write_bytes(mboxrd(msgs))
    t = time.monotonic()
    p = run("import", "--folder", "Speed", src, "--data", data, check=0)
    dt = time.monotonic() - t
    assert "imported %d new" % n in out(p)
    print("import: %d messages in %.1f s (%.0f msg/s)" % (n, dt, n / dt))
    t = time.monotonic()
    p = run("export", "--folder", "Speed", "--data", data, check=0)
    print("export: %.1f s" % (time.monotonic() - t))
    assert parse_mboxrd(p.stdout) == msgs


# ---- backup ----

def test_backup(tmp_path, data):
    src = tmp_path / "in.mbox"
    src.write_bytes(mboxrd(SAMPLE))
    run("import", "--folder", "INBOX", src, "--data", data, check=0)
    b = tmp_path / "copy.db"
    p = run("backup", b, "--data", data, check=0)
    assert str(b) in out(p)
    assert b.exists() and stat.S_IMODE(os.stat(b).st_mode) & 0o077 == 0
    p = run("backup", b, "--data", data, check=1)
    assert "exists" in one_line_error(p, "backup")
    # The copy is a working store.
    restored = tmp_path / "restored"
    restored.mkdir()
    os.rename(b, restored / "popbridge.db")
    s = status_json(restored)
    assert s["user"] == "bob"
    inbox = [f for f in s["folders"] if f["name"] == "INBOX"][0]
    assert inbox["messages"] == 4


# ---- status ----

def test_status_text_and_json(tmp_path, data):
    src = tmp_path / "in.mbox"
    src.write_bytes(mboxrd(SAMPLE))
    run("import", "--folder", "Ünïcode \"q\"", src, "--data", data, check=0)
    p = run("status", "--data", data, check=0)
    t = out(p)
    assert re.search(r"(?m)^user\s+bob$", t)
    assert re.search(r"(?m)^password\s+set$", t)
    assert re.search(r"(?m)^accounts\s+none", t)
    assert re.search(r"(?m)^INBOX\s+0\s+0\s+0 B$", t)
    s = status_json(data)
    assert list(s.keys()) == ["data_dir", "user", "password_set", "devices",
                              "accounts", "retention", "store", "folders"]
    assert s["accounts"] == []
    assert s["store"]["size"] > 0
    assert s["data_dir"] == str(data)
    u = [f for f in s["folders"] if f["name"] == "Ünïcode \"q\""][0]
    assert u["messages"] == 4 and u["size"] == sum(len(crlf(m)) for m in SAMPLE)
