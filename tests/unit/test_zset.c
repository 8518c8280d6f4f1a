/*
 * test_zset.c - sorted sets: order by score then member bytes, ZADD's
 * flags and counts, removal (the last member removes the set), pops,
 * ranges by rank, score and member bytes with exclusive and infinite
 * bounds, ranks, counts; the log (reopen, a torn tail at every byte,
 * compaction seen by another handle, a record larger than the replay
 * buffer); the namespace shared with streams; renames, onto keys of
 * either type, seen by handles opened before; versions (WATCH); a random
 * walk checked against a plain sorted array; two processes adding and
 * popping at once without losing or repeating a member, two renaming
 * sets onto each other's names without deadlock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <math.h>

#include "helpers.h"
#include "internal.h"
#include "mq.h"

struct fixture {
	char		*dir;
	mq_spool	*sp;
	mq_zset		*z;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	mq_spool_set_fsync(f->sp, MQ_FSYNC_NEVER, 0);
	assert_int_equal(mq_zset_open(f->sp, "z", MQ_CREATE, &f->z), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_zset_close(f->z);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static struct mq_zmember
zm(const char *member, double score)
{
	struct mq_zmember m = { member, strlen(member), score };

	return m;
}

/* Adds one member with 'flags'; returns the outcome, counts in 'res'. */
static int
add1(mq_zset *z, const char *member, double score, int flags,
    struct mq_zadd *res)
{
	struct mq_zmember m = zm(member, score);
	struct mq_zadd dummy;

	return mq_zset_add(z, &m, 1, flags, res != NULL ? res : &dummy);
}

/* The members of 'z' by rank as "a:1 b:2", into 'buf'. */
static const char *
dump_range(mq_zset *z, const struct mq_zrange *r, char *buf, size_t size)
{
	const struct mq_zmember *m;
	size_t n, i, used = 0;

	assert_int_equal(mq_zset_range(z, r, &m, &n), MQ_OK);
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%.*s:%g",
		    i ? " " : "", (int)m[i].len, (const char *)m[i].member,
		    m[i].score);
	return buf;
}

static const char *
dump(mq_zset *z, char *buf, size_t size)
{
	struct mq_zrange r = { .by = MQ_ZBY_RANK, .start = 0, .stop = -1 };

	return dump_range(z, &r, buf, size);
}

static uint64_t
card(mq_zset *z)
{
	uint64_t n;

	assert_int_equal(mq_zset_card(z, &n), MQ_OK);
	return n;
}

static struct mq_zrange
by_score(double min, int minex, double max, int maxex)
{
	struct mq_zrange r;

	memset(&r, 0, sizeof(r));
	r.by = MQ_ZBY_SCORE;
	r.min.score = min;
	r.min.excl = minex;
	r.max.score = max;
	r.max.excl = maxex;
	r.count = -1;
	return r;
}

static char *
zpath(struct fixture *f, const char *enc)
{
	char *p;

	assert_true(asprintf(&p, "%s/zsets/%s", f->dir, enc) != -1);
	return p;
}

static off_t
fsize(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ------------------------------------------------------------------ */

static void
test_order(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = {
		zm("c", 2), zm("b", 2), zm("a", 3), zm("ab", 2), zm("", 2),
		zm("x", -INFINITY), zm("y", INFINITY), zm("neg", -1.5),
	};
	struct mq_zadd res;
	char buf[512];

	assert_int_equal(mq_zset_add(f->z, m, 8, 0, &res), MQ_OK);
	assert_int_equal(res.added, 8);
	assert_int_equal(res.updated, 0);
	assert_int_equal(card(f->z), 8);
	assert_string_equal(dump(f->z, buf, sizeof(buf)),
	    "x:-inf neg:-1.5 :2 ab:2 b:2 c:2 a:3 y:inf");
}

static void
test_update(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 1), zm("b", 2), zm("a", 3) };
	struct mq_zadd res;
	char buf[256];

	/* In order: "a" is added, then updated in the same call. */
	assert_int_equal(mq_zset_add(f->z, m, 3, 0, &res), MQ_OK);
	assert_int_equal(res.added, 2);
	assert_int_equal(res.updated, 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "b:2 a:3");
	/* The same score: done, not updated. */
	assert_int_equal(add1(f->z, "a", 3, 0, &res), MQ_OK);
	assert_int_equal(res.added + res.updated, 0);
	assert_int_equal(res.done, 1);
	assert_int_equal(add1(f->z, "a", 0, 0, &res), MQ_OK);
	assert_int_equal(res.updated, 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "a:0 b:2");
}

