"""Real IMAP clients from Debian against popbridge: curl (list, fetch,
custom commands, upload; plain and IMAPS), mbsync (isync) syncing INBOX
and a second folder both ways with a local Maildir (plain and IMAPS), and
neomutt filing messages in batch mode under a pseudo terminal."""

import os
import re
import shutil
import subprocess
import time

import pytest

from pbharness import (PASSWORD, USER, append, appenduid, create_folder,
                       fetches, flagset, make_message, quote, status_items,
                       tagged_status)


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip("%s is not installed" % tool)


def run(argv, timeout=60, env=None, input=None):
    r = subprocess.run(argv, capture_output=True, timeout=timeout, env=env,
                       input=input)
    return r


# ---------------------------------------------------------------------------
# curl


def curl(server, url, *extra, tls=False):
    need("curl")
    argv = ["curl", "-sS", "--max-time", "30", "-u",
            "%s:%s" % (server.user, server.password)]
    if tls:
        argv += ["--cacert", server.cert]
    argv += list(extra) + ["--url", url]
    return run(argv)


def test_curl_lists_folders(server):
    r = curl(server, "imap://127.0.0.1:%d/" % server.imap_port)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert re.search(r'^\* LIST \([^)]*\) "/" "?%s"?\r?$' % name, out,
                         re.M), out
    assert "\\Sent" in out and "\\Trash" in out


