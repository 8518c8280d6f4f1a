/*
 * keylock.c - the spool's one namespace of keys: a name is a stream or a
 * sorted set, never both.
 *
 * Model: streams (SPOOL/streams/<encoded name>, stream.c) and sorted
 * sets (SPOOL/zsets/<encoded name>, zset.c) share one namespace: both
 * are created under the key lock (SPOOL/zsets/.lock), after checking
 * that the name is not a key of the other type.  A rename of either
 * moves it under its own lock, that of a sorted set of the new name and
 * the key lock, and removes a key of the new name of the other type
 * first.  The key lock is the last lock a process takes.
 *
 * The lock file lives in the directory of sorted sets, where it has
 * always been (mq-spool(5)); this file is the one that knows it, so that
 * streams and sorted sets depend on it and not on each other.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"

#define ZLOCK		".lock"		/* the key lock, in MQ_ZSETS_DIR */

int
mq_zsets_dir_open(mq_spool *sp, int create, int *fd)
{
	*fd = openat(sp->dirfd, MQ_ZSETS_DIR,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd == -1 && errno == ENOENT && create) {
		if (mkdirat(sp->dirfd, MQ_ZSETS_DIR, 0755) == -1 &&
		    errno != EEXIST)
			return mq_sys();
		if (mq_fsync_dir_fd(sp->dirfd) != MQ_OK)
			return MQ_ESYS;
		*fd = openat(sp->dirfd, MQ_ZSETS_DIR,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (*fd == -1 && errno != ENOENT)
		return mq_sys();
	return MQ_OK;
}

int
mq_stream_exists_enc(mq_spool *sp, const char *enc)
{
	struct stat st;

	return fstatat(sp->streamsfd, enc, &st, 0) == 0;
}

int
mq_zset_exists_enc(mq_spool *sp, const char *enc)
{
	char path[sizeof(MQ_ZSETS_DIR) + MQ_ENCNAME_MAX + 1];
	struct stat st;

	snprintf(path, sizeof(path), MQ_ZSETS_DIR "/%s", enc);
	return fstatat(sp->dirfd, path, &st, 0) == 0;
}

/* ------------------------------------------------------------------
 * The key lock
 * ---------------------------------------------------------------- */

int
mq_key_lock(mq_spool *sp, const char *enc, int type, int *fd)
{
	struct stat st;
	int dirfd, rc;

	*fd = -1;
	if ((rc = mq_zsets_dir_open(sp, 1, &dirfd)) != MQ_OK)
		return rc;
	if (dirfd == -1)
		return mq_sys();
	*fd = openat(dirfd, ZLOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd == -1) {
		rc = mq_sys();
		close(dirfd);
		return rc;
	}
	while (flock(*fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			rc = mq_sys();
			goto fail;
		}
	/* A stream whose entries are all in the write-ahead log is one too. */
	if (type == MQ_KEY_STREAM ? fstatat(dirfd, enc, &st, 0) == 0 :
	    type == MQ_KEY_ZSET && (mq_stream_exists_enc(sp, enc) ||
	    mq_wal_pending(sp, enc, &rc))) {
		rc = MQ_EWRONGTYPE;
		goto fail;
	}
	close(dirfd);
	return MQ_OK;
fail:
	close(*fd);
	*fd = -1;
	close(dirfd);
	return rc;
}

void
mq_key_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* and with it the lock */
}

/* ------------------------------------------------------------------
 * The target of a rename
 * ---------------------------------------------------------------- */

/*
 * The target of a rename.  Nothing changes what a name of sorted set
 * leads to without the set's lock (removal, compaction) or the key lock
 * (creation), so once both are held -- the set's if there is one --
 * only mq_stream_remove() can change what has the name.
 */
int
mq_key_target_lock(mq_spool *sp, const char *enc, struct mq_key_target *t)
{
	int rc, reset;

	memset(t, 0, sizeof(*t));
	t->j.fd = t->keyfd = -1;
	if ((rc = mq_zsets_dir_open(sp, 1, &t->dirfd)) != MQ_OK)
		return rc;
	if (t->dirfd == -1)
		return mq_sys();
	if ((rc = mq_journal_open(&t->j, sp, t->dirfd, enc)) == MQ_OK)
		rc = mq_journal_lock(&t->j, &reset);
	t->zset = rc == MQ_OK;
	if (rc == MQ_ENOGROUP)
		rc = MQ_OK;		/* no sorted set has the name */
	if (rc != MQ_OK)
		mq_key_target_release(t);
	return rc;
}

int
mq_key_target_check(mq_spool *sp, const char *enc, struct mq_key_target *t)
{
	struct stat st;
	int rc;

	if ((rc = mq_key_lock(sp, enc, 0, &t->keyfd)) != MQ_OK) {
		mq_key_target_release(t);
		return rc;
	}
	if (!t->zset && fstatat(t->dirfd, enc, &st, 0) == 0) {
		mq_key_target_release(t);
		return 1;	/* created before the key lock: not locked */
	}
	t->stream = mq_stream_exists_enc(sp, enc);
	return MQ_OK;
}

void
mq_key_target_release(struct mq_key_target *t)
{
	mq_key_unlock(t->keyfd);
	t->keyfd = -1;
	mq_journal_close(&t->j);	/* and with it the set's lock */
	if (t->dirfd != -1)
		close(t->dirfd);
	t->dirfd = -1;
	t->zset = t->stream = 0;
}
