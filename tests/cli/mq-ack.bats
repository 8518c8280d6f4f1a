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
	ids=($(mq-xadd s 'a b' c d))
	mq-xreadgroup g c s > /dev/null
	run bash -c "printf '%s\tbody a b\n\n%s body c\r\n \t%s\n  \n' ${ids[*]} | mq-ack -v s g"
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
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

@test "mq-ack: -0 reads mq-xreadgroup -o raw: every entry is acked" {
	printf 'one\0two\nlines\0tab\there\0' | mq-xadd -0 -q s
	run bash -c 'mq-xreadgroup -o raw g c s | mq-ack -0 -v s g'
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xinfo s g | sed -n 's/^pending //p')" -eq 0 ]
	mq-xadd -q s four
	run bash -c 'mq-xreadgroup -o raw g c s | mq-ack --null -v s g'
	[ "$output" = 1 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: -o raw read as lines is refused with a hint, not half acked" {
	mq-xadd -q s a b
	run bash -c 'mq-xreadgroup -o raw g c s | mq-ack s g'
	[ "$status" -eq 65 ]
	[[ "$output" == 'mq-ack: line 1: "'*'\tb\0": a NUL byte: NUL-terminated records need -0' ]]
	[ "$(pending g c s)" -eq 2 ]
}

@test "mq-ack: -0 given lines says so" {
	ids=($(mq-xadd s a b))
	mq-xreadgroup g c s > /dev/null
	run bash -c "printf '%s\n' ${ids[*]} | mq-ack -0 s g"
	[ "$status" -eq 65 ]
	[[ "$output" == 'mq-ack: record 1: "'*'": not a stream id (lines are read without -0)' ]]
	[ "$(pending g c s)" -eq 2 ]
}

@test "mq-ack: reads mq-xreadgroup -o json, binary bodies and headers too" {
	printf 'one\0two\nlines\0\377\0' | mq-xadd -0 -q -H id=h -k k s
	run bash -c 'mq-xreadgroup -o json g c s | mq-ack -v s g'
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: JSON passed through jq -c, members reordered and added" {
	seq 1 3 | mq-xadd -q s
	mq-xreadgroup -o json g c s |
	    jq -c '{body, worker: {id: "w1", tags: ["id"]}, id, ok: true}' > out
	[[ "$(head -1 out)" == '{"body":"1","worker":{"id":"w1"'* ]]
	run bash -c 'mq-ack -v s g < out'
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: bad lines are reported by number; the ids around them are acked; exit 65" {
	ids=($(mq-xadd s a b c d))
	mq-xreadgroup g c s > /dev/null
	long=$(printf 'x%.0s' {1..100})
	printf '%s\n' "${ids[0]}" 'debug: x' '' "${ids[1]}"$'\tbody' '{"no":"id"}' \
	    '{"id":"1-1",' "${ids[2]}" "$long" '{"id":"nope"}' > in
	printf '\tbody\n %s\n' "${ids[3]}" >> in
	run bash -c 'mq-ack -v s g < in 2> err'
	[ "$status" -eq 65 ]
	[ "$output" = 4 ]
	diff - err <<-EOF
	mq-ack: line 2: "debug: x": not a stream id
	mq-ack: line 5: "{\"no\":\"id\"}": no "id" member
	mq-ack: line 6: "{\"id\":\"1-1\",": malformed JSON: expected a member name
	mq-ack: line 8: "${long:0:40}"...: not a stream id
	mq-ack: line 9: "{\"id\":\"nope\"}": "id" is not a stream id
	mq-ack: line 10: "\tbody": not a stream id
	EOF
	[ "$(pending g c s)" -eq 0 ]
	run mq-ack s g 12
	[ "$status" -eq 65 ]
	run mq-ack s g -
	[ "$status" -eq 65 ]
}

@test "mq-ack: a line with a NUL byte is reported; the lines around it are acked" {
	ids=($(mq-xadd s a b))
	mq-xreadgroup g c s > /dev/null
	run bash -c "printf '%s\nx\0y\n%s\n' ${ids[*]} | mq-ack -v s g"
	[ "$status" -eq 65 ]
	[ "${lines[0]}" = 'mq-ack: line 2: "x\0y": a NUL byte: NUL-terminated records need -0' ]
	[ "${lines[1]}" = 2 ]
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-ack: arguments: the valid ids are acked, a bad one reported, exit 65" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup g c s > /dev/null
	run mq-ack -v s g "${ids[0]}" '1-x y' "${ids[2]}"
	[ "$status" -eq 65 ]
	[ "${lines[0]}" = 'mq-ack: "1-x y": not a stream id' ]
	[ "${lines[1]}" = 2 ]
	[ "$(mq-xreadgroup g c s 0 | cut -f2)" = b ]
}

@test "mq-ack: -0 records and JSON lines are acked as they stream in" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup g c s > /dev/null
	left() { [ "$(pending g c s)" -eq "$1" ]; }
	mkfifo in
	timeout 30 mq-ack -0 s g < in 3>&- &
	bg=$!
	exec 4> in
	printf '%s\tbody\nwith a newline\0' "${ids[0]}" >&4
	wait_until left 2
	printf '{"id":"%s"}\0' "${ids[1]}" >&4
	wait_until left 1
	printf '%s' "${ids[2]}" >&4
	exec 4>&-
	wait "$bg"
	left 0
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
	[ "$output" = "mq-ack: $BATS_TEST_TMPDIR/nothing: no such spool" ]
}

@test "mq-ack: missing GROUP is a usage error" {
	run mq-ack s
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-ack: missing GROUP" ]
	[[ "${lines[1]}" == "usage: mq-ack "* ]]
}

@test "mq-ack: the examples of the manual page" {
	# The last example first: its entry has the page's id, below those
	# that the others append.
	mq-xadd -q -i 1764087154123-0 orders 'order 1'
	mq-xreadgroup workers w1 orders > /dev/null
	mq-ack orders workers 1764087154123-0
	[ "$(pending workers w1 orders)" -eq 0 ]

	seq 2 4 | mq-xadd -q orders
	mq-xreadgroup workers w1 orders | cut -f1 | mq-ack orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]
	[ -z "$(mq-xreadgroup workers w1 orders)" ]

	ids=($(mq-xadd orders 5 6))
	printf '#!/bin/sh\nwhile IFS= read -r l; do printf "%%s\\n" "${l%%%%\t*}"; done\n' > worker
	chmod +x worker
	run bash -c 'mq-xreadgroup workers w1 orders | ./worker | mq-ack -v orders workers'
	[ "$output" = 2 ]
	[ "$(pending workers w1 orders)" -eq 0 ]

	printf 'eight\n8\0nine\0' | mq-xadd -0 -q orders
	mq-xreadgroup -o raw workers w1 orders | mq-ack -0 orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]

	mq-xadd -q -H urgent=yes orders 10
	mq-xadd -q orders 11
	mq-xreadgroup -o json workers w1 orders |
	    jq -c 'select(.headers.urgent == "yes")' | mq-ack orders workers
	[ "$(mq-xreadgroup workers w1 orders 0 | cut -f2)" = 11 ]
}
