"""Folders: LIST/LSUB with wildcards and SPECIAL-USE (RFC 3501 6.3.8-9,
RFC 6154, RFC 5258 LIST-EXTENDED, RFC 3348 CHILDREN), CREATE/RENAME/DELETE
with hierarchy, SUBSCRIBE, STATUS (RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ),
LIST-STATUS (RFC 5819), modified UTF-7 names (RFC 3501 5.1.3) and
UTF8=ACCEPT (RFC 6855)."""

import pytest

from pbharness import (append, appenduid, create_folder, list_entries,
                       make_message, parse_sexp, quote, resp_code,
                       status_items, tagged_status, unique_folder)

SPECIAL = {
    b"Sent": "\\sent",
    b"Drafts": "\\drafts",
    b"Trash": "\\trash",
    b"Junk": "\\junk",
    b"Archive": "\\archive",
}


def listing(c, ref, pat, extra=""):
    u, t = c.cmd('LIST %s %s%s' % (quote(ref), quote(pat), extra))
    assert tagged_status(t) == "OK", t
    return list_entries(u)


def test_list_all_initial_folders(raw):
    e = listing(raw, "", "*")
    for name in (b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk",
                 b"Archive"):
        assert name in e, (name, sorted(e))
        attrs, delim = e[name]
        assert delim == b"/", (name, delim)
        assert "\\noselect" not in attrs
        assert "\\nonexistent" not in attrs
        if name in SPECIAL:
            assert SPECIAL[name] in attrs, (name, attrs)
            others = set(SPECIAL.values()) - {SPECIAL[name]}
            assert not (attrs & others), (name, attrs)
        else:
            assert not (attrs & set(SPECIAL.values())), (name, attrs)
    # LIST "" "*" of a fresh store: exactly these (other tests may add
    # folders later, but this is the module's first test of LIST).


def test_list_children_attributes(raw):
    base = unique_folder("Kids")
    raw.ok("CREATE %s" % quote(base + "/a/b"))
    e = listing(raw, "", base + "*")
    assert set(e) == {base.encode(), (base + "/a").encode(),
                      (base + "/a/b").encode()}, e
    assert "\\haschildren" in e[base.encode()][0]
    assert "\\haschildren" in e[(base + "/a").encode()][0]
    assert "\\hasnochildren" in e[(base + "/a/b").encode()][0]
    for name, (attrs, delim) in e.items():
        assert not ({"\\haschildren", "\\hasnochildren"} <= attrs), attrs
    e = listing(raw, "", "*")
    for name in (b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk",
                 b"Archive"):
        assert "\\hasnochildren" in e[name][0], (name, e[name])


def test_list_delimiter_query(raw):
    u, t = raw.cmd('LIST "" ""')
    assert tagged_status(t) == "OK", t
    e = list_entries(u)
    assert list(e) == [b""], u
    attrs, delim = e[b""]
    assert "\\noselect" in attrs
    assert delim == b"/"


def test_list_percent_and_reference(raw):
    base = unique_folder("Pct")
    raw.ok("CREATE %s" % quote(base + "/x/y"))
    raw.ok("CREATE %s" % quote(base + "/z"))
    e = listing(raw, "", "%")
    assert base.encode() in e
    assert not any(b"/" in n for n in e), sorted(e)
    assert b"INBOX" in e and b"Sent" in e
    e = listing(raw, "", base + "/%")
    assert set(e) == {(base + "/x").encode(), (base + "/z").encode()}, e
    e = listing(raw, base + "/", "%")
    assert set(e) == {(base + "/x").encode(), (base + "/z").encode()}, e
    e = listing(raw, "", base + "/*")
    assert set(e) == {(base + "/x").encode(), (base + "/x/y").encode(),
                      (base + "/z").encode()}, e
    e = listing(raw, "", base + "/%/%")
    assert set(e) == {(base + "/x/y").encode()}, e
    # INBOX matches case-insensitively, other names do not.
    e = listing(raw, "", "inbox")
    assert set(e) == {b"INBOX"}, e
    e = listing(raw, "", "sent")
    assert set(e) == set(), e
    e = listing(raw, "", "nosuchfolder*")
    assert e == {}


def test_list_special_use_selection(raw):
    u, t = raw.cmd('LIST (SPECIAL-USE) "" "*"')
    assert tagged_status(t) == "OK", t
    e = list_entries(u)
    assert set(e) == set(SPECIAL), e
    u, t = raw.cmd('LIST "" "*" RETURN (SPECIAL-USE)')
    assert tagged_status(t) == "OK", t
    e = list_entries(u)
    for name, attr in SPECIAL.items():
        assert attr in e[name][0]