static void
test_flags(void **state)
{
	struct fixture *f = *state;
	struct mq_zadd res;
	char buf[256];

	assert_int_equal(add1(f->z, "a", 5, 0, NULL), MQ_OK);
	/* NX: only new members. */
	assert_int_equal(add1(f->z, "a", 1, MQ_ZADD_NX, &res), MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "b", 1, MQ_ZADD_NX, &res), MQ_OK);
	assert_int_equal(res.added, 1);
	/* XX: only existing ones. */
	assert_int_equal(add1(f->z, "c", 1, MQ_ZADD_XX, &res), MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "b", 2, MQ_ZADD_XX, &res), MQ_OK);
	assert_int_equal(res.updated, 1);
	/* GT and LT compare with the current score, and still add. */
	assert_int_equal(add1(f->z, "a", 4, MQ_ZADD_GT, &res), MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "a", 6, MQ_ZADD_GT, &res), MQ_OK);
	assert_int_equal(res.updated, 1);
	assert_int_equal(add1(f->z, "a", 7, MQ_ZADD_LT, &res), MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "a", 6, MQ_ZADD_LT | MQ_ZADD_XX, &res),
	    MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "d", 9, MQ_ZADD_LT, &res), MQ_OK);
	assert_int_equal(res.added, 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "b:2 a:6 d:9");
	/* INCR: the new score; with GT a smaller result is refused. */
	assert_int_equal(add1(f->z, "a", 1.5, MQ_ZADD_INCR, &res), MQ_OK);
	assert_true(res.done == 1 && res.score == 7.5);
	assert_int_equal(add1(f->z, "a", -1, MQ_ZADD_INCR | MQ_ZADD_GT, &res),
	    MQ_OK);
	assert_int_equal(res.done, 0);
	assert_int_equal(add1(f->z, "new", 2, MQ_ZADD_INCR, &res), MQ_OK);
	assert_true(res.added == 1 && res.score == 2);
	/* Bad combinations and NaN change nothing. */
	assert_int_equal(add1(f->z, "a", 1, MQ_ZADD_NX | MQ_ZADD_XX, &res),
	    MQ_EINVAL);
	assert_int_equal(add1(f->z, "a", 1, MQ_ZADD_NX | MQ_ZADD_GT, &res),
	    MQ_EINVAL);
	assert_int_equal(add1(f->z, "a", 1, MQ_ZADD_GT | MQ_ZADD_LT, &res),
	    MQ_EINVAL);
	assert_int_equal(add1(f->z, "a", NAN, 0, &res), MQ_EINVAL);
	assert_int_equal(add1(f->z, "inf", INFINITY, 0, &res), MQ_OK);
	assert_int_equal(add1(f->z, "inf", -INFINITY, MQ_ZADD_INCR, &res),
	    MQ_EINVAL);
	assert_string_equal(dump(f->z, buf, sizeof(buf)),
	    "b:2 new:2 a:7.5 d:9 inf:inf");
}

static void
test_remove(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 1), zm("b", 2), zm("c", 3) };
	struct mq_zmember rm[] = { zm("b", 0), zm("x", 0), zm("b", 0) };
	uint64_t removed;
	mq_zset *other;
	char buf[256];

	assert_int_equal(mq_zset_add(f->z, m, 3, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	assert_int_equal(mq_zset_rem(f->z, rm, 3, &removed), MQ_OK);
	assert_int_equal(removed, 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "a:1 c:3");
	/* The last member takes the set with it. */
	assert_int_equal(mq_zset_rem(f->z, m, 3, &removed), MQ_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(card(f->z), 0);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_ENOSTREAM);
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_ENOSTREAM);
	assert_int_equal(mq_zset_rem(f->z, m, 3, &removed), MQ_OK);
	assert_int_equal(removed, 0);
	/* And it comes back with the next add. */
	assert_int_equal(add1(f->z, "again", 1, 0, NULL), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_OK);
	assert_int_equal(card(other), 1);
	/* Removed by name: the other handle sees it gone. */
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_OK);
	assert_int_equal(card(other), 0);
	assert_int_equal(card(f->z), 0);
	mq_zset_close(other);
}

