#!/usr/bin/python3
# Per-recipient policy end to end: one LMTP transaction whose recipients
# have different preferences and tables gets INBOX, a tagged subject, a
# held message in .Spam with its incident, table decisions, opt-out,
# auto-reject -- all in one reply set; then the same in bounce mode.
import email
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st9002-")
QSET = spamtrap.helper("qstore-set")
SPAMTRAP = os.path.join(spamtrap.bin_dir(), "spamtrap")
rules = os.path.join(work, "rules")
os.makedirs(rules)
with open(os.path.join(rules, "90_test.cf"), "w") as f:
    f.write("body TEST_SIX /\\bscoresix\\b/\nscore TEST_SIX 6.0\ndescribe TEST_SIX six points\n")
shipped = os.path.join(spamtrap.top(), "rules", "shipped")


def qset(db, *args):
    p = subprocess.run([QSET, db] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("qstore-set %s: %s" % (args, p.stderr.decode()))
    return p.stdout.decode()


def incident(db, iid):
    out = {}
    hits = []
    for line in qset(db, "incident", iid).splitlines():
        k, _, v = line.partition("=")
        if k == "hit":
            hits.append(v)
        else:
            out[k] = v
    out["hits"] = hits
    return out


def message(text_subject, body):
    return ("From: Sender <s@example.net>\r\nTo: team@example.org\r\n"
            "Date: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
            "Message-ID: <%s@example.net>\r\nX-Spamtrap-Id: forged.token\r\n"
            "Subject: %s\r\n\r\n%s\r\n" % (abs(hash(body)), text_subject, body)).encode()


def setup(d):
    db = d.settings["var_dir"] + "/db"
    qset(db, "pref", "bob@example.org", "tag_only=yes")
    qset(db, "pref", "dave@example.org", "spam_threshold=10")
    qset(db, "pref", "erin@example.org", "opt_out=yes")
    qset(db, "pref", "henry@example.org", "auto_reject_threshold=5.5")
    qset(db, "table", "carol@example.org", "sender", "s@example.net", "reject")
    qset(db, "table", "frank@example.org", "sender", "s@example.net", "allow")
    qset(db, "table", "gina@example.org", "domain", "example.net", "hold")
    qset(db, "table", "", "relay", "192.0.2.0/24", "hold")
    qset(db, "table", "ivan@example.org", "relay", "192.0.2.7", "default")
    return db


def files(d, user, folder=None):
    return d.messages(user, folder)


users = ["alice", "bob", "carol", "dave", "erin", "frank", "henry", "ivan"]
rcpts = ["%s@example.org" % u for u in users]

# ---------------------------------------------------------------- discard mode
d = Lmtpd(os.path.join(work, "discard"), {"rules_dir": "%s, %s" % (shipped, rules)})
d.start()
db = setup(d)
c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", rcpts,
                message("Cheap offer", "This is scoresix for everyone."))
t.is_([x[0] for x in r[1]], [250] * len(users), "discard mode: every RCPT accepted")
codes = dict(zip(users, [x for x in r[3]]))
t.is_(len(r[3]), len(users), "one reply per recipient after DATA")
t.ok(all(code == 250 for code, _ in r[3]), "all 250 (discards included)")

held = files(d, "alice@example.org", "Spam")
t.is_(len(held), 1, "alice (threshold 5, score 6): held in .Spam")
t.is_(files(d, "alice@example.org"), [], "alice: nothing in INBOX")
m = email.message_from_bytes(held[0]) if held else {}
tok = m.get("X-Spamtrap-Id", "") if held else ""
iid = tok.split(".")[0]
t.ok(tok and tok != "forged.token", "held copy carries our X-Spamtrap-Id (%s)" % tok)
t.is_(m.get_all("X-Spamtrap-Id") if held else None, [tok], "the forged X-Spamtrap-Id was removed")
t.like(codes["alice"][1], "incident " + iid, "alice's reply names the incident")
inc = incident(db, iid) if iid else {}
t.is_(inc.get("status"), "pending", "incident pending")
t.is_(inc.get("reasons"), "SpamScore", "hold reason SpamScore")
t.is_(inc.get("folder"), "Spam", "incident folder Spam")
t.ok(inc.get("location", "").startswith(d.maildir("alice@example.org", "Spam")),
     "incident location is the Maildir file")
t.ok(os.path.exists(inc.get("location", "/nonexistent")), "and that file exists")
t.is_((inc.get("sender"), inc.get("subject"), inc.get("user")),
      ("s@example.net", "Cheap offer", "alice@example.org"), "incident sender, subject, user")
t.ok("TEST_SIX" in inc.get("hits", []), "incident report has the rule hit")

inbox = files(d, "bob@example.org")
t.is_(len(inbox), 1, "bob (tag-only): in INBOX")
mb = email.message_from_bytes(inbox[0]) if inbox else {}
t.like(mb.get("Subject", "") if inbox else "", "[Spam:****** SpamScore] Cheap offer",
       "bob: subject tagged with stars and reason")
