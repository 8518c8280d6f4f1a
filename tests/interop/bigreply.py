#!/usr/bin/env python3
"""bigreply.py - mq-serve's large replies and output limits, seen from raw
sockets in one program (helpers from conns.py).

usage:
  bigreply.py range PORT PID IDS
        stream "s" holds one entry per line of IDS (its ids, as mq-xadd
        printed them), each with the body '%099d' % its line number.
        XRANGE s - + (then PING and XLEN pipelined behind it), XREVRANGE
        s + - and XREAD STREAMS s 0 reach a client that reads them in
        steps of 1 MiB whole, byte for byte, with the replies behind them
        in order; between two steps another client's PING is answered
        while the reply is not complete; the server's peak RSS (VmHWM of
        PID) stays within 64 MiB of its RSS before.
  bigreply.py exec PORT IDS
        the same stream: MULTI, XRANGE s - +, XLEN s, XREVRANGE s + -
        COUNT 5000, PING, EXEC, then PING: every reply whole, in order.
  bigreply.py snapshot PORT IDS
        the same stream: an XRANGE and an XREVRANGE read a first MiB;
        then another client appends, deletes entries and trims the
        stream to nothing; the rest of both replies is what the stream
        held when they ran.
  bigreply.py resp3 PORT IDS
        the same stream: a RESP3 client subscribed to "news" runs XRANGE
        s - + and PING; messages published once it has read a first MiB
        come after the whole reply (before or after the PONG).
  bigreply.py blocked PORT
        XREAD BLOCK with a PING pipelined behind it, woken by a
        transaction of 200 XADDs of 4 KiB: the large reply, then the PONG.
  bigreply.py corrupt PORT SEGMENT
        XRANGE s - + of a stream whose SEGMENT (a file of it) is zeroed in
        its middle once the client has read a first MiB: the reply stops
        short, the connection is closed, and another client is served.
  bigreply.py keys PORT N
        the keys k0 .. k(N-1) exist: KEYS * and SCAN 0 COUNT N*2 give each
        once.
  bigreply.py held PORT LIMIT
        a client with a reply of 32 MiB it does not read (and a PING behind
        it), LIMIT being --output-limit: CLIENT LIST shows it with more
        than four times LIMIT unsent, then it reads everything.
  bigreply.py pubsub PORT HARD
        two subscribers of "news", one that reads and one that does not
        (a small receive buffer); a publisher publishes 16 KiB messages
        until PUBLISH counts one receiver: the one that does not read was
        closed; the bytes published to it before are at least HARD and at
        most HARD and what the kernel buffers hold; the reader got every
        message and still answers.
  bigreply.py soft PORT
        the same, published slowly once past the buffers, until the one
        that does not read is closed (the soft limit and its time; the
        server runs with no hard limit).
exit status: 0 as expected, 1 not, 2 usage.  Connects to 127.0.0.1 only.
"""

import hashlib
import select
import socket
import sys
import time

from conns import (TIMEOUT, addr, bulk, client_list, command, connect, expect,
    recv_exactly)

STEP = 1 << 20
MESSAGE = b'$7\r\nmessage\r\n'	# what starts each message of a push


def entry(i, id_):
	body = b'%099d' % i
	return b'*2\r\n%s*2\r\n%s%s' % (bulk(id_), bulk(b'body'), bulk(body))


def load_ids(path):
	with open(path, 'rb') as f:
		return f.read().split()


class Want:
	"""The bytes a reply must be, as a length and a digest."""

	def __init__(self):
		self.h = hashlib.sha256()
		self.n = 0

	def add(self, b):
		self.h.update(b)
		self.n += len(b)


def want_entries(ids, order, head):
	w = Want()
	w.add(head + b'*%d\r\n' % len(order))
	for i in order:
		w.add(entry(i, ids[i]))
	return w


def rss_kib(pid, field):
	with open('/proc/%d/status' % pid) as f:
		for line in f:
			if line.startswith(field + ':'):
				return int(line.split()[1])
	sys.exit('no %s in /proc/%d/status' % (field, pid))


def read_checked(s, want, what, between=None):
	"""Reads want.n bytes in steps of STEP, calling 'between' after each
	step but the last; they must be the bytes 'want' stands for."""
	h = hashlib.sha256()
	got = 0
	while got < want.n:
		left = min(STEP, want.n - got)
		while left > 0:
			c = s.recv(min(left, 1 << 18))
			if not c:
				sys.exit('%s: closed after %d of %d bytes' % (what, got, want.n))
			h.update(c)
			got += len(c)
			left -= len(c)
		if between is not None and got < want.n:
			between(got)
	if h.digest() != want.h.digest():
		sys.exit('%s: %d bytes, not those of the stream' % (what, got))


