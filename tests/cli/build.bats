#!/usr/bin/env bats
# The Makefile: a built tree stays built.

load helpers

@test "make: a second make with nothing changed has nothing to do" {
	# check-cli built the tree; the tools' objects must still be there.
	run make_tree -q all
	[ "$status" -eq 0 ]
}

@test "make: a changed tool source rebuilds that tool alone" {
	run make_tree -n -W cmd/mq-xadd.c all
	[ "$status" -eq 0 ]
	links=$(printf '%s\n' "$output" | grep -o -- '-o [^ ]*bin/mq-[^ ]*' |
	    sed 's|.*/||')
	[ "$links" = mq-xadd ]
}
