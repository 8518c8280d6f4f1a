#!/usr/bin/env bats
# mq-xinfo: a stream, its policy and groups; a group, its consumers and
# pending entries; without operands, the streams of the spool.

load helpers
load ../unprivileged
bats_require_minimum_version 1.5.0

teardown() {
	stop_background
	public_cleanup
}

# field STREAM [GROUP] KEY: the value of KEY in the "key value" lines.
field() {
	local key=${!#}
	mq-xinfo "${@:1:$#-1}" | K=$key \
	    awk '/^#/ { exit } $1 == ENVIRON["K"] { sub(/^[^ ]* /, ""); print; exit }'
}

# table HEADER STREAM [GROUP]: the rows of the table whose header line
# starts with HEADER ("#name" or "#consumer").
table() {
	local t=$1
	shift
	mq-xinfo "$@" | T=$t awk -F '\t' '/^#/ { on = $1 == ENVIRON["T"]; next } on'
}

# row HEADER NAME STREAM [GROUP]: the row of NAME in that table.
row() {
	local t=$1 n=$2
	shift 2
	# ENVIRON, not -v: awk -v would turn an escaped name's \t into a tab.
	table "$t" "$@" | N=$n awk -F '\t' '$1 == ENVIRON["N"]'
}

# bare_streams N [PREFIX]: N empty streams PREFIX00001 .. (PREFIX "s"),
# made as bare directories (an empty stream, mq-spool(5)) by a few
# processes, not one per stream.
bare_streams() {
	[ -d "$MQ_SPOOL/streams" ] || mq-publish -q t m
	(cd "$MQ_SPOOL/streams" && seq -f "${2:-s}%05g" 1 "$1" | xargs mkdir)
}

# A stream s with ids 1-1 .. 1-4, a group g where c1 has the first two
# pending and c2 the third, and a group done that acknowledged all.
setup_groups() {
	for i in 1 2 3 4; do
		mq-xadd -q -i "1-$i" s "m$i"
	done
	mq-xreadgroup -c 2 g c1 s > /dev/null
	mq-xreadgroup -c 1 g c2 s > /dev/null
	mq-xreadgroup done w s | mq-ack s done
}

@test "mq-xinfo: shared options" {
	mq-xadd -q s m
	common_options mq-xinfo
	common_options mq-xinfo s
	mq-xreadgroup g c s > /dev/null
	common_options mq-xinfo s g
}

@test "mq-xinfo: a stream: every key once, in order, then the groups table" {
	mq-xadd -q s m
	mq-xinfo s > out
	[ "$(sed '/^#/,$d' out | cut -d' ' -f1 | paste -sd' ')" = \
	    "name length first-entry-id last-generated-id max-deleted-entry-id entries-added first-offset next-offset segments bytes groups delivery-limit ttl max-len max-len-bytes max-bytes max-age overflow max-msg dead-letter lease retry-delay retry-max" ]
	[ "$(grep '^#' out)" = "$(printf '#name\tconsumers\tpending\tlast-delivered-id\tentries-read\tlag')" ]
	# No groups: the header and no rows.
	[ "$(sed '1,/^#/d' out)" = "" ]
}

@test "mq-xinfo: a stream's length, ids, counts and offsets follow its entries" {
	mq-xadd -q -i 1-1 s a
	mq-xadd -q -i 2-0 s b
	mq-xadd -q -i 3-0 s c
	[ "$(field s name)" = s ]
	[ "$(field s length)" = 3 ]
	[ "$(field s first-entry-id)" = 1-1 ]
	[ "$(field s last-generated-id)" = 3-0 ]
	[ "$(field s max-deleted-entry-id)" = 0-0 ]
	[ "$(field s entries-added)" = 3 ]
	[ "$(field s first-offset)" = 0 ]
	[ "$(field s next-offset)" = 3 ]
	[ "$(field s groups)" = 0 ]
	id=$(mq-xadd s d)
	[ "$(field s length)" = 4 ]
	[ "$(field s last-generated-id)" = "$id" ]
	[ "$(field s next-offset)" = 4 ]
}

@test "mq-xinfo: segments and bytes are those of the stream's segment files" {
	seq 1 500 | mq-xadd -q s
	logs=("$MQ_SPOOL"/streams/s/*.log)
	[ "$(field s segments)" = "${#logs[@]}" ]
	[ "$(field s bytes)" = "$(cat "${logs[@]}" | wc -c)" ]
	before=$(field s bytes)
	mq-xadd -q s more
	[ "$(field s bytes)" -gt "$before" ]
}

@test "mq-xinfo: trimming moves first-offset and first-entry-id, not entries-added" {
	ids=($(mq-xadd -M 2 s a b c d e))
	[ "$(field s length)" = 2 ]
	[ "$(field s first-offset)" = 3 ]
	[ "$(field s next-offset)" = 5 ]
	[ "$(field s entries-added)" = 5 ]
	[ "$(field s first-entry-id)" = "${ids[3]}" ]
	[ "$(field s last-generated-id)" = "${ids[4]}" ]
}

@test "mq-xinfo: an empty stream has 0-0 ids and empty tables" {
	mq-queue s --max-len 10
	[ "$(field s length)" = 0 ]
	[ "$(field s first-entry-id)" = 0-0 ]
	[ "$(field s last-generated-id)" = 0-0 ]
	[ "$(field s max-len)" = 10 ]
	run table "#name" s
	[ -z "$output" ]
}

@test "mq-xinfo: the policy lines are mq-queue's" {
	mq-xadd -q s m
	mq-queue s --delivery-limit 3 --ttl 90s --max-len 7 --max-age 2h \
	    --overflow dead-letter --max-msg 64k --dead-letter dead
	mq-xinfo s | sed -n '/^delivery-limit /,/^retry-max /p' > policy
	mq-queue s > want
	cmp want policy
	[ "$(field s ttl)" = 90s ]
	[ "$(field s dead-letter)" = dead ]
	[ "$(mq-xinfo -o json s | jq -c '[.policy.ttl, .policy."max-len", .policy.overflow]')" = \
	    '["90s",7,"dead-letter"]' ]
}

@test "mq-xinfo: the groups table: consumers, pending, cursor, entries-read, lag" {
	setup_groups
	[ "$(field s groups)" = 2 ]
	[ "$(table '#name' s | cut -f1 | paste -sd' ')" = "done g" ]
	[ "$(row '#name' g s)" = "$(printf 'g\t2\t3\t1-3\t3\t1')" ]
	[ "$(row '#name' done s)" = "$(printf 'done\t1\t0\t1-4\t4\t0')" ]
	mq-xadd -q s m5 m6
	[ "$(row '#name' g s | cut -f6)" = 3 ]
	[ "$(row '#name' done s | cut -f6)" = 2 ]
	mq-ack s g 1-1 1-3
	[ "$(row '#name' g s)" = "$(printf 'g\t2\t1\t1-3\t3\t3')" ]
}

@test "mq-xinfo: a group: every key once, in order, then two tables" {
	setup_groups
	mq-xinfo s g > out
	[ "$(sed '/^#/,$d' out | cut -d' ' -f1 | paste -sd' ')" = \
	    "stream name consumers pending last-delivered-id entries-read lag pending-min-id pending-max-id" ]
	[ "$(grep '^#' out)" = "$(printf '#name\tpending\tidle\tinactive\n#consumer\tcount')" ]
	[ "$(field s g stream)" = s ]
	[ "$(field s g name)" = g ]
	[ "$(field s g consumers)" = 2 ]
	[ "$(field s g last-delivered-id)" = 1-3 ]
	[ "$(field s g entries-read)" = 3 ]
	[ "$(field s g lag)" = 1 ]
}

@test "mq-xinfo: a group's pending counts before and after mq-ack" {
	setup_groups
	[ "$(field s g pending)" = 3 ]
	[ "$(field s g pending-min-id)" = 1-1 ]
	[ "$(field s g pending-max-id)" = 1-3 ]
	[ "$(row '#name' c1 s g | cut -f2)" = 2 ]
	[ "$(row '#name' c2 s g | cut -f2)" = 1 ]
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t2\nc2\t1')" ]

	mq-ack s g 1-1
	[ "$(field s g pending)" = 2 ]
	[ "$(field s g pending-min-id)" = 1-2 ]
	[ "$(row '#name' c1 s g | cut -f2)" = 1 ]
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t1\nc2\t1')" ]

	mq-xreadgroup g c2 s 0 | cut -f1 | mq-ack s g
	[ "$(field s g pending)" = 1 ]
	[ "$(field s g pending-max-id)" = 1-2 ]
	# A consumer with nothing pending stays a consumer, out of the summary.
	[ "$(row '#name' c2 s g | cut -f2)" = 0 ]
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t1')" ]

	mq-ack s g 1-2
	[ "$(field s g pending)" = 0 ]
	[ "$(field s g pending-min-id)" = 0-0 ]
	[ "$(field s g pending-max-id)" = 0-0 ]
	[ -z "$(table '#consumer' s g)" ]
	[ "$(field s g consumers)" = 2 ]
}

@test "mq-xinfo: the pending summary covers more entries than one batch" {
	seq 1 9000 | mq-xadd -q s
	mq-xreadgroup -c 5000 g c1 s > /dev/null
	mq-xreadgroup g c2 s > /dev/null
	ids=($(mq-xrange s | cut -f1 | sed -n '1p;$p'))
	[ "$(field s g pending)" = 9000 ]
	[ "$(field s g pending-min-id)" = "${ids[0]}" ]
	[ "$(field s g pending-max-id)" = "${ids[1]}" ]
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t5000\nc2\t4000')" ]
	mq-xrange -c 4500 s | cut -f1 | mq-ack s g
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t500\nc2\t4000')" ]
	[ "$(field s g pending)" = 4500 ]
	[ "$(row '#name' g s | cut -f3)" = 4500 ]
	[ "$(field s g pending-min-id)" = "$(mq-xrange -c 4501 s | tail -n 1 | cut -f1)" ]
}

@test "mq-xinfo: a handed-back entry is pending with no consumer until read again" {
	setup_groups
	mq-nack --delay 0 s g 1-2
	[ "$(field s g pending)" = 3 ]
	[ "$(row '#name' c1 s g | cut -f2)" = 1 ]
	[ "$(table '#consumer' s g)" = "$(printf '\t1\nc1\t1\nc2\t1')" ]
	[ "$(mq-xinfo -o json s g | jq -c '.pending[0]')" = '{"consumer":"","count":1}' ]
	mq-xreadgroup -c 1 g c3 s > /dev/null
	[ "$(table '#consumer' s g)" = "$(printf 'c1\t1\nc2\t1\nc3\t1')" ]
	[ "$(field s g consumers)" = 3 ]
}

@test "mq-xinfo: idle and inactive are milliseconds; inactive is unknown until a consumer gets one" {
	setup_groups
	mq-xreadgroup g c1 s 0 > /dev/null
	mq-xreadgroup -c 1 g c3 s > /dev/null
	mq-xreadgroup g c4 s > /dev/null
	mq-xinfo s g > out
	table '#name' s g > rows
	[ "$(cut -f1 rows | paste -sd' ')" = "c1 c2 c3 c4" ]
	while IFS=$'\t' read -r name pend idle inactive; do
		[[ "$idle" =~ ^[0-9]+$ ]]
		if [ "$name" = c4 ]; then
			[ "$pend" = 0 ]
			[ "$inactive" = - ]
		else
			[[ "$inactive" =~ ^[0-9]+$ ]]
			# Seen whenever it got something: never idle longer.
			[ "$idle" -le "$inactive" ]
		fi
	done < rows
	[ "$(mq-xinfo -o json s g | jq -c '[.consumers[] | .inactive == null]')" = \
	    '[false,false,false,true]' ]
}

@test "mq-xinfo: lag and entries-read follow the group's reading" {
	seq 1 4 | mq-xadd -q s
	mq-xreadgroup -c 1 g c s > /dev/null
	[ "$(field s g entries-read)" = 1 ]
	[ "$(field s g lag)" = 3 ]
	seq 1 3 | mq-xadd -q s
	[ "$(field s g lag)" = 6 ]
	mq-xreadgroup g c s > /dev/null
	[ "$(field s g entries-read)" = 7 ]
	[ "$(field s g lag)" = 0 ]
}

@test "mq-xinfo: a deleted entry: max-deleted-entry-id, still pending, lag unknown behind it" {
	mq-xadd -q s a b c
	mq-xreadgroup g c s | cut -f1 | mq-nack -r s g
	dead=($(mq-xrange s.dlq | cut -f1))
	# reader has all three pending; behind is one entry in.
	mq-xreadgroup all reader s.dlq > /dev/null
	mq-xreadgroup -c 1 behind reader s.dlq > /dev/null
	[ "$(field s.dlq max-deleted-entry-id)" = 0-0 ]
	[ "$(row '#name' behind s.dlq | cut -f6)" = 2 ]

	mq-dlq purge s "${dead[1]}"
	[ "$(field s.dlq length)" = 2 ]
	[ "$(field s.dlq entries-added)" = 3 ]
	[ "$(field s.dlq max-deleted-entry-id)" = "${dead[1]}" ]
	# The deleted entry stays pending in the group that had it.
	[ "$(field s.dlq all pending)" = 3 ]
	[ "$(row '#name' reader s.dlq all | cut -f2)" = 3 ]
	[ "$(mq-xreadgroup all reader s.dlq 0 | cut -f2 | paste -sd,)" = "a,,c" ]
	# Past the deleted entry the lag is known, behind it it is not.
	[ "$(row '#name' all s.dlq | cut -f6)" = 0 ]
	[ "$(row '#name' behind s.dlq | cut -f6)" = - ]
	[ "$(field s.dlq behind lag)" = - ]
	[ "$(mq-xinfo -o json s.dlq behind | jq -c .group.lag)" = null ]
	[ "$(mq-xinfo -o json s.dlq | jq -c '[.groups[].lag]')" = '[0,null]' ]
}

@test "mq-xinfo: -o json is one object with the text form's names and values" {
	setup_groups
	mq-xreadgroup g c1 s > /dev/null
	mq-xreadgroup g idle s > /dev/null
	mq-nack s g 1-1
	for args in "s" "s g"; do
		mq-xinfo -o json $args > json
		[ "$(wc -l < json)" -eq 1 ]
		# Every key line of the text form, with its value, in order.
		mq-xinfo $args | sed '/^#/,$d' > want
		jq -r '[.stream, .policy, .group] | map(select(. != null)) |
		    .[] | to_entries[] | "\(.key) \(.value // "-")"' json > got
		diff want got
	done
	mq-xinfo -o json s > json
	[ "$(jq -c 'keys' json)" = '["groups","policy","stream"]' ]
	[ "$(jq -r '.groups[] | [.name, .consumers, .pending, ."last-delivered-id", ."entries-read", .lag] | map(. // "-" | tostring) | join("\t")' json)" = \
	    "$(table '#name' s)" ]
	mq-xinfo --output json s g > json
	[ "$(jq -c 'keys' json)" = '["consumers","group","pending"]' ]
	[ "$(jq -r '.consumers[] | [.name, .pending] | join("\t")' json)" = \
	    "$(table '#name' s g | cut -f1,2)" ]
	[ "$(jq -r '.pending[] | [.consumer, .count] | map(tostring) | join("\t")' json)" = \
	    "$(table '#consumer' s g)" ]
	[ "$(jq -r '.group.pending' json)" = 4 ]
	[ "$(jq -c '[.consumers[].inactive == null]' json)" = '[false,false,true]' ]
	[ "$(jq -c '.pending[0]' json)" = '{"consumer":"","count":1}' ]
}

@test "mq-xinfo: names are escaped in text, base64 in JSON when not UTF-8" {
	mq-xadd -q s m
	mq-xreadgroup "$(printf 'a\tb')" "$(printf 'c\nd')" s > /dev/null
	mq-xreadgroup "$(printf 'caf\303\251')" c s > /dev/null
	mq-xreadgroup "$(printf 'x\377')" c s > /dev/null
	[ "$(table '#name' s | cut -f1 | paste -sd' ')" = $'a\\tb caf\303\251 x\377' ]
	[ "$(mq-xinfo s | grep -c .)" -eq 27 ]
	[ "$(row '#name' 'a\tb' s | cut -f2)" = 1 ]
	[ "$(table '#name' s "$(printf 'a\tb')" | cut -f1)" = 'c\nd' ]
	mq-xinfo -o json s > json
	[ "$(jq -r '.groups[0].name' json)" = "$(printf 'a\tb')" ]
	[ "$(jq -r '.groups[1].name' json)" = "$(printf 'caf\303\251')" ]
	[ "$(jq -r '.groups[2] | has("name")' json)" = false ]
	[ "$(jq -r '.groups[2].name_base64' json | base64 -d | od -An -tx1 | tr -d ' ')" = 78ff ]
	[ "$(mq-xinfo -o json s "$(printf 'a\tb')" | jq -r '.consumers[0].name')" = "$(printf 'c\nd')" ]
}

@test "mq-xinfo: without operands, a line per stream: name, length, last id, groups" {
	mq-xadd -q -i 1-1 orders a
	mq-xadd -q -i 5-2 orders b
	mq-xadd -q -i 2-0 audit c
	mq-xreadgroup g c orders > /dev/null
	mq-xreadgroup h c orders > /dev/null
	mq-queue empty --max-len 10
	run --separate-stderr mq-xinfo
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$(printf 'audit\t1\t2-0\t0\nempty\t0\t0-0\t0\norders\t2\t5-2\t2')" ]
	# The fields are those of each stream's own section.
	for name in audit empty orders; do
		want=$(printf '%s\t%s\t%s\t%s' "$(field "$name" name)" \
		    "$(field "$name" length)" "$(field "$name" last-generated-id)" \
		    "$(field "$name" groups)")
		[ "$(printf '%s\n' "$output" | grep "^$name"$'\t')" = "$want" ]
	done
	# A dead-letter stream is a stream like another.
	mq-xreadgroup g c orders 0 | cut -f1 | mq-nack -r orders g
	[ "$(mq-xinfo | cut -f1 | paste -sd' ')" = "audit empty orders orders.dlq" ]
	[ "$(mq-xinfo | grep '^orders\.dlq' | cut -f2)" = 2 ]
}

@test "mq-xinfo: the streams come in the byte order of their names, escaped in text" {
	for name in B a $'a\tb' $'a\nb' 'a b' 'a\b' 'a%2F' $'\303\251' $'\377'; do
		mq-xadd -q -- "$name" m
	done
	mq-xinfo > list
	# Not the order of the escaped names, nor of a locale: of the bytes.
	cut -f1 list > names
	printf '%s\n' B a 'a\tb' 'a\nb' 'a b' 'a%2F' 'a\\b' $'\303\251' $'\377' > want
	diff want names
	[ "$(wc -l < list)" -eq 9 ]
	[ "$(cut -f2 list | sort -u)" = 1 ]
	# One line each, whatever the name holds.
	[ "$(awk -F '\t' 'NF != 4' list)" = "" ]
	# What the text form writes, printf %b reads back.
	[ "$(printf '%b' "$(sed -n 3p names)")" = $'a\tb' ]
}

@test "mq-xinfo: -o json: one object per stream and line, as the text form" {
	mq-xadd -q -i 3-1 s a
	mq-xadd -q -i 3-2 s b
	mq-xreadgroup g c s > /dev/null
	mq-xadd -q -- $'t\tab' m
	mq-xadd -q -- $'caf\303\251' m
	mq-xadd -q -- $'x\377' m
	mq-xinfo -o json > json
	[ "$(wc -l < json)" -eq 4 ]
	[ "$(jq -c 'keys_unsorted' json | LC_ALL=C sort -u)" = '["name","length","last-generated-id","groups"]
["name_base64","length","last-generated-id","groups"]' ]
	[ "$(sed -n 2p json)" = '{"name":"s","length":2,"last-generated-id":"3-2","groups":1}' ]
	# Name by name, the text form's fields, its escapes aside.
	jq -r '[.name, .length, ."last-generated-id", .groups] |
	    map(tostring) | join(" ")' json | head -n 3 > got
	mq-xinfo | head -n 3 | awk -F '\t' '{ print $1, $2, $3, $4 }' |
	    sed 's/\\t/\t/' > want
	diff want got
	[ "$(jq -r 'select(.name == "t\tab") | .length' json)" = 1 ]
	[ "$(sed -n 4p json | jq -r .name_base64 | base64 -d | od -An -tx1 | tr -d ' ')" = 78ff ]
	# The same member names as the section of each stream.
	[ "$(mq-xinfo -o json s | jq -c '.stream | {name, length, "last-generated-id", groups}')" = \
	    "$(sed -n 2p json)" ]
}

@test "mq-xinfo: a spool without streams prints nothing; sorted sets are not streams" {
	mq-publish -q t m
	[ -d "$MQ_SPOOL/streams" ]
	run --separate-stderr mq-xinfo
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run mq-xinfo -o json
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	# A sorted set, made by a Redis client through mq-serve.
	mq-xadd -q s m
	mkfifo ready
	mq-serve --resp 127.0.0.1:0 --amqp off --ready-fd 3 3> ready > serve.log 2>&1 &
	bg+=($!)
	read -r _ < ready
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (resp).*/\1/p' serve.log)
	exec 4<> "/dev/tcp/127.0.0.1/$port"
	printf '*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nm\r\n' >&4
	read -r reply <&4
	exec 4<&-
	[ "$reply" = $':1\r' ]
	[ -e "$MQ_SPOOL/zsets/z" ]
	[ "$(mq-xinfo | cut -f1)" = s ]
	[ "$(mq-xinfo -o json | jq -r .name)" = s ]
}

@test "mq-xinfo: the list needs only the right to read the spool" {
	umask 022
	public_dir mq-xinfo
	export MQ_SPOOL=$PUBLIC/spool
	mq-xadd -q s a b
	mq-xreadgroup g c s > /dev/null
	mq-xadd -q t m
	want=$(mq-xinfo)
	want_json=$(mq-xinfo -o json)
	[ "$(id -u)" -eq 0 ] || chmod -R a-w "$MQ_SPOOL"
	# The reader may not write there.
	run unprivileged mkdir "$MQ_SPOOL/streams/x"
	[ "$status" -ne 0 ]
	run --separate-stderr unprivileged "$PUBLIC/bin/mq-xinfo"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$want" ]
	[ "$(printf '%s\n' "$output" | cut -f1 | paste -sd' ')" = "s t" ]
	run unprivileged "$PUBLIC/bin/mq-xinfo" -o json
	[ "$status" -eq 0 ]
	[ "$output" = "$want_json" ]
}

@test "mq-xinfo: 20000 streams are listed with 64 file descriptors" {
	for i in 1 2 3; do
		mq-xadd -q -i "1-$i" orders "m$i"
	done
	bare_streams 20000
	(ulimit -n 64 && exec mq-xinfo) > list
	[ "$(wc -l < list)" -eq 20001 ]
	LC_ALL=C sort -c list
	(cd "$MQ_SPOOL/streams" && ls -A | LC_ALL=C sort) > want
	diff want <(cut -f1 list)
	[ "$(grep -c "$(printf '^s[0-9]*\t0\t0-0\t0$')" list)" -eq 20000 ]
	[ "$(head -n 1 list)" = "$(printf 'orders\t3\t1-3\t0')" ]
	(ulimit -n 64 && exec mq-xinfo -o json) > json
	diff <(cut -f1 list) <(jq -r .name json)
}

@test "mq-xinfo: a stream removed after the names were read is left out" {
	# Lines of over 100 bytes: 2 MB in all, more than a pipe holds.
	p=$(printf 'x%.0s' $(seq 1 100))
	bare_streams 20000 "$p"
	mkfifo list
	mq-xinfo > list 2> err 3>&- &
	lister=$!
	exec 4< list
	# The first line comes once every name was read.  The lister then
	# blocks on the full pipe, thousands of streams before the last one.
	read -r first <&4
	rm -r "$MQ_SPOOL/streams/${p}20000"
	cat <&4 > rest
	exec 4<&-
	wait "$lister"
	[ "$(cut -f1 <<< "$first")" = "${p}00001" ]
	[ "$(wc -l < rest)" -eq 19998 ]
	[ "$(tail -n 1 rest | cut -f1)" = "${p}19999" ]
	[ ! -s err ]
}

@test "mq-xinfo: a stream that cannot be read is reported, the others are listed" {
	for name in a b c d; do
		mq-xadd -q "$name" m
	done
	# b is a file where a directory should be (66), c has a corrupt
	# policy (70): the status is the first failure's.
	rm -r "$MQ_SPOOL/streams/b"
	: > "$MQ_SPOOL/streams/b"
	printf 'not written by mq\n' > "$MQ_SPOOL/streams/c/meta"
	run --separate-stderr mq-xinfo
	[ "$status" -eq 66 ]
	[ "$(printf '%s\n' "$output" | cut -f1 | paste -sd' ')" = "a d" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ "${stderr_lines[0]}" == "mq-xinfo: b: "* ]]
	[[ "${stderr_lines[1]}" == "mq-xinfo: c: "* ]]
}

@test "mq-xinfo: short of file descriptors, the list stops at the first stream" {
	mq-xadd -q a m
	mq-xadd -q b m
	mq-xadd -q c m
	# Room for the spool, not for a stream: 0, 1, 2, and two for the spool.
	run --separate-stderr bash -c '
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || exec {fd}>&-
		done
		ulimit -n 6 && exec mq-xinfo'
	[ "$status" -eq 75 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "mq-xinfo: a: "* ]]
}

