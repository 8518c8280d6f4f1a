#!/usr/bin/env bats
# basic.bats - the AMQP door's queues and messages with pika: declare,
# purge and delete, basic.get and get-empty, acks (multiple), nacks and
# rejects with and without requeue (the dead letters, which mq-dlq
# lists), mandatory messages that no queue takes (basic.return), a
# queue deleted under its consumer (basic.cancel), and the message
# mapping both ways: what pika publishes as mq-xreadgroup and Redis see
# it, what mq-xadd and Redis XADD append as a pika consumer gets it, and
# properties and a headers table of every type back byte for byte.

load ../lib.sh
load amqp.sh

@test "amqp queues: declare, a server-named queue, purge, delete with its counts" {
	amqp_up
	pika_script <<'PY'
ok = ch.queue_declare(queue="jobs", durable=True).method
assert (ok.queue, ok.message_count, ok.consumer_count) == ("jobs", 0, 0), ok
for i in range(3):
	ch.basic_publish(exchange="", routing_key="jobs", body="job %d" % i)
ok = ch.queue_declare(queue="jobs", passive=True).method
assert ok.message_count == 3, ok
# "" gets the server's name, and names the last queue declared.
gen = ch.queue_declare(queue="", exclusive=True).method.queue
assert gen.startswith("amq.gen-") and len(gen) == 30, gen
assert all(x.isalnum() or x in "-_" for x in gen[8:]), gen
ch.basic_publish(exchange="", routing_key=gen, body="x")
assert ch.queue_declare(queue=gen, passive=True).method.queue == gen
assert ch.queue_purge(queue="").method.message_count == 1
assert ch.queue_purge(queue="jobs").method.message_count == 3
assert ch.queue_declare(queue="jobs", passive=True).method.message_count == 0
ch.basic_publish(exchange="", routing_key="jobs", body="after the purge")
assert ch.basic_get("jobs", auto_ack=True)[2] == b"after the purge"
ch.basic_publish(exchange="", routing_key="jobs", body="left")
assert ch.queue_delete(queue="jobs").method.message_count == 1
# Deleting what is not there is no error.
assert ch.queue_delete(queue="jobs").method.message_count == 0
c.close()
print("ok")
PY
	# A deleted queue's stream is gone.
	run redis-cli -p "$MQ_PORT" EXISTS jobs
	[ "$output" = 0 ]
}

@test "amqp queues: a purge moves the group past its entries, which stay in the stream" {
	amqp_up
	pika_script <<'PY'
fill("q", 2)
m = ch.basic_get("q")[0]
ch.basic_nack(m.delivery_tag, requeue=True)
# The one handed back is ready again, and purged with the other.
assert ch.queue_purge(queue="q").method.message_count == 2
assert ch.basic_get("q") == (None, None, None)
print("ok")
PY
	run redis-cli -p "$MQ_PORT" XLEN q
	[ "$output" = 2 ]
	none_pending q
}

@test "amqp queues: a queue is the stream and its group 'queue'" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="orders")
ch.basic_publish(exchange="", routing_key="orders", body="one",
    properties=pika.BasicProperties(content_type="text/plain",
    delivery_mode=2, headers={"tenant": "acme"}))
print("ok")
PY
	run "$MQ_BIN/mq-xreadgroup" -o json queue c orders
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"key":"orders","headers":{"content-type":"text/plain","tenant":"acme","delivery-mode":"2"},"body":"one"'* ]]
	queue_group orders
}

@test "amqp get: get-ok with the count left, get-empty, and no such queue" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="q")
assert ch.basic_get("q") == (None, None, None)
for i in range(3):
	ch.basic_publish(exchange="", routing_key="q", body="m%d" % i)
m, props, body = ch.basic_get("q")
assert (m.delivery_tag, m.redelivered, m.exchange, m.routing_key,
    m.message_count, body) == (1, False, "", "q", 2, b"m0"), m
