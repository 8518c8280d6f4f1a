"""rawamqp.py - a raw AMQP 0-9-1 client for tests that send what no real
client would: frames split at every byte or merged, malformed frames,
methods out of order, and silence.

Loaded by prepending it to a test's script; the AMQP port of the server
is sys.argv[1].  Well-formed frames are made and read with pika's own
codec (pika.frame, pika.spec), so that only the bytes a test means to
break are written by hand.  Nothing here waits for a fixed time: reads
wait for bytes, and give up only after a bound that keeps a broken
server from hanging the run.
"""

import socket
import struct
import sys
import time

import pika.frame
import pika.spec

PORT = int(sys.argv[1])
BOUND = 20.0	# seconds: only a broken server takes that long
HEADER = b"AMQP\x00\x00\x09\x01"


def method(channel, m):
	"""The bytes of a method frame."""
	return pika.frame.Method(channel, m).marshal()


def raw_frame(ftype, channel, payload, end=b"\xce"):
	"""The bytes of any frame, end octet included (or another one)."""
	return struct.pack(">BHI", ftype, channel, len(payload)) + payload + end


def plain(user, password):
	return b"\x00" + user.encode() + b"\x00" + password.encode()


def start_ok(user="guest", password="guest", mechanism="PLAIN",
	     response=None):
	caps = {"authentication_failure_close": True,
		"consumer_cancel_notify": True, "connection.blocked": True}
	if response is None:
		response = plain(user, password)
	return method(0, pika.spec.Connection.StartOk(
	    client_properties={"product": "rawamqp", "capabilities": caps},
	    mechanism=mechanism, response=response, locale="en_US"))


def tune_ok(channel_max=2047, frame_max=131072, heartbeat=0):
	return method(0, pika.spec.Connection.TuneOk(channel_max, frame_max,
						     heartbeat))


def conn_open(vhost="/"):
	return method(0, pika.spec.Connection.Open(virtual_host=vhost))


class Conn:
	def __init__(self, port=PORT, rcvbuf=None):
		"""'rcvbuf': a receive buffer this small, set before connecting."""
		self.sock = socket.socket()
		if rcvbuf is not None:
			self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
			    rcvbuf)
		self.sock.settimeout(BOUND)
		self.sock.connect(("127.0.0.1", port))
		self.buf = b""

	def send(self, *chunks):
		"""Sends the byte strings in one write."""
		self.sock.sendall(b"".join(chunks))

	def send_bytewise(self, data):
		"""Sends one byte per write (TCP_NODELAY: one per segment)."""
		self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		for i in range(len(data)):
			self.sock.sendall(data[i:i + 1])

	def _fill(self):
		data = self.sock.recv(65536)
		if not data:
			raise EOFError("the server closed the connection")
		self.buf += data

	def read_bytes(self, n):
		while len(self.buf) < n:
			self._fill()
		out, self.buf = self.buf[:n], self.buf[n:]
		return out

	def read(self):
		"""The next frame (a pika.frame object), heartbeats included."""
		while True:
			if len(self.buf) >= 7:
				n, frame = pika.frame.decode_frame(self.buf)
				if frame is not None:
					self.buf = self.buf[n:]
					return frame
			self._fill()

	def read_raw(self):
		"""The next frame as its type, channel and payload bytes."""
		while True:
			if len(self.buf) >= 7:
				ftype, ch, size = struct.unpack(">BHI",
				    self.buf[:7])
				if len(self.buf) >= size + 8:
					payload = self.buf[7:7 + size]
					assert self.buf[7 + size] == 0xce
					self.buf = self.buf[size + 8:]
					return ftype, ch, payload
			self._fill()

	def read_method(self, skip_heartbeats=True):
		"""The next method (pika.spec object) and its channel."""
		while True:
			f = self.read()
			if isinstance(f, pika.frame.Heartbeat) and \
			    skip_heartbeats:
				continue
			assert isinstance(f, pika.frame.Method), f
			return f.channel_number, f.method

	def expect(self, cls, channel=None):
		ch, m = self.read_method()
		assert isinstance(m, cls), (cls, m)
		if channel is not None:
			assert ch == channel, (channel, ch, m)
		return m

	def closed(self):
		"""Whether the server closed the socket (waits for it)."""
		try:
			while True:
				self._fill()
		except EOFError:
			return True
		except ConnectionResetError:
			return True

	def handshake(self, heartbeat=0, frame_max=131072, **kw):
		"""Opens a connection up to open-ok; returns the start method."""
		self.send(HEADER)
		start = self.expect(pika.spec.Connection.Start, 0)
		self.send(start_ok(**kw))
		tune = self.expect(pika.spec.Connection.Tune, 0)
		self.send(tune_ok(heartbeat=heartbeat, frame_max=frame_max),
		    conn_open())
		self.expect(pika.spec.Connection.OpenOk, 0)
		return start

	def open_channel(self, n):
		self.send(method(n, pika.spec.Channel.Open()))
		self.expect(pika.spec.Channel.OpenOk, n)
