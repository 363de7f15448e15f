#!/usr/bin/python3
# qstore under concurrent writers and kill -9:
#  1. four writer processes at once: every committed incident is there,
#     the check is clean;
#  2. four writers running, two killed with SIGKILL mid-transaction: each
#     survivor goes on, or (when the dead held a database mutex) exits by
#     its watchdog with EX_TEMPFAIL; then the rest are killed too;
#  2b. a writer waiting for locks that a killed process held goes on
#     without recovery (lock timeout, failchk);
#  2c. a process that died idle forces recovery at the next open; a
#     writer running meanwhile sees DB_RUNRECOVERY, reopens, goes on;
#  3. the next open recovers: every incident a writer reported committed
#     is there, qstore_check, db_verify and "spamtrap db check" are clean;
#  4. new writers work in the recovered environment.
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

top = os.environ.get("SPAMTRAP_TOP", os.getcwd())
bindir = os.environ.get("SPAMTRAP_BIN", os.path.join(top, "bin"))
STUCK = 4          # db_stuck_timeout for the writers, seconds

n = 0
failed = 0


def ok(cond, name, diag=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in str(diag).splitlines():
            print("#   " + line)
    sys.stdout.flush()
    return cond


def find_helper(name):
    cands = [os.path.join(bindir, "..", "t", "helpers", name),
             os.path.join(top, "build", "t", "helpers", name)]
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    print("Bail out! %s not built (make)" % name)
    sys.exit(1)


driver = find_helper("qstore-driver")
verify = shutil.which("db5.3_verify") or shutil.which("db_verify")
env = dict(os.environ, QSTORE_STUCK_TIMEOUT=str(STUCK), QSTORE_LOCK_TIMEOUT="1")
tmp = tempfile.mkdtemp(prefix="qstore-conc.")
db = os.path.join(tmp, "db")
procs = []


def start_writer(user, rounds):
    idfile = os.path.join(tmp, "%s.ids" % user)
    out = open(idfile, "a")
    err = open(os.path.join(tmp, "%s.err" % user), "a")
    p = subprocess.Popen([driver, "write", db, user, str(rounds)],
                         stdout=out, stderr=err, env=env)
    out.close()
    err.close()
    procs.append(p)
    return p, idfile


def count(idfile):
    with open(idfile) as f:
        return sum(1 for line in f if line.strip())


def run(args, timeout=60, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True,
                          env=env, timeout=timeout)


def all_ids():
    ids = []
    for f in sorted(os.listdir(tmp)):
        if f.endswith(".ids"):
            with open(os.path.join(tmp, f)) as fh:
                ids += [line.strip() for line in fh if line.strip()]
    return ids


def check_clean(what):
    r = run([driver, "check", db])
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    ok(r.returncode == 0 and "problems=0" in last,
       "%s: qstore_check clean (%s)" % (what, last), r.stdout + r.stderr)
    ids = all_ids()
    r = run([driver, "exists", db], stdin="\n".join(ids) + "\n")
    ok(r.returncode == 0,
       "%s: all %d incidents reported committed are there" % (what, len(ids)),
       r.stdout[-2000:] + r.stderr)
    return last


try:
    # 1. concurrent writers
    writers = [start_writer("w%d@example.org" % i, 150) for i in range(4)]
    codes = [p.wait(timeout=60) for p, _ in writers]
    ok(codes == [0, 0, 0, 0], "four concurrent writers finish", codes)
    ok(sum(count(f) for _, f in writers) == 600,
       "600 incidents committed")
    last = check_clean("after concurrent writers")
    ok("incidents=600 " in last, "exactly 600 incidents", last)

    # 2. kill -9 under load
    writers = [start_writer("k%d@example.org" % i, 0) for i in range(4)]
    deadline = time.time() + 20
    while time.time() < deadline and \
            min(count(f) for _, f in writers) < 20:
        time.sleep(0.05)
    ok(min(count(f) for _, f in writers) >= 20, "writers under way")
    for p, _ in writers[:2]:
        p.send_signal(signal.SIGKILL)
        p.wait()
    before = [count(f) for _, f in writers[2:]]
    deadline = time.time() + STUCK + 10
    fate = ["?", "?"]
    while time.time() < deadline and "?" in fate:
        for i, (p, f) in enumerate(writers[2:]):
            if fate[i] != "?":
                continue
            if p.poll() is not None:
                fate[i] = "exit %d" % p.returncode
            elif count(f) >= before[i] + 20:
                fate[i] = "went on"
        time.sleep(0.05)
    ok(all(f in ("went on", "exit 75") for f in fate),
       "survivors go on or leave by the watchdog: %s" % ", ".join(fate),
       fate)
    for p, _ in writers[2:]:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()

    # 2b. locks of a dead process are released by failchk
    hold = subprocess.Popen([driver, "hold", db], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    procs.append(hold)
    line = hold.stdout.readline().strip()
    ok(line == "holding", "a process holds locks in an open transaction",
       line)
    w, idfile = start_writer("h@example.org", 20)
    time.sleep(1.5)
    # (it may commit an incident or two on pages the holder did not
    # touch, but not the site table entry of its first round)
    ok(w.poll() is None and count(idfile) <= 2,
       "a writer waits for those locks (%d ids)" % count(idfile))
    hold.send_signal(signal.SIGKILL)
    hold.wait()
    t0 = time.time()
    code = w.wait(timeout=STUCK + 20)
    took = time.time() - t0
    ok(code == 0 and count(idfile) == 20,
       "after kill -9 of the holder the writer finishes (%.1f s)" % took,
       "exit %s, %d ids" % (code, count(idfile)))
    ok(took < STUCK, "by failchk, before any watchdog (%.1f s)" % took)

    # 2c. recovery under a running writer
    idle = subprocess.Popen([driver, "idle", db], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    procs.append(idle)
    ok(idle.stdout.readline().strip() == "idle", "an idle process joins")
    w, idfile = start_writer("r@example.org", 0)
    deadline = time.time() + 20
    while time.time() < deadline and count(idfile) < 50:
        time.sleep(0.02)
    idle.send_signal(signal.SIGKILL)
    idle.wait()
    r = run([driver, "write", db, "c@example.org", "5"])
    ok(r.returncode == 0, "the next opener recovers and writes",
       r.stdout[-500:] + r.stderr[-2000:])
    after = count(idfile)
    deadline = time.time() + 20
    while time.time() < deadline and w.poll() is None and \
            count(idfile) < after + 50:
        time.sleep(0.02)
    with open(os.path.join(tmp, "r@example.org.err")) as f:
        err = f.read()
    ok(w.poll() is None and count(idfile) >= after + 50,
       "the writer running meanwhile goes on",
       "exit %s, %d ids\n%s" % (w.poll(), count(idfile), err[-2000:]))
    ok("needs recovery; reopening" in err,
       "after reopening its environment", err[-2000:])
    w.send_signal(signal.SIGKILL)
    w.wait()

    # 3. recovery
    t0 = time.time()
    check_clean("after kill -9")
    ok(time.time() - t0 < 30, "recovery and check within 30 s")
    if verify:
        bad = []
        for f in sorted(os.listdir(db)):
            if f.endswith(".db") or f.endswith(".idx"):
                r = run([verify, "-h", db, f])
                if r.returncode != 0:
                    bad.append("%s: %s" % (f, r.stdout + r.stderr))
        ok(not bad, "db_verify clean on every database", "\n".join(bad))
    else:
        ok(False, "db5.3_verify installed (package db5.3-util)")
    r = run([os.path.join(bindir, "spamtrap"), "-o", "db_dir=" + db,
             "db", "check"])
    ok(r.returncode == 0 and " 0 problems" in r.stdout,
       "spamtrap db check: %s" % r.stdout.strip(), r.stdout + r.stderr)

    # 4. life goes on
    writers = [start_writer("n%d@example.org" % i, 40) for i in range(2)]
    codes = [p.wait(timeout=60) for p, _ in writers]
    ok(codes == [0, 0], "new writers work after recovery", codes)
    check_clean("at the end")
    logs = os.listdir(db)
    ok(any(f.startswith("log.") for f in logs), "transaction log present")
    modes = {f: os.stat(os.path.join(db, f)).st_mode & 0o777 for f in logs
             if f.endswith(".db") or f.endswith(".idx") or f == "secret"}
    ok(all(m & 0o007 == 0 for m in modes.values()),
       "no database file is world-accessible",
       " ".join("%s=%o" % kv for kv in sorted(modes.items())))
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if failed == 0 and not os.environ.get("QSTORE_TEST_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept %s" % tmp)

print("1..%d" % n)
sys.exit(1 if failed else 0)
