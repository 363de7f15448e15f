#!/bin/sh
# spamtrap-folderd on a brand-new installation (nothing under var_dir
# yet, as after "make run" is first typed) starts, creates the database
# and waits for mail instead of stopping.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${SPAMTRAP_BIN:-$top/bin}
tmp=$(mktemp -d /tmp/st4104-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
unset SPAMTRAP_CONF

"$bin/spamtrap-folderd" -o var_dir="$tmp/var" 2>"$tmp/log" &
pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q "users found" "$tmp/log"; do sleep 0.1; i=$((i+1)); done
kill -0 $pid 2>/dev/null; ok $? "folderd keeps running with no var_dir yet"
[ -d "$tmp/var/db" ]; ok $? "it created var_dir and db_dir"
grep -q "0 users found" "$tmp/log"; ok $? "and reports no users yet"
kill $pid; wait $pid; ok $? "SIGTERM stops it cleanly"
pid=
echo "1..$n"
exit $fail
