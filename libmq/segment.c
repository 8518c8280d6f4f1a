/*
 * segment.c - the segment files of a stream, their sparse indexes, the
 * recovery of a torn tail, sealing and retention.
 *
 * A stream is a list of segments named by the offset of their first entry.
 * Only the last one grows.  When it passes the stream's segment size, the
 * appender seals it by writing a 64-byte seal (magic "MQSL", the next
 * segment's base offset and the stream's last id) and starts the next one;
 * a reader that meets a seal moves on without listing the directory.
 *
 * Each segment has a sparse index (.idx) of 32-byte entries (offset, id,
 * file position) for every batch that starts at or crosses a 4 KiB
 * boundary.  The index is a hint: whatever it points to is checked, and a
 * wrong entry only costs a longer scan.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "internal.h"
#include "stream.h"

#define IDX_ENTRY 32

static void
segment_name(char *buf, size_t size, uint64_t base, const char *ext)
{
	snprintf(buf, size, "%020llu.%s", (unsigned long long)base, ext);
}

static int
cmp_base(const void *a, const void *b)
{
	const struct mq_segment *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

/* Parses "NNNNNNNNNNNNNNNNNNNN.log"; 0 if it is not a segment's name. */
static int
parse_segment_name(const char *name, uint64_t *base)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + 20, ".log") != 0)
		return 0;
	*base = v;
	return 1;
}

/*
 * Opens segment 'base' of 's' ('flags' as for open(2), O_CREAT creating an
 * empty one).  Returns the descriptor, or -1 with errno set.
 */
int
mq_segment_open(mq_stream *s, uint64_t base, int flags)
{
	char name[32];

	segment_name(name, sizeof(name), base, "log");
	return openat(s->dirfd, name, flags | O_CLOEXEC, 0644);
}

/*
 * Opens the active segment 'base' (or with 'ext' "idx", its index) to
 * append to, or to read only on a read-only stream (mq_open_rw).
 */
static int
active_open(mq_stream *s, uint64_t base, const char *ext, int flags)
{
	char name[32];

	segment_name(name, sizeof(name), base, ext);
	return mq_open_rw(s->dirfd, name, flags, &s->rdonly);
}

/*
 * Lists the segments of 's' and makes the last one active.  Keeps what is
 * known of segments that were already listed.  A stream always has a
 * segment; if none is there, an empty one is created at the first
 * untrimmed offset.
 */
