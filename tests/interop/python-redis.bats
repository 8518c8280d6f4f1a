#!/usr/bin/env bats
# python-redis.bats - Debian's python3-redis (redis-py) against mq-serve:
# streams, consumer groups, pub/sub, pipelines and MULTI/EXEC, RESP3.
# Each test is a small script run by $MQ_PYTHON with the port as its
# argument; it prints "ok" at its end and fails with a traceback.

load lib.sh

setup() {
	interop_setup || return 1
	"$MQ_PYTHON" -c 'import redis' || {
		echo "$MQ_PYTHON has no redis module: sh scripts/install-deps.sh --test" >&2
		return 1
	}
	mq_up
}

# py: runs the script on stdin with the port of the server under test.
py() {
	run "$MQ_PYTHON" - "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

@test "python-redis: connect with a client name, ping, echo" {
	py <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), client_name="worker-1",
		decode_responses=True)
assert r.ping() is True
assert r.echo("héllo") == "héllo"
assert r.client_getname() == "worker-1"
print("ok")
PY
}

@test "python-redis: streams: xadd, xlen, xrange, xrevrange, xread, xdel, xtrim" {
	py <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.xadd("s", {"a": "1"}, id="1-0") == "1-0"
i2 = r.xadd("s", {"b": "2", "c": "3"})
i3 = r.xadd("s", {"d": "4"}, maxlen=1000, approximate=True)
assert r.xlen("s") == 3
assert r.xrange("s") == [("1-0", {"a": "1"}), (i2, {"b": "2", "c": "3"}), (i3, {"d": "4"})]
assert r.xrange("s", min="(1-0", count=1) == [(i2, {"b": "2", "c": "3"})]
assert r.xrevrange("s", count=1) == [(i3, {"d": "4"})]
assert r.xread({"s": "0"}, count=2) == [["s", [("1-0", {"a": "1"}), (i2, {"b": "2", "c": "3"})]]]
assert r.xread({"s": "$"}, block=50) == []
assert r.xread({"s": i3, "nosuch": "0"}) == []
assert r.xdel("s", "1-0", "9-9") == 1
assert r.xtrim("s", maxlen=1, approximate=False) == 1
assert r.xrange("s") == [(i3, {"d": "4"})]
# Binary values come back as sent.
raw = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
v = bytes(range(256)) + b"\r\n"
i = raw.xadd("bin", {b"k\x00": v})
assert raw.xrange("bin") == [(i, {b"k\x00": v})]
try:
	r.xadd("s", {"x": "y"}, id="1-0")
	raise SystemExit("XADD below the top succeeded")
except redis.ResponseError as e:
	assert str(e) == "The ID specified in XADD is equal or smaller than the target stream top item", e
print("ok")
PY
}

@test "python-redis: an xread block is woken by an xadd of another connection" {
	py <<'PY'
import sys, threading, redis
port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
first = r.xadd("s", {"n": "1"})
got = []
def reader():
	c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
	got.append(c.xread({"s": first}, block=10000))
t = threading.Thread(target=reader)
t.start()
second = r.xadd("s", {"n": "2"})
t.join(15)
assert got == [[["s", [(second, {"n": "2"})]]]], got
print("ok")
PY
}

