"""tests/integ/test_web.py: the web admin over HTTP (issue 4), route by
route: redirects when logged out, first-run setup with the one-time token,
login and its throttling, logout, CSRF rejection, the headers every
response carries, values from the store shown escaped, and the limits
(body size, content type, unknown routes and methods).

The browser end-to-end test is separate; this drives the HTTP surface
with urllib, one cookie jar per "browser".
"""
import http.cookiejar
import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import pbharness


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """A cookie jar and no automatic redirects."""

    def __init__(self, inst):
        self.base = "http://127.0.0.1:%d" % inst.web_port
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def req(self, method, path, data=None, ctype=None, raw=None):
        body = raw
        headers = {}
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if ctype is not None:
            headers["Content-Type"] = ctype
        r = urllib.request.Request(self.base + path, data=body,
                                   headers=headers, method=method)
        try:
            resp = self.opener.open(r, timeout=10)
        except urllib.error.HTTPError as e:
            resp = e
        text = resp.read().decode("utf-8", "replace")
        return resp.status if hasattr(resp, "status") else resp.code, \
            resp.headers, text

    def get(self, path):
        return self.req("GET", path)

    def post(self, path, data, **kw):
        return self.req("POST", path, data=data, **kw)

    def csrf(self, path):
        status, _, text = self.get(path)
        assert status == 200, (path, status, text[:300])
        m = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', text)
        assert m, text[:500]
        return m.group(1)

    def cookie(self):
        return {c.name: c for c in self.jar}


def store_value(inst, sql, args=()):
    con = sqlite3.connect("%s/popbridge.db" % inst.data, timeout=10)
    try:
        row = con.execute(sql, args).fetchone()
        con.commit()
        return row
    finally:
        con.close()


@pytest.fixture
def fresh(instance_factory):
    """A served store whose password is not set yet (first run)."""
    inst = instance_factory(start=False, init=False, name="web")
    r = inst.cli("init", "--user", inst.user, check=True)
    assert r.returncode == 0
    inst.start()
    return inst


def token_of(inst):
    row = store_value(inst, "SELECT value FROM settings WHERE key = "
                            "'setup_token'")
    assert row and row[0]
    return row[0]


def login(inst, b=None):
    b = b or Browser(inst)
    tok = b.csrf("/login")
    status, headers, text = b.post("/login", {
        "csrf": tok, "user": inst.user, "password": inst.password})
    assert status == 303 and headers["Location"] == "/", (status, text)
    return b


SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def check_headers(headers):
    for k, v in SAFE_HEADERS.items():
        assert headers.get(k) == v, (k, headers.get(k))
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_first_run_setup(fresh):
    b = Browser(fresh)
    for path in ("/", "/login"):
        status, headers, _ = b.get(path)
        assert status == 303 and headers["Location"] == "/setup"
        check_headers(headers)
    status, headers, text = b.get("/setup")
    assert status == 200 and "Setup token" in text
    check_headers(headers)
    c = b.cookie()["pbsid"]
    assert c.has_nonstandard_attr("HttpOnly")
    assert "SameSite=Strict" in headers["Set-Cookie"]
    assert str(fresh.imaps_port) in text  # how to connect a device
    # The daemon logs a link with the token; the page fills it in.
    token = token_of(fresh)
    assert "/setup?token=%s" % token in fresh.stderr_text()
    status, _, text = b.get("/setup?token=%s" % token)
    assert 'name="token" autocomplete="off" required value="%s"' % token \
        in text
    status, _, text = b.get("/setup?token=%22%3E%3Cscript%3E")
    assert "<script>" not in text and "&quot;&gt;&lt;script&gt;" in text
    tok = b.csrf("/setup")
    form = {"csrf": tok, "token": token_of(fresh), "user": fresh.user,
            "password": fresh.password, "password2": fresh.password}
    # A wrong token, mismatched or short passwords: the form again.
    for change, words in ((("token", "x" * 32), "token is not right"),
                          (("password2", "other-pw-1"), "not the same"),
                          (("password", "short"), "at least 8")):
        bad = dict(form)
        bad[change[0]] = change[1]
        if change[0] == "password":
            bad["password2"] = change[1]
        status, _, text = b.post("/setup", bad)
        assert status == 200 and words in text, (change, text[:400])
        time.sleep(1.1)  # a wrong token counts as a failed login
    status, headers, _ = b.post("/setup", form)
    assert status == 303 and headers["Location"] == "/"
    status, _, text = b.get("/")
    assert status == 200 and "Dashboard" in text and "INBOX" in text
    # Setup is over: the token is gone, the page leads to login.
    assert store_value(fresh, "SELECT value FROM settings WHERE key = "
                              "'setup_token'") is None
    status, headers, _ = Browser(fresh).get("/setup")
    assert status == 303 and headers["Location"] == "/login"
    # The same password works for IMAP.
    m = fresh.imap(login=False)
    m.login(fresh.user, fresh.password)
    m.logout()
    # And the CLI sees it.
    assert '"password_set":true' in fresh.cli("status", "--json",
                                                check=True).stdout.decode()


