#!/usr/bin/python3
"""What idle Maildirs cost spamtrap-folderd (watch = maildir).

    SPAMTRAP_TOP=. SPAMTRAP_BIN=bin SPAMTRAP_BUILD=build \\
        python3 bench/folderd-maildir-idle.py [USERS] [INBOX] [HELD] [SECONDS]

Makes USERS Maildirs (default 200) with INBOX plain messages (default 100)
and HELD held messages in .Spam each (default 10, real incidents made by
t/helpers/qa-hold), starts folderd with watch_interval = 5s, and prints
the start-up scan time (every header read once), then folderd's CPU and
memory over SECONDS (default 30) of nothing changing (inotify idle plus a
full rescan every 5 s), and the delay until one move is recorded.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "t", "lib"))
import spamtrap
from quarantine import Db, Folderd, message, wait_until

USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
INBOX = int(sys.argv[2]) if len(sys.argv) > 2 else 100
HELD = int(sys.argv[3]) if len(sys.argv) > 3 else 10
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 30
HZ = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0


work = spamtrap.short_tempdir("st-bench-md-")
mail = os.path.join(work, "mail")
db = Db(os.path.join(work, "db"))
first = None
for u in range(USERS):
    user = "u%04d@example.org" % u
    for folder in ("", ".Spam"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(mail, user, folder, sub), exist_ok=True)
    for i in range(INBOX):
        with open(os.path.join(mail, user, "cur", "17000%05d.M%dP1.h:2,S" % (i, u)), "wb") as f:
            f.write(message("inbox %d" % i, body="hello\n" * 40))
    for i in range(HELD):
        iid = db.hold(user, "s@spam.example", "Spam", os.path.join(mail, user, ".Spam"),
                      message("held %d" % i))
        if first is None:
            first = (user, iid)

f = Folderd(work, {"db_dir": db.dir, "store": "maildir:%s/%%u" % mail,
                   "watch": "maildir", "watch_interval": "5s"})
t0 = time.monotonic()
f.start()
f.wait_log("users found", 600)
t_start = time.monotonic() - t0
time.sleep(2)
c0 = cpu(f.proc.pid)
time.sleep(SECONDS)
c1 = cpu(f.proc.pid)
mem = rss(f.proc.pid)

user, iid = first
spam_new = os.path.join(mail, user, ".Spam", "new")
name = [n for n in os.listdir(spam_new) if iid in n][0]
t1 = time.monotonic()
os.link(os.path.join(spam_new, name), os.path.join(mail, user, "cur", name + ":2,S"))
os.unlink(os.path.join(spam_new, name))
seen = wait_until(lambda: db.status(iid) == "non-spam", 30, 0.02)
latency = time.monotonic() - t1
print("users=%d inbox=%d held=%d files=%d" % (USERS, INBOX, HELD, USERS * (INBOX + HELD)))
print("start-up scan (every header read once): %.1fs" % t_start)
print("idle %.0fs with a full rescan every 5s: cpu %.2fs (%.2f%% of one core), rss %.1f MiB"
      % (SECONDS, c1 - c0, 100 * (c1 - c0) / SECONDS, mem))
print("a move recorded after %.2fs (%s)" % (latency, "ok" if seen else "NOT SEEN"))
f.stop()
