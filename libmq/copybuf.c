/*
 * copybuf.c - the copies of messages that a group operation hands out or
 * dead-letters.
 *
 * Model: a read of a group delivers up to thousands of entries, each a
 * view into its reader's buffer that the next entry replaces, so each is
 * copied as it is taken (mq_msg_copy), all into one buffer that grows as
 * they come.  Only at the end, when the buffer stands still, do the
 * copies become the messages handed out (mq_copies_finish); those bound
 * for the dead letters keep their reason and delivery count beside them.
 * A group keeps its buffers from one call to the next, unless they grew
 * large: thousands of groups may be open at once, most of them idle.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define COPIES_KEEP	(16u << 10)	/* bytes kept between calls */

void
mq_copies_free(struct mq_copies *cp)
{
	free(cp->buf);
	free(cp->mc);
	free(cp->msgs);
	free(cp->counts);
}

void
mq_copies_reset(struct mq_copies *cp)
{
	if (cp->cap + cp->capmc * sizeof(*cp->mc) +
	    cp->capmsgs * sizeof(*cp->msgs) +
	    cp->capcounts * sizeof(*cp->counts) > COPIES_KEEP) {
		mq_copies_free(cp);
		memset(cp, 0, sizeof(*cp));
		return;
	}
	cp->len = cp->nmc = 0;
}

int
mq_copies_add(struct mq_copies *cp, const struct mq_msg *m,
    const char *reason, uint64_t count)
{
	struct mq_copy *mc;
	int rc;

	if ((rc = mq_grow(&cp->mc, &cp->capmc, cp->nmc + 1,
	    sizeof(*cp->mc))) != MQ_OK)
		return rc;
	mc = &cp->mc[cp->nmc];
	if ((rc = mq_msg_copy(m, &cp->buf, &cp->len, &cp->cap, &mc->off)) !=
	    MQ_OK)
		return rc;
	mc->id = m->id;
	mc->offset = m->offset;
	mc->reason = reason;
	mc->count = count;
	cp->nmc++;
	return MQ_OK;
}

int
mq_copies_finish(struct mq_copies *cp, struct mq_msg *out)
{
	size_t i;
	int rc;

	if (out == NULL) {
		if ((rc = mq_grow(&cp->msgs, &cp->capmsgs, cp->nmc,
		    sizeof(*cp->msgs))) != MQ_OK ||
		    (rc = mq_grow(&cp->counts, &cp->capcounts, cp->nmc,
		    sizeof(*cp->counts))) != MQ_OK)
			return rc;
		out = cp->msgs;
	}
	for (i = 0; i < cp->nmc; i++) {
		mq_msg_at(cp->buf, cp->mc[i].off, &out[i]);
		if (out == cp->msgs)
			cp->counts[i] = cp->mc[i].count;
	}
	return MQ_OK;
}
