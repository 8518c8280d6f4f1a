# helpers.bash - what every CLI test shares.
#
# Each test gets a fresh spool in $BATS_TEST_TMPDIR, exported as MQ_SPOOL,
# and runs in that directory.  The tools come from $MQ_BIN, by default the
# repository's bin/ (make check-cli sets it to the tree it built).

: "${MQ_BIN:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/bin}"
export MQ_BIN
PATH=$MQ_BIN:$PATH
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	export MQ_SPOOL=$BATS_TEST_TMPDIR/spool
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The processes a test starts in the background (it adds their pids),
# stopped when it ends; a file with a teardown of its own calls
# stop_background.
bg=()

stop_background() {
	local p
	for p in "${bg[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
}

teardown() {
	stop_background
}

# The version every tool's -V prints, taken from mq.h.
mq_version() {
	sed -n 's/^#define MQ_VERSION "\(.*\)"/\1/p' "$REPO/libmq/mq.h"
}

# pending GROUP CONSUMER STREAM: how many entries CONSUMER has pending.
pending() {
	mq-xreadgroup "$1" "$2" "$3" 0 | wc -l
}

# wait_until CMD...: runs CMD until it succeeds.  The 120 s bound only
# keeps a broken tool from hanging the run; it is not a timing assertion.
wait_until() {
	local i
	for ((i = 0; i < 1200; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# file_has_lines FILE N: FILE exists and has at least N lines.
file_has_lines() {
	[ -e "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]
}

# common_options TOOL OPERANDS...: the options every tool shares.
# OPERANDS make a valid call of TOOL that reads nothing from stdin.
common_options() {
	local tool=$1
	shift

	run "$tool" -h
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: $tool "* ]]
	run "$tool" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: $tool "* ]]
	# -h prints to stdout, a usage error to stderr.
	run bash -c "$tool -h 2>/dev/null"
	[[ "$output" == "usage: $tool "* ]]
	run bash -c "$tool --no-such-option 2>&1 >/dev/null"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: $tool "* ]]

	run "$tool" -V
	[ "$status" -eq 0 ]
	[ "$output" = "$tool $(mq_version)" ]
	run "$tool" --version
	[ "$output" = "$tool $(mq_version)" ]

	run "$tool" --fsync sometimes "$@"
	[ "$status" -eq 2 ]
	# An empty --spool is a mistake, not the default spool.
	run "$tool" --spool '' "$@" < /dev/null
	[ "$status" -eq 2 ]
	[ "$output" = "$tool: --spool: empty directory name" ]
	for policy in always interval never; do
		run "$tool" --fsync "$policy" "$@" < /dev/null
		[ "$status" -eq 0 ]
	done
	run "$tool" -q "$@" < /dev/null
	[ "$status" -eq 0 ]
	run "$tool" --quiet --verbose "$@" < /dev/null
	[ "$status" -eq 0 ]
}

# make_tree ARGS...: make in the repository, for the tree $MQ_BIN is in
# (the sanitizer build keeps its objects and binaries in one directory).
make_tree() {
	local b

	b=$(dirname "$MQ_BIN")
	if [ "$b" = "$REPO" ]; then
		make -C "$REPO" "$@"
	else
		make -C "$REPO" O="$b" B="$b" "$@"
	fi
}
