"""tests/integ/test_poll_dovecot.py: `popbridge poll` against a real POP3
server (a private dovecot-pop3d, pop3harness.py). Every check is by
content: each message carries a unique X-Test-Id, and the target folder
(read back with `popbridge export`) must hold each one exactly once, byte
for byte, and nothing else.

Covered: POP3S, STLS, plaintext (only with --allow-plaintext); SASL PLAIN,
APOP and USER/PASS logins; retention keep, delete and keep-days (the test
moves the stored first-fetch times back with sqlite3); a wrong password;
certificates that do not match the host, an untrusted self-signed one, a
pinned fingerprint (right and wrong); a message over max_message_size;
mail that arrives between polls; two accounts into their own folders;
`account test` fetching nothing.
"""
import re

import pytest

import fakepop3
import pbharness
from pop3harness import (account_show, account_test,  # noqa: F401
                         account_test_error, add_account, assert_exactly_once,
                         assert_one_sentence, cert_fingerprint, dovecot,
                         dovecot_factory, dovecot_uidls, export_folder,
                         known_uidls, last_error, make_message, make_messages,
                         pb, poll_error, poll_ok, popuser, sql, text)


def folder():
    return pbharness.unique_folder("Pop")


def test_pop3s_keep(pb, popuser):
    msgs = make_messages(20)
    popuser.deliver(msgs)
    f = folder()
    r = add_account(pb, "acc", popuser, folder=f)
    out = text(r.stdout).strip()
    assert re.match(
        r"^account acc added: %s@127\.0\.0\.1:%d over implicit TLS, into "
        r"%s every 300 s, retention keep$"
        % (popuser.name, popuser.dove.pop3s_port, re.escape(f)), out), out
    t = account_test(pb, "acc")
    assert t["auth"] == "SASL PLAIN", t
    assert t["tls"].startswith("TLS"), t
    assert (t["n"], t["new"]) == (20, 20), t
    rep = poll_ok(pb, "acc")
    assert rep == {"fetched": 20, "deleted": 0, "skipped": 0,
                   "on_server": 20}, rep
    assert_exactly_once(pb, f, msgs)
    assert popuser.count() == 20
    rep = poll_ok(pb, "acc")
    assert rep == {"fetched": 0, "deleted": 0, "skipped": 0,
                   "on_server": 20}, rep
    assert_exactly_once(pb, f, msgs)
    assert popuser.count() == 20
    show = account_show(pb, "acc")
    assert show["last error"] == "none", show
    assert show["fetched"].split()[0] == "20", show
    assert account_test(pb, "acc")["new"] == 0


def test_stls_delete(pb, popuser):
    msgs = make_messages(15)
    popuser.deliver(msgs)
    f = folder()
    add_account(pb, "stls", popuser, tls="starttls", retention="delete",
                folder=f)
    t = account_test(pb, "stls")
    assert t["tls"].startswith("TLS") and t["auth"] == "SASL PLAIN", t
    rep = poll_ok(pb, "stls")
    assert rep == {"fetched": 15, "deleted": 15, "skipped": 0,
                   "on_server": 15}, rep
    assert popuser.count() == 0
    assert_exactly_once(pb, f, msgs)
    rep = poll_ok(pb, "stls")
    assert rep["fetched"] == 0 and rep["on_server"] == 0, rep
    assert_exactly_once(pb, f, msgs)
    assert "TLS" in popuser.dove.log_text()


def test_plaintext_needs_allow(pb, popuser):
    msgs = make_messages(5)
    popuser.deliver(msgs)
    f = folder()
    r = add_account(pb, "plain", popuser, tls="none", folder=f, check=False)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert ("--tls none would send the password in the clear; add "
            "--allow-plaintext to accept that") in text(r.stderr)
    assert pb.cli("account", "show", "plain").returncode == 1
    add_account(pb, "plain", popuser, tls="none", allow_plaintext=True,
                folder=f)
    t = account_test(pb, "plain")
    # Over plaintext APOP comes first (the password is not sent).
    assert t["tls"] == "plaintext" and t["auth"] == "APOP", t
    rep = poll_ok(pb, "plain")
    assert rep["fetched"] == 5, rep
    assert_exactly_once(pb, f, msgs)


