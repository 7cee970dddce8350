"""tests/integ/test_cli_account.py: `popbridge account add | list | show |
remove`, the accounts part of `popbridge status` and the `poll` / `account
test` paths that need no POP3 server (brief/POLLER-CLI.md), run as the
real binary ($POPBRIDGE) on an initialised data directory (conftest's
datadir). Checks the defaults, that every bad option is refused with exit
2 (or 1 for a file or store problem) and one "popbridge: account: ..."
line before anything is stored, that the password is stored only sealed
(never in `sqlite3 popbridge.db .dump`, never printed), that --ca-file is
stored absolute and --fingerprint normalised, and that remove keeps the
other accounts.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

import pbharness

POP3_PW = "Pop3-Secret-Pw-93871"
FP = "3A:" * 31 + "3A"
FP_NORM = "3a" * 32


def run(inst, *args, stdin=None, cwd=None, config=True):
    """`popbridge [--config C] ARGS` on inst (optionally in cwd); returns
    CompletedProcess. The POP3 password never appears in any output."""
    argv = [pbharness.BINARY]
    if config:
        argv += ["--config", inst.conf]
    argv += [str(a) for a in args]
    p = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd,
                       timeout=60)
    assert POP3_PW.encode() not in p.stdout + p.stderr, (args, p)
    err = p.stderr.decode("utf-8", "replace")
    bad = pbharness.sanitizer_lines(err)
    assert not bad, err
    return p


def out(p):
    return p.stdout.decode("utf-8", "replace")


def err(p):
    return p.stderr.decode("utf-8", "replace")


def expect(p, status, cmd="account"):
    """Exit status status; for a failure, the first stderr line is
    "popbridge: CMD: what" and any other is the usage line."""
    assert p.returncode == status, (p.returncode, out(p), err(p))
    if status != 0:
        lines = err(p).splitlines()
        assert lines and lines[0].startswith("popbridge: %s: " % cmd), \
            err(p)
        assert all(ln.startswith("usage: popbridge ") for ln in lines[1:]), \
            err(p)
        assert out(p) == "", out(p)
        return lines[0]
    return out(p)


@pytest.fixture
def pwfile(datadir):
    path = os.path.join(datadir.dir, "pop3pw")
    with open(path, "w") as f:
        f.write(POP3_PW + "\n")
    os.chmod(path, 0o600)
    return path


def add(inst, pwfile, name="work", *extra, host="pop.example.net",
        user="me@example.net", status=0):
    p = run(inst, "account", "add", name, "--host", host, "--user", user,
            "--password-file", pwfile, *extra)
    return p, expect(p, status)


def show(inst, name):
    """`account show NAME` as {key: value}, keys in printed order."""
    p = run(inst, "account", "show", name)
    expect(p, 0)
    d = {}
    for ln in out(p).splitlines():
        m = re.match(r"^([a-z ]+):\s+(.*)$", ln)
        assert m, ln
        d[m.group(1)] = m.group(2)
    return d


def accounts_json(inst):
    p = run(inst, "status", "--json")
    expect(p, 0, "status")
    return json.loads(out(p))["accounts"]


def no_accounts(inst):
    p = run(inst, "account", "list")
    return expect(p, 0) == "no accounts\n"


# ---- add: defaults and output ----

def test_add_defaults(datadir, pwfile):
    assert no_accounts(datadir)
    _, o = add(datadir, pwfile)
    assert o == ("account work added: me@example.net@pop.example.net:995 "
                 "over implicit TLS, into INBOX every 300 s, retention "
                 "keep\n")
    d = show(datadir, "work")
    assert list(d) == ["name", "server", "tls", "user", "folder",
                       "interval", "retention", "added", "last attempt",
                       "last success", "last error", "failures",
                       "next poll", "fetched", "deleted", "skipped",
                       "on server"]
    assert d["name"] == "work"
    assert d["server"] == "pop.example.net:995"
    assert d["tls"] == "implicit"
    assert d["user"] == "me@example.net"
    assert d["folder"] == "INBOX"
    assert d["interval"] == "300 s"
    assert d["retention"] == "keep"
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d$", d["added"])
    assert d["last attempt"] == d["last success"] == "never"
    assert d["last error"] == "none"
    assert d["failures"] == "0"
    assert d["fetched"] == d["deleted"] == "0"
    assert d["skipped"] == "0 (too big)"
    assert d["on server"] == "0 (0 skipped)"


@pytest.mark.parametrize("extra, line", [
    (["--tls", "starttls"],
     "me@example.net@pop.example.net:110 over STARTTLS, into INBOX every "
     "300 s, retention keep"),
    (["--tls", "none", "--allow-plaintext"],
     "me@example.net@pop.example.net:110 over plaintext, into INBOX every "
     "300 s, retention keep"),
    (["--tls", "implicit", "--port", "1995", "--delete"],
     "me@example.net@pop.example.net:1995 over implicit TLS, into INBOX "
     "every 300 s, retention delete"),
    (["--tls", "starttls", "--port", "65535", "--keep-days", "7",
      "--interval", "60"],
     "me@example.net@pop.example.net:65535 over STARTTLS, into INBOX every "
     "60 s, retention keep 7 days"),
    (["--keep", "--interval", "604800", "--keep-days=36500"], None),
    (["--keep-days", "36500", "--interval=604800", "--port", "1"],
     "me@example.net@pop.example.net:1 over implicit TLS, into INBOX every "
     "604800 s, retention keep 36500 days"),
    (["--folder", "inbox"],
     "me@example.net@pop.example.net:995 over implicit TLS, into INBOX "
     "every 300 s, retention keep"),
])
def test_add_options(datadir, pwfile, extra, line):
    if line is None:  # --keep with --keep-days: refused
        add(datadir, pwfile, "work", *extra, status=2)
        assert no_accounts(datadir)
        return
    _, o = add(datadir, pwfile, "work", *extra)
    assert o == "account work added: %s\n" % line


def test_add_makes_the_folder(datadir, pwfile):
    add(datadir, pwfile, "lists", "--folder", "Lists/POP")
    st = json.loads(out(run(datadir, "status", "--json")))
    names = [f["name"] for f in st["folders"]]
    assert "Lists/POP" in names
    assert show(datadir, "lists")["folder"] == "Lists/POP"
    # An existing folder is used as it is.
    add(datadir, pwfile, "archive", "--folder", "Archive")
    st2 = json.loads(out(run(datadir, "status", "--json")))
    assert len(st2["folders"]) == len(st["folders"])


def test_add_password_from_stdin(datadir):
    p = run(datadir, "account", "add", "work", "--host", "h.example",
            "--user", "u", "--password-file", "-",
            stdin=(POP3_PW + "\nmore\n").encode())
    expect(p, 0)
    assert "work" in out(run(datadir, "account", "list"))


# ---- add: validation ----

BAD_ADD = [
    # (argv after "account add", expected status, text in the message)
    ([], 2, "NAME"),
    (["bad name"], 2, "bad account name"),
    (["x" * 65], 2, "bad account name"),
    (["a/b"], 2, "bad account name"),
    (["w", "--host"], 2, "--host needs a value"),
    (["w", "--user", "u", "--password-file", "PW"], 2, "--host is missing"),
    (["w", "--host", "h", "--password-file", "PW"], 2, "--user is missing"),
    (["w", "--host", "h", "--user", "u"], 2, "--password-file is missing"),
    (["w", "--host", "bad host", "--user", "u", "--password-file", "PW"], 2,
     "--host"),
    (["w", "--host", "h" * 254, "--user", "u", "--password-file", "PW"], 2,
     "--host"),
    (["w", "--host", "", "--user", "u", "--password-file", "PW"], 2,
     "--host"),
    (["w", "--host", "h", "--user", "", "--password-file", "PW"], 2,
     "--user"),
    (["w", "--host", "h", "--user", "a\tb", "--password-file", "PW"], 2,
     "--user"),
    (["w", "--host", "h", "--user", "u" * 256, "--password-file", "PW"], 2,
     "--user"),
    (["w", "--host", "h", "--user", "u", "--password-file", "PW",
      "--bogus"], 2, "unknown option '--bogus'"),
    (["w", "x", "--host", "h", "--user", "u", "--password-file", "PW"], 2,
     "unexpected argument"),
    (["w", "--host", "h", "--host", "h2", "--user", "u", "--password-file",
      "PW"], 2, "--host given twice"),
]
for v in ("0", "65536", "-1", "abc", "", "99999999999999999999999", " 1"):
    BAD_ADD.append((["w+", "--port", v], 2, "--port"))
for v in ("tls", "IMPLICIT", "", "ssl"):
    BAD_ADD.append((["w+", "--tls", v], 2, "--tls"))
for v in ("59", "604801", "0", "-60", "5m", "", "1e3"):
    BAD_ADD.append((["w+", "--interval", v], 2, "--interval"))
for v in ("0", "36501", "-1", "x", "", "7d"):
    BAD_ADD.append((["w+", "--keep-days", v], 2, "--keep-days"))
for v in ("3A" * 31, "3A" * 33, "zz" * 32, "3A:3A", "", FP + ":3A"):
    BAD_ADD.append((["w+", "--fingerprint", v], 2, "--fingerprint"))
for v in ("", "/", "a//b", "a/", "a\x01b", "x" * 513):
    BAD_ADD.append((["w+", "--folder", v], 2, "--folder"))
BAD_ADD += [
    (["w+", "--tls", "none"], 2,
     "--tls none would send the password in the clear; add "
     "--allow-plaintext to accept that"),
    (["w+", "--keep", "--delete"], 2, "only one of"),
    (["w+", "--delete", "--keep-days", "3"], 2, "only one of"),
    (["w+", "--keep", "--keep-days", "3"], 2, "only one of"),
    (["w+", "--ca-file", "CA", "--fingerprint", FP], 2, "not both"),
    (["w+", "--ca-file", "/nonexistent/ca.pem"], 1, "/nonexistent/ca.pem"),
    (["w+", "--ca-file", "PW"], 1, "--ca-file"),
    (["w+", "--password-file", "/nonexistent/pw"], 1, "/nonexistent/pw"),
    (["w+", "--password-file", "EMPTY"], 1, "empty"),
    (["w+", "--password-file", "LONG"], 1, "longer than"),
]


def _fill(args, inst, pwfile):
    """Completes a BAD_ADD argv: "w+" is the name w plus whichever of
    --host, --user and --password-file are not given; the placeholders
    PW, CA, EMPTY and LONG become files."""
    files = {"PW": pwfile, "CA": inst.cert,
             "EMPTY": os.path.join(inst.dir, "empty-pw"),
             "LONG": os.path.join(inst.dir, "long-pw")}
    with open(files["EMPTY"], "w") as f:
        f.write("\n")
    with open(files["LONG"], "w") as f:
        f.write("p" * 1025 + "\n")
    args = [files.get(a, a) for a in args]
    if args and args[0] == "w+":
        args[0] = "w"
        for opt, val in (("--host", "pop.example.net"), ("--user", "u"),
                         ("--password-file", pwfile)):
            if opt not in args:
                args += [opt, val]
    return args


@pytest.mark.parametrize("args, status, text", BAD_ADD)
def test_add_refused(datadir, pwfile, args, status, text):
    p = run(datadir, "account", "add", *_fill(args, datadir, pwfile))
    first = expect(p, status)
    assert text in first, first
    if status == 2:
        assert "usage: popbridge account add" in err(p)
    assert no_accounts(datadir)


def test_add_twice(datadir, pwfile):
    add(datadir, pwfile, "work")
    p, first = add(datadir, pwfile, "work", host="other.example", status=1)
    assert "exists already" in first
    assert show(datadir, "work")["server"] == "pop.example.net:995"


def test_add_without_store(tmp_path, pwfile, datadir):
    p = run(datadir, "account", "add", "w", "--host", "h", "--user", "u",
            "--password-file", pwfile, "--data", tmp_path / "none",
            config=False)
    assert "popbridge init" in expect(p, 1)
    assert not (tmp_path / "none").exists()


def test_add_without_secret_key(datadir, pwfile):
    os.rename(os.path.join(datadir.data, "secret.key"),
              os.path.join(datadir.dir, "secret.key.saved"))
    try:
        _, first = add(datadir, pwfile, "work", status=1)
        assert "secret.key" in first
        assert no_accounts(datadir)
    finally:
        os.rename(os.path.join(datadir.dir, "secret.key.saved"),
                  os.path.join(datadir.data, "secret.key"))


# ---- the password is sealed ----

def test_password_stored_sealed(datadir, pwfile):
    add(datadir, pwfile, "work")
    add(datadir, pwfile, "home", "--tls", "none", "--allow-plaintext",
        host="192.168.1.5")
    db = os.path.join(datadir.data, "popbridge.db")
    if shutil.which("sqlite3"):
        dump = subprocess.run(["sqlite3", db, ".dump"], capture_output=True,
                              check=True).stdout
    else:
        con = sqlite3.connect(db)
        dump = "\n".join(con.iterdump()).encode()
        con.close()
    assert b"INSERT INTO" in dump
    assert POP3_PW.encode() not in dump
    assert POP3_PW.encode().hex().encode() not in dump.lower()
    con = sqlite3.connect(db)
    try:
        sealed = [r[0] for r in con.execute(
            "SELECT password_sealed FROM accounts ORDER BY name")]
    finally:
        con.close()
    assert len(sealed) == 2
    assert all(s.startswith("v1:") for s in sealed)
    # A fresh nonce per seal: the same password seals differently.
    assert sealed[0] != sealed[1]
    for args in (["account", "list"], ["account", "show", "work"],
                 ["status"], ["status", "--json"]):
        p = run(datadir, *args)  # run() checks the password is absent
        for s in sealed:
            assert s.encode() not in p.stdout


# ---- TLS options ----

def test_ca_file_relative_stored_absolute(datadir, pwfile, tmp_path):
    sub = tmp_path / "certs"
    sub.mkdir()
    shutil.copy(datadir.cert, sub / "home-ca.pem")
    p = run(datadir, "account", "add", "home", "--host", "mail.lan",
            "--user", "me", "--password-file", pwfile, "--ca-file",
            "certs/home-ca.pem", cwd=str(tmp_path))
    expect(p, 0)
    d = show(datadir, "home")
    assert d["ca file"] == os.path.realpath(str(sub / "home-ca.pem"))
    assert "fingerprint" not in d
    assert list(d).index("ca file") == list(d).index("retention") + 1


def test_ca_file_not_pem(datadir, pwfile):
    bad = os.path.join(datadir.dir, "not-a-cert.pem")
    with open(bad, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnonsense\n"
                "-----END CERTIFICATE-----\n")
    _, first = add(datadir, pwfile, "w", "--ca-file", bad, status=1)
    assert first.startswith("popbridge: account: --ca-file")
    assert no_accounts(datadir)


@pytest.mark.parametrize("given", [FP, FP.lower(), FP.replace(":", ""),
                                   FP_NORM.upper()])
def test_fingerprint_normalised(datadir, pwfile, given):
    add(datadir, pwfile, "home", "--fingerprint", given, host="mail.lan")
    d = show(datadir, "home")
    assert d["fingerprint"] == FP_NORM
    assert "ca file" not in d


# ---- list, show, remove ----

def test_list(datadir, pwfile):
    add(datadir, pwfile, "work")
    add(datadir, pwfile, "home", "--tls", "starttls", "--keep-days", "7",
        "--folder", "Home", "--interval", "600", host="mail.lan")
    p = run(datadir, "account", "list")
    lines = expect(p, 0).splitlines()
    assert len(lines) == 3
    assert re.match(r"^NAME\s+SERVER\s+TLS\s+FOLDER\s+EVERY\s+RETENTION\s+"
                    r"LAST POLL\s+STATUS$", lines[0])
    assert re.match(r"^home\s+mail\.lan:110\s+starttls\s+Home\s+600s\s+"
                    r"keep 7d\s+never\s+never polled$", lines[1]), lines[1]
    assert re.match(r"^work\s+pop\.example\.net:995\s+implicit\s+INBOX\s+"
                    r"300s\s+keep\s+never\s+never polled$", lines[2]), \
        lines[2]
    # The columns line up.
    col = lines[0].index("SERVER")
    assert lines[1][col:].startswith("mail.lan")
    assert lines[2][col:].startswith("pop.example.net")


def test_list_takes_nothing(datadir):
    for args in (["account", "list", "x"], ["account", "list", "--all"]):
        expect(run(datadir, *args), 2)


def test_show_retention_forms(datadir, pwfile):
    add(datadir, pwfile, "a", "--delete")
    add(datadir, pwfile, "b", "--keep-days", "30")
    assert show(datadir, "a")["retention"] == "delete"
    assert show(datadir, "b")["retention"] == "keep 30 days"


def test_remove_then_list(datadir, pwfile):
    add(datadir, pwfile, "work")
    add(datadir, pwfile, "home", "--folder", "Home")
    p = run(datadir, "account", "remove", "home")
    assert expect(p, 0) == ("account home removed; the messages it stored "
                            "stay in Home\n")
    lines = out(run(datadir, "account", "list")).splitlines()
    assert len(lines) == 2 and lines[1].startswith("work ")
    assert [a["name"] for a in accounts_json(datadir)] == ["work"]
    # The folder stays.
    st = json.loads(out(run(datadir, "status", "--json")))
    assert "Home" in [f["name"] for f in st["folders"]]
    first = expect(run(datadir, "account", "remove", "home"), 1)
    assert "no account named home" in first
    expect(run(datadir, "account", "remove", "work"), 0)
    assert no_accounts(datadir)
    # The name can be used again.
    add(datadir, pwfile, "home")


@pytest.mark.parametrize("sub", ["show", "remove", "test"])
def test_unknown_account(datadir, sub):
    first = expect(run(datadir, "account", sub, "nosuch"), 1)
    assert "no account named nosuch" in first


@pytest.mark.parametrize("args", [
    ["account"], ["account", "frob"], ["account", "--host", "h"],
    ["account", "show"], ["account", "remove"], ["account", "test"],
    ["account", "show", "a", "b"], ["account", "show", "bad name"],
    ["account", "remove", "--bogus", "x"], ["account", "test", "x" * 65],
    ["poll", "a", "b"], ["poll", "--bogus"],
])
def test_usage_errors(datadir, args):
    expect(run(datadir, *args), 2, args[0])


# ---- status ----

def test_status_accounts(datadir, pwfile):
    p = run(datadir, "status")
    assert re.search(r"(?m)^accounts\s+none$", out(p))
    assert accounts_json(datadir) == []
    add(datadir, pwfile, "work", "--keep-days", "7", "--folder", "Work",
        "--interval", "900", "--port", "1995")
    add(datadir, pwfile, "alpha", "--tls", "none", "--allow-plaintext",
        "--delete", host="10.0.0.1", user="al")
    t = out(run(datadir, "status"))
    acc = [ln for ln in t.splitlines() if ln.startswith("accounts")]
    assert acc == [
        "accounts    alpha: last poll never; fetched 0, deleted 0, "
        "skipped 0",
        "accounts    work: last poll never; fetched 0, deleted 0, "
        "skipped 0",
    ]
    a = accounts_json(datadir)
    keys = ["name", "host", "port", "tls", "user", "folder", "interval",
            "retention", "keep_days", "last_attempt", "last_success",
            "last_error", "failures", "next_due", "fetched", "deleted",
            "skipped", "on_server"]
    assert [list(x) for x in a] == [keys, keys]
    assert a[0] == {"name": "alpha", "host": "10.0.0.1", "port": 110,
                    "tls": "none", "user": "al", "folder": "INBOX",
                    "interval": 300, "retention": "delete", "keep_days": 0,
                    "last_attempt": 0, "last_success": 0,
                    "last_error": None, "failures": 0, "next_due": 0,
                    "fetched": 0, "deleted": 0, "skipped": 0,
                    "on_server": 0}
    w = a[1]
    assert (w["name"], w["host"], w["port"], w["tls"], w["user"],
            w["folder"], w["interval"], w["retention"], w["keep_days"]) == \
        ("work", "pop.example.net", 1995, "implicit", "me@example.net",
         "Work", 900, "keep-days", 7)


# ---- poll and test without a server ----

def test_poll_without_accounts(datadir):
    p = run(datadir, "poll")
    assert expect(p, 0, "poll") == \
        "no accounts; add one with: popbridge account add\n"


def test_poll_unknown_account(datadir, pwfile):
    add(datadir, pwfile, "work")
    first = expect(run(datadir, "poll", "nosuch"), 1, "poll")
    assert first == "popbridge: poll: no account named nosuch"


def test_poll_and_test_refused_connection(datadir, pwfile):
    """A port nobody listens on: one error line each, the error recorded
    on the account by poll (not by test)."""
    port = pbharness.free_port()
    add(datadir, pwfile, "dead", "--tls", "none", "--allow-plaintext",
        "--port", str(port), host="127.0.0.1")
    first = expect(run(datadir, "account", "test", "dead"), 1)
    assert first.startswith("popbridge: account: dead: "), first
    assert len(err(run(datadir, "account", "test", "dead")).splitlines()) \
        == 1
    p = run(datadir, "poll", "dead")
    first = expect(p, 1, "poll")
    assert first.startswith("popbridge: poll: dead: "), first
    assert len(err(p).splitlines()) == 1
    d = show(datadir, "dead")
    assert d["last error"] != "none"
    assert d["last attempt"] != "never"
    assert d["failures"] == "1"
    lines = out(run(datadir, "account", "list")).splitlines()
    assert re.search(r"\serror: \S", lines[1]), lines[1]
    t = out(run(datadir, "status"))
    assert re.search(r"(?m)^accounts\s+dead: last poll \d{4}-\d\d-\d\d "
                     r"\d\d:\d\d error: \S", t), t
    a = accounts_json(datadir)[0]
    assert a["last_attempt"] > 0 and a["failures"] == 1
    assert isinstance(a["last_error"], str) and a["last_error"]
