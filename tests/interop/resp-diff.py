#!/usr/bin/env python3
"""resp-diff.py - run a script of Redis commands against RESP servers and print
or compare a normalised transcript of what came back.

usage:
  resp-diff.py [-t SECONDS] HOST:PORT SCRIPT
        run SCRIPT against one server and print its transcript; a reply
        that has not come after SECONDS (5) is printed as missing
  resp-diff.py [-t SECONDS] --compare HOST1:PORT1 HOST2:PORT2 SCRIPT
        run SCRIPT against each server (one after the other) and print a
        unified diff of the two transcripts
exit status: 0 ran / same, 1 the transcripts differ, 2 usage error, bad
script, or a server that cannot be reached.  Only loopback addresses are
accepted: this is a test tool.

The client is raw: python3 sockets, no Redis library.  Each command is sent
as a RESP multibulk (an array of bulk strings) and exactly one reply is read
with a full RESP2/RESP3 parser (+ - : $ * _ , # ! = ( % ~ > | and the
streamed forms $? *? %? ~? with ; and . chunks).

SCRIPT, one item a line:
  blank lines and lines whose first non-blank is '#' are ignored;
  COMMAND ARGS...  split like a shell does (shlex); then, in every word,
                   the escapes \\r \\n \\t \\0 \\xNN \\\\ become those bytes
                   (put them in single quotes so that shlex keeps the
                   backslash); the text is sent as UTF-8 otherwise.
                   <id#N> in an argument is replaced by the id that @ids
                   numbered N on this server (see below).
Directives, each alone on its line:
  @conn NAME       further commands go to connection NAME (opened on first
                   use; the first connection is "main").  A connection that
                   the server closed (or that timed out) is opened again on
                   its next use.  After QUIT, the transcript tells whether
                   the server closed the connection.
  @send            the next command is sent but its reply is not read here
  @read            read one reply (a pushed message, or the reply of an
                   @send command) on the current connection
  @inline          the next command is sent as an inline command (its words
                   joined by spaces, CR LF) instead of a multibulk
  @resp3 / @resp2  send HELLO 3 / HELLO 2 on the current connection; the
                   values of server, version and id in its reply are masked
  @ids             from here on, number stream ids generated from the clock
                   (rule 1)
  @ignore          the next reply read is printed as its type only (rule 2)
  @mask SPEC...    in the next reply read, mask the values that SPECs name
                   (rule 3)
  @sort            the elements of the next reply read are sorted (rule 4)
Reply directives (@ignore, @mask, @sort) apply to the next reply that is
read, by a command or by @read, not by an @send command.

Transcript: each command as '> LINE' (or 'NAME> LINE' on a connection other
than main), '< read' for @read, then its reply, one RESP header a line with
the bytes as received (a bulk string's payload follows its $LEN header after
a space, escaped like above so that any byte shows), elements of aggregates
indented by two spaces.  At the end, anything a server sent that no command
read is printed as '< extra' (waiting 0.1 s for it per connection).

Normalisation: every reply is printed byte for byte, except for these rules,
each only where the script asks for it:
  1. @ids: a simple or bulk string that is an id MS-SEQ whose MS is at least
     10^12 (a wall-clock millisecond time, as XADD '*' makes; scripts use
     small explicit ids for everything they want compared exactly) is
     printed as <id#N>, N counting distinct such ids in order of first
     appearance.  Two servers never agree on the clock, only on the order.
  2. @ignore: the reply is printed as its type character and <ignored>.
  3. @mask SPEC: the value is printed as its type character and <masked>.
     A SPEC without a dot is a field NAME: in any map, or any array of even
     length read as name/value pairs (RESP2 maps), anywhere in the reply,
     the value after the key NAME.  A SPEC with dots is a path from the
     top: each part is '*' (every element; every value of a map), a number
     (that element) or a NAME (that key's value).  E.g. '@mask idle' for
     XINFO CONSUMERS, '@mask *.2' for the idle times of XPENDING's extended
     form, '@mask radix-tree-keys radix-tree-nodes' for XINFO STREAM.
  4. @sort: for replies whose order is a hash table's (PUBSUB CHANNELS).
The HELLO of @resp3/@resp2 masks server, version and id as in rule 3.
"""

