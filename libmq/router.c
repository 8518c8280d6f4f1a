/*
 * router.c - publishing often: what mq_publish() reads from the spool on
 * every call (the subscribers' registrations, the bindings, the
 * exchange's stream), kept between calls.
 *
 * Model: the router holds a copy of the live subscriptions, and reads
 * it again only when the spool's counter of their changes moved
 * (SPOOL/routes, mapped by every process: a subscriber bumps it after
 * its registration is in place and before it is told it is subscribed).
 * The queues are those of a route through the exchange amq.topic
 * (xroute.c), which keeps its copy of the bindings the same way.  So
 * each route costs a memory load per copy, and a publish that follows a
 * confirmed subscription always counts it.  What no one
 * bumps for is a subscriber that died holding its registration: the
 * subscriptions are also read again once a second, and until then a
 * dead one is still counted (and the message still appended to the
 * exchange, which costs nothing to anyone).
 *
 * The subscriptions matched for the topic routed last are kept, and
 * given again while the subscriptions were not read again since: a
 * publisher mostly repeats its topic, and matching costs a comparison
 * per subscription.  (The queues are routed each time: the exchange
 * registry's copy answers without a system call, and its answer lives
 * only until its next call.)  The liveness read looks at a coarse clock
 * (to a few milliseconds), which costs no more than a load where a
 * precise one can cost a read of the clock's device in a virtual
 * machine.
 *
 * Anonymous subscribers (route.c) leave nothing to copy: whether one
 * listens is asked of the kernel at each publish that no registered
 * subscription already sends to the exchange, one fcntl(2) per publish
 * (per batch of messages), none when the log is written anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "stream.h"

#define LIVENESS_MS	1000	/* subscriptions are read again this often */

struct rsub {
	char		 kind;
	int		 mine;		/* registered by this process */
	char		*pattern;
};

struct mq_router {
	mq_spool	*spool;
	mq_stream	*exchange;
	uint64_t	*routes;	/* the spool's counters of changes */
	uint64_t	 subs_seen;	/* its value at the last read */
	int		 subs_stale;
	int64_t		 subs_read_ms;
	struct rsub	*subs;
	size_t		 nsubs, capsubs;
	/* The last topic matched, valid while 'routed' (reset by each read). */
	int		 routed;
	char		 topic[MQ_NAME_MAX + 1];
	size_t		 live, mine;
};

static void
subs_free(mq_router *r)
{
	size_t i;

	for (i = 0; i < r->nsubs; i++)
		free(r->subs[i].pattern);
	r->nsubs = 0;
}

int
mq_router_open(mq_spool *sp, mq_router **out)
{
	mq_router *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mq_sys();
	r->spool = sp;
	r->subs_stale = 1;
	if ((r->routes = mq_routes_map(sp)) == NULL) {
		rc = mq_sys();
		mq_router_close(r);
		return rc;
	}
	*out = r;
	return MQ_OK;
}

void
mq_router_close(mq_router *r)
{
	if (r == NULL)
		return;
	subs_free(r);
	free(r->subs);
	mq_stream_close(r->exchange);
	free(r);
}

/* Opened at the first publish someone listens to, not before. */
int
mq_router_exchange(mq_router *r, mq_stream **out)
{
	int rc;

	if (r->exchange == NULL &&
	    (rc = mq_exchange_open(r->spool, &r->exchange)) != MQ_OK)
		return rc;
	*out = r->exchange;
	return MQ_OK;
}

static int
add_sub(char kind, const char *pattern, int mine, void *arg)
{
	mq_router *r = arg;
	char *copy;

	if (mq_grow(&r->subs, &r->capsubs, r->nsubs + 1, sizeof(*r->subs)) !=
	    MQ_OK || (copy = strdup(pattern)) == NULL)
		return 1;	/* stops the scan: read again next time */
	r->subs[r->nsubs].kind = kind;
	r->subs[r->nsubs].mine = mine;
	r->subs[r->nsubs++].pattern = copy;
	return 0;
}

