/*
 * syncer.c - fsync off the loop's thread.
 *
 * An fdatasync(2) of a busy segment can take tens of milliseconds; done
 * by the loop, it would stall every client for that long.  So the loop
 * only takes the set of files written since the last sync
 * (mq_spool_take_dirty: duplicates, safe to use after the loop has
 * closed its own) and hands it to one thread that makes it durable: a
 * few files with a fdatasync each, more with one syncfs(2) (libmq's
 * dirty.c), so that a turn that wrote to 800 streams costs one journal
 * commit, not 800.
 *
 * "interval": the one-second timer hands the list over; if the thread is
 * still busy with the last one, the two are merged, so the disk is never
 * asked for more than one sync at a time, and a write is durable at most
 * an interval plus one sync late.
 *
 * "always": every turn of the loop that has replies to send hands the
 * list of what was written over as sync number N (syncer_turn), and the
 * replies of that turn wait for it (conn_gate: a connection's bytes up to
 * its current end wait for N); what turns without replies wrote (an AMQP
 * consumer's deliveries and acks, an unconfirmed publish) waits for the
 * next such turn, or for the one-second timer (sync_due);
 * while the thread syncs, the loop goes on reading and running commands,
 * and what the following turns write becomes the next sync, handed over
 * when this one is done (group commit, with the disk always busy).  The
 * thread tells the loop through an eventfd; conn_release then lets the
 * replies of sync N out.  A reply that only reads waits too, for the
 * sync under way, since what it read may be what that sync covers.  If a
 * sync fails, the connections waiting for it are closed: their replies
 * would say done for writes that may not be on the disk.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

struct syncer {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	struct mq_dirty	 handed;	/* handed over, not yet taken by the thread */
	int		 stop;
	struct server	*server;
	/* "always": the sync numbers asked for and done, told by 'efd'. */
	int		 efd;
	uint64_t	 gen_asked, gen_done;
	int		 failed;
};

/* Makes 'd' durable and empties it; returns 1 if a sync failed (logged). */
static int
sync_dirty(struct server *s, struct mq_dirty *d)
{
	if (mq_dirty_sync(d) == MQ_OK)
		return 0;
	server_log(s, "fsync: %s", strerror(errno));
	return 1;
}

static void *
syncer_main(void *arg)
{
	struct syncer *y = arg;
	struct mq_dirty d, t;
	uint64_t gen, one = 1;
	int failed;

	mq_dirty_init(&d);
	pthread_mutex_lock(&y->lock);
	for (;;) {
		while (mq_dirty_empty(&y->handed) && !y->stop)
			pthread_cond_wait(&y->wake, &y->lock);
		if (mq_dirty_empty(&y->handed))
			break;	/* stopping, and nothing left */
		/* Takes the set, leaving the thread's empty one in its place. */
		t = y->handed;
		y->handed = d;
		d = t;
		gen = y->gen_asked;
		pthread_mutex_unlock(&y->lock);
		failed = sync_dirty(y->server, &d);
		pthread_mutex_lock(&y->lock);
		y->gen_done = gen;
		y->failed |= failed;
		if (y->efd != -1)
			(void)write(y->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&y->lock);
	mq_dirty_free(&d);
	return NULL;
}

/* The thread did a sync ("always"): its replies may go. */
static void
sync_done(struct loop *loop, int fd, int events, void *arg)
{
	struct server *s = arg;
	struct syncer *y = s->syncer;
	uint64_t count, done;
	int failed;

	(void)read(fd, &count, sizeof(count));
	pthread_mutex_lock(&y->lock);
	done = y->gen_done;
	failed = y->failed;
	y->failed = 0;
	pthread_mutex_unlock(&y->lock);
	if (done == s->sync_inflight)
		s->sync_busy = 0;
	conn_release(s, done, failed);
	/* The next sync is handed over by this turn's syncer_turn. */
}

int
syncer_start(struct server *s, int notify)
{
	struct syncer *y;

	if ((y = calloc(1, sizeof(*y))) == NULL)
		return -1;
	y->server = s;
	y->efd = -1;
	if (notify && ((y->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_add(s->loop, y->efd, LOOP_READ, sync_done, s) == -1)) {
		if (y->efd != -1)
			close(y->efd);
		free(y);
		return -1;
	}
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->wake, NULL);
	if ((errno = pthread_create(&y->thread, NULL, syncer_main, y)) != 0) {
		if (y->efd != -1) {
			loop_del(s->loop, y->efd);
			close(y->efd);
		}
		free(y);
		return -1;
	}
	s->syncer = y;
	return 0;
}

/*
 * Hands what 'd' holds over as sync 'gen', added to what the thread has
 * not taken yet; 'd' is left empty.
 */
static void
hand_over(struct server *s, struct mq_dirty *d, uint64_t gen)
{
	struct syncer *y = s->syncer;

	pthread_mutex_lock(&y->lock);
	if (mq_dirty_merge(&y->handed, d) != MQ_OK)
		server_log(s, "fsync: %s", strerror(errno));
	y->gen_asked = gen;
	pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
}

void
syncer_turn(struct server *s)
{
	int had = !mq_dirty_empty(&s->sync_pend);

	/*
	 * Writes that no reply of this turn acknowledges (deliveries and
	 * acks of AMQP consumers) wait for the next turn that has a reply,
	 * or for the second's timer (sync_due), rather than cost a sync of
	 * their own: a crash before it gives their messages out again.
	 */
	if ((s->sync_due || conn_replies_waiting(s)) &&
	    mq_spool_take_dirty(s->spool, &s->sync_pend) != MQ_OK)
		server_log(s, "fsync: %s", strerror(errno));
	s->sync_due = 0;
	if (!had && !mq_dirty_empty(&s->sync_pend))
		s->sync_gen++;	/* a new sync begins to gather */
	if (!s->sync_busy && !mq_dirty_empty(&s->sync_pend)) {
		hand_over(s, &s->sync_pend, s->sync_gen);
		s->sync_busy = 1;
		s->sync_inflight = s->sync_gen;
	}
	/* This turn's replies wait for the newest sync not yet done. */
	conn_gate(s, !mq_dirty_empty(&s->sync_pend) ? s->sync_gen :
	    s->sync_busy ? s->sync_inflight : 0);
}

void
syncer_submit(struct server *s)
{
	struct mq_dirty d;

	mq_dirty_init(&d);
	if (mq_spool_take_dirty(s->spool, &d) != MQ_OK)
		server_log(s, "fsync: %s", strerror(errno));
	if (mq_dirty_empty(&d))
		return;
	if (s->syncer == NULL)
		(void)sync_dirty(s, &d);	/* no thread: here */
	else
		hand_over(s, &d, s->syncer->gen_asked);
	mq_dirty_free(&d);
}

void
syncer_stop(struct server *s)
{
	struct syncer *y = s->syncer;

	if (y == NULL)
		return;
	syncer_submit(s);	/* the last writes too */
	(void)sync_dirty(s, &s->sync_pend);
	mq_dirty_free(&s->sync_pend);
	pthread_mutex_lock(&y->lock);
	y->stop = 1;
	pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	pthread_mutex_destroy(&y->lock);
	pthread_cond_destroy(&y->wake);
	mq_dirty_free(&y->handed);
	if (y->efd != -1) {
		loop_del(s->loop, y->efd);
		close(y->efd);
	}
	free(y);
	s->syncer = NULL;
}
