# lib.sh - what the interop tests share: free loopback ports, a reference
# redis-server, mq-serve, waiting for a port, stopping what was started.
#
# Loaded by the bats files with `load lib.sh`.  Everything listens on and
# connects to 127.0.0.1 only.
#
# Environment:
#   MQ_BIN            the tools, by default the repository's bin/
#   MQ_SERVE_CMD      how start_mq starts "mq-serve": a command or shell
#                     function called as CMD PORT SPOOL [OPTION]... that runs
#                     the server in the foreground (start_mq puts it in the
#                     background); the options are mq-serve's.
#                     Unset: $MQ_BIN/mq-serve.  MQ_SERVE_CMD=serve_redis runs
#                     every test against Debian's redis-server instead, to
#                     check the harness itself; cross-door tests are skipped.
#   MQ_REQUIRE_SERVE  1: a missing mq-serve fails the tests instead of
#                     skipping them.
#   MQ_PYTHON         the python3 that has Debian's python3-redis,
#                     /usr/bin/python3 by default (not a pyenv's).
#
# Each test gets a directory of its own ($BATS_TEST_TMPDIR) and teardown
# stops every server that start_redis or start_mq started.

: "${MQ_BIN:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/bin}"
export MQ_BIN
# shellcheck disable=SC2034 # used by the bats files
INTEROP=$(cd "$BATS_TEST_DIRNAME" && pwd)
if [ -z "${MQ_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then
		MQ_PYTHON=/usr/bin/python3
	else
		MQ_PYTHON=python3
	fi
fi
export MQ_PYTHON

# PIDs of the servers this test started, for teardown.
STARTED_PIDS=

# free_port: prints a TCP port of 127.0.0.1 that nothing listens on now.
# The kernel picks it (bind to port 0); another process could take it
# before the server binds it, which only makes wait_port fail.
free_port() {
	"$MQ_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# start_redis PORT DIR [OPTION VALUE]...: Debian's redis-server on
# 127.0.0.1:PORT, nothing saved, working directory DIR (its log is
# DIR/redis.log), more configuration from the arguments, in the
# background.  Sets REDIS_PID.
start_redis() {
	local port=$1 dir=$2
	shift 2
	mkdir -p "$dir" || return 1
	redis-server --bind 127.0.0.1 --port "$port" --save '' \
	    --appendonly no --dir "$dir" --daemonize no \
	    --logfile "$dir/redis.log" "$@" </dev/null >/dev/null 2>&1 3>&- &
	REDIS_PID=$!
	STARTED_PIDS="$STARTED_PIDS $REDIS_PID"
}

# serve_redis PORT SPOOL: a stand-in for mq-serve (MQ_SERVE_CMD=serve_redis)
# that runs redis-server in the foreground, its files in SPOOL.
serve_redis() {
	mkdir -p "$2" || return 1
	exec redis-server --bind 127.0.0.1 --port "$1" --save '' \
	    --appendonly no --dir "$2" --daemonize no
}

# serve_mq PORT SPOOL [OPTION]...: the real mq-serve, RESP only, in the
# foreground, with more options of mq-serve.
serve_mq() {
	local port=$1 spool=$2
	shift 2
	exec "$MQ_BIN/mq-serve" --spool "$spool" --resp "127.0.0.1:$port" \
	    --amqp off --mqtt off --stomp off --kafka off "$@"
}

# missing WHAT: what a test does when WHAT it needs is not installed:
# skips, unless MQ_REQUIRE_SERVE=1, when that is a failure.
missing() {
	if [ "${MQ_REQUIRE_SERVE:-0}" = 1 ]; then
		echo "no $1 (MQ_REQUIRE_SERVE=1)" >&2
		return 1
	fi
	skip "no $1 yet (MQ_REQUIRE_SERVE=1 makes this a failure)"
}

# require_program PATH: skips the test when there is no program PATH
# (missing).
require_program() {
	[ -x "$1" ] && return 0
	missing "$1"
}

# require_serve: skips the test when there is no mq-serve to test (unless
# MQ_REQUIRE_SERVE=1, when that is a failure).
require_serve() {
	[ -n "${MQ_SERVE_CMD:-}" ] && return 0
	require_program "$MQ_BIN/mq-serve"
}

# require_spool_server: skips a cross-door test (tools and server on one
# spool) when the server under test is not mq-serve.
require_spool_server() {
	require_serve || return 1
	if [ "${MQ_SERVE_CMD:-}" = serve_redis ]; then
		skip "cross-door test: needs mq-serve, not redis-server"
	fi
	local t
	for t in "$@"; do
		[ -x "$MQ_BIN/$t" ] || skip "no $MQ_BIN/$t"
	done
}

# serve_full_disk PORT SPOOL [OPTION]...: mq-serve with its spool on a
# 24 MiB tmpfs of its own (a mount namespace that goes with it; as
# root, or in a user namespace): the test fills it through
# /proc/PID/root.
serve_full_disk() {
	local port=$1 spool=$2 ns=(unshare -m)
	shift 2
	[ "$(id -u)" -eq 0 ] || ns=(unshare -r -m)
	mkdir -p "$spool.disk"
	exec "${ns[@]}" sh -c 'disk=$1
	    shift
	    mount -t tmpfs -o size=24m mq-disk "$disk" && exec "$@"' \
	    sh "$spool.disk" "$MQ_BIN/mq-serve" --spool "$spool.disk/spool" \
	    --resp "127.0.0.1:$port" --amqp off "$@"
}

# require_full_disk: skips a test of serve_full_disk where no mount
# namespace may be made.
require_full_disk() {
	local ns=(unshare -m)
	[ "$(id -u)" -eq 0 ] || ns=(unshare -r -m)
	"${ns[@]}" true 2> /dev/null || skip "no mount namespace may be made here"
}

# start_mq PORT SPOOL [OPTION]...: mq-serve (or MQ_SERVE_CMD) on
# 127.0.0.1:PORT with spool SPOOL and the options, in the background, its
# output in SPOOL.log.  Sets MQ_PID.
start_mq() {
	local port=$1 spool=$2
	shift 2
	"${MQ_SERVE_CMD:-serve_mq}" "$port" "$spool" "$@" \
	    </dev/null >"$spool.log" 2>&1 3>&- &
	MQ_PID=$!
	STARTED_PIDS="$STARTED_PIDS $MQ_PID"
}

# wait_port PORT [PID [SECONDS]]: waits until 127.0.0.1:PORT accepts
# connections, for at most SECONDS (10 by default); fails sooner if
# process PID (0: none) has exited.
wait_port() {
	"$MQ_PYTHON" - "$1" "${2:-0}" "${3:-10}" <<'EOF'
import os, socket, sys, time
port, pid, bound = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + bound
while time.monotonic() < deadline:
	try:
		socket.create_connection(("127.0.0.1", port), timeout=1).close()
		sys.exit(0)
	except OSError:
		pass
	if pid:
		try:
			os.kill(pid, 0)
		except ProcessLookupError:
			sys.exit("wait_port: the server (pid %d) exited" % pid)
	time.sleep(0.02)
sys.exit("wait_port: nothing listens on 127.0.0.1:%d after %d s" % (port, bound))
EOF
}

# alive PID: process PID exists and is not a zombie (a child of this
# shell that exited stays one until it is waited for).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# stop PID: SIGTERM, then waits for it to exit (SIGKILL after 5 s).
stop() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 500; i++)); do
		alive "$pid" || break
		sleep 0.01
	done
	if alive "$pid"; then
		echo "stop: $pid ignored SIGTERM for 5 s, killing it" >&2
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# interop_setup: what every test does first: work in its own directory.
interop_setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