def test_auth_apop(pb, dovecot_factory):
    # Only APOP works on this server (it still lists USER in CAPA).
    d = dovecot_factory(auth_mechanisms="apop")
    u = d.add_user()
    msgs = make_messages(6)
    u.deliver(msgs)
    f = folder()
    add_account(pb, "apop", u, tls="starttls", folder=f)
    t = account_test(pb, "apop")
    assert t["auth"] == "APOP" and t["tls"].startswith("TLS"), t
    assert poll_ok(pb, "apop")["fetched"] == 6
    assert_exactly_once(pb, f, msgs)
    assert "method=APOP" in d.log_text()


def test_auth_user_pass(pb, dovecot_factory):
    # No APOP timestamp, and a proxy hides SASL (and STLS) from CAPA: the
    # only way in is USER/PASS, with a real Dovecot behind.
    d = dovecot_factory(auth_mechanisms="plain")
    u = d.add_user()
    msgs = make_messages(6)
    u.deliver(msgs)
    f = folder()
    with fakepop3.CapaFilterProxy(d.pop3_port, drop=("SASL", "STLS"),
                                  strip_apop=True) as px:
        add_account(pb, "userpass", u, tls="none", allow_plaintext=True,
                    port=px.port, folder=f)
        t = account_test(pb, "userpass")
        assert t["auth"] == "USER/PASS" and t["tls"] == "plaintext", t
        assert poll_ok(pb, "userpass")["fetched"] == 6
        assert poll_ok(pb, "userpass")["fetched"] == 0
    assert_exactly_once(pb, f, msgs)


def test_auth_sasl_plain_over_stls(pb, dovecot_factory):
    d = dovecot_factory(auth_mechanisms="plain")
    u = d.add_user()
    msgs = make_messages(4)
    u.deliver(msgs)
    f = folder()
    add_account(pb, "saslp", u, tls="starttls", folder=f)
    assert account_test(pb, "saslp")["auth"] == "SASL PLAIN"
    assert poll_ok(pb, "saslp")["fetched"] == 4
    assert_exactly_once(pb, f, msgs)


def test_keep_days(pb, popuser):
    msgs = make_messages(10)
    popuser.deliver(msgs)
    ids = list(msgs)
    f = folder()
    add_account(pb, "kd", popuser, retention=("keep-days", 7), folder=f)
    assert "keep 7 days" in account_show(pb, "kd")["retention"]
    rep = poll_ok(pb, "kd")
    assert (rep["fetched"], rep["deleted"]) == (10, 0), rep
    assert poll_ok(pb, "kd")["deleted"] == 0
    assert popuser.count() == 10
    known = known_uidls(pb, "kd")
    assert len(known) == 10, known
    # The first four were fetched 8 days ago, the others 6 days ago.
    by_id = dovecot_uidls(popuser)
    old = [by_id[i] for i in ids[:4]]
    young = [by_id[i] for i in ids[4:]]
    assert set(old + young) == set(known)

    def inlist(uidls):
        return ",".join("'%s'" % u for u in uidls)
    sql(pb, "UPDATE pop3_uidls SET first_fetched = first_fetched - "
        "8*86400 WHERE uidl IN (%s);" % inlist(old))
    sql(pb, "UPDATE pop3_uidls SET first_fetched = first_fetched - "
        "6*86400 WHERE uidl IN (%s);" % inlist(young))
    more = make_messages(2)
    popuser.deliver(more)
    rep = poll_ok(pb, "kd")
    assert (rep["fetched"], rep["deleted"]) == (2, 4), rep
    assert sorted(popuser.ids()) == sorted(ids[4:] + list(more))
    every = dict(msgs)
    every.update(more)
    assert_exactly_once(pb, f, every)
    # A day later (by the stored times) the next six go, not the new two.
    sql(pb, "UPDATE pop3_uidls SET first_fetched = first_fetched - 86400 "
        "- 60;")
    rep = poll_ok(pb, "kd")
    assert (rep["fetched"], rep["deleted"]) == (0, 6), rep
    assert sorted(popuser.ids()) == sorted(more)
    assert_exactly_once(pb, f, every)


