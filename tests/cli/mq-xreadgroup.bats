#!/usr/bin/env bats
# mq-xreadgroup: reading as a consumer of a group, printing or running -x.

load helpers

@test "mq-xreadgroup: shared options" {
	mq-xadd -q s m
	common_options mq-xreadgroup g c s
}

@test "mq-xreadgroup: a missing group starts at 0-0: nothing written before is missed" {
	ids=$(mq-xadd s early1 early2)
	run mq-xreadgroup g c s
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\tearly1\n%s\tearly2' $ids)" ]
}

@test "mq-xreadgroup: reads all that is there, then nothing new" {
	seq 1 2500 | mq-xadd -q s
	run mq-xreadgroup g c s
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2500 ]
	run mq-xreadgroup g c s
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Another group sees everything again.
	[ "$(mq-xreadgroup g2 c s | wc -l)" -eq 2500 ]
}

@test "mq-xreadgroup: consumers of one group share the entries" {
	seq 1 10 | mq-xadd -q s
	a=$(mq-xreadgroup -c 4 g alice s | cut -f2 | paste -sd' ')
	b=$(mq-xreadgroup g bob s | cut -f2 | paste -sd' ')
	[ "$a" = "1 2 3 4" ]
	[ "$b" = "5 6 7 8 9 10" ]
}

@test "mq-xreadgroup: -c COUNT reads at most COUNT" {
	seq 1 10 | mq-xadd -q s
	run mq-xreadgroup -c 3 g c s
	[ "${#lines[@]}" -eq 3 ]
	run mq-xreadgroup --count 100 g c s
	[ "${#lines[@]}" -eq 7 ]
	run mq-xreadgroup -c 0 g c s
	[ "$status" -eq 2 ]
	run mq-xreadgroup -c many g c s
	[ "$status" -eq 2 ]
}

@test "mq-xreadgroup: text output escapes newline, tab and backslash" {
	printf 'a\nb\tc\\d\0' | mq-xadd -0 -q s
	run mq-xreadgroup g c s
	[ "${#lines[@]}" -eq 1 ]
	[ "$(cut -f2- <<< "$output")" = 'a\nb\tc\\d' ]
}

@test "mq-xreadgroup: text output writes a NUL as \\0: a line holds none, mq-ack takes it" {
	printf 'x\0y' | mq-xadd -a -q s
	[ "$(mq-xreadgroup --noack peek c s | cut -f2-)" = 'x\0y' ]
	run bash -c 'mq-xreadgroup g c s | mq-ack -v s g'
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "mq-xreadgroup: -o raw writes ID TAB BODY NUL, bodies unescaped" {
	printf 'x\0y\nz' > b1
	printf '\377\376' > b2
	id1=$(mq-xadd -a s < b1)
	id2=$(mq-xadd -a s < b2)
	mq-xreadgroup -o raw g c s > out
	{ printf '%s\t' "$id1"; cat b1; printf '\0%s\t' "$id2"; cat b2; printf '\0'; } > want
	cmp want out
}

@test "mq-xreadgroup: -o json has id, stream, offset, time, key, headers, body" {
	id=$(mq-xadd -H a=1 -H b=two -k k1 s 'hello "world"')
	run mq-xreadgroup -o json g c s
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .id <<< "$output")" = "$id" ]
	[ "$(jq -r .stream <<< "$output")" = s ]
	[ "$(jq -r .offset <<< "$output")" = 0 ]
	[ "$(jq -r '.time | type' <<< "$output")" = number ]
	[ "$(jq -r .key <<< "$output")" = k1 ]
	[ "$(jq -c .headers <<< "$output")" = '{"a":"1","b":"two"}' ]
	[ "$(jq -r .body <<< "$output")" = 'hello "world"' ]
}

