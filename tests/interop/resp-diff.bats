#!/usr/bin/env bats
# resp-diff.bats - the differential test: each command script in resp/
# runs against a fresh Debian redis-server (the reference, left side of
# the diff) and a fresh mq-serve (right side), and the normalised
# transcripts of resp-diff.py must be the same.  Also checks resp-diff.py
# itself against redis-server alone.

load lib.sh

setup() {
	interop_setup
}

# compare NAME: resp/NAME.txt on both servers, the diff shown on failure;
# the arrays redis_opts and mq_opts, if set, configure the servers.
compare() {
	require_serve
	redis_up "${redis_opts[@]}"
	mq_up "${mq_opts[@]}"
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" --compare \
	    "127.0.0.1:$REDIS_PORT" "127.0.0.1:$MQ_PORT" "$INTEROP/resp/$1.txt"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "resp-diff: every script in resp/ has its test" {
	for f in "$INTEROP"/resp/*.txt; do
		name=$(basename "$f" .txt)
		grep -q "^@test \"resp-diff: $name\" " "$BATS_TEST_FILENAME" ||
		    { echo "no test for resp/$name.txt"; return 1; }
	done
}

@test "resp-diff: xadd" { compare xadd; }
@test "resp-diff: xrange" { compare xrange; }
@test "resp-diff: xread" { compare xread; }
@test "resp-diff: xtrim" { compare xtrim; }
@test "resp-diff: xgroup" { compare xgroup; }
@test "resp-diff: xreadgroup" { compare xreadgroup; }
@test "resp-diff: xclaim" { compare xclaim; }
@test "resp-diff: xinfo" { compare xinfo; }
@test "resp-diff: pubsub" { compare pubsub; }
@test "resp-diff: errors" { compare errors; }
@test "resp-diff: resp3" { compare resp3; }
@test "resp-diff: zset" { compare zset; }
@test "resp-diff: rename" { compare rename; }
@test "resp-diff: watch" { compare watch; }
@test "resp-diff: auth" { with_users; compare auth; }

# with_users: the servers of resp/auth.txt: the default user's password
# is "secret", alice's "wonder"; redis-server's requirepass and ACL user,
# mq-serve's users file made by --hash-password.
with_users() {
	require_serve
	if [ "${MQ_SERVE_CMD:-}" = serve_redis ]; then
		skip "needs mq-serve's --users"
	fi
	{ echo secret | "$MQ_BIN/mq-serve" --hash-password &&
	    echo wonder | "$MQ_BIN/mq-serve" --hash-password alice; } > users
	redis_opts=(--requirepass secret --user alice on '>wonder' '~*' '&*' '+@all')
	mq_opts=(--users "$BATS_TEST_TMPDIR/users")
}

# The tool itself, against redis-server only (never skipped).

@test "resp-diff.py: a difference is shown and exits 1" {
	redis_up
	printf 'INCR n\nXADD s 1-0 f v\n' > script
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" --compare \
	    "127.0.0.1:$REDIS_PORT" "127.0.0.1:$REDIS_PORT" script
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *$'\n-:1\n+:2'* ]]
	[[ "$output" == *$'\n-$3 1-0\n+-ERR The ID specified in XADD is equal or smaller than the target stream top item'* ]]
}

@test "resp-diff.py: parses every RESP3 type" {
	redis_up --enable-debug-command yes
	cat > script <<'SCRIPT'
@resp3
DEBUG PROTOCOL string
DEBUG PROTOCOL integer
DEBUG PROTOCOL double
DEBUG PROTOCOL bignum
DEBUG PROTOCOL null
DEBUG PROTOCOL set
DEBUG PROTOCOL map
DEBUG PROTOCOL attrib
DEBUG PROTOCOL push
@read
DEBUG PROTOCOL verbatim
DEBUG PROTOCOL true
ECHO 'a\r\nb\x00\xff\\'
PING
SCRIPT
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" "127.0.0.1:$REDIS_PORT" script
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n> DEBUG PROTOCOL double\n,3.141\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL bignum\n(1234567999999999999999999999999999999\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL null\n_\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL set\n~3\n  :0\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL map\n%3\n  :0\n  #f\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL attrib\n|1\n  $14 key-popularity\n'*$'\n$39 Some real reply following the attribute\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL push\n>2\n'*$'\n< read\n$40 Some real reply following the push reply\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL verbatim\n=29 txt:This is a verbatim\\nstring\n'* ]]
	[[ "$output" == *$'\n> DEBUG PROTOCOL true\n#t\n'* ]]
	[[ "$output" == *$'\n$7 a\\r\\nb\\x00\\xff\\\\\n> PING\n+PONG' ]]
}

@test "resp-diff.py: @ids numbers clock ids, <id#N> refers to them" {
	redis_up
	cat > script <<'SCRIPT'
@ids
XADD s * f 1
XADD s 2000000000000-5 f 2
XADD s * f 3
XADD small 1-0 f v
XRANGE s <id#2> <id#2>
SCRIPT
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" "127.0.0.1:$REDIS_PORT" script
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = '$<id#1>' ]
	[ "${lines[3]}" = '$<id#2>' ]
	[ "${lines[5]}" = '$<id#3>' ]
	[ "${lines[7]}" = '$3 1-0' ]
	[ "${lines[11]}" = '    $<id#2>' ]
	[ "${lines[14]}" = '      $1 2' ]
}

@test "resp-diff.py: usage errors, unreachable and non-loopback servers exit 2" {
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py"
	[ "$status" -eq 2 ]
	echo PING > script
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" 192.0.2.1:6379 script
	[ "$status" -eq 2 ]
	[[ "$output" == *"only loopback"* ]]
	port=$(free_port)
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" "127.0.0.1:$port" script
	[ "$status" -eq 2 ]
	echo '@nosuch' > bad
	run "$MQ_PYTHON" "$INTEROP/resp-diff.py" "127.0.0.1:$port" bad
	[ "$status" -eq 2 ]
}
