#!/usr/bin/env bats
# spool.bats - naming the spool, and being refused it, alike in every tool
# (the shared code of cmd/tool.c): an empty MQ_SPOOL is as unset (an
# empty --spool is a usage error: see common_options), and a spool the
# user may not create, write or read exits 77 (EX_NOPERM), not 74.  The
# tools run as a user whom file modes stop: ../unprivileged.bash.

load helpers
load ../unprivileged

teardown() {
	public_cleanup
}

@test "spool: an empty MQ_SPOOL is as unset: the default spool" {
	public_dir mq-xadd mq-xrange
	mkdir -m 777 "$PUBLIC/home"
	unprivileged env MQ_SPOOL= HOME="$PUBLIC/home" XDG_STATE_HOME= \
	    "$PUBLIC/bin/mq-xadd" s m > /dev/null
	[ -d "$PUBLIC/home/.local/state/mq/streams" ]
	run mq-xrange --spool "$PUBLIC/home/.local/state/mq" s
	[ "$(cut -f2 <<< "$output")" = m ]
}

@test "spool: a spool the user may not create exits 77, not 74" {
	public_dir mq-xadd mq-publish
	mkdir "$PUBLIC/ro"
	chmod a-w "$PUBLIC/ro"
	run unprivileged "$PUBLIC/bin/mq-xadd" --spool "$PUBLIC/ro/spool" s m
	[ "$status" -eq 77 ]
	[ "$output" = "mq-xadd: $PUBLIC/ro/spool: Permission denied" ]
	run unprivileged "$PUBLIC/bin/mq-publish" --spool "$PUBLIC/ro/spool" t m
	[ "$status" -eq 77 ]
	[ ! -e "$PUBLIC/ro/spool" ]
}

@test "spool: a spool the user may not write exits 77" {
	public_dir mq-xadd mq-ack
	mq-xadd --spool "$PUBLIC/spool" s m > /dev/null
	chmod -R a-w "$PUBLIC/spool"
	run unprivileged "$PUBLIC/bin/mq-xadd" --spool "$PUBLIC/spool" s m2
	[ "$status" -eq 77 ]
	[ "$output" = "mq-xadd: s: Permission denied" ]
	run unprivileged "$PUBLIC/bin/mq-xadd" --spool "$PUBLIC/spool" new m
	[ "$status" -eq 77 ]
	[ "$(mq-xrange --spool "$PUBLIC/spool" s | cut -f2)" = m ]
}

@test "spool: a spool the user may not read exits 77" {
	public_dir mq-xrange
	mq-xadd --spool "$PUBLIC/spool" s m > /dev/null
	chmod a-rwx "$PUBLIC/spool"
	run unprivileged "$PUBLIC/bin/mq-xrange" --spool "$PUBLIC/spool" s
	[ "$status" -eq 77 ]
	[ "$output" = "mq-xrange: $PUBLIC/spool: Permission denied" ]
}