import difflib
import ipaddress
import re
import select
import shlex
import signal
import socket
import sys


class Closed(Exception):
	"""The server closed the connection."""


class Timeout(Exception):
	"""No (complete) reply within the timeout."""


class ScriptError(Exception):
	"""A line of the script that cannot be run."""


class Value:
	"""One parsed reply.  'kind' is the type character, 'head' the rest of
	its header line (bytes), 'data' a string's payload, 'items' an
	aggregate's elements (a map's keys and values alternate), 'attr' an
	attribute (|) that came before it, 'chunks' the pieces of a streamed
	string, 'label' set when a rule replaced the value."""

	def __init__(self, kind, head, data=None, items=None):
		self.kind = kind
		self.head = head
		self.data = data
		self.items = items
		self.attr = None
		self.chunks = None
		self.label = None


STRINGS = '$!='		# length-prefixed strings
LINES = '+-:_,#('	# one-line values
AGGREGATES = '*~>%|'	# aggregates; % and | hold pairs


class Conn:
	"""A connection to a server with its own input buffer."""

	def __init__(self, addr, timeout):
		self.sock = socket.create_connection(addr, timeout=timeout)
		self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		self.buf = bytearray()
		self.timeout = timeout

	def close(self):
		self.sock.close()

	def send(self, data):
		self.sock.sendall(data)

	def _fill(self):
		try:
			chunk = self.sock.recv(65536)
		except socket.timeout:
			raise Timeout()
		except OSError:
			raise Closed()
		if not chunk:
			raise Closed()
		self.buf += chunk

	def _line(self):
		while True:
			i = self.buf.find(b'\r\n')
			if i >= 0:
				line = bytes(self.buf[:i])
				del self.buf[:i + 2]
				return line
			self._fill()

	def _exact(self, n):
		while len(self.buf) < n + 2:
			self._fill()
		data = bytes(self.buf[:n])
		if self.buf[n:n + 2] != b'\r\n':
			raise Closed()	# framing lost: treat as unusable
		del self.buf[:n + 2]
		return data

	def pending(self, wait):
		"""True if input is buffered or arrives within 'wait' seconds."""
		if self.buf:
			return True
		r, _, _ = select.select([self.sock], [], [], wait)
		return bool(r)

	def read(self):
		"""Read one complete value, attributes included."""
		v = self._value()
		while v.kind == '|':
			attr = v
			v = self._value()
			v.attr = attr
		return v

	def _value(self):
		line = self._line()
		if not line:
			raise ScriptError('empty reply line')
		kind, head = chr(line[0]), line[1:]
		if kind in LINES:
			return Value(kind, head)
		if kind in STRINGS:
			if head == b'?':
				v = Value(kind, head, b'')
				v.chunks = []
				while True:
					cl = self._line()
					if cl[:1] != b';':
						raise ScriptError('bad streamed chunk %r' % cl)
					n = int(cl[1:])
					piece = self._exact(n) if n else b''
					v.chunks.append((cl, piece))
					v.data += piece
					if n == 0:
						return v
			n = int(head)
			if n < 0:
				return Value(kind, head)
			return Value(kind, head, self._exact(n))
		if kind == '.' and not head:
			return Value(kind, head)	# end of a streamed aggregate
		if kind in AGGREGATES:
			if head == b'?':
				items = []
				while True:
					v = self.read()
					if v.kind == '.':
						break
					items.append(v)
				return Value(kind, head, items=items)
			n = int(head)
			if n < 0:
				return Value(kind, head)
			if kind in '%|':
				n *= 2
			return Value(kind, head, items=[self.read() for _ in range(n)])
		raise ScriptError('unknown reply type %r' % line[:40])


