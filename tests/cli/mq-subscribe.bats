#!/usr/bin/env bats
# mq-subscribe: live subscriptions and durable queues bound to patterns.
#
# A live subscriber runs in the background; the test waits until its
# subscription is registered in the spool before publishing (polling for
# the file, as setup, not as an assertion on time), then waits for it to
# end.  Runs that wait are wrapped in timeout(1) only so that a broken
# tool cannot hang the run.

load helpers

# subscribers: the number of live subscriptions registered in the spool.
subscribers() {
	find "$MQ_SPOOL/subscribers" -mindepth 1 -maxdepth 1 ! -name '.*' \
	    2>/dev/null | wc -l
}

# wait_subscribers N: polls (at most ~10 s) until N subscriptions are
# registered.
wait_subscribers() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(subscribers)" -ge "$1" ] && return 0
		sleep 0.05
	done
	echo "no subscription registered" >&2
	return 1
}

# subscribe OUT ARGS...: starts mq-subscribe ARGS in the background with
# its output in OUT, and waits until it is registered.
subscribe() {
	local out=$1 n
	shift
	n=$(subscribers)
	timeout 30 mq-subscribe "$@" > "$out" 3>&- &
	bg+=($!)
	wait_subscribers $((n + 1))
}

# bind QUEUE PATTERN...: binds QUEUE to the patterns; the run reads the
# queue once, finds nothing and ends with status 0.
bind() {
	local q=$1
	shift
	run mq-subscribe -Q "$q" "$@"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-subscribe: shared options" {
	# --unbind is a valid call that reads nothing and exits 0.
	common_options mq-subscribe -Q q --unbind 'a.*'
}

@test "mq-subscribe: gets what is published on matching topics, as TOPIC TAB BODY" {
	subscribe out -c 2 'news.*'
	mq-publish news.tech hello > /dev/null
	mq-publish sports.golf no > /dev/null
	mq-publish news.tech.ai no > /dev/null
	mq-publish news no > /dev/null
	mq-publish news.world 'hi there' > /dev/null
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\thello\nnews.world\thi there')" ]
	# Its registration went with it.
	[ "$(subscribers)" -eq 0 ]
}

@test "mq-subscribe: misses what was published before it started" {
	mq-publish news.tech early > /dev/null
	subscribe out -c 1 'news.*'
	mq-publish news.tech late > /dev/null
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\tlate')" ]
}

@test "mq-subscribe: '#' matches zero or more words, '*' exactly one" {
	subscribe hash -c 4 'news.#'
	subscribe star -c 3 '*.tech'
	subscribe all -c 7 '#'
	for t in news news.tech news.tech.ai newsx.tech other.news news.a.b.c \
	    x.tech; do
		mq-publish "$t" "$t" > /dev/null
	done
	wait "${bg[@]}"
	[ "$(cut -f1 hash | paste -sd' ')" = "news news.tech news.tech.ai news.a.b.c" ]
	[ "$(cut -f1 star | paste -sd' ')" = "news.tech newsx.tech x.tech" ]
	[ "$(wc -l < all)" -eq 7 ]
}

@test "mq-subscribe: the same patterns route to bound queues" {
	bind q1 'a.*.c'
	bind q2 'a.#.c'
	bind q3 '#.c'
	for t in a.b.c a.c a.b.b.c a.b b.c; do
		printf '%s ' "$t:$(mq-publish "$t" m)"
	done > counts
	[ "$(cat counts)" = "a.b.c:3 a.c:2 a.b.b.c:2 a.b:0 b.c:1 " ]
}

@test "mq-subscribe: several patterns: a message that matches two comes once" {
	subscribe out -c 3 'a.*' 'b.#' 'a.x'
	mq-publish a.x one > /dev/null
	mq-publish c.x no > /dev/null
	mq-publish b two > /dev/null
	mq-publish a.y three > /dev/null
	wait "${bg[0]}"
	[ "$(cut -f2 out | paste -sd' ')" = "one two three" ]
}

@test "mq-subscribe: --glob takes Redis glob patterns" {
	subscribe out -c 3 --glob 'news.[tw]*' 'h?llo'
	for t in news.tech news.sports hello hallo.x news.world; do
		mq-publish "$t" m > /dev/null
	done
	wait "${bg[0]}"
	[ "$(cut -f1 out | paste -sd' ')" = "news.tech hello news.world" ]
}

