#!/usr/bin/python3
# 2102-rules-cli - "spamtrap rules lint" and "spamtrap score" as an admin
# uses them: the shipped rules lint clean, a bad line is reported with
# file:line and a non-zero exit, GTUBE scores 1000 with an explanation,
# --json gives one object per message, -c picks rules_dir from a config.
import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.environ.get("SPAMTRAP_TOP", os.getcwd())
BIN = os.environ.get("SPAMTRAP_BIN", os.path.join(TOP, "bin"))
SPAMTRAP = os.path.join(BIN, "spamtrap")
SHIPPED = os.path.join(TOP, "rules", "shipped")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)


def run(*args, env=None, input=""):
    e = dict(os.environ)
    e.pop("SPAMTRAP_CONF", None)
    if env:
        e.update(env)
    r = subprocess.run([SPAMTRAP] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=e, input=input)
    return r.returncode, r.stdout, r.stderr


with tempfile.TemporaryDirectory(prefix="st2102.") as tmp:
    rc, out, err = run("rules", "lint", SHIPPED)
    ok(rc == 0 and "errors: 0" in out, "shipped rules lint clean", out + err)
    ok("meta" in out and "loaded" in out, "lint prints totals by type", out)

    rc, out, err = run("rules", "lint", "--list", SHIPPED)
    ok("GTUBE body ok" in out, "--list shows each rule and status", out)

    bad = os.path.join(tmp, "bad")
    os.mkdir(bad)
    with open(os.path.join(bad, "10_bad.cf"), "w") as f:
        f.write("body GOOD /viagra/i\n"
                "# comment\n"
                "body BROKEN /unclosed(/\n"
                "header ALSO_BAD Subject ~~ /x/\n"
                "body EVAL_ONE eval:check_stuff()\n")
    rc, out, err = run("rules", "lint", bad)
    ok(rc == 1, "lint exits 1 on errors (rc %d)" % rc, out + err)
    ok("10_bad.cf:3: body BROKEN: bad regular expression" in out,
       "bad regex reported with file:line", out)
    ok("10_bad.cf:4: header ALSO_BAD: expected =~ or !~" in out,
       "bad header rule reported with file:line", out)
    ok("errors: 2" in out, "two errors counted", out)
    ok(any(l.split()[:3] == ["body", "1", "1"] for l in out.splitlines()),
       "body: 1 loaded, 1 eval", out)

    rc, out, err = run("rules", "lint", os.path.join(tmp, "nowhere"))
    ok(rc == 1 and "no rule directory could be read" in err,
       "missing directory is an error", out + err)

    msg = os.path.join(tmp, "gtube.eml")
    with open(msg, "w") as f:
        f.write("From: a@example.org\nTo: b@example.org\n"
                "Subject: test\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
                "Message-Id: <1@example.org>\n\n%s\n" % GTUBE)
    ham = os.path.join(tmp, "ham.eml")
    with open(ham, "w") as f:
        f.write("From: a@example.org\nTo: b@example.org\n"
                "Subject: lunch\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
                "Message-Id: <2@example.org>\n\nSee you at noon.\n")
    rc, out, err = run("score", "--rules", SHIPPED, msg, ham)
    ok(rc == 0, "score exits 0", err)
    ok("score 1000.0 (required 5.0) SPAM" in out, "GTUBE scores 1000", out)
    ok("GTUBE" in out and "Generic Test for Unsolicited Bulk Email" in out,
       "the breakdown names the rule and its description", out)
    ok("ham.eml: score 0.0" in out, "a plain message scores 0", out)

    rc, out, err = run("score", "--json", "--rules", SHIPPED, msg, ham)
    lines = out.splitlines()
    objs = []
    try:
        objs = [json.loads(l) for l in lines]
    except ValueError as e:
        ok(False, "--json lines parse", "%s\n%s" % (e, out))
    ok(len(objs) == 2, "--json: one object per message", out)
    if len(objs) == 2:
        ok(objs[0]["file"] == msg and objs[0]["score"] == 1000 and
           objs[0]["hits"][0]["rule"] == "GTUBE" and
           objs[0]["hits"][0]["score"] == 1000, "--json fields", out)
        ok(objs[1]["hits"] == [], "--json: no hits for ham", out)

    # ST_REPLYTO_OTHER_DOM compares whole domains: a Reply-To in From's
    # domain or a subdomain of it is not another domain (the rule once
    # matched those by trying a shorter piece of From's domain)
    replyto = [("b@example.com", False), ("<b@mail.example.com>", False),
               ("b@other.org", True), ("b@example.com.evil.org", True),
               ("b@xample.com", True)]
    files = []
    for i, (addr, _) in enumerate(replyto):
        files.append(os.path.join(tmp, "replyto%d.eml" % i))
        with open(files[-1], "w") as f:
            f.write("From: Alice <a@example.com>\nTo: c@example.net\n"
                    "Subject: hello\nReply-To: %s\n\nhi\n" % addr)
    rc, out, err = run("score", "--hits", "--rules", SHIPPED, *files)
    got = {l.split(": ", 1)[0]: l.split(": ", 1)[1].split()
           for l in out.splitlines() if ": " in l}
    for f, (addr, want) in zip(files, replyto):
        ok(("__ST_REPLYTO_OTHER_DOM" in got.get(f, [])) == want,
           "From a@example.com, Reply-To %s: %s" % (
               addr, "another domain" if want else "the same domain"),
           out + err)

    rc, out, err = run("score", "--rules", SHIPPED, os.path.join(tmp, "x"))
    ok(rc == 1 and "No such file" in err, "unreadable file: exit 1", err)

    conf = os.path.join(tmp, "spamtrap.conf")
    with open(conf, "w") as f:
        f.write("rules_dir = %s\n" % bad)
    rc, out, err = run("-c", conf, "score", msg)
    ok(rc == 0 and "GOOD" not in out and "score 0.0" in out and
       "10_bad.cf:3" in err, "-c FILE: rules_dir from the config, "
       "warnings on stderr", out + err)
    with open(msg) as f:
        text = f.read()
    rc, jit, err = run("-o", "rules_dir=", "score", "--json", "-",
                       env={"SPAMTRAP_RULES_SHIPPED": SHIPPED}, input=text)
    rc2, nojit, err2 = run("-o", "rules_dir=", "-o", "rules_jit=no", "score", "--json", "-",
                           env={"SPAMTRAP_RULES_SHIPPED": SHIPPED}, input=text)
    ok(rc == 0 and rc2 == 0 and jit == nojit and '"GTUBE"' in jit,
       "rules_jit = no scores the same, without the JIT", jit + nojit)
    rc, out, err = run("-o", "rules_dir=", "score", "-",
                       env={"SPAMTRAP_RULES_SHIPPED": SHIPPED}, input=text)
    ok(rc == 0 and "-: score" in out and "GTUBE" in out,
       "score - reads stdin", out + err)
    rc2, out2, err2 = run("-o", "rules_dir=", "rules", "lint", "--list",
                          env={"SPAMTRAP_RULES_SHIPPED": SHIPPED})
    ok("ST_MISSING_DATE meta ok" in out2 and "\nFREEMAIL_FROM " in out2,
       "default rules: the shipped set, then SpamAssassin's", out2[-300:] + err2[-300:])
    ok(re.search(r"score 10\d\d\.\d", out) is not None,
       "GTUBE counts once with SpamAssassin's rules loaded too", out)
    rc, out, err = run("score", "--help")
    ok(rc == 0 and "usage: spamtrap score" in out, "score --help")
    rc, out, err = run("rules", "--help")
    ok(rc == 0 and "usage: spamtrap rules lint" in out, "rules --help")
    rc, out, err = run("rules", "frobnicate")
    ok(rc == 2, "unknown rules subcommand: usage error")

print("1..%d" % n)
sys.exit(1 if failed else 0)