def esc(data):
	"""Bytes as one printable line: \\r \\n \\t \\\\ and \\xNN escapes."""
	out = []
	for b in data:
		if b == 0x5c:
			out.append('\\\\')
		elif b == 0x0d:
			out.append('\\r')
		elif b == 0x0a:
			out.append('\\n')
		elif b == 0x09:
			out.append('\\t')
		elif 0x20 <= b < 0x7f:
			out.append(chr(b))
		else:
			out.append('\\x%02x' % b)
	return ''.join(out)


def unesc(word):
	"""A script word with its escapes turned into bytes."""
	out = bytearray()
	i = 0
	while i < len(word):
		c = word[i]
		if c == '\\' and i + 1 < len(word):
			n = word[i + 1]
			simple = {'r': b'\r', 'n': b'\n', 't': b'\t', '0': b'\0', '\\': b'\\'}
			if n in simple:
				out += simple[n]
				i += 2
				continue
			if n == 'x' and re.match(r'[0-9a-fA-F]{2}', word[i + 2:i + 4]):
				out.append(int(word[i + 2:i + 4], 16))
				i += 4
				continue
		out += c.encode('utf-8')
		i += 1
	return bytes(out)


def show(v, indent, out):
	"""Append the printed form of 'v' to the list of lines 'out'."""
	pad = '  ' * indent
	if v.attr is not None:
		show(v.attr, indent, out)
	if v.label is not None:
		out.append('%s%s<%s>' % (pad, v.kind, v.label))
		return
	if v.kind in STRINGS:
		if v.chunks is not None:
			out.append('%s%s%s' % (pad, v.kind, esc(v.head)))
			for cl, piece in v.chunks:
				out.append('%s  %s %s' % (pad, esc(cl), esc(piece)))
		elif not v.data:	# null, or empty: no payload to show
			out.append('%s%s%s' % (pad, v.kind, esc(v.head)))
		else:
			out.append('%s%s%s %s' % (pad, v.kind, esc(v.head), esc(v.data)))
		return
	out.append('%s%s%s' % (pad, v.kind, esc(v.head)))
	for item in v.items or []:
		show(item, indent + 1, out)
	if v.head == b'?' and v.kind in AGGREGATES:
		out.append('%s.' % pad)


def str_of(v):
	"""The text of a simple, bulk or verbatim string, else None."""
	if v.label is not None:
		return None
	if v.kind == '+':
		return v.head
	if v.kind == '$' and v.data is not None:
		return v.data
	if v.kind == '=' and v.data is not None:
		return v.data[4:]	# after "txt:"
	return None


def pairs(v):
	"""(key, value) pairs of a map, or of an even array read as one."""
	if v.label is not None or v.items is None:
		return []
	if v.kind == '%' or (v.kind in '*~>' and len(v.items) % 2 == 0):
		return [(v.items[i], v.items[i + 1]) for i in range(0, len(v.items), 2)]
	return []


def mask_name(v, name):
	"""Rule 3, a field NAME anywhere in 'v'."""
	if v.items is None or v.label is not None:
		return
	for k, val in pairs(v):
		if str_of(k) == name:
			val.label = 'masked'
	for item in v.items:
		mask_name(item, name)


def mask_path(v, parts):
	"""Rule 3, a path from the top of 'v'."""
	if not parts:
		v.label = 'masked'
		return
	if v.items is None or v.label is not None:
		return
	p, rest = parts[0], parts[1:]
	if v.kind == '%':
		elems = v.items[1::2]
	else:
		elems = v.items
	if p == '*':
		for e in elems:
			mask_path(e, rest)
	elif p.isdigit():
		if int(p) < len(elems):
			mask_path(elems[int(p)], rest)
	else:
		for k, val in pairs(v):
			if str_of(k) == p.encode():
				mask_path(val, rest)


ID_RE = re.compile(rb'(\d+)-(\d+)')


