#!/usr/bin/env bats
# differential.bats - the AMQP door against Debian's rabbitmq-server:
# each test runs one pika scenario (transcript.py before it) against a
# rabbitmq-server started for this file (rabbit.sh) and against a fresh
# mq-serve, and what the client observed must be the same line for line:
# replies and their arguments, the codes and texts of errors, deliveries
# with their tags, redelivered flags, properties and headers, counts.

load ../lib.sh
load amqp.sh
load rabbit.sh

setup_file() {
	rabbit_up
}

teardown_file() {
	rabbit_down
}

# transcript PORT OUT: the scenario scenario.py against the server on
# PORT, what it says and its exit status in the file OUT.
transcript() {
	local status=0
	timeout 60 "$MQ_PYTHON" scenario.py "$1" "t$BATS_TEST_NUMBER-" \
	    >"$2" 2>&1 || status=$?
	echo "exit $status" >> "$2"
}

# differ [PRELUDE]: the scenario on stdin, after PRELUDE (transcript.py
# by default) against rabbitmq-server and mq-serve.  RabbitMQ's run must
# end well (a scenario that breaks compares nothing); then the
# transcripts must be the same.
differ() {
	rabbit_need
	amqp_up || return 1
	cat "$INTEROP/${1:-transcript.py}" - > scenario.py
	transcript "$RABBIT_PORT" rabbit.out
	transcript "$AMQP_PORT" mq.out
	cat rabbit.out
	[ "$(tail -1 rabbit.out)" = "exit 0" ]
	diff -u rabbit.out mq.out
}

@test "amqp differential: declare-ok and its counts" {
	differ <<'PY'
attempt("declare", lambda: ch.queue_declare(q("jobs")))
attempt("declare again", lambda: ch.queue_declare(q("jobs")))
for i in range(3):
	ch.basic_publish("", q("jobs"), b"job %d" % i)
settled("passive", q("jobs"), 3)
attempt("get", lambda: ch.basic_get(q("jobs")))
attempt("passive, one taken", lambda: ch.queue_declare(q("jobs"), passive=True))
attempt("passive, missing", lambda: ch.queue_declare(q("nope"), passive=True))
ch = channel()
attempt("amq. prefix", lambda: ch.queue_declare("amq.mine"))
ch = channel()
attempt("passive amq. prefix, missing",
    lambda: ch.queue_declare("amq.mine", passive=True))
PY
}

@test "amqp differential: server-named queues and the last declared" {
	differ <<'PY'
attempt("get '', no queue yet", lambda: ch.basic_get(""))
ch = channel()
attempt("purge '', no queue yet", lambda: ch.queue_purge(""))
ch = channel()
ok = attempt("declare ''", lambda: ch.queue_declare(""))
gen = ok.method.queue
ch.basic_publish("", gen, b"to the server's name")
attempt("get ''", lambda: ch.basic_get(""))
ch.basic_publish("", gen, b"again")
attempt("purge ''", lambda: ch.queue_purge(""))
attempt("consume ''", lambda: ch.basic_consume("", on_message, consumer_tag="t"))
attempt("delete ''", lambda: ch.queue_delete(""))
attempt("passive, deleted", lambda: ch.queue_declare(gen, passive=True))
ch = channel()
attempt("another ''", lambda: ch.queue_declare(""))
other = channel()
attempt("get '' on another channel", lambda: other.basic_get(""))
PY
}

@test "amqp differential: a passive declare of '' names no queue, a named one is the last" {
	differ <<'PY'
attempt("passive '', no queue yet", lambda: ch.queue_declare("", passive=True))
ch = channel()
ch.queue_declare(q("named"))
attempt("passive '' after a declare", lambda: ch.queue_declare("", passive=True))
ch = channel()
ch.queue_declare(q("a"))
ch.queue_declare(q("b"))
ch.basic_publish("", q("b"), b"in b")
ch.queue_declare(q("a"), passive=True)
attempt("get '' after a passive declare", lambda: ch.basic_get("", auto_ack=True))
PY
}

