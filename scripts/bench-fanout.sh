#!/bin/sh
# bench-fanout.sh - PUBLISH to subscribers, mq-serve against redis-server,
# in turns that alternate.
#
#   sh scripts/bench-fanout.sh [SUBSCRIBERS...]   (after make; 1 4 50)
#
# Starts redis-server (appendonly yes, appendfsync everysec) and mq-serve
# (bin/) on free loopback ports, each on a fresh directory, and with
# BEFORE=DIR a second mq-serve, DIR/mq-serve (an older build to compare
# with).  For each number of subscribers, TURNS turns (9) each run
# scripts/bench/fanout.c once against every server, redis-server first:
# N messages (200000) of 100 bytes, one publisher pipelining 16.  On a
# machine shared with other work a run's figure moves by a third from
# one run to the next, so a server is only compared with the runs of
# its own turn.  Prints each turn's deliveries/s, then per server the
# median and the median of its turns' ratios to redis-server.
# SERVER_CPUS and CLIENT_CPUS (taskset(1) lists, such as 0 or 0,1) pin
# the servers and the client: on a virtual machine whose CPUs wake each
# other slowly, whether the client's threads share the server's CPU
# decides more than anything the server does (docs/fanout.md).  Not a
# test: nothing here passes or fails.

set -eu

N=${N:-200000}
TURNS=${TURNS:-9}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/bench/lib.sh"
bench_init bench-fanout redis-server redis-cli python3 cc
server=${SERVER_CPUS:+taskset -c $SERVER_CPUS}
client=${CLIENT_CPUS:+taskset -c $CLIENT_CPUS}
cc -O2 -pthread -o "$work/fanout" "$root/scripts/bench/fanout.c"

# up PORT: waits (10 s at most) until the server on PORT answers PING.
up() {
	i=0
	until redis-cli -p "$1" PING > /dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "bench-fanout.sh: port $1 is silent" >&2; exit 1; }
		sleep 0.1
	done
}

redis_port=$(free_port)
$server redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync everysec --dir "$work" > /dev/null &
pids="$pids $!"
names="redis-server" ports=$redis_port
for dir in "$bin" ${BEFORE:+"$BEFORE"}; do
	port=$(free_port)
	mkdir "$work/$port"
	$server "$dir/mq-serve" --spool "$work/$port/spool" \
	    --resp "127.0.0.1:$port" --amqp off > /dev/null 2>&1 &
	pids="$pids $!"
	names="$names $dir/mq-serve" ports="$ports $port"
done
for port in $ports; do up "$port"; done

[ $# -gt 0 ] || set -- 1 4 50
for subs in "$@"; do
	echo "$subs subscribers, deliveries/s of: $names"
	: > "$work/turns"
	t=0
	while [ "$t" -lt "$TURNS" ]; do
		line=
		for port in $ports; do
			line="$line $($client "$work/fanout" "$port" "$subs" "$N" 16 100)"
		done
		echo "$line" | tee -a "$work/turns"
		t=$((t + 1))
	done
	# shellcheck disable=SC2086 # one argument per server
	python3 - "$work/turns" $names <<'PY'
import statistics, sys
turns = [[int(v) for v in l.split()] for l in open(sys.argv[1])]
for i, name in enumerate(sys.argv[2:]):
	ratio = statistics.median(t[i] / t[0] for t in turns)
	print("  %s: median %d, median of ratios %.2f" % (name,
	    statistics.median(t[i] for t in turns), ratio))
PY
done
