#!/usr/bin/python3
"""Write the malformed-message corpus.

    python3 t/data/malformed/generate.py [DIR]

writes each case as DIR/NN-name.eml (default DIR: this directory, where
*.eml is ignored by git: the cases are this script, about 3 MB once
written).  Line ends are LF unless the case is about line ends.  The
output is the same on every run.  t/1110-lmtpd-malformed.t writes them
into its scratch directory and delivers every one through spamtrap-lmtpd;
the small ones are also seeds of the message fuzz target
(t/fuzz/corpus/message).
"""
import base64
import os
import sys

HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
H = (b"From: Sender <sender@example.net>\nTo: rcpt@example.org\n"
     b"Date: Sun, 22 Nov 2026 08:00:00 +0000\nMessage-ID: <m@example.net>\n")


def mp(boundary, parts, ctype=b"multipart/mixed", close=True):
    out = b""
    for p in parts:
        out += b"--" + boundary + b"\n" + p + b"\n"
    if close:
        out += b"--" + boundary + b"--\n"
    return out


def nested(depth):
    inner = b"Content-Type: text/plain\n\ninnermost text\n"
    for i in range(depth):
        b = b"n%d" % i
        inner = (b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\n\n"
                 + mp(b, [inner]))
    return inner


def nested_rfc822(depth):
    inner = b"Subject: bottom\n\nbottom text\n"
    for i in range(depth):
        inner = (b"Subject: level %d\nContent-Type: message/rfc822\n\n" % i) + inner
    return inner