@test "amqp differential: publish, get-ok with the count left, get-empty" {
	differ <<'PY'
ch.queue_declare(q("q"))
ch.basic_publish("", q("q"), b"first")
ch.basic_publish("", q("q"), b"")
ch.basic_publish("", q("q"), b"x" * 300000)
attempt("get", lambda: ch.basic_get(q("q")))
attempt("get, auto-ack", lambda: ch.basic_get(q("q"), auto_ack=True))
m = ch.basic_get(q("q"))
say("the big one:", len(m[2]), m[2] == b"x" * 300000, method(m[0]))
attempt("get-empty", lambda: ch.basic_get(q("q")))
ch.basic_ack(3)
ch.basic_ack(1)
attempt("passive", lambda: ch.queue_declare(q("q"), passive=True))
attempt("get, missing", lambda: ch.basic_get(q("nope")))
PY
}

@test "amqp differential: purge and delete, with their counts" {
	differ <<'PY'
ch.queue_declare(q("q"))
for i in range(4):
	ch.basic_publish("", q("q"), b"m%d" % i)
m = ch.basic_get(q("q"))
attempt("purge", lambda: ch.queue_purge(q("q")))
ch.basic_nack(m[0].delivery_tag, requeue=True)
attempt("purge, the one handed back", lambda: ch.queue_purge(q("q")))
ch.basic_publish("", q("q"), b"after")
attempt("get after the purge", lambda: ch.basic_get(q("q"), auto_ack=True))
ch.basic_publish("", q("q"), b"left")
attempt("delete if-empty", lambda: ch.queue_delete(q("q"), if_empty=True))
ch = channel()
attempt("delete", lambda: ch.queue_delete(q("q")))
attempt("delete again", lambda: ch.queue_delete(q("q")))
attempt("purge, missing", lambda: ch.queue_purge(q("q")))
ch = channel()
ch.queue_declare(q("used"))
ch.basic_consume(q("used"), on_message)
attempt("delete if-unused", lambda: ch.queue_delete(q("used"), if_unused=True))
ch = channel()
attempt("delete, a consumer", lambda: ch.queue_delete(q("used")))
PY
}

@test "amqp differential: consume with a prefetch, acks one and several" {
	differ <<'PY'
ch.queue_declare(q("work"))
for i in range(6):
	ch.basic_publish("", q("work"), b"task %d" % i)
attempt("qos", lambda: ch.basic_qos(prefetch_count=2))
tag = attempt("consume", lambda: ch.basic_consume(q("work"), on_message,
    consumer_tag="worker"))
pump(c, lambda: len(deliveries) == 2)
settled("two held", q("work"), 4)
ch.basic_ack(1)
pump(c, lambda: len(deliveries) == 3)
ch.basic_ack(3, multiple=True)
pump(c, lambda: len(deliveries) == 5)
settled("five taken", q("work"), 1)
for d in deliveries:
	message("delivered", *d[1:])
attempt("cancel", lambda: ch.basic_cancel("worker"))
attempt("cancel again", lambda: ch.basic_cancel("worker"))
ch.basic_ack(0, multiple=True)
settled("all acked", q("work"), 1)
ch.close()
ch = channel()
attempt("get", lambda: ch.basic_get(q("work")))
PY
}

