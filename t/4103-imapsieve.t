#!/usr/bin/python3
# The IMAPSieve push path end to end, configured as INSTALL says: a real
# Dovecot with imap_sieve and vnd.dovecot.pipe runs "spamtrap learn" on
# each move, so the action is recorded before the client's MOVE returns,
# with no spamtrap-folderd running.  Then folderd reconciles what the
# push does not see (a held message moved to Trash) without counting
# anything twice.
import imaplib
import atexit
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import dovecot
from dovecot import Dovecot
from lmtpd import Lmtpd, LmtpClient
from quarantine import Db, Folderd, wait_until

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st4103-")
rules = os.path.join(work, "rules")
os.makedirs(rules)
with open(os.path.join(rules, "90_test.cf"), "w") as f:
    f.write("body TEST_SIX /\\bscoresix\\b/\nscore TEST_SIX 6.0\n")
sieve_dir = os.path.join(work, "sieve")
pipe_dir = os.path.join(work, "sieve-pipe")
os.makedirs(pipe_dir)

ALICE = "alice@example.org"
# vsz_limit: the pipe inherits the imap process's address-space limit,
# too small for an AddressSanitizer build of spamtrap (make asan)
dc = Dovecot(users={"alice": "secret"},
             extra_conf=dovecot.imapsieve_conf(sieve_dir, pipe_dir)
             + "service imap {\n  vsz_limit = 0\n}\n").start()
atexit.register(dc.cleanup)   # also when a step raises
dovecot.write_imapsieve_scripts(sieve_dir)
for name in ("report-spam.sieve", "report-ham.sieve"):
    dc.sievec(os.path.join(sieve_dir, name))

# the database is shared with the mail uid that runs the pipe (INSTALL:
# db_mode 0660 and a common group; here, as root and nobody, 0666)
d = Lmtpd(os.path.join(work, "d"), {"rules_dir": rules, "db_mode": "0666",
                                     "store": "lmtp:127.0.0.1:%d" % dc.lmtp_port})
d.start()
atexit.register(d.stop)
db = Db(os.path.join(d.settings["var_dir"], "db"))
conf = d.conf
learn_log = os.path.join(work, "learn.log")
with open(learn_log, "w"):
    pass
os.chmod(learn_log, 0o666)
with open(os.path.join(pipe_dir, "spamtrap-learn"), "w") as f:
    f.write("#!/bin/sh\n"
            "# $1 = --ham|--spam, $2 = the Dovecot user (a local part here)\n"
            "exec %s -c %s learn \"$1\" --user \"$2@example.org\" 2>>%s >>%s\n"
            % (os.path.join(spamtrap.bin_dir(), "spamtrap"), conf, learn_log,
               learn_log))
os.chmod(os.path.join(pipe_dir, "spamtrap-learn"), 0o755)
os.chmod(conf, 0o644)


def deliver(subject, spam=True, msgid=None):
    msgid = msgid or "<%d@example.net>" % time.time_ns()
    body = "This is scoresix stuff." if spam else "Lunch tomorrow?"
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", [ALICE],
                    ("From: s@example.net\r\nSubject: %s\r\nMessage-ID: %s\r\n\r\n%s\r\n"
                     % (subject, msgid, body)).encode())
    c.close()
    m = re.search(r"incident ([0-9a-z]{13})", r[3][0][1])
    return m.group(1) if m else None


held = [deliver("held %d" % i) for i in range(3)]
t.ok(all(held), "three messages held")
# the pipe runs as the mail uid (nobody, as root): give it the database
# as INSTALL says (the database owned by the user the pipe runs as, the
# secret 0600; files created later get db_mode)
dbdir = db.dir
os.chmod(os.path.dirname(dbdir), 0o755)
if os.geteuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    for name in [""] + os.listdir(dbdir):
        os.chown(os.path.join(dbdir, name), nobody.pw_uid, nobody.pw_gid)

m = imaplib.IMAP4("127.0.0.1", dc.imap_port)
m.login("alice", "secret")
m.capability()


def uid_of(folder, iid):
    m.select(folder)
    typ, data = m.uid("SEARCH", None, "HEADER", "X-Spamtrap-Id", iid)
    uids = data[0].split()
    return uids[0] if uids else None


typ, _ = m.uid("MOVE", uid_of("Spam", held[0]), "INBOX")
t.is_(typ, "OK", "UID MOVE Spam -> INBOX")
t.is_(db.status(held[0]), "non-spam",
      "the IMAPSieve pipe recorded non-spam before the MOVE returned")
if db.status(held[0]) != "non-spam":
    t.diag(dc.log_text()[-3000:])
    t.diag(open(learn_log).read())
t.is_((db.show(held[0]) or [])[2:], [ALICE, "imap-move"], "by alice, via imap-move")
t.ok(uid_of("INBOX", held[0]), "the message itself was moved (pipe :copy)")
t.ok(uid_of("INBOX", held[0]) and not uid_of("Spam", held[0]), "and is no longer in Spam")

m.uid("MOVE", uid_of("INBOX", held[0]), "Spam")
t.is_(db.status(held[0]), "spam", "moved back into Spam -> spam at once")

n = db.count(ALICE, "spam")
deliver("newsletter", spam=False, msgid="<push-news@example.net>")
m.select("INBOX")
typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID", "push-news@example.net")
m.uid("MOVE", data[0].split()[0], "Spam")
t.is_(db.count(ALICE, "spam"), n + 1, "INBOX message moved into Spam -> reported at once")

m.create("Trash")
m.uid("MOVE", uid_of("Spam", held[1]), "Trash")
t.is_(db.status(held[1]), "pending", "a move to Trash runs no ham pipe")
t.like(open(learn_log).read(), "non-spam", "spamtrap learn printed what it did")

# folderd reconciles: the message moved to Trash left the quarantine
pwfile = os.path.join(work, "admin.pw")
with open(pwfile, "w") as f:
    f.write(dc.master_password + "\n")
os.chmod(pwfile, 0o600)
hist = {i: len(db.history(i)) for i in (held[0], held[2])}
f = Folderd(work, {"db_dir": db.dir, "db_mode": "0666",
                   "store": "lmtp:127.0.0.1:%d" % dc.lmtp_port,
                   "watch": "imap", "imap_server": "127.0.0.1:%d" % dc.imap_port,
                   "imap_admin_user": dc.master_user,
                   "imap_admin_password_file": pwfile,
                   "imap_login_format": "%n", "imap_poll_interval": "1s"}).start()
atexit.register(f.stop)
t.ok(wait_until(lambda: db.status(held[1]) == "spam", 10),
     "folderd: the held message moved to Trash -> spam")
time.sleep(2)
t.is_({i: len(db.history(i)) for i in (held[0], held[2])}, hist,
      "folderd adds nothing to what the push recorded")
t.is_(f.stop(), 0, "folderd stops")
m.logout()
d.stop()
dc.cleanup()
sys.exit(t.done())
