/*
 * mq.h - the public interface of libmq.
 *
 * libmq keeps streams, consumer groups, queues and dead letters in a spool
 * directory that any number of processes use at once.  Every function
 * returns MQ_OK (0) or a negative enum mq_err; none prints or exits.  When
 * the result is MQ_ESYS, errno says what the system refused.
 *
 * Ownership: an object returned through a 'T **' argument is the caller's
 * and is released with the matching close or free function.  A struct
 * mq_msg filled in by libmq points into memory owned by the object that
 * filled it, and stays valid until the next call on that object.
 *
 * The on-disk format is documented in mq-spool(5); this header only names
 * what callers need.
 */
#ifndef MQ_H
#define MQ_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define MQ_VERSION "0.1.0"

/* ---------------------------------------------------------------------
 * Outcomes
 * ------------------------------------------------------------------- */

enum mq_err {
	MQ_OK = 0,
	MQ_ENOSTREAM = -1,	/* no such stream */
	MQ_ENOGROUP = -2,	/* no such consumer group */
	MQ_EEXIST = -3,		/* the group (or stream) already exists */
	MQ_EIDSMALL = -4,	/* id equal to or smaller than the stream's top */
	MQ_EIDZERO = -5,	/* id 0-0 given where it is not allowed */
	MQ_EBADID = -6,		/* not a valid stream id */
	MQ_ETOOBIG = -7,	/* message over the stream's size limit */
	MQ_ECORRUPT = -8,	/* a file of the spool failed validation */
	MQ_ENOSPC = -9,		/* the disk is (nearly) full */
	MQ_EBADNAME = -10,	/* empty or over-long stream/group/consumer name */
	MQ_EINVAL = -11,	/* an argument out of its range */
	MQ_EVERSION = -12,	/* spool or file of an unknown format version */
	MQ_ENOMSG = -13,	/* no such entry */
	MQ_ESYS = -14,		/* system error; errno is kept */
	MQ_EWRONGTYPE = -15,	/* the name is a key of the other type */
	MQ_ENOEXCHANGE = -16,	/* no such exchange */
	MQ_ERESERVED = -17,	/* a name only the built-in exchanges have */
	MQ_EINUSE = -18,	/* the exchange has bindings (if-unused) */
	MQ_ELOCKED = -19,	/* the queue is another holder's (exclusive) */
	MQ_EFULL = -20		/* the queue is at its max-len (reject overflow) */
};

/* A static description of 'err'; for MQ_ESYS, of the saved errno. */
const char *mq_strerror(int err);

/* ---------------------------------------------------------------------
 * Stream ids: "ms-seq", both unsigned 64-bit, strictly increasing.
 * ------------------------------------------------------------------- */

typedef struct mq_id {
	uint64_t ms;
	uint64_t seq;
} mq_id;

#define MQ_ID_MAX 42		/* "18446744073709551615-18446744073709551615\0" */

int	 mq_id_cmp(mq_id a, mq_id b);	/* <0, 0, >0 */
/* Writes "ms-seq" into 'buf' (MQ_ID_MAX bytes); returns its length. */
int	 mq_id_fmt(char *buf, mq_id id);
/*
 * Parses "ms-seq" or "ms" (seq taken as 'missing_seq': 0 for a start,
 * UINT64_MAX for an end, as XRANGE does).  "-" and "+" are the smallest and
 * largest ids.  Returns MQ_OK or MQ_EBADID.
 */
int	 mq_id_parse(const char *s, size_t len, uint64_t missing_seq, mq_id *id);
/* The id right after / before 'id' (for exclusive ranges); MQ_EBADID at the edge. */
int	 mq_id_incr(mq_id *id);
int	 mq_id_decr(mq_id *id);

/*
 * How the id of an appended message is chosen: "*" (AUTO), "ms-*"
 * (PARTIAL: seq chosen), or "ms-seq" (EXPLICIT).
 */
enum mq_idkind { MQ_ID_AUTO = 0, MQ_ID_PARTIAL, MQ_ID_EXPLICIT };
struct mq_idspec {
	enum mq_idkind	 kind;
	mq_id		 id;	/* ms for PARTIAL, all of it for EXPLICIT */
};
/* Parses "*", "ms-*", "ms" or "ms-seq" as XADD does. */
int	 mq_idspec_parse(const char *s, size_t len, struct mq_idspec *spec);

/* ---------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------- */

struct mq_header {
	const void	*name;
	size_t		 namelen;
	const void	*value;
	size_t		 valuelen;
};

struct mq_msg {
	mq_id			 id;
	uint64_t		 offset;	/* 0-based position in the stream */
	int64_t			 time_ms;	/* when it was appended */
	const void		*key;		/* NULL: no key */
	size_t			 keylen;
	const struct mq_header	*headers;
	size_t			 nheaders;
	const void		*body;
	size_t			 bodylen;
};

/*
 * Deep copies of messages, many in one buffer.  mq_msg_copy() appends a
 * copy of 'src' and of all it points to onto the buffer '*buf', of which
 * '*len' bytes of '*cap' are used (NULL and 0 to start one), growing it
 * with realloc(3), and stores where the copy starts in '*off'; 'src'
 * must not point into the buffer.  The buffer moves as it grows, so the
 * copy becomes a message only when mq_msg_at() makes 'msg' the copy at
 * 'off' of 'buf' (a NULL key or body stays NULL), pointing into it:
 * valid until the buffer moves or is freed (call it again then).  MQ_OK
 * or MQ_ESYS (the buffer as it was); the caller frees the buffer.
 */
int	 mq_msg_copy(const struct mq_msg *src, unsigned char **buf,
	    size_t *len, size_t *cap, size_t *off);
void	 mq_msg_at(unsigned char *buf, size_t off, struct mq_msg *msg);

/*
 * A message's own deadline: the header MQ_EXPIRES_AT, milliseconds since
 * the epoch in decimal.  Past it, a group's readers dead-letter the
 * entry as expired instead of delivering it, as they do one older than
 * the policy's ttl.  mq_msg_deadline() gives it in '*at': 1, or 0 if the
 * message has none (or one that is not a decimal number).
 */
#define MQ_EXPIRES_AT	"mq-expires-at"
int	 mq_msg_deadline(const struct mq_msg *msg, int64_t *at);

/* ---------------------------------------------------------------------
 * Spool
 * ------------------------------------------------------------------- */

typedef struct mq_spool mq_spool;

enum mq_fsync { MQ_FSYNC_NEVER = 0, MQ_FSYNC_INTERVAL, MQ_FSYNC_ALWAYS };

#define MQ_CREATE	0x1	/* create what is missing */

/* The spool used when neither an option nor MQ_SPOOL names one. */
const char *mq_spool_default(void);

/*
 * Opens the spool at 'dir' (created with MQ_CREATE).  Fails with
 * MQ_EVERSION if it was written by an incompatible version.  Opening a
 * spool, a stream or a group that exists needs no write access, with
 * MQ_CREATE or without.
 */
int	 mq_spool_open(const char *dir, int flags, mq_spool **spool);
/* Makes every write of this process durable, then frees the spool. */
void	 mq_spool_close(mq_spool *spool);
const char *mq_spool_path(const mq_spool *spool);
/*
 * Whether this process can write the spool: creates and removes a file
 * in it (see mq-spool(5)).  MQ_OK, or MQ_ESYS with errno EACCES, EROFS,
 * ENOSPC, ...
 */
