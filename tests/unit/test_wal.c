/*
 * test_wal.c - the spool's write-ahead log (wal.c): turns logged by one
 * handle and read through another, the ids logged entries get and
 * direct appends among them, readers waiting at the end, which streams
 * may be logged to, tombstones, a log torn at any byte, its records,
 * emptying it, the size of the batches it gives a stream, processes
 * that log and read at once (one of them killed in the middle), and a
 * process that may only read.
 *
 * Another mq_spool_open in this process stands for another process: a
 * spool handle keeps its view of the log (its index, its lock) to
 * itself.  Where it takes a real process (a crash, concurrency, another
 * user), a child is forked; a child runs plain checks (cmocka's
 * assertions belong to the parent), says on stderr which one failed, and
 * exits 1.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "batch.h"
#include "helpers.h"
#include "internal.h"
#include "mq.h"
#include "wal.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		return 1;						\
	}								\
} while (0)

#define SEGMENT		"00000000000000000000.log"
#define H_END		16	/* the header's 'end' (wal.c) */
#define MAXE		512	/* entries a test keeps of one stream */
#define CHILD_SECONDS	120	/* a child that hangs dies then, failing */

struct fixture {
	char		*dir;
	mq_spool	*sp;		/* the writer that logs, as mq-serve */
};

/* A stream's entries: as logged (what to expect), or as read. */
struct entries {
	size_t		 n;
	mq_id		 id[MAXE];
	char		 body[MAXE][24];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir_shared();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* Another handle on the spool, as another process has. */
static mq_spool *
reopen(const char *dir)
{
	mq_spool *sp;

	assert_int_equal(mq_spool_open(dir, 0, &sp), MQ_OK);
	return sp;
}

static void
create(mq_spool *sp, const char *name)
{
	mq_stream *s;

	assert_int_equal(mq_stream_open(sp, name, MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
}

/* Says that 'name' (made if missing) may be logged to: mq_wal_note. */
static int
note(mq_spool *sp, const char *name)
{
	mq_stream *s;
	int rc;

	if ((rc = mq_stream_open(sp, name, MQ_CREATE, &s)) != MQ_OK)
		return rc;
	rc = mq_wal_note(s);
	mq_stream_close(s);
	return rc;
}

/*
 * In the turn open on 'sp': logs 'n' messages to 'name', their bodies
 * "PREFIX-K" numbered on from what 'e' holds, and adds them to 'e'.
 */
static int
log_msgs(mq_spool *sp, const char *name, const char *prefix, size_t n,
    struct entries *e)
{
	struct mq_msg m[8];
	size_t i;
	int rc;

	if (n > NELEM(m) || e->n + n > MAXE)
		return MQ_EINVAL;
	for (i = 0; i < n; i++) {
		snprintf(e->body[e->n + i], sizeof(e->body[0]), "%s-%zu",
		    prefix, e->n + i);
		m[i] = test_body(e->body[e->n + i]);
	}
	if ((rc = mq_wal_append(sp, name, m, n, e->id + e->n)) == MQ_OK)
		e->n += n;
	return rc;
}

/* One turn of its own that logs 'n' messages to 'name'. */
static void
log_turn(mq_spool *sp, const char *name, const char *prefix, size_t n,
    struct entries *e)
{
	assert_int_equal(mq_wal_begin(sp), MQ_OK);
	assert_int_equal(log_msgs(sp, name, prefix, n, e), MQ_OK);
	assert_int_equal(mq_wal_commit(sp), MQ_OK);
}

/* A turn that may not log to 'name': mq_wal_append says so. */
static void
not_logged(mq_spool *sp, const char *name)
{
	struct entries none = { 0 };

	assert_int_equal(mq_wal_begin(sp), MQ_OK);
	assert_int_equal(log_msgs(sp, name, name, 1, &none), MQ_ENOSTREAM);
	assert_int_equal(mq_wal_commit(sp), MQ_OK);
}

/* Appends the message 'body' to 'name' directly, and adds it to 'e'. */
static int
direct(mq_spool *sp, const char *name, const char *body, struct entries *e)
{
	struct mq_msg m = test_body(body);
	mq_stream *s;
	int rc;

	if (e->n == MAXE)
		return MQ_EINVAL;
	if ((rc = mq_stream_open(sp, name, MQ_CREATE, &s)) != MQ_OK)
		return rc;
	if ((rc = mq_append(s, &m, 1, NULL, &e->id[e->n])) == MQ_OK)
		snprintf(e->body[e->n++], sizeof(e->body[0]), "%s", body);
	mq_stream_close(s);
	return rc;
}

/* mq_range's callback: keeps the entry (counts it past MAXE). */
static int
collect(const struct mq_msg *m, void *arg)
{
	struct entries *e = arg;
	size_t len = m->bodylen;

	if (e->n < MAXE) {
		if (len >= sizeof(e->body[0]))
			len = sizeof(e->body[0]) - 1;
		e->id[e->n] = m->id;
		memcpy(e->body[e->n], m->body, len);
		e->body[e->n][len] = '\0';
	}
	e->n++;
	return 0;
}

/*
 * Reads all of stream 'name' through 'sp' into 'got', and checks that
 * its length says as much: MQ_OK, or why not.
 */
static int
read_stream(mq_spool *sp, const char *name, struct entries *got)
{
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct mq_stream_info info;
	mq_stream *s;
	int rc;

	got->n = 0;
	if ((rc = mq_stream_open(sp, name, 0, &s)) != MQ_OK)
		return rc;
	if ((rc = mq_range(s, first, last, 0, 0, collect, got)) == MQ_OK &&
	    (rc = mq_stream_info(s, &info)) == MQ_OK && info.length != got->n)
		rc = MQ_ECORRUPT;
	mq_stream_close(s);
	return rc;
}

/* Whether 'got' is the first 'n' entries of 'want', nothing more. */
static int
same_entries(const struct entries *got, const struct entries *want, size_t n)
{
	size_t i;

	if (got->n != n || n > want->n)
		return 0;
	for (i = 0; i < n; i++)
		if (mq_id_cmp(got->id[i], want->id[i]) != 0 ||
		    strcmp(got->body[i], want->body[i]) != 0)
			return 0;
	return 1;
}

/* Stream 'name' read through a new handle on the spool is 'want'. */
static void
assert_stream(const char *dir, const char *name, const struct entries *want)
{
	struct entries *got = calloc(1, sizeof(*got));
	mq_spool *sp = reopen(dir);

	assert_int_equal(read_stream(sp, name, got), MQ_OK);
	assert_int_equal(got->n, want->n);
	assert_true(same_entries(got, want, want->n));
	mq_spool_close(sp);
	free(got);
}

static off_t
file_size(const char *dir, const char *path)
{
	char full[1024];
	struct stat st;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	assert_int_equal(stat(full, &st), 0);
	return st.st_size;
}

static off_t
segment_size(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "streams/%s/" SEGMENT, name);
	return file_size(dir, path);
}

/* A child, which returns 0 (and then runs for CHILD_SECONDS at most). */
static pid_t
child(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) != -1);
	if (pid == 0)
		alarm(CHILD_SECONDS);
	return pid;
}

/* Runs 'fn(f, arg)' in a child; its pid. */
static pid_t
start(struct fixture *f, int (*fn)(struct fixture *, int), int arg)
{
	pid_t pid;

	if ((pid = child()) == 0)
		_exit(fn(f, arg));
	return pid;
}

/* ------------------------------------------------------------------
 * A turn, read elsewhere
 * ---------------------------------------------------------------- */

/*
 * Three turns over three streams, read through another handle: every
 * entry in order with the id its append returned, and the length says
 * so.  The segments stay empty until then: it all came through the log.
 */
static void
test_turns_read_elsewhere(void **state)
{
	static const char *names[] = { "a", "b", "c" };
	struct fixture *f = *state;
	struct entries want[3];
	mq_id prev[3];
	size_t t, i, k;

	memset(want, 0, sizeof(want));
	memset(prev, 0, sizeof(prev));
	for (i = 0; i < NELEM(names); i++)
		assert_int_equal(note(f->sp, names[i]), MQ_OK);
	for (t = 0; t < 3; t++) {
		assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
		for (i = 0; i < NELEM(names); i++) {
			k = want[i].n;
			assert_int_equal(log_msgs(f->sp, names[i], names[i],
			    i + 1, &want[i]), MQ_OK);
			/* Above every id given before in the stream. */
			for (; k < want[i].n; k++) {
				assert_true(mq_id_cmp(prev[i], want[i].id[k]) < 0);
				prev[i] = want[i].id[k];
			}
		}
		assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	}
	assert_true(mq_wal_size(f->sp) > 0);
	for (i = 0; i < NELEM(names); i++) {
		assert_int_equal(segment_size(f->dir, names[i]), 0);
		assert_stream(f->dir, names[i], &want[i]);
	}
}

