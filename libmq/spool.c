/*
 * spool.c - the spool directory, its version, and the fsync policy.
 *
 * SPOOL/VERSION names the on-disk format ("mq-spool 1"); a spool of
 * another version is refused rather than misread.  Streams live under
 * SPOOL/streams/.
 *
 * Durability is per process: every file this process appends to is
 * remembered as dirty, and made durable according to the policy: at once
 * (always), when the interval has passed at the next write or at
 * mq_spool_sync() (interval), or never.  mq_spool_close() syncs what is
 * left, so a tool that exits normally has made its writes durable.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"

#define VERSION_LINE "mq-spool 1\n"

const char *
mq_spool_default(void)
{
	static char path[PATH_MAX];
	const char *env;

	if ((env = getenv("MQ_SPOOL")) != NULL && env[0] != '\0')
		return env;
	if (geteuid() == 0)
		return "/var/spool/mq";
	if ((env = getenv("XDG_STATE_HOME")) != NULL && env[0] == '/')
		snprintf(path, sizeof(path), "%s/mq", env);
	else if ((env = getenv("HOME")) != NULL && env[0] == '/')
		snprintf(path, sizeof(path), "%s/.local/state/mq", env);
	else
		snprintf(path, sizeof(path), "/tmp/mq-%ld", (long)geteuid());
	return path;
}

/* mkdir -p: each missing component, made group/world readable. */
static int
mkdir_p(const char *dir)
{
	char path[PATH_MAX], *p;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return mq_sys();
	}
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) == -1 && errno != EEXIST)
				return mq_sys();
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	return MQ_OK;
}

/*
 * Creates the spool's top level if missing, or checks its version.  Many
 * processes may create one spool at once: each writes VERSION under a
 * name of its own and renames it into place, so whichever rename comes
 * last leaves the same complete file.
 */
static int
spool_init(mq_spool *sp, int flags)
{
	char buf[64], tmp[64];
	ssize_t n;
	int fd, rc;

	fd = openat(sp->dirfd, "VERSION", O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && (flags & MQ_CREATE)) {
		/* streams/ first: a spool with a VERSION has one. */
		if (mkdirat(sp->dirfd, "streams", 0755) == -1 && errno != EEXIST)
			return mq_sys();
		snprintf(tmp, sizeof(tmp), ".VERSION.%ld", (long)getpid());
		if ((rc = mq_put_file(sp->dirfd, tmp, "VERSION", VERSION_LINE,
		    strlen(VERSION_LINE), 0, NULL)) != MQ_OK ||
		    (rc = mq_fsync_dir_fd(sp->dirfd)) != MQ_OK)
			return rc;
		fd = openat(sp->dirfd, "VERSION", O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1)
		return errno == ENOENT ? MQ_ENOSTREAM : mq_sys();
	n = mq_pread_all(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n == -1)
		return mq_sys();
	buf[n] = '\0';
	if (strcmp(buf, VERSION_LINE) != 0)
		return MQ_EVERSION;
	return MQ_OK;
}

int
mq_spool_open(const char *dir, int flags, mq_spool **out)
{
	mq_spool *sp;
	int rc;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return mq_sys();
	sp->dirfd = sp->streamsfd = -1;
	sp->fsync = MQ_FSYNC_INTERVAL;
	sp->interval_ms = 1000;
	sp->last_sync = mq_mono_ms();
	if ((sp->path = strdup(dir)) == NULL) {
		rc = mq_sys();
		goto fail;
	}
	if ((flags & MQ_CREATE) && (rc = mkdir_p(dir)) != MQ_OK)
		goto fail;
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? MQ_ENOSTREAM : mq_sys();
		goto fail;
	}
	if ((rc = spool_init(sp, flags)) != MQ_OK)
		goto fail;
	sp->streamsfd = openat(sp->dirfd, "streams", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->streamsfd == -1 && errno == ENOENT && (flags & MQ_CREATE)) {
		if (mkdirat(sp->dirfd, "streams", 0755) == -1 && errno != EEXIST) {
			rc = mq_sys();
			goto fail;
		}
		sp->streamsfd = openat(sp->dirfd, "streams",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (sp->streamsfd == -1) {
		rc = errno == ENOENT ? MQ_ECORRUPT : mq_sys();
		goto fail;
	}
	*out = sp;
	return MQ_OK;
fail:
	mq_spool_close(sp);
	return rc;
}

void
mq_spool_close(mq_spool *sp)
{
	if (sp == NULL)
		return;
	/* Its transient queues go first: removing one syncs by the policy. */
	mq_qdecl_free(sp);
	if (sp->fsync != MQ_FSYNC_NEVER)
		mq_spool_sync(sp);
	mq_dirty_free(&sp->dirty);
	mq_wal_close(sp);
	mq_names_free(sp);
	mq_exchange_free(sp);
	if (sp->streamsfd != -1)
		close(sp->streamsfd);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	if (sp->routes != NULL)
		munmap(sp->routes, MQ_ROUTES_SIZE);
	free(sp->path);
	free(sp);
}

/*
 * Creates and removes an empty file in the directory open as 'dirfd'.
 * access(2) would not do: it ignores read-only mounts, and checks the
 * real user, not the effective one.  A stale probe of a dead process that
 * had this pid is reused, not refused; O_NOFOLLOW, because a symlink
 * there must not lead the probe out of the spool.
 */
static int
probe_dir(int dirfd)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), ".probe.%ld", (long)getpid());
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return mq_sys();
	close(fd);
	if (unlinkat(dirfd, name, 0) == -1)
		return mq_sys();
	return MQ_OK;
}

