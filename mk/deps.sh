#!/bin/sh
# deps.sh check|install GROUP... - the Debian packages spamtrap needs.
#   build: compile and link;  test: what make check runs against.
# "check" exits 1 if any package of the groups is missing;
# "install" installs the missing ones with apt-get (as root, or via sudo).
set -u
action=$1; shift
# Hyperscan: Intel's package on amd64 (the one rspamd links), the portable
# fork Vectorscan elsewhere; either is fine when pkg-config finds libhs.
hs=libhyperscan-dev
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || hs=libvectorscan-dev
pkg-config --exists libhs 2>/dev/null && hs=""
build="gcc make pkg-config libetpan-dev libsasl2-modules libgmime-3.0-dev libpcre2-dev libdb5.3-dev zlib1g-dev $hs"
test="perl python3 db5.3-util dovecot-imapd dovecot-lmtpd dovecot-sieve swaks man-db groff-base spamassassin nodejs valgrind clang"
# make bench: the peers (spamd with compiled rules, rspamd) and npm for the corpus
bench="spamassassin spamc sa-compile re2c rspamd dovecot-lmtpd"
want=""
for g in "$@"; do
	case $g in
	build) want="$want $build" ;;
	test) want="$want $test" ;;
	bench) want="$want $bench" ;;
	*) echo "deps.sh: unknown group $g" >&2; exit 2 ;;
	esac
done
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $st in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$action" = check ]; then
	echo "missing Debian packages:$missing" >&2
	exit 1
fi
echo "installing:$missing"
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps.sh: not root and no sudo; install as root:$missing" >&2
		exit 1
	}
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || exit 1
$sudo apt-get install -y -q --no-install-recommends $missing || exit 1
