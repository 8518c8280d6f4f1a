/*
 * group.c - consumer groups: a cursor and a list of pending entries on a
 * stream, shared by every process of the spool.
 *
 * Model: the state of a group lives in a journal, streams/ENC/groups/G
 * (G the percent-encoded group name).  Every change is a handful of
 * fixed-size records appended under flock(LOCK_EX) on the journal, one
 * write(2) per operation (a read of a thousand entries is one lock and
 * one write).  Each process keeps a replica of the state in memory --
 * the cursor, the pending entries, the consumers -- and changes it only
 * by applying records: it replays the tail that other processes appended
 * since it last looked, then applies the records of its own operation as
 * it builds them, and writes them at the end.  Two processes never hand
 * out the same entry, since each decides under the lock and after the
 * replay.  Functions that only look (pending, info, consumers) replay
 * without the lock and stop at a record that is not complete yet.  To
 * keep the lock short, a change first replays a long tail without it,
 * and a read first copies the entries it will most likely deliver (see
 * read_ahead): under the lock it only checks that the group did not move
 * meanwhile, and writes.  The file protocol (locking, torn tails,
 * replacement) is journal.c's, and the copies of the messages a read
 * hands out are copybuf.c's.
 *
 * In memory, the pending entries are one array of slots in id order
 * (pending.c): new entries are appended, acknowledged ones leave dead
 * slots that are squeezed out in time, and slots move, so nothing keeps
 * a pointer or an index into the array across a change: code that walks
 * it while it makes changes keeps the id and searches again.
 *
 * Consumers are a tree by name, each with a count of the entries it
 * owns; its entries in order are a walk of the array filtered by owner
 * (history reads, XPENDING of a consumer, deleting a consumer).  Entries
 * handed back by a nack are also in a small tree of ids, since they are
 * delivered again, in id order, before new ones.
 *
 * When the journal is much larger than the state it describes, the
 * writer replaces it by a snapshot of its replica (see journal.c for how
 * other processes notice).  Destroying the group unlinks the journal; a
 * handle on it answers MQ_ENOGROUP from then on, also if a group of the
 * same name is created later (the HEAD record's incarnation differs).
 *
 * Semantics are Redis 7's XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XPENDING,
 * XINFO and XGROUP, plus: mq_group_nack hands entries back (they are
 * delivered again before new ones, once their retry delay has passed),
 * and the stream's policy applies at delivery: an entry older than ttl_ms,
 * or past its own deadline (header MQ_EXPIRES_AT), is dead-lettered
 * ("expired") instead of delivered; an entry whose
 * delivery count reached delivery_limit is dead-lettered
 * ("delivery-limit") when it is nacked, or when it would be redelivered
 * or claimed.  A dead letter is appended before the journal record that
 * takes the entry out of the pending list, so a crash between the two may
 * leave a duplicate dead letter, never a lost one.
 *
 * Consumers that die.  A reader that lives as long as its work attaches
 * its consumer (mq_group_attach): it holds flock(LOCK_SH) on a liveness
 * file, groups/@INC.C (INC the group's incarnation in hex, C the encoded
 * consumer name), which the kernel releases when the process dies, and a
 * CTX record with the ATTACH flag marks the consumer attached in the
 * journal.  A new read ('>') first looks at every attached consumer with
 * pending entries: one whose file no process holds died, and its entries
 * are handed back (NACK records, the delivery count kept, so the next
 * delivery counts and the delivery limit still applies) before anything
 * new is delivered.  The file is opened read-only by its holder and
 * write-only by those that look, so that only a holder's close (its
 * death, or its detach) is an IN_CLOSE_NOWRITE event, which the watch
 * (watch.c) turns into a wake-up.  A reader that does not attach (a
 * pipeline, a Redis client) is covered by the lease instead: an entry
 * pending for a consumer that is not attached for longer than the
 * stream's lease_ms is handed back by the next read.  Both checks cost
 * nothing while there is nothing to check: the lease scan runs only once
 * the oldest delivery it could find (a lower bound kept as records are
 * applied) is older than the lease, and the liveness check only while
 * some attached consumer has entries pending.
 *
 * Retry delays.  A NACK record carries the time before which the entry
 * is not delivered again (0: at once): the stream's retry delay, doubled
 * for each delivery the entry had, up to its retry maximum, unless the
 * caller gave another.  Readers skip entries that are not due, and
 * mq_group_next_due() tells a waiting reader when to look again.  The
 * smallest due time is kept as a lower bound too, so that entries waiting
 * their turn cost a read nothing.
 *
 * Journal format, version 1 (for mq-spool(5)).  A sequence of records;
 * a record is one 32-byte slot, plus 'extra' 32-byte slots for a name.
 * Integers are little-endian.
 *
 *     0  u32 crc     CRC-32C of bytes 4 .. 32 * (1 + extra) - 1
 *     4  u8  type
 *     5  u8  flags
 *     6  u16 extra   slots after this one that belong to the record
 *     8  u64 a
 *    16  u64 b
 *    24  u64 c
 *
 *   1 HEAD      a = magic "MQGROUP1" (0x3150554f5247514d), b = version
 *               (1), c = incarnation: a random number chosen when the
 *               group is created and kept by compaction.  Always first.
 *   2 SETID     a = ms, b = seq: the last delivered id (the cursor);
 *               c = entries read (int64, -1: unknown).  Written at
 *               creation, by XGROUP SETID, and after a read whose last
 *               entries were not added to the pending list (NOACK,
 *               expired).
 *   3 CONSUMER  a = number (low 32 bits, >= 1) | name length << 32;
 *               b = seen ms, c = active ms (int64, -1: never); the name
 *               in the extra slots, zero-padded.  Creates the consumer
 *               and gives it that number for later records.  flags: 1
 *               it is attached (written by a snapshot).
 *   4 DELCONS   a = number: deletes the consumer and its pending entries.
 *   5 CTX       a = consumer number, 0 for none; b = delivery time (ms)
 *               for the OWN records that follow; c = now.  flags: 1 the
 *               consumer was seen at c, 2 it was active at c, 4 it is
 *               attached from now on, 8 it is no longer attached.
 *   6 OWN       a = ms, b = seq of an entry, c = its delivery count:
 *               the entry becomes pending (if it was not), owned by the
 *               CTX consumer (none: handed back) and delivered at the CTX
 *               time.  flags 1 NEW: a first delivery after the cursor;
 *               the count is 1, c is the entries read (the entry's offset
 *               + 1), and the cursor moves to the entry.
 *   7 ACK       a = ms, b = seq: the entry leaves the pending list.
 *   8 NACK      a = ms, b = seq: the entry is handed back (no owner),
 *               its count and delivery time kept; it is delivered again
 *               before new entries, not before time c (ms; 0: at once).
 *
 * The flags and the c of NACK came after version 1 was first written;
 * a reader that ignores them sees a valid journal, so the version stayed.
 *
 * A snapshot (compaction) is HEAD, SETID, one CONSUMER per consumer
 * (numbered again from 1), then the pending entries by id, each an OWN
 * record after a CTX record (no flags) whenever owner or time changes,
 * and a NACK record after the OWN of a handed-back entry that is not due
 * yet.
 *
 * groups/.tmp.PID.RANDOM are journals being written by a create (then
 * linked into place) or a compaction (then renamed over the journal);
 * one older than ten minutes was left by a dead process and is removed
 * by the next create.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <bsd/sys/tree.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define GJ_MAGIC	0x3150554f5247514dull	/* "MQGROUP1" */
#define GJ_VERSION	1

enum {
	REC_HEAD = 1,
	REC_SETID,
	REC_CONSUMER,
	REC_DELCONS,
	REC_CTX,
	REC_OWN,
	REC_ACK,
	REC_NACK
};
#define CTX_SEEN	0x1
#define CTX_ACTIVE	0x2
#define CTX_ATTACH	0x4
#define CTX_DETACH	0x8
#define OWN_NEW		0x1
#define CONS_ATTACHED	0x1

#define COMPACT_MIN	(1 << 20)	/* never compact a smaller journal */
#define COMPACT_RATIO	4		/* compact at this many times the state */
#define DEAD_FLUSH	1024		/* dead letters are appended in batches */
#define AUTOCLAIM_SCAN	10		/* XAUTOCLAIM looks at count * this */
#define EARLY_REPLAY	(64 * MQ_JSLOT)	/* a longer tail is replayed unlocked */
#define HOLD_MAX	(1u << 20)	/* held records past this are written at once */
#define BUF_KEEP	(16u << 10)	/* bytes of a buffer kept between calls */

/* ------------------------------------------------------------------
 * The replica
 * ---------------------------------------------------------------- */

/* An entry handed back by a nack, in gstate.nacked. */
struct nacked {
	RB_ENTRY(nacked)	 link;
	mq_id			 id;
	int64_t			 due;		/* not delivered before; 0: at once */
};

RB_HEAD(ntree, nacked);

struct consumer {
	RB_ENTRY(consumer)	 link;		/* in gstate.consumers, by name */
	uint64_t		 npending;	/* entries it owns */
	uint32_t		 idx;		/* its number in the journal */
	uint32_t		 snap;		/* its number in a snapshot */
	int64_t			 seen;		/* last attempted interaction */
	int64_t			 active;	/* last delivery or claim, -1: never */
	int			 attached;	/* its reader holds a liveness file */
	int			 probefd;	/* that file, to ask if it lives; -1 */
	char			 name[MQ_NAME_MAX + 1];
};

RB_HEAD(ctree, consumer);

/* What the journal says, as far as this process has replayed it. */
struct gstate {
	int			 head;		/* the HEAD record was applied */
	mq_id			 cursor;	/* last delivered id */
	int64_t			 entries_read;	/* -1: unknown */
	struct mq_plist		 pl;		/* every pending entry */
	uint64_t		 npending;	/* its live slots */
	struct ntree		 nacked;	/* those handed back */
	struct ctree		 consumers;
	uint64_t		 nconsumers;
	uint64_t		 nameslots;	/* slots of their CONSUMER records */
	struct consumer		**byidx;	/* consumer by journal number */
	size_t			 capidx;
	uint32_t		 nextidx;	/* number of the next new consumer */
	struct consumer		*ctx;		/* from the last CTX record */
	int64_t			 ctxtime;
	uint64_t		 nattached;	/* attached consumers */
	int64_t			 due_min;	/* <= the due time of every entry
						   handed back (INT64_MAX: none) */
	int64_t			 lease_min;	/* <= the delivery time of every
						   entry whose owner is not
						   attached (INT64_MAX: none) */
};

