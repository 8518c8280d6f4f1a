#!/usr/bin/env bats
# resp-malformed.bats - malformed requests as raw bytes on a connection:
# the exact protocol error Redis sends, the connection closed after it,
# and the server still answering on a new connection with its data kept.
# The cases and their expected replies are in resp-malformed.py; those
# where Redis and mq-serve agree are run against redis-server too.

load lib.sh

MAX_BULK=1048576	# the smallest proto-max-bulk-len Redis takes

setup() {
	interop_setup
}

# serve_mq_small PORT SPOOL: mq-serve with the same bulk limit as the
# reference redis-server.
serve_mq_small() {
	exec "$MQ_BIN/mq-serve" --spool "$2" --resp "127.0.0.1:$1" \
	    --amqp off --mqtt off --stomp off --kafka off --max-request "$MAX_BULK"
}

@test "resp-malformed: protocol errors as Redis sends them, then closed; the server goes on" {
	require_serve
	redis_up --proto-max-bulk-len "$MAX_BULK"
	if [ -n "${MQ_SERVE_CMD:-}" ]; then
		mq_up
		# Checking the harness: redis-server on both sides.
		run "$MQ_PYTHON" "$INTEROP/resp-malformed.py" --same \
		    --redis "127.0.0.1:$REDIS_PORT" "127.0.0.1:$MQ_PORT"
	else
		MQ_SERVE_CMD=serve_mq_small mq_up
		run "$MQ_PYTHON" "$INTEROP/resp-malformed.py" --max-bulk "$MAX_BULK" \
		    --redis "127.0.0.1:$REDIS_PORT" "127.0.0.1:$MQ_PORT"
	fi
	echo "$output"
	[ "$status" -eq 0 ]
	# Every case ran, on both servers.
	[ "$(grep -c '^ok mq: ' <<< "$output")" -ge 25 ]
	[ "$(grep -c '^ok redis: ' <<< "$output")" -ge 20 ]
	alive "$MQ_PID"
}

@test "resp-malformed: a request over --max-request without a bulk over it closes the connection" {
	require_serve
	[ -z "${MQ_SERVE_CMD:-}" ] || skip "mq-serve's own limit"
	MQ_SERVE_CMD=serve_mq_small mq_up
	# Two bulks of 600 KiB: each under the limit, together over it.
	run "$MQ_PYTHON" - "$MQ_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
v = b"x" * (600 * 1024)
try:
	s.sendall(b"*3\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(v), v, len(v), v))
except OSError:
	pass
data = b""
while True:
	try:
		c = s.recv(65536)
	except ConnectionResetError:
		break
	if not c:
		break
	data += c
print("closed after %d bytes" % len(data))
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "closed after 0 bytes" ]
	grep -q "proto=resp closed reason=request too large" "$MQ_SPOOL.log"
	run redis-cli -h 127.0.0.1 -p "$MQ_PORT" PING
	[ "$output" = PONG ]
}