/* Milliseconds of a monotonic clock read coarsely (liveness only). */
static int64_t
coarse_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == -1)
		return mq_mono_ms();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads again what changed since the last route. */
static int
refresh(mq_router *r)
{
	int64_t now = coarse_ms();
	uint64_t subs;
	int rc;

	/* Acquire: what was changed before a bump is seen after it. */
	subs = __atomic_load_n(&r->routes[MQ_ROUTES_SUBS], __ATOMIC_ACQUIRE);
	if (subs != r->subs_seen || now - r->subs_read_ms >= LIVENESS_MS)
		r->subs_stale = 1;
	if (r->subs_stale) {
		r->routed = 0;
		subs_free(r);
		r->subs_stale = 0;
		r->subs_read_ms = now;
		r->subs_seen = subs;
		if ((rc = mq_subs_scan(r->spool, add_sub, r)) != MQ_OK) {
			r->subs_stale = 1;
			return rc;
		}
	}
	return MQ_OK;
}

int
mq_router_route(mq_router *r, const char *topic, size_t *live, size_t *mine,
    const char *const **queues, size_t *nqueues)
{
	size_t i;
	int rc;

	*live = *mine = *nqueues = 0;
	*queues = NULL;
	if ((rc = refresh(r)) != MQ_OK)
		return rc;
	if (r->routed && strcmp(topic, r->topic) == 0) {
		*live = r->live;
		*mine = r->mine;
	} else {
		r->routed = 0;
		for (i = 0; i < r->nsubs; i++)
			if (mq_sub_matches(r->subs[i].kind, r->subs[i].pattern,
			    topic)) {
				(*live)++;
				*mine += r->subs[i].mine;
			}
		/* Kept for the next route, if the topic fits. */
		if (strlcpy(r->topic, topic, sizeof(r->topic)) <
		    sizeof(r->topic)) {
			r->live = *live;
			r->mine = *mine;
			r->routed = 1;
		}
	}
	/* Queues bound twice, or reached through other exchanges, once. */
	return mq_exchange_route(r->spool, MQ_TOPIC_EXCHANGE, topic, NULL,
	    NULL, queues, nqueues);
}

int
mq_router_anonymous(mq_router *r)
{
	return mq_subs_anonymous(r->spool);
}

int
mq_router_publish(mq_router *r, const char *topic, const struct mq_msg *msgs,
    size_t n, size_t *receivers)
{
	const char *const *queues;
	struct mq_msg *keyed;
	size_t live, mine, nq, i;
	mq_stream *s;
	int rc;

	if (receivers != NULL)
		*receivers = 0;
	if ((rc = mq_router_route(r, topic, &live, &mine, &queues, &nq)) !=
	    MQ_OK)
		return rc;
	if ((keyed = reallocarray(NULL, n ? n : 1, sizeof(*keyed))) == NULL)
		return mq_sys();
	for (i = 0; i < n; i++) {
		keyed[i] = msgs[i];
		keyed[i].key = topic;
		keyed[i].keylen = strlen(topic);
	}
	/*
	 * With no one listening, a live publish goes nowhere, as in Redis.
	 * An anonymous subscriber is asked for only if no registered one
	 * sends it to the log already.
	 */
	if ((live > 0 || mq_router_anonymous(r)) &&
	    ((rc = mq_router_exchange(r, &s)) != MQ_OK ||
	    (rc = mq_append(s, keyed, n, NULL, NULL)) != MQ_OK))
		goto out;
	for (i = 0; i < nq; i++) {
		if ((rc = mq_stream_open(r->spool, queues[i], MQ_CREATE, &s)) !=
		    MQ_OK)
			goto out;
		rc = mq_append(s, keyed, n, NULL, NULL);
		mq_stream_close(s);
		if (rc != MQ_OK)
			goto out;
	}
	if (receivers != NULL)
		*receivers = live + nq;
out:
	free(keyed);
	return rc;
}
