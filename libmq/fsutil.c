/*
 * fsutil.c - file helpers that check every step.
 *
 * Model: every system call is checked where it is made and a failure
 * returns mq_sys() (MQ_ESYS with errno saved), after undoing what the
 * helper itself did.  Short writes and EINTR are retried.  Every file
 * libmq writes whole is put in place by one function, mq_put_file():
 * write-temp, fsync, rename (then the caller fsyncs the directory), so
 * a reader sees the old file or the new one and a crash leaves at most
 * a stale temporary that the next one of its name removes.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Writes all 'len' bytes of 'buf' to 'fd'.  MQ_OK or mq_sys(). */
int
mq_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return mq_sys();
		}
		p += n;
		len -= n;
	}
	return MQ_OK;
}

/* Writes all 'len' bytes of 'buf' to 'fd' at offset 'off'.  MQ_OK or mq_sys(). */
int
mq_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return mq_sys();
		}
		p += n;
		len -= n;
		off += n;
	}
	return MQ_OK;
}

/*
 * Reads up to 'len' bytes of 'fd' at offset 'off' into 'buf'.  Returns the
 * number read, fewer than 'len' only at end of file, or -1 with errno set.
 */
ssize_t
mq_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = pread(fd, p + got, len - got, off + got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

/*
 * Copies the directory that holds 'path' (shorter than PATH_MAX) into
 * 'dir': "." for a bare name, "/" for a name in the root.  Trailing
 * slashes of 'path' are not separators: "a/b/" is in "a".
 */
static void
dir_of(const char *path, char *dir)
{
	size_t n;

	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0) {
		strlcpy(dir, ".", PATH_MAX);
		return;
	}
	while (n > 1 && path[n - 1] == '/')
		n--;
	memcpy(dir, path, n);
	dir[n] = '\0';
}

/*
 * Makes the temporary 'tmp' of the directory 'dirfd' with the 'len'
 * bytes of 'buf' (mode 0644, or 0666 with MQ_PUT_0666, less the umask)
 * and fsyncs it, unless MQ_PUT_NOSYNC: a rename must never bring an
 * empty file into place.  A stale 'tmp' is removed, never written
 * through: it may be a hard link to the live file.  Returns the
 * descriptor, open for reading and writing when the caller keeps it,
 * or -1 with errno set ('tmp' removed again).
 */
