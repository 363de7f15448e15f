#!/bin/sh
# As root with "user" set, spamtrap works as that account, so database
# files it creates belong to the daemons' account, not to root.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
st="${SPAMTRAP_BIN:-$top/bin}/spamtrap"
tmp=$(mktemp -d /tmp/st5108-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
unset SPAMTRAP_CONF

if [ "$(id -u)" = 0 ]; then
	mkdir "$tmp/db" && chown nobody "$tmp/db"
	"$st" -o user=nobody -o db_dir="$tmp/db" db stats >/dev/null
	ok $? "spamtrap as root with user = nobody runs"
	[ -z "$(find "$tmp/db" -user root)" ]
	ok $? "no file in db_dir belongs to root"
	[ -n "$(find "$tmp/db" -user nobody -type f)" ]
	ok $? "the database files belong to nobody"
	"$st" -o user=no-such-account -o db_dir="$tmp/db" db stats 2>"$tmp/err"
	[ $? != 0 ] && grep -q "no such user" "$tmp/err"
	ok $? "an unknown user is refused with a message"
else
	"$st" -o db_dir="$tmp/db" db stats >/dev/null
	ok $? "as an ordinary user, spamtrap runs as that user"
	[ -z "$(find "$tmp/db" ! -user "$(id -u)")" ]
	ok $? "and its files are that user's"
fi
echo "1..$n"
exit $fail
