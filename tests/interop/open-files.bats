#!/usr/bin/env bats
# open-files.bats - mq-serve within its limit on open files: it raises the
# soft limit to the hard one at start, lowers maxclients when the limit
# cannot hold them (as redis-server does), and keeps the streams, groups
# and sorted sets it has open within a bound, closing the least recently
# used ones that nothing uses, while a held group, a blocked reader and
# the run of appends keep theirs.  Under `ulimit -n 1024` it serves
# 100,000 streams, and a restart reads them all back.  Its inotify
# watches are as many as the streams waited on.
#
# The rule (mq-serve(8), OPEN FILES): 64 descriptors for the server,
# maxclients one each, the rest for the cache: at least 64 streams of 6.

load lib.sh

setup() {
	interop_setup || return 1
	require_serve || return 1
	if [ -n "${MQ_SERVE_CMD:-}" ]; then
		skip "tests the limits of mq-serve itself, not of MQ_SERVE_CMD"
	fi
}

# info_field NAME: the value of field NAME of INFO.
info_field() {
	cli INFO | tr -d '\r' | sed -n "s/^$1://p"
}

# blocked_clients_is N: INFO clients says N clients are blocked.
blocked_clients_is() {
	[ "$(info_field blocked_clients)" = "$1" ]
}

# watches: how many inotify watches mq-serve has.
watches() {
	local fd
	for fd in /proc/"$MQ_PID"/fd/*; do
		if [ "$(readlink "$fd")" = 'anon_inode:inotify' ]; then
			grep -c '^inotify wd:' /proc/"$MQ_PID"/fdinfo/"${fd##*/}"
			return
		fi
	done
	echo 'no inotify descriptor' >&2
	return 1
}

# files_limit SOFT [HARD]: sets this test's limits on open files (and so
# those of the mq-serve it starts), or skips the test where the hard
# limit is below what it needs and may not be raised.
files_limit() {
	local hard=${2:-$1} now
	now=$(ulimit -H -n)
	if [ "$now" != unlimited ] && [ "$now" -lt "$hard" ] &&
	    ! ulimit -H -n "$hard" 2>/dev/null; then
		skip "the hard limit on open files is $now, below $hard"
	fi
	ulimit -S -n "$1"
	ulimit -H -n "$hard"
}

# watches_are N: mq-serve has N inotify watches.
watches_are() {
	[ "$(watches)" = "$1" ]
}

# streams_py: writes streams.py, the client of the 100,000 streams:
# streams.py PORT write|read FILE.  "write" appends to each stream "s:I"
# one to three entries, over three rounds (each stream, every second,
# every third), so that streams closed for room are opened again by name
# to be appended to, and saves what each got in FILE; "read" reads every
# stream whole and compares.  Both pipeline 2,000 commands at a time and
# check after each batch that INFO's open streams are within their bound.
streams_py() {
	cat > streams.py <<'PY'
import json, sys, redis

port, mode, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
N, CHUNK = 100000, 2000
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)

def within_bound():
	st = r.info("stats")
	assert st["mq_open_streams"] <= st["mq_open_streams_max"], st
	assert st["mq_open_files_cached"] <= st["mq_open_files_cached_max"], st

def batches(items):
	batch = []
	for item in items:
		batch.append(item)
		if len(batch) == CHUNK:
			yield batch
			batch = []
	if batch:
		yield batch

def appends():
	for rnd, every in enumerate((1, 2, 3)):
		for i in range(0, N, every):
			yield i, "%d.%d" % (i, rnd)

if mode == "write":
	expected = [[] for i in range(N)]
	for batch in batches(appends()):
		p = r.pipeline(transaction=False)
		for i, v in batch:
			p.xadd("s:%d" % i, {"v": v})
		for (i, v), ident in zip(batch, p.execute()):
			expected[i].append([ident.decode(), v])
		within_bound()
	with open(path, "w") as f:
		json.dump(expected, f)
else:
	with open(path) as f:
		expected = json.load(f)
	for batch in batches(range(N)):
		p = r.pipeline(transaction=False)
		for i in batch:
			p.xrange("s:%d" % i, "-", "+")
		for i, got in zip(batch, p.execute()):
			got = [[ident.decode(), f[b"v"].decode()] for ident, f in got]
			assert got == expected[i], (i, got, expected[i])
		within_bound()
	assert r.dbsize() == N, r.dbsize()
PY
}

@test "open files: the soft limit is raised to the hard one, and the log says so" {
	files_limit 600 2048
	mq_up --maxclients 100
	# 2048 - 64 for the server - 100 for the clients, in streams of 4.
	grep -q ' open files: 2048 (raised from 600): 100 for clients, 1884 for open streams (471 at most)$' "$MQ_SPOOL.log"
	[ "$(awk '/^Max open files/ { print $4 }' /proc/"$MQ_PID"/limits)" = 2048 ]
	[ "$(info_field mq_open_files_limit)" = 2048 ]
	[ "$(info_field maxclients)" = 100 ]
	[ "$(info_field mq_open_streams_max)" = 471 ]
}