def test_curl_fetches_a_message(server):
    c = server.raw(login=True)
    name = create_folder(c, "Curl")
    msg = make_message(subject="fetched by curl",
                       body="line one\r\nline two \xe9\r\n".encode("latin-1"))
    u, t = append(c, name, msg)
    uid = appenduid(t)[1]
    c.close()
    url = "imap://127.0.0.1:%d/%s;UID=%d" % (server.imap_port, name, uid)
    r = curl(server, url)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg, r.stdout[:300]
    # A section.
    r = curl(server, url + "/;SECTION=HEADER.FIELDS%20(SUBJECT)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Subject: fetched by curl\r\n\r\n", r.stdout
    # The same over IMAPS, checking the certificate.
    url = "imaps://127.0.0.1:%d/%s;UID=%d" % (server.imaps_port, name, uid)
    r = curl(server, url, tls=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg
    # STARTTLS on the plain port (--ssl-reqd).
    url = "imap://127.0.0.1:%d/%s;UID=%d" % (server.imap_port, name, uid)
    r = curl(server, url, "--ssl-reqd", tls=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msg


def test_curl_custom_commands(server):
    c = server.raw(login=True)
    name = create_folder(c, "CurlX")
    for i in range(3):
        append(c, name, make_message(subject="x%d" % i))
    c.close()
    base = "imap://127.0.0.1:%d/" % server.imap_port
    r = curl(server, base, "-X", "EXAMINE %s" % name)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert re.search(r"^\* 3 EXISTS\r?$", out, re.M), out
    assert "UIDVALIDITY" in out, out
    r = curl(server, base, "-X", "STATUS %s (MESSAGES UNSEEN)" % name)
    assert r.returncode == 0, r.stderr
    assert re.search(r"MESSAGES 3 UNSEEN 3", r.stdout.decode()), r.stdout
    r = curl(server, base + name, "-X", "SEARCH SUBJECT x1")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\* SEARCH 2\r?$", r.stdout.decode(), re.M), r.stdout
    # A failing command makes curl fail.
    r = curl(server, base, "-X", "EXAMINE %s-missing" % name)
    assert r.returncode != 0


def test_curl_uploads_and_wrong_password(server, tmp_path):
    c = server.raw(login=True)
    name = create_folder(c, "CurlUp")
    c.close()
    msg = make_message(subject="uploaded by curl")
    f = tmp_path / "up.eml"
    f.write_bytes(msg)
    r = curl(server, "imap://127.0.0.1:%d/%s" % (server.imap_port, name),
             "-T", str(f))
    assert r.returncode == 0, r.stderr
    c = server.raw(login=True)
    u, t = c.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u)["MESSAGES"] == 1
    c.ok("EXAMINE %s" % quote(name))
    u, t = c.cmd("FETCH 1 BODY.PEEK[]")
    assert fetches(u)[1]["BODY[]"] == msg
    c.close()
    need("curl")
    r = run(["curl", "-sS", "--max-time", "30", "-u", "%s:wrong" % USER,
             "--url", "imap://127.0.0.1:%d/" % server.imap_port])
    assert r.returncode != 0
    assert r.returncode == 67 or b"denied" in r.stderr.lower() or \
        b"login" in r.stderr.lower(), (r.returncode, r.stderr)


# ---------------------------------------------------------------------------
# mbsync


def mbsync_config(inst, local, tls, channel="pb"):
    if tls:
        conn = ("Port %d\nSSLType IMAPS\nCertificateFile %s\n"
                % (inst.imaps_port, inst.cert))
    else:
        conn = "Port %d\nSSLType None\nAuthMechs LOGIN\n" % inst.imap_port
    return ("IMAPAccount {ch}-acct\n"
            "Host 127.0.0.1\n"
            "{conn}"
            "User {user}\n"
            "Pass {pw}\n"
            "\n"
            "IMAPStore {ch}-far\n"
            "Account {ch}-acct\n"
            "\n"
            "MaildirStore {ch}-near\n"
            "Path {local}/\n"
            "Inbox {local}/INBOX\n"
            "SubFolders Verbatim\n"
            "\n"
            "Channel {ch}\n"
            "Far :{ch}-far:\n"
            "Near :{ch}-near:\n"
            "Patterns INBOX Second\n"
            "Sync All\n"
            "Create Both\n"
            "Expunge Both\n"
            "SyncState *\n"
            .format(ch=channel, conn=conn, user=inst.user,
                    pw=inst.password, local=local))


def mbsync(cfg_path, home):
    need("mbsync")
    env = dict(os.environ, HOME=home)
    r = run(["mbsync", "-c", cfg_path, "-a"], timeout=60, env=env)
    return r


def maildir_files(path):
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                with open(os.path.join(d, f), "rb") as fh:
                    out[os.path.join(sub, f)] = fh.read()
    return out


def subject_of(data):
    m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
    return m.group(1).decode() if m else None


def server_subjects(c, folder):
    """{subject: set of flags} of a folder, through a RawIMAP."""
    c.ok("EXAMINE %s" % quote(folder))
    u, t = c.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
    out = {}
    for v in fetches(u).values():
        s = v["BODY[HEADER.FIELDS (SUBJECT)]"].strip()
        s = s[len(b"Subject: "):].decode() if s else None
        out[s] = flagset(v["FLAGS"]) - {"\\Recent"}
    c.ok("UNSELECT")
    return out


def sync_ok(r, what):
    assert r.returncode == 0, "%s: mbsync exit %d\nstdout: %s\nstderr: %s" % (
        what, r.returncode, r.stdout.decode("utf-8", "replace"),
        r.stderr.decode("utf-8", "replace"))


def test_mbsync_both_ways(instance_factory, tmp_path):
    need("mbsync")
    inst = instance_factory()
    c = inst.raw(login=True)
    try:
        for i in range(2):
            u, t = append(c, "INBOX", make_message(subject="inbox %d" % i))
            assert tagged_status(t) == "OK", t
        c.ok("CREATE Second")
        for i in range(2):
            append(c, "Second", make_message(subject="second %d" % i))
        local = str(tmp_path / "Mail")
        os.makedirs(local)
        cfg = str(tmp_path / "mbsyncrc")
        with open(cfg, "w") as f:
            f.write(mbsync_config(inst, local, tls=False))
        home = str(tmp_path)

        # 1. First sync: everything comes down.
        sync_ok(mbsync(cfg, home), "first sync")
        inbox = maildir_files(os.path.join(local, "INBOX"))
        second = maildir_files(os.path.join(local, "Second"))
        assert sorted(subject_of(d) for d in inbox.values()) == [
            "inbox 0", "inbox 1"], inbox.keys()
        assert sorted(subject_of(d) for d in second.values()) == [
            "second 0", "second 1"], second.keys()
        # Byte-exact download (mbsync stores LF line ends locally).
        for d in inbox.values():
            i = int(subject_of(d)[-1])
            d = re.sub(rb"(?m)^X-TUID: .*\n", b"", d)  # mbsync's own
            assert d == make_message(subject="inbox %d" % i).replace(
                b"\r\n", b"\n"), d

        # 2. Changes on both sides.
        # Local: a new message in INBOX, a deleted one in Second.
        newmsg = make_message(subject="made locally",
                              body="from the maildir\r\n")
        with open(os.path.join(local, "INBOX", "new",
                               "1700000000.1_1.localhost"), "wb") as f:
            f.write(newmsg)
        victim = [k for k, d in second.items()
                  if subject_of(d) == "second 0"][0]
        os.unlink(os.path.join(local, "Second", victim))
        # Server: a flag set on "inbox 0", a new message in Second.
        c.ok("SELECT INBOX")
        u, t = c.cmd("SEARCH SUBJECT \"inbox 0\"")
        seq = int(u[0].split()[2])
        c.ok("STORE %d +FLAGS (\\Flagged \\Seen)" % seq)
        c.ok("UNSELECT")
        append(c, "Second", make_message(subject="second 2"))

        sync_ok(mbsync(cfg, home), "second sync")
        srv_inbox = server_subjects(c, "INBOX")
        assert set(srv_inbox) == {"inbox 0", "inbox 1", "made locally"}, (
            srv_inbox)
        srv_second = server_subjects(c, "Second")
        assert set(srv_second) == {"second 1", "second 2"}, srv_second
        inbox = maildir_files(os.path.join(local, "INBOX"))
        flags = {subject_of(d): k.rsplit(":2,", 1)[-1] if ":2," in k else ""
                 for k, d in inbox.items()}
        assert "F" in flags["inbox 0"] and "S" in flags["inbox 0"], flags
        assert "F" not in flags["inbox 1"], flags
        second = maildir_files(os.path.join(local, "Second"))
        assert sorted(subject_of(d) for d in second.values()) == [
            "second 1", "second 2"]
        # The uploaded message has its body intact.
        c.ok("EXAMINE INBOX")
        u, t = c.cmd("SEARCH SUBJECT \"made locally\"")
        seq = int(u[0].split()[2])
        u, t = c.cmd("FETCH %d BODY.PEEK[TEXT]" % seq)
        assert fetches(u)[seq]["BODY[TEXT]"] == b"from the maildir\r\n"
        c.ok("UNSELECT")

        # 3. A flag changed locally goes up.
        inbox = maildir_files(os.path.join(local, "INBOX"))
        k = [k for k, d in inbox.items() if subject_of(d) == "inbox 1"][0]
        src = os.path.join(local, "INBOX", k)
        base = os.path.basename(k).split(":2,")[0]
        dst = os.path.join(local, "INBOX", "cur", base + ":2,RS")
        os.rename(src, dst)
        sync_ok(mbsync(cfg, home), "third sync")
        srv_inbox = server_subjects(c, "INBOX")
        assert {"\\Answered", "\\Seen"} <= srv_inbox["inbox 1"], srv_inbox

        # 4. Nothing to do: still fine, nothing changes.
        sync_ok(mbsync(cfg, home), "idle sync")
        assert server_subjects(c, "INBOX") == srv_inbox

        # 5. The same over IMAPS with the certificate pinned.
        cfg2 = str(tmp_path / "mbsyncrc-tls")
        with open(cfg2, "w") as f:
            f.write(mbsync_config(inst, local, tls=True))
        append(c, "INBOX", make_message(subject="over tls"))
        sync_ok(mbsync(cfg2, home), "IMAPS sync")
        inbox = maildir_files(os.path.join(local, "INBOX"))
        assert "over tls" in {subject_of(d) for d in inbox.values()}
        assert len(inbox) == 4, inbox.keys()
    finally:
        c.close()


# ---------------------------------------------------------------------------
# neomutt


def test_neomutt_files_messages(instance_factory, tmp_path):
    need("neomutt")
    need("script")
    inst = instance_factory()
    c = inst.raw(login=True)
    try:
        for i in range(3):
            append(c, "INBOX", make_message(subject="mutt %d" % i))
        rc = tmp_path / "muttrc"
        rc.write_text(
            'set folder="imap://%s@127.0.0.1:%d/"\n'
            'set spool_file="+INBOX"\n'
            'set imap_user="%s"\n'
            'set imap_pass="%s"\n'
            'set ssl_starttls=no\n'
            'set ssl_force_tls=no\n'
            'set header_cache=""\n'
            'set message_cachedir=""\n'
            'set mail_check=60\n'
            'set timeout=0\n'
            'set confirm_append=no\n'
            'set confirm_create=no\n'
            'set delete=yes\n'
            'set move=no\n'
            'set quit=yes\n'
            'set mark_old=no\n'
            'set record=""\n'
            'set imap_check_subscribed=no\n'
            % (USER, inst.imap_port, USER, PASSWORD))
        keys = ("<tag-pattern>~A<enter><tag-prefix><save-message>=Archive"
                "<enter><sync-mailbox><quit>")
        cmd = "neomutt -n -F %s -e 'push \"%s\"'" % (rc, keys)
        env = dict(os.environ, TERM="xterm", HOME=str(tmp_path),
                   LC_ALL="C.UTF-8")
        t0 = time.monotonic()
        try:
            r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                               capture_output=True, timeout=45, env=env,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("neomutt did not finish: %r" % (
                (e.stdout or b"")[-2000:],))
        screen = r.stdout.decode("utf-8", "replace")
        assert time.monotonic() - t0 < 45
        assert r.returncode == 0, (r.returncode, screen[-2000:])
        # The three messages are in Archive and gone from INBOX.
        deadline = time.monotonic() + 5
        while True:
            u, t = c.cmd("STATUS Archive (MESSAGES)")
            archived = status_items(u)["MESSAGES"]
            u, t = c.cmd("STATUS INBOX (MESSAGES)")
            left = status_items(u)["MESSAGES"]
            if (archived, left) == (3, 0) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (archived, left) == (3, 0), (archived, left,
                                            screen[-3000:])
        assert set(server_subjects(c, "Archive")) == {
            "mutt 0", "mutt 1", "mutt 2"}
        for bad in ("rror", "failed", "Bad IMAP"):
            assert bad not in screen, screen[-3000:]
    finally:
        c.close()
