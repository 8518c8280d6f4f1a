#!/usr/bin/env bats
# fanout.bats - a run of pipelined PUBLISHes as subscribers receive it
# (core/fanout.c): byte for byte what redis-server sends, and in the
# order published when some of the publishes go through the spool's log.

load lib.sh

setup() {
	interop_setup
}

@test "fanout: a pipelined burst reaches four subscribers, RESP2 and RESP3, channels and patterns, as redis-server sends it" {
	require_serve
	redis_up
	mq_up
	"$MQ_PYTHON" "$INTEROP/fanout.py" "127.0.0.1:$REDIS_PORT" burst > redis.out
	"$MQ_PYTHON" "$INTEROP/fanout.py" "127.0.0.1:$MQ_PORT" burst > mq.out
	# The reference is no empty transcript: each subscriber got frames.
	[ "$(grep -c '^s[0-3] received [1-9][0-9]* frames$' redis.out)" -eq 4 ]
	run diff redis.out mq.out
	echo "$output" | cut -c 1-200 | head -40
	[ "$status" -eq 0 ]
}

# With an mq-subscribe of "b", a publish to "b" goes to the log and one
# to "a" to none: the server's subscriber of both must still get them
# as published, however the run of appends mixes them.
@test "fanout: publishes to the log and to none, in one pipeline, arrive in the order published" {
	require_spool_server mq-subscribe
	mq_up
	mkfifo ready
	"$MQ_BIN/mq-subscribe" --ready-fd 3 -f b 3> ready > sub.out &
	STARTED_PIDS="$! $STARTED_PIDS"
	read -r _ < ready
	run "$MQ_PYTHON" "$INTEROP/fanout.py" "127.0.0.1:$MQ_PORT" order 200
	echo "$output" | cut -c 1-400
	[ "$status" -eq 0 ]
	# mq-subscribe got the publishes to "b" (a check of the setup).
	wait_until file_has_lines sub.out 100
}