static void
test_pop(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 1), zm("b", 2), zm("c", 3),
	    zm("d", 4) };
	const struct mq_zmember *out;
	size_t n;
	char buf[256];

	assert_int_equal(mq_zset_pop(f->z, 1, 0, &out, &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mq_zset_add(f->z, m, 4, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	assert_int_equal(mq_zset_pop(f->z, 1, 0, &out, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].member, "a", 1);
	assert_true(out[0].score == 1);
	assert_int_equal(mq_zset_pop(f->z, 2, 1, &out, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(out[0].member, "d", 1);
	assert_memory_equal(out[1].member, "c", 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "b:2");
	assert_int_equal(mq_zset_pop(f->z, 10, 0, &out, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].member, "b", 1);
	assert_int_equal(card(f->z), 0);
}

static void
test_ranges(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 1), zm("b", 2), zm("c", 2),
	    zm("d", 3), zm("e", INFINITY), zm("f", -INFINITY) };
	struct mq_zrange r;
	uint64_t n, rank;
	char buf[256];

	assert_int_equal(mq_zset_add(f->z, m, 6, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	r = by_score(2, 0, 3, 0);
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "b:2 c:2 d:3");
	r = by_score(2, 1, 3, 0);
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)), "d:3");
	r = by_score(1, 0, 3, 1);
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "a:1 b:2 c:2");
	r = by_score(-INFINITY, 0, INFINITY, 0);
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 6);
	r = by_score(-INFINITY, 1, INFINITY, 1);
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "a:1 b:2 c:2 d:3");
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 4);
	r = by_score(3, 0, 2, 0);	/* min above max */
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 0);
	r = by_score(2, 1, 2, 0);
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 0);
	/* Reverse, offset and count. */
	r = by_score(1, 0, 3, 0);
	r.reverse = 1;
	r.offset = 1;
	r.count = 2;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "c:2 b:2");
	r.offset = -1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)), "");
	r.offset = 0;
	r.count = 0;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)), "");
	/* By rank, negative from the end. */
	memset(&r, 0, sizeof(r));
	r.by = MQ_ZBY_RANK;
	r.start = -2;
	r.stop = -1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "d:3 e:inf");
	r.reverse = 1;
	r.start = 0;
	r.stop = 1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "e:inf d:3");
	r.start = 5;
	r.stop = 100;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)), "f:-inf");
	r.start = 3;
	r.stop = 2;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)), "");
	assert_int_equal(mq_zset_rank(f->z, "c", 1, 0, &rank), MQ_OK);
	assert_int_equal(rank, 3);
	assert_int_equal(mq_zset_rank(f->z, "c", 1, 1, &rank), MQ_OK);
	assert_int_equal(rank, 2);
	assert_int_equal(mq_zset_rank(f->z, "zz", 2, 0, &rank), MQ_ENOMSG);
	/* Removal by score, then by rank. */
	r = by_score(2, 0, 2, 0);
	assert_int_equal(mq_zset_remrange(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 2);
	memset(&r, 0, sizeof(r));
	r.by = MQ_ZBY_RANK;
	r.start = 0;
	r.stop = 0;
	assert_int_equal(mq_zset_remrange(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "a:1 d:3 e:inf");
}

static void
test_lex(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 0), zm("b", 0), zm("bb", 0),
	    zm("c", 0) };
	struct mq_zrange r;
	uint64_t n;
	char buf[256];

	assert_int_equal(mq_zset_add(f->z, m, 4, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	memset(&r, 0, sizeof(r));
	r.by = MQ_ZBY_LEX;
	r.count = -1;
	r.min.member = "b";
	r.min.len = 1;
	r.max.inf = 1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "b:0 bb:0 c:0");
	r.min.excl = 1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "bb:0 c:0");
	r.max.inf = 0;
	r.max.member = "c";
	r.max.len = 1;
	r.max.excl = 1;
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 1);
	r.min.inf = 1;		/* "+" as the minimum: nothing */
	assert_int_equal(mq_zset_count(f->z, &r, &n), MQ_OK);
	assert_int_equal(n, 0);
	r.min.inf = -1;
	r.reverse = 1;
	assert_string_equal(dump_range(f->z, &r, buf, sizeof(buf)),
	    "bb:0 b:0 a:0");
}

static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember m[] = { zm("a", 1), zm("b", 2), zm("c", 3) };
	struct mq_zmember rm[] = { zm("b", 0) };
	uint64_t removed;
	char buf[256];

	assert_int_equal(mq_zset_add(f->z, m, 3, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	assert_int_equal(mq_zset_rem(f->z, rm, 1, &removed), MQ_OK);
	assert_int_equal(add1(f->z, "a", 10, 0, NULL), MQ_OK);
	mq_zset_close(f->z);
	mq_spool_close(f->sp);
	assert_int_equal(mq_spool_open(f->dir, 0, &f->sp), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &f->z), MQ_OK);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "c:3 a:10");
	assert_string_equal(mq_zset_name(f->z), "z");
}

/*
 * A torn tail: the file cut at every byte of its last record, or that
 * record damaged, reads as the set before it; the next change cuts the
 * tail off and appends after the last whole record.
 */
