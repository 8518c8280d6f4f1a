#!/usr/bin/env bats
# mq-dlq: the dead letters of a stream.

load helpers

# reject STREAM BODY...: appends the bodies, reads them as g/c and rejects
# them, so that they are dead letters of STREAM.  Prints their ids.
reject() {
	local s=$1 ids
	shift
	ids=$(mq-xadd "$s" "$@")
	mq-xreadgroup g c "$s" > /dev/null
	mq-nack --reject "$s" g $ids
	echo "$ids"
}

@test "mq-dlq: shared options" {
	mq-xadd -q s m
	common_options mq-dlq count s
}

@test "mq-dlq: count is 0 and list empty before anything was dead-lettered" {
	mq-xadd -q s m
	run mq-dlq count s
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
	run mq-dlq list s
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mq-dlq: delivery limit, list, replay: the messages are back exactly once" {
	mq-queue s --delivery-limit 2
	ids=($(mq-xadd s ok1 bad1 ok2 bad2))
	worker='case $(cat) in bad*) exit 1;; esac'
	run mq-xreadgroup --delay 0 -x "$worker" g c s
	[ "$status" -eq 123 ]
	[ "$(mq-dlq count s)" -eq 0 ]
	run mq-xreadgroup --delay 0 -x "$worker" g c s
	[ "$status" -eq 123 ]
	[ "$(mq-dlq count s)" -eq 2 ]

	run mq-dlq list s
	[ "${#lines[@]}" -eq 2 ]
	[ "$(cut -f2- <<< "${lines[0]}")" = "$(printf 'delivery-limit\t%s\t2\tbad1' "${ids[1]}")" ]
	[ "$(cut -f2- <<< "${lines[1]}")" = "$(printf 'delivery-limit\t%s\t2\tbad2' "${ids[3]}")" ]

	run mq-dlq -v replay s
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ "$(mq-dlq count s)" -eq 0 ]
	# The group gets them again, once; the stream holds each copy once.
	[ "$(mq-xreadgroup g c s | cut -f2 | paste -sd' ')" = "bad1 bad2" ]
	[ "$(mq-xreadgroup all c s | cut -f2 | paste -sd' ')" = "ok1 bad1 ok2 bad2 bad1 bad2" ]
	run mq-dlq -v replay s
	[ "$output" = 0 ]
	[ "$(mq-xreadgroup all c s | wc -l)" -eq 0 ]
}

@test "mq-dlq: replay after a replay killed between append and delete adds no second copy" {
	mq-xadd -q s before
	reject s lost > /dev/null
	reject s other > /dev/null
	dlq=($(mq-dlq list s | cut -f1))
	# What a replay killed after its append leaves: the copy of the
	# first dead letter in the origin, and the dead letter still there.
	mq-xadd -q -H "mq-replay-of=${dlq[0]}" s lost
	[ "$(mq-dlq count s)" -eq 2 ]
	run mq-dlq -v replay s
	[ "$output" = 1 ]
	[ "$(mq-dlq count s)" -eq 0 ]
	[ "$(mq-xreadgroup all c s | cut -f2 | paste -sd' ')" = "before lost other lost other" ]
}

@test "mq-dlq: replay killed with SIGKILL at any point, then run again, replays each once" {
	# Where the kill lands varies; the outcome must not.
	for round in 1 2 3 4 5; do
		s=s$round
		seq 1 3000 | sed 's/^/m/' | mq-xadd -q "$s"
		mq-xreadgroup g c "$s" | mq-nack --reject "$s" g
		[ "$(mq-dlq count "$s")" -eq 3000 ]
		mq-dlq replay "$s" 3>&- &
		pid=$!
		sleep "0.0$((round * 2))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		mq-dlq replay "$s"
		[ "$(mq-dlq count "$s")" -eq 0 ]
		# Each body twice in the stream: the original and one copy.
		mq-xreadgroup --noack all c "$s" | cut -f2 | sort | uniq -c > counts
		[ "$(wc -l < counts)" -eq 3000 ]
		[ -z "$(awk '$1 != 2' counts)" ]
	done
}

