#!/usr/bin/env bats
# crossdoor.bats - amq.topic is one exchange for every door: a publish
# of amqp-tools or pika to it reaches the live subscribers of mq-subscribe
# and of Redis's PSUBSCRIBE, and mq-publish and Redis's PUBLISH reach an
# AMQP queue bound to it.

load ../lib.sh
load amqp.sh

# amqp_publish KEY BODY: amqp-tools' amqp-publish to amq.topic.
amqp_publish() {
	amqp-publish --url "amqp://127.0.0.1:$AMQP_PORT" -e amq.topic -r "$1" \
	    -b "$2"
}

# psubscribe PATTERN: a redis-cli PSUBSCRIBE in the background, into
# psub.out, once it is subscribed.
psubscribe() {
	background psub.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" psubscribe "$1"
	wait_until file_has_lines psub.out 3
}

@test "crossdoor: amqp-publish to amq.topic reaches mq-subscribe 'news.*' and PSUBSCRIBE news.*" {
	require_program "$(command -v amqp-publish || echo amqp-publish)"
	require_spool_server mq-subscribe
	amqp_up
	mkfifo ready
	"$MQ_BIN/mq-subscribe" --ready-fd 3 -f 'news.*' 3> ready > sub.out &
	STARTED_PIDS="$! $STARTED_PIDS"
	read -r _ < ready
	psubscribe 'news.*'
	amqp_publish news.tech "hello tech"
	amqp_publish sport.news "not news.*"
	wait_until file_has_lines sub.out 1
	wait_until file_has_lines psub.out 7
	[ "$(cat sub.out)" = "$(printf 'news.tech\thello tech')" ]
	[ "$(tail -n 4 psub.out)" = "$(printf 'pmessage\nnews.*\nnews.tech\nhello tech')" ]
	# A later publish shows that the one between matched no one.
	amqp_publish news.more "after"
	wait_until file_has_lines sub.out 2
	! grep -q "not news" sub.out psub.out
}

# With only this server's subscribers, a publish goes to no log: the
# core's fan-out hands it to them.
@test "crossdoor: a pika publish to amq.topic reaches this server's PSUBSCRIBE without the log" {
	amqp_up
	psubscribe 'news.*'
	pika_script <<'PY'
returned = []
ch.add_on_return_callback(lambda ch_, m, p, body: returned.append(body))
ch.basic_publish("amq.topic", "news.local", "heard", mandatory=True)
ch.basic_publish("amq.topic", "nobody.hears", "lost", mandatory=True)
pump(c, lambda: returned)
# A live subscriber takes a message as a queue does: only one comes back.
assert returned == [b"lost"], returned
print("ok")
PY
	wait_until file_has_lines psub.out 7
	[ "$(tail -n 4 psub.out)" = "$(printf 'pmessage\nnews.*\nnews.local\nheard')" ]
	# Nothing went to the exchange's log.
	run "$MQ_BIN/mq-xrange" amq.topic
	[[ "$output" != *heard* ]]
}

@test "crossdoor: mq-publish and Redis PUBLISH reach an AMQP queue bound to amq.topic" {
	require_spool_server mq-publish
	amqp_up
	pika_script <<'PY'
ch.queue_declare("inbox")
ch.queue_bind("inbox", "amq.topic", "news.#")
print("ok")
PY
	"$MQ_BIN/mq-publish" news.world "from mq-publish"
	[ "$(cli PUBLISH news.sport "from redis")" = 1 ]
	[ "$(cli PUBLISH weather.today "not bound")" = 0 ]
	pika_script <<'PY'
got = []
while True:
	m, p, body = ch.basic_get("inbox", auto_ack=True)
	if m is None:
		break
	got.append((m.routing_key, body))
assert got == [("news.world", b"from mq-publish"),
    ("news.sport", b"from redis")], got
print("ok")
PY
}

@test "crossdoor: a queue that mq-subscribe -Q binds to amq.topic gets an amqp-publish" {
	require_program "$(command -v amqp-publish || echo amqp-publish)"
	require_spool_server mq-subscribe
	amqp_up
	mkfifo ready
	"$MQ_BIN/mq-subscribe" -Q orders --ready-fd 3 -c 1 -b 10s 'orders.*' \
	    3> ready > sub.out &
	STARTED_PIDS="$! $STARTED_PIDS"
	read -r _ < ready
	amqp_publish orders.new "order 1"
	wait_until file_has_lines sub.out 1
	# An entry of the queue: its id, then the body.
	[[ "$(cat sub.out)" == *-*$'\torder 1' ]]
}
