/*
 * route.c - the topic exchange: bindings of queues to patterns, live
 * subscriptions, and publishing to both.
 *
 * Everything is in the spool, so every process routes alike:
 *
 *   SPOOL/bindings          "PATTERN QUEUE" lines, both percent-encoded
 *                           ("%" for an empty pattern); replaced
 *                           atomically under flock of bindings.lock.
 *   SPOOL/subscribers/ID    one file per live subscription: lines "t P"
 *                           (AMQP topic pattern), "g P" (Redis glob) or
 *                           "c P" (exact channel), P percent-encoded.  The
 *                           subscriber holds flock(LOCK_EX) on it for as
 *                           long as it lives; a file whose lock can be
 *                           taken belongs to a dead process and is removed.
 *   streams/amq.topic       the exchange's log: every publish that some
 *                           live subscription matches is appended to it
 *                           (the topic as the message key), and live
 *                           subscribers read it from its end.
 *   SPOOL itself            read-locked (an OFD lock, fcntl(2)) by each
 *                           anonymous subscriber: every publish is then
 *                           appended to the exchange's log.
 *
 * A subscription file appears by rename after it is locked, so no one
 * can take a starting subscriber for a dead one.
 *
 * A subscriber that may not write the spool cannot register.  It
 * listens anonymously instead: it holds a read lock on the spool's
 * directory, which it may take with a descriptor open for reading and
 * which goes with its last descriptor, so it dies with the process.  A
 * publisher that no registered subscription sends to the log asks the
 * kernel whether anyone holds such a lock (one F_OFD_GETLK, which takes
 * nothing) and, if so, appends to the log all the same; the subscriber
 * filters by its patterns as it reads.  Publishers cannot tell what it
 * listens to, so it is not counted among the receivers.  If there is no
 * log yet, it waits for a publisher to make one.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"

struct mq_sub {
	mq_spool	*spool;
	mq_stream	*log;		/* the exchange's stream; NULL while an
					   anonymous one waits for it */
	mq_reader	*reader;
	mq_watch	*watch;		/* of mq_sub_watch, not owned, or NULL */
	int		 fd;		/* the registration, locked, or -1 */
	int		 anonfd;	/* anonymous: the spool, read-locked */
	char		 name[64];	/* its file name in subscribers/ */
	char		**patterns;
	size_t		 npatterns;
	int		 flags;
	char		*topic;		/* the current message's topic, as a string */
	size_t		 topiccap;
};

int
mq_sub_matches(char kind, const char *pattern, const char *topic)
{
	switch (kind) {
	case 't':
		return mq_topic_match(pattern, topic);
	case 'g':
		return mq_glob_match(pattern, strlen(pattern), topic, strlen(topic));
	case 'c':
		return strcmp(pattern, topic) == 0;
	}
	return 0;
}

/* ------------------------------------------------------------------
 * The counters of changes (SPOOL/routes).
 * ---------------------------------------------------------------- */

