#!/usr/bin/env bats
# redis-cli.bats - Debian's redis-cli against mq-serve: one-shot commands,
# RESP3 (-3), --pipe of 100,000 commands, subscribe, and the cross-door
# cases where the CLI tools and RESP clients share the spool.

load lib.sh

setup() {
	interop_setup || return 1
	mq_up
}

@test "redis-cli: PING, ECHO" {
	run cli PING
	[ "$status" -eq 0 ]
	[ "$output" = PONG ]
	run cli ECHO 'hello world'
	[ "$output" = 'hello world' ]
}

@test "redis-cli: XADD then XRANGE, XLEN, XREVRANGE" {
	run cli XADD s 1-1 f v
	[ "$output" = 1-1 ]
	run cli XADD s '*' name alice age 30
	[ "$status" -eq 0 ]
	id=$output
	[[ "$id" =~ ^[0-9]+-[0-9]+$ ]]
	run cli XRANGE s - +
	[ "$output" = "$(printf '1-1\nf\nv\n%s\nname\nalice\nage\n30' "$id")" ]
	run cli XLEN s
	[ "$output" = 2 ]
	run cli XREVRANGE s + - COUNT 1
	[ "$output" = "$(printf '%s\nname\nalice\nage\n30' "$id")" ]
	# An error reply is printed as such.
	run cli XADD s 1-0 f v
	[ "$output" = 'ERR The ID specified in XADD is equal or smaller than the target stream top item' ]
}

@test "redis-cli: -3 speaks RESP3 (HELLO 3)" {
	run cli -3 XADD s 1-0 f v
	[ "$status" -eq 0 ]
	[ "$output" = 1-0 ]
	run cli -3 XREAD STREAMS s 0
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 's 1-0\nf\nv')" ]
	run cli -3 XADD missing NOMKSTREAM '*' f v
	[ "$output" = '' ]
}

@test "redis-cli: --pipe of 100,000 XADD, then XLEN is 100000" {
	"$MQ_PYTHON" - <<'PY' > cmds
import sys
out = sys.stdout.buffer
for i in range(100000):
	v = b"%d" % i
	out.write(b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$4\r\nbody\r\n$%d\r\n%s\r\n" % (len(v), v))
PY
	run cli --pipe < cmds
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = 'errors: 0, replies: 100000' ]
	run cli XLEN s
	[ "$output" = 100000 ]
	run cli XREVRANGE s + - COUNT 1
	[ "${lines[2]}" = 99999 ]
}

@test "redis-cli: subscribe in the background receives a PUBLISH" {
	background sub.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" subscribe news
	wait_until file_has_lines sub.out 3
	[ "$(cat sub.out)" = "$(printf 'subscribe\nnews\n1')" ]
	run cli PUBLISH news hello
	[ "$output" = 1 ]
	run cli PUBLISH other x
	[ "$output" = 0 ]
	wait_until file_has_lines sub.out 6
	[ "$(tail -n 3 sub.out)" = "$(printf 'message\nnews\nhello')" ]
}

@test "redis-cli: psubscribe receives by pattern" {
	background sub.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" psubscribe 'news.*'
	wait_until file_has_lines sub.out 3
	run cli PUBLISH news.tech hello
	[ "$output" = 1 ]
	wait_until file_has_lines sub.out 7
	[ "$(tail -n 4 sub.out)" = "$(printf 'pmessage\nnews.*\nnews.tech\nhello')" ]
}

@test "redis-cli: an XREAD BLOCK is woken by an XADD of another client" {
	cli XADD s 1-0 n 1 > /dev/null
	background read.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREAD BLOCK 10000 STREAMS s 1-0
	cli XADD s 2-0 n 2 > /dev/null
	wait_until file_has_lines read.out 4
	[ "$(cat read.out)" = "$(printf 's\n2-0\nn\n2')" ]
}

# Cross-door: the tools and mq-serve on one spool.

@test "cross-door: mq-xadd, then XRANGE sees the entry (field body)" {
	require_spool_server mq-xadd
	id=$("$MQ_BIN/mq-xadd" s hello)
	run cli XRANGE s - +
	[ "$output" = "$(printf '%s\nbody\nhello' "$id")" ]
	run cli XLEN s
	[ "$output" = 1 ]
}

@test "cross-door: XADD, then mq-xreadgroup delivers it" {
	require_spool_server mq-xreadgroup
	id=$(cli XADD s '*' body hello)
	run "$MQ_BIN/mq-xreadgroup" g c s
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\thello' "$id")" ]
	# The group is shared: XPENDING over RESP shows the delivery.
	run cli XPENDING s g
	[ "$output" = "$(printf '1\n%s\n%s\nc\n1' "$id" "$id")" ]
}

@test "cross-door: mq-xadd wakes an XREAD BLOCK client" {
	require_spool_server mq-xadd
	id1=$("$MQ_BIN/mq-xadd" s first)
	background read.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREAD BLOCK 10000 STREAMS s "$id1"
	id2=$("$MQ_BIN/mq-xadd" s second)
	wait_until file_has_lines read.out 4
	[ "$(cat read.out)" = "$(printf 's\n%s\nbody\nsecond' "$id2")" ]
}

# blocked_clients_is N: INFO clients says N clients are blocked.
blocked_clients_is() {
	cli INFO clients | tr -d '\r' | grep -qx "blocked_clients:$1"
}

