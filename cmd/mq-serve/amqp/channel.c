/*
 * channel.c - AMQP channels: open and close both ways, channel errors,
 * and the dispatch of a channel's methods to the files that serve them.
 *
 * A channel is opened by the client with channel.open and lives until
 * the client's channel.close, or until an error of its own: then the
 * server sends channel.close with RabbitMQ's code and text (403, 404,
 * 406) and the channel is closing: its consumers and the publish under
 * way end at once, and every frame on it but channel.close (answered
 * with close-ok) and channel.close-ok (which frees it) is dropped, the
 * content frames of a publish included, as the specification asks.  The
 * connection and its other channels go on.  Its deliveries waiting for
 * an ack go back to their queues when it is freed.
 *
 * Channel numbers go from 1 to the channel_max agreed in tune-ok; the
 * table of channels grows to the highest one used.  Each method that
 * touches the spool begins a command of the core first (cmd_begin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/turn.h"

struct amqp_channel *
amqp_chan_get(struct amqp_client *c, uint16_t id)
{
	return id < c->nchannels ? c->channels[id] : NULL;
}

/* Makes room for channel 'id' in the table: 0, or -1 (out of memory). */
static int
chan_slots(struct amqp_client *c, uint16_t id)
{
	size_t old = c->nchannels;

	if (array_grow(&c->channels, &c->nchannels, (size_t)id + 1,
	    sizeof(*c->channels)) == -1)
		return -1;
	memset(c->channels + old, 0, (c->nchannels - old) *
	    sizeof(*c->channels));
	return 0;
}

/* Ends what the channel does: its consumers, its publish under way. */
static void
chan_stop(struct amqp_channel *ch)
{
	amqp_consumers_stop(ch);
	if (!ch->routing)
		amqp_publish_reset(ch);
}

static void
chan_free(struct amqp_client *c, struct amqp_channel *ch)
{
	chan_stop(ch);
	amqp_tx_free(ch);	/* rolled back: its deliveries to the tree */
	amqp_unacked_requeue(ch);
	amqp_confirm_free(ch);
	c->channels[ch->id] = NULL;
	free(ch);
}

void
amqp_chan_stop_all(struct amqp_client *c)
{
	size_t i;

	for (i = 0; i < c->nchannels; i++)
		if (c->channels[i] != NULL)
			chan_stop(c->channels[i]);
}

void
amqp_chan_free_all(struct amqp_client *c)
{
	size_t i;

	for (i = 0; i < c->nchannels; i++)
		if (c->channels[i] != NULL)
			chan_free(c, c->channels[i]);
	free(c->channels);
	c->channels = NULL;
	c->nchannels = 0;
}

void
amqp_chan_error(struct amqp_channel *ch, uint16_t code, uint32_t method,
    const char *fmt, ...)
{
	const struct amqp_reply_spec *r = amqp_reply_spec(code);
	struct amqp_client *c = ch->c;
	char text[256];
	va_list ap;

	if (c->phase == AMQP_CLOSING || ch->closing)
		return;
	va_start(ap, fmt);
	if (r != NULL && r->hard) {
		/* A connection error's code: the whole connection goes. */
		(void)vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		amqp_conn_error(c, code, method, "%s", text);
		return;
	}
	amqp_reply_text(text, sizeof(text), code, fmt, ap);
	va_end(ap);
	amqp_send_close(c, ch->id, AMQP_CHANNEL_CLOSE, code, text, method);
	server_log(c->conn->server, "conn id=%llu peer=%s proto=amqp "
	    "channel %u error: %s", (unsigned long long)c->conn->id,
	    c->conn->peer, ch->id, text);
	ch->closing = 1;
	chan_stop(ch);
}

