/*
 * stream.c - stream queues (x-queue-type "stream"): RabbitMQ's streams
 * over AMQP 0-9-1, which are the libmq stream as it is.
 *
 * Model: a stream queue Q is the stream Q with no group: nothing is
 * taken from it.  Each consumer reads it from a position of its own, a
 * libmq offset (the 0-based number of an entry among all entries ever
 * added, which RabbitMQ's offsets are too), kept in its struct
 * amqp_consumer and moved past each delivery; a serving opens a reader,
 * seeks to the offset (a binary search of the segments and a look at
 * one sparse index) and reads what the consumer has room for.  An ack
 * only gives room back.  Where a consumer starts is its x-stream-offset
 * argument: "first" (the oldest entry kept), "last" (the newest entry),
 * "next" (what is appended from now on, the default), an offset, or a
 * timestamp (the first entry whose id's milliseconds are at or past
 * it: the time of the append for ids the stream made).  Every delivery
 * carries its offset in the header x-stream-offset, a long.
 *
 * As RabbitMQ, a stream queue is durable, neither exclusive nor
 * auto-delete, never named by the server, and takes only the arguments
 * that make sense for a log: its retention (x-max-age, x-max-length-bytes,
 * x-stream-max-segment-size-bytes become the stream's policy); its
 * consumers must set a prefetch count and acknowledge, and basic.get,
 * queue.purge, basic.nack and basic.reject are refused: each with
 * RabbitMQ 3.10's code and text.  Consumers that reach the end wait as
 * the queue's waiter of the core (consume.c) on the stream's appends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

/* What RabbitMQ's stream queues refuse, and how it names their type. */
#define NOT_SUPPORTED	"%s not supported by stream queues queue '%s' in " \
	"vhost '/'"
#define STREAM_TYPE	"rabbit_stream_queue"

/* The arguments of a classic queue that a stream queue refuses. */
static const char *const refused_args[] = {
	"x-message-ttl", "x-max-length", "x-overflow",
	"x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-priority", "x-expires", "x-delivery-limit",
	"x-single-active-consumer",
};

int
amqp_stream_args(const uint8_t *args, size_t len)
{
	struct amqp_field f;

	return amqp_table_find(args, len, "x-queue-type", &f) == 1 &&
	    amqp_field_is(&f, "stream");
}

int
amqp_stream_is(struct server *s, const char *name)
{
	struct mq_queue q;

	return mq_queue_lookup(s->spool, name, &q) == MQ_OK && q.declared &&
	    amqp_stream_args(q.args, q.argslen);
}

int
amqp_stream_declare_check(struct amqp_channel *ch,
    const struct amqp_method *m, const char *name, int flags)
{
	const struct amqp_value *a = &m->args[AMQP_QUEUE_DECLARE_ARGUMENTS];
	struct amqp_field f;
	size_t i;

	/* One that is there is compared instead, as RabbitMQ does. */
	if (!amqp_stream_args(a->p, a->len) ||
	    (m->args[AMQP_QUEUE_DECLARE_QUEUE].len > 0 &&
	    amqp_stream_is(ch->c->conn->server, name)))
		return 0;
	if (m->args[AMQP_QUEUE_DECLARE_QUEUE].len == 0) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "Cannot declare a server-named queue for type "
		    STREAM_TYPE);
		return -1;
	}
	for (i = 0; i < sizeof(refused_args) / sizeof(refused_args[0]); i++)
		if (amqp_table_find(a->p, a->len, refused_args[i], &f) == 1) {
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
			    "invalid arg '%s' for queue '%s' in vhost '/' of "
			    "queue type " STREAM_TYPE, refused_args[i], name);
			return -1;
		}
	/* In RabbitMQ's order: the first it finds is the one it names. */
	if ((flags & (MQ_QAUTODELETE | MQ_QEXCLUSIVE)) ||
	    !(flags & MQ_QDURABLE)) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "invalid property '%s' for queue '%s' in vhost '/'",
		    flags & MQ_QAUTODELETE ? "auto-delete" :
		    flags & MQ_QEXCLUSIVE ? "exclusive-owner" : "non-durable",
		    name);
		return -1;
	}
	return 0;
}

