#!/usr/bin/env bats
# serve-bigreply.bats - mq-serve's large replies, written as the client
# reads them (XRANGE of a million entries whole, in bounded memory, with
# other clients served meanwhile; what is pipelined behind in order; a
# transaction; the entries as they were when the command ran; a RESP3
# subscriber's messages after the reply; a woken XREAD BLOCK; data found
# corrupt half way; KEYS and SCAN), and the output
# limits: a normal client that does not read is
# held, never closed; a subscriber that does not read is closed past
# the pub/sub limits.  The raw-socket cases are in bigreply.py.

load lib.sh

setup() {
	interop_setup
}

# mq_own: skips a test of mq-serve's own limits, memory or log when the
# server under test is another (MQ_SERVE_CMD).
mq_own() {
	require_serve || return 1
	[ -z "${MQ_SERVE_CMD:-}" ] || skip "mq-serve's own limits and log"
}

# log_has TEXT: the server's log has a line with TEXT.
log_has() {
	grep -qF -- "$1" "$MQ_SPOOL.log"
}

# make_stream N: stream "s" of the server's spool gets N entries, the
# body of the I-th '%099d' % I, appended by mq-xadd from a file (fast);
# their ids go to the file "ids".
make_stream() {
	"$MQ_PYTHON" -c 'import sys
sys.stdout.write("".join("%099d\n" % i for i in range(int(sys.argv[1]))))' \
	    "$1" > lines
	"$MQ_BIN/mq-xadd" s < lines > ids
	[ "$(wc -l < ids)" -eq "$1" ]
}

@test "large replies: XRANGE of 1,000,000 entries reaches a reading client whole, in bounded memory, while another client is answered" {
	mq_own
	mq_up
	make_stream 1000000
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" range "$MQ_PORT" "$MQ_PID" ids
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: a transaction with large replies gets every reply whole, in order" {
	require_spool_server mq-xadd
	mq_up
	make_stream 1000000
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" exec "$MQ_PORT" ids
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: the entries are those the stream held when the command ran" {
	require_spool_server mq-xadd
	mq_up
	# 133 MiB: three segments, two of which the trim removes.
	make_stream 1000000
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" snapshot "$MQ_PORT" ids
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: a RESP3 subscriber gets the messages published meanwhile after the reply" {
	require_spool_server mq-xadd
	mq_up
	make_stream 200000
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" resp3 "$MQ_PORT" ids
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: a woken XREAD BLOCK, then what was pipelined behind it" {
	require_serve
	mq_up
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" blocked "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: one whose data turns out corrupt half way closes the connection, and the log says why" {
	mq_own
	mq_up
	make_stream 1000000
	seg=$(ls "$MQ_SPOOL"/streams/s/*.log | sed -n 2p)
	[ -n "$seg" ]
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" corrupt "$MQ_PORT" "$seg"
	echo "$output"
	[ "$status" -eq 0 ]
	log_has "xrange: corrupt spool file"
	log_has "closed reason=reply failed"
}

@test "large replies: under --fsync always, while another client appends" {
	require_spool_server mq-xadd
	mq_up --fsync always
	make_stream 1000000
	background xadd.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" -r 100000 \
	    XADD other '*' body x
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" exec "$MQ_PORT" ids
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "large replies: KEYS and SCAN over 3,000 keys" {
	require_spool_server mq-xadd
	mq_up
	"$MQ_PYTHON" -c 'import sys
sys.stdout.write("".join("k%d\tv\n" % i for i in range(3000)))' |
	    "$MQ_BIN/mq-xadd" -s > /dev/null
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" keys "$MQ_PORT" 3000
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "output limits: a client that does not read is held past --output-limit, not closed" {
	mq_own
	mq_up --output-limit 65536
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" held "$MQ_PORT" 65536
	echo "$output"
	[ "$status" -eq 0 ]
	! log_has "reason=output buffer limit"
}

@test "output limits: a subscriber that does not read is closed past 32 MiB unsent, one that reads is not" {
	mq_own
	mq_up
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" pubsub "$MQ_PORT" 33554432
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c "reason=output buffer limit" "$MQ_SPOOL.log")" -eq 1 ]
}

@test "output limits: --pubsub-limit sets the hard limit" {
	mq_own
	mq_up --pubsub-limit 1048576
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" pubsub "$MQ_PORT" 1048576
	echo "$output"
	[ "$status" -eq 0 ]
	log_has "reason=output buffer limit"
}

@test "output limits: a subscriber over the soft limit for its time is closed" {
	mq_own
	mq_up --pubsub-limit 0:262144:1
	run "$MQ_PYTHON" "$INTEROP/bigreply.py" soft "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c "reason=output buffer limit" "$MQ_SPOOL.log")" -eq 1 ]
}

@test "output limits: CONFIG GET client-output-buffer-limit says them" {
	mq_own
	mq_up --pubsub-limit 1048576:65536:5
	run cli CONFIG GET client-output-buffer-limit
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "normal 0 0 0 slave 0 0 0 pubsub 1048576 65536 5" ]
}