@test "python-redis: consumer groups: create, read, pending, claim, autoclaim, ack, info" {
	py <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.xgroup_create("q", "g", id="0", mkstream=True) is True
try:
	r.xgroup_create("q", "g", id="0")
	raise SystemExit("second XGROUP CREATE succeeded")
except redis.ResponseError as e:
	assert str(e) == "BUSYGROUP Consumer Group name already exists", e
ids = [r.xadd("q", {"n": str(i)}) for i in range(4)]
got = r.xreadgroup("g", "c1", {"q": ">"}, count=3, block=100)
assert got == [["q", [(ids[i], {"n": str(i)}) for i in range(3)]]], got
assert r.xreadgroup("g", "c2", {"q": ">"}, count=10) == [["q", [(ids[3], {"n": "3"})]]]
assert r.xreadgroup("g", "c2", {"q": ">"}, block=50) == []
# Own pending entries again, from id 0.
assert r.xreadgroup("g", "c2", {"q": "0"}) == [["q", [(ids[3], {"n": "3"})]]]
p = r.xpending("q", "g")
assert p == {"pending": 4, "min": ids[0], "max": ids[3],
	     "consumers": [{"name": "c1", "pending": 3}, {"name": "c2", "pending": 1}]}, p
rows = r.xpending_range("q", "g", "-", "+", 10)
assert [(x["message_id"], x["consumer"], x["times_delivered"]) for x in rows] == \
	[(ids[0], "c1", 1), (ids[1], "c1", 1), (ids[2], "c1", 1), (ids[3], "c2", 2)], rows
assert all(x["time_since_delivered"] >= 0 for x in rows)
rows = r.xpending_range("q", "g", "-", "+", 10, consumername="c2")
assert [x["message_id"] for x in rows] == [ids[3]]
assert r.xpending_range("q", "g", "-", "+", 10, idle=100000000) == []
assert r.xclaim("q", "g", "c3", 0, [ids[0]]) == [(ids[0], {"n": "0"})]
assert r.xclaim("q", "g", "c3", 0, [ids[1]], justid=True) == [ids[1]]
assert r.xclaim("q", "g", "c3", 100000000, [ids[2]]) == []
ac = r.xautoclaim("q", "g", "c4", 0, "0-0", count=1)
assert ac[0] == ids[1] and ac[1] == [(ids[0], {"n": "0"})], ac
assert r.xautoclaim("q", "g", "c4", 0, ids[1], justid=True) == [ids[1], ids[2], ids[3]]
groups = r.xinfo_groups("q")
assert groups == [{"name": "g", "consumers": 4, "pending": 4, "last-delivered-id": ids[3],
		   "entries-read": 4, "lag": 0}], groups
cons = r.xinfo_consumers("q", "g")
assert [(c["name"], c["pending"]) for c in cons] == [("c1", 0), ("c2", 0), ("c3", 0), ("c4", 4)], cons
info = r.xinfo_stream("q")
assert info["length"] == 4 and info["groups"] == 1, info
assert info["first-entry"] == (ids[0], {"n": "0"}) and info["last-entry"] == (ids[3], {"n": "3"})
assert r.xack("q", "g", *ids) == 4
assert r.xpending("q", "g")["pending"] == 0
assert r.xgroup_createconsumer("q", "g", "c5") == 1
assert r.xgroup_delconsumer("q", "g", "c5") == 0
assert r.xgroup_setid("q", "g", "0") is True
assert len(r.xreadgroup("g", "c1", {"q": ">"})[0][1]) == 4
assert r.xgroup_destroy("q", "g") == 1
try:
	r.xreadgroup("g", "c1", {"q": ">"})
	raise SystemExit("XREADGROUP on a destroyed group succeeded")
except redis.ResponseError as e:
	assert str(e).startswith("NOGROUP No such key 'q' or consumer group 'g'"), e
print("ok")
PY
}

@test "python-redis: pub/sub: subscribe, psubscribe, publish counts, pubsub numsub/numpat/channels" {
	py <<'PY'
import sys, time, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
p = r.pubsub()

def next_message(kind):
	deadline = time.monotonic() + 10
	while time.monotonic() < deadline:
		m = p.get_message(timeout=0.1)
		if m is not None:
			assert m["type"] == kind, (kind, m)
			return m
	raise SystemExit("no %s within 10 s" % kind)

assert r.publish("news", "nobody") == 0
p.subscribe("news", "sport")
assert next_message("subscribe")["channel"] == "news"
assert next_message("subscribe")["data"] == 2
p.psubscribe("n*")
assert next_message("psubscribe") == {"type": "psubscribe", "pattern": None, "channel": "n*", "data": 3}
assert r.publish("news", "hello") == 2
assert r.publish("nature", "tree") == 1
assert r.publish("weather", "rain") == 0
assert next_message("message") == {"type": "message", "pattern": None, "channel": "news", "data": "hello"}
assert next_message("pmessage") == {"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello"}
assert next_message("pmessage") == {"type": "pmessage", "pattern": "n*", "channel": "nature", "data": "tree"}
assert r.pubsub_numsub("news", "weather") == [("news", 1), ("weather", 0)]
assert r.pubsub_numpat() == 1
assert sorted(r.pubsub_channels()) == ["news", "sport"]
p.unsubscribe()
p.punsubscribe()
# One confirmation per channel, in an order of the server's choosing.
got = [p.get_message(timeout=5) for _ in range(3)]
assert None not in got, got
kinds = sorted((m["type"], m["channel"]) for m in got)
assert kinds == [("punsubscribe", "n*"), ("unsubscribe", "news"), ("unsubscribe", "sport")], kinds
assert r.publish("news", "gone") == 0
assert r.pubsub_numpat() == 0
p.close()
print("ok")
PY
}

