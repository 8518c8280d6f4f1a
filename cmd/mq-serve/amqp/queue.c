/*
 * queue.c - AMQP queues: queue.declare, queue.purge, queue.delete, and
 * how the other methods find a queue.
 *
 * Model: an AMQP queue Q is the libmq stream Q read through its group
 * "queue", the group mq-subscribe -Q reads by default, so that
 * `mq-xreadgroup queue c Q`, mq-xinfo and Redis clients see the same
 * messages.  A queue exists when its stream does; its group is made,
 * from the start of the stream, when an AMQP method first needs it.
 * Its messages (message-count) are the entries the group has not
 * delivered and those handed back by a nack that no consumer holds;
 * its consumers (consumer-count) are this server's.
 *
 * queue.declare makes the stream and the group if missing; "" gets a
 * name of the server's, "amq.gen-" and 22 characters, as RabbitMQ names
 * it, and names starting "amq." are RabbitMQ's to give (403).  The
 * flags durable, exclusive and auto-delete, and the arguments, are
 * libmq's declaration of the queue (mq_queue_declare), which a
 * redeclaration must match (406, qargs.c); the arguments that ask
 * something of the stream become its policy when the queue is made.  A
 * transient queue is the server's spool handle's, gone when the server
 * stops; an exclusive one is also its connection's ("amqp-<id>", the
 * holder), which alone may use it (405), and deletes it when it goes.
 * queue.purge moves the group past every entry (they stay in the stream
 * for its other readers) and acknowledges the handed-back ones;
 * queue.delete removes the stream, and cancels this server's consumers
 * of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/waiters.h"

/* What RabbitMQ says of a missing queue, and of another's exclusive one. */
#define NO_QUEUE	"no queue '%s' in vhost '/'"
#define LOCKED		"cannot obtain exclusive access to locked queue '%s' " \
	"in vhost '/'. It could be originally declared on another " \
	"connection or the exclusive property value does not match that " \
	"of the original declaration."

/* The holder name of the exclusive queues of client 'c'. */
static void
holder(const struct amqp_client *c, char *buf, size_t size)
{
	(void)snprintf(buf, size, "amqp-%llu", (unsigned long long)c->conn->id);
}

int
amqp_queue_open(struct server *s, const char *name, mq_stream **st,
    mq_group **g)
{
	int rc;

	/* The topic exchange's log is a stream, not a queue. */
	if (strcmp(name, MQ_TOPIC_EXCHANGE) == 0)
		return MQ_ENOSTREAM;
	if ((rc = server_stream(s, name, strlen(name), 0, st)) != MQ_OK)
		return rc;
	rc = server_group(s, *st, AMQP_GROUP, sizeof(AMQP_GROUP) - 1, g);
	if (rc != MQ_ENOGROUP)
		return rc;
	/* From the start, as mq-subscribe makes it: nothing is missed. */
	rc = mq_group_create(*st, AMQP_GROUP, (mq_id){ 0, 0 }, -1);
	if (rc != MQ_OK && rc != MQ_EEXIST)
		return rc;
	return server_group(s, *st, AMQP_GROUP, sizeof(AMQP_GROUP) - 1, g);
}

void
amqp_fail_internal(struct amqp_client *c, const struct amqp_method *m,
    const char *what, int rc)
{
	amqp_conn_error(c, AMQP_INTERNAL_ERROR, m != NULL ? m->id : 0,
	    "%s: %s", what, mq_strerror(rc));
}

/*
 * A libmq outcome 'rc' for queue 'name' as an error of the channel (a
 * missing queue, a name or key libmq cannot take) or of the server.
 */
static void
queue_fail(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, int rc)
{
	char what[MQ_NAME_MAX + 16];

	switch (rc) {
	case MQ_ENOSTREAM:
		amqp_chan_error(ch, AMQP_NOT_FOUND, m->id, NO_QUEUE, name);
		break;
	case MQ_ELOCKED:
		amqp_chan_error(ch, AMQP_RESOURCE_LOCKED, m->id, LOCKED, name);
		break;
	case MQ_EBADNAME:
	case MQ_EWRONGTYPE:
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "queue name '%s' cannot be used: %s", name,
		    mq_strerror(rc));
		break;
	default:
		(void)snprintf(what, sizeof(what), "queue '%s'", name);
		amqp_fail_internal(ch->c, m, what, rc);
		break;
	}
}

/*
 * Whether the channel's connection may use queue 'name' (not another
 * connection's exclusive queue): 0, or -1 after 405 RESOURCE_LOCKED.  A
 * missing queue is 0: the method says what that means.
 */