@test "cross-door: an XREAD BLOCK on a stream that does not exist yet is woken when mq-xadd creates it" {
	require_spool_server mq-xadd
	background read.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREAD BLOCK 10000 STREAMS fresh 0-0
	# Blocked first, so that the wake-up, not the first read, serves it.
	wait_until blocked_clients_is 1
	id=$("$MQ_BIN/mq-xadd" fresh created)
	wait_until file_has_lines read.out 4
	[ "$(cat read.out)" = "$(printf 'fresh\n%s\nbody\ncreated' "$id")" ]
}

@test "cross-door: a restart keeps streams, groups and pending entries" {
	require_spool_server
	cli XADD s 1-0 body one > /dev/null
	cli XADD s 2-0 body two > /dev/null
	cli XGROUP CREATE s g 0 > /dev/null
	cli XREADGROUP GROUP g c COUNT 1 STREAMS s '>' > /dev/null
	stop "$MQ_PID"
	MQ_PORT=$(free_port)
	start_mq "$MQ_PORT" "$MQ_SPOOL"
	wait_port "$MQ_PORT" "$MQ_PID"
	run cli XLEN s
	[ "$output" = 2 ]
	run cli XPENDING s g
	[ "$output" = "$(printf '1\n1-0\n1-0\nc\n1')" ]
	run cli XREADGROUP GROUP g c STREAMS s '>'
	[ "$output" = "$(printf 's\n2-0\nbody\ntwo')" ]
}

@test "cross-door: two servers on one spool share sorted sets; a restart keeps them" {
	require_spool_server
	cli ZADD z 3 c 1 a 2 b > /dev/null
	# A second mq-serve process on the same spool.
	local port2 pid1=$MQ_PID
	port2=$(free_port)
	start_mq "$port2" "$MQ_SPOOL"
	wait_port "$port2" "$MQ_PID"
	run redis-cli -p "$port2" ZRANGE z 0 -1 WITHSCORES
	[ "$output" = "$(printf 'a\n1\nb\n2\nc\n3')" ]
	run redis-cli -p "$port2" ZPOPMIN z
	[ "$output" = "$(printf 'a\n1')" ]
	run cli ZPOPMIN z
	[ "$output" = "$(printf 'b\n2')" ]
	cli ZADD z NX 0 d > /dev/null
	run redis-cli -p "$port2" ZRANGE z 0 -1
	[ "$output" = "$(printf 'd\nc')" ]
	# A stream made by one is a stream for the other.
	redis-cli -p "$port2" XADD s 1-0 f v > /dev/null
	run cli ZADD s 1 x
	[ "$output" = "WRONGTYPE Operation against a key holding the wrong kind of value" ]
	stop "$MQ_PID"
	stop "$pid1"
	MQ_PORT=$(free_port)
	start_mq "$MQ_PORT" "$MQ_SPOOL"
	wait_port "$MQ_PORT" "$MQ_PID"
	run cli ZRANGE z 0 -1 WITHSCORES
	[ "$output" = "$(printf 'd\n0\nc\n3')" ]
	run cli TYPE z
	[ "$output" = zset ]
	# Emptied by one, gone for every process.
	cli ZREM z c d > /dev/null
	run cli EXISTS z
	[ "$output" = 0 ]
	[ ! -e "$MQ_SPOOL/zsets/z" ]
}

# The fsyncs run on a thread of their own (syncer.c), under "interval"
# and under "always" (whose replies wait for them); "never" has none.
# Either way what was acknowledged is there after a restart.
@test "mq-serve: fsyncs run on a thread of their own" {
	mq_up --fsync interval:50
	[ "$(ls /proc/$MQ_PID/task | wc -l)" -eq 2 ]
	redis-cli -p "$MQ_PORT" XADD s '*' n 1 > /dev/null
	kill "$MQ_PID"
	wait "$MQ_PID" || true
	mq_up --fsync always
	[ "$(ls /proc/$MQ_PID/task | wc -l)" -eq 2 ]
	redis-cli -p "$MQ_PORT" XADD s '*' n 2 > /dev/null
	[ "$(redis-cli -p "$MQ_PORT" XLEN s)" -eq 2 ]
	kill "$MQ_PID"
	wait "$MQ_PID" || true
	mq_up --fsync never
	[ "$(ls /proc/$MQ_PID/task | wc -l)" -eq 1 ]
	[ "$(redis-cli -p "$MQ_PORT" XLEN s)" -eq 2 ]
}

@test "redis-cli: a SCAN returns each key present throughout, whatever comes and goes between calls" {
	for i in $(seq 1 1500); do
		printf 'XADD k%d 1-1 f v\r\n' "$i"
	done | cli --pipe > /dev/null
	cursor=0 calls=0
	: > scanned
	while :; do
		cli SCAN "$cursor" COUNT 50 > reply
		cursor=$(head -1 reply)
		tail -n +2 reply >> scanned
		# Between the calls: new keys come, and some old ones go.
		calls=$((calls + 1))
		cli XADD "new$calls" 1-1 f v > /dev/null
		[ $((calls % 3)) -eq 0 ] && cli DEL "k$((1000 + calls))" > /dev/null
		[ "$cursor" = 0 ] && break
	done
	[ "$calls" -gt 10 ]
	# Every key that was there from the first call to the last.
	for i in $(seq 1 1000); do echo "k$i"; done > kept
	[ "$(sort -u scanned | grep -cxFf kept)" -eq 1000 ]
}
