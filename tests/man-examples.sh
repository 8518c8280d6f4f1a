#!/bin/sh
# man-examples.sh - the shell commands of a manual page's EXAMPLES, for
# the test that checks that each one is run, as written, by a test.
#
#   sh tests/man-examples.sh PAGE
#   sh tests/man-examples.sh -b N PAGE
#
# Prints one line per command of the literal blocks (.Bd -literal) of the
# EXAMPLES section of the mdoc page PAGE, as a reader sees it: the escapes
# \e, \- and \& resolved, a line ending with a backslash or a pipe joined
# to the next one.  In a block where some lines start with "$ ", only those are
# commands (the others are their output); elsewhere every line is one.
# With -b N, prints the Nth block (from 1) whole instead, escapes
# resolved: a program of libmq(3), say.

set -eu

block=0
if [ "$1" = -b ]; then
	block=$2
	shift 2
fi

awk -v block="$block" '
/^\.Sh / { examples = ($2 == "EXAMPLES"); next }
!examples { next }
/^\.Bd -literal/ { inblock = 1; n = 0; dollar = 0; next }
/^\.Ed/ && inblock {
	inblock = 0
	if (block > 0) {
		if (++nblock == block)
			for (i = 1; i <= n; i++)
				print lines[i]
		next
	}
	for (i = 1; i <= n; i++) {
		line = lines[i]
		if (dollar && line !~ /^\$ /)
			continue
		sub(/^\$ /, "", line)
		# A continuation (a backslash, or a pipe that waits for its
		# command) joins the next line, its indent folded.
		while ((line ~ /\\$/ || line ~ /\|$/) && i < n) {
			sub(/\\$/, "", line)
			next_line = lines[++i]
			sub(/^[ \t]+/, " ", next_line)
			line = line next_line
		}
		print line
	}
	next
}
inblock {
	gsub(/\\e/, "\\")
	gsub(/\\-/, "-")
	gsub(/\\&/, "")
	if ($0 ~ /^\$ /)
		dollar = 1
	lines[++n] = $0
}
' "$1"
