/*
 * send.c - frames out of the AMQP door.  Each is made in the client's
 * buffer (struct amqp_buf, which keeps its memory) and handed to
 * conn_write at once, so replies leave in the order they were made,
 * and the time is noted for the heartbeats (connection.c).
 *
 * Deliveries are the exception: the consumers of a queue are served in
 * turn, a message each, so a client's deliveries of one turn are made
 * in its buffer and wait there (amqp_out_defer) until the serving is
 * over, to go to conn_write as one write however many there are.
 * Anything sent meanwhile takes them along, in order.  A buffer of
 * deliveries to consumers alone goes by conn_write_unsynced: under
 * --fsync always a delivery does not wait for the sync of the group's
 * journal that notes it (a crash delivers it again, as at-least-once
 * allows), where a reply that acknowledges something does.
 */
#include <stdio.h>
#include <string.h>

#include "amqp.h"

/* Clients with deferred frames. */
static TAILQ_HEAD(, amqp_client) deferred = TAILQ_HEAD_INITIALIZER(deferred);

/* Above this, the buffer of a client goes once it is written. */
#define OUT_KEEP	(1u << 20)

/* Hands the frames made in c->out to the connection. */
static void
flush_out(struct amqp_client *c)
{
	int unsynced = c->unsynced_end == c->out.len;

	amqp_out_forget(c);
	c->ack_end = 0;		/* the last ack is on its way: not extended */
	c->unsynced_end = 0;
	if (c->out.err != 0) {
		/* Out of memory, or a value the wire cannot say: our fault. */
		amqp_buf_reset(&c->out);
		conn_abort(c->conn, "out of memory making a frame");
		return;
	}
	if (c->out.len == 0)
		return;
	if (unsynced)
		conn_write_unsynced(c->conn, c->out.p, c->out.len);
	else
		conn_write(c->conn, c->out.p, c->out.len);
	amqp_buf_reset(&c->out);
	/* A large message made it grow: do not keep that much per client. */
	if (c->out.cap > OUT_KEEP)
		amqp_buf_free(&c->out);
	c->sent_ms = loop_now_ms(c->conn->server->loop);
}

void
amqp_send_method(struct amqp_client *c, uint16_t ch, uint32_t id,
    const struct amqp_value *args)
{
	static const struct amqp_value none[AMQP_MAX_ARGS];

	amqp_put_method(&c->out, ch, id, args != NULL ? args : none);
	flush_out(c);
}

void
amqp_send_close(struct amqp_client *c, uint16_t ch, uint32_t id,
    uint16_t code, const char *text, uint32_t method)
{
	struct amqp_value args[AMQP_MAX_ARGS];

	/* connection.close and channel.close have the same arguments. */
	memset(args, 0, sizeof(args));
	args[AMQP_CONNECTION_CLOSE_REPLY_CODE].n = code;
	args[AMQP_CONNECTION_CLOSE_REPLY_TEXT] = amqp_str(text);
	args[AMQP_CONNECTION_CLOSE_CLASS_ID].n = method >> 16;
	args[AMQP_CONNECTION_CLOSE_METHOD_ID].n = method & 0xffff;
	amqp_send_method(c, ch, id, args);
}

void
amqp_send_heartbeat(struct amqp_client *c)
{
	amqp_put_heartbeat(&c->out);
	flush_out(c);
}

void
amqp_out_flush(struct amqp_client *c)
{
	flush_out(c);
}

void
amqp_out_defer(struct amqp_client *c)
{
	if (c->out_pending)
		return;
	c->out_pending = 1;
	TAILQ_INSERT_TAIL(&deferred, c, olink);
}

void
amqp_out_flush_all(void)
{
	struct amqp_client *c;

	while ((c = TAILQ_FIRST(&deferred)) != NULL)
		flush_out(c);	/* takes it off the list */
}

void
amqp_turn_end(struct server *s)
{
	(void)s;
	amqp_out_flush_all();
}

void
amqp_out_forget(struct amqp_client *c)
{
	if (!c->out_pending)
		return;
	TAILQ_REMOVE(&deferred, c, olink);
	c->out_pending = 0;
}

struct amqp_value
amqp_str(const char *s)
{
	struct amqp_value v = { 0, (const uint8_t *)s, strlen(s) };

	return v;
}

struct amqp_value
amqp_bytes(const void *p, size_t len)
{
	struct amqp_value v = { 0, p, len };

	return v;
}

void
amqp_reply_text(char *buf, size_t size, uint16_t code, const char *fmt,
    va_list ap)
{
	const struct amqp_reply_spec *r = amqp_reply_spec(code);
	int n;

	n = snprintf(buf, size, "%s - ", r != NULL ? r->name : "ERROR");
	if (n < 0 || (size_t)n >= size)
		return;
	(void)vsnprintf(buf + n, size - (size_t)n, fmt, ap);
}
