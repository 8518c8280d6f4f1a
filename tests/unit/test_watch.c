/*
 * test_watch.c - which streams a watch reports changed
 * (mq_watch_changes): appends to one stream report it and not another,
 * a group's journal names its group, a new stream is reported made, a
 * removed one gone, and appends through the write-ahead log by another
 * process report their streams.
 *
 * Another mq_spool_open in this process stands for another process; the
 * kernel queues the events of a write before the write returns, so a
 * report is read at once, with no wait.
 */
#include "helpers.h"
#include "internal.h"

#define MAXR	64

struct reports {
	size_t	 n;
	char	 stream[MAXR][32];
	char	 group[MAXR][32];
	int	 what[MAXR];
};

struct fixture {
	char		*dir;
	mq_spool	*sp;		/* the one that watches */
	mq_spool	*other;		/* another process */
	mq_watch	*watch;
	struct reports	 r;
};

static void
note(const char *stream, const char *group, int what, void *arg)
{
	struct reports *r = arg;

	if (r->n == MAXR)
		return;
	snprintf(r->stream[r->n], sizeof(r->stream[0]), "%s", stream);
	snprintf(r->group[r->n], sizeof(r->group[0]), "%s",
	    group != NULL ? group : "");
	r->what[r->n++] = what;
}

/* Reads the reports queued now into f->r (emptied first). */
static void
collect(struct fixture *f)
{
	f->r.n = 0;
	assert_true(mq_watch_changes(f->watch, note, &f->r) >= 0);
}

/* Whether f->r has 'what' for 'stream' (and 'group', if not NULL). */
static int
reported(const struct fixture *f, const char *stream, const char *group,
    int what)
{
	size_t i;

	for (i = 0; i < f->r.n; i++)
		if (strcmp(f->r.stream[i], stream) == 0 &&
		    f->r.what[i] == what &&
		    (group == NULL || strcmp(f->r.group[i], group) == 0))
			return 1;
	return 0;
}

static void
append(mq_spool *sp, const char *name)
{
	struct mq_msg m = test_body("x");
	mq_stream *s;

	assert_int_equal(mq_stream_open(sp, name, MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_append(s, &m, 1, NULL, NULL), MQ_OK);
	mq_stream_close(s);
}

/* Opens 'name' on the watching handle and watches it. */
static mq_stream *
watched(struct fixture *f, const char *name)
{
	mq_stream *s;

	assert_int_equal(mq_stream_open(f->sp, name, MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_watch_add(f->watch, s), MQ_OK);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	assert_int_equal(mq_spool_open(f->dir, 0, &f->other), MQ_OK);
	assert_int_equal(mq_watch_open(&f->watch), MQ_OK);
	assert_int_equal(mq_watch_spool(f->watch, f->sp), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_watch_close(f->watch);
	mq_spool_close(f->other);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_append_reports_its_stream(void **state)
{
	struct fixture *f = *state;
	mq_stream *a = watched(f, "a"), *b = watched(f, "b");

	collect(f);
	append(f->other, "a");
	collect(f);
	assert_true(reported(f, "a", NULL, MQ_WATCH_ENTRIES));
	assert_false(reported(f, "b", NULL, MQ_WATCH_ENTRIES));
	mq_stream_close(a);
	mq_stream_close(b);
}

static void
test_group_journal_names_group(void **state)
{
	struct fixture *f = *state;
	mq_stream *s = watched(f, "s"), *o;
	mq_id zero = { 0, 0 };

	assert_int_equal(mq_stream_open(f->other, "s", 0, &o), MQ_OK);
	assert_int_equal(mq_group_create(o, "g1", zero, 0), MQ_OK);
	/* groups/ was made after the watch: it is watched from its making. */
	collect(f);
	assert_int_equal(mq_group_create(o, "g2", zero, 0), MQ_OK);
	collect(f);
	assert_true(reported(f, "s", "g2", MQ_WATCH_GROUP));
	assert_false(reported(f, "s", "g1", MQ_WATCH_GROUP));
	mq_stream_close(o);
	mq_stream_close(s);
}

static void
test_made_and_gone(void **state)
{
	struct fixture *f = *state;
	mq_stream *s = watched(f, "old");

	collect(f);
	append(f->other, "new");
	assert_int_equal(mq_stream_remove(f->other, "old"), MQ_OK);
	collect(f);
	assert_true(reported(f, "new", NULL, MQ_WATCH_MADE));
	assert_true(reported(f, "old", NULL, MQ_WATCH_GONE));
	mq_stream_close(s);
}

/* Logs one message to each of 'names' in one turn of 'sp'. */
static void
log_turn(mq_spool *sp, const char *const *names, size_t n)
{
	struct mq_msg m = test_body("logged");
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(mq_wal_note_new(sp, names[i]), MQ_OK);
	assert_int_equal(mq_wal_begin(sp), MQ_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(mq_wal_append(sp, names[i], &m, 1, NULL),
		    MQ_OK);
	assert_int_equal(mq_wal_commit(sp), MQ_OK);
}

static void
test_logged_appends_report_streams(void **state)
{
	struct fixture *f = *state;
	static const char *const first[] = { "w0" }, *const next[] = {
	    "w1", "w2" };

	/* The log exists once something was logged: watched from then. */
	log_turn(f->other, first, 1);
	assert_int_equal(mq_watch_spool(f->watch, f->sp), MQ_OK);
	collect(f);
	log_turn(f->other, next, 2);
	collect(f);
	assert_true(reported(f, "w1", NULL, MQ_WATCH_ENTRIES));
	assert_true(reported(f, "w2", NULL, MQ_WATCH_ENTRIES));
	assert_false(reported(f, "w0", NULL, MQ_WATCH_ENTRIES));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_reports_its_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_journal_names_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_made_and_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logged_appends_report_streams, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
