/*
 * wal.h - the spool's write-ahead log (wal.c), as the rest of libmq uses
 * it; what mq-serve calls is in mq.h.
 */
#ifndef MQ_WAL_H
#define MQ_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define MQ_WAL_SLOTS	4096	/* counters of direct changes, by name hash */
#define MQ_WAL_HDR	(4096 + 8 * MQ_WAL_SLOTS)	/* the header */
#define MQ_WAL_REC	24	/* bytes of a record's header */
#define MQ_WAL_BATCH	1	/* record kinds */
#define MQ_WAL_TOMBSTONE 2

/*
 * The log's lock (flock(2) on SPOOL/wal), taken again by its holder
 * without harm: every append holds it, before the stream's lock.
 */
int	 mq_wal_lock(mq_spool *sp);
void	 mq_wal_unlock(mq_spool *sp);
/*
 * Under the lock, after 's' was changed other than through the log (an
 * append, XSETID): the next logged append to a stream that hashes like
 * it looks at its top again, in whatever process; 'top' is its top now.
 */
void	 mq_wal_touched(mq_stream *s, mq_id top);
/* The same for name 'enc' taken by a sorted set. */
void	 mq_wal_touch(mq_spool *sp, const char *enc);
/*
 * Calls 'fn' with the name of each stream that has batches in the log
 * and no directory yet (appended to through it before it was made),
 * until it returns non-zero: a listing of the spool has them too.
 */
int	 mq_wal_names(mq_spool *sp, int (*fn)(const char *, void *), void *arg);
/*
 * Under the lock, inside a turn that logged to stream 'enc': writes the
 * turn so far, before the stream is changed directly.
 */
int	 mq_wal_flush(mq_spool *sp, const char *enc);
/* Under the lock: ends the logged batches of stream 'enc', if it has any. */
int	 mq_wal_tombstone(mq_spool *sp, const char *enc);
/* 1 if stream 'enc' has logged batches this process has not applied. */
int	 mq_wal_pending(mq_spool *sp, const char *enc, int *rc);
/*
 * A stream gets what the log holds for it in batches of this many bytes
 * at most, the logged batches merged in order (one larger alone): a
 * reader holds a whole batch in its buffer, and this is what it reads at
 * a time (reader.c), so that each reader of a stream (one per consumer
 * group) holds no more however much was logged before it was applied.
 */
#define MQ_WAL_MERGE	(256u << 10)
/*
 * Takes the batch of 'count' records in 'buf' from offset MQ_BATCH_HDR,
 * 'len' bytes in all, the header left to seal: ids 'first' to 'last',
 * appended at 'time_ms'.
 */
typedef int mq_wal_batch_fn(mq_stream *s, unsigned char *buf, size_t len,
	    uint32_t count, mq_id first, mq_id last, int64_t time_ms);
/*
 * Hands 'fn' the logged batches of 's' above 'top', in order, merged
 * into batches of MQ_WAL_MERGE bytes at most; MQ_OK once all went (then
 * nothing of 's' is pending in this process's index), or once
 * mq_wal_apply_some's bound for one call went (the rest is pending), or
 * the first error, of 'fn' or of reading the log.
 */
int	 mq_wal_collect(mq_stream *s, mq_id top, mq_wal_batch_fn *fn);
/*
 * walrec.c: seals the record at 'p' ('len' bytes in all, a batch already
 * in place after the name for MQ_WAL_BATCH), and checks one: its length,
 * 0 if it is cut short in 'len', or MQ_ECORRUPT; its generation must be
 * 'gen'.
 */
void	 mq_wal_record_seal(unsigned char *p, size_t len, int kind,
	    const char *enc, size_t enclen, uint64_t gen);
long	 mq_wal_record_check(const unsigned char *p, size_t len, uint64_t gen,
	    int *kind, const char **enc, size_t *enclen);
/*
 * Calls 'fn' with the name of each stream that batches were logged to,
 * by any process, since the last call (for a watch, watch.c); the first
 * call, which may pass a NULL 'fn', starts the counting, and a log
 * opened after it reports all it holds.  Stops early if 'fn' returns
 * non-zero.
 */
int	 mq_wal_news(mq_spool *sp, int (*fn)(const char *name, void *arg),
	    void *arg);
/* The log's descriptor, opened if need be; -1 where it cannot be. */
int	 mq_wal_fd(mq_spool *sp);
/* At mq_spool_close. */
void	 mq_wal_close(mq_spool *sp);

#endif /* MQ_WAL_H */
