#!/usr/bin/python3
# 2104-rules-hyperscan - the Hyperscan pass and the scoring threads
# change how fast the rules run, never what they find: over a sample of
# the SpamAssassin public corpus scored with the full Debian SpamAssassin
# rule set, the hits with the pass (rules_hyperscan = yes, the default)
# are exactly the hits without it (every body, rawbody and uri regex run
# on every text, every header regex on its header string), and the hits with two scoring threads (rules_threads =
# 2, the default; the second thread is seen doing its share) are the
# hits with one.  The sub-rules left out where they cannot change the
# result (long regexes: __FILL_THIS_FORM_LONG2 and the like) change no
# score: "score --json", which leaves them out, reports for each message
# exactly the scoring rules "score --hits", which runs every rule, finds.
# Also: lint reports the pass, a second load takes its databases from
# rules_cache_dir, and a damaged cache file is compiled again.
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import spamtrap  # noqa: E402

SAMPLE = int(os.environ.get("HYPERSCAN_SAMPLE", "1000"))
RULES = [os.path.join(spamtrap.top(), "rules", "shipped"),
         "/usr/share/spamassassin", "/etc/spamassassin"]
SPAMTRAP = os.path.join(spamtrap.bin_dir(), "spamtrap")
t = spamtrap.Tap()


def run(args, cache, **kw):
    return subprocess.run([SPAMTRAP, "-c", "/dev/null",
                           "-o", "rules_cache_dir=" + cache] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, errors="replace", **kw)


def lint(cache):
    r = run(["rules", "lint"] + RULES, cache)
    m = re.search(r"Hyperscan pass says they may match: header (\d+), "
                  r"body (\d+), rawbody (\d+), uri (\d+) \((\d+) databases "
                  r"from the cache, (\d+) compiled", r.stdout)
    return r, m


def hits(cache, files, hyperscan, threads=2, scoring=False):
    """Per message, the rules "score --hits" finds (every rule run), or
    with SCORING those "score --json" lists (the scoring rules)"""
    rules = sum([["--rules", d] for d in RULES], [])
    r = subprocess.run(["xargs", "-d", "\\n", "-s", "2000000", SPAMTRAP,
                        "-c", "/dev/null", "-o", "rules_cache_dir=" + cache,
                        "-o", "rules_hyperscan=" + hyperscan,
                        "-o", "rules_threads=%d" % threads, "score",
                        "--profile", "--json" if scoring else "--hits"]
                       + rules,
                       input="\n".join(files) + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, errors="replace")
    out = {}
    for line in r.stdout.splitlines():
        if scoring:
            j = json.loads(line)
            out[j["file"]] = set(h["rule"] for h in j["hits"])
        else:
            path, _, names = line.partition(": ")
            out[path] = set(names.split())
    return r, out


def same_hits(a, b, what_a, what_b):
    """Every message scored in B, with the hits it has in A."""
    t.is_(len(b), SAMPLE, "scored every message %s" % what_b)
    differ = [p for p in b if a.get(p) != b[p]]
    t.ok(not differ, "the same hits %s and %s on %d messages"
         % (what_a, what_b, len(b)))
    for p in differ[:5]:
        t.diag("%s: only %s %s, only %s %s" % (
            p, what_a, sorted(a.get(p, set()) - b[p]), what_b,
            sorted(b[p] - a.get(p, set()))))


def main():
    tmp = spamtrap.short_tempdir("st-hs-")
    cache = os.path.join(tmp, "rules-cache")
    try:
        files = spamtrap.corpus_sample(SAMPLE)
    except RuntimeError as e:
        t.ok(False, "corpus: %s" % e)
        return t.done()
    t.is_(len(files), SAMPLE, "sample of %d corpus messages" % SAMPLE)

    r, m = lint(cache)
    t.ok(r.returncode == 0 and m is not None, "lint reports the pass")
    if m is None:
        t.diag(r.stdout[-2000:] + r.stderr[-2000:])
        return t.done()
    header, body, raw, uri, cached, compiled = map(int, m.groups())
    t.ok(body > 500 and raw > 40 and uri > 100,
         "body %d, rawbody %d, uri %d regexes in the pass" % (body, raw, uri))
    t.ok(header > 400, "%d header regexes in their groups' passes" % header)
    t.ok(cached == 0 and compiled > 0,
         "first load compiles (%d databases)" % compiled)
    dbs = [f for f in os.listdir(cache) if f.startswith("hs-")]
    t.is_(len(dbs), compiled, "each compiled database is kept in the cache")

    r, m = lint(cache)
    t.ok(m is not None and int(m.group(5)) == compiled and
         int(m.group(6)) == 0, "second load: all from the cache")

    # a damaged file is not trusted: compiled again, and replaced
    victim = os.path.join(cache, sorted(dbs)[0])
    with open(victim, "r+b") as f:
        f.seek(16)
        f.write(b"\xff" * 64)
    r, m = lint(cache)
    t.ok(m is not None and int(m.group(6)) == 1 and
         int(m.group(5)) == compiled - 1,
         "a damaged cache file is compiled again")
    r, m = lint(cache)
    t.ok(m is not None and int(m.group(6)) == 0, "and replaced")

    r1, with_hs = hits(cache, files, "yes")
    r2, without = hits(cache, files, "no", threads=1)
    r3, one = hits(cache, files, "yes", threads=1)
    t.ok(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0,
         "the three runs scored")
    # "lanes N: RULES-ON-LANE-0 RULES-ON-LANE-1 ... rules run"
    lanes = [list(map(int, m.group(2).split())) for m in
             re.finditer(r"lanes (\d+):((?: \d+)+) rules run", r1.stderr)]
    cpus = os.cpu_count() or 1
    t.ok(lanes and all(len(x) == min(2, cpus) for x in lanes),
         "two threads asked, %d CPU(s): %d lane(s) per run" % (
             cpus, min(2, cpus)))
    if cpus >= 2:
        t.ok(lanes and sum(x[1] for x in lanes) > 0,
             "the second thread ran %d of the %d rule runs" % (
                 sum(x[1] for x in lanes), sum(sum(x) for x in lanes)))
    t.is_(len(with_hs), SAMPLE, "scored every message with the pass")
    same_hits(with_hs, one, "with two threads", "with one")
    same_hits(with_hs, without, "with the pass", "without it")
    n_hits = sum(len(v) for v in without.values())
    t.ok(n_hits > 10 * SAMPLE, "%d hits compared" % n_hits)

    r, _ = lint(cache)
    m = re.search(r"sub-rules run only where they can change the result: "
                  r"(\d+)", r.stdout)
    t.ok(m and int(m.group(1)) >= 4,
         "lint: %s sub-rules run only where they can change the result"
         % (m.group(1) if m else "no"))
    r4, scored = hits(cache, files, "yes", scoring=True)
    t.ok(r4.returncode == 0, "score --json ran")
    shown = {p: set(h for h in v if not h.startswith("__"))
             for p, v in with_hs.items()}
    same_hits(shown, scored, "(scoring rules) running every rule",
              "leaving out what cannot change the result")
    t.ok(sum(len(v) for v in scored.values()) > 2 * SAMPLE,
         "%d scoring hits compared" % sum(len(v) for v in scored.values()))
    spamtrap.remove_tree(tmp)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
