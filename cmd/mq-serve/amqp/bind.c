/*
 * bind.c - AMQP bindings: queue.bind and queue.unbind, exchange.bind and
 * exchange.unbind (exchange to exchange).
 *
 * Model: a binding is libmq's (mq_exchange_bind): from a source
 * exchange to a queue or an exchange, with a routing key (a topic
 * pattern for a topic exchange, ignored by fanout and headers ones) and
 * arguments, kept as their bytes (a headers exchange matches them,
 * headers.c).  A binding of a queue to amq.topic without arguments is
 * the same line as `mq-bind`'s, so the tools and Redis's PUBLISH reach
 * the queue too.  Binding twice is binding once.
 *
 * What RabbitMQ answers: the default exchange on either side is 403; a
 * missing source exchange is 404 "no exchange", then a missing queue or
 * destination exchange; a headers binding whose x-match is not all,
 * any, all-with-x or any-with-x is 406.  Unbinding what is not bound,
 * or from an exchange or to a queue that is not there, is no error.
 */
#include <string.h>

#include "amqp.h"
#include "headers.h"

/* The arguments of each method, by index, as both bind and unbind name them. */
struct bind_args {
	int	 dest, source, key, nowait, args;	/* -1: none */
	uint32_t ok;					/* the reply */
	enum mq_dest dkind;
	int	 bind;
};

static const struct bind_args queue_bind = {
	AMQP_QUEUE_BIND_QUEUE, AMQP_QUEUE_BIND_EXCHANGE,
	AMQP_QUEUE_BIND_ROUTING_KEY, AMQP_QUEUE_BIND_NOWAIT,
	AMQP_QUEUE_BIND_ARGUMENTS, AMQP_QUEUE_BIND_OK, MQ_DEST_QUEUE, 1
};
static const struct bind_args queue_unbind = {
	AMQP_QUEUE_UNBIND_QUEUE, AMQP_QUEUE_UNBIND_EXCHANGE,
	AMQP_QUEUE_UNBIND_ROUTING_KEY, -1,
	AMQP_QUEUE_UNBIND_ARGUMENTS, AMQP_QUEUE_UNBIND_OK, MQ_DEST_QUEUE, 0
};
static const struct bind_args exchange_bind = {
	AMQP_EXCHANGE_BIND_DESTINATION, AMQP_EXCHANGE_BIND_SOURCE,
	AMQP_EXCHANGE_BIND_ROUTING_KEY, AMQP_EXCHANGE_BIND_NOWAIT,
	AMQP_EXCHANGE_BIND_ARGUMENTS, AMQP_EXCHANGE_BIND_OK, MQ_DEST_EXCHANGE,
	1
};
static const struct bind_args exchange_unbind = {
	AMQP_EXCHANGE_UNBIND_DESTINATION, AMQP_EXCHANGE_UNBIND_SOURCE,
	AMQP_EXCHANGE_UNBIND_ROUTING_KEY, AMQP_EXCHANGE_UNBIND_NOWAIT,
	AMQP_EXCHANGE_UNBIND_ARGUMENTS, AMQP_EXCHANGE_UNBIND_OK,
	MQ_DEST_EXCHANGE, 0
};

/*
 * A bind's checks, in RabbitMQ's order: the source exchange exists, the
 * destination does, and a headers binding's x-match is one it knows.
 * Returns 0, or -1 after the channel error.
 */
static int
bind_check(struct amqp_channel *ch, const struct amqp_method *m,
    const struct mq_binding *b)
{
	struct mq_exchange x;
	enum mq_xtype type;
	mq_stream *st;
	mq_group *g;
	char why[256];

	if (amqp_exchange_find(ch, m, b->source, &x) == -1)
		return -1;
	type = x.type;
	if (b->dkind == MQ_DEST_EXCHANGE ?
	    amqp_exchange_find(ch, m, b->dest, &x) == -1 :
	    amqp_queue_open_or_fail(ch, m, b->dest, &st, &g) == -1)
		return -1;
	if (type == MQ_XHEADERS &&
	    amqp_headers_check(b->args, b->argslen, why, sizeof(why)) == -1) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id, "%s", why);
		return -1;
	}
	return 0;
}

/* Any of the four methods, as 'a' says of its arguments. */
static void
bind_method(struct amqp_channel *ch, const struct amqp_method *m,
    const struct bind_args *a)
{
	const struct amqp_value *key = &m->args[a->key];
	struct server *s = ch->c->conn->server;
	char source[AMQP_NAME_SIZE], dest[AMQP_NAME_SIZE], k[256];
	struct mq_binding b;
	int rc;

	if (a->dkind == MQ_DEST_QUEUE ?
	    amqp_queue_name(ch, m, &m->args[a->dest], dest) == -1 :
	    amqp_exchange_name(ch, m, &m->args[a->dest], dest) == -1)
		return;
	if (amqp_exchange_name(ch, m, &m->args[a->source], source) == -1)
		return;
	memcpy(k, key->p, key->len);
	k[key->len] = '\0';
	memset(&b, 0, sizeof(b));
	b.source = source;
	b.dkind = a->dkind;
	b.dest = dest;
	b.key = k;
	b.args = m->args[a->args].p;
	b.argslen = m->args[a->args].len;
	if (a->bind) {
		if (bind_check(ch, m, &b) == -1)
			return;
		rc = mq_exchange_bind(s->spool, &b);
	} else
		rc = mq_exchange_unbind(s->spool, &b);
	if (rc != MQ_OK && (a->bind || rc != MQ_ENOEXCHANGE)) {
		amqp_exchange_fail(ch, m, source, rc);
		return;
	}
	if (a->nowait < 0 || !m->args[a->nowait].n)
		amqp_send_method(ch->c, ch->id, a->ok, NULL);
}

void
amqp_queue_bind(struct amqp_channel *ch, const struct amqp_method *m)
{
	bind_method(ch, m, &queue_bind);
}

void
amqp_queue_unbind(struct amqp_channel *ch, const struct amqp_method *m)
{
	bind_method(ch, m, &queue_unbind);
}

void
amqp_exchange_bind(struct amqp_channel *ch, const struct amqp_method *m)
{
	bind_method(ch, m, &exchange_bind);
}

void
amqp_exchange_unbind(struct amqp_channel *ch, const struct amqp_method *m)
{
	bind_method(ch, m, &exchange_unbind);
}
