/*
 * liveness.c - what watching for dead consumers and leases costs a read.
 *
 * usage: liveness SPOOL ATTACHED PENDING READS
 *
 * In a fresh stream of the spool SPOOL: ATTACHED child processes each
 * attach a consumer of the group "g" (mq_group_attach), take one entry
 * and keep it, living on; the consumer "pipe", not attached, takes
 * PENDING entries and keeps them (as a pipeline's reader leaves them to
 * its worker; their lease has not ended).  Then this process, consumer
 * "r", reads one entry and acknowledges it, READS times, and prints the
 * time that took per read and ack, and the system calls per read that
 * the liveness checks add (one open, flock and close per attached
 * consumer with entries, none for the lease until it may have ended).
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
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Appends 'n' small entries to 's', in batches. */
static void
fill(mq_stream *s, long n)
{
	static struct mq_msg m[1024];
	long done, k, i;
	int rc;

	for (i = 0; i < 1024; i++) {
		m[i].body = "an entry of the benchmark";
		m[i].bodylen = strlen(m[i].body);
	}
	for (done = 0; done < n; done += k) {
		k = n - done < 1024 ? n - done : 1024;
		if ((rc = mq_append(s, m, (size_t)k, NULL, NULL)) != MQ_OK)
			errx(1, "append: %s", mq_strerror(rc));
	}
}

/* In a child: attaches 'name', keeps one entry, says so on 'fd', waits. */
static void
holder(const char *dir, const char *name, int fd)
{
	struct mq_msg m;
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;
	size_t n;

	if (mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    mq_stream_open(sp, "s", 0, &s) != MQ_OK ||
	    mq_group_open(s, "g", &g) != MQ_OK ||
	    mq_group_attach(g, name) < 0 ||
	    mq_group_read(g, name, 1, 0, &m, &n) != MQ_OK || n != 1 ||
	    write(fd, "x", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

int
main(int argc, char *argv[])
{
	static struct mq_msg m[1024];
	long attached, pending, reads, i;
	pid_t *pids;
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;
	char name[32], c;
	long long t0, t1;
	size_t n, done, left;
	int p[2], rc;

	if (argc != 5)
		errx(2, "usage: liveness SPOOL ATTACHED PENDING READS");
	attached = atol(argv[2]);
	pending = atol(argv[3]);
	reads = atol(argv[4]);
	if ((rc = mq_spool_open(argv[1], MQ_CREATE, &sp)) != MQ_OK ||
	    (rc = mq_stream_open(sp, "s", MQ_CREATE, &s)) != MQ_OK)
		errx(1, "%s: %s", argv[1], mq_strerror(rc));
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	fill(s, attached + pending + reads);
	if ((rc = mq_group_create(s, "g", (mq_id){ 0, 0 }, 0)) != MQ_OK ||
	    (rc = mq_group_open(s, "g", &g)) != MQ_OK)
		errx(1, "group: %s", mq_strerror(rc));

	if ((pids = calloc(attached + 1, sizeof(*pids))) == NULL || pipe(p))
		err(1, "setup");
	for (i = 0; i < attached; i++) {
		snprintf(name, sizeof(name), "w%ld", i);
		fflush(NULL);
		if ((pids[i] = fork()) == 0)
			holder(argv[1], name, p[1]);
		if (pids[i] == -1 || read(p[0], &c, 1) != 1)
			errx(1, "holder %ld did not start", i);
	}
	for (left = (size_t)pending; left > 0; left -= n)
		if ((rc = mq_group_read(g, "pipe", left < 1024 ? left : 1024,
		    0, m, &n)) != MQ_OK || n == 0)
			errx(1, "pipe: %s", mq_strerror(rc));

	t0 = now_ns();
	for (i = 0; i < reads; i++) {
		if ((rc = mq_group_read(g, "r", 1, 0, m, &n)) != MQ_OK ||
		    n != 1 || (rc = mq_group_ack(g, &m[0].id, 1, &done)) !=
		    MQ_OK)
			errx(1, "read %ld: %s", i, n != 1 ? "nothing" :
			    mq_strerror(rc));
	}
	t1 = now_ns();
	printf("attached %ld, pending %ld: %.1f us per read and ack\n",
	    attached, pending, (double)(t1 - t0) / reads / 1000);

	for (i = 0; i < attached; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	mq_group_close(g);
	mq_stream_close(s);
	mq_spool_close(sp);
	return 0;
}
