#!/usr/bin/env bats
# doors.bats - mq-serve's core serves every door, not only Redis's.  The
# test server mq-serve-test (tests/serve/) runs the RESP door and a line
# door of its own on one core, and each test crosses from one door to
# the other: a publish reaches the subscribers of both, by the shortcut
# that skips the exchange's log and through the log; a reader blocked in
# one door is woken by an append through the other; --maxclients refuses
# each door's client in that door's words; the line door's password
# checks run on auth.c's thread while RESP clients are served.
#
# The scripts run after rawresp.py and linedoor.py (a RESP client and a
# line door client, several in one program); they print "ok" at the end.

load lib.sh

: "${MQ_SERVE_TEST:=$MQ_BIN/../build/tests/mq-serve-test}"

setup() {
	interop_setup || return 1
	require_serve || return 1
	if [ -n "${MQ_SERVE_CMD:-}" ]; then
		skip "tests mq-serve's core, with mq-serve-test"
	fi
	require_program "$MQ_SERVE_TEST"	# make tests builds it
}

# serving: the test server said it serves, or it is gone.
serving() {
	grep -q "mq-serve-test ready" "$MQ_SPOOL.log" || ! alive "$MQ_PID"
}

# doors_up [OPTION]...: mq-serve-test on a fresh spool (MQ_SPOOL, also
# exported for the tools), RESP on MQ_PORT and the line door on
# LINE_PORT, with more options of mq-serve-test.  It waits for the log
# line, not for a connection, which would count among --maxclients.
doors_up() {
	MQ_PORT=$(free_port)
	LINE_PORT=$(free_port)
	while [ "$LINE_PORT" = "$MQ_PORT" ]; do
		LINE_PORT=$(free_port)
	done
	export MQ_SPOOL=$BATS_TEST_TMPDIR/spool
	"$MQ_SERVE_TEST" --spool "$MQ_SPOOL" --resp "127.0.0.1:$MQ_PORT" \
	    --line "127.0.0.1:$LINE_PORT" "$@" \
	    </dev/null >"$MQ_SPOOL.log" 2>&1 3>&- &
	MQ_PID=$!
	STARTED_PIDS="$STARTED_PIDS $MQ_PID"
	if ! wait_until serving || ! alive "$MQ_PID"; then
		cat "$MQ_SPOOL.log" >&2
		return 1
	fi
}

