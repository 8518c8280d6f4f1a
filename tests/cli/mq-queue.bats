#!/usr/bin/env bats
# mq-queue: the queue policy of a stream.

load helpers

# policy STREAM KEY: the value of KEY in mq-queue's listing.
policy() {
	mq-queue "$1" | awk -v k="$2" '$1 == k { print $2 }'
}

@test "mq-queue: shared options" {
	mq-xadd -q s m
	common_options mq-queue s
}

@test "mq-queue: without options prints every policy key once" {
	mq-xadd -q s m
	run mq-queue s
	[ "$status" -eq 0 ]
	[ "$(cut -d' ' -f1 <<< "$output" | paste -sd' ')" = \
	    "delivery-limit ttl max-len max-len-bytes max-bytes max-age overflow max-msg dead-letter lease retry-delay retry-max" ]
	[ "$(policy s lease)" = 30m ]
	[ "$(policy s retry-delay)" = 1s ]
	[ "$(policy s retry-max)" = 5m ]
	[ "$(policy s delivery-limit)" = 0 ]
	[ "$(policy s overflow)" = drop ]
	[ "$(policy s dead-letter)" = s.dlq ]
}

@test "mq-queue: printing a missing stream exits 66 and creates nothing" {
	run mq-queue nostream
	[ "$status" -eq 66 ]
	[ ! -e "$MQ_SPOOL" ]
}

@test "mq-queue: setting creates the stream, and changes only what is named" {
	run mq-queue s --delivery-limit 5
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	mq-queue s --ttl 30s
	[ "$(policy s delivery-limit)" = 5 ]
	[ "$(policy s ttl)" = 30s ]
	mq-queue s --max-len 100 --overflow dead-letter
	[ "$(policy s delivery-limit)" = 5 ]
	[ "$(policy s ttl)" = 30s ]
	[ "$(policy s max-len)" = 100 ]
	[ "$(policy s overflow)" = dead-letter ]
}

@test "mq-queue: -v prints the policy after setting it" {
	run mq-queue -v s --delivery-limit 3
	[ "$status" -eq 0 ]
	[[ "$output" == *"delivery-limit 3"* ]]
}

@test "mq-queue: durations take ms, s, m, h, d; a plain number is seconds" {
	for d in 500ms:500ms 30s:30s 5m:5m 2h:2h 1d:1d 90:90s 1500ms:1500ms 120s:2m 0:0; do
		mq-queue s --ttl "${d%%:*}" --max-age "${d%%:*}"
		[ "$(policy s ttl)" = "${d##*:}" ]
		[ "$(policy s max-age)" = "${d##*:}" ]
	done
}

@test "mq-queue: sizes take k, M and G suffixes" {
	mq-queue s --max-bytes 64k --max-msg 1M
	[ "$(policy s max-bytes)" = 65536 ]
	[ "$(policy s max-msg)" = 1048576 ]
	mq-queue s --max-bytes 1G --max-msg 2048
	[ "$(policy s max-bytes)" = 1073741824 ]
	[ "$(policy s max-msg)" = 2048 ]
}

@test "mq-queue: 0 disables a limit" {
	mq-queue s --delivery-limit 4 --max-len 9 --max-bytes 1M --ttl 1h
	mq-queue s --delivery-limit 0 --max-len 0 --max-bytes 0 --ttl 0 --max-msg 0
	[ "$(policy s delivery-limit)" = 0 ]
	[ "$(policy s max-len)" = 0 ]
	[ "$(policy s max-bytes)" = 0 ]
	[ "$(policy s ttl)" = 0 ]
	# The largest message size there is: 512 MiB.
	[ "$(policy s max-msg)" = 536870912 ]
}

@test "mq-queue: --max-msg above 512M exits 65" {
	run mq-queue s --max-msg 513M
	[ "$status" -eq 65 ]
	run mq-queue s --max-msg 512M
	[ "$status" -eq 0 ]
}

@test "mq-queue: --max-msg is enforced on appends" {
	mq-queue s --max-msg 100
	run bash -c "head -c 101 /dev/zero | mq-xadd -a s"
	[ "$status" -eq 65 ]
}

