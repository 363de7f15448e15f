"""Quarantine test helpers (Python 3 stdlib only): hold messages the way
lmtpd does (t/helpers/qa-hold), read incidents back, run spamtrap-folderd
and the spamtrap command.

    from quarantine import Db, Folderd, wait_until
    db = Db(db_dir)
    iid = db.hold("alice@example.org", "s@spam.example", "Spam", spam_dir, msg)
    db.status(iid)   -> "pending"
    db.history(iid)  -> ["lmtpd lmtp held", ...]
"""

import os
import signal
import subprocess
import time

import spamtrap


def message(subject, sender="s@spam.example", msgid=None, body="spam spam\n"):
    msgid = msgid or "<%s.%d@test>" % (subject.replace(" ", "."), time.time_ns())
    return ("From: %s\nTo: user@example.org\nSubject: %s\nMessage-ID: %s\n\n%s"
            % (sender, subject, msgid, body)).encode()


def wait_until(fn, timeout=10.0, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(step)


class Db:
    def __init__(self, db_dir):
        self.dir = db_dir
        self.helper = spamtrap.helper("qa-hold")

    def _run(self, *args, stdin=None):
        r = subprocess.run([self.helper] + list(args), input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        return r

    def hold(self, user, sender, folder, folder_dir, msg, age=0):
        """Hold MSG for USER, filed into FOLDER_DIR (Maildir folder, or "-":
        returns (id, the message with its X-Spamtrap-Id))."""
        r = self._run("hold", self.dir, user, sender, folder, folder_dir,
                      str(age), stdin=msg)
        if r.returncode != 0:
            raise RuntimeError("qa-hold: %s" % r.stderr.decode())
        if folder_dir == "-":
            iid = [l[3:] for l in r.stderr.decode().splitlines()
                   if l.startswith("id=")][0]
            return iid, r.stdout
        return r.stdout.decode().strip()

    def show(self, iid):
        r = self._run("show", self.dir, iid)
        return r.stdout.decode().split() if r.returncode == 0 else None

    def status(self, iid):
        s = self.show(iid)
        return s[0] if s else None

    def history(self, iid):
        r = self._run("history", self.dir, iid)
        return r.stdout.decode().splitlines()

    def token(self, iid):
        return self._run("token", self.dir, iid).stdout.decode().strip()

    def allowed(self, user, sender):
        return self._run("allow", self.dir, user, sender).returncode == 0

    def count(self, user, status):
        return int(self._run("count", self.dir, user, status).stdout.decode().strip())


class Folderd:
    """A private spamtrap-folderd with settings given as -o overrides."""

    def __init__(self, workdir, settings):
        self.workdir = workdir
        self.settings = dict(settings)
        self.log_path = os.path.join(workdir, "folderd.log")
        self.proc = None

    def start(self):
        args = [os.path.join(spamtrap.bin_dir(), "spamtrap-folderd")]
        for k, v in self.settings.items():
            args += ["-o", "%s=%s" % (k, v)]
        self.logf = open(self.log_path, "ab")
        env = dict(os.environ)
        env["SPAMTRAP_CONF"] = ""
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL, env=env)
        return self

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, text, timeout=10):
        return wait_until(lambda: text in self.log(), timeout)


def spamtrap_cmd(settings, *args, stdin=None, env=None):
    """Run bin/spamtrap with -o settings; returns CompletedProcess."""
    argv = [os.path.join(spamtrap.bin_dir(), "spamtrap")]
    for k, v in settings.items():
        argv += ["-o", "%s=%s" % (k, v)]
    e = dict(os.environ)
    e["SPAMTRAP_CONF"] = ""
    if env:
        e.update(env)
    return subprocess.run(argv + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, env=e)