class Run:
	"""One run of a script against one server."""

	def __init__(self, addr, timeout):
		self.addr = addr
		self.timeout = timeout
		self.conns = {}
		self.cur = 'main'
		self.ids = None		# id -> number, once @ids is on
		self.out = []
		self.reset_directives()

	def reset_directives(self):
		self.ignore = False
		self.masks = []
		self.sort = False

	def conn(self):
		c = self.conns.get(self.cur)
		if c is None:
			try:
				c = Conn(self.addr, self.timeout)
			except OSError as e:
				print('resp-diff: %s:%d: %s' % (self.addr[0],
				    self.addr[1], e.strerror or e), file=sys.stderr)
				sys.exit(2)
			self.conns[self.cur] = c
		return c

	def drop(self):
		c = self.conns.pop(self.cur, None)
		if c is not None:
			c.close()

	def prefix(self):
		return '' if self.cur == 'main' else self.cur

	def number_ids(self, v):
		"""Rule 1 on 'v' and everything in it."""
		if v.label is not None:
			return
		s = str_of(v)
		if s is not None and v.kind in '+$':
			m = ID_RE.fullmatch(s)
			if m and int(m.group(1)) >= 10 ** 12:
				if s not in self.ids:
					self.ids[s] = len(self.ids) + 1
				v.label = 'id#%d' % self.ids[s]
		for item in v.items or []:
			self.number_ids(item)
		if v.attr is not None:
			self.number_ids(v.attr)

	def substitute(self, word):
		"""<id#N> in an argument becomes the id numbered N (also inside
		a word, as in '(<id#2>'); unknown numbers stay as they are."""
		if self.ids is None:
			return word
		bynum = {num: k for k, num in self.ids.items()}
		return re.sub(rb'<id#(\d+)>',
		    lambda m: bynum.get(int(m.group(1)), m.group(0)), word)

	def reply(self):
		"""Read and print one reply on the current connection."""
		c = self.conn()
		try:
			v = c.read()
		except Timeout:
			self.out.append('(no reply within %gs)' % self.timeout)
			self.drop()
			self.reset_directives()
			return
		except Closed:
			self.out.append('(connection closed)')
			self.drop()
			self.reset_directives()
			return
		self.apply(v)
		show(v, 0, self.out)

	def apply(self, v):
		if self.ids is not None:
			self.number_ids(v)
		if self.ignore:
			v.label = 'ignored'
		for spec in self.masks:
			if '.' in spec:
				mask_path(v, spec.split('.'))
			else:
				mask_name(v, spec.encode())
		if self.sort and v.items is not None and v.label is None:
			if v.kind == '%':
				ps = sorted(pairs(v), key=lambda p: lines_of(p[0]) + lines_of(p[1]))
				v.items = [x for p in ps for x in p]
			else:
				v.items.sort(key=lines_of)
		self.reset_directives()

	def command(self, line, words, inline, send_only):
		self.out.append('%s> %s' % (self.prefix(), line))
		args = [self.substitute(unesc(w)) for w in words]
		if inline:
			data = b' '.join(args) + b'\r\n'
		else:
			data = b'*%d\r\n' % len(args) + b''.join(
			    b'$%d\r\n%s\r\n' % (len(a), a) for a in args)
		c = self.conn()
		try:
			c.send(data)
		except OSError:
			self.out.append('(connection closed)')
			self.drop()
			return
		if send_only:
			return
		self.reply()
		if args[0].upper() == b'QUIT' and self.cur in self.conns:
			self.expect_close()

	def expect_close(self):
		"""After QUIT: the server should close the connection."""
		try:
			v = self.conn().read()
			show(v, 0, self.out)
			self.out.append('(connection still open)')
		except Closed:
			self.out.append('(connection closed)')
		except Timeout:
			self.out.append('(connection still open)')
		self.drop()

	def hello(self, proto):
		self.masks = ['server', 'version', 'id']
		self.command('HELLO %d' % proto, ['HELLO', str(proto)], False, False)

	def run(self, script):
		inline = send_only = False
		for lineno, raw in enumerate(script.splitlines(), 1):
			line = raw.strip()
			if not line or line.startswith('#'):
				continue
			try:
				words = shlex.split(line)
			except ValueError as e:
				raise ScriptError('line %d: %s' % (lineno, e))
			if words[0].startswith('@'):
				d, rest = words[0], words[1:]
				if d == '@conn' and len(rest) == 1:
					self.cur = rest[0]
				elif d == '@send' and not rest:
					send_only = True
				elif d == '@read' and not rest:
					self.out.append('%s< read' % self.prefix())
					self.reply()
				elif d == '@inline' and not rest:
					inline = True
				elif d in ('@resp3', '@resp2') and not rest:
					self.hello(int(d[-1]))
				elif d == '@ids' and not rest:
					if self.ids is None:
						self.ids = {}
				elif d == '@ignore' and not rest:
					self.ignore = True
				elif d == '@mask' and rest:
					self.masks += rest
				elif d == '@sort' and not rest:
					self.sort = True
				else:
					raise ScriptError('line %d: bad directive: %s' % (lineno, line))
				continue
			self.command(line, words, inline, send_only)
			inline = send_only = False
		self.drain()
		return self.out

	def drain(self):
		"""Print what no command read ('< extra'), then close."""
		for name in sorted(self.conns):
			c = self.conns[name]
			self.cur = name
			try:
				while c.pending(0.1):
					self.out.append('%s< extra' % self.prefix())
					v = c.read()
					self.apply(v)
					show(v, 0, self.out)
			except (Closed, Timeout):
				pass
			c.close()
		self.conns = {}


