#!/usr/bin/env python3
"""conns.py - mq-serve's connections seen from raw sockets: what an idle
one keeps, a pipeline cut into small pieces, a pipeline behind a blocked
read, a client that does not read its replies.

usage:
  conns.py idle PORT      connections that sent one command each, one that
                          got a large reply, one in the middle of a request:
                          CLIENT LIST shows no buffer for the idle ones, and
                          for the last one a buffer of just what it sent
  conns.py split PORT     a pipeline of 4,000 requests (inline and
                          multibulk, large and small) sent in pieces of 1 to
                          1,500 bytes with pauses: every reply, byte for byte
  conns.py blocked PORT   XREAD BLOCK with requests pipelined behind it, more
                          sent while it waits: kept until it is served, then
                          all answered in order
  conns.py unread PORT N  a PING answered (then prints "served"), and an
                          ECHO of N bytes whose reply it never reads; then
                          waits (the caller stops it)
exit status: 0 as expected, 1 not, 2 usage.  Connects to 127.0.0.1 only.
"""

import random
import socket
import sys
import threading
import time

TIMEOUT = 10.0


def command(*args):
	"""A request in the multibulk form."""
	out = [b'*%d\r\n' % len(args)]
	for a in args:
		if isinstance(a, str):
			a = a.encode()
		out.append(b'$%d\r\n%s\r\n' % (len(a), a))
	return b''.join(out)


def bulk(b):
	return b'$%d\r\n%s\r\n' % (len(b), b)


def connect(port):
	s = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
	s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	return s


def recv_exactly(s, n):
	data = b''
	while len(data) < n:
		chunk = s.recv(n - len(data))
		if not chunk:
			sys.exit('connection closed after %d of %d bytes' % (len(data), n))
		data += chunk
	return data


def expect(s, want, what):
	got = recv_exactly(s, len(want))
	if got != want:
		sys.exit('%s: got %r, want %r' % (what, got[:200], want[:200]))


def read_line(s):
	line = b''
	while not line.endswith(b'\r\n'):
		c = s.recv(1)
		if not c:
			sys.exit('connection closed')
		line += c
	return line[:-2]


def client_list(s):
	"""CLIENT LIST as {addr: {field: value}}."""
	s.sendall(command('CLIENT', 'LIST'))
	line = read_line(s)
	if not line.startswith(b'$'):
		sys.exit('CLIENT LIST: %r' % line)
	text = recv_exactly(s, int(line[1:]) + 2)[:-2].decode()
	clients = {}
	for row in text.splitlines():
		fields = dict(f.split('=', 1) for f in row.split(' ') if '=' in f)
		clients[fields['addr']] = fields
	return clients


def addr(s):
	return '%s:%d' % s.getsockname()[:2]


def wait_for(what, cond):
	deadline = time.monotonic() + TIMEOUT
	while time.monotonic() < deadline:
		if cond():
			return
		time.sleep(0.02)
	sys.exit('gave up waiting for: ' + what)


BUFFERS = ('qbuf', 'qbuf-free', 'rbs', 'obl', 'omem')


def check_empty(clients, s, what):
	row = clients[addr(s)]
	held = {k: row[k] for k in BUFFERS if row[k] != '0'}
	if held:
		sys.exit('%s keeps buffers: %s' % (what, held))


def idle(port):
	control = connect(port)
	pingers = [connect(port) for _ in range(20)]
	for s in pingers:
		s.sendall(command('PING'))
	for s in pingers:
		expect(s, b'+PONG\r\n', 'PING')
	large = connect(port)
	value = b'v' * 300000	# more than one read brings
	large.sendall(command('ECHO', value))
	expect(large, bulk(value), 'ECHO')
	half = connect(port)
	full = command('ECHO', 'hello')
	sent, rest = full[:-4], full[-4:]
	half.sendall(sent)
	wait_for('the half request to arrive',
	    lambda: client_list(control)[addr(half)]['qbuf'] == str(len(sent)))
	clients = client_list(control)
	for s in pingers:
		check_empty(clients, s, 'a connection after a PING')
	check_empty(clients, large, 'a connection after a large request and reply')
	row = clients[addr(half)]
	if (row['rbs'], row['qbuf-free']) != (str(len(sent)), '0'):
		sys.exit('half a request: rbs=%s qbuf-free=%s, want rbs=%d qbuf-free=0' %
		    (row['rbs'], row['qbuf-free'], len(sent)))
	half.sendall(rest)
	expect(half, bulk(b'hello'), 'the rest of the request')
	check_empty(client_list(control), half, 'a request once complete')
	print('ok: %d idle connections keep no buffer' % (len(pingers) + 2))