int	 mq_spool_writable(mq_spool *spool);
/*
 * The bytes of the spool's filesystem free for unprivileged writers, in
 * '*avail', and the part of them appends leave free (MQ_FREE_RESERVE:
 * an append that would go below it fails with MQ_ENOSPC) in '*reserve'.
 * MQ_OK, or MQ_ESYS.
 */
int	 mq_spool_avail(mq_spool *spool, uint64_t *avail, uint64_t *reserve);
/*
 * The fsync policy of this process's appends: ALWAYS (before the append
 * returns), INTERVAL, or NEVER.  With INTERVAL (the default, 1000 ms)
 * what this process wrote is made durable by its first write after
 * 'interval_ms' have passed, by mq_spool_sync() and by mq_spool_close();
 * there is no timer, so a process that idles with unsynced writes calls
 * mq_spool_sync() before it sleeps (the tools do; mq-serve syncs on a
 * thread of its own, see mq_spool_take_dirty()).
 */
void	 mq_spool_set_fsync(mq_spool *spool, enum mq_fsync policy, int interval_ms);
/* Parses "always", "interval", "never" or "interval:MS". */
int	 mq_fsync_parse(const char *s, enum mq_fsync *policy, int *interval_ms);
/* Makes every append this process made durable now. */
int	 mq_spool_sync(mq_spool *spool);
/*
 * What a process wrote and has not made durable yet: up to
 * MQ_DIRTY_FILES files, each made durable with fdatasync(2); past that,
 * the whole filesystem, one descriptor per device made durable with
 * syncfs(2), which costs one journal commit however many files were
 * written.  The descriptors are duplicates, the set's own.
 */
#define MQ_DIRTY_FILES	4
struct mq_dirty {
	int		*fds;
	dev_t		*devs;
	ino_t		*inos;
	size_t		 n, cap;
	int		 whole_fs;
};
void	 mq_dirty_init(struct mq_dirty *dirty);
int	 mq_dirty_empty(const struct mq_dirty *dirty);
/* Moves what 'from' holds into 'into'; MQ_OK, or MQ_ESYS with errno. */
int	 mq_dirty_merge(struct mq_dirty *into, struct mq_dirty *from);
/* Makes what 'dirty' holds durable and empties it; MQ_ESYS if a sync failed. */
int	 mq_dirty_sync(struct mq_dirty *dirty);
/* Closes what 'dirty' holds without syncing it, and frees its memory. */
void	 mq_dirty_free(struct mq_dirty *dirty);
/*
 * For a process that syncs on a thread of its own: moves what
 * mq_spool_sync would sync into 'out' (added to what it holds), and
 * counts the interval from now.
 */
int	 mq_spool_take_dirty(mq_spool *spool, struct mq_dirty *out);

/* Calls 'fn' with each stream's name, in no set order; stops on non-zero. */
int	 mq_spool_streams(mq_spool *spool,
	    int (*fn)(const char *name, void *arg), void *arg);

/* ---------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------- */

typedef struct mq_stream mq_stream;

#define MQ_NAME_MAX 200			/* bytes of a stream, group or consumer name */
#define MQ_MSG_DEFAULT (1u << 20)	/* default max message size: 1 MiB */
#define MQ_MSG_LIMIT (512u << 20)	/* the largest allowed max size: 512 MiB */

/*
 * Opens stream 'name' (created with MQ_CREATE); MQ_ENOSTREAM if missing.
 * A process that may read the stream but not write it (EACCES, EROFS)
 * gets a read-only handle: it reads, and every change through it fails
 * with MQ_ESYS and that errno, writing nothing.
 */
int	 mq_stream_open(mq_spool *spool, const char *name, int flags,
	    mq_stream **stream);
void	 mq_stream_close(mq_stream *stream);
const char *mq_stream_name(const mq_stream *stream);
/* Removes the stream, its groups and its policy from the spool. */
int	 mq_stream_remove(mq_spool *spool, const char *name);
/*
 * Renames stream 'from' to 'to' with everything it has (entries, groups
 * and their pending entries, policy).  MQ_ENOSTREAM if 'from' is
 * missing, MQ_EWRONGTYPE if it is a sorted set (mq_zset_rename); if a
 * key of either type has the name 'to', MQ_EEXIST, or with 'replace' it
 * is removed first.  Renaming a stream to its own name changes nothing
 * (MQ_EEXIST without 'replace').  What names the stream elsewhere keeps
 * the old name: bindings, other streams' dead-letter targets; a default
 * dead-letter stream ("<name>.dlq") follows the new name.
 */
int	 mq_stream_rename(mq_spool *spool, const char *from, const char *to,
	    int replace);
/*
 * 1 if the stream was removed, or renamed, since it was opened (by any
 * process): its name no longer leads to it.  A process that keeps a
 * handle open asks this before using it and, if so, opens the name again.
 */
int	 mq_stream_removed(mq_stream *stream);
/*
 * The same for a process that asks often (before each command): it looks
 * only once a removal or rename happened somewhere on the spool since it
 * last looked, which a process woken by that very change may not see
 * yet; after a wake-up of mq_watch_wait(), ask mq_stream_removed().
 */
int	 mq_stream_removed_lazy(mq_stream *stream);

/*
 * Appends 'n' messages in one batch: one lock, one write(2), and at most
 * one fsync.  The id of each comes from 'specs[i]' (NULL: all automatic);
 * msgs[i].id/offset/time_ms are ignored.  On success the ids are stored
 * in 'ids' if not NULL.  Nothing is appended on error: MQ_EIDSMALL,
 * MQ_EIDZERO, MQ_ETOOBIG, MQ_ENOSPC, MQ_ESYS -- except that under the
 * "always" fsync policy a failed fdatasync is reported after the batch
 * was written (it is in the file, but may not survive a power loss).
 */
int	 mq_append(mq_stream *stream, const struct mq_msg *msgs, size_t n,
	    const struct mq_idspec *specs, mq_id *ids);

/*
 * The write-ahead log (mq-spool(5), "WRITE-AHEAD LOG"): a process that
 * appends to many streams at once writes a turn of appends to all of
 * them as one write to SPOOL/wal, and each stream gets its batches when
 * it is next read or changed, by any process.
 *
 * mq_wal_note() says that 'stream' may be appended to through the log:
 * it exists and its policy asks nothing of an append that the log
 * cannot do (no max-len).  mq_wal_loggable() tells whether stream 'name'
 * was noted and nothing changed since (a meta file replaced, a stream
 * removed or renamed: then every stream must be noted again): 1 if so,
 * -1 if it was noted as one that must be appended to directly, 0 if it
 * was not noted.
 *
 * A turn: mq_wal_begin() takes the log's lock; mq_wal_append() gives the
 * messages ids above the stream's top, as XADD * does, and adds them to
 * the turn, or returns MQ_ENOSTREAM when 'name' is not loggable or its
 * top is not known any more (append it with mq_append(), which may be
 * called inside the turn); mq_wal_commit()
 * writes the turn with one write, applies the fsync policy and gives
 * the lock back.  Ids and MQ_OK from mq_wal_append() stand only once
 * mq_wal_commit() returned MQ_OK.
 *
 * mq_wal_apply_some() applies the batches of up to 'max' streams ('*more'
 * says whether some are left) and, once none are, empties the log; for
 * a process that has time (mq-serve, idle), 4 MiB of one stream's at
 * most a call.  mq_wal_reset() applies everything and empties the log
 * at once.  mq_wal_size() is the bytes logged and not emptied yet.
 * mq_wal_waiting() tells whether the log holds batches of the stream of
 * 'key' that this process does not know to be applied: a process that
 * drains the log with mq_wal_apply_some() may go on logging to those,
 * which the drain reaches anyway, and append to the others directly, so
 * that the log empties.
 */
