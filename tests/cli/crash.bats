#!/usr/bin/env bats
# Crashes: SIGKILL during appends and during group reads.
#
# mq-xadd prints an id only after the append of its batch returned, so
# every id it printed before SIGKILL must be in the stream afterwards,
# readable, in order, and the stream must take new appends; so too when
# several writers append at once over 1,000 streams.  A reader killed in
# the middle of a group read loses nothing: what it printed is pending
# for it, the rest is still there for the group.

load helpers
load ../appends

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

# record STREAM BODY: appends BODY to STREAM and prints what was
# acknowledged, "STREAM<TAB>ID<TAB>BODY", in one write.
record() {
	local id
	id=$(mq-xadd "$1" "$2") || { echo "mq-xadd $1 $2: exit $?" >&2; return 1; }
	printf '%s\t%s\t%s\n' "$1" "$id" "$2"
}

# streams_writer TAG: appends "TAG-0", "TAG-1", ... each to one of the
# streams w0 to w999 picked at random, one mq-xadd each, until killed,
# recording each append.
streams_writer() {
	local n
	for ((n = 0; ; n++)); do
		record "w$((RANDOM % 1000))" "$1-$n" || true
	done
}

# dump_streams: every entry of the streams w0 to w999 as
# "STREAM<TAB>ID<TAB>BODY" (a stream mq-xrange fails to read shows as
# its entries missing).
dump_streams() {
	local s
	for ((s = 0; s < 1000; s++)); do
		echo "#w$s"
		mq-xrange "w$s"
	done | awk '/^#/ { s = substr($0, 2); next } { print s "\t" $0 }'
}

@test "crash: SIGKILL of writers over 1,000 streams keeps every append that returned" {
	per=1200
	[ "${MQ_CLI_QUICK:-0}" = 1 ] && per=300
	for round in 1 2 3; do
		writers=()
		for w in 1 2 3 4; do
			# Job control gives each writer a process group of its
			# own, so that one kill takes it and its mq-xadd.
			set -m
			streams_writer "$round.$w" > "acked.$round.$w" 2> "failed.$round.$w" &
			set +m
			writers+=($!)
			bg+=($!)
		done
		wait_until lines_in "$per" acked.$round.{1,2,3,4} ||
		    { cat failed.$round.*; return 1; }
		for pid in "${writers[@]}"; do
			kill -9 -- "-$pid"
		done
		for pid in "${writers[@]}"; do
			wait "$pid" || true
		done
	done
	cat failed.*
	[ -z "$(cat failed.*)" ]
	# Each stream goes on: an append to it is its last entry.
	for ((s = 0; s < 1000; s++)); do
		record "w$s" "after-$s"
	done > after
	dump_streams > stored
	check_appends stored acked.* after
	check_last stored after
}