static void
chan_open(struct amqp_client *c, uint16_t id, const struct amqp_method *m)
{
	struct amqp_channel *ch;
	struct amqp_value args[AMQP_MAX_ARGS];

	if (id > c->channel_max) {
		amqp_conn_error(c, AMQP_CHANNEL_ERROR, m->id, "channel %u is "
		    "above channel_max %u", id, c->channel_max);
		return;
	}
	if ((ch = amqp_chan_get(c, id)) != NULL) {
		/* One that is closing drops it; an open one is misused. */
		if (!ch->closing)
			amqp_conn_error(c, AMQP_CHANNEL_ERROR, m->id,
			    "second 'channel.open' seen");
		return;
	}
	if (chan_slots(c, id) == -1 || (ch = calloc(1, sizeof(*ch))) == NULL) {
		amqp_conn_error(c, AMQP_RESOURCE_ERROR, m->id, "out of memory");
		return;
	}
	ch->c = c;
	ch->id = id;
	(void)snprintf(ch->consumer, sizeof(ch->consumer), "amqp-%llu-%u",
	    (unsigned long long)c->conn->id, id);
	RB_INIT(&ch->unacked);
	TAILQ_INIT(&ch->consumers);
	TAILQ_INIT(&ch->blocked);
	c->channels[id] = ch;
	memset(args, 0, sizeof(args));
	args[AMQP_CHANNEL_OPEN_OK_CHANNEL_ID] = amqp_str("");
	amqp_send_method(c, id, AMQP_CHANNEL_OPEN_OK, args);
}

static void
chan_flow(struct amqp_client *c, struct amqp_channel *ch,
    const struct amqp_method *m)
{
	struct amqp_value args[AMQP_MAX_ARGS];

	/* RabbitMQ does not stop sending to a client that asks: neither do we. */
	if (!m->args[AMQP_CHANNEL_FLOW_ACTIVE].n) {
		amqp_conn_error(c, AMQP_NOT_IMPLEMENTED, m->id, "active=false");
		return;
	}
	memset(args, 0, sizeof(args));
	args[AMQP_CHANNEL_FLOW_OK_ACTIVE].n = 1;
	amqp_send_method(c, ch->id, AMQP_CHANNEL_FLOW_OK, args);
}

/*
 * A closing channel takes only the end of the close: close-ok frees
 * it, the client's own close (the two crossed) is answered.
 */
static void
chan_closing(struct amqp_client *c, struct amqp_channel *ch,
    const struct amqp_method *m)
{
	if (m->id == AMQP_CHANNEL_CLOSE_OK) {
		if (cmd_begin(c->conn, TURN_PLAIN) == 0)
			chan_free(c, ch);
	} else if (m->id == AMQP_CHANNEL_CLOSE)
		amqp_send_method(c, ch->id, AMQP_CHANNEL_CLOSE_OK, NULL);
}

/*
 * How each method of a channel begins its command (core/turn.c): -1
 * for one that does not touch the spool.  Group changes in a row keep
 * their groups held; what makes or removes streams and groups does not.
 */
static int
cmd_kind(uint32_t id)
{
	switch (id) {
	case AMQP_BASIC_GET:
	case AMQP_BASIC_ACK:
	case AMQP_BASIC_NACK:
	case AMQP_BASIC_REJECT:
	case AMQP_BASIC_RECOVER:
	case AMQP_BASIC_RECOVER_ASYNC:
		return TURN_HOLDS;
	case AMQP_CHANNEL_CLOSE:
	case AMQP_QUEUE_DECLARE:
	case AMQP_QUEUE_PURGE:
	case AMQP_QUEUE_DELETE:
	case AMQP_QUEUE_BIND:
	case AMQP_QUEUE_UNBIND:
	case AMQP_EXCHANGE_DECLARE:
	case AMQP_EXCHANGE_DELETE:
	case AMQP_EXCHANGE_BIND:
	case AMQP_EXCHANGE_UNBIND:
	case AMQP_BASIC_CONSUME:
		return TURN_PLAIN;
	default:
		return -1;
	}
}

