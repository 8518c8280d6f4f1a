/*
 * expire.c - x-expires: a queue left unused for its expiry is deleted.
 *
 * Model: each queue with an expiry that this server declared or used has
 * a record (a tree by name): the expiry, when the queue was last used,
 * and one timer of the core's loop, set for the last use plus the
 * expiry.  A use (a declare, a basic.get, the end of its last consumer)
 * only notes the time, so the timer moves for no use; when it fires, a
 * queue with consumers is left (the end of the last one is a use, which
 * sets the timer again), one used since is set again for its new
 * deadline, and any other is deleted.  So no loop polls the queues, and
 * a queue costs one timer, which fires at most once per expiry while
 * it is used.  As RabbitMQ's, the expiry counts again from when the
 * server starts: durable queues with x-expires get their timers then
 * (amqp_expire_start).
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

struct expiry {
	RB_ENTRY(expiry) node;
	char		*name;
	int64_t		 ms;		/* x-expires */
	int64_t		 used;		/* loop_now_ms() of the last use */
	uint64_t	 timer;		/* 0: none set */
};

static int
expiry_cmp(const struct expiry *a, const struct expiry *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(expiries, expiry);
/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(expiries, expiry, node, expiry_cmp, RB_ATTR)

static struct expiries expiries = RB_INITIALIZER(&expiries);
static struct server *door;

static struct expiry *
find(const char *name)
{
	struct expiry key;

	key.name = (char *)name;
	return RB_FIND(expiries, &expiries, &key);
}

static void fire(struct loop *loop, void *arg);

static void
arm(struct expiry *e, int64_t ms)
{
	e->timer = loop_timer_add(door->loop, ms > 0 ? ms : 0, fire, e);
}

static void
fire(struct loop *loop, void *arg)
{
	struct expiry *e = arg;
	int64_t left;

	e->timer = 0;
	if (amqp_queue_consumers(e->name) > 0)
		return;
	left = e->used + e->ms - loop_now_ms(loop);
	if (left > 0) {
		arm(e, left);
		return;
	}
	/* Its removal forgets 'e' (amqp_expire_forget). */
	if (amqp_queue_remove(door, e->name) != MQ_OK)
		amqp_expire_forget(e->name);
}

void
amqp_expire_note(struct server *s, const char *name, int64_t ms)
{
	struct expiry *e;

	door = s;
	if ((e = find(name)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->name = strdup(name)) == NULL) {
			/* Out of memory: the queue does not expire. */
			free(e);
			return;
		}
		RB_INSERT(expiries, &expiries, e);
	}
	e->ms = ms;
	e->used = loop_now_ms(s->loop);
	if (e->timer == 0)
		arm(e, ms);
}

void
amqp_expire_use(struct server *s, const char *name)
{
	struct expiry *e = find(name);

	if (e == NULL)
		return;
	e->used = loop_now_ms(s->loop);
	if (e->timer == 0 && amqp_queue_consumers(name) == 0)
		arm(e, e->ms);
}

void
amqp_expire_forget(const char *name)
{
	struct expiry *e = find(name);

	if (e == NULL)
		return;
	if (e->timer != 0)
		loop_timer_del(door->loop, e->timer);
	RB_REMOVE(expiries, &expiries, e);
	free(e->name);
	free(e);
}

/*
 * mq_queues()'s callback: a declared queue with x-expires gets a timer;
 * one with x-message-ttl its look at what expired (ttl.c), in the same
 * walk.
 */
static int
start_one(const struct mq_queue *q, void *arg)
{
	int64_t ms = amqp_qargs_expires(q->args, q->argslen);

	if (ms > 0)
		amqp_expire_note(arg, q->name, ms);
	if ((ms = amqp_qargs_ttl(q->args, q->argslen)) > 0)
		amqp_ttl_queue(arg, q->name, ms);
	return 0;
}

void
amqp_expire_start(struct server *s)
{
	(void)mq_queues(s->spool, start_one, s);
}
