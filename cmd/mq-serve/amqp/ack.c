/*
 * ack.c - deliveries waiting for their ack: basic.ack, basic.nack,
 * basic.reject, basic.recover, and what a closing channel hands back.
 *
 * Model: each delivery of a channel that wants an ack (a consumer
 * without no-ack, a basic.get without it) is kept by its delivery tag,
 * with the queue and the libmq id it came from; the entry is pending in
 * the queue's group under the channel's consumer name until then.  An
 * ack acknowledges it (mq_group_ack); a nack or reject with requeue
 * hands it back at once (mq_group_nack, no delay), to be delivered
 * again, first, marked redelivered; one without requeue dead-letters it
 * (mq_group_nack with reject: the queue's dead letters, "<queue>.dlq"
 * unless its policy names another, which mq-dlq lists).  "multiple"
 * takes every delivery up to the tag; tag 0 with multiple, all of them.
 * A tag the channel does not hold is RabbitMQ's channel error 406
 * "unknown delivery tag N".  When the channel closes (or its
 * connection), what it holds goes back as a requeue does.
 *
 * Ids go to libmq in runs of one queue, so an ack of many is one call
 * per queue; a queue deleted meanwhile has nothing left to acknowledge.
 * Each queue that got something back is served again (amqp_queue_kick),
 * and so is the queue of each consumer that was at its prefetch count
 * and no longer is; if the channel was at its own (global) count, the
 * consumers it passed over for want of room are served in turn
 * (amqp_chan_refill).  A consumer with room waits on its queue already,
 * so an ack that gives room to no one who lacked it serves nothing,
 * however many queues the channel consumes.
 *
 * A delivery of a stream queue (stream.c) is only counted: its ack gives
 * its consumer room, the entry stays in the stream, and a nack or reject
 * of it is RabbitMQ's 540.
 *
 * In tx mode (tx.c) an ack, nack or reject takes its deliveries out of
 * the tree into the transaction, still counted against the prefetch as
 * RabbitMQ counts them: a commit settles them in order, a rollback puts
 * them back, unsettled.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

/* What becomes of the deliveries taken. */
enum settle { SETTLE_ACK, SETTLE_REQUEUE, SETTLE_DEAD };

static int
tag_cmp(const struct amqp_unacked *a, const struct amqp_unacked *b)
{
	return a->tag < b->tag ? -1 : a->tag > b->tag;
}

/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(amqp_unacked_tree, amqp_unacked, node, tag_cmp, RB_ATTR)

/*
 * Settled deliveries kept for the next ones, up to UNACKED_SPARE: a
 * consumer at its prefetch takes one and gives one back per message,
 * which then costs no malloc(3) and free(3).
 */
#define UNACKED_SPARE	4096
static struct amqp_unacked *spares;
static size_t nspares;

static struct amqp_unacked *
unacked_new(void)
{
	struct amqp_unacked *u;

	if ((u = spares) == NULL)
		return calloc(1, sizeof(*u));
	spares = u->spare;
	nspares--;
	memset(u, 0, sizeof(*u));
	return u;
}

static void
unacked_free(struct amqp_unacked *u)
{
	if (nspares >= UNACKED_SPARE) {
		free(u);
		return;
	}
	u->spare = spares;
	spares = u;
	nspares++;
}

int
amqp_unacked_add(struct amqp_channel *ch, uint64_t tag, mq_id id,
    struct amqp_queue *q, struct amqp_consumer *cn)
{
	struct amqp_unacked *u;

	if ((u = unacked_new()) == NULL)
		return -1;
	u->tag = tag;
	u->id = id;
	u->q = q;
	u->cn = cn;
	u->stream = cn != NULL && cn->stream;
	amqp_queue_hold(q);
	RB_INSERT(amqp_unacked_tree, &ch->unacked, u);
	ch->nunacked++;
	if (cn != NULL)
		cn->nunacked++;
	return 0;
}

void
amqp_unacked_orphan(struct amqp_channel *ch, struct amqp_consumer *cn)
{
	struct amqp_unacked *u;
	size_t i;

	RB_FOREACH(u, amqp_unacked_tree, &ch->unacked)
		if (u->cn == cn)
			u->cn = NULL;
	for (i = 0; ch->tx != NULL && i < ch->tx->nacks; i++)
		if (ch->tx->acks[i].u->cn == cn)
			ch->tx->acks[i].u->cn = NULL;
}

