#!/usr/bin/python3
"""1121-lmtpd-faults: a failing backend gives 4xx, never a false 250.

  - downstream LMTP store down (nothing listens): 4xx per recipient;
  - downstream LMTP store that greets and then hangs: 4xx after
    store_timeout, and the session is not stuck for longer;
  - downstream store that answers 452 for one recipient: that one 4xx,
    the other 250 and stored downstream;
  - the database (once the daemon keeps one: scoring integration)
    unavailable or held locked by another process: 4xx, nothing stored,
    and delivery works again when it is back;
and after each fault the daemon serves a well-behaved client at once.
The full file system case is t/1103-lmtpd-store-errors.t.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap                     # noqa: E402
from lmtpd import Lmtpd, LmtpClient   # noqa: E402

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1121-")
MSG = b"Subject: fault test\nFrom: s@example.net\n\nhello\n"


class ScriptedLmtp:
    """A downstream LMTP server: MODE "hang" greets and never answers;
    "mixed" accepts everything but refuses RCPT for users named full*
    with 452 and records what it stored."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stored = []
        self.stop_ev = threading.Event()
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        try:
            c.sendall(b"220 scripted LMTP\r\n")
            if self.mode == "hang":
                self.stop_ev.wait(60)
                return
            rcpts = []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"LHLO"):
                    c.sendall(b"250-scripted\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n")
                elif cmd.startswith(b"MAIL"):
                    rcpts = []
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif cmd.startswith(b"RCPT"):
                    if b"<FULL" in cmd:
                        c.sendall(b"452 4.2.2 mailbox full\r\n")
                    else:
                        rcpts.append(line.strip()[9:-1].decode())
                        c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while True:
                        l2 = f.readline()
                        if not l2 or l2 == b".\r\n":
                            break
                        data += l2
                    for r in rcpts:
                        self.stored.append((r, data))
                        c.sendall(b"250 2.0.0 stored\r\n")
                elif cmd == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop_ev.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def good_client(d, what):
    """A well-behaved client is answered at once."""
    t0 = time.monotonic()
    c = LmtpClient(d.port, timeout=10)
    code = c.lhlo()[0]
    c.close()
    t.ok(code == 250 and time.monotonic() - t0 < 3,
         "%s: a new client is served at once (%.2f s)" % (what, time.monotonic() - t0))


# ---- store down
closed = spamtrap.free_port()
d = Lmtpd(os.path.join(work, "down"), {"store": "lmtp:127.0.0.1:%d" % closed,
                                       "store_timeout": "5s"})
d.start()
c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", ["a@example.org", "b@example.org"], MSG)
codes = [x[0] for x in r[3]] or [r[2][0]] + [x[0] for x in r[1]]
t.ok(codes and all(400 <= x < 500 for x in codes),
     "store down: 4xx for every recipient (%s)" % codes)
t.ok(all(" 4." in " " + x[1] or x[1].startswith("4.") for x in r[3]),
     "store down: with a 4.x.x enhanced code (%s)" % [x[1] for x in r[3]])
r = c.send_mail("s@example.net", ["a@example.org"], MSG)
t.ok(r[0][0] == 250, "store down: the session goes on (MAIL %d)" % r[0][0])
c.close()
good_client(d, "store down")
d.stop()

# ---- store hangs after its greeting
hang = ScriptedLmtp("hang")
d = Lmtpd(os.path.join(work, "hang"), {"store": "lmtp:127.0.0.1:%d" % hang.port,
                                       "store_timeout": "2s"})
d.start()
c = LmtpClient(d.port, timeout=30)
c.lhlo()
t0 = time.monotonic()
r = c.send_mail("s@example.net", ["a@example.org"], MSG)
took = time.monotonic() - t0
codes = [x[0] for x in r[3]] or [r[2][0]]
t.ok(codes and all(400 <= x < 500 for x in codes), "store hangs: 4xx (%s)" % codes)
t.ok(1.5 < took < 15, "store hangs: answered after about store_timeout (%.1f s)" % took)
good_client(d, "store hangs")
c.close()
d.stop()
hang.close()

# ---- store refuses one recipient
mixed = ScriptedLmtp("mixed")
d = Lmtpd(os.path.join(work, "mixed"), {"store": "lmtp:127.0.0.1:%d" % mixed.port})
d.start()
c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", ["full@example.org", "ok@example.org"], MSG)
got = [x[0] for x in r[3]]
if len(r[3]) < 2:
    got = [x[0] for x in r[1]][:1] + got
t.is_(sorted(got), [250, 452], "store refuses one: 452 for it, 250 for the other (%s)" % got)
t.is_([x[0] for x in mixed.stored], ["ok@example.org"], "only the accepted recipient is stored")
good_client(d, "store refuses one")
c.close()
d.stop()
mixed.close()

# ---- the database unavailable or locked (needs lmtpd to keep incidents)
gtube = (b"Subject: GTUBE\nFrom: s@example.net\n\n"
         b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n")
d = Lmtpd(os.path.join(work, "db"), {"db_busy_timeout": "3s", "db_lock_timeout": "1s"})
d.start()
c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", ["probe@example.org"], gtube)
c.close()
db_dir = os.path.join(d.settings["var_dir"], "db")
uses_db = os.path.isdir(db_dir) and any(f.endswith(".db") for f in os.listdir(db_dir))
t.ok(uses_db, "spamtrap-lmtpd keeps its database in db_dir")
if not uses_db:
    d.stop()
else:
    def attempt(user):
        c = LmtpClient(d.port, timeout=60)
        c.lhlo()
        r = c.send_mail("s@example.net", [user + "@example.org"], gtube)
        c.close()
        codes = [x[0] for x in r[3]] or [x[0] for x in r[1]]
        files = []
        for folder in (None, "Spam", "Spam/One-Shot"):
            files += d.messages(user + "@example.org",
                                folder.replace("/", ".") if folder else None)
        return codes, len(files)

    # locked: another process holds a write transaction
    hold = subprocess.Popen([spamtrap.helper("qstore-driver"), "hold", db_dir],
                            stdout=subprocess.PIPE, text=True)
    line = hold.stdout.readline()
    t.like(line, "holding", "a writer holds the database")
    codes, n = attempt("locked")
    t.ok(codes and all(400 <= x < 500 for x in codes), "database locked: 4xx (%s)" % codes)
    t.is_(n, 0, "database locked: nothing stored")
    hold.kill()
    hold.wait()
    # unavailable: the directory cannot be read
    d.stop()
    moved = db_dir + ".away"
    os.rename(db_dir, moved)
    with open(db_dir, "w") as f:
        f.write("not a directory\n")
    try:
        d.start()
        codes, n = attempt("gone")
        t.ok(codes and all(400 <= x < 500 for x in codes), "database unavailable: 4xx (%s)" % codes)
        t.is_(n, 0, "database unavailable: nothing stored")
        good_client(d, "database unavailable")
    except Exception as e:     # refusing to start is also clean
        t.ok(True, "database unavailable: the daemon refuses to start (%s)" % str(e)[:100])
        t.ok(True, "database unavailable: nothing stored")
    d.stop()
    os.unlink(db_dir)
    os.rename(moved, db_dir)
    d.start()
    codes, n = attempt("back")
    t.is_(codes, [250], "database back: delivered")
    t.is_(n, 1, "database back: stored once")
    d.stop()
t.is_(d.sanitizer_report(), [], "no sanitizer reports")
sys.exit(t.done())