static void
test_torn_tail(void **state)
{
	struct fixture *f = *state;
	char *path = zpath(f, "z"), buf[256];
	unsigned char *whole;
	off_t before, after, cut;
	mq_zset *z;
	int fd;

	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(add1(f->z, "b", 2, 0, NULL), MQ_OK);
	before = fsize(path);
	assert_int_equal(add1(f->z, "longer member", 3, 0, NULL), MQ_OK);
	after = fsize(path);
	assert_non_null(whole = malloc((size_t)after));
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, whole, (size_t)after, 0), after);
	assert_int_equal(mq_zset_valid(whole, (size_t)after), after);
	for (cut = before; cut < after; cut++) {
		assert_int_equal(mq_zset_valid(whole, (size_t)cut), before);
		assert_int_equal(ftruncate(fd, cut), 0);
		assert_int_equal(mq_zset_open(f->sp, "z", 0, &z), MQ_OK);
		assert_string_equal(dump(z, buf, sizeof(buf)), "a:1 b:2");
		mq_zset_close(z);
		assert_int_equal(pwrite(fd, whole + cut, (size_t)(after - cut),
		    cut), after - cut);
	}
	/* A flipped byte in the last record: the same. */
	whole[after - 1] ^= 0x40;
	assert_int_equal(pwrite(fd, whole + after - 1, 1, after - 1), 1);
	assert_int_equal(mq_zset_valid(whole, (size_t)after), before);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &z), MQ_OK);
	assert_string_equal(dump(z, buf, sizeof(buf)), "a:1 b:2");
	/* A change cuts the bad record and appends in its place. */
	assert_int_equal(add1(z, "c", 4, 0, NULL), MQ_OK);
	assert_string_equal(dump(z, buf, sizeof(buf)), "a:1 b:2 c:4");
	assert_true(fsize(path) < after);
	mq_zset_close(z);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &z), MQ_OK);
	assert_string_equal(dump(z, buf, sizeof(buf)), "a:1 b:2 c:4");
	mq_zset_close(z);
	/* The handle that wrote the cut record reloads. */
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "a:1 b:2 c:4");
	/* A file without a head is refused. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "garbage garbage garbage garbage", 31, 0),
	    31);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &z), MQ_OK);
	{
		uint64_t n;

		assert_int_equal(mq_zset_card(z, &n), MQ_ECORRUPT);
	}
	mq_zset_close(z);
	close(fd);
	free(whole);
	free(path);
}

/*
 * Compaction: churn on a few members keeps the log near twice their
 * size; another handle, holding the old file, reloads from the new one.
 */
static void
test_compaction(void **state)
{
	struct fixture *f = *state;
	char *path = zpath(f, "z"), buf[256], name[16];
	const struct mq_zmember *out;
	struct stat st1, st2;
	mq_zset *other;
	size_t n;
	int i;

	assert_int_equal(add1(f->z, "keep", -1, 0, NULL), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_OK);
	assert_int_equal(card(other), 1);
	assert_int_equal(stat(path, &st1), 0);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		assert_int_equal(add1(f->z, name, i, 0, NULL), MQ_OK);
		if (i % 2 == 1) {
			assert_int_equal(mq_zset_pop(f->z, 1, 1, &out, &n),
			    MQ_OK);
			assert_int_equal(n, 1);
		}
	}
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	/* 10001 members of about 32 bytes each: well under 2 MB. */
	assert_true(st2.st_size < 2 * 32 * 10001 + (64 << 10));
	assert_int_equal(card(other), 10001);
	assert_int_equal(card(f->z), 10001);
	{
		struct mq_zrange r = { .by = MQ_ZBY_RANK, .start = 0,
		    .stop = 2 };

		assert_string_equal(dump_range(other, &r, buf, sizeof(buf)),
		    "keep:-1 m0:0 m2:2");
	}
	mq_zset_close(other);
	free(path);
}

/* A member larger than the replay buffer, read back by another handle. */
static void
test_big_member(void **state)
{
	struct fixture *f = *state;
	size_t len = 300000;
	char *big = malloc(len);
	struct mq_zmember m;
	double score;
	mq_zset *other;

	assert_non_null(big);
	memset(big, 'x', len);
	big[len - 1] = 'y';
	m.member = big;
	m.len = len;
	m.score = 42;
	assert_int_equal(add1(f->z, "small", 1, 0, NULL), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_OK);
	assert_int_equal(card(other), 1);
	assert_int_equal(mq_zset_add(f->z, &m, 1, 0, &(struct mq_zadd){0}),
	    MQ_OK);
	assert_int_equal(add1(f->z, "after", 2, 0, NULL), MQ_OK);
	assert_int_equal(card(other), 3);
	assert_int_equal(mq_zset_score(other, &m, 1, &score), MQ_OK);
	assert_true(score == 42);
	m.len--;
	assert_int_equal(mq_zset_score(other, &m, 1, &score), MQ_OK);
	assert_true(isnan(score));
	mq_zset_close(other);
	free(big);
}

static int
count_z(const char *name, void *arg)
{
	assert_string_equal(name, "z");
	++*(int *)arg;
	return 0;
}

/* A name is a stream or a sorted set, never both. */
static void
test_wrongtype(void **state)
{
	struct fixture *f = *state;
	mq_stream *s;
	mq_zset *z;
	uint64_t n;
	int count = 0;

	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "s", MQ_CREATE, &z),
	    MQ_EWRONGTYPE);
	assert_int_equal(mq_zset_open(f->sp, "s", 0, &z), MQ_EWRONGTYPE);
	mq_stream_close(s);
	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "z", MQ_CREATE, &s),
	    MQ_EWRONGTYPE);
	mq_stream_close(s);
	assert_int_equal(mq_stream_open(f->sp, "z", 0, &s), MQ_EWRONGTYPE);
	/* A handle opened before the stream was made sees the type change. */
	assert_int_equal(mq_zset_open(f->sp, "t", MQ_CREATE, &z), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "t", MQ_CREATE, &s), MQ_OK);
	assert_int_equal(add1(z, "a", 1, 0, NULL), MQ_EWRONGTYPE);
	assert_int_equal(mq_zset_card(z, &n), MQ_EWRONGTYPE);
	mq_stream_close(s);
	mq_zset_close(z);
	/* Listing: the sets, not the streams. */
	assert_int_equal(mq_spool_zsets(f->sp, count_z, &count), MQ_OK);
	assert_int_equal(count, 1);
	/* Once the set is gone, the name is free for a stream. */
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "z", MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
}

