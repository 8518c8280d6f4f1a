/*
 * waiters.c - readers blocked until a stream changes, for every door.
 *
 * Model: a waiter waits on one or more streams, each as a link in that
 * stream's key (by name, in a tree), in the order the waiters came.  A
 * change of a stream, reported by the watch (any process, this one
 * included: mq_watch_changes) or by a door, marks its key; at the next
 * turn a round goes over the marked keys and retries only the waiters
 * that may now get something:
 *
 *  - a plain read ('group' NULL) when the stream's top id passed the id
 *    it reads after;
 *  - a group read when the stream has entries the group has not
 *    delivered, or, after a change of that group's journal, when one of
 *    its pending entries is due again (mq_group_next_due): a delivery,
 *    which only takes entries, wakes no one;
 *  - any waiter of a stream made, removed or renamed, or of a group
 *    whose attached reader died: its door says what that means.
 *
 * The waiters of a key are retried in order, and the test is made again
 * before each, so an append that one group read takes serves one waiter,
 * not all of them.  A group read not worth retrying for a due time is
 * retried then (a timer per key).  A waiter served or timed out ends;
 * the served ones are told after the round ('served'), when what their
 * clients pipelined behind the read may run.
 *
 * While a stream has waiters it is watched, but not kept open: the
 * watch is dropped by its number (mq_watch_drop), so ten thousand
 * waiters on as many streams hold watches, not descriptors.  A stream
 * that does not exist yet is covered by the watch of the spool's list of
 * streams, which reports it made.  A stream watched only now may have
 * changed between the door's read and the watch: its key is marked at
 * once.
 */
#include <stdlib.h>
#include <string.h>

#include "waiters.h"

struct wait_key;

/* A mark of a key besides MQ_WATCH_'s: a group's due time came. */
#define WAIT_DUE	0x100

/* One stream a waiter waits on. */
struct wait_link {
	TAILQ_ENTRY(wait_link)	 link;		/* in its key's list */
	struct wait_key		*key;
	struct waiter		*w;
	char			*group;		/* NULL: entries after 'after' */
	mq_id			 after;
};

struct waiter {
	struct server		*server;
	struct conn		*conn;		/* whose read it is */
	const struct waiter_ops	*ops;
	void			*arg;
	uint64_t		 timer;		/* its deadline's, or 0 */
	uint64_t		 round;		/* the last round that retried it */
	int			 dead;		/* ended: freed after the round */
	LIST_ENTRY(waiter)	 dlink;		/* in the list of the dead */
	size_t			 n;
	struct wait_link	 links[];
};

/* A stream waited on, and its waiters in the order they came. */
struct wait_key {
	RB_ENTRY(wait_key)	 node;
	char			*name;
	TAILQ_HEAD(, wait_link)	 links;
	size_t			 nlinks;
	int			 wd;		/* its watch (mq_watch_add_id), or 0 */
	int			 what;		/* MQ_WATCH_ bits since the last round */
	int			 any_group;	/* a group change not naming one */
	char			**groups;	/* groups whose journal changed */
	size_t			 ngroups;
	int			 marked;	/* in the list of marked keys */
	TAILQ_ENTRY(wait_key)	 mlink;
	int			 emptied;	/* in the list of keys left empty */
	LIST_ENTRY(wait_key)	 elink;
	uint64_t		 due_timer;	/* a retry at a group's due time */
	int64_t			 due_at;
	struct server		*server;	/* for due_fire */
};

RB_HEAD(keytree, wait_key);
TAILQ_HEAD(keylist, wait_key);
LIST_HEAD(emptylist, wait_key);
LIST_HEAD(waiterlist, waiter);

struct waiters {
	struct keytree		 keys;
	struct keylist		 marked;
	struct waiterlist	 dead;
	struct emptylist	 empty;		/* keys left empty in a round */
	size_t			 nwaiters;
	uint64_t		 round;		/* counts the rounds */
	uint64_t		 round_timer;	/* armed for the next turn, or 0 */
	int			 in_round;
};

