#!/usr/bin/env bats
# mq-nack: handing entries back, or dead-lettering them.

load helpers

@test "mq-nack: shared options" {
	mq-xadd -q s m
	mq-xreadgroup g c s > /dev/null
	common_options mq-nack s g 0-1
}

@test "mq-nack: hands entries back: delivered again before new ones" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup -c 2 g c1 s > /dev/null
	run mq-nack -v --delay 0 s g "${ids[1]}"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	[ "$(pending g c1 s)" -eq 1 ]
	[ "$(mq-xreadgroup g c2 s | cut -f2 | paste -sd' ')" = "b c" ]
}

@test "mq-nack: a handed-back entry waits the stream's retry delay first" {
	mq-queue s --retry-delay 1h
	id=$(mq-xadd s a)
	mq-xreadgroup g c1 s > /dev/null
	mq-nack s g "$id"
	# Handed back (no consumer), but not delivered before its time.
	[ "$(pending g c1 s)" -eq 0 ]
	[ -z "$(mq-xreadgroup g c2 s)" ]
	mq-xadd -q s b
	[ "$(mq-xreadgroup g c2 s | cut -f2)" = b ]
	run mq-nack --delay soon s g "$id"
	[ "$status" -eq 2 ]
}

@test "mq-nack: takes ids from the first field of stdin lines" {
	seq 1 3 | mq-xadd -q s
	run bash -c 'mq-xreadgroup g c s | mq-nack -v --delay 0 s g'
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xreadgroup g c s | wc -l)" -eq 3 ]
}

@test "mq-nack: -0 reads mq-xreadgroup -o raw: every entry is handed back" {
	printf 'one\0two\nlines\0tab\there\0' | mq-xadd -0 -q s
	run bash -c 'mq-xreadgroup -o raw g c s | mq-nack -0 -v --delay 0 s g'
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	[ "$(pending g c s)" -eq 0 ]
	[ "$(mq-xreadgroup g c2 s | wc -l)" -eq 3 ]
	run bash -c 'mq-xreadgroup -o raw g c2 s 0 | mq-nack --null -v --delay 0 s g'
	[ "$output" = 3 ]
	run bash -c 'mq-xreadgroup -o raw g c3 s | mq-nack s g'
	[ "$status" -eq 65 ]
	[[ "$output" == *": a NUL byte: NUL-terminated records need -0" ]]
	[ "$(pending g c3 s)" -eq 3 ]
}

@test "mq-nack: reads mq-xreadgroup -o json, as it is or through jq -c" {
	printf 'a\0b\n\377\0' | mq-xadd -0 -q -H id=h s
	run bash -c 'mq-xreadgroup -o json g c s | mq-nack -v --delay 0 s g'
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(pending g c s)" -eq 0 ]
	run bash -c "mq-xreadgroup -o json g c2 s |
	    jq -c '{worker: {id: \"w\"}, id, n: [1, {}]}' | mq-nack --reject -v s g"
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(mq-dlq count s)" -eq 2 ]
}

@test "mq-nack: a bad line is reported; the ids around it are handed back; exit 65" {
	ids=($(mq-xadd s a b))
	mq-xreadgroup g c s > /dev/null
	printf '%s\n' "${ids[0]}" 'debug: x' '{"id":7}' "${ids[1]}" > in
	printf 'x\0y\n' >> in
	run bash -c 'mq-nack -v s g < in 2> err'
	[ "$status" -eq 65 ]
	[ "$output" = 2 ]
	diff - err <<-'EOF'
	mq-nack: line 2: "debug: x": not a stream id
	mq-nack: line 3: "{\"id\":7}": "id" is not a string
	mq-nack: line 5: "x\0y": a NUL byte: NUL-terminated records need -0
	EOF
	[ "$(pending g c s)" -eq 0 ]
}

@test "mq-nack: arguments: the valid ids are handed back, a bad one reported, exit 65" {
	ids=($(mq-xadd s a b c))
	mq-xreadgroup g c s > /dev/null
	run mq-nack -v s g "${ids[0]}" bad "${ids[2]}"
	[ "$status" -eq 65 ]
	[ "${lines[0]}" = 'mq-nack: "bad": not a stream id' ]
	[ "${lines[1]}" = 2 ]
	[ "$(mq-xreadgroup g c s 0 | cut -f2)" = b ]
}

