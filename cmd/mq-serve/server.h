/*
 * server.h - what the parts of mq-serve share: the server, its loop and
 * connections, and the cache of open streams and groups.
 *
 * mq-serve is one process with one event loop (loop.c).  Each listener
 * accepts connections of one protocol (conn.c); a protocol is a pure
 * parser plus a handler that maps frames onto libmq calls and appends
 * replies to the connection's output buffer.  Before the loop sleeps it
 * appends the turn's run of appends (appendq.c), writes what the held
 * groups wait to write, hands the turn's writes to the fsync thread
 * (syncer.c) and writes the replies: under --fsync always only those
 * whose sync is done, the rest when the thread says so.  An
 * acknowledgement never leaves before its write (nor, under "always",
 * before its fsync).
 */
#ifndef MQ_SERVE_SERVER_H
#define MQ_SERVE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "mq.h"

struct loop;
struct server;
struct conn;
struct proto;
struct users;
struct auth_req;
struct fanout_sub;
struct fanout_run;
TAILQ_HEAD(fanout_list, fanout_sub);

/* ---- loop.c: epoll, timers, and a hook before each sleep. */

#define LOOP_READ	0x1
#define LOOP_WRITE	0x2

typedef void loop_io_fn(struct loop *loop, int fd, int events, void *arg);
typedef void loop_timer_fn(struct loop *loop, void *arg);
typedef void loop_hook_fn(struct loop *loop, void *arg);

struct loop	*loop_new(void);
void		 loop_free(struct loop *loop);
/* Watches 'fd' for 'events' (LOOP_READ|LOOP_WRITE, 0 to pause). */
int		 loop_add(struct loop *loop, int fd, int events, loop_io_fn *fn,
		    void *arg);
int		 loop_mod(struct loop *loop, int fd, int events);
void		 loop_del(struct loop *loop, int fd);
/* Calls 'fn' once after 'ms'; returns an id for loop_timer_del (> 0). */
uint64_t	 loop_timer_add(struct loop *loop, int64_t ms, loop_timer_fn *fn,
		    void *arg);
void		 loop_timer_del(struct loop *loop, uint64_t id);
void		 loop_before_sleep(struct loop *loop, loop_hook_fn *fn, void *arg);
/*
 * Runs until loop_stop() (then it may be run again); returns 0, or -1
 * with errno if epoll failed.
 */
int		 loop_run(struct loop *loop);
void		 loop_stop(struct loop *loop);
int64_t		 loop_now_ms(const struct loop *loop);	/* monotonic, this turn */
/* Milliseconds since the epoch, now: the clock of libmq's append times. */
int64_t		 loop_wall_ms(void);

/* ---- conn.c: a connection and its bounded buffers. */

struct proto {
	const char	*name;		/* "resp" */
	/* A new connection: sets conn->state; -1 refuses it. */
	int		(*open)(struct conn *c);
	/*
	 * Handles what arrived in c->in[0 .. c->inlen): consumes whole
	 * frames with conn_consume(), appends replies with conn_write();
	 * what it leaves is kept for the next call (see conn.c).  Returns
	 * 0, or -1 to close the connection after the replies, having said
	 * why with conn_close_after() (else the log says "protocol error").
	 */
	int		(*input)(struct conn *c);
	void		(*close)(struct conn *c);
	/*
	 * Tells a peer refused for --maxclients why, in the protocol's own
	 * words, before the close: one best-effort write to 'fd'
	 * (non-blocking), or nothing where the protocol has no way to.
	 */
	void		(*refuse)(int fd);
	/*
	 * The end of the turn, after its run of appends and before the
	 * replies are sent (and, under --fsync always, held for the sync):
	 * what the door deferred is written now.  May be NULL.
	 */
	void		(*turn_end)(struct server *s);
	/*
	 * The spool's disk became nearly full ('low'), or has room again
	 * (core/disk.c): a door tells its publishers, if its protocol can.
	 * May be NULL.
	 */
	void		(*disk_low)(struct server *s, int low);
};

