#!/usr/bin/env bats
# readme.bats: the examples of README.md run as written.
#
# The shell blocks of the "Quick tour" are taken from the README itself
# (tests/readme-blocks.sh), in order, and run as one script in an empty
# directory whose bin/ is the tools of this build, on a spool of their
# own: an example that the README changes is run as it now reads.  The
# "Redis clients" and "RabbitMQ clients" blocks need a server and run in
# tests/interop/examples.bats.  The blocks of "Build, try, test" are the
# build itself: CI runs its test command, make check, and the install
# and demo line is run by tests/cli/demo.bats.

load helpers

blocks() {
	sh "$REPO/tests/readme-blocks.sh" "$@"
}

@test "readme: every shell block belongs to a section that a test runs" {
	run blocks -
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	while IFS=$'\t' read -r section first; do
		case $section in
		"Build, try, test"|"Quick tour"|"Redis clients"|"RabbitMQ clients") ;;
		*)	echo "no test runs the block \"$first\" of \"$section\"" >&2
			return 1 ;;
		esac
	done <<< "$output"
}

@test "readme: the quick tour runs as written" {
	blocks "Quick tour" > tour.sh
	[ -s tour.sh ]
	ln -s "$MQ_BIN" bin
	run timeout 120 bash -eu tour.sh
	echo "$output"
	[ "$status" -eq 0 ]
	# What the tour says happens, happens.
	[[ "$output" == *"charged: order 1"* ]]
	[[ "$output" == *"charge: order 3: card declined"* ]]
	[[ "$output" == *"status 123"* ]]
	[[ "$output" == *"rejected"* ]]
	[[ "$output" == *$'news.tech\tmq 0.1.0 is out'* ]]
	[[ "$output" == *$'\tmatch tonight'* ]]
	[[ "$output" != *"usage:"* ]]
	[[ "$output" != *"no such"* ]]
	# The refund that starts with a dash is a message, not an option.
	[ "$(mq-xrange orders | cut -f2 | grep -c -- '-1: a refund')" -eq 1 ]
	[ "$(mq-dlq count orders)" -eq 0 ]
}