int	 mq_wal_note(mq_stream *stream);
/*
 * The same for a stream 'name' that does not exist yet: appended to
 * through the log, it is made when its entries are first given to it.
 * MQ_EEXIST if it exists, MQ_EWRONGTYPE if a sorted set has the name.
 */
int	 mq_wal_note_new(mq_spool *spool, const char *name);
int	 mq_wal_loggable(mq_spool *spool, const char *name);
/*
 * mq_wal_lookup() is mq_wal_loggable() that, when it returns 1, gives
 * the stream's entry of the log's index in '*key', good while the spool
 * is open, for mq_wal_append_key(): a queue of appends to many streams
 * finds each name once.  With 'new', a name not noted is noted as
 * mq_wal_note_new() does, and 1 returned if that succeeded.
 */
typedef struct mq_wal_name mq_wal_name;
int	 mq_wal_lookup(mq_spool *spool, const char *name, int new,
	    mq_wal_name **key);
int	 mq_wal_begin(mq_spool *spool);
int	 mq_wal_append(mq_spool *spool, const char *name,
	    const struct mq_msg *msgs, size_t n, mq_id *ids);
int	 mq_wal_append_key(mq_spool *spool, mq_wal_name *key,
	    const struct mq_msg *msgs, size_t n, mq_id *ids);
int	 mq_wal_commit(mq_spool *spool);
int	 mq_wal_apply_some(mq_spool *spool, size_t max, int *more);
int	 mq_wal_reset(mq_spool *spool);
uint64_t mq_wal_size(mq_spool *spool);
int	 mq_wal_waiting(const mq_wal_name *key);

struct mq_stream_info {
	uint64_t	 length;	/* entries, less the deleted ones */
	uint64_t	 first_offset;	/* first offset not trimmed */
	uint64_t	 next_offset;	/* offset of the next append */
	uint64_t	 entries_added;	/* all entries ever added (XSETID may set it) */
	mq_id		 first_id;	/* of the first entry, 0-0 if none */
	mq_id		 last_id;	/* top id, kept after deletes */
	mq_id		 max_deleted_id; /* largest id deleted (XDEL, XSETID) */
	uint64_t	 bytes;		/* of its segment files */
	uint64_t	 segments;
	uint64_t	 groups;
};
int	 mq_stream_info(mq_stream *stream, struct mq_stream_info *info);
/* Only the top id (info's last_id): no directory listing, no read. */
int	 mq_stream_top(mq_stream *stream, mq_id *top);

/* Deletes entries by id (XDEL); '*deleted' counts those that existed. */
int	 mq_delete(mq_stream *stream, const mq_id *ids, size_t n, size_t *deleted);

/* Trims to at most 'maxlen' entries / entries with id >= 'minid' (XTRIM). */
int	 mq_trim_maxlen(mq_stream *stream, uint64_t maxlen, uint64_t *removed);
int	 mq_trim_minid(mq_stream *stream, mq_id minid, uint64_t *removed);
/*
 * Sets the top id (XSETID): MQ_EIDSMALL if 'last' is below the last
 * entry's id or below 'max_deleted'; MQ_EINVAL if 'entries_added' is
 * below the length.  'entries_added' UINT64_MAX and 'max_deleted' 0-0
 * leave those as they are.
 */
int	 mq_stream_setid(mq_stream *stream, mq_id last, uint64_t entries_added,
	    mq_id max_deleted);

/* ---------------------------------------------------------------------
 * Reading a stream: a cursor that hands out one message at a time.
 * ------------------------------------------------------------------- */

typedef struct mq_reader mq_reader;

int	 mq_reader_open(mq_stream *stream, mq_reader **reader);
void	 mq_reader_close(mq_reader *reader);
/* Positions at the first entry with id >= 'id' / offset >= 'offset'. */
int	 mq_reader_seek_id(mq_reader *reader, mq_id id);
int	 mq_reader_seek_offset(mq_reader *reader, uint64_t offset);
/* Positions after the last entry: only what is appended later is read. */
int	 mq_reader_seek_end(mq_reader *reader);
/*
 * Fills 'msg' with the next entry and returns 1, or 0 at the end (more
 * may arrive later), or an error.  Deleted and trimmed entries are skipped.
 */
int	 mq_reader_next(mq_reader *reader, struct mq_msg *msg);
/* Reads the entry with exactly this id: 1, or 0 if there is none. */
int	 mq_reader_get(mq_reader *reader, mq_id id, struct mq_msg *msg);

/*
 * Calls 'fn' for each entry with start <= id <= end, forward or (with
 * 'reverse') backward, at most 'count' of them (0: no limit).  'fn'
 * returns 0 to go on.  Returns MQ_OK or an error.
 */
int	 mq_range(mq_stream *stream, mq_id start, mq_id end, size_t count,
	    int reverse, int (*fn)(const struct mq_msg *msg, void *arg),
	    void *arg);

/*
 * A cursor: the entries start..end of a stream as they are now, handed
 * out later, one at a time, whatever happens to the stream meanwhile;
 * for a server that sends a large range as its client reads it.
 * mq_cursor_open() counts them in '*n' without reading them (at most
 * 'count', 0: no limit; the first ones, or with 'reverse' the last
 * ones, newest first), from the stream's offsets and its deleted
 * entries, and opens the segment files that hold them: what is appended,
 * deleted or trimmed later, a segment that retention removes, even the
 * stream removed or renamed, changes nothing it hands out, and 'stream'
 * may be closed once it returns.  It holds one descriptor per segment
 * of the range (two going backward) and about 128 KiB of buffers.
 * mq_cursor_next() fills 'msg' (valid until the next call) and returns
 * 1, or 0 once the '*n' entries are out, or an error.
 */
typedef struct mq_cursor mq_cursor;

int	 mq_cursor_open(mq_stream *stream, mq_id start, mq_id end,
	    size_t count, int reverse, mq_cursor **cursor, uint64_t *n);
int	 mq_cursor_next(mq_cursor *cursor, struct mq_msg *msg);
void	 mq_cursor_close(mq_cursor *cursor);

/* ---------------------------------------------------------------------
 * Waiting for appends without polling (inotify underneath).
 * ------------------------------------------------------------------- */

typedef struct mq_watch mq_watch;

int	 mq_watch_open(mq_watch **watch);
void	 mq_watch_close(mq_watch *watch);
/*
 * Adds a stream to watch: its appends, deletes and trims, the changes of
 * its groups, and the death of a reader that attached a consumer of one
 * (mq_group_attach), by any process, wake the watch.
 */
int	 mq_watch_add(mq_watch *watch, mq_stream *stream);
/*
 * Stops watching a stream (for a process that watches many in turn).
 * The watch is the directory's: it ends for every handle of the stream
 * added to 'watch' (a subscription's, mq_sub_watch, included).
 */
