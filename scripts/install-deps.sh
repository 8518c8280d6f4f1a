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
# tests/interop: the reference server and real clients (php-redis is the
# extension Symfony's Redis transport runs on; pika, php-amqplib and
# amqp-tools are AMQP clients).
INTEROP_PKGS="redis-server redis-tools python3 python3-redis php-cli php-nrk-predis php-redis php-symfony-redis-messenger python3-pika php-amqplib amqp-tools"

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

# A package counts as present only in the state "... installed" (not
# "config-files", "half-installed", or unknown to dpkg).
missing=
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
	case $status in
	*" installed")	;;
	*)		missing="$missing $p" ;;
	esac
done
missing=${missing# }

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "$prog: missing packages: $missing" >&2
	echo "$prog: as root run: apt-get install $missing" >&2
	exit 1
fi

echo "$prog: installing: $missing" >&2
apt-get update
# $missing is a list of package names: split it on purpose.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
