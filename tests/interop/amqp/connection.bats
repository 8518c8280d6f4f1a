#!/usr/bin/env bats
# connection.bats - the AMQP door's connections and channels: the
# handshake of real clients (pika, php-amqplib's AMQPLAIN) and of a raw
# client that splits and merges frames anywhere, logins against a users
# file, heartbeats both ways, and every way a client can break the
# protocol: each gets RabbitMQ's reply code and "NAME - text", closes
# that one connection (or channel), and leaves the server and the other
# connections as they were.
#
# The scripts run after rawamqp.py (a raw client) where they need one,
# and print "ok" at the end.

load ../lib.sh
load amqp.sh

@test "amqp: pika connects, sees the server's properties, opens and closes channels" {
	require_program "$MQ_PYTHON"
	amqp_up
	pika_run <<'PY'
import os, pika
c = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
props = c._impl.server_properties
assert props["product"] == "mq", props
# Only what works is announced; pika confirms with both of the first two.
assert props["capabilities"] == {"publisher_confirms": True,
    "basic.nack": True, "authentication_failure_close": True,
    "consumer_cancel_notify": True, "connection.blocked": True,
    "per_consumer_qos": True}, props
chans = [c.channel() for i in range(3)]
assert [ch.channel_number for ch in chans] == [1, 2, 3]
chans[1].close()
again = c.channel()
assert again.channel_number == 2, again.channel_number
assert chans[0].is_open and chans[2].is_open
c.close()
print("ok")
PY
	wait_until grep -q "proto=amqp closed reason=quit" "$MQ_SPOOL.log"
}

@test "amqp: the handshake sent a byte at a time, and all at once" {
	amqp_up
	raw <<'PY'
a = Conn()
a.send_bytewise(HEADER)
a.expect(pika.spec.Connection.Start, 0)
a.send_bytewise(start_ok())
a.expect(pika.spec.Connection.Tune, 0)
a.send_bytewise(tune_ok() + conn_open() + method(1, pika.spec.Channel.Open()))
a.expect(pika.spec.Connection.OpenOk, 0)
a.expect(pika.spec.Channel.OpenOk, 1)

# Everything in one write, the client's close included.
b = Conn()
b.send(HEADER, start_ok(), tune_ok(), conn_open(),
    method(5, pika.spec.Channel.Open()),
    method(5, pika.spec.Channel.Close(200, "bye", 0, 0)),
    method(0, pika.spec.Connection.Close(200, "bye", 0, 0)))
for cls, ch in ((pika.spec.Connection.Start, 0),
    (pika.spec.Connection.Tune, 0), (pika.spec.Connection.OpenOk, 0),
    (pika.spec.Channel.OpenOk, 5), (pika.spec.Channel.CloseOk, 5),
    (pika.spec.Connection.CloseOk, 0)):
	b.expect(cls, ch)
assert b.closed()
print("ok")
PY
}

@test "amqp: the old protocol header is taken, another gets ours back and a close" {
	amqp_up
	raw <<'PY'
a = Conn()
a.send(b"AMQP\x01\x01\x00\x09")
a.expect(pika.spec.Connection.Start, 0)

b = Conn()
b.send(b"GET / HTTP/1.1\r\n\r\n")
assert b.read_bytes(8) == HEADER
assert b.closed()
c = Conn()
c.send(b"AMQP\x00\x00\x08\x00")
assert c.read_bytes(8) == HEADER
assert c.closed()
print("ok")
PY
	still_serving
}

