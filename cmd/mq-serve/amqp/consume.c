/*
 * consume.c - AMQP consumers: basic.qos, basic.consume, basic.cancel,
 * and serving the consumers of each queue.
 *
 * Model: the door keeps, by name, the queues that its consumers and its
 * deliveries waiting for an ack name (struct amqp_queue, counted
 * references).  A queue's consumers, of any connection, are served in
 * turn: each what it has room for, up to a batch, or one message each
 * while several with no prefetch have room (room: what both the
 * channel's global prefetch_count and the consumer's own leave of their
 * unacknowledged deliveries, no limit for no-ack consumers or without a
 * prefetch, none while the connection's output is over --output-limit).  Each channel reads the
 * queue's group as its own libmq consumer, so what it holds shows in
 * XPENDING and mq-xpending under its name.
 *
 * Serving runs when something may have changed for a queue's
 * consumers: a consumer came, an ack or a qos gave room, deliveries were
 * handed back, a connection's output drained (amqp_queue_kick, served
 * by a timer of this turn, so that many changes of a turn make one
 * serving), or the queue's stream changed (below).  No polling, no
 * timer that comes back: a queue whose consumers found it empty is a
 * waiter of the core (core/waiters.c) on its group, and the core runs
 * the serving again when an append (by this server, mq-xadd, Redis
 * XADD: the watch reports them all), a nack or a lease that ran out
 * may have given the group something.  The waiter is the queue's, made
 * with the connection of one of its consumers and ended before that
 * connection's state goes; its retry never says "served", because the
 * queue's wait ends only when no consumer needs it.
 *
 * A serving holds the groups it reads (one journal write for all its
 * reads) and lets them go before it returns, as a round of the core's
 * waiters requires; the deliveries of all its consumers go to
 * conn_write once per connection.  Deliveries are tagged from 1 per
 * channel; a message is redelivered if the group delivered it before
 * (its id is not past the group's last delivered one).  A queue whose
 * stream went away cancels its consumers: basic.cancel to the clients
 * that announced consumer_cancel_notify.
 *
 * The consumers of a stream queue (x-queue-type stream) are kept here
 * too, prefetch and all, but each reads the stream from its own offset
 * (stream.c) rather than taking from the group; one that reached the
 * end makes the queue wait on the stream's appends past what it saw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/waiters.h"

/* The most a consumer alone is given in one read. */
#define SERVE_BATCH	64

struct amqp_queue {
	RB_ENTRY(amqp_queue)	 node;
	char			*name;
	size_t			 refs;
	struct amqp_consumer_list consumers;	/* the next to serve first */
	size_t			 nconsumers;
	struct waiter		*w;		/* while its consumers wait */
	struct conn		*wconn;		/* whose connection it has */
	int			 kicked;	/* in 'kicked': holds a reference */
	TAILQ_ENTRY(amqp_queue)	 klink;
	/* Known when its first consumer comes (prio.c, the declaration). */
	int			 levels;	/* priority levels above 0 */
	int			 sac;		/* x-single-active-consumer */
	int64_t			 top;		/* a serving's highest x-priority */
};

/* A stream a serving reads: the queue's own, or a priority level's. */
struct source {
	mq_stream		*st;
	mq_group		*g;
	mq_id			 cursor;	/* the group's last delivered id */
	/* Its deliveries' (held), taken at the first: most levels have none. */
	struct amqp_queue	*q;
	int			 state;		/* 0 unopened, 1 open, -1 none or empty */
	char			 name[AMQP_NAME_SIZE];	/* of a level */
};

static int
queue_cmp(const struct amqp_queue *a, const struct amqp_queue *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(queuetree, amqp_queue);
/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(queuetree, amqp_queue, node, queue_cmp, RB_ATTR)

static struct queuetree queues = RB_INITIALIZER(&queues);
static TAILQ_HEAD(, amqp_queue) kicked = TAILQ_HEAD_INITIALIZER(kicked);
static struct server *door;		/* the server, for the timer */
static uint64_t consumes;		/* basic.consume's taken, in order */
static uint64_t kick_timer;
/* Channels with room again and consumers passed over for want of it. */
static TAILQ_HEAD(, amqp_channel) refill = TAILQ_HEAD_INITIALIZER(refill);

static void serve(struct server *s, struct amqp_queue *q);

/* ------------------------------------------------------------------
 * Queues by name.
 * ---------------------------------------------------------------- */

static struct amqp_queue *
queue_find(const char *name)
{
	struct amqp_queue key;

	key.name = (char *)name;
	return RB_FIND(queuetree, &queues, &key);
}

struct amqp_queue *
amqp_queue_ref(struct server *s, const char *name)
{
	struct amqp_queue *q;

	door = s;
	if ((q = queue_find(name)) != NULL) {
		q->refs++;
		return q;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->name = strdup(name)) == NULL) {
		free(q);
		return NULL;
	}
	TAILQ_INIT(&q->consumers);
	q->refs = 1;
	RB_INSERT(queuetree, &queues, q);
	return q;
}

