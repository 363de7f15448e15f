#!/usr/bin/python3
# spamtrap accept / reject / learn against a real database filled by real
# LMTP deliveries (spamtrap-lmtpd, Maildir store): accept moves the file
# from .Spam to INBOX and records non-spam (who, via cli, the sender
# allowed) only once the move is done; a failed move records nothing;
# reject removes it; --query acts on many; learn records moves for the
# IMAPSieve pipe; bad input gets a clear error and exit 2 or 1.
import atexit
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient
from quarantine import Db, spamtrap_cmd

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st5101-")
rules = os.path.join(work, "rules")
os.makedirs(rules)
with open(os.path.join(rules, "90_test.cf"), "w") as f:
    f.write("body TEST_SIX /\\bscoresix\\b/\nscore TEST_SIX 6.0\n")
d = Lmtpd(os.path.join(work, "d"), {"rules_dir": rules})
d.start()
atexit.register(d.stop)
db = Db(os.path.join(d.settings["var_dir"], "db"))
S = {"var_dir": d.settings["var_dir"]}
QSET = spamtrap.helper("qstore-set")
ALICE, CAROL = "alice@example.org", "carol@example.org"
n = 0


def deliver(rcpt, subject, spam=True, sender=None):
    global n
    n += 1
    sender = sender or "s%d@example.net" % n
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail(sender, [rcpt], ("From: %s\r\nSubject: %s\r\nMessage-ID: <c%d@x>\r\n"
                                     "\r\n%s\r\n" % (sender, subject, n,
                                                     "scoresix" if spam else "hello")).encode())
    c.close()
    m = re.search(r"incident ([0-9a-z]{13})", r[3][0][1])
    return m.group(1) if m else None


def where(user, iid):
    """'Spam', 'INBOX' or None: where the file of incident IID is."""
    for folder in ("Spam", None):
        base = d.maildir(user, folder)
        for sub in ("new", "cur"):
            p = os.path.join(base, sub)
            if os.path.isdir(p):
                for name in os.listdir(p):
                    with open(os.path.join(p, name), "rb") as fp:
                        if iid.encode() in fp.read(4096):
                            return folder or "INBOX"
    return None


def run(*args, **kw):
    r = spamtrap_cmd(S, *args, **kw)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


ids = [deliver(ALICE, "held %d" % i) for i in range(3)]
batch = [deliver(ALICE, "batch offer %d" % i) for i in range(3)]
t.ok(all(ids + batch), "six messages held for alice")
t.is_(where(ALICE, ids[0]), "Spam", "held in .Spam")

for cmd in ("accept", "reject", "learn"):
    rc, out, err = run(cmd, "--help")
    t.ok(rc == 0 and "usage: spamtrap %s" % cmd in out, "%s --help" % cmd)

# accept
rc, out, err = run("accept", "--who", "helpdesk", ids[0])
t.is_(rc, 0, "accept exits 0")
t.like(out, "%s %s non-spam: moved to INBOX" % (ids[0], ALICE), "accept says what it did")
t.is_(where(ALICE, ids[0]), "INBOX", "the file moved from .Spam to INBOX")
t.is_(db.show(ids[0])[0::2][:1] + db.show(ids[0])[2:], ["non-spam", "helpdesk", "cli"],
      "incident non-spam, who helpdesk, via cli")
t.ok(db.allowed(ALICE, "s1@example.net"), "the sender joined alice's allow table")
h = len(db.history(ids[0]))
rc, out, err = run("accept", ids[0])
t.ok(rc == 0 and "already non-spam" in out, "accepting again: already non-spam, exit 0")
t.is_(len(db.history(ids[0])), h, "and no second history entry")
rc, out, err = run("accept", ids[1])
t.is_(db.show(ids[1])[2], os.environ.get("SUDO_USER") or __import__("pwd").getpwuid(os.getuid()).pw_name,
      "who defaults to the invoking user")

# unknown id, usage errors
rc, out, err = run("accept", "0000000000000")
t.ok(rc == 1 and "0000000000000: no such incident" in err, "an unknown id: exit 1, clear error")
rc, out, err = run("accept")
t.ok(rc == 2 and "give incident ids" in err, "no ids: usage, exit 2")
rc, out, err = run("reject", "--query", "--status", "maybe")
t.ok(rc == 2 and 'unknown status "maybe"' in err, "a bad status: exit 2")

# a failed move records nothing
os.rename(os.path.join(d.maildir(ALICE), "new"), os.path.join(d.maildir(ALICE), "new.keep"))
with open(os.path.join(d.maildir(ALICE), "new"), "w") as fp:
    fp.write("not a directory\n")