int
mq_spool_writable(mq_spool *sp)
{
	int rc;

	/* The top (bindings, sorted sets) and streams/ (new streams). */
	if ((rc = probe_dir(sp->dirfd)) != MQ_OK)
		return rc;
	return probe_dir(sp->streamsfd);
}

int
mq_spool_avail(mq_spool *sp, uint64_t *avail, uint64_t *reserve)
{
	*reserve = MQ_FREE_RESERVE;
	return mq_fs_avail(sp->dirfd, avail);
}

const char *
mq_spool_path(const mq_spool *sp)
{
	return sp->path;
}

void
mq_spool_set_fsync(mq_spool *sp, enum mq_fsync policy, int interval_ms)
{
	sp->fsync = policy;
	sp->interval_ms = interval_ms > 0 ? interval_ms : 1000;
}

enum mq_fsync
mq_spool_fsync_policy(const mq_spool *sp)
{
	return sp->fsync;
}

int
mq_fsync_parse(const char *s, enum mq_fsync *policy, int *interval_ms)
{
	const char *errstr;

	*interval_ms = 1000;
	if (strcmp(s, "always") == 0)
		*policy = MQ_FSYNC_ALWAYS;
	else if (strcmp(s, "never") == 0)
		*policy = MQ_FSYNC_NEVER;
	else if (strcmp(s, "interval") == 0)
		*policy = MQ_FSYNC_INTERVAL;
	else if (strncmp(s, "interval:", 9) == 0) {
		*policy = MQ_FSYNC_INTERVAL;
		*interval_ms = (int)strtonum(s + 9, 1, 3600000, &errstr);
		if (errstr != NULL)
			return MQ_EINVAL;
	} else
		return MQ_EINVAL;
	return MQ_OK;
}

int
mq_spool_sync(mq_spool *sp)
{
	sp->last_sync = mq_mono_ms();
	sp->dirty_gen++;
	return mq_dirty_sync(&sp->dirty);
}

int
mq_spool_take_dirty(mq_spool *sp, struct mq_dirty *out)
{
	sp->last_sync = mq_mono_ms();
	sp->dirty_gen++;
	return mq_dirty_merge(out, &sp->dirty);
}

/* With the interval policy, syncs when the interval has passed. */
static int
sync_when_due(mq_spool *sp)
{
	if (sp->fsync == MQ_FSYNC_INTERVAL &&
	    mq_mono_ms() - sp->last_sync >= sp->interval_ms)
		return mq_spool_sync(sp);
	return MQ_OK;
}

