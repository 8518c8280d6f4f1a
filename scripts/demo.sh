#!/bin/sh
# demo.sh - the main job of mq, step by step, with the tools of this build tree.
#
#   make && sh scripts/demo.sh
#
# A shop appends orders to the stream "demo.orders"; a billing worker
# consumes them through the consumer group "billing" in exec mode: the
# worker command gets each body on its standard input, and its exit
# status acks (0) or nacks (anything else) the entry.  This worker bills
# even-numbered orders and fails odd ones.  A failed order comes again
# after a retry delay; with a delivery limit of 2 it is tried twice, then
# moved to the dead-letter stream, where mq-dlq shows it.
#
# The spool is $MQ_SPOOL if set, else the tools' default (see mq(7)).
# Running the demo again appends new orders; the group reads only those.

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
stream=demo.orders
group=billing
consumer="worker-1"

for t in mq-xadd mq-queue mq-xreadgroup mq-dlq; do
	if [ ! -x "$bin/$t" ]; then
		echo "demo: $bin/$t is missing: run make first" >&2
		exit 1
	fi
done

say() {
	printf '\n== %s\n' "$*"
}

# Shows a command (the tool's path relative to the tree), then runs it.
run() {
	cmd=$1
	shift
	printf '$ %s %s\n' "${cmd#"$root"/}" "$*"
	"$cmd" "$@"
}

if [ -n "${MQ_SPOOL:-}" ]; then
	say "spool: $MQ_SPOOL (from MQ_SPOOL)"
else
	say "spool: the default one (MQ_SPOOL is not set; see mq(7))"
fi

say "append six orders to $stream; mq-xadd prints one id per order"
run "$bin/mq-xadd" "$stream" order-1 order-2 order-3 order-4 order-5 order-6

say "give $stream a delivery limit: an order nacked twice is dead-lettered;
   a nacked order waits half a second before it is tried again"
run "$bin/mq-queue" "$stream" --delivery-limit 2 --retry-delay 500ms

# The worker: the body on stdin, the id in MQ_ID.  It exits 0 (ack) for
# even order numbers and 1 (nack) for odd ones.
# shellcheck disable=SC2016
worker='body=$(cat)
n=${body#order-}
if [ $((n % 2)) -eq 0 ]; then
	echo "  worker: $MQ_ID $body: billed, ack" >&2
else
	echo "  worker: $MQ_ID $body: card declined, nack" >&2
	exit 1
fi'

# A nacked entry is redelivered before new ones once its retry delay
# passed, so each round waits for the failed orders (-b) and retries
# them; after the second failure they are dead-lettered.  mq-xreadgroup
# exits 123 when a worker failed, 1 when nothing came before -b's end.
round=1
while [ "$round" -le 3 ]; do
	say "round $round: group $group consumes with the worker (-x)"
	printf '$ %s\n' "bin/mq-xreadgroup -b 2s -c 10 -x '<worker>' $group $consumer $stream"
	rc=0
	"$bin/mq-xreadgroup" -b 2s -c 10 -x "$worker" "$group" "$consumer" \
	    "$stream" || rc=$?
	case $rc in
	0)	;;
	123)	echo "some orders failed: handed back, or dead-lettered" ;;
	1)	echo "nothing left to read"
		break ;;
	*)	echo "demo: mq-xreadgroup failed with status $rc" >&2
		exit "$rc" ;;
	esac
	round=$((round + 1))
done

say "the dead letters of $stream: the odd orders, after two deliveries each"
run "$bin/mq-dlq" count "$stream"
run "$bin/mq-dlq" list "$stream"

say "done"
