#!/usr/bin/env bats
# mq-xclaim: giving pending entries to another consumer, by id or all
# those idle long enough.

load helpers

# A stream s with ids 1-1 .. 1-4 and a group g where c1 holds 1-1 and
# 1-2 and c2 holds 1-3; 1-4 was never delivered.
setup_pending() {
	for i in 1 2 3 4; do
		mq-xadd -q -i "1-$i" s "m$i"
	done
	mq-xreadgroup -c 2 g c1 s > /dev/null
	mq-xreadgroup -c 1 g c2 s > /dev/null
}

# owners STREAM GROUP: "ID<TAB>CONSUMER<TAB>DELIVERIES" of each pending entry.
owners() {
	mq-xpending "$1" "$2" | cut -f1,2,4
}

@test "mq-xclaim: shared options" {
	setup_pending
	common_options mq-xclaim s g c3 1-1
}

@test "mq-xclaim: claims the ids given, prints them as mq-xreadgroup does" {
	setup_pending
	run mq-xclaim s g c3 1-1 1-3
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1-1\tm1\n1-3\tm3')" ]
	# Each claim counts a delivery.
	[ "$(owners s g)" = "$(printf '1-1\tc3\t2\n1-2\tc1\t1\n1-3\tc3\t2')" ]
	# The new consumer reads them as its own.
	[ "$(mq-xreadgroup g c3 s 0 | cut -f1 | paste -sd' ')" = "1-1 1-3" ]
}

@test "mq-xclaim: ids that are not pending are skipped, not an error" {
	setup_pending
	run mq-xclaim -v s g c3 1-4 1-2 9-9
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(printf '1-2\tm2')" ]
	[ "${lines[1]}" = "mq-xclaim: s: g: 1 claimed by c3" ]
	[ "${#lines[@]}" -eq 2 ]
	# 1-4 stays new: the next read delivers it.
	[ "$(mq-xreadgroup g c1 s | cut -f1)" = 1-4 ]
}

@test "mq-xclaim: the ids come from the first field of each line of stdin" {
	setup_pending
	run bash -c "printf '1-1\tc1\t5\t1\n\n1-3 whatever\n' | mq-xclaim s g c3"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1-1\tm1\n1-3\tm3')" ]
	[ "$(owners s g | cut -f1,2)" = "$(printf '1-1\tc3\n1-2\tc1\n1-3\tc3')" ]
}

@test "mq-xclaim: mq-xpending | mq-xclaim | mq-ack hands over and finishes the work" {
	setup_pending
	run bash -c 'mq-xpending -C c1 s g | mq-xclaim s g c3 | cut -f1 | mq-ack -v s g'
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(owners s g)" = "$(printf '1-3\tc2\t1')" ]
}

@test "mq-xclaim: a consumer killed with SIGKILL has its entries claimed by another" {
	for i in 1 2 3; do
		mq-xadd -q -i "1-$i" s "job $i"
	done
	mq-xreadgroup -f g c1 s > got &
	pid=$!
	wait_until file_has_lines got 3
	kill -KILL "$pid"
	wait "$pid" || true
	# What c1 was given stays pending for it ...
	[ "$(owners s g)" = "$(printf '1-1\tc1\t1\n1-2\tc1\t1\n1-3\tc1\t1')" ]
	# ... until another consumer claims it, handles it and acks it.
	mq-xpending -C c1 s g | mq-xclaim s g c2 > claimed
	[ "$(cat claimed)" = "$(cat got)" ]
	[ "$(owners s g)" = "$(printf '1-1\tc2\t2\n1-2\tc2\t2\n1-3\tc2\t2')" ]
	cut -f1 claimed | mq-ack s g
	[ -z "$(mq-xpending s g)" ]
	[ "$(mq-xpending -s s g | head -1)" = "pending 0" ]
}