static int
queue_access(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name)
{
	char h[MQ_QHOLDER_MAX];
	int rc;

	holder(ch->c, h, sizeof(h));
	rc = mq_queue_access(ch->c->conn->server->spool, name, h);
	if (rc == MQ_OK || rc == MQ_ENOSTREAM)
		return 0;
	queue_fail(ch, m, name, rc);
	return -1;
}

int
amqp_queue_open_or_fail(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, mq_stream **st, mq_group **g)
{
	int rc;

	if (queue_access(ch, m, name) == -1)
		return -1;
	if ((rc = amqp_queue_open(ch->c->conn->server, name, st, g)) ==
	    MQ_OK)
		return 0;
	queue_fail(ch, m, name, rc);
	return -1;
}

int
amqp_queue_name(struct amqp_channel *ch, const struct amqp_method *m,
    const struct amqp_value *arg, char *name)
{
	if (arg->len == 0) {
		if (ch->last_queue[0] == '\0') {
			amqp_chan_error(ch, AMQP_NOT_FOUND, m->id,
			    "no previously declared queue");
			return -1;
		}
		(void)strlcpy(name, ch->last_queue, AMQP_NAME_SIZE);
		return 0;
	}
	return amqp_name_copy(ch, m, arg, "queue", name);
}

int
amqp_name_copy(struct amqp_channel *ch, const struct amqp_method *m,
    const struct amqp_value *arg, const char *what, char *name)
{
	if (arg->len > MQ_NAME_MAX || memchr(arg->p, '\0', arg->len) != NULL) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "%s name '%.*s' cannot be used: %s", what, (int)arg->len,
		    (const char *)arg->p, mq_strerror(MQ_EBADNAME));
		return -1;
	}
	memcpy(name, arg->p, arg->len);
	name[arg->len] = '\0';
	return 0;
}

void
amqp_server_name(char *buf, size_t size, const char *prefix)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t r[16];
	char s[23];
	size_t i, bit;

	/* 128 random bits, 6 at a time: 22 characters of base64url. */
	arc4random_buf(r, sizeof(r));
	for (i = 0; i < 22; i++) {
		unsigned v = 0;

		for (bit = i * 6; bit < i * 6 + 6; bit++)
			v = v << 1 | (bit < 128 ? r[bit / 8] >> (7 - bit % 8) & 1 :
			    0);
		s[i] = b64[v];
	}
	s[22] = '\0';
	(void)snprintf(buf, size, "%s-%s", prefix, s);
}

/* Adds the pending entries of each consumer (the rest have no owner). */
static int
sum_owned(const struct mq_consumer_info *ci, void *arg)
{
	*(uint64_t *)arg += ci->pending;
	return 0;
}

static int
count_one(const struct mq_msg *m, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

int
amqp_queue_ready(mq_stream *st, mq_group *g, uint64_t *count)
{
	struct mq_group_info gi;
	uint64_t owned = 0, n = 0;
	mq_id from;
	int rc;

	*count = 0;
	if ((rc = mq_group_info(g, &gi)) != MQ_OK ||
	    (rc = mq_group_consumers(g, sum_owned, &owned)) != MQ_OK)
		return rc;
	if (gi.lag >= 0)
		n = (uint64_t)gi.lag;
	else {
		/* Deleted entries leave the counters unsure: count them. */
		from = gi.last_delivered;
		if (mq_id_incr(&from) == MQ_OK &&
		    (rc = mq_range(st, from, MQ_ID_LAST, 0, 0, count_one,
		    &n)) != MQ_OK)
			return rc;
	}
	*count = n + (gi.pending > owned ? gi.pending - owned : 0);
	return MQ_OK;
}

int
amqp_queue_count(struct server *s, const char *name, mq_stream *st,
    mq_group *g, uint64_t *count, int *top)
{
	uint64_t levels;
	int rc;

	if ((rc = amqp_queue_ready(st, g, count)) != MQ_OK ||
	    (rc = amqp_prio_count(s, name, &levels, top)) != MQ_OK)
		return rc;
	*count += levels;
	return MQ_OK;
}

/* Sends queue.declare-ok (or purge-ok, delete-ok) unless 'nowait'. */
static void
reply_count(struct amqp_channel *ch, uint32_t id, int nowait,
    const char *name, uint64_t count)
{
	struct amqp_value args[AMQP_MAX_ARGS];

	if (nowait)
		return;
	memset(args, 0, sizeof(args));
	if (id == AMQP_QUEUE_DECLARE_OK) {
		args[AMQP_QUEUE_DECLARE_OK_QUEUE] = amqp_str(name);
		args[AMQP_QUEUE_DECLARE_OK_MESSAGE_COUNT].n = count;
		args[AMQP_QUEUE_DECLARE_OK_CONSUMER_COUNT].n =
		    amqp_queue_consumers(name);
	} else
		args[0].n = count;	/* purge-ok's and delete-ok's only one */
	amqp_send_method(ch->c, ch->id, id, args);
}

/*
 * The name a declare asks for: the server's for "", or the client's.  A
 * passive declare of "" names the queue "", which is never there: RabbitMQ
 * does not read it as the channel's last queue, as it does elsewhere.
 */
static int
declare_name(struct amqp_channel *ch, const struct amqp_method *m,
    char *name)
{
	const struct amqp_value *q = &m->args[AMQP_QUEUE_DECLARE_QUEUE];

	if (m->args[AMQP_QUEUE_DECLARE_PASSIVE].n) {
		if (q->len == 0) {
			amqp_chan_error(ch, AMQP_NOT_FOUND, m->id, NO_QUEUE,
			    "");
			return -1;
		}
		return amqp_queue_name(ch, m, q, name);
	}
	if (q->len == 0) {
		amqp_server_name(name, AMQP_NAME_SIZE, "amq.gen");
		return 0;
	}
	if (q->len >= 4 && memcmp(q->p, "amq.", 4) == 0) {
		amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id,
		    "queue name '%.*s' contains reserved prefix 'amq.*'",
		    (int)q->len, (const char *)q->p);
		return -1;
	}
	return amqp_queue_name(ch, m, q, name);
}

