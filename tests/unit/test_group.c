/*
 * test_group.c - consumer groups: create/destroy, reads of new entries
 * and of history, acks, nacks and redelivery, claims, pending lists and
 * info as Redis 7 reports them; the journal (replay, torn tails at every
 * byte, compaction) and the policy (delivery limit, TTL, reject) ending
 * in the dead-letter stream; two handles and three processes sharing one
 * group without ever getting the same entry.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>

#include "helpers.h"
#include "internal.h"
#include "mq.h"

struct fixture {
	char		*dir;
	mq_spool	*sp;
	mq_stream	*s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	mq_spool_set_fsync(f->sp, MQ_FSYNC_NEVER, 0);
	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &f->s), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_stream_close(f->s);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static mq_id
id(uint64_t ms, uint64_t seq)
{
	mq_id i = { ms, seq };

	return i;
}

static const mq_id zero = { 0, 0 };

#define assert_id(got, want) do {					\
	mq_id g_ = (got), w_ = (want);					\
	if (mq_id_cmp(g_, w_) != 0)					\
		fail_msg("got %ju-%ju, want %ju-%ju", (uintmax_t)g_.ms,	\
		    (uintmax_t)g_.seq, (uintmax_t)w_.ms, (uintmax_t)w_.seq); \
} while (0)

/*
 * Appends entries with ids from-0 .. to-0 (inclusive), body "m<ms>",
 * header "h" = "v<ms>" and key "k", in batches of up to 256.
 */
static void
add(mq_stream *s, uint64_t from, uint64_t to)
{
	static struct mq_header h[256];
	static char bodies[256][32], vals[256][32];
	struct mq_idspec spec[256];
	struct mq_msg m[256];
	uint64_t i = from;
	size_t k;

	while (i <= to) {
		for (k = 0; k < 256 && i <= to; k++, i++) {
			memset(&m[k], 0, sizeof(m[k]));
			snprintf(bodies[k], sizeof(bodies[k]), "m%ju", (uintmax_t)i);
			snprintf(vals[k], sizeof(vals[k]), "v%ju", (uintmax_t)i);
			h[k].name = "h";
			h[k].namelen = 1;
			h[k].value = vals[k];
			h[k].valuelen = strlen(vals[k]);
			m[k].headers = &h[k];
			m[k].nheaders = 1;
			m[k].key = "k";
			m[k].keylen = 1;
			m[k].body = bodies[k];
			m[k].bodylen = strlen(bodies[k]);
			spec[k].kind = MQ_ID_EXPLICIT;
			spec[k].id = id(i, 0);
		}
		assert_int_equal(mq_append(s, m, k, spec, NULL), MQ_OK);
	}
}

/* Checks that 'm' is the entry add() made for 'ms'. */
static void
assert_entry(const struct mq_msg *m, uint64_t ms)
{
	char want[32];

	assert_id(m->id, id(ms, 0));
	snprintf(want, sizeof(want), "m%ju", (uintmax_t)ms);
	assert_int_equal(m->bodylen, strlen(want));
	assert_memory_equal(m->body, want, m->bodylen);
	assert_int_equal(m->nheaders, 1);
	assert_memory_equal(m->headers[0].name, "h", 1);
	snprintf(want, sizeof(want), "v%ju", (uintmax_t)ms);
	assert_int_equal(m->headers[0].valuelen, strlen(want));
	assert_memory_equal(m->headers[0].value, want, strlen(want));
	assert_int_equal(m->keylen, 1);
	assert_memory_equal(m->key, "k", 1);
}

/* Reads up to 'count' new entries; returns how many. */
static size_t
rd(mq_group *g, const char *consumer, size_t count, struct mq_msg *msgs)
{
	size_t n = 99;

	assert_int_equal(mq_group_read(g, consumer, count, 0, msgs, &n), MQ_OK);
	assert_true(n <= count);
	return n;
}

static size_t
ack1(mq_group *g, mq_id i)
{
	size_t n = 99;

	assert_int_equal(mq_group_ack(g, &i, 1, &n), MQ_OK);
	return n;
}

/* The pending entry 'i', which must exist. */
static struct mq_pending
pend(mq_group *g, mq_id i)
{
	struct mq_pending p;
	size_t n;

	assert_int_equal(mq_group_pending(g, i, i, 1, NULL, 0, &p, &n), MQ_OK);
	if (n != 1)
		fail_msg("%ju-%ju is not pending", (uintmax_t)i.ms,
		    (uintmax_t)i.seq);
	return p;
}

static int
is_pending(mq_group *g, mq_id i)
{
	struct mq_pending p;
	size_t n;

	assert_int_equal(mq_group_pending(g, i, i, 1, NULL, 0, &p, &n), MQ_OK);
	return n == 1;
}

static struct mq_group_info
info(mq_group *g)
{
	struct mq_group_info gi;

	assert_int_equal(mq_group_info(g, &gi), MQ_OK);
	return gi;
}