/* ------------------------------------------------------------------
 * Ids
 * ---------------------------------------------------------------- */

/* The clock that ids follow. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Appends one message to 'name' directly with the explicit id 'id'. */
static void
append_at(mq_spool *sp, const char *name, mq_id id)
{
	struct mq_idspec spec = { MQ_ID_EXPLICIT, { 0, 0 } };
	struct mq_msg m = test_body("explicit");
	mq_stream *s;

	spec.id = id;
	assert_int_equal(mq_stream_open(sp, name, MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_append(s, &m, 1, &spec, NULL), MQ_OK);
	mq_stream_close(s);
}

/*
 * Logged ids follow their own stream's top, as XADD * does.  A direct
 * append by another process (a high explicit id) makes the writer
 * append directly until it notes the stream again, and its logged ids
 * are then above that id; an id ahead of the clock in another stream
 * leaves this one's on the clock.
 */
static void
test_logged_ids_follow_stream_top(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };
	mq_spool *other;
	mq_id future = { now_ms() + 3600000, 0 };

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "s", 1, &want);
	want.id[1] = want.id[0];
	want.id[1].seq += 1000000;
	snprintf(want.body[1], sizeof(want.body[1]), "explicit");
	want.n = 2;
	other = reopen(f->dir);
	append_at(other, "s", want.id[1]);
	mq_spool_close(other);
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "s", "s", 1, &want), MQ_ENOSTREAM);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "s", 1, &want);
	assert_true(mq_id_cmp(want.id[2], want.id[1]) > 0);
	append_at(f->sp, "hi", future);
	log_turn(f->sp, "s", "s", 1, &want);
	assert_true(want.id[3].ms < future.ms);
	assert_stream(f->dir, "s", &want);
}

/*
 * After logged appends to a stream, a direct append to it, through a
 * handle opened before them and through another spool handle, gets an
 * id above them and lands after them.
 */
static void
test_direct_after_logged(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };
	mq_spool *other;

	assert_int_equal(direct(f->sp, "s", "first", &want), MQ_OK);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "s", 2, &want);
	log_turn(f->sp, "s", "s", 1, &want);
	assert_int_equal(direct(f->sp, "s", "direct", &want), MQ_OK);
	assert_true(mq_id_cmp(want.id[4], want.id[3]) > 0);
	log_turn(f->sp, "s", "s", 1, &want);
	other = reopen(f->dir);
	assert_int_equal(direct(other, "s", "other", &want), MQ_OK);
	assert_true(mq_id_cmp(want.id[6], want.id[5]) > 0);
	mq_spool_close(other);
	assert_stream(f->dir, "s", &want);
}

/* The counter of direct changes a plain name shares: wal.c's FNV-1a. */
static uint32_t
counter_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h & (MQ_WAL_SLOTS - 1);
}

/*
 * Two streams whose names share a counter of direct changes: this
 * handle's direct append to one leaves the other logged (its top is
 * still known), another handle's sends it direct, as it must (that
 * handle may have changed either), until it is noted again.
 */
static void
test_direct_append_keeps_counter_siblings_logged(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 }, b = { 0 };
	char name[16];
	mq_spool *other;
	int i;

	for (i = 1; ; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (counter_of(name) == counter_of("c0"))
			break;
	}
	assert_int_equal(note(f->sp, "c0"), MQ_OK);
	assert_int_equal(note(f->sp, name), MQ_OK);
	log_turn(f->sp, "c0", "a", 1, &want);
	assert_int_equal(direct(f->sp, name, "b-0", &b), MQ_OK);
	log_turn(f->sp, "c0", "a", 1, &want);
	other = reopen(f->dir);
	assert_int_equal(direct(other, name, "b-1", &b), MQ_OK);
	mq_spool_close(other);
	not_logged(f->sp, "c0");
	assert_int_equal(note(f->sp, "c0"), MQ_OK);
	log_turn(f->sp, "c0", "a", 1, &want);
	assert_stream(f->dir, "c0", &want);
	assert_stream(f->dir, name, &b);
}

/*
 * A direct append inside a turn (mq.h allows it) to a stream the turn
 * logged to already: it goes after what was logged, and neither is lost.
 */
static void
test_direct_inside_turn(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "s", "s", 2, &want), MQ_OK);
	assert_int_equal(direct(f->sp, "s", "direct", &want), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "s", "s", 1, &want), MQ_OK);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	assert_true(mq_id_cmp(want.id[2], want.id[1]) > 0);
	assert_true(mq_id_cmp(want.id[3], want.id[2]) > 0);
	assert_stream(f->dir, "s", &want);
}

/*
 * XSETID inside a turn that logged to the stream: the logged entry is
 * below the new top, and kept.
 */
static void
test_setid_inside_turn(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct entries want = { 0 };
	mq_stream *s;
	mq_id top;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "s", "s", 1, &want), MQ_OK);
	top.ms = want.id[0].ms + 1000;
	top.seq = 0;
	assert_int_equal(mq_stream_setid(s, top, UINT64_MAX, (mq_id){ 0, 0 }),
	    MQ_OK);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	mq_stream_close(s);
	assert_stream(f->dir, "s", &want);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	assert_int_equal(mq_id_cmp(info.last_id, top), 0);
	mq_stream_close(s);
}

/* mq_range's callback: checks entry k's body, BODY(k) of its length. */
static int
check_big(const struct mq_msg *m, void *arg)
{
	size_t *k = arg, i, want = (*k % 3 == 0) ? 9000 : 100 + *k;
	const unsigned char *b = m->body;

	if (m->bodylen != want)
		return -1;
	for (i = 0; i < want; i++)
		if (b[i] != (unsigned char)(*k + i))
			return -1;
	(*k)++;
	return 0;
}

/*
 * A stream whose records lie far apart in the log, among another's,
 * some larger than what is read past the last of a stream's records
 * (wal.c, WAL_TAIL): every one is read whole, and in order.
 */
static void
test_scattered_records(void **state)
{
	struct fixture *f = *state;
	static unsigned char body[9000], filler[60000];
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct mq_msg m, fill = test_body("");
	mq_spool *other;
	mq_stream *s;
	size_t k, i, len;
	mq_id id;

	assert_int_equal(note(f->sp, "a"), MQ_OK);
	assert_int_equal(note(f->sp, "b"), MQ_OK);
	fill.body = filler;
	for (k = 0; k < 40; k++) {
		len = (k % 3 == 0) ? 9000 : 100 + k;
		for (i = 0; i < len; i++)
			body[i] = (unsigned char)(k + i);
		m = test_body("");
		m.body = body;
		m.bodylen = len;
		/* From 1 KiB to over a window (256 KiB) of the other's. */
		fill.bodylen = (k % 4 == 3) ? 60000 : 1000;
		assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
		assert_int_equal(mq_wal_append(f->sp, "a", &m, 1, &id), MQ_OK);
		for (i = 0; i < ((k % 4 == 3) ? 5u : 1u); i++)
			assert_int_equal(mq_wal_append(f->sp, "b", &fill, 1,
			    &id), MQ_OK);
		assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	}
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "a", 0, &s), MQ_OK);
	k = 0;
	assert_int_equal(mq_range(s, first, last, 0, 0, check_big, &k), MQ_OK);
	assert_int_equal(k, 40);
	mq_stream_close(s);
	mq_spool_close(other);
}

/*
 * A write that fails after its bytes are in the stream: the test wraps
 * the two calls that note a file for the next sync (-Wl,--wrap, in the
 * Makefile), and the next call fails once when 'fail_dirty' says so, as
 * on an I/O error.
 */
static int fail_dirty;

int	__real_mq_spool_dirty_mark(mq_spool *sp, int fd, uint64_t *mark);
int	__wrap_mq_spool_dirty_mark(mq_spool *sp, int fd, uint64_t *mark);
int	__real_mq_spool_dirty(mq_spool *sp, int fd);
int	__wrap_mq_spool_dirty(mq_spool *sp, int fd);

static int
dirty_fails(void)
{
	if (!fail_dirty)
		return 0;
	fail_dirty = 0;
	errno = EIO;
	return 1;
}

