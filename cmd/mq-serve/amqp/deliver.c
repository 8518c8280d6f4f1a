/*
 * deliver.c - a message to the client: basic.deliver to a consumer, and
 * basic.get with its get-ok or get-empty.
 *
 * A message goes as its method, a content header (message.c makes the
 * properties and the headers table from the message's headers) and its
 * body in frames of at most the frame_max agreed less 8 bytes, none for
 * an empty body; the exchange is "" (for a dead letter, the dead-letter
 * exchange that brought it) and the routing key the message's key (a key
 * over the 255 bytes a short string holds goes as "").  The
 * frames are made in the client's buffer, one after the other, so no
 * other frame of the channel comes between them.
 *
 * A stream queue's delivery carries its offset in the header
 * x-stream-offset (stream.c), as an x-delivery-count is added to a
 * redelivery from a queue with a delivery limit.
 *
 * basic.get reads one message of the queue's group as the channel's
 * consumer; message-count is what the queue has ready after it.  A
 * stream queue refuses it (540), as RabbitMQ's.
 */
#include <string.h>

#include "amqp.h"

/* The headers table of the message being written, kept between calls. */
static struct amqp_buf table;

uint64_t
amqp_retries(mq_stream *st, mq_group *g, mq_id id)
{
	struct mq_policy pol;
	struct mq_pending p;
	size_t n;

	/* A look at the pending list leaves the messages read as they are. */
	if (mq_policy_get(st, &pol) != MQ_OK || pol.delivery_limit == 0 ||
	    mq_group_pending(g, id, id, 1, NULL, 0, &p, &n) != MQ_OK ||
	    n == 0 || p.count == 0)
		return 0;
	return p.count - 1;
}

/* Adds the long 'key' to the headers table of 'props' (in 'table'). */
static void
add_long(struct amqp_content_header *props, const char *key, int64_t v)
{
	amqp_fput_key(&table, key);
	amqp_fput_i64(&table, v);
	props->present |= 1u << AMQP_BASIC_PROP_HEADERS;
	props->props[AMQP_BASIC_PROP_HEADERS].p = table.p;
	props->props[AMQP_BASIC_PROP_HEADERS].len = table.len;
}

/*
 * amqp_deliver(), with the long header 'extra' of value 'v' added (NULL:
 * none).
 */
static int
deliver(struct amqp_channel *ch, const char *ctag, size_t ctaglen,
    uint64_t tag, int redelivered, const char *extra, int64_t v,
    uint64_t count, const struct mq_msg *m)
{
	struct amqp_client *c = ch->c;
	struct amqp_value args[AMQP_MAX_ARGS];
	struct amqp_content_header props;
	struct amqp_value key = amqp_bytes(m->key, m->keylen), x;
	const void *xp;
	uint32_t id;
	int free_run;

	if (m->key == NULL || m->keylen > 255)
		key = amqp_str("");
	amqp_death_exchange(m, &xp, &x.len);
	x = amqp_bytes(xp, x.len);
	if (amqp_msg_to_content(m, &table, &props) == -1)
		return -1;
	if (extra != NULL) {
		add_long(&props, extra, v);
		if (table.err != 0)
			return -1;
	}
	memset(args, 0, sizeof(args));
	if (ctag != NULL) {
		id = AMQP_BASIC_DELIVER;
		args[AMQP_BASIC_DELIVER_CONSUMER_TAG] = amqp_bytes(ctag,
		    ctaglen);
		args[AMQP_BASIC_DELIVER_DELIVERY_TAG].n = tag;
		args[AMQP_BASIC_DELIVER_REDELIVERED].n = redelivered;
		args[AMQP_BASIC_DELIVER_EXCHANGE] = x;
		args[AMQP_BASIC_DELIVER_ROUTING_KEY] = key;
	} else {
		id = AMQP_BASIC_GET_OK;
		args[AMQP_BASIC_GET_OK_DELIVERY_TAG].n = tag;
		args[AMQP_BASIC_GET_OK_REDELIVERED].n = redelivered;
		args[AMQP_BASIC_GET_OK_EXCHANGE] = x;
		args[AMQP_BASIC_GET_OK_ROUTING_KEY] = key;
		args[AMQP_BASIC_GET_OK_MESSAGE_COUNT].n = count;
	}
	/* Only deliveries so far in c->out: this one too (send.c). */
	free_run = ctag != NULL && c->unsynced_end == c->out.len;
	amqp_put_method(&c->out, ch->id, id, args);
	amqp_put_content_header(&c->out, ch->id, &props);
	amqp_put_body(&c->out, ch->id, m->body, m->bodylen,
	    c->parser.frame_max);
	if (free_run)
		c->unsynced_end = c->out.len;
	/* A buffer that could not grow is seen, and closes, at the flush. */
	amqp_out_defer(c);
	return 0;
}

