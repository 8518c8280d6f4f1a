# mq.bash - bash completion for the mq tools and mq-serve.
#
# Model: what a tool takes is read from its own --help at each completion,
# as bash-completion's _longopt does, so the completion follows the tool
# it runs.  --help is the usage, a blank line, then one line per option.
# The usage is cut into words: each -x, each letter of a -xyz cluster and
# each --long option is an option; a word that follows an option inside
# its brackets is that option's value ("--fsync always|interval|never");
# the other words of the first form are the operands, in order
# ("list|show|count|replay|purge STREAM [ID...]").  An option line
# ("  -c, --count COUNT  phrase") adds the options it names, with its
# value word to those the usage gave none.
# A value or operand "a|b|c" offers a, b and c; STREAM and QUEUE offer
# the streams of the spool (--spool, else MQ_SPOOL, else the default),
# whose directories under SPOOL/streams/ hold their names with bytes
# written as %XX; DIR and FILE offer file names.

# _mq_opt OPT: adds OPT to _mq_opts unless it is there.
_mq_opt() {
	[[ " ${_mq_opts[*]} " == *" $1 "* ]] || _mq_opts+=("$1")
}

# _mq_usage CMD: reads CMD's --help into _mq_opts, _mq_vals (option ->
# its value's word) and _mq_args (the operands of the first form), which
# the caller declares.
_mq_usage() {
	local text help line tok prev='' val forms=0 noglob i
	local -a words

	help=$("$1" --help 2>/dev/null) || return 1
	text=${help%%$'\n\n'*}
	help=${help:${#text}}
	_mq_opts=() _mq_args=() _mq_vals=()
	text=${text//[/ [ }
	text=${text//]/ ] }
	text=${text//.../}
	[[ $- == *f* ]] && noglob=1
	set -f
	for tok in $text; do
		case $tok in
		usage:|'['|--) ;;
		"${1##*/}") ((forms++)) ;;
		']'|'|') prev= ;;
		--[a-z]*|-[A-Za-z0-9])
			_mq_opt "$tok"
			prev=$tok ;;
		-[A-Za-z0-9]*)
			for ((i = 1; i < ${#tok}; i++)); do
				_mq_opt "-${tok:i:1}"
			done
			prev= ;;
		*)	if [[ -n $prev ]]; then
				_mq_vals[$prev]=$tok
				prev=
			elif ((forms < 2)); then
				_mq_args+=("$tok")
			fi ;;
		esac
	done
	while IFS= read -r line; do
		line=${line#"${line%%[! ]*}"}
		line=${line%%'  '*}
		[[ $line == -* ]] || continue
		words=(${line//,/ })
		val=${words[-1]}
		[[ $val == -* ]] && val=
		for tok in "${words[@]}"; do
			[[ $tok == -* ]] || continue
			_mq_opt "$tok"
			[[ -n $val && -z ${_mq_vals[$tok]+x} ]] &&
			    _mq_vals[$tok]=$val
		done
	done <<< "$help"
	[[ -n $noglob ]] || set +f
}

# _mq_streams SPOOL: the names of the streams of SPOOL, or of the spool
# the tools would use, one per line.
_mq_streams() {
	local dir=$1 d name

	[[ $dir == "~"* ]] && dir=$HOME${dir#"~"}
	if [[ -z $dir ]]; then
		if [[ -n ${MQ_SPOOL:-} ]]; then
			dir=$MQ_SPOOL
		elif ((EUID == 0)); then
			dir=/var/spool/mq
		elif [[ ${XDG_STATE_HOME:-} == /* ]]; then
			dir=$XDG_STATE_HOME/mq
		elif [[ ${HOME:-} == /* ]]; then
			dir=$HOME/.local/state/mq
		else
			dir=/tmp/mq-$EUID
		fi
	fi
	for d in "$dir"/streams/*/; do
		[[ -d $d ]] || continue
		name=${d%/}
		name=${name##*/}
		printf '%b\n' "${name//%/\\x}"
	done
}

# _mq_complete WORD CUR SPOOL: what WORD of the usage offers for CUR.
_mq_complete() {
	local name

	case $1 in
	*'|'*)	mapfile -t COMPREPLY < <(compgen -W "${1//|/ }" -- "$2") ;;
	STREAM|QUEUE)
		while IFS= read -r name; do
			[[ $name == "$2"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
		done < <(_mq_streams "$3") ;;
	DIR)	compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
	FILE)	compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
	esac
}

_mq() {
	local cur=${COMP_WORDS[COMP_CWORD]} w want='' spool='' i n=0
	local -a _mq_opts _mq_args
	local -A _mq_vals

	COMPREPLY=()
	_mq_usage "${COMP_WORDS[0]}" || return 0
	# The words before: the value an option waits for, --spool, operands.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -n $want ]]; then
			[[ $w == = ]] && continue	# "--opt=value", split at '='
			[[ $want == --spool ]] && spool=$w
			want=
			continue
		fi
		case $w in
		--*=?*)	[[ $w == --spool=* ]] && spool=${w#--spool=} ;;
		--*)	[[ -n ${_mq_vals[$w]+x} ]] && want=$w ;;
		-?*)	[[ -n ${_mq_vals[-${w: -1}]+x} ]] && want=-${w: -1} ;;
		*)	((n++)) ;;
		esac
	done
	if [[ $cur == = ]]; then
		cur=
	fi
	if [[ -n $want ]]; then
		_mq_complete "${_mq_vals[$want]}" "$cur" "$spool"
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${_mq_opts[*]}" -- "$cur")
	else
		_mq_complete "${_mq_args[n]}" "$cur" "$spool"
	fi
	return 0
}

complete -F _mq mq-ack mq-dlq mq-nack mq-publish mq-queue mq-serve \
    mq-subscribe mq-xadd mq-xclaim mq-xinfo mq-xpending mq-xrange mq-xread \
    mq-xreadgroup
