/*
 * test_scale.c - what keeps the spool cheap in the number of streams and
 * groups: the set of files to sync turns into one syncfs past a few
 * files (dirty.c), a new stream is a directory and one file, an open
 * stream looks for changes of its files only when the spool's counter
 * of them moved, and a group that has nothing pending holds almost no
 * memory.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <malloc.h>

#include "helpers.h"

struct fixture {
	char		*dir;
	mq_spool	*sp;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	/* Nothing syncs by itself during a test: the test takes the set. */
	mq_spool_set_fsync(f->sp, MQ_FSYNC_INTERVAL, 3600000);
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

/* Appends one message to each of the streams s0 .. s(n-1). */
static void
append_to(mq_spool *sp, int n)
{
	struct mq_msg m = test_body("x");
	mq_stream *s;
	char name[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(mq_stream_open(sp, name, MQ_CREATE, &s), MQ_OK);
		assert_int_equal(mq_append(s, &m, 1, NULL, NULL), MQ_OK);
		assert_int_equal(mq_append(s, &m, 1, NULL, NULL), MQ_OK);
		mq_stream_close(s);
	}
}

static void
test_dirty_few_files_each(void **state)
{
	struct fixture *f = *state;
	struct mq_dirty d;

	append_to(f->sp, 1);
	mq_dirty_init(&d);
	/* The creation (two directories) and the segment written twice. */
	assert_int_equal(mq_spool_take_dirty(f->sp, &d), MQ_OK);
	assert_false(d.whole_fs);
	assert_int_equal(d.n, 3);
	assert_int_equal(mq_dirty_sync(&d), MQ_OK);
	assert_true(mq_dirty_empty(&d));

	/* After a take, the same stream's next append is noted again. */
	append_to(f->sp, 1);
	assert_int_equal(mq_spool_take_dirty(f->sp, &d), MQ_OK);
	assert_false(d.whole_fs);
	assert_int_equal(d.n, 1);
	assert_int_equal(mq_dirty_sync(&d), MQ_OK);
	mq_dirty_free(&d);
}

static void
test_dirty_many_files_whole_fs(void **state)
{
	struct fixture *f = *state;
	struct mq_dirty d, more;

	append_to(f->sp, 50);
	mq_dirty_init(&d);
	assert_int_equal(mq_spool_take_dirty(f->sp, &d), MQ_OK);
	/* One filesystem: one descriptor to syncfs, not 150 to fdatasync. */
	assert_true(d.whole_fs);
	assert_int_equal(d.n, 1);

	/* A few files more join the whole filesystem they are on. */
	mq_dirty_init(&more);
	append_to(f->sp, 1);
	assert_int_equal(mq_spool_take_dirty(f->sp, &more), MQ_OK);
	assert_false(more.whole_fs);
	assert_int_equal(mq_dirty_merge(&d, &more), MQ_OK);
	assert_true(mq_dirty_empty(&more));
	assert_true(d.whole_fs);
	assert_int_equal(d.n, 1);

	/* And a set of a few files turns whole when too many join it. */
	append_to(f->sp, 50);
	assert_int_equal(mq_spool_take_dirty(f->sp, &more), MQ_OK);
	mq_dirty_free(&d);
	mq_dirty_init(&d);
	append_to(f->sp, 1);
	assert_int_equal(mq_spool_take_dirty(f->sp, &d), MQ_OK);
	assert_false(d.whole_fs);
	assert_int_equal(mq_dirty_merge(&d, &more), MQ_OK);
	assert_true(d.whole_fs);
	assert_int_equal(d.n, 1);
	assert_int_equal(mq_dirty_sync(&d), MQ_OK);
	mq_dirty_free(&d);
	mq_dirty_free(&more);
}

/* Whether 'name' is in the stream directory of "s". */
static int
has_file(struct fixture *f, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/streams/s/%s", f->dir, name);
	return stat(path, &st) == 0;
}

static void
test_new_stream_is_one_file(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = test_body("x");
	struct mq_policy p;
	mq_stream *s;
	mq_id ids[3];
	size_t deleted;

	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &s), MQ_OK);
	assert_true(has_file(f, "00000000000000000000.log"));
	assert_false(has_file(f, "meta"));
	assert_false(has_file(f, "marks"));
	assert_false(has_file(f, "lock"));
	/* No meta file: the default policy. */
	assert_int_equal(mq_policy_get(s, &p), MQ_OK);
	assert_int_equal(p.max_len, 0);
	assert_true(p.max_msg > 0);

	/* The files come with their first use. */
	p.max_len = 100;
	assert_int_equal(mq_policy_set(s, &p), MQ_OK);
	assert_true(has_file(f, "meta"));
	assert_int_equal(mq_append(s, &m, 1, NULL, &ids[0]), MQ_OK);
	assert_int_equal(mq_append(s, &m, 1, NULL, &ids[1]), MQ_OK);
	assert_false(has_file(f, "marks"));
	assert_false(has_file(f, "00000000000000000000.idx"));
	assert_int_equal(mq_delete(s, &ids[0], 1, &deleted), MQ_OK);
	assert_int_equal(deleted, 1);
	assert_true(has_file(f, "marks"));

	/* The index comes once the segment passes 4 KiB. */
	{
		char big[3000];
		struct mq_msg b = test_body("");

		memset(big, 'b', sizeof(big));
		b.body = big;
		b.bodylen = sizeof(big);
		assert_int_equal(mq_append(s, &b, 1, NULL, NULL), MQ_OK);
		assert_false(has_file(f, "00000000000000000000.idx"));
		assert_int_equal(mq_append(s, &b, 1, NULL, NULL), MQ_OK);
		assert_true(has_file(f, "00000000000000000000.idx"));
	}
	mq_stream_close(s);

	/* Another handle sees all of it. */
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_policy_get(s, &p), MQ_OK);
	assert_int_equal(p.max_len, 100);
	assert_int_equal(mq_append(s, &m, 1, NULL, &ids[2]), MQ_OK);
	{
		struct mq_stream_info info;

		assert_int_equal(mq_stream_info(s, &info), MQ_OK);
		assert_int_equal(info.length, 4);
	}
	mq_stream_close(s);
}

