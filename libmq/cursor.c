/*
 * cursor.c - a range of a stream as it was at one moment, handed out
 * later, one entry at a time: for a server that sends a large XRANGE as
 * its client reads it, in many turns of its loop.
 *
 * Model: an entry is known by its offset, and the ids grow with the
 * offsets, so a range of ids is a range of offsets [lo, hi).  At the
 * open, the cursor brings the stream's view up to date, finds lo and hi
 * (two seeks through the index), and counts its entries without reading
 * them: hi - lo, less the deleted offsets between, which it copies.  It
 * then opens every segment file that holds part of the range (and their
 * indexes, going backward) and from then on reads only through those
 * descriptors and that copy, never the stream's view:
 *  - what is appended later lies at hi or past it;
 *  - a delete or a trim only writes a mark (marks.c), which the cursor
 *    does not read, and retention's unlink of a segment, or the removal
 *    or rename of the whole stream, leaves the open file readable;
 * so it hands out exactly what a range read at the open would have, as
 * Redis serves a large reply from the data as it was when the command
 * ran, and the caller may close the stream's handle meanwhile.
 *
 * Forward, the cursor reads its segments front to back in a buffer of
 * a few batches.  Backward, it reads windows of offsets below the last
 * one handed out, each forward from the index's position for it, copies
 * the window's entries and hands them out last first; a window holds a
 * few hundred entries, fewer when they are large, so that a copy stays
 * around WINDOW_BYTES.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "internal.h"
#include "stream.h"

#define CHUNK		(128u << 10)	/* bytes read at a time */
#define WINDOW_BYTES	(128u << 10)	/* a backward window's copies */
#define SPAN_FIRST	256		/* entries of the first window */
#define SPAN_MAX	65536
#define OPEN_TRIES	3		/* retention may race the opens */

/* A segment of the range, held open. */
struct pin {
	uint64_t	 base;		/* its first offset (its name) */
	int		 fd;		/* its log */
	int		 idx;		/* its index (backward), or -1 */
};

struct mq_cursor {
	struct pin	*pins;		/* by base, the range's segments */
	size_t		 npins;
	uint64_t	 lo, hi;	/* the range of offsets */
	uint64_t	*del;		/* offsets deleted in it at the open */
	size_t		 ndel;
	uint64_t	 left;		/* entries still to hand out */
	int		 reverse;

	/* The scan: reading forward from a position of pins[seg]. */
	size_t		 seg;
	unsigned char	*buf;
	size_t		 cap, blen, boff;
	uint64_t	 bpos;		/* file position of buf[0] */
	uint32_t	 count, i;	/* the batch handed out, its records */
	uint64_t	 base;
	size_t		 rec;		/* its next record, in buf */
	struct mq_header *hdrs;
	size_t		 nhdrs;

	/* Backward: the window of copies, handed out from its end. */
	uint64_t	 top;		/* entries below it are still to come */
	uint64_t	 span;
	unsigned char	*copies;
	size_t		 clen, ccap;
	size_t		*offs;		/* where each copy starts */
	size_t		 nwin, ocap;	/* copies not handed out yet */
};