/* The flags of queue.declare 'm' as libmq's. */
static int
declare_flags(const struct amqp_method *m)
{
	return (m->args[AMQP_QUEUE_DECLARE_DURABLE].n ? MQ_QDURABLE : 0) |
	    (m->args[AMQP_QUEUE_DECLARE_EXCLUSIVE].n ? MQ_QEXCLUSIVE : 0) |
	    (m->args[AMQP_QUEUE_DECLARE_AUTO_DELETE].n ? MQ_QAUTODELETE : 0);
}

/* Notes the client's exclusive queue 'name', to delete it when it goes. */
static int
note_exclusive(struct amqp_client *c, const char *name)
{
	char **n, *copy;

	if ((copy = strdup(name)) == NULL)
		return -1;
	if ((n = reallocarray(c->exclusive, c->nexclusive + 1,
	    sizeof(*n))) == NULL) {
		free(copy);
		return -1;
	}
	c->exclusive = n;
	c->exclusive[c->nexclusive++] = copy;
	return 0;
}

/* A new queue's arguments made its stream's policy. */
static int
set_policy(struct server *s, const char *name, const uint8_t *args,
    size_t len)
{
	struct mq_policy p;
	mq_stream *st;
	int rc;

	if ((rc = server_stream(s, name, strlen(name), 0, &st)) != MQ_OK ||
	    (rc = mq_policy_get(st, &p)) != MQ_OK)
		return rc;
	if (!amqp_qargs_policy(args, len, &p))
		return MQ_OK;
	if ((rc = mq_policy_set(st, &p)) == MQ_OK && p.ttl_ms > 0)
		amqp_ttl_queue(s, name, p.ttl_ms);
	return rc;
}

/*
 * Declares queue 'name' in libmq: 0, or -1 after the error (405 for
 * another's exclusive queue, 404 for a passive declare of a missing one,
 * 406 for a redeclaration that does not match).
 */