@test "mq-xreadgroup: -o json is lossless for control characters and UTF-8" {
	printf 'tab\there\nnl \001 \\ "q" caf\303\251 \342\202\254' > body
	mq-xadd -a -q s < body
	mq-xreadgroup -o json g c s | jq -j .body > out
	cmp body out
}

@test "mq-xreadgroup: -o json writes bytes that are not UTF-8 as body_base64" {
	printf 'bin\0\377\300\200 end' > body
	mq-xadd -a -q s < body
	line=$(mq-xreadgroup -o json g c s)
	[ "$(jq -r 'has("body")' <<< "$line")" = false ]
	jq -r .body_base64 <<< "$line" | base64 -d > out
	cmp body out
}

@test "mq-xreadgroup: -o json writes non-UTF-8 or repeated headers as headers_base64 pairs" {
	mq-xadd -H "h=$(printf '\377')" -q s m
	mq-xadd -H a=1 -H a=2 -q s m
	run mq-xreadgroup -o json g c s
	[ "$(jq -r 'has("headers")' <<< "${lines[0]}")" = false ]
	[ "$(jq -r '.headers_base64[0][0]' <<< "${lines[0]}" | base64 -d)" = h ]
	[ "$(jq -r '.headers_base64[0][1]' <<< "${lines[0]}" | base64 -d | od -An -tx1 | tr -d ' ')" = ff ]
	[ "$(jq -r '[.headers_base64[][1] | @base64d] | join(",")' <<< "${lines[1]}")" = "1,2" ]
}

@test "mq-xreadgroup: -o with an unknown format is a usage error" {
	run mq-xreadgroup -o xml g c s
	[ "$status" -eq 2 ]
}

@test "mq-xreadgroup: an ID reads the consumer's own pending entries after it" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup g c s > /dev/null
	mq-xreadgroup g other s > /dev/null
	run mq-xreadgroup g c s 0
	[ "$output" = "$(printf '%s\ta\n%s\tb\n%s\tc' "${ids[@]}")" ]
	run mq-xreadgroup g c s "${ids[0]}"
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "b c" ]
	run mq-xreadgroup -c 1 g c s 0
	[ "$output" = "$(printf '%s\ta' "${ids[0]}")" ]
	mq-ack s g "${ids[1]}"
	[ "$(mq-xreadgroup g c s 0 | cut -f2 | paste -sd' ')" = "a c" ]
	run mq-xreadgroup g c s 1-x
	[ "$status" -eq 65 ]
}

@test "mq-xreadgroup: --noack leaves nothing pending" {
	mq-xadd -q s a b
	run mq-xreadgroup --noack g c s
	[ "${#lines[@]}" -eq 2 ]
	[ "$(pending g c s)" -eq 0 ]
	run mq-xreadgroup g c s
	[ -z "$output" ]
}

@test "mq-xreadgroup: -b DURATION exits 1 when nothing arrived" {
	run mq-xreadgroup -b 200ms g c s
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	mq-xadd -q s m
	run mq-xreadgroup -b 200ms g c s
	[ "$status" -eq 0 ]
	[ "$(cut -f2 <<< "$output")" = m ]
	run mq-xreadgroup --block 10ms g c s
	[ "$status" -eq 1 ]
}

