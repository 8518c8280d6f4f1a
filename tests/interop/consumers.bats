#!/usr/bin/env bats
# consumers.bats - what a dead consumer held goes on through mq-serve too:
# the XREADGROUP of a Redis client takes first the entries of a tool's
# consumer whose process was killed, and the entries a Redis consumer
# kept longer than the stream's lease (mq-queue --lease).

load lib.sh

setup() {
	interop_setup || return 1
	mq_up
}

# pending_of ID: "CONSUMER DELIVERIES" of pending entry ID of group g on s.
pending_of() {
	cli XPENDING s g "$1" "$1" 1 | sed -n '2p;4p' | paste -sd' '
}

# hold_entry: an mq-xreadgroup -x of consumer "tool" of group g holds the
# entry its command runs for; READER is its pid, ./worker the command's.
hold_entry() {
	"$MQ_BIN/mq-xreadgroup" -f -x 'echo $$ > worker; exec sleep 1000' \
	    g tool s 3>&- &
	reader=$!
	wait_until test -s worker
}

@test "consumers: XREADGROUP takes at once what a killed mq-xreadgroup -x held" {
	require_spool_server mq-xreadgroup
	cli XADD s 1-0 body job > /dev/null
	hold_entry
	[ "$(pending_of 1-0)" = "tool 1" ]
	kill -KILL "$reader" "$(cat worker)"
	wait "$reader" || true
	run cli XREADGROUP GROUP g redis COUNT 10 STREAMS s '>'
	[ "$output" = "$(printf 's\n1-0\nbody\njob')" ]
	[ "$(pending_of 1-0)" = "redis 2" ]
}

@test "consumers: a blocked XREADGROUP is woken when the reader it waits behind dies" {
	require_spool_server mq-xreadgroup
	cli XADD s 1-0 body job > /dev/null
	hold_entry
	background blocked redis-cli -h 127.0.0.1 -p "$MQ_PORT" \
	    XREADGROUP GROUP g redis BLOCK 0 STREAMS s '>'
	kill -KILL "$reader" "$(cat worker)"
	wait "$reader" || true
	wait_until grep -q job blocked
	[ "$(cat blocked)" = "$(printf 's\n1-0\nbody\njob')" ]
}

# taken_by_r2: the next XREADGROUP of consumer r2 gets the entry 1-0.
taken_by_r2() {
	[ "$(cli XREADGROUP GROUP g r2 COUNT 1 STREAMS s '>' | sed -n 2p)" = 1-0 ]
}

@test "consumers: an entry a Redis consumer kept past the lease goes to the next reader" {
	require_spool_server mq-queue
	cli XADD s 1-0 body job > /dev/null
	cli XGROUP CREATE s g 0 > /dev/null
	cli XREADGROUP GROUP g r1 COUNT 1 STREAMS s '>' > /dev/null
	# The default lease is 30 minutes: it stays r1's.
	run cli XREADGROUP GROUP g r2 COUNT 1 STREAMS s '>'
	[ -z "$output" ]
	[ "$(pending_of 1-0)" = "r1 1" ]
	"$MQ_BIN/mq-queue" s --lease 200ms
	wait_until taken_by_r2
	[ "$(pending_of 1-0)" = "r2 2" ]
	# --lease 0: as in Redis, never.
	"$MQ_BIN/mq-queue" s --lease 0
	cli XADD s 2-0 body job2 > /dev/null
	cli XREADGROUP GROUP g r1 COUNT 1 STREAMS s '>' > /dev/null
	run cli XREADGROUP GROUP g r2 COUNT 1 STREAMS s '>'
	[ -z "$output" ]
}
