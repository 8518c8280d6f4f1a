/*
 * server.c - the server's state between the loop and the protocols: the
 * cache of open streams, groups and sorted sets, the watch that other
 * processes' appends wake, the hook run before each sleep, and the log.
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
 *    the entries used since command_seq last moved, all at the front;
 *  - a stream that a blocked read waits on, which is watched: it leaves
 *    its list while it has waiters (server_wait), and its watch goes
 *    with the last of them, so that the watches, too, are as many as the
 *    streams waited on;
 *  - a stream with appends queued, whose pointer appendq.c keeps: the
 *    run is flushed before a stream is closed, and while the run is
 *    being flushed no stream is;
 *  - a held group (server->held): closing it writes and lets go of what
 *    is held first (open_group_free), as a command that locks another
 *    way does.
 * Nothing else keeps a pointer across commands: a blocked read, MULTI's
 * queue and WATCH keep names and look them up again.
 *
 * The log is one line per event: to standard error, to the --log file
 * (reopened on SIGHUP, for rotation), or to syslog(3) as "mq-serve".
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"
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

static FILE *logfp;
/* The sync thread logs too (syncer.c); SIGHUP replaces logfp. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int use_syslog;

static void stream_drop(struct server *s, struct open_stream *os,
    int unwatch);
static void zset_drop(struct server *s, struct open_zset *oz);

void
server_log(struct server *s, const char *fmt, ...)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	FILE *fp;

	if (use_syslog) {
		va_start(ap, fmt);
		vsyslog(LOG_INFO, fmt, ap);
		va_end(ap);
		return;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fp = logfp != NULL ? logfp : stderr;
	fprintf(fp, "%s mq-serve[%ld]: ", stamp, (long)getpid());
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fflush(fp);
	pthread_mutex_unlock(&log_lock);
}

int
server_log_open(const char *path)
{
	FILE *fp;

	if (path == NULL)
		return 0;
	if ((fp = fopen(path, "a")) == NULL)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (logfp != NULL)
		fclose(logfp);
	logfp = fp;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void
server_log_syslog(int facility)
{
	openlog("mq-serve", LOG_PID | LOG_NDELAY, facility);
	use_syslog = 1;
}

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
			stream_drop(s, os, 0);
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
	if (os->waiters == 0 && os != TAILQ_FIRST(&s->stream_lru)) {
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
	os->id = ++s->next_open;
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
		stream_drop(s, os, 0);
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

	if (name_copy(buf, name, len) == -1)
		return 0;
	return mq_wal_lookup(s->spool, buf, new, key) > 0;
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
	/* Their replies said done: they must not leave. */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all);
		if (c->group_turn == s->turn)
			conn_close(c, "group journal write failed");
	}
}

/*
 * Stops watching 'os'.  The topic exchange's log stays watched: the
 * subscriptions (mq_sub_watch) share its directory's one watch.
 */
static void
stream_unwatch(struct server *s, struct open_stream *os)
{
	int rc;

	if (!os->watched)
		return;
	os->watched = 0;
	if (strcmp(os->name, MQ_TOPIC_EXCHANGE) != 0 &&
	    (rc = mq_watch_remove(s->watch, os->stream)) != MQ_OK)
		server_log(s, "unwatch %s: %s", os->name, mq_strerror(rc));
}

/*
 * Closes the open stream 'os' and its groups, and forgets it.  With
 * 'unwatch', its watch goes too.  Without, it stays: the stream was
 * removed (the watch went with its directory) or renamed by another
 * process, and a handle of its new name may be watching the same
 * directory.
 */
