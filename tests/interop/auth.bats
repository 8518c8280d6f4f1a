#!/usr/bin/env bats
# auth.bats - mq-serve's users: a users file made by --hash-password,
# AUTH and HELLO AUTH from redis-cli and python3-redis, NOAUTH before
# them, wrong passwords, the file reloaded on SIGHUP, a bad file refused
# at start; without a users file, protected mode as Redis has it; the
# checks off the loop: other clients served while one runs or waits after
# failures, connections closed meanwhile, the cache of successes.
# (resp/auth.txt compares the replies byte for byte with redis-server.)
#
# The passwords: "secret" for the user default, "wonder" for alice.

load lib.sh

setup() {
	interop_setup || return 1
	require_serve || return 1
	if [ "${MQ_SERVE_CMD:-}" = serve_redis ]; then
		skip "tests mq-serve's own options"
	fi
}

# hashpw NAME PASSWORD: the users file line for NAME.
hashpw() {
	printf '%s\n' "$2" | "$MQ_BIN/mq-serve" --hash-password "$1"
}

# users_up [OPTION]...: the users file "users" with default and alice,
# and mq-serve using it.
users_up() {
	{ hashpw default secret && hashpw alice wonder; } > users || return 1
	mq_up --users "$BATS_TEST_TMPDIR/users" "$@"
}

# py: runs the script on stdin with the port of the server under test;
# it prints "ok" at its end.
py() {
	run "$MQ_PYTHON" - "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

# SLOW: a users file line whose SHA-512 hash of 4,000,000 rounds takes
# crypt(3) a second or more to check (no password matches it): a check
# that is still running while another client does a few round trips.
SLOW='slow:$6$rounds=4000000$mqslowsalt$'
SLOW+='abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./'
SLOW+='abcdefghijklmnopqrstuv'

# slow_users_up: users_up, then SLOW added to the users file and loaded.
slow_users_up() {
	users_up || return 1
	echo "$SLOW" >> users
	kill -HUP "$MQ_PID"
	wait_until log_has "SIGHUP: 3 users loaded"
}

# raw: runs the python script on stdin after the helpers of rawresp.py
# (several connections in one program), with the port of the server
# under test; it prints "ok" at its end.
raw() {
	cat "$INTEROP/rawresp.py" - > raw.py
	run "$MQ_PYTHON" raw.py "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

# from_other_address PORT [REQUEST]...: talks to the server on
# 127.0.0.1:PORT from 127.0.0.2, another loopback address, which Redis's
# protected mode takes for a remote one.  Sends each inline REQUEST and
# prints the line of its reply; with none, sends nothing and prints all
# the server sends until it closes.
from_other_address() {
	"$MQ_PYTHON" - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5,
			     source_address=("127.0.0.2", 0))
f = s.makefile("rb")
if len(sys.argv) == 2:
	sys.stdout.write(f.read().decode("latin-1"))
for req in sys.argv[2:]:
	s.sendall(req.encode() + b"\r\n")
	print(f.readline().decode("latin-1").rstrip("\r\n"))
PY
}

# need_other_address: skips the test where 127.0.0.2 cannot be used.
need_other_address() {
	"$MQ_PYTHON" -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' ||
	    skip "no 127.0.0.2 on this host"
}

# log_has TEXT: mq-serve's log holds TEXT.
log_has() {
	grep -qF -- "$1" "$MQ_SPOOL.log"
}

@test "--hash-password prints NAME:HASH that crypt(3) verifies" {
	run hashpw alice 'open sesame'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^alice:\$(y|6)\$ ]]
	hash=${output#alice:}
	"$MQ_PYTHON" -W ignore - "$hash" <<'PY'
import crypt, sys
h = sys.argv[1]
assert crypt.crypt("open sesame", h) == h
assert crypt.crypt("open sesame!", h) != h
PY
	# A new salt each time; no name is "default".
	run hashpw alice 'open sesame'
	[ "${output#alice:}" != "$hash" ]
	run sh -c "echo pw | '$MQ_BIN/mq-serve' --hash-password"
	[[ "$output" == default:* ]]
}

