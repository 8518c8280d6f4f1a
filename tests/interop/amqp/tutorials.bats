#!/usr/bin/env bats
# tutorials.bats - RabbitMQ's six tutorials with pika against the AMQP
# door: "hello world" (a receiver that waits with basic_consume, a
# sender), "work queues" (prefetch_count=1 and manual acks: two workers
# get the tasks in turn, and a task held by a worker that dies goes to
# the other, marked redelivered), "publish/subscribe" (a fanout exchange
# and exclusive queues the server names), "routing" (a direct exchange
# by severity), "topics" (a topic exchange with * and #) and "RPC"
# (reply_to and correlation_id).

load ../lib.sh
load amqp.sh

# The tutorials' scripts, as RabbitMQ's site has them, with the port.
write_scripts() {
	cat > send.py <<'PY'
import os, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.queue_declare(queue='hello')
channel.basic_publish(exchange='', routing_key='hello', body='Hello World!')
print(" [x] Sent 'Hello World!'")
connection.close()
PY
	cat > receive.py <<'PY'
import os, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.queue_declare(queue='hello')
def callback(ch, method, properties, body):
    print(" [x] Received %r" % body, flush=True)
channel.basic_consume(queue='hello', on_message_callback=callback,
    auto_ack=True)
print(' [*] Waiting for messages. To exit press CTRL+C', flush=True)
channel.start_consuming()
PY
	cat > new_task.py <<'PY'
import os, sys, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.queue_declare(queue='task_queue', durable=True)
message = ' '.join(sys.argv[1:]) or "Hello World!"
channel.basic_publish(exchange='', routing_key='task_queue', body=message,
    properties=pika.BasicProperties(delivery_mode=2))
print(" [x] Sent %r" % message)
connection.close()
PY
	# The tutorial's worker sleeps a second a dot; here it waits for
	# SIGKILL instead, so that it holds its task for as long as needed.
	cat > worker.py <<'PY'
import os, sys, time, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.queue_declare(queue='task_queue', durable=True)
print(' [*] Waiting for messages. To exit press CTRL+C', flush=True)
def callback(ch, method, properties, body):
    print(" [x] Received %r redelivered=%s" % (body, method.redelivered),
        flush=True)
    if sys.argv[1] == "hold":
        while True:
            time.sleep(60)
    print(" [x] Done", flush=True)
    ch.basic_ack(delivery_tag=method.delivery_tag)
channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue='task_queue', on_message_callback=callback)
channel.start_consuming()
PY
}

@test "tutorial 1, hello world: a waiting receiver gets what send.py sends" {
	require_program "$MQ_PYTHON"
	amqp_up
	write_scripts
	export AMQP_PORT
	background receive.out "$MQ_PYTHON" receive.py
	wait_until grep -q "Waiting for messages" receive.out
	run "$MQ_PYTHON" send.py
	[ "$status" -eq 0 ]
	[ "$output" = " [x] Sent 'Hello World!'" ]
	wait_until grep -qF " [x] Received b'Hello World!'" receive.out
	# The queue is the stream "hello", read through its group "queue".
	run "$MQ_BIN/mq-xrange" hello
	[[ "$output" == *"Hello World!"* ]]
	queue_group hello
}

@test "tutorial 2, work queues: with prefetch 1 two workers get tasks in turn" {
	amqp_up
	pika_script <<'PY'
# Two workers, each a connection; the prelude's channel publishes.
workers = []
for name in ("a", "b"):
	wc = connect()
	wch = wc.channel()
	wch.queue_declare(queue="task_queue", durable=True)
	wch.basic_qos(prefetch_count=1)
	got = []
	wch.basic_consume(queue="task_queue", on_message_callback=lambda ch,
	    m, p, body, got=got: got.append((m.delivery_tag, body)))
	workers.append((wc, wch, got))
(ca, cha, a), (cb, chb, b) = workers
conns = [ca, cb]
for i in range(1, 7):
	ch.basic_publish(exchange="", routing_key="task_queue",
	    body="task %d" % i, properties=pika.BasicProperties(delivery_mode=2))
pump(conns, lambda: len(a) == 1 and len(b) == 1)
# One unacknowledged each: the rest wait in the queue.
ok = ch.queue_declare(queue="task_queue", passive=True).method
assert (ok.message_count, ok.consumer_count) == (4, 2), ok
for wch, got in ((cha, a), (chb, b), (cha, a), (chb, b)):
	wch.basic_ack(got[-1][0])
	n = len(got)
	pump(conns, lambda: len(got) == n + 1)
assert [body for tag, body in a] == [b"task 1", b"task 3", b"task 5"], a
assert [body for tag, body in b] == [b"task 2", b"task 4", b"task 6"], b
assert [tag for tag, body in a] == [1, 2, 3], a
print("ok")
PY
}