/* Settles the run's ids in its queue (a queue that is gone has none). */
static void
run_settle(struct server *s, struct amqp_ackrun *r)
{
	mq_stream *st;
	mq_group *g;
	size_t done;
	int rc;

	if (r->n == 0)
		return;
	/*
	 * Nothing is kept of the queue after its run: a hand-back to
	 * thousands of queues keeps the cache within its bound.
	 */
	server_cache_release(s);
	rc = amqp_queue_open(s, amqp_queue_qname(r->q), &st, &g);
	if (rc == MQ_OK)
		rc = r->how == SETTLE_ACK ? mq_group_ack(g, r->ids, r->n,
		    &done) : mq_group_nack(g, r->ids, r->n,
		    r->how == SETTLE_DEAD, 0, &done);
	if (rc == MQ_OK && r->how == SETTLE_REQUEUE)
		amqp_queue_kick(r->q);
	r->n = 0;
	if (rc != MQ_OK && rc != MQ_ENOSTREAM && r->failed == MQ_OK)
		r->failed = rc;
}

/* Adds delivery 'u' (out of any tree) to the run, and frees it. */
static void
run_add(struct server *s, struct amqp_ackrun *r, struct amqp_unacked *u,
    enum settle how)
{
	if (r->q != u->q || r->how != (int)how) {
		run_settle(s, r);
		if (r->q != NULL)
			amqp_queue_unref(r->q);
		r->q = u->q;
		r->how = how;
		amqp_queue_hold(r->q);
	}
	if (u->stream)
		;	/* a stream keeps its entries: the ack gave room */
	else if (array_grow(&r->ids, &r->cap, r->n + 1,
	    sizeof(*r->ids)) == -1) {
		if (r->failed == MQ_OK)
			r->failed = MQ_ESYS;
	} else
		r->ids[r->n++] = u->id;
	if (u->cn != NULL) {
		/* Its consumer has room again: served if it had none. */
		if (u->cn->prefetch != 0 &&
		    u->cn->nunacked >= u->cn->prefetch)
			amqp_queue_kick(u->cn->q);
		u->cn->nunacked--;
	}
	amqp_queue_unref(u->q);
	unacked_free(u);
}

/* Settles what is left of the run; returns its first error, or MQ_OK. */
static int
run_end(struct server *s, struct amqp_ackrun *r)
{
	run_settle(s, r);
	if (r->q != NULL)
		amqp_queue_unref(r->q);
	free(r->ids);
	return r->failed;
}

/*
 * Takes the deliveries of 'ch' with tags from 'first' to 'last' (as
 * they are in the tree) out of the tree: settled or, with 'tx', kept by
 * the channel's transaction.  Returns MQ_OK, or the first libmq error
 * (the rest are settled all the same).
 */
static int
settle(struct amqp_channel *ch, struct amqp_unacked *first, uint64_t last,
    enum settle how, int tx, struct amqp_ackrun *into)
{
	struct server *s = ch->c->conn->server;
	struct amqp_unacked *u, *next;
	struct amqp_ackrun r = { 0 }, *run = into != NULL ? into : &r;

	for (u = first; u != NULL && u->tag <= last; u = next) {
		next = RB_NEXT(amqp_unacked_tree, &ch->unacked, u);
		RB_REMOVE(amqp_unacked_tree, &ch->unacked, u);
		if (!tx) {
			ch->nunacked--;
			run_add(s, run, u, how);
		} else if (amqp_tx_ack(ch, u, how) == -1) {
			amqp_unacked_restore(ch, u);
			run->failed = MQ_ESYS;
			break;
		}
	}
	/* Gathered: settled, and its failure told, by amqp_acks_flush. */
	if (into != NULL)
		return MQ_OK;
	return run_end(s, &r);
}

void
amqp_acks_flush(struct amqp_client *c)
{
	struct amqp_ackrun *r = &c->acks;
	int rc;

	if (r->q == NULL)
		return;
	run_settle(c->conn->server, r);
	amqp_queue_unref(r->q);
	r->q = NULL;
	rc = r->failed;
	r->failed = MQ_OK;
	if (rc != MQ_OK)
		amqp_conn_error(c, AMQP_INTERNAL_ERROR, AMQP_BASIC_ACK,
		    "settling deliveries: %s", mq_strerror(rc));
}

void
amqp_acks_free(struct amqp_client *c)
{
	free(c->acks.ids);
	memset(&c->acks, 0, sizeof(c->acks));
}

/*
 * Deliveries of the channel were settled: if it was at its global
 * prefetch ('was_full') and is not now, those it passed over for want
 * of room are served in turn.  A consumer that got room back had its
 * queue kicked as its delivery was settled (run_add).
 */
static void
room_back(struct amqp_channel *ch, int was_full)
{
	if (was_full && !amqp_chan_full(ch))
		amqp_chan_refill(ch);
}

