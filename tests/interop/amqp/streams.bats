#!/usr/bin/env bats
# streams.bats - the AMQP door's stream queues (x-queue-type stream) with
# pika: what a declare must be and what it refuses, consumers starting
# at first, next, last, an offset and a timestamp, each delivery's
# x-stream-offset header, consumers reading independently with acks that
# only give room, a waiting consumer woken by appends of every door,
# replay after a restart, retention arguments as the stream's policy, and
# the methods a stream refuses, each in RabbitMQ 3.10's words.

load ../lib.sh
load amqp.sh

# STREAM_PRELUDE: declare(name) makes a stream queue; publish(name, n,
# first) publishes bodies "m<first>".."m<first+n-1>" with confirms;
# take(name, n, offset) reads n deliveries from a new consumer on a new
# channel (prefetch 100, acked) and returns [(body, x-stream-offset)].
STREAM_PRELUDE='
S = {"x-queue-type": "stream"}
def declare(name, **kw):
	return ch.queue_declare(name, durable=True, arguments=dict(S, **kw))
def publish(name, n, first=0):
	pc = c.channel()
	pc.confirm_delivery()
	for i in range(first, first + n):
		pc.basic_publish("", name, "m%d" % i)
	pc.close()
def take(name, n, offset=None, prefetch=100):
	tc = c.channel()
	tc.basic_qos(prefetch_count=prefetch)
	got = []
	def cb(cc, m, props, body):
		got.append((body.decode(), props.headers["x-stream-offset"]))
		cc.basic_ack(m.delivery_tag)
	args = {} if offset is None else {"x-stream-offset": offset}
	tag = tc.basic_consume(name, cb, arguments=args)
	pump(c, lambda: len(got) >= n)
	tc.basic_cancel(tag)
	tc.close()
	return got
def expect(first, last):
	return [("m%d" % i, i) for i in range(first, last + 1)]
'


@test "amqp streams: a declare must be durable, not exclusive, auto-delete nor server-named" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
pre = "PRECONDITION_FAILED - "
def bad(text, name="s", **kw):
	global ch
	refused(lambda: ch.queue_declare(name, arguments=S, **kw), 406,
	    pre + text)
	ch = c.channel()
bad("invalid property 'non-durable' for queue 's' in vhost '/'")
bad("invalid property 'exclusive-owner' for queue 's' in vhost '/'",
    durable=True, exclusive=True)
bad("invalid property 'auto-delete' for queue 's' in vhost '/'",
    durable=True, exclusive=True, auto_delete=True)
bad("Cannot declare a server-named queue for type rabbit_stream_queue",
    name="", durable=True)
for arg, v in (("x-message-ttl", 5), ("x-max-length", 5),
    ("x-overflow", "drop-head"), ("x-dead-letter-exchange", "x"),
    ("x-max-priority", 5), ("x-expires", 5000), ("x-delivery-limit", 5),
    ("x-single-active-consumer", True)):
	refused(lambda: declare("s", **{arg: v}), 406, pre + "invalid arg "
	    "'%s' for queue 's' in vhost '/' of queue type rabbit_stream_queue"
	    % arg)
	ch = c.channel()
refused(lambda: declare("s", **{"x-max-age": "1X"}), 406, pre +
    "invalid arg 'x-max-age' for queue 's' in vhost '/': invalid_max_age")
ch = c.channel()
refused(lambda: declare("s", **{"x-max-age": 5}), 406, pre +
    "invalid arg 'x-max-age' for queue 's' in vhost '/': "
    "{unacceptable_type,signedint}")
ch = c.channel()
ok = declare("s")
assert (ok.method.message_count, ok.method.consumer_count) == (0, 0)
# A redeclaration compares the type both ways.
refused(lambda: ch.queue_declare("s", durable=True), 406, pre +
    "inequivalent arg 'x-queue-type' for queue 's' in vhost '/': received "
    "none but current is the value 'stream' of type 'longstr'")
ch = c.channel()
ch.queue_declare("classic", durable=True)
refused(lambda: declare("classic"), 406, pre + "inequivalent arg "
    "'x-queue-type' for queue 'classic' in vhost '/': received the value "
    "'stream' of type 'longstr' but current is none")
ch = c.channel()
# message-count is what the stream holds.
publish("s", 3)
pump(c, lambda: ch.queue_declare("s", passive=True).method.message_count == 3)
assert declare("s").method.message_count == 3
print("ok")
PY
	# The stream has no group: nothing is taken from it.
	[ -z "$(redis-cli -p "$MQ_PORT" XINFO GROUPS s)" ]
	[ "$(redis-cli -p "$MQ_PORT" XLEN s)" = 3 ]
}

