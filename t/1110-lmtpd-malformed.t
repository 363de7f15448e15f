#!/usr/bin/python3
"""1110-lmtpd-malformed: malformed messages are delivered or refused,
never lost, never a crash.

Every case of t/data/malformed/generate.py (broken MIME boundaries, bad transfer
encodings and charsets, 8-bit and NUL bytes, huge headers, deeply nested
multiparts, missing headers, odd line ends; written by generate.py) is
delivered through spamtrap-lmtpd to two recipients, all over one
connection.  Each recipient gets 250 (and then its Maildir holds the
message, its body intact up to line ends) or a clean 5xx/4xx with an
enhanced status code; no session process dies of a signal, and the
daemon serves a normal message afterwards.  When the daemon scores (the
rules integration), the same messages also go through the rules; "spamtrap
score" is run over them too, so the rule engine sees them either way.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap                     # noqa: E402
from lmtpd import Lmtpd, LmtpClient, LmtpError   # noqa: E402

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1110-")
DATA = os.path.join(work, "malformed")
r = subprocess.run([sys.executable, os.path.join(spamtrap.top(), "t", "data", "malformed",
                                                 "generate.py"), DATA],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
files = sorted(f for f in os.listdir(DATA) if f.endswith(".eml")) if r.returncode == 0 else []
t.ok(len(files) >= 40, "%d malformed messages written by generate.py %s" % (
    len(files), r.stdout.strip()))
d = Lmtpd(work, {"lmtp_line_limit": "4096", "rules_time_budget_ms": "3000"})
d.start()
RCPTS = ["m1@example.org", "m2@example.org"]


def normalise(b):
    """Line ends as LMTP carries them (CR LF), for comparing bodies."""
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def body_of(b):
    b = normalise(b)
    i = b.find(b"\r\n\r\n")
    return b[i + 4:] if i >= 0 else b""


def stored_files(rcpt):
    """Every message file of RCPT, in any folder (held mail goes to the
    quarantine folder): path -> bytes."""
    out = {}
    for root, dirs, names in os.walk(d.maildir(rcpt)):
        if os.path.basename(root) in ("new", "cur"):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    out[os.path.join(root, n)] = f.read()
    return out


c = LmtpClient(d.port, timeout=60)
c.lhlo()
delivered = refused = 0
for name in files:
    with open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    before = [stored_files(r) for r in RCPTS]
    try:
        r = c.send_mail("s@example.net", RCPTS, data)
    except (OSError, LmtpError) as e:
        t.ok(False, "%s: connection lost (%s)" % (name, e))
        c = LmtpClient(d.port, timeout=60)
        c.lhlo()
        continue
    finals = [x for x in r[3]]
    if r[2][0] != 354:
        finals = [r[2]]
    codes = [x[0] for x in finals]
    clean = all(x[0] == 250 or (400 <= x[0] < 600 and re.match(r"[45]\.\d+\.\d+", x[1]))
                for x in finals)
    after = [stored_files(rc) for rc in RCPTS]
    new = [[after[i][p] for p in after[i] if p not in before[i]]
           for i in range(len(RCPTS))]
    stored_ok = True
    for i, x in enumerate(finals[:len(RCPTS)]):
        # 250: stored once (a "discard" reject stores nothing, and is
        # logged as such; the malformed cases are not spam enough for it)
        want = 1 if x[0] == 250 else 0
        if len(new[i]) != want:
            stored_ok = False
    if all(x == 250 for x in codes) and stored_ok:
        delivered += 1
        got = new[0][0]
        # the body survives; what precedes it may gain header fields
        want = body_of(data)
        intact = want == b"" or normalise(got).endswith(want) or \
            want.replace(b"\r", b"") in got.replace(b"\r", b"")
        if not intact:
            t.diag("%s: stored %r..." % (name, got[:300]))
    else:
        refused += 1
        intact = True
    t.ok(clean and stored_ok and intact,
         "%s: %s%s%s" % (name, codes, "" if stored_ok else ", stored count wrong",
                         "" if intact else ", body changed"))
c.close()
t.diag("%d delivered, %d refused" % (delivered, refused))

c = LmtpClient(d.port)
c.lhlo()
r = c.send_mail("s@example.net", ["after@example.org"], b"Subject: normal\n\nnormal\n")
t.is_([x[0] for x in r[3]], [250], "a normal message afterwards is delivered")
c.close()
d.stop()
t.ok("killed by signal" not in d.log(), "no session process died of a signal")
t.is_(d.sanitizer_report(), [], "no sanitizer reports")

# the rule engine over the same files, whether or not lmtpd scores yet
r = subprocess.run([os.path.join(spamtrap.bin_dir(), "spamtrap"), "score", "--json",
                    "--rules", os.path.join(spamtrap.top(), "rules", "shipped")]
                   + [os.path.join(DATA, f) for f in files],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
lines = [l for l in r.stdout.splitlines() if l.startswith(b"{")]
t.is_((r.returncode, len(lines)), (0, len(files)),
      "spamtrap score scores every malformed message")
sys.exit(t.done())
