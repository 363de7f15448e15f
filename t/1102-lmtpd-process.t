#!/usr/bin/python3
# spamtrap-lmtpd as a process: SIGHUP reload without dropping connections
# (and a bad file keeping the old config), SIGTERM draining a transaction,
# the connection limit, command timeouts, privileges, -d with a pid file,
# start-up errors naming file and line.
import os
import pwd
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1102-")
LMTPD = os.path.join(spamtrap.bin_dir(), "spamtrap-lmtpd")


def size_of(client):
    code, text = client.lhlo()
    for line in text.splitlines():
        if line.startswith("SIZE "):
            return int(line[5:])
    return None


# --- SIGHUP: new sessions get the new config, open ones go on
d = Lmtpd(os.path.join(work, "hup"), {"message_size_limit": "10k"})
d.start()
old = LmtpClient(d.port)
t.is_(size_of(old), 10240, "SIZE from the config file")
d.write_conf({"message_size_limit": "20k"})
d.signal(signal.SIGHUP)
t.ok(d.wait_log("configuration reloaded"), "SIGHUP: reload logged")
new = LmtpClient(d.port)
t.is_(size_of(new), 20480, "a new session sees the new limit")
r = old.send_mail("s@example.net", ["a@example.org"], b"Subject: old\r\n\r\nx\r\n")
t.is_([x[0] for x in r[3]], [250], "the session opened before SIGHUP still delivers")
with open(d.conf, "a") as f:
    f.write("no_such_setting = 1\n")
d.signal(signal.SIGHUP)
t.ok(d.wait_log("reload failed"), "a bad file on SIGHUP is refused")
t.like(d.log(), "spamtrap.conf:%d: unknown setting \"no_such_setting\"" % (len(d.settings) + 2),
       "the refusal names file and line")
third = LmtpClient(d.port)
t.is_(size_of(third), 20480, "the configuration in force stays")
for c in (old, new, third):
    c.close()

# --- SIGTERM: a transaction in progress finishes, then 421, then exit
c = LmtpClient(d.port)
c.lhlo()
c.cmd("MAIL FROM:<s@example.net>")
c.cmd("RCPT TO:<drain@example.org>")
idle = LmtpClient(d.port)
idle.lhlo()
d.signal(signal.SIGTERM)
time.sleep(0.3)
t.is_(c.cmd("DATA")[0], 354, "after SIGTERM the open transaction goes on")
c.send(b"Subject: drained\r\n\r\nx\r\n.\r\n")
t.is_(c.reply()[0], 250, "and its message is delivered")
code, text = c.reply()
t.is_(code, 421, "then the session says 421")
t.like(text, "4.3.2", "with 4.3.2")
t.is_(idle.reply()[0], 421, "an idle session is closed with 421 at once")
rc = d.proc.wait(10)
t.is_(rc, 0, "the daemon exits cleanly after draining")
d.stop()
t.is_(len(d.messages("drain@example.org")), 1, "the drained message is in the Maildir")
t.ok(subprocess.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d" % d.port],
                    stderr=subprocess.DEVNULL).returncode != 0,
     "the port is closed after exit")
t.is_(d.sanitizer_report(), [], "no sanitizer reports (SIGHUP/SIGTERM run)")

# --- connection limit and command timeout
d = Lmtpd(os.path.join(work, "limit"), {"lmtp_max_connections": "2",
                                        "lmtp_command_timeout": "3s"})
d.start()
a, b = LmtpClient(d.port), LmtpClient(d.port)
time.sleep(0.2)
extra = LmtpClient(d.port)
t.is_(extra.greeting[0], 421, "a third connection over the limit gets 421")
t.like(extra.greeting[1], "4.3.2", "with 4.3.2")
t.ok(d.wait_log("lmtp_max_connections"), "the refusal is logged")
code, text = a.reply()
t.is_((code, text[:5]), (421, "4.4.2"), "an idle session times out with 421 4.4.2")
t.ok(a.closed(), "and is closed")
b.close()
time.sleep(0.5)
c = LmtpClient(d.port)
t.is_(c.greeting[0], 220, "after the timeouts a new connection is served")
c.close()
d.stop()
t.is_(d.sanitizer_report(), [], "no sanitizer reports (limits run)")