static int
key_cmp(const struct wait_key *a, const struct wait_key *b)
{
	return strcmp(a->name, b->name);
}

/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(keytree, wait_key, node, key_cmp, RB_ATTR)

static struct waiters *
get(struct server *s)
{
	struct waiters *ws = s->waiters;

	if (ws == NULL && (ws = calloc(1, sizeof(*ws))) != NULL) {
		RB_INIT(&ws->keys);
		TAILQ_INIT(&ws->marked);
		LIST_INIT(&ws->dead);
		LIST_INIT(&ws->empty);
		s->waiters = ws;
	}
	return ws;
}

static struct wait_key *
key_find(struct waiters *ws, const char *name)
{
	struct wait_key k;

	k.name = (char *)name;
	return RB_FIND(keytree, &ws->keys, &k);
}

static void round_arm(struct server *s);

/* Marks 'k' for the next round with 'what' (and 'group'). */
static void
key_mark(struct server *s, struct wait_key *k, const char *group, int what)
{
	struct waiters *ws = s->waiters;
	size_t i;

	k->what |= what;
	if (what & MQ_WATCH_GROUP) {
		if (group == NULL)
			k->any_group = 1;
		else if (!k->any_group) {
			for (i = 0; i < k->ngroups; i++)
				if (strcmp(k->groups[i], group) == 0)
					break;
			if (i == k->ngroups) {
				char **n = reallocarray(k->groups,
				    k->ngroups + 1, sizeof(*n));

				if (n == NULL || (n[k->ngroups] =
				    strdup(group)) == NULL) {
					if (n != NULL)
						k->groups = n;
					k->any_group = 1;	/* when in doubt */
				} else {
					k->groups = n;
					k->ngroups++;
				}
			}
		}
	}
	if (!k->marked) {
		k->marked = 1;
		TAILQ_INSERT_TAIL(&ws->marked, k, mlink);
	}
	round_arm(s);
}

static void
key_clear_marks(struct wait_key *k)
{
	size_t i;

	for (i = 0; i < k->ngroups; i++)
		free(k->groups[i]);
	free(k->groups);
	k->groups = NULL;
	k->ngroups = 0;
	k->any_group = 0;
	k->what = 0;
}

/*
 * Watches the stream of 'k' while it has waiters, without keeping it
 * open; once watched it is marked, since what changed between the
 * door's read and the watch is reported by nothing.
 */
static void
key_watch(struct server *s, struct wait_key *k)
{
	mq_stream *st;
	int rc;

	if (server_stream(s, k->name, strlen(k->name), 0, &st) != MQ_OK)
		return;		/* not there yet: the spool's watch says when */
	if ((rc = mq_watch_add_id(s->watch, st, &k->wd)) != MQ_OK)
		server_log(s, "watch %s: %s", k->name, mq_strerror(rc));
	key_mark(s, k, NULL, MQ_WATCH_ENTRIES | WAIT_DUE);
}

/*
 * Stops watching the stream of 'k'.  Not the topic exchange's log: the
 * live subscriptions (mq_sub_watch) share its directory's one watch.
 */
static void
key_unwatch(struct server *s, struct wait_key *k)
{
	int rc;

	if (k->wd == 0 || strcmp(k->name, MQ_TOPIC_EXCHANGE) == 0)
		return;
	if ((rc = mq_watch_drop(s->watch, k->wd)) != MQ_OK)
		server_log(s, "unwatch %s: %s", k->name, mq_strerror(rc));
	k->wd = 0;
}

static void
key_free(struct server *s, struct wait_key *k)
{
	struct waiters *ws = s->waiters;

	if (k->marked)
		TAILQ_REMOVE(&ws->marked, k, mlink);
	if (k->due_timer != 0)
		loop_timer_del(s->loop, k->due_timer);
	key_unwatch(s, k);
	RB_REMOVE(keytree, &ws->keys, k);
	key_clear_marks(k);
	free(k->name);
	free(k);
}

