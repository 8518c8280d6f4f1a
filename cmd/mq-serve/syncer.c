/*
 * syncer.c - the interval fsync policy, off the loop's thread.
 *
 * An fdatasync(2) of a busy segment can take tens of milliseconds; done
 * by the loop, it would stall every client for that long once a second.
 * So the loop only takes the list of descriptors written since the last
 * sync (mq_spool_take_dirty: duplicates, safe to use after the loop has
 * closed its own) and hands it to one thread that syncs and closes them.
 * If the thread is still busy with the last list when the next comes,
 * the two are merged: the disk is never asked for more than one sync at a
 * time, and a write is durable at most an interval plus one sync late.
 *
 * The "always" policy stays on the loop: there the replies wait for the
 * sync anyway (group commit, one sync per turn, in server.c).
 */
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
	int		*fds;		/* handed over, not yet taken by the thread */
	size_t		 n, cap;
	int		 stop;
	struct server	*server;
};

static void *
syncer_main(void *arg)
{
	struct syncer *y = arg;
	int *fds;
	size_t n, i;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		while (y->n == 0 && !y->stop)
			pthread_cond_wait(&y->wake, &y->lock);
		if (y->n == 0)
			break;	/* stopping, and nothing left */
		fds = y->fds;
		n = y->n;
		y->fds = NULL;
		y->n = y->cap = 0;
		pthread_mutex_unlock(&y->lock);
		for (i = 0; i < n; i++) {
			if (fdatasync(fds[i]) == -1)
				server_log(y->server, "fsync: %s", strerror(errno));
			close(fds[i]);
		}
		free(fds);
		pthread_mutex_lock(&y->lock);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

int
syncer_start(struct server *s)
{
	struct syncer *y;

	if ((y = calloc(1, sizeof(*y))) == NULL)
		return -1;
	y->server = s;
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->wake, NULL);
	if ((errno = pthread_create(&y->thread, NULL, syncer_main, y)) != 0) {
		free(y);
		return -1;
	}
	s->syncer = y;
	return 0;
}

void
syncer_submit(struct server *s)
{
	struct syncer *y = s->syncer;
	int *fds, *nf;
	size_t n, i;

	if (mq_spool_take_dirty(s->spool, &fds, &n) != MQ_OK || n == 0)
		return;
	if (y == NULL) {
		/* No thread (it failed to start): sync here. */
		for (i = 0; i < n; i++) {
			fdatasync(fds[i]);
			close(fds[i]);
		}
		free(fds);
		return;
	}
	pthread_mutex_lock(&y->lock);
	if (y->n == 0) {
		y->fds = fds;
		y->n = y->cap = n;
		fds = NULL;
	} else if ((nf = reallocarray(y->fds, y->n + n, sizeof(*nf))) != NULL) {
		memcpy(nf + y->n, fds, n * sizeof(*nf));
		y->fds = nf;
		y->n += n;
		y->cap = y->n;
	} else {
		/* No memory to merge: these are synced here. */
		pthread_mutex_unlock(&y->lock);
		for (i = 0; i < n; i++) {
			fdatasync(fds[i]);
			close(fds[i]);
		}
		free(fds);
		return;
	}
	pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
	free(fds);
}

void
syncer_stop(struct server *s)
{
	struct syncer *y = s->syncer;

	if (y == NULL)
		return;
	syncer_submit(s);	/* the last writes too */
	pthread_mutex_lock(&y->lock);
	y->stop = 1;
	pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	pthread_mutex_destroy(&y->lock);
	pthread_cond_destroy(&y->wake);
	free(y);
	s->syncer = NULL;
}
