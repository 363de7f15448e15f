#!/bin/sh
# Every setting "spamtrap config" knows is described in spamtrap.conf(5),
# and every manual page formats without warnings.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${SPAMTRAP_BIN:-$top/bin}
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

names=$(SPAMTRAP_CONF= "$bin/spamtrap" config | sed 's/ = .*//')
[ -n "$names" ]; ok $? "spamtrap config lists settings"
for name in $names; do
	grep -q "^\.B $name =\( \|$\)" "$top/man/spamtrap.conf.5"
	ok $? "spamtrap.conf(5) describes $name"
done
for page in "$top"/man/*.[158]; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$out" ]; ok $? "$(basename "$page") formats cleanly${out:+: $out}"
done
echo "1..$n"
exit $fail
