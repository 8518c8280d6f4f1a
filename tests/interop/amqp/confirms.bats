#!/usr/bin/env bats
# confirms.bats - publisher confirms and transactions through the AMQP
# door: pika's confirm_delivery (acks, a mandatory message no queue
# takes comes back before its ack), a raw client's run of publishes
# confirmed in order and in fewer frames than messages, confirms under
# --fsync always, tx.select/commit/rollback of publishes and of acks,
# and the 406s of mixing the two modes.

load ../lib.sh
load amqp.sh

@test "amqp confirms: pika's confirm_delivery gets an ack for each publish" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="c")
ch.confirm_delivery()
for i in range(50):
	ch.basic_publish(exchange="", routing_key="c", body="m%d" % i)
assert ch.queue_declare(queue="c", passive=True).method.message_count == 50
# A message no queue takes is acked too; with mandatory it comes back first.
ch.basic_publish(exchange="", routing_key="nowhere", body="lost")
try:
	ch.basic_publish(exchange="", routing_key="nowhere", body="back",
	    mandatory=True)
	raise SystemExit("no basic.return")
except pika.exceptions.UnroutableError as e:
	assert [m.body for m in e.messages] == [b"back"], e.messages
ch.basic_publish(exchange="", routing_key="c", body="after")
# Through exchanges: to the queues bound, amq.topic's too, or to none.
ch.queue_bind(queue="c", exchange="amq.direct", routing_key="d")
ch.queue_bind(queue="c", exchange="amq.topic", routing_key="t.*")
ch.basic_publish(exchange="amq.direct", routing_key="d", body="direct")
ch.basic_publish(exchange="amq.topic", routing_key="t.x", body="topic")
ch.basic_publish(exchange="amq.direct", routing_key="none", body="lost")
try:
	ch.basic_publish(exchange="amq.topic", routing_key="none", body="back",
	    mandatory=True)
	raise SystemExit("no basic.return")
except pika.exceptions.UnroutableError as e:
	assert [m.body for m in e.messages] == [b"back"], e.messages
print("ok")
PY
	run redis-cli -p "$MQ_PORT" XLEN c
	[ "$output" = 53 ]
}

@test "amqp confirms: a run of publishes is confirmed in order, several to a frame" {
	amqp_up
	raw <<'PY'
a = Conn()
start = a.handshake()
assert start.server_properties["capabilities"]["publisher_confirms"] is True
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="c")))
a.expect(pika.spec.Queue.DeclareOk, 1)
a.send(method(1, pika.spec.Confirm.Select()))
a.expect(pika.spec.Confirm.SelectOk, 1)
# nowait: no select-ok, and the mode stays.
a.send(method(1, pika.spec.Confirm.Select(nowait=True)))
frames = []
for i in range(200):
	body = b"m%d" % i
	frames.append(method(1, pika.spec.Basic.Publish(routing_key="c")))
	frames.append(pika.frame.Header(1, len(body),
	    pika.spec.BasicProperties()).marshal())
	frames.append(raw_frame(3, 1, body))
a.send(b"".join(frames))
confirmed, acks = 0, 0
while confirmed < 200:
	m = a.expect(pika.spec.Basic.Ack, 1)
	acks += 1
	assert m.delivery_tag > confirmed, (m.delivery_tag, confirmed)
	# Without multiple, an ack confirms the next one only.
	assert m.multiple or m.delivery_tag == confirmed + 1, m
	confirmed = m.delivery_tag
assert confirmed == 200, confirmed
print("ack frames:", acks)
assert acks < 200, acks
print("ok")
PY
	run redis-cli -p "$MQ_PORT" XLEN c
	[ "$output" = 200 ]
}

@test "amqp confirms: under --fsync always each publish is still confirmed, and consumed" {
	amqp_up --fsync always
	pika_script <<'PY'
ch.queue_declare(queue="c", durable=True)
ch.confirm_delivery()
for i in range(20):
	ch.basic_publish(exchange="", routing_key="c", body="m%d" % i,
	    properties=pika.BasicProperties(delivery_mode=2))
# Deliveries (which wait for no sync) and the acks that follow them.
got = []
def take(c, m, p, b):
	got.append(b)
	c.basic_ack(m.delivery_tag)
ch.basic_qos(prefetch_count=5)
ch.basic_consume("c", take)
pump(c, lambda: len(got) == 20)
assert got == [b"m%d" % i for i in range(20)], got
c.close()
print("ok")
PY
	wait_until none_pending c
	run redis-cli -p "$MQ_PORT" XLEN c
	[ "$output" = 20 ]
}

@test "amqp tx: publishes wait for the commit, a rollback forgets them" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="t")
other = c.channel()
ch.tx_select()
ch.basic_publish(exchange="", routing_key="t", body="one")
ch.basic_publish(exchange="", routing_key="t", body="two")
assert other.queue_declare(queue="t", passive=True).method.message_count == 0
ch.tx_commit()
assert other.queue_declare(queue="t", passive=True).method.message_count == 2
ch.basic_publish(exchange="", routing_key="t", body="three")
ch.tx_rollback()
ch.tx_commit()
assert other.queue_declare(queue="t", passive=True).method.message_count == 2
assert other.basic_get("t", auto_ack=True)[2] == b"one"
assert other.basic_get("t", auto_ack=True)[2] == b"two"
print("ok")
PY
}

