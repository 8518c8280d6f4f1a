/*
 * stream.h - the in-memory view of one stream, shared by the modules that
 * keep it (stream.c, segment.c, marks.c, reader.c, watch.c).
 *
 * Nothing here is authoritative: every field is derived from the files in
 * the stream's directory and brought up to date by mq_stream_refresh()
 * before it is used, because other processes append, trim and delete too.
 */
#ifndef MQ_STREAM_H
#define MQ_STREAM_H

#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#include "mq.h"

#define MQ_SEGMENT_BYTES (64u << 20)	/* default size at which a segment is sealed */
#define MQ_INDEX_EVERY	4096		/* bytes of log between index entries */
#define MQ_FREE_RESERVE	(16u << 20)	/* appends keep this much disk free */
#define MQ_WRITEBACK	(4u << 20)	/* start writeback every this many bytes */
#define MQ_SEAL_MAGIC	0x4c53514du	/* "MQSL": a segment's last 64 bytes once sealed */

struct mq_segment {
	uint64_t	 base;		/* offset of its first entry (its name) */
	mq_id		 first;		/* id of its first entry, once 'known' */
	int		 known;
};

struct mq_spool {
	char		*path;
	int		 dirfd;		/* the spool directory */
	int		 streamsfd;	/* SPOOL/streams */
	enum mq_fsync	 fsync;
	int		 interval_ms;
	int64_t		 last_sync;	/* mq_mono_ms() of the last sync */
	struct mq_dirty	 dirty;		/* written since then (dirty.c) */
	uint64_t	 dirty_gen;	/* counts syncs; see mq_spool_dirty_mark */
	uint64_t	*routes;	/* SPOOL/routes mapped (route.c), or NULL */
	struct mq_wal	*wal;		/* SPOOL/wal (wal.c), once opened */
	struct mq_names	*names;		/* names known absent (names.c), or NULL */
	struct mq_xstate *xstate;	/* exchanges (exchange.c), or NULL */
	struct mq_qstate *qstate;	/* queue declarations (qdecl.c), or NULL */
	int		 wal_rc;	/* why it could not be, or MQ_OK */
	int		 wal_refused;	/* because this process may only read */
	int		 wal_news;	/* a watch asks what was logged (mq_wal_news) */
	int		 routes_failed;	/* it could not be: no use trying again */
};

struct mq_stream {
	mq_spool	*spool;
	char		*name;
	char		 enc[MQ_ENCNAME_MAX];	/* its directory's name */
	int		 dirfd;		/* also flock(2)ed for one change */
	dev_t		 dir_dev;	/* its directory, to notice a rename */
	ino_t		 dir_ino;
	int		 locked;
	int		 rdonly;	/* 0, or why its files are open read-only
					   (EACCES, EROFS): it refuses changes */

	/* Segments, oldest first; the last one is the active one. */
	struct mq_segment *segs;
	size_t		 nsegs, capsegs;
	int		 activefd;	/* the last segment, read-write */
	uint64_t	 active_mark;	/* for mq_spool_dirty_mark */
	int		 idxfd;		/* its index, append-only; -1 if a
					   read-only handle found none */

	/* The tail, as far as this process has read it. */
	uint64_t	 end;		/* valid bytes of the active segment */
	uint64_t	 next_offset;
	mq_id		 last_id;	/* of the last entry appended */
	mq_id		 setid;		/* top id set by XSETID, if larger */
	int64_t		 first_time;	/* append time of the active segment's first batch */

	/* From the marks journal. */
	int		 marksfd;
	uint64_t	 marks_end;	/* bytes of it replayed */
	uint64_t	 first_offset;	/* entries below it are trimmed */
	uint64_t	*deleted;	/* deleted offsets >= first_offset, sorted */
	size_t		 ndeleted, capdeleted;
	mq_id		 max_deleted;
	int64_t		 added_delta;	/* entries added = next_offset + this */

