"""rawresp.py - a raw RESP2 client for tests that hold several connections
in one program and watch the order their replies come in (auth.bats,
doors.bats).

Loaded by prepending it to a test's script; the port of the server is
sys.argv[1].  Nothing here waits for a fixed time: wait_for polls a
condition, and gives up only after a bound that keeps a broken server
from hanging the run.
"""

import socket
import sys
import time

PORT = int(sys.argv[1])
BOUND = 20.0	# seconds: only a broken server takes that long


class Conn:
	def __init__(self, port=PORT):
		self.sock = socket.create_connection(("127.0.0.1", port),
						     timeout=BOUND)
		self.buf = b""

	def send(self, *cmds):
		"""Sends the commands (tuples of words) in one write."""
		out = b""
		for cmd in cmds:
			out += b"*%d\r\n" % len(cmd)
			for w in cmd:
				w = w.encode() if isinstance(w, str) else w
				out += b"$%d\r\n%s\r\n" % (len(w), w)
		self.sock.sendall(out)

	def _fill(self):
		data = self.sock.recv(65536)
		if not data:
			raise EOFError("the server closed the connection")
		self.buf += data

	def _take(self, n):
		while len(self.buf) < n:
			self._fill()
		out, self.buf = self.buf[:n], self.buf[n:]
		return out

	def _line(self, end=b"\r\n"):
		while end not in self.buf:
			self._fill()
		line, self.buf = self.buf.split(end, 1)
		return line

	def read(self):
		"""One reply: str, int, bytes, None, a list, or Err."""
		line = self._line()
		t, rest = line[:1], line[1:]
		if t == b"+":
			return rest.decode()
		if t == b"-":
			return Err(rest.decode())
		if t == b":":
			return int(rest)
		if t == b"$":
			n = int(rest)
			return None if n < 0 else self._take(n + 2)[:-2]
		if t == b"*":
			n = int(rest)
			return None if n < 0 else [self.read() for _ in range(n)]
		raise ValueError("not RESP: %r" % line)

	def cmd(self, *words):
		self.send(words)
		return self.read()

	def nothing_yet(self):
		"""Whether no byte of a reply has arrived (it does not wait)."""
		if self.buf:
			return False
		self.sock.setblocking(False)
		try:
			return not self.sock.recv(1, socket.MSG_PEEK)
		except BlockingIOError:
			return True
		finally:
			self.sock.settimeout(BOUND)

	def until_closed(self):
		"""All the server sends until it closes the connection."""
		try:
			while True:
				self._fill()
		except EOFError:
			return self.buf

	def info(self):
		"""INFO stats as a dict of str to int (or str)."""
		return parse_info(self.cmd("INFO", "stats"))

	def close(self):
		self.sock.close()


class Err(str):
	"""An error reply."""


def parse_info(text):
	d = {}
	for line in text.decode().split("\r\n"):
		if ":" in line and not line.startswith("#"):
			k, v = line.split(":", 1)
			d[k] = int(v) if v.lstrip("-").isdigit() else v
	return d


def wait_for(what, cond):
	"""Polls cond() until it is true; fails after BOUND seconds."""
	deadline = time.monotonic() + BOUND
	while not cond():
		if time.monotonic() > deadline:
			sys.exit("gave up waiting for " + what)
		time.sleep(0.01)


def login(user, password):
	c = Conn()
	assert c.cmd("AUTH", user, password) == "OK"
	return c


def failing(n):
	"""A new connection whose n AUTHs as alice, in a row, failed."""
	c = Conn()
	for i in range(n):
		assert c.cmd("AUTH", "alice", "nope").startswith("WRONGPASS")
	return c


def slow_check(watcher, *behind):
	"""A new connection whose AUTH of the user "slow" (auth.bats's SLOW),
	and the commands 'behind' it, have been sent, and whose check runs
	now, as connection 'watcher' sees in INFO."""
	c = Conn()
	c.send(("AUTH", "slow", "guess"), *behind)
	wait_for("the thread to check slow",
		 lambda: watcher.info()["mq_auth_running"] == 1)
	return c
