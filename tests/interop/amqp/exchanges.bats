#!/usr/bin/env bats
# exchanges.bats - AMQP exchanges and bindings with pika: exchange.declare
# and delete, queue.bind and unbind, exchange.bind and unbind, each
# refusal with the code and text rabbitmq-server 3.10 answers; routing
# through direct, fanout, topic and headers exchanges and from exchange
# to exchange; internal and auto-delete exchanges; and durable ones,
# with their bindings, through a restart.

load ../lib.sh
load amqp.sh

@test "exchange.declare: types, flags, redeclarations and the built-in exchanges" {
	amqp_up
	pika_script <<'PY'
for t in ("direct", "fanout", "topic", "headers"):
	ch.exchange_declare("x-" + t, t)
	ch.exchange_declare("x-" + t, t)		# alike: taken
	ch.exchange_declare("x-" + t, passive=True)
ch.exchange_declare("x-flags", "topic", durable=True, auto_delete=True,
    internal=True)
# Arguments other than alternate-exchange are not compared.
ch.exchange_declare("x-direct", "direct", arguments={"foo": 1})
pre = "PRECONDITION_FAILED - inequivalent arg "
refused(lambda: ch.exchange_declare("x-direct", "fanout"), 406, pre +
    "'type' for exchange 'x-direct' in vhost '/': received 'fanout' but "
    "current is 'direct'")
for kw, arg in (("durable", "durable"), ("auto_delete", "auto_delete"),
    ("internal", "internal")):
	ch = c.channel()
	refused(lambda: ch.exchange_declare("x-direct", "direct", **{kw: True}),
	    406, pre + "'%s' for exchange 'x-direct' in vhost '/': received "
	    "'true' but current is 'false'" % arg)
ch = c.channel()
refused(lambda: ch.exchange_declare("x-flags", "topic", durable=True,
    internal=True), 406, pre + "'auto_delete' for exchange 'x-flags' in "
    "vhost '/': received 'false' but current is 'true'")
ch = c.channel()
refused(lambda: ch.exchange_declare("x-direct", "direct",
    arguments={"alternate-exchange": "ae"}), 406, pre + "'alternate-exchange'"
    " for exchange 'x-direct' in vhost '/': received the value 'ae' of type "
    "'longstr' but current is none")
# The built-in exchanges: there, durable, of their types.
ch = c.channel()
for x, t in (("amq.direct", "direct"), ("amq.fanout", "fanout"),
    ("amq.topic", "topic"), ("amq.headers", "headers"),
    ("amq.match", "headers")):
	ch.exchange_declare(x, t, durable=True)
	ch.exchange_declare(x, passive=True)
refused(lambda: ch.exchange_declare("amq.direct", "fanout", durable=True), 406,
    pre + "'type' for exchange 'amq.direct' in vhost '/': received 'fanout' "
    "but current is 'direct'")
ch = c.channel()
refused(lambda: ch.exchange_declare("amq.direct", "direct"), 406, pre +
    "'durable' for exchange 'amq.direct' in vhost '/': received 'false' but "
    "current is 'true'")
ch = c.channel()
refused(lambda: ch.exchange_declare("amq.foo", "direct"), 403,
    "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'")
ch = c.channel()
refused(lambda: ch.exchange_declare("amq.foo", passive=True), 404,
    "NOT_FOUND - no exchange 'amq.foo' in vhost '/'")
ch = c.channel()
refused(lambda: ch.exchange_declare("nope", passive=True), 404,
    "NOT_FOUND - no exchange 'nope' in vhost '/'")
ch = c.channel()
refused(lambda: ch.exchange_declare("", "direct"), 403,
    "ACCESS_REFUSED - operation not permitted on the default exchange")
ch = c.channel()
refused(lambda: ch.exchange_declare("x-new", "nosuch"), 503,
    "COMMAND_INVALID - unknown exchange type 'nosuch'", connection=True)
c = connect()
ch = c.channel()
refused(lambda: ch.exchange_declare("x-new", ""), 503,
    "COMMAND_INVALID - invalid exchange type ''", connection=True)
print("ok")
PY
	# A durable exchange is in the spool's file.
	grep -q "x-flags" "$MQ_SPOOL/exchanges"
	still_serving
}

