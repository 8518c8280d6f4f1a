/*
 * stream.c - opening, appending to, trimming and describing a stream.
 *
 * A stream is a directory of the spool: segment files (segment.c), a
 * marks journal (marks.c), a meta file with its policy, and a lock file.
 * An append encodes its batch before taking the lock, then under the lock
 * catches up with what other processes appended (mq_tail_scan, which also
 * cuts off a torn tail left by a crash), chooses the ids, and writes the
 * batch with one pwrite(2).  Readers never take the lock.
 *
 * A new stream is built in a temporary directory and renamed into place,
 * so a stream directory that exists is always complete.  Since the
 * directory holds all of a stream's state, removing one is renaming it
 * away (then deleting it), and renaming one is one renameat(2); an open
 * handle notices either by looking its name up again (mq_stream_removed).
 *
 * A process that may read the stream but not write it (permissions, a
 * read-only filesystem) opens it all the same, with its files open for
 * reading only (mq_open_rw); the handle then refuses every change where
 * the change would take the lock, before it writes anything, with
 * MQ_ESYS and the errno that refused the files (EACCES or EROFS).  Never
 * holding the lock, it never repairs either: like any reader, it stops
 * at the last whole batch of a torn tail and leaves the cut to a writer.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "internal.h"
#include "stream.h"
#include "wal.h"

static int wal_refresh(mq_stream *s);

/* ------------------------------------------------------------------
 * The meta file: "key value" lines, version first.
 * ---------------------------------------------------------------- */

static void
policy_defaults(struct mq_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_msg = MQ_MSG_DEFAULT;
	p->segment_bytes = MQ_SEGMENT_BYTES;
	p->overflow = MQ_OVERFLOW_DROP;
	p->lease_ms = MQ_LEASE_DEFAULT;
	p->retry_delay_ms = MQ_RETRY_DELAY_DEFAULT;
	p->retry_max_ms = MQ_RETRY_MAX_DEFAULT;
}

/* The meta file's word for each enum mq_overflow. */
static const char *const overflow_names[] = {
	[MQ_OVERFLOW_DROP] = "drop",
	[MQ_OVERFLOW_DEADLETTER] = "dead-letter",
	[MQ_OVERFLOW_REJECT] = "reject"
};
#define NOVERFLOW (sizeof(overflow_names) / sizeof(overflow_names[0]))

/*
 * A dead-letter exchange or key in the meta file: ':' and the bytes, each
 * outside [A-Za-z0-9._-] as %XX, so that "" (the default exchange, an
 * empty key) and any byte but NUL fit on the line.
 */
static size_t
dl_encode(const char *v, char *buf)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)v;
	size_t n = 0;

	buf[n++] = ':';
	for (; *u != '\0'; u++) {
		if (isalnum(*u) || *u == '.' || *u == '_' || *u == '-')
			buf[n++] = (char)*u;
		else {
			buf[n++] = '%';
			buf[n++] = hex[*u >> 4];
			buf[n++] = hex[*u & 0xf];
		}
	}
	buf[n] = '\0';
	return n;
}

/* Decodes what dl_encode made into 'buf' of 'size' bytes: 0 or -1. */
static int
dl_decode(const char *enc, char *buf, size_t size)
{
	unsigned int c;
	size_t n = 0;

	if (*enc++ != ':')
		return -1;
	while (*enc != '\0') {
		if (n + 1 >= size)
			return -1;
		if (*enc == '%') {
			if (!isxdigit((unsigned char)enc[1]) ||
			    !isxdigit((unsigned char)enc[2]))
				return -1;
			c = (unsigned int)strtoul((char[]){ enc[1], enc[2],
			    '\0' }, NULL, 16);
			if (c == 0)
				return -1;
			enc += 3;
		} else
			c = (unsigned char)*enc++;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

/* The dead-letter exchange's lines of the meta file, if any, in 'buf'. */
static void
dl_format(const struct mq_policy *p, char *buf)
{
	buf[0] = '\0';
	if (!(p->dl_route & MQ_DL_EXCHANGE))
		return;
	buf += sprintf(buf, "dead-letter-exchange ");
	buf += dl_encode(p->dl_exchange, buf);
	*buf++ = '\n';
	*buf = '\0';
	if (!(p->dl_route & MQ_DL_KEY))
		return;
	buf += sprintf(buf, "dead-letter-key ");
	buf += dl_encode(p->dl_key, buf);
	*buf++ = '\n';
	*buf = '\0';
}

static int
meta_format(const struct mq_policy *p, char *buf, size_t size)
{
	char dl[MQ_ENCNAME_MAX] = "";
	char dlx[3 * (MQ_NAME_MAX + MQ_DLKEY_MAX) + 64], mlb[64] = "";
	int n;

	if (p->dead_letter[0] != '\0' &&
	    mq_name_encode(p->dead_letter, dl, sizeof(dl)) < 0)
		return MQ_EBADNAME;
	dl_format(p, dlx);
	/* Written only when set: the meta files of older versions stay. */
	if (p->max_len_bytes > 0)
		(void)snprintf(mlb, sizeof(mlb), "max-len-bytes %" PRIu64 "\n",
		    p->max_len_bytes);
	n = snprintf(buf, size,
	    "version 1\n"
	    "max-msg %" PRIu32 "\n"
	    "segment-bytes %" PRIu64 "\n"
	    "delivery-limit %" PRIu64 "\n"
	    "ttl-ms %" PRId64 "\n"
	    "max-len %" PRIu64 "\n"
	    "max-bytes %" PRIu64 "\n"
	    "max-age-ms %" PRId64 "\n"
	    "overflow %s\n"
	    "lease-ms %" PRId64 "\n"
	    "retry-delay-ms %" PRId64 "\n"
	    "retry-max-ms %" PRId64 "\n"
	    "%s%s%s%s%s",
	    p->max_msg, p->segment_bytes, p->delivery_limit, p->ttl_ms,
	    p->max_len, p->max_bytes, p->max_age_ms,
	    overflow_names[p->overflow],
	    p->lease_ms, p->retry_delay_ms, p->retry_max_ms, mlb,
	    dl[0] ? "dead-letter " : "", dl, dl[0] ? "\n" : "", dlx);
	if (n < 0 || (size_t)n >= size)
		return MQ_EINVAL;
	return n;
}

/* The enum mq_overflow of 'word', or NOVERFLOW. */
static enum mq_overflow
overflow_parse(const char *word)
{
	size_t i;

	for (i = 0; i < NOVERFLOW; i++)
		if (strcmp(word, overflow_names[i]) == 0)
			break;
	return (enum mq_overflow)i;
}

static int
meta_parse(char *text, struct mq_policy *p)
{
	char *line, *val;
	const char *errstr;
	int first = 1, rc;

	policy_defaults(p);
	while ((rc = mq_kv_next(&text, &line, &val, &first)) == 1) {
		errstr = NULL;
		if (strcmp(line, "max-msg") == 0)
			p->max_msg = (uint32_t)strtonum(val, 1, MQ_MSG_LIMIT, &errstr);
		else if (strcmp(line, "segment-bytes") == 0)
			p->segment_bytes = (uint64_t)strtonum(val, 1, LLONG_MAX, &errstr);
		else if (strcmp(line, "delivery-limit") == 0)
			p->delivery_limit = (uint64_t)strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "ttl-ms") == 0)
			p->ttl_ms = strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "max-len") == 0)
			p->max_len = (uint64_t)strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "max-len-bytes") == 0)
			p->max_len_bytes = (uint64_t)strtonum(val, 0, LLONG_MAX,
			    &errstr);
		else if (strcmp(line, "max-bytes") == 0)
			p->max_bytes = (uint64_t)strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "max-age-ms") == 0)
			p->max_age_ms = strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "lease-ms") == 0)
			p->lease_ms = strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "retry-delay-ms") == 0)
			p->retry_delay_ms = strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "retry-max-ms") == 0)
			p->retry_max_ms = strtonum(val, 0, LLONG_MAX, &errstr);
		else if (strcmp(line, "overflow") == 0) {
			if ((p->overflow = overflow_parse(val)) == NOVERFLOW)
				return MQ_ECORRUPT;
		} else if (strcmp(line, "dead-letter") == 0) {
			if (mq_name_decode(val, p->dead_letter,
			    sizeof(p->dead_letter)) < 0)
				return MQ_ECORRUPT;
		} else if (strcmp(line, "dead-letter-exchange") == 0) {
			if (dl_decode(val, p->dl_exchange,
			    sizeof(p->dl_exchange)) == -1)
				return MQ_ECORRUPT;
			p->dl_route |= MQ_DL_EXCHANGE;
		} else if (strcmp(line, "dead-letter-key") == 0) {
			if (dl_decode(val, p->dl_key, sizeof(p->dl_key)) == -1)
				return MQ_ECORRUPT;
			p->dl_route |= MQ_DL_KEY;
		}
		/* Unknown keys are kept for newer versions: ignored. */
		if (errstr != NULL)
			return MQ_ECORRUPT;
	}
	return rc;
}