void
amqp_queue_hold(struct amqp_queue *q)
{
	q->refs++;
}

void
amqp_queue_unref(struct amqp_queue *q)
{
	if (--q->refs > 0)
		return;
	/* Consumers, a kick and a wait each hold one: none is left. */
	RB_REMOVE(queuetree, &queues, q);
	free(q->name);
	free(q);
}

const char *
amqp_queue_qname(const struct amqp_queue *q)
{
	return q->name;
}

size_t
amqp_queue_consumers(const char *name)
{
	struct amqp_queue *q = queue_find(name);

	return q != NULL ? q->nconsumers : 0;
}

/* ------------------------------------------------------------------
 * Waiting for the queue's group.
 * ---------------------------------------------------------------- */

static int
queue_retry(void *arg)
{
	struct amqp_queue *q = arg;

	serve(door, q);
	amqp_out_flush_all();
	/* Never "served": the wait ends when no consumer needs it. */
	return 0;
}

static void
queue_served(void *arg)
{
	(void)arg;
}

static void
queue_timeout(void *arg)
{
	(void)arg;
}

static const struct waiter_ops queue_ops = {
	.retry = queue_retry,
	.served = queue_served,
	.timeout = queue_timeout,
};

static void
queue_unwait(struct server *s, struct amqp_queue *q)
{
	if (q->w == NULL)
		return;
	waiter_end(s, q->w);
	q->w = NULL;
	q->wconn = NULL;
	amqp_queue_unref(q);
}

/*
 * Waits on the queue's group, and its priority levels' (prio.c), with
 * the connection of 'cn'; for a stream queue ('after' not NULL), on the
 * stream's entries past 'after'.
 */
static void
queue_wait(struct server *s, struct amqp_queue *q, struct amqp_consumer *cn,
    const mq_id *after)
{
	char names[AMQP_PRIO_MAX + 1][AMQP_NAME_SIZE];
	struct wait_on on[AMQP_PRIO_MAX + 1];
	size_t n = 0;
	int lv;

	if (q->w != NULL)
		return;
	if (after != NULL) {
		/* A stream queue: its appends, past what its consumers saw. */
		on[n++] = (struct wait_on){ q->name, NULL, *after };
	} else {
		on[n++] = (struct wait_on){ q->name, AMQP_GROUP, { 0, 0 } };
		for (lv = 1; lv <= q->levels; lv++) {
			if (amqp_prio_stream(q->name, lv, names[n]) == -1)
				continue;
			on[n] = (struct wait_on){ names[n], AMQP_GROUP,
			    { 0, 0 } };
			n++;
		}
	}
	if ((q->w = waiter_add(cn->ch->c->conn, on, n, 0, &queue_ops,
	    q)) == NULL) {
		server_log(s, "amqp: queue %s: cannot wait: out of memory",
		    q->name);
		return;
	}
	q->wconn = cn->ch->c->conn;
	q->refs++;
}

/* ------------------------------------------------------------------
 * Serving the consumers.
 * ---------------------------------------------------------------- */

/* What a prefetch count of 'max' (0: none) leaves with 'held' unacked. */
static size_t
left(uint16_t max, size_t held)
{
	if (max == 0)
		return SIZE_MAX;
	return held < max ? max - held : 0;
}

/*
 * How many more messages 'cn' may be given now: what both its channel's
 * prefetch and its own leave.
 */
