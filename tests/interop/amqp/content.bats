#!/usr/bin/env bats
# content.bats - a publish's content through the AMQP door, with a raw
# client: a body split over many frames at a small frame_max and all of
# them in one write, a body sent a byte at a time, bodies delivered back
# in frames of at most frame_max, a content header of every property
# and a headers table of every type letter back byte for byte, the
# frames that break a publish (505, 501), a body over --max-request or
# the queue's largest message (406), immediate (540), and a consumer
# held at --output-limit.

load ../lib.sh
load amqp.sh

@test "amqp content: bodies split at frame_max both ways, frames merged or a byte at a time" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake(frame_max=4096)
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
body = bytes(range(256)) * 40		# 10240 bytes: three frames of 4088 at most
head = pika.frame.Header(1, len(body),
    pika.spec.BasicProperties(content_type="application/octet-stream"))
frames = [method(1, pika.spec.Basic.Publish(exchange="", routing_key="q")),
    head.marshal()]
for i in range(0, len(body), 4088):
	frames.append(raw_frame(3, 1, body[i:i + 4088]))
a.send(*frames)
# A small one a byte at a time, then both back.
a.send_bytewise(method(1, pika.spec.Basic.Publish(exchange="",
    routing_key="q")) + pika.frame.Header(1, 5,
    pika.spec.BasicProperties()).marshal() + raw_frame(3, 1, b"small"))
for want in (body, b"small"):
	a.send(method(1, pika.spec.Basic.Get(queue="q", no_ack=True)))
	a.expect(pika.spec.Basic.GetOk, 1)
	ftype, ch, payload = a.read_raw()
	assert ftype == 2 and ch == 1, ftype
	got, sizes = b"", []
	while len(got) < len(want):
		ftype, ch, payload = a.read_raw()
		assert ftype == 3 and ch == 1, ftype
		sizes.append(len(payload))
		got += payload
	assert got == want, len(got)
	assert max(sizes) <= 4088, sizes
assert sizes == [5], sizes
print("ok")
PY
	run "$MQ_BIN/mq-xrange" -o json q
	[[ "$output" == *'"content-type":"application/octet-stream"'* ]]
	[[ "$output" == *'"body":"small"'* ]]
}

@test "amqp content: every property and a table of every type letter back byte for byte" {
	amqp_up
	raw <<'PY'
def short(s):
	return struct.pack(">B", len(s)) + s
def long_(s):
	return struct.pack(">I", len(s)) + s
def entry(key, letter, data):
	return short(key) + letter + data
inner = entry(b"deep", b"A", long_(b"I" + struct.pack(">i", 1) +
    b"S" + long_(b"a") + b"V"))
table = b"".join([
	entry(b"t", b"t", b"\x01"), entry(b"b", b"b", b"\xff"),
	entry(b"B", b"B", b"\xc8"), entry(b"s", b"s", struct.pack(">h", -300)),
	entry(b"u", b"u", struct.pack(">H", 60000)),
	entry(b"I", b"I", struct.pack(">i", -5)),
	entry(b"i", b"i", struct.pack(">I", 4000000000)),
	entry(b"l", b"l", struct.pack(">q", -1 << 40)),
	entry(b"L", b"L", struct.pack(">q", 1 << 50)),
	entry(b"f", b"f", struct.pack(">f", 1.5)),
	entry(b"d", b"d", struct.pack(">d", -2.25)),
	entry(b"D", b"D", b"\x02" + struct.pack(">I", 12345)),
	entry(b"S", b"S", long_(b"text")),
	entry(b"x", b"x", long_(b"\x00\x01")),
	entry(b"T", b"T", struct.pack(">Q", 1700000000)),
	entry(b"V", b"V", b""),
	entry(b"F", b"F", long_(inner)),
	entry(b"A", b"A", long_(b"F" + long_(inner) + b"t\x00")),
])
props = (short(b"application/json") + short(b"gzip") + long_(table) +
    b"\x02" + b"\x09" + short(b"corr") + short(b"replies") +
    short(b"60000") + short(b"id-1") + struct.pack(">Q", 1700000001) +
    short(b"kind") + short(b"guest") + short(b"app") + short(b"c"))
body = b"{}"
header = struct.pack(">HHQH", 60, 0, len(body), 0xfffc) + props

a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
a.send(method(1, pika.spec.Basic.Publish(exchange="", routing_key="q")),
    raw_frame(2, 1, header), raw_frame(3, 1, body),
    method(1, pika.spec.Basic.Get(queue="q", no_ack=True)))
a.expect(pika.spec.Basic.GetOk, 1)
assert a.read_raw() == (2, 1, header)
assert a.read_raw() == (3, 1, body)
print("ok")
PY
	# The table is kept whole in one header; the properties are headers.
	run redis-cli -p "$MQ_PORT" --raw XRANGE q - +
	echo "$output"
	for field in content-type application/json content-encoding gzip \
	    amqp-headers delivery-mode 2 priority 9 correlation-id corr \
	    reply-to replies expiration 60000 message-id id-1 timestamp \
	    1700000001 type kind user-id guest app-id app cluster-id c body; do
		printf '%s\n' "${lines[@]}" | grep -qxF -- "$field"
	done
}

