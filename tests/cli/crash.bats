#!/usr/bin/env bats
# Crashes: SIGKILL during appends and during group reads.
#
# mq-xadd prints an id only after the append of its batch returned, so
# every id it printed before SIGKILL must be in the stream afterwards,
# readable, in order, and the stream must take new appends.  A reader
# killed in the middle of a group read loses nothing: what it printed is
# pending for it, the rest is still there for the group.

load helpers

# all_ids STREAM: every id of STREAM.
all_ids() {
	mq-xrange "$1" > all_ids.out && cut -f1 all_ids.out
}

@test "crash: SIGKILL during appends keeps every append that returned" {
	for round in 1 2 3 4; do
		: > ids.$round
		# An endless input, so that the kill always lands mid-stream.
		yes "round $round message" | mq-xadd s > ids.$round &
		pid=$!
		wait_until file_has_lines ids.$round $((round * 5000))
		kill -9 $pid
		wait $pid || true
		# Whole lines only.  stdout is written in 64 KiB pieces, so the
		# kill may leave the file ending inside a line, and a cut line
		# can still look like an id ("...-135" of "...-1350").
		head -n "$(wc -l < ids.$round)" ids.$round |
		    grep -E '^[0-9]+-[0-9]+$' > printed.$round || true
		[ -s printed.$round ]
	done
	all_ids s > stored
	# Strictly increasing ids: nothing torn, nothing twice.
	sort -t- -k1,1n -k2,2n -c stored
	[ "$(sort -u stored | wc -l)" -eq "$(wc -l < stored)" ]
	for round in 1 2 3 4; do
		sort printed.$round | comm -23 - <(sort stored) > missing.$round
		[ ! -s missing.$round ]
	done
	# The stream goes on.
	id=$(mq-xadd s after)
	[ "$(all_ids s | tail -1)" = "$id" ]
}

@test "crash: SIGKILL of a group reader loses nothing" {
	seq 1 200000 | mq-xadd -q s
	mq-xreadgroup -f g c1 s > got &
	pid=$!
	wait_until file_has_lines got 20000
	kill -9 $pid
	wait $pid || true
	grep -E $'^[0-9]+-[0-9]+\t[0-9]+$' got | cut -f1 > given
	# c1 followed (-f): it was attached, and its death hands what it was
	# given (never acked) to the next reader, with the rest: all 200000,
	# each once.
	mq-xreadgroup g c2 s | cut -f1 > rest
	[ "$(comm -23 <(sort given) <(sort rest) | wc -l)" -eq 0 ]
	[ "$(sort rest | uniq -d | wc -l)" -eq 0 ]
	[ "$(wc -l < rest)" -eq 200000 ]
	[ -z "$(mq-xreadgroup g c1 s 0)" ]
}