@test "amqp streams: consumers start at first, next, last, an offset or a timestamp" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
import datetime
declare("st")
publish("st", 5)
assert take("st", 5, "first") == expect(0, 4)
assert take("st", 2, 3) == expect(3, 4)
# Below the first offset is the first.
assert take("st", 5, -7) == expect(0, 4)
# "last" is the newest entry.
assert take("st", 1, "last") == expect(4, 4)
hour = datetime.timedelta(hours=1)
assert take("st", 5, datetime.datetime.now() - hour) == expect(0, 4)

# "next", the default, and a timestamp to come get only what comes later
# (as RabbitMQ, which attaches at the end when no entry is that new); an
# offset past the end gets it once the stream reaches it.
def later(offset):
	lc = c.channel()
	lc.basic_qos(prefetch_count=10)
	got = []
	lc.basic_consume("st", lambda cc, m, p, b: got.append(b.decode()),
	    arguments={} if offset is None else {"x-stream-offset": offset})
	return got
waiting = [later(None), later("next"), later(datetime.datetime.now() + hour),
    later(7)]
publish("st", 3, 5)
pump(c, lambda: all(len(g) == 3 for g in waiting[:3]) and
    len(waiting[3]) == 1)
assert waiting[0] == waiting[1] == waiting[2] == ["m5", "m6", "m7"], waiting
assert waiting[3] == ["m7"], waiting
print("ok")
PY
}

@test "amqp streams: each delivery has its offset, with the message's own headers" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
declare("h")
ch.confirm_delivery()
ch.basic_publish("", "h", "one", pika.BasicProperties(
    headers={"a": "b"}, content_type="text/plain"))
ch.basic_publish("", "h", "two")
ch = c.channel()
ch.basic_qos(prefetch_count=5)
got = []
ch.basic_consume("h", lambda cc, m, p, b: got.append((m, p, b)),
    arguments={"x-stream-offset": "first"})
pump(c, lambda: len(got) == 2)
(m1, p1, b1), (m2, p2, b2) = got
assert (b1, p1.content_type, p1.headers) == \
    (b"one", "text/plain", {"a": "b", "x-stream-offset": 0}), p1
assert (b2, p2.headers) == (b"two", {"x-stream-offset": 1}), p2
assert (m1.delivery_tag, m1.redelivered, m1.exchange, m1.routing_key) == \
    (1, False, "", "h")
print("ok")
PY
}

@test "amqp streams: consumers read independently and an ack only gives room" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
declare("ind")
publish("ind", 10)
# Two consumers of one channel, two of another connection: all get all.
c2 = connect()
chans = [c.channel(), c.channel(), c2.channel()]
got = [[] for _ in chans]
held = []
for i, cc in enumerate(chans):
	cc.basic_qos(prefetch_count=3)
	def cb(x, m, p, b, i=i):
		got[i].append(b.decode())
		if i < 2:
			x.basic_ack(m.delivery_tag)
		else:
			held.append(m.delivery_tag)
	cc.basic_consume("ind", cb, arguments={"x-stream-offset": "first"})
pump([c, c2], lambda: len(got[0]) == 10 and len(got[1]) == 10 and
    len(got[2]) == 3)
assert got[0] == got[1] == ["m%d" % i for i in range(10)], got
# Without acks, the prefetch holds the third: then each ack gives room.
c2.process_data_events(time_limit=0.3)
assert got[2] == ["m0", "m1", "m2"], got
chans[2].basic_ack(held[0])
pump(c2, lambda: len(got[2]) == 4)
chans[2].basic_ack(held[-1], multiple=True)
pump(c2, lambda: len(got[2]) == 7)
assert got[2] == ["m%d" % i for i in range(7)], got
# Nothing was taken from the stream.
assert take("ind", 10, "first") == expect(0, 9)
print("ok")
PY
	[ "$(redis-cli -p "$MQ_PORT" XLEN ind)" = 10 ]
}

@test "amqp streams: a consumer its channel's global prefetch held back is served when an ack gives room" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
declare("gl")
publish("gl", 3)
ch.queue_declare("plain")
ch.basic_publish("", "plain", "p0")
ch.basic_qos(prefetch_count=1, global_qos=True)
ch.basic_qos(prefetch_count=10)
got = []
ch.basic_consume("plain", lambda x, m, p, b: got.append((m, b)))
pump(c, lambda: len(got) == 1)
# The channel is full: the stream's consumer waits for room.
ch.basic_consume("gl", lambda x, m, p, b: got.append((m, b)),
    arguments={"x-stream-offset": "first"})
ch.queue_declare("plain", passive=True)
c.process_data_events(time_limit=0.2)
assert len(got) == 1, got
for n in (2, 3, 4):
	ch.basic_ack(got[-1][0].delivery_tag)
	pump(c, lambda: len(got) == n)
