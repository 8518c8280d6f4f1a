/*
 * cache.c - the server's cache of open streams, groups and sorted sets,
 * shared by every door.
 *
 * The cache keeps what commands open for the next command that names
 * it, within a bound in descriptors: fdlimit.c derives it from the limit
 * on open files, and server.h says what each object counts as.  Each of
 * the two lists (streams with their groups, sorted sets) is kept in the
 * order of use: a hit moves its entry to the front, a few pointers and
 * no system call.  Before an open would pass the bound, the least
 * recently used entries go, the older of the two tails first, down to a
 * sixteenth below the bound, so that a run of misses pays for one pass
 * (and one flush of the run of appends) rather than one each.  A name
 * closed is opened again at its next use.
 *
 * What is in use is never closed:
 *  - what the running command was handed, since it holds the pointers:
 *    the entries used since command_seq last moved, all at the front.
 *    cmd_begin moves it; so does server_cache_release, which what runs
 *    outside commands and opens many streams one after another (a round
 *    of waiters, of AMQP servings, a hand-back to thousands of queues)
 *    calls between them, or all it opened would stay past the bound;
 *  - a stream with appends queued, whose pointer appendq.c keeps: the
 *    run is flushed before a stream is closed, and while the run is
 *    being flushed no stream is;
 *  - a held group (server->held): closing it writes and lets go of what
 *    is held first (open_group_free), as a command that locks another
 *    way does.
 * Nothing else keeps a pointer across commands: a blocked read (a
 * waiter of core/waiters.c, which watches its streams by name), MULTI's
 * queue and WATCH keep names and look them up again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static int
stream_cmp(const struct open_stream *a, const struct open_stream *b)
{
	return strcmp(a->name, b->name);
}

static int
zset_cmp(const struct open_zset *a, const struct open_zset *b)
{
	return strcmp(a->name, b->name);
}

/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(streamtree, open_stream, link, stream_cmp, RB_ATTR)
RB_GENERATE_INTERNAL(zsettree, open_zset, link, zset_cmp, RB_ATTR)

/* Past the bound, the cache closes down to this fraction below it. */
#define TRIM_SLACK	16


static void stream_drop(struct server *s, struct open_stream *os);
static void zset_drop(struct server *s, struct open_zset *oz);

/*
 * Copies the name of 'len' bytes at 'name' into 'buf' (MQ_NAME_MAX + 1
 * bytes) as a C string; -1 for a name libmq cannot take (empty, too
 * long, holding a NUL).
 */
static int
name_copy(char *buf, const char *name, size_t len)
{
	if (len == 0 || len > MQ_NAME_MAX || memchr(name, '\0', len) != NULL)
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return 0;
}

/*
 * Closes the least recently used streams and sorted sets that nothing
 * uses until the cache holds at most 'low' descriptors, or nothing more
 * may go.  Returns how many it closed; errno is kept.
 */
static size_t
cache_evict(struct server *s, size_t low)
{
	struct open_stream *os;
	struct open_zset *oz;
	size_t n = 0;
	int saved = errno, flushing = appendq_flushing(s);

	/* The run of appends holds stream pointers: it goes first. */
	if (!flushing)
		appendq_flush(s);
	while (s->cache_fds > low) {
		os = TAILQ_LAST(&s->stream_lru, streamlru);
		oz = TAILQ_LAST(&s->zset_lru, zsetlru);
		/* The running command's, and all in front of them, stay. */
		if (os != NULL && (os->used == s->command_seq || flushing))
			os = NULL;
		if (oz != NULL && oz->used == s->command_seq)
			oz = NULL;
		if (os != NULL && (oz == NULL || os->used <= oz->used))
			stream_drop(s, os);
		else if (oz != NULL)
			zset_drop(s, oz);
		else
			break;
		n++;
	}
	s->evictions += n;
	errno = saved;
	return n;
}

/*
 * An open failed with 'rc' after 'tries' tries: if for want of
 * descriptors, closes all that the cache may close and says to try
 * again, once.  errno is kept.
 */