@test "mq-xinfo: a missing spool, stream or group exits 66 and creates nothing" {
	run mq-xinfo s
	[ "$status" -eq 66 ]
	[ ! -e "$MQ_SPOOL" ]
	run mq-xinfo
	[ "$status" -eq 66 ]
	[ "$output" = "mq-xinfo: $MQ_SPOOL: no such spool" ]
	[ ! -e "$MQ_SPOOL" ]
	mq-xadd -q s m
	mq-xreadgroup g c s > /dev/null
	(cd "$MQ_SPOOL" && find . -printf '%p %s\n' | sort) > before
	run mq-xinfo nostream
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-xinfo: nostream: "* ]]
	run mq-xinfo s nogroup
	[ "$status" -eq 66 ]
	[[ "$output" == "mq-xinfo: s: nogroup: "* ]]
	run mq-xinfo nostream g
	[ "$status" -eq 66 ]
	mq-xinfo s > /dev/null
	mq-xinfo -o json s g > /dev/null
	mq-xinfo > /dev/null
	(cd "$MQ_SPOOL" && find . -printf '%p %s\n' | sort) > after
	cmp before after
	run mq-xinfo --spool "$BATS_TEST_TMPDIR/none" s
	[ "$status" -eq 66 ]
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "mq-xinfo: an empty or over-long group name exits 65" {
	mq-xadd -q s m
	run mq-xinfo s ''
	[ "$status" -eq 65 ]
	run mq-xinfo s "$(printf 'g%.0s' $(seq 1 201))"
	[ "$status" -eq 65 ]
}

@test "mq-xinfo: usage errors exit 2" {
	mq-xadd -q s m
	mq-xreadgroup g c s > /dev/null
	run mq-xinfo s g extra
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: mq-xinfo "* ]]
	run mq-xinfo -o raw
	[ "$status" -eq 2 ]
	run mq-xinfo -o raw s
	[ "$status" -eq 2 ]
	run mq-xinfo -o xml s g
	[ "$status" -eq 2 ]
	run mq-xinfo -c 1 s
	[ "$status" -eq 2 ]
}

@test "mq-xinfo: the examples of the manual page: the list of the streams" {
	seq 1 1500 | mq-xadd -q orders
	mq-xreadgroup -c 1 workers c orders > /dev/null
	seq 1 10 | mq-xadd -q audit
	seq 1 2000 | mq-xadd -q logs
	run mq-xinfo
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | cut -f1,2 | paste -sd' ')" = \
	    "$(printf 'audit\t10 logs\t2000 orders\t1500')" ]
	[ "$(mq-xinfo | awk -F '\t' '$2 > 1000 { print $1 }' | paste -sd' ')" = \
	    "logs orders" ]
	[ "$(mq-xinfo -o json | jq -r 'select(.groups == 0) | .name' | paste -sd' ')" = \
	    "audit logs" ]
}

