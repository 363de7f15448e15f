#!/usr/bin/python3
"""What many idle users cost spamtrap-folderd (watch = imap) and Dovecot.

    SPAMTRAP_TOP=. SPAMTRAP_BIN=bin SPAMTRAP_BUILD=build \\
        python3 bench/folderd-imap-idle.py [USERS] [SECONDS] [POLL] [CLIENT_LIMIT]

Starts a private Dovecot with USERS users (default 200) and a master user,
runs spamtrap-folderd over IMAP with passwd_file listing them all and
imap_poll_interval POLL (default 2s), waits until every user is logged in,
then measures for SECONDS (default 30) with nothing changing: CPU used by
folderd and by all of Dovecot's processes, their memory, and the STATUS
commands sent (SIGUSR1 counters).  CLIENT_LIMIT (default 1, Dovecot's
default) is Dovecot's imap client_limit: with all users under one mail
uid, one imap process can serve many of folderd's idle connections.  Finally one move is made and the time
until folderd records it is printed, with all those users idle.
"""
import os
import re
import signal
import subprocess
import sys
import time
import imaplib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "t", "lib"))
import spamtrap
from dovecot import Dovecot
from quarantine import Db, Folderd, message, wait_until

USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 30
POLL = sys.argv[3] if len(sys.argv) > 3 else "2s"
CLIENT_LIMIT = int(sys.argv[4]) if len(sys.argv) > 4 else 1
HZ = os.sysconf("SC_CLK_TCK")


def cpu_of(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / HZ


def rss_of(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


def dovecot_pids(master):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], stdout=subprocess.PIPE,
                         text=True).stdout
    kids = {}
    for line in out.splitlines():
        pid, ppid, comm = line.split(None, 2)
        kids.setdefault(int(ppid), []).append((int(pid), comm))
    pids, stack = [master], [master]
    while stack:
        for pid, _ in kids.get(stack.pop(), []):
            pids.append(pid)
            stack.append(pid)
    return pids


def imap_procs(master):
    out = subprocess.run(["ps", "-e", "-o", "pid=,comm="], stdout=subprocess.PIPE,
                         text=True).stdout
    mine = set(dovecot_pids(master))
    return [int(l.split()[0]) for l in out.splitlines()
            if l.split()[1] == "imap" and int(l.split()[0]) in mine]


work = spamtrap.short_tempdir("st-bench-idle-")
users = {"u%04d" % i: "secret" for i in range(USERS)}
extra = """
default_process_limit = %d
default_client_limit = %d
service imap {
  process_limit = %d
  client_limit = %d
}
""" % (USERS + 50, 4 * USERS + 100, USERS + 50, CLIENT_LIMIT)
dc = Dovecot(users=users, extra_conf=extra).start()
pw = os.path.join(work, "admin.pw")
with open(pw, "w") as f:
    f.write(dc.master_password + "\n")
os.chmod(pw, 0o600)
passwd = os.path.join(work, "users")
with open(passwd, "w") as f:
    for u in users:
        f.write("%s@example.org:x::::::\n" % u)
db = Db(os.path.join(work, "db"))
for u in users:                      # every user has a Spam folder
    dc.doveadm("mailbox", "create", "-u", u, "Spam")
iid, msg = db.hold("u0000@example.org", "s@spam.example", "Spam", "-", message("bench"))
subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", dc.conf_path, "-d", "u0000",
                "-m", "Spam"], input=msg, check=True)

f = Folderd(work, {"db_dir": db.dir, "store": "lmtp:127.0.0.1:%d" % dc.lmtp_port,
                   "watch": "imap", "imap_server": "127.0.0.1:%d" % dc.imap_port,
                   "imap_admin_user": dc.master_user, "imap_admin_password_file": pw,
                   "imap_login_format": "%n", "imap_poll_interval": POLL,
                   "passwd_file": passwd, "watch_interval": "60s"})
t0 = time.monotonic()
f.start()
f.wait_log("watching IMAP", 30)      # signal handlers are installed
def connected():
    f.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    m = re.findall(r"stats users=(\d+) connected=(\d+)", f.log())
    return m and int(m[-1][1]) >= USERS


ok = wait_until(connected, 120, 0.3)
t_login = time.monotonic() - t0
time.sleep(3)
master = dc.master_pid()


def counters():
    f.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.3)
    m = re.findall(r"stats users=(\d+) connected=(\d+) status=(\d+)", f.log())
    return [int(x) for x in m[-1]] if m else [0, 0, 0]


c0 = counters()
fd_cpu0, dc_cpu0 = cpu_of([f.proc.pid]), cpu_of(dovecot_pids(master))
time.sleep(SECONDS)
fd_cpu1, dc_cpu1 = cpu_of([f.proc.pid]), cpu_of(dovecot_pids(master))
c1 = counters()
imaps = imap_procs(master)

m = imaplib.IMAP4("127.0.0.1", dc.imap_port)
m.login("u0000", "secret")
m.select("Spam")
typ, data = m.uid("SEARCH", None, "ALL")
t1 = time.monotonic()
m.uid("MOVE", data[0].split()[0], "INBOX")
seen = wait_until(lambda: db.status(iid) == "non-spam", 30, 0.05)
latency = time.monotonic() - t1
m.logout()

print("users=%d poll=%s imap client_limit=%d all_logged_in=%s login_time=%.1fs"
      % (USERS, POLL, CLIENT_LIMIT, bool(ok), t_login))
print("idle window %.0fs: STATUS commands %d (%.1f/s)" % (SECONDS, c1[2] - c0[2],
                                                          (c1[2] - c0[2]) / SECONDS))
print("folderd: cpu %.2fs (%.2f%% of one core), rss %.1f MiB" % (
    fd_cpu1 - fd_cpu0, 100 * (fd_cpu1 - fd_cpu0) / SECONDS, rss_of([f.proc.pid])))
print("dovecot (all processes): cpu %.2fs (%.2f%% of one core); %d imap processes, "
      "rss %.1f MiB total (%.2f MiB each)" % (
          dc_cpu1 - dc_cpu0, 100 * (dc_cpu1 - dc_cpu0) / SECONDS, len(imaps),
          rss_of(imaps), rss_of(imaps) / max(1, len(imaps))))
print("a move with %d idle users recorded after %.2fs (%s)" % (USERS, latency,
                                                              "ok" if seen else "NOT SEEN"))
f.stop()
dc.cleanup()
