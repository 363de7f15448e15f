"""A quarantine filled through real LMTP deliveries, for the spamtrap
command's tests (Python 3 stdlib only).

    import trap
    with trap.Trap() as t:                     # a private spamtrap-lmtpd
        t.deliver("s@spam.example", ["alice@example.org"],
                  trap.message(subject="x", gtube=True, relay="192.0.2.7"))
        rc, out, err = t.st("list", "--json")  # bin/spamtrap on its config
        t.incidents(user)                       # list --json, parsed

GTUBE in a body scores 1000 with the shipped rules: held as SpamScore
(spam_threshold 5 < 1000 < auto_reject_threshold 2000).  The relay comes
from a Received: "from helo (name [addr])" line, as lmtpd reads it.
"""

import json
import os
import subprocess

import spamtrap
from lmtpd import Lmtpd, LmtpClient

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(subject="hello", frm="Sender <s@example.net>", to="alice@example.org",
            body="hello there\n", gtube=False, relay=None, relay_name="mx.example.net",
            headers=(), content_type=None, cte=None, msgid=None):
    lines = []
    if relay:
        lines.append("Received: from helo.example.net (%s [%s])\n"
                     "\tby mx.test with ESMTP; Sun, 22 Nov 2026 08:00:00 +0000"
                     % (relay_name, relay))
    lines += ["From: " + frm, "To: " + to, "Subject: " + subject,
              "Date: Sun, 22 Nov 2026 08:00:00 +0000",
              "Message-ID: <%s>" % (msgid or ("%d.%s@example.net"
                                              % (len(subject), abs(hash(subject)))))]
    lines += list(headers)
    if content_type:
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: " + content_type)
    if cte:
        lines.append("Content-Transfer-Encoding: " + cte)
    text = "\n".join(lines) + "\n\n" + body
    if gtube:
        text += "\n" + GTUBE + "\n"
    return text.encode()


class Trap:
    def __init__(self, settings=None, workdir=None):
        self.dir = workdir or spamtrap.short_tempdir("st-trap-")
        s = {"db_lock_timeout": "1s"}   # qstore_close waits up to half of it
        s.update(settings or {})
        self.lmtpd = Lmtpd(self.dir, s)

    def start(self):
        self.lmtpd.start()
        return self

    def stop(self):
        self.lmtpd.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def conf(self):
        return self.lmtpd.conf

    def deliver(self, sender, rcpts, body):
        """One LMTP transaction; the per-recipient replies as (code, text)."""
        c = LmtpClient(self.lmtpd.port)
        c.lhlo()
        mail, rr, data, replies = c.send_mail(sender, rcpts, body)
        c.cmd("QUIT")
        c.close()
        if mail[0] != 250 or data[0] not in (354,):
            raise AssertionError("LMTP refused: %r %r %r" % (mail, rr, data))
        return replies

    def st(self, *args, stdin=None, env=None, conf=True):
        """Run bin/spamtrap with this trap's config: (rc, stdout, stderr)."""
        cmd = [os.path.join(spamtrap.bin_dir(), "spamtrap")]
        if conf:
            cmd += ["-c", self.conf]
        e = dict(os.environ)
        e.pop("SPAMTRAP_CONF", None)
        e.update(env or {})
        p = subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                           env=e, timeout=60)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def json_lines(self, *args):
        rc, out, err = self.st(*args)
        if rc != 0:
            raise AssertionError("spamtrap %s: %d %s" % (args, rc, err))
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def incidents(self, user=None, *more):
        args = ["list", "--json", "--per-page", "200"]
        if user:
            args += ["--user", user]
        return self.json_lines(*(args + list(more)))
