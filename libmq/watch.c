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
 *
 * A process that waits on many streams (a server's blocked clients) asks
 * which streams changed (mq_watch_changes): the watch keeps, for each
 * watch descriptor, what it watches and for which stream, and turns each
 * event into a report of that stream; the log's events into reports of
 * the streams that batches were logged to (mq_wal_news).
 */
#include <sys/inotify.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"

#define WATCH_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | \
	IN_MOVE_SELF | IN_ATTRIB)
#define GROUPS_MASK (IN_MODIFY | IN_CREATE | IN_CLOSE_NOWRITE)

/* What a watch descriptor watches. */
enum wd_kind {
	WD_STREAM,	/* a stream's directory */
	WD_GROUPS,	/* its groups/ */
	WD_STREAMS,	/* the spool's streams/ */
	WD_WAL		/* the spool's write-ahead log */
};

struct watch_wd {
	int		 wd;
	enum wd_kind	 kind;
	char		*name;		/* the stream's, for WD_STREAM, WD_GROUPS */
	int		 groups_wd;	/* WD_STREAM: its groups/ watch, or -1 */
};

struct mq_watch {
	int		 fd;
	mq_spool	*spool;		/* the last one added, for its log */
	int		 wal_watched;	/* the log of 'spool' is watched */
	struct watch_wd	*wds;		/* by increasing wd */
	size_t		 nwds, capwds;
};

int
mq_watch_open(mq_watch **out)
{
	mq_watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
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
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nwds; i++)
		free(w->wds[i].name);
	free(w->wds);
	close(w->fd);
	free(w);
}

/* ------------------------------------------------------------------
 * What each watch descriptor watches: kept sorted, since the kernel
 * hands out increasing numbers (so an addition goes at the end).
 * ---------------------------------------------------------------- */