m, props, body = ch.basic_get("q", auto_ack=True)
assert (m.delivery_tag, m.message_count, body) == (2, 1, b"m1"), m
refused(lambda: ch.basic_get("nope"),
    404, "NOT_FOUND - no queue 'nope' in vhost '/'")
print("ok")
PY
}

@test "amqp acks: multiple acks every tag up to it; an unknown tag is 406" {
	amqp_up
	pika_script <<'PY'
fill("q", 4)
tags = [ch.basic_get("q")[0].delivery_tag for i in range(4)]
assert tags == [1, 2, 3, 4], tags
ch.basic_ack(3, multiple=True)
ch.basic_ack(4)
ch.basic_ack(3)
refused(lambda: ch.queue_declare(queue="q", passive=True),
    406, "PRECONDITION_FAILED - unknown delivery tag 3")
# Only the channel closed.
ch = c.channel()
assert ch.queue_declare(queue="q", passive=True).method.message_count == 0
print("ok")
PY
	none_pending q
}

@test "amqp nack and reject: requeued ones come back redelivered, the others are dead letters" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="q")
for body in ("again", "bad", "worse", "later"):
	ch.basic_publish(exchange="", routing_key="q", body=body)
m = ch.basic_get("q")[0]
ch.basic_nack(m.delivery_tag, requeue=True)
m, props, body = ch.basic_get("q")
assert (body, m.redelivered, m.delivery_tag) == (b"again", True, 2), m
ch.basic_ack(m.delivery_tag)
ch.basic_reject(ch.basic_get("q")[0].delivery_tag, requeue=False)
ch.basic_nack(ch.basic_get("q")[0].delivery_tag, requeue=False)
m, props, body = ch.basic_get("q")
assert (body, m.redelivered) == (b"later", False), m
ch.basic_reject(m.delivery_tag, requeue=True)
m, props, body = ch.basic_get("q")
assert (body, m.redelivered) == (b"later", True), m
# Closing the channel hands back what it holds.
ch.close()
ch = c.channel()
m, props, body = ch.basic_get("q", auto_ack=True)
assert (body, m.redelivered) == (b"later", True), m
print("ok")
PY
	run "$MQ_BIN/mq-dlq" list q
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *bad ]]
	[[ "${lines[1]}" == *worse ]]
}

@test "amqp publish: mandatory and unroutable comes back as basic.return; a missing exchange is 404" {
	amqp_up
	pika_script <<'PY'
returned = []
ch.add_on_return_callback(lambda ch, m, p, body: returned.append((m, p, body)))
ch.basic_publish(exchange="", routing_key="nowhere", body="lost")
ch.basic_publish(exchange="", routing_key="nowhere", body="back",
    properties=pika.BasicProperties(content_type="text/plain",
    headers={"n": 1}), mandatory=True)
pump(c, lambda: returned)
m, p, body = returned[0]
assert (m.reply_code, m.reply_text, m.exchange, m.routing_key) == (312,
    "NO_ROUTE", "", "nowhere"), m
assert (body, p.content_type, p.headers) == (b"back", "text/plain",
    {"n": 1}), (body, p)
assert len(returned) == 1, returned
ch.queue_declare(queue="q")
ch.basic_publish(exchange="nosuch", routing_key="q", body="x")
refused(lambda: ch.queue_declare(queue="q", passive=True),
    404, "NOT_FOUND - no exchange 'nosuch' in vhost '/'")
ch = c.channel()
assert ch.queue_declare(queue="q", passive=True).method.message_count == 0
print("ok")
PY
	run "$MQ_BIN/mq-xinfo" nowhere
	[ "$status" -ne 0 ]
}

