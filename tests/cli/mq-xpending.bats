#!/usr/bin/env bats
# mq-xpending: the pending entries of a group, listed or summed up.

load helpers

# A stream s with ids 1-1 .. 1-5 and a group g where c1 holds 1-1 and
# 1-2, c2 holds 1-3, 1-4 was handed back, and 1-5 was never delivered.
setup_pending() {
	for i in 1 2 3 4 5; do
		mq-xadd -q -i "1-$i" s "m$i"
	done
	mq-xreadgroup -c 2 g c1 s > /dev/null
	mq-xreadgroup -c 1 g c2 s > /dev/null
	mq-xreadgroup -c 1 g c3 s > /dev/null
	mq-nack --delay 0 s g 1-4
}

# listed ARGS...: the lines of mq-xpending ARGS without the idle field.
listed() {
	mq-xpending "$@" | cut -f1,2,4
}

@test "mq-xpending: shared options" {
	setup_pending
	common_options mq-xpending s g
}

@test "mq-xpending: one line per entry in id order: id, consumer, idle, deliveries" {
	setup_pending
	run mq-xpending s g
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "$(listed s g)" = "$(printf '1-1\tc1\t1\n1-2\tc1\t1\n1-3\tc2\t1\n1-4\t\t1')" ]
	# Four fields each, the idle time a number of milliseconds.
	for line in "${lines[@]}"; do
		[[ "$line" =~ ^1-[0-9]$'\t'[c0-9]*$'\t'[0-9]+$'\t'1$ ]]
	done
}

@test "mq-xpending: the delivery count grows with each delivery" {
	setup_pending
	mq-xreadgroup g c1 s 0 > /dev/null
	mq-xreadgroup g c1 s 0 > /dev/null
	[ "$(listed s g 1-1 1-1)" = "$(printf '1-1\tc1\t3')" ]
	# The handed-back entry, delivered again, keeps its count and adds one.
	mq-xreadgroup -c 1 g c4 s > /dev/null
	[ "$(listed s g 1-4 1-4)" = "$(printf '1-4\tc4\t2')" ]
}

@test "mq-xpending: it only looks: nothing is delivered, created or written" {
	setup_pending
	before=$(listed s g)
	mq-xpending s g > /dev/null
	mq-xpending -s s g > /dev/null
	[ "$(listed s g)" = "$before" ]
	run mq-xpending nostream g
	[ "$status" -eq 66 ]
	[ ! -e "$MQ_SPOOL/streams/nostream" ]
	run mq-xpending s nogroup
	[ "$status" -eq 66 ]
	[ "$(mq-xinfo s | awk -F '\t' '/^#/ { next } NF > 1 { print $1 }' | paste -sd' ')" = g ]
}

@test "mq-xpending: a handed-back entry has an empty consumer; -C '' lists those alone" {
	setup_pending
	[ "$(mq-xpending s g | awk -F '\t' '$2 == "" { print $1 }')" = 1-4 ]
	run listed -C '' s g
	[ "$output" = "$(printf '1-4\t\t1')" ]
	run mq-xpending -o json -C '' s g
	[ "$(jq -r '.id + " [" + .consumer + "]"' <<< "$output")" = "1-4 []" ]
}

@test "mq-xpending: -C lists the entries of one consumer" {
	setup_pending
	run listed -C c1 s g
	[ "$output" = "$(printf '1-1\tc1\t1\n1-2\tc1\t1')" ]
	run listed --consumer c2 s g
	[ "$output" = "$(printf '1-3\tc2\t1')" ]
	# A consumer that holds nothing, or does not exist: nothing.
	run mq-xpending -C c3 s g
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run mq-xpending -C nobody s g
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xpending: -c lists the entries with the smallest ids" {
	setup_pending
	run listed -c 2 s g
	[ "$output" = "$(printf '1-1\tc1\t1\n1-2\tc1\t1')" ]
	run listed -c 1 -C c2 s g
	[ "$output" = "$(printf '1-3\tc2\t1')" ]
	run listed --count 1 -C '' s g
	[ "$output" = "$(printf '1-4\t\t1')" ]
	run mq-xpending -c 0 s g
	[ "$status" -eq 2 ]
}

