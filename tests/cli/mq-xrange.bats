#!/usr/bin/env bats
# mq-xrange: the entries of a stream in a range of ids.

load helpers
bats_require_minimum_version 1.5.0

# add ID BODY: appends BODY to stream s with the explicit id ID.
add() {
	mq-xadd -q -i "$1" s "$2"
}

# five entries with ids chosen so that bounds fall between and on them.
five() {
	add 1-0 a
	add 1-1 b
	add 1-2 c
	add 2-0 d
	add 5-7 e
}

# bodies ARGS...: the bodies mq-xrange ARGS prints, space-separated.
bodies() {
	mq-xrange "$@" | cut -f2 | paste -sd' '
}

@test "mq-xrange: shared options" {
	mq-xadd -q s m
	common_options mq-xrange s
}

@test "mq-xrange: without bounds prints every entry, id first, oldest first" {
	ids=($(mq-xadd s one two three))
	run mq-xrange s
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\tone\n%s\ttwo\n%s\tthree' "${ids[@]}")" ]
	run mq-xrange s - +
	[ "$output" = "$(printf '%s\tone\n%s\ttwo\n%s\tthree' "${ids[@]}")" ]
}

@test "mq-xrange: the three forms are those of mq-xreadgroup" {
	printf 'x\ty\\z\0bin\377\0multi\nline\0' | mq-xadd -0 -q s
	mq-xadd -q -k k1 -H h=1 s keyed
	for form in text json raw; do
		mq-xrange -o "$form" s > range
		mq-xreadgroup -o "$form" "g$form" c s > read
		cmp range read
	done
	[ "$(mq-xrange --output json s | jq -r .key | tail -n 1)" = k1 ]
}

@test "mq-xrange: bounds are inclusive" {
	five
	[ "$(bodies s 1-1 2-0)" = "b c d" ]
	[ "$(bodies s 1-2 1-2)" = "c" ]
	[ "$(bodies s 1-3 1-9)" = "" ]
	[ "$(bodies s - 1-1)" = "a b" ]
	[ "$(bodies s 2-0 +)" = "d e" ]
	[ "$(bodies s 1-2)" = "c d e" ]
}

@test "mq-xrange: an id without seq is ms-0 as start, the whole millisecond as end" {
	five
	[ "$(bodies s 1 1)" = "a b c" ]
	[ "$(bodies s 2)" = "d e" ]
	[ "$(bodies s - 4)" = "a b c d" ]
	[ "$(bodies s 5 5)" = "e" ]
}

@test "mq-xrange: '(' leaves the id itself out" {
	five
	[ "$(bodies s '(1-1' '(5-7')" = "c d" ]
	[ "$(bodies s '(1-0' 1-2)" = "b c" ]
	[ "$(bodies s 1-0 '(1-2')" = "a b" ]
	[ "$(bodies s '(1-2' '(2-0')" = "" ]
	# Ids that are not entries: the next or previous entry is the bound.
	[ "$(bodies s '(1-5' '(9-0')" = "d e" ]
	# The missing seq is filled in first, as Redis does.
	[ "$(bodies s '(1' +)" = "b c d e" ]
	[ "$(bodies s - '(1')" = "a b c" ]
	[ "$(bodies s - '(2-0')" = "a b c" ]
}

@test "mq-xrange: -c COUNT prints at most COUNT, from the start of the range" {
	five
	[ "$(bodies -c 2 s)" = "a b" ]
	[ "$(bodies --count 2 s 1-2)" = "c d" ]
	[ "$(bodies -c 9 s)" = "a b c d e" ]
	run mq-xrange -c 0 s
	[ "$status" -eq 2 ]
	run mq-xrange -c many s
	[ "$status" -eq 2 ]
}

