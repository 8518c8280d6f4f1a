#!/usr/bin/python3
"""amqp-pika-fixtures.py - frames as pika 1.2 sends them, printed as C arrays.

    /usr/bin/python3 scripts/amqp-pika-fixtures.py

Needs Debian's python3-pika.  No server: each frame is built by pika's own
classes and marshal(), the code pika's connection writes to its socket
with (pika.connection.Connection._send_method and _send_message), and
the client properties are pika's own (Connection._client_properties).
The output is pasted into tests/unit/test_amqp_parse.c, whose tests check
that the codec reads these bytes as pika meant them; run this again only
to change the fixtures.
"""
import datetime
import types

import pika
from pika import connection, credentials, frame, spec


def client_properties():
    """What pika announces in connection.start-ok, as its connection builds it."""
    fake = types.SimpleNamespace(params=pika.ConnectionParameters())
    return connection.Connection._client_properties.fget(fake)


def start_ok():
    start = spec.Connection.Start(mechanisms="PLAIN AMQPLAIN")
    mech, resp = credentials.PlainCredentials("guest", "guest").response_for(start)
    return frame.Method(0, spec.Connection.StartOk(
        client_properties(), mech, resp, "en_US")).marshal()


def publish():
    props = spec.BasicProperties(
        content_type="text/plain", delivery_mode=2, expiration="60000",
        timestamp=1700000000,
        headers={"n": 7, "big": 1 << 40, "s": "x", "ok": True,
                 "when": datetime.datetime(2023, 11, 14, 22, 13, 20),
                 "list": [1, "two"], "sub": {"k": -1}})
    body = b"hello"
    return (frame.Method(1, spec.Basic.Publish(
                exchange="", routing_key="q", mandatory=True)).marshal() +
            frame.Header(1, len(body), props).marshal() +
            frame.Body(1, body).marshal())


FIXTURES = [
    ("pika_start_ok", "connection.start-ok, PLAIN guest/guest", start_ok()),
    ("pika_tune_ok", "connection.tune-ok 2047 131072 60",
     frame.Method(0, spec.Connection.TuneOk(2047, 131072, 60)).marshal()),
    ("pika_open", "connection.open / with insist",
     frame.Method(0, spec.Connection.Open("/", insist=True)).marshal()),
    ("pika_queue_declare",
     "queue.declare q, durable, x-message-ttl 1000, x-dead-letter-exchange dlx",
     frame.Method(1, spec.Queue.Declare(
         queue="q", durable=True,
         arguments={"x-message-ttl": 1000,
                    "x-dead-letter-exchange": "dlx"})).marshal()),
    ("pika_publish", "basic.publish '' q mandatory, its header and body",
     publish()),
]


def c_array(name, comment, data):
    lines = ["/* %s */" % comment,
             "static const uint8_t %s[] = {" % name]
    for i in range(0, len(data), 12):
        lines.append("\t" + " ".join("0x%02x," % b for b in data[i:i + 12]))
    lines.append("};")
    return "\n".join(lines)


def main():
    print("/* Made by scripts/amqp-pika-fixtures.py with pika %s. */"
          % pika.__version__)
    for name, comment, data in FIXTURES:
        print(c_array(name, comment, data))


if __name__ == "__main__":
    main()