@test "amqp differential: nack and reject, with and without requeue, redelivered" {
	differ <<'PY'
ch.queue_declare(q("q"))
for i in range(4):
	ch.basic_publish("", q("q"), b"m%d" % i)
attempt("get", lambda: ch.basic_get(q("q")))
ch.basic_nack(1, requeue=True)
attempt("get after nack", lambda: ch.basic_get(q("q")))
ch.basic_reject(2, requeue=True)
attempt("get after reject", lambda: ch.basic_get(q("q")))
attempt("get", lambda: ch.basic_get(q("q")))
attempt("get", lambda: ch.basic_get(q("q")))
ch.basic_nack(4, multiple=True, requeue=True)
for i in range(3):
	attempt("get after nack multiple", lambda: ch.basic_get(q("q")))
ch.basic_reject(7, requeue=False)
ch.basic_nack(6, requeue=False)
attempt("passive", lambda: ch.queue_declare(q("q"), passive=True))
ch.basic_nack(0, multiple=True, requeue=True)
attempt("get after nack 0 multiple", lambda: ch.basic_get(q("q")))
attempt("get", lambda: ch.basic_get(q("q")))
PY
}

@test "amqp differential: a consumer's messages handed back when its channel closes" {
	differ <<'PY'
ch.queue_declare(q("q"))
for i in range(3):
	ch.basic_publish("", q("q"), b"m%d" % i)
ch.basic_qos(prefetch_count=2)
ch.basic_consume(q("q"), on_message, consumer_tag="c1")
pump(c, lambda: len(deliveries) == 2)
ch.close()
ch = channel()
for i in range(4):
	attempt("get", lambda: ch.basic_get(q("q"), auto_ack=True))
ch.basic_publish("", q("q"), b"held")
attempt("get", lambda: ch.basic_get(q("q")))
attempt("recover", lambda: ch.basic_recover(requeue=True))
attempt("get after recover", lambda: ch.basic_get(q("q")))
PY
}

@test "amqp differential: mandatory messages no queue takes come back" {
	differ <<'PY'
ch.queue_declare(q("there"))
p = pika.BasicProperties(content_type="text/plain", headers={"k": "v"})
ch.basic_publish("", q("nowhere"), b"back", properties=p, mandatory=True)
ch.basic_publish("", q("there"), b"taken", mandatory=True)
ch.basic_publish("", q("nowhere"), b"dropped")
ch.basic_publish("", q("nowhere"), b"", mandatory=True)
settled("passive", q("there"), 1)
pump(c, lambda: len(returned) == 2)
for r in returned:
	message("returned", *r)
attempt("get", lambda: ch.basic_get(q("there"), auto_ack=True))
attempt("get", lambda: ch.basic_get(q("there"), auto_ack=True))
PY
}

@test "amqp differential: channel errors 404 and 406, and the other channels go on" {
	differ <<'PY'
other = channel()
other.queue_declare(q("q"))
attempt("get, missing", lambda: ch.basic_get(q("nope")))
ch = channel()
attempt("consume, missing", lambda: ch.basic_consume(q("nope"), on_message))
ch = channel()
attempt("purge, missing", lambda: ch.queue_purge(q("nope")))
ch = channel()
ch.basic_ack(99)
attempt("after ack 99", lambda: ch.queue_declare(q("q"), passive=True))
ch = channel()
other.basic_publish("", q("q"), b"m")
settled("published on the other channel", q("q"), 1)
attempt("get", lambda: ch.basic_get(q("q")))
ch.basic_ack(1)
ch.basic_ack(1)
attempt("after a second ack", lambda: ch.queue_declare(q("q"), passive=True))
ch = channel()
ch.basic_reject(5)
attempt("after reject 5", lambda: ch.queue_declare(q("q"), passive=True))
ch = channel()
ch.basic_nack(3, multiple=True)
attempt("after nack 3 multiple", lambda: ch.queue_declare(q("q"), passive=True))
ch = channel()
attempt("publish to a missing exchange",
    lambda: (ch.basic_publish("nope", q("q"), b"m"),
    ch.queue_declare(q("q"), passive=True)))
attempt("the other channel", lambda: other.queue_declare(q("q"), passive=True))
PY
}

