#!/bin/sh
# qstore-bench.sh [N [USERS]] - load N incidents (default 1000000) over
# USERS users (default 1000) into a scratch database, then time paged
# queries by user/status and counts.  Needs "make" first (it uses the
# test driver build/t/helpers/qstore-driver).  Loading commits without
# fsync; the layout and query costs do not depend on it.
set -eu
n=${1:-1000000}
users=${2:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
driver=${QSTORE_DRIVER:-$top/build/t/helpers/qstore-driver}
dir=$(mktemp -d "${TMPDIR:-/tmp}/qstore-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$driver" bench "$dir/db" "$n" "$users"
du -sh "$dir/db"
