/*
 * dirty.c - what a process wrote and has not yet made durable, and how
 * to make it durable with as few syncs as the files need.
 *
 * A set holds duplicates of the descriptors written to (so that closing
 * a stream loses nothing), one per file.  Up to MQ_DIRTY_FILES files it
 * is made durable with one fdatasync(2) each: cheapest for one busy
 * stream, and blind to whatever else is written on the filesystem.  Past
 * that it turns into "the whole filesystem": one descriptor per device,
 * made durable with one syncfs(2) each.  A fdatasync of a file that grew
 * costs a journal commit, so N files cost N commits (2,500 files: 448 ms
 * on ext4 here) where one syncfs costs one (13 ms); see
 * docs/spool-scaling.md for the figures.
 *
 * A file is told apart by its device and inode (one fstat(2) when it is
 * added); callers on a hot path first ask mq_dirty_marked() with a mark
 * of their own, so that a file written a thousand times between two
 * syncs costs one fstat, not a thousand.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void
mq_dirty_init(struct mq_dirty *d)
{
	memset(d, 0, sizeof(*d));
}

/* Whether the set already holds the file (device 'dev', inode 'ino'). */
static int
holds(const struct mq_dirty *d, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->devs[i] == dev && (d->whole_fs || d->inos[i] == ino))
			return 1;
	return 0;
}

static int
grow(struct mq_dirty *d)
{
	size_t cap = d->cap ? d->cap * 2 : 8;
	int *fds;
	dev_t *devs;
	ino_t *inos;

	if ((fds = reallocarray(d->fds, cap, sizeof(*fds))) == NULL)
		return -1;
	d->fds = fds;
	if ((devs = reallocarray(d->devs, cap, sizeof(*devs))) == NULL)
		return -1;
	d->devs = devs;
	if ((inos = reallocarray(d->inos, cap, sizeof(*inos))) == NULL)
		return -1;
	d->inos = inos;
	d->cap = cap;
	return 0;
}

/* Keeps one descriptor per device and closes the others. */
static void
to_whole_fs(struct mq_dirty *d)
{
	size_t i, kept = 0;

	d->whole_fs = 1;
	for (i = 0; i < d->n; i++) {
		size_t j;

		for (j = 0; j < kept; j++)
			if (d->devs[j] == d->devs[i])
				break;
		if (j < kept) {
			close(d->fds[i]);
			continue;
		}
		d->fds[kept] = d->fds[i];
		d->devs[kept] = d->devs[i];
		d->inos[kept] = d->inos[i];
		kept++;
	}
	d->n = kept;
}

/*
 * Puts 'fd' (the set's to keep: a duplicate) in the set as the file
 * (dev, ino); closes it if the set already holds the file.  Returns -1
 * with errno if there is no memory for it, 'fd' then still the caller's.
 */
static int
insert(struct mq_dirty *d, int fd, dev_t dev, ino_t ino)
{
	if (!d->whole_fs && !holds(d, dev, ino) && d->n == MQ_DIRTY_FILES)
		to_whole_fs(d);
	if (holds(d, dev, ino)) {
		close(fd);
		return 0;
	}
	if (d->n == d->cap && grow(d) == -1)
		return -1;
	d->fds[d->n] = fd;
	d->devs[d->n] = dev;
	d->inos[d->n] = ino;
	d->n++;
	return 0;
}

int
mq_dirty_add(struct mq_dirty *d, int fd)
{
	struct stat st;
	int dup;

	if (fstat(fd, &st) == -1)
		return -1;
	if (holds(d, st.st_dev, st.st_ino))
		return 0;
	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	if (insert(d, dup, st.st_dev, st.st_ino) == -1) {
		close(dup);
		return -1;
	}
	return 0;
}

/* Makes what 'fd' stands for in 'd' durable: its file, or its filesystem. */
static int
sync_one(const struct mq_dirty *d, int fd)
{
	return d->whole_fs ? syncfs(fd) : fdatasync(fd);
}

/*
 * Moves every file of 'from' into 'into', which turns into the whole
 * filesystem if either was or if together they are too many.  What
 * there is no memory to move is made durable here.
 */
int
mq_dirty_merge(struct mq_dirty *into, struct mq_dirty *from)
{
	size_t i;
	int rc = MQ_OK;

	if (from->whole_fs && !into->whole_fs)
		to_whole_fs(into);
	for (i = 0; i < from->n; i++) {
		int fd = from->fds[i];

		if (insert(into, fd, from->devs[i], from->inos[i]) == 0)
			continue;
		if (sync_one(from, fd) == -1 && rc == MQ_OK)
			rc = mq_sys();
		close(fd);
	}
	from->n = 0;
	from->whole_fs = 0;
	return rc;
}

int
mq_dirty_sync(struct mq_dirty *d)
{
	size_t i;
	int rc = MQ_OK, r;

	for (i = 0; i < d->n; i++) {
		r = sync_one(d, d->fds[i]);
		if (r == -1 && rc == MQ_OK)
			rc = mq_sys();
		close(d->fds[i]);
	}
	d->n = 0;
	d->whole_fs = 0;
	return rc;
}

void
mq_dirty_free(struct mq_dirty *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		close(d->fds[i]);
	free(d->fds);
	free(d->devs);
	free(d->inos);
	mq_dirty_init(d);
}

int
mq_dirty_empty(const struct mq_dirty *d)
{
	return d->n == 0;
}