def test_create_hierarchy(raw):
    base = unique_folder("Cr")
    raw.ok("CREATE %s" % quote(base + "/b/c"))
    e = listing(raw, "", base + "*")
    assert set(e) == {base.encode(), (base + "/b").encode(),
                      (base + "/b/c").encode()}, e
    # Parents made on the way can be selected (plain folders).
    for name in (base, base + "/b", base + "/b/c"):
        raw.ok("SELECT %s" % quote(name))
    raw.ok("UNSELECT")
    # A trailing delimiter is allowed and means the same name.
    raw.ok("CREATE %s" % quote(base + "/d/"))
    e = listing(raw, "", base + "/d")
    assert set(e) == {(base + "/d").encode()}, e
    # Existing names.
    u, t = raw.cmd("CREATE %s" % quote(base + "/b"))
    assert tagged_status(t) == "NO", t
    assert resp_code(t) in (None, "ALREADYEXISTS"), t
    u, t = raw.cmd("CREATE INBOX")
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("CREATE inbox")
    assert tagged_status(t) == "NO", t
    # Bad names.
    for bad in ('""', quote(base + "//x"), quote("/" + base)):
        u, t = raw.cmd("CREATE %s" % bad)
        assert tagged_status(t) in ("NO", "BAD"), (bad, t)
    u, t = raw.cmd("CREATE")
    assert tagged_status(t) == "BAD", t


def test_rename_with_children(raw):
    base = unique_folder("Rn")
    new = unique_folder("Rn")
    raw.ok("CREATE %s" % quote(base + "/b/c"))
    msg = make_message(subject="kept by rename")
    u, t = append(raw, base + "/b/c", msg)
    assert tagged_status(t) == "OK", t
    u, t = append(raw, base, msg)
    assert tagged_status(t) == "OK", t
    raw.ok("RENAME %s %s" % (quote(base), quote(new)))
    e = listing(raw, "", base + "*")
    assert e == {}, e
    e = listing(raw, "", new + "*")
    assert set(e) == {new.encode(), (new + "/b").encode(),
                      (new + "/b/c").encode()}, e
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(new + "/b/c"))
    assert status_items(u)["MESSAGES"] == 1
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(new))
    assert status_items(u)["MESSAGES"] == 1
    u, t = raw.cmd("SELECT %s" % quote(new + "/b/c"))
    assert tagged_status(t) == "OK", t
    u, t = raw.cmd("FETCH 1 BODY.PEEK[]")
    assert msg in b"".join(u), u
    raw.ok("UNSELECT")
    # Rename onto an existing name, and of a missing folder.
    raw.ok("CREATE %s" % quote(base))
    u, t = raw.cmd("RENAME %s %s" % (quote(base), quote(new)))
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("RENAME %s %s" % (quote(base + "-missing"),
                                     quote(base + "-x")))
    assert tagged_status(t) == "NO", t
    # Rename a child out of its parent into a new hierarchy.
    raw.ok("RENAME %s %s" % (quote(new + "/b/c"), quote(base + "/q/c")))
    e = listing(raw, "", base + "*")
    assert set(e) == {base.encode(), (base + "/q").encode(),
                      (base + "/q/c").encode()}, e


def test_rename_inbox(instance_factory):
    inst = instance_factory()
    c = inst.raw(login=True)
    try:
        for i in range(2):
            u, t = append(c, "INBOX", make_message(subject="in %d" % i))
            assert tagged_status(t) == "OK", t
        c.ok("RENAME INBOX OldInbox")
        u, t = c.cmd("STATUS INBOX (MESSAGES)")
        assert status_items(u)["MESSAGES"] == 0
        u, t = c.cmd("STATUS OldInbox (MESSAGES)")
        assert status_items(u)["MESSAGES"] == 2
        e = listing(c, "", "*")
        assert b"INBOX" in e and b"OldInbox" in e
    finally:
        c.close()


