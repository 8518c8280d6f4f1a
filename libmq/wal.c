/*
 * wal.c - the spool's write-ahead log: appends to many streams in one
 * write.
 *
 * A process that appends to many streams at once (mq-serve, in one turn
 * of its loop) may write their batches to SPOOL/wal instead of to each
 * stream's segment: one write(2) for the turn, and under "always" one
 * fdatasync(2), however many streams it touched.  A logged batch is
 * applied to its stream's segment later: by whoever next reads or changes
 * the stream (mq_stream_refresh), by the writer while it is idle
 * (mq_wal_apply_some), and the log is emptied once all of it is applied
 * and durable in the segments (mq_wal_reset).
 *
 * What keeps this correct with any number of processes (mq-spool(5),
 * "Write-ahead log"):
 *
 *  - Every append holds the log's lock, flock(2) on SPOOL/wal, a direct
 *    one as well as a logged one; the order is the log's lock, then a
 *    stream's.
 *  - A logged batch is pending exactly when its last id is above its
 *    stream's top, so applying it is idempotent and needs only the
 *    stream's lock, and a crash in the middle of it loses nothing.  For
 *    that, a writer gives logged entries ids above the stream's top as
 *    it knows it: from the stream when it was noted (mq_wal_note, or
 *    none for a stream not made yet, mq_wal_note_new), from its own
 *    logged appends, from batches others logged, and from its own direct
 *    appends (mq_wal_touched).  Any other change of a top (a direct
 *    append or XSETID by another process, a sorted set taking the name)
 *    adds one to a counter in the header, one of MQ_WAL_SLOTS chosen by
 *    a hash of the name; a writer that finds its stream's counter moved
 *    appends directly instead, which tells it the top again.  A writer's
 *    own direct append moves the counter too, for the others: its other
 *    streams of that counter whose top it knew just before (the counter
 *    moved by this one step since) still know it, and keep logging;
 *    else two streams of one counter, each appended to directly in
 *    turn, would send each other direct for ever.
 *  - A stream may have batches before it has a directory: it is made
 *    when they are first given to it (mq_stream_open).
 *  - A tombstone record ends the batches of its name before it: a
 *    stream's batches are given to it and a tombstone written before it
 *    is removed, renamed, or renamed over.
 *  - The header says how far the log is written ('end', stored just
 *    before each write, so that the write's inotify event finds it) and
 *    its generation, which every record repeats.  A process reads the
 *    log without the lock; a record of another generation means the log
 *    was emptied under it, and it reads again; a record cut short ends
 *    the log for now, and a writer cuts it off (torn()).
 *
 * Each process keeps an index of the log (stream name to the offsets of
 * its batches not known to be applied), brought up to date from where it
 * left off whenever the header's 'end' moved.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "internal.h"
#include "stream.h"
#include "wal.h"

#define WAL_MAGIC	0x4c57514du	/* "MQWL": the header */
#define WAL_VERSION	1

/* Header fields (byte offsets into the mapped header). */
#define H_MAGIC		0
#define H_VERSION	4
#define H_GEN		8
#define H_END		16
#define H_SLOTS		4096	/* MQ_WAL_SLOTS counters, to the header's end */

struct mq_wal_name {
	uint32_t	 hash;
	int		 loggable;	/* a writer may log its appends */
	int		 direct;	/* or, by its policy, may not */
	uint32_t	 max_msg;	/* its policy's, when loggable */
	mq_id		 top;		/* its top id, as far as this process knows */
	uint64_t	 slot_seen;	/* its slot's count when 'top' was exact */
	struct mq_wal_name *sibling;	/* the next of its slot's names */
	uint64_t	 turn;		/* the last turn that found 'top' exact */
	uint64_t	 logged_turn;	/* the last turn that logged to it */
	int		 live;		/* batches logged since its last tombstone */
	int		 news;		/* in w->news: logged to, not reported yet */
	uint32_t	 cuts;		/* applied in part, in a row (WAL_APPLY_CUTS) */
	size_t		 enclen;
	uint64_t	*offs;		/* its batches not known to be applied */
	size_t		 n, cap;
	char		 enc[];
};

/*
 * A slot of the index's hash table: open addressing, probed linearly,
 * with the name's hash, so that a miss reads one cache line and a hit
 * one more, the entry's.  Names never leave the index.
 */
struct wal_slot {
	uint32_t	 hash;
	struct mq_wal_name *e;		/* NULL: empty */
};

struct turn_rec {
	struct mq_wal_name	*e;
	size_t		 at;
};

struct mq_wal {
	int		 fd;
	unsigned char	*hdr;		/* the header, mapped */
	int		 locks;		/* depth of mq_wal_lock() */
	uint64_t	 gen;		/* the generation the index is of */
	uint64_t	 scanned;	/* the index covers the log up to here */
	struct mq_wal_name **names;	/* every name of the index, as found */
	size_t		 nnames, capnames;
	size_t		 cursor;	/* mq_wal_apply_some's place in 'names' */
	struct wal_slot	*tab;		/* the hash table of 'names' */
	struct mq_wal_name **siblings;	/* by slot, its names: MQ_WAL_SLOTS */
	size_t		 ntab;		/* a power of two, over twice 'nnames' */
	uint64_t	 streams_seen;	/* MQ_ROUTES_STREAMS 'loggable' is of */
	unsigned char	*turn;		/* records logged, not yet written */
	size_t		 turnlen, turncap;
	struct turn_rec	*turnrecs;	/* where each starts in 'turn', and whose */
	size_t		 nturnrecs, capturnrecs;
	uint64_t	 turnno;	/* counts mq_wal_begin's turns */
	int		 turn_rc;	/* of a write before the commit */
	uint64_t	 mark;		/* for mq_spool_dirty_mark */
	/* Names with batches logged since mq_wal_news last reported them. */
	struct mq_wal_name **news;
	size_t		 nnews, capnews;
	int		 news_on;	/* someone asks (mq_wal_news) */
	uint64_t	 unchecked;	/* bytes since the last free-space check */
	/* mq_wal_apply_some's bound on one stream's bytes a call, 0: none. */
	size_t		 apply_max;
};

/* ------------------------------------------------------------------
 * The header, shared through mmap(2).
 * ---------------------------------------------------------------- */

static uint64_t
hdr_get(const struct mq_wal *w, int off)
{
	return __atomic_load_n((const uint64_t *)(w->hdr + off), __ATOMIC_ACQUIRE);
}

