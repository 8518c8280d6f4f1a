#!/usr/bin/env bats
# crash.bats - SIGKILL of mq-serve while Redis clients pipeline XADD over
# 1,000 streams, and while its write-ahead log drains.
#
# mq-serve replies to an XADD only after its write returned, so under its
# default fsync policy an id a client was given survives the death of the
# server (the page cache does): after each kill and a restart on the same
# spool, every acknowledged append is there, in its stream, under its id,
# ids strictly increasing, nothing twice, and every stream takes new
# appends.  The clients are appends.py; the checks are ../appends.bash's.

load lib.sh
load ../appends

setup() {
	interop_setup || return 1
	"$MQ_PYTHON" -c 'import redis' || {
		echo "$MQ_PYTHON has no redis module: sh scripts/install-deps.sh --test" >&2
		return 1
	}
}

# appends ARGS...: appends.py with ARGS against the server under test.
appends() {
	"$MQ_PYTHON" "$INTEROP/appends.py" "$1" "$MQ_PORT" "${@:2}"
}

# mq_restart: mq-serve again on the spool of the last one, on a new port.
mq_restart() {
	MQ_PORT=$(free_port)
	start_mq "$MQ_PORT" "$MQ_SPOOL"
	wait_port "$MQ_PORT" "$MQ_PID" || { cat "$MQ_SPOOL.log" >&2; return 1; }
}

# kill_rounds ROUNDS PAD UNTIL...: ROUNDS times, four clients append
# over 1,000 streams (with PAD bytes more each), mq-serve is killed once
# UNTIL... succeeds (ROUND is set for it) and started again; then every
# acknowledged append must be there.
kill_rounds() {
	local rounds=$1 pad=$2 c status
	shift 2
	mq_up
	for round in $(seq "$rounds"); do
		clients=()
		for c in 1 2 3 4; do
			appends append 1000 "$round.$c" "$pad" \
			    > "acked.$round.$c" 2> "client.$round.$c" 3>&- &
			clients+=($!)
		done
		wait_until "$@" || { cat client.$round.*; return 1; }
		kill -9 "$MQ_PID"
		wait "$MQ_PID" || true
		# Each client stops when it loses the server (3), not before.
		for c in 1 2 3 4; do
			status=0
			wait "${clients[c - 1]}" || status=$?
			cat "client.$round.$c"
			[ "$status" -eq 3 ]
		done
		mq_restart
	done
	appends each 1000 after > after
	appends dump 1000 > stored
	check_appends stored acked.* after
	check_last stored after
}

# acked_lines N: the clients of this round were given N ids in all.
acked_lines() {
	lines_in "$1" acked.$round.{1,2,3,4}
}

@test "crash: SIGKILL of mq-serve amid pipelined XADD over 1,000 streams keeps every acknowledged append" {
	require_serve
	[ "${MQ_SERVE_CMD:-}" != serve_redis ] ||
	    skip "serve_redis keeps nothing on disk (appendonly no)"
	kill_rounds 4 0 acked_lines 4000
}

# draining: mq-serve logged that its write-ahead log drains (server.c).
draining() {
	grep -q "write-ahead log: .* bytes, draining" "$MQ_SPOOL.log"
}

@test "crash: SIGKILL of mq-serve while its write-ahead log drains keeps every acknowledged append" {
	require_serve
	[ "${MQ_SERVE_CMD:-}" != serve_redis ] ||
	    skip "the write-ahead log is mq-serve's"
	# Past 64 MiB, mq-serve appends directly and drains the log
	# (server.c, WAL_APPLY_BYTES): killed as soon as it says so.
	kill_rounds 2 4096 draining
}
