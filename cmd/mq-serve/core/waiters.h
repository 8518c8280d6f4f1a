/*
 * waiters.h - readers blocked until a stream changes, for every door
 * (waiters.c): Redis's XREAD and XREADGROUP BLOCK, and the consumers,
 * sessions, subscriptions and fetches of the doors to come.
 */
#ifndef MQ_SERVE_WAITERS_H
#define MQ_SERVE_WAITERS_H

#include "server.h"

struct waiter;

/* What a waiter waits for on one stream. */
struct wait_on {
	const char	*stream;
	/*
	 * NULL: entries after 'after' (an XREAD); else what a new read of
	 * this group may get (an XREADGROUP '>'): entries it has not
	 * delivered, or pending ones handed back (a nack, a lease).
	 */
	const char	*group;
	mq_id		 after;
};

struct waiter_ops {
	/* Runs the read again: 1 if it was served (the wait then ends). */
	int	(*retry)(void *arg);
	/*
	 * Once the round of retries is over, for each waiter it served: what
	 * its client sent behind the read may run now.
	 */
	void	(*served)(void *arg);
	/* The deadline passed: the wait ends (before this is called). */
	void	(*timeout)(void *arg);
};

/*
 * A read of connection 'c' waits on the 'n' streams of 'on' (copied)
 * until one changes in a way that may serve it, then ops->retry runs;
 * 'timeout_ms' > 0 ends the wait then.  A stream may not exist yet.
 * 'served' is not called once 'c' is closed (its door's state is gone;
 * the door ends the wait when it closes).  NULL if out of memory.
 */
struct waiter *waiter_add(struct conn *c, const struct wait_on *on,
	    size_t n, int64_t timeout_ms, const struct waiter_ops *ops,
	    void *arg);
/* Ends a wait before it was served or timed out (its client went). */
void	 waiter_end(struct server *s, struct waiter *w);
/*
 * What changed in 'stream' (MQ_WATCH_ENTRIES, _GROUP with the group's
 * name or NULL for any, _GONE, _MADE), by this process or another: its
 * waiters that may now get something are retried at the next turn.
 */
void	 waiters_change(struct server *s, const char *stream,
	    const char *group, int what);
/* How many waiters wait now. */
size_t	 waiters_count(const struct server *s);
void	 waiters_free(struct server *s);

#endif /* MQ_SERVE_WAITERS_H */
