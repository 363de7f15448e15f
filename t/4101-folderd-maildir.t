#!/usr/bin/python3
# spamtrap-folderd, watch = maildir: moves made the way Dovecot makes them
# on Maildir (a hard link into the target's new/ or cur/, then the source
# unlinked) become quarantine actions: held message moved to INBOX ->
# non-spam (and its sender allowed); expunged from Spam -> spam; moved to
# Trash -> spam; INBOX message moved into Spam -> reported; forged or
# foreign X-Spamtrap-Id -> nothing but a log line; moved back -> spam
# again (history keeps both); copied instead of moved -> counted once;
# folderd stopped during moves and restarted -> every action once;
# held mail older than quarantine_retention -> removed and spam (expiry).
# Mail is held by a real spamtrap-lmtpd (Maildir store); only the
# expired message is made by t/helpers/qa-hold (LMTP cannot backdate).
import atexit
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient
from quarantine import Db, Folderd, message, wait_until

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st4101-")
mail = os.path.join(work, "mail")
rules = os.path.join(work, "rules")
os.makedirs(rules)
with open(os.path.join(rules, "90_test.cf"), "w") as fp:
    fp.write("body TEST_SIX /\\bscoresix\\b/\nscore TEST_SIX 6.0\n")
lmtpd = Lmtpd(os.path.join(work, "d"), {"rules_dir": rules,
                                         "store": "maildir:%s/%%u" % mail})
lmtpd.start()
atexit.register(lmtpd.stop)
db = Db(os.path.join(lmtpd.settings["var_dir"], "db"))
settings = {"store": "maildir:%s/%%u" % mail, "db_dir": db.dir,
            "watch": "maildir", "watch_interval": "30s",
            "quarantine_retention": "1h"}
ALICE, BOB = "alice@example.org", "bob@example.org"


def hold(rcpt, subject, sender):
    """Deliver spam through spamtrap-lmtpd: the incident id of the reply."""
    c = LmtpClient(lmtpd.port)
    c.lhlo()
    r = c.send_mail(sender, [rcpt], ("From: %s\r\nSubject: %s\r\nMessage-ID: <%d@x>\r\n"
                                     "\r\nscoresix\r\n" % (sender, subject,
                                                             time.time_ns())).encode())
    c.close()
    m = re.search(r"incident ([0-9a-z]{13})", r[3][0][1])
    return m.group(1) if m else None


def box(user, folder=None):
    d = os.path.join(mail, user)
    if folder:
        d = os.path.join(d, "." + folder)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    return d


def find(iid, user, folder=None):
    """The file of incident IID in FOLDER (by its X-Spamtrap-Id)."""
    d = box(user, folder)
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(d, sub)):
            p = os.path.join(d, sub, name)
            with open(p, "rb") as fp:
                if (b"X-Spamtrap-Id: " + iid.encode()) in fp.read(4096):
                    return p
    return None


def deliver(user, name, data, folder=None):
    """Write a message as a Maildir writer does: tmp/, then new/."""
    d = box(user, folder)
    tmp = os.path.join(d, "tmp", name)
    with open(tmp, "wb") as fp:
        fp.write(data)
    os.rename(tmp, os.path.join(d, "new", name))
    return os.path.join(d, "new", name)


def dovecot_move(path, user, folder, copy=False):
    """Move (or copy) a message file as Dovecot does on Maildir: a hard
    link into the target's cur/ with the same base name, flags added,
    then the source unlinked."""
    base = os.path.basename(path).split(":")[0]
    dst = os.path.join(box(user, folder), "cur", base + ":2,S")
    os.link(path, dst)
    if not copy:
        os.unlink(path)
    return dst


inbox_a, spam_a, trash_a = box(ALICE), box(ALICE, "Spam"), box(ALICE, "Trash")
inbox_b, spam_b = box(BOB), box(BOB, "Spam")

held = [hold(ALICE, "held %d" % i, "s%d@spam.example" % i) for i in range(6)]
held_b = hold(BOB, "bob held", "x@spam.example")
t.ok(all(held) and held_b and find(held[0], ALICE, "Spam"),
     "spamtrap-lmtpd held seven messages in .Spam")
old = db.hold(ALICE, "old@spam.example", "Spam", spam_a, message("old"), age=7200)

f = Folderd(work, settings).start()
atexit.register(lambda: f.stop())
t.ok(f.wait_log("users found"), "folderd starts and finds the users")
t.ok(wait_until(lambda: db.status(old) == "spam", 10),
     "a message held longer than quarantine_retention expires -> spam")
t.ok(find(old, ALICE, "Spam") is None, "and is removed from the folder")
t.like(" ".join(db.history(old)), "expiry expiry status spam: expired after 0 days",
       "history: via expiry")