@test "mq-xclaim: --idle 0 claims, a very large idle claims nothing" {
	setup_pending
	run mq-xclaim --idle 1000d s g c3 1-1 1-2 1-3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(owners s g)" = "$(printf '1-1\tc1\t1\n1-2\tc1\t1\n1-3\tc2\t1')" ]
	run mq-xclaim --idle 0 s g c3 1-2
	[ "$output" = "$(printf '1-2\tm2')" ]
	run mq-xclaim -a --idle 1000d s g c3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xclaim: --set-idle makes claimed entries look idle; --idle takes only those" {
	setup_pending
	mq-xclaim --set-idle 1h s g c1 1-1 > /dev/null
	mq-xpending -C c1 s g 1-1 1-1 | awk -F '\t' '$3 >= 3600000 { ok = 1 } END { exit !ok }'
	# By id: 1-2 was delivered just now, 1-1 an hour ago.
	run mq-xclaim --idle 30m s g c3 1-1 1-2
	[ "$output" = "$(printf '1-1\tm1')" ]
	# A claim is a delivery: 1-1 is not idle any more.
	run mq-xclaim --idle 30m s g c4 1-1
	[ -z "$output" ]
	[ "$(owners s g | cut -f1,2)" = "$(printf '1-1\tc3\n1-2\tc1\n1-3\tc2')" ]
	# All of them: only the idle ones.
	mq-xclaim --set-idle 2h --justid s g c2 1-3 > /dev/null
	run mq-xclaim -a --idle 90m s g c5
	[ "$output" = "$(printf '1-3\tm3')" ]
	run mq-xclaim --set-idle x s g c3 1-1
	[ "$status" -eq 2 ]
}

@test "mq-xclaim: -a claims every pending entry, whoever holds it" {
	setup_pending
	mq-nack s g 1-2
	run mq-xclaim -a -v s g c3
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1-1\tm1\n1-2\tm2\n1-3\tm3\nmq-xclaim: s: g: 3 claimed by c3')" ]
	[ "$(owners s g)" = "$(printf '1-1\tc3\t2\n1-2\tc3\t2\n1-3\tc3\t2')" ]
	# 1-4 was never delivered: it is not pending, and stays new.
	[ "$(mq-xreadgroup g c1 s | cut -f1)" = 1-4 ]
}

@test "mq-xclaim: -a over more entries than one call claims, -c stops it" {
	seq 1 10000 | mq-xadd -q s
	mq-xreadgroup g c1 s > /dev/null
	run mq-xclaim -a -c 5000 --justid s g c2
	[ "${#lines[@]}" -eq 5000 ]
	[ "$output" = "$(mq-xrange -c 5000 s | cut -f1)" ]
	[ "$(mq-xpending -C c2 s g | wc -l)" -eq 5000 ]
	mq-xclaim --auto s g c3 > /dev/null
	[ "$(mq-xpending -C c3 s g | wc -l)" -eq 10000 ]
	run mq-xpending -s s g
	[ "$(sed -n '5,$p' <<< "$output")" = "$(printf 'c3\t10000')" ]
}

@test "mq-xclaim: -c claims at most COUNT, then exits without reading the rest" {
	setup_pending
	run mq-xclaim -c 1 s g c3 1-1 1-2 1-3
	[ "$output" = "$(printf '1-1\tm1')" ]
	# An endless input: -c ends the run once enough were claimed.
	run bash -c 'yes 1-2 | mq-xclaim -c 1 --count 1 s g c4'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1-2\tm2')" ]
	[ "$(owners s g)" = "$(printf '1-1\tc3\t2\n1-2\tc4\t2\n1-3\tc2\t1')" ]
	run mq-xclaim -a -c 1 s g c5
	[ "$output" = "$(printf '1-1\tm1')" ]
}

@test "mq-xclaim: --justid prints ids only and counts no delivery" {
	setup_pending
	run mq-xclaim --justid s g c3 1-1 1-3
	[ "$output" = "$(printf '1-1\n1-3')" ]
	[ "$(owners s g)" = "$(printf '1-1\tc3\t1\n1-2\tc1\t1\n1-3\tc3\t1')" ]
	run mq-xclaim --justid -o json s g c4 1-1
	[ "$output" = '{"id":"1-1"}' ]
	mq-xclaim --justid -o raw s g c4 1-2 > raw
	[ "$(od -An -c raw | tr -s ' ')" = " 1 - 2 \0" ]
	run mq-xclaim -a --justid s g c5
	[ "$output" = "$(printf '1-1\n1-2\n1-3')" ]
	[ "$(owners s g | cut -f3 | paste -sd' ')" = "1 1 1" ]
}

