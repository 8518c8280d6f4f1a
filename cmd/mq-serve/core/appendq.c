/*
 * appendq.c - group append: a run of appends that clients ask for, with
 * nothing else in between, goes to each stream as one mq_append (one
 * lock, one write, one index entry) instead of one call each.
 *
 * A door queues an append with appendq_add() when it can: the queue
 * copies the message and keeps a callback that gets the id, or the
 * error, at the flush.  The queue is flushed before anything else runs
 * that could see the stream or answer the same client (the door calls
 * appendq_flush() before any other command, server.c before it forgets a
 * stream and before the loop sleeps), so the appends happen in the order
 * they were asked, exactly as if each had run at once; only the replies
 * wait for the end of the run.  With fifty clients each pipelining
 * sixteen XADDs, one turn of the loop makes one write of 800 entries.
 *
 * An XADD to a stream that may be appended to through the spool's
 * write-ahead log (mq_wal_lookup) is queued by name, without opening
 * the stream, with its entry of the log's index: at the flush all of them go into one write of the log,
 * however many streams they name (appendq_add_logged; mq-spool(5),
 * "Write-ahead log").
 *
 * The copies live in one arena (mq_msg_copy), and become messages only
 * at the flush (mq_msg_at), because the arena moves as it grows.  From
 * then to the end of the flush nothing is queued, so it stands still:
 * the messages handed to the callbacks stay valid until the flush ends,
 * and the fan-out of what went to no log (core/fanout.c), last of all,
 * reads them where they are.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "fanout.h"

/* A run flushes early past these, to bound memory and batch size. */
#define APPENDQ_MAX_BYTES	(8u << 20)
#define APPENDQ_MAX_ENTRIES	4096

struct appendq_entry {
	mq_stream	*stream;
	appendq_done_fn	*done;		/* NULL: cancelled, nothing to tell */
	void		*arg;
	long long	 cookie;	/* given back to 'done' */
	size_t		 copy;		/* its message, in the arena */
	int		 logged;	/* by name, through the log */
	size_t		 name, namelen;	/* in the arena, when 'logged' */
	mq_wal_name	*walname;	/* its entry of the log's index */
	int		 flushed;
	int		 rc;		/* at the flush */
	mq_id		 id;
};

struct appendq {
	struct appendq_entry	*entries;
	size_t			 n, cap;
	unsigned char		*arena;
	size_t			 used, size;
	/* Scratch for the flush, kept between flushes. */
	struct mq_msg		*msgs;
	mq_id			*ids;
	size_t			*which;
	size_t			 capmsgs, capids, capwhich;
	int			 flushing;	/* in appendq_flush's callbacks */
	size_t			 nlogged;	/* entries queued by name */
	size_t			 nbare;		/* entries with no stream */
};

/* Copies 'len' bytes into the arena; returns their offset, or -1. */
static int
arena_put(struct appendq *q, const void *p, size_t len, size_t *off)
{
	/* Never NULL, even for an empty name: offsets are added to it. */
	if (array_grow(&q->arena, &q->size, q->used + len + 1, 1) == -1)
		return -1;
	if (len > 0)
		memcpy(q->arena + q->used, p, len);
	*off = q->used;
	q->used += len;
	return 0;
}

