/*
 * fanout.c - the live subscribers of every door.
 *
 * Model: each door keeps, for a client that subscribed, its own libmq
 * subscriptions (registered in the spool, so that publishers of every
 * process count and reach it) and one fanout_sub here, with its
 * callbacks.  When the exchange's log changes (the watch reports it),
 * every subscriber drains what its subscriptions read.
 *
 * A publish by this server that only this server's subscribers hear
 * goes to no log (resp/pubsub.c decides, from the spool's counts, which
 * cover every door).  Such publishes are gathered while the run of
 * appends they belong to is flushed (core/appendq.c), and handed out
 * together at its end, from the run of appends' own copies (which stay
 * where they are until the flush ends): each subscriber gets the whole
 * run at once, takes
 * what it subscribed to, and writes the frames of a run of messages to
 * its connection as one piece.  A frame is made once per door and
 * variant (RESP2 or RESP3, a message or a pattern's), at the first
 * subscriber that asks for it, and shared by all the others: fan-out to
 * N subscribers costs one encoding and N copies, not N encodings.
 *
 * Order: before the run, the subscribers drain the log, which may hold
 * publishes made before the run's (another process's, or this server's
 * when someone else listened); a door queues no publish to the log
 * behind one of a run that goes to none (appendq_holds_bare).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------------
 * The run: the messages, and the frames made of them.
 * ---------------------------------------------------------------- */

char *
fanout_reserve(struct fanout_buf *b, size_t len)
{
	/* A byte more: never NULL, even for nothing in an empty buffer. */
	if (array_grow(&b->p, &b->cap, b->len + len + 1, 1) == -1)
		return NULL;
	b->len += len;
	return b->p + b->len - len;
}

int
fanout_publish_here(struct server *s, const struct mq_msg *m)
{
	struct fanout_run *run = s->fanout_run;
	struct fanout_msg *msg, *prev;

	if (run == NULL &&
	    (run = s->fanout_run = calloc(1, sizeof(*run))) == NULL)
		return MQ_ESYS;
	if (array_grow(&run->msgs, &run->capmsgs, run->n + 1,
	    sizeof(*run->msgs)) == -1)
		return MQ_ESYS;
	msg = &run->msgs[run->n];
	prev = run->n > 0 ? msg - 1 : NULL;
	/* A topic like the one before is given as it (struct fanout_msg). */
	if (prev != NULL && prev->topiclen == m->keylen &&
	    memcmp(prev->topic, m->key, m->keylen) == 0)
		msg->topic = prev->topic;
	else
		msg->topic = m->key != NULL ? m->key : "";
	msg->topiclen = m->keylen;
	msg->body = m->body != NULL ? m->body : "";
	msg->bodylen = m->bodylen;
	run->n++;
	if (!appendq_flushing(s))
		fanout_deliver_here(s);
	return MQ_OK;
}

/* Makes 'f': the frames of the run's messages in its door's variant. */
static int
frames_make(struct fanout_run *run, struct fanout_frames *f)
{
	size_t i;

	f->bytes.len = 0;
	if (array_grow(&f->end, &f->capend, run->n, sizeof(*f->end)) == -1)
		return -1;
	for (i = 0; i < run->n; i++) {
		if (f->door->encode(&f->bytes, f->variant, &run->msgs[i]) == -1)
			return -1;
		f->end[i] = f->bytes.len;
	}
	f->made = 1;
	return 0;
}

const struct fanout_frames *
fanout_frames(struct fanout_run *run, const struct fanout_ops *door,
    int variant)
{
	struct fanout_frames *f;
	size_t i;

	for (i = 0; i < run->nframes; i++)
		if (run->frames[i]->door == door &&
		    run->frames[i]->variant == variant)
			break;
	if (i == run->nframes) {
		/* A door's first ask of this variant. */
		if (array_grow(&run->frames, &run->capframes, run->nframes + 1,
		    sizeof(*run->frames)) == -1 ||
		    (run->frames[i] = calloc(1, sizeof(**run->frames))) == NULL)
			return NULL;
		run->frames[i]->door = door;
		run->frames[i]->variant = variant;
		run->nframes++;
	}
	f = run->frames[i];
	if (!f->made && frames_make(run, f) == -1)
		return NULL;
	return f;
}

/*
 * Whether the exchange's log may hold what the subscribers have not
 * read.  An append to it, by any process, queues an event on the
 * server's watch before the append returns, and the server reads the
 * watch's events only to hand out what they announce (server.c's
 * watch_ready drains the subscribers when the log changed); so an empty
 * watch means nothing was appended since the last drain.  One poll(2)
 * for the run, where draining costs a read of the log per subscriber.
 */
static int
log_unread(struct server *s)
{
	struct pollfd pfd = { .fd = mq_watch_fd(s->watch), .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;	/* an error: drain, to be sure */
}

void
fanout_deliver_here(struct server *s)
{
	struct fanout_run *run = s->fanout_run;
	struct fanout_sub *sub, *next;
	size_t i;

	if (run == NULL || run->n == 0)
		return;
	if (log_unread(s))
		fanout_drain(s);
	for (sub = TAILQ_FIRST(&s->fanout); sub != NULL; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (!sub->conn->dead)
			sub->ops->push(sub->arg, run);
	}
	run->n = 0;
	for (i = 0; i < run->nframes; i++)
		run->frames[i]->made = 0;
}

int
fanout_pending(const struct server *s)
{
	return s->fanout_run != NULL && s->fanout_run->n > 0;
}

void
fanout_free(struct server *s)
{
	struct fanout_run *run = s->fanout_run;
	size_t i;

	if (run == NULL)
		return;
	for (i = 0; i < run->nframes; i++) {
		free(run->frames[i]->bytes.p);
		free(run->frames[i]->end);
		free(run->frames[i]);
	}
	free(run->frames);
	free(run->msgs);
	free(run);
	s->fanout_run = NULL;
}

/* ------------------------------------------------------------------
 * Writing a subscriber's frames.
 * ---------------------------------------------------------------- */

void
fanout_out_begin(struct fanout_out *o, struct conn *conn)
{
	o->conn = conn;
	o->p = NULL;
	o->len = 0;
}

void
fanout_out_shared(struct fanout_out *o, const char *p, size_t len)
{
	if (o->len > 0 && o->p + o->len == p) {
		o->len += len;
		return;
	}
	fanout_out_end(o);
	o->p = p;
	o->len = len;
}

void
fanout_out_copy(struct fanout_out *o, const void *p, size_t len)
{
	fanout_out_end(o);
	conn_write(o->conn, p, len);
}

void
fanout_out_end(struct fanout_out *o)
{
	if (o->len > 0)
		conn_write(o->conn, o->p, o->len);
	o->len = 0;
}