static void
hdr_set(struct mq_wal *w, int off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(w->hdr + off), v, __ATOMIC_RELEASE);
}

/* Writes a new header if the file has none yet (all zeros), under the lock. */
static int
hdr_init(struct mq_wal *w)
{
	int rc;

	while ((rc = flock(w->fd, LOCK_EX)) == -1 && errno == EINTR)
		;
	if (rc == -1)
		return mq_sys();
	if (mq_get32(w->hdr + H_MAGIC) == 0) {
		hdr_set(w, H_GEN, 1);
		hdr_set(w, H_END, MQ_WAL_HDR);
		mq_put32(w->hdr + H_VERSION, WAL_VERSION);
		__atomic_store_n((uint32_t *)(w->hdr + H_MAGIC), WAL_MAGIC,
		    __ATOMIC_RELEASE);
	}
	flock(w->fd, LOCK_UN);
	return MQ_OK;
}

static void
wal_free(struct mq_wal *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nnames; i++) {
		free(w->names[i]->offs);
		free(w->names[i]);
	}
	free(w->names);
	free(w->news);
	free(w->tab);
	free(w->siblings);
	free(w->turn);
	free(w->turnrecs);
	if (w->hdr != NULL)
		munmap(w->hdr, MQ_WAL_HDR);
	if (w->fd != -1)
		close(w->fd);
	free(w);
}

void
mq_wal_close(mq_spool *sp)
{
	wal_free(sp->wal);
	sp->wal = NULL;
}

/*
 * The spool's log, opened (and made, with its header) at first use; NULL
 * in a process that may not write the spool, which applies nothing and
 * logs nothing.  Errors are kept in sp->wal_rc.
 */
static struct mq_wal *
wal_get(mq_spool *sp)
{
	struct mq_wal *w;
	void *p;
	int rc;

	if (sp->wal != NULL || sp->wal_rc != MQ_OK)
		return sp->wal;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		sp->wal_rc = mq_sys();
		return NULL;
	}
	w->streams_seen = UINT64_MAX;
	if ((w->fd = openat(sp->dirfd, "wal", O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1) {
		sp->wal_refused = errno == EACCES || errno == EROFS;
		rc = mq_sys();
		goto fail;
	}
	/* Allocated, not a hole: see mq_routes_map. */
	if ((errno = posix_fallocate(w->fd, 0, MQ_WAL_HDR)) != 0) {
		rc = mq_sys();
		goto fail;
	}
	p = mmap(NULL, MQ_WAL_HDR, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	if (p == MAP_FAILED) {
		rc = mq_sys();
		goto fail;
	}
	w->hdr = p;
	if (mq_get32(w->hdr + H_MAGIC) == 0 && (rc = hdr_init(w)) != MQ_OK)
		goto fail;
	if (mq_get32(w->hdr + H_MAGIC) != WAL_MAGIC) {
		rc = MQ_ECORRUPT;
		goto fail;
	}
	if (mq_get32(w->hdr + H_VERSION) != WAL_VERSION) {
		rc = MQ_EVERSION;
		goto fail;
	}
	w->gen = hdr_get(w, H_GEN);
	w->scanned = MQ_WAL_HDR;
	w->news_on = sp->wal_news;
	sp->wal = w;
	return w;
fail:
	wal_free(w);
	sp->wal_rc = rc;
	return NULL;
}

/* ------------------------------------------------------------------
 * The index.
 * ---------------------------------------------------------------- */

static uint32_t
hash_enc(const char *enc)
{
	uint32_t h = 2166136261u;

	for (; *enc != '\0'; enc++)
		h = (h ^ (unsigned char)*enc) * 16777619u;
	return h;
}

static struct mq_wal_name *
find(struct mq_wal *w, const char *enc, uint32_t h)
{
	size_t i, mask = w->ntab - 1;

	if (w->ntab == 0)
		return NULL;
	for (i = h & mask; w->tab[i].e != NULL; i = (i + 1) & mask)
		if (w->tab[i].hash == h && strcmp(w->tab[i].e->enc, enc) == 0)
			return w->tab[i].e;
	return NULL;
}

/* Puts 'e' into the table 'tab' of 'ntab' slots. */
static void
slot_put(struct wal_slot *tab, size_t ntab, struct mq_wal_name *e)
{
	size_t i;

	for (i = e->hash & (ntab - 1); tab[i].e != NULL; i = (i + 1) & (ntab - 1))
		;
	tab[i].hash = e->hash;
	tab[i].e = e;
}

/* Makes room in the index for one more name. */
static int
grow(struct mq_wal *w)
{
	struct wal_slot *tab;
	size_t ntab = w->ntab ? w->ntab * 2 : 512, i;

	if (w->nnames == w->capnames) {
		size_t ncap = w->capnames ? w->capnames * 2 : 128;
		struct mq_wal_name **n = reallocarray(w->names, ncap,
		    sizeof(*n));

		if (n == NULL)
			return mq_sys();
		w->names = n;
		w->capnames = ncap;
	}
	if ((w->nnames + 1) * 2 <= w->ntab)
		return MQ_OK;
	if ((tab = calloc(ntab, sizeof(*tab))) == NULL)
		return mq_sys();
	for (i = 0; i < w->nnames; i++)
		slot_put(tab, ntab, w->names[i]);
	free(w->tab);
	w->tab = tab;
	w->ntab = ntab;
	return MQ_OK;
}

/* Adds 'enc' ('len' bytes, hashing to 'h'), known not to be in the index. */
static int
add(struct mq_wal *w, const char *enc, size_t len, uint32_t h,
    struct mq_wal_name **out)
{
	struct mq_wal_name *e;
	int rc;

	if ((rc = grow(w)) != MQ_OK)
		return rc;
	if (w->siblings == NULL && (w->siblings = calloc(MQ_WAL_SLOTS,
	    sizeof(*w->siblings))) == NULL)
		return mq_sys();
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return mq_sys();
	memcpy(e->enc, enc, len);
	e->enclen = len;
	e->hash = h;
	e->sibling = w->siblings[h & (MQ_WAL_SLOTS - 1)];
	w->siblings[h & (MQ_WAL_SLOTS - 1)] = e;
	slot_put(w->tab, w->ntab, e);
	w->names[w->nnames++] = e;
	*out = e;
	return MQ_OK;
}

static int
find_or_add(struct mq_wal *w, const char *enc, size_t len,
    struct mq_wal_name **out)
{
	uint32_t h = hash_enc(enc);

	if ((*out = find(w, enc, h)) != NULL)
		return MQ_OK;
	return add(w, enc, len, h, out);
}

static int
push_off(struct mq_wal_name *e, uint64_t off)
{
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 4;
		uint64_t *n = reallocarray(e->offs, ncap, sizeof(*n));

		if (n == NULL)
			return mq_sys();
		e->offs = n;
		e->cap = ncap;
	}
	e->offs[e->n++] = off;
	return MQ_OK;
}

/* Makes '*buf' ('*cap' bytes) hold at least 'need' bytes, its content kept. */
static int
room(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *n;
	size_t ncap = *cap ? *cap : 65536;

	if (need <= *cap)
		return MQ_OK;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(*buf, ncap)) == NULL)
		return mq_sys();
	*buf = n;
	*cap = ncap;
	return MQ_OK;
}

