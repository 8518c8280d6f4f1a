/*
 * refused.c - x-overflow reject-publish-dlx: what a full queue refuses
 * is dead-lettered.
 *
 * Model: libmq refuses an append past max_len alike for reject-publish
 * and reject-publish-dlx (MQ_OVERFLOW_REJECT: the publisher gets a nack,
 * or nothing); the difference is the door's, kept in the queue's
 * declaration.  It is looked at only when an append was refused, a full
 * queue and not the common path: then libmq dead-letters the message as
 * it does its own (mq_stream_dead_letter), through the queue's
 * dead-letter exchange, with the reason RabbitMQ gives, "maxlen".
 * An append through the write-ahead log names no open stream; such a
 * queue has no max_len to refuse with.
 */
#include <string.h>

#include "amqp.h"

#define REJECT_DLX	"reject-publish-dlx"

void
amqp_refused(struct server *s, mq_stream *st, const struct mq_msg *m)
{
	struct amqp_field f;
	struct mq_queue q;
	int rc;

	if (st == NULL ||
	    mq_queue_lookup(s->spool, mq_stream_name(st), &q) != MQ_OK ||
	    q.args == NULL ||
	    amqp_table_find(q.args, q.argslen, "x-overflow", &f) != 1 ||
	    !amqp_field_is(&f, REJECT_DLX))
		return;
	if ((rc = mq_stream_dead_letter(st, m, 1, "maxlen")) != MQ_OK)
		server_log(s, "queue '%s': dead-lettering a refused publish: %s",
		    mq_stream_name(st), mq_strerror(rc));
}
