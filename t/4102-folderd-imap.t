#!/usr/bin/python3
# spamtrap-folderd, watch = imap, against a real Dovecot (imapd + lmtpd,
# master user, Maildir), with mail held by a real spamtrap-lmtpd whose
# store is Dovecot's LMTP, and a real IMAP client (imaplib) moving
# messages as mail clients do: UID MOVE, and COPY + \Deleted + EXPUNGE.
#   held message moved to INBOX -> non-spam within seconds (imap-move)
#   moved to another folder -> non-spam, to Trash -> spam
#   expunged from Spam -> spam;  INBOX message moved into Spam -> reported
#   forged / foreign X-Spamtrap-Id -> nothing but a log line
#   folderd stopped during moves, restarted -> every action once
#   spamtrap accept / reject over IMAP (the master user) move / remove it
import imaplib
import json
import atexit
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from dovecot import Dovecot
from lmtpd import Lmtpd, LmtpClient
from quarantine import Db, Folderd, wait_until, spamtrap_cmd

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st4102-")
rules = os.path.join(work, "rules")
os.makedirs(rules)
with open(os.path.join(rules, "90_test.cf"), "w") as f:
    f.write("body TEST_SIX /\\bscoresix\\b/\nscore TEST_SIX 6.0\n")

ALICE, BOB = "alice@example.org", "bob@example.org"
dc = Dovecot(users={"alice": "secret", "bob": "secret"}).start()
atexit.register(dc.cleanup)   # also when a step raises
pwfile = os.path.join(work, "admin.pw")
with open(pwfile, "w") as f:
    f.write(dc.master_password + "\n")
os.chmod(pwfile, 0o600)

d = Lmtpd(os.path.join(work, "d"), {"rules_dir": rules,
                                     "store": "lmtp:127.0.0.1:%d" % dc.lmtp_port})
d.start()
atexit.register(d.stop)
db = Db(os.path.join(d.settings["var_dir"], "db"))
common = {"db_dir": db.dir, "store": "lmtp:127.0.0.1:%d" % dc.lmtp_port,
          "watch": "imap", "imap_server": "127.0.0.1:%d" % dc.imap_port,
          "imap_admin_user": dc.master_user, "imap_admin_password_file": pwfile,
          "imap_login_format": "%n", "imap_poll_interval": "1s",
          "watch_interval": "5s"}

n_sent = 0


def deliver(rcpt, subject, spam=True, msgid=None):
    """Deliver through spamtrap-lmtpd; the incident id for held mail."""
    global n_sent
    n_sent += 1
    msgid = msgid or "<m%d.%d@example.net>" % (n_sent, time.time_ns())
    body = "This is scoresix stuff." if spam else "Hello, see you tomorrow."
    msg = ("From: Sender <s%d@example.net>\r\nTo: %s\r\nSubject: %s\r\n"
           "Message-ID: %s\r\n\r\n%s\r\n" % (n_sent, rcpt, subject, msgid, body))
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s%d@example.net" % n_sent, [rcpt], msg.encode())
    c.close()
    text = r[3][0][1]
    m = re.search(r"incident ([0-9a-z]{13})", text)
    return m.group(1) if m else None


def imap(user="alice"):
    m = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    m.login(user, "secret")
    m.capability()
    return m


def uid_of(m, folder, iid):
    m.select(folder)
    typ, data = m.uid("SEARCH", None, "HEADER", "X-Spamtrap-Id", iid)
    uids = data[0].split()
    return uids[0] if uids else None


held = [deliver(ALICE, "held %d" % i) for i in range(9)]
held_b = deliver(BOB, "bob held")
t.ok(all(held) and held_b, "spamtrap-lmtpd held 10 messages (incident ids in the replies)")
t.is_(len(dc.messages("alice", "Spam")), 9, "alice's 9 are in Dovecot's Spam folder")

f = Folderd(work, common).start()
atexit.register(lambda: f.stop())
t.ok(f.wait_log("watching 2 users over IMAP"), "folderd watches the users with incidents")

