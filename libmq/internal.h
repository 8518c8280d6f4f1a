/*
 * internal.h - what the modules of libmq share and callers never see.
 */
#ifndef MQ_INTERNAL_H
#define MQ_INTERNAL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "mq.h"

/* ---- crc32c.c: CRC-32C (Castagnoli), hardware-assisted where possible. */

/* CRC of 'len' bytes continuing from 'crc' (start with 0). */
uint32_t mq_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same, always with the portable table code (tests compare the two). */
uint32_t mq_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* ---- name.c: names made safe as file names. */

/*
 * Percent-encodes 'name' into 'buf' (of 'size' bytes): bytes outside
 * [A-Za-z0-9_-] and any '.' that starts the name become %XX (upper-case
 * hex), so that every name, "..", "a/b" and "" included, is one plain
 * file name.  '.' elsewhere is kept.  Returns the length, or MQ_EBADNAME if
 * the name is empty or longer than MQ_NAME_MAX, or MQ_EINVAL if 'buf' is
 * too small (3 * MQ_NAME_MAX + 1 is always enough).
 */
int	 mq_name_encode(const char *name, char *buf, size_t size);
/* The inverse; MQ_EBADNAME for a string mq_name_encode would not make. */
int	 mq_name_decode(const char *enc, char *buf, size_t size);

/*
 * The same for a binding's key or pattern, which may be empty ("%");
 * MQ_OK, MQ_EBADNAME (MQ_ECORRUPT when decoding) or MQ_EINVAL.
 */
int	 mq_pattern_encode(const char *pattern, char *buf, size_t size);
int	 mq_pattern_decode(const char *enc, char *buf, size_t size);

#define MQ_ENCNAME_MAX (3 * MQ_NAME_MAX + 1)
#define MQ_ENCNAME_LIMIT 220	/* longest encoding accepted, in bytes */

/* ---- err.c */

/* Returns MQ_ESYS after saving errno for mq_strerror(MQ_ESYS). */
int	 mq_sys(void);
/* 1 if 'rc' is MQ_ESYS with errno EACCES or EROFS: writing was refused. */
int	 mq_refused(int rc);

/* ---- fsutil.c: file helpers that check every step. */

/* write(2)/pwrite(2) all of 'len' bytes, retrying on EINTR/short writes. */
int	 mq_write_all(int fd, const void *buf, size_t len);
int	 mq_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* pread(2) up to 'len' bytes, retrying; returns bytes read (< len at EOF) or -1. */
ssize_t	 mq_pread_all(int fd, void *buf, size_t len, off_t off);
/*
 * Puts a file with the 'len' bytes of 'buf' in place as 'name' of the
 * directory 'dirfd', whole, so that no process sees it half written: the
 * temporary 'tmp' of the same directory is made (a stale one removed
 * first), written, fsynced, and renamed over 'name'.  'flags':
 *   MQ_PUT_EXCL     linked to 'name' instead, MQ_EEXIST if it exists
 *   MQ_PUT_NOSYNC   not fsynced: the file need not outlive a crash
 *   MQ_PUT_LOCK_EX, MQ_PUT_LOCK_SH  with 'fd', flock(2) taken on the
 *                   new file before it is in place
 *   MQ_PUT_RDONLY   with 'fd', opened read-only ('len' must be 0)
 *   MQ_PUT_0666     mode 0666 less the umask, not 0644
 * With 'fd' non-NULL the new file stays open in '*fd' (-1 on failure),
 * for reading and writing.  On failure the temporary is removed and
 * 'name' is as it was (unless the temporary's name could not be removed
 * once MQ_PUT_EXCL linked it).  The directory is the caller's to make
 * durable: at once (mq_fsync_dir_fd) or by the spool's policy
 * (mq_spool_dirty).
 * Returns MQ_OK, MQ_EEXIST, or mq_sys().
 */
#define MQ_PUT_EXCL	0x01
#define MQ_PUT_NOSYNC	0x02
#define MQ_PUT_LOCK_EX	0x04
#define MQ_PUT_LOCK_SH	0x08
#define MQ_PUT_RDONLY	0x10
#define MQ_PUT_0666	0x20
int	 mq_put_file(int dirfd, const char *tmp, const char *name,
	    const void *buf, size_t len, int flags, int *fd);