int	 mq_watch_remove(mq_watch *watch, mq_stream *stream);
/*
 * For a process that waits on many streams without keeping them open:
 * mq_watch_add_id() is mq_watch_add() that names the watch in '*id', and
 * mq_watch_drop() ends it (and that of the stream's groups) by that name,
 * the stream closed or gone.  Ending it twice, or once its directory is
 * gone, is harmless.
 */
int	 mq_watch_add_id(mq_watch *watch, mq_stream *stream, int *id);
int	 mq_watch_drop(mq_watch *watch, int id);
/* Adds the spool's list of streams: a stream created by any process wakes the watch. */
int	 mq_watch_spool(mq_watch *watch, mq_spool *spool);
/*
 * A descriptor that polls readable when something may have changed;
 * mq_watch_wait(watch, 0) then says whether it did.
 */
int	 mq_watch_fd(const mq_watch *watch);
/*
 * Waits until a watched stream changed or 'timeout_ms' passed (-1: no
 * limit).  Returns 1 on change, 0 on timeout, MQ_ESYS (errno EINTR when a
 * signal came).  Drains the descriptor either way; events that change
 * nothing for a reader are drained without ending the wait.
 */
int	 mq_watch_wait(mq_watch *watch, int timeout_ms);
/*
 * Reads what the kernel queued and reports which streams changed, for a
 * process that waits on many: 'fn' is called per event with the stream's
 * name and what changed (one of the MQ_WATCH_ values below; 'group'
 * names the group for MQ_WATCH_GROUP, or is NULL when a reader attached
 * to one of the stream's groups died).  A stream may be reported more
 * than once.  Appends through the write-ahead log, by any process this
 * one included, are reported once per stream and event of the log.
 * Returns 1 if anything was reported, 0 if not, or MQ_ESYS.  Use it or
 * mq_watch_wait() on a watch, not both.
 */
#define MQ_WATCH_ENTRIES 0x1	/* appended to, trimmed, entries deleted */
#define MQ_WATCH_GROUP	0x2	/* a group's journal written */
#define MQ_WATCH_GONE	0x4	/* removed or renamed */
#define MQ_WATCH_MADE	0x8	/* made, by any process (mq_watch_spool) */
typedef void mq_watch_fn(const char *stream, const char *group, int what,
	    void *arg);
int	 mq_watch_changes(mq_watch *watch, mq_watch_fn *fn, void *arg);

/* ---------------------------------------------------------------------
 * Consumer groups
 * ------------------------------------------------------------------- */

typedef struct mq_group mq_group;

/* MQ_ID_LAST as a group's start means "$": the stream's current top. */
extern const mq_id MQ_ID_LAST;

/*
 * Creates group 'name' on 'stream' with last-delivered id 'start' (0-0:
 * from the beginning).  MQ_EEXIST if it exists.
 */
int	 mq_group_create(mq_stream *stream, const char *name, mq_id start,
	    int64_t entries_read);
int	 mq_group_destroy(mq_stream *stream, const char *name);
/* Calls 'fn' with each group's name. */
int	 mq_stream_groups(mq_stream *stream,
	    int (*fn)(const char *name, void *arg), void *arg);

/*
 * Opens group 'name'; MQ_ENOGROUP if there is none.  As for a stream, a
 * process that may only read the group's journal gets a handle that
 * looks (info, pending, consumers) and refuses every change
 * with MQ_ESYS (EACCES, EROFS).
 */
int	 mq_group_open(mq_stream *stream, const char *name, mq_group **group);
/* Releases the group first if it is held. */
void	 mq_group_close(mq_group *group);

/*
 * Holding, for a server that makes many changes to a group in a row:
 * mq_group_hold takes the group's lock without waiting and keeps it, so
 * that the changes that follow neither lock nor catch up, and their
 * records wait in memory; mq_group_release writes them in one write and
 * lets go.  Returns 1 if held, 0 if another process has the lock (then
 * nothing is held and changes lock as usual), or an error.  While it
 * holds a group, the caller must not wait for any other lock of the
 * spool's groups (release first) nor open the same group again, and
 * must release before it reports the changes as done: until then they
 * are not in the file.  mq_group_release returns MQ_OK, or the error of
 * the write (the replica is then reloaded from the file).
 */
int	 mq_group_hold(mq_group *group);
int	 mq_group_release(mq_group *group);
int	 mq_group_setid(mq_group *group, mq_id id, int64_t entries_read);

/*
 * Delivers up to 'count' new entries ('>') to 'consumer': entries handed
 * back with mq_group_nack come first, then those after the group's
 * cursor.  With 'noack' they are not added to the pending list.  Returns
 * the number delivered (>= 0) in '*n'; 'msgs' must hold 'count' entries
 * and stays valid until the next call on 'group'.
 */
int	 mq_group_read(mq_group *group, const char *consumer, size_t count,
	    int noack, struct mq_msg *msgs, size_t *n);
/*
 * The consumer's own pending entries with id > 'after' (XREADGROUP with an
 * id).  A pending entry that was deleted comes back with body NULL and
 * nheaders 0.
 */
int	 mq_group_history(mq_group *group, const char *consumer, mq_id after,
	    size_t count, struct mq_msg *msgs, size_t *n);

/* Acknowledges; '*acked' counts the ids that were pending. */
int	 mq_group_ack(mq_group *group, const mq_id *ids, size_t n,
	    size_t *acked);
/*
 * Hands pending entries back for redelivery before new ones, once their
 * retry delay has passed: 'delay_ms' (-1: the stream's retry delay; 0:
 * none), doubled for each delivery after the first, up to the stream's
 * retry maximum (but never below 'delay_ms').  With 'reject',
 * dead-letters them instead (reason "rejected").  An entry whose
 * delivery count reached the stream's delivery limit is dead-lettered
 * (reason "delivery-limit").  '*done' counts the ids that were pending.
 */
int	 mq_group_nack(mq_group *group, const mq_id *ids, size_t n, int reject,
	    int64_t delay_ms, size_t *done);

/*
 * Dead-letters ("expired") the entries after the cursor that are past
 * the stream's ttl or their own deadline, as a read would, but delivers
 * nothing: it stops at the first entry that has not expired, and says
 * in '*next' when that one will (milliseconds since the epoch), or -1
 * if it never will or there is none.  For a server that expires what
 * no one reads, as AMQP brokers do for a dead-letter exchange.
 */
int	 mq_group_expire(mq_group *group, int64_t *next);

/*
 * Attaches 'consumer' to the life of this process, for a reader that
 * lives as long as its work: while the process lives (until
 * mq_group_close(), which lets go), its pending entries stay its
 * own whatever the lease; once it dies, however it dies, the next new
 * read of the group by any process hands them back first, counting a
 * delivery.  Returns 1 if no other live process had the consumer
 * attached (its pending entries, if any, were left by earlier runs:
 * mq_group_history() gives them back to it), 0 if one has (both share
 * it), or an error; MQ_EINVAL if this handle attached one already.
 * Readers that do not attach are covered by the stream's lease instead:
 * a new read hands back entries pending for longer than the lease.
 */
int	 mq_group_attach(mq_group *group, const char *consumer);
/*
 * When a new read may find entries that it would not find now (a
 * nacked entry's retry delay ends, a lease expires), in milliseconds
 * since the epoch; -1 if nothing is waiting for a time.  It may be
 * early, never late: a reader that waits sleeps until then at most.
 */
