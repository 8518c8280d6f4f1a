#!/usr/bin/env python3
"""blocked.py PORT N - N clients blocked on N other streams, for a benchmark.

Makes streams b0 .. bN-1, each with a group g (pipelined on one
connection), then opens N connections, each blocked in XREADGROUP GROUP g
c BLOCK 0 STREAMS bI >, and waits until the server's INFO counts them
all.  Prints "ready" and keeps them until its standard input closes.
"""
import socket
import sys
import time


def command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def drain_replies(s, n):
    """Reads n simple or error replies (one line each)."""
    buf = b""
    while buf.count(b"\r\n") < n:
        buf += s.recv(1 << 20)


def blocked_clients(s):
    s.sendall(command("INFO", "clients"))
    buf = b""
    while b"\r\n\r\n" not in buf and not buf.endswith(b"\r\n\r\n"):
        chunk = s.recv(65536)
        buf += chunk
        if b"blocked_clients:" in buf and buf.endswith(b"\r\n"):
            break
    for line in buf.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return 0


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    admin = socket.create_connection(("127.0.0.1", port))
    batch = 500
    for first in range(0, n, batch):
        last = min(n, first + batch)
        admin.sendall(b"".join(command("XGROUP", "CREATE", "b%d" % i, "g",
                                       "$", "MKSTREAM")
                               for i in range(first, last)))
        drain_replies(admin, last - first)
    conns = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(command("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0,
                          "STREAMS", "b%d" % i, ">"))
        conns.append(c)
    end = time.monotonic() + 120
    while blocked_clients(admin) < n:
        if time.monotonic() > end:
            sys.exit("blocked.py: the server did not block %d clients" % n)
        time.sleep(0.1)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
