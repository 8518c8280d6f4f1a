#!/usr/bin/env bats
# Completion for bash (scripts/completion/mq.bash) and zsh
# (scripts/completion/_mq): options, their values and the operands come
# from each tool's --help, its usage and its option lines; STREAM and
# QUEUE complete the spool's streams.

load helpers

# complete_bash WORD...: the bash completion of the last WORD after the
# others, one candidate per line, from a fresh bash that sourced the file.
complete_bash() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@")
	    COMP_CWORD=$(($# - 1)); _mq; printf "%s\n" "${COMPREPLY[@]}"' \
	    _ "$REPO/scripts/completion/mq.bash" "$@"
}

# complete_zsh WORD...: the same through zsh, with compadd and friends
# replaced by functions that print what they were given.
complete_zsh() {
	zsh -f -c 'fpath=("$1" $fpath); autoload -Uz _mq
	    compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
	    _files() { print -r -- "files $*"; }
	    compset() { PREFIX=${PREFIX#*=}; }
	    shift; words=("$@"); CURRENT=$#; PREFIX=$words[-1]; _mq' \
	    _ "$REPO/scripts/completion" "$@"
}

# lines WORD...: the words, one per line.
lines() {
	printf '%s\n' "$@"
}

@test "completion: bash registers every tool and mq-serve" {
	run bash -c 'source "$1"; complete -p' _ "$REPO/scripts/completion/mq.bash"
	for tool in "$MQ_BIN"/mq-*; do
		[[ "$output" == *" ${tool##*/}"* ]]
	done
}

@test "completion: bash: mq-dlq's commands, from its usage" {
	[ "$(complete_bash mq-dlq '')" = "$(lines list show count replay purge)" ]
	[ "$(complete_bash mq-dlq -q re)" = replay ]
}

@test "completion: bash: the values of -o, --fsync and others, as each tool lists them" {
	[ "$(complete_bash mq-xrange -o '')" = "$(lines text json raw)" ]
	[ "$(complete_bash mq-xinfo -o '')" = "$(lines text json)" ]
	[ "$(complete_bash mq-xadd --fsync n)" = never ]
	# --fsync=al: bash splits the word at '='.
	[ "$(complete_bash mq-ack --fsync = al)" = always ]
	[ "$(complete_bash mq-queue --overflow '')" = "$(lines drop dead-letter reject)" ]
	[ "$(complete_bash mq-serve --protected-mode '')" = "$(lines yes no)" ]
	# A value is not taken for an operand: after -c 5, STREAM comes third.
	mq-xadd s m > /dev/null
	[ "$(complete_bash mq-xreadgroup -qc 5 g c '')" = s ]
}

@test "completion: bash: options are those of the tool's usage" {
	[ "$(complete_bash mq-nack --r)" = --reject ]
	[ "$(complete_bash mq-queue --max-)" = \
	    "$(lines --max-age --max-bytes --max-len --max-len-bytes --max-msg)" ]
	# Each letter of a cluster such as [-qVv] is an option.
	run complete_bash mq-xrange -
	for opt in -r -c -o -q -V -v --fsync --spool; do
		printf '%s\n' "$output" | grep -qx -- "$opt"
	done
	run complete_bash mq-serve --sys
	[ "$output" = --syslog ]
}

@test "completion: bash: the long forms that only the option lines list, with their values" {
	[ "$(complete_bash mq-xreadgroup --cou)" = --count ]
	[ "$(complete_bash mq-serve --conf)" = --config ]
	[ "$(complete_bash mq-xrange --output '')" = "$(lines text json raw)" ]
	[ "$(complete_bash mq-xinfo --output = '')" = "$(lines text json)" ]
	# The usage's values win: --fsync POLICY still offers the policies.
	[ "$(complete_bash mq-ack --fsync '')" = "$(lines always interval never)" ]
	# --count takes a value, so STREAM is still the third operand.
	mq-xadd s m > /dev/null
	[ "$(complete_bash mq-xreadgroup --count 5 g c '')" = s ]
	[ "$(complete_bash mq-xreadgroup --noack g c '')" = s ]
}

@test "completion: bash: each option is offered once, and only options are" {
	for tool in "$MQ_BIN"/mq-*; do
		run complete_bash "${tool##*/}" -
		[ "$status" -eq 0 ]
		[ -n "$output" ]
		[ -z "$(printf '%s\n' "$output" | sort | uniq -d)" ]
		! printf '%s\n' "$output" | grep -vxE -- '-[A-Za-z0-9]|--[a-z][a-z-]*'
	done
}

@test "completion: bash: STREAM and QUEUE offer the spool's streams, names decoded" {
	mq-xadd orders m > /dev/null
	mq-xadd 'a b/c%d' m > /dev/null
	[ -d "$MQ_SPOOL/streams/a%20b%2Fc%25d" ]
	run complete_bash mq-xrange ''
	[ "$output" = "$(lines 'a\ b/c%d' orders)" ]
	[ "$(complete_bash mq-dlq list o)" = orders ]
	[ "$(complete_bash mq-queue --dead-letter or)" = orders ]
	[ "$(complete_bash mq-subscribe -Q or)" = orders ]
	# Not where the usage has another operand (GROUP).
	[ -z "$(complete_bash mq-xreadgroup '')" ]
}

@test "completion: bash: --spool names the spool whose streams are offered" {
	mq-xadd --spool other news m > /dev/null
	mq-xadd orders m > /dev/null
	[ "$(complete_bash mq-xinfo --spool other '')" = news ]
	[ "$(complete_bash mq-xinfo --spool = other '')" = news ]
	[ "$(complete_bash mq-xinfo '')" = orders ]
	[ "$(unset MQ_SPOOL; cd other && complete_bash mq-xinfo --spool . '')" = news ]
}

@test "completion: zsh: the file loads, and completes as bash does" {
	command -v zsh > /dev/null || skip "no zsh: sh scripts/install-deps.sh --test"
	zsh -n "$REPO/scripts/completion/_mq"
	[ "$(head -1 "$REPO/scripts/completion/_mq")" = \
	    "#compdef $(cd "$MQ_BIN" && echo mq-*)" ]
	mq-xadd 'a b' m > /dev/null
	mq-xadd --spool other news m > /dev/null
	[ "$(complete_zsh mq-dlq '')" = "$(lines list show count replay purge)" ]
	[ "$(complete_zsh mq-dlq list '')" = 'a b' ]
	# An optional operand, [STREAM [GROUP]], is still a STREAM.
	[ "$(complete_zsh mq-xinfo '')" = 'a b' ]
	[ -z "$(complete_zsh mq-xinfo 'a b' '')" ]
	[ "$(complete_zsh mq-xadd --spool=other '')" = news ]
	[ "$(complete_zsh mq-xrange -o '')" = "$(lines text json raw)" ]
	[ "$(complete_zsh mq-xadd --fsync=)" = "$(lines always interval never)" ]
	[ "$(complete_zsh mq-serve --log '')" = "files " ]
	run complete_zsh mq-nack -
	printf '%s\n' "$output" | grep -qx -- --reject
	# And the option lines' long forms, once each, with their values.
	run complete_zsh mq-subscribe -
	printf '%s\n' "$output" | grep -qx -- --count
	[ -z "$(printf '%s\n' "$output" | sort | uniq -d)" ]
	[ "$(complete_zsh mq-xrange --output=)" = "$(lines text json raw)" ]
	[ "$(complete_zsh mq-xreadgroup --count 5 g c '')" = 'a b' ]
}

@test "completion: make install puts both in place, under DESTDIR" {
	run make_tree install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	share=$BATS_TEST_TMPDIR/root/usr/share
	cmp "$REPO/scripts/completion/mq.bash" "$share/bash-completion/completions/mq"
	for tool in "$MQ_BIN"/mq-*; do
		[ "$(readlink "$share/bash-completion/completions/${tool##*/}")" = mq ]
	done
	cmp "$REPO/scripts/completion/_mq" "$share/zsh/site-functions/_mq"
}
