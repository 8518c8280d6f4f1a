/*
 * publish.c - basic.publish: its content, where it goes, basic.return.
 *
 * Content: the method, then a content header of class basic (weight 0,
 * the body size, the properties), then body frames until the body size
 * is reached, none for an empty body.  Anything else on the channel in
 * between is RabbitMQ's connection error 505 UNEXPECTED_FRAME ("expected
 * content header for class 60, got non content header frame instead",
 * "... got one for class 50 instead", "expected content body, got non
 * content body frame instead"); body frames past the size are 501.  A
 * body size over --max-request is refused at the header, before the
 * body comes, as RabbitMQ refuses one over its max_message_size: 406
 * PRECONDITION_FAILED "message size N is larger than configured max
 * size M", a channel error; the body frames that follow are dropped with
 * the rest of the closing channel.  A message over the queue's own
 * limit (its policy's max-msg, mq-queue(1)) is refused the same way
 * when it is appended.
 *
 * Routing: the default exchange "" routes to the queue named by the
 * routing key, if that stream exists, here; other exchanges through
 * libmq's registry (route.c).  A publish to an exchange that is not
 * there is 404 NOT_FOUND "no exchange 'x' in vhost '/'", to an internal
 * one 403.  A message that no queue takes is dropped or, if mandatory,
 * comes back to the client as basic.return 312 NO_ROUTE with its
 * content as it came.
 *
 * A routed message joins the core's run of appends (appendq_add, or
 * appendq_add_logged through the write-ahead log): a turn's publishes
 * to a queue are one mq_append.  Publishing has no reply without
 * confirms, so the append's outcome is heard only if it failed: the
 * channel (too large) or the connection (no space, a system error) is
 * closed then.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/turn.h"

/* Copies the 'len' bytes of 'v' into 'buf' (256 bytes) as a C string. */
static size_t
copy_short(char *buf, const struct amqp_value *v)
{
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	return v->len;
}

void
amqp_publish_reset(struct amqp_channel *ch)
{
	struct amqp_publish *p = &ch->pub;

	free(p->header);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

void
amqp_publish_method(struct amqp_channel *ch, const struct amqp_method *m)
{
	const struct amqp_value *ex = &m->args[AMQP_BASIC_PUBLISH_EXCHANGE];
	struct amqp_publish *p = &ch->pub;

	if (m->args[AMQP_BASIC_PUBLISH_IMMEDIATE].n) {
		amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id,
		    "immediate=true");
		return;
	}
	/* The default exchange, most publishes, needs no copy nor look-up. */
	if (ex->len == 0) {
		p->exchange[0] = '\0';
		p->exlen = 0;
	} else {
		p->exlen = copy_short(p->exchange, ex);
		/* The content that follows is dropped with the channel. */
		if (amqp_route_check(ch, m, p->exchange) == -1)
			return;
	}
	amqp_conn_publishing(ch->c);
	p->rklen = copy_short(p->routing_key,
	    &m->args[AMQP_BASIC_PUBLISH_ROUTING_KEY]);
	p->mandatory = m->args[AMQP_BASIC_PUBLISH_MANDATORY].n != 0;
	p->state = AMQP_PUB_HEADER;
}

void
amqp_publish_unexpected(struct amqp_channel *ch)
{
	if (ch->pub.state == AMQP_PUB_HEADER)
		amqp_conn_error(ch->c, AMQP_UNEXPECTED_FRAME,
		    AMQP_BASIC_PUBLISH, "expected content header for class "
		    "%d, got non content header frame instead",
		    AMQP_CLASS_BASIC);
	else
		amqp_conn_error(ch->c, AMQP_UNEXPECTED_FRAME,
		    AMQP_BASIC_PUBLISH, "expected content body, got non "
		    "content body frame instead");
}

/* ------------------------------------------------------------------
 * The message is whole: where it goes.
 * ---------------------------------------------------------------- */

/*
 * An append's cookie: the channel's number, and the publish's confirm
 * number above it (0: none).
 */
static long long
append_cookie(const struct amqp_channel *ch)
{
	return (long long)(ch->pub.seq << 16 | ch->id);
}

