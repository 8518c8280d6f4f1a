/*
 * channel.c - AMQP channels: open and close both ways, and the methods
 * a channel carries.
 *
 * A channel is opened by the client with channel.open and lives until
 * the client's channel.close.  (Errors that concern one channel, such as
 * a missing queue, will close only that channel, with the server's
 * channel.close, once methods that can fail so are served.)  Channel
 * numbers go from 1 to the channel_max agreed in tune-ok; the table of
 * channels grows to the highest one used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

/* The channel 'id' if the client opened it, else NULL. */
static struct amqp_channel *
chan_get(struct amqp_client *c, uint16_t id)
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

static void
chan_free(struct amqp_client *c, struct amqp_channel *ch)
{
	c->channels[ch->id] = NULL;
	free(ch);
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
	if (chan_get(c, id) != NULL) {
		amqp_conn_error(c, AMQP_CHANNEL_ERROR, m->id,
		    "second 'channel.open' seen");
		return;
	}
	if (chan_slots(c, id) == -1 || (ch = calloc(1, sizeof(*ch))) == NULL) {
		amqp_conn_error(c, AMQP_RESOURCE_ERROR, m->id, "out of memory");
		return;
	}
	ch->id = id;
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

void
amqp_chan_method(struct amqp_client *c, uint16_t id,
    const struct amqp_method *m)
{
	struct amqp_channel *ch = chan_get(c, id);

	if (m->id == AMQP_CHANNEL_OPEN) {
		chan_open(c, id, m);
		return;
	}
	if (ch == NULL) {
		amqp_conn_error(c, AMQP_CHANNEL_ERROR, m->id,
		    "expected 'channel.open'");
		return;
	}
	switch (m->id) {
	case AMQP_CHANNEL_CLOSE:
		amqp_send_method(c, id, AMQP_CHANNEL_CLOSE_OK, NULL);
		chan_free(c, ch);
		break;
	case AMQP_CHANNEL_CLOSE_OK:
		/* We sent no close: a client's mistake, harmless. */
		break;
	case AMQP_CHANNEL_FLOW:
		chan_flow(c, ch, m);
		break;
	default:
		amqp_conn_error(c, AMQP_NOT_IMPLEMENTED, m->id,
		    "%s is not implemented yet", m->spec->name);
		break;
	}
}

void
amqp_chan_content(struct amqp_client *c, const struct amqp_frame *f)
{
	/* No method that carries content is served yet. */
	(void)f;
	amqp_conn_error(c, AMQP_UNEXPECTED_FRAME, 0, "expected method frame, "
	    "got non method frame instead");
}