def range_(port, pid, ids_path):
	ids = load_ids(ids_path)
	n = len(ids)
	before = rss_kib(pid, 'VmRSS')
	a, b = connect(port), connect(port)
	pongs = []

	def ping(got):
		b.sendall(command('PING'))
		expect(b, b'+PONG\r\n', 'PING on another connection')
		pongs.append(got)

	a.sendall(command('XRANGE', 's', '-', '+') + command('PING') +
	    command('XLEN', 's'))
	read_checked(a, want_entries(ids, range(n), b''), 'XRANGE', ping)
	expect(a, b'+PONG\r\n:%d\r\n' % n, 'what was pipelined behind XRANGE')
	a.sendall(command('XREVRANGE', 's', '+', '-'))
	read_checked(a, want_entries(ids, range(n - 1, -1, -1), b''), 'XREVRANGE')
	a.sendall(command('XREAD', 'STREAMS', 's', '0'))
	read_checked(a, want_entries(ids, range(n), b'*1\r\n*2\r\n' + bulk(b's')),
	    'XREAD')
	peak = rss_kib(pid, 'VmHWM')
	if len(pongs) < 100:
		sys.exit('only %d PINGs answered during the reply' % len(pongs))
	if peak - before > 64 * 1024:
		sys.exit('peak RSS %d KiB, %d KiB before: more than 64 MiB more' %
		    (peak, before))
	print('ok: %d entries three times, %d PINGs answered during the first, '
	    'peak RSS %+d KiB' % (n, len(pongs), peak - before))


def exec_(port, ids_path):
	ids = load_ids(ids_path)
	n = len(ids)
	s = connect(port)
	s.sendall(command('MULTI') + command('XRANGE', 's', '-', '+') +
	    command('XLEN', 's') + command('XREVRANGE', 's', '+', '-', 'COUNT',
	    '5000') + command('PING') + command('EXEC') + command('PING'))
	expect(s, b'+OK\r\n' + b'+QUEUED\r\n' * 4 + b'*4\r\n', 'MULTI')
	read_checked(s, want_entries(ids, range(n), b''), 'XRANGE in EXEC')
	expect(s, b':%d\r\n' % n, 'XLEN in EXEC')
	read_checked(s, want_entries(ids, range(n - 1, n - 5001, -1), b''),
	    'XREVRANGE in EXEC')
	expect(s, b'+PONG\r\n+PONG\r\n', 'PING in EXEC, and after it')
	print('ok: a transaction with two large replies, in order')


