#!/usr/bin/python3
"""3102-maildir-dovecot: what the maildir: store writes, read by Dovecot.

Delivers with build/t/helpers/store-deliver straight into the Maildirs of
a private Dovecot (t/lib/dovecot.py), into the INBOX and into new
folders (with a space, with non-ASCII, nested), then reads them back
over IMAP: the folders are listed and subscribed under their real names,
each holds the message with our Return-Path and Delivered-To and the
body intact, and Dovecot logs no complaint about the files.
"""

import imaplib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import spamtrap                     # noqa: E402
from dovecot import Dovecot         # noqa: E402

t = spamtrap.Tap()
HELPER = spamtrap.helper("store-deliver")

BODY = (b"From: sender@example.net\n"
        b"Subject: maildir read by Dovecot\n"
        b"\n"
        b"first line\n"
        b".a line that starts with a dot\n"
        b"8-bit: \xc3\xa4\xc3\xb6\xc3\xbc\n"
        b"last line\n")

# folder as given -> as IMAP names it (modified UTF-7)
FOLDERS = [
    ("Spam", "Spam"),
    ("Spam/One-Shot", "Spam/One-Shot"),
    ("Spam/\u00dcbersicht", "Spam/&ANw-bersicht"),
    ("My Folder", "My Folder"),
]

if not os.path.exists(HELPER):
    print("1..1")
    print("not ok 1 - %s is built (run make)" % HELPER)
    sys.exit(1)

workdir = spamtrap.short_tempdir("st-3102-")
msgfile = os.path.join(workdir, "message")
with open(msgfile, "wb") as f:
    f.write(BODY)

dc = Dovecot(users={"alice": "pw-a"})
try:
    dc.start()
    rcpts = ["alice@example.org"] + ["alice@example.org=" + f
                                     for f, _ in FOLDERS]
    r = subprocess.run([HELPER, "-o", "store=maildir:%s/%%n" % dc.mail_root]
                       + [msgfile] + rcpts,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    t.is_(r.returncode, 0, "store-deliver stored all five")
    if r.returncode != 0:
        t.diag(r.stdout.decode("utf-8", "replace") +
               r.stderr.decode("utf-8", "replace"))
    if os.geteuid() == 0:
        # the store runs as the mail user in production; here, hand the
        # files to Dovecot's mail uid
        _, uid, gid = dc._ids()
        for root, dirs, files in os.walk(dc.maildir("alice")):
            for name in [root] + [os.path.join(root, x) for x in files]:
                os.chown(name, uid, gid)

    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    imap.login("alice", "pw-a")
    typ, data = imap.lsub('""', "*")
    subscribed = sorted(line.decode().split(' "/" ', 1)[1].strip('"')
                        for line in data if line)
    t.is_(subscribed, sorted(n for _, n in FOLDERS),
          "LSUB: every new folder subscribed, under its IMAP name")
    typ, data = imap.list('""', "*")
    listed = [line.decode() for line in data if line]
    for _, name in FOLDERS:
        t.ok(any(line.endswith('"/" "%s"' % name) or
                 line.endswith('"/" %s' % name) for line in listed),
             "LIST shows %s" % name)

    want = (b"Return-Path: <sender@example.net>\r\n"
            b"Delivered-To: alice@example.org\r\n" +
            BODY.replace(b"\n", b"\r\n"))
    for name in ["INBOX"] + [n for _, n in FOLDERS]:
        typ, data = imap.select('"%s"' % name, readonly=True)
        t.is_((typ, data), ("OK", [b"1"]), "%s: one message" % name)
        typ, data = imap.fetch("1", "(BODY.PEEK[] RFC822.SIZE)")
        got = data[0][1] if typ == "OK" and data and data[0] else None
        t.is_(got, want, "%s: Return-Path, Delivered-To, body intact" % name)
        t.like(data[0][0].decode() if got else "",
               "RFC822.SIZE %d" % len(want), "%s: size" % name)
    imap.logout()
    log = dc.log_text()
    bad = [line for line in log.splitlines()
           if "Error" in line or "Warning" in line or "Panic" in line]
    t.is_(bad, [], "Dovecot logged no errors or warnings about the files")
except Exception as e:
    t.ok(False, "unexpected exception: %r" % (e,))
finally:
    if t.failed and dc.dir:
        t.diag("dovecot log:\n" + dc.log_text()[-4000:])
    dc.cleanup()
    spamtrap.remove_tree(workdir)

sys.exit(t.done())
