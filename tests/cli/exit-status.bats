#!/usr/bin/env bats
# exit-status.bats - every row of every tool page's EXIT STATUS section
# against the code, so that a page and its tool cannot disagree silently.
#
# The table below has, for each tool and each status its page lists (the
# ".It" lines of EXIT STATUS in man/TOOL.1, man/mq-serve.8), one command
# that exits with that status in a real scenario; a status that no test
# can bring about (a failing ppoll(2)) has a row that says why.  For each
# tool, one test compares the statuses of the page with those of the
# table, both ways, and another runs each command on a fresh copy of a
# small spool and checks its status.
#
# The commands run with eval in the test's shell, MQ_SPOOL set to the
# copy, which holds:
#   stream s       entries 1-1 "a", 1-2 "b", 1-3 "c"
#   group g of s   1-1 rejected into the dead letters (s.dlq), 1-2 and
#                  1-3 pending for consumer c, nothing new to deliver
#   queue q        bound to t.#, read once by its group "queue", then
#                  given one message published to t.x
# and these words set up what a scenario needs around its command:
#   corrupt FILE       overwrites a file of the spool with garbage
#   read_only CMD...   CMD run by a user who may read the spool but not
#                      write it (as root: nobody; see ../unprivileged.bash)
#   unreadable CMD...  CMD run by a user who may not read the spool
#   full_disk CMD...   CMD on a copy of the spool on a full file system
#   short_of_fds CMD...  CMD with no file descriptor to spare
#   serve_once ARG...  mq-serve on 127.0.0.1, a port the kernel picks
#   serve_then_stop    mq-serve started, then stopped with SIGTERM
# A full disk is a 1 MiB tmpfs in a mount namespace of the command's
# own, which nobody else sees and which goes with it; where no namespace
# may be made (neither root nor unprivileged user namespaces), those
# rows are not run, and say so on the TAP stream.

load helpers
load ../unprivileged

