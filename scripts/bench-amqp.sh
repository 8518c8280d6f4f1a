#!/bin/sh
# bench-amqp.sh - mq-serve's AMQP door against rabbitmq-server, side by
# side, with the same librabbitmq client (scripts/bench/amqp-load.c).
#
#   sh scripts/bench-amqp.sh        (after make; N=200000 messages a phase)
#
# Starts mq-serve with --fsync always (a confirm only after the fsync, as
# RabbitMQ confirms a persistent message in a durable queue) and Debian's
# rabbitmq-server (a node of its own: loopback ports, its own epmd, its
# directories under the work directory, no plugins), each on a fresh
# directory, and measures for each:
#   - the time from exec to the first answer to a protocol header;
#   - resident memory idle, and with 1,000 connections that each opened
#     a channel and wait (amqp-load hold);
#   - publish: persistent 100-byte messages to a durable queue in confirm
#     mode from CONNS connections, each keeping WINDOW unconfirmed:
#     messages/s, median, p99 and slowest confirm latency;
#   - consume: the same messages with basic.qos PREFETCH and one
#     basic.ack each, from CONNS connections: messages/s;
#   - with QUEUES=Q (Q > 1), the same over Q durable queues: declaring
#     them (queues/s), publishing the messages to them in turn, and
#     consuming them with a consumer on each queue, PREFETCH for each
#     connection's channel (basic.qos global).
# Prints a Markdown table; the ratio is mq-serve's figure over
# rabbitmq-server's.  Not a test: nothing here passes or fails.  Needs
# rabbitmq-server, librabbitmq-dev, cc and python3
# (sh scripts/install-deps.sh --bench).
set -eu

N=${N:-200000}
CONNS=${CONNS:-4}
WINDOW=${WINDOW:-100}
PREFETCH=${PREFETCH:-100}
HOLD=${HOLD:-1000}
QUEUES=${QUEUES:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/bench/lib.sh"
bench_init bench-amqp cc python3
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || {
	echo "bench-amqp.sh: rabbitmq-server is missing: sh scripts/install-deps.sh --bench" >&2
	exit 1
}
ulimit -n 20000 2> /dev/null || ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

cc -O2 -o "$work/amqp-load" "$root/scripts/bench/amqp-load.c" -lrabbitmq \
    -lpthread

# rss_kib PID: the resident memory of PID, or of its beam.smp child
# (rabbitmq-server's script runs the Erlang VM under it).
rss_kib() {
	p=$1
	for c in $(pgrep -P "$p" 2> /dev/null || true); do
		case $(cat "/proc/$c/comm") in beam.smp) p=$c ;; esac
	done
	awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"
}

# held_rss PID PORT: the RSS of PID while HOLD connections wait.
held_rss() {
	mkfifo "$work/hold.in"
	"$work/amqp-load" hold -p "$2" -c "$HOLD" < "$work/hold.in" \
	    > "$work/hold.out" &
	hold_pid=$!
	exec 3> "$work/hold.in"
	while ! grep -q ready "$work/hold.out" 2> /dev/null; do
		kill -0 "$hold_pid" || { echo "amqp-load hold failed" >&2; exit 1; }
		sleep 0.1
	done
	rss_kib "$1"
	exec 3>&-
	wait "$hold_pid"
	rm -f "$work/hold.in"
}

# field NAME: the value of NAME=... in amqp-load's line on stdin.
field() {
	tr ' ' '\n' | sed -n "s/^$1=//p"
}

# measure NAME PORT PID: one server's figures into $work/NAME.*.
measure() {
	name=$1 port=$2 pid=$3
	rss_kib "$pid" > "$work/$name.idle"
	held_rss "$pid" "$port" > "$work/$name.held"
	"$work/amqp-load" publish -p "$port" -c "$CONNS" -n "$N" -s 100 \
	    -w "$WINDOW" > "$work/$name.pub"
	"$work/amqp-load" consume -p "$port" -c "$CONNS" -n "$N" \
	    -P "$PREFETCH" > "$work/$name.con"
	[ "$QUEUES" -gt 1 ] || return 0
	"$work/amqp-load" declare -p "$port" -c "$CONNS" -Q "$QUEUES" \
	    -q many > "$work/$name.qdecl"
	"$work/amqp-load" publish -p "$port" -c "$CONNS" -n "$N" -s 100 \
	    -w "$WINDOW" -Q "$QUEUES" -q many > "$work/$name.qpub"
	"$work/amqp-load" consume -p "$port" -c "$CONNS" -n "$N" \
	    -P "$PREFETCH" -Q "$QUEUES" -q many > "$work/$name.qcon"
}