t.ok(inbox and mb.get("X-Spamtrap-Id"), "bob: tagged copy has X-Spamtrap-Id")
binc = incident(db, mb.get("X-Spamtrap-Id").split(".")[0]) if inbox else {}
t.is_((binc.get("folder"), binc.get("flags")), ("INBOX", "1"), "bob: incident folder INBOX, tagged")

t.is_(files(d, "carol@example.org") + files(d, "carol@example.org", "Spam"), [],
      "carol (sender reject): discarded, nothing stored")
t.like(codes["carol"][1], "Discarded (RejectSender)", "carol: the reply says discarded")

inbox = files(d, "dave@example.org")
t.is_(len(inbox), 1, "dave (threshold 10): INBOX")
md = email.message_from_bytes(inbox[0]) if inbox else {}
t.like(md.get("X-Spam-Status", "") if inbox else "", "tests=", "dave: X-Spam-Status added")
t.ok(inbox and md.get("X-Spam-Score", "").startswith("6."), "dave: X-Spam-Score 6.x")
t.ok(inbox and not md.get("X-Spamtrap-Id"), "dave: no X-Spamtrap-Id (nothing held)")

inbox = files(d, "erin@example.org")
t.is_(len(inbox), 1, "erin (opt-out): INBOX")
me = email.message_from_bytes(inbox[0]) if inbox else {}
t.ok(inbox and not me.get("X-Spam-Score") and not me.get("X-Spam-Status"),
     "erin: untouched, no score headers")

inbox = files(d, "frank@example.org")
t.is_(len(inbox), 1, "frank (sender allow): INBOX")
t.ok(inbox and not email.message_from_bytes(inbox[0]).get("X-Spam-Score"),
     "frank: not scored")

t.is_(files(d, "henry@example.org") + files(d, "henry@example.org", "Spam"), [],
      "henry (auto-reject 5.5 < 6): discarded")
t.is_(qset(db, "count", "henry@example.org").strip(), "0", "henry: auto-reject leaves no incident")

t.is_(len(files(d, "ivan@example.org", "Spam")), 1, "ivan (score 6): held")

# site relay table via XFORWARD; a user 'default' entry hides it
r = c.cmd("XFORWARD ADDR=192.0.2.7 NAME=bad.example.com")
r = c.send_mail("s@example.net", ["gina@example.org", "alice@example.org", "ivan@example.org"],
                message("Hello", "Nothing special here, just a note."))
t.is_([x[0] for x in r[3]], [250, 250, 250], "relay transaction delivered")
g = files(d, "gina@example.org", "Spam")
t.is_(len(g), 1, "gina (domain hold): held even with a low score")
ginc = incident(db, email.message_from_bytes(g[0])["X-Spamtrap-Id"].split(".")[0]) if g else {}
t.is_(ginc.get("reasons"), "HoldDomain", "gina: reason HoldDomain")
a = files(d, "alice@example.org", "Spam")
t.is_(len(a), 2, "alice: the site relay hold applies")
ainc = [incident(db, email.message_from_bytes(x)["X-Spamtrap-Id"].split(".")[0]) for x in a]
t.ok(any(x.get("reasons") == "HoldRelay" and x.get("relay_ip") == "192.0.2.7" for x in ainc),
     "alice: reason HoldRelay, relay recorded")
t.is_(len(files(d, "ivan@example.org")), 1, "ivan: his 'default' relay entry hides the site hold")
c.close()

log = d.log()
for user, action in (("alice", "action=hold reason=SpamScore folder=Spam"),
                     ("bob", "action=tag reason=SpamScore folder=INBOX"),
                     ("carol", "action=reject reason=RejectSender"),
                     ("erin", "score=- action=deliver"),
                     ("frank", "score=- action=allow"),
                     ("henry", "action=auto-reject")):
    t.ok(any(("to=<%s@example.org>" % user) in l and action in l for l in log.splitlines()),
         "log line for %s: %s" % (user, action))
d.stop()
p = subprocess.run([SPAMTRAP, "-o", "db_dir=" + db, "db", "check"], stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, timeout=60)
t.is_(p.returncode, 0, "spamtrap db check: consistent (%s)" % p.stdout.decode().strip()[-200:])
t.is_(d.sanitizer_report(), [], "no sanitizer reports")

# ---------------------------------------------------------------- bounce mode
d = Lmtpd(os.path.join(work, "bounce"), {"rules_dir": "%s, %s" % (shipped, rules),
                                          "lmtp_reject_mode": "bounce"})
d.start()
db = setup(d)
c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", ["alice@example.org", "carol@example.org", "henry@example.org"],
                message("Offer", "scoresix again"))
t.is_([x[0] for x in r[1]], [250, 550, 250], "bounce mode: carol's sender reject at RCPT")
t.like(r[1][1][1], "5.7.1", "with 5.7.1")
t.is_([x[0] for x in r[3]], [250, 550], "after DATA: alice held, henry's auto-reject 550")
t.like(r[3][1][1] if len(r[3]) > 1 else "", "5.7.1", "auto-reject 5.7.1")
t.is_(files(d, "henry@example.org") + files(d, "henry@example.org", "Spam"), [],
      "henry: nothing stored")
c.close()
d.stop()
t.is_(d.sanitizer_report(), [], "no sanitizer reports (bounce mode)")
sys.exit(t.done())
