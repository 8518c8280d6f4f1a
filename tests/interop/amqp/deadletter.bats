#!/usr/bin/env bats
# deadletter.bats - dead-lettering through x-dead-letter-exchange with
# pika: each reason (rejected by reject and nack, expired by the queue's
# ttl and the message's expiration, maxlen by drop-head and by
# reject-publish-dlx, delivery_limit) reaching the
# queues bound to the exchange, with x-death and x-first-death-* as
# RabbitMQ writes them, the dead-letter routing key, a queue no one
# reads expiring on time, a cycle counted up and one that cannot loop,
# what no queue takes, the same dead letters listed by mq-dlq, and a
# delay queue's timer taken on by the next server after a restart.
# differential.bats compares the shapes with rabbitmq-server's.

load ../lib.sh
load amqp.sh

# The pika scripts start with this after PIKA_PRELUDE: a direct exchange
# dlx, the queue dead bound to it with dead-key, and take(queue), which
# waits for one message of the queue and returns its method, properties
# and body (acknowledged).
DEAD_PRELUDE='
import datetime
ch.exchange_declare("dlx", "direct")
ch.queue_declare("dead")
ch.queue_bind("dead", "dlx", "dead-key")
def take(name):
	got = []
	tag = ch.basic_consume(name, lambda c, m, p, b: got.append((m, p, b)),
	    auto_ack=True)
	pump(c, lambda: got)
	ch.basic_cancel(tag)
	return got[0]
def death(p, queue, reason, exchange, keys):
	d = p.headers["x-death"][0]
	assert d["count"] == 1 and d["reason"] == reason, d
	assert d["queue"] == queue and d["exchange"] == exchange, d
	assert d["routing-keys"] == keys, d
	age = datetime.datetime.utcnow() - d["time"]
	assert datetime.timedelta(seconds=-2) < age < datetime.timedelta(seconds=60), d
	assert p.headers["x-first-death-queue"] == queue, p.headers
	assert p.headers["x-first-death-reason"] == reason, p.headers
	assert p.headers["x-first-death-exchange"] == "", p.headers
'


@test "amqp dead letters: rejected by reject and nack, through the exchange, with x-death" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
ch.queue_bind("dead", "dlx", "work")
ch.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx"})
ch.basic_publish("", "work", b"one", pika.BasicProperties(
    content_type="text/plain", headers={"tenant": "acme"}))
ch.basic_publish("", "work", b"two")
m = ch.basic_get("work")[0]
ch.basic_reject(m.delivery_tag, requeue=False)
m, p, body = take("dead")
assert (m.exchange, m.routing_key, body) == ("dlx", "work", b"one"), m
assert p.content_type == "text/plain" and p.headers["tenant"] == "acme", p
assert sorted(p.headers) == ["tenant", "x-death", "x-first-death-exchange",
    "x-first-death-queue", "x-first-death-reason"], p.headers
death(p, "work", "rejected", "", ["work"])
m = ch.basic_get("work")[0]
ch.basic_nack(m.delivery_tag, requeue=False)
m, p, body = take("dead")
assert body == b"two", body
death(p, "work", "rejected", "", ["work"])
assert ch.queue_declare("work", passive=True).method.message_count == 0
print("ok")
PY
}

@test "amqp dead letters: x-dead-letter-routing-key routes them and becomes their key" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
ch.queue_declare("keyed", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dead-key"})
ch.basic_publish("", "keyed", b"k")
m = ch.basic_get("keyed")[0]
ch.basic_reject(m.delivery_tag, requeue=False)
m, p, body = take("dead")
assert (m.exchange, m.routing_key) == ("dlx", "dead-key"), m
death(p, "keyed", "rejected", "", ["keyed"])
print("ok")
PY
}

@test "amqp dead letters: expired on time from a queue no one reads, by ttl and by expiration" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
ch.queue_declare("delay", arguments={"x-message-ttl": 200,
    "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead-key"})
ch.queue_declare("later", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dead-key"})
ch.basic_publish("", "delay", b"waited")
m, p, body = take("dead")
assert body == b"waited"
death(p, "delay", "expired", "", ["delay"])
assert ch.queue_declare("delay", passive=True).method.message_count == 0
# The message's own: original-expiration, and no expiration any more.
ch.basic_publish("", "later", b"mine", pika.BasicProperties(expiration="100"))
m, p, body = take("dead")
death(p, "later", "expired", "", ["later"])
assert p.expiration is None, p
assert p.headers["x-death"][0]["original-expiration"] == "100", p.headers
print("ok")
PY
	# Dead-lettered, not left in the queues' own dead-letter streams.
	[ "$("$MQ_BIN/mq-dlq" count delay)" = 0 ]
	[ "$("$MQ_BIN/mq-dlq" count later)" = 0 ]
}

@test "amqp dead letters: pushed out by x-max-length, past x-delivery-limit, refused by reject-publish-dlx" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
ch.queue_declare("short", arguments={"x-max-length": 1,
    "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead-key"})
ch.basic_publish("", "short", b"first")
ch.basic_publish("", "short", b"second")
m, p, body = take("dead")
assert body == b"first"
death(p, "short", "maxlen", "", ["short"])
ch.queue_declare("limited", arguments={"x-delivery-limit": 2,
    "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead-key"})
ch.basic_publish("", "limited", b"poison")
for i in range(2):
	m = ch.basic_get("limited")[0]
	ch.basic_nack(m.delivery_tag, requeue=True)
