"""tests/integ/fakepop3.py: a small scripted, misbehaving POP3 server
(RFC 1939 / 2449) for what Dovecot never does, in the spirit of curl's
tests/data/test850: a scenario is a list of steps (a regular expression
the client's next command must match, and what the server does then).
Threads, standard library only. Plaintext only (the poller's account uses
--tls none --allow-plaintext).

  drop = Maildrop([(b"uidl-1", message_bytes), ...])
  with FakePOP3(drop) as srv:            # srv.port on 127.0.0.1
      srv.push(Scenario(steps=[
          (r"^UIDL$", b"+OK\\r\\n1 \\x01\\x02garbage\\r\\n.\\r\\n"),
      ]))
      ... poll ...                        # this session misbehaves
      ... poll ...                        # later sessions: a good server

Each connection takes the next pushed Scenario (then the default, a good
server). In a session, the greeting is sent (Scenario.greeting), then each
client command is matched against the scenario's next step: on a match
the step's action runs and the step is used up; otherwise the Maildrop
answers as a well-behaved server would (so a script only names the
commands where it misbehaves, whatever order the client uses for the
rest). With Scenario(strict=True) an unmatched command is answered
"-ERR" and recorded in srv.unexpected.

Actions: bytes (sent as is), CLOSE (close the connection), HANG (send
nothing more, keep the connection open until the server stops or
hang_secs pass), Sleep(secs), a callable(session, match) returning more
actions, or a list of these done in order.

Also CapaFilterProxy: a TCP relay in front of a real server that removes
lines from its CAPA answer (e.g. SASL) and the APOP timestamp from its
greeting, to make a real Dovecot offer only USER/PASS.
"""

import base64
import contextlib
import hashlib
import re
import socket
import threading
import time

DEFAULT_PASSWORD = "fake-pw-1"
MAX_CMD_LINE = 64 * 1024

CLOSE = object()
HANG = object()


class Sleep:
    def __init__(self, secs):
        self.secs = secs