int
__wrap_mq_spool_dirty_mark(mq_spool *sp, int fd, uint64_t *mark)
{
	return dirty_fails() ? mq_sys() :
	    __real_mq_spool_dirty_mark(sp, fd, mark);
}

int
__wrap_mq_spool_dirty(mq_spool *sp, int fd)
{
	return dirty_fails() ? mq_sys() : __real_mq_spool_dirty(sp, fd);
}

/*
 * Another process moves the top of a stream this writer logs to, far
 * ahead, and fails after the bytes are written ('setid': by XSETID, else
 * by an append with that id): the writer must not log below the new
 * top, which its next logged append would do had it not learned that
 * the top moved.
 */
static void
top_moved_then_failed(struct fixture *f, int setid)
{
	struct mq_idspec spec = { MQ_ID_EXPLICIT, { 0, 0 } };
	struct mq_msg m = test_body("far");
	struct entries want = { 0 }, got;
	mq_spool *other;
	mq_stream *s;
	mq_id id;

	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", MQ_CREATE, &s), MQ_OK);
	/* The marks' file made first: the failure is the one after a write. */
	if (setid)
		assert_int_equal(mq_stream_setid(s, (mq_id){ 1, 0 }, UINT64_MAX,
		    (mq_id){ 0, 0 }), MQ_OK);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "s", 1, &want);
	/* What was logged is applied first: the failure is at this write. */
	assert_int_equal(read_stream(other, "s", &got), MQ_OK);
	assert_int_equal(got.n, 1);
	spec.id.ms = want.id[0].ms + 1000000;
	fail_dirty = 1;
	if (setid)
		assert_int_not_equal(mq_stream_setid(s, spec.id, UINT64_MAX,
		    (mq_id){ 0, 0 }), MQ_OK);
	else
		assert_int_not_equal(mq_append(s, &m, 1, &spec, &id), MQ_OK);
	assert_int_equal(fail_dirty, 0);
	mq_stream_close(s);
	mq_spool_close(other);
	not_logged(f->sp, "s");
}

static void
test_direct_failed_after_write(void **state)
{
	top_moved_then_failed(*state, 0);
}

static void
test_setid_failed_after_write(void **state)
{
	top_moved_then_failed(*state, 1);
}

/* ------------------------------------------------------------------
 * Readers that wait at the end
 * ---------------------------------------------------------------- */

/*
 * A reader at the end of a stream, and a group that delivered all there
 * was, read on into what is logged afterwards, as they read on into a
 * direct append (a blocked XREAD, XREADGROUP after XADD).
 */
static void
test_reader_at_end_reads_logged(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };
	struct mq_msg m, msgs[4];
	mq_spool *other;
	mq_stream *s;
	mq_reader *r;
	mq_group *g;
	size_t n;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	assert_int_equal(mq_reader_next(r, &m), 0);
	assert_int_equal(mq_group_create(s, "g", (mq_id){ 0, 0 }, 0), MQ_OK);
	assert_int_equal(mq_group_open(s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_read(g, "c", 4, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 0);

	log_turn(f->sp, "s", "s", 1, &want);
	assert_int_equal(mq_reader_next(r, &m), 1);
	assert_int_equal(mq_id_cmp(m.id, want.id[0]), 0);
	assert_int_equal(mq_reader_next(r, &m), 0);
	assert_int_equal(mq_group_read(g, "c", 4, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mq_id_cmp(msgs[0].id, want.id[0]), 0);

	/* The writer's own reader too. */
	mq_group_close(g);
	mq_reader_close(r);
	mq_stream_close(s);
	mq_spool_close(other);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	assert_int_equal(mq_reader_seek_end(r), MQ_OK);
	log_turn(f->sp, "s", "s", 1, &want);
	assert_int_equal(mq_reader_next(r, &m), 1);
	assert_int_equal(mq_id_cmp(m.id, want.id[1]), 0);
	mq_reader_close(r);
	mq_stream_close(s);
}

/* ------------------------------------------------------------------
 * Which streams may be logged to
 * ---------------------------------------------------------------- */

/* Not before mq_wal_note: mq_wal_append refuses it, as it says. */
static void
test_loggable_once_noted(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };

	create(f->sp, "s");
	assert_false(mq_wal_loggable(f->sp, "s"));
	not_logged(f->sp, "s");
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_true(mq_wal_loggable(f->sp, "s"));
	assert_false(mq_wal_loggable(f->sp, "t"));
	log_turn(f->sp, "s", "s", 1, &want);
	assert_stream(f->dir, "s", &want);
}

/*
 * Another handle changes the stream's policy: it must be noted again,
 * and then its new max-msg holds.
 */
static void
test_loggable_forgotten_on_policy(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };
	struct mq_policy pol;
	struct mq_msg big;
	mq_spool *other;
	mq_stream *s;
	char text[64];

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_true(mq_wal_loggable(f->sp, "s"));
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_policy_get(s, &pol), MQ_OK);
	pol.max_msg = 16;
	assert_int_equal(mq_policy_set(s, &pol), MQ_OK);
	mq_stream_close(s);
	mq_spool_close(other);
	assert_false(mq_wal_loggable(f->sp, "s"));
	not_logged(f->sp, "s");

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_true(mq_wal_loggable(f->sp, "s"));
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	big = test_body(text);
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	assert_int_equal(mq_wal_append(f->sp, "s", &big, 1, NULL), MQ_ETOOBIG);
	assert_int_equal(log_msgs(f->sp, "s", "s", 1, &want), MQ_OK);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	assert_stream(f->dir, "s", &want);
}

/*
 * Another handle removes or renames any stream: every stream must be
 * noted again, also when the writer begins its turn without asking.
 */
static void
test_loggable_forgotten_on_remove_rename(void **state)
{
	struct fixture *f = *state;
	mq_spool *other;

	create(f->sp, "x");
	create(f->sp, "y");
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	other = reopen(f->dir);
	assert_int_equal(mq_stream_remove(other, "x"), MQ_OK);
	assert_false(mq_wal_loggable(f->sp, "s"));

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_true(mq_wal_loggable(f->sp, "s"));
	assert_int_equal(mq_stream_rename(other, "y", "z", 0), MQ_OK);
	not_logged(f->sp, "s");
	assert_false(mq_wal_loggable(f->sp, "s"));
	mq_spool_close(other);
}

/* A stream with max-len in its policy is never logged to. */
static void
test_loggable_never_with_maxlen(void **state)
{
	struct fixture *f = *state;
	struct mq_policy pol;
	mq_spool *other;
	mq_stream *s;

	assert_int_equal(mq_stream_open(f->sp, "capped", MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_policy_get(s, &pol), MQ_OK);
	pol.max_len = 5;
	assert_int_equal(mq_policy_set(s, &pol), MQ_OK);
	assert_int_equal(mq_wal_note(s), MQ_OK);
	mq_stream_close(s);
	assert_int_equal(mq_wal_loggable(f->sp, "capped"), -1);
	not_logged(f->sp, "capped");

	/* Noted, then capped by another handle: not after noting again. */
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_true(mq_wal_loggable(f->sp, "s"));
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_policy_set(s, &pol), MQ_OK);
	mq_stream_close(s);
	mq_spool_close(other);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	assert_int_equal(mq_wal_loggable(f->sp, "s"), -1);
}

/* ------------------------------------------------------------------
 * Tombstones
 * ---------------------------------------------------------------- */

/*
 * Logs two entries to 's'; another handle then reads it first if
 * 'read_first' (which applies them there), removes it and makes it
 * again: its old entries do not come back, for anyone, and what is
 * logged to the new one is there.
 */
static void
removed_and_made_again(struct fixture *f, int read_first)
{
	struct entries old = { 0 }, want = { 0 }, got;
	mq_spool *other;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "old", 2, &old);
	other = reopen(f->dir);
	if (read_first) {
		assert_int_equal(read_stream(other, "s", &got), MQ_OK);
		assert_true(same_entries(&got, &old, old.n));
	}
	assert_int_equal(mq_stream_remove(other, "s"), MQ_OK);
	create(other, "s");
	assert_int_equal(read_stream(other, "s", &got), MQ_OK);
	assert_int_equal(got.n, 0);
	mq_spool_close(other);
	assert_stream(f->dir, "s", &want);
	/* The writer itself. */
	assert_int_equal(read_stream(f->sp, "s", &got), MQ_OK);
	assert_int_equal(got.n, 0);

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "new", 1, &want);
	assert_stream(f->dir, "s", &want);
}

