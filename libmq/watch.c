/*
 * watch.c - waiting for appends without polling.
 *
 * A watch is an inotify descriptor with one watch per stream directory:
 * every append, delete or trim writes a file in that directory, and the
 * kernel reports it at once, whichever process wrote.  A reader adds its
 * streams before it reads, so an append between its last read and its
 * wait is never missed: the event is already queued.
 *
 * The groups/ directory is watched too: a journal written (a nack makes
 * an entry deliverable again), and the close of a read-only descriptor
 * of a liveness file ("@..."), which is how the death of an attached
 * consumer's reader shows (live.c).  Other read-only closes in that
 * directory (of the directory itself, say) are not a change: draining
 * says whether anything but those came.
 *
 * The spool's write-ahead log is watched as well, once for all streams:
 * an append made through it writes no file of the stream (wal.c).
 *
 * The kernel keeps one watch per directory, whatever the number of
 * handles that added it: mq_watch_remove() ends it for all of them.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"

#define WATCH_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | \
	IN_MOVE_SELF | IN_ATTRIB)
#define GROUPS_MASK (IN_MODIFY | IN_CREATE | IN_CLOSE_NOWRITE)

struct mq_watch {
	int	 fd;
};

int
mq_watch_open(mq_watch **out)
{
	mq_watch *w;

	if ((w = malloc(sizeof(*w))) == NULL)
		return mq_sys();
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		int rc = mq_sys();

		free(w);
		return rc;
	}
	*out = w;
	return MQ_OK;
}

void
mq_watch_close(mq_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	free(w);
}

/*
 * The spool's write-ahead log, where appends through it land (wal.c):
 * one watch for all streams, kept once added.  None in a process that
 * may only read: it does not apply what is logged.
 */
static int
watch_wal(mq_watch *w, mq_spool *sp)
{
	char path[64];
	int fd;

	if ((fd = mq_wal_fd(sp)) == -1)
		return MQ_OK;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (inotify_add_watch(w->fd, path, IN_MODIFY) == -1)
		return mq_sys();
	return MQ_OK;
}

int
mq_watch_add(mq_watch *w, mq_stream *s)
{
	char path[64];

	/* The stream's directory, by its descriptor: no path to race on. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->dirfd);
	if (inotify_add_watch(w->fd, path, WATCH_MASK) == -1)
		return mq_sys();
	/* Group journals too: a nack makes an entry deliverable again. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/groups", s->dirfd);
	if (inotify_add_watch(w->fd, path, GROUPS_MASK) == -1 &&
	    errno != ENOENT)
		return mq_sys();
	return watch_wal(w, s->spool);
}

/*
 * inotify gives no watch descriptor back by path; adding the same inode
 * again with the same mask changes nothing and returns the one it has.
 */
static int
watch_rm(mq_watch *w, const char *path, uint32_t mask)
{
	int wd;

	if ((wd = inotify_add_watch(w->fd, path, mask)) == -1)
		return errno == ENOENT ? MQ_OK : mq_sys();
	if (inotify_rm_watch(w->fd, wd) == -1)
		return mq_sys();
	return MQ_OK;
}

int
mq_watch_remove(mq_watch *w, mq_stream *s)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->dirfd);
	if ((rc = watch_rm(w, path, WATCH_MASK)) != MQ_OK)
		return rc;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/groups", s->dirfd);
	return watch_rm(w, path, GROUPS_MASK);
}

int
mq_watch_spool(mq_watch *w, mq_spool *sp)
{
	char path[64];

	/* New streams are renamed into streams/ whole (stream.c). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sp->streamsfd);
	if (inotify_add_watch(w->fd, path, IN_CREATE | IN_MOVED_TO) == -1)
		return mq_sys();
	return watch_wal(w, sp);
}

int
mq_watch_fd(const mq_watch *w)
{
	return w->fd;
}

/* Whether event 'ev' says that something a reader waits for changed. */
static int
watch_relevant(const struct inotify_event *ev)
{
	/* A watch removed: its directory's own events, if any, came too. */
	if (ev->mask & IN_IGNORED)
		return 0;
	if (!(ev->mask & IN_CLOSE_NOWRITE))
		return 1;
	/* Only the holder of a liveness file closes it read-only. */
	return ev->len > 0 && ev->name[0] == '@';
}

/* Reads away the queued events; 1 if any of them was a change. */
static int
watch_drain(mq_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int any = 0;
	ssize_t n, off;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n && !any; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			any = watch_relevant(ev);
		}
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		return mq_sys();
	return any;
}

int
mq_watch_wait(mq_watch *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int64_t deadline = timeout_ms < 0 ? -1 : mq_mono_ms() + timeout_ms;
	int left = timeout_ms, rc;

	/* Events that are no change are drained, and the wait goes on. */
	for (;;) {
		if ((rc = watch_drain(w)) != 0)
			return rc;
		if (deadline >= 0 && (left = (int)(deadline - mq_mono_ms())) < 0)
			left = 0;
		if ((rc = poll(&pfd, 1, left)) == -1)
			return mq_sys();
		if (rc == 0)
			return 0;
	}
}
