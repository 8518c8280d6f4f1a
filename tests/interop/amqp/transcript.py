"""transcript.py - what a pika client observes, as lines of text, for the
differential test (differential.bats): one scenario runs against
rabbitmq-server and against mq-serve, and the two transcripts must be
the same line for line.

Loaded by prepending it to a scenario; the AMQP port of the server is
sys.argv[1], and sys.argv[2] a prefix for the scenario's queue names:
one rabbitmq-server serves every scenario of a file, so each names its
queues apart (q("jobs")), the same way on both servers.

Written down: each method the server answers with and all its arguments;
the code and text of a channel or connection close; deliveries, get-ok
and basic.return with their tags, redelivered flags, properties and
headers, each value with the type pika decoded it as, in the order of
the wire; whatever a scenario says itself.  Normalised: only the random
part of the names the server makes (amq.gen-..., amq.ctag-...), which
must still have RabbitMQ's shape to be normalised.  Nothing waits for a
fixed time: pump() waits for a condition, within a bound that keeps a
broken server from hanging the run.
"""

import datetime
import decimal
import re
import sys
import time

import pika

PORT = int(sys.argv[1])
PREFIX = sys.argv[2]
BOUND = 20.0	# seconds: only a broken server takes that long

# RabbitMQ's server-made names: a prefix and 22 characters of url-safe
# base64 (128 random bits).
MADE = re.compile(r"\b(amq\.(?:gen|ctag)-)[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")


def q(name):
	"""The name of the scenario's queue 'name'."""
	return PREFIX + name


def say(*words):
	print(MADE.sub(r"\1*", " ".join(str(w) for w in words)), flush=True)


def value(v):
	"""A field value with the type pika decoded it as; tables and arrays
	in the order they came."""
	if isinstance(v, dict):
		return "{%s}" % ", ".join("%s: %s" % (k, value(x))
					 for k, x in v.items())
	if isinstance(v, list):
		return "[%s]" % ", ".join(value(x) for x in v)
	return "%s(%r)" % (type(v).__name__, v)


def method(m):
	"""A method: its name and every argument."""
	return " ".join([m.NAME] + ["%s=%s" % (k, value(v))
				    for k, v in sorted(vars(m).items())])


def props(p):
	"""The properties that are present."""
	return " ".join("%s=%s" % (k, value(v))
			for k, v in sorted(vars(p).items()) if v is not None)


def message(label, m, p, body):
	say(label, method(m), props(p), "body=%r" % body)


def connect():
	return pika.BlockingConnection(pika.ConnectionParameters(
	    host="127.0.0.1", port=PORT))


def pump(conn, done):
	"""Runs conn's events until done() holds."""
	end = time.monotonic() + BOUND
	while not done():
		if time.monotonic() > end:
			say("gave up waiting")
			sys.exit(1)
		conn.process_data_events(time_limit=0.02)


def attempt(label, call):
	"""Runs call(); says what came back, or how the server refused it.
	Returns what came back, None when refused."""
	try:
		r = call()
	except pika.exceptions.ChannelClosedByBroker as e:
		say(label, "-> channel closed", e.reply_code, e.reply_text)
	except pika.exceptions.ConnectionClosedByBroker as e:
		say(label, "-> connection closed", e.reply_code, e.reply_text)
	else:
		if hasattr(r, "method"):
			say(label, "->", method(r.method))
		elif isinstance(r, tuple) and r[0] is not None:
			message(label + " ->", *r)
		else:
			say(label, "->", value(r))
		return r
	return None


def settled(label, name, n):
	"""Declares the queue 'name' passively until it has n messages ready,
	then says the answer (the last one, if that never comes).  RabbitMQ
	may answer the count ahead of publishes still on their way to the
	queue."""
	end = time.monotonic() + BOUND
	while True:
		ok = ch.queue_declare(name, passive=True)
		if ok.method.message_count == n or time.monotonic() > end:
			break
		c.process_data_events(time_limit=0.02)
	say(label, "->", method(ok.method))


# deliveries: what consumers got, in order, as (consumer tag, method,
# properties, body); returned: basic.return of the channel ch.
deliveries = []
returned = []


def on_message(chan, m, p, body):
	deliveries.append((m.consumer_tag, m, p, body))


def channel():
	"""A new channel of c, with its basic.return written down."""
	one = c.channel()
	one.add_on_return_callback(
	    lambda chan, m, p, body: returned.append((m, p, body)))
	return one


c = connect()
ch = channel()