/* Notes that 'e' was logged to, for mq_wal_news, if anyone asks. */
static int
note_news(struct mq_wal *w, struct mq_wal_name *e)
{
	if (!w->news_on || e->news)
		return MQ_OK;
	if (w->nnews == w->capnews) {
		size_t ncap = w->capnews ? w->capnews * 2 : 64;
		struct mq_wal_name **n = reallocarray(w->news, ncap,
		    sizeof(*n));

		if (n == NULL)
			return mq_sys();
		w->news = n;
		w->capnews = ncap;
	}
	w->news[w->nnews++] = e;
	e->news = 1;
	return MQ_OK;
}

/* Forgets the batches of 'e' in the index (they ended, or are applied). */
static void
forget_batches(struct mq_wal_name *e)
{
	e->n = 0;
	e->cuts = 0;
}

/* Forgets every batch of the index (a new generation); names stay. */
static void
index_clear(struct mq_wal *w)
{
	size_t i;
	struct mq_wal_name *e;

	for (i = 0; i < w->nnames; i++) {
		e = w->names[i];
		forget_batches(e);
		e->live = 0;
	}
}

/*
 * Adds the record at offset 'off' to the index; 'batch' is its batch,
 * for the stream's top id.
 */
static int
index_record(struct mq_wal *w, uint64_t off, int kind, const char *enc,
    size_t len, const unsigned char *batch)
{
	struct mq_batch b;
	char name[MQ_ENCNAME_MAX];
	struct mq_wal_name *e;
	int rc;

	memcpy(name, enc, len);
	name[len] = '\0';
	if ((rc = find_or_add(w, name, len, &e)) != MQ_OK)
		return rc;
	if (kind == MQ_WAL_TOMBSTONE) {
		forget_batches(e);
		e->live = 0;
		return MQ_OK;
	}
	if (mq_batch_header(batch, &b) == MQ_OK && mq_id_cmp(b.last, e->top) > 0)
		e->top = b.last;
	e->live = 1;
	if ((rc = note_news(w, e)) != MQ_OK)
		return rc;
	return push_off(e, off);
}

/*
 * No whole record of this generation at 'pos', below the header's 'end':
 * a writer died in its write, or a crash kept 'end' and lost what it
 * covered (the kernel may write the mapped header back before the
 * records), or a reader looked while the writer was writing.  The log
 * ends with the last whole record.  A
 * process that holds the lock moves 'end' back there, so that what it
 * writes next follows that record, where everyone reads it; others
 * stop there until a writer does.
 */
static int
torn(struct mq_wal *w, uint64_t pos)
{
	if (w->locks == 0)
		return MQ_OK;
	hdr_set(w, H_END, pos);
	/* Nothing of the torn part may look like a record later. */
	return ftruncate(w->fd, (off_t)pos) == -1 ? mq_sys() : MQ_OK;
}

/*
 * Brings the index up to the header's 'end': reads what others wrote
 * since this process last looked.  Without the lock a record may be
 * caught being written over by a new generation; then it starts again.
 */
static int
catch_up(struct mq_wal *w)
{
	enum { CHUNK = 1 << 20 };
	unsigned char *buf = NULL;
	size_t cap = 0, have = 0, at = 0;
	uint64_t gen, end, pos;
	int tries = 0, rc = MQ_OK;

again:
	gen = hdr_get(w, H_GEN);
	end = hdr_get(w, H_END);
	if (gen != w->gen || end < w->scanned) {
		index_clear(w);
		w->gen = gen;
		w->scanned = MQ_WAL_HDR;
	}
	pos = w->scanned;
	have = at = 0;		/* buf[at .. have) is the log from 'pos' */
	while (pos < end) {
		const char *enc;
		size_t enclen, want;
		ssize_t got;
		long n;
		int kind;

		/* Nothing read yet ('buf' may be NULL): read first. */
		n = have == at ? 0 : mq_wal_record_check(buf + at, have - at,
		    gen, &kind, &enc, &enclen);
		if (n > 0) {
			if ((rc = index_record(w, pos, kind, enc, enclen,
			    (const unsigned char *)enc + enclen)) != MQ_OK)
				goto out;
			at += (size_t)n;
			pos += (uint64_t)n;
			w->scanned = pos;
			continue;
		}
		if (n < 0 || pos + (have - at) >= end) {
			/* Written over by a new generation: look again. */
			if (hdr_get(w, H_GEN) != gen)
				goto moved;
			rc = torn(w, pos);
			goto out;
		}
		/* Cut short in the buffer: read on. */
		if (at > 0) {
			memmove(buf, buf + at, have - at);
			have -= at;
			at = 0;
		}
		want = have + CHUNK;
		if (have >= MQ_WAL_REC && mq_get32(buf + 4) > want)
			want = mq_get32(buf + 4);
		if (want > end - pos)
			want = (size_t)(end - pos);
		if ((rc = room(&buf, &cap, want)) != MQ_OK)
			goto out;
		got = mq_pread_all(w->fd, buf + have, want - have,
		    (off_t)(pos + have));
		if (got < 0) {
			rc = mq_sys();
			goto out;
		}
		if (got == 0) {
			/* Emptied under it, or torn short of 'end'. */
			if (hdr_get(w, H_GEN) != gen)
				goto moved;
			rc = torn(w, pos);
			goto out;
		}
		have += (size_t)got;
	}
	goto out;
moved:
	if (++tries < 100)
		goto again;
	rc = MQ_ECORRUPT;
out:
	free(buf);
	return rc;
}

