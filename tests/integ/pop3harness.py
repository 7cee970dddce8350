"""tests/integ/pop3harness.py: a real POP3 server (Debian's dovecot-pop3d)
for the poller's integration tests, plus helpers to fill its mailboxes,
drive `popbridge account` / `popbridge poll` and read back what the store
holds. Standard library and pytest only.

What it gives:
  - DovecotPOP3: a private, unprivileged Dovecot instance (its own config,
    base_dir, state_dir, log, TLS certificate and passwd-file users) on free
    loopback ports: a POP3S port and a plain port offering STLS. Started
    and stopped by the master's PID; never touches the system service.
  - PopUser: one mail user of an instance: deliver() drops messages into
    its Maildir new/, count() / ids() tell what is left on the server.
  - make_message() / make_messages(): messages with a unique X-Test-Id
    header each and a realistic size mix (dot lines, "From " lines, UTF-8,
    base64 attachments).
  - add_account(), poll_ok() / poll_error(), account_show(),
    last_error(), account_test() / account_test_error(), export_folder(),
    stored_ids(), assert_exactly_once(), sql() / known_uidls() on the
    store: the popbridge side (CLI contract of brief/POLLER-CLI.md).
  - pytest fixtures (import them into a test module by name):
      dovecot          a DovecotPOP3 per module (user mechanisms
                       "plain login apop", plaintext allowed)
      popuser          a fresh user with an empty Maildir on `dovecot`
      dovecot_factory  more instances for one test (other certificate,
                       other auth mechanisms), stopped at its end
      pb               an initialised popbridge data directory, no server
                       (conftest's datadir)

Environment (besides pbharness's):
  DOVECOT          the dovecot binary (default /usr/sbin/dovecot)
  PB_POP3_KEEP     keep the Dovecot directories after the run (debugging)
"""

import base64
import collections
import contextlib
import hashlib
import os
import pwd
import random
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import tempfile
import time

import pytest

import pbharness
from pbharness import HarnessError

DOVECOT = os.environ.get("DOVECOT", "/usr/sbin/dovecot")
KEEP_DIRS = bool(os.environ.get("PB_POP3_KEEP"))

# Lines in Dovecot's log that mean it broke (not a refused login).
DOVECOT_BAD = ("Panic:", "Fatal:")

_seq = [0]


def _next_seq():
    _seq[0] += 1
    return _seq[0]


def mail_ids():
    """(uid, gid) for Dovecot's mail users: `nobody` when running as root
    (Dovecot refuses uid 0), else our own."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


def make_cert(path_prefix, names, days=30):
    """A self-signed certificate and key (openssl req, as REAL-PEERS says)
    for names (first = CN; each becomes a DNS: or IP: subjectAltName).
    Returns (cert path, key path)."""
    cert = path_prefix + "-cert.pem"
    key = path_prefix + "-key.pem"
    sans = []
    for n in names:
        if re.match(r"^[0-9.]+$", n) or ":" in n:
            sans.append("IP:" + n)
        else:
            sans.append("DNS:" + n)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-subj", "/CN=" + names[0], "-addext",
         "subjectAltName=" + ",".join(sans), "-days", str(days),
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def cert_fingerprint(cert_path, colons=False):
    """SHA-256 of the certificate's DER, lower-case hex (with ':' between
    bytes when colons)."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest()
    if colons:
        return ":".join(h[i:i + 2] for i in range(0, len(h), 2)).upper()
    return h