def snapshot(port, ids_path):
	ids = load_ids(ids_path)
	n = len(ids)
	fwd, back, other = connect(port), connect(port), connect(port)
	wf = want_entries(ids, range(n), b'')
	wb = want_entries(ids, range(n - 1, -1, -1), b'')
	fwd.sendall(command('XRANGE', 's', '-', '+'))
	back.sendall(command('XREVRANGE', 's', '+', '-'))
	done = []

	def change(got):
		if done:
			return
		done.append(got)
		other.sendall(command('XADD', 's', '*', 'body', 'later') +
		    command('XDEL', 's', ids[1], ids[n // 2], ids[n - 2]) +
		    command('XTRIM', 's', 'MAXLEN', '0') + command('XLEN', 's'))
		c = b''
		while not c.endswith(b':3\r\n:%d\r\n:0\r\n' % (n - 2)):
			c += other.recv(4096)
			if not c:
				sys.exit('closed')

	read_checked(fwd, wf, 'XRANGE', change)
	read_checked(back, wb, 'XREVRANGE')
	print('ok: %d entries twice, as they were before the changes' % n)


def resp3(port, ids_path):
	ids = load_ids(ids_path)
	n = len(ids)
	s, pub = connect(port), connect(port)
	# Nothing is sent behind ECHO: what comes up to its reply is all.
	s.sendall(command('HELLO', '3') + command('SUBSCRIBE', 'news') +
	    command('ECHO', 'set up'))
	setup, end = b'', bulk(b'set up')
	while not setup.endswith(end):
		c = s.recv(4096)
		if not c:
			sys.exit('closed')
		setup += c
	if b'>3\r\n' + bulk(b'subscribe') + bulk(b'news') + b':1\r\n' not in setup:
		sys.exit('SUBSCRIBE: %r' % setup)
	s.sendall(command('XRANGE', 's', '-', '+') + command('PING'))
	published = []

	def publish_once(got):
		if not published:
			pub.sendall(command('PUBLISH', 'news', 'hello') * 3)
			expect(pub, b':1\r\n' * 3, 'PUBLISH')
			published.append(got)

	read_checked(s, want_entries(ids, range(n), b''), 'XRANGE',
	    publish_once)
	# PING and the messages raced: either may come first, never inside.
	msg = b'>3\r\n' + bulk(b'message') + bulk(b'news') + bulk(b'hello')
	pong = b'+PONG\r\n'
	got = recv_exactly(s, len(msg * 3 + pong))
	if got not in (msg * k + pong + msg * (3 - k) for k in range(4)):
		sys.exit('after the reply: %r' % got)
	print('ok: the messages published during the reply came after it')


def blocked(port):
	s, other = connect(port), connect(port)
	body = b'b' * 4096
	s.sendall(command('XREAD', 'BLOCK', '0', 'COUNT', '1000', 'STREAMS', 'w',
	    '$') + command('PING'))
	# Blocked once CLIENT LIST flags it so.
	deadline = time.monotonic() + TIMEOUT
	while 'b' not in client_list(other)[addr(s)]['flags']:
		if time.monotonic() > deadline:
			sys.exit('gave up waiting for XREAD to block')
		time.sleep(0.02)
	other.sendall(command('MULTI') + command('XADD', 'w', '*', 'body', body) *
	    200 + command('EXEC'))
	f = other.makefile('rb')
	if f.readline() != b'+OK\r\n':
		sys.exit('MULTI')
	for _ in range(200):
		f.readline()
	if f.readline() != b'*200\r\n':
		sys.exit('EXEC')
	ids = [f.readline() and f.readline().rstrip() for _ in range(200)]
	want = Want()
	want.add(b'*1\r\n*2\r\n' + bulk(b'w') + b'*200\r\n')
	for i in ids:
		want.add(b'*2\r\n%s*2\r\n%s%s' % (bulk(i), bulk(b'body'),
		    bulk(body)))
	want.add(b'+PONG\r\n')
	read_checked(s, want, 'XREAD, then PING')
	print('ok: a woken XREAD of %d bytes, then what was behind it' % want.n)


def corrupt(port, segment):
	s, other = connect(port), connect(port)
	s.sendall(command('XRANGE', 's', '-', '+'))
	got = len(recv_exactly(s, STEP))
	with open(segment, 'r+b') as f:
		f.seek(0, 2)
		f.seek(f.tell() // 2)
		f.write(b'\0' * 65536)
	while True:
		c = s.recv(1 << 20)
		if not c:
			break
		got += len(c)
	other.sendall(command('PING'))
	expect(other, b'+PONG\r\n', 'PING')
	print('ok: closed after %d bytes of the reply' % got)


def keys(port, n):
	want = sorted(b'k%d' % i for i in range(n))
	s = connect(port)
	f = s.makefile('rb')

	def array():
		line = f.readline()
		if not line.startswith(b'*'):
			sys.exit('not an array: %r' % line)
		out = []
		for _ in range(int(line[1:])):
			line = f.readline()
			out.append(f.read(int(line[1:]) + 2)[:-2])
		return out

	s.sendall(command('KEYS', '*'))
	got = sorted(array())
	if got != want:
		sys.exit('KEYS: %d keys, want %d' % (len(got), n))
	s.sendall(command('SCAN', '0', 'COUNT', str(2 * n)) + command('PING'))
	if f.readline() != b'*2\r\n':
		sys.exit('SCAN: not a pair')
	f.readline()
	if f.read(3) != b'0\r\n':
		sys.exit('SCAN: the scan goes on')
	got = sorted(array())
	if got != want:
		sys.exit('SCAN: %d keys, want %d' % (len(got), n))
	if f.readline() != b'+PONG\r\n':
		sys.exit('SCAN: no PONG behind it')
	print('ok: KEYS and SCAN gave the %d keys' % n)


def held(port, limit):
	control, s = connect(port), connect(port)
	value = b'x' * (32 << 20)
	s.sendall(command('ECHO', value) + command('PING'))
	deadline = time.monotonic() + TIMEOUT
	while True:
		row = client_list(control).get(addr(s))
		if row is None:
			sys.exit('the client that does not read is gone')
		if int(row['obl']) > 4 * limit:
			break
		if time.monotonic() > deadline:
			sys.exit('gave up waiting for its output to pile up')
		time.sleep(0.02)
	expect(s, bulk(value) + b'+PONG\r\n', 'the reply it did not read')
	print('ok: held with %s bytes unsent, then served' % row['obl'])


def subscriber(port, rcvbuf=None):
	s = socket.socket()
	if rcvbuf is not None:
		s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
	s.settimeout(TIMEOUT)
	s.connect(('127.0.0.1', port))
	s.sendall(command('SUBSCRIBE', 'news'))
	expect(s, b'*3\r\n' + bulk(b'subscribe') + bulk(b'news') + b':1\r\n',
	    'SUBSCRIBE')
	return s


class Reader:
	"""A subscriber that reads everything, counting the messages."""

	def __init__(self, port):
		self.s = subscriber(port)
		self.s.setblocking(False)
		self.buf = b''
		self.count = 0

	def drain(self):
		while True:
			try:
				c = self.s.recv(1 << 20)
			except BlockingIOError:
				return
			if not c:
				sys.exit('the reading subscriber was closed')
			self.buf += c
			self.count += self.buf.count(MESSAGE)
			# The tail a header may straddle, never a whole one.
			self.buf = self.buf[1 - len(MESSAGE):]


def publish(pub, reader, body, k):
	"""Publishes 'body' k times; returns the receivers each counted."""
	pub.sendall(command('PUBLISH', 'news', body) * k)
	counts, buf = [], b''
	while len(counts) < k:
		r, _, _ = select.select([pub, reader.s], [], [], TIMEOUT)
		if not r:
			sys.exit('no reply to PUBLISH')
		if reader.s in r:
			reader.drain()
		if pub in r:
			buf += pub.recv(65536)
			*lines, buf = buf.split(b'\r\n')
			counts += [int(x[1:]) for x in lines]
	return counts


def kernel_slack(s):
	"""What the kernel may hold of a subscriber's messages: the server's
	send buffer at its largest, the subscriber's receive buffer."""
	with open('/proc/sys/net/ipv4/tcp_wmem') as f:
		wmem = int(f.read().split()[2])
	return wmem + s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def pubsub(port, hard):
	reader = Reader(port)
	lazy = subscriber(port, 32768)
	pub = connect(port)
	body = b'm' * 16384
	size = len(b'*3\r\n' + bulk(b'message') + bulk(b'news') + bulk(body))
	sent = published = 0
	bound = hard + kernel_slack(lazy) + 64 * size
	while True:
		counts = publish(pub, reader, body, 64)
		published += 64
		if counts[-1] == 1:
			break
		sent += size * counts.count(2)
		if sent > bound:
			sys.exit('%d bytes published to a subscriber that does not '
			    'read: not closed' % sent)
	if sent < hard:
		sys.exit('closed after %d bytes: under the limit %d' % (sent, hard))
	deadline = time.monotonic() + TIMEOUT
	while reader.count < published and time.monotonic() < deadline:
		select.select([reader.s], [], [], 0.1)
		reader.drain()
	if reader.count != published:
		sys.exit('the reader got %d of %d' % (reader.count, published))
	reader.s.setblocking(True)
	reader.s.sendall(command('PING'))
	expect(reader.s, b'*2\r\n' + bulk(b'pong') + bulk(b''), 'PING')
	print('ok: closed after %d bytes published to it (limit %d), the '
	    'reader got all %d' % (sent, hard, published))


def soft(port):
	reader = Reader(port)
	lazy = subscriber(port, 32768)
	pub = connect(port)
	body = b'm' * 16384
	size = len(b'*3\r\n' + bulk(b'message') + bulk(b'news') + bulk(body))
	# Past what the kernel holds, and the soft limit.
	publish(pub, reader, body, (kernel_slack(lazy) + (1 << 20)) // size)
	deadline = time.monotonic() + TIMEOUT
	while publish(pub, reader, body, 1)[0] == 2:
		if time.monotonic() > deadline:
			sys.exit('over the soft limit and never closed')
		time.sleep(0.05)
	print('ok: closed past the soft limit for its time; the reader was not')


def main():
	usage = {'range': 3, 'exec': 2, 'snapshot': 2, 'resp3': 2,
	    'blocked': 1, 'corrupt': 2, 'keys': 2, 'held': 2, 'pubsub': 2,
	    'soft': 1}
	if len(sys.argv) < 3 or usage.get(sys.argv[1]) != len(sys.argv) - 2:
		print(__doc__, file=sys.stderr)
		sys.exit(2)
	mode, port, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
	try:
		if mode == 'range':
			range_(port, int(rest[0]), rest[1])
		elif mode == 'exec':
			exec_(port, rest[0])
		elif mode == 'snapshot':
			snapshot(port, rest[0])
		elif mode == 'resp3':
			resp3(port, rest[0])
		elif mode == 'blocked':
			blocked(port)
		elif mode == 'corrupt':
			corrupt(port, rest[0])
		elif mode == 'keys':
			keys(port, int(rest[0]))
		elif mode == 'held':
			held(port, int(rest[0]))
		elif mode == 'pubsub':
			pubsub(port, int(rest[0]))
		else:
			soft(port)
	except (OSError, ValueError) as e:
		sys.exit('%s: %r' % (mode, e))


if __name__ == '__main__':
	main()