static size_t
room(struct amqp_consumer *cn)
{
	struct amqp_channel *ch = cn->ch;
	struct amqp_client *c = ch->c;
	struct conn *conn = c->conn;
	size_t chan, own;

	if (c->phase != AMQP_RUNNING || ch->closing || conn->dead ||
	    conn->closing)
		return 0;
	if (conn_held(conn)) {
		/* Served again once its output drained (amqp_input). */
		if (!c->drain_wait) {
			c->drain_wait = 1;
			conn_input_when_drained(conn);
		}
		return 0;
	}
	if (cn->no_ack)
		return SIZE_MAX;
	chan = left(ch->prefetch, ch->nunacked);
	own = left(cn->prefetch, cn->nunacked);
	return chan < own ? chan : own;
}

/*
 * The active consumer of a queue with x-single-active-consumer: the one
 * registered first of those left, as in RabbitMQ.
 */
static struct amqp_consumer *
active(struct amqp_queue *q)
{
	struct amqp_consumer *cn, *a = NULL;

	TAILQ_FOREACH(cn, &q->consumers, qlink)
		if (a == NULL || cn->seq < a->seq)
			a = cn;
	return a;
}

/*
 * Whether 'cn' may be served: the active consumer alone if the queue
 * has one; else those of the highest x-priority with room ('q->top', as
 * with_room found it), as RabbitMQ's consumer priorities.
 */
static int
eligible(struct amqp_queue *q, struct amqp_consumer *cn)
{
	if (q->sac)
		return cn == active(q);
	return cn->priority >= q->top;
}

/*
 * The consumers of 'q' that may be served and have room, and the first
 * of them in '*first'; notes the highest priority with room in q->top.
 */
static size_t
with_room(struct amqp_queue *q, struct amqp_consumer **first)
{
	struct amqp_consumer *cn;
	size_t n = 0;

	*first = NULL;
	q->top = INT64_MIN;
	TAILQ_FOREACH(cn, &q->consumers, qlink)
		if (cn->priority > q->top && room(cn) > 0)
			q->top = cn->priority;
	TAILQ_FOREACH(cn, &q->consumers, qlink)
		if (eligible(q, cn) && room(cn) > 0 && n++ == 0)
			*first = cn;
	return n;
}

int
amqp_chan_full(const struct amqp_channel *ch)
{
	return ch->prefetch != 0 && ch->nunacked >= ch->prefetch;
}

/*
 * The consumers of 'q' that have no room because their channel is at
 * its global prefetch join that channel's 'blocked', to be served when
 * it has room again: the queue stops waiting when none has room.
 */
static void
block_all(struct amqp_queue *q)
{
	struct amqp_consumer *cn;

	TAILQ_FOREACH(cn, &q->consumers, qlink)
		if (!cn->blocked && !cn->no_ack && amqp_chan_full(cn->ch)) {
			TAILQ_INSERT_TAIL(&cn->ch->blocked, cn, blink);
			cn->blocked = 1;
		}
}

/*
 * Opens source 'lv' of 'q' in 'src' if it is not: the stream of that
 * priority level, its group and its cursor.  1 if open, 0 if there is no
 * such stream or it has nothing to deliver, or a libmq error.
 */
static int
source_open(struct server *s, struct amqp_queue *q, struct source *src,
    int lv)
{
	struct mq_group_info gi;
	int rc;

	if (src->state != 0)
		return src->state > 0;
	src->state = -1;
	src->q = NULL;
	if (amqp_prio_stream(q->name, lv, src->name) == -1)
		return 0;
	rc = amqp_queue_open(s, src->name, &src->st, &src->g);
	if (rc == MQ_ENOSTREAM)
		return 0;
	if (rc != MQ_OK || (rc = mq_group_info(src->g, &gi)) != MQ_OK)
		return rc;
	/* Cheaper than a read that finds nothing, the lot of most levels. */
	if (gi.lag == 0 && gi.pending == 0)
		return 0;
	src->cursor = gi.last_delivered;
	src->state = 1;
	return 1;
}

/* Lets the sources of priority levels go. */
static void
sources_close(struct amqp_queue *q, struct source *srcs)
{
	int lv;

	for (lv = 1; lv <= q->levels; lv++)
		if (srcs[lv].state != 0 && srcs[lv].q != NULL)
			amqp_queue_unref(srcs[lv].q);
}

/*
 * Reads up to 'want' messages of source 'src' for 'cn' and delivers
 * them; its cursor is the last id the group delivered before, which
 * tells a message delivered again.  Returns how many, or a libmq error
 * (< 0).
 */
