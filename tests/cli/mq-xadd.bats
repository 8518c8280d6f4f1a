#!/usr/bin/env bats
# mq-xadd: appending messages.

load helpers
bats_require_minimum_version 1.5.0

# bodies STREAM: the bodies of STREAM in order, one per line (text form).
bodies() {
	mq-xreadgroup "peek-$RANDOM$RANDOM" c "$1" --noack | cut -f2-
}

@test "mq-xadd: shared options" {
	common_options mq-xadd s m
}

@test "mq-xadd: appends each MESSAGE argument and prints one id per line" {
	run mq-xadd s one two three
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	for id in "${lines[@]}"; do
		[[ "$id" =~ ^[0-9]+-[0-9]+$ ]]
	done
	# Ids strictly increase, and are the ids the reader sees.
	[ "$(printf '%s\n' "${lines[@]}" | sort -t- -k1,1n -k2,2n | uniq)" = \
	    "$(printf '%s\n' "${lines[@]}")" ]
	[ "$(mq-xreadgroup g c s --noack | cut -f1)" = \
	    "$(printf '%s\n' "${lines[@]}")" ]
	[ "$(bodies s)" = "$(printf 'one\ntwo\nthree')" ]
}

@test "mq-xadd: without MESSAGE appends each line of stdin, newline stripped" {
	run bash -c "printf 'a\n\nb c\nlast-without-newline' | mq-xadd s"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	run mq-xreadgroup g c s -o json --noack
	[ "$(printf '%s\n' "$output" | jq -r .body | paste -sd'|')" = \
	    "a||b c|last-without-newline" ]
}

@test "mq-xadd: empty stdin appends nothing" {
	run mq-xadd s < /dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xadd: many lines of stdin keep their order across batches" {
	seq 1 300000 > in
	run bash -c "mq-xadd -q s < in"
	[ "$status" -eq 0 ]
	bodies s > out
	cmp in out
	# And through a pipe, which brings the input in small reads.
	seq 1 50000 | mq-xadd -q p
	seq 1 50000 > in2
	bodies p > out2
	cmp in2 out2
}

@test "mq-xadd: a line longer than the read buffer stays one message" {
	mq-queue s --max-msg 16M
	head -c 6000000 /dev/zero | tr '\0' x > big
	printf '\nsmall\n' >> big
	run bash -c "mq-xadd s < big"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	mq-xreadgroup g c s -o raw --noack > out
	[ "$(tr '\0' '\n' < out | cut -f2 | awk '{ print length($0) }' | paste -sd,)" = "6000000,5" ]
}

@test "mq-xadd: -0 splits stdin at NUL bytes, newlines stay in the body" {
	run bash -c "printf 'one\nline\0two\0' | mq-xadd -0 s"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	mq-xreadgroup g c s -o raw --noack > out
	printf '%s\t%s\0%s\t%s\0' "${lines[0]}" "$(printf 'one\nline')" \
	    "${lines[1]}" two > want
	cmp want out
}

@test "mq-xadd: -a appends all of stdin as one message, bytes intact" {
	printf 'bin\0ary\n\377\tend\n' > body
	run bash -c "mq-xadd -a s < body"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	mq-xreadgroup g c s -o raw --noack > out
	{ printf '%s\t' "${lines[0]}"; cat body; printf '\0'; } > want
	cmp want out
}

@test "mq-xadd: -a with empty stdin appends one empty message" {
	run mq-xadd -a s < /dev/null
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(mq-xreadgroup g c s --noack -o json | jq -r '.body | length')" = 0 ]
}

@test "mq-xadd: -0 and -a together, or with MESSAGE arguments, are usage errors" {
	run mq-xadd -0 -a s < /dev/null
	[ "$status" -eq 2 ]
	run mq-xadd -a s m
	[ "$status" -eq 2 ]
	run mq-xadd -0 s m
	[ "$status" -eq 2 ]
}

@test "mq-xadd: -H headers go on every message, in order" {
	mq-xadd -H type=order -H 'note=a=b' s m1 m2
	run mq-xreadgroup g c s -o json --noack
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		[ "$(jq -c .headers <<< "$l")" = '{"type":"order","note":"a=b"}' ]
	done
}