/* The path of the journal of group 'name' (no encoding needed). */
static void
journal_path(struct fixture *f, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/streams/s/groups/%s", f->dir, name);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ------------------------------------------------------------------
 * Creating and destroying
 * ---------------------------------------------------------------- */

static int
collect_name(const char *name, void *arg)
{
	char *buf = arg;

	strlcat(buf, name, 256);
	strlcat(buf, "|", 256);
	return 0;
}

static void
test_create(void **state)
{
	struct fixture *f = *state;
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	char names[256] = "", path[PATH_MAX], path2[PATH_MAX];
	struct mq_group_info gi;
	struct mq_msg m[8];
	mq_group *g0, *gl;
	int fd;

	add(f->s, 1, 3);
	assert_int_equal(mq_group_create(f->s, "g0", zero, -1), MQ_OK);
	assert_int_equal(mq_group_create(f->s, "g0", zero, -1), MQ_EEXIST);
	assert_int_equal(mq_group_create(f->s, "last", MQ_ID_LAST, -1), MQ_OK);
	assert_int_equal(mq_group_create(f->s, "", zero, -1), MQ_EBADNAME);
	assert_int_equal(mq_group_create(f->s, "x", zero, -2), MQ_EINVAL);
	assert_int_equal(mq_group_open(f->s, "nope", &g0), MQ_ENOGROUP);
	assert_null(g0);

	assert_int_equal(mq_group_open(f->s, "g0", &g0), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "last", &gl), MQ_OK);

	/* Redis: entries-read nil, lag from the stream's counters. */
	gi = info(g0);
	assert_string_equal(gi.name, "g0");
	assert_id(gi.last_delivered, zero);
	assert_int_equal(gi.entries_read, -1);
	assert_int_equal(gi.lag, 3);
	assert_int_equal(gi.pending, 0);
	assert_int_equal(gi.consumers, 0);
	gi = info(gl);
	assert_id(gi.last_delivered, id(3, 0));
	assert_int_equal(gi.lag, 0);

	/* At 0-0 everything comes; at $ only what is appended later. */
	assert_int_equal(rd(g0, "a", 8, m), 3);
	assert_entry(&m[0], 1);
	assert_entry(&m[2], 3);
	assert_int_equal(rd(gl, "a", 8, m), 0);
	add(f->s, 4, 4);
	assert_int_equal(rd(gl, "a", 8, m), 1);
	assert_entry(&m[0], 4);
	assert_int_equal(rd(g0, "a", 8, m), 1);
	assert_entry(&m[0], 4);

	gi = info(g0);
	assert_id(gi.last_delivered, id(4, 0));
	{
		mq_id cursor;

		assert_int_equal(mq_group_cursor(g0, &cursor), MQ_OK);
		assert_id(cursor, id(4, 0));
	}
	assert_int_equal(gi.entries_read, 4);
	assert_int_equal(gi.lag, 0);
	assert_int_equal(gi.pending, 4);
	assert_int_equal(gi.consumers, 1);
	assert_id(gi.pending_min, id(1, 0));
	assert_id(gi.pending_max, id(4, 0));

	/*
	 * Temporaries of a create or a compaction are not groups; those a
	 * dead process left are removed by the next create.
	 */
	snprintf(path, sizeof(path), "%s/streams/s/groups/.tmp.1.stale",
	    f->dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	snprintf(path2, sizeof(path2), "%s/streams/s/groups/.tmp.2.busy",
	    f->dir);
	assert_true((fd = open(path2, O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);

	/* Names with bytes that are encoded on disk, listed in order. */
	assert_int_equal(mq_group_create(f->s, "a.b/c", zero, -1), MQ_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(path2, F_OK), 0);
	assert_int_equal(mq_group_create(f->s, "..", zero, 0), MQ_OK);
	assert_int_equal(mq_stream_groups(f->s, collect_name, names), MQ_OK);
	assert_string_equal(names, "..|a.b/c|g0|last|");
	assert_int_equal(mq_group_destroy(f->s, "a.b/c"), MQ_OK);
	assert_int_equal(mq_group_destroy(f->s, "a.b/c"), MQ_ENOGROUP);
	names[0] = '\0';
	assert_int_equal(mq_stream_groups(f->s, collect_name, names), MQ_OK);
	assert_string_equal(names, "..|g0|last|");

	mq_group_close(g0);
	mq_group_close(gl);
}

static void
test_no_groups(void **state)
{
	struct fixture *f = *state;
	char names[256] = "";

	assert_int_equal(mq_stream_groups(f->s, collect_name, names), MQ_OK);
	assert_string_equal(names, "");
	assert_int_equal(mq_group_destroy(f->s, "g"), MQ_ENOGROUP);
}

static void
test_destroy_while_open(void **state)
{
	struct fixture *f = *state;
	struct mq_group_info gi;
	struct mq_msg m[4];
	mq_group *g, *g2;
	size_t n;

	add(f->s, 1, 4);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "a", 2, m), 2);
	assert_int_equal(mq_group_destroy(f->s, "g"), MQ_OK);

	assert_int_equal(mq_group_read(g, "a", 2, 0, m, &n), MQ_ENOGROUP);
	assert_int_equal(n, 0);
	assert_int_equal(mq_group_info(g, &gi), MQ_ENOGROUP);
	assert_int_equal(mq_group_ack(g, &m[0].id, 1, &n), MQ_ENOGROUP);

	/* A new group of the same name is another group. */
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_read(g, "a", 2, 0, m, &n), MQ_ENOGROUP);
	assert_int_equal(mq_group_info(g, &gi), MQ_ENOGROUP);
	assert_int_equal(mq_group_open(f->s, "g", &g2), MQ_OK);
	assert_int_equal(rd(g2, "a", 4, m), 4);
	assert_entry(&m[0], 1);
	mq_group_close(g2);
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Reading, acks, nacks
 * ---------------------------------------------------------------- */

static void
test_read_history_ack(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	struct mq_pending p[8];
	mq_id ids[3];
	mq_group *g;
	size_t n;

	add(f->s, 1, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "alice", 3, m), 3);
	assert_int_equal(rd(g, "bob", 8, m), 2);
	assert_entry(&m[0], 4);
	assert_entry(&m[1], 5);
	assert_int_equal(rd(g, "bob", 8, m), 0);

	assert_int_equal(pend(g, id(1, 0)).count, 1);
	assert_string_equal(pend(g, id(1, 0)).consumer, "alice");
	assert_string_equal(pend(g, id(5, 0)).consumer, "bob");

	/* History: her own pending entries after an id; each is a delivery. */
	assert_int_equal(mq_group_history(g, "alice", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 3);
	assert_entry(&m[0], 1);
	assert_entry(&m[2], 3);
	assert_int_equal(mq_group_history(g, "alice", id(1, 0), 1, m, &n),
	    MQ_OK);
	assert_int_equal(n, 1);
	assert_entry(&m[0], 2);
	assert_int_equal(pend(g, id(1, 0)).count, 2);
	assert_int_equal(pend(g, id(2, 0)).count, 3);
	assert_int_equal(pend(g, id(3, 0)).count, 2);
	assert_int_equal(mq_group_history(g, "carol", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 0);

	/* Acks count what was pending, once. */
	ids[0] = id(1, 0);
	ids[1] = id(4, 0);
	ids[2] = id(9, 0);
	assert_int_equal(mq_group_ack(g, ids, 3, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_group_ack(g, ids, 3, &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mq_group_history(g, "alice", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_entry(&m[0], 2);

	/* A deleted entry comes back in history as an id without a body. */
	ids[0] = id(2, 0);
	assert_int_equal(mq_delete(f->s, ids, 1, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mq_group_history(g, "alice", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_id(m[0].id, id(2, 0));
	assert_null(m[0].body);
	assert_int_equal(m[0].nheaders, 0);
	assert_entry(&m[1], 3);
	assert_true(is_pending(g, id(2, 0)));

	/* The extended XPENDING: range, consumer, count. */
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 8, NULL, 0, p,
	    &n), MQ_OK);
	assert_int_equal(n, 3);
	assert_id(p[0].id, id(2, 0));
	assert_id(p[2].id, id(5, 0));
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 8, "bob", 0, p,
	    &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_id(p[0].id, id(5, 0));
	assert_int_equal(mq_group_pending(g, id(3, 0), MQ_ID_LAST, 1, NULL, 0,
	    p, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_id(p[0].id, id(3, 0));
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 8, "nobody", 0,
	    p, &n), MQ_OK);
	assert_int_equal(n, 0);
	mq_group_close(g);
}

static void
test_noack_and_setid(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	mq_group *g;
	size_t n;

	add(f->s, 1, 4);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_read(g, "a", 3, 1, m, &n), MQ_OK);
	assert_int_equal(n, 3);
	assert_entry(&m[2], 3);
	assert_int_equal(info(g).pending, 0);
	assert_id(info(g).last_delivered, id(3, 0));
	assert_int_equal(info(g).entries_read, 3);

	/* SETID back: the entries are new again (and pending, count 1). */
	assert_int_equal(mq_group_setid(g, zero, 0), MQ_OK);
	assert_int_equal(rd(g, "b", 8, m), 4);
	assert_entry(&m[0], 1);
	assert_int_equal(pend(g, id(1, 0)).count, 1);
	assert_int_equal(mq_group_setid(g, id(2, 0), -1), MQ_OK);
	assert_int_equal(rd(g, "c", 8, m), 2);
	assert_entry(&m[0], 3);
	assert_string_equal(pend(g, id(3, 0)).consumer, "c");
	assert_int_equal(pend(g, id(3, 0)).count, 1);
	assert_int_equal(info(g).pending, 4);

	/* A cursor set ahead of the stream: entries up to it are skipped. */
	assert_int_equal(mq_group_setid(g, id(10, 0), -1), MQ_OK);
	add(f->s, 5, 12);
	assert_int_equal(rd(g, "c", 8, m), 2);
	assert_entry(&m[0], 11);
	assert_entry(&m[1], 12);
	assert_int_equal(mq_group_setid(g, MQ_ID_LAST, -1), MQ_OK);
	assert_id(info(g).last_delivered, id(12, 0));
	mq_group_close(g);
}

static void
test_nack_redelivery(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	mq_id ids[3];
	mq_group *g;
	size_t n;

	add(f->s, 1, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "alice", 5, m), 5);

	ids[0] = id(4, 0);
	ids[1] = id(2, 0);
	ids[2] = id(7, 0);
	assert_int_equal(mq_group_nack(g, ids, 3, 0, 0, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_string_equal(pend(g, id(2, 0)).consumer, "");
	assert_int_equal(pend(g, id(2, 0)).count, 1);
	assert_int_equal(info(g).pending, 5);

	/* Handed back entries first, in id order, then new ones. */
	add(f->s, 6, 7);
	assert_int_equal(rd(g, "bob", 3, m), 3);
	assert_entry(&m[0], 2);
	assert_entry(&m[1], 4);
	assert_entry(&m[2], 6);
	assert_string_equal(pend(g, id(2, 0)).consumer, "bob");
	assert_int_equal(pend(g, id(2, 0)).count, 2);
	assert_int_equal(pend(g, id(4, 0)).count, 2);
	assert_int_equal(pend(g, id(6, 0)).count, 1);
	assert_int_equal(rd(g, "bob", 3, m), 1);
	assert_entry(&m[0], 7);

	/* A handed back entry that was deleted is dropped, not delivered. */
	ids[0] = id(1, 0);
	ids[1] = id(3, 0);
	assert_int_equal(mq_group_nack(g, ids, 2, 0, 0, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_delete(f->s, ids, 1, &n), MQ_OK);
	assert_int_equal(rd(g, "carol", 8, m), 1);
	assert_entry(&m[0], 3);
	assert_false(is_pending(g, id(1, 0)));
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Claims
 * ---------------------------------------------------------------- */

static void
test_claim(void **state)
{
	struct fixture *f = *state;
	struct mq_pending p[8];
	struct mq_msg m[8];
	mq_id ids[4], out[4];
	mq_group *g;
	int64_t old;
	size_t n;

	add(f->s, 1, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "alice", 4, m), 4);

	/* Make 1-0 and 2-0 idle for a minute (TIME, JUSTID: no count). */
	old = mq_now_ms() - 60000;
	ids[0] = id(1, 0);
	ids[1] = id(2, 0);
	assert_int_equal(mq_group_claim(g, "alice", 0, ids, 2, old, -1,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pend(g, id(1, 0)).count, 1);
	assert_int_equal(pend(g, id(1, 0)).delivered_ms, old);

	/* Only idle ones move, and a claim counts a delivery. */
	ids[2] = id(3, 0);
	ids[3] = id(9, 0);
	assert_int_equal(mq_group_claim(g, "bob", 30000, ids, 4, -1, -1, 0,
	    out, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_id(out[0], id(1, 0));
	assert_id(out[1], id(2, 0));
	assert_string_equal(pend(g, id(1, 0)).consumer, "bob");
	assert_int_equal(pend(g, id(1, 0)).count, 2);
	assert_true(pend(g, id(1, 0)).delivered_ms > old);
	assert_string_equal(pend(g, id(3, 0)).consumer, "alice");
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 8, NULL, 30000,
	    p, &n), MQ_OK);
	assert_int_equal(n, 0);

	/* RETRYCOUNT sets the count; a future TIME is now. */
	assert_int_equal(mq_group_claim(g, "carol", 0, &ids[2], 1,
	    mq_now_ms() + 100000, 7, 0, out, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pend(g, id(3, 0)).count, 7);
	assert_true(pend(g, id(3, 0)).delivered_ms <= mq_now_ms());

	/* FORCE creates a pending entry for an existing id only. */
	ids[0] = id(5, 0);
	ids[1] = id(6, 0);
	assert_int_equal(mq_group_claim(g, "dave", 0, ids, 2, -1, -1, 0, out,
	    &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mq_group_claim(g, "dave", 0, ids, 2, -1, -1,
	    MQ_CLAIM_FORCE | MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_id(out[0], id(5, 0));
	assert_string_equal(pend(g, id(5, 0)).consumer, "dave");
	assert_int_equal(pend(g, id(5, 0)).count, 1);

	/* A claim drops pending entries whose message was deleted. */
	ids[0] = id(4, 0);
	assert_int_equal(mq_delete(f->s, ids, 1, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mq_group_claim(g, "bob", 0, ids, 1, -1, -1, 0, out,
	    &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_false(is_pending(g, id(4, 0)));
	assert_int_equal(mq_group_claim(g, "", 0, ids, 1, -1, -1, 0, out, &n),
	    MQ_EBADNAME);
	mq_group_close(g);
}

static void
test_autoclaim(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[16];
	mq_id ids[16], out[16], del[16], next;
	size_t n, nd, i;
	mq_group *g;
	int64_t old;

	add(f->s, 1, 10);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "alice", 10, m), 10);
	/* Odd ids idle for a minute. */
	old = mq_now_ms() - 60000;
	for (i = 0; i < 5; i++)
		ids[i] = id(2 * i + 1, 0);
	assert_int_equal(mq_group_claim(g, "alice", 0, ids, 5, old, -1,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(n, 5);
	ids[0] = id(5, 0);
	assert_int_equal(mq_delete(f->s, ids, 1, &n), MQ_OK);

	/* Two at a time: 1, 3; then 5 (deleted, counts) and 7; then 9. */
	assert_int_equal(mq_group_autoclaim(g, "bob", 30000, zero, 2, 0, out,
	    &n, &next, del, &nd), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(nd, 0);
	assert_id(out[0], id(1, 0));
	assert_id(out[1], id(3, 0));
	assert_id(next, id(4, 0));
	assert_int_equal(pend(g, id(1, 0)).count, 2);
	assert_string_equal(pend(g, id(3, 0)).consumer, "bob");

	assert_int_equal(mq_group_autoclaim(g, "bob", 30000, next, 2, 0, out,
	    &n, &next, del, &nd), MQ_OK);
	assert_int_equal(n, 1);
	assert_id(out[0], id(7, 0));
	assert_int_equal(nd, 1);
	assert_id(del[0], id(5, 0));
	assert_id(next, id(8, 0));
	assert_false(is_pending(g, id(5, 0)));

	assert_int_equal(mq_group_autoclaim(g, "bob", 30000, next, 2,
	    MQ_CLAIM_JUSTID, out, &n, &next, del, &nd), MQ_OK);
	assert_int_equal(n, 1);
	assert_id(out[0], id(9, 0));
	assert_int_equal(pend(g, id(9, 0)).count, 1);
	assert_id(next, zero);

	/* Without an idle filter everything moves; count bounds the work. */
	assert_int_equal(mq_group_autoclaim(g, "carol", 0, zero, 16, 0, out,
	    &n, &next, del, &nd), MQ_OK);
	assert_int_equal(n, 9);
	assert_id(next, zero);
	assert_int_equal(info(g).pending, 9);
	assert_int_equal(mq_group_autoclaim(g, "carol", 0, zero, 0, 0, out,
	    &n, &next, del, &nd), MQ_EINVAL);
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Consumers
 * ---------------------------------------------------------------- */

struct seen {
	char		 names[256];
	uint64_t	 pending[8];
	int64_t		 active[8];
	int		 n;
};

static int
collect_consumer(const struct mq_consumer_info *c, void *arg)
{
	struct seen *s = arg;

	strlcat(s->names, c->name, sizeof(s->names));
	strlcat(s->names, "|", sizeof(s->names));
	s->pending[s->n] = c->pending;
	s->active[s->n] = c->active_ms;
	s->n++;
	return 0;
}

static void
test_consumers(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	struct seen s;
	uint64_t np;
	mq_group *g;

	add(f->s, 1, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_consumer_create(g, "zed"), 1);
	assert_int_equal(mq_group_consumer_create(g, "zed"), 0);
	assert_int_equal(mq_group_consumer_create(g, ""), MQ_EBADNAME);
	assert_int_equal(rd(g, "bob", 2, m), 2);
	assert_int_equal(rd(g, "amy", 3, m), 3);

	memset(&s, 0, sizeof(s));
	assert_int_equal(mq_group_consumers(g, collect_consumer, &s), MQ_OK);
	assert_string_equal(s.names, "amy|bob|zed|");
	assert_int_equal(s.pending[0], 3);
	assert_int_equal(s.pending[1], 2);
	assert_int_equal(s.pending[2], 0);
	assert_true(s.active[0] > 0);
	assert_int_equal(s.active[2], -1);

	/* Deleting a consumer deletes its pending entries. */
	assert_int_equal(mq_group_consumer_delete(g, "amy", &np), MQ_OK);
	assert_int_equal(np, 3);
	assert_int_equal(mq_group_consumer_delete(g, "amy", &np), MQ_OK);
	assert_int_equal(np, 0);
	assert_int_equal(info(g).pending, 2);
	assert_int_equal(info(g).consumers, 2);
	assert_false(is_pending(g, id(3, 0)));
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Sharing: two handles, the journal, compaction
 * ---------------------------------------------------------------- */

static void
test_two_handles(void **state)
{
	struct fixture *f = *state;
	unsigned char seen[301] = { 0 };
	struct mq_msg m[7];
	mq_group *g1, *g2;
	size_t n, i, total = 0, turn = 0;

	add(f->s, 1, 300);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g2), MQ_OK);
	for (;;) {
		mq_group *g = turn++ % 3 == 0 ? g2 : g1;

		if ((n = rd(g, g == g1 ? "one" : "two", 7, m)) == 0 &&
		    (n = rd(g == g1 ? g2 : g1, "x", 7, m)) == 0)
			break;
		for (i = 0; i < n; i++) {
			assert_true(m[i].id.ms >= 1 && m[i].id.ms <= 300);
			assert_int_equal(seen[m[i].id.ms], 0);
			seen[m[i].id.ms] = 1;
			assert_entry(&m[i], m[i].id.ms);
		}
		total += n;
		if (turn % 2)
			assert_int_equal(mq_group_ack(g, &m[0].id, 1, &n), MQ_OK);
	}
	assert_int_equal(total, 300);
	assert_int_equal(info(g1).pending, info(g2).pending);
	assert_id(info(g1).last_delivered, id(300, 0));
	assert_id(info(g2).last_delivered, id(300, 0));
	mq_group_close(g1);
	mq_group_close(g2);
}

/* A printable dump of the state: cursor, pending entries, consumers. */
static void
dump(mq_group *g, char *buf, size_t size)
{
	static struct mq_pending p[64];
	struct mq_group_info gi = info(g);
	struct seen s;
	char line[256];
	size_t n, i;

	snprintf(buf, size, "cursor %ju-%ju read %jd pending %ju consumers %ju\n",
	    (uintmax_t)gi.last_delivered.ms, (uintmax_t)gi.last_delivered.seq,
	    (intmax_t)gi.entries_read, (uintmax_t)gi.pending,
	    (uintmax_t)gi.consumers);
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 64, NULL, 0, p,
	    &n), MQ_OK);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%ju-%ju %s %jd %ju\n",
		    (uintmax_t)p[i].id.ms, (uintmax_t)p[i].id.seq,
		    p[i].consumer, (intmax_t)p[i].delivered_ms,
		    (uintmax_t)p[i].count);
		strlcat(buf, line, size);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(mq_group_consumers(g, collect_consumer, &s), MQ_OK);
	strlcat(buf, s.names, size);
}

static int
consumer_attached(const struct mq_consumer_info *c, void *arg)
{
	const char **want = arg;

	if (strcmp(c->name, want[0]) == 0)
		want[1] = c->attached ? "yes" : "no";
	return 0;
}

/* Whether consumer 'name' is attached: "yes", "no", or NULL if missing. */
static const char *
attached(mq_group *g, const char *name)
{
	const char *want[2] = { name, NULL };

	assert_int_equal(mq_group_consumers(g, consumer_attached, want), MQ_OK);
	return want[1];
}

/* Asserts that mq_group_next_due() is within [lo + d, hi + d]. */
static void
assert_due(mq_group *g, int64_t lo, int64_t hi, int64_t d)
{
	int64_t when;

	assert_int_equal(mq_group_next_due(g, &when), MQ_OK);
	if (when < lo + d || when > hi + d)
		fail_msg("due at %jd, want %jd..%jd", (intmax_t)when,
		    (intmax_t)(lo + d), (intmax_t)(hi + d));
}

/* Nacks 'i' with 'delay', between '*lo' and '*hi' on the clock. */
static void
nack_at(mq_group *g, mq_id i, int64_t delay, int64_t *lo, int64_t *hi)
{
	size_t n;

	*lo = mq_now_ms();
	assert_int_equal(mq_group_nack(g, &i, 1, 0, delay, &n), MQ_OK);
	assert_int_equal(n, 1);
	*hi = mq_now_ms();
}

/* Sets the lease and the retry delays of the fixture's stream. */
static void
set_times(struct fixture *f, int64_t lease, int64_t delay, int64_t max)
{
	struct mq_policy p;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.lease_ms = lease;
	p.retry_delay_ms = delay;
	p.retry_max_ms = max;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
}

/* Some of everything: reads, acks, nacks, claims, a deleted consumer. */
static void
busy(struct fixture *f, mq_group *g)
{
	struct mq_msg m[8];
	mq_id ids[2], out[2];
	uint64_t np;
	size_t n;

	add(f->s, 1, 12);
	assert_int_equal(rd(g, "a", 4, m), 4);
	assert_int_equal(rd(g, "b", 3, m), 3);
	assert_int_equal(ack1(g, id(2, 0)), 1);
	ids[0] = id(3, 0);
	ids[1] = id(4, 0);
	assert_int_equal(mq_group_nack(g, ids, 2, 0, 0, &n), MQ_OK);
	ids[0] = id(6, 0);
	assert_int_equal(mq_group_nack(g, ids, 1, 0, 0, &n), MQ_OK);
	ids[0] = id(5, 0);
	assert_int_equal(mq_group_claim(g, "c", 0, ids, 1, 1000, 5, 0, out,
	    &n), MQ_OK);
	assert_int_equal(mq_group_consumer_create(g, "d"), 1);
	assert_int_equal(rd(g, "d", 1, m), 1);
	assert_int_equal(mq_group_consumer_delete(g, "b", &np), MQ_OK);
	assert_int_equal(mq_group_read(g, "e", 1, 1, m, &n), MQ_OK);
}

static void
test_replay_after_reopen(void **state)
{
	struct fixture *f = *state;
	char before[4096], after[4096];
	mq_group *g;

	/* The claim's old time must not expire a lease. */
	set_times(f, 0, 0, 0);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	busy(f, g);
	dump(g, before, sizeof(before));
	assert_non_null(strstr(before, "6-0  "));	/* handed back */
	assert_null(strstr(before, "\n4-0 "));	/* read with NOACK */
	assert_null(strstr(before, "\n7-0 "));	/* b was deleted */
	assert_non_null(strstr(before, "\n1-0 a "));
	assert_non_null(strstr(before, "5-0 c 1000 5\n"));
	mq_group_close(g);

	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	dump(g, after, sizeof(after));
	assert_string_equal(before, after);
	mq_group_close(g);
}

static void
test_torn_tail(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], before[4096], after[4096];
	unsigned char *full, *buf, rec[2 * MQ_JSLOT];
	struct mq_msg m[4];
	off_t size, len, valid;
	mq_group *g;
	size_t n;
	int fd;

	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	busy(f, g);
	dump(g, before, sizeof(before));
	mq_group_close(g);
	journal_path(f, "g", path, sizeof(path));
	size = file_size(path);
	assert_int_equal(size % MQ_JSLOT, 0);
	full = malloc(size);
	buf = malloc(size + 65536);
	assert_non_null(full);
	assert_non_null(buf);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, full, size), size);
	close(fd);
	assert_int_equal(mq_journal_valid(full, size), size);

	/*
	 * A record of two slots cut in its name, then zeros (as
	 * a crash of the machine may leave): ignored by readers, cut by the
	 * next writer.
	 */
	assert_int_equal(mq_jrec_put(rec, 3, 0, 9 | 4ull << 32, 0, 0, "torn",
	    4), sizeof(rec));
	assert_true((fd = open(path, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, rec, 34), 34);
	assert_int_equal(ftruncate(fd, size + 4096), 0);
	close(fd);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	dump(g, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(file_size(path), size + 4096);
	assert_int_equal(mq_group_consumer_create(g, "new"), 1);
	assert_int_equal(file_size(path), size + 2 * MQ_JSLOT);
	mq_group_close(g);

	/* Cut at every byte: the group opens, a writer trims to whole records. */
	for (len = 2 * MQ_JSLOT; len <= size; len++) {
		valid = mq_journal_valid(full, len);
		assert_true(valid <= len && len - valid < 8 * MQ_JSLOT);
		assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
		assert_int_equal(write(fd, full, len), len);
		close(fd);
		assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
		assert_int_equal(mq_group_read(g, "z", 1, 0, m, &n), MQ_OK);
		mq_group_close(g);
		assert_true((fd = open(path, O_RDONLY)) >= 0);
		assert_int_equal(read(fd, buf, size + 65536), file_size(path));
		close(fd);
		/* What was valid is kept as it was, then the read's records. */
		assert_memory_equal(buf, full, valid);
		assert_int_equal(mq_journal_valid(buf, file_size(path)),
		    file_size(path));
		assert_true(file_size(path) > valid);
	}
	free(full);
	free(buf);
}

static void
test_corrupt_head(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	unsigned char b = 0xff, rec[MQ_JSLOT];
	mq_group *g;
	int fd;

	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	journal_path(f, "g", path, sizeof(path));
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, &b, 1, 10), 1);
	close(fd);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_ECORRUPT);

	/* A journal of a later version is refused as such. */
	assert_int_equal(mq_jrec_put(rec, 1, 0, 0x3150554f5247514dull, 2, 1,
	    NULL, 0), MQ_JSLOT);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, rec, MQ_JSLOT), MQ_JSLOT);
	close(fd);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_EVERSION);
}

static void
test_compaction(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], before[4096], after[4096];
	struct mq_msg m[100];
	mq_group *g, *old, *fresh;
	mq_id ids[100];
	struct stat st1, st2;
	size_t n, i, k, total = 0;
	off_t max = 0;

	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &old), MQ_OK);
	busy(f, g);
	journal_path(f, "g", path, sizeof(path));
	assert_int_equal(stat(path, &st1), 0);

	/* 20,000 reads and single acks: some 1.3 MiB of records. */
	add(f->s, 13, 20012);
	for (;;) {
		assert_int_equal(mq_group_read(g, "w", 100, 0, m, &n), MQ_OK);
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			ids[i] = m[i].id;
		/* One ack per call, so that the journal grows a lot. */
		for (i = 0; i < n; i++) {
			assert_int_equal(mq_group_ack(g, &ids[i], 1, &k), MQ_OK);
			assert_int_equal(k, 1);
		}
		total += n;
		if (file_size(path) > max)
			max = file_size(path);
	}
	assert_true(total >= 20000);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);		/* it was replaced */
	assert_true(max < 3 * (1 << 20) / 2);
	dump(g, before, sizeof(before));

	/* A fresh handle and one opened before both see the same state. */
	assert_int_equal(mq_group_open(f->s, "g", &fresh), MQ_OK);
	dump(fresh, after, sizeof(after));
	assert_string_equal(before, after);
	dump(old, after, sizeof(after));
	assert_string_equal(before, after);

	/* And share the group from there on. */
	add(f->s, 20013, 20014);
	assert_int_equal(rd(old, "w", 1, m), 1);
	assert_entry(&m[0], 20013);
	assert_int_equal(rd(fresh, "w", 1, m), 1);
	assert_entry(&m[0], 20014);
	assert_int_equal(rd(g, "w", 1, m), 0);
	mq_group_close(g);
	mq_group_close(old);
	mq_group_close(fresh);
}

/* ------------------------------------------------------------------
 * Policy and dead letters
 * ---------------------------------------------------------------- */

struct dl {
	int		 n;
	char		 origin[8][64], oid[8][64], reason[8][64], count[8][64];
	int64_t		 time[8];
	char		 body[8][64];
	int		 rest_ok[8];	/* original header and key follow */
	size_t		 nheaders[8];
};

static void
hval(const struct mq_header *h, char *buf)
{
	memcpy(buf, h->value, h->valuelen);
	buf[h->valuelen] = '\0';
}

static int
collect_dl(const struct mq_msg *m, void *arg)
{
	struct dl *d = arg;
	char t[64];
	int i = d->n++;

	assert_true(i < 8);
	d->nheaders[i] = m->nheaders;
	assert_true(m->nheaders == 5 || m->nheaders == 6);
	assert_memory_equal(m->headers[0].name, "mq-origin", 9);
	assert_memory_equal(m->headers[1].name, "mq-origin-id", 12);
	assert_memory_equal(m->headers[2].name, "mq-reason", 9);
	assert_memory_equal(m->headers[3].name, "mq-count", 8);
	assert_memory_equal(m->headers[4].name, "mq-time", 7);
	hval(&m->headers[0], d->origin[i]);
	hval(&m->headers[1], d->oid[i]);
	hval(&m->headers[2], d->reason[i]);
	hval(&m->headers[3], d->count[i]);
	hval(&m->headers[4], t);
	d->time[i] = strtoll(t, NULL, 10);
	memcpy(d->body[i], m->body, m->bodylen);
	d->body[i][m->bodylen] = '\0';
	d->rest_ok[i] = m->nheaders == 6 && m->headers[5].namelen == 1 &&
	    memcmp(m->headers[5].name, "h", 1) == 0 && m->keylen == 1 &&
	    memcmp(m->key, "k", 1) == 0;
	return 0;
}

static void
read_dlq(struct fixture *f, const char *name, struct dl *d)
{
	mq_stream *s;

	memset(d, 0, sizeof(*d));
	assert_int_equal(mq_stream_open(f->sp, name, 0, &s), MQ_OK);
	assert_int_equal(mq_range(s, zero, MQ_ID_LAST, 0, 0, collect_dl, d),
	    MQ_OK);
	mq_stream_close(s);
}

static void
set_policy(struct fixture *f, uint64_t limit, int64_t ttl)
{
	struct mq_policy p;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.delivery_limit = limit;
	p.ttl_ms = ttl;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
}

static void
test_delivery_limit(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	mq_id ids[2], out[2];
	mq_group *g;
	int64_t t0, t1;
	struct dl d;
	mq_stream *s;
	size_t n;

	set_policy(f, 2, 0);
	add(f->s, 1, 3);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "a", 1, m), 1);
	ids[0] = id(1, 0);
	assert_int_equal(mq_group_nack(g, ids, 1, 0, 0, &n), MQ_OK);
	assert_int_equal(rd(g, "a", 1, m), 1);
	assert_entry(&m[0], 1);
	assert_int_equal(pend(g, id(1, 0)).count, 2);
	/* No dead-letter stream until something is dead-lettered. */
	assert_int_equal(mq_stream_open(f->sp, "s.dlq", 0, &s), MQ_ENOSTREAM);

	/* The second delivery is nacked: dead-lettered at once. */
	t0 = mq_now_ms();
	assert_int_equal(mq_group_nack(g, ids, 1, 0, 0, &n), MQ_OK);
	t1 = mq_now_ms();
	assert_int_equal(n, 1);
	assert_false(is_pending(g, id(1, 0)));
	read_dlq(f, "s.dlq", &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.origin[0], "s");
	assert_string_equal(d.oid[0], "1-0");
	assert_string_equal(d.reason[0], "delivery-limit");
	assert_string_equal(d.count[0], "2");
	assert_true(d.time[0] >= t0 && d.time[0] <= t1);
	assert_string_equal(d.body[0], "m1");
	assert_true(d.rest_ok[0]);

	/* A claim or a history read of an entry at the limit ends there too. */
	assert_int_equal(rd(g, "a", 2, m), 2);
	ids[0] = id(2, 0);
	assert_int_equal(mq_group_claim(g, "b", 0, ids, 1, -1, -1, 0, out, &n),
	    MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pend(g, id(2, 0)).count, 2);
	assert_int_equal(mq_group_claim(g, "c", 0, ids, 1, -1, -1, 0, out, &n),
	    MQ_OK);
	assert_int_equal(n, 0);
	assert_false(is_pending(g, id(2, 0)));
	assert_int_equal(mq_group_history(g, "a", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pend(g, id(3, 0)).count, 2);
	assert_int_equal(mq_group_history(g, "a", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(info(g).pending, 0);

	read_dlq(f, "s.dlq", &d);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.oid[1], "2-0");
	assert_string_equal(d.count[1], "2");
	assert_string_equal(d.oid[2], "3-0");
	assert_string_equal(d.reason[2], "delivery-limit");
	mq_group_close(g);
}

static void
test_reject(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p;
	struct mq_msg m[8];
	mq_id ids[2];
	mq_group *g;
	struct dl d;
	size_t n;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	strlcpy(p.dead_letter, "graveyard", sizeof(p.dead_letter));
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	add(f->s, 1, 2);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(rd(g, "a", 2, m), 2);
	ids[0] = id(2, 0);
	ids[1] = id(9, 0);
	assert_int_equal(mq_group_nack(g, ids, 2, 1, 0, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_false(is_pending(g, id(2, 0)));
	assert_true(is_pending(g, id(1, 0)));
	read_dlq(f, "graveyard", &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.oid[0], "2-0");
	assert_string_equal(d.reason[0], "rejected");
	assert_string_equal(d.count[0], "1");
	assert_string_equal(d.body[0], "m2");
	mq_group_close(g);
}

/*
 * An entry with a deadline (MQ_EXPIRES_AT) past it is dead-lettered,
 * without the deadline.
 */
static void
test_deadline(void **state)
{
	struct fixture *f = *state;
	struct mq_header past = { MQ_EXPIRES_AT, 13, "1", 1 };
	struct mq_header later = { MQ_EXPIRES_AT, 13, "99999999999999", 14 };
	struct mq_header bad = { MQ_EXPIRES_AT, 13, "soon", 4 };
	struct mq_msg in[3] = { test_body("past"), test_body("later"),
	    test_body("bad") }, m[8];
	mq_group *g;
	struct dl d;

	in[0].headers = &past;
	in[1].headers = &later;
	in[2].headers = &bad;
	in[0].nheaders = in[1].nheaders = in[2].nheaders = 1;
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_append(f->s, in, 3, NULL, NULL), MQ_OK);
	/* A deadline that is no number is none. */
	assert_int_equal(rd(g, "a", 8, m), 2);
	assert_memory_equal(m[0].body, "later", 5);
	assert_memory_equal(m[1].body, "bad", 3);
	read_dlq(f, "s.dlq", &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.reason[0], "expired");
	assert_string_equal(d.body[0], "past");
	/* Without its deadline, which would expire it again at once. */
	assert_int_equal(d.nheaders[0], 5);
	mq_group_close(g);
}

static void
test_ttl(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	struct mq_group_info gi;
	mq_group *g;
	struct dl d;
	int64_t t;

	set_policy(f, 0, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	t = mq_now_ms();
	add(f->s, 1, 3);
	while (mq_now_ms() <= t + 50)
		usleep(5000);

	/* All three are too old: dead-lettered, and the cursor passes them. */
	assert_int_equal(rd(g, "a", 8, m), 0);
	gi = info(g);
	assert_id(gi.last_delivered, id(3, 0));
	assert_int_equal(gi.pending, 0);
	assert_int_equal(gi.entries_read, 3);
	read_dlq(f, "s.dlq", &d);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.oid[0], "1-0");
	assert_string_equal(d.oid[2], "3-0");
	assert_string_equal(d.reason[1], "expired");
	assert_string_equal(d.count[1], "0");
	assert_true(d.rest_ok[2]);

	/* Fresh ones are delivered. */
	set_policy(f, 0, 3600000);
	add(f->s, 4, 4);
	assert_int_equal(rd(g, "a", 8, m), 1);
	assert_entry(&m[0], 4);
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Processes
 * ---------------------------------------------------------------- */

#define FORK_ENTRIES	20000
#define FORK_CHILDREN	3

/*
 * A child: reads and acks until nothing is left, writing each id it
 * acked to 'path'.  Exits 0 if every ack found its entry pending.
 */
static void
child(const char *dir, const char *path)
{
	struct mq_msg m[64];
	mq_id ids[64];
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;
	char me[32];
	size_t n, k, i;
	FILE *out;
	int bad = 0;

	snprintf(me, sizeof(me), "c%ld", (long)getpid());
	if (mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    mq_stream_open(sp, "s", 0, &s) != MQ_OK ||
	    mq_group_open(s, "g", &g) != MQ_OK ||
	    (out = fopen(path, "w")) == NULL)
		_exit(2);
	mq_spool_set_fsync(sp, MQ_FSYNC_NEVER, 0);
	for (;;) {
		if (mq_group_read(g, me, 1 + getpid() % 64, 0, m, &n) != MQ_OK)
			_exit(3);
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			ids[i] = m[i].id;
		if (mq_group_ack(g, ids, n, &k) != MQ_OK)
			_exit(4);
		if (k != n)
			bad = 1;
		if (fwrite(ids, sizeof(ids[0]), n, out) != n)
			_exit(5);
	}
	if (fclose(out) != 0)
		_exit(6);
	mq_group_close(g);
	mq_stream_close(s);
	mq_spool_close(sp);
	_exit(bad);
}

/*
 * A held group keeps its lock and its records until it is released:
 * another handle sees the changes only then, cannot hold it meanwhile,
 * and a handle opened afterwards finds them in the file.
 */
static void
test_hold(void **state)
{
	struct fixture *f = *state;
	struct mq_group_info info;
	struct mq_msg msgs[8];
	mq_group *a, *b;
	mq_id ids[2];
	size_t n, acked;

	add(f->s, 1, 10);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &a), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &b), MQ_OK);
	assert_int_equal(mq_group_hold(a), 1);
	assert_int_equal(mq_group_hold(a), 1);
	assert_int_equal(mq_group_hold(b), 0);
	/* Many changes while held. */
	assert_int_equal(mq_group_read(a, "c", 3, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mq_group_read(a, "c", 2, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_id(msgs[1].id, id(5, 0));
	ids[0] = id(1, 0);
	ids[1] = id(4, 0);
	assert_int_equal(mq_group_ack(a, ids, 2, &acked), MQ_OK);
	assert_int_equal(acked, 2);
	assert_int_equal(mq_group_consumer_create(a, "c"), 0);
	assert_int_equal(mq_group_info(a, &info), MQ_OK);
	assert_int_equal(info.pending, 3);
	/* Not in the file yet. */
	assert_int_equal(mq_group_info(b, &info), MQ_OK);
	assert_int_equal(info.pending, 0);
	assert_id(info.last_delivered, zero);
	assert_int_equal(mq_group_release(a), MQ_OK);
	assert_int_equal(mq_group_release(a), MQ_OK);
	assert_int_equal(mq_group_info(b, &info), MQ_OK);
	assert_int_equal(info.pending, 3);
	assert_id(info.last_delivered, id(5, 0));
	/* Released: the other handle may hold it now, and read on. */
	assert_int_equal(mq_group_hold(b), 1);
	assert_int_equal(mq_group_read(b, "d", 8, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 5);
	mq_group_close(b);	/* releases */
	mq_group_close(a);
	assert_int_equal(mq_group_open(f->s, "g", &a), MQ_OK);
	assert_int_equal(mq_group_info(a, &info), MQ_OK);
	assert_int_equal(info.pending, 8);
	assert_int_equal(info.consumers, 2);
	mq_group_close(a);
}

static void
test_processes(void **state)
{
	struct fixture *f = *state;
	char path[FORK_CHILDREN][PATH_MAX];
	static unsigned char acked[FORK_ENTRIES + 1];
	pid_t pid[FORK_CHILDREN];
	struct mq_group_info gi;
	mq_group *g;
	mq_id i1;
	FILE *in;
	int i, st;
	size_t total = 0;

	add(f->s, 1, FORK_ENTRIES);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	memset(acked, 0, sizeof(acked));
	for (i = 0; i < FORK_CHILDREN; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/acked.%d", f->dir, i);
		fflush(NULL);
		assert_true((pid[i] = fork()) >= 0);
		if (pid[i] == 0)
			child(f->dir, path[i]);
	}
	for (i = 0; i < FORK_CHILDREN; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	for (i = 0; i < FORK_CHILDREN; i++) {
		assert_non_null((in = fopen(path[i], "r")));
		while (fread(&i1, sizeof(i1), 1, in) == 1) {
			assert_true(i1.ms >= 1 && i1.ms <= FORK_ENTRIES);
			assert_int_equal(i1.seq, 0);
			if (acked[i1.ms]++ != 0)
				fail_msg("%ju-0 acked twice", (uintmax_t)i1.ms);
			total++;
		}
		fclose(in);
	}
	assert_int_equal(total, FORK_ENTRIES);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	gi = info(g);
	assert_int_equal(gi.pending, 0);
	assert_id(gi.last_delivered, id(FORK_ENTRIES, 0));
	assert_int_equal(gi.entries_read, FORK_ENTRIES);
	assert_int_equal(gi.lag, 0);
	assert_true(gi.consumers >= 1 && gi.consumers <= FORK_CHILDREN);
	mq_group_close(g);
}

/*
 * SIGKILL of a reader at some point of its work: nothing it was given is
 * lost (it is pending and can be claimed), the journal stays valid.
 */
static void
test_sigkill(void **state)
{
	struct fixture *f = *state;
	static unsigned char got[5001];
	char path[PATH_MAX], jpath[PATH_MAX];
	mq_id out[100], del[100], next, ids[64];
	struct mq_msg m[64];
	unsigned char *buf;
	mq_group *g;
	size_t n, k, nd, i;
	off_t size;
	pid_t pid;
	int round, fd, st;

	add(f->s, 1, 5000);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	snprintf(path, sizeof(path), "%s/delivered", f->dir);
	for (round = 0; round < 3; round++) {
		fflush(NULL);
		assert_true((pid = fork()) >= 0);
		if (pid == 0) {
			mq_spool *sp;
			mq_stream *s;

			if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
			    mq_stream_open(sp, "s", 0, &s) != MQ_OK ||
			    mq_group_open(s, "g", &g) != MQ_OK ||
			    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND,
			    0644)) == -1)
				_exit(2);
			for (;;) {
				if (mq_group_read(g, "victim", 10, 0, m, &n) !=
				    MQ_OK)
					_exit(3);
				if (n == 0)
					_exit(0);
				for (i = 0; i < n; i++)
					ids[i] = m[i].id;
				/* Noted before the ack, never after. */
				if (write(fd, ids, n * sizeof(ids[0])) !=
				    (ssize_t)(n * sizeof(ids[0])))
					_exit(4);
				if (mq_group_ack(g, ids, n, &k) != MQ_OK)
					_exit(5);
			}
		}
		usleep(1000 + 4000 * round);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st) || (WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0));
	}

	/* Whatever it held is claimed, the rest read, all acked. */
	memset(got, 0, sizeof(got));
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	next = zero;
	do {
		assert_int_equal(mq_group_autoclaim(g, "rescuer", 0, next, 100,
		    MQ_CLAIM_JUSTID, out, &n, &next, del, &nd), MQ_OK);
		assert_int_equal(nd, 0);
		assert_int_equal(mq_group_ack(g, out, n, &k), MQ_OK);
		assert_int_equal(k, n);
		for (i = 0; i < n; i++)
			got[out[i].ms] = 1;
	} while (mq_id_cmp(next, zero) != 0);
	while ((n = rd(g, "rescuer", 64, m)) > 0) {
		for (i = 0; i < n; i++) {
			ids[i] = m[i].id;
			got[m[i].id.ms] = 1;
		}
		assert_int_equal(mq_group_ack(g, ids, n, &k), MQ_OK);
		assert_int_equal(k, n);
	}
	assert_int_equal(info(g).pending, 0);
	assert_id(info(g).last_delivered, id(5000, 0));
	mq_group_close(g);

	if ((fd = open(path, O_RDONLY)) != -1) {
		while (read(fd, &next, sizeof(next)) == sizeof(next)) {
			assert_true(next.ms >= 1 && next.ms <= 5000);
			got[next.ms] = 1;
		}
		close(fd);
	}
	for (i = 1; i <= 5000; i++)
		if (!got[i])
			fail_msg("%zu-0 was lost", i);

	journal_path(f, "g", jpath, sizeof(jpath));
	size = file_size(jpath);
	assert_non_null((buf = malloc(size)));
	assert_true((fd = open(jpath, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, buf, size), size);
	close(fd);
	assert_int_equal(mq_journal_valid(buf, size), size);
	free(buf);
}

/* ------------------------------------------------------------------
 * The pending list: order, and a model
 * ---------------------------------------------------------------- */

/* Checks that the pending entries are exactly 'want' ('n' ms), in order. */
static void
assert_pending_ids(mq_group *g, const char *consumer, const uint64_t *want,
    size_t n)
{
	static struct mq_pending p[4096];
	size_t got, i;

	assert_true(n < 4096);
	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, 4096, consumer,
	    0, p, &got), MQ_OK);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++)
		assert_id(p[i].id, id(want[i], 0));
}