@test "mq-subscribe: -Q keeps what is published while it is not running" {
	bind q 'orders.#'
	mq-publish orders.new o1 > /dev/null
	mq-publish invoices.new no > /dev/null
	mq-publish orders o2 > /dev/null
	mq-publish orders.eu.paid o3 > /dev/null
	run timeout 30 mq-subscribe -Q q -c 3 'orders.#'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	# ID TAB BODY, as mq-xreadgroup prints it.
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "o1 o2 o3" ]
	for id in $(cut -f1 <<< "$output"); do
		[[ "$id" =~ ^[0-9]+-[0-9]+$ ]]
	done
	# They were acknowledged: the next run has nothing.
	run mq-subscribe -Q q -b 1ms 'orders.#'
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "mq-subscribe: -Q acknowledges what it printed: nothing stays pending" {
	bind q t
	mq-publish t a b c > /dev/null
	run timeout 30 mq-subscribe -Q q -C w1 -c 2 t
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "a b" ]
	[ "$(pending queue w1 q)" -eq 0 ]
	run timeout 30 mq-subscribe -Q q -C w1 -c 1 t
	[ "$(cut -f2 <<< "$output")" = c ]
	[ "$(pending queue w1 q)" -eq 0 ]
}

@test "mq-subscribe: -Q -C gets the consumer's own pending entries first" {
	bind q t
	mq-publish t p1 p2 n1 > /dev/null
	# Delivered to w1 but never acknowledged, as by a run that died.
	mq-xreadgroup -c 2 queue w1 q > /dev/null
	[ "$(pending queue w1 q)" -eq 2 ]
	run timeout 30 mq-subscribe -Q q -C w1 -c 3 t
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "p1 p2 n1" ]
	[ "$(pending queue w1 q)" -eq 0 ]
}

@test "mq-subscribe: -Q -g: each group gets every message, consumers share one" {
	bind q t
	mq-publish t 1 2 3 4 > /dev/null
	a=$(timeout 30 mq-subscribe -Q q -g billing -C a -c 2 t | cut -f2 | paste -sd' ')
	b=$(mq-subscribe -Q q -g billing -C b t | cut -f2 | paste -sd' ')
	all=$(mq-subscribe -Q q -g audit -b 1ms t | cut -f2 | paste -sd' ')
	[ "$a" = "1 2" ]
	[ "$b" = "3 4" ]
	[ "$all" = "1 2 3 4" ]
}

@test "mq-subscribe: -Q reads once; -f waits for what is published while it runs" {
	run mq-subscribe -Q q 'jobs.*'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	timeout 30 mq-subscribe -Q q -f -c 2 'jobs.*' > out 3>&- &
	bg+=($!)
	# Bound before it reads: then a publish reaches the queue.
	wait_until test -s "$MQ_SPOOL/bindings"
	mq-publish jobs.a j1 > /dev/null
	mq-publish jobs.b j2 > /dev/null
	wait "${bg[0]}"
	[ "$(cut -f2 out | paste -sd' ')" = "j1 j2" ]
}

# holds CONSUMER: CONSUMER has entries pending in the group queue of q.
holds() {
	[ -n "$(mq-xpending -C "$1" q queue 2>/dev/null)" ]
}

@test "mq-subscribe: -Q: what it holds stays its own while it lives, and goes at once when it dies" {
	bind q t
	mq-queue q --lease 1ms
	# More than a pipe holds: the run blocks writing a batch it was given.
	yes "$(printf '%01000d' 0)" | head -n 200 | mq-publish t > /dev/null
	mkfifo out
	exec 5<> out
	mq-subscribe -Q q -C w1 t > out 3>&- 5<&- &
	pid=$!
	bg+=($pid)
	wait_until holds w1
	# Attached: the lease does not take its entries.
	[ -z "$(mq-xreadgroup queue w2 q)" ]
	mq-queue q --lease 30m
	kill -KILL "$pid"
	wait "$pid" || true
	exec 5<&-
	# Dead: the next reader takes them at once, a second delivery.
	[ "$(mq-xreadgroup queue w2 q | wc -l)" -eq 200 ]
	[ "$(mq-xpending q queue | cut -f2,4 | sort -u)" = "$(printf 'w2\t2')" ]
}