m = imap()
# 1. UID MOVE to INBOX
start = time.monotonic()
uid = uid_of(m, "Spam", held[0])
typ, _ = m.uid("MOVE", uid, "INBOX")
t.is_(typ, "OK", "UID MOVE Spam -> INBOX")
t.ok(wait_until(lambda: db.status(held[0]) == "non-spam", 8),
     "held message moved to INBOX -> non-spam")
t.diag("seen after %.2fs" % (time.monotonic() - start))
t.is_(db.show(held[0])[2:], [ALICE, "imap-move"], "accepted by alice via imap-move")
r = spamtrap_cmd(common, "list", "--user", ALICE, "--status", "non-spam", "--json")
rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
t.is_([(x.get("id"), x.get("who"), x.get("via")) for x in rows],
      [(held[0], ALICE, "imap-move")],
      "spamtrap list --status non-spam shows it, accepted by alice")
t.ok(db.allowed(ALICE, "s1@example.net"), "its sender joined alice's allow table")

# 2. expunged from Spam
uid = uid_of(m, "Spam", held[1])
m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
m.expunge()
t.ok(wait_until(lambda: db.status(held[1]) == "spam", 8), "expunged from Spam -> spam")

# 3. COPY + \Deleted + EXPUNGE (a client without MOVE)
uid = uid_of(m, "Spam", held[2])
m.uid("COPY", uid, "INBOX")
m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
m.expunge()
t.ok(wait_until(lambda: db.status(held[2]) == "non-spam", 8),
     "COPY + \\Deleted + EXPUNGE to INBOX -> non-spam")
time.sleep(2.5)
t.is_(len([h for h in db.history(held[2]) if "status" in h]), 1,
      "counted once (the copy and the expunge are one move)")

# 4. report: a normal INBOX message moved into Spam
n_spam = db.count(ALICE, "spam")
t.is_(deliver(ALICE, "a newsletter", spam=False, msgid="<news1@example.net>"), None,
      "a clean message goes to INBOX")
m.select("INBOX")
typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID", "news1@example.net")
m.uid("MOVE", data[0].split()[0], "Spam")
t.ok(wait_until(lambda: db.count(ALICE, "spam") == n_spam + 1, 8),
     "INBOX message moved into Spam -> reported (a new spam incident)")
t.like(f.log(), "reported=yes key=msgid:<news1@example.net>", "logged as reported")

# 5. forged and foreign tokens
m.append("INBOX", None, None, ("X-Spamtrap-Id: %s\r\nSubject: foreign\r\n\r\nx\r\n"
                               % db.token(held_b)).encode())
m.append("INBOX", None, None, ("X-Spamtrap-Id: %s\r\nSubject: forged\r\n\r\nx\r\n"
                               % (db.token(held[3])[:-4] + "aaaa")).encode())
if not t.ok(f.wait_log("belongs to another user, not alice@example.org"),
            "a foreign X-Spamtrap-Id is logged"):
    t.diag(f.log())
t.ok(f.wait_log("forged or damaged X-Spamtrap-Id"), "a forged one is logged")
t.is_((db.status(held_b), db.status(held[3])), ("pending", "pending"),
      "and nothing else happens")

# 6. moved back into Spam after an accept -> spam, history keeps both
uid = uid_of(m, "INBOX", held[0])
m.uid("MOVE", uid, "Spam")
t.ok(wait_until(lambda: db.status(held[0]) == "spam", 8),
     "accepted message moved back to Spam -> spam")
t.is_(len([h for h in db.history(held[0]) if "status" in h]), 2,
      "history keeps the accept and the reject")

# 6b. folders folderd does not track: another folder accepts, Trash rejects
m.create("Work")
m.create("Trash")
m.uid("MOVE", uid_of(m, "Spam", held[7]), "Work")
m.uid("MOVE", uid_of(m, "Spam", held[8]), "Trash")
t.ok(wait_until(lambda: db.status(held[7]) == "non-spam", 10),
     "held message moved to another folder (Work) -> non-spam")
