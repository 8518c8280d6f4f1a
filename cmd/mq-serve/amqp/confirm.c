/*
 * confirm.c - publisher confirms: confirm.select, and basic.ack or
 * basic.nack to the publisher once its message is written.
 *
 * Model: a channel in confirm mode numbers its publishes from 1.  Each
 * publish has a record that counts the appends it waits for (one per
 * queue it was routed to) plus a guard that routing lets go when it has
 * queued them all, so that an append finished early cannot confirm a
 * message still being routed.  An append's callback (publish.c) counts
 * one down; a failed one marks the record for a nack.  Records are kept
 * in publish order and confirmed from the oldest: a message routed to
 * no queue is confirmed at once, after its basic.return, as RabbitMQ
 * does, but not before the publishes in front of it.
 *
 * The callbacks run when the core's run of appends is written, in the
 * turn that wrote it, so under --fsync always the frames made then wait
 * for that write's fsync like every other reply of the turn (server.h):
 * no ack leaves before its message is on disk.  Acks are made in the
 * client's buffer and deferred to the end of the turn (amqp_turn_end),
 * and a run of them in a row becomes one basic.ack with multiple: the
 * last ack frame made, if nothing was written after it, gets the new
 * tag and the flag instead of a new frame.  Fifty thousand confirms of
 * one turn are then one frame.
 *
 * Every way a channel closes lets the run of appends finish first (its
 * close is a command of the core), so a callback never finds another
 * channel of the same number: one that is closing gets no confirms.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

/* A basic.ack frame: header 7, class and method 4, tag 8, bits 1, end 1. */
#define ACK_FRAME	21
#define ACK_TAG_AT	(ACK_FRAME - 10)	/* from the frame's start */
#define ACK_BITS_AT	(ACK_FRAME - 2)

void
amqp_confirm_select(struct amqp_channel *ch, const struct amqp_method *m)
{
	if (ch->tx != NULL) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "cannot switch from tx to confirm mode");
		return;
	}
	if (ch->confirms == NULL &&
	    (ch->confirms = calloc(1, sizeof(*ch->confirms))) == NULL) {
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, m->id,
		    "out of memory");
		return;
	}
	if (ch->confirms->next == 0)
		ch->confirms->next = ch->confirms->first = 1;
	if (!m->args[AMQP_CONFIRM_SELECT_NOWAIT].n)
		amqp_send_method(ch->c, ch->id, AMQP_CONFIRM_SELECT_OK, NULL);
}

void
amqp_confirm_free(struct amqp_channel *ch)
{
	if (ch->confirms == NULL)
		return;
	free(ch->confirms->recs);
	free(ch->confirms);
	ch->confirms = NULL;
}

uint64_t
amqp_confirm_begin(struct amqp_channel *ch)
{
	struct amqp_confirms *cf = ch->confirms;
	struct amqp_confirm_rec *r;

	if (cf == NULL)
		return 0;
	/* Room at the end: move the live records down, or grow. */
	if (cf->head + cf->n == cf->cap && cf->head > 0) {
		memmove(cf->recs, cf->recs + cf->head, cf->n * sizeof(*r));
		cf->head = 0;
	}
	if (array_grow(&cf->recs, &cf->cap, cf->head + cf->n + 1,
	    sizeof(*r)) == -1) {
		/* Its number is the client's all the same: no confirm may lie. */
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, AMQP_BASIC_PUBLISH,
		    "out of memory");
		return 0;
	}
	r = &cf->recs[cf->head + cf->n++];
	r->pending = 1;		/* the guard, until routing is done */
	r->failed = 0;
	return cf->next++;
}

void
amqp_confirm_add(struct amqp_channel *ch, uint64_t seq)
{
	struct amqp_confirms *cf = ch->confirms;

	if (cf != NULL && seq >= cf->first && seq - cf->first < cf->n)
		cf->recs[cf->head + (seq - cf->first)].pending++;
}

/* Makes the frame confirming 'tag' (a run ending there, for an ack). */
static void
put_confirm(struct amqp_channel *ch, uint64_t tag, int ack, int multiple)
{
	struct amqp_client *c = ch->c;
	struct amqp_value args[AMQP_MAX_ARGS];
	uint8_t *f;
	int i;

	/* The ack just before, with nothing after it: say it again, further. */
	if (ack && c->ack_end != 0 && c->ack_end == c->out.len &&
	    c->ack_chan == ch->id) {
		f = c->out.p + c->out.len - ACK_FRAME;
		for (i = 0; i < 8; i++)
			f[ACK_TAG_AT + i] = (uint8_t)(tag >> (56 - 8 * i));
		f[ACK_BITS_AT] = 1;	/* multiple */
		return;
	}
	memset(args, 0, sizeof(args));
	if (ack) {
		args[AMQP_BASIC_ACK_DELIVERY_TAG].n = tag;
		args[AMQP_BASIC_ACK_MULTIPLE].n = multiple;
		amqp_put_method(&c->out, ch->id, AMQP_BASIC_ACK, args);
		c->ack_end = c->out.err == 0 ? c->out.len : 0;
		c->ack_chan = ch->id;
	} else {
		args[AMQP_BASIC_NACK_DELIVERY_TAG].n = tag;
		args[AMQP_BASIC_NACK_MULTIPLE].n = multiple;
		args[AMQP_BASIC_NACK_REQUEUE].n = 0;
		amqp_put_method(&c->out, ch->id, AMQP_BASIC_NACK, args);
		c->ack_end = 0;
	}
	amqp_out_defer(c);
}

/* Confirms the records at the head that are done. */
static void
confirm_head(struct amqp_channel *ch)
{
	struct amqp_confirms *cf = ch->confirms;
	struct amqp_confirm_rec *r;

	while (cf->n > 0 && (r = &cf->recs[cf->head])->pending == 0) {
		if (!ch->closing && ch->c->phase == AMQP_RUNNING)
			put_confirm(ch, cf->first, !r->failed, 0);
		cf->head++;
		cf->n--;
		cf->first++;
	}
	if (cf->n == 0)
		cf->head = 0;
}

void
amqp_confirm_done(struct amqp_channel *ch, uint64_t seq, int ok)
{
	struct amqp_confirms *cf = ch->confirms;
	struct amqp_confirm_rec *r;

	if (cf == NULL || seq < cf->first || seq - cf->first >= cf->n)
		return;
	r = &cf->recs[cf->head + (seq - cf->first)];
	if (r->pending == 0)
		return;
	if (!ok)
		r->failed = 1;
	if (--r->pending == 0 && seq == cf->first)
		confirm_head(ch);
}