static struct wait_key *
key_get(struct server *s, const char *name)
{
	struct waiters *ws = s->waiters;
	struct wait_key *k;

	if ((k = key_find(ws, name)) != NULL)
		return k;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->name = strdup(name)) == NULL) {
		free(k);
		return NULL;
	}
	TAILQ_INIT(&k->links);
	k->server = s;
	RB_INSERT(keytree, &ws->keys, k);
	return k;
}

/* Takes the links of 'w' out of their keys; keys left empty go. */
static void
waiter_unlink(struct server *s, struct waiter *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		struct wait_link *l = &w->links[i];
		struct wait_key *k = l->key;

		if (k == NULL)
			continue;
		TAILQ_REMOVE(&k->links, l, link);
		l->key = NULL;
		if (--k->nlinks > 0)
			continue;
		if (!s->waiters->in_round)
			key_free(s, k);
		else if (!k->emptied) {
			k->emptied = 1;
			LIST_INSERT_HEAD(&s->waiters->empty, k, elink);
		}
	}
}

static void
waiter_free(struct waiter *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->links[i].group);
	free(w);
}

/* Ends 'w': out of every key now, its memory after the round. */
static void
waiter_kill(struct server *s, struct waiter *w)
{
	struct waiters *ws = s->waiters;

	if (w->timer != 0) {
		loop_timer_del(s->loop, w->timer);
		w->timer = 0;
	}
	waiter_unlink(s, w);
	ws->nwaiters--;
	if (ws->in_round) {
		w->dead = 1;
		LIST_INSERT_HEAD(&ws->dead, w, dlink);
	} else
		waiter_free(w);
}

static void
waiter_timeout(struct loop *loop, void *arg)
{
	struct waiter *w = arg;
	const struct waiter_ops *ops = w->ops;
	void *warg = w->arg;

	w->timer = 0;	/* it fired: nothing to delete */
	waiter_kill(w->server, w);
	ops->timeout(warg);
}

struct waiter *
waiter_add(struct conn *c, const struct wait_on *on, size_t n,
    int64_t timeout_ms, const struct waiter_ops *ops, void *arg)
{
	struct server *s = c->server;
	struct waiters *ws = get(s);
	struct waiter *w;
	size_t i;

	if (ws == NULL || n == 0 ||
	    (w = calloc(1, sizeof(*w) + n * sizeof(w->links[0]))) == NULL)
		return NULL;
	w->server = s;
	w->conn = c;
	w->ops = ops;
	w->arg = arg;
	w->round = ws->round;
	for (i = 0; i < n; i++) {
		w->links[i].w = w;
		w->links[i].after = on[i].after;
		if (on[i].group != NULL &&
		    (w->links[i].group = strdup(on[i].group)) == NULL)
			goto fail;
		w->n = i + 1;
	}
	for (i = 0; i < n; i++) {
		struct wait_key *k = key_get(s, on[i].stream);

		if (k == NULL)
			goto fail_linked;
		w->links[i].key = k;
		TAILQ_INSERT_TAIL(&k->links, &w->links[i], link);
		if (k->nlinks++ == 0)
			key_watch(s, k);
	}
	ws->nwaiters++;
	if (timeout_ms > 0)
		w->timer = loop_timer_add(s->loop, timeout_ms, waiter_timeout,
		    w);
	return w;
fail_linked:
	waiter_unlink(s, w);
fail:
	waiter_free(w);
	return NULL;
}

void
waiter_end(struct server *s, struct waiter *w)
{
	if (w != NULL && !w->dead)
		waiter_kill(s, w);
}

void
waiters_change(struct server *s, const char *stream, const char *group,
    int what)
{
	struct waiters *ws = s->waiters;
	struct wait_key *k;

	if (ws == NULL || (k = key_find(ws, stream)) == NULL)
		return;		/* nobody waits on it */
	/* A new directory under the name, or the first: watch it. */
	if ((what & (MQ_WATCH_MADE | MQ_WATCH_GONE)) || k->wd == 0) {
		key_unwatch(s, k);
		key_watch(s, k);
	}
	key_mark(s, k, group, what);
}