t.ok(wait_until(lambda: db.status(held[8]) == "spam", 10),
     "held message moved to Trash -> spam")
t.like(db.history(held[8])[-1], "moved to trash", "history: moved to trash")

# 7. folderd down while the user acts
t.is_(f.stop(), 0, "folderd stops")
m.uid("MOVE", uid_of(m, "Spam", held[3]), "INBOX")
m.select("Spam")
m.uid("STORE", uid_of(m, "Spam", held[4]), "+FLAGS", "(\\Deleted)")
m.expunge()
mb = imap("bob")
mb.uid("MOVE", uid_of(mb, "Spam", held_b), "INBOX")
f = Folderd(work, common).start()
t.ok(wait_until(lambda: (db.status(held[3]), db.status(held[4]), db.status(held_b))
                == ("non-spam", "spam", "non-spam"), 15),
     "after a restart, the moves made while it was down are recorded")
t.diag(str((db.status(held[3]), db.status(held[4]), db.status(held_b))))
counts = [len(db.history(i)) for i in (held[3], held[4], held_b)]
t.is_(f.stop(), 0, "stopped again")
f = Folderd(work, common).start()
t.ok(f.wait_log("watching 2 users"), "restarted")
time.sleep(3)
t.is_([len(db.history(i)) for i in (held[3], held[4], held_b)], counts,
      "nothing is recorded twice")

# 8. spamtrap accept / reject over IMAP
r = spamtrap_cmd(common, "accept", "--who", "postmaster", held[5])
t.is_(r.returncode, 0, "spamtrap accept over IMAP exits 0")
t.like(r.stdout.decode(), "non-spam: moved to INBOX", "and says it moved the message")
t.ok("readable by others" not in r.stderr.decode(), "no warning about the 0600 password file")
t.ok(uid_of(m, "INBOX", held[5]) and not uid_of(m, "Spam", held[5]),
     "the message is now in INBOX, no longer in Spam")
t.is_(db.show(held[5])[2:], ["postmaster", "cli"], "recorded: who postmaster, via cli")
r = spamtrap_cmd(common, "reject", held[6])
t.is_(r.returncode, 0, "spamtrap reject over IMAP exits 0")
t.ok(not uid_of(m, "Spam", held[6]), "the rejected message is gone from Spam")
t.is_(db.status(held[6]), "spam", "and recorded as spam")
time.sleep(2.5)
t.is_(len([h for h in db.history(held[5]) if "status" in h]), 1,
      "folderd does not count the CLI's move again")
t.is_(f.stop(), 0, "folderd stops")

# 9. more users than imap_max_connections: polled by turns
x_a, x_b = deliver(ALICE, "turns a"), deliver(BOB, "turns b")
f = Folderd(work, dict(common, imap_max_connections="1")).start()
t.ok(f.wait_log("watching 2 users"), "folderd with imap_max_connections = 1")
m.uid("MOVE", uid_of(m, "Spam", x_a), "INBOX")
mb.uid("MOVE", uid_of(mb, "Spam", x_b), "INBOX")
t.ok(wait_until(lambda: (db.status(x_a), db.status(x_b)) == ("non-spam", "non-spam"), 10),
     "both users' moves are recorded with one connection")
f.proc.send_signal(signal.SIGUSR1)
t.ok(f.wait_log("evictions="), "SIGUSR1 logs the counters")
st = re.findall(r"connected=(\d+) .*evictions=(\d+)", f.log())
t.ok(st and int(st[-1][0]) <= 1 and int(st[-1][1]) > 0,
     "at most one connection open, others closed by turns (%s)" % (st[-1:],))
t.is_(f.stop(), 0, "folderd stops")

m.logout()
mb.logout()
d.stop()
dc.cleanup()
sys.exit(t.done())
