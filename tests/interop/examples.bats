#!/usr/bin/env bats
# examples.bats: the examples that start mq-serve, those of mq-serve(8)
# and of the README's "Redis clients" and "RabbitMQ clients", run as written, but for where they
# listen and what they name in /etc: tests listen on 127.0.0.1 only, on
# free ports, and write nothing outside their directory.
#
# The commands are read from the page (tests/man-examples.sh) and from the
# README (tests/readme-blocks.sh) and changed by sed, in the open, below:
# the ports become free ones on 127.0.0.1 (a redis-cli that named none is
# given one, and a server's AMQP door one the kernel chooses), /tmp/spool
# and /etc/mq their directories of this test, and
# "pkill -x mq-serve" the servers this script started; a server that
# names no spool runs on the default one, which MQ_SPOOL makes a
# directory of this test too (as root it would be /var/spool/mq).  Each
# background command's pid is kept, and every one is stopped at the end;
# its output, unless the example sends it to a file, goes to
# background.log (a server in the background would otherwise hold the
# test's output open).  The password that mq-serve --hash-password asks
# for comes on standard input.

load lib.sh

setup() {
	interop_setup
	require_serve || return 1
	command -v redis-cli > /dev/null || skip "no redis-cli"
	# Four distinct free ports: P1 and P2 for RESP, P3 and P4 for AMQP.
	local got=" " p
	while [ "$(wc -w <<< "$got")" -lt 4 ]; do
		p=$(free_port)
		[[ "$got" == *" $p "* ]] || got="$got$p "
	done
	read -r P1 P2 P3 P4 <<< "$got"
	pw=secret-$RANDOM
	export pw
	printf '%s\n' "$pw" > password
}

teardown() {
	local pid
	for pid in $(cat pids 2>/dev/null); do
		stop "$pid"
	done
	stop_started
}

# script FILE: the commands on stdin, made a script that keeps the pid of
# each background command in ./pids, into FILE.
script() {
	{
		echo 'set -eu'
		sed -e '/&[[:space:]]*\(#.*\)\{0,1\}$/!b' \
		    -e '/[[:space:]]>/!s/&[[:space:]]*\(#.*\)\{0,1\}$/>> background.log 2>\&1 &/' \
		    -e 's/&[[:space:]]*\(#.*\)\{0,1\}$/\& echo $! >> pids/'
	} > "$1"
}

# bob_in: the user bob, added by the last example, is let in.
bob_in() {
	[ "$(redis-cli -p "$P2" --no-auth-warning --user bob --pass "$pw" PING)" = PONG ]
}

@test "mq-serve(8): the examples run as written, but for ports and paths" {
	mkdir -p etc/mq
	sh "$INTEROP/../../tests/man-examples.sh" "$INTEROP/../../man/mq-serve.8" |
	    sed -e "s|--resp |--amqp 127.0.0.1:0 --resp |" \
		-e "s|0\.0\.0\.0:6379|127.0.0.1:$P2|" \
		-e "s|--resp 6380|--resp 127.0.0.1:$P1|" \
		-e "s|redis-cli -p 6380|redis-cli -p $P1|" \
		-e "s|redis-cli --user|redis-cli -p $P2 --user|" \
		-e "s|/tmp/spool|$PWD/spool|g" \
		-e "s|/etc/mq|$PWD/etc/mq|g" \
		-e 's|pkill -HUP -x mq-serve|kill -HUP $(cat pids)|' |
	    script examples.sh
	PATH=$MQ_BIN:$PATH MQ_SPOOL=$PWD/default-spool \
	    run timeout 60 bash examples.sh < password
	echo "$output"
	[ "$status" -eq 0 ]
	# The server started without --spool took the test's default spool.
	[ -f default-spool/VERSION ]
	# The entry went in through Redis and came out through the tool.
	[[ "$output" == *$'\thello'* ]]
	# alice is a user; XLEN of a stream that does not exist is 0.
	[[ "$output" == *$'\n0\n'* || "$output" == *$'\n0' ]]
	# The file, reloaded on SIGHUP (which the server reads in its own
	# time), lets bob in.
	wait_until bob_in
}

@test "README: the Redis and RabbitMQ clients examples run as written, but for ports" {
	command -v amqp-publish > /dev/null || missing amqp-tools || return 1
	ln -s "$MQ_BIN" bin
	{ sh "$INTEROP/../../tests/readme-blocks.sh" "Redis clients" &&
	    sh "$INTEROP/../../tests/readme-blocks.sh" "RabbitMQ clients"; } |
	    sed -e "s|6380|$P1|g" -e "s|6381|$P2|g" \
		-e "s|5673|$P3|g" -e "s|5674|$P4|g" |
	    script examples.sh
	MQ_SPOOL=$PWD/spool run timeout 60 bash examples.sh < password
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\torder 6'* ]]
	[[ "$output" == *"order 7"* ]]
	grep -qx "$(printf 'news\thello')" background.log
	# PUBLISH counted the tool's subscription; alice's XLEN saw 2 orders.
	[[ "$output" == *$'\n1\n'* ]]
	[[ "$output" == *$'\n2'* ]]
	# The tool took the first job, amqp-get the one mq-xadd appended,
	# and the tool's subscription the publish to amq.topic.
	[[ "$output" == *$'\tresize photo 1'* ]]
	[[ "$output" == *$'\nresize photo 2'* ]]
	grep -qx "$(printf 'news.tech\tmq speaks AMQP')" background.log
}
