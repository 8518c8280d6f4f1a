/*
 * journal.c - the file protocol of a consumer group's journal.
 *
 * Model: a journal is a file of fixed-size records (32-byte slots, a
 * record is one slot plus 'extra' slots), each with a CRC-32C.  Writers
 * append under flock(LOCK_EX) on the file; every process keeps a replica
 * of what the records say and replays the tail that others added since
 * it last looked.  A reader stops at the first record that is incomplete
 * or fails its check; a writer, holding the lock, truncates the file
 * there (what follows is a torn write of a process that died).
 *
 * Compaction replaces the whole file: the writer, still holding the lock
 * on the old file, writes the new one under a temporary name, locks it,
 * and renames it over the journal.  A process that then gets the lock on
 * the old file sees that the path names another inode, drops its replica
 * and starts again on the new file; the lock was held without a gap, so
 * no writer ever appends to a file that is no longer the journal.
 *
 * A process that may read the journal but not write it opens it for
 * reading only (mq_open_rw): it replays, and refuses to take the lock,
 * under which every change and every repair is made, with MQ_ESYS and
 * the errno that refused the file (EACCES or EROFS).
 *
 * This file knows the framing of records, not their meaning: that is
 * group.c's, and the layout of each record is documented there.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Replay reads this much at a time, into a buffer on the stack: a journal
 * open for each of thousands of groups keeps no buffer between replays.
 */
#define JBUF_SIZE (16u << 10)

/* ------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------- */

/*
 * Little-endian fields, a word at a time: records are encoded and
 * decoded millions of times a second, and the compilers do not always
 * merge mq_put64's byte stores into one.
 */
static inline void
put16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
put32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
put64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t
get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/*
 * Encodes one record at 'p': type 'type', flags 'flags', fields 'a',
 * 'b', 'c', then 'len' bytes of 'data' in extra slots (zero-padded).
 * 'p' needs mq_jrec_size('len') bytes.  Returns the bytes written.
 */
size_t
mq_jrec_put(unsigned char *p, unsigned type, unsigned flags, uint64_t a,
    uint64_t b, uint64_t c, const void *data, size_t len)
{
	size_t size = mq_jrec_size(len), extra = size / MQ_JSLOT - 1;

	p[4] = type;
	p[5] = flags;
	put16(p + 6, extra);
	put64(p + 8, a);
	put64(p + 16, b);
	put64(p + 24, c);
	if (extra > 0) {
		memset(p + MQ_JSLOT, 0, size - MQ_JSLOT);
		memcpy(p + MQ_JSLOT, data, len);
	}
	put32(p, mq_crc32c(0, p + 4, size - 4));
	return size;
}

/*
 * Decodes the record at 'p', of which 'len' bytes are available, into
 * 'r'.  Returns its size, 0 if 'len' does not hold all of it, or -1 if
 * it is not a record (bad CRC, type 0, too many extra slots).
 */
ssize_t
mq_jrec_get(const unsigned char *p, size_t len, struct mq_jrec *r)
{
	size_t extra, size;

	if (len < MQ_JSLOT)
		return 0;
	extra = get16(p + 6);
	if (extra > MQ_JREC_MAXEXTRA || p[4] == 0)
		return -1;
	size = (extra + 1) * MQ_JSLOT;
	if (len < size)
		return 0;
	if (get32(p) != mq_crc32c(0, p + 4, size - 4))
		return -1;
	r->type = p[4];
	r->flags = p[5];
	r->a = get64(p + 8);
	r->b = get64(p + 16);
	r->c = get64(p + 24);
	r->data = extra > 0 ? p + MQ_JSLOT : NULL;
	r->datalen = extra * MQ_JSLOT;
	return size;
}

/*
 * The validation of the format: the length of the longest prefix of
 * 'buf' ('len' bytes) made of whole, valid records.  Recovery, the unit
 * tests and fuzzers share it.
 */