@test "mq-xpending: START and END, inclusive, exclusive with '(', ms alone" {
	setup_pending
	[ "$(listed s g 1-2 | cut -f1 | paste -sd' ')" = "1-2 1-3 1-4" ]
	[ "$(listed s g 1-2 1-3 | cut -f1 | paste -sd' ')" = "1-2 1-3" ]
	[ "$(listed s g '(1-2' '(1-4' | cut -f1 | paste -sd' ')" = "1-3" ]
	[ "$(listed s g - '(1-2' | cut -f1 | paste -sd' ')" = "1-1" ]
	[ "$(listed s g 1 1 | cut -f1 | paste -sd' ')" = "1-1 1-2 1-3 1-4" ]
	[ "$(listed s g 2 + | wc -l)" -eq 0 ]
	# A start above the end is an empty range, not an error.
	run mq-xpending s g 1-3 1-2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xpending: --idle 0 lists all, a very large idle none" {
	setup_pending
	[ "$(mq-xpending --idle 0 s g | wc -l)" -eq 4 ]
	run mq-xpending --idle 1000d s g
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xpending: --idle picks the entries idle that long" {
	setup_pending
	# 1-2 and 1-3 look delivered an hour ago; the others just now.
	mq-xclaim --justid --set-idle 1h s g c5 1-2 1-3 > /dev/null
	[ "$(listed --idle 30m s g)" = "$(printf '1-2\tc5\t1\n1-3\tc5\t1')" ]
	[ "$(listed --idle 1800 s g | cut -f1 | paste -sd' ')" = "1-2 1-3" ]
	[ "$(mq-xpending --idle 2h s g | wc -l)" -eq 0 ]
	# Their idle times say so too.
	mq-xpending --idle 30m s g | awk -F '\t' '$3 < 3600000 { exit 1 }'
	mq-xpending -C c1 s g | awk -F '\t' '$3 >= 1800000 { exit 1 }'
	# Filters combine.
	[ "$(listed --idle 30m -C c5 -c 1 s g '(1-2')" = "$(printf '1-3\tc5\t1')" ]
	run mq-xpending --idle 5x s g
	[ "$status" -eq 2 ]
	[[ "$output" == "mq-xpending: --idle: 5x: not a duration" ]]
}

@test "mq-xpending: -o json: one object per entry" {
	setup_pending
	run mq-xpending -o json s g
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "$(jq -r '[.id, .consumer, .deliveries] | @tsv' <<< "$output")" = "$(listed s g)" ]
	[ "$(jq -c 'keys_unsorted' <<< "${lines[0]}")" = '["id","consumer","idle","deliveries"]' ]
	jq -e '.idle >= 0 and (.idle | type) == "number"' <<< "$output" > /dev/null
	run mq-xpending --output json -C c2 s g
	[ "$(jq -r .id <<< "$output")" = 1-3 ]
}

@test "mq-xpending: consumer names are escaped in text, kept whole in JSON" {
	mq-xadd -q -i 1-1 s a
	mq-xadd -q -i 1-2 s b
	mq-xadd -q -i 1-3 s c
	mq-xreadgroup -c 1 g $'c\t1\\x' s > /dev/null
	mq-xreadgroup -c 1 g $'c\n2' s > /dev/null
	mq-xreadgroup -c 1 g $'c\xff' s > /dev/null
	run listed s g
	[ "$output" = $'1-1\tc\\t1\\\\x\t1\n1-2\tc\\n2\t1\n1-3\tc\xff\t1' ]
	run mq-xpending -o json s g
	[ "$(jq -r 'select(.id == "1-1") | .consumer' <<< "$output")" = $'c\t1\\x' ]
	[ "$(jq -r 'select(.id == "1-2") | .consumer' <<< "$output")" = $'c\n2' ]
	# Not UTF-8: the bytes in base64.
	[ "$(jq -r 'select(.id == "1-3") | .consumer_base64' <<< "$output")" = "$(printf 'c\xff' | base64)" ]
	run mq-xpending -C $'c\t1\\x' s g
	[ "$(cut -f1 <<< "$output")" = 1-1 ]
}

