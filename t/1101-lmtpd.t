#!/usr/bin/python3
# spamtrap-lmtpd over real sockets: delivery into Maildir, pipelining,
# mixed recipients, dot-stuffing, 8-bit bodies, limits, bad input,
# abrupt disconnects, path escapes, several listeners, the log line.
import os
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spamtrap
from lmtpd import Lmtpd, LmtpClient

t = spamtrap.Tap()
work = spamtrap.short_tempdir("st1101-")
users = os.path.join(work, "users")
with open(users, "w") as f:
    f.write("alice@example.org:{PLAIN}x::::::\nbob:{PLAIN}x::::::\ncarol@example.org::\n")

d = Lmtpd(os.path.join(work, "d"), {
    "message_size_limit": "20k",
    "lmtp_line_limit": "1000",
    "passwd_file": users,
}, unix=True)
d.start()

# --- smtplib.LMTP, a real client, one recipient
s = smtplib.LMTP("127.0.0.1", d.port)
s.sendmail("sender@example.net", ["alice@example.org"],
           b"From: sender@example.net\r\nSubject: hello\r\n\r\nfirst message\r\n")
s.quit()
msgs = d.messages("alice@example.org")
t.is_(len(msgs), 1, "smtplib.LMTP: one message in alice's new/")
if msgs:
    m = msgs[0]
    t.ok(m.startswith(b"Return-Path: <sender@example.net>\nDelivered-To: alice@example.org\n"),
         "Return-Path and Delivered-To come first")
    t.like(m.decode(), "by spamtrap.test (spamtrap) with LMTP id ", "our Received: header")
    t.ok(m.endswith(b"Subject: hello\n\nfirst message\n"), "body intact, LF line ends")

# --- two recipients, pipelined in one write, dot-stuffing, 8-bit body
c = LmtpClient(d.port)
t.like(c.greeting[1], "spamtrap.test LMTP", "greeting names the host")
code, text = c.lhlo()
for ext in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 20480", "CHUNKING", "XFORWARD"):
    t.like(text, ext, "LHLO advertises " + ext)
body = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
        b"caf\xc3\xa9 8-bit \xff\r\nlast line")
c.send(b"MAIL FROM:<s@example.net> BODY=8BITMIME SIZE=100\r\n"
       b"RCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
       b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<../../etc@example.org>\r\nDATA\r\n"
       + b"Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n"
       b"caf\xc3\xa9 8-bit \xff\r\nlast line\r\n.\r\n")
replies = [c.reply() for _ in range(6)]
t.is_(replies[0][0], 250, "MAIL with BODY and SIZE accepted")
t.is_([r[0] for r in replies[1:5]], [250, 250, 550, 550], "RCPT replies: two ok, unknown, escape")
t.like(replies[3][1], "5.1.1", "unknown user: 5.1.1")
t.like(replies[4][1], "5.1.3", "path escape: 5.1.3")
t.is_(replies[5][0], 354, "DATA goes ahead with two recipients")
r1, r2 = c.reply(), c.reply()
t.is_((r1[0], r2[0]), (250, 250), "one 250 per accepted recipient")
t.like(r1[1], "<alice@example.org>", "first reply is alice's")
t.like(r2[1], "<bob@example.org>", "second reply is bob's")
t.is_(c.cmd("NOOP")[0], 250, "no extra replies: NOOP answers next")
want = b"Subject: dots\n\n.leading dot\n..two dots\n.\ncaf\xc3\xa9 8-bit \xff\nlast line\n"
for user in ("alice@example.org", "bob@example.org"):
    got = [m for m in d.messages(user) if b"Subject: dots" in m]
    t.is_(len(got), 1, "%s got the message once" % user)
    t.ok(got and got[0].endswith(want), "%s: unstuffed, 8-bit bytes kept" % user)
    t.ok(got and (b"Delivered-To: %s\n" % user.encode()) in got[0], "%s: own Delivered-To" % user)
escaped = [p for p in os.listdir(os.path.join(d.settings["var_dir"], "mail"))
           if "etc" in p or p.startswith(".")]