/* A directory that lost its files (a crash): opened, appended, read. */
static void
test_bare_stream_directory(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = test_body("kept"), out;
	mq_stream *s;
	mq_reader *r;
	char path[512];

	snprintf(path, sizeof(path), "%s/streams/s", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_append(s, &m, 1, NULL, NULL), MQ_OK);
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	assert_int_equal(mq_reader_next(r, &out), 1);
	assert_memory_equal(out.body, "kept", 4);
	assert_int_equal(mq_reader_next(r, &out), 0);
	mq_reader_close(r);
	mq_stream_close(s);
}

/*
 * An open handle looks for a new meta file, a marks file or its own
 * removal only when the spool's counter of such changes moved: each
 * change through another handle is seen all the same.
 */
static void
test_changes_seen_by_open_handles(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = test_body("x");
	struct mq_stream_info info;
	struct mq_policy p;
	mq_stream *a, *b;
	mq_id ids[3];
	size_t deleted;

	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &a), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &b), MQ_OK);
	assert_int_equal(mq_append(a, &m, 1, NULL, &ids[0]), MQ_OK);
	assert_int_equal(mq_append(a, &m, 1, NULL, &ids[1]), MQ_OK);
	assert_false(mq_stream_removed(a));
	assert_int_equal(mq_stream_info(a, &info), MQ_OK);
	assert_int_equal(info.length, 2);

	/* A first delete through b makes the marks file: a sees it. */
	assert_int_equal(mq_delete(b, &ids[0], 1, &deleted), MQ_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(mq_stream_info(a, &info), MQ_OK);
	assert_int_equal(info.length, 1);

	/* A policy set through b: a's next append obeys it. */
	assert_int_equal(mq_policy_get(b, &p), MQ_OK);
	p.max_len = 1;
	assert_int_equal(mq_policy_set(b, &p), MQ_OK);
	assert_int_equal(mq_append(a, &m, 1, NULL, &ids[2]), MQ_OK);
	assert_int_equal(mq_stream_info(a, &info), MQ_OK);
	assert_int_equal(info.length, 1);

	/* Renamed, then removed, under the open handles. */
	assert_false(mq_stream_removed_lazy(a));
	assert_int_equal(mq_stream_rename(f->sp, "s", "t", 0), MQ_OK);
	assert_true(mq_stream_removed_lazy(a));
	assert_true(mq_stream_removed(b));
	mq_stream_close(a);
	mq_stream_close(b);
	assert_int_equal(mq_stream_open(f->sp, "t", 0, &a), MQ_OK);
	assert_false(mq_stream_removed_lazy(a));
	assert_int_equal(mq_stream_remove(f->sp, "t"), MQ_OK);
	assert_true(mq_stream_removed_lazy(a));
	mq_stream_close(a);
}

static size_t
heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * Groups that read a stream whole in batches of 1,000 and acked it hold
 * no more than a few KiB each (they held 650 KiB: read buffers, copies
 * and arrays sized by the largest batch, kept for ever).
 */
static void
test_idle_group_memory(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[100], got[1000];
	mq_id ids[1000], zero = { 0, 0 };
	mq_group *g[10];
	mq_stream *s;
	char name[16], text[100];
	size_t before, n, acked, i;
	int k;

	memset(text, 'x', sizeof(text));
	for (i = 0; i < 100; i++) {
		m[i] = test_body("");
		m[i].body = text;
		m[i].bodylen = sizeof(text);
	}
	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &s), MQ_OK);
	for (k = 0; k < 200; k++)
		assert_int_equal(mq_append(s, m, 100, NULL, NULL), MQ_OK);
	before = heap_bytes();
	for (k = 0; k < 10; k++) {
		snprintf(name, sizeof(name), "g%d", k);
		assert_int_equal(mq_group_create(s, name, zero, 0), MQ_OK);
		assert_int_equal(mq_group_open(s, name, &g[k]), MQ_OK);
		do {
			assert_int_equal(mq_group_read(g[k], "c", 1000, 0, got,
			    &n), MQ_OK);
			for (i = 0; i < n; i++)
				ids[i] = got[i].id;
			assert_int_equal(mq_group_ack(g[k], ids, n, &acked),
			    MQ_OK);
			assert_int_equal(acked, n);
		} while (n > 0);
	}
	assert_true((heap_bytes() - before) / 10 < 32 * 1024);
	for (k = 0; k < 10; k++)
		mq_group_close(g[k]);
	mq_stream_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dirty_few_files_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_many_files_whole_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_stream_is_one_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_stream_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_seen_by_open_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_group_memory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