struct mq_group {
	mq_stream		*stream;
	char			 name[MQ_NAME_MAX + 1];
	int			 gdirfd;	/* streams/ENC/groups */
	struct mq_journal	 j;
	struct gstate		 st;		/* the replica */
	uint64_t		 incarnation;	/* of the group opened; 0 until known */
	int			 gone;		/* destroyed: MQ_ENOGROUP from now on */
	int			 stale;		/* replica differs from the file: reload */

	mq_reader		*reader;	/* new entries: positioned after 'rpos' */
	mq_id			 rpos;
	int			 rvalid;	/* 'rpos' is right */
	mq_reader		*getter;	/* entries by id */

	unsigned char		*out;		/* records of the change under way */
	size_t			 outlen, outcap;
	/* mq_group_hold: the lock is kept, out[0 .. heldlen) waits to be written. */
	int			 held;
	size_t			 heldlen;
	struct mq_policy	 pol;		/* the stream's, read once per hold */
	int			 polheld;
	struct mq_copies	 give;		/* messages handed to the caller */
	struct mq_copies	 dead;		/* messages for the dead letters */
	/* mq_group_attach: the consumer attached, and its liveness file. */
	int			 livefd;	/* -1: none attached */
	char			 livename[MQ_NAME_MAX + 1];
};

static int
nacked_cmp(const struct nacked *a, const struct nacked *b)
{
	return mq_id_cmp(a->id, b->id);
}

static int
consumer_cmp(const struct consumer *a, const struct consumer *b)
{
	return strcmp(a->name, b->name);
}

/* libbsd's RB_GENERATE_STATIC needs a __unused that it does not define. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(ntree, nacked, link, nacked_cmp, RB_ATTR)
RB_GENERATE_INTERNAL(ctree, consumer, link, consumer_cmp, RB_ATTR)

/* ---- The pending array (pending.c), and who holds its entries */

/*
 * The first slot at or after slot 'i' that holds an entry of 'c';
 * st->pl.len if there is none.  A walk of the array: a consumer's
 * entries are not kept apart.
 */
static size_t
owned_from(const struct gstate *st, const struct consumer *c, size_t i)
{
	const struct mq_plist *pl = &st->pl;

	if (c->npending == 0)
		return pl->len;
	while (i < pl->len && (!pl->e[i].live || pl->e[i].owner != c))
		i++;
	return i;
}

/* The node of the handed-back entry 'id', or NULL. */
static struct nacked *
nacked_find(struct gstate *st, mq_id id)
{
	struct nacked key;

	key.id = id;
	return RB_FIND(ntree, &st->nacked, &key);
}

/*
 * Sets the time before which the handed-back entry 'id' is not
 * delivered again (0: at once).
 */
static void
nacked_due(struct gstate *st, mq_id id, int64_t due)
{
	struct nacked *n;

	if ((n = nacked_find(st, id)) == NULL)
		return;
	n->due = due;
	if (due < st->due_min)
		st->due_min = due;
}

/* Whether an entry handed back may be due for delivery at 'now'. */
static int
nacked_ready(const struct gstate *st, int64_t now)
{
	return !RB_EMPTY(&st->nacked) && st->due_min <= now;
}

/* A node of the tree of handed-back entries, due at 'due'. */
static struct nacked *
nacked_new(struct gstate *st, mq_id id, int64_t due)
{
	struct nacked *n;

	if ((n = malloc(sizeof(*n))) == NULL)
		return NULL;
	n->id = id;
	n->due = due;
	if (due < st->due_min)
		st->due_min = due;
	return n;
}

/*
 * Adds the pending entry 'id', which is not pending, owned by 'c' (NULL:
 * handed back, due at once); the caller sets its time and count.
 * Returns its slot, or NULL with errno set (out of memory).
 */
static struct mq_pentry *
pending_add(struct gstate *st, mq_id id, struct consumer *c)
{
	struct mq_pentry *p;
	struct nacked *n = NULL;

	if (c == NULL && (n = nacked_new(st, id, 0)) == NULL)
		return NULL;
	if ((p = mq_plist_insert(&st->pl, id, st->npending)) == NULL) {
		free(n);
		return NULL;
	}
	p->owner = c;
	st->npending++;
	if (c != NULL)
		c->npending++;
	else if (RB_INSERT(ntree, &st->nacked, n) != NULL)
		free(n);	/* cannot be */
	return p;
}

/* Takes 'p' from its owner, or from the nacked tree. */
static void
owner_unlink(struct gstate *st, struct mq_pentry *p)
{
	struct nacked *n;

	if (p->owner != NULL) {
		p->owner->npending--;
		return;
	}
	if ((n = nacked_find(st, p->id)) != NULL) {
		RB_REMOVE(ntree, &st->nacked, n);
		free(n);
	}
}

/*
 * Gives the pending entry 'p' to 'c' (NULL: hands it back, due at
 * 'due').  Returns MQ_OK, or MQ_ESYS (out of memory) with nothing
 * changed.
 */
static int
pending_give(struct gstate *st, struct mq_pentry *p, struct consumer *c,
    int64_t due)
{
	struct nacked *n = NULL;

	if (c == NULL && p->owner == NULL) {
		nacked_due(st, p->id, due);
		return MQ_OK;
	}
	if (c == p->owner)
		return MQ_OK;
	if (c == NULL && (n = nacked_new(st, p->id, due)) == NULL)
		return mq_sys();
	owner_unlink(st, p);
	p->owner = c;
	if (c != NULL)
		c->npending++;
	else if (RB_INSERT(ntree, &st->nacked, n) != NULL)
		free(n);	/* cannot be */
	return MQ_OK;
}

/* Takes 'p' out of the pending list; slots may move. */
static void
pending_remove(struct gstate *st, struct mq_pentry *p)
{
	owner_unlink(st, p);
	p->live = 0;
	p->owner = NULL;
	st->npending--;
	st->pl.ndead++;
	mq_plist_tidy(&st->pl, st->npending);
}

static void
consumer_free(struct consumer *c)
{
	if (c->probefd != -1)
		close(c->probefd);
	free(c);
}

static struct consumer *
consumer_find(struct gstate *st, const char *name)
{
	struct consumer key;

	if (strlcpy(key.name, name, sizeof(key.name)) >= sizeof(key.name))
		return NULL;
	return RB_FIND(ctree, &st->consumers, &key);
}

/*
 * Forgets everything the replica holds; the next replay starts at 0.
 * The pending array is kept for reuse.
 */
static void
state_reset(mq_group *g)
{
	struct gstate *st = &g->st;
	struct mq_plist pl = st->pl;
	struct nacked *n, *nn;
	struct consumer *c, *cn;

	RB_FOREACH_SAFE(n, ntree, &st->nacked, nn) {
		RB_REMOVE(ntree, &st->nacked, n);
		free(n);
	}
	RB_FOREACH_SAFE(c, ctree, &st->consumers, cn) {
		RB_REMOVE(ctree, &st->consumers, c);
		consumer_free(c);
	}
	free(st->byidx);
	memset(st, 0, sizeof(*st));
	st->pl.e = pl.e;
	st->pl.cap = pl.cap;
	RB_INIT(&st->nacked);
	RB_INIT(&st->consumers);
	st->entries_read = -1;
	st->nextidx = 1;
	st->due_min = INT64_MAX;
	st->lease_min = INT64_MAX;
	g->j.off = 0;
}

/* ------------------------------------------------------------------
 * Applying records
 * ---------------------------------------------------------------- */

