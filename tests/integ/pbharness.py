"""tests/integ/pbharness.py: the integration test harness of popbridge.

Shared by every tests/integ/test_*.py (through the fixtures of
conftest.py). Standard library only.

What it gives:
  - Instance: one data directory with its config file on free loopback
    ports; init(), cli() (any `popbridge` command on that data directory),
    start()/stop() of `popbridge serve` as a subprocess, and checks that the
    server is alive and that its stderr has no sanitizer report.
  - RawIMAP: a socket IMAP client for exact-bytes tests: send bytes, read
    whole responses (literals included), run tagged commands.
  - imaplib helpers (imap_login) and an IMAP response parser (parse_sexp,
    parse_fetch) for structure checks (ENVELOPE, BODYSTRUCTURE, ...).
  - mbox writing and `popbridge import`.

Environment:
  POPBRIDGE       the binary (default: ../../build/popbridge)
  PB_LOG_LEVEL    the server's [log] level (default: info)
  PB_START_SECS   how long to wait for the server's ports (default: 20)
"""

import contextlib
import imaplib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("POPBRIDGE") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "popbridge"))
LOG_LEVEL = os.environ.get("PB_LOG_LEVEL", "info")
START_SECS = float(os.environ.get("PB_START_SECS", "20"))

USER = "alice"
PASSWORD = "Secret-pw-42"

# Lines in a process's stderr that mean a sanitizer found something.
SANITIZER_PATTERNS = (
    "runtime error",
    "AddressSanitizer",
    "LeakSanitizer",
    "UndefinedBehaviorSanitizer",
)

# Every Instance alive in this pytest process (for failure reports).
LIVE = []


class HarnessError(AssertionError):
    """A check of the harness failed (server died, sanitizer report)."""


def sanitizer_lines(text):
    """The lines of text that are sanitizer reports."""
    out = []
    for line in text.splitlines():
        if any(p in line for p in SANITIZER_PATTERNS):
            out.append(line)
    return out


