#!/usr/bin/python3
# "make run" builds and serves mail in the foreground, printing how to
# send it some.  (The port and var_dir are moved aside with RUNFLAGS so
# the test never collides with a real "make run".)
import email.utils
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st0004-")
port = spamtrap.free_port()
var = os.path.join(work, "var")
build = os.environ.get("SPAMTRAP_BUILD") or os.path.join(spamtrap.top(), "build")
log = open(os.path.join(work, "make.log"), "wb")
p = subprocess.Popen(
    ["make", "-s", "-C", spamtrap.top(), "run", "BUILD=" + build, "BIN=" + spamtrap.bin_dir(),
     "RUNFLAGS=-o lmtp_listen=127.0.0.1:%d -o var_dir=%s" % (port, var)],
    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
c = None
deadline = time.time() + 120
while time.time() < deadline and p.poll() is None:
    try:
        c = LmtpClient(port)
        break
    except OSError:
        time.sleep(0.1)
t.ok(c is not None, "make run serves LMTP")
if c:
    c.lhlo()
    ham = (b"From: You <you@example.org>\r\nTo: alice@example.org, bob@example.org\r\n"
           b"Date: " + email.utils.formatdate().encode() + b"\r\n"
           b"Message-ID: " + email.utils.make_msgid(domain="example.org").encode() + b"\r\n"
           b"Subject: make run\r\n\r\nHello Alice and Bob,\r\n\r\nthe minutes of "
           b"Tuesday's meeting are attached to the wiki page.\r\n\r\nYou\r\n")
    r = c.send_mail("you@example.org", ["alice@example.org", "bob@example.org"], ham)
    t.is_([x[0] for x in r[3]], [250, 250], "two recipients delivered")
    c.cmd("QUIT")
    c.close()
    for user in ("alice@example.org", "bob@example.org"):
        new = os.path.join(var, "mail", user, "new")
        t.is_(len(os.listdir(new)) if os.path.isdir(new) else 0, 1,
              "%s: one message in var/mail/%s/new" % (user, user))
os.killpg(p.pid, signal.SIGTERM)
p.wait(30)
log.close()
out = open(os.path.join(work, "make.log"), "rb").read().decode("utf-8", "replace")
t.like(out, "swaks --protocol LMTP --server 127.0.0.1:2424", "make run prints how to send mail")
t.like(out, "var/mail/", "and where it goes")
sys.exit(t.done())
