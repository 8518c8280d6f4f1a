#!/usr/bin/env bats
# priority.bats - the AMQP door's priority queues (x-max-priority: a
# stream per level, read highest first), single active consumers
# (x-single-active-consumer) and consumer priorities (x-priority), with
# pika.

load ../lib.sh
load amqp.sh

# no_keys PATTERN: the server under test has no key matching PATTERN.
no_keys() {
	[ -z "$(redis-cli -p "$MQ_PORT" KEYS "$1")" ]
}

# What the priority scripts start with, after PIKA_PRELUDE: the
# messages of the ordering tests, (body, priority), None for none.
PRIO_PRELUDE='
MIXED = [("a", None), ("b", 3), ("c", 5), ("d", 1), ("e", 9), ("f", 3),
    ("g", 0), ("h", 5)]
def publish(q, msgs):
	for body, p in msgs:
		ch.basic_publish("", q, body,
		    pika.BasicProperties(priority=p))
'

@test "amqp priority: basic.get takes the highest priority first, FIFO within one" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 5})
publish("pq", MIXED)
assert ch.queue_declare("pq", passive=True).method.message_count == 8
# 9 counts as the max, 5; none as 0.
got = drain("pq")
assert got == ["c", "e", "h", "b", "f", "d", "a", "g"], got
print("ok")
PY
}

@test "amqp priority: a consumer gets the highest priority first" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 9})
publish("pq", MIXED)
got = []
ch.basic_qos(prefetch_count=20)
ch.basic_consume("pq", lambda c, m, p, b: got.append(b.decode()))
pump(c, lambda: len(got) == 8)
assert got == ["e", "c", "h", "b", "f", "d", "a", "g"], got
print("ok")
PY
}

@test "amqp priority: a queue without x-max-priority keeps publish order" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("plain")
publish("plain", MIXED)
got = drain("plain")
assert got == [b for b, p in MIXED], got
print("ok")
PY
	run redis-cli -p "$MQ_PORT" KEYS 'plain*'
	[ "$output" = plain ]
}

@test "amqp priority: a requeued message keeps its priority and comes back redelivered" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 5})
publish("pq", [("low", 1), ("high", 5), ("none", None)])
tags = []
for want in ["high", "low", "none"]:
	m, props, body = ch.basic_get("pq")
	assert body.decode() == want and not m.redelivered, (body, m)
	tags.append(m.delivery_tag)
for t in reversed(tags):
	ch.basic_nack(t, requeue=True)
publish("pq", [("later", 3)])
got = []
for want in ["high", "later", "low", "none"]:
	m, props, body = ch.basic_get("pq")
	got.append((body.decode(), m.redelivered))
	ch.basic_ack(m.delivery_tag)
assert got == [("high", True), ("later", False), ("low", True),
    ("none", True)], got
print("ok")
PY
}

@test "amqp priority: declare-ok, purge and delete count every level" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 3})
publish("pq", MIXED)
assert ch.queue_declare("pq", passive=True).method.message_count == 8
m, props, body = ch.basic_get("pq")
assert body == b"b"
assert ch.queue_declare("pq", passive=True).method.message_count == 7
assert ch.queue_purge("pq").method.message_count == 7
assert ch.basic_get("pq", auto_ack=True)[0] is None
ch.basic_nack(m.delivery_tag, requeue=True)
publish("pq", MIXED)
assert ch.queue_delete("pq").method.message_count == 9
print("ok")
PY
	# The levels went with the queue.
	no_keys 'pq*'
}

@test "amqp priority: the levels are streams Redis and the tools read" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 2})
publish("pq", [("zero", None), ("one", 1), ("two", 2), ("more", 7)])
print("ok")
PY
	[ "$(redis-cli -p "$MQ_PORT" XLEN pq)" = 1 ]
	[ "$(redis-cli -p "$MQ_PORT" XLEN 'pq#1')" = 1 ]
	[ "$(redis-cli -p "$MQ_PORT" XLEN 'pq#2')" = 2 ]
	run "$MQ_BIN/mq-xreadgroup" -c 2 queue c 'pq#2'
	[ "$status" -eq 0 ]
	[[ "$output" == *two*more* ]]
}

@test "amqp priority: a rejected message of any level goes to the queue's dead letters" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 5})
publish("pq", [("low", None), ("high", 4)])
for want in [b"high", b"low"]:
	m, props, body = ch.basic_get("pq")
	assert body == want, body
	ch.basic_reject(m.delivery_tag, requeue=False)
print("ok")
PY
	run "$MQ_BIN/mq-dlq" list pq
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" == *high* ]]
	[[ "$output" == *low* ]]
}