@test "mq-subscribe: -- ends the options: a pattern may start with a dash" {
	bind q -- '-x.#'
	[ "$(mq-publish -- -x.a m)" = 1 ]
	run mq-subscribe -Q q -- '-x.#'
	[ "$status" -eq 0 ]
	[ "$(cut -f2 <<< "$output")" = m ]
}

@test "mq-subscribe: --unbind removes the bindings" {
	bind q 'a.#' 'b.*'
	run mq-publish a.x m
	[ "$output" = 1 ]
	run mq-subscribe -Q q --unbind 'a.#'
	[ "$status" -eq 0 ]
	run mq-publish a.x m
	[ "$output" = 0 ]
	run mq-publish b.x m
	[ "$output" = 1 ]
}

@test "mq-subscribe: -b exits 1 when nothing arrived in time" {
	run mq-subscribe -b 50ms 'news.*'
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(subscribers)" -eq 0 ]
	run mq-subscribe -Q q -b 50ms 'news.*'
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# Something published, but not on a matching topic.
	subscribe out -b 1s 'news.*'
	mq-publish sports.golf m > /dev/null
	st=0
	wait "${bg[0]}" || st=$?
	[ "$st" -eq 1 ]
	[ ! -s out ]
}

@test "mq-subscribe: -b: once something came, what is there is printed, exit 0" {
	bind q t
	mq-publish t a b c > /dev/null
	run mq-subscribe -Q q -b 100ms t
	[ "$status" -eq 0 ]
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "a b c" ]
	subscribe out -b 60s 'x.*'
	mq-publish x.y m > /dev/null
	st=0
	wait "${bg[0]}" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cat out)" = "$(printf 'x.y\tm')" ]
}

@test "mq-subscribe: -c with -b: stops at COUNT" {
	subscribe out -c 2 -b 10s 't'
	mq-publish t 1 2 3 > /dev/null
	st=0
	wait "${bg[0]}" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cut -f2 out | paste -sd' ')" = "1 2" ]
}

@test "mq-subscribe: follows until SIGTERM or SIGINT, printing each message promptly, exit 0" {
	mkfifo pipe
	for sig in TERM INT; do
		rm -f out
		cat pipe > out 3>&- &
		bg+=($!)
		mq-subscribe 'news.#' > pipe 3>&- &
		pid=$!
		bg+=($pid)
		wait_subscribers 1
		mq-publish news.tech "before $sig" > /dev/null
		# Written through the pipe while still running.
		wait_until file_has_lines out 1
		kill -"$sig" "$pid"
		st=0
		wait "$pid" || st=$?
		[ "$st" -eq 0 ]
		wait "${bg[-2]}"
		[ "$(cat out)" = "$(printf 'news.tech\tbefore %s' "$sig")" ]
		[ "$(subscribers)" -eq 0 ]
	done
}

@test "mq-subscribe: exits 0 when the reader of its output goes away" {
	bash -c 'timeout 30 mq-subscribe "#" | head -n 1 > out
	    echo "${PIPESTATUS[0]}" > status' 3>&- &
	bg+=($!)
	wait_subscribers 1
	mq-publish t first > /dev/null
	# head exits after one line; nothing more is published.
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 't\tfirst')" ]
	[ "$(cat status)" = 0 ]
}

@test "mq-subscribe: text output escapes newline, tab, backslash and NUL" {
	subscribe out -c 1 t
	printf 'a\nb\tc\\d\0e' | mq-publish -a t > /dev/null
	wait "${bg[0]}"
	[ "$(wc -l < out)" -eq 1 ]
	[ "$(cat out)" = "$(printf 't\ta\\nb\\tc\\\\d\\0e')" ]
}

@test "mq-subscribe: -0 bodies with NUL bytes and newlines round trip through -o raw" {
	subscribe out -c 2 -o raw 'bin.*'
	printf 'x\ny\0\0z\0' | mq-publish -0 bin.a > /dev/null
	wait "${bg[0]}"
	printf 'bin.a\tx\ny\0bin.a\t\0' > want
	cmp want out
	[ "$(od -An -c out | tr -s ' ' | tr -d '\n')" = \
	    "$(od -An -c want | tr -s ' ' | tr -d '\n')" ]
}