/*
 * A routed append is done: its confirm, if the channel wants one, and a
 * failure told to its channel (too large) or to its connection (a full
 * disk, a system error), or to a confirming publisher with a nack.
 */
static void
append_done(void *arg, mq_stream *st, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct amqp_client *c = arg;
	struct amqp_channel *ch = amqp_chan_get(c, (uint16_t)(cookie & 0xffff));
	uint64_t seq = (uint64_t)cookie >> 16;
	struct mq_policy pol;
	char name[AMQP_NAME_SIZE] = "";

	/* Refused by a full queue: dead-lettered (reject-publish-dlx) anyway. */
	if (rc == MQ_EFULL)
		amqp_refused(c->conn->server, st, m);
	if (c->conn->dead)
		return;
	/* A queue removed meanwhile takes nothing, and is no failure. */
	if (rc == MQ_OK || rc == MQ_ENOSTREAM) {
		if (seq != 0 && ch != NULL)
			amqp_confirm_done(ch, seq, 1);
		return;
	}
	/*
	 * A queue at its max-len with x-overflow reject-publish refuses it:
	 * a basic.nack with confirms, else dropped, as RabbitMQ does (and
	 * dead-lettered with reject-publish-dlx).
	 */
	if (rc == MQ_EFULL) {
		if (seq != 0 && ch != NULL)
			amqp_confirm_done(ch, seq, 0);
		return;
	}
	if (st != NULL)
		(void)strlcpy(name, mq_stream_name(st), sizeof(name));
	else if (m->key != NULL && m->keylen < sizeof(name)) {
		memcpy(name, m->key, m->keylen);
		name[m->keylen] = '\0';
	}
	if (rc == MQ_ETOOBIG && ch != NULL) {
		if (st != NULL && mq_policy_get(st, &pol) == MQ_OK)
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED,
			    AMQP_BASIC_PUBLISH, "message size %zu is larger "
			    "than configured max size %u", m->bodylen,
			    pol.max_msg);
		else
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED,
			    AMQP_BASIC_PUBLISH, "message size %zu is larger "
			    "than queue '%s' takes", m->bodylen, name);
		return;
	}
	if (seq != 0 && ch != NULL) {
		server_log(c->conn->server, "conn id=%llu proto=amqp channel "
		    "%u: publish to '%s' nacked: %s",
		    (unsigned long long)c->conn->id, ch->id, name,
		    mq_strerror(rc));
		amqp_confirm_done(ch, seq, 0);
		return;
	}
	amqp_conn_error(c, rc == MQ_ENOSPC ? AMQP_RESOURCE_ERROR :
	    AMQP_INTERNAL_ERROR, AMQP_BASIC_PUBLISH, "publish to '%s': %s",
	    name, mq_strerror(rc));
}

/* An append of the publish under way was queued: its confirm waits for it. */
static int
queued(struct amqp_channel *ch, int rc)
{
	if (rc != MQ_OK)
		return 0;
	if (ch->pub.seq != 0)
		amqp_confirm_add(ch, ch->pub.seq);
	return 1;
}

/* Queues message 'm' for stream 'name' ('len' bytes) if it exists: 1, or 0. */
static int
append_to(struct amqp_channel *ch, const char *name, size_t len,
    const struct mq_msg *m)
{
	struct server *s = ch->c->conn->server;
	mq_wal_name *key;
	mq_stream *st;
	int rc;

	/* A queue noted before: through the write-ahead log, unopened. */
	if (server_loggable(s, name, len, 0, &key))
		rc = appendq_add_logged(s, name, len, key, m, append_done,
		    ch->c, append_cookie(ch));
	else if (server_stream(s, name, len, 0, &st) != MQ_OK)
		return 0;
	else {
		(void)mq_wal_note(st);
		rc = appendq_add(s, st, m, append_done, ch->c,
		    append_cookie(ch));
	}
	if (rc == MQ_OK)
		amqp_ttl_published(s, name, len, ch->pub.deadline);
	return queued(ch, rc);
}

