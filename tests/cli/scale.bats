#!/usr/bin/env bats
# Scale: a spool of 100,000 streams through the tools, with Debian's
# default limit of 1,024 descriptors.  mq-xadd -s creates them and
# appends to them from one process, mq-xinfo lists them, mq-xrange -s
# reads them back, each with a bounded number of open streams, and what
# comes back is what went in.  MQ_CLI_QUICK=1 (the sanitizer run) uses
# 10,000 streams.

load helpers

@test "scale: 100,000 streams appended, listed and read back whole under ulimit -n 1024" {
	n=100000
	[ "${MQ_CLI_QUICK:-0}" = 1 ] && n=10000
	# Two rounds over every stream: the second appends to streams the
	# first created and the cache of open streams let go.
	awk -v n=$n 'BEGIN {
		for (r = 1; r <= 2; r++)
			for (i = 0; i < n; i++)
				printf "s%d\tm%d-%d\n", i, i, r
	}' > in
	(
		ulimit -n 1024
		mq-xadd -q -s < in
		mq-xinfo > list
		cut -f1 list | mq-xrange -s | cut -f1,3 > out
	)
	[ "$(wc -l < list)" -eq $n ]
	# Every stream holds its two entries, in order.
	[ "$(cut -f2 list | sort -u)" = 2 ]
	[ "$(wc -l < out)" -eq $((2 * n)) ]
	cmp <(sort in) <(sort out)
	[ "$(grep '^s42	' out | cut -f2 | tr '\n' ' ')" = "m42-1 m42-2 " ]
}
