#!/usr/bin/python3
"""spamtrap prefs, optout/optin, user list, stats, expire and db backup
against a quarantine filled by real LMTP deliveries: validation and
all-or-nothing changes, stream presets, site defaults, the effect of
opt-out, tag-only and thresholds on deliveries, and a hot backup taken
while spamtrap-lmtpd runs."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap

t = spamtrap.Tap()
A, B, C = "alice@example.org", "bob@example.org", "carol@example.org"


def prefs(tr, user):
    return tr.json_lines("prefs", user, "--json")[0]


with trap.Trap() as tr:
    # show: every preference with its effective value
    rc, out, err = tr.st("prefs", A)
    t.is_(rc, 0, "prefs USER shows")
    for line in ("spam_threshold = 5", "auto_reject_threshold = 2000",
                 "tag_string = [Spam:%* %?]", "page_size = 30", "sort_field = date",
                 "notify = no", "opt_out = no", "stream = medium", "show_one_shot = yes"):
        t.like(out, line + "\t# default\n", "default %s, marked" % line)
    p = prefs(tr, A)
    t.is_(p["user"], A, "prefs --json")

    # set several at once; validation; all or nothing
    rc, out, err = tr.st("prefs", A, "notify=yes", "page_size=50", "sort_field=score",
                         "sort_order=ascending", "show_recipient=yes")
    t.ok(rc == 0 and "5 changes stored" in out, "several settings at once")
    p = prefs(tr, A)
    t.is_((p["notify"], p["page_size"], p["sort_field"], p["sort_order"],
           p["show_recipient"]), ("yes", "50", "score", "ascending", "yes"),
          "stored and shown")
    for args, msg in [
            (["page_size=7"], "page_size = 7:"),
            (["spam_threshold=lots"], "spam_threshold = lots: not a number"),
            (["spam_threshold=3000"], "auto_reject_threshold must be greater"),
            (["colour=blue"], 'unknown preference "colour"'),
            (["notify_address=not an address"], "notify_address"),
            (["tag_string=%x"], "unknown % sequence"),
            (["stream=extreme"], "stream = extreme"),
    ]:
        rc, out, err = tr.st("prefs", A, "page_size=100", *args)
        t.ok(rc == 1 and msg in err and "nothing was changed" in err,
             "bad value %s: exit 1, %r" % (args[0], msg))
        if not (rc == 1 and msg in err):
            t.diag("rc=%d err=%s" % (rc, err))
    t.is_(prefs(tr, A)["page_size"], "50", "the good value before a bad one was not stored")
    rc, out, err = tr.st("prefs", A, "page_size")
    t.ok(rc == 2 and "is not name=value" in err, "not name=value: usage error")
    rc, out, err = tr.st("prefs")
    t.is_(rc, 2, "prefs without a user: usage")
    rc, out, err = tr.st("prefs", "bad user@x")
    t.ok(rc == 1 and "bad address" in err, "prefs: bad address")

    # stream presets, custom, unset, site defaults
    rc, out, err = tr.st("prefs", B, "--stream", "high")
    p = prefs(tr, B)
    t.is_((p["stream"], p["spam_threshold"], p["tag_only"]), ("high", "3", "no"),
          "--stream high: threshold 3")
    rc, out, err = tr.st("prefs", B, "--stream", "tag-only")
    p = prefs(tr, B)
    t.is_((p["stream"], p["tag_only"]), ("tag-only", "yes"), "--stream tag-only")
    rc, out, err = tr.st("prefs", B, "spam_threshold=4")
    t.is_(prefs(tr, B)["stream"], "custom", "an own threshold makes the stream custom")
    rc, out, err = tr.st("prefs", "--site", "page_size=100")
    t.is_(prefs(tr, C)["page_size"], "100", "a site default reaches other users")
    t.is_(prefs(tr, A)["page_size"], "50", "... but not one who set their own")
    rc, out, err = tr.st("prefs", C)
    t.like(out, "page_size = 100\t# site\n", "a site value is marked # site")
    rc, out, err = tr.st("prefs", A)
    t.like(out, "\npage_size = 50\n", "the user's own value is unmarked")
    t.is_(prefs(tr, A)["from"]["page_size"], "user", "--json says where from: user")
    t.is_(prefs(tr, C)["from"]["page_size"], "site", "... site")
    t.is_(prefs(tr, C)["from"]["notify"], "default", "... default")
    rc, out, err = tr.st("prefs", A, "--unset", "page_size")
    t.is_(prefs(tr, A)["page_size"], "100", "--unset: back to the site value")
    rc, out, err = tr.st("prefs", "--site", "--unset", "page_size")
    t.is_(rc, 2, "--unset with --site refused")
    rc, out, err = tr.st("prefs", "--help")
    t.ok(rc == 0 and "--stream" in out, "prefs --help")

    # preferences decide real deliveries
    gt = lambda subj, to=A: trap.message(subject=subj, to=to, gtube=True,
                                         relay="192.0.2.44")
    tr.deliver("s1@spam.example", [A], gt("Held for alice"))
    r = tr.deliver("s2@spam.example", [B], gt("Tagged for bob", B))
    t.ok(r[0][0] == 250 and any(b"Subject: [Spam:" in m and b"Tagged for bob" in m
                                for m in tr.lmtpd.messages(B)),
         "tag-only: subject tagged, delivered to INBOX")
    rc, out, err = tr.st("optout", C)
    t.ok(rc == 0 and "carol@example.org: opted out" in out, "optout")
    t.is_(prefs(tr, C)["opt_out"], "yes", "opt_out = yes")
    r = tr.deliver("s3@spam.example", [C], gt("Unscanned for carol", C))
    t.ok(any(b"Unscanned for carol" in m and b"X-Spam-Score" not in m
             for m in tr.lmtpd.messages(C)), "opted out: INBOX, not scanned")
    rc, out, err = tr.st("optin", C)
    t.ok(rc == 0 and "opted in" in out and prefs(tr, C)["opt_out"] == "no", "optin")
    tr.deliver("s4@spam.example", [C], gt("Held for carol", C))
    t.is_([i["subject"] for i in tr.incidents(C)], ["Held for carol"],
          "opted in again: held")
    rc, out, err = tr.st("optout", "not-an@")
    t.ok(rc == 1 and "bad address" in err, "optout: bad address")
    rc, out, err = tr.st("optout")
    t.is_(rc, 2, "optout without a user: usage")
    tr.st("relay", "set", "203.0.113.0/24", "hold", "--user", "dave@example.org")

    # user list
    rows = {r["user"]: r for r in tr.json_lines("user", "list", "--json")}
    t.is_(sorted(rows), [A, B, C, "dave@example.org"],
          "users with incidents or settings")
    t.is_((rows[A]["pending"], rows[A]["prefs"], rows[A]["tables"]), (1, True, False),
          "alice: 1 pending, prefs")
    t.is_((rows[B]["pending"], rows[C]["pending"]), (1, 1),
          "tagged and held incidents count as pending")
    t.is_((rows["dave@example.org"]["pending"], rows["dave@example.org"]["tables"]),
          (0, True), "dave: tables only")
    rc, out, err = tr.st("user", "list")
    t.ok(out.splitlines()[0].split()[:3] == ["USER", "PENDING", "ONE-SHOT"]
         and "prefs" in out, "user list as text")
    rc, out, err = tr.st("user", "frob")
    t.is_(rc, 2, "user: unknown verb")

    # stats
    rc, out, err = tr.st("stats")
    t.is_(rc, 0, "stats")
    t.like(out, "total            3         0         0", "held per day, totals")
    t.like(out, "GTUBE", "top rules")
    t.like(out, "192.0.2.44", "top relays")
    t.like(out, "s1@spam.example", "top senders")
    js = tr.json_lines("stats", "--json", "--days", "2", "--top", "1")
    t.ok(any("held" in r and r["held"] == 3 for r in js)
         and any(r.get("top") == "rules" and r["key"] == "GTUBE" for r in js),
         "stats --json")
    rc, out, err = tr.st("stats", "--user", C)
    t.like(out, "total            1", "stats --user")
    rc, out, err = tr.st("stats", "--days", "0")
    t.is_(rc, 2, "stats --days 0 refused")

    # expire: nothing is old enough here
    rc, out, err = tr.st("expire")
    t.ok(rc == 0 and "0 incidents expired" in out, "expire keeps fresh incidents")
    t.is_(len(tr.incidents()), 3, "... all still there")

    # hot backup while lmtpd runs
    bdir = os.path.join(tr.dir, "backup")
    rc, out, err = tr.st("db", "backup", bdir)
    t.ok(rc == 0 and "written to" in out, "db backup")
    t.ok(os.path.exists(os.path.join(bdir, "incidents.db"))
         and os.path.exists(os.path.join(bdir, "secret")), "databases and secret copied")
    tr.deliver("s5@spam.example", [A], gt("After the backup"))
    rc, out, err = tr.st("-o", "db_dir=" + bdir, "list", "--count", conf=True)
    t.is_(out.strip(), "3", "the backup opens and holds what was there")
    rc, out, err = tr.st("-o", "db_dir=" + bdir, "db", "check")
    t.ok(rc == 0 and "0 problems" in out, "db check on the backup is clean")
    rc, out, err = tr.st("list", "--count")
    t.is_(out.strip(), "4", "the live database went on")
    rc, out, err = tr.st("db", "backup", os.path.join(tr.dir, "var", "db"))
    t.ok(rc == 1 and "it is db_dir" in err, "backup into db_dir refused")
    open(os.path.join(tr.dir, "afile"), "w").close()
    rc, out, err = tr.st("db", "backup", os.path.join(tr.dir, "afile"))
    t.ok(rc == 1 and "afile" in err, "backup onto a file refused")
    rc, out, err = tr.st("db", "backup")
    t.is_(rc, 2, "backup without DIR: usage")

sys.exit(t.done())