static void
test_tombstone_remove(void **state)
{
	removed_and_made_again(*state, 0);
}

/* The remover had applied the batches: it must end them all the same. */
static void
test_tombstone_remove_after_read(void **state)
{
	removed_and_made_again(*state, 1);
}

/*
 * The writer removes what it logged itself: its own batches end with a
 * tombstone too, or another process opening the name would make the
 * stream again from them.
 */
static void
test_tombstone_remove_by_writer(void **state)
{
	struct fixture *f = *state;
	struct entries old = { 0 };
	mq_spool *other;
	mq_stream *s;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "old", 3, &old);
	assert_int_equal(mq_stream_remove(f->sp, "s"), MQ_OK);
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", 0, &s), MQ_ENOSTREAM);
	mq_spool_close(other);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_ENOSTREAM);
}

/* Makes sorted set 'name' with one member through 'sp': MQ_OK, or why not. */
static int
zset_one(mq_spool *sp, const char *name)
{
	struct mq_zmember m = { 0 };
	struct mq_zadd res;
	mq_zset *z;
	int rc;

	m.member = "m";
	m.len = 1;
	m.score = 1.0;
	if ((rc = mq_zset_open(sp, name, MQ_CREATE, &z)) != MQ_OK)
		return rc;
	rc = mq_zset_add(z, &m, 1, 0, &res);
	mq_zset_close(z);
	return rc;
}

/*
 * A stream logged to before it was made (mq_wal_note_new): another
 * process that opens it makes it and reads its entries, a listing of
 * the spool has it, and a sorted set may not take its name.
 */
static int
list_one(const char *name, void *arg)
{
	if (strcmp(name, "n") == 0)
		(*(int *)arg)++;
	return 0;
}

static void
test_made_by_first_reader(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 };
	mq_spool *other;
	int seen = 0;

	assert_int_equal(mq_wal_note_new(f->sp, "n"), MQ_OK);
	log_turn(f->sp, "n", "n", 2, &want);
	assert_int_equal(mq_wal_note_new(f->sp, "n"), MQ_OK);
	other = reopen(f->dir);
	assert_int_equal(zset_one(other, "n"), MQ_EWRONGTYPE);
	assert_int_equal(mq_spool_streams(other, list_one, &seen), MQ_OK);
	assert_int_equal(seen, 1);
	mq_spool_close(other);
	assert_stream(f->dir, "n", &want);
	assert_int_equal(mq_wal_note_new(f->sp, "n"), MQ_EEXIST);
}

/*
 * A sorted set renamed by another process onto a name this writer took
 * for a stream it logs to: the next append is not logged (and then
 * lost when the log meets a set there) but goes direct, and is refused.
 */
static void
test_zset_renamed_onto_noted_name(void **state)
{
	struct fixture *f = *state;
	struct entries none = { 0 };
	mq_spool *other;

	assert_int_equal(mq_wal_note_new(f->sp, "t"), MQ_OK);
	other = reopen(f->dir);
	assert_int_equal(zset_one(other, "z"), MQ_OK);
	assert_int_equal(mq_zset_rename(other, "z", "t", 0), MQ_OK);
	mq_spool_close(other);
	not_logged(f->sp, "t");
	assert_int_equal(direct(f->sp, "t", "x", &none), MQ_EWRONGTYPE);
}

/*
 * A sorted set renamed over a stream the writer logged to: the stream's
 * batches end with it, so a stream made later under the name holds
 * none of them, whoever opens it.
 */
static void
test_zset_renamed_over_logged_stream(void **state)
{
	struct fixture *f = *state;
	struct entries old = { 0 }, none = { 0 }, got;
	mq_spool *other;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "old", 3, &old);
	other = reopen(f->dir);
	assert_int_equal(zset_one(other, "z"), MQ_OK);
	assert_int_equal(mq_zset_rename(other, "z", "s", 1), MQ_OK);
	assert_int_equal(mq_zset_remove(other, "s"), MQ_OK);
	create(other, "s");
	mq_spool_close(other);
	assert_stream(f->dir, "s", &none);
	assert_int_equal(read_stream(f->sp, "s", &got), MQ_OK);
	assert_int_equal(got.n, 0);
}

/*
 * A writer that has listed the spool's names (names.c: after enough new
 * names) still finds a stream and a sorted set made since by another
 * process, and logs to neither.
 */
static void
test_note_new_after_listing(void **state)
{
	struct fixture *f = *state;
	mq_spool *other = reopen(f->dir);
	char name[32];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "fresh%d", i);
		assert_int_equal(mq_wal_note_new(f->sp, name), MQ_OK);
	}
	create(other, "late");
	assert_int_equal(mq_wal_note_new(f->sp, "late"), MQ_EEXIST);
	assert_int_equal(zset_one(other, "latez"), MQ_OK);
	assert_int_equal(mq_wal_note_new(f->sp, "latez"), MQ_EWRONGTYPE);
	assert_int_equal(mq_wal_note_new(f->sp, "fresh2000"), MQ_OK);
	mq_spool_close(other);
}

/*
 * Logs to 't'; another handle (having read 't' first if 'read_first')
 * renames 'u' over it: 't' holds what 'u' held, nothing of the log.
 */
static void
renamed_over(struct fixture *f, int read_first)
{
	struct entries old = { 0 }, want = { 0 }, got;
	mq_spool *other = reopen(f->dir);

	assert_int_equal(direct(other, "u", "u-0", &want), MQ_OK);
	assert_int_equal(direct(other, "u", "u-1", &want), MQ_OK);
	assert_int_equal(note(f->sp, "t"), MQ_OK);
	log_turn(f->sp, "t", "t", 2, &old);
	if (read_first) {
		assert_int_equal(read_stream(other, "t", &got), MQ_OK);
		assert_true(same_entries(&got, &old, old.n));
	}
	assert_int_equal(mq_stream_rename(other, "u", "t", 1), MQ_OK);
	assert_int_equal(read_stream(other, "t", &got), MQ_OK);
	assert_true(same_entries(&got, &want, want.n));
	assert_int_equal(read_stream(other, "u", &got), MQ_ENOSTREAM);
	mq_spool_close(other);
	assert_stream(f->dir, "t", &want);
	assert_int_equal(read_stream(f->sp, "t", &got), MQ_OK);
	assert_true(same_entries(&got, &want, want.n));
}

static void
test_tombstone_rename_over(void **state)
{
	renamed_over(*state, 0);
}

static void
test_tombstone_rename_over_after_read(void **state)
{
	renamed_over(*state, 1);
}

/*
 * Logs to 's', renamed to 'r' by another handle: 'r' has the logged
 * entries, once; a new 's' made afterwards has none of them.
 */
static void
test_rename_away(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 }, none = { 0 }, got;
	mq_spool *other;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "s", 2, &want);
	other = reopen(f->dir);
	assert_int_equal(mq_stream_rename(other, "s", "r", 0), MQ_OK);
	assert_int_equal(read_stream(other, "s", &got), MQ_ENOSTREAM);
	create(other, "s");
	mq_spool_close(other);
	assert_stream(f->dir, "r", &want);
	assert_stream(f->dir, "s", &none);
	assert_int_equal(read_stream(f->sp, "r", &got), MQ_OK);
	assert_true(same_entries(&got, &want, want.n));
	assert_int_equal(read_stream(f->sp, "s", &got), MQ_OK);
	assert_int_equal(got.n, 0);
}

/*
 * A handle kept open on 's' while another renames it to 'r' and makes a
 * new 's', which is logged to: reading through the old handle (now 'r')
 * applies nothing of the new stream's there.
 */
static void
test_old_handle_after_rename(void **state)
{
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct fixture *f = *state;
	struct entries old = { 0 }, new = { 0 }, got = { 0 };
	mq_spool *other, *mover;
	mq_stream *h;

	other = reopen(f->dir);
	assert_int_equal(direct(other, "s", "old", &old), MQ_OK);
	assert_int_equal(mq_stream_open(other, "s", 0, &h), MQ_OK);
	mover = reopen(f->dir);
	assert_int_equal(mq_stream_rename(mover, "s", "r", 0), MQ_OK);
	create(mover, "s");
	mq_spool_close(mover);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "new", 1, &new);

	assert_int_equal(mq_range(h, first, last, 0, 0, collect, &got), MQ_OK);
	assert_true(same_entries(&got, &old, old.n));
	mq_stream_close(h);
	mq_spool_close(other);
	assert_stream(f->dir, "r", &old);
	assert_stream(f->dir, "s", &new);
}