# --- privileges: started as root with user = nobody, mail is nobody's
if os.geteuid() == 0:
    base = os.path.join(work, "priv")
    # a rules cache that "spamtrap score" made as root: the daemon takes
    # it over and can keep its compiled rules there
    cache = os.path.join(base, "var", "rules-cache")
    os.makedirs(cache, mode=0o755)
    nb = pwd.getpwnam("nobody")
    os.chown(os.path.join(base, "var"), nb.pw_uid, nb.pw_gid)
    d = Lmtpd(base, {"user": "nobody"})
    d.start()
    t.is_(os.stat(cache).st_uid, pwd.getpwnam("nobody").pw_uid,
          "the root-made rules cache now belongs to nobody")
    t.ok(any(f.startswith("hs-") for f in os.listdir(cache)),
         "and holds the rules compiled by the daemon as nobody")
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", ["p@example.org"], b"Subject: priv\r\n\r\nx\r\n")
    t.is_([x[0] for x in r[3]], [250], "as nobody: delivered")
    kids = d.children()
    nobody = pwd.getpwnam("nobody").pw_uid
    uids = []
    for pid in kids + [d.proc.pid]:
        with open("/proc/%d/status" % pid) as f:
            uids += [l.split()[1:] for l in f if l.startswith("Uid:")]
    t.ok(uids and all(u == [str(nobody)] * 4 for u in uids),
         "master and session run as nobody, real/effective/saved (%s)" % uids)
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(d.maildir("p@example.org")) for f in fs]
    t.ok(files and all(os.stat(f).st_uid == nobody for f in files), "message file owned by nobody")
    t.ok(all(os.stat(f).st_mode & 0o777 == 0o600 for f in files if "/new/" in f),
         "message file mode 0600")
    c.close()
    d.stop()
else:
    d = Lmtpd(os.path.join(work, "priv"), {"user": "nobody"})
    try:
        d.start()
        t.ok(False, "as a non-root user, user = nobody must refuse to start")
    except Exception as e:
        t.like(str(e), "cannot switch without root", "non-root cannot switch users")

# --- start-up errors: file and line, non-zero exit
bad = os.path.join(work, "bad.conf")
with open(bad, "w") as f:
    f.write("# ok\nlmtp_listen = 127.0.0.1:%d\nmessage_size_limit = huge\n" % spamtrap.free_port())
p = subprocess.run([LMTPD, "-c", bad], stderr=subprocess.PIPE, timeout=10)
t.ok(p.returncode != 0, "a bad value stops the daemon")
t.like(p.stderr.decode(), "bad.conf:3: bad value \"huge\" for message_size_limit",
       "the error names file and line")
p = subprocess.run([LMTPD, "-o", "store=mbox:/x", "-o", "lmtp_listen=127.0.0.1:%d" % spamtrap.free_port()],
                   stderr=subprocess.PIPE, timeout=10)
t.ok(p.returncode != 0 and "store" in p.stderr.decode(), "an unknown store type stops the daemon")
p = subprocess.run([LMTPD, "-o", "lmtp_listen=nonsense"], stderr=subprocess.PIPE, timeout=10)
t.ok(p.returncode != 0 and "lmtp_listen" in p.stderr.decode(), "a bad listener stops the daemon")

# --- -d: detaches, writes the pid file, keeps serving; SIGTERM removes it
pidfile = os.path.join(work, "lmtpd.pid")
port = spamtrap.free_port()
# (the shipped rules: the default set adds SpamAssassin's, whose first
# load compiles Hyperscan databases for seconds; -d returns after it)
p = subprocess.run([LMTPD, "-d", "-o", "lmtp_listen=127.0.0.1:%d" % port,
                    "-o", "var_dir=%s" % os.path.join(work, "daemon"),
                    "-o", "rules_dir=%s" % os.path.join(spamtrap.top(),
                                                        "rules", "shipped"),
                    "-o", "pid_file=%s" % pidfile], timeout=10)
t.is_(p.returncode, 0, "-d returns at once with status 0")
deadline = time.time() + 10
while time.time() < deadline and not os.path.exists(pidfile):
    time.sleep(0.05)
t.ok(os.path.exists(pidfile), "pid file written")
pid = int(open(pidfile).read()) if os.path.exists(pidfile) else 0
c = LmtpClient(port)
t.is_(c.lhlo()[0], 250, "the detached daemon serves")
c.close()
if pid:
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and os.path.exists(pidfile):
        time.sleep(0.05)
t.ok(not os.path.exists(pidfile), "SIGTERM removes the pid file")
sys.exit(t.done())