# mq_up [OPTION]...: a fresh server under test for this test, with more
# options of mq-serve: MQ_PORT, MQ_SPOOL (also exported for the tools),
# MQ_PID.
mq_up() {
	require_serve || return 1
	MQ_PORT=$(free_port)
	export MQ_SPOOL=$BATS_TEST_TMPDIR/spool
	start_mq "$MQ_PORT" "$MQ_SPOOL" "$@"
	wait_port "$MQ_PORT" "$MQ_PID" || { cat "$MQ_SPOOL.log" >&2; return 1; }
}

# redis_up [OPTION VALUE]...: a fresh reference redis-server: REDIS_PORT,
# REDIS_PID.
redis_up() {
	REDIS_PORT=$(free_port)
	start_redis "$REDIS_PORT" "$BATS_TEST_TMPDIR/redis" "$@"
	wait_port "$REDIS_PORT" "$REDIS_PID" ||
	    { cat "$BATS_TEST_TMPDIR/redis/redis.log" >&2; return 1; }
}

# background OUT CMD...: runs CMD in the background, its output in file
# OUT, stopped at teardown.  Sets BG_PID.
background() {
	local out=$1
	shift
	"$@" </dev/null >"$out" 2>&1 3>&- &
	BG_PID=$!
	STARTED_PIDS="$BG_PID $STARTED_PIDS"
}

# run_ok CMD...: runs CMD (bats's run), shows what it printed, and
# passes if it exited 0 with "ok" as its last line.
run_ok() {
	run "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

# cli ARGS...: redis-cli against the server under test.
cli() {
	redis-cli -h 127.0.0.1 -p "$MQ_PORT" "$@"
}

# wait_until CMD...: runs CMD until it succeeds, for at most 10 s.  The
# bound only keeps a broken server from hanging the run.
wait_until() {
	local end=$((SECONDS + 10))
	while ((SECONDS < end)); do
		"$@" && return 0
		sleep 0.02
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# file_has_lines FILE N: FILE exists and has at least N lines.
file_has_lines() {
	[ -e "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]
}

# stop_started: stops every server and background command this test
# started (what teardown does; a bats file with a teardown of its own
# calls it).
stop_started() {
	local pid
	for pid in $STARTED_PIDS; do
		stop "$pid"
	done
	STARTED_PIDS=
}

teardown() {
	stop_started
}