static int
fds_relieve(struct server *s, int rc, int tries)
{
	int saved = errno, again = 0;

	if (rc != MQ_ESYS || (errno != EMFILE && errno != ENFILE))
		return 0;
	if (tries == 0)
		again = cache_evict(s, 0) > 0;
	errno = saved;
	return again;
}

/* Makes room for 'fds' more descriptors, if the cache would pass its bound. */
static void
cache_room(struct server *s, size_t fds)
{
	size_t low = s->cache_fds_max - s->cache_fds_max / TRIM_SLACK;

	if (s->cache_fds + fds > s->cache_fds_max)
		cache_evict(s, low > fds ? low - fds : 0);
}

void
server_cache_release(struct server *s)
{
	s->command_seq++;
}

size_t
server_cache_relieve(struct server *s)
{
	return cache_evict(s, 0);
}

/* What the cache opens, and what each counts as holding. */
enum cache_kind { CACHE_STREAM, CACHE_GROUP, CACHE_ZSET };
static const size_t cache_kind_fds[] = { STREAM_FDS, GROUP_FDS, ZSET_FDS };

/*
 * Opens the stream, group (of 'stream') or sorted set 'name' into '*out'
 * with libmq, making room in the cache first.  Out of descriptors all
 * the same (the cache's are an estimate, and subscriptions and the fsync
 * thread's are not in it), makes more room and tries again while there
 * is some to make.
 */
static int
cache_open(struct server *s, enum cache_kind kind, mq_stream *stream,
    const char *name, int create, void *out)
{
	int flags = create ? MQ_CREATE : 0, rc, tries;

	cache_room(s, cache_kind_fds[kind]);
	for (tries = 0; ; tries++) {
		switch (kind) {
		case CACHE_STREAM:
			rc = mq_stream_open(s->spool, name, flags, out);
			break;
		case CACHE_GROUP:
			rc = mq_group_open(stream, name, out);
			break;
		case CACHE_ZSET:
			rc = mq_zset_open(s->spool, name, flags, out);
			break;
		}
		if (rc == MQ_OK || !fds_relieve(s, rc, tries))
			return rc;
	}
}

/* 'os' was used by the running command: to the front of its list. */
static void
stream_touch(struct server *s, struct open_stream *os)
{
	os->used = s->command_seq;
	if (os != TAILQ_FIRST(&s->stream_lru)) {
		TAILQ_REMOVE(&s->stream_lru, os, lru);
		TAILQ_INSERT_HEAD(&s->stream_lru, os, lru);
	}
}

/* Opens stream 'name' into the cache, in front of its list. */
static int
stream_open(struct server *s, const char *name, int create,
    struct open_stream **out)
{
	struct open_stream *os;
	mq_stream *stream;
	int rc;

	if ((rc = cache_open(s, CACHE_STREAM, NULL, name, create,
	    &stream)) != MQ_OK)
		return rc;
	if ((os = calloc(1, sizeof(*os))) == NULL ||
	    (os->name = strdup(name)) == NULL) {
		free(os);
		mq_stream_close(stream);
		return MQ_ESYS;
	}
	os->stream = stream;
	LIST_INIT(&os->groups);
	os->used = s->command_seq;
	RB_INSERT(streamtree, &s->streams, os);
	TAILQ_INSERT_HEAD(&s->stream_lru, os, lru);
	s->nstreams++;
	s->cache_fds += STREAM_FDS;
	*out = os;
	return MQ_OK;
}

int
server_stream(struct server *s, const char *name, size_t len, int create,
    mq_stream **out)
{
	struct open_stream key, *os;
	char buf[MQ_NAME_MAX + 1];
	int rc;

	if (name_copy(buf, name, len) == -1)
		return MQ_EBADNAME;
	key.name = buf;
	if ((os = RB_FIND(streamtree, &s->streams, &key)) != NULL) {
		/*
		 * One look per turn: a removal by another process is a race
		 * anyway.  It costs nothing until some process removed or
		 * renamed a stream; in a turn woken by the watch, where the
		 * change may be what woke it, it looks.
		 */
		if (os->checked_turn == s->turn + 1 ||
		    !(s->watch_woke ? mq_stream_removed(os->stream) :
		    mq_stream_removed_lazy(os->stream))) {
			os->checked_turn = s->turn + 1;
			stream_touch(s, os);
			*out = os->stream;
			return MQ_OK;
		}
		/* Removed by another process: forget it, look again. */
		appendq_flush(s);
		stream_drop(s, os);
	}
	if ((rc = stream_open(s, buf, create, &os)) != MQ_OK)
		return rc;
	*out = os->stream;
	return MQ_OK;
}