int
mq_segments_load(mq_stream *s)
{
	struct mq_segment *segs = NULL, *n;
	size_t nsegs = 0, cap = 0, i, j;
	struct dirent *de;
	uint64_t base;
	int fd, rc;
	DIR *d;

	if ((fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return mq_sys();
	if ((d = fdopendir(fd)) == NULL) {
		rc = mq_sys();
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (!parse_segment_name(de->d_name, &base))
			continue;
		if (nsegs == cap) {
			cap = cap ? cap * 2 : 8;
			if ((n = reallocarray(segs, cap, sizeof(*segs))) == NULL) {
				rc = mq_sys();
				free(segs);
				closedir(d);
				return rc;
			}
			segs = n;
		}
		memset(&segs[nsegs], 0, sizeof(segs[nsegs]));
		segs[nsegs++].base = base;
	}
	closedir(d);
	if (nsegs > 1)
		qsort(segs, nsegs, sizeof(*segs), cmp_base);
	for (i = 0, j = 0; i < nsegs && j < s->nsegs; ) {
		if (segs[i].base == s->segs[j].base) {
			segs[i] = s->segs[j];
			i++, j++;
		} else if (segs[i].base < s->segs[j].base)
			i++;
		else
			j++;
	}
	if (nsegs == 0) {
		if ((fd = mq_segment_open(s, s->first_offset,
		    O_RDWR | O_CREAT)) == -1) {
			rc = mq_sys();
			free(segs);
			return rc;
		}
		close(fd);
		if ((segs = malloc(sizeof(*segs))) == NULL)
			return mq_sys();
		memset(segs, 0, sizeof(*segs));
		segs[0].base = s->first_offset;
		nsegs = cap = 1;
	}
	/* A new active segment: its tail is scanned afresh. */
	if (s->nsegs == 0 || s->segs[s->nsegs - 1].base != segs[nsegs - 1].base ||
	    s->activefd == -1) {
		if (s->activefd != -1)
			close(s->activefd);
		if (s->idxfd != -1)
			close(s->idxfd);
		s->idxfd = -1;
		s->activefd = active_open(s, segs[nsegs - 1].base, "log", 0);
		s->active_mark = 0;
		if (s->activefd == -1) {
			rc = mq_sys();
			free(segs);
			return rc;
		}
		/*
		 * Only appends need the index, and a segment has one only
		 * once it passed MQ_INDEX_EVERY bytes (mq_index_add).
		 */
		s->idxfd = active_open(s, segs[nsegs - 1].base, "idx", 0);
		if (s->idxfd == -1 && errno != ENOENT) {
			rc = mq_sys();
			free(segs);
			return rc;
		}
		s->end = 0;
		s->next_offset = segs[nsegs - 1].base;
		s->first_time = 0;
	}
	free(s->segs);
	s->segs = segs;
	s->nsegs = nsegs;
	s->capsegs = cap;
	return MQ_OK;
}

/* The id of the first entry of segment 'i'; MQ_ENOMSG if it is empty. */
int
mq_segment_first(mq_stream *s, size_t i, mq_id *first)
{
	unsigned char hdr[MQ_BATCH_HDR];
	struct mq_batch b;
	ssize_t n;
	int fd;

	if (s->segs[i].known) {
		*first = s->segs[i].first;
		return MQ_OK;
	}
	if ((fd = mq_segment_open(s, s->segs[i].base, O_RDONLY)) == -1)
		return errno == ENOENT ? MQ_ENOMSG : mq_sys();
	n = mq_pread_all(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n == -1)
		return mq_sys();
	if (n < (ssize_t)sizeof(hdr) || mq_batch_header(hdr, &b) != MQ_OK)
		return MQ_ENOMSG;
	s->segs[i].first = b.first;
	s->segs[i].known = 1;
	*first = b.first;
	return MQ_OK;
}

/* Index of the segment that holds 'offset' (the last with base <= it). */
size_t
mq_segment_find_offset(mq_stream *s, uint64_t offset)
{
	size_t lo = 0, hi = s->nsegs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].base <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the segment that would hold 'id' (the last starting at or below it). */
size_t
mq_segment_find_id(mq_stream *s, mq_id id)
{
	size_t lo = 0, hi = s->nsegs;
	mq_id first;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (mq_segment_first(s, mid, &first) != MQ_OK ||
		    mq_id_cmp(first, id) > 0)
			hi = mid;
		else
			lo = mid;
	}
	return lo;
}

/*
 * Adds an index entry for the batch at 'pos' of 'len' bytes if it starts
 * at or crosses a 4 KiB boundary.  Written at a whole entry's position so
 * that an entry torn by a crash is overwritten, never shifts the rest.
 */
int
mq_index_add(mq_stream *s, uint64_t pos, uint64_t len, uint64_t offset,
    mq_id first)
{
	unsigned char e[IDX_ENTRY];
	struct stat st;

	/* A batch at 0 needs no entry: a lookup that finds none starts there. */
	if (pos == 0 || (pos % MQ_INDEX_EVERY != 0 &&
	    pos / MQ_INDEX_EVERY == (pos + len - 1) / MQ_INDEX_EVERY))
		return MQ_OK;
	/* Made by its first entry: a small stream has no index file. */
	if (s->idxfd == -1 &&
	    (s->idxfd = active_open(s, s->segs[s->nsegs - 1].base, "idx",
	    O_CREAT)) == -1)
		return mq_sys();
	if (fstat(s->idxfd, &st) == -1)
		return mq_sys();
	mq_put64(e, offset);
	mq_put64(e + 8, first.ms);
	mq_put64(e + 16, first.seq);
	mq_put64(e + 24, pos);
	return mq_pwrite_all(s->idxfd, e, sizeof(e),
	    st.st_size / IDX_ENTRY * IDX_ENTRY);
}

/*
 * Finds in the index 'idxfd' the last entry whose offset (or id, with
 * 'by_id') is <= the one sought, and sets '*pos' to its batch's position
 * (0 when there is none).  Binary search with pread: O(log n) reads.
 */
int
mq_index_lookup(int idxfd, int by_id, uint64_t offset, mq_id id, uint64_t *pos)
{
	unsigned char e[IDX_ENTRY];
	uint64_t lo = 0, hi, found = 0;
	struct stat st;

	*pos = 0;
	if (fstat(idxfd, &st) == -1)
		return mq_sys();
	hi = (uint64_t)st.st_size / IDX_ENTRY;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int le;

		if (mq_pread_all(idxfd, e, sizeof(e), (off_t)(mid * IDX_ENTRY)) !=
		    (ssize_t)sizeof(e))
			return mq_sys();
		if (by_id) {
			mq_id k = { mq_get64(e + 8), mq_get64(e + 16) };

			le = mq_id_cmp(k, id) <= 0;
		} else
			le = mq_get64(e) <= offset;
		if (le) {
			found = mq_get64(e + 24);
			lo = mid + 1;
		} else
			hi = mid;
	}
	*pos = found;
	return MQ_OK;
}