/*
 * Notes that this process wrote to 'fd' since the last sync; returns 1
 * if it did, 0 if it could not (no memory or descriptors) and made the
 * file durable at once instead, or an error.
 */
static int
note(mq_spool *sp, int fd)
{
	if (mq_dirty_add(&sp->dirty, fd) == 0)
		return 1;
	/* The write is done and must not be reported as failed. */
	return fdatasync(fd) == -1 ? mq_sys() : 0;
}

/*
 * Notes that this process wrote to 'fd', and applies the fsync policy:
 * with "always" the data is durable when this returns.
 */
int
mq_spool_dirty(mq_spool *sp, int fd)
{
	int rc;

	switch (sp->fsync) {
	case MQ_FSYNC_NEVER:
		return MQ_OK;
	case MQ_FSYNC_ALWAYS:
		return fdatasync(fd) == -1 ? mq_sys() : MQ_OK;
	case MQ_FSYNC_INTERVAL:
		break;
	}
	if ((rc = note(sp, fd)) < 0)
		return rc;
	return sync_when_due(sp);
}

/*
 * mq_spool_dirty for a hot path: '*mark' is the caller's, kept beside
 * 'fd' and set to 0 whenever 'fd' comes to stand for another file.  A
 * file already noted since the last sync is not looked at again: one
 * fstat(2) per file and sync, not one per write.
 */
int
mq_spool_dirty_mark(mq_spool *sp, int fd, uint64_t *mark)
{
	int rc;

	if (sp->fsync != MQ_FSYNC_INTERVAL)
		return mq_spool_dirty(sp, fd);
	if (*mark != sp->dirty_gen + 1) {
		if ((rc = note(sp, fd)) < 0)
			return rc;
		if (rc == 1)
			*mark = sp->dirty_gen + 1;
	}
	return sync_when_due(sp);
}

/* mq_spool_streams() asks two sources: a stop by 'fn' stops both. */
struct listing {
	int	(*fn)(const char *, void *);
	void	*arg;
	int	 stopped;
};

static int
listing_one(const char *name, void *arg)
{
	struct listing *l = arg;

	if (l->fn(name, l->arg) != 0)
		l->stopped = 1;
	return l->stopped;
}

int
mq_spool_streams(mq_spool *sp, int (*fn)(const char *, void *), void *arg)
{
	struct listing l = { fn, arg, 0 };
	int rc;

	if ((rc = mq_dir_names(sp->streamsfd, listing_one, &l)) != MQ_OK ||
	    l.stopped)
		return rc;
	/*
	 * And the streams whose entries are all in the write-ahead log
	 * yet: opening one makes it (stream.c).
	 */
	return mq_wal_names(sp, listing_one, &l);
}

int
mq_dir_each(int dirfd, int (*fn)(int, const char *, void *), void *arg)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = MQ_OK;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mq_sys();
	if ((d = fdopendir(fd)) == NULL) {
		rc = mq_sys();
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL)
		if (fn(dirfd, de->d_name, arg) != 0)
			break;
	closedir(d);
	return rc;
}

/* What mq_dir_names() calls, and with what. */
struct dir_names {
	int	(*fn)(const char *, void *);
	void	*arg;
};

/* mq_dir_each()'s callback of mq_dir_names(): decodes, skips the rest. */
static int
dir_name(int dirfd, const char *entry, void *arg)
{
	struct dir_names *dn = arg;
	char name[MQ_NAME_MAX + 1];

	if (entry[0] == '.')
		return 0;	/* ".", "..", temporaries, locks */
	if (mq_name_decode(entry, name, sizeof(name)) < 0)
		return 0;
	return dn->fn(name, dn->arg);
}

/*
 * Calls 'fn' with the decoded name of each entry of the directory open
 * as 'dirfd' that is an encoded name (so not ".", "..", nor a temporary
 * or a lock, whose names start with '.'), until it returns non-zero.
 */
int
mq_dir_names(int dirfd, int (*fn)(const char *, void *), void *arg)
{
	struct dir_names dn = { fn, arg };

	return mq_dir_each(dirfd, dir_name, &dn);
}