t.is_(db.status(held[0]), "pending", "held messages in Spam stay pending")

# 1. drag a held message to INBOX
start = time.monotonic()
dovecot_move(find(held[0], ALICE, "Spam"), ALICE, None)
t.ok(wait_until(lambda: db.status(held[0]) == "non-spam", 5),
     "held message moved to INBOX -> non-spam")
t.diag("seen after %.2fs" % (time.monotonic() - start))
show = db.show(held[0])
t.is_(show[2:], [ALICE, "maildir"], "accepted by the user, via maildir")
t.ok(db.allowed(ALICE, "s0@spam.example"),
     "accept_allows_sender: the sender joins the user's allow table")

# 2. expunge from Spam
os.unlink(find(held[1], ALICE, "Spam"))
t.ok(wait_until(lambda: db.status(held[1]) == "spam", 5), "expunged from Spam -> spam")
t.like(db.history(held[1])[-1], "expunged from the quarantine", "history says why")

# 3. Trash counts as reject
dovecot_move(find(held[2], ALICE, "Spam"), ALICE, "Trash")
t.ok(wait_until(lambda: db.status(held[2]) == "spam", 5), "moved to Trash -> spam")

# 4. report: an INBOX message moved into Spam
n_spam = db.count(ALICE, "spam")
p = deliver(ALICE, "1700000000.rep1.host",
            message("a newsletter", sender="news@example.com", msgid="<rep1@test>"))
time.sleep(0.5)
dovecot_move(p, ALICE, "Spam")
t.ok(wait_until(lambda: db.count(ALICE, "spam") == n_spam + 1, 5),
     "INBOX message moved into Spam -> a new spam incident (reported)")
t.like(f.log(), "reported=yes key=msgid:<rep1@test>", "logged as reported")

# 5. forged and foreign tokens do nothing
forged = b"X-Spamtrap-Id: " + db.token(held_b).encode() + b"\n" + message("foreign")
deliver(ALICE, "1700000001.forged1.host", forged)
bad = db.token(held[3])[:-3].encode() + b"aaa"
deliver(ALICE, "1700000002.forged2.host", b"X-Spamtrap-Id: " + bad + b"\n" + message("forged"))
t.ok(f.wait_log("belongs to another user, not alice@example.org"),
     "a foreign X-Spamtrap-Id is logged")
t.ok(f.wait_log("forged or damaged X-Spamtrap-Id"), "a forged one is logged")
time.sleep(1)
t.is_(db.status(held_b), "pending", "bob's incident is untouched")
t.is_(db.status(held[3]), "pending", "the forged token's incident is untouched")

# 6. moved back: accepted, then into Spam again -> spam, history keeps both
dovecot_move(find(held[0], ALICE), ALICE, "Spam")
t.ok(wait_until(lambda: db.status(held[0]) == "spam", 5),
     "accepted message moved back to Spam -> spam")
hist = [h for h in db.history(held[0]) if "status" in h]
t.is_(len(hist), 2, "history keeps the accept and the later reject")

# 7. copy instead of move: counted once
n0 = len(db.history(held[3]))
dovecot_move(find(held[3], ALICE, "Spam"), ALICE, None, copy=True)
t.ok(wait_until(lambda: db.status(held[3]) == "non-spam", 5),
     "held message copied to INBOX -> non-spam")
spam_copy = [p for p in (find(held[3], ALICE, "Spam"),) if p]
os.unlink(spam_copy[0])
time.sleep(2)
t.is_(len(db.history(held[3])), n0 + 1, "removing the Spam copy adds nothing")

# 8. folderd stopped during moves: catch-up on restart, each once
t.is_(f.stop(), 0, "folderd stops cleanly")
dovecot_move(find(held[4], ALICE, "Spam"), ALICE, None)
os.unlink(find(held_b, BOB, "Spam"))
dovecot_move(find(held[5], ALICE, "Spam"), ALICE, "Work")
f = Folderd(work, settings).start()
t.ok(wait_until(lambda: db.status(held[4]) == "non-spam"
                and db.status(held_b) == "spam"
                and db.status(held[5]) == "non-spam", 10),
     "after a restart, moves made while it was down are recorded")
t.diag("%s %s %s" % (db.status(held[4]), db.status(held_b), db.status(held[5])))
n4, nb = len(db.history(held[4])), len(db.history(held_b))
t.is_(f.stop(), 0, "stopped again")
f = Folderd(work, settings).start()
t.ok(f.wait_log("users found"), "restarted")
time.sleep(2)
t.is_((len(db.history(held[4])), len(db.history(held_b))), (n4, nb),
      "a second restart records nothing again")
t.is_(f.stop(), 0, "stops")
t.ok("AddressSanitizer" not in f.log(), "no sanitizer reports")
lmtpd.stop()
sys.exit(t.done())
