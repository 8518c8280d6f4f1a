/*
 * fanout.c - the live subscribers of every door.
 *
 * Model: each door keeps, for a client that subscribed, its own libmq
 * subscriptions (registered in the spool, so that publishers of every
 * process count and reach it) and one fanout_sub here, with two
 * callbacks.  When the exchange's log changes (the watch reports it),
 * every subscriber drains what its subscriptions read.  A publish by
 * this server that only this server's subscribers hear goes to no log
 * (resp/pubsub.c decides, from the spool's counts, which cover every
 * door): it is handed to every subscriber here, after the log has been
 * drained once for the run of appends it belongs to, so the order of
 * publishes stays.
 */
#include "fanout.h"

void
fanout_join(struct server *s, struct fanout_sub *sub)
{
	if (sub->joined)
		return;
	TAILQ_INSERT_TAIL(&s->fanout, sub, link);
	sub->joined = 1;
	sub->conn->subscriber = 1;	/* the pub/sub output limits (conn.c) */
}

void
fanout_leave(struct server *s, struct fanout_sub *sub)
{
	if (!sub->joined)
		return;
	TAILQ_REMOVE(&s->fanout, sub, link);
	sub->joined = 0;
	sub->conn->subscriber = 0;
}

void
fanout_drain(struct server *s)
{
	struct fanout_sub *sub, *next;

	for (sub = TAILQ_FIRST(&s->fanout); sub != NULL; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (!sub->conn->dead)
			sub->ops->drain(sub->arg);
	}
}

void
fanout_deliver_here(struct server *s, const struct mq_msg *m)
{
	struct fanout_sub *sub, *next;

	/*
	 * The log can only have grown by this flush's appends, all made
	 * before its first reply: read it once per flush, not per message.
	 */
	if (s->fanout_drained != s->flushes) {
		fanout_drain(s);
		s->fanout_drained = s->flushes;
	}
	for (sub = TAILQ_FIRST(&s->fanout); sub != NULL; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (!sub->conn->dead)
			sub->ops->push(sub->arg, m);
	}
}
