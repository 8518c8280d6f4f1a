#!/usr/bin/env python3
"""fanout.py - what subscribers receive of a burst of pipelined PUBLISHes.

    fanout.py HOST:PORT burst    print what four subscribers receive
    fanout.py HOST:PORT order N  check the order of N alternating publishes

"burst": four subscribers, RESP2 and RESP3, on channels and patterns
(some on both, so that a message reaches one client as "message" and as
"pmessage"; no two patterns of a client match one channel, as Redis
sends those in the order of its table of patterns, and no pattern
matches the empty channel, which Redis's "*" does not), then one connection sends 80 PUBLISHes in one write: to
several channels, bodies empty, binary and large, and to a channel no
one hears in between.  Prints the confirmations, the PUBLISH replies and
every frame each subscriber received, byte for byte (escaped), so that
fanout.bats can compare mq-serve's transcript with redis-server's.  A
subscriber has received the whole burst when the reply to a PING it
sends after the last PUBLISH reply comes: a server answers that PING
after what it pushed before (no body of the burst says "burst-end").

"order": one subscriber of channels "a" and "b" (fanout.bats runs an
mq-subscribe of "b" too, so that only the publishes to "b" go through
the spool's log); one write of N PUBLISHes alternating between the two
channels; the subscriber must receive all N in the order published.
Exits 1 on a mismatch.

Raw sockets, no Redis library (waiters.py's command and reply parser);
nothing waits for a fixed time.
"""
import socket
import sys

from waiters import command, reply_end

BOUND = 20.0	# seconds: only a broken server takes that long


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=BOUND)
        self.buf = b""

    def send(self, *cmds):
        """Sends the commands (tuples of words) in one write."""
        self.sock.sendall(b"".join(command(*c) for c in cmds))

    def frame(self):
        """The next whole reply or push, as the bytes received."""
        while True:
            if self.buf:
                end = reply_end(self.buf, 0)
                if end is not None:
                    out, self.buf = self.buf[:end], self.buf[end:]
                    return out
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("the server closed the connection")
            self.buf += data

    def ask(self, *cmd):
        self.send(cmd)
        return self.frame()


def escape(b):
    return b.decode("latin-1").encode("unicode_escape").decode()


def burst(host, port):
    # (RESP3?, channels, patterns)
    subs = [
        (False, ["news", "sport"], []),
        (True, ["news"], ["[nsw]*"]),
        (False, [], ["s?ort", "n*"]),
        (True, ["weather", ""], ["w*"]),
    ]
    conns = []
    for i, (resp3, channels, patterns) in enumerate(subs):
        c = Conn(host, port)
        if resp3:
            c.ask("HELLO", "3")	# its reply names the server: not printed
        if channels:
            c.send(("SUBSCRIBE", *channels))
            for _ in channels:
                print("s%d confirm %s" % (i, escape(c.frame())))
        if patterns:
            c.send(("PSUBSCRIBE", *patterns))
            for _ in patterns:
                print("s%d confirm %s" % (i, escape(c.frame())))
        conns.append(c)
    # The empty channel with an empty body first: the next channel's copy
    # may start where it does.
    topics = ["", "sport", "weather", "nobody", "x", "news", "news",
              "sport", "spurt", "nope"]
    bodies = [b"", b"binary\r\n\x00value", b"x" * 100000]
    cmds = []
    for i in range(80):
        topic = topics[i % len(topics)]
        body = bodies[i] if i < len(bodies) else b"m%d" % i
        cmds.append(("PUBLISH", topic, body))
    pub = Conn(host, port)
    pub.send(*cmds)
    for _ in cmds:
        print("pub reply %s" % escape(pub.frame()))
    for i, c in enumerate(conns):
        c.send(("PING", "burst-end"))
        frames = 0
        while True:
            f = c.frame()
            print("s%d %s" % (i, escape(f)))
            if f.endswith(b"$9\r\nburst-end\r\n"):
                break
            frames += 1
        print("s%d received %d frames" % (i, frames))


def order(host, port, n):
    sub = Conn(host, port)
    sub.send(("SUBSCRIBE", "a", "b"))
    for _ in range(2):
        sub.frame()
    pub = Conn(host, port)
    pub.send(*[("PUBLISH", "ab"[i % 2], str(i)) for i in range(n)])
    for _ in range(n):
        pub.frame()
    got = []
    while len(got) < n:
        f = sub.frame()
        got.append(f[f.rfind(b"\r\n", 0, len(f) - 2) + 2:-2].decode())
    print("received %s" % " ".join(got))
    if got != [str(i) for i in range(n)]:
        sys.exit("not in the order published")


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    if sys.argv[2] == "burst":
        burst(host, int(port))
    else:
        order(host, int(port), int(sys.argv[3]))


if __name__ == "__main__":
    main()
