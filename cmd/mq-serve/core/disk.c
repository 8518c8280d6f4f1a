/*
 * disk.c - the spool's disk as appends see it: full or not, logged when
 * that changes rather than at each append it refuses.
 *
 * Model: appends report their outcome here: the run of appends each
 * flush's (appendq.c), a sorted set's add its own, the write-ahead
 * log's ticks their MQ_ENOSPC (server.c), and a door each MQ_ENOSPC it
 * turns into an error for a client, whatever path the append took.  The
 * first MQ_ENOSPC marks the disk full and logs it; an append that
 * succeeds once none has failed for DISK_QUIET_MS marks it writable
 * again and logs that.  The wait is there because "full" is not one
 * state for all appends: libmq keeps MQ_FREE_RESERVE free, and looks at
 * the free space once a megabyte written to a file (and at each append
 * once it found too little), so near the reserve some appends succeed
 * while others fail, and without it the log would say so at every turn.
 *
 * Before that, the disk is nearly full: less than the reserve plus
 * DISK_LOW_MARGIN free, looked at every DISK_WATCH_MS (one fstatvfs a
 * second, as RabbitMQ's disk monitor looks at its free space).  The
 * doors hear when it becomes so and when it has room again, and tell
 * the publishers that can hear it (AMQP's connection.blocked) before
 * their appends start failing.
 */
#include "server.h"

#define DISK_QUIET_MS	1000
#define DISK_WATCH_MS	1000
#define DISK_LOW_MARGIN	(4u << 20)

void
server_appended(struct server *s, int rc)
{
	if (rc == MQ_ENOSPC) {
		s->disk_failed_ms = loop_now_ms(s->loop);
		if (!s->disk_full)
			server_log(s, "spool disk full: appends fail (%s) until "
			    "space is freed", mq_strerror(rc));
		s->disk_full = 1;
	} else if (rc == MQ_OK && s->disk_full &&
	    loop_now_ms(s->loop) - s->disk_failed_ms >= DISK_QUIET_MS) {
		server_log(s, "spool disk writable again: appends succeed");
		s->disk_full = 0;
	}
}

static void
disk_timer(struct loop *loop, void *arg)
{
	struct server *s = arg;
	uint64_t avail, reserve;
	int low;

	if (mq_spool_avail(s->spool, &avail, &reserve) == MQ_OK) {
		low = avail < reserve + DISK_LOW_MARGIN;
		if (low != s->disk_low) {
			server_log(s, low ? "spool disk nearly full: %llu bytes "
			    "free, publishers told to wait" : "spool disk has "
			    "room again: %llu bytes free, publishers told to "
			    "go on", (unsigned long long)avail);
			s->disk_low = low;
			listeners_disk_low(s, low);
		}
	}
	loop_timer_add(loop, DISK_WATCH_MS, disk_timer, s);
}

void
server_disk_watch(struct server *s)
{
	disk_timer(s->loop, s);
}