/*
 * Whether a process that has not opened the log yet must: not while the
 * file holds nothing past its header (or does not exist), which one
 * fstatat(2) tells without taking a descriptor.
 */
static int
wal_worth_opening(mq_spool *sp)
{
	struct stat st;

	return sp->wal != NULL || (fstatat(sp->dirfd, "wal", &st, 0) == 0 &&
	    st.st_size > MQ_WAL_HDR);
}

/* The log's index entry of stream 'enc' if it has batches to apply. */
static struct mq_wal_name *
pending(mq_spool *sp, const char *enc, int *rc)
{
	struct mq_wal *w;
	struct mq_wal_name *e;

	*rc = MQ_OK;
	if (!wal_worth_opening(sp))
		return NULL;
	w = wal_get(sp);
	if (w == NULL) {
		/* A process that may only read applies nothing. */
		if (!sp->wal_refused)
			*rc = sp->wal_rc;
		return NULL;
	}
	if (hdr_get(w, H_END) != w->scanned || hdr_get(w, H_GEN) != w->gen)
		if ((*rc = catch_up(w)) != MQ_OK)
			return NULL;
	e = find(w, enc, hash_enc(enc));
	return e != NULL && e->n > 0 ? e : NULL;
}

int
mq_wal_pending(mq_spool *sp, const char *enc, int *rc)
{
	return pending(sp, enc, rc) != NULL;
}

/* ------------------------------------------------------------------
 * The lock, the counters of direct changes.
 * ---------------------------------------------------------------- */

int
mq_wal_lock(mq_spool *sp)
{
	struct mq_wal *w = wal_get(sp);
	int rc;

	if (w == NULL)
		return sp->wal_rc;
	if (w->locks++ > 0)
		return MQ_OK;
	while ((rc = flock(w->fd, LOCK_EX)) == -1 && errno == EINTR)
		;
	if (rc == -1) {
		w->locks--;
		return mq_sys();
	}
	return MQ_OK;
}

void
mq_wal_unlock(mq_spool *sp)
{
	struct mq_wal *w = sp->wal;

	if (w != NULL && w->locks > 0 && --w->locks == 0)
		flock(w->fd, LOCK_UN);
}

/* The counter of direct changes of the streams whose names hash like 'h'. */
static uint64_t *
slot(struct mq_wal *w, uint32_t h)
{
	return (uint64_t *)(w->hdr + H_SLOTS) + (h & (MQ_WAL_SLOTS - 1));
}

/*
 * This process moved the counter of hash 'h' to 'n' for name 'enc': the
 * other names of that counter whose top was exact at n - 1 still have
 * it (the lock orders the moves, so none came between).
 */
static void
siblings_keep(struct mq_wal *w, uint32_t h, const char *enc, uint64_t n)
{
	struct mq_wal_name *e;

	if (w->siblings == NULL)
		return;
	for (e = w->siblings[h & (MQ_WAL_SLOTS - 1)]; e != NULL;
	    e = e->sibling)
		if (e->slot_seen == n - 1 && strcmp(e->enc, enc) != 0)
			e->slot_seen = n;
}

void
mq_wal_touch(mq_spool *sp, const char *enc)
{
	struct mq_wal *w = sp->wal;
	uint32_t h;

	if (w == NULL || w->locks == 0)
		return;
	h = hash_enc(enc);
	siblings_keep(w, h, enc,
	    __atomic_add_fetch(slot(w, h), 1, __ATOMIC_RELEASE));
}

void
mq_wal_touched(mq_stream *s, mq_id top)
{
	struct mq_wal *w = s->spool->wal;
	uint32_t h = hash_enc(s->enc);
	struct mq_wal_name *e;
	uint64_t n;

	if (w == NULL || w->locks == 0)
		return;
	n = __atomic_add_fetch(slot(w, h), 1, __ATOMIC_RELEASE);
	siblings_keep(w, h, s->enc, n);
	/* This process knows the stream's top exactly: no need to look. */
	if ((e = find(w, s->enc, h)) != NULL) {
		e->top = top;
		e->slot_seen = n;
	}
}

/* ------------------------------------------------------------------
 * Writing: a turn of logged appends, tombstones.
 * ---------------------------------------------------------------- */

static int
turn_room(struct mq_wal *w, size_t len)
{
	return room(&w->turn, &w->turncap, w->turnlen + len);
}

/* Every name must be noted again (mq_wal_note) before it is logged. */
static void
forget_loggable(struct mq_wal *w, uint64_t seen)
{
	size_t i;
	struct mq_wal_name *e;

	for (i = 0; i < w->nnames; i++) {
		e = w->names[i];
		e->loggable = e->direct = 0;
	}
	w->streams_seen = seen;
}

int
mq_wal_begin(mq_spool *sp)
{
	struct mq_wal *w;
	int rc;

	if ((rc = mq_wal_lock(sp)) != MQ_OK)
		return rc;
	w = sp->wal;
	w->turnno++;
	w->turn_rc = MQ_OK;
	if ((rc = catch_up(w)) != MQ_OK) {
		mq_wal_unlock(sp);
		return rc;
	}
	/* A meta file replaced, a stream removed or renamed: look again. */
	{
		uint64_t seen = w->streams_seen;

		if (mq_routes_moved(sp, MQ_ROUTES_STREAMS, &seen) ||
		    sp->routes_failed)
			forget_loggable(w, seen);
	}
	return MQ_OK;
}

int
mq_wal_note(mq_stream *s)
{
	mq_spool *sp = s->spool;
	struct mq_wal *w = wal_get(sp);
	struct mq_wal_name *e;
	uint64_t seen;
	int rc;

	if (w == NULL)
		return sp->wal_rc;
	/*
	 * The slot's count first, then the stream's top: a direct append
	 * in between moves the count, and the first logged append then
	 * finds it moved and goes direct instead (mq_wal_append).
	 */
	seen = __atomic_load_n(slot(w, hash_enc(s->enc)), __ATOMIC_ACQUIRE);
	if ((rc = mq_stream_policy_load(s, 0)) != MQ_OK)
		return rc;
	if (s->rdonly || sp->routes_failed)
		return MQ_OK;
	/* s->meta_seen is the count of changes its policy was read under. */
	if (s->meta_seen != w->streams_seen)
		forget_loggable(w, s->meta_seen);
	if ((rc = find_or_add(w, s->enc, strlen(s->enc), &e)) != MQ_OK)
		return rc;
	/* A max-len is kept by each append: it must append directly. */
	if ((e->direct = s->policy.max_len > 0 ||
	    s->policy.max_len_bytes > 0)) {
		e->loggable = 0;
		return MQ_OK;
	}
	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	e->loggable = 1;
	e->max_msg = s->policy.max_msg;
	e->top = mq_id_cmp(s->setid, s->last_id) > 0 ? s->setid : s->last_id;
	e->slot_seen = seen;
	return MQ_OK;
}