def test_wrong_password(pb, dovecot_factory):
    # Its own Dovecot: after a refused login it delays logins from the
    # address for seconds.
    d = dovecot_factory()
    u = d.add_user()
    msgs = make_messages(5)
    u.deliver(msgs)
    f = folder()
    add_account(pb, "wrong", u, password="not-" + u.password, folder=f,
                retention="delete")
    err = poll_error(pb, "wrong")
    assert err.startswith("login refused for %s: " % u.name), err
    assert "Authentication failed" in err, err
    assert_one_sentence(err)
    assert last_error(pb, "wrong") == err
    show = account_show(pb, "wrong")
    assert show["failures"] == "1", show
    lst = text(pb.cli("account", "list", check=True).stdout)
    assert "error: " + err in lst, lst
    assert u.count() == 5
    assert export_folder(pb, f) == []
    err2 = account_test_error(pb, "wrong")
    assert err2.startswith("login refused for %s: " % u.name), err2
    # The password is never shown anywhere.
    for args in (("account", "show", "wrong"), ("account", "list"),
                 ("status",), ("status", "--json")):
        r = pb.cli(*args)
        assert u.password.encode() not in r.stdout + r.stderr
    # Re-added with the right password it works.
    pb.cli("account", "remove", "wrong", check=True)
    add_account(pb, "wrong", u, folder=f, retention="delete")
    assert poll_ok(pb, "wrong")["fetched"] == 5
    assert u.count() == 0
    assert_exactly_once(pb, f, msgs)
    assert last_error(pb, "wrong") == "none"


def test_certificate_for_another_address(pb, popuser):
    popuser.deliver(make_messages(3))
    f = folder()
    add_account(pb, "other-ip", popuser, host="127.0.0.2", folder=f,
                retention="delete")
    err = poll_error(pb, "other-ip")
    assert re.match(r"^certificate is for .*localhost.*, not 127\.0\.0\.2",
                    err), err
    assert_one_sentence(err)
    assert last_error(pb, "other-ip") == err
    assert popuser.count() == 3
    assert export_folder(pb, f) == []


def test_certificate_for_another_name(pb, dovecot_factory):
    d = dovecot_factory(cert_names=("pop.example.test",))
    u = d.add_user()
    u.deliver(make_messages(3))
    f = folder()
    add_account(pb, "othername", u, folder=f, retention="delete")
    err = poll_error(pb, "othername")
    assert re.match(r"^certificate is for pop\.example\.test, not "
                    r"127\.0\.0\.1", err), err
    assert_one_sentence(err)
    assert u.count() == 3
    assert export_folder(pb, f) == []
    # STLS checks it the same way.
    add_account(pb, "othername2", u, tls="starttls", folder=f)
    err = poll_error(pb, "othername2")
    assert re.match(r"^certificate is for pop\.example\.test, not "
                    r"127\.0\.0\.1", err), err


def test_untrusted_self_signed(pb, popuser):
    popuser.deliver(make_messages(3))
    f = folder()
    add_account(pb, "untrusted", popuser, ca_file=False, folder=f,
                retention="delete")
    err = poll_error(pb, "untrusted")
    assert "self-signed and not trusted" in err, err
    assert "--fingerprint" in err and "--ca-file" in err, err
    hexdigits = re.sub(r"[^0-9a-f]", "", err.lower())
    assert popuser.dove.fingerprint in hexdigits, (err,
                                                   popuser.dove.fingerprint)
    assert popuser.count() == 3
    assert export_folder(pb, f) == []


