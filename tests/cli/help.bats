#!/usr/bin/env bats
# --help and -h of every tool and of mq-serve: the synopsis that a usage
# error prints, a blank line, then one line on each option ("  -c, --count
# COUNT" and a phrase), which together name exactly the long options of
# the program's option table.  A usage error prints the synopsis alone.

load helpers
bats_require_minimum_version 1.5.0

# synopsis PROG: the synopsis that a usage error prints after its reason.
synopsis() {
	"$1" --no-such-option 2>&1 > /dev/null | tail -n +2
}

# option_lines PROG: what --help prints after the synopsis and the blank
# line.
option_lines() {
	local n

	n=$(synopsis "$1" | wc -l)
	"$1" --help | tail -n +$((n + 2))
}

# option_words: the options that the option lines on stdin name ("-c",
# "--count"), one per line, without their values and phrases.
option_words() {
	sed -E 's/^ +//; s/  .*//; s/,/ /g' | tr ' ' '\n' | grep -E '^-'
}

# table_longs PROG: the long options of PROG's option table (longopts in
# its source, with TOOL_LONGOPTS of tool.h where it takes those), as
# "--name", one per line.
table_longs() {
	local src=$REPO/cmd/$1.c table

	[ "$1" = mq-serve ] && src=$REPO/cmd/mq-serve/main.c
	table=$(awk '/longopts\[\] = [{]/,/^};/' "$src")
	if [[ $table == *TOOL_LONGOPTS* ]]; then
		table+=$'\n'$(awk '/^#define TOOL_LONGOPTS/,/[^\\]$/' \
		    "$REPO/cmd/tool.h")
	fi
	printf '%s\n' "$table" | sed -nE 's/.*[{] *"([a-z-]+)".*/--\1/p'
}

@test "help: the synopsis, a blank line, then one line on each option" {
	for prog in "$MQ_BIN"/mq-*; do
		prog=${prog##*/}
		run --separate-stderr "$prog" --help
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		syn=$(synopsis "$prog")
		n=$(printf '%s\n' "$syn" | wc -l)
		[ "$n" -ge 1 ]
		[ "$(printf '%s\n' "$output" | head -n "$n")" = "$syn" ]
		[ -z "$(printf '%s\n' "$output" | sed -n "$((n + 1))p")" ]
		opts=$(option_lines "$prog")
		[ "$(printf '%s\n' "$opts" | wc -l)" -ge 5 ]
		# "  -x, --long VALUE" or "      --long VALUE", two blanks, a
		# phrase; every line fits a terminal.
		! printf '%s\n' "$opts" | grep -vE \
		    '^  (-[A-Za-z0-9], |    )--[a-z][a-z-]*( [^ ]+)?  +[^ ]'
		! printf '%s\n' "$output" | grep -E '.{80}'
		# -h is --help.
		[ "$("$prog" -h)" = "$output" ]
	done
}

@test "help: a usage error prints the synopsis alone" {
	for prog in "$MQ_BIN"/mq-*; do
		prog=${prog##*/}
		run --separate-stderr "$prog" --no-such-option
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "${stderr_lines[0]}" == *"$prog: "*"option"*"--no-such-option"* ]]
		[[ "${stderr_lines[1]}" == "usage: $prog "* ]]
		[ "${#stderr_lines[@]}" -eq $(($(synopsis "$prog" | wc -l) + 1)) ]
		# Neither the blank line nor any option line.
		! printf '%s\n' "$stderr" | grep -E '^$|^  -'
	done
}

@test "help: every option of the synopsis has its line" {
	for prog in "$MQ_BIN"/mq-*; do
		prog=${prog##*/}
		words=$(option_lines "$prog" | option_words)
		syn=$(synopsis "$prog")
		longs=$(printf '%s\n' "$syn" | grep -oE -- '--[a-z][a-z-]*')
		# -x, and each letter of a cluster such as [-qVv].
		shorts=$(printf '%s\n' "$syn" |
		    grep -oE -- '(^|[ [])-[A-Za-z0-9]+' | sed -E 's/^[ []?-//' |
		    fold -w 1 | sed 's/^/-/')
		[ -n "$longs" ] && [ -n "$shorts" ]
		for opt in $longs $shorts; do
			printf '%s\n' "$words" | grep -qxe "$opt" ||
			    { echo "$prog: no line on $opt"; false; }
		done
	done
}

@test "help: the option lines name exactly the long options of the option table" {
	for prog in "$MQ_BIN"/mq-*; do
		prog=${prog##*/}
		table=$(table_longs "$prog" | sort)
		[ "$(printf '%s\n' "$table" | wc -l)" -ge 6 ]
		help=$(option_lines "$prog" | option_words | grep -e '^--' | sort)
		[ "$help" = "$table" ] ||
		    { diff <(echo "$table") <(echo "$help"); false; }
	done
}

@test "help: every option the lines name is one the program takes" {
	for prog in "$MQ_BIN"/mq-*; do
		prog=${prog##*/}
		for opt in $(option_lines "$prog" | option_words); do
			# Without operands a tool stops at a usage error or at
			# -h and -V, before it does anything.  mq-serve has no
			# operands: "=x" and an extra one stop it before it
			# listens ("--log FILE" alone would start it).
			if [ "$prog" = mq-serve ] && [[ $opt == --* ]]; then
				run --separate-stderr timeout 30 "$prog" "$opt=x" extra
			else
				run --separate-stderr timeout 30 "$prog" "$opt" < /dev/null
			fi
			[ "$status" -ne 124 ]
			# Ours, or getopt's where a tool still prints those.
			! printf '%s\n' "$stderr" | grep -E \
			    '(unknown|unrecognized|invalid) option' ||
			    { echo "$prog $opt"; false; }
		done
	done
}
