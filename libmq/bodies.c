/*
 * bodies.c - the bytes of the bodies a stream keeps, for the
 * max-len-bytes policy (RabbitMQ's x-max-length-bytes).
 *
 * Model: a handle counts the bodies of the live entries of its view once
 * (a read of the stream), then keeps the count up to date: its own
 * appends add their bodies, entries that others appended are read from
 * where the count ended, and its own trims by this policy subtract what
 * they read at the head.  Any other change of the live range -- a trim
 * or delete by anyone, a retention that dropped a segment -- makes the
 * next count read the stream again.  So a queue at its limit under a
 * steady publisher costs a read of the few entries it drops, not of the
 * queue.  What is counted is what max-len counts: the entries kept in the
 * stream, delivered or not (docs/quirks.md); only their bodies, as
 * RabbitMQ counts, not their headers or ids.
 */
#include <stdint.h>

#include "internal.h"
#include "stream.h"

/* Adds the bodies of the live entries in [from, s->next_offset) to '*sum'. */
static int
sum_from(mq_stream *s, uint64_t from, uint64_t *sum)
{
	struct mq_msg m;
	mq_reader *r;
	int rc;

	if (from >= s->next_offset)
		return MQ_OK;
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_seek_offset(r, from)) == MQ_OK)
		while ((rc = mq_reader_next(r, &m)) == 1 &&
		    m.offset < s->next_offset)
			*sum += m.bodylen;
	mq_reader_close(r);
	return rc < 0 ? rc : MQ_OK;
}

/* Whether the count is of the live range of the view as it is. */
static int
count_current(const mq_stream *s)
{
	return s->bodies_known && s->bodies_first == s->first_offset &&
	    s->bodies_ndeleted == s->ndeleted &&
	    s->bodies_next <= s->next_offset;
}

int
mq_bodies_count(mq_stream *s, uint64_t *total)
{
	uint64_t from, sum, first;
	size_t ndeleted;
	int rc, tries;

	/*
	 * The reader refreshes the view: without the lock another process
	 * may trim or delete meanwhile, and a count begun before that must
	 * not be stamped with the view after it.  Under the lock the view
	 * stands still and one pass does.
	 */
	for (tries = 0; tries < 3; tries++) {
		first = s->first_offset;
		ndeleted = s->ndeleted;
		from = s->bodies_next;
		sum = s->bodies;
		if (!count_current(s)) {
			from = first;
			sum = 0;
		}
		s->bodies_known = 0;
		if ((rc = sum_from(s, from, &sum)) != MQ_OK)
			return rc;
		*total = sum;
		if (s->first_offset == first && s->ndeleted == ndeleted) {
			s->bodies_known = 1;
			s->bodies_first = first;
			s->bodies_ndeleted = ndeleted;
			s->bodies_next = s->next_offset;
			s->bodies = sum;
			return MQ_OK;
		}
	}
	return MQ_OK;	/* a moving view: this total, counted again next time */
}

int
mq_bodies_within(const mq_stream *s, uint64_t limit)
{
	return count_current(s) && s->bodies_next == s->next_offset &&
	    s->bodies <= limit;
}

void
mq_bodies_appended(mq_stream *s, uint64_t before, const struct mq_msg *msgs,
    size_t n)
{
	size_t i;

	/* Entries of others between: the next count reads them, and these. */
	if (!s->bodies_known || s->bodies_next != before)
		return;
	for (i = 0; i < n; i++)
		s->bodies += msgs[i].bodylen;
	s->bodies_next = s->next_offset;
}

int
mq_bodies_cut(mq_stream *s, uint64_t limit, uint64_t total, uint64_t bound,
    uint64_t *cut, uint64_t *dropped)
{
	struct mq_msg m;
	mq_reader *r;
	int rc;

	*cut = s->first_offset;
	*dropped = 0;
	if (bound == UINT64_MAX && total <= limit)
		return MQ_OK;
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	/* With a bound, all below it: what was copied, empty bodies too. */
	if ((rc = mq_reader_seek_offset(r, s->first_offset)) == MQ_OK)
		while ((bound != UINT64_MAX ||
		    (*dropped < total && total - *dropped > limit)) &&
		    (rc = mq_reader_next(r, &m)) == 1 &&
		    m.offset < s->next_offset && m.offset < bound) {
			*dropped += m.bodylen;
			*cut = m.offset + 1;
		}
	mq_reader_close(r);
	return rc < 0 ? rc : MQ_OK;
}

void
mq_bodies_trimmed(mq_stream *s, uint64_t cut, uint64_t dropped)
{
	/* A retention that went further dropped bodies not counted here. */
	if (!s->bodies_known || s->first_offset != cut ||
	    dropped > s->bodies) {
		s->bodies_known = 0;
		return;
	}
	s->bodies -= dropped;
	s->bodies_first = s->first_offset;
	s->bodies_ndeleted = s->ndeleted;
}