@test "amqp content: frames that break a publish close the connection with 505 or 501" {
	amqp_up
	raw <<'PY'
def publish():
	return method(1, pika.spec.Basic.Publish(exchange="", routing_key="q"))
def header(size, cls=60):
	return raw_frame(2, 1, struct.pack(">HHQH", cls, 0, size, 0))
def refused(frames, code, text, cls=60, meth=40):
	a = Conn()
	a.handshake()
	a.open_channel(1)
	a.send(publish(), *frames)
	m = a.expect(pika.spec.Connection.Close, 0)
	assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (code,
	    text, cls, meth), m
	a.send(method(0, pika.spec.Connection.CloseOk()))
	assert a.closed()

refused([method(1, pika.spec.Queue.Declare(queue="q"))], 505,
    "UNEXPECTED_FRAME - expected content header for class 60, got non "
    "content header frame instead")
refused([raw_frame(3, 1, b"body")], 505, "UNEXPECTED_FRAME - expected "
    "content header for class 60, got non content header frame instead")
refused([header(4, cls=50)], 505, "UNEXPECTED_FRAME - expected content "
    "header for class 60, got one for class 50 instead")
refused([header(4), method(1, pika.spec.Basic.Get(queue="q"))], 505,
    "UNEXPECTED_FRAME - expected content body, got non content body frame "
    "instead")
refused([header(3), raw_frame(3, 1, b"four")], 501, "FRAME_ERROR - body "
    "frames of more than the 3 bytes of their content header")
# Frames of another channel, and heartbeats, may come between.
a = Conn()
a.handshake()
a.open_channel(1)
a.open_channel(2)
a.send(method(1, pika.spec.Queue.Declare(queue="q")), publish(),
    method(2, pika.spec.Queue.Declare(queue="q", passive=True)), header(2),
    raw_frame(8, 0, b""), raw_frame(3, 1, b"ok"),
    method(1, pika.spec.Basic.Get(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
a.expect(pika.spec.Queue.DeclareOk, 2)
a.expect(pika.spec.Basic.GetOk, 1)
assert a.read_raw()[0] == 2 and a.read_raw() == (3, 1, b"ok")
print("ok")
PY
	still_serving
}

@test "amqp content: a body over --max-request is 406 on its channel; immediate is 540" {
	amqp_up --max-request 8192
	"$MQ_BIN/mq-xadd" small first
	"$MQ_BIN/mq-queue" small --max-msg 2000
	raw <<'PY'
a = Conn()
a.handshake(frame_max=4096)
a.open_channel(1)
a.open_channel(2)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
body = b"x" * 10000
frames = [method(1, pika.spec.Basic.Publish(exchange="", routing_key="q")),
    pika.frame.Header(1, len(body), pika.spec.BasicProperties()).marshal()]
for i in range(0, len(body), 4088):
	frames.append(raw_frame(3, 1, body[i:i + 4088]))
a.send(*frames)
m = a.expect(pika.spec.Channel.Close, 1)
assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (406,
    "PRECONDITION_FAILED - message size 10000 is larger than configured "
    "max size 8192", 60, 40), m
# Its body frames were dropped: channel 2 finds the queue empty.
a.send(method(1, pika.spec.Channel.CloseOk()),
    method(2, pika.spec.Queue.Declare(queue="q", passive=True)))
assert a.expect(pika.spec.Queue.DeclareOk, 2).message_count == 0
# The queue's own limit (mq-queue --max-msg 2000, set by the test).
a.send(method(2, pika.spec.Basic.Publish(exchange="", routing_key="small")),
    pika.frame.Header(2, 3000, pika.spec.BasicProperties()).marshal(),
    raw_frame(3, 2, b"y" * 3000))
m = a.expect(pika.spec.Channel.Close, 2)
assert (m.reply_code, m.reply_text, m.class_id, m.method_id) == (406,
    "PRECONDITION_FAILED - message size 3000 is larger than configured "
    "max size 2000", 60, 40), m
a.send(method(2, pika.spec.Channel.CloseOk()))
a.open_channel(2)
a.send(method(2, pika.spec.Basic.Publish(exchange="", routing_key="q",
    immediate=True)))
m = a.expect(pika.spec.Connection.Close, 0)
assert (m.reply_code, m.reply_text) == (540,
    "NOT_IMPLEMENTED - immediate=true"), m
print("ok")
PY
}

# A publish refused at a flush of the run of appends closes its channel
# while the next publish of the same write is being queued (the flush
# runs inside it): that message must stay whole until it is queued.
# Under ASan (make check-asan) a use of the freed body stops the server.
@test "amqp content: a channel closed by a refused append while the next publish is queued" {
	amqp_up
	raw <<'PY'
a = Conn()
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q1")))
a.expect(pika.spec.Queue.DeclareOk, 1)
def publish(body):
	frames = [method(1, pika.spec.Basic.Publish(routing_key="q1")),
	    pika.frame.Header(1, len(body), pika.spec.BasicProperties()).marshal()]
	for i in range(0, len(body), 131064):
		frames.append(raw_frame(3, 1, body[i:i + 131064]))
	return b"".join(frames)
# Over the queue's max-msg (1 MiB), then a small one, in one write.
a.send(publish(b"x" * (9 << 20)) + publish(b"y" * 100))
m = a.expect(pika.spec.Channel.Close, 1)
assert m.reply_code == 406, m
a.send(method(1, pika.spec.Channel.CloseOk()))
print("ok")
PY
	still_serving
	run redis-cli -p "$MQ_PORT" XLEN q1
	[ "$output" -le 1 ]
}

# A consumer that reads nothing fills its connection's output to the
# limit; the server stops serving it (the queue keeps the rest) and
# goes on once the client has read what was sent.
@test "amqp content: a consumer held at --output-limit is served again once it reads" {
	amqp_up --output-limit 4096
	raw <<'PY'
n, size = 1000, 10000
a = Conn(rcvbuf=4096)
a.handshake()
a.open_channel(1)
a.send(method(1, pika.spec.Queue.Declare(queue="q")))
a.expect(pika.spec.Queue.DeclareOk, 1)
a.send(method(1, pika.spec.Basic.Consume(queue="q", no_ack=True)))
a.expect(pika.spec.Basic.ConsumeOk, 1)
p = Conn()
p.handshake()
p.open_channel(1)
for i in range(n):
	p.send(method(1, pika.spec.Basic.Publish(exchange="", routing_key="q")),
	    pika.frame.Header(1, size, pika.spec.BasicProperties()).marshal(),
	    raw_frame(3, 1, b"%0*d" % (size, i)))
# Delivered only as far as the limit: the queue holds the rest.
p.send(method(1, pika.spec.Queue.Declare(queue="q", passive=True)))
assert p.expect(pika.spec.Queue.DeclareOk, 1).message_count > 0
for i in range(n):
	a.expect(pika.spec.Basic.Deliver, 1)
	assert a.read_raw()[0] == 2
	assert a.read_raw() == (3, 1, b"%0*d" % (size, i))
print("ok")
PY
}
