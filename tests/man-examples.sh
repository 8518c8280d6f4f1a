#!/bin/sh
# man-examples.sh - the shell commands of a manual page's EXAMPLES, for
# the test that checks that each one is run, as written, by a test.
#
#   sh tests/man-examples.sh PAGE
#
# Prints one line per command of the literal blocks (.Bd -literal) of the
# EXAMPLES section of the mdoc page PAGE, as a reader sees it: the escapes
# \e, \- and \& resolved, a line ending with a backslash or a pipe joined
# to the next one.  In a block where some lines start with "$ ", only those are
# commands (the others are their output); elsewhere every line is one.

set -eu

awk '
/^\.Sh / { examples = ($2 == "EXAMPLES"); next }
!examples { next }
/^\.Bd -literal/ { inblock = 1; n = 0; dollar = 0; next }
/^\.Ed/ && inblock {
	inblock = 0
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
