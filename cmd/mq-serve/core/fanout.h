/*
 * fanout.h - the live subscribers of every door (fanout.c).
 */
#ifndef MQ_SERVE_FANOUT_H
#define MQ_SERVE_FANOUT_H

#include "server.h"

struct fanout_ops {
	/*
	 * Hands the subscriber what its subscriptions read from the
	 * exchange's log (which changed).
	 */
	void	(*drain)(void *arg);
	/*
	 * Hands it 'm', published by this server to no log because every
	 * subscription it reaches is this server's ('m->key' is the topic);
	 * the subscriber filters by what it subscribed to.
	 */
	void	(*push)(void *arg, const struct mq_msg *m);
};

/* A live subscriber: kept by its door, with its connection. */
struct fanout_sub {
	TAILQ_ENTRY(fanout_sub)	 link;
	struct conn		*conn;
	const struct fanout_ops	*ops;
	void			*arg;
	int			 joined;
};

/* Starts / stops handing 'sub' what is published (idempotent). */
void	 fanout_join(struct server *s, struct fanout_sub *sub);
void	 fanout_leave(struct server *s, struct fanout_sub *sub);
/* The exchange's log changed (any process): every subscriber drains. */
void	 fanout_drain(struct server *s);
/*
 * 'm' went to no log (every subscription it reaches is this server's):
 * every subscriber of every door gets it, after what the log still
 * holds for them, so that the order of publishes stays.
 */
void	 fanout_deliver_here(struct server *s, const struct mq_msg *m);

#endif /* MQ_SERVE_FANOUT_H */
