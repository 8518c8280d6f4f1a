/*
 * stream_cache.h - the open streams of a tool that writes to many of
 * them (mq-xadd -s), kept to a bounded number.
 *
 * Model: a few slots, each an open stream and when it was last asked
 * for.  A stream asked for again is taken from its slot; a new one
 * takes a free slot, or closes the stream asked for least recently.  So
 * a run over 100,000 streams keeps a bounded number of descriptors, and
 * a run that goes back and forth between a few streams opens each once.
 * The number of slots is STREAM_CACHE_SLOTS, fewer if the descriptor
 * limit (RLIMIT_NOFILE) leaves no room for that many.
 */
#ifndef MQ_STREAM_CACHE_H
#define MQ_STREAM_CACHE_H

#include "mq.h"

#define STREAM_CACHE_SLOTS	64

struct stream_cache;

/*
 * A cache of the streams of 'spool', opened with 'flags' (MQ_CREATE);
 * with 'count', it also counts the names it was asked for
 * (stream_cache_names).  Exits if out of memory.
 */
struct stream_cache *stream_cache_new(mq_spool *spool, int flags, int count);
/*
 * Sets '*stream' to the open stream 'name', which stays open until a
 * later call asks for another stream; reopens it if it was removed or
 * renamed since.  Returns MQ_OK, or what mq_stream_open() returned.
 */
int	 stream_cache_get(struct stream_cache *c, const char *name,
	    mq_stream **stream);
/* How many different names were asked for (with 'count'), else 0. */
uint64_t stream_cache_names(const struct stream_cache *c);
/* Closes every stream and frees the cache. */
void	 stream_cache_free(struct stream_cache *c);

#endif /* MQ_STREAM_CACHE_H */