static int
queue(struct server *s, mq_stream *stream, const char *name, size_t namelen,
    mq_wal_name *walname, const struct mq_msg *m, appendq_done_fn *done,
    void *arg, long long cookie)
{
	struct appendq *q = s->appendq;
	struct appendq_entry *e;
	size_t used = 0;

	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MQ_ESYS;
		s->appendq = q;
	}
	/* Not while flushing: the arena stands still, and the run ends. */
	if (q->flushing)
		return MQ_ESYS;
	/*
	 * A direct append goes after the logged ones before it: those are
	 * written first, or a stream named both ways could get them out of
	 * order.
	 */
	if (q->n >= APPENDQ_MAX_ENTRIES || q->used >= APPENDQ_MAX_BYTES ||
	    (name == NULL && stream != NULL && q->nlogged > 0))
		appendq_flush(s);
	if (array_grow(&q->entries, &q->cap, q->n + 1,
	    sizeof(*q->entries)) == -1)
		return MQ_ESYS;
	e = &q->entries[q->n];
	memset(e, 0, sizeof(*e));
	e->stream = stream;
	e->done = done;
	e->arg = arg;
	e->cookie = cookie;
	used = q->used;
	if (name != NULL) {
		size_t nul;

		e->logged = 1;
		e->namelen = namelen;
		e->walname = walname;
		/* NUL-terminated: RESP's arguments are not. */
		if (arena_put(q, name, namelen, &e->name) == -1 ||
		    arena_put(q, "", 1, &nul) == -1)
			goto fail;
	}
	if (mq_msg_copy(m, &q->arena, &q->used, &q->size, &e->copy) != MQ_OK)
		goto fail;
	q->n++;
	q->nlogged += e->logged;
	q->nbare += name == NULL && stream == NULL;
	return MQ_OK;
fail:
	q->used = used;
	return MQ_ESYS;
}

int
appendq_add(struct server *s, mq_stream *stream, const struct mq_msg *m,
    appendq_done_fn *done, void *arg, long long cookie)
{
	return queue(s, stream, NULL, 0, NULL, m, done, arg, cookie);
}

int
appendq_add_logged(struct server *s, const char *name, size_t len,
    mq_wal_name *walname, const struct mq_msg *m, appendq_done_fn *done,
    void *arg, long long cookie)
{
	return queue(s, NULL, name, len, walname, m, done, arg, cookie);
}

int
appendq_holds_bare(const struct server *s)
{
	return s->appendq != NULL && s->appendq->nbare > 0;
}

int
appendq_flushing(const struct server *s)
{
	return s->appendq != NULL && s->appendq->flushing;
}

void
appendq_cancel(struct server *s, void *arg)
{
	struct appendq *q = s->appendq;
	size_t i;

	for (i = 0; q != NULL && i < q->n; i++)
		if (q->entries[i].arg == arg)
			q->entries[i].done = NULL;
}

/*
 * Entry 'e' through the log, in the turn mq_wal_begin opened; a stream
 * that is no longer loggable (its policy changed, say) is appended to
 * directly, opened for this once.
 */
static void
flush_logged(struct server *s, struct appendq *q, struct appendq_entry *e)
{
	const char *name = (const char *)q->arena + e->name;
	mq_stream *stream;

	mq_msg_at(q->arena, e->copy, &q->msgs[0]);
	e->flushed = 1;
	e->rc = mq_wal_append_key(s->spool, e->walname, &q->msgs[0], 1,
	    &e->id);
	if (e->rc != MQ_ENOSTREAM)
		return;
	if ((e->rc = mq_stream_open(s->spool, name, MQ_CREATE, &stream)) != MQ_OK)
		return;
	e->rc = mq_append(stream, &q->msgs[0], 1, NULL, &e->id);
	mq_stream_close(stream);
}

/* Appends every queued entry of the stream of entry 'first'. */
static void
flush_stream(struct appendq *q, size_t first)
{
	mq_stream *stream = q->entries[first].stream;
	size_t n = 0, i;
	int rc;

	for (i = first; i < q->n; i++) {
		struct appendq_entry *e = &q->entries[i];

		if (e->stream != stream || e->flushed)
			continue;
		mq_msg_at(q->arena, e->copy, &q->msgs[n]);
		q->which[n++] = i;
		e->flushed = 1;
	}
	rc = mq_append(stream, q->msgs, n, NULL, q->ids);
	for (i = 0; i < n; i++) {
		struct appendq_entry *e = &q->entries[q->which[i]];

		/*
		 * One too big, or a queue that refuses what is past its
		 * max-len, fails the batch: then each goes on its own, and
		 * those that fit are taken.
		 */
		if (rc == MQ_ETOOBIG || rc == MQ_EFULL)
			e->rc = mq_append(stream, &q->msgs[i], 1, NULL, &e->id);
		else {
			e->rc = rc;
			e->id = q->ids[i];
		}
	}
}

