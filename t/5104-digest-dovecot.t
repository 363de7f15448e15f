#!/usr/bin/python3
"""spamtrap digest into a real Dovecot: held mail comes in through
spamtrap-lmtpd (store lmtp: to Dovecot), the digest goes out through
the same store into the INBOX (or notify_address), as
multipart/alternative with a plain and an HTML part that both list
every pending message and say how to release it; once a day unless
--force; a failed delivery leaves the day unclaimed."""

import email
import email.policy
import imaplib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
import trap
from dovecot import Dovecot

t = spamtrap.Tap()
A, B, C, D = ("alice@example.org", "bob@example.org", "carol@example.org",
              "dave@example.org")


def digests(dc, user):
    out = []
    for path, data in dc.messages(user):
        m = email.message_from_bytes(data, policy=email.policy.default)
        if m["X-Spamtrap-Digest"]:
            out.append(m)
    return out


dc = Dovecot(users={"alice": "pw", "bob": "pw", "carol": "pw", "dave": "pw"})
try:
    dc.start()
    store = "lmtp:127.0.0.1:%d" % dc.lmtp_port
    with trap.Trap({"store": store}) as tr:
        subjects = ["Cheap watches", "Grüße aus der Ferne <b>", "Win & prizes"]
        for i, s in enumerate(subjects):
            r = tr.deliver("seller%d@spam.example" % i, [A],
                           trap.message(subject=s, frm="Seller <s%d@spam.example>" % i,
                                        gtube=True, relay="192.0.2.%d" % (20 + i)))
            assert r[0][0] == 250, r
        tr.deliver("x@spam.example", [B], trap.message(subject="For bob", to=B, gtube=True))
        tr.deliver("y@spam.example", [D], trap.message(subject="For dave", to=D, gtube=True))
        t.is_(len(dc.messages("alice", "Spam")), 3, "held mail filed into Dovecot's Spam")
        ids = {i["subject"]: i["id"] for i in tr.incidents(A)}
        t.is_(len(ids), 3, "three incidents for alice")

        tr.st("prefs", A, "notify=yes")
        tr.st("prefs", D, "notify=yes")
        # dave first, with a store that is down: the day must stay unclaimed
        rc, out, err = tr.st("-o", "store=lmtp:127.0.0.1:%d" % spamtrap.free_port(),
                             "digest", "--user", D)
        t.ok(rc == 1 and "delivery to dave@example.org failed" in err,
             "store down: exit 1, the reason")
        t.is_(digests(dc, "dave"), [], "... nothing delivered")

        rc, out, err = tr.st("digest")
        t.is_(rc, 0, "digest exits 0")
        t.like(out, "alice@example.org: digest of 3 pending messages sent to "
               "alice@example.org", "alice's digest reported")
        t.like(out, "dave@example.org: digest of 1 pending message sent",
               "dave's digest sent after the failed attempt")
        t.ok("bob" not in out, "bob (notify off) gets none")
        t.is_(digests(dc, "bob"), [], "... indeed none in bob's INBOX")

        got = digests(dc, "alice")
        t.is_(len(got), 1, "one digest in alice's Dovecot INBOX")
        m = got[0]
        t.is_(m.get_content_type(), "multipart/alternative", "multipart/alternative")
        parts = [p for p in m.iter_parts()]
        t.is_([p.get_content_type() for p in parts], ["text/plain", "text/html"],
              "a text/plain and a text/html part, HTML preferred (last)")
        t.like(str(m["Subject"]), "3 messages waiting for alice@example.org",
               "subject says how many")
        t.is_(m["Auto-Submitted"], "auto-generated", "Auto-Submitted: auto-generated")
        t.ok(m["Message-ID"] and m["Date"], "Message-ID and Date")
        plain = parts[0].get_content()
        html = parts[1].get_content()
        for s in subjects:
            t.like(plain, s, "plain part lists %r" % s)
        t.like(html, "Grüße aus der Ferne &lt;b&gt;", "HTML part escapes the subject")
        t.like(html, "Win &amp; prizes", "... and lists the others")
        for s, i in ids.items():
            t.ok(i in plain and i in html, "both parts carry incident %s" % i)
        for p, text in (("plain", plain), ("html", html)):
            t.like(text, "spamtrap accept", "%s part: release by command" % p)
            t.like(text, "INBOX", "%s part: release by moving to INBOX" % p)
            t.like(text, "Spam", "%s part: names the quarantine folder" % p)
            t.like(text, "1000.0", "%s part: the score" % p)
            t.like(text, "s1@spam.example", "%s part: the sender" % p)
        order = [i["id"] for i in tr.incidents(A)]     # newest first
        t.is_(sorted(order, key=plain.index), order, "listed newest first, as list")

        # a mail client's view: Dovecot's IMAP BODYSTRUCTURE
        im = imaplib.IMAP4("127.0.0.1", dc.imap_port)
        im.login("alice*" + dc.master_user, dc.master_password)
        im.select("INBOX")
        typ, data = im.fetch("1:*", "(BODYSTRUCTURE)")
        bs = b" ".join(d if isinstance(d, bytes) else d[0] for d in data)
        t.ok(b'"alternative"' in bs.lower() and b'"html"' in bs.lower()
             and b'"plain"' in bs.lower(), "IMAP shows alternative plain+html")
        im.logout()

        # once a day
        rc, out, err = tr.st("digest")
        t.ok(rc == 0 and "alice@example.org: today's digest was already sent" in out,
             "a second run today sends nothing")
        t.is_(len(digests(dc, "alice")), 1, "... still one digest")
        rc, out, err = tr.st("digest", "--user", A, "--force")
        t.ok(rc == 0 and "sent to alice@example.org" in out, "--force sends again")
        t.is_(len(digests(dc, "alice")), 2, "... a second digest arrives")

        # --user sends whatever notify says; notify_address redirects
        rc, out, err = tr.st("digest", "--user", B)
        t.ok(rc == 0 and len(digests(dc, "bob")) == 1, "--user bob: sent despite notify off")
        tr.st("prefs", A, "notify_address=carol@example.org")
        rc, out, err = tr.st("digest", "--user", A, "--force")
        t.like(out, "sent to carol@example.org", "notify_address: sent there")
        cm = digests(dc, "carol")
        t.ok(len(cm) == 1 and "alice@example.org" in str(cm[0]["Subject"]),
             "carol's INBOX has alice's digest")
        rc, out, err = tr.st("digest", "--user", C)
        t.ok(rc == 0 and "nothing pending, no digest sent" in out,
             "nothing pending: nothing sent")
        rc, out, err = tr.st("digest", "--user", A, "--stdout")
        t.ok(rc == 0 and "multipart/alternative" in out and len(digests(dc, "carol")) == 1,
             "--stdout prints, delivers nothing")
        rc, out, err = tr.st("digest", "--user", "bad user")
        t.ok(rc == 1 and "bad address" in err, "digest: bad address")
        rc, out, err = tr.st("digest", "extra")
        t.is_(rc, 2, "digest: stray argument")
        rc, out, err = tr.st("digest", "--help")
        t.ok(rc == 0 and "--force" in out, "digest --help")
finally:
    dc.stop()
    dc.cleanup()

sys.exit(t.done())