# TOOL  STATUS  COMMAND, or "untestable:" and the reason.
table() {
	cat <<'END'
mq-ack		0	mq-ack s g 1-2
mq-ack		2	mq-ack s
mq-ack		65	mq-ack s g not-an-id
mq-ack		66	mq-ack no-such-stream g 1-2
mq-ack		70	corrupt streams/s/meta; mq-ack s g 1-2
mq-ack		74	mq-ack s g < .
mq-ack		75	short_of_fds mq-ack s g 1-2
mq-ack		77	read_only mq-ack s g 1-2

mq-dlq		0	mq-dlq list s
mq-dlq		2	mq-dlq list
mq-dlq		65	mq-dlq show s not-an-id
mq-dlq		66	mq-dlq show s 1-2
mq-dlq		70	corrupt streams/s/meta; mq-dlq list s
mq-dlq		74	mq-dlq list s > /dev/full
mq-dlq		75	full_disk mq-dlq replay s
mq-dlq		77	read_only mq-dlq replay s

mq-nack		0	mq-nack s g 1-2
mq-nack		2	mq-nack s
mq-nack		65	mq-nack s g not-an-id
mq-nack		66	mq-nack no-such-stream g 1-2
mq-nack		70	corrupt streams/s/meta; mq-nack s g 1-2
mq-nack		74	mq-nack s g < .
mq-nack		75	short_of_fds mq-nack s g 1-2
mq-nack		77	read_only mq-nack s g 1-2

mq-publish	0	mq-publish t.x m
mq-publish	2	mq-publish
mq-publish	65	mq-queue q --max-msg 16 && mq-publish t.x 'over sixteen bytes'
mq-publish	66	mq-publish --spool "$MQ_SPOOL/VERSION/spool" t.x m
mq-publish	70	corrupt bindings; mq-publish t.x m
mq-publish	74	mq-publish t.x m > /dev/full
mq-publish	75	rm "$MQ_SPOOL/routes"; full_disk mq-publish t.x m
mq-publish	77	read_only mq-publish t.x m

mq-queue	0	mq-queue s
mq-queue	2	mq-queue
mq-queue	65	mq-queue s --max-msg 1G
mq-queue	66	mq-queue no-such-stream
mq-queue	70	corrupt streams/s/meta; mq-queue s
mq-queue	74	mq-queue s > /dev/full
mq-queue	75	full_disk mq-queue s --max-len 10
mq-queue	77	read_only mq-queue s --max-len 10

mq-subscribe	0	mq-subscribe -Q q 't.#'
mq-subscribe	1	mq-subscribe -b 10ms 'nothing.#'
mq-subscribe	2	mq-subscribe
mq-subscribe	65	mq-subscribe -Q '' 't.#'
mq-subscribe	66	mq-subscribe --spool "$MQ_SPOOL/VERSION/spool" -b 10ms 't.#'
mq-subscribe	70	corrupt VERSION; mq-subscribe -b 10ms 't.#'
mq-subscribe	71	untestable: ppoll(2) fails only for arguments the tool never passes
mq-subscribe	74	mq-subscribe -Q q 't.#' > /dev/full
mq-subscribe	75	full_disk mq-subscribe -Q q2 -b 10ms 't.#'
mq-subscribe	77	read_only mq-subscribe -Q q 't.#'

mq-xadd		0	mq-xadd s m
mq-xadd		2	mq-xadd
mq-xadd		65	mq-xadd -i not-an-id s m
mq-xadd		66	mq-xadd --spool "$MQ_SPOOL/VERSION/spool" s m
mq-xadd		70	corrupt streams/s/meta; mq-xadd s m
mq-xadd		74	mq-xadd s m > /dev/full
mq-xadd		75	full_disk mq-xadd s m
mq-xadd		77	read_only mq-xadd s m

mq-xclaim	0	mq-xclaim s g c2 1-2
mq-xclaim	2	mq-xclaim s g
mq-xclaim	65	mq-xclaim s g c2 not-an-id
mq-xclaim	66	mq-xclaim s no-such-group c2 1-2
mq-xclaim	70	corrupt streams/s/meta; mq-xclaim s g c2 1-2
mq-xclaim	74	mq-xclaim s g c2 1-2 > /dev/full
mq-xclaim	75	short_of_fds mq-xclaim s g c2 1-2
mq-xclaim	77	read_only mq-xclaim s g c2 1-2

mq-xinfo	0	mq-xinfo s
mq-xinfo	2	mq-xinfo s g extra
mq-xinfo	65	mq-xinfo s ''
mq-xinfo	66	mq-xinfo no-such-stream
mq-xinfo	70	corrupt streams/s/meta; mq-xinfo s
mq-xinfo	74	mq-xinfo s > /dev/full
mq-xinfo	75	short_of_fds mq-xinfo s
mq-xinfo	77	unreadable mq-xinfo s

mq-xpending	0	mq-xpending s g
mq-xpending	2	mq-xpending s
mq-xpending	65	mq-xpending s g not-an-id
mq-xpending	66	mq-xpending s no-such-group
mq-xpending	70	corrupt streams/s/meta; mq-xpending s g
mq-xpending	74	mq-xpending s g > /dev/full
mq-xpending	75	short_of_fds mq-xpending s g
mq-xpending	77	unreadable mq-xpending s g

mq-xrange	0	mq-xrange s
mq-xrange	2	mq-xrange
mq-xrange	65	mq-xrange s not-an-id
mq-xrange	66	mq-xrange no-such-stream
mq-xrange	70	corrupt streams/s/meta; mq-xrange s
mq-xrange	74	mq-xrange s > /dev/full
mq-xrange	75	short_of_fds mq-xrange s
mq-xrange	77	unreadable mq-xrange s

mq-xread	0	mq-xread s 0
mq-xread	1	mq-xread -b 10ms s
mq-xread	2	mq-xread
mq-xread	65	mq-xread s not-an-id
mq-xread	66	mq-xread no-such-stream
mq-xread	70	corrupt streams/s/meta; mq-xread s 0
mq-xread	71	untestable: ppoll(2) fails only for arguments the tool never passes
mq-xread	74	mq-xread s 0 > /dev/full
mq-xread	75	short_of_fds mq-xread s 0
mq-xread	77	unreadable mq-xread s 0

mq-xreadgroup	0	mq-xreadgroup g2 c s
mq-xreadgroup	1	mq-xreadgroup -b 10ms g c s
mq-xreadgroup	2	mq-xreadgroup g c
mq-xreadgroup	65	mq-xreadgroup g c s not-an-id
mq-xreadgroup	66	mq-xreadgroup g c no-such-stream
mq-xreadgroup	70	corrupt streams/s/meta; mq-xreadgroup g c s
mq-xreadgroup	71	untestable: ppoll(2) fails only for arguments the tool never passes
mq-xreadgroup	74	mq-xreadgroup g2 c s > /dev/full
mq-xreadgroup	75	full_disk mq-xreadgroup g2 c s
mq-xreadgroup	77	read_only mq-xreadgroup g2 c s
mq-xreadgroup	123	mq-xreadgroup -x false g2 c s

mq-serve	0	serve_then_stop
mq-serve	1	mq-serve --hash-password alice < /dev/null
mq-serve	2	mq-serve --no-such-option
mq-serve	65	corrupt VERSION; serve_once
mq-serve	66	serve_once -c no-such-file
mq-serve	69	serve_once --spool "$MQ_SPOOL/VERSION/spool"
mq-serve	71	untestable: signalfd(2), epoll or a strdup(3) of the config failing
mq-serve	73	serve_once --log "$MQ_SPOOL/VERSION/log"
mq-serve	75	(ulimit -n 300 && serve_once)
mq-serve	77	read_only timeout 10 mq-serve --resp 127.0.0.1:0 --amqp off
mq-serve	78	echo 'no colon' > users; serve_once --users users
END
}

