#!/bin/sh
# bench-streams.sh - appends spread over many streams: mq-serve against
# redis-server side by side, then mq-publish to many bound queues.
#
#   sh scripts/bench-streams.sh      (after make; N=200000 requests a row)
#
# The environment may change N, CLIENTS (50), STREAMS, QUEUES and
# PUB_COPIES, whose defaults are below.
#
# For each number of streams R in STREAMS (1 100 2500 20000 100000),
# starts mq-serve (its default fsync policy: every second) and
# redis-server (appendonly yes, appendfsync everysec) on free loopback
# ports, each on a fresh directory, and runs redis-benchmark -c CLIENTS
# -P 16 -n N -r R of XADD w__rand_int__ * f v twice: the first pass creates the
# streams it touches, the second appends to streams that exist.  N must be
# large enough for -r 100000 to touch most streams (200000 touches about
# 86% of them).  After each pass, it notes mq-serve's streams (DBSIZE),
# open descriptors and resident memory.  Then, on a fresh spool with 1,
# 100 and 1,000 queues bound to the topic pattern "bench.#" (mq-subscribe
# -Q), it times mq-publish of 100-byte lines to "bench.lines": PUB_COPIES
# (4000000) copies in all, so fewer messages the more queues (no other
# broker is measured there).
#
# Raises its descriptor limit to the hard limit first (the servers inherit
# it) and says what it is.  Prints Markdown tables; the ratio is
# mq-serve's figure over redis-server's.  Not a test: nothing here passes
# or fails.  Needs redis-server, redis-benchmark, redis-cli and python3
# (sh scripts/install-deps.sh --bench).
set -eu

N=${N:-200000}
CLIENTS=${CLIENTS:-50}
STREAMS=${STREAMS:-1 100 2500 20000 100000}
QUEUES=${QUEUES:-1 100 1000}
PUB_COPIES=${PUB_COPIES:-4000000}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/bench/lib.sh"
bench_init bench-streams redis-server redis-benchmark redis-cli python3
# mq-serve holds descriptors for the streams it has open: all it may have.
# shellcheck disable=SC3045 # dash's ulimit has -H and -n
hard=$(ulimit -Hn)
# shellcheck disable=SC3045
ulimit -n "$hard"

# serve NAME PORT CMD...: starts a server in the background and waits
# (10 s at most) until it answers PING; its pid in $served.
serve() {
	name=$1 port=$2
	shift 2
	"$@" < /dev/null > "$work/$name.log" 2>&1 &
	served=$!
	pids="$pids $served"
	i=0
	until redis-cli -p "$port" PING > /dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "bench-streams.sh: $name did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
		sleep 0.1
	done
}

# halt PID: stops a server and waits for it.
halt() {
	kill "$1"
	wait "$1" 2> /dev/null || true
}

# xadd NAME PORT R: redis-benchmark's XADD over R streams; its requests/s
# in $got.  redis-benchmark stops at the first error reply: then $got is
# 0, and the error is kept for the notes under the table.
xadd() {
	if redis-benchmark -p "$2" -c "$CLIENTS" -n "$N" -P 16 -r "$3" --csv \
	    XADD w__rand_int__ '*' f v > "$work/out" 2>&1; then
		got=$(rps < "$work/out")
	else
		got=0
		notes="$notes- -r $3: $1: $(grep -m1 -i error "$work/out" || tail -1 "$work/out")
"
	fi
}

fds() { find "/proc/$1/fd" -mindepth 1 | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

notes=
rows=
for r in $STREAMS; do
	mkdir "$work/redis"
	redis_port=$(free_port)
	serve redis "$redis_port" redis-server --bind 127.0.0.1 \
	    --port "$redis_port" --dir "$work/redis" --appendonly yes \
	    --appendfsync everysec --save '' --daemonize no
	redis_pid=$served
	mq_port=$(free_port)
	serve mq "$mq_port" "$bin/mq-serve" --spool "$work/spool" \
	    --resp "127.0.0.1:$mq_port" --amqp off
	mq_pid=$served
	for pass in "1 (creates)" "2 (exist)"; do
		xadd redis-server "$redis_port" "$r"
		redis_rps=$got
		xadd mq-serve "$mq_port" "$r"
		mq_rps=$got
		rows="$rows$(awk -v r="$r" -v p="$pass" -v a="$redis_rps" -v b="$mq_rps" \
		    -v s="$(redis-cli -p "$mq_port" DBSIZE)" -v f="$(fds "$mq_pid")" \
		    -v m="$(rss_kb "$mq_pid")" \
		    'BEGIN { printf "| %s | %s | %s | %d | %d | %.2f | %d | %d |\n", r, p, s, a, b, (a > 0 ? b / a : 0), f, m / 1024 }')
"
	done
	halt "$redis_pid"
	halt "$mq_pid"
	rm -rf "$work/redis" "$work/spool"
done

now() { date +%s.%N; }
value=$(printf '%0100d' 0)
pub_rows=
for q in $QUEUES; do
	export MQ_SPOOL="$work/pub"
	i=0
	while [ $i -lt "$q" ]; do
		i=$((i + 1))
		"$bin/mq-subscribe" -q -Q "q$i" 'bench.#' > /dev/null
	done
	m=$((PUB_COPIES / q))
	awk -v n="$m" -v v="$value" 'BEGIN { for (i = 0; i < n; i++) print v }' > "$work/lines"
	t0=$(now)
	"$bin/mq-publish" -q bench.lines < "$work/lines"
	t1=$(now)
	pub_rows="$pub_rows$(awk -v q="$q" -v m="$m" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "| %d | %d | %.0f | %.0f |\n", q, m, m / (b - a), m * q / (b - a) }')
"
	rm -rf "$work/pub" "$work/lines"
done

echo "Machine: $(nproc) cores, $(uname -sr); descriptor limit raised to the hard limit, $hard."
echo "redis-server $(redis-server --version | awk '{ print $3 }' | cut -d= -f2) (appendonly yes, appendfsync everysec) and mq-serve (fsync interval 1 s), side by side, fresh directories for each number of streams."
echo "redis-benchmark -c $CLIENTS -P 16 -n $N -r R XADD w__rand_int__ '*' f v; streams, descriptors and RSS are mq-serve's after the pass."
echo
echo "| -r | pass | mq-serve streams | redis-server req/s | mq-serve req/s | mq / redis | mq-serve fds | mq-serve RSS MiB |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
printf "%s" "$rows"
[ -z "$notes" ] || printf "\nRuns that stopped at an error (0 req/s above):\n%s" "$notes"
echo
echo "mq-publish of 100-byte lines to a topic, one process, $PUB_COPIES copies in all:"
echo
echo "| queues bound | messages | messages/s | copies/s |"
echo "|---:|---:|---:|---:|"
printf "%s" "$pub_rows"
