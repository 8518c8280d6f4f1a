#!/usr/bin/env bats
# queues.bats - the AMQP door's queue declarations with pika: a
# redeclaration that does not match (406 in RabbitMQ's words), bad
# arguments (406), exclusive queues (405 from another connection, gone
# with their connection), exclusive consumers (403), auto-delete after
# the last consumer, the arguments as the stream's policy (ttl,
# max-length with drop-head and reject-publish, the delivery limit with
# x-delivery-count), x-expires, and durable and transient queues across a
# restart of the server.

load ../lib.sh
load amqp.sh

# no_key NAME: the server under test has no key NAME.
no_key() {
	[ "$(redis-cli -p "$MQ_PORT" EXISTS "$1")" = 0 ]
}

@test "amqp queues: a redeclaration with other flags or arguments is 406" {
	amqp_up
	pika_script <<'PY'
pre = "PRECONDITION_FAILED - inequivalent arg "
ch.queue_declare("q", arguments={"x-message-ttl": 1000})
# The same again, with arguments RabbitMQ does not know, or naming the
# one queue type, is taken.
ch.queue_declare("q", arguments={"x-message-ttl": 1000, "other": 1})
ch.queue_declare("q", arguments={"x-message-ttl": 1000,
    "x-queue-type": "classic"})
refused(lambda: ch.queue_declare("q", arguments={"x-message-ttl": 2000}),
    406, pre + "'x-message-ttl' for queue 'q' in vhost '/': received "
    "'2000' but current is '1000'")
ch = c.channel()
refused(lambda: ch.queue_declare("q"), 406, pre + "'x-message-ttl' for "
    "queue 'q' in vhost '/': received none but current is the value "
    "'1000' of type 'signedint'")
ch = c.channel()
ch.queue_declare("plain")
refused(lambda: ch.queue_declare("plain", arguments={"x-overflow":
    "reject-publish"}), 406, pre + "'x-overflow' for queue 'plain' in "
    "vhost '/': received the value 'reject-publish' of type 'longstr' but "
    "current is none")
ch = c.channel()
ch.queue_declare("d", durable=True)
refused(lambda: ch.queue_declare("d"), 406, pre + "'durable' for queue "
    "'d' in vhost '/': received 'false' but current is 'true'")
ch = c.channel()
refused(lambda: ch.queue_declare("d", durable=True, auto_delete=True),
    406, pre + "'auto_delete' for queue 'd' in vhost '/': received 'true' "
    "but current is 'false'")
ch = c.channel()
# A passive declare compares nothing.
assert ch.queue_declare("q", passive=True).method.queue == "q"
print("ok")
PY
}

