#!/usr/bin/env bats
# mq-nack: handing entries back, or dead-lettering them.

load helpers

@test "mq-nack: shared options" {
	mq-xadd -q s m
	mq-xreadgroup g c s > /dev/null
	common_options mq-nack s g 0-1
}

@test "mq-nack: hands entries back: delivered again before new ones" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup -c 2 g c1 s > /dev/null
	run mq-nack -v --delay 0 s g "${ids[1]}"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	[ "$(pending g c1 s)" -eq 1 ]
	[ "$(mq-xreadgroup g c2 s | cut -f2 | paste -sd' ')" = "b c" ]
}

@test "mq-nack: a handed-back entry waits the stream's retry delay first" {
	mq-queue s --retry-delay 1h
	id=$(mq-xadd s a)
	mq-xreadgroup g c1 s > /dev/null
	mq-nack s g "$id"
	# Handed back (no consumer), but not delivered before its time.
	[ "$(pending g c1 s)" -eq 0 ]
	[ -z "$(mq-xreadgroup g c2 s)" ]
	mq-xadd -q s b
	[ "$(mq-xreadgroup g c2 s | cut -f2)" = b ]
	run mq-nack --delay soon s g "$id"
	[ "$status" -eq 2 ]
}

@test "mq-nack: takes ids from the first field of stdin lines" {
	seq 1 3 | mq-xadd -q s
	run bash -c 'mq-xreadgroup g c s | mq-nack -v --delay 0 s g'
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xreadgroup g c s | wc -l)" -eq 3 ]
}

@test "mq-nack: --reject dead-letters the entries" {
	ids=($(mq-xadd s keep drop))
	mq-xreadgroup g c s > /dev/null
	run mq-nack --reject s g "${ids[1]}"
	[ "$status" -eq 0 ]
	[ "$(pending g c s)" -eq 1 ]
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-dlq list s | cut -f2,3,5)" = "$(printf 'rejected\t%s\tdrop' "${ids[1]}")" ]
	mq-nack -r s g "${ids[0]}"
	[ "$(mq-dlq count s)" -eq 2 ]
}

@test "mq-nack: at the delivery limit an entry is dead-lettered" {
	mq-queue s --delivery-limit 2
	id=$(mq-xadd s poison)
	mq-xreadgroup g c s > /dev/null
	mq-nack --delay 0 s g "$id"
	[ "$(mq-dlq count s)" -eq 0 ]
	mq-xreadgroup g c s > /dev/null
	mq-nack --delay 0 s g "$id"
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-dlq list s | cut -f2-4)" = "$(printf 'delivery-limit\t%s\t2' "$id")" ]
	run mq-xreadgroup g c s
	[ -z "$output" ]
}

@test "mq-nack: errors: 65 bad id, 66 no such stream or group, 2 usage" {
	mq-xadd -q s a
	run mq-nack s nogroup 1-1
	[ "$status" -eq 66 ]
	mq-xreadgroup g c s > /dev/null
	run mq-nack s g bad
	[ "$status" -eq 65 ]
	run mq-nack nostream g 1-1
	[ "$status" -eq 66 ]
	run mq-nack s
	[ "$status" -eq 2 ]
}

@test "mq-nack: the examples of the manual page" {
	ids=($(mq-xadd orders a b c))
	mq-xreadgroup workers w1 orders > /dev/null
	mq-nack --delay 0 orders workers "${ids[0]}"
	[ "$(pending workers w1 orders)" -eq 2 ]
	mq-xreadgroup workers w1 orders 0 | mq-nack --delay 0 orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]
	[ "$(mq-xreadgroup workers w2 orders | cut -f2 | sort | paste -sd' ')" = "a b c" ]
	mq-nack --reject orders workers "${ids[1]}"
	[ "$(mq-dlq list orders | cut -f2,5)" = "$(printf 'rejected\tb')" ]
}
