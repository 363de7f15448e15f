#!/bin/sh
# spamtrap db check: exit 0 on a clean database, 1 with the problem
# printed on a damaged one; --repair fixes it; stats and expire run.
top=${SPAMTRAP_TOP:-$(pwd)}
bin=${SPAMTRAP_BIN:-$top/bin}
driver=$bin/../t/helpers/qstore-driver
[ -x "$driver" ] || driver=$top/build/t/helpers/qstore-driver
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qstore-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
db=$tmp/db
n=0
fail=0
t() {	# t DESCRIPTION COMMAND...: ok if the command succeeds
	desc=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		sed 's/^/#   /' "$tmp/last"
		fail=1
	fi
}
# spamtrap, its output kept in $tmp/last for the checks that follow
st() {
	"$bin/spamtrap" -o "db_dir=$db" "$@" >"$tmp/last" 2>&1
	rc=$?
	cat "$tmp/last"
	return $rc
}
want_exit() {	# want_exit CODE COMMAND...
	code=$1; shift
	"$@"
	rc=$?
	[ "$rc" -eq "$code" ] || { echo "exit $rc, wanted $code"; return 1; }
}

t "writer fills a database" "$driver" write "$db" alice@example.org 20
t "db check on a clean database exits 0" want_exit 0 st db check
t "  and says 0 problems" grep -q "20 incidents, 60 index entries, 20 message copies: 0 problems" "$tmp/last"
t "damage: a copy without an incident" "$driver" orphan "$db"
t "db check on a damaged database exits 1" want_exit 1 st db check
t "  naming the problem" grep -q "message copy zzzzzzzzzzzzz: no incident" "$tmp/last"
t "db check --repair exits 0" want_exit 0 st db check --repair
t "  and repaired it" grep -q "1 repaired" "$tmp/last"
t "db check afterwards exits 0" want_exit 0 st db check
t "db stats" st db stats
t "  counts by status" grep -Eq "^spam +19$" "$tmp/last"
t "db expire" st -o quarantine_retention=1h db expire
t "  nothing is older than an hour" grep -q "^0 incidents expired" "$tmp/last"
t "db with no subcommand is a usage error" want_exit 2 st db
t "db check --help" want_exit 0 st db check --help
t "db frobnicate is a usage error" want_exit 2 st db frobnicate
echo "1..$n"
exit $fail