@test "mq-dlq: replay keeps key and headers, drops the mq- ones, adds mq-replay-of" {
	id=$(mq-xadd -k k1 -H a=1 -H b=2 s body)
	mq-xreadgroup g c s > /dev/null
	mq-nack --reject s g "$id"
	dlqid=$(mq-dlq list s | cut -f1)
	mq-dlq replay s
	copy=$(mq-xreadgroup -o json g c s)
	[ "$(jq -r .body <<< "$copy")" = body ]
	[ "$(jq -r .key <<< "$copy")" = k1 ]
	[ "$(jq -c .headers <<< "$copy")" = "{\"a\":\"1\",\"b\":\"2\",\"mq-replay-of\":\"$dlqid\"}" ]
}

@test "mq-dlq: replay ID... replays only those" {
	reject s a b c > /dev/null
	dlq=($(mq-dlq list s | cut -f1))
	run mq-dlq -v replay s "${dlq[2]}" "${dlq[0]}"
	[ "$output" = 2 ]
	[ "$(mq-dlq list s | cut -f5)" = b ]
	[ "$(mq-xreadgroup g c s | cut -f2 | paste -sd' ')" = "a c" ]
	# An id that is not (or no longer) there is skipped.
	run mq-dlq -v replay s "${dlq[0]}"
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}

@test "mq-dlq: list escapes the body; -o json gives every header" {
	reject s "$(printf 'two\nlines')" > /dev/null
	[ "$(mq-dlq list s | cut -f5)" = 'two\nlines' ]
	line=$(mq-dlq -o json list s)
	[ "$(jq -r .stream <<< "$line")" = s.dlq ]
	[ "$(jq -r '.headers["mq-origin"]' <<< "$line")" = s ]
	[ "$(jq -r '.headers["mq-reason"]' <<< "$line")" = rejected ]
	[ "$(jq -r .body <<< "$line")" = "$(printf 'two\nlines')" ]
}

@test "mq-dlq: show ID prints those entries as JSON with all headers" {
	ids=($(reject s a b))
	dlq=($(mq-dlq list s | cut -f1))
	run mq-dlq show s "${dlq[1]}"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .id <<< "$output")" = "${dlq[1]}" ]
	[ "$(jq -r '.headers["mq-origin-id"]' <<< "$output")" = "${ids[1]}" ]
	[ "$(jq -r '.headers | has("mq-time") and has("mq-count")' <<< "$output")" = true ]
	[ "$(jq -r .body <<< "$output")" = b ]
	run mq-dlq show -o text s "${dlq[0]}"
	[ "$output" = "$(printf '%s\ta' "${dlq[0]}")" ]
	run mq-dlq show s 1-1
	[ "$status" -eq 66 ]
}

@test "mq-dlq: purge ID deletes those, purge deletes all" {
	reject s a b c > /dev/null
	dlq=($(mq-dlq list s | cut -f1))
	run mq-dlq -v purge s "${dlq[1]}"
	[ "$output" = 1 ]
	[ "$(mq-dlq list s | cut -f5 | paste -sd' ')" = "a c" ]
	run mq-dlq -v purge s
	[ "$output" = 2 ]
	[ "$(mq-dlq count s)" -eq 0 ]
	# Nothing went back to the stream.
	[ "$(mq-xreadgroup g2 c s | wc -l)" -eq 3 ]
}

