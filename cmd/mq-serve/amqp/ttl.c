/*
 * ttl.c - expired messages leave their queue on time, read or not.
 *
 * Model: libmq dead-letters an entry past its queue's ttl or its own
 * deadline when a read of the group reaches it.  A queue that no one
 * reads (the delay queue of Symfony Messenger, which an exchange feeds
 * and whose dead-letter exchange is the point of it) would keep it
 * forever; RabbitMQ expires a queue's head on time.  So a queue that may
 * hold a message that expires has one timer of the core's loop, set for
 * the time its head may expire; when it fires, mq_group_expire()
 * dead-letters the expired head, delivering nothing, and says when the
 * next message will expire, and the timer is set for that.  A timer that
 * finds the queue empty, or a head that never expires, is not set again
 * until a message comes that will.
 *
 * A queue's timer is set when this server queues for it a message that
 * will expire (a publish to a queue with x-message-ttl, or with an
 * expiration), earlier if it was set later, and when the server starts
 * for the declared queues with x-message-ttl.  A message that another
 * process appends (mq-xadd, another server) expires when a read reaches
 * it, or with the first one published here after it.  No loop polls the
 * queues, and the publish path pays one test while no queue has a ttl
 * and the message no expiration.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

struct ttl {
	RB_ENTRY(ttl)	 node;
	char		*name;
	int64_t		 ms;		/* x-message-ttl; 0: none */
	int64_t		 at;		/* the timer's time, ms since the epoch */
	uint64_t	 timer;		/* 0: none set */
};

static int
ttl_cmp(const struct ttl *a, const struct ttl *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(ttls, ttl);
/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(ttls, ttl, node, ttl_cmp, RB_ATTR)

static struct ttls ttls = RB_INITIALIZER(&ttls);
static struct server *door;

static struct ttl *
find(const char *name)
{
	struct ttl key;

	key.name = (char *)name;
	return RB_FIND(ttls, &ttls, &key);
}

/* The record of queue 'name', made if missing; NULL if out of memory. */
static struct ttl *
get(const char *name)
{
	struct ttl *t;

	if ((t = find(name)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL) {
		/* Out of memory: its messages expire when read. */
		free(t);
		return NULL;
	}
	RB_INSERT(ttls, &ttls, t);
	return t;
}

static void
forget(struct ttl *t)
{
	if (t->timer != 0)
		loop_timer_del(door->loop, t->timer);
	RB_REMOVE(ttls, &ttls, t);
	free(t->name);
	free(t);
}


static void fire(struct loop *loop, void *arg);

/* Sets the timer of 't' for 'at', unless it is set for that or sooner. */
static void
arm(struct ttl *t, int64_t at)
{
	int64_t ms;

	if (t->timer != 0) {
		if (t->at <= at)
			return;
		loop_timer_del(door->loop, t->timer);
	}
	ms = at - loop_wall_ms();
	t->at = at;
	t->timer = loop_timer_add(door->loop, ms > 0 ? ms : 0, fire, t);
}

/* After a failure to expire (a full disk, a system error), the next try. */
#define TTL_RETRY_MS	1000

static void
fire(struct loop *loop, void *arg)
{
	struct ttl *t = arg;
	mq_stream *st;
	mq_group *g;
	int64_t next;
	int rc;

	(void)loop;
	t->timer = 0;
	rc = amqp_queue_open(door, t->name, &st, &g);
	if (rc == MQ_OK)
		rc = mq_group_expire(g, &next);
	if (rc == MQ_ENOSTREAM || rc == MQ_ENOGROUP) {
		forget(t);
		return;
	}
	if (rc != MQ_OK) {
		/* Tried again in a second: the queue keeps expiring. */
		server_log(door, "queue '%s': expiring messages: %s", t->name,
		    mq_strerror(rc));
		arm(t, loop_wall_ms() + TTL_RETRY_MS);
		return;
	}
	if (next >= 0)
		arm(t, next);
}

void
amqp_ttl_queue(struct server *s, const char *name, int64_t ms)
{
	struct ttl *t;

	door = s;
	if ((t = get(name)) == NULL)
		return;
	t->ms = ms;
	/* What it holds already: a look now. */
	arm(t, loop_wall_ms());
}

void
amqp_ttl_published(struct server *s, const char *name, size_t len,
    int64_t deadline)
{
	char buf[MQ_NAME_MAX + 1];
	struct ttl *t;
	int64_t at, now;

	if (RB_EMPTY(&ttls) && deadline == 0)
		return;
	memcpy(buf, name, len);
	buf[len] = '\0';
	t = find(buf);
	if (t == NULL && deadline == 0)
		return;
	door = s;
	if (t == NULL && (t = get(buf)) == NULL)
		return;
	/* As libmq counts it: expired once past the time, not at it. */
	at = deadline != 0 ? deadline + 1 : INT64_MAX;
	if (t->ms > 0 && (now = loop_wall_ms()) + t->ms + 1 < at)
		at = now + t->ms + 1;
	arm(t, at);
}