@test "mq-queue: --max-len with --overflow drop keeps the newest" {
	mq-queue s --max-len 3
	seq 1 5 | mq-xadd -q s
	[ "$(mq-xreadgroup g c s | cut -f2 | paste -sd' ')" = "3 4 5" ]
}

@test "mq-queue: --dead-letter names the stream dead letters go to" {
	mq-queue s --dead-letter failed
	[ "$(policy s dead-letter)" = failed ]
	id=$(mq-xadd s m)
	mq-xreadgroup g c s > /dev/null
	mq-nack --reject s g "$id"
	[ "$(mq-xreadgroup g2 c failed | cut -f2)" = m ]
	[ "$(mq-dlq count s)" = 1 ]
}

@test "mq-queue: bad values are usage errors" {
	for opt in "--ttl 5x" "--ttl -1" "--max-age soon" "--max-bytes lots" \
	    "--delivery-limit -2" "--max-len x" "--overflow nosuch" "--max-msg 1Q" \
	    "--lease soon" "--retry-delay -1s" "--retry-max 5x"; do
		run mq-queue s $opt
		[ "$status" -eq 2 ]
	done
	run mq-queue
	[ "$status" -eq 2 ]
	run mq-queue a b
	[ "$status" -eq 2 ]
}

@test "mq-queue: the examples of the manual page" {
	mq-queue orders --delivery-limit 5 --dead-letter orders.failed
	mq-queue orders --max-len 100000 --overflow dead-letter
	mq-queue reports --lease 2h --retry-delay 1m --retry-max 1h
	mq-queue jobs --retry-delay 0
	mq-queue images --max-msg 64M
	run mq-queue orders
	[ "$status" -eq 0 ]
	[[ "$output" == *"delivery-limit 5"* ]]
	[[ "$output" == *"dead-letter orders.failed"* ]]
	[[ "$output" == *"max-len 100000"* ]]
	[[ "$output" == *"overflow dead-letter"* ]]
	[ "$(policy images max-msg)" = 67108864 ]
	[ "$(policy reports lease)" = 2h ]
	[ "$(policy reports retry-delay)" = 1m ]
	[ "$(policy reports retry-max)" = 1h ]
	[ "$(policy jobs retry-delay)" = 0 ]
	# The others keep their defaults.
	[ "$(policy jobs lease)" = 30m ]
	[ "$(policy jobs retry-max)" = 5m ]
}

@test "mq-queue: --max-len with --overflow reject refuses what goes beyond" {
	mq-queue s --max-len 2 --overflow reject
	[ "$(policy s overflow)" = reject ]
	mq-xinfo s | grep -qx 'overflow reject'
	mq-xadd -q s m1
	mq-xadd -q s m2
	run mq-xadd s m3
	[ "$status" -eq 75 ]
	[ "$output" = "mq-xadd: s: the queue is full (max-len or max-len-bytes, overflow reject)" ]
	[ "$(mq-xrange s | cut -f2 | paste -sd' ')" = "m1 m2" ]
	[ "$(mq-dlq count s)" = 0 ]
}

@test "mq-queue: --max-len-bytes keeps the newest bodies, refuses or dead-letters" {
	mq-queue s --max-len-bytes 10
	[ "$(policy s max-len-bytes)" = 10 ]
	mq-xinfo s | grep -qx 'max-len-bytes 10'
	printf '%s\n' aaaa bbbb cccc dd | mq-xadd -q s
	[ "$(mq-xrange s | cut -f2 | paste -sd' ')" = "bbbb cccc dd" ]
	mq-queue s --overflow reject
	run mq-xadd s eee
	[ "$status" -eq 75 ]
	[ "$output" = "mq-xadd: s: the queue is full (max-len or max-len-bytes, overflow reject)" ]
	mq-xadd -q s ''
	[ "$(mq-xrange s | cut -f2 | paste -sd' ')" = "bbbb cccc dd " ]
	mq-queue t --max-len-bytes 4k --overflow dead-letter
	[ "$(policy t max-len-bytes)" = 4096 ]
	head -c 3000 /dev/zero | tr '\0' x | mq-xadd -q t
	head -c 3000 /dev/zero | tr '\0' y | mq-xadd -q t
	[ "$(mq-dlq count t)" = 1 ]
	[ "$(mq-xrange t | cut -f2 | cut -c1-3)" = yyy ]
}
