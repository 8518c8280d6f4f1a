/*
 * reader.c - reading a stream: a cursor over its segments, and ranges.
 *
 * A reader never locks, but to apply what the spool's write-ahead log
 * holds for its stream (wal.c), at a seek and at the end of what the
 * segments hold.  It reads a segment in large chunks into its own
 * buffer, hands out the records of one checked batch at a time as views
 * into that buffer, and follows a seal into the next segment.  A batch
 * that is not whole yet, or whose CRC fails at the tail of the newest
 * segment, is where the stream ends for now: it is being written, or it
 * was torn by a crash and will be cut off by the next appender.
 *
 * The buffer is sized to what there is to read: up to CHUNK while a
 * reader catches up, a page or two at the tail, and it is let go when
 * the reader has read everything, so that thousands of readers waiting
 * at the tail (one per consumer group) hold almost nothing.
 *
 * Positioning uses the segment list (a binary search by base offset or by
 * first id) and the segment's sparse index, so a seek costs O(log n)
 * reads however long the stream is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "internal.h"
#include "stream.h"
#include "wal.h"

#define CHUNK (256u << 10)
#define SMALL (16u << 10)	/* a buffer above this is let go at the tail */

struct mq_reader {
	mq_stream	*s;
	uint64_t	 seg;		/* base offset of the segment being read */
	int		 fd;		/* -1: not open yet */

	unsigned char	*buf;
	size_t		 cap;
	uint64_t	 bpos;		/* file position of buf[0] */
	size_t		 blen;		/* bytes in buf */
	size_t		 boff;		/* start of the next batch in buf */
	int		 full;		/* the last fill filled it */

	/* The batch being handed out. */
	uint32_t	 count, i;
	uint64_t	 base;
	size_t		 rec;		/* next record, as an index into buf */

	/* Entries before these are skipped (the target of a seek). */
	uint64_t	 min_offset;
	mq_id		 min_id;

	struct mq_header *hdrs;
	size_t		 nhdrs;
};

int
mq_reader_open(mq_stream *s, mq_reader **out)
{
	mq_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mq_sys();
	r->s = s;
	r->fd = -1;
	*out = r;
	return mq_reader_seek_offset(r, s->first_offset);
}

void
mq_reader_close(mq_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	free(r->hdrs);
	free(r);
}

/* Drops what is buffered and moves to 'pos' of segment 'seg'. */
static void
reader_jump(mq_reader *r, uint64_t seg, uint64_t pos)
{
	if (r->fd != -1 && r->seg != seg) {
		close(r->fd);
		r->fd = -1;
	}
	r->seg = seg;
	r->bpos = pos;
	r->blen = r->boff = 0;
	r->count = r->i = 0;
}

/* Opens the current segment; at its loss to retention, starts over. */
static int
reader_open_segment(mq_reader *r)
{
	mq_stream *s = r->s;
	int rc;

	if (r->fd != -1)
		return 1;
	r->fd = mq_segment_open(s, r->seg, O_RDONLY);
	if (r->fd != -1)
		return 1;
	if (errno != ENOENT)
		return mq_sys();
	/* Removed under us (retention), or not created yet (after a seal). */
	if ((rc = mq_segments_load(s)) != MQ_OK ||
	    (rc = mq_marks_replay(s)) != MQ_OK)
		return rc;
	if (r->seg < s->segs[0].base) {
		if (r->min_offset < s->first_offset)
			r->min_offset = s->first_offset;
		reader_jump(r, s->segs[0].base, 0);
		r->fd = mq_segment_open(s, r->seg, O_RDONLY);
		return r->fd == -1 ? mq_sys() : 1;
	}
	return 0;
}

/*
 * A position in segment 'i' at or before the entry sought, from the index;
 * 0 when the index has nothing useful.
 */
