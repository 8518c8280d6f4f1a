#!/usr/bin/env bats
# serve-conns.bats - mq-serve's connections: what an idle one keeps (no
# buffer), requests cut into small pieces or pipelined behind a blocked
# read, the reason each close is logged with, and a full disk logged
# once.  The raw-socket cases are in conns.py.

load lib.sh

setup() {
	interop_setup
}

# mq_own: skips a test of mq-serve's own memory or log when the server
# under test is another (MQ_SERVE_CMD).
mq_own() {
	require_serve || return 1
	[ -z "${MQ_SERVE_CMD:-}" ] || skip "mq-serve's own memory and log"
}

# log_has TEXT: the server's log has a line with TEXT.
log_has() {
	grep -qF -- "$1" "$MQ_SPOOL.log"
}

# log_count TEXT: how many lines of the server's log have TEXT.
log_count() {
	grep -cF -- "$1" "$MQ_SPOOL.log"
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

@test "connections: the log says why each was closed: protocol error, quit, peer closed" {
	mq_own
	mq_up
	run "$MQ_PYTHON" - "$MQ_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
def talk(data):
	s = socket.create_connection(("127.0.0.1", port), timeout=10)
	s.sendall(data)
	out = b""
	while True:
		c = s.recv(4096)
		if not c:
			return out
		out += c
print(talk(b"*x\r\n"))
print(talk(b"QUIT\r\n"))
s = socket.create_connection(("127.0.0.1", port), timeout=10)
print("%s:%d" % s.getsockname()[:2])
s.close()
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "b'-ERR Protocol error: invalid multibulk length\\r\\n'" ]
	[ "${lines[1]}" = "b'+OK\\r\\n'" ]
	wait_until log_has "peer=${lines[2]} proto=resp closed reason=peer closed"
	log_has "proto=resp closed reason=protocol error: invalid multibulk length"
	log_has "proto=resp closed reason=quit"
}

@test "connections: the log says why each was closed: idle timeout" {
	mq_own
	mq_up --timeout 1
	run "$MQ_PYTHON" - "$MQ_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"PING\r\n")
print(s.recv(16) == b"+PONG\r\n", s.recv(16) == b"")	# b"": closed
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "True True" ]
	log_has "proto=resp closed reason=idle timeout"
}

@test "connections: the log says why each was refused: max clients" {
	mq_own
	mq_up --maxclients 1
	# The one client allowed: not wait_port's once it is gone.
	wait_until log_has "proto=resp closed reason=peer closed"
	# One connection held, one more refused.  (A subscriber closed for
	# its output: serve-bigreply.bats.)
	background held.out "$MQ_PYTHON" "$INTEROP/conns.py" unread "$MQ_PORT" 1
	wait_until grep -q served held.out
	run "$MQ_PYTHON" - "$MQ_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
out = b""
while True:
	c = s.recv(4096)
	if not c:
		break
	out += c
print(out)
PY
	[ "$output" = "b'-ERR max number of clients reached\\r\\n'" ]
	log_has "proto=resp refused reason=max clients"
}

MISCONF="MISCONF Errors writing to the spool: No space left on device"

@test "a full disk: logged once however many appends fail, and once when they succeed again" {
	mq_own
	require_full_disk
	MQ_SERVE_CMD=serve_full_disk mq_up
	[ "$(cli XADD before '*' f v | wc -l)" -eq 1 ]
	# 12 MiB taken: less than the 16 MiB that appends leave free.
	head -c 12M /dev/zero > "/proc/$MQ_PID/root$MQ_SPOOL.disk/fill"
	# libmq looks at the free space once a megabyte written, then at
	# each append until one succeeds.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run sh -c "head -c 400000 /dev/zero | tr '\\0' x |
		    redis-cli -h 127.0.0.1 -p $MQ_PORT -x XADD big '*' f"
		[ "$output" != "$MISCONF" ] || break
	done
	[ "$output" = "$MISCONF" ]
	for i in 1 2 3 4 5; do
		run cli XADD "s$i" '*' f v
		[ "$output" = "$MISCONF" ]
	done
	run cli ZADD z 1 m
	[ "$output" = "$MISCONF" ]
	[ "$(log_count "spool disk full: appends fail")" -eq 1 ]
	rm "/proc/$MQ_PID/root$MQ_SPOOL.disk/fill"
	wait_until xadd_logged "spool disk writable again: appends succeed"
	[ "$(log_count "spool disk full: appends fail")" -eq 1 ]
	[ "$(log_count "spool disk writable again")" -eq 1 ]
}

# xadd_logged TEXT: an XADD succeeds, and the log has TEXT.
xadd_logged() {
	cli XADD again '*' f v | grep -q '^[0-9]*-[0-9]*$' && log_has "$1"
}