int
amqp_deliver(struct amqp_channel *ch, const char *ctag, size_t ctaglen,
    uint64_t tag, int redelivered, uint64_t retries, uint64_t count,
    const struct mq_msg *m)
{
	return deliver(ch, ctag, ctaglen, tag, redelivered, retries > 0 ?
	    "x-delivery-count" : NULL, (int64_t)retries, count, m);
}

int
amqp_deliver_offset(struct amqp_channel *ch, const char *ctag,
    size_t ctaglen, uint64_t tag, const struct mq_msg *m)
{
	return deliver(ch, ctag, ctaglen, tag, 0, "x-stream-offset",
	    (int64_t)m->offset, 0, m);
}

void
amqp_basic_get(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct amqp_client *c = ch->c;
	int no_ack = m->args[AMQP_BASIC_GET_NO_ACK].n != 0, again, rc, top;
	char name[AMQP_NAME_SIZE], from[AMQP_NAME_SIZE];
	struct amqp_queue *q = NULL;
	struct amqp_value args[AMQP_MAX_ARGS];
	struct mq_msg msg;
	mq_id cursor;
	mq_stream *st;
	mq_group *g;
	uint64_t count, tag;
	size_t got;

	if (amqp_queue_name(ch, m, &m->args[AMQP_BASIC_GET_QUEUE], name) == -1 ||
	    amqp_stream_refuse(ch, m, name, "basic.get") == -1 ||
	    amqp_queue_open_or_fail(ch, m, name, &st, &g) == -1)
		return;
	amqp_expire_use(c->conn->server, name);
	/*
	 * Counted first: the message read is valid until the next call.
	 * It comes from the highest priority level that has one (prio.c).
	 */
	(void)strlcpy(from, name, sizeof(from));
	if ((rc = amqp_queue_count(c->conn->server, name, st, g, &count,
	    &top)) == MQ_OK && top > 0 && amqp_prio_stream(name, top,
	    from) == 0)
		rc = amqp_queue_open(c->conn->server, from, &st, &g);
	if (rc != MQ_OK || (rc = mq_group_cursor(g, &cursor)) != MQ_OK ||
	    (rc = mq_group_read(g, ch->consumer, 1, no_ack, &msg,
	    &got)) != MQ_OK) {
		amqp_fail_internal(c, m, name, rc);
		return;
	}
	if (got == 0) {
		memset(args, 0, sizeof(args));
		args[AMQP_BASIC_GET_EMPTY_CLUSTER_ID] = amqp_str("");
		amqp_send_method(c, ch->id, AMQP_BASIC_GET_EMPTY, args);
		return;
	}
	again = mq_id_cmp(msg.id, cursor) <= 0;
	tag = ++ch->tag;
	if ((!no_ack && ((q = amqp_queue_ref(c->conn->server, from)) == NULL ||
	    amqp_unacked_add(ch, tag, msg.id, q, NULL) == -1))) {
		if (q != NULL)
			amqp_queue_unref(q);
		conn_abort(c->conn, "out of memory");
		return;
	}
	if (q != NULL)
		amqp_queue_unref(q);	/* the delivery holds its own */
	if (amqp_deliver(ch, NULL, 0, tag, again,
	    again ? amqp_retries(st, g, msg.id) : 0, count > 0 ? count - 1 : 0,
	    &msg) == -1) {
		conn_abort(c->conn, "out of memory");
		return;
	}
	amqp_out_flush(c);
}
