#!/usr/bin/python3
# A Maildir message is written as an unnamed file (O_TMPFILE) in tmp/
# and linked into new/ only once its data is on disk: tmp/ never sees a
# name (inotify on tmp/ reports no IN_CREATE), as root and as the
# unprivileged "user".  Where the unnamed file cannot be linked (no
# /proc/self/fd to link it from) the store says so once and writes by name into
# tmp/ as before: every recipient is still stored once, whole, and
# nothing is left in tmp/.
import ctypes
import os
import pwd
import struct
import subprocess
import sys

if os.geteuid() != 0 and not os.environ.get("ST_IN_USERNS"):
    # hiding /proc needs a mount namespace: become root in a user one
    os.environ["ST_IN_USERNS"] = "1"
    os.execvp("unshare", ["unshare", "-rm", sys.executable] + sys.argv)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_NONBLOCK = 0o4000

libc = ctypes.CDLL(None, use_errno=True)


class Inotify:
    """Names created in (or moved into) one directory, read without blocking."""

    def __init__(self, path):
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + path)

    def names(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off + 16 <= len(buf):
                _, mask, _, nlen = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + nlen].rstrip(b"\0").decode()
                out.append((mask, name))
                off += 16 + nlen

    def close(self):
        os.close(self.fd)


t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1104-")
BODY = b"Subject: unnamed\r\n\r\n" + b"line of the body\r\n" * 300


def deliver_watched(d, rcpt, label):
    """Deliver one message to RCPT (whose Maildir exists) watching its tmp/."""
    md = d.maildir(rcpt)
    w = Inotify(os.path.join(md, "tmp"))
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", [rcpt], BODY)
    c.close()
    events = w.names()
    w.close()
    t.is_([x[0] for x in r[3]], [250], "%s: delivered" % label)
    t.is_(events, [], "%s: no name ever appeared in tmp/" % label)
    new = os.listdir(os.path.join(md, "new"))
    t.is_(len(new), 2, "%s: the second message is in new/" % label)
    # the second message is the one with the long body (names do not sort
    # by time: the microseconds are not zero-padded)
    name, data = None, b""
    for n in new:
        with open(os.path.join(md, "new", n), "rb") as f:
            content = f.read()
        if b"Subject: unnamed" in content:
            name, data = n, content
    t.ok(data.startswith(b"Return-Path: <s@example.net>\n")
         and data.endswith(b"line of the body\n" * 300),
         "%s: whole, LF line ends" % label)
    t.ok(name is not None and name.endswith(",S=%d" % len(data)),
         "%s: its size in the name (%s)" % (label, name))
    t.is_(os.listdir(os.path.join(md, "tmp")), [], "%s: tmp/ is empty" % label)
    return name


def first(d, rcpt):
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", [rcpt], b"Subject: first\r\n\r\nx\r\n")
    c.close()
    return [x[0] for x in r[3]] == [250]


# --- as root (or the namespace's root)
d = Lmtpd(os.path.join(work, "root"))
d.start()
t.ok(first(d, "u@example.org"), "root: the first message makes the Maildir")
deliver_watched(d, "u@example.org", "root")
d.stop()
t.ok("by name from now on" not in d.log(), "root: no fallback logged")

# --- as the unprivileged user (its /proc/self/fd is still its own)
if os.geteuid() == 0 and not os.environ.get("ST_IN_USERNS"):
    base = os.path.join(work, "nobody")
    os.makedirs(os.path.join(base, "var"))
    nb = pwd.getpwnam("nobody")
    os.chown(os.path.join(base, "var"), nb.pw_uid, nb.pw_gid)
    d = Lmtpd(base, {"user": "nobody"})
    d.start()
    t.ok(first(d, "n@example.org"), "nobody: the first message makes the Maildir")
    name = deliver_watched(d, "n@example.org", "nobody")
    st = os.stat(os.path.join(d.maildir("n@example.org"), "new", name))
    t.is_((st.st_uid, st.st_mode & 0o777), (nb.pw_uid, 0o600),
          "nobody: owned by nobody, mode 0600")
    d.stop()
    t.ok("by name from now on" not in d.log(), "nobody: no fallback logged")
else:
    # a user namespace maps only our own uid: nothing to switch to
    t.diag("not real root: the unprivileged-user case runs under make check as root")

# --- no /proc/self/fd: the unnamed file cannot be linked; by name instead
msgfile = os.path.join(work, "msg")
with open(msgfile, "wb") as f:
    f.write(BODY.replace(b"\r\n", b"\n"))
mroot = os.path.join(work, "noproc")
# an empty /proc/self/fd (the helper keeps the shell's pid); the rest of
# /proc stays, which AddressSanitizer needs
script = "mount -t tmpfs none /proc/$$/fd && exec \"$@\""
r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh",
                    spamtrap.helper("store-deliver"),
                    "-o", "store=maildir:%s/%%u" % mroot, "-s", msgfile,
                    "a@example.org", "b@example.org", "a@example.org=Spam"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
out, err = r.stdout.decode(), r.stderr.decode()
t.is_(r.returncode, 0, "no /proc: all three stored (%s)" % err.strip())
t.is_([l.split("\t")[1] for l in out.splitlines()], ["ok"] * 3,
      "no /proc: no recipient failed")
t.is_(err.count("by name from now on"), 1, "no /proc: the fallback is logged once")
t.like(err, "cannot link an unnamed file", "no /proc: saying why")
for box in ("a@example.org", "b@example.org", "a@example.org/.Spam"):
    md = os.path.join(mroot, box)
    new = os.listdir(os.path.join(md, "new"))
    t.is_(len(new), 1, "no /proc: one message in %s/new" % box)
    with open(os.path.join(md, "new", new[0]), "rb") as f:
        data = f.read()
    t.ok(data.endswith(b"line of the body\n" * 300) and data.count(b"Return-Path:") == 1,
         "no /proc: %s's copy is whole, written once" % box)
    t.is_(os.listdir(os.path.join(md, "tmp")), [], "no /proc: %s/tmp is empty" % box)

sys.exit(t.done())
