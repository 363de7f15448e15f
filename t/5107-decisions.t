#!/usr/bin/python3
"""Views of decided incidents: list --status spam/non-spam, user list
counts, show's history and stats' accepted/rejected columns.  Decisions
are made by folderd (a user's drag) or "spamtrap accept/reject", which
live elsewhere; here the qstore test driver records them through the
qstore API as those do (qstore_incident_set_status), beside incidents
held by real LMTP deliveries."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap

t = spamtrap.Tap()
driver = spamtrap.helper("qstore-driver")
if not os.path.exists(driver):
    t.ok(False, "%s is built (make)" % driver)
    sys.exit(t.done())
U = "dana@example.org"

with trap.Trap() as tr:
    tr.deliver("x@spam.example", [U], trap.message(subject="Held by LMTP", to=U,
                                                     gtube=True))
    db = os.path.join(tr.dir, "var", "db")
    # 5 incidents; each later round marks the previous one spam (imap-move)
    p = subprocess.run([driver, "write", db, U, "5"], capture_output=True, text=True,
                       timeout=60)
    t.is_(p.returncode, 0, "driver recorded 5 incidents and 4 decisions")
    ids = p.stdout.split()

    spam = tr.incidents(U, "--status", "spam")
    t.is_(sorted(i["id"] for i in spam), sorted(ids[:4]), "list --status spam")
    t.ok(all(i["action"] == "status spam" and i["via"] == "imap-move" and i["who"] == U
             for i in spam), "last action, via and who in --json")
    pend = tr.incidents(U, "--status", "pending")
    t.is_(len(pend), 2, "list --status pending: the LMTP one and the driver's last")
    t.is_(tr.incidents(U, "--status", "non-spam"), [], "list --status non-spam: none")
    rc, out, err = tr.st("list", "--user", U, "--status", "spam", "--count")
    t.is_(out.strip(), "4", "--count by status")

    rows = {r["user"]: r for r in tr.json_lines("user", "list", "--json")}
    t.is_((rows[U]["pending"], rows[U]["spam"]), (2, 4), "user list: pending and spam")

    rc, out, err = tr.st("show", ids[0], "--no-body")
    t.ok("status spam" in out and "imap-move" in out, "show: the decision in the history")

    js = tr.json_lines("stats", "--json")
    days = [r for r in js if "day" in r]
    t.is_((days[0]["held"], days[0]["accepted"], days[0]["rejected"]) if days else None,
          (6, 0, 4), "stats: held 6, rejected 4 today")
    rc, out, err = tr.st("stats")
    t.like(out, "SOME_RULE", "stats: the driver's rule among the top rules")
    t.like(out, "GTUBE", "... beside the LMTP one")

sys.exit(t.done())
