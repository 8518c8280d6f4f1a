#!/usr/bin/env bats
# Usage errors: the reason, under the tool's name, then the usage on
# stderr, and exit status 2.

load helpers
bats_require_minimum_version 1.5.0

# usage_error WANT CMD...: CMD fails with status 2, prints nothing on
# stdout, and on stderr "WANT" then its usage.
usage_error() {
	local want=$1 tool=${2##*/}

	shift
	run --separate-stderr "$@" < /dev/null
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "$want" ]
	[[ "${stderr_lines[1]}" == "usage: $tool "* ]]
}

# The tools whose options go through tool_getopt.
TOOLS="mq-xadd mq-publish mq-queue mq-xrange mq-xinfo mq-dlq"

@test "usage: an unknown option is named, under the tool's name and not its path" {
	for tool in $TOOLS mq-serve; do
		usage_error "$tool: unknown option -Z" "$MQ_BIN/$tool" -Z
		usage_error "$tool: unknown option --no-such" \
		    "$MQ_BIN/$tool" --no-such=1
	done
	# In a cluster of letters, and after a long option.
	usage_error "mq-xadd: unknown option -z" mq-xadd -qzv s
	usage_error "mq-xadd: unknown option -z" mq-xadd --quiet -zq s
}

@test "usage: an option without its value says so" {
	usage_error "mq-xadd: option -H needs a value" mq-xadd s -H
	usage_error "mq-xrange: option -c needs a value" mq-xrange s -rc
	usage_error "mq-dlq: option --spool needs a value" mq-dlq list s --spool
	# A unique prefix is named by the option it stands for.
	usage_error "mq-queue: option --max-msg needs a value" mq-queue s --max-m
	usage_error "mq-serve: option --resp needs a value" mq-serve --resp
}

@test "usage: a value given to an option that takes none, an ambiguous prefix" {
	usage_error "mq-xinfo: option --quiet takes no value" mq-xinfo --quiet=yes s
	usage_error "mq-queue: option --max is ambiguous" mq-queue --max 5 s
}

@test "usage: missing and extra operands" {
	usage_error "mq-xadd: missing STREAM" mq-xadd
	usage_error "mq-publish: missing TOPIC" mq-publish -q
	usage_error "mq-queue: missing STREAM" mq-queue
	usage_error "mq-queue: unexpected operand b" mq-queue a b
	usage_error "mq-xrange: missing STREAM" mq-xrange -r
	usage_error "mq-xrange: unexpected operand 3" mq-xrange s 1 2 3
	usage_error "mq-xinfo: unexpected operand x" mq-xinfo s g x
	usage_error "mq-serve: unexpected operand x" mq-serve x
}

@test "usage: -0, -a and MESSAGE operands that do not go together" {
	for tool in mq-xadd mq-publish; do
		usage_error "$tool: -0 and -a: one or the other" $tool -0 -a s
		usage_error "$tool: -a reads standard input, not MESSAGE operands" \
		    $tool -a s m
		usage_error "$tool: -0 reads standard input, not MESSAGE operands" \
		    $tool -0 s m
	done
	usage_error "mq-xadd: -i: only one message at a time" \
	    mq-xadd -i 5-1 s m1 m2
}

@test "usage: mq-dlq's command: missing, unknown, or given ids it does not take" {
	usage_error "mq-dlq: missing command: list, show, count, replay or purge" \
	    mq-dlq
	usage_error "mq-dlq: missing STREAM" mq-dlq list
	usage_error "mq-dlq: unknown command frob" mq-dlq frob s
	usage_error "mq-dlq: list takes no IDs" mq-dlq list s 1-1
	usage_error "mq-dlq: count takes no IDs" mq-dlq count s 1-1
}