@test "--hash-password from a terminal: asks twice, does not echo" {
	"$MQ_PYTHON" - "$MQ_BIN/mq-serve" <<'PY'
import os, pty, select, subprocess, sys
def run(first, second):
	master, slave = pty.openpty()
	p = subprocess.Popen([sys.argv[1], "--hash-password", "alice"],
			     stdin=slave, stdout=subprocess.PIPE, stderr=slave)
	os.close(slave)
	seen = b""
	for answer in (first, second):
		while not seen.endswith(b": "):
			r, _, _ = select.select([master], [], [], 10)
			assert r, "no prompt: %r" % seen
			seen += os.read(master, 100)
		os.write(master, answer + b"\n")
		seen += b"|"
	out = p.communicate(timeout=10)[0].decode()
	try:
		while select.select([master], [], [], 0.2)[0]:
			seen += os.read(master, 100)
	except OSError:
		pass	# the terminal is gone with its last process
	os.close(master)
	assert b"secret1" not in seen, seen
	return p.returncode, out, seen
rc, out, seen = run(b"secret1", b"secret1")
assert rc == 0 and out.startswith("alice:$"), (rc, out)
assert b"Password: " in seen and b"Again: " in seen, seen
rc, out, seen = run(b"secret1", b"secret2")
assert rc == 1 and out == "" and b"the passwords differ" in seen, (rc, out, seen)
PY
}

@test "--hash-password refuses an empty password and a bad name" {
	run sh -c "printf '\n' | '$MQ_BIN/mq-serve' --hash-password alice"
	[ "$status" -eq 1 ]
	[[ "$output" == *"empty password"* ]]
	run sh -c "'$MQ_BIN/mq-serve' --hash-password alice </dev/null"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no password"* ]]
	run hashpw 'a:b' pw
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad user name"* ]]
	run hashpw 'a b' pw
	[ "$status" -eq 2 ]
}

@test "users: redis-cli gets NOAUTH, then logs in with -a and --user/--pass" {
	users_up
	run cli PING
	echo "$output"
	[ "$output" = "NOAUTH Authentication required." ]
	run cli XADD s '*' f v
	[ "$output" = "NOAUTH Authentication required." ]
	run cli -a secret --no-auth-warning XADD s 1-0 f v
	echo "$output"
	[ "$output" = 1-0 ]
	run cli --user alice --pass wonder --no-auth-warning XLEN s
	[ "$output" = 1 ]
	run cli --user alice --pass wonder --no-auth-warning CLIENT INFO
	echo "$output"
	[[ "$output" == *" user=alice "* ]]
	run cli -a secret --no-auth-warning CLIENT INFO
	[[ "$output" == *" user=default "* ]]
	log_has "auth user=alice ok"
}

@test "users: wrong passwords and unknown users are refused" {
	users_up
	run cli --user alice --pass secret --no-auth-warning XLEN s
	echo "$output"
	[[ "$output" == *"WRONGPASS invalid username-password pair or user is disabled."* ]]
	run cli --user nobody --pass wonder --no-auth-warning PING
	[[ "$output" == *WRONGPASS* ]]
	run cli -a wonder --no-auth-warning PING
	[[ "$output" == *WRONGPASS* ]]
	run cli AUTH alice wonder2
	[ "$output" = "WRONGPASS invalid username-password pair or user is disabled." ]
	log_has "auth user=nobody failed"
}

@test "users: HELLO 3 AUTH user pass SETNAME name in one command" {
	users_up
	run cli HELLO 3
	[[ "$output" == "NOAUTH HELLO must be called with the client already authenticated"* ]]
	run cli HELLO 3 AUTH alice wonder SETNAME app
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "proto 3" ]
	run cli HELLO 3 AUTH alice nope
	[[ "$output" == WRONGPASS* ]]
	# redis-cli -3 authenticates, then says HELLO 3.
	run cli -3 --user alice --pass wonder --no-auth-warning CLIENT INFO
	echo "$output"
	[[ "$output" == *" user=alice "*" resp=3"* ]]
}