/* Reads the meta file again if it changed since the last look (or 'force'). */
int
mq_stream_policy_load(mq_stream *s, int force)
{
	struct mq_policy p;
	struct stat st;
	char *text;
	size_t len;
	int rc, fd;

	if (!force && !mq_routes_moved(s->spool, MQ_ROUTES_STREAMS, &s->meta_seen))
		return MQ_OK;
	if (fstatat(s->dirfd, "meta", &st, 0) == -1) {
		if (errno != ENOENT)
			return mq_sys();
		/* No meta file: the defaults (a new stream has none). */
		if (force || s->meta_ino != 0) {
			policy_defaults(&s->policy);
			s->segment_bytes = s->policy.segment_bytes;
			s->meta_ino = 0;
		}
		return MQ_OK;
	}
	if (!force && st.st_ino == s->meta_ino &&
	    st.st_mtim.tv_sec == s->meta_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->meta_mtime.tv_nsec)
		return MQ_OK;
	if ((fd = openat(s->dirfd, "meta", O_RDONLY | O_CLOEXEC)) == -1)
		return mq_sys();
	if (fstat(fd, &st) == -1 || (text = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = mq_sys();
		close(fd);
		return rc;
	}
	len = (size_t)mq_pread_all(fd, text, (size_t)st.st_size, 0);
	close(fd);
	if (len != (size_t)st.st_size) {
		free(text);
		return MQ_ECORRUPT;
	}
	text[len] = '\0';
	rc = meta_parse(text, &p);
	free(text);
	if (rc != MQ_OK)
		return rc;
	s->policy = p;
	s->segment_bytes = p.segment_bytes;
	s->meta_ino = st.st_ino;
	s->meta_mtime = st.st_mtim;
	return MQ_OK;
}

/* Writes the meta file of the directory 'dirfd' atomically. */
static int
meta_write(int dirfd, const struct mq_policy *p)
{
	char buf[4096];
	int n, rc;

	if ((n = meta_format(p, buf, sizeof(buf))) < 0)
		return n;
	if ((rc = mq_put_file(dirfd, "meta.tmp", "meta", buf, (size_t)n, 0,
	    NULL)) != MQ_OK)
		return rc;
	return mq_fsync_dir_fd(dirfd);
}

/* ------------------------------------------------------------------
 * Open, create, close, remove.
 * ---------------------------------------------------------------- */

static int
create_file(int dirfd, const char *name)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return mq_sys();
	close(fd);
	return MQ_OK;
}

/*
 * Builds stream 'enc' in a temporary directory, then renames it into
 * place.  Losing the race to another process is success.  The rename
 * happens under the spool's key lock, so that no sorted set of the name
 * appears meanwhile (MQ_EWRONGTYPE if there is one).
 *
 * A new stream is its directory and one empty file, its first segment:
 * no meta file (the default policy) and no marks (none yet), since on
 * a filesystem each file costs an inode to find and, at removal, to
 * free.  It is made durable by the
 * fsync policy like an append: with "always" before this returns, else
 * with the process's next sync, which covers many creations at once
 * (docs/spool-scaling.md).  An opener makes whatever file is missing,
 * so a crash that keeps the directory and loses a file loses nothing.
 */