/*
 * Flushes the run; at the end of a turn ('turn_end'), writes the replies
 * before handing out what went to no log.
 */
static void
flush(struct server *s, int turn_end)
{
	struct appendq *q = s->appendq;
	struct appendq_entry *e;
	size_t i;
	int nomem, logging = 0, wal_rc = MQ_OK, full = 0, wrote = 0;

	if (q == NULL || q->n == 0 || q->flushing)
		return;
	s->flushes++;
	nomem = array_grow(&q->msgs, &q->capmsgs, q->n,
	    sizeof(*q->msgs)) == -1 ||
	    array_grow(&q->ids, &q->capids, q->n, sizeof(*q->ids)) == -1 ||
	    array_grow(&q->which, &q->capwhich, q->n,
	    sizeof(*q->which)) == -1;
	for (i = 0; i < q->n && !nomem && !logging; i++)
		if (q->entries[i].logged)
			logging = 1;
	if (logging && (wal_rc = mq_wal_begin(s->spool)) != MQ_OK)
		logging = 0;
	for (i = 0; i < q->n; i++) {
		e = &q->entries[i];
		if (nomem) {
			e->rc = MQ_ESYS;
			e->flushed = 1;
		} else if (e->logged && wal_rc != MQ_OK) {
			e->rc = wal_rc;
			e->flushed = 1;
		} else if (e->logged)
			flush_logged(s, q, e);
		else if (e->stream == NULL)
			e->flushed = 1;		/* nothing to append */
		else if (!e->flushed)
			flush_stream(q, i);
	}
	/* The turn's logged appends stand once they are written. */
	if (logging && (wal_rc = mq_wal_commit(s->spool)) != MQ_OK)
		for (i = 0; i < q->n; i++)
			if (q->entries[i].logged && q->entries[i].rc == MQ_OK)
				q->entries[i].rc = wal_rc;
	/* The replies, in the order asked: a client may have queued several. */
	q->flushing = 1;
	for (i = 0; i < q->n; i++) {
		struct mq_msg m;

		e = &q->entries[i];
		full |= e->rc == MQ_ENOSPC;
		wrote |= e->rc == MQ_OK && (e->logged || e->stream != NULL);
		if (e->done == NULL)
			continue;
		memset(&m, 0, sizeof(m));
		if (!nomem)
			mq_msg_at(q->arena, e->copy, &m);
		e->done(e->arg, e->stream, e->rc, e->id, e->cookie, &m);
	}
	/*
	 * What went to no log, handed out together (core/fanout.c).  As the
	 * turn ends, the replies go first: a publisher waits for its reply,
	 * and need not wait for the frames to be made and written too.
	 */
	if (turn_end && fanout_pending(s))
		conn_write_replies(s);
	fanout_deliver_here(s);
	q->flushing = 0;
	q->n = q->used = q->nlogged = q->nbare = 0;
	/* For the log: the disk is full, or takes appends (disk.c). */
	if (full || wrote)
		server_appended(s, full ? MQ_ENOSPC : MQ_OK);
}

void
appendq_flush(struct server *s)
{
	flush(s, 0);
}

void
appendq_flush_turn(struct server *s)
{
	flush(s, 1);
}

void
appendq_free(struct server *s)
{
	struct appendq *q = s->appendq;

	if (q == NULL)
		return;
	appendq_flush(s);
	free(q->entries);
	free(q->arena);
	free(q->msgs);
	free(q->ids);
	free(q->which);
	free(q);
	s->appendq = NULL;
}
