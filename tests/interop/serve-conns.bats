#!/usr/bin/env bats
# serve-conns.bats - mq-serve's connections: what an idle one keeps (no
# buffer), requests cut into small pieces or pipelined behind a blocked
# read.  The raw-socket cases are in conns.py.

load lib.sh

setup() {
	interop_setup
}

# mq_own: skips a test of mq-serve's own memory when the server under
# test is another (MQ_SERVE_CMD).
mq_own() {
	require_serve || return 1
	[ -z "${MQ_SERVE_CMD:-}" ] || skip "mq-serve's own memory"
}

@test "connections: an idle one keeps no buffer, one in the middle of a request just what it sent" {
	mq_own
	mq_up
	run "$MQ_PYTHON" "$INTEROP/conns.py" idle "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "connections: a pipeline sent in pieces of 1 to 1,500 bytes gets every reply, byte for byte" {
	mq_up
	run "$MQ_PYTHON" "$INTEROP/conns.py" split "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "connections: what is pipelined behind a blocked XREAD is kept, then run once it is served" {
	mq_own
	mq_up
	run "$MQ_PYTHON" "$INTEROP/conns.py" blocked "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
}