# doors: runs the python script on stdin with both doors' ports.
doors() {
	cat "$INTEROP/rawresp.py" "$INTEROP/linedoor.py" - > doors.py
	run "$MQ_PYTHON" doors.py "$MQ_PORT" "$LINE_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

# A subscriber of each door on "ch".  While they are the only listeners,
# a publish of either door goes to no log (XLEN of the exchange stays 0)
# and fanout_deliver_here hands it to both; once an mq-subscribe of
# another process listens too, it goes through the exchange's log and
# both drain it.  Each gets every message, in the order published.
@test "doors: a publish reaches the subscribers of both doors, with and without the log" {
	doors_up
	doors <<'PY'
import atexit, os, subprocess
r = Conn()
rsub = Conn()
assert rsub.cmd("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
lsub = Line()
assert lsub.cmd("SUB ch") == "SUBSCRIBED ch"
lpub = Line()

def publish(bodies, receivers):
	"""Publishes each body on ch, from RESP for r*, else from the line door."""
	for b in bodies:
		if b.startswith("r"):
			assert r.cmd("PUBLISH", "ch", b) == receivers, b
		else:
			assert lpub.cmd("PUB ch " + b) == "PUBLISHED %d" % receivers, b

def delivered(bodies):
	"""Both subscribers got the bodies, in this order, and nothing else yet."""
	got = [rsub.read() for b in bodies]
	assert got == [[b"message", b"ch", b.encode()] for b in bodies], got
	got = [lsub.read() for b in bodies]
	assert got == ["MSG ch " + b for b in bodies], got

first = ["r0", "l0", "r1", "r2", "l1"]
publish(first, 2)
delivered(first)
assert r.cmd("XLEN", "amq.topic") == 0, "the shortcut was not taken"

# mq-subscribe also listens to "probe", published until it is counted;
# it is killed however the script ends, and holds none of bats's pipes.
out = open("sub.out", "w")
sub = subprocess.Popen([os.environ["MQ_BIN"] + "/mq-subscribe", "ch", "probe"],
    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
atexit.register(sub.kill)
wait_for("mq-subscribe to be counted",
    lambda: r.cmd("PUBLISH", "probe", "p") == 1)
logged = r.cmd("XLEN", "amq.topic")
second = ["l2", "r3", "r4", "l3"]
publish(second, 3)
delivered(second)
assert r.cmd("XLEN", "amq.topic") == logged + len(second)
assert rsub.nothing_yet() and lsub.nothing_yet()

def printed():
	return [l.split("\t") for l in open("sub.out").read().splitlines()]
wait_for("mq-subscribe's lines",
    lambda: len([t for t, b in printed() if t == "ch"]) == len(second))
assert [b for t, b in printed() if t == "ch"] == second, printed()
print("ok")
PY
}

# The line door's WAIT is a waiter of core/waiters.c: a RESP XADD (to a
# stream it makes, through the write-ahead log) wakes it.  RESP's XREAD
# BLOCK is one too: the line door's ADD wakes it.  A WAIT that times out
# says so, and what was sent behind a WAIT runs after it.
@test "doors: an append through one door wakes a reader blocked in the other" {
	doors_up
	doors <<'PY'
r = Conn()
w = Line()
assert w.cmd("WAIT s 0-0 0") == "WAITING"
id1 = r.cmd("XADD", "s", "*", "body", "hello").decode()
assert w.read() == "GOT %s hello" % id1

b = Conn()
b.send(("XREAD", "BLOCK", "0", "STREAMS", "t", "$"))
wait_for("the blocked XREAD",
    lambda: parse_info(r.cmd("INFO", "clients"))["blocked_clients"] == 1)
a = Line()
reply = a.cmd("ADD t bye")
assert reply.startswith("ID "), reply
id2 = reply[3:]
assert b.read() == [[b"t", [[id2.encode(), [b"body", b"bye"]]]]]

w.send("WAIT s %s 1" % id1, "PING")
assert w.read() == "WAITING"
assert w.read() == "TIMEOUT"
assert w.read() == "PONG"
assert w.cmd("WAIT s 0 0") == "GOT %s hello" % id1
print("ok")
PY
}

# cmd_begin() (core/turn.c) is the one call a door makes before each
# command.  An ADD joins the run of appends and waits for its flush; a
# WAIT sent behind it in the same write begins a plain command, which
# must flush the run first: so it finds the entry at once (no WAITING),
# and the replies keep the order of the requests.  A RESP XREAD sent
# meanwhile from another connection sees the ADD as well.
@test "doors: a command behind a queued append sees it, and the replies keep their order" {
	doors_up
	doors <<'PY'
w = Line()
w.send("ADD s one", "WAIT s 0-0 0", "ADD s two", "ADD s three", "WAIT s 0-0 0",
    "PING")
first = w.read()
assert first.startswith("ID "), first
id1 = first[3:]
assert w.read() == "GOT %s one" % id1
ids = [w.read(), w.read()]
assert all(i.startswith("ID ") for i in ids), ids
assert w.read() == "GOT %s one" % id1
assert w.read() == "PONG"
r = Conn()
got = r.cmd("XRANGE", "s", "-", "+")
assert [e[1][1] for e in got] == [b"one", b"two", b"three"], got
print("ok")
PY
}

# The limit counts the clients of both doors; the one refused is told so
# by its own door's refuse(): "BUSY" from the line door, Redis's error
# from RESP.  A line client gone makes room for a RESP one.
@test "doors: --maxclients refuses each door's client in its own words" {
	doors_up --maxclients 2
	doors <<'PY'
r = Conn()
assert r.cmd("PING") == "PONG"
l = Line()
assert l.cmd("PING") == "PONG"
before = r.info()["rejected_connections"]
assert Line().until_closed() == b"BUSY\n"
assert Conn().until_closed() == b"-ERR max number of clients reached\r\n"
assert r.info()["rejected_connections"] == before + 2
l.close()
wait_for("the line client to go",
    lambda: parse_info(r.cmd("INFO", "clients"))["connected_clients"] == 1)
assert Conn().cmd("PING") == "PONG"
print("ok")
PY
}

# SLOW: a users file line whose SHA-512 hash of 4,000,000 rounds takes
# crypt(3) a second or more to check (no password matches it), as in
# auth.bats.
SLOW='slow:$6$rounds=4000000$mqslowsalt$'
SLOW+='abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./'
SLOW+='abcdefghijklmnopqrstuv'

# The line door's AUTH asks auth.c, as RESP's does: INFO's counters move
# with its checks (a password RESP used before is a hit of the shared
# cache), and while its slow check runs on the thread, a RESP client's
# XADDs and INFO are answered and the line client waits, with the PING
# it sent behind.
@test "doors: the line door's AUTH goes through auth.c's thread, RESP is served meanwhile" {
	for u in "default secret" "alice wonder"; do
		printf '%s\n' "${u#* }" | "$MQ_BIN/mq-serve" --hash-password "${u%% *}"
	done > users
	echo "$SLOW" >> users
	doors_up --users "$BATS_TEST_TMPDIR/users"
	doors <<'PY'
r = Conn()
assert r.cmd("AUTH", "alice", "wonder") == "OK"
before = r.info()
l = Line()
assert l.cmd("SUB ch") == "ERR AUTH first"
assert l.cmd("AUTH alice nope") == "NO"
assert l.cmd("ADD s x") == "ERR AUTH first"
assert l.cmd("AUTH alice wonder") == "OK"
assert l.cmd("ADD s x").startswith("ID ")
st = r.info()
for k, more in (("checks", 1), ("failures", 1), ("cache_hits", 1)):
	k = "mq_auth_" + k
	assert st[k] == before[k] + more, (k, before[k], st[k])

checks = st["mq_auth_checks"]
s = Line()
s.send("AUTH slow guess", "PING")
wait_for("the thread to check slow", lambda: r.info()["mq_auth_running"] == 1)
r.send(*[("XADD", "t", "*", "n", str(i)) for i in range(5)], ("INFO", "stats"))
ids = [r.read() for i in range(5)]
assert all(isinstance(i, bytes) for i in ids), ids
st = parse_info(r.read())
assert st["mq_auth_running"] == 1 and st["mq_auth_checks"] == checks, st
assert s.nothing_yet()
assert s.read() == "NO"
assert s.read() == "PONG"
assert r.info()["mq_auth_checks"] == checks + 1
print("ok")
PY
}