def lines_of(v):
	out = []
	show(v, 0, out)
	return '\n'.join(out)


def parse_addr(s):
	host, sep, port = s.rpartition(':')
	if not sep or not port.isdigit():
		print('resp-diff: bad address %r: want HOST:PORT' % s, file=sys.stderr)
		sys.exit(2)
	host = host.strip('[]')
	try:
		ok = host == 'localhost' or ipaddress.ip_address(host).is_loopback
	except ValueError:
		ok = False
	if not ok:
		print('resp-diff: %s: only loopback addresses are allowed' % host,
		    file=sys.stderr)
		sys.exit(2)
	return (host, int(port))


def transcript(addr, script, timeout):
	try:
		return Run(addr, timeout).run(script)
	except ScriptError as e:
		print('resp-diff: %s' % e, file=sys.stderr)
		sys.exit(2)


def usage():
	print(__doc__.split('\n\n')[1], file=sys.stderr)
	sys.exit(2)


def main(argv):
	signal.signal(signal.SIGPIPE, signal.SIG_DFL)	# quiet under head(1)
	timeout = 5.0
	if argv[:1] == ['-t']:
		if len(argv) < 2:
			usage()
		timeout = float(argv[1])
		argv = argv[2:]
	if argv[:1] == ['--compare']:
		if len(argv) != 4:
			usage()
		a1, a2, path = parse_addr(argv[1]), parse_addr(argv[2]), argv[3]
	elif len(argv) == 2 and not argv[0].startswith('-'):
		a1, a2, path = parse_addr(argv[0]), None, argv[1]
	else:
		usage()
	try:
		with open(path, encoding='utf-8') as f:
			script = f.read()
	except OSError as e:
		print('resp-diff: %s: %s' % (path, e.strerror), file=sys.stderr)
		return 2
	t1 = transcript(a1, script, timeout)
	if a2 is None:
		print('\n'.join(t1))
		return 0
	t2 = transcript(a2, script, timeout)
	diff = list(difflib.unified_diff(t1, t2, '%s:%d' % a1, '%s:%d' % a2,
	    lineterm='', n=5))
	if diff:
		print('\n'.join(diff))
		return 1
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
