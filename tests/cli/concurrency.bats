#!/usr/bin/env bats
# Concurrency: writers and readers of one stream in separate processes.
#
# Four writers append "W<writer>-<n>" while three following readers of one
# group drain the stream through tee into mq-ack.  When every message was
# delivered (counted in the readers' copies, not guessed from time), the
# readers get SIGTERM; their pipelines end and mq-ack acknowledges the
# rest.  Then: each message was delivered once and acknowledged once, each
# writer's messages are in the stream in the order written, and nothing
# is pending.  MQ_CLI_QUICK=1 (the sanitizer run) scales it down.

load helpers

delivered_all() {
	[ "$(cat got.1 got.2 got.3 2>/dev/null | wc -l)" -ge "$total" ]
}

@test "concurrency: 4 writers, 3 readers of one group: each message delivered and acked once, order kept" {
	per=25000
	[ "${MQ_CLI_QUICK:-0}" = 1 ] && per=2500
	total=$((4 * per))

	# The spool and stream exist (their creation races are the next
	# test's); the readers race to create the group.
	mq-queue s --delivery-limit 0
	readers=() ackers=()
	for r in 1 2 3; do
		mkfifo "fifo.$r"
		mq-xreadgroup -f g "r$r" s > "fifo.$r" 3>&- &
		readers+=($!)
		tee "got.$r" < "fifo.$r" | mq-ack -v s g > "acked.$r" 3>&- &
		ackers+=($!)
	done

	writers=()
	for w in 1 2 3 4; do
		seq 1 "$per" | sed "s/^/W$w-/" | mq-xadd -q s 3>&- &
		writers+=($!)
	done
	for pid in "${writers[@]}"; do
		wait "$pid"
	done

	wait_until delivered_all
	kill -TERM "${readers[@]}"
	for pid in "${readers[@]}" "${ackers[@]}"; do
		wait "$pid"
	done

	# Delivered once: no body twice, and all of them.
	cat got.1 got.2 got.3 | cut -f2 | sort > delivered
	[ -z "$(uniq -d delivered)" ]
	for w in 1 2 3 4; do seq 1 "$per" | sed "s/^/W$w-/"; done | sort > want
	cmp want delivered
	# Acknowledged once: the acks that found the entry pending add up.
	[ "$(awk '{ n += $1 } END { print n }' acked.1 acked.2 acked.3)" -eq "$total" ]
	# Nothing pending, nothing left to deliver.
	[ "$(pending g r1 s)" -eq 0 ]
	[ "$(pending g r2 s)" -eq 0 ]
	[ "$(pending g r3 s)" -eq 0 ]
	[ -z "$(mq-xreadgroup g r4 s)" ]
	# Each writer's messages are in the stream in the order written.
	mq-xreadgroup --noack check c s | cut -f2 > stream
	for w in 1 2 3 4; do
		[ "$(grep "^W$w-" stream | md5sum)" = \
		    "$(seq 1 "$per" | sed "s/^/W$w-/" | md5sum)" ]
	done
}

@test "concurrency: processes creating one spool, stream and group at once all succeed" {
	readers=() writers=()
	# Readers first: reading creates no stream, so -b waits for the
	# writers' (the spool is made by whoever comes first).
	for i in 1 2 3 4 5 6 7 8; do
		mq-xreadgroup -b 60s -c 1 g "c$i" s > "got.$i" 3>&- &
		readers+=($!)
	done
	for i in 1 2 3 4 5 6 7 8; do
		mq-xadd -q s "m$i" 3>&- &
		writers+=($!)
	done
	for pid in "${writers[@]}"; do
		wait "$pid"
	done
	# One more each, so that every reader gets one whoever took what.
	mq-xadd -q s t1 t2 t3 t4 t5 t6 t7 t8
	for pid in "${readers[@]}"; do
		wait "$pid"
	done
	[ "$(cat got.* | wc -l)" -eq 8 ]
	[ "$(mq-xreadgroup all c s | wc -l)" -eq 16 ]
}