# PUBLISH joins the run of appends and counts receivers from the server's
# router: a subscription (of any process) counts as soon as it was
# confirmed, a bound queue gets its copy, replies keep their order.
@test "python-redis: pipelined PUBLISH reaches subscribers and bound queues" {
	"$MQ_BIN/mq-subscribe" -q -Q q1 'ch' > /dev/null
	py <<'PY'
import sys, time, redis
port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
assert r.publish("ch", "to the queue only") == 1
p = r.pubsub()
p.subscribe("ch")
m = p.get_message(timeout=5)
assert m["type"] == "subscribe", m
pipe = r.pipeline(transaction=False)
for i in range(200):
	pipe.publish("ch", str(i))
	if i == 100:
		pipe.xlen("q1")
res = pipe.execute()
assert res[:101] == [2] * 101 and res[101] == 102 and res[102:] == [2] * 99, res
got = []
deadline = time.monotonic() + 10
while len(got) < 200 and time.monotonic() < deadline:
	m = p.get_message(timeout=0.1)
	if m is not None:
		got.append(m["data"])
assert got == [str(i) for i in range(200)], got[:5]
assert r.xlen("q1") == 201
p.close()
print("ok")
PY
}

# When only mq-serve's own clients listen, a PUBLISH goes to no log: the
# server hands it over itself.  An mq-subscribe joining makes it go
# through the exchange again; the order seen by the server's subscriber
# never changes.
@test "python-redis: PUBLISH reaches this server's and other processes' subscribers in order" {
	py <<'PY'
import os, subprocess, sys, time, redis
port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
p = r.pubsub()
p.subscribe("ch")
assert p.get_message(timeout=5)["type"] == "subscribe"
def publish(lo, hi, want):
	for i in range(lo, hi):
		assert r.publish("ch", str(i)) == want
publish(0, 50, 1)
cli = subprocess.Popen([os.environ["MQ_BIN"] + "/mq-subscribe", "ch"],
    stdout=open("cli.out", "w"))
deadline = time.monotonic() + 10
while r.publish("ch", "probe") != 2:
	assert time.monotonic() < deadline, "mq-subscribe never counted"
	time.sleep(0.01)
publish(50, 100, 2)
# SIGTERM stops it at once: first let it print what was published to it.
def printed():
	lines = open("cli.out").read().splitlines()
	return [l for l in lines if not l.endswith("\tprobe")]
deadline = time.monotonic() + 10
while len(printed()) < 50:
	assert time.monotonic() < deadline, "mq-subscribe printed too little"
	time.sleep(0.01)
cli.terminate()
cli.wait()
deadline = time.monotonic() + 10
while r.publish("ch", "probe") != 1:
	assert time.monotonic() < deadline, "mq-subscribe still counted"
	time.sleep(0.01)
publish(100, 150, 1)
got = []
deadline = time.monotonic() + 10
while len(got) < 150 and time.monotonic() < deadline:
	m = p.get_message(timeout=0.1)
	if m is not None and m["data"] != "probe":
		got.append(m["data"])
assert got == [str(i) for i in range(150)], got
# mq-subscribe prints "topic<TAB>body".
seen = [l.split("\t")[-1] for l in open("cli.out").read().splitlines()]
seen = [b for b in seen if b != "probe"]
assert seen == [str(i) for i in range(50, 100)], seen
p.close()
print("ok")
PY
}

# A PUBLISH waits in the run of appends for its reply; a client that
# hangs up before the reply must still have published.
@test "python-redis: a PUBLISH from a client that hangs up at once is delivered" {
	py <<'PY'
import socket, sys, time, redis
port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
p = r.pubsub()
p.subscribe("ch")
assert p.get_message(timeout=5)["type"] == "subscribe"
for i in range(20):
	s = socket.create_connection(("127.0.0.1", port))
	s.sendall(b"PUBLISH ch m%d\r\n" % i)
	s.close()
got = []
deadline = time.monotonic() + 10
while len(got) < 20 and time.monotonic() < deadline:
	m = p.get_message(timeout=0.1)
	if m is not None:
		got.append(m["data"])
assert got == ["m%d" % i for i in range(20)], got
p.close()
print("ok")
PY
}

@test "python-redis: pipeline without and with MULTI/EXEC" {
	py <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
pipe = r.pipeline(transaction=False)
for i in range(1, 101):
	pipe.xadd("s", {"n": str(i)}, id="%d-0" % i)
pipe.xlen("s")
res = pipe.execute()
assert res[:2] == ["1-0", "2-0"] and res[-1] == 100, res[-3:]
with r.pipeline() as tx:
	tx.xadd("s", {"n": "x"}, id="200-0")
	tx.xdel("s", "1-0")
	tx.xlen("s")
	assert tx.execute() == ["200-0", 1, 100]
# An error inside a transaction is returned in its place.
with r.pipeline() as tx:
	tx.xadd("s", {"n": "y"}, id="1-0")
	tx.xlen("s")
	res = tx.execute(raise_on_error=False)
	assert isinstance(res[0], redis.ResponseError) and res[1] == 100, res
print("ok")
PY
}

