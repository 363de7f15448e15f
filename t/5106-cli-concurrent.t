#!/usr/bin/python3
"""The spamtrap command while spamtrap-lmtpd delivers: listings, counts,
preference and table changes, bulk entry, stats and a hot backup run
side by side with held deliveries; nothing fails (a delivery answered
4xx is tried again, as an MTA would), nothing is lost, and db check finds
the database consistent afterwards."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap

t = spamtrap.Tap()
N = 160
A = "alice@example.org"

with trap.Trap() as tr:
    results = []

    tempfails = []

    def sender(k):
        for i in range(N // 2):
            # as an MTA does, a 4xx (say the database stayed locked past
            # db_lock_timeout on a loaded machine) is tried again later;
            # a 5xx or an error is a failure
            for attempt in range(5):
                try:
                    r = tr.deliver("bulk%d-%d@spam.example" % (k, i), [A],
                                   trap.message(subject="Load %d-%d" % (k, i),
                                                gtube=True,
                                                relay="192.0.2.%d" % (i + 1)))[0]
                except Exception as e:      # reported below
                    r = (0, str(e))
                if not 400 <= r[0] < 500:
                    break
                tempfails.append(r)
                time.sleep(0.5)
            results.append(r)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    failures = []
    rounds = 0
    bulk = "".join("peer%d@uni.example\n" % i for i in range(50)).encode()
    while any(th.is_alive() for th in threads) or rounds < 3:
        for args, stdin in [
                (("list", "--count"), None),
                (("list", "--user", A, "--subject", "load", "--sort", "subject"), None),
                (("prefs", A, "page_size=%d" % (10 if rounds % 2 else 50)), None),
                (("sender", "bulk", "--action", "hold" if rounds % 2 else "allow",
                  "--user", "bob@example.org"), bulk),
                (("relay", "set", "198.51.100.%d" % rounds, "hold", "--user",
                  "bob@example.org"), None),
                (("user", "list", "--json"), None),
                (("stats", "--json"), None),
                (("db", "backup", os.path.join(tr.dir, "bk")), None),
        ]:
            rc, out, err = tr.st(*args, stdin=stdin)
            if rc != 0:
                failures.append((args, rc, err))
        rounds += 1
    for th in threads:
        th.join()

    for c, text in tempfails:
        t.diag("delivery tried again after: %d %s" % (c, text))
    t.ok(rounds >= 3, "%d rounds of commands ran during the deliveries" % rounds)
    t.is_(failures, [], "no command failed while lmtpd delivered")
    t.is_(sum(1 for c, text in results if c == 250 and "incident" in text), N,
          "every delivery held with an incident")
    for c, text in results:
        if not (c == 250 and "incident" in text):
            t.diag("delivery: %d %s" % (c, text))
    if failures or any(c != 250 for c, text in results):
        t.diag(tr.lmtpd.log()[-3000:])
    rc, out, err = tr.st("list", "--count")
    t.is_(out.strip(), str(N), "list --count sees all of them")
    rows = tr.json_lines("sender", "list", "--user", "bob@example.org", "--json")
    t.ok(len(rows) == 50 and len({r["action"] for r in rows}) == 1,
         "bulk entries all there, all with one action (each bulk was whole)")
    rc, out, err = tr.st("db", "check")
    t.ok(rc == 0 and "0 problems" in out, "db check: consistent")
    rc, out, err = tr.st("-o", "db_dir=" + os.path.join(tr.dir, "bk"), "db", "check")
    t.ok(rc == 0 and "0 problems" in out, "the last hot backup is consistent")

sys.exit(t.done())
