#!/bin/sh
# bench-tools.sh - how fast the tools move messages on this machine.
#
#   sh scripts/bench-tools.sh            (after make; N=1000000 lines by default)
#
# Measures, on one spool in a fresh directory:
#   - mq-xadd and mq-publish (to one bound queue) ingesting N 100-byte
#     lines from a file, against cat(1) of the same file into a file on
#     the same disk (the physical limit of appending);
#   - mq-xreadgroup | mq-ack draining and acknowledging those N;
#   - the wake-up latency from an append in one process to the output of a
#     blocked mq-xreadgroup in another (scripts/bench/latency.c);
#   - if redis-server and redis-benchmark are installed, XADD on a Redis
#     started side by side (appendonly yes, appendfsync everysec), with
#     50 clients and a pipeline of 16, for the ratio.
# Prints a Markdown table.  Not a test: nothing here passes or fails.
set -eu

N=${N:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
work=$(mktemp -d "${TMPDIR:-/var/tmp}/mq-bench.XXXXXX")
redis_pid=
trap 'if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT INT TERM

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

export MQ_SPOOL="$work/spool"
lines=$work/lines
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "%099d\n", i }' > "$lines"

t0=$(now); cat "$lines" > "$work/cat.out"; t1=$(now)
cat_rate=$(rate "$N" "$t0" "$t1")
rm -f "$work/cat.out"

t0=$(now); "$bin/mq-xadd" bench < "$lines" > /dev/null; t1=$(now)
xadd_rate=$(rate "$N" "$t0" "$t1")

"$bin/mq-subscribe" -q -Q benchq 'bench.#' > /dev/null
t0=$(now); "$bin/mq-publish" -q bench.lines < "$lines"; t1=$(now)
pub_rate=$(rate "$N" "$t0" "$t1")

t0=$(now); "$bin/mq-xreadgroup" g c bench | "$bin/mq-ack" bench g; t1=$(now)
read_rate=$(rate "$N" "$t0" "$t1")

cc -O2 -D_GNU_SOURCE -I"$root/libmq" -o "$work/latency" "$root/scripts/bench/latency.c" \
    "$root/lib/libmq.a" -lbsd
latency=$("$work/latency" "$bin/mq-xreadgroup" "$MQ_SPOOL" 1000)

redis_row=
if command -v redis-server > /dev/null && command -v redis-benchmark > /dev/null; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --bind 127.0.0.1 --port "$port" --dir "$work" --appendonly yes \
	    --appendfsync everysec --save '' --daemonize no > "$work/redis.log" 2>&1 &
	redis_pid=$!
	i=0
	until redis-cli -p "$port" ping > /dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "redis-server did not start" >&2; exit 1; }
		sleep 0.1
	done
	value=$(printf '%099d' 0)
	redis_rate=$(redis-benchmark -p "$port" -n "$N" -c 50 -P 16 -q --csv XADD rb '*' f "$value" |
	    awk -F'"' 'NR == 2 || /XADD/ { v = $4 } END { printf "%.0f", v }')
	redis_row="| redis-server XADD (50 clients, -P 16, side by side) | $redis_rate | $(awk -v a="$xadd_rate" -v b="$redis_rate" 'BEGIN { printf "mq-xadd is %.2fx", a / b }') |"
fi

echo "Machine: $(nproc) cores, $(uname -sr); N = $N lines of 100 bytes; spool on $(df -P "$work" | awk 'NR == 2 { print $1 }')"
echo
echo "| what | messages/s | ratio |"
echo "|---|---:|---|"
echo "| cat file > file (the limit) | $cat_rate | 1.00 |"
echo "| mq-xadd < file | $xadd_rate | $(awk -v a="$xadd_rate" -v b="$cat_rate" 'BEGIN { printf "%.2f of cat", a / b }') |"
echo "| mq-publish < file (one bound queue) | $pub_rate | $(awk -v a="$pub_rate" -v b="$cat_rate" 'BEGIN { printf "%.2f of cat", a / b }') |"
echo "| mq-xreadgroup \\| mq-ack | $read_rate | |"
[ -z "$redis_row" ] || echo "$redis_row"
echo
echo "$latency"
