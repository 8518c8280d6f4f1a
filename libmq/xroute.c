/*
 * xroute.c - routing through exchanges, from a copy of them that each
 * spool handle keeps.
 *
 * Model: the copy is SPOOL/exchanges (xtable.c) and amq.topic's
 * SPOOL/bindings (route.c) read together, less the exchanges of dead
 * owners, and indexed: the exchanges by name in a hash table, their
 * bindings sorted by source and key, so that each exchange's are one
 * run, and the runs of direct exchanges by (source, key) in a second
 * hash table.  It is read again only when the counter of one of the
 * files in SPOOL/routes moved, which their writers bump after each
 * replacement (exchange.c, route.c), and, while it holds transient
 * exchanges of other owners, when one of those died: they are looked
 * at once a second at most.
 *
 * A route walks from the exchange published to through its bindings
 * that match: direct, one probe of the hash table; fanout, all; topic,
 * mq_topic_match() on each; headers, the caller's matcher on each.  A
 * binding to an exchange adds that exchange to the walk, once: each
 * exchange and each queue is stamped with the number of the route that
 * reached it, so a cycle ends and a queue reached twice is given once.
 * The stack and the result have room for every exchange and queue of
 * the copy, made when it was read: a route allocates nothing, and calls
 * nothing of the kernel but, while other owners' transient exchanges
 * are in the copy, a clock read once per route (vDSO); only the first
 * route to a stream through the default exchange looks for it, and
 * keeps its name.
 *
 * The default exchange routes a key to the stream of that name, if it
 * exists.  Streams found to exist are remembered until the counter of
 * removals and renames (MQ_ROUTES_STREAMS) moves; a name that no stream
 * has is known without a look from the listing of names.c, when it is
 * current.
 *
 * A topic pattern whose first or last word is neither '*' nor '#' can
 * only match a key with the same first or last word: those words are
 * kept with each binding and compared first (may_match), which rules out
 * most patterns that do not match for a few instructions each.
 *
 * Cost, counted by callgrind (tests/unit/bench_exchange.c, see
 * docs/exchanges.md): about 450 instructions for a route through a
 * direct exchange of 100 bindings to the one queue of its key, and about
 * 14,600 through a topic exchange of 100 patterns, 9,000 of them in
 * mq_topic_match() for the 51 patterns whose ends do not rule them out.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"
#include "xtable.h"

#define LIVENESS_MS	1000	/* other owners are looked at this often */
#define KNOWN_MAX	4096	/* streams known to exist, at most */
#define NONE		UINT32_MAX

struct cx {
	struct mq_exchange pub;
	size_t		 first, n;	/* its bindings as a source, in b[] */
	uint32_t	 seen;		/* the last route that reached it */
};

/* The first or last word of a key or pattern: its bytes. */
struct span {
	const char	*p;
	size_t		 len;
	int		 literal;	/* a pattern's word, not '*' or '#' */
};

struct cb {
	struct mq_binding pub;
	uint32_t	 src;		/* its source, in x[] */
	uint32_t	 dest;		/* its destination, in q[] or in x[] */
	struct span	 head, tail;	/* of a topic pattern that has words */
};

struct cq {
	const char	*name;
	uint32_t	 seen;		/* the last route that reached it */
};

/* Open addressing of indexes + 1 (0: empty), its size a power of two. */
struct htab {
	uint32_t	*slot;
	size_t		 cap;
};

struct mq_xcache {
	mq_spool	*spool;
	uint64_t	*routes;	/* SPOOL/routes; NULL: read each time */
	int		 valid;
	uint64_t	 xseen, bseen;	/* the files' counters when read */
	int64_t		 probed_ms;	/* when other owners were looked at */
	struct mq_xtable table;
	struct mq_xowners owners;
	char		**topic;	/* SPOOL/bindings: pattern, queue... */
	size_t		 ntopic, captopic;
	struct cx	*x;
	size_t		 nx, capx;
	struct cb	*b;
	size_t		 nb, capb;
	struct cq	*q;
	size_t		 nq, capq;
	struct htab	 xnames, qnames, direct;
	uint32_t	 gen;		/* the number of the last route */
	uint32_t	*stack;		/* exchanges left to walk */
	const char	**out;		/* the queues of the last route */
	size_t		 capout;
	uint64_t	 streams_seen;	/* MQ_ROUTES_STREAMS for 'known' */
	char		**known;	/* streams known to exist (a set) */
	size_t		 nknown, capknown;
};