@test "mq-xclaim: -o json and raw print as mq-xreadgroup does" {
	mq-xadd -q -i 1-1 -H k=v s $'two\nlines'
	mq-xreadgroup g c1 s > /dev/null
	mq-xreadgroup -o json g c1 s 0 > expected.json
	run mq-xclaim -o json s g c2 1-1
	[ "$output" = "$(cat expected.json)" ]
	[ "$(jq -r .body <<< "$output")" = $'two\nlines' ]
	[ "$(jq -c .headers <<< "$output")" = '{"k":"v"}' ]
	mq-xclaim -o raw s g c3 1-1 > raw
	[ "$(od -An -c raw | tr -s ' ')" = " 1 - 1 \t t w o \n l i n e s \0" ]
	run mq-xclaim s g c4 1-1
	[ "$output" = '1-1	two\nlines' ]
}

@test "mq-xclaim: a claim counts a delivery: the delivery limit dead-letters the entry" {
	mq-queue s --delivery-limit 2
	mq-xadd -q -i 1-1 s poison
	mq-xreadgroup g c1 s > /dev/null
	run mq-xclaim s g c2 1-1
	[ "$output" = "$(printf '1-1\tpoison')" ]
	[ "$(owners s g)" = "$(printf '1-1\tc2\t2')" ]
	[ "$(mq-dlq count s)" -eq 0 ]
	# Delivered twice: a third delivery by claim dead-letters it instead.
	run mq-xclaim -v s g c3 1-1
	[ "$status" -eq 0 ]
	[ "$output" = "mq-xclaim: s: g: 0 claimed by c3" ]
	[ -z "$(mq-xpending s g)" ]
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-dlq list s | cut -f2-4)" = "$(printf 'delivery-limit\t1-1\t2')" ]
}

@test "mq-xclaim: -a dead-letters at the delivery limit too" {
	mq-queue s --delivery-limit 1
	mq-xadd -q -i 1-1 s poison
	mq-xadd -q -i 1-2 s fine
	mq-xreadgroup -c 1 g c1 s > /dev/null
	run mq-xclaim -a s g c2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(mq-dlq list s | cut -f2-4)" = "$(printf 'delivery-limit\t1-1\t1')" ]
	[ -z "$(mq-xpending s g)" ]
}

@test "mq-xclaim: --justid and --retrycount do not dead-letter; --retrycount sets the count" {
	mq-queue s --delivery-limit 2
	mq-xadd -q -i 1-1 s poison
	mq-xreadgroup g c1 s > /dev/null
	mq-xreadgroup g c1 s 0 > /dev/null
	[ "$(owners s g)" = "$(printf '1-1\tc1\t2')" ]
	run mq-xclaim --justid s g c2 1-1
	[ "$output" = 1-1 ]
	[ "$(owners s g)" = "$(printf '1-1\tc2\t2')" ]
	run mq-xclaim --retrycount 0 s g c3 1-1
	[ "$output" = "$(printf '1-1\tpoison')" ]
	[ "$(owners s g)" = "$(printf '1-1\tc3\t0')" ]
	[ "$(mq-dlq count s)" -eq 0 ]
	# A fresh start: two more deliveries before the limit.
	mq-xclaim s g c4 1-1 > /dev/null
	mq-xclaim s g c4 1-1 > /dev/null
	[ "$(owners s g)" = "$(printf '1-1\tc4\t2')" ]
	run mq-xclaim --retrycount -1 s g c3 1-1
	[ "$status" -eq 2 ]
}

@test "mq-xclaim: an entry deleted from the stream is dropped, not claimed" {
	mq-xadd -q -i 1-1 s old
	mq-xreadgroup g c1 s > /dev/null
	# Trimming the stream to one entry deletes 1-1; it stays pending.
	mq-xadd -q -M 1 -i 1-2 s new
	mq-xreadgroup g c1 s > /dev/null
	[ "$(owners s g | cut -f1 | paste -sd' ')" = "1-1 1-2" ]
	run mq-xclaim -a s g c2
	[ "$status" -eq 0 ]
	[ "$(grep -v '^mq-xclaim' <<< "$output")" = "$(printf '1-2\tnew')" ]
	[[ "$output" == *"mq-xclaim: s: 1-1: deleted from the stream; no longer pending"* ]]
	[ "$(owners s g)" = "$(printf '1-2\tc2\t2')" ]
	# By id, and with -q, silently.
	mq-xadd -q -M 1 -i 1-3 s newer
	run mq-xclaim -q s g c3 1-2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$(mq-xpending s g)" ]
}

