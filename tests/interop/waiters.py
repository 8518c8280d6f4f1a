#!/usr/bin/env python3
"""waiters.py - how precisely mq-serve wakes blocked readers.

    waiters.py HOST:PORT plain N     N clients XREAD BLOCK 0 on N streams
    waiters.py HOST:PORT group N     N clients XREADGROUP BLOCK 0 on one group

"plain": one XADD to one of the N streams must run the read of that
stream's client only: INFO's mq_blocked_retries grows by exactly one, and
no other client receives anything.  "group": one XADD to the stream the
N clients of one group wait on serves exactly one of them, and the read
of no other client runs (the delivery's journal write wakes nobody).
Raw sockets, so that a thousand connections cost little; prints what
it found and exits 1 on a mismatch.
"""
import select
import socket
import sys
import time


def command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def connect(host, port):
    s = socket.create_connection((host, port))
    s.setblocking(True)
    return s


def ask(s, *args):
    """Sends one command, returns its whole reply (small replies only)."""
    s.sendall(command(*args))
    buf = b""
    while True:
        buf += s.recv(65536)
        if reply_end(buf) is not None:
            return buf


def reply_end(buf, pos=0):
    """Where the RESP reply at buf[pos:] ends, or None if it is cut short."""
    if pos >= len(buf):
        return None
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:eol]
    if kind in (b"+", b"-", b":"):
        return eol + 2
    if kind == b"$":
        n = int(line)
        end = eol + 2 + max(n, 0) + (2 if n >= 0 else 0)
        return end if n < 0 or len(buf) >= end else None
    if kind in (b"*", b"%", b">"):
        n = int(line) * (2 if kind == b"%" else 1)
        pos = eol + 2
        for _ in range(max(n, 0)):
            pos = reply_end(buf, pos)
            if pos is None:
                return None
        return pos
    raise ValueError("unexpected reply %r" % buf[pos:pos + 20])


def info_field(s, name):
    for line in ask(s, "INFO").split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return int(line.split(b":", 1)[1])
    raise KeyError(name)


def wait_for(cond, what):
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    sys.exit("gave up waiting for %s" % what)


def readable(socks, timeout):
    """The sockets of 'socks' with something to read within 'timeout' s."""
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    by_fd = {s.fileno(): s for s in socks}
    return [by_fd[fd] for fd, _ in poller.poll(timeout * 1000)]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    mode, n = sys.argv[2], int(sys.argv[3])
    admin = connect(host, int(port))
    clients = []
    if mode == "plain":
        for i in range(n):
            ask(admin, "XADD", "s%d" % i, "*", "f", "v")
        for i in range(n):
            c = connect(host, int(port))
            c.sendall(command("XREAD", "BLOCK", 0, "STREAMS", "s%d" % i, "$"))
            clients.append(c)
        target = n // 2
        stream = "s%d" % target
    else:
        ask(admin, "XGROUP", "CREATE", "q", "g", "$", "MKSTREAM")
        for i in range(n):
            c = connect(host, int(port))
            c.sendall(command("XREADGROUP", "GROUP", "g", "c%d" % i,
                              "BLOCK", 0, "STREAMS", "q", ">"))
            clients.append(c)
        stream = "q"
    wait_for(lambda: info_field(admin, "blocked_clients") == n,
             "%d blocked clients" % n)
    before = info_field(admin, "mq_blocked_retries")
    ask(admin, "XADD", stream, "*", "f", "new")
    # The one served replies; then give the others the chance to be woken
    # (they must not be): the served client's reply is the sign that the
    # change went round, and INFO, answered after it, counts what ran.
    woken = []
    end = time.monotonic() + 30
    while not woken and time.monotonic() < end:
        woken = readable(clients, 0.1)
    # A second look: any other client woken by the same change shows now.
    ask(admin, "PING")
    woken = readable(clients, 0.5)
    after = info_field(admin, "mq_blocked_retries")
    print("mode=%s clients=%d woken=%d retries=%d" %
          (mode, n, len(woken), after - before))
    if mode == "plain" and woken != [clients[target]]:
        sys.exit("expected only the client of %s to be woken" % stream)
    if len(woken) != 1:
        sys.exit("expected one client to be served, got %d" % len(woken))
    if after - before != 1:
        sys.exit("expected one blocked read to run again, got %d" %
                 (after - before))


if __name__ == "__main__":
    main()