size_t
mq_journal_valid(const unsigned char *buf, size_t len)
{
	struct mq_jrec r;
	size_t pos = 0;
	ssize_t n;

	while ((n = mq_jrec_get(buf + pos, len - pos, &r)) > 0)
		pos += n;
	return pos;
}

/* ------------------------------------------------------------------
 * The file
 * ---------------------------------------------------------------- */

/* Opens 'j->name' and remembers its inode; MQ_ENOGROUP if it is missing. */
static int
jopen(struct mq_journal *j)
{
	struct stat st;
	int rc;

	j->dirty_mark = 0;
	if ((j->fd = mq_open_rw(j->dirfd, j->name, 0, &j->rdonly)) == -1)
		return errno == ENOENT ? MQ_ENOGROUP : mq_sys();
	if (fstat(j->fd, &st) == -1) {
		rc = mq_sys();
		close(j->fd);
		j->fd = -1;
		return rc;
	}
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	j->off = 0;
	return MQ_OK;
}

static void
jclose(struct mq_journal *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	j->locked = 0;
}

/*
 * Opens journal 'name' in directory 'dirfd' (kept, not owned) of
 * 'spool'.  Returns MQ_OK, MQ_ENOGROUP if there is no such file, or
 * MQ_ESYS.  Nothing is replayed yet.
 */
int
mq_journal_open(struct mq_journal *j, mq_spool *spool, int dirfd,
    const char *name)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->spool = spool;
	j->dirfd = dirfd;
	if (strlcpy(j->name, name, sizeof(j->name)) >= sizeof(j->name))
		return MQ_EBADNAME;
	return jopen(j);
}

void
mq_journal_close(struct mq_journal *j)
{
	jclose(j);
}

/*
 * Compares the inode 'j->name' names now with the open file.  Returns 1
 * if they are the same, 0 if the path names another file (compaction,
 * or the group was destroyed and created again), MQ_ENOGROUP if the path
 * is gone, or MQ_ESYS.  If the file is the same but shorter than what
 * was replayed (a writer cut back records it failed to write whole),
 * 'j->off' goes back to 0 and '*reset' is set: replay it all again.
 */
static int
jsame(struct mq_journal *j, int *reset)
{
	struct stat st;

	if (fstatat(j->dirfd, j->name, &st, 0) == -1)
		return errno == ENOENT ? MQ_ENOGROUP : mq_sys();
	if (st.st_dev != j->dev || st.st_ino != j->ino)
		return 0;
	if (st.st_size < j->off) {
		j->off = 0;
		*reset = 1;
	}
	return 1;
}

/*
 * Takes the exclusive lock on the journal, making sure it is taken on
 * the file the path names now.  '*reset' is set to 1 if the file was
 * replaced since the last call: the caller must drop its replica and
 * replay from the start (j->off is 0 then).  Fails with MQ_ENOGROUP if
 * the journal was removed, or MQ_ESYS (EACCES or EROFS if it is open
 * read-only).  'how' is LOCK_EX, or LOCK_EX | LOCK_NB to return 1
 * instead of waiting for another holder.
 */
static int
jlock(struct mq_journal *j, int *reset, int how)
{
	int rc;

	*reset = 0;
	for (;;) {
		if (j->fd == -1) {
			if ((rc = jopen(j)) != MQ_OK)
				return rc;
			*reset = 1;
		}
		if (j->rdonly != 0) {
			errno = j->rdonly;
			return mq_sys();
		}
		while (flock(j->fd, how) == -1) {
			if (errno == EWOULDBLOCK)
				return 1;
			if (errno != EINTR)
				return mq_sys();
		}
		if ((rc = jsame(j, reset)) == 1)
			break;
		flock(j->fd, LOCK_UN);
		jclose(j);
		if (rc < 0)
			return rc;
	}
	j->locked = 1;
	return MQ_OK;
}

int
mq_journal_lock(struct mq_journal *j, int *reset)
{
	return jlock(j, reset, LOCK_EX);
}