@test "amqp tx: acks wait for the commit, a rollback and a close hand them back" {
	amqp_up
	pika_script <<'PY'
fill("t", 3)
ch.tx_select()
m0 = ch.basic_get("t")[0]
ch.basic_ack(m0.delivery_tag)
ch.tx_rollback()
# Rolled back: still this channel's, and an ack of it now is known.
m1 = ch.basic_get("t")[0]
ch.basic_ack(m0.delivery_tag)
ch.basic_ack(m1.delivery_tag)
ch.tx_commit()
m2 = ch.basic_get("t")[0]
ch.basic_reject(m2.delivery_tag, requeue=False)
ch.close()
# The reject was not committed: the close handed m2 back.
ch = c.channel()
m, _, body = ch.basic_get("t", auto_ack=True)
assert (body, m.redelivered) == (b"m2", True), (body, m)
assert ch.basic_get("t") == (None, None, None)
print("ok")
PY
	none_pending t
	run "$MQ_BIN/mq-dlq" list t
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "amqp tx: a consumer at its prefetch gets the next message once its ack is committed" {
	amqp_up
	pika_script <<'PY'
fill("t", 3)
ch.tx_select()
ch.basic_qos(prefetch_count=1)
got = []
def take(chx, m, p, body):
	got.append(body)
	chx.basic_ack(m.delivery_tag)
	chx.tx_commit()
ch.basic_consume("t", take)
pump(c, lambda: len(got) == 3)
assert got == [b"m0", b"m1", b"m2"], got
print("ok")
PY
}

@test "amqp tx: a mandatory publish no queue takes comes back at the commit" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Tx.Select()))
a.expect(pika.spec.Tx.SelectOk, 1)
body = b"nobody"
a.send(method(1, pika.spec.Basic.Publish(routing_key="nowhere",
    mandatory=True)), pika.frame.Header(1, len(body),
    pika.spec.BasicProperties()).marshal(), raw_frame(3, 1, body),
    method(1, pika.spec.Tx.Commit()))
m = a.expect(pika.spec.Basic.Return, 1)
assert (m.reply_code, m.routing_key) == (312, "nowhere"), m
a.read()	# its content header
assert a.read_raw() == (3, 1, body)
a.expect(pika.spec.Tx.CommitOk, 1)
print("ok")
PY
}

@test "amqp tx and confirms: the modes do not mix, and a commit needs tx.select" {
	amqp_up
	pika_script <<'PY'
refused(ch.tx_commit, 406,
    "PRECONDITION_FAILED - channel is not transactional")
ch = c.channel()
refused(ch.tx_rollback, 406,
    "PRECONDITION_FAILED - channel is not transactional")
ch = c.channel()
ch.confirm_delivery()
refused(ch.tx_select, 406,
    "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
ch = c.channel()
ch.tx_select()
refused(ch.confirm_delivery, 406,
    "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
print("ok")
PY
}

@test "amqp confirms: a publish the full disk refuses is nacked, and the channel goes on" {
	require_full_disk
	MQ_SERVE_CMD=serve_full_disk amqp_up
	head -c 12M /dev/zero > "/proc/$MQ_PID/root$MQ_SPOOL.disk/fill"
	# libmq looks at the free space once a megabyte is written, then at
	# each append until one succeeds.
	pika_script <<'PY'
ch.queue_declare(queue="big")
ch.confirm_delivery()
body = b"x" * 400000
for i in range(10):
	try:
		ch.basic_publish(exchange="", routing_key="big", body=body)
	except pika.exceptions.NackError:
		break
else:
	raise SystemExit("never nacked")
# The channel goes on.
ch.queue_declare(queue="big", passive=True)
print("ok")
PY
	grep -qF "publish to 'big' nacked: " "$MQ_SPOOL.log"
	rm "/proc/$MQ_PID/root$MQ_SPOOL.disk/fill"
	pika_script <<'PY'
ch.confirm_delivery()
ch.basic_publish(exchange="", routing_key="big", body=b"room again")
print("ok")
PY
}

@test "amqp confirms: a queue at its x-max-length with reject-publish nacks the publish" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare(queue="small", arguments={"x-max-length": 1,
    "x-overflow": "reject-publish"})
ch.confirm_delivery()
ch.basic_publish(exchange="", routing_key="small", body="fits")
try:
	ch.basic_publish(exchange="", routing_key="small", body="refused")
	raise SystemExit("acked past x-max-length")
except pika.exceptions.NackError:
	pass
# The channel goes on, and the queue holds the first.
assert ch.queue_declare(queue="small", passive=True).method.message_count == 1
print("ok")
PY
}
