#!/usr/bin/python3
"""spamtrap list and show against a quarantine filled by real LMTP
deliveries: columns and JSON fields, paging from the preferences,
sorting, the advanced query, --count with its limit, the incident page
with history, score breakdown and the message (8 kB, --decode,
--strip-html, --raw), and the failure messages."""

import base64
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap

t = spamtrap.Tap()

with trap.Trap() as tr:
    # the user's hold entry: a clean message from this sender is held
    rc, out, err = tr.st("sender", "set", "friend@example.net", "hold",
                         "--user", "alice@example.org")
    t.is_(rc, 0, "sender hold entry set")
    for i in range(9):
        r = tr.deliver("bulk%d@spam.example" % i, ["alice@example.org"],
                       trap.message(subject="Offer %02d cheap pills" % i,
                                    gtube=True, relay="192.0.2.%d" % (10 + i)))
        assert r[0][0] == 250, r
    tr.deliver("friend@example.net", ["alice@example.org"],
               trap.message(subject="Lunch on Friday", relay="198.51.100.5"))
    tr.deliver("b64@spam.example", ["alice@example.org"],
               trap.message(subject="Encoded", content_type="text/plain; charset=utf-8",
                            cte="base64", relay="192.0.2.50",
                            body=base64.encodebytes(
                                ("Hidden words: zanzibar\n" + trap.GTUBE + "\n").encode()
                            ).decode()))
    tr.deliver("html@spam.example", ["alice@example.org"],
               trap.message(subject="Shiny HTML", content_type="text/html; charset=utf-8",
                            relay="192.0.2.51",
                            body="<html><body><p>Visit <b>our shop</b> today</p><p>%s</p>"
                                 "</body></html>\n" % trap.GTUBE))
    tr.deliver("big@spam.example", ["alice@example.org"],
               trap.message(subject="Big one", relay="192.0.2.52",
                            body=("padding line %s\n" % ("x" * 60)) * 300, gtube=True))
    tr.deliver("other@spam.example", ["bob@example.org"],
               trap.message(subject="For Bob", to="bob@example.org", gtube=True,
                            relay="203.0.113.9"))
    r = tr.deliver("clean@example.net", ["alice@example.org"],
                   trap.message(subject="not held, score low"))
    t.ok(r[0][0] == 250 and "incident" not in r[0][1], "a clean message is not held")

    allinc = tr.incidents()
    alice = tr.incidents("alice@example.org")
    t.is_(len(allinc), 14, "14 incidents held over both users")
    t.is_(len(alice), 13, "13 for alice")
    keys = ["id", "date", "user", "recipient", "sender", "from", "subject",
            "score", "status", "hold_reason", "relay", "folder", "action",
            "who", "via"]
    t.ok(all(all(k in i for k in keys) for i in allinc),
         "every JSON line has the fields the issue names")
    lunch = [i for i in alice if i["subject"] == "Lunch on Friday"]
    t.ok(len(lunch) == 1 and lunch[0]["hold_reason"] == "HoldSender"
         and lunch[0]["relay"] == "198.51.100.5", "HoldSender incident with relay")
    t.ok(all(i["date"].endswith("Z") and "T" in i["date"] for i in allinc),
         "dates are ISO 8601")
    t.ok(alice == sorted(alice, key=lambda i: (i["date"], i["id"]), reverse=True),
         "default order: newest first")

    # text columns; the optional ones from --relay-column/--recipient-column
    rc, out, err = tr.st("list", "--user", "alice@example.org")
    head = out.splitlines()[0].split()
    t.is_(head, ["ID", "DATE", "SCORE", "STATUS", "REASON", "SENDER", "SUBJECT"],
          "list columns")
    t.like(out, "page 1: 13 shown of 13", "footer counts")
    rc, out, err = tr.st("list", "--user", "alice@example.org", "--relay-column",
                         "--recipient-column")
    t.is_(out.splitlines()[0].split(),
          ["ID", "DATE", "SCORE", "STATUS", "REASON", "RELAY", "RECIPIENT", "SENDER",
           "SUBJECT"], "relay and recipient columns on request")
    t.like(out, "198.51.100.5", "relay shown")

    # paging: the user's page_size, then --per-page
    rc, out, err = tr.st("prefs", "alice@example.org", "page_size=10",
                         "show_relay=yes")
    t.is_(rc, 0, "prefs page_size=10 show_relay=yes")
    rc, out, err = tr.st("list", "--user", "alice@example.org")
    lines = out.splitlines()
    t.is_(len(lines), 12, "page of 10 from the preferences (+ header, footer)")
    t.like(lines[0], "RELAY", "relay column from the preferences")
    t.like(lines[-1], "next: --page 2", "footer points to the next page")
    rc, out, err = tr.st("list", "--user", "alice@example.org", "--page", "2")
    t.is_(len(out.splitlines()), 5, "page 2 has the other 3")
    page1 = tr.json_lines("list", "--user", "alice@example.org", "--json")
    page2 = tr.json_lines("list", "--user", "alice@example.org", "--json", "--page", "2")
    t.is_([i["id"] for i in page1 + page2], [i["id"] for i in alice],
          "pages cover the listing in order")
    rc, out, err = tr.st("list", "--per-page", "7")
    t.ok(rc == 2 and "--per-page must be 10, 30, 50, 100 or 200" in err,
         "per-page 7 refused")

    # sorting
    by_score = tr.incidents("alice@example.org", "--sort", "score", "--asc")
    t.is_(by_score[0]["subject"], "Lunch on Friday", "--sort score --asc: lowest first")
    by_subj = tr.incidents("alice@example.org", "--sort", "subject", "--asc")
    subj = [i["subject"] for i in by_subj]
    t.is_(subj, sorted(subj, key=str.lower), "--sort subject --asc")
    by_sender = tr.incidents("alice@example.org", "--sort", "sender", "--desc")
    snd = [i["sender"] for i in by_sender]
    t.is_(snd, sorted(snd, key=str.lower, reverse=True), "--sort sender --desc")
    by_rcpt = tr.incidents(None, "--sort", "recipient", "--asc")
    t.is_(by_rcpt[0]["recipient"], "alice@example.org", "--sort recipient")
    rc, out, err = tr.st("list", "--sort", "colour")
    t.ok(rc == 2 and 'unknown sort field "colour"' in err, "bad sort field")

    # the advanced query: substrings, case-insensitive, combined
    q = tr.incidents(None, "--subject", "CHEAP PILLS")
    t.is_(len(q), 9, "--subject, case-insensitive")
    q = tr.incidents(None, "--sender", "bulk3@")
    t.is_([i["subject"] for i in q], ["Offer 03 cheap pills"], "--sender (envelope)")
    q = tr.incidents(None, "--recipient", "BOB")
    t.is_([i["subject"] for i in q], ["For Bob"], "--recipient")
    q = tr.incidents(None, "--report", "gtube")
    t.is_(len(q), 13, "--report by rule name")
    q = tr.incidents(None, "--report", "unsolicited bulk")
    t.is_(len(q), 13, "--report by rule description")
    q = tr.incidents(None, "--hold-reason", "holdsender")
    t.is_([i["subject"] for i in q], ["Lunch on Friday"], "--hold-reason")
    q = tr.incidents(None, "--subject", "offer", "--sender", "bulk1", "--report", "GTUBE")
    t.is_([i["subject"] for i in q], ["Offer 01 cheap pills"], "filters combine")
    q = tr.incidents(None, "--relay", "203.0.113")
    t.is_([i["user"] for i in q], ["bob@example.org"], "--relay")
    q = tr.incidents(None, "--subject", "offer", "--sort", "subject", "--desc",
                     "--per-page", "10", "--page", "1")
    t.is_(q[0]["subject"], "Offer 08 cheap pills", "filter + sort + page")
    q = tr.incidents(None, "--subject", "nothing like this")
    t.is_(q, [], "no match: no lines")
    rc, out, err = tr.st("list", "--subject", "nothing like this")
    t.like(out, "no incidents", "no match: said in text")

    # --count, exact without filters, up to --limit with them
    rc, out, err = tr.st("list", "--count")
    t.is_(out.strip(), "14", "--count")
    rc, out, err = tr.st("list", "--count", "--user", "bob@example.org")
    t.is_(out.strip(), "1", "--count for a user")
    rc, out, err = tr.st("list", "--count", "--subject", "pills")
    t.is_(out.strip(), "9", "--count with a filter")
    rc, out, err = tr.st("list", "--count", "--subject", "pills", "--limit", "4")
    t.ok(out.strip() == ">=4" and "--limit" in err, "--count stops at --limit")
    c = tr.json_lines("list", "--count", "--subject", "pills", "--limit", "4", "--json")
    t.is_(c, [{"count": 4, "limit_reached": True}], "--count --json")
    rc, out, err = tr.st("list", "--sort", "score", "--limit", "3", "--json")
    t.ok(rc == 0 and len(out.splitlines()) == 3 and "sorting the newest 3" in err,
         "in-memory sort is bounded by --limit and says so")

    # status views
    q = tr.incidents(None, "--status", "pending")
    t.is_(len(q), 14, "--status pending")
    q = tr.incidents(None, "--status", "spam")
    t.is_(q, [], "--status spam (none decided yet)")
    rc, out, err = tr.st("list", "--status", "maybe")
    t.ok(rc == 1 and 'unknown status "maybe"' in err, "bad status")
    rc, out, err = tr.st("list", "--user", "not an address")
    t.ok(rc == 1 and "bad address" in err, "bad user address")
    rc, out, err = tr.st("list", "--bogus")
    t.is_(rc, 2, "unknown option: exit 2")
    rc, out, err = tr.st("list", "--help")
    t.ok(rc == 0 and "--hold-reason" in out, "list --help")

    # show: the incident page
    lid = lunch[0]["id"]
    rc, out, err = tr.st("show", lid)
    t.is_(rc, 0, "show exits 0")
    for want in ("Incident     " + lid, "Sender       friend@example.net",
                 "Subject      Lunch on Friday", "Hold reason  HoldSender",
                 "Relay        198.51.100.5", "History:", "held", "Score breakdown:",
                 "Message:", "Subject: Lunch on Friday", "X-Spamtrap-Id: " + lid):
        t.like(out, want, "show has %r" % want)
    gid = [i for i in alice if i["subject"] == "Offer 03 cheap pills"][0]["id"]
    rc, out, err = tr.st("show", gid)
    t.like(out, "1000.0  GTUBE", "score breakdown lists the rule and score")
    t.like(out, "Generic Test for Unsolicited Bulk Email", "... and its description")
    t.like(out, "1000.0  total", "... and the total")
    js = tr.json_lines("show", "--json", gid)[0]
    t.ok(js["hits"][0]["rule"] == "GTUBE" and js["history"][0]["what"] == "held",
         "show --json carries hits and history")

    big = [i for i in alice if i["subject"] == "Big one"][0]
    rc, out, err = tr.st("show", big["id"])
    msg_part = out.split("\nMessage:\n", 1)[1]
    t.like(msg_part, "[... first 8192 bytes shown; --raw shows all]",
           "a long message is cut at 8 kB")
    t.ok(len(msg_part.encode()) < 8192 + 200, "only about 8 kB shown")
    rc, raw, err = tr.st("show", "--raw", big["id"])
    t.ok(rc == 0 and len(raw) > 20000 and trap.GTUBE in raw, "--raw: the whole message")
    filed = [m for m in tr.lmtpd.messages("alice@example.org", "Spam")
             if ("X-Spamtrap-Id: " + big["id"]).encode() in m]
    t.ok(len(filed) == 1 and filed[0].endswith(raw.encode()),
         "--raw is the copy filed in the quarantine folder")
    if filed and not filed[0].endswith(raw.encode()):
        t.diag(filed[0][:400])
        t.diag(raw[:400])

    enc = [i for i in alice if i["subject"] == "Encoded"][0]
    rc, out, err = tr.st("show", enc["id"])
    t.ok("zanzibar" not in out, "base64 body not decoded by default")
    rc, out, err = tr.st("show", "--decode", enc["id"])
    t.like(out, "Hidden words: zanzibar", "--decode undoes base64")
    html = [i for i in alice if i["subject"] == "Shiny HTML"][0]
    rc, out, err = tr.st("show", "--strip-html", html["id"])
    t.ok("Visit our shop today" in out and "<b>" not in out.split("Message:", 1)[1]
         .split("\n\n", 1)[1], "--strip-html shows HTML as text")

    token = [l.split(": ", 1)[1].strip() for l in out.splitlines()
             if l.startswith("X-Spamtrap-Id: ")]
    rc, out2, err = tr.st("show", "--no-body", token[0] if token else "x.y")
    t.ok(rc == 0 and "Incident     " + html["id"] in out2,
         "show takes the message's X-Spamtrap-Id token too")
    bad = (token[0][:-1] + ("a" if token[0][-1] != "a" else "b")) if token else "x.y"
    rc, out2, err = tr.st("show", bad)
    t.ok(rc == 1 and "not an authentic X-Spamtrap-Id" in err, "a forged token is refused")
    rc, out, err = tr.st("show", "0000000000000")
    t.ok(rc == 1 and "no incident 0000000000000" in err, "unknown id: exit 1, message")
    rc, out, err = tr.st("show", "not-an-id")
    t.ok(rc == 1 and "is not an incident id" in err, "malformed id: exit 1, message")
    rc, out, err = tr.st("show")
    t.is_(rc, 2, "show without an id: usage, exit 2")
    rc, out, err = tr.st("show", "--help")
    t.ok(rc == 0 and "--strip-html" in out, "show --help")

sys.exit(t.done())
