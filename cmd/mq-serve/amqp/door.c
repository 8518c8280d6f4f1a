/*
 * door.c - the AMQP door: a connection's state, and the loop over the
 * frames that arrived (any number per read, split anywhere).
 *
 * The first 8 bytes are the protocol header: "AMQP" 0 0 9 1, or the
 * older 1 1 0 9 that RabbitMQ takes as well; any other gets the header
 * we speak back, and the connection closes, as the specification asks.
 * Then every frame is split off (parse.c) and handed on by its channel:
 * channel 0 to connection.c, the others to channel.c.  A frame that
 * cannot be split (a wrong end octet, a size over frame_max) leaves no
 * way to find the next one: connection.close goes out with 501, and
 * what comes after is read and dropped until the client closes or the
 * wait for close-ok ends (closing with unread input would reset the
 * connection, and the client could lose the close before reading it).
 * A frame that can be split but not decoded closes the connection the
 * same way, but in order: its close-ok is read as a frame.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amqp.h"

/* The client of a connection of this door. */
static struct amqp_client *
client_of(struct conn *conn)
{
	return conn->state;
}

/* A method frame. */
static void
method_frame(struct amqp_client *c, const struct amqp_frame *f)
{
	struct amqp_method m;

	if (amqp_method_decode(&c->parser, f->payload, f->size, &m) == -1) {
		if (c->phase != AMQP_CLOSING)
			amqp_conn_parse_error(c);
		return;
	}
	if (f->channel == 0) {
		amqp_conn_method(c, &m);
		return;
	}
	if (c->phase == AMQP_CLOSING)
		return;
	if (c->phase != AMQP_RUNNING) {
		amqp_conn_error(c, AMQP_COMMAND_INVALID, m.id,
		    "expected 'connection.%s'", c->phase == AMQP_OPEN ? "open" :
		    c->phase == AMQP_TUNE_OK ? "tune_ok" : "start_ok");
		return;
	}
	amqp_chan_method(c, f->channel, &m);
}

static void
frame(struct amqp_client *c, const struct amqp_frame *f)
{
	switch (f->type) {
	case AMQP_FRAME_HEARTBEAT:
		break;		/* conn.c noted the read */
	case AMQP_FRAME_METHOD:
		method_frame(c, f);
		break;
	default:
		if (c->phase == AMQP_CLOSING)
			break;
		if (f->channel == 0 || c->phase != AMQP_RUNNING)
			amqp_conn_error(c, AMQP_UNEXPECTED_FRAME, 0,
			    "expected method frame, got non method frame "
			    "instead");
		else
			amqp_chan_content(c, f);
		break;
	}
}

/* The protocol header: 8 bytes taken, 0 for more, -1 if refused. */
static ssize_t
header(struct amqp_client *c, const uint8_t *p, size_t len)
{
	ssize_t n = amqp_proto_header(p, len);

	if (n < 0) {
		conn_write(c->conn, AMQP_PROTO_HEADER, AMQP_PROTO_HEADER_LEN);
		conn_close_after(c->conn, "protocol error: bad protocol header");
		return -1;
	}
	if (n > 0)
		amqp_conn_start(c);
	return n;
}

/* Whether the frames that arrived should wait (or be dropped). */
static int
stopped(const struct conn *conn, const struct amqp_client *c)
{
	return conn->dead || conn->closing || c->phase == AMQP_AUTH ||
	    conn_held(conn);
}

int
amqp_input(struct conn *conn)
{
	struct amqp_client *c = client_of(conn);
	const uint8_t *in = (const uint8_t *)conn->in;
	struct amqp_frame f;
	size_t off = 0;
	ssize_t n;

	if (c->discard) {
		/* Nothing after a broken frame can be read as frames. */
		conn_consume(conn, conn->inlen);
		return 0;
	}
	/* Its output drained: the consumers passed over for it go on. */
	if (c->drain_wait && !conn_held(conn))
		amqp_consumers_drained(c);
	while (off < conn->inlen && !stopped(conn, c)) {
		if (c->phase == AMQP_HEADER) {
			if ((n = header(c, in + off, conn->inlen - off)) == 0)
				break;
		} else if ((n = amqp_frame_split(&c->parser, in + off,
		    conn->inlen - off, &f)) > 0) {
			frame(c, &f);
		} else if (n == 0) {
			break;
		} else {
			amqp_conn_parse_error(c);
			c->discard = 1;
		}
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!conn->dead)
		amqp_acks_flush(c);
	if (!conn->dead)
		conn_consume(conn, c->discard ? conn->inlen : off);
	return 0;
}

static int
amqp_open(struct conn *conn)
{
	struct amqp_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->conn = conn;
	c->phase = AMQP_HEADER;
	c->sent_ms = loop_now_ms(conn->server->loop);
	amqp_parser_init(&c->parser);
	amqp_buf_init(&c->out);
	conn->state = c;
	return 0;
}

static void
amqp_close(struct conn *conn)
{
	struct amqp_client *c = client_of(conn);

	if (c == NULL)
		return;
	amqp_publish_close(c);
	amqp_acks_flush(c);
	amqp_acks_free(c);
	amqp_heartbeat_unwatch(c);
	amqp_out_forget(c);
	/* Its consumers end, what it holds goes back to the queues. */
	amqp_chan_free_all(c);
	amqp_queue_close(c);
	amqp_buf_free(&c->out);
	free(c);
	conn->state = NULL;
}

/*
 * A client over --maxclients: nothing in the protocol can be said
 * before connection.start, so it is only closed, as RabbitMQ closes a
 * connection over its limit.
 */
static void
amqp_refuse(int fd)
{
	(void)fd;
}

const struct proto amqp_proto = {
	.name = "amqp",
	.open = amqp_open,
	.input = amqp_input,
	.close = amqp_close,
	.refuse = amqp_refuse,
	.turn_end = amqp_turn_end,
	.disk_low = amqp_disk_low,
};