# Set by a scenario that cannot be set up here, with the reason on stderr.
NOT_RUN=254

setup_file() {
	umask 022
	# Every user may reach the spool and the copies of the tools.
	public_dir mq-ack mq-dlq mq-nack mq-publish mq-queue mq-subscribe \
	    mq-xadd mq-xclaim mq-xinfo mq-xpending mq-xrange mq-xread \
	    mq-xreadgroup mq-serve
	export PUBLIC
	export MQ_SPOOL=$PUBLIC/template
	mq-xadd -i 1-1 s a > /dev/null
	mq-xadd -i 1-2 s b > /dev/null
	mq-xadd -i 1-3 s c > /dev/null
	mq-xreadgroup g c s > /dev/null
	mq-nack --reject s g 1-1
	mq-subscribe -Q q -b 1ms 't.#' || [ "$?" -eq 1 ]
	mq-publish t.x m > /dev/null
}

teardown_file() {
	public_cleanup
}

setup() {
	umask 022
	cd "$BATS_TEST_TMPDIR" || return 1
	WORK=$PUBLIC/$BATS_TEST_NUMBER
	mkdir -m 755 "$WORK"
	export MQ_SPOOL=$WORK/spool
}

teardown() {
	[ -n "${WORK:-}" ] && chmod -R u+rwX "$WORK" && rm -rf "$WORK"
}

# ---------------------------------------------------------------------
# The words of the scenarios

# corrupt FILE: FILE of the spool says what no version of mq writes.
corrupt() {
	printf 'not written by mq\n' > "$MQ_SPOOL/$1"
}

# stranger CMD...: CMD run by the user of `unprivileged`, the tools from
# the copies every user may run.
stranger() {
	unprivileged env PATH="$PUBLIC/bin:$PATH" "$@"
}

# read_only CMD...: CMD run by a user who may read the spool, not write
# it: as root, nobody (the spool keeps its modes, 755 and 644); as
# another user, that user once the spool lost its write bits.
read_only() {
	[ "$(id -u)" -eq 0 ] || chmod -R a-w "$MQ_SPOOL"
	stranger "$@"
}

# unreadable CMD...: CMD run by a user who may not read the spool.
unreadable() {
	chmod a-rwx "$MQ_SPOOL"
	stranger "$@"
}