/*
 * The same for 'path', with "path.tmp" as the temporary and mode 0666
 * less the umask; the directory is fsynced.
 */
int	 mq_replace_file(const char *path, const void *buf, size_t len);
/*
 * Opens 'name' of the directory 'dirfd' for reading and writing, 'flags'
 * added (O_CREAT: mode 0644); or for reading only, when '*rdonly' is set
 * or when writing is refused (EACCES, EROFS), which '*rdonly' then keeps.
 * Returns the descriptor, or -1 with errno set.
 */
int	 mq_open_rw(int dirfd, const char *name, int flags, int *rdonly);
/*
 * The next "key value" line of the spool's small text files, whose
 * first line must be "version 1": walks '*text' (changed in place) and
 * sets '*key' and '*val', 1 while there is a line after the version
 * ('*first', 1 at the start, notes that it was seen).  At the end MQ_OK,
 * or MQ_ECORRUPT (a line without a space, no version line, an empty
 * file) or MQ_EVERSION (another version).
 */
int	 mq_kv_next(char **text, char **key, char **val, int *first);
/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. */
int	 mq_read_file(const char *path, char **buf, size_t *len);
/* mkdir(2) that accepts an existing directory, then fsyncs the parent. */
int	 mq_mkdir(const char *path);
/* fsync(2) of a directory by path / by descriptor (spool.c). */
int	 mq_fsync_dir(const char *path);
int	 mq_fsync_dir_fd(int dirfd);
/* Removes a directory tree (for stream removal). */
int	 mq_rmtree(const char *path);
/* The same for entry 'name' of the directory open as 'dirfd'. */
int	 mq_rmtree_at(int dirfd, const char *name);
/*
 * MQ_ENOSPC if the filesystem of 'fd' would have less than 'reserve'
 * bytes free after writing 'len' more; MQ_OK otherwise.
 */
int	 mq_check_space(int fd, uint64_t len, uint64_t reserve);
/* The bytes free for unprivileged writers on the filesystem of 'fd'. */
int	 mq_fs_avail(int fd, uint64_t *avail);
/* Milliseconds since the epoch (CLOCK_REALTIME) / a monotonic clock. */
int64_t	 mq_now_ms(void);
int64_t	 mq_mono_ms(void);

/* ---- little-endian integers in the on-disk formats. */