@test "mq-subscribe: -a bodies round trip through -o raw and -o json" {
	printf 'one\0two\nthree\n\n' > body
	printf '\377\376\0' > binary
	subscribe raw -c 2 -o raw 't.*'
	subscribe json -c 2 -o json 't.*'
	mq-publish -a t.a < body > /dev/null
	mq-publish -a t.b < binary > /dev/null
	wait "${bg[@]}"
	{ printf 't.a\t'; cat body; printf '\0t.b\t'; cat binary; printf '\0'; } |
	    cmp - raw
	[ "$(wc -l < json)" -eq 2 ]
	head -n 1 json | jq -j .body | cmp - body
	tail -n 1 json | jq -r .body_base64 | base64 -d | cmp - binary
}

@test "mq-subscribe: -o json is mq-xreadgroup's object plus the topic" {
	subscribe out -c 1 -o json 'a.#'
	mq-publish -H h=1 a.b 'say "hi"' > /dev/null
	wait "${bg[0]}"
	[ "$(wc -l < out)" -eq 1 ]
	[ "$(jq -r .topic out)" = a.b ]
	[ "$(jq -r .key out)" = a.b ]
	[ "$(jq -r .body out)" = 'say "hi"' ]
	[ "$(jq -c .headers out)" = '{"h":"1"}' ]
	[ "$(jq -r .stream out)" = amq.topic ]
	[[ "$(jq -r .id out)" =~ ^[0-9]+-[0-9]+$ ]]
	[ "$(jq -r '.time | type' out)" = number ]
	# The queue form carries it too, and names the queue.
	bind q 'a.#'
	mq-publish a.c m > /dev/null
	run timeout 30 mq-subscribe -Q q -c 1 -o json 'a.#'
	[ "$(jq -r .topic <<< "$output")" = a.c ]
	[ "$(jq -r .stream <<< "$output")" = q ]
}

@test "mq-subscribe: -o json: a topic that is not UTF-8 is topic_base64, none is null" {
	subscribe out -c 1 -o json '#'
	mq-publish $'caf\xe9.menu' m > /dev/null
	wait "${bg[0]}"
	[ "$(jq -r .topic_base64 out | base64 -d)" = $'caf\xe9.menu' ]
	[ "$(jq -r 'has("topic")' out)" = false ]
	# Appended to the queue directly, not published: no topic.
	bind q t
	mq-xadd q direct > /dev/null
	run timeout 30 mq-subscribe -Q q -c 1 -o json t
	[ "$(jq -r .body <<< "$output")" = direct ]
	[ "$(jq -r .topic <<< "$output")" = null ]
	[ "$(jq -r 'has("topic")' <<< "$output")" = true ]
}

@test "mq-subscribe: usage errors exit 2" {
	run mq-subscribe
	[ "$status" -eq 2 ]
	run mq-subscribe -c 0 t
	[ "$status" -eq 2 ]
	run mq-subscribe -c x t
	[ "$status" -eq 2 ]
	run mq-subscribe -b soon t
	[ "$status" -eq 2 ]
	run mq-subscribe -b 1s -f t
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "mq-subscribe: -b and -f cannot be used together"* ]]
	run mq-subscribe --ready-fd 99 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-subscribe: --ready-fd 99: not an open descriptor" ]
	run mq-subscribe -o xml t
	[ "$status" -eq 2 ]
	run mq-subscribe -g g t
	[ "$status" -eq 2 ]
	run mq-subscribe -C c t
	[ "$status" -eq 2 ]
	run mq-subscribe --unbind t
	[ "$status" -eq 2 ]
	run mq-subscribe -Q q --glob 't*'
	[ "$status" -eq 2 ]
	run mq-subscribe -Q q
	[ "$status" -eq 2 ]
	# No subscription was left behind by any of them.
	[ "$(subscribers)" -eq 0 ]
}

@test "mq-subscribe: a bad queue name fails with 65" {
	run mq-subscribe -Q '' t
	[ "$status" -eq 65 ]
	run mq-subscribe -Q q -C '' t
	[ "$status" -eq 65 ]
}

# no_subscribers: no live subscription is registered any more.
no_subscribers() {
	[ "$(subscribers)" -eq 0 ]
}

