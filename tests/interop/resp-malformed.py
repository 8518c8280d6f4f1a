#!/usr/bin/env python3
"""resp-malformed.py - malformed RESP requests, sent as raw bytes on a
connection of their own, and what a server must do with each.

usage:
  resp-malformed.py [--redis HOST:PORT] [--max-bulk N] [--same] HOST:PORT
        runs every case against the server at HOST:PORT (mq-serve) and,
        with --redis, every case marked 'same' against redis-server too;
        --max-bulk N: both were started with that bulk limit (mq-serve
        --max-request N, redis-server --proto-max-bulk-len N), which adds
        the case of a bulk one byte longer; 0 (the default) leaves it out;
        --same: only the cases marked 'same' (HOST:PORT is a redis-server,
        to check the expectations themselves)
exit status: 0 all as expected, 1 a case failed, 2 usage error or a server
that cannot be reached.  Only loopback addresses are accepted.

For each case the expected reply is written out below, byte for byte, as
Redis 7.0 (networking.c) sends it, and whether the connection is then
closed.  A case that closes: everything the server sends until it closes
must be the expected reply.  A case that does not: the bytes are followed
by ECHO of a marker, and everything before the marker's reply must be the
expected reply.  Cases marked 'same' are also run against redis-server
(when given), which must send the same; those not marked are where
mq-serve departs from Redis on purpose (see docs/quirks.md).

Before the cases, a stream 'malformed:data' with three entries is added;
after each case a new connection must get +PONG and XLEN 3.
"""

import importlib.util
import os
import socket
import sys
import time

# parse_addr (loopback HOST:PORT only) is resp-diff.py's.
_spec = importlib.util.spec_from_file_location('resp_diff',
    os.path.join(os.path.dirname(os.path.abspath(__file__)), 'resp-diff.py'))
_resp_diff = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_resp_diff)
parse_addr = _resp_diff.parse_addr

TIMEOUT = 5.0
MARK = b'*2\r\n$4\r\nECHO\r\n$11\r\nmalformed:k\r\n'
MARK_REPLY = b'$11\r\nmalformed:k\r\n'
DATA = b'malformed:data'


def err(text):
	return b'-ERR ' + text + b'\r\n'


def unknown(name, args=b''):
	return err(b"unknown command '" + name + b"', with args beginning with: " + args)


INLINE_MAX = 64 * 1024	# PROTO_INLINE_MAX_SIZE