@test "amqp: logins against a users file: PLAIN and AMQPLAIN, right and wrong" {
	require_program /usr/bin/php
	printf 'secret\n' | "$MQ_BIN/mq-serve" --hash-password app > users
	amqp_up --users "$BATS_TEST_TMPDIR/users"
	pika_run <<'PY'
import os, pika
def params(password):
	return pika.ConnectionParameters(host="127.0.0.1",
	    port=int(os.environ["AMQP_PORT"]),
	    credentials=pika.PlainCredentials("app", password))
c = pika.BlockingConnection(params("secret"))
c.channel()
c.close()
try:
	pika.BlockingConnection(params("wrong"))
	raise SystemExit("a wrong password was taken")
except pika.exceptions.ProbableAuthenticationError as e:
	assert "ACCESS_REFUSED - Login was refused using authentication " \
	    "mechanism PLAIN" in str(e), e
print("ok")
PY
	run php -r '
require "/usr/share/php/PhpAmqpLib/autoload.php";
use PhpAmqpLib\Connection\AMQPStreamConnection;
$port = (int)$argv[1];
$c = new AMQPStreamConnection("127.0.0.1", $port, "app", "secret");
$ch = $c->channel();
$ch->close();
$c->close();
try {
	new AMQPStreamConnection("127.0.0.1", $port, "app", "nope");
	echo "taken\n";
} catch (Exception $e) {
	echo get_class($e), ": ", $e->getMessage(), "\n";
}
echo "ok\n";' "$AMQP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN"* ]]
	[ "${lines[${#lines[@]}-1]}" = ok ]
	grep -q "proto=amqp auth mechanism=AMQPLAIN user=app ok" "$MQ_SPOOL.log"
	grep -q "proto=amqp auth mechanism=AMQPLAIN user=app failed" "$MQ_SPOOL.log"
	grep -q "proto=amqp auth mechanism=PLAIN user=app failed" "$MQ_SPOOL.log"
}

@test "amqp: a virtual host other than / is refused with 530" {
	amqp_up
	raw <<'PY'
a = Conn()
a.send(HEADER)
a.expect(pika.spec.Connection.Start, 0)
a.send(start_ok())
a.expect(pika.spec.Connection.Tune, 0)
a.send(tune_ok(), conn_open("nope"))
m = a.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (530, "NOT_ALLOWED - vhost nope not found"), m
assert (m.class_id, m.method_id) == (10, 40), m
a.send(method(0, pika.spec.Connection.CloseOk()))
assert a.closed()
print("ok")
PY
}

@test "amqp: a frame over frame_max, or with a wrong end octet, closes with 501" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(raw_frame(1, 1, b"\x00" * 200000))
m = a.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (501, "FRAME_ERROR - type 1, all "
    "octets = <<>>: {frame_too_large,200000,131064}"), m
assert a.closed()

b = Conn()
b.handshake()
b.send(raw_frame(1, 0, b"\x00\x14\x00\x0a\x00", end=b"\x00"))
m = b.expect(pika.spec.Connection.Close, 0)
assert m.reply_code == 501 and m.reply_text.startswith("FRAME_ERROR - "), m
assert b.closed()
print("ok")
PY
	still_serving
	grep -q "proto=amqp closed reason=protocol error: 501 FRAME_ERROR" "$MQ_SPOOL.log"
}

@test "amqp: an unknown method, or arguments cut short, close with 503 and 502" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(raw_frame(1, 1, struct.pack(">HH", 60, 999)))
m = a.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (503,
    "COMMAND_INVALID - unknown method id {60,999}"), m
# Whatever comes before close-ok is dropped; close-ok ends it.
a.send(method(1, pika.spec.Channel.Close(200, "", 0, 0)),
    method(0, pika.spec.Connection.CloseOk()))
assert a.closed()

b = Conn()
b.handshake()
# channel.open's argument is a short string of 10 bytes: 2 are there.
b.send(raw_frame(1, 1, struct.pack(">HHB", 20, 10, 10) + b"ab"))
m = b.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (502, "SYNTAX_ERROR - cannot decode "
    "channel.open: cut short at out-of-band"), m
print("ok")
PY
	still_serving
}

@test "amqp: channel misuse: not open, opened twice, over channel_max, flow off" {
	amqp_up
	raw <<'PY'
def closed_with(conn, code, text):
	m = conn.expect(pika.spec.Connection.Close, 0)
	assert (m.reply_code, m.reply_text) == (code, text), m
	conn.send(method(0, pika.spec.Connection.CloseOk()))
	assert conn.closed()

a = Conn()
a.handshake()
a.send(method(3, pika.spec.Channel.Flow(True)))
closed_with(a, 504, "CHANNEL_ERROR - expected 'channel.open'")

b = Conn()
b.handshake()
b.open_channel(1)
b.send(method(1, pika.spec.Channel.Open()))
closed_with(b, 504, "CHANNEL_ERROR - second 'channel.open' seen")

c = Conn()
c.send(HEADER)
c.expect(pika.spec.Connection.Start, 0)
c.send(start_ok())
c.expect(pika.spec.Connection.Tune, 0)
c.send(tune_ok(channel_max=4), conn_open())
c.expect(pika.spec.Connection.OpenOk, 0)
c.open_channel(4)
c.send(method(5, pika.spec.Channel.Open()))
closed_with(c, 504, "CHANNEL_ERROR - channel 5 is above channel_max 4")

d = Conn()
d.handshake()
d.open_channel(1)
d.send(method(1, pika.spec.Channel.Flow(True)))
m = d.expect(pika.spec.Channel.FlowOk, 1)
assert m.active
d.send(method(1, pika.spec.Channel.Flow(False)))
closed_with(d, 540, "NOT_IMPLEMENTED - active=false")
print("ok")
PY
	still_serving
}

