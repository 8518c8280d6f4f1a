/*
 * qdecl.c - queue declarations: what an AMQP queue.declare asked of a
 * stream (durable, exclusive, auto-delete, the arguments), kept for the
 * next declare to compare with, and the owners of transient queues.
 *
 * Model: the declaration of queue Q is the file "decl" in the directory
 * of stream Q, so it lives and dies with the stream (a removal or a
 * rename of the stream takes it along) and costs one small file per
 * queue: a declare reads and writes that file alone, and a lookup is
 * one openat(2) and read(2), however many queues the spool holds, or
 * none when it is the queue the handle read last and no declaration or
 * stream changed since (two counters of SPOOL/routes tell).  It is
 * text, version first:
 *
 *	version 1
 *	flags 6			MQ_QDURABLE | MQ_QEXCLUSIVE | MQ_QAUTODELETE
 *	made 1			the declare made the stream
 *	owner 1234-89abcdef01234567	"-" for a durable, shared queue
 *	holder 636f6e6e2d31	hex, "-" for none
 *	args 0000000d...	hex of the field table, "-" for none
 *
 * It is written under the stream's lock, aside, fsynced and renamed
 * into place (mq_put_file), the directory made durable by the spool's
 * fsync policy as the stream's creation is: a crash leaves no
 * declaration or a whole one.
 *
 * A queue that is not durable, or is exclusive, has the declaring
 * handle's owner (exchange.c: a file of SPOOL/owners held with flock,
 * which the kernel lets go when the process dies).  The handle keeps
 * the names of the queues it owns and removes them when it is closed;
 * a queue whose owner died is removed by whoever finds it so: a lookup
 * or a declare of it, or mq_queue_sweep(), which looks at every queue
 * of the index (below) and which a server runs when it starts.
 * Removing one removes its stream if its declare made the stream, and
 * only the declaration of a stream that was there before (a tool's
 * stream that a client declared is not the client's to take away).
 * Two processes may find the same orphan, and one may declare the name
 * anew before the other removes it: so a removal reads the declaration
 * again under the stream's lock and leaves what is not the orphan it
 * saw, and a declare that got the lock of a stream removed meanwhile
 * starts over.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "wal.h"
#include "xtable.h"

#define QFLAGS		(MQ_QDURABLE | MQ_QEXCLUSIVE | MQ_QAUTODELETE)
#define DECL_FILE	"decl"
#define DECL_TMP	"decl.tmp"
/* The file's largest size: the arguments twice (hex) and the rest. */
#define DECL_MAX	(2 * MQ_QARGS_MAX + 2 * MQ_QHOLDER_MAX + 256)

/* A parsed file: strings into the state's buffers. */
struct decl {
	int		 flags;
	int		 made;
	const char	*owner;		/* "" for none */
	const char	*holder;
	const unsigned char *args;
	size_t		 argslen;
};

/* What a spool handle keeps of queue declarations (sp->qstate). */
struct mq_qstate {
	char		*text;		/* the last file read, parsed in place */
	size_t		 cap;
	char		**owned;	/* the queues this handle owns */
	size_t		 nowned, capowned;
	int		 indexfd;	/* SPOOL/queues, open once used; -1 */
	/*
	 * The last declaration read, given again while no declaration was
	 * written or removed and no stream removed or renamed since
	 * (MQ_ROUTES_QUEUES, MQ_ROUTES_STREAMS): a consumer's basic.get
	 * looks its queue up twice a message.  Its strings are in 'text'.
	 */
	char		 last_enc[MQ_ENCNAME_MAX];	/* "": none */
	struct decl	 last;
	int		 last_rc;	/* MQ_OK or MQ_ENOMSG */
	uint64_t	 seen_queues, seen_streams;
};


static struct mq_qstate *
qstate(mq_spool *sp)
{
	if (sp->qstate == NULL &&
	    (sp->qstate = calloc(1, sizeof(*sp->qstate))) != NULL)
		sp->qstate->indexfd = -1;
	return sp->qstate;
}

/* ------------------------------------------------------------------
 * The index: SPOOL/queues holds an empty file, named as the stream's
 * directory, for each declaration, so that what looks at every queue
 * (the sweep when a server starts, mq_queues) reads the queues and not
 * every stream of the spool.  A marker is made before its declaration
 * and removed after it: one without a declaration (a crash in between,
 * or a stream another door deleted or renamed) is stale, and whoever
 * lists the index removes it.
 * ---------------------------------------------------------------- */