@test "mq-xrange: -r prints newest first; START is still the low end" {
	five
	[ "$(bodies -r s)" = "e d c b a" ]
	[ "$(bodies --reverse s 1-1 2-0)" = "d c b" ]
	[ "$(bodies -r s '(1-0' '(2-0')" = "c b" ]
	[ "$(bodies -r -c 2 s)" = "e d" ]
	[ "$(bodies -r -c 2 s - 1-2)" = "c b" ]
	# The XREVRANGE order of the operands is an empty range.
	[ "$(bodies -r s 2-0 1-1)" = "" ]
}

@test "mq-xrange: -r over many entries is the forward range backwards" {
	seq 1 3000 | mq-xadd -q s
	mq-xrange s | tac > want
	mq-xrange -r s > got
	cmp want got
	from=$(sed -n 1000p want | cut -f1)
	to=$(sed -n 10p want | cut -f1)
	[ "$(mq-xrange -r s "$from" "$to" | cut -f2 | sed -n '1p;$p' | paste -sd' ')" = "2991 2001" ]
	[ "$(mq-xrange -r -c 7 s "$from" "$to" | wc -l)" -eq 7 ]
}

@test "mq-xrange: an empty range or stream prints nothing and exits 0" {
	five
	run mq-xrange s 3-0 4-0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run mq-xrange s 5-0 1-0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	mq-queue empty --max-len 10
	run mq-xrange empty
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xrange: deleted and trimmed entries are not printed" {
	mq-xadd -q -M 3 s a b c d e
	[ "$(bodies s)" = "c d e" ]
	# Dead letters are deleted by mq-dlq purge.
	mq-xreadgroup g c s | cut -f1 | mq-nack -r s g
	dead=($(mq-xrange s.dlq | cut -f1))
	[ "${#dead[@]}" -eq 3 ]
	mq-dlq purge s "${dead[1]}"
	[ "$(bodies s.dlq)" = "c e" ]
	[ "$(bodies -r s.dlq)" = "e c" ]
	[ "$(bodies s.dlq "${dead[1]}" "${dead[1]}")" = "" ]
}

@test "mq-xrange: only looks: nothing is delivered or made pending" {
	five
	mq-xreadgroup -c 2 g c s > /dev/null
	mq-xrange s > /dev/null
	[ "$(pending g c s)" -eq 2 ]
	[ "$(mq-xreadgroup g c s | cut -f2 | paste -sd' ')" = "c d e" ]
}