m, p, body = take("dead")
assert body == b"poison"
death(p, "limited", "delivery_limit", "", ["limited"])
# reject-publish-dlx: the publisher's nack, and the dead letter.
ch.queue_declare("full", arguments={"x-max-length": 1,
    "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dead-key"})
confirmed = c.channel()
confirmed.confirm_delivery()
confirmed.basic_publish("", "full", b"kept")
try:
	confirmed.basic_publish("", "full", b"refused")
	raise SystemExit("taken")
except pika.exceptions.NackError:
	pass
m, p, body = take("dead")
assert body == b"refused"
death(p, "full", "maxlen", "", ["full"])
assert ch.queue_declare("full", passive=True).method.message_count == 1
print("ok")
PY
}

# dlq_count STREAM N: mq-dlq counts N dead letters of STREAM.
dlq_count() {
	[ "$("$MQ_BIN/mq-dlq" count "$1")" = "$2" ]
}

@test "amqp dead letters: a rejection cycle counts up, an expiry cycle cannot loop" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
def get(name):
	end = time.monotonic() + 20
	while True:
		r = ch.basic_get(name)
		if r[0] is not None:
			return r
		assert time.monotonic() < end, "gave up waiting"
		c.process_data_events(time_limit=0.02)
ch.queue_declare("loop", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "loop-key"})
ch.queue_bind("loop", "dlx", "loop-key")
ch.basic_publish("", "loop", b"round")
for i in range(3):
	m = get("loop")[0]
	ch.basic_reject(m.delivery_tag, requeue=False)
m, p, body = get("loop")
d = p.headers["x-death"]
assert len(d) == 1 and d[0]["count"] == 3, d
assert (d[0]["queue"], d[0]["reason"], d[0]["routing-keys"], d[0]["exchange"]) \
    == ("loop", "rejected", ["loop"], ""), d
assert (m.exchange, m.routing_key) == ("dlx", "loop-key"), m
ch.basic_ack(m.delivery_tag)
ch.queue_declare("self", arguments={"x-message-ttl": 100,
    "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "self-key"})
ch.queue_bind("self", "dlx", "self-key")
ch.basic_publish("", "self", b"once")
print("ok")
PY
	# Not back to itself: kept in its dead-letter stream, once.
	wait_until dlq_count self 1
	run "$MQ_BIN/mq-dlq" list self
	[ "$(cut -f2,5 <<< "$output")" = "$(printf 'expired\tonce')" ]
	[ "$(cli XLEN self)" = 1 ]
}

@test "amqp dead letters: what no queue takes, and mq-dlq, with -d for a queue of several" {
	amqp_up
	pika_script "$DEAD_PRELUDE" <<'PY'
ch.queue_declare("a", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dead-key"})
ch.queue_declare("b", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dead-key"})
ch.queue_declare("lost", arguments={"x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "nowhere"})
ch.queue_declare("plain")
for q in ("a", "b", "lost", "plain"):
	ch.basic_publish("", q, b"from " + q.encode())
	m = ch.basic_get(q)[0]
	ch.basic_reject(m.delivery_tag, requeue=False)
print("ok")
PY
	wait_until dlq_count lost 1
	# The queue of several: each one's own.
	run "$MQ_BIN/mq-dlq" -d dead list a
	[ "$status" -eq 0 ]
	[ "$(cut -f2,4,5 <<< "$output")" = "$(printf 'rejected\t1\tfrom a')" ]
	[ "$("$MQ_BIN/mq-dlq" -d dead count b)" = 1 ]
	[ "$("$MQ_BIN/mq-dlq" count a)" = 0 ]
	# No queue took it, or there is no exchange: the queue's own.
	[ "$("$MQ_BIN/mq-dlq" list lost | cut -f2,5)" = "$(printf 'rejected\tfrom lost')" ]
	[ "$("$MQ_BIN/mq-dlq" list plain | cut -f2,5)" = "$(printf 'rejected\tfrom plain')" ]
	# Replayed to a, which delivers it with its key, and no x-death.
	"$MQ_BIN/mq-dlq" -d dead replay a
	[ "$("$MQ_BIN/mq-dlq" -d dead count b)" = 1 ]
	pika_script <<'PY'
m, p, body = ch.basic_get("a")
assert (m.routing_key, body) == ("a", b"from a"), (m, body)
assert "x-death" not in (p.headers or {}), p.headers
print("ok")
PY
}

@test "amqp dead letters: a delay queue expires on time after a restart of the server" {
	amqp_up
	pika_script <<'PY'
ch.exchange_declare("dlx", "direct", durable=True)
ch.queue_declare("dead", durable=True)
ch.queue_bind("dead", "dlx", "dead-key")
ch.queue_declare("delay", durable=True, arguments={"x-message-ttl": 1000,
    "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead-key"})
ch.confirm_delivery()
ch.basic_publish("", "delay", b"across", pika.BasicProperties(delivery_mode=2))
print("ok")
PY
	stop "$MQ_PID"
	amqp_up
	# No one reads the delay queue: the new server's timer takes it on.
	pika_script <<'PY'
got = []
ch.basic_consume("dead", lambda c, m, p, b: got.append((m, p, b)),
    auto_ack=True)
pump(c, lambda: got)
m, p, body = got[0]
assert body == b"across" and m.exchange == "dlx", (m, body)
assert p.headers["x-death"][0]["reason"] == "expired", p.headers
print("ok")
PY
}
