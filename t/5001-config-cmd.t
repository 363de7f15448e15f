#!/bin/sh
# spamtrap config: every setting with defaults marked, -n, single names,
# overrides, and errors with file and line.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
st="${SPAMTRAP_BIN:-$top/bin}/spamtrap"
tmp=$(mktemp -d /tmp/st5001-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
unset SPAMTRAP_CONF

out=$("$st" config)
ok $? "spamtrap config exits 0"
echo "$out" | grep -qx 'lmtp_listen = 127.0.0.1:2424	# default'; ok $? "defaults are marked"
[ "$(echo "$out" | sort)" = "$out" ]; ok $? "sorted by name"

cat >"$tmp/st.conf" <<EOT
# test
var_dir = $tmp/var
message_size_limit = 10M
EOT
out=$("$st" -c "$tmp/st.conf" config -n)
ok $? "config -n exits 0"
[ "$out" = "message_size_limit = 10M
var_dir = $tmp/var" ]; ok $? "config -n shows only what the file sets"
out=$("$st" -c "$tmp/st.conf" config db_dir store)
[ "$out" = "db_dir = $tmp/var/db
store = maildir:$tmp/var/mail/%u" ]; ok $? "named settings, expanded, unmarked"
out=$(SPAMTRAP_CONF="$tmp/st.conf" "$st" -o message_size_limit=1M config -n message_size_limit)
[ "$out" = "message_size_limit = 1M" ]; ok $? "\$SPAMTRAP_CONF and -o override"

err=$("$st" config no_such_name 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q 'unknown setting "no_such_name"'; ok $? "unknown name: exit 1 with a message"
printf 'var_dir = /x\nlmtp_max_recipients = lots\n' >"$tmp/bad.conf"
err=$("$st" -c "$tmp/bad.conf" config 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "bad.conf:2: bad value \"lots\" for lmtp_max_recipients"
ok $? "bad value: file and line"
"$st" config --help | grep -q "usage: spamtrap"; ok $? "config --help"
"$st" nosuchcommand 2>/dev/null; [ $? = 2 ]; ok $? "unknown command: exit 2"
echo "1..$n"
exit $fail