@test "mq-xrange: a missing stream or spool exits 66 and creates nothing" {
	run mq-xrange s
	[ "$status" -eq 66 ]
	[ ! -e "$MQ_SPOOL" ]
	mq-xadd -q other m
	(cd "$MQ_SPOOL" && find . | sort) > before
	run mq-xrange s
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-xrange: s: "* ]]
	(cd "$MQ_SPOOL" && find . | sort) > after
	cmp before after
	run mq-xrange --spool "$BATS_TEST_TMPDIR/none" other
	[ "$status" -eq 66 ]
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "mq-xrange: a malformed bound exits 65" {
	five
	for bad in x 1-x 1- -1 '(' '(-' '(+' '((1' '1-0-0' \
	    18446744073709551616 '(18446744073709551615-18446744073709551615'; do
		run mq-xrange -- s "$bad"
		[ "$status" -eq 65 ]
		[ -z "$(mq-xrange -- s "$bad" 2>/dev/null)" ]
	done
	for bad in y '(-' '(+' '(0-0'; do
		run mq-xrange s - "$bad"
		[ "$status" -eq 65 ]
	done
	# Malformed even when the stream is missing: the operands come first.
	run mq-xrange nostream x
	[ "$status" -eq 65 ]
}

@test "mq-xrange: usage errors exit 2" {
	five
	run mq-xrange
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: mq-xrange "* ]]
	run mq-xrange s - + extra
	[ "$status" -eq 2 ]
	run mq-xrange -o xml s
	[ "$status" -eq 2 ]
	run mq-xrange -x s
	[ "$status" -eq 2 ]
}

@test "mq-xrange: -v prints the number of entries on stderr" {
	five
	run bash -c 'mq-xrange -v s 1 1 2>&1 >/dev/null'
	[ "$status" -eq 0 ]
	[ "$output" = "mq-xrange: s: 3 entries" ]
	run bash -c 'mq-xrange s 2>&1 >/dev/null'
	[ -z "$output" ]
}

@test "mq-xrange: a closed stdout stops it quietly with 0" {
	seq 1 30000 | mq-xadd -q s
	run bash -c 'set -o pipefail; mq-xrange s | head -n 1'
	[ "$status" -eq 0 ]
	[ "$output" = "$(mq-xrange -c 1 s)" ]
}

@test "mq-xrange: -s prints each stream named by a line of stdin, each entry after its name" {
	five
	mq-xadd -q -i 3-0 t 'x	y'
	mq-xadd -q -i 4-0 t z
	mq-xadd -q -i 1-0 'back\slash' w
	run mq-xrange -s < <(printf 't\ns\nback\\slash\n')
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 't\t3-0\tx\\ty\nt\t4-0\tz\ns\t1-0\ta\ns\t1-1\tb\ns\t1-2\tc\ns\t2-0\td\ns\t5-7\te\nback\\\\slash\t1-0\tw')" ]
	# A stream named twice is printed twice; no line, nothing.
	[ "$(printf 's\ns\n' | mq-xrange --streams | wc -l)" -eq 10 ]
	run mq-xrange -s < /dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-xrange: -s: START, END, -c and -r apply to each stream" {
	five
	mq-xadd -q -i 1-5 t f
	mq-xadd -q -i 9-0 t g
	printf 's\nt\n' > names
	[ "$(mq-xrange -s 1-1 2 < names | cut -f3 | paste -sd' ')" = "b c d f" ]
	[ "$(mq-xrange -s -c 2 < names | cut -f3 | paste -sd' ')" = "a b f g" ]
	[ "$(mq-xrange -s -r -c 2 < names | cut -f3 | paste -sd' ')" = "e d g f" ]
	run mq-xrange -s - + extra < names
	[ "$status" -eq 2 ]
	run mq-xrange -s not-an-id < names
	[ "$status" -eq 65 ]
	[ "$output" = "mq-xrange: start not-an-id: invalid stream id" ]
}

@test "mq-xrange: -s: json has the member stream, raw the name first" {
	five
	printf 'bin\377\0' | mq-xadd -a -q -i 1-0 t
	printf 's\nt\n' > names
	mq-xrange -s -o json < names > out
	[ "$(jq -r .stream out | paste -sd' ')" = "s s s s s t" ]
	[ "$(jq -r .id out | paste -sd' ')" = "1-0 1-1 1-2 2-0 5-7 1-0" ]
	mq-xrange -s -o raw < names > got
	{
		for e in 1-0:a 1-1:b 1-2:c 2-0:d 5-7:e; do
			printf 's\t%s\t%s\0' "${e%%:*}" "${e#*:}"
		done
		printf 't\t1-0\tbin\377\0\0'
	} > want
	cmp want got
}

@test "mq-xrange: -s: a line that names no stream is reported and passed over; the status tells" {
	five
	mq-xadd -q t m
	run --separate-stderr mq-xrange -s < <(printf 's\nnosuch\nt\n')
	[ "$status" -eq 66 ]
	[ "$stderr" = "mq-xrange: line 2: nosuch: no such stream" ]
	[ "$(printf '%s\n' "$output" | cut -f1 | uniq | paste -sd' ')" = "s t" ]
	# An empty or over-long line is no name: 65, the first status kept.
	long=$(printf '%0201d' 0)
	run --separate-stderr mq-xrange -s < <(printf 't\n\n%s\nnosuch\n' "$long")
	[ "$status" -eq 65 ]
	[ "${stderr_lines[0]}" = "mq-xrange: line 2: invalid name (empty or too long)" ]
	[ "${stderr_lines[1]}" = "mq-xrange: line 3: invalid name (empty or too long)" ]
	[ "${stderr_lines[2]}" = "mq-xrange: line 4: nosuch: no such stream" ]
	[ "$(printf '%s\n' "$output" | cut -f1,3)" = "$(printf 't\tm')" ]
	# A missing spool is no line's fault: 66 before anything is read.
	run --separate-stderr mq-xrange -s --spool "$BATS_TEST_TMPDIR/none" < <(printf 's\n')
	[ "$status" -eq 66 ]
	[[ "$stderr" == "mq-xrange: $BATS_TEST_TMPDIR/none: "* ]]
}