# (name, bytes, expected reply, closes, same as Redis)
CASES = [
	('multibulk length not a number', b'*abc\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, True),
	('multibulk length with a sign', b'*+1\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, True),
	('multibulk length over INT_MAX', b'*2147483648\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, True),
	('multibulk length over 20 digits', b'*123456789012345678901\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, True),
	# Redis 7 takes counts up to INT_MAX and waits for the arguments;
	# mq-serve caps them at 1024 * 1024 (Redis 6's limit).
	('multibulk length over 1048576 elements', b'*1048577\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, False),
	('negative bulk length', b'*1\r\n$-5\r\n',
	    err(b'Protocol error: invalid bulk length'), True, True),
	('bulk length -1 in a request', b'*1\r\n$-1\r\n',
	    err(b'Protocol error: invalid bulk length'), True, True),
	('huge bulk length', b'*1\r\n$999999999999\r\n',
	    err(b'Protocol error: invalid bulk length'), True, True),
	('bulk length with trailing junk', b'*1\r\n$4x\r\n',
	    err(b'Protocol error: invalid bulk length'), True, True),
	('bulk length with a leading zero', b'*1\r\n$04\r\nPING\r\n',
	    err(b'Protocol error: invalid bulk length'), True, True),
	('an array inside a request', b'*1\r\n*1\r\n$4\r\nPING\r\n',
	    err(b"Protocol error: expected '$', got '*'"), True, True),
	('an integer inside a request', b'*2\r\n$4\r\nECHO\r\n:1\r\n',
	    err(b"Protocol error: expected '$', got ':'"), True, True),
	('binary garbage for a bulk', b'*1\r\n\xff\xfe\r\n',
	    err(b"Protocol error: expected '$', got '\xff'"), True, True),
	('multibulk length ended by LF alone', b'*1\n$4\r\nPING\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, True),
	('multibulk length line longer than the limit',
	    b'*' + b'1' * INLINE_MAX,
	    err(b'Protocol error: too big mbulk count string'), True, True),
	('bulk length line longer than the limit',
	    b'*1\r\n$' + b'1' * INLINE_MAX,
	    err(b'Protocol error: too big bulk count string'), True, True),
	('unterminated inline line longer than the limit',
	    b'a' * (INLINE_MAX + 1),
	    err(b'Protocol error: too big inline request'), True, True),
	('unbalanced quotes inline', b'ECHO "abc\r\n',
	    err(b'Protocol error: unbalanced quotes in request'), True, True),
	('a closing quote followed by a letter', b"ECHO 'a'b\r\n",
	    err(b'Protocol error: unbalanced quotes in request'), True, True),
	# Not closed: the two bytes after a bulk are skipped unread.
	('bulk not followed by CRLF', b'*1\r\n$4\r\nPINGxx',
	    b'+PONG\r\n', False, True),
	('binary garbage inline', b'\x01\x02\xfe\xff\r\n',
	    unknown(b'\x01\x02\xfe\xff'), False, True),
	('a bulk string at the top level', b'$5\r\nworld\r\n',
	    unknown(b'$5') + unknown(b'world'), False, True),
	('a NUL byte in a command name', b'*1\r\n$4\r\nPI\x00G\r\n',
	    unknown(b'PI'), False, True),
	('a NUL byte in an argument', b'*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n',
	    b'$3\r\na\x00b\r\n', False, True),
	('empty and null multibulks, blank inline lines',
	    b'*0\r\n*-1\r\n\r\n\n   \r\n', b'', False, True),
	# Redis looks for line ends with strchr(), so a NUL hides the end
	# and it waits for 64 KiB; mq-serve reads the line as it came.
	('a NUL byte in an inline line', b'PI\x00NG\r\n',
	    unknown(b'PI'), False, False),
	('a NUL byte in a multibulk length', b'*1\x00\r\n',
	    err(b'Protocol error: invalid multibulk length'), True, False),
]


class Failed(Exception):
	pass


def connect(addr):
	try:
		s = socket.create_connection(addr, timeout=TIMEOUT)
	except OSError as e:
		print('resp-malformed: %s:%d: %s' % (addr[0], addr[1], e),
		    file=sys.stderr)
		sys.exit(2)
	s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	return s


def read_until(s, done):
	"""Reads until done(data) or the server closes; (data, closed)."""
	data = b''
	deadline = time.monotonic() + TIMEOUT
	while not done(data):
		left = deadline - time.monotonic()
		if left <= 0:
			raise Failed('no end within %gs; got %r' % (TIMEOUT, data[:200]))
		s.settimeout(left)
		try:
			chunk = s.recv(65536)
		except socket.timeout:
			continue
		except ConnectionResetError:
			return data, True
		if not chunk:
			return data, True
		data += chunk
	return data, False


def command(s, *args):
	s.sendall(b'*%d\r\n' % len(args) +
	    b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))


def run_case(addr, data, closes):
	"""What the server sends for 'data': (reply, closed)."""
	s = connect(addr)
	try:
		if closes:
			try:
				s.sendall(data)
			except (BrokenPipeError, ConnectionResetError):
				pass	# closed before it took everything
			return read_until(s, lambda d: False)
		s.sendall(data + MARK)
		got, closed = read_until(s, lambda d: d.endswith(MARK_REPLY))
		if closed:
			return got, True
		return got[:-len(MARK_REPLY)], False
	finally:
		s.close()


def still_serving(addr):
	"""A new connection gets PONG, and the data is still there."""
	s = connect(addr)
	try:
		command(s, b'PING')
		command(s, b'XLEN', DATA)
		want = b'+PONG\r\n:3\r\n'
		got, _ = read_until(s, lambda d: len(d) >= len(want))
		if got != want:
			raise Failed('afterwards: %r, not %r' % (got, want))
	finally:
		s.close()


def check(label, addr, name, data, want, closes):
	try:
		got, closed = run_case(addr, data, closes)
		if got != want:
			raise Failed('reply %r, not %r' % (got[:300], want[:300]))
		if closed != closes:
			raise Failed('the connection was %s' %
			    ('closed' if closed else 'left open'))
		still_serving(addr)
	except Failed as e:
		print('FAIL %s: %s: %s' % (label, name, e))
		return False
	print('ok %s: %s' % (label, name))
	return True


def setup(addr):
	s = connect(addr)
	try:
		command(s, b'DEL', DATA)
		for i in (1, 2, 3):
			command(s, b'XADD', DATA, b'%d-0' % i, b'f', b'v')
		want = b'$3\r\n1-0\r\n$3\r\n2-0\r\n$3\r\n3-0\r\n'
		got, _ = read_until(s, lambda d: d.endswith(want))
	finally:
		s.close()


def main(argv):
	redis = None
	max_bulk = 0
	only_same = False
	while argv[:1] in (['--redis'], ['--max-bulk'], ['--same']):
		if argv[0] == '--same':
			only_same = True
			argv = argv[1:]
			continue
		if len(argv) < 3:
			break
		if argv[0] == '--redis':
			redis = parse_addr(argv[1])
		elif argv[1].isdigit():
			max_bulk = int(argv[1])
		else:
			break
		argv = argv[2:]
	if len(argv) != 1:
		print(__doc__.split('\n\n')[1], file=sys.stderr)
		sys.exit(2)
	mq = parse_addr(argv[0])
	cases = list(CASES)
	if max_bulk > 0:
		cases.append(('bulk one byte longer than the limit',
		    b'*1\r\n$%d\r\n' % (max_bulk + 1),
		    err(b'Protocol error: invalid bulk length'), True, True))
	servers = [('mq', mq)] + ([('redis', redis)] if redis else [])
	for _, addr in servers:
		setup(addr)
	ok = True
	for name, data, want, closes, same in cases:
		for label, addr in servers:
			if (label == 'redis' or only_same) and not same:
				continue
			ok = check(label, addr, name, data, want, closes) and ok
	return 0 if ok else 1


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
