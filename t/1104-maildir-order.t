#!/usr/bin/python3
# A Maildir message is written as an unnamed file in tmp/, named there
# (its unique name), synced, linked into new/ under that name and its
# size, and its tmp/ name removed, in that order: inotify on both
# directories sees tmp/ create, new/ create, tmp/ delete, and nothing in
# tmp/ before the whole message is written.  So its inode has a link
# count when it is first synced (an unnamed file synced and then linked
# straight into new/ had none on disk).  The message in new/ is whole,
# has one link, its size in its name, tmp/ is empty again: as root and as
# the unprivileged "user" (whose file it is, mode 0600).  Where the
# unnamed file cannot be named (no /proc/self/fd to link it from) the
# store says so once and creates the file in tmp/ by name: every
# recipient is still stored once, whole, and nothing is left in tmp/.
import ctypes
import os
import pwd
import struct
import subprocess
import sys

if os.geteuid() != 0 and not os.environ.get("ST_IN_USERNS"):
    # hiding /proc/self/fd needs a mount namespace: become root in a user one
    os.environ["ST_IN_USERNS"] = "1"
    os.execvp("unshare", ["unshare", "-rm", sys.executable] + sys.argv)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

IN_MODIFY = 0x2
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_NONBLOCK = 0o4000
KINDS = {IN_MODIFY: "modify", IN_CREATE: "create", IN_DELETE: "delete",
         IN_MOVED_TO: "moved in", IN_MOVED_FROM: "moved out"}

libc = ctypes.CDLL(None, use_errno=True)


class Inotify:
    """Names created, removed or moved in some directories, in order."""

    def __init__(self, paths):
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.wd = {}
        for label, path in paths.items():
            wd = libc.inotify_add_watch(self.fd, path.encode(),
                                        IN_MODIFY | IN_CREATE | IN_DELETE |
                                        IN_MOVED_TO | IN_MOVED_FROM)
            if wd < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch " + path)
            self.wd[wd] = label

    def events(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off + 16 <= len(buf):
                wd, mask, _, nlen = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + nlen].rstrip(b"\0").decode()
                kind = [v for k, v in KINDS.items() if mask & k]
                out.append((self.wd.get(wd, "?"), kind[0] if kind else hex(mask), name))
                off += 16 + nlen

    def close(self):
        os.close(self.fd)


t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1104-")
BODY = b"Subject: order\r\n\r\n" + b"line of the body\r\n" * 300


def first(d, rcpt):
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", [rcpt], b"Subject: first\r\n\r\nx\r\n")
    c.close()
    return [x[0] for x in r[3]] == [250]


def deliver_watched(d, rcpt, label):
    """Deliver one message to RCPT (whose Maildir exists) watching tmp/ and new/."""
    md = d.maildir(rcpt)
    before = set(os.listdir(os.path.join(md, "new")))
    w = Inotify({"tmp": os.path.join(md, "tmp"), "new": os.path.join(md, "new")})
    c = LmtpClient(d.port)
    c.lhlo()
    r = c.send_mail("s@example.net", [rcpt], BODY)
    c.close()
    events = w.events()
    w.close()
    t.is_([x[0] for x in r[3]], [250], "%s: delivered" % label)
    new = sorted(set(os.listdir(os.path.join(md, "new"))) - before)
    t.is_(len(new), 1, "%s: one more message in new/" % label)
    name = new[0] if new else "?"
    base = name.split(",S=")[0]
    t.is_([e for e in events if e[1] != "modify"],
          [("tmp", "create", base), ("new", "create", name), ("tmp", "delete", base)],
          "%s: named in tmp/, linked into new/, tmp/ name removed" % label)
    writes = [e for e in events if e[1] == "modify"]
    t.ok(writes and not [e for e in writes if e[2] in (base, name)],
         "%s: written before it had a name (%s)" % (label, writes[:2]))
    path = os.path.join(md, "new", name)
    with open(path, "rb") as f:
        data = f.read()
    t.ok(data.startswith(b"Return-Path: <s@example.net>\n")
         and data.endswith(b"line of the body\n" * 300),
         "%s: whole, LF line ends" % label)
    t.ok(name.endswith(",S=%d" % len(data)), "%s: its size in the name (%s)" % (label, name))
    st = os.stat(path)
    t.is_(st.st_nlink, 1, "%s: one link" % label)
    t.is_(os.listdir(os.path.join(md, "tmp")), [], "%s: tmp/ is empty" % label)
    return st


# --- as root
d = Lmtpd(os.path.join(work, "root"))
d.start()
t.ok(first(d, "u@example.org"), "root: the first message makes the Maildir")
deliver_watched(d, "u@example.org", "root")
d.stop()
t.ok("by name from now on" not in d.log(), "root: no fallback logged")

# --- as the unprivileged user
if os.geteuid() == 0 and not os.environ.get("ST_IN_USERNS"):
    base = os.path.join(work, "nobody")
    os.makedirs(os.path.join(base, "var"))
    nb = pwd.getpwnam("nobody")
    os.chown(os.path.join(base, "var"), nb.pw_uid, nb.pw_gid)
    d = Lmtpd(base, {"user": "nobody"})
    d.start()
    t.ok(first(d, "n@example.org"), "nobody: the first message makes the Maildir")
    st = deliver_watched(d, "n@example.org", "nobody")
    t.is_((st.st_uid, st.st_mode & 0o777), (nb.pw_uid, 0o600),
          "nobody: owned by nobody, mode 0600")
    d.stop()
    t.ok("by name from now on" not in d.log(), "nobody: no fallback logged")
else:
    # a user namespace maps only our own uid: nothing to switch to
    t.diag("not real root: the unprivileged-user case runs under make check as root")

# --- no /proc/self/fd: the unnamed file cannot be named; created by name
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
    t.is_(os.stat(os.path.join(md, "new", new[0])).st_nlink, 1,
          "no /proc: %s's copy has one link" % box)
    t.is_(os.listdir(os.path.join(md, "tmp")), [], "no /proc: %s/tmp is empty" % box)

sys.exit(t.done())