@test "users: python3-redis with username/password, password only, none, wrong" {
	users_up
	py <<'PY'
import sys, redis
port = int(sys.argv[1])
def conn(**kw):
	return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, **kw)
r = conn(username="alice", password="wonder")
assert r.ping() is True
r.xadd("s", {"f": "v"}, id="1-0")
assert r.xrange("s") == [("1-0", {"f": "v"})]
assert "user=alice " in r.execute_command("CLIENT", "INFO")
assert conn(password="secret").xlen("s") == 1
for bad in (conn(), conn(password="wonder"), conn(username="alice", password="x"),
	    conn(username="bob", password="wonder")):
	try:
		bad.ping()
	except (redis.exceptions.AuthenticationError,
		redis.exceptions.ResponseError) as e:
		# redis-py 4.3 raises WRONGPASS as a plain ResponseError.
		assert "WRONGPASS" in str(e) or "Authentication required" in str(e), e
		print("refused:", e)
	else:
		raise AssertionError("logged in without the right password")
# AUTH on a connection, RESET takes it back.
r = conn(single_connection_client=True)
try:
	r.ping()
	raise AssertionError("PING before AUTH")
except redis.exceptions.AuthenticationError:
	pass
assert r.execute_command("AUTH", "alice", "wonder") in (True, "OK")
assert r.ping() is True
assert r.execute_command("RESET") == "RESET"
try:
	r.ping()
	raise AssertionError("PING after RESET")
except redis.exceptions.AuthenticationError:
	pass
print("ok")
PY
}

@test "users: SIGHUP reloads the file; a bad file keeps the old users" {
	hashpw default secret > users
	mq_up --users "$BATS_TEST_TMPDIR/users"
	run cli --user alice --pass wonder --no-auth-warning PING
	[[ "$output" == *WRONGPASS* ]]
	# A connection that logged in before the reloads stays logged in:
	# it sends PING once the file "go" says so.
	cat > held.py <<'PY'
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"AUTH secret\r\n")
print(s.recv(100), flush=True)
deadline = time.monotonic() + 20
while not os.path.exists("go") and time.monotonic() < deadline:
	time.sleep(0.02)
s.sendall(b"PING\r\n")
print(s.recv(100), flush=True)
PY
	background held.out "$MQ_PYTHON" held.py "$MQ_PORT"
	held=$BG_PID
	wait_until grep -q OK held.out
	hashpw alice wonder >> users
	kill -HUP "$MQ_PID"
	wait_until log_has "SIGHUP: 2 users loaded"
	run cli --user alice --pass wonder --no-auth-warning PING
	echo "$output"
	[ "$output" = PONG ]
	# default gone from the file: its old connection still works, a new one not.
	hashpw alice wonder > users
	kill -HUP "$MQ_PID"
	wait_until log_has "SIGHUP: 1 users loaded"
	touch go
	wait "$held"
	cat held.out
	grep -qF "b'+PONG\\r\\n'" held.out
	run cli -a secret --no-auth-warning PING
	[[ "$output" == *WRONGPASS* ]]
	# A bad line: the reload fails with file:line, alice stays.
	echo 'carol' >> users
	kill -HUP "$MQ_PID"
	wait_until log_has "users:2: expected name:hash; the 1 users loaded before stay"
	run cli --user alice --pass wonder --no-auth-warning PING
	[ "$output" = PONG ]
	alive "$MQ_PID"
}

