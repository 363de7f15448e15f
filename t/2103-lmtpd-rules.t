#!/usr/bin/python3
# The LMTP server scores with the configured rules, adds the score
# headers on every scored delivery, takes rule changes on SIGHUP without
# dropping connections, and keeps the rules in force when new ones
# cannot be read.
import email
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st2103-")
rules = os.path.join(work, "rules")
os.makedirs(rules)


def write_rules(score):
    with open(os.path.join(rules, "50_test.cf"), "w") as f:
        f.write("body TEST_WORD /\\bwidget\\b/i\nscore TEST_WORD %s\n"
                "describe TEST_WORD mentions a widget\n" % score)


MSG = (b"From: a@example.net\r\nTo: u@example.org\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
       b"Message-ID: <w1@example.net>\r\nSubject: order\r\n\r\nOne widget, please.\r\n")


def deliver(d, user):
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("a@example.net", [user], MSG)
    c.close()
    return [x[0] for x in r[3]]


write_rules("7.0")
d = Lmtpd(os.path.join(work, "d"), {"rules_dir": rules})
d.start()
t.ok(d.wait_log("rules: 1 loaded"), "start-up logs the rules loaded")
t.is_(deliver(d, "one@example.org"), [250], "delivered")
held = d.messages("one@example.org", "Spam")
t.is_(len(held), 1, "score 7 >= 5: held")
h = email.message_from_bytes(held[0]) if held else {}
t.is_(h.get("X-Spam-Score") if held else None, "7.0", "X-Spam-Score header")
t.like(h.get("X-Spam-Status", "") if held else "", "Yes, score=7.0 required=5.0 tests=TEST_WORD",
       "X-Spam-Status header")
t.like(h.get("X-Spam-Report", "") if held else "", "TEST_WORD mentions a widget",
       "X-Spam-Report names the rule and its description")

open_session = LmtpClient(d.port)
open_session.lhlo()
write_rules("1.0")
d.signal(signal.SIGHUP)
t.ok(d.wait_log("configuration reloaded"), "SIGHUP reloads")
t.is_(deliver(d, "two@example.org"), [250], "delivered after SIGHUP")
inbox = d.messages("two@example.org")
t.is_(len(inbox), 1, "new rules: score 1 goes to INBOX")
t.is_(email.message_from_bytes(inbox[0]).get("X-Spam-Score") if inbox else None, "1.0",
      "INBOX delivery carries the score too")
r = open_session.send_mail("a@example.net", ["three@example.org"], MSG)
t.is_([x[0] for x in r[3]], [250], "a session opened before SIGHUP still delivers")
t.is_(len(d.messages("three@example.org", "Spam")), 1,
      "and scores with the rules it started with")
open_session.close()

os.rename(rules, rules + ".gone")
d.signal(signal.SIGHUP)
t.ok(d.wait_log("reload failed"), "unreadable rules: the reload fails")
t.is_(deliver(d, "four@example.org"), [250], "the daemon keeps serving")
t.is_(len(d.messages("four@example.org")), 1, "with the rules in force (score 1: INBOX)")
d.stop()
t.is_(d.sanitizer_report(), [], "no sanitizer reports")
sys.exit(t.done())