#define INDEX_DIR	"queues"

/* The index's directory, made with 'make'; -1 with errno if none. */
static int
index_fd(mq_spool *sp, int make)
{
	struct mq_qstate *qs;

	if ((qs = qstate(sp)) == NULL)
		return -1;
	if (qs->indexfd >= 0)
		return qs->indexfd;
	if (make && mkdirat(sp->dirfd, INDEX_DIR, 0777) == -1 &&
	    errno != EEXIST)
		return -1;
	qs->indexfd = openat(sp->dirfd, INDEX_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return qs->indexfd;
}

static int
index_add(mq_spool *sp, const char *enc)
{
	int dfd, fd;

	if ((dfd = index_fd(sp, 1)) == -1 ||
	    (fd = openat(dfd, enc, O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0666)) == -1)
		return mq_sys();
	close(fd);
	return mq_spool_dirty(sp, dfd);
}

static void
index_remove(mq_spool *sp, const char *enc)
{
	int dfd;

	if ((dfd = index_fd(sp, 0)) != -1)
		(void)unlinkat(dfd, enc, 0);
}

/*
 * Calls 'fn' for each queue of the index (a directory's name), stopping
 * on non-zero.
 */
static int
index_each(mq_spool *sp, int (*fn)(int dirfd, const char *entry, void *arg),
    void *arg)
{
	int dfd;

	if ((dfd = index_fd(sp, 0)) == -1)
		return errno == ENOENT ? MQ_OK : mq_sys();
	return mq_dir_each(dfd, fn, arg);
}

/* ------------------------------------------------------------------
 * The file.
 * ---------------------------------------------------------------- */

/* Decodes 'hex' in place ("-": empty); its length, or -1 if it is not hex. */
static ssize_t
unhex(char *hex)
{
	size_t i, n = strlen(hex);
	int hi, lo;

	if (strcmp(hex, "-") == 0)
		return 0;
	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if ((hi = mq_hexval(hex[2 * i])) < 0 ||
		    (lo = mq_hexval(hex[2 * i + 1])) < 0)
			return -1;
		hex[i] = (char)(hi << 4 | lo);
	}
	hex[n / 2] = '\0';
	return (ssize_t)(n / 2);
}

/* Appends "key HEX\n" (or "key -\n") of 'len' bytes at 'p' to 'out'. */
static char *
put_hex(char *out, const char *key, const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	out += sprintf(out, "%s ", key);
	if (len == 0)
		*out++ = '-';
	for (i = 0; i < len; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 15];
	}
	*out++ = '\n';
	return out;
}

/*
 * Parses the file's text 'text' in place into 'd': MQ_OK, MQ_ECORRUPT,
 * MQ_EVERSION.
 */
static int
decl_parse(char *text, struct decl *d)
{
	char *line, *val;
	const char *errstr = NULL;
	ssize_t n;
	int first = 1, rc;

	memset(d, 0, sizeof(*d));
	d->owner = d->holder = "";
	while ((rc = mq_kv_next(&text, &line, &val, &first)) == 1) {
		if (strcmp(line, "flags") == 0)
			d->flags = (int)strtonum(val, 0, QFLAGS, &errstr);
		else if (strcmp(line, "made") == 0)
			d->made = (int)strtonum(val, 0, 1, &errstr);
		else if (strcmp(line, "owner") == 0)
			d->owner = strcmp(val, "-") == 0 ? "" : val;
		else if (strcmp(line, "holder") == 0) {
			if (unhex(val) < 0)
				return MQ_ECORRUPT;
			d->holder = val;
		} else if (strcmp(line, "args") == 0) {
			if ((n = unhex(val)) < 0)
				return MQ_ECORRUPT;
			d->args = (const unsigned char *)val;
			d->argslen = (size_t)n;
		}
		/* Unknown keys are a newer version's: ignored. */
		if (errstr != NULL)
			return MQ_ECORRUPT;
	}
	return rc;
}

/* Keeps 'd' of 'enc' (its strings in qs->text) as what decl_read() found. */
static int
remember(struct mq_qstate *qs, const char *enc, const struct decl *d, int rc)
{
	qs->last = *d;
	qs->last_rc = rc;
	(void)strlcpy(qs->last_enc, enc, sizeof(qs->last_enc));
	return rc;
}

