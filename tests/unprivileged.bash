# unprivileged.bash - running the tools as a user whom file modes stop,
# for the tests of "permission denied".  Loaded by bats files of
# tests/cli and tests/interop with `load ../unprivileged`.
#
# The tests run as root in CI, and root ignores file modes: there the
# command runs as nobody (setpriv(1)), and what it needs must be
# reachable by nobody, which bats's own temporary directories (mode 700)
# are not.  So a test works in $PUBLIC, a directory every user can
# enter, with copies of the binaries it runs (the repository may be under
# /root); a directory made read-only with chmod a-w then stops the
# command whoever runs the tests.

# public_dir TOOL...: makes $PUBLIC, and copies each TOOL of $MQ_BIN to
# $PUBLIC/bin.
public_dir() {
	local tool
	PUBLIC=$(mktemp -d "${TMPDIR:-/tmp}/mq-test.XXXXXX") || return 1
	chmod 755 "$PUBLIC" && mkdir -m 755 "$PUBLIC/bin" || return 1
	for tool in "$@"; do
		cp "$MQ_BIN/$tool" "$PUBLIC/bin/" || return 1
	done
}

# public_cleanup: removes $PUBLIC, read-only parts included.
public_cleanup() {
	[ -n "${PUBLIC:-}" ] || return 0
	chmod -R u+rwX "$PUBLIC" && rm -rf "$PUBLIC"
	PUBLIC=
}

# UNPRIVILEGED: the words that run a command as nobody when the tests run
# as root, none otherwise: "${UNPRIVILEGED[@]}" CMD... (setpriv execs
# CMD, so a command started in the background keeps its PID).
if [ "$(id -u)" -eq 0 ]; then
	UNPRIVILEGED=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
else
	UNPRIVILEGED=()
fi

# unprivileged CMD...: runs CMD as nobody when the tests run as root, as
# this user otherwise.
unprivileged() {
	"${UNPRIVILEGED[@]}" "$@"
}

# unprivileged_owns DIR: gives DIR (not what is in it) to the user that
# unprivileged runs as.
unprivileged_owns() {
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody:nogroup "$1"
	fi
}
