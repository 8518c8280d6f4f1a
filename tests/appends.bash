# appends.bash - checking the appends a writer saw acknowledged against
# what the spool holds after crashes, for the crash tests over many
# streams of tests/cli and tests/interop.  Loaded with `load ../appends`.
#
# The files they read hold one entry a line, "STREAM<TAB>ID<TAB>BODY": the
# writers record each append whose id they were given, and a dump lists
# every entry of every stream, in each stream's order.  The bodies are
# unique, so an entry stored twice (under two ids, or in two streams)
# shows as a body seen twice.

# lines_in N FILE...: the FILEs (those that exist yet) hold N lines or
# more in all: how far the writers got.
lines_in() {
	local n=$1
	shift
	[ "$(cat -- "$@" 2>/dev/null | wc -l)" -ge "$n" ]
}

# check_appends DUMP RECORDED...: fails, naming each problem, unless in
# DUMP every stream's ids are strictly increasing and no body appears
# twice, and every append of the RECORDED files is in DUMP, in its stream,
# under its id, with its body.
check_appends() {
	awk -F'\t' '
	# above(A, B): id A is above id B (ms, then seq, as numbers).
	function above(a, b,    x, y) {
		split(a, x, "-")
		split(b, y, "-")
		return x[1] + 0 > y[1] + 0 || (x[1] + 0 == y[1] + 0 && x[2] + 0 > y[2] + 0)
	}
	function bad(why) {
		print "check_appends: " FILENAME ":" FNR ": " why
		failed = 1
	}
	FILENAME == ARGV[1] {
		if (NF != 3 || $2 !~ /^[0-9]+-[0-9]+$/)
			bad("not an entry: " $0)
		if (($1 in top) && !above($2, top[$1]))
			bad($1 ": " $2 " comes after " top[$1])
		top[$1] = $2
		if ($3 in stored_as)
			bad("body " $3 " stored twice: " stored_as[$3] " and " $1 " " $2)
		stored_as[$3] = $1 " " $2
		body[$1, $2] = $3
		next
	}
	!(($1, $2) in body) {
		bad("acknowledged, not stored: " $0)
		next
	}
	body[$1, $2] != $3 {
		bad("stored with body " body[$1, $2] ": " $0)
	}
	END { exit failed }
	' "$@"
}

# check_last DUMP LAST: fails unless each entry of LAST is the last of
# its stream in DUMP.
check_last() {
	awk -F'\t' '
	FILENAME == ARGV[1] { last[$1] = $2; next }
	last[$1] != $2 {
		print "check_last: " $1 ": last is " last[$1] ", not " $2
		failed = 1
	}
	END { exit failed }
	' "$@"
}