int	 mq_group_next_due(mq_group *group, int64_t *when);

struct mq_pending {
	mq_id		 id;
	const char	*consumer;	/* "" when handed back by a nack */
	int64_t		 delivered_ms;	/* time of the last delivery */
	uint64_t	 count;		/* deliveries */
};

/* Flags of a claim (XCLAIM). */
#define MQ_CLAIM_FORCE		0x1	/* claim ids that are not pending */
#define MQ_CLAIM_JUSTID		0x2	/* do not count a delivery */

/*
 * Gives the entries among 'ids' idle for at least 'min_idle_ms' to
 * 'consumer' (XCLAIM).  'time_ms' (-1: now) and 'retrycount' (-1: keep or
 * add one) set the new delivery state.  Claimed ids go to 'out' (room for
 * 'n') and their count to '*claimed'.  Entries whose message was deleted
 * are dropped from the pending list and not claimed.
 */
int	 mq_group_claim(mq_group *group, const char *consumer,
	    int64_t min_idle_ms, const mq_id *ids, size_t n, int64_t time_ms,
	    int64_t retrycount, int flags, mq_id *out, size_t *claimed);
/*
 * XAUTOCLAIM: scans pending entries from 'start', claims up to 'count'
 * idle ones, sets '*next' to where the next call should start (0-0 at the
 * end), and lists deleted ones it dropped in 'deleted' (room for 'count').
 */
int	 mq_group_autoclaim(mq_group *group, const char *consumer,
	    int64_t min_idle_ms, mq_id start, size_t count, int flags,
	    mq_id *out, size_t *claimed, mq_id *next, mq_id *deleted,
	    size_t *ndeleted);

/*
 * Lists pending entries with start <= id <= end, of 'consumer' if not
 * NULL, idle at least 'min_idle_ms', at most 'count'; views stay valid
 * until the next call on 'group'.
 */
int	 mq_group_pending(mq_group *group, mq_id start, mq_id end, size_t count,
	    const char *consumer, int64_t min_idle_ms, struct mq_pending *out,
	    size_t *n);

struct mq_group_info {
	const char	*name;
	mq_id		 last_delivered;
	int64_t		 entries_read;	/* -1: unknown */
	int64_t		 lag;		/* -1: unknown */
	uint64_t	 pending;
	uint64_t	 consumers;
	mq_id		 pending_min, pending_max;
};
int	 mq_group_info(mq_group *group, struct mq_group_info *info);
/* Only last_delivered: no read of the stream, for a caller that asks often. */
int	 mq_group_cursor(mq_group *group, mq_id *last_delivered);

struct mq_consumer_info {
	const char	*name;
	uint64_t	 pending;
	int64_t		 seen_ms;	/* last attempted interaction */
	int64_t		 active_ms;	/* last successful delivery, -1: never */
	int		 attached;	/* a live reader attached it (or died) */
};
/* Calls 'fn' for each consumer of the group. */
int	 mq_group_consumers(mq_group *group,
	    int (*fn)(const struct mq_consumer_info *c, void *arg), void *arg);
/* Creates (1) or finds (0) a consumer / deletes one, returning its pending count. */
int	 mq_group_consumer_create(mq_group *group, const char *consumer);
int	 mq_group_consumer_delete(mq_group *group, const char *consumer,
	    uint64_t *pending);

/* ---------------------------------------------------------------------
 * Queue policy: stored with the stream, applied by every process.
 * ------------------------------------------------------------------- */

/*
 * What an append past max_len does: drop the oldest entries, dead-letter
 * them, or (REJECT) refuse the append with MQ_EFULL, appending nothing.
 */
enum mq_overflow {
	MQ_OVERFLOW_DROP = 0, MQ_OVERFLOW_DEADLETTER, MQ_OVERFLOW_REJECT
};

/*
 * Dead letters routed through an exchange: with MQ_DL_EXCHANGE in
 * dl_route, a dead letter goes to the queues that exchange dl_exchange
 * routes it to (with MQ_DL_KEY the key dl_key, else its own key) instead
 * of the dead-letter stream; one no queue takes goes there after all.
 * A copy routed so carries two more headers: MQ_DL_VIA, the exchange,
 * and MQ_DL_KEYWAS, its key before (when it had one).  A dead letter is
 * not routed back to a queue it was dead-lettered from before unless
 * one of its dead-letterings was a rejection, so that expiry or max-len
 * cannot cycle forever; it goes to the others.
 */
#define MQ_DL_EXCHANGE	0x1
#define MQ_DL_KEY	0x2
#define MQ_DLKEY_MAX	255		/* bytes of dl_key */
#define MQ_DL_VIA	"mq-exchange"
#define MQ_DL_KEYWAS	"mq-key"

struct mq_policy {
	uint64_t	 delivery_limit;	/* 0: none */
	int64_t		 ttl_ms;		/* 0: none */
	uint64_t	 max_len;		/* 0: none */
	uint64_t	 max_bytes;		/* 0: none (whole segments) */
	int64_t		 max_age_ms;		/* 0: none (whole segments) */
	uint64_t	 max_len_bytes;		/* bodies kept, in bytes; 0: none */
	enum mq_overflow overflow;		/* at max_len, max_len_bytes */
	uint32_t	 max_msg;		/* max message size in bytes */
	uint64_t	 segment_bytes;		/* size at which a segment is sealed */
	char		 dead_letter[MQ_NAME_MAX + 1]; /* "": "<stream>.dlq" */
	int		 dl_route;		/* MQ_DL_EXCHANGE, MQ_DL_KEY */
	char		 dl_exchange[MQ_NAME_MAX + 1];	/* dead letters go
						   through it ("": the default
						   exchange) ... */
	char		 dl_key[MQ_DLKEY_MAX + 1];	/* ... with this key,
						   else their own */
	int64_t		 lease_ms;		/* pending entries of a consumer that
						   holds no lock are taken back after
						   this long; 0: never */
	int64_t		 retry_delay_ms;	/* a nacked entry waits this long
						   (0: none), doubled per
						   delivery ... */
	int64_t		 retry_max_ms;		/* ... up to this; 0: no most */
};

#define MQ_LEASE_DEFAULT	(30 * 60 * 1000)	/* 30 minutes */
#define MQ_RETRY_DELAY_DEFAULT	1000			/* 1 second */
#define MQ_RETRY_MAX_DEFAULT	(5 * 60 * 1000)		/* 5 minutes */

int	 mq_policy_get(mq_stream *stream, struct mq_policy *policy);
int	 mq_policy_set(mq_stream *stream, const struct mq_policy *policy);

/* The dead-letter stream of 'stream', written into 'buf' (MQ_NAME_MAX+1). */
int	 mq_dead_letter_name(mq_stream *stream, char *buf);
/*
 * Dead-letters copies of the 'n' messages 'msgs' of 'stream' as libmq
 * does its own (to the dead-letter stream, or through the dead-letter
 * exchange), with 'reason' and a delivery count of 0: for a caller that
 * refused them, as AMQP's reject-publish-dlx refuses a publish to a full
 * queue.
 */
int	 mq_stream_dead_letter(mq_stream *stream, const struct mq_msg *msgs,
	    size_t n, const char *reason);

/* ---------------------------------------------------------------------
 * Queue declarations: what an AMQP queue.declare asked of a stream.
 * ------------------------------------------------------------------- */