static inline void
mq_put32(unsigned char *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static inline void
mq_put64(unsigned char *p, uint64_t v)
{
	mq_put32(p, (uint32_t)v);
	mq_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
mq_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
mq_get64(const unsigned char *p)
{
	return (uint64_t)mq_get32(p) | (uint64_t)mq_get32(p + 4) << 32;
}

/* ---- stream.c: what groups, queues and routing need of a stream. */

/* The spool a stream was opened from, and the stream's directory fd. */
mq_spool *mq_stream_spool(mq_stream *stream);
int	 mq_stream_dirfd(mq_stream *stream);
/* The policy as last read from the stream's meta file (refreshed if changed). */
const struct mq_policy *mq_stream_policy(mq_stream *stream);
/* mq_stream_info() in parts: what the view holds; the first entry's id. */
int	 mq_stream_counts(mq_stream *stream, struct mq_stream_info *info);
int	 mq_stream_first_id(mq_stream *stream, struct mq_stream_info *info);
/* Applies the spool's fsync policy to a descriptor written by this process. */
int	 mq_spool_dirty(mq_spool *spool, int fd);
/*
 * The same on a hot path: '*mark' lives beside 'fd', is 0 whenever 'fd'
 * is opened on another file, and spares the look at a file already noted.
 */
int	 mq_spool_dirty_mark(mq_spool *spool, int fd, uint64_t *mark);
/* dirty.c: adds the file of 'fd' to 'dirty'; -1 with errno if it cannot. */
int	 mq_dirty_add(struct mq_dirty *dirty, int fd);
enum mq_fsync mq_spool_fsync_policy(const mq_spool *spool);

/* ---- journal.c: the file protocol of group journals (records: group.c). */

#define MQ_JSLOT	 32	/* bytes of a slot; a record is 1 + extra slots */
#define MQ_JREC_MAXEXTRA (MQ_NAME_MAX / MQ_JSLOT + 1)
/* Bytes of a record carrying 'len' bytes of data in extra slots. */
#define mq_jrec_size(len) \
	(MQ_JSLOT * (1 + ((len) + MQ_JSLOT - 1) / MQ_JSLOT))

struct mq_jrec {
	unsigned		 type;
	unsigned		 flags;
	uint64_t		 a, b, c;
	const unsigned char	*data;		/* the extra slots, NULL if none */
	size_t			 datalen;	/* their bytes */
};

struct mq_journal {
	mq_spool	*spool;
	int		 dirfd;		/* the groups/ directory; not owned */
	char		 name[MQ_ENCNAME_MAX]; /* the file's name in it */
	int		 fd;		/* -1: not open */
	dev_t		 dev;		/* what the open file is, to notice */
	ino_t		 ino;		/* a replacement or removal */
	off_t		 off;		/* end of the records replayed */
	uint64_t	 dirty_mark;	/* for mq_spool_dirty_mark */
	int		 locked;
	int		 rdonly;	/* 0, or why it is open read-only
					   (EACCES, EROFS): it is not locked */
};

size_t	 mq_jrec_put(unsigned char *p, unsigned type, unsigned flags,
	    uint64_t a, uint64_t b, uint64_t c, const void *data, size_t len);
ssize_t	 mq_jrec_get(const unsigned char *p, size_t len, struct mq_jrec *r);
size_t	 mq_journal_valid(const unsigned char *buf, size_t len);
int	 mq_journal_open(struct mq_journal *j, mq_spool *spool, int dirfd,
	    const char *name);
void	 mq_journal_close(struct mq_journal *j);
int	 mq_journal_lock(struct mq_journal *j, int *reset);
int	 mq_journal_trylock(struct mq_journal *j, int *reset);
void	 mq_journal_unlock(struct mq_journal *j);
int	 mq_journal_check(struct mq_journal *j, int *reset);
int	 mq_journal_replay(struct mq_journal *j, int repair,
	    int (*fn)(const struct mq_jrec *r, void *arg), void *arg);
int	 mq_journal_append(struct mq_journal *j, const void *buf, size_t len);
int	 mq_journal_create(mq_spool *spool, int dirfd, const char *name,
	    const void *buf, size_t len);
int	 mq_journal_replace(struct mq_journal *j, const void *buf, size_t len);
int	 mq_journal_unlink(struct mq_journal *j);
int	 mq_journal_remove(mq_spool *spool, int dirfd, const char *name);
void	 mq_journal_sweep(int dirfd);
/* A name for a temporary in a groups/ directory, swept when stale. */
void	 mq_journal_tmpname(char *buf, size_t size);

/* ---- live.c: liveness files of attached consumers (see its header). */

#define MQ_LIVE_NAME_MAX (2 + 16 + 1 + MQ_ENCNAME_LIMIT)
/* The file name for 'consumer' of the group of 'incarnation'. */
int	 mq_live_name(uint64_t incarnation, const char *consumer, char *buf,
	    size_t size);
/*
 * Whether a live process holds file 'name' of 'dirfd': 1, or 0 if no one
 * does or there is no such file, or an error.  '*fd' is a descriptor of
 * the file kept between calls (-1: none yet; the caller closes it), so
 * that asking again costs one flock(2).
 */
int	 mq_live_probe(int dirfd, const char *name, int *fd);
/*
 * Holds file 'name' for as long as '*fd' is open: joins its live holders
 * (returns 0), or makes it anew (returns 1: no live process held it).
 * The caller serialises holds of one group (its journal lock).
 */
int	 mq_live_hold(int dirfd, const char *name, int *fd);
/* Whether the holder of 'fd' is the only one (it then holds it alone). */
int	 mq_live_sole(int fd);
/* Closes 'fd', removing the file first if 'remove' and it is still 'fd''s. */
void	 mq_live_drop(int dirfd, const char *name, int fd, int remove);
/* Removes the liveness files of the group of 'incarnation'. */
void	 mq_live_sweep(int dirfd, uint64_t incarnation);

/* ---- keylock.c: a name is a stream or a sorted set, never both. */

#define MQ_ZSETS_DIR	"zsets"	/* of the spool: sorted sets, the key lock */
#define MQ_KEY_STREAM	1
#define MQ_KEY_ZSET	2
/*
 * Takes the spool's key lock, under which every stream and sorted set
 * is created or renamed, after checking that the encoded name 'enc' is
 * not a key of the other type than 'type' (MQ_EWRONGTYPE; no check if
 * 'type' is 0).  On MQ_OK, '*fd' holds the lock until mq_key_unlock().
 * It is the last lock a process takes.
 */
int	 mq_key_lock(mq_spool *spool, const char *enc, int type, int *fd);
void	 mq_key_unlock(int fd);
/*
 * What has the encoded name 'enc' that a key is renamed to, held still.
 * After the lock of the key renamed, mq_key_target_lock() takes the
 * lock of a sorted set 'enc' if there is one (two sorted sets are locked
 * in the order of their encoded names), then mq_key_target_check() the
 * key lock, and says what has the name; it returns 1, everything
 * released, if a sorted set 'enc' was created in between: start again.
 * mq_key_target_release() lets go of all (either may fail having done
 * it).  Meanwhile only mq_stream_remove() changes what has the name.
 */
struct mq_key_target {
	struct mq_journal j;	/* the sorted set 'enc' */
	int		 zset;	/* there is one: 'j' is open and locked */
	int		 stream;	/* there is a stream 'enc' */
	int		 keyfd;		/* the key lock, or -1 */
	int		 dirfd;		/* SPOOL/zsets */
};
int	 mq_key_target_lock(mq_spool *spool, const char *enc,
	    struct mq_key_target *t);
int	 mq_key_target_check(mq_spool *spool, const char *enc,
	    struct mq_key_target *t);
void	 mq_key_target_release(struct mq_key_target *t);
/* Whether a sorted set / a stream of encoded name 'enc' exists. */
int	 mq_zset_exists_enc(mq_spool *spool, const char *enc);
int	 mq_stream_exists_enc(mq_spool *spool, const char *enc);
/*
 * Opens SPOOL/zsets into '*fd', creating it with 'create'; '*fd' is -1
 * if it is missing.  MQ_OK or mq_sys().
 */
int	 mq_zsets_dir_open(mq_spool *spool, int create, int *fd);

/* ---- zset.c */

/* The bytes of 'buf' that are a valid sorted set's log (head, records). */
size_t	 mq_zset_valid(const unsigned char *buf, size_t len);

/*
 * Renames the directory of stream 'enc' away, to a dot name written in
 * 'away' ('size' bytes) that mq_rmtree_at() deletes (stream.c);
 * MQ_ENOSTREAM if there is none.
 */
int	 mq_stream_unlink(mq_spool *spool, const char *enc, char *away,
	    size_t size);
/*
 * Takes the lock of stream 'enc' by its name: '*dirfd' is its directory,
 * locked, and still the one the name leads to; the caller unlocks and
 * closes it.  MQ_ENOSTREAM if there is none (stream.c).
 */
int	 mq_stream_lock_name(mq_spool *spool, const char *enc, int *dirfd);
/*
 * Under the write-ahead log's lock, before stream 'name' ('enc') is
 * removed, renamed or replaced: gives it what the log holds for it, then
 * ends its batches with a tombstone (stream.c).
 */
int	 mq_stream_wal_forget(mq_spool *spool, const char *name,
	    const char *enc);
/* Removes the tree 'name' below the directory 'dirfd' (spool.c). */
int	 mq_rmtree_at(int dirfd, const char *name);
/* Calls 'fn' with each name encoded in the directory 'dirfd' (spool.c). */
int	 mq_dir_names(int dirfd, int (*fn)(const char *name, void *arg),
	    void *arg);
/*
 * Calls 'fn' with 'dirfd' and each entry of it as readdir(3) gives them,
 * "." and ".." included, until it returns non-zero (spool.c).
 */
int	 mq_dir_each(int dirfd, int (*fn)(int dirfd, const char *entry,
	    void *arg), void *arg);

/* ---- msg.c (and mq_msg_copy, mq_msg_at: mq.h) */

/*
 * Makes the array at '*pp' (a pointer to the array pointer), of '*cap'
 * elements of 'size' bytes, hold at least 'need', doubling; MQ_OK or
 * MQ_ESYS (then the array is as it was).
 */
int	 mq_grow(void *pp, size_t *cap, size_t need, size_t size);

/* The value of the lower-case hex digit 'c', or -1 (the spool's hex fields). */
static inline int
mq_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- hashes of names in memory (not on disk: they may change). */

/* FNV-1a of the string 's', 64 bits. */
static inline uint64_t
mq_hash64(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* ---- ids, compared inline: a group compares millions a second. */

static inline int
mq_id_lt(mq_id a, mq_id b)
{
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
}

static inline int
mq_id_eq(mq_id a, mq_id b)
{
	return a.ms == b.ms && a.seq == b.seq;
}

/* ---- pending.c: the pending entries of a group, slots in id order. */

struct consumer;	/* group.c's */

/*
 * A slot of the pending array.  A live slot is a pending entry; a dead
 * one is an entry that left, or room left by an insertion (see
 * mq_plist_insert), and only its place in the order counts.
 */
struct mq_pentry {
	mq_id			 id;
	struct consumer		*owner;		/* NULL: handed back by a nack */
	int64_t			 time;		/* of the last delivery */
	uint64_t		 count;		/* deliveries */
	int8_t			 side;		/* room: -1 below 'id', 1 above */
	uint8_t			 live;
};

/*
 * The pending entries: slots e[head .. len - 1] in the order of (id,
 * side), the first and the last live (or none: head == len == 0).  A
 * live slot has side 0, and no two slots have the same id and side 0:
 * the slot of an entry, live or dead, is where (id, 0) goes in the
 * order, so a binary search finds it.
 */
struct mq_plist {
	struct mq_pentry	*e;
	size_t			 head, len, cap;
	size_t			 ndead;		/* dead ones in e[head .. len-1] */
};

/*
 * The slot of the first pending entry with an id above 'id' ('above'
 * set) or at least 'id'; pl->len if there is none.
 */
size_t	 mq_plist_seek(const struct mq_plist *pl, mq_id id, int above);
/* The pending entry 'id', or NULL.  Valid until the next change. */
struct mq_pentry *mq_plist_find(struct mq_plist *pl, mq_id id);
/*
 * A live slot for 'id', which is not pending, of the array of 'live'
 * pending entries; the caller fills in the rest.  Slots may move.
 * NULL with errno set if out of memory.
 */
struct mq_pentry *mq_plist_insert(struct mq_plist *pl, mq_id id,
	    uint64_t live);
/*
 * After slots died: drops the dead ones at both ends, and squeezes the
 * others out when they outnumber the 'live' ones.  An empty array goes
 * back to the start (and is freed if it is large).
 */
void	 mq_plist_tidy(struct mq_plist *pl, uint64_t live);

/* ---- copybuf.c: the copies of messages a group operation hands out. */

/* A copy, and what it keeps beside it. */
struct mq_copy {
	size_t			 off;		/* where it is in the buffer */
	mq_id			 id;		/* the message's */
	uint64_t		 offset;
	const char		*reason;	/* dead letters: why */
	uint64_t		 count;		/* dead letters: deliveries */
};
/* Copies of messages (mq_msg_copy) in 'buf', until they are finished. */
struct mq_copies {
	unsigned char		*buf;
	size_t			 len, cap;
	struct mq_copy		*mc;
	size_t			 nmc, capmc;
	struct mq_msg		*msgs;		/* finished messages (dead letters) */
	size_t			 capmsgs;
	uint64_t		*counts;	/* their delivery counts */
	size_t			 capcounts;
};

/*
 * Copies message 'm' into 'cp' (with 'reason' and 'count' for a dead
 * letter).  With 'm->body' NULL only the id is kept (a pending entry
 * whose message was deleted).  MQ_OK or MQ_ESYS.
 */
int	 mq_copies_add(struct mq_copies *cp, const struct mq_msg *m,
	    const char *reason, uint64_t count);
/*
 * Makes the copies messages, now that the buffer no longer moves: into
 * 'out' if not NULL, else into cp->msgs and cp->counts (dead letters).
 * MQ_OK or MQ_ESYS.
 */
int	 mq_copies_finish(struct mq_copies *cp, struct mq_msg *out);
/*
 * Empties 'cp' for the next call.  Copies larger than a few pages are
 * let go, so that a group that once handed out a large batch does not
 * keep its size while it idles.
 */
void	 mq_copies_reset(struct mq_copies *cp);
void	 mq_copies_free(struct mq_copies *cp);

/* ---- deadletter.c */

/*
 * Appends copies of 'msgs' to the dead-letter stream of 'origin', in one
 * batch: body, key and headers kept, and the headers mq-origin,
 * mq-origin-id, mq-reason ('reason'), mq-count (counts[i], or 0 if
 * 'counts' is NULL) and mq-time added first.  Creates the dead-letter
 * stream if missing.
 */
int	 mq_dead_letter(mq_stream *origin, const struct mq_msg *msgs, size_t n,
	    const char *reason, const uint64_t *counts);

/* ---- route.c */

/*
 * Calls 'fn' with the kind ('t' topic, 'g' glob, 'c' channel) and the
 * pattern of every subscription of every live subscriber, and whether it
 * is this process's, removing the registrations of dead ones on the way;
 * stops when 'fn' returns non-zero.
 */
int	 mq_subs_scan(mq_spool *sp,
	    int (*fn)(char kind, const char *pattern, int mine, void *arg),
	    void *arg);
/*
 * 1 if an anonymous subscriber (one that may not write the spool)
 * listens, so that every publish must go to the exchange's log; one
 * fcntl(2).
 */
int	 mq_subs_anonymous(mq_spool *sp);
/* Whether a subscription of 'kind' to 'pattern' takes 'topic'. */
int	 mq_sub_matches(char kind, const char *pattern, const char *topic);
/* Removes every binding of queue 'queue' from SPOOL/bindings. */
int	 mq_bindings_drop_queue(mq_spool *sp, const char *queue);
/* Opens the exchange's stream, giving it its small retention at creation. */
int	 mq_exchange_open(mq_spool *sp, mq_stream **out);
/*
 * SPOOL/routes: counters shared through mmap(2) by every process,
 * bumped after each change of the live subscriptions (MQ_ROUTES_SUBS),
 * of the bindings (MQ_ROUTES_BINDS), or of the files that an open
 * stream handle keeps looking for (MQ_ROUTES_STREAMS: a meta file
 * replaced, a marks file made, a stream removed or renamed), or of the
 * names that keys have (MQ_ROUTES_NAMES: a stream or sorted set made or
 * renamed to a new name, names.c), or of the exchanges and their
 * bindings (MQ_ROUTES_EXCHANGES, exchange.c), or of the queue
 * declarations (MQ_ROUTES_QUEUES, qdecl.c), so that a
 * process can tell it must look again with one memory load.
 * mq_routes_map maps it (once per spool; NULL if it cannot);
 * mq_routes_bump adds one; mq_routes_moved tells whether counter
 * 'which' moved since '*seen' was taken, and takes it (always 1 when the
 * file cannot be mapped, as on a spool this process may only read).
 */
#define MQ_ROUTES_SUBS	0
#define MQ_ROUTES_BINDS	1
#define MQ_ROUTES_STREAMS 2
#define MQ_ROUTES_NAMES	3	/* a stream or sorted set made or renamed to */
#define MQ_ROUTES_EXCHANGES 4	/* SPOOL/exchanges replaced (exchange.c) */
#define MQ_ROUTES_QUEUES 5	/* a queue declaration written or removed */
#define MQ_ROUTES_SIZE	4096	/* the file, one page */
uint64_t *mq_routes_map(mq_spool *sp);
void	 mq_routes_bump(mq_spool *sp, int which);
int	 mq_routes_moved(mq_spool *sp, int which, uint64_t *seen);

/* ---- exchange.c: at mq_spool_close, what the handle kept of exchanges. */

void	 mq_exchange_free(mq_spool *sp);
/* qdecl.c: removes the handle's own transient queues, frees sp->qstate. */
void	 mq_qdecl_free(mq_spool *sp);

/* ---- names.c */

/*
 * 1 if no stream and no sorted set has encoded name 'enc', as known
 * without a look; 0 if the caller must look.
 */
int	 mq_names_absent(mq_spool *sp, const char *enc);
/* Tells every process that a key of encoded name 'enc' was just made. */
void	 mq_names_taken(mq_spool *sp, const char *enc);
void	 mq_names_free(mq_spool *sp);

#endif /* MQ_INTERNAL_H */