@test "mq-xclaim: errors and exit statuses" {
	setup_pending
	run mq-xclaim s g
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xclaim: missing CONSUMER" ]
	[[ "${lines[1]}" == "usage: mq-xclaim "* ]]
	run mq-xclaim -a s g c3 1-1
	[ "$status" -eq 2 ]
	run mq-xclaim -a --retrycount 1 s g c3
	[ "$status" -eq 2 ]
	run mq-xclaim -a --set-idle 1h s g c3
	[ "$status" -eq 2 ]
	run mq-xclaim --idle soon s g c3 1-1
	[ "$status" -eq 2 ]
	run mq-xclaim -c 0 s g c3 1-1
	[ "$status" -eq 2 ]
	run mq-xclaim -o xml s g c3 1-1
	[ "$status" -eq 2 ]
	# A malformed id exits 65 after claiming (and printing) the ids before it.
	run bash -c "printf '1-1\nnot-an-id\n1-2\n' | mq-xclaim s g c3 2> err"
	[ "$status" -eq 65 ]
	[ "$output" = "$(printf '1-1\tm1\n1-2\tm2')" ]
	[ "$(cat err)" = 'mq-xclaim: line 2: "not-an-id": not a stream id' ]
	[ "$(owners s g | cut -f1,2)" = "$(printf '1-1\tc3\n1-2\tc3\n1-3\tc2')" ]
	run mq-xclaim s g c3 12
	[ "$status" -eq 65 ]
	run mq-xclaim s g '' 1-1
	[ "$status" -eq 65 ]
	run mq-xclaim s g "$(printf 'x%.0s' {1..201})" 1-1
	[ "$status" -eq 65 ]
	run mq-xclaim nostream g c3 1-1
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-xclaim: nostream: "* ]]
	run mq-xclaim s nogroup c3 1-1
	[ "$status" -eq 66 ]
	run mq-xclaim -a s nogroup c3
	[ "$status" -eq 66 ]
	run mq-xclaim --spool "$BATS_TEST_TMPDIR/nothing" s g c3 1-1
	[ "$status" -eq 66 ]
	# Nothing was claimed by the failed runs.
	[ "$(owners s g | cut -f1,2)" = "$(printf '1-1\tc3\n1-2\tc3\n1-3\tc2')" ]
}

@test "mq-xclaim: a closed standard output ends it quietly with 0" {
	seq 1 20000 | mq-xadd -q s
	mq-xreadgroup g c1 s > /dev/null
	run bash -c 'mq-xclaim -a s g c2 | head -1 > /dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" = 0 ]
}

@test "mq-xclaim: the examples of the manual page" {
	for i in 0 1 2; do
		mq-xadd -q -i "1764087154123-$i" orders "order $i"
	done
	mq-xreadgroup -c 2 workers w1 orders > /dev/null

	run mq-xclaim -o json orders workers w2 1764087154123-0
	[ "$(jq -r '.id + " " + .body' <<< "$output")" = "1764087154123-0 order 0" ]

	printf '#!/bin/sh\nwhile IFS= read -r l; do printf "%%s\\n" "${l%%%%\t*}"; done\n' > worker
	chmod +x worker
	mq-xpending -C w1 orders workers | mq-xclaim orders workers w2 |
	    ./worker | mq-ack orders workers
	# w1's entry was claimed and acked; the one claimed above stays.
	[ "$(mq-xpending orders workers | cut -f1,2)" = "$(printf '1764087154123-0\tw2')" ]

	mq-xreadgroup workers w1 orders > /dev/null
	run mq-xclaim -a -c 100 --idle 5m orders workers w2
	[ -z "$output" ]
	mq-xclaim --justid --set-idle 10m orders workers w1 1764087154123-2 > /dev/null
	run mq-xclaim -a -c 100 --idle 5m orders workers w2
	[ "$output" = "$(printf '1764087154123-2\torder 2')" ]

	mq-nack orders workers 1764087154123-2
	run bash -c "mq-xpending -C '' orders workers | mq-xclaim --justid orders workers w2"
	[ "$output" = 1764087154123-2 ]

	# At the limit, a claim that counts would dead-letter the entry.
	mq-queue orders --delivery-limit 3
	mq-xclaim --justid --retrycount 3 orders workers w2 1764087154123-0 > /dev/null
	run mq-xclaim --retrycount 0 orders workers w2 1764087154123-0
	[ "$output" = "$(printf '1764087154123-0\torder 0')" ]
	mq-xclaim orders workers w2 1764087154123-0 > /dev/null
	[ "$(mq-dlq count orders)" -eq 0 ]
	[ "$(mq-xpending orders workers 1764087154123-0 1764087154123-0 | cut -f4)" = 1 ]
}
