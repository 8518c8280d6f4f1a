"""linedoor.py - a client of the line door of mq-serve-test
(tests/serve/linedoor.c) for doors.bats: requests and replies are lines.

Loaded after rawresp.py, whose Conn it extends; the port of the line door
is sys.argv[2] (the RESP door's is sys.argv[1]).
"""

LINE_PORT = int(sys.argv[2])


class Line(Conn):
	def __init__(self):
		Conn.__init__(self, LINE_PORT)

	def send(self, *lines):
		"""Sends the lines (str, without their newline) in one write."""
		self.sock.sendall("".join(l + "\n" for l in lines).encode())

	def read(self):
		"""One line of reply, without its newline."""
		return self._line(b"\n").decode()

	def cmd(self, line):
		self.send(line)
		return self.read()
