/*
 * zset.c - sorted sets: members ordered by score, then by their bytes,
 * kept in the spool and shared by every process, as Redis's are.
 *
 * Model: a sorted set is one file, SPOOL/zsets/<encoded name>, an
 * append-only log of records: a head (the format's version), then "set
 * member to score" and "remove member", each with a CRC-32C.  Every
 * process keeps a replica of the set in memory -- a red-black tree in
 * score order whose nodes count their subtree (for ranks), and a hash
 * table by member -- and replays the records others appended since it
 * last looked.  The file protocol is that of group journals
 * (journal.c): a change takes flock(LOCK_EX) on the file, replays the
 * tail, cuts off a torn one, and appends its records with one write;
 * reads take no lock and stop at the first record that is incomplete
 * or fails its check.  When the log grows past twice what a snapshot of
 * the set would take, it is replaced by one (written aside, fsynced,
 * renamed over it while the lock is held); others see another inode and
 * reload.
 *
 * A set exists only while it has members: a change that would leave it
 * empty removes the file instead, and the file of a new set appears
 * whole, with its first members (written aside, then linked into place).
 * Streams and sorted sets share one namespace (keylock.c): a set is
 * created under the key lock, after checking that the name is not a
 * stream's, and a rename moves it under its own lock, that of a sorted
 * set of the new name and the key lock, and removes a stream of the new
 * name first.  A renamed set's file moves whole (one renameat(2)); its
 * handles find it gone, and those of the set it replaced find another
 * inode.
 *
 * Versions (WATCH): every change appends to the log, so the file (its
 * inode, and the nonce its head carries, new with each file) and the
 * length of its log change with each change and with nothing else; a
 * rename appends a record that changes nothing for the same purpose.
 *
 * Views: the members a call returns point into the replica (removed
 * ones are kept until the next call), so they stay valid until the next
 * call on the same handle.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "wal.h"
#include "stream.h"

/* The score tree counts subtrees: tree.h calls this after each change. */
struct znode;
static void zfix(struct znode *n);
#define RB_AUGMENT(x) zfix(x)
#include <bsd/sys/tree.h>

#define ZVERSION	1
#define ZHDR		24		/* bytes of a record's header */
#define ZREC_HEAD	1
#define ZREC_SET	2
#define ZREC_DEL	3
#define ZNONCE		8		/* bytes of the head's member */
#define ZHEAD_SIZE	zrec_size(ZNONCE)
#define ZREAD		(64u << 10)	/* replay reads at least this much */
#define COMPACT_MIN	(64u << 10)	/* never compact a smaller log */
#define COMPACT_RATIO	2		/* compact past this times the live size */

/* Bytes of a record of a member of 'len' bytes: padded to 8. */
#define zrec_size(len)	(ZHDR + (((uint64_t)(len) + 7) & ~(uint64_t)7))

struct znode {
	RB_ENTRY(znode)	 link;		/* in score order */
	struct znode	*hnext;		/* next in its hash bucket, or dead list */
	uint64_t	 size;		/* nodes of the subtree it roots */
	double		 score;
	uint32_t	 hash;
	uint32_t	 len;
	unsigned char	 member[];
};

RB_HEAD(ztree, znode);

struct mq_zset {
	mq_spool	*spool;
	char		*name;
	char		 enc[MQ_ENCNAME_MAX];	/* the file's name */
	int		 dirfd;			/* SPOOL/zsets, -1 if missing */
	struct mq_journal j;			/* the file protocol */
	int		 stale;		/* the replica must be reloaded */
	uint64_t	 nonce;		/* the file's, from its head; 0: none */

	/* The replica. */
	struct ztree	 tree;
	struct znode	**buckets;	/* by member hash */
	size_t		 nbuckets;
	uint64_t	 n;		/* members */
	uint64_t	 live;		/* bytes a snapshot takes */
	struct znode	*dead;		/* removed, freed at the next call */

	/* Buffers, reused. */
	unsigned char	*wbuf;		/* records of a change */
	size_t		 wlen, wcap;
	unsigned char	*rbuf;		/* replay */
	size_t		 rcap;
	struct znode	**sel;		/* nodes of a range */
	size_t		 nsel, capsel;
	struct mq_zmember *out;		/* views handed out */
	size_t		 capout;
};

/* ------------------------------------------------------------------
 * Records
 *
 *	0	u32	CRC-32C of bytes 4 .. the end of the record
 *	4	u8	type: 1 head, 2 set, 3 remove
 *	5	u8	0
 *	6	u16	0
 *	8	u32	bytes of the member
 *	12	u32	0
 *	16	u64	set: the score (IEEE 754 binary64); head: the version
 *	24		the member, zero-padded to a multiple of 8 bytes
 *
 * The member of a head is the file's nonce, 8 random bytes chosen each
 * time a file is written whole (created or compacted), so that a file
 * never passes for another one that had the same inode number
 * (mq_zset_version).  Files made before it have a head without one.
 * ---------------------------------------------------------------- */

struct zrec {
	unsigned		 type;
	uint64_t		 value;
	const unsigned char	*member;
	size_t			 len;
};

static uint64_t
dbits(double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return v;
}