@test "mq-subscribe: the examples of the manual page" {
	# Until interrupted.
	mq-subscribe 'news.#' > out 3>&- &
	bg+=($!)
	wait_subscribers 1
	mq-publish news.tech 'mq 0.1.0 is out' > /dev/null
	wait_until file_has_lines out 1
	kill -TERM "${bg[0]}"
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\tmq 0.1.0 is out')" ]

	# In the background, publishing once it is in place: it is counted.
	mkfifo ready
	mq-subscribe --ready-fd 3 'news.#' 3> ready > news.txt &
	bg+=($!)
	read -r _ < ready
	run mq-publish news.tech 'mq 0.1.0 is out'
	[ "$output" = 1 ]
	wait_until file_has_lines news.txt 1
	kill -TERM "${bg[1]}"
	wait "${bg[1]}"
	[ "$(cat news.txt)" = "$(printf 'news.tech\tmq 0.1.0 is out')" ]

	# Ten readings through jq; the humidity is not one of them.
	{ mq-subscribe -c 10 -o json 'sensors.*.temp' |
	    jq -r '"\(.topic) \(.body)"' > out; } 3>&- &
	bg+=($!)
	wait_subscribers 1
	mq-publish sensors.kitchen.temp 21.5 > /dev/null
	mq-publish sensors.kitchen.humidity 40 > /dev/null
	seq 12 20 | mq-publish sensors.garden.temp > /dev/null
	wait "${bg[2]}"
	[ "$(wc -l < out)" -eq 10 ]
	[ "$(head -n 2 out)" = "$(printf 'sensors.kitchen.temp 21.5\nsensors.garden.temp 12')" ]
	wait_until no_subscribers

	# One alert within five seconds, or none.
	{ mq-subscribe -b 5s -c 1 'alerts.#' || echo no alert; } > out 3>&- &
	bg+=($!)
	wait_subscribers 1
	mq-publish alerts.disk 'disk full' > /dev/null
	wait "${bg[3]}"
	[ "$(cat out)" = "$(printf 'alerts.disk\tdisk full')" ]
	run bash -c "mq-subscribe -b 5s -c 1 'alerts.#' || echo no alert"
	[ "$output" = "no alert" ]

	# The auditor: each run prints what was published since the last.
	mq-subscribe -Q audit 'orders.#' >> audit.log
	[ ! -s audit.log ]
	mq-publish -q orders.new 'order 1'
	mq-publish -q orders.paid 'order 1'
	mq-subscribe -Q audit 'orders.#' >> audit.log
	mq-publish -q orders.new 'order 2'
	mq-subscribe -Q audit 'orders.#' >> audit.log
	[ "$(cut -f2 audit.log | paste -sd,)" = "order 1,order 1,order 2" ]
	mq-subscribe -Q audit --unbind 'orders.#'
	[ "$(mq-publish orders.new 'order 3')" = 0 ]
}

@test "mq-subscribe: --ready-fd says when nothing published is missed any more" {
	mkfifo ready
	mq-subscribe --ready-fd 3 -c 1 'news.#' 3> ready > out &
	bg+=($!)
	read -r _ < ready
	mq-publish news.tech 'mq 0.1.0 is out' > /dev/null
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\tmq 0.1.0 is out')" ]
	# The same for a queue, once bound and watched.
	mq-subscribe -Q q -f -c 1 --ready-fd 3 'jobs.#' 3> ready > out &
	bg+=($!)
	read -r _ < ready
	mq-publish jobs.a j1 > /dev/null
	wait "${bg[1]}"
	[ "$(cut -f2 out)" = j1 ]
}

@test "mq-subscribe: --time-limit ends a follow with status 0" {
	run mq-subscribe --time-limit 100ms 'never.#'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run mq-subscribe -Q q -f --time-limit 100ms 'never.#'
	[ "$status" -eq 0 ]
	# Before -b's end, it is the limit that counts: no timeout.
	run mq-subscribe -b 60s --time-limit 100ms 'never.#'
	[ "$status" -eq 0 ]
}

@test "mq-subscribe: -Q with a consumer of its own leaves no consumer behind" {
	bind q t
	mq-publish t a > /dev/null
	run mq-subscribe -Q q t
	[ "$(cut -f2 <<< "$output")" = a ]
	[ "$(mq-xinfo q queue | sed -n 's/^consumers //p')" = 0 ]
	# A named one stays, as in Redis.
	mq-subscribe -Q q -C w1 t
	[ "$(mq-xinfo q queue | sed -n 's/^consumers //p')" = 1 ]
}