static int
serve_from(struct server *s, struct source *src, struct amqp_consumer *cn,
    size_t want)
{
	struct amqp_queue *q;
	mq_stream *st = src->st;
	mq_group *g = src->g;
	mq_id *cursor = &src->cursor;
	struct mq_msg msgs[SERVE_BATCH];
	struct amqp_channel *ch = cn->ch;
	struct conn *conn = ch->c->conn;
	size_t got, i;
	uint64_t tag;
	int rc, again;

	if ((rc = mq_group_read(g, ch->consumer, want, cn->no_ack, msgs,
	    &got)) != MQ_OK)
		return rc;
	if (got > 0 && src->q == NULL &&
	    (src->q = amqp_queue_ref(s, src->name)) == NULL) {
		conn_abort(conn, "out of memory");
		got = 0;
	}
	q = src->q;
	/* Its deliveries stand on the group's write: see cmd_begin. */
	conn->group_turn = conn->server->turn;
	for (i = 0; i < got; i++) {
		again = mq_id_cmp(msgs[i].id, *cursor) <= 0;
		if (!again)
			*cursor = msgs[i].id;
		tag = ++ch->tag;
		if ((!cn->no_ack && amqp_unacked_add(ch, tag, msgs[i].id,
		    q, cn) == -1) || amqp_deliver(ch, cn->tag, cn->taglen, tag,
		    again, again ? amqp_retries(st, g, msgs[i].id) : 0, 0,
		    &msgs[i]) == -1) {
			conn_abort(conn, "out of memory");
			break;
		}
	}
	return (int)got;
}

/*
 * Serves each consumer of stream queue 'q' what it has room for from its
 * own offset (stream.c), then waits on the stream's appends if one that
 * has room reached the end.
 */
static void
stream_dispatch(struct server *s, struct amqp_queue *q)
{
	struct amqp_consumer *cn, *waiting = NULL;
	size_t want;
	mq_id after, top = { 0, 0 };
	int rc;

	TAILQ_FOREACH(cn, &q->consumers, qlink) {
		while ((want = room(cn)) > 0) {
			rc = amqp_stream_serve(s, cn, want < SERVE_BATCH ? want :
			    SERVE_BATCH, &after);
			if (rc == MQ_ENOSTREAM) {
				amqp_queue_gone(s, q->name);
				return;
			}
			if (rc < 0) {
				server_log(s, "amqp: queue %s: %s", q->name,
				    mq_strerror(rc));
				return;
			}
			if (rc == 0)
				continue;
			/* At the end with room: wait past the least seen. */
			if (waiting == NULL || mq_id_cmp(after, top) < 0)
				top = after;
			waiting = cn;
			break;
		}
	}
	/* Waited again past what was read now. */
	queue_unwait(s, q);
	if (waiting != NULL)
		queue_wait(s, q, waiting, &top);
	block_all(q);	/* those its channel's global prefetch held back */
}

/*
 * Serves 'cn' up to 'want' messages from the highest priority level of
 * 'q' that has any, the queue's own stream last (the only one of a queue
 * without priorities).  Returns how many, or a libmq error (< 0).
 */
static int
serve_one(struct server *s, struct amqp_queue *q, struct amqp_consumer *cn,
    struct source *srcs, size_t want)
{
	int lv, rc;

	for (lv = q->levels; lv >= 0; lv--) {
		if ((rc = source_open(s, q, &srcs[lv], lv)) < 0)
			return rc;
		if (rc > 0 && (rc = serve_from(s, &srcs[lv], cn, want)) != 0)
			return rc;
		/*
		 * An empty level is not read again in this serving: what
		 * comes to it now wakes the queue's wait, or the next serving
		 * reads it.
		 */
		if (lv > 0)
			srcs[lv].state = -1;
	}
	return 0;
}

/*
 * Serves the consumers of 'q' in turn until the queue is empty or none
 * has room, then waits on the queue if one that has room found it empty.
 */
