/*
 * watch.c - waiting for appends without polling.
 *
 * A watch is an inotify descriptor with one watch per stream directory:
 * every append, delete or trim writes a file in that directory, and the
 * kernel reports it at once, whichever process wrote.  A reader adds its
 * streams before it reads, so an append between its last read and its
 * wait is never missed: the event is already queued.
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

#define WATCH_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | \
	IN_MOVE_SELF | IN_ATTRIB)

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
	if (inotify_add_watch(w->fd, path, IN_MODIFY | IN_CREATE) == -1 &&
	    errno != ENOENT)
		return mq_sys();
	return MQ_OK;
}

int
mq_watch_spool(mq_watch *w, mq_spool *sp)
{
	char path[64];

	/* New streams are renamed into streams/ whole (stream.c). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sp->streamsfd);
	if (inotify_add_watch(w->fd, path, IN_CREATE | IN_MOVED_TO) == -1)
		return mq_sys();
	return MQ_OK;
}

int
mq_watch_fd(const mq_watch *w)
{
	return w->fd;
}

/* Reads away the queued events; 1 if there were any. */
static int
watch_drain(mq_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int any = 0;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		any = 1;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		return mq_sys();
	return any;
}

int
mq_watch_wait(mq_watch *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int rc;

	if ((rc = watch_drain(w)) != 0)
		return rc;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc == -1)
		return mq_sys();
	if (rc == 0)
		return 0;
	rc = watch_drain(w);
	return rc < 0 ? rc : 1;
}