@test "amqp consumers: mq-xadd and Redis XADD reach a waiting consumer" {
	amqp_up
	cat > consume.py <<'PY'
import os, pika
c = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
ch = c.channel()
ch.queue_declare(queue="inbox")
def callback(ch, m, p, body):
	print("got %r type=%s headers=%s key=%s" % (body, p.content_type,
	    p.headers, m.routing_key), flush=True)
	ch.basic_ack(m.delivery_tag)
ch.basic_consume(queue="inbox", on_message_callback=callback)
print("consuming", flush=True)
ch.start_consuming()
PY
	AMQP_PORT=$AMQP_PORT background consume.out "$MQ_PYTHON" consume.py
	wait_until grep -q consuming consume.out
	"$MQ_BIN/mq-xadd" -H tenant=acme inbox hello
	wait_until grep -qF "got b'hello' type=None headers={'tenant': 'acme'} key=" consume.out
	redis-cli -p "$MQ_PORT" XADD inbox '*' content-type text/plain body hi
	wait_until grep -qF "got b'hi' type=text/plain headers=None" consume.out
	"$MQ_BIN/mq-xadd" -k k1 inbox keyed
	wait_until grep -qF "got b'keyed' type=None headers=None key=k1" consume.out
}

@test "amqp consumers: a queue deleted under its consumer cancels it" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="short")
cancelled = []
ch.add_on_cancel_callback(lambda frame: cancelled.append(frame))
tag = ch.basic_consume(queue="short", on_message_callback=lambda *a: None)
assert ch.queue_declare(queue="short", passive=True).method.consumer_count == 1
other = c.channel()
assert other.queue_delete(queue="short", if_empty=True).method.message_count == 0
pump(c, lambda: cancelled)
assert cancelled[0].method.consumer_tag == tag, cancelled
print("ok")
PY
}

@test "amqp delete: if-empty and if-unused are 406 while they do not hold" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="q")
ch.basic_publish(exchange="", routing_key="q", body="x")
refused(lambda: ch.queue_delete(queue="q", if_empty=True),
    406, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty")
ch = c.channel()
ch.basic_consume(queue="q", on_message_callback=lambda *a: None,
    auto_ack=True)
other = c.channel()
refused(lambda: other.queue_delete(queue="q", if_unused=True),
    406, "PRECONDITION_FAILED - queue 'q' in vhost '/' in use")
print("ok")
PY
}

@test "amqp consumers: no-ack consumers take no prefetch; cancel stops them" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="q")
ch.basic_qos(prefetch_count=1)
for i in range(5):
	ch.basic_publish(exchange="", routing_key="q", body="m%d" % i)
got = []
tag = ch.basic_consume("q", lambda ch, m, p, b: got.append(b), auto_ack=True)
pump(c, lambda: len(got) == 5)
assert got == [b"m%d" % i for i in range(5)], got
ch.basic_cancel(tag)
ch.basic_publish(exchange="", routing_key="q", body="after")
assert ch.basic_get("q", auto_ack=True)[2] == b"after"
assert got == [b"m%d" % i for i in range(5)], got
print("ok")
PY
}

@test "amqp qos: a global prefetch over several queues: each ack serves one of those passed over" {
	amqp_up
	pika_script <<'PY'
for q in "abc":
	ch.queue_declare(queue=q)
for i in range(2):
	for q in "bc":
		ch.basic_publish(exchange="", routing_key=q, body="%s%d" % (q, i))
ch.basic_qos(prefetch_count=1, global_qos=True)
got = []
for q in "abc":
	ch.basic_consume(q, lambda chx, m, p, body: got.append((m, body)))
def next_one(n):
	pump(c, lambda: len(got) == n)
	# A round trip: a delivery past the prefetch would come first.
	ch.queue_declare(queue="a", passive=True)
	c.process_data_events(time_limit=0)
	assert len(got) == n, got
	return got[-1]
bodies = [next_one(1)[1]]
# "a" gets one while the channel is full: its consumer waits its turn.
ch.basic_publish(exchange="", routing_key="a", body="a0")
for n in range(2, 6):
	ch.basic_ack(got[-1][0].delivery_tag)
	bodies.append(next_one(n)[1])
ch.basic_ack(got[-1][0].delivery_tag)
# One at a time, and none left behind: not the two of each queue that
# had some when the channel filled, nor the one "a" got while it was.
assert sorted(bodies) == [b"a0", b"b0", b"b1", b"c0", b"c1"], bodies
print("ok")
PY
}