t.is_(escaped, [], "no directory made for the escaping recipient")

# --- more path escapes at RCPT
for bad in ("a/b@example.org", ".hidden@example.org", "x@../example.org",
            "x@ex/ample.org", "\"a/b\"@example.org", "@example.org"):
    c.cmd("RSET")
    c.cmd("MAIL FROM:<>")
    code, text = c.cmd("RCPT TO:<%s>" % bad)
    t.ok(code in (501, 550) and "5.1.3" in text, "RCPT %s refused with 5.1.3 (%d %s)" % (bad, code, text))
c.cmd("RSET")

# --- limits: an over-long command line, an oversized message
code, text = c.cmd("NOOP " + "x" * 5000)
t.is_((code, text[:5]), (500, "5.5.2"), "over-long line: 500 5.5.2")
t.is_(c.cmd("NOOP")[0], 250, "connection usable after a long line")
big = b"Subject: big\r\n\r\n" + (b"y" * 99 + b"\r\n") * 300
mail, rr, data, res = c.send_mail("s@example.net", ["carol@example.org"], big)
t.is_([r[0] for r in res], [552], "oversized message: 552 for the recipient")
t.like(res[0][1] if res else "", "5.3.4", "oversized: 5.3.4")
t.is_(d.messages("carol@example.org"), [], "oversized message not stored")
code, _ = c.cmd("MAIL FROM:<s@example.net> SIZE=999999")
t.is_(code, 552, "SIZE= over the limit refused at MAIL")
t.is_(c.cmd("NOOP")[0], 250, "connection usable after an oversized message")

# --- garbage, NUL bytes, HELO/EHLO, sequence errors
c.send(b"NO\x00OP\r\n")
t.is_(c.reply()[0], 500, "NUL byte in a command: 500")
t.is_(c.cmd("EHLO x")[0], 500, "EHLO refused (RFC 2033)")
t.is_(c.cmd("HELO x")[0], 500, "HELO refused (RFC 2033)")
t.is_(c.cmd("RCPT TO:<alice@example.org>")[0], 503, "RCPT before MAIL: 503")
code, text = c.cmd("VRFY alice@example.org")
t.is_(code, 252, "VRFY known user: 252")
t.is_(c.cmd("VRFY zed@example.org")[0], 550, "VRFY unknown user: 550")
t.is_(c.cmd("QUIT")[0], 221, "QUIT: 221")
c.close()

# --- an abrupt disconnect in DATA stores nothing, the daemon goes on
before = len(d.messages("carol@example.org"))
c = LmtpClient(d.port)
c.lhlo()
c.cmd("MAIL FROM:<s@example.net>")
c.cmd("RCPT TO:<carol@example.org>")
c.cmd("DATA")
c.send(b"Subject: partial\r\n\r\nthis never ends")
c.sock.shutdown(socket.SHUT_RDWR)
c.close()
t.ok(d.wait_log("lost connection in message data"), "disconnect in DATA logged")
t.is_(len(d.messages("carol@example.org")), before, "partial message not delivered")
tmp = os.path.join(d.maildir("carol@example.org"), "tmp")
t.is_(os.listdir(tmp) if os.path.isdir(tmp) else [], [], "no file left in tmp/")

# --- the unix socket listener, BDAT
u = LmtpClient(path=d.socket_path)
t.is_(u.lhlo()[0], 250, "unix socket listener answers")
u.cmd("MAIL FROM:<s@example.net>")
u.cmd("RCPT TO:<carol@example.org>")
payload = b"Subject: chunked\r\n\r\nin two\r\nchunks\r\n"
u.send(b"BDAT 20\r\n" + payload[:20])
t.is_(u.reply()[0], 250, "BDAT chunk accepted")
u.send(b"BDAT %d LAST\r\n" % (len(payload) - 20) + payload[20:])
t.is_(u.reply()[0], 250, "BDAT LAST delivered")
got = [m for m in d.messages("carol@example.org") if b"chunked" in m]
t.ok(got and got[0].endswith(b"Subject: chunked\n\nin two\nchunks\n"), "BDAT message stored")
u.cmd("QUIT")
u.close()