# full_disk CMD...: CMD on a copy of the spool on a full file system: a
# 1 MiB tmpfs (below the 16 MiB an append leaves free) filled up, in a
# mount namespace that goes with CMD.  $NOT_RUN if none may be made.
full_disk() {
	local ns=(unshare -m)

	[ "$(id -u)" -eq 0 ] || ns=(unshare -r -m)
	if ! "${ns[@]}" true 2> /dev/null; then
		echo "full_disk: no mount namespace may be made here" >&2
		return "$NOT_RUN"
	fi
	mkdir -p full
	"${ns[@]}" sh -c '
		mount -t tmpfs -o size=1m mq-full full &&
		    cp -a "$MQ_SPOOL" full/spool || exit '"$NOT_RUN"'
		cat /dev/zero > full/fill 2> /dev/null
		MQ_SPOOL=$PWD/full/spool exec "$@"' sh "$@"
}

# short_of_fds CMD...: CMD with descriptors 0, 1 and 2 open and room for
# one more, which the loader's brief opens take and give back: the
# spool's first open beyond it fails with EMFILE.
short_of_fds() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || exec {fd}>&-
		done
		ulimit -n 4 && exec "$@"
	)
}

# serve_once ARG...: mq-serve on 127.0.0.1, a port the kernel picks, in
# the foreground.  The bound only keeps a server that starts when it
# should refuse from hanging the run: it then fails with 124.
serve_once() {
	timeout 10 mq-serve --resp 127.0.0.1:0 --amqp off "$@" < /dev/null
}

# serve_then_stop: mq-serve on 127.0.0.1, stopped with SIGTERM once it
# says it is ready; its exit status.
serve_then_stop() {
	mq-serve --resp 127.0.0.1:0 --amqp off < /dev/null > serve.log 2>&1 3>&- &
	local pid=$!

	wait_until serve_ready_or_gone serve.log "$pid" || kill "$pid"
	kill -TERM "$pid" 2> /dev/null
	wait "$pid"
}

# serve_ready_or_gone LOG PID: the server says it is ready, or is dead.
serve_ready_or_gone() {
	grep -q ' ready, spool ' "$1" || ! kill -0 "$2" 2> /dev/null
}

# ---------------------------------------------------------------------
# Pages and the table

# page_of TOOL: the page of TOOL; fails if there is none.
page_of() {
	local page

	for page in "$REPO/man/$1".[18]; do
		[ -f "$page" ] && echo "$page" && return 0
	done
	return 1
}

# page_statuses PAGE: the statuses of the ".It" lines of EXIT STATUS.
page_statuses() {
	awk '/^\.Sh / { on = $0 == ".Sh EXIT STATUS"; next }
	    on && /^\.It [0-9]/ { print $2 }' "$1" | sort
}

# table_statuses TOOL: the statuses the table has rows for.
table_statuses() {
	local tool want cmd

	table | while read -r tool want cmd; do
		[ "$tool" != "$1" ] || echo "$want"
	done | sort
}

# page_agrees TOOL: the page of TOOL lists the statuses that the table
# has rows for, and no other.
page_agrees() {
	local tool=$1 page s bad=0

	page=$(page_of "$tool") || { echo "no page for $tool"; return 1; }
	[ -n "$(page_statuses "$page")" ] || {
		echo "${page##*/}: no .It lines in EXIT STATUS"
		return 1
	}
	for s in $(comm -23 <(page_statuses "$page") <(table_statuses "$tool")); do
		echo "${page##*/} lists $s: the table has no row for it"
		bad=1
	done
	for s in $(comm -13 <(page_statuses "$page") <(table_statuses "$tool")); do
		echo "$tool exits $s (see the table): ${page##*/} does not list it"
		bad=1
	done
	return "$bad"
}

