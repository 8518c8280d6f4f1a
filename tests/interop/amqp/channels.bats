#!/usr/bin/env bats
# channels.bats - channel errors of the AMQP door, with a raw client: an
# error that concerns one channel (404, 403, 406) closes that channel
# with channel.close, RabbitMQ's code and text and the method at fault;
# what comes on it until close-ok is dropped, a publish's content frames
# included; the connection and its other channels go on, and the
# channel can be opened again once closed.

load ../lib.sh
load amqp.sh

@test "amqp channel errors: a passive declare of a missing queue closes that channel only" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.open_channel(2)
a.send(method(1, pika.spec.Queue.Declare(queue="missing", passive=True)))
m = a.expect(pika.spec.Channel.Close, 1)
assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (404,
    "NOT_FOUND - no queue 'missing' in vhost '/'", 50, 10), m
# Until its close-ok, channel 1 takes nothing: not a publish and its
# content, not a declare, not another open.  Channel 2 goes on.
a.send(method(1, pika.spec.Basic.Publish(exchange="", routing_key="q")),
    raw_frame(2, 1, pika.frame.Header(1, 2,
        pika.spec.BasicProperties()).marshal()[7:-1]),
    raw_frame(3, 1, b"hi"),
    method(1, pika.spec.Queue.Declare(queue="q")),
    method(1, pika.spec.Channel.Open()),
    method(2, pika.spec.Queue.Declare(queue="q2")))
ok = a.expect(pika.spec.Queue.DeclareOk, 2)
assert ok.queue == "q2", ok
# Its own close, crossing ours, is answered; our close-ok frees it.
a.send(method(1, pika.spec.Channel.Close(200, "", 0, 0)))
a.expect(pika.spec.Channel.CloseOk, 1)
a.send(method(1, pika.spec.Channel.CloseOk()))
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q", passive=True)))
m = a.expect(pika.spec.Channel.Close, 1)
assert m.reply_code == 404, m	# the publish above went nowhere
a.send(method(1, pika.spec.Channel.CloseOk()))
a.send(method(2, pika.spec.Queue.Declare(queue="q2", passive=True)))
a.expect(pika.spec.Queue.DeclareOk, 2)
print("ok")
PY
	grep -q "proto=amqp channel 1 error: NOT_FOUND - no queue 'missing' in vhost '/'" "$MQ_SPOOL.log"
	still_serving
}

@test "amqp channel errors: reserved names, no queue declared, unknown exchanges" {
	amqp_up
	raw <<'PY'
def closed(conn, ch, code, text, cls, meth):
	m = conn.expect(pika.spec.Channel.Close, ch)
	assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (code,
	    text, cls, meth), m
	conn.send(method(ch, pika.spec.Channel.CloseOk()))
	conn.open_channel(ch)

a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="amq.mine")))
closed(a, 1, 403, "ACCESS_REFUSED - queue name 'amq.mine' contains "
    "reserved prefix 'amq.*'", 50, 10)
a.send(method(1, pika.spec.Basic.Get(queue="")))
closed(a, 1, 404, "NOT_FOUND - no previously declared queue", 60, 70)
a.send(method(1, pika.spec.Basic.Consume(queue="nope")))
closed(a, 1, 404, "NOT_FOUND - no queue 'nope' in vhost '/'", 60, 20)
# The content after a publish to an unknown exchange is dropped.
a.send(method(1, pika.spec.Basic.Publish(exchange="logs", routing_key="")),
    raw_frame(2, 1, pika.frame.Header(1, 1,
        pika.spec.BasicProperties()).marshal()[7:-1]),
    raw_frame(3, 1, b"x"))
closed(a, 1, 404, "NOT_FOUND - no exchange 'logs' in vhost '/'", 60, 40)
# The topic exchange's log is not a queue.
a.send(method(1, pika.spec.Queue.Declare(queue="amq.topic",
    passive=True)))
closed(a, 1, 404, "NOT_FOUND - no queue 'amq.topic' in vhost '/'", 50, 10)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
print("ok")
PY
}

@test "amqp consumer tags: the server's for \"\", and one in use is 530" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
a.send(method(1, pika.spec.Basic.Consume(queue="q", consumer_tag="")))
tag = a.expect(pika.spec.Basic.ConsumeOk, 1).consumer_tag
assert tag.startswith("amq.ctag-") and len(tag) == 31, tag
a.send(method(1, pika.spec.Basic.Consume(queue="q", consumer_tag="mine")))
a.expect(pika.spec.Basic.ConsumeOk, 1)
a.send(method(1, pika.spec.Basic.Cancel(consumer_tag="mine")))
assert a.expect(pika.spec.Basic.CancelOk, 1).consumer_tag == "mine"
a.send(method(1, pika.spec.Basic.Cancel(consumer_tag="never")))
a.expect(pika.spec.Basic.CancelOk, 1)
a.send(method(1, pika.spec.Basic.Consume(queue="q", consumer_tag=tag)))
m = a.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (530,
    "NOT_ALLOWED - attempt to reuse consumer tag '%s'" % tag), m
print("ok")
PY
}

@test "amqp ack: an unknown delivery tag closes the channel with 406" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Basic.Ack(delivery_tag=7)))
m = a.expect(pika.spec.Channel.Close, 1)
assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (406,
    "PRECONDITION_FAILED - unknown delivery tag 7", 60, 80), m
a.send(method(1, pika.spec.Channel.CloseOk()),
    method(0, pika.spec.Connection.Close(200, "", 0, 0)))
a.expect(pika.spec.Connection.CloseOk, 0)
print("ok")
PY
}