static void
dispatch(struct server *s, struct amqp_queue *q)
{
	struct source srcs[AMQP_PRIO_MAX + 1];
	struct amqp_consumer *cn, *first;
	size_t n, i, open, want, served;
	int rc, lv, empty = 0;

	if (q->nconsumers == 0)
		return;
	if (TAILQ_FIRST(&q->consumers)->stream) {
		stream_dispatch(s, q);
		return;
	}
	/* None with room: nothing is opened, room given back kicks it. */
	if (with_room(q, &first) == 0) {
		queue_unwait(s, q);
		block_all(q);
		return;
	}
	/* A queue without priorities has only its own: nothing more to set. */
	for (lv = 1; lv <= q->levels; lv++)
		srcs[lv].state = 0;
	srcs[0].q = q;
	rc = amqp_queue_open(s, q->name, &srcs[0].st, &srcs[0].g);
	if (rc == MQ_ENOSTREAM) {
		amqp_queue_gone(s, q->name);
		return;
	}
	if (rc != MQ_OK ||
	    (rc = mq_group_cursor(srcs[0].g, &srcs[0].cursor)) != MQ_OK)
		goto fail;
	srcs[0].state = 1;
	do {
		n = q->nconsumers;
		open = with_room(q, &first);
		for (i = served = 0; i < n && open > 0 && !empty; i++) {
			if ((cn = TAILQ_FIRST(&q->consumers)) == NULL)
				break;
			/* Served or passed over, it goes behind the others. */
			TAILQ_REMOVE(&q->consumers, cn, qlink);
			TAILQ_INSERT_TAIL(&q->consumers, cn, qlink);
			if (!eligible(q, cn) || (want = room(cn)) == 0)
				continue;
			/*
			 * Among several, one each, unless its prefetch bounds
			 * it: then what it has room for, one read of the group
			 * instead of one per message (still fair: none gets
			 * more than its prefetch).
			 */
			if (open > 1 && want == SIZE_MAX)
				want = 1;
			else if (want > SERVE_BATCH)
				want = SERVE_BATCH;
			if ((rc = serve_one(s, q, cn, srcs, want)) < 0)
				goto fail;
			if (rc > 0) {
				served++;
				continue;
			}
			/* Nothing for it: it is first the next time. */
			TAILQ_REMOVE(&q->consumers, cn, qlink);
			TAILQ_INSERT_HEAD(&q->consumers, cn, qlink);
			empty = 1;
		}
	} while (served > 0 && !empty);
	if (empty && with_room(q, &first) > 0)
		queue_wait(s, q, first, NULL);
	else {
		queue_unwait(s, q);
		block_all(q);
	}
	sources_close(q, srcs);
	return;
fail:
	sources_close(q, srcs);
	block_all(q);
	if (rc == MQ_ENOGROUP) {
		/* Destroyed by another process: made again next time. */
		server_group_forget(s, srcs[0].st, AMQP_GROUP);
		amqp_queue_kick(q);
		return;
	}
	/* The waiter, if any, stays: the next change tries again. */
	server_log(s, "amqp: queue %s: %s", q->name, mq_strerror(rc));
}

/*
 * Serves 'q' holding the groups it reads, and lets them go: a waiter's
 * retry may hold nothing once it returns, and the deliveries must not
 * leave before the group's write.  Each serving is a command of its own
 * to the cache: a round that served thousands of queues as one would
 * keep all their streams open to its end, past the cache's bound.
 */
static void
serve(struct server *s, struct amqp_queue *q)
{
	server_cache_release(s);
	q->refs++;
	s->hold_groups = 1;
	dispatch(s, q);
	server_release_groups(s);
	s->hold_groups = 0;
	amqp_queue_unref(q);
}

/*
 * Serves the blocked consumers of each channel in 'refill', first
 * blocked first, while the channel has room: one that finds its queue
 * empty leaves the room to the next.  A serving may close a channel or
 * cancel a consumer (which takes them off the lists), so each step
 * starts again from the lists.
 */
static void
refill_run(struct server *s)
{
	struct amqp_channel *ch;
	struct amqp_consumer *cn;
	struct amqp_queue *q;

	while ((ch = TAILQ_FIRST(&refill)) != NULL) {
		if (amqp_chan_full(ch) || (cn = TAILQ_FIRST(&ch->blocked)) == NULL) {
			TAILQ_REMOVE(&refill, ch, rlink);
			ch->refill = 0;
			continue;
		}
		TAILQ_REMOVE(&ch->blocked, cn, blink);
		cn->blocked = 0;
		q = cn->q;
		q->refs++;
		serve(s, q);
		amqp_queue_unref(q);
	}
}