/*
 * Entries that become pending below the highest pending id: after SETID
 * backwards, and forced claims in decreasing order (below the lowest).
 */
static void
test_pending_order(void **state)
{
	struct fixture *f = *state;
	static uint64_t want[400];
	struct mq_msg m[16];
	mq_id ids[1], out[1];
	mq_group *g, *fresh;
	size_t n, i, k;
	uint64_t ms;

	add(f->s, 1, 400);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	for (i = 0; i < 300; i += n)
		assert_true((n = rd(g, "a", i + 16 < 300 ? 16 : 300 - i, m)) >
		    0);
	for (ms = 1; ms <= 200; ms++)
		assert_int_equal(ack1(g, id(ms, 0)), 1);
	assert_id(info(g).pending_min, id(201, 0));

	/* Read 1-0 .. 150-0 again: each goes below 201-0 .. 300-0. */
	assert_int_equal(mq_group_setid(g, zero, 0), MQ_OK);
	for (i = 0; i < 150; i += n) {
		k = 1 + i % 7;
		assert_true((n = rd(g, "b", k < 150 - i ? k : 150 - i, m)) > 0);
	}
	assert_int_equal(info(g).pending, 250);
	for (k = 0, ms = 1; ms <= 300; ms++)
		if (ms <= 150 || ms > 200)
			want[k++] = ms;
	assert_pending_ids(g, NULL, want, k);
	assert_pending_ids(g, "b", want, 150);
	assert_pending_ids(g, "a", want + 150, 100);
	assert_string_equal(pend(g, id(150, 0)).consumer, "b");
	assert_int_equal(pend(g, id(150, 0)).count, 1);

	/* Ack every other one, then force claims from 400-0 down to 151-0. */
	for (ms = 1; ms <= 300; ms += 2)
		ack1(g, id(ms, 0));
	for (ms = 400; ms > 150; ms--) {
		ids[0] = id(ms, 0);
		assert_int_equal(mq_group_claim(g, "c", 0, ids, 1, -1, -1,
		    MQ_CLAIM_FORCE | MQ_CLAIM_JUSTID, out, &n), MQ_OK);
		assert_int_equal(n, 1);
	}
	for (k = 0, ms = 1; ms <= 400; ms++)
		if (ms > 150 || ms % 2 == 0)
			want[k++] = ms;
	assert_pending_ids(g, NULL, want, k);
	assert_pending_ids(g, "c", want + 75, k - 75);
	assert_id(info(g).pending_min, id(2, 0));
	assert_id(info(g).pending_max, id(400, 0));

	/* A replay builds the same list. */
	assert_int_equal(mq_group_open(f->s, "g", &fresh), MQ_OK);
	assert_pending_ids(fresh, NULL, want, k);
	mq_group_close(fresh);
	mq_group_close(g);
}

