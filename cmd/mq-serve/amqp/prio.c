/*
 * prio.c - priority queues (x-max-priority): a stream per level.
 *
 * Model: a queue Q declared with x-max-priority N keeps its messages of
 * priority 0 (and those without one) in its own stream Q, as any queue,
 * and those of priority 1 .. L in the streams "Q#1" .. "Q#L", L being N
 * up to AMQP_PRIO_MAX: a priority above N counts as N, one above 9 as 9.
 * Each level is read through its group "queue" like Q, so the door
 * reads the highest level that has a message first, a level keeps its
 * own order (FIFO, handed-back messages first), and mq-xreadgroup,
 * mq-dlq and Redis clients read the levels as the streams they are.
 * A level's stream is declared with Q's flags and holder (so it goes
 * with Q's owner as Q does) and Q's policy, with Q's dead letters; the
 * door makes it when Q is declared, or at the first message for it.
 *
 * Nothing here runs for a message without a priority, nor for a queue
 * without one: the door asks how many levels a queue has when a message
 * carries a priority, when a consumer starts, and for basic.get and the
 * counts; the answer comes from the queue's declaration, read once and
 * remembered until this server deletes or declares the queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/waiters.h"

struct known {
	RB_ENTRY(known)	 node;
	char		*name;
	int		 levels;	/* above 0; 0: no priorities */
};

static int
known_cmp(const struct known *a, const struct known *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(knowntree, known);
/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(knowntree, known, node, known_cmp, RB_ATTR)

static struct knowntree knowns = RB_INITIALIZER(&knowns);

/* The levels above 0 that x-max-priority 'max' asks for. */
int
amqp_prio_of_max(int64_t max)
{
	if (max <= 0)
		return 0;
	return max < AMQP_PRIO_MAX ? (int)max : AMQP_PRIO_MAX;
}

int
amqp_prio_levels(struct server *s, const char *name)
{
	struct known key, *k;
	struct mq_queue q;
	int levels;

	key.name = (char *)name;
	if ((k = RB_FIND(knowntree, &knowns, &key)) != NULL)
		return k->levels;
	/* A queue that is not there is not remembered: it may come. */
	if (mq_queue_lookup(s->spool, name, &q) != MQ_OK)
		return 0;
	levels = amqp_prio_of_max(amqp_qargs_priority(q.args, q.argslen));
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->name = strdup(name)) == NULL) {
		free(k);
		return levels;
	}
	k->levels = levels;
	RB_INSERT(knowntree, &knowns, k);
	return levels;
}

/* Forgets what amqp_prio_levels() remembered of queue 'name'. */
static void
prio_forget(const char *name)
{
	struct known key, *k;

	key.name = (char *)name;
	if ((k = RB_FIND(knowntree, &knowns, &key)) == NULL)
		return;
	RB_REMOVE(knowntree, &knowns, k);
	free(k->name);
	free(k);
}

int
amqp_prio_stream(const char *name, int lv, char *buf)
{
	size_t len = strlen(name);

	/* Not snprintf: a serving names each level it reads. */
	if (len + (lv > 0 ? 2 : 0) > MQ_NAME_MAX || lv < 0 ||
	    lv > AMQP_PRIO_MAX)
		return -1;
	memcpy(buf, name, len);
	if (lv > 0) {
		buf[len++] = '#';
		buf[len++] = (char)('0' + lv);
	}
	buf[len] = '\0';
	return 0;
}

int
amqp_prio_make(struct server *s, const char *name, int lv)
{
	char lname[AMQP_NAME_SIZE], h[MQ_QHOLDER_MAX];
	struct mq_policy p;
	struct mq_queue q, lq;
	mq_stream *st, *lst;
	int made, rc;

	if (amqp_prio_stream(name, lv, lname) == -1)
		return MQ_EBADNAME;
	if ((rc = mq_queue_lookup(s->spool, name, &q)) != MQ_OK)
		return rc;
	/* 'q' points into the handle until its next mq_queue_ call. */
	(void)strlcpy(h, q.holder != NULL ? q.holder : "", sizeof(h));
	memset(&lq, 0, sizeof(lq));
	lq.name = lname;
	lq.flags = q.flags;
	lq.holder = h;
	if ((rc = mq_queue_declare(s->spool, &lq, 0, NULL, &made)) != MQ_OK ||
	    !made)
		return rc;
	waiters_change(s, lname, NULL, MQ_WATCH_MADE);
	if ((rc = server_stream(s, name, strlen(name), 0, &st)) != MQ_OK ||
	    (rc = mq_policy_get(st, &p)) != MQ_OK ||
	    (rc = mq_dead_letter_name(st, p.dead_letter)) != MQ_OK ||
	    (rc = server_stream(s, lname, strlen(lname), 0, &lst)) != MQ_OK)
		return rc;
	return mq_policy_set(lst, &p);
}

int
amqp_prio_declare(struct server *s, const char *name, int levels)
{
	int lv, rc;

	prio_forget(name);
	for (lv = 1; lv <= levels; lv++)
		if ((rc = amqp_prio_make(s, name, lv)) != MQ_OK)
			return rc;
	return MQ_OK;
}

int
amqp_prio_route(struct server *s, const char *name,
    const struct amqp_content_header *h, char *buf)
{
	uint64_t p = h->props[AMQP_BASIC_PROP_PRIORITY].n;
	int levels, lv;

	if (p == 0 || (levels = amqp_prio_levels(s, name)) == 0)
		return 0;
	lv = p < (uint64_t)levels ? (int)p : levels;
	return amqp_prio_stream(name, lv, buf) == 0 ? lv : 0;
}

int
amqp_prio_count(struct server *s, const char *name, uint64_t *count,
    int *top)
{
	char lname[AMQP_NAME_SIZE];
	uint64_t n;
	mq_stream *st;
	mq_group *g;
	int levels = amqp_prio_levels(s, name), lv, rc;

	*count = 0;
	*top = 0;
	for (lv = levels; lv >= 1; lv--) {
		if (amqp_prio_stream(name, lv, lname) == -1)
			continue;
		rc = amqp_queue_open(s, lname, &st, &g);
		if (rc == MQ_ENOSTREAM)
			continue;
		if (rc != MQ_OK || (rc = amqp_queue_ready(st, g, &n)) != MQ_OK)
			return rc;
		if (n > 0 && *top == 0)
			*top = lv;
		*count += n;
	}
	return MQ_OK;
}

void
amqp_prio_remove(struct server *s, const char *name)
{
	char lname[AMQP_NAME_SIZE];
	int levels = amqp_prio_levels(s, name), lv;

	for (lv = 1; lv <= levels; lv++) {
		if (amqp_prio_stream(name, lv, lname) == -1)
			continue;
		(void)mq_queue_delete(s->spool, lname);
		server_stream_forget(s, lname);
	}
	prio_forget(name);
}