@test "exchange.delete: missing ones, built-in ones, if-unused" {
	amqp_up
	pika_script <<'PY'
ch.exchange_delete("nope")			# as RabbitMQ: no error
ch.exchange_declare("x", "direct")
ch.exchange_delete("x")
refused(lambda: ch.exchange_declare("x", passive=True), 404,
    "NOT_FOUND - no exchange 'x' in vhost '/'")
ch = c.channel()
refused(lambda: ch.exchange_delete("amq.direct"), 403, "ACCESS_REFUSED - "
    "deletion of system exchange 'amq.direct' in vhost '/' not allowed")
ch = c.channel()
refused(lambda: ch.exchange_delete(""), 403,
    "ACCESS_REFUSED - operation not permitted on the default exchange")
ch = c.channel()
ch.exchange_declare("used", "direct")
ch.queue_declare("q")
ch.queue_bind("q", "used", "k")
refused(lambda: ch.exchange_delete("used", if_unused=True), 406,
    "PRECONDITION_FAILED - exchange 'used' in vhost '/' in use")
ch = c.channel()
# Bound only as a destination: unused.
ch.exchange_declare("dest", "direct")
ch.exchange_bind("dest", "amq.direct", "k")
ch.exchange_delete("dest", if_unused=True)
ch.exchange_delete("used")
print("ok")
PY
}

@test "queue.bind, exchange.bind and their unbinds: what RabbitMQ refuses" {
	amqp_up
	pika_script <<'PY'
ch.queue_declare("q")
nf, ar = "NOT_FOUND - no ", "ACCESS_REFUSED - "
dflt = ar + "operation not permitted on the default exchange"
bad = "PRECONDITION_FAILED - Invalid x-match field "
for call, code, text in (
    (lambda: ch.queue_bind("nq", "amq.direct", "k"), 404,
	nf + "queue 'nq' in vhost '/'"),
    (lambda: ch.queue_bind("q", "nx", "k"), 404,
	nf + "exchange 'nx' in vhost '/'"),
    (lambda: ch.queue_bind("nq", "nx", "k"), 404,
	nf + "exchange 'nx' in vhost '/'"),
    (lambda: ch.queue_bind("q", "", "k"), 403, dflt),
    (lambda: ch.queue_unbind("q", "", "k"), 403, dflt),
    (lambda: ch.exchange_bind("nx", "amq.direct", "k"), 404,
	nf + "exchange 'nx' in vhost '/'"),
    (lambda: ch.exchange_bind("amq.direct", "nx", "k"), 404,
	nf + "exchange 'nx' in vhost '/'"),
    (lambda: ch.exchange_bind("amq.direct", "", "k"), 403, dflt),
    (lambda: ch.queue_bind("q", "amq.match", "",
	arguments={"x-match": "some", "a": 1}), 406, bad + "value "
	"<<\"some\">>; expected all, any, all-with-x, or any-with-x"),
    (lambda: ch.queue_bind("q", "amq.match", "", arguments={"x-match": 1}),
	406, bad + "type signedint (value 1); expected longstr")):
	ch = c.channel()
	refused(call, code, text)
ch = c.channel()
# Unbinding what is not bound, or from what is not there: no error.
ch.queue_unbind("q", "amq.direct", "never")
ch.queue_unbind("nq", "amq.direct", "k")
ch.queue_unbind("q", "nx", "k")
ch.exchange_unbind("amq.fanout", "amq.direct", "k")
ch.exchange_unbind("nx", "amq.direct", "k")
# "" is the queue the channel declared last, as everywhere.
ch.queue_declare("q")
ch.queue_bind("", "amq.direct", "k")
print("ok")
PY
	grep -q "amq.direct" "$MQ_SPOOL/exchanges"
}

# What the routing scripts start with, after PIKA_PRELUDE: five queues.
ROUTE_PRELUDE='
for q in ("q0", "q1", "q2", "q3", "q4"):
	ch.queue_declare(q)
'

@test "routing: direct, fanout, topic with * and #, and exchange to exchange" {
	amqp_up
	pika_script "$ROUTE_PRELUDE" <<'PY'
ch.exchange_declare("d", "direct")
ch.exchange_declare("f", "fanout")
ch.exchange_declare("t", "topic")
ch.queue_bind("q0", "d", "a")
ch.queue_bind("q1", "d", "a")
ch.queue_bind("q1", "d", "b")
ch.queue_bind("q2", "f", "ignored")
ch.queue_bind("q3", "f")
ch.queue_bind("q0", "t", "*.x")
ch.queue_bind("q1", "t", "#.y")
ch.queue_bind("q2", "t", "a.#")
ch.exchange_bind("d", "f")		# f's messages go on to d, by key
for x, k in (("d", "a"), ("d", "b"), ("d", "zz"), ("f", "b"),
    ("t", "a.x"), ("t", "b.x.y"), ("t", "y"), ("t", "a"), ("t", "x")):
	ch.basic_publish(x, k, "%s/%s" % (x, k))
assert drain("q0") == ["d/a", "t/a.x"], "q0"
assert drain("q1") == ["d/a", "d/b", "f/b", "t/b.x.y", "t/y"], "q1"
assert drain("q2") == ["f/b", "t/a.x", "t/a"], "q2"
assert drain("q3") == ["f/b"], "q3"
# A queue bound twice, by two keys that match, gets a message once.
ch.queue_bind("q4", "t", "a.*")
ch.queue_bind("q4", "t", "#")
ch.basic_publish("t", "a.b", "once")
assert drain("q4") == ["once"]
# Unbound: no more.
ch.queue_unbind("q0", "d", "a")
ch.basic_publish("d", "a", "after")
assert drain("q0") == [] and drain("q1") == ["after"]
print("ok")
PY
}