static int
count_fn(const char *name, void *arg)
{
	++*(int *)arg;
	return 0;
}

/* The number of sorted sets and of streams in the spool. */
static void
keys(struct fixture *f, int *zsets, int *streams)
{
	*zsets = *streams = 0;
	assert_int_equal(mq_spool_zsets(f->sp, count_fn, zsets), MQ_OK);
	assert_int_equal(mq_spool_streams(f->sp, count_fn, streams), MQ_OK);
}

static int
same_version(struct mq_zversion a, struct mq_zversion b)
{
	return a.file == b.file && a.length == b.length;
}

static struct mq_zversion
version(mq_zset *z)
{
	struct mq_zversion v;

	assert_int_equal(mq_zset_version(z, &v), MQ_OK);
	return v;
}

/*
 * A rename moves the set; handles opened before on either name see it
 * gone from the old one and in place of what the new one had.
 */
static void
test_rename(void **state)
{
	struct fixture *f = *state;
	struct mq_zversion v0, v;
	char *zp = zpath(f, "z"), *yp = zpath(f, "y"), buf[256];
	mq_zset *other, *dst, *z;
	struct stat st;
	int nz, ns;

	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(add1(f->z, "b", 2, 0, NULL), MQ_OK);
	/* Opened before, one with its replica loaded, one on the target. */
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_OK);
	assert_int_equal(card(other), 2);
	assert_int_equal(mq_zset_open(f->sp, "y", MQ_CREATE, &dst), MQ_OK);
	assert_int_equal(card(dst), 0);
	v0 = version(other);
	assert_true(v0.length != 0);

	assert_int_equal(mq_zset_rename(f->sp, "z", "y", 0), MQ_OK);
	assert_int_equal(stat(zp, &st), -1);
	assert_int_equal(stat(yp, &st), 0);
	assert_int_equal(card(other), 0);
	assert_int_equal(card(f->z), 0);
	v = version(other);
	assert_true(v.file == 0 && v.length == 0);
	assert_string_equal(dump(dst, buf, sizeof(buf)), "a:1 b:2");
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &z), MQ_ENOSTREAM);
	keys(f, &nz, &ns);
	assert_int_equal(nz, 1);
	/* The old name is free: an add makes a new set there. */
	assert_int_equal(add1(other, "new", 9, 0, NULL), MQ_OK);
	assert_string_equal(dump(f->z, buf, sizeof(buf)), "new:9");
	assert_string_equal(dump(dst, buf, sizeof(buf)), "a:1 b:2");
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_OK);

	/* Back: the same file under the same name, yet another version. */
	assert_int_equal(mq_zset_rename(f->sp, "y", "z", 0), MQ_OK);
	v = version(other);
	assert_true(v.file == v0.file);
	assert_false(same_version(v, v0));
	assert_string_equal(dump(other, buf, sizeof(buf)), "a:1 b:2");
	assert_int_equal(card(dst), 0);

	/* Missing source, its own name, bad names. */
	assert_int_equal(mq_zset_rename(f->sp, "y", "x", 1), MQ_ENOSTREAM);
	assert_int_equal(mq_zset_rename(f->sp, "y", "y", 1), MQ_ENOSTREAM);
	assert_int_equal(mq_zset_rename(f->sp, "z", "z", 1), MQ_OK);
	assert_int_equal(mq_zset_rename(f->sp, "z", "z", 0), MQ_EEXIST);
	assert_int_equal(mq_zset_rename(f->sp, "z", "", 1), MQ_EBADNAME);
	assert_int_equal(mq_zset_rename(f->sp, "", "x", 1), MQ_EBADNAME);
	assert_string_equal(dump(other, buf, sizeof(buf)), "a:1 b:2");

	/* An existing set as the target: refused, or replaced. */
	assert_int_equal(add1(dst, "c", 3, 0, NULL), MQ_OK);
	v = version(dst);
	assert_int_equal(mq_zset_rename(f->sp, "z", "y", 0), MQ_EEXIST);
	assert_string_equal(dump(dst, buf, sizeof(buf)), "c:3");
	assert_true(same_version(v, version(dst)));
	assert_string_equal(dump(other, buf, sizeof(buf)), "a:1 b:2");
	assert_int_equal(mq_zset_rename(f->sp, "z", "y", 1), MQ_OK);
	assert_string_equal(dump(dst, buf, sizeof(buf)), "a:1 b:2");
	assert_false(same_version(v, version(dst)));
	assert_int_equal(card(other), 0);
	keys(f, &nz, &ns);
	assert_int_equal(nz, 1);

	mq_zset_close(other);
	mq_zset_close(dst);
	free(zp);
	free(yp);
}