int
server_loggable(struct server *s, const char *name, size_t len, int new,
    mq_wal_name **key)
{
	char buf[MQ_NAME_MAX + 1];

	if (name_copy(buf, name, len) == -1 ||
	    mq_wal_lookup(s->spool, buf, new, key) <= 0)
		return 0;
	/*
	 * While the log drains (server.c), a stream it holds nothing of
	 * goes direct, so that the log empties; the others, which the drain
	 * reaches anyway, are logged: opened to append, they would take all
	 * the log holds for them at once.
	 */
	return !s->wal_draining || mq_wal_waiting(*key);
}

static struct open_stream *
find_open(struct server *s, mq_stream *stream)
{
	struct open_stream key;

	key.name = (char *)mq_stream_name(stream);
	return RB_FIND(streamtree, &s->streams, &key);
}

/* Stops holding 'og'; returns the release's outcome. */
static int
group_unhold(struct open_group *og)
{
	if (!og->held)
		return MQ_OK;
	og->held = 0;
	LIST_REMOVE(og, hlink);
	return mq_group_release(og->group);
}

/* Closes the group 'og' of 'os', writing what is held first. */
static void
open_group_free(struct server *s, struct open_stream *os,
    struct open_group *og)
{
	if (og->held)
		server_release_groups(s);
	LIST_REMOVE(og, link);
	mq_group_close(og->group);
	free(og->name);
	free(og);
	os->ngroups--;
	s->ngroups--;
	s->cache_fds -= GROUP_FDS;
}

void
server_release_groups(struct server *s)
{
	struct open_group *og;
	struct conn *c, *next;
	int rc, failed = 0;

	while ((og = LIST_FIRST(&s->held)) != NULL)
		if ((rc = group_unhold(og)) != MQ_OK) {
			server_log(s, "group %s: journal write failed: %s",
			    og->name, mq_strerror(rc));
			failed = 1;
		}
	if (!failed)
		return;
	/*
	 * Their replies said done: they must not leave.  Aborted, closed
	 * when the turn writes: a door's state may not go from under a
	 * serving that let the groups go (and holds the cache's pointers).
	 */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all);
		if (c->group_turn == s->turn)
			conn_abort(c, "group journal write failed");
	}
}

/* Closes the open stream 'os' and its groups, and forgets it. */
static void
stream_drop(struct server *s, struct open_stream *os)
{
	struct open_group *og;

	while ((og = LIST_FIRST(&os->groups)) != NULL)
		open_group_free(s, os, og);
	RB_REMOVE(streamtree, &s->streams, os);
	TAILQ_REMOVE(&s->stream_lru, os, lru);
	s->nstreams--;
	s->cache_fds -= STREAM_FDS;
	mq_stream_close(os->stream);
	free(os->name);
	free(os);
}

void
server_stream_forget(struct server *s, const char *name)
{
	struct open_stream key, *os;

	key.name = (char *)name;
	if ((os = RB_FIND(streamtree, &s->streams, &key)) == NULL)
		return;
	appendq_flush(s);	/* the run may name it */
	stream_drop(s, os);
}

/*
 * Holds 'og' if the command running allows it.  If another process has
 * its lock, the command will wait for it: then nothing may stay held.
 */
static void
group_hold(struct server *s, struct open_group *og)
{
	int rc;

	if (!s->hold_groups || og->held)
		return;
	if ((rc = mq_group_hold(og->group)) == 1) {
		og->held = 1;
		LIST_INSERT_HEAD(&s->held, og, hlink);
	} else if (rc == 0)
		server_release_groups(s);
	/* An error: the command meets it again and reports it. */
}

