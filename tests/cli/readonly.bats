#!/usr/bin/env bats
# readonly.bats: the tools that only look, run by a user who may read the
# spool but not write it.
#
# The test's user builds the spool, then it is made read-only for the
# reader.  As root (as in CI), whom permissions do not stop, the reader is
# nobody (setpriv(1)) and the spool keeps the modes libmq gives it, 755
# and 644; as another user, the reader is that user and the spool loses
# its write bits (the owner gets them back to publish).  The spool and a
# copy of the tools live in a directory under /tmp that every user can
# reach: $BATS_TEST_TMPDIR and the tree the tools were built in may sit
# under a private one.
#
# A live reader runs in the background; the test waits until its
# anonymous lock on the spool shows in /proc/locks before it publishes
# (polling, as setup, not as an assertion on time).  Runs that wait are
# wrapped in timeout(1) only so that a broken tool cannot hang the run.

load helpers

setup_file() {
	local t
	RO_BIN=$(mktemp -d /tmp/mq-readonly-bin.XXXXXX)
	chmod 755 "$RO_BIN"
	for t in mq-xrange mq-xread mq-xinfo mq-xpending mq-dlq mq-subscribe mq-xadd; do
		cp "$MQ_BIN/$t" "$RO_BIN/"
	done
	export RO_BIN
}

teardown_file() {
	rm -rf "$RO_BIN"
}

setup() {
	umask 022
	cd "$BATS_TEST_TMPDIR" || return 1
	RO_DIR=$(mktemp -d /tmp/mq-readonly.XXXXXX)
	chmod 755 "$RO_DIR"
	export MQ_SPOOL=$RO_DIR/spool
	if [ "$(id -u)" -eq 0 ]; then
		as_reader=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	else
		as_reader=()
	fi
	# Two entries; "a" rejected into the dead letters, "b" pending.
	mq-xadd s a b > /dev/null
	mq-xreadgroup g c s > /dev/null
	mq-nack --reject s g "$(mq-xrange -c 1 s | cut -f1)"
}

teardown() {
	stop_background
	chmod -R u+w "$RO_DIR"
	rm -rf "$RO_DIR"
}

# seal: makes the spool read-only for the reader.
seal() {
	[ "$(id -u)" -eq 0 ] || chmod -R a-w "$MQ_SPOOL"
}

# unseal: gives the owner back the right to write.
unseal() {
	chmod -R u+w "$MQ_SPOOL"
}

# reader TOOL ARGS...: runs TOOL as the reader.
reader() {
	local tool=$1
	shift
	"${as_reader[@]}" "$RO_BIN/$tool" "$@"
}

# anonymous_listener: a read lock (an OFD lock) is held on the spool's
# directory: a read-only mq-subscribe listens.
anonymous_listener() {
	local ino
	ino=$(stat -c %i "$MQ_SPOOL")
	grep -Eq "OFDLCK +ADVISORY +READ +-1 +[0-9a-f]+:[0-9a-f]+:$ino 0 EOF" \
	    /proc/locks
}

# subscribe OUT ARGS...: starts mq-subscribe ARGS as the reader in the
# background, its output in OUT, and waits until it listens.
subscribe() {
	local out=$1
	shift
	"${as_reader[@]}" timeout 30 "$RO_BIN/mq-subscribe" "$@" > "$out" 3>&- &
	bg+=($!)
	wait_until anonymous_listener
}

@test "readonly: the spool cannot be written by the reader" {
	seal
	run reader mq-xadd s c
	[ "$status" -eq 77 ]
	[[ "$output" == *"mq-xadd: s: Permission denied"* ]]
	[ "$(mq-xrange s | wc -l)" -eq 2 ]
}

@test "readonly: mq-xrange prints the entries, forward and reverse" {
	want=$(mq-xrange s)
	want_rev=$(mq-xrange -r -o json s)
	seal
	run reader mq-xrange s
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	run reader mq-xrange -r -o json s
	[ "$status" -eq 0 ]
	[ "$output" = "$want_rev" ]
}

@test "readonly: mq-xread prints and follows; mq-xpending lists" {
	want=$(mq-xrange s)
	pending=$(mq-xpending s g | cut -f1,2,4)
	seal
	run reader mq-xread s 0
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	run reader mq-xpending s g
	[ "$status" -eq 0 ]
	[ "$(cut -f1,2,4 <<< "$output")" = "$pending" ]
	mkfifo ready
	"${as_reader[@]}" timeout 30 "$RO_BIN/mq-xread" -f -c 1 --ready-fd 3 s \
	    3> ready > out &
	bg+=($!)
	read -r _ < ready
	unseal
	mq-xadd -q s c
	wait "${bg[0]}"
	[ "$(cut -f2 out)" = c ]
}

@test "readonly: mq-xinfo shows the stream and its group" {
	seal
	run reader mq-xinfo s
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nlength 2\n'* ]]
	[[ "$output" == *$'\ngroups 1\n'* ]]
	run reader mq-xinfo s g
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\npending 1\n'* ]]
	[[ "$output" == *$'\nconsumers 1\n'* ]]
}

@test "readonly: mq-dlq list, show and count" {
	want_list=$(mq-dlq list s)
	id=$(cut -f1 <<< "$want_list")
	want_show=$(mq-dlq show s "$id")
	seal
	run reader mq-dlq count s
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	run reader mq-dlq list s
	[ "$status" -eq 0 ]
	[ "$output" = "$want_list" ]
	[[ "$output" == *$'\trejected\t'* ]]
	run reader mq-dlq show s "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "$want_show" ]
}

@test "readonly: mq-dlq replay and purge fail with a permission error" {
	seal
	run reader mq-dlq replay s
	[ "$status" -eq 77 ]
	[[ "$output" == *"Permission denied"* ]]
	run reader mq-dlq purge s
	[ "$status" -eq 77 ]
	[[ "$output" == *"mq-dlq: s.dlq: Permission denied"* ]]
	# Nothing moved.
	[ "$(mq-dlq count s)" -eq 1 ]
	[ "$(mq-xrange s | wc -l)" -eq 2 ]
}

@test "readonly: a live mq-subscribe receives what the owner publishes, uncounted" {
	seal
	subscribe out -c 1 'news.*'
	unseal
	run mq-publish news.tech hello
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
	wait "${bg[0]}"
	[ "$(cat out)" = "$(printf 'news.tech\thello')" ]
}

# registered: the owner's registered subscriptions, as mq-subscribe.bats
# counts them.
registered() {
	[ "$(find "$MQ_SPOOL/subscribers" -mindepth 1 -maxdepth 1 ! -name '.*' \
	    2>/dev/null | wc -l)" -ge 1 ]
}

@test "readonly: a live mq-subscribe starts at the end of an existing exchange" {
	# The owner's registered subscriber makes the publish go to the log.
	timeout 30 mq-subscribe -c 1 'news.*' > early 3>&- &
	bg+=($!)
	wait_until registered
	[ "$(mq-publish news.early early)" = 1 ]
	wait "${bg[0]}"
	[ "$(cat early)" = "$(printf 'news.early\tearly')" ]
	seal
	subscribe out -c 2 'news.*'
	unseal
	[ "$(mq-publish news.a one)" = 0 ]
	[ "$(mq-publish sport.b no)" = 0 ]
	[ "$(mq-publish news.c two)" = 0 ]
	wait "${bg[1]}"
	[ "$(cat out)" = "$(printf 'news.a\tone\nnews.c\ttwo')" ]
	[ ! -e "$MQ_SPOOL/subscribers" ] ||
	    [ -z "$(ls "$MQ_SPOOL/subscribers")" ]
}