/* As mq_journal_lock, but returns 1 at once if another holds the lock. */
int
mq_journal_trylock(struct mq_journal *j, int *reset)
{
	return jlock(j, reset, LOCK_EX | LOCK_NB);
}

void
mq_journal_unlock(struct mq_journal *j)
{
	if (j->locked && j->fd != -1)
		flock(j->fd, LOCK_UN);
	j->locked = 0;
}

/*
 * Without taking the lock, makes sure the open file is still the
 * journal, reopening it if it was replaced ('*reset' set to 1 as for
 * mq_journal_lock).  MQ_ENOGROUP if it was removed.
 */
int
mq_journal_check(struct mq_journal *j, int *reset)
{
	int rc;

	*reset = 0;
	if (j->fd != -1) {
		if ((rc = jsame(j, reset)) == 1)
			return MQ_OK;
		jclose(j);
		if (rc < 0)
			return rc;
	}
	if ((rc = jopen(j)) != MQ_OK)
		return rc;
	*reset = 1;
	return MQ_OK;
}

/*
 * Calls 'fn' with each record from j->off on, advancing j->off past it,
 * until the end of the file or the first record that is incomplete or
 * invalid.  With 'repair' (only under the lock) the file is truncated
 * there.  Returns MQ_OK, or the first error of 'fn' (j->off is then at
 * the record it refused), or MQ_ESYS.
 */
int
mq_journal_replay(struct mq_journal *j, int repair,
    int (*fn)(const struct mq_jrec *r, void *arg), void *arg)
{
	unsigned char buf[JBUF_SIZE];
	struct mq_jrec r;
	struct stat st;
	ssize_t got, n;
	size_t pos;
	int rc, stop = 0;

	while (!stop) {
		if ((got = mq_pread_all(j->fd, buf, JBUF_SIZE, j->off)) == -1)
			return mq_sys();
		pos = 0;
		while ((size_t)got > pos) {
			n = mq_jrec_get(buf + pos, got - pos, &r);
			if (n < 0)
				stop = 1;
			if (n <= 0)
				break;
			if ((rc = fn(&r, arg)) != MQ_OK) {
				j->off += pos;
				return rc;
			}
			pos += n;
		}
		j->off += pos;
		if ((size_t)got < JBUF_SIZE)
			stop = 1;
	}
	if (!repair)
		return MQ_OK;
	if (fstat(j->fd, &st) == -1)
		return mq_sys();
	if (st.st_size > j->off && ftruncate(j->fd, j->off) == -1)
		return mq_sys();
	return MQ_OK;
}

/*
 * Appends 'len' bytes of whole records at j->off (the end, after a
 * replay under the lock) and applies the spool's fsync policy.
 *
 * If the write fails part way, what was written stays: a process that
 * reads without the lock may already have applied those records, so the
 * file must not lose them.  The whole records among them count for
 * everyone (the caller reloads its replica from the file), and a
 * partial one is a torn tail that the next writer cuts.
 */
int
mq_journal_append(struct mq_journal *j, const void *buf, size_t len)
{
	int rc;

	if ((rc = mq_pwrite_all(j->fd, buf, len, j->off)) != MQ_OK)
		return rc;
	j->off += len;
	return mq_spool_dirty_mark(j->spool, j->fd, &j->dirty_mark);
}

/*
 * Temporaries: ".tmp.PID.RANDOM" in the same directory.  Encoded names
 * never start with '.', so no temporary is ever taken for a group, and
 * the name is short whatever the length of the group's.  A process that
 * dies between writing one and renaming it leaves it behind:
 * mq_journal_sweep() removes those that are old.
 */
#define TMP_PREFIX	".tmp."
#define TMP_MAX_AGE	600	/* seconds after which a temporary is stale */

void
mq_journal_tmpname(char *buf, size_t size)
{
	snprintf(buf, size, TMP_PREFIX "%ld.%08x", (long)getpid(),
	    arc4random());
}