mq_port=$(free_port)
mkdir -p "$work/mq"
bench_startup mq "$mq_port" amqp "$root/bin/mq-serve" --spool "$work/mq/spool" \
    --resp 127.0.0.1:0 --amqp "127.0.0.1:$mq_port" --fsync always \
    > "$work/mq.start"
pids="$pids $(cat "$work/mq.pid")"
measure mq "$mq_port" "$(cat "$work/mq.pid")"
kill "$(cat "$work/mq.pid")"

# rabbitmq-server: everything of the node under $work/rmq, on loopback.
rmq=$work/rmq
mkdir -p "$rmq/mnesia" "$rmq/log"
echo '[].' > "$rmq/enabled_plugins"
rmq_port=$(free_port)
epmd_port=$(free_port)
dist_port=$(free_port)
# Its own epmd on loopback, stopped by pid at exit (bench_cleanup).
bench_startup epmd "$epmd_port" tcp epmd -port "$epmd_port" \
    -address 127.0.0.1 > /dev/null
pids="$pids $(cat "$work/epmd.pid")"
export HOME="$rmq" RABBITMQ_NODENAME="mqbench$$@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$rmq_port" \
    RABBITMQ_DIST_PORT="$dist_port" ERL_EPMD_PORT="$epmd_port" \
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$rmq/mnesia" \
    RABBITMQ_LOG_BASE="$rmq/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$rmq/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$rmq/rabbitmq" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
: > "$rmq/rabbitmq.conf"
bench_startup rmq "$rmq_port" amqp /usr/lib/rabbitmq/bin/rabbitmq-server \
    > "$work/rmq.start"
pids="$pids $(cat "$work/rmq.pid")"
measure rmq "$rmq_port" "$(cat "$work/rmq.pid")"
kill "$(cat "$work/rmq.pid")"
wait "$(cat "$work/rmq.pid")" 2> /dev/null || true

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

row() {
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"
}

echo "| $N messages of 100 bytes, $CONNS connections | mq-serve | rabbitmq-server | ratio |"
echo "|---|---:|---:|---:|"
row "start-up, ms" "$(cat "$work/mq.start")" "$(cat "$work/rmq.start")"
row "RSS idle, KiB" "$(cat "$work/mq.idle")" "$(cat "$work/rmq.idle")"
row "RSS with $HOLD connections, KiB" "$(cat "$work/mq.held")" \
    "$(cat "$work/rmq.held")"
row "publish, confirmed persistent msg/s (window $WINDOW)" \
    "$(field rate < "$work/mq.pub")" "$(field rate < "$work/rmq.pub")"
row "confirm latency p50, us" "$(field p50_us < "$work/mq.pub")" \
    "$(field p50_us < "$work/rmq.pub")"
row "confirm latency p99, us" "$(field p99_us < "$work/mq.pub")" \
    "$(field p99_us < "$work/rmq.pub")"
row "slowest confirm, us" "$(field max_us < "$work/mq.pub")" \
    "$(field max_us < "$work/rmq.pub")"
row "consume, msg/s (prefetch $PREFETCH, an ack each)" \
    "$(field rate < "$work/mq.con")" "$(field rate < "$work/rmq.con")"
[ "$QUEUES" -gt 1 ] || exit 0
row "declare $QUEUES durable queues, queues/s" \
    "$(field rate < "$work/mq.qdecl")" "$(field rate < "$work/rmq.qdecl")"
row "publish over $QUEUES queues, msg/s" \
    "$(field rate < "$work/mq.qpub")" "$(field rate < "$work/rmq.qpub")"
row "slowest confirm over $QUEUES queues, us" \
    "$(field max_us < "$work/mq.qpub")" "$(field max_us < "$work/rmq.qpub")"
row "consume from $QUEUES queues, a consumer each, msg/s" \
    "$(field rate < "$work/mq.qcon")" "$(field rate < "$work/rmq.qcon")"
