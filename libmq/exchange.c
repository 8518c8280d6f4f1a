/*
 * exchange.c - declaring and deleting exchanges, binding and unbinding:
 * the changes of SPOOL/exchanges, and the owners of transient exchanges.
 *
 * Model: a change takes flock(LOCK_EX) of SPOOL/exchanges.lock, reads
 * the file into a table (xtable.c), changes the table, and if anything
 * changed puts the new file in place as every small file of the spool
 * is (written aside, fsynced, renamed over, the directory fsynced: a
 * crash leaves the old file or the new one, whole), then adds one to the
 * counter MQ_ROUTES_EXCHANGES of SPOOL/routes, after which every
 * process's copy (xroute.c) is read again.  amq.topic's queue bindings
 * without arguments are SPOOL/bindings instead, which mq_bind() and
 * mq_unbind() change under their own lock: the tools and Redis's
 * PUBLISH route through them too.
 *
 * A transient exchange belongs to a spool handle.  The first one it
 * declares makes the handle an owner: a file SPOOL/owners/PID-RANDOM,
 * which the handle holds with flock(LOCK_SH), taken before the file is
 * in place (mq_put_file), until the handle is closed and removes it.
 * The kernel lets go of the lock when the process dies, SIGKILL
 * included, so whoever can take LOCK_EX without waiting (mq_live_probe)
 * knows the owner is gone, and a missing file is a gone owner too.  The
 * random part keeps a later process of the same pid from passing for a
 * dead one.  A child forked with the handle holds the same open file,
 * and so keeps its parent's owner alive; the first transient exchange
 * it declares makes it an owner of its own.
 *
 * Every change drops the exchanges of dead owners that it finds, with
 * their bindings; mq_exchange_sweep() does only that, and removes the
 * dead owners' files.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"
#include "xtable.h"

#define XFLAGS		(MQ_XDURABLE | MQ_XAUTODELETE | MQ_XINTERNAL)

/* ------------------------------------------------------------------
 * Owners.
 * ---------------------------------------------------------------- */

struct mq_xstate *
mq_xstate(mq_spool *sp)
{
	struct mq_xstate *xs;

	if (sp->xstate != NULL)
		return sp->xstate;
	if ((xs = calloc(1, sizeof(*xs))) == NULL)
		return NULL;
	xs->ownersfd = xs->ownerfd = -1;
	return sp->xstate = xs;
}

/* Opens SPOOL/owners into xs->ownersfd, made with 'create'; -1 if missing. */
static int
owners_dir(mq_spool *sp, struct mq_xstate *xs, int create)
{
	if (xs->ownersfd != -1)
		return MQ_OK;
	if (create && mkdirat(sp->dirfd, "owners", 0755) == -1 &&
	    errno != EEXIST)
		return mq_sys();
	xs->ownersfd = openat(sp->dirfd, "owners",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (xs->ownersfd == -1 && (create || errno != ENOENT))
		return mq_sys();
	return MQ_OK;
}

/* Makes the handle an owner in this process, if it is not one yet. */
static int
owner_take(mq_spool *sp, struct mq_xstate *xs)
{
	char tmp[64];
	pid_t pid = getpid();
	int rc;

	if (xs->ownerfd != -1 && xs->ownerpid == pid)
		return MQ_OK;
	if (xs->ownerfd != -1) {
		/* The parent's, forked with the handle: it stays theirs. */
		close(xs->ownerfd);
		xs->ownerfd = -1;
	}
	if ((rc = owners_dir(sp, xs, 1)) != MQ_OK)
		return rc;
	snprintf(xs->owner, sizeof(xs->owner), "%ld-%08x%08x", (long)pid,
	    arc4random(), arc4random());
	mq_journal_tmpname(tmp, sizeof(tmp));
	/* Not fsynced: an owner does not outlive a crash. */
	if ((rc = mq_put_file(xs->ownersfd, tmp, xs->owner, NULL, 0,
	    MQ_PUT_RDONLY | MQ_PUT_LOCK_SH | MQ_PUT_NOSYNC,
	    &xs->ownerfd)) != MQ_OK) {
		xs->owner[0] = '\0';
		return rc;
	}
	xs->ownerpid = pid;
	return MQ_OK;
}

/* Whether 'owner' lives: this handle's, or holding its file. */
static int
owner_alive(mq_spool *sp, const char *owner, int *mine)
{
	struct mq_xstate *xs = mq_xstate(sp);
	int fd = -1, rc;

	*mine = 0;
	if (xs == NULL || owners_dir(sp, xs, 0) != MQ_OK)
		return 1;
	if (xs->ownerfd != -1 && strcmp(owner, xs->owner) == 0)
		return *mine = 1;
	if (xs->ownersfd == -1)
		return 0;	/* no owner was ever made */
	rc = mq_live_probe(xs->ownersfd, owner, &fd);
	if (fd != -1)
		close(fd);
	return rc != 0;
}

int
mq_owner_take(mq_spool *sp, const char **owner)
{
	struct mq_xstate *xs;
	int rc;

	if ((xs = mq_xstate(sp)) == NULL)
		return mq_sys();
	if ((rc = owner_take(sp, xs)) != MQ_OK)
		return rc;
	*owner = xs->owner;
	return MQ_OK;
}

int
mq_owner_alive(mq_spool *sp, const char *owner, int *mine)
{
	return owner_alive(sp, owner, mine);
}

int
mq_xowners_probe(mq_spool *sp, const struct mq_xtable *t,
    struct mq_xowners *o)
{
	size_t i, j;
	int rc;

	o->spool = sp;
	o->n = 0;
	for (i = 0; i < t->nx; i++) {
		if (t->x[i].gone || t->x[i].owner[0] == '\0')
			continue;
		for (j = 0; j < o->n; j++)
			if (strcmp(o->o[j].name, t->x[i].owner) == 0)
				break;
		if (j < o->n)
			continue;
		if ((rc = mq_grow(&o->o, &o->cap, o->n + 1, sizeof(*o->o))) !=
		    MQ_OK)
			return rc;
		o->o[o->n].name = t->x[i].owner;
		o->o[o->n].alive = owner_alive(sp, t->x[i].owner,
		    &o->o[o->n].mine);
		o->n++;
	}
	return MQ_OK;
}

int
mq_xowners_alive(const char *owner, void *arg)
{
	const struct mq_xowners *o = arg;
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->o[i].name, owner) == 0)
			return o->o[i].alive;
	return 1;
}

