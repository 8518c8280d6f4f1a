#!/usr/bin/env bats
# rename.bats - RENAME (and DEL) beyond one connection's script: blocked readers of
# the old and the new name, and a rename made by another process on the
# same spool (a second mq-serve), which the first one's cache of open
# streams and sorted sets, its WATCH and the command-line tools must
# notice.  The byte-for-byte replies are compared with redis-server in
# resp/rename.txt and resp/watch.txt.

load lib.sh

setup() {
	interop_setup || return 1
	mq_up
}

# blocked_clients_is N: INFO clients says N clients are blocked.
blocked_clients_is() {
	cli INFO clients | tr -d '\r' | grep -qx "blocked_clients:$1"
}

# file_has FILE TEXT: FILE holds TEXT.
file_has() {
	grep -qF -- "$2" "$1" 2>/dev/null
}

@test "rename: a blocked XREADGROUP of the old name is unblocked with an error, an XREAD of the new name is served" {
	cli XGROUP CREATE q g '$' MKSTREAM > /dev/null
	background group.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREADGROUP GROUP g c BLOCK 0 STREAMS q '>'
	wait_until blocked_clients_is 1
	background read.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREAD BLOCK 0 STREAMS q2 0-0
	wait_until blocked_clients_is 2
	cli XADD q 1-0 f v > /dev/null
	# The XADD serves the group reader first; block it again.
	wait_until file_has_lines group.out 4
	background group.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREADGROUP GROUP g c BLOCK 0 STREAMS q '>'
	wait_until blocked_clients_is 2
	run cli RENAME q q2
	[ "$output" = OK ]
	wait_until file_has group.out "UNBLOCKED the stream key no longer exists"
	wait_until file_has_lines read.out 4
	[ "$(cat read.out)" = "$(printf 'q2\n1-0\nf\nv')" ]
	wait_until blocked_clients_is 0
}

@test "rename: by another mq-serve on the spool: the first one's cache and the tools follow the name" {
	require_spool_server mq-xrange mq-xreadgroup
	cli XADD s 1-0 body one > /dev/null
	cli XADD s 2-0 body two > /dev/null
	cli XGROUP CREATE s g 0 > /dev/null
	cli XREADGROUP GROUP g c COUNT 1 STREAMS s '>' > /dev/null
	# The first server has s open now; a group reader waits on it.
	background group.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREADGROUP GROUP g c2 BLOCK 0 STREAMS s '>'
	wait_until file_has_lines group.out 4
	background group.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREADGROUP GROUP g c2 BLOCK 0 STREAMS s '>'
	wait_until blocked_clients_is 1
	port2=$(free_port)
	background serve2.log "$MQ_BIN/mq-serve" --spool "$MQ_SPOOL" \
	    --resp "127.0.0.1:$port2" --amqp off --mqtt off --stomp off --kafka off
	wait_port "$port2" "$BG_PID"
	run redis-cli -h 127.0.0.1 -p "$port2" RENAME s renamed
	[ "$output" = OK ]
	# Woken by the move of the directory, not by a command of its own.
	wait_until file_has group.out "UNBLOCKED the stream key no longer exists"
	run cli EXISTS s
	[ "$output" = 0 ]
	run cli XLEN renamed
	[ "$output" = 2 ]
	run cli XPENDING renamed g - + 10
	[ "$output" = "$(printf '1-0\nc\n%s\n1\n2-0\nc2\n%s\n1' \
	    "$(echo "$output" | sed -n 3p)" "$(echo "$output" | sed -n 7p)")" ]
	# A new s is a new stream, not the renamed one.
	cli XADD s 5-0 body new > /dev/null
	run cli XLEN renamed
	[ "$output" = 2 ]
	run "$MQ_BIN/mq-xrange" s
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '5-0\tnew')" ]
	run "$MQ_BIN/mq-xrange" renamed
	[ "$output" = "$(printf '1-0\tone\n2-0\ttwo')" ]
	# RENAMENX from the second server onto the name the first one has open.
	run redis-cli -h 127.0.0.1 -p "$port2" RENAMENX renamed s
	[ "$output" = 0 ]
	run redis-cli -h 127.0.0.1 -p "$port2" RENAME renamed s
	[ "$output" = OK ]
	run cli XRANGE s - +
	[ "$output" = "$(printf '1-0\nbody\none\n2-0\nbody\ntwo')" ]
	run cli XPENDING s g
	[ "$(echo "$output" | head -1)" = 2 ]
}

