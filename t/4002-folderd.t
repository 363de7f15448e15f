#!/usr/bin/python3
# spamtrap-folderd on a Maildir store: finds users' folders under the store
# template, prints counts with -1, finds the users while running (the
# actions are t/4101), reloads on SIGHUP, stops on SIGTERM, refuses a
# non-Maildir store with watch = maildir.
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st4002-")
FOLDERD = os.path.join(spamtrap.bin_dir(), "spamtrap-folderd")
store = "maildir:%s/mail/%%d/%%n" % work

d = Lmtpd(os.path.join(work, "d"), {"store": store})
d.start()
c = LmtpClient(d.port)
c.lhlo()
for rcpt in ("alice@example.org", "bob@example.net"):
    c.send_mail("s@example.net", [rcpt], b"Subject: x\r\n\r\nx\r\n")
c.close()
d.stop()
alice = os.path.join(work, "mail", "example.org", "alice")
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(alice, ".Spam", sub), exist_ok=True)

p = subprocess.run([FOLDERD, "-1", "-o", "store=" + store], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, timeout=30)
t.is_(p.returncode, 0, "-1 scan exits 0")
lines = sorted(p.stdout.decode().splitlines())
t.is_(lines, sorted(["%s\tINBOX\t1" % alice, "%s\tSpam\t0" % alice,
                     "%s/mail/example.net/bob\tINBOX\t1" % work]),
      "-1 lists every user's folders with counts")

log = open(os.path.join(work, "folderd.log"), "wb")
f = subprocess.Popen([FOLDERD, "-o", "store=" + store, "-o", "watch_interval=1s",
                      "-o", "db_dir=" + os.path.join(work, "db")],
                     stdout=log, stderr=log)


def wait_for(text, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in open(log.name, encoding="utf-8", errors="replace").read():
            return True
        time.sleep(0.1)
    return False


t.ok(wait_for("2 users found"), "folderd finds two users")
f.send_signal(signal.SIGHUP)
t.ok(wait_for("configuration reloaded"), "SIGHUP reloads")
f.send_signal(signal.SIGTERM)
t.is_(f.wait(10), 0, "SIGTERM stops it cleanly")
log.close()

p = subprocess.run([FOLDERD, "-1", "-o", "store=lmtp:127.0.0.1:24"], stderr=subprocess.PIPE,
                   timeout=10)
t.ok(p.returncode != 0 and b"Maildir stores only" in p.stderr, "-1 refuses a non-Maildir store")
p = subprocess.run([FOLDERD, "-o", "store=lmtp:127.0.0.1:24"], stderr=subprocess.PIPE,
                   timeout=10)
t.ok(p.returncode != 0 and b"watch = maildir watches Maildir stores only" in p.stderr,
     "watch = maildir refuses a non-Maildir store")
p = subprocess.run([FOLDERD, "-o", "store=" + store, "-o", "user=no-such-user-x"],
                   stderr=subprocess.PIPE, timeout=10)
t.ok(p.returncode != 0 and b"user = no-such-user-x: no such user" in p.stderr,
     "an unknown user is refused")
if os.geteuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    dbn = os.path.join(work, "db-nobody")
    os.makedirs(dbn)
    os.chown(dbn, nobody.pw_uid, nobody.pw_gid)
    logn = open(os.path.join(work, "folderd-nobody.log"), "wb")
    fn = subprocess.Popen([FOLDERD, "-o", "store=" + store, "-o", "db_dir=" + dbn,
                           "-o", "user=nobody"], stdout=logn, stderr=logn)
    ok = False
    deadline = time.time() + 15
    while time.time() < deadline and not ok:
        ok = "users found" in open(logn.name, errors="replace").read()
        time.sleep(0.1)
    uid = [l.split()[1] for l in open("/proc/%d/status" % fn.pid) if l.startswith("Uid:")]
    t.ok(ok and uid == [str(nobody.pw_uid)], "started as root, it runs as user = nobody")
    fn.send_signal(signal.SIGTERM)
    t.is_(fn.wait(10), 0, "and stops cleanly")
    logn.close()
p = subprocess.run([FOLDERD, "-o", "watch=pop3"], stderr=subprocess.PIPE, timeout=10)
t.ok(p.returncode != 0 and b"watch = pop3: use maildir or imap" in p.stderr,
     "an unknown watch mode is refused")
sys.exit(t.done())
