#!/bin/sh
# install-deps.sh - install the Debian packages mq needs, and only those missing.
#
#   sh scripts/install-deps.sh           build dependencies
#   sh scripts/install-deps.sh --test    build and test dependencies, and the
#                                        real servers and clients of tests/interop
#   sh scripts/install-deps.sh --bench   build dependencies and the brokers
#                                        the benchmarks compare against
#
# Each package is checked with dpkg-query.  Only if one is missing does
# it run apt-get update (once) and apt-get install of the missing ones;
# when everything is there it prints nothing and exits 0.  Installing
# needs root: otherwise it names what to install and exits 1.
#
# To add a dependency, add its Debian package name to one of these lists.

BUILD_PKGS="build-essential pkg-config libbsd-dev libcrypt-dev libsodium-dev"
TEST_PKGS="libcmocka-dev bats mandoc clang libclang-rt-14-dev jq zsh"
BENCH_PKGS="redis-server redis-tools python3 rabbitmq-server librabbitmq-dev"
# tests/interop: the reference servers and real clients (php-redis is the
# extension Symfony's Redis transport runs on; pika, php-amqplib, php-amqp
# and amqp-tools are AMQP clients; rabbitmq-server is the reference of the
# AMQP door's differential test).
INTEROP_PKGS="redis-server redis-tools python3 python3-redis php-cli php-nrk-predis php-redis php-symfony-redis-messenger php-symfony-amqp-messenger python3-pika php-amqplib php-amqp amqp-tools rabbitmq-server"
#
# Installing rabbitmq-server starts it as a service on 0.0.0.0:5672, with
# Erlang's epmd (package erlang-base) on port 4369 of every address, both
# enabled at boot.  The tests start their own on 127.0.0.1 and free ports
# (tests/interop/amqp/rabbit.sh) and need neither service.  So while the
# packages are installed a policy-rc.d refuses every service start (unless
# the machine has a policy-rc.d already, which then decides), and the
# services of packages installed now are then disabled and, under systemd,
# stopped: nothing new listens, now or after a reboot.

set -eu

prog=install-deps

usage() {
	echo "usage: sh scripts/install-deps.sh [--test | --bench]"
}

want=$BUILD_PKGS
case $# in
0)	;;
1)	case $1 in
	--test)		want="$BUILD_PKGS $TEST_PKGS $INTEROP_PKGS" ;;
	--bench)	want="$BUILD_PKGS $BENCH_PKGS" ;;
	-h|--help)	usage; exit 0 ;;
	*)		usage >&2; exit 2 ;;
	esac ;;
*)	usage >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "$prog: no dpkg-query (not Debian?); make sure these are installed: $want" >&2
	exit 0
fi

# installed PACKAGE: whether dpkg has PACKAGE in the state "... installed"
# (not "config-files", "half-installed", or unknown to dpkg).
installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*" installed")	return 0 ;;
	*)		return 1 ;;
	esac
}

missing=
for p in $want; do
	installed "$p" || missing="$missing $p"
done
missing=${missing# }

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "$prog: missing packages: $missing" >&2
	echo "$prog: as root run: apt-get install $missing" >&2
	exit 1
fi

# The services that packages installed now would start (see above): the
# units of rabbitmq-server and of epmd, if their package is new.
services=
case " $missing " in
*" rabbitmq-server "*)
	services=rabbitmq-server.service
	installed erlang-base || services="$services epmd.socket epmd.service" ;;
esac

policy=/usr/sbin/policy-rc.d
if [ -n "$services" ] && [ ! -e "$policy" ]; then
	# 101: "action forbidden", for invoke-rc.d and deb-systemd-invoke.
	printf '#!/bin/sh\n# %s: no service starts while installing\nexit 101\n' \
	    "$prog" > "$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 1' HUP INT TERM
fi

echo "$prog: installing: $missing" >&2
apt-get update
# $missing is a list of package names: split it on purpose.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

for unit in $services; do
	echo "$prog: disabling the service $unit" >&2
	deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true
	if [ -d /run/systemd/system ]; then
		systemctl stop "$unit" >/dev/null 2>&1 || true
	fi
done
# Without systemd, the init script's links.
case $services in
rabbitmq-server.service*) update-rc.d rabbitmq-server disable >/dev/null 2>&1 || true ;;
esac