/*
 * Renames across types replace the key of the other type: a name is
 * never both, and handles of the replaced key notice.
 */
static void
test_rename_types(void **state)
{
	struct fixture *f = *state;
	struct mq_msg msg;
	mq_stream *s, *s2;
	mq_zset *z;
	char buf[256];
	int nz, ns;

	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &s), MQ_OK);
	memset(&msg, 0, sizeof(msg));
	msg.body = "hello";
	msg.bodylen = 5;
	assert_int_equal(mq_append(s, &msg, 1, NULL, NULL), MQ_OK);
	/* Each type's rename refuses the other's key. */
	assert_int_equal(mq_zset_rename(f->sp, "s", "x", 1), MQ_EWRONGTYPE);
	assert_int_equal(mq_stream_rename(f->sp, "z", "x", 1), MQ_EWRONGTYPE);

	/* A set onto a stream: refused, or the stream is removed. */
	assert_int_equal(mq_zset_rename(f->sp, "z", "s", 0), MQ_EEXIST);
	assert_false(mq_stream_removed(s));
	assert_int_equal(mq_zset_rename(f->sp, "z", "s", 1), MQ_OK);
	assert_true(mq_stream_removed(s));
	mq_stream_close(s);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_EWRONGTYPE);
	assert_int_equal(mq_zset_open(f->sp, "s", 0, &z), MQ_OK);
	assert_string_equal(dump(z, buf, sizeof(buf)), "a:1");
	keys(f, &nz, &ns);
	assert_int_equal(nz, 1);
	assert_int_equal(ns, 0);

	/* A stream onto a set: refused, or the set is removed. */
	assert_int_equal(mq_stream_open(f->sp, "t", MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_append(s, &msg, 1, NULL, NULL), MQ_OK);
	assert_int_equal(mq_stream_rename(f->sp, "t", "s", 0), MQ_EEXIST);
	assert_int_equal(card(z), 1);
	assert_int_equal(mq_stream_rename(f->sp, "t", "s", 1), MQ_OK);
	assert_true(mq_stream_removed(s));
	mq_stream_close(s);
	assert_int_equal(mq_zset_card(z, &(uint64_t){0}), MQ_EWRONGTYPE);
	mq_zset_close(z);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s2), MQ_OK);
	mq_stream_close(s2);
	keys(f, &nz, &ns);
	assert_int_equal(nz, 0);
	assert_int_equal(ns, 1);
	/* And a stream onto a stream still replaces it. */
	assert_int_equal(mq_stream_open(f->sp, "u", MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
	assert_int_equal(mq_stream_rename(f->sp, "u", "s", 0), MQ_EEXIST);
	assert_int_equal(mq_stream_rename(f->sp, "u", "s", 1), MQ_OK);
	keys(f, &nz, &ns);
	assert_int_equal(ns, 1);
}

/*
 * Versions change with every change that changes something, by any
 * handle, and not with one that changes nothing.
 */
static void
test_version(void **state)
{
	struct fixture *f = *state;
	struct mq_zmember rm = zm("nosuch", 0);
	struct mq_zversion v, none = { 0, 0 };
	const struct mq_zmember *out;
	uint64_t removed;
	mq_zset *other;
	size_t n;

	assert_true(same_version(none, version(f->z)));
	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(mq_zset_open(f->sp, "z", 0, &other), MQ_OK);
	v = version(other);
	assert_false(same_version(v, none));
	assert_true(same_version(v, version(f->z)));
	/* Nothing changes: the same score, a non-member, an empty range. */
	assert_int_equal(add1(f->z, "a", 1, 0, NULL), MQ_OK);
	assert_int_equal(add1(f->z, "a", 0, MQ_ZADD_INCR, NULL), MQ_OK);
	assert_int_equal(add1(f->z, "b", 5, MQ_ZADD_XX, NULL), MQ_OK);
	assert_int_equal(mq_zset_rem(f->z, &rm, 1, &removed), MQ_OK);
	{
		struct mq_zrange r = by_score(10, 0, 20, 0);

		assert_int_equal(mq_zset_remrange(f->z, &r, &removed), MQ_OK);
		assert_int_equal(removed, 0);
	}
	assert_true(same_version(v, version(other)));
	/* Each change shows, to the other handle too. */
	assert_int_equal(add1(f->z, "a", 2, 0, NULL), MQ_OK);
	assert_false(same_version(v, version(other)));
	v = version(other);
	assert_int_equal(add1(f->z, "b", 1, 0, NULL), MQ_OK);
	assert_false(same_version(v, version(other)));
	v = version(other);
	assert_int_equal(mq_zset_pop(f->z, 1, 0, &out, &n), MQ_OK);
	assert_false(same_version(v, version(other)));
	/*
	 * Removed and made again just as it was: the same bytes, maybe the
	 * same inode number, but another nonce.
	 */
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_OK);
	assert_true(same_version(none, version(other)));
	assert_int_equal(add1(f->z, "a", 2, 0, NULL), MQ_OK);
	v = version(other);
	assert_int_equal(mq_zset_remove(f->sp, "z"), MQ_OK);
	assert_int_equal(add1(f->z, "a", 2, 0, NULL), MQ_OK);
	assert_int_equal(card(other), 1);
	assert_int_equal(version(other).length, v.length);
	assert_false(same_version(v, version(other)));
	mq_zset_close(other);
}