int
amqp_publish_to(struct amqp_channel *ch, const char *name, size_t len,
    const struct mq_msg *m)
{
	struct server *s = ch->c->conn->server;
	char level[AMQP_NAME_SIZE];
	int lv;

	if (len == 0 || len > MQ_NAME_MAX || memchr(name, '\0', len) != NULL ||
	    strcmp(name, MQ_TOPIC_EXCHANGE) == 0)
		return 0;
	/* A priority: to its level's stream if the queue has levels. */
	if (__builtin_expect((ch->pub.props.present &
	    1u << AMQP_BASIC_PROP_PRIORITY) != 0, 0) &&
	    (lv = amqp_prio_route(s, name, &ch->pub.props, level)) > 0) {
		if (append_to(ch, level, strlen(level), m))
			return 1;
		/* Removed by another door, or never made: made again. */
		return amqp_prio_make(s, name, lv) == MQ_OK &&
		    append_to(ch, level, strlen(level), m);
	}
	return append_to(ch, name, len, m);
}

/*
 * Queues message 'm' for the queues its exchange routes it to: the one
 * its routing key names for the default exchange, route.c's for the
 * others ('again': the try after the run of appends).  1 if queued, 0
 * if no queue takes it.
 */
static int
route(struct amqp_channel *ch, const struct mq_msg *m, int again)
{
	const struct amqp_publish *p = &ch->pub;

	if (__builtin_expect(p->exlen != 0, 0))
		return amqp_route(ch, m, again);
	return amqp_publish_to(ch, p->routing_key, p->rklen, m);
}

/* basic.return 312 NO_ROUTE with the content as it came. */
static void
send_return(struct amqp_channel *ch)
{
	struct amqp_client *c = ch->c;
	struct amqp_publish *p = &ch->pub;
	struct amqp_value args[AMQP_MAX_ARGS];

	memset(args, 0, sizeof(args));
	args[AMQP_BASIC_RETURN_REPLY_CODE].n = AMQP_NO_ROUTE;
	args[AMQP_BASIC_RETURN_REPLY_TEXT] = amqp_str("NO_ROUTE");
	args[AMQP_BASIC_RETURN_EXCHANGE] = amqp_bytes(p->exchange, p->exlen);
	args[AMQP_BASIC_RETURN_ROUTING_KEY] = amqp_bytes(p->routing_key,
	    p->rklen);
	amqp_put_method(&c->out, ch->id, AMQP_BASIC_RETURN, args);
	amqp_put_content_header(&c->out, ch->id, &p->props);
	amqp_put_body(&c->out, ch->id, p->body, p->got, c->parser.frame_max);
	amqp_out_flush(c);
}

/* The libmq message of publish 'p', its deadline with it: 0, or -1. */
static int
message(struct amqp_publish *p, struct amqp_msg_in *in, struct mq_msg *m)
{
	if (amqp_msg_from_content(in, &p->props, p->routing_key, p->rklen,
	    p->body, p->got, m) == -1)
		return -1;
	return p->deadline != 0 ? amqp_msg_deadline(in, m, p->deadline) : 0;
}

/*
 * The message is whole: queued for its queue (a command of the run of
 * appends), else, once the run it may have missed is done, queued if
 * its queue exists now, else returned or dropped.  Its confirm, if the
 * channel wants one, comes when its appends are done (at once for none).
 */
int
amqp_publish_route(struct amqp_channel *ch)
{
	struct amqp_client *c = ch->c;
	struct amqp_publish *p = &ch->pub;
	struct amqp_msg_in in = { 0 };
	struct mq_msg m;
	uint64_t seq;
	int sent;

	if (message(p, &in, &m) == -1) {
		amqp_msg_in_free(&in);
		conn_abort(c->conn, "out of memory");
		return -1;
	}
	seq = p->seq = amqp_confirm_begin(ch);
	ch->routing = 1;
	sent = route(ch, &m, 0);
	ch->routing = 0;
	amqp_msg_in_free(&in);
	if (sent) {
		amqp_publish_reset(ch);
		amqp_confirm_done(ch, seq, 1);
		return cmd_begin(c->conn, TURN_QUEUED);
	}
	if (cmd_begin(c->conn, TURN_PLAIN) == -1)
		return -1;	/* closed: 'ch' is gone */
	if (ch->closing || c->phase != AMQP_RUNNING) {
		amqp_publish_reset(ch);
		return 0;
	}
	ch->routing = 1;
	if (message(p, &in, &m) == 0 && !route(ch, &m, 1) && p->mandatory &&
	    !ch->closing)
		send_return(ch);
	ch->routing = 0;
	amqp_msg_in_free(&in);
	amqp_publish_reset(ch);
	amqp_confirm_done(ch, seq, 1);
	return 0;
}

