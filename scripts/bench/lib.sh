# shellcheck shell=sh disable=SC2154 # root is the caller's
# lib.sh - what the benchmarks of mq-serve against redis-server share: a
# work directory and the servers started, gone at exit; the commands
# they need; free loopback ports; redis-benchmark's figure.
#
# Sourced by scripts/bench-*.sh after they set root (the repository):
#   . "$root/scripts/bench/lib.sh"

# bench_init NAME CMD...: checks that each CMD is installed and that
# mq-serve was built; makes $work, a fresh directory for benchmark NAME,
# removed at exit after every process in $pids was stopped.
bench_init() {
	bench=$1
	shift
	for cmd in "$@"; do
		command -v "$cmd" > /dev/null || {
			echo "$bench.sh: $cmd is missing: sh scripts/install-deps.sh --bench" >&2
			exit 1
		}
	done
	bin=$root/bin
	[ -x "$bin/mq-serve" ] || { echo "$bench.sh: run make first" >&2; exit 1; }
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/mq-$bench.XXXXXX")
	pids=
	trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
	for p in $pids; do kill "$p" 2> /dev/null || true; done
	wait 2> /dev/null || true
	rm -rf "$work"
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rps: the requests/s of the last test in redis-benchmark --csv output
# ("test","rps",...).
rps() {
	awk -F'"' 'NF > 3 && $2 != "test" { v = $4 } END { printf "%.0f", v }'
}