static int
put_tmp(int dirfd, const char *tmp, const void *buf, size_t len, int flags,
    int keep)
{
	int fd, saved, tries = 0, mode = flags & MQ_PUT_0666 ? 0666 : 0644;
	int how = !keep ? O_WRONLY : flags & MQ_PUT_RDONLY ? O_RDONLY : O_RDWR;

	while ((fd = openat(dirfd, tmp, how | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1)
		if (errno != EEXIST || tries++ > 0 ||
		    (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT))
			return -1;
	if (mq_write_all(fd, buf, len) == MQ_OK &&
	    ((flags & MQ_PUT_NOSYNC) || fsync(fd) == 0))
		return fd;
	saved = errno;
	close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * The one way libmq puts a whole file in place: write a temporary in
 * the same directory, fsync it, take the lock asked for, then rename it
 * over 'name' (or link it, MQ_PUT_EXCL).  See internal.h.
 */
int
mq_put_file(int dirfd, const char *tmp, const char *name, const void *buf,
    size_t len, int flags, int *fdp)
{
	int fd, rc, saved, lock;

	if (fdp != NULL)
		*fdp = -1;
	if ((fd = put_tmp(dirfd, tmp, buf, len, flags, fdp != NULL)) == -1)
		return mq_sys();
	/* The file is new, no one else's yet: its lock never waits. */
	lock = flags & MQ_PUT_LOCK_EX ? LOCK_EX : LOCK_SH;
	if ((flags & (MQ_PUT_LOCK_EX | MQ_PUT_LOCK_SH)) &&
	    flock(fd, lock | LOCK_NB) == -1)
		goto fail;
	if (fdp == NULL) {
		rc = close(fd);
		fd = -1;
		if (rc == -1)
			goto fail;
	}
	if (flags & MQ_PUT_EXCL) {
		if (linkat(dirfd, tmp, dirfd, name, 0) == -1) {
			rc = errno == EEXIST ? MQ_EEXIST : mq_sys();
			goto undo;
		}
		/* In place: only the temporary's name is left to remove. */
		if (unlinkat(dirfd, tmp, 0) == -1)
			goto fail;
	} else if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	if (fdp != NULL)
		*fdp = fd;
	return MQ_OK;

fail:
	rc = mq_sys();
undo:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return rc;
}

/*
 * Replaces the file 'path' with the 'len' bytes of 'buf', atomically and
 * durably, as mq_put_file() does with "path.tmp" as the temporary, then
 * fsyncs the directory.  A failure before the rename removes the
 * temporary file and leaves 'path' as it was; only the final fsync of
 * the directory can fail after it.  Returns MQ_OK or mq_sys().
 */
int
mq_replace_file(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int rc;

	if (strlen(path) >= PATH_MAX - 4) {
		errno = ENAMETOOLONG;
		return mq_sys();
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	dir_of(path, dir);
	if ((rc = mq_put_file(AT_FDCWD, tmp, path, buf, len, MQ_PUT_0666,
	    NULL)) != MQ_OK)
		return rc;
	return mq_fsync_dir(dir);
}

/*
 * Opens 'name' of the directory 'dirfd' for reading and writing, with
 * 'flags' added (O_CREAT creates it with mode 0644).  A process that may
 * only read the spool still opens it to look: when writing is refused
 * for want of permission (EACCES) or on a read-only filesystem (EROFS),
 * the file is opened for reading only and '*rdonly' keeps that errno, so
 * that a change through the handle can be refused with it rather than
 * fail half-way on a descriptor that cannot write.  Once '*rdonly' is
 * set, files are opened for reading only at once, without a failed try.
 * Returns the descriptor, or -1 with errno set (ENOENT for a file that
 * is missing and could not be created).
 */
int
mq_open_rw(int dirfd, const char *name, int flags, int *rdonly)
{
	int fd;

	if (*rdonly == 0) {
		fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | flags, 0644);
		if (fd != -1 || (errno != EACCES && errno != EROFS))
			return fd;
		*rdonly = errno;
	}
	return openat(dirfd, name, O_RDONLY | O_CLOEXEC);
}

int
mq_kv_next(char **text, char **key, char **val, int *first)
{
	char *line;

	for (;;) {
		/* strtok_r's walk, with 'text' the state between calls. */
		if ((line = strtok_r(NULL, "\n", text)) == NULL)
			return *first ? MQ_ECORRUPT : MQ_OK;
		if ((*val = strchr(line, ' ')) == NULL)
			return MQ_ECORRUPT;
		*(*val)++ = '\0';
		*key = line;
		if (!*first)
			return 1;
		if (strcmp(line, "version") != 0)
			return MQ_ECORRUPT;
		if (strcmp(*val, "1") != 0)
			return MQ_EVERSION;
		*first = 0;
	}
}

/*
 * Reads the whole file 'path' into '*buf', a malloc'd buffer with a NUL
 * after the data, and its length into '*len' (if not NULL).  Returns
 * MQ_OK or mq_sys(); '*buf' is set only on success.
 */
int
mq_read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *p = NULL, *np;
	size_t size, got = 0;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return mq_sys();
	if (fstat(fd, &st) == -1)
		goto fail;
	/*
	 * The size is a hint (the file may change while read, and files of
	 * /proc show 0): room for it, the NUL, and a byte to see EOF in.
	 */
	size = (st.st_size > 0 ? (size_t)st.st_size : 4096) + 2;
	if ((p = malloc(size)) == NULL)
		goto fail;
	for (;;) {
		if (got + 1 >= size) {
			if ((np = reallocarray(p, size, 2)) == NULL)
				goto fail;
			p = np;
			size *= 2;
		}
		if ((n = read(fd, p + got, size - got - 1)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	p[got] = '\0';
	*buf = p;
	if (len != NULL)
		*len = got;
	return MQ_OK;

fail:
	saved = errno;
	free(p);
	close(fd);
	errno = saved;
	return mq_sys();
}

/*
 * Creates directory 'path' (mode 0777 less the umask), accepting one that
 * exists, then fsyncs its parent so that the entry is durable even if an
 * earlier creator crashed before doing so.  ENOTDIR if 'path' exists and
 * is not a directory.  Returns MQ_OK or mq_sys().
 */
int
mq_mkdir(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return mq_sys();
	}
	if (mkdir(path, 0777) == -1) {
		if (errno != EEXIST)
			return mq_sys();
		if (stat(path, &st) == -1)
			return mq_sys();
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return mq_sys();
		}
	}
	dir_of(path, dir);
	return mq_fsync_dir(dir);
}

/*
 * fsyncs the directory 'path'.  Filesystems that cannot fsync a directory
 * (EINVAL) are taken as done.  Returns MQ_OK or mq_sys().
 */
int
mq_fsync_dir(const char *path)
{
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mq_sys();
	rc = mq_fsync_dir_fd(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The same for a directory open as 'dirfd'. */
int
mq_fsync_dir_fd(int dirfd)
{
	if (fsync(dirfd) == -1 && errno != EINVAL)
		return mq_sys();
	return MQ_OK;
}

/*
 * Removes everything in the directory open as 'fd', which it closes.
 * Symbolic links are removed, never followed; entries that vanish
 * meanwhile are fine.  Returns 0, or -1 with errno set.
 */
static int
rm_contents(int fd)
{
	struct dirent *de;
	DIR *d;
	int sub, saved;

	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			goto fail;
		/* A directory: O_NOFOLLOW so that a swapped-in link fails. */
		if ((sub = openat(fd, de->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				continue;
			goto fail;
		}
		if (rm_contents(sub) == -1)
			goto fail;
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == -1 &&
		    errno != ENOENT)
			goto fail;
	}
	closedir(d);
	return 0;

fail:
	saved = errno;
	closedir(d);
	errno = saved;
	return -1;
}

/*
 * Removes 'path' and, if it is a directory, everything under it, without
 * following symbolic links.  A missing 'path' fails with ENOENT.  Returns
 * MQ_OK or mq_sys().
 */
int
mq_rmtree(const char *path)
{
	return mq_rmtree_at(AT_FDCWD, path);
}

/* The same for entry 'name' of the directory open as 'dirfd'. */
int
mq_rmtree_at(int dirfd, const char *name)
{
	int fd;

	if (unlinkat(dirfd, name, 0) == 0)
		return MQ_OK;
	if (errno != EISDIR && errno != EPERM)
		return mq_sys();
	if ((fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return mq_sys();
	if (rm_contents(fd) == -1 || unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
		return mq_sys();
	return MQ_OK;
}

int
mq_fs_avail(int fd, uint64_t *avail)
{
	struct statvfs sv;

	if (fstatvfs(fd, &sv) == -1)
		return mq_sys();
	if (sv.f_frsize != 0 && sv.f_bavail > UINT64_MAX / sv.f_frsize)
		*avail = UINT64_MAX;
	else
		*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return MQ_OK;
}

/*
 * Returns MQ_ENOSPC if the filesystem of 'fd' has less than 'len' +
 * 'reserve' bytes available to unprivileged users, MQ_OK if it has them,
 * or mq_sys() if fstatvfs(3) fails.
 */
int
mq_check_space(int fd, uint64_t len, uint64_t reserve)
{
	uint64_t avail;
	int rc;

	if ((rc = mq_fs_avail(fd, &avail)) != MQ_OK)
		return rc;
	if (avail < reserve || avail - reserve < len)
		return MQ_ENOSPC;
	return MQ_OK;
}

static int64_t
clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch. */
int64_t
mq_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* Milliseconds of a clock that never goes back (for timeouts and idle times). */
int64_t
mq_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}