CASES = {
    # MIME boundaries
    "boundary-never-closed": H + b"Subject: unclosed\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"abc\"\n\n"
    + mp(b"abc", [b"Content-Type: text/plain\n\npart one",
                  b"Content-Type: text/html\n\n<p>part two"], close=False),
    "boundary-missing-param": H + b"Subject: no boundary\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/alternative\n\n--x\nContent-Type: text/plain\n\nhello\n--x--\n",
    "boundary-mismatch": H + b"Subject: wrong boundary\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"declared\"\n\n"
    + mp(b"other", [b"Content-Type: text/plain\n\nnever split"]),
    "boundary-empty": H + b"Subject: empty boundary\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\ntext\n----\n",
    "boundary-same-nested": H + b"Subject: same boundary inside\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"s\"\n\n--s\n"
    b"Content-Type: multipart/mixed; boundary=\"s\"\n\n--s\nContent-Type: text/plain\n\n"
    b"inner\n--s--\n--s--\n",
    "boundary-long": H + b"Subject: long boundary\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"" + b"b" * 5000 + b"\"\n\n"
    + mp(b"b" * 5000, [b"Content-Type: text/plain\n\nlong boundary text"]),
    "preamble-only": H + b"Subject: preamble only\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"p\"\n\nonly a preamble, no parts\n",
    # encodings
    "base64-garbage": H + b"Subject: bad base64\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
    b"!!!not*base64@@@\n====\nQUJD\nA\n" + base64.b64encode(b"valid tail") + b"\n",
    "base64-truncated": H + b"Subject: truncated base64\nMIME-Version: 1.0\n"
    b"Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n"
    + base64.b64encode(b"<html><body>" + b"x" * 300)[:-3] + b"\n",
    "qp-broken": H + b"Subject: bad quoted-printable\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    b"=ZZ =4 =\n=E2=82 soft=\nbreak =\n=3D=3d=\n",
    "unknown-cte": H + b"Subject: unknown encoding\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain\nContent-Transfer-Encoding: x-unknown-42\n\nbody\n",
    "uuencode": H + b"Subject: uuencoded\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n"
    b"begin 644 f.txt\n#86)C\n`\nend\n",
    "charset-unknown": H + b"Subject: unknown charset\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=x-no-such-charset\n\n\xe4\xf6\xfc text\n",
    "charset-utf16-lie": H + b"Subject: utf-16 that is not\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=utf-16\n\nodd length\x00\n",
    "invalid-utf8": H + b"Subject: invalid \xc3\x28 utf-8\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=utf-8\n\n\xff\xfe\xc0\xaf\xed\xa0\x80 bytes\n",
    "rfc2047-garbage": H + b"Subject: =?utf-8?B?!!!?= =?x-none?Q?a=ZZ?= =?utf-8?q?unterminated\n"
    b"To: =?utf-8?b?" + b"A" * 3000 + b"?= <x@example.org>\n\nbody\n",
    "html-unclosed": H + b"Subject: html\nMIME-Version: 1.0\nContent-Type: text/html\n\n"
    b"<html><body><a href=\"http://x.example/<b><!-- never closed <script>" + b"<div>" * 2000 + b"\n",
    # 8-bit and NUL
    "8bit-headers": b"From: J\xf6rg <j\xf6rg@ex\xe4mple.net>\nTo: r\xfccpt@example.org\n"
    b"Subject: \xe4\xf6\xfc 8-bit subject \xff\nX-Raw: \x80\x81\x82\n\n8-bit\xe9 body\n",
    "nul-in-body": H + b"Subject: NUL bytes\n\nbefore\x00after\n\x00\x00\x00\nend\n",
    "nul-in-header": H + b"Subject: NUL \x00 in header\nX-Nul: a\x00b\n\nbody\n",
    "control-chars": H + b"Subject: \x01\x02\x1b[31mred\x7f\n\n\x07\x08\x0b\x0c body\n",
    # sizes
    "huge-header-line": H + b"Subject: huge header\nX-Huge: " + b"h" * 300000 + b"\n\nbody\n",
    "many-headers": H + b"Subject: many headers\n" + b"".join(
        b"X-H%d: value %d\n" % (i, i) for i in range(20000)) + b"\nbody\n",
    "huge-folded-header": H + b"Subject: folded\nX-Fold: start\n" + b" more\n" * 50000 + b"\nbody\n",
    "long-body-line": H + b"Subject: long line\n\n" + b"w" * 2000000 + b"\n",
    "many-parts": H + b"Subject: many parts\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"m\"\n\n" + mp(
        b"m", [b"Content-Type: text/plain\n\npart %d" % i for i in range(5000)]),
    "deep-multipart": H + b"Subject: deep\nMIME-Version: 1.0\n" + nested(300),
    "deep-rfc822": H + b"MIME-Version: 1.0\nContent-Type: message/rfc822\n\n" + nested_rfc822(300),
    # missing things
    "no-headers": b"\njust a body after an empty line\n",
    "no-blank-line": b"Subject: headers only, no body, no blank line",
    "only-body-text": b"this is not a header line\nneither is this\n",
    "empty-message": b"",
    "no-from-date-msgid": b"Subject: nothing else\n\nbody\n",
    "header-no-colon": H + b"Subject: x\nThis line has no colon\nX-After: y\n\nbody\n",
    "continuation-first": b" continuation before any field\n" + H + b"Subject: c\n\nbody\n",
    "content-type-garbage": H + b"Subject: ct\nMIME-Version: 1.0\n"
    b"Content-Type: ;;;=\"\"\"/; charset=\"; boundary\n\nbody\n",
    "duplicate-content-type": H + b"Subject: two types\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=d\n\n--d\n\nx\n--d--\n",
    # line ends and LMTP framing
    "bare-cr": H.replace(b"\n", b"\r") + b"Subject: bare CR\r\rbody\rmore\r",
    "mixed-line-ends": H + b"Subject: mixed\r\n\r\nline\r\nline\nline\rline\n\r\n",
    "no-final-newline": H + b"Subject: no final newline\n\nlast line without newline",
    "dot-lines": H + b"Subject: dots\n\n.\n..\n.leading dot\n. \n.\r\n",
    "mbox-from-line": b"From sender@example.net Sun Nov 22 08:00:00 2026\n" + H + b"Subject: mbox\n\n>From quoted\nFrom unquoted\n",
}


def main():
    os.makedirs(HERE, exist_ok=True)
    for name in os.listdir(HERE):
        if name.endswith(".eml"):
            os.unlink(os.path.join(HERE, name))
    for i, (name, data) in enumerate(CASES.items(), 1):
        with open(os.path.join(HERE, "%02d-%s.eml" % (i, name)), "wb") as f:
            f.write(data)
    print("%d cases written" % len(CASES))


if __name__ == "__main__":
    main()