@test "users: a password check runs off the loop: other clients are served meanwhile" {
	slow_users_up
	raw <<'PY'
b = login("alice", "wonder")
before = b.info()["mq_auth_checks"]
a = slow_check(b, ("PING",))
# XADDs and an INFO in one write: all answered while the check still
# runs (INFO comes last, and says so), with nothing yet for a.
b.send(*[("XADD", "s", "*", "n", str(i)) for i in range(5)], ("INFO", "stats"))
ids = [b.read() for i in range(5)]
assert all(isinstance(i, bytes) for i in ids), ids
st = parse_info(b.read())
assert st["mq_auth_running"] == 1 and st["mq_auth_checks"] == before, st
assert a.nothing_yet()
# Then a's answer, and the PING behind it, not authenticated.
assert a.read() == "WRONGPASS invalid username-password pair or user is disabled."
assert a.read().startswith("NOAUTH"), "PING ran before AUTH's answer"
assert b.info()["mq_auth_checks"] == before + 1
assert b.cmd("XLEN", "s") == 5
print("ok")
PY
	log_has "auth user=slow failed"
}

@test "users: a connection closed while its check waits, is queued or runs" {
	slow_users_up
	raw <<'PY'
b = login("alice", "wonder")
# Six failures in a row: the seventh check waits 800 ms; closed meanwhile.
w = failing(6)
w.send(("AUTH", "alice", "nope"))
wait_for("the delay", lambda: b.info()["mq_auth_waiting"] == 1)
w.close()
wait_for("the delay dropped", lambda: b.info()["mq_auth_waiting"] == 0)
# One check runs, another is queued behind it: both connections close.
before = b.info()["mq_auth_checks"]
running = slow_check(b)
queued = Conn()
queued.send(("AUTH", "alice", "guess"))	# not in the cache
wait_for("the queued check", lambda: b.info()["mq_auth_queued"] == 1)
running.close()
queued.close()
wait_for("the thread to be done", lambda: b.info()["mq_auth_running"] == 0)
st = b.info()
# The queued one was dropped, never checked.
assert st["mq_auth_checks"] == before + 1 and st["mq_auth_queued"] == 0, st
assert b.cmd("PING") == "PONG"
assert login("alice", "wonder").cmd("PING") == "PONG"
print("ok")
PY
	alive "$MQ_PID"
	! log_has "auth user=slow"
}

@test "users: failures in a row delay that connection's next check only" {
	users_up
	raw <<'PY'
b = login("alice", "wonder")
# The first failure is answered at once, each next one after a delay.
a = failing(6)
st = b.info()
assert st["mq_auth_delayed"] == 5 and st["mq_auth_failures"] == 6, st
# The right password, after its delay (800 ms), while b is served.
a.send(("AUTH", "alice", "wonder"), ("XLEN", "s"))
wait_for("a's delay", lambda: b.info()["mq_auth_waiting"] == 1)
assert b.cmd("XADD", "s", "1-1", "f", "v") == b"1-1"
assert a.nothing_yet()
assert a.read() == "OK" and a.read() == 1
# A success ends the run: the next failure waits for nothing.
assert a.cmd("AUTH", "alice", "nope").startswith("WRONGPASS")
assert b.info()["mq_auth_delayed"] == 6
# The delays are the connection's: a new one starts with none.
assert Conn().cmd("AUTH", "alice", "nope").startswith("WRONGPASS")
assert b.info()["mq_auth_delayed"] == 6
print("ok")
PY
}

@test "users: a right password seen before costs no check; SIGHUP empties the cache" {
	users_up
	raw <<'PY'
b = login("alice", "wonder")
st = b.info()
assert st["mq_auth_checks"] == 1 and st["mq_auth_cached"] == 1, st
# Again, from other connections and through HELLO: no crypt.
login("alice", "wonder")
c = Conn()
assert c.cmd("HELLO", "2", "AUTH", "alice", "wonder")[0] == b"server"
st = b.info()
assert st["mq_auth_checks"] == 1 and st["mq_auth_cache_hits"] == 2, st
# Failures are not kept: each is checked.
assert c.cmd("AUTH", "alice", "nope").startswith("WRONGPASS")
assert c.cmd("AUTH", "default", "secret") == "OK"
st = b.info()
assert st["mq_auth_checks"] == 3 and st["mq_auth_cached"] == 2, st
print("ok")
PY
	# alice gone from the file: her password, cached, opens nothing.
	hashpw default secret > users
	kill -HUP "$MQ_PID"
	wait_until log_has "SIGHUP: 1 users loaded"
	raw <<'PY'
b = login("default", "secret")
st = b.info()
assert st["mq_auth_cached"] == 1 and st["mq_auth_checks"] == 4, st
assert Conn().cmd("AUTH", "alice", "wonder").startswith("WRONGPASS")
assert b.info()["mq_auth_checks"] == 5
print("ok")
PY
}