def sanitizer_report(text, max_lines=120):
    """The sanitizer reports in text: each flagged line with the stack
    that follows it (up to max_lines in all)."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines) and len(out) < max_lines:
        if any(p in lines[i] for p in SANITIZER_PATTERNS):
            j = i
            out.append(lines[j])
            j += 1
            while (j < len(lines) and len(out) < max_lines and
                   not lines[j].startswith("20") and
                   not any(p in lines[j] for p in ("runtime error",))):
                out.append(lines[j])
                j += 1
            i = j
        else:
            i += 1
    return "\n".join(out)


def free_port():
    """A TCP port free on 127.0.0.1 right now (bind 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free ports."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it is true or timeout seconds pass; returns its
    last value (truthy) or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Instance:
    """A popbridge data directory, config file and (optionally) server.

    Attributes: dir (scratch directory), data (data directory), conf
    (config file), imap_port, imaps_port, web_port, user, password,
    password_file, cert (data/tls/cert.pem), proc (the serve process).
    """

    def __init__(self, base_dir=None, plaintext_login="loopback",
                 user=USER, password=PASSWORD, extra_config="",
                 name="pb"):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="pbinteg-")
        self.dir = os.path.abspath(base_dir)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "popbridge-test.conf")
        self.user = user
        self.password = password
        self.password_file = os.path.join(self.dir, "password")
        self.stderr_path = os.path.join(self.dir, "serve.stderr")
        self.plaintext_login = plaintext_login
        self.extra_config = extra_config
        self.imap_port, self.imaps_port, self.web_port = free_ports(3)
        self.proc = None
        self.stopped_ok = True
        self.cli_sanitizer = []  # sanitizer lines seen in CLI runs
        self.restarts = 0
        with open(self.password_file, "w") as f:
            f.write(password + "\n")
        os.chmod(self.password_file, 0o600)
        self.write_config()

    # ---- files ----

    @property
    def cert(self):
        return os.path.join(self.data, "tls", "cert.pem")

    def write_config(self, plaintext_login=None, extra=None):
        if plaintext_login is not None:
            self.plaintext_login = plaintext_login
        if extra is not None:
            self.extra_config = extra
        text = ("[store]\n"
                "data_dir = %s\n"
                "[imap]\n"
                "listen = 127.0.0.1:%d\n"
                "listen_tls = 127.0.0.1:%d\n"
                "plaintext_login = %s\n"
                "[web]\n"
                "listen = 127.0.0.1:%d\n"
                "[log]\n"
                "level = %s\n"
                % (self.data, self.imap_port, self.imaps_port,
                   self.plaintext_login, self.web_port, LOG_LEVEL))
        text += self.extra_config
        with open(self.conf, "w") as f:
            f.write(text)

    # ---- commands ----

    def cli(self, *args, input=None, timeout=120, config=True, check=False,
            env=None):
        """Runs `popbridge [--config C] ARGS`; returns CompletedProcess
        (stdout/stderr as bytes). Sanitizer lines in stderr are recorded
        and fail the test at the instance's check."""
        argv = [BINARY]
        if config:
            argv += ["--config", self.conf]
        argv += [str(a) for a in args]
        r = subprocess.run(argv, input=input, capture_output=True,
                           timeout=timeout, env=env)
        err = r.stderr.decode("utf-8", "replace")
        if sanitizer_lines(err):
            self.cli_sanitizer.append("%s:\n%s" % (" ".join(argv[1:]),
                                                   sanitizer_report(err)))
        if check and r.returncode != 0:
            raise AssertionError(
                "popbridge %s failed (exit %d)\nstdout: %s\nstderr: %s"
                % (" ".join(argv[1:]), r.returncode,
                   r.stdout.decode("utf-8", "replace"),
                   r.stderr.decode("utf-8", "replace")))
        return r

    def init(self):
        """`popbridge init --data D --user U --password-file F`."""
        return self.cli("init", "--data", self.data, "--user", self.user,
                        "--password-file", self.password_file, config=False,
                        check=True)

    def import_path(self, folder, path, check=True):
        return self.cli("import", "--folder", folder, path, check=check)

    def import_messages(self, folder, messages, check=True):
        """Writes messages (bytes) as an mbox and imports it."""
        fd, path = tempfile.mkstemp(prefix="import-", suffix=".mbox",
                                    dir=self.dir)
        with os.fdopen(fd, "wb") as f:
            f.write(mbox_bytes(messages))
        return self.import_path(folder, path, check=check)

    # ---- the server ----

    def start(self):
        assert self.proc is None, "server already started"
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--config", self.conf],
            stdin=subprocess.DEVNULL, stdout=self.stderr_file,
            stderr=self.stderr_file, start_new_session=True)
        self.stopped_ok = True
        LIVE.append(self)
        deadline = time.monotonic() + START_SECS
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._close_stderr()
                self.proc = None
                LIVE.remove(self)
                raise HarnessError(
                    "popbridge serve exited at start (status %s)\n%s"
                    % (rc, self.stderr_text()))
            if port_accepts(self.imap_port) and port_accepts(self.imaps_port):
                return self
            if time.monotonic() >= deadline:
                self.stop()
                raise HarnessError(
                    "popbridge serve did not listen within %.0f s\n%s"
                    % (START_SECS, self.stderr_text()))
            time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_stderr(self):
        f = getattr(self, "stderr_file", None)
        if f is not None:
            f.close()
            self.stderr_file = None

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Returns the exit status (None
        when it was not running). Sets stopped_ok to False when it had to
        be killed."""
        if self.proc is None:
            return None
        p = self.proc
        rc = p.poll()
        if rc is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.stopped_ok = False
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                rc = p.wait(timeout=10)
        self.proc = None
        self._close_stderr()
        if self in LIVE:
            LIVE.remove(self)
        self.last_status = rc
        return rc

    def kill(self, sig=signal.SIGKILL):
        """Kills the server with sig (default SIGKILL: a crash of the
        machine as far as the store is concerned) and forgets it."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        self.proc = None
        self._close_stderr()
        if self in LIVE:
            LIVE.remove(self)
        return rc

    def restart(self):
        self.stop()
        self.restarts += 1
        return self.start()

    def stderr_text(self, tail=None):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        if tail is not None and len(text) > tail:
            text = "...\n" + text[-tail:]
        return text

    def problems(self):
        """What is wrong with this instance so far: sanitizer lines in the
        server's stderr or in CLI runs. A list of strings."""
        out = []
        text = self.stderr_text()
        if sanitizer_lines(text):
            out.append("sanitizer report in popbridge serve's stderr (leaks "
                       "show at its exit, so at the end of the module):\n"
                       + sanitizer_report(text))
        out.extend(self.cli_sanitizer)
        return out

    def check_alive(self):
        """Raises HarnessError when the server died (a crash)."""
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            self.proc = None
            self._close_stderr()
            if self in LIVE:
                LIVE.remove(self)
            raise HarnessError(
                "popbridge serve died (status %s%s)\n--- stderr ---\n%s"
                % (rc, ", signal %d" % -rc if rc < 0 else "",
                   self.stderr_text(tail=20000)))

    def finish(self):
        """Teardown: checks it is alive, stops it, checks stderr."""
        errs = []
        try:
            self.check_alive()
        except HarnessError as e:
            errs.append(str(e))
        was_running = self.proc is not None
        self.stop()
        if was_running and not self.stopped_ok:
            errs.append("popbridge serve did not stop within 5 s of "
                        "SIGTERM (killed)")
        errs.extend(self.problems())
        if errs:
            raise HarnessError("\n\n".join(errs) + "\n--- stderr tail ---\n"
                               + self.stderr_text(tail=3000))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- clients ----

    def raw(self, tls=False, starttls=False, timeout=10, login=False):
        """A RawIMAP on the plain port (or the TLS port with tls=True)
        with the greeting read. login=True logs in."""
        if tls:
            c = RawIMAP("127.0.0.1", self.imaps_port,
                        ssl_context=self.ssl_context(), timeout=timeout)
        else:
            c = RawIMAP("127.0.0.1", self.imap_port, timeout=timeout)
        if login:
            c.login(self.user, self.password)
        return c

    def ssl_context(self):
        """Trusts the instance's self-signed certificate (no host name
        check: the certificate names the machine, we dial 127.0.0.1)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def imap(self, login=True, tls=False, timeout=10):
        """An imaplib client (logged in unless login=False)."""
        if tls:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port,
                                  ssl_context=self.ssl_context(),
                                  timeout=timeout)
        else:
            m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=timeout)
        if login:
            typ, data = m.login(self.user, self.password)
            assert typ == "OK", data
        return m


# ---------------------------------------------------------------------------
# Raw IMAP client

LITERAL_RE = re.compile(rb"~?\{(\d+)\+?\}\r?\n?$")


class IMAPClosed(AssertionError):
    pass


class RawIMAP:
    """A byte-level IMAP client. Responses are bytes without the final
    CRLF; a response with literals holds them inline ("... {5}\\r\\nhello
    rest-of-line")."""

    def __init__(self, host, port, ssl_context=None, timeout=10,
                 read_greeting=True):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:
            self.sock = ssl_context.wrap_socket(self.sock)
        self.buf = b""
        self.ntag = 0
        self.eof = False
        self.greeting = self.read_response() if read_greeting else None

    # ---- low level ----

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out; buffered: %r" % self.buf[-300:])
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise socket.timeout("timed out; buffered: %r" % self.buf[-300:])
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise IMAPClosed("connection closed by the server; buffered: %r"
                             % self.buf[-300:])
        self.buf += chunk

    def read_line(self, timeout=None):
        """One line without CRLF (a bare LF also ends it)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = self.buf[:i]
                self.buf = self.buf[i + 1:]
                return line[:-1] if line.endswith(b"\r") else line
            self._fill(deadline)

    def read_bytes(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _parse_response(self):
        """Length of the first whole response in buf (with its CRLF), or
        None when incomplete."""
        pos = 0
        while True:
            i = self.buf.find(b"\n", pos)
            if i < 0:
                return None
            line = self.buf[pos:i + 1]
            m = LITERAL_RE.search(line.rstrip(b"\r\n") + b"")
            if m and not (pos == 0 and line.startswith(b"+")):
                n = int(m.group(1))
                if len(self.buf) < i + 1 + n:
                    return None
                pos = i + 1 + n
                continue
            return i + 1

    def read_response(self, timeout=None):
        """One whole response without its final CRLF: a line, plus its
        literals and the lines after them. Nothing is consumed until the
        response is complete (a timeout loses nothing)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            n = self._parse_response()
            if n is not None:
                r, self.buf = self.buf[:n], self.buf[n:]
                if r.endswith(b"\r\n"):
                    return r[:-2]
                return r[:-1]
            self._fill(deadline)

    def pending(self, wait=0.0):
        """What the server sent without being asked, within wait seconds
        (whole responses only)."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            if b"\n" in self.buf:
                out.append(self.read_response())
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.sock.setblocking(False)
                try:
                    chunk = self.sock.recv(262144)
                except (BlockingIOError, ssl.SSLWantReadError):
                    chunk = None
                finally:
                    self.sock.setblocking(True)
                if chunk == b"":
                    self.eof = True
                    return out
                if chunk:
                    self.buf += chunk
                    continue
                return out
            try:
                self._fill(time.monotonic() + remaining)
            except socket.timeout:
                return out
            except IMAPClosed:
                return out

    def next_tag(self):
        self.ntag += 1
        return "t%d" % self.ntag

    def read_until_tagged(self, tag, timeout=None):
        """(untagged responses, the tagged line) for tag."""
        if isinstance(tag, str):
            tag = tag.encode()
        untagged = []
        while True:
            r = self.read_response(timeout)
            if r.startswith(tag + b" "):
                return untagged, r
            untagged.append(r)

    def cmd(self, text, tag=None, timeout=None):
        """Sends "TAG text\\r\\n" and reads up to the tagged reply.
        Returns (untagged list, tagged line); both bytes."""
        if tag is None:
            tag = self.next_tag()
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.read_until_tagged(tag, timeout)

    def ok(self, text, timeout=None):
        """cmd() that asserts a tagged OK; returns the untagged list."""
        untagged, tagged = self.cmd(text, timeout=timeout)
        status = tagged.split(b" ", 2)[1] if b" " in tagged else b""
        assert status == b"OK", "%r -> %r (untagged: %r)" % (
            text, tagged, untagged[-5:])
        return untagged

    def cmd_literals(self, parts, tag=None, timeout=None):
        """A command with synchronising literals. parts alternates text
        and literal data: [text0, lit0, text1, lit1, ..., textN]; each
        text before a literal must end with "{N}". Waits for "+" before
        each literal. Returns (untagged, tagged); when the server answers
        a literal with the tagged reply instead of "+", returns at once."""
        if tag is None:
            tag = self.next_tag()
        btag = tag.encode()
        enc = [p.encode() if isinstance(p, str) else p for p in parts]
        self.send(btag + b" " + enc[0] + b"\r\n")
        untagged = []
        for i in range(1, len(enc), 2):
            while True:
                r = self.read_response(timeout)
                if r.startswith(b"+"):
                    break
                if r.startswith(btag + b" "):
                    return untagged, r
                untagged.append(r)
            nxt = enc[i + 1] if i + 1 < len(enc) else b""
            self.send(enc[i] + nxt + b"\r\n")
        u, t = self.read_until_tagged(tag, timeout)
        return untagged + u, t

    def login(self, user, password):
        u, t = self.cmd("LOGIN %s %s" % (quote(user), quote(password)))
        assert t.split(b" ")[1] == b"OK", t
        return u, t

    def wait_closed(self, timeout=5):
        """True when the server closes the connection within timeout
        (what it sent before is kept in self.buf)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except IMAPClosed:
                return True
            except (socket.timeout, ssl.SSLError, OSError):
                return self.eof


def quote(s):
    """An IMAP quoted string."""
    if isinstance(s, bytes):
        s = s.decode()
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tagged_status(tagged):
    """b"t1 OK [X] text" -> "OK"."""
    parts = tagged.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else ""


def resp_code(tagged):
    """The response code of a tagged or untagged status line: "TOOBIG",
    "APPENDUID 3 5", ... or None."""
    m = re.match(rb"^\S+ (?:OK|NO|BAD|BYE|PREAUTH) \[([^\]]*)\]", tagged)
    return m.group(1).decode() if m else None


# ---------------------------------------------------------------------------
# Parsing IMAP data (response text after "* N FETCH " and the like)

class Atom(bytes):
    """An atom in a parsed response (a string is plain bytes)."""


def parse_sexp(data, pos=0):
    """Parses a sequence of IMAP values starting at data[pos:] up to the
    end or an unmatched ')'. Returns (list, pos). Atoms are Atom, strings
    and literals bytes, NIL None, lists Python lists. An atom with '['
    runs to the matching ']' (BODY[HEADER.FIELDS (A B)]<0>)."""
    out = []
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c in (b" ", b"\r", b"\n"):
            pos += 1
            continue
        if c == b")":
            return out, pos
        if c == b"(":
            lst, pos = parse_sexp(data, pos + 1)
            if pos >= n or data[pos:pos + 1] != b")":
                raise ValueError("missing ) in %r" % data[:200])
            out.append(lst)
            pos += 1
            continue
        if c == b'"':
            pos += 1
            s = bytearray()
            while True:
                if pos >= n:
                    raise ValueError("unterminated string in %r" % data[:200])
                ch = data[pos:pos + 1]
                if ch == b"\\":
                    s += data[pos + 1:pos + 2]
                    pos += 2
                    continue
                if ch == b'"':
                    pos += 1
                    break
                s += ch
                pos += 1
            out.append(bytes(s))
            continue
        if c == b"{" or (c == b"~" and data[pos + 1:pos + 2] == b"{"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, pos)
            if not m:
                raise ValueError("bad literal at %r" % data[pos:pos + 40])
            ln = int(m.group(1))
            start = m.end()
            out.append(bytes(data[start:start + ln]))
            pos = start + ln
            continue
        # atom
        start = pos
        depth = 0
        while pos < n:
            ch = data[pos:pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in (b" ", b"(", b")", b"\r", b"\n"):
                break
            pos += 1
        a = data[start:pos]
        out.append(None if a.upper() == b"NIL" else Atom(a))
    return out, pos


def parse_fetch(resp):
    """b"* 3 FETCH (UID 5 FLAGS (\\Seen) BODY[] {3}\\r\\nabc)" ->
    (3, {"UID": b"5", "FLAGS": [...], "BODY[]": b"abc"}). Keys are upper-
    cased with runs of spaces squeezed."""
    m = re.match(rb"^\* (\d+) FETCH ", resp)
    if not m:
        raise ValueError("not a FETCH response: %r" % resp[:200])
    vals, pos = parse_sexp(resp, m.end())
    if len(vals) != 1 or not isinstance(vals[0], list):
        raise ValueError("bad FETCH response: %r" % resp[:300])
    items = vals[0]
    if len(items) % 2:
        raise ValueError("odd FETCH item list: %r" % resp[:300])
    d = {}
    for i in range(0, len(items), 2):
        k = re.sub(rb"\s+", b" ", bytes(items[i])).upper().decode("latin-1")
        d[k] = items[i + 1]
    return int(m.group(1)), d


def fetches(untagged):
    """{seq: items} of the FETCH responses in untagged (merged)."""
    out = {}
    for r in untagged:
        if re.match(rb"^\* \d+ FETCH ", r):
            seq, d = parse_fetch(r)
            out.setdefault(seq, {}).update(d)
    return out


def flagset(v):
    """A parsed FLAGS list -> set of str, system flags case-folded."""
    out = set()
    for f in v:
        s = bytes(f).decode()
        out.add("\\" + s[1:].capitalize() if s.startswith("\\") else s)
    return out


def parse_seqset(s):
    """b"1:3,7" -> {1, 2, 3, 7} (no '*')."""
    if isinstance(s, bytes):
        s = s.decode()
    out = set()
    for part in s.split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


def search_result(untagged):
    """The numbers of a "* SEARCH ..." response (sorted list)."""
    for r in untagged:
        if r.startswith(b"* SEARCH"):
            nums = []
            for tok in r[len(b"* SEARCH"):].split():
                if tok.startswith(b"("):
                    break
                nums.append(int(tok))
            return sorted(nums)
    raise AssertionError("no SEARCH response in %r" % untagged)


def esearch(untagged):
    """{"TAG": ..., "UID": True, "MIN": 2, "ALL": {..}, ...} of the
    ESEARCH response."""
    for r in untagged:
        if r.startswith(b"* ESEARCH"):
            vals, _ = parse_sexp(r, len(b"* ESEARCH"))
            d = {}
            i = 0
            if vals and isinstance(vals[0], list):
                corr = vals[0]
                if len(corr) == 2 and bytes(corr[0]).upper() == b"TAG":
                    d["TAG"] = bytes(corr[1]).decode()
                i = 1
            while i < len(vals):
                k = bytes(vals[i]).upper().decode()
                if k == "UID":
                    d["UID"] = True
                    i += 1
                    continue
                v = vals[i + 1]
                if k in ("ALL", "PARTIAL"):
                    d[k] = parse_seqset(v)
                elif k in ("MIN", "MAX", "COUNT", "MODSEQ"):
                    d[k] = int(v)
                else:
                    d[k] = v
                i += 2
            return d
    raise AssertionError("no ESEARCH response in %r" % untagged)


def status_items(untagged, folder=None):
    """{"MESSAGES": 3, ...} of the (first matching) STATUS response."""
    for r in untagged:
        if r.startswith(b"* STATUS "):
            vals, _ = parse_sexp(r, len(b"* STATUS "))
            name = bytes(vals[0])
            if folder is not None:
                f = folder.encode() if isinstance(folder, str) else folder
                if name != f:
                    continue
            lst = vals[1]
            return {bytes(lst[i]).upper().decode(): int(lst[i + 1])
                    for i in range(0, len(lst), 2)}
    raise AssertionError("no STATUS response for %r in %r"
                         % (folder, untagged))


def list_entries(untagged, kind=b"LIST"):
    """{name (bytes): (set of attributes, lower-cased str; delimiter)}."""
    out = {}
    prefix = b"* " + kind + b" "
    for r in untagged:
        if r.startswith(prefix):
            vals, _ = parse_sexp(r, len(prefix))
            attrs = {bytes(a).decode().lower() for a in vals[0]}
            delim = vals[1]
            name = bytes(vals[2])
            out[name] = (attrs, delim)
    return out


# ---------------------------------------------------------------------------
# Messages and mbox

def make_message(subject="Test", frm="Alice Example <alice@example.org>",
                 to="Bob <bob@example.net>", date="Mon, 7 Feb 1994 21:52:25 "
                 "-0800", body="Hello.\r\n", headers=(), msgid=None):
    """A simple RFC 5322 message (bytes, CRLF)."""
    lines = ["From: %s" % frm, "To: %s" % to, "Subject: %s" % subject,
             "Date: %s" % date]
    if msgid:
        lines.append("Message-ID: %s" % msgid)
    lines.extend(headers)
    text = "\r\n".join(lines) + "\r\n\r\n"
    b = body.encode() if isinstance(body, str) else body
    return text.encode() + b


def mbox_bytes(messages):
    """An mboxrd file of the messages (bytes). A body line matching
    ^>*From  gets one more '>'."""
    out = bytearray()
    for m in messages:
        out += b"From MAILER-DAEMON Thu Jan  1 00:00:00 2020\n"
        lines = m.split(b"\n")
        for i, line in enumerate(lines):
            if re.match(rb"^>*From ", line):
                line = b">" + line
            out += line
            if i < len(lines) - 1:
                out += b"\n"
        if not m.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    return bytes(out)


def append(conn, folder, msg, flags=None, date=None):
    """APPEND through a RawIMAP with a synchronising literal; returns
    (untagged, tagged)."""
    head = "APPEND %s" % quote(folder)
    if flags is not None:
        head += " (%s)" % flags
    if date is not None:
        head += ' "%s"' % date
    head += " {%d}" % len(msg)
    return conn.cmd_literals([head, msg])


def appenduid(tagged):
    """(uidvalidity, uid) of "[APPENDUID v u]"."""
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", tagged)
    assert m, "no APPENDUID in %r" % tagged
    return int(m.group(1)), int(m.group(2))


class Reader(threading.Thread):
    """Reads a socket-like RawIMAP in the background, recording
    (monotonic time, response) pairs; for IDLE tests."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn
        self.got = []
        self.lock = threading.Lock()
        self.stop_flag = False
        self.error = None

    def run(self):
        while not self.stop_flag:
            try:
                r = self.conn.read_response(timeout=0.2)
            except socket.timeout:
                continue
            except Exception as e:  # closed
                self.error = e
                return
            with self.lock:
                self.got.append((time.monotonic(), r))

    def find(self, pred):
        with self.lock:
            for t, r in self.got:
                if pred(r):
                    return t, r
        return None

    def responses(self):
        with self.lock:
            return [r for _, r in self.got]


_folder_counter = [0]


def unique_folder(prefix="T"):
    """A folder name not used before in this pytest process."""
    _folder_counter[0] += 1
    return "%s%d-%d" % (prefix, os.getpid() % 1000, _folder_counter[0])


def create_folder(conn, prefix="T"):
    """CREATE a fresh folder through a RawIMAP; returns its name."""
    name = unique_folder(prefix)
    conn.ok("CREATE %s" % quote(name))
    return name


def caps_of(line):
    """The capability names (upper-cased set) in a greeting's or a tagged
    OK's [CAPABILITY ...] code, or in a "* CAPABILITY ..." line."""
    m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
    if m:
        text = m.group(1)
    elif line.startswith(b"* CAPABILITY "):
        text = line[len(b"* CAPABILITY "):]
    else:
        raise AssertionError("no capabilities in %r" % line)
    return {t.upper().decode() for t in text.split()}