@test "amqp queues: bad arguments are 406 in RabbitMQ's words" {
	amqp_up
	pika_script <<'PY'
pre = "PRECONDITION_FAILED - "
cases = [
	({"x-message-ttl": -1}, "invalid arg 'x-message-ttl' for queue 'b' in "
	    "vhost '/': {value_negative,-1}"),
	({"x-message-ttl": "x"}, "invalid arg 'x-message-ttl' for queue 'b' in "
	    "vhost '/': \"expected integer, got longstr\""),
	({"x-expires": 0}, "invalid arg 'x-expires' for queue 'b' in vhost "
	    "'/': {value_zero,0}"),
	({"x-max-priority": 300}, "invalid arg 'x-max-priority' for queue 'b' "
	    "in vhost '/': {max_value_exceeded,300}"),
	({"x-overflow": "nope"}, "invalid arg 'x-overflow' for queue 'b' in "
	    "vhost '/': invalid_overflow"),
	({"x-overflow": 3}, "invalid arg 'x-overflow' for queue 'b' in vhost "
	    "'/': {unacceptable_type,signedint}"),
	({"x-dead-letter-exchange": 3}, "invalid type 'signedint' for arg "
	    "'x-dead-letter-exchange' in queue 'b' in vhost '/'"),
	({"x-dead-letter-routing-key": "k"}, "invalid arg "
	    "'x-dead-letter-routing-key' for queue 'b' in vhost '/': "
	    "routing_key_but_no_dlx_defined"),
	({"x-single-active-consumer": 1}, "invalid arg "
	    "'x-single-active-consumer' for queue 'b' in vhost '/': "
	    "{unacceptable_type,signedint}"),
]
for args, text in cases:
	ch = c.channel()
	refused(lambda: ch.queue_declare("b", arguments=args), 406, pre + text)
ch = c.channel()
ch.queue_declare("b", arguments={"x-max-priority": 9,
    "x-single-active-consumer": True, "x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "k"})
print("ok")
PY
}

@test "amqp queues: another connection's exclusive queue is 405, and goes with it" {
	amqp_up
	pika_script <<'PY'
locked = ("RESOURCE_LOCKED - cannot obtain exclusive access to locked "
    "queue 'x' in vhost '/'. It could be originally declared on another "
    "connection or the exclusive property value does not match that of "
    "the original declaration.")
ch.queue_declare("x", exclusive=True)
ch.basic_publish("", "x", "mine")
# Its own connection uses it, on any channel.
assert c.channel().queue_declare("x", passive=True).method.message_count == 1
other = connect()
for call in (lambda o: o.queue_declare("x", exclusive=True),
    lambda o: o.queue_declare("x"),
    lambda o: o.queue_declare("x", passive=True),
    lambda o: o.basic_consume("x", lambda *a: None),
    lambda o: o.basic_get("x"),
    lambda o: o.queue_purge("x"),
    lambda o: o.queue_delete("x")):
	o = other.channel()
	refused(lambda: call(o), 405, locked)
# Not exclusive of its own connection either, as RabbitMQ.
ch2 = c.channel()
refused(lambda: ch2.queue_declare("x"), 405, locked)
c.close()
# Gone with its connection.
o = other.channel()
refused(lambda: o.queue_declare("x", passive=True), 404,
    "NOT_FOUND - no queue 'x' in vhost '/'")
print("ok")
PY
	no_key x
}

@test "amqp queues: an exclusive consumer is the queue's only one (403)" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("e")
ch.basic_consume("e", lambda *a: None, exclusive=True)
o = connect().channel()
refused(lambda: o.basic_consume("e", lambda *a: None), 403,
    "ACCESS_REFUSED - queue 'e' in vhost '/' in exclusive use")
ch.queue_declare("f")
ch.basic_consume("f", lambda *a: None)
o = connect().channel()
refused(lambda: o.basic_consume("f", lambda *a: None, exclusive=True), 403,
    "ACCESS_REFUSED - queue 'f' in vhost '/' in exclusive use")
o = connect().channel()
refused(lambda: o.queue_delete("f", if_unused=True), 406,
    "PRECONDITION_FAILED - queue 'f' in vhost '/' in use")
print("ok")
PY
}

@test "amqp queues: auto-delete goes with its last consumer, not before it had one" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("a", auto_delete=True)
ch.basic_publish("", "a", "m")
pump(c, lambda: ch.queue_declare("a", passive=True).method.message_count == 1)
t1 = ch.basic_consume("a", lambda *a: None)
t2 = ch.basic_consume("a", lambda *a: None)
ch.basic_cancel(t1)
assert ch.queue_declare("a", passive=True).method.queue == "a"
ch.basic_cancel(t2)
def gone():
	o = c.channel()
	try:
		o.queue_declare("a", passive=True)
		o.close()
		return False
	except pika.exceptions.ChannelClosedByBroker as e:
		assert e.reply_code == 404, e
		return True
pump(c, gone)
print("ok")
PY
}

@test "amqp queues: x-message-ttl, x-max-length drop-head, reject-publish, x-delivery-limit" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("ttl", arguments={"x-message-ttl": 100})
ch.basic_publish("", "ttl", "old")
time.sleep(0.3)
ch.basic_publish("", "ttl", "new")
assert ch.basic_get("ttl", auto_ack=True)[2] == b"new"

ch.queue_declare("ml", arguments={"x-max-length": 2})
for i in range(4):
	ch.basic_publish("", "ml", "m%d" % i)
got = []
pump(c, lambda: ch.queue_declare("ml", passive=True).method.message_count == 2)
for i in range(2):
	got.append(ch.basic_get("ml", auto_ack=True)[2])
assert got == [b"m2", b"m3"], got

ch.queue_declare("rp", arguments={"x-max-length": 2,
    "x-overflow": "reject-publish"})
for i in range(4):
	ch.basic_publish("", "rp", "m%d" % i)
pump(c, lambda: ch.queue_declare("rp", passive=True).method.message_count == 2)
assert [ch.basic_get("rp", auto_ack=True)[2] for i in range(2)] == \
    [b"m0", b"m1"]