@test "amqp qos: prefetch_size other than 0 is 540" {
	amqp_up
	pika_script <<'PY'
refused(lambda: ch.basic_qos(prefetch_size=100),
    540, "NOT_IMPLEMENTED - prefetch_size!=0 (100)", connection=True)
print("ok")
PY
}

@test "amqp mapping: properties and a headers table of every type come back as published" {
	amqp_up
	pika_script <<'PY'
import datetime, decimal
ch.queue_declare(queue="q")
# pika writes no floats: the raw client's test has every letter.
headers = {"s": "str", "i": -5, "big": 1 << 40, "t": True,
    "dec": decimal.Decimal("1.25"), "bytes": b"\x00\x01",
    "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "none": None,
    "list": [1, "two", [3], {"k": "v"}],
    "nested": {"deeper": {"deepest": [False, -1]}}}
props = pika.BasicProperties(content_type="application/json",
    content_encoding="utf-8", headers=headers, delivery_mode=2, priority=7,
    correlation_id="c-1", reply_to="replies", expiration="60000",
    message_id="m-1", timestamp=1700000000, type="order", user_id="guest",
    app_id="shop", cluster_id="")
ch.basic_publish(exchange="", routing_key="q", body="{}", properties=props)
m, back, body = ch.basic_get("q", auto_ack=True)
assert body == b"{}", body
for name in ("content_type", "content_encoding", "headers", "delivery_mode",
    "priority", "correlation_id", "reply_to", "expiration", "message_id",
    "timestamp", "type", "user_id", "app_id", "cluster_id"):
	assert getattr(back, name) == getattr(props, name), (name,
	    getattr(back, name), getattr(props, name))
# Strings only: plain headers, and back the same.
ch.basic_publish(exchange="", routing_key="q", body="",
    properties=pika.BasicProperties(headers={"a": "1", "b": "2"}))
m, back, body = ch.basic_get("q", auto_ack=True)
assert (back.headers, body) == ({"a": "1", "b": "2"}, b""), back
# An empty table stays a table.
ch.basic_publish(exchange="", routing_key="q", body="e",
    properties=pika.BasicProperties(headers={}))
assert ch.basic_get("q", auto_ack=True)[1].headers == {}
print("ok")
PY
}

@test "amqp qos: a prefetch per consumer by default, shared by the channel's consumers when global" {
	amqp_up
	pika_script <<'PY'
fill("q", 6)
def held(ch, tags, want):
	got = {t: [] for t in tags}
	for t in tags:
		ch.basic_consume("q", lambda c, m, p, b, t=t: got[t].append(m),
		    consumer_tag=t)
	pump(c, lambda: sum(len(v) for v in got.values()) >= want)
	# A round trip after the serving: anything more would come first.
	ch.queue_declare(queue="q", passive=True)
	c.process_data_events(time_limit=0)
	return got
# Not global (pika's default): one each for the two consumers.
ch.basic_qos(prefetch_count=1)
got = held(ch, ["a", "b"], 2)
assert [len(got["a"]), len(got["b"])] == [1, 1], got
# An ack gives its consumer room: it gets one more.
ch.basic_ack(got["a"][0].delivery_tag)
pump(c, lambda: len(got["a"]) == 2)
assert len(got["b"]) == 1, got
ch.close()
# Global: one for the whole channel.
ch = c.channel()
ch.basic_qos(prefetch_count=1, global_qos=True)
got = held(ch, ["c", "d"], 1)
assert len(got["c"]) + len(got["d"]) == 1, got
print("ok")
PY
}