/* ------------------------------------------------------------------
 * Hash tables.
 * ---------------------------------------------------------------- */

/* The hash of a direct exchange's run: its key's, and its index. */
static uint64_t
hash_run(uint64_t keyhash, uint32_t src)
{
	return keyhash ^ ((uint64_t)src + 1) * 0x9e3779b97f4a7c15ull;
}

/* Empties 't' and makes room for 'n' entries, at most half full. */
static int
htab_reset(struct htab *t, size_t n)
{
	size_t cap = 16;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	if (cap > t->cap) {
		if ((slot = reallocarray(t->slot, cap, sizeof(*slot))) == NULL)
			return mq_sys();
		t->slot = slot;
		t->cap = cap;
	}
	memset(t->slot, 0, t->cap * sizeof(*t->slot));
	return MQ_OK;
}

static void
htab_put(struct htab *t, uint64_t h, uint32_t index)
{
	size_t i;

	for (i = h & (t->cap - 1); t->slot[i] != 0; i = (i + 1) & (t->cap - 1))
		;
	t->slot[i] = index + 1;
}

/* The index of the exchange 'name' in the copy, or NONE. */
static uint32_t
find_exchange(const struct mq_xcache *c, const char *name)
{
	const struct htab *t = &c->xnames;
	uint32_t v;
	size_t i;

	for (i = mq_hash64(name) & (t->cap - 1); (v = t->slot[i]) != 0;
	    i = (i + 1) & (t->cap - 1))
		if (strcmp(c->x[v - 1].pub.name, name) == 0)
			return v - 1;
	return NONE;
}

/* ------------------------------------------------------------------
 * Reading the copy.
 * ---------------------------------------------------------------- */

static void
copy_clear(struct mq_xcache *c)
{
	size_t i;

	for (i = 0; i < c->ntopic; i++)
		free(c->topic[i]);
	c->ntopic = c->nx = c->nb = c->nq = 0;
	c->owners.n = 0;	/* their names were the table's */
	mq_xtable_free(&c->table);
	c->valid = 0;
}

/* mq_bindings()'s callback: one of amq.topic's queue bindings. */
static int
add_topic(const char *pattern, const char *queue, void *arg)
{
	struct mq_xcache *c = arg;

	if (mq_grow(&c->topic, &c->captopic, c->ntopic + 2,
	    sizeof(*c->topic)) != MQ_OK ||
	    (c->topic[c->ntopic] = strdup(pattern)) == NULL)
		return 1;
	if ((c->topic[c->ntopic + 1] = strdup(queue)) == NULL) {
		free(c->topic[c->ntopic]);
		return 1;
	}
	c->ntopic += 2;
	return 0;
}

static int
add_exchange(struct mq_xcache *c, const struct mq_xrec *r, int builtin)
{
	struct cx *x;
	int rc;

	if ((rc = mq_grow(&c->x, &c->capx, c->nx + 1, sizeof(*c->x))) != MQ_OK)
		return rc;
	x = &c->x[c->nx++];
	memset(x, 0, sizeof(*x));
	x->pub.name = r->name;
	x->pub.type = r->type;
	x->pub.flags = r->flags;
	x->pub.builtin = builtin;
	x->pub.args = r->args;
	x->pub.argslen = r->argslen;
	return MQ_OK;
}

/* The index of queue 'name' in q[], added if new; NONE if it cannot be. */
static uint32_t
intern_queue(struct mq_xcache *c, const char *name)
{
	struct htab *t = &c->qnames;
	uint32_t v;
	size_t i;

	for (i = mq_hash64(name) & (t->cap - 1); (v = t->slot[i]) != 0;
	    i = (i + 1) & (t->cap - 1))
		if (strcmp(c->q[v - 1].name, name) == 0)
			return v - 1;
	if (mq_grow(&c->q, &c->capq, c->nq + 1, sizeof(*c->q)) != MQ_OK)
		return NONE;
	c->q[c->nq].name = name;
	c->q[c->nq].seen = 0;
	t->slot[i] = (uint32_t)++c->nq;
	return (uint32_t)c->nq - 1;
}

/*
 * The first and last words of 's' into 'head' and 'tail'; 0 if it has
 * none (it is "").
 */
static int
ends(const char *s, struct span *head, struct span *tail)
{
	const char *dot = NULL, *p;

	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p == '.') {
			if (dot == NULL)
				head->len = (size_t)(p - s);
			dot = p;
		}
	if (dot == NULL)
		head->len = (size_t)(p - s);
	head->p = s;
	tail->p = dot == NULL ? s : dot + 1;
	tail->len = (size_t)(p - tail->p);
	return 1;
}

