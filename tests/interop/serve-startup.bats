#!/usr/bin/env bats
# serve-startup.bats - what mq-serve refuses before it serves, and what
# it says once it listens.  A listening address that is malformed or out
# of range, from the command line or a line of the config file, and an
# empty --spool, are usage errors (exit 2) with the reason; a spool that
# it may not create or write ends the start with exit 77, run as a user
# whom file modes stop (../unprivileged.bash).  The log names the address
# bound, with the port the kernel chose for a port of 0.
#
# Every server here listens on 127.0.0.1 and is stopped by its PID.

load lib.sh
load ../unprivileged

setup() {
	interop_setup || return 1
	require_serve || return 1
	if [ -n "${MQ_SERVE_CMD:-}" ]; then
		skip "tests the start of mq-serve itself, not of MQ_SERVE_CMD"
	fi
}

teardown() {
	stop_started
	public_cleanup
}

# serve ARG...: mq-serve on the spool of this test, in the foreground.
# The 10 s bound only keeps a server that starts when it should have
# refused from hanging the run: it then fails with 124.
serve() {
	timeout 10 "$MQ_BIN/mq-serve" --spool spool --amqp off "$@" < /dev/null
}

# serve_unprivileged SPOOL: runs ($status, $output) the copy of mq-serve
# in $PUBLIC on SPOOL as the user of `unprivileged`, bounded as serve.
serve_unprivileged() {
	run unprivileged timeout 10 "$PUBLIC/bin/mq-serve" --spool "$1" \
	    --resp 127.0.0.1:0 --amqp off < /dev/null
}

# serve_bg LOG ARG...: mq-serve on the spool of this test in the
# background, its output in LOG; BG_PID.
serve_bg() {
	local log=$1
	shift
	background "$log" "$MQ_BIN/mq-serve" --spool spool --amqp off "$@"
}

# bound_port LOG: the port of the "listening on 127.0.0.1:PORT" line.
bound_port() {
	sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\) (resp)$/\1/p' "$1"
}

# has_line LOG REGEX: LOG has a line that matches REGEX.
has_line() {
	grep -q -- "$2" "$1"
}

@test "--resp: a port outside 1-65535 is a usage error that says so" {
	for spec in 127.0.0.1:99999 99999 127.0.0.1:65536 '[::1]:70000' \
	    127.0.0.1:99999999999999999999; do
		run serve --resp "$spec"
		[ "$status" -eq 2 ]
		[ "$output" = "mq-serve: --resp $spec: port out of range (1-65535)" ]
	done
	[ ! -e spool ]
}

