#!/usr/bin/env bats
# libmq-examples.bats: the examples of libmq(3) build and run as written.
#
# The page's programs are taken from it (tests/man-examples.sh -b), built
# with the page's own build line against a copy of libmq installed with
# `make install DESTDIR=...` (pkg-config finds it there), and run on a
# spool of their own.  The one example that is a fragment (following a
# stream with a watch) is put, as written, in a main() that makes the
# variables it uses, as the text around it says.

load helpers

setup_file() {
	local root=$BATS_FILE_TMPDIR/root

	# The plain build's library, even under the make of the sanitizer
	# run, whose O, B and SANFLAGS come in the environment and MAKEFLAGS.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -C "$REPO" -s install O=build B=. SANFLAGS= \
	    DESTDIR="$root" PREFIX=/usr > "$BATS_FILE_TMPDIR/install.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
	export PKG_CONFIG_SYSROOT_DIR=$root
	export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
	export LD_LIBRARY_PATH=$root/usr/lib
}

# build N FILE: the Nth block of libmq(3)'s EXAMPLES, in FILE.c, built
# with the page's build line (block 4) into FILE.
build() {
	sh "$REPO/tests/man-examples.sh" -b "$1" "$REPO/man/libmq.3" > "$2.c"
	[ -s "$2.c" ]
	sh "$REPO/tests/man-examples.sh" -b 4 "$REPO/man/libmq.3" |
	    sed -e "s/reader/$2/g" > build.sh
	grep -q '^cc ' build.sh
	sh -e build.sh
}

@test "libmq(3): the first program appends an order and reads the stream" {
	build 1 append
	run ./append
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^appended\ [0-9]+-0$ ]]
	[ "${lines[1]}" = "${lines[0]#appended }$(printf '\torder 1')" ]
	[ "$(mq-xrange orders | cut -f2)" = 'order 1' ]
}

@test "libmq(3): the consumer reads, acknowledges, and stops when idle" {
	mq-xadd -q orders a b
	build 3 reader
	run timeout 60 ./reader
	[ "$status" -eq 0 ]
	[ "$(cut -f2 <<< "$output" | paste -sd' ')" = "a b" ]
	[ -z "$(mq-xpending orders billing)" ]
}

@test "libmq(3): the fragment that follows a stream wakes on an append" {
	{
		cat <<-'EOF'
		#include <err.h>
		#include <errno.h>
		#include <stdio.h>
		#include <stdlib.h>
		#include <mq.h>

		/* What the example hands each message to: print it, done. */
		static void
		handle(const struct mq_msg *msg)
		{
			printf("%.*s\n", (int)msg->bodylen, (const char *)msg->body);
			exit(0);
		}

		int
		main(void)
		{
			mq_spool *spool;
			mq_stream *stream;
			mq_reader *reader;
			struct mq_msg msg;
			int rc;

			if ((rc = mq_spool_open(mq_spool_default(), MQ_CREATE,
			    &spool)) != MQ_OK ||
			    (rc = mq_stream_open(spool, "orders", MQ_CREATE,
			    &stream)) != MQ_OK ||
			    (rc = mq_reader_open(stream, &reader)) != MQ_OK)
				errx(1, "%s", mq_strerror(rc));
		EOF
		# Ready once it watches and stands at the end: an append
		# before that would be skipped, not waited for.
		sh "$REPO/tests/man-examples.sh" -b 2 "$REPO/man/libmq.3" |
		    sed -e '/mq_reader_seek_end(reader);/a\
	fputs("ready\\n", stderr);'
		echo '}'
	} > follow.c
	sh "$REPO/tests/man-examples.sh" -b 4 "$REPO/man/libmq.3" |
	    sed -e 's/reader/follow/g' > build.sh
	sh -e build.sh
	mq-xadd -q orders old
	mkfifo ready
	timeout 60 ./follow 2> ready > out &
	read -r _ < ready
	mq-xadd -q orders new
	wait $!
	[ "$(cat out)" = new ]
}