@test "amqp: content without a method, and methods before open, are refused" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(raw_frame(3, 1, b"body"))
m = a.expect(pika.spec.Connection.Close, 0)
assert m.reply_code == 505 and m.reply_text.startswith("UNEXPECTED_FRAME - "), m

b = Conn()
b.send(HEADER)
b.expect(pika.spec.Connection.Start, 0)
b.send(method(1, pika.spec.Channel.Open()))
m = b.expect(pika.spec.Connection.Close, 0)
assert m.reply_code == 503, m
assert m.reply_text == "COMMAND_INVALID - expected 'connection.start_ok'", m
print("ok")
PY
}

# Heartbeats of one second: pika stays connected through idle seconds
# (it would drop a server that sent nothing), and a raw client that
# goes silent is dropped by the server, with the reason in the log.
@test "amqp: heartbeats both ways" {
	amqp_up
	pika_run <<'PY'
import os, pika
c = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"]), heartbeat=1))
ch = c.channel()
c.sleep(4)
assert c.is_open and ch.is_open
c.channel().close()
c.close()
print("ok")
PY
	raw <<'PY'
a = Conn()
a.handshake(heartbeat=1)
# Silent from now on: the server's heartbeats come, then the close.
beats = 0
try:
	while True:
		f = a.read()
		assert isinstance(f, pika.frame.Heartbeat), f
		beats += 1
except (EOFError, ConnectionResetError):
	pass
assert beats >= 1, beats
print("ok")
PY
	grep -q "reason=missed heartbeats from client" "$MQ_SPOOL.log"
}

@test "amqp: a client that never sends close-ok is closed all the same" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.send(method(2, pika.spec.Channel.Flow(True)))
a.expect(pika.spec.Connection.Close, 0)
assert a.closed()
print("ok")
PY
	grep -q "reason=protocol error: 504 CHANNEL_ERROR" "$MQ_SPOOL.log"
}

@test "amqp: connection.blocked to publishers when the spool's disk is nearly full, unblocked with room" {
	require_full_disk
	MQ_SERVE_CMD=serve_full_disk amqp_up
	FILL="/proc/$MQ_PID/root$MQ_SPOOL.disk/fill" raw <<'PY'
import os
def publish(conn, body=b"m"):
	conn.send(method(1, pika.spec.Basic.Publish(routing_key="q")),
	    pika.frame.Header(1, len(body), pika.spec.BasicProperties()).marshal(),
	    raw_frame(3, 1, body))
start = Conn()
caps = start.handshake().server_properties["capabilities"]
assert caps["connection.blocked"] is True, caps
publisher, consumer = start, Conn()
consumer.handshake()
for conn in (publisher, consumer):
	conn.open_channel(1)
publish(publisher)
# 6 MiB of the 24 MiB taken: less free than the reserve of appends
# (16 MiB) and a margin of 4 MiB, though appends still succeed.
with open(os.environ["FILL"], "wb") as f:
	f.write(b"\0" * (6 << 20))
m = publisher.expect(pika.spec.Connection.Blocked, 0)
assert m.reason == "low on disk", m
# One that only consumes is not blocked: its next reply comes first.
consumer.open_channel(2)
# One that publishes now is blocked at its first publish.
late = Conn()
late.handshake()
late.open_channel(1)
publish(late)
late.expect(pika.spec.Connection.Blocked, 0)
os.remove(os.environ["FILL"])
publisher.expect(pika.spec.Connection.Unblocked, 0)
late.expect(pika.spec.Connection.Unblocked, 0)
consumer.open_channel(3)
print("ok")
PY
	grep -q "spool disk nearly full" "$MQ_SPOOL.log"
	grep -q "spool disk has room again" "$MQ_SPOOL.log"
}