uint64_t *
mq_routes_map(mq_spool *sp)
{
	void *p;
	int fd;

	if (sp->routes != NULL)
		return sp->routes;
	if ((fd = openat(sp->dirfd, "routes", O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return NULL;
	/*
	 * Zeros: every process that creates or grows it agrees.  Allocated,
	 * not a hole (ftruncate): on a full file system the mapping's first
	 * touch of a hole is a SIGBUS, where this is ENOSPC.
	 */
	if ((errno = posix_fallocate(fd, 0, MQ_ROUTES_SIZE)) != 0) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, MQ_ROUTES_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	sp->routes = p;
	return sp->routes;
}

void
mq_routes_bump(mq_spool *sp, int which)
{
	uint64_t *r = mq_routes_map(sp);

	/* Release: the change is in place before anyone sees the count. */
	if (r != NULL)
		__atomic_add_fetch(&r[which], 1, __ATOMIC_RELEASE);
}

int
mq_routes_moved(mq_spool *sp, int which, uint64_t *seen)
{
	uint64_t *r, now;

	if (sp->routes_failed)
		return 1;
	if ((r = mq_routes_map(sp)) == NULL) {
		sp->routes_failed = 1;
		return 1;
	}
	/* Acquire: what was changed before the bump is seen after. */
	now = __atomic_load_n(&r[which], __ATOMIC_ACQUIRE);
	if (now == *seen)
		return 0;
	*seen = now;
	return 1;
}

/* ------------------------------------------------------------------
 * Bindings.
 * ---------------------------------------------------------------- */

/* Reads the bindings file: a malloc'd text, "" if there is none. */
static int
bindings_read(mq_spool *sp, char **text)
{
	char path[PATH_MAX];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/bindings", sp->path);
	rc = mq_read_file(path, text, &len);
	if (rc == MQ_ESYS && errno == ENOENT) {
		*text = strdup("");
		return *text == NULL ? mq_sys() : MQ_OK;
	}
	return rc;
}

int
mq_bindings(mq_spool *sp, int (*fn)(const char *, const char *, void *),
    void *arg)
{
	char pattern[MQ_NAME_MAX + 1], queue[MQ_NAME_MAX + 1];
	char *text, *line, *sep, *save = NULL;
	int rc;

	if ((rc = bindings_read(sp, &text)) != MQ_OK)
		return rc;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((sep = strchr(line, ' ')) == NULL) {
			rc = MQ_ECORRUPT;
			break;
		}
		*sep++ = '\0';
		if ((rc = mq_pattern_decode(line, pattern, sizeof(pattern))) != MQ_OK ||
		    (rc = mq_pattern_decode(sep, queue, sizeof(queue))) != MQ_OK)
			break;
		if (fn(pattern, queue, arg) != 0)
			break;
	}
	free(text);
	return rc;
}

/*
 * Rewrites the bindings file under its lock: drops the lines for which
 * 'drop' returns 1 and, if 'add' is not NULL and not there, adds the
 * line 'add' at the end.  Replaces the file only if that changed it.
 */
static int
bindings_edit(mq_spool *sp, int (*drop)(const char *line, void *arg),
    void *arg, const char *add)
{
	char path[PATH_MAX], *text = NULL, *out = NULL, *line, *save = NULL;
	size_t outlen = 0, addlen = add != NULL ? strlen(add) : 0;
	int fd, rc, found = 0, dropped = 0;

	snprintf(path, sizeof(path), "%s/bindings.lock", sp->path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return mq_sys();
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			rc = mq_sys();
			goto out;
		}
	if ((rc = bindings_read(sp, &text)) != MQ_OK)
		goto out;
	if ((out = malloc(strlen(text) + addlen + 2)) == NULL) {
		rc = mq_sys();
		goto out;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (drop != NULL && drop(line, arg)) {
			dropped = 1;
			continue;
		}
		found |= add != NULL && strcmp(line, add) == 0;
		outlen += (size_t)sprintf(out + outlen, "%s\n", line);
	}
	rc = MQ_OK;
	if (!dropped && (add == NULL || found))
		goto out;	/* nothing to change */
	if (add != NULL && !found)
		outlen += (size_t)sprintf(out + outlen, "%s\n", add);
	snprintf(path, sizeof(path), "%s/bindings", sp->path);
	if ((rc = mq_replace_file(path, out, outlen)) == MQ_OK)
		mq_routes_bump(sp, MQ_ROUTES_BINDS);
out:
	free(text);
	free(out);
	close(fd);
	return rc;
}

/* The line "ENCPATTERN ENCQUEUE" of a binding, in 'buf'. */
static int
binding_line(const char *pattern, const char *queue, char *buf, size_t size)
{
	char pe[MQ_ENCNAME_MAX], qe[MQ_ENCNAME_MAX];
	int rc;

	if ((rc = mq_pattern_encode(pattern, pe, sizeof(pe))) != MQ_OK)
		return rc;
	if (mq_name_encode(queue, qe, sizeof(qe)) < 0)
		return MQ_EBADNAME;
	snprintf(buf, size, "%s %s", pe, qe);
	return MQ_OK;
}

/* bindings_edit()'s 'drop' of one line, 'arg'. */
static int
line_is(const char *line, void *arg)
{
	return strcmp(line, arg) == 0;
}

/* bindings_edit()'s 'drop' of the lines of the encoded queue 'arg'. */
static int
line_to(const char *line, void *arg)
{
	const char *sep = strchr(line, ' ');

	return sep != NULL && strcmp(sep + 1, arg) == 0;
}

/* Adds ('add') or removes the line of one binding. */
static int
binding_one(mq_spool *sp, const char *pattern, const char *queue, int add)
{
	char line[2 * MQ_ENCNAME_MAX + 2];
	int rc;

	if ((rc = binding_line(pattern, queue, line, sizeof(line))) != MQ_OK)
		return rc;
	return add ? bindings_edit(sp, NULL, NULL, line) :
	    bindings_edit(sp, line_is, line, NULL);
}

int
mq_bind(mq_spool *sp, const char *pattern, const char *queue)
{
	return binding_one(sp, pattern, queue, 1);
}

int
mq_unbind(mq_spool *sp, const char *pattern, const char *queue)
{
	return binding_one(sp, pattern, queue, 0);
}

int
mq_bindings_drop_queue(mq_spool *sp, const char *queue)
{
	char qe[MQ_ENCNAME_MAX];

	if (mq_name_encode(queue, qe, sizeof(qe)) < 0)
		return MQ_EBADNAME;
	return bindings_edit(sp, line_to, qe, NULL);
}

/* ------------------------------------------------------------------
 * Publishing.
 * ---------------------------------------------------------------- */

/*
 * Calls 'fn' with the kind ('t', 'g' or 'c') and the pattern of each
 * subscription of each live subscriber, and whether it is this
 * process's ('mine'), and removes the registrations of dead subscribers
 * on the way.  Stops when 'fn' returns non-zero.
 */
int
mq_subs_scan(mq_spool *sp, int (*fn)(char kind, const char *pattern,
    int mine, void *arg), void *arg)
{
	char pattern[MQ_NAME_MAX + 1], *text, *line, *save;
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *d;
	int dfd, fd, rc = MQ_OK, stop = 0, mine;
	long me = (long)getpid();

	dfd = openat(sp->dirfd, "subscribers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return errno == ENOENT ? MQ_OK : mq_sys();
	if ((d = fdopendir(dfd)) == NULL) {
		rc = mq_sys();
		close(dfd);
		return rc;
	}
	while (!stop && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC)) == -1)
			continue;	/* gone meanwhile */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* No one holds it: its subscriber is dead. */
			if (unlinkat(dfd, de->d_name, 0) == 0)
				mq_routes_bump(sp, MQ_ROUTES_SUBS);
			close(fd);
			continue;
		}
		if (fstat(fd, &st) == -1 ||
		    (text = malloc((size_t)st.st_size + 1)) == NULL) {
			close(fd);
			continue;
		}
		/* Registrations are named PID-N. */
		mine = strtol(de->d_name, NULL, 10) == me;
		n = mq_pread_all(fd, text, (size_t)st.st_size, 0);
		text[n > 0 ? (size_t)n : 0] = '\0';
		close(fd);
		save = NULL;
		for (line = strtok_r(text, "\n", &save); line != NULL && !stop;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strlen(line) < 3 || line[1] != ' ' ||
			    mq_pattern_decode(line + 2, pattern, sizeof(pattern)) != MQ_OK)
				continue;
			stop = fn(line[0], pattern, mine, arg);
		}
		free(text);
	}
	closedir(d);
	return rc;
}