static void
stream_drop(struct server *s, struct open_stream *os, int unwatch)
{
	struct open_group *og;

	if (unwatch)
		stream_unwatch(s, os);
	while ((og = LIST_FIRST(&os->groups)) != NULL)
		open_group_free(s, os, og);
	RB_REMOVE(streamtree, &s->streams, os);
	if (os->waiters == 0)
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
	stream_drop(s, os, 1);
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

int
server_wait(struct server *s, mq_stream *stream, uint64_t *token, int *fresh)
{
	struct open_stream *os = find_open(s, stream);
	int rc;

	if (os == NULL || *token == os->id)
		return MQ_OK;
	*token = os->id;
	if (os->waiters++ == 0)
		TAILQ_REMOVE(&s->stream_lru, os, lru);
	if (os->watched)
		return MQ_OK;
	if ((rc = mq_watch_add(s->watch, stream)) != MQ_OK)
		return rc;
	os->watched = 1;
	*fresh = 1;
	return MQ_OK;
}

void
server_unwait(struct server *s, const char *name, uint64_t token)
{
	struct open_stream key, *os;

	key.name = (char *)name;
	if ((os = RB_FIND(streamtree, &s->streams, &key)) == NULL ||
	    os->id != token || --os->waiters > 0)
		return;
	stream_unwatch(s, os);
	/* Back in its list, as just used. */
	os->used = s->command_seq;
	TAILQ_INSERT_HEAD(&s->stream_lru, os, lru);
}

/* Something changed in a watched stream (any process): wake who waits. */
static void
watch_ready(struct loop *loop, int fd, int events, void *arg)
{
	struct server *s = arg;

	/* Drains; 0 if nothing but closes that change nothing came. */
	if (mq_watch_wait(s->watch, 0) == 0)
		return;
	s->watch_woke = 1;
	resp_wake_blocked(s);
	resp_pubsub_deliver(s);
}

/*
 * The write-ahead log (mq-spool(5)): what XADDs logged, and what an
 * earlier run left there, is given to the streams when the server is
 * quiet, a few streams per tick so that a client arriving meanwhile
 * waits little, and at once when the log passes WAL_APPLY_BYTES.
 * Readers of a stream apply its part themselves: this keeps the log
 * short, and lets processes that may only read see the entries.
 */
#define WAL_TICK_MS	50
#define WAL_TICK_STREAMS 256
#define WAL_APPLY_BYTES	(64u << 20)

static void
wal_tick(struct loop *loop, void *arg)
{
	struct server *s = arg;
	int more = 0, rc;

	s->wal_ticking = 0;
	if (s->flushes == s->wal_flushes) {
		rc = mq_wal_apply_some(s->spool, WAL_TICK_STREAMS, &more);
		if (rc != MQ_OK)
			server_log(s, "write-ahead log: %s", mq_strerror(rc));
	} else
		more = 1;
	s->wal_flushes = s->flushes;
	if (more || mq_wal_size(s->spool) > 0) {
		s->wal_ticking = 1;
		loop_timer_add(loop, WAL_TICK_MS, wal_tick, s);
	}
}

static void
wal_check(struct server *s)
{
	int more, rc;

	if (mq_wal_size(s->spool) > WAL_APPLY_BYTES &&
	    (rc = mq_wal_apply_some(s->spool, SIZE_MAX, &more)) != MQ_OK)
		server_log(s, "write-ahead log: %s", mq_strerror(rc));
	if (!s->wal_ticking && mq_wal_size(s->spool) > 0) {
		s->wal_ticking = 1;
		s->wal_flushes = s->flushes;
		loop_timer_add(s->loop, WAL_TICK_MS, wal_tick, s);
	}
}

/*
 * Before sleeping: append the turn's run of appends, make the turn's
 * writes durable (one fsync for all of them under "always"), then send
 * the replies, then free what closed.
 */
static void
before_sleep(struct loop *loop, void *arg)
{
	struct server *s = arg;

	appendq_flush(s);
	wal_check(s);
	server_release_groups(s);
	s->turn++;
	s->watch_woke = 0;
	if (s->cfg.fsync == MQ_FSYNC_ALWAYS) {
		if (s->gate_replies)
			syncer_turn(s);
		else if (!TAILQ_EMPTY(&s->writes))
			mq_spool_sync(s->spool);	/* no thread: on the loop */
	}
	conn_write_all(s);
	conn_reap(s);
}

static void
idle_timer(struct loop *loop, void *arg)
{
	struct server *s = arg;

	conn_expire_idle(s);
	/* The interval policy: at most this far behind, even when idle. */
	if (s->cfg.fsync == MQ_FSYNC_INTERVAL)
		syncer_submit(s);
	loop_timer_add(loop, s->cfg.fsync_ms > 0 ? s->cfg.fsync_ms : 1000,
	    idle_timer, s);
}

int
server_init(struct server *s)
{
	int rc;

	RB_INIT(&s->streams);
	TAILQ_INIT(&s->stream_lru);
	LIST_INIT(&s->held);
	TAILQ_INIT(&s->gated);
	RB_INIT(&s->zsets);
	TAILQ_INIT(&s->zset_lru);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->writes);
	TAILQ_INIT(&s->dead);
	if ((s->loop = loop_new()) == NULL)
		return MQ_ESYS;
	s->started_ms = loop_now_ms(s->loop);
	if ((rc = mq_spool_open(s->cfg.spool, MQ_CREATE, &s->spool)) != MQ_OK)
		return rc;
	/*
	 * libmq only notes what was written ("interval" with an interval
	 * it never reaches); the syncs run on syncer.c's thread: "always"
	 * one per turn that wrote, its replies waiting for it (group
	 * commit), "interval" fed by idle_timer.
	 */
	mq_spool_set_fsync(s->spool, s->cfg.fsync == MQ_FSYNC_NEVER ?
	    MQ_FSYNC_NEVER : MQ_FSYNC_INTERVAL, 3600000);
	if (s->cfg.fsync != MQ_FSYNC_NEVER) {
		if (syncer_start(s, s->cfg.fsync == MQ_FSYNC_ALWAYS) == -1)
			server_log(s, "fsync thread: %s; syncing on the loop",
			    strerror(errno));
		else
			s->gate_replies = s->cfg.fsync == MQ_FSYNC_ALWAYS;
	}
	/* Streams created by any process wake clients blocked on them. */
	if ((rc = mq_watch_open(&s->watch)) != MQ_OK ||
	    (rc = mq_watch_spool(s->watch, s->spool)) != MQ_OK)
		return rc;
	if (loop_add(s->loop, mq_watch_fd(s->watch), LOOP_READ, watch_ready, s) == -1)
		return MQ_ESYS;
	loop_before_sleep(s->loop, before_sleep, s);
	loop_timer_add(s->loop, s->cfg.fsync_ms > 0 ? s->cfg.fsync_ms : 1000,
	    idle_timer, s);
	return MQ_OK;
}

void
server_shutdown(struct server *s)
{
	struct open_stream *os;
	struct conn *c;

	if (s->gate_replies) {
		/* The replies waiting for syncs go once the syncs are done. */
		syncer_stop(s);
		conn_release(s, UINT64_MAX, 0);
		s->gate_replies = 0;
		conn_write_all(s);
	}
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_close(c, "shutdown");
	conn_reap(s);
	appendq_free(s);
	mq_router_close(s->router);
	syncer_stop(s);
	while ((os = RB_MIN(streamtree, &s->streams)) != NULL)
		stream_drop(s, os, 0);
	while (!RB_EMPTY(&s->zsets))
		zset_drop(s, RB_MIN(zsettree, &s->zsets));
	while (s->nlisteners > 0)
		free(s->listeners[--s->nlisteners]);
	mq_watch_close(s->watch);
	/* What the write-ahead log holds stays there, made durable. */
	mq_spool_close(s->spool);	/* syncs */
	loop_free(s->loop);
	if (logfp != NULL)
		fclose(logfp);
	if (use_syslog)
		closelog();
}