@test "mq-xadd: -H without NAME=VALUE is a usage error" {
	run mq-xadd -H novalue s m
	[ "$status" -eq 2 ]
	run mq-xadd -H =v s m
	[ "$status" -eq 2 ]
}

@test "mq-xadd: -k sets the key of every message" {
	mq-xadd -k customer-7 s m
	mq-xadd s nokey
	run mq-xreadgroup g c s -o json --noack
	[ "$(jq -r .key <<< "${lines[0]}")" = customer-7 ]
	[ "$(jq -r .key <<< "${lines[1]}")" = null ]
}

@test "mq-xadd: -i sets an explicit or partial id" {
	run mq-xadd -i 5-3 s first
	[ "$output" = 5-3 ]
	run mq-xadd -i '5-*' s second
	[ "$output" = 5-4 ]
	run mq-xadd -i '7-*' s third
	[ "$output" = 7-0 ]
	echo fourth | mq-xadd -i 9-1 s
	[ "$(mq-xreadgroup g c s --noack | cut -f1 | paste -sd' ')" = \
	    "5-3 5-4 7-0 9-1" ]
}

@test "mq-xadd: -i at or below the top id exits 65 and appends nothing" {
	mq-xadd -i 5-3 s first
	run mq-xadd -i 5-3 s again
	[ "$status" -eq 65 ]
	[[ "$output" == "mq-xadd: s: "* ]]
	run mq-xadd -i 0-0 s zero
	[ "$status" -eq 65 ]
	[ "$(bodies s)" = first ]
}

@test "mq-xadd: a malformed -i exits 65" {
	run mq-xadd -i 12-x s m
	[ "$status" -eq 65 ]
	run mq-xadd -i '' s m
	[ "$status" -eq 65 ]
}

@test "mq-xadd: -i with more than one message is refused" {
	run mq-xadd -i 5-1 s a b
	[ "$status" -eq 2 ]
	run bash -c "printf 'a\nb\n' | mq-xadd -i 5-1 s"
	[ "$status" -eq 65 ]
	run mq-xreadgroup g c s --noack
	[ -z "$output" ]
}

@test "mq-xadd: -M trims the stream to MAXLEN after appending" {
	seq 1 10 | mq-xadd -q s
	run mq-xadd -M 3 s 11 12
	[ "$status" -eq 0 ]
	[ "$(bodies s | paste -sd' ')" = "10 11 12" ]
	run mq-xadd -M x s m
	[ "$status" -eq 2 ]
}

@test "mq-xadd: a closed stdout stops the ids, not the appends" {
	run bash -c 'seq 1 100000 | mq-xadd s | head -n 1; echo "${PIPESTATUS[1]}" > status'
	[[ "$output" =~ ^[0-9]+-[0-9]+$ ]]
	[ "$(cat status)" -eq 0 ]
	[ "$(bodies s | wc -l)" -eq 100000 ]
}

@test "mq-xadd: -q prints no ids, -v counts on stderr" {
	run mq-xadd -q s a b
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash -c 'mq-xadd -v s a b 2>&1 >/dev/null'
	[ "$output" = "mq-xadd: s: 2 appended" ]
	[ "$(bodies s | wc -l)" -eq 4 ]
}

@test "mq-xadd: a message over the stream's max-msg exits 65" {
	mq-queue s --max-msg 1k
	run bash -c "head -c 2000 /dev/zero | mq-xadd -a s"
	[ "$status" -eq 65 ]
	[ "$output" = "mq-xadd: s: standard input: message of 2000 bytes is over the limit of 1024 bytes (raise it with: mq-queue s --max-msg 2000)" ]
	run bash -c "head -c 1000 /dev/zero | mq-xadd -a s"
	[ "$status" -eq 0 ]
}