/* ------------------------------------------------------------------
 * A torn tail
 * ---------------------------------------------------------------- */

/*
 * The log as built: streams "a" and "b" logged to in three turns, "c"
 * appended to directly; each record's stream and end in the file.
 */
struct torn {
	char		*spool;		/* the spool as built, never opened again */
	char		*work;		/* a copy of it, torn */
	unsigned char	*wal;		/* the log as built */
	size_t		 size;
	struct entries	 want[3];	/* a, b, c */
	size_t		 nrec;
	size_t		 rec_stream[16];
	size_t		 rec_end[16];
	size_t		 rec_count[16];
};

static const char *torn_names[] = { "a", "b", "c" };

/* The little-endian number of 'n' bytes at 'p', as the log keeps them. */
static uint64_t
le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
torn_build(struct torn *t)
{
	char path[1024];
	mq_spool *sp;
	size_t turn, i, pos;
	int fd;

	memset(t, 0, sizeof(*t));
	t->spool = test_tmpdir();
	assert_int_equal(mq_spool_open(t->spool, MQ_CREATE, &sp), MQ_OK);
	assert_int_equal(direct(sp, "c", "c-0", &t->want[2]), MQ_OK);
	for (i = 0; i < 2; i++)
		assert_int_equal(note(sp, torn_names[i]), MQ_OK);
	for (turn = 0; turn < 3; turn++) {
		assert_int_equal(mq_wal_begin(sp), MQ_OK);
		for (i = 0; i < 2; i++) {
			/* "a" gets 1, 2, 3 entries a turn, "b" one. */
			size_t n = i == 0 ? turn + 1 : 1;

			assert_int_equal(log_msgs(sp, torn_names[i],
			    torn_names[i], n, &t->want[i]), MQ_OK);
			t->rec_stream[t->nrec] = i;
			t->rec_count[t->nrec++] = n;
		}
		assert_int_equal(mq_wal_commit(sp), MQ_OK);
	}
	mq_spool_close(sp);

	t->size = (size_t)file_size(t->spool, "wal");
	assert_non_null(t->wal = malloc(t->size));
	snprintf(path, sizeof(path), "%s/wal", t->spool);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(pread(fd, t->wal, t->size, 0), (ssize_t)t->size);
	close(fd);
	/* The records as the log lays them out: length at +4. */
	for (pos = MQ_WAL_HDR, i = 0; pos < t->size; i++) {
		assert_true(i < t->nrec);
		pos += (size_t)le(t->wal + pos + 4, 4);
		t->rec_end[i] = pos;
	}
	assert_int_equal(i, t->nrec);
	assert_int_equal(pos, t->size);
	t->work = test_tmpdir();
}

/* The tree copied (by nftw) from 'copy_from' to 'copy_to'. */
static const char *copy_from, *copy_to;

static int
copy_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char to[1024], buf[8192];
	ssize_t n;
	int in, out;

	snprintf(to, sizeof(to), "%s%s", copy_to, path + strlen(copy_from));
	if (flag == FTW_D)
		return mkdir(to, st->st_mode & 07777) == -1 && errno != EEXIST;
	if (flag != FTW_F)
		return 1;
	if ((in = open(path, O_RDONLY)) == -1)
		return 1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, st->st_mode & 07777)) ==
	    -1) {
		close(in);
		return 1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	close(in);
	close(out);
	return n != 0;
}

/*
 * The spool as built, its log cut at 'len' bytes: truncated there, or
 * zeros from there on ('zeros'), its header's 'end' still at the full
 * size, as a power loss may leave it.
 */
static void
torn_copy(struct torn *t, size_t len, int zeros)
{
	unsigned char end[8];
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/spool", t->work);
	if (access(path, F_OK) == 0)
		assert_int_equal(nftw(path, test_rm_one, 16,
		    FTW_DEPTH | FTW_PHYS), 0);
	copy_from = t->spool;
	copy_to = path;
	assert_int_equal(nftw(t->spool, copy_one, 16, FTW_PHYS), 0);
	snprintf(path, sizeof(path), "%s/spool/wal", t->work);
	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	if (zeros)
		assert_int_equal(ftruncate(fd, (off_t)t->size), 0);
	assert_int_equal(pread(fd, end, sizeof(end), H_END), sizeof(end));
	assert_int_equal(le(end, 8), t->size);
	close(fd);
}

/* The entries of stream 'i' in the records wholly before 'len'. */
static size_t
torn_whole(const struct torn *t, size_t i, size_t len)
{
	size_t r, n = 0;

	for (r = 0; r < t->nrec && t->rec_end[r] <= len; r++)
		if (t->rec_stream[r] == i)
			n += t->rec_count[r];
	return n;
}

/*
 * In a new process: every stream opens; "a" and "b" hold what the whole
 * records before 'len' logged, "c" its own entry.  Then the process logs
 * a turn to "a" and appends to "c" directly, and the next process finds
 * each after what was there.
 */
static int
torn_open(struct torn *t, size_t len)
{
	struct entries got, want, plain;
	char dir[1024];
	mq_spool *sp;
	size_t i, n;

	snprintf(dir, sizeof(dir), "%s/spool", t->work);
	CHECK(mq_spool_open(dir, 0, &sp) == MQ_OK);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	/* The log has nothing for "c": it is no reason to fail there. */
	CHECK(read_stream(sp, "c", &got) == MQ_OK);
	CHECK(same_entries(&got, &t->want[2], 1));
	for (i = 0; i < 2; i++) {
		n = torn_whole(t, i, len);
		CHECK(read_stream(sp, torn_names[i], &got) == MQ_OK);
		CHECK(same_entries(&got, &t->want[i], n));
	}

	want = t->want[0];
	want.n = torn_whole(t, 0, len);
	plain = t->want[2];
	CHECK(note(sp, "a") == MQ_OK);
	CHECK(mq_wal_begin(sp) == MQ_OK);
	CHECK(log_msgs(sp, "a", "after", 1, &want) == MQ_OK);
	CHECK(mq_wal_commit(sp) == MQ_OK);
	CHECK(direct(sp, "c", "direct", &plain) == MQ_OK);
	mq_spool_close(sp);
	CHECK(mq_spool_open(dir, 0, &sp) == MQ_OK);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	CHECK(read_stream(sp, "a", &got) == MQ_OK);
	CHECK(same_entries(&got, &want, want.n));
	CHECK(read_stream(sp, "c", &got) == MQ_OK);
	CHECK(same_entries(&got, &plain, plain.n));
	mq_spool_close(sp);
	return 0;
}

/*
 * The log cut at every byte after its header (truncated, or zeros up to
 * its 'end'): a new process opens every stream and gets whole records
 * only, all of those before the cut (under "always" they were
 * acknowledged durable); and its writes go after them, where everyone
 * reads them.
 */
static void
test_torn_tail_every_byte(void **state)
{
	struct torn *t = calloc(1, sizeof(*t));
	size_t len;
	int zeros;
	pid_t pid;

	torn_build(t);
	for (len = MQ_WAL_HDR; len <= t->size; len++)
		for (zeros = 0; zeros < 2; zeros++) {
			torn_copy(t, len, zeros);
			if ((pid = child()) == 0)
				_exit(torn_open(t, len));
			test_wait_ok(pid);
		}
	test_rmdir(t->spool);
	test_rmdir(t->work);
	free(t->wal);
	free(t);
}

/* ------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------- */

/*
 * A batch record must hold a batch: one with nothing after its name is
 * refused, not read as a batch (mq_wal_collect would read its header
 * past the record).  A tombstone is its name alone.
 */
static void
test_record_without_batch(void **state)
{
	unsigned char rec[MQ_WAL_REC + 1 + 10];
	const char *enc;
	size_t enclen;
	int kind;

	mq_wal_record_seal(rec, MQ_WAL_REC + 1, MQ_WAL_BATCH, "s", 1, 7);
	assert_int_equal(mq_wal_record_check(rec, MQ_WAL_REC + 1, 7, &kind,
	    &enc, &enclen), MQ_ECORRUPT);
	memset(rec + MQ_WAL_REC + 1, 0, 10);
	mq_wal_record_seal(rec, sizeof(rec), MQ_WAL_BATCH, "s", 1, 7);
	assert_int_equal(mq_wal_record_check(rec, sizeof(rec), 7, &kind, &enc,
	    &enclen), MQ_ECORRUPT);
	mq_wal_record_seal(rec, MQ_WAL_REC + 1, MQ_WAL_TOMBSTONE, "s", 1, 7);
	assert_int_equal(mq_wal_record_check(rec, MQ_WAL_REC + 1, 7, &kind,
	    &enc, &enclen), MQ_WAL_REC + 1);
	assert_int_equal(kind, MQ_WAL_TOMBSTONE);
	assert_int_equal(enclen, 1);
	assert_memory_equal(enc, "s", 1);
}