def test_delete(raw):
    base = unique_folder("Del")
    raw.ok("CREATE %s" % quote(base + "/child"))
    u, t = append(raw, base, make_message(subject="goes away"))
    assert tagged_status(t) == "OK", t
    raw.ok("DELETE %s" % quote(base + "/child"))
    e = listing(raw, "", base + "*")
    assert set(e) == {base.encode()}, e
    assert "\\hasnochildren" in e[base.encode()][0]
    raw.ok("DELETE %s" % quote(base))
    assert listing(raw, "", base + "*") == {}
    u, t = raw.cmd("DELETE %s" % quote(base))
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("SELECT %s" % quote(base))
    assert tagged_status(t) == "NO", t
    # Re-created: empty, with a new UIDVALIDITY or at least no messages.
    raw.ok("CREATE %s" % quote(base))
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(base))
    assert status_items(u)["MESSAGES"] == 0


def test_delete_parent_keeps_children(raw):
    """RFC 3501 6.3.4: deleting a name with inferiors removes its messages
    and leaves it \\Noselect; deleting that \\Noselect name is NO."""
    base = unique_folder("DelP")
    raw.ok("CREATE %s" % quote(base + "/child"))
    u, t = append(raw, base, make_message(subject="parent msg"))
    assert tagged_status(t) == "OK", t
    raw.ok("DELETE %s" % quote(base))
    e = listing(raw, "", base + "*")
    assert set(e) == {base.encode(), (base + "/child").encode()}, e
    assert "\\noselect" in e[base.encode()][0], e
    assert "\\haschildren" in e[base.encode()][0], e
    u, t = raw.cmd("SELECT %s" % quote(base))
    assert tagged_status(t) == "NO", t
    u, t = raw.cmd("DELETE %s" % quote(base))
    assert tagged_status(t) == "NO", t
    # STATUS of a \Noselect name fails.
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(base))
    assert tagged_status(t) == "NO", t
    # CREATE of the \Noselect name makes it selectable again.
    u, t = raw.cmd("CREATE %s" % quote(base))
    assert tagged_status(t) == "OK", t
    raw.ok("SELECT %s" % quote(base))
    u, t = raw.cmd("FETCH 1:* (UID)")
    assert tagged_status(t) in ("OK", "BAD"), t
    raw.ok("UNSELECT")


def test_delete_inbox_refused(raw):
    for name in ("INBOX", "inbox", "InBoX"):
        u, t = raw.cmd("DELETE %s" % name)
        assert tagged_status(t) == "NO", t
    e = listing(raw, "", "INBOX")
    assert b"INBOX" in e


def test_delete_selected_folder(raw):
    name = create_folder(raw, "DelSel")
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("DELETE %s" % quote(name))
    assert tagged_status(t) == "OK", t
    u, t = raw.cmd("NOOP")
    assert tagged_status(t) == "OK", t
    assert listing(raw, "", name) == {}


def test_subscribe_lsub(raw):
    u, t = raw.cmd('LSUB "" "*"')
    assert tagged_status(t) == "OK", t
    e = list_entries(u, b"LSUB")
    for name in (b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk",
                 b"Archive"):
        assert name in e, (name, e)
    name = create_folder(raw, "Sub")
    u, t = raw.cmd('LSUB "" %s' % quote(name))
    assert list_entries(u, b"LSUB") == {}, u
    raw.ok("SUBSCRIBE %s" % quote(name))
    u, t = raw.cmd('LSUB "" %s' % quote(name))
    assert set(list_entries(u, b"LSUB")) == {name.encode()}, u
    u, t = raw.cmd('LIST (SUBSCRIBED) "" %s' % quote(name))
    assert tagged_status(t) == "OK", t
    e = list_entries(u)
    assert "\\subscribed" in e[name.encode()][0], e
    u, t = raw.cmd('LIST "" %s RETURN (SUBSCRIBED)' % quote(name))
    e = list_entries(u)
    assert "\\subscribed" in e[name.encode()][0], e
    raw.ok("UNSUBSCRIBE %s" % quote(name))
    u, t = raw.cmd('LSUB "" %s' % quote(name))
    assert list_entries(u, b"LSUB") == {}, u
    # A subscription may outlive its folder (RFC 3501 6.3.6).
    raw.ok("SUBSCRIBE %s" % quote(name))
    raw.ok("DELETE %s" % quote(name))
    u, t = raw.cmd('LSUB "" %s' % quote(name))
    assert tagged_status(t) == "OK", t
    u, t = raw.cmd('LIST (SUBSCRIBED) "" %s' % quote(name))
    e = list_entries(u)
    if e:
        assert "\\nonexistent" in e[name.encode()][0], e
    raw.ok("UNSUBSCRIBE %s" % quote(name))