def test_pinned_fingerprint(pb, popuser, dovecot_factory):
    msgs = make_messages(4)
    popuser.deliver(msgs)
    f = folder()
    # Pinned (with colons, upper case), no CA file: trusted.
    add_account(pb, "pinned", popuser, ca_file=False, folder=f,
                fingerprint=cert_fingerprint(popuser.dove.cert, colons=True))
    assert "fingerprint" in account_show(pb, "pinned")
    assert poll_ok(pb, "pinned")["fetched"] == 4
    assert_exactly_once(pb, f, msgs)
    # Another certificate's fingerprint: refused, nothing fetched.
    other = dovecot_factory(cert_names=("localhost", "127.0.0.1"))
    f2 = folder()
    add_account(pb, "badpin", popuser, ca_file=False, folder=f2,
                fingerprint=other.fingerprint, retention="delete")
    err = poll_error(pb, "badpin")
    assert "fingerprint" in err, err
    assert_one_sentence(err)
    assert export_folder(pb, f2) == []
    assert popuser.count() == 4
    # --ca-file and --fingerprint together: a usage error.
    r = add_account(pb, "both", popuser, folder=f2,
                    ca_file=popuser.dove.cert,
                    fingerprint=popuser.dove.fingerprint, check=False)
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_message_over_size_limit(instance_factory, popuser):
    pb = instance_factory(start=False, name="pb-limit",
                          extra_config="[poller]\nmax_message_size = 64K\n")
    small = make_messages(5, sizes=(3000, 20000, 60000, 900, 12000))
    big_id = "big-%s" % popuser.name
    big = make_message(big_id, 150000)
    assert len(big) > 100 * 1024
    order = list(small.items())
    order.insert(2, (big_id, big))
    popuser.deliver(order)
    f = folder()
    add_account(pb, "lim", popuser, folder=f, retention="delete")
    rep = poll_ok(pb, "lim")
    assert rep == {"fetched": 5, "deleted": 5, "skipped": 1,
                   "on_server": 6}, rep
    # Never fetched, so never deleted: it stays on the server.
    assert sorted(popuser.ids()) == [big_id]
    assert_exactly_once(pb, f, small)
    rep = poll_ok(pb, "lim")
    assert rep == {"fetched": 0, "deleted": 0, "skipped": 0,
                   "on_server": 1}, rep
    show = account_show(pb, "lim")
    assert show["skipped"] == "1 (too big)", show
    assert show["on server"] == "1 (1 skipped)", show
    assert show["last error"] == "none", show
    assert_exactly_once(pb, f, small)


@pytest.mark.parametrize("retention", ["keep", "delete"])
def test_mail_between_polls(pb, popuser, retention):
    f = folder()
    add_account(pb, "between", popuser, tls="starttls", folder=f,
                retention=retention)
    assert poll_ok(pb, "between")["fetched"] == 0
    every = {}
    for n in (5, 7, 0, 1):
        msgs = make_messages(n)
        popuser.deliver(msgs)
        every.update(msgs)
        rep = poll_ok(pb, "between")
        assert rep["fetched"] == n, (n, rep)
        assert_exactly_once(pb, f, every)
        assert popuser.count() == (len(every) if retention == "keep" else 0)


def test_two_accounts_own_folders(pb, dovecot):
    u1, u2 = dovecot.add_user(), dovecot.add_user()
    m1, m2 = make_messages(6), make_messages(4)
    u1.deliver(m1)
    u2.deliver(m2)
    f1, f2 = folder(), folder()
    add_account(pb, "a1", u1, folder=f1)
    add_account(pb, "a2", u2, tls="starttls", folder=f2, retention="delete")
    r = pb.cli("poll", check=True)
    out = text(r.stdout)
    assert re.search(r"^a1: fetched 6 \(", out, re.M), out
    assert re.search(r"^a2: fetched 4 \(.*deleted 4,", out, re.M), out
    assert_exactly_once(pb, f1, m1)
    assert_exactly_once(pb, f2, m2)
    assert export_folder(pb, "INBOX") == []
    assert (u1.count(), u2.count()) == (6, 0)


def test_account_test_fetches_nothing(pb, popuser):
    popuser.deliver(make_messages(3))
    f = folder()
    add_account(pb, "probe", popuser, folder=f, retention="delete")
    t = account_test(pb, "probe")
    assert (t["n"], t["new"]) == (3, 3), t
    assert export_folder(pb, f) == []
    assert popuser.count() == 3
    show = account_show(pb, "probe")
    assert show["fetched"].split()[0] == "0", show