@test "routing: headers exchanges, x-match all, any, any-with-x and void" {
	amqp_up
	pika_script "$ROUTE_PRELUDE" <<'PY'
ch.exchange_declare("h", "headers")
ch.queue_bind("q0", "h", arguments={"x-match": "all", "a": 1, "b": "s"})
ch.queue_bind("q1", "h", arguments={"x-match": "any", "a": 1, "b": "s"})
ch.queue_bind("q2", "h", arguments={"x-match": "any-with-x", "x-k": "v"})
ch.queue_bind("q3", "h", arguments={"c": None})
ch.queue_bind("q4", "amq.match", arguments={"x-match": "all", "a": 1})
def pub(x, h, body):
	ch.basic_publish(x, "", body, pika.BasicProperties(headers=h))
pub("h", {"a": 1, "b": "s"}, "ab")
pub("h", {"a": 1}, "a")
pub("h", {"b": "t"}, "bt")
pub("h", {"x-k": "v"}, "xk")
pub("h", {"c": 5}, "c")
pub("h", None, "none")
pub("amq.match", {"a": 1, "z": 0}, "match")
assert drain("q0") == ["ab"], "q0"
assert drain("q1") == ["ab", "a"], "q1"
assert drain("q2") == ["xk"], "q2"
assert drain("q3") == ["c"], "q3"
assert drain("q4") == ["match"], "q4"
print("ok")
PY
}

@test "internal, auto-delete, mandatory, and a deleted queue's bindings" {
	amqp_up
	pika_script "$ROUTE_PRELUDE" <<'PY'
ch.exchange_declare("in", "fanout", internal=True)
ch.queue_bind("q0", "in")
ch.exchange_bind("in", "amq.direct", "k")
ch.basic_publish("amq.direct", "k", "through")
assert drain("q0") == ["through"]
refused(lambda: (ch.basic_publish("in", "", "direct"), ch.queue_declare("q0")),
    403, "ACCESS_REFUSED - cannot publish to internal exchange 'in' in "
    "vhost '/'")
ch = c.channel()
refused(lambda: (ch.basic_publish("nx", "", "m"), ch.queue_declare("q0")),
    404, "NOT_FOUND - no exchange 'nx' in vhost '/'")
ch = c.channel()
# Auto-delete: it goes with its last binding.
ch.exchange_declare("ad", "fanout", auto_delete=True)
ch.queue_bind("q1", "ad")
ch.exchange_declare("ad", passive=True)
ch.queue_unbind("q1", "ad")
refused(lambda: ch.exchange_declare("ad", passive=True), 404,
    "NOT_FOUND - no exchange 'ad' in vhost '/'")
ch = c.channel()
# Mandatory: back with 312 when no binding takes it.
returned = []
ch.add_on_return_callback(lambda ch_, m, p, body:
    returned.append((m.reply_code, m.reply_text, m.exchange, m.routing_key,
    body)))
ch.queue_bind("q2", "amq.direct", "there")
ch.basic_publish("amq.direct", "nowhere", "lost", mandatory=True)
ch.basic_publish("amq.direct", "there", "kept", mandatory=True)
pump(c, lambda: returned)
assert returned == [(312, "NO_ROUTE", "amq.direct", "nowhere", b"lost")], \
    returned
assert drain("q2") == ["kept"]
# A deleted queue's bindings go with it, as in RabbitMQ.
ch.queue_delete("q2")
ch.queue_declare("q2")
ch.basic_publish("amq.direct", "there", "after")
assert drain("q2") == []
print("ok")
PY
}

@test "durable exchanges and their bindings survive a restart; transient ones do not" {
	amqp_up
	pika_script <<'PY'
ch.exchange_declare("keep", "topic", durable=True)
ch.exchange_declare("gone", "fanout")
ch.queue_declare("q", durable=True)
ch.queue_bind("q", "keep", "a.#")
ch.queue_bind("q", "gone")
print("ok")
PY
	stop "$MQ_PID"
	amqp_up
	pika_script <<'PY'
ch.exchange_declare("keep", "topic", durable=True)
refused(lambda: ch.exchange_declare("gone", passive=True), 404,
    "NOT_FOUND - no exchange 'gone' in vhost '/'")
ch = c.channel()
ch.basic_publish("keep", "a.b", "routed")
m, p, body = ch.basic_get("q", auto_ack=True)
assert body == b"routed", body
print("ok")
PY
}