/* Still counted in nunacked: a transaction's deliveries take room until settled. */
void
amqp_unacked_restore(struct amqp_channel *ch, struct amqp_unacked *u)
{
	RB_INSERT(amqp_unacked_tree, &ch->unacked, u);
}

int
amqp_unacked_settle(struct amqp_channel *ch, const struct amqp_tx_ack *acks,
    size_t n)
{
	struct server *s = ch->c->conn->server;
	struct amqp_ackrun r = { 0 };
	size_t i;
	int rc, was_full = amqp_chan_full(ch);

	ch->nunacked -= n;
	for (i = 0; i < n; i++)
		run_add(s, &r, acks[i].u, (enum settle)acks[i].how);
	rc = run_end(s, &r);
	room_back(ch, was_full);
	return rc;
}

/*
 * The first delivery of a stream queue among those from 'first' to
 * 'last', or NULL: a nack or reject of one is refused, as RabbitMQ does.
 */
static struct amqp_unacked *
stream_delivery(struct amqp_channel *ch, struct amqp_unacked *first,
    uint64_t last)
{
	struct amqp_unacked *u;

	for (u = first; u != NULL && u->tag <= last;
	    u = RB_NEXT(amqp_unacked_tree, &ch->unacked, u))
		if (u->stream)
			return u;
	return NULL;
}

void
amqp_basic_ack(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct amqp_unacked key, *first, *u;
	uint64_t tag;
	int multiple = 0, requeue = 0, rc, was_full;
	enum settle how;

	switch (m->id) {
	case AMQP_BASIC_ACK:
		tag = m->args[AMQP_BASIC_ACK_DELIVERY_TAG].n;
		multiple = m->args[AMQP_BASIC_ACK_MULTIPLE].n != 0;
		break;
	case AMQP_BASIC_NACK:
		tag = m->args[AMQP_BASIC_NACK_DELIVERY_TAG].n;
		multiple = m->args[AMQP_BASIC_NACK_MULTIPLE].n != 0;
		requeue = m->args[AMQP_BASIC_NACK_REQUEUE].n != 0;
		break;
	default:
		tag = m->args[AMQP_BASIC_REJECT_DELIVERY_TAG].n;
		requeue = m->args[AMQP_BASIC_REJECT_REQUEUE].n != 0;
		break;
	}
	how = m->id == AMQP_BASIC_ACK ? SETTLE_ACK : requeue ?
	    SETTLE_REQUEUE : SETTLE_DEAD;
	first = RB_MIN(amqp_unacked_tree, &ch->unacked);
	if (multiple && tag == 0) {
		tag = UINT64_MAX;	/* all of them */
	} else {
		key.tag = tag;
		if ((u = RB_FIND(amqp_unacked_tree, &ch->unacked, &key)) ==
		    NULL) {
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
			    "unknown delivery tag %llu",
			    (unsigned long long)tag);
			return;
		}
		if (!multiple)
			first = u;
	}
	if (how != SETTLE_ACK && (u = stream_delivery(ch, first, tag)) != NULL) {
		amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id,
		    "basic.nack and basic.reject not supported by stream queues "
		    "queue '%s' in vhost '/'", amqp_queue_qname(u->q));
		return;
	}
	was_full = amqp_chan_full(ch);
	if ((rc = settle(ch, first, tag, how, ch->tx != NULL,
	    ch->tx != NULL ? NULL : &ch->c->acks)) != MQ_OK) {
		amqp_fail_internal(ch->c, m, "settling deliveries", rc);
		return;
	}
	room_back(ch, was_full);
}

void
amqp_unacked_requeue(struct amqp_channel *ch)
{
	struct amqp_unacked *first = RB_MIN(amqp_unacked_tree, &ch->unacked);
	int rc;

	if (first == NULL)
		return;
	if ((rc = settle(ch, first, UINT64_MAX, SETTLE_REQUEUE, 0, NULL)) != MQ_OK)
		server_log(ch->c->conn->server, "conn id=%llu proto=amqp "
		    "channel %u: handing back its deliveries: %s",
		    (unsigned long long)ch->c->conn->id, ch->id,
		    mq_strerror(rc));
}

void
amqp_basic_recover(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct amqp_consumer *cn;

	/* RabbitMQ keeps no delivery back for the same consumer either. */
	if (!m->args[AMQP_BASIC_RECOVER_REQUEUE].n) {
		amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id,
		    "requeue=false");
		return;
	}
	amqp_unacked_requeue(ch);
	if (m->id == AMQP_BASIC_RECOVER)
		amqp_send_method(ch->c, ch->id, AMQP_BASIC_RECOVER_OK, NULL);
	TAILQ_FOREACH(cn, &ch->consumers, clink)
		amqp_queue_kick(cn->q);
}
