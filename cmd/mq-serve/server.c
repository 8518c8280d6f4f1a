/*
 * server.c - the server's state between the loop and the protocols: the
 * cache of open streams, groups and sorted sets, the watch that other
 * processes' appends wake, the hook run before each sleep, and the log.
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

static FILE *logfp;
/* The sync thread logs too (syncer.c); SIGHUP replaces logfp. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int use_syslog;

static void open_stream_free(struct server *s, struct open_stream *os);

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
		/* One look per turn: a removal by another process is a race anyway. */
		if (os->checked_turn == s->turn + 1 ||
		    !mq_stream_removed(os->stream)) {
			os->checked_turn = s->turn + 1;
			*out = os->stream;
			return MQ_OK;
		}
		/* Removed by another process: forget it, look again. */
		appendq_flush(s);
		RB_REMOVE(streamtree, &s->streams, os);
		open_stream_free(s, os);
	}
	if ((os = calloc(1, sizeof(*os))) == NULL)
		return MQ_ESYS;
	if ((rc = mq_stream_open(s->spool, buf, create ? MQ_CREATE : 0,
	    &os->stream)) != MQ_OK) {
		free(os);
		return rc;
	}
	if ((os->name = strdup(buf)) == NULL) {
		mq_stream_close(os->stream);
		free(os);
		return MQ_ESYS;
	}
	LIST_INIT(&os->groups);
	RB_INSERT(streamtree, &s->streams, os);
	*out = os->stream;
	return MQ_OK;
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

static void
open_group_free(struct server *s, struct open_group *og)
{
	if (og->held)
		server_release_groups(s);
	LIST_REMOVE(og, link);
	mq_group_close(og->group);
	free(og->name);
	free(og);
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

static void
open_stream_free(struct server *s, struct open_stream *os)
{
	struct open_group *og;

	while ((og = LIST_FIRST(&os->groups)) != NULL)
		open_group_free(s, og);
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
	RB_REMOVE(streamtree, &s->streams, os);
	open_stream_free(s, os);
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
	int rc;

	if (name_copy(buf, name, len) == -1)
		return MQ_EBADNAME;
	key.name = buf;
	if ((oz = RB_FIND(zsettree, &s->zsets, &key)) != NULL) {
		*out = oz->zset;
		return MQ_OK;
	}
	if ((oz = calloc(1, sizeof(*oz))) == NULL)
		return MQ_ESYS;
	if ((rc = mq_zset_open(s->spool, buf, create ? MQ_CREATE : 0,
	    &oz->zset)) != MQ_OK) {
		free(oz);
		return rc;
	}
	if ((oz->name = strdup(buf)) == NULL) {
		mq_zset_close(oz->zset);
		free(oz);
		return MQ_ESYS;
	}
	RB_INSERT(zsettree, &s->zsets, oz);
	*out = oz->zset;
	return MQ_OK;
}

void
server_zset_forget(struct server *s, const char *name)
{
	struct open_zset key, *oz;

	key.name = (char *)name;
	if ((oz = RB_FIND(zsettree, &s->zsets, &key)) == NULL)
		return;
	RB_REMOVE(zsettree, &s->zsets, oz);
	mq_zset_close(oz->zset);
	free(oz->name);
	free(oz);
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
	if (os != NULL)
		LIST_FOREACH(og, &os->groups, link)
			if (strcmp(og->name, buf) == 0) {
				group_hold(s, og);
				*out = og->group;
				return MQ_OK;
			}
	if ((rc = mq_group_open(stream, buf, out)) != MQ_OK)
		return rc;
	if (os == NULL) {
		/* Not cached: the caller's stream is its own; it will lock. */
		server_release_groups(s);
		return MQ_OK;
	}
	if ((og = calloc(1, sizeof(*og))) == NULL ||
	    (og->name = strdup(buf)) == NULL) {
		free(og);
		mq_group_close(*out);
		return MQ_ESYS;
	}
	og->group = *out;
	LIST_INSERT_HEAD(&os->groups, og, link);
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
			open_group_free(s, og);
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
server_watch(struct server *s, mq_stream *stream)
{
	struct open_stream *os = find_open(s, stream);
	int rc;

	if (os != NULL && os->watched)
		return MQ_OK;
	if ((rc = mq_watch_add(s->watch, stream)) != MQ_OK)
		return rc;
	if (os != NULL)
		os->watched = 1;
	return MQ_OK;
}

/* Something changed in a watched stream (any process): wake who waits. */
static void
watch_ready(struct loop *loop, int fd, int events, void *arg)
{
	struct server *s = arg;

	/* Drains; 0 if nothing but closes that change nothing came. */
	if (mq_watch_wait(s->watch, 0) == 0)
		return;
	resp_wake_blocked(s);
	resp_pubsub_deliver(s);
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
	server_release_groups(s);
	s->turn++;
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
	LIST_INIT(&s->held);
	TAILQ_INIT(&s->gated);
	RB_INIT(&s->zsets);
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
	while ((os = RB_MIN(streamtree, &s->streams)) != NULL) {
		RB_REMOVE(streamtree, &s->streams, os);
		open_stream_free(s, os);
	}
	while (!RB_EMPTY(&s->zsets))
		server_zset_forget(s, RB_MIN(zsettree, &s->zsets)->name);
	while (s->nlisteners > 0)
		free(s->listeners[--s->nlisteners]);
	mq_watch_close(s->watch);
	mq_spool_close(s->spool);	/* syncs */
	loop_free(s->loop);
	if (logfp != NULL)
		fclose(logfp);
	if (use_syslog)
		closelog();
}