/* Runs method 'm' of the open channel 'ch'. */
static void
chan_run(struct amqp_client *c, struct amqp_channel *ch,
    const struct amqp_method *m)
{
	switch (m->id) {
	case AMQP_CHANNEL_CLOSE:
		amqp_send_method(c, ch->id, AMQP_CHANNEL_CLOSE_OK, NULL);
		chan_free(c, ch);
		break;
	case AMQP_CHANNEL_CLOSE_OK:
		/* We sent no close: a client's mistake, harmless. */
		break;
	case AMQP_CHANNEL_FLOW:
		chan_flow(c, ch, m);
		break;
	case AMQP_QUEUE_DECLARE:
		amqp_queue_declare(ch, m);
		break;
	case AMQP_QUEUE_PURGE:
		amqp_queue_purge(ch, m);
		break;
	case AMQP_QUEUE_DELETE:
		amqp_queue_delete(ch, m);
		break;
	case AMQP_QUEUE_BIND:
		amqp_queue_bind(ch, m);
		break;
	case AMQP_QUEUE_UNBIND:
		amqp_queue_unbind(ch, m);
		break;
	case AMQP_EXCHANGE_DECLARE:
		amqp_exchange_declare(ch, m);
		break;
	case AMQP_EXCHANGE_DELETE:
		amqp_exchange_delete(ch, m);
		break;
	case AMQP_EXCHANGE_BIND:
		amqp_exchange_bind(ch, m);
		break;
	case AMQP_EXCHANGE_UNBIND:
		amqp_exchange_unbind(ch, m);
		break;
	case AMQP_BASIC_QOS:
		amqp_basic_qos(ch, m);
		break;
	case AMQP_BASIC_CONSUME:
		amqp_basic_consume(ch, m);
		break;
	case AMQP_BASIC_CANCEL:
		amqp_basic_cancel(ch, m);
		break;
	case AMQP_BASIC_PUBLISH:
		amqp_publish_method(ch, m);
		break;
	case AMQP_BASIC_GET:
		amqp_basic_get(ch, m);
		break;
	case AMQP_BASIC_ACK:
	case AMQP_BASIC_NACK:
	case AMQP_BASIC_REJECT:
		amqp_basic_ack(ch, m);
		break;
	case AMQP_BASIC_RECOVER:
	case AMQP_BASIC_RECOVER_ASYNC:
		amqp_basic_recover(ch, m);
		break;
	case AMQP_CONFIRM_SELECT:
		amqp_confirm_select(ch, m);
		break;
	case AMQP_TX_SELECT:
	case AMQP_TX_COMMIT:
	case AMQP_TX_ROLLBACK:
		amqp_tx_method(ch, m);
		break;
	default:
		amqp_conn_error(c, AMQP_NOT_IMPLEMENTED, m->id,
		    "%s is not implemented yet", m->spec->name);
		break;
	}
}

void
amqp_chan_method(struct amqp_client *c, uint16_t id,
    const struct amqp_method *m)
{
	struct amqp_channel *ch = amqp_chan_get(c, id);
	int kind;

	if (m->id == AMQP_CHANNEL_OPEN) {
		chan_open(c, id, m);
		return;
	}
	if (ch == NULL) {
		amqp_conn_error(c, AMQP_CHANNEL_ERROR, m->id,
		    "expected 'channel.open'");
		return;
	}
	if (ch->closing) {
		chan_closing(c, ch, m);
		return;
	}
	if (ch->pub.state != AMQP_PUB_NONE) {
		amqp_publish_unexpected(ch);
		return;
	}
	/* What the acks before it gathered is settled before it runs. */
	if (m->id != AMQP_BASIC_ACK && m->id != AMQP_BASIC_NACK &&
	    m->id != AMQP_BASIC_REJECT) {
		amqp_acks_flush(c);
		if (c->phase != AMQP_RUNNING)
			return;
	}
	if ((kind = cmd_kind(m->id)) >= 0) {
		if (cmd_begin(c->conn, (enum cmd_kind)kind) == -1)
			return;		/* closed: 'c' is gone */
		/* The run of appends it let finish may have failed it. */
		if (c->phase != AMQP_RUNNING || ch->closing)
			return;
	}
	chan_run(c, ch, m);
}

void
amqp_chan_content(struct amqp_client *c, const struct amqp_frame *f)
{
	struct amqp_channel *ch = amqp_chan_get(c, f->channel);

	if (ch != NULL && ch->closing)
		return;
	if (ch == NULL || ch->pub.state == AMQP_PUB_NONE) {
		amqp_conn_error(c, AMQP_UNEXPECTED_FRAME, 0, "expected method "
		    "frame, got non method frame instead");
		return;
	}
	amqp_publish_content(ch, f);
}