@test "amqp differential: reuse of a consumer tag" {
	differ <<'PY'
ch.queue_declare(q("q"))
attempt("consume", lambda: ch.basic_consume(q("q"), on_message, consumer_tag="t"))
# pika refuses a tag it knows, so the second consume goes out by hand.
c._impl._send_method(ch.channel_number,
    pika.spec.Basic.Consume(queue=q("q"), consumer_tag="t"))
attempt("consume, same tag", lambda: ch.queue_declare(q("q"), passive=True))
PY
}

@test "amqp differential: what is not implemented (540)" {
	differ <<'PY'
ch.queue_declare(q("q"))
attempt("qos prefetch_size", lambda: ch.basic_qos(prefetch_size=100))
c = connect()
ch = channel()
attempt("recover requeue=false", lambda: ch.basic_recover(requeue=False))
PY
}

@test "amqp differential: properties and a headers table of every type" {
	differ <<'PY'
ch.queue_declare(q("q"))
headers = {
	"str": "text", "bytes": b"\x00\xffraw", "empty": "",
	"int": 7, "neg": -40000, "big": 2**40, "bool": True, "false": False,
	"decimal": decimal.Decimal("3.14"),
	"time": datetime.datetime(2024, 5, 1, 12, 30, 45),
	"void": None, "list": [1, "two", [3], {"four": 4}],
	"table": {"nested": {"deep": "yes"}, "n": 1},
}
p = pika.BasicProperties(content_type="application/json",
    content_encoding="gzip", headers=headers, delivery_mode=2, priority=5,
    correlation_id="corr", reply_to="replies", expiration="60000",
    message_id="id-1", timestamp=1700000000, type="kind", user_id="guest",
    app_id="app", cluster_id="cluster")
ch.basic_publish("", q("q"), b"{}", properties=p)
ch.basic_publish("", q("q"), b"none")
ch.basic_publish("", q("q"), b"{}", properties=p)
attempt("get", lambda: ch.basic_get(q("q"), auto_ack=True))
attempt("get", lambda: ch.basic_get(q("q"), auto_ack=True))
ch.basic_consume(q("q"), on_message, auto_ack=True, consumer_tag="t")
pump(c, lambda: len(deliveries) == 1)
message("delivered", *deliveries[0][1:])
PY
}

# The prelude of the dead-lettering scenarios: dead(label, queue) gets
# one message, its x-death times masked (their type is kept).
DEAD_PRELUDE='
def dead(label, name):
	r = ch.basic_get(name, auto_ack=True)
	if r[0] is not None and r[1].headers:
		for d in r[1].headers.get("x-death", []):
			d["time"] = "<%s>" % type(d["time"]).__name__
	message(label + " ->", *r) if r[0] is not None else say(label, "-> empty")
ch.exchange_declare(q("dlx"), "direct")
ch.queue_declare(q("dead"))
ch.queue_bind(q("dead"), q("dlx"), "dead-key")
'

# differ_dead: differ, the scenario on stdin after DEAD_PRELUDE.
differ_dead() {
	# Not a pipe into differ: its servers must be this shell's to stop.
	{ printf '%s' "$DEAD_PRELUDE"; cat; } > dead-scenario.py
	differ < dead-scenario.py
}

@test "amqp differential: dead letters rejected, with their own key and another" {
	differ_dead <<'PY'
ch.queue_bind(q("dead"), q("dlx"), q("work"))
ch.queue_declare(q("work"), arguments={"x-dead-letter-exchange": q("dlx")})
ch.queue_declare(q("keyed"), arguments={"x-dead-letter-exchange": q("dlx"),
    "x-dead-letter-routing-key": "dead-key"})
p = pika.BasicProperties(content_type="text/plain",
    headers={"a": "1", "zz": 2})
ch.basic_publish("", q("work"), b"rejected", properties=p)
ch.basic_publish("", q("keyed"), b"nacked", properties=p)
settled("work", q("work"), 1)
settled("keyed", q("keyed"), 1)
m = ch.basic_get(q("work"))[0]
ch.basic_reject(m.delivery_tag, requeue=False)
settled("dead", q("dead"), 1)
dead("own key", q("dead"))
m = ch.basic_get(q("keyed"))[0]
ch.basic_nack(m.delivery_tag, requeue=False)
settled("dead", q("dead"), 1)
dead("dead-letter key", q("dead"))
PY
}

