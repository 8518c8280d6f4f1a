#!/bin/sh
# bench-serve.sh - mq-serve against redis-server, side by side, over RESP.
#
#   sh scripts/bench-serve.sh        (after make; N=200000 requests a row)
#
# Starts mq-serve (its default fsync policy: every second) and
# redis-server (appendonly yes, appendfsync everysec) on free loopback
# ports, each on a fresh directory, and measures their resident memory
# idle and with 10,000 connections that sent one PING each and wait
# (first, so that it is what connections cost, not what the rows below
# leave), then, with 50 clients and 100-byte values, at pipelines of 1
# and 16:
#   - XADD and PUBLISH (one subscriber listening): redis-benchmark;
#   - XREADGROUP + XACK of the entries the XADD rows left: each client
#     reads one entry per XREADGROUP and acks it (scripts/bench/
#     resp-consume.c, as redis-benchmark cannot ack what it was given);
# then XADD's throughput and p99 latency to one stream with no client
# blocked and with 10,000 clients blocked in XREADGROUP on 10,000 other
# streams (scripts/bench/blocked.py), XADD from 10,000 clients at once,
# PUBLISH to 1, 4 and 50 subscribers, and the time from exec to the
# first PONG (mq-serve on an existing spool).  Prints a Markdown table;
# the ratio
# is mq-serve's figure over redis-server's.  Not a test: nothing here
# passes or fails.  Needs redis-server, redis-benchmark and python3
# (sh scripts/install-deps.sh --bench).
set -eu

N=${N:-200000}
CLIENTS=${CLIENTS:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/bench/lib.sh"
bench_init bench-serve redis-server redis-benchmark redis-cli python3 cc
# 10,000 connections need as many descriptors, here and in the servers.
ulimit -n 20000 2> /dev/null || ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

cc -O2 -o "$work/resp-consume" "$root/scripts/bench/resp-consume.c"

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# idle_conns PORT PID: the server's RSS with 10,000 more connections that
# sent one PING each, got its reply and wait.
idle_conns() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
port, pid = int(sys.argv[1]), sys.argv[2]
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(10000)]
for c in conns:
	c.sendall(b"PING\r\n")
for c in conns:
	assert c.recv(16).startswith(b"+PONG")
for line in open("/proc/%s/status" % pid):
	if line.startswith("VmRSS"):
		print(line.split()[1])
PY
}

value=$(printf '%0100d' 0)

redis_port=$(free_port)
mkdir "$work/redis"
redis_start=$(bench_startup redis "$redis_port" resp redis-server --bind 127.0.0.1 \
    --port "$redis_port" --dir "$work/redis" --appendonly yes \
    --appendfsync everysec --save '' --maxclients 20000)
redis_pid=$(cat "$work/redis.pid")
pids="$redis_pid"
mq_port=$(free_port)
# Started on an existing spool, as after a restart (creating one fsyncs
# its directories, which measures the disk, not the server).
"$bin/mq-publish" -q --spool "$work/spool" warmup x
mq_start=$(bench_startup mq "$mq_port" resp "$bin/mq-serve" --spool "$work/spool" \
    --resp "127.0.0.1:$mq_port" --amqp off --maxclients 20000)
mq_pid=$(cat "$work/mq.pid")
pids="$pids $mq_pid"
redis_idle=$(rss_kb "$redis_pid")
mq_idle=$(rss_kb "$mq_pid")
redis_conns=$(idle_conns "$redis_port" "$redis_pid")
mq_conns=$(idle_conns "$mq_port" "$mq_pid")

rows=
add_row() {
	rows="$rows$(awk -v l="$1" -v r="$2" -v m="$3" -v u="$4" \
	    'BEGIN { printf "| %s | %s %s | %s %s | %.2f |\n", l, r, u, m, u, (r > 0 ? m / r : 0) }')
"
}

# bench LABEL CMD...: redis-benchmark of CMD at pipelines of 1 and 16.
bench() {
	label=$1
	shift
	for p in 1 16; do
		r=$(redis-benchmark -p "$redis_port" -c "$CLIENTS" -n "$N" -P "$p" --csv "$@" | rps)
		m=$(redis-benchmark -p "$mq_port" -c "$CLIENTS" -n "$N" -P "$p" --csv "$@" | rps)
		add_row "$label, -P $p" "$r" "$m" "req/s"
	done
}

bench XADD XADD s '*' f "$value"
for port in "$redis_port" "$mq_port"; do
	redis-cli -p "$port" SUBSCRIBE ch > /dev/null &
	pids="$pids $!"
done
sleep 0.5	# the subscribers are in
bench "PUBLISH (1 subscriber)" PUBLISH ch "$value"