class PopUser:
    """A mail user of a DovecotPOP3: name, password, home, maildir."""

    def __init__(self, dove, name, password):
        self.dove = dove
        self.name = name
        self.password = password
        self.home = os.path.join(dove.dir, "home", name)
        self.maildir = os.path.join(self.home, "Maildir")
        self.delivered = {}  # X-Test-Id -> bytes, every message dropped

    def deliver(self, messages):
        """Drops messages into Maildir/new/ in order (Dovecot numbers them
        by file name at its next session). messages: bytes, or
        (test_id, bytes) pairs, or a dict test_id -> bytes. Returns the
        list of X-Test-Ids."""
        if isinstance(messages, dict):
            messages = list(messages.items())
        uid, gid = self.dove.mail_uid, self.dove.mail_gid
        tmpd = os.path.join(self.maildir, "tmp")
        newd = os.path.join(self.maildir, "new")
        ids = []
        for m in messages:
            if isinstance(m, tuple):
                tid, data = m
            else:
                data = m
                tid = x_test_id(data)
            seq = _next_seq()
            # Fixed-width, increasing: Dovecot's order follows the names.
            fname = "%010d.M%06dP%d.pbtest" % (1500000000 + seq, seq,
                                                os.getpid())
            tpath = os.path.join(tmpd, fname)
            with open(tpath, "wb") as f:
                f.write(data)
            os.chown(tpath, uid, gid)
            os.rename(tpath, os.path.join(newd, fname))
            if tid is not None:
                self.delivered[tid] = data
            ids.append(tid)
        return ids

    def files(self):
        """Paths of the messages on the server (new/ and cur/), sorted by
        name."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            with contextlib.suppress(FileNotFoundError):
                out.extend(os.path.join(d, n) for n in os.listdir(d)
                           if not n.startswith("."))
        return sorted(out, key=os.path.basename)

    def count(self):
        """Messages left on the server."""
        return len(self.files())

    def ids(self):
        """Counter of the X-Test-Ids of the messages left on the server."""
        c = collections.Counter()
        for p in self.files():
            with open(p, "rb") as f:
                c[x_test_id(f.read(64 * 1024))] += 1
        return c


class DovecotPOP3:
    """A private dovecot-pop3d instance.

    Attributes: dir, conf, log, cert, key, ca_file (= cert), fingerprint,
    pop3_port (plain, offers STLS), pop3s_port (implicit TLS), host, pid,
    users (name -> PopUser).
    """

    def __init__(self, base_dir=None, cert_names=("localhost", "127.0.0.1"),
                 auth_mechanisms="plain login apop",
                 disable_plaintext_auth=False,
                 listen=("127.0.0.1", "127.0.0.2"), extra_config="",
                 pool=4, name="dove"):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="pbdovecot-", dir="/tmp")
        self.dir = os.path.abspath(base_dir)
        os.makedirs(self.dir, exist_ok=True)
        # The mail processes run as the mail user: every parent must be
        # traversable by it (tempfile.mkdtemp makes 0700 directories).
        os.chmod(self.dir, 0o755)
        self.name = name
        self.mail_uid, self.mail_gid = mail_ids()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.base = os.path.join(self.dir, "run")
        self.state = os.path.join(self.dir, "state")
        self.users_file = os.path.join(self.dir, "users")
        self.instance_name = "pbtest-%d-%d" % (os.getpid(), _next_seq())
        self.host = "127.0.0.1"
        self.listen = tuple(listen)
        self.auth_mechanisms = auth_mechanisms
        self.disable_plaintext_auth = disable_plaintext_auth
        self.extra_config = extra_config
        self.cert, self.key = make_cert(os.path.join(self.dir, "tls"),
                                        list(cert_names))
        self.ca_file = self.cert
        self.fingerprint = cert_fingerprint(self.cert)
        self.pop3_port, self.pop3s_port = pbharness.free_ports(2)
        self.pid = None
        self.proc = None
        self.users = {}
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        os.chmod(home, 0o755)
        with open(self.users_file, "w"):
            pass
        os.chmod(self.users_file, 0o644)
        # Users made now, before the start, for add_user() to hand out.
        self.pool = [self._make_user() for _ in range(pool)]

    # ---- config ----

    def write_config(self):
        lines = [
            "base_dir = %s" % self.base,
            "state_dir = %s" % self.state,
            "instance_name = %s" % self.instance_name,
            "log_path = %s" % self.log,
            "info_log_path = %s" % self.log,
            "listen = %s" % ", ".join(self.listen),
            "protocols = pop3",
            "ssl = yes",
            "ssl_cert = <%s" % self.cert,
            "ssl_key = <%s" % self.key,
            "disable_plaintext_auth = %s"
            % ("yes" if self.disable_plaintext_auth else "no"),
            "auth_mechanisms = %s" % self.auth_mechanisms,
            "auth_verbose = yes",
            # A refused login answers at once (the default waits 2 s).
            "auth_failure_delay = 0",
            "mail_location = maildir:~/Maildir",
            # DELE removes the file (REAL-PEERS); UIDLs: the default
            # format, written out.
            "pop3_delete_type = expunge",
            "pop3_uidl_format = %08Xu%08Xv",
            "mail_max_userip_connections = 100",
            "passdb {",
            "  driver = passwd-file",
            "  args = scheme=PLAIN username_format=%%u %s" % self.users_file,
            "}",
            "userdb {",
            "  driver = passwd-file",
            "  args = username_format=%%u %s" % self.users_file,
            "}",
            "service pop3-login {",
            "  inet_listener pop3 {",
            "    port = %d" % self.pop3_port,
            "  }",
            "  inet_listener pop3s {",
            "    port = %d" % self.pop3s_port,
            "    ssl = yes",
            "  }",
            "}",
        ]
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.getuid()).pw_name
            lines += ["default_login_user = %s" % me,
                      "default_internal_user = %s" % me]
        text = "\n".join(lines) + "\n" + self.extra_config
        with open(self.conf, "w") as f:
            f.write(text)

    # ---- users and mail ----

    def add_user(self, name=None, password=None):
        """A mail user with an empty Maildir; returns its PopUser. Takes
        one made before the start when there is one (Dovecot re-reads the
        passwd-file at most once a second: a user added while it runs is
        waited for, up to 1.1 s)."""
        if name is None and password is None and self.pool:
            user = self.pool.pop(0)
            self.users[user.name] = user
            return user
        user = self._make_user(name, password)
        if self.alive():
            time.sleep(1.1)
        return user

    def _make_user(self, name=None, password=None):
        if name is None:
            name = "u%d" % _next_seq()
        if password is None:
            password = "pw-%s-%06d" % (name, random.randrange(10 ** 6))
        user = PopUser(self, name, password)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(user.maildir, sub), exist_ok=True)
        for root in (user.home, user.maildir) + tuple(
                os.path.join(user.maildir, s) for s in ("new", "cur", "tmp")):
            os.chown(root, self.mail_uid, self.mail_gid)
            os.chmod(root, 0o700)
        with open(self.users_file, "a") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s\n"
                    % (name, password, self.mail_uid, self.mail_gid,
                       user.home))
        self.users[name] = user
        return user

    # ---- process ----

    def start(self, timeout=15, retries=3):
        """Starts the master in the foreground (dovecot -F, our child, in
        its own session; its PID is also in base_dir/master.pid) and waits
        for both ports."""
        assert self.proc is None, "dovecot already started"
        self.write_config()
        out = open(os.path.join(self.dir, "dovecot.stdout"), "ab")
        try:
            self.proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=out, stderr=out, start_new_session=True)
        finally:
            out.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = self.pid = None
                if "in use" in self.stdout_text()[-2000:] + \
                        self.log_text(tail=2000) and retries > 0:
                    # A port taken since free_ports(): new ports.
                    self.pop3_port, self.pop3s_port = pbharness.free_ports(2)
                    with open(os.path.join(self.dir, "dovecot.stdout"),
                              "wb"):
                        pass
                    with open(self.log, "wb"):
                        pass
                    return self.start(timeout, retries - 1)
                raise HarnessError("dovecot exited at start (status %s)\n%s"
                                   "\n%s" % (rc, self.stdout_text(),
                                              self.log_text()))
            if (pbharness.port_accepts(self.pop3_port) and
                    pbharness.port_accepts(self.pop3s_port)):
                return self
            if time.monotonic() >= deadline:
                self.stop()
                raise HarnessError("dovecot did not listen within %d s\n%s"
                                   % (timeout, self.log_text()))
            time.sleep(0.02)

    def stdout_text(self):
        with contextlib.suppress(OSError):
            with open(os.path.join(self.dir, "dovecot.stdout"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM to the master (it stops its children), SIGKILL after
        timeout s; waits for it."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = self.pid = None

    def restart(self):
        """Stops and starts again on the same ports (after changing
        auth_mechanisms and the like)."""
        self.stop()
        return self.start()

    def log_text(self, tail=None):
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if tail is not None and len(text) > tail:
            text = "...\n" + text[-tail:]
        return text

    def problems(self):
        return [line for line in self.log_text().splitlines()
                if any(b in line for b in DOVECOT_BAD)]

    def finish(self):
        """Teardown: stops it; raises on a Panic/Fatal in its log."""
        self.stop()
        bad = self.problems()
        if not KEEP_DIRS:
            shutil.rmtree(self.dir, ignore_errors=True)
        if bad:
            raise HarnessError("dovecot log has errors:\n" + "\n".join(bad))


# ---------------------------------------------------------------------------
# Messages

TEST_ID_RE = re.compile(rb"^X-Test-Id:[ \t]*(\S+)", re.M | re.I)

# A realistic mix: mostly a few KiB, some tens of KiB, one in twenty over
# 100 KiB (with an attachment).
SIZE_MIX = (700, 1200, 2500, 3500, 5000, 900, 8000, 14000, 2000, 1800,
            30000, 1500, 4200, 60000, 2600, 1100, 9500, 3000, 20000, 150000)

_WORDS = ("mail", "poll", "bridge", "store", "folder", "message", "server",
          "client", "header", "body", "line", "quota", "retention", "week",
          "report", "invoice", "meeting", "draft", "monday", "tuesday")


def x_test_id(data):
    """The X-Test-Id of a message (str), or None."""
    head = data.split(b"\n\n", 1)[0] if b"\n\n" in data else data
    m = TEST_ID_RE.search(head.replace(b"\r\n", b"\n"))
    return m.group(1).decode() if m else None


def make_message(test_id, size=2000, seed=None, small=False):
    """A message (bytes, LF line ends as in a Maildir) of about size octets
    with the header X-Test-Id: test_id. Its body has lines that need POP3
    dot-stuffing (".", "..", ".x"), lines an mbox must quote ("From ",
    ">From "), UTF-8 text, and past 20 KB a base64 attachment (multipart).
    small=True: a short single-part message (crash test)."""
    rng = random.Random(seed if seed is not None else test_id)
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                         time.gmtime(1700000000 + rng.randrange(10 ** 7)))
    head = [
        "Return-Path: <sender%d@example.org>" % rng.randrange(1000),
        "Received: from mx.example.org (mx.example.org [192.0.2.%d])"
        % rng.randrange(1, 255),
        "\tby pop.example.net with ESMTPS id %08x; %s"
        % (rng.getrandbits(32), date),
        "From: Sender %d <sender@example.org>" % rng.randrange(100),
        "To: Alice <alice@example.net>",
        "Subject: test %s %s" % (test_id, rng.choice(_WORDS)),
        "Date: %s" % date,
        "Message-ID: <%s.%08x@example.org>" % (test_id, rng.getrandbits(32)),
        "X-Test-Id: %s" % test_id,
        "MIME-Version: 1.0",
    ]
    if small:
        head.append("Content-Type: text/plain; charset=us-ascii")
        body = ("Message %s.\n.\n..two dots\nFrom the poller\nend\n"
                % test_id)
        return ("\n".join(head) + "\n\n" + body).encode()
    text_lines = [
        "Hello Alice,",
        "",
        ".",
        "..two dots at the start",
        ".leading dot",
        "From the mbox's point of view this line needs quoting.",
        ">From this one too.",
        "Grüße aus Köln, ça va? Ünïcödé ✓",
        "",
    ]
    n = 0
    approx = sum(len(x) + 1 for x in head + text_lines) + 200
    want_attach = size > 20000
    text_target = size if not want_attach else min(size, 3000)
    while approx < text_target:
        line = " ".join(rng.choice(_WORDS)
                        for _ in range(rng.randrange(3, 14)))
        if n % 17 == 5:
            line = "." + line
        text_lines.append(line)
        approx += len(line) + 1
        n += 1
    text_lines.append("-- end of %s" % test_id)
    if not want_attach:
        head.append("Content-Type: text/plain; charset=utf-8")
        head.append("Content-Transfer-Encoding: 8bit")
        body = "\n".join(text_lines) + "\n"
        return ("\n".join(head) + "\n\n" + body).encode()
    boundary = "b-%s-%08x" % (test_id, rng.getrandbits(32))
    head.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
    raw_len = max(0, (size - approx) * 3 // 4)
    blob = bytes(rng.getrandbits(8) for _ in range(raw_len))
    b64 = base64.b64encode(blob).decode()
    b64_lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
    parts = [
        "This is a multi-part message in MIME format.",
        "--" + boundary,
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ] + text_lines + [
        "--" + boundary,
        'Content-Type: application/octet-stream; name="data-%s.bin"'
        % test_id,
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="data-%s.bin"' % test_id,
        "",
    ] + b64_lines + ["--" + boundary + "--", ""]
    return ("\n".join(head) + "\n\n" + "\n".join(parts)).encode()


def make_messages(n, prefix=None, sizes=SIZE_MIX, small=False):
    """n messages as an ordered dict test_id -> bytes, ids prefix-0001...
    (prefix defaults to a fresh unique one)."""
    if prefix is None:
        prefix = "m%d" % _next_seq()
    out = collections.OrderedDict()
    for i in range(n):
        tid = "%s-%04d" % (prefix, i + 1)
        out[tid] = make_message(tid, sizes[i % len(sizes)], small=small)
    return out


def lf(data):
    """CRLF -> LF (how export writes, and how the Maildir files are)."""
    return data.replace(b"\r\n", b"\n")


# ---------------------------------------------------------------------------
# popbridge side

def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def write_password_file(inst, name, password):
    path = os.path.join(inst.dir, "pop3pw-%s" % name)
    with open(path, "w") as f:
        f.write(password + "\n")
    os.chmod(path, 0o600)
    return path


def add_account(inst, name, user=None, host="127.0.0.1", port=None,
                tls="implicit", allow_plaintext=False, password=None,
                folder=None, interval=None, retention="keep",
                ca_file=None, fingerprint=None, extra=(), check=True,
                dove=None):
    """`popbridge account add NAME ...`. user: a PopUser (user name and
    password from it, port from its Dovecot by tls, --ca-file its
    certificate unless fingerprint is given or ca_file=False) or a user
    name (then give password and port). retention: "keep", "delete" or
    ("keep-days", N). Returns the CompletedProcess."""
    if isinstance(user, PopUser):
        dove = dove or user.dove
        uname = user.name
        if password is None:
            password = user.password
    else:
        uname = user
    if port is None and dove is not None:
        port = dove.pop3s_port if tls == "implicit" else dove.pop3_port
    if ca_file is None and fingerprint is None and dove is not None \
            and tls != "none":
        ca_file = dove.ca_file
    argv = ["account", "add", name, "--host", host]
    if port is not None:
        argv += ["--port", port]
    argv += ["--tls", tls]
    if allow_plaintext:
        argv.append("--allow-plaintext")
    argv += ["--user", uname, "--password-file",
             write_password_file(inst, name, password)]
    if folder is not None:
        argv += ["--folder", folder]
    if interval is not None:
        argv += ["--interval", interval]
    if retention == "keep":
        argv.append("--keep")
    elif retention == "delete":
        argv.append("--delete")
    elif isinstance(retention, tuple) and retention[0] == "keep-days":
        argv += ["--keep-days", retention[1]]
    elif retention is not None:
        raise ValueError("bad retention %r" % (retention,))
    if ca_file:
        argv += ["--ca-file", ca_file]
    if fingerprint:
        argv += ["--fingerprint", fingerprint]
    argv += list(extra)
    return inst.cli(*argv, check=check)


def poll(inst, name=None, env_extra=None, timeout=300, expect=None):
    """`popbridge poll [NAME]`; returns CompletedProcess. expect: the exit
    status it must have (checked with the output in the message)."""
    env = None
    if env_extra:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in env_extra.items()})
    args = ["poll"] + ([name] if name else [])
    r = inst.cli(*args, timeout=timeout, env=env)
    if expect is not None:
        assert r.returncode == expect, (
            "popbridge poll %s: exit %d, expected %d\nstdout: %s\nstderr: %s"
            % (name or "", r.returncode, expect, text(r.stdout),
               text(r.stderr)))
    return r


POLL_OK_RE = re.compile(
    r"^(?P<name>\S+): fetched (?P<fetched>\d+) \((?P<size>[^)]*)\), "
    r"deleted (?P<deleted>\d+), skipped (?P<skipped>\d+) too big; "
    r"(?P<on_server>\d+) on the server$")


def poll_ok(inst, name, **kw):
    """A poll that must succeed; returns the parsed report line as a dict
    of ints (fetched, deleted, skipped, on_server)."""
    r = poll(inst, name, expect=0, **kw)
    lines = [ln for ln in text(r.stdout).splitlines() if ln.strip()]
    for ln in lines:
        m = POLL_OK_RE.match(ln)
        if m and m.group("name") == name:
            return {k: int(m.group(k)) for k in
                    ("fetched", "deleted", "skipped", "on_server")}
    raise AssertionError("no report line for %s in poll output:\n%s\n%s"
                         % (name, text(r.stdout), text(r.stderr)))


def poll_error(inst, name, **kw):
    """A poll that must fail: exit 1 and one stderr line
    "popbridge: poll: NAME: <sentence>"; returns the sentence."""
    r = poll(inst, name, expect=1, **kw)
    err = [ln for ln in text(r.stderr).splitlines() if ln.strip()]
    prefix = "popbridge: poll: %s: " % name
    mine = [ln for ln in err if ln.startswith(prefix)]
    assert len(mine) == 1, "expected one '%s...' line in stderr:\n%s" % (
        prefix, text(r.stderr))
    return mine[0][len(prefix):]


def account_show(inst, name):
    """`popbridge account show NAME` as a dict (keys as printed)."""
    r = inst.cli("account", "show", name, check=True)
    out = {}
    for ln in text(r.stdout).splitlines():
        if ":" not in ln:
            continue
        k, v = ln.split(":", 1)
        out[k.strip()] = v.strip()
    return out


def last_error(inst, name):
    """The account's last error as `account show` prints it ("none" when
    the last poll was fine)."""
    d = account_show(inst, name)
    assert "last error" in d, "no 'last error' in account show: %r" % d
    return d["last error"]


def assert_one_sentence(s):
    """An error sentence: one line, not empty, no trailing junk."""
    assert s and s != "none", "no error recorded"
    assert "\n" not in s and "\r" not in s, repr(s)
    assert len(s) < 600, "error sentence too long: %r" % s
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", s), repr(s)


MBOX_FROM_RE = re.compile(rb"^From \S+ ")


def parse_mboxrd(data):
    """Messages (bytes, LF) of `popbridge export` output. The writer puts
    a "From " line before each message, quotes every ^>*From  line with
    one more '>', and ends each message with a line end (added when
    missing) and one empty line: so between two separators is the
    message, its line end, and one LF more."""
    if not data:
        return []
    if not MBOX_FROM_RE.match(data):
        raise AssertionError("export output does not start with a From "
                             "line: %r" % data[:200])
    starts = [m.start() for m in re.finditer(rb"^From ", data, re.M)]
    out = []
    for i, st in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[data.index(b"\n", st) + 1:end]
        assert chunk.endswith(b"\n\n"), (
            "message %d of the export does not end with an empty line: %r"
            % (i + 1, chunk[-80:]))
        chunk = chunk[:-1]
        out.append(re.sub(rb"(?m)^>(>*From )", rb"\1", chunk))
    return out


def export_folder(inst, folder):
    """The messages of a folder (bytes, LF line ends), via
    `popbridge export --folder F`."""
    fd, path = tempfile.mkstemp(prefix="export-", suffix=".mbox",
                                dir=inst.dir)
    try:
        with os.fdopen(fd, "wb") as f:
            argv = [pbharness.BINARY, "--config", inst.conf, "export",
                    "--folder", folder]
            r = subprocess.run(argv, stdout=f, stderr=subprocess.PIPE,
                               timeout=300)
        err = r.stderr.decode("utf-8", "replace")
        if pbharness.sanitizer_lines(err):
            inst.cli_sanitizer.append("export:\n" +
                                      pbharness.sanitizer_report(err))
        assert r.returncode == 0, "export --folder %s failed: %s" % (
            folder, err)
        with open(path, "rb") as f:
            data = f.read()
    finally:
        os.unlink(path)
    return parse_mboxrd(data)


def stored_ids(inst, folder):
    """Counter of the X-Test-Ids in a folder."""
    return collections.Counter(x_test_id(m)
                               for m in export_folder(inst, folder))


def assert_exactly_once(inst, folder, expected, others_ok=False):
    """The folder holds every message of expected (dict test_id -> bytes)
    exactly once, byte for byte (line ends aside), and nothing else
    (unless others_ok: other ids may be there, once each). Returns the
    exported messages by id."""
    msgs = export_folder(inst, folder)
    by_id = collections.defaultdict(list)
    for m in msgs:
        by_id[x_test_id(m)].append(m)
    dup = {k: len(v) for k, v in by_id.items() if len(v) > 1}
    missing = sorted(set(expected) - set(by_id))
    extra = sorted(k for k in by_id if k not in expected)
    problems = []
    if missing:
        problems.append("missing %d: %s" % (len(missing), missing[:10]))
    if dup:
        problems.append("duplicated: %s" % dict(list(dup.items())[:10]))
    if extra and not others_ok:
        problems.append("unexpected: %s" % extra[:10])
    for tid, data in expected.items():
        if tid in by_id and lf(by_id[tid][0]) != lf(data):
            got = lf(by_id[tid][0])
            want = lf(data)
            i = next((k for k in range(min(len(got), len(want)))
                      if got[k] != want[k]), min(len(got), len(want)))
            problems.append(
                "%s differs (stored %d bytes, sent %d; first difference "
                "at %d: stored %r, sent %r)"
                % (tid, len(got), len(want), i, got[max(0, i - 40):i + 40],
                   want[max(0, i - 40):i + 40]))
            break
    assert not problems, "folder %s (%d messages): %s" % (
        folder, len(msgs), "; ".join(problems))
    return {k: v[0] for k, v in by_id.items()}


def store_db(inst):
    return os.path.join(inst.data, "popbridge.db")


def sql(inst, statement):
    """Runs statement with the sqlite3 CLI on the store (what the brief
    asks for: the test rewrites times the poller wrote); returns stdout."""
    r = subprocess.run(["sqlite3", "-batch", "-cmd", ".timeout 5000",
                        store_db(inst), statement],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, "sqlite3 %r: %s" % (statement,
                                                   r.stderr.decode())
    return r.stdout.decode()


def account_id(inst, name):
    out = sql(inst, "SELECT id FROM accounts WHERE name = '%s';"
              % name.replace("'", "''")).strip()
    assert out, "no account %s in the store" % name
    return int(out)


def known_uidls(inst, name):
    """{uidl: (state, first_fetched, size)} the store keeps for the
    account (read-only, through Python's sqlite3)."""
    con = sqlite3.connect("file:%s?mode=ro" % store_db(inst), uri=True,
                          timeout=10)
    try:
        rows = con.execute(
            "SELECT u.uidl, u.state, u.first_fetched, u.size FROM "
            "pop3_uidls u JOIN accounts a ON a.id = u.account_id "
            "WHERE a.name = ?", (name,)).fetchall()
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def dovecot_uidls(user):
    """The UIDLs Dovecot gives the user's messages now, by X-Test-Id
    (through poplib over POP3S)."""
    import poplib
    ctx = ssl.create_default_context(cafile=user.dove.ca_file)
    p = poplib.POP3_SSL("127.0.0.1", user.dove.pop3s_port, context=ctx,
                        timeout=30)
    try:
        p.user(user.name)
        p.pass_(user.password)
        out = {}
        for ln in p.uidl()[1]:
            n, uidl = ln.decode().split()
            head = b"\n".join(p.top(int(n), 0)[1])
            out[x_test_id(head + b"\n\n")] = uidl
        return out
    finally:
        with contextlib.suppress(Exception):
            p.quit()


# ---------------------------------------------------------------------------
# pytest fixtures

@pytest.fixture(scope="module")
def dovecot():
    d = DovecotPOP3(name="dovecot", pool=60)
    d.start()
    yield d
    d.finish()


@pytest.fixture
def popuser(dovecot):
    """A fresh mail user on the module's Dovecot."""
    if not dovecot.alive():
        dovecot.stop()
        dovecot.start()
    return dovecot.add_user()


@pytest.fixture
def dovecot_factory():
    made = []

    def make(**kw):
        d = DovecotPOP3(**kw)
        made.append(d)
        d.start()
        return d

    yield make
    errs = []
    for d in made:
        try:
            d.finish()
        except HarnessError as e:
            errs.append(str(e))
    if errs:
        raise HarnessError("\n".join(errs))


@pytest.fixture
def pb(instance_factory):
    """An initialised popbridge data directory and config, no server."""
    return instance_factory(start=False, name="pb")


ACCOUNT_TEST_RE = re.compile(
    r"^(?P<name>\S+): ok: logged in to (?P<server>\S+) as (?P<user>\S+) "
    r"with (?P<auth>SASL PLAIN|APOP|USER/PASS) \((?P<tls>[^)]*)\); "
    r"(?P<n>\d+) messages? \((?P<size>[^)]*)\) on the server, "
    r"(?P<new>\d+) not fetched yet$")


def account_test(inst, name, env_extra=None):
    """`popbridge account test NAME` that must succeed; returns the parsed
    line (auth, tls, n, new, ...)."""
    env = None
    if env_extra:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in env_extra.items()})
    r = inst.cli("account", "test", name, env=env)
    assert r.returncode == 0, "account test %s: exit %d\n%s%s" % (
        name, r.returncode, text(r.stdout), text(r.stderr))
    lines = [ln for ln in text(r.stdout).splitlines() if ln.strip()]
    for ln in lines:
        m = ACCOUNT_TEST_RE.match(ln)
        if m:
            d = m.groupdict()
            d["n"] = int(d["n"])
            d["new"] = int(d["new"])
            return d
    raise AssertionError("unexpected account test output:\n%s"
                         % text(r.stdout))


def account_test_error(inst, name, env_extra=None):
    """`popbridge account test NAME` that must fail: exit 1 and stderr
    "popbridge: account: NAME: <sentence>"; returns the sentence."""
    env = None
    if env_extra:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in env_extra.items()})
    r = inst.cli("account", "test", name, env=env)
    assert r.returncode == 1, "account test %s: exit %d, expected 1\n%s%s" % (
        name, r.returncode, text(r.stdout), text(r.stderr))
    prefix = "popbridge: account: %s: " % name
    mine = [ln for ln in text(r.stderr).splitlines() if ln.startswith(prefix)]
    assert len(mine) == 1, text(r.stderr)
    return mine[0][len(prefix):]