@test "mq-xinfo: the examples of the manual page" {
	seq 1 1500 | mq-xadd -q orders
	mq-xreadgroup -c 100 slow c orders > /dev/null
	mq-xreadgroup -c 1000 fast c orders > /dev/null
	run mq-xinfo orders
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'name orders' ]
	[[ "$output" == *$'\n''delivery-limit 0'$'\n'* ]]
	[ "$(table '#name' orders | cut -f1 | paste -sd' ')" = "fast slow" ]

	[ "$(mq-xinfo orders | awk '$1 == "length" { print $2 }')" = 1500 ]
	[ "$(mq-xinfo orders | awk -F '\t' '/^#/ { next } NF > 1 && $6 > 1000 { print $1, $6 }')" = \
	    "slow 1400" ]

	# w1 and w2 hold an entry each, w3 acked what it got, w4 got nothing.
	mq-xreadgroup -c 1 workers w1 orders > /dev/null
	mq-xreadgroup -c 1 workers w2 orders > /dev/null
	mq-xreadgroup workers w3 orders | cut -f1 | mq-ack orders workers
	mq-xreadgroup workers w4 orders > /dev/null
	cat > stuck-awk <<-'EOF'
	mq-xinfo orders workers |
	    awk -F '\t' '/^#/ { t = $1; next } t == "#name" && $2 > 0 && $4 > 3600000 { print $1 }'
	EOF
	cat > stuck-jq <<-'EOF'
	mq-xinfo -o json orders workers |
	    jq -r '.consumers[] | select(.pending > 0 and .inactive > 3600000) | .name'
	EOF
	for f in stuck-awk stuck-jq; do
		# No one went an hour without getting anything ...
		run sh "$f"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		# ... and, as a test cannot wait an hour, with -1 ms in its
		# place those that hold entries are listed.
		run sh -c "$(sed 's/3600000/-1/' "$f")"
		[ "$output" = "$(printf 'w1\nw2')" ]
	done

	cat > acked <<-'EOF'
	until mq-xinfo -o json orders workers | jq -e '.group.pending == 0'; do sleep 1; done
	EOF
	timeout 60 sh acked > out 3>&- &
	waiter=$!
	# It waits while entries are pending, and ends once they are acked.
	wait_until grep -q false out
	mq-xpending orders workers | mq-ack orders workers
	wait "$waiter"
	[ "$(tail -n 1 out)" = true ]
}