@test "mq-xrange: -s -v counts the entries and the streams" {
	five
	mq-xadd -q t m
	run bash -c 'printf "s\nt\nnosuch\n" | mq-xrange -s -v 2>&1 >/dev/null'
	[ "$status" -eq 66 ]
	[ "${lines[1]}" = "mq-xrange: 6 entries of 2 streams" ]
}

# The pipelines of EXAMPLES in mq-xrange(1).

@test "mq-xrange: example: the ten newest entries, newest first" {
	seq 1 25 | mq-xadd -q orders
	[ "$(mq-xrange -r -c 10 orders | cut -f2 | paste -sd' ')" = \
	    "25 24 23 22 21 20 19 18 17 16" ]
}

@test "mq-xrange: example: paging with '(' and the last id of each page" {
	seq 1 250 | mq-xadd -q orders
	pages=0
	last=-
	while page=$(mq-xrange -c 100 orders "$last") && [ -n "$page" ]; do
		printf '%s\n' "$page"
		last="($(printf '%s\n' "$page" | tail -n 1 | cut -f1)"
		pages=$((pages + 1))
	done > paged
	[ "$pages" -eq 3 ]
	mq-xrange orders > all
	cmp all paged
}

@test "mq-xrange: example: the bodies of one millisecond with jq" {
	printf 'one\ntwo\0' | mq-xadd -a -q -i 1764087154123-0 orders
	mq-xadd -q -i 1764087154123-5 orders second
	mq-xadd -q -i 1764087154124-0 orders later
	mq-xrange -o json orders 1764087154123 1764087154123 | jq -j .body > got
	printf 'one\ntwo\0second' > want
	cmp want got
}

@test "mq-xrange: example: copy bodies from an id on into another stream" {
	mq-xadd -q -i 1764087154122-0 orders early
	printf 'tab\there' | mq-xadd -a -q -i 1764087154123-0 orders
	printf 'nl\nthere\\' | mq-xadd -a -q -i 1764087154123-1 orders
	mq-xrange -o raw orders 1764087154123 | cut -z -f2- | mq-xadd -0 -q replay
	[ "$(mq-xrange replay | cut -f2 | paste -sd' ')" = 'tab\there nl\nthere\\' ]
}

@test "mq-xrange: example: dump many streams to a file, load it into another spool" {
	printf 'a\tone\nb\ttab\there\na\tnl\\\\n\nc\t\n' | mq-xadd -s -q
	printf 'nl\nand\\backslash' | mq-xadd -a -q b
	printf 'a\nb\nc\n' > names
	mq-xrange -s -o raw < names | cut -z -f1,3- > dump
	mq-xadd -s -0 -q --spool copy < dump
	# Every body, byte for byte, in order, in the stream of its name.
	mq-xrange -s -o raw < names | cut -z -f1,3- > want
	mq-xrange -s -o raw --spool copy < names | cut -z -f1,3- > got
	cmp want got
	[ "$(tr -cd '\0' < got | wc -c)" -eq 5 ]
}

@test "mq-xrange: example: copy in text, exact for lines without tabs or backslashes" {
	printf 'a\tone\nb\ttwo words\na\tthree\n' | mq-xadd -s -q
	printf 'a\nb\n' > names
	mq-xrange -s < names | cut -f1,3 | mq-xadd -s -q --spool copy
	[ "$(mq-xrange -s --spool copy < names | cut -f1,3)" = \
	    "$(mq-xrange -s < names | cut -f1,3)" ]
	[ "$(mq-xrange --spool copy b | cut -f2)" = "two words" ]
}