/*
 * A declared queue is a stream with its declaration kept beside it, in
 * the stream's directory, so it goes with the stream (removed, renamed)
 * and a declare or a lookup touches one small file whatever the number
 * of queues.  A queue that is not MQ_QDURABLE, or is MQ_QEXCLUSIVE,
 * belongs to the spool handle that declared it, as a transient exchange
 * does (one owner per handle, see mq_exchange_declare): it is removed,
 * its stream with it if the declare made the stream, when the handle is
 * closed, and when anyone finds its owner gone (a lookup, a declare,
 * mq_queue_sweep).  An exclusive queue is also its 'holder''s, a name
 * the caller gives (a connection), whom only it may use.
 */
#define MQ_QDURABLE	0x1	/* kept until deleted; else while its owner lives */
#define MQ_QEXCLUSIVE	0x2	/* its holder's alone, and its owner's */
#define MQ_QAUTODELETE	0x4	/* kept for the caller (goes with its last consumer) */
#define MQ_QPASSIVE	0x100	/* mq_queue_declare: only look it up */

#define MQ_QARGS_MAX	65536	/* bytes of a queue's arguments */
#define MQ_QHOLDER_MAX	64	/* bytes of a holder's name */

struct mq_queue {
	const char	*name;
	int		 flags;		/* MQ_QDURABLE, MQ_QEXCLUSIVE, MQ_QAUTODELETE */
	const char	*holder;	/* exclusive: its holder; else "" */
	const void	*args;		/* opaque (an AMQP field table), NULL if none */
	size_t		 argslen;
	int		 declared;	/* lookup: 0 for a stream never declared */
	int		 mine;		/* this handle owns it */
};

/*
 * Declares queue q->name: makes its stream if missing and keeps 'q''s
 * flags, holder and arguments with it, unless it has a declaration
 * already, which is left as it is: the caller compares.  '*cur' (if not
 * NULL) gets the declaration in place, pointing into the handle (valid
 * until its next mq_queue_ call), and '*made' (if not NULL) 1 if this
 * call wrote it.  MQ_ELOCKED if the queue is exclusive and 'q' is not
 * its holder, or 'q' asks for exclusive and the queue is not; with
 * MQ_QPASSIVE in 'flags' nothing is written, and a missing stream is
 * MQ_ENOSTREAM.  MQ_EBADNAME, MQ_EINVAL (flags, arguments over
 * MQ_QARGS_MAX, a holder over MQ_QHOLDER_MAX), MQ_EWRONGTYPE.
 */
int	 mq_queue_declare(mq_spool *spool, const struct mq_queue *q, int flags,
	    struct mq_queue *cur, int *made);
/*
 * The declaration of queue 'name' in '*cur' as above: MQ_ENOSTREAM if
 * there is no such stream, or one whose owner is gone (then removed); a
 * stream without a declaration is a durable queue without arguments,
 * with cur->declared 0.
 */
int	 mq_queue_lookup(mq_spool *spool, const char *name, struct mq_queue *cur);
/*
 * Whether 'holder' may use queue 'name': MQ_OK, MQ_ELOCKED if it is
 * another holder's exclusive queue, MQ_ENOSTREAM.
 */
int	 mq_queue_access(mq_spool *spool, const char *name, const char *holder);
/* Removes queue 'name': its stream and its declaration.  MQ_ENOSTREAM. */
int	 mq_queue_delete(mq_spool *spool, const char *name);
/*
 * Calls 'fn' with each declared queue, in no set order ('q' valid during
 * the call), until it returns non-zero.
 */
int	 mq_queues(mq_spool *spool,
	    int (*fn)(const struct mq_queue *q, void *arg), void *arg);
/*
 * Removes the transient and exclusive queues whose owner is gone, by a
 * look at every stream of the spool; '*removed' (if not NULL) counts
 * them.  A server calls it when it starts: nothing runs when a process
 * dies, and a crash leaves every owner gone.
 */
int	 mq_queue_sweep(mq_spool *spool, size_t *removed);

/* ---------------------------------------------------------------------
 * Routing: the topic exchange and its bindings.
 * ------------------------------------------------------------------- */

/*
 * Every topic-style publish goes through the topic exchange: a stream
 * named MQ_TOPIC_EXCHANGE that live subscribers tail from its end (so
 * they miss what was published while they were not running), plus a
 * copy appended to every queue (stream) bound with a matching pattern.
 * Bindings and live subscriptions are files of the spool, shared by all
 * processes; see mq-spool(5).
 */
#define MQ_TOPIC_EXCHANGE "amq.topic"

/* AMQP topic matching: '*' one word, '#' zero or more, words split on '.'. */
int	 mq_topic_match(const char *pattern, const char *key);
/* Redis glob matching (PSUBSCRIBE): '*', '?', '[a-z]', '[^x]', backslash. */
int	 mq_glob_match(const char *pattern, size_t plen, const char *s,
	    size_t slen);

/* Binds queue 'queue' to topic 'pattern' (idempotent) / unbinds it. */
int	 mq_bind(mq_spool *spool, const char *pattern, const char *queue);
int	 mq_unbind(mq_spool *spool, const char *pattern, const char *queue);
/* Calls 'fn' for each binding; stops on non-zero. */
int	 mq_bindings(mq_spool *spool,
	    int (*fn)(const char *pattern, const char *queue, void *arg),
	    void *arg);

/*
 * Publishes 'n' messages on 'topic': to the live subscribers whose
 * pattern matches, and appended to every queue that amq.topic routes
 * 'topic' to (mq_exchange_route: bound with a matching pattern, or
 * through other exchanges; message keys are set to 'topic').  '*receivers' (if not NULL)
 * counts matching live subscriptions plus queues, as Redis's PUBLISH does.
 */
int	 mq_publish(mq_spool *spool, const char *topic,
	    const struct mq_msg *msgs, size_t n, size_t *receivers);

/*
 * A router keeps what a publish needs between publishes, for a process
 * that publishes often (a server): the exchange's stream, the live
 * subscriptions and the bindings, read again only when the spool's
 * counters of their changes moved (and the subscriptions once a second,
 * for subscribers that died).
 * mq_router_route says who a publish on 'topic' reaches: '*live' matching
 * live subscriptions (then the message goes to the exchange's stream,
 * which mq_router_exchange opens at its first call and keeps),
 * '*mine' of them this process's (a server can hand those the message
 * itself, and skip the exchange when they are all of them),
 * and the names of the queues that amq.topic routes 'topic' to in
 * '*queues' ('*nqueues' of them, valid until the next call, or the next
 * mq_exchange_ call on the spool).  mq_router_publish does the appends too,
 * as mq_publish does.
 * mq_router_anonymous returns 1 if an anonymous live subscriber listens
 * (one that may not write the spool, see mq_sub_open): a publish must
 * then go to the exchange's stream whoever else listens, though it is
 * not counted in '*live' nor among the receivers.  It costs one
 * fcntl(2): ask it only when '*live' does not send the publish there.
 */
typedef struct mq_router mq_router;

int	 mq_router_open(mq_spool *spool, mq_router **router);
void	 mq_router_close(mq_router *router);
int	 mq_router_route(mq_router *router, const char *topic, size_t *live,
	    size_t *mine, const char *const **queues, size_t *nqueues);