@test "mq-xadd: a line over max-msg is named by its number; its batch is refused whole" {
	{ printf 'a\nb\n'; head -c 2000000 /dev/zero | tr '\0' x; printf '\nc\n'; } > in
	run --separate-stderr mq-xadd orders < in
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: orders: line 3: message of 2000000 bytes is over the limit of 1048576 bytes (raise it with: mq-queue orders --max-msg 2000000)" ]
	# A file comes in one read, one batch: a and b were refused with it,
	# and no id was printed.
	[ -z "$output" ]
	[ "$(bodies orders | wc -l)" -eq 0 ]
	# The command it names raises the limit, and the same input goes in.
	cmd=${stderr#*raise it with: }
	eval "${cmd%)}"
	run mq-xadd orders < in
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "mq-xadd: a record (-0) or an argument over max-msg is named by its number" {
	mq-queue s --max-msg 10
	run bash -c "printf 'a\0b\0ccccccccccc\0' | mq-xadd -0 s"
	[ "$status" -eq 65 ]
	[ "$output" = "mq-xadd: s: record 3: message of 11 bytes is over the limit of 10 bytes (raise it with: mq-queue s --max-msg 11)" ]
	run --separate-stderr mq-xadd s aa bbbbbbbbbbbbbb
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: s: argument 2: message of 14 bytes is over the limit of 10 bytes (raise it with: mq-queue s --max-msg 14)" ]
	[ -z "$output" ]
}

@test "mq-xadd: the size over max-msg counts headers and key; odd names are quoted" {
	mq-queue 'my stream' --max-msg 10
	# 4 bytes of body, 3 of key, 1 + 3 of header: 11 bytes.
	run mq-xadd -k key -H h=val 'my stream' body
	[ "$status" -eq 65 ]
	[ "$output" = "mq-xadd: my stream: argument 1: message of 11 bytes is over the limit of 10 bytes (raise it with: mq-queue 'my stream' --max-msg 11)" ]
	cmd=${output#*raise it with: }
	eval "${cmd%)}"
	run mq-xadd -k key -H h=val 'my stream' body
	[ "$status" -eq 0 ]
}

@test "mq-xadd: a line over 512 MiB, the largest message there can be, is named" {
	[ "${MQ_CLI_QUICK:-0}" = 1 ] && skip "512 MiB of input under the sanitizers"
	run --separate-stderr bash -c \
	    "{ printf 'a\nb\n'; head -c 600000000 /dev/zero; } | mq-xadd s"
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: standard input: line 3: longer than 536870912 bytes, the largest message there can be" ]
	# The lines before it were read, and appended, before it was.
	[ "${#lines[@]}" -eq 2 ]
	run bash -c "head -c 600000000 /dev/zero | mq-xadd -a s"
	[ "$status" -eq 65 ]
	[ "$output" = "mq-xadd: standard input: longer than 536870912 bytes, the largest message there can be" ]
}

@test "mq-xadd: -v with stderr on a terminal shows the progress on one line" {
	command -v script > /dev/null || skip "no script(1) for a terminal"
	seq 1 10000 > in
	# script(1) runs it on a pseudo-terminal, and copies what it shows.
	run script -qec "mq-xadd -v -q s < in" /dev/null
	[ "$status" -eq 0 ]
	# The first batch is shown at once: back to the start, erase, the line.
	[[ "$output" == $'\r\e[Kmq-xadd: s: 4096 appended'* ]]
	# At the end the line is erased and the summary printed (the
	# terminal ends its lines with \r\n).
	[[ "$output" == *$'\r\e[Kmq-xadd: s: 10000 appended\r' ]]
	# Not when the ids go to the terminal too: the summary alone.
	run script -qec "mq-xadd -v s < in" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" != *"4096 appended"* ]]
	[[ "$output" == *$'\nmq-xadd: s: 10000 appended\r' ]]
}

@test "mq-xadd: -v into a pipe or a file prints the summary alone" {
	seq 1 10000 > in
	mq-xadd -v -q s < in 2> err
	printf 'mq-xadd: s: 10000 appended\n' > want
	cmp want err
}

@test "mq-xadd: missing STREAM is a usage error" {
	run mq-xadd
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xadd: missing STREAM" ]
	[[ "${lines[1]}" == "usage: mq-xadd "* ]]
}

@test "mq-xadd: creates the spool and the stream; --spool overrides MQ_SPOOL" {
	[ ! -e "$MQ_SPOOL" ]
	mq-xadd s m > /dev/null
	[ -d "$MQ_SPOOL" ]
	mq-xadd --spool "$BATS_TEST_TMPDIR/other" s x > /dev/null
	[ "$(MQ_SPOOL=$BATS_TEST_TMPDIR/other bodies s)" = x ]
	[ "$(bodies s)" = m ]
}

@test "mq-xadd: -s appends each record to the stream it names, ids in input order" {
	printf 'a\tone\nb\ttwo\na\tthree\twith a tab\nc\t\nb\tfour\n' > in
	run --separate-stderr mq-xadd -s < in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "${lines[@]}" > ids
	[ "$(wc -l < ids)" -eq 5 ]
	# Line N's id is an entry of line N's stream, with line N's message;
	# each stream holds its lines in input order.
	paste <(cut -f1 in) ids <(cut -f2- in) > joined
	for s in a b c; do
		awk -F '\t' -v s="$s" '$1 == s' joined
	done > want
	printf 'a\nb\nc\n' | mq-xrange -s -o raw | tr '\0' '\n' > got
	cmp want got
	# The message is the rest of the record, tabs and all.
	[ "$(mq-xrange -o json a | jq -r .body | tail -n 1)" = "$(printf 'three\twith a tab')" ]
	[ "$(mq-xrange -o json c | jq -r '.body | length')" = 0 ]
}

@test "mq-xadd: -s -0 takes NUL-terminated records, newlines in names and bodies" {
	printf 'a\tone\nline\0new\nname\ttwo\0a\tthree\0' | mq-xadd -s -0 -q
	[ "$(mq-xrange -o json a | jq -c .body | paste -sd' ')" = '"one\nline" "three"' ]
	[ "$(mq-xrange -o json "$(printf 'new\nname')" | jq -r .body)" = two ]
}

@test "mq-xadd: -s appends a run of records to one stream as one batch, all or nothing" {
	mq-queue a --max-msg 10
	# Lines 3 and 4 are one batch, refused whole for line 4; lines 1 and
	# 2 went before, each in a batch of its own stream; line 5 is not read.
	printf 'a\tx\nb\ty\na\tz\na\tover ten bytes\nb\tafter\n' > in
	run --separate-stderr mq-xadd -s < in
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: a: line 4: message of 14 bytes is over the limit of 10 bytes (raise it with: mq-queue a --max-msg 14)" ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(mq-xrange a | cut -f2)" = x ]
	[ "$(mq-xrange b | cut -f2)" = y ]
	[ "$(mq-xrange a | cut -f1)" = "${lines[0]}" ]
	[ "$(mq-xrange b | cut -f1)" = "${lines[1]}" ]
}

@test "mq-xadd: -s: a record without a tab or with a bad name exits 65 naming it; the records before stay" {
	run --separate-stderr mq-xadd -s < <(printf 'a\tone\nb\ttwo\nno tab here\nc\tthree\n')
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: line 3: no tab after the stream name" ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(mq-xrange a | cut -f2)" = one ]
	[ "$(mq-xrange b | cut -f2)" = two ]
	run mq-xrange c
	[ "$status" -eq 66 ]
	run --separate-stderr mq-xadd -s < <(printf 'a\tok\n\tno name\n')
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: line 2: invalid name (empty or too long)" ]
	[ "${#lines[@]}" -eq 1 ]
	long=$(printf '%0200d' 0)
	run --separate-stderr mq-xadd -s < <(printf '%s\tfits\n%s1\tover\n' "$long" "$long")
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: line 2: invalid name (empty or too long)" ]
	[ "$(mq-xrange "$long" | cut -f2)" = fits ]
	# 200 bytes that each take three once encoded are too long too.
	run --separate-stderr mq-xadd -s < <(printf '%0200d\tx\n' 0 | tr 0 ' ')
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: line 1: invalid name (empty or too long)" ]
	# A NUL would cut the name short: another stream than the one meant.
	run --separate-stderr mq-xadd -s < <(printf 'a\0b\tx\n')
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: line 1: invalid name (empty or too long)" ]
	run --separate-stderr mq-xadd -s -0 < <(printf 'a\tok\0no tab\0')
	[ "$status" -eq 65 ]
	[ "$stderr" = "mq-xadd: record 2: no tab after the stream name" ]
	[ "$(mq-xrange a | cut -f2 | paste -sd' ')" = "one ok ok" ]
}

@test "mq-xadd: -s goes with neither -a, -i nor operands" {
	run mq-xadd -s -a < /dev/null
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xadd: -a and -s: one or the other" ]
	run mq-xadd -s -i 5-1 < /dev/null
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xadd: -i and -s: one or the other" ]
	run mq-xadd -s s m < /dev/null
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-xadd: unexpected operand s" ]
	[ ! -e "$MQ_SPOOL" ]
	run mq-xadd --streams < /dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xadd: -s: -H, -k and -M go to every stream; -v counts messages and streams" {
	printf 'a\t1\nb\t2\na\t3\nc\t4\na\t5\n' |
	    mq-xadd -s -q -v -H h=v -k key -M 2 2> err
	[ "$(cat err)" = "mq-xadd: 5 appended to 3 streams" ]
	[ "$(mq-xrange a | cut -f2 | paste -sd' ')" = "3 5" ]
	printf 'a\nb\nc\n' | mq-xrange -s -o json > out
	[ "$(jq -r .body out | paste -sd' ')" = "3 5 2 4" ]
	[ "$(jq -c '[.key, .headers]' out | sort -u)" = '["key",{"h":"v"}]' ]
}

@test "mq-xadd: -s writes 5,000 streams within 64 descriptors; mq-xrange -s reads them back" {
	# Two rounds over the streams: each is opened, closed to make room
	# and opened again.
	awk 'BEGIN { for (r = 1; r <= 2; r++) for (i = 1; i <= 5000; i++)
	    printf "s%d\tround %d: %d\n", i, r, i }' > in
	seq -f 's%g' 1 5000 > names
	(
		ulimit -n 64
		mq-xadd -s -q < in
		mq-xrange -s < names > out
	)
	[ "$(ls "$MQ_SPOOL/streams" | wc -l)" -eq 5000 ]
	# Stream by stream, in the order of the names, each in input order.
	awk 'BEGIN { for (i = 1; i <= 5000; i++) for (r = 1; r <= 2; r++)
	    printf "s%d\tround %d: %d\n", i, r, i }' > want
	cut -f1,3 out > got
	cmp want got
}

