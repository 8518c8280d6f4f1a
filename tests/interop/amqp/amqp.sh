# amqp.sh - what the AMQP door's bats files share: a server with the
# door, the raw client, pika scripts, and a check that the server still
# serves.  Loaded after lib.sh with `load amqp.sh`.

# amqp_setup: what every test of the door needs before it starts.
amqp_setup() {
	interop_setup || return 1
	require_serve || return 1
	if [ -n "${MQ_SERVE_CMD:-}" ]; then
		skip "the AMQP door is mq-serve's"
	fi
}

setup() {
	amqp_setup
}

# amqp_up [OPTION]...: mq-serve with the AMQP door on AMQP_PORT (and
# RESP on MQ_PORT), with more options of mq-serve.
amqp_up() {
	AMQP_PORT=$(free_port)
	mq_up --amqp "127.0.0.1:$AMQP_PORT" "$@" || return 1
	wait_port "$AMQP_PORT" "$MQ_PID" || { cat "$MQ_SPOOL.log" >&2; return 1; }
}

# raw: runs the python script on stdin after rawamqp.py.
raw() {
	cat "$INTEROP/rawamqp.py" - > raw.py
	run_ok "$MQ_PYTHON" raw.py "$AMQP_PORT"
}

# pika_run: runs the python script on stdin with pika, AMQP_PORT in its
# environment.
pika_run() {
	run_ok env AMQP_PORT="$AMQP_PORT" "$MQ_PYTHON" -
}

# The pika scripts of pika_script start with this: connect() makes a
# connection, c and ch are one and its channel; pump(conns, done) runs
# the events of one connection or a list until done() holds; fill(q, n)
# declares queue q and publishes "m0" to "mN-1" to it; drain(q) is every
# body queue q held, taken; refused checks that a call is closed with a
# code and text.
PIKA_PRELUDE='import os, time, pika
def connect():
	return pika.BlockingConnection(pika.ConnectionParameters(
	    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
def pump(conns, done):
	if not isinstance(conns, list):
		conns = [conns]
	end = time.monotonic() + 20
	while not done():
		assert time.monotonic() < end, "gave up waiting"
		for one in conns:
			one.process_data_events(time_limit=0.02)
def fill(q, n):
	ch.queue_declare(queue=q)
	for i in range(n):
		ch.basic_publish(exchange="", routing_key=q, body="m%d" % i)
def drain(q):
	got = []
	while True:
		m, p, body = ch.basic_get(q, auto_ack=True)
		if m is None:
			return got
		got.append(body.decode())
def refused(call, code, text, connection=False):
	exc = pika.exceptions.ConnectionClosedByBroker if connection else \
	    pika.exceptions.ChannelClosedByBroker
	try:
		call()
	except exc as e:
		assert (e.reply_code, e.reply_text) == (code, text), e
		return
	raise SystemExit("taken, not refused with %d %s" % (code, text))
c = connect()
ch = c.channel()
'

# pika_script [MORE]: pika_run with PIKA_PRELUDE, then MORE (python
# that a file's scripts share), before the script on stdin.
pika_script() {
	{ printf '%s%s' "$PIKA_PRELUDE" "${1:-}"; cat; } | pika_run
}

# php_run: the PHP script on stdin with AMQP_PORT as its argument; it
# must end with "ok".
php_run() {
	cat > script.php
	run_ok timeout 60 php -d display_errors=stderr script.php "$AMQP_PORT"
}

# none_pending QUEUE: the group "queue" of QUEUE holds no delivery that
# waits for an ack (XPENDING through the server's RESP door).
none_pending() {
	[ "$(redis-cli -p "$MQ_PORT" XPENDING "$1" queue | head -1)" = 0 ]
}

# queue_group QUEUE: the stream QUEUE has the group "queue" (XINFO GROUPS).
queue_group() {
	redis-cli -p "$MQ_PORT" XINFO GROUPS "$1" | grep -qx queue
}

# still_serving: a new pika connection opens a channel (the server and
# its other connections are unharmed).
still_serving() {
	pika_run <<'PY'
import os, pika
c = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
c.channel()
c.close()
print("ok")
PY
}
