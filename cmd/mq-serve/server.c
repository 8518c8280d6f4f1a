/*
 * server.c - the server between the loop and the doors: the watch that
 * other processes' changes wake, the write-ahead log's idle ticks, the
 * hook run before each sleep, start and shutdown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "core/fanout.h"
#include "core/waiters.h"

/*
 * A stream changed, by any process: its waiters may get something; the
 * exchange's log: its live subscribers too.
 */
static void
watch_changed(const char *stream, const char *group, int what, void *arg)
{
	struct server *s = arg;

	waiters_change(s, stream, group, what);
	if (strcmp(stream, MQ_TOPIC_EXCHANGE) == 0)
		s->exchange_changed = 1;
}

/* Something changed in a watched stream (any process): wake who waits. */
static void
watch_ready(struct loop *loop, int fd, int events, void *arg)
{
	struct server *s = arg;
	int rc;

	/*
	 * First: what the cache hands out this turn, the waiters' lookups
	 * included, is looked at for a removal or rename (core/cache.c).
	 */
	s->watch_woke = 1;
	/* 0 if nothing but closes that change nothing came. */
	if ((rc = mq_watch_changes(s->watch, watch_changed, s)) <= 0) {
		if (rc < 0)
			server_log(s, "watch: %s", mq_strerror(rc));
		return;
	}
	if (s->exchange_changed) {
		s->exchange_changed = 0;
		fanout_drain(s);
	}
}

/*
 * The write-ahead log (mq-spool(5)): what XADDs logged, and what an
 * earlier run left there, is given to the streams when the server is
 * quiet, a few streams per tick so that a client arriving meanwhile
 * waits little.  Readers of a stream apply its part themselves: this
 * keeps the log short, and lets processes that may only read see the
 * entries.
 *
 * A server that is never quiet drains the log once it passes
 * WAL_APPLY_BYTES: appends to streams the log holds nothing of go to
 * them directly (server_loggable) and every turn gives the log's
 * batches to WAL_DRAIN_STREAMS more streams (4 MiB of one's at most),
 * until none is left and the log is emptied; then every append may be
 * logged again.  Applying all of it in one turn stalled every client
 * for seconds when 10,000 streams had batches there
 * (docs/spool-scaling.md, "A full log, drained").
 */
#define WAL_TICK_MS	50
#define WAL_TICK_STREAMS 256
#define WAL_APPLY_BYTES	(64u << 20)
#define WAL_DRAIN_STREAMS 8

/*
 * The log's entries could not go to their streams: for want of space,
 * which every tick would meet again, the core logs it once (disk.c).
 */
static void
wal_failed(struct server *s, int rc)
{
	if (rc == MQ_ENOSPC)
		server_appended(s, rc);
	else
		server_log(s, "write-ahead log: %s", mq_strerror(rc));
}

static void
wal_tick(struct loop *loop, void *arg)
{
	struct server *s = arg;
	int more = 0, rc;

	s->wal_ticking = 0;
	if (s->flushes == s->wal_flushes) {
		rc = mq_wal_apply_some(s->spool, WAL_TICK_STREAMS, &more);
		if (rc != MQ_OK)
			wal_failed(s, rc);
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

	if (!s->wal_draining && mq_wal_size(s->spool) > WAL_APPLY_BYTES) {
		s->wal_draining = 1;
		server_log(s, "write-ahead log: %llu bytes, draining",
		    (unsigned long long)mq_wal_size(s->spool));
	}
	if (s->wal_draining) {
		rc = mq_wal_apply_some(s->spool, WAL_DRAIN_STREAMS, &more);
		if (rc != MQ_OK)
			wal_failed(s, rc);
		else if (!more) {
			s->wal_draining = 0;
			server_log(s, "write-ahead log: drained");
		}
	}
	if (!s->wal_ticking && mq_wal_size(s->spool) > 0) {
		s->wal_ticking = 1;
		s->wal_flushes = s->flushes;
		loop_timer_add(s->loop, WAL_TICK_MS, wal_tick, s);
	}
}

/*
 * Before sleeping: append the turn's run of appends (with the replies
 * written before a run of publishes goes to the subscribers, unless they
 * wait for a sync), let each door write what it deferred (publisher
 * confirms), let the large replies write their next parts, make the
 * turn's writes durable (one fsync for all of them under "always", when
 * a reply waits for them, else with the next or within a second), then
 * send the replies, then free what closed.
 */
static void
before_sleep(struct loop *loop, void *arg)
{
	struct server *s = arg;

	appendq_flush_turn(s);
	listeners_turn_end(s);
	wal_check(s);
	server_release_groups(s);
	conn_produce_all(s);
	s->turn++;
	s->watch_woke = 0;
	if (s->cfg.fsync == MQ_FSYNC_ALWAYS) {
		if (s->gate_replies)
			syncer_turn(s);
		else if (!TAILQ_EMPTY(&s->writes) || s->sync_due) {
			mq_spool_sync(s->spool);	/* no thread: on the loop */
			s->sync_due = 0;
		}
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
	else if (s->cfg.fsync == MQ_FSYNC_ALWAYS)
		s->sync_due = 1;	/* what no reply asked for (syncer_turn) */
	loop_timer_add(loop, s->cfg.fsync_ms > 0 ? s->cfg.fsync_ms : 1000,
	    idle_timer, s);
}

void
server_defaults(struct server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->resp = "127.0.0.1:6379";
	cfg->amqp = "127.0.0.1:5672";
	cfg->fsync = MQ_FSYNC_INTERVAL;
	cfg->fsync_ms = 1000;
	cfg->max_clients = 10000;
	cfg->max_request = 512u << 20;
	cfg->output_limit = 32u << 20;
	/* Redis's "client-output-buffer-limit pubsub 32mb 8mb 60". */
	cfg->pubsub_hard = 32u << 20;
	cfg->pubsub_soft = 8u << 20;
	cfg->pubsub_soft_ms = 60000;
	cfg->syslog = -1;
	cfg->protected_mode = 1;
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
	TAILQ_INIT(&s->producers);
	TAILQ_INIT(&s->dead);
	TAILQ_INIT(&s->fanout);
	if ((s->loop = loop_new()) == NULL)
		return MQ_ESYS;
	s->started_ms = loop_now_ms(s->loop);
	if ((rc = mq_spool_open(s->cfg.spool, MQ_CREATE, &s->spool)) != MQ_OK)
		return rc;
	/* The transient queues of a server that died go now. */
	(void)mq_queue_sweep(s->spool, NULL);
	/*
	 * libmq only notes what was written ("interval" with an interval
	 * it never reaches); the syncs run on syncer.c's thread: "always"
	 * one per turn that wrote and has replies, its replies waiting for
	 * it (group commit), the writes no reply waits for within a second;
	 * "interval" fed by idle_timer.
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
	server_disk_watch(s);
	return MQ_OK;
}

void
server_shutdown(struct server *s)
{
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
	waiters_free(s);
	conn_free_buffers(s);
	appendq_free(s);
	fanout_free(s);
	mq_router_close(s->router);
	syncer_stop(s);
	auth_stop(s);
	cache_free(s);
	while (s->nlisteners > 0)
		free(s->listeners[--s->nlisteners]);
	mq_watch_close(s->watch);
	/* What the write-ahead log holds stays there, made durable. */
	mq_spool_close(s->spool);	/* syncs */
	loop_free(s->loop);
	server_log_close();
}
