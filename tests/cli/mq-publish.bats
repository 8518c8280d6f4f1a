#!/usr/bin/env bats
# mq-publish: publishing to the topic exchange, counting receivers.
#
# What a publish delivered is read back through a queue bound to the
# topic (mq-subscribe -Q binds it, reads the queue once and stops) and
# mq-xreadgroup, or through a live mq-subscribe started in the background.

load helpers
bats_require_minimum_version 1.5.0

# bind QUEUE PATTERN...: binds QUEUE to the patterns.  The run that binds
# reads the queue once, finds nothing and ends with status 0.
bind() {
	local q=$1
	shift
	run mq-subscribe -Q "$q" "$@"
	[ "$status" -eq 0 ]
}

# subscribers: the number of live subscriptions registered in the spool.
subscribers() {
	find "$MQ_SPOOL/subscribers" -mindepth 1 -maxdepth 1 ! -name '.*' \
	    2>/dev/null | wc -l
}

# wait_subscribers N: polls (at most ~10 s) until N subscriptions are
# registered.  Test setup only, not an assertion on time.
wait_subscribers() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(subscribers)" -ge "$1" ] && return 0
		sleep 0.05
	done
	echo "no subscription registered" >&2
	return 1
}

@test "mq-publish: shared options" {
	common_options mq-publish t m
}

@test "mq-publish: prints 0 receivers when no one listens, and stores nothing" {
	run mq-publish news.tech hello
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
	run mq-publish news.tech a b c
	[ "$output" = "$(printf '0\n0\n0')" ]
	# No queue was created for it.
	[ "$(ls "$MQ_SPOOL/streams" | grep -v '^amq\.topic$' | wc -l)" -eq 0 ]
}

@test "mq-publish: counts a live subscriber, a bound queue, and both" {
	bind q 'news.#'
	run mq-publish news.tech m1
	[ "$output" = 1 ]
	run mq-publish sports.golf m2
	[ "$output" = 0 ]

	timeout 30 mq-subscribe -c 1 'news.*' > out 3>&- &
	bg+=($!)
	wait_subscribers 1
	run mq-publish news.tech m3
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\tm3')" ]
	# The subscriber is gone: only the queue is left.
	[ "$(subscribers)" -eq 0 ]
	run mq-publish news.tech m4
	[ "$output" = 1 ]
	# The queue got what was published to it, with the topic as key.
	run mq-xreadgroup -o json g c q
	[ "$(jq -r .body <<< "$output" | paste -sd' ')" = "m1 m3 m4" ]
	[ "$(jq -r .key <<< "$output" | sort -u)" = news.tech ]
}

@test "mq-publish: each queue bound with a matching pattern gets one copy" {
	bind q1 'orders.*'
	bind q1 'orders.#'	# two matching bindings: still one copy
	bind q2 '#'
	bind q3 'invoices.*'
	run mq-publish orders.new o1
	[ "$output" = 2 ]
	[ "$(mq-xreadgroup g c q1 | cut -f2)" = o1 ]
	[ "$(mq-xreadgroup g c q2 | cut -f2)" = o1 ]
	[ -z "$(mq-xreadgroup g c q3)" ]
}

@test "mq-publish: each stdin line is a message, one count per line" {
	bind q 't'
	run mq-publish t <<< "$(printf 'one\ntwo\n\nfour')"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\n1\n1\n1')" ]
	[ "$(mq-xreadgroup g c q | cut -f2 | paste -sd,)" = "one,two,,four" ]
}

@test "mq-publish: a large input goes in batches, in order, one count per message" {
	bind q t
	seq 1 10000 | mq-publish t > counts
	[ "$(wc -l < counts)" -eq 10000 ]
	[ "$(sort -u counts)" = 1 ]
	mq-xreadgroup g c q | cut -f2 > got
	seq 1 10000 | cmp - got
}

@test "mq-publish: -0 takes NUL-terminated records, newlines and all" {
	bind q t
	printf 'a\nb\0c\0' | mq-publish -0 t > counts
	[ "$(cat counts)" = "$(printf '1\n1')" ]
	mq-xreadgroup -o raw g c q | cut -z -f2- > got
	printf 'a\nb\0c\0' | cmp - got
}

@test "mq-publish: -a publishes all of stdin as one message, NUL bytes and all" {
	bind q t
	printf 'x\0y\n\nz\n' > body
	run mq-publish -a t < body
	[ "$output" = 1 ]
	mq-xreadgroup -o json g c q > got
	[ "$(wc -l < got)" -eq 1 ]
	jq -j .body got | cmp - body
	# An empty stdin is one empty message.
	run mq-publish -a t < /dev/null
	[ "$output" = 1 ]
}

@test "mq-publish: -H adds the headers to every message" {
	bind q t
	mq-publish -H a=1 -H content-type=text/plain -H e= t m1 m2 > /dev/null
	mq-xreadgroup -o json g c q > got
	[ "$(jq -c .headers got | sort -u)" = \
	    '{"a":"1","content-type":"text/plain","e":""}' ]
	[ "$(wc -l < got)" -eq 2 ]
}

@test "mq-publish: -q prints nothing, -v reports what it did" {
	bind q t
	run mq-publish -q t a b
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash -c 'mq-publish -q -v t c d 2>&1 >/dev/null'
	[ "$output" = "mq-publish: t: 2 published, 2 received" ]
	[ "$(mq-xreadgroup g c q | wc -l)" -eq 4 ]
}

