#!/usr/bin/env bats
# tutorials.bats - RabbitMQ's first two tutorials with pika against the
# AMQP door: "hello world" (a receiver that waits with basic_consume, a
# sender) and "work queues" (prefetch_count=1 and manual acks: two
# workers get the tasks in turn, and a task held by a worker that dies
# goes to the other, marked redelivered).

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