/*
 * Notes the stream of encoded name 'enc' ('len' bytes, hashing to 'h'),
 * which has no directory: its entry 'e' of the index, or NULL if it has
 * none yet, becomes '*out'.
 */
static int
note_new(mq_spool *sp, struct mq_wal *w, const char *enc, size_t len,
    uint32_t h, struct mq_wal_name *e, struct mq_wal_name **out)
{
	struct stat st;
	uint64_t seen, counted;
	int rc;

	if (sp->routes_failed)
		return MQ_EEXIST;
	/*
	 * The slot's count first, then the looks: a stream appended to, or
	 * a sorted set made, in between moves it (mq_wal_touched,
	 * mq_wal_touch); a stream only made has no top to pass.
	 */
	seen = __atomic_load_n(slot(w, h), __ATOMIC_ACQUIRE);
	counted = w->streams_seen;
	if (mq_routes_moved(sp, MQ_ROUTES_STREAMS, &counted))
		forget_loggable(w, counted);
	if (!mq_names_absent(sp, enc)) {
		if (fstatat(sp->streamsfd, enc, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return MQ_EEXIST;
		if (errno != ENOENT)
			return mq_sys();
		if (mq_zset_exists_enc(sp, enc))
			return MQ_EWRONGTYPE;
	}
	if (e == NULL && (rc = add(w, enc, len, h, &e)) != MQ_OK)
		return rc;
	e->loggable = 1;
	e->direct = 0;
	e->max_msg = MQ_MSG_DEFAULT;
	if (e->n == 0)
		e->top.ms = e->top.seq = 0;
	e->slot_seen = seen;
	*out = e;
	return MQ_OK;
}

int
mq_wal_note_new(mq_spool *sp, const char *name)
{
	char enc[MQ_ENCNAME_MAX];
	struct mq_wal *w = wal_get(sp);
	struct mq_wal_name *e;
	uint32_t h;
	int rc;

	if (w == NULL)
		return sp->wal_rc;
	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	h = hash_enc(enc);
	return note_new(sp, w, enc, (size_t)rc, h, find(w, enc, h), &e);
}

int
mq_wal_names(mq_spool *sp, int (*fn)(const char *, void *), void *arg)
{
	struct mq_wal *w;
	struct stat st;
	size_t i;
	int rc;

	if (!wal_worth_opening(sp))
		return MQ_OK;
	if ((w = wal_get(sp)) == NULL)
		return sp->wal_refused ? MQ_OK : sp->wal_rc;
	if (hdr_get(w, H_END) == MQ_WAL_HDR)
		return MQ_OK;
	if ((rc = catch_up(w)) != MQ_OK)
		return rc;
	for (i = 0; i < w->nnames; i++) {
		struct mq_wal_name *e = w->names[i];
		char name[MQ_NAME_MAX + 1];

		if (e->n == 0 || fstatat(sp->streamsfd, e->enc, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 ||
		    mq_name_decode(e->enc, name, sizeof(name)) < 0)
			continue;
		if (fn(name, arg) != 0)
			return MQ_OK;
	}
	return MQ_OK;
}

int
mq_wal_lookup(mq_spool *sp, const char *name, int new, mq_wal_name **key)
{
	char enc[MQ_ENCNAME_MAX];
	struct mq_wal *w = sp->wal;
	struct mq_wal_name *e;
	uint64_t seen;
	uint32_t h;
	int len;

	*key = NULL;
	if (w == NULL && (!new || (w = wal_get(sp)) == NULL))
		return 0;
	if (sp->routes_failed ||
	    (len = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return 0;
	seen = w->streams_seen;
	if (mq_routes_moved(sp, MQ_ROUTES_STREAMS, &seen))
		forget_loggable(w, seen);
	h = hash_enc(enc);
	if ((e = find(w, enc, h)) != NULL && (e->loggable || e->direct)) {
		if (!e->loggable)
			return -1;
		*key = e;
		return 1;
	}
	if (!new || note_new(sp, w, enc, (size_t)len, h, e, key) != MQ_OK)
		return 0;
	return 1;
}

int
mq_wal_waiting(const mq_wal_name *key)
{
	return key->n > 0;
}

int
mq_wal_loggable(mq_spool *sp, const char *name)
{
	mq_wal_name *key;

	return mq_wal_lookup(sp, name, 0, &key);
}

int
mq_wal_append(mq_spool *sp, const char *name, const struct mq_msg *msgs,
    size_t n, mq_id *ids)
{
	char enc[MQ_ENCNAME_MAX];
	struct mq_wal *w = sp->wal;
	struct mq_wal_name *e;
	int rc;

	if (w == NULL || w->locks == 0)
		return MQ_EINVAL;
	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	if ((e = find(w, enc, hash_enc(enc))) == NULL)
		return MQ_ENOSTREAM;	/* the caller appends directly */
	return mq_wal_append_key(sp, e, msgs, n, ids);
}

int
mq_wal_append_key(mq_spool *sp, mq_wal_name *e, const struct mq_msg *msgs,
    size_t n, mq_id *ids)
{
	struct mq_wal *w = sp->wal;
	size_t total, enclen = e->enclen, i, rs;
	unsigned char *p, *batch;
	mq_id top, id, first = { 0, 0 };
	int64_t now;
	int rc;

	if (w == NULL || w->locks == 0)
		return MQ_EINVAL;
	if (!e->loggable || n == 0)
		return MQ_ENOSTREAM;	/* the caller appends directly */
	/*
	 * Changed directly since, by any process, or a stream whose name
	 * hashes alike was: its top is not known, and the caller appends
	 * directly.  Once per turn: under the lock only this process
	 * changes it, and its own direct appends tell it their top
	 * (mq_wal_touched) -- nor may a stream with entries in the turn
	 * go direct before they are written.
	 */
	if (e->turn != w->turnno) {
		if (e->slot_seen !=
		    __atomic_load_n(slot(w, e->hash), __ATOMIC_ACQUIRE))
			return MQ_ENOSTREAM;
		e->turn = w->turnno;
	}
	total = MQ_WAL_REC + enclen + MQ_BATCH_HDR;
	for (i = 0; i < n; i++) {
		rs = mq_record_size(&msgs[i]);
		if (rs == 0 || mq_msg_payload(&msgs[i]) > e->max_msg)
			return MQ_ETOOBIG;
		total += rs;
		if (total > UINT32_MAX)
			return MQ_ETOOBIG;
	}
	if ((rc = turn_room(w, total)) != MQ_OK)
		return rc;
	if (w->nturnrecs == w->capturnrecs) {
		size_t ncap = w->capturnrecs ? w->capturnrecs * 2 : 256;
		struct turn_rec *nr = reallocarray(w->turnrecs, ncap,
		    sizeof(*nr));

		if (nr == NULL)
			return mq_sys();
		w->turnrecs = nr;
		w->capturnrecs = ncap;
	}
	now = mq_now_ms();
	p = w->turn + w->turnlen;
	batch = p + MQ_WAL_REC + enclen;
	top = e->top;
	{
		unsigned char *r = batch + MQ_BATCH_HDR;

		for (i = 0; i < n; i++) {
			if ((uint64_t)now > top.ms) {
				id.ms = (uint64_t)now;
				id.seq = 0;
			} else {
				id = top;
				/*
				 * Ids exhausted: a direct append says so in
				 * Redis's words, unless this turn holds some
				 * of its entries, which it would not see.
				 */
				if (mq_id_incr(&id) != MQ_OK)
					return e->logged_turn == w->turnno ?
					    MQ_EIDSMALL : MQ_ENOSTREAM;
			}
			mq_record_encode(r, &msgs[i], now);
			mq_record_set_id(r, id);
			r += mq_record_size(&msgs[i]);
			if (i == 0)
				first = id;
			if (ids != NULL)
				ids[i] = id;
			top = id;
		}
	}
	mq_batch_seal(batch, total - MQ_WAL_REC - enclen, (uint32_t)n, 0,
	    first, top, now);
	mq_wal_record_seal(p, total, MQ_WAL_BATCH, e->enc, enclen, w->gen);
	w->turnrecs[w->nturnrecs].e = e;
	w->turnrecs[w->nturnrecs++].at = w->turnlen;
	w->turnlen += total;
	e->top = top;
	e->logged_turn = w->turnno;
	return MQ_OK;
}

/* Adds the records of 'buf' ('len' bytes), written at 'at', to the index. */
static int
index_written(struct mq_wal *w, const unsigned char *buf, size_t len,
    uint64_t at)
{
	size_t pos = 0;
	int rc;

	while (pos < len) {
		size_t rlen = mq_get32(buf + pos + 4);
		size_t nlen = (size_t)buf[pos + 14] | (size_t)buf[pos + 15] << 8;
		int kind = buf[pos + 12] | buf[pos + 13] << 8;

		if ((rc = index_record(w, at + pos, kind,
		    (const char *)buf + pos + MQ_WAL_REC, nlen,
		    buf + pos + MQ_WAL_REC + nlen)) != MQ_OK)
			return rc;
		pos += rlen;
	}
	return MQ_OK;
}

/*
 * Under the lock: writes 'len' bytes of records at the end of the log;
 * 'turn': they are the turn's, whose entries of the index are known.
 */
static int
write_records(mq_spool *sp, const unsigned char *buf, size_t len, int turn)
{
	size_t i;
	struct mq_wal *w = sp->wal;
	uint64_t end = hdr_get(w, H_END);
	int rc;

	w->unchecked += len;
	if (w->unchecked >= (1u << 20)) {
		if ((rc = mq_check_space(w->fd, len, MQ_FREE_RESERVE)) != MQ_OK)
			return rc;
		w->unchecked = 0;
	}
	/*
	 * 'end' first: the write's inotify event wakes readers, who must
	 * find it covered then.  One who looks in between finds a record
	 * cut short and stops there until that event; a crash in between
	 * leaves a torn end, which the next writer cuts (torn()).
	 */
	hdr_set(w, H_END, end + len);
	if ((rc = mq_pwrite_all(w->fd, buf, len, (off_t)end)) != MQ_OK) {
		hdr_set(w, H_END, end);
		return rc;
	}
	if (turn) {
		/* As index_record() would find them: live until a tombstone. */
		for (i = 0; i < w->nturnrecs; i++) {
			w->turnrecs[i].e->live = 1;
			if ((rc = push_off(w->turnrecs[i].e,
			    end + w->turnrecs[i].at)) != MQ_OK ||
			    (rc = note_news(w, w->turnrecs[i].e)) != MQ_OK)
				return rc;
		}
	} else if ((rc = index_written(w, buf, len, end)) != MQ_OK)
		return rc;
	w->scanned = end + len;
	return mq_spool_dirty_mark(sp, w->fd, &w->mark);
}

int
mq_wal_commit(mq_spool *sp)
{
	struct mq_wal *w = sp->wal;
	int rc = MQ_OK;

	if (w == NULL || w->locks == 0)
		return MQ_EINVAL;
	rc = w->turn_rc;
	if (rc == MQ_OK && w->turnlen > 0)
		rc = write_records(sp, w->turn, w->turnlen, 1);
	w->turnlen = 0;
	w->nturnrecs = 0;
	w->turn_rc = MQ_OK;
	mq_wal_unlock(sp);
	return rc;
}

/*
 * A direct append (or XSETID) inside the turn, to a stream the turn
 * logged to: the turn so far is written first, so that the stream's
 * top covers those entries and the direct one goes after them.  Were
 * they written at the commit, below the stream's new top, applying them
 * would pass them over as applied already.
 */
int
mq_wal_flush(mq_spool *sp, const char *enc)
{
	struct mq_wal *w = sp->wal;
	struct mq_wal_name *e;
	int rc;

	if (w == NULL || w->turnlen == 0 ||
	    (e = find(w, enc, hash_enc(enc))) == NULL ||
	    e->logged_turn != w->turnno)
		return MQ_OK;
	rc = write_records(sp, w->turn, w->turnlen, 1);
	w->turnlen = 0;
	w->nturnrecs = 0;
	/* The commit reports it: its appends do not stand. */
	if (rc != MQ_OK)
		w->turn_rc = rc;
	return rc;
}

int
mq_wal_tombstone(mq_spool *sp, const char *enc)
{
	unsigned char rec[MQ_WAL_REC + MQ_ENCNAME_MAX];
	struct mq_wal *w = sp->wal;
	struct mq_wal_name *e;
	size_t len = strlen(enc);
	int rc;

	if (w == NULL || w->locks == 0)
		return MQ_EINVAL;
	if ((rc = catch_up(w)) != MQ_OK)
		return rc;
	/*
	 * Batches this process applied are in the log all the same: another
	 * process, or a stream made again under the name, would apply them.
	 */
	if ((e = find(w, enc, hash_enc(enc))) == NULL || !e->live)
		return MQ_OK;
	mq_wal_record_seal(rec, MQ_WAL_REC + len, MQ_WAL_TOMBSTONE, enc, len, w->gen);
	return write_records(sp, rec, MQ_WAL_REC + len, 0);
}

/* ------------------------------------------------------------------
 * Applying.
 * ---------------------------------------------------------------- */

/*
 * What mq_wal_apply_some gives one stream a call, at most (and up to a
 * merged batch more): a stream with 64 MiB in the log is given them over
 * sixteen calls, not in one pause of its server.  A stream that gets
 * more logged between two calls than a call gives it would never be
 * done: after WAL_APPLY_CUTS calls in a row that gave it a part, the
 * next gives it all.
 */
#define WAL_APPLY_CHUNK	(4u << 20)
#define WAL_APPLY_CUTS	16

/*
 * A window of the log read ahead, so that a stream's records, which lie
 * close together (a busy stream logs one a turn), cost one pread(2) per
 * WAL_WINDOW bytes instead of two each.  Reading ahead is safe: the
 * caller holds the stream's lock, so the log, which is emptied only
 * once every batch is applied, cannot be emptied under the window.
 * It reads only as far as the stream's own records go, and WAL_TAIL
 * past the last of them (most records are smaller): a stream among
 * thousands has its records far apart, and a whole window for each
 * copied 40 times the log for every stream's few bytes.
 */
#define WAL_WINDOW	(256u << 10)
#define WAL_TAIL	(4u << 10)

struct window {
	unsigned char	*p;
	size_t		 cap;
	uint64_t	 off;		/* of p[0] in the log */
	size_t		 len;		/* bytes of the log read into p */
};

/*
 * How far to read from record 'i' of 'e': to WAL_TAIL past the last of
 * its records that begins within WAL_WINDOW of it.
 */
static size_t
window_span(const struct mq_wal_name *e, size_t i)
{
	size_t k = i;

	while (k + 1 < e->n && e->offs[k + 1] - e->offs[i] < WAL_WINDOW - WAL_TAIL)
		k++;
	return (size_t)(e->offs[k] - e->offs[i]) + WAL_TAIL;
}

/*
 * The 'len' bytes of the log at record 'i' of 'e', from the window or
 * read into it, as far as window_span() says; NULL if the log has fewer
 * (*rc MQ_OK), or on error (*rc).
 */
static const unsigned char *
window_at(int fd, struct window *wn, const struct mq_wal_name *e, size_t i,
    size_t len, int *rc)
{
	uint64_t off = e->offs[i];
	size_t want;
	ssize_t got;

	*rc = MQ_OK;
	if (off >= wn->off && len <= wn->len && off - wn->off <= wn->len - len)
		return wn->p + (off - wn->off);
	/* Only on a miss: each record is looked past once, not per record. */
	if ((want = window_span(e, i)) < len)
		want = len;
	if ((*rc = room(&wn->p, &wn->cap, want)) != MQ_OK)
		return NULL;
	wn->len = 0;
	if ((got = mq_pread_all(fd, wn->p, want, (off_t)off)) < 0) {
		*rc = mq_sys();
		return NULL;
	}
	wn->off = off;
	wn->len = (size_t)got;
	return (size_t)got >= len ? wn->p : NULL;
}

/*
 * The batches of stream 's' above 'top', merged: a run goes to 'fn'
 * before the batch that would take it past MQ_WAL_MERGE, and always at
 * a logged batch's end, so that the stream's top is the last id of a
 * logged batch, and what is left is pending as a whole (a failure or
 * a crash in between loses nothing, and repeats nothing).
 */
int
mq_wal_collect(mq_stream *s, mq_id top, mq_wal_batch_fn *fn)
{
	struct mq_wal *w;
	struct mq_wal_name *e;
	struct window wn = { NULL, 0, 0, 0 };
	unsigned char *out = NULL;
	const unsigned char *rec;
	size_t cap = 0, used, gave = 0, i;
	uint32_t count;
	mq_id first = { 0, 0 }, last;
	int64_t time_ms = 0;
	int tries = 0, rc;

again:
	if ((e = pending(s->spool, s->enc, &rc)) == NULL)
		goto out;
	w = s->spool->wal;
	used = MQ_BATCH_HDR;
	count = 0;
	last = top;
	for (i = 0; i < e->n; i++) {
		struct mq_batch b;
		const char *enc;
		size_t rlen, enclen, blen;
		long ok;
		int kind;

		if ((rec = window_at(w->fd, &wn, e, i, MQ_WAL_REC, &rc)) ==
		    NULL)
			goto moved_or_out;
		rlen = mq_get32(rec + 4);
		if (rlen < MQ_WAL_REC || rlen > UINT32_MAX)
			goto moved;
		if ((rec = window_at(w->fd, &wn, e, i, rlen, &rc)) == NULL)
			goto moved_or_out;
		ok = mq_wal_record_check(rec, rlen, w->gen, &kind, &enc, &enclen);
		if (ok != (long)rlen || kind != MQ_WAL_BATCH ||
		    enclen != strlen(s->enc) || memcmp(enc, s->enc, enclen) != 0)
			goto moved;
		mq_batch_header(rec + MQ_WAL_REC + enclen, &b);
		if (mq_id_cmp(b.last, last) <= 0)
			continue;	/* applied already */
		if (mq_id_cmp(b.first, last) <= 0) {
			rc = MQ_ECORRUPT;
			goto out;
		}
		blen = rlen - MQ_WAL_REC - enclen - MQ_BATCH_HDR;
		if (count > 0 && used + blen > MQ_WAL_MERGE) {
			if ((rc = fn(s, out, used, count, first, last,
			    time_ms)) != MQ_OK)
				goto out;
			top = last;
			gave += used;
			used = MQ_BATCH_HDR;
			count = 0;
			if (w->apply_max > 0 && gave >= w->apply_max &&
			    e->cuts < WAL_APPLY_CUTS) {
				/* Enough for one call: the rest from here. */
				memmove(e->offs, e->offs + i,
				    (e->n - i) * sizeof(*e->offs));
				e->n -= i;
				e->cuts++;
				goto out;
			}
		}
		if ((rc = room(&out, &cap, used + blen)) != MQ_OK)
			goto out;
		memcpy(out + used, rec + MQ_WAL_REC + enclen + MQ_BATCH_HDR, blen);
		used += blen;
		if (count == 0) {
			first = b.first;
			time_ms = b.time_ms;
		}
		count += b.count;
		last = b.last;
	}
	rc = count > 0 ? fn(s, out, used, count, first, last, time_ms) : MQ_OK;
	if (rc == MQ_OK)
		forget_batches(e);	/* all in the stream's segment now */
	goto out;
moved_or_out:
	if (rc != MQ_OK)
		goto out;
moved:
	/*
	 * The log was emptied under the index: read it again, from the
	 * last batch 'fn' took, and the window with it.
	 */
	w->scanned = (uint64_t)-1;
	wn.len = 0;
	if (++tries < 100)
		goto again;
	rc = MQ_ECORRUPT;
out:
	free(out);
	free(wn.p);
	return rc;
}

/*
 * Gives stream 'e' what the log holds for it: opening it does, and
 * makes it if it has no directory yet.  A name that is no stream's (a
 * sorted set's, see mq_key_lock) has nothing to apply to.
 */
static int
apply_name(mq_spool *sp, struct mq_wal_name *e)
{
	char name[MQ_NAME_MAX + 1];
	mq_stream *s;
	int rc;

	if (mq_name_decode(e->enc, name, sizeof(name)) < 0) {
		forget_batches(e);
		return MQ_OK;
	}
	rc = mq_stream_open(sp, name, MQ_CREATE, &s);
	if (rc == MQ_EWRONGTYPE) {
		forget_batches(e);
		return MQ_OK;
	}
	if (rc == MQ_OK)
		mq_stream_close(s);
	return rc;
}

int
mq_wal_apply_some(mq_spool *sp, size_t max, int *more)
{
	struct mq_wal *w = wal_get(sp);
	size_t done = 0;
	uint32_t cuts;
	int rc;

	*more = 0;
	if (w == NULL)
		return sp->wal_rc;
	if (hdr_get(w, H_END) == MQ_WAL_HDR)
		return MQ_OK;
	if ((rc = catch_up(w)) != MQ_OK)
		return rc;
	for (; w->cursor < w->nnames; w->cursor++) {
		struct mq_wal_name *e = w->names[w->cursor];

		if (e->n == 0)
			continue;
		if (done++ == max) {
			*more = 1;
			return MQ_OK;
		}
		cuts = e->cuts;
		w->apply_max = WAL_APPLY_CHUNK;
		rc = apply_name(sp, e);
		w->apply_max = 0;
		if (rc != MQ_OK)
			return rc;
		/* Given a part: the count went up (a whole sets it to 0). */
		if (e->cuts > cuts) {
			*more = 1;	/* the rest of it at the next call */
			return MQ_OK;
		}
	}
	w->cursor = 0;
	return mq_wal_reset(sp);
}

int
mq_wal_reset(mq_spool *sp)
{
	struct mq_wal *w = wal_get(sp);
	size_t i;
	int rc;

	if (w == NULL)
		return sp->wal_rc;
	if (hdr_get(w, H_END) == MQ_WAL_HDR)
		return MQ_OK;
	if ((rc = mq_wal_lock(sp)) != MQ_OK)
		return rc;
	if ((rc = catch_up(w)) != MQ_OK)
		goto out;
	/* What was logged since the caller last looked is applied too. */
	for (i = 0; i < w->nnames; i++)
		if (w->names[i]->n > 0 &&
		    (rc = apply_name(sp, w->names[i])) != MQ_OK)
			goto out;
	/* Durable in the segments before it leaves the log. */
	if (mq_spool_fsync_policy(sp) != MQ_FSYNC_NEVER &&
	    ((rc = mq_spool_sync(sp)) != MQ_OK ||
	    (syncfs(w->fd) == -1 && (rc = mq_sys()) != MQ_OK)))
		goto out;
	hdr_set(w, H_GEN, w->gen + 1);
	hdr_set(w, H_END, MQ_WAL_HDR);
	if (ftruncate(w->fd, MQ_WAL_HDR) == -1) {
		rc = mq_sys();
		goto out;
	}
	index_clear(w);
	w->gen++;
	w->scanned = MQ_WAL_HDR;
	rc = mq_spool_dirty_mark(sp, w->fd, &w->mark);
out:
	mq_wal_unlock(sp);
	return rc;
}

int
mq_wal_news(mq_spool *sp, int (*fn)(const char *, void *), void *arg)
{
	struct mq_wal *w = sp->wal;
	size_t i;
	int rc = MQ_OK;

	sp->wal_news = 1;
	if (w == NULL) {
		/* Opened now: all it holds is news. */
		if (!wal_worth_opening(sp) || (w = wal_get(sp)) == NULL)
			return MQ_OK;
	}
	w->news_on = 1;
	if (hdr_get(w, H_END) != w->scanned && (rc = catch_up(w)) != MQ_OK)
		return rc;
	if (fn == NULL)
		return MQ_OK;
	for (i = 0; i < w->nnews; i++) {
		char name[MQ_NAME_MAX + 1];

		w->news[i]->news = 0;
		if (rc == MQ_OK &&
		    mq_name_decode(w->news[i]->enc, name, sizeof(name)) >= 0 &&
		    fn(name, arg) != 0)
			rc = 1;
	}
	w->nnews = 0;
	return rc == 1 ? MQ_OK : rc;
}

int
mq_wal_fd(mq_spool *sp)
{
	struct mq_wal *w = wal_get(sp);

	return w == NULL ? -1 : w->fd;
}

uint64_t
mq_wal_size(mq_spool *sp)
{
	struct mq_wal *w = wal_get(sp);

	return w == NULL ? 0 : hdr_get(w, H_END) - MQ_WAL_HDR;
}
