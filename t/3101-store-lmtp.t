#!/usr/bin/python3
"""3101-store-lmtp: the lmtp: store against a real Dovecot LMTP.

Starts a private Dovecot (t/lib/dovecot.py) and delivers through
build/t/helpers/store-deliver: INBOX for two users with the body intact
(dot-stuffing and 8-bit), a folder by +detail, an unknown user (550),
several transactions on one connection, the unix socket, a server that
never answers (store_timeout), and Dovecot stopped.
"""

import imaplib
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import spamtrap                     # noqa: E402
from dovecot import Dovecot         # noqa: E402

t = spamtrap.Tap()
HELPER = spamtrap.helper("store-deliver")

BODY = (b"From: sender@example.net\n"
        b"Subject: store-lmtp test\n"
        b"\n"
        b"first line\n"
        b".a line that starts with a dot\n"
        b"..two dots\n"
        b".\n"
        b"8-bit: \xc3\xa4\xc3\xb6\xc3\xbc \xe2\x82\xac\n"
        b"last line\n")


def deliver(spec, rcpts, *opts, timeout=60):
    """Run store-deliver; (rows, exit status, seconds).  A row is a dict
    address kind code status location error."""
    start = time.monotonic()
    r = subprocess.run([HELPER, "-o", "store=" + spec,
                        "-o", "store_timeout=2"] + list(opts) +
                       [MSGFILE] + list(rcpts),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    rows = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        f = line.split("\t")
        if len(f) != 6:
            t.diag("bad output line: %r" % line)
            continue
        rows.append(dict(address=f[0], kind=f[1], code=int(f[2]),
                         status=f[3], location=f[4], error=f[5]))
    if r.stderr:
        t.diag("store-deliver: " + r.stderr.decode("utf-8", "replace"))
    if r.returncode not in (0, 1):      # a crash, a sanitizer report
        t.ok(False, "store-deliver exit status %d" % r.returncode)
    return rows, r.returncode, time.monotonic() - start


def check_copy(dc, user, folder, what):
    msgs = dc.messages(user, folder)
    t.is_(len(msgs), 1, "%s: one message in %s's %s" % (what, user,
                                                           folder or "INBOX"))
    if not msgs:
        return
    data = msgs[0][1]
    t.ok(data.endswith(BODY), "%s: body intact (dot lines, 8-bit, "
         "last line end)" % what)
    t.ok(b"\r" not in data, "%s: no CR left (Dovecot stores LF)" % what)
    t.is_(data.count(b"Return-Path:"), 1,
          "%s: one Return-Path (Dovecot's own)" % what)
    # Dovecot adds its own Delivered-To when a transaction has one
    # recipient; we add none
    t.ok(data.count(b"Delivered-To:") <= 1,
         "%s: no Delivered-To added by us" % what)
    t.like(data.decode("utf-8", "replace"), "Return-Path: <sender@example.net>",
           "%s: envelope sender" % what)


if not os.path.exists(HELPER):
    print("1..1")
    print("not ok 1 - %s is built (run make)" % HELPER)
    sys.exit(1)

workdir = spamtrap.short_tempdir("st-3101-")
MSGFILE = os.path.join(workdir, "message")
with open(MSGFILE, "wb") as f:
    f.write(BODY)

dc = Dovecot(users={"alice": "pw-a", "bob": "pw-b", "carol": "pw-c"})
try:
    dc.start()
    tcp = "lmtp:127.0.0.1:%d" % dc.lmtp_port
    unix = "lmtp:unix:" + dc.lmtp_socket

    # two users, one transaction
    rows, rc, _ = deliver(tcp, ["alice@example.org", "bob@example.org"])
    t.is_(rc, 0, "INBOX x2: exit status")
    t.is_([r["kind"] for r in rows], ["ok", "ok"], "INBOX x2: both stored")
    t.is_([r["code"] for r in rows], [250, 250], "INBOX x2: remote code 250")
    t.ok(all(r["status"].startswith("2.") for r in rows),
         "INBOX x2: enhanced status 2.x.x")
    t.is_(rows[0]["location"] if rows else None, tcp,
          "INBOX x2: location names the store")
    check_copy(dc, "alice", None, "INBOX x2")
    check_copy(dc, "bob", None, "INBOX x2")

    # a folder by +detail
    rows, rc, _ = deliver(tcp, ["alice@example.org=Spam"])
    t.is_([r["kind"] for r in rows], ["ok"], "folder Spam: stored")
    check_copy(dc, "alice", "Spam", "folder Spam")
    t.is_(len(dc.messages("alice")), 1, "folder Spam: nothing more in INBOX")

    # an unknown user next to a known one
    rows, rc, _ = deliver(tcp, ["nosuchuser@example.org",
                                "carol@example.org"])
    t.is_(rc, 1, "unknown user: exit status 1")
    t.is_(rows[0]["kind"] if rows else None, "permanent",
          "unknown user: permanent")
    t.is_(rows[0]["code"] if rows else None, 550, "unknown user: 550")
    t.is_(rows[0]["status"] if rows else None, "5.1.1",
          "unknown user: 5.1.1")
    t.like(rows[0]["error"] if rows else None, "550",
           "unknown user: reason carries Dovecot's reply")
    t.is_(rows[1]["kind"] if len(rows) > 1 else None, "ok",
          "unknown user: the other recipient is stored")
    check_copy(dc, "carol", None, "next to unknown user")

    # separate messages: several transactions on one connection
    rows, rc, _ = deliver(tcp, ["alice@example.org=Spam/One-Shot",
                                "bob@example.org=Spam", "carol@example.org"],
                          "-s")
    t.is_([r["kind"] for r in rows], ["ok", "ok", "ok"],
          "three transactions: all stored")
    check_copy(dc, "alice", "Spam.One-Shot", "folder Spam/One-Shot")
    check_copy(dc, "bob", "Spam", "three transactions")
    t.is_(len(dc.messages("carol")), 2, "three transactions: carol has two")

    # the unix socket, and a folder that needs a quoted local part
    rows, rc, _ = deliver(unix, ["bob@example.org=My Folder"])
    t.is_([r["kind"] for r in rows], ["ok"], "unix socket: stored")
    t.is_([r["location"] for r in rows], [unix], "unix socket: location")
    check_copy(dc, "bob", "My Folder", "unix socket, folder with a space")

    # refused before any connection: an unsafe folder
    rows, rc, _ = deliver(tcp, ["bob@example.org=../x"])
    t.is_([(r["kind"], r["code"]) for r in rows], [("permanent", 0)],
          "unsafe folder: permanent, no remote code")
    t.like(rows[0]["error"] if rows else None, "starts with '.'",
           "unsafe folder: reason")

    # a server that accepts and never answers: store_timeout (2 s)
    mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    mute.bind(("127.0.0.1", 0))
    mute.listen(5)
    rows, rc, secs = deliver("lmtp:127.0.0.1:%d" % mute.getsockname()[1],
                             ["alice@example.org", "bob@example.org"])
    mute.close()
    t.is_([r["kind"] for r in rows], ["temporary", "temporary"],
          "silent server: temporary for all")
    t.like(rows[0]["error"] if rows else None, "greeting",
           "silent server: reason")
    t.ok(1.5 < secs < 15, "silent server: gave up after store_timeout "
         "(%.1f s)" % secs)

    # what IMAP clients see (the harness's master user login)
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    imap.login("alice*" + dc.master_user, dc.master_password)
    typ, data = imap.select('"Spam/One-Shot"', readonly=True)
    t.is_((typ, data), ("OK", [b"1"]),
          "IMAP (master user as alice): Spam/One-Shot holds the message")
    typ, data = imap.select("Spam", readonly=True)
    t.is_((typ, data), ("OK", [b"1"]), "IMAP: Spam holds one message")
    imap.logout()

    dc.stop()
    for spec, what in ((tcp, "TCP"), (unix, "unix socket")):
        rows, rc, _ = deliver(spec, ["alice@example.org",
                                     "bob@example.org=Spam"])
        t.is_([r["kind"] for r in rows], ["temporary", "temporary"],
              "Dovecot stopped (%s): temporary for all" % what)
        t.is_([r["code"] for r in rows], [0, 0],
              "Dovecot stopped (%s): no remote code" % what)
        t.like(rows[0]["error"] if rows else None, "connect",
               "Dovecot stopped (%s): reason" % what)
    t.is_(len(dc.messages("alice")), 1, "Dovecot stopped: nothing delivered")
except Exception as e:          # report, then clean up
    t.ok(False, "unexpected exception: %r" % (e,))
    t.diag(dc.log_text()[-3000:] if dc.dir else "")
finally:
    if t.failed and dc.dir:
        t.diag("dovecot log:\n" + dc.log_text()[-4000:])
    dc.cleanup()
    spamtrap.remove_tree(workdir)

sys.exit(t.done())