@test "amqp differential: dead letters expired, pushed out or refused by max-length, and a cycle" {
	differ_dead <<'PY'
ch.queue_declare(q("ttl"), arguments={"x-dead-letter-exchange": q("dlx"),
    "x-dead-letter-routing-key": "dead-key", "x-message-ttl": 20})
ch.queue_declare(q("short"), arguments={"x-dead-letter-exchange": q("dlx"),
    "x-dead-letter-routing-key": "dead-key", "x-max-length": 1})
ch.basic_publish("", q("ttl"), b"too late")
settled("dead", q("dead"), 1)
dead("expired", q("dead"))
ch.basic_publish("", q("short"), b"first")
ch.basic_publish("", q("short"), b"second")
settled("dead", q("dead"), 1)
dead("maxlen", q("dead"))
# It pushes "second" out, then expires: both, in that order.
ch.basic_publish("", q("short"), b"expiring",
    properties=pika.BasicProperties(expiration="100"))
settled("dead", q("dead"), 2)
dead("maxlen again", q("dead"))
dead("per-message expiration", q("dead"))
ch.queue_declare(q("full"), arguments={"x-dead-letter-exchange": q("dlx"),
    "x-dead-letter-routing-key": "dead-key", "x-max-length": 1,
    "x-overflow": "reject-publish-dlx"})
ch.basic_publish("", q("full"), b"kept")
ch.basic_publish("", q("full"), b"refused")
settled("dead", q("dead"), 1)
dead("reject-publish-dlx", q("dead"))
settled("full", q("full"), 1)
ch.queue_declare(q("loop"), arguments={"x-dead-letter-exchange": q("dlx"),
    "x-dead-letter-routing-key": "loop-key"})
ch.queue_bind(q("loop"), q("dlx"), "loop-key")
ch.basic_publish("", q("loop"), b"round")
for i in range(2):
	settled("loop", q("loop"), 1)
	m = ch.basic_get(q("loop"))[0]
	ch.basic_reject(m.delivery_tag, requeue=False)
settled("loop", q("loop"), 1)
dead("twice rejected", q("loop"))
PY
}

@test "amqp differential: x-max-length-bytes refuses, drops the oldest, dead-letters" {
	differ_dead <<'PY'
# The bodies count, as RabbitMQ counts: 100 + 100 leave no room for 100
# more, but for 10, and for an empty one; drop-head drops the new one
# too when it alone is over.
confirmed = channel()
confirmed.confirm_delivery()
for overflow in ("reject-publish", "drop-head"):
	name = q("bytes-" + overflow)
	confirmed.queue_declare(name, arguments={"x-max-length-bytes": 250,
	    "x-overflow": overflow})
	for i, n in enumerate((100, 100, 100, 10, 300, 0)):
		try:
			confirmed.basic_publish("", name, bytes([65 + i]) * n)
			say(overflow, n, "bytes -> ack")
		except pika.exceptions.NackError:
			say(overflow, n, "bytes -> nack")
	while True:
		r = ch.basic_get(name, auto_ack=True)
		if r[0] is None:
			break
		say(overflow, "kept", r[2][:1], len(r[2]))
ch.queue_declare(q("bytes-dlx"), arguments={"x-dead-letter-exchange":
    q("dlx"), "x-dead-letter-routing-key": "dead-key",
    "x-max-length-bytes": 150})
ch.basic_publish("", q("bytes-dlx"), b"a" * 100)
ch.basic_publish("", q("bytes-dlx"), b"b" * 100)
settled("dead", q("dead"), 1)
dead("pushed out by bytes", q("dead"))
settled("bytes-dlx", q("bytes-dlx"), 1)
PY
}