/*
 * A window of pending entries sliding along the stream, as in a pipeline
 * of a reader and an acker: the array's front advances and its slots are
 * reused; a large list that empties is given back.
 */
static void
test_pending_window(void **state)
{
	struct fixture *f = *state;
	static struct mq_msg m[1024];
	static uint64_t want[64];
	mq_id ids[1024];
	mq_group *g;
	uint64_t ms, lo, hi;
	size_t n, i, k;

	add(f->s, 1, 9000);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);

	/* 5000 pending, all acked in order: the list empties. */
	for (i = 0; i < 5000; i += n)
		assert_int_equal((n = rd(g, "a", 1000, m)), 1000);
	assert_int_equal(info(g).pending, 5000);
	for (ms = 1; ms <= 5000; ms += n) {
		for (n = 0; n < 1000; n++)
			ids[n] = id(ms + n, 0);
		assert_int_equal(mq_group_ack(g, ids, n, &k), MQ_OK);
		assert_int_equal(k, n);
	}
	assert_int_equal(info(g).pending, 0);

	/* Read 8 at a time, ack what was read two reads before. */
	lo = hi = 5001;
	while (hi <= 9000) {
		assert_int_equal((n = rd(g, "a", 8, m)), 8);
		hi += n;
		if (hi - lo > 24) {
			for (i = 0; i < 8; i++)
				ids[i] = id(lo + i, 0);
			assert_int_equal(mq_group_ack(g, ids, 8, &k), MQ_OK);
			assert_int_equal(k, 8);
			lo += 8;
		}
		for (k = 0, ms = lo; ms < hi; ms++)
			want[k++] = ms;
		assert_pending_ids(g, NULL, want, k);
		assert_id(info(g).pending_min, id(lo, 0));
	}
	mq_group_close(g);
}

