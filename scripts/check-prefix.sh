#!/bin/sh
# check-prefix.sh - every door of mq-serve names its global symbols with
# its own prefix, so that all doors link into one binary without clashes.
#
#   sh scripts/check-prefix.sh OBJDIR
#
# OBJDIR is the object tree of cmd/mq-serve (build/cmd/mq-serve).  Each
# folder under it other than core/ is a door; every symbol an object of
# door NAME defines and exports must start with NAME_.  Prints the ones
# that do not and exits 1.

set -eu

[ $# -eq 1 ] || { echo "usage: sh scripts/check-prefix.sh OBJDIR" >&2; exit 2; }
bad=0
for dir in "$1"/*/; do
	door=$(basename "$dir")
	[ "$door" = core ] && continue
	for o in "$dir"*.o; do
		[ -e "$o" ] || continue
		for sym in $(nm --defined-only -g "$o" | awk '{ print $3 }'); do
			case $sym in
			"${door}"_*)	;;
			*)	echo "check-prefix: $o: $sym lacks ${door}_" >&2
				bad=1 ;;
			esac
		done
	done
done
exit $bad