int	 mq_router_exchange(mq_router *router, mq_stream **exchange);
int	 mq_router_anonymous(mq_router *router);
int	 mq_router_publish(mq_router *router, const char *topic,
	    const struct mq_msg *msgs, size_t n, size_t *receivers);

typedef struct mq_sub mq_sub;

#define MQ_SUB_GLOB	0x1	/* patterns are Redis globs, not AMQP topics */
#define MQ_SUB_EXACT	0x2	/* patterns are exact names (Redis SUBSCRIBE) */

/*
 * Starts a live subscription to 'patterns': registers it in the spool (so
 * publishers count it) and positions it at the exchange's end.  A
 * process that may not write the spool (EACCES, EROFS) subscribes
 * anonymously instead: publishers then send every publish to the
 * exchange without counting it, and if there is no exchange yet the
 * subscription waits for one to be made.
 */
int	 mq_sub_open(mq_spool *spool, const char *const *patterns, size_t n,
	    int flags, mq_sub **sub);
/*
 * The next message published on a matching topic: 1 (msg->key and
 * msg->keylen hold the topic), 0 when there is none yet, or an error.
 */
int	 mq_sub_next(mq_sub *sub, struct mq_msg *msg);
/*
 * Adds what a subscription waits on to 'watch', which must stay open
 * while the subscription is read: an anonymous one that waits for the
 * exchange adds it there once it exists.
 */
int	 mq_sub_watch(mq_sub *sub, mq_watch *watch);
void	 mq_sub_close(mq_sub *sub);

/* ---------------------------------------------------------------------
 * Exchanges: AMQP 0-9-1's named routers, shared by every process.
 * ------------------------------------------------------------------- */

/*
 * A message published to an exchange with a routing key goes to the
 * queues (streams) bound to it whose binding matches, by the exchange's
 * type, and to those of the exchanges bound to it, and so on.  The
 * built-in exchanges always exist: "" (the default exchange, direct:
 * a key goes to the stream of that name, if there is one), amq.direct,
 * amq.fanout, amq.topic, amq.headers and amq.match (headers).  The
 * queue bindings of amq.topic are those of mq_bind(), so the tools,
 * Redis's PUBLISH and an AMQP publish to amq.topic meet in one exchange.
 * Everything is in the spool (see mq-spool(5)); each process keeps a
 * copy for mq_exchange_route(), read again only when it changed.
 */
enum mq_xtype {
	MQ_XDIRECT = 1,		/* the key equals the binding's */
	MQ_XFANOUT,		/* every binding */
	MQ_XTOPIC,		/* the binding's key is a topic pattern */
	MQ_XHEADERS		/* the caller's matcher takes the binding's arguments */
};

#define MQ_XDURABLE	0x1	/* kept until deleted; else while its owner lives */
#define MQ_XAUTODELETE	0x2	/* deleted with its last binding as a source */
#define MQ_XINTERNAL	0x4	/* for exchange-to-exchange routing only (kept) */
#define MQ_XPASSIVE	0x100	/* mq_exchange_declare: only ask whether it exists */

#define MQ_XARGS_MAX	65536	/* bytes of an exchange's or binding's arguments */

struct mq_exchange {
	const char	*name;
	enum mq_xtype	 type;
	int		 flags;		/* MQ_XDURABLE, MQ_XAUTODELETE, MQ_XINTERNAL */
	int		 builtin;	/* "" or amq.*: always there */
	const void	*args;		/* as declared, NULL if none */
	size_t		 argslen;
};

enum mq_dest { MQ_DEST_QUEUE = 0, MQ_DEST_EXCHANGE };

struct mq_binding {
	const char	*source;	/* the exchange bound to */
	enum mq_dest	 dkind;
	const char	*dest;		/* a queue (a stream's name) or an exchange */
	const char	*key;		/* routing key or topic pattern; "" for none */
	const void	*args;		/* as given (a headers match), NULL if none */
	size_t		 argslen;
};

/* "direct", "fanout", "topic", "headers"; NULL / MQ_EINVAL for another. */
const char *mq_xtype_name(enum mq_xtype type);
int	 mq_xtype_parse(const char *s, enum mq_xtype *type);

/*
 * Declares exchange 'name' of 'type' with 'flags' and the opaque
 * arguments 'args' ('argslen' bytes, kept, compared, not read): MQ_OK if
 * it was made or exists alike; MQ_EEXIST if it exists with another type,
 * flags or arguments; MQ_ERESERVED for "" and for a new name that starts
 * with "amq."; MQ_EBADNAME, MQ_EINVAL.  With MQ_XPASSIVE only whether it
 * exists: MQ_OK or MQ_ENOEXCHANGE.  An exchange that is not MQ_XDURABLE
 * belongs to this spool handle: it goes, with its bindings, once the
 * handle is closed or its process dies (see mq_exchange_sweep).
 */
int	 mq_exchange_declare(mq_spool *spool, const char *name,
	    enum mq_xtype type, int flags, const void *args, size_t argslen);
/*
 * Deletes exchange 'name' and its bindings, from it and to it; with
 * 'if_unused', MQ_EINUSE if it has bindings as a source.  MQ_ENOEXCHANGE,
 * MQ_ERESERVED for "" and amq.*.
 */
int	 mq_exchange_delete(mq_spool *spool, const char *name, int if_unused);
/*
 * Fills 'x' with exchange 'name' (pointing into the spool's copy: valid
 * until the next mq_exchange_ or mq_router_ call on 'spool');
 * MQ_ENOEXCHANGE.
 */
int	 mq_exchange_lookup(mq_spool *spool, const char *name,
	    struct mq_exchange *x);
/* Calls 'fn' with each exchange, built-in ones first; stops on non-zero. */
int	 mq_exchanges(mq_spool *spool,
	    int (*fn)(const struct mq_exchange *x, void *arg), void *arg);

/*
 * Binds (idempotent) / unbinds (MQ_OK if there was no such binding) a
 * queue or exchange to exchange b->source.  MQ_ENOEXCHANGE if the source
 * or a destination exchange does not exist, MQ_ERESERVED if either is
 * "", MQ_EBADNAME for a name or key over MQ_NAME_MAX bytes, MQ_EINVAL.
 * A queue need not exist.  Unbinding the last binding of an auto-delete
 * exchange deletes it.
 */
int	 mq_exchange_bind(mq_spool *spool, const struct mq_binding *b);
int	 mq_exchange_unbind(mq_spool *spool, const struct mq_binding *b);
/*
 * Calls 'fn' with each binding from exchange 'source' (NULL: any) to
 * destination 'dest' of kind 'dkind' (NULL: any); stops on non-zero.
 */
int	 mq_exchange_bindings(mq_spool *spool, const char *source,
	    enum mq_dest dkind, const char *dest,
	    int (*fn)(const struct mq_binding *b, void *arg), void *arg);
/* Removes every binding to queue 'queue', as its deletion does in AMQP. */
int	 mq_exchange_unbind_queue(mq_spool *spool, const char *queue);
/*
 * Removes the transient exchanges whose owner is gone (closed its spool
 * handle, or died, however), and their bindings; '*removed' (if not
 * NULL) counts the exchanges.  Until then no lookup nor route of any
 * process sees them past a second, and every change removes them too.
 */
int	 mq_exchange_sweep(mq_spool *spool, size_t *removed);