# rows_exit TOOL: each command of the rows of TOOL exits with its
# status; all are run, and every one that does not is reported.
rows_exit() {
	local tool want cmd bad=0 n=0

	while read -r -u 4 tool want cmd; do
		[ "$tool" = "$1" ] || continue
		case $cmd in
		untestable:*)
			continue ;;
		esac
		chmod -R u+rwX "$WORK" && rm -rf "$MQ_SPOOL" &&
		    cp -a "$PUBLIC/template" "$MQ_SPOOL" || return 1
		run eval "$cmd" < /dev/null
		n=$((n + 1))
		if [ "$status" -eq "$NOT_RUN" ]; then
			echo "# $tool $want not run: $output" >&3
		elif [ "$status" -ne "$want" ]; then
			printf '%s %s: exited %s: %s\n%s\n' "$tool" "$want" \
			    "$status" "$cmd" "$output"
			bad=1
		fi
	done 4< <(table)
	[ "$n" -gt 0 ] || { echo "no rows for $1"; return 1; }
	return "$bad"
}

# ---------------------------------------------------------------------

@test "exit status: every tool page has rows in the table" {
	local page tool bad=0

	for page in "$REPO"/man/mq-*.1 "$REPO"/man/mq-serve.8; do
		tool=${page##*/}
		tool=${tool%.*}
		if [ -z "$(table_statuses "$tool")" ]; then
			echo "${page##*/}: no rows for $tool in the table"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "exit status: mq-ack: the page lists the statuses of the table" {
	page_agrees mq-ack
}

@test "exit status: mq-ack: each command exits with its status" {
	rows_exit mq-ack
}

@test "exit status: mq-dlq: the page lists the statuses of the table" {
	page_agrees mq-dlq
}

@test "exit status: mq-dlq: each command exits with its status" {
	rows_exit mq-dlq
}

@test "exit status: mq-nack: the page lists the statuses of the table" {
	page_agrees mq-nack
}

@test "exit status: mq-nack: each command exits with its status" {
	rows_exit mq-nack
}

@test "exit status: mq-publish: the page lists the statuses of the table" {
	page_agrees mq-publish
}

@test "exit status: mq-publish: each command exits with its status" {
	rows_exit mq-publish
}

@test "exit status: mq-queue: the page lists the statuses of the table" {
	page_agrees mq-queue
}

@test "exit status: mq-queue: each command exits with its status" {
	rows_exit mq-queue
}

@test "exit status: mq-subscribe: the page lists the statuses of the table" {
	page_agrees mq-subscribe
}

@test "exit status: mq-subscribe: each command exits with its status" {
	rows_exit mq-subscribe
}

@test "exit status: mq-xadd: the page lists the statuses of the table" {
	page_agrees mq-xadd
}

@test "exit status: mq-xadd: each command exits with its status" {
	rows_exit mq-xadd
}

@test "exit status: mq-xclaim: the page lists the statuses of the table" {
	page_agrees mq-xclaim
}

@test "exit status: mq-xclaim: each command exits with its status" {
	rows_exit mq-xclaim
}

@test "exit status: mq-xinfo: the page lists the statuses of the table" {
	page_agrees mq-xinfo
}

@test "exit status: mq-xinfo: each command exits with its status" {
	rows_exit mq-xinfo
}

@test "exit status: mq-xpending: the page lists the statuses of the table" {
	page_agrees mq-xpending
}

@test "exit status: mq-xpending: each command exits with its status" {
	rows_exit mq-xpending
}

@test "exit status: mq-xrange: the page lists the statuses of the table" {
	page_agrees mq-xrange
}

@test "exit status: mq-xrange: each command exits with its status" {
	rows_exit mq-xrange
}

@test "exit status: mq-xread: the page lists the statuses of the table" {
	page_agrees mq-xread
}

@test "exit status: mq-xread: each command exits with its status" {
	rows_exit mq-xread
}

@test "exit status: mq-xreadgroup: the page lists the statuses of the table" {
	page_agrees mq-xreadgroup
}

@test "exit status: mq-xreadgroup: each command exits with its status" {
	rows_exit mq-xreadgroup
}

@test "exit status: mq-serve: the page lists the statuses of the table" {
	page_agrees mq-serve
}

@test "exit status: mq-serve: each command exits with its status" {
	rows_exit mq-serve
}
