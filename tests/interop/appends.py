#!/usr/bin/python3
"""appends.py - a Redis client appending over many streams, for crash.bats.

  appends.py append PORT STREAMS TAG [PAD]
                                       XADD "TAG-0", "TAG-1", ... as field
                                       f, each to one of the streams w0 to
                                       w<STREAMS-1> picked at random, in
                                       pipelines of 16, until the server
                                       goes away (exit 3); with PAD, a
                                       field p of PAD bytes too
  appends.py each PORT STREAMS TAG     XADD "TAG-<n>" to each stream wn
  appends.py dump PORT STREAMS         XRANGE - + of each stream

Each prints its entries as "STREAM<TAB>ID<TAB>BODY" lines (see
../appends.bash): append and each those whose id came back, dump every
entry of each stream in order.  append prints the replies of a pipeline
when all of them came back, in one write, so that its output is whole
lines whenever it stops; a reply other than an id is an error (exit 1,
with a traceback).
"""
import os
import random
import sys

import redis

PIPELINE = 16


def connect(port):
    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def emit(lines):
    os.write(1, "".join("%s\t%s\t%s\n" % line for line in lines).encode())


def append(r, streams, tag, pad):
    pick = random.Random(tag).randrange
    fields = {"p": "x" * pad} if pad > 0 else {}
    n = 0
    while True:
        batch = []
        for _ in range(PIPELINE):
            batch.append(("w%d" % pick(streams), "%s-%d" % (tag, n)))
            n += 1
        pipe = r.pipeline(transaction=False)
        for stream, body in batch:
            pipe.xadd(stream, dict(fields, f=body))
        try:
            ids = pipe.execute()
        except redis.ConnectionError:
            sys.exit(3)
        emit((s, i, b) for (s, b), i in zip(batch, ids))


def each(r, streams, tag):
    pipe = r.pipeline(transaction=False)
    for n in range(streams):
        pipe.xadd("w%d" % n, {"f": "%s-%d" % (tag, n)})
    ids = pipe.execute()
    emit(("w%d" % n, i, "%s-%d" % (tag, n)) for n, i in enumerate(ids))


def dump(r, streams):
    pipe = r.pipeline(transaction=False)
    for n in range(streams):
        pipe.xrange("w%d" % n)
    for n, entries in enumerate(pipe.execute()):
        emit(("w%d" % n, i, fields["f"]) for i, fields in entries)


def main():
    what, port, streams = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = connect(port)
    if what == "append":
        append(r, streams, sys.argv[4],
               int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif what == "each":
        each(r, streams, sys.argv[4])
    elif what == "dump":
        dump(r, streams)
    else:
        sys.exit("appends.py: %s: no such command" % what)


if __name__ == "__main__":
    main()
