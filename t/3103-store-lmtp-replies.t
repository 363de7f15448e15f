#!/usr/bin/python3
"""3103-store-lmtp-replies: the lmtp: store against scripted LMTP replies.

A small LMTP server in this script answers each command from a script,
so the cases a real Dovecot rarely produces are covered: mixed RCPT
replies, replies without enhanced status codes, a 4xx after DATA, a
connection that drops between the per-recipient replies, DATA and MAIL
refused.  It also records the bytes of the DATA phase, to check the
wire format (CRLF, dot-stuffing, one terminating ".").
"""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import spamtrap                     # noqa: E402

t = spamtrap.Tap()
HELPER = spamtrap.helper("store-deliver")

BODY = (b"Subject: wire\n"
        b"\n"
        b".starts with a dot\n"
        b"..two\n"
        b".\n"
        b"8-bit \xc3\xa4\n"
        b"last\n")
WIRE = (b"Subject: wire\r\n"
        b"\r\n"
        b"..starts with a dot\r\n"
        b"...two\r\n"
        b"..\r\n"
        b"8-bit \xc3\xa4\r\n"
        b"last\r\n"
        b".\r\n")


class FakeLMTP:
    """Serve one connection by SCRIPT: "mail", "data" (replies), "rcpt",
    "final" (lists, used up in order; after DATA one "final" reply per
    accepted recipient, None closes the connection there).  The message
    bytes of each transaction go to .data (a list)."""

    def __init__(self, script):
        self.script = script
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.commands = []
        self.data = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        f = conn.makefile("rb")
        rcpt = list(self.script.get("rcpt", []))
        final = list(self.script.get("final", []))
        accepted = 0

        def send(line):
            conn.sendall(line.encode() + b"\r\n")
        try:
            send("220 fake LMTP")
            while True:
                line = f.readline()
                if not line:
                    break
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "LHLO":
                    conn.sendall(b"250-fake\r\n250-PIPELINING\r\n"
                                 b"250 ENHANCEDSTATUSCODES\r\n")
                elif verb == "MAIL":
                    accepted = 0
                    send(self.script.get("mail", "250 2.1.0 ok"))
                elif verb == "RCPT":
                    reply = rcpt.pop(0) if rcpt else "250 2.1.5 ok"
                    if reply.startswith("2"):
                        accepted += 1
                    send(reply)
                elif verb == "DATA":
                    reply = self.script.get("data", "354 go ahead")
                    send(reply)
                    if not reply.startswith("354"):
                        continue
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        chunk = f.readline()
                        if not chunk:
                            return
                        data += chunk
                    self.data.append(data)
                    for _ in range(accepted):
                        reply = final.pop(0) if final else "250 2.0.0 ok"
                        if reply is None:
                            return
                        send(reply)
                elif verb == "RSET":
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    break
                else:
                    send("500 5.5.1 what")
        finally:
            conn.close()
            self.sock.close()


