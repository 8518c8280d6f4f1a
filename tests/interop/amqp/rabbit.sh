# rabbit.sh - Debian's rabbitmq-server for one bats file, the reference
# the AMQP door is compared with.  Loaded after lib.sh with `load
# rabbit.sh`; the file calls rabbit_up in setup_file and rabbit_down in
# teardown_file, since a node takes seconds to start (4 to 6 s on two
# cores, and about 1 s to stop): one node serves every test of the file,
# which therefore name their queues apart.
#
# The node is the file's alone and stays on the loopback: an epmd of its
# own on a free port of 127.0.0.1 (epmd adds ::1 by itself where there
# is IPv6), AMQP and Erlang distribution on free ports of 127.0.0.1, a
# node name of its own, and its database, logs, cookie, configuration
# (empty) and plugins (none) under $BATS_FILE_TMPDIR/rabbit.  Nothing of
# /etc/rabbitmq or /var/lib/rabbitmq is read or written, and Debian's
# rabbitmq-server service is neither used nor touched
# (scripts/install-deps.sh keeps it off).
#
# Without rabbitmq-server each test skips (rabbit_need: bats 1.8 cannot
# skip in setup_file), unless MQ_REQUIRE_SERVE=1 (make check-interop,
# where install-deps.sh --test installed it): then setup_file fails, so
# that a differential test never passes by comparing nothing.

# The script the service's wrapper (/usr/sbin/rabbitmq-server) would run
# as the user rabbitmq in /var/lib/rabbitmq; this one runs in place.  The
# environment may name another.
: "${RABBIT_SERVER:=/usr/lib/rabbitmq/bin/rabbitmq-server}"

# rabbit_up: starts the file's node and waits for its AMQP port:
# RABBIT_PORT; RABBIT_PID (the script, which stops the node when it gets
# SIGTERM), RABBIT_BEAM (the Erlang VM) and RABBIT_EPMD for rabbit_down.
# Exported, since the tests and teardown_file run in other shells.
# Starts nothing when the server under test is not mq-serve (amqp.sh's
# setup skips every test then) or there is no rabbitmq-server to start.
rabbit_up() {
	local dir=$BATS_FILE_TMPDIR/rabbit epmd_port dist_port
	[ -z "${MQ_SERVE_CMD:-}" ] || return 0
	if [ ! -x "$RABBIT_SERVER" ]; then
		if [ "${MQ_REQUIRE_SERVE:-0}" = 1 ]; then
			echo "no $RABBIT_SERVER (MQ_REQUIRE_SERVE=1)" >&2
			return 1
		fi
		return 0
	fi
	mkdir -p "$dir" || return 1
	: > "$dir/rabbitmq.conf" && : > "$dir/env.conf" || return 1
	echo '[].' > "$dir/enabled_plugins" || return 1
	RABBIT_PORT=$(free_port) && epmd_port=$(free_port) &&
	    dist_port=$(free_port) || return 1
	export RABBIT_PORT

	epmd -port "$epmd_port" -address 127.0.0.1 \
	    </dev/null >"$dir/epmd.log" 2>&1 3>&- &
	export RABBIT_EPMD=$!
	wait_port "$epmd_port" "$RABBIT_EPMD" || return 1

	(cd "$dir" && exec env HOME="$dir" \
	    ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" \
	    RABBITMQ_NODENAME="mqtest$$@localhost" \
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT" \
	    RABBITMQ_DIST_PORT="$dist_port" \
	    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
	    RABBITMQ_CONF_ENV_FILE="$dir/env.conf" \
	    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
	    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
	    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
	    RABBITMQ_PLUGINS_EXPAND_DIR="$dir/plugins" \
	    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
	    RABBITMQ_PID_FILE="$dir/pid" \
	    "$RABBIT_SERVER") </dev/null >"$dir/out.log" 2>&1 3>&- &
	export RABBIT_PID=$!
	if ! wait_port "$RABBIT_PORT" "$RABBIT_PID" 60; then
		cat "$dir/out.log" >&2
		return 1
	fi
	RABBIT_BEAM=$(cat "$dir/pid") || return 1
	export RABBIT_BEAM
}

# rabbit_down: stops the node rabbit_up started (the VM first, so that a
# script killed after its 5 s leaves no VM behind), then its epmd.
rabbit_down() {
	local pid
	for pid in ${RABBIT_BEAM:-} ${RABBIT_PID:-} ${RABBIT_EPMD:-}; do
		stop "$pid"
	done
}

# rabbit_need: skips the test when rabbit_up started no node.
rabbit_need() {
	[ -n "${RABBIT_PORT:-}" ] && return 0
	skip "no $RABBIT_SERVER (install-deps.sh --test installs it; MQ_REQUIRE_SERVE=1 makes this a failure)"
}
