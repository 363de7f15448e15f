#!/usr/bin/python3
"""spamtrap sender|domain|relay list|set|del|bulk: per-user and site
tables, validation messages, bulk entry all-or-nothing with its
confirmation and "bulk --delete" undo, and each table's effect on real
LMTP deliveries (allow, hold, reject)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap

t = spamtrap.Tap()
A = "alice@example.org"

with trap.Trap() as tr:
    # set / list / del, with who and comment
    rc, out, err = tr.st("sender", "set", "Boss@Work.Example", "allow", "--user", A,
                         "--comment", "my boss", "--who", "helpdesk")
    t.ok(rc == 0 and "sender boss@work.example: allow (table of alice@example.org)" in out,
         "sender set: normalized key, confirmation")
    rc, out, err = tr.st("domain", "set", "@Spam.Example.", "reject", "--site")
    t.ok(rc == 0 and "domain spam.example: reject (table of the site)" in out,
         "domain set --site")
    rc, out, err = tr.st("relay", "set", "198.51.100.0/24", "hold", "--user", A)
    t.is_(rc, 0, "relay set (network)")
    rc, out, err = tr.st("domain", "set", "partner.example", "hold", "--user", A)
    t.is_(rc, 0, "domain set hold")

    rows = tr.json_lines("sender", "list", "--user", A, "--json")
    t.is_([(r["key"], r["action"], r["who"], r["comment"]) for r in rows],
          [("boss@work.example", "allow", "helpdesk", "my boss")],
          "sender list --json: key, action, who, comment")
    t.ok(rows and rows[0]["date"].endswith("Z"), "entry date in ISO 8601")
    rc, out, err = tr.st("sender", "list", "--user", A)
    t.ok(out.splitlines()[0].split()[:3] == ["SENDER", "ACTION", "WHO"]
         and "boss@work.example" in out, "sender list as text")
    rc, out, err = tr.st("relay", "set", "192.0.2.99", "default", "--user", A)
    rows = tr.json_lines("relay", "list", "--user", A, "--json", "--action", "hold")
    t.is_([r["key"] for r in rows], ["198.51.100.0/24"], "list --action filters")
    rows = tr.json_lines("relay", "list", "--user", A, "--json")
    t.is_(sorted(r["key"] for r in rows), ["192.0.2.99/32", "198.51.100.0/24"],
          "a single address is stored as /32")
    rc, out, err = tr.st("domain", "list")
    t.like(out, "spam.example", "without --user: the site table")
    rows = tr.json_lines("sender", "list", "--json")
    t.is_(rows, [], "site sender table empty")
    rc, out, err = tr.st("sender", "list", "--user", "bob@example.org")
    t.like(out, "has no entries", "empty table said so")
    rc, out, err = tr.st("sender", "list", "--user", A)
    t.like(out, os.environ.get("SUDO_USER") or "helpdesk", "who recorded")

    # the tables decide real deliveries
    r = tr.deliver("boss@work.example", [A], trap.message(subject="From the boss", gtube=True))
    t.ok(r[0][0] == 250 and "incident" not in r[0][1], "allow: delivered, even with GTUBE")
    t.ok(any(b"From the boss" in m for m in tr.lmtpd.messages(A)), "... into INBOX")
    r = tr.deliver("x@sub.spam.example", [A], trap.message(subject="Rejected"))
    t.ok(r[0][0] == 250 and not any(b"Rejected" in m for m in tr.lmtpd.messages(A))
         and not any(b"Rejected" in m for m in tr.lmtpd.messages(A, "Spam")),
         "site domain reject (subdomain): discarded, nothing stored")
    tr.deliver("news@partner.example", [A], trap.message(subject="Partner news"))
    tr.deliver("joe@elsewhere.example", [A],
               trap.message(subject="Via held relay", relay="198.51.100.77"))
    held = {i["subject"]: i["hold_reason"] for i in tr.incidents(A)}
    t.is_(held, {"Partner news": "HoldDomain", "Via held relay": "HoldRelay"},
          "hold entries: HoldDomain, HoldRelay incidents")

    # del
    rc, out, err = tr.st("sender", "del", "BOSS@work.example", "--user", A)
    t.ok(rc == 0 and "deleted" in out, "sender del")
    rc, out, err = tr.st("sender", "del", "boss@work.example", "--user", A)
    t.ok(rc == 1 and "is not in the table of alice@example.org" in err,
         "del of a missing entry: exit 1 with a message")

    # validation
    for args, msg in [
            (["sender", "set", "not an address", "allow"], 'bad sender "not an address"'),
            (["domain", "set", "exa mple.org", "allow"], 'bad domain "exa mple.org"'),
            (["relay", "set", "192.0.2.1/24", "hold"], "bits set beyond the prefix"),
            (["relay", "set", "300.1.1.1", "hold"], "not an IPv4 or IPv6 address"),
            (["sender", "set", "a@b.example", "maybe"], 'unknown action "maybe"'),
            (["sender", "set", "a@b.example", "allow", "--user", "x y"], "bad address"),
    ]:
        rc, out, err = tr.st(*args)
        t.ok(rc == 1 and msg in err, "%s: exit 1, %r" % (" ".join(args), msg))
        if not (rc == 1 and msg in err):
            t.diag("rc=%d err=%s" % (rc, err))
    rc, out, err = tr.st("sender", "set", "a@b.example")
    t.is_(rc, 2, "set without an action: usage")
    rc, out, err = tr.st("sender", "frob")
    t.ok(rc == 2 and 'unknown subcommand "frob"' in err, "unknown verb")
    rc, out, err = tr.st("sender", "list", "--user", A, "--site")
    t.is_(rc, 2, "--user and --site together refused")
    rc, out, err = tr.st("relay", "--help")
    t.ok(rc == 0 and "bulk --action" in out, "relay --help")

    # bulk: all or nothing, confirmation, undo
    good = ("# colleagues\n"
            "ann@uni.example   co-author\n"
            "\n"
            "Ben@Uni.Example\n"
            "carl@lab.example  reviewer, 2026\n")
    rc, out, err = tr.st("sender", "bulk", "--action", "allow", "--user", A,
                         "--comment", "colleagues", stdin=good.encode())
    t.is_(rc, 0, "bulk allow: exit 0")
    for k in ("ann@uni.example", "ben@uni.example", "carl@lab.example"):
        t.like(out, "%-32s added: allow" % k, "confirmation lists %s" % k)
    t.like(out, "3 added, 0 changed, 0 unchanged; undo with: spamtrap sender bulk "
           "--delete --user alice@example.org < FILE", "summary and undo hint")
    rows = {r["key"]: r["comment"] for r in
            tr.json_lines("sender", "list", "--user", A, "--json")}
    t.is_(rows, {"ann@uni.example": "co-author", "ben@uni.example": "colleagues",
                 "carl@lab.example": "reviewer, 2026"},
          "per-line comments override the global one")

    bad = good + "dora.example\n"
    rc, out, err = tr.st("sender", "bulk", "--action", "reject", "--user", A,
                         stdin=bad.encode())
    t.ok(rc == 1 and "line 4" in err and "nothing was changed" in err,
         "a bad line: exit 1, its number, nothing changed")
    acts = {r["action"] for r in tr.json_lines("sender", "list", "--user", A, "--json")}
    t.is_(acts, {"allow"}, "... and indeed nothing changed")

    path = os.path.join(tr.dir, "list.txt")
    with open(path, "w") as f:
        f.write(good)
    rc, out, err = tr.st("sender", "bulk", "--action", "hold", "--user", A, path)
    t.ok(rc == 0 and "changed: allow -> hold" in out and "0 added, 3 changed" in out,
         "bulk from a FILE: changed entries reported")
    rc, out, err = tr.st("sender", "bulk", "--delete", "--user", A, path)
    t.ok(rc == 0 and "deleted (was hold)" in out and "3 deleted, 0 not there" in out,
         "bulk --delete undoes")
    t.is_(tr.json_lines("sender", "list", "--user", A, "--json"), [], "table empty again")
    rc, out, err = tr.st("sender", "bulk", "--delete", "--user", A, path)
    t.like(out, "0 deleted, 3 not there", "bulk --delete again: nothing there")
    rc, out, err = tr.st("domain", "bulk", "--site", "--action", "reject",
                         stdin=b"one.example\ntwo.example\n")
    t.ok(rc == 0 and "2 added" in out, "domain bulk --site")
    rc, out, err = tr.st("sender", "bulk", "--user", A, stdin=b"a@b.example\n")
    t.ok(rc == 2 and "give --action A or --delete" in err, "bulk needs --action")
    rc, out, err = tr.st("sender", "bulk", "--action", "allow", stdin=b"# only\n\n")
    t.ok(rc == 1 and "no entries" in err, "bulk with no entries: exit 1")
    rc, out, err = tr.st("sender", "bulk", "--action", "allow", "/nonexistent/x")
    t.ok(rc == 1 and "cannot open /nonexistent/x" in err, "bulk: missing file")

sys.exit(t.done())
