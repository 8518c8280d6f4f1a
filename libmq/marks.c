/*
 * marks.c - the journal of changes to a stream that are not appends:
 * deleted entries (XDEL), the first offset after a trim (XTRIM, max-len,
 * retention) and the top id set by XSETID.
 *
 * "marks" is a file of 32-byte records, each with its own CRC-32C:
 *	u32 crc (of bytes 4..31), u32 type, u64 a, u64 b, u64 c
 * Records are only appended, under the stream's lock.  Every process
 * replays the part it has not seen yet before it reads the state; a torn
 * last record (a crash) is not replayed, and the next writer cuts it off.
 *
 * The file is made by the first record: most streams never delete or
 * trim, and a file less is an inode less to make for each new stream.
 * Until then a process looks for it when it catches up, only if the
 * spool's counter of such changes moved (MQ_ROUTES_STREAMS).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"

void
mq_mark_encode(unsigned char *p, uint32_t type, uint64_t a, uint64_t b,
    uint64_t c)
{
	mq_put32(p + 4, type);
	mq_put64(p + 8, a);
	mq_put64(p + 16, b);
	mq_put64(p + 24, c);
	mq_put32(p, mq_crc32c(0, p + 4, MQ_MARK_SIZE - 4));
}

size_t
mq_offsets_lower(const uint64_t *v, size_t n, uint64_t offset)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 if 'offset' is in the sorted list of deleted offsets. */
int
mq_is_deleted(const mq_stream *s, uint64_t offset)
{
	size_t i = mq_offsets_lower(s->deleted, s->ndeleted, offset);

	return i < s->ndeleted && s->deleted[i] == offset;
}

static int
deleted_add(mq_stream *s, uint64_t offset)
{
	size_t lo = 0, hi = s->ndeleted;

	if (offset < s->first_offset)
		return MQ_OK;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->deleted[mid] == offset)
			return MQ_OK;
		if (s->deleted[mid] < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->ndeleted == s->capdeleted) {
		size_t cap = s->capdeleted ? s->capdeleted * 2 : 64;
		uint64_t *n = reallocarray(s->deleted, cap, sizeof(*n));

		if (n == NULL)
			return mq_sys();
		s->deleted = n;
		s->capdeleted = cap;
	}
	memmove(s->deleted + lo + 1, s->deleted + lo,
	    (s->ndeleted - lo) * sizeof(*s->deleted));
	s->deleted[lo] = offset;
	s->ndeleted++;
	return MQ_OK;
}

/* Forgets deleted offsets below a new first offset. */
static void
deleted_trim(mq_stream *s)
{
	size_t i = 0;

	while (i < s->ndeleted && s->deleted[i] < s->first_offset)
		i++;
	if (i == 0)
		return;
	memmove(s->deleted, s->deleted + i,
	    (s->ndeleted - i) * sizeof(*s->deleted));
	s->ndeleted -= i;
}

static int
mark_apply(mq_stream *s, const unsigned char *p)
{
	uint64_t a = mq_get64(p + 8), b = mq_get64(p + 16), c = mq_get64(p + 24);
	mq_id id = { a, b };

	switch (mq_get32(p + 4)) {
	case MQ_MARK_DELETE: {
		mq_id del = { b, c };

		if (mq_id_cmp(del, s->max_deleted) > 0)
			s->max_deleted = del;
		return deleted_add(s, a);
	}
	case MQ_MARK_TRIM:
		if (a > s->first_offset) {
			s->first_offset = a;
			deleted_trim(s);
		}
		return MQ_OK;
	case MQ_MARK_SETID:
		s->setid = id;
		s->added_delta = (int64_t)c;
		return MQ_OK;
	case MQ_MARK_MAXDEL:
		s->max_deleted = id;
		return MQ_OK;
	default:
		return MQ_ECORRUPT;
	}
}

/*
 * Opens the marks file if it is there now ('create': makes it, under the
 * lock); MQ_OK with s->marksfd still -1 when there is none.
 */
static int
marks_open(mq_stream *s, int create)
{
	if (s->marksfd != -1)
		return MQ_OK;
	if (!create && !mq_routes_moved(s->spool, MQ_ROUTES_STREAMS,
	    &s->marks_seen))
		return MQ_OK;	/* none then, and none made since */
	s->marksfd = mq_open_rw(s->dirfd, "marks", create ? O_CREAT : 0,
	    &s->rdonly);
	if (s->marksfd == -1)
		return errno == ENOENT && !create ? MQ_OK : mq_sys();
	if (!create)
		return MQ_OK;
	mq_routes_bump(s->spool, MQ_ROUTES_STREAMS);
	return mq_spool_dirty(s->spool, s->dirfd);
}

/*
 * Replays the records appended since the last call; '*size' gets the
 * size of the file as seen (0 without one).
 */
static int
replay(mq_stream *s, uint64_t *size)
{
	unsigned char buf[MQ_MARK_SIZE * 128];
	struct stat st;
	ssize_t n;
	size_t i;
	int rc;

	*size = 0;
	if ((rc = marks_open(s, 0)) != MQ_OK || s->marksfd == -1)
		return rc;
	if (fstat(s->marksfd, &st) == -1)
		return mq_sys();
	*size = (uint64_t)st.st_size;
	while (*size >= s->marks_end + MQ_MARK_SIZE) {
		n = mq_pread_all(s->marksfd, buf, sizeof(buf), (off_t)s->marks_end);
		if (n == -1)
			return mq_sys();
		if (n < MQ_MARK_SIZE)
			break;
		for (i = 0; i + MQ_MARK_SIZE <= (size_t)n; i += MQ_MARK_SIZE) {
			const unsigned char *p = buf + i;

			if (mq_crc32c(0, p + 4, MQ_MARK_SIZE - 4) != mq_get32(p))
				return MQ_OK;	/* torn: stop before it */
			if ((rc = mark_apply(s, p)) != MQ_OK)
				return rc;
			s->marks_end += MQ_MARK_SIZE;
		}
	}
	return MQ_OK;
}

int
mq_marks_replay(mq_stream *s)
{
	uint64_t size;

	return replay(s, &size);
}

/* Under the lock: cuts off a torn tail of the journal after replaying it. */
int
mq_marks_repair(mq_stream *s)
{
	uint64_t size;
	int rc;

	if ((rc = replay(s, &size)) != MQ_OK)
		return rc;
	if (size != s->marks_end && ftruncate(s->marksfd, (off_t)s->marks_end) == -1)
		return mq_sys();
	return MQ_OK;
}

/* Under the lock: appends 'n' encoded records and applies them. */
int
mq_marks_append(mq_stream *s, const unsigned char *recs, size_t n)
{
	size_t i;
	int rc;

	if ((rc = mq_marks_repair(s)) != MQ_OK ||
	    (rc = marks_open(s, 1)) != MQ_OK)
		return rc;
	if ((rc = mq_pwrite_all(s->marksfd, recs, n * MQ_MARK_SIZE,
	    (off_t)s->marks_end)) != MQ_OK)
		return rc;
	if ((rc = mq_spool_dirty(s->spool, s->marksfd)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = mark_apply(s, recs + i * MQ_MARK_SIZE)) != MQ_OK)
			return rc;
	s->marks_end += n * MQ_MARK_SIZE;
	return MQ_OK;
}