@test "amqp differential: malformed frames and frames out of place (raw)" {
	differ rawamqp.py <<'PY'
def refused(label, *frames):
	"""Sends the frames on a connection with channel 1 open; says how
	the server closed it.  (Payloads are not printable: Erlang quotes
	those as a string, the door always as numbers.)"""
	conn = Conn()
	conn.handshake()
	conn.open_channel(1)
	conn.send(*frames)
	try:
		m = conn.expect(pika.spec.Connection.Close, 0)
	except EOFError:
		print(label, "-> closed without connection.close")
		return
	print(label, "->", m.reply_code, m.reply_text, m.class_id, m.method_id)
	conn.sock.close()

publish = method(1, pika.spec.Basic.Publish(exchange="", routing_key="q"))
header = pika.frame.Header(1, 4, pika.spec.BasicProperties()).marshal()
refused("over frame_max", raw_frame(1, 1, b"\x00" * 200000))
refused("end octet", raw_frame(1, 0, b"\x00\x14\x00\x0a\x00", end=b"\x00"))
refused("frame type 5", raw_frame(5, 1, b"\x01"))
refused("heartbeat with a payload", raw_frame(8, 0, b"\x01"))
refused("channel not open", method(3, pika.spec.Basic.Qos(prefetch_count=1)))
refused("channel opened twice", method(1, pika.spec.Channel.Open()))
refused("body first", raw_frame(3, 1, b"body"))
refused("publish, then a method", publish,
    method(1, pika.spec.Basic.Qos(prefetch_count=1)))
refused("publish, then a body", publish, raw_frame(3, 1, b"body"))
refused("publish, then a header of class 50", publish,
    raw_frame(2, 1, struct.pack(">HHQH", 50, 0, 4, 0)))
refused("header first", header)
print("ok")
PY
}

@test "amqp differential: stream queues: declares, offsets and their header, refusals" {
	differ <<'PY'
S = {"x-queue-type": "stream"}
attempt("transient", lambda: ch.queue_declare(q("s"), arguments=S))
ch = channel()
attempt("exclusive", lambda: ch.queue_declare(q("s"), durable=True,
    exclusive=True, arguments=S))
ch = channel()
attempt("auto-delete", lambda: ch.queue_declare(q("s"), durable=True,
    auto_delete=True, arguments=S))
ch = channel()
attempt("server-named", lambda: ch.queue_declare("", durable=True,
    arguments=S))
ch = channel()
attempt("ttl", lambda: ch.queue_declare(q("s"), durable=True,
    arguments=dict(S, **{"x-message-ttl": 5})))
ch = channel()
attempt("max-age", lambda: ch.queue_declare(q("s"), durable=True,
    arguments=dict(S, **{"x-max-age": "1X"})))
ch = channel()
attempt("declare", lambda: ch.queue_declare(q("s"), durable=True,
    arguments=S))
attempt("classic again", lambda: ch.queue_declare(q("s"), durable=True))
ch = channel()
ch.confirm_delivery()
ch.basic_publish("", q("s"), b"m0", pika.BasicProperties(headers={"a": "b"}))
for i in range(1, 4):
	ch.basic_publish("", q("s"), b"m%d" % i)
settled("passive", q("s"), 4)
ch = channel()
attempt("consume, no qos", lambda: ch.basic_consume(q("s"), on_message))
ch = channel()
ch.basic_qos(prefetch_count=3)
for tag, offset in (("first", "first"), ("two", 2), ("last", "last")):
	attempt("consume " + tag, lambda: ch.basic_consume(q("s"), on_message,
	    consumer_tag=tag, arguments={"x-stream-offset": offset}))
	pump(c, lambda: sum(d[0] == tag for d in deliveries) ==
	    {"first": 3, "two": 2, "last": 1}[tag])
	attempt("cancel", lambda: ch.basic_cancel(tag))
for d in deliveries:
	message("delivered", *d[1:])
ch.basic_ack(0, multiple=True)
attempt("get", lambda: ch.basic_get(q("s")))
c = connect()
ch = channel()
ch.basic_qos(prefetch_count=3)
attempt("consume, auto-ack", lambda: ch.basic_consume(q("s"), on_message,
    auto_ack=True))
c = connect()
ch = channel()
attempt("purge", lambda: ch.queue_purge(q("s")))
c = connect()
ch = channel()
attempt("delete", lambda: ch.queue_delete(q("s")))
PY
}