static int
declare(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name)
{
	const struct amqp_value *a = &m->args[AMQP_QUEUE_DECLARE_ARGUMENTS];
	struct server *s = ch->c->conn->server;
	int passive = m->args[AMQP_QUEUE_DECLARE_PASSIVE].n != 0, made, rc;
	char h[MQ_QHOLDER_MAX];
	struct mq_queue q, cur;
	int64_t expires;
	int levels;

	if (!passive && (amqp_stream_declare_check(ch, m, name,
	    declare_flags(m)) == -1 ||
	    amqp_qargs_check(ch, m, name, a->p, a->len) == -1))
		return -1;
	levels = amqp_prio_of_max(amqp_qargs_priority(a->p, a->len));
	if (!passive && levels > 0 && strlen(name) + 2 > MQ_NAME_MAX) {
		/* Its levels' streams need two bytes more (prio.c). */
		queue_fail(ch, m, name, MQ_EBADNAME);
		return -1;
	}
	holder(ch->c, h, sizeof(h));
	memset(&q, 0, sizeof(q));
	q.name = name;
	q.flags = declare_flags(m);
	q.holder = h;
	q.args = a->len > 0 ? a->p : NULL;
	q.argslen = a->len;
	rc = mq_queue_declare(s->spool, &q, passive ? MQ_QPASSIVE : 0, &cur,
	    &made);
	/* Now: cur's arguments are libmq's until its next mq_queue_ call. */
	expires = rc == MQ_OK ? amqp_qargs_expires(cur.args, cur.argslen) : 0;
	if (rc == MQ_OK && made) {
		waiters_change(s, name, NULL, MQ_WATCH_MADE);
		if ((q.flags & MQ_QEXCLUSIVE) &&
		    note_exclusive(ch->c, name) == -1) {
			amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, m->id,
			    "out of memory");
			return -1;
		}
		rc = set_policy(s, name, a->p, a->len);
		if (rc == MQ_OK && levels > 0)
			rc = amqp_prio_declare(s, name, levels);
	}
	if (rc != MQ_OK) {
		queue_fail(ch, m, name, rc);
		return -1;
	}
	if (!passive && !made &&
	    amqp_qargs_equivalent(ch, m, &cur, q.flags, a->p, a->len) == -1)
		return -1;
	/* A declare is a use, not a passive one; the expiry is the queue's. */
	if (!passive && expires > 0)
		amqp_expire_note(s, name, expires);
	return 0;
}

void
amqp_queue_declare(struct amqp_channel *ch, const struct amqp_method *m)
{
	char name[AMQP_NAME_SIZE];
	mq_stream *st;
	mq_group *g;
	uint64_t count;
	int rc, top;

	if (declare_name(ch, m, name) == -1 || declare(ch, m, name) == -1)
		return;
	/* A stream queue has no group: its count is its entries. */
	if (amqp_stream_is(ch->c->conn->server, name))
		rc = amqp_stream_length(ch->c->conn->server, name, &count);
	else if (amqp_queue_open_or_fail(ch, m, name, &st, &g) == -1)
		return;
	else
		rc = amqp_queue_count(ch->c->conn->server, name, st, g,
		    &count, &top);
	if (rc != MQ_OK) {
		queue_fail(ch, m, name, rc);
		return;
	}
	(void)strlcpy(ch->last_queue, name, sizeof(ch->last_queue));
	reply_count(ch, AMQP_QUEUE_DECLARE_OK,
	    m->args[AMQP_QUEUE_DECLARE_NOWAIT].n != 0, name, count);
}

/* Acknowledges the entries handed back that no consumer holds. */
static int
ack_unowned(mq_group *g)
{
	struct mq_pending p[256];
	mq_id ids[256], from = { 0, 0 };
	size_t n, i, k, acked;
	int rc;

	do {
		if ((rc = mq_group_pending(g, from, MQ_ID_LAST, 256, NULL, 0,
		    p, &n)) != MQ_OK)
			return rc;
		for (i = k = 0; i < n; i++)
			if (p[i].consumer[0] == '\0')
				ids[k++] = p[i].id;
		if (n > 0) {
			from = p[n - 1].id;
			if (mq_id_incr(&from) != MQ_OK)
				n = 0;
		}
		if (k > 0 && (rc = mq_group_ack(g, ids, k, &acked)) != MQ_OK)
			return rc;
	} while (n == 256);
	return MQ_OK;
}

/* Purges stream 'st' read through 'g'; adds its ready messages to '*count'. */
static int
purge_one(mq_stream *st, mq_group *g, uint64_t *count)
{
	struct mq_stream_info si;
	uint64_t n;
	int rc;

	if ((rc = mq_stream_info(st, &si)) != MQ_OK ||
	    (rc = amqp_queue_ready(st, g, &n)) != MQ_OK ||
	    (rc = mq_group_setid(g, si.last_id,
	    (int64_t)si.entries_added)) != MQ_OK ||
	    (rc = ack_unowned(g)) != MQ_OK)
		return rc;
	*count += n;
	return MQ_OK;
}

/* Purges queue 'name' and its priority levels ('st' and 'g' its own). */
static int
purge_levels(struct server *s, const char *name, mq_stream *st, mq_group *g,
    uint64_t *count)
{
	char lname[AMQP_NAME_SIZE];
	int levels = amqp_prio_levels(s, name), lv, rc;

	*count = 0;
	if ((rc = purge_one(st, g, count)) != MQ_OK)
		return rc;
	for (lv = 1; lv <= levels; lv++) {
		if (amqp_prio_stream(name, lv, lname) == -1)
			continue;
		rc = amqp_queue_open(s, lname, &st, &g);
		if (rc == MQ_ENOSTREAM)
			continue;
		if (rc != MQ_OK || (rc = purge_one(st, g, count)) != MQ_OK)
			return rc;
	}
	return MQ_OK;
}

