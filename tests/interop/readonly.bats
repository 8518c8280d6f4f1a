#!/usr/bin/env bats
# readonly.bats - PUBLISH through mq-serve reaches an mq-subscribe run by
# a user who may read the spool but not write it: a subscriber that
# listens anonymously (mq-subscribe(1)) and that PUBLISH does not count.
#
# The server runs as root on a spool in a directory under /tmp that
# everyone can reach, with a copy of mq-subscribe ($BATS_TEST_TMPDIR and
# the build tree may sit under private ones); the subscriber runs as
# nobody, so the test needs root.  It waits until the subscriber's lock
# on the spool shows in /proc/locks before it publishes.

load lib.sh

setup() {
	interop_setup || return 1
	require_spool_server mq-subscribe || return 1
	[ "$(id -u)" -eq 0 ] || skip "needs root, to subscribe as nobody"
	umask 022
	RO_DIR=$(mktemp -d /tmp/mq-readonly-serve.XXXXXX)
	chmod 755 "$RO_DIR"
	cp "$MQ_BIN/mq-subscribe" "$RO_DIR/"
	export MQ_SPOOL=$RO_DIR/spool
	MQ_PORT=$(free_port)
	start_mq "$MQ_PORT" "$MQ_SPOOL"
	wait_port "$MQ_PORT" "$MQ_PID" || { cat "$MQ_SPOOL.log" >&2; return 1; }
}

teardown() {
	stop_started
	rm -rf "$RO_DIR"
}

# anonymous_listener: someone holds a read lock (an OFD lock) on the
# spool's directory: the read-only mq-subscribe listens.
anonymous_listener() {
	local ino
	ino=$(stat -c %i "$MQ_SPOOL")
	grep -Eq "OFDLCK +ADVISORY +READ +-1 +[0-9a-f]+:[0-9a-f]+:$ino 0 EOF" \
	    /proc/locks
}

# When only this server's client listens on "ch", a PUBLISH skips the
# exchange's log, unless an anonymous subscriber listens; with no one
# counted at all ("solo"), the publish takes cmd_publish's way.  Both
# reach the read-only subscriber, and the server's client gets "ch" once.
@test "readonly: a read-only mq-subscribe gets PUBLISH, uncounted" {
	background sub.out redis-cli -h 127.0.0.1 -p "$MQ_PORT" subscribe ch
	wait_until file_has_lines sub.out 3
	background ro.out setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups timeout 30 "$RO_DIR/mq-subscribe" -c 2 ch solo
	wait_until anonymous_listener
	run cli PUBLISH ch one
	[ "$output" = 1 ]
	run cli PUBLISH solo two
	[ "$output" = 0 ]
	wait_until file_has_lines ro.out 2
	[ "$(cat ro.out)" = "$(printf 'ch\tone\nsolo\ttwo')" ]
	run cli PUBLISH ch three
	[ "$output" = 1 ]
	wait_until file_has_lines sub.out 9
	[ "$(cat sub.out)" = "$(printf 'subscribe\nch\n1\nmessage\nch\none\nmessage\nch\nthree')" ]
}