/* Handed-back entries go through a compaction, and come first after it. */
static void
test_compaction_nacked(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], before[4096], after[4096];
	struct mq_msg m[100];
	mq_id ids[50], out[50];
	mq_group *g, *old, *fresh;
	struct stat st1, st2;
	int64_t lo, hi;
	size_t n, i;
	int round;

	set_times(f, 0, 0, 0);
	add(f->s, 1, 100);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &old), MQ_OK);
	journal_path(f, "g", path, sizeof(path));
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(rd(g, "a", 100, m), 100);
	ids[0] = id(30, 0);
	ids[1] = id(10, 0);
	ids[2] = id(20, 0);
	assert_int_equal(mq_group_nack(g, ids, 3, 0, 0, &n), MQ_OK);
	assert_int_equal(n, 3);
	/* A snapshot keeps a retry's due time and an attachment too. */
	nack_at(g, id(40, 0), 3600000, &lo, &hi);
	assert_int_equal(mq_group_attach(g, "a"), 1);

	/* Claims back and forth (JUSTID) until the journal is compacted. */
	for (i = 0; i < 50; i++)
		ids[i] = id(50 + i, 0);
	for (round = 0; round < 1000; round++)
		assert_int_equal(mq_group_claim(g, round % 2 ? "a" : "b", 0,
		    ids, 50, -1, -1, MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	dump(g, before, sizeof(before));
	assert_non_null(strstr(before, "\n10-0  "));
	assert_non_null(strstr(before, "\n20-0  "));

	assert_int_equal(mq_group_open(f->s, "g", &fresh), MQ_OK);
	dump(fresh, after, sizeof(after));
	assert_string_equal(before, after);
	dump(old, after, sizeof(after));
	assert_string_equal(before, after);
	assert_string_equal(attached(fresh, "a"), "yes");
	assert_int_equal(rd(fresh, "c", 2, m), 2);
	assert_entry(&m[0], 10);
	assert_entry(&m[1], 20);
	assert_int_equal(rd(old, "c", 8, m), 1);
	assert_entry(&m[0], 30);
	assert_due(fresh, lo, hi, 3600000);
	assert_due(old, lo, hi, 3600000);
	mq_group_close(fresh);
	mq_group_close(old);
	mq_group_close(g);
}

#define MODEL_N		1500	/* entries 1-0 .. MODEL_N-0 */
#define MODEL_CONS	3	/* consumers c1 .. c3 */
#define MODEL_STEPS	1500

/* What the group must hold, entry by entry (index: the id's ms). */
struct model {
	int		 owner[MODEL_N + 1];	/* -1: none, 0: handed back */
	uint64_t	 count[MODEL_N + 1];
	int		 exists[MODEL_CONS + 1];	/* consumer 'i' exists */
	uint64_t	 cursor;
	uint64_t	 rnd;
};

static const char *const model_names[MODEL_CONS + 1] = { "", "c1", "c2", "c3" };

/* A reproducible pseudo-random number below 'n' (xorshift64). */
static uint64_t
model_rand(struct model *md, uint64_t n)
{
	md->rnd ^= md->rnd << 13;
	md->rnd ^= md->rnd >> 7;
	md->rnd ^= md->rnd << 17;
	return md->rnd % n;
}

/* Compares everything the group tells about its pending entries. */
static void
model_check(struct model *md, mq_group *g)
{
	static struct mq_pending p[MODEL_N];
	struct mq_group_info gi = info(g);
	uint64_t ms, first = 0, last = 0, npend = 0;
	struct seen s;
	size_t n, i, c;
	char want[64];

	assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, MODEL_N, NULL,
	    0, p, &n), MQ_OK);
	for (i = 0, ms = 1; ms <= MODEL_N; ms++) {
		if (md->owner[ms] < 0)
			continue;
		if (first == 0)
			first = ms;
		last = ms;
		npend++;
		assert_true(i < n);
		assert_id(p[i].id, id(ms, 0));
		assert_string_equal(p[i].consumer, model_names[md->owner[ms]]);
		assert_int_equal(p[i].count, md->count[ms]);
		i++;
	}
	assert_int_equal(n, npend);
	assert_int_equal(gi.pending, npend);
	if (npend > 0) {
		assert_id(gi.pending_min, id(first, 0));
		assert_id(gi.pending_max, id(last, 0));
	}
	assert_id(gi.last_delivered, id(md->cursor, 0));

	/* Each consumer's own, and the counts XINFO CONSUMERS gives. */
	memset(&s, 0, sizeof(s));
	want[0] = '\0';
	for (c = 1; c <= MODEL_CONS; c++) {
		assert_int_equal(mq_group_pending(g, zero, MQ_ID_LAST, MODEL_N,
		    model_names[c], 0, p, &n), MQ_OK);
		for (i = 0, ms = 1; ms <= MODEL_N; ms++) {
			if (md->owner[ms] != (int)c)
				continue;
			assert_true(i < n);
			assert_id(p[i].id, id(ms, 0));
			i++;
		}
		assert_int_equal(n, i);
		if (md->exists[c]) {
			strlcat(want, model_names[c], sizeof(want));
			strlcat(want, "|", sizeof(want));
		}
	}
	assert_int_equal(mq_group_consumers(g, collect_consumer, &s), MQ_OK);
	assert_string_equal(s.names, want);
	for (i = 0, c = 1; c <= MODEL_CONS; c++) {
		if (!md->exists[c])
			continue;
		for (n = 0, ms = 1; ms <= MODEL_N; ms++)
			if (md->owner[ms] == (int)c)
				n++;
		assert_int_equal(s.pending[i], n);
		i++;
	}
}

