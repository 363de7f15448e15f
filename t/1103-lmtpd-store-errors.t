#!/usr/bin/python3
# Store failures become per-recipient 4xx through the whole server, and
# never leave a message in new/: a full file system (a small tmpfs) gives
# 452 4.2.2, a broken Maildir 451 4.2.0, while other recipients of the
# same transaction are delivered and the daemon keeps serving.
import os
import subprocess
import sys

if os.geteuid() != 0 and not os.environ.get("ST_IN_USERNS"):
    # mounting a tmpfs needs root: become root in a user namespace
    os.environ["ST_IN_USERNS"] = "1"
    os.execvp("unshare", ["unshare", "-rm", sys.executable] + sys.argv)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1103-")
mnt = os.path.join(work, "small")
os.makedirs(mnt)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                   stderr=subprocess.PIPE)
t.is_(r.returncode, 0, "a 256 kB tmpfs is mounted (%s)" % r.stderr.decode().strip())
try:
    d = Lmtpd(os.path.join(work, "d"), {"store": "maildir:%s/%%u" % mnt})
    d.start()
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", ["full@example.org"],
                    b"Subject: fits\r\n\r\n" + b"a" * 50000 + b"\r\n")
    t.is_([x[0] for x in r[3]], [250], "a message that fits is stored")
    r = c.send_mail("s@example.net", ["full@example.org"],
                    b"Subject: too big for the disk\r\n\r\n" + (b"b" * 998 + b"\r\n") * 400)
    t.is_([x[0] for x in r[3]], [452], "disk full: 452")
    t.like(r[3][0][1] if r[3] else "", "4.2.2", "disk full: 4.2.2")
    new = os.path.join(mnt, "full@example.org", "new")
    t.is_(len(os.listdir(new)), 1, "only the first message is in new/")
    tmp = os.path.join(mnt, "full@example.org", "tmp")
    t.is_(os.listdir(tmp), [], "no partial file left in tmp/")
    t.is_(c.cmd("NOOP")[0], 250, "the session goes on after a full disk")

    # a broken Maildir: new/ is a file
    broken = os.path.join(mnt, "broken@example.org")
    for sub in ("cur", "tmp"):
        os.makedirs(os.path.join(broken, sub))
    open(os.path.join(broken, "new"), "w").close()
    r = c.send_mail("s@example.net", ["broken@example.org", "fine@example.org"],
                    b"Subject: mixed\r\n\r\nx\r\n")
    t.is_([x[0] for x in r[3]], [451, 250], "broken Maildir 451, the other recipient 250")
    t.like(r[3][0][1] if r[3] else "", "4.2.0", "broken Maildir: 4.2.0")
    t.is_(os.listdir(os.path.join(broken, "tmp")), [], "nothing left in the broken Maildir's tmp/")
    t.is_(len(os.listdir(os.path.join(mnt, "fine@example.org", "new"))), 1,
          "the other recipient's copy is there")
    c.close()
    c = LmtpClient(d.port)
    t.is_(c.lhlo()[0], 250, "the daemon keeps serving")
    c.close()
    d.stop()
    log = d.log()
    t.like(log, "to=<full@example.org>", "the failure is logged")
    t.ok("status=452" in log and "status=451" in log, "with its status")
    t.is_(d.sanitizer_report(), [], "no sanitizer reports")
finally:
    subprocess.run(["umount", mnt])
sys.exit(t.done())