/* Where 'wd' is, or would go, in w->wds. */
static size_t
wd_slot(const mq_watch *w, int wd)
{
	size_t lo = 0, hi = w->nwds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->wds[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct watch_wd *
wd_find(const mq_watch *w, int wd)
{
	size_t i = wd_slot(w, wd);

	return i < w->nwds && w->wds[i].wd == wd ? &w->wds[i] : NULL;
}

/* Notes what 'wd' watches ('name' may be NULL); it may be known already. */
static int
wd_note(mq_watch *w, int wd, enum wd_kind kind, const char *name)
{
	size_t i = wd_slot(w, wd);
	char *copy = NULL;

	if (name != NULL && (copy = strdup(name)) == NULL)
		return mq_sys();
	if (i < w->nwds && w->wds[i].wd == wd) {
		/* The same directory again, maybe under a new name. */
		free(w->wds[i].name);
		w->wds[i].kind = kind;
		w->wds[i].name = copy;
		return MQ_OK;
	}
	if (w->nwds == w->capwds) {
		size_t ncap = w->capwds ? w->capwds * 2 : 16;
		struct watch_wd *n = reallocarray(w->wds, ncap, sizeof(*n));

		if (n == NULL) {
			free(copy);
			return mq_sys();
		}
		w->wds = n;
		w->capwds = ncap;
	}
	memmove(&w->wds[i + 1], &w->wds[i], (w->nwds - i) * sizeof(*w->wds));
	w->wds[i].wd = wd;
	w->wds[i].kind = kind;
	w->wds[i].name = copy;
	w->wds[i].groups_wd = -1;
	w->nwds++;
	return MQ_OK;
}

static void
wd_forget(mq_watch *w, int wd)
{
	size_t i = wd_slot(w, wd);

	if (i >= w->nwds || w->wds[i].wd != wd)
		return;
	if (w->wds[i].kind == WD_WAL)
		w->wal_watched = 0;
	free(w->wds[i].name);
	memmove(&w->wds[i], &w->wds[i + 1], (w->nwds - i - 1) *
	    sizeof(*w->wds));
	w->nwds--;
}

/*
 * Adds a kernel watch of 'path' for 'mask', noted as 'kind' of 'name';
 * its number in '*wdp' if not NULL.
 */
static int
watch_path(mq_watch *w, const char *path, uint32_t mask, enum wd_kind kind,
    const char *name, int *wdp)
{
	int wd;

	if ((wd = inotify_add_watch(w->fd, path, mask)) == -1)
		return mq_sys();
	if (wdp != NULL)
		*wdp = wd;
	return wd_note(w, wd, kind, name);
}

/* Notes that the groups/ of the stream watched as 'wd' is watched as 'gwd'. */
static void
wd_groups(mq_watch *w, int wd, int gwd)
{
	struct watch_wd *x = wd_find(w, wd);

	if (x != NULL)
		x->groups_wd = gwd;
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
	int fd, rc;

	/* Once: every stream added would ask again (a server's waiters). */
	if (w->spool == sp && w->wal_watched)
		return MQ_OK;
	w->spool = sp;
	if ((fd = mq_wal_fd(sp)) == -1)
		return MQ_OK;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((rc = watch_path(w, path, IN_MODIFY, WD_WAL, NULL, NULL)) != MQ_OK)
		return rc;
	w->wal_watched = 1;
	/* What was logged before is not news: counting starts now. */
	return mq_wal_news(sp, NULL, NULL);
}

int
mq_watch_add_id(mq_watch *w, mq_stream *s, int *id)
{
	char path[64];
	int wd, gwd, rc;

	/* The stream's directory, by its descriptor: no path to race on. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->dirfd);
	if ((rc = watch_path(w, path, WATCH_MASK, WD_STREAM, s->name, &wd)) !=
	    MQ_OK)
		return rc;
	if (id != NULL)
		*id = wd;
	/* Group journals too: a nack makes an entry deliverable again. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/groups", s->dirfd);
	if ((rc = watch_path(w, path, GROUPS_MASK, WD_GROUPS, s->name,
	    &gwd)) == MQ_OK)
		wd_groups(w, wd, gwd);
	else if (errno != ENOENT)
		return rc;
	return watch_wal(w, s->spool);
}

int
mq_watch_add(mq_watch *w, mq_stream *s)
{
	return mq_watch_add_id(w, s, NULL);
}

int
mq_watch_drop(mq_watch *w, int id)
{
	struct watch_wd *x = wd_find(w, id);
	int gwd, rc = MQ_OK;

	if (x == NULL || x->kind != WD_STREAM)
		return MQ_OK;	/* gone with its directory already */
	gwd = x->groups_wd;
	wd_forget(w, id);
	if (inotify_rm_watch(w->fd, id) == -1 && errno != EINVAL)
		rc = mq_sys();
	if (gwd >= 0) {
		wd_forget(w, gwd);
		if (inotify_rm_watch(w->fd, gwd) == -1 && errno != EINVAL &&
		    rc == MQ_OK)
			rc = mq_sys();
	}
	return rc;
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
	wd_forget(w, wd);
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
	int rc;

	/* New streams are renamed into streams/ whole (stream.c). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sp->streamsfd);
	if ((rc = watch_path(w, path, IN_CREATE | IN_MOVED_TO, WD_STREAMS,
	    NULL, NULL)) != MQ_OK)
		return rc;
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

/* ------------------------------------------------------------------
 * Which streams changed.
 * ---------------------------------------------------------------- */

struct report {
	mq_watch_fn	*fn;
	void		*arg;
};

static int
report_logged(const char *name, void *arg)
{
	struct report *r = arg;

	r->fn(name, NULL, MQ_WATCH_ENTRIES, r->arg);
	return 0;
}

/*
 * A groups/ directory made in the directory of stream 'stream', watched
 * as 'wd': watched from now on.
 */
static void
watch_new_groups(mq_watch *w, int wd, const char *stream)
{
	char enc[MQ_ENCNAME_MAX], path[64 + MQ_ENCNAME_MAX];
	int gwd;

	if (w->spool == NULL || mq_name_encode(stream, enc, sizeof(enc)) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s/groups",
	    w->spool->streamsfd, enc);
	/* Failing, the stream's own events still wake its readers. */
	if (watch_path(w, path, GROUPS_MASK, WD_GROUPS, stream, &gwd) ==
	    MQ_OK)
		wd_groups(w, wd, gwd);
}

/* What event 'ev' on a groups/ directory says, to 'r'. */
static void
report_groups(const struct inotify_event *ev, const char *stream,
    struct report *r)
{
	char group[MQ_NAME_MAX + 1];

	if (ev->len == 0 || ev->name[0] == '.')
		return;		/* the directory itself, a temporary */
	if (ev->name[0] != '@' &&
	    mq_name_decode(ev->name, group, sizeof(group)) >= 0)
		r->fn(stream, group, MQ_WATCH_GROUP, r->arg);
	else
		r->fn(stream, NULL, MQ_WATCH_GROUP, r->arg);
}

/*
 * Reports event 'ev' on what 'x' watches; 1 if it was a change.  The
 * callback may end watches (mq_watch_drop), 'x' among them: it is given
 * copies, and 'x' is not looked at after it.
 */
static int
report_event(mq_watch *w, const struct inotify_event *ev,
    const struct watch_wd *x, struct report *r)
{
	char name[MQ_NAME_MAX + 1];
	int wd = x->wd, rc;

	if (x->kind == WD_STREAM || x->kind == WD_GROUPS)
		strlcpy(name, x->name != NULL ? x->name : "", sizeof(name));
	switch (x->kind) {
	case WD_STREAM:
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
			r->fn(name, NULL, MQ_WATCH_GONE, r->arg);
			return 1;
		}
		r->fn(name, NULL, MQ_WATCH_ENTRIES, r->arg);
		if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) &&
		    strcmp(ev->name, "groups") == 0 && wd_find(w, wd) != NULL)
			watch_new_groups(w, wd, name);
		return 1;
	case WD_GROUPS:
		report_groups(ev, name, r);
		return 1;
	case WD_STREAMS:
		if (ev->len == 0 || ev->name[0] == '.' ||
		    mq_name_decode(ev->name, name, sizeof(name)) < 0)
			return 0;
		r->fn(name, NULL, MQ_WATCH_MADE, r->arg);
		return 1;
	case WD_WAL:
		if (w->spool != NULL &&
		    (rc = mq_wal_news(w->spool, report_logged, r)) != MQ_OK)
			return rc;
		return 1;
	}
	return 0;
}

int
mq_watch_changes(mq_watch *w, mq_watch_fn *fn, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct report r = { fn, arg };
	const struct watch_wd *x;
	int any = 0, rc;
	ssize_t n, off;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_IGNORED) {
				wd_forget(w, ev->wd);	/* the kernel's is gone */
				continue;
			}
			if (!watch_relevant(ev) || (x = wd_find(w, ev->wd)) ==
			    NULL)
				continue;
			if ((rc = report_event(w, ev, x, &r)) < 0)
				return rc;
			any |= rc;
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