@test "amqp priority: an exclusive queue's levels go with its connection" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
c1 = connect()
ch1 = c1.channel()
ch1.queue_declare("mine", exclusive=True, arguments={"x-max-priority": 2})
# Its level, its connection's too.
ch1.queue_declare("mine#2", passive=True)
refused(lambda: ch.queue_declare("mine#2", passive=True), 405,
    "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
    "'mine#2' in vhost '/'. It could be originally declared on another "
    "connection or the exclusive property value does not match that of "
    "the original declaration.")
c1.close()
print("ok")
PY
	wait_until no_keys 'mine*'
}

@test "amqp priority: a consumer that waits gets a later message of its level" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("pq", arguments={"x-max-priority": 5})
got = []
ch.basic_consume("pq", lambda c, m, p, b: got.append(b.decode()),
    auto_ack=True)
c.process_data_events(time_limit=0.1)
publish("pq", [("x", 4)])
pump(c, lambda: got == ["x"])
print("ok")
PY
}

@test "amqp single active consumer: one consumer gets it all, the next on cancel" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("sac", arguments={"x-single-active-consumer": True})
ch2 = c.channel()
got = {"one": [], "two": []}
ch.basic_consume("sac", lambda c, m, p, b: got["one"].append(b.decode()),
    auto_ack=True, consumer_tag="one")
ch2.basic_consume("sac", lambda c, m, p, b: got["two"].append(b.decode()),
    auto_ack=True, consumer_tag="two")
for i in range(6):
	ch.basic_publish("", "sac", str(i))
pump(c, lambda: len(got["one"]) == 6)
assert got["two"] == [], got
ch.basic_cancel("one")
for i in range(6, 9):
	ch.basic_publish("", "sac", str(i))
pump(c, lambda: len(got["two"]) == 3)
assert got == {"one": [str(i) for i in range(6)],
    "two": ["6", "7", "8"]}, got
print("ok")
PY
}

@test "amqp single active consumer: the next takes over when the connection goes, what it held redelivered" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
c1 = connect()
ch1 = c1.channel()
ch1.queue_declare("sac", arguments={"x-single-active-consumer": True})
held = []
ch1.basic_qos(prefetch_count=2)
ch1.basic_consume("sac", lambda c, m, p, b: held.append(b.decode()))
got = []
ch.basic_consume("sac", lambda c, m, p, b: got.append((b.decode(),
    m.redelivered)), auto_ack=True)
for i in range(4):
	ch.basic_publish("", "sac", str(i))
pump([c, c1], lambda: len(held) == 2)
c.process_data_events(time_limit=0.2)
assert got == [], got
# pika cancels the consumer, then closes its channel and connection: the
# next consumer is active at the cancel, and gets the two held back when
# the channel closes.
c1.close()
pump(c, lambda: len(got) == 4)
assert got == [("2", False), ("3", False), ("0", True), ("1", True)], got
print("ok")
PY
}

@test "amqp single active consumer: a consumer that is not active gets nothing, and a basic.get still does" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("sac", arguments={"x-single-active-consumer": True})
ch2 = c.channel()
got = {"one": [], "two": []}
ch.basic_qos(prefetch_count=1)
ch.basic_consume("sac", lambda c, m, p, b: got["one"].append(m.delivery_tag),
    consumer_tag="one")
ch2.basic_consume("sac", lambda c, m, p, b: got["two"].append(b.decode()),
    auto_ack=True, consumer_tag="two")
for i in range(3):
	ch.basic_publish("", "sac", str(i))
pump(c, lambda: len(got["one"]) == 1)
c.process_data_events(time_limit=0.2)
# The active one is full: the other waits all the same.
assert got["two"] == [], got
assert ch.queue_declare("sac", passive=True).method.consumer_count == 2
m, props, body = ch2.basic_get("sac", auto_ack=True)
assert body == b"1", body
ch.basic_ack(got["one"][0])
pump(c, lambda: len(got["one"]) == 2)
assert got["two"] == [], got
print("ok")
PY
}

@test "amqp consumer priorities: the higher consumer gets messages while it has room" {
	amqp_up
	pika_script "$PRIO_PRELUDE" <<'PY'
ch.queue_declare("cp")
lo, hi = c.channel(), c.channel()
got = {"lo": [], "hi": []}
lo.basic_consume("cp", lambda c, m, p, b: got["lo"].append(b.decode()),
    auto_ack=True)
hi.basic_qos(prefetch_count=3)
hi.basic_consume("cp", lambda c, m, p, b: got["hi"].append(m.delivery_tag),
    arguments={"x-priority": 10})
for i in range(5):
	ch.basic_publish("", "cp", "a%d" % i)
pump(c, lambda: len(got["hi"]) == 3 and len(got["lo"]) == 2)
# With room again, the higher one is served first.
hi.basic_ack(got["hi"][-1], multiple=True)
for i in range(3):
	ch.basic_publish("", "cp", "b%d" % i)
pump(c, lambda: len(got["hi"]) == 6)
assert len(got["lo"]) == 2, got
print("ok")
PY
}
