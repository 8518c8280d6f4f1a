#!/usr/bin/env bats
# waiters.bats - an append wakes only the blocked readers it may serve
# (core/waiters.c): counted by INFO's mq_blocked_retries, which counts
# every blocked read the server runs again, not by timing.

load lib.sh

setup() {
	interop_setup
	mq_up
}

@test "waiters: 1,000 clients blocked on 1,000 streams: an XADD runs one read again" {
	run "$MQ_PYTHON" "$INTEROP/waiters.py" "127.0.0.1:$MQ_PORT" plain 1000
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "waiters: 50 clients of one group: an XADD serves one, and its delivery wakes no other" {
	run "$MQ_PYTHON" "$INTEROP/waiters.py" "127.0.0.1:$MQ_PORT" group 50
	echo "$output"
	[ "$status" -eq 0 ]
}