/* The message is whole: routed now, or kept by the channel's transaction. */
static void
publish_whole(struct amqp_channel *ch)
{
	if (ch->tx != NULL)
		amqp_tx_publish(ch);
	else
		(void)amqp_publish_route(ch);
}

/* ------------------------------------------------------------------
 * Content frames.
 * ---------------------------------------------------------------- */

static void
content_header(struct amqp_channel *ch, const struct amqp_frame *f)
{
	struct amqp_client *c = ch->c;
	struct amqp_publish *p = &ch->pub;
	size_t max = c->conn->server->cfg.max_request;

	if (f->type != AMQP_FRAME_HEADER) {
		amqp_publish_unexpected(ch);
		return;
	}
	/* Copied: the properties must outlive the frame, for a return. */
	if ((p->header = malloc(f->size)) == NULL) {
		conn_abort(c->conn, "out of memory");
		return;
	}
	memcpy(p->header, f->payload, f->size);
	p->headerlen = f->size;
	if (amqp_content_header_decode(&c->parser, p->header, p->headerlen,
	    &p->props) == -1) {
		amqp_conn_parse_error(c);
		return;
	}
	if (p->props.class_id != AMQP_CLASS_BASIC) {
		amqp_conn_error(c, AMQP_UNEXPECTED_FRAME, AMQP_BASIC_PUBLISH,
		    "expected content header for class %d, got one for class "
		    "%u instead", AMQP_CLASS_BASIC, p->props.class_id);
		return;
	}
	if (p->props.weight != 0) {
		amqp_publish_unexpected(ch);
		return;
	}
	if (p->props.body_size > max) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, AMQP_BASIC_PUBLISH,
		    "message size %llu is larger than configured max size %zu",
		    (unsigned long long)p->props.body_size, max);
		return;
	}
	if (amqp_expiration(ch, &p->props, &p->deadline) == -1)
		return;
	if (p->props.body_size == 0) {
		publish_whole(ch);
		return;
	}
	if ((p->body = malloc((size_t)p->props.body_size)) == NULL) {
		conn_abort(c->conn, "out of memory");
		return;
	}
	p->state = AMQP_PUB_BODY;
}

static void
content_body(struct amqp_channel *ch, const struct amqp_frame *f)
{
	struct amqp_publish *p = &ch->pub;

	if (f->type != AMQP_FRAME_BODY) {
		amqp_publish_unexpected(ch);
		return;
	}
	if (f->size > p->props.body_size - p->got) {
		amqp_conn_error(ch->c, AMQP_FRAME_ERROR, AMQP_BASIC_PUBLISH,
		    "body frames of more than the %llu bytes of their "
		    "content header", (unsigned long long)p->props.body_size);
		return;
	}
	memcpy(p->body + p->got, f->payload, f->size);
	p->got += f->size;
	if (p->got == p->props.body_size)
		publish_whole(ch);
}

void
amqp_publish_content(struct amqp_channel *ch, const struct amqp_frame *f)
{
	if (ch->pub.state == AMQP_PUB_HEADER)
		content_header(ch, f);
	else
		content_body(ch, f);
}

void
amqp_publish_close(struct amqp_client *c)
{
	struct server *s = c->conn->server;

	/* What it queued is appended all the same, as RESP's close does. */
	if (appendq_flushing(s))
		appendq_cancel(s, c);
	else
		appendq_flush(s);
}