def crlf(data):
    """LF or CRLF line ends -> CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dot_stuff(data):
    """RFC 1939 byte-stuffing of a CRLF message, without the final '.'."""
    data = crlf(data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")[:-1]
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n"
                    for ln in lines)


def retr_reply(data, stuff=True):
    """A whole RETR answer for data: status, (stuffed) lines, '.'."""
    body = dot_stuff(data) if stuff else crlf(data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return b"+OK %d octets\r\n" % len(crlf(data)) + body + b".\r\n"


class Maildrop:
    """The server's mail and behaviour as a good server; shared by the
    sessions (DELEs happen at QUIT, as RFC 1939 says).

    messages: list of [uidl, CRLF bytes]. capa: the CAPA lines, or None
    for a server without CAPA (it answers -ERR). uidl / top: whether those
    commands work. apop: put a timestamp in the greeting and accept APOP.
    """

    def __init__(self, messages=(), password=DEFAULT_PASSWORD, user=None,
                 capa=("TOP", "UIDL", "USER", "RESP-CODES",
                       "AUTH-RESP-CODE"),
                 uidl=True, top=True, apop=False):
        self.lock = threading.Lock()
        self.messages = [[u, crlf(m)] for u, m in messages]
        self.password = password
        self.user = user
        self.capa = list(capa) if capa is not None else None
        self.uidl = uidl
        self.top = top
        self.apop = apop
        self.retrieved = []  # uidls RETR'd, in order, over all sessions
        self.deleted = []    # uidls removed at a QUIT

    def add(self, uidl, data):
        with self.lock:
            self.messages.append([uidl, crlf(data)])

    def uidls(self):
        with self.lock:
            return [u for u, _ in self.messages]

    def size(self, uidl):
        with self.lock:
            for u, m in self.messages:
                if u == uidl:
                    return len(m)
        raise KeyError(uidl)


class Scenario:
    """steps: [(regex, action), ...] (regex matched case-insensitively at
    the start of the command line without CRLF). greeting: an action
    (default "+OK fake POP3 server ready", with an APOP timestamp when
    the maildrop does APOP)."""

    def __init__(self, steps=(), greeting=None, strict=False, name=None):
        self.steps = [(re.compile(rx, re.I), act) for rx, act in steps]
        self.greeting = greeting
        self.strict = strict
        self.name = name or "scenario"


class Session:
    """One connection: its scenario, the commands it got, how it ended."""

    def __init__(self, server, sock, scenario):
        self.server = server
        self.sock = sock
        self.scenario = scenario
        self.steps = list(scenario.steps)
        self.commands = []
        self.ended = None  # "quit", "client closed", "closed by script", ...
        self.done = threading.Event()
        self.buf = b""
        self.stamp = None
        self.authed = False
        self.user = None
        self.snapshot = []   # [uidl, data] at login
        self.dele = set()    # message numbers marked

    # ---- I/O ----

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_CMD_LINE:
                raise ConnectionError("command line too long")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def do(self, action, match=None):
        """Runs an action; returns False when the session must end."""
        if isinstance(action, (list, tuple)):
            for a in action:
                if not self.do(a, match):
                    return False
            return True
        if action is CLOSE:
            self.ended = "closed by script"
            return False
        if action is HANG:
            self.ended = "hung"
            self.server.stopping.wait(self.server.hang_secs)
            return False
        if isinstance(action, Sleep):
            self.server.stopping.wait(action.secs)
            return True
        if callable(action):
            return self.do(action(self, match), match)
        if isinstance(action, str):
            action = action.encode()
        self.send(action)
        return True

    # ---- the good server ----

    def greeting(self):
        drop = self.server.drop
        if drop.apop:
            self.stamp = b"<%d.%d@fake.example>" % (id(self) % 100000,
                                                     int(time.time()))
            return b"+OK fake POP3 server ready " + self.stamp + b"\r\n"
        return b"+OK fake POP3 server ready\r\n"

    def _login(self):
        drop = self.server.drop
        with drop.lock:
            self.snapshot = [list(m) for m in drop.messages]
        self.authed = True
        return b"+OK logged in\r\n"

    def _msg(self, arg):
        try:
            n = int(arg)
        except (TypeError, ValueError):
            return None, b"-ERR bad message number\r\n"
        if n < 1 or n > len(self.snapshot) or n in self.dele:
            return None, b"-ERR no such message\r\n"
        return n, None

    def good(self, line):
        """The answer of a well-behaved server to line (bytes), or a list
        of actions."""
        drop = self.server.drop
        parts = line.decode("latin-1").split()
        if not parts:
            return b"-ERR empty command\r\n"
        cmd = parts[0].upper()
        args = parts[1:]
        if cmd == "CAPA":
            if drop.capa is None:
                return b"-ERR unknown command\r\n"
            return (b"+OK capability list follows\r\n" +
                    b"".join(c.encode() + b"\r\n" for c in drop.capa) +
                    b".\r\n")
        if cmd == "QUIT":
            if self.authed:
                with drop.lock:
                    gone = [self.snapshot[n - 1][0] for n in self.dele]
                    drop.messages = [m for m in drop.messages
                                     if m[0] not in gone]
                    drop.deleted.extend(gone)
            self.ended = "quit"
            return [b"+OK bye\r\n", CLOSE]
        if cmd == "NOOP":
            return b"+OK\r\n"
        if cmd == "STLS":
            return b"-ERR STLS not available\r\n"
        if not self.authed:
            if cmd == "USER" and args:
                self.user = args[0]
                return b"+OK\r\n"
            if cmd == "PASS":
                pw = line.decode("latin-1")[5:]
                if self.user is not None and pw == drop.password and (
                        drop.user is None or self.user == drop.user):
                    return self._login()
                return b"-ERR [AUTH] invalid user name or password\r\n"
            if cmd == "APOP" and len(args) == 2 and self.stamp:
                want = hashlib.md5(self.stamp +
                                   drop.password.encode()).hexdigest()
                if args[1].lower() == want:
                    return self._login()
                return b"-ERR [AUTH] authentication failed\r\n"
            if cmd == "AUTH" and len(args) == 2 and args[0].upper() == \
                    "PLAIN":
                try:
                    raw = base64.b64decode(args[1])
                    _, u, p = raw.split(b"\0")
                except ValueError:
                    return b"-ERR bad AUTH PLAIN\r\n"
                if p.decode("latin-1") == drop.password:
                    return self._login()
                return b"-ERR [AUTH] authentication failed\r\n"
            return b"-ERR not logged in\r\n"
        live = [n for n in range(1, len(self.snapshot) + 1)
                if n not in self.dele]
        if cmd == "STAT":
            return b"+OK %d %d\r\n" % (
                len(live), sum(len(self.snapshot[n - 1][1]) for n in live))
        if cmd in ("LIST", "UIDL"):
            if cmd == "UIDL" and not drop.uidl:
                return b"-ERR unknown command\r\n"

            def one(n):
                if cmd == "LIST":
                    return b"%d %d" % (n, len(self.snapshot[n - 1][1]))
                u = self.snapshot[n - 1][0]
                return b"%d %s" % (n, u if isinstance(u, bytes)
                                   else u.encode())
            if args:
                n, err = self._msg(args[0])
                return err or b"+OK " + one(n) + b"\r\n"
            return (b"+OK %d messages\r\n" % len(live) +
                    b"".join(one(n) + b"\r\n" for n in live) + b".\r\n")
        if cmd == "RETR" and args:
            n, err = self._msg(args[0])
            if err:
                return err
            with drop.lock:
                drop.retrieved.append(self.snapshot[n - 1][0])
            return retr_reply(self.snapshot[n - 1][1])
        if cmd == "TOP" and len(args) == 2 and drop.top:
            n, err = self._msg(args[0])
            if err:
                return err
            data = self.snapshot[n - 1][1]
            head, _, body = data.partition(b"\r\n\r\n")
            k = int(args[1])
            blines = body.split(b"\r\n")[:k] if k else []
            part = head + b"\r\n\r\n" + b"".join(x + b"\r\n" for x in blines)
            return b"+OK\r\n" + dot_stuff(part) + b".\r\n"
        if cmd == "DELE" and args:
            n, err = self._msg(args[0])
            if err:
                return err
            self.dele.add(n)
            return b"+OK marked\r\n"
        if cmd == "RSET":
            self.dele = set()
            return b"+OK\r\n"
        return b"-ERR unknown command\r\n"

    # ---- the loop ----

    def run(self):
        try:
            g = self.scenario.greeting
            if g is None:
                g = self.greeting()
            if not self.do(g):
                return
            while True:
                try:
                    line = self.readline()
                except EOFError:
                    self.ended = "client closed"
                    return
                self.commands.append(line.decode("latin-1"))
                text = line.decode("latin-1")
                if self.steps:
                    rx, act = self.steps[0]
                    m = rx.match(text)
                    if m:
                        self.steps.pop(0)
                        if not self.do(act, m):
                            return
                        continue
                if self.scenario.strict:
                    self.server.unexpected.append((self.scenario.name,
                                                   text))
                    if not self.do(b"-ERR unexpected command\r\n"):
                        return
                    continue
                if not self.do(self.good(line)):
                    return
        except (ConnectionError, OSError) as e:
            if self.ended is None:
                self.ended = "error: %s" % e
        finally:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
            self.done.set()


class FakePOP3:
    """The server: listens on 127.0.0.1:port (0 = any free port)."""

    def __init__(self, drop=None, port=0, hang_secs=60):
        self.drop = drop if drop is not None else Maildrop()
        self.hang_secs = hang_secs
        self.queue = []
        self.default = Scenario(name="good")
        self.sessions = []
        self.unexpected = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.thread = None

    def push(self, *scenarios):
        """The next connections get these scenarios, in order."""
        with self.lock:
            self.queue.extend(scenarios)

    def start(self):
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def _accept(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(None)
            with self.lock:
                sc = self.queue.pop(0) if self.queue else self.default
                sess = Session(self, s, sc)
                self.sessions.append(sess)
            threading.Thread(target=sess.run, daemon=True).start()

    def wait_sessions(self, n, timeout=30):
        """Waits until n sessions have ended; returns the sessions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                s = list(self.sessions)
            if len(s) >= n and all(x.done.is_set() for x in s[:n]):
                return s
            time.sleep(0.02)
        raise AssertionError("fake POP3: %d sessions did not end within "
                             "%d s (have %d)" % (n, timeout,
                                                 len(self.sessions)))

    def stop(self):
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.lsock.close()
        with self.lock:
            sessions = list(self.sessions)
        for s in sessions:
            with contextlib.suppress(OSError):
                s.sock.shutdown(socket.SHUT_RDWR)
        if self.thread is not None:
            self.thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class CapaFilterProxy:
    """Relays 127.0.0.1:port to a plaintext POP3 server on 127.0.0.1
    upstream_port, removing from CAPA answers the lines whose first word
    is in drop, and with strip_apop the <timestamp> of the greeting."""

    def __init__(self, upstream_port, drop=("SASL",), strip_apop=False):
        self.upstream_port = upstream_port
        self.drop = {d.upper() for d in drop}
        self.strip_apop = strip_apop
        self.stopping = threading.Event()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            try:
                u = socket.create_connection(("127.0.0.1",
                                              self.upstream_port))
            except OSError:
                c.close()
                continue
            self.socks += [c, u]
            state = {"capa": 0}
            threading.Thread(target=self._up, args=(c, u, state),
                             daemon=True).start()
            threading.Thread(target=self._down, args=(u, c, state),
                             daemon=True).start()

    def _up(self, c, u, state):
        buf = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.rstrip(b"\r").upper() == b"CAPA":
                        state["capa"] += 1
                    u.sendall(line + b"\n")
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                u.shutdown(socket.SHUT_WR)

    def _down(self, u, c, state):
        buf = b""
        first = True
        in_capa = False
        try:
            while True:
                chunk = u.recv(65536)
                if not chunk:
                    break
                buf += chunk
                out = b""
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    if first:
                        first = False
                        if self.strip_apop:
                            line = re.sub(rb" ?<[^>]*>", b"", line)
                    elif in_capa:
                        if line.rstrip(b"\r\n") == b".":
                            in_capa = False
                        else:
                            w = line.split()
                            if w and w[0].decode("latin-1").upper() in \
                                    self.drop:
                                continue
                    elif state["capa"] > 0 and line.startswith(b"+OK"):
                        state["capa"] -= 1
                        in_capa = True
                    elif state["capa"] > 0 and line.startswith(b"-ERR"):
                        state["capa"] -= 1
                    out += line
                if out:
                    c.sendall(out)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_WR)

    def stop(self):
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.lsock.close()
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()
        if self.thread is not None:
            self.thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