@test "--resp: a malformed address is a usage error with the reason" {
	while IFS='|' read -r spec why; do
		run serve --resp "$spec"
		[ "$status" -eq 2 ]
		[ "$output" = "mq-serve: --resp $spec: $why" ]
	done <<'END'
127.0.0.1:|no port
:6379|no host before ':'
abc|the port is not a number
127.0.0.1:-1|the port is not a number
127.0.0.1:6379x|the port is not a number
999.1.1.1:6379|not an IPv4 address
10.1:6379|not an IPv4 address
bad host:6379|not an IPv4 address or a host name
::1:6379|an IPv6 address goes in brackets, as in [::1]:6379
[::1|no ']' after the IPv6 address
[::1]|expected [ADDRESS]:PORT
[::1]6379|expected [ADDRESS]:PORT
[127.0.0.1]:6379|not an IPv6 address
[]:6379|not an IPv6 address
END
	run serve --resp ''
	[ "$status" -eq 2 ]
	[ "$output" = "mq-serve: --resp: no port" ]
	[ ! -e spool ]
}

@test "config file: the same checks, with the file's name and line" {
	printf '# mq-serve\nspool %s\n\nresp 127.0.0.1:99999\n' "$PWD/spool" > conf
	run serve -c conf
	[ "$status" -eq 2 ]
	[ "$output" = "mq-serve: conf:4: resp 127.0.0.1:99999: port out of range (1-65535)" ]
	printf 'resp [::1\n' > conf
	run serve -c conf
	[ "$status" -eq 2 ]
	[ "$output" = "mq-serve: conf:1: resp [::1: no ']' after the IPv6 address" ]
	printf 'maxclients 0\n' > conf
	run serve -c conf
	[ "$status" -eq 2 ]
	[ "$output" = "mq-serve: conf:1: maxclients 0: too small" ]
	[ ! -e spool ]
}

@test "config file: blanks and a comment after a value are not part of it" {
	port=$(free_port)
	printf 'resp 127.0.0.1:%s \t # the port\n' "$port" > conf
	serve_bg serve.log -c "$BATS_TEST_TMPDIR/conf"
	wait_port "$port" "$BG_PID" || { cat serve.log; false; }
	# And the log names the address bound.
	grep -qx ".* listening on 127\.0\.0\.1:$port (resp)" serve.log
}

@test "--resp HOST:0: the kernel chooses the port, and the log says which" {
	serve_bg serve.log --resp 127.0.0.1:0
	wait_until has_line serve.log ' ready, spool '
	port=$(bound_port serve.log)
	cat serve.log
	[ -n "$port" ]
	[ "$port" -gt 0 ]
	run redis-cli -h 127.0.0.1 -p "$port" PING
	[ "$output" = PONG ]
}

@test "--resp 0 and off: no listener" {
	for spec in 0 off; do
		serve_bg "serve-$spec.log" --resp "$spec"
		wait_until has_line "serve-$spec.log" ' ready, spool '
		run grep -c 'listening on' "serve-$spec.log"
		[ "$output" = 0 ]
		stop "$BG_PID"
	done
}

@test "--spool '': a usage error, not the default spool" {
	run serve --spool '' --resp 127.0.0.1:0
	[ "$status" -eq 2 ]
	[ "$output" = "mq-serve: --spool: empty directory name" ]
}

@test "a spool it may not write ends the start with 77, naming it" {
	public_dir mq-serve mq-xadd
	"$PUBLIC/bin/mq-xadd" --spool "$PUBLIC/spool" s m > /dev/null
	chmod -R a-w "$PUBLIC/spool"
	serve_unprivileged "$PUBLIC/spool"
	[ "$status" -eq 77 ]
	[ "$output" = "mq-serve: $PUBLIC/spool: spool not writable: Permission denied" ]
	# Its streams/ alone is enough: new streams go there.
	chmod -R u+w "$PUBLIC/spool"
	unprivileged_owns "$PUBLIC/spool"
	chmod a-w "$PUBLIC/spool/streams"
	serve_unprivileged "$PUBLIC/spool"
	[ "$status" -eq 77 ]
	[ "$output" = "mq-serve: $PUBLIC/spool: spool not writable: Permission denied" ]
}

@test "a spool it may not create ends the start with 77, naming it" {
	public_dir mq-serve
	mkdir "$PUBLIC/ro"
	chmod a-w "$PUBLIC/ro"
	serve_unprivileged "$PUBLIC/ro/spool"
	[ "$status" -eq 77 ]
	[ "$output" = "mq-serve: $PUBLIC/ro/spool: Permission denied" ]
	[ ! -e "$PUBLIC/ro/spool" ]
}

@test "a spool it may write: it starts, and its check leaves no file behind" {
	public_dir mq-serve mq-xadd
	"$PUBLIC/bin/mq-xadd" --spool "$PUBLIC/spool" s m > /dev/null
	chmod -R a+w "$PUBLIC/spool"
	ls -A "$PUBLIC/spool" "$PUBLIC/spool/streams" > before
	background serve.log "${UNPRIVILEGED[@]}" "$PUBLIC/bin/mq-serve" \
	    --spool "$PUBLIC/spool" --resp 127.0.0.1:0 --amqp off
	wait_until has_line serve.log ' ready, spool '
	ls -A "$PUBLIC/spool" "$PUBLIC/spool/streams" > after
	diff before after
	port=$(bound_port serve.log)
	run redis-cli -h 127.0.0.1 -p "$port" XADD s '*' body m2
	[[ "$output" =~ ^[0-9]+-[0-9]+$ ]]
}