@test "mq-xpending: -s sums up: count, smallest and largest id, count per consumer" {
	setup_pending
	run mq-xpending -s s g
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'pending 4\npending-min-id 1-1\npending-max-id 1-4\n#consumer\tcount\n\t1\nc1\t2\nc2\t1')" ]
	run mq-xpending --summary -o json s g
	[ "$(jq -c . <<< "$output")" = '{"pending":4,"pending-min-id":"1-1","pending-max-id":"1-4","consumers":[{"consumer":"","count":1},{"consumer":"c1","count":2},{"consumer":"c2","count":1}]}' ]
	# It agrees with mq-xinfo's summary.
	[ "$(mq-xpending -s s g | sed '1,/^#/d')" = "$(mq-xinfo s g | sed '1,/^#consumer/d')" ]
}

@test "mq-xpending: -s counts what the same filters would list" {
	setup_pending
	run mq-xpending -s -C c1 s g
	[ "$output" = "$(printf 'pending 2\npending-min-id 1-1\npending-max-id 1-2\n#consumer\tcount\nc1\t2')" ]
	run mq-xpending -s s g 1-2 1-3
	[ "$output" = "$(printf 'pending 2\npending-min-id 1-2\npending-max-id 1-3\n#consumer\tcount\nc1\t1\nc2\t1')" ]
	run mq-xpending -s -c 1 s g
	[ "$output" = "$(printf 'pending 1\npending-min-id 1-1\npending-max-id 1-1\n#consumer\tcount\nc1\t1')" ]
	mq-xclaim --justid --set-idle 1h s g c2 1-1 > /dev/null
	run mq-xpending -s --idle 30m -o json s g
	[ "$(jq -c . <<< "$output")" = '{"pending":1,"pending-min-id":"1-1","pending-max-id":"1-1","consumers":[{"consumer":"c2","count":1}]}' ]
}

@test "mq-xpending: nothing pending: no lines, a summary of 0 and 0-0" {
	mq-xadd -q s a
	mq-xreadgroup g c s | mq-ack s g
	run mq-xpending s g
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run mq-xpending -s s g
	[ "$output" = "$(printf 'pending 0\npending-min-id 0-0\npending-max-id 0-0\n#consumer\tcount')" ]
	run mq-xpending -s -o json s g
	[ "$output" = '{"pending":0,"pending-min-id":"0-0","pending-max-id":"0-0","consumers":[]}' ]
}

@test "mq-xpending: more entries than one batch" {
	seq 1 9000 | mq-xadd -q s
	mq-xreadgroup -c 5000 g c1 s > /dev/null
	mq-xreadgroup g c2 s > /dev/null
	mq-xpending s g > all
	[ "$(wc -l < all)" -eq 9000 ]
	[ "$(cut -f1 all)" = "$(mq-xrange s | cut -f1)" ]
	[ "$(mq-xpending -C c2 s g | wc -l)" -eq 4000 ]
	[ "$(mq-xpending -c 4500 -C c2 s g | wc -l)" -eq 4000 ]
	[ "$(mq-xpending -c 6000 s g | wc -l)" -eq 6000 ]
	run mq-xpending -s s g
	[ "$(sed -n 1p <<< "$output")" = "pending 9000" ]
	[ "$(sed -n '/^c1/p' <<< "$output")" = "$(printf 'c1\t5000')" ]
	[ "$(sed -n '/^c2/p' <<< "$output")" = "$(printf 'c2\t4000')" ]
	run mq-xpending -v -C c1 s g
	[ "${lines[-1]}" = "mq-xpending: s: g: 5000 pending entries" ]
}

