#!/bin/sh
# make install honours PREFIX and DESTDIR and installs programs, manual
# pages, the example configuration and the systemd units.
top=${SPAMTRAP_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SPAMTRAP_BUILD:-$top/build}
bin=${SPAMTRAP_BIN:-$top/bin}
dest=$(mktemp -d /tmp/st0003-XXXXXX)
trap 'rm -rf "$dest"' EXIT
n=0
fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

make -s -C "$top" install DESTDIR="$dest" PREFIX=/opt/st BUILD="$build" BIN="$bin" >"$dest.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/opt/st"
[ $fail = 0 ] || sed 's/^/# /' "$dest.log"
rm -f "$dest.log"
for f in sbin/spamtrap-lmtpd sbin/spamtrap-folderd bin/spamtrap; do
	[ -x "$dest/opt/st/$f" ]; ok $? "$f installed and executable"
done
for f in man1/spamtrap.1 man5/spamtrap.conf.5 man5/spamtrap-rules.5 man8/spamtrap-lmtpd.8 man8/spamtrap-folderd.8; do
	[ -f "$dest/opt/st/share/man/$f" ]; ok $? "manual page $f"
done
for f in spamtrap.conf.example spamtrap-lmtpd.service spamtrap-folderd.service \
	 spamtrap-daily.service spamtrap-daily.timer; do
	[ -f "$dest/opt/st/share/spamtrap/$f" ]; ok $? "share/spamtrap/$f"
done
"$dest/opt/st/bin/spamtrap" -c "$dest/opt/st/share/spamtrap/spamtrap.conf.example" config -n >/dev/null
ok $? "the installed example configuration loads"
[ -z "$(find "$dest" -path "$dest/opt" -prune -o -type f -print)" ]
ok $? "nothing installed outside DESTDIR/PREFIX"
echo "1..$n"
exit $fail