/*
 * Removes temporaries in 'dirfd' older than TMP_MAX_AGE, left by
 * processes that died.  Removing one that is still in use is harmless:
 * its rename or link then fails and the journal stays as it was.
 */
/* mq_dir_each()'s callback of mq_journal_sweep(): 'arg' is the time. */
static int
sweep_tmp(int dirfd, const char *entry, void *arg)
{
	const time_t *now = arg;
	struct stat st;

	if (strncmp(entry, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
	    fstatat(dirfd, entry, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    *now - st.st_mtime > TMP_MAX_AGE)
		unlinkat(dirfd, entry, 0);
	return 0;
}

void
mq_journal_sweep(int dirfd)
{
	time_t now = time(NULL);

	(void)mq_dir_each(dirfd, sweep_tmp, &now);
}

/*
 * Creates journal 'name' in 'dirfd' with the 'len' bytes of 'buf' as its
 * content, all at once: the file is written under a temporary name and
 * linked into place, so no process ever sees it half written.  Returns
 * MQ_OK, MQ_EEXIST if the journal exists, or MQ_ESYS.
 */
int
mq_journal_create(mq_spool *spool, int dirfd, const char *name,
    const void *buf, size_t len)
{
	char tmp[64];
	int rc;

	mq_journal_tmpname(tmp, sizeof(tmp));
	if ((rc = mq_put_file(dirfd, tmp, name, buf, len, MQ_PUT_EXCL,
	    NULL)) != MQ_OK)
		return rc;
	return mq_spool_dirty(spool, dirfd);
}

/*
 * Replaces the journal, whose lock the caller holds, with the 'len'
 * bytes of 'buf' (a snapshot).  The new file is locked before it is
 * renamed into place, so the lock passes from the old file to the new
 * one without a gap; j->off is then 'len'.
 */
int
mq_journal_replace(struct mq_journal *j, const void *buf, size_t len)
{
	char tmp[64];
	struct stat st;
	int fd, rc;

	mq_journal_tmpname(tmp, sizeof(tmp));
	if ((rc = mq_put_file(j->dirfd, tmp, j->name, buf, len, MQ_PUT_LOCK_EX,
	    &fd)) != MQ_OK)
		return rc;
	flock(j->fd, LOCK_UN);
	close(j->fd);
	j->fd = fd;
	j->dirty_mark = 0;
	j->off = len;
	j->locked = 1;
	/* Unknown, it is another file at the next look: all is replayed. */
	if (fstat(fd, &st) == -1) {
		rc = mq_sys();
		j->dev = 0;
		j->ino = 0;
		return rc;
	}
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	return mq_spool_dirty(j->spool, j->dirfd);
}

/*
 * Removes journal 'name' of the directory 'dirfd' of 'spool', under its
 * lock, so that no process appends to it once removed.  Returns MQ_OK,
 * MQ_ENOGROUP if there is none, or an error.
 */
int
mq_journal_remove(mq_spool *spool, int dirfd, const char *name)
{
	struct mq_journal j;
	int rc, reset;

	rc = mq_journal_open(&j, spool, dirfd, name);
	if (rc == MQ_OK && (rc = mq_journal_lock(&j, &reset)) == MQ_OK)
		rc = mq_journal_unlink(&j);
	mq_journal_close(&j);
	return rc;
}

/*
 * Removes the journal, whose lock the caller holds, and closes it.
 * Other processes find it gone when they next look (MQ_ENOGROUP).
 */
int
mq_journal_unlink(struct mq_journal *j)
{
	int rc = MQ_OK;

	if (unlinkat(j->dirfd, j->name, 0) == -1)
		rc = errno == ENOENT ? MQ_ENOGROUP : mq_sys();
	jclose(j);
	if (rc == MQ_OK)
		rc = mq_spool_dirty(j->spool, j->dirfd);
	return rc;
}
