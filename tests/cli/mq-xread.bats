#!/usr/bin/env bats
# mq-xread: the entries of a stream after an id, and following it, with
# no consumer group.

load helpers

# follow OUT ARGS...: starts mq-xread ARGS in the background with its
# output in OUT, and waits until it says it reads (--ready-fd).
follow() {
	local out=$1
	shift
	rm -f ready
	mkfifo ready
	timeout 30 mq-xread --ready-fd 3 "$@" 3> ready > "$out" &
	bg+=($!)
	read -r _ < ready
}

@test "mq-xread: shared options" {
	mq-xadd -q s m
	common_options mq-xread s
}

@test "mq-xread: after an id, as XREAD: the id itself is not printed" {
	ids=($(mq-xadd s a b c))
	run mq-xread s 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\ta\n%s\tb\n%s\tc' "${ids[@]}")" ]
	run mq-xread s "${ids[0]}"
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "b c" ]
	run mq-xread -c 1 s 0
	[ "$(cut -f2 <<< "$output")" = a ]
	# $, the default: only what comes from now on; in one pass, nothing.
	run mq-xread s
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run mq-xread s 1-x
	[ "$status" -eq 65 ]
}

@test "mq-xread: -n N starts before the last N entries, as tail -n" {
	seq 1 5 | mq-xadd -q s
	[ "$(mq-xread -n 2 s | cut -f2 | paste -sd' ')" = "4 5" ]
	[ "$(mq-xread -n 9 s | cut -f2 | paste -sd' ')" = "1 2 3 4 5" ]
	[ -z "$(mq-xread -n 0 s)" ]
	run mq-xread -n 2 s 0
	[ "$status" -eq 2 ]
}

@test "mq-xread: it delivers nothing: every run and group sees every entry" {
	mq-xadd -q s a b
	mq-xread s 0 > /dev/null
	[ "$(mq-xread s 0 | wc -l)" -eq 2 ]
	[ "$(mq-xreadgroup g c s | wc -l)" -eq 2 ]
	run mq-xinfo s
	[[ "$output" == *$'\ngroups 1\n'* ]]
}

@test "mq-xread: -f follows the stream from its end, as tail -f" {
	mq-xadd -q s old
	follow out -f s
	mq-xadd -q s new1
	mq-xadd -q s new2
	wait_until file_has_lines out 2
	kill -TERM "${bg[0]}"
	st=0
	wait "${bg[0]}" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cut -f2 out | paste -sd' ')" = "new1 new2" ]
}

@test "mq-xread: -f -n 1: the last entry, then what comes" {
	mq-xadd -q s one two
	follow out -f -n 1 -c 2 s
	mq-xadd -q s three
	wait "${bg[0]}"
	[ "$(cut -f2 out | paste -sd' ')" = "two three" ]
}

@test "mq-xread: -f waits for a stream that does not exist yet, from its start" {
	follow out -f -c 2 later
	mq-xadd -q later x y
	wait "${bg[0]}"
	[ "$(cut -f2 out | paste -sd' ')" = "x y" ]
}

@test "mq-xread: -b waits for the first entry; 1 if none came" {
	mq-xadd -q s a
	run mq-xread -b 100ms s
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run mq-xread -b 100ms s 0
	[ "$status" -eq 0 ]
	[ "$(cut -f2 <<< "$output")" = a ]
	follow out -b 60s s
	mq-xadd -q s b
	wait "${bg[0]}"
	[ "$(cut -f2 out)" = b ]
	run mq-xread --time-limit 100ms -f s
	[ "$status" -eq 0 ]
}

@test "mq-xread: a typo is not a stream: 66, and nothing is made" {
	mq-xadd -q orders o
	run mq-xread ordrs 0
	[ "$status" -eq 66 ]
	[ "$output" = "mq-xread: ordrs: no such stream" ]
	run mq-xread -b 10ms ordrs
	[ "$status" -eq 1 ]
	run mq-xinfo ordrs
	[ "$status" -eq 66 ]
}

@test "mq-xread: -o json and -o raw are mq-xreadgroup's" {
	printf 'x\0y\nz' > b1
	id=$(mq-xadd -a s < b1)
	mq-xread -o raw s 0 > out
	{ printf '%s\t' "$id"; cat b1; printf '\0'; } | cmp - out
	[ "$(mq-xread -o json s 0 | jq -j .body)" = "$(cat b1)" ]
	[ "$(mq-xread -o json s 0 | jq -r .stream)" = s ]
}

@test "mq-xread: usage errors" {
	mq-xadd -q s m
	run mq-xread -b 1s -f s
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "mq-xread: -b and -f cannot be used together"* ]]
	run mq-xread
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "mq-xread: missing STREAM"* ]]
	run mq-xread s 0 extra
	[ "$status" -eq 2 ]
	run mq-xread --ready-fd 99 s
	[ "$status" -eq 2 ]
	run mq-xread -o xml s
	[ "$status" -eq 2 ]
}

# append_until_seen OUT STREAM: appends "new" to STREAM until OUT has a
# line, for a follower that gives no sign of when it listens.
append_until_seen() {
	mq-xadd -q "$2" new
	[ -s "$1" ]
}

@test "mq-xread: the examples of the manual page" {
	seq 1 15 | sed 's/^/order /' | mq-xadd -q orders

	# From the end, as tail -f: none of the 15 that were there.
	mq-xread -f orders > out 3>&- &
	bg+=($!)
	wait_until append_until_seen out orders
	kill -TERM "${bg[0]}"
	wait "${bg[0]}"
	[ "$(cut -f2 out | sort -u)" = new ]

	# The last ten, then what comes.
	mq-xread -f -n 10 orders > out 3>&- &
	bg+=($!)
	wait_until file_has_lines out 10
	mq-xadd -q orders 'order 16'
	wait_until file_has_lines out 11
	kill -TERM "${bg[1]}"
	wait "${bg[1]}"
	[ "$(tail -n 1 out | cut -f2)" = "order 16" ]
	mq-xrange -r -c 11 orders | tac | cmp - out

	# Every body from the start, through jq.
	[ "$(mq-xread -o json orders 0 | jq -r .body)" = "$(mq-xrange orders | cut -f2)" ]
	[ "$(mq-xread -o json orders 0 | jq -r .body | head -n 1)" = "order 1" ]

	# In the background, into a file: once it said so, nothing is missed.
	mkfifo ready
	mq-xread -f --ready-fd 3 orders 3> ready > new-orders &
	bg+=($!)
	read -r _ < ready
	mq-xadd orders 'order 3'
	wait_until file_has_lines new-orders 1
	kill -TERM "${bg[2]}"
	wait "${bg[2]}"
	[ "$(cut -f2 new-orders)" = "order 3" ]
}