rc, out, err = run("accept", ids[2])
t.ok(rc == 1 and "not released" in err, "accept fails when the move fails")
t.is_((db.status(ids[2]), where(ALICE, ids[2])), ("pending", "Spam"),
      "nothing recorded, the message is still in .Spam")
os.unlink(os.path.join(d.maildir(ALICE), "new"))
os.rename(os.path.join(d.maildir(ALICE), "new.keep"), os.path.join(d.maildir(ALICE), "new"))

# reject
rc, out, err = run("reject", ids[2])
t.ok(rc == 0 and "spam: removed from the quarantine folder" in out, "reject removes it")
t.is_((db.status(ids[2]), where(ALICE, ids[2])), ("spam", None), "spam, file gone")

# --query
rc, out, err = run("accept", "--query", "--user", ALICE, "--subject", "BATCH OFFER 1")
t.is_(rc, 0, "accept --query exits 0")
t.is_([db.status(i) for i in batch], ["pending", "non-spam", "pending"],
      "--subject matches case-insensitively, only that one")
rc, out, err = run("reject", "--query", "--user", ALICE, "--subject", "batch")
t.is_([db.status(i) for i in batch], ["spam", "non-spam", "spam"],
      "reject --query takes the pending ones")

# the file is gone from .Spam: accept delivers the held copy
cid = deliver(CAROL, "lost file")
subprocess.run([QSET, db.dir, "pref", CAROL, "accept_allows_sender=no"], check=True)
for sub in ("new", "cur"):
    p = os.path.join(d.maildir(CAROL, "Spam"), sub)
    for name in os.listdir(p):
        os.unlink(os.path.join(p, name))
rc, out, err = run("accept", cid)
t.ok(rc == 0 and "copy delivered to INBOX" in out,
     "a held message missing from .Spam: its copy is delivered")
t.is_(where(CAROL, cid), "INBOX", "and is in INBOX")
t.ok(not db.allowed(CAROL, "s%d@example.net" % n), "accept_allows_sender = no: sender not allowed")

# learn
lid = deliver(ALICE, "learn me")
p = os.path.join(d.maildir(ALICE, "Spam"), "new")
held_file = [os.path.join(p, x) for x in os.listdir(p)
             if lid.encode() in open(os.path.join(p, x), "rb").read()][0]
rc, out, err = run("learn", "--ham", "--user", ALICE, held_file)
t.ok(rc == 0 and "%s %s non-spam" % (lid, ALICE) in out, "learn --ham: non-spam")
t.is_(db.show(lid)[2:], [ALICE, "imap-move"], "by the user, via imap-move")
rc, out, err = run("learn", "--ham", "--user", ALICE, held_file)
t.ok(rc == 0 and "unchanged" in out, "the same move again: unchanged")
rc, out, err = run("learn", "--spam", "-", stdin=open(held_file, "rb").read(),
                   env={"USER": ALICE})
t.ok(rc == 0 and "%s %s spam" % (lid, ALICE) in out,
     "learn --spam from stdin with $USER: moved back -> spam")
rc, out, err = run("learn", "--ham", "--user", "bob@example.org", held_file)
t.ok(rc == 0 and "ignored (forged or foreign" in out and "belongs to another user" in err,
     "another user's incident: ignored, logged")
before = db.count(ALICE, "spam")
report = b"From: news@example.com\nSubject: weekly\nMessage-ID: <wk1@x>\n\nhi\n"
rc, out, err = run("learn", "--spam", "--user", ALICE, "-", stdin=report)
t.ok(rc == 0 and re.search(r"[0-9a-z]{13} %s spam" % ALICE, out), "an unknown message: reported")
rc, out, err = run("learn", "--spam", "--user", ALICE, "-", stdin=report.replace(b"\n", b"\r\n"))
t.ok(rc == 0 and "unchanged" in out, "the same message again (CRLF): not reported twice")
t.is_(db.count(ALICE, "spam"), before + 1, "one new spam incident")
rc, out, err = run("learn", "--ham", "--user", ALICE, "-", stdin=b"Subject: x\n\nnothing\n")
t.ok(rc == 0 and "no incident" in out, "learn --ham on an unknown message: nothing to do")
rc, out, err = run("learn", "--user", ALICE)
t.ok(rc == 2 and "exactly one of --ham, --spam" in err, "learn without --ham/--spam: exit 2")
rc, out, err = run("learn", "--ham", "--spam", "--user", ALICE)
t.ok(rc == 2, "learn with both: exit 2")
rc, out, err = run("learn", "--ham", "/nonexistent/file", env={"USER": ALICE})
t.ok(rc == 1 and "/nonexistent/file" in err, "an unreadable file: exit 1")

d.stop()
sys.exit(t.done())