@test "mq-dlq: -d, the dead letters of a stream in another, as a dead-letter exchange leaves them" {
	mq-xadd -q a seed
	mq-xadd -q b seed
	# As libmq routes them: the origin first, then mq-exchange and mq-key.
	ids=($(mq-xadd -k dead-key -H mq-origin=a -H mq-origin-id=1-0 \
	    -H mq-reason=rejected -H mq-count=1 -H mq-time=1 \
	    -H mq-exchange=dlx -H mq-key=a.key -H own=1 dead from-a))
	ids+=($(mq-xadd -H mq-origin=b -H mq-origin-id=2-0 -H mq-reason=expired \
	    -H mq-count=0 -H mq-time=2 dead from-b))
	ids+=($(mq-xadd -k dead-key -H mq-origin=a -H mq-origin-id=3-0 \
	    -H mq-reason=maxlen -H mq-count=0 -H mq-time=3 \
	    -H mq-exchange=dlx dead again-a))

	run mq-dlq -d dead list a
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(printf '%s\trejected\t1-0\t1\tfrom-a' "${ids[0]}")" ]
	[ "${lines[1]}" = "$(printf '%s\tmaxlen\t3-0\t0\tagain-a' "${ids[2]}")" ]
	[ "$(mq-dlq --dead-letters dead count b)" = 1 ]
	[ "$(mq-dlq count a)" = 0 ]
	# b's is no dead letter of a.
	run mq-dlq -q -d dead show a "${ids[1]}"
	[ "$status" -eq 66 ]

	# Back to a with the key it had, without what dead-lettering added.
	run mq-dlq -v -d dead replay a
	[ "$output" = 2 ]
	run mq-xrange -o json a
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == *'"key":"a.key","headers":{"own":"1","mq-replay-of":"'"${ids[0]}"'"}'* ]]
	[[ "${lines[2]}" == *'"key":null'* ]]
	[ "$(mq-dlq -d dead count a)" = 0 ]
	[ "$(mq-xrange dead | cut -f2)" = from-b ]
	mq-dlq -d dead purge a
	[ "$(mq-dlq -d dead count b)" = 1 ]
	mq-dlq -d dead purge b
	[ "$(mq-dlq -d dead count b)" = 0 ]
}

@test "mq-dlq: errors: 66 no such stream, 65 bad id, 2 usage" {
	mq-xadd -q s m
	run mq-dlq list nostream
	[ "$status" -eq 66 ]
	run mq-dlq show s not-an-id
	[ "$status" -eq 65 ]
	run mq-dlq frobnicate s
	[ "$status" -eq 2 ]
	run mq-dlq count s 1-1
	[ "$status" -eq 2 ]
	run mq-dlq list
	[ "$status" -eq 2 ]
	run mq-dlq -o xml list s
	[ "$status" -eq 2 ]
}

@test "mq-dlq: the examples of the manual page" {
	# What the page lists: order 17 failed five times.
	mq-queue orders --delivery-limit 5
	mq-xadd -q -i 1764087154123-0 orders 'order 17'
	mq-xadd -q orders 'order 18'
	for i in 1 2 3 4 5; do
		run mq-xreadgroup --delay 0 -x 'case $(cat) in *17) exit 1;; esac' \
		    workers w1 orders
		[ "$status" -eq 123 ]
	done
	run mq-dlq list orders
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(cut -f2- <<< "${lines[0]}")" = \
	    "$(printf 'delivery-limit\t1764087154123-0\t5\torder 17')" ]

	id=$(mq-dlq list orders | head -n 1 | cut -f1)
	mq-dlq show orders "$id" | jq .headers > headers
	[ "$(jq -r '[."mq-origin", ."mq-origin-id", ."mq-reason", ."mq-count"] | join(" ")' headers)" = \
	    "orders 1764087154123-0 delivery-limit 5" ]

	mq-dlq replay orders
	run mq-dlq count orders
	[ "$output" = 0 ]
	[ "$(mq-xreadgroup workers w1 orders | cut -f2)" = 'order 17' ]

	reject orders 'order 19' > /dev/null
	[ "$(mq-dlq count orders)" = 1 ]
	mq-dlq purge orders
	[ "$(mq-dlq count orders)" = 0 ]
	# Thrown away: not sent back.
	[ -z "$(mq-xreadgroup g c orders)" ]
}
