/*
 * test_cursor.c - cursors: the count at the open and the entries handed
 * out match mq_range's, forward and backward, with COUNT, across
 * segments and deleted entries; and what happens to the stream after
 * the open (appends, deletes, trims with retention, its removal)
 * changes nothing a cursor hands out.
 */
#include "helpers.h"
#include "mq.h"

#define N	3000

struct fixture {
	char		*dir;
	mq_spool	*sp;
	mq_stream	*s;
	mq_id		 ids[N];
};

/* A stream of N entries "m-I" in many small segments, appended 3 by 3. */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mq_policy p;
	int i, k;

	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &f->s), MQ_OK);
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.segment_bytes = 8192;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	for (i = 0; i < N; i += 3) {
		struct mq_msg b[3];
		char t[3][16];

		memset(b, 0, sizeof(b));
		for (k = 0; k < 3; k++) {
			snprintf(t[k], sizeof(t[k]), "m-%d", i + k);
			b[k].body = t[k];
			b[k].bodylen = strlen(t[k]);
		}
		assert_int_equal(mq_append(f->s, b, 3, NULL, f->ids + i), MQ_OK);
	}
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

/* The ids of a range, as mq_range gives them. */
struct idlist {
	mq_id	 v[N];
	size_t	 n;
};

static int
collect(const struct mq_msg *m, void *arg)
{
	struct idlist *l = arg;

	l->v[l->n++] = m->id;
	return 0;
}

/*
 * Opens a cursor on start..end and checks its count and every entry
 * against mq_range's, then that it ends.
 */
static void
check_like_range(mq_stream *s, mq_id start, mq_id end, size_t count,
    int reverse)
{
	struct idlist *want = calloc(1, sizeof(*want));
	struct mq_msg m;
	mq_cursor *c;
	uint64_t n;
	size_t i;

	assert_int_equal(mq_range(s, start, end, count, reverse, collect, want),
	    MQ_OK);
	assert_int_equal(mq_cursor_open(s, start, end, count, reverse, &c, &n),
	    MQ_OK);
	assert_int_equal(n, want->n);
	for (i = 0; i < want->n; i++) {
		assert_int_equal(mq_cursor_next(c, &m), 1);
		assert_int_equal(mq_id_cmp(m.id, want->v[i]), 0);
	}
	assert_int_equal(mq_cursor_next(c, &m), 0);
	mq_cursor_close(c);
	free(want);
}

static void
test_count_and_entries_like_range(void **state)
{
	struct fixture *f = *state;
	mq_id zero = { 0, 0 }, gone[40];
	size_t deleted, i;
	int rev;

	for (rev = 0; rev <= 1; rev++) {
		check_like_range(f->s, zero, MQ_ID_LAST, 0, rev);
		check_like_range(f->s, f->ids[17], f->ids[2211], 0, rev);
		check_like_range(f->s, f->ids[17], f->ids[2211], 500, rev);
		check_like_range(f->s, f->ids[5], f->ids[5], 0, rev);
		check_like_range(f->s, f->ids[9], f->ids[8], 0, rev);
	}
	/* Deleted entries are not counted, nor handed out. */
	for (i = 0; i < 40; i++)
		gone[i] = f->ids[100 + 37 * i];
	assert_int_equal(mq_delete(f->s, gone, 40, &deleted), MQ_OK);
	assert_int_equal(deleted, 40);
	for (rev = 0; rev <= 1; rev++) {
		check_like_range(f->s, zero, MQ_ID_LAST, 0, rev);
		check_like_range(f->s, f->ids[100], f->ids[1543], 0, rev);
		check_like_range(f->s, f->ids[100], f->ids[1543], 77, rev);
	}
}

/* Hands out entries of 'c' and checks they are ids[from .. to) (or down). */
static void
take(mq_cursor *c, const mq_id *ids, int from, int to, int step)
{
	struct mq_msg m;
	char want[16];
	int i;

	for (i = from; i != to; i += step) {
		assert_int_equal(mq_cursor_next(c, &m), 1);
		assert_int_equal(mq_id_cmp(m.id, ids[i]), 0);
		snprintf(want, sizeof(want), "m-%d", i);
		assert_int_equal(m.bodylen, strlen(want));
		assert_memory_equal(m.body, want, m.bodylen);
	}
}

/* The same for all that is left, then the end. */
static void
check_rest(mq_cursor *c, const mq_id *ids, int from, int to, int step)
{
	struct mq_msg m;

	take(c, ids, from, to, step);
	assert_int_equal(mq_cursor_next(c, &m), 0);
}

static void
test_appends_after_open_are_not_seen(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = { .body = "later", .bodylen = 5 };
	mq_id zero = { 0, 0 }, later;
	mq_cursor *fwd, *back;
	uint64_t n;

	assert_int_equal(mq_cursor_open(f->s, zero, MQ_ID_LAST, 0, 0, &fwd, &n),
	    MQ_OK);
	assert_int_equal(n, N);
	assert_int_equal(mq_cursor_open(f->s, zero, MQ_ID_LAST, 0, 1, &back, &n),
	    MQ_OK);
	assert_int_equal(n, N);
	assert_int_equal(mq_append(f->s, &m, 1, NULL, &later), MQ_OK);
	check_rest(fwd, f->ids, 0, N, 1);
	check_rest(back, f->ids, N - 1, -1, -1);
	mq_cursor_close(fwd);
	mq_cursor_close(back);
}

static void
test_deletes_and_trims_after_open_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	mq_id zero = { 0, 0 };
	mq_cursor *fwd, *back;
	uint64_t n, removed;
	size_t deleted;

	assert_int_equal(mq_cursor_open(f->s, zero, MQ_ID_LAST, 0, 0, &fwd, &n),
	    MQ_OK);
	assert_int_equal(mq_cursor_open(f->s, f->ids[10], f->ids[2500], 0, 1,
	    &back, &n), MQ_OK);
	assert_int_equal(n, 2491);
	/* A third read forward, then the rest deleted or trimmed away. */
	take(fwd, f->ids, 0, 1000, 1);
	assert_int_equal(mq_delete(f->s, &f->ids[2000], 1, &deleted), MQ_OK);
	assert_int_equal(mq_trim_maxlen(f->s, 10, &removed), MQ_OK);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_int_equal(info.length, 10);
	/* Retention removed the sealed segments: the cursors hold theirs. */
	assert_true(info.segments < 4);
	check_rest(fwd, f->ids, 1000, N, 1);
	check_rest(back, f->ids, 2500, 9, -1);
	mq_cursor_close(fwd);
	mq_cursor_close(back);
}

static void
test_stream_removed_after_open(void **state)
{
	struct fixture *f = *state;
	mq_cursor *c;
	uint64_t n;

	assert_int_equal(mq_cursor_open(f->s, f->ids[1], f->ids[2998], 0, 0, &c,
	    &n), MQ_OK);
	assert_int_equal(n, N - 2);
	/* The handle goes too: the cursor needs it no more. */
	mq_stream_close(f->s);
	assert_int_equal(mq_stream_remove(f->sp, "s"), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &f->s), MQ_ENOSTREAM);
	check_rest(c, f->ids, 1, N - 1, 1);
	mq_cursor_close(c);
	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &f->s), MQ_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_and_entries_like_range,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_appends_after_open_are_not_seen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_deletes_and_trims_after_open_change_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_removed_after_open,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