@test "mq-nack: --reject dead-letters the entries" {
	ids=($(mq-xadd s keep drop))
	mq-xreadgroup g c s > /dev/null
	run mq-nack --reject s g "${ids[1]}"
	[ "$status" -eq 0 ]
	[ "$(pending g c s)" -eq 1 ]
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-dlq list s | cut -f2,3,5)" = "$(printf 'rejected\t%s\tdrop' "${ids[1]}")" ]
	mq-nack -r s g "${ids[0]}"
	[ "$(mq-dlq count s)" -eq 2 ]
}

@test "mq-nack: at the delivery limit an entry is dead-lettered" {
	mq-queue s --delivery-limit 2
	id=$(mq-xadd s poison)
	mq-xreadgroup g c s > /dev/null
	mq-nack --delay 0 s g "$id"
	[ "$(mq-dlq count s)" -eq 0 ]
	mq-xreadgroup g c s > /dev/null
	mq-nack --delay 0 s g "$id"
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-dlq list s | cut -f2-4)" = "$(printf 'delivery-limit\t%s\t2' "$id")" ]
	run mq-xreadgroup g c s
	[ -z "$output" ]
}

@test "mq-nack: errors: 65 bad id, 66 no such stream or group, 2 usage" {
	mq-xadd -q s a
	run mq-nack s nogroup 1-1
	[ "$status" -eq 66 ]
	mq-xreadgroup g c s > /dev/null
	run mq-nack s g bad
	[ "$status" -eq 65 ]
	run mq-nack nostream g 1-1
	[ "$status" -eq 66 ]
	run mq-nack s
	[ "$status" -eq 2 ]
}

# delivered N: a new spool whose stream orders has the N entries
# 1764087154123-0, -1, ... ("order 0", "order 1", ...), all delivered to
# consumer w1 of the group workers, for one example of the manual page.
delivered() {
	local i
	MQ_SPOOL=$(mktemp -d "$BATS_TEST_TMPDIR/spool.XXXXXX")
	for ((i = 0; i < $1; i++)); do
		mq-xadd -q -i "1764087154123-$i" orders "order $i"
	done
	mq-xreadgroup workers w1 orders > /dev/null
}

# handed_back: the ids handed back, with no consumer, in id order.
handed_back() {
	mq-xpending -C '' orders workers | cut -f1 | paste -sd' '
}

@test "mq-nack: the examples of the manual page" {
	delivered 2
	mq-nack orders workers 1764087154123-0
	[ "$(handed_back)" = 1764087154123-0 ]
	[ "$(pending workers w1 orders)" -eq 1 ]

	delivered 2
	mq-nack --delay 1h orders workers 1764087154123-1
	mq-xadd -q orders 'order 2'
	# Not before the hour: the next reader gets the new entry only.
	[ "$(mq-xreadgroup workers w2 orders | cut -f2)" = "order 2" ]
	[ "$(handed_back)" = 1764087154123-1 ]

	delivered 3
	mq-xreadgroup workers w1 orders 0 | mq-nack --delay 0 orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]
	[ "$(mq-xreadgroup workers w2 orders | cut -f2 | paste -sd,)" = "order 0,order 1,order 2" ]

	delivered 1
	printf 'line 1\nline 2' | mq-xadd -a -q orders
	mq-xreadgroup workers w1 orders > /dev/null
	mq-xreadgroup -o raw workers w1 orders 0 | mq-nack -0 orders workers
	[ "$(pending workers w1 orders)" -eq 0 ]
	[ "$(mq-xpending -C '' orders workers | wc -l)" -eq 2 ]

	delivered 2
	mq-xadd -q -i 1764087154123-2 orders 'test 2'
	mq-xreadgroup workers w1 orders > /dev/null
	mq-xreadgroup -o json workers w1 orders 0 |
	    jq -c 'select(.body | startswith("test"))' | mq-nack -r orders workers
	[ "$(mq-dlq list orders | cut -f2,3,5)" = "$(printf 'rejected\t1764087154123-2\ttest 2')" ]
	[ "$(pending workers w1 orders)" -eq 2 ]

	delivered 1
	mq-nack --reject orders workers 1764087154123-0
	[ "$(mq-dlq list orders | cut -f2,3,5)" = "$(printf 'rejected\t1764087154123-0\torder 0')" ]
	[ "$(pending workers w1 orders)" -eq 0 ]
}