static double
bitsd(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

/* Encodes a record at 'p' (zrec_size(len) bytes); returns its size. */
static size_t
zrec_put(unsigned char *p, unsigned type, uint64_t value, const void *member,
    size_t len)
{
	size_t size = zrec_size(len);

	memset(p, 0, size);
	p[4] = type;
	mq_put32(p + 8, (uint32_t)len);
	mq_put64(p + 16, value);
	if (len > 0)
		memcpy(p + ZHDR, member, len);
	mq_put32(p, mq_crc32c(0, p + 4, size - 4));
	return size;
}

/*
 * Decodes the record at 'p', of which 'len' bytes are there.  Returns
 * its size, 0 if it is incomplete ('*need' is then its size, or ZHDR
 * if not even the header is there), or -1 if it is not a record.
 */
static ssize_t
zrec_get(const unsigned char *p, size_t len, struct zrec *r, uint64_t *need)
{
	uint64_t mlen, size;

	*need = ZHDR;
	if (len < ZHDR)
		return 0;
	mlen = mq_get32(p + 8);
	if (p[4] < ZREC_HEAD || p[4] > ZREC_DEL || mlen > MQ_ZMEMBER_MAX)
		return -1;
	*need = size = zrec_size(mlen);
	if (len < size)
		return 0;
	if (mq_get32(p) != mq_crc32c(0, p + 4, size - 4))
		return -1;
	r->type = p[4];
	r->value = mq_get64(p + 16);
	r->member = p + ZHDR;
	r->len = mlen;
	return (ssize_t)size;
}

/*
 * The validation of the format: the length of the longest prefix of
 * 'buf' made of whole, valid records that starts with a head.  Shared by
 * replay (which applies the same checks) and the unit tests.
 */
size_t
mq_zset_valid(const unsigned char *buf, size_t len)
{
	struct zrec r;
	uint64_t need;
	size_t pos = 0;
	ssize_t n;

	while ((n = zrec_get(buf + pos, len - pos, &r, &need)) > 0) {
		if ((r.type == ZREC_HEAD) != (pos == 0))
			break;
		pos += (size_t)n;
	}
	return pos;
}

/* ------------------------------------------------------------------
 * The replica: a tree in score order that counts subtrees, and a hash
 * table by member.
 * ---------------------------------------------------------------- */

static int
zcmp(const struct znode *a, const struct znode *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->score < b->score)
		return -1;
	if (a->score > b->score)
		return 1;
	if (n > 0 && (c = memcmp(a->member, b->member, n)) != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(ztree, znode, link, zcmp, RB_ATTR)

static uint64_t
zsize(const struct znode *n)
{
	return n != NULL ? n->size : 0;
}

static void
zfix(struct znode *n)
{
	if (n != NULL)
		n->size = 1 + zsize(RB_LEFT(n, link)) + zsize(RB_RIGHT(n, link));
}

/*
 * Inserts 'n' (not in the tree, its member not either).  The counts on
 * its way down are raised first, so that each rotation of tree.h
 * recomputes a node from children that are already right.
 */
static void
tree_insert(mq_zset *z, struct znode *n)
{
	struct znode *p = RB_ROOT(&z->tree);

	n->size = 1;
	while (p != NULL) {
		p->size++;
		p = zcmp(n, p) < 0 ? RB_LEFT(p, link) : RB_RIGHT(p, link);
	}
	RB_INSERT(ztree, &z->tree, n);
}

/* Removes 'n'; its ancestors lose it from their counts first. */
static void
tree_remove(mq_zset *z, struct znode *n)
{
	struct znode *p;

	for (p = RB_PARENT(n, link); p != NULL; p = RB_PARENT(p, link))
		p->size--;
	RB_REMOVE(ztree, &z->tree, n);
}

/* The 0-based rank of 'n' from the lowest. */
static uint64_t
node_rank(struct znode *n)
{
	uint64_t r = zsize(RB_LEFT(n, link));
	struct znode *p;

	for (; (p = RB_PARENT(n, link)) != NULL; n = p)
		if (RB_RIGHT(p, link) == n)
			r += zsize(RB_LEFT(p, link)) + 1;
	return r;
}

/* The node of rank 'r', or NULL. */
static struct znode *
node_at(mq_zset *z, uint64_t r)
{
	struct znode *n = RB_ROOT(&z->tree);
	uint64_t left;

	while (n != NULL) {
		left = zsize(RB_LEFT(n, link));
		if (r == left)
			return n;
		if (r < left)
			n = RB_LEFT(n, link);
		else {
			r -= left + 1;
			n = RB_RIGHT(n, link);
		}
	}
	return NULL;
}

static struct znode *
hash_find(mq_zset *z, const void *member, size_t len, uint32_t hash)
{
	struct znode *n;

	if (z->nbuckets == 0)
		return NULL;
	for (n = z->buckets[hash & (z->nbuckets - 1)]; n != NULL; n = n->hnext)
		if (n->hash == hash && n->len == len &&
		    (len == 0 || memcmp(n->member, member, len) == 0))
			return n;
	return NULL;
}

/* Doubles the hash table once it holds as many members as buckets. */
static int
hash_grow(mq_zset *z)
{
	struct znode **b, *n, *next;
	size_t nb = z->nbuckets ? 2 * z->nbuckets : 16, i;

	if (z->n < z->nbuckets)
		return MQ_OK;
	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return mq_sys();
	for (i = 0; i < z->nbuckets; i++)
		for (n = z->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
	return MQ_OK;
}

static void
hash_unlink(mq_zset *z, struct znode *n)
{
	struct znode **pp = &z->buckets[n->hash & (z->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
}

static struct znode *
zfind(mq_zset *z, const void *member, size_t len)
{
	return hash_find(z, member, len, mq_crc32c(0, member, len));
}

/* Adds a new member; NULL (errno set) if out of memory. */
static struct znode *
zinsert(mq_zset *z, const void *member, size_t len, double score)
{
	struct znode *n;
	size_t b;

	if (hash_grow(z) != MQ_OK ||
	    (n = malloc(sizeof(*n) + (len > 0 ? len : 1))) == NULL)
		return NULL;
	if (len > 0)
		memcpy(n->member, member, len);
	n->len = (uint32_t)len;
	n->score = score;
	n->hash = mq_crc32c(0, member, len);
	b = n->hash & (z->nbuckets - 1);
	n->hnext = z->buckets[b];
	z->buckets[b] = n;
	tree_insert(z, n);
	z->n++;
	z->live += zrec_size(len);
	return n;
}

static void
zrescore(mq_zset *z, struct znode *n, double score)
{
	tree_remove(z, n);
	n->score = score;
	tree_insert(z, n);
}

/* Removes 'n' from the replica; it is freed at the next call. */
static void
zdelete(mq_zset *z, struct znode *n)
{
	tree_remove(z, n);
	hash_unlink(z, n);
	z->n--;
	z->live -= zrec_size(n->len);
	n->hnext = z->dead;
	z->dead = n;
}

static void
free_dead(mq_zset *z)
{
	struct znode *n;

	while ((n = z->dead) != NULL) {
		z->dead = n->hnext;
		free(n);
	}
}

/* Empties the replica (the set is gone, or about to be reloaded). */
static void
zclear(mq_zset *z)
{
	struct znode *n;
	size_t i;

	for (i = 0; i < z->nbuckets; i++)
		while ((n = z->buckets[i]) != NULL) {
			z->buckets[i] = n->hnext;
			free(n);
		}
	RB_INIT(&z->tree);
	z->n = 0;
	z->live = ZHEAD_SIZE;
	z->nonce = 0;
}

/* ------------------------------------------------------------------
 * Bounds of ranges
 * ---------------------------------------------------------------- */

/* Compares 'n' with a lex bound: <0, 0, >0 ('inf' bounds are never equal). */
static int
lexcmp(const struct znode *n, const struct mq_zbound *b)
{
	size_t m;
	int c;

	if (b->inf != 0)
		return -b->inf;
	m = n->len < b->len ? n->len : b->len;
	if (m > 0 && (c = memcmp(n->member, b->member, m)) != 0)
		return c;
	return n->len < b->len ? -1 : n->len > b->len;
}

/* Whether 'n' is at or above the lower bound 'b' of a range 'by'. */
static int
above_min(const struct znode *n, enum mq_zby by, const struct mq_zbound *b)
{
	int c;

	if (by == MQ_ZBY_SCORE)
		return b->excl ? n->score > b->score : n->score >= b->score;
	c = lexcmp(n, b);
	return b->excl ? c > 0 : c >= 0;
}

/* Whether 'n' is at or below the upper bound 'b'. */
static int
below_max(const struct znode *n, enum mq_zby by, const struct mq_zbound *b)
{
	int c;

	if (by == MQ_ZBY_SCORE)
		return b->excl ? n->score < b->score : n->score <= b->score;
	c = lexcmp(n, b);
	return b->excl ? c < 0 : c <= 0;
}

/*
 * The first node of range 'r' from its low end (the first at or above
 * its min, if it is also below its max), or with 'high' from its high
 * end; NULL if the range is empty.
 */
static struct znode *
range_end(mq_zset *z, const struct mq_zrange *r, int high)
{
	struct znode *n = RB_ROOT(&z->tree), *best = NULL;

	while (n != NULL)
		if (high ? below_max(n, r->by, &r->max) :
		    above_min(n, r->by, &r->min)) {
			best = n;
			n = high ? RB_RIGHT(n, link) : RB_LEFT(n, link);
		} else
			n = high ? RB_LEFT(n, link) : RB_RIGHT(n, link);
	if (best == NULL || !(high ? above_min(best, r->by, &r->min) :
	    below_max(best, r->by, &r->max)))
		return NULL;
	return best;
}

/* The node after 'n' in score order, or with 'back' the one before. */
static struct znode *
step(mq_zset *z, struct znode *n, int back)
{
	return back ? RB_PREV(ztree, &z->tree, n) : RB_NEXT(ztree, &z->tree, n);
}

static int
sel_add(mq_zset *z, struct znode *n)
{
	if (z->nsel == z->capsel) {
		size_t cap = z->capsel ? 2 * z->capsel : 64;
		struct znode **s = reallocarray(z->sel, cap, sizeof(*s));

		if (s == NULL)
			return mq_sys();
		z->sel = s;
		z->capsel = cap;
	}
	z->sel[z->nsel++] = n;
	return MQ_OK;
}

/*
 * Selects the nodes of range 'r' in its order into z->sel, with its
 * offset and count when 'limit' is set, as Redis's ZRANGE does: the
 * offset is skipped without looking at the bounds, a negative offset
 * skips everything, and a negative count is no limit.
 */
static int
zselect(mq_zset *z, const struct mq_zrange *r, int limit)
{
	struct znode *n;
	int64_t start, end, len = (int64_t)z->n, off, cnt;
	int rc;

	z->nsel = 0;
	if (r->by == MQ_ZBY_RANK) {
		start = r->start < 0 ? len + r->start : r->start;
		end = r->stop < 0 ? len + r->stop : r->stop;
		if (start < 0)
			start = 0;
		if (start > end || start >= len)
			return MQ_OK;
		if (end >= len)
			end = len - 1;
		n = node_at(z, (uint64_t)(r->reverse ? len - 1 - start : start));
		for (; start <= end && n != NULL; start++) {
			if ((rc = sel_add(z, n)) != MQ_OK)
				return rc;
			n = step(z, n, r->reverse);
		}
		return MQ_OK;
	}
	off = limit ? r->offset : 0;
	cnt = limit ? r->count : -1;
	n = range_end(z, r, r->reverse);
	for (; n != NULL && off != 0; off--)
		n = step(z, n, r->reverse);
	for (; n != NULL && cnt != 0; cnt--) {
		if (r->reverse ? !above_min(n, r->by, &r->min) :
		    !below_max(n, r->by, &r->max))
			break;
		if ((rc = sel_add(z, n)) != MQ_OK)
			return rc;
		n = step(z, n, r->reverse);
	}
	return MQ_OK;
}

/* Hands out the nodes of z->sel as views. */
static int
zviews(mq_zset *z, const struct mq_zmember **out, size_t *n)
{
	size_t i;

	if (z->nsel > z->capout) {
		struct mq_zmember *o = reallocarray(z->out, z->nsel,
		    sizeof(*o));

		if (o == NULL)
			return mq_sys();
		z->out = o;
		z->capout = z->nsel;
	}
	for (i = 0; i < z->nsel; i++) {
		z->out[i].member = z->sel[i]->member;
		z->out[i].len = z->sel[i]->len;
		z->out[i].score = z->sel[i]->score;
	}
	*out = z->out;
	*n = z->nsel;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Replay
 * ---------------------------------------------------------------- */

static int
apply(mq_zset *z, const struct zrec *r, int first)
{
	struct znode *n;

	if ((r->type == ZREC_HEAD) != first)
		return MQ_ECORRUPT;
	switch (r->type) {
	case ZREC_HEAD:
		z->nonce = r->len == ZNONCE ? mq_get64(r->member) : 0;
		return r->value == ZVERSION ? MQ_OK : MQ_EVERSION;
	case ZREC_SET:
		if ((n = zfind(z, r->member, r->len)) == NULL)
			return zinsert(z, r->member, r->len, bitsd(r->value)) ?
			    MQ_OK : mq_sys();
		if (dbits(n->score) != r->value)
			zrescore(z, n, bitsd(r->value));
		return MQ_OK;
	case ZREC_DEL:
		if ((n = zfind(z, r->member, r->len)) != NULL)
			zdelete(z, n);
		return MQ_OK;
	}
	return MQ_ECORRUPT;
}

static int
rbuf_grow(mq_zset *z, size_t need)
{
	unsigned char *b;

	if (need <= z->rcap)
		return MQ_OK;
	if ((b = realloc(z->rbuf, need)) == NULL)
		return mq_sys();
	z->rbuf = b;
	z->rcap = need;
	return MQ_OK;
}

/*
 * Applies the records from z->j.off on, to the end of the file or the
 * first record that is incomplete or invalid; with 'repair' (under the
 * lock) the file is cut there.
 */
static int
replay(mq_zset *z, int repair)
{
	struct mq_journal *j = &z->j;
	struct zrec r;
	struct stat st;
	uint64_t need;
	ssize_t got, n;
	size_t pos;
	int rc;

	if (fstat(j->fd, &st) == -1)
		return mq_sys();
	if ((rc = rbuf_grow(z, ZREAD)) != MQ_OK)
		return rc;
	while (j->off < st.st_size) {
		if ((got = mq_pread_all(j->fd, z->rbuf, z->rcap, j->off)) == -1)
			return mq_sys();
		pos = 0;
		while ((n = zrec_get(z->rbuf + pos, (size_t)got - pos, &r,
		    &need)) > 0) {
			if ((rc = apply(z, &r, j->off + (off_t)pos == 0)) != MQ_OK)
				return rc;
			pos += (size_t)n;
		}
		j->off += (off_t)pos;
		/* Invalid, or the end: a torn tail or one being written. */
		if (n < 0 || (size_t)got < z->rcap ||
		    (uint64_t)j->off + need > (uint64_t)st.st_size)
			break;
		if (pos == 0 && (rc = rbuf_grow(z, need)) != MQ_OK)
			return rc;	/* a record larger than the buffer */
	}
	if (j->off == 0)
		return MQ_ECORRUPT;	/* no head: not a sorted set's file */
	if (repair && st.st_size > j->off && ftruncate(j->fd, j->off) == -1)
		return mq_sys();
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * The file: looking without the lock, and changes under it.
 * ---------------------------------------------------------------- */

/*
 * The set is not there: the replica is emptied; MQ_EWRONGTYPE if the
 * name is a stream's, else MQ_ENOSTREAM.
 */
static int
gone(mq_zset *z)
{
	zclear(z);
	z->stale = 0;
	return mq_stream_exists_enc(z->spool, z->enc) ? MQ_EWRONGTYPE :
	    MQ_ENOSTREAM;
}

/* Reloads the replica from the start if the file changed under it. */
static int
catch_up(mq_zset *z, int reset, int repair)
{
	int rc;

	if (reset || z->stale) {
		zclear(z);
		z->j.off = 0;
	}
	z->stale = 0;
	if ((rc = replay(z, repair)) != MQ_OK)
		z->stale = 1;
	return rc;
}

/*
 * Brings the replica up to date without the lock, for calls that look.
 * MQ_ENOSTREAM (the set is empty) or MQ_EWRONGTYPE if it is not there.
 */
static int
refresh(mq_zset *z)
{
	int reset, rc;

	free_dead(z);
	if (z->dirfd == -1 &&
	    (rc = mq_zsets_dir_open(z->spool, 0, &z->dirfd)) != MQ_OK)
		return rc;
	if (z->dirfd == -1)
		return gone(z);
	z->j.dirfd = z->dirfd;
	if ((rc = mq_journal_check(&z->j, &reset)) != MQ_OK)
		return rc == MQ_ENOGROUP ? gone(z) : rc;
	return catch_up(z, reset, 0);
}

/*
 * Starts a change: takes the lock and catches up, cutting a torn tail.
 * If the set is not there, returns MQ_ENOSTREAM without a lock (the
 * replica empty), or MQ_EWRONGTYPE.  z->wbuf is emptied.
 */
static int
begin(mq_zset *z)
{
	int reset, rc;

	free_dead(z);
	z->wlen = 0;
	if (z->dirfd == -1 &&
	    (rc = mq_zsets_dir_open(z->spool, 1, &z->dirfd)) != MQ_OK)
		return rc;
	z->j.dirfd = z->dirfd;
	if ((rc = mq_journal_lock(&z->j, &reset)) != MQ_OK)
		return rc == MQ_ENOGROUP ? gone(z) : rc;
	if ((rc = catch_up(z, reset, 1)) != MQ_OK)
		mq_journal_unlock(&z->j);
	return rc;
}

static int
emit(mq_zset *z, unsigned type, uint64_t value, const void *member,
    size_t len)
{
	size_t need = z->wlen + zrec_size(len);

	if (need > z->wcap) {
		size_t cap = z->wcap ? z->wcap : 4096;
		unsigned char *b;

		while (cap < need)
			cap *= 2;
		if ((b = realloc(z->wbuf, cap)) == NULL)
			return mq_sys();
		z->wbuf = b;
		z->wcap = cap;
	}
	z->wlen += zrec_put(z->wbuf + z->wlen, type, value, member, len);
	return MQ_OK;
}

/* A new file's nonce, never 0 (the nonce of files without one). */
static uint64_t
new_nonce(void)
{
	uint64_t v = 0;

	while (v == 0)
		arc4random_buf(&v, sizeof(v));
	return v;
}

/* Replaces the log by a snapshot of the replica (under the lock). */
static int
compact(mq_zset *z)
{
	unsigned char *buf, *p, b[ZNONCE];
	struct znode *n;
	uint64_t nonce = new_nonce();
	int rc;

	if ((buf = malloc(z->live)) == NULL)
		return mq_sys();
	mq_put64(b, nonce);
	p = buf + zrec_put(buf, ZREC_HEAD, ZVERSION, b, sizeof(b));
	RB_FOREACH(n, ztree, &z->tree)
		p += zrec_put(p, ZREC_SET, dbits(n->score), n->member, n->len);
	if ((rc = mq_journal_replace(&z->j, buf, (size_t)(p - buf))) == MQ_OK)
		z->nonce = nonce;
	free(buf);
	return rc;
}

/*
 * Creates the file of a set that was not there, with the records of
 * z->wbuf (a head first), under the key lock.  Returns MQ_EEXIST if
 * another process created it meanwhile: the change must start again.
 */
static int
create(mq_zset *z)
{
	int rc, keyfd;

	if ((rc = mq_check_space(z->dirfd, z->wlen, MQ_FREE_RESERVE)) != MQ_OK)
		return rc;
	if (mq_routes_map(z->spool) == NULL)	/* for mq_names_taken */
		return mq_sys();
	mq_journal_sweep(z->dirfd);
	/*
	 * Under the write-ahead log's lock, and noted in it: a writer that
	 * took the name for a stream not made yet finds out (wal.c).
	 */
	if ((rc = mq_wal_lock(z->spool)) != MQ_OK)
		return rc;
	if ((rc = mq_key_lock(z->spool, z->enc, MQ_KEY_ZSET, &keyfd)) != MQ_OK) {
		mq_wal_unlock(z->spool);
		return rc;
	}
	rc = mq_journal_create(z->spool, z->dirfd, z->enc, z->wbuf, z->wlen);
	if (rc == MQ_OK) {
		mq_wal_touch(z->spool, z->enc);
		mq_names_taken(z->spool, z->enc);
	}
	mq_key_unlock(keyfd);
	mq_wal_unlock(z->spool);
	return rc;
}

/*
 * Ends a change begun by begin(): writes the records of z->wbuf in one
 * write (creating the file if the set was not there, 'absent'), or
 * removes the file if the set is now empty, compacts the log if it
 * grew too large, and releases the lock.  'adds' asks for the check of
 * free space.  On failure the replica is reloaded at the next call.
 */
static int
commit(mq_zset *z, int absent, int adds)
{
	int rc = MQ_OK;

	if (absent) {
		rc = z->n == 0 ? MQ_OK : create(z);
		zclear(z);
		z->stale = rc != MQ_EEXIST;	/* reload what was written */
		return rc;
	}
	if (z->n == 0)
		rc = mq_journal_unlink(&z->j);
	else if (z->wlen > 0) {
		if (adds)
			rc = mq_check_space(z->j.fd, z->wlen, MQ_FREE_RESERVE);
		if (rc == MQ_OK)
			rc = mq_journal_append(&z->j, z->wbuf, z->wlen);
		if (rc == MQ_OK && z->j.off > COMPACT_MIN &&
		    (uint64_t)z->j.off > COMPACT_RATIO * z->live)
			(void)compact(z);	/* the log stays valid if it fails */
	}
	if (rc != MQ_OK)
		z->stale = 1;
	if (rc == MQ_ENOGROUP)
		rc = MQ_OK;	/* removed by another process meanwhile */
	mq_journal_unlock(&z->j);
	return rc;
}

/*
 * Starts a change for one that may add members: on MQ_ENOSTREAM (the
 * set is not there) '*absent' is set and the head is emitted, and the
 * change goes on without the lock.
 */
static int
begin_add(mq_zset *z, int *absent)
{
	unsigned char nonce[ZNONCE];
	int rc;

	*absent = 0;
	rc = begin(z);
	if (rc != MQ_ENOSTREAM)
		return rc;
	*absent = 1;
	mq_put64(nonce, new_nonce());
	return emit(z, ZREC_HEAD, ZVERSION, nonce, sizeof(nonce));
}

/* ------------------------------------------------------------------
 * The sets of a spool
 * ---------------------------------------------------------------- */

int
mq_spool_zsets(mq_spool *sp, int (*fn)(const char *, void *), void *arg)
{
	int fd, rc;

	if ((rc = mq_zsets_dir_open(sp, 0, &fd)) != MQ_OK || fd == -1)
		return rc;
	rc = mq_dir_names(fd, fn, arg);
	close(fd);
	return rc;
}

int
mq_zset_remove(mq_spool *sp, const char *name)
{
	char enc[MQ_ENCNAME_MAX];
	int dirfd, rc;

	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	if ((rc = mq_zsets_dir_open(sp, 0, &dirfd)) != MQ_OK)
		return rc;
	if (dirfd == -1)
		return MQ_ENOSTREAM;
	rc = mq_journal_remove(sp, dirfd, enc);
	close(dirfd);
	return rc == MQ_ENOGROUP ? MQ_ENOSTREAM : rc;
}

/* ------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------- */

int
mq_zset_open(mq_spool *sp, const char *name, int flags, mq_zset **out)
{
	mq_zset *z;
	int rc;

	*out = NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return mq_sys();
	z->spool = sp;
	z->dirfd = -1;
	z->j.fd = -1;
	RB_INIT(&z->tree);
	z->live = ZHEAD_SIZE;
	if ((rc = mq_name_encode(name, z->enc, sizeof(z->enc))) < 0)
		goto fail;
	if ((z->name = strdup(name)) == NULL) {
		rc = mq_sys();
		goto fail;
	}
	if ((rc = mq_zsets_dir_open(sp, 0, &z->dirfd)) != MQ_OK)
		goto fail;
	rc = mq_journal_open(&z->j, sp, z->dirfd, z->enc);
	if (rc == MQ_ENOGROUP || (rc == MQ_ESYS && z->dirfd == -1))
		rc = mq_stream_exists_enc(sp, z->enc) ? MQ_EWRONGTYPE :
		    (flags & MQ_CREATE) ? MQ_OK : MQ_ENOSTREAM;
	if (rc != MQ_OK)
		goto fail;
	z->stale = 1;
	*out = z;
	return MQ_OK;
fail:
	mq_zset_close(z);
	return rc;
}

void
mq_zset_close(mq_zset *z)
{
	if (z == NULL)
		return;
	mq_journal_close(&z->j);
	if (z->dirfd != -1)
		close(z->dirfd);
	zclear(z);
	free_dead(z);
	free(z->buckets);
	free(z->wbuf);
	free(z->rbuf);
	free(z->sel);
	free(z->out);
	free(z->name);
	free(z);
}

const char *
mq_zset_name(const mq_zset *z)
{
	return z->name;
}

/* ------------------------------------------------------------------
 * Changes
 * ---------------------------------------------------------------- */

/* ZADD's checks of its flags and scores. */
static int
add_check(const struct mq_zmember *m, size_t n, int flags)
{
	size_t i;

	if (((flags & MQ_ZADD_NX) &&
	    (flags & (MQ_ZADD_XX | MQ_ZADD_GT | MQ_ZADD_LT))) ||
	    ((flags & MQ_ZADD_GT) && (flags & MQ_ZADD_LT)) ||
	    ((flags & MQ_ZADD_INCR) && n != 1))
		return MQ_EINVAL;
	for (i = 0; i < n; i++) {
		if (isnan(m[i].score))
			return MQ_EINVAL;
		if (m[i].len > MQ_ZMEMBER_MAX)
			return MQ_ETOOBIG;
	}
	return MQ_OK;
}

/*
 * Applies one member of ZADD to the replica, emitting its record.  A
 * score of -0 is kept as 0, as Redis keeps it in a small set (the reply
 * of an increment still shows the -0 it computed).
 */
static int
add_one(mq_zset *z, const struct mq_zmember *m, int flags,
    struct mq_zadd *res)
{
	struct znode *n = zfind(z, m->member, m->len);
	double score = m->score, keep;

	if (n == NULL) {
		if (flags & MQ_ZADD_XX)
			return MQ_OK;
		if ((n = zinsert(z, m->member, m->len, score == 0 ? 0 : score)) ==
		    NULL)
			return mq_sys();
		res->added++;
	} else {
		if (flags & MQ_ZADD_NX)
			return MQ_OK;
		if (flags & MQ_ZADD_INCR) {
			score += n->score;
			if (isnan(score))
				return MQ_EINVAL;
		}
		if (((flags & MQ_ZADD_LT) && score >= n->score) ||
		    ((flags & MQ_ZADD_GT) && score <= n->score))
			return MQ_OK;
		res->done++;
		res->score = score;
		if (score == n->score)
			return MQ_OK;	/* nothing to write */
		keep = score == 0 ? 0 : score;
		zrescore(z, n, keep);
		res->updated++;
		return emit(z, ZREC_SET, dbits(keep), m->member, m->len);
	}
	res->done++;
	res->score = score;
	keep = n->score;
	return emit(z, ZREC_SET, dbits(keep), m->member, m->len);
}

/* Gives up a change begun by begin(): nothing is written. */
static void
abandon(mq_zset *z, int absent)
{
	if (!absent)
		mq_journal_unlock(&z->j);
	z->stale = 1;
}

int
mq_zset_add(mq_zset *z, const struct mq_zmember *m, size_t n, int flags,
    struct mq_zadd *res)
{
	size_t i;
	int rc, absent;

	memset(res, 0, sizeof(*res));
	if ((rc = add_check(m, n, flags)) != MQ_OK)
		return rc;
	do {
		memset(res, 0, sizeof(*res));
		if ((rc = begin_add(z, &absent)) != MQ_OK)
			return rc;
		for (i = 0; i < n && rc == MQ_OK; i++)
			rc = add_one(z, &m[i], flags, res);
		if (rc != MQ_OK) {
			abandon(z, absent);
			memset(res, 0, sizeof(*res));
			return rc;
		}
		rc = commit(z, absent, 1);
	} while (rc == MQ_EEXIST);
	if (rc != MQ_OK)
		memset(res, 0, sizeof(*res));
	return rc;
}

/*
 * Starts a change that only removes: MQ_ENOSTREAM (the set is not
 * there) becomes 1, "nothing to do".
 */
static int
begin_rem(mq_zset *z)
{
	int rc = begin(z);

	return rc == MQ_ENOSTREAM ? 1 : rc;
}

/* Removes node 'n' from the replica and emits its record. */
static int
rem_node(mq_zset *z, struct znode *n)
{
	zdelete(z, n);
	/* The last member: the file is removed instead (commit). */
	return z->n == 0 ? MQ_OK : emit(z, ZREC_DEL, 0, n->member, n->len);
}

int
mq_zset_rem(mq_zset *z, const struct mq_zmember *m, size_t n,
    uint64_t *removed)
{
	struct znode *node;
	size_t i;
	int rc;

	*removed = 0;
	if ((rc = begin_rem(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	for (i = 0; i < n && rc == MQ_OK && z->n > 0; i++)
		if ((node = zfind(z, m[i].member, m[i].len)) != NULL) {
			rc = rem_node(z, node);
			++*removed;
		}
	if (rc != MQ_OK) {
		abandon(z, 0);
		*removed = 0;
		return rc;
	}
	if ((rc = commit(z, 0, 0)) != MQ_OK)
		*removed = 0;
	return rc;
}

/* Removes the nodes of z->sel, for ZREMRANGEBY* and the pops. */
static int
rem_selected(mq_zset *z)
{
	size_t i;
	int rc;

	for (i = 0; i < z->nsel; i++)
		if ((rc = rem_node(z, z->sel[i])) != MQ_OK) {
			abandon(z, 0);
			return rc;
		}
	return commit(z, 0, 0);
}

int
mq_zset_remrange(mq_zset *z, const struct mq_zrange *r, uint64_t *removed)
{
	int rc;

	*removed = 0;
	if ((rc = begin_rem(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	if ((rc = zselect(z, r, 0)) != MQ_OK) {
		abandon(z, 0);
		return rc;
	}
	if ((rc = rem_selected(z)) == MQ_OK)
		*removed = z->nsel;
	return rc;
}

int
mq_zset_pop(mq_zset *z, size_t count, int max, const struct mq_zmember **out,
    size_t *n)
{
	struct znode *node;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = begin_rem(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	z->nsel = 0;
	node = max ? RB_MAX(ztree, &z->tree) : RB_MIN(ztree, &z->tree);
	for (; node != NULL && z->nsel < count; ) {
		if ((rc = sel_add(z, node)) != MQ_OK) {
			abandon(z, 0);
			return rc;
		}
		node = step(z, node, max);
	}
	if ((rc = rem_selected(z)) != MQ_OK)
		return rc;
	/* The removed nodes are kept until the next call: views into them. */
	return zviews(z, out, n);
}

/* ------------------------------------------------------------------
 * Renames
 * ---------------------------------------------------------------- */

/*
 * Appends a record that changes nothing, so that the log of a set about
 * to be renamed grows: a version taken before (mq_zset_version) differs
 * from one taken after, even if the set is renamed back.  The record is
 * the removal of the empty member, or if it is a member, its score set
 * again: 24 bytes whatever the members.
 */
static int
bump(mq_zset *z)
{
	struct znode *n = zfind(z, "", 0);
	int rc;

	z->wlen = 0;
	rc = n != NULL ? emit(z, ZREC_SET, dbits(n->score), "", 0) :
	    emit(z, ZREC_DEL, 0, "", 0);
	if (rc != MQ_OK)
		return rc;
	return mq_journal_append(&z->j, z->wbuf, z->wlen);
}

/*
 * One try of mq_zset_rename() of the set of handle 'z' to encoded name
 * 'tenc': locks the set and a sorted set 'tenc' (in the order of their
 * names, so that two renames never wait for each other), then the key
 * lock; a stream 'tenc' is renamed away to 'away' ('size' bytes) for
 * the caller to delete.  Returns 1 if a sorted set 'tenc' appeared
 * before the key lock was taken: everything is released, try again.
 */
static int
rename_locked(mq_zset *z, const char *tenc, int replace, char *away,
    size_t size)
{
	struct mq_key_target t;
	int first = strcmp(z->enc, tenc) < 0, rc;

	if (!first && (rc = mq_key_target_lock(z->spool, tenc, &t)) != MQ_OK)
		return rc;
	if ((rc = begin(z)) != MQ_OK) {
		if (!first)
			mq_key_target_release(&t);
		return rc;
	}
	if ((first && (rc = mq_key_target_lock(z->spool, tenc, &t)) !=
	    MQ_OK) || (rc = mq_key_target_check(z->spool, tenc, &t)) != MQ_OK) {
		mq_journal_unlock(&z->j);
		return rc;
	}
	if ((t.stream || t.zset) && !replace)
		rc = MQ_EEXIST;
	else if ((rc = bump(z)) == MQ_OK && t.stream &&
	    (rc = mq_stream_unlink(z->spool, tenc, away, size)) ==
	    MQ_ENOSTREAM)
		rc = MQ_OK;	/* removed meanwhile */
	/* A sorted set 'tenc' is replaced by the rename itself. */
	if (rc == MQ_OK && renameat(z->dirfd, z->enc, z->dirfd, tenc) == -1)
		rc = mq_sys();
	if (rc == MQ_OK)
		mq_names_taken(z->spool, tenc);
	if (rc == MQ_OK)
		rc = mq_spool_dirty(z->spool, z->dirfd);
	mq_key_target_release(&t);
	mq_journal_unlock(&z->j);
	z->stale = 1;
	return rc;
}

static int
rename_try(mq_zset *z, const char *to, const char *tenc, int replace,
    char *away, size_t size)
{
	int rc;

	/*
	 * Under the write-ahead log's lock, and noted in it, as a set made
	 * is (create()): a writer that took the name for a stream it logs
	 * to finds out, and appends directly, which the set then refuses.
	 * A stream it may replace gets its logged batches, which then end
	 * (as before a removal), before the set's locks are taken: the
	 * stream's lock comes before them.
	 */
	if ((rc = mq_wal_lock(z->spool)) != MQ_OK)
		return rc;
	if (!replace || (rc = mq_stream_wal_forget(z->spool, to, tenc)) ==
	    MQ_OK)
		rc = rename_locked(z, tenc, replace, away, size);
	if (rc == MQ_OK)
		mq_wal_touch(z->spool, tenc);
	mq_wal_unlock(z->spool);
	return rc;
}

/*
 * The file is the whole of a set, so a rename is one renameat(2) of it,
 * under its lock: other processes with the set open find the old path
 * gone (the set is empty to them) and a set that had the new name
 * replaced by another file, as after a removal or a compaction.
 */
int
mq_zset_rename(mq_spool *sp, const char *from, const char *to, int replace)
{
	char tenc[MQ_ENCNAME_MAX], away[MQ_ENCNAME_MAX + 64] = "";
	mq_zset *z;
	int rc, tries = 0;

	if (mq_name_encode(to, tenc, sizeof(tenc)) < 0)
		return MQ_EBADNAME;
	if (mq_routes_map(sp) == NULL)		/* for mq_names_taken */
		return mq_sys();
	if ((rc = mq_zset_open(sp, from, 0, &z)) != MQ_OK)
		return rc;
	if (strcmp(z->enc, tenc) == 0) {
		/* To its own name: nothing changes, if the set is there. */
		if ((rc = refresh(z)) == MQ_OK && !replace)
			rc = MQ_EEXIST;
	} else
		while ((rc = rename_try(z, to, tenc, replace, away,
		    sizeof(away))) == 1 && ++tries < 100)
			;
	mq_zset_close(z);
	/* A replaced stream is deleted once the locks are given back. */
	if (away[0] != '\0')
		(void)mq_rmtree_at(sp->streamsfd, away);
	if (rc == 1) {
		errno = EAGAIN;
		rc = mq_sys();
	}
	return rc;
}

/* ------------------------------------------------------------------
 * Looking
 * ---------------------------------------------------------------- */

/* refresh(), with "not there" as an empty set: 1. */
static int
look(mq_zset *z)
{
	int rc = refresh(z);

	return rc == MQ_ENOSTREAM ? 1 : rc;
}

int
mq_zset_card(mq_zset *z, uint64_t *n)
{
	int rc;

	*n = 0;
	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	*n = z->n;
	return MQ_OK;
}

int
mq_zset_score(mq_zset *z, const struct mq_zmember *m, size_t n,
    double *scores)
{
	struct znode *node;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		scores[i] = NAN;
	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	for (i = 0; i < n; i++)
		if ((node = zfind(z, m[i].member, m[i].len)) != NULL)
			scores[i] = node->score;
	return MQ_OK;
}

int
mq_zset_rank(mq_zset *z, const void *member, size_t len, int reverse,
    uint64_t *rank)
{
	struct znode *node;
	int rc;

	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_ENOMSG : rc;
	if ((node = zfind(z, member, len)) == NULL)
		return MQ_ENOMSG;
	*rank = node_rank(node);
	if (reverse)
		*rank = z->n - 1 - *rank;
	return MQ_OK;
}

int
mq_zset_range(mq_zset *z, const struct mq_zrange *r,
    const struct mq_zmember **out, size_t *n)
{
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	if ((rc = zselect(z, r, 1)) != MQ_OK)
		return rc;
	return zviews(z, out, n);
}

int
mq_zset_version(mq_zset *z, struct mq_zversion *v)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	v->file = z->nonce ^ (uint64_t)z->j.ino;
	v->length = (uint64_t)z->j.off;
	return MQ_OK;
}

int
mq_zset_count(mq_zset *z, const struct mq_zrange *r, uint64_t *n)
{
	struct znode *first, *last;
	uint64_t a, b;
	int rc;

	*n = 0;
	if ((rc = look(z)) != MQ_OK)
		return rc == 1 ? MQ_OK : rc;
	if (r->by == MQ_ZBY_RANK) {
		if ((rc = zselect(z, r, 0)) == MQ_OK)
			*n = z->nsel;
		return rc;
	}
	if ((first = range_end(z, r, 0)) == NULL ||
	    (last = range_end(z, r, 1)) == NULL)
		return MQ_OK;
	a = node_rank(first);
	b = node_rank(last);
	*n = b >= a ? b - a + 1 : 0;
	return MQ_OK;
}