/*
 * 1 if an anonymous subscriber listens: someone holds a read lock on the
 * spool's directory, which a write lock asked for would meet.  One
 * fcntl(2) that takes nothing.  A failure counts as yes: a yes too many
 * costs an append to the log, a no too many a message.
 */
int
mq_subs_anonymous(mq_spool *sp)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(sp->dirfd, F_OFD_GETLK, &fl) == -1)
		return 1;
	return fl.l_type != F_UNLCK;
}

int
mq_publish(mq_spool *sp, const char *topic, const struct mq_msg *msgs,
    size_t n, size_t *receivers)
{
	mq_router *r;
	int rc;

	if (receivers != NULL)
		*receivers = 0;
	if ((rc = mq_router_open(sp, &r)) != MQ_OK)
		return rc;
	rc = mq_router_publish(r, topic, msgs, n, receivers);
	mq_router_close(r);
	return rc;
}

/* ------------------------------------------------------------------
 * Live subscriptions.
 * ---------------------------------------------------------------- */

/* The exchange's log keeps little: subscribers only read its end. */
int
mq_exchange_open(mq_spool *sp, mq_stream **out)
{
	struct mq_policy p;
	int rc;

	if ((rc = mq_stream_open(sp, MQ_TOPIC_EXCHANGE, MQ_CREATE, out)) != MQ_OK)
		return rc;
	if ((rc = mq_policy_get(*out, &p)) != MQ_OK)
		return rc;
	if (p.max_bytes == 0) {
		p.segment_bytes = 16u << 20;
		p.max_bytes = 64u << 20;
		p.max_msg = MQ_MSG_LIMIT;
		rc = mq_policy_set(*out, &p);
	}
	return rc;
}