static void
kick_run(struct loop *loop, void *arg)
{
	struct server *s = arg;
	struct amqp_queue *q;

	kick_timer = 0;
	appendq_flush(s);	/* it sees what this turn appended */
	while ((q = TAILQ_FIRST(&kicked)) != NULL) {
		TAILQ_REMOVE(&kicked, q, klink);
		q->kicked = 0;
		serve(s, q);
		amqp_queue_unref(q);
	}
	refill_run(s);
	amqp_out_flush_all();
}

/*
 * The queue whose priority level 'q' is ("name#3" of "name" with
 * levels), or NULL.
 */
static struct amqp_queue *
level_of(struct amqp_queue *q)
{
	char name[AMQP_NAME_SIZE];
	struct amqp_queue *p;
	size_t len = strlen(q->name);

	if (len < 3 || q->name[len - 2] != '#' || q->name[len - 1] < '1' ||
	    q->name[len - 1] > '9')
		return NULL;
	memcpy(name, q->name, len - 2);
	name[len - 2] = '\0';
	if ((p = queue_find(name)) == NULL ||
	    p->levels < q->name[len - 1] - '0')
		return NULL;
	return p;
}

void
amqp_queue_kick(struct amqp_queue *q)
{
	/* What a priority level got back is its queue's to serve. */
	if (q->nconsumers == 0 && (q = level_of(q)) == NULL)
		return;
	if (q->kicked || q->nconsumers == 0)
		return;
	q->kicked = 1;
	q->refs++;
	TAILQ_INSERT_TAIL(&kicked, q, klink);
	if (kick_timer == 0)
		kick_timer = loop_timer_add(door->loop, 0, kick_run, door);
}

void
amqp_chan_refill(struct amqp_channel *ch)
{
	if (ch->refill || TAILQ_EMPTY(&ch->blocked))
		return;
	ch->refill = 1;
	TAILQ_INSERT_TAIL(&refill, ch, rlink);
	if (kick_timer == 0)
		kick_timer = loop_timer_add(door->loop, 0, kick_run, door);
}

void
amqp_consumers_drained(struct amqp_client *c)
{
	struct amqp_consumer *cn;
	size_t i;

	c->drain_wait = 0;
	for (i = 0; i < c->nchannels; i++)
		if (c->channels[i] != NULL)
			TAILQ_FOREACH(cn, &c->channels[i]->consumers, clink)
				amqp_queue_kick(cn->q);
}

/* ------------------------------------------------------------------
 * Consumers.
 * ---------------------------------------------------------------- */

static struct amqp_consumer *
consumer_find(struct amqp_channel *ch, const uint8_t *tag, size_t len)
{
	struct amqp_consumer *cn;

	TAILQ_FOREACH(cn, &ch->consumers, clink)
		if (cn->taglen == len && memcmp(cn->tag, tag, len) == 0)
			return cn;
	return NULL;
}

static void
unused_run(struct loop *loop, void *arg)
{
	amqp_queue_unused(door, arg);
	free(arg);
}

/*
 * Queue 'name' has no consumer left: after this turn, when whoever
 * ended the consumer is done with the queue, auto-delete may take it.
 */
static void
unused_later(const char *name)
{
	char *copy;

	if ((copy = strdup(name)) != NULL)
		(void)loop_timer_add(door->loop, 0, unused_run, copy);
}

static void
consumer_free(struct amqp_consumer *cn)
{
	struct amqp_queue *q = cn->q;
	struct conn *conn = cn->ch->c->conn;

	amqp_unacked_orphan(cn->ch, cn);
	TAILQ_REMOVE(&cn->ch->consumers, cn, clink);
	if (cn->blocked)
		TAILQ_REMOVE(&cn->ch->blocked, cn, blink);
	TAILQ_REMOVE(&q->consumers, cn, qlink);
	q->nconsumers--;
	if (q->nconsumers == 0)
		unused_later(q->name);
	/* The next active consumer, or those of lower priority, may serve. */
	else if (q->sac || cn->priority != 0)
		amqp_queue_kick(q);
	/* Its connection may go: the wait is made again with another's. */
	if (q->w != NULL && (q->wconn == conn || q->nconsumers == 0)) {
		queue_unwait(door, q);
		amqp_queue_kick(q);
	}
	free(cn);
	amqp_queue_unref(q);
}