assert [b for m, b in got] == [b"p0", b"m0", b"m1", b"m2"], got
print("ok")
PY
}

@test "amqp streams: a waiting consumer gets appends of mq-xadd, Redis XADD and exchanges" {
	amqp_up
	export MQ_BIN MQ_PORT
	pika_script "$STREAM_PRELUDE" <<'PY'
import subprocess
declare("w")
ch.queue_bind("w", "amq.direct", routing_key="k")
ch.basic_qos(prefetch_count=10)
got = []
ch.basic_consume("w", lambda cc, m, p, b: (got.append((b.decode(),
    p.headers["x-stream-offset"])), cc.basic_ack(m.delivery_tag)))
ch.queue_declare("w", passive=True)	# consume-ok came: it waits
subprocess.run([os.environ["MQ_BIN"] + "/mq-xadd", "w", "xadd"], check=True,
    stdout=subprocess.DEVNULL)
pump(c, lambda: len(got) == 1)
subprocess.run(["redis-cli", "-p", os.environ["MQ_PORT"], "XADD", "w", "*",
    "body", "redis"], check=True, stdout=subprocess.DEVNULL)
pump(c, lambda: len(got) == 2)
ch.basic_publish("amq.direct", "k", "direct")
pump(c, lambda: len(got) == 3)
assert got == [("xadd", 0), ("redis", 1), ("direct", 2)], got
print("ok")
PY
}

@test "amqp streams: a consumer replays from an offset after a restart" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
declare("r", **{"x-max-age": "7D", "x-max-length-bytes": 10000000})
publish("r", 4)
print("ok")
PY
	stop "$MQ_PID"
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
ok = declare("r", **{"x-max-age": "7D", "x-max-length-bytes": 10000000})
assert ok.method.message_count == 4
assert take("r", 2, 2) == expect(2, 3)
publish("r", 1, 4)
assert take("r", 3, 2) == expect(2, 4)
print("ok")
PY
	# The retention arguments are the stream's policy.
	run "$MQ_BIN/mq-queue" r
	echo "$output"
	[[ "$output" == *"max-age 7d"* ]]
	[[ "$output" == *"max-bytes 10000000"* ]]
}

@test "amqp streams: what a stream refuses, in RabbitMQ's words" {
	amqp_up
	pika_script "$STREAM_PRELUDE" <<'PY'
declare("no")
publish("no", 2)
nope = "NOT_IMPLEMENTED - %s not supported by stream queues queue 'no' " \
    "in vhost '/'"
def conn_refused(call, what):
	global c, ch
	refused(call, 540, nope % what, connection=True)
	c = connect()
	ch = c.channel()
noqos = "PRECONDITION_FAILED - consumer prefetch count is not set for " \
    "'queue 'no' in vhost '/''"
refused(lambda: ch.basic_consume("no", lambda *a: None), 406, noqos)
ch = c.channel()
# The channel's global count is not a consumer's.
ch.basic_qos(prefetch_count=5, global_qos=True)
refused(lambda: ch.basic_consume("no", lambda *a: None), 406, noqos)
ch = c.channel()
ch.basic_qos(prefetch_count=5)
conn_refused(lambda: ch.basic_consume("no", lambda *a: None, auto_ack=True),
    "automatic acknowledgement")
conn_refused(lambda: ch.basic_get("no"), "basic.get")
conn_refused(lambda: ch.queue_purge("no"), "queue.purge")
for bad in ("bogus", "3"):
	ch.basic_qos(prefetch_count=5)
	refused(lambda: ch.basic_consume("no", lambda *a: None,
	    arguments={"x-stream-offset": bad}), 406, "PRECONDITION_FAILED - "
	    "invalid arg 'x-stream-offset' for queue 'no' in vhost '/': "
	    "{invalid_stream_offset_arg,{longstr,<<\"%s\">>}}" % bad)
	ch = c.channel()
for settle in (lambda cc, t: cc.basic_nack(t, requeue=True),
    lambda cc, t: cc.basic_reject(t, requeue=False)):
	ch.basic_qos(prefetch_count=5)
	tags = []
	ch.basic_consume("no", lambda cc, m, p, b: tags.append(m.delivery_tag),
	    arguments={"x-stream-offset": "first"})
	pump(c, lambda: len(tags) == 2)
	def settle_one():
		settle(ch, tags[0])
		pump(c, lambda: False)
	conn_refused(settle_one, "basic.nack and basic.reject")
# The stream is as it was, and the queue can be deleted: delete-ok
# counts no message ready, as RabbitMQ's.
assert take("no", 2, "first") == expect(0, 1)
assert ch.queue_delete("no").method.message_count == 0
print("ok")
PY
}