/* Whether word 'w' of a pattern stands for itself, not '*' nor '#'. */
static int
literal(const struct span *w)
{
	return !(w->len == 1 && (w->p[0] == '*' || w->p[0] == '#'));
}

/* Adds binding 'r' if its exchanges are in the copy. */
static int
add_binding(struct mq_xcache *c, const struct mq_brec *r)
{
	uint32_t src, dest;
	struct cb *b;
	int rc;

	if ((src = find_exchange(c, r->source)) == NONE)
		return MQ_OK;
	dest = r->dkind == MQ_DEST_QUEUE ? intern_queue(c, r->dest) :
	    find_exchange(c, r->dest);
	if (dest == NONE)	/* out of memory, or a binding to nothing */
		return r->dkind == MQ_DEST_QUEUE ? mq_sys() : MQ_OK;
	if ((rc = mq_grow(&c->b, &c->capb, c->nb + 1, sizeof(*c->b))) != MQ_OK)
		return rc;
	b = &c->b[c->nb++];
	b->pub.source = r->source;
	b->pub.dkind = r->dkind;
	b->pub.dest = r->dest;
	b->pub.key = r->key;
	b->pub.args = r->args;
	b->pub.argslen = r->argslen;
	b->src = src;
	b->dest = dest;
	memset(&b->head, 0, sizeof(b->head));
	memset(&b->tail, 0, sizeof(b->tail));
	if (c->x[src].pub.type == MQ_XTOPIC &&
	    ends(r->key, &b->head, &b->tail)) {
		b->head.literal = literal(&b->head);
		b->tail.literal = literal(&b->tail);
	}
	return MQ_OK;
}

static int
binding_cmp(const void *a, const void *b)
{
	const struct cb *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return strcmp(x->pub.key, y->pub.key);
}