int
mq_xowners_died(struct mq_xowners *o)
{
	size_t i;
	int died = 0;

	for (i = 0; i < o->n; i++)
		if (o->o[i].alive && !o->o[i].mine &&
		    !owner_alive(o->spool, o->o[i].name, &o->o[i].mine)) {
			o->o[i].alive = 0;
			died = 1;
		}
	return died;
}

void
mq_xowners_free(struct mq_xowners *o)
{
	free(o->o);
	memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------------
 * A change: the lock, the table, and the new file.
 * ---------------------------------------------------------------- */

struct change {
	mq_spool	*spool;
	int		 lockfd;
	struct mq_xtable t;
	struct mq_xowners owners;
};

/*
 * Takes the lock and reads the table, from which the exchanges of dead
 * owners are dropped at once.
 */
static int
change_begin(mq_spool *sp, struct change *c)
{
	char path[PATH_MAX];
	int rc;

	memset(c, 0, sizeof(*c));
	c->spool = sp;
	snprintf(path, sizeof(path), "%s/exchanges.lock", sp->path);
	if ((c->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return mq_sys();
	while (flock(c->lockfd, LOCK_EX) == -1)
		if (errno != EINTR) {
			rc = mq_sys();
			goto fail;
		}
	if ((rc = mq_xtable_read(sp, &c->t)) != MQ_OK ||
	    (rc = mq_xowners_probe(sp, &c->t, &c->owners)) != MQ_OK)
		goto fail;
	mq_xtable_begin(&c->t);
	mq_xtable_drop_dead(&c->t, mq_xowners_alive, &c->owners);
	return MQ_OK;
fail:
	mq_xtable_free(&c->t);
	mq_xowners_free(&c->owners);
	close(c->lockfd);
	return rc;
}

/*
 * Ends a change whose outcome is 'rc': removes what the auto-delete rule
 * removes, and puts the new file in place if the table changed, even
 * when 'rc' is a refusal (the dead owners' exchanges go all the same).
 * Returns 'rc', or the error of the write.
 */
static int
change_end(struct change *c, int rc)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	int wrc = MQ_OK;

	mq_xtable_settle(&c->t);
	if (c->t.changes > 0 &&
	    (wrc = mq_xtable_format(&c->t, &text, &len)) == MQ_OK) {
		snprintf(path, sizeof(path), "%s/exchanges", c->spool->path);
		if ((wrc = mq_replace_file(path, text, len)) == MQ_OK)
			mq_routes_bump(c->spool, MQ_ROUTES_EXCHANGES);
	}
	free(text);
	mq_xtable_free(&c->t);
	mq_xowners_free(&c->owners);
	close(c->lockfd);	/* and with it the lock */
	return wrc != MQ_OK ? wrc : rc;
}

/* Whether exchange 'name' exists in 'c': built-in, or in the table. */
static int
exists(struct change *c, const char *name)
{
	return mq_xbuiltin(name) != NULL || mq_xtable_find(&c->t, name) != NULL;
}

/* ------------------------------------------------------------------
 * Exchanges.
 * ---------------------------------------------------------------- */

static int
args_ok(const void *args, size_t len)
{
	return len <= MQ_XARGS_MAX && (args != NULL || len == 0);
}

static int
name_ok(const char *name)
{
	char enc[MQ_ENCNAME_MAX];

	return mq_name_encode(name, enc, sizeof(enc)) >= 0;
}

/* Whether 'r' is what a declare of 'type', 'flags' and 'args' asks for. */
static int
equivalent(const struct mq_xrec *r, enum mq_xtype type, int flags,
    const void *args, size_t len)
{
	return r->type == type && r->flags == (flags & XFLAGS) &&
	    r->argslen == len && (len == 0 || memcmp(r->args, args, len) == 0);
}

int
mq_exchange_declare(mq_spool *sp, const char *name, enum mq_xtype type,
    int flags, const void *args, size_t argslen)
{
	const struct mq_xrec *bi;
	struct mq_xstate *xs;
	struct mq_xrec r, *found;
	struct mq_exchange x;
	struct change c;
	int rc;

	/* As RabbitMQ: not even a passive declare of the default exchange. */
	if (name[0] == '\0')
		return MQ_ERESERVED;
	if (flags & MQ_XPASSIVE)
		return mq_exchange_lookup(sp, name, &x);
	if (mq_xtype_name(type) == NULL || (flags & ~XFLAGS) ||
	    !args_ok(args, argslen))
		return MQ_EINVAL;
	if (!name_ok(name))
		return MQ_EBADNAME;
	if ((bi = mq_xbuiltin(name)) != NULL)
		return equivalent(bi, type, flags, args, argslen) ? MQ_OK :
		    MQ_EEXIST;
	if (strncmp(name, "amq.", 4) == 0)
		return MQ_ERESERVED;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.type = type;
	r.flags = flags;
	r.owner = "";
	r.args = argslen > 0 ? args : NULL;
	r.argslen = argslen;
	if (!(flags & MQ_XDURABLE)) {
		if ((xs = mq_xstate(sp)) == NULL)
			return mq_sys();
		if ((rc = owner_take(sp, xs)) != MQ_OK)
			return rc;
		r.owner = xs->owner;
	}
	if ((rc = change_begin(sp, &c)) != MQ_OK)
		return rc;
	if ((found = mq_xtable_find(&c.t, name)) != NULL)
		rc = equivalent(found, type, flags, args, argslen) ? MQ_OK :
		    MQ_EEXIST;
	else
		rc = mq_xtable_add(&c.t, &r);
	return change_end(&c, rc);
}

int
mq_exchange_delete(mq_spool *sp, const char *name, int if_unused)
{
	struct mq_xrec *r;
	struct change c;
	int rc;

	if (name[0] == '\0' || strncmp(name, "amq.", 4) == 0)
		return MQ_ERESERVED;
	if ((rc = change_begin(sp, &c)) != MQ_OK)
		return rc;
	if ((r = mq_xtable_find(&c.t, name)) == NULL)
		rc = MQ_ENOEXCHANGE;
	else if (if_unused && mq_xtable_sources(&c.t, name) > 0)
		rc = MQ_EINUSE;
	else
		mq_xtable_remove(&c.t, r);
	return change_end(&c, rc);
}

/* ------------------------------------------------------------------
 * Bindings.
 * ---------------------------------------------------------------- */

static int
binding_check(const struct mq_binding *b)
{
	char enc[MQ_ENCNAME_MAX];
	int rc;

	if (b->dkind != MQ_DEST_QUEUE && b->dkind != MQ_DEST_EXCHANGE)
		return MQ_EINVAL;
	if (b->source[0] == '\0' ||
	    (b->dkind == MQ_DEST_EXCHANGE && b->dest[0] == '\0'))
		return MQ_ERESERVED;
	if (!name_ok(b->source) || !name_ok(b->dest))
		return MQ_EBADNAME;
	if ((rc = mq_pattern_encode(b->key, enc, sizeof(enc))) != MQ_OK)
		return rc;
	return args_ok(b->args, b->argslen) ? MQ_OK : MQ_EINVAL;
}

/* Whether 'b' is one of amq.topic's SPOOL/bindings. */
static int
in_bindings_file(const struct mq_binding *b)
{
	return strcmp(b->source, MQ_TOPIC_EXCHANGE) == 0 &&
	    b->dkind == MQ_DEST_QUEUE && b->argslen == 0;
}

/* Binds ('bind') or unbinds 'b' in the table, under the lock. */
static int
binding_change(mq_spool *sp, const struct mq_binding *b, int bind)
{
	struct mq_brec r, *found;
	struct change c;
	int rc;

	memset(&r, 0, sizeof(r));
	r.source = b->source;
	r.dkind = b->dkind;
	r.dest = b->dest;
	r.key = b->key;
	r.args = b->argslen > 0 ? b->args : NULL;
	r.argslen = b->argslen;
	if ((rc = change_begin(sp, &c)) != MQ_OK)
		return rc;
	found = mq_xtable_find_binding(&c.t, &r);
	if (!exists(&c, b->source) ||
	    (b->dkind == MQ_DEST_EXCHANGE && !exists(&c, b->dest)))
		rc = MQ_ENOEXCHANGE;
	else if (bind && found == NULL)
		rc = mq_xtable_add_binding(&c.t, &r);
	else if (!bind && found != NULL)
		mq_xtable_remove_binding(&c.t, found);
	return change_end(&c, rc);
}

/* Binds ('bind') or unbinds 'b' in whichever file has it. */
static int
binding_edit(mq_spool *sp, const struct mq_binding *b, int bind)
{
	int rc;

	if ((rc = binding_check(b)) != MQ_OK)
		return rc;
	if (in_bindings_file(b))
		return bind ? mq_bind(sp, b->key, b->dest) :
		    mq_unbind(sp, b->key, b->dest);
	return binding_change(sp, b, bind);
}

int
mq_exchange_bind(mq_spool *sp, const struct mq_binding *b)
{
	return binding_edit(sp, b, 1);
}

int
mq_exchange_unbind(mq_spool *sp, const struct mq_binding *b)
{
	return binding_edit(sp, b, 0);
}

int
mq_exchange_unbind_queue(mq_spool *sp, const char *queue)
{
	struct change c;
	size_t i;
	int rc;

	if ((rc = mq_bindings_drop_queue(sp, queue)) != MQ_OK)
		return rc;
	if ((rc = change_begin(sp, &c)) != MQ_OK)
		return rc;
	for (i = 0; i < c.t.nb; i++)
		if (c.t.b[i].dkind == MQ_DEST_QUEUE &&
		    strcmp(c.t.b[i].dest, queue) == 0)
			mq_xtable_remove_binding(&c.t, &c.t.b[i]);
	return change_end(&c, MQ_OK);
}

/* ------------------------------------------------------------------
 * Sweeping.
 * ---------------------------------------------------------------- */

static size_t
live_exchanges(const struct mq_xtable *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nx; i++)
		n += !t->x[i].gone;
	return n;
}

/* mq_dir_each()'s callback: removes the file of a dead owner. */
static int
owner_sweep(int dirfd, const char *entry, void *arg)
{
	mq_spool *sp = arg;
	int mine;

	if (entry[0] != '.' && !owner_alive(sp, entry, &mine))
		unlinkat(dirfd, entry, 0);
	return 0;
}

int
mq_exchange_sweep(mq_spool *sp, size_t *removed)
{
	struct mq_xstate *xs;
	struct change c;
	size_t before;
	int rc;

	if (removed != NULL)
		*removed = 0;
	if ((xs = mq_xstate(sp)) == NULL)
		return mq_sys();
	if ((rc = change_begin(sp, &c)) != MQ_OK)
		return rc;
	/* What change_begin() dropped counts too: count from the file. */
	before = c.t.nx;
	mq_xtable_settle(&c.t);
	if (removed != NULL)
		*removed = before - live_exchanges(&c.t);
	if ((rc = change_end(&c, MQ_OK)) != MQ_OK)
		return rc;
	/* Their exchanges gone, the dead owners' files go. */
	if ((rc = owners_dir(sp, xs, 0)) != MQ_OK || xs->ownersfd == -1)
		return rc;
	mq_journal_sweep(xs->ownersfd);
	return mq_dir_each(xs->ownersfd, owner_sweep, sp);
}

void
mq_exchange_free(mq_spool *sp)
{
	struct mq_xstate *xs = sp->xstate;

	if (xs == NULL)
		return;
	mq_xcache_free(xs->cache);
	xs->cache = NULL;
	if (xs->ownerfd != -1) {
		/*
		 * The owner goes with the handle, and its exchanges with it;
		 * not a child's copy of its parent's.
		 */
		if (xs->ownerpid == getpid()) {
			unlinkat(xs->ownersfd, xs->owner, 0);
			close(xs->ownerfd);
			xs->ownerfd = -1;
			(void)mq_exchange_sweep(sp, NULL);
		} else
			close(xs->ownerfd);
	}
	if (xs->ownersfd != -1)
		close(xs->ownersfd);
	free(xs);
	sp->xstate = NULL;
}
