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
# decides more than anything the server does (docs/fanout.md).  With
# CPU=1, each server's CPU time is read from /proc before and after each
# run too (its threads' schedstat, and their stat for the share spent in
# user space, sampled at each tick), and the summary gives per server
# the median round (16 PUBLISHes and their deliveries), CPU time a
# round, user share, and the median ratio its turns would have had if
# its own code had cost nothing: what no change to that code can pass.
# Not a test: nothing here passes or fails.

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
pids="$pids $!" spids=$!
names="redis-server" ports=$redis_port
for dir in "$bin" ${BEFORE:+"$BEFORE"}; do
	port=$(free_port)
	mkdir "$work/$port"
	$server "$dir/mq-serve" --spool "$work/$port/spool" \
	    --resp "127.0.0.1:$port" --amqp off > /dev/null 2>&1 &
	pids="$pids $!" spids="$spids $!"
	names="$names $dir/mq-serve" ports="$ports $port"
done
for port in $ports; do up "$port"; done

# cpu PID: the process's CPU time in microseconds, then its user and
# system ticks, all threads together.
cpu() {
	awk '{ s += $1 / 1000 } END { printf "%.0f ", s }' /proc/"$1"/task/*/schedstat
	awk '{ u += $14; k += $15 } END { print u, k }' /proc/"$1"/task/*/stat
}

[ $# -gt 0 ] || set -- 1 4 50
for subs in "$@"; do
	echo "$subs subscribers, deliveries/s of: $names"
	: > "$work/turns"
	: > "$work/cpu"
	t=0
	while [ "$t" -lt "$TURNS" ]; do
		line='' use=''
		# shellcheck disable=SC2086 # one pid per server
		set -- $spids
		for port in $ports; do
			[ -z "${CPU:-}" ] || before=$(cpu "$1")
			line="$line $($client "$work/fanout" "$port" "$subs" "$N" 16 100)"
			[ -z "${CPU:-}" ] || use="$use $before $(cpu "$1")"
			shift
		done
		echo "$line" | tee -a "$work/turns"
		[ -z "${CPU:-}" ] || echo "$use" >> "$work/cpu"
		t=$((t + 1))
	done
	# shellcheck disable=SC2086 # one argument per server
	python3 - "$work/turns" "$work/cpu" "$subs" "$N" $names <<'PY'
import statistics, sys
turns = [[int(v) for v in l.split()] for l in open(sys.argv[1])]
cpus = [[int(v) for v in l.split()] for l in open(sys.argv[2])]
subs, n = int(sys.argv[3]), int(sys.argv[4])
rounds = (n + 15) // 16
med = statistics.median
for i, name in enumerate(sys.argv[5:]):
	ratio = med(t[i] / t[0] for t in turns)
	print("  %s: median %d, median of ratios %.2f" % (name,
	    med(t[i] for t in turns), ratio))
	if not cpus:
		continue
	# Round: 16 PUBLISHes and their deliveries, in microseconds.
	rnd = [[subs * n / d / rounds * 1e6 for d in t] for t in turns]
	use, user = [], []
	for c in cpus:
		c0, u0, k0, c1, u1, k1 = c[6 * i:6 * i + 6]
		use.append((c1 - c0) / rounds)
		user.append((u1 - u0) / max(1, (u1 - u0) + (k1 - k0)))
	bound = med(r[0] / (r[i] - use[j] * user[j])
	    for j, r in enumerate(rnd))
	print("    round %.0f us, CPU %.0f us a round, %.0f %% of it user;"
	    " its own code at 0: median of ratios %.2f" % (
	    med(r[i] for r in rnd), med(use), 100 * med(user), bound))
PY
done