static uint64_t
index_position(mq_stream *s, size_t i, int by_id, uint64_t offset, mq_id id)
{
	char name[32];
	uint64_t pos = 0;
	int fd;

	snprintf(name, sizeof(name), "%020llu.idx",
	    (unsigned long long)s->segs[i].base);
	if ((fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (mq_index_lookup(fd, by_id, offset, id, &pos) != MQ_OK)
		pos = 0;
	close(fd);
	return pos;
}

int
mq_reader_seek_offset(mq_reader *r, uint64_t offset)
{
	mq_stream *s = r->s;
	size_t i;
	int rc;

	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	if (offset < s->first_offset)
		offset = s->first_offset;
	i = mq_segment_find_offset(s, offset);
	r->min_offset = offset;
	r->min_id.ms = r->min_id.seq = 0;
	reader_jump(r, s->segs[i].base, index_position(s, i, 0, offset, r->min_id));
	return MQ_OK;
}

int
mq_reader_seek_id(mq_reader *r, mq_id id)
{
	mq_stream *s = r->s;
	size_t i;
	int rc;

	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	i = mq_segment_find_id(s, id);
	r->min_offset = s->first_offset;
	r->min_id = id;
	reader_jump(r, s->segs[i].base, index_position(s, i, 1, 0, id));
	return MQ_OK;
}

int
mq_reader_seek_end(mq_reader *r)
{
	mq_stream *s = r->s;
	int rc;

	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	r->min_offset = s->next_offset;
	r->min_id.ms = r->min_id.seq = 0;
	reader_jump(r, s->segs[s->nsegs - 1].base, s->end);
	return MQ_OK;
}

/*
 * The size of buffer to read into, at least 'need' bytes: a sealed
 * segment is read in CHUNKs; the active one as far as it is known to
 * go, or, past that (others appended since this process looked), as
 * much as the last fill, twice that if it filled the buffer; in whole
 * pages, at most CHUNK.
 */
static size_t
fill_size(const mq_reader *r, size_t need)
{
	const mq_stream *s = r->s;
	uint64_t from = r->bpos + r->blen, want = CHUNK;

	if (s->nsegs > 0 && r->seg == s->segs[s->nsegs - 1].base) {
		if (s->end > from)
			want = r->blen + (s->end - from);
		else
			want = r->full ? 2 * r->cap : r->cap;
	}
	want = (want + 4095) & ~(uint64_t)4095;
	if (want == 0)
		want = 4096;
	if (want > CHUNK)
		want = CHUNK;
	return want > need ? (size_t)want : need;
}

/* At the end of what there is, a large buffer is let go. */
static void
reader_idle(mq_reader *r)
{
	if (r->blen > 0 || r->cap <= SMALL)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Reads more of the segment into the buffer, keeping at least 'need' bytes of room. */
static int
reader_fill(mq_reader *r, size_t need)
{
	ssize_t n;
	int rc;

	if (r->boff > 0) {
		memmove(r->buf, r->buf + r->boff, r->blen - r->boff);
		r->bpos += r->boff;
		r->blen -= r->boff;
		r->boff = 0;
	}
	need = fill_size(r, need);
	if (need > r->cap) {
		unsigned char *nb = realloc(r->buf, need);

		if (nb == NULL)
			return mq_sys();
		r->buf = nb;
		r->cap = need;
	}
	n = mq_pread_all(r->fd, r->buf + r->blen, r->cap - r->blen,
	    (off_t)(r->bpos + r->blen));
	if (n == -1)
		return mq_sys();
	r->full = r->blen + (size_t)n == r->cap;
	r->blen += (size_t)n;
	if (n == 0)
		reader_idle(r);
	/* New data may come with new deletes and trims. */
	if (n > 0 && (rc = mq_marks_replay(r->s)) != MQ_OK)
		return rc;
	return n > 0;
}

/* The base of the segment listed after the reader's, or 0 if it is the last. */
static uint64_t
next_segment(mq_reader *r)
{
	mq_stream *s = r->s;
	size_t i = mq_segment_find_offset(s, r->seg);

	if (s->segs[i].base == r->seg && i + 1 < s->nsegs)
		return s->segs[i + 1].base;
	return 0;
}

/*
 * Makes the next batch current: 1, or 0 at the end for now, or an error.
 */
static int
reader_load(mq_reader *r)
{
	struct mq_batch h;
	uint64_t next;
	size_t avail;
	long len;
	int rc, applied = 0;

	for (;;) {
		if ((rc = reader_open_segment(r)) <= 0)
			return rc;
		avail = r->blen - r->boff;
		if (avail >= MQ_BATCH_HDR &&
		    mq_get32(r->buf + r->boff) == MQ_SEAL_MAGIC) {
			const unsigned char *p = r->buf + r->boff;

			if (mq_crc32c(0, p + 12, MQ_BATCH_HDR - 12) != mq_get32(p + 8)) {
				r->blen = r->boff;	/* torn: read again */
				return 0;
			}
			next = mq_get64(p + 16);
			reader_jump(r, next, 0);
			continue;
		}
		len = avail >= MQ_BATCH_HDR ?
		    mq_batch_check(r->buf + r->boff, avail, 1, &h) : 0;
		if (len > 0) {
			r->count = h.count;
			r->i = 0;
			r->base = h.base_offset;
			r->rec = r->boff + MQ_BATCH_HDR;
			r->boff += (size_t)len;
			/* Whole batches before the target are passed over. */
			if (h.base_offset + h.count <= r->min_offset ||
			    mq_id_cmp(h.last, r->min_id) < 0) {
				r->i = r->count;
				continue;
			}
			return 1;
		}
		if (len < 0) {
			/* Only the newest segment may end in a torn batch. */
			if (r->seg != r->s->segs[r->s->nsegs - 1].base &&
			    (rc = mq_segments_load(r->s)) == MQ_OK &&
			    r->seg != r->s->segs[r->s->nsegs - 1].base)
				return MQ_ECORRUPT;
			/*
			 * Torn or being written: forget these bytes, so that
			 * what replaces them is read afresh from the file.
			 */
			r->blen = r->boff;
			return 0;
		}
		rc = reader_fill(r, avail >= MQ_BATCH_HDR ?
		    mq_get32(r->buf + r->boff + 4) : 0);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			r->blen = r->boff;
			/*
			 * The end of a segment that has a successor but no
			 * seal (lost with the page cache at a power failure):
			 * go on with the next one.
			 */
			if ((next = next_segment(r)) != 0) {
				reader_jump(r, next, 0);
				continue;
			}
			/*
			 * What was appended through the spool's log is in
			 * no segment until it is applied (wal.c): once, apply
			 * it and read on.
			 */
			if (!applied && !r->s->rdonly &&
			    mq_wal_pending(r->s->spool, r->s->enc, &rc)) {
				applied = 1;
				if ((rc = mq_stream_refresh(r->s)) != MQ_OK)
					return rc;
				continue;
			}
			return 0;
		}
	}
}

int
mq_reader_next(mq_reader *r, struct mq_msg *msg)
{
	mq_stream *s = r->s;
	uint64_t offset;
	long len;
	int rc;

	for (;;) {
		while (r->i < r->count) {
			len = mq_record_decode(r->buf + r->rec, r->boff - r->rec,
			    msg, &r->hdrs, &r->nhdrs);
			if (len < 0)
				return (int)len;
			r->rec += (size_t)len;
			offset = r->base + r->i++;
			if (offset < r->min_offset || offset < s->first_offset ||
			    mq_id_cmp(msg->id, r->min_id) < 0 ||
			    (s->ndeleted > 0 && mq_is_deleted(s, offset)))
				continue;
			msg->offset = offset;
			return 1;
		}
		if ((rc = reader_load(r)) <= 0)
			return rc;
	}
}

int
mq_reader_get(mq_reader *r, mq_id id, struct mq_msg *msg)
{
	int rc;

	if ((rc = mq_reader_seek_id(r, id)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_next(r, msg)) != 1)
		return rc;
	return mq_id_cmp(msg->id, id) == 0;
}

/* ------------------------------------------------------------------
 * Ranges (XRANGE and XREVRANGE).
 * ---------------------------------------------------------------- */

static int
range_forward(mq_reader *r, mq_id start, mq_id end, size_t count,
    int (*fn)(const struct mq_msg *, void *), void *arg)
{
	struct mq_msg m;
	size_t n = 0;
	int rc;

	if ((rc = mq_reader_seek_id(r, start)) != MQ_OK)
		return rc;
	while ((count == 0 || n < count) && (rc = mq_reader_next(r, &m)) == 1) {
		if (mq_id_cmp(m.id, end) > 0)
			break;
		n++;
		if (fn(&m, arg) != 0)
			break;
	}
	return rc < 0 ? rc : MQ_OK;
}

/*
 * Backward: windows of offsets below the first entry past 'end' are read
 * forward, copied, and handed out in reverse, each window below the last.
 */
static int
range_reverse(mq_reader *r, mq_id start, mq_id end, size_t count,
    int (*fn)(const struct mq_msg *, void *), void *arg)
{
	mq_stream *s = r->s;
	struct mq_msg m, *win = NULL;
	unsigned char *copies = NULL;
	uint64_t hi, lo, span;
	size_t *offs = NULL, n = 0, k = 0, cap = 0, ocap = 0, len = 0;
	size_t ccap = 0, j;
	int rc, stop = 0;

	/* 'hi': the offset of the first entry after 'end'. */
	if (mq_id_cmp(end, MQ_ID_LAST) == 0) {
		if ((rc = mq_stream_refresh(s)) != MQ_OK)
			return rc;
		hi = s->next_offset;
	} else {
		mq_id after = end;

		mq_id_incr(&after);
		if ((rc = mq_reader_seek_id(r, after)) != MQ_OK)
			return rc;
		if ((rc = mq_reader_next(r, &m)) < 0)
			return rc;
		hi = rc == 1 ? m.offset : s->next_offset;
	}
	span = count > 0 && count < 128 ? count : 128;
	while (!stop && hi > s->first_offset && (count == 0 || n < count)) {
		lo = hi - s->first_offset > span ? hi - span : s->first_offset;
		if ((rc = mq_reader_seek_offset(r, lo)) != MQ_OK)
			goto out;
		k = len = 0;
		while ((rc = mq_reader_next(r, &m)) == 1 && m.offset < hi) {
			if ((rc = mq_grow(&win, &cap, k + 1, sizeof(*win))) !=
			    MQ_OK || (rc = mq_grow(&offs, &ocap, k + 1,
			    sizeof(*offs))) != MQ_OK ||
			    (rc = mq_msg_copy(&m, &copies, &len, &ccap,
			    &offs[k])) != MQ_OK)
				goto out;
			k++;
		}
		if (rc < 0)
			goto out;
		for (j = 0; j < k; j++)
			mq_msg_at(copies, offs[j], &win[j]);
		for (j = k; j > 0 && !stop; j--) {
			const struct mq_msg *w = &win[j - 1];

			if (mq_id_cmp(w->id, end) > 0)
				continue;
			if (mq_id_cmp(w->id, start) < 0 ||
			    (count > 0 && n >= count)) {
				stop = 1;
				break;
			}
			n++;
			if (fn(w, arg) != 0)
				stop = 1;
		}
		hi = lo;
		if (span < (1u << 16))
			span *= 2;
	}
	rc = MQ_OK;
out:
	free(copies);
	free(win);
	free(offs);
	return rc;
}

int
mq_range(mq_stream *s, mq_id start, mq_id end, size_t count, int reverse,
    int (*fn)(const struct mq_msg *msg, void *arg), void *arg)
{
	mq_reader *r;
	int rc;

	if (mq_id_cmp(start, end) > 0)
		return MQ_OK;
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if (reverse)
		rc = range_reverse(r, start, end, count, fn, arg);
	else
		rc = range_forward(r, start, end, count, fn, arg);
	mq_reader_close(r);
	return rc;
}