/* Names are encoded as for streams. */
static void
test_names(void **state)
{
	struct fixture *f = *state;
	char *path = zpath(f, "a%2Fb%20c");
	mq_zset *z;
	struct stat st;

	assert_int_equal(mq_zset_open(f->sp, "a/b c", MQ_CREATE, &z), MQ_OK);
	assert_int_equal(add1(z, "m", 1, 0, NULL), MQ_OK);
	assert_int_equal(stat(path, &st), 0);
	mq_zset_close(z);
	assert_int_equal(mq_zset_open(f->sp, "", MQ_CREATE, &z), MQ_EBADNAME);
	free(path);
}

/*
 * A random walk of adds, updates, removals and pops, after each step
 * compared with a plain array kept sorted: order, ranks and counts.
 */
struct ref {
	char	 name[8];
	double	 score;
};

static int
ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
test_random(void **state)
{
	struct fixture *f = *state;
	struct ref ref[64];
	size_t nref = 0, i, j, n;
	const struct mq_zmember *out;
	struct mq_zrange r;
	uint64_t rank, cnt;
	int step;

	srandom(7);
	for (step = 0; step < 3000; step++) {
		struct ref e;
		int op = (int)(random() % 10);

		snprintf(e.name, sizeof(e.name), "k%ld", random() % 48);
		e.score = (double)(random() % 8);
		for (j = 0; j < nref && strcmp(ref[j].name, e.name) != 0; j++)
			;
		if (op < 6) {
			assert_int_equal(add1(f->z, e.name, e.score, 0, NULL),
			    MQ_OK);
			if (j == nref)
				ref[nref++] = e;
			else
				ref[j].score = e.score;
		} else if (op < 8) {
			struct mq_zmember m = zm(e.name, 0);
			uint64_t removed;

			assert_int_equal(mq_zset_rem(f->z, &m, 1, &removed),
			    MQ_OK);
			assert_int_equal(removed, j < nref);
			if (j < nref)
				ref[j] = ref[--nref];
		} else {
			qsort(ref, nref, sizeof(ref[0]), ref_cmp);
			assert_int_equal(mq_zset_pop(f->z, 2, op == 9, &out,
			    &n), MQ_OK);
			assert_int_equal(n, nref < 2 ? nref : 2);
			for (i = 0; i < n; i++) {
				size_t k = op == 9 ? nref - 1 - i : i;

				assert_int_equal(out[i].len,
				    strlen(ref[k].name));
				assert_memory_equal(out[i].member, ref[k].name,
				    out[i].len);
			}
			if (op == 9)
				nref -= n;
			else {
				memmove(ref, ref + n, (nref - n) * sizeof(*ref));
				nref -= n;
			}
		}
		qsort(ref, nref, sizeof(ref[0]), ref_cmp);
		assert_int_equal(card(f->z), nref);
		for (i = 0; i < nref; i++) {
			assert_int_equal(mq_zset_rank(f->z, ref[i].name,
			    strlen(ref[i].name), 0, &rank), MQ_OK);
			assert_int_equal(rank, i);
		}
		memset(&r, 0, sizeof(r));
		r.by = MQ_ZBY_RANK;
		r.start = 0;
		r.stop = -1;
		assert_int_equal(mq_zset_range(f->z, &r, &out, &n), MQ_OK);
		assert_int_equal(n, nref);
		for (i = 0; i < n; i++)
			assert_memory_equal(out[i].member, ref[i].name,
			    out[i].len);
		r = by_score(2, 0, 5, 1);
		for (i = cnt = 0; i < nref; i++)
			cnt += ref[i].score >= 2 && ref[i].score < 5;
		assert_int_equal(mq_zset_count(f->z, &r, &rank), MQ_OK);
		assert_int_equal(rank, cnt);
	}
}

/*
 * Two processes, each with its own spool handle, add members of their
 * own and pop at once: every member is popped once at most, and what
 * is left plus what was popped is exactly what was added.
 */
#define PROCS	2
#define EACH	400