/* Drops index entries that point at or past 'end' (after a torn tail). */
int
mq_index_truncate(int idxfd, uint64_t end)
{
	unsigned char e[IDX_ENTRY];
	struct stat st;
	uint64_t n;

	if (idxfd == -1)
		return MQ_OK;	/* none yet */
	if (fstat(idxfd, &st) == -1)
		return mq_sys();
	n = (uint64_t)st.st_size / IDX_ENTRY;
	while (n > 0) {
		if (mq_pread_all(idxfd, e, sizeof(e), (off_t)((n - 1) * IDX_ENTRY)) !=
		    (ssize_t)sizeof(e))
			return mq_sys();
		if (mq_get64(e + 24) < end)
			break;
		n--;
	}
	if ((uint64_t)st.st_size != n * IDX_ENTRY &&
	    ftruncate(idxfd, (off_t)(n * IDX_ENTRY)) == -1)
		return mq_sys();
	return MQ_OK;
}

/* Reads the seal at 'p' (64 bytes); 1 if it is a sound one. */
static int
seal_check(const unsigned char *p, uint64_t *next, mq_id *last)
{
	if (mq_get32(p) != MQ_SEAL_MAGIC || mq_get32(p + 4) != MQ_BATCH_HDR ||
	    mq_crc32c(0, p + 12, MQ_BATCH_HDR - 12) != mq_get32(p + 8))
		return 0;
	*next = mq_get64(p + 16);
	last->ms = mq_get64(p + 40);
	last->seq = mq_get64(p + 48);
	return 1;
}

/*
 * The id of the last entry of the segment before the active one, for a
 * stream whose active segment is still empty: a writer was killed right
 * after sealing the previous segment, before its first append to the new
 * one.  The seal says it; if the seal was lost with a power failure, the
 * last whole batch does, found from the segment's last index entry.
 * Leaves s->last_id alone when neither can be read.
 */
static void
last_id_before_active(mq_stream *s)
{
	unsigned char hdr[MQ_BATCH_HDR];
	char name[32];
	struct stat st;
	struct mq_batch b;
	uint64_t base, next, pos = 0;
	mq_id last;
	int fd, idxfd;

	base = s->segs[s->nsegs - 2].base;
	if ((fd = mq_segment_open(s, base, O_RDONLY)) == -1)
		return;
	if (fstat(fd, &st) == -1 || st.st_size < MQ_BATCH_HDR)
		goto out;
	if (mq_pread_all(fd, hdr, sizeof(hdr), st.st_size - MQ_BATCH_HDR) ==
	    (ssize_t)sizeof(hdr) && seal_check(hdr, &next, &last)) {
		s->last_id = last;
		goto out;
	}
	segment_name(name, sizeof(name), base, "idx");
	if ((idxfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) != -1) {
		if (mq_index_lookup(idxfd, 1, 0, MQ_ID_LAST, &pos) != MQ_OK)
			pos = 0;
		close(idxfd);
	}
	/* Headers only: the batch's own CRC is the readers' business. */
	while (pos + MQ_BATCH_HDR <= (uint64_t)st.st_size &&
	    mq_pread_all(fd, hdr, sizeof(hdr), (off_t)pos) ==
	    (ssize_t)sizeof(hdr) && mq_batch_header(hdr, &b) == MQ_OK &&
	    pos + b.length <= (uint64_t)st.st_size) {
		s->last_id = b.last;
		pos += b.length;
	}
out:
	close(fd);
}

/*
 * Brings s->end, s->next_offset and s->last_id up to the valid end of the
 * active segment, following seals into the segments after it.  With
 * 'repair' (only under the stream's lock, when no one else can be
 * writing), a torn tail is truncated and a missing next segment created.
 * Returns MQ_OK or an error.
 */
