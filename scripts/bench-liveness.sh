#!/bin/sh
# bench-liveness.sh - what watching for dead consumers and leases costs a
# read of a group, at both ends of the scale (scripts/bench/liveness.c).
#
#   make && sh scripts/bench-liveness.sh
#
# Prints the time per read and ack of one entry with 0, 1, 10 and 100
# other attached consumers holding entries (each costs one flock(2) per
# read), and with 100,000 entries pending for a consumer that is not
# attached (the lease: no cost until one may have expired), then the
# system calls per read and ack with 10 attached consumers.

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -D_GNU_SOURCE -I"$root/libmq" -o "$work/liveness" \
    "$root/scripts/bench/liveness.c" "$root/lib/libmq.a" -lbsd

for args in "0 0" "1 0" "10 0" "100 0" "0 100000"; do
	rm -rf "$work/spool"
	# shellcheck disable=SC2086
	"$work/liveness" "$work/spool" $args 20000
done

if command -v strace > /dev/null; then
	rm -rf "$work/spool"
	strace -f -c -o "$work/strace" "$work/liveness" "$work/spool" 10 0 2000 \
	    > /dev/null
	awk '$NF == "flock" { printf "flock(2) per read and ack, 10 attached: %.1f\n", $4 / 2000 }' \
	    "$work/strace"
fi