def split(port):
	rng = random.Random(1)
	reqs, want = [], []
	top = 0
	for i in range(4000):
		kind = i % 5
		if kind == 0:
			reqs.append(command('PING'))
			want.append(b'+PONG\r\n')
		elif kind == 1:
			n = 200000 if i % 500 == 1 else (i * 37) % 3000
			v = bytes((i + j) % 251 for j in range(min(n, 251))) * (n // 251 + 1)
			v = v[:n]
			reqs.append(command('ECHO', v))
			want.append(bulk(v))
		elif kind == 2:
			top += 1
			reqs.append(command('XADD', 'split', '%d-1' % top, 'f', 'v%d' % i))
			want.append(bulk(b'%d-1' % top))
		elif kind == 3:
			reqs.append(b'ECHO inline%d\r\n' % i)
			want.append(bulk(b'inline%d' % i))
		else:
			reqs.append(command('XLEN', 'split'))
			want.append(b':%d\r\n' % top)
	data, want = b''.join(reqs), b''.join(want)
	s = connect(port)
	got = []

	def reader():
		n = 0
		while n < len(want):
			try:
				c = s.recv(65536)
			except OSError:
				break
			if not c:
				break
			got.append(c)
			n += len(c)

	t = threading.Thread(target=reader)
	t.start()
	pos = pieces = 0
	while pos < len(data):
		n = rng.randint(1, 1500)
		s.sendall(data[pos:pos + n])
		pos += n
		pieces += 1
		if pieces % 100 == 0:
			time.sleep(0.002)	# lets the server read what is there
	t.join(60)
	got = b''.join(got)
	if got != want:
		at = next((i for i in range(min(len(got), len(want)))
		    if got[i] != want[i]), min(len(got), len(want)))
		sys.exit('replies differ at byte %d of %d (got %d): got %r, want %r' %
		    (at, len(want), len(got), got[at:at + 60], want[at:at + 60]))
	print('ok: %d requests in %d pieces, %d bytes of replies as expected' %
	    (len(reqs), pieces, len(want)))


def blocked(port):
	control = connect(port)
	reader = connect(port)
	xread = command('XREAD', 'BLOCK', '0', 'STREAMS', 'b', '$')
	behind = command('PING') + command('ECHO', 'after')
	more = command('XLEN', 'b') + b'PING\r\n'

	def row():
		return client_list(control)[addr(reader)]

	reader.sendall(xread + behind)
	wait_for('XREAD to block, what follows it kept',
	    lambda: 'b' in row()['flags'] and row()['qbuf'] == str(len(behind)))
	reader.sendall(more)
	wait_for('the second write to be kept too',
	    lambda: row()['qbuf'] == str(len(behind + more)))
	control.sendall(command('XADD', 'b', '5-1', 'f', 'v'))
	expect(control, bulk(b'5-1'), 'XADD')
	expect(reader, b'*1\r\n*2\r\n' + bulk(b'b') + b'*1\r\n*2\r\n' + bulk(b'5-1') +
	    b'*2\r\n' + bulk(b'f') + bulk(b'v') + b'+PONG\r\n' + bulk(b'after') +
	    b':1\r\n+PONG\r\n', 'XREAD, then what was pipelined behind it')
	check_empty(client_list(control), reader, 'the reader once served')
	print('ok: %d bytes behind a blocked XREAD kept, then run' %
	    len(behind + more))


def unread(port, n):
	s = connect(port)
	s.sendall(command('PING'))
	expect(s, b'+PONG\r\n', 'PING')
	print('served', flush=True)
	s.sendall(command('ECHO', b'x' * n))
	time.sleep(60)


def main():
	if len(sys.argv) < 3 or sys.argv[1] not in ('idle', 'split', 'blocked',
	    'unread') or (sys.argv[1] == 'unread') != (len(sys.argv) == 4):
		print(__doc__, file=sys.stderr)
		sys.exit(2)
	port = int(sys.argv[2])
	try:
		if sys.argv[1] == 'unread':
			unread(port, int(sys.argv[3]))
		else:
			globals()[sys.argv[1]](port)
	except (OSError, KeyError, ValueError) as e:
		sys.exit('%s: %r' % (sys.argv[1], e))


if __name__ == '__main__':
	main()