/* Random ids (as ms, some repeated) for an ack, a nack or a claim. */
static size_t
model_pick(struct model *md, mq_id *ids, size_t max)
{
	size_t n = 1 + model_rand(md, max), i;
	uint64_t base = 1 + model_rand(md, MODEL_N);

	for (i = 0; i < n; i++) {
		/* Mostly near one another, as acks of one batch are. */
		if (model_rand(md, 4) == 0)
			ids[i] = id(1 + model_rand(md, MODEL_N), 0);
		else
			ids[i] = id(1 + (base + model_rand(md, 64)) % MODEL_N,
			    0);
	}
	return n;
}

/* One random operation on 'g', done to the model as well. */
static void
model_step(struct model *md, mq_group *g)
{
	static struct mq_msg m[64];
	mq_id ids[64], out[64];
	size_t n, k, i, want;
	uint64_t np, ms, after;
	int c = 1 + (int)model_rand(md, MODEL_CONS);

	switch (model_rand(md, 16)) {
	case 0: case 1: case 2: case 3: case 4:
		/* Read: handed-back entries first, then new ones. */
		want = 1 + model_rand(md, 64);
		assert_int_equal(mq_group_read(g, model_names[c], want, 0, m,
		    &n), MQ_OK);
		md->exists[c] = 1;
		k = 0;
		for (ms = 1; ms <= MODEL_N && k < want; ms++) {
			if (md->owner[ms] != 0)
				continue;
			assert_true(k < n);
			assert_id(m[k].id, id(ms, 0));
			md->owner[ms] = c;
			md->count[ms]++;
			k++;
		}
		for (ms = md->cursor + 1; ms <= MODEL_N && k < want; ms++) {
			assert_true(k < n);
			assert_id(m[k].id, id(ms, 0));
			md->owner[ms] = c;
			md->count[ms] = 1;
			md->cursor = ms;
			k++;
		}
		assert_int_equal(n, k);
		break;
	case 5: case 6: case 7: case 8:
		n = model_pick(md, ids, 64);
		for (k = i = 0; i < n; i++)
			if (md->owner[ids[i].ms] >= 0) {
				md->owner[ids[i].ms] = -1;
				k++;
			}
		assert_int_equal(mq_group_ack(g, ids, n, &i), MQ_OK);
		assert_int_equal(i, k);
		break;
	case 9: case 10:
		n = model_pick(md, ids, 16);
		for (k = i = 0; i < n; i++)
			if (md->owner[ids[i].ms] >= 0) {
				md->owner[ids[i].ms] = 0;
				k++;
			}
		assert_int_equal(mq_group_nack(g, ids, n, 0, 0, &i), MQ_OK);
		assert_int_equal(i, k);
		break;
	case 11: case 12:
		/* Forced claims, without counting: may create entries. */
		n = model_pick(md, ids, 16);
		for (i = 0; i < n; i++) {
			if (md->owner[ids[i].ms] < 0)
				md->count[ids[i].ms] = 1;
			md->owner[ids[i].ms] = c;
		}
		assert_int_equal(mq_group_claim(g, model_names[c], 0, ids, n,
		    -1, -1, MQ_CLAIM_FORCE | MQ_CLAIM_JUSTID, out, &k), MQ_OK);
		assert_int_equal(k, n);
		md->exists[c] = 1;
		break;
	case 13:
		/* The cursor moves, mostly backwards. */
		md->cursor = model_rand(md, md->cursor + 50);
		if (md->cursor > MODEL_N)
			md->cursor = MODEL_N;
		assert_int_equal(mq_group_setid(g, id(md->cursor, 0), -1),
		    MQ_OK);
		break;
	case 14:
		/* History: the consumer's own after an id, each counted. */
		after = model_rand(md, MODEL_N);
		want = 1 + model_rand(md, 64);
		assert_int_equal(mq_group_history(g, model_names[c],
		    id(after, 0), want, m, &n), MQ_OK);
		md->exists[c] = 1;
		k = 0;
		for (ms = after + 1; ms <= MODEL_N && k < want; ms++) {
			if (md->owner[ms] != c)
				continue;
			assert_true(k < n);
			assert_id(m[k].id, id(ms, 0));
			md->count[ms]++;
			k++;
		}
		assert_int_equal(n, k);
		break;
	case 15:
		if (model_rand(md, 4) != 0)
			break;
		for (k = 0, ms = 1; ms <= MODEL_N; ms++)
			if (md->owner[ms] == c) {
				md->owner[ms] = -1;
				k++;
			}
		assert_int_equal(mq_group_consumer_delete(g, model_names[c],
		    &np), MQ_OK);
		assert_int_equal(np, k);
		md->exists[c] = 0;
		break;
	}
}