int
amqp_stream_age(const struct amqp_field *f, int64_t *ms)
{
	static const struct {
		char	 unit;
		int64_t	 ms;
	} units[] = {
		{ 'Y', 365LL * 24 * 3600 * 1000 }, { 'M', 30LL * 24 * 3600 * 1000 },
		{ 'D', 24LL * 3600 * 1000 }, { 'h', 3600 * 1000 },
		{ 'm', 60 * 1000 }, { 's', 1000 },
	};
	int64_t n = 0;
	size_t i;

	/* Digits, then one unit: "7D", "12h", "30s". */
	if (f->v.len < 2)
		return -1;
	for (i = 0; i + 1 < f->v.len; i++) {
		if (f->v.p[i] < '0' || f->v.p[i] > '9' || n > INT64_MAX / 10 / 1000)
			return -1;
		n = n * 10 + (f->v.p[i] - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (f->v.p[f->v.len - 1] == units[i].unit) {
			if (n > INT64_MAX / units[i].ms)
				return -1;
			*ms = n * units[i].ms;
			return 0;
		}
	return -1;
}

int
amqp_stream_policy(const uint8_t *args, size_t len, struct mq_policy *p)
{
	struct amqp_field f;
	int64_t v;
	int asked = 0;

	if (!amqp_stream_args(args, len))
		return 0;
	if (amqp_table_find(args, len, "x-max-age", &f) == 1 &&
	    amqp_stream_age(&f, &v) == 0 && v > 0) {
		p->max_age_ms = v;
		asked = 1;
	}
	if (amqp_table_find(args, len, "x-max-length-bytes", &f) == 1 &&
	    amqp_field_int(&f, &v) == 0 && v > 0) {
		p->max_bytes = (uint64_t)v;
		asked = 1;
	}
	if (amqp_table_find(args, len, "x-stream-max-segment-size-bytes",
	    &f) == 1 && amqp_field_int(&f, &v) == 0 && v > 0) {
		p->segment_bytes = (uint64_t)v;
		asked = 1;
	}
	return asked;
}

int
amqp_stream_refuse(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, const char *what)
{
	if (!amqp_stream_is(ch->c->conn->server, name))
		return 0;
	amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id, NOT_SUPPORTED,
	    what, name);
	return -1;
}

int
amqp_stream_length(struct server *s, const char *name, uint64_t *count)
{
	struct mq_stream_info si;
	mq_stream *st;
	int rc;

	if ((rc = server_stream(s, name, strlen(name), 0, &st)) != MQ_OK ||
	    (rc = mq_stream_info(st, &si)) != MQ_OK)
		return rc;
	*count = si.length;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Where a consumer starts.
 * ---------------------------------------------------------------- */

/*
 * The offset of the first entry of 'st' at or after the reader's seek,
 * or the next offset if there is none.
 */
static int
first_from(mq_reader *r, const struct mq_stream_info *si, uint64_t *offset)
{
	struct mq_msg msg;
	int rc;

	if ((rc = mq_reader_next(r, &msg)) < 0)
		return rc;
	*offset = rc == 1 ? msg.offset : si->next_offset;
	return MQ_OK;
}

/* The offset that x-stream-offset 'f' names in 'st', into '*offset'. */
static int
start_offset(mq_stream *st, const struct amqp_field *f, uint64_t *offset)
{
	struct mq_stream_info si;
	mq_reader *r;
	int64_t v;
	int rc;

	if ((rc = mq_stream_info(st, &si)) != MQ_OK)
		return rc;
	if (f == NULL || amqp_field_is(f, "next")) {
		*offset = si.next_offset;
		return MQ_OK;
	}
	if (amqp_field_int(f, &v) == 0) {
		/* Below the first is the first; past the end waits for it. */
		*offset = v < 0 ? 0 : (uint64_t)v;
		return MQ_OK;
	}
	if ((rc = mq_reader_open(st, &r)) != MQ_OK)
		return rc;
	if (f->type == 'T')
		rc = mq_reader_seek_id(r, (mq_id){ f->v.n > UINT64_MAX / 1000 ?
		    UINT64_MAX : f->v.n * 1000, 0 });
	else if (amqp_field_is(f, "last"))
		rc = mq_reader_seek_id(r, si.last_id);
	/* else "first": the reader starts at the first entry kept. */
	if (rc == MQ_OK)
		rc = first_from(r, &si, offset);
	mq_reader_close(r);
	return rc;
}

/* Whether x-stream-offset 'f' is one RabbitMQ takes. */
static int
offset_valid(const struct amqp_field *f)
{
	int64_t v;

	if (f->type == 'T' || amqp_field_int(f, &v) == 0)
		return 1;
	return amqp_field_is(f, "first") || amqp_field_is(f, "last") || amqp_field_is(f, "next");
}

/* 406 for x-stream-offset 'f' of a consume 'm' of queue 'name'. */
static void
offset_refused(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, const struct amqp_field *f)
{
	char why[320];

	if (f->type == 'S')
		(void)snprintf(why, sizeof(why), "{longstr,<<\"%.*s\">>}",
		    (int)(f->v.len < 255 ? f->v.len : 255),
		    (const char *)f->v.p);
	else
		(void)snprintf(why, sizeof(why), "'%c'", f->type);
	amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
	    "invalid arg 'x-stream-offset' for queue '%s' in vhost '/': "
	    "{invalid_stream_offset_arg,%s}", name, why);
}

int
amqp_stream_consume_check(struct amqp_channel *ch,
    const struct amqp_method *m, const char *name, uint64_t *offset)
{
	const struct amqp_value *a = &m->args[AMQP_BASIC_CONSUME_ARGUMENTS];
	struct amqp_field f, *fp = NULL;
	mq_stream *st;
	int rc;

	/* The channel's global count is not the consumer's: RabbitMQ's test. */
	if (ch->consumer_prefetch == 0) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "consumer prefetch count is not set for 'queue '%s' in "
		    "vhost '/''", name);
		return -1;
	}
	if (m->args[AMQP_BASIC_CONSUME_NO_ACK].n) {
		amqp_conn_error(ch->c, AMQP_NOT_IMPLEMENTED, m->id,
		    NOT_SUPPORTED, "automatic acknowledgement", name);
		return -1;
	}
	if (amqp_table_find(a->p, a->len, "x-stream-offset", &f) == 1) {
		if (!offset_valid(&f)) {
			offset_refused(ch, m, name, &f);
			return -1;
		}
		fp = &f;
	}
	if ((rc = server_stream(ch->c->conn->server, name, strlen(name), 0,
	    &st)) != MQ_OK || (rc = start_offset(st, fp, offset)) != MQ_OK) {
		amqp_fail_internal(ch->c, m, name, rc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------
 * Serving a consumer.
 * ---------------------------------------------------------------- */

/* Delivers 'msg' to 'cn', waiting for its ack: 0, or -1 out of memory. */
static int
deliver(struct amqp_consumer *cn, const struct mq_msg *msg)
{
	struct amqp_channel *ch = cn->ch;
	uint64_t tag = ++ch->tag;

	if (amqp_unacked_add(ch, tag, msg->id, cn->q, cn) == -1 ||
	    amqp_deliver_offset(ch, cn->tag, cn->taglen, tag, msg) == -1)
		return -1;
	cn->offset = msg->offset + 1;
	return 0;
}

int
amqp_stream_serve(struct server *s, struct amqp_consumer *cn, size_t want,
    mq_id *after)
{
	const char *name = amqp_queue_qname(cn->q);
	struct conn *conn = cn->ch->c->conn;
	struct mq_msg msg;
	mq_stream *st;
	mq_reader *r;
	size_t n;
	int rc;

	if ((rc = server_stream(s, name, strlen(name), 0, &st)) != MQ_OK ||
	    (rc = mq_stream_top(st, after)) != MQ_OK)
		return rc;
	/*
	 * The top before reading ('*after'): whatever the reader did not
	 * reach comes after it, so a wait past it misses nothing.
	 */
	if ((rc = mq_reader_open(st, &r)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_seek_offset(r, cn->offset)) != MQ_OK)
		goto done;
	for (n = 0; n < want; n++) {
		if ((rc = mq_reader_next(r, &msg)) <= 0)
			break;
		if (mq_id_cmp(msg.id, *after) > 0)
			*after = msg.id;
		if (deliver(cn, &msg) == -1) {
			conn_abort(conn, "out of memory");
			rc = 0;
			n = want;
			break;
		}
	}
	if (rc >= 0)
		rc = n < want;	/* the end came first */
done:
	mq_reader_close(r);
	return rc;
}