/* ------------------------------------------------------------------
 * Emptying the log
 * ---------------------------------------------------------------- */

/*
 * mq_wal_reset applies everything and empties the log; another handle
 * that had read the old log reads the next generation right, though its
 * records lie where the old ones did.
 */
static void
test_reset(void **state)
{
	struct fixture *f = *state;
	struct entries a = { 0 }, b = { 0 }, got;
	mq_spool *other;

	assert_int_equal(note(f->sp, "a"), MQ_OK);
	assert_int_equal(note(f->sp, "b"), MQ_OK);
	create(f->sp, "c");
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "a", "a", 2, &a), MQ_OK);
	assert_int_equal(log_msgs(f->sp, "b", "b", 1, &b), MQ_OK);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	log_turn(f->sp, "a", "a", 1, &a);
	other = reopen(f->dir);
	assert_int_equal(read_stream(other, "c", &got), MQ_OK);

	assert_true(mq_wal_size(f->sp) > 0);
	assert_int_equal(mq_wal_reset(f->sp), MQ_OK);
	assert_int_equal(mq_wal_size(f->sp), 0);
	assert_int_equal(mq_wal_size(other), 0);
	assert_int_equal(file_size(f->dir, "wal"), MQ_WAL_HDR);
	assert_true(segment_size(f->dir, "a") > 0);
	assert_true(segment_size(f->dir, "b") > 0);

	log_turn(f->sp, "a", "a", 1, &a);
	assert_int_equal(read_stream(other, "a", &got), MQ_OK);
	assert_true(same_entries(&got, &a, a.n));
	assert_int_equal(read_stream(other, "b", &got), MQ_OK);
	assert_true(same_entries(&got, &b, b.n));
	mq_spool_close(other);
	assert_stream(f->dir, "a", &a);
}

/*
 * mq_wal_apply_some with max 1 applies one stream a call, says there is
 * more while there is, and empties the log after the last.
 */
static void
test_apply_some(void **state)
{
	static const char *names[] = { "a", "b", "c" };
	struct fixture *f = *state;
	struct entries want[3];
	size_t i, calls = 0;
	int more;

	memset(want, 0, sizeof(want));
	for (i = 0; i < NELEM(names); i++)
		assert_int_equal(note(f->sp, names[i]), MQ_OK);
	assert_int_equal(mq_wal_begin(f->sp), MQ_OK);
	for (i = 0; i < NELEM(names); i++)
		assert_int_equal(log_msgs(f->sp, names[i], names[i], i + 1,
		    &want[i]), MQ_OK);
	assert_int_equal(mq_wal_commit(f->sp), MQ_OK);
	do {
		assert_true(calls < 2 * NELEM(names));
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
		calls++;
		if (more)
			assert_true(mq_wal_size(f->sp) > 0);
	} while (more);
	assert_int_equal(calls, NELEM(names));
	assert_int_equal(mq_wal_size(f->sp), 0);
	for (i = 0; i < NELEM(names); i++) {
		assert_true(segment_size(f->dir, names[i]) > 0);
		assert_stream(f->dir, names[i], &want[i]);
	}
	/* Nothing left: nothing to do. */
	assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	assert_false(more);
}

/*
 * In a turn of its own, logs to 'name' 'n' messages of 'size' bytes of
 * 'c' each, and adds 'n' to '*count'.
 */
static void
log_sized(mq_spool *sp, const char *name, size_t n, size_t size, int c,
    uint64_t *count)
{
	struct mq_msg m[8];
	char *body = malloc(size);
	size_t i;

	assert_non_null(body);
	assert_true(n <= NELEM(m));
	memset(body, c, size);
	memset(m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		m[i].body = body;
		m[i].bodylen = size;
	}
	assert_int_equal(mq_wal_begin(sp), MQ_OK);
	assert_int_equal(mq_wal_append(sp, name, m, n, NULL), MQ_OK);
	assert_int_equal(mq_wal_commit(sp), MQ_OK);
	free(body);
	*count += n;
}

/* The whole of file 'path' under 'dir', in '*buf' (to free); its size. */
static size_t
read_file(const char *dir, const char *path, unsigned char **buf)
{
	size_t len = (size_t)file_size(dir, path);
	char full[1024];
	FILE *fp;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	assert_non_null(fp = fopen(full, "rb"));
	assert_non_null(*buf = malloc(len + 1));
	assert_int_equal(fread(*buf, 1, len, fp), len);
	fclose(fp);
	return len;
}

/* Stream 'name', read through a new handle, holds 'n' entries. */
static void
assert_length(const char *dir, const char *name, uint64_t n)
{
	struct mq_stream_info info;
	mq_spool *sp = reopen(dir);
	mq_stream *s;

	assert_int_equal(mq_stream_open(sp, name, 0, &s), MQ_OK);
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	assert_int_equal(info.length, n);
	mq_stream_close(s);
	mq_spool_close(sp);
}

/*
 * A stream with 6 MiB in the log: mq_wal_apply_some gives it 4 MiB or so
 * a call (wal.c, WAL_APPLY_CHUNK), says there is more meanwhile, and
 * empties the log after the last; another process that reads the stream
 * between the calls takes the rest itself, and nothing is there twice.
 */
static void
test_apply_some_in_chunks(void **state)
{
	struct fixture *f = *state;
	uint64_t logged = 0;
	off_t after_first;
	size_t t, calls = 0;
	int more;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	for (t = 0; t < 192; t++)
		log_sized(f->sp, "s", 8, 4000, 'a' + (int)(t % 26), &logged);
	assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	assert_true(more);
	after_first = segment_size(f->dir, "s");
	assert_true(after_first >= (4 << 20) && after_first < (5 << 20));
	do {
		assert_true(++calls < 4);
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	} while (more);
	assert_int_equal(mq_wal_size(f->sp), 0);
	assert_length(f->dir, "s", logged);

	/* Another process reads it between two calls. */
	for (t = 0; t < 192; t++)
		log_sized(f->sp, "s", 8, 4000, 'A' + (int)(t % 26), &logged);
	assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	assert_true(more);
	assert_length(f->dir, "s", logged);
	do
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	while (more);
	assert_int_equal(mq_wal_size(f->sp), 0);
	assert_length(f->dir, "s", logged);
}

/*
 * A stream that gets more logged between two calls of mq_wal_apply_some
 * than a call gives it (4 MiB): after sixteen calls that gave it a part
 * (wal.c, WAL_APPLY_CUTS), the next gives it all, and the log empties.
 */
static void
test_apply_some_catches_up(void **state)
{
	struct fixture *f = *state;
	uint64_t logged = 0;
	size_t calls = 0, t;
	int more;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	do {
		assert_true(++calls <= 17);
		/* 4.8 MB in eight turns: a call gives it seven. */
		for (t = 0; t < 8; t++)
			log_sized(f->sp, "s", 1, 600000,
			    'a' + (int)(calls % 26), &logged);
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	} while (more);
	assert_int_equal(calls, 17);
	assert_int_equal(mq_wal_size(f->sp), 0);
	assert_length(f->dir, "s", logged);
}

/*
 * The cuts of a stream whose batches ended elsewhere (another process
 * removed it, writing a tombstone) are not counted against the stream
 * made again under its name: its first backlog is given in parts.
 */
static void
test_apply_some_cuts_forgotten_on_tombstone(void **state)
{
	struct fixture *f = *state;
	mq_spool *other;
	uint64_t logged = 0;
	size_t calls, t;
	int more;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	for (calls = 0; calls < 16; calls++) {
		for (t = 0; t < 8; t++)
			log_sized(f->sp, "s", 1, 600000,
			    'a' + (int)(calls % 26), &logged);
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
		assert_true(more);
	}
	other = reopen(f->dir);
	assert_int_equal(mq_stream_remove(other, "s"), MQ_OK);
	mq_spool_close(other);

	logged = 0;
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	for (t = 0; t < 192; t++)
		log_sized(f->sp, "s", 8, 4000, 'A' + (int)(t % 26), &logged);
	assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	assert_true(more);
	do
		assert_int_equal(mq_wal_apply_some(f->sp, 1, &more), MQ_OK);
	while (more);
	assert_length(f->dir, "s", logged);
}