void
amqp_queue_purge(struct amqp_channel *ch, const struct amqp_method *m)
{
	char name[AMQP_NAME_SIZE];
	mq_stream *st;
	mq_group *g;
	uint64_t count;
	int rc;

	if (amqp_queue_name(ch, m, &m->args[AMQP_QUEUE_PURGE_QUEUE],
	    name) == -1 || amqp_stream_refuse(ch, m, name, "queue.purge") == -1 ||
	    amqp_queue_open_or_fail(ch, m, name, &st, &g) == -1)
		return;
	if ((rc = purge_levels(ch->c->conn->server, name, st, g,
	    &count)) != MQ_OK) {
		queue_fail(ch, m, name, rc);
		return;
	}
	reply_count(ch, AMQP_QUEUE_PURGE_OK,
	    m->args[AMQP_QUEUE_PURGE_NOWAIT].n != 0, name, count);
}

void
amqp_queue_delete(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct server *s = ch->c->conn->server;
	char name[AMQP_NAME_SIZE];
	mq_stream *st;
	mq_group *g;
	uint64_t count;
	int nowait = m->args[AMQP_QUEUE_DELETE_NOWAIT].n != 0, rc, top;

	if (amqp_queue_name(ch, m, &m->args[AMQP_QUEUE_DELETE_QUEUE],
	    name) == -1 || queue_access(ch, m, name) == -1)
		return;
	/* A stream queue has nothing ready, as RabbitMQ counts it. */
	count = 0;
	if (amqp_stream_is(s, name))
		rc = MQ_OK;
	else if ((rc = amqp_queue_open(s, name, &st, &g)) == MQ_ENOSTREAM) {
		/* As RabbitMQ: deleting what is not there is no error. */
		reply_count(ch, AMQP_QUEUE_DELETE_OK, nowait, name, 0);
		return;
	} else if (rc == MQ_OK)
		rc = amqp_queue_count(s, name, st, g, &count, &top);
	if (rc != MQ_OK) {
		queue_fail(ch, m, name, rc);
		return;
	}
	if (m->args[AMQP_QUEUE_DELETE_IF_UNUSED].n &&
	    amqp_queue_consumers(name) > 0) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "queue '%s' in vhost '/' in use", name);
		return;
	}
	if (m->args[AMQP_QUEUE_DELETE_IF_EMPTY].n && count > 0) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "queue '%s' in vhost '/' not empty", name);
		return;
	}
	if ((rc = amqp_queue_remove(s, name)) != MQ_OK && rc != MQ_ENOSTREAM) {
		queue_fail(ch, m, name, rc);
		return;
	}
	reply_count(ch, AMQP_QUEUE_DELETE_OK, nowait, name, count);
}

int
amqp_queue_remove(struct server *s, const char *name)
{
	int rc, urc;

	amqp_prio_remove(s, name);
	rc = mq_queue_delete(s->spool, name);
	server_stream_forget(s, name);
	/* Its bindings go with it, as in RabbitMQ. */
	if ((rc == MQ_OK || rc == MQ_ENOSTREAM) &&
	    (urc = mq_exchange_unbind_queue(s->spool, name)) != MQ_OK)
		rc = urc;
	if (rc == MQ_OK)
		amqp_queue_gone(s, name);
	amqp_expire_forget(name);
	return rc;
}

void
amqp_queue_close(struct amqp_client *c)
{
	struct server *s = c->conn->server;
	char h[MQ_QHOLDER_MAX];
	struct mq_queue q;
	size_t i;

	holder(c, h, sizeof(h));
	/* Only what is still its own: deleted and made again, it is not. */
	for (i = 0; i < c->nexclusive; i++) {
		if (mq_queue_lookup(s->spool, c->exclusive[i], &q) == MQ_OK &&
		    (q.flags & MQ_QEXCLUSIVE) && q.mine &&
		    strcmp(q.holder, h) == 0)
			(void)amqp_queue_remove(s, c->exclusive[i]);
		free(c->exclusive[i]);
	}
	free(c->exclusive);
	c->exclusive = NULL;
	c->nexclusive = 0;
}

void
amqp_queue_unused(struct server *s, const char *name)
{
	struct mq_queue q;

	if (amqp_queue_consumers(name) > 0)
		return;
	if (mq_queue_lookup(s->spool, name, &q) == MQ_OK &&
	    (q.flags & MQ_QAUTODELETE))
		(void)amqp_queue_remove(s, name);
	else
		amqp_expire_use(s, name);
}