@test "tutorial 2, work queues: a worker killed holding a task, the other gets it redelivered" {
	amqp_up
	write_scripts
	export AMQP_PORT
	background first.out "$MQ_PYTHON" worker.py hold
	first=$BG_PID
	wait_until grep -q "Waiting for messages" first.out
	run "$MQ_PYTHON" new_task.py "A task....."
	[ "$status" -eq 0 ]
	wait_until grep -qF "Received b'A task.....' redelivered=False" first.out
	background second.out "$MQ_PYTHON" worker.py work
	wait_until grep -q "Waiting for messages" second.out
	kill -9 "$first"
	wait_until grep -qF "Received b'A task.....' redelivered=True" second.out
	wait_until grep -q "Done" second.out
	# Acknowledged: nothing is pending in the queue's group.
	wait_until none_pending task_queue
}

# Tutorials 3 to 6 in the tutorials' shape: a receiver declares its
# exchange and an exclusive queue the server names, binds it with each
# key of its arguments (none for fanout), and prints what it gets; an
# emitter publishes its arguments' message with the first as routing key.
write_log_scripts() {
	cat > receive_logs.py <<'PY'
import os, sys, pika
exchange, kind, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.exchange_declare(exchange=exchange, exchange_type=kind)
result = channel.queue_declare(queue='', exclusive=True)
queue_name = result.method.queue
for key in keys or [None]:
    channel.queue_bind(exchange=exchange, queue=queue_name, routing_key=key)
print(' [*] Waiting for logs in %s' % queue_name, flush=True)
def callback(ch, method, properties, body):
    print(" [x] %s:%r" % (method.routing_key, body), flush=True)
channel.basic_consume(queue=queue_name, on_message_callback=callback,
    auto_ack=True)
channel.start_consuming()
PY
	cat > emit_log.py <<'PY'
import os, sys, pika
exchange, kind, key = sys.argv[1], sys.argv[2], sys.argv[3]
message = ' '.join(sys.argv[4:]) or "info: Hello World!"
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.exchange_declare(exchange=exchange, exchange_type=kind)
channel.basic_publish(exchange=exchange, routing_key=key, body=message)
print(" [x] Sent %s:%r" % (key, message))
connection.close()
PY
}

# receiver OUT EXCHANGE TYPE [KEY]...: a receive_logs.py in the
# background, once it waits.
receiver() {
	local out=$1
	shift
	background "$out" "$MQ_PYTHON" receive_logs.py "$@"
	wait_until grep -q "Waiting for logs in amq.gen-" "$out"
}

# emit EXCHANGE TYPE KEY MESSAGE: emit_log.py, which must succeed.
emit() {
	run "$MQ_PYTHON" emit_log.py "$@"
	[ "$status" -eq 0 ]
}

@test "tutorial 3, publish/subscribe: every receiver of a fanout exchange gets each log" {
	amqp_up
	write_log_scripts
	export AMQP_PORT
	receiver a.out logs fanout
	receiver b.out logs fanout
	emit logs fanout "" "info: Hello World!"
	emit logs fanout "" "warning: again"
	for f in a.out b.out; do
		wait_until grep -qF " [x] :b'warning: again'" "$f"
		grep -qF " [x] :b'info: Hello World!'" "$f"
	done
	# Two queues the server named, two bindings of the exchange.
	[ "$(grep -c "queue amq.gen-" "$MQ_SPOOL/exchanges")" -eq 2 ]
}