/*
 * Reads and parses the declaration of the stream directory 'enc' into
 * 'd' (strings in the handle's buffer), or gives the last one read again
 * while nothing changed: MQ_OK, MQ_ENOMSG if the stream has none,
 * MQ_ENOSTREAM if there is no stream, MQ_ECORRUPT, mq_sys().
 */
static int
decl_read(mq_spool *sp, const char *enc, struct decl *d)
{
	struct mq_qstate *qs;
	char path[MQ_ENCNAME_MAX + sizeof(DECL_FILE) + 1];
	ssize_t n;
	size_t got = 0;
	int fd, rc, moved;

	if ((qs = qstate(sp)) == NULL)
		return mq_sys();
	/* Both counters taken before the read: a change after it is seen. */
	moved = mq_routes_moved(sp, MQ_ROUTES_QUEUES, &qs->seen_queues);
	moved |= mq_routes_moved(sp, MQ_ROUTES_STREAMS, &qs->seen_streams);
	if (!moved && qs->last_enc[0] != '\0' && strcmp(enc, qs->last_enc) == 0) {
		*d = qs->last;
		return qs->last_rc;
	}
	qs->last_enc[0] = '\0';
	snprintf(path, sizeof(path), "%s/" DECL_FILE, enc);
	if ((fd = openat(sp->streamsfd, path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return mq_sys();
		if (!mq_stream_exists_enc(sp, enc))
			return MQ_ENOSTREAM;
		memset(d, 0, sizeof(*d));
		return remember(qs, enc, d, MQ_ENOMSG);
	}
	for (;;) {
		/* Room for a read and the NUL; so large, it is no declaration. */
		if (got >= DECL_MAX) {
			rc = MQ_ECORRUPT;
			goto out;
		}
		if ((rc = mq_grow(&qs->text, &qs->cap, got + 512, 1)) != MQ_OK)
			goto out;
		n = read(fd, qs->text + got, qs->cap - got - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = mq_sys();
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	qs->text[got] = '\0';
	if ((rc = decl_parse(qs->text, d)) == MQ_OK)
		rc = remember(qs, enc, d, MQ_OK);
out:
	close(fd);
	return rc;
}

/* decl_read() of the file itself, not of the handle's copy. */
static int
decl_read_fresh(mq_spool *sp, const char *enc, struct decl *d)
{
	if (qstate(sp) == NULL)
		return mq_sys();
	qstate(sp)->last_enc[0] = '\0';
	return decl_read(sp, enc, d);
}

/*
 * Writes the declaration 'd' into the stream directory 'dirfd', whole
 * or not at all, under the stream's lock.
 */
static int
decl_write(mq_spool *sp, int dirfd, const struct decl *d)
{
	char *buf, *p;
	int rc;

	if ((buf = malloc(DECL_MAX)) == NULL)
		return mq_sys();
	p = buf + sprintf(buf, "version 1\nflags %d\nmade %d\nowner %s\n",
	    d->flags, d->made, d->owner[0] != '\0' ? d->owner : "-");
	p = put_hex(p, "holder", d->holder, strlen(d->holder));
	p = put_hex(p, "args", d->args, d->argslen);
	rc = mq_put_file(dirfd, DECL_TMP, DECL_FILE, buf, (size_t)(p - buf),
	    0, NULL);
	free(buf);
	if (rc != MQ_OK)
		return rc;
	mq_routes_bump(sp, MQ_ROUTES_QUEUES);
	return mq_spool_dirty(sp, dirfd);
}

/*
 * Takes the marker of 'enc' out of the index, as one that is stale or
 * whose queue was removed.  A declare of the name by another process
 * may have just put it back (a new stream, with a lock of its own), so
 * the name is looked at again under its stream's lock, which a declare
 * holds from the marker to the declaration: a declaration found there
 * gets its marker again, and a declare still to come makes its own.
 */
static void
index_unmark(mq_spool *sp, const char *enc)
{
	struct decl d;
	int dirfd;

	index_remove(sp, enc);
	if (mq_stream_lock_name(sp, enc, &dirfd) != MQ_OK)
		return;
	if (decl_read_fresh(sp, enc, &d) == MQ_OK)
		(void)index_add(sp, enc);
	flock(dirfd, LOCK_UN);
	close(dirfd);
}

/* Fills the caller's 'q' from 'd' of queue 'name' (the handle's copy). */
static void
decl_out(const struct decl *d, const char *name, int declared, int mine,
    struct mq_queue *q)
{
	if (q == NULL)
		return;
	memset(q, 0, sizeof(*q));
	q->name = name;
	q->flags = declared ? d->flags : MQ_QDURABLE;
	q->holder = declared ? d->holder : "";
	q->args = d->argslen > 0 ? d->args : NULL;
	q->argslen = d->argslen;
	q->declared = declared;
	q->mine = mine;
}

/* ------------------------------------------------------------------
 * Owners.
 * ---------------------------------------------------------------- */

/* Notes 'name' among the queues the handle owns. */
static int
owned_add(struct mq_qstate *qs, const char *name)
{
	char *copy;
	int rc;

	if ((rc = mq_grow(&qs->owned, &qs->capowned, qs->nowned + 1,
	    sizeof(*qs->owned))) != MQ_OK)
		return rc;
	if ((copy = strdup(name)) == NULL)
		return mq_sys();
	qs->owned[qs->nowned++] = copy;
	return MQ_OK;
}

/*
 * Forgets 'name' among the queues the handle owns (it was deleted), so
 * that a server making and deleting transient queues for ever does not
 * keep their names for ever.
 */
static void
owned_remove(struct mq_qstate *qs, const char *name)
{
	size_t i;

	for (i = qs->nowned; i-- > 0; )
		if (strcmp(qs->owned[i], name) == 0) {
			free(qs->owned[i]);
			qs->owned[i] = qs->owned[--qs->nowned];
			return;
		}
}

/* remove_orphan()'s answer when the queue is not the orphan it saw. */
#define CHANGED	1

/*
 * Under the stream's lock (and the log's, 'logged', if the declare made
 * the stream): removes the queue of stream directory 'enc' if its
 * declaration is still the one of 'owner', who is gone or is this
 * handle.  A stream is renamed away to 'away' ('size' bytes), for the
 * caller to delete once it has let go of the locks.
 */
static int
remove_locked(mq_spool *sp, const char *enc, const char *owner, int logged,
    char *away, size_t size)
{
	char path[MQ_ENCNAME_MAX + sizeof(DECL_FILE) + 1];
	struct decl d;
	int rc, mine;

	if ((rc = decl_read_fresh(sp, enc, &d)) == MQ_ENOMSG ||
	    rc == MQ_ENOSTREAM)
		return CHANGED;
	if (rc != MQ_OK)
		return rc;
	/* The handle's own queues go when it closes. */
	if (strcmp(d.owner, owner) != 0 ||
	    (mq_owner_alive(sp, owner, &mine) && !mine) ||
	    (d.made && !logged))
		return CHANGED;
	if (d.made) {
		if ((rc = mq_stream_unlink(sp, enc, away, size)) ==
		    MQ_ENOSTREAM)
			rc = MQ_OK;
		return rc;
	}
	snprintf(path, sizeof(path), "%s/" DECL_FILE, enc);
	if (unlinkat(sp->streamsfd, path, 0) == -1 && errno != ENOENT)
		return mq_sys();
	mq_routes_bump(sp, MQ_ROUTES_QUEUES);
	return mq_spool_dirty(sp, sp->streamsfd);
}

/*
 * Removes the queue of stream directory 'enc' whose declaration 'seen'
 * is an owner's that is gone (or going: this handle's, being closed):
 * the stream if the declare made it, else the declaration alone.  What
 * was seen is looked at again under the stream's lock, which a declare
 * holds: another process may have removed the orphan and declared the
 * name anew since, and that queue is not an orphan.  MQ_OK once
 * removed, CHANGED if the queue is not what was seen (read it again),
 * or an error.
 *
 * A stream goes as mq_stream_remove() takes it: under the log's lock,
 * given its logged batches and a tombstone first (which opening it
 * does, taking its lock: so before this takes it), renamed away, and
 * deleted once the locks are let go.  Giving them to a queue that turns
 * out to live is harmless.
 */
static int
remove_orphan(mq_spool *sp, const char *enc, const struct decl *seen)
{
	char owner[64], name[MQ_NAME_MAX + 1];
	char away[MQ_ENCNAME_MAX + 64] = "";
	int dirfd, made = seen->made, rc;

	if (strlcpy(owner, seen->owner, sizeof(owner)) >= sizeof(owner))
		return MQ_ECORRUPT;	/* no owner's name is that long */
	if (made) {
		if ((rc = mq_name_decode(enc, name, sizeof(name))) < 0)
			return rc;
		if ((rc = mq_wal_lock(sp)) != MQ_OK)
			return rc;
		if ((rc = mq_stream_wal_forget(sp, name, enc)) != MQ_OK) {
			mq_wal_unlock(sp);
			return rc;
		}
	}
	if ((rc = mq_stream_lock_name(sp, enc, &dirfd)) == MQ_OK) {
		rc = remove_locked(sp, enc, owner, made, away, sizeof(away));
		flock(dirfd, LOCK_UN);
		close(dirfd);
	} else if (rc == MQ_ENOSTREAM)
		rc = CHANGED;
	if (made)
		mq_wal_unlock(sp);
	if (away[0] != '\0') {
		if (rc == MQ_OK)
			rc = mq_spool_dirty(sp, sp->streamsfd);
		(void)mq_rmtree_at(sp->streamsfd, away);
	}
	if (rc == MQ_OK)
		index_unmark(sp, enc);
	return rc;
}

/*
 * Reads the declaration of 'enc' and removes the queue if its owner is
 * gone: MQ_OK with '*mine' set, MQ_ENOMSG for a stream without one,
 * MQ_ENOSTREAM if there is no stream (or there was an orphan).
 */
static int
decl_live(mq_spool *sp, const char *enc, struct decl *d, int *mine)
{
	int tries, rc;

	for (tries = 0; tries < 100; tries++) {
		*mine = 0;
		if ((rc = decl_read(sp, enc, d)) != MQ_OK)
			return rc;
		if (d->owner[0] == '\0' || mq_owner_alive(sp, d->owner, mine))
			return MQ_OK;
		if ((rc = remove_orphan(sp, enc, d)) != CHANGED) {
			if (rc != MQ_OK)
				return rc;
			return d->made ? MQ_ENOSTREAM : MQ_ENOMSG;
		}
	}
	errno = EAGAIN;
	return mq_sys();
}

/* ------------------------------------------------------------------
 * The interface.
 * ---------------------------------------------------------------- */

/* Whether 'holder' may have queue 'd' (mine: this handle owns it). */
static int
access_ok(const struct decl *d, int mine, const char *holder)
{
	return !(d->flags & MQ_QEXCLUSIVE) ||
	    (mine && strcmp(d->holder, holder) == 0);
}

static int
check(const struct mq_queue *q, int flags, char *enc)
{
	int rc;

	if ((rc = mq_name_encode(q->name, enc, MQ_ENCNAME_MAX)) < 0)
		return rc;
	if ((q->flags & ~QFLAGS) || (flags & ~MQ_QPASSIVE) ||
	    q->argslen > MQ_QARGS_MAX || (q->args == NULL && q->argslen > 0) ||
	    (q->holder != NULL && strlen(q->holder) >= MQ_QHOLDER_MAX))
		return MQ_EINVAL;
	return MQ_OK;
}

int
mq_queue_lookup(mq_spool *sp, const char *name, struct mq_queue *cur)
{
	char enc[MQ_ENCNAME_MAX];
	struct decl d;
	int rc, mine;

	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	rc = decl_live(sp, enc, &d, &mine);
	if (rc == MQ_ENOMSG) {
		memset(&d, 0, sizeof(d));
		decl_out(&d, name, 0, 0, cur);
		return MQ_OK;
	}
	if (rc == MQ_OK)
		decl_out(&d, name, 1, mine, cur);
	return rc;
}

int
mq_queue_access(mq_spool *sp, const char *name, const char *holder)
{
	struct mq_queue q;
	int rc;

	if ((rc = mq_queue_lookup(sp, name, &q)) != MQ_OK)
		return rc;
	if (!(q.flags & MQ_QEXCLUSIVE))
		return MQ_OK;
	return q.mine && strcmp(q.holder, holder) == 0 ? MQ_OK : MQ_ELOCKED;
}

/* Opens stream 'name', made if missing ('*made' then 1). */
static int
open_or_make(mq_spool *sp, const char *name, mq_stream **st, int *made)
{
	int rc;

	*made = 0;
	rc = mq_stream_open(sp, name, 0, st);
	if (rc != MQ_ENOSTREAM)
		return rc;
	*made = 1;
	return mq_stream_open(sp, name, MQ_CREATE, st);
}

/*
 * Under the stream's lock: keeps the declaration of 'q' unless the
 * stream has one ('*wrote' says), and reads what is in place into 'd'
 * ('*mine': this handle owns it); CHANGED if what is in place is an
 * orphan's, which the caller removes once it has let go of the lock
 * (remove_orphan() takes it).
 */
static int
declare_locked(mq_spool *sp, mq_stream *st, const struct mq_queue *q,
    const char *owner, int made_stream, struct decl *d, int *wrote,
    int *mine)
{
	struct decl nd;
	int rc;

	*wrote = 0;
	*mine = 0;
	rc = decl_read(sp, st->enc, d);
	if (rc == MQ_OK)
		/* An orphan is removed without the lock, then again. */
		return d->owner[0] == '\0' ||
		    mq_owner_alive(sp, d->owner, mine) ? MQ_OK : CHANGED;
	if (rc != MQ_ENOMSG)
		return rc;
	memset(&nd, 0, sizeof(nd));
	nd.flags = q->flags;
	nd.made = made_stream;
	nd.owner = owner;
	nd.holder = q->flags & MQ_QEXCLUSIVE && q->holder != NULL ?
	    q->holder : "";
	nd.args = q->args;
	nd.argslen = q->argslen;
	if ((rc = index_add(sp, st->enc)) != MQ_OK ||
	    (rc = decl_write(sp, st->dirfd, &nd)) != MQ_OK)
		return rc;
	*wrote = 1;
	*mine = owner[0] != '\0';
	/* Read back: what the caller is handed is the handle's copy. */
	return decl_read(sp, st->enc, d);
}

/*
 * Opens (or makes) the stream of 'q' and declares it under its lock, as
 * declare_locked(); again if the stream was removed before the lock was
 * had (what is written into a removed stream's directory is lost), or
 * if an orphan's declaration was in place.
 */
static int
declare_stream(mq_spool *sp, const struct mq_queue *q, const char *owner,
    struct decl *d, int *wrote, int *mine)
{
	mq_stream *st;
	int tries, made_stream, rc;

	for (tries = 0; tries < 100; tries++) {
		/* An orphan goes first, so that the declare makes it anew. */
		rc = mq_queue_lookup(sp, q->name, NULL);
		if (rc != MQ_OK && rc != MQ_ENOSTREAM)
			return rc;
		if ((rc = open_or_make(sp, q->name, &st, &made_stream)) != MQ_OK)
			return rc;
		if ((rc = mq_stream_lock(st)) == MQ_OK) {
			if (mq_stream_removed(st))
				rc = CHANGED;
			else
				rc = declare_locked(sp, st, q, owner,
				    made_stream, d, wrote, mine);
			mq_stream_unlock(st);
		}
		mq_stream_close(st);
		if (rc != CHANGED)
			return rc;
	}
	errno = EAGAIN;
	return mq_sys();
}

int
mq_queue_declare(mq_spool *sp, const struct mq_queue *q, int flags,
    struct mq_queue *cur, int *made)
{
	char enc[MQ_ENCNAME_MAX];
	const char *owner = "", *holder;
	struct mq_qstate *qs;
	struct decl d;
	int rc, wrote = 0, mine = 0;

	if (made != NULL)
		*made = 0;
	if ((rc = check(q, flags, enc)) != MQ_OK)
		return rc;
	holder = q->holder != NULL ? q->holder : "";
	if (flags & MQ_QPASSIVE) {
		if ((rc = mq_queue_access(sp, q->name, holder)) == MQ_OK &&
		    cur != NULL)
			rc = mq_queue_lookup(sp, q->name, cur);
		return rc;
	}
	if ((qs = qstate(sp)) == NULL)
		return mq_sys();
	if ((!(q->flags & MQ_QDURABLE) || (q->flags & MQ_QEXCLUSIVE)) &&
	    (rc = mq_owner_take(sp, &owner)) != MQ_OK)
		return rc;
	if ((rc = declare_stream(sp, q, owner, &d, &wrote, &mine)) != MQ_OK)
		return rc;
	if (wrote && owner[0] != '\0' && (rc = owned_add(qs, q->name)) != MQ_OK)
		return rc;
	if (made != NULL)
		*made = wrote;
	decl_out(&d, q->name, 1, mine, cur);
	/* Exclusive both ways: the holder's alone, and asked of no other. */
	if (!access_ok(&d, mine, holder) ||
	    ((q->flags ^ d.flags) & MQ_QEXCLUSIVE))
		return MQ_ELOCKED;
	return MQ_OK;
}

int
mq_queue_delete(mq_spool *sp, const char *name)
{
	char enc[MQ_ENCNAME_MAX];
	int rc;

	rc = mq_stream_remove(sp, name);
	if ((rc == MQ_OK || rc == MQ_ENOSTREAM) &&
	    mq_name_encode(name, enc, sizeof(enc)) >= 0)
		index_unmark(sp, enc);
	if (sp->qstate != NULL)
		owned_remove(sp->qstate, name);
	return rc;
}

struct each {
	mq_spool	*spool;
	int		(*fn)(const struct mq_queue *q, void *arg);
	void		*arg;
};

/* mq_dir_each()'s callback: hands the queue 'entry' to the caller. */
static int
each_one(int dirfd, const char *entry, void *arg)
{
	struct each *e = arg;
	char name[MQ_NAME_MAX + 1];
	struct mq_queue q;
	struct decl d;
	int mine, rc;

	if (entry[0] == '.' || mq_name_decode(entry, name, sizeof(name)) < 0)
		return 0;
	if ((rc = decl_live(e->spool, entry, &d, &mine)) != MQ_OK) {
		/* Stale, or an orphan removed just now. */
		if (rc == MQ_ENOMSG || rc == MQ_ENOSTREAM)
			index_unmark(e->spool, entry);
		return 0;
	}
	decl_out(&d, name, 1, mine, &q);
	return e->fn(&q, e->arg);
}

int
mq_queues(mq_spool *sp, int (*fn)(const struct mq_queue *q, void *arg),
    void *arg)
{
	struct each e = { sp, fn, arg };

	return index_each(sp, each_one, &e);
}

/* mq_dir_each()'s callback: removes the queue 'entry' if an orphan. */
static int
sweep_one(int dirfd, const char *entry, void *arg)
{
	mq_spool *sp = ((void **)arg)[0];
	size_t *removed = ((void **)arg)[1];
	struct decl d;
	int mine, rc;

	if (entry[0] == '.')
		return 0;
	if ((rc = decl_read(sp, entry, &d)) != MQ_OK) {
		if (rc == MQ_ENOMSG || rc == MQ_ENOSTREAM)
			index_unmark(sp, entry);	/* stale */
		return 0;
	}
	if (d.owner[0] == '\0' || mq_owner_alive(sp, d.owner, &mine))
		return 0;
	if (remove_orphan(sp, entry, &d) == MQ_OK)
		(*removed)++;
	return 0;
}

int
mq_queue_sweep(mq_spool *sp, size_t *removed)
{
	size_t n = 0;
	void *arg[2] = { sp, &n };
	int rc;

	rc = index_each(sp, sweep_one, arg);
	if (removed != NULL)
		*removed = n;
	return rc;
}

void
mq_qdecl_free(mq_spool *sp)
{
	struct mq_qstate *qs = sp->qstate;
	struct mq_xstate *xs = sp->xstate;
	char enc[MQ_ENCNAME_MAX];
	struct decl d;
	size_t i;

	if (qs == NULL)
		return;
	/* Not a child's, forked with the handle: they are its parent's. */
	for (i = 0; xs != NULL && xs->ownerpid == getpid() && i < qs->nowned;
	    i++)
		if (mq_name_encode(qs->owned[i], enc, sizeof(enc)) >= 0 &&
		    decl_read(sp, enc, &d) == MQ_OK &&
		    strcmp(d.owner, xs->owner) == 0)
			(void)remove_orphan(sp, enc, &d);
	for (i = 0; i < qs->nowned; i++)
		free(qs->owned[i]);
	free(qs->owned);
	free(qs->text);
	if (qs->indexfd >= 0)
		close(qs->indexfd);
	free(qs);
	sp->qstate = NULL;
}