for p in 1 16; do
	for which in redis mq; do
		eval "port=\$${which}_port"
		redis-cli -p "$port" XGROUP CREATE s "g$p" 0 > /dev/null
		eval "${which}_read=\$(\"$work/resp-consume\" $port s g$p $CLIENTS $p $N)"
	done
	add_row "XREADGROUP + XACK, -P $p" "$redis_read" "$mq_read" "entries/s"
done

# xadd_p99 PORT: "REQ/S P99-MS" of XADD to one stream at -P 16.
xadd_p99() {
	redis-benchmark -p "$1" -c "$CLIENTS" -n "$N" -P 16 --csv \
	    XADD hot '*' f "$value" |
	    awk -F'"' 'NF > 3 && $2 != "test" { printf "%.0f %s", $4, $14 }'
}

# blocked_rows: XADD to one stream with no client blocked, then with
# 10,000 clients blocked in XREADGROUP on 10,000 other streams
# (scripts/bench/blocked.py); the blocked clients are gone after.
blocked_rows() {
	for which in redis mq; do
		eval "port=\$${which}_port"
		eval "${which}_free=\$(xadd_p99 $port)"
		# Its standard input held open (descriptor 9) until the rows
		# are measured: it keeps the clients until it reads EOF.
		rm -f "$work/hold"
		mkfifo "$work/hold"
		python3 "$root/scripts/bench/blocked.py" "$port" 10000 \
		    < "$work/hold" > "$work/blocked.$which" &
		blocker=$!
		exec 9> "$work/hold"
		i=0
		until grep -q ready "$work/blocked.$which"; do
			i=$((i + 1))
			[ $i -lt 1800 ] || { echo "bench-serve.sh: blocked.py did not get ready" >&2; exit 1; }
			sleep 0.1
		done
		eval "${which}_blocked=\$(xadd_p99 $port)"
		exec 9>&-
		wait "$blocker" 2> /dev/null || true
	done
	# shellcheck disable=SC2086 # "REQ/S P99" pairs, split on purpose
	set -- $redis_free $mq_free $redis_blocked $mq_blocked
	add_row "XADD, -P 16, no client blocked" "$1" "$3" "req/s"
	add_row "XADD, -P 16, 10,000 clients blocked on other streams" "$5" "$7" "req/s"
	add_row "XADD p99, no client blocked" "$2" "$4" "ms"
	add_row "XADD p99, 10,000 clients blocked on other streams" "$6" "$8" "ms"
}
blocked_rows

# 10,000 clients at once, each with one XADD in flight (-P 1): what a
# server pays per connection served, not per connection waiting.
redis_many=$(redis-benchmark -p "$redis_port" -c 10000 -n "$N" -P 1 --csv \
    XADD many '*' f "$value" | rps)
mq_many=$(redis-benchmark -p "$mq_port" -c 10000 -n "$N" -P 1 --csv \
    XADD many '*' f "$value" | rps)
add_row "XADD from 10,000 clients at once, -P 1" "$redis_many" "$mq_many" "req/s"

# PUBLISH fan-out: one publisher pipelining 16 PUBLISHes of 100 bytes to
# 1, 4 and 50 subscribers of a channel of their own; a row is the
# messages all subscribers received per second (scripts/bench/fanout.c,
# as redis-benchmark counts only the replies).  Last: the subscribers'
# output buffers, grown while they lag, leave the heap larger, which the
# RSS rows would show.
cc -O2 -pthread -o "$work/fanout" "$root/scripts/bench/fanout.c"
for subs in 1 4 50; do
	r=$("$work/fanout" "$redis_port" "$subs" "$N" 16 100)
	m=$("$work/fanout" "$mq_port" "$subs" "$N" 16 100)
	[ "$subs" = 1 ] && who=subscriber || who=subscribers
	add_row "PUBLISH to $subs $who, -P 16" "$r" "$m" "deliveries/s"
done

echo "Machine: $(nproc) cores, $(uname -sr); $CLIENTS clients, N = $N requests a row, 100-byte values."
echo "redis-server $(redis-server --version | awk '{ print $3 }' | cut -d= -f2) (appendonly yes, appendfsync everysec) and mq-serve (fsync interval 1 s), side by side."
echo
echo "| what | redis-server | mq-serve | mq / redis |"
echo "|---|---:|---:|---:|"
printf "%s" "$rows"
awk -v r="$redis_idle" -v m="$mq_idle" 'BEGIN { printf "| RSS idle | %d KiB | %d KiB | %.2f |\n", r, m, m / r }'
awk -v r="$redis_conns" -v m="$mq_conns" 'BEGIN { printf "| RSS with 10,000 idle connections, after one PING each | %d KiB | %d KiB | %.2f |\n", r, m, m / r }'
awk -v r="$redis_start" -v m="$mq_start" 'BEGIN { printf "| start-up to first PONG | %.1f ms | %.1f ms | %.2f |\n", r, m, m / r }'