/* Writes and locks the registration, then renames it into place. */
static int
sub_register(mq_sub *sub, const char *const *patterns, size_t n)
{
	static unsigned counter;
	char tmp[80], enc[MQ_ENCNAME_MAX], *text;
	char kind = sub->flags & MQ_SUB_GLOB ? 'g' :
	    sub->flags & MQ_SUB_EXACT ? 'c' : 't';
	size_t len = 0, i;
	int dfd, rc;

	if (mkdirat(sub->spool->dirfd, "subscribers", 0755) == -1 && errno != EEXIST)
		return mq_sys();
	dfd = openat(sub->spool->dirfd, "subscribers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return mq_sys();
	if ((text = malloc(n * (MQ_ENCNAME_MAX + 3) + 1)) == NULL) {
		rc = mq_sys();
		close(dfd);
		return rc;
	}
	for (i = 0; i < n; i++) {
		if ((rc = mq_pattern_encode(patterns[i], enc, sizeof(enc))) != MQ_OK)
			goto out;
		len += (size_t)sprintf(text + len, "%c %s\n", kind, enc);
	}
	snprintf(sub->name, sizeof(sub->name), "%ld-%u", (long)getpid(), counter++);
	snprintf(tmp, sizeof(tmp), ".%s", sub->name);
	/* Not fsynced: a registration is only good while its process lives. */
	if ((rc = mq_put_file(dfd, tmp, sub->name, text, len,
	    MQ_PUT_LOCK_EX | MQ_PUT_NOSYNC, &sub->fd)) != MQ_OK)
		goto out;
	/* Before the subscriber is told it is in: publishers look again. */
	mq_routes_bump(sub->spool, MQ_ROUTES_SUBS);
	rc = MQ_OK;
out:
	free(text);
	close(dfd);
	return rc;
}

/* Opens a reader of the exchange's log at its end. */
static int
sub_tail(mq_sub *sub)
{
	int rc;

	if ((rc = mq_reader_open(sub->log, &sub->reader)) != MQ_OK)
		return rc;
	return mq_reader_seek_end(sub->reader);
}

/*
 * Listens without a registration, for a subscriber that may not write
 * the spool: the log's end first, if there is a log (it may have been
 * opened before the registration was refused), then the read lock that
 * makes publishers append to it, in the order of mq_sub_open.
 */
static int
sub_anonymous(mq_sub *sub)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int rc;

	if (sub->log == NULL && (rc = mq_stream_open(sub->spool,
	    MQ_TOPIC_EXCHANGE, 0, &sub->log)) != MQ_OK && rc != MQ_ENOSTREAM)
		return rc;
	if (sub->log != NULL && sub->reader == NULL &&
	    (rc = sub_tail(sub)) != MQ_OK)
		return rc;
	sub->anonfd = openat(sub->spool->dirfd, ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sub->anonfd == -1 || fcntl(sub->anonfd, F_OFD_SETLK, &fl) == -1)
		return mq_sys();
	return MQ_OK;
}

/*
 * For an anonymous subscription started before there was a log: opens
 * the log if a publisher made it since, from its start (what is in it
 * was published after the lock was taken), and watches it.  Returns 1
 * once open, 0 while there is no log, or an error (then it is tried
 * again at the next call).
 */