static void
worker(const char *dir, int id, int out)
{
	const struct mq_zmember *m;
	mq_spool *sp;
	mq_zset *z;
	char name[32];
	size_t n, i;
	int k;

	if (mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    mq_zset_open(sp, "shared", MQ_CREATE, &z) != MQ_OK)
		_exit(2);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	for (k = 0; k < EACH; k++) {
		struct mq_zadd res;
		struct mq_zmember add;

		snprintf(name, sizeof(name), "p%d-%d", id, k);
		add.member = name;
		add.len = strlen(name);
		add.score = k;
		if (mq_zset_add(z, &add, 1, MQ_ZADD_NX, &res) != MQ_OK ||
		    res.added != 1)
			_exit(3);
		if (k % 3 == 0) {
			if (mq_zset_pop(z, 2, 0, &m, &n) != MQ_OK)
				_exit(4);
			for (i = 0; i < n; i++) {
				if (write(out, m[i].member, m[i].len) !=
				    (ssize_t)m[i].len || write(out, "\n", 1) != 1)
					_exit(5);
			}
		}
	}
	mq_zset_close(z);
	mq_spool_close(sp);
	_exit(0);
}

static void
test_processes(void **state)
{
	struct fixture *f = *state;
	const struct mq_zmember *m;
	char path[PROCS][4096], line[64], seen[PROCS][EACH];
	pid_t pid[PROCS];
	size_t n, i, total = 0;
	int p, st, fd;
	FILE *fp;

	memset(seen, 0, sizeof(seen));
	for (p = 0; p < PROCS; p++) {
		snprintf(path[p], sizeof(path[p]), "%s/popped.%d", f->dir, p);
		assert_true((fd = open(path[p], O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) >= 0);
		assert_true((pid[p] = fork()) >= 0);
		if (pid[p] == 0)
			worker(f->dir, p, fd);
		close(fd);
	}
	for (p = 0; p < PROCS; p++) {
		assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (p = 0; p < PROCS; p++) {
		assert_non_null(fp = fopen(path[p], "r"));
		while (fgets(line, sizeof(line), fp) != NULL) {
			int who, k;

			assert_int_equal(sscanf(line, "p%d-%d", &who, &k), 2);
			assert_false(seen[who][k]);
			seen[who][k] = 1;
			total++;
		}
		fclose(fp);
	}
	{
		mq_zset *z;

		assert_int_equal(mq_zset_open(f->sp, "shared", 0, &z), MQ_OK);
		assert_int_equal(mq_zset_pop(z, PROCS * EACH, 0, &m, &n),
		    MQ_OK);
		for (i = 0; i < n; i++) {
			int who, k;

			snprintf(line, sizeof(line), "%.*s", (int)m[i].len,
			    (const char *)m[i].member);
			assert_int_equal(sscanf(line, "p%d-%d", &who, &k), 2);
			assert_false(seen[who][k]);
			seen[who][k] = 1;
			total++;
		}
		mq_zset_close(z);
	}
	assert_int_equal(total, PROCS * EACH);
}

/*
 * Two processes rename sets and streams onto each other's names, with
 * replace, over and over: the locks are taken in one order, so neither
 * waits for the other for ever (an alarm fails the test), and no name
 * ever ends up both a stream and a sorted set.
 */
static void
rename_worker(const char *dir, int id)
{
	const char *mine = id ? "p1" : "p0", *theirs = id ? "p0" : "p1";
	const char *stream = id ? "s1" : "s0";
	mq_spool *sp;
	mq_stream *s;
	mq_zset *z;
	int k, rc;

	alarm(30);
	if (mq_spool_open(dir, 0, &sp) != MQ_OK)
		_exit(2);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	for (k = 0; k < 2000; k++) {
		rc = mq_zset_open(sp, mine, MQ_CREATE, &z);
		if (rc == MQ_OK) {
			rc = add1(z, "m", k, 0, NULL);
			mq_zset_close(z);
		}
		if (rc != MQ_OK && rc != MQ_EWRONGTYPE)
			_exit(3);
		rc = mq_zset_rename(sp, mine, theirs, 1);
		if (rc != MQ_OK && rc != MQ_ENOSTREAM && rc != MQ_EWRONGTYPE)
			_exit(4);
		if (k % 20 != 0)
			continue;
		if (mq_stream_open(sp, stream, MQ_CREATE, &s) != MQ_OK)
			_exit(5);
		mq_stream_close(s);
		rc = mq_stream_rename(sp, stream, k % 40 ? mine : theirs, 1);
		if (rc != MQ_OK && rc != MQ_ENOSTREAM)
			_exit(6);
	}
	mq_spool_close(sp);
	_exit(0);
}

static void
test_rename_processes(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "p0", "p1" };
	struct stat st1, st2;
	char path[4096];
	pid_t pid[2];
	int p, st, i;

	for (p = 0; p < 2; p++) {
		assert_true((pid[p] = fork()) >= 0);
		if (pid[p] == 0)
			rename_worker(f->dir, p);
	}
	for (p = 0; p < 2; p++) {
		assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/zsets/%s", f->dir, names[i]);
		st = stat(path, &st1) == 0;
		snprintf(path, sizeof(path), "%s/streams/%s", f->dir, names[i]);
		assert_false(st && stat(path, &st2) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_types, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_processes, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
