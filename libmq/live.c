/*
 * live.c - liveness files: how a process says "this consumer is mine, and
 * I am alive", in a way that outlives it only as long as it lives.
 *
 * Model: a consumer of a group that a long-running reader attached has a
 * file groups/@INC.C in its stream's directory (INC the group's
 * incarnation in 16 hex digits, so that a file never outlives its group's
 * identity, and C the percent-encoded consumer name; '@' is never part
 * of an encoded name, so no group or temporary is taken for one).  Its
 * holders keep it open read-only under flock(LOCK_SH); the kernel drops
 * the lock when a holder dies, however it dies.  Anyone may ask whether
 * a holder is left by taking LOCK_EX without waiting on a descriptor of
 * its own, and letting go at once: it gets the lock only if no one holds
 * the file.  Those who ask open it write-only, and may keep that
 * descriptor to ask again with one flock(2): closing a write-only
 * descriptor is IN_CLOSE_WRITE, closing the holder's is IN_CLOSE_NOWRITE,
 * and only the latter wakes the readers that watch the directory
 * (watch.c), so asking never wakes anyone.
 *
 * A holder that finds the file held by another live process shares it;
 * otherwise it makes a new file, locked before it is renamed into place,
 * so no one can take a starting holder for a dead one.  Nobody but a
 * sole holder on its way out removes a file: a dead holder's file stays
 * until a new holder of the name replaces it, or the group is destroyed.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int
mq_live_name(uint64_t incarnation, const char *consumer, char *buf,
    size_t size)
{
	char enc[MQ_ENCNAME_MAX];
	int n;

	if ((n = mq_name_encode(consumer, enc, sizeof(enc))) < 0)
		return n;
	if (n > MQ_ENCNAME_LIMIT)
		return MQ_EBADNAME;
	n = snprintf(buf, size, "@%016" PRIx64 ".%s", incarnation, enc);
	return n < 0 || (size_t)n >= size ? MQ_EINVAL : MQ_OK;
}

/* Whether the descriptor 'fd' is the file 'name' of 'dirfd' now. */
static int
still_linked(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, 0) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
mq_live_probe(int dirfd, const char *name, int *fd)
{
	int tries;

	/* A holder that replaced the file meanwhile is looked at again. */
	for (tries = 0; tries < 8; tries++) {
		if (*fd == -1 &&
		    (*fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC)) == -1)
			return errno == ENOENT ? 0 : mq_sys();
		if (flock(*fd, LOCK_EX | LOCK_NB) == -1)
			return errno == EWOULDBLOCK ? 1 : mq_sys();
		/* Not held: let go at once, a joiner must not wait for us. */
		(void)flock(*fd, LOCK_UN);
		if (still_linked(dirfd, name, *fd))
			return 0;
		close(*fd);
		*fd = -1;
	}
	return 1;	/* replaced again and again: someone lives */
}

/*
 * Joins the holders of the live file 'name': opens it, waits for the
 * shared lock, and checks that it was not replaced meanwhile.  Returns
 * 1 with '*fd' set, 0 if it is gone or was replaced (look again), or an
 * error.
 */
static int
join(int dirfd, const char *name, int *fd)
{
	*fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (*fd == -1)
		return errno == ENOENT ? 0 : mq_sys();
	while (flock(*fd, LOCK_SH) == -1)
		if (errno != EINTR) {
			int rc = mq_sys();

			close(*fd);
			return rc;
		}
	if (still_linked(dirfd, name, *fd))
		return 1;
	close(*fd);
	*fd = -1;
	return 0;
}

/*
 * Makes a new file, locked, and renames it over 'name'.  It is empty and
 * open read-only (a holder's close must not look like a write), and not
 * fsynced: no process outlives a crash, so neither need its file.
 */
static int
create(int dirfd, const char *name, int *fd)
{
	char tmp[64];

	mq_journal_tmpname(tmp, sizeof(tmp));
	return mq_put_file(dirfd, tmp, name, NULL, 0,
	    MQ_PUT_RDONLY | MQ_PUT_LOCK_SH | MQ_PUT_NOSYNC, fd);
}

int
mq_live_hold(int dirfd, const char *name, int *fd)
{
	int alive, probe, rc;

	*fd = -1;
	for (;;) {
		probe = -1;
		alive = mq_live_probe(dirfd, name, &probe);
		if (probe != -1)
			close(probe);
		if (alive < 0)
			return alive;
		if (!alive)
			return (rc = create(dirfd, name, fd)) == MQ_OK ? 1 : rc;
		if ((rc = join(dirfd, name, fd)) != 0)
			return rc < 0 ? rc : 0;
	}
}

int
mq_live_sole(int fd)
{
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

void
mq_live_drop(int dirfd, const char *name, int fd, int remove)
{
	if (remove && still_linked(dirfd, name, fd))
		unlinkat(dirfd, name, 0);
	close(fd);
}

/* mq_dir_each()'s callback of mq_live_sweep(): 'arg' is the prefix. */
static int
sweep_one(int dirfd, const char *entry, void *arg)
{
	const char *prefix = arg;

	if (strncmp(entry, prefix, strlen(prefix)) == 0)
		unlinkat(dirfd, entry, 0);
	return 0;
}

void
mq_live_sweep(int dirfd, uint64_t incarnation)
{
	char prefix[24];

	snprintf(prefix, sizeof(prefix), "@%016" PRIx64 ".", incarnation);
	(void)mq_dir_each(dirfd, sweep_one, prefix);
}