@test "tutorial 4, routing: a direct exchange sends each severity to its receivers" {
	amqp_up
	write_log_scripts
	export AMQP_PORT
	receiver errors.out direct_logs direct error
	receiver all.out direct_logs direct info warning error
	emit direct_logs direct info "Run. Run. Or it will explode."
	emit direct_logs direct error "Run. It exploded."
	emit direct_logs direct debug "nobody listens"
	wait_until grep -qF " [x] error:b'Run. It exploded.'" errors.out
	wait_until grep -qF " [x] error:b'Run. It exploded.'" all.out
	grep -qF " [x] info:b'Run. Run. Or it will explode.'" all.out
	! grep -q "info:" errors.out
	! grep -q "debug:" errors.out all.out
}

@test "tutorial 5, topics: a topic exchange matches * and #" {
	amqp_up
	write_log_scripts
	export AMQP_PORT
	receiver all.out topic_logs topic "#"
	receiver kern.out topic_logs topic "kern.*"
	receiver critical.out topic_logs topic "*.critical"
	receiver both.out topic_logs topic "kern.*" "*.critical"
	emit topic_logs topic kern.critical "A critical kernel error"
	emit topic_logs topic anonymous.info "for everyone"
	emit topic_logs topic kern.disk.info "too many words for kern.*"
	wait_until grep -qF "kern.disk.info:" all.out
	grep -qF "anonymous.info:" all.out
	grep -qF "kern.critical:" all.out
	for f in kern.out critical.out both.out; do
		wait_until grep -qF " [x] kern.critical:b'A critical kernel error'" "$f"
	done
	# Once, though both of its keys match.
	[ "$(grep -c "kern.critical" both.out)" -eq 1 ]
	! grep -q "info:" kern.out critical.out both.out
}

@test "tutorial 6, RPC: a client calls a server through reply_to and correlation_id" {
	amqp_up
	cat > rpc_server.py <<'PY'
import os, pika
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
channel = connection.channel()
channel.queue_declare(queue='rpc_queue')
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def on_request(ch, method, props, body):
    n = int(body)
    print(" [.] fib(%s)" % n, flush=True)
    ch.basic_publish(exchange='', routing_key=props.reply_to,
        properties=pika.BasicProperties(correlation_id=props.correlation_id),
        body=str(fib(n)))
    ch.basic_ack(delivery_tag=method.delivery_tag)
channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue='rpc_queue', on_message_callback=on_request)
print(" [x] Awaiting RPC requests", flush=True)
channel.start_consuming()
PY
	cat > rpc_client.py <<'PY'
import os, uuid, pika
class FibonacciRpcClient(object):
    def __init__(self):
        self.connection = pika.BlockingConnection(pika.ConnectionParameters(
            host="127.0.0.1", port=int(os.environ["AMQP_PORT"])))
        self.channel = self.connection.channel()
        result = self.channel.queue_declare(queue='', exclusive=True)
        self.callback_queue = result.method.queue
        self.channel.basic_consume(queue=self.callback_queue,
            on_message_callback=self.on_response, auto_ack=True)
        self.response = None
        self.corr_id = None
    def on_response(self, ch, method, props, body):
        # An answer to an earlier call is dropped, as the tutorial does.
        if self.corr_id == props.correlation_id:
            self.response = body
    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(exchange='', routing_key='rpc_queue',
            properties=pika.BasicProperties(reply_to=self.callback_queue,
                correlation_id=self.corr_id), body=str(n))
        while self.response is None:
            self.connection.process_data_events(time_limit=1)
        return int(self.response)
fibonacci_rpc = FibonacciRpcClient()
for n in (10, 10, 20):
    print(" [.] Got fib(%d) = %r" % (n, fibonacci_rpc.call(n)))
print("ok")
PY
	export AMQP_PORT
	background server.out "$MQ_PYTHON" rpc_server.py
	wait_until grep -q "Awaiting RPC requests" server.out
	run "$MQ_PYTHON" rpc_client.py
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = " [.] Got fib(10) = 55" ]
	[ "${lines[1]}" = " [.] Got fib(10) = 55" ]
	[ "${lines[2]}" = " [.] Got fib(20) = 6765" ]
	grep -qF " [.] fib(20)" server.out
}