/*
 * Random reads, acks, nacks, forced claims, SETIDs, history reads and
 * consumer deletions against a model of the pending list; a handle that
 * only replays the journal, and one opened at the end, must agree.
 */
static void
test_pending_model(void **state)
{
	struct fixture *f = *state;
	static struct model md;
	char a[8192], b[8192];
	mq_group *g, *other, *fresh;
	int step;

	memset(&md, 0, sizeof(md));
	memset(md.owner, -1, sizeof(md.owner));
	md.rnd = 0x9e3779b97f4a7c15ull;
	add(f->s, 1, MODEL_N);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &other), MQ_OK);
	for (step = 0; step < MODEL_STEPS; step++) {
		model_step(&md, g);
		if (step % 10 == 0)
			model_check(&md, g);
		if (step % 97 == 0)
			model_check(&md, other);
	}
	model_check(&md, g);
	model_check(&md, other);
	assert_int_equal(mq_group_open(f->s, "g", &fresh), MQ_OK);
	model_check(&md, fresh);
	dump(g, a, sizeof(a));
	dump(fresh, b, sizeof(b));
	assert_string_equal(a, b);
	mq_group_close(fresh);
	mq_group_close(other);
	mq_group_close(g);
}

/* ------------------------------------------------------------------
 * Retry delays, leases, and consumers attached to a process's life
 * ---------------------------------------------------------------- */