@test "mq-publish: -v with stderr on a terminal shows the progress on one line" {
	command -v script > /dev/null || skip "no script(1) for a terminal"
	bind q t
	seq 1 10000 > in
	run script -qec "mq-publish -v t < in > /dev/null" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == $'\r\e[Kmq-publish: t: 4096 published'* ]]
	[[ "$output" == *$'\r\e[Kmq-publish: t: 10000 published, 10000 received\r' ]]
	# Into a file: the summary alone.
	mq-publish -q -v t < in 2> err
	printf 'mq-publish: t: 10000 published, 10000 received\n' > want
	cmp want err
}

@test "mq-publish: streamed input is published as it comes, not at its end" {
	bind q t
	mkfifo in
	timeout 30 mq-publish t < in > counts 3>&- &
	bg+=($!)
	exec 4> in
	echo first >&4
	# The count is printed once the batch was published.
	wait_until file_has_lines counts 1
	[ "$(mq-xreadgroup g c q | cut -f2)" = first ]
	echo second >&4
	exec 4>&-
	wait "${bg[0]}"
	[ "$(wc -l < counts)" -eq 2 ]
	[ "$(mq-xreadgroup g c q | cut -f2)" = second ]
}

@test "mq-publish: usage errors exit 2" {
	run mq-publish
	[ "$status" -eq 2 ]
	run mq-publish -a -0 t
	[ "$status" -eq 2 ]
	run mq-publish -a t m
	[ "$status" -eq 2 ]
	run mq-publish -0 t m
	[ "$status" -eq 2 ]
	run mq-publish -H novalue t m
	[ "$status" -eq 2 ]
	run mq-publish -H =v t m
	[ "$status" -eq 2 ]
}

@test "mq-publish: a message over a bound queue's size limit fails with 65" {
	bind q t
	mq-queue --max-msg 16 q
	run mq-publish t 'far more than sixteen bytes'
	[ "$status" -eq 65 ]
	[[ "$output" == "mq-publish: t: "* ]]
}

@test "mq-publish: a message over a queue's max-msg names the queue and the line" {
	bind q1 't.#'
	bind q2 't.#'
	mq-queue --max-msg 16 q2
	# The topic is the message's key in the queue: 3 bytes more.
	printf 'a\nfourteen bytes\n' > in
	run --separate-stderr mq-publish t.x < in
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-publish: t.x: queue q2: line 2: message of 17 bytes is over the limit of 16 bytes (raise it with: mq-queue q2 --max-msg 17)" ]
	[ -z "$output" ]
	run mq-xrange q2
	[ -z "$output" ]
	cmd=${stderr#*raise it with: }
	eval "${cmd%)}"
	run mq-publish t.x < in
	[ "$status" -eq 0 ]
	[ "$(mq-xrange q2 | cut -f2 | paste -sd,)" = "a,fourteen bytes" ]
}

@test "mq-publish: the examples of the manual page" {
	mkfifo ready
	# The subscriber's output, which the page shows on the terminal.
	{
		mq-subscribe -c 1 --ready-fd 3 'news.#' 3> ready &
	} > news.txt
	bg+=($!)
	read -r _ < ready
	run mq-publish news.tech 'mq 0.1.0 is out'
	[ "$output" = 1 ]
	wait_until file_has_lines news.txt 1
	# -c 1: the subscriber ends once it printed the message.
	wait "${bg[0]}"
	[ "$(cat news.txt)" = "$(printf 'news.tech\tmq 0.1.0 is out')" ]

	bind logs 'logs.#'
	# A job that goes on only once its first line reached the queue: the
	# lines are published as they come, not at the end.
	cat > backup <<-'EOF'
	#!/bin/sh
	echo 'backup started'
	timeout 30 sh -c 'until mq-xrange logs | grep -q started; do sleep 0.1; done' &&
	    echo 'backup done' >&2
	EOF
	chmod +x backup
	./backup 2>&1 | mq-publish -q logs.backup
	run mq-xreadgroup g c logs
	[ "$(cut -f2 <<< "$output" | paste -sd,)" = "backup started,backup done" ]

	bind invoices 'invoices.#'
	printf '%%PDF-1.4\n\0\377 an invoice\n' > inv.pdf
	run mq-publish -a -H content-type=application/pdf invoices.eu < inv.pdf
	[ "$output" = 1 ]
	[ "$(mq-xreadgroup -o json peek c invoices | jq -r '.headers["content-type"]')" = \
	    application/pdf ]
	mq-xreadgroup -o raw g c invoices > got
	{ printf '%s\t' "$(mq-xrange invoices | cut -f1)"; cat inv.pdf; printf '\0'; } |
	    cmp - got

	order='-3 boxes'
	{ [ "$(mq-publish orders.new -- "$order")" -gt 0 ] || echo unheard >&2; } 2> err
	[ "$(cat err)" = unheard ]
	bind audit 'orders.#'
	{ [ "$(mq-publish orders.new -- "$order")" -gt 0 ] || echo unheard >&2; } 2> err
	[ ! -s err ]
	[ "$(mq-xreadgroup g c audit | cut -f2)" = "$order" ]
}