@test "mq-xpending: the listing pipes into mq-ack" {
	setup_pending
	mq-xpending -C c1 s g | mq-ack s g
	[ "$(listed s g | cut -f1 | paste -sd' ')" = "1-3 1-4" ]
	run bash -c 'mq-xpending s g | mq-ack -v s g'
	[ "$output" = 2 ]
	[ -z "$(mq-xpending s g)" ]
}

@test "mq-xpending: a closed standard output ends it quietly with 0" {
	seq 1 20000 | mq-xadd -q s
	mq-xreadgroup g c s > /dev/null
	run bash -c 'mq-xpending s g | head -1 > /dev/null; echo "${PIPESTATUS[0]}"'
	[ "$output" = 0 ]
}

@test "mq-xpending: errors and exit statuses" {
	setup_pending
	run mq-xpending s
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xpending: missing GROUP" ]
	[[ "${lines[1]}" == "usage: mq-xpending "* ]]
	run mq-xpending s g 1-1 1-2 1-3
	[ "$status" -eq 2 ]
	run mq-xpending -o raw s g
	[ "$status" -eq 2 ]
	[ "$output" = "mq-xpending: -o raw: expected text or json" ]
	run mq-xpending -c x s g
	[ "$status" -eq 2 ]
	run mq-xpending s g x
	[ "$status" -eq 65 ]
	[[ "$output" == "mq-xpending: start x: "* ]]
	run mq-xpending s g - 1-x
	[ "$status" -eq 65 ]
	[[ "$output" == "mq-xpending: end 1-x: "* ]]
	run mq-xpending s g '(+'
	[ "$status" -eq 65 ]
	run mq-xpending s ''
	[ "$status" -eq 65 ]
	run mq-xpending nostream g
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-xpending: nostream: "* ]]
	run mq-xpending s nogroup
	[ "$status" -eq 66 ]
	run mq-xpending --spool "$BATS_TEST_TMPDIR/nothing" s g
	[ "$status" -eq 66 ]
}

@test "mq-xpending: the examples of the manual page" {
	for i in 1 2 3 4; do
		mq-xadd -q -i "1-$i" orders "order $i"
	done
	mq-xreadgroup -c 2 workers w1 orders > /dev/null
	mq-xreadgroup -c 1 workers w3 orders > /dev/null
	mq-xreadgroup workers w4 orders > /dev/null
	mq-nack orders workers 1-4

	run mq-xpending orders workers
	[ "${#lines[@]}" -eq 4 ]
	run mq-xpending -s orders workers
	[ "${lines[0]}" = "pending 4" ]

	run bash -c 'mq-xpending -C w1 orders workers | mq-xclaim orders workers w2'
	[ "$output" = "$(printf '1-1\torder 1\n1-2\torder 2')" ]
	[ "$(listed -C w2 orders workers)" = "$(printf '1-1\tw2\t2\n1-2\tw2\t2')" ]

	mq-xclaim --justid --retrycount 5 orders workers w3 1-3 > /dev/null
	mq-xpending orders workers | awk -F '\t' '$4 >= 5' | mq-nack --reject orders workers
	[ "$(listed orders workers | cut -f1 | paste -sd' ')" = "1-1 1-2 1-4" ]
	[ "$(mq-dlq list orders | cut -f2-4)" = "$(printf 'rejected\t1-3\t5')" ]

	run bash -c "mq-xpending -C '' orders workers | cut -f1"
	[ "$output" = 1-4 ]

	run bash -c 'mq-xpending -o json --idle 10m orders workers | jq -r .consumer | sort -u'
	[ -z "$output" ]
	mq-xclaim --justid --set-idle 1h orders workers w5 1-2 > /dev/null
	mq-xclaim --justid --set-idle 1h orders workers w6 1-4 > /dev/null
	run bash -c 'mq-xpending -o json --idle 10m orders workers | jq -r .consumer | sort -u'
	[ "$output" = "$(printf 'w5\nw6')" ]
}