/*
 * A reply produced as the socket drains (conn_produce): 'more' writes
 * the next part with conn_write, about 'room' bytes (an element may pass
 * it), and returns 1 while more is to come, 0 once the reply is whole,
 * or -1 having closed the connection with conn_abort (a reply cut short
 * cannot be mended); 'free' lets go of the door's 'cookie', after the
 * end or when the connection closes first.
 */
struct conn_producer {
	int	(*more)(struct conn *c, void *cookie, size_t room);
	void	(*free)(void *cookie);
};

struct conn {
	struct server	*server;
	const struct proto *proto;
	void		*state;		/* the protocol's */
	int		 fd;
	uint64_t	 id;
	char		 peer[64];	/* "127.0.0.1:5555" */
	/*
	 * What arrived, not yet consumed: in the server's read buffer while
	 * the protocol handles a read ('in_shared'), else in a buffer of its
	 * own of 'incap' bytes, or NULL when nothing is left (conn.c).
	 */
	char		*in;
	size_t		 inlen, incap;
	int		 in_shared;
	int		 closing;	/* 1: close once 'out' is written; 2: now (conn_abort) */
	char		*out;		/* replies not yet written; NULL once all are */
	size_t		 outlen, outcap, outpos;
	char		*why;		/* what 'closing' logs (allocated), or NULL: "quit" */
	int		 paused;	/* not read: its output is over the limit */
	int		 dead;		/* closed; freed after the turn */
	int64_t		 created_ms, active_ms;
	TAILQ_ENTRY(conn) all;		/* server->conns */
	TAILQ_ENTRY(conn) pending;	/* server->writes: has output */
	int		 in_writes;
	uint64_t	 group_turn;	/* last turn it changed a held group */
	struct auth_req	*auth;		/* its password check (auth.c), or NULL */
	unsigned	 auth_fails;	/* checks failed in a row (auth.c's delays) */
	/*
	 * Under --fsync always, the bytes of 'out' wait for the sync of
	 * what they acknowledge (syncer.c): out_total counts the bytes ever
	 * put in 'out', sent_total those written, ok_total those allowed
	 * out; gate[i] says the bytes up to 'upto' wait for sync 'gen'.
	 */
	uint64_t	 out_total, sent_total, ok_total;
	struct {
		uint64_t gen, upto;
	}		 gate[2];
	int		 ngate;
	TAILQ_ENTRY(conn) glink;	/* server->gated */
	/*
	 * The reply being produced, or NULL, in server->producers; what
	 * others write meanwhile waits in 'after' behind it.
	 */
	const struct conn_producer *producer;
	void		*cookie;	/* the door's */
	int		 producing;	/* its 'more' runs */
	TAILQ_ENTRY(conn) plink;
	char		*after;
	size_t		 afterlen, aftercap;
	int		 input_held;	/* requests wait in 'in' for conn_held */
	/*
	 * Has subscriptions (fanout_join): the pub/sub output limits are
	 * its; over the soft one since 'soft_since_ms', or -1.
	 */
	int		 subscriber;
	int64_t		 soft_since_ms;
};
TAILQ_HEAD(connlist, conn);

void	 conn_write(struct conn *c, const void *p, size_t len);
/*
 * conn_write of bytes that acknowledge nothing the client asked to be
 * kept (a delivery to a consumer: a crash before the sync delivers it
 * again): under --fsync always they wait only behind bytes of the
 * connection that wait for a sync, not for a sync of their own.
 */