ch.queue_declare("dl", arguments={"x-delivery-limit": 2})
ch.basic_publish("", "dl", "once")
for i in range(2):
	m, props, body = ch.basic_get("dl")
	assert body == b"once", i
	# Redeliveries say how many came before, as RabbitMQ's quorum queues.
	assert (props.headers or {}).get("x-delivery-count") == \
	    (i if i > 0 else None), props.headers
	ch.basic_nack(m.delivery_tag, requeue=True)
assert ch.basic_get("dl") == (None, None, None)
# A consumer's redelivery says it too.
ch.basic_publish("", "dl", "twice")
got = []
def take(c2, m, props, body):
	got.append((props.headers or {}).get("x-delivery-count"))
	c2.basic_nack(m.delivery_tag, requeue=len(got) < 2)
ch.basic_consume("dl", take)
pump(c, lambda: len(got) == 2)
assert got == [None, 1], got
print("ok")
PY
}

@test "amqp queues: a durable queue outlives the server, a transient one does not" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("keep", durable=True, arguments={"x-message-ttl": 60000})
ch.queue_declare("temp")
ch.basic_publish("", "keep", "k")
print("ok")
PY
	stop "$MQ_PID"
	amqp_up
	pika_script <<'PY'
assert ch.queue_declare("keep", passive=True).method.message_count == 1
refused(lambda: ch.queue_declare("keep", durable=True), 406,
    "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue "
    "'keep' in vhost '/': received none but current is the value '60000' "
    "of type 'signedint'")
ch = c.channel()
refused(lambda: ch.queue_declare("temp", passive=True), 404,
    "NOT_FOUND - no queue 'temp' in vhost '/'")
print("ok")
PY
}

@test "amqp queues: x-expires removes a queue unused for that long, not one in use" {
	amqp_up
	pika_script <<'PY'
def gone(name):
	def check():
		o = c.channel()
		try:
			o.queue_declare(name, passive=True)
			o.close()
			return False
		except pika.exceptions.ChannelClosedByBroker as e:
			assert e.reply_code == 404, e
			return True
	return check
ch.queue_declare("idle", arguments={"x-expires": 200})
# A priority queue's too (its levels are declared after it).
ch.queue_declare("prio", arguments={"x-expires": 200, "x-max-priority": 3})
ch.queue_declare("used", arguments={"x-expires": 200})
tag = ch.basic_consume("used", lambda *a: None)
pump(c, gone("idle"))
pump(c, gone("prio"))
# Its consumer keeps it past its expiry; it counts from the consumer's end.
end = time.monotonic() + 0.5
pump(c, lambda: time.monotonic() > end)
assert ch.queue_declare("used", passive=True).method.consumer_count == 1
ch.basic_cancel(tag)
pump(c, gone("used"))
print("ok")
PY
	no_key idle
	no_key used
}

@test "amqp queues: x-expires counts again from a restart of the server" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("later", durable=True, arguments={"x-expires": 300})
print("ok")
PY
	stop "$MQ_PID"
	amqp_up
	wait_until no_key later
}

@test "amqp queues: a message's expiration, and bad ones refused in RabbitMQ's words" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("exp")
# Confirmed, so in the queue; a count could miss "short", which the
# server expires on time.
ch.confirm_delivery()
ch.basic_publish("", "exp", "short", pika.BasicProperties(expiration="100"))
ch.basic_publish("", "exp", "long", pika.BasicProperties(expiration="60000"))
ch.basic_publish("", "exp", "none")
time.sleep(0.3)		# the time for "short" to expire, not a wait for the server
m, props, body = ch.basic_get("exp", auto_ack=True)
# The expiration comes back as it was sent, and nothing of libmq's deadline.
assert (body, props.expiration, props.headers) == (b"long", "60000", None), \
    (body, props)
assert ch.basic_get("exp", auto_ack=True)[2] == b"none"
for exp, why in (("abc", "no_integer"), ("-5", "{value_negative,-5}"),
    ("1.5", '{leftover_string,".5"}'), ("", "no_integer")):
	ch = c.channel()
	def publish():
		ch.basic_publish("", "exp", "x", pika.BasicProperties(expiration=exp))
		ch.queue_declare("exp", passive=True)
	refused(publish, 406, "PRECONDITION_FAILED - invalid expiration '%s': %s"
	    % (exp, why))
print("ok")
PY
	# The expired one is a dead letter, as with x-message-ttl.
	run "$MQ_BIN/mq-dlq" list exp
	echo "$output"
	[[ "$output" == *short* ]]
}