static void
test_retry_delay(void **state)
{
	struct fixture *f = *state;
	const int64_t hour = 3600000;
	struct mq_msg m[8];
	mq_id out[1], i;
	int64_t lo, hi, when;
	mq_group *g;
	size_t n;

	set_times(f, 0, hour, 0);
	add(f->s, 1, 5);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_next_due(g, &when), MQ_OK);
	assert_int_equal(when, -1);

	/* Nacked after one delivery: the policy's delay, and it waits. */
	assert_int_equal(rd(g, "a", 3, m), 3);
	nack_at(g, id(1, 0), -1, &lo, &hi);
	assert_due(g, lo, hi, hour);
	assert_int_equal(rd(g, "b", 8, m), 2);
	assert_entry(&m[0], 4);
	assert_entry(&m[1], 5);
	assert_true(is_pending(g, id(1, 0)));
	assert_string_equal(pend(g, id(1, 0)).consumer, "");

	/* The delay doubles per delivery: 3 deliveries, four hours. */
	i = id(2, 0);
	assert_int_equal(mq_group_claim(g, "a", 0, &i, 1, -1, 3,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	nack_at(g, i, -1, &lo, &hi);
	assert_int_equal(ack1(g, id(1, 0)), 1);
	assert_due(g, lo, hi, 4 * hour);
	/* The same survives a reopen: the due time is in the journal. */
	mq_group_close(g);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_due(g, lo, hi, 4 * hour);

	/* Up to the policy's maximum, never below an explicit delay. */
	set_times(f, 0, hour, 2 * hour);
	i = id(3, 0);
	assert_int_equal(mq_group_claim(g, "a", 0, &i, 1, -1, 9,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	nack_at(g, i, -1, &lo, &hi);
	assert_due(g, lo, hi, 2 * hour);
	assert_int_equal(ack1(g, i), 1);
	assert_int_equal(rd(g, "a", 1, m), 0);
	i = id(4, 0);
	nack_at(g, i, 3 * hour, &lo, &hi);
	assert_due(g, lo, hi, 3 * hour);

	/* Delay 0: delivered again at once, past those that wait. */
	i = id(5, 0);
	assert_int_equal(mq_group_nack(g, &i, 1, 0, 0, &n), MQ_OK);
	assert_int_equal(rd(g, "c", 8, m), 1);
	assert_entry(&m[0], 5);
	assert_int_equal(pend(g, i).count, 2);
	mq_group_close(g);
}

static void
test_lease(void **state)
{
	struct fixture *f = *state;
	const int64_t minute = 60000;
	struct mq_msg m[8];
	mq_id out[1], i;
	int64_t lo, hi;
	mq_group *g;
	size_t n;

	set_times(f, minute, 0, 0);
	add(f->s, 1, 4);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	lo = mq_now_ms();
	assert_int_equal(rd(g, "a", 2, m), 2);
	hi = mq_now_ms();
	assert_due(g, lo, hi, minute);

	/* 1-0 was delivered long ago (a claim sets its time), 2-0 not. */
	i = id(1, 0);
	assert_int_equal(mq_group_claim(g, "a", 0, &i, 1, 1000, -1,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(rd(g, "b", 8, m), 3);
	assert_entry(&m[0], 1);
	assert_entry(&m[1], 3);
	assert_entry(&m[2], 4);
	/* Taken back, it counts as a delivery. */
	assert_string_equal(pend(g, i).consumer, "b");
	assert_int_equal(pend(g, i).count, 2);
	assert_string_equal(pend(g, id(2, 0)).consumer, "a");

	/* Lease 0: never. */
	set_times(f, 0, 0, 0);
	i = id(2, 0);
	assert_int_equal(mq_group_claim(g, "a", 0, &i, 1, 1000, -1,
	    MQ_CLAIM_JUSTID, out, &n), MQ_OK);
	assert_int_equal(rd(g, "b", 8, m), 0);
	assert_string_equal(pend(g, i).consumer, "a");
	mq_group_close(g);
}

/* The liveness files in the groups directory of the fixture's stream. */
static int
live_files(struct fixture *f)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/streams/s/groups", f->dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] == '@';
	closedir(d);
	return n;
}

/*
 * In a child: attaches 'consumer', reads up to 'count' entries (made old
 * by a claim, so that only the attachment keeps them), tells how many
 * through 'fd' and waits to be killed.
 */
static void
attached_reader(struct fixture *f, const char *consumer, size_t count,
    int fd)
{
	struct mq_msg m[8];
	mq_id ids[8], out[8];
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;
	size_t n, i, k;
	char c;

	if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
	    mq_stream_open(sp, "s", 0, &s) != MQ_OK ||
	    mq_group_open(s, "g", &g) != MQ_OK ||
	    mq_group_attach(g, consumer) < 0 ||
	    mq_group_read(g, consumer, count, 0, m, &n) != MQ_OK)
		_exit(2);
	for (i = 0; i < n; i++)
		ids[i] = m[i].id;
	if (n > 0 && mq_group_claim(g, consumer, 0, ids, n, 1000, -1,
	    MQ_CLAIM_JUSTID, out, &k) != MQ_OK)
		_exit(3);
	c = (char)n;
	if (write(fd, &c, 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

/* Starts attached_reader() in a child; returns its pid and what it read. */
static pid_t
spawn_reader(struct fixture *f, const char *consumer, size_t count,
    size_t *got)
{
	pid_t pid;
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(p[0]);
		attached_reader(f, consumer, count, p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	*got = (size_t)c;
	return pid;
}

static void
kill_reader(pid_t pid)
{
	int st;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
}

static void
test_attach_death(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	mq_group *g, *g2;
	mq_watch *w;
	size_t got;
	pid_t pid;

	/*
	 * The reader's entries are older than the lease (attached_reader
	 * claims them with an old time): only the attachment keeps them.
	 */
	set_times(f, 3600000, 0, 0);
	add(f->s, 1, 4);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	pid = spawn_reader(f, "a", 2, &got);
	assert_int_equal(got, 2);
	assert_string_equal(attached(g, "a"), "yes");
	assert_int_equal(live_files(f), 1);

	/* A second holder of the name shares it, and leaves it held. */
	assert_int_equal(mq_group_open(f->s, "g", &g2), MQ_OK);
	assert_int_equal(mq_group_attach(g2, "a"), 0);
	assert_int_equal(mq_group_attach(g2, "z"), MQ_EINVAL);
	mq_group_close(g2);
	assert_int_equal(live_files(f), 1);

	/* While it lives, its entries are its own; new ones go to others. */
	assert_int_equal(rd(g, "b", 8, m), 2);
	assert_entry(&m[0], 3);
	assert_entry(&m[1], 4);
	assert_string_equal(pend(g, id(1, 0)).consumer, "a");

	/* Its death wakes a watch, and the next read takes its entries. */
	assert_int_equal(mq_watch_open(&w), MQ_OK);
	assert_int_equal(mq_watch_add(w, f->s), MQ_OK);
	assert_int_equal(mq_watch_wait(w, 0), 0);
	kill_reader(pid);
	assert_int_equal(mq_watch_wait(w, 10000), 1);
	assert_int_equal(rd(g, "c", 8, m), 2);
	assert_entry(&m[0], 1);
	assert_entry(&m[1], 2);
	assert_int_equal(pend(g, id(1, 0)).count, 2);
	assert_string_equal(pend(g, id(1, 0)).consumer, "c");
	assert_string_equal(attached(g, "a"), "no");
	/* Looking (a read that probes) changes nothing a watch wakes for. */
	add(f->s, 5, 5);
	pid = spawn_reader(f, "d", 1, &got);
	assert_int_equal(got, 1);
	assert_int_equal(mq_watch_wait(w, 0), 1);	/* all that came */
	assert_int_equal(rd(g, "c", 8, m), 0);		/* "d" lives */
	assert_int_equal(mq_watch_wait(w, 0), 0);
	kill_reader(pid);
	mq_watch_close(w);
	mq_group_close(g);
}

static void
test_attach_limit(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	char name[8];
	mq_stream *dl;
	mq_group *g;
	size_t got;
	pid_t pid;
	int k;

	/* A message that kills every reader is dead-lettered. */
	set_policy(f, 2, 0);
	add(f->s, 1, 1);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "w%d", k);
		pid = spawn_reader(f, name, 1, &got);
		assert_int_equal(got, k < 2 ? 1 : 0);
		kill_reader(pid);
	}
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_false(is_pending(g, id(1, 0)));
	mq_group_close(g);
	assert_int_equal(mq_stream_open(f->sp, "s.dlq", 0, &dl), MQ_OK);
	assert_int_equal(mq_stream_info(dl, &info), MQ_OK);
	assert_int_equal(info.length, 1);
	mq_stream_close(dl);
}

static void
test_detach(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[8];
	mq_group *g, *g2;
	size_t n;

	set_times(f, 3600000, 0, 0);
	add(f->s, 1, 3);
	assert_int_equal(mq_group_create(f->s, "g", zero, -1), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_attach(g, "a"), 1);
	assert_int_equal(rd(g, "a", 2, m), 2);
	assert_int_equal(live_files(f), 1);
	/* Its last holder lets go: the file goes, the entries stay its own. */
	mq_group_close(g);
	assert_int_equal(live_files(f), 0);
	assert_int_equal(mq_group_open(f->s, "g", &g2), MQ_OK);
	assert_string_equal(attached(g2, "a"), "no");
	assert_int_equal(rd(g2, "b", 8, m), 1);
	assert_entry(&m[0], 3);
	assert_string_equal(pend(g2, id(1, 0)).consumer, "a");
	/* Attached again, the name was free: its owner may take them back. */
	assert_int_equal(mq_group_attach(g2, "a"), 1);
	assert_int_equal(mq_group_history(g2, "a", zero, 8, m, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pend(g2, id(2, 0)).count, 2);
	mq_group_close(g2);
	/* Destroying the group removes what liveness files it had. */
	assert_int_equal(mq_group_open(f->s, "g", &g2), MQ_OK);
	assert_int_equal(mq_group_attach(g2, "x"), 1);
	assert_int_equal(live_files(f), 1);
	assert_int_equal(mq_group_destroy(f->s, "g"), MQ_OK);
	assert_int_equal(live_files(f), 0);
	mq_group_close(g2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_history_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_noack_and_setid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nack_redelivery, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoclaim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_model, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compaction_nacked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replay_after_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_head, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delivery_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_delay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_death, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attach_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