@test "amqp differential: a priority queue, by get, with requeues and counts" {
	differ <<'PY'
ch.queue_declare(q("pq"), arguments={"x-max-priority": 4})
for body, p in [("a", None), ("b", 2), ("c", 4), ("d", 1), ("e", 9),
    ("f", 2), ("g", 0)]:
	ch.basic_publish("", q("pq"), body, pika.BasicProperties(priority=p))
settled("published", q("pq"), 7)
for i in range(3):
	attempt("get", lambda: ch.basic_get(q("pq")))
ch.basic_nack(3, multiple=True, requeue=True)
settled("handed back", q("pq"), 7)
for i in range(4):
	attempt("get", lambda: ch.basic_get(q("pq")))
attempt("purge", lambda: ch.queue_purge(q("pq")))
ch.basic_nack(0, multiple=True, requeue=True)
attempt("delete", lambda: ch.queue_delete(q("pq")))
PY
}

@test "amqp differential: a single active consumer and its successors" {
	differ <<'PY'
ch.queue_declare(q("sac"), arguments={"x-single-active-consumer": True})
ch.basic_qos(prefetch_count=5)
ch.basic_consume(q("sac"), on_message, consumer_tag="first")
ch2 = channel()
ch2.basic_consume(q("sac"), on_message, consumer_tag="second")
ch3 = channel()
ch3.basic_consume(q("sac"), on_message, consumer_tag="third", auto_ack=True)
for i in range(2):
	ch.basic_publish("", q("sac"), b"m%d" % i)
pump(c, lambda: len(deliveries) == 2)
attempt("passive", lambda: ch.queue_declare(q("sac"), passive=True))
attempt("cancel first", lambda: ch.basic_cancel("first"))
ch2.basic_publish("", q("sac"), b"m2")
pump(c, lambda: len(deliveries) == 3)
ch.close()
pump(c, lambda: len(deliveries) == 5)
attempt("cancel second", lambda: ch2.basic_cancel("second"))
ch2.basic_publish("", q("sac"), b"last")
pump(c, lambda: len(deliveries) == 6)
for d in deliveries:
	message("delivered by " + d[0], *d[1:])
PY
}

@test "amqp differential: consumer priorities" {
	differ <<'PY'
ch.queue_declare(q("cp"))
lo, hi = channel(), channel()
hi.basic_qos(prefetch_count=2)
lo.basic_consume(q("cp"), on_message, consumer_tag="lo", auto_ack=True)
hi.basic_consume(q("cp"), on_message, consumer_tag="hi",
    arguments={"x-priority": 5})
for i in range(4):
	ch.basic_publish("", q("cp"), b"m%d" % i)
pump(c, lambda: len(deliveries) == 4)
hi.basic_ack(0, multiple=True)
for i in range(4, 6):
	ch.basic_publish("", q("cp"), b"m%d" % i)
pump(c, lambda: len(deliveries) == 6)
# Deliveries to two channels may interleave either way on the wire.
for d in sorted(deliveries, key=lambda d: (d[0], d[1].delivery_tag)):
	message("delivered by " + d[0], *d[1:])
attempt("x-priority a string", lambda: ch.basic_consume(q("cp"), on_message,
    arguments={"x-priority": "high"}))
ch = channel()
attempt("x-priority a bool", lambda: ch.basic_consume(q("cp"), on_message,
    arguments={"x-priority": True}))
PY
}