@test "mq-xadd: the examples of the manual page" {
	run mq-xadd orders 'first order' 'second order'
	[ "${#lines[@]}" -eq 2 ]
	[ "$(mq-xreadgroup g c orders | cut -f2 | paste -sd,)" = "first order,second order" ]

	seq 1 300000 | mq-xadd -q numbers
	[ "$(mq-xreadgroup g c numbers | tail -n 1 | cut -f2)" = 300000 ]

	mkdir tree && touch tree/a "tree/$(printf 'new\nline')"
	(cd tree && find . -print0 | mq-xadd -0 files) > /dev/null
	[ "$(mq-xreadgroup -o json g c files | jq -c .body | sort | paste -sd' ')" = \
	    '"." "./a" "./new\nline"' ]

	head -c 3000 /dev/urandom > logo.png
	id=$(mq-xadd -a -H content-type=image/png images < logo.png)
	[ "$(mq-xreadgroup -o json peek c images | jq -r '.headers["content-type"]')" = image/png ]
	mq-xreadgroup -o raw g c images > out
	{ printf '%s\t' "$id"; cat logo.png; printf '\0'; } > want
	cmp want out

	date | mq-xadd -M 1000 recent > /dev/null
	date | mq-xadd -M 1 recent > /dev/null
	[ "$(mq-xreadgroup g c recent | wc -l)" -eq 1 ]

	mq-xadd temps -- '-5 degrees' > /dev/null
	[ "$(mq-xrange temps | cut -f2)" = '-5 degrees' ]
	run mq-xadd temps '-5 degrees'
	[ "$status" -eq 2 ]

	run bash -c "printf 'sensor1\t21.5\nsensor2\t19.0\nsensor1\t21.7\n' | mq-xadd -s"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(mq-xrange sensor1 | paste -sd' ')" = "$(printf '%s\t21.5 %s\t21.7' "${lines[0]}" "${lines[2]}")" ]
	[ "$(mq-xrange sensor2)" = "$(printf '%s\t19.0' "${lines[1]}")" ]

	printf 'sensor1\nsensor2\n' > names
	mq-xrange -s -o raw < names | cut -z -f1,3- | mq-xadd -s -0 -q --spool copy
	[ "$(mq-xrange -s --spool copy < names | cut -f1,3 | paste -sd' ')" = \
	    "$(printf 'sensor1\t21.5 sensor1\t21.7 sensor2\t19.0')" ]
}
