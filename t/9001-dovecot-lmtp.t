#!/usr/bin/python3
# End to end: swaks -> spamtrap-lmtpd -> (store = lmtp:) -> a real Dovecot.
# Two recipients land in their INBOXes, user+Spam in Spam, Dovecot's
# refusals and absence become our per-recipient replies.
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from dovecot import Dovecot
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st9001-")


def swaks(port, to, body_marker):
    """Send one message with swaks over LMTP; returns (exit, transcript)."""
    p = subprocess.run(
        ["swaks", "--protocol", "LMTP", "--server", "127.0.0.1:%d" % port,
         "--from", "sender@example.net", "--to", to,
         "--header", "Subject: " + body_marker,
         "--body", "body of %s\n.line with a leading dot\n" % body_marker],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def bodies(dc, user, folder=None):
    return [m for _, m in dc.messages(user, folder)]


with Dovecot(users={"alice": "pw", "bob": "pw"}) as dc:
    for label, store in (("tcp", "lmtp:127.0.0.1:%d" % dc.lmtp_port),
                         ("unix", "lmtp:unix:%s" % dc.lmtp_socket)):
        with Lmtpd(os.path.join(work, label), {"store": store}) as d:
            marker = "two-users-" + label
            rc, out = swaks(d.port, "alice@example.org,bob@example.org", marker)
            t.is_(rc, 0, "%s: swaks delivered to two recipients" % label)
            for user in ("alice", "bob"):
                got = [m for m in bodies(dc, user) if marker.encode() in m]
                t.is_(len(got), 1, "%s: %s's Dovecot INBOX has it once" % (label, user))
                t.ok(got and b"\n.line with a leading dot" in got[0],
                     "%s: %s: dot-stuffing survived the second hop" % (label, user))
                t.ok(got and b"by spamtrap.test (spamtrap) with LMTP" in got[0],
                     "%s: %s: our Received: header is there" % (label, user))

            marker = "spam-folder-" + label
            rc, out = swaks(d.port, "alice+Spam@example.org", marker)
            t.is_(rc, 0, "%s: alice+Spam accepted" % label)
            got = [m for m in bodies(dc, "alice", "Spam") if marker.encode() in m]
            t.is_(len(got), 1, "%s: alice+Spam landed in Dovecot's Spam folder" % label)
            t.ok(not [m for m in bodies(dc, "alice") if marker.encode() in m],
                 "%s: and not in INBOX" % label)

            # held mail goes to Dovecot's Spam folder through the same store
            gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
            c = LmtpClient(d.port)
            c.lhlo()
            r = c.send_mail("s@example.net", ["bob@example.org"],
                            ("Subject: held-%s\r\n\r\n%s\r\n" % (label, gtube)).encode())
            t.is_([x[0] for x in r[3]], [250], "%s: GTUBE accepted" % label)
            t.like(r[3][0][1] if r[3] else "", "Saved to Spam, incident", "%s: held" % label)
            got = [m for m in bodies(dc, "bob", "Spam") if ("held-" + label).encode() in m]
            t.is_(len(got), 1, "%s: the held message is in Dovecot's Spam folder" % label)
            t.ok(got and b"\nX-Spamtrap-Id: " in got[0] and b"\nX-Spam-Score: 10" in got[0],
                 "%s: with X-Spamtrap-Id and the score" % label)
            r = c.send_mail("s@example.net", ["alice@example.org", "nosuchuser@example.org"],
                            b"Subject: mixed-%s\r\n\r\nx\r\n" % label.encode())
            codes = [x[0] for x in r[3]]
            t.is_(codes[:1], [250], "%s: known user 250" % label)
            t.ok(len(codes) == 2 and 500 <= codes[1] < 600,
                 "%s: Dovecot's refusal of an unknown user relayed as 5xx (%s)" % (label, r[3]))
            c.close()

    # Dovecot gone: every recipient 4xx, nothing acknowledged
    port = dc.lmtp_port
    dc.stop()
    with Lmtpd(os.path.join(work, "down"), {"store": "lmtp:127.0.0.1:%d" % port,
                                             "store_timeout": "5s"}) as d:
        c = LmtpClient(d.port)
        c.lhlo()
        r = c.send_mail("s@example.net", ["alice@example.org", "bob@example.org"],
                        b"Subject: down\r\n\r\nx\r\n")
        codes = [x[0] for x in r[3]]
        t.ok(len(codes) == 2 and all(400 <= x < 500 for x in codes),
             "store unreachable: 4xx for every recipient (%s)" % r[3])
        t.is_(c.cmd("NOOP")[0], 250, "and the session goes on")
        c.close()

sys.exit(t.done())