	/* The policy from the meta file, and how to notice it changed. */
	struct mq_policy policy;
	uint64_t	 segment_bytes;
	struct timespec	 meta_mtime;
	ino_t		 meta_ino;
	/*
	 * MQ_ROUTES_STREAMS as last seen by the looks for a new meta file,
	 * for a marks file, and for a removal or rename: each looks again
	 * only once the counter moved (internal.h).
	 */
	uint64_t	 meta_seen, marks_seen, name_seen;
	int		 gone;		/* found removed or renamed */

	/* bodies.c: the bodies of the live entries of [bodies_first, bodies_next). */
	int		 bodies_known;
	uint64_t	 bodies_first, bodies_next, bodies;
	size_t		 bodies_ndeleted;

	/* The append buffer, reused. */
	unsigned char	*buf;
	size_t		 bufcap;
	uint64_t	 unchecked;	/* bytes appended since the last free-space check */
	uint64_t	 unflushed;	/* position from which writeback was not started */
};

/* segment.c */
int	 mq_segments_load(mq_stream *s);
int	 mq_segment_open(mq_stream *s, uint64_t base, int flags);
int	 mq_segment_first(mq_stream *s, size_t i, mq_id *first);
size_t	 mq_segment_find_offset(mq_stream *s, uint64_t offset);
size_t	 mq_segment_find_id(mq_stream *s, mq_id id);
int	 mq_segment_roll(mq_stream *s);
int	 mq_index_add(mq_stream *s, uint64_t pos, uint64_t len,
	    uint64_t offset, mq_id first);
int	 mq_index_lookup(int idxfd, int by_id, uint64_t offset, mq_id id,
	    uint64_t *pos);
int	 mq_index_truncate(int idxfd, uint64_t end);
int	 mq_tail_scan(mq_stream *s, int repair);
int	 mq_retention(mq_stream *s);

/* marks.c */
int	 mq_marks_replay(mq_stream *s);
int	 mq_marks_repair(mq_stream *s);
int	 mq_marks_append(mq_stream *s, const unsigned char *recs, size_t n);
void	 mq_mark_encode(unsigned char *p, uint32_t type, uint64_t a,
	    uint64_t b, uint64_t c);
int	 mq_is_deleted(const mq_stream *s, uint64_t offset);
/* The index of the first of the 'n' sorted offsets 'v' at or above 'offset'. */
size_t	 mq_offsets_lower(const uint64_t *v, size_t n, uint64_t offset);
#define MQ_MARK_SIZE	32
#define MQ_MARK_DELETE	1
#define MQ_MARK_TRIM	2
#define MQ_MARK_SETID	3
#define MQ_MARK_MAXDEL	4

/* stream.c */
int	 mq_stream_refresh(mq_stream *s);
/*
 * bodies.c, for max-len-bytes; the view fresh, under the lock unless
 * said.  The bytes of the bodies of the live entries; that an append of
 * 'msgs' made when next_offset was 'before'; the offset below which the
 * oldest go so that at most 'limit' bytes stay, or with a 'bound'
 * (UINT64_MAX: none) all those below it, and their bytes (also before
 * the lock, for the dead letters); that trim_to(cut) dropped 'dropped'
 * bytes.
 */
int	 mq_bodies_count(mq_stream *s, uint64_t *total);
/* Whether the count is of the view as it is, and at most 'limit'. */
int	 mq_bodies_within(const mq_stream *s, uint64_t limit);
void	 mq_bodies_appended(mq_stream *s, uint64_t before,
	    const struct mq_msg *msgs, size_t n);
int	 mq_bodies_cut(mq_stream *s, uint64_t limit, uint64_t total,
	    uint64_t bound, uint64_t *cut, uint64_t *dropped);
void	 mq_bodies_trimmed(mq_stream *s, uint64_t cut, uint64_t dropped);
int	 mq_stream_lock(mq_stream *s);
void	 mq_stream_unlock(mq_stream *s);
int	 mq_stream_policy_load(mq_stream *s, int force);
uint64_t mq_stream_length(const mq_stream *s);

#endif /* MQ_STREAM_H */