static int
sub_attach(mq_sub *sub)
{
	int rc;

	if ((rc = mq_stream_open(sub->spool, MQ_TOPIC_EXCHANGE, 0,
	    &sub->log)) != MQ_OK)
		return rc == MQ_ENOSTREAM ? 0 : rc;
	if ((rc = mq_reader_open(sub->log, &sub->reader)) == MQ_OK &&
	    (sub->watch == NULL ||
	    (rc = mq_watch_add(sub->watch, sub->log)) == MQ_OK))
		return 1;
	mq_reader_close(sub->reader);
	mq_stream_close(sub->log);
	sub->reader = NULL;
	sub->log = NULL;
	return rc;
}

int
mq_sub_open(mq_spool *sp, const char *const *patterns, size_t n, int flags,
    mq_sub **out)
{
	mq_sub *sub;
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0)
		return MQ_EINVAL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return mq_sys();
	sub->spool = sp;
	sub->fd = sub->anonfd = -1;
	sub->flags = flags;
	if ((sub->patterns = calloc(n, sizeof(*sub->patterns))) == NULL) {
		rc = mq_sys();
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if ((sub->patterns[i] = strdup(patterns[i])) == NULL) {
			rc = mq_sys();
			goto fail;
		}
		sub->npatterns++;
	}
	/*
	 * The end is found before the registration appears: what is
	 * published before it is neither counted nor read, and what is
	 * published after it is both.  The other order would count a
	 * message that the seek then skips.  Refused the right to write
	 * (the exchange, the registration), it listens anonymously.
	 */
	if ((rc = mq_exchange_open(sp, &sub->log)) == MQ_OK &&
	    (rc = sub_tail(sub)) == MQ_OK)
		rc = sub_register(sub, patterns, n);
	if (mq_refused(rc))
		rc = sub_anonymous(sub);
	if (rc != MQ_OK)
		goto fail;
	*out = sub;
	return MQ_OK;
fail:
	mq_sub_close(sub);
	return rc;
}

int
mq_sub_next(mq_sub *sub, struct mq_msg *msg)
{
	char kind = sub->flags & MQ_SUB_GLOB ? 'g' :
	    sub->flags & MQ_SUB_EXACT ? 'c' : 't';
	size_t i;
	int rc;

	if (sub->log == NULL && (rc = sub_attach(sub)) != 1)
		return rc;
	while ((rc = mq_reader_next(sub->reader, msg)) == 1) {
		if (msg->key == NULL)
			continue;
		/* The matchers take a C string: the topic is copied. */
		if (msg->keylen >= sub->topiccap) {
			char *t = realloc(sub->topic, msg->keylen + 1);

			if (t == NULL)
				return mq_sys();
			sub->topic = t;
			sub->topiccap = msg->keylen + 1;
		}
		memcpy(sub->topic, msg->key, msg->keylen);
		sub->topic[msg->keylen] = '\0';
		for (i = 0; i < sub->npatterns; i++)
			if (mq_sub_matches(kind, sub->patterns[i], sub->topic))
				return 1;
	}
	return rc;
}

/* Without a log yet, the spool: the log's creation wakes the watch. */
int
mq_sub_watch(mq_sub *sub, mq_watch *w)
{
	sub->watch = w;
	if (sub->log == NULL)
		return mq_watch_spool(w, sub->spool);
	return mq_watch_add(w, sub->log);
}

void
mq_sub_close(mq_sub *sub)
{
	size_t i;

	if (sub == NULL)
		return;
	if (sub->fd != -1) {
		int dfd = openat(sub->spool->dirfd, "subscribers",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd != -1) {
			if (unlinkat(dfd, sub->name, 0) == 0)
				mq_routes_bump(sub->spool, MQ_ROUTES_SUBS);
			close(dfd);
		}
		close(sub->fd);
	}
	if (sub->anonfd != -1)
		close(sub->anonfd);	/* and with it the lock */
	mq_reader_close(sub->reader);
	mq_stream_close(sub->log);
	for (i = 0; i < sub->npatterns; i++)
		free(sub->patterns[i]);
	free(sub->patterns);
	free(sub->topic);
	free(sub);
}