@test "rename: mq-xreadgroup -f on the old name stops with status 66" {
	require_spool_server mq-xreadgroup
	cli XADD s 1-0 body one > /dev/null
	"$MQ_BIN/mq-xreadgroup" -f g c s > follow.out 2> follow.err &
	pid=$!
	STARTED_PIDS="$STARTED_PIDS $pid"
	wait_until file_has_lines follow.out 1
	run cli RENAME s s2
	[ "$output" = OK ]
	wait_until eval '! alive '"$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 66 ]
	[ "$(cat follow.out)" = "$(printf '1-0\tone')" ]
	grep -q 's: the stream was removed or renamed' follow.err
	# What it read is pending in the renamed stream, under its group.
	run cli XPENDING s2 g
	[ "$(echo "$output" | head -1)" = 1 ]
}

@test "rename: sorted sets renamed by another mq-serve: the first one's cache and WATCH follow" {
	require_spool_server
	cli ZADD z 1 a 2 b > /dev/null
	cli ZADD dst 9 old > /dev/null
	port2=$(free_port)
	background serve2.log "$MQ_BIN/mq-serve" --spool "$MQ_SPOOL" \
	    --resp "127.0.0.1:$port2" --amqp off --mqtt off --stomp off --kafka off
	wait_port "$port2" "$BG_PID"
	run "$MQ_PYTHON" - "$MQ_PORT" "$port2" <<'PY'
import sys, redis
r1 = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
r2 = redis.Redis(host="127.0.0.1", port=int(sys.argv[2]), decode_responses=True)

def watched(keys, change):
    """Whether EXEC on r1 aborts after 'change' ran between WATCH and it."""
    with r1.pipeline() as p:
        p.watch(*keys)
        change()
        p.multi()
        p.exists(*keys)
        try:
            p.execute()
            return False
        except redis.WatchError:
            return True

# The first server has both sets open.
assert r1.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
assert r1.zrange("dst", 0, -1) == ["old"]
assert watched(["z", "dst"], lambda: r2.rename("z", "dst"))
assert r1.exists("z") == 0
assert r1.zrange("dst", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
# Renamed away and back by the other server: still a change.
assert watched(["dst"], lambda: (r2.rename("dst", "t"), r2.rename("t", "dst")))
# A change that changes nothing is not one; a ZADD is.
assert not watched(["dst"], lambda: r2.zadd("dst", {"a": 1}))
assert watched(["dst"], lambda: r2.zadd("dst", {"c": 3}))
# RENAMENX onto a set the first has open, from a stream: refused.
r2.xadd("s", {"f": "v"}, id="1-0")
assert r2.renamenx("s", "dst") is False
assert not watched(["dst"], lambda: r2.renamenx("s", "dst"))
# RENAME: the stream replaces the set, for the first server too.
assert watched(["dst"], lambda: r2.rename("s", "dst"))
assert r1.type("dst") == "stream"
assert r1.xlen("dst") == 1
try:
    r1.zcard("dst")
    raise AssertionError("ZCARD of a stream")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
# And a set renamed by the first over the stream the second has open.
r1.zadd("z2", {"m": 5})
assert r2.xlen("dst") == 1
assert r1.rename("z2", "dst")
assert r2.type("dst") == "zset"
assert r2.zrange("dst", 0, -1) == ["m"]
assert r2.dbsize() == 1
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
	# The tools see the set too.
	run "$MQ_BIN/mq-xrange" dst
	[ "$status" -eq 65 ]
	[[ "$output" == *"holds another type"* ]]
}

@test "DEL of streams logged to just before: the tools do not bring them back" {
	require_spool_server mq-xinfo
	for i in 1 2 3; do
		cli XADD "k$i" '*' f v > /dev/null
		cli XADD "k$i" '*' f v > /dev/null
		[ "$(cli DEL "k$i")" = 1 ]
		run "$MQ_BIN/mq-xinfo" --spool "$MQ_SPOOL" "k$i"
		[ "$status" -eq 66 ]
		[ "$output" = "mq-xinfo: k$i: no such stream" ]
	done
	[ "$(cli EXISTS k1 k2 k3)" = 0 ]
}
