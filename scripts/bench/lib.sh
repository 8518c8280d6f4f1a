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

# bench_startup NAME PORT PROBE CMD...: starts a server (CMD), prints the
# milliseconds from exec to its first answer on 127.0.0.1:PORT, and
# leaves its pid in $work/NAME.pid.  PROBE is what makes an answer:
# resp (PING, +PONG), amqp (a protocol header, any bytes back) or tcp (a
# connection taken).  Gives up after 60 s.
bench_startup() {
	name=$1 port=$2 probe=$3
	shift 3
	python3 - "$work/$name.pid" "$port" "$probe" "$@" <<'PY'
import socket, subprocess, sys, time
pidfile, port, probe, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
send, want = {"resp": (b"PING\r\n", b"+PONG"),
    "amqp": (b"AMQP\x00\x00\x09\x01", b""), "tcp": (None, None)}[probe]
t0 = time.monotonic()
p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
	if p.poll() is not None:
		sys.exit("%s exited at start" % argv[0])
	if time.monotonic() - t0 > 60:
		sys.exit("%s did not answer in 60 s" % argv[0])
	try:
		s = socket.create_connection(("127.0.0.1", port), timeout=1)
		if send is None:
			break
		s.sendall(send)
		got = s.recv(16)
		if got and got.startswith(want):
			break
	except OSError:
		time.sleep(0.001)
print("%.1f" % ((time.monotonic() - t0) * 1000))
open(pidfile, "w").write(str(p.pid))
PY
}

# rps: the requests/s of the last test in redis-benchmark --csv output
# ("test","rps",...).
rps() {
	awk -F'"' 'NF > 3 && $2 != "test" { v = $4 } END { printf "%.0f", v }'
}