# mq-serve appends a run of plain XADDs as one batch per stream; what a
# client sees must not change: replies in order, every command after the
# run sees it, one entry too big fails alone.
@test "python-redis: pipelined XADDs across streams and connections" {
	"$MQ_BIN/mq-queue" a --max-msg 64
	py <<'PY'
import sys, threading, redis
port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
def key(i):
	ms, seq = i.split("-")
	return (int(ms), int(seq))
pipe = r.pipeline(transaction=False)
pipe.xadd("a", {"n": "1"})
pipe.xadd("b", {"n": "1"})
pipe.xadd("a", {"n": "2"})
pipe.xlen("a")
pipe.xadd("a", {"n": "x" * 100})
pipe.xadd("a", {"n": "3"})
pipe.xrange("a")
res = pipe.execute(raise_on_error=False)
a1, b1, a2, n, big, a3, rng = res
assert key(a1) < key(a2) < key(a3), res
assert n == 2, res
assert isinstance(big, redis.ResponseError) and "too large" in str(big), big
assert [i for i, _ in rng] == [a1, a2, a3], rng
assert r.xrange("b") == [(b1, {"n": "1"})]
# Eight connections pipelining 500 each, at once.
got = {}
def producer(k):
	c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
	p = c.pipeline(transaction=False)
	for i in range(500):
		p.xadd("many", {"who": str(k), "i": str(i)})
	got[k] = p.execute()
ts = [threading.Thread(target=producer, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
assert r.xlen("many") == 4000
for k, ids in got.items():
	assert [key(i) for i in ids] == sorted(key(i) for i in ids), k
entries = r.xrange("many")
assert len({i for i, _ in entries}) == 4000
for k, ids in got.items():
	mine = [(i, int(f["i"])) for i, f in entries if f["who"] == str(k)]
	assert [i for i, _ in mine] == ids and [n for _, n in mine] == list(range(500))
print("ok")
PY
}

# mq-serve holds a group's lock through a run of group commands; a CLI
# consumer of the same group must still get its share, and no entry twice.
@test "python-redis: RESP consumers and mq-xreadgroup share one group" {
	seq 1 20000 | "$MQ_BIN/mq-xadd" -q s
	redis-cli -p "$MQ_PORT" xgroup create s g 0
	( "$MQ_BIN/mq-xreadgroup" -c 7 g cli s | tee cli.out | "$MQ_BIN/mq-ack" s g ) &
	cli=$!
	py <<'PY'
import sys, threading, redis
port = int(sys.argv[1])
got = {}
def consumer(k):
	c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
	mine = got.setdefault(k, [])
	while True:
		p = c.pipeline(transaction=False)
		for _ in range(8):
			p.xreadgroup("g", "r%d" % k, {"s": ">"}, count=5)
		ids = [i for res in p.execute() for _, entries in res for i, _ in entries]
		if not ids:
			break
		mine.extend(ids)
		assert c.xack("s", "g", *ids) == len(ids)
ts = [threading.Thread(target=consumer, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
with open("resp.out", "w") as f:
	for ids in got.values():
		for i in ids:
			f.write(i + "\n")
print("ok")
PY
	wait $cli
	cut -f1 cli.out > cli.ids
	# Every entry once, shared between the two doors.
	[ "$(cat cli.ids resp.out | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(cat cli.ids resp.out | wc -l)" -eq 20000 ]
	[ -s resp.out ]
	run redis-cli -p "$MQ_PORT" xpending s g
	[ "${lines[0]}" = 0 ]
}

@test "python-redis: RESP3 (protocol=3)" {
	if ! "$MQ_PYTHON" -c 'import inspect, redis, sys
sys.exit("protocol" not in inspect.signature(redis.Redis.__init__).parameters)'; then
		skip "python3-redis $("$MQ_PYTHON" -c 'import redis; print(redis.__version__)') has no protocol=3 (RESP3 came in redis-py 5.0)"
	fi
	py <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), protocol=3, decode_responses=True)
assert r.ping()
i = r.xadd("s", {"a": "1"}, id="1-0")
assert r.xread({"s": "0"}) in ({"s": [[("1-0", {"a": "1"})]]}, {"s": [("1-0", {"a": "1"})]}, [["s", [("1-0", {"a": "1"})]]])
assert r.xinfo_stream("s")["length"] == 1
p = r.pubsub()
p.subscribe("news")
assert r.publish("news", "hi") == 1
print("ok")
PY
}