@test "users: a bad users file is refused at start with file:line" {
	port=$(free_port)
	{ hashpw default secret; echo 'alice wonder'; } > users
	run "$MQ_BIN/mq-serve" --spool spool --amqp off --resp "127.0.0.1:$port" \
	    --users "$BATS_TEST_TMPDIR/users"
	echo "$output"
	[ "$status" -eq 78 ]
	[ "$output" = "mq-serve: $BATS_TEST_TMPDIR/users:2: expected name:hash" ]
	echo 'bob:plaintext' > users
	run "$MQ_BIN/mq-serve" --spool spool --amqp off --resp "127.0.0.1:$port" --users users
	[ "$status" -eq 78 ]
	[ "$output" = "mq-serve: users:1: not a crypt(3) hash" ]
	run "$MQ_BIN/mq-serve" --spool spool --amqp off --resp "127.0.0.1:$port" --users nosuch
	[ "$status" -eq 78 ]
	[ "$output" = "mq-serve: nosuch: No such file or directory" ]
	[ ! -e spool ]
}

@test "users: the config file's users and protected-mode keys" {
	hashpw alice wonder > users
	printf 'users %s\nprotected-mode no\n' "$BATS_TEST_TMPDIR/users" > conf
	mq_up -c "$BATS_TEST_TMPDIR/conf"
	run cli PING
	[ "$output" = "NOAUTH Authentication required." ]
	run cli --user alice --pass wonder --no-auth-warning CONFIG GET protected-mode
	[ "${lines[1]}" = no ]
	echo 'hash-password alice' > conf2
	run "$MQ_BIN/mq-serve" -c conf2
	[ "$status" -eq 2 ]
	[[ "$output" == *"conf2:1: unknown setting"* ]]
}

@test "no users file: loopback needs no AUTH; another address gets Redis's DENIED" {
	mq_up
	run cli PING
	[ "$output" = PONG ]
	run cli AUTH secret
	[[ "$output" == "ERR AUTH <password> called without any password configured"* ]]
	run cli CONFIG GET protected-mode
	[ "${lines[1]}" = yes ]
	redis_up
	need_other_address
	from_other_address "$REDIS_PORT" > redis.out
	from_other_address "$MQ_PORT" > mq.out
	head -c 60 mq.out
	[[ "$(cat mq.out)" == "-DENIED Redis is running in protected mode because"* ]]
	cmp redis.out mq.out
	log_has "proto=resp refused reason=protected mode"
	# Still serving the loopback.
	run cli PING
	[ "$output" = PONG ]
}

@test "no users file, --protected-mode no: any address is served" {
	mq_up --protected-mode no
	need_other_address
	run from_other_address "$MQ_PORT" PING
	[ "$output" = +PONG ]
}

@test "users file: another address is not DENIED but must AUTH" {
	users_up
	need_other_address
	run from_other_address "$MQ_PORT" PING 'AUTH alice wonder' PING
	echo "$output"
	[ "$output" = "-NOAUTH Authentication required."$'\n'+OK$'\n'+PONG ]
}

@test "--syslog: log lines leave standard error; --log with it is refused" {
	mq_up --syslog local0
	run cli PING
	[ "$output" = PONG ]
	! log_has "ready"
	! log_has "accepted"
	run "$MQ_BIN/mq-serve" --syslog --log x.log --resp 0
	[ "$status" -eq 2 ]
	[[ "$output" == *"--log and --syslog"* ]]
	run "$MQ_BIN/mq-serve" --syslog nosuch --resp 0
	[ "$status" -eq 2 ]
	[[ "$output" == *"--syslog nosuch"* ]]
}
