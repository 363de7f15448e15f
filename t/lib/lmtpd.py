"""Run spamtrap-lmtpd in tests and talk LMTP to it (Python 3 stdlib only).

    from lmtpd import Lmtpd, LmtpClient
    with Lmtpd(workdir, {"message_size_limit": "10k"}) as d:
        c = LmtpClient(d.port)
        c.lhlo()
        replies = c.send_mail("s@example.org", ["a@example.org"], b"Subject: x\r\n\r\nhi\r\n")

LmtpClient reads one reply per accepted recipient after DATA, which
Python's smtplib.LMTP does not do for several recipients.
"""

import os
import signal
import socket
import subprocess
import time

import spamtrap


class LmtpError(Exception):
    pass


class Lmtpd:
    """A private spamtrap-lmtpd on a free loopback port.

    workdir holds the config file, the log and var/ (Maildir, db).
    settings are written to the config file; extra_args go on the
    command line.
    """

    def __init__(self, workdir, settings=None, extra_args=(), unix=False):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = spamtrap.free_port()
        self.socket_path = os.path.join(workdir, "lmtp.sock") if unix else None
        self.conf = os.path.join(workdir, "spamtrap.conf")
        self.log_path = os.path.join(workdir, "lmtpd.log")
        self.settings = {
            "var_dir": os.path.join(workdir, "var"),
            "lmtp_listen": "127.0.0.1:%d" % self.port
            + (", unix:%s" % self.socket_path if unix else ""),
            "myhostname": "spamtrap.test",
            # the shipped rules only: tests that are about scoring say so
            "rules_dir": os.path.join(spamtrap.top(), "rules", "shipped"),
        }
        self.settings.update(settings or {})
        self.extra_args = list(extra_args)
        self.proc = None

    def write_conf(self, settings=None):
        if settings:
            self.settings.update(settings)
        with open(self.conf, "w") as f:
            f.write("# written by the test\n")
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))

    def start(self):
        self.write_conf()
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(spamtrap.bin_dir(), "spamtrap-lmtpd"), "-c", self.conf]
            + self.extra_args,
            stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise LmtpError("spamtrap-lmtpd exited with %d:\n%s"
                                % (self.proc.returncode, self.log()))
            try:
                # wait for the greeting: then the probe's session exists
                probe = socket.create_connection(("127.0.0.1", self.port), 5)
                probe.recv(512)
                probe.close()
            except OSError:
                time.sleep(0.05)
                continue
            # the probe's session process counts against
            # lmtp_max_connections until it has gone
            while self.children() and time.time() < deadline:
                time.sleep(0.02)
            return self
        raise LmtpError("spamtrap-lmtpd did not listen:\n" + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def signal(self, sig):
        self.proc.send_signal(sig)

    def children(self):
        """pids of the session processes."""
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def sanitizer_report(self):
        """Lines of the log where ASan, UBSan or LSan spoke (make asan)."""
        marks = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                 "UndefinedBehaviorSanitizer")
        return [l for l in self.log().splitlines() if any(m in l for m in marks)]

    def wait_log(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def maildir(self, user, folder=None):
        d = os.path.join(self.settings["var_dir"], "mail", user)
        if folder:
            d = os.path.join(d, "." + folder)
        return d

    def messages(self, user, folder=None):
        """Contents (bytes) of the messages in new/ and cur/, by name."""
        out = []
        base = self.maildir(user, folder)
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class LmtpClient:
    """A small LMTP client that shows every reply as (code, text)."""

    def __init__(self, port=None, path=None, timeout=20):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.greeting = self.reply()

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise LmtpError("connection closed; unread: %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """One reply, multi-line joined with newlines: (code, text)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def lhlo(self, name="client.test"):
        return self.cmd("LHLO " + name)

    def send_mail(self, sender, rcpts, body, params=""):
        """One transaction: returns (mail_reply, [rcpt_replies], data_reply,
        [per-recipient replies]) — the last only for accepted recipients."""
        mail = self.cmd("MAIL FROM:<%s>%s" % (sender, params))
        rr = [self.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        accepted = sum(1 for c, _ in rr if c == 250)
        data = self.cmd("DATA")
        if data[0] != 354:
            return mail, rr, data, []
        self.send(dot_stuff(body) + b".\r\n")
        return mail, rr, data, [self.reply() for _ in range(accepted)]

    def closed(self, timeout=5):
        """True when the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def dot_stuff(body):
    """CRLF line ends and leading dots doubled, as a client sends DATA."""
    if isinstance(body, str):
        body = body.encode()
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)