size_t
waiters_count(const struct server *s)
{
	return s->waiters != NULL ? s->waiters->nwaiters : 0;
}

/* ------------------------------------------------------------------
 * A round: retrying the waiters of the marked keys.
 * ---------------------------------------------------------------- */

static void due_fire(struct loop *loop, void *arg);


/* Retries the waiters of 'k' at 'when' (ms since the epoch), if earlier. */
static void
due_arm(struct server *s, struct wait_key *k, int64_t when)
{
	int64_t wait = when - loop_wall_ms();

	if (k->due_timer != 0 && k->due_at <= when)
		return;
	if (k->due_timer != 0)
		loop_timer_del(s->loop, k->due_timer);
	k->due_at = when;
	k->due_timer = loop_timer_add(s->loop, wait > 0 ? wait : 0,
	    due_fire, k);
}

static void
due_fire(struct loop *loop, void *arg)
{
	struct wait_key *k = arg;

	k->due_timer = 0;
	key_mark(k->server, k, NULL, WAIT_DUE);
}

/* Whether the journal of 'group' changed since the last round of 'k'. */
static int
group_changed(const struct wait_key *k, const char *group)
{
	size_t i;

	if (!(k->what & MQ_WATCH_GROUP))
		return 0;
	if (k->any_group)
		return 1;
	for (i = 0; i < k->ngroups; i++)
		if (strcmp(k->groups[i], group) == 0)
			return 1;
	return 0;
}

/*
 * Whether a new read of 'l->group' may get something: entries past what
 * it delivered, or, after a change of its journal, a pending entry due
 * again (else a retry is armed for when one is).  When in doubt (no such
 * group, an error), yes: the door's read says what it is.
 */
static int
group_worth(struct server *s, mq_stream *st, mq_id top,
    const struct wait_link *l, int changed)
{
	mq_id cursor;
	mq_group *g;
	int64_t due;

	if (server_group(s, st, l->group, strlen(l->group), &g) != MQ_OK ||
	    mq_group_cursor(g, &cursor) != MQ_OK)
		return 1;
	if (mq_id_cmp(top, cursor) > 0)
		return 1;
	if (!changed)
		return 0;
	if (mq_group_next_due(g, &due) != MQ_OK)
		return 1;
	if (due < 0)
		return 0;
	if (due <= loop_wall_ms())
		return 1;
	due_arm(s, l->key, due);
	return 0;
}

/*
 * Whether link 'l' of key 'k', marked with 'what', may be served now;
 * the stream is 'st' with top id 'top', or NULL if it is not there.
 */
static int
link_worth(struct server *s, const struct wait_key *k, int what,
    const struct wait_link *l, mq_stream *st, mq_id top)
{
	if (what & (MQ_WATCH_MADE | MQ_WATCH_GONE))
		return 1;
	if (st == NULL)
		return 0;
	if (l->group == NULL)
		return (what & MQ_WATCH_ENTRIES) && mq_id_cmp(top, l->after) > 0;
	/* A reader attached to a group died (or a watch began): ask. */
	if ((what & MQ_WATCH_GROUP) && k->any_group)
		return 1;
	return group_worth(s, st, top, l, (what & WAIT_DUE) ||
	    group_changed(k, l->group));
}

/* The stream of 'k' and its top id; NULL if it is not there. */
static mq_stream *
key_stream(struct server *s, struct wait_key *k, mq_id *top)
{
	mq_stream *st;

	top->ms = top->seq = 0;
	if (server_stream(s, k->name, strlen(k->name), 0, &st) != MQ_OK ||
	    mq_stream_top(st, top) != MQ_OK)
		return NULL;
	return st;
}

/* A waiter served in a round, told once the round is over. */
struct served {
	struct conn		*conn;
	const struct waiter_ops	*ops;
	void			*arg;
};

