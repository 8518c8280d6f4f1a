#!/bin/sh
# readme-blocks.sh - the shell examples of README.md, for the tests that
# run them as written.
#
#   sh tests/readme-blocks.sh SECTION [README]
#
# Prints the ```sh blocks of the "## SECTION" part of README (the
# repository's by default), in order, as one script: what a reader would
# paste, block after block.  With SECTION "-", prints instead one line
# per ```sh block of the whole file, "SECTION<TAB>FIRST-LINE", so that a
# test can check that every block belongs to a section some test runs.

set -eu

section=$1
readme=${2:-$(cd "$(dirname "$0")/.." && pwd)/README.md}

awk -v want="$section" '
/^## / {
	sub(/^## +/, "")
	current = $0
	next
}
/^```sh$/ {
	inblock = 1
	first = 1
	next
}
/^```/ && inblock {
	inblock = 0
	next
}
inblock {
	if (want == "-") {
		if (first)
			printf "%s\t%s\n", current, $0
	} else if (current == want)
		print
	first = 0
}
' "$readme"