@test "mq-xreadgroup: a typo is not a new stream: 66, and -b waits for it" {
	mq-xadd -q orders o1
	run mq-xreadgroup g c ordrs
	[ "$status" -eq 66 ]
	[ "$output" = "mq-xreadgroup: ordrs: no such stream" ]
	run mq-xinfo ordrs
	[ "$status" -eq 66 ]
	run mq-xreadgroup -b 10ms g c ordrs
	[ "$status" -eq 1 ]
	run mq-xinfo ordrs
	[ "$status" -eq 66 ]
	# No spool at all is no stream either.
	run mq-xreadgroup --spool "$BATS_TEST_TMPDIR/none" g c s
	[ "$status" -eq 66 ]
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "mq-xreadgroup: -f waits for a stream that does not exist yet" {
	mq-xreadgroup -f -c 1 g c later > out 3>&- &
	reader=$!
	mq-xadd -q later hello
	wait "$reader"
	[ "$(cut -f2 out)" = hello ]
}

@test "mq-xreadgroup: a blocked reader is woken by mq-xadd from another process" {
	mq-xadd -q s first
	mq-xreadgroup g c s > /dev/null
	mq-xreadgroup -b 0 g c s > out 3>&- &
	reader=$!
	mq-xadd s wake-up > id
	wait "$reader"
	[ "$(cat out)" = "$(printf '%s\twake-up' "$(cat id)")" ]
}

@test "mq-xreadgroup: -f follows until -c COUNT messages came" {
	mq-xreadgroup -f -c 3 g c s > out 3>&- &
	reader=$!
	mq-xadd -q s one
	mq-xadd -q s two three four
	wait "$reader"
	[ "$(cut -f2 out | paste -sd' ')" = "one two three" ]
	[ "$(mq-xreadgroup g c s | cut -f2)" = four ]
}

@test "mq-xreadgroup: -f prints as messages come and stops on SIGTERM" {
	mq-xreadgroup -f g c s > out 3>&- &
	reader=$!
	mq-xadd -q s first
	wait_until file_has_lines out 1
	mq-xadd -q s second
	wait_until file_has_lines out 2
	kill -TERM "$reader"
	status=0
	wait "$reader" || status=$?
	[ "$status" -eq 0 ]
	[ "$(cut -f2 out | paste -sd' ')" = "first second" ]
}

@test "mq-xreadgroup: -b with -f, -j without -x, and missing operands are usage errors" {
	run mq-xreadgroup -b 10 -f g c s
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: -b and -f cannot be used together"* ]]
	run mq-xreadgroup -j 2 g c s
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: -j needs -x"* ]]
	run mq-xreadgroup --delay 1s g c s
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: --delay needs -x"* ]]
	run mq-xreadgroup g c
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: missing STREAM"* ]]
	run mq-xreadgroup g c s 0 extra
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: unexpected operand extra"* ]]
	run mq-xreadgroup -b soon g c s
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xreadgroup: -b: soon: not a duration"* ]]
	run mq-xreadgroup --time-limit 1y g c s
	[ "$status" -eq 2 ]
}

@test "mq-xreadgroup: a closed stdout stops it quietly; what was not printed stays pending" {
	seq 1 20000 | mq-xadd -q s
	run bash -c 'mq-xreadgroup g c s | head -n 1; echo "${PIPESTATUS[0]}" > status'
	[ "$output" = "$(mq-xreadgroup g c s 0 | head -n 1)" ]
	[ "$(cat status)" -eq 0 ]
	# Nothing was acknowledged: everything delivered is still pending.
	delivered=$(pending g c s)
	[ "$delivered" -ge 1 ]
	[ $((delivered + $(mq-xreadgroup g c s | wc -l))) -eq 20000 ]
}

@test "mq-xreadgroup: -x gives CMD the body on stdin and the message in the environment" {
	id=$(mq-xadd -H content-type=text/plain -H x.y=1 -k key1 s "$(printf 'line1\nline2')")
	run mq-xreadgroup -x 'cat > body; env | grep "^MQ_" | sort > env' g c s
	[ "$status" -eq 0 ]
	[ "$(cat body)" = "$(printf 'line1\nline2')" ]
	grep -qx "MQ_ID=$id" env
	grep -qx "MQ_STREAM=s" env
	grep -qx "MQ_GROUP=g" env
	grep -qx "MQ_CONSUMER=c" env
	grep -qx "MQ_OFFSET=0" env
	grep -qx "MQ_DELIVERIES=1" env
	grep -qx "MQ_KEY=key1" env
	grep -qx "MQ_SPOOL=$MQ_SPOOL" env
	grep -qx "MQ_HEADER_CONTENT_TYPE=text/plain" env
	grep -qx "MQ_HEADER_X_Y=1" env
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-xreadgroup: -x acks on exit 0 and hands the rest back, with -j 4" {
	for i in $(seq 1 20); do
		if [ $((i % 4)) -eq 0 ]; then echo "fail-$i"; else echo "ok-$i"; fi
	done | mq-xadd -q s
	run mq-xreadgroup -v -j 4 --delay 0 -x 'case $(cat) in ok-*) exit 0;; *) exit 3;; esac' g c s
	# Failures make the status 123, as xargs(1) has it.
	[ "$status" -eq 123 ]
	# Each failure is reported with its id; -v adds the totals.
	[ "$(grep -Ec '^mq-xreadgroup: [0-9]+-[0-9]+: exit 3: handed back at the end of the run$' <<< "$output")" -eq 5 ]
	[[ "$output" == *"mq-xreadgroup: s: 20 delivered"* ]]
	[[ "$output" == *"mq-xreadgroup: 15 acked, 5 handed back"* ]]
	[ "$(pending g c s)" -eq 0 ]
	# The failures come back, before anything new, and only they.
	mq-xadd -q s new
	run mq-xreadgroup -c 5 g c2 s
	[ "$(cut -f2 <<< "$output" | sort | paste -sd' ')" = "fail-12 fail-16 fail-20 fail-4 fail-8" ]
	[ "$(mq-xreadgroup g c2 s | cut -f2)" = new ]
}

@test "mq-xreadgroup: -x -j N runs N commands at once" {
	seq 1 8 | mq-xadd -q s
	# Each command waits until four have started: that needs -j 4.
	run mq-xreadgroup -j 4 -x '
		touch "started.$(cat)"
		i=0
		while [ "$(ls started.* | wc -l)" -lt 4 ] && [ $i -lt 600 ]; do
			sleep 0.1; i=$((i + 1))
		done
		[ "$(ls started.* | wc -l)" -ge 4 ]' g c s
	[ "$status" -eq 0 ]
	[ "$(ls started.* | wc -l)" -eq 8 ]
	[ "$(pending g c s)" -eq 0 ]
	run mq-xreadgroup g c s
	[ -z "$output" ]
}

@test "mq-xreadgroup: -x with -c COUNT runs COUNT commands" {
	seq 1 5 | mq-xadd -q s
	run mq-xreadgroup -c 2 -x 'cat >> ran; echo >> ran' g c s
	[ "$(paste -sd' ' ran)" = "1 2" ]
	[ "$(mq-xreadgroup g c s | wc -l)" -eq 3 ]
}

@test "mq-xreadgroup: -x with --noack runs commands and leaves nothing pending" {
	mq-xadd -q s a b
	run mq-xreadgroup --noack -x 'exit 1' g c s
	[ "$status" -eq 123 ]
	[ "$(pending g c s)" -eq 0 ]
	run mq-xreadgroup g c s
	[ -z "$output" ]
}

@test "mq-xreadgroup: SIGTERM during -x lets the running command finish and acks it" {
	mq-xadd -q s job1 job2
	mq-xreadgroup -f -x 'touch started; while [ ! -e go ]; do sleep 0.05; done; cat >> done' \
	    g c s 3>&- &
	reader=$!
	wait_until test -e started
	kill -TERM "$reader"
	touch go
	status=0
	wait "$reader" || status=$?
	[ "$status" -eq 0 ]
	# Only the first message was handed over, and it was acknowledged.
	[ "$(cat done)" = job1 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xreadgroup g c s | cut -f2)" = job2 ]
}

@test "mq-xreadgroup: -x with -b waits for a message, then runs it" {
	mq-xreadgroup -b 0 -x 'cat > got' g c s 3>&- &
	reader=$!
	mq-xadd -q s hello
	wait "$reader"
	[ "$(cat got)" = hello ]
	[ "$(pending g c s)" -eq 0 ]
	run mq-xreadgroup -b 50ms -x 'cat > got' g c s
	[ "$status" -eq 1 ]
}

@test "mq-xreadgroup: an empty consumer name exits 65" {
	run mq-xreadgroup g '' s
	[ "$status" -eq 65 ]
}

@test "mq-xreadgroup: the examples of the manual page" {
	seq 1 8 | sed 's/^/order /' | mq-xadd -q orders

	mq-xreadgroup workers w1 orders | cut -f1 | mq-ack orders workers
	[ -z "$(mq-xreadgroup workers w1 orders)" ]

	seq 9 12 | sed 's/^/order /' | mq-xadd -q orders
	mq-xreadgroup -c 1 workers w1 orders > /dev/null
	run mq-xpending -C w1 orders workers
	[ "$(cut -f2 <<< "$output")" = w1 ]
	run mq-xreadgroup workers w1 orders 0
	[ "$(cut -f2 <<< "$output")" = "order 9" ]

	printf '#!/bin/sh\n[ "$(cat)" != "order 10" ] || exit 1\necho "$1" >> handled\n' > handle-order
	chmod +x handle-order
	run mq-xreadgroup --time-limit 55s -j 4 -x './handle-order "$MQ_ID"' \
	    workers cron orders
	[ "$status" -eq 123 ]
	[[ "$output" == *": exit 1: handed back at the end of the run" ]]
	[ "$(wc -l < handled)" -eq 2 ]

	# w1's own entry (order 9) comes first, then what is new.
	mq-xadd -q orders 'order 13'
	mq-xreadgroup -f -x 'cat >> orders.log; echo >> orders.log' workers w1 orders 3>&- &
	reader=$!
	wait_until file_has_lines orders.log 2
	kill -TERM "$reader"
	wait "$reader"
	[ "$(paste -sd, orders.log)" = "order 9,order 13" ]

	# The failed order 10 comes again once its retry delay passed.
	run bash -c 'mq-xreadgroup -b 5s -c 1 workers w2 orders || echo nothing came'
	[ "$(cut -f2 <<< "$output")" = "order 10" ]
	run bash -c 'mq-xreadgroup -b 5s -c 1 workers w2 orders || echo nothing came'
	[ "$output" = "nothing came" ]
	mq-xadd -q orders "$(printf 'order\t14')"
	[ "$(mq-xreadgroup -o json workers w2 orders | jq -j .body)" = "$(printf 'order\t14')" ]
}

@test "mq-xreadgroup: a failing -x command is reported and exits 123 without -v" {
	id=$(mq-xadd s bad)
	run mq-xreadgroup -x 'exit 7' g c s
	[ "$status" -eq 123 ]
	[ "$output" = "mq-xreadgroup: $id: exit 7: handed back at the end of the run" ]
	run mq-xreadgroup -q -x 'kill -9 $$' g2 c s
	[ "$status" -eq 123 ]
	[ -z "$output" ]
}

@test "mq-xreadgroup: a failing worker does not spin: a nacked entry waits its retry delay" {
	mq-queue s --retry-delay 1h
	mq-xadd -q s poison
	# One delivery in a run that follows for a second: the next is an hour away.
	run mq-xreadgroup -f --time-limit 1s -x 'echo "$MQ_DELIVERIES" >> tries; exit 1' g c s
	[ "$status" -eq 123 ]
	[[ "$output" == *": exit 1: handed back" ]]
	[ "$(cat tries)" = 1 ]
	# It is still pending, handed back, and not delivered before its time.
	run mq-xreadgroup -x 'exit 0' g c s
	[ "$status" -eq 0 ]
	[ "$(cat tries)" = 1 ]
	# --delay overrides the stream's delay for this run's failures.
	for i in 1 2 3; do
		run mq-xreadgroup --delay 0 -x 'echo "$MQ_DELIVERIES" >> tries2; exit 1' g2 c s
		[ "$status" -eq 123 ]
	done
	[ "$(paste -sd' ' tries2)" = "1 2 3" ]
}

@test "mq-xreadgroup: a waiting reader is woken when a retry delay ends" {
	mq-xadd -q s again
	mq-xreadgroup -q --delay 200ms -x 'exit 1' g c s || true
	# Not due yet: nothing now; -b wakes when it is, without an append.
	[ -z "$(mq-xreadgroup g c s)" ]
	run mq-xreadgroup -b 60s -x 'echo "$MQ_DELIVERIES" > tries' g c s
	[ "$status" -eq 0 ]
	[ "$(cat tries)" = 2 ]
}

@test "mq-xreadgroup: --time-limit stops taking entries, finishes what runs, exits 0" {
	mq-xadd -q s job1 job2
	# job1 runs past the limit: it is finished and acked; job2 is not taken.
	run mq-xreadgroup -f --time-limit 1s -x 'sleep 2; cat >> done' g c s
	[ "$status" -eq 0 ]
	[ "$(cat done)" = job1 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xreadgroup g c s | cut -f2)" = job2 ]
	# A limit that ends a wait for a stream that never came is no timeout.
	run mq-xreadgroup -f --time-limit 100ms g c never
	[ "$status" -eq 0 ]
}

@test "mq-xreadgroup: a -x reader killed with SIGKILL: another consumer takes its entry" {
	mq-xadd -q s job
	mq-xreadgroup -f -x 'echo $$ > worker; exec sleep 1000' g c1 s 3>&- &
	reader=$!
	wait_until test -s worker
	kill -KILL "$reader"
	kill -KILL "$(cat worker)"
	wait "$reader" || true
	# At once, with no lease to wait for, and counted as a delivery.
	run mq-xreadgroup -x 'echo "$(cat) $MQ_DELIVERIES" > took' g c2 s
	[ "$status" -eq 0 ]
	[ "$(cat took)" = "job 2" ]
}

@test "mq-xreadgroup: a waiting reader takes a dead reader's entry when it dies" {
	mq-xadd -q s job
	mq-xreadgroup -f -x 'echo $$ > worker; exec sleep 1000' g c1 s 3>&- &
	first=$!
	wait_until test -s worker
	mq-xreadgroup -f -c 1 g c2 s > took 3>&- &
	second=$!
	kill -KILL "$first"
	kill -KILL "$(cat worker)"
	wait "$second"
	[ "$(cut -f2 took)" = job ]
}

@test "mq-xreadgroup: a pipeline's entries go to another consumer after the lease, not before" {
	mq-xadd -q s one two
	mq-xreadgroup -c 1 g p s > /dev/null
	# The default lease is long: the entry stays p's.
	[ "$(mq-xreadgroup g other s | tee other | cut -f2)" = two ]
	mq-ack s g < other
	# With a short lease, a waiting reader gets it once the lease ends.
	mq-queue s --lease 500ms
	run mq-xreadgroup -b 60s -x 'echo "$(cat) $MQ_DELIVERIES" > took' g third s
	[ "$status" -eq 0 ]
	[ "$(cat took)" = "one 2" ]
	[ "$(pending g p s)" -eq 0 ]
}

@test "mq-xreadgroup: a reused consumer name gets its own pending entries first, with -x or -f" {
	mq-xadd -q s a b c d
	mq-xreadgroup -c 2 g w s > /dev/null
	# The pipeline form does not take them back: its worker may have them.
	[ "$(mq-xreadgroup -c 1 g w s | cut -f2)" = c ]
	[ "$(pending g w s)" -eq 3 ]
	# The next run that lives with its work does, first.
	run mq-xreadgroup -x 'cat >> got; echo >> got' g w s
	[ "$status" -eq 0 ]
	[ "$(paste -sd' ' got)" = "a b c d" ]
	[ "$(pending g w s)" -eq 0 ]
}