def deliver(port, rcpts, *opts):
    r = subprocess.run([HELPER, "-o", "store=lmtp:127.0.0.1:%d" % port,
                        "-o", "store_timeout=5"] + list(opts) + [MSGFILE] +
                       rcpts,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if r.returncode not in (0, 1):
        t.ok(False, "store-deliver exit status %d: %s"
             % (r.returncode, r.stderr.decode("utf-8", "replace")))
    rows = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        f = line.split("\t")
        rows.append(dict(address=f[0], kind=f[1], code=int(f[2]),
                         status=f[3], location=f[4], error=f[5]))
    return rows


def summary(rows):
    return [(r["kind"], r["code"], r["status"]) for r in rows]


if not os.path.exists(HELPER):
    print("1..1")
    print("not ok 1 - %s is built (run make)" % HELPER)
    sys.exit(1)

workdir = spamtrap.short_tempdir("st-3103-")
MSGFILE = os.path.join(workdir, "message")
with open(MSGFILE, "wb") as f:
    f.write(BODY)
try:
    # mixed RCPT replies; the one accepted is stored; the wire format
    srv = FakeLMTP({"rcpt": ["250 2.1.5 ok", "452 4.2.2 mailbox full",
                             "550 no such user"],
                    "final": ["250 2.0.0 saved"]})
    rows = deliver(srv.port, ["a@example.org", "b@example.org=Spam",
                              "c@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("ok", 250, "2.0.0"),
                          ("temporary", 452, "4.2.2"),
                          ("permanent", 550, "5.2.0")],
          "mixed RCPT replies; 550 without a status gets 5.2.0")
    t.like(rows[1]["error"] if len(rows) > 1 else None, "452 4.2.2 mailbox full",
           "the downstream text is in the reason")
    t.is_(srv.commands[1:5], ["MAIL FROM:<sender@example.net>",
                              "RCPT TO:<a@example.org>",
                              "RCPT TO:<b+Spam@example.org>",
                              "RCPT TO:<c@example.org>"],
          "envelope as sent, folder as +detail")
    t.is_(srv.data, [WIRE], "DATA on the wire: CRLF, dot-stuffed, one final dot")

    # replies after DATA: 4xx stays 4xx; text without status; a dropped
    # connection before the last reply
    srv = FakeLMTP({"final": ["451 4.3.0 try later", "250 saved",
                              None]})
    rows = deliver(srv.port, ["a@example.org", "b@example.org",
                              "c@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("temporary", 451, "4.3.0"), ("ok", 250, "2.0.0"),
                          ("temporary", 0, "-")],
          "after DATA: 451 temporary, 250 stored, no reply temporary")
    t.like(rows[2]["error"] if len(rows) > 2 else None, "replies after DATA",
           "no reply: reason")

    # a multi-line final reply
    srv = FakeLMTP({"final": ["250-2.0.0 first line\r\n250 2.0.0 second"]})
    rows = deliver(srv.port, ["a@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("ok", 250, "2.0.0")], "multi-line reply")

    # DATA refused: every accepted recipient gets that reply
    srv = FakeLMTP({"data": "554 5.6.0 no thanks", "final": []})
    rows = deliver(srv.port, ["a@example.org", "b@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("permanent", 554, "5.6.0")] * 2,
          "DATA refused: permanent for all")

    # a 250 to the DATA command itself is not a delivery
    srv = FakeLMTP({"data": "250 2.0.0 whatever", "final": []})
    rows = deliver(srv.port, ["a@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("temporary", 0, "-")],
          "250 to DATA (no message sent): temporary, never stored")
    t.like(rows[0]["error"] if rows else None, "unexpected reply to DATA",
           "250 to DATA: reason")

    # MAIL FROM refused (temporary): every recipient
    srv = FakeLMTP({"mail": "451 4.3.0 busy", "final": []})
    rows = deliver(srv.port, ["a@example.org", "b@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("temporary", 451, "4.3.0")] * 2,
          "MAIL FROM refused: temporary for all")
    t.ok(not any(c.startswith("RCPT") for c in srv.commands),
         "MAIL FROM refused: no RCPT sent")

    # nothing accepted: no DATA
    srv = FakeLMTP({"rcpt": ["550 5.1.1 no", "550 5.1.1 no"], "final": []})
    rows = deliver(srv.port, ["a@example.org", "b@example.org"])
    srv.thread.join(10)
    t.is_(summary(rows), [("permanent", 550, "5.1.1")] * 2,
          "no recipient accepted: permanent")
    t.ok("DATA" not in srv.commands, "no recipient accepted: no DATA sent")

    # one message per recipient: transactions on one connection (the
    # server accepts only one)
    srv = FakeLMTP({"final": ["250 2.0.0 one", "452 4.2.2 full",
                              "250 2.0.0 three"]})
    rows = deliver(srv.port, ["a@example.org", "b@example.org",
                              "c@example.org=Spam"], "-s")
    srv.thread.join(10)
    t.is_(summary(rows), [("ok", 250, "2.0.0"), ("temporary", 452, "4.2.2"),
                          ("ok", 250, "2.0.0")],
          "three transactions on one connection")
    t.is_([c.split(":")[0] for c in srv.commands if c[:4] in ("MAIL", "RSET")],
          ["MAIL FROM", "RSET", "MAIL FROM", "RSET", "MAIL FROM"],
          "RSET between the transactions")
    t.is_(srv.data, [WIRE] * 3, "the message sent three times")

    # a quoted local part for a folder with a space
    srv = FakeLMTP({"final": ["250 2.0.0 saved"]})
    rows = deliver(srv.port, ['a@example.org=My "Folder"'])
    srv.thread.join(10)
    t.is_(srv.commands[2] if len(srv.commands) > 2 else None,
          'RCPT TO:<"a+My \\"Folder\\""@example.org>',
          "folder with a space and quotes: quoted local part")
finally:
    spamtrap.remove_tree(workdir)

sys.exit(t.done())
