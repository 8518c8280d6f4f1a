#!/bin/sh
# run-unit-tests.sh - runs cmocka test programs and sums up their results.
#
#   sh scripts/run-unit-tests.sh build/tests/test_id build/tests/test_name ...
#
# Prints each program's output, then one line "unit: N passed, M failed"
# counting test cases from cmocka's "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines.  A program that fails without saying how
# many of its tests failed (a crash, a sanitizer report, a missing
# binary) counts as one failed test.  Exits 1 if anything failed.

passed=0
failed=0
out=$(mktemp "${TMPDIR:-/tmp}/mq-unit.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

# cmocka writes its results to stdout unless told otherwise.
CMOCKA_MESSAGE_OUTPUT=stdout
export CMOCKA_MESSAGE_OUTPUT
unset CMOCKA_XML_FILE

for t in "$@"; do
	echo "== $t"
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" |
	    awk '{ n += $1 } END { print n + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" |
	    awk '{ n += $1 } END { print n + 0 }')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "== $t: exit status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