/* Retries the waiters of 'k' that may get something; adds the served. */
static void
key_round(struct server *s, struct wait_key *k, struct served **sv,
    size_t *nsv, size_t *capsv)
{
	struct waiters *ws = s->waiters;
	struct wait_link *l, *next;
	mq_stream *st;
	mq_id top;
	int what = k->what;

	/* Nothing of the last key is kept: a round of thousands stays in bound. */
	server_cache_release(s);
	st = key_stream(s, k, &top);
	for (l = TAILQ_FIRST(&k->links); l != NULL; l = next) {
		struct waiter *w = l->w;

		next = TAILQ_NEXT(l, link);
		if (w->round == ws->round || !link_worth(s, k, what, l, st, top))
			continue;
		w->round = ws->round;
		s->waiter_retries++;
		/*
		 * A retry may end other waits (a client closed) and close what
		 * the cache handed out: after one, start the list over (those
		 * retried are skipped) and look at the stream again.
		 */
		if (!w->ops->retry(w->arg)) {
			next = TAILQ_FIRST(&k->links);
			st = key_stream(s, k, &top);
			continue;
		}
		if (*nsv == *capsv) {
			size_t ncap = *capsv ? *capsv * 2 : 8;
			struct served *n = reallocarray(*sv, ncap, sizeof(*n));

			if (n != NULL) {
				*sv = n;
				*capsv = ncap;
			}
		}
		/* Else served, but its pipelined input waits for more input. */
		if (*nsv < *capsv) {
			(*sv)[*nsv].conn = w->conn;
			(*sv)[*nsv].ops = w->ops;
			(*sv)[*nsv].arg = w->arg;
			(*nsv)++;
		}
		if (!w->dead)	/* its client may have gone in the retry */
			waiter_kill(s, w);
		next = TAILQ_FIRST(&k->links);
		st = key_stream(s, k, &top);
	}
}

static void
round_run(struct loop *loop, void *arg)
{
	struct server *s = arg;
	struct waiters *ws = s->waiters;
	struct keylist todo = TAILQ_HEAD_INITIALIZER(todo);
	struct served *sv = NULL;
	size_t nsv = 0, capsv = 0, i;
	struct wait_key *k;
	struct waiter *w;

	ws->round_timer = 0;
	ws->round++;
	ws->in_round = 1;
	/* Reads lock as they go: nothing may be held meanwhile. */
	server_release_groups(s);
	s->hold_groups = 0;
	TAILQ_CONCAT(&todo, &ws->marked, mlink);
	while ((k = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, k, mlink);
		k->marked = 0;
		if (k->nlinks > 0)
			key_round(s, k, &sv, &nsv, &capsv);
		key_clear_marks(k);
	}
	ws->in_round = 0;
	/* Keys left without waiters, and the waiters that ended, go now. */
	while ((k = LIST_FIRST(&ws->empty)) != NULL) {
		LIST_REMOVE(k, elink);
		k->emptied = 0;
		if (k->nlinks == 0)
			key_free(s, k);
	}
	while ((w = LIST_FIRST(&ws->dead)) != NULL) {
		LIST_REMOVE(w, dlink);
		waiter_free(w);
	}
	/*
	 * Only now what the served pipelined: it may close another, whose
	 * connection stays until the turn ends, its door's state not.
	 */
	for (i = 0; i < nsv; i++)
		if (!sv[i].conn->dead)
			sv[i].ops->served(sv[i].arg);
	free(sv);
}

static void
round_arm(struct server *s)
{
	struct waiters *ws = s->waiters;

	if (ws->round_timer == 0 && !ws->in_round)
		ws->round_timer = loop_timer_add(s->loop, 0, round_run, s);
}

void
waiters_free(struct server *s)
{
	struct waiters *ws = s->waiters;
	struct wait_key *k;

	if (ws == NULL)
		return;
	while ((k = RB_MIN(keytree, &ws->keys)) != NULL) {
		struct wait_link *l;

		while ((l = TAILQ_FIRST(&k->links)) != NULL)
			waiter_kill(s, l->w);
	}
	if (ws->round_timer != 0)
		loop_timer_del(s->loop, ws->round_timer);
	free(ws);
	s->waiters = NULL;
}
