/*
 * bench_exchange.c - routes through a direct and a topic exchange of 100
 * bindings each, for callgrind to count what one route costs (not a
 * test: the Makefile builds test_*.c only).  See docs/exchanges.md:
 *
 *   cc -O2 -g -D_GNU_SOURCE -Ilibmq -o bench_exchange \
 *       tests/unit/bench_exchange.c lib/libmq.a -lbsd
 *   valgrind --tool=callgrind --toggle-collect=mq_exchange_route \
 *       ./bench_exchange direct 100000
 *
 * and the instructions counted divided by the routes.  The spool is made
 * in a temporary directory and left there (its path is printed).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq.h"

static void
bind(mq_spool *sp, const char *x, const char *queue, const char *key)
{
	struct mq_binding b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.source = x;
	b.dkind = MQ_DEST_QUEUE;
	b.dest = queue;
	b.key = key;
	if ((rc = mq_exchange_bind(sp, &b)) != MQ_OK)
		errx(1, "bind %s: %s", key, mq_strerror(rc));
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/mq-bench.XXXXXX", key[64], queue[64];
	const char *const *q;
	const char *x, *route;
	mq_spool *sp;
	long i, n;
	size_t nq, total = 0;
	int rc;

	if (argc != 3 || (strcmp(argv[1], "direct") != 0 &&
	    strcmp(argv[1], "topic") != 0))
		errx(2, "usage: bench_exchange direct|topic ROUTES");
	n = atol(argv[2]);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	if ((rc = mq_spool_open(dir, MQ_CREATE, &sp)) != MQ_OK)
		errx(1, "%s: %s", dir, mq_strerror(rc));
	if (strcmp(argv[1], "direct") == 0) {
		x = "amq.direct";
		route = "order.42";
		for (i = 0; i < 100; i++) {
			snprintf(key, sizeof(key), "order.%ld", i);
			snprintf(queue, sizeof(queue), "q%ld", i);
			bind(sp, x, queue, key);
		}
	} else {
		/* Half "stock.N.*", half "#.eu.N": one of each matches. */
		x = "amq.topic";
		route = "stock.42.eu.7";
		for (i = 0; i < 100; i++) {
			if (i < 50)
				snprintf(key, sizeof(key), "stock.%ld.*.*", i);
			else
				snprintf(key, sizeof(key), "#.eu.%ld", i - 50);
			snprintf(queue, sizeof(queue), "q%ld", i);
			bind(sp, x, queue, key);
		}
	}
	for (i = 0; i < n; i++) {
		if ((rc = mq_exchange_route(sp, x, route, NULL, NULL, &q,
		    &nq)) != MQ_OK)
			errx(1, "route: %s", mq_strerror(rc));
		total += nq;
	}
	printf("%s: %ld routes, %zu queues in all, spool %s\n", argv[1], n,
	    total, dir);
	mq_spool_close(sp);
	return 0;
}
