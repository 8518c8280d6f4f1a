#!/usr/bin/env bats
# deadletter.bats - the stream's queue policy applies to what RESP
# clients do: a delivery limit set with mq-queue dead-letters an entry
# that XAUTOCLAIM or XCLAIM would deliver once more than the limit, and
# mq-dlq finds it there with its reason, while XPENDING no longer lists it.

load lib.sh

setup() {
	interop_setup || return 1
	mq_up
}

# pending_count: the number of pending entries of group workers on jobs.
pending_count() {
	cli XPENDING jobs workers | head -1
}

@test "dead letters: XAUTOCLAIM past mq-queue's delivery limit dead-letters the entry" {
	require_spool_server mq-queue mq-dlq
	cli XADD jobs 1-0 task 7 body payload > /dev/null
	cli XADD jobs 2-0 body other > /dev/null
	cli XGROUP CREATE jobs workers 0 > /dev/null
	# Set while mq-serve has the stream open: its handle sees the change.
	run "$MQ_BIN/mq-queue" --delivery-limit 3 jobs
	[ "$status" -eq 0 ]
	run cli XREADGROUP GROUP workers w1 COUNT 1 STREAMS jobs '>'
	[ "$output" = "$(printf 'jobs\n1-0\ntask\n7\nbody\npayload')" ]
	# Delivered once; each claim with min-idle 0 delivers it again.
	claims=0
	while [ "$(pending_count)" != 0 ] && [ "$claims" -lt 10 ]; do
		run cli XAUTOCLAIM jobs workers w2 0 0 COUNT 10
		[ "$status" -eq 0 ]
		claims=$((claims + 1))
		if [ "$claims" -lt 3 ]; then
			# Claimed: delivery count 1 + claims.
			[ "$(echo "$output" | sed -n 2p)" = 1-0 ]
			run cli XPENDING jobs workers - + 10
			[ "$output" = "$(printf '1-0\nw2\n%s\n%d' \
			    "$(echo "$output" | sed -n 3p)" $((claims + 1)))" ]
		fi
	done
	# The third claim would have been a fourth delivery.
	[ "$claims" -eq 3 ]
	[ "$(pending_count)" = 0 ]
	run cli XPENDING jobs workers - + 10
	[ -z "$output" ]
	run "$MQ_BIN/mq-dlq" list jobs
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[ "$(echo "$output" | cut -f2-)" = "$(printf 'delivery-limit\t1-0\t3\tpayload')" ]
	run "$MQ_BIN/mq-dlq" count jobs
	[ "$output" = 1 ]
	# The dead letter is a stream key too, with its headers as fields.
	run cli XRANGE jobs.dlq - +
	[[ "$output" == *$'\nmq-origin\njobs\nmq-origin-id\n1-0\nmq-reason\ndelivery-limit\nmq-count\n3\n'* ]]
	[[ "$output" == *$'\ntask\n7\nbody\npayload' ]]
	# The entry stays in the stream; the group goes on with the next one.
	run cli XLEN jobs
	[ "$output" = 2 ]
	run cli XREADGROUP GROUP workers w1 STREAMS jobs '>'
	[ "$output" = "$(printf 'jobs\n2-0\nbody\nother')" ]
	# XCLAIM counts deliveries the same way (JUSTID does not count one,
	# as in Redis, so it never reaches the limit).
	run cli XCLAIM jobs workers w2 0 2-0 JUSTID
	[ "$output" = 2-0 ]
	for i in 1 2; do
		run cli XCLAIM jobs workers w2 0 2-0
		[ "$(echo "$output" | head -1)" = 2-0 ]
	done
	run cli XCLAIM jobs workers w2 0 2-0
	[ -z "$output" ]
	run "$MQ_BIN/mq-dlq" count jobs
	[ "$output" = 2 ]
	[ "$(pending_count)" = 0 ]
}
