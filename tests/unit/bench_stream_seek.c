/*
 * bench_stream_seek.c - appends N entries to a stream, then opens a
 * reader, seeks to a random offset (or id) and reads one entry, as a
 * serving of an AMQP stream consumer does, and prints the time of each
 * per seek; for comparison, the time to read the stream from its start
 * to the middle (not a test: the Makefile builds test_*.c only).  See
 * docs/amqp.md, "Streams":
 *
 *   cc -O2 -g -D_GNU_SOURCE -Ilibmq -o bench_stream_seek \
 *       tests/unit/bench_stream_seek.c lib/libmq.a -lbsd
 *   ./bench_stream_seek 1000000
 *
 * The spool is made in a temporary directory and left there (its path
 * is printed), with the fsync policy "never": the appends are not what
 * is measured.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mq.h"

#define BATCH	1000
#define SEEKS	10000

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
check(int rc, const char *what)
{
	if (rc != MQ_OK)
		errx(1, "%s: %s", what, mq_strerror(rc));
}

/* Appends 'n' entries of 100 bytes, BATCH at a time. */
static void
fill(mq_stream *st, long n, mq_id *ids)
{
	static char body[100];
	struct mq_msg msgs[BATCH];
	long i, k;

	memset(msgs, 0, sizeof(msgs));
	for (k = 0; k < BATCH; k++) {
		msgs[k].body = body;
		msgs[k].bodylen = sizeof(body);
	}
	for (i = 0; i < n; i += BATCH)
		check(mq_append(st, msgs, n - i < BATCH ? n - i : BATCH, NULL,
		    ids + i), "append");
}

/*
 * Opens a reader, seeks to a random offset ('by_id': to its id) and reads
 * the entry there, SEEKS times; seconds taken per seek.
 */
static double
seeks(mq_stream *st, long n, const mq_id *ids, int by_id)
{
	struct mq_msg msg;
	mq_reader *r;
	double t = now();
	long i, at;

	for (i = 0; i < SEEKS; i++) {
		at = random() % n;
		check(mq_reader_open(st, &r), "reader");
		check(by_id ? mq_reader_seek_id(r, ids[at]) :
		    mq_reader_seek_offset(r, (uint64_t)at), "seek");
		if (mq_reader_next(r, &msg) != 1 || msg.offset != (uint64_t)at)
			errx(1, "offset %ld: read wrong", at);
		mq_reader_close(r);
	}
	return (now() - t) / SEEKS;
}

/* Reads from the start to offset 'to'; seconds taken. */
static double
scan(mq_stream *st, long to)
{
	struct mq_msg msg;
	mq_reader *r;
	double t = now();

	check(mq_reader_open(st, &r), "reader");
	while (mq_reader_next(r, &msg) == 1 && msg.offset < (uint64_t)to)
		;
	mq_reader_close(r);
	return now() - t;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/mq-bench.XXXXXX";
	struct mq_stream_info si;
	mq_spool *sp;
	mq_stream *st;
	mq_id *ids;
	long n;

	if (argc != 2 || (n = atol(argv[1])) <= 0)
		errx(2, "usage: bench_stream_seek ENTRIES");
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	printf("%s\n", dir);
	if ((ids = calloc((size_t)n, sizeof(*ids))) == NULL)
		err(1, "calloc");
	check(mq_spool_open(dir, MQ_CREATE, &sp), dir);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	check(mq_stream_open(sp, "s", MQ_CREATE, &st), "s");
	fill(st, n, ids);
	check(mq_stream_info(st, &si), "info");
	printf("%llu entries, %llu segments\n",
	    (unsigned long long)si.length, (unsigned long long)si.segments);
	printf("open, seek by offset, read  %8.1f us\n",
	    seeks(st, n, ids, 0) * 1e6);
	printf("open, seek by id, read      %8.1f us\n",
	    seeks(st, n, ids, 1) * 1e6);
	printf("read from the start to n/2  %8.1f ms\n", scan(st, n / 2) * 1e3);
	mq_stream_close(st);
	mq_spool_close(sp);
	free(ids);
	return 0;
}
