/*
 * stream_cache.c - a bounded set of open streams, the least recently
 * used closed first (see stream_cache.h).
 *
 * The slots are few, so a lookup is a walk over all of them; the tool
 * asks only when the stream changes, not for each message.  An open
 * stream keeps up to STREAM_FDS descriptors (its directory, the segment
 * it appends to, that segment's index and, once it was trimmed, its
 * marks); the slots are as many as fit the descriptor limit after
 * STREAM_SPARE for everything else (standard input and output, the
 * spool, the files libmq keeps to sync, the brief opens of opening a
 * stream).
 */
#include <sys/resource.h>

#include <err.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "stream_cache.h"
#include "tool.h"

#define STREAM_FDS	4
#define STREAM_SPARE	16

struct slot {
	mq_stream	*stream;	/* NULL: free */
	uint64_t	 used;		/* the tick it was last asked for */
};

struct stream_cache {
	mq_spool	*spool;
	int		 flags;		/* of mq_stream_open */
	struct slot	 slots[STREAM_CACHE_SLOTS];
	size_t		 nslots;	/* in use of slots[], by the limit */
	uint64_t	 tick;
	int		 count;		/* keep 'seen' */
	void		*seen;		/* tsearch(3) tree of the names asked for */
	uint64_t	 nseen;		/* names in it */
};

/* The slots the descriptor limit leaves room for: 1 to STREAM_CACHE_SLOTS. */
static size_t
slots_for_limit(void)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return STREAM_CACHE_SLOTS;
	if (rl.rlim_cur <= STREAM_SPARE + STREAM_FDS)
		return 1;
	room = (rl.rlim_cur - STREAM_SPARE) / STREAM_FDS;
	return room < STREAM_CACHE_SLOTS ? (size_t)room : STREAM_CACHE_SLOTS;
}

struct stream_cache *
stream_cache_new(mq_spool *spool, int flags, int count)
{
	struct stream_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		err(EX_TEMPFAIL, "calloc");
	c->spool = spool;
	c->flags = flags;
	c->nslots = slots_for_limit();
	c->count = count;
	return c;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Adds 'name' to the names asked for, if it is not there. */
static void
cache_count(struct stream_cache *c, const char *name)
{
	char *copy;

	if (tfind(name, &c->seen, name_cmp) != NULL)
		return;
	if ((copy = strdup(name)) == NULL ||
	    tsearch(copy, &c->seen, name_cmp) == NULL)
		err(EX_TEMPFAIL, "malloc");
	c->nseen++;
}

/*
 * The slot of stream 'name', or else the one to open it in: a free
 * slot, or the one asked for least recently, its stream closed.
 */
static struct slot *
cache_slot(struct stream_cache *c, const char *name)
{
	struct slot *s, *victim = &c->slots[0];
	size_t i;

	for (i = 0; i < c->nslots; i++) {
		s = &c->slots[i];
		if (s->stream == NULL) {
			victim = s;
			continue;
		}
		if (strcmp(mq_stream_name(s->stream), name) == 0)
			return s;
		if (victim->stream != NULL && s->used < victim->used)
			victim = s;
	}
	mq_stream_close(victim->stream);
	victim->stream = NULL;
	return victim;
}

int
stream_cache_get(struct stream_cache *c, const char *name,
    mq_stream **stream)
{
	struct slot *s;
	int rc;

	s = cache_slot(c, name);
	/* Kept open, it may have been removed by another process since. */
	if (s->stream != NULL && mq_stream_removed(s->stream)) {
		mq_stream_close(s->stream);
		s->stream = NULL;
	}
	if (s->stream == NULL) {
		if ((rc = mq_stream_open(c->spool, name, c->flags,
		    &s->stream)) != MQ_OK)
			return rc;
		if (c->count)
			cache_count(c, name);
	}
	s->used = ++c->tick;
	*stream = s->stream;
	return MQ_OK;
}

uint64_t
stream_cache_names(const struct stream_cache *c)
{
	return c->nseen;
}

void
stream_cache_free(struct stream_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nslots; i++)
		mq_stream_close(c->slots[i].stream);
	tdestroy(c->seen, free);
	free(c);
}