# --- XFORWARD sets the relay; without it the top Received: header does
c = LmtpClient(d.port)
c.lhlo()
t.is_(c.cmd("XFORWARD NAME=mx.example.net ADDR=192.0.2.7 PROTO=ESMTP HELO=mx")[0], 250,
      "XFORWARD accepted")
c.send_mail("x@example.net", ["bob@example.org"], b"Subject: xf\r\n\r\nx\r\n")
c.send_mail("y@example.net", ["bob@example.org"],
            b"Received: from helo.example (relay.example.com [198.51.100.9])\r\n"
            b"\tby mx.example.org (Postfix) with ESMTP id 1234\r\nSubject: rcvd\r\n\r\nx\r\n")
c.cmd("QUIT")
c.close()
log = d.log()
t.like(log, "from=<x@example.net> to=<bob@example.org> relay=mx.example.net[192.0.2.7]",
       "relay from XFORWARD in the log")
t.like(log, "from=<y@example.net> to=<bob@example.org> relay=relay.example.com[198.51.100.9]",
       "relay from the top Received: header")

# --- the log line: one per recipient, key=value
lines = [l for l in log.splitlines() if " to=<bob@example.org>" in l and "subject" not in l]
t.ok(len(lines) >= 3, "a log line per delivery to bob")
for key in ("sid=", "from=<", "to=<", "relay=", "size=", "score=", "action=", "folder=INBOX",
            "incident=", "delay=", "status=250", "stat="):
    t.ok(lines and key in lines[-1], "log line has " + key)
t.ok("first message" not in log and "leading dot" not in log, "bodies never logged")

# --- the sender/relay history is recorded after the replies: by the time
# the next transaction of the session is read, and at the session's end
DRIVER = spamtrap.helper("qstore-driver")
DB = os.path.join(d.settings["var_dir"], "db")


def pair_count(sender):
    out = subprocess.run([DRIVER, "pair", DB, sender, "127.0.0.1"],
                         stdout=subprocess.PIPE, timeout=30).stdout.decode()
    return out.strip()


c = LmtpClient(d.port)
c.lhlo()
for i in range(2):
    r = c.send_mail("history@example.net", ["alice@example.org"],
                    b"Subject: history %d\r\n\r\nx\r\n" % i)
    t.is_([x[0] for x in r[3]], [250], "history: message %d delivered" % (i + 1))
t.is_(c.cmd("NOOP")[0], 250, "history: the session goes on")
t.is_(pair_count("history@example.net"), "count=2",
      "history: both sightings recorded once the session has read on")
r = c.send_mail("history@example.net", ["alice@example.org"],
                b"Subject: history 3\r\n\r\nx\r\n")
c.close()
for _ in range(100):
    if pair_count("history@example.net") == "count=3":
        break
    time.sleep(0.05)
t.is_(pair_count("history@example.net"), "count=3",
      "history: the last one recorded when the session ends")

# --- a crashed session does not take others down
a = LmtpClient(d.port)
b = LmtpClient(d.port)
a.lhlo()
b.lhlo()
kids = d.children()
t.ok(len(kids) >= 2, "one process per connection (%d)" % len(kids))
os.kill(max(kids), 9)
time.sleep(0.2)
for cl in (a, b):
    try:
        cl.cmd("NOOP")
    except Exception:
        pass        # the killed session's client sees its connection go
c = LmtpClient(d.port)
t.is_(c.lhlo()[0], 250, "new connections served after a session was killed")
r = c.send_mail("s@example.net", ["alice@example.org"], b"Subject: after kill\r\n\r\nx\r\n")
t.is_([x[0] for x in r[3]], [250], "delivery works after a session was killed")
c.close()
a.close()
b.close()

t.is_(d.stop(), 0, "SIGTERM: clean exit")
t.ok(not os.path.exists(d.socket_path), "unix socket removed on exit")
t.is_(d.sanitizer_report(), [], "no sanitizer reports in the daemon's log")
sys.exit(t.done())