def test_login_logout_and_redirects(instance_factory):
    inst = instance_factory(name="web")
    b = Browser(inst)
    status, headers, _ = b.get("/")
    assert status == 303 and headers["Location"] == "/login"
    b = login(inst, b)
    status, headers, text = b.get("/")
    assert status == 200 and "Dashboard" in text
    check_headers(headers)
    status, headers, _ = b.get("/login")
    assert status == 303 and headers["Location"] == "/"
    # Logout needs POST with the CSRF token.
    status, _, _ = b.get("/logout")
    assert status == 405
    tok = b.csrf("/")
    status, headers, _ = b.post("/logout", {"csrf": "x" * 43})
    assert status == 403
    status, headers, _ = b.post("/logout", {"csrf": tok})
    assert status == 303 and headers["Location"] == "/login"
    status, headers, _ = b.get("/")
    assert status == 303 and headers["Location"] == "/login"


def test_session_id_changes_at_login(instance_factory):
    inst = instance_factory(name="web")
    b = Browser(inst)
    b.csrf("/login")
    before = b.cookie()["pbsid"].value
    login(inst, b)
    after = b.cookie()["pbsid"].value
    assert before != after
    # The old (anonymous) id is not logged in.
    old = Browser(inst)
    old.jar.set_cookie(http.cookiejar.Cookie(
        0, "pbsid", before, None, False, "127.0.0.1", False, False, "/",
        True, False, None, False, None, None, {}))
    status, headers, _ = old.get("/")
    assert status == 303


def test_csrf_required_on_every_post(instance_factory):
    inst = instance_factory(name="web")
    b = Browser(inst)
    b.csrf("/login")
    for data in ({"user": inst.user, "password": inst.password},
                 {"csrf": "", "user": inst.user, "password": inst.password},
                 {"csrf": "A" * 43, "user": inst.user,
                  "password": inst.password}):
        status, _, text = b.post("/login", data)
        assert status == 403 and "Form expired" in text
    # A token of another browser's session does not count either.
    other = Browser(inst)
    tok = other.csrf("/login")
    status, _, _ = b.post("/login", {"csrf": tok, "user": inst.user,
                                     "password": inst.password})
    assert status == 403


def test_login_throttled(instance_factory):
    inst = instance_factory(name="web")
    b = Browser(inst)
    tok = b.csrf("/login")
    status, _, text = b.post("/login", {"csrf": tok, "user": inst.user,
                                        "password": "wrong"})
    assert status == 200 and "Wrong login name or password" in text
    # At once again, even with the right password: refused unchecked.
    status, _, text = b.post("/login", {"csrf": tok, "user": inst.user,
                                        "password": inst.password})
    assert status == 429 and "Try again in" in text
    time.sleep(1.2)
    status, headers, _ = b.post("/login", {"csrf": tok, "user": inst.user,
                                           "password": inst.password})
    assert status == 303
    # A device password is for IMAP, not for the web admin.
    out = inst.cli("device", "add", "phone", check=True).stdout.decode()
    devpw = out.split()[-1]
    b2 = Browser(inst)
    tok = b2.csrf("/login")
    status, _, text = b2.post("/login", {"csrf": tok, "user": inst.user,
                                         "password": devpw})
    assert status == 200 and "Wrong login name" in text


def test_values_escaped(instance_factory):
    inst = instance_factory(name="web")
    inst.cli("account", "add", "xss", "--host", "127.0.0.1", "--port", "1",
             "--tls", "none", "--allow-plaintext", "--user", "u",
             "--password-file", inst.password_file, check=True)
    payload = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'
    store_value(inst, "UPDATE accounts SET name = ?, last_error = ?, "
                      "last_attempt = 1", (payload, payload))
    b = login(inst)
    status, _, text = b.get("/")
    assert status == 200
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;" in text \
        or "&quot;&#x27;&gt;&lt;img" in text


def test_limits_and_errors(instance_factory):
    inst = instance_factory(name="web")
    b = Browser(inst)
    status, headers, _ = b.get("/nope")
    assert status == 404
    check_headers(headers)
    tok = b.csrf("/login")
    big = {"csrf": tok, "user": "x", "password": "p" * (70 * 1024)}
    status, _, text = b.post("/login", big)
    assert status == 413
    status, _, _ = b.post("/login", None, ctype="text/plain",
                          raw=b"csrf=%s&user=x&password=y" % tok.encode())
    assert status == 415
    status, _, _ = b.req("PUT", "/login", raw=b"x")
    assert status == 405
    status, headers, text = b.get("/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    # The daemon is still fine.
    login(inst)
    assert inst.alive()


def test_web_off_when_listen_empty(instance_factory):
    inst = instance_factory(start=False, name="web")
    text = open(inst.conf).read().replace(
        "listen = 127.0.0.1:%d\n[log]" % inst.web_port, "listen =\n[log]")
    with open(inst.conf, "w") as f:
        f.write(text)
    inst.start()
    assert not pbharness.port_accepts(inst.web_port)
