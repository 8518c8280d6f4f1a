/*
 * latency.c - wake-up latency from an append in one process to the
 * output of a blocked mq-xreadgroup in another.
 *
 * usage: latency MQ_XREADGROUP SPOOL SAMPLES
 *
 * Starts "MQ_XREADGROUP -f g c lat" with its stdout on a pipe, then,
 * SAMPLES times: appends one message whose body is the monotonic clock
 * in nanoseconds (libmq, this process), and reads the line the reader
 * prints; the difference to the clock at that moment is one sample.
 * Prints p50, p99 and max in microseconds.  One message is in flight at
 * a time, so the reader is always blocked when the append comes.
 */
#include <sys/wait.h>

#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq.h"

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	char line[256], body[32];
	long long *lat;
	mq_spool *sp;
	mq_stream *s;
	struct mq_msg m;
	FILE *in;
	int p[2], n, i;
	pid_t pid;

	if (argc != 4 || (n = atoi(argv[3])) <= 0)
		errx(2, "usage: latency MQ_XREADGROUP SPOOL SAMPLES");
	if (mq_spool_open(argv[2], MQ_CREATE, &sp) != MQ_OK ||
	    mq_stream_open(sp, "lat", MQ_CREATE, &s) != MQ_OK ||
	    mq_group_create(s, "g", MQ_ID_LAST, -1) != MQ_OK)
		errx(1, "cannot set up stream 'lat' in %s", argv[2]);
	if (pipe(p) == -1)
		err(1, "pipe");
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		setenv("MQ_SPOOL", argv[2], 1);
		execl(argv[1], argv[1], "-f", "g", "c", "lat", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	lat = calloc((size_t)n + 10, sizeof(*lat));
	memset(&m, 0, sizeof(m));
	/* Ten rounds of warm-up, not counted. */
	for (i = -10; i < n; i++) {
		long long sent, got;
		char *tab;

		/* Let the reader block again before the next append. */
		usleep(2000);
		snprintf(body, sizeof(body), "%lld", now_ns());
		m.body = body;
		m.bodylen = strlen(body);
		if (mq_append(s, &m, 1, NULL, NULL) != MQ_OK)
			errx(1, "append failed");
		if (fgets(line, sizeof(line), in) == NULL)
			errx(1, "reader ended");
		got = now_ns();
		if ((tab = strchr(line, '\t')) == NULL)
			errx(1, "unexpected line: %s", line);
		sent = atoll(tab + 1);
		if (i >= 0)
			lat[i] = got - sent;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("wake-up latency over %d samples: p50 %.0f us, p99 %.0f us, max %.0f us\n",
	    n, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3);
	mq_stream_close(s);
	mq_spool_close(sp);
	return 0;
}