void
amqp_consumers_stop(struct amqp_channel *ch)
{
	struct amqp_consumer *cn;

	while ((cn = TAILQ_FIRST(&ch->consumers)) != NULL)
		consumer_free(cn);
	if (ch->refill) {
		TAILQ_REMOVE(&refill, ch, rlink);
		ch->refill = 0;
	}
}

void
amqp_queue_gone(struct server *s, const char *name)
{
	struct amqp_queue *q = queue_find(name);
	struct amqp_consumer *cn;
	struct amqp_value args[AMQP_MAX_ARGS];

	if (q == NULL)
		return;
	q->refs++;
	while ((cn = TAILQ_FIRST(&q->consumers)) != NULL) {
		struct amqp_client *c = cn->ch->c;

		if ((c->caps & AMQP_CAP_CANCEL_NOTIFY) &&
		    c->phase == AMQP_RUNNING) {
			memset(args, 0, sizeof(args));
			args[AMQP_BASIC_CANCEL_CONSUMER_TAG] =
			    amqp_bytes(cn->tag, cn->taglen);
			args[AMQP_BASIC_CANCEL_NOWAIT].n = 1;
			amqp_send_method(c, cn->ch->id, AMQP_BASIC_CANCEL,
			    args);
		}
		consumer_free(cn);
	}
	queue_unwait(s, q);
	amqp_queue_unref(q);
}

void
amqp_basic_qos(struct amqp_channel *ch, const struct amqp_method *m)
{
	uint64_t size = m->args[AMQP_BASIC_QOS_PREFETCH_SIZE].n;
	uint16_t count = (uint16_t)m->args[AMQP_BASIC_QOS_PREFETCH_COUNT].n;
	struct amqp_consumer *cn;

	if (size != 0) {
		amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id,
		    "prefetch_size!=0 (%llu)", (unsigned long long)size);
		return;
	}
	/*
	 * As RabbitMQ: global, the channel's count, shared by its
	 * consumers; not global (what clients send by default), the count
	 * of each consumer started on the channel after it.
	 */
	if (m->args[AMQP_BASIC_QOS_GLOBAL].n)
		ch->prefetch = count;
	else
		ch->consumer_prefetch = count;
	amqp_send_method(ch->c, ch->id, AMQP_BASIC_QOS_OK, NULL);
	TAILQ_FOREACH(cn, &ch->consumers, clink)
		amqp_queue_kick(cn->q);
}

/* The tag a consume asks for, or one of the server's for "". */
static void
consumer_tag(struct amqp_consumer *cn, const struct amqp_value *tag)
{
	if (tag->len == 0) {
		amqp_server_name(cn->tag, sizeof(cn->tag), "amq.ctag");
		cn->taglen = strlen(cn->tag);
		return;
	}
	memcpy(cn->tag, tag->p, tag->len);
	cn->tag[tag->len] = '\0';
	cn->taglen = tag->len;
}

/*
 * Whether a consumer of queue 'name' is refused: the queue has an
 * exclusive consumer, or has any while this one asks to be ('exclusive').
 */
static int
exclusive_use(const char *name, int exclusive)
{
	struct amqp_queue *q = queue_find(name);
	struct amqp_consumer *cn;

	if (q == NULL || q->nconsumers == 0)
		return 0;
	if (exclusive)
		return 1;
	TAILQ_FOREACH(cn, &q->consumers, qlink)
		if (cn->exclusive)
			return 1;
	return 0;
}

/*
 * The x-priority of basic.consume 'm' on queue 'name' in '*prio' (0 if
 * none): 0, or -1 after RabbitMQ's 406 for one that is not an integer.
 */
static int
consumer_priority(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, int64_t *prio)
{
	const struct amqp_value *a = &m->args[AMQP_BASIC_CONSUME_ARGUMENTS];
	struct amqp_field f;

	*prio = 0;
	if (amqp_table_find(a->p, a->len, "x-priority", &f) != 1 ||
	    amqp_field_int(&f, prio) == 0)
		return 0;
	amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
	    "invalid arg 'x-priority' for queue '%s' in vhost '/': "
	    "\"expected integer, got %s\"", name,
	    amqp_qargs_type_name(f.type));
	return -1;
}