static int
pin_cmp(const void *a, const void *b)
{
	const struct pin *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static void
pins_close(mq_cursor *c)
{
	size_t i;

	for (i = 0; i < c->npins; i++) {
		close(c->pins[i].fd);
		if (c->pins[i].idx != -1)
			close(c->pins[i].idx);
	}
	free(c->pins);
	c->pins = NULL;
	c->npins = 0;
}

void
mq_cursor_close(mq_cursor *c)
{
	if (c == NULL)
		return;
	pins_close(c);
	free(c->del);
	free(c->buf);
	free(c->hdrs);
	free(c->copies);
	free(c->offs);
	free(c);
}

/* Whether 'offset' was deleted at the open: a search of the copy. */
static int
deleted(const mq_cursor *c, uint64_t offset)
{
	size_t i = mq_offsets_lower(c->del, c->ndel, offset);

	return i < c->ndel && c->del[i] == offset;
}

/* ------------------------------------------------------------------
 * The scan over the pinned segments.
 * ---------------------------------------------------------------- */

/* The pin holding 'offset': the last whose base is at or below it. */
static size_t
pin_find(const mq_cursor *c, uint64_t offset)
{
	size_t lo = 0, hi = c->npins;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->pins[mid].base <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Starts the scan at file position 'pos' of pins[seg]. */
static void
scan_at(mq_cursor *c, size_t seg, uint64_t pos)
{
	c->seg = seg;
	c->bpos = pos;
	c->blen = c->boff = 0;
	c->count = c->i = 0;
}

/*
 * Reads more of the segment into the buffer, with room for at least
 * 'need' bytes.  Returns 1, 0 at the end of the file, or an error.
 */
static int
scan_fill(mq_cursor *c, size_t need)
{
	ssize_t n;

	if (c->boff > 0) {
		memmove(c->buf, c->buf + c->boff, c->blen - c->boff);
		c->bpos += c->boff;
		c->blen -= c->boff;
		c->boff = 0;
	}
	if (need < CHUNK)
		need = CHUNK;
	if (need > c->cap) {
		unsigned char *nb = realloc(c->buf, need);

		if (nb == NULL)
			return mq_sys();
		c->buf = nb;
		c->cap = need;
	}
	n = mq_pread_all(c->pins[c->seg].fd, c->buf + c->blen,
	    c->cap - c->blen, (off_t)(c->bpos + c->blen));
	if (n == -1)
		return mq_sys();
	c->blen += (size_t)n;
	return n > 0;
}

/*
 * Makes the next batch current, following a seal into the next pinned
 * segment: 1, or an error.  Everything the range holds was whole in the
 * files at the open, so running out of them is MQ_ECORRUPT.
 */
static int
scan_load(mq_cursor *c)
{
	struct mq_batch h;
	size_t avail;
	long len;
	int rc;

	for (;;) {
		avail = c->blen - c->boff;
		if (avail >= MQ_BATCH_HDR &&
		    mq_get32(c->buf + c->boff) == MQ_SEAL_MAGIC) {
			uint64_t next = mq_get64(c->buf + c->boff + 16);

			if (c->seg + 1 >= c->npins ||
			    c->pins[c->seg + 1].base != next)
				return MQ_ECORRUPT;
			scan_at(c, c->seg + 1, 0);
			continue;
		}
		len = avail >= MQ_BATCH_HDR ?
		    mq_batch_check(c->buf + c->boff, avail, 1, &h) : 0;
		if (len < 0)
			return (int)len;
		if (len > 0) {
			c->count = h.count;
			c->i = 0;
			c->base = h.base_offset;
			c->rec = c->boff + MQ_BATCH_HDR;
			c->boff += (size_t)len;
			return 1;
		}
		rc = scan_fill(c, avail >= MQ_BATCH_HDR ?
		    mq_get32(c->buf + c->boff + 4) : 0);
		if (rc <= 0)
			return rc == 0 ? MQ_ECORRUPT : rc;
	}
}

/*
 * The next record of the scan, any offset, into 'm' (valid until the
 * next call): 1, or 0 if it would be at 'limit' or past it (the batch
 * that holds it is not read: it may be being written), or an error.
 */
static int
scan_next(mq_cursor *c, uint64_t limit, struct mq_msg *m)
{
	long len;
	int rc;

	while (c->i == c->count) {
		if (c->count > 0 && c->base + c->count >= limit)
			return 0;
		if ((rc = scan_load(c)) < 0)
			return rc;
	}
	if (c->base + c->i >= limit)
		return 0;
	len = mq_record_decode(c->buf + c->rec, c->boff - c->rec, m, &c->hdrs,
	    &c->nhdrs);
	if (len < 0)
		return (int)len;
	c->rec += (size_t)len;
	m->offset = c->base + c->i++;
	return 1;
}

/* Positions the scan at or before 'offset', with the segment's index. */
static int
scan_seek(mq_cursor *c, uint64_t offset)
{
	size_t seg = pin_find(c, offset);
	uint64_t pos = 0;
	int rc;

	if (c->pins[seg].idx != -1 && (rc = mq_index_lookup(c->pins[seg].idx,
	    0, offset, (mq_id){ 0, 0 }, &pos)) != MQ_OK)
		return rc;
	scan_at(c, seg, pos);
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Opening: the count and the pins.
 * ---------------------------------------------------------------- */

/* The offset of the first entry with id >= 'id', or the next offset. */
static int
offset_of(mq_reader *r, mq_stream *s, mq_id id, uint64_t *offset)
{
	struct mq_msg m;
	int rc;

	if ((rc = mq_reader_seek_id(r, id)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_next(r, &m)) < 0)
		return rc;
	*offset = rc == 1 ? m.offset : s->next_offset;
	return MQ_OK;
}

/* Copies the deleted offsets of [lo, hi) from the stream's view. */
static int
copy_deleted(mq_cursor *c, const mq_stream *s)
{
	size_t a, b;

	a = mq_offsets_lower(s->deleted, s->ndeleted, c->lo);
	b = mq_offsets_lower(s->deleted, s->ndeleted, c->hi);
	c->ndel = b - a;
	if (c->ndel == 0)
		return MQ_OK;
	if ((c->del = reallocarray(NULL, c->ndel, sizeof(*c->del))) == NULL)
		return mq_sys();
	memcpy(c->del, s->deleted + a, c->ndel * sizeof(*c->del));
	return MQ_OK;
}

/* Opens the index of segment 'base', or -1 if it has none. */
static int
index_open(mq_stream *s, uint64_t base)
{
	char name[32];

	snprintf(name, sizeof(name), "%020llu.idx", (unsigned long long)base);
	return openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
}

/*
 * Opens the segments that hold part of [lo, hi), as the view lists
 * them; MQ_ENOMSG if retention removed one since (the caller looks
 * again).
 */
static int
pin_segments(mq_cursor *c, mq_stream *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nsegs; i++)
		if (s->segs[i].base < c->hi &&
		    (i + 1 == s->nsegs || s->segs[i + 1].base > c->lo))
			n++;
	if ((c->pins = calloc(n > 0 ? n : 1, sizeof(*c->pins))) == NULL)
		return mq_sys();
	for (i = 0; i < s->nsegs && c->npins < n; i++) {
		struct pin *p = &c->pins[c->npins];

		if (s->segs[i].base >= c->hi || (i + 1 < s->nsegs &&
		    s->segs[i + 1].base <= c->lo))
			continue;
		p->base = s->segs[i].base;
		p->idx = -1;
		if ((p->fd = mq_segment_open(s, p->base, O_RDONLY)) == -1)
			return errno == ENOENT ? MQ_ENOMSG : mq_sys();
		c->npins++;
		if (c->reverse)
			p->idx = index_open(s, p->base);
	}
	qsort(c->pins, c->npins, sizeof(*c->pins), pin_cmp);
	return MQ_OK;
}

/*
 * One try at the open: the bounds, the count, the copy of the deletes
 * and the pins, all from one view of the stream.
 */
static int
cursor_take(mq_cursor *c, mq_stream *s, mq_id start, mq_id end,
    size_t count, uint64_t *n)
{
	mq_reader *r;
	mq_id after = end;
	uint64_t all;
	int rc;

	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if ((rc = offset_of(r, s, start, &c->lo)) == MQ_OK) {
		if (mq_id_incr(&after) != MQ_OK)	/* end is the last id */
			c->hi = s->next_offset;
		else
			rc = offset_of(r, s, after, &c->hi);
	}
	mq_reader_close(r);
	if (rc != MQ_OK)
		return rc;
	/* The view of the last seek counts: a trim may have come between. */
	if (c->lo < s->first_offset)
		c->lo = s->first_offset;
	if (c->hi < c->lo)
		c->hi = c->lo;
	if ((rc = copy_deleted(c, s)) != MQ_OK)
		return rc;
	all = c->hi - c->lo - c->ndel;
	c->left = count > 0 && count < all ? count : all;
	*n = c->left;
	if (c->left == 0)
		return MQ_OK;
	return pin_segments(c, s);
}

/* Where a forward cursor starts: at or before lo, from the index. */
static int
forward_start(mq_cursor *c, mq_stream *s)
{
	uint64_t pos = 0;
	int fd, rc = MQ_OK;

	if ((fd = index_open(s, c->pins[0].base)) != -1) {
		rc = mq_index_lookup(fd, 0, c->lo, (mq_id){ 0, 0 }, &pos);
		close(fd);
	}
	scan_at(c, 0, pos);
	return rc;
}

int
mq_cursor_open(mq_stream *s, mq_id start, mq_id end, size_t count,
    int reverse, mq_cursor **out, uint64_t *n)
{
	mq_cursor *c;
	int rc, tries = 0;

	*out = NULL;
	*n = 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return mq_sys();
	c->reverse = reverse;
	if (mq_id_cmp(start, end) > 0) {
		*out = c;
		return MQ_OK;
	}
	for (;;) {
		rc = cursor_take(c, s, start, end, count, n);
		if (rc != MQ_ENOMSG)
			break;
		if (++tries == OPEN_TRIES) {
			errno = ENOENT;
			rc = mq_sys();
			break;
		}
		/*
		 * Retention removed a segment between the view and the open:
		 * list them again (a seek does not) and start over.
		 */
		pins_close(c);
		free(c->del);
		c->del = NULL;
		if ((rc = mq_segments_load(s)) != MQ_OK)
			break;
	}
	if (rc == MQ_OK && c->left > 0 && !reverse)
		rc = forward_start(c, s);
	if (rc != MQ_OK) {
		mq_cursor_close(c);
		*n = 0;
		return rc;
	}
	c->top = c->hi;
	c->span = SPAN_FIRST;
	*out = c;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Handing out.
 * ---------------------------------------------------------------- */

static int
next_forward(mq_cursor *c, struct mq_msg *m)
{
	int rc;

	for (;;) {
		if ((rc = scan_next(c, c->hi, m)) <= 0)
			return rc == 0 ? MQ_ECORRUPT : rc;
		if (m->offset >= c->lo && !deleted(c, m->offset))
			return 1;
	}
}

/*
 * Reads the window of offsets [top - span, top) (not below lo) and
 * copies its entries; the next window's span follows their size.
 */
static int
window_read(mq_cursor *c)
{
	struct mq_msg m;
	uint64_t wlo;
	int rc;

	wlo = c->top - c->lo > c->span ? c->top - c->span : c->lo;
	if ((rc = scan_seek(c, wlo)) != MQ_OK)
		return rc;
	c->clen = c->nwin = 0;
	while ((rc = scan_next(c, c->top, &m)) == 1) {
		if (m.offset < wlo || deleted(c, m.offset))
			continue;
		if ((rc = mq_grow(&c->offs, &c->ocap, c->nwin + 1,
		    sizeof(*c->offs))) != MQ_OK ||
		    (rc = mq_msg_copy(&m, &c->copies, &c->clen, &c->ccap,
		    &c->offs[c->nwin])) != MQ_OK)
			return rc;
		c->nwin++;
	}
	if (rc < 0)
		return rc;
	c->top = wlo;
	if (c->clen > WINDOW_BYTES && c->span > 1)
		c->span /= 2;
	else if (c->clen < WINDOW_BYTES / 4 && c->span < SPAN_MAX)
		c->span *= 2;
	return MQ_OK;
}

static int
next_reverse(mq_cursor *c, struct mq_msg *m)
{
	int rc;

	while (c->nwin == 0) {
		if (c->top <= c->lo)
			return MQ_ECORRUPT;	/* fewer than were counted */
		if ((rc = window_read(c)) != MQ_OK)
			return rc;
	}
	mq_msg_at(c->copies, c->offs[--c->nwin], m);
	return 1;
}

int
mq_cursor_next(mq_cursor *c, struct mq_msg *m)
{
	int rc;

	if (c->left == 0)
		return 0;
	rc = c->reverse ? next_reverse(c, m) : next_forward(c, m);
	if (rc == 1)
		c->left--;
	return rc;
}