/*
 * Whether a headers binding with arguments 'args' ('argslen' bytes)
 * takes the message being routed, whose headers 'ctx' says: 1 or 0.
 */
typedef int mq_xmatch_fn(const void *args, size_t argslen, void *ctx);

/*
 * The queues that a message published to 'exchange' with routing key
 * 'key' goes to, each once, in '*queues' ('*nqueues' of them; valid
 * until the next mq_exchange_ or mq_router_ call on 'spool'), following
 * exchange-to-exchange bindings (a cycle ends where it began).  'match'
 * decides headers bindings (NULL: none matches).  MQ_ENOEXCHANGE.
 * Costs no system call and no allocation while nothing changed.
 */
int	 mq_exchange_route(mq_spool *spool, const char *exchange,
	    const char *key, mq_xmatch_fn *match, void *ctx,
	    const char *const **queues, size_t *nqueues);

/* ---------------------------------------------------------------------
 * Sorted sets: members (byte strings) ordered by a score (a double), then
 * by their bytes, as Redis's.  A name is a stream or a sorted set, never
 * both (MQ_EWRONGTYPE), and a sorted set exists only while it has a
 * member: the last one removed removes it.  Like streams, one set is
 * shared by every process of the spool.
 * ------------------------------------------------------------------- */

typedef struct mq_zset mq_zset;

#define MQ_ZMEMBER_MAX MQ_MSG_LIMIT	/* bytes of a member */

struct mq_zmember {
	const void	*member;
	size_t		 len;
	double		 score;
};

/*
 * Opens sorted set 'name': MQ_ENOSTREAM if it does not exist, unless
 * MQ_CREATE is given (then the first add creates it); MQ_EWRONGTYPE if
 * 'name' is a stream.
 */
int	 mq_zset_open(mq_spool *spool, const char *name, int flags,
	    mq_zset **zset);
void	 mq_zset_close(mq_zset *zset);
const char *mq_zset_name(const mq_zset *zset);
/* Removes the sorted set (DEL); MQ_ENOSTREAM if there is none. */
int	 mq_zset_remove(mq_spool *spool, const char *name);
/*
 * Renames sorted set 'from' to 'to', as mq_stream_rename() renames a
 * stream: MQ_ENOSTREAM if 'from' is missing, MQ_EWRONGTYPE if it is a
 * stream; a key of either type named 'to' is MQ_EEXIST, or with
 * 'replace' is replaced.  Handles of any process notice.
 */
int	 mq_zset_rename(mq_spool *spool, const char *from, const char *to,
	    int replace);
/* Calls 'fn' with each sorted set's name, in no set order; stops on non-zero. */
int	 mq_spool_zsets(mq_spool *spool,
	    int (*fn)(const char *name, void *arg), void *arg);

/* Flags of mq_zset_add(), as ZADD's options. */
#define MQ_ZADD_NX	0x1	/* only add new members */
#define MQ_ZADD_XX	0x2	/* only update existing members */
#define MQ_ZADD_GT	0x4	/* only update to a greater score */
#define MQ_ZADD_LT	0x8	/* only update to a lower score */
#define MQ_ZADD_INCR	0x10	/* the score is an increment (one member) */

struct mq_zadd {
	uint64_t	 added;		/* new members */
	uint64_t	 updated;	/* members whose score changed */
	uint64_t	 done;		/* members not skipped by NX, XX, GT, LT */
	double		 score;		/* MQ_ZADD_INCR: the member's new score */
};

/*
 * Adds or updates the 'n' members of 'm' in one write, in order, with
 * ZADD's rules; the counts go to 'res'.  Fails, changing nothing, with
 * MQ_EINVAL for a NaN score, NX with XX, GT or LT, GT with LT, or INCR
 * with n != 1, or when an increment gives NaN; MQ_ETOOBIG for a member
 * over MQ_ZMEMBER_MAX; MQ_ENOSPC; MQ_EWRONGTYPE.
 */
int	 mq_zset_add(mq_zset *zset, const struct mq_zmember *m, size_t n,
	    int flags, struct mq_zadd *res);
/* Removes members (ZREM; scores ignored); '*removed' counts those there were. */
int	 mq_zset_rem(mq_zset *zset, const struct mq_zmember *m, size_t n,
	    uint64_t *removed);
/* The number of members; 0 if the set does not exist. */
int	 mq_zset_card(mq_zset *zset, uint64_t *n);

/*
 * The version of a set, for optimistic locking (Redis's WATCH): two
 * versions are the same only if no process changed the set in between
 * (added, updated or removed a member, removed, replaced or renamed
 * it).  A change that changes nothing (the same score set again, the
 * removal of a non-member) leaves it.  All zero if there is no such set.
 */
struct mq_zversion {
	uint64_t	 file;		/* which file holds the set */
	uint64_t	 length;	/* bytes of its log */
};
int	 mq_zset_version(mq_zset *zset, struct mq_zversion *v);
/* The score of each member in 'scores' (ZMSCORE); NaN for a non-member. */
int	 mq_zset_score(mq_zset *zset, const struct mq_zmember *m, size_t n,
	    double *scores);
/* The 0-based rank, from the lowest or (with 'reverse') the highest; MQ_ENOMSG. */
int	 mq_zset_rank(mq_zset *zset, const void *member, size_t len,
	    int reverse, uint64_t *rank);

enum mq_zby { MQ_ZBY_RANK = 0, MQ_ZBY_SCORE, MQ_ZBY_LEX };

/* One end of a range by score or by member bytes. */
struct mq_zbound {
	double		 score;		/* MQ_ZBY_SCORE */
	const void	*member;	/* MQ_ZBY_LEX */
	size_t		 len;
	int		 inf;		/* MQ_ZBY_LEX: -1 below all, +1 above all */
	int		 excl;		/* the bound itself is outside */
};

/* A range of ZRANGE, ZCOUNT, ZLEXCOUNT or ZREMRANGEBY*. */
struct mq_zrange {
	enum mq_zby	 by;
	int		 reverse;	/* from the highest down */
	int64_t		 start, stop;	/* RANK: positions; < 0 count from the end */
	struct mq_zbound min, max;	/* SCORE, LEX */
	int64_t		 offset;	/* SCORE, LEX: skip so many (< 0: all) */
	int64_t		 count;		/* SCORE, LEX: at most so many (< 0: all) */
};

/*
 * The members of range 'r' in its order, in '*out' (owned by the set,
 * valid until the next call on it).  A range by member bytes assumes
 * that all members have the same score, as in Redis.
 */
int	 mq_zset_range(mq_zset *zset, const struct mq_zrange *r,
	    const struct mq_zmember **out, size_t *n);
/* The number of members in range 'r' (its offset and count ignored). */
int	 mq_zset_count(mq_zset *zset, const struct mq_zrange *r, uint64_t *n);
/* Removes the members of range 'r' (offset and count ignored). */
int	 mq_zset_remrange(mq_zset *zset, const struct mq_zrange *r,
	    uint64_t *removed);
/*
 * Removes and returns up to 'count' members with the lowest scores, or
 * with 'max' the highest (ZPOPMIN, ZPOPMAX), in '*out' as for
 * mq_zset_range().
 */
int	 mq_zset_pop(mq_zset *zset, size_t count, int max,
	    const struct mq_zmember **out, size_t *n);

#endif /* MQ_H */