@test "open files: maxclients is lowered to what the limit holds, and the log says so" {
	files_limit 1024
	mq_up
	# 1024 - 64 for the server - 64 streams of 4 for the cache.
	grep -q ' open files: 1024 (the hard limit): --maxclients 10000 needs 10320, maxclients lowered to 704 ' "$MQ_SPOOL.log"
	run cli CONFIG GET maxclients
	[ "$output" = "$(printf 'maxclients\n704')" ]
	[ "$(info_field maxclients)" = 704 ]
	[ "$(info_field mq_open_streams_max)" = 64 ]
	[ "$(info_field mq_open_files_cached_max)" = 256 ]
}

@test "open files: a limit that cannot hold one client stops the start with 75" {
	files_limit 300
	run timeout 10 "$MQ_BIN/mq-serve" --spool spool --resp 127.0.0.1:0 \
	    --amqp off < /dev/null
	[ "$status" -eq 75 ]
	[ "$output" = "mq-serve: the limit on open files is 300: mq-serve needs 321 at least; raise it (ulimit -n)" ]
}

@test "open files: under ulimit -n 1024, 100,000 streams are written, and read back after a restart" {
	files_limit 1024
	streams_py
	mq_up
	"$MQ_PYTHON" streams.py "$MQ_PORT" write expected
	stop "$MQ_PID"
	start_mq "$MQ_PORT" "$MQ_SPOOL"
	wait_port "$MQ_PORT" "$MQ_PID"
	"$MQ_PYTHON" streams.py "$MQ_PORT" read expected
	# The writes went through the write-ahead log, opening nothing; the
	# reads opened every stream, past the bound of the cache.
	[ "$(info_field mq_cache_evictions)" -gt 0 ]
	# The keyspace lists them: DBSIZE, and a whole SCAN of 10,000
	# calls, each key once (the listing is kept from call to call).
	[ "$(cli DBSIZE)" = 100000 ]
	# (The bound only keeps a scan that lists the spool at every call
	# from holding the run for an hour.)
	timeout 300 redis-cli -h 127.0.0.1 -p "$MQ_PORT" --scan > scanned
	[ "$(wc -l < scanned)" -eq 100000 ]
	[ "$(sort -u scanned | wc -l)" -eq 100000 ]
}

# held_py: writes held.py PORT PID, which checks that a run of group
# commands holding the groups of three times the bound of streams, and
# readers blocked on more streams than the bound, all work while the
# cache closes other streams for room.
held_py() {
	cat > held.py <<'PY'
import sys, time, redis
from redis.connection import Connection

port, pid = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
bound = r.info("stats")["mq_open_streams_max"]

def watches():
	for fd in __import__("os").listdir("/proc/%d/fd" % pid):
		if __import__("os").readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:inotify":
			with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
				return sum(1 for l in f if l.startswith("inotify wd:"))
	raise AssertionError("no inotify descriptor")

def wait_for(what, cond):
	end = time.monotonic() + 10
	while not cond():
		assert time.monotonic() < end, "gave up waiting for " + what
		time.sleep(0.02)

def within_bound():
	st = r.info("stats")
	assert st["mq_open_streams"] <= st["mq_open_streams_max"], st

# One pipeline of XREADGROUP and XACK over 3 x bound streams: a run that
# holds each group it changes, while the streams it started with are
# closed for room.
n = 3 * bound
p = r.pipeline(transaction=False)
for i in range(n):
	p.xgroup_create("g:%d" % i, "g", id="0", mkstream=True)
	p.xadd("g:%d" % i, {"v": "1"}, id="1-1")
	p.xadd("g:%d" % i, {"v": "2"}, id="2-1")
p.execute()
p = r.pipeline(transaction=False)
for i in range(n):
	p.xreadgroup("g", "c", {"g:%d" % i: ">"}, count=1)
for i in range(n):
	p.xack("g:%d" % i, "g", "1-1")
res = p.execute()
for i in range(n):
	assert res[i] == [[b"g:%d" % i, [(b"1-1", {b"v": b"1"})]]], (i, res[i])
assert res[n:] == [1] * n, res[n:]
p = r.pipeline(transaction=False)
for i in range(n):
	p.xpending("g:%d" % i, "g")
	p.xreadgroup("g", "c", {"g:%d" % i: ">"}, count=1)
res = p.execute()
for i in range(n):
	assert res[2 * i]["pending"] == 0, (i, res[2 * i])
	assert res[2 * i + 1] == [[b"g:%d" % i, [(b"2-1", {b"v": b"2"})]]], (i, res[2 * i + 1])
within_bound()

# Readers blocked on more streams than the bound (what the limit holds
# of streams with a group): each stays watched (its directory and its
# groups/) while they wait, but not open: the cache stays within its
# bound whatever 3 x bound other streams need.
k = bound + 8
base = watches()
for j in range(k):
	r.xgroup_create("b:%d" % j, "g", id="$", mkstream=True)
readers = []
for j in range(k):
	c = Connection(host="127.0.0.1", port=port, socket_timeout=30)
	c.send_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
	    "STREAMS", "b:%d" % j, ">")
	readers.append(c)
