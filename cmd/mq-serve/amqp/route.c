/*
 * route.c - a basic.publish to a named exchange: to the queues its
 * bindings take it to, and for amq.topic to the live subscribers too.
 *
 * Model: the exchange is looked up when the method comes (missing: 404,
 * internal: 403, both channel errors before the content), and routed
 * through once the message is whole, by libmq's copy of the exchanges
 * (mq_exchange_route: no system call and no allocation while nothing
 * changed), with headers.c deciding the bindings of headers exchanges
 * from the message's headers table.  Each queue it reaches gets the
 * message through publish.c, as a publish to the default exchange does.
 *
 * amq.topic is also the exchange of mq-publish, of Redis's PUBLISH and
 * of live subscribers (mq-subscribe, SUBSCRIBE, PSUBSCRIBE): a publish
 * to it goes the way Redis's PUBLISH goes (core/publish.c), to the
 * bound queues and to the exchange's log for the live subscribers of
 * every process, or, when this server's are the only ones, to them
 * through the core's fan-out (core/fanout.c) and to no log.  A live
 * subscriber takes the message as a queue does: a mandatory publish
 * that one of them hears does not come back.  On a channel in confirm
 * mode the publish is made at once after the run of appends (as a
 * publish the run cannot take is), so that it is written, and its
 * confirm can go, when routing returns.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "headers.h"
#include "core/fanout.h"
#include "core/publish.h"
#include "core/turn.h"

int
amqp_route_check(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name)
{
	struct mq_exchange x;

	if (strlen(name) != ch->pub.exlen || ch->pub.exlen > MQ_NAME_MAX) {
		amqp_exchange_fail(ch, m, name, MQ_ENOEXCHANGE);
		return -1;
	}
	if (amqp_exchange_find(ch, m, name, &x) == -1)
		return -1;
	if (x.flags & MQ_XINTERNAL) {
		amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id, "cannot publish "
		    "to internal exchange '%s' in vhost '/'", name);
		return -1;
	}
	ch->pub.topic = strcmp(name, MQ_TOPIC_EXCHANGE) == 0;
	return 0;
}

/*
 * A part of a publish to amq.topic was appended (core/publish.c): one
 * that went to no log ('st' NULL) is handed to this server's live
 * subscribers; a failure closes the connection, which a publish's part
 * cannot name the channel of.
 */
static void
topic_done(void *arg, mq_stream *st, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct amqp_client *c = arg;

	if (rc == MQ_OK && st == NULL)
		rc = fanout_publish_here(c->conn->server, m);
	if (rc == MQ_OK || rc == MQ_ENOSTREAM || c->conn->dead)
		return;
	amqp_conn_error(c, rc == MQ_ENOSPC ? AMQP_RESOURCE_ERROR :
	    AMQP_INTERNAL_ERROR, AMQP_BASIC_PUBLISH, "publish to '%s': %s",
	    st != NULL ? mq_stream_name(st) : MQ_TOPIC_EXCHANGE,
	    mq_strerror(rc));
}

/*
 * A publish to amq.topic: queued on the run of appends as Redis's
 * PUBLISH is; 'again', made at once (the run is done), which also takes
 * the publishes that reach more queues than a run takes at once.
 */
static int
route_topic(struct amqp_channel *ch, const struct mq_msg *m, int again)
{
	const struct amqp_publish *p = &ch->pub;
	struct server *s = ch->c->conn->server;
	size_t receivers = 0;
	mq_router *r;
	int anonymous = -1, rc;

	if (p->rklen > MQ_NAME_MAX || strlen(p->routing_key) != p->rklen)
		return 0;	/* no pattern can match it */
	/*
	 * A confirmed one is made at once, after the run it must follow:
	 * written when this returns, its confirm needs no count of parts.
	 */
	if (!again && p->seq != 0)
		return 0;
	if (!again) {
		rc = publish_queue(s, m, &anonymous, topic_done, topic_done,
		    ch->c);
		if (rc == -1)
			amqp_conn_error(ch->c, AMQP_INTERNAL_ERROR,
			    AMQP_BASIC_PUBLISH, "publish to '%s': %s",
			    MQ_TOPIC_EXCHANGE, mq_strerror(MQ_ESYS));
		return rc != 0;
	}
	if ((rc = server_router(s, &r)) == MQ_OK)
		rc = mq_router_publish(r, p->routing_key, m, 1, &receivers);
	if (rc != MQ_OK) {
		topic_done(ch->c, NULL, rc, (mq_id){ 0, 0 }, 0, m);
		return 1;	/* failed, not unroutable */
	}
	return receivers > 0;
}

int
amqp_route(struct amqp_channel *ch, const struct mq_msg *m, int again)
{
	const struct amqp_publish *p = &ch->pub;
	struct server *s = ch->c->conn->server;
	const struct amqp_value *h = &p->props.props[AMQP_BASIC_PROP_HEADERS];
	struct amqp_headers headers = { NULL, 0 };
	const char *const *queues;
	char stack[2048], *names = stack, *at;
	size_t n, i, total, len;
	int queued = 0;

	if (p->topic)
		return route_topic(ch, m, again);
	if (p->props.present & 1u << AMQP_BASIC_PROP_HEADERS) {
		headers.p = h->p;
		headers.len = h->len;
	}
	/* Deleted since the method came: it takes nothing. */
	if (mq_exchange_route(s->spool, p->exchange, p->routing_key,
	    amqp_headers_match, &headers, &queues, &n) != MQ_OK)
		return 0;
	/*
	 * Copied: a flush of the run of appends while one is queued may
	 * dead-letter through an exchange, which reuses libmq's array.
	 */
	for (i = total = 0; i < n; i++)
		total += strlen(queues[i]) + 1;
	if (total > sizeof(stack) && (names = malloc(total)) == NULL) {
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, AMQP_BASIC_PUBLISH,
		    "out of memory");
		return 1;	/* failed, not unroutable */
	}
	for (i = 0, at = names; i < n; i++)
		at = stpcpy(at, queues[i]) + 1;
	for (at = names; at < names + total && !ch->closing; at += len + 1) {
		len = strlen(at);
		queued |= amqp_publish_to(ch, at, len, m);
	}
	if (names != stack)
		free(names);
	return queued;
}
