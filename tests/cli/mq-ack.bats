#!/usr/bin/env bats
# mq-ack: acknowledging entries of a group.

load helpers

@test "mq-ack: shared options" {
	mq-xadd -q s m
	mq-xreadgroup g c s > /dev/null
	common_options mq-ack s g 0-1
}

@test "mq-ack: acks the ids given as arguments; -v prints the count" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup g c s > /dev/null
	run mq-ack -v s g "${ids[0]}" "${ids[2]}"
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(mq-xreadgroup g c s 0 | cut -f2)" = b ]
}

@test "mq-ack: prints nothing without -v" {
	id=$(mq-xadd s a)
	mq-xreadgroup g c s > /dev/null
	run mq-ack s g "$id"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-ack: mq-xreadgroup g c s | cut -f1 | mq-ack s g leaves nothing pending" {
	seq 1 5000 | mq-xadd -q s
	run bash -c 'mq-xreadgroup g c s | cut -f1 | mq-ack -v s g'
	[ "$status" -eq 0 ]
	[ "$output" = 5000 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: takes the first field of whole lines, tab or space separated" {
	ids=($(mq-xadd s 'a b' c))
	mq-xreadgroup g c s > /dev/null
	run bash -c "printf '%s\tbody a b\n\n%s body c\n' ${ids[*]} | mq-ack -v s g"
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: the unfiltered output of mq-xreadgroup can be piped in" {
	printf 'one\ttab\0two\nlines\0' | mq-xadd -0 -q s
	run bash -c 'mq-xreadgroup g c s | mq-ack -v s g'
	[ "$output" = 2 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: ids that are not pending are not an error" {
	id=$(mq-xadd s a)
	mq-xreadgroup g c s > /dev/null
	mq-ack s g "$id"
	run mq-ack -v s g "$id" 99999999999999-0
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}

@test "mq-ack: a malformed id exits 65 after acking the ids before it" {
	ids=($(mq-xadd s a b))
	mq-xreadgroup g c s > /dev/null
	run bash -c "printf '%s\nnot-an-id\n%s\n' ${ids[*]} | mq-ack s g"
	[ "$status" -eq 65 ]
	[[ "$output" == "mq-ack: not-an-id: "* ]]
	[ "$(mq-xreadgroup g c s 0 | cut -f2)" = b ]
	run mq-ack s g 12
	[ "$status" -eq 65 ]
	run mq-ack s g -
	[ "$status" -eq 65 ]
}

@test "mq-ack: no such stream, group or spool exits 66" {
	mq-xadd -q s a
	run mq-ack s nogroup 1-1
	[ "$status" -eq 66 ]
	run mq-ack nostream g 1-1
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-ack: nostream: "* ]]
	run mq-ack --spool "$BATS_TEST_TMPDIR/nothing" s g 1-1
	[ "$status" -eq 66 ]
}

@test "mq-ack: missing GROUP is a usage error" {
	run mq-ack s
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: mq-ack "* ]]
}

@test "mq-ack: the examples of the manual page" {
	seq 1 4 | mq-xadd -q orders
	mq-xreadgroup workers w1 orders | cut -f1 | mq-ack orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]

	ids=($(mq-xadd orders 5 6))
	printf '#!/bin/sh\nwhile IFS= read -r l; do printf "%%s\\n" "${l%%%%\t*}"; done\n' > worker
	chmod +x worker
	run bash -c 'mq-xreadgroup workers w1 orders | ./worker | mq-ack -v orders workers'
	[ "$output" = 2 ]
	[ "$(pending workers w1 orders)" -eq 0 ]

	id=$(mq-xadd orders 7)
	mq-xreadgroup workers w1 orders > /dev/null
	mq-ack orders workers "$id"
	[ "$(pending workers w1 orders)" -eq 0 ]
}
