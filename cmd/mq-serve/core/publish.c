/*
 * publish.c - a publish on the topic exchange, for every door.
 *
 * Model: a publish goes through the server's mq_router, which keeps the
 * spool's live subscriptions and bindings between publishes: one entry
 * on the exchange's log for the live subscribers of every process and
 * door, and one on each queue bound to a matching pattern.  Like an
 * append, it joins the run of appends (core/appendq.c) and its door
 * replies at the flush.  When every live subscription it reaches is this
 * server's (the spool counts them by process), no one needs the log: its
 * last entry has no stream, and the door hands the message to this
 * server's subscribers through core/fanout.c instead, after what the
 * log still held for them, so the order of publishes stays.
 */
#include <string.h>

#include "publish.h"

/* The most streams one publish queues: the exchange's and the queues'. */
#define PUBLISH_TARGETS	16

int
publish_queue(struct server *s, const struct mq_msg *m, int *anonymous,
    appendq_done_fn *part, appendq_done_fn *done, void *arg)
{
	const char *const *queues;
	mq_stream *targets[PUBLISH_TARGETS];
	mq_router *r;
	size_t live, mine, nq, n = 0, i;
	int logged;

	if (server_router(s, &r) != MQ_OK ||
	    mq_router_route(r, m->key, &live, &mine, &queues, &nq) != MQ_OK ||
	    live + nq == 0 || nq + 2 > PUBLISH_TARGETS)
		return 0;
	/*
	 * When only this server's subscribers listen, a last entry with no
	 * stream has 'done' hand them the message.  Unless an anonymous
	 * subscriber (a read-only mq-subscribe, which no count shows)
	 * listens: asked only then, it makes the publish go to the log,
	 * which this server's subscribers then read too.  Asked once for
	 * the requests of one read ('*anonymous' -1 until then): they were
	 * all sent before the answer, so a subscriber that listened before
	 * one of them was sent is seen.
	 */
	if (live == mine && *anonymous < 0)
		*anonymous = mq_router_anonymous(r);
	logged = live > mine || *anonymous > 0;
	/*
	 * This server's subscribers get the log's messages before the
	 * run's that went to none (core/fanout.c): a publish to the log
	 * cannot wait behind those.
	 */
	if (logged && appendq_holds_bare(s))
		appendq_flush(s);
	if (logged && mq_router_exchange(r, &targets[n++]) != MQ_OK)
		return 0;
	for (i = 0; i < nq; i++)
		if (server_stream(s, queues[i], strlen(queues[i]), 1,
		    &targets[n++]) != MQ_OK)
			return 0;
	if (live > 0 && !logged)
		targets[n++] = NULL;
	/* Queued together: a failure to queue leaves a part appended. */
	for (i = 0; i < n; i++)
		if (appendq_add(s, targets[i], m, i + 1 < n ? part : done, arg,
		    (long long)(live + nq)) != MQ_OK) {
			if (i == 0)
				return 0;
			appendq_flush(s);
			return -1;
		}
	return 1;
}