#define SMALL_TURNS	128	/* turns of 4 messages of SMALL_BODY bytes */
#define SMALL_BODY	2000

/*
 * A megabyte logged to one stream in small turns, and one message
 * larger than MQ_WAL_MERGE among them, go to the stream in batches of
 * MQ_WAL_MERGE bytes at most, but for that one, alone in its batch; the
 * batches follow one another and hold every entry.  Merged into one
 * batch, the megabyte would be held whole by every reader of the stream
 * that reads any of it.
 */
static void
test_applied_in_bounded_batches(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_batch b;
	unsigned char *seg;
	uint64_t logged = 0, offset = 0;
	size_t len, pos, batches = 0, large = 0, t;
	mq_spool *other;
	mq_stream *s;
	long n;

	assert_int_equal(note(f->sp, "s"), MQ_OK);
	for (t = 0; t < SMALL_TURNS; t++) {
		log_sized(f->sp, "s", 4, SMALL_BODY, 'a' + (int)(t % 26), &logged);
		if (t == SMALL_TURNS / 2)
			log_sized(f->sp, "s", 1, MQ_WAL_MERGE + 1000, 'L', &logged);
	}
	assert_int_equal(segment_size(f->dir, "s"), 0);
	/* Opening it elsewhere gives the stream what the log holds. */
	other = reopen(f->dir);
	assert_int_equal(mq_stream_open(other, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	assert_int_equal(info.length, logged);
	mq_stream_close(s);
	mq_spool_close(other);

	len = read_file(f->dir, "streams/s/" SEGMENT, &seg);
	for (pos = 0; pos < len; pos += (size_t)n) {
		assert_true((n = mq_batch_check(seg + pos, len - pos, 1, &b)) > 0);
		assert_int_equal(b.base_offset, offset);
		if (b.length > MQ_WAL_MERGE) {
			assert_int_equal(b.count, 1);
			large++;
		}
		offset += b.count;
		batches++;
	}
	free(seg);
	assert_int_equal(offset, logged);
	assert_int_equal(large, 1);
	assert_true(batches >= 1 + SMALL_TURNS * 4 * SMALL_BODY / MQ_WAL_MERGE);
}

/* ------------------------------------------------------------------
 * Processes
 * ---------------------------------------------------------------- */

#define WRITERS		3
#define READERS		3	/* READ_ON, READ_SEEK, READ_RANGE */
#define READ_ON		0
#define READ_SEEK	1
#define READ_RANGE	2
#define NSTREAMS	4
#define TURNS		400

static const char *proc_names[NSTREAMS] = { "p0", "p1", "p2", "p3" };
static int proc_done[2];	/* closed for writing once the writers ended */

/*
 * Writer 'w': TURNS turns, each one entry "wW-T" to every stream, logged
 * but for every fifth turn, appended directly.
 */
static int
proc_writer(struct fixture *f, int w)
{
	struct mq_msg m;
	mq_spool *sp;
	mq_stream *s[NSTREAMS];
	char body[24];
	size_t i;
	int t;

	close(proc_done[1]);
	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	for (i = 0; i < NSTREAMS; i++) {
		CHECK(note(sp, proc_names[i]) == MQ_OK);
		CHECK(mq_stream_open(sp, proc_names[i], 0, &s[i]) == MQ_OK);
	}
	for (t = 0; t < TURNS; t++) {
		snprintf(body, sizeof(body), "w%d-%d", w, t);
		m = test_body(body);
		if (t % 5 == 4) {
			for (i = 0; i < NSTREAMS; i++)
				CHECK(mq_append(s[i], &m, 1, NULL, NULL) == MQ_OK);
			continue;
		}
		/*
		 * Another writer's direct appends make a stream's top unknown
		 * here: then it goes direct, and is noted again, as mq-serve
		 * does.
		 */
		CHECK(mq_wal_begin(sp) == MQ_OK);
		for (i = 0; i < NSTREAMS; i++) {
			int rc = mq_wal_append(sp, proc_names[i], &m, 1, NULL);

			if (rc == MQ_ENOSTREAM) {
				CHECK(mq_append(s[i], &m, 1, NULL, NULL) == MQ_OK);
				CHECK(mq_wal_note(s[i]) == MQ_OK);
			} else
				CHECK(rc == MQ_OK);
		}
		CHECK(mq_wal_commit(sp) == MQ_OK);
	}
	for (i = 0; i < NSTREAMS; i++)
		mq_stream_close(s[i]);
	mq_spool_close(sp);
	return 0;
}

/* Whether the writers ended; else waits a little for them to. */
static int
writers_ended(int wait_ms)
{
	struct pollfd p = { proc_done[0], POLLIN, 0 };

	return poll(&p, 1, wait_ms) == 1;
}

/*
 * Checks entry 'm' of a stream against what came before it there: ids
 * increase, and each writer's entries come in the order it wrote them.
 */
static int
proc_next(const struct mq_msg *m, mq_id *last, int next[WRITERS])
{
	char body[24];
	int w, t;

	CHECK(mq_id_cmp(*last, m->id) < 0);
	*last = m->id;
	CHECK(m->bodylen < sizeof(body));
	memcpy(body, m->body, m->bodylen);
	body[m->bodylen] = '\0';
	CHECK(sscanf(body, "w%d-%d", &w, &t) == 2);
	CHECK(w >= 0 && w < WRITERS && t == next[w]);
	next[w]++;
	return 0;
}

/* What a reader read of one stream so far, or in one pass. */
struct proc_pass {
	mq_id	 last;
	int	 next[WRITERS];
	int	 rc;
};

static int
proc_range_fn(const struct mq_msg *m, void *arg)
{
	struct proc_pass *p = arg;

	return p->rc = proc_next(m, &p->last, p->next);
}

/*
 * Reads every stream over and over while the writers write, and once
 * more after they ended.  Reader READ_ON reads on from where it is with
 * mq_reader_next (as mq-xread -f does), READ_SEEK seeks past what it
 * read each time (as a blocked XREAD does), READ_RANGE reads each
 * stream whole with mq_range: no entry ever appears below one read
 * before, none twice, none missing.
 */
static int
proc_reader(struct fixture *f, int kind)
{
	static const mq_id first = { 0, 0 }, top = { UINT64_MAX, UINT64_MAX };
	struct proc_pass tail[NSTREAMS], pass;
	struct mq_msg m;
	mq_reader *r[NSTREAMS];
	mq_stream *s[NSTREAMS];
	mq_spool *sp;
	int ended = 0, rc, i, w;

	close(proc_done[1]);
	memset(tail, 0, sizeof(tail));
	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	for (i = 0; i < NSTREAMS; i++) {
		CHECK(mq_stream_open(sp, proc_names[i], 0, &s[i]) == MQ_OK);
		CHECK(mq_reader_open(s[i], &r[i]) == MQ_OK);
	}
	while (!ended) {
		ended = writers_ended(0);
		for (i = 0; i < NSTREAMS; i++) {
			if (kind == READ_RANGE) {
				memset(&pass, 0, sizeof(pass));
				CHECK(mq_range(s[i], first, top, 0, 0,
				    proc_range_fn, &pass) == MQ_OK);
				CHECK(pass.rc == 0);
				/* What was there is there still, and more. */
				for (w = 0; w < WRITERS; w++)
					CHECK(pass.next[w] >= tail[i].next[w]);
				tail[i] = pass;
				continue;
			}
			if (kind == READ_SEEK) {
				pass.last = tail[i].last;
				CHECK(mq_id_incr(&pass.last) == MQ_OK);
				CHECK(mq_reader_seek_id(r[i], pass.last) ==
				    MQ_OK);
			}
			while ((rc = mq_reader_next(r[i], &m)) == 1)
				CHECK(proc_next(&m, &tail[i].last,
				    tail[i].next) == 0);
			CHECK(rc == 0);
		}
		if (!ended)
			(void)writers_ended(1);
	}
	for (i = 0; i < NSTREAMS; i++) {
		for (w = 0; w < WRITERS; w++)
			CHECK(tail[i].next[w] == TURNS);
		mq_reader_close(r[i]);
		mq_stream_close(s[i]);
	}
	mq_spool_close(sp);
	return 0;
}

/* Empties the log while the writers write and the readers read. */
static int
proc_applier(struct fixture *f, int unused)
{
	mq_spool *sp;
	int more, ended = 0;

	close(proc_done[1]);
	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	while (!ended) {
		ended = writers_ended(1);
		CHECK(mq_wal_apply_some(sp, 1, &more) == MQ_OK);
	}
	CHECK(mq_wal_reset(sp) == MQ_OK);
	CHECK(mq_wal_size(sp) == 0);
	mq_spool_close(sp);
	return 0;
}

/*
 * Writers log turns to every stream (and append directly now and then)
 * in processes of their own, while readers read and another process
 * applies and empties the log: in the end every entry is in its stream
 * exactly once, in the order its writer wrote it, ids increasing.
 */
static void
test_processes(void **state)
{
	struct fixture *f = *state;
	pid_t writers[WRITERS], others[READERS + 1];
	struct proc_pass pass;
	static const mq_id first = { 0, 0 }, top = { UINT64_MAX, UINT64_MAX };
	mq_spool *sp;
	mq_stream *s;
	int i, w;

	for (i = 0; i < NSTREAMS; i++)
		create(f->sp, proc_names[i]);
	assert_int_equal(pipe(proc_done), 0);
	for (i = 0; i < READERS; i++)
		others[i] = start(f, proc_reader, i);
	others[READERS] = start(f, proc_applier, 0);
	for (w = 0; w < WRITERS; w++)
		writers[w] = start(f, proc_writer, w);
	for (w = 0; w < WRITERS; w++)
		test_wait_ok(writers[w]);
	close(proc_done[1]);
	for (i = 0; i <= READERS; i++)
		test_wait_ok(others[i]);
	close(proc_done[0]);

	sp = reopen(f->dir);
	for (i = 0; i < NSTREAMS; i++) {
		memset(&pass, 0, sizeof(pass));
		assert_int_equal(mq_stream_open(sp, proc_names[i], 0, &s), MQ_OK);
		assert_int_equal(mq_range(s, first, top, 0, 0, proc_range_fn,
		    &pass), MQ_OK);
		assert_int_equal(pass.rc, 0);
		for (w = 0; w < WRITERS; w++)
			assert_int_equal(pass.next[w], TURNS);
		mq_stream_close(s);
	}
	mq_spool_close(sp);
}

/* What a killed writer said it committed: a turn and its ids. */
struct commit {
	int	 turn;
	mq_id	 ids[2];
};

/*
 * Logs turns of one entry to each of "k0" and "k1" for ever, saying on
 * 'fd' what each commit gave, until it is killed.
 */
static int
killed_writer(struct fixture *f, int fd)
{
	struct commit c;
	struct mq_msg m;
	mq_spool *sp;
	char body[24];

	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	mq_spool_set_fsync(sp, MQ_FSYNC_ALWAYS, 0);
	CHECK(note(sp, "k0") == MQ_OK && note(sp, "k1") == MQ_OK);
	for (c.turn = 0; ; c.turn++) {
		snprintf(body, sizeof(body), "k-%d", c.turn);
		m = test_body(body);
		CHECK(mq_wal_begin(sp) == MQ_OK);
		CHECK(mq_wal_append(sp, "k0", &m, 1, &c.ids[0]) == MQ_OK);
		CHECK(mq_wal_append(sp, "k1", &m, 1, &c.ids[1]) == MQ_OK);
		CHECK(mq_wal_commit(sp) == MQ_OK);
		CHECK(write(fd, &c, sizeof(c)) == (ssize_t)sizeof(c));
	}
}

/*
 * A writer killed in the middle of logging: every commit it reported is
 * there for the others, and they log on after it.
 */
static void
test_killed_writer(void **state)
{
	struct fixture *f = *state;
	struct entries want[2], got, more = { 0 };
	struct commit c;
	int p[2], i, status;
	pid_t pid;

	memset(want, 0, sizeof(want));
	create(f->sp, "k0");
	create(f->sp, "k1");
	assert_int_equal(pipe(p), 0);
	pid = start(f, killed_writer, p[1]);
	close(p[1]);
	while (want[0].n < 20 && read(p[0], &c, sizeof(c)) == sizeof(c))
		for (i = 0; i < 2; i++) {
			want[i].id[want[i].n] = c.ids[i];
			snprintf(want[i].body[want[i].n++], sizeof(want[0].body[0]),
			    "k-%d", c.turn);
		}
	assert_int_equal(want[0].n, 20);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* What it reported before it died, too. */
	while (read(p[0], &c, sizeof(c)) == sizeof(c))
		for (i = 0; i < 2; i++) {
			assert_true(want[i].n < MAXE);
			want[i].id[want[i].n] = c.ids[i];
			snprintf(want[i].body[want[i].n++], sizeof(want[0].body[0]),
			    "k-%d", c.turn);
		}
	close(p[0]);

	for (i = 0; i < 2; i++) {
		mq_spool *sp = reopen(f->dir);
		char next[24];

		/* It may have committed one more turn, not said so, and died. */
		assert_int_equal(read_stream(sp, i ? "k1" : "k0", &got), MQ_OK);
		if (got.n == want[i].n + 1) {
			snprintf(next, sizeof(next), "k-%zu", want[i].n);
			assert_string_equal(got.body[want[i].n], next);
			got.n--;
		}
		assert_true(same_entries(&got, &want[i], want[i].n));
		mq_spool_close(sp);
	}
	/* The log goes on: the writer's lock died with it. */
	assert_int_equal(note(f->sp, "k0"), MQ_OK);
	assert_int_equal(read_stream(f->sp, "k0", &more), MQ_OK);
	log_turn(f->sp, "k0", "after", 1, &more);
	assert_stream(f->dir, "k0", &more);
}

/* ------------------------------------------------------------------
 * A process that may only read
 * ---------------------------------------------------------------- */

/* The stream holds the direct entries, not the logged ones it cannot apply. */
static int
read_only(struct fixture *f, int unused)
{
	struct entries got;
	mq_spool *sp;
	mq_stream *s;
	mq_reader *r;
	struct mq_msg m;

	CHECK(test_become_reader() == 0);
	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	CHECK(read_stream(sp, "s", &got) == MQ_OK);
	CHECK(got.n == 2);
	CHECK(strcmp(got.body[0], "a") == 0 && strcmp(got.body[1], "b") == 0);
	CHECK(read_stream(sp, "plain", &got) == MQ_OK);
	CHECK(got.n == 1);
	CHECK(mq_stream_open(sp, "s", MQ_CREATE, &s) == MQ_OK);
	CHECK(mq_reader_open(s, &r) == MQ_OK);
	CHECK(mq_reader_seek_offset(r, 1) == MQ_OK);
	CHECK(mq_reader_next(r, &m) == 1);
	CHECK(mq_reader_next(r, &m) == 0);
	CHECK(mq_reader_seek_end(r) == MQ_OK);
	mq_reader_close(r);
	mq_stream_close(s);
	CHECK(!mq_wal_loggable(sp, "s"));
	mq_spool_close(sp);
	return 0;
}

/*
 * A process that may only read opens and reads a spool whose log holds
 * batches: it does not see them, and the log gives it no error.  The
 * owner then finds them all.
 */
static void
test_read_only_process(void **state)
{
	struct fixture *f = *state;
	struct entries want = { 0 }, plain = { 0 };

	assert_int_equal(direct(f->sp, "s", "a", &want), MQ_OK);
	assert_int_equal(direct(f->sp, "s", "b", &want), MQ_OK);
	assert_int_equal(direct(f->sp, "plain", "p", &plain), MQ_OK);
	assert_int_equal(note(f->sp, "s"), MQ_OK);
	log_turn(f->sp, "s", "logged", 2, &want);
	test_seal(f->dir, 1);
	test_wait_ok(start(f, read_only, 0));
	test_seal(f->dir, 0);
	assert_stream(f->dir, "s", &want);
	assert_stream(f->dir, "plain", &plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_turns_read_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logged_ids_follow_stream_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_after_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_append_keeps_counter_siblings_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zset_renamed_onto_noted_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zset_renamed_over_logged_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_inside_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setid_inside_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scattered_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_failed_after_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setid_failed_after_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_at_end_reads_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loggable_once_noted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loggable_forgotten_on_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loggable_forgotten_on_remove_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loggable_never_with_maxlen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_remove_by_writer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_remove_after_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_made_by_first_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_new_after_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_rename_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_rename_over_after_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_handle_after_rename, setup, teardown),
		cmocka_unit_test(test_torn_tail_every_byte),
		cmocka_unit_test(test_record_without_batch),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_some, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_some_in_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_some_catches_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_some_cuts_forgotten_on_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_applied_in_bounded_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_process, setup, teardown),
	};

	/* The reader that may only read must be able to read the spool. */
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