def test_status(raw):
    name = create_folder(raw, "St")
    u, t = raw.cmd("STATUS %s (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE "
                   "HIGHESTMODSEQ RECENT)" % quote(name))
    assert tagged_status(t) == "OK", t
    s0 = status_items(u, name)
    assert s0["MESSAGES"] == 0 and s0["UNSEEN"] == 0 and s0["SIZE"] == 0
    assert s0["RECENT"] == 0
    assert s0["UIDNEXT"] >= 1
    assert s0["UIDVALIDITY"] >= 1
    m1 = make_message(subject="one")
    m2 = make_message(subject="two", body="x" * 1000 + "\r\n")
    u, t = append(raw, name, m1, flags="\\Seen")
    v1, uid1 = appenduid(t)
    u, t = append(raw, name, m2)
    v2, uid2 = appenduid(t)
    assert v1 == v2 == s0["UIDVALIDITY"]
    assert uid1 >= s0["UIDNEXT"] and uid2 > uid1
    u, t = raw.cmd("STATUS %s (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE "
                   "HIGHESTMODSEQ)" % quote(name))
    s1 = status_items(u, name)
    assert s1["MESSAGES"] == 2
    assert s1["UNSEEN"] == 1
    assert s1["UIDNEXT"] == uid2 + 1
    assert s1["UIDVALIDITY"] == s0["UIDVALIDITY"]
    assert s1["SIZE"] == len(m1) + len(m2)
    assert s1["HIGHESTMODSEQ"] > s0["HIGHESTMODSEQ"]
    # Only the items asked for, in a list.
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name))
    assert status_items(u, name) == {"MESSAGES": 2}
    # Errors.
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(name + "-nope"))
    assert tagged_status(t) == "NO", t
    for bad in ("STATUS %s (BOGUS)" % quote(name), "STATUS %s" % quote(name),
                "STATUS %s ()" % quote(name), "STATUS"):
        u, t = raw.cmd(bad)
        assert tagged_status(t) == "BAD", (bad, t)


def test_status_of_selected_folder(raw):
    name = create_folder(raw, "StSel")
    append(raw, name, make_message(subject="x"))
    raw.ok("SELECT %s" % quote(name))
    u, t = raw.cmd("STATUS %s (MESSAGES UIDNEXT)" % quote(name))
    assert tagged_status(t) == "OK", t
    assert status_items(u, name)["MESSAGES"] == 1
    raw.ok("UNSELECT")