void	 conn_write_unsynced(struct conn *c, const void *p, size_t len);
void	 conn_printf(struct conn *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Drops the first 'len' bytes of c->in: the protocol handled them. */
void	 conn_consume(struct conn *c, size_t len);
/*
 * Closes once what is queued is written, logging 'why' (copied; the first
 * reason given stands): a protocol error, say.
 */
void	 conn_close_after(struct conn *c, const char *why);
/* The same when the protocol said goodbye (QUIT): the log says "quit". */
void	 conn_close_after_reply(struct conn *c);
/* Closes now, logging 'why'; the memory goes after the turn. */
void	 conn_close(struct conn *c, const char *why);
/*
 * Closes at the end of the turn without writing anything more, logging
 * 'why' (copied): for a handler that still holds the connection and
 * cannot finish its reply.
 */
void	 conn_abort(struct conn *c, const char *why);
/*
 * Hands the rest of the reply being written (after its first bytes,
 * such as an array's length) to 'ops' with 'cookie': a reply too large
 * to build at once is written a part at a time as the socket drains,
 * at most a few hundred KiB in flight.  Meanwhile the door must run no
 * more requests of 'c' (conn_held), and what is written to 'c' by
 * others waits behind the reply.  Behind another such reply, it is
 * made whole at once, to wait behind that one.
 */
void	 conn_produce(struct conn *c, const struct conn_producer *ops,
	    void *cookie);
/*
 * Whether the door should hold the requests it has of 'c' for now: a
 * reply is being produced, or the unsent output passed --output-limit.
 * conn.c hands them to the door (proto->input) again once that ends.
 * (Inline: the door asks before each request; defined below.)
 */
static inline int conn_held(const struct conn *c);
/*
 * For a door that stopped writing to 'c' because its output passed
 * --output-limit (conn_held): proto->input is called once the output
 * drained below it, with what input waits, maybe none.
 */
void	 conn_input_when_drained(struct conn *c);
/*
 * Whether the peer is this host's loopback as Redis's protected mode
 * sees it: 127.0.0.1 or ::1 (also as ::ffff:127.0.0.1), no other address.
 */
int	 conn_is_local(const struct conn *c);

void	 conn_accept(struct server *s, int fd, const char *peer,
	    const struct proto *proto);
/* Before the turn's writes: the producers write more (conn.c). */
void	 conn_produce_all(struct server *s);
void	 conn_write_all(struct server *s);
/*
 * Writes at once what the connections that subscribe to nothing have
 * queued, as far as their sockets take it (conn_write_all does the
 * rest, and meets the errors): at the end of a turn, before a run of
 * publishes is handed out, so that their publishers' replies wait for
 * no frame (appendq_flush_turn).  Nothing while replies wait for a sync.
 */
void	 conn_write_replies(struct server *s);
/*
 * --fsync always: what the connections wrote this turn waits for sync
 * 'gen' (0: for nothing new) / is released up to sync 'done', or, if
 * that sync failed, its connections are closed without it.
 */
void	 conn_gate(struct server *s, uint64_t gen);
int	 conn_replies_waiting(struct server *s);
void	 conn_release(struct server *s, uint64_t done, int failed);
void	 conn_reap(struct server *s);
/* Frees the buffers kept for connections (at shutdown, after the last). */
void	 conn_free_buffers(struct server *s);
void	 conn_expire_idle(struct server *s);

/* ---- listen.c */

#define LISTEN_HOST_MAX	256	/* the HOST of an address, NUL included */

/*
 * Parses the listening address 'spec': "PORT" (on 127.0.0.1),
 * "HOST:PORT" with an IPv4 address or a host name, or "[IPV6]:PORT".
 * "off", and a PORT of 0 alone, mean no listener; a port of 0 with a
 * host lets the kernel choose a free one.  Fills 'host' (LISTEN_HOST_MAX
 * bytes) and '*port'.  Returns 1, 0 for no listener, or -1 with the
 * reason in '*why' (a static string).  A host name is resolved only by
 * listener_open().
 */
int	 listen_parse(const char *spec, char *host, int *port,
	    const char **why);
/*
 * Listens on 'spec' for clients of 'proto'; logs the address bound.
 * Returns 1, 0 for no listener, or -1 (logged).
 */
int	 listener_open(struct server *s, const char *spec,
	    const struct proto *proto);
/* Calls the turn_end of each listener's protocol that has one. */
void	 listeners_turn_end(struct server *s);
/* Calls the disk_low of each listener's protocol that has one. */
void	 listeners_disk_low(struct server *s, int low);

/* ---- the server. */

/*
 * What the cache counts an open object as holding, in descriptors (the
 * estimate behind its bound, see server.c): a stream its directory and
 * segment, and its index and marks once it has them; a group its
 * journal, its groups/ directory and its readers' segments; a sorted
 * set its directory and its file.  What waits for the fsync thread is
 * a few descriptors whatever was written (libmq's dirty.c), in the
 * server's reserve (fdlimit.c).
 */
#define STREAM_FDS	4
#define GROUP_FDS	4
#define ZSET_FDS	2

/* An open group of an open stream. */
struct open_group {
	LIST_ENTRY(open_group)	 link;
	char			*name;
	mq_group		*group;
	int			 held;		/* mq_group_hold'd, in server->held */
	LIST_ENTRY(open_group)	 hlink;
};
LIST_HEAD(grouplist, open_group);

/*
 * An open stream, kept for the next command that names it, until the
 * cache needs room (server.c).
 */
struct open_stream {
	RB_ENTRY(open_stream)	 link;
	TAILQ_ENTRY(open_stream) lru;		/* server->stream_lru */
	char			*name;
	mq_stream		*stream;
	uint64_t		 used;		/* the command that used it last */
	uint64_t		 checked_turn;	/* last turn it was found not removed */
	size_t			 ngroups;
	LIST_HEAD(, open_group)	 groups;
};
RB_HEAD(streamtree, open_stream);
TAILQ_HEAD(streamlru, open_stream);

/* An open sorted set, kept for the next command that names it. */
struct open_zset {
	RB_ENTRY(open_zset)	 link;
	TAILQ_ENTRY(open_zset)	 lru;		/* server->zset_lru */
	char			*name;
	mq_zset			*zset;
	uint64_t		 used;		/* the command that used it last */
};
RB_HEAD(zsettree, open_zset);
TAILQ_HEAD(zsetlru, open_zset);

struct server_config {
	const char	*spool;
	const char	*resp;		/* [HOST:]PORT, or NULL: off */
	const char	*amqp;		/* [HOST:]PORT, or "off" */
	enum mq_fsync	 fsync;
	int		 fsync_ms;
	size_t		 max_clients;
	size_t		 max_request;	/* bytes of one request */
	size_t		 output_limit;	/* unsent bytes before a client is held */
	/*
	 * A subscriber's unsent bytes: closed past 'pubsub_hard', or past
	 * 'pubsub_soft' for longer than 'pubsub_soft_ms' (0: no limit).
	 */
	size_t		 pubsub_hard, pubsub_soft;
	int64_t		 pubsub_soft_ms;
	int64_t		 idle_timeout_ms; /* 0: none */
	const char	*log;		/* file, or NULL: stderr */
	int		 syslog;	/* a LOG_ facility, or -1: not syslog */
	const char	*users;		/* the users file, or NULL: no AUTH */
	int		 protected_mode; /* no users file: loopback clients only */
};

struct server {
	struct server_config	 cfg;
	struct users		*users;		/* cfg.users loaded, or NULL */
	struct auth		*auth;		/* auth.c's thread, with users */
	struct loop		*loop;
	mq_spool		*spool;
	mq_watch		*watch;		/* every stream a client waits on */
	/*
	 * The cache of open streams (with their groups) and sorted sets,
	 * most recently used first in each list; what it holds, by the
	 * estimate above, and its bound, from the limit on open files.
	 */
	struct streamtree	 streams;
	struct zsettree		 zsets;
	struct streamlru	 stream_lru;
	struct zsetlru		 zset_lru;
	size_t			 nstreams, ngroups, nzsets;
	size_t			 cache_fds, cache_fds_max;
	uint64_t		 evictions;	/* streams and sets closed for room */
	/*
	 * Counts the commands begun: what the cache handed to the one
	 * running stays open until the next begins.
	 */
	uint64_t		 command_seq;
	size_t			 fd_limit;	/* RLIMIT_NOFILE, as raised (fdlimit.c) */
	struct connlist		 conns;
	/*
	 * conn.c's buffers: every read goes to 'rbuf' first (one serves
	 * all, since the loop handles one read at a time), and output
	 * buffers of up to OUT_SPARE_MAX, once written, wait here for the
	 * next connection that writes rather than for free(3).
	 */
	char			*rbuf;
	char			*out_spares[64];
	size_t			 out_spare_caps[64];
	size_t			 nout_spares;
	struct connlist		 writes;	/* connections with output */
	struct connlist		 producers;	/* with a reply being produced */
	struct connlist		 dead;		/* closed this turn */
	size_t			 nconns;
	void			*listeners[8];	/* listen.c's, freed at shutdown */
	size_t			 nlisteners;
	uint64_t		 next_id;
	int64_t			 started_ms;
	uint64_t		 total_conns, total_commands, rejected_conns;
	struct appendq		*appendq;	/* appendq.c's run of appends */
	/* Appends fail for want of disk space (core/disk.c), since when. */
	int			 disk_full;
	int64_t			 disk_failed_ms;	/* the last MQ_ENOSPC */
	int			 disk_low;	/* nearly full (disk.c) */
	uint64_t		 flushes;	/* counts appendq_flush's runs */
	uint64_t		 wal_flushes;	/* 'flushes' at the last wal_tick */
	int			 wal_ticking;	/* wal_tick is armed */
	int			 wal_draining;	/* past WAL_APPLY_BYTES: no logging */
	mq_router		*router;	/* for publishes, opened at the first */
	struct syncer		*syncer;	/* syncer.c's thread, or NULL */
	/* --fsync always, off the loop: see syncer.c. */
	int			 gate_replies;	/* replies wait for their sync */
	struct connlist		 gated;		/* connections with gates */
	struct mq_dirty		 sync_pend;	/* written, not yet handed over */
	uint64_t		 sync_gen;	/* the last sync asked for */
	uint64_t		 sync_inflight;	/* the one the thread is doing */
	int			 sync_busy;
	int			 sync_due;	/* the second is up: sync what waits */
	/*
	 * Groups held (mq_group_hold) through a run of group commands, and
	 * whether the command running may hold the groups it opens.
	 */
	struct grouplist	 held;
	int			 hold_groups;
	uint64_t		 turn;		/* counts the loop's turns */
	int			 watch_woke;	/* this turn: the watch fired */
	struct fanout_list	 fanout;	/* live subscribers (core/fanout.c) */
	struct fanout_run	*fanout_run;	/* publishes to hand them, or NULL */
	int			 exchange_changed;	/* the watch says so */
	struct waiters		*waiters;	/* blocked readers (core/waiters.c) */
	uint64_t		 waiter_retries;	/* reads they ran again */
};

/*
 * The stream 'name' ('len' bytes, no NUL), opened once and kept;
 * MQ_ENOSTREAM if it does not exist and 'create' is 0, MQ_EBADNAME for a
 * name libmq cannot take.
 */
int	 server_stream(struct server *s, const char *name, size_t len,
	    int create, mq_stream **out);
/*
 * Whether an append to stream 'name' may go through the spool's
 * write-ahead log without the stream being open, or, with 'new', because
 * no key has the name (mq_wal_lookup); if so, '*key' is its entry of the
 * log's index, for appendq_add_logged.
 */
int	 server_loggable(struct server *s, const char *name, size_t len,
	    int new, mq_wal_name **key);
/* Forgets (and closes) the open stream 'name', e.g. after it was removed. */
void	 server_stream_forget(struct server *s, const char *name);
/*
 * The sorted set 'name', opened once and kept: MQ_ENOSTREAM if it does
 * not exist and 'create' is 0, MQ_EWRONGTYPE if 'name' is a stream,
 * MQ_EBADNAME.  A kept set may have been emptied (removed) since: it
 * then reads as empty, as a missing key does.
 */
int	 server_zset(struct server *s, const char *name, size_t len,
	    int create, mq_zset **out);
/* Forgets (and closes) the open sorted set 'name', e.g. after DEL. */
void	 server_zset_forget(struct server *s, const char *name);
/* The group 'name' of 'stream', opened once and kept; MQ_ENOGROUP if none. */
int	 server_group(struct server *s, mq_stream *stream, const char *name,
	    size_t len, mq_group **out);
/*
 * Writes what the held groups wait to write and lets them go; a
 * connection whose replies depended on a write that failed is closed
 * without them.  Called before any command that may lock a group another
 * way, and before the replies of a turn are sent.
 */
void	 server_release_groups(struct server *s);
/* Forgets the open group (after XGROUP DESTROY). */
void	 server_group_forget(struct server *s, mq_stream *stream,
	    const char *name);
/* The server's router (mq_router_open at the first call). */
int	 server_router(struct server *s, mq_router **out);
/*
 * Says that the running command keeps none of the pointers the cache
 * handed it so far: what it opened may be closed from now on, as at the
 * next command.  What opens many streams one after another in one
 * command (a round of servings, a hand-back of deliveries to thousands
 * of queues) calls it between them, or the cache would pass its bound
 * in descriptors by all it opened.
 */
void	 server_cache_release(struct server *s);
/*
 * Closes all that the cache holds and nothing uses, for a caller short
 * of descriptors (accept(2) failed with EMFILE: the cache's estimate
 * fell short, as an open that fails does); returns how many it closed.
 */
size_t	 server_cache_relieve(struct server *s);
/* Closes everything the cache holds (at shutdown). */
void	 cache_free(struct server *s);

/* ---- log.c */

void	 server_log(struct server *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Opens (or reopens, after SIGHUP) the log file; NULL: stderr. */
int	 server_log_open(const char *path);
/* From now on, logs with syslog(3) to 'facility' (a LOG_ value). */
void	 server_log_syslog(int facility);
/* Closes the --log file or syslog (at shutdown). */
void	 server_log_close(void);
/*
 * A name from a client as the log shows it: at most 'size' - 1 of the
 * 'len' bytes at 'p', '?' for a byte that is not printable ASCII or is a
 * space, NUL-terminated in 'buf'.
 */
void	 log_shown(char *buf, size_t size, const void *p, size_t len);

/* ---- core/appendq.c: a run of appends becomes one mq_append per stream. */

/*
 * At the flush: the id given, or the error (rc != MQ_OK), and the message
 * as queued ('m', whose bytes stay valid until the flush ends).
 */
typedef void appendq_done_fn(void *arg, mq_stream *stream, int rc, mq_id id,
    long long cookie, const struct mq_msg *m);

/*
 * Queues a copy of 'm' for 'stream' (which must stay open until the
 * flush: server_stream_forget, and the cache before it closes a stream
 * for room, flush first; NULL: nothing is appended, only 'done' called
 * in its turn); 'done' is called at the flush, with
 * 'arg' and 'cookie'.  Returns MQ_OK, or MQ_ESYS: then nothing is queued
 * (out of memory, or asked by a callback of the flush).
 */
int	 appendq_add(struct server *s, mq_stream *stream,
	    const struct mq_msg *m, appendq_done_fn *done, void *arg,
	    long long cookie);
/*
 * The same for stream 'name' ('len' bytes), which server_loggable said
 * may be appended to through the write-ahead log, with its 'key': it
 * need not be open; 'done' gets a NULL stream.
 */
int	 appendq_add_logged(struct server *s, const char *name, size_t len,
	    mq_wal_name *key, const struct mq_msg *m, appendq_done_fn *done,
	    void *arg, long long cookie);
/* Appends what is queued and calls each 'done', in the order queued. */
void	 appendq_flush(struct server *s);
/*
 * The same, as the turn ends (server.c's hook, after which no command
 * runs before the writes): the replies are written before the run's
 * publishes to no log are handed out (conn_write_replies).
 */
void	 appendq_flush_turn(struct server *s);
/* 'arg' goes away: its appends are still made, its 'done' not called. */
void	 appendq_cancel(struct server *s, void *arg);
/*
 * Whether the run holds an entry with no stream (a publish that only
 * this server's subscribers hear).
 */
int	 appendq_holds_bare(const struct server *s);
/* Whether appendq_flush is calling the callbacks (it cannot run again). */
int	 appendq_flushing(const struct server *s);
void	 appendq_free(struct server *s);

/* ---- core/disk.c: whether appends fail for a full disk. */

/*
 * The outcome 'rc' of an append, of any door and path: the first
 * MQ_ENOSPC is logged, and so is the first success after them (see
 * disk.c); other outcomes are not this file's business.
 */
void	 server_appended(struct server *s, int rc);
/*
 * Looks at the spool's free space every DISK_WATCH_MS: below the reserve
 * that appends keep plus DISK_LOW_MARGIN it is nearly full, and the doors
 * are told when that changes (listeners_disk_low).
 */
void	 server_disk_watch(struct server *s);

/* ---- core/grow.c */

/*
 * Makes the array at '*pp' (the address of its pointer), of '*cap'
 * elements of 'size' bytes, hold at least 'need', doubling from 16: 0,
 * or -1 if out of memory (then it is as it was).
 */
int	 array_grow(void *pp, size_t *cap, size_t need, size_t size);

/* ---- syncer.c: the interval fsync, on a thread of its own. */

/*
 * Starts the thread; -1 with errno if it cannot (then syncs run inline).
 * With 'notify', the loop is told of each sync done (--fsync always).
 */
int	 syncer_start(struct server *s, int notify);
/* Hands what was written since the last call to the thread. */
void	 syncer_submit(struct server *s);
/* --fsync always: the end of a turn (see syncer.c). */
void	 syncer_turn(struct server *s);
/* Hands over the last writes, waits for their sync, ends the thread. */
void	 syncer_stop(struct server *s);

/* ---- auth.c: password checks on a thread of their own, for any door. */

/*
 * The answer of auth_check(), on the loop: 'ok' is 1 if the password is
 * the user's.  Called once, later than auth_check() returns, and never
 * for a connection closed meanwhile.
 */
typedef void auth_done_fn(struct conn *c, void *arg, int ok);

/* What INFO tells of auth.c. */
struct auth_stats {
	uint64_t	 checks;	/* run by the thread with crypt(3) */
	uint64_t	 cache_hits;	/* answered by the cache of successes */
	uint64_t	 failures;
	uint64_t	 delayed;	/* held back after a failure */
	size_t		 cached;	/* successes the cache holds */
	size_t		 waiting;	/* held back now */
	size_t		 queued;	/* waiting for the thread now */
	int		 running;	/* the thread checks one now */
};

/* Starts the thread (with a users file); -1 with errno if it cannot. */
int	 auth_start(struct server *s);
/*
 * Checks off the loop whether 'pass' ('plen' bytes) is the password of
 * the user 'user' ('ulen' bytes) in the users file, and calls 'done' with
 * 'arg' once that is known.  A connection has one check at a time: the
 * door runs nothing more of it until the answer.  After a failure, the
 * connection's next check waits first (auth.c says how long).  Returns
 * 0, or -1 with errno: ENOMEM, EBUSY (a check of 'c' is under way),
 * ENOENT (no users file).
 */
int	 auth_check(struct conn *c, const char *user, size_t ulen,
	    const char *pass, size_t plen, auth_done_fn *done, void *arg);
/* Drops the check of 'c' under way, if any (conn_close): no answer comes. */
void	 auth_cancel(struct conn *c);
/*
 * SIGHUP: 'u' (loaded) is the users table from now on, in s->users; the
 * old one is freed once no check uses it, and the cache is emptied.
 */
void	 auth_reload(struct server *s, struct users *u);
void	 auth_stats(struct server *s, struct auth_stats *st);
/* Ends the thread, after its check under way; every connection is closed. */
void	 auth_stop(struct server *s);

/* ---- fdlimit.c: the limit on open files, and who gets what of it. */

/*
 * Raises the soft limit on open files to the hard one, lowers
 * --maxclients if the rest cannot hold them, and sets the bound of the
 * cache (cache_fds_max); logs what it has.  Exits if the limit is too
 * low to serve even one client.
 */
void	 fdlimit_init(struct server *s);

/* The settings of a server that no option changed (the man page's). */
void	 server_defaults(struct server_config *cfg);
/* Opens the spool and the watch, sets up the loop's hooks and timers. */
int	 server_init(struct server *s);
/* Closes every connection, syncs and closes the spool. */
void	 server_shutdown(struct server *s);

static inline int
conn_held(const struct conn *c)
{
	return c->producer != NULL ||
	    c->outlen - c->outpos > c->server->cfg.output_limit;
}

#endif /* MQ_SERVE_SERVER_H */