int
server_zset(struct server *s, const char *name, size_t len, int create,
    mq_zset **out)
{
	struct open_zset key, *oz;
	char buf[MQ_NAME_MAX + 1];
	mq_zset *z;
	int rc;

	if (name_copy(buf, name, len) == -1)
		return MQ_EBADNAME;
	key.name = buf;
	if ((oz = RB_FIND(zsettree, &s->zsets, &key)) != NULL) {
		oz->used = s->command_seq;
		if (oz != TAILQ_FIRST(&s->zset_lru)) {
			TAILQ_REMOVE(&s->zset_lru, oz, lru);
			TAILQ_INSERT_HEAD(&s->zset_lru, oz, lru);
		}
		*out = oz->zset;
		return MQ_OK;
	}
	if ((rc = cache_open(s, CACHE_ZSET, NULL, buf, create, &z)) != MQ_OK)
		return rc;
	if ((oz = calloc(1, sizeof(*oz))) == NULL ||
	    (oz->name = strdup(buf)) == NULL) {
		free(oz);
		mq_zset_close(z);
		return MQ_ESYS;
	}
	oz->zset = z;
	oz->used = s->command_seq;
	RB_INSERT(zsettree, &s->zsets, oz);
	TAILQ_INSERT_HEAD(&s->zset_lru, oz, lru);
	s->nzsets++;
	s->cache_fds += ZSET_FDS;
	*out = oz->zset;
	return MQ_OK;
}

static void
zset_drop(struct server *s, struct open_zset *oz)
{
	RB_REMOVE(zsettree, &s->zsets, oz);
	TAILQ_REMOVE(&s->zset_lru, oz, lru);
	s->nzsets--;
	s->cache_fds -= ZSET_FDS;
	mq_zset_close(oz->zset);
	free(oz->name);
	free(oz);
}

void
server_zset_forget(struct server *s, const char *name)
{
	struct open_zset key, *oz;

	key.name = (char *)name;
	if ((oz = RB_FIND(zsettree, &s->zsets, &key)) != NULL)
		zset_drop(s, oz);
}

int
server_group(struct server *s, mq_stream *stream, const char *name,
    size_t len, mq_group **out)
{
	struct open_stream *os = find_open(s, stream);
	struct open_group *og;
	char buf[MQ_NAME_MAX + 1];
	int rc;

	if (name_copy(buf, name, len) == -1)
		return MQ_ENOGROUP;
	if (os == NULL) {
		/* Not cached: the caller's stream is its own; it will lock. */
		if ((rc = mq_group_open(stream, buf, out)) == MQ_OK)
			server_release_groups(s);
		return rc;
	}
	LIST_FOREACH(og, &os->groups, link)
		if (strcmp(og->name, buf) == 0) {
			group_hold(s, og);
			*out = og->group;
			return MQ_OK;
		}
	/* The stream is the running command's: room is made around it. */
	if ((rc = cache_open(s, CACHE_GROUP, stream, buf, 0, out)) != MQ_OK)
		return rc;
	if ((og = calloc(1, sizeof(*og))) == NULL ||
	    (og->name = strdup(buf)) == NULL) {
		free(og);
		mq_group_close(*out);
		return MQ_ESYS;
	}
	og->group = *out;
	LIST_INSERT_HEAD(&os->groups, og, link);
	os->ngroups++;
	s->ngroups++;
	s->cache_fds += GROUP_FDS;
	group_hold(s, og);
	return MQ_OK;
}

void
server_group_forget(struct server *s, mq_stream *stream, const char *name)
{
	struct open_stream *os = find_open(s, stream);
	struct open_group *og;

	if (os == NULL)
		return;
	LIST_FOREACH(og, &os->groups, link)
		if (strcmp(og->name, name) == 0) {
			open_group_free(s, os, og);
			return;
		}
}

int
server_router(struct server *s, mq_router **out)
{
	int rc;

	if (s->router == NULL &&
	    (rc = mq_router_open(s->spool, &s->router)) != MQ_OK)
		return rc;
	*out = s->router;
	return MQ_OK;
}

void
cache_free(struct server *s)
{
	struct open_stream *os;

	while ((os = RB_MIN(streamtree, &s->streams)) != NULL)
		stream_drop(s, os);
	while (!RB_EMPTY(&s->zsets))
		zset_drop(s, RB_MIN(zsettree, &s->zsets));
}