def test_list_status(raw):
    name = create_folder(raw, "LSt")
    append(raw, name, make_message(subject="a"))
    append(raw, name, make_message(subject="b"), flags="\\Seen")
    u, t = raw.cmd('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    assert tagged_status(t) == "OK", t
    e = list_entries(u)
    statuses = {}
    for r in u:
        if r.startswith(b"* STATUS "):
            vals, _ = parse_sexp(r, len(b"* STATUS "))
            statuses[bytes(vals[0])] = vals[1]
    # One STATUS per selectable listed folder.
    for n, (attrs, _) in e.items():
        if "\\noselect" in attrs or "\\nonexistent" in attrs:
            assert n not in statuses
        else:
            assert n in statuses, (n, u)
    st = status_items(u, name)
    assert st["MESSAGES"] == 2 and st["UNSEEN"] == 1, st
    # RFC 5819: the STATUS follows its LIST.
    idx = [i for i, r in enumerate(u)
           if r.startswith(b"* LIST ") and r.endswith(name.encode())]
    assert idx and u[idx[0] + 1].startswith(b"* STATUS "), u


def test_modified_utf7_names(raw):
    # "ä" is "&AOQ-"; "Entwürfe" is "Entw&APw-rfe".
    base = unique_folder("U7")
    n1 = base + "-&AOQ-"
    n2 = base + "/Entw&APw-rfe"
    raw.ok("CREATE %s" % quote(n1))
    raw.ok("CREATE %s" % quote(n2))
    e = listing(raw, "", base + "*")
    assert n1.encode() in e and n2.encode() in e, e
    u, t = raw.cmd("STATUS %s (MESSAGES)" % quote(n1))
    assert tagged_status(t) == "OK", t
    assert list(status_items(u)) == ["MESSAGES"]
    assert u[0].startswith(b"* STATUS " + quote(n1).encode()) or \
        u[0].startswith(b"* STATUS " + n1.encode()), u
    raw.ok("SELECT %s" % quote(n1))
    raw.ok("UNSELECT")
    # "&" itself is "&-".
    n3 = base + "-a&-b"
    raw.ok("CREATE %s" % quote(n3))
    assert n3.encode() in listing(raw, "", base + "*")
    # Invalid modified UTF-7 is refused.
    for bad in (base + "-&AOQ", base + "-&Jjo!", base + "-&AGE-"):
        u, t = raw.cmd("CREATE %s" % quote(bad))
        assert tagged_status(t) in ("BAD", "NO"), (bad, t)
    # Raw 8-bit in a name without UTF8=ACCEPT is refused.
    u, t = raw.cmd(b'CREATE "' + base.encode() + b'-\xc3\xa4"')
    assert tagged_status(t) in ("BAD", "NO"), t


def test_utf8_accept(server):
    c = server.raw(login=True)
    try:
        base = unique_folder("U8")
        c.ok("CREATE %s" % quote(base + "-&AOQ-"))
        u, t = c.cmd("ENABLE UTF8=ACCEPT")
        assert tagged_status(t) == "OK", t
        assert u == [b"* ENABLED UTF8=ACCEPT"], u
        u, t = c.cmd('LIST "" %s' % quote(base + "*"))
        e = list_entries(u)
        assert set(e) == {(base + "-\u00e4").encode()}, u
        # UTF-8 names are taken as they are.
        u, t = c.cmd(b'CREATE "' + base.encode() + b'-\xc3\xb6"')
        assert tagged_status(t) == "OK", t
    finally:
        c.close()
    # Seen from a session without UTF8=ACCEPT: modified UTF-7.
    c = server.raw(login=True)
    try:
        e = listing(c, "", base + "*")
        assert set(e) == {(base + "-&AOQ-").encode(),
                          (base + "-&APY-").encode()}, e
    finally:
        c.close()


def test_folder_names_with_spaces_and_quotes(raw):
    base = unique_folder("Sp")
    name = base + ' with "quotes" and \\ spaces'
    raw.ok("CREATE %s" % quote(name))
    u, t = raw.cmd('LIST "" %s' % quote(base + "*"))
    e = list_entries(u)
    assert set(e) == {name.encode()}, u
    u, t = append(raw, name, make_message(subject="sp"))
    assert tagged_status(t) == "OK", t
    raw.ok("SELECT %s" % quote(name))
    raw.ok("UNSELECT")
    # The same name as a literal.
    u, t = raw.cmd_literals(["STATUS {%d}" % len(name.encode()),
                             name.encode(), " (MESSAGES)"])
    assert tagged_status(t) == "OK", t
    assert status_items(u)["MESSAGES"] == 1


def test_imaplib_list(imap):
    typ, data = imap.list()
    assert typ == "OK"
    names = [d for d in data if d]
    assert any(d.endswith(b'"/" Sent') or d.endswith(b'"/" "Sent"')
               for d in names), names


@pytest.mark.parametrize("cmd", [
    'LIST', 'LIST ""', 'LIST "" "*" extra', 'LIST (BOGUS) "" "*"',
    'LIST "" "*" RETURN (BOGUS)', 'LIST "" "*" RETURN', 'LSUB ""',
    'SUBSCRIBE', 'RENAME a', 'DELETE', 'CREATE a b c',
])
def test_folder_command_syntax_errors(raw, cmd):
    u, t = raw.cmd(cmd)
    assert tagged_status(t) == "BAD", (cmd, t)


def test_lsub_percent_shows_unsubscribed_parent(raw):
    """RFC 3501 6.3.9: with "foo/bar" subscribed but not "foo", LSUB with
    "%" returns "foo" flagged \\Noselect."""
    base = unique_folder("LsP")
    raw.ok("CREATE %s" % quote(base + "/bar"))
    raw.ok("SUBSCRIBE %s" % quote(base + "/bar"))
    u, t = raw.cmd('LSUB "" %s' % quote(base + "%"))
    assert tagged_status(t) == "OK", t
    e = list_entries(u, b"LSUB")
    assert set(e) == {base.encode()}, u
    assert "\\noselect" in e[base.encode()][0], u
    u, t = raw.cmd('LSUB "" %s' % quote(base + "*"))
    e = list_entries(u, b"LSUB")
    assert (base + "/bar").encode() in e, u
    raw.ok("UNSUBSCRIBE %s" % quote(base + "/bar"))
