#!/bin/sh
# Every quarantine command of bin/spamtrap answers --help (exit 0, a usage
# line on stdout), refuses an unknown option with exit 2 and its usage on
# stderr, is listed by "spamtrap -h", and fails with exit 1 and a message
# when the database cannot be opened.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
st="${SPAMTRAP_BIN:-$top/bin}/spamtrap"
tmp=$(mktemp -d /tmp/st5105-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
unset SPAMTRAP_CONF
printf 'var_dir = %s/var\n' "$tmp" >"$tmp/st.conf"
mkdir "$tmp/var"

cmds="list show sender domain relay prefs optout optin user digest expire stats db"
listing=$("$st" -h)
for c in $cmds; do
	echo "$listing" | grep -q "^  $c " ; ok $? "spamtrap -h lists $c"
	out=$("$st" -c "$tmp/st.conf" $c --help 2>&1); rc=$?
	[ $rc = 0 ] && echo "$out" | grep -q "^usage: spamtrap"; ok $? "$c --help"
done
for c in list show prefs digest stats; do
	err=$("$st" -c "$tmp/st.conf" $c --no-such-option 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ] && echo "$err" | grep -q "usage: spamtrap"; ok $? "$c: unknown option, exit 2 with usage"
done
for c in sender domain relay; do
	err=$("$st" -c "$tmp/st.conf" $c list --no-such-option 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ]; ok $? "$c list: unknown option, exit 2"
	"$st" -c "$tmp/st.conf" $c 2>/dev/null; [ $? = 2 ]; ok $? "$c without a verb: exit 2"
done
err=$("$st" -c "$tmp/st.conf" db backup 2>&1); [ $? = 2 ]; ok $? "db backup without DIR: exit 2"

# the database cannot be opened: exit 1, a message naming the problem
: >"$tmp/file"
for args in "list" "show 0000000000000" "sender list" "prefs a@b.example" \
	    "user list" "digest --stdout" "stats" "expire" "db backup $tmp/bk"; do
	err=$("$st" -c "$tmp/st.conf" -o "db_dir=$tmp/file/db" $args 2>&1 >/dev/null); rc=$?
	[ $rc = 1 ] && echo "$err" | grep -q "$tmp/file/db"; ok $? "$args: unusable db_dir, exit 1 with a message"
done

# an empty database reads as empty, not as an error
out=$("$st" -c "$tmp/st.conf" list); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "no incidents"; ok $? "empty trap: list says so"
out=$("$st" -c "$tmp/st.conf" user list); [ "$out" = "no users with incidents or settings" ]
ok $? "empty trap: user list says so"
out=$("$st" -c "$tmp/st.conf" digest); [ $? = 0 ] && [ -z "$out" ]; ok $? "empty trap: digest sends nothing"
echo "1..$n"
exit $fail