static int
apply_consumer(mq_group *g, const struct mq_jrec *r)
{
	struct gstate *st = &g->st;
	struct consumer *c, **v;
	uint32_t idx = r->a & 0xffffffff;
	size_t len = r->a >> 32, cap;

	if (idx == 0 || len == 0 || len > MQ_NAME_MAX || len > r->datalen ||
	    memchr(r->data, '\0', len) != NULL)
		return MQ_ECORRUPT;
	if (idx >= st->capidx) {
		cap = st->capidx ? st->capidx : 16;
		while (cap <= idx)
			cap *= 2;
		if ((v = reallocarray(st->byidx, cap, sizeof(*v))) == NULL)
			return mq_sys();
		memset(v + st->capidx, 0, (cap - st->capidx) * sizeof(*v));
		st->byidx = v;
		st->capidx = cap;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return mq_sys();
	c->probefd = -1;
	memcpy(c->name, r->data, len);
	if (RB_INSERT(ctree, &st->consumers, c) != NULL) {
		free(c);
		return MQ_ECORRUPT;
	}
	c->idx = idx;
	c->seen = (int64_t)r->b;
	c->active = (int64_t)r->c;
	c->attached = (r->flags & CONS_ATTACHED) != 0;
	st->nattached += c->attached;
	st->byidx[idx] = c;
	st->nconsumers++;
	st->nameslots += mq_jrec_size(len) / MQ_JSLOT;
	if (idx >= st->nextidx)
		st->nextidx = idx + 1;
	return MQ_OK;
}

static struct consumer *
consumer_byidx(struct gstate *st, uint64_t idx)
{
	return idx < st->capidx ? st->byidx[idx] : NULL;
}

static int
apply_delcons(mq_group *g, const struct mq_jrec *r)
{
	struct gstate *st = &g->st;
	struct mq_plist *pl = &st->pl;
	struct consumer *c;
	struct mq_pentry *p;
	size_t i;

	if ((c = consumer_byidx(st, r->a)) == NULL)
		return MQ_ECORRUPT;
	/* Its entries die in one pass; the array is tidied after it. */
	for (i = pl->head; i < pl->len && c->npending > 0; i++) {
		p = &pl->e[i];
		if (!p->live || p->owner != c)
			continue;
		p->live = 0;
		p->owner = NULL;
		c->npending--;
		st->npending--;
		pl->ndead++;
	}
	mq_plist_tidy(pl, st->npending);
	RB_REMOVE(ctree, &st->consumers, c);
	st->byidx[c->idx] = NULL;
	st->nconsumers--;
	st->nattached -= c->attached;
	st->nameslots -= mq_jrec_size(strlen(c->name)) / MQ_JSLOT;
	if (st->ctx == c)
		st->ctx = NULL;
	consumer_free(c);
	return MQ_OK;
}

static int
apply_own(mq_group *g, const struct mq_jrec *r)
{
	struct gstate *st = &g->st;
	struct mq_pentry *p;
	mq_id id = { r->a, r->b };
	int rc;

	if ((p = mq_plist_find(&st->pl, id)) == NULL) {
		if ((p = pending_add(st, id, st->ctx)) == NULL)
			return mq_sys();
	} else if ((rc = pending_give(st, p, st->ctx, 0)) != MQ_OK)
		return rc;
	p->time = st->ctxtime;
	if (p->owner != NULL && p->time < st->lease_min)
		st->lease_min = p->time;
	if (r->flags & OWN_NEW) {
		p->count = 1;
		st->cursor = id;
		st->entries_read = (int64_t)r->c;
	} else
		p->count = r->c;
	return MQ_OK;
}

/*
 * The ATTACH and DETACH flags of a CTX record for consumer 'c'.  A
 * consumer that stops being attached puts its entries under the lease:
 * the bound on their delivery times is no longer known.
 */
static void
apply_attach(struct gstate *st, struct consumer *c, unsigned flags)
{
	if ((flags & CTX_ATTACH) && !c->attached) {
		c->attached = 1;
		st->nattached++;
	} else if ((flags & CTX_DETACH) && c->attached) {
		c->attached = 0;
		st->nattached--;
		st->lease_min = INT64_MIN;
		if (c->probefd != -1) {
			close(c->probefd);
			c->probefd = -1;
		}
	}
}

/*
 * Applies one record to the replica ('arg' is the group).  Returns
 * MQ_OK, MQ_ECORRUPT for a record that makes no sense here, MQ_EVERSION,
 * MQ_ENOGROUP if the file belongs to another group of the same name, or
 * MQ_ESYS (out of memory).
 */
static int
apply(const struct mq_jrec *r, void *arg)
{
	mq_group *g = arg;
	struct gstate *st = &g->st;
	struct consumer *c;
	struct mq_pentry *p;
	mq_id id = { r->a, r->b };

	if (!st->head && r->type != REC_HEAD)
		return MQ_ECORRUPT;
	switch (r->type) {
	case REC_HEAD:
		if (st->head || r->a != GJ_MAGIC)
			return MQ_ECORRUPT;
		if (r->b != GJ_VERSION)
			return MQ_EVERSION;
		if (g->incarnation != 0 && r->c != g->incarnation)
			return MQ_ENOGROUP;
		g->incarnation = r->c;
		st->head = 1;
		return MQ_OK;
	case REC_SETID:
		st->cursor = id;
		st->entries_read = (int64_t)r->c;
		return MQ_OK;
	case REC_CONSUMER:
		return apply_consumer(g, r);
	case REC_DELCONS:
		return apply_delcons(g, r);
	case REC_CTX:
		c = NULL;
		if (r->a != 0 && (c = consumer_byidx(st, r->a)) == NULL)
			return MQ_ECORRUPT;
		st->ctx = c;
		st->ctxtime = (int64_t)r->b;
		if (c != NULL && (r->flags & CTX_SEEN))
			c->seen = (int64_t)r->c;
		if (c != NULL && (r->flags & CTX_ACTIVE))
			c->active = (int64_t)r->c;
		if (c != NULL)
			apply_attach(st, c, r->flags);
		return MQ_OK;
	case REC_OWN:
		return apply_own(g, r);
	case REC_ACK:
		if ((p = mq_plist_find(&st->pl, id)) != NULL)
			pending_remove(st, p);
		return MQ_OK;
	case REC_NACK:
		if ((p = mq_plist_find(&st->pl, id)) != NULL)
			return pending_give(st, p, NULL, (int64_t)r->c);
		return MQ_OK;
	}
	return MQ_ECORRUPT;
}

/*
 * Adds a record to the change under way and applies it to the replica
 * at once, so that the rest of the operation sees it.  The records are
 * written by commit().  If applying fails the replica is reloaded later.
 */
static int
emit(mq_group *g, unsigned type, unsigned flags, uint64_t a, uint64_t b,
    uint64_t c, const void *data, size_t len)
{
	struct mq_jrec r;
	size_t need = mq_jrec_size(len), cap;
	unsigned char *p;
	int rc;

	if (g->outcap - g->outlen < need) {
		cap = g->outcap ? g->outcap : 4096;
		while (cap - g->outlen < need)
			cap *= 2;
		if ((p = realloc(g->out, cap)) == NULL)
			return mq_sys();
		g->out = p;
		g->outcap = cap;
	}
	p = g->out + g->outlen;
	mq_jrec_put(p, type, flags, a, b, c, data, len);
	r.type = type;
	r.flags = flags;
	r.a = a;
	r.b = b;
	r.c = c;
	r.data = len > 0 ? p + MQ_JSLOT : NULL;
	r.datalen = need - MQ_JSLOT;
	if ((rc = apply(&r, g)) != MQ_OK) {
		g->stale = 1;
		return rc;
	}
	g->outlen += need;
	return MQ_OK;
}

static int
emit_id(mq_group *g, unsigned type, mq_id id)
{
	return emit(g, type, 0, id.ms, id.seq, 0, NULL, 0);
}

/* ------------------------------------------------------------------
 * Catching up, and changes under the lock
 * ---------------------------------------------------------------- */

/* Replays the journal's tail; a full reload if the replica is stale. */
static int
catch_up(mq_group *g, int reset, int repair)
{
	int rc;

	if (reset || g->stale)
		state_reset(g);
	g->stale = 0;
	rc = mq_journal_replay(&g->j, repair, apply, g);
	if (rc == MQ_OK && !g->st.head)
		rc = MQ_ECORRUPT;
	if (rc != MQ_OK) {
		g->stale = 1;
		if (rc == MQ_ENOGROUP)
			g->gone = 1;
	}
	return rc;
}

/* Brings the replica up to date without the lock, for functions that look. */
static int
refresh(mq_group *g)
{
	int reset, rc;

	if (g->gone)
		return MQ_ENOGROUP;
	if (g->held)
		return MQ_OK;	/* no one else can have written */
	if ((rc = mq_journal_check(&g->j, &reset)) != MQ_OK) {
		if (rc == MQ_ENOGROUP)
			g->gone = 1;
		return rc;
	}
	return catch_up(g, reset, 0);
}

/*
 * Replays a long tail of the journal without the lock, as refresh()
 * does, so that the lock is then held (and others wait) only for what
 * came after it.  A failure only makes the replay under the lock start
 * again.
 */
static void
replay_early(mq_group *g)
{
	struct stat sb;

	if (!g->gone && !g->stale && !g->held && g->j.fd != -1 &&
	    fstat(g->j.fd, &sb) == 0 && sb.st_size - g->j.off >= EARLY_REPLAY)
		(void)catch_up(g, 0, 0);
}

/*
 * Takes the lock and catches up (cutting a torn tail), for a change
 * whose buffers of copies are ready.
 */
static int
lock_change(mq_group *g)
{
	int reset, rc;

	if (g->gone)
		return MQ_ENOGROUP;
	if (g->held) {
		/* Held: the records of this change follow those waiting. */
		g->outlen = g->heldlen;
		mq_copies_reset(&g->dead);
		return MQ_OK;
	}
	if ((rc = mq_journal_lock(&g->j, &reset)) != MQ_OK) {
		if (rc == MQ_ENOGROUP)
			g->gone = 1;
		return rc;
	}
	if ((rc = catch_up(g, reset, 1)) != MQ_OK) {
		mq_journal_unlock(&g->j);
		return rc;
	}
	g->outlen = 0;
	mq_copies_reset(&g->dead);
	return MQ_OK;
}

/* Starts a change: the replay, the lock, no copies yet. */
static int
begin(mq_group *g)
{
	replay_early(g);
	mq_copies_reset(&g->give);
	return lock_change(g);
}

static int commit(mq_group *g);
static void detach(mq_group *g);

/*
 * Gives up a change: nothing of it is written, the replica is reloaded
 * later.  A held group first writes the changes made before this one
 * and stops holding.
 */
static void
abandon(mq_group *g)
{
	int dirty = g->outlen > g->heldlen;

	g->outlen = g->heldlen;
	g->rvalid = 0;
	if (g->held) {
		g->held = 0;
		(void)commit(g);	/* a failure marks it stale too */
	} else
		mq_journal_unlock(&g->j);
	g->heldlen = 0;
	if (dirty)
		g->stale = 1;
}

/* Ends a change that wrote nothing. */
static void
end_unchanged(mq_group *g)
{
	if (!g->held)
		mq_journal_unlock(&g->j);
}

/*
 * The bytes a snapshot of the replica takes at most: a CTX, an OWN and
 * (handed back, not due yet) a NACK record per entry.
 */
static uint64_t
live_bytes(const struct gstate *st)
{
	return MQ_JSLOT * (2 + st->nameslots + 3 * st->npending);
}

/* When the handed-back entry 'id' is due; 0 if it is not handed back. */
static int64_t
due_of(struct gstate *st, mq_id id)
{
	struct nacked *n = nacked_find(st, id);

	return n != NULL ? n->due : 0;
}

/*
 * Replaces the journal by a snapshot of the replica and numbers the
 * consumers again to match it.  Called under the lock, after a change
 * was written; a failure leaves the (valid) journal as it was.
 */
static int
compact(mq_group *g)
{
	struct gstate *st = &g->st;
	struct consumer *c, *owner = NULL;
	struct mq_pentry *p;
	unsigned char *buf, *q;
	int64_t time = 0, due;
	uint32_t idx = 0;
	size_t i;
	ino_t ino;
	int rc, first = 1;

	if ((buf = malloc(live_bytes(st))) == NULL)
		return mq_sys();
	q = buf;
	q += mq_jrec_put(q, REC_HEAD, 0, GJ_MAGIC, GJ_VERSION, g->incarnation,
	    NULL, 0);
	q += mq_jrec_put(q, REC_SETID, 0, st->cursor.ms, st->cursor.seq,
	    (uint64_t)st->entries_read, NULL, 0);
	/* Consumers are numbered again; the replica follows if it works. */
	RB_FOREACH(c, ctree, &st->consumers) {
		size_t len = strlen(c->name);

		c->snap = ++idx;
		q += mq_jrec_put(q, REC_CONSUMER,
		    c->attached ? CONS_ATTACHED : 0, idx | (uint64_t)len << 32,
		    (uint64_t)c->seen, (uint64_t)c->active, c->name, len);
	}
	for (i = st->pl.head; i < st->pl.len; i++) {
		p = &st->pl.e[i];
		if (!p->live)
			continue;
		if (first || p->owner != owner || p->time != time) {
			q += mq_jrec_put(q, REC_CTX, 0,
			    p->owner != NULL ? p->owner->snap : 0,
			    (uint64_t)p->time, 0, NULL, 0);
			owner = p->owner;
			time = p->time;
			first = 0;
		}
		q += mq_jrec_put(q, REC_OWN, 0, p->id.ms, p->id.seq, p->count,
		    NULL, 0);
		if (p->owner == NULL && (due = due_of(st, p->id)) != 0)
			q += mq_jrec_put(q, REC_NACK, 0, p->id.ms, p->id.seq,
			    (uint64_t)due, NULL, 0);
	}
	ino = g->j.ino;
	rc = mq_journal_replace(&g->j, buf, q - buf);
	free(buf);
	if (g->j.ino == ino)
		return rc;	/* not replaced: the old numbers stand */
	if (st->capidx > 0)
		memset(st->byidx, 0, st->capidx * sizeof(*st->byidx));
	RB_FOREACH(c, ctree, &st->consumers) {
		c->idx = c->snap;
		st->byidx[c->idx] = c;
	}
	st->nextidx = idx + 1;
	st->ctx = NULL;
	return rc;
}

/*
 * Ends a change: writes its records in one write(2), compacts the
 * journal if it grew too large, and releases the lock.  If the write
 * fails, the replica is reloaded on the next call.
 */
static int
commit(mq_group *g)
{
	int rc = MQ_OK;

	if (g->held && g->outlen < HOLD_MAX) {
		g->heldlen = g->outlen;	/* written by mq_group_release */
		return MQ_OK;
	}
	g->heldlen = 0;
	if (g->outlen > 0 &&
	    (rc = mq_journal_append(&g->j, g->out, g->outlen)) != MQ_OK) {
		/* The records were applied but may not be in the file. */
		g->stale = 1;
		g->rvalid = 0;
	}
	g->outlen = 0;
	if (g->outcap > BUF_KEEP) {
		free(g->out);
		g->out = NULL;
		g->outcap = 0;
	}
	if (rc == MQ_OK && g->j.off > COMPACT_MIN &&
	    (uint64_t)g->j.off > COMPACT_RATIO * live_bytes(&g->st))
		(void)compact(g);	/* the journal stays valid if it fails */
	if (!g->held)
		mq_journal_unlock(&g->j);
	return rc;
}

int
mq_group_hold(mq_group *g)
{
	int reset, rc;

	if (g->held)
		return 1;
	if (g->gone)
		return MQ_ENOGROUP;
	replay_early(g);
	if ((rc = mq_journal_trylock(&g->j, &reset)) != MQ_OK) {
		if (rc == MQ_ENOGROUP)
			g->gone = 1;
		return rc == 1 ? 0 : rc;
	}
	if ((rc = catch_up(g, reset, 1)) != MQ_OK) {
		mq_journal_unlock(&g->j);
		return rc;
	}
	g->outlen = g->heldlen = 0;
	g->held = 1;
	g->polheld = 0;
	return 1;
}

int
mq_group_release(mq_group *g)
{
	if (!g->held)
		return MQ_OK;
	g->held = 0;
	g->outlen = g->heldlen;
	return commit(g);
}

/* ------------------------------------------------------------------
 * Dead letters
 * ---------------------------------------------------------------- */

/* Appends the dead letters collected so far, one batch per reason run. */
static int
flush_dead(mq_group *g)
{
	struct mq_copies *cp = &g->dead;
	size_t i, k;
	int rc;

	if (cp->nmc == 0)
		return MQ_OK;
	if ((rc = mq_copies_finish(cp, NULL)) != MQ_OK)
		return rc;
	for (i = 0; i < cp->nmc; i = k) {
		for (k = i + 1; k < cp->nmc; k++)
			if (strcmp(cp->mc[k].reason, cp->mc[i].reason) != 0)
				break;
		if ((rc = mq_dead_letter(g->stream, cp->msgs + i, k - i,
		    cp->mc[i].reason, cp->counts + i)) != MQ_OK)
			return rc;
	}
	mq_copies_reset(cp);
	return MQ_OK;
}

/*
 * Collects message 'm' for the dead-letter stream.  They are appended
 * in batches, and always before commit() writes the records that take
 * them out of the pending list.
 */
static int
dead(mq_group *g, const struct mq_msg *m, const char *reason, uint64_t count)
{
	int rc;

	if ((rc = mq_copies_add(&g->dead, m, reason, count)) != MQ_OK)
		return rc;
	if (g->dead.nmc >= DEAD_FLUSH)
		return flush_dead(g);
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Helpers of the operations
 * ---------------------------------------------------------------- */

static int
check_name(const char *name)
{
	size_t len;

	if (name == NULL || (len = strlen(name)) == 0 || len > MQ_NAME_MAX)
		return MQ_EBADNAME;
	return MQ_OK;
}

/*
 * Finds consumer 'name', creating it (seen 'now', never active) if it
 * is missing and 'create' is set.  '*c' is NULL if it is missing.
 */
static int
consumer_get(mq_group *g, const char *name, int64_t now, int create,
    struct consumer **c)
{
	size_t len = strlen(name);
	int rc;

	if ((*c = consumer_find(&g->st, name)) != NULL || !create)
		return MQ_OK;
	if ((rc = emit(g, REC_CONSUMER, 0, g->st.nextidx | (uint64_t)len << 32,
	    (uint64_t)now, (uint64_t)-1, name, len)) != MQ_OK)
		return rc;
	*c = consumer_find(&g->st, name);
	return MQ_OK;
}

/* Emits the CTX record for 'c' once per operation ('*done'). */
static int
context(mq_group *g, struct consumer *c, int64_t time, int64_t now,
    unsigned flags, int *done)
{
	if (*done)
		return MQ_OK;
	*done = 1;
	return emit(g, REC_CTX, flags, c->idx, (uint64_t)time, (uint64_t)now,
	    NULL, 0);
}

/* Puts the reader right after the cursor, unless it is there already. */
static int
reader_sync(mq_group *g)
{
	mq_id next = g->st.cursor;
	int rc;

	if (g->rvalid && mq_id_cmp(g->rpos, g->st.cursor) == 0)
		return MQ_OK;
	g->rvalid = 0;
	if (mq_id_incr(&next) != MQ_OK)
		rc = mq_reader_seek_end(g->reader);
	else
		rc = mq_reader_seek_id(g->reader, next);
	if (rc != MQ_OK)
		return rc;
	g->rpos = g->st.cursor;
	g->rvalid = 1;
	return MQ_OK;
}

/*
 * The stream's policy.  Each look costs a stat of its meta file; a held
 * group looks once per hold, as its holder makes many changes in a row.
 */
static const struct mq_policy *
group_policy(mq_group *g)
{
	const struct mq_policy *pol;

	if (g->held && g->polheld)
		return &g->pol;
	if ((pol = mq_stream_policy(g->stream)) != NULL && g->held) {
		g->pol = *pol;
		g->polheld = 1;
	}
	return pol;
}

/* The delivery limit of the policy, 0 if none. */
static uint64_t
delivery_limit(mq_group *g)
{
	const struct mq_policy *pol = group_policy(g);

	return pol != NULL ? pol->delivery_limit : 0;
}

/* ------------------------------------------------------------------
 * Attaching a consumer to the life of this process
 * ---------------------------------------------------------------- */

int
mq_group_attach(mq_group *g, const char *consumer)
{
	char file[MQ_LIVE_NAME_MAX];
	struct consumer *c;
	int64_t now;
	int sole = 0, rc, fd = -1;

	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if (g->livefd != -1)
		return MQ_EINVAL;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	/* Under the journal's lock: holds of one name never race. */
	if ((rc = mq_live_name(g->incarnation, consumer, file,
	    sizeof(file))) != MQ_OK ||
	    (rc = sole = mq_live_hold(g->gdirfd, file, &fd)) < 0)
		goto fail;
	now = mq_now_ms();
	if ((rc = consumer_get(g, consumer, now, 1, &c)) != MQ_OK ||
	    (!c->attached && (rc = emit(g, REC_CTX, CTX_SEEN | CTX_ATTACH,
	    c->idx, 0, (uint64_t)now, NULL, 0)) != MQ_OK))
		goto fail;
	if ((rc = commit(g)) != MQ_OK) {
		mq_live_drop(g->gdirfd, file, fd, sole);
		return rc;
	}
	g->livefd = fd;
	strlcpy(g->livename, consumer, sizeof(g->livename));
	return sole;
fail:
	abandon(g);
	if (fd != -1)
		mq_live_drop(g->gdirfd, file, fd, sole == 1);
	return rc;
}

/*
 * Lets go of the consumer attached by this handle.  The last holder of
 * its liveness file marks it detached, so that what it left pending
 * comes under the lease, and removes the file; a failure on the way
 * only means that the next reader takes its entries at once.
 */
static void
detach(mq_group *g)
{
	char file[MQ_LIVE_NAME_MAX];
	struct consumer *c;
	int sole;

	if (g->livefd == -1)
		return;
	if (mq_live_name(g->incarnation, g->livename, file,
	    sizeof(file)) != MQ_OK) {
		close(g->livefd);
		g->livefd = -1;
		return;
	}
	if ((sole = mq_live_sole(g->livefd)) && !g->gone &&
	    begin(g) == MQ_OK) {
		c = consumer_find(&g->st, g->livename);
		if (c == NULL || !c->attached)
			end_unchanged(g);
		else if (emit(g, REC_CTX, CTX_DETACH, c->idx, 0,
		    (uint64_t)mq_now_ms(), NULL, 0) != MQ_OK)
			abandon(g);
		else
			(void)commit(g);
	}
	mq_live_drop(g->gdirfd, file, g->livefd, sole);
	g->livefd = -1;
}

int
mq_group_next_due(mq_group *g, int64_t *when)
{
	const struct mq_policy *pol;
	struct nacked *n;
	int64_t t = INT64_MAX, lease;
	int rc;

	*when = -1;
	if ((rc = refresh(g)) != MQ_OK)
		return rc;
	/* Exact for retries: a reader asks before it sleeps, not per read. */
	RB_FOREACH(n, ntree, &g->st.nacked)
		if (n->due < t)
			t = n->due;
	g->st.due_min = t;
	pol = group_policy(g);
	lease = pol != NULL ? pol->lease_ms : 0;
	if (lease > 0 && g->st.lease_min != INT64_MAX) {
		if (g->st.lease_min < t - lease)
			t = g->st.lease_min + lease;
	}
	if (t != INT64_MAX)
		*when = t < 0 ? 0 : t;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Creating, listing, opening and destroying groups
 * ---------------------------------------------------------------- */

/* Opens streams/ENC/groups, creating it with 'create'. */
static int
groups_dir(mq_stream *stream, int create, int *fd)
{
	int sdir = mq_stream_dirfd(stream), rc;

	if (create) {
		if (mkdirat(sdir, "groups", 0755) == 0) {
			if ((rc = mq_spool_dirty(mq_stream_spool(stream),
			    sdir)) != MQ_OK)
				return rc;
		} else if (errno != EEXIST)
			return mq_sys();
	}
	*fd = openat(sdir, "groups", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd == -1)
		return errno == ENOENT ? MQ_ENOGROUP : mq_sys();
	return MQ_OK;
}

int
mq_group_create(mq_stream *stream, const char *name, mq_id start,
    int64_t entries_read)
{
	unsigned char buf[2 * MQ_JSLOT], *p = buf;
	char enc[MQ_ENCNAME_MAX];
	struct mq_stream_info info;
	uint64_t inc = 0;
	int fd, rc;

	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	if (entries_read < -1)
		return MQ_EINVAL;
	if (mq_id_cmp(start, MQ_ID_LAST) == 0) {
		if ((rc = mq_stream_info(stream, &info)) != MQ_OK)
			return rc;
		start = info.last_id;
	}
	while (inc == 0)
		arc4random_buf(&inc, sizeof(inc));
	p += mq_jrec_put(p, REC_HEAD, 0, GJ_MAGIC, GJ_VERSION, inc, NULL, 0);
	p += mq_jrec_put(p, REC_SETID, 0, start.ms, start.seq,
	    (uint64_t)entries_read, NULL, 0);
	if ((rc = groups_dir(stream, 1, &fd)) != MQ_OK)
		return rc;
	mq_journal_sweep(fd);
	rc = mq_journal_create(mq_stream_spool(stream), fd, enc, buf, p - buf);
	close(fd);
	return rc;
}

/* The incarnation in the HEAD record of journal 'enc'; 0 if unknown. */
static uint64_t
incarnation_of(int dirfd, const char *enc)
{
	unsigned char buf[MQ_JSLOT];
	struct mq_jrec r;
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, enc, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = mq_pread_all(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(buf) || mq_jrec_get(buf, sizeof(buf), &r) <= 0 ||
	    r.type != REC_HEAD)
		return 0;
	return r.c;
}

int
mq_group_destroy(mq_stream *stream, const char *name)
{
	char enc[MQ_ENCNAME_MAX];
	uint64_t inc;
	int fd, rc;

	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	if ((rc = groups_dir(stream, 0, &fd)) != MQ_OK)
		return rc;
	inc = incarnation_of(fd, enc);
	rc = mq_journal_remove(mq_stream_spool(stream), fd, enc);
	if (rc == MQ_OK && inc != 0)
		mq_live_sweep(fd, inc);
	close(fd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
mq_stream_groups(mq_stream *stream, int (*fn)(const char *name, void *arg),
    void *arg)
{
	char **names = NULL, dec[MQ_NAME_MAX + 1];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int fd, rc;

	if ((rc = groups_dir(stream, 0, &fd)) != MQ_OK)
		return rc == MQ_ENOGROUP ? MQ_OK : rc;
	if ((d = fdopendir(fd)) == NULL) {
		rc = mq_sys();
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		/* Temporary files start with '.'; encoded names never do. */
		if (de->d_name[0] == '.' ||
		    mq_name_decode(de->d_name, dec, sizeof(dec)) < 0)
			continue;
		if ((rc = mq_grow(&names, &cap, n + 1,
		    sizeof(*names))) != MQ_OK)
			goto out;
		if ((names[n] = strdup(dec)) == NULL) {
			rc = mq_sys();
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		if (fn(names[i], arg) != 0)
			break;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int
mq_group_open(mq_stream *stream, const char *name, mq_group **out)
{
	char enc[MQ_ENCNAME_MAX];
	mq_group *g;
	int rc;

	*out = NULL;
	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return mq_sys();
	g->stream = stream;
	strlcpy(g->name, name, sizeof(g->name));
	g->gdirfd = -1;
	g->j.fd = -1;
	g->livefd = -1;
	state_reset(g);
	if ((rc = groups_dir(stream, 0, &g->gdirfd)) != MQ_OK ||
	    (rc = mq_journal_open(&g->j, mq_stream_spool(stream), g->gdirfd,
	    enc)) != MQ_OK ||
	    (rc = mq_reader_open(stream, &g->reader)) != MQ_OK ||
	    (rc = mq_reader_open(stream, &g->getter)) != MQ_OK ||
	    (rc = refresh(g)) != MQ_OK) {
		mq_group_close(g);
		return rc;
	}
	*out = g;
	return MQ_OK;
}


void
mq_group_close(mq_group *g)
{
	if (g == NULL)
		return;
	(void)mq_group_release(g);
	detach(g);
	state_reset(g);
	free(g->st.pl.e);
	mq_journal_close(&g->j);
	if (g->gdirfd != -1)
		close(g->gdirfd);
	mq_reader_close(g->reader);
	mq_reader_close(g->getter);
	free(g->out);
	mq_copies_free(&g->give);
	mq_copies_free(&g->dead);
	free(g);
}

int
mq_group_setid(mq_group *g, mq_id id, int64_t entries_read)
{
	struct mq_stream_info info;
	int rc;

	if (entries_read < -1)
		return MQ_EINVAL;
	if (mq_id_cmp(id, MQ_ID_LAST) == 0) {
		if ((rc = mq_stream_info(g->stream, &info)) != MQ_OK)
			return rc;
		id = info.last_id;
	}
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	if ((rc = emit(g, REC_SETID, 0, id.ms, id.seq, (uint64_t)entries_read,
	    NULL, 0)) != MQ_OK) {
		abandon(g);
		return rc;
	}
	return commit(g);
}

/* ------------------------------------------------------------------
 * Taking back what dead consumers and expired leases hold
 * ---------------------------------------------------------------- */

/* Hands back every entry of 'c' (no retry delay: they were not nacked). */
static int
give_back_all(mq_group *g, struct consumer *c)
{
	struct mq_plist *pl = &g->st.pl;
	struct mq_pentry *p;
	size_t i;
	int rc;

	/* Handing back moves no slot: the walk goes on where it was. */
	for (i = pl->head; i < pl->len && c->npending > 0; i++) {
		p = &pl->e[i];
		if (p->live && p->owner == c &&
		    (rc = emit_id(g, REC_NACK, p->id)) != MQ_OK)
			return rc;
	}
	return MQ_OK;
}

/*
 * Hands back the entries of attached consumers whose readers died (no
 * process holds their liveness file), and marks them detached.  The
 * consumer this handle attached is alive by definition.
 */
static int
reclaim_dead(mq_group *g, int64_t now)
{
	char file[MQ_LIVE_NAME_MAX];
	struct consumer *c;
	int alive, rc;

	if (g->st.nattached == 0)
		return MQ_OK;
	RB_FOREACH(c, ctree, &g->st.consumers) {
		if (!c->attached || c->npending == 0 ||
		    (g->livefd != -1 && strcmp(c->name, g->livename) == 0))
			continue;
		if ((rc = mq_live_name(g->incarnation, c->name, file,
		    sizeof(file))) != MQ_OK)
			return rc;
		if ((alive = mq_live_probe(g->gdirfd, file,
		    &c->probefd)) < 0)
			return alive;
		if (alive)
			continue;
		if ((rc = emit(g, REC_CTX, CTX_DETACH, c->idx, 0,
		    (uint64_t)now, NULL, 0)) != MQ_OK ||
		    (rc = give_back_all(g, c)) != MQ_OK)
			return rc;
	}
	return MQ_OK;
}

/*
 * Hands back the entries of consumers that are not attached whose last
 * delivery is older than the stream's lease, and learns the oldest of
 * the others.  Nothing to do before the oldest could have expired.
 */
static int
reclaim_leases(mq_group *g, int64_t now)
{
	const struct mq_policy *pol = group_policy(g);
	struct mq_plist *pl = &g->st.pl;
	struct mq_pentry *p;
	int64_t lease, oldest = INT64_MAX;
	size_t i;
	int rc;

	lease = pol != NULL ? pol->lease_ms : 0;
	if (lease <= 0 || g->st.lease_min > now - lease)
		return MQ_OK;
	for (i = pl->head; i < pl->len; i++) {
		p = &pl->e[i];
		if (!p->live || p->owner == NULL || p->owner->attached)
			continue;
		if (now - p->time < lease) {
			if (p->time < oldest)
				oldest = p->time;
		} else if ((rc = emit_id(g, REC_NACK, p->id)) != MQ_OK)
			return rc;
	}
	g->st.lease_min = oldest;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Delivering
 * ---------------------------------------------------------------- */

/*
 * Redelivers entries handed back by a nack whose retry delay has passed,
 * in id order, to 'c', adding to '*k' (up to 'count').  A deleted entry
 * leaves the pending list; one at the delivery limit is dead-lettered.
 */
static int
read_nacked(mq_group *g, struct consumer *c, size_t count, int noack,
    int64_t now, int *ctx, size_t *k)
{
	uint64_t limit, pcount;
	struct nacked *n, *next;
	struct mq_pentry *p;
	struct mq_msg m;
	int64_t due_min = INT64_MAX;
	mq_id id;
	int got, rc;

	if (!nacked_ready(&g->st, now))
		return MQ_OK;
	limit = delivery_limit(g);

	/*
	 * Each step frees 'n' (the entry is acked or owned), not 'next'.  A
	 * walk of the whole tree learns the next due time exactly.
	 */
	for (n = RB_MIN(ntree, &g->st.nacked); n != NULL; n = next) {
		if (*k >= count)
			return MQ_OK;
		next = RB_NEXT(ntree, &g->st.nacked, n);
		if (n->due > now) {
			if (n->due < due_min)
				due_min = n->due;
			continue;
		}
		id = n->id;
		if ((p = mq_plist_find(&g->st.pl, id)) == NULL) {
			g->stale = 1;	/* cannot be: a reload mends it */
			return MQ_ECORRUPT;
		}
		pcount = p->count;
		if ((got = mq_reader_get(g->getter, id, &m)) < 0)
			return got;
		if (!got)		/* deleted: it leaves the list */
			rc = emit_id(g, REC_ACK, id);
		else if (limit > 0 && pcount >= limit) {
			if ((rc = dead(g, &m, "delivery-limit", pcount)) == MQ_OK)
				rc = emit_id(g, REC_ACK, id);
		} else {
			if ((rc = mq_copies_add(&g->give, &m, NULL, 0)) !=
			    MQ_OK || (rc = context(g, c, now, now,
			    CTX_SEEN | CTX_ACTIVE, ctx)) != MQ_OK)
				return rc;
			(*k)++;
			if (noack)
				rc = emit_id(g, REC_ACK, id);
			else
				rc = emit(g, REC_OWN, 0, id.ms, id.seq,
				    pcount + 1, NULL, 0);
		}
		if (rc != MQ_OK)
			return rc;
	}
	g->st.due_min = due_min;
	return MQ_OK;
}

/*
 * The first time at which entry 'm' counts as expired, by the policy's
 * 'ttl' (0: none) or its own deadline, whichever comes first; -1 if by
 * neither.
 */
static int64_t
expires_at(const struct mq_msg *m, int64_t ttl)
{
	int64_t at, when = -1;

	if (ttl > 0)
		when = m->time_ms + ttl + 1;
	if (m->nheaders > 0 && mq_msg_deadline(m, &at) &&
	    (when < 0 || at + 1 < when))
		when = at + 1;
	return when;
}

/* Whether entry 'm' expired by 'now' (expires_at). */
static int
expired(const struct mq_msg *m, int64_t ttl, int64_t now)
{
	int64_t when = expires_at(m, ttl);

	return when >= 0 && now >= when;
}

/*
 * The reader's next entry above '*top' (which it moves there): 1, 0 at
 * the end, or an error.  Entries at or below a cursor set ahead are
 * skipped.
 */
static int
next_new(mq_group *g, mq_id *top, struct mq_msg *m)
{
	int got;

	do {
		if ((got = mq_reader_next(g->reader, m)) < 0) {
			g->rvalid = 0;
			return got;
		}
		if (got == 0)
			return 0;
		g->rpos = m->id;
	} while (!mq_id_lt(*top, m->id));
	*top = m->id;
	return 1;
}

/*
 * Delivers entries after the cursor to 'c', adding to '*k' (up to
 * 'count').  Expired ones are dead-lettered; the cursor passes them.
 */
static int
read_new(mq_group *g, struct consumer *c, size_t count, int noack,
    int64_t now, int *ctx, size_t *k)
{
	const struct mq_policy *pol;
	int64_t ttl, er = 0;
	struct mq_msg m;
	mq_id top, adv;
	int got, rc, advance = 0;

	if (*k >= count)
		return MQ_OK;
	pol = group_policy(g);
	ttl = pol != NULL ? pol->ttl_ms : 0;
	if ((rc = reader_sync(g)) != MQ_OK)
		return rc;
	top = g->st.cursor;
	while (*k < count) {
		if ((got = next_new(g, &top, &m)) < 0)
			return got;
		if (got == 0)
			break;
		if (expired(&m, ttl, now)) {
			if ((rc = dead(g, &m, "expired", 0)) != MQ_OK)
				return rc;
			advance = 1;
			adv = m.id;
			er = (int64_t)m.offset + 1;
			continue;
		}
		if ((rc = mq_copies_add(&g->give, &m, NULL, 0)) != MQ_OK ||
		    (rc = context(g, c, now, now, CTX_SEEN | CTX_ACTIVE,
		    ctx)) != MQ_OK)
			return rc;
		(*k)++;
		if (noack) {
			advance = 1;
			adv = m.id;
			er = (int64_t)m.offset + 1;
			continue;
		}
		if ((rc = emit(g, REC_OWN, OWN_NEW, m.id.ms, m.id.seq,
		    m.offset + 1, NULL, 0)) != MQ_OK)
			return rc;
		advance = 0;
	}
	if (advance)
		return emit(g, REC_SETID, 0, adv.ms, adv.seq, (uint64_t)er,
		    NULL, 0);
	return MQ_OK;
}

/*
 * Reads ahead, without the lock, the entries that a read of up to
 * 'count' new entries will most likely deliver, copying them into
 * g->give; returns how many.  Only when this handle's reader stands
 * right after the cursor (it made the last read of the group, as a lone
 * reader does) and no entry waits to be delivered again: the read then
 * takes the next entries of the stream.  It stops at an entry that must
 * be looked at under the lock (expired, or not above the cursor).  Other
 * processes wait for the lock only while the records are written.  An
 * entry deleted from the stream meanwhile is still delivered, as if the
 * delete had come just after the read.
 */
static size_t
read_ahead(mq_group *g, size_t count, int64_t now)
{
	const struct mq_policy *pol;
	struct mq_msg m;
	mq_id top = g->st.cursor;
	int64_t ttl;
	size_t k = 0;
	int got;

	if (g->gone || g->stale || !g->rvalid || !mq_id_eq(g->rpos, top) ||
	    nacked_ready(&g->st, now))
		return 0;
	pol = group_policy(g);
	ttl = pol != NULL ? pol->ttl_ms : 0;
	while (k < count) {
		if ((got = mq_reader_next(g->reader, &m)) <= 0) {
			if (got < 0)
				g->rvalid = 0;
			break;
		}
		g->rpos = m.id;
		if (!mq_id_lt(top, m.id) || expired(&m, ttl, now) ||
		    mq_copies_add(&g->give, &m, NULL, 0) != MQ_OK)
			break;
		top = m.id;
		k++;
	}
	return k;
}

/*
 * Under the lock: delivers to 'c' the 'ahead' entries that read_ahead()
 * copied from after cursor 'from', if the group is still as it was then
 * (the cursor has not moved, no entry was handed back), adding to '*k'.
 * Otherwise the copies are dropped and the read goes the usual way.
 */
static int
take_ahead(mq_group *g, struct consumer *c, size_t ahead, mq_id from,
    int64_t now, int *ctx, size_t *k)
{
	const struct mq_copy *mc;
	size_t i;
	int rc;

	if (ahead == 0)
		return MQ_OK;
	if (!mq_id_eq(g->st.cursor, from) || nacked_ready(&g->st, now)) {
		mq_copies_reset(&g->give);
		return MQ_OK;
	}
	if ((rc = context(g, c, now, now, CTX_SEEN | CTX_ACTIVE, ctx)) != MQ_OK)
		return rc;
	for (i = 0; i < ahead; i++) {
		mc = &g->give.mc[i];
		if ((rc = emit(g, REC_OWN, OWN_NEW, mc->id.ms, mc->id.seq,
		    mc->offset + 1, NULL, 0)) != MQ_OK)
			return rc;
	}
	*k += ahead;
	return MQ_OK;
}

int
mq_group_expire(mq_group *g, int64_t *next)
{
	const struct mq_policy *pol;
	struct mq_msg m;
	int64_t now, ttl, er = 0;
	mq_id top, adv = { 0, 0 };
	int got, rc, advance = 0;

	*next = -1;
	now = mq_now_ms();
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	pol = group_policy(g);
	ttl = pol != NULL ? pol->ttl_ms : 0;
	if ((rc = reader_sync(g)) != MQ_OK)
		goto fail;
	top = g->st.cursor;
	for (;;) {
		if ((got = next_new(g, &top, &m)) < 0) {
			rc = got;
			goto fail;
		}
		if (got == 0)
			break;
		if (!expired(&m, ttl, now)) {
			*next = expires_at(&m, ttl);
			break;
		}
		if ((rc = dead(g, &m, "expired", 0)) != MQ_OK)
			goto fail;
		advance = 1;
		adv = m.id;
		er = (int64_t)m.offset + 1;
	}
	if ((advance && (rc = emit(g, REC_SETID, 0, adv.ms, adv.seq,
	    (uint64_t)er, NULL, 0)) != MQ_OK) ||
	    (rc = flush_dead(g)) != MQ_OK)
		goto fail;
	return commit(g);
fail:
	abandon(g);
	return rc;
}

int
mq_group_read(mq_group *g, const char *consumer, size_t count, int noack,
    struct mq_msg *msgs, size_t *n)
{
	struct consumer *c;
	int64_t now;
	mq_id from;
	size_t k = 0, ahead = 0;
	int rc, ctx = 0;

	*n = 0;
	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if (count == 0)
		return MQ_OK;
	now = mq_now_ms();
	replay_early(g);
	mq_copies_reset(&g->give);
	from = g->st.cursor;
	if (!noack)
		ahead = read_ahead(g, count, now);
	if ((rc = lock_change(g)) != MQ_OK)
		return rc;
	if ((!noack && ((rc = reclaim_dead(g, now)) != MQ_OK ||
	    (rc = reclaim_leases(g, now)) != MQ_OK)) ||
	    (rc = consumer_get(g, consumer, now, 1, &c)) != MQ_OK ||
	    (rc = take_ahead(g, c, ahead, from, now, &ctx, &k)) != MQ_OK ||
	    (rc = read_nacked(g, c, count, noack, now, &ctx, &k)) != MQ_OK ||
	    (rc = read_new(g, c, count, noack, now, &ctx, &k)) != MQ_OK ||
	    /*
	     * A read that found nothing writes nothing: its write would wake
	     * every blocked reader of the group (inotify), this one included,
	     * and they would spin.  The consumer's seen time is not kept then.
	     */
	    (k > 0 && (rc = context(g, c, now, now, CTX_SEEN, &ctx)) != MQ_OK) ||
	    (rc = flush_dead(g)) != MQ_OK ||
	    (rc = mq_copies_finish(&g->give, msgs)) != MQ_OK) {
		abandon(g);
		return rc;
	}
	if ((rc = commit(g)) != MQ_OK)
		return rc;
	*n = k;
	return MQ_OK;
}

int
mq_group_history(mq_group *g, const char *consumer, mq_id after,
    size_t count, struct mq_msg *msgs, size_t *n)
{
	uint64_t limit, pcount;
	struct consumer *c;
	struct mq_msg m;
	int64_t now;
	mq_id id;
	size_t i, k = 0;
	int got, rc, ctx = 0;

	*n = 0;
	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if (count == 0)
		return MQ_OK;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	now = mq_now_ms();
	limit = delivery_limit(g);
	if ((rc = consumer_get(g, consumer, now, 1, &c)) != MQ_OK)
		goto fail;
	/* Each step may move slots: the next one is searched from 'id'. */
	id = after;
	while (k < count && (i = owned_from(&g->st, c,
	    mq_plist_seek(&g->st.pl, id, 1))) < g->st.pl.len) {
		id = g->st.pl.e[i].id;
		pcount = g->st.pl.e[i].count;
		if ((got = mq_reader_get(g->getter, id, &m)) < 0) {
			rc = got;
			goto fail;
		}
		if (!got) {
			/* Deleted: the id alone, and it stays pending. */
			memset(&m, 0, sizeof(m));
			m.id = id;
			m.offset = UINT64_MAX;
			if ((rc = mq_copies_add(&g->give, &m, NULL, 0)) !=
			    MQ_OK)
				goto fail;
			k++;
			continue;
		}
		if (limit > 0 && pcount >= limit) {
			if ((rc = dead(g, &m, "delivery-limit", pcount)) !=
			    MQ_OK || (rc = emit_id(g, REC_ACK, id)) != MQ_OK)
				goto fail;
			continue;
		}
		if ((rc = mq_copies_add(&g->give, &m, NULL, 0)) != MQ_OK ||
		    (rc = context(g, c, now, now, CTX_SEEN | CTX_ACTIVE,
		    &ctx)) != MQ_OK ||
		    (rc = emit(g, REC_OWN, 0, id.ms, id.seq, pcount + 1,
		    NULL, 0)) != MQ_OK)
			goto fail;
		k++;
	}
	if ((rc = context(g, c, now, now, CTX_SEEN, &ctx)) != MQ_OK ||
	    (rc = flush_dead(g)) != MQ_OK ||
	    (rc = mq_copies_finish(&g->give, msgs)) != MQ_OK)
		goto fail;
	if ((rc = commit(g)) != MQ_OK)
		return rc;
	*n = k;
	return MQ_OK;
fail:
	abandon(g);
	return rc;
}

/* ------------------------------------------------------------------
 * Acknowledging and handing back
 * ---------------------------------------------------------------- */

int
mq_group_ack(mq_group *g, const mq_id *ids, size_t n, size_t *acked)
{
	size_t i;
	int rc;

	*acked = 0;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (mq_plist_find(&g->st.pl, ids[i]) == NULL)
			continue;
		if ((rc = emit_id(g, REC_ACK, ids[i])) != MQ_OK) {
			abandon(g);
			*acked = 0;
			return rc;
		}
		(*acked)++;
	}
	if ((rc = commit(g)) != MQ_OK)
		*acked = 0;
	return rc;
}

/*
 * When an entry delivered 'count' times and nacked at 'now' is due
 * again: 'base' (the policy's retry delay if < 0) doubled for each
 * delivery after the first, up to the policy's retry maximum (0: none),
 * but never below 'base'.  0 if there is no delay.
 */
static int64_t
retry_due(const struct mq_policy *pol, int64_t base, uint64_t count,
    int64_t now)
{
	int64_t cap, delay;
	uint64_t shift = count > 1 ? count - 1 : 0;

	if (base < 0)
		base = pol != NULL ? pol->retry_delay_ms : 0;
	if (base <= 0)
		return 0;
	cap = pol != NULL && pol->retry_max_ms > 0 ? pol->retry_max_ms :
	    INT64_MAX / 4;
	if (cap < base)
		cap = base;
	delay = shift >= 62 || base > (cap >> shift) ? cap : base << shift;
	if (delay > cap)
		delay = cap;
	return now + delay;
}

int
mq_group_nack(mq_group *g, const mq_id *ids, size_t n, int reject,
    int64_t delay_ms, size_t *done)
{
	const struct mq_policy *pol;
	uint64_t limit;
	struct mq_pentry *p;
	struct mq_msg m;
	int64_t now;
	size_t i, k = 0;
	int got, rc;

	*done = 0;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	now = mq_now_ms();
	pol = group_policy(g);
	limit = delivery_limit(g);
	for (i = 0; i < n; i++) {
		if ((p = mq_plist_find(&g->st.pl, ids[i])) == NULL)
			continue;
		k++;
		if (!reject && (limit == 0 || p->count < limit)) {
			if ((rc = emit(g, REC_NACK, 0, ids[i].ms, ids[i].seq,
			    (uint64_t)retry_due(pol, delay_ms, p->count, now),
			    NULL, 0)) != MQ_OK)
				goto fail;
			continue;
		}
		if ((got = mq_reader_get(g->getter, p->id, &m)) < 0) {
			rc = got;
			goto fail;
		}
		if (got && (rc = dead(g, &m, reject ? "rejected" :
		    "delivery-limit", p->count)) != MQ_OK)
			goto fail;
		if ((rc = emit_id(g, REC_ACK, ids[i])) != MQ_OK)
			goto fail;
	}
	if ((rc = flush_dead(g)) != MQ_OK)
		goto fail;
	if ((rc = commit(g)) == MQ_OK)
		*done = k;
	return rc;
fail:
	abandon(g);
	return rc;
}

/* ------------------------------------------------------------------
 * Claiming
 * ---------------------------------------------------------------- */

/* What one claim needs to know, shared by XCLAIM and XAUTOCLAIM. */
struct claim {
	const char	*consumer;
	struct consumer	*c;		/* NULL until something is claimed */
	int64_t		 now, time;	/* time: the new delivery time */
	int64_t		 retrycount;	/* -1: keep or add one */
	int		 flags;
	uint64_t	 limit;		/* the delivery limit, 0: none */
	int		 ctx;		/* the CTX record was emitted */
};

/*
 * Gives entry 'id' ('p' its pending entry, NULL for FORCE) whose message
 * is 'm' to the claiming consumer.  Returns 1 if claimed, 0 if it was
 * dead-lettered instead (its count reached the delivery limit), or an
 * error.
 */
static int
claim_one(mq_group *g, struct claim *cl, mq_id id, struct mq_pentry *p,
    const struct mq_msg *m)
{
	uint64_t count = p != NULL ? p->count : 1;
	int counts = cl->retrycount < 0 && !(cl->flags & MQ_CLAIM_JUSTID);
	int rc;

	if (counts && p != NULL && cl->limit > 0 && p->count >= cl->limit) {
		if ((rc = dead(g, m, "delivery-limit", p->count)) != MQ_OK ||
		    (rc = emit_id(g, REC_ACK, id)) != MQ_OK)
			return rc;
		return 0;
	}
	if (cl->retrycount >= 0)
		count = (uint64_t)cl->retrycount;
	else if (counts)
		count++;
	if (cl->c == NULL &&
	    (rc = consumer_get(g, cl->consumer, cl->now, 1, &cl->c)) != MQ_OK)
		return rc;
	if ((rc = context(g, cl->c, cl->time, cl->now, CTX_SEEN | CTX_ACTIVE,
	    &cl->ctx)) != MQ_OK ||
	    (rc = emit(g, REC_OWN, 0, id.ms, id.seq, count, NULL, 0)) != MQ_OK)
		return rc;
	return 1;
}

/* Starts a claim: the lock, the clock, the consumer if it exists. */
static int
claim_begin(mq_group *g, struct claim *cl, const char *consumer,
    int64_t time_ms, int64_t retrycount, int flags)
{
	int rc;

	memset(cl, 0, sizeof(*cl));
	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	cl->consumer = consumer;
	cl->now = mq_now_ms();
	cl->time = time_ms < 0 || time_ms > cl->now ? cl->now : time_ms;
	cl->retrycount = retrycount;
	cl->flags = flags;
	cl->limit = delivery_limit(g);
	cl->c = consumer_find(&g->st, consumer);
	return MQ_OK;
}

/* Ends a claim: an existing consumer was at least seen. */
static int
claim_end(mq_group *g, struct claim *cl)
{
	int rc;

	if (cl->c != NULL &&
	    (rc = context(g, cl->c, cl->time, cl->now, CTX_SEEN, &cl->ctx)) !=
	    MQ_OK) {
		abandon(g);
		return rc;
	}
	if ((rc = flush_dead(g)) != MQ_OK) {
		abandon(g);
		return rc;
	}
	return commit(g);
}

int
mq_group_claim(mq_group *g, const char *consumer, int64_t min_idle_ms,
    const mq_id *ids, size_t n, int64_t time_ms, int64_t retrycount,
    int flags, mq_id *out, size_t *claimed)
{
	struct claim cl;
	struct mq_pentry *p;
	struct mq_msg m;
	size_t i, k = 0;
	int got, rc;

	*claimed = 0;
	if ((rc = claim_begin(g, &cl, consumer, time_ms, retrycount,
	    flags)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++) {
		p = mq_plist_find(&g->st.pl, ids[i]);
		if (p == NULL && !(flags & MQ_CLAIM_FORCE))
			continue;
		if ((got = mq_reader_get(g->getter, ids[i], &m)) < 0) {
			rc = got;
			goto fail;
		}
		if (!got) {
			/* The message is gone: so is the pending entry. */
			if (p != NULL &&
			    (rc = emit_id(g, REC_ACK, ids[i])) != MQ_OK)
				goto fail;
			continue;
		}
		if (p != NULL && min_idle_ms > 0 &&
		    cl.now - p->time < min_idle_ms)
			continue;
		if ((rc = claim_one(g, &cl, ids[i], p, &m)) < 0)
			goto fail;
		if (rc == 1)
			out[k++] = ids[i];
	}
	if ((rc = claim_end(g, &cl)) == MQ_OK)
		*claimed = k;
	return rc;
fail:
	abandon(g);
	return rc;
}

int
mq_group_autoclaim(mq_group *g, const char *consumer, int64_t min_idle_ms,
    mq_id start, size_t count, int flags, mq_id *out, size_t *claimed,
    mq_id *next, mq_id *deleted, size_t *ndeleted)
{
	struct claim cl;
	struct mq_pentry *p;
	struct mq_msg m;
	uint64_t attempts;
	mq_id id, key;
	size_t i, k = 0, nd = 0;
	int got, rc, more = 1;

	*claimed = *ndeleted = 0;
	next->ms = next->seq = 0;
	if (count == 0)
		return MQ_EINVAL;
	if ((rc = claim_begin(g, &cl, consumer, -1, -1,
	    flags & MQ_CLAIM_JUSTID)) != MQ_OK)
		return rc;
	attempts = (uint64_t)count * AUTOCLAIM_SCAN;
	/*
	 * 'key' is where the scan goes on: each step looks up the first
	 * entry at or after it, since a step may remove the one it looked at.
	 */
	key = start;
	while (more && attempts > 0 && count > 0 &&
	    (i = mq_plist_seek(&g->st.pl, key, 0)) < g->st.pl.len) {
		p = &g->st.pl.e[i];	/* valid until the first change */
		attempts--;
		id = key = p->id;
		more = mq_id_incr(&key) == MQ_OK;
		if ((got = mq_reader_get(g->getter, id, &m)) < 0) {
			rc = got;
			goto fail;
		}
		if (!got) {
			if ((rc = emit_id(g, REC_ACK, id)) != MQ_OK)
				goto fail;
			deleted[nd++] = id;
			count--;
			continue;
		}
		if (min_idle_ms > 0 && cl.now - p->time < min_idle_ms)
			continue;
		if ((rc = claim_one(g, &cl, id, p, &m)) < 0)
			goto fail;
		if (rc == 1)
			out[k++] = id;
		count--;
	}
	/* The next call starts at the entry after the last one looked at. */
	if (more && (i = mq_plist_seek(&g->st.pl, key, 0)) < g->st.pl.len)
		*next = g->st.pl.e[i].id;
	if ((rc = claim_end(g, &cl)) != MQ_OK) {
		next->ms = next->seq = 0;
		return rc;
	}
	*claimed = k;
	*ndeleted = nd;
	return MQ_OK;
fail:
	abandon(g);
	return rc;
}

/* ------------------------------------------------------------------
 * Looking
 * ---------------------------------------------------------------- */

int
mq_group_pending(mq_group *g, mq_id start, mq_id end, size_t count,
    const char *consumer, int64_t min_idle_ms, struct mq_pending *out,
    size_t *n)
{
	const struct mq_plist *pl = &g->st.pl;
	struct consumer *c = NULL;
	struct mq_pentry *p;
	int64_t now;
	size_t i, k = 0;
	int rc;

	*n = 0;
	if ((rc = refresh(g)) != MQ_OK)
		return rc;
	now = mq_now_ms();
	if (consumer != NULL &&
	    ((c = consumer_find(&g->st, consumer)) == NULL || c->npending == 0))
		return MQ_OK;
	for (i = mq_plist_seek(&g->st.pl, start, 0); i < pl->len && k < count;
	    i++) {
		p = &pl->e[i];
		if (mq_id_lt(end, p->id))
			break;		/* dead slots are in order too */
		if (!p->live || (c != NULL && p->owner != c))
			continue;
		if (min_idle_ms > 0 && now - p->time < min_idle_ms)
			continue;
		out[k].id = p->id;
		out[k].consumer = p->owner != NULL ? p->owner->name : "";
		out[k].delivered_ms = p->time;
		out[k].count = p->count;
		k++;
	}
	*n = k;
	return MQ_OK;
}

/*
 * The logical read counter of 'id' where the stream tells it (Redis's
 * streamEstimateDistanceFromFirstEverEntry), or -1.
 */
static int64_t
estimate_read(const struct mq_stream_info *si, mq_id id)
{
	mq_id zero = { 0, 0 };
	int cmp;

	if (si->next_offset == 0)
		return 0;
	if (si->length == 0 && mq_id_cmp(id, si->last_id) <= 0)
		return (int64_t)si->next_offset;
	if ((cmp = mq_id_cmp(id, si->last_id)) == 0)
		return (int64_t)si->next_offset;
	if (cmp > 0)
		return -1;
	if (mq_id_cmp(si->max_deleted_id, zero) == 0 ||
	    mq_id_cmp(si->max_deleted_id, si->first_id) < 0) {
		if ((cmp = mq_id_cmp(id, si->first_id)) < 0)
			return (int64_t)(si->next_offset - si->length);
		if (cmp == 0)
			return (int64_t)(si->next_offset - si->length + 1);
	}
	return -1;
}

/* Whether an entry deleted after 'id' makes the read counter useless. */
static int
tombstones_after(const struct mq_stream_info *si, mq_id id)
{
	mq_id zero = { 0, 0 };

	if (si->length == 0 || mq_id_cmp(si->max_deleted_id, zero) == 0)
		return 0;
	if (mq_id_cmp(si->first_id, si->max_deleted_id) > 0)
		return 0;
	return mq_id_cmp(id, si->max_deleted_id) <= 0;
}

int
mq_group_info(mq_group *g, struct mq_group_info *info)
{
	struct mq_stream_info si;
	int64_t er;
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = refresh(g)) != MQ_OK ||
	    (rc = mq_stream_counts(g->stream, &si)) != MQ_OK)
		return rc;
	/* The first id (a read of the log) only where the lag needs it. */
	if ((g->st.entries_read < 0 || mq_id_cmp(si.max_deleted_id,
	    (mq_id){ 0, 0 }) != 0) &&
	    (rc = mq_stream_first_id(g->stream, &si)) != MQ_OK)
		return rc;
	info->name = g->name;
	info->last_delivered = g->st.cursor;
	info->entries_read = g->st.entries_read;
	info->pending = g->st.npending;
	info->consumers = g->st.nconsumers;
	if (g->st.npending > 0) {
		info->pending_min = g->st.pl.e[g->st.pl.head].id;
		info->pending_max = g->st.pl.e[g->st.pl.len - 1].id;
	}
	/* The lag as Redis 7 reports it: unknown when it cannot be told. */
	er = g->st.entries_read;
	if (si.next_offset == 0)
		info->lag = 0;
	else if (er >= 0 && !tombstones_after(&si, g->st.cursor))
		info->lag = (int64_t)si.next_offset - er;
	else if ((er = estimate_read(&si, g->st.cursor)) >= 0)
		info->lag = (int64_t)si.next_offset - er;
	else
		info->lag = -1;
	return MQ_OK;
}

int
mq_group_cursor(mq_group *g, mq_id *last_delivered)
{
	int rc;

	if ((rc = refresh(g)) != MQ_OK)
		return rc;
	*last_delivered = g->st.cursor;
	return MQ_OK;
}

int
mq_group_consumers(mq_group *g,
    int (*fn)(const struct mq_consumer_info *c, void *arg), void *arg)
{
	struct mq_consumer_info ci;
	struct consumer *c;
	int rc;

	if ((rc = refresh(g)) != MQ_OK)
		return rc;
	RB_FOREACH(c, ctree, &g->st.consumers) {
		ci.name = c->name;
		ci.pending = c->npending;
		ci.seen_ms = c->seen;
		ci.active_ms = c->active;
		ci.attached = c->attached;
		if (fn(&ci, arg) != 0)
			break;
	}
	return MQ_OK;
}

int
mq_group_consumer_create(mq_group *g, const char *consumer)
{
	struct consumer *c;
	int rc;

	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	if (consumer_find(&g->st, consumer) != NULL) {
		end_unchanged(g);
		return 0;
	}
	if ((rc = consumer_get(g, consumer, mq_now_ms(), 1, &c)) != MQ_OK) {
		abandon(g);
		return rc;
	}
	if ((rc = commit(g)) != MQ_OK)
		return rc;
	return 1;
}

int
mq_group_consumer_delete(mq_group *g, const char *consumer,
    uint64_t *pending)
{
	struct consumer *c;
	uint64_t np;
	int rc;

	*pending = 0;
	if ((rc = check_name(consumer)) != MQ_OK)
		return rc;
	if ((rc = begin(g)) != MQ_OK)
		return rc;
	if ((c = consumer_find(&g->st, consumer)) == NULL) {
		end_unchanged(g);
		return MQ_OK;
	}
	np = c->npending;
	if ((rc = emit(g, REC_DELCONS, 0, c->idx, 0, 0, NULL, 0)) != MQ_OK) {
		abandon(g);
		return rc;
	}
	if ((rc = commit(g)) == MQ_OK)
		*pending = np;
	return rc;
}