int
mq_tail_scan(mq_stream *s, int repair)
{
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, have;
	uint64_t pos, next;
	struct stat st;
	struct mq_batch b;
	mq_id last;
	long len;
	int rc = MQ_OK, fd;

again:
	if (fstat(s->activefd, &st) == -1) {
		rc = mq_sys();
		goto out;
	}
	if (st.st_size == 0 && s->nsegs > 1 && s->last_id.ms == 0 && s->last_id.seq == 0)
		last_id_before_active(s);
	if ((uint64_t)st.st_size == s->end)
		goto out;
	if (s->end == 0 && s->next_offset == s->segs[s->nsegs - 1].base) {
		/* First look at this segment: start from its last index entry. */
		uint64_t ipos;
		unsigned char hdr[MQ_BATCH_HDR];

		if (s->idxfd != -1 &&
		    mq_index_lookup(s->idxfd, 1, 0, MQ_ID_LAST, &ipos) == MQ_OK &&
		    ipos > 0 && ipos < (uint64_t)st.st_size &&
		    mq_pread_all(s->activefd, hdr, sizeof(hdr), (off_t)ipos) ==
		    (ssize_t)sizeof(hdr) && mq_batch_header(hdr, &b) == MQ_OK &&
		    b.base_offset >= s->next_offset) {
			if (s->first_time == 0 &&
			    mq_pread_all(s->activefd, hdr, sizeof(hdr), 0) ==
			    (ssize_t)sizeof(hdr) && mq_batch_header(hdr, &b) == MQ_OK)
				s->first_time = b.time_ms;
			mq_pread_all(s->activefd, hdr, sizeof(hdr), (off_t)ipos);
			mq_batch_header(hdr, &b);
			s->end = ipos;
			s->next_offset = b.base_offset;
		}
	}
	pos = s->end;
	have = 0;
	for (;;) {
		size_t want = MQ_BATCH_HDR;
		ssize_t n;

		if (have >= MQ_BATCH_HDR && mq_get32(buf) != MQ_SEAL_MAGIC &&
		    mq_get32(buf) == MQ_BATCH_MAGIC)
			want = mq_get32(buf + 4);
		if (want < MQ_BATCH_HDR || pos + want > (uint64_t)st.st_size)
			break;	/* incomplete: being written, or torn */
		if (want > cap) {
			size_t ncap = want < (1u << 20) ? (1u << 20) : want;

			if ((nb = realloc(buf, ncap)) == NULL) {
				rc = mq_sys();
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		if (have < want) {
			size_t more = cap - have;

			if (pos + have + more > (uint64_t)st.st_size)
				more = (size_t)((uint64_t)st.st_size - pos - have);
			n = mq_pread_all(s->activefd, buf + have, more,
			    (off_t)(pos + have));
			if (n == -1) {
				rc = mq_sys();
				goto out;
			}
			have += (size_t)n;
			if (have < want)
				break;
			continue;
		}
		if (mq_get32(buf) == MQ_SEAL_MAGIC) {
			if (!seal_check(buf, &next, &last))
				break;
			s->end = pos + MQ_BATCH_HDR;
			if ((fd = mq_segment_open(s, next,
			    repair ? O_RDWR | O_CREAT : O_RDONLY)) == -1) {
				if (errno == ENOENT)
					goto out;	/* sealed, next not yet made */
				rc = mq_sys();
				goto out;
			}
			close(fd);
			if (repair && (rc = mq_fsync_dir_fd(s->dirfd)) != MQ_OK)
				goto out;
			if ((rc = mq_segments_load(s)) != MQ_OK)
				goto out;
			if (mq_id_cmp(last, s->last_id) > 0)
				s->last_id = last;
			s->next_offset = next;
			have = 0;
			goto again;
		}
		if ((len = mq_batch_check(buf, have, 1, &b)) <= 0)
			break;	/* torn or corrupt: the valid part ends here */
		if (pos == 0)
			s->first_time = b.time_ms;
		s->next_offset = b.base_offset + b.count;
		s->last_id = b.last;
		if (!s->segs[s->nsegs - 1].known) {
			s->segs[s->nsegs - 1].known = pos == 0;
			s->segs[s->nsegs - 1].first = b.first;
		}
		pos += (uint64_t)len;
		s->end = pos;
		memmove(buf, buf + len, have - (size_t)len);
		have -= (size_t)len;
	}
	if (repair && s->end < (uint64_t)st.st_size) {
		if (ftruncate(s->activefd, (off_t)s->end) == -1) {
			rc = mq_sys();
			goto out;
		}
		rc = mq_index_truncate(s->idxfd, s->end);
	}
out:
	free(buf);
	return rc;
}

/*
 * Seals the active segment and starts the next one (under the lock).  The
 * seal is durable as the fsync policy says, like the batches before it; a
 * reader that finds a segment ending without its seal after a power loss
 * moves on to the next segment listed (see reader.c).
 */
int
mq_segment_roll(mq_stream *s)
{
	unsigned char seal[MQ_BATCH_HDR];
	int fd, rc;

	memset(seal, 0, sizeof(seal));
	mq_put32(seal, MQ_SEAL_MAGIC);
	mq_put32(seal + 4, MQ_BATCH_HDR);
	mq_put64(seal + 16, s->next_offset);
	mq_put64(seal + 24, s->last_id.ms);
	mq_put64(seal + 32, s->last_id.seq);
	mq_put64(seal + 40, s->last_id.ms);
	mq_put64(seal + 48, s->last_id.seq);
	mq_put64(seal + 56, (uint64_t)mq_now_ms());
	mq_put32(seal + 8, mq_crc32c(0, seal + 12, sizeof(seal) - 12));
	if ((rc = mq_pwrite_all(s->activefd, seal, sizeof(seal),
	    (off_t)s->end)) != MQ_OK ||
	    (rc = mq_spool_dirty(s->spool, s->activefd)) != MQ_OK)
		return rc;
	if ((fd = mq_segment_open(s, s->next_offset, O_RDWR | O_CREAT)) == -1)
		return mq_sys();
	close(fd);
	if ((rc = mq_fsync_dir_fd(s->dirfd)) != MQ_OK)
		return rc;
	s->end += MQ_BATCH_HDR;
	{
		uint64_t next = s->next_offset;
		mq_id last = s->last_id;

		if ((rc = mq_segments_load(s)) != MQ_OK)
			return rc;
		s->next_offset = next;
		s->last_id = last;
	}
	return mq_retention(s);
}

static int
segment_remove(mq_stream *s, size_t i)
{
	char name[32];

	segment_name(name, sizeof(name), s->segs[i].base, "log");
	if (unlinkat(s->dirfd, name, 0) == -1 && errno != ENOENT)
		return mq_sys();
	segment_name(name, sizeof(name), s->segs[i].base, "idx");
	if (unlinkat(s->dirfd, name, 0) == -1 && errno != ENOENT)
		return mq_sys();
	return MQ_OK;
}

/*
 * Removes sealed segments, oldest first, that are wholly trimmed, or are
 * over the policy's max-bytes or max-age; a segment removed for bytes or
 * age moves the first offset past it with a TRIM mark.  Under the lock.
 */
int
mq_retention(mq_stream *s)
{
	const struct mq_policy *p = &s->policy;
	uint64_t total = 0, cut = s->first_offset;
	int64_t now = mq_now_ms();
	struct stat st;
	size_t i, drop = 0;
	char name[32];
	int rc;

	if (p->max_bytes > 0)
		for (i = 0; i < s->nsegs; i++) {
			segment_name(name, sizeof(name), s->segs[i].base, "log");
			if (fstatat(s->dirfd, name, &st, 0) == 0)
				total += (uint64_t)st.st_size;
		}
	for (i = 0; i + 1 < s->nsegs; i++) {
		uint64_t next = s->segs[i + 1].base;
		int gone = next <= s->first_offset;

		segment_name(name, sizeof(name), s->segs[i].base, "log");
		if (fstatat(s->dirfd, name, &st, 0) == -1)
			st.st_size = 0, st.st_mtime = now / 1000;
		if (!gone && p->max_bytes > 0 && total > p->max_bytes)
			gone = 1;
		if (!gone && p->max_age_ms > 0 &&
		    (int64_t)st.st_mtime * 1000 < now - p->max_age_ms)
			gone = 1;
		if (!gone)
			break;
		total -= (uint64_t)st.st_size;
		if (next > cut)
			cut = next;
		drop = i + 1;
	}
	if (drop == 0)
		return MQ_OK;
	if (cut > s->first_offset) {
		unsigned char m[MQ_MARK_SIZE];

		mq_mark_encode(m, MQ_MARK_TRIM, cut, 0, 0);
		if ((rc = mq_marks_append(s, m, 1)) != MQ_OK)
			return rc;
	}
	for (i = 0; i < drop; i++)
		if ((rc = segment_remove(s, i)) != MQ_OK)
			return rc;
	memmove(s->segs, s->segs + drop, (s->nsegs - drop) * sizeof(*s->segs));
	s->nsegs -= drop;
	return MQ_OK;
}
