/*
 * bench_qdecl.c - declares N queues, then looks each up and declares
 * each again, and prints the time of each round per queue (not a test:
 * the Makefile builds test_*.c only).  See docs/amqp.md:
 *
 *   cc -O2 -g -D_GNU_SOURCE -Ilibmq -o bench_qdecl \
 *       tests/unit/bench_qdecl.c lib/libmq.a -lbsd
 *   ./bench_qdecl 10000
 *
 * The spool is made in a temporary directory and left there (its path
 * is printed), with the default fsync policy.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Declares ('lookup' 0) or looks up each of 'n' queues; seconds taken. */
static double
round_of(mq_spool *sp, long n, int lookup)
{
	static const char args[] = "\0\0\0\x15\x0dx-message-ttlI\0\0\x03\xe8";
	struct mq_queue q, cur;
	char name[64];
	double t = now();
	long i;
	int rc;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "queue.%ld", i);
		memset(&q, 0, sizeof(q));
		q.name = name;
		q.flags = MQ_QDURABLE;
		q.args = args;
		q.argslen = sizeof(args) - 1;
		rc = lookup ? mq_queue_lookup(sp, name, &cur) :
		    mq_queue_declare(sp, &q, 0, &cur, NULL);
		if (rc != MQ_OK)
			errx(1, "%s: %s", name, mq_strerror(rc));
	}
	return now() - t;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/mq-bench.XXXXXX";
	mq_spool *sp;
	long n;
	int rc;

	if (argc != 2 || (n = atol(argv[1])) <= 0)
		errx(2, "usage: bench_qdecl QUEUES");
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	printf("%s\n", dir);
	if ((rc = mq_spool_open(dir, MQ_CREATE, &sp)) != MQ_OK)
		errx(1, "%s: %s", dir, mq_strerror(rc));
	printf("declare (new)   %8.1f us/queue\n", round_of(sp, n, 0) * 1e6 / n);
	printf("lookup          %8.1f us/queue\n", round_of(sp, n, 1) * 1e6 / n);
	printf("declare (again) %8.1f us/queue\n", round_of(sp, n, 0) * 1e6 / n);
	mq_spool_close(sp);
	return 0;
}