static int
stream_create(mq_spool *sp, const char *enc)
{
	char tmp[MQ_ENCNAME_MAX + 64];
	int fd, rc, keyfd, err;

	/* Whoever takes a name must be able to say so (mq_names_taken). */
	if (mq_routes_map(sp) == NULL)
		return mq_sys();
	snprintf(tmp, sizeof(tmp), ".new-%ld-%s", (long)getpid(), enc);
	if (mkdirat(sp->streamsfd, tmp, 0755) == -1) {
		if (errno != EEXIST)
			return mq_sys();
		/* Left by a process of this pid that died: start afresh. */
		mq_rmtree_at(sp->streamsfd, tmp);
		if (mkdirat(sp->streamsfd, tmp, 0755) == -1)
			return mq_sys();
	}
	if ((fd = openat(sp->streamsfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = mq_sys();
		goto fail;
	}
	if ((rc = create_file(fd, "00000000000000000000.log")) != MQ_OK ||
	    (rc = mq_spool_dirty(sp, fd)) != MQ_OK) {
		close(fd);
		goto fail;
	}
	close(fd);
	if ((rc = mq_key_lock(sp, enc, MQ_KEY_STREAM, &keyfd)) != MQ_OK)
		goto fail;
	rc = renameat(sp->streamsfd, tmp, sp->streamsfd, enc);
	err = errno;
	if (rc == 0)
		mq_names_taken(sp, enc);
	mq_key_unlock(keyfd);
	if (rc == -1) {
		if (err == EEXIST || err == ENOTEMPTY) {
			mq_rmtree_at(sp->streamsfd, tmp);
			return MQ_OK;
		}
		errno = err;
		rc = mq_sys();
		goto fail;
	}
	return mq_spool_dirty(sp, sp->streamsfd);
fail:
	/* The errno of the failure, not of the cleanup (MQ_ESYS keeps it). */
	err = errno;
	mq_rmtree_at(sp->streamsfd, tmp);
	errno = err;
	return rc;
}

int
mq_stream_open(mq_spool *sp, const char *name, int flags, mq_stream **out)
{
	struct stat st;
	mq_stream *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mq_sys();
	s->spool = sp;
	s->dirfd = s->activefd = s->idxfd = s->marksfd = -1;
	if ((rc = mq_name_encode(name, s->enc, sizeof(s->enc))) < 0)
		goto fail;
	if ((s->name = strdup(name)) == NULL) {
		rc = mq_sys();
		goto fail;
	}
	/*
	 * The count of changes before the first looks (the name, the meta
	 * file): later looks wait for it to move.  The marks file is looked
	 * for once at least, whatever the count.
	 */
	s->meta_seen = UINT64_MAX;
	(void)mq_routes_moved(sp, MQ_ROUTES_STREAMS, &s->meta_seen);
	s->name_seen = s->meta_seen;
	s->marks_seen = UINT64_MAX;
	for (;;) {
		s->dirfd = openat(sp->streamsfd, s->enc,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd != -1)
			break;
		if (errno != ENOENT) {
			rc = mq_sys();
			goto fail;
		}
		/*
		 * A stream appended to through the write-ahead log before it
		 * was made exists: it is made now, and given its entries.
		 */
		if (!(flags & MQ_CREATE) &&
		    !mq_wal_pending(sp, s->enc, &rc)) {
			if (rc == MQ_OK)
				rc = mq_zset_exists_enc(sp, s->enc) ?
				    MQ_EWRONGTYPE : MQ_ENOSTREAM;
			goto fail;
		}
		if ((rc = stream_create(sp, s->enc)) != MQ_OK)
			goto fail;
	}
	if (fstat(s->dirfd, &st) == -1) {
		rc = mq_sys();
		goto fail;
	}
	s->dir_dev = st.st_dev;
	s->dir_ino = st.st_ino;
	/* The first append of every open stream checks the free space. */
	s->unchecked = UINT64_MAX / 2;
	if ((rc = mq_stream_policy_load(s, 1)) != MQ_OK ||
	    (rc = mq_marks_replay(s)) != MQ_OK ||
	    (rc = mq_segments_load(s)) != MQ_OK ||
	    (rc = mq_tail_scan(s, 0)) != MQ_OK ||
	    (rc = wal_refresh(s)) != MQ_OK)
		goto fail;
	*out = s;
	return MQ_OK;
fail:
	mq_stream_close(s);
	return rc;
}

void
mq_stream_close(mq_stream *s)
{
	if (s == NULL)
		return;
	if (s->dirfd != -1)
		close(s->dirfd);
	if (s->activefd != -1)
		close(s->activefd);
	if (s->idxfd != -1)
		close(s->idxfd);
	if (s->marksfd != -1)
		close(s->marksfd);
	free(s->segs);
	free(s->deleted);
	free(s->buf);
	free(s->name);
	free(s);
}

/*
 * Renames the stream directory 'enc' away to a name that no one opens
 * (spool.c skips dot names) and writes that name into 'tmp' ('size'
 * bytes), for mq_rmtree_at() to delete it at leisure; on failure 'tmp'
 * is emptied.
 */
int
mq_stream_unlink(mq_spool *sp, const char *enc, char *tmp, size_t size)
{
	int rc;

	snprintf(tmp, size, ".del-%ld-%s", (long)getpid(), enc);
	if (renameat(sp->streamsfd, enc, sp->streamsfd, tmp) == -1) {
		rc = errno == ENOENT ? MQ_ENOSTREAM : mq_sys();
		tmp[0] = '\0';
		return rc;
	}
	mq_routes_bump(sp, MQ_ROUTES_STREAMS);
	return MQ_OK;
}

int
mq_stream_remove(mq_spool *sp, const char *name)
{
	char enc[MQ_ENCNAME_MAX], tmp[MQ_ENCNAME_MAX + 64];
	int rc;

	if ((rc = mq_name_encode(name, enc, sizeof(enc))) < 0)
		return rc;
	/*
	 * Renamed away first, so that no one opens a half-removed stream;
	 * made durable by the fsync policy, as a creation is.
	 */
	if ((rc = mq_wal_lock(sp)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_wal_forget(sp, name, enc)) == MQ_OK)
		rc = mq_stream_unlink(sp, enc, tmp, sizeof(tmp));
	mq_wal_unlock(sp);
	if (rc != MQ_OK)
		return rc;
	if ((rc = mq_spool_dirty(sp, sp->streamsfd)) != MQ_OK)
		return rc;
	return mq_rmtree_at(sp->streamsfd, tmp);
}

/*
 * Opens the directory of stream 'enc' and takes its lock (the directory
 * itself, as mq_stream_lock does); '*dirfd' is the caller's to close.
 * The lock is taken on what the name led to when it was opened, so once
 * it is held the name is looked up again: if it leads elsewhere now
 * (renamed or removed meanwhile), the whole is tried again.
 */
int
mq_stream_lock_name(mq_spool *sp, const char *enc, int *dirfd)
{
	struct stat a, b;
	int tries, rc;

	for (tries = 0; tries < 100; tries++) {
		*dirfd = openat(sp->streamsfd, enc,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd == -1)
			return errno == ENOENT ? MQ_ENOSTREAM : mq_sys();
		while ((rc = flock(*dirfd, LOCK_EX)) == -1 && errno == EINTR)
			;
		if (rc == -1 || fstat(*dirfd, &a) == -1) {
			rc = mq_sys();
			close(*dirfd);
			return rc;
		}
		if (fstatat(sp->streamsfd, enc, &b, AT_SYMLINK_NOFOLLOW) == 0) {
			if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				return MQ_OK;
		} else if (errno != ENOENT) {
			rc = mq_sys();
			close(*dirfd);
			return rc;
		}
		close(*dirfd);
	}
	return MQ_ENOSTREAM;
}

/*
 * A stream's directory holds all of its state (segments, marks, group
 * journals, policy), so a rename is one renameat(2) of it, made under
 * the stream's lock so that it falls between two changes of any
 * process, and under the key lock (mq_key_target_check) so that no key
 * of the new name appears meanwhile.  With 'replace', a key of the new
 * name is removed first: a stream is renamed away as mq_stream_remove()
 * does, a sorted set unlinked under its lock.
 */
int
mq_stream_rename(mq_spool *sp, const char *from, const char *to, int replace)
{
	char fenc[MQ_ENCNAME_MAX], tenc[MQ_ENCNAME_MAX];
	char tmp[MQ_ENCNAME_MAX + 64] = "";
	struct mq_key_target t;
	int dirfd = -1, tries = 0, rc;

	if (mq_name_encode(from, fenc, sizeof(fenc)) < 0 ||
	    mq_name_encode(to, tenc, sizeof(tenc)) < 0)
		return MQ_EBADNAME;
	if (mq_routes_map(sp) == NULL)		/* for mq_names_taken */
		return mq_sys();
	/*
	 * Under the log's lock, nothing more is logged for either name: the
	 * batches logged for 'from' go into it first (they would be lost to
	 * the name), and those of 'to' end with a tombstone.
	 */
	if ((rc = mq_wal_lock(sp)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_wal_forget(sp, from, fenc)) != MQ_OK ||
	    (rc = mq_stream_wal_forget(sp, to, tenc)) != MQ_OK) {
		mq_wal_unlock(sp);
		return rc;
	}
	if ((rc = mq_stream_lock_name(sp, fenc, &dirfd)) != MQ_OK) {
		mq_wal_unlock(sp);
		return rc == MQ_ENOSTREAM && mq_zset_exists_enc(sp, fenc) ?
		    MQ_EWRONGTYPE : rc;
	}
	if (strcmp(fenc, tenc) == 0) {
		rc = replace ? MQ_OK : MQ_EEXIST;
		goto out;
	}
	/* A stream's lock comes before a sorted set's: no order to keep. */
	do {
		if ((rc = mq_key_target_lock(sp, tenc, &t)) == MQ_OK)
			rc = mq_key_target_check(sp, tenc, &t);
	} while (rc == 1 && ++tries < 100);
	if (rc == 1) {
		errno = EAGAIN;
		rc = mq_sys();
	}
	if (rc != MQ_OK)
		goto out;
	if ((t.stream || t.zset) && !replace)
		rc = MQ_EEXIST;
	else if (t.zset && (rc = mq_journal_unlink(&t.j)) == MQ_ENOGROUP)
		rc = MQ_OK;
	if (rc == MQ_OK && t.stream &&
	    (rc = mq_stream_unlink(sp, tenc, tmp, sizeof(tmp))) == MQ_ENOSTREAM)
		rc = MQ_OK;		/* removed meanwhile */
	if (rc == MQ_OK &&
	    renameat(sp->streamsfd, fenc, sp->streamsfd, tenc) == -1)
		rc = mq_sys();
	if (rc == MQ_OK) {
		mq_routes_bump(sp, MQ_ROUTES_STREAMS);
		mq_names_taken(sp, tenc);
	}
	mq_key_target_release(&t);
	if (rc == MQ_OK)
		rc = mq_spool_dirty(sp, sp->streamsfd);
out:
	flock(dirfd, LOCK_UN);
	close(dirfd);
	mq_wal_unlock(sp);
	/* The replaced stream is deleted after the lock is given back. */
	if (tmp[0] != '\0')
		(void)mq_rmtree_at(sp->streamsfd, tmp);
	return rc;
}

/*
 * Removal renames the directory away and deletes it; a rename moves it
 * to another name.  Either way the name no longer leads to the
 * directory this handle has open, which one fstatat(2) of the name
 * tells: a lookup in the streams directory, answered from the kernel's
 * dentry cache without I/O (about a microsecond).  A handle found gone
 * stays gone.
 */
int
mq_stream_removed(mq_stream *s)
{
	struct stat st;

	if (s->gone)
		return 1;
	if (fstatat(s->spool->streamsfd, s->enc, &st, AT_SYMLINK_NOFOLLOW) == -1)
		s->gone = errno == ENOENT;
	else
		s->gone = st.st_dev != s->dir_dev || st.st_ino != s->dir_ino;
	return s->gone;
}

/*
 * The look costs nothing until the spool's counter of removals and
 * renames moved (MQ_ROUTES_STREAMS).  The counter is added to after the
 * rename, so a process woken by the rename itself (an inotify event) may
 * find it not moved yet: such a process asks mq_stream_removed().
 */
int
mq_stream_removed_lazy(mq_stream *s)
{
	if (!s->gone &&
	    !mq_routes_moved(s->spool, MQ_ROUTES_STREAMS, &s->name_seen))
		return 0;
	return mq_stream_removed(s);
}

const char *
mq_stream_name(const mq_stream *s)
{
	return s->name;
}

mq_spool *
mq_stream_spool(mq_stream *s)
{
	return s->spool;
}

int
mq_stream_dirfd(mq_stream *s)
{
	return s->dirfd;
}

const struct mq_policy *
mq_stream_policy(mq_stream *s)
{
	mq_stream_policy_load(s, 0);
	return &s->policy;
}

/* ------------------------------------------------------------------
 * Locking and catching up with other processes.
 * ---------------------------------------------------------------- */

/* MQ_OK, or the refusal of a handle opened read-only (see the top). */
static int
writable(const mq_stream *s)
{
	if (s->rdonly == 0)
		return MQ_OK;
	errno = s->rdonly;
	return mq_sys();
}

/* Every change takes the lock, so a read-only handle refuses it here. */
int
mq_stream_lock(mq_stream *s)
{
	int rc;

	if ((rc = writable(s)) != MQ_OK)
		return rc;
	while (flock(s->dirfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return mq_sys();
	s->locked = 1;
	return MQ_OK;
}

void
mq_stream_unlock(mq_stream *s)
{
	s->locked = 0;
	flock(s->dirfd, LOCK_UN);
}

/*
 * Brings the view of 's' up to date with the files.  Under the lock it
 * also repairs: a torn tail of the log or of the marks is cut off.
 */
int
mq_stream_refresh(mq_stream *s)
{
	int rc;

	if ((rc = mq_tail_scan(s, s->locked)) != MQ_OK)
		return rc;
	if ((rc = s->locked ? mq_marks_repair(s) : mq_marks_replay(s)) != MQ_OK)
		return rc;
	return wal_refresh(s);
}

uint64_t
mq_stream_length(const mq_stream *s)
{
	if (s->next_offset < s->first_offset)
		return 0;
	return s->next_offset - s->first_offset - s->ndeleted;
}

static mq_id
stream_top(const mq_stream *s)
{
	return mq_id_cmp(s->setid, s->last_id) > 0 ? s->setid : s->last_id;
}

/* ------------------------------------------------------------------
 * Appending.
 * ---------------------------------------------------------------- */

/* The id for a new entry after 'top' as 'spec' asks, as Redis does. */
static int
next_id(mq_id top, const struct mq_idspec *spec, int64_t now, mq_id *id)
{
	switch (spec == NULL ? MQ_ID_AUTO : spec->kind) {
	case MQ_ID_AUTO:
		if ((uint64_t)now > top.ms) {
			id->ms = (uint64_t)now;
			id->seq = 0;
			return MQ_OK;
		}
		*id = top;
		return mq_id_incr(id) == MQ_OK ? MQ_OK : MQ_EIDSMALL;
	case MQ_ID_PARTIAL:
		if (spec->id.ms > top.ms) {
			id->ms = spec->id.ms;
			id->seq = 0;
		} else if (spec->id.ms == top.ms && top.seq != UINT64_MAX) {
			id->ms = top.ms;
			id->seq = top.seq + 1;
		} else
			return MQ_EIDSMALL;
		/* 0-* on an empty stream is 0-1: 0-0 is never an id. */
		if (id->ms == 0 && id->seq == 0)
			id->seq = 1;
		return MQ_OK;
	case MQ_ID_EXPLICIT:
		if (spec->id.ms == 0 && spec->id.seq == 0)
			return MQ_EIDZERO;
		if (mq_id_cmp(spec->id, top) <= 0)
			return MQ_EIDSMALL;
		*id = spec->id;
		return MQ_OK;
	}
	return MQ_EINVAL;
}

static int
should_roll(const mq_stream *s, int64_t now)
{
	if (s->end == 0)
		return 0;
	if (s->end >= s->segment_bytes)
		return 1;
	/* Age retention works by whole segments: seal them in time. */
	return s->policy.max_age_ms > 0 && s->first_time > 0 &&
	    now - s->first_time > s->policy.max_age_ms / 2;
}

static int enforce_maxlen(mq_stream *s);
static int enforce_maxbytes(mq_stream *s);

/*
 * With the interval policy, starts the kernel writing back every few MiB
 * appended, without waiting for it: the fsync that comes at the interval
 * or at close then finds little left to do, and the disk works while
 * this process goes on encoding.
 */
static void
writeback(mq_stream *s)
{
	if (mq_spool_fsync_policy(s->spool) != MQ_FSYNC_INTERVAL)
		return;
	if (s->unflushed > s->end)
		s->unflushed = 0;	/* a new segment */
	if (s->end - s->unflushed < MQ_WRITEBACK)
		return;
	sync_file_range(s->activefd, (off_t)s->unflushed,
	    (off_t)(s->end - s->unflushed), SYNC_FILE_RANGE_WRITE);
	s->unflushed = s->end;
}

/*
 * Under the lock, its view fresh: seals the batch in 'buf' ('total'
 * bytes, its 'n' records encoded with their ids, 'first' to 'last') and
 * writes it at the end of the active segment, rolling it first if due.
 */
static int
write_batch(mq_stream *s, unsigned char *buf, size_t total, uint32_t n,
    mq_id first, mq_id last, int64_t time_ms)
{
	int rc;

	if (should_roll(s, mq_now_ms()) && (rc = mq_segment_roll(s)) != MQ_OK)
		return rc;
	mq_batch_seal(buf, total, n, s->next_offset, first, last, time_ms);
	s->unchecked += total;
	if (s->unchecked >= (1u << 20) || s->end == 0) {
		if ((rc = mq_check_space(s->activefd, total, MQ_FREE_RESERVE)) != MQ_OK)
			return rc;
		s->unchecked = 0;
	}
	if ((rc = mq_pwrite_all(s->activefd, buf, total, (off_t)s->end)) != MQ_OK) {
		/* Nothing half-written may stay for a reader to wait on. */
		if (ftruncate(s->activefd, (off_t)s->end) == -1)
			rc = mq_sys();
		return rc;
	}
	if (s->end == 0) {
		s->first_time = time_ms;
		s->segs[s->nsegs - 1].first = first;
		s->segs[s->nsegs - 1].known = 1;
	}
	/* The index is a hint: failing to extend it loses nothing. */
	(void)mq_index_add(s, s->end, total, s->next_offset, first);
	s->end += total;
	s->next_offset += n;
	s->last_id = last;
	rc = mq_spool_dirty_mark(s->spool, s->activefd, &s->active_mark);
	writeback(s);
	return rc;
}

/*
 * Under the lock, its view fresh: MQ_EFULL if the policy refuses an
 * append of the 'n' entries 'msgs' past max_len or max_len_bytes (the
 * batch goes whole or not at all), else MQ_OK.
 */
static int
overflow_check(mq_stream *s, const struct mq_msg *msgs, size_t n)
{
	uint64_t total, add = 0;
	size_t i;
	int rc;

	if (s->policy.overflow != MQ_OVERFLOW_REJECT)
		return MQ_OK;
	if (s->policy.max_len > 0 &&
	    mq_stream_length(s) + n > s->policy.max_len)
		return MQ_EFULL;
	if (s->policy.max_len_bytes == 0)
		return MQ_OK;
	/* As RabbitMQ: refused if the bodies would pass the limit with it. */
	if ((rc = mq_bodies_count(s, &total)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++)
		add += msgs[i].bodylen;
	return total + add > s->policy.max_len_bytes ? MQ_EFULL : MQ_OK;
}

int
mq_append(mq_stream *s, const struct mq_msg *msgs, size_t n,
    const struct mq_idspec *specs, mq_id *ids)
{
	size_t total = MQ_BATCH_HDR, i, rs;
	unsigned char *p;
	mq_id top, id, first = { 0, 0 };
	uint64_t before;
	int64_t now;
	int rc;

	if (n == 0)
		return MQ_OK;
	if ((rc = mq_stream_policy_load(s, 0)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++) {
		rs = mq_record_size(&msgs[i]);
		if (rs == 0 || mq_msg_payload(&msgs[i]) > s->policy.max_msg)
			return MQ_ETOOBIG;
		total += rs;
		if (total > UINT32_MAX)
			return MQ_ETOOBIG;
	}
	if (total > s->bufcap) {
		unsigned char *nb = realloc(s->buf, total);

		if (nb == NULL)
			return mq_sys();
		s->buf = nb;
		s->bufcap = total;
	}
	now = mq_now_ms();
	p = s->buf + MQ_BATCH_HDR;
	for (i = 0; i < n; i++) {
		mq_record_encode(p, &msgs[i], now);
		p += mq_record_size(&msgs[i]);
	}

	/* The log's lock first (wal.c): a writer learns of this append. */
	if ((rc = mq_wal_lock(s->spool)) != MQ_OK)
		return rc;
	if ((rc = mq_wal_flush(s->spool, s->enc)) != MQ_OK ||
	    (rc = mq_stream_lock(s)) != MQ_OK) {
		mq_wal_unlock(s->spool);
		return rc;
	}
	if ((rc = mq_stream_refresh(s)) != MQ_OK ||
	    (rc = overflow_check(s, msgs, n)) != MQ_OK)
		goto out;
	before = s->next_offset;
	top = stream_top(s);
	p = s->buf + MQ_BATCH_HDR;
	for (i = 0; i < n; i++) {
		if ((rc = next_id(top, specs ? &specs[i] : NULL, now, &id)) != MQ_OK)
			goto out;
		mq_record_set_id(p, id);
		p += 4 + mq_get32(p);
		if (i == 0)
			first = id;
		if (ids != NULL)
			ids[i] = id;
		top = id;
	}
	rc = write_batch(s, s->buf, total, (uint32_t)n, first, top, now);
	if (s->next_offset != before) {
		/*
		 * In the segment, though what came after may have failed:
		 * writers learn of the new top all the same, and only a
		 * success tells this process's index that it knows it.
		 */
		if (rc == MQ_OK)
			mq_wal_touched(s, stream_top(s));
		else
			mq_wal_touch(s->spool, s->enc);
		mq_bodies_appended(s, before, msgs, n);
	}
out:
	mq_stream_unlock(s);
	mq_wal_unlock(s->spool);
	/*
	 * The batch is in: a trim that fails now is tried again at the next
	 * append, and is no reason to report the append as failed.
	 */
	if (rc == MQ_OK && s->policy.max_len > 0 &&
	    mq_stream_length(s) > s->policy.max_len)
		(void)enforce_maxlen(s);
	if (rc == MQ_OK && s->policy.max_len_bytes > 0 &&
	    !mq_bodies_within(s, s->policy.max_len_bytes))
		(void)enforce_maxbytes(s);
	return rc;
}

/* ------------------------------------------------------------------
 * The write-ahead log's batches (wal.c).
 * ---------------------------------------------------------------- */

/* Under the lock, its view fresh: appends what the log holds for 's'. */
static int
wal_apply(mq_stream *s)
{
	/*
	 * The log keeps batches by name: a handle whose name leads to
	 * another stream now (renamed or removed since it was opened, which
	 * the lock keeps from happening meanwhile) applies none of them.
	 */
	if (mq_stream_removed(s))
		return MQ_OK;
	/* In batches of MQ_WAL_MERGE bytes, which every reader can hold. */
	return mq_wal_collect(s, stream_top(s), write_batch);
}

/* Brings in what the log holds for 's', if anything, taking the lock. */
static int
wal_refresh(mq_stream *s)
{
	int rc = MQ_OK;

	if (s->rdonly || !mq_wal_pending(s->spool, s->enc, &rc))
		return rc;
	if (s->locked)
		return wal_apply(s);
	if ((rc = mq_stream_lock(s)) != MQ_OK)
		return rc;
	if ((rc = mq_tail_scan(s, 1)) == MQ_OK &&
	    (rc = mq_marks_repair(s)) == MQ_OK)
		rc = wal_apply(s);
	mq_stream_unlock(s);
	return rc;
}

/*
 * Under the log's lock, before stream 'name' ('enc') is removed, renamed
 * or replaced: what the log holds for it goes into it (a crash before
 * the change loses none of it), then a tombstone ends it in the log (a
 * stream of the name made later must not get it).
 */
int
mq_stream_wal_forget(mq_spool *sp, const char *name, const char *enc)
{
	mq_stream *s;
	int rc;

	if (mq_wal_pending(sp, enc, &rc)) {
		/* Opening it gives it its entries (mq_stream_open). */
		if ((rc = mq_stream_open(sp, name, 0, &s)) == MQ_OK)
			mq_stream_close(s);
		else if (rc != MQ_ENOSTREAM && rc != MQ_EWRONGTYPE)
			return rc;
	} else if (rc != MQ_OK)
		return rc;
	/* Applied here or elsewhere, they are in the log all the same. */
	return mq_wal_tombstone(sp, enc);
}

/* ------------------------------------------------------------------
 * Deleting and trimming.
 * ---------------------------------------------------------------- */

int
mq_delete(mq_stream *s, const mq_id *ids, size_t n, size_t *deleted)
{
	unsigned char *marks = NULL;
	struct mq_msg m;
	mq_reader *r = NULL;
	size_t i, k = 0;
	int rc;

	*deleted = 0;
	if (n == 0)
		return MQ_OK;
	if ((marks = reallocarray(NULL, n, MQ_MARK_SIZE)) == NULL)
		return mq_sys();
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		goto out;
	if ((rc = mq_stream_lock(s)) != MQ_OK)
		goto out;
	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		goto unlock;
	for (i = 0; i < n; i++) {
		size_t j;
		int dup = 0;

		if ((rc = mq_reader_get(r, ids[i], &m)) < 0)
			goto unlock;
		if (rc == 0)
			continue;
		for (j = 0; j < k; j++)
			if (mq_get64(marks + j * MQ_MARK_SIZE + 8) == m.offset)
				dup = 1;
		if (dup)
			continue;
		mq_mark_encode(marks + k * MQ_MARK_SIZE, MQ_MARK_DELETE,
		    m.offset, m.id.ms, m.id.seq);
		k++;
	}
	rc = k > 0 ? mq_marks_append(s, marks, k) : MQ_OK;
	if (rc == MQ_OK)
		*deleted = k;
unlock:
	mq_stream_unlock(s);
out:
	mq_reader_close(r);
	free(marks);
	return rc;
}

/* Deleted offsets at or above 'from'. */
static uint64_t
deleted_from(const mq_stream *s, uint64_t from)
{
	return s->ndeleted - mq_offsets_lower(s->deleted, s->ndeleted, from);
}

/* Under the lock: moves the first offset up to 'cut' and drops whole segments. */
static int
trim_to(mq_stream *s, uint64_t cut)
{
	unsigned char m[MQ_MARK_SIZE];
	int rc;

	if (cut <= s->first_offset)
		return MQ_OK;
	mq_mark_encode(m, MQ_MARK_TRIM, cut, 0, 0);
	if ((rc = mq_marks_append(s, m, 1)) != MQ_OK)
		return rc;
	return mq_retention(s);
}

/* The first offset that leaves 'maxlen' entries (deleted ones not counted). */
static uint64_t
maxlen_cut(const mq_stream *s, uint64_t maxlen)
{
	uint64_t cut = s->next_offset - maxlen, prev;

	do {
		prev = cut;
		cut = s->next_offset - maxlen - deleted_from(s, prev);
	} while (cut != prev && cut > s->first_offset);
	return cut < s->first_offset ? s->first_offset : cut;
}

/*
 * Moves the entries below offset 'cut' to the dead-letter stream, in
 * batches.  Runs without the lock: mq_dead_letter takes another stream's.
 */
static int
deadletter_below(mq_stream *s, uint64_t from, uint64_t cut)
{
	enum { CHUNK = 256 };
	struct mq_msg msgs[CHUNK], m;
	unsigned char *copies = NULL;
	mq_reader *r;
	size_t offs[CHUNK], n = 0, len = 0, cap = 0, i;
	int rc, more;

	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_seek_offset(r, from)) != MQ_OK)
		goto out;
	do {
		more = mq_reader_next(r, &m);
		if (more < 0) {
			rc = more;
			break;
		}
		if (more && m.offset < cut) {
			if ((rc = mq_msg_copy(&m, &copies, &len, &cap,
			    &offs[n])) != MQ_OK)
				break;
			n++;
		} else
			more = 0;
		if (n == CHUNK || (!more && n > 0)) {
			for (i = 0; i < n; i++)
				mq_msg_at(copies, offs[i], &msgs[i]);
			rc = mq_dead_letter(s, msgs, n, "maxlen", NULL);
			n = len = 0;
			if (rc != MQ_OK)
				break;
		}
	} while (more);
	free(copies);
out:
	mq_reader_close(r);
	return rc;
}

/* The max-len policy after an append: drop or dead-letter the oldest. */
static int
enforce_maxlen(mq_stream *s)
{
	return mq_trim_maxlen(s, s->policy.max_len, NULL);
}

int
mq_trim_maxlen(mq_stream *s, uint64_t maxlen, uint64_t *removed)
{
	uint64_t before, cut, from, saved = UINT64_MAX;
	int rc;

	if (removed != NULL)
		*removed = 0;
	/* Refused before the dead letters are written, not after. */
	if ((rc = writable(s)) != MQ_OK ||
	    (rc = mq_stream_policy_load(s, 0)) != MQ_OK)
		return rc;
	/*
	 * Dead letters are written first, without the lock (they take the
	 * dead-letter stream's); then what was copied is trimmed, and only
	 * that: all of it still there, though another process's trim
	 * meanwhile may have made room (a message goes to the dead letters
	 * early rather than stay in both).  Two processes doing this at once
	 * may both copy an entry (a duplicate dead letter), but nothing is
	 * trimmed that was not copied.
	 */
	if (s->policy.overflow == MQ_OVERFLOW_DEADLETTER &&
	    (s->policy.max_len > 0 || s->policy.max_len_bytes > 0)) {
		if ((rc = mq_stream_refresh(s)) != MQ_OK)
			return rc;
		if (mq_stream_length(s) <= maxlen)
			return MQ_OK;
		from = s->first_offset;
		cut = maxlen_cut(s, maxlen);
		if ((rc = deadletter_below(s, from, cut)) != MQ_OK)
			return rc;
		saved = cut;
	}
	if ((rc = mq_stream_lock(s)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_refresh(s)) == MQ_OK) {
		before = mq_stream_length(s);
		if (saved != UINT64_MAX)
			rc = trim_to(s, saved);
		else if (before > maxlen)
			rc = trim_to(s, maxlen_cut(s, maxlen));
		if (removed != NULL)
			*removed = before - mq_stream_length(s);
	}
	mq_stream_unlock(s);
	return rc;
}

/*
 * The max-len-bytes policy after an append: drop or dead-letter the
 * oldest until the bodies left are within it (the new ones too, if they
 * alone pass it, as RabbitMQ's drop-head does).  Dead letters are
 * written before the lock, as mq_trim_maxlen() writes them, and then
 * what was copied is trimmed, all of it that is still there, though
 * another process's trim meanwhile may have made room: a message goes
 * early to the dead letters rather than stay in both.
 */
static int
enforce_maxbytes(mq_stream *s)
{
	uint64_t limit = s->policy.max_len_bytes, total, cut = 0, dropped = 0;
	uint64_t first = UINT64_MAX;
	size_t ndeleted = 0;
	int rc;

	if ((rc = writable(s)) != MQ_OK)
		return rc;
	if (s->policy.overflow == MQ_OVERFLOW_DEADLETTER) {
		if ((rc = mq_stream_refresh(s)) != MQ_OK ||
		    (rc = mq_bodies_count(s, &total)) != MQ_OK ||
		    (rc = mq_bodies_cut(s, limit, total, UINT64_MAX, &cut,
		    &dropped)) != MQ_OK)
			return rc;
		if (cut <= s->first_offset)
			return MQ_OK;
		first = s->first_offset;
		ndeleted = s->ndeleted;
		if ((rc = deadletter_below(s, first, cut)) != MQ_OK)
			return rc;
	}
	if ((rc = mq_stream_lock(s)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_refresh(s)) != MQ_OK ||
	    (rc = mq_bodies_count(s, &total)) != MQ_OK)
		goto out;
	/*
	 * After dead letters: what was copied, read again only if another
	 * process trimmed or deleted meanwhile (else 'dropped' still holds).
	 */
	if (first == UINT64_MAX)
		rc = mq_bodies_cut(s, limit, total, UINT64_MAX, &cut, &dropped);
	else if (s->first_offset != first || s->ndeleted != ndeleted)
		rc = mq_bodies_cut(s, limit, total, cut, &cut, &dropped);
	if (rc == MQ_OK && cut > s->first_offset &&
	    (rc = trim_to(s, cut)) == MQ_OK)
		mq_bodies_trimmed(s, cut, dropped);
out:
	mq_stream_unlock(s);
	return rc;
}

int
mq_trim_minid(mq_stream *s, mq_id minid, uint64_t *removed)
{
	struct mq_msg m;
	mq_reader *r;
	uint64_t before, cut;
	int rc;

	if (removed != NULL)
		*removed = 0;
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_lock(s)) != MQ_OK)
		goto out;
	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		goto unlock;
	before = mq_stream_length(s);
	if ((rc = mq_reader_seek_id(r, minid)) != MQ_OK)
		goto unlock;
	if ((rc = mq_reader_next(r, &m)) < 0)
		goto unlock;
	cut = rc == 1 ? m.offset : s->next_offset;
	if ((rc = trim_to(s, cut)) == MQ_OK && removed != NULL)
		*removed = before - mq_stream_length(s);
unlock:
	mq_stream_unlock(s);
out:
	mq_reader_close(r);
	return rc;
}

int
mq_stream_setid(mq_stream *s, mq_id last, uint64_t entries_added,
    mq_id max_deleted)
{
	unsigned char m[2 * MQ_MARK_SIZE];
	size_t k = 0;
	int64_t delta;
	int rc;

	/* Under the log's lock: a writer learns of the new top (wal.c). */
	if ((rc = mq_wal_lock(s->spool)) != MQ_OK)
		return rc;
	if ((rc = mq_wal_flush(s->spool, s->enc)) != MQ_OK ||
	    (rc = mq_stream_lock(s)) != MQ_OK) {
		mq_wal_unlock(s->spool);
		return rc;
	}
	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		goto out;
	if (mq_id_cmp(last, s->last_id) < 0 || mq_id_cmp(last, max_deleted) < 0) {
		rc = MQ_EIDSMALL;
		goto out;
	}
	delta = s->added_delta;
	if (entries_added != UINT64_MAX) {
		if (entries_added < mq_stream_length(s)) {
			rc = MQ_EINVAL;
			goto out;
		}
		delta = (int64_t)(entries_added - s->next_offset);
	}
	mq_mark_encode(m, MQ_MARK_SETID, last.ms, last.seq, (uint64_t)delta);
	k++;
	if (max_deleted.ms != 0 || max_deleted.seq != 0) {
		mq_mark_encode(m + MQ_MARK_SIZE, MQ_MARK_MAXDEL, max_deleted.ms,
		    max_deleted.seq, 0);
		k++;
	}
	if ((rc = mq_marks_append(s, m, k)) == MQ_OK)
		mq_wal_touched(s, stream_top(s));
	else
		/* The marks may be written, and the top moved, all the same. */
		mq_wal_touch(s->spool, s->enc);
out:
	mq_stream_unlock(s);
	mq_wal_unlock(s->spool);
	return rc;
}

/* ------------------------------------------------------------------
 * Describing.
 * ---------------------------------------------------------------- */

static int
count_group(const char *name, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

/*
 * The counters of 's' that its view holds (no file is read past the
 * refresh): all of 'info' but first_id, bytes and groups, left 0.
 */
int
mq_stream_counts(mq_stream *s, struct mq_stream_info *info)
{
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	info->length = mq_stream_length(s);
	info->first_offset = s->first_offset;
	info->next_offset = s->next_offset;
	info->entries_added = (uint64_t)((int64_t)s->next_offset + s->added_delta);
	info->last_id = stream_top(s);
	info->max_deleted_id = s->max_deleted;
	info->segments = s->nsegs;
	return MQ_OK;
}

/* Fills info->first_id: the id of the first entry, read from the log. */
int
mq_stream_first_id(mq_stream *s, struct mq_stream_info *info)
{
	struct mq_msg m;
	mq_reader *r;
	int rc;

	if (info->length == 0)
		return MQ_OK;
	if ((rc = mq_reader_open(s, &r)) != MQ_OK)
		return rc;
	if ((rc = mq_reader_seek_offset(r, s->first_offset)) == MQ_OK &&
	    (rc = mq_reader_next(r, &m)) == 1) {
		info->first_id = m.id;
		rc = MQ_OK;
	}
	mq_reader_close(r);
	return rc < 0 ? rc : MQ_OK;
}

int
mq_stream_info(mq_stream *s, struct mq_stream_info *info)
{
	struct stat st;
	char name[32];
	size_t i;
	int rc;

	if ((rc = mq_stream_counts(s, info)) != MQ_OK)
		return rc;
	for (i = 0; i < s->nsegs; i++) {
		snprintf(name, sizeof(name), "%020llu.log",
		    (unsigned long long)s->segs[i].base);
		if (fstatat(s->dirfd, name, &st, 0) == 0)
			info->bytes += (uint64_t)st.st_size;
	}
	if ((rc = mq_stream_groups(s, count_group, &info->groups)) != MQ_OK)
		return rc;
	return mq_stream_first_id(s, info);
}

int
mq_stream_top(mq_stream *s, mq_id *top)
{
	int rc;

	if ((rc = mq_stream_refresh(s)) != MQ_OK)
		return rc;
	*top = stream_top(s);
	return MQ_OK;
}

int
mq_policy_get(mq_stream *s, struct mq_policy *p)
{
	int rc;

	if ((rc = mq_stream_policy_load(s, 0)) != MQ_OK)
		return rc;
	*p = s->policy;
	return MQ_OK;
}

int
mq_policy_set(mq_stream *s, const struct mq_policy *p)
{
	struct mq_policy q = *p;
	int rc;

	/* What meta_parse() would refuse is refused here, before it is written. */
	if (q.max_msg == 0 || q.max_msg > MQ_MSG_LIMIT || q.ttl_ms < 0 ||
	    q.max_age_ms < 0 || q.lease_ms < 0 || q.retry_delay_ms < 0 ||
	    q.retry_max_ms < 0 || q.delivery_limit > LLONG_MAX ||
	    q.max_len > LLONG_MAX || q.max_bytes > LLONG_MAX ||
	    q.max_len_bytes > LLONG_MAX ||
	    q.segment_bytes > LLONG_MAX ||
	    (unsigned)q.overflow >= NOVERFLOW ||
	    memchr(q.dl_exchange, '\0', sizeof(q.dl_exchange)) == NULL ||
	    memchr(q.dl_key, '\0', sizeof(q.dl_key)) == NULL)
		return MQ_EINVAL;
	if (q.segment_bytes == 0)
		q.segment_bytes = MQ_SEGMENT_BYTES;
	/* Under the log's lock: no writer logs by the old policy meanwhile. */
	if ((rc = mq_wal_lock(s->spool)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_lock(s)) != MQ_OK) {
		mq_wal_unlock(s->spool);
		return rc;
	}
	if ((rc = meta_write(s->dirfd, &q)) == MQ_OK) {
		mq_routes_bump(s->spool, MQ_ROUTES_STREAMS);
		rc = mq_stream_policy_load(s, 1);
	}
	mq_stream_unlock(s);
	mq_wal_unlock(s->spool);
	return rc;
}
