#!/bin/sh
# valgrind.sh TEST... - run unit tests (TAP programs) under valgrind.
# A test fails if it fails on its own, or valgrind reports a memory error
# or a definite or indirect leak (GLib/GMime keep "still reachable" and
# "possibly lost" type-system memory for the life of the process: those
# are not counted).  Logs: $SPAMTRAP_BUILD/valgrind/NAME.log.
set -u
out=${SPAMTRAP_BUILD:-build}/valgrind
mkdir -p "$out"
fail=0
for t in "$@"; do
	name=$(basename "$t" .t)
	log=$out/$name.log
	start=$(date +%s)
	# valgrind cannot follow PCRE2's JIT code (it reports the JIT's own
	# stack use as uninitialised): the rule tests interpret instead
	SPAMTRAP_TEST_NO_JIT=1 G_SLICE=always-malloc G_DEBUG=gc-friendly \
	valgrind -q --suppressions="$(dirname "$0")/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect \
	  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	  --trace-children=no --log-file="$log" "$t" >"$log.tap" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		echo "ok      $name (${secs}s)"
	elif [ $rc -eq 99 ]; then
		echo "LEAK/ERROR $name (${secs}s): see $log"
		fail=1
	else
		echo "FAILED  $name (exit $rc, ${secs}s): see $log.tap"
		fail=1
	fi
done
exit $fail
