#!/usr/bin/env bats
# examples.bats: every example of every tool's manual page, and of mq(7),
# is run as written by a test.
#
# Each page's EXAMPLES are read from the page (tests/man-examples.sh), and
# each command must stand, as the page writes it (blanks and line breaks
# aside), in the test file of that page: tests/cli/TOOL.bats for
# man/TOOL.1, tests/cli/mq7.bats for man/mq.7.  There, a test named for
# the examples runs it and checks what it does.  A page that changes an
# example without its test fails here.  mq-serve(8)'s examples start a
# server, and tests/interop/examples.bats runs them.

load helpers

# normalized FILE...: the files as one line, blanks folded, backslash
# line continuations joined.
normalized() {
	sed -e ':a' -e '/\\$/{N;s/\\\n[[:space:]]*/ /;ba' -e '}' "$@" |
	    tr '\n\t' '  ' | tr -s ' '
}

# check_page PAGE TEST: every example command of PAGE stands in TEST.
check_page() {
	local page=$1 test=$2 text cmd want missing=0

	[ -f "$test" ] || { echo "$page: no $test" >&2; return 1; }
	text=$(normalized "$test")
	while IFS= read -r cmd; do
		want=$(printf '%s' "$cmd" | tr '\t' ' ' | tr -s ' ')
		if [[ "$text" != *"$want"* ]]; then
			echo "$page: no test runs: $cmd" >&2
			missing=1
		fi
	done < <(sh "$REPO/tests/man-examples.sh" "$page")
	return "$missing"
}

@test "examples: every example of the tools' pages is run by their tests" {
	local page tool bad=0
	for page in "$REPO"/man/mq-*.1; do
		tool=$(basename "$page" .1)
		check_page "$page" "$REPO/tests/cli/$tool.bats" || bad=1
	done
	[ "$bad" -eq 0 ]
}

@test "examples: every example of mq(7) is run by tests/cli/mq7.bats" {
	check_page "$REPO/man/mq.7" "$REPO/tests/cli/mq7.bats"
}

@test "examples: the extraction sees commands, continuations joined" {
	run sh "$REPO/tests/man-examples.sh" "$REPO/man/mq-xreadgroup.1"
	[ "$status" -eq 0 ]
	# A "$ " block: commands only, the backslash continuation joined.
	[[ "$output" == *"mq-xreadgroup --time-limit 55s -j 4 -x './handle-order \"\$MQ_ID\"' "*"workers cron orders"* ]]
	[[ "$output" != *'$ '* ]]
}