wait_for("the readers to block", lambda: r.info("clients")["blocked_clients"] == k)
assert watches() == base + 2 * k, (watches(), base, k)
p = r.pipeline(transaction=False)
for j in range(n):
	p.xadd("o:%d" % j, {"v": "o"})
p.execute()
within_bound()
for j in range(k):
	r.xadd("b:%d" % j, {"v": "%d" % j})
for j, c in enumerate(readers):
	got = c.read_response()
	assert got[0][0] == b"b:%d" % j and got[0][1][0][1] == [b"v", b"%d" % j], (j, got)
	c.disconnect()
wait_for("the readers to be served", lambda: r.info("clients")["blocked_clients"] == 0)
# None waits: no watch is left, and the next open trims the cache.
assert watches() == base, (watches(), base)
r.xadd("last", {"v": "1"})
r.xlen("last")
within_bound()
PY
}

@test "open files: a run holding groups across 3 x the bound of streams, and readers blocked on more than the bound, all work" {
	files_limit 1024
	held_py
	mq_up
	"$MQ_PYTHON" held.py "$MQ_PORT" "$MQ_PID"
}

@test "open files: a stream that no one waits on any more keeps no inotify watch" {
	mq_up
	cli XADD s '*' v 1 > /dev/null
	base=$(watches)
	# Served by a timeout.
	background read.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREAD BLOCK 300 STREAMS s '$'
	wait_until blocked_clients_is 1
	[ "$(watches)" -eq $((base + 1)) ]
	wait_until blocked_clients_is 0
	wait_until watches_are "$base"
	# Gone: its client closed the connection.
	cli XGROUP CREATE s g '$' > /dev/null
	background group.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" XREADGROUP GROUP g c BLOCK 0 STREAMS s '>'
	wait_until blocked_clients_is 1
	[ "$(watches)" -eq $((base + 2)) ]
	kill "$BG_PID"
	wait_until blocked_clients_is 0
	wait_until watches_are "$base"
}

@test "open files: sorted sets past the bound are closed for room and opened again by name" {
	files_limit 1024
	mq_up
	n=$(( $(info_field mq_open_files_cached_max) / 2 * 3 ))
	"$MQ_PYTHON" - "$MQ_PORT" "$n" <<'PY'
import sys, redis
port, n = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
for rnd in range(2):
	p = r.pipeline(transaction=False)
	for i in range(n):
		p.zadd("z:%d" % i, {"m%d" % rnd: i})
	assert p.execute() == [1] * n
	st = r.info("stats")
	assert st["mq_open_files_cached"] <= st["mq_open_files_cached_max"], st
p = r.pipeline(transaction=False)
for i in range(n):
	p.zrange("z:%d" % i, 0, -1, withscores=True)
for i, got in enumerate(p.execute()):
	assert got == [(b"m0", float(i)), (b"m1", float(i))], (i, got)
PY
	[ "$(info_field mq_cache_evictions)" -gt 0 ]
}

@test "open files: AMQP consumers on more queues than the cache holds are served, and handed back, within its bound" {
	files_limit 1024
	AMQP_PORT=$(free_port)
	mq_up --amqp "127.0.0.1:$AMQP_PORT"
	# Three times the queues (a stream and a group each) the cache holds.
	n=$(( $(info_field mq_open_files_cached_max) / 8 * 3 ))
	"$MQ_PYTHON" - "$AMQP_PORT" "$MQ_PORT" "$n" <<'PY'
import sys, time, pika, redis
port, rport, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = redis.Redis(host="127.0.0.1", port=rport, socket_timeout=30)
def within_bound():
	st = r.info("stats")
	assert st["mq_open_files_cached"] <= st["mq_open_files_cached_max"], st
c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
ch = c.channel()
for i in range(n):
	ch.queue_declare(queue="q%d" % i)
	ch.basic_publish(exchange="", routing_key="q%d" % i, body="m%d" % i)
got = []
for i in range(n):
	ch.basic_consume("q%d" % i, lambda chx, m, p, body: got.append(body))
end = time.time() + 60
while len(got) < n and time.time() < end:
	c.process_data_events(time_limit=0.5)
assert sorted(got) == sorted(b"m%d" % i for i in range(n)), len(got)
within_bound()
# Its close hands every delivery back, one queue after another.
ch.close()
within_bound()
ch = c.channel()
for i in range(n):
	m, _, body = ch.basic_get("q%d" % i, auto_ack=True)
	assert m is not None and m.redelivered and body == b"m%d" % i, (i, m)
within_bound()
print("ok")
PY
	! grep "Too many open files" "$MQ_SPOOL.log"
}