/* The exchanges: the built-in ones, then those of the table still there. */
static int
load_exchanges(struct mq_xcache *c)
{
	size_t i, n = mq_nxbuiltins + c->table.nx;
	int rc;

	if ((rc = htab_reset(&c->xnames, n)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++) {
		const struct mq_xrec *r = i < mq_nxbuiltins ? &mq_xbuiltins[i] :
		    &c->table.x[i - mq_nxbuiltins];

		if (r->gone)
			continue;
		if ((rc = add_exchange(c, r, i < mq_nxbuiltins)) != MQ_OK)
			return rc;
		htab_put(&c->xnames, mq_hash64(r->name), (uint32_t)c->nx - 1);
	}
	return MQ_OK;
}

/* The bindings of both files, then their runs. */
static int
load_bindings(struct mq_xcache *c)
{
	struct mq_brec r;
	size_t i;
	int rc;

	if ((rc = htab_reset(&c->qnames, c->table.nb + c->ntopic / 2)) != MQ_OK)
		return rc;
	for (i = 0; i < c->table.nb; i++)
		if (!c->table.b[i].gone &&
		    (rc = add_binding(c, &c->table.b[i])) != MQ_OK)
			return rc;
	memset(&r, 0, sizeof(r));
	r.source = MQ_TOPIC_EXCHANGE;
	r.dkind = MQ_DEST_QUEUE;
	for (i = 0; i < c->ntopic; i += 2) {
		r.key = c->topic[i];
		r.dest = c->topic[i + 1];
		if ((rc = add_binding(c, &r)) != MQ_OK)
			return rc;
	}
	if (c->nb > 0)
		qsort(c->b, c->nb, sizeof(*c->b), binding_cmp);
	if ((rc = htab_reset(&c->direct, c->nb)) != MQ_OK)
		return rc;
	for (i = 0; i < c->nb; i++) {
		struct cx *x = &c->x[c->b[i].src];

		if (x->n++ == 0)
			x->first = i;
		/* The first of each run of one key of a direct exchange. */
		if (x->pub.type == MQ_XDIRECT && (i == x->first ||
		    strcmp(c->b[i - 1].pub.key, c->b[i].pub.key) != 0))
			htab_put(&c->direct,
			    hash_run(mq_hash64(c->b[i].pub.key), c->b[i].src),
			    (uint32_t)i);
	}
	return MQ_OK;
}

/* Room for the walk and the result of any route of this copy. */
static int
make_room(struct mq_xcache *c)
{
	uint32_t *stack;
	const char **out;

	if ((stack = reallocarray(c->stack, c->nx, sizeof(*stack))) == NULL)
		return mq_sys();
	c->stack = stack;
	if (c->nq + 1 > c->capout) {
		out = reallocarray(c->out, c->nq + 1, sizeof(*out));
		if (out == NULL)
			return mq_sys();
		c->out = out;
		c->capout = c->nq + 1;
	}
	c->gen = 0;	/* every stamp is 0 */
	return MQ_OK;
}

/* Reads the copy again; the counters were taken before. */
static int
copy_read(struct mq_xcache *c)
{
	mq_spool *sp = c->spool;
	int rc;

	copy_clear(c);
	if ((rc = mq_xtable_read(sp, &c->table)) != MQ_OK ||
	    (rc = mq_xowners_probe(sp, &c->table, &c->owners)) != MQ_OK)
		return rc;
	/* As a change would: the dead owners' exchanges and what follows. */
	mq_xtable_begin(&c->table);
	mq_xtable_drop_dead(&c->table, mq_xowners_alive, &c->owners);
	mq_xtable_settle(&c->table);
	if ((rc = mq_bindings(sp, add_topic, c)) != MQ_OK)
		return rc;
	if ((rc = load_exchanges(c)) != MQ_OK ||
	    (rc = load_bindings(c)) != MQ_OK ||
	    (rc = make_room(c)) != MQ_OK)
		return rc;
	c->probed_ms = mq_mono_ms();
	c->valid = 1;
	return MQ_OK;
}

/* Whether other owners' transient exchanges are due a look, and one died. */
static int
owner_died(struct mq_xcache *c)
{
	size_t i;
	int64_t now;

	for (i = 0; i < c->owners.n; i++)
		if (c->owners.o[i].alive && !c->owners.o[i].mine)
			break;
	if (i == c->owners.n)
		return 0;
	if ((now = mq_mono_ms()) - c->probed_ms < LIVENESS_MS)
		return 0;
	c->probed_ms = now;
	return mq_xowners_died(&c->owners);
}

/* Whether counter 'which' of 'routes' moved since '*was', taking it. */
static int
seen(uint64_t *routes, int which, uint64_t *was)
{
	/* Acquire: what was changed before the bump is seen after it. */
	uint64_t now = __atomic_load_n(&routes[which], __ATOMIC_ACQUIRE);

	if (now == *was)
		return 0;
	*was = now;
	return 1;
}

/* The handle's copy, read again if it changed. */
static int
copy_get(mq_spool *sp, struct mq_xcache **out)
{
	struct mq_xstate *xs;
	struct mq_xcache *c;
	int moved;

	if ((xs = mq_xstate(sp)) == NULL)
		return mq_sys();
	if ((c = xs->cache) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return mq_sys();
		c->spool = sp;
		c->xseen = c->bseen = c->streams_seen = UINT64_MAX;
		xs->cache = c;
	}
	*out = c;
	if (c->routes == NULL && !sp->routes_failed &&
	    (c->routes = mq_routes_map(sp)) == NULL)
		sp->routes_failed = 1;	/* no use trying again */
	if (c->routes == NULL)
		return copy_read(c);	/* a spool this process may only read */
	/* Both taken before the files are read, as mq_routes_moved does. */
	moved = seen(c->routes, MQ_ROUTES_EXCHANGES, &c->xseen);
	moved |= seen(c->routes, MQ_ROUTES_BINDS, &c->bseen);
	if (moved || !c->valid || owner_died(c))
		return copy_read(c);
	return MQ_OK;
}

void
mq_xcache_free(struct mq_xcache *c)
{
	size_t i;

	if (c == NULL)
		return;
	copy_clear(c);
	mq_xowners_free(&c->owners);
	for (i = 0; i < c->capknown; i++)
		free(c->known[i]);
	free(c->known);
	free(c->topic);
	free(c->x);
	free(c->b);
	free(c->q);
	free(c->xnames.slot);
	free(c->qnames.slot);
	free(c->direct.slot);
	free(c->stack);
	free(c->out);
	free(c);
}

/* ------------------------------------------------------------------
 * Lookups and listings.
 * ---------------------------------------------------------------- */

int
mq_exchange_lookup(mq_spool *sp, const char *name, struct mq_exchange *x)
{
	struct mq_xcache *c;
	uint32_t i;
	int rc;

	if ((rc = copy_get(sp, &c)) != MQ_OK)
		return rc;
	if ((i = find_exchange(c, name)) == NONE)
		return MQ_ENOEXCHANGE;
	*x = c->x[i].pub;
	return MQ_OK;
}

int
mq_exchanges(mq_spool *sp, int (*fn)(const struct mq_exchange *, void *),
    void *arg)
{
	struct mq_xcache *c;
	size_t i;
	int rc;

	if ((rc = copy_get(sp, &c)) != MQ_OK)
		return rc;
	for (i = 0; i < c->nx; i++)
		if (fn(&c->x[i].pub, arg) != 0)
			break;
	return MQ_OK;
}

int
mq_exchange_bindings(mq_spool *sp, const char *source, enum mq_dest dkind,
    const char *dest, int (*fn)(const struct mq_binding *, void *), void *arg)
{
	struct mq_xcache *c;
	const struct mq_binding *b;
	size_t i;
	int rc;

	if ((rc = copy_get(sp, &c)) != MQ_OK)
		return rc;
	for (i = 0; i < c->nb; i++) {
		b = &c->b[i].pub;
		if (source != NULL && strcmp(b->source, source) != 0)
			continue;
		if (dest != NULL && (b->dkind != dkind ||
		    strcmp(b->dest, dest) != 0))
			continue;
		if (fn(b, arg) != 0)
			break;
	}
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * The default exchange: the streams known to exist.
 * ---------------------------------------------------------------- */

static void
known_clear(struct mq_xcache *c)
{
	size_t i;

	for (i = 0; i < c->capknown; i++) {
		free(c->known[i]);
		c->known[i] = NULL;
	}
	c->nknown = 0;
}

/* The slot of 'name' in 'known', or the empty one where it would go. */
static size_t
known_slot(char **known, size_t cap, const char *name)
{
	size_t i;

	for (i = mq_hash64(name) & (cap - 1); known[i] != NULL &&
	    strcmp(known[i], name) != 0; i = (i + 1) & (cap - 1))
		;
	return i;
}

/* Remembers that stream 'name' exists, if there is room (else forgets all). */
static void
known_add(struct mq_xcache *c, const char *name)
{
	size_t cap = c->capknown ? c->capknown * 2 : 64, i;
	char **known;

	if (c->nknown >= KNOWN_MAX)
		known_clear(c);
	if (2 * (c->nknown + 1) > c->capknown) {
		if ((known = calloc(cap, sizeof(*known))) == NULL)
			return;
		for (i = 0; i < c->capknown; i++)
			if (c->known[i] != NULL)
				known[known_slot(known, cap, c->known[i])] =
				    c->known[i];
		free(c->known);
		c->known = known;
		c->capknown = cap;
	}
	i = known_slot(c->known, c->capknown, name);
	if ((c->known[i] = strdup(name)) != NULL)
		c->nknown++;
}

/* Whether stream 'name' exists (or has entries in the write-ahead log). */
static int
stream_exists(struct mq_xcache *c, const char *name)
{
	char enc[MQ_ENCNAME_MAX];
	mq_spool *sp = c->spool;
	int rc, exists;

	if (mq_routes_moved(sp, MQ_ROUTES_STREAMS, &c->streams_seen))
		known_clear(c);
	if (c->capknown > 0 &&
	    c->known[known_slot(c->known, c->capknown, name)] != NULL)
		return 1;
	if (mq_name_encode(name, enc, sizeof(enc)) < 0)
		return 0;
	exists = (!mq_names_absent(sp, enc) && mq_stream_exists_enc(sp, enc)) ||
	    mq_wal_pending(sp, enc, &rc);
	if (exists)
		known_add(c, name);
	return exists;
}

/* ------------------------------------------------------------------
 * Routes.
 * ---------------------------------------------------------------- */

/* A route's walk: the copy, the key, and what the route found so far. */
struct walk {
	struct mq_xcache *c;
	const char	*key;
	uint64_t	 keyhash;	/* of the key, once 'hashed' */
	int		 hashed;
	int		 split;		/* 'words', 'head', 'tail' are set */
	int		 words;		/* the key has words (is not "") */
	struct span	 head, tail;	/* its first and last */
	mq_xmatch_fn	*match;
	void		*ctx;
	size_t		 depth;		/* exchanges on the stack */
	size_t		 n;		/* queues found */
};

/* Where binding 'b' leads, unless this route was there already. */
static void
follow(struct walk *w, const struct cb *b)
{
	struct mq_xcache *c = w->c;

	if (b->pub.dkind == MQ_DEST_QUEUE) {
		if (c->q[b->dest].seen != c->gen) {
			c->q[b->dest].seen = c->gen;
			c->out[w->n++] = c->q[b->dest].name;
		}
	} else if (c->x[b->dest].seen != c->gen) {
		c->x[b->dest].seen = c->gen;
		c->stack[w->depth++] = b->dest;
	}
}

/* The run of bindings of direct exchange 'xi' whose key is the key. */
static void
walk_direct(struct walk *w, uint32_t xi)
{
	struct mq_xcache *c = w->c;
	const struct htab *t = &c->direct;
	const struct cx *x = &c->x[xi];
	uint32_t v;
	size_t i, j;

	if (!w->hashed) {
		w->keyhash = mq_hash64(w->key);
		w->hashed = 1;
	}
	for (i = hash_run(w->keyhash, xi) & (t->cap - 1);
	    (v = t->slot[i]) != 0; i = (i + 1) & (t->cap - 1)) {
		if (c->b[v - 1].src != xi ||
		    strcmp(c->b[v - 1].pub.key, w->key) != 0)
			continue;
		for (j = v - 1; j < x->first + x->n &&
		    strcmp(c->b[j].pub.key, w->key) == 0; j++)
			follow(w, &c->b[j]);
		return;
	}
}

static int
span_eq(const struct span *a, const struct span *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * Whether topic pattern 'b' may match the key, by a look at its ends: a
 * first (last) word of the pattern that is neither '*' nor '#' takes the
 * first (last) word of the key, which must be the same.  Most patterns
 * that do not match fail here, for a few instructions, not the walk of
 * mq_topic_match().
 */
static int
may_match(struct walk *w, const struct cb *b)
{
	if (!b->head.literal && !b->tail.literal)
		return 1;
	if (!w->split) {
		w->words = ends(w->key, &w->head, &w->tail);
		w->split = 1;
	}
	return w->words &&
	    (!b->head.literal || span_eq(&b->head, &w->head)) &&
	    (!b->tail.literal || span_eq(&b->tail, &w->tail));
}

static void
walk_exchange(struct walk *w, uint32_t xi)
{
	struct mq_xcache *c = w->c;
	const struct cx *x = &c->x[xi];
	const struct cb *b;
	size_t i;

	if (x->pub.type == MQ_XDIRECT) {
		walk_direct(w, xi);
		return;
	}
	for (i = x->first; i < x->first + x->n; i++) {
		b = &c->b[i];
		if (x->pub.type == MQ_XFANOUT ||
		    (x->pub.type == MQ_XTOPIC && may_match(w, b) &&
		    mq_topic_match(b->pub.key, w->key)) ||
		    (x->pub.type == MQ_XHEADERS && w->match != NULL &&
		    w->match(b->pub.args, b->pub.argslen, w->ctx)))
			follow(w, b);
	}
}

/* A new route's stamp; all stamps start again when it wraps. */
static void
next_gen(struct mq_xcache *c)
{
	size_t i;

	if (++c->gen != 0)
		return;
	for (i = 0; i < c->nx; i++)
		c->x[i].seen = 0;
	for (i = 0; i < c->nq; i++)
		c->q[i].seen = 0;
	c->gen = 1;
}

int
mq_exchange_route(mq_spool *sp, const char *exchange, const char *key,
    mq_xmatch_fn *match, void *ctx, const char *const **queues,
    size_t *nqueues)
{
	struct mq_xcache *c;
	struct walk w;
	uint32_t xi;
	int rc;

	*queues = NULL;
	*nqueues = 0;
	if ((rc = copy_get(sp, &c)) != MQ_OK)
		return rc;
	if ((xi = find_exchange(c, exchange)) == NONE)
		return MQ_ENOEXCHANGE;
	*queues = c->out;
	/* The default exchange: a binding per stream, but amq.topic's log. */
	if (exchange[0] == '\0') {
		if (strcmp(key, MQ_TOPIC_EXCHANGE) != 0 &&
		    stream_exists(c, key)) {
			c->out[0] = key;
			*nqueues = 1;
		}
		return MQ_OK;
	}
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.key = key;
	w.match = match;
	w.ctx = ctx;
	next_gen(c);
	c->x[xi].seen = c->gen;
	c->stack[w.depth++] = xi;
	while (w.depth > 0)
		walk_exchange(&w, c->stack[--w.depth]);
	*nqueues = w.n;
	return MQ_OK;
}