/*
 * What the declaration of 'q' asks of its consumers, read as its first
 * consumer comes: its priority levels, a single active consumer.
 */
static void
queue_traits(struct server *s, struct amqp_queue *q)
{
	struct mq_queue d;

	q->levels = amqp_prio_levels(s, q->name);
	q->sac = mq_queue_lookup(s->spool, q->name, &d) == MQ_OK &&
	    amqp_qargs_single_active(d.args, d.argslen);
}

void
amqp_basic_consume(struct amqp_channel *ch, const struct amqp_method *m)
{
	const struct amqp_value *tag =
	    &m->args[AMQP_BASIC_CONSUME_CONSUMER_TAG];
	struct server *s = ch->c->conn->server;
	struct amqp_value args[AMQP_MAX_ARGS];
	char name[AMQP_NAME_SIZE];
	struct amqp_consumer *cn;
	int64_t prio;
	mq_stream *st;
	mq_group *g;
	uint64_t offset = 0;
	int stream;

	if (amqp_queue_name(ch, m, &m->args[AMQP_BASIC_CONSUME_QUEUE],
	    name) == -1)
		return;
	/* A stream queue is read without its group (stream.c). */
	if ((stream = amqp_stream_is(s, name)) ?
	    amqp_stream_consume_check(ch, m, name, &offset) == -1 :
	    amqp_queue_open_or_fail(ch, m, name, &st, &g) == -1)
		return;
	if (tag->len > 0 && consumer_find(ch, tag->p, tag->len) != NULL) {
		amqp_conn_error(ch->c, AMQP_NOT_ALLOWED, m->id,
		    "attempt to reuse consumer tag '%.*s'", (int)tag->len,
		    (const char *)tag->p);
		return;
	}
	if (consumer_priority(ch, m, name, &prio) == -1)
		return;
	if (exclusive_use(name, m->args[AMQP_BASIC_CONSUME_EXCLUSIVE].n)) {
		amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id,
		    "queue '%s' in vhost '/' in exclusive use", name);
		return;
	}
	if ((cn = calloc(1, sizeof(*cn))) == NULL ||
	    (cn->q = amqp_queue_ref(s, name)) == NULL) {
		free(cn);
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, m->id,
		    "out of memory");
		return;
	}
	consumer_tag(cn, tag);
	cn->seq = ++consumes;
	cn->priority = prio;
	if (cn->q->nconsumers == 0)
		queue_traits(s, cn->q);
	cn->ch = ch;
	cn->no_ack = m->args[AMQP_BASIC_CONSUME_NO_ACK].n != 0;
	cn->prefetch = ch->consumer_prefetch;
	cn->exclusive = m->args[AMQP_BASIC_CONSUME_EXCLUSIVE].n != 0;
	cn->stream = stream;
	cn->offset = offset;
	TAILQ_INSERT_TAIL(&ch->consumers, cn, clink);
	TAILQ_INSERT_TAIL(&cn->q->consumers, cn, qlink);
	cn->q->nconsumers++;
	if (!m->args[AMQP_BASIC_CONSUME_NOWAIT].n) {
		memset(args, 0, sizeof(args));
		args[AMQP_BASIC_CONSUME_OK_CONSUMER_TAG] =
		    amqp_bytes(cn->tag, cn->taglen);
		amqp_send_method(ch->c, ch->id, AMQP_BASIC_CONSUME_OK, args);
	}
	amqp_queue_kick(cn->q);
}

void
amqp_basic_cancel(struct amqp_channel *ch, const struct amqp_method *m)
{
	const struct amqp_value *tag =
	    &m->args[AMQP_BASIC_CANCEL_CONSUMER_TAG];
	struct amqp_value args[AMQP_MAX_ARGS];
	struct amqp_consumer *cn;

	/* An unknown tag is no error: RabbitMQ answers cancel-ok all the same. */
	if ((cn = consumer_find(ch, tag->p, tag->len)) != NULL)
		consumer_free(cn);
	if (m->args[AMQP_BASIC_CANCEL_NOWAIT].n)
		return;
	memset(args, 0, sizeof(args));
	args[AMQP_BASIC_CANCEL_OK_CONSUMER_TAG] = *tag;
	amqp_send_method(ch->c, ch->id, AMQP_BASIC_CANCEL_OK, args);
}
